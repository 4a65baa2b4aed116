import { X509Certificate, constants, createHash, verify } from 'node:crypto'
import type { Application, DirectoryService, ServicePrincipal } from '../directory/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { StsError } from './errors.ts'
import { FIRST_PARTY_PUBLIC_CLIENTS } from './first-party.ts'
import type { Params } from './form.ts'
import { decodeJwt, num, str } from './jwt.ts'
import type { StsStateStore } from './ports.ts'
import type { TenantRef } from './tenants.ts'
import type { FederatedVerifier } from './federated.ts'

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export interface Client {
  clientId: string
  displayName: string
  isPublic: boolean
  firstParty: boolean
  /** The client's service principal in the token's tenant (null for first-party public clients). */
  servicePrincipal: ServicePrincipal | null
  application: Application | null
  tenantId: string | null
}

export interface AuthenticatedClient extends Client {
  method: 'none' | 'secret' | 'certificate' | 'federated'
  /** appidacr / azpacr */
  acr: '0' | '1' | '2'
}

export interface ClientAuthDeps {
  directory: DirectoryService
  state: StsStateStore
  clock: Clock
  clockSkewMs: number
  federated: FederatedVerifier
}

export interface ClientAuthInput {
  params: Params
  basic: { clientId: string; secret: string } | null
  tenant: TenantRef
  /**
   * Audiences an assertion may carry: the token endpoints of this tenant on every origin azid answers for (a function:
   * only certificate assertions need them, and a secret check should not pay for building them).
   */
  assertionAudiences: () => readonly string[]
  /** Grants such as client_credentials refuse public clients. */
  requireConfidential: boolean
  grantType: string
}

/** Finds the calling client: its service principal in the tenant, an application anywhere for multi-tenant aliases, or a first-party public client. */
export async function findClient(
  deps: Pick<ClientAuthDeps, 'directory'>,
  tenant: TenantRef,
  clientId: string,
): Promise<Client> {
  const id = clientId.trim().toLowerCase()
  const store = deps.directory.store
  if (tenant.kind === 'tenant') {
    const sp = await store.getServicePrincipalByAppId(tenant.tenant.id, id)
    if (sp) {
      const app = sp.type === 'Application' ? ((await store.getApplicationByAppId(id)) ?? null) : null
      return {
        clientId: id,
        displayName: sp.displayName,
        isPublic: app?.isPublicClient ?? false,
        firstParty: false,
        servicePrincipal: sp,
        application: app,
        tenantId: tenant.tenant.id,
      }
    }
  } else {
    const app = await store.getApplicationByAppId(id)
    if (app) {
      const sp = (await store.getServicePrincipalByAppId(app.tenantId, id)) ?? null
      return {
        clientId: id,
        displayName: app.displayName,
        isPublic: app.isPublicClient,
        firstParty: false,
        servicePrincipal: sp,
        application: app,
        tenantId: app.tenantId,
      }
    }
  }
  const fp = FIRST_PARTY_PUBLIC_CLIENTS.find((c) => c.appId === id)
  if (fp) {
    return {
      clientId: id,
      displayName: fp.displayName,
      isPublic: true,
      firstParty: true,
      servicePrincipal: null,
      application: null,
      tenantId: tenant.kind === 'tenant' ? tenant.tenant.id : null,
    }
  }
  // Since 2023 Entra names the tenant by its display name here, even when the request used the GUID (docs/wire §4).
  throw new StsError('clientNotFound', {
    clientId,
    tenant: tenant.kind === 'tenant' ? tenant.tenant.displayName : tenant.path,
  })
}

const norm = (s: string) => s.trim().replace(/\/+$/, '').toLowerCase()

/** x5t values arrive base64url (msal-node) or padded standard base64 (MSAL Python); thumbprints are compared as hex. */
function thumbprintHex(v: string): string {
  return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('hex').toUpperCase()
}

/**
 * Authenticates the client of a token request: a secret (body or HTTP Basic), a certificate assertion (RS256 or
 * PS256, `x5t` or `x5t#S256`), a federated assertion from a trusted issuer, or none for public clients.
 */
export async function authenticateClient(deps: ClientAuthDeps, input: ClientAuthInput): Promise<AuthenticatedClient> {
  const { params, basic } = input
  const bodySecret = params.get('client_secret')
  const assertion = params.get('client_assertion')
  const assertionType = params.get('client_assertion_type')
  const bodyClientId = params.get('client_id')
  const given = [basic !== null, bodySecret !== undefined, assertion !== undefined].filter(Boolean).length
  if (given > 1) throw new StsError('conflictingClientCredentials')
  if (basic && bodyClientId && bodyClientId.toLowerCase() !== basic.clientId.toLowerCase())
    throw new StsError('conflictingClientCredentials', {}, 'Basic client id differs from client_id')
  const clientId = basic?.clientId ?? bodyClientId
  if (!clientId || clientId.trim() === '') throw new StsError('missingParameter', { name: 'client_id' })

  const client = await findClient(deps, input.tenant, clientId)
  if (client.servicePrincipal && !client.servicePrincipal.accountEnabled)
    throw new StsError('clientDisabled', { clientId: client.clientId, displayName: client.displayName })

  if (client.isPublic) {
    if (given > 0) throw new StsError('publicClientWithCredential')
    if (input.requireConfidential) throw new StsError('missingClientCredentialCc', { grantType: input.grantType })
    return { ...client, method: 'none', acr: '0' }
  }

  const secret = basic?.secret ?? bodySecret
  if (secret !== undefined) {
    const check = await deps.directory.checkSecret(client.clientId, secret)
    if (!check.ok) {
      throw new StsError(check.reason === 'expired' ? 'expiredClientSecret' : 'invalidClientSecret', {
        clientId: client.clientId,
      })
    }
    return { ...client, method: 'secret', acr: '1' }
  }

  if (assertion !== undefined) {
    if (assertionType !== JWT_BEARER) throw new StsError('assertionTypeInvalid')
    const jwt = decodeJwt(assertion)
    const iss = str(jwt.payload.iss)
    const sub = str(jwt.payload.sub)
    if (iss !== undefined && iss.toLowerCase() === client.clientId) {
      if (sub?.toLowerCase() !== client.clientId) throw new StsError('assertionSubjectMismatch')
      await verifyCertificateAssertion(deps, client, jwt, input.assertionAudiences())
      return { ...client, method: 'certificate', acr: '2' }
    }
    await deps.federated.verify({ clientId: client.clientId, assertion, decoded: jwt })
    return { ...client, method: 'federated', acr: '2' }
  }

  throw new StsError(input.requireConfidential ? 'missingClientCredentialCc' : 'missingClientCredential', {
    grantType: input.grantType,
  })
}

/** Entra prints assertion times with seven fractional digits: 2025-08-29T05:47:32.1501147Z. */
const entraTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')
const certTime = (ms: number) => {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
}

const HASHES: Record<string, string> = {
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
}

async function verifyCertificateAssertion(
  deps: ClientAuthDeps,
  client: Client,
  jwt: ReturnType<typeof decodeJwt>,
  audiences: readonly string[],
): Promise<void> {
  const { header, payload } = jwt
  const alg = str(header.alg) ?? ''
  const hash = HASHES[alg]
  if (!hash) throw new StsError('assertionAlgUnsupported', { alg: String(header.alg) })
  for (const claim of ['aud', 'exp']) {
    if (payload[claim] === undefined) throw new StsError('assertionClaimMissing', { claim })
  }

  const aud = payload.aud
  const auds = Array.isArray(aud)
    ? aud.filter((a): a is string => typeof a === 'string')
    : typeof aud === 'string'
      ? [aud]
      : []
  const allowed = new Set(audiences.map(norm))
  if (!auds.some((a) => allowed.has(norm(a)))) throw new StsError('assertionAudienceInvalid')

  const now = deps.clock.now()
  const exp = num(payload.exp)
  const nbf = num(payload.nbf)
  const jti = str(payload.jti)
  if (exp === undefined) throw new StsError('assertionMalformed')
  if (jti === undefined || jti === '') throw new StsError('assertionClaimMissing', { claim: 'jti' })
  if (exp * 1000 + deps.clockSkewMs < now || (nbf !== undefined && nbf * 1000 - deps.clockSkewMs > now)) {
    throw new StsError('assertionExpired', {
      now: entraTime(now),
      nbf: entraTime((nbf ?? 0) * 1000),
      exp: entraTime(exp * 1000),
    })
  }

  const x5tS256 = str(header['x5t#S256'])
  const x5t = str(header.x5t)
  const store = deps.directory.store
  let cred: Awaited<ReturnType<typeof store.findKeyCredential>>
  let shown = ''
  if (x5tS256) {
    shown = thumbprintHex(x5tS256)
    cred = await store.findKeyCredential({ appId: client.clientId, sha256Hex: shown })
  } else if (x5t) {
    shown = thumbprintHex(x5t)
    cred = await store.findKeyCredential({ appId: client.clientId, sha1Hex: shown })
  }
  if (!x5tS256 && !x5t) throw new StsError('assertionNoThumbprint')
  if (!cred) throw new StsError('assertionKeyNotFound', { thumbprint: shown, clientId: client.clientId })
  const window = { thumbprint: shown, start: certTime(cred.startAt), end: certTime(cred.endAt) }
  if (cred.endAt <= now || cred.startAt > now + deps.clockSkewMs) throw new StsError('assertionCertExpired', window)

  const key = new X509Certificate(Buffer.from(cred.certDer, 'base64')).publicKey
  const data = Buffer.from(jwt.signingInput)
  const ok = alg.startsWith('RS')
    ? verify(hash, data, key, jwt.signature)
    : verify(
        hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        jwt.signature,
      )
  if (!ok) throw new StsError('assertionSignatureInvalid', window)

  // Every jti is remembered until the assertion expires. Entra lets a client present the same signed assertion
  // again (msal-node reuses one for up to 10 minutes), so only a jti reused with a different assertion is refused.
  const seen = await deps.state.rememberAssertion({
    key: `${client.clientId}:${jti}`,
    fingerprint: createHash('sha256').update(jwt.signingInput).update(jwt.signature).digest('base64url'),
    expiresAt: exp * 1000 + deps.clockSkewMs,
  })
  if (seen === 'different') throw new StsError('assertionReplayed')
}
