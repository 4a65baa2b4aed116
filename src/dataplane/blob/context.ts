import type { StorageAccount, StorageCtx, StorageRuntime, StorageServiceDeps } from '../storage/index.ts'
import type { Operation } from './operations.ts'
import type { BlobStore, ContainerCatalog } from './ports.ts'

export interface BlobLimits {
  /** Largest Put Block body (Azure: 4000 MiB). */
  maxBlockBytes: number
  /** Largest Put Blob body (Azure: 5000 MiB). */
  maxPutBlobBytes: number
}

export interface BlobServiceDeps extends StorageServiceDeps {
  containers: ContainerCatalog
  store: BlobStore
  limits: BlobLimits
}

/** Shared state of the service: dependencies and what request handlers share. */
export type BlobRuntime = StorageRuntime<BlobServiceDeps>

/** One request being served. */
export interface Ctx extends StorageCtx<BlobServiceDeps> {
  container: string | null
  blob: string | null
  op: Operation
  pathStyle: boolean
}

export const SERVER_HEADER = 'Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0'

/** The RBAC scope of the container (every blob operation is evaluated there, api-shapes §6.4). */
export const containerScope = (a: StorageAccount, container: string) =>
  `${a.armId}/blobServices/default/containers/${container}`
export const serviceScope = (a: StorageAccount) => `${a.armId}/blobServices/default`
