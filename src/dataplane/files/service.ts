import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  BodyIncompleteError,
  type ResponseBasics,
  type StorageError,
  type StorageRequest,
  authFailed,
  badHeader,
  createAuthenticator,
  createDataAccess,
  createStorageRequest,
  isStorageError,
  missingHeader,
  sendError,
  storageChallenge,
  storageError,
} from '../storage/index.ts'
import { type Ctx, type FileRuntime, type FileServiceDeps, SERVER_HEADER, serviceScope, shareScope } from './context.ts'
import {
  createDirectory,
  deleteDirectory,
  forceCloseHandles,
  getDirectoryProperties,
  listFilesAndDirectories,
  listHandles,
  setDirectoryMetadata,
  setDirectoryProperties,
} from './directories.ts'
import { fileError } from './errors.ts'
import { createFile, deleteFile, getFile, listRanges, putRange, setFileMetadata, setFileProperties } from './files.ts'
import { DATA_ACTIONS, type Level, type OperationName, resolveOperation } from './operations.ts'
import {
  checkShareName,
  createPermission,
  createShare,
  deleteShare,
  getPermission,
  getServiceProperties,
  getShareAcl,
  getShareProperties,
  getShareStats,
  listShares,
  setShareAcl,
  setShareMetadata,
  setShareProperties,
} from './shares.ts'
import { parsePath } from './smb.ts'

/** How the account is named: the first path segment (loopback listener) or the Host (`<account>.file.core.windows.net`). */
export type AddressStyle = 'path' | 'host'

const HOST_RE = /^([a-z0-9]{3,24})\.file\.core\.windows\.net$/

/** The first version with OAuth on the File service (`x-ms-file-request-intent`, api-shapes §6.6). */
export const FILE_BEARER_MIN_VERSION = '2022-11-02'

export interface FileService {
  /** Serves one request (the file port's listener, or a surface of the shared HTTPS listener). */
  handle(req: IncomingMessage, res: ServerResponse, style: AddressStyle): void
  /** Drops what is cached about an account (keys regenerated, account changed or deleted). */
  accountChanged(name: string): void
  /** Deletes the directories and files (rows and content) of a share or of a whole account. */
  purge(account: string, share: string | null): Promise<void>
  /** Rows of vanished shares and content files no row names. */
  collectGarbage(): Promise<{ orphanShares: number; files: number }>
}

type Svc = { purge: FileService['purge'] }

const HANDLERS: Record<OperationName, (c: Ctx, svc: Svc) => Promise<void> | void> = {
  ListShares: listShares,
  GetFileServiceProperties: getServiceProperties,
  CreateShare: createShare,
  GetShareProperties: getShareProperties,
  DeleteShare: (c, s) => deleteShare(c, s.purge),
  SetShareMetadata: setShareMetadata,
  SetShareProperties: setShareProperties,
  GetShareAcl: getShareAcl,
  SetShareAcl: setShareAcl,
  GetShareStats: getShareStats,
  CreatePermission: createPermission,
  GetPermission: getPermission,
  CreateDirectory: createDirectory,
  GetDirectoryProperties: getDirectoryProperties,
  DeleteDirectory: deleteDirectory,
  SetDirectoryProperties: setDirectoryProperties,
  SetDirectoryMetadata: setDirectoryMetadata,
  ListFilesAndDirectories: listFilesAndDirectories,
  ListHandles: listHandles,
  ForceCloseHandles: forceCloseHandles,
  CreateFile: createFile,
  GetFile: getFile,
  GetFileProperties: getFile,
  DeleteFile: deleteFile,
  SetFileProperties: setFileProperties,
  SetFileMetadata: setFileMetadata,
  PutRange: putRange,
  ListRanges: listRanges,
}

/** Bodies larger than this are not drained after an error: the connection is closed instead. */
const DRAIN_LIMIT = 1024 * 1024
const ORPHAN_GRACE_MS = 3600_000

export function createFileService(deps: FileServiceDeps): FileService {
  const cacheMs = deps.accountCacheMs ?? 2000
  const accounts = new Map<string, { at: number; value: Awaited<ReturnType<FileRuntime['account']>> }>()
  const access = createDataAccess({ access: deps.access, audit: deps.audit, clock: deps.clock, service: 'file' })
  const rt: FileRuntime = {
    deps,
    auth: createAuthenticator({
      service: 'file',
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

  async function purge(account: string, share: string | null): Promise<void> {
    const files = await deps.store.purge({ account, share })
    await deps.content.remove(files)
  }
  const svc: Svc = { purge }

  const decode = (s: string) => {
    try {
      return decodeURIComponent(s)
    } catch {
      throw storageError('InvalidUri', { detail: 'malformed percent-encoding in the path' })
    }
  }

  function address(req: IncomingMessage, r: StorageRequest, style: AddressStyle) {
    const segs = r.rawPath.split('/').slice(1)
    let accountName: string | undefined
    if (style === 'host') {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
      accountName = HOST_RE.exec(host)?.[1]
    } else accountName = segs.shift()
    const [shareSeg, ...rest] = segs
    const share = shareSeg === undefined || shareSeg === '' ? null : decode(shareSeg)
    const pathRaw = rest.map(decode).join('/')
    return { accountName: accountName ? decode(accountName) : undefined, share, pathRaw }
  }

  /** Bearer tokens on the File service (api-shapes §6.6; errors as recorded from Azure, see errors.ts). */
  function checkBearer(r: StorageRequest, management: 'share' | 'service' | null): void {
    if (management === 'share') throw fileError('FileOAuthManagementApiRestrictedToSrp')
    if (management === 'service') throw authFailed('Authentication scheme Bearer is not supported for this operation.')
    if (r.version === null || r.version < FILE_BEARER_MIN_VERSION)
      throw authFailed('Authentication scheme Bearer is not supported in this version.')
    const intent = r.header('x-ms-file-request-intent')
    if (intent === undefined) throw missingHeader('x-ms-file-request-intent')
    if (intent.trim().toLowerCase() !== 'backup') throw badHeader('x-ms-file-request-intent', intent)
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
    if (!account) throw storageError('ResourceNotFound', { detail: `account ${a.accountName}` })
    basics.challenge = storageChallenge(account.tenantId)
    if (a.share !== null) checkShareName(a.share)
    const trailingDot = r.header('x-ms-allow-trailing-dot')
    if (trailingDot !== undefined && !/^(true|false)$/i.test(trailingDot))
      throw badHeader('x-ms-allow-trailing-dot', trailingDot)
    const path = a.share === null ? null : parsePath(a.pathRaw, trailingDot?.toLowerCase() === 'true')
    const level: Level = a.share === null ? 'service' : path?.parts.length === 0 ? 'share' : 'file'
    const op = resolveOperation(r, level)
    if (r.version === null && r.query.get('sv')) basics.version = r.query.get('sv') ?? null
    const caller = await rt.auth.authenticate(r, {
      account,
      target: {
        service: 'file',
        account: account.name,
        container: a.share,
        // Signed as the client named it (decoded, trailing dots and all), not as azid normalises it.
        path:
          path && path.parts.length > 0
            ? a.pathRaw
                .split('/')
                .filter((x) => x !== '')
                .join('/')
            : null,
      },
      pathStyle: style === 'path',
    })
    if (caller.kind === 'bearer') checkBearer(r, op.management)
    const scope = a.share === null ? serviceScope(account) : shareScope(account, a.share)
    const check = (actions: readonly string[]) =>
      rt.auth.authorize(r, caller, {
        operation: op.name,
        sas: op.sas,
        rbac: op.data ? { actions: actions.map((action) => ({ action, kind: 'dataAction' as const })), scope } : null,
        sharedKey: true,
        anonymous: false,
      })
    const [first, ...more] = op.data ? DATA_ACTIONS[op.data] : ['']
    // Every action is needed (the files action and the backup semantics): checked one by one, each audited.
    if (!check([first as string])) throw storageError('NoAuthenticationInformation')
    if (caller.kind === 'bearer') for (const action of more) check([action])
    const host = req.headers.host ?? `${a.accountName}.file.core.windows.net`
    const c: Ctx = {
      rt,
      r,
      req,
      res,
      account,
      share: a.share,
      path,
      op,
      caller,
      serviceEndpoint: `https://${host}/${style === 'path' ? `${account.name}/` : ''}`,
      basics,
    }
    await HANDLERS[op.name](c, svc)
  }

  function fail(
    req: IncomingMessage,
    res: ServerResponse,
    err: unknown,
    basics: ResponseBasics & { challenge?: string },
  ) {
    if (err instanceof BodyIncompleteError || req.socket.destroyed) {
      deps.logger.debug('file request abandoned by the client', { requestId: basics.requestId, err })
      if (!res.headersSent && !res.destroyed) res.destroy()
      return
    }
    let e: StorageError
    if (isStorageError(err)) e = err
    else {
      deps.logger.error('file request failed', { requestId: basics.requestId, method: req.method, url: req.url, err })
      e = storageError('InternalError')
    }
    if (e.status >= 500) deps.logger.warn('file error', { requestId: basics.requestId, code: e.code, detail: e.detail })
    else deps.logger.debug('file error', { requestId: basics.requestId, code: e.code, detail: e.detail })
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
      let orphanShares = 0
      for (const { account, share } of await deps.store.sharesWithData()) {
        if (await deps.shares.getShare(account, share)) continue
        if (rt.beingDeleted.has(`${account}/${share}`)) continue
        await purge(account, share)
        orphanShares++
      }
      const files = await deps.content.sweep({
        referenced: () => deps.store.referencedFiles(),
        now,
        graceMs: ORPHAN_GRACE_MS,
      })
      return { orphanShares, files }
    },
  }
}
