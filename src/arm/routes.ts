import { readBodyLimited } from '../kernel/body.ts'
import { type Context, Hono } from 'hono'
import { AUDIENCES, AuthError, type VerifiedToken } from '../auth/index.ts'
import { isDomainError } from '../kernel/errors.ts'
import { requestMeta, requestOrigin } from '../kernel/request-meta.ts'
import { parseResourceId } from '../kernel/resource-id.ts'
import type { ArmDeps, ArmRequest } from './context.ts'
import { createCtx } from './context.ts'
import { ArmError } from './errors.ts'
import { metadataEndpoints } from './providers/resources.ts'
import type { Registry } from './registry.ts'
import { renderArmError } from './render.ts'
import { routeArm } from './router.ts'

type Env = { Variables: { requestId: string; correlationId: string; origin: string } }

/** .NET general date format that ARM prints in ExpiredAuthenticationToken: `6/15/2026 8:22:51 AM`. */
function dotnetDate(ms: number): string {
  const d = new Date(ms)
  const h = d.getUTCHours()
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${h % 12 === 0 ? 12 : h % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`
}

function authFailure(e: AuthError, now: number): ArmError {
  switch (e.code) {
    case 'MissingToken':
      return new ArmError('AuthenticationFailed')
    case 'InvalidScheme':
      return new ArmError('AuthenticationFailedInvalidHeader')
    case 'Expired': {
      const exp = Date.parse(String(e.detail ?? '').replace(/^exp /, ''))
      return new ArmError('ExpiredAuthenticationToken', {
        expiry: dotnetDate(Number.isFinite(exp) ? exp : now),
        now: dotnetDate(now),
      })
    }
    case 'WrongAudience':
      return new ArmError('InvalidAuthenticationTokenAudience', { audience: String(e.args.audience ?? '') })
    default:
      return new ArmError('InvalidAuthenticationToken', {}, `${e.code}: ${e.detail ?? ''}`)
  }
}

/** The ARM surface: api-version, bearer authentication, routing, ARM's error envelope and headers. */
export function createArmApp(deps: ArmDeps, registry: Registry, opts: { fallbackHost: string }): Hono<Env> {
  const app = new Hono<Env>()

  app.use('*', async (c, next) => {
    const meta = requestMeta(c.env, c.req.url)
    const requestId = deps.ids.uuid()
    const given = c.req.header('x-ms-correlation-request-id')
    const correlationId = given && /^[0-9a-f-]{36}$/i.test(given) ? given : requestId
    c.set('requestId', requestId)
    c.set('correlationId', correlationId)
    c.set('origin', requestOrigin(meta, c.req.header('host'), opts.fallbackHost))
    // Set before the handler answers: a header added to a finished answer makes Hono rebuild it as a Web Response.
    c.header('x-ms-request-id', requestId)
    c.header('x-ms-correlation-request-id', correlationId)
    c.header(
      'x-ms-routing-request-id',
      `LOCAL:${new Date(deps.clock.now()).toISOString().replace(/[-:]|\.\d+/g, '')}:${requestId}`,
    )
    c.header('Cache-Control', 'no-cache')
    c.header('Pragma', 'no-cache')
    c.header('Expires', '-1')
    await next()
  })

  const fail = (c: Context<Env>, err: unknown) => {
    let e: ArmError
    if (err instanceof ArmError) e = err
    else if (err instanceof AuthError) e = authFailure(err, deps.clock.now())
    else if (isDomainError(err)) {
      deps.logger.warn('unmapped domain error on ARM', { code: err.code, detail: err.detail })
      e = new ArmError('InternalServerError')
    } else {
      deps.logger.error('ARM request failed', { err, requestId: c.get('requestId') })
      e = new ArmError('InternalServerError')
    }
    const { status, body, headers } = renderArmError(e)
    if (headers['WWW-Authenticate']) {
      // The challenge names the subscription's tenant when the path has one (tools read the tenant from it).
      const sub = parseResourceId(new URL(c.req.url).pathname).subscriptionId
      const uri = sub ? `https://login.windows.net/${deps.settings.tenantId}` : 'https://login.windows.net/'
      headers['WWW-Authenticate'] = headers['WWW-Authenticate'].replace(
        'authorization_uri="https://login.windows.net/"',
        `authorization_uri="${uri}"`,
      )
    }
    if (e.detail) deps.logger.debug('ARM error', { code: e.code, detail: e.detail, requestId: c.get('requestId') })
    return c.json(body, status as 400, headers)
  }
  app.onError((err, c) => fail(c, err))

  app.get('/metadata/endpoints', (c) =>
    c.json(
      metadataEndpoints({
        apiVersion: c.req.query('api-version') ?? null,
        origin: c.get('origin'),
        loginEndpoint: deps.settings.loginEndpoint() || c.get('origin'),
        storageSuffix: deps.settings.storageSuffix,
        keyVaultDns: deps.settings.keyVaultDns,
      }),
    ),
  )

  app.all('*', async (c) => {
    const url = new URL(c.req.url)
    const apiVersion = url.searchParams.get('api-version')
    if (!apiVersion) throw new ArmError('MissingApiVersionParameter')

    let caller: VerifiedToken
    try {
      caller = await deps.verifier.verify(c.req.header('authorization'), { audiences: AUDIENCES.arm })
    } catch (e) {
      if (e instanceof AuthError)
        deps.audit.record({
          kind: 'authorization',
          result: 'failure',
          requestId: c.get('requestId'),
          reason: `ARM authentication failed: ${e.code}`,
          errorCode: e.code,
          details: { path: url.pathname, method: c.req.method },
        })
      throw e
    }

    let body: unknown
    const method = c.req.method.toUpperCase()
    if (method === 'PUT' || method === 'PATCH' || method === 'POST') {
      const raw = await readBodyLimited(c.req.raw, deps.settings.maxBodyBytes, c.env)
      if (raw === null) throw new ArmError('RequestContentTooLarge')
      const text = raw.toString('utf8').trim()
      // JSON is read whatever the Content-Type (ARM-007: curl sends form-urlencoded with -d).
      if (text !== '') {
        try {
          body = JSON.parse(text)
        } catch (e) {
          // Shaped like the Newtonsoft text ARM quotes: "… Path '', line 1, position N." (arm-errors §6).
          const msg = (e as Error).message
          const token = /Unexpected token '(.)'/.exec(msg)?.[1]
          const at = token === undefined ? -1 : text.indexOf(token)
          const pos = /position (\d+)/.exec(msg)?.[1] ?? String(at >= 0 ? at : text.length)
          const lines = text.slice(0, Number(pos)).split('\n')
          const column = (lines.at(-1) ?? '').length
          throw new ArmError('InvalidRequestContent', {
            reason: `${msg.replace(/ in JSON at position \d+.*$/, '')}. Path '', line ${lines.length}, position ${column}.`,
          })
        }
      }
    }
    const req: ArmRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      apiVersion,
      body,
      origin: c.get('origin'),
      requestId: c.get('requestId'),
      correlationId: c.get('correlationId'),
      caller,
    }
    const result = await routeArm(createCtx(deps, req), registry)
    const headers: Record<string, string> = { ...result.headers }
    const rl = method === 'GET' || method === 'HEAD' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes'
    headers[`x-ms-ratelimit-remaining-subscription-${rl}`] =
      rl === 'reads' ? '11999' : rl === 'deletes' ? '14999' : '1199'
    if (result.body === undefined) return c.body(null, result.status as 200, headers)
    return c.json(result.body, result.status as 200, headers)
  })

  return app
}
