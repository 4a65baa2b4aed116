import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  type AddressStyle,
  type Addressed,
  type Caller,
  collectOrphans,
  createStorageService,
  decodeSegment,
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

const UNCOMMITTED_LIFETIME_MS = 7 * 24 * 3600_000

export function createBlobService(deps: BlobServiceDeps): BlobService {
  async function purge(account: string, container: string | null): Promise<void> {
    const files = await deps.store.purge({ account, container })
    await deps.content.remove(files)
  }
  const svc = { purge }

  const { rt, handle, accountChanged } = createStorageService(deps, {
    service: 'blob',
    serverHeader: SERVER_HEADER,
    parse(segs) {
      const [containerSeg, ...rest] = segs
      const container = containerSeg === undefined || containerSeg === '' ? null : decodeSegment(containerSeg)
      const blobRaw = rest.join('/')
      const blob = container === null || blobRaw === '' ? null : decodeSegment(blobRaw)
      const level: Level = container === null ? 'service' : blob === null ? 'container' : 'blob'
      return { container, blob, level }
    },
    serve,
  })

  async function serve(rt: BlobRuntime, x: Addressed<{ container: string | null; blob: string | null; level: Level }>) {
    const { r, account, basics, style } = x
    const a = x.address
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
    const c: Ctx = {
      rt,
      r,
      req: x.req,
      res: x.res,
      account,
      container: a.container,
      blob: a.blob,
      op,
      caller,
      pathStyle: style === 'path',
      serviceEndpoint: x.serviceEndpoint,
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

  return {
    handle,
    accountChanged,
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
      const { orphans, files } = await collectOrphans(rt, {
        withData: async () =>
          (await deps.store.containersWithData()).map((x) => ({ account: x.account, name: x.container })),
        exists: (account, name) => deps.containers.getContainer(account, name),
        purge,
        referenced: () => deps.store.referencedFiles(),
        now,
      })
      return { expiredBlocks, orphanContainers: orphans, files }
    },
  }
}

export type { AddressStyle, Caller }
