import { type KeyObject, hash, verify } from 'node:crypto'
import type { Clock } from '../kernel/clock.ts'
import { DomainError } from '../kernel/errors.ts'

export type AuthErrorCode =
  | 'MissingToken'
  | 'InvalidScheme'
  | 'MalformedToken'
  | 'UnsupportedAlgorithm'
  | 'UnknownKey'
  | 'InvalidSignature'
  | 'Expired'
  | 'NotYetValid'
  | 'WrongAudience'
  | 'WrongIssuer'
  | 'UnknownTenant'

/** A bearer token was refused; each surface renders this in its own wire format. */
export class AuthError extends DomainError<AuthErrorCode> {}

export interface VerifiedToken {
  claims: Readonly<Record<string, unknown>>
  tenantId: string
  /** `oid`: the principal (service principal or user) the token speaks for. */
  principalId: string
  /** `appid` (v1) or `azp` (v2): the client application. */
  appId: string
  isUser: boolean
  audience: string
  version: 1 | 2
  /** `upn`/`preferred_username` for users, else the app id: what ARM prints as "the client" in 403s. */
  displayId: string
  expiresAt: number
}

export interface TokenVerifier {
  /** Verifies `Authorization: Bearer …` for one of `audiences` (compared case-insensitively, trailing slash ignored). */
  verify(authorization: string | undefined, opts: { audiences: readonly string[] }): Promise<VerifiedToken>
}

const norm = (s: string) => s.trim().replace(/\/+$/, '').toLowerCase()

/**
 * Checks signature (RS256 only, key from azid's published set), issuer (v1 `sts.windows.net/{tid}/` or v2
 * `{origin}/{tid}/v2.0` for a known origin), tenant, audience, `nbf` and `exp` — always, in every mode.
 * Verified signatures are cached by token hash until expiry, so repeated calls with one token skip the RSA work.
 */
export function createTokenVerifier(deps: {
  publicKey: (kid: string) => Promise<KeyObject | undefined>
  isKnownTenant: (tenantId: string) => Promise<boolean>
  /** Origins whose `/{tid}/v2.0` issuers are accepted besides login.microsoftonline.com. */
  issuerOrigins: () => readonly string[]
  clock: Clock
  clockSkewMs: number
  cacheSize?: number
}): TokenVerifier {
  const cacheSize = deps.cacheSize ?? 10_000
  const verified = new Map<string, { claims: Record<string, unknown>; version: 1 | 2 }>()

  async function checkSignature(token: string): Promise<{ claims: Record<string, unknown>; version: 1 | 2 }> {
    const key = hash('sha256', token, 'base64url')
    const hit = verified.get(key)
    if (hit) return hit
    const parts = token.split('.')
    if (parts.length !== 3) throw new AuthError('MalformedToken', { detail: 'not a compact JWS' })
    let header: Record<string, unknown>
    let claims: Record<string, unknown>
    try {
      header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8'))
      claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8'))
    } catch {
      throw new AuthError('MalformedToken', { detail: 'segments are not base64url JSON' })
    }
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null)
      throw new AuthError('MalformedToken', { detail: 'segments are not JSON objects' })
    if (header.alg !== 'RS256') throw new AuthError('UnsupportedAlgorithm', { detail: `alg ${String(header.alg)}` })
    const kid = typeof header.kid === 'string' ? header.kid : typeof header.x5t === 'string' ? header.x5t : ''
    const pub = kid ? await deps.publicKey(kid) : undefined
    if (!pub) throw new AuthError('UnknownKey', { detail: `kid ${kid || '(none)'}` })
    const ok = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      pub,
      Buffer.from(parts[2] as string, 'base64url'),
    )
    if (!ok) throw new AuthError('InvalidSignature', { detail: `kid ${kid}` })
    const out = { claims, version: (claims.ver === '2.0' ? 2 : 1) as 1 | 2 }
    if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string)
    verified.set(key, out)
    return out
  }

  return {
    async verify(authorization, opts) {
      if (!authorization || authorization.trim() === '') throw new AuthError('MissingToken')
      const m = /^(\S+)\s+(\S+)$/.exec(authorization.trim())
      if (!m || (m[1] as string).toLowerCase() !== 'bearer')
        throw new AuthError('InvalidScheme', { detail: 'not a Bearer token' })
      const { claims, version } = await checkSignature(m[2] as string)
      const now = deps.clock.now()
      const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : Number.NaN
      const nbf = typeof claims.nbf === 'number' ? claims.nbf * 1000 : 0
      if (!Number.isFinite(exp)) throw new AuthError('MalformedToken', { detail: 'no exp' })
      if (now > exp + deps.clockSkewMs) throw new AuthError('Expired', { detail: `exp ${new Date(exp).toISOString()}` })
      if (now + deps.clockSkewMs < nbf)
        throw new AuthError('NotYetValid', { detail: `nbf ${new Date(nbf).toISOString()}` })
      const tid = typeof claims.tid === 'string' ? claims.tid.toLowerCase() : ''
      const iss = typeof claims.iss === 'string' ? claims.iss : ''
      const issuers = [
        `https://sts.windows.net/${tid}/`,
        `https://login.microsoftonline.com/${tid}/v2.0`,
        ...deps.issuerOrigins().map((o) => `${o}/${tid}/v2.0`),
      ]
      if (!tid || !issuers.some((i) => i.toLowerCase() === iss.toLowerCase()))
        throw new AuthError('WrongIssuer', { detail: `iss ${iss}` })
      if (!(await deps.isKnownTenant(tid))) throw new AuthError('UnknownTenant', { detail: `tid ${tid}` })
      const aud = typeof claims.aud === 'string' ? claims.aud : ''
      if (!opts.audiences.some((a) => norm(a) === norm(aud)))
        throw new AuthError('WrongAudience', { detail: aud, args: { audience: aud } })
      const oid = typeof claims.oid === 'string' ? claims.oid.toLowerCase() : ''
      if (!oid) throw new AuthError('MalformedToken', { detail: 'no oid' })
      const appId = String(claims.appid ?? claims.azp ?? '').toLowerCase()
      const isUser = claims.idtyp === 'user' || typeof claims.scp === 'string'
      const displayId = isUser ? String(claims.upn ?? claims.preferred_username ?? claims.unique_name ?? oid) : appId
      return {
        claims,
        tenantId: tid,
        principalId: oid,
        appId,
        isUser,
        audience: aud,
        version,
        displayId,
        expiresAt: exp,
      }
    },
  }
}
