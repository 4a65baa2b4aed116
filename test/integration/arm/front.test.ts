// The ARM front door: api-version before authentication, bearer checks and their 401s, request ids, tolerant paths,
// namespace/type/api-version errors, body limits and JSON parsing (ARM-001, ARM-004..008, ARM-012).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { API_VERSIONS } from '../../../src/arm/api-versions.ts'
import { manualClock } from '../../../src/kernel/clock.ts'
import { decodeJwt } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import {
  type Arm,
  GUID_RE,
  V,
  adminClient,
  armClient,
  armToken,
  authorizationEvents,
  expectArmError,
  paths,
} from './helpers.ts'

let s: TestServer
let admin: Arm
let sub: string
let p: ReturnType<typeof paths>
before(async () => {
  s = await startTestServer()
  sub = s.server.endpoints.subscriptionId
  p = paths(sub)
  admin = await adminClient(s)
  assert.equal((await admin.put(p.rg('front'), V.rg, { location: 'westus' })).status, 201)
})
after(() => s.stop())

const MISSING_HEADER_CHALLENGE = (tenant: string) =>
  `Bearer authorization_uri="https://login.windows.net/${tenant}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`
const INVALID_CHALLENGE = (tenant: string) =>
  `Bearer authorization_uri="https://login.windows.net/${tenant}", error="invalid_token", error_description="The access token is invalid."`

/** .NET en-US general date format, as ARM prints it in ExpiredAuthenticationToken (docs/wire/arm-errors.md §2). */
function dotnet(ms: number): string {
  const d = new Date(ms)
  const h = d.getUTCHours()
  const two = (n: number) => String(n).padStart(2, '0')
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${h % 12 || 12}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`
}

test('MissingApiVersionParameter is checked before authentication (ARM-012, arm-errors §1)', async () => {
  const anon = armClient(s, null)
  for (const path of [p.rg('front'), '/subscriptions', p.uami('front', 'x')]) {
    const r = await anon.call('GET', path, null)
    expectArmError(
      r,
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    )
    assert.equal(r.headers['www-authenticate'], undefined)
  }
  // An empty value is as good as none.
  expectArmError(await anon.call('GET', `${p.rg('front')}?api-version=`, null), 400, 'MissingApiVersionParameter')
})

test('no Authorization header: 401 AuthenticationFailed with the subscription tenant in the challenge (ARM-001)', async () => {
  const anon = armClient(s, null)
  const r = await anon.get(p.rg('front'), V.rg)
  expectArmError(r, 401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.")
  assert.equal(r.headers['www-authenticate'], MISSING_HEADER_CHALLENGE(s.tenantId))
  assert.equal(r.headers['x-ms-failure-cause'], 'gateway')
  // Without a subscription in the path the challenge names no tenant.
  for (const path of ['/subscriptions', '/tenants']) {
    const t = await anon.get(path, V.sub)
    expectArmError(t, 401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.")
    assert.equal(t.headers['www-authenticate'], MISSING_HEADER_CHALLENGE(''))
  }
})

test('a non-Bearer Authorization header: 401 AuthenticationFailed "Authentication failed."', async () => {
  const r = await admin.get(p.rg('front'), V.rg, { headers: { authorization: `Basic ${btoa('a:b')}` } })
  expectArmError(r, 401, 'AuthenticationFailed', 'Authentication failed.')
  assert.equal(r.headers['www-authenticate'], INVALID_CHALLENGE(s.tenantId))
})

test('garbage and badly signed tokens: 401 InvalidAuthenticationToken (ARM-012)', async () => {
  const good = admin.token as string
  const [h, c, sig] = good.split('.') as [string, string, string]
  // Flip one character in the middle of the signature (the last one may only carry padding bits).
  const i = Math.floor(sig.length / 2)
  const badSig = `${h}.${c}.${sig.slice(0, i)}${sig[i] === 'A' ? 'B' : 'A'}${sig.slice(i + 1)}`
  // The claims of a real token, re-encoded with a changed oid, keep the old signature.
  const claims = decodeJwt(good).claims
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, oid: '00000000-0000-4000-8000-000000000001' })).toString('base64url')}.${sig}`
  for (const token of ['abc', 'a.b.c', `${h}.${c}`, badSig, forged]) {
    const r = await armClient(s, token).get(p.rg('front'), V.rg)
    expectArmError(r, 401, 'InvalidAuthenticationToken', 'The access token is invalid.')
    assert.equal(r.headers['www-authenticate'], INVALID_CHALLENGE(s.tenantId), token)
    assert.equal(r.headers['x-ms-failure-cause'], 'gateway')
  }
  // Every refusal is an authorization audit event.
  const r = await armClient(s, badSig).get(p.rg('front'), V.rg)
  const events = await authorizationEvents(s, String(r.headers['x-ms-request-id']))
  assert.equal(events.length, 1)
  assert.equal(events[0]?.result, 'failure')
  assert.equal(events[0]?.errorCode, 'InvalidSignature')
})

test('a token for another audience: 401 InvalidAuthenticationTokenAudience naming it (arm-errors §2)', async () => {
  const storage = await armToken(s, s.clientId, s.clientSecret, 'https://storage.azure.com/.default')
  const aud = String(decodeJwt(storage).claims.aud)
  assert.equal(aud, 'https://storage.azure.com')
  const r = await armClient(s, storage).get(p.rg('front'), V.rg)
  expectArmError(
    r,
    401,
    'InvalidAuthenticationTokenAudience',
    `The access token has been obtained for wrong audience or resource '${aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.`,
  )
  assert.match(String(r.headers['www-authenticate']), /^Bearer authorization_uri="https:\/\/login\.windows\.net\//)
  // Both ARM audiences are accepted (AUD-003).
  const core = await armToken(s, s.clientId, s.clientSecret, 'https://management.core.windows.net//.default')
  assert.equal((await armClient(s, core).get(p.rg('front'), V.rg)).status, 200)
})

test('an expired token: 401 ExpiredAuthenticationToken with .NET dates (manual clock)', async () => {
  const clock = manualClock(Date.now())
  const m = await startTestServer({}, { clock })
  try {
    const token = await armToken(m)
    const exp = Number(decodeJwt(token).claims.exp) * 1000
    const ok = await armClient(m, token).get(`/subscriptions/${m.server.endpoints.subscriptionId}`, V.sub)
    assert.equal(ok.status, 200, ok.text)
    // Past exp but within the 5-minute skew: still accepted.
    clock.set(exp + 60_000)
    assert.equal((await armClient(m, token).get('/subscriptions', V.sub)).status, 200)
    clock.set(exp + 5 * 60_000 + 1000)
    const r = await armClient(m, token).get(`/subscriptions/${m.server.endpoints.subscriptionId}`, V.sub)
    expectArmError(
      r,
      401,
      'ExpiredAuthenticationToken',
      `The access token expiry UTC time '${dotnet(exp)}' is earlier than current UTC time '${dotnet(clock.now())}'.`,
    )
    assert.equal(r.headers['www-authenticate'], INVALID_CHALLENGE(m.tenantId))
  } finally {
    await m.stop()
  }
})

test('x-ms-request-id, x-ms-correlation-request-id and ARM headers on success and error (api-shapes §0.1)', async () => {
  const corr = '0f0e0d0c-0b0a-4909-8807-060504030201'
  for (const r of [
    await admin.get(p.rg('front'), V.rg, { headers: { 'x-ms-correlation-request-id': corr } }),
    await admin.get(p.rg('nope'), V.rg, { headers: { 'x-ms-correlation-request-id': corr } }),
    await armClient(s, null).get(p.rg('front'), V.rg, { headers: { 'x-ms-correlation-request-id': corr } }),
  ]) {
    assert.match(String(r.headers['x-ms-request-id']), GUID_RE)
    assert.equal(r.headers['x-ms-correlation-request-id'], corr)
    assert.equal(r.headers['cache-control'], 'no-cache')
    assert.equal(r.headers.pragma, 'no-cache')
    assert.equal(r.headers.expires, '-1')
    assert.match(String(r.headers['x-ms-routing-request-id']), /^[A-Z]+:\d{8}T\d{6}Z:[0-9a-f-]{36}$/)
  }
  // Without one, ARM makes the correlation id equal to the request id; each request has its own id.
  const a = await admin.get(p.rg('front'), V.rg)
  const b = await admin.get(p.rg('front'), V.rg)
  assert.equal(a.headers['x-ms-correlation-request-id'], a.headers['x-ms-request-id'])
  assert.notEqual(a.headers['x-ms-request-id'], b.headers['x-ms-request-id'])
  assert.equal(a.headers['x-ms-ratelimit-remaining-subscription-reads'], '11999')
  // A correlation id that is not a GUID is not echoed.
  const c = await admin.get(p.rg('front'), V.rg, { headers: { 'x-ms-correlation-request-id': 'not-a-guid' } })
  assert.equal(c.headers['x-ms-correlation-request-id'], c.headers['x-ms-request-id'])
})

test('tolerant paths: lower-case resourcegroups, doubled and trailing slashes, encoded api%2Dversion (ARM-004, ARM-005)', async () => {
  const expected = {
    id: `/subscriptions/${sub}/resourceGroups/front`,
    name: 'front',
    type: 'Microsoft.Resources/resourceGroups',
    location: 'westus',
    properties: { provisioningState: 'Succeeded' },
  }
  for (const path of [
    `/subscriptions/${sub}/resourcegroups/front?api-version=${V.rg}`,
    `/SUBSCRIPTIONS/${sub}/RESOURCEGROUPS/FRONT?api-version=${V.rg}`,
    `//subscriptions/${sub}/resourceGroups/front?api-version=${V.rg}`,
    `/subscriptions//${sub}//resourceGroups/front/?api-version=${V.rg}`,
    `/subscriptions/${sub}/resourceGroups/front//?api-version=${V.rg}`,
    `/subscriptions/${sub}/resourceGroups/front?api%2Dversion=${V.rg}`,
  ]) {
    const r = await admin.call('GET', path, null)
    assert.equal(r.status, 200, `${path}: ${r.text}`)
    assert.deepEqual(r.json(), expected, path)
  }
  // Identities in a lower-case path are found under their canonical id.
  const put = await admin.call(
    'PUT',
    `//subscriptions/${sub}/resourcegroups/front/providers/microsoft.managedidentity/USERASSIGNEDIDENTITIES/tol1/?api-version=${V.mi}`,
    null,
    { body: { location: 'westus' } },
  )
  assert.equal(put.status, 201, put.text)
  const got = await admin.get(p.uami('front', 'tol1'), V.mi)
  assert.equal(got.status, 200, got.text)
  assert.equal(
    got.json<{ id: string }>().id,
    `/subscriptions/${sub}/resourcegroups/front/providers/Microsoft.ManagedIdentity/userAssignedIdentities/tol1`,
  )
  // The tenant-level lists tolerate a trailing slash too.
  assert.equal((await admin.call('GET', `/subscriptions/?api-version=${V.sub}`, null)).status, 200)
})

test('unknown namespace → 400 InvalidResourceNamespace; unknown type → 404 InvalidResourceType (arm-errors §4)', async () => {
  expectArmError(
    await admin.get(`${p.rg('front')}/providers/Microsoft.Foo/bars/x`, V.rg),
    400,
    'InvalidResourceNamespace',
    "The resource namespace 'Microsoft.Foo' is invalid.",
  )
  expectArmError(
    await admin.get(`${p.sub}/providers/Microsoft.Foo`, V.rg),
    400,
    'InvalidResourceNamespace',
    "The resource namespace 'Microsoft.Foo' is invalid.",
  )
  expectArmError(
    await admin.get(`${p.rg('front')}/providers/microsoft.compute/virtualMachinesX/x`, '2021-01-01'),
    404,
    'InvalidResourceType',
    "The resource type could not be found in the namespace 'Microsoft.Compute' for api version '2021-01-01'.",
  )
})

test('api-version errors: NoRegisteredProviderFound for a bad UAMI version, InvalidApiVersionParameter for RG paths (ARM-008)', async () => {
  expectArmError(
    await admin.put(p.uami('front', 'id1'), '2099-01-01', { location: 'westus' }),
    400,
    'NoRegisteredProviderFound',
    `No registered resource provider found for location 'westus' and API version '2099-01-01' for type 'Microsoft.ManagedIdentity/userAssignedIdentities'. The supported api-versions are '${API_VERSIONS.managedIdentity.join(', ')}'. The supported locations are 'eastus, westus, westeurope'.`,
  )
  // Microsoft.Resources lists its versions newest first, without spaces (arm-errors §4).
  const newestFirst = [...API_VERSIONS.resources].reverse().join(',')
  for (const r of [
    await admin.get(p.rg('front'), '2099-01-01'),
    await admin.put(p.rg('front2'), 'latest', { location: 'westus' }),
    await admin.get(`${p.rg('front')}/resources`, '2099-01-01'),
  ])
    expectArmError(
      r,
      400,
      'InvalidApiVersionParameter',
      new RegExp(
        `^The api-version '(2099-01-01|latest)' is invalid\\. The supported versions are '${newestFirst}'\\.$`,
      ),
    )
  // A known extension type with a bad version names the type and its versions (oldest first, no spaces).
  expectArmError(
    await admin.get(`${p.rg('front')}/providers/Microsoft.Authorization/roleAssignments`, '2099-01-01'),
    400,
    'InvalidResourceType',
    `The resource type 'roleAssignments' could not be found in the namespace 'Microsoft.Authorization' for api version '2099-01-01'. The supported api-versions are '${API_VERSIONS.authorization.join(',')}'.`,
  )
  // Versions compare case-insensitively (…-Preview).
  assert.equal((await admin.get(p.uami('front', 'tol1'), '2015-08-31-PREVIEW')).status, 200)
})

test('a body over 4 MiB → 413 RequestContentTooLarge; 4 MiB exactly is read (ARM-001)', async () => {
  const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)
  expectArmError(
    await admin.put(p.rg('front'), V.rg, big),
    413,
    'RequestContentTooLarge',
    'The request content size exceeds the maximum size of 4 MB.',
  )
  // Padding with whitespace keeps the JSON valid: the limit is on bytes, not on the document.
  const doc = JSON.stringify({ location: 'westus', tags: { size: 'limit' } })
  const atLimit = Buffer.concat([Buffer.from(doc), Buffer.alloc(4 * 1024 * 1024 - doc.length, 0x20)])
  const r = await admin.put(p.rg('front'), V.rg, atLimit)
  assert.equal(r.status, 200, r.text)
  // The server keeps serving on the same connection pool after a refused upload.
  assert.equal((await admin.get(p.rg('front'), V.rg)).status, 200)
})

test('invalid JSON → 400 InvalidRequestContent, whatever the Content-Type (ARM-007, INC-004)', async () => {
  const text = '{"location": westus}'
  let reason = ''
  try {
    JSON.parse(text)
  } catch (e) {
    reason = (e as Error).message.replace(/ in JSON at position \d+.*$/, '')
  }
  for (const contentType of ['application/json', 'application/x-www-form-urlencoded']) {
    expectArmError(
      await admin.put(p.rg('front3'), V.rg, text, { headers: { 'content-type': contentType } }),
      400,
      'InvalidRequestContent',
      `The request content was invalid and could not be deserialized: '${reason}. Path '', line 1, position 13.'.`,
    )
  }
  // Valid JSON sent as form data (curl -d) is read as JSON.
  const r = await admin.put(p.rg('front3'), V.rg, JSON.stringify({ location: 'westus' }), {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  assert.equal(r.status, 201, r.text)
  // GET ignores a Content-Type (ARM-002: PowerShell sends one).
  assert.equal((await admin.get(p.rg('front3'), V.rg, { headers: { 'content-type': 'application/json' } })).status, 200)
})

test('ARM-006: POST actions with an empty form body (curl -d ""), with Content-Length 0 and with no body at all', async () => {
  const account = `${p.rg('front')}/providers/Microsoft.Storage/storageAccounts/azidfront006`
  assert.ok([200, 201].includes((await admin.put(account, V.storage, { location: 'westus' })).status))
  const keyNames = (r: { status: number; text: string }) => {
    assert.equal(r.status, 200, r.text)
    return (JSON.parse(r.text) as { keys: { keyName: string }[] }).keys.map((k) => k.keyName)
  }
  // The seed's curl: --request POST -d "" (a form content type and Content-Length: 0), api-version 2016-12-01.
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  assert.deepEqual(keyNames(await admin.post(`${account}/listKeys`, '2016-12-01', '', { headers: form })), [
    'key1',
    'key2',
  ])
  // PowerShell's Invoke-WebRequest -Method POST without -Body: no body and no Content-Type.
  assert.deepEqual(keyNames(await admin.post(`${account}/listKeys`, V.storage)), ['key1', 'key2'])
  // A JSON content type with nothing in it is an empty body too, not invalid JSON.
  const json = { 'content-type': 'application/json' }
  assert.deepEqual(keyNames(await admin.post(`${account}/listKeys`, V.storage, '', { headers: json })), [
    'key1',
    'key2',
  ])
})
