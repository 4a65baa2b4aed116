// Refresh tokens: multi-resource redemption as az and azcopy do it, and the refusals (docs/wire/sts-errors.md §9).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { jwtVerify } from 'jose'
import { decodeJwt, postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { AZCOPY, AZ_CLI, adminRequest, expectStsError, localJwks, v1TokenUrl, v2TokenUrl } from './helpers.ts'

let s: TestServer
let refreshToken: string
let userId: string
let upn: string

/** Signs the bootstrap user in to az through device code and returns the token response. */
async function signIn(clientId = AZ_CLI): Promise<Record<string, string>> {
  const start = await postForm(`${s.base}/organizations/oauth2/v2.0/devicecode`, s.ca, {
    client_id: clientId,
    scope: 'https://management.core.windows.net//.default offline_access openid profile',
  })
  const d = start.json<{ user_code: string; device_code: string }>()
  const a = await adminRequest(s, `/_azid/device/${d.user_code}/approve`, { body: {} })
  assert.equal(a.status, 200, a.text)
  const r = await postForm(`${s.base}/organizations/oauth2/v2.0/token`, s.ca, {
    client_id: clientId,
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    device_code: d.device_code,
  })
  assert.equal(r.status, 200, r.text)
  return r.json<Record<string, string>>()
}

before(async () => {
  s = await startTestServer()
  userId = s.server.bootstrap.userId
  upn = s.server.bootstrap.userPrincipalName
  refreshToken = (await signIn()).refresh_token as string
})
after(() => s.stop())

test('a refresh token redeems for another resource (storage) with new tokens (OUT-001)', async () => {
  const r = await postForm(v2TokenUrl(s, 'organizations'), s.ca, {
    client_id: AZ_CLI,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    scope: 'https://storage.azure.com/.default offline_access openid profile',
    client_info: '1',
  })
  assert.equal(r.status, 200, r.text)
  const b = r.json<Record<string, unknown>>()
  assert.deepEqual(Object.keys(b), [
    'token_type',
    'scope',
    'expires_in',
    'ext_expires_in',
    'access_token',
    'refresh_token',
    'id_token',
    'client_info',
  ])
  assert.equal(
    b.scope,
    'https://storage.azure.com/user_impersonation https://storage.azure.com/.default offline_access openid profile',
  )
  assert.notEqual(b.refresh_token, refreshToken)
  const at = await jwtVerify(String(b.access_token), await localJwks(s), {
    algorithms: ['RS256'],
    issuer: `https://sts.windows.net/${s.tenantId}/`,
    audience: 'https://storage.azure.com',
  })
  assert.equal(at.payload.oid, userId)
  assert.equal(at.payload.upn, upn)
  assert.equal(at.payload.scp, 'user_impersonation')
  assert.equal(at.payload.appid, AZ_CLI)
  assert.equal(decodeJwt(String(b.id_token)).claims.aud, AZ_CLI)
  // The new refresh token works too, and so does the old one (Entra does not revoke on use).
  for (const rt of [String(b.refresh_token), refreshToken]) {
    const again = await postForm(v2TokenUrl(s), s.ca, {
      client_id: AZ_CLI,
      grant_type: 'refresh_token',
      refresh_token: rt,
      scope: 'https://vault.azure.net/.default',
    })
    assert.equal(again.status, 200, again.text)
    const ab = again.json<Record<string, unknown>>()
    assert.equal(decodeJwt(String(ab.access_token)).claims.aud, 'https://vault.azure.net')
    assert.equal(ab.id_token, undefined, 'no openid scope, no id token')
    assert.equal(ab.scope, 'https://vault.azure.net/user_impersonation https://vault.azure.net/.default')
  }
})

test('the v1 endpoint redeems with resource= and answers in v1 shape', async () => {
  const r = await postForm(v1TokenUrl(s), s.ca, {
    client_id: AZ_CLI,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    resource: 'https://graph.windows.net/',
  })
  assert.equal(r.status, 200, r.text)
  const b = r.json<Record<string, unknown>>()
  assert.equal(b.resource, 'https://graph.windows.net/')
  assert.equal(typeof b.expires_in, 'string')
  assert.equal(typeof b.refresh_token, 'string')
  assert.equal(decodeJwt(String(b.access_token)).claims.aud, 'https://graph.windows.net/')
})

test('a garbage refresh token → 400 invalid_grant 9002313', async () => {
  const r = await postForm(v2TokenUrl(s), s.ca, {
    client_id: AZ_CLI,
    grant_type: 'refresh_token',
    refresh_token: 'garbage-garbage-garbage',
    scope: 'https://storage.azure.com/.default',
  })
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_grant',
    code: 9002313,
    text: 'Invalid request. Request is malformed or invalid.',
    audit: 'grantMalformed',
  })
})

test('a refresh token redeemed by another client → 400 invalid_grant 700007', async () => {
  const r = await postForm(v2TokenUrl(s), s.ca, {
    client_id: AZCOPY,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    scope: 'https://storage.azure.com/.default',
  })
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_grant',
    code: 700007,
    text: 'The grant was issued for a different client id.',
    audit: 'grantOtherClient',
  })
})

test('missing refresh_token → 900144; a user of this tenant on another tenant → 90002 for an unknown one', async () => {
  const r = await postForm(v2TokenUrl(s), s.ca, {
    client_id: AZ_CLI,
    grant_type: 'refresh_token',
    scope: 'https://storage.azure.com/.default',
  })
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_request',
    code: 900144,
    text: "The request body must contain the following parameter: 'refresh_token'.",
    audit: 'missingParameter',
  })
  const t = await postForm(v2TokenUrl(s, '00000000-0000-0000-0000-000000000009'), s.ca, {
    client_id: AZ_CLI,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    scope: 'https://storage.azure.com/.default',
  })
  await expectStsError(s, t, { status: 400, error: 'invalid_request', code: 90002, audit: 'tenantNotFound' })
})

test('a confidential client must authenticate to redeem → 401 7000218', async () => {
  const r = await postForm(v2TokenUrl(s), s.ca, {
    client_id: s.clientId,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    scope: 'https://storage.azure.com/.default',
  })
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 7000218,
    text: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    audit: 'missingClientCredential',
  })
})
