import { createHash } from 'node:crypto'
import { type Server as HttpsServer, createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { AccessControl, ArmHooks, ArmStore, Resource } from '../arm/index.ts'
import { STORAGE_ACCOUNT_TYPE } from '../arm/providers/storage.ts'
import type { AuditLog } from '../audit/index.ts'
import type { TokenVerifier } from '../auth/index.ts'
import type { Config } from '../config/index.ts'
import { type FileService, type ShareCatalog, type ShareRecord, createFileService } from '../dataplane/files/index.ts'
import { type AccountDirectory, createContentStore } from '../dataplane/storage/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { parseDuration } from '../kernel/duration.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { setRequestMeta } from '../kernel/request-meta.ts'
import { type Database, createFileStore } from '../store/index.ts'
import type { Surface } from './http.ts'

export const SHARE_TYPE = `${STORAGE_ACCOUNT_TYPE}/fileServices/shares`
const FILE_HOST = /^[a-z0-9]{3,24}\.file\.core\.windows\.net$/
const ACCOUNT_IN_ID = /\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i

const isType = (r: Resource, type: string) => r.type.toLowerCase() === type.toLowerCase()

/** A data-plane ETag from the ARM etag: stable while the resource is unchanged, new with every write. */
const dataEtag = (armEtag: string) =>
  `"0x8D${createHash('sha1').update(armEtag).digest('hex').slice(0, 13).toUpperCase()}"`

function toShare(account: string, r: Resource): ShareRecord {
  const p = r.properties as { metadata?: unknown; shareQuota?: unknown; accessTier?: unknown }
  const metadata =
    p.metadata && typeof p.metadata === 'object' && !Array.isArray(p.metadata)
      ? Object.fromEntries(Object.entries(p.metadata as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
      : {}
  return {
    account,
    name: r.name,
    etag: dataEtag(r.etag),
    lastModified: r.updatedAt,
    quota: typeof p.shareQuota === 'number' ? p.shareQuota : 5120,
    accessTier: typeof p.accessTier === 'string' ? p.accessTier : 'TransactionOptimized',
    metadata,
  }
}

/**
 * File shares are ARM child resources (`…/fileServices/default/shares/<name>`, parent the account), so the data
 * plane, `az storage share-rm` and the ARM SDKs see the same shares. Writes mirror what ARM's own PUT stores
 * (src/arm/providers/storage.ts `fileShares`).
 */
export function armShareCatalog(deps: { store: ArmStore; ids: Ids; clock: Clock }): ShareCatalog {
  const { store } = deps
  const accountOf = async (name: string) => {
    const [r] = await store.listResources({ type: STORAGE_ACCOUNT_TYPE, name })
    return r
  }
  const idOf = (account: Resource, name: string) => `${account.id}/fileServices/default/shares/${name}`
  const get = async (tx: ArmStore, id: string, forUpdate = false) => {
    const r = await tx.getResource(id, { forUpdate })
    return r && isType(r, SHARE_TYPE) ? r : undefined
  }
  return {
    async getShare(account, name) {
      const a = await accountOf(account)
      const r = a && (await get(store, idOf(a, name)))
      return r && toShare(account, r)
    },
    async listShares(account) {
      const a = await accountOf(account)
      if (!a) return []
      const all = await store.listResources({ parentId: a.id, type: SHARE_TYPE })
      return all.map((r) => toShare(account, r)).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    },
    async createShare(q) {
      const a = await accountOf(q.account)
      if (!a) return 'exists'
      const now = deps.clock.now()
      const r: Resource = {
        id: idOf(a, q.name),
        subscriptionId: a.subscriptionId,
        resourceGroup: a.resourceGroup,
        type: SHARE_TYPE,
        name: q.name,
        parentId: a.id,
        location: a.location,
        tags: {},
        properties: {
          shareQuota: q.quota,
          metadata: q.metadata,
          accessTier: q.accessTier,
          enabledProtocols: 'SMB',
        },
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
      return out === 'ok' ? toShare(q.account, r) : 'exists'
    },
    async updateShare(q) {
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
            ...(q.quota !== undefined ? { shareQuota: q.quota } : {}),
            ...(q.accessTier !== undefined ? { accessTier: q.accessTier } : {}),
          },
          etag: `"${deps.ids.uuid()}"`,
          updatedAt: deps.clock.now(),
        }
        const ok = await tx.putResource(updated, { expectEtag: r.etag })
        return ok === 'ok' ? toShare(q.account, updated) : undefined
      })
    },
    async deleteShare(account, name) {
      const a = await accountOf(account)
      if (!a) return false
      return store.transaction(async (tx) => {
        const r = await get(tx, idOf(a, name), true)
        return r ? tx.deleteResource(r.id) : false
      })
    },
  }
}

export interface FilesServer {
  file: FileService
  /** `<account>.file.core.windows.net` on the shared HTTPS listener and the namespace socket. */
  surfaces: Surface[]
  hooks: ArmHooks
  /** `https://<host>:<filePort>` (path-style). */
  endpoint: string
  filePort: number
  close(opts?: { graceMs?: number }): Promise<void>
}

/**
 * The File service over the store and content under `<data>/storage/file`, its loopback HTTPS listener (path-style,
 * `listen.filePort`), the host-style surface, ARM hooks (regenerated keys, deleted shares and accounts take their
 * data with them) and the garbage collector. Started by startStorage (src/server/storage.ts).
 */
export async function startFiles(deps: {
  config: Config
  database: Database
  armStore: ArmStore
  accounts: AccountDirectory
  access: AccessControl
  verifier: TokenVerifier
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  delegationSecret: Buffer
  dataDir: string
  tls: { certPem: string; keyPem: string }
}): Promise<FilesServer> {
  const { config, logger } = deps
  const host = config.listen.host
  const hostForUrl = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  const file = createFileService({
    accounts: deps.accounts,
    shares: armShareCatalog({ store: deps.armStore, ids: deps.ids, clock: deps.clock }),
    store: createFileStore(deps.database.db, deps.database.dialect),
    content: createContentStore({
      root: join(deps.dataDir, 'storage', 'file'),
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
    delegationSecret: deps.delegationSecret,
  })

  const server: HttpsServer = createHttpsServer(
    { cert: deps.tls.certPem, key: deps.tls.keyPem, requestTimeout: 0 },
    (req, res) => {
      setRequestMeta(req, { scheme: 'https', host: null, listener: 'file' })
      file.handle(req, res, 'path')
    },
  )
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.listen.filePort, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const filePort = (server.address() as AddressInfo).port

  const timer = setInterval(
    () =>
      void file
        .collectGarbage()
        .then((r) => {
          if (r.orphanShares || r.files) logger.info('file garbage collected', r)
        })
        .catch((err) => logger.warn('file garbage collection failed', { err })),
    parseDuration(config.storage.gcInterval),
  )
  timer.unref()

  const purge = (account: string, share: string | null) =>
    file.purge(account, share).catch((err) => logger.warn('purging file data failed', { err, account, share }))

  let closing: Promise<void> | undefined
  return {
    file,
    surfaces: [
      {
        name: 'file',
        matches: ({ host: h }) => FILE_HOST.test(h),
        raw: (req, res) => file.handle(req, res, 'host'),
        rawUrl: true,
      },
    ],
    hooks: {
      storageKeysChanged: (name) => file.accountChanged(name),
      hostChanged: (id) => {
        const m = ACCOUNT_IN_ID.exec(id)
        if (m) file.accountChanged((m[1] as string).toLowerCase())
      },
      resourceDeleted: (r) => {
        if (isType(r, STORAGE_ACCOUNT_TYPE)) {
          file.accountChanged(r.name)
          void purge(r.name, null)
        } else if (isType(r, SHARE_TYPE)) {
          const account = ACCOUNT_IN_ID.exec(r.parentId ?? '')?.[1]
          if (account) void purge(account.toLowerCase(), r.name)
        }
      },
    },
    endpoint: `https://${hostForUrl}:${filePort}`,
    filePort,
    close(o = {}) {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer)
        const t = setTimeout(() => server.closeAllConnections(), o.graceMs ?? 10_000)
        t.unref()
        server.close(() => {
          clearTimeout(t)
          resolve()
        })
        server.closeIdleConnections()
      })
      return closing
    },
  }
}
