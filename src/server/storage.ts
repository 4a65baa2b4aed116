import { createHash, createHmac } from 'node:crypto'
import { type Server as HttpsServer, createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { AccessControl, ArmHooks, ArmStore, Resource } from '../arm/index.ts'
import { STORAGE_ACCOUNT_TYPE, accountKeys } from '../arm/providers/storage.ts'
import type { AuditLog } from '../audit/index.ts'
import type { TokenVerifier } from '../auth/index.ts'
import type { Config } from '../config/index.ts'
import {
  type BlobService,
  type ContainerCatalog,
  type ContainerRecord,
  createBlobService,
} from '../dataplane/blob/index.ts'
import { type AccountDirectory, type StorageAccount, createContentStore } from '../dataplane/storage/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { parseDuration } from '../kernel/duration.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { setRequestMeta } from '../kernel/request-meta.ts'
import { type Database, createStorageStore } from '../store/index.ts'
import type { Surface } from './http.ts'
import { type FilesServer, startFiles } from './storage-files.ts'

export const CONTAINER_TYPE = `${STORAGE_ACCOUNT_TYPE}/blobServices/containers`
const BLOB_HOST = /^[a-z0-9]{3,24}\.blob\.core\.windows\.net$/
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

function toContainer(account: string, r: Resource): ContainerRecord {
  const p = r.properties as { metadata?: unknown; publicAccess?: unknown }
  const metadata =
    p.metadata && typeof p.metadata === 'object' && !Array.isArray(p.metadata)
      ? Object.fromEntries(Object.entries(p.metadata as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
      : {}
  const access = p.publicAccess === 'Blob' || p.publicAccess === 'Container' ? p.publicAccess : 'None'
  return { account, name: r.name, etag: dataEtag(r.etag), lastModified: r.updatedAt, metadata, publicAccess: access }
}

/**
 * Blob containers are ARM child resources (`…/blobServices/default/containers/<name>`, parent the account), so the
 * data plane, `az storage container` over ARM and the ARM SDKs all see the same containers. Writes mirror what ARM's
 * own PUT stores (src/arm/providers/common.ts).
 */
export function armContainerCatalog(deps: { store: ArmStore; ids: Ids; clock: Clock }): ContainerCatalog {
  const { store } = deps
  const accountOf = async (name: string) => {
    const [r] = await store.listResources({ type: STORAGE_ACCOUNT_TYPE, name })
    return r
  }
  const idOf = (account: Resource, name: string) => `${account.id}/blobServices/default/containers/${name}`
  const get = async (tx: ArmStore, id: string, forUpdate = false) => {
    const r = await tx.getResource(id, { forUpdate })
    return r && isType(r, CONTAINER_TYPE) ? r : undefined
  }
  return {
    async getContainer(account, name) {
      const a = await accountOf(account)
      const r = a && (await get(store, idOf(a, name)))
      return r && toContainer(account, r)
    },
    async listContainers(account) {
      const a = await accountOf(account)
      if (!a) return []
      const all = await store.listResources({ parentId: a.id, type: CONTAINER_TYPE })
      return all.map((r) => toContainer(account, r)).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    },
    async createContainer(q) {
      const a = await accountOf(q.account)
      if (!a) return 'exists'
      const now = deps.clock.now()
      const r: Resource = {
        id: idOf(a, q.name),
        subscriptionId: a.subscriptionId,
        resourceGroup: a.resourceGroup,
        type: CONTAINER_TYPE,
        name: q.name,
        parentId: a.id,
        location: a.location,
        tags: {},
        properties: { publicAccess: q.publicAccess, metadata: q.metadata },
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
      return out === 'ok' ? toContainer(q.account, r) : 'exists'
    },
    async updateContainer(q) {
      const a = await accountOf(q.account)
      if (!a) return undefined
      return store.transaction(async (tx) => {
        const r = await get(tx, idOf(a, q.name), true)
        if (!r) return undefined
        const updated: Resource = {
          ...r,
          properties: {
            ...r.properties,
            ...(q.metadata !== undefined ? { metadata: q.metadata } : {}),
            ...(q.publicAccess !== undefined ? { publicAccess: q.publicAccess } : {}),
          },
          etag: `"${deps.ids.uuid()}"`,
          updatedAt: deps.clock.now(),
        }
        const ok = await tx.putResource(updated, { expectEtag: r.etag })
        return ok === 'ok' ? toContainer(q.account, updated) : undefined
      })
    },
    async deleteContainer(account, name) {
      const a = await accountOf(account)
      if (!a) return false
      return store.transaction(async (tx) => {
        const r = await get(tx, idOf(a, name), true)
        return r ? tx.deleteResource(r.id) : false
      })
    },
  }
}

export interface StorageServer {
  blob: BlobService
  /** `<account>.blob.core.windows.net` on the shared HTTPS listener and the namespace socket. */
  surfaces: Surface[]
  hooks: ArmHooks
  endpoints: { blob: string; file: string }
  blobPort: number
  /** The File service (src/server/storage-files.ts): listen.filePort and `<account>.file.core.windows.net`. */
  files: FilesServer
  close(opts?: { graceMs?: number }): Promise<void>
}

/**
 * Composition of the storage data planes: the Blob service over the store and content under `<data>/storage/blob`,
 * its loopback HTTPS listener (path-style, `listen.blobPort`), the host-style surface, ARM hooks (regenerated keys,
 * deleted containers and accounts take their data with them) and the garbage collector.
 */
export async function startStorage(deps: {
  config: Config
  database: Database
  armStore: ArmStore
  access: AccessControl
  verifier: TokenVerifier
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  kek: Buffer
  dataDir: string
  tls: { certPem: string; keyPem: string }
}): Promise<StorageServer> {
  const { config, logger } = deps
  const host = config.listen.host
  const hostForUrl = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  const blob = createBlobService({
    accounts: armAccountDirectory(deps.armStore),
    containers: armContainerCatalog({ store: deps.armStore, ids: deps.ids, clock: deps.clock }),
    store: createStorageStore(deps.database.db, deps.database.dialect),
    content: createContentStore({
      root: join(deps.dataDir, 'storage', 'blob'),
      ids: deps.ids,
      now: () => deps.clock.now(),
      fsync: config.storage.fsync,
    }),
    verifier: deps.verifier,
    access: deps.access,
    audit: deps.audit,
    clock: deps.clock,
    ids: deps.ids,
    logger,
    // User delegation keys are derived, never stored: every node with the same key-encryption key agrees.
    delegationSecret: createHmac('sha256', deps.kek).update('azid storage user delegation keys').digest(),
    limits: { maxBlockBytes: config.storage.maxBlockBytes, maxPutBlobBytes: config.storage.maxPutBlobBytes },
  })

  // Uploads of large blobs take longer than node's default 5-minute request timeout on slow links.
  const server: HttpsServer = createHttpsServer(
    { cert: deps.tls.certPem, key: deps.tls.keyPem, requestTimeout: 0 },
    (req, res) => {
      setRequestMeta(req, { scheme: 'https', host: null, listener: 'blob' })
      blob.handle(req, res, 'path')
    },
  )
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.listen.blobPort, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const blobPort = (server.address() as AddressInfo).port

  const files = await startFiles({
    ...deps,
    accounts: armAccountDirectory(deps.armStore),
    delegationSecret: createHmac('sha256', deps.kek).update('azid storage user delegation keys').digest(),
  }).catch((err: unknown) => {
    server.close()
    throw err
  })

  const gc = () =>
    void blob
      .collectGarbage()
      .then((r) => {
        if (r.expiredBlocks || r.orphanContainers || r.files) logger.info('blob garbage collected', r)
      })
      .catch((err) => logger.warn('blob garbage collection failed', { err }))
  const timer = setInterval(gc, parseDuration(config.storage.gcInterval))
  timer.unref()

  const purge = (account: string, container: string | null) =>
    blob.purge(account, container).catch((err) => logger.warn('purging blob data failed', { err, account, container }))

  let closing: Promise<void> | undefined
  return {
    blob,
    surfaces: [
      {
        name: 'blob',
        matches: ({ host: h }) => BLOB_HOST.test(h),
        raw: (req, res) => blob.handle(req, res, 'host'),
        rawUrl: true,
      },
      ...files.surfaces,
    ],
    hooks: {
      storageKeysChanged: (name) => {
        blob.accountChanged(name)
        files.hooks.storageKeysChanged?.(name)
      },
      // Every ARM write reports its resource here: an account's flags (allowSharedKeyAccess, …) may have changed.
      hostChanged: (id) => {
        files.hooks.hostChanged?.(id)
        const m = ACCOUNT_IN_ID.exec(id)
        if (m) blob.accountChanged((m[1] as string).toLowerCase())
      },
      resourceDeleted: (r) => {
        files.hooks.resourceDeleted?.(r)
        if (isType(r, STORAGE_ACCOUNT_TYPE)) {
          blob.accountChanged(r.name)
          void purge(r.name, null)
        } else if (isType(r, CONTAINER_TYPE)) {
          const account = ACCOUNT_IN_ID.exec(r.parentId ?? '')?.[1]
          if (account) void purge(account.toLowerCase(), r.name)
        }
      },
    },
    endpoints: { blob: `https://${hostForUrl}:${blobPort}`, file: files.endpoint },
    blobPort,
    files,
    close(o = {}) {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer)
        const filesClosed = files.close(o)
        const t = setTimeout(() => server.closeAllConnections(), o.graceMs ?? 10_000)
        t.unref()
        server.close(() => {
          clearTimeout(t)
          void filesClosed.then(() => resolve())
        })
        server.closeIdleConnections()
      })
      return closing
    },
  }
}
