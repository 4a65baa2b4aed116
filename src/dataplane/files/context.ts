import type { Ids } from '../../kernel/ids.ts'
import type { StorageAccount, StorageCtx, StorageRuntime, StorageServiceDeps } from '../storage/index.ts'
import type { Operation } from './operations.ts'
import type { FileStore, ShareCatalog } from './ports.ts'
import type { FilePath } from './smb.ts'

/** `delegationSecret` is shared with the Blob service; Files has no user delegation SAS. */
export interface FileServiceDeps extends StorageServiceDeps {
  shares: ShareCatalog
  store: FileStore
}

export type FileRuntime = StorageRuntime<FileServiceDeps>

export interface Ctx extends StorageCtx<FileServiceDeps> {
  share: string | null
  /** The path inside the share (root: no parts); null for service-level requests. */
  path: FilePath | null
  op: Operation
}

export const SERVER_HEADER = 'Windows-Azure-File/1.0 Microsoft-HTTPAPI/2.0'

/**
 * RBAC scope of a share: Azure evaluates the Files dataActions on `…/fileServices/default/fileshares/<share>` (the
 * scope share-level role assignments use); assignments at the account and above cover it.
 */
export const shareScope = (a: StorageAccount, share: string) => `${a.armId}/fileServices/default/fileshares/${share}`
export const serviceScope = (a: StorageAccount) => `${a.armId}/fileServices/default`

/** A new `x-ms-file-id`: an unsigned 64-bit number in decimal (never the root's). */
export const newFileId = (ids: Ids) => (ids.bytes(8).readBigUInt64BE(0) >> 2n).toString()

/** Azure's id of every share's root directory (0xC000000000000000). */
export const ROOT_FILE_ID = '13835128424026341376'
