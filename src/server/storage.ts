import { createHash, createHmac } from 'node:crypto'
import { join } from 'node:path'
import type { ArmHooks, ArmStore, Resource } from '../arm/index.ts'
import { STORAGE_ACCOUNT_TYPE, accountKeys } from '../arm/providers/storage.ts'
import type { Config } from '../config/index.ts'
import {
  type BlobService,
  type ContainerCatalog,
  type ContainerRecord,
  createBlobService,
} from '../dataplane/blob/index.ts'
import { type FileService, type ShareCatalog, type ShareRecord, createFileService } from '../dataplane/files/index.ts'
import { type AccountDirectory, type StorageAccount, createContentStore } from '../dataplane/storage/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { parseDuration } from '../kernel/duration.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { createFileStore, createStorageStore } from '../store/index.ts'
import { type DataPlaneDeps, type Listener, fanOutHooks, repeat, startListener } from './dataplane.ts'
import type { Surface } from './http.ts'

export const CONTAINER_TYPE = `${STORAGE_ACCOUNT_TYPE}/blobServices/containers`
export const SHARE_TYPE = `${STORAGE_ACCOUNT_TYPE}/fileServices/shares`
const ACCOUNT_IN_ID = /\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i

const isType = (r: Resource, type: string) => r.type.toLowerCase() === type.toLowerCase()

/** Storage accounts as the data planes see them: ARM's `Microsoft.Storage/storageAccounts` (names are global). */
export function armAccountDirectory(store: ArmStore): AccountDirectory {
  return {
    async getAccount(name) {
      const [r] = await store.listResources({ type: STORAGE_ACCOUNT_TYPE, name })
      if (!r) return undefined
      const sub = await store.getSubscription(r.subscriptionId)
      const p = r.properties as Record<string, unknown>
      const extra = r.extra as { sku?: { name?: unknown }; kind?: unknown }
      const account: StorageAccount = {
        name: r.name,
        armId: r.id,
        subscriptionId: r.subscriptionId,
        tenantId: (sub?.tenantId ?? '').toLowerCase(),
        keys: accountKeys(r).map((k) => Buffer.from(k.value, 'base64')),
        allowSharedKeyAccess: p.allowSharedKeyAccess !== false,
        allowBlobPublicAccess: p.allowBlobPublicAccess === true,
        skuName: typeof extra.sku?.name === 'string' ? extra.sku.name : 'Standard_LRS',
        kind: typeof extra.kind === 'string' ? extra.kind : 'StorageV2',
        isHnsEnabled: p.isHnsEnabled === true,
      }
      return account
    },
  }
}

/** A data-plane ETag from the ARM etag: stable while the resource is unchanged, new with every write. */
const dataEtag = (armEtag: string) =>
  `"0x8D${createHash('sha1').update(armEtag).digest('hex').slice(0, 13).toUpperCase()}"`

/** What every container and share record carries, from its ARM resource. */
function childBasics(account: string, r: Resource) {
  const p = r.properties as { metadata?: unknown }
  const metadata =
    p.metadata && typeof p.metadata === 'object' && !Array.isArray(p.metadata)
      ? Object.fromEntries(Object.entries(p.metadata as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
      : {}
  return { account, name: r.name, etag: dataEtag(r.etag), lastModified: r.updatedAt, metadata }
}

function toContainer(account: string, r: Resource): ContainerRecord {
  const p = r.properties as { publicAccess?: unknown }
  const access = p.publicAccess === 'Blob' || p.publicAccess === 'Container' ? p.publicAccess : 'None'
  return { ...childBasics(account, r), publicAccess: access }
}

function toShare(account: string, r: Resource): ShareRecord {
  const p = r.properties as { shareQuota?: unknown; accessTier?: unknown }
  const { metadata, ...basics } = childBasics(account, r)
  return {
    ...basics,
    quota: typeof p.shareQuota === 'number' ? p.shareQuota : 5120,
    accessTier: typeof p.accessTier === 'string' ? p.accessTier : 'TransactionOptimized',
    metadata,
  }
}

/** Which child of a storage account a catalog keeps, and how its ARM properties are read and written. */
interface ChildKind<R, C, U> {
  type: string
  /** The id below the account's: `blobServices/default/containers`. */
  path: string
  toRecord(account: string, r: Resource): R
  /** The properties of a new resource. */
  created(q: C): Record<string, unknown>
  /** The properties an update sets (merged over the current ones). */
  changed(q: U): Record<string, unknown>
}

/**
 * Containers and shares are ARM child resources (`…/blobServices/default/containers/<name>`,
 * `…/fileServices/default/shares/<name>`, parent the account), so the data plane, `az storage container` /
 * `az storage share-rm` over ARM and the ARM SDKs all see the same ones. Writes mirror what ARM's own PUT stores
 * (src/arm/providers/storage.ts).
 */
function armChildCatalog<
  R extends { name: string },
  C extends { account: string; name: string; createdBy: string | null },
  U extends { account: string; name: string },
>(deps: { store: ArmStore; ids: Ids; clock: Clock }, kind: ChildKind<R, C, U>) {
  const { store } = deps
  const accountOf = async (name: string) => {
    const [r] = await store.listResources({ type: STORAGE_ACCOUNT_TYPE, name })
    return r
  }
  const idOf = (account: Resource, name: string) => `${account.id}/${kind.path}/${name}`
  const get = async (tx: ArmStore, id: string, forUpdate = false) => {
    const r = await tx.getResource(id, { forUpdate })
    return r && isType(r, kind.type) ? r : undefined
  }
  return {
    async get(account: string, name: string): Promise<R | undefined> {
      const a = await accountOf(account)
      const r = a && (await get(store, idOf(a, name)))
      return r && kind.toRecord(account, r)
    },
    async list(account: string): Promise<R[]> {
      const a = await accountOf(account)
      if (!a) return []
      const all = await store.listResources({ parentId: a.id, type: kind.type })
      return all.map((r) => kind.toRecord(account, r)).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    },
    async create(q: C): Promise<R | 'exists'> {
      const a = await accountOf(q.account)
      if (!a) return 'exists'
      const now = deps.clock.now()
      const r: Resource = {
        id: idOf(a, q.name),
        subscriptionId: a.subscriptionId,
        resourceGroup: a.resourceGroup,
        type: kind.type,
        name: q.name,
        parentId: a.id,
        location: a.location,
        tags: {},
        properties: kind.created(q),
        identity: null,
        extra: {},
        etag: `"${deps.ids.uuid()}"`,
        createdAt: now,
        updatedAt: now,
        createdBy: q.createdBy,
      }
      const out = await store.transaction(async (tx) => {
        if (await tx.getResource(r.id, { forUpdate: true })) return 'exists' as const
        return tx.putResource(r, { expectEtag: null })
      })
      return out === 'ok' ? kind.toRecord(q.account, r) : 'exists'
    },
    async update(q: U): Promise<R | undefined> {
      const a = await accountOf(q.account)
      if (!a) return undefined
      return store.transaction(async (tx) => {
        const r = await get(tx, idOf(a, q.name), true)
        if (!r) return undefined
        const updated: Resource = {
          ...r,
          properties: { ...r.properties, ...kind.changed(q) },
          etag: `"${deps.ids.uuid()}"`,
          updatedAt: deps.clock.now(),
        }
        const ok = await tx.putResource(updated, { expectEtag: r.etag })
        return ok === 'ok' ? kind.toRecord(q.account, updated) : undefined
      })
    },
    async delete(account: string, name: string): Promise<boolean> {
      const a = await accountOf(account)
      if (!a) return false
      return store.transaction(async (tx) => {
        const r = await get(tx, idOf(a, name), true)
        return r ? tx.deleteResource(r.id) : false
      })
    },
  }
}

/** `{ [k]: v }` when v is given, else nothing (a partial update). */
const given = <V>(k: string, v: V | undefined) => (v !== undefined ? { [k]: v } : {})

export function armContainerCatalog(deps: { store: ArmStore; ids: Ids; clock: Clock }): ContainerCatalog {
  const c = armChildCatalog<
    ContainerRecord,
    Parameters<ContainerCatalog['createContainer']>[0],
    Parameters<ContainerCatalog['updateContainer']>[0]
  >(deps, {
    type: CONTAINER_TYPE,
    path: 'blobServices/default/containers',
    toRecord: toContainer,
    created: (q) => ({ publicAccess: q.publicAccess, metadata: q.metadata }),
    changed: (q) => ({ ...given('metadata', q.metadata), ...given('publicAccess', q.publicAccess) }),
  })
  return {
    getContainer: c.get,
    listContainers: c.list,
    createContainer: c.create,
    updateContainer: c.update,
    deleteContainer: c.delete,
  }
}

export function armShareCatalog(deps: { store: ArmStore; ids: Ids; clock: Clock }): ShareCatalog {
  const c = armChildCatalog<
    ShareRecord,
    Parameters<ShareCatalog['createShare']>[0],
    Parameters<ShareCatalog['updateShare']>[0]
  >(deps, {
    type: SHARE_TYPE,
    path: 'fileServices/default/shares',
    toRecord: toShare,
    created: (q) => ({ shareQuota: q.quota, metadata: q.metadata, accessTier: q.accessTier, enabledProtocols: 'SMB' }),
    changed: (q) => ({
      ...given('metadata', q.metadata),
      ...given('shareQuota', q.quota),
      ...given('accessTier', q.accessTier),
    }),
  })
  return {
    getShare: c.get,
    listShares: c.list,
    createShare: c.create,
    updateShare: c.update,
    deleteShare: c.delete,
  }
}

/** What the composition needs of a storage service (Blob, Files). */
interface StorageService {
  handle: BlobService['handle']
  accountChanged(name: string): void
  purge(account: string, child: string | null): Promise<void>
  collectGarbage(): Promise<Record<string, number>>
}

/**
 * One storage service served: its loopback listener (path-style), the host-style surface
 * (`<account>.<name>.core.windows.net`), the ARM hooks (regenerated keys and changed accounts drop what is cached;
 * deleted children and accounts take their data with them) and the garbage collector.
 */
async function serve(q: {
  name: 'blob' | 'file'
  service: StorageService
  /** The ARM type of the service's children (containers, shares). */
  childType: string
  /** What the log calls one. */
  child: 'container' | 'share'
  port: number
  config: Config
  logger: Logger
  tls: { certPem: string; keyPem: string }
}): Promise<{ listener: Listener; surface: Surface; hooks: ArmHooks; stop(): void }> {
  const { service, logger } = q
  const listener = await startListener({
    name: q.name,
    host: q.config.listen.host,
    port: q.port,
    tls: q.tls,
    requestTimeout: 0,
    handle: (req, res) => service.handle(req, res, 'path'),
  })
  const stop = repeat({
    logger,
    everyMs: parseDuration(q.config.storage.gcInterval),
    task: () => service.collectGarbage(),
    done: `${q.name} garbage collected`,
    failed: `${q.name} garbage collection failed`,
  })
  const purge = (account: string, child: string | null) =>
    service
      .purge(account, child)
      .catch((err) => logger.warn(`purging ${q.name} data failed`, { err, account, [q.child]: child }))
  const host = new RegExp(`^[a-z0-9]{3,24}\\.${q.name}\\.core\\.windows\\.net$`)
  return {
    listener,
    surface: {
      name: q.name,
      matches: ({ host: h }) => host.test(h),
      raw: (req, res) => service.handle(req, res, 'host'),
      rawUrl: true,
    },
    hooks: {
      storageKeysChanged: (name) => service.accountChanged(name),
      // Every ARM write reports its resource here: an account's flags (allowSharedKeyAccess, …) may have changed.
      hostChanged: (id) => {
        const m = ACCOUNT_IN_ID.exec(id)
        if (m) service.accountChanged((m[1] as string).toLowerCase())
      },
      resourceDeleted: (r) => {
        if (isType(r, STORAGE_ACCOUNT_TYPE)) {
          service.accountChanged(r.name)
          void purge(r.name, null)
        } else if (isType(r, q.childType)) {
          const account = ACCOUNT_IN_ID.exec(r.parentId ?? '')?.[1]
          if (account) void purge(account.toLowerCase(), r.name)
        }
      },
    },
    stop,
  }
}

export interface StorageServer {
  blob: BlobService
  file: FileService
  /** `<account>.blob|file.core.windows.net` on the shared HTTPS listener and the namespace socket. */
  surfaces: Surface[]
  hooks: ArmHooks
  /** `https://<host>:<port>` of the loopback listeners (path-style). */
  endpoints: { blob: string; file: string }
  blobPort: number
  filePort: number
  close(opts?: { graceMs?: number }): Promise<void>
}

/**
 * Composition of the storage data planes: the Blob and File services over the store and content under
 * `<data>/storage/{blob,file}`, each with its loopback HTTPS listener (`listen.blobPort`, `listen.filePort`), its
 * host-style surface, ARM hooks and garbage collector.
 */
export async function startStorage(deps: DataPlaneDeps & { dataDir: string }): Promise<StorageServer> {
  const { config, logger } = deps
  const common = {
    accounts: armAccountDirectory(deps.armStore),
    verifier: deps.verifier,
    access: deps.access,
    audit: deps.audit,
    clock: deps.clock,
    ids: deps.ids,
    logger,
    // User delegation keys are derived, never stored: every node with the same key-encryption key agrees.
    delegationSecret: createHmac('sha256', deps.kek).update('azid storage user delegation keys').digest(),
  }
  const content = (service: 'blob' | 'file') =>
    createContentStore({
      root: join(deps.dataDir, 'storage', service),
      ids: deps.ids,
      now: () => deps.clock.now(),
      fsync: config.storage.fsync,
    })
  const catalogDeps = { store: deps.armStore, ids: deps.ids, clock: deps.clock }
  const blob = createBlobService({
    ...common,
    containers: armContainerCatalog(catalogDeps),
    store: createStorageStore(deps.database.db, deps.database.dialect),
    content: content('blob'),
    limits: { maxBlockBytes: config.storage.maxBlockBytes, maxPutBlobBytes: config.storage.maxPutBlobBytes },
  })
  const file = createFileService({
    ...common,
    shares: armShareCatalog(catalogDeps),
    store: createFileStore(deps.database.db, deps.database.dialect),
    content: content('file'),
  })
  const served = { config, logger, tls: deps.tls }
  const b = await serve({
    ...served,
    name: 'blob',
    service: blob,
    childType: CONTAINER_TYPE,
    child: 'container',
    port: config.listen.blobPort,
  })
  const f = await serve({
    ...served,
    name: 'file',
    service: file,
    childType: SHARE_TYPE,
    child: 'share',
    port: config.listen.filePort,
  }).catch(async (err: unknown) => {
    b.stop()
    await b.listener.close({ graceMs: 0 })
    throw err
  })

  let closing: Promise<void> | undefined
  return {
    blob,
    file,
    surfaces: [b.surface, f.surface],
    hooks: fanOutHooks([b.hooks, f.hooks]),
    endpoints: { blob: b.listener.origin, file: f.listener.origin },
    blobPort: b.listener.port,
    filePort: f.listener.port,
    close(o = {}) {
      closing ??= (async () => {
        b.stop()
        f.stop()
        await Promise.all([b.listener.close(o), f.listener.close(o)])
      })()
      return closing
    },
  }
}
