import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { AuditLog } from '../audit/index.ts'
import type { Faults, FaultRule, Flavour } from '../faults/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { isDomainError } from '../kernel/errors.ts'
import type { FastAnswer } from '../kernel/fast-http.ts'
import { type Ids, opaqueToken } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { MiError } from './errors.ts'
import { IDENTITY_VERSIONS, IMDS_VERSIONS, instanceDocument, selectPath } from './instance.ts'
import type { Host } from './ports.ts'
import {
  IMDS_HEADERS,
  appService2017Body,
  appServiceBody,
  appServiceError,
  azureMlBody,
  imdsBody,
  imdsError,
  imdsWire,
  send,
  serviceFabricBody,
  serviceFabricError,
} from './render.ts'
import type { HostSecrets } from './secrets.ts'
import { type Selector, readSelector } from './selection.ts'
import type { MiService, MiToken } from './service.ts'
import type { Throttle } from './throttle.ts'

export interface MiHttpDeps {
  mi: MiService
  faults: Faults
  throttle: Throttle
  audit: AuditLog
  secrets: HostSecrets
  clock: Clock
  ids: Ids
  logger: Logger
  /** Origin of the token service (only v2 tokens carry it). */
  stsOrigin: () => string
  /** Where Azure Arc challenge files are written; clients accept only /var/opt/azcmagent/tokens. */
  arcTokenDir: string
  /** The legacy extension answers at most this many user-assigned identities (EXT-007). */
  extensionMaxIdentities?: number
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void
/** What the IMDS checks read of a request: node:http's or the fast lane's. */
type HeadOf = { method?: string; headers: Record<string, string | string[] | undefined> }

const MAX_FORM = 64 * 1024
const ARC_TYPE = 'microsoft.hybridcompute/machines'

function normalizePath(url: string): { path: string; params: URLSearchParams } {
  const q = url.indexOf('?')
  let path = (q < 0 ? url : url.slice(0, q)).replace(/\/{2,}/g, '/')
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  return { path, params: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) }
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_FORM) {
        rej(new MiError('MissingResource', {}, 'form too large'))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => res(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))))
    req.on('error', rej)
  })
}

/** Query parameters must not repeat (IMDS refuses duplicate names). */
function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name)
  if (all.length > 1) throw new MiError('DuplicateParameter', { name }, `${name} repeated`)
  return all[0]
}

const timestamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`

/**
 * The managed-identity endpoints over raw `node:http` (the IMDS path is hot: no framework between the socket and the
 * token cache). A per-host listener serves IMDS, instance metadata, Azure Arc, Cloud Shell and the legacy extension
 * for the host it belongs to; the shared listener serves the flavours that identify their host by a secret header.
 */
export function createMiHttp(deps: MiHttpDeps) {
  const { mi, clock } = deps
  const extensionMax = deps.extensionMaxIdentities ?? 32
  const arcChallenges = new Map<string, { hostId: string; path: string; expiresAt: number }>()

  function audit(q: { host: Host | null; flavour: Flavour; err: unknown; requestId: string; identities: string[] }) {
    deps.audit.record({
      kind: 'token',
      result: 'failure',
      tenantId: q.host?.tenantId ?? null,
      host: q.host?.id ?? null,
      grantType: `managed_identity:${q.flavour}`,
      requestId: q.requestId,
      errorCode: isDomainError(q.err) ? q.err.code : 'Internal',
      reason: isDomainError(q.err) ? (q.err.detail ?? q.err.code) : 'internal error',
      details: q.identities.length > 0 ? { selector: q.identities } : null,
    })
  }

  /** Applies a fault rule; returns true when the response was taken over. */
  async function applyFault(
    rule: FaultRule | undefined,
    res: ServerResponse,
    shape: (status: number) => { status: number; body: string; headers?: Record<string, string> },
  ): Promise<boolean> {
    if (!rule) return false
    const e = rule.effect
    switch (e.kind) {
      case 'delay':
        await new Promise((r) => setTimeout(r, e.ms))
        return false
      case 'timeout':
        // Hold the connection and never answer (until the client gives up or azid stops).
        res.socket?.setTimeout(0)
        return true
      case 'reset':
        if (res.socket && typeof (res.socket as { resetAndDestroy?: () => void }).resetAndDestroy === 'function')
          (res.socket as unknown as { resetAndDestroy: () => void }).resetAndDestroy()
        else res.socket?.destroy()
        return true
      case 'malformed':
        send(res, 200, '{"access_token":"eyJ0eXAiOiJKV1Qi', IMDS_HEADERS)
        return true
      case 'status': {
        const out = shape(e.status)
        send(res, out.status, out.body, {
          ...IMDS_HEADERS,
          ...out.headers,
          ...(e.retryAfter !== undefined ? { 'Retry-After': String(e.retryAfter) } : {}),
        })
        return true
      }
    }
  }

  const faultImds = (status: number) => ({
    status,
    body: JSON.stringify(
      status === 404 || status === 410
        ? { error: 'not_found', error_description: 'IMDS endpoint is updating' }
        : status === 429
          ? { error: 'invalid_request', error_description: 'Temporarily throttled, too many requests' }
          : {
              error: 'unknown',
              error_description:
                'Failed to retrieve token from the Active directory. For details see logs in the azid log',
            },
    ),
  })

  async function token(q: {
    host: Host
    selector: Selector
    resource: string
    flavour: Flavour
    requestId: string
  }): Promise<MiToken> {
    return mi.acquire({
      host: q.host,
      selector: q.selector,
      resource: q.resource,
      flavour: q.flavour,
      requestId: q.requestId,
      origin: deps.stsOrigin(),
    })
  }

  async function loadHost(id: string): Promise<Host> {
    const host = await mi.host(id)
    if (!host) throw new MiError('NoIdentity', {}, `host ${id} no longer exists`)
    return host
  }

  // -- IMDS identity endpoint (IMDS-001..014)
  /** The checks of an IMDS token request before fault rules apply, in IMDS's order; throws the MiError to answer. */
  function imdsSelector(req: HeadOf, params: URLSearchParams): Selector {
    if (req.headers['x-forwarded-for'] !== undefined) throw new MiError('ForwardedRequest')
    if (req.method !== 'GET') throw new MiError('MethodNotAllowed')
    // The value must be exactly "true", lower case (IMDS-005; SCN-04 e).
    if (req.headers.metadata !== 'true') throw new MiError('MissingMetadataHeader')
    const version = single(params, 'api-version')
    if (version === undefined || version === '') throw new MiError('MissingApiVersion')
    if (!(IDENTITY_VERSIONS as readonly string[]).includes(version)) throw new MiError('InvalidApiVersion', { version })
    return readSelector(params, {
      clientId: ['client_id'],
      objectId: ['object_id'],
      resourceId: ['msi_res_id', 'mi_res_id'],
    })
  }

  /**
   * The common case answered without a single await: host and token cached, no fault rules, nothing to refuse.
   * Returns the 200 body, or null (having counted nothing) whenever anything else applies; `imdsToken` then does the
   * whole work.
   */
  function imdsBodyFromCache(hostId: string, req: HeadOf, params: URLSearchParams): string | null {
    const host = mi.cachedHost(hostId)
    if (!host || host.type.toLowerCase() === ARC_TYPE || !deps.faults.noRules()) return null
    let t: MiToken | undefined
    try {
      const selector = imdsSelector(req, params)
      const resource = single(params, 'resource')
      if (!resource) return null
      t = mi.cachedToken({ host, selector, resource })
    } catch {
      return null
    }
    if (!t) return null
    // Counted once: a refused enter takes nothing from the bucket, and the full path then answers the 429.
    const release = deps.throttle.enter(host.id, 'identity')
    if (!release) return null
    const body = imdsBody(t, clock.now())
    release()
    return body
  }

  async function imdsToken(
    host: Host,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    params: URLSearchParams,
    requestId: string,
  ): Promise<void> {
    const flavour: Flavour = 'imds'
    let identities: string[] = []
    const release = deps.throttle.enter(host.id, 'identity')
    if (!release) {
      const err = new MiError('Throttled')
      audit({ host, flavour, err, requestId, identities })
      const { status, body } = imdsError(err, { traceId: requestId, timestamp: timestamp(clock.now()) })
      send(res, status, body)
      return
    }
    try {
      const selector = imdsSelector(req, params)
      identities = Object.values(selector)
      const rule = await deps.faults.pick({ host: host.id, hostName: host.name, flavour, path, identities })
      if (await applyFault(rule, res, faultImds)) return
      const resource = single(params, 'resource')
      if (!resource) throw new MiError('MissingResource')
      const t = await token({ host, selector, resource, flavour, requestId })
      send(res, 200, imdsBody(t, clock.now()))
    } catch (err) {
      fail(err, res, { host, flavour, requestId, identities })
    } finally {
      release()
    }
  }

  function fail(
    err: unknown,
    res: ServerResponse,
    q: { host: Host | null; flavour: Flavour; requestId: string; identities: string[] },
  ) {
    const e = err instanceof MiError ? err : new MiError('Internal', {}, String(err))
    if (!(err instanceof MiError))
      deps.logger.error('managed-identity endpoint failed', { err, requestId: q.requestId })
    audit({ ...q, err: e })
    const { status, body } = imdsError(e, { traceId: q.requestId, timestamp: timestamp(clock.now()) })
    send(res, status, body)
  }

  // -- IMDS instance metadata (mi-endpoints §2)
  async function imdsInstance(
    host: Host,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    params: URLSearchParams,
  ): Promise<void> {
    const badVersion = () =>
      send(
        res,
        400,
        JSON.stringify({
          error:
            'Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds',
          'newest-versions': [...IMDS_VERSIONS].reverse().slice(0, 3),
        }),
      )
    if (path === '/metadata/versions') {
      send(res, 200, JSON.stringify({ apiVersions: IMDS_VERSIONS }))
      return
    }
    const release = deps.throttle.enter(host.id, 'other')
    if (!release) {
      send(res, 429, JSON.stringify({ error: 'Too many requests' }))
      return
    }
    try {
      if (req.headers['x-forwarded-for'] !== undefined) {
        send(res, 400, JSON.stringify({ error: 'Bad request: . Requests with X-Forwarded-For are not accepted' }))
        return
      }
      if (req.method !== 'GET') {
        send(res, 405, JSON.stringify({ error: 'Method not allowed' }))
        return
      }
      if (req.headers.metadata !== 'true') {
        send(res, 400, JSON.stringify({ error: 'Bad request: . Required metadata header not specified' }))
        return
      }
      const version = params.get('api-version')
      if (!version || !(IMDS_VERSIONS as readonly string[]).includes(version)) return badVersion()
      const rule = await deps.faults.pick({
        host: host.id,
        hostName: host.name,
        flavour: 'instance-metadata',
        path,
        identities: [],
      })
      if (
        await applyFault(rule, res, (s) => ({
          status: s,
          body: JSON.stringify({ error: s === 429 ? 'Too many requests' : 'Service unavailable' }),
        }))
      )
        return
      const segs = path.split('/').filter(Boolean).slice(2)
      const { found, value } = selectPath(instanceDocument(host), segs)
      if (!found) {
        send(res, 404, JSON.stringify({ error: 'Not found' }))
        return
      }
      const leaf = value === null || typeof value !== 'object'
      if (params.get('format') === 'text') {
        if (!leaf && !Array.isArray(value)) {
          send(res, 400, JSON.stringify({ error: 'Bad request. format=text is allowed only for leaf values' }))
          return
        }
        send(res, 200, Array.isArray(value) ? JSON.stringify(value) : String(value), {
          'Content-Type': 'text/plain; charset=utf-8',
          Server: IMDS_HEADERS.Server,
        })
        return
      }
      if (leaf) {
        send(res, 400, JSON.stringify({ error: 'Bad request. Leaf values need format=text' }))
        return
      }
      send(res, 200, JSON.stringify(value))
    } finally {
      release()
    }
  }

  // -- Azure Arc (mi-endpoints §4): a challenge file proves the caller can read the agent's token directory.
  async function arc(
    host: Host,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    params: URLSearchParams,
    requestId: string,
  ): Promise<void> {
    const flavour: Flavour = 'arc'
    const identities: string[] = []
    try {
      if (req.method !== 'GET') throw new MiError('MethodNotAllowed')
      if (req.headers.metadata !== 'true') throw new MiError('MissingMetadataHeader')
      const version = params.get('api-version')
      if (!version || !['2019-08-15', '2019-11-01', '2020-06-01', '2021-02-01'].includes(version))
        throw new MiError(version ? 'InvalidApiVersion' : 'MissingApiVersion', { version: version ?? '' })
      const auth = req.headers.authorization
      const given = auth?.startsWith('Basic ') ? auth.slice(6) : null
      const challenge = given ? arcChallenges.get(given) : undefined
      if (!challenge || challenge.hostId !== host.id.toLowerCase() || challenge.expiresAt < clock.now()) {
        if (challenge) {
          // A refused key is used up: its file goes too (it would otherwise stay in the agent's directory).
          arcChallenges.delete(given as string)
          rmSync(challenge.path, { force: true })
        }
        const key = opaqueToken(deps.ids, 32)
        const file = join(deps.arcTokenDir, `${deps.ids.uuid()}.key`)
        try {
          mkdirSync(deps.arcTokenDir, { recursive: true, mode: 0o750 })
          // No trailing newline: clients send the file verbatim in a header.
          writeFileSync(file, key, { mode: 0o600 })
        } catch (e) {
          throw new MiError(
            'Internal',
            {},
            `cannot write Arc challenge file in ${deps.arcTokenDir} (set mi.arcTokenDir): ${String(e)}`,
          )
        }
        arcChallenges.set(key, { hostId: host.id.toLowerCase(), path: file, expiresAt: clock.now() + 60_000 })
        const timer = setTimeout(() => {
          arcChallenges.delete(key)
          rmSync(file, { force: true })
        }, 60_000)
        timer.unref()
        send(
          res,
          401,
          JSON.stringify({
            error: 'unauthorized_client',
            error_description:
              'Authorization header is missing or invalid; read the key file named in WWW-Authenticate',
          }),
          {
            ...IMDS_HEADERS,
            'WWW-Authenticate': `Basic realm=${file}`,
          },
        )
        return
      }
      arcChallenges.delete(given as string)
      rmSync(challenge.path, { force: true })
      const selector = readSelector(params, {
        clientId: ['client_id'],
        objectId: ['object_id'],
        resourceId: ['msi_res_id', 'mi_res_id'],
      })
      const rule = await deps.faults.pick({
        host: host.id,
        hostName: host.name,
        flavour,
        path,
        identities: Object.values(selector),
      })
      if (await applyFault(rule, res, faultImds)) return
      const resource = params.get('resource')
      if (!resource) throw new MiError('MissingResource')
      const t = await token({ host, selector, resource, flavour, requestId })
      // msal-node checks that the user-assigned selector is echoed (userAssignedManagedIdentityNotConfirmed).
      const echo: Record<string, string> = {}
      if (selector.objectId) echo.object_id = selector.objectId
      if (selector.resourceId) echo.msi_res_id = selector.resourceId
      send(res, 200, imdsBody(t, clock.now(), echo))
    } catch (err) {
      fail(err, res, { host, flavour, requestId, identities })
    }
  }

  // -- Cloud Shell (§7) and the legacy VM extension (§8, EXT-001..007) share `/oauth2/token`.
  async function oauth2(
    host: Host,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
    requestId: string,
  ): Promise<void> {
    const isPost = req.method === 'POST'
    const flavour: Flavour = isPost && host.extensionPort === null ? 'cloud-shell' : 'vm-extension'
    try {
      const params = isPost ? await readForm(req) : query
      if (req.headers.metadata !== 'true') throw new MiError('MissingMetadataHeader')
      if (flavour === 'vm-extension' && host.extensionPort === null)
        throw new MiError('Unauthorized', {}, 'the host has no managed-identity VM extension')
      const selector = readSelector(params, { clientId: ['client_id'], objectId: ['object_id'], resourceId: [] })
      const rule = await deps.faults.pick({
        host: host.id,
        hostName: host.name,
        flavour,
        path,
        identities: Object.values(selector),
      })
      if (await applyFault(rule, res, faultImds)) return
      const resource = params.get('resource')
      if (!resource) throw new MiError('MissingResource')
      let scoped = host
      if (flavour === 'vm-extension' && host.identity && host.identity.user.length > extensionMax)
        scoped = { ...host, identity: { ...host.identity, user: host.identity.user.slice(0, extensionMax) } }
      const t = await token({ host: scoped, selector, resource, flavour, requestId })
      send(res, 200, imdsBody(t, clock.now()))
    } catch (err) {
      fail(err, res, { host, flavour, requestId, identities: [] })
    }
  }

  /** The handler of a per-host listener or namespace socket: every request belongs to `hostId`. */
  function hostHandler(hostId: string): Handler {
    return (req, res) => {
      const { path, params } = normalizePath(req.url ?? '/')
      if (path === '/metadata/identity/oauth2/token') {
        const body = imdsBodyFromCache(hostId, req as HeadOf, params)
        if (body !== null) {
          send(res, 200, body)
          return
        }
      }
      const requestId = deps.ids.uuid()
      void (async () => {
        let host: Host
        try {
          host = await loadHost(hostId)
        } catch (err) {
          fail(err, res, { host: null, flavour: 'imds', requestId, identities: [] })
          return
        }
        if (path === '/metadata/identity/oauth2/token') {
          if (host.type.toLowerCase() === ARC_TYPE) return arc(host, req, res, path, params, requestId)
          return imdsToken(host, req, res, path, params, requestId)
        }
        if (path === '/metadata/versions' || path === '/metadata/instance' || path.startsWith('/metadata/instance/'))
          return imdsInstance(host, req, res, path, params)
        if (path === '/oauth2/token') return oauth2(host, req, res, path, params, requestId)
        send(res, 404, JSON.stringify({ error: 'Not found' }))
      })().catch((err) => {
        deps.logger.error('managed-identity handler crashed', { err })
        send(res, 500, JSON.stringify({ error: 'unknown', error_description: 'internal error' }))
      })
    }
  }

  // -- Flavours attributed by a per-host secret header (shared listener).
  type SecretFlavour = 'app-service' | 'app-service-2017' | 'azure-ml' | 'service-fabric'

  async function secretFlavour(
    flavour: SecretFlavour,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    params: URLSearchParams,
    requestId: string,
  ): Promise<void> {
    const correlationId = requestId
    let host: Host | null = null
    const shapeError = (err: MiError) => {
      if (flavour === 'service-fabric') return serviceFabricError(err, correlationId)
      if (flavour === 'azure-ml' && err.code === 'Unauthorized')
        return { status: 401, body: 'Invalid secret token header: .', text: true }
      return appServiceError(err, correlationId)
    }
    try {
      if (req.method !== 'GET') throw new MiError('MethodNotAllowed')
      const secretHeader = flavour === 'app-service' ? req.headers['x-identity-header'] : req.headers.secret
      const secret = typeof secretHeader === 'string' ? secretHeader : ''
      const bound = secret
        ? deps.secrets.verify(secret, flavour === 'app-service-2017' ? 'app-service' : flavour)
        : null
      if (!bound) throw new MiError('Unauthorized', {}, 'missing or invalid per-host secret')
      const h = await mi.host(bound.hostId)
      if (!h || h.createdAt !== bound.createdAt)
        throw new MiError('Unauthorized', {}, 'the secret belongs to a deleted host')
      host = h
      const version = params.get('api-version') ?? ''
      const expected =
        flavour === 'app-service' ? '2019-08-01' : flavour === 'service-fabric' ? '2019-07-01-preview' : '2017-09-01'
      if (version === '') throw new MiError('MissingApiVersion', { version })
      if (version !== expected) throw new MiError('InvalidApiVersion', { version })
      const selector =
        flavour === 'app-service'
          ? readSelector(params, {
              clientId: ['client_id'],
              objectId: ['object_id', 'principal_id'],
              resourceId: ['mi_res_id'],
            })
          : flavour === 'service-fabric'
            ? ({} as Selector)
            : readSelector(params, { clientId: ['clientid', 'client_id'], objectId: [], resourceId: [] })
      const rule = await deps.faults.pick({
        host: host.id,
        hostName: host.name,
        flavour,
        path,
        identities: Object.values(selector),
      })
      if (
        await applyFault(rule, res, (s) => ({
          ...appServiceError(new MiError(s === 429 ? 'Throttled' : 'Internal'), correlationId),
          status: s,
        }))
      )
        return
      const resource = params.get('resource')
      if (!resource) throw new MiError('MissingResource')
      const t = await token({ host, selector, resource, flavour, requestId })
      const body =
        flavour === 'app-service'
          ? appServiceBody(t)
          : flavour === 'app-service-2017'
            ? appService2017Body(t)
            : flavour === 'azure-ml'
              ? azureMlBody(t)
              : serviceFabricBody(t)
      send(res, 200, body, { 'Content-Type': 'application/json; charset=utf-8' })
    } catch (err) {
      const e = err instanceof MiError ? err : new MiError('Internal', {}, String(err))
      if (!(err instanceof MiError)) deps.logger.error('managed-identity endpoint failed', { err, requestId })
      audit({ host, flavour, err: e, requestId, identities: [] })
      const out = shapeError(e) as { status: number; body: string; text?: boolean }
      send(res, out.status, out.body, {
        'Content-Type': out.text ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
        'X-CORRELATION-ID': correlationId,
      })
    }
  }

  /** The shared listener: App Service (2019 and 2017), Azure ML and Service Fabric, told apart by path and header. */
  const sharedHandler: Handler = (req, res) => {
    const requestId = deps.ids.uuid()
    const { path, params } = normalizePath(req.url ?? '/')
    let flavour: SecretFlavour | null = null
    if (path === '/msi/token')
      flavour = req.headers['x-identity-header'] !== undefined ? 'app-service' : 'app-service-2017'
    else if (path === '/ml/msi/token') flavour = 'azure-ml'
    else if (path === '/servicefabric/msi/token') flavour = 'service-fabric'
    if (!flavour) {
      send(res, 404, JSON.stringify({ statusCode: 404, message: 'Not found', correlationId: requestId }), {
        'Content-Type': 'application/json; charset=utf-8',
      })
      return
    }
    void secretFlavour(flavour, req, res, path, params, requestId)
  }

  /**
   * The fast lane of a per-host listener (kernel/fast-http.ts): a cached IMDS token answered straight onto the
   * socket, with the same bytes node:http would send; anything else (null) goes to `hostHandler` through node:http.
   */
  function hostFastAnswer(hostId: string): FastAnswer {
    return (req) => {
      if (req.method !== 'GET') return null
      const { path, params } = normalizePath(req.target)
      if (path !== '/metadata/identity/oauth2/token') return null
      // The host and fault-rule caches lapse every few seconds: refill them and be asked again, rather than give the
      // connection away to node:http for good.
      const rules = deps.faults.refreshIfStale()
      if (rules || mi.cachedHost(hostId) === null) return Promise.all([rules, mi.host(hostId)])
      const body = imdsBodyFromCache(hostId, req, params)
      return body === null ? null : imdsWire(body)
    }
  }

  return { hostHandler, hostFastAnswer, sharedHandler }
}
