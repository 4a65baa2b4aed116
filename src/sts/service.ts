import { isDomainError } from '../kernel/errors.ts'
import { opaqueToken } from '../kernel/ids.ts'
import type { ServicePrincipal, Tenant, User } from '../directory/index.ts'
import { type ClientAuthDeps, authenticateClient, findClient } from './client-auth.ts'
import type { AuditNotes, GrantContext, StsDeps, TokenRequest, TokenResult } from './context.ts'
import { StsError } from './errors.ts'
import { FIRST_PARTY_PUBLIC_CLIENTS } from './first-party.ts'
import { authorizationCodeHash, deviceCodeHash, grantRegistry } from './grants/index.ts'
import { issueAppToken } from './issue.ts'
import type { DeviceCodeRecord } from './ports.ts'
import { parseScope, resolveResource, type ResolvedResource } from './resources.ts'
import { encodeRequest, requireScope, type StoredRequest } from './scope-request.ts'
import { resolveTenant } from './tenants.ts'

export interface DeviceCodeStart {
  version: 1 | 2
  userCode: string
  deviceCode: string
  verificationUri: string
  expiresIn: number
  interval: number
  message: string
}

export interface AuthorizeRequest {
  version: 1 | 2
  tenantSegment: string
  clientId: string
  redirectUri: string
  responseType: string
  /** v2 scope or v1 resource, as stored. */
  request: StoredRequest
  state: string | null
  nonce: string | null
  codeChallenge: string | null
  codeChallengeMethod: string | null
  responseMode: 'query' | 'form_post' | 'fragment'
  loginHint: string | null
  /** The origin the request came to (same-origin redirect URIs of first-party clients). */
  origin?: string
}

export interface StsService {
  token(req: TokenRequest): Promise<TokenResult>
  /** Records a token request refused before it reached `token` (unreadable or oversized body, wrong method). */
  refuseToken(q: Pick<TokenRequest, 'version' | 'requestId' | 'host'> & { err: unknown }): void
  startDeviceCode(q: {
    version: 1 | 2
    tenantSegment: string
    params: ReadonlyMap<string, string>
    origin: string
    requestId: string
  }): Promise<DeviceCodeStart>
  /** Approves or denies a pending device code as `user` (CLI, admin API and the sign-in page). */
  decideDeviceCode(q: { userCode: string; user: User; approve: boolean }): Promise<DeviceCodeRecord>
  pendingDeviceCodes(): Promise<DeviceCodeRecord[]>
  /** Checks an /authorize request before the sign-in page is shown; throws StsError for a bad client or redirect URI. */
  validateAuthorize(q: AuthorizeRequest): Promise<{ clientName: string }>
  /** Signs the user in and mints a one-time code. */
  completeAuthorize(q: AuthorizeRequest, user: User): Promise<string>
  /** An app-only token for a service principal, in process (managed-identity endpoints). */
  issueForPrincipal(q: {
    principal: ServicePrincipal
    resource: string
    origin: string
    lifetimeMs: number
    requestId: string
    host: string | null
  }): Promise<TokenResult & { resolved: ResolvedResource }>
  resolveTenant: typeof resolveTenant
}

const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'

function assertionAudiences(req: TokenRequest, known: readonly string[], tenant: Tenant | null): string[] {
  const origins = new Set([req.origin, ...known])
  const names = new Set([req.tenantSegment])
  if (tenant) {
    names.add(tenant.id)
    names.add(tenant.domain)
  }
  const out: string[] = []
  for (const o of origins)
    for (const t of names)
      out.push(`${o}/${t}/oauth2/v2.0/token`, `${o}/${t}/oauth2/token`, `${o}/${t}/v2.0`, `${o}/${t}`)
  return out
}

/**
 * Redirect URIs first-party public clients may use: loopback on any port, the native-client page, and for the
 * portal its page on the origin the request came to (never another origin: PKCE alone does not stop a code being
 * sent to an attacker who started the flow).
 */
function firstPartyRedirectAllowed(uri: string, clientId: string, origin: string | undefined): boolean {
  try {
    const u = new URL(uri)
    const paths = FIRST_PARTY_PUBLIC_CLIENTS.find((c) => c.appId === clientId.toLowerCase())?.sameOriginRedirectPaths
    if (paths) return origin !== undefined && u.origin === origin && paths.includes(u.pathname) && u.search === ''
    if (u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1')) return true
    return u.pathname.endsWith('/oauth2/nativeclient')
  } catch {
    return false
  }
}

export function createStsService(deps: StsDeps): StsService {
  const grants = grantRegistry()

  function recordRefusal(
    req: Pick<TokenRequest, 'version' | 'requestId' | 'host' | 'params' | 'basic'>,
    notes: AuditNotes & { grantType?: string },
    err: unknown,
  ): void {
    deps.audit.record({
      kind: 'token',
      result: 'failure',
      tenantId: notes.tenantId ?? null,
      clientId: notes.clientId ?? req.params.get('client_id') ?? req.basic?.clientId ?? null,
      principalId: notes.principalId ?? null,
      host: req.host,
      audience: notes.audience ?? null,
      grantType: notes.grantType ?? null,
      requestId: req.requestId,
      errorCode: isDomainError(err) ? err.code : 'serverError',
      reason: isDomainError(err) ? (err.detail ?? err.code) : 'internal error',
      details: { endpoint: req.version === 1 ? 'v1' : 'v2' },
    })
  }

  /** The client-authentication view of deps, made again only when the settings object changes. */
  let authView: { settings: StsDeps['settings']; deps: ClientAuthDeps } | null = null
  const authDeps = (): ClientAuthDeps => {
    if (authView?.settings !== deps.settings)
      authView = { settings: deps.settings, deps: { ...deps, clockSkewMs: deps.settings.clockSkewMs } }
    return authView.deps
  }

  async function runToken(req: TokenRequest, notes: AuditNotes & { grantType?: string }): Promise<TokenResult> {
    const tenant = await resolveTenant(deps.directory.store, req.tenantSegment)
    if (tenant.kind === 'tenant') notes.tenantId = tenant.tenant.id
    const grantType = req.params.get('grant_type')
    if (!grantType) throw new StsError('missingParameter', { name: 'grant_type' })
    notes.grantType = grantType
    const grant = grants.get(grantType)
    if (!grant) throw new StsError('unsupportedGrantType', { grantType })
    const ctx: GrantContext = {
      deps,
      req,
      tenant,
      notes,
      authenticate: ({ requireConfidential }) =>
        authenticateClient(authDeps(), {
          params: req.params,
          basic: req.basic,
          tenant,
          assertionAudiences: () =>
            assertionAudiences(req, deps.knownOrigins, tenant.kind === 'tenant' ? tenant.tenant : null),
          requireConfidential,
          grantType,
        }),
    }
    return grant.handle(ctx)
  }

  const service: StsService = {
    resolveTenant,

    async token(req) {
      const notes: AuditNotes & { grantType?: string } = {}
      try {
        const result = await runToken(req, notes)
        deps.audit.record({
          kind: 'token',
          result: 'success',
          tenantId: notes.tenantId ?? null,
          clientId: notes.clientId ?? null,
          principalId: notes.principalId ?? null,
          host: req.host,
          audience: notes.audience ?? null,
          grantType: notes.grantType ?? null,
          requestId: req.requestId,
          details: { endpoint: req.version === 1 ? 'v1' : 'v2' },
        })
        return result
      } catch (err) {
        const pending = isDomainError(err) && (err.code === 'authorizationPending' || err.code === 'slowDown')
        // Polling answers are part of a working flow, not refusals; they would flood the log.
        if (!pending) recordRefusal(req, notes, err)
        throw err
      }
    },

    refuseToken(q) {
      recordRefusal({ ...q, params: new Map(), basic: null }, {}, q.err)
    },

    async startDeviceCode(q) {
      const tenant = await resolveTenant(deps.directory.store, q.tenantSegment)
      const clientId = q.params.get('client_id')
      if (!clientId) throw new StsError('missingParameter', { name: 'client_id' })
      const client = await findClient(deps, tenant, clientId)
      let stored: StoredRequest
      if (q.version === 2) {
        const scope = requireScope(q.params.get('scope'))
        const parsed = parseScope(scope)
        if (parsed.resource !== null) {
          const t = tenant.kind === 'tenant' ? tenant.tenant : null
          await resolveResource({
            store: deps.directory.store,
            tenantId: t?.id ?? client.tenantId ?? '',
            tenantName: t?.domain ?? tenant.path,
            resource: parsed.resource,
          })
        }
        stored = { version: 2, scope }
      } else {
        const resource = q.params.get('resource')
        if (!resource) throw new StsError('missingParameter', { name: 'resource' })
        stored = { version: 1, resource }
      }
      const now = deps.clock.now()
      const deviceCode = opaqueToken(deps.ids, 48)
      const bytes = deps.ids.bytes(9)
      let userCode = ''
      for (const b of bytes) userCode += USER_CODE_ALPHABET[b % USER_CODE_ALPHABET.length]
      const interval = deps.settings.deviceCodeIntervalS
      const expiresIn = Math.floor(deps.settings.deviceCodeLifetimeMs / 1000)
      await deps.state.insertDeviceCode({
        deviceCodeHash: deviceCodeHash(deviceCode),
        userCode,
        tenantPath: tenant.path,
        clientId: client.clientId,
        scope: encodeRequest(stored),
        status: 'pending',
        userId: null,
        userTenantId: null,
        intervalS: interval,
        lastPollAt: null,
        expiresAt: now + deps.settings.deviceCodeLifetimeMs,
        createdAt: now,
      })
      const verificationUri = `${q.origin}/devicelogin`
      return {
        version: q.version,
        userCode,
        deviceCode,
        verificationUri,
        expiresIn,
        interval,
        message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
      }
    },

    async decideDeviceCode(q) {
      const rec = await deps.state.getDeviceCodeByUserCode(q.userCode.trim())
      if (rec?.status !== 'pending') throw new StsError('deviceCodeInvalid')
      if (deps.clock.now() >= rec.expiresAt) throw new StsError('deviceCodeExpired')
      if (rec.tenantPath !== 'common' && rec.tenantPath !== 'organizations') {
        const t = await deps.directory.store.getTenant(rec.tenantPath)
        if (t && t.id !== q.user.tenantId)
          throw new StsError('userNotInTenant', { user: q.user.userPrincipalName, tenant: t.domain })
      }
      const ok = await deps.state.setDeviceCodeStatus({
        hash: rec.deviceCodeHash,
        fromStatus: 'pending',
        status: q.approve ? 'approved' : 'denied',
        userId: q.user.objectId,
        userTenantId: q.user.tenantId,
      })
      if (!ok) throw new StsError('deviceCodeInvalid')
      deps.audit.record({
        kind: 'token',
        result: q.approve ? 'success' : 'failure',
        tenantId: q.user.tenantId,
        clientId: rec.clientId,
        principalId: q.user.objectId,
        grantType: 'device_code',
        reason: q.approve ? 'device code approved' : 'device code denied by the user',
      })
      return { ...rec, status: q.approve ? 'approved' : 'denied', userId: q.user.objectId }
    },

    pendingDeviceCodes() {
      return deps.state.listPendingDeviceCodes(deps.clock.now())
    },

    async validateAuthorize(q) {
      const tenant = await resolveTenant(deps.directory.store, q.tenantSegment)
      const client = await findClient(deps, tenant, q.clientId)
      const allowed = client.firstParty
        ? firstPartyRedirectAllowed(q.redirectUri, client.clientId, q.origin)
        : (client.application?.redirectUris ?? []).includes(q.redirectUri)
      if (!allowed)
        throw new StsError('redirectUriNotRegistered', { redirectUri: q.redirectUri, clientId: client.clientId })
      if (q.responseType !== 'code') throw new StsError('unsupportedResponseType', { responseType: q.responseType })
      return { clientName: client.displayName }
    },

    async completeAuthorize(q, user) {
      const tenant = await resolveTenant(deps.directory.store, q.tenantSegment)
      if (tenant.kind === 'tenant' && tenant.tenant.id !== user.tenantId)
        throw new StsError('userNotInTenant', { user: user.userPrincipalName, tenant: tenant.tenant.domain })
      const code = opaqueToken(deps.ids, 48)
      const now = deps.clock.now()
      await deps.state.insertAuthorizationCode({
        codeHash: authorizationCodeHash(code),
        tenantId: user.tenantId,
        clientId: q.clientId.toLowerCase(),
        userId: user.objectId,
        redirectUri: q.redirectUri,
        scope: encodeRequest(q.request),
        codeChallenge: q.codeChallenge,
        codeChallengeMethod: q.codeChallenge ? (q.codeChallengeMethod ?? 'plain') : null,
        nonce: q.nonce,
        expiresAt: now + deps.settings.authorizationCodeLifetimeMs,
        usedAt: null,
        createdAt: now,
      })
      return code
    },

    async issueForPrincipal(q) {
      const tenant = await deps.directory.store.getTenant(q.principal.tenantId)
      if (!tenant) throw new StsError('tenantNotFound', { tenant: q.principal.tenantId })
      const resolved = await resolveResource({
        store: deps.directory.store,
        tenantId: tenant.id,
        tenantName: tenant.id,
        resource: q.resource,
      })
      const result = await issueAppToken(deps, {
        tenant,
        principal: q.principal,
        clientAuth: '2',
        resource: resolved,
        origin: q.origin,
        lifetimeMs: q.lifetimeMs,
      })
      deps.audit.record({
        kind: 'token',
        result: 'success',
        tenantId: tenant.id,
        clientId: q.principal.appId,
        principalId: q.principal.objectId,
        host: q.host,
        audience: resolved.audience,
        grantType: 'managed_identity',
        requestId: q.requestId,
      })
      return { ...result, resolved }
    },
  }
  return service
}
