import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Context, Hono } from 'hono'
import type { DirectoryService } from '../directory/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { isDomainError } from '../kernel/errors.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { FastDeferred, type FastRequest, fastHead, statusLine } from '../kernel/fast-http.ts'
import { type RequestMeta, requestMeta, requestOrigin } from '../kernel/request-meta.ts'
import type { KeyService } from '../keys/index.ts'
import { readBodyLimited, readIncomingLimited } from '../kernel/body.ts'
import { instanceDiscovery, jwksDocument, openidConfiguration } from './discovery.ts'
import { STS_ERRORS, StsError, type StsErrorKey } from './errors.ts'
import { type Params, parseFormStrict, queryParams } from './form.ts'
import { deviceCodePage, deviceSignInPage, formPostPage, messagePage, signInPage } from './pages.ts'
import { renderStsError, tokenJson } from './render.ts'
import type { AuthorizeRequest, StsService } from './service.ts'
import { workloadDiscovery, workloadIssuer } from './workload.ts'

type Env = { Variables: { requestId: string; correlationId: string; origin: string; host: string | null } }

export interface StsAppDeps {
  sts: StsService
  keys: KeyService
  directory: DirectoryService
  clock: Clock
  ids: Ids
  logger: Logger
  maxBodyBytes: number
  /** Host:port used when a request carries no usable Host header. */
  fallbackHost: string
}

const NO_STORE = { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' }
const DISCOVERY_CACHE = { 'Cache-Control': 'max-age=86400, private', 'Access-Control-Allow-Origin': '*' }

/** v1 bodies carry every number as a string; v2 bodies numbers (docs/wire/sts-errors.md §13). */
function parseBasic(header: string | undefined): { clientId: string; secret: string } | null {
  if (!header?.toLowerCase().startsWith('basic ')) return null
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i < 0) return null
  return { clientId: decoded.slice(0, i), secret: decoded.slice(i + 1) }
}

export function createStsApp(deps: StsAppDeps): Hono<Env> {
  const app = new Hono<Env>()

  app.use('*', async (c, next) => {
    const meta = requestMeta(c.env, c.req.url)
    const requestId = deps.ids.uuid()
    const clientRequestId = c.req.header('client-request-id') ?? c.req.query('client-request-id')
    c.set('requestId', requestId)
    c.set(
      'correlationId',
      clientRequestId && /^[0-9a-f-]{36}$/i.test(clientRequestId) ? clientRequestId : deps.ids.uuid(),
    )
    c.set('origin', requestOrigin(meta, c.req.header('host'), deps.fallbackHost))
    c.set('host', meta.host)
    // Set before the handler answers: a header added to a finished answer makes Hono rebuild it as a Web Response.
    c.header('x-ms-request-id', requestId)
    if (clientRequestId) c.header('client-request-id', clientRequestId)
    c.header('x-ms-ests-server', 'azid')
    await next()
  })

  const fail = (c: Context<Env>, err: unknown, extraHeaders: Record<string, string> = NO_STORE) => {
    let e = err
    if (!isDomainError(e) || !(e.code in STS_ERRORS)) {
      deps.logger.error('token service error', { err, requestId: c.get('requestId') })
      e = new StsError('serverError')
    }
    const { status, body } = renderStsError(e as StsError, {
      traceId: c.get('requestId'),
      correlationId: c.get('correlationId'),
      nowMs: deps.clock.now(),
      origin: c.get('origin'),
    })
    return c.json(body, status as 400, extraHeaders)
  }

  app.onError((err, c) => fail(c, err))

  async function readForm(c: Context<Env>): Promise<Params> {
    const body = await readBodyLimited(c.req.raw, deps.maxBodyBytes, c.env)
    if (body === null) throw new StsError('bodyTooLarge')
    const type = (c.req.header('content-type') ?? '').toLowerCase()
    // Entra reads only form bodies; anything else counts as an empty form (§11).
    if (!type.startsWith('application/x-www-form-urlencoded')) return new Map()
    return parseFormStrict(body.toString('utf8'))
  }

  const refuse = (c: Context<Env>, version: 1 | 2, err: unknown) =>
    deps.sts.refuseToken({ version, requestId: c.get('requestId'), host: c.get('host'), err })
  const postOnly = (version: 1 | 2) => (c: Context<Env>) => {
    const err = new StsError('methodNotAllowed', { method: c.req.method })
    refuse(c, version, err)
    return fail(c, err)
  }
  // POST to the token endpoints is served by createStsTokenRoute (below), on node:http directly.
  app.on(['GET', 'PUT', 'DELETE', 'PATCH'], '/:tenant/oauth2/v2.0/token', postOnly(2))
  app.on(['GET', 'PUT', 'DELETE', 'PATCH'], '/:tenant/oauth2/token', postOnly(1))

  const devicecode = (version: 1 | 2) => async (c: Context<Env>) => {
    const params = await readForm(c)
    const r = await deps.sts.startDeviceCode({
      version,
      tenantSegment: c.req.param('tenant') as string,
      params,
      origin: c.get('origin'),
      requestId: c.get('requestId'),
    })
    const body =
      version === 2
        ? {
            user_code: r.userCode,
            device_code: r.deviceCode,
            verification_uri: r.verificationUri,
            expires_in: r.expiresIn,
            interval: r.interval,
            message: r.message,
          }
        : {
            user_code: r.userCode,
            device_code: r.deviceCode,
            verification_url: r.verificationUri,
            expires_in: String(r.expiresIn),
            interval: String(r.interval),
            message: r.message,
          }
    return c.json(body, 200, NO_STORE)
  }
  app.post('/:tenant/oauth2/v2.0/devicecode', devicecode(2))
  app.post('/:tenant/oauth2/devicecode', devicecode(1))

  // -- discovery
  app.get('/common/discovery/instance', (c) => {
    const q = queryParams(new URL(c.req.url).searchParams)
    return c.json(
      instanceDiscovery({
        authorizationEndpoint: q.get('authorization_endpoint') ?? null,
        apiVersion: q.get('api-version') ?? '1.1',
        origin: c.get('origin'),
      }),
      200,
      DISCOVERY_CACHE,
    )
  })
  const openid = (version: 1 | 2) => async (c: Context<Env>) => {
    let tenant: Awaited<ReturnType<StsService['resolveTenant']>>
    try {
      tenant = await deps.sts.resolveTenant(deps.directory.store, c.req.param('tenant') as string)
    } catch (e) {
      if (e instanceof StsError && e.code === 'tenantNotFound')
        return fail(c, new StsError('tenantNotFoundDiscovery', e.args as Record<string, string>), DISCOVERY_CACHE)
      throw e
    }
    return c.json(openidConfiguration({ version, tenant, origin: c.get('origin') }), 200, DISCOVERY_CACHE)
  }
  app.get('/:tenant/v2.0/.well-known/openid-configuration', openid(2))
  app.get('/:tenant/.well-known/openid-configuration', openid(1))

  const keys = (version: 1 | 2) => async (c: Context<Env>) => {
    const seg = c.req.param('tenant') as string
    let tenantId: string | null = null
    if (seg !== 'common' && seg !== 'organizations' && seg !== 'consumers') {
      const ref = await deps.sts.resolveTenant(deps.directory.store, seg)
      if (ref.kind === 'tenant') tenantId = ref.tenant.id
    }
    return c.json(jwksDocument(await deps.keys.jwks(), { version, origin: c.get('origin'), tenantId }), 200, {
      'Cache-Control': 'max-age=86400, private',
      'Access-Control-Allow-Origin': '*',
    })
  }
  app.get('/:tenant/discovery/keys', keys(1))
  app.get('/:tenant/discovery/v2.0/keys', keys(2))

  // -- azid's OIDC issuer for workload identity (federated tokens it mints for workloads)
  app.get('/oidc/:tid/.well-known/openid-configuration', (c) =>
    c.json(workloadDiscovery(workloadIssuer(c.get('origin'), c.req.param('tid').toLowerCase())), 200, DISCOVERY_CACHE),
  )
  app.get('/oidc/:tid/keys', async (c) => c.json({ keys: await deps.keys.jwks() }, 200, DISCOVERY_CACHE))

  // -- /authorize (authorization code with PKCE) and its sign-in page
  const authorizeRequest = (version: 1 | 2, tenantSegment: string, p: Params): AuthorizeRequest => {
    const mode = p.get('response_mode')
    return {
      version,
      tenantSegment,
      clientId: p.get('client_id') ?? '',
      redirectUri: p.get('redirect_uri') ?? '',
      responseType: p.get('response_type') ?? '',
      request:
        version === 2
          ? { version: 2, scope: p.get('scope') ?? 'openid profile' }
          : { version: 1, resource: p.get('resource') ?? 'https://graph.microsoft.com' },
      state: p.get('state') ?? null,
      nonce: p.get('nonce') ?? null,
      codeChallenge: p.get('code_challenge') ?? null,
      codeChallengeMethod: p.get('code_challenge_method') ?? null,
      responseMode: mode === 'form_post' ? 'form_post' : mode === 'fragment' ? 'fragment' : 'query',
      loginHint: p.get('login_hint') ?? null,
    }
  }
  const authorizeFields = (a: AuthorizeRequest): Record<string, string | null> => ({
    client_id: a.clientId,
    redirect_uri: a.redirectUri,
    response_type: a.responseType,
    ...(a.request.version === 2 ? { scope: a.request.scope } : { resource: a.request.resource }),
    state: a.state,
    nonce: a.nonce,
    code_challenge: a.codeChallenge,
    code_challenge_method: a.codeChallengeMethod,
    response_mode: a.responseMode,
  })
  const errorPage = (c: Context<Env>, e: unknown) => {
    const key = isDomainError(e) && e.code in STS_ERRORS ? (e.code as StsErrorKey) : 'serverError'
    const entry = STS_ERRORS[key]
    const text = entry.text((isDomainError(e) ? e.args : {}) as Record<string, string>)
    return c.html(
      messagePage('Sorry, but we’re having trouble signing you in.', `AADSTS${entry.code}: ${text}`),
      entry.status === 500 ? 500 : 400,
    )
  }
  const authorize = (version: 1 | 2) => async (c: Context<Env>) => {
    const tenantSegment = c.req.param('tenant') as string
    const isPost = c.req.method === 'POST'
    let p: Params
    try {
      p = isPost ? await readForm(c) : queryParams(new URL(c.req.url).searchParams)
    } catch (e) {
      return errorPage(c, e)
    }
    const a = { ...authorizeRequest(version, tenantSegment, p), origin: c.get('origin') }
    let clientName: string
    try {
      ;({ clientName } = await deps.sts.validateAuthorize(a))
    } catch (e) {
      return errorPage(c, e)
    }
    const action = new URL(c.req.url).pathname
    if (!isPost) {
      return c.html(signInPage({ action, clientName, fields: authorizeFields(a), loginHint: a.loginHint, error: null }))
    }
    const user = await deps.directory.checkUserPassword(p.get('username') ?? '', p.get('password') ?? '')
    if (!user) {
      const err = STS_ERRORS.userCredentialsInvalid
      return c.html(
        signInPage({
          action,
          clientName,
          fields: authorizeFields(a),
          loginHint: p.get('username') ?? null,
          error: `AADSTS${err.code}: ${err.text({})}`,
        }),
        200,
      )
    }
    let code: string
    try {
      code = await deps.sts.completeAuthorize(a, user)
    } catch (e) {
      return errorPage(c, e)
    }
    const out: Record<string, string | null> = { code, state: a.state, session_state: deps.ids.uuid() }
    if (a.responseMode === 'form_post') return c.html(formPostPage(a.redirectUri, out))
    const target = new URL(a.redirectUri)
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(out)) if (v !== null) params.set(k, v)
    if (a.responseMode === 'fragment') target.hash = params.toString()
    else for (const [k, v] of params) target.searchParams.set(k, v)
    return c.redirect(target.toString(), 302)
  }
  app.on(['GET', 'POST'], '/:tenant/oauth2/v2.0/authorize', authorize(2))
  app.on(['GET', 'POST'], '/:tenant/oauth2/authorize', authorize(1))

  // -- device-code approval page
  app.get('/devicelogin', (c) => c.html(deviceCodePage({ error: null, code: c.req.query('otc') ?? '' })))
  app.post('/devicelogin', async (c) => {
    const p = await readForm(c)
    const code = (p.get('otc') ?? '').trim().toUpperCase()
    const pending = (await deps.sts.pendingDeviceCodes()).find((d) => d.userCode === code)
    if (!pending)
      return c.html(deviceCodePage({ error: 'That code didn’t work. Check the code and try again.', code }), 200)
    return c.html(deviceSignInPage({ code, clientName: pending.clientId, error: null }))
  })
  app.post('/devicelogin/decide', async (c) => {
    const p = await readForm(c)
    const code = (p.get('otc') ?? '').trim().toUpperCase()
    const user = await deps.directory.checkUserPassword(p.get('username') ?? '', p.get('password') ?? '')
    if (!user) {
      const err = STS_ERRORS.userCredentialsInvalid
      return c.html(deviceSignInPage({ code, clientName: '', error: `AADSTS${err.code}: ${err.text({})}` }), 200)
    }
    const approve = p.get('decision') !== 'deny'
    try {
      await deps.sts.decideDeviceCode({ userCode: code, user, approve })
    } catch (e) {
      return errorPage(c, e)
    }
    return c.html(
      approve
        ? messagePage('You’re signed in', 'You have signed in on your device. You may now close this window.')
        : messagePage('Sign-in denied', 'You declined to sign in on the other device. You may now close this window.'),
    )
  })

  app.get('/error', (c) => {
    const code = Number(c.req.query('code'))
    const entry = Object.values(STS_ERRORS).find((e) => e.code === code)
    return c.html(
      entry
        ? messagePage(
            `AADSTS${code}`,
            `${entry.error}: ${entry.text(new Proxy({}, { get: (_t, k) => `{${String(k)}}` }))}`,
          )
        : messagePage('Unknown error code', `azid does not issue AADSTS${code}.`),
      entry ? 200 : 404,
    )
  })

  return app
}

/** The token endpoints' paths: `/{tenant}/oauth2/token` (v1) and `/{tenant}/oauth2/v2.0/token` (v2). */
const TOKEN_PATH = /^\/([^/]+)\/oauth2\/(v2\.0\/)?token$/
/** What Hono's Headers accept as a header value (a client-request-id from the query string must be one). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * `POST` to the token endpoints, straight on node:http: the busiest path of the token service, without Hono's
 * routing, context, Web Request and middleware chain. Its answers have the headers of the Hono app's (same names,
 * sorted as Hono's Headers sort them) and bodies from the same renderers. Requests it does not take go to the Hono app.
 */
export function createStsTokenRoute(deps: StsAppDeps) {
  const decode = (seg: string) => {
    try {
      return decodeURIComponent(seg)
    } catch {
      return seg
    }
  }
  /** The answer to one token request: status, headers (without Content-Length) and JSON body. */
  async function answer(q: {
    url: string
    headers: Record<string, string | string[] | undefined>
    readBody: () => Promise<Buffer | null>
    meta: RequestMeta
  }): Promise<{ status: number; head: string[]; json: string }> {
    const qi = q.url.indexOf('?')
    const m = TOKEN_PATH.exec(qi < 0 ? q.url : q.url.slice(0, qi)) as RegExpExecArray
    const query = qi < 0 ? null : q.url.slice(qi + 1)
    const version: 1 | 2 = m[2] ? 2 : 1
    const { meta, headers } = q
    const requestId = deps.ids.uuid()
    const fromHeader = headers['client-request-id']
    const fromQuery = query === null ? null : new URLSearchParams(query).get('client-request-id')
    // Echoed as a header: a value from the query that no header may carry (control characters) is not echoed.
    const clientRequestId =
      typeof fromHeader === 'string'
        ? fromHeader
        : fromQuery !== null && HEADER_VALUE.test(fromQuery)
          ? fromQuery
          : undefined
    const correlationId =
      clientRequestId && /^[0-9a-f-]{36}$/i.test(clientRequestId) ? clientRequestId : deps.ids.uuid()
    const hostHeader = headers.host
    const origin = requestOrigin(meta, typeof hostHeader === 'string' ? hostHeader : undefined, deps.fallbackHost)
    const head = [
      'cache-control',
      NO_STORE['Cache-Control'],
      ...(clientRequestId ? ['client-request-id', clientRequestId] : []),
      'content-type',
      'application/json',
      'pragma',
      NO_STORE.Pragma,
      'x-ms-ests-server',
      'azid',
      'x-ms-request-id',
      requestId,
    ]
    try {
      let params: Params
      try {
        const body = await q.readBody()
        if (body === null) throw new StsError('bodyTooLarge')
        const type = String(headers['content-type'] ?? '').toLowerCase()
        // Entra reads only form bodies; anything else counts as an empty form (§11).
        params = type.startsWith('application/x-www-form-urlencoded')
          ? parseFormStrict(body.toString('utf8'))
          : new Map()
      } catch (err) {
        deps.sts.refuseToken({ version, requestId, host: meta.host, err })
        throw err
      }
      const authorization = headers.authorization
      const result = await deps.sts.token({
        version,
        tenantSegment: decode(m[1] as string),
        params,
        basic: parseBasic(typeof authorization === 'string' ? authorization : undefined),
        origin,
        requestId,
        host: meta.host,
      })
      return { status: 200, head, json: tokenJson(result) }
    } catch (err) {
      let e = err
      if (!isDomainError(e) || !(e.code in STS_ERRORS)) {
        deps.logger.error('token service error', { err, requestId })
        e = new StsError('serverError')
      }
      const { status, body } = renderStsError(e as StsError, {
        traceId: requestId,
        correlationId,
        nowMs: deps.clock.now(),
        origin,
      })
      return { status, head, json: JSON.stringify(body) }
    }
  }
  const CRASH = { status: 500, head: ['content-type', 'application/json'], json: '{"error":"server_error"}' }
  const crashed = (err: unknown) => {
    deps.logger.error('token route crashed', { err })
    return CRASH
  }
  const isTokenPath = (path: string) => TOKEN_PATH.test(path)
  return {
    /** True for the paths this route may serve (the dispatcher asks after choosing the token service's surface). */
    matches: (method: string | undefined, path: string) => method === 'POST' && isTokenPath(path),
    handle(req: IncomingMessage, res: ServerResponse, hono: () => void): void {
      const url = req.url ?? '/'
      const q = url.indexOf('?')
      if (!isTokenPath(q < 0 ? url : url.slice(0, q))) {
        hono()
        return
      }
      answer({
        url,
        headers: req.headers,
        readBody: () => readIncomingLimited(req, deps.maxBodyBytes),
        meta: requestMeta({ incoming: req }, url),
      })
        .catch(crashed)
        .then((a) => {
          if (res.headersSent || res.destroyed) return
          res.writeHead(a.status, [...a.head, 'Content-Length', String(Buffer.byteLength(a.json))])
          res.end(a.json)
        })
        .catch((err) => {
          deps.logger.error('token route could not answer', { err })
          res.destroy()
        })
    },
    /**
     * The same route for the HTTPS listeners' fast lane (kernel/fast-http.ts): `url` is the normalised target, the body
     * already read; the answer is the bytes node:http would send for it.
     */
    fast(req: FastRequest, url: string, meta: RequestMeta, keepAliveS: number): FastDeferred {
      const body = req.body.length > deps.maxBodyBytes ? null : req.body
      const wire = answer({ url, headers: req.headers, readBody: async () => body, meta })
        .catch(crashed)
        .then((a) => {
          const jsonBytes = Buffer.byteLength(a.json)
          // Header values go out as latin1, as node:http writes them; head and body share one buffer.
          const head = fastHead(statusLine(a.status), a.head, jsonBytes, keepAliveS)
          const out = Buffer.allocUnsafe(head.length + jsonBytes)
          out.write(head, 0, 'latin1')
          out.write(a.json, head.length, 'utf8')
          return out
        })
      return new FastDeferred(wire)
    },
  }
}
