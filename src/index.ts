/**
 * The programmatic API: an azid for a test suite, on free ports with a temporary data directory.
 *
 *   import { startAzid } from 'azid'
 *   const azid = await startAzid({ world: { resourceGroups: [{ name: 'rg', location: 'westeurope' }],
 *     hosts: [{ name: 'vm1', type: 'vm', resourceGroup: 'rg', systemAssigned: true }] } })
 *   Object.assign(process.env, await azid.env('vm1'))   // this process now acts as vm1
 *   …
 *   await azid.stop()
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AuditEvent, AuditQuery } from './audit/index.ts'
import { AdminError, type Target, adminRequest, httpsRequest } from './cli/client.ts'
import { type ConfigInput, loadConfig } from './config/index.ts'
import { type FaultRule, type Flavour, parseFaultInput } from './faults/index.ts'
import { createLogger } from './kernel/log.ts'
import type { Endpoints } from './server/admin-routes.ts'
import { type AzidServer, createServer } from './server/index.ts'
import type { ApplyResult, DocIssue, World } from './server/world/document.ts'

export type { ApplyResult, AuditEvent, DocIssue, Endpoints, FaultRule, Flavour, World }

export interface StartAzidOptions {
  /** `memory` (default: nothing touches the disk but the temporary directory) or `sqlite` (a file in it). */
  store?: 'memory' | 'sqlite'
  /** A world to apply once started (the format of `azid apply`). */
  world?: World
  /** Any other azid setting (the shape of `azid start --config`), e.g. `{ tokens: { accessTokenLifetime: '5m' } }`. */
  config?: ConfigInput
  /** Use this data directory instead of a temporary one (it is then kept at stop). */
  dataDir?: string
  /** azid's own log on stderr: 'silent' (default) … 'debug'. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent'
}

/** A fault rule as `azid fault add` takes it. */
export interface FaultInput {
  effect: 404 | 410 | 429 | 500 | 503 | `delay:${number}` | 'timeout' | 'reset' | 'malformed' | number | string
  match?: { host?: string; flavour?: Flavour; path?: string; identity?: string }
  count?: number
  probability?: number
  retryAfter?: number
  forMs?: number
  description?: string
}

/** What a managed-identity endpoint answers (the token a process on the host gets). */
export interface ManagedIdentityToken {
  access_token: string
  expires_on: string | number
  resource: string
  token_type: string
  client_id?: string
  [k: string]: unknown
}

/** `apply` refused the world; nothing was changed. */
export class AzidConfigError extends Error {
  override name = 'AzidConfigError'
  readonly issues: DocIssue[]
  constructor(message: string, issues: DocIssue[]) {
    super(message)
    this.issues = issues
  }
}

export interface Azid {
  /** URLs and ids: `authorityHost` (AZURE_AUTHORITY_HOST), `tenantId`, `managementUrl`, `caCertPath`, bootstrap credentials. */
  readonly endpoints: Endpoints
  /** `https://127.0.0.1:<port>`: token service, ARM, Graph and the admin API. */
  readonly url: string
  readonly dataDir: string
  /** The CA azid's TLS certificate chains to (give it to clients: `NODE_EXTRA_CA_CERTS`, `ca:` options). */
  readonly caCertPath: string
  /**
   * Environment variables that make a process act as `host` (a name or resource id): the managed-identity endpoint
   * of its kind (IMDS for VMs, App Service for web apps …, or `flavour`), plus AZURE_AUTHORITY_HOST, AZURE_TENANT_ID
   * and NODE_EXTRA_CA_CERTS/SSL_CERT_FILE/REQUESTS_CA_BUNDLE for child processes.
   */
  env(host: string, flavour?: Flavour): Promise<Record<string, string>>
  /** Applies a world (idempotent; one transaction). Throws AzidConfigError naming the offending path. */
  apply(world: World, opts?: { dryRun?: boolean }): Promise<ApplyResult>
  /** The current world in the same format. */
  export(): Promise<World>
  /** Back to the bootstrap state (everything apply or the clients made is gone). */
  reset(): Promise<void>
  faults: {
    add(rule: FaultInput): Promise<FaultRule>
    list(): Promise<FaultRule[]>
    clear(): Promise<number>
  }
  /** Sign-in and activity log, newest first (token issued/refused, authorization decisions, faults, changes). */
  logs(filter?: AuditQuery): Promise<AuditEvent[]>
  /** A token from `host`'s managed-identity endpoint for `resource`, as a process on the host gets it. */
  token(
    host: string,
    resource: string,
    opts?: { clientId?: string; objectId?: string; miResId?: string },
  ): Promise<ManagedIdentityToken>
  /** The server itself (composition root), for what the API above does not cover. */
  readonly server: AzidServer
  stop(): Promise<void>
}

/** Starts azid in this process on free loopback ports. Call `stop()` when done (the ports keep the process alive). */
export async function startAzid(opts: StartAzidOptions = {}): Promise<Azid> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'azid-'))
  const user = opts.config ?? {}
  let server: AzidServer
  try {
    // Every listener on a free port: each `listen.*Port` azid has (HTTPS, managed identity, data planes…) set to 0.
    const freePorts = Object.fromEntries(
      Object.keys(loadConfig({}).listen)
        .filter((k) => k.endsWith('Port'))
        .map((k) => [k, 0]),
    )
    const config = loadConfig({
      file: {
        ...user,
        dataDir,
        store: { dsn: opts.store ?? 'memory', ...user.store },
        listen: { ...freePorts, ...user.listen },
        log: { level: opts.logLevel ?? 'silent', ...user.log },
        tokens: { signingThreads: 0, ...user.tokens },
      },
    })
    server = await createServer(config, { logger: createLogger({ level: opts.logLevel ?? 'silent' }) })
  } catch (e) {
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
    throw e
  }
  const e = server.endpoints
  const target: Target = { base: e.authorityHost, adminKey: server.adminKey, ca: readFileSync(e.caCertPath, 'utf8') }
  const bundle = join(dataDir, 'pki', 'bundle.pem')

  async function hostEndpoint(host: string, flavour?: Flavour) {
    return adminRequest<{ host: { name: string }; flavour: string; env: Record<string, string> }>(
      target,
      'POST',
      '/_azid/hosts/endpoint',
      { host, mode: 'loopback', ...(flavour ? { flavour } : {}) },
    )
  }

  const azid: Azid = {
    endpoints: e,
    url: e.authorityHost,
    dataDir,
    caCertPath: e.caCertPath,
    server,
    async env(host, flavour) {
      const r = await hostEndpoint(host, flavour)
      return {
        NODE_EXTRA_CA_CERTS: e.caCertPath,
        SSL_CERT_FILE: bundle,
        REQUESTS_CA_BUNDLE: bundle,
        AZURE_AUTHORITY_HOST: e.authorityHost,
        AZURE_TENANT_ID: e.tenantId,
        ...r.env,
      }
    },
    async apply(world, o = {}) {
      try {
        return await adminRequest<ApplyResult>(target, 'POST', `/_azid/apply${o.dryRun ? '?dryRun=true' : ''}`, world)
      } catch (err) {
        const body =
          err instanceof AdminError ? (err.body as { error?: { message?: string; details?: DocIssue[] } }) : undefined
        if (body?.error?.details) throw new AzidConfigError(body.error.message ?? 'invalid world', body.error.details)
        throw err
      }
    },
    export: () => adminRequest<World>(target, 'GET', '/_azid/export'),
    async reset() {
      await adminRequest(target, 'POST', '/_azid/reset')
    },
    faults: {
      add: (rule) => server.faults.add(parseFaultInput(rule)),
      list: () => server.faults.list(),
      clear: () => server.faults.clear(),
    },
    async logs(filter = {}) {
      await server.audit.flush()
      return server.audit.query({ limit: 1000, ...filter })
    },
    async token(host, resource, o = {}) {
      const r = await hostEndpoint(host)
      const sel: Record<string, string> = {}
      if (o.clientId) sel.client_id = o.clientId
      if (o.objectId) sel.object_id = o.objectId
      if (o.miResId) sel.mi_res_id = o.miResId
      let url: string
      const headers: Record<string, string> = {}
      if (r.env.AZURE_POD_IDENTITY_AUTHORITY_HOST) {
        url = `${r.env.AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token?${new URLSearchParams({ 'api-version': '2018-02-01', resource, ...sel })}`
        headers.Metadata = 'true'
      } else if (r.env.IDENTITY_ENDPOINT && r.env.IDENTITY_HEADER && r.flavour === 'app-service') {
        url = `${r.env.IDENTITY_ENDPOINT}?${new URLSearchParams({ 'api-version': '2019-08-01', resource, ...sel })}`
        headers['X-IDENTITY-HEADER'] = r.env.IDENTITY_HEADER
      } else throw new Error(`token(): ${r.host.name} uses the ${r.flavour} endpoint; use env() with a real client`)
      const res = await httpsRequest(target, 'GET', url, { headers })
      const body = JSON.parse(res.text) as ManagedIdentityToken & { error_description?: string; error?: string }
      if (res.status >= 400)
        throw new Error(
          `managed-identity endpoint of ${r.host.name}: ${res.status} ${body.error_description ?? body.error ?? res.text}`,
        )
      return body
    },
    async stop() {
      await server.close({ graceMs: 1000 })
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
  if (opts.world) {
    try {
      await azid.apply(opts.world)
    } catch (err) {
      await azid.stop()
      throw err
    }
  }
  return azid
}
