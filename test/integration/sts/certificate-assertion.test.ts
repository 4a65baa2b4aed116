// Certificate client assertions (private_key_jwt) as msal-node and MSAL Python build them (clients.md §4.4), and
// every refusal with its AADSTS code from the catalogue (docs/wire/sts-errors.md §6).
import assert from 'node:assert/strict'
import {
  type KeyObject,
  constants,
  createHash,
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  randomUUID,
  sign,
} from 'node:crypto'
import { after, before, test } from 'node:test'
import { jwtVerify } from 'jose'
import { systemClock } from '../../../src/kernel/clock.ts'
import { systemIds } from '../../../src/kernel/ids.ts'
import { generateCertificate, thumbprints } from '../../../src/keys/index.ts'
import { decodeJwt, postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { JWT_BEARER, b64urlJson, expectStsError, localJwks, v1TokenUrl, v2TokenUrl } from './helpers.ts'

const CERT_DOC = 'https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials'

interface Cert {
  der: Buffer
  key: KeyObject
  tp: ReturnType<typeof thumbprints>
}

let s: TestServer
let appId: string
let spId: string
let cert: Cert
let otherCert: Cert
let expiredCert: Cert

async function makeCert(cn: string): Promise<Cert> {
  const c = await generateCertificate({ commonName: cn, clock: systemClock, ids: systemIds })
  return { der: c.certDer, key: createPrivateKey(c.keyPem), tp: thumbprints(c.certDer) }
}

before(async () => {
  s = await startTestServer()
  const { application, servicePrincipal } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'azid cert client',
  })
  appId = application.appId
  spId = servicePrincipal.objectId
  ;[cert, otherCert, expiredCert] = await Promise.all([makeCert('cert-a'), makeCert('cert-b'), makeCert('cert-c')])
  const now = Date.now()
  await s.server.directory.addCertificate({
    appId,
    certDer: cert.der,
    sha1Hex: cert.tp.sha1Hex,
    sha256Hex: cert.tp.sha256Hex,
    startAt: now - 60_000,
    endAt: now + 365 * 86_400_000,
  })
  await s.server.directory.addCertificate({
    appId,
    certDer: expiredCert.der,
    sha1Hex: expiredCert.tp.sha1Hex,
    sha256Hex: expiredCert.tp.sha256Hex,
    startAt: now - 10 * 86_400_000,
    endAt: now - 86_400_000,
  })
})
after(() => s.stop())

type Alg = 'RS256' | 'PS256'

function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject, alg: Alg): string {
  const input = `${b64urlJson(header)}.${b64urlJson(payload)}`
  const sig =
    alg === 'RS256'
      ? sign('sha256', Buffer.from(input), key)
      : sign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
  return `${input}.${sig.toString('base64url')}`
}

/** msal-node's assertion: PS256 with x5t#S256, integer times, nbf = iat, exp = iat + 600. */
function msalNodeAssertion(
  o: { aud?: string; payload?: Record<string, unknown>; header?: Record<string, unknown> } = {},
) {
  const iat = Math.floor(Date.now() / 1000)
  return signJwt(
    { alg: 'PS256', typ: 'JWT', 'x5t#S256': cert.tp.x5tS256, ...o.header },
    {
      aud: o.aud ?? v2TokenUrl(s),
      iss: appId,
      sub: appId,
      iat,
      nbf: iat,
      exp: iat + 600,
      jti: randomUUID(),
      ...o.payload,
    },
    cert.key,
    'PS256',
  )
}

/** RS256 with a SHA-1 x5t in base64url. */
function rs256Assertion(
  o: { aud?: string; payload?: Record<string, unknown>; header?: Record<string, unknown>; key?: KeyObject } = {},
) {
  const iat = Math.floor(Date.now() / 1000)
  return signJwt(
    { alg: 'RS256', typ: 'JWT', x5t: cert.tp.x5t, ...o.header },
    {
      aud: o.aud ?? v2TokenUrl(s),
      iss: appId,
      sub: appId,
      iat,
      nbf: iat,
      exp: iat + 600,
      jti: randomUUID(),
      ...o.payload,
    },
    o.key ?? cert.key,
    'RS256',
  )
}

function redeem(
  assertion: string,
  o: { version?: 1 | 2; tenant?: string; type?: string; extra?: Record<string, string> } = {},
) {
  const v1 = o.version === 1
  return postForm(v1 ? v1TokenUrl(s, o.tenant) : v2TokenUrl(s, o.tenant), s.ca, {
    grant_type: 'client_credentials',
    client_id: appId,
    client_assertion_type: o.type ?? JWT_BEARER,
    client_assertion: assertion,
    ...(v1 ? { resource: 'https://management.azure.com/' } : { scope: 'https://management.azure.com/.default' }),
    ...o.extra,
  })
}

/** v2 asks for `https://management.azure.com/.default` (aud without the slash), v1 for `…azure.com/`. */
async function expectAppToken(r: Awaited<ReturnType<typeof redeem>>, audience = 'https://management.azure.com') {
  assert.equal(r.status, 200, r.text)
  const token = r.json<{ access_token: string }>().access_token
  const { claims } = decodeJwt(token)
  assert.equal(claims.appid, appId)
  assert.equal(claims.appidacr, '2', 'certificate authentication is appidacr 2')
  assert.equal(claims.oid, spId)
  await jwtVerify(token, await localJwks(s), {
    algorithms: ['RS256'],
    issuer: `https://sts.windows.net/${s.tenantId}/`,
    audience,
  })
}

test('RS256 with x5t (SHA-1, base64url), aud = v2 token endpoint → app token, appidacr 2 (OUT-001)', async () => {
  await expectAppToken(await redeem(rs256Assertion()))
})

test('MSAL Python style: x5t in padded standard base64, float iat/exp, no nbf → accepted', async () => {
  const sha1 = createHash('sha1').update(cert.der).digest('base64')
  assert.ok(sha1.endsWith('='), 'a SHA-1 in standard base64 is padded')
  const now = Date.now() / 1000
  const assertion = signJwt(
    { alg: 'RS256', typ: 'JWT', x5t: sha1 },
    { aud: v2TokenUrl(s), iss: appId, sub: appId, iat: now, exp: now + 600, jti: randomUUID() },
    cert.key,
    'RS256',
  )
  assert.ok(!Number.isInteger(decodeJwt(assertion).claims.iat), 'iat is a float')
  await expectAppToken(await redeem(assertion))
})

test('msal-node style: PS256 with x5t#S256 and x5c → accepted', async () => {
  await expectAppToken(await redeem(msalNodeAssertion({ header: { x5c: [cert.der.toString('base64')] } })))
  await expectAppToken(await redeem(msalNodeAssertion()))
})

test('aud may be the v1 token endpoint, and the tenant may be named by domain in either', async () => {
  await expectAppToken(
    await redeem(rs256Assertion({ aud: v1TokenUrl(s) }), { version: 1 }),
    'https://management.azure.com/',
  )
  const domain = s.server.endpoints.tenantDomain
  await expectAppToken(await redeem(rs256Assertion({ aud: v2TokenUrl(s) }), { tenant: domain }))
  await expectAppToken(await redeem(rs256Assertion({ aud: v2TokenUrl(s, domain) })))
})

test('wrong aud → 401 invalid_client 700023', async () => {
  const r = await redeem(rs256Assertion({ aud: 'https://login.example.com/other/oauth2/v2.0/token' }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700023,
    text: `Client assertion audience claim does not match Realm issuer. Review the documentation at ${CERT_DOC} .`,
    audit: 'assertionAudienceInvalid',
  })
})

test('expired assertion → 401 invalid_client 700024 with seven-digit times', async () => {
  const iat = Math.floor(Date.now() / 1000) - 7200
  const r = await redeem(rs256Assertion({ payload: { iat, nbf: iat, exp: iat + 600 } }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700024,
    text: /^Client assertion is not within its valid time range\. Current time: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z, assertion valid from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z, expiry time of assertion \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z\. Review the documentation at https:\/\/learn\.microsoft\.com\/entra\/identity-platform\/certificate-credentials \.$/,
    audit: 'assertionExpired',
  })
  // Not yet valid (nbf an hour ahead) is the same refusal.
  const future = Math.floor(Date.now() / 1000) + 3600
  const early = await redeem(rs256Assertion({ payload: { nbf: future, exp: future + 600 } }))
  await expectStsError(s, early, { status: 401, error: 'invalid_client', code: 700024, audit: 'assertionExpired' })
})

test('iss = client_id but sub different → 50048', async () => {
  const r = await redeem(rs256Assertion({ payload: { sub: randomUUID() } }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 50048,
    text: 'Subject must match the issuer claim in the client assertion.',
    audit: 'assertionSubjectMismatch',
  })
})

test('iss ≠ client_id takes the federated path: no federated credential → 400 invalid_request 70021', async () => {
  const other = randomUUID()
  const r = await redeem(rs256Assertion({ payload: { iss: other, sub: other } }))
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_request',
    code: 70021,
    text: `No matching federated identity record found for presented assertion. Assertion Issuer: '${other}'. Assertion Subject: '${other}'. Assertion Audience: '${v2TokenUrl(s)}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
    audit: 'federatedNoMatch',
  })
})

test('unregistered certificate → 700027 naming the thumbprint in upper-case hex', async () => {
  const sha1 = await redeem(rs256Assertion({ key: otherCert.key, header: { x5t: otherCert.tp.x5t } }))
  await expectStsError(s, sha1, {
    status: 401,
    error: 'invalid_client',
    code: 700027,
    text: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${otherCert.tp.sha1Hex}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${appId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/${appId}'].`,
    audit: 'assertionKeyNotFound',
  })
  assert.match(otherCert.tp.sha1Hex, /^[0-9A-F]{40}$/)
  const iat = Math.floor(Date.now() / 1000)
  const sha256 = await redeem(
    signJwt(
      { alg: 'PS256', typ: 'JWT', 'x5t#S256': otherCert.tp.x5tS256 },
      { aud: v2TokenUrl(s), iss: appId, sub: appId, iat, nbf: iat, exp: iat + 600, jti: randomUUID() },
      otherCert.key,
      'PS256',
    ),
  )
  await expectStsError(s, sha256, {
    status: 401,
    error: 'invalid_client',
    code: 700027,
    text: new RegExp(`Thumbprint of key used by client: '${otherCert.tp.sha256Hex}'`),
    audit: 'assertionKeyNotFound',
  })
})

test('registered thumbprint but a signature by another key → 700027 (key found, signature failed)', async () => {
  const r = await redeem(rs256Assertion({ key: otherCert.key }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700027,
    text: new RegExp(
      `^Client assertion failed signature validation\\. \\[Reason - Key was found, but use of the key to verify the signature failed\\., Thumbprint of key used by client: '${cert.tp.sha1Hex}', Found key 'Start=\\d\\d/\\d\\d/\\d{4} \\d\\d:\\d\\d:\\d\\d, End=\\d\\d/\\d\\d/\\d{4} \\d\\d:\\d\\d:\\d\\d'\\]$`,
    ),
    audit: 'assertionSignatureInvalid',
  })
  // A flipped signature byte on a good assertion fails the same way.
  const good = rs256Assertion()
  const bad = `${good.slice(0, -4)}${good.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`
  await expectStsError(s, await redeem(bad), {
    status: 401,
    error: 'invalid_client',
    code: 700027,
    audit: 'assertionSignatureInvalid',
  })
})

test('a certificate past its end date → 700027 (the key used is expired)', async () => {
  const r = await redeem(rs256Assertion({ key: expiredCert.key, header: { x5t: expiredCert.tp.x5t } }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700027,
    text: new RegExp(
      `\\[Reason - The key used is expired\\., Thumbprint of key used by client: '${expiredCert.tp.sha1Hex}'`,
    ),
    audit: 'assertionCertExpired',
  })
})

test('no x5t, x5t#S256 or kid in the header → 5002723', async () => {
  const iat = Math.floor(Date.now() / 1000)
  const assertion = signJwt(
    { alg: 'RS256', typ: 'JWT' },
    { aud: v2TokenUrl(s), iss: appId, sub: appId, iat, nbf: iat, exp: iat + 600, jti: randomUUID() },
    cert.key,
    'RS256',
  )
  await expectStsError(s, await redeem(assertion), {
    status: 401,
    error: 'invalid_client',
    code: 5002723,
    text: 'Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header.',
    audit: 'assertionNoThumbprint',
  })
})

test('alg HS256 or ES256 → 5002738', async () => {
  const iat = Math.floor(Date.now() / 1000)
  const payload = { aud: v2TokenUrl(s), iss: appId, sub: appId, iat, nbf: iat, exp: iat + 600, jti: randomUUID() }
  const hsInput = `${b64urlJson({ alg: 'HS256', typ: 'JWT', x5t: cert.tp.x5t })}.${b64urlJson(payload)}`
  const hs = `${hsInput}.${createHmac('sha256', 'a shared secret').update(hsInput).digest('base64url')}`
  await expectStsError(s, await redeem(hs), {
    status: 401,
    error: 'invalid_client',
    code: 5002738,
    text: "Invalid JWT token. 'HS256' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,RS384,RS512'",
    audit: 'assertionAlgUnsupported',
  })
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const esInput = `${b64urlJson({ alg: 'ES256', typ: 'JWT', x5t: cert.tp.x5t })}.${b64urlJson({ ...payload, jti: randomUUID() })}`
  const es = `${esInput}.${sign('sha256', Buffer.from(esInput), { key: ec, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
  await expectStsError(s, await redeem(es), {
    status: 401,
    error: 'invalid_client',
    code: 5002738,
    text: "Invalid JWT token. 'ES256' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,RS384,RS512'",
    audit: 'assertionAlgUnsupported',
  })
})

test('wrong client_assertion_type → 400 invalid_request 90011', async () => {
  const r = await redeem(rs256Assertion(), { type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' })
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_request',
    code: 90011,
    text: 'Unexpected client assertion type.',
    audit: 'assertionTypeInvalid',
  })
})

test('malformed JWT → 400 invalid_request 50027', async () => {
  for (const bad of [
    'not-a-jwt',
    'a.b.c',
    `${b64urlJson({ alg: 'RS256' })}.${Buffer.from('[1]').toString('base64url')}.x`,
  ]) {
    await expectStsError(s, await redeem(bad), {
      status: 400,
      error: 'invalid_request',
      code: 50027,
      text: 'JWT token is invalid or malformed.',
      audit: 'assertionMalformed',
    })
  }
})

test('missing jti (or aud) → 400 invalid_request 90014 naming the field', async () => {
  const iat = Math.floor(Date.now() / 1000)
  const noJti = signJwt(
    { alg: 'RS256', typ: 'JWT', x5t: cert.tp.x5t },
    { aud: v2TokenUrl(s), iss: appId, sub: appId, iat, nbf: iat, exp: iat + 600 },
    cert.key,
    'RS256',
  )
  await expectStsError(s, await redeem(noJti), {
    status: 400,
    error: 'invalid_request',
    code: 90014,
    text: "The required field 'jti' is missing from the credential. Ensure that you have all the necessary parameters for the login request.",
    audit: 'assertionClaimMissing',
  })
  const noAud = signJwt(
    { alg: 'RS256', typ: 'JWT', x5t: cert.tp.x5t },
    { iss: appId, sub: appId, iat, nbf: iat, exp: iat + 600, jti: randomUUID() },
    cert.key,
    'RS256',
  )
  await expectStsError(s, await redeem(noAud), {
    status: 400,
    error: 'invalid_request',
    code: 90014,
    text: /^The required field 'aud' is missing/,
    audit: 'assertionClaimMissing',
  })
})

test('the identical assertion twice → both 200 (msal-node reuses it; docs/wire §6); same jti, other assertion → refused', async () => {
  const jti = randomUUID()
  const first = msalNodeAssertion({ payload: { jti } })
  await expectAppToken(await redeem(first))
  await expectAppToken(await redeem(first))
  const iat = Math.floor(Date.now() / 1000) - 1
  const second = msalNodeAssertion({ payload: { jti, iat, nbf: iat, exp: iat + 601 } })
  assert.notEqual(second, first)
  await expectStsError(s, await redeem(second), {
    status: 401,
    error: 'invalid_client',
    code: 700024,
    text: 'Client assertion has already been used: its jti was presented before with a different assertion.',
    audit: 'assertionReplayed',
  })
  // The first one still works.
  await expectAppToken(await redeem(first))
})
