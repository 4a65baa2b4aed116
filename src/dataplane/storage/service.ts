import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AuditLog } from '../../audit/index.ts'
import type { TokenVerifier } from '../../auth/index.ts'
import type { Clock } from '../../kernel/clock.ts'
import type { Ids } from '../../kernel/ids.ts'
import type { Logger } from '../../kernel/log.ts'
import type { DataPlaneAccess } from '../ports.ts'
import { createDataAccess } from './access.ts'
import { type Authenticator, type Caller, createAuthenticator, storageChallenge } from './auth.ts'
import { BodyIncompleteError, type ContentStore } from './content.ts'
import { type StorageError, isStorageError, storageError } from './errors.ts'
import { type StorageRequest, createStorageRequest, httpDate } from './http.ts'
import type { AccountDirectory, StorageAccount } from './ports.ts'
import { type ResponseBasics, basicHeaders, sendError } from './render.ts'

// What the Blob and File services share around their operations: the account cache, addressing, authentication
// set-up, error plumbing, responses, deletions in progress and garbage collection of orphans.

/** How the account is named: the first path segment (loopback listener) or the Host (`<account>.<service>.core.windows.net`). */
export type AddressStyle = 'path' | 'host'

/** What every storage service is built from. */
export interface StorageServiceDeps {
  accounts: AccountDirectory
  content: ContentStore
  verifier: TokenVerifier
  access: DataPlaneAccess
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  /** Secret behind user delegation keys (derive it from the key-encryption key so every node agrees). */
  delegationSecret: Buffer
  /** How long an account (keys, flags) is cached; hooks drop it at once on this node. Default 2 s. */
  accountCacheMs?: number
}

/** Containers or shares this node is deleting (their data is being purged): creating one of these names is refused. */
export interface Deletions {
  has(account: string, name: string): boolean
  /** Runs `fn` with the child marked as being deleted. */
  during<T>(account: string, name: string, fn: () => Promise<T>): Promise<T>
}

/** Shared state of a service: dependencies and what request handlers share. */
export interface StorageRuntime<D extends StorageServiceDeps = StorageServiceDeps> {
  deps: D
  auth: Authenticator
  deleting: Deletions
  account(name: string): Promise<StorageAccount | undefined>
}

/** One request being served: what every operation of every storage service has. */
export interface StorageCtx<D extends StorageServiceDeps = StorageServiceDeps> {
  rt: StorageRuntime<D>
  r: StorageRequest
  req: IncomingMessage
  res: ServerResponse
  account: StorageAccount
  caller: Caller
  /** `https://<host>/` (+ `<account>/` path-style): ServiceEndpoint of listings. */
  serviceEndpoint: string
  basics: ResponseBasics
}

export type Basics = ResponseBasics & { challenge?: string }

/** A request whose account is known (not yet authenticated): what a service's `serve` gets. */
export interface Addressed<P> {
  req: IncomingMessage
  res: ServerResponse
  r: StorageRequest
  style: AddressStyle
  account: StorageAccount
  /** The path after the account, as the service's `parse` made it. */
  address: P
  serviceEndpoint: string
  basics: Basics
}

/** Bodies larger than this are not drained after an error: the connection is closed instead. */
const DRAIN_LIMIT = 1024 * 1024
/** Content files younger than this are never swept (an upload may be writing them). */
const ORPHAN_GRACE_MS = 3600_000

/** A path segment, percent-decoded (InvalidUri when it cannot be). */
export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw storageError('InvalidUri', { detail: 'malformed percent-encoding in the path' })
  }
}

/**
 * The request plumbing of one storage service: the account (from the path or the Host, cached), the challenge, the
 * common response headers, and every failure as the service's XML error (or a dropped connection when the client
 * went away). `parse` reads the path after the account before the account is looked up; `serve` does the rest.
 */
export function createStorageService<D extends StorageServiceDeps, P>(
  deps: D,
  q: {
    service: 'blob' | 'file'
    /** `Server` header, e.g. `Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0`. */
    serverHeader: string
    parse(segments: string[]): P
    serve(rt: StorageRuntime<D>, a: Addressed<P>): Promise<void>
  },
): {
  rt: StorageRuntime<D>
  handle(req: IncomingMessage, res: ServerResponse, style: AddressStyle): void
  accountChanged(name: string): void
} {
  const cacheMs = deps.accountCacheMs ?? 2000
  const accounts = new Map<string, { at: number; value: StorageAccount | undefined }>()
  const access = createDataAccess({ access: deps.access, audit: deps.audit, clock: deps.clock, service: q.service })
  const deleting = new Set<string>()
  const rt: StorageRuntime<D> = {
    deps,
    auth: createAuthenticator({
      service: q.service,
      verifier: deps.verifier,
      access,
      clock: deps.clock,
      delegationSecret: deps.delegationSecret,
    }),
    deleting: {
      has: (account, name) => deleting.has(`${account}/${name}`),
      async during(account, name, fn) {
        const key = `${account}/${name}`
        deleting.add(key)
        try {
          return await fn()
        } finally {
          deleting.delete(key)
        }
      },
    },
    async account(name) {
      const hit = accounts.get(name)
      const now = deps.clock.now()
      if (hit && now - hit.at < cacheMs) return hit.value
      const value = await deps.accounts.getAccount(name)
      if (accounts.size > 10_000) accounts.clear()
      accounts.set(name, { at: now, value })
      return value
    },
  }
  const hostRe = new RegExp(`^([a-z0-9]{3,24})\\.${q.service}\\.core\\.windows\\.net$`)

  async function serve(req: IncomingMessage, res: ServerResponse, style: AddressStyle, basics: Basics) {
    const r = createStorageRequest(req, { requestId: basics.requestId, receivedAt: basics.now })
    basics.version = r.version
    const segs = r.rawPath.split('/').slice(1)
    let accountName: string | undefined
    if (style === 'host') {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
      accountName = hostRe.exec(host)?.[1]
    } else accountName = segs.shift()
    const address = q.parse(segs)
    if (!accountName) throw storageError('InvalidUri', { detail: 'no account in the request' })
    const name = decodeSegment(accountName)
    const account = await rt.account(name)
    // Azure's account names are DNS names: an unknown one does not resolve. On a listener that answers, 404.
    if (!account) throw storageError('ResourceNotFound', { detail: `account ${name}` })
    basics.challenge = storageChallenge(account.tenantId)
    const host = req.headers.host ?? `${name}.${q.service}.core.windows.net`
    const serviceEndpoint = `https://${host}/${style === 'path' ? `${account.name}/` : ''}`
    await q.serve(rt, { req, res, r, style, account, address, serviceEndpoint, basics })
  }

  function fail(req: IncomingMessage, res: ServerResponse, err: unknown, basics: Basics) {
    const { logger } = deps
    if (err instanceof BodyIncompleteError || req.socket.destroyed) {
      logger.debug(`${q.service} request abandoned by the client`, { requestId: basics.requestId, err })
      if (!res.headersSent && !res.destroyed) res.destroy()
      return
    }
    let e: StorageError
    if (isStorageError(err)) e = err
    else {
      logger.error(`${q.service} request failed`, {
        requestId: basics.requestId,
        method: req.method,
        url: req.url,
        err,
      })
      e = storageError('InternalError')
    }
    const log = { requestId: basics.requestId, code: e.code, detail: e.detail }
    if (e.status >= 500) logger.warn(`${q.service} error`, log)
    else logger.debug(`${q.service} error`, log)
    // An unread body: drain a small one (keep-alive), close the connection on a large one.
    if (!req.complete) {
      const length = Number(req.headers['content-length'] ?? Number.POSITIVE_INFINITY)
      if (length > DRAIN_LIMIT) res.shouldKeepAlive = false
      req.resume()
    }
    sendError(res, e, { ...basics, now: deps.clock.now(), head: req.method === 'HEAD' })
  }

  return {
    rt,
    handle(req, res, style) {
      const clientRequestId = req.headers['x-ms-client-request-id']
      const basics: Basics = {
        requestId: deps.ids.uuid(),
        version: null,
        clientRequestId: Array.isArray(clientRequestId) ? clientRequestId[0] : clientRequestId,
        now: deps.clock.now(),
        server: q.serverHeader,
      }
      serve(req, res, style, basics).catch((err) => fail(req, res, err, basics))
    },
    accountChanged(name) {
      accounts.delete(name)
    },
  }
}

/**
 * Garbage of deleted containers or shares: the rows of children that no longer exist (and are not being deleted
 * right now) are purged; then content files no row names (older than an hour) are removed.
 */
export async function collectOrphans(
  rt: StorageRuntime,
  q: {
    withData: () => Promise<readonly { account: string; name: string }[]>
    exists: (account: string, name: string) => Promise<unknown>
    purge: (account: string, name: string) => Promise<void>
    referenced: () => Promise<Set<string>>
    now: number
  },
): Promise<{ orphans: number; files: number }> {
  let orphans = 0
  for (const { account, name } of await q.withData()) {
    if (await q.exists(account, name)) continue
    if (rt.deleting.has(account, name)) continue
    await q.purge(account, name)
    orphans++
  }
  const files = await rt.deps.content.sweep({ referenced: q.referenced, now: q.now, graceMs: ORPHAN_GRACE_MS })
  return { orphans, files }
}

/** Container and share names: 3-63 lower-case letters, digits and single hyphens (OutOfRangeInput / InvalidResourceName). */
export function checkChildName(kind: 'container' | 'share', name: string): void {
  if (name.length < 3 || name.length > 63) throw storageError('OutOfRangeInput', { detail: `${kind} name ${name}` })
  if (!/^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/.test(name))
    throw storageError('InvalidResourceName', { detail: `${kind} name ${name}` })
}

/** Writes a complete response with the common headers. */
export function reply(
  c: Pick<StorageCtx, 'rt' | 'r' | 'res' | 'basics'>,
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

/** A new data-plane ETag, `"0x8D…"` like Azure's (unique per write, not derived from time). */
export const newEtag = (ids: Ids) => `"0x8D${ids.bytes(7).toString('hex').slice(0, 13).toUpperCase()}"`

export const lastModified = (ms: number) => httpDate(ms)

export const metadataHeaders = (m: Record<string, string>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [`x-ms-meta-${k}`, v]))

/** What conditional headers are checked against (checkConditions) for a row that may not exist. */
export const validators = (x: { etag: string; modifiedAt: number } | undefined) => ({
  exists: x !== undefined,
  etag: x?.etag ?? '',
  lastModified: x?.modifiedAt ?? 0,
})

/** Removes content files no longer named by any row (after the commit). */
export function release(rt: StorageRuntime, before: readonly string[], keep: readonly string[]): void {
  const kept = new Set(keep)
  const gone = [...new Set(before)].filter((f) => !kept.has(f))
  if (gone.length > 0)
    void rt.deps.content.remove(gone).catch((err) => rt.deps.logger.warn('content removal failed', { err }))
}
