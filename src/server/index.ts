import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { type Server as HttpsServer, createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { type AccessControl, type ArmHooks, createAccessControl, createArmApp, defaultRegistry } from '../arm/index.ts'
import { createFaults, type Faults } from '../faults/index.ts'
import { type ManagedIdentity, startManagedIdentity } from './mi.ts'
import { type KeyVaultServer, startKeyVault } from './keyvault.ts'
import { fanOutHooks } from './dataplane.ts'
import { type StorageServer, startStorage } from './storage.ts'
import { createAuditLog } from '../audit/index.ts'
import { createTokenVerifier } from '../auth/index.ts'
import type { Config } from '../config/index.ts'
import { cachedDirectoryStore, createDirectoryService } from '../directory/index.ts'
import { createGraphApp } from '../graph/index.ts'
import { type Clock, systemClock } from '../kernel/clock.ts'
import { parseDuration } from '../kernel/duration.ts'
import { type FastLane, attachFastLane } from '../kernel/fast-http.ts'
import { type Ids, opaqueToken, systemIds } from '../kernel/ids.ts'
import { type Logger, createLogger } from '../kernel/log.ts'
import { createKeyService, createSigner, ensurePki, type KeyService } from '../keys/index.ts'
import {
  createArmStore,
  createAuditStore,
  createDirectoryStore,
  createFaultStore,
  createKeyStore,
  createStsStateStore,
  type Database,
  openDatabase,
} from '../store/index.ts'
import {
  createFederatedVerifier,
  createIssuerKeys,
  createStsApp,
  createStsTokenRoute,
  createStsService,
  createTokenMinter,
  isWorkloadIssuer,
  mintWorkloadToken,
  type StsService,
  workloadIssuer,
} from '../sts/index.ts'
import { type Endpoints, createAdminApp } from './admin-routes.ts'
import { CONFIG_ADMIN_PATH, createConfigAdminApp } from './admin-config.ts'
import { createAdminPortalApp } from './admin-portal.ts'
import { createPortal } from '../ui/index.ts'
import { type BootstrapCredentials, bootstrapDirectory, bootstrapSubscription } from './bootstrap.ts'
import { decodeKey, readOrCreateSecret, writePrivateFile } from './files.ts'
import { type Surface, createDispatcher, createFastDispatcher } from './http.ts'
import type { AuditLog } from '../audit/index.ts'
import type { DirectoryService } from '../directory/index.ts'

export const VERSION = '0.1.0'
/** How long a directory read may be served from memory at most (a bound should a change notification be lost). */
const DIRECTORY_CACHE_TTL_MS = 5_000

/** Names the TLS certificate covers: loopback, and the Azure names namespace mode serves. */
export const TLS_DNS_NAMES = [
  'localhost',
  'login.microsoftonline.com',
  'login.windows.net',
  'management.azure.com',
  'management.core.windows.net',
  'graph.microsoft.com',
  '*.blob.core.windows.net',
  '*.file.core.windows.net',
  '*.queue.core.windows.net',
  '*.table.core.windows.net',
  '*.vault.azure.net',
] as const

export interface AzidServer {
  readonly config: Config
  readonly endpoints: Endpoints
  readonly bootstrap: BootstrapCredentials
  readonly adminKey: string
  readonly database: Database
  readonly keys: KeyService
  readonly directory: DirectoryService
  readonly sts: StsService
  readonly audit: AuditLog
  readonly access: AccessControl
  readonly faults: Faults
  readonly managedIdentity: ManagedIdentity
  readonly keyVault: KeyVaultServer
  readonly storage: StorageServer
  readonly dataDir: string
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then releases everything. */
  close(opts?: { graceMs?: number }): Promise<void>
}

export interface ServerOptions {
  clock?: Clock
  ids?: Ids
  logger?: Logger
}

function listen(server: HttpsServer, q: { port?: number; host?: string; path?: string }): Promise<void> {
  return new Promise((res, rej) => {
    server.once('error', rej)
    const done = () => {
      server.off('error', rej)
      res()
    }
    if (q.path) server.listen(q.path, done)
    else server.listen(q.port, q.host, done)
  })
}

/** The composition root: store, keys, directory, token service, HTTP surfaces and listeners. */
export async function createServer(config: Config, opts: ServerOptions = {}): Promise<AzidServer> {
  const clock = opts.clock ?? systemClock
  const ids = opts.ids ?? systemIds
  const logger = opts.logger ?? createLogger({ level: config.log.level })
  const dataDir = resolve(config.dataDir)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })

  const database = await openDatabase({ dsn: config.store.dsn, dataDir, nodeId: ids.uuid() })
  const closers: (() => Promise<void> | void)[] = [() => database.close()]
  try {
    const kek = config.keys.encryptionKey
      ? decodeKey(config.keys.encryptionKey, 'keys.encryptionKey')
      : decodeKey(
          readOrCreateSecret(join(dataDir, 'keys', 'master.key'), () => ids.bytes(32).toString('base64')),
          'keys/master.key',
        )
    const adminKey = config.admin.key ?? readOrCreateSecret(join(dataDir, 'admin.key'), () => opaqueToken(ids, 32))

    const tls = await ensurePki({
      dir: join(dataDir, 'pki'),
      dnsNames: TLS_DNS_NAMES,
      ips: ['127.0.0.1', '::1', '169.254.169.254'],
      clock,
      ids,
    })

    // Python requests and Go replace their trust store with the file they are given: give them the system's plus ours.
    const systemBundle = '/etc/ssl/certs/ca-certificates.crt'
    writeFileSync(
      join(dataDir, 'pki', 'bundle.pem'),
      `${existsSync(systemBundle) ? readFileSync(systemBundle, 'utf8') : ''}\n${tls.caCertPem}`,
    )

    const tokens = config.tokens
    const settings = {
      accessTokenLifetimeMs: parseDuration(tokens.accessTokenLifetime),
      refreshTokenLifetimeMs: parseDuration(tokens.refreshTokenLifetime),
      idTokenLifetimeMs: parseDuration(tokens.idTokenLifetime),
      deviceCodeLifetimeMs: parseDuration(tokens.deviceCodeLifetime),
      deviceCodeIntervalS: tokens.deviceCodeInterval,
      authorizationCodeLifetimeMs: parseDuration(tokens.authorizationCodeLifetime),
      clockSkewMs: parseDuration(tokens.clockSkew),
    }
    const miLifetimeMs = parseDuration(tokens.managedIdentityTokenLifetime)
    const threads = tokens.signingThreads === 'auto' ? availableParallelism() : tokens.signingThreads
    const signer = createSigner({ threads })
    closers.push(() => signer.close())
    const keys = createKeyService({
      store: createKeyStore(database.db),
      clock,
      ids,
      signer,
      logger,
      kek,
      maxTokenLifetimeMs:
        Math.max(settings.accessTokenLifetimeMs, miLifetimeMs, settings.idTokenLifetimeMs) + settings.clockSkewMs,
      prePublishMs: parseDuration(config.keys.prePublish),
    })
    await keys.ensureKey()
    await keys.active()

    // The reads of every token request come from memory (src/directory/cache.ts); a change made here is announced to
    // the other nodes on the store's feed, and a change announced by them empties this node's cache.
    const directoryStore = cachedDirectoryStore(createDirectoryStore(database.db), {
      clock,
      ttlMs: DIRECTORY_CACHE_TTL_MS,
      onWrite: () => void database.feed.publish('directory', 'changed').catch(() => {}),
    })
    const unsubscribeDirectory = await database.feed.subscribe('directory', () => directoryStore.invalidate())
    closers.unshift(() => unsubscribeDirectory())
    const directory = createDirectoryService({ store: directoryStore, clock, ids })
    const bootstrap = await bootstrapDirectory({ config, directory, ids, file: join(dataDir, 'bootstrap.json') })
    const armStore = createArmStore(database.db, database.dialect)
    await bootstrapSubscription({ config, store: armStore, creds: bootstrap, now: clock.now() })
    const access = await createAccessControl({
      store: armStore,
      feed: database.feed,
      clock,
      logger,
      propagationDelayMs: parseDuration(config.arm.roleAssignmentPropagation),
    })
    closers.unshift(() => access.close())

    const audit = createAuditLog({ store: createAuditStore(database.db), clock, ids, logger })
    closers.unshift(() => audit.close())
    const state = createStsStateStore(database.db)
    // azid's own workload issuer is verified with its own keys, without a network round trip.
    const issuerKeys = createIssuerKeys({
      clock,
      local: async (iss) => (isWorkloadIssuer(iss, issuerOrigins) ? { keys: await keys.jwks() } : undefined),
    })
    const federated = createFederatedVerifier({
      store: directory.store,
      issuerKeys,
      clock,
      clockSkewMs: settings.clockSkewMs,
    })
    const minter = createTokenMinter({ keys })
    const sts = createStsService({
      directory,
      state,
      keys,
      minter,
      audit,
      clock,
      ids,
      federated,
      settings,
      knownOrigins: ['https://login.microsoftonline.com', 'https://login.windows.net'],
    })

    const purge = setInterval(
      () => void state.purgeExpired(clock.now()).catch((err) => logger.warn('purge failed', { err })),
      60_000,
    )
    purge.unref()
    closers.push(() => clearInterval(purge))

    // -- listeners
    const sockDir = join(dataDir, 'sock')
    mkdirSync(sockDir, { recursive: true, mode: 0o700 })
    const socketPath = join(sockDir, 'https.sock')
    let endpoints: Endpoints | undefined
    const getEndpoints = () => {
      if (!endpoints) throw new Error('endpoints requested before listen')
      return endpoints
    }
    // Tenants change rarely; a short cache keeps the lookup off every authenticated request.
    const tenantCache = new Map<string, { at: number; known: boolean }>()
    const verifier = createTokenVerifier({
      publicKey: (kid) => keys.publicKey(kid),
      isKnownTenant: async (tid) => {
        const hit = tenantCache.get(tid)
        if (hit && clock.now() - hit.at < 5000) return hit.known
        const known = (await directory.store.getTenant(tid)) !== undefined
        tenantCache.set(tid, { at: clock.now(), known })
        return known
      },
      issuerOrigins: () => issuerOrigins,
      clock,
      clockSkewMs: settings.clockSkewMs,
    })
    const issuerOrigins: string[] = ['https://login.microsoftonline.com', 'https://login.windows.net']
    const registry = defaultRegistry()
    // ARM tells the managed-identity endpoints and the data planes what changed; each pushes its hooks here.
    const armHookSets: ArmHooks[] = []
    const armHooks = fanOutHooks(armHookSets)
    // ARM writes service principals of identities in its own transactions, past the directory cache.
    armHookSets.push({
      hostChanged: () => directoryStore.invalidate(),
      identityDeleted: () => directoryStore.invalidate(),
      resourceDeleted: () => directoryStore.invalidate(),
    })
    const armApp = createArmApp(
      {
        store: armStore,
        access,
        verifier,
        audit,
        clock,
        ids,
        logger,
        settings: {
          tenantId: bootstrap.tenantId,
          defaultSubscriptionId: config.subscription.id,
          maxBodyBytes: config.limits.armMaxBodyBytes,
          loginEndpoint: () => '',
          graphEndpoint: () => 'https://graph.microsoft.com',
          storageSuffix: 'core.windows.net',
          keyVaultDns: '.vault.azure.net',
        },
        hooks: armHooks,
      },
      registry,
      { fallbackHost: `${config.listen.host}:${config.listen.httpsPort}` },
    )
    const stsDeps = {
      sts,
      keys,
      directory,
      clock,
      ids,
      logger,
      maxBodyBytes: config.limits.stsMaxBodyBytes,
      fallbackHost: `${config.listen.host}:${config.listen.httpsPort}`,
    }
    const stsApp = createStsApp(stsDeps)
    // POST to the token endpoints on node:http directly; the same answers as stsApp's (src/sts/routes.ts).
    const stsTokenRoute = createStsTokenRoute(stsDeps)
    let httpsBaseUrl = ''
    const faults = createFaults({ store: createFaultStore(database.db), clock, ids, audit })
    const managedIdentity = await startManagedIdentity({
      config,
      store: armStore,
      directory: directory.store,
      sts,
      audit,
      faults,
      clock,
      ids,
      logger,
      kek,
      feed: database.feed,
      tenantId: bootstrap.tenantId,
      sockDir,
      tlsCertPem: tls.certPem,
      httpsBase: () => httpsBaseUrl,
    })
    closers.unshift(() => managedIdentity.close())
    armHookSets.push(managedIdentity.hooks)
    // -- data planes (each adds its listeners, host-style surfaces and ARM hooks here)
    // Storage (src/server/storage.ts): Blob on listen.blobPort (path-style) and <account>.blob.core.windows.net.
    const storage = await startStorage({
      config,
      database,
      armStore,
      access,
      verifier,
      audit,
      clock,
      ids,
      logger,
      kek,
      dataDir,
      tls,
    })
    closers.unshift(() => storage.close({ graceMs: 1000 }))
    armHookSets.push(storage.hooks)
    // Key Vault secrets (src/server/keyvault.ts): loopback listener on listen.vaultPort, <vault>.vault.azure.net surface.
    const keyVault = await startKeyVault({
      config,
      database,
      armStore,
      access,
      verifier,
      audit,
      clock,
      ids,
      logger,
      kek,
      tenantId: bootstrap.tenantId,
      tls,
    })
    closers.unshift(() => keyVault.close({ graceMs: 1000 }))
    armHookSets.push(keyVault.hooks)

    const adminApp = createAdminApp({
      mintWorkloadToken: async (q) => {
        const issuer = workloadIssuer(httpsBaseUrl, bootstrap.tenantId)
        const t = await mintWorkloadToken(
          { minter, clock, ids },
          { issuer, subject: q.subject, audience: q.audience, lifetimeMs: q.lifetimeMs },
        )
        return { ...t, issuer }
      },
      faults,
      managedIdentity,
      access,
      config,
      adminKey,
      endpoints: getEndpoints,
      keys,
      audit,
      sts,
      directory,
      logger,
      version: VERSION,
      dialect: database.dialect,
    })
    const ARM_HOSTS = new Set(['management.azure.com', 'management.core.windows.net'])
    const STS_HOSTS = new Set(['login.microsoftonline.com', 'login.windows.net'])
    const ARM_PATH = /^\/(subscriptions|tenants|providers|metadata\/endpoints)(\/|$)/i
    // -- graph: Microsoft Graph subset (src/graph). Writes are for the bootstrap administrator (app and user).
    const graphApp = createGraphApp(
      {
        directory,
        verifier,
        audit,
        clock,
        ids,
        logger,
        isDirectoryAdmin: (oid) => oid === bootstrap.servicePrincipalId || oid === bootstrap.userId,
      },
      { fallbackHost: `${config.listen.host}:${config.listen.httpsPort}` },
    )
    const GRAPH_PATH = /^\/(v1\.0|beta)(\/|$)/i
    const graphSurface: Surface = {
      name: 'graph',
      matches: ({ host, path }) =>
        host === 'graph.microsoft.com' || (!ARM_HOSTS.has(host) && !STS_HOSTS.has(host) && GRAPH_PATH.test(path)),
      fetch: graphApp.fetch,
    }
    // -- end graph
    const surfaces: Surface[] = [
      // Service Fabric's endpoint is https (its clients pin or skip the certificate); the rest of the
      // managed-identity endpoints have listeners of their own (src/server/mi.ts).
      {
        name: 'mi',
        matches: ({ path }) => path === '/servicefabric/msi/token',
        raw: managedIdentity.http.sharedHandler,
      },
      // The portal's door to the admin API: a signed-in user's token instead of the admin key (src/server/admin-portal.ts).
      {
        name: 'admin-portal',
        matches: ({ path }) => path.startsWith('/_azid/portal/'),
        fetch: createAdminPortalApp({
          verifier,
          admin: adminApp,
          adminKey,
          bootstrap,
          access,
          audit,
          directory,
          sts,
          clock,
          logger,
        }).fetch,
      },
      // Configuration as code: apply, export, snapshots, reset (src/server/admin-config.ts).
      {
        name: 'admin-config',
        matches: ({ path }) => CONFIG_ADMIN_PATH.test(path),
        fetch: createConfigAdminApp({
          database,
          access,
          faults,
          hooks: armHooks,
          audit,
          clock,
          ids,
          logger,
          bootstrap,
          adminKey,
          defaultSubscriptionId: config.subscription.id,
          snapshotDir: join(dataDir, 'snapshots'),
          directoryChanged: () => {
            directoryStore.invalidate()
            void database.feed.publish('directory', 'changed').catch(() => {})
          },
        }).fetch,
      },
      { name: 'admin', matches: ({ path }) => path.startsWith('/_azid/'), fetch: adminApp.fetch },
      graphSurface,
      // -- data-plane surfaces (host-style names: <account>.blob.core.windows.net, <vault>.vault.azure.net, …)
      ...storage.surfaces,
      keyVault.surface,
      {
        name: 'arm',
        matches: ({ host, path }) => ARM_HOSTS.has(host) || (!STS_HOSTS.has(host) && ARM_PATH.test(path)),
        fetch: armApp.fetch,
      },
      // The portal (src/ui): static files under /portal, and / redirects there (the Azure names keep their own /).
      {
        name: 'portal',
        matches: ({ host, path }) => !STS_HOSTS.has(host) && (path === '/' || /^\/portal(\/|$)/.test(path)),
        fetch: createPortal().fetch,
      },
      { name: 'sts', matches: () => true, fetch: stsApp.fetch, fast: stsTokenRoute },
    ]
    const notFound = () => new Response('Not Found', { status: 404 })
    const httpsTcp = createHttpsServer(
      { cert: tls.certPem, key: tls.keyPem },
      createDispatcher({ surfaces, notFound, meta: { scheme: 'https', host: null, listener: 'https' } }),
    )
    const httpsSock = createHttpsServer(
      { cert: tls.certPem, key: tls.keyPem },
      createDispatcher({ surfaces, notFound, meta: { scheme: 'https', host: null, listener: 'namespace' } }),
    )
    for (const s of [httpsTcp, httpsSock]) {
      s.keepAliveTimeout = 65_000
      s.headersTimeout = 66_000
    }
    // Token requests are answered below node:http where they can be (kernel/fast-http.ts, createFastDispatcher).
    const lanes = new Map<unknown, FastLane>([
      [
        httpsTcp,
        attachFastLane(
          httpsTcp,
          createFastDispatcher({
            surfaces,
            meta: { scheme: 'https', host: null, listener: 'https' },
            keepAliveMs: 65_000,
          }),
        ),
      ],
      [
        httpsSock,
        attachFastLane(
          httpsSock,
          createFastDispatcher({
            surfaces,
            meta: { scheme: 'https', host: null, listener: 'namespace' },
            keepAliveMs: 65_000,
          }),
        ),
      ],
    ])
    await listen(httpsTcp, { port: config.listen.httpsPort, host: config.listen.host })
    rmSync(socketPath, { force: true })
    await listen(httpsSock, { path: socketPath })
    const servers = [httpsTcp, httpsSock]

    const port = (httpsTcp.address() as AddressInfo).port
    issuerOrigins.push(`https://127.0.0.1:${port}`, `https://localhost:${port}`)
    const hostForUrl = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host
    const base = `https://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${port}`
    httpsBaseUrl = base
    endpoints = {
      tenantId: bootstrap.tenantId,
      tenantDomain: config.tenant.domain,
      subscriptionId: config.subscription.id,
      authorityHost: base,
      authority: `${base}/${bootstrap.tenantId}`,
      managementUrl: `${base}/`,
      graphUrl: `${base}/`,
      managedIdentity: {
        sharedEndpoint: `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${managedIdentity.sharedPort}`,
        sharedSocket: managedIdentity.sharedSocket,
      },
      keyVault: {
        port: keyVault.port,
        loopbackVaultUrl: keyVault.loopbackUrl('{vault}'),
        namespaceVaultUrl: 'https://{vault}.vault.azure.net',
      },
      storage: storage.endpoints,
      caCertPath: tls.caCertPath,
      bootstrap: {
        clientId: bootstrap.clientId,
        clientSecret: bootstrap.clientSecret,
        userPrincipalName: bootstrap.userPrincipalName,
        userPassword: bootstrap.userPassword,
      },
      health: `${base}/_azid/health`,
      namespaceSocket: socketPath,
    }
    const runtimeFile = join(dataDir, 'runtime.json')
    writePrivateFile(
      runtimeFile,
      `${JSON.stringify({ pid: process.pid, startedAt: clock.now(), httpsPort: port, base, version: VERSION }, null, 2)}\n`,
    )

    let closing: Promise<void> | undefined
    return {
      config,
      endpoints,
      bootstrap,
      adminKey,
      database,
      keys,
      directory,
      sts,
      audit,
      access,
      faults,
      managedIdentity,
      keyVault,
      storage,
      dataDir,
      close(o = {}) {
        closing ??= (async () => {
          const grace = o.graceMs ?? 10_000
          await Promise.all(
            servers.map(
              (s) =>
                new Promise<void>((res) => {
                  const lane = lanes.get(s)
                  const timer = setTimeout(() => {
                    s.closeAllConnections()
                    lane?.destroyAll()
                  }, grace)
                  timer.unref()
                  s.close(() => {
                    clearTimeout(timer)
                    res()
                  })
                  s.closeIdleConnections()
                  lane?.closeIdle()
                }),
            ),
          )
          rmSync(socketPath, { force: true })
          rmSync(runtimeFile, { force: true })
          for (const c of closers) await c()
        })()
        return closing
      },
    }
  } catch (err) {
    for (const c of closers) await Promise.resolve(c()).catch(() => {})
    throw err
  }
}
