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
import type { FileStore, ShareCatalog } from './ports.ts'
import type { FilePath } from './smb.ts'

export interface FileServiceDeps {
  accounts: AccountDirectory
  shares: ShareCatalog
  store: FileStore
  content: ContentStore
  verifier: TokenVerifier
  access: DataPlaneAccess
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  /** Secret behind user delegation keys (shared with the Blob service; Files has no user delegation SAS). */
  delegationSecret: Buffer
  /** How long an account (keys, flags) is cached; hooks drop it at once on this node. Default 2 s. */
  accountCacheMs?: number
}

export interface FileRuntime {
  deps: FileServiceDeps
  auth: Authenticator
  /** Shares this node is deleting: creating one of these names is refused meanwhile. */
  beingDeleted: Set<string>
  account(name: string): Promise<StorageAccount | undefined>
}

export interface Ctx {
  rt: FileRuntime
  r: StorageRequest
  req: IncomingMessage
  res: ServerResponse
  account: StorageAccount
  share: string | null
  /** The path inside the share (root: no parts); null for service-level requests. */
  path: FilePath | null
  op: Operation
  caller: Caller
  /** `https://<host>/` (+ `<account>/` path-style): ServiceEndpoint of listings. */
  serviceEndpoint: string
  basics: ResponseBasics
}

export const SERVER_HEADER = 'Windows-Azure-File/1.0 Microsoft-HTTPAPI/2.0'

/**
 * RBAC scope of a share: Azure evaluates the Files dataActions on `…/fileServices/default/fileshares/<share>` (the
 * scope share-level role assignments use); assignments at the account and above cover it.
 */
export const shareScope = (a: StorageAccount, share: string) => `${a.armId}/fileServices/default/fileshares/${share}`
export const serviceScope = (a: StorageAccount) => `${a.armId}/fileServices/default`

/** A new data-plane ETag, `"0x8D…"` like Azure's (unique per write, not derived from time). */
export const newEtag = (ids: Ids) => `"0x8D${ids.bytes(7).toString('hex').slice(0, 13).toUpperCase()}"`

/** A new `x-ms-file-id`: an unsigned 64-bit number in decimal (never the root's). */
export const newFileId = (ids: Ids) => (ids.bytes(8).readBigUInt64BE(0) >> 2n).toString()

/** Azure's id of every share's root directory (0xC000000000000000). */
export const ROOT_FILE_ID = '13835128424026341376'

export function reply(
  c: Ctx,
  status: number,
  headers: Record<string, string | number | undefined | null> = {},
  body?: string | Buffer,
): void {
  const h: Record<string, string> = { ...basicHeaders({ ...c.basics, now: c.rt.deps.clock.now() }) }
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && v !== null) h[k] = String(v)
  const payload = body === undefined || c.r.method === 'HEAD' ? undefined : body
  if (body !== undefined) h['Content-Length'] ??= String(Buffer.byteLength(body))
  else h['Content-Length'] ??= '0'
  c.res.writeHead(status, h)
  c.res.end(payload)
}

export const lastModified = (ms: number) => httpDate(ms)

export const metadataHeaders = (m: Record<string, string>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [`x-ms-meta-${k}`, v]))
