// The audit event of a successful issuance, and signing-key rotation through the admin API.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { jwtVerify } from 'jose'
import type { AuditEvent } from '../../../src/audit/index.ts'
import { decodeJwt, httpsRequest } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { adminRequest, auditEventFor, clientCredentials, jwksBody, localJwks } from './helpers.ts'

let s: TestServer
before(async () => {
  s = await startTestServer()
})
after(() => s.stop())

test('a success leaves a token event: result, clientId, principalId, audience, grantType, tenant', async () => {
  const r = await clientCredentials(s, { scope: 'https://management.azure.com/.default' })
  assert.equal(r.status, 200, r.text)
  const ev = await auditEventFor(s, String(r.headers['x-ms-request-id']), 'success')
  assert.ok(ev, 'a success event for the request')
  assert.equal(ev.kind, 'token')
  assert.equal(ev.result, 'success')
  assert.equal(ev.clientId, s.clientId)
  assert.equal(ev.principalId, s.server.bootstrap.servicePrincipalId)
  assert.equal(ev.audience, 'https://management.azure.com')
  assert.equal(ev.grantType, 'client_credentials')
  assert.equal(ev.tenantId, s.tenantId)
  assert.equal(ev.errorCode, null)
  assert.deepEqual(ev.details, { endpoint: 'v2' })
  // No secret or token in the event.
  const text = JSON.stringify(ev)
  assert.ok(!text.includes(s.clientSecret))
  assert.ok(!text.includes(r.json<{ access_token: string }>().access_token))

  const v1 = await clientCredentials(s, { resource: 'https://vault.azure.net' }, { version: 1 })
  const ev1 = await auditEventFor(s, String(v1.headers['x-ms-request-id']), 'success')
  assert.equal(ev1?.audience, 'https://vault.azure.net')
  assert.deepEqual(ev1?.details, { endpoint: 'v1' })
})

test('the log can be filtered by client and audience, and needs the admin key', async () => {
  const r = await adminRequest(
    s,
    `/_azid/logs?kind=token&result=success&client=${s.clientId}&audience=${encodeURIComponent('https://vault.azure.net')}`,
  )
  assert.equal(r.status, 200, r.text)
  const events = r.json<{ value: AuditEvent[] }>().value
  assert.ok(events.length >= 1)
  for (const e of events) {
    assert.equal(e.clientId, s.clientId)
    assert.equal(e.audience, 'https://vault.azure.net')
  }
  const anon = await httpsRequest(`${s.base}/_azid/logs`, { ca: s.ca })
  assert.equal(anon.status, 401)
})

test('key rotation: a new kid, both keys published, new tokens use it, old tokens still verify', async () => {
  const before = await clientCredentials(s, { resource: 'https://management.azure.com/' }, { version: 1 })
  const oldToken = before.json<{ access_token: string }>().access_token
  const oldKid = String(decodeJwt(oldToken).header.kid)
  const jwksBefore = await jwksBody(s)
  assert.deepEqual(
    jwksBefore.keys.map((k) => k.kid),
    [oldKid],
  )

  const denied = await httpsRequest(`${s.base}/_azid/keys/rotate`, { ca: s.ca, method: 'POST' })
  assert.equal(denied.status, 401)

  const rot = await adminRequest(s, '/_azid/keys/rotate', { method: 'POST' })
  assert.equal(rot.status, 200, rot.text)
  const { kid: newKid, previous } = rot.json<{ kid: string; previous: string[] }>()
  assert.notEqual(newKid, oldKid)
  assert.deepEqual(previous, [oldKid])

  const jwksAfter = await jwksBody(s)
  assert.deepEqual(jwksAfter.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort())
  for (const path of [`/${s.tenantId}/discovery/keys`, `/${s.tenantId}/discovery/v2.0/keys`]) {
    const ks = await jwksBody(s, path)
    assert.deepEqual(ks.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort(), path)
  }

  const after = await clientCredentials(s, { resource: 'https://management.azure.com/' }, { version: 1 })
  const newToken = after.json<{ access_token: string }>().access_token
  const h = decodeJwt(newToken).header
  assert.equal(h.kid, newKid)
  assert.equal(h.x5t, newKid)

  const jwks = await localJwks(s)
  const opts = {
    algorithms: ['RS256'],
    issuer: `https://sts.windows.net/${s.tenantId}/`,
    audience: 'https://management.azure.com/',
  }
  assert.equal((await jwtVerify(oldToken, jwks, opts)).protectedHeader.kid, oldKid)
  assert.equal((await jwtVerify(newToken, jwks, opts)).protectedHeader.kid, newKid)

  const keys = await adminRequest(s, '/_azid/keys')
  assert.deepEqual(
    keys
      .json<{ keys: { kid: string }[] }>()
      .keys.map((k) => k.kid)
      .sort(),
    [oldKid, newKid].sort(),
  )
})
