import type { Ids } from '../kernel/ids.ts'
import { base64url } from '../kernel/ids.ts'

/** Issuer of v1 tokens: always Entra's `sts.windows.net` form (api-shapes §8.3). */
export const v1Issuer = (tenantId: string) => `https://sts.windows.net/${tenantId}/`
/** Issuer of v2 tokens and of the v2 discovery document: the origin the client used (msal-node checks it). */
export const v2Issuer = (origin: string, tenantId: string) => `${origin}/${tenantId}/v2.0`

export interface TimeWindow {
  iat: number
  nbf: number
  exp: number
}

/** Entra back-dates iat/nbf by five minutes for clock skew (TOK-005: expires_on − not_before = 3900 for 1 h tokens). */
export function tokenWindow(nowMs: number, lifetimeMs: number): TimeWindow {
  const now = Math.floor(nowMs / 1000)
  return { iat: now - 300, nbf: now - 300, exp: now + Math.floor(lifetimeMs / 1000) }
}

/**
 * Seconds left from now, as Entra reports them: a 1 h token says 3599 (TOK-005), also when `now` falls on a whole
 * second (rounding up alone would say 3600 there).
 */
export const expiresIn = (nowMs: number, exp: number) => Math.max(0, exp - Math.floor(nowMs / 1000) - 1)

const opaque = (ids: Ids, n: number) => base64url(ids.bytes(n))

export interface AppTokenInput {
  version: 1 | 2
  tenantId: string
  tenantCreatedAt: number
  audience: string
  clientId: string
  principalId: string
  /** "1" secret, "2" certificate or federated assertion (and managed identities). */
  clientAuth: '0' | '1' | '2'
  window: TimeWindow
  origin: string
  managedIdentityResourceId?: string | null
  roles?: readonly string[]
  clientCapabilities?: readonly string[]
  ids: Ids
}

/** Claims of an app-only access token, in Entra's order (api-shapes §8.3/§8.4). */
export function appTokenClaims(t: AppTokenInput): Record<string, unknown> {
  const iss = t.version === 1 ? v1Issuer(t.tenantId) : v2Issuer(t.origin, t.tenantId)
  const c: Record<string, unknown> = { aud: t.audience, iss, iat: t.window.iat, nbf: t.window.nbf, exp: t.window.exp }
  c.aio = opaque(t.ids, 42)
  if (t.version === 1) {
    c.appid = t.clientId
    c.appidacr = t.clientAuth
    c.idp = iss
  } else {
    c.azp = t.clientId
    c.azpacr = t.clientAuth
  }
  c.idtyp = 'app'
  c.oid = t.principalId
  c.rh = `1.A${opaque(t.ids, 36)}.`
  if (t.roles && t.roles.length > 0) c.roles = [...t.roles]
  c.sub = t.principalId
  c.tid = t.tenantId
  c.uti = opaque(t.ids, 16)
  c.ver = t.version === 1 ? '1.0' : '2.0'
  if (t.clientCapabilities && t.clientCapabilities.length > 0) c.xms_cc = [...t.clientCapabilities]
  if (t.managedIdentityResourceId) c.xms_mirid = t.managedIdentityResourceId
  c.xms_tcdt = Math.floor(t.tenantCreatedAt / 1000)
  return c
}

export interface UserTokenInput {
  version: 1 | 2
  tenantId: string
  tenantCreatedAt: number
  audience: string
  clientId: string
  /** "0" public client, "1" secret, "2" certificate. */
  clientAuth: '0' | '1' | '2'
  user: { objectId: string; userPrincipalName: string; displayName: string }
  scopes: readonly string[]
  window: TimeWindow
  origin: string
  roles?: readonly string[]
  clientCapabilities?: readonly string[]
  ids: Ids
  /** Pairwise subject for this (user, client). */
  sub: string
}

/** Claims of a delegated (user) access token. */
export function userTokenClaims(t: UserTokenInput): Record<string, unknown> {
  const iss = t.version === 1 ? v1Issuer(t.tenantId) : v2Issuer(t.origin, t.tenantId)
  const [given, ...rest] = t.user.displayName.split(' ')
  const c: Record<string, unknown> = { aud: t.audience, iss, iat: t.window.iat, nbf: t.window.nbf, exp: t.window.exp }
  c.acr = '1'
  c.aio = opaque(t.ids, 42)
  c.amr = ['pwd']
  if (t.version === 1) {
    c.appid = t.clientId
    c.appidacr = t.clientAuth
  } else {
    c.azp = t.clientId
    c.azpacr = t.clientAuth
  }
  if (rest.length > 0) c.family_name = rest.join(' ')
  if (given) c.given_name = given
  c.idtyp = 'user'
  c.name = t.user.displayName
  c.oid = t.user.objectId
  if (t.version === 2) c.preferred_username = t.user.userPrincipalName
  c.rh = `1.A${opaque(t.ids, 36)}.`
  if (t.roles && t.roles.length > 0) c.roles = [...t.roles]
  c.scp = t.scopes.join(' ')
  c.sub = t.sub
  c.tid = t.tenantId
  if (t.version === 1) {
    c.unique_name = t.user.userPrincipalName
    c.upn = t.user.userPrincipalName
  }
  c.uti = opaque(t.ids, 16)
  c.ver = t.version === 1 ? '1.0' : '2.0'
  if (t.clientCapabilities && t.clientCapabilities.length > 0) c.xms_cc = [...t.clientCapabilities]
  c.xms_tcdt = Math.floor(t.tenantCreatedAt / 1000)
  return c
}

/** An OpenID Connect id token (v2 shape; the v1 endpoint gets the v1 issuer and `unique_name`/`upn`). */
export function idTokenClaims(t: {
  version: 1 | 2
  tenantId: string
  clientId: string
  user: { objectId: string; userPrincipalName: string; displayName: string }
  window: TimeWindow
  origin: string
  nonce: string | null
  sub: string
  ids: Ids
}): Record<string, unknown> {
  const iss = t.version === 1 ? v1Issuer(t.tenantId) : v2Issuer(t.origin, t.tenantId)
  const c: Record<string, unknown> = { aud: t.clientId, iss, iat: t.window.iat, nbf: t.window.nbf, exp: t.window.exp }
  c.name = t.user.displayName
  if (t.nonce) c.nonce = t.nonce
  c.oid = t.user.objectId
  c.preferred_username = t.user.userPrincipalName
  c.rh = `1.A${opaque(t.ids, 36)}.`
  c.sub = t.sub
  c.tid = t.tenantId
  if (t.version === 1) {
    c.unique_name = t.user.userPrincipalName
    c.upn = t.user.userPrincipalName
  }
  c.uti = opaque(t.ids, 16)
  c.ver = t.version === 1 ? '1.0' : '2.0'
  return c
}

/** `client_info` of MSAL: base64url JSON of the user's object id and home tenant. */
export const clientInfo = (oid: string, tid: string) => base64url(Buffer.from(JSON.stringify({ uid: oid, utid: tid })))
