import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  type AddressStyle,
  type Addressed,
  type StorageRequest,
  authFailed,
  badHeader,
  collectOrphans,
  createStorageService,
  decodeSegment,
  missingHeader,
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

export function createFileService(deps: FileServiceDeps): FileService {
  async function purge(account: string, share: string | null): Promise<void> {
    const files = await deps.store.purge({ account, share })
    await deps.content.remove(files)
  }
  const svc: Svc = { purge }

  const { rt, handle, accountChanged } = createStorageService(deps, {
    service: 'file',
    serverHeader: SERVER_HEADER,
    parse(segs) {
      const [shareSeg, ...rest] = segs
      const share = shareSeg === undefined || shareSeg === '' ? null : decodeSegment(shareSeg)
      return { share, pathRaw: rest.map(decodeSegment).join('/') }
    },
    serve,
  })

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

  async function serve(rt: FileRuntime, x: Addressed<{ share: string | null; pathRaw: string }>) {
    const { r, account, basics } = x
    const a = x.address
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
      pathStyle: x.style === 'path',
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
    const c: Ctx = {
      rt,
      r,
      req: x.req,
      res: x.res,
      account,
      share: a.share,
      path,
      op,
      caller,
      serviceEndpoint: x.serviceEndpoint,
      basics,
    }
    await HANDLERS[op.name](c, svc)
  }

  return {
    handle,
    accountChanged,
    purge,
    async collectGarbage() {
      const { orphans, files } = await collectOrphans(rt, {
        withData: async () => (await deps.store.sharesWithData()).map((x) => ({ account: x.account, name: x.share })),
        exists: (account, name) => deps.shares.getShare(account, name),
        purge,
        referenced: () => deps.store.referencedFiles(),
        now: deps.clock.now(),
      })
      return { orphanShares: orphans, files }
    },
  }
}

export type { AddressStyle }
