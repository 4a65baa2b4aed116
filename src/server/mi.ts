import { createHash, createHmac, X509Certificate } from 'node:crypto'
import { rmSync } from 'node:fs'
import { type Server, createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type ArmHooks, type ArmStore, HOST_TYPE_NAMES } from '../arm/index.ts'
import type { AuditLog } from '../audit/index.ts'
import type { Config } from '../config/index.ts'
import type { DirectoryStore } from '../directory/index.ts'
import type { Faults, Flavour } from '../faults/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { parseDuration } from '../kernel/duration.ts'
import { type FastAnswer, type FastLane, attachFastLane } from '../kernel/fast-http.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { setRequestMeta } from '../kernel/request-meta.ts'
import {
  type Host,
  type HostSource,
  createHostSecrets,
  createMiHttp,
  createMiService,
  createThrottle,
  MI_KEEP_ALIVE_MS,
} from '../mi/index.ts'
import type { Feed } from '../store/index.ts'
import type { StsService } from '../sts/index.ts'

const HOST_TYPES = new Set(HOST_TYPE_NAMES.map((t) => t.toLowerCase()))
const EXTENSION_TYPES = /^ManagedIdentityExtensionFor(Windows|Linux)$/i

/** Hosts as the managed-identity endpoints need them, read from ARM's store. */
export function armHostSource(store: ArmStore, tenantId: string): HostSource {
  const toHost = async (id: string): Promise<Host | undefined> => {
    const r = await store.getResource(id)
    if (!r || !HOST_TYPES.has(r.type.toLowerCase())) return undefined
    let extensionPort: number | null = null
    for (const child of await store.listResources({ parentId: r.id })) {
      const p = child.properties as { type?: unknown; publisher?: unknown; settings?: { port?: unknown } }
      if (
        !child.type.toLowerCase().endsWith('/extensions') ||
        typeof p.type !== 'string' ||
        !EXTENSION_TYPES.test(p.type)
      )
        continue
      const port = Number(p.settings?.port ?? 50342)
      extensionPort = Number.isInteger(port) && port > 0 && port < 65536 ? port : 50342
    }
    return {
      id: r.id,
      type: r.type,
      name: r.name,
      location: r.location,
      subscriptionId: r.subscriptionId,
      resourceGroup: r.resourceGroup,
      tenantId: r.identity?.system?.tenantId ?? tenantId,
      identity: r.identity,
      createdAt: r.createdAt,
      tags: r.tags,
      properties: r.properties,
      extra: r.extra,
      extensionPort,
    }
  }
  return {
    getHost: toHost,
    async listHosts() {
      const out: Host[] = []
      for (const sub of await store.listSubscriptions())
        for (const type of HOST_TYPES)
          for (const r of await store.listResources({ subscriptionId: sub.id, type })) {
            const h = await toHost(r.id)
            if (h) out.push(h)
          }
      return out
    },
  }
}

export type EndpointMode = 'loopback' | 'namespace'

/** Inside a namespace, the shared managed-identity listener is forwarded to this port of 127.0.0.1. */
export const NAMESPACE_MI_PORT = 44380

export interface HostEndpoint {
  host: Host
  flavour: Flavour
  /** Environment variables a process needs to act as this host with this flavour. */
  env: Record<string, string>
  /** Per-host listener URL (loopback) or Unix socket (namespace). */
  hostUrl: string | null
  hostSocket: string | null
  sharedSocket: string
}

/** The default flavour of each host type: what the real service offers its code. */
export function defaultFlavour(host: Host): Flavour {
  const t = host.type.toLowerCase()
  if (t === 'microsoft.web/sites' || t === 'microsoft.web/sites/slots') return 'app-service'
  if (t === 'microsoft.hybridcompute/machines') return 'arc'
  return 'imds'
}

/** Composition of the managed-identity endpoints: service, shared listener, per-host listeners and sockets. */
export async function startManagedIdentity(deps: {
  config: Config
  store: ArmStore
  directory: DirectoryStore
  sts: StsService
  audit: AuditLog
  faults: Faults
  clock: Clock
  ids: Ids
  logger: Logger
  kek: Buffer
  feed: Feed
  tenantId: string
  sockDir: string
  tlsCertPem: string
  httpsBase: () => string
}) {
  const { config, clock } = deps
  const hosts = armHostSource(deps.store, deps.tenantId)
  const mi = createMiService({
    hosts,
    directory: deps.directory,
    sts: deps.sts,
    audit: deps.audit,
    clock,
    logger: deps.logger,
    settings: {
      lifetimeMs: parseDuration(config.tokens.managedIdentityTokenLifetime),
      refreshBeforeMs: parseDuration(config.mi.refreshBefore),
      hostCacheMs: parseDuration(config.mi.hostCache),
      maxCachedTokens: config.mi.maxCachedTokens,
    },
  })
  const secrets = createHostSecrets(createHmac('sha256', deps.kek).update('azid host secrets v1').digest())
  const http = createMiHttp({
    mi,
    faults: deps.faults,
    throttle: createThrottle({ mode: config.mi.throttling, now: () => clock.now() }),
    audit: deps.audit,
    secrets,
    clock,
    ids: deps.ids,
    logger: deps.logger,
    stsOrigin: deps.httpsBase,
    arcTokenDir: config.mi.arcTokenDir,
  })

  const servers: Server[] = []
  const lanes: FastLane[] = []
  const listen = (server: Server, q: { port?: number; host?: string; path?: string }) =>
    new Promise<void>((res, rej) => {
      server.once('error', rej)
      const done = () => {
        server.off('error', rej)
        res()
      }
      if (q.path) server.listen(q.path, done)
      else server.listen(q.port, q.host, done)
    })
  const httpServer = (
    handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
    listener: string,
    host: string | null,
    fast?: FastAnswer,
  ) => {
    const s = createHttpServer({ keepAliveTimeout: MI_KEEP_ALIVE_MS }, (req, res) => {
      setRequestMeta(req, { scheme: 'http', host, listener })
      handler(req, res)
    })
    // Per-host listeners answer cached IMDS tokens below node:http (kernel/fast-http.ts).
    if (fast) lanes.push(attachFastLane(s, fast))
    servers.push(s)
    return s
  }

  // The shared listener (App Service, Azure ML, Service Fabric over http) on loopback and for namespaces.
  const shared = httpServer(http.sharedHandler, 'mi-shared', null)
  await listen(shared, { port: config.listen.miPort, host: config.listen.host })
  const sharedPort = (shared.address() as AddressInfo).port
  const sharedSocket = join(deps.sockDir, 'mi.sock')
  rmSync(sharedSocket, { force: true })
  await listen(httpServer(http.sharedHandler, 'mi-shared-namespace', null), { path: sharedSocket })

  const perHost = new Map<string, { url: string | null; socket: string | null; creating?: Promise<void> }>()
  async function ensureHostListener(
    host: Host,
    mode: EndpointMode,
  ): Promise<{ url: string | null; socket: string | null }> {
    const k = host.id.toLowerCase()
    let entry = perHost.get(k)
    if (!entry) {
      entry = { url: null, socket: null }
      perHost.set(k, entry)
    }
    const e = entry
    await e.creating
    if (mode === 'loopback' && !e.url) {
      e.creating = (async () => {
        const s = httpServer(http.hostHandler(host.id), `mi-host:${host.name}`, host.id, http.hostFastAnswer(host.id))
        await listen(s, { port: 0, host: config.listen.host })
        e.url = `http://${config.listen.host}:${(s.address() as AddressInfo).port}`
      })()
      await e.creating
    }
    if (mode === 'namespace' && !e.socket) {
      e.creating = (async () => {
        const path = join(deps.sockDir, `h-${createHash('sha256').update(k).digest('hex').slice(0, 16)}.sock`)
        rmSync(path, { force: true })
        await listen(
          httpServer(http.hostHandler(host.id), `mi-host-ns:${host.name}`, host.id, http.hostFastAnswer(host.id)),
          { path },
        )
        e.socket = path
      })()
      await e.creating
    }
    return { url: e.url, socket: e.socket }
  }

  const thumbprint = new X509Certificate(deps.tlsCertPem).fingerprint.replaceAll(':', '')

  /** Finds a host by ARM id, or by name when exactly one host has it. */
  async function findHost(ref: string): Promise<Host | { error: string }> {
    if (ref.startsWith('/')) {
      const h = await hosts.getHost(ref)
      return (
        h ?? {
          error: `no host with resource id ${ref} (hosts are VMs, scale sets, Web sites, container groups and Arc machines)`,
        }
      )
    }
    const all = (await hosts.listHosts()).filter((h) => h.name.toLowerCase() === ref.toLowerCase())
    if (all.length === 1) return all[0] as Host
    if (all.length === 0) return { error: `no host named '${ref}'` }
    return {
      error: `${all.length} hosts are named '${ref}'; give the resource id instead: ${all.map((h) => h.id).join(', ')}`,
    }
  }

  async function endpoint(q: { host: Host; flavour?: Flavour; mode: EndpointMode }): Promise<HostEndpoint> {
    const { host, mode } = q
    const flavour = q.flavour ?? defaultFlavour(host)
    const local = mode === 'namespace'
    const needsHostListener =
      flavour === 'imds' || flavour === 'arc' || flavour === 'cloud-shell' || flavour === 'vm-extension'
    const l = needsHostListener || local ? await ensureHostListener(host, mode) : { url: null, socket: null }
    const hostBase = local ? null : l.url
    const sharedBase = local ? `http://127.0.0.1:${NAMESPACE_MI_PORT}` : `http://${config.listen.host}:${sharedPort}`
    const env: Record<string, string> = {}
    const secret = (f: string) => secrets.issue({ hostId: host.id, createdAt: host.createdAt, flavour: f })
    const firstClient = host.identity?.system?.clientId ?? host.identity?.user[0]?.clientId ?? ''
    switch (flavour) {
      case 'imds':
        // In a namespace IMDS is at 169.254.169.254: nothing to set.
        if (hostBase) env.AZURE_POD_IDENTITY_AUTHORITY_HOST = hostBase
        break
      case 'app-service':
        env.IDENTITY_ENDPOINT = `${sharedBase}/msi/token`
        env.IDENTITY_HEADER = secret('app-service')
        env.MSI_ENDPOINT = `${sharedBase}/msi/token`
        env.MSI_SECRET = env.IDENTITY_HEADER
        env.WEBSITE_SITE_NAME = host.name
        env.APPSETTING_WEBSITE_SITE_NAME = host.name
        break
      case 'app-service-2017':
        env.MSI_ENDPOINT = `${sharedBase}/msi/token`
        env.MSI_SECRET = secret('app-service')
        env.WEBSITE_SITE_NAME = host.name
        env.APPSETTING_WEBSITE_SITE_NAME = host.name
        break
      case 'azure-ml':
        env.MSI_ENDPOINT = `${sharedBase}/ml/msi/token`
        env.MSI_SECRET = secret('azure-ml')
        if (firstClient) env.DEFAULT_IDENTITY_CLIENT_ID = firstClient
        break
      case 'service-fabric':
        env.IDENTITY_ENDPOINT = `${local ? 'https://127.0.0.1:443' : deps.httpsBase()}/servicefabric/msi/token`
        env.IDENTITY_HEADER = secret('service-fabric')
        env.IDENTITY_SERVER_THUMBPRINT = thumbprint
        env.IDENTITY_API_VERSION = '2019-07-01-preview'
        break
      case 'cloud-shell':
        env.MSI_ENDPOINT = `${hostBase ?? 'http://127.0.0.1:50342'}/oauth2/token`
        break
      case 'arc': {
        const base = hostBase ?? 'http://127.0.0.1:40342'
        env.IDENTITY_ENDPOINT = `${base}/metadata/identity/oauth2/token`
        env.IMDS_ENDPOINT = base
        break
      }
      case 'vm-extension':
        env.AZID_MSI_EXTENSION_ENDPOINT = `${hostBase ?? `http://127.0.0.1:${host.extensionPort ?? 50342}`}/oauth2/token`
        break
      case 'instance-metadata':
        if (hostBase) env.AZURE_POD_IDENTITY_AUTHORITY_HOST = hostBase
        break
    }
    return { host, flavour, env, hostUrl: l.url, hostSocket: l.socket, sharedSocket }
  }

  const hooks: ArmHooks = {
    hostChanged(id) {
      mi.invalidateHost(id)
      void deps.feed.publish('hosts', `host:${id}`).catch(() => {})
    },
    identityDeleted(principalId) {
      mi.evictPrincipal(principalId)
      void deps.feed.publish('hosts', `principal:${principalId}`).catch(() => {})
    },
  }
  const unsubscribe = await deps.feed.subscribe('hosts', (payload) => {
    const i = payload.indexOf(':')
    const kind = payload.slice(0, i)
    const id = payload.slice(i + 1)
    if (kind === 'host') mi.invalidateHost(id)
    else if (kind === 'principal') mi.evictPrincipal(id)
  })

  return {
    mi,
    http,
    hooks,
    sharedPort,
    sharedSocket,
    findHost,
    endpoint,
    listHosts: () => hosts.listHosts(),
    async close() {
      await unsubscribe()
      // The fast lanes' connections are idle between answers (they answer synchronously): nothing in flight is lost.
      const closing = servers.map((s) => new Promise<void>((res) => s.close(() => res())))
      for (const l of lanes) l.destroyAll()
      for (const s of servers) s.closeAllConnections()
      await Promise.all(closing)
      for (const e of perHost.values()) if (e.socket) rmSync(e.socket, { force: true })
      rmSync(sharedSocket, { force: true })
    },
  }
}

export type ManagedIdentity = Awaited<ReturnType<typeof startManagedIdentity>>
