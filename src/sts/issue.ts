import { createHash } from 'node:crypto'
import type { ServicePrincipal, Tenant } from '../directory/index.ts'
import { opaqueToken } from '../kernel/ids.ts'
import { hashSecret } from '../kernel/secrets.ts'
import { appTokenClaims, clientInfo, expiresIn, idTokenClaims, tokenWindow, userTokenClaims } from './claims.ts'
import type { StsDeps, TokenResult, UserTokenRequest } from './context.ts'
import type { ResolvedResource } from './resources.ts'

/** Values of the app roles `principalId` holds on the resource application (the `roles` claim). */
export async function grantedRoles(deps: StsDeps, principalId: string, resource: ResolvedResource): Promise<string[]> {
  if (!resource.application) return []
  const assignments = await deps.directory.store.listAppRoleAssignments({ principalId, resourceAppId: resource.appId })
  const out: string[] = []
  for (const a of assignments) {
    const role = resource.application.appRoles.find((r) => r.id === a.appRoleId && r.isEnabled)
    if (role) out.push(role.value)
  }
  return out
}

/** Client capabilities from the `claims` parameter (`{"access_token":{"xms_cc":{"values":["CP1"]}}}`). */
export function clientCapabilities(claims: string | undefined): string[] {
  if (!claims) return []
  try {
    const v = JSON.parse(claims) as { access_token?: { xms_cc?: { values?: unknown } } }
    const values = v.access_token?.xms_cc?.values
    return Array.isArray(values) ? values.filter((x): x is string => typeof x === 'string') : []
  } catch {
    return []
  }
}

/** An app-only access token for a service principal (client credentials, managed identities). */
export async function issueAppToken(
  deps: StsDeps,
  q: {
    tenant: Tenant
    principal: ServicePrincipal
    clientAuth: '1' | '2'
    resource: ResolvedResource
    origin: string
    lifetimeMs: number
    capabilities?: readonly string[]
  },
): Promise<TokenResult> {
  const now = deps.clock.now()
  const window = tokenWindow(now, q.lifetimeMs)
  const claims = appTokenClaims({
    version: q.resource.tokenVersion,
    tenantId: q.tenant.id,
    tenantCreatedAt: q.tenant.createdAt,
    audience: q.resource.audience,
    clientId: q.principal.appId,
    principalId: q.principal.objectId,
    clientAuth: q.clientAuth,
    window,
    origin: q.origin,
    managedIdentityResourceId: q.principal.managedIdentityResourceId,
    roles: await grantedRoles(deps, q.principal.objectId, q.resource),
    clientCapabilities: q.capabilities ?? [],
    ids: deps.ids,
  })
  const accessToken = await deps.minter.mint(claims, { version: q.resource.tokenVersion })
  const ttl = expiresIn(now, window.exp)
  return {
    version: 1,
    accessToken,
    expiresIn: ttl,
    extExpiresIn: ttl,
    expiresOn: window.exp,
    notBefore: window.nbf,
    resource: q.resource.requested,
  }
}

/** Pairwise `sub` of a user for one client, stable across sign-ins. */
export function pairwiseSub(userId: string, clientId: string, tenantId: string): string {
  return createHash('sha256').update(`${tenantId}:${clientId}:${userId}`).digest('base64url').slice(0, 43)
}

/** Access, refresh and (with `openid`) id token for a signed-in user. */
export async function issueUserTokens(q: UserTokenRequest, capabilities: readonly string[]): Promise<TokenResult> {
  const { deps, tenant, client, user, resource } = q
  const now = deps.clock.now()
  const window = tokenWindow(now, deps.settings.accessTokenLifetimeMs)
  const sub = pairwiseSub(user.objectId, client.clientId, tenant.id)
  const claims = userTokenClaims({
    version: resource.tokenVersion,
    tenantId: tenant.id,
    tenantCreatedAt: tenant.createdAt,
    audience: resource.audience,
    clientId: client.clientId,
    clientAuth: client.acr,
    user,
    scopes: resource.scopes,
    window,
    origin: q.req.origin,
    roles: await grantedRoles(deps, user.objectId, resource),
    clientCapabilities: capabilities,
    ids: deps.ids,
    sub,
  })
  const accessToken = await deps.minter.mint(claims, { version: resource.tokenVersion })

  const refreshToken = `1.A${opaqueToken(deps.ids, 48)}`
  const salt = 'rt'
  await deps.state.insertRefreshToken({
    tokenHash: hashSecret(refreshToken, salt),
    tenantId: tenant.id,
    clientId: client.clientId,
    userId: user.objectId,
    scope: q.scope,
    familyId: q.familyId ?? deps.ids.uuid(),
    expiresAt: now + deps.settings.refreshTokenLifetimeMs,
    revokedAt: null,
    createdAt: now,
  })

  let idToken: string | undefined
  if (q.wantIdToken) {
    const idWindow = tokenWindow(now, deps.settings.idTokenLifetimeMs)
    idToken = await deps.minter.mint(
      idTokenClaims({
        version: q.req.version,
        tenantId: tenant.id,
        clientId: client.clientId,
        user,
        window: idWindow,
        origin: q.req.origin,
        nonce: q.nonce,
        sub,
        ids: deps.ids,
      }),
      { version: 2 },
    )
  }
  const ttl = expiresIn(now, window.exp)
  return {
    version: q.req.version,
    accessToken,
    expiresIn: ttl,
    extExpiresIn: ttl,
    expiresOn: window.exp,
    notBefore: window.nbf,
    resource: resource.requested,
    scope: q.scope,
    refreshToken,
    ...(idToken ? { idToken } : {}),
    clientInfo: clientInfo(user.objectId, tenant.id),
  }
}

/** Refresh tokens are looked up by a fixed-salt hash (they carry 384 random bits). */
export const refreshTokenHash = (token: string) => hashSecret(token, 'rt')
