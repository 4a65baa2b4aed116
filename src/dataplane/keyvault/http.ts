import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AuditLog } from '../../audit/index.ts'
import { AUDIENCES, AuthError, type TokenVerifier, type VerifiedToken } from '../../auth/index.ts'
import type { Clock } from '../../kernel/clock.ts'
import type { Ids } from '../../kernel/ids.ts'
import type { Logger } from '../../kernel/log.ts'
import { requestOrigin } from '../../kernel/request-meta.ts'
import type { DataPlaneAccess } from '../ports.ts'
import { KvError, type KvErrorKey } from './errors.ts'
import type { VaultInfo } from './ports.ts'
import { renderKvError, sendJson } from './render.ts'
import {
  NAME_RE,
  type OpContext,
  type Page,
  type SecretService,
  parseRestoreBody,
  parseSetBody,
  parseUpdateBody,
} from './service.ts'

/** api-versions Key Vault answers for secrets (api-shapes §7): the wire shape is the same in all of them. */
const API_VERSIONS = new Set([
  '2015-06-01',
  '2016-10-01',
  '7.0',
  '7.1',
  '7.2',
  '7.3',
  '7.4',
  '7.5',
  '7.6',
  '2025-06-01',
  '2025-07-01',
])
const PREVIEW_VERSION = /^7\.[0-6]-preview(\.\d+)?$/
export const isKnownApiVersion = (v: string) => API_VERSIONS.has(v) || PREVIEW_VERSION.test(v)

const ACTION = 'Microsoft.KeyVault/vaults/secrets/'
/** Other Key Vault collections: real APIs azid does not serve (answered 501 in Key Vault's envelope). */
const UNSUPPORTED = new Set([
  'keys',
  'deletedkeys',
  'certificates',
  'deletedcertificates',
  'storage',
  'deletedstorage',
  'rng',
  'securitydomain',
  'settings',
])
const SERVICE_VERSION = '1.9.0.0'
const DEFAULT_PAGE = 25
const VAULT_HOST = /^([a-z0-9-]{3,24})\.vault\.azure\.net$/

/** How a listener addresses vaults: by Host (`<vault>.vault.azure.net`) or by the first path segment (loopback). */
export type Addressing = 'host' | 'path'

interface Route {
  op:
    | 'list'
    | 'get'
    | 'set'
    | 'update'
    | 'delete'
    | 'versions'
    | 'backup'
    | 'restore'
    | 'listDeleted'
    | 'getDeleted'
    | 'purge'
    | 'recover'
  action: string
  name?: string
  version?: string
  body: boolean
}

const r = (op: Route['op'], action: string, extra: Partial<Route> = {}): Route => ({
  op,
  action: ACTION + action,
  body: false,
  ...extra,
})

/**
 * The route of `method segments` (after the vault), or the error to answer. Segments are decoded; the collection
 * names are case-insensitive like Key Vault's.
 */
function route(method: string, segs: string[], path: string): Route {
  const [collection = '', name, third, ...more] = segs
  const c = collection.toLowerCase()
  const notAllowed = () => new KvError('MethodNotAllowed', { method, path })
  if (more.length > 0) throw new KvError('NotFound', { path })
  if (c === 'secrets') {
    if (name === undefined) {
      if (method === 'GET') return r('list', 'readMetadata/action')
      throw notAllowed()
    }
    if (third === undefined) {
      if (method === 'POST' && name.toLowerCase() === 'restore') return r('restore', 'restore/action', { body: true })
      if (method === 'GET') return r('get', 'getSecret/action', { name })
      if (method === 'PUT') return r('set', 'setSecret/action', { name, body: true })
      if (method === 'PATCH') return r('update', 'update/action', { name, body: true })
      if (method === 'DELETE') return r('delete', 'delete', { name })
      throw notAllowed()
    }
    if (third.toLowerCase() === 'versions' && method === 'GET') return r('versions', 'readMetadata/action', { name })
    if (third.toLowerCase() === 'backup' && method === 'POST') return r('backup', 'backup/action', { name })
    if (method === 'GET') return r('get', 'getSecret/action', { name, version: third })
    if (method === 'PATCH') return r('update', 'update/action', { name, version: third, body: true })
    throw notAllowed()
  }
  if (c === 'deletedsecrets') {
    if (name === undefined) {
      if (method === 'GET') return r('listDeleted', 'readMetadata/action')
      throw notAllowed()
    }
    if (third === undefined) {
      if (method === 'GET') return r('getDeleted', 'readMetadata/action', { name })
      if (method === 'DELETE') return r('purge', 'purge/action', { name })
      throw notAllowed()
    }
    if (third.toLowerCase() === 'recover' && method === 'POST') return r('recover', 'recover/action', { name })
    throw notAllowed()
  }
  if (UNSUPPORTED.has(c)) throw new KvError('NotSupported', { collection: c })
  throw new KvError('NotFound', { path })
}

function authFailure(err: AuthError): { key: KvErrorKey; args: Record<string, string> } {
  switch (err.code) {
    case 'MissingToken':
    case 'InvalidScheme':
      return { key: 'MissingToken', args: {} }
    case 'Expired':
      return { key: 'TokenExpired', args: {} }
    case 'WrongAudience':
      return { key: 'WrongAudience', args: { audience: String(err.args.audience ?? '') } }
    case 'WrongIssuer':
    case 'UnknownTenant':
      return { key: 'WrongIssuer', args: {} }
    default:
      return { key: 'InvalidToken', args: {} }
  }
}

/** `iss` of a token, read without verification: only to print it in AKV10032 (the token was already refused). */
function unverifiedIssuer(authorization: string | undefined): string {
  const token = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? ''
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
    return typeof claims?.iss === 'string' ? claims.iss.slice(0, 200) : '(none)'
  } catch {
    return '(none)'
  }
}

/** Reads the body up to `max` bytes; null when larger (the rest is drained, not kept). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > max) over = true
      else chunks.push(c)
    })
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

const decodeSegment = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

export interface KeyVaultHttpDeps {
  service: SecretService
  vaults: { byName(name: string): Promise<VaultInfo | undefined> }
  verifier: TokenVerifier
  access: DataPlaneAccess
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  /** Host:port used for ids when a request has no usable Host header. */
  fallbackHost: () => string
  maxBodyBytes?: number
}

/**
 * The secrets API on node:http. Order of checks, as Key Vault's: vault → bearer token (401 + challenge, before the
 * body is read: SDKs send their first request without token and body) → api-version → route and name → RBAC
 * dataAction at `{vault}/secrets/{name}` (or the vault for lists and restore) → body → operation.
 */
export function createKeyVaultHttp(deps: KeyVaultHttpDeps) {
  const maxBody = deps.maxBodyBytes ?? 1024 * 1024

  function audit(q: {
    result: 'success' | 'failure'
    requestId: string
    caller?: VerifiedToken
    reason: string
    errorCode?: string
    details: Record<string, unknown>
  }) {
    deps.audit.record({
      kind: 'authorization',
      result: q.result,
      tenantId: q.caller?.tenantId ?? null,
      clientId: q.caller?.appId ?? null,
      principalId: q.caller?.principalId ?? null,
      audience: q.caller ? 'https://vault.azure.net' : null,
      requestId: q.requestId,
      reason: q.reason,
      errorCode: q.errorCode ?? null,
      details: q.details,
    })
  }

  async function serve(req: IncomingMessage, res: ServerResponse, addressing: Addressing): Promise<void> {
    const requestId = deps.ids.uuid()
    const method = (req.method ?? 'GET').toUpperCase()
    const headers: Record<string, string> = {
      'cache-control': 'no-cache',
      pragma: 'no-cache',
      expires: '-1',
      'x-ms-request-id': requestId,
      'x-ms-keyvault-service-version': SERVICE_VERSION,
      'x-ms-keyvault-network-info': `conn_type=Ipv4;addr=${req.socket.remoteAddress ?? '127.0.0.1'};act_addr_fam=InterNetwork;`,
      'x-content-type-options': 'nosniff',
      'strict-transport-security': 'max-age=31536000;includeSubDomains',
    }
    const clientRequestId = req.headers['x-ms-client-request-id']
    if (typeof clientRequestId === 'string' && clientRequestId.length <= 200)
      headers['x-ms-client-request-id'] = clientRequestId
    const fail = (err: KvError) => renderKvError(res, err, headers)
    try {
      await handle(req, res, addressing, { requestId, method, headers, fail })
    } catch (err) {
      if (err instanceof KvError) return fail(err)
      deps.logger.error('key vault request failed', { err, method, requestId })
      return fail(new KvError('Internal', { requestId }))
    }
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    addressing: Addressing,
    q: { requestId: string; method: string; headers: Record<string, string>; fail: (e: KvError) => void },
  ): Promise<void> {
    const { requestId, method, headers, fail } = q
    const rawUrl = req.url ?? '/'
    const qi = rawUrl.indexOf('?')
    // Repeated and trailing slashes are noise (`/secrets/name/` = the latest version; clients.md §6.2, §9).
    const path = (qi < 0 ? rawUrl : rawUrl.slice(0, qi)).replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1')
    // A real query parser: the JS SDK sends `api%2Dversion` (clients.md §6.2).
    const query = new URLSearchParams(qi < 0 ? '' : rawUrl.slice(qi + 1))
    const origin = requestOrigin(
      { scheme: 'https', host: null, listener: 'keyvault' },
      req.headers.host,
      deps.fallbackHost(),
    )

    let segs = path
      .split('/')
      .slice(1)
      .filter((s) => s !== '')
    let vaultName: string
    let prefix = ''
    if (addressing === 'host') {
      const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '')
      const m = VAULT_HOST.exec(host)
      if (!m) return fail(new KvError('VaultNotFound', { name: host }))
      vaultName = m[1] as string
    } else {
      const first = decodeSegment(segs[0] ?? '')
      if (!first) return fail(new KvError('VaultNotFound', { name: '' }))
      vaultName = first
      prefix = `/${encodeURIComponent(first)}`
      segs = segs.slice(1)
    }
    const vault = await deps.vaults.byName(vaultName)
    if (!vault) return fail(new KvError('VaultNotFound', { name: vaultName }))
    headers['x-ms-keyvault-region'] = vault.location
    const details: Record<string, unknown> = { vault: vault.name, method, path }

    // -- authentication: every 401 carries the challenge naming the vault's tenant and Key Vault's resource.
    const authorization = req.headers.authorization
    let caller: VerifiedToken
    try {
      caller = await deps.verifier.verify(authorization, { audiences: AUDIENCES.vault })
      if (caller.tenantId !== vault.tenantId.toLowerCase())
        throw new AuthError('WrongIssuer', { detail: `token of tenant ${caller.tenantId}` })
    } catch (e) {
      if (!(e instanceof AuthError)) throw e
      const { key, args } = authFailure(e)
      audit({
        result: 'failure',
        requestId,
        reason:
          e.code === 'MissingToken'
            ? 'Key Vault challenge: no bearer token'
            : `Key Vault authentication failed: ${e.code}`,
        errorCode: e.code,
        details,
      })
      headers['www-authenticate'] =
        `Bearer authorization="https://login.microsoftonline.com/${vault.tenantId}", resource="https://vault.azure.net"`
      if (key === 'WrongIssuer') {
        args.tenant = vault.tenantId
        args.issuer = unverifiedIssuer(authorization)
      }
      return fail(new KvError(key, args, e.detail))
    }

    // -- api-version
    const apiVersion = query.get('api-version')
    if (apiVersion === null || apiVersion === '') return fail(new KvError('ApiVersionMissing'))
    if (!isKnownApiVersion(apiVersion)) return fail(new KvError('ApiVersionUnknown', { version: apiVersion }))

    // -- route and names
    const decoded = segs.map(decodeSegment)
    const rt = route(
      method,
      decoded.map((s) => s ?? '\u0000'),
      path,
    )
    if (rt.name !== undefined && !NAME_RE.test(rt.name))
      return fail(new KvError('InvalidName', { name: rt.name.replace(/\u0000/g, '') }))

    // -- authorization (RBAC dataActions; api-shapes §7.1, §7.5)
    const scope = rt.name === undefined ? vault.id : `${vault.id}/secrets/${rt.name}`
    const d = deps.access.check({ principalId: caller.principalId, action: rt.action, scope, kind: 'dataAction' })
    const grant = d.grant && `${d.grant.role.roleName} at ${d.grant.assignment.scope}`
    audit({
      result: d.allowed ? 'success' : 'failure',
      requestId,
      caller,
      reason: d.allowed ? `allowed by ${grant}` : `no role assignment grants ${rt.action}`,
      details: { ...details, action: rt.action, scope },
    })
    if (!d.allowed)
      return fail(
        new KvError('ForbiddenByRbac', {
          appId: caller.appId,
          objectId: caller.principalId,
          issuer: String(caller.claims.iss ?? ''),
          action: rt.action,
          resource: scope.toLowerCase(),
          vault: vault.name,
          location: vault.location,
        }),
      )
    if (d.grant) headers['x-ms-keyvault-rbac-assignment-id'] = d.grant.assignment.id

    // -- body
    let body: unknown
    if (rt.body) {
      const raw = await readBody(req, maxBody)
      if (raw === null)
        return fail(new KvError('BadBody', { message: `The request body is larger than ${maxBody} bytes.` }))
      const text = raw.toString('utf8').trim()
      if (text !== '') {
        try {
          body = JSON.parse(text)
        } catch {
          return fail(new KvError('BadBody', { message: 'The request body is not valid JSON.' }))
        }
      }
    }

    // -- the operation
    const ctx: OpContext = { vault, base: origin, apiVersion }
    const page = () => pageParams(query)
    const s = deps.service
    const name = rt.name as string
    const ok = (status: number, out: unknown) => sendJson(res, status, out, headers)
    const listed = (p: Page<unknown>, collection: string, maxresults: string | null) =>
      ok(200, {
        value: p.value,
        nextLink: p.next === null ? null : nextLink(`${origin}${prefix}/${collection}`, apiVersion, p.next, maxresults),
      })
    switch (rt.op) {
      case 'set':
        return ok(200, await s.set(ctx, name, parseSetBody(body)))
      case 'get':
        return ok(200, await s.get(ctx, name, rt.version))
      case 'update':
        return ok(200, await s.update(ctx, name, rt.version, parseUpdateBody(body)))
      case 'delete':
        return ok(200, await s.delete(ctx, name))
      case 'list':
        return listed(await s.list(ctx, page()), 'secrets', query.get('maxresults'))
      case 'versions':
        return listed(
          await s.listVersions(ctx, name, page()),
          `secrets/${encodeURIComponent(name)}/versions`,
          query.get('maxresults'),
        )
      case 'listDeleted':
        return listed(await s.listDeleted(ctx, page()), 'deletedsecrets', query.get('maxresults'))
      case 'getDeleted':
        return ok(200, await s.getDeleted(ctx, name))
      case 'recover':
        return ok(200, await s.recover(ctx, name))
      case 'purge':
        await s.purge(ctx, name)
        return sendJson(res, 204, undefined, headers)
      case 'backup':
        return ok(200, { value: (await s.backup(ctx, name)).toString('base64url') })
      case 'restore':
        return ok(200, await s.restore(ctx, parseRestoreBody(body)))
    }
  }

  return {
    /** A node:http request listener for one addressing style. Never throws; bad input gets Key Vault's errors. */
    listener(addressing: Addressing) {
      return (req: IncomingMessage, res: ServerResponse) => {
        serve(req, res, addressing).catch((err: unknown) => {
          deps.logger.error('key vault response failed', { err, method: req.method })
          res.destroy()
        })
      }
    },
  }
}

/** `maxresults` (1–25, default 25) and `$skiptoken` (ours: base64url of {"NextMarker": key}). */
function pageParams(query: URLSearchParams): { limit: number; after?: string } {
  const m = query.get('maxresults')
  let limit = DEFAULT_PAGE
  if (m !== null && m !== '') {
    if (!/^\d{1,3}$/.test(m) || Number(m) < 1 || Number(m) > 25)
      throw new KvError('BadBody', { message: `The value of maxresults (${m.slice(0, 20)}) must be between 1 and 25.` })
    limit = Number(m)
  }
  const token = query.get('$skiptoken')
  if (token === null || token === '') return { limit }
  try {
    const marker = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))?.NextMarker
    if (typeof marker !== 'string' || marker.length > 200) throw new Error('no marker')
    return { limit, after: marker }
  } catch {
    throw new KvError('BadBody', { message: 'The value of $skiptoken is invalid.' })
  }
}

function nextLink(url: string, apiVersion: string, marker: string, maxresults: string | null): string {
  const token = Buffer.from(JSON.stringify({ NextMarker: marker })).toString('base64url')
  const q = new URLSearchParams({ 'api-version': apiVersion, $skiptoken: token })
  if (maxresults) q.set('maxresults', maxresults)
  return `${url}?${q.toString().replace('%24skiptoken', '$skiptoken')}`
}
