import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  BodyIncompleteError,
  type Caller,
  type ResponseBasics,
  type StorageAccount,
  type StorageError,
  type StorageRequest,
  createAuthenticator,
  createDataAccess,
  createStorageRequest,
  isStorageError,
  sendError,
  storageChallenge,
  storageError,
} from '../storage/index.ts'
import {
  abortCopy,
  checkBlobName,
  deleteBlob,
  getBlob,
  getBlobMetadata,
  getBlockList,
  putBlob,
  putBlock,
  putBlockList,
  setBlobMetadata,
  setBlobProperties,
} from './blobs.ts'
import {
  checkContainerName,
  containerOr404,
  createContainer,
  deleteContainer,
  getAccountInformation,
  getContainerAcl,
  getContainerProperties,
  getServiceProperties,
  getUserDelegationKey,
  listContainers,
  setContainerAcl,
  setContainerMetadata,
} from './containers.ts'
import {
  type BlobRuntime,
  type BlobServiceDeps,
  type Ctx,
  SERVER_HEADER,
  containerScope,
  serviceScope,
} from './context.ts'
import { copyBlob, putBlockFromUrl } from './copy.ts'
import { listBlobs } from './list.ts'
import { type Level, type Operation, type OperationName, resolveOperation } from './operations.ts'

/** How the account is named: the first path segment (loopback listener) or the Host (`<account>.blob.core.windows.net`). */
export type AddressStyle = 'path' | 'host'

const HOST_RE = /^([a-z0-9]{3,24})\.blob\.core\.windows\.net$/

export interface BlobService {
  /** Serves one request (a node:http listener for the blob port, or a surface of the shared HTTPS listener). */
  handle(req: IncomingMessage, res: ServerResponse, style: AddressStyle): void
  /** Drops what is cached about an account (keys regenerated, account changed or deleted). */
  accountChanged(name: string): void
  /** Deletes the blobs (rows and content) of a container or of a whole account. */
  purge(account: string, container: string | null): Promise<void>
  /** Uncommitted blocks older than a week, rows of vanished containers, content files no row names. */
  collectGarbage(): Promise<{ expiredBlocks: number; orphanContainers: number; files: number }>
}

const HANDLERS: Record<OperationName, (c: Ctx, svc: { purge: BlobService['purge'] }) => Promise<void> | void> = {
  ListContainers: listContainers,
  GetServiceProperties: getServiceProperties,
  GetUserDelegationKey: getUserDelegationKey,
  GetAccountInformation: getAccountInformation,
  CreateContainer: createContainer,
  DeleteContainer: (c, s) => deleteContainer(c, s.purge),
  GetContainerProperties: getContainerProperties,
  SetContainerMetadata: setContainerMetadata,
  GetContainerAcl: getContainerAcl,
  SetContainerAcl: setContainerAcl,
  ListBlobs: listBlobs,
  PutBlob: putBlob,
  PutBlobFromUrl: copyBlob,
  CopyBlob: copyBlob,
  PutBlock: putBlock,
  PutBlockFromUrl: putBlockFromUrl,
  PutBlockList: putBlockList,
  GetBlockList: getBlockList,
  GetBlob: getBlob,
  GetBlobProperties: getBlob,
  GetBlobMetadata: getBlobMetadata,
  SetBlobMetadata: setBlobMetadata,
  SetBlobProperties: setBlobProperties,
  DeleteBlob: deleteBlob,
  AbortCopyBlob: abortCopy,
}

/** Bodies larger than this are not drained after an error: the connection is closed instead. */
const DRAIN_LIMIT = 1024 * 1024
const UNCOMMITTED_LIFETIME_MS = 7 * 24 * 3600_000
const ORPHAN_GRACE_MS = 3600_000

export function createBlobService(deps: BlobServiceDeps): BlobService {
  const cacheMs = deps.accountCacheMs ?? 2000
  const accounts = new Map<string, { at: number; value: StorageAccount | undefined }>()
  const access = createDataAccess({ access: deps.access, audit: deps.audit, clock: deps.clock, service: 'blob' })
  const rt: BlobRuntime = {
    deps,
    auth: createAuthenticator({
      service: 'blob',
      verifier: deps.verifier,
      access,
      clock: deps.clock,
      delegationSecret: deps.delegationSecret,
    }),
    beingDeleted: new Set(),
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

  async function purge(account: string, container: string | null): Promise<void> {
    const files = await deps.store.purge({ account, container })
    await deps.content.remove(files)
  }
  const svc = { purge }

  function address(req: IncomingMessage, r: StorageRequest, style: AddressStyle) {
    const segs = r.rawPath.split('/').slice(1)
    let accountName: string | undefined
    if (style === 'host') {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
      accountName = HOST_RE.exec(host)?.[1]
    } else accountName = segs.shift()
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s)
      } catch {
        throw storageError('InvalidUri', { detail: 'malformed percent-encoding in the path' })
      }
    }
    const [containerSeg, ...rest] = segs
    const container = containerSeg === undefined || containerSeg === '' ? null : decode(containerSeg)
    const blobRaw = rest.join('/')
    const blob = container === null || blobRaw === '' ? null : decode(blobRaw)
    const level: Level = container === null ? 'service' : blob === null ? 'container' : 'blob'
    return { accountName: accountName ? decode(accountName) : undefined, container, blob, level }
  }

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    style: AddressStyle,
    basics: ResponseBasics & { challenge?: string },
  ) {
    const r = createStorageRequest(req, { requestId: basics.requestId, receivedAt: basics.now })
    basics.version = r.version
    const a = address(req, r, style)
    if (!a.accountName) throw storageError('InvalidUri', { detail: 'no account in the request' })
    const account = await rt.account(a.accountName)
    // Azure's account names are DNS names: an unknown one does not resolve. On a listener that answers, 404.
    if (!account) throw storageError('ResourceNotFound', { detail: `account ${a.accountName}` })
    basics.challenge = storageChallenge(account.tenantId)
    if (a.container !== null) checkContainerName(a.container)
    if (a.blob !== null) checkBlobName(a.blob)
    const op = resolveOperation(r, a.level)
    if (r.version === null && r.query.get('sv')) basics.version = r.query.get('sv') ?? null
    const caller = await rt.auth.authenticate(r, {
      account,
      target: { service: 'blob', account: account.name, container: a.container, path: a.blob },
      pathStyle: style === 'path',
    })
    const scope =
      op.scope === 'service' || a.container === null ? serviceScope(account) : containerScope(account, a.container)
    const allowed = rt.auth.authorize(r, caller, {
      operation: op.name,
      sas: op.sas,
      rbac: op.rbac ? { actions: op.rbac, scope } : null,
      sharedKey: op.sharedKey,
      anonymous: op.anonymous !== null,
    })
    const host = req.headers.host ?? `${a.accountName}.blob.core.windows.net`
    const c: Ctx = {
      rt,
      r,
      req,
      res,
      account,
      container: a.container,
      blob: a.blob,
      op,
      caller,
      pathStyle: style === 'path',
      serviceEndpoint: `https://${host}/${style === 'path' ? `${account.name}/` : ''}`,
      basics,
    }
    if (!allowed) await allowAnonymous(c, op)
    await HANDLERS[op.name](c, svc)
  }

  /** Anonymous reads of a public container (when the account allows public access); otherwise 401 with the challenge. */
  async function allowAnonymous(c: Ctx, op: Operation): Promise<void> {
    const missing = storageError('NoAuthenticationInformation')
    if (op.anonymous === null || !c.account.allowBlobPublicAccess || c.container === null) throw missing
    const ct = await containerOr404(c).catch(() => undefined)
    if (!ct) throw missing
    const ok = ct.publicAccess === 'Container' || (ct.publicAccess === 'Blob' && op.anonymous === 'blob')
    if (!ok) throw missing
  }

  function fail(
    req: IncomingMessage,
    res: ServerResponse,
    err: unknown,
    basics: ResponseBasics & { challenge?: string },
  ) {
    if (err instanceof BodyIncompleteError || req.socket.destroyed) {
      deps.logger.debug('blob request abandoned by the client', { requestId: basics.requestId, err })
      if (!res.headersSent && !res.destroyed) res.destroy()
      return
    }
    let e: StorageError
    if (isStorageError(err)) e = err
    else {
      deps.logger.error('blob request failed', { requestId: basics.requestId, method: req.method, url: req.url, err })
      e = storageError('InternalError')
    }
    if (e.status >= 500) deps.logger.warn('blob error', { requestId: basics.requestId, code: e.code, detail: e.detail })
    else deps.logger.debug('blob error', { requestId: basics.requestId, code: e.code, detail: e.detail })
    // An unread body: drain a small one (keep-alive), close the connection on a large one.
    if (!req.complete) {
      const length = Number(req.headers['content-length'] ?? Number.POSITIVE_INFINITY)
      if (length > DRAIN_LIMIT) res.shouldKeepAlive = false
      req.resume()
    }
    sendError(res, e, { ...basics, now: deps.clock.now(), head: req.method === 'HEAD' })
  }

  return {
    handle(req, res, style) {
      const now = deps.clock.now()
      const clientRequestId = req.headers['x-ms-client-request-id']
      const basics: ResponseBasics & { challenge?: string } = {
        requestId: deps.ids.uuid(),
        version: null,
        clientRequestId: Array.isArray(clientRequestId) ? clientRequestId[0] : clientRequestId,
        now,
        server: SERVER_HEADER,
      }
      serve(req, res, style, basics).catch((err) => fail(req, res, err, basics))
    },
    accountChanged(name) {
      accounts.delete(name)
    },
    purge,
    async collectGarbage() {
      const now = deps.clock.now()
      let expiredBlocks = 0
      for (;;) {
        const batch = await deps.store.expiredUncommitted({ before: now - UNCOMMITTED_LIFETIME_MS, limit: 500 })
        for (const b of batch) {
          if (await deps.store.deleteUncommittedBlock(b.key, b.id)) {
            await deps.content.remove([b.file])
            expiredBlocks++
          }
        }
        if (batch.length < 500) break
      }
      let orphanContainers = 0
      for (const { account, container } of await deps.store.containersWithData()) {
        if (await deps.containers.getContainer(account, container)) continue
        if (rt.beingDeleted.has(`${account}/${container}`)) continue
        await purge(account, container)
        orphanContainers++
      }
      const files = await deps.content.sweep({
        referenced: () => deps.store.referencedFiles(),
        now,
        graceMs: ORPHAN_GRACE_MS,
      })
      return { expiredBlocks, orphanContainers, files }
    },
  }
}

export type { Caller }
