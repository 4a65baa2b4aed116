import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AuditLog } from '../../audit/index.ts'
import type { TokenVerifier } from '../../auth/index.ts'
import type { Clock } from '../../kernel/clock.ts'
import type { Ids } from '../../kernel/ids.ts'
import type { Logger } from '../../kernel/log.ts'
import type { DataPlaneAccess } from '../ports.ts'
import {
  type AccountDirectory,
  type Authenticator,
  type Caller,
  type ContentStore,
  type ResponseBasics,
  type StorageAccount,
  type StorageRequest,
  basicHeaders,
  httpDate,
} from '../storage/index.ts'
import type { Operation } from './operations.ts'
import type { BlobStore, ContainerCatalog } from './ports.ts'

export interface BlobLimits {
  /** Largest Put Block body (Azure: 4000 MiB). */
  maxBlockBytes: number
  /** Largest Put Blob body (Azure: 5000 MiB). */
  maxPutBlobBytes: number
}

export interface BlobServiceDeps {
  accounts: AccountDirectory
  containers: ContainerCatalog
  store: BlobStore
  content: ContentStore
  verifier: TokenVerifier
  access: DataPlaneAccess
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  /** Secret behind user delegation keys (derive it from the key-encryption key so every node agrees). */
  delegationSecret: Buffer
  limits: BlobLimits
  /** How long an account (keys, flags) is cached; hooks drop it at once on this node. Default 2 s. */
  accountCacheMs?: number
}

/** Shared state of the service: dependencies and what request handlers share. */
export interface BlobRuntime {
  deps: BlobServiceDeps
  auth: Authenticator
  /** Containers this node is deleting (their data is being purged): creating one of these names is refused. */
  beingDeleted: Set<string>
  account(name: string): Promise<StorageAccount | undefined>
}

/** One request being served. */
export interface Ctx {
  rt: BlobRuntime
  r: StorageRequest
  req: IncomingMessage
  res: ServerResponse
  account: StorageAccount
  container: string | null
  blob: string | null
  op: Operation
  caller: Caller
  pathStyle: boolean
  /** `https://<host>/` (+ `<account>/` path-style): ServiceEndpoint of listings. */
  serviceEndpoint: string
  basics: ResponseBasics
}

export const SERVER_HEADER = 'Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0'

/** The RBAC scope of the container (every blob operation is evaluated there, api-shapes §6.4). */
export const containerScope = (a: StorageAccount, container: string) =>
  `${a.armId}/blobServices/default/containers/${container}`
export const serviceScope = (a: StorageAccount) => `${a.armId}/blobServices/default`

/** A new data-plane ETag, `"0x8D…"` like Azure's (unique per write, not derived from time). */
export const newEtag = (ids: Ids) => `"0x8D${ids.bytes(7).toString('hex').slice(0, 13).toUpperCase()}"`

/** Writes a complete response with the common headers. */
export function reply(
  c: Ctx,
  status: number,
  headers: Record<string, string | number | undefined | null> = {},
  body?: string | Buffer,
): void {
  const h: Record<string, string> = { ...basicHeaders({ ...c.basics, now: c.rt.deps.clock.now() }) }
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && v !== null) h[k] = String(v)
  const payload = body === undefined || c.r.method === 'HEAD' ? undefined : body
  if (body !== undefined) {
    h['Content-Length'] ??= String(Buffer.byteLength(body))
  } else h['Content-Length'] ??= '0'
  c.res.writeHead(status, h)
  c.res.end(payload)
}

export const lastModified = (ms: number) => httpDate(ms)

export const metadataHeaders = (m: Record<string, string>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [`x-ms-meta-${k}`, v]))
