// Client credentials against the whole server: v1 and v2 endpoints, tenants, secrets, audiences, claims, signatures.
import assert from 'node:assert/strict'
import { V1_APP_TOKEN_FIELDS } from '../../support/entra.ts'
import { after, before, test } from 'node:test'
import { SignJWT, errors as joseErrors, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import { decodeJwt, httpsRequest } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import {
  CP1_CLAIMS,
  GUID_RE,
  assertNoStore,
  clientCredentials,
  expectStsError,
  localJwks,
  v1TokenUrl,
} from './helpers.ts'

let s: TestServer
let tenantDomain: string
let spId: string
let apiAppId: string
before(async () => {
  s = await startTestServer()
  tenantDomain = s.server.endpoints.tenantDomain
  spId = s.server.bootstrap.servicePrincipalId
  const { application } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'azid test API (v2 tokens)',
    accessTokenVersion: 2,
    identifierUris: ['api://azid-cc-test-api'],
  })
  apiAppId = application.appId
})
after(() => s.stop())

const v1Iss = () => `https://sts.windows.net/${s.tenantId}/`

test('v1 /oauth2/token with resource: every field a string, in Entra order (TOK-001, TOK-002, TOK-005, OUT-001)', async () => {
  const r = await clientCredentials(s, { resource: 'https://management.azure.com/' }, { version: 1 })
  assert.equal(r.status, 200, r.text)
  assertNoStore(r)
  assert.match(String(r.headers['content-type']), /^application\/json/)
  assert.match(String(r.headers['x-ms-request-id']), GUID_RE)
  const body = r.json<Record<string, string>>()
  assert.deepEqual(Object.keys(body), [...V1_APP_TOKEN_FIELDS])
  for (const [k, v] of Object.entries(body)) assert.equal(typeof v, 'string', `${k} is a string`)
  assert.equal(body.token_type, 'Bearer')
  assert.equal(body.resource, 'https://management.azure.com/')
  const expiresIn = Number(body.expires_in)
  assert.ok(expiresIn >= 3598 && expiresIn <= 3600, `expires_in ${body.expires_in}`)
  assert.equal(body.ext_expires_in, body.expires_in)
  assert.equal(Number(body.expires_on) - Number(body.not_before), 3900)
  const { claims } = decodeJwt(body.access_token as string)
  assert.equal(claims.aud, 'https://management.azure.com/')
  assert.equal(claims.exp, Number(body.expires_on))
  assert.equal(claims.nbf, Number(body.not_before))
})

test('v2 /oauth2/v2.0/token with scope=…/.default: numbers, no resource/expires_on/scope (OUT-001)', async () => {
  const r = await clientCredentials(s, { scope: 'https://management.azure.com/.default' })
  assert.equal(r.status, 200, r.text)
  assertNoStore(r)
  const body = r.json<Record<string, unknown>>()
  assert.deepEqual(Object.keys(body), ['token_type', 'expires_in', 'ext_expires_in', 'access_token'])
  assert.equal(body.token_type, 'Bearer')
  assert.equal(typeof body.expires_in, 'number')
  assert.equal(typeof body.ext_expires_in, 'number')
  assert.ok((body.expires_in as number) >= 3598 && (body.expires_in as number) <= 3600)
  // ARM takes v1 tokens even from the v2 endpoint (api-shapes §8.1).
  const { claims } = decodeJwt(body.access_token as string)
  assert.equal(claims.ver, '1.0')
  assert.equal(claims.aud, 'https://management.azure.com')
})

test('the tenant may be given by domain name; the token carries the GUID', async () => {
  const r = await clientCredentials(s, { scope: 'https://vault.azure.net/.default' }, { tenant: tenantDomain })
  assert.equal(r.status, 200, r.text)
  const { claims } = decodeJwt(r.json<{ access_token: string }>().access_token)
  assert.equal(claims.tid, s.tenantId)
  assert.equal(claims.iss, v1Iss())
  assert.equal(claims.aud, 'https://vault.azure.net')
  const upper = await clientCredentials(
    s,
    { resource: 'https://vault.azure.net' },
    { version: 1, tenant: tenantDomain.toUpperCase() },
  )
  assert.equal(upper.status, 200, upper.text)
})

for (const alias of ['common', 'organizations']) {
  test(`client_credentials on /${alias} is refused with 50059`, async () => {
    for (const version of [1, 2] as const) {
      const r = await clientCredentials(
        s,
        version === 2
          ? { scope: 'https://management.azure.com/.default' }
          : { resource: 'https://management.azure.com/' },
        { version, tenant: alias },
      )
      await expectStsError(s, r, {
        status: 400,
        error: 'invalid_request',
        code: 50059,
        text: 'No tenant-identifying information found in either the request or implied by any provided credentials.',
        audit: 'noTenantForClientCredentials',
      })
    }
  })
}

test('the secret may come in HTTP Basic instead of the form (client_secret_basic)', async () => {
  const basic = `Basic ${Buffer.from(`${s.clientId}:${s.clientSecret}`).toString('base64')}`
  const url = `${s.base}/${s.tenantId}/oauth2/v2.0/token`
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'https://management.azure.com/.default' })
  const r = await httpsRequest(url, {
    ca: s.ca,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    body: form.toString(),
  })
  assert.equal(r.status, 200, r.text)
  const { claims } = decodeJwt(r.json<{ access_token: string }>().access_token)
  assert.equal(claims.appid, s.clientId)
  assert.equal(claims.appidacr, '1')
  // The same client_id in the body as well is no conflict.
  form.set('client_id', s.clientId)
  const both = await httpsRequest(url, {
    ca: s.ca,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    body: form.toString(),
  })
  assert.equal(both.status, 200, both.text)
  // A wrong secret over Basic is the same 401 as in the form.
  const wrong = await httpsRequest(url, {
    ca: s.ca,
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${s.clientId}:nope-nope-nope`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'https://management.azure.com/.default',
    }).toString(),
  })
  await expectStsError(s, wrong, { status: 401, error: 'invalid_client', code: 7000215, audit: 'invalidClientSecret' })
})

test("az's double-slash scope https://management.core.windows.net//.default gives aud https://management.core.windows.net/ (AUD-003)", async () => {
  const r = await clientCredentials(s, { scope: 'https://management.core.windows.net//.default' })
  assert.equal(r.status, 200, r.text)
  const { claims } = decodeJwt(r.json<{ access_token: string }>().access_token)
  assert.equal(claims.aud, 'https://management.core.windows.net/')
})

test('a bare application id is a resource; aud echoes the GUID (AUD-002)', async () => {
  const devops = '499b84ac-1321-427f-aa17-267ca6975798'
  const v1 = await clientCredentials(s, { resource: devops }, { version: 1 })
  assert.equal(v1.status, 200, v1.text)
  const b1 = v1.json<{ access_token: string; resource: string }>()
  assert.equal(b1.resource, devops)
  assert.equal(decodeJwt(b1.access_token).claims.aud, devops)
  const v2 = await clientCredentials(s, { scope: `${devops}/.default` })
  assert.equal(v2.status, 200, v2.text)
  assert.equal(decodeJwt(v2.json<{ access_token: string }>().access_token).claims.aud, devops)
})

test('v1 without resource issues a Microsoft Graph token (docs/wire §2)', async () => {
  const r = await clientCredentials(s, {}, { version: 1 })
  assert.equal(r.status, 200, r.text)
  const body = r.json<{ access_token: string; resource: string }>()
  assert.equal(body.resource, 'https://graph.microsoft.com')
  assert.equal(decodeJwt(body.access_token).claims.aud, 'https://graph.microsoft.com')
})

test("msal-go's extra 'openid offline_access profile' in client_credentials is ignored (clients.md §4.3)", async () => {
  const r = await clientCredentials(s, {
    scope: 'https://storage.azure.com/.default openid offline_access profile',
    claims: CP1_CLAIMS,
  })
  assert.equal(r.status, 200, r.text)
  const body = r.json<Record<string, unknown>>()
  assert.deepEqual(Object.keys(body), ['token_type', 'expires_in', 'ext_expires_in', 'access_token'])
  const { claims } = decodeJwt(body.access_token as string)
  assert.equal(claims.aud, 'https://storage.azure.com')
  assert.deepEqual(claims.xms_cc, ['CP1'])
})

test('claims=CP1 puts xms_cc in the token; without it there is none', async () => {
  const withCp1 = await clientCredentials(
    s,
    { resource: 'https://management.azure.com/', claims: CP1_CLAIMS },
    { version: 1 },
  )
  assert.equal(withCp1.status, 200, withCp1.text)
  assert.deepEqual(decodeJwt(withCp1.json<{ access_token: string }>().access_token).claims.xms_cc, ['CP1'])
  const without = await clientCredentials(s, { resource: 'https://management.azure.com/' }, { version: 1 })
  assert.equal(decodeJwt(without.json<{ access_token: string }>().access_token).claims.xms_cc, undefined)
})

test('v1 app token: header typ/alg/x5t/kid with x5t = kid, claims per api-shapes §8.3 (TOK-006, TOK-009)', async () => {
  const r = await clientCredentials(s, { resource: 'https://management.azure.com/' }, { version: 1 })
  assert.equal(r.status, 200, r.text)
  const token = r.json<{ access_token: string }>().access_token
  assert.ok(token.startsWith('eyJ0eXAi'), 'the JOSE header starts with typ')
  const { header, claims } = decodeJwt(token)
  assert.deepEqual(Object.keys(header), ['typ', 'alg', 'x5t', 'kid'])
  assert.equal(header.typ, 'JWT')
  assert.equal(header.alg, 'RS256')
  assert.equal(header.x5t, header.kid)
  assert.equal(claims.aud, 'https://management.azure.com/')
  assert.equal(claims.iss, v1Iss())
  assert.equal(claims.idp, v1Iss())
  assert.equal(claims.appid, s.clientId)
  assert.equal(claims.appidacr, '1')
  assert.equal(claims.idtyp, 'app')
  assert.equal(claims.oid, spId)
  assert.equal(claims.sub, spId)
  assert.equal(claims.tid, s.tenantId)
  assert.equal(claims.ver, '1.0')
  assert.equal(claims.iat, claims.nbf)
  assert.equal((claims.exp as number) - (claims.nbf as number), 3900)
  const now = Math.floor(Date.now() / 1000)
  assert.ok(Math.abs((claims.iat as number) - (now - 300)) <= 5, 'iat is back-dated five minutes')
  assert.equal(typeof claims.aio, 'string')
  assert.match(String(claims.rh), /^1\.A.+\.$/)
  assert.match(String(claims.uti), /^[A-Za-z0-9_-]{16,}$/)
  assert.equal(typeof claims.xms_tcdt, 'number')
  for (const absent of ['scp', 'name', 'upn', 'unique_name', 'preferred_username', 'azp', 'azpacr', 'roles'])
    assert.equal(claims[absent], undefined, `no ${absent} in an app-only token`)
})

test('v2 app token for an API with accessTokenVersion 2: ver 2.0, aud = appId, azp, v2 issuer, no x5t header', async () => {
  const r = await clientCredentials(s, { scope: 'api://azid-cc-test-api/.default' })
  assert.equal(r.status, 200, r.text)
  const token = r.json<{ access_token: string }>().access_token
  const { header, claims } = decodeJwt(token)
  assert.deepEqual(Object.keys(header), ['typ', 'alg', 'kid'])
  assert.equal(claims.ver, '2.0')
  assert.equal(claims.aud, apiAppId)
  assert.equal(claims.iss, `${s.base}/${s.tenantId}/v2.0`)
  assert.equal(claims.azp, s.clientId)
  assert.equal(claims.azpacr, '1')
  assert.equal(claims.appid, undefined)
  assert.equal(claims.idp, undefined)
  assert.equal(claims.oid, spId)
  assert.equal(claims.tid, s.tenantId)
  // The v1 endpoint asks by identifier URI and gets the same v2 token shape.
  const v1 = await clientCredentials(s, { resource: 'api://azid-cc-test-api' }, { version: 1 })
  assert.equal(v1.status, 200, v1.text)
  const b1 = v1.json<{ access_token: string; resource: string }>()
  assert.equal(b1.resource, 'api://azid-cc-test-api')
  assert.equal(decodeJwt(b1.access_token).claims.ver, '2.0')
  assert.equal(decodeJwt(b1.access_token).claims.aud, apiAppId)
  const verified = await jwtVerify(token, await localJwks(s), {
    algorithms: ['RS256'],
    issuer: `${s.base}/${s.tenantId}/v2.0`,
    audience: apiAppId,
  })
  assert.equal(verified.payload.azp, s.clientId)
})

test('an app role granted to the client appears in roles', async () => {
  const roleId = '5b3f0d8e-9a41-4c55-8a0e-1c2d3e4f5a6b'
  const { application } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'azid test API with roles',
    identifierUris: ['api://azid-cc-roles'],
    appRoles: [
      {
        id: roleId,
        value: 'Data.Read',
        displayName: 'Read data',
        description: 'Read data',
        allowedMemberTypes: ['Application'],
        isEnabled: true,
      },
    ],
  })
  await s.server.directory.store.putAppRoleAssignment({
    id: 'c7f5a0b2-1111-4222-8333-944455556666',
    tenantId: s.tenantId,
    principalId: spId,
    resourceAppId: application.appId,
    appRoleId: roleId,
    createdAt: Date.now(),
  })
  const r = await clientCredentials(s, { scope: 'api://azid-cc-roles/.default' })
  assert.equal(r.status, 200, r.text)
  const { claims } = decodeJwt(r.json<{ access_token: string }>().access_token)
  assert.equal(claims.aud, 'api://azid-cc-roles')
  assert.deepEqual(claims.roles, ['Data.Read'])
})

test('every token verifies against /common/discovery/keys with issuer and audience pinned (TOK-010)', async () => {
  const jwks = await localJwks(s)
  const cases: { form: Record<string, string>; version: 1 | 2; aud: string }[] = [
    { form: { resource: 'https://management.azure.com/' }, version: 1, aud: 'https://management.azure.com/' },
    { form: { scope: 'https://storage.azure.com/.default' }, version: 2, aud: 'https://storage.azure.com' },
    { form: { scope: 'https://graph.microsoft.com/.default' }, version: 2, aud: 'https://graph.microsoft.com' },
    { form: { resource: 'https://vault.azure.net' }, version: 1, aud: 'https://vault.azure.net' },
  ]
  for (const c of cases) {
    const r = await clientCredentials(s, c.form, { version: c.version })
    assert.equal(r.status, 200, r.text)
    const token = r.json<{ access_token: string }>().access_token
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      algorithms: ['RS256'],
      issuer: v1Iss(),
      audience: c.aud,
    })
    assert.equal(protectedHeader.alg, 'RS256')
    assert.equal(payload.appid, s.clientId)
    // Pinning another audience or issuer fails.
    await assert.rejects(
      jwtVerify(token, jwks, { algorithms: ['RS256'], issuer: v1Iss(), audience: 'https://example.com' }),
      joseErrors.JWTClaimValidationFailed,
    )
    await assert.rejects(
      jwtVerify(token, jwks, { algorithms: ['RS256'], issuer: 'https://sts.windows.net/other/', audience: c.aud }),
      joseErrors.JWTClaimValidationFailed,
    )
  }
})

test('a token signed by another key is rejected by the published JWKS', async () => {
  const r = await clientCredentials(s, { resource: 'https://management.azure.com/' }, { version: 1 })
  const real = decodeJwt(r.json<{ access_token: string }>().access_token)
  const { privateKey, publicKey } = await generateKeyPair('RS256')
  assert.equal((await exportJWK(publicKey)).kty, 'RSA')
  const jwks = await localJwks(s)
  // Same kid as azid's key, but our own signature.
  const forged = await new SignJWT(real.claims)
    .setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t: String(real.header.kid), kid: String(real.header.kid) })
    .sign(privateKey)
  await assert.rejects(
    jwtVerify(forged, jwks, { algorithms: ['RS256'], issuer: v1Iss(), audience: 'https://management.azure.com/' }),
    joseErrors.JWSSignatureVerificationFailed,
  )
  // A kid azid never published.
  const unknownKid = await new SignJWT(real.claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'not-a-kid' })
    .sign(privateKey)
  await assert.rejects(
    jwtVerify(unknownKid, jwks, { algorithms: ['RS256'], issuer: v1Iss(), audience: 'https://management.azure.com/' }),
    joseErrors.JWKSNoMatchingKey,
  )
  // A tampered payload under azid's own signature.
  const [h, , sig] = r.json<{ access_token: string }>().access_token.split('.')
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...real.claims, oid: 'someone-else' })).toString('base64url')}.${sig}`
  await assert.rejects(
    jwtVerify(tampered, jwks, { algorithms: ['RS256'], issuer: v1Iss(), audience: 'https://management.azure.com/' }),
    joseErrors.JWSSignatureVerificationFailed,
  )
})

test('the v1 endpoint accepts the tenant domain in the URL and echoes resource exactly (TOK-003)', async () => {
  for (const resource of [
    'https://storage.azure.com/',
    'https://storage.azure.com',
    'https://myacct.blob.core.windows.net',
  ]) {
    const r = await clientCredentials(s, { resource }, { version: 1, tenant: tenantDomain })
    assert.equal(r.status, 200, r.text)
    const body = r.json<{ access_token: string; resource: string }>()
    assert.equal(body.resource, resource)
    assert.equal(decodeJwt(body.access_token).claims.aud, resource)
  }
  assert.ok(v1TokenUrl(s).endsWith('/oauth2/token'))
})
