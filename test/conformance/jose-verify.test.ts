// A resource server's view: jose.jwtVerify with createRemoteJWKSet on the jwks_uri of azid's OpenID configuration,
// issuer and audience pinned, in a child node that trusts the azid CA only through NODE_EXTRA_CA_CERTS.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { generateKeyPair, SignJWT } from 'jose'
import { describeRun, moduleUrl, resultOf, runNode, scratchDir } from '../support/child.ts'
import { decodeJwt, httpsRequest, postForm } from '../support/https.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const AZ_CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
const API_URI = 'api://azid-conformance-api'
const JOSE = moduleUrl('jose')

let s: TestServer
let scratch: ReturnType<typeof scratchDir>
let apiAppId: string

before(async () => {
  s = await startTestServer({ tokens: { deviceCodeInterval: 1 } })
  scratch = scratchDir()
  const { application } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'conformance API (v2 tokens)',
    identifierUris: [API_URI],
    accessTokenVersion: 2,
  })
  apiAppId = application.appId
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

interface Case {
  name: string
  token: string
  /** Which OpenID configuration (and so which issuer and jwks_uri) the verifier uses. */
  discovery: 'v1' | 'v2'
  audience: string
}

interface Verdict {
  name: string
  ok: boolean
  code?: string
  claim?: string
  message?: string
  payload?: Record<string, unknown>
  jwksUri?: string
}

/** Verifies every case in one child: discovery document → jwks_uri → createRemoteJWKSet → jwtVerify. */
async function verifyInChild(cases: readonly Case[]) {
  const r = await runNode(
    scratch,
    'verify',
    `
const jose = await import(${JSON.stringify(JOSE)})
const cases = JSON.parse(process.argv[2] ?? '[]')
await run(async () => {
  const configs = {}
  const keySets = new Map()
  const out = []
  for (const c of cases) {
    const path = c.discovery === 'v2' ? '/v2.0/.well-known/openid-configuration' : '/.well-known/openid-configuration'
    configs[c.discovery] ??= await (await fetch(${JSON.stringify(`${s.base}/${s.tenantId}`)} + path)).json()
    const config = configs[c.discovery]
    if (!keySets.has(config.jwks_uri)) keySets.set(config.jwks_uri, jose.createRemoteJWKSet(new URL(config.jwks_uri)))
    try {
      const { payload } = await jose.jwtVerify(c.token, keySets.get(config.jwks_uri), {
        issuer: config.issuer,
        audience: c.audience,
        algorithms: ['RS256'],
      })
      out.push({ name: c.name, ok: true, payload, jwksUri: config.jwks_uri })
    } catch (e) {
      out.push({ name: c.name, ok: false, code: e.code, claim: e.claim, message: e.message, jwksUri: config.jwks_uri })
    }
  }
  return out
})`,
    { caPath: s.caPath, argv: [JSON.stringify(cases)] },
  )
  const verdicts = resultOf<Verdict[]>(r)
  return { r, byName: new Map(verdicts.map((v) => [v.name, v])) }
}

async function token(path: string, form: Record<string, string>): Promise<Record<string, string>> {
  const r = await postForm(`${s.base}/${s.tenantId}${path}`, s.ca, form)
  assert.equal(r.status, 200, r.text)
  return r.json<Record<string, string>>()
}

/** A device-code sign-in of the bootstrap user for az, approved through the admin API. */
async function deviceCodeTokens(scope: string): Promise<Record<string, string>> {
  const start = await token('/oauth2/v2.0/devicecode', { client_id: AZ_CLI, scope })
  const approve = await httpsRequest(`${s.base}/_azid/device/${start.user_code}/approve`, {
    ca: s.ca,
    method: 'POST',
    headers: { 'x-azid-admin-key': s.adminKey },
  })
  assert.equal(approve.status, 200, approve.text)
  return token('/oauth2/v2.0/token', {
    client_id: AZ_CLI,
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    device_code: start.device_code as string,
  })
}

test('v1 and v2 tokens from several grants verify against the remote JWKS; a same-kid forgery does not', async () => {
  const secret = { client_id: s.clientId, client_secret: s.clientSecret, grant_type: 'client_credentials' }
  const ccArm = await token('/oauth2/v2.0/token', { ...secret, scope: 'https://management.azure.com/.default' })
  const ccV1 = await token('/oauth2/token', { ...secret, resource: 'https://management.core.windows.net/' })
  const ccApi = await token('/oauth2/v2.0/token', { ...secret, scope: `${API_URI}/.default` })
  const device = await deviceCodeTokens('https://management.azure.com/.default openid profile offline_access')
  const refreshed = await token('/oauth2/v2.0/token', {
    client_id: AZ_CLI,
    grant_type: 'refresh_token',
    refresh_token: device.refresh_token as string,
    scope: `${API_URI}/.default openid`,
  })

  // Same kid and x5t as azid's signing key, signed by another key.
  const real = decodeJwt(ccApi.access_token as string)
  const { privateKey } = await generateKeyPair('RS256')
  const forged = await new SignJWT(real.claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: String(real.header.kid), x5t: String(real.header.kid) })
    .sign(privateKey)

  const cases: Case[] = [
    {
      name: 'client_credentials v2 endpoint, ARM (v1 token)',
      token: ccArm.access_token as string,
      discovery: 'v1',
      audience: 'https://management.azure.com',
    },
    {
      name: 'client_credentials v1 endpoint',
      token: ccV1.access_token as string,
      discovery: 'v1',
      audience: 'https://management.core.windows.net/',
    },
    { name: 'client_credentials, v2 API', token: ccApi.access_token as string, discovery: 'v2', audience: apiAppId },
    {
      name: 'device code access token',
      token: device.access_token as string,
      discovery: 'v1',
      audience: 'https://management.azure.com',
    },
    { name: 'device code id token', token: device.id_token as string, discovery: 'v2', audience: AZ_CLI },
    { name: 'refresh token, v2 API', token: refreshed.access_token as string, discovery: 'v2', audience: apiAppId },
    { name: 'refresh token id token', token: refreshed.id_token as string, discovery: 'v2', audience: AZ_CLI },
    { name: 'forged: same kid, other key', token: forged, discovery: 'v2', audience: apiAppId },
    {
      name: 'wrong audience',
      token: ccApi.access_token as string,
      discovery: 'v2',
      audience: 'https://management.azure.com',
    },
    {
      name: 'v1 token against the v2 issuer',
      token: ccArm.access_token as string,
      discovery: 'v2',
      audience: 'https://management.azure.com',
    },
  ]
  const { r, byName } = await verifyInChild(cases)
  const get = (name: string) => {
    const v = byName.get(name)
    assert.ok(v, `${name}: no verdict\n${describeRun(r)}`)
    return v
  }
  const accepted = (name: string, ver: string) => {
    const v = get(name)
    assert.equal(v.ok, true, `${name}: ${v.code} ${v.message}\n${describeRun(r)}`)
    assert.equal(v.payload?.ver, ver, name)
    assert.equal(v.payload?.tid, s.tenantId, name)
    return v.payload as Record<string, unknown>
  }
  accepted('client_credentials v2 endpoint, ARM (v1 token)', '1.0')
  accepted('client_credentials v1 endpoint', '1.0')
  const api = accepted('client_credentials, v2 API', '2.0')
  assert.equal(api.azp, s.clientId)
  const user = accepted('device code access token', '1.0')
  assert.equal(user.upn, s.server.bootstrap.userPrincipalName)
  accepted('device code id token', '2.0')
  const userApi = accepted('refresh token, v2 API', '2.0')
  assert.equal(userApi.oid, s.server.bootstrap.userId)
  assert.equal(userApi.azp, AZ_CLI)
  accepted('refresh token id token', '2.0')
  assert.equal(get('client_credentials v1 endpoint').jwksUri, `${s.base}/common/discovery/keys`)
  assert.equal(get('client_credentials, v2 API').jwksUri, `${s.base}/${s.tenantId}/discovery/v2.0/keys`)

  const forgedVerdict = get('forged: same kid, other key')
  assert.equal(forgedVerdict.ok, false)
  assert.equal(forgedVerdict.code, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', forgedVerdict.message)
  const wrongAud = get('wrong audience')
  assert.equal(wrongAud.ok, false)
  assert.equal(wrongAud.code, 'ERR_JWT_CLAIM_VALIDATION_FAILED')
  assert.equal(wrongAud.claim, 'aud')
  const wrongIss = get('v1 token against the v2 issuer')
  assert.equal(wrongIss.ok, false)
  assert.equal(wrongIss.claim, 'iss')
})
