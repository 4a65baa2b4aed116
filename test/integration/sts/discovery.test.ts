// Discovery: MSAL instance discovery, OpenID configuration v1/v2, JWKS (OUT-001; api-shapes §8.5–8.7; clients.md §4.1–4.2).
import assert from 'node:assert/strict'
import { X509Certificate, createHash } from 'node:crypto'
import { after, before, test } from 'node:test'
import { httpsRequest } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { expectStsError } from './helpers.ts'

let s: TestServer
let domain: string
before(async () => {
  s = await startTestServer()
  domain = s.server.endpoints.tenantDomain
})
after(() => s.stop())

const get = (path: string) => httpsRequest(`${s.base}${path}`, { ca: s.ca })

function assertDiscoveryCache(r: Awaited<ReturnType<typeof get>>) {
  assert.equal(r.headers['cache-control'], 'max-age=86400, private')
  assert.equal(r.headers['access-control-allow-origin'], '*')
  assert.match(String(r.headers['content-type']), /^application\/json/)
}

test('instance discovery points tenant_discovery_endpoint back at the host:port the client uses (clients.md §4.1)', async () => {
  const host = new URL(s.base).host
  const auth = `https://${host}/${s.tenantId}/oauth2/v2.0/authorize`
  const r = await get(`/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(auth)}`)
  assert.equal(r.status, 200, r.text)
  assertDiscoveryCache(r)
  assert.deepEqual(r.json(), {
    tenant_discovery_endpoint: `https://${host}/${s.tenantId}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  })
  // MSAL Python sends api-version=1.0 and the tenant "organizations".
  const py = await get(
    `/common/discovery/instance?authorization_endpoint=${encodeURIComponent(`https://${host}/organizations/oauth2/v2.0/authorize`)}&api-version=1.0`,
  )
  const pb = py.json<Record<string, unknown>>()
  assert.equal(pb['api-version'], '1.0')
  assert.equal(pb.tenant_discovery_endpoint, `https://${host}/organizations/v2.0/.well-known/openid-configuration`)
})

test("instance discovery for login.microsoftonline.com answers with Microsoft's alias list (api-shapes §8.7)", async () => {
  const auth = 'https://login.microsoftonline.com/common/oauth2/authorize'
  const r = await get(`/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(auth)}`)
  assert.equal(r.status, 200, r.text)
  const b = r.json<{ tenant_discovery_endpoint: string; metadata: Record<string, unknown>[] }>()
  assert.equal(
    b.tenant_discovery_endpoint,
    'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
  )
  assert.deepEqual(b.metadata[0], {
    preferred_network: 'login.microsoftonline.com',
    preferred_cache: 'login.windows.net',
    aliases: ['login.microsoftonline.com', 'login.windows.net', 'login.microsoft.com', 'sts.windows.net'],
  })
})

test('instance discovery without authorization_endpoint describes the server itself', async () => {
  const host = new URL(s.base).host
  const r = await get('/common/discovery/instance?api-version=1.1')
  assert.equal(r.status, 200)
  const b = r.json<{ tenant_discovery_endpoint: string }>()
  assert.equal(b.tenant_discovery_endpoint, `https://${host}/common/v2.0/.well-known/openid-configuration`)
})

test('v2 openid-configuration by GUID: issuer <base>/<tid>/v2.0 and every endpoint on the same origin (clients.md §4.2)', async () => {
  const r = await get(`/${s.tenantId}/v2.0/.well-known/openid-configuration`)
  assert.equal(r.status, 200, r.text)
  assertDiscoveryCache(r)
  const d = r.json<Record<string, unknown>>()
  const t = `${s.base}/${s.tenantId}`
  assert.equal(d.issuer, `${t}/v2.0`)
  assert.equal(d.token_endpoint, `${t}/oauth2/v2.0/token`)
  assert.equal(d.authorization_endpoint, `${t}/oauth2/v2.0/authorize`)
  assert.equal(d.device_authorization_endpoint, `${t}/oauth2/v2.0/devicecode`)
  assert.equal(d.end_session_endpoint, `${t}/oauth2/v2.0/logout`)
  assert.equal(d.jwks_uri, `${t}/discovery/v2.0/keys`)
  assert.deepEqual(d.token_endpoint_auth_methods_supported, [
    'client_secret_post',
    'private_key_jwt',
    'client_secret_basic',
  ])
  assert.deepEqual(d.id_token_signing_alg_values_supported, ['RS256'])
  assert.deepEqual(d.subject_types_supported, ['pairwise'])
  assert.equal(d.request_uri_parameter_supported, false)
  assert.equal(d.cloud_instance_name, 'microsoftonline.com')
  assert.equal(d.check_session_iframe, undefined)
})

test('v2 openid-configuration by domain: endpoints and issuer use the GUID', async () => {
  const byGuid = (await get(`/${s.tenantId}/v2.0/.well-known/openid-configuration`)).json()
  const r = await get(`/${domain}/v2.0/.well-known/openid-configuration`)
  assert.equal(r.status, 200, r.text)
  assert.deepEqual(r.json(), byGuid)
  const upper = await get(`/${domain.toUpperCase()}/v2.0/.well-known/openid-configuration`)
  assert.equal(upper.status, 200)
  assert.equal(upper.json().issuer, `${s.base}/${s.tenantId}/v2.0`)
})

test('v1 openid-configuration: sts.windows.net issuer, v1 endpoints, common keys (api-shapes §8.5)', async () => {
  for (const seg of [s.tenantId, domain]) {
    const r = await get(`/${seg}/.well-known/openid-configuration`)
    assert.equal(r.status, 200, r.text)
    const d = r.json<Record<string, unknown>>()
    const t = `${s.base}/${s.tenantId}`
    assert.equal(d.issuer, `https://sts.windows.net/${s.tenantId}/`)
    assert.equal(d.token_endpoint, `${t}/oauth2/token`)
    assert.equal(d.authorization_endpoint, `${t}/oauth2/authorize`)
    assert.equal(d.device_authorization_endpoint, `${t}/oauth2/devicecode`)
    assert.equal(d.jwks_uri, `${s.base}/common/discovery/keys`)
    assert.equal(d.check_session_iframe, `${t}/oauth2/checksession`)
    assert.equal(d.microsoft_multi_refresh_token, true)
  }
})

for (const alias of ['common', 'organizations']) {
  test(`/${alias} documents carry the {tenantid} issuer template`, async () => {
    const v2 = await get(`/${alias}/v2.0/.well-known/openid-configuration`)
    assert.equal(v2.status, 200, v2.text)
    const d2 = v2.json<Record<string, unknown>>()
    assert.equal(d2.issuer, `${s.base}/{tenantid}/v2.0`)
    assert.equal(d2.token_endpoint, `${s.base}/${alias}/oauth2/v2.0/token`)
    assert.equal(d2.authorization_endpoint, `${s.base}/${alias}/oauth2/v2.0/authorize`)
    assert.equal(d2.jwks_uri, `${s.base}/${alias}/discovery/v2.0/keys`)
    const v1 = await get(`/${alias}/.well-known/openid-configuration`)
    assert.equal(v1.status, 200, v1.text)
    assert.equal(v1.json().issuer, 'https://sts.windows.net/{tenantid}/')
  })
}

test('an unknown tenant → 400 invalid_tenant 90002 with the cacheable discovery headers (docs/wire §3, §12)', async () => {
  for (const [seg, path] of [
    ['2b0623dd-90fa-4c5c-bee8-8dc18bd4d948', 'v2.0/.well-known/openid-configuration'],
    ['nosuch.onmicrosoft.com', 'v2.0/.well-known/openid-configuration'],
    ['2b0623dd-90fa-4c5c-bee8-8dc18bd4d948', '.well-known/openid-configuration'],
  ] as const) {
    const r = await get(`/${seg}/${path}`)
    await expectStsError(s, r, {
      status: 400,
      error: 'invalid_tenant',
      code: 90002,
      text: `Tenant '${seg}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    })
    assertDiscoveryCache(r)
  }
})

test("a single-label name such as 'secrets' is a tenant name that is not found → 90002 (docs/wire §14 body 9)", async () => {
  const r = await get('/secrets/v2.0/.well-known/openid-configuration')
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_tenant',
    code: 90002,
    text: "Tenant 'secrets' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
  })
})

test('a malformed tenant → 400 invalid_request 900023', async () => {
  for (const seg of ['not_a_tenant', 'bad%20tenant', '-leading.example.com']) {
    const r = await get(`/${seg}/v2.0/.well-known/openid-configuration`)
    const shown = decodeURIComponent(seg)
    await expectStsError(s, r, {
      status: 400,
      error: 'invalid_request',
      code: 900023,
      text: `Specified tenant identifier '${shown}' is neither a valid DNS name, nor a valid external domain.`,
    })
  }
})

test('JWKS at /common/discovery/keys, /<tid>/discovery/keys and /<tid>/discovery/v2.0/keys (api-shapes §8.6)', async () => {
  const common = await get('/common/discovery/keys')
  assert.equal(common.status, 200)
  assertDiscoveryCache(common)
  const keys = common.json<{ keys: Record<string, unknown>[] }>().keys
  assert.ok(keys.length >= 1)
  for (const k of keys) {
    assert.deepEqual(Object.keys(k).sort(), ['e', 'kid', 'kty', 'n', 'use', 'x5c', 'x5t'])
    assert.equal(k.kty, 'RSA')
    assert.equal(k.use, 'sig')
    assert.equal(k.e, 'AQAB')
    assert.equal(k.x5t, k.kid)
    const der = Buffer.from((k.x5c as string[])[0] as string, 'base64')
    assert.equal(createHash('sha1').update(der).digest('base64url'), k.kid, 'kid = x5t = SHA-1 of the certificate')
    // The certificate holds the published modulus.
    const jwk = new X509Certificate(der).publicKey.export({ format: 'jwk' })
    assert.equal(jwk.n, k.n)
  }
  const v1 = await get(`/${s.tenantId}/discovery/keys`)
  assert.deepEqual(v1.json(), common.json())
  const v2 = await get(`/${s.tenantId}/discovery/v2.0/keys`)
  assert.equal(v2.status, 200)
  const v2keys = v2.json<{ keys: Record<string, unknown>[] }>().keys
  assert.deepEqual(
    v2keys.map((k) => k.kid),
    keys.map((k) => k.kid),
  )
  for (const k of v2keys) assert.equal(k.issuer, `${s.base}/${s.tenantId}/v2.0`)
  const byDomain = await get(`/${domain}/discovery/v2.0/keys`)
  for (const k of byDomain.json<{ keys: Record<string, unknown>[] }>().keys)
    assert.equal(k.issuer, `${s.base}/${s.tenantId}/v2.0`)
  const commonV2 = await get('/common/discovery/v2.0/keys')
  for (const k of commonV2.json<{ keys: Record<string, unknown>[] }>().keys)
    assert.equal(k.issuer, `${s.base}/{tenantid}/v2.0`)
})

test('the /error page explains a code', async () => {
  const r = await get('/error?code=7000215')
  assert.equal(r.status, 200)
  assert.match(r.text, /AADSTS7000215/)
  assert.match(r.text, /invalid_client: Invalid client secret provided\./)
  assert.equal((await get('/error?code=1')).status, 404)
})
