import { readBodyLimited } from '../kernel/body.ts'
import { type Context, Hono } from 'hono'
import type { AuditLog } from '../audit/index.ts'
import { AUDIENCES, AuthError, type TokenVerifier, type VerifiedToken } from '../auth/index.ts'
import type { DirectoryService } from '../directory/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { isDomainError } from '../kernel/errors.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { requestMeta, requestOrigin } from '../kernel/request-meta.ts'
import {
  parseAddPassword,
  parseApplicationBody,
  parseCreateServicePrincipal,
  parseGetByIds,
  parseRemovePassword,
  parseUpdateServicePrincipal,
} from './bodies.ts'
import { GraphError, type GraphErrorCode } from './errors.ts'
import {
  type EntitySchema,
  applySelect,
  checkQueryOptions,
  compileFilter,
  decodeSkipToken,
  encodeSkipToken,
  parseFilter,
  parseSelect,
  parseTop,
  queryOption,
} from './odata.ts'
import { renderGraphError } from './render.ts'
import { type GraphService, type ListQuery, type Page, createGraphService } from './service.ts'
import {
  APPLICATION_SCHEMA,
  type GraphVersion,
  SERVICE_PRINCIPAL_SCHEMA,
  USER_SCHEMA,
  contextUrl,
  wirePasswordCredential,
} from './wire.ts'

type Env = { Variables: { requestId: string; clientRequestId: string; origin: string } }

export interface GraphDeps {
  directory: DirectoryService
  verifier: TokenVerifier
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  /** Who may write the directory (register applications, add secrets). Reads need only a token of the tenant. */
  isDirectoryAdmin: (principalId: string) => boolean | Promise<boolean>
}

export interface GraphOptions {
  /** Host:port used when a request carries no usable Host header (for `@odata.nextLink`). */
  fallbackHost: string
  maxBodyBytes?: number
}

/** Graph accepts its identifier with or without the trailing slash, and its app id (AUD-003). */
const GRAPH_AUDIENCES = [...AUDIENCES.graph, 'https://graph.microsoft.com']
/** Graph's answer Content-Type for JSON (seen on v1.0 responses, e.g. Azure/azure-cli#28009 debug logs). */
const JSON_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8'
const DEFAULT_PAGE_SIZE = 100
const DEFAULT_MAX_BODY = 1024 * 1024

function authFailure(e: AuthError): GraphError {
  const code: GraphErrorCode =
    e.code === 'MissingToken' || e.code === 'InvalidScheme'
      ? 'AccessTokenEmpty'
      : e.code === 'MalformedToken' && !(e.detail ?? '').startsWith('no ')
        ? 'AccessTokenMalformed'
        : e.code === 'WrongAudience'
          ? 'InvalidAudience'
          : e.code === 'Expired'
            ? 'AccessTokenExpired'
            : 'AccessTokenInvalid'
  return new GraphError(code, {}, `${e.code}: ${e.detail ?? ''}`)
}

/** `servicePrincipals(appId='…')`, `servicePrincipals('…')` → name and key. */
function parseSegment(seg: string): { name: string; key: { appId: string } | { id: string } | null } {
  const m = /^([A-Za-z$]+)\((.*)\)$/s.exec(seg)
  if (!m) return { name: seg.toLowerCase(), key: null }
  const name = (m[1] as string).toLowerCase()
  const inner = (m[2] as string).trim()
  const unquote = (s: string) => s.replace(/''/g, "'")
  const alt = /^appId\s*=\s*'(.*)'$/is.exec(inner)
  if (alt) return { name, key: { appId: unquote(alt[1] as string) } }
  const quoted = /^'(.*)'$/s.exec(inner)
  if (quoted) return { name, key: { id: unquote(quoted[1] as string) } }
  if (/^[\w-]+$/.test(inner)) return { name, key: { id: inner } }
  throw new GraphError('SegmentNotFound', { segment: seg })
}

/**
 * The Microsoft Graph surface (v1.0 and beta share handlers): service principals (managed identities included),
 * applications and their secrets, users, directoryObjects. Bearer tokens for Graph from the caller's tenant; any
 * such token may read (deviation: real Graph requires Application.Read.All or Directory.Read.All for app-only reads),
 * writes need `isDirectoryAdmin`. Errors in Graph's envelope with `request-id`/`client-request-id`.
 */
export function createGraphApp(deps: GraphDeps, opts: GraphOptions): Hono<Env> {
  const app = new Hono<Env>()
  const graph: GraphService = createGraphService({ directory: deps.directory, clock: deps.clock, ids: deps.ids })
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY

  app.use('*', async (c, next) => {
    const meta = requestMeta(c.env, c.req.url)
    const requestId = deps.ids.uuid()
    // client-request-id is echoed; without one it equals request-id (docs/wire/arm-errors.md §9).
    const given = c.req.header('client-request-id')
    const clientRequestId = given && /^[\w.:-]{1,128}$/.test(given) ? given : requestId
    c.set('requestId', requestId)
    c.set('clientRequestId', clientRequestId)
    c.set('origin', requestOrigin(meta, c.req.header('host'), opts.fallbackHost))
    // Set before the handler answers: a header added to a finished answer makes Hono rebuild it as a Web Response.
    c.header('request-id', requestId)
    c.header('client-request-id', clientRequestId)
    c.header('Cache-Control', 'no-cache')
    c.header('Strict-Transport-Security', 'max-age=31536000')
    await next()
  })

  const fail = (c: Context<Env>, err: unknown) => {
    let e: GraphError
    if (err instanceof GraphError) e = err
    else if (err instanceof AuthError) e = authFailure(err)
    else if (isDomainError(err)) {
      deps.logger.warn('unmapped domain error on Graph', { code: err.code, detail: err.detail })
      e = new GraphError('InternalServerError')
    } else {
      deps.logger.error('Graph request failed', { err, requestId: c.get('requestId') })
      e = new GraphError('InternalServerError')
    }
    const { status, body, headers } = renderGraphError(e, {
      requestId: c.get('requestId'),
      clientRequestId: c.get('clientRequestId'),
      now: deps.clock.now(),
    })
    if (e.detail) deps.logger.debug('Graph error', { code: e.code, detail: e.detail, requestId: c.get('requestId') })
    return c.body(JSON.stringify(body), status as 400, { ...headers, 'Content-Type': 'application/json' })
  }
  app.onError((err, c) => fail(c, err))

  const json = (c: Context<Env>, status: number, body: unknown) =>
    c.body(JSON.stringify(body), status as 200, { 'Content-Type': JSON_TYPE, 'OData-Version': '4.0' })
  const noContent = (c: Context<Env>) => c.body(null, 204)

  async function authenticate(c: Context<Env>, path: string): Promise<VerifiedToken> {
    try {
      return await deps.verifier.verify(c.req.header('authorization'), { audiences: GRAPH_AUDIENCES })
    } catch (e) {
      if (e instanceof AuthError)
        deps.audit.record({
          kind: 'authorization',
          result: 'failure',
          requestId: c.get('requestId'),
          reason: `Graph authentication failed: ${e.code}`,
          errorCode: e.code,
          details: { path, method: c.req.method },
        })
      throw e
    }
  }

  async function readJson(c: Context<Env>): Promise<unknown> {
    const raw = await readBodyLimited(c.req.raw, maxBody, c.env)
    if (raw === null) throw new GraphError('RequestTooLarge')
    const text = raw.toString('utf8').trim()
    if (text === '') return undefined
    try {
      return JSON.parse(text)
    } catch (err) {
      throw new GraphError('InvalidRequestBody', {}, (err as Error).message)
    }
  }

  /**
   * Directory writes: only administrators (checked before the body is read); every attempt is an audit event of
   * kind 'admin'.
   */
  async function write<T>(
    c: Context<Env>,
    caller: VerifiedToken,
    operation: string,
    fn: () => Promise<{ result: T; details: Record<string, unknown> }>,
  ): Promise<T> {
    const base = {
      kind: 'admin' as const,
      tenantId: caller.tenantId,
      clientId: caller.appId,
      principalId: caller.principalId,
      requestId: c.get('requestId'),
    }
    try {
      if (!(await deps.isDirectoryAdmin(caller.principalId)))
        throw new GraphError('InsufficientPrivileges', {}, `${caller.principalId} is not a directory administrator`)
      const { result, details } = await fn()
      deps.audit.record({
        ...base,
        result: 'success',
        reason: `Graph: ${operation}`,
        details: { operation, ...details },
      })
      return result
    } catch (err) {
      deps.audit.record({
        ...base,
        result: 'failure',
        reason: `Graph: ${operation} refused`,
        errorCode: isDomainError(err) ? err.code : 'InternalServerError',
        details: { operation },
      })
      throw err
    }
  }

  async function list(
    c: Context<Env>,
    q: { version: GraphVersion; set: string; schema: EntitySchema; url: URL },
    fetch: (lq: ListQuery) => Promise<Page>,
  ) {
    const params = q.url.searchParams
    checkQueryOptions(params)
    const filterText = queryOption(params, '$filter')
    const filter =
      filterText !== undefined && filterText.trim() !== '' ? compileFilter(parseFilter(filterText), q.schema) : null
    const select = parseSelect(queryOption(params, '$select'), q.schema)
    const top = parseTop(queryOption(params, '$top'), DEFAULT_PAGE_SIZE)
    const after = decodeSkipToken(queryOption(params, '$skiptoken'))
    // ConsistencyLevel: eventual is what Graph asks for with $count; azid answers with or without it.
    const count = queryOption(params, '$count')?.toLowerCase() === 'true'
    const page = await fetch({ filter, after, top, count })
    const body: Record<string, unknown> = { '@odata.context': contextUrl(q.version, q.set, { select }) }
    if (count) body['@odata.count'] = page.count
    if (page.nextAfter !== null) {
      const kept = [...params].filter(([k]) => k.toLowerCase() !== '$skiptoken')
      const query = [...kept, ['$skiptoken', encodeSkipToken(page.nextAfter)]]
        .map(([k, v]) => `${k}=${encodeURIComponent(v as string)}`)
        .join('&')
      body['@odata.nextLink'] = `${c.get('origin')}${q.url.pathname}?${query}`
    }
    body.value = page.value.map((o) => applySelect(o, select))
    return json(c, 200, body)
  }

  async function countOnly(c: Context<Env>, url: URL, schema: EntitySchema, fetch: (lq: ListQuery) => Promise<Page>) {
    const filterText = queryOption(url.searchParams, '$filter')
    const filter =
      filterText !== undefined && filterText.trim() !== '' ? compileFilter(parseFilter(filterText), schema) : null
    const page = await fetch({ filter, after: null, top: 1, count: true })
    return c.body(String(page.count ?? 0), 200, { 'Content-Type': 'text/plain;charset=utf-8' })
  }

  const entity = (
    c: Context<Env>,
    q: { version: GraphVersion; set: string; schema: EntitySchema | null; url: URL },
    wire: Record<string, unknown>,
    status = 200,
  ) => {
    const select = q.schema ? parseSelect(queryOption(q.url.searchParams, '$select'), q.schema) : null
    return json(c, status, {
      '@odata.context': contextUrl(q.version, q.set, { entity: true, select }),
      ...applySelect(wire, select),
    })
  }

  app.all('*', async (c) => {
    const url = new URL(c.req.url)
    const m = /^\/(v1\.0|beta)(\/.*)?$/i.exec(url.pathname)
    const caller = await authenticate(c, url.pathname)
    if (!m) throw new GraphError('SegmentNotFound', { segment: url.pathname.split('/')[1] ?? '' })
    const version = (m[1] as string).toLowerCase() === 'beta' ? 'beta' : 'v1.0'
    let segments: string[]
    try {
      segments = (m[2] ?? '')
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s))
    } catch {
      throw new GraphError('SegmentNotFound', { segment: m[2] ?? '' })
    }
    const method = c.req.method.toUpperCase()
    const tenant = caller.tenantId
    const notAllowed = () => new GraphError('MethodNotAllowed', {}, `${method} ${url.pathname}`)
    const extra = (i: number) => {
      if (segments.length > i) throw new GraphError('SegmentNotFound', { segment: segments[i] as string })
    }
    const first = segments[0]
    if (first === undefined) throw new GraphError('SegmentNotFound', { segment: version })
    const head = parseSegment(first)

    switch (head.name) {
      case 'serviceprincipals': {
        const set = 'servicePrincipals'
        const schema = SERVICE_PRINCIPAL_SCHEMA
        let objectId: string | null = null
        if (head.key && 'appId' in head.key) {
          extra(1)
          objectId = await graph.servicePrincipalIdByAppId(tenant, head.key.appId)
        } else if (head.key) {
          extra(1)
          objectId = head.key.id
        } else if (segments.length === 1) {
          if (method === 'GET')
            return list(c, { version, set, schema, url }, (lq) => graph.listServicePrincipals(tenant, lq))
          if (method === 'POST') {
            const sp = await write(c, caller, 'create service principal', async () => {
              const body = parseCreateServicePrincipal(await readJson(c))
              const wire = await graph.createServicePrincipal(tenant, body.appId)
              return { result: wire, details: { objectId: wire.id, appId: wire.appId } }
            })
            return entity(c, { version, set, schema: null, url }, sp, 201)
          }
          throw notAllowed()
        } else if (segments[1] === '$count') {
          extra(2)
          if (method !== 'GET') throw notAllowed()
          return countOnly(c, url, schema, (lq) => graph.listServicePrincipals(tenant, lq))
        } else {
          extra(2)
          objectId = segments[1] as string
        }
        if (method === 'GET')
          return entity(c, { version, set, schema, url }, await graph.getServicePrincipal(tenant, objectId))
        if (method === 'PATCH') {
          await write(c, caller, 'update service principal', async () => {
            const changes = parseUpdateServicePrincipal(await readJson(c))
            const sp = await graph.updateServicePrincipal(tenant, objectId, changes)
            return { result: sp, details: { objectId: sp.objectId, appId: sp.appId, changes } }
          })
          return noContent(c)
        }
        if (method === 'DELETE') {
          await write(c, caller, 'delete service principal', async () => {
            const sp = await graph.deleteServicePrincipal(tenant, objectId)
            return { result: sp, details: { objectId: sp.objectId, appId: sp.appId } }
          })
          return noContent(c)
        }
        throw notAllowed()
      }

      case 'applications': {
        const set = 'applications'
        const schema = APPLICATION_SCHEMA
        let objectId: string
        let rest: number
        if (head.key && 'appId' in head.key) {
          objectId = await graph.applicationIdByAppId(tenant, head.key.appId)
          rest = 1
        } else if (head.key) {
          objectId = head.key.id
          rest = 1
        } else if (segments.length === 1) {
          if (method === 'GET')
            return list(c, { version, set, schema, url }, (lq) => graph.listApplications(tenant, lq))
          if (method === 'POST') {
            const created = await write(c, caller, 'register application', async () => {
              const changes = parseApplicationBody(await readJson(c), { create: true })
              const wire = await graph.createApplication(tenant, changes)
              return { result: wire, details: { objectId: wire.id, appId: wire.appId, displayName: wire.displayName } }
            })
            return entity(c, { version, set, schema: null, url }, created, 201)
          }
          throw notAllowed()
        } else if (segments[1] === '$count') {
          extra(2)
          if (method !== 'GET') throw notAllowed()
          return countOnly(c, url, schema, (lq) => graph.listApplications(tenant, lq))
        } else {
          objectId = segments[1] as string
          rest = 2
        }
        const action = segments[rest]
        if (action !== undefined) {
          extra(rest + 1)
          const a = action.toLowerCase().replace(/^microsoft\.graph\./, '')
          if (a !== 'addpassword' && a !== 'removepassword')
            throw new GraphError('SegmentNotFound', { segment: action })
          if (method !== 'POST') throw notAllowed()
          if (a === 'addpassword') {
            const added = await write(c, caller, 'add password', async () => {
              const req = parseAddPassword(await readJson(c), deps.clock.now())
              const r = await graph.addPassword(tenant, objectId, req)
              return {
                result: r,
                details: { objectId: r.application.objectId, appId: r.application.appId, keyId: r.credential.keyId },
              }
            })
            // The secret is shown once, here (graph-docs application-addpassword).
            return json(c, 200, {
              '@odata.context': contextUrl(version, 'microsoft.graph.passwordCredential'),
              ...wirePasswordCredential(added.credential, added.secretText),
            })
          }
          await write(c, caller, 'remove password', async () => {
            const keyId = parseRemovePassword(await readJson(c))
            const r = await graph.removePassword(tenant, objectId, keyId)
            return { result: r, details: { objectId: r.objectId, appId: r.appId, keyId } }
          })
          return noContent(c)
        }
        if (method === 'GET')
          return entity(c, { version, set, schema, url }, await graph.getApplication(tenant, objectId))
        if (method === 'PATCH') {
          await write(c, caller, 'update application', async () => {
            const changes = parseApplicationBody(await readJson(c), { create: false })
            const r = await graph.updateApplication(tenant, objectId, changes)
            return { result: r, details: { objectId: r.objectId, appId: r.appId } }
          })
          return noContent(c)
        }
        if (method === 'DELETE') {
          await write(c, caller, 'delete application', async () => {
            const r = await graph.deleteApplication(tenant, objectId)
            return { result: r, details: { objectId: r.objectId, appId: r.appId } }
          })
          return noContent(c)
        }
        throw notAllowed()
      }

      case 'directoryobjects': {
        if (head.key) throw new GraphError('SegmentNotFound', { segment: first })
        const second = segments[1]
        if (second === undefined) throw new GraphError('NotSupported', { what: 'Listing directoryObjects' })
        extra(2)
        if (second.toLowerCase().replace(/^microsoft\.graph\./, '') === 'getbyids') {
          if (method !== 'POST') throw notAllowed()
          const { ids, types } = parseGetByIds(await readJson(c))
          return json(c, 200, {
            '@odata.context': contextUrl(version, 'directoryObjects'),
            value: await graph.getByIds(tenant, ids, types),
          })
        }
        if (method !== 'GET') throw notAllowed()
        const found = await graph.getDirectoryObject(tenant, second)
        return json(c, 200, {
          '@odata.context': contextUrl(version, 'directoryObjects', { entity: true }),
          ...found.wire,
        })
      }

      case 'users': {
        const set = 'users'
        const schema = USER_SCHEMA
        const id = head.key && 'id' in head.key ? head.key.id : segments[1]
        if (head.key && 'appId' in head.key) throw new GraphError('SegmentNotFound', { segment: first })
        if (method !== 'GET') throw notAllowed()
        if (id === undefined) return list(c, { version, set, schema, url }, (lq) => graph.listUsers(tenant, lq))
        if (!head.key && id === '$count') {
          extra(2)
          return countOnly(c, url, schema, (lq) => graph.listUsers(tenant, lq))
        }
        extra(head.key ? 1 : 2)
        return entity(c, { version, set, schema, url }, await graph.getUser(tenant, id))
      }

      case 'me': {
        if (head.key) throw new GraphError('SegmentNotFound', { segment: first })
        extra(1)
        if (method !== 'GET') throw notAllowed()
        if (!caller.isUser) throw new GraphError('MeRequiresDelegated')
        return entity(
          c,
          { version, set: 'users', schema: USER_SCHEMA, url },
          await graph.getUser(tenant, caller.principalId),
        )
      }

      default:
        throw new GraphError('SegmentNotFound', { segment: first })
    }
  })

  return app
}
