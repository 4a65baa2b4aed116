import { type JWTVerifyGetKey, createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose'
import type { DirectoryStore, FederatedCredential } from '../directory/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { StsError } from './errors.ts'
import { type DecodedJwt, str } from './jwt.ts'

export interface FederatedVerifier {
  /** Accepts an assertion from a trusted external issuer that matches one of the client's federated credentials. */
  verify(q: { clientId: string; assertion: string; decoded: DecodedJwt }): Promise<FederatedCredential>
}

export interface IssuerKeys {
  /** Keys of an issuer: azid's own issuers locally, others through their OIDC discovery document. */
  get(issuer: string): Promise<JWTVerifyGetKey>
}

/**
 * Resolves signing keys of external OIDC issuers. Only https issuers are contacted — and plain http on loopback,
 * so tests can run an issuer next to azid (docs/deviations.md).
 */
export function createIssuerKeys(deps: {
  local: (issuer: string) => Promise<{ keys: object[] } | undefined>
  fetch?: typeof fetch
  cacheMs?: number
  clock: Clock
}): IssuerKeys {
  const doFetch = deps.fetch ?? fetch
  const cacheMs = deps.cacheMs ?? 10 * 60_000
  const cache = new Map<string, { at: number; get: JWTVerifyGetKey }>()
  return {
    async get(issuer) {
      const local = await deps.local(issuer)
      if (local) return createLocalJWKSet(local as Parameters<typeof createLocalJWKSet>[0])
      const hit = cache.get(issuer)
      if (hit && deps.clock.now() - hit.at < cacheMs) return hit.get
      let url: URL
      try {
        url = new URL(issuer)
      } catch {
        throw new StsError('federatedKeysUnavailable', {}, 'issuer is not a URL')
      }
      const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]'
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
        throw new StsError('federatedKeysUnavailable', {}, 'issuer must use https')
      const discovery = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
      let jwksUri: string
      try {
        const res = await doFetch(discovery, { signal: AbortSignal.timeout(5000) })
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        const doc = (await res.json()) as { jwks_uri?: unknown }
        if (typeof doc.jwks_uri !== 'string') throw new Error('no jwks_uri')
        jwksUri = doc.jwks_uri
      } catch (e) {
        throw new StsError('federatedKeysUnavailable', {}, `OpenID configuration of '${issuer}': ${String(e)}`)
      }
      const get = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000 })
      cache.set(issuer, { at: deps.clock.now(), get })
      return get
    },
  }
}

export function createFederatedVerifier(deps: {
  store: DirectoryStore
  issuerKeys: IssuerKeys
  clock: Clock
  clockSkewMs: number
}): FederatedVerifier {
  return {
    async verify({ clientId, assertion, decoded }) {
      const iss = str(decoded.payload.iss) ?? ''
      const sub = str(decoded.payload.sub) ?? ''
      const rawAud = decoded.payload.aud
      const auds = Array.isArray(rawAud) ? rawAud.map(String) : typeof rawAud === 'string' ? [rawAud] : []
      const creds = await deps.store.listFederatedCredentials(clientId)
      const byIssuer = creds.filter((c) => c.issuer === iss)
      const bySubject = byIssuer.filter((c) => c.subject === sub)
      const match = bySubject.find((c) => c.audiences.some((a) => auds.includes(a)))
      const args = { issuer: iss, subject: sub, audience: auds.join(',') }
      // The most specific failure, as Entra reports it: issuer, then subject, then audience.
      if (creds.length === 0) throw new StsError('federatedNoMatch', args)
      if (byIssuer.length === 0) throw new StsError('federatedIssuerNoMatch', args)
      if (bySubject.length === 0) throw new StsError('federatedSubjectNoMatch', args)
      if (!match) throw new StsError('federatedAudienceNoMatch', args)

      const getKey = await deps.issuerKeys.get(iss)
      try {
        await jwtVerify(assertion, getKey, {
          issuer: iss,
          subject: sub,
          audience: [...match.audiences],
          algorithms: ['RS256', 'PS256', 'ES256', 'RS384', 'RS512', 'ES384'],
          clockTolerance: Math.floor(deps.clockSkewMs / 1000),
          currentDate: new Date(deps.clock.now()),
          requiredClaims: ['exp'],
        })
      } catch (e) {
        if (
          e instanceof joseErrors.JWTExpired ||
          (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'nbf')
        ) {
          const t = (v: unknown) =>
            new Date(typeof v === 'number' ? v * 1000 : 0).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')
          throw new StsError('assertionExpired', {
            now: t(deps.clock.now() / 1000),
            nbf: t(decoded.payload.nbf),
            exp: t(decoded.payload.exp),
          })
        }
        if (e instanceof StsError) throw e
        if (e instanceof joseErrors.JWKSTimeout || e instanceof joseErrors.JWKSInvalid)
          throw new StsError('federatedKeysUnavailable', {}, String(e))
        throw new StsError(
          'federatedSignatureInvalid',
          { reason: 'The signature or claims of the assertion are not valid.' },
          String(e),
        )
      }
      return match
    },
  }
}
