// Device authorization grant as az (MSAL Python), azcopy (msal-go) and @azure/identity run it (clients.md §4.5,
// docs/wire/sts-errors.md §8): /devicecode, polling, approval through the admin API and through the HTML pages.
import assert from 'node:assert/strict'
import { V1_USER_TOKEN_FIELDS } from '../../support/entra.ts'
import { after, before, test } from 'node:test'
import { jwtVerify } from 'jose'
import { manualClock } from '../../../src/kernel/clock.ts'
import { type HttpResult, decodeJwt, httpsRequest, postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import {
  AZCOPY,
  AZ_CLI,
  CP1_CLAIMS,
  GUID_RE,
  adminRequest,
  assertNoStore,
  expectStsError,
  localJwks,
} from './helpers.ts'

const DEVICE_URN = 'urn:ietf:params:oauth:grant-type:device_code'
const AZ_SCOPE = 'https://management.core.windows.net//.default offline_access openid profile'

let s: TestServer
let upn: string
let password: string
let userId: string
before(async () => {
  s = await startTestServer()
  upn = s.server.bootstrap.userPrincipalName
  password = s.server.bootstrap.userPassword ?? ''
  userId = s.server.bootstrap.userId
  assert.ok(password.length > 0)
})
after(() => s.stop())

interface DeviceStart {
  user_code: string
  device_code: string
  verification_uri: string
  expires_in: number
  interval: number
  message: string
}

async function startV2(srv: TestServer, form: Record<string, string> = {}, tenant = 'organizations') {
  const r = await postForm(`${srv.base}/${tenant}/oauth2/v2.0/devicecode`, srv.ca, {
    client_id: AZ_CLI,
    scope: AZ_SCOPE,
    ...form,
  })
  assert.equal(r.status, 200, r.text)
  return r.json<DeviceStart>()
}

function poll(srv: TestServer, form: Record<string, string>, tenant = 'organizations', version: 1 | 2 = 2) {
  const path = version === 2 ? 'oauth2/v2.0/token' : 'oauth2/token'
  return postForm(`${srv.base}/${tenant}/${path}`, srv.ca, { client_id: AZ_CLI, client_info: '1', ...form })
}

const approve = (code: string, body: Record<string, string> = {}) =>
  adminRequest(s, `/_azid/device/${code}/approve`, { body })

test('v2 /devicecode: fields with numbers and the devicelogin message (clients.md §4.5)', async () => {
  const r = await postForm(`${s.base}/organizations/oauth2/v2.0/devicecode`, s.ca, {
    client_id: AZ_CLI,
    scope: AZ_SCOPE,
  })
  assert.equal(r.status, 200, r.text)
  assertNoStore(r)
  const b = r.json<DeviceStart>()
  assert.deepEqual(Object.keys(b), [
    'user_code',
    'device_code',
    'verification_uri',
    'expires_in',
    'interval',
    'message',
  ])
  assert.match(b.user_code, /^[A-Z2-9]{9}$/)
  assert.ok(b.device_code.length >= 40)
  assert.equal(b.verification_uri, `${s.base}/devicelogin`)
  assert.equal(b.expires_in, 900)
  assert.equal(b.interval, 5)
  assert.equal(
    b.message,
    `To sign in, use a web browser to open the page ${s.base}/devicelogin and enter the code ${b.user_code} to authenticate.`,
  )
})

test('v1 /devicecode: verification_url and strings', async () => {
  const r = await postForm(`${s.base}/${s.tenantId}/oauth2/devicecode`, s.ca, {
    client_id: AZ_CLI,
    resource: 'https://management.core.windows.net/',
  })
  assert.equal(r.status, 200, r.text)
  const b = r.json<Record<string, unknown>>()
  assert.deepEqual(Object.keys(b), [
    'user_code',
    'device_code',
    'verification_url',
    'expires_in',
    'interval',
    'message',
  ])
  assert.equal(b.verification_url, `${s.base}/devicelogin`)
  assert.equal(b.expires_in, '900')
  assert.equal(b.interval, '5')
  assert.match(String(b.message), new RegExp(`enter the code ${String(b.user_code)} to authenticate\\.$`))
})

test('polling before approval → 400 authorization_pending [70016]; too fast → slow_down', async () => {
  const d = await startV2(s)
  const r = await poll(s, { grant_type: DEVICE_URN, device_code: d.device_code })
  await expectStsError(s, r, {
    status: 400,
    error: 'authorization_pending',
    code: 70016,
    text: 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.',
  })
  // A poll within half the interval of the previous one.
  const fast = await poll(s, { grant_type: DEVICE_URN, device_code: d.device_code })
  await expectStsError(s, fast, {
    status: 400,
    error: 'slow_down',
    code: 70016,
    text: 'OAuth 2.0 device flow error. Polling too frequently. Slow down.',
  })
})

async function expectUserTokens(r: HttpResult, q: { aud: string; scp: string; clientId?: string }) {
  assert.equal(r.status, 200, r.text)
  assertNoStore(r)
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
  assert.equal(b.token_type, 'Bearer')
  assert.equal(typeof b.expires_in, 'number')
  const clientId = q.clientId ?? AZ_CLI
  const jwks = await localJwks(s)
  // The access token: a v1 user token for ARM (TOK-009: scp, upn, unique_name, name).
  const at = await jwtVerify(String(b.access_token), jwks, {
    algorithms: ['RS256'],
    issuer: `https://sts.windows.net/${s.tenantId}/`,
    audience: q.aud,
  })
  const c = at.payload as Record<string, unknown>
  assert.equal(c.idtyp, 'user')
  assert.equal(c.oid, userId)
  assert.equal(c.upn, upn)
  assert.equal(c.unique_name, upn)
  assert.equal(c.scp, q.scp)
  assert.equal(c.appid, clientId)
  assert.equal(c.appidacr, '0', 'a public client')
  assert.equal(c.tid, s.tenantId)
  assert.equal(c.ver, '1.0')
  assert.deepEqual(c.amr, ['pwd'])
  assert.equal(typeof c.name, 'string')
  // The id token (MSAL Python checks aud = client id and exp).
  const id = await jwtVerify(String(b.id_token), jwks, {
    algorithms: ['RS256'],
    issuer: `${s.base}/${s.tenantId}/v2.0`,
    audience: clientId,
  })
  assert.equal(id.payload.tid, s.tenantId)
  assert.equal(id.payload.oid, userId)
  assert.equal(id.payload.preferred_username, upn)
  assert.equal(id.payload.ver, '2.0')
  assert.ok((id.payload.exp as number) > Date.now() / 1000)
  assert.equal(decodeJwt(String(b.id_token)).header.x5t, undefined, 'v2-shaped header')
  assert.match(String(b.refresh_token), /^1\.A/)
  const info = JSON.parse(Buffer.from(String(b.client_info), 'base64url').toString('utf8'))
  assert.deepEqual(info, { uid: userId, utid: s.tenantId })
  return b
}

test('az: approve through the admin API, then the URN grant with code= and device_code= gives user tokens (OUT-001)', async () => {
  const d = await startV2(s)
  const a = await approve(d.user_code)
  assert.equal(a.status, 200, a.text)
  assert.deepEqual(a.json(), { userCode: d.user_code, clientId: AZ_CLI, status: 'approved', user: upn })
  const r = await poll(s, {
    grant_type: DEVICE_URN,
    code: d.device_code,
    device_code: d.device_code,
    claims: CP1_CLAIMS,
  })
  const b = await expectUserTokens(r, { aud: 'https://management.core.windows.net/', scp: 'user_impersonation' })
  assert.equal(
    b.scope,
    'https://management.core.windows.net//user_impersonation https://management.core.windows.net//.default offline_access openid profile',
    'granted scope, the .default echo, then the OIDC scopes as asked',
  )
  assert.deepEqual(decodeJwt(String(b.access_token)).claims.xms_cc, ['CP1'])
  // A device code is redeemed once.
  const again = await poll(s, { grant_type: DEVICE_URN, device_code: d.device_code })
  await expectStsError(s, again, {
    status: 400,
    error: 'invalid_grant',
    code: 70000,
    text: "The provided value for the input parameter 'device_code' is not valid.",
    audit: 'deviceCodeInvalid',
  })
})

test('azcopy: grant_type=device_code and only code= (the alias) on the tenant GUID', async () => {
  const d = await startV2(
    s,
    { client_id: AZCOPY, scope: 'https://storage.azure.com/.default openid offline_access profile' },
    s.tenantId,
  )
  assert.equal((await approve(d.user_code)).status, 200)
  const r = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/token`, s.ca, {
    client_id: AZCOPY,
    grant_type: 'device_code',
    code: d.device_code,
  })
  await expectUserTokens(r, { aud: 'https://storage.azure.com', scp: 'user_impersonation', clientId: AZCOPY })
})

test('the v1 device flow returns strings, resource and the v1 id token', async () => {
  const start = await postForm(`${s.base}/${s.tenantId}/oauth2/devicecode`, s.ca, {
    client_id: AZ_CLI,
    resource: 'https://management.core.windows.net/',
  })
  const d = start.json<{ user_code: string; device_code: string }>()
  assert.equal((await approve(d.user_code)).status, 200)
  const r = await poll(s, { grant_type: 'device_code', code: d.device_code }, s.tenantId, 1)
  assert.equal(r.status, 200, r.text)
  const b = r.json<Record<string, unknown>>()
  assert.deepEqual(Object.keys(b), [...V1_USER_TOKEN_FIELDS])
  for (const k of ['expires_in', 'ext_expires_in', 'expires_on', 'not_before', 'scope'])
    assert.equal(typeof b[k], 'string')
  assert.equal(b.resource, 'https://management.core.windows.net/')
  assert.equal(b.scope, 'user_impersonation')
  const { claims } = decodeJwt(String(b.access_token))
  assert.equal(claims.upn, upn)
  assert.equal(claims.aud, 'https://management.core.windows.net/')
  const idt = decodeJwt(String(b.id_token)).claims
  assert.equal(idt.iss, `https://sts.windows.net/${s.tenantId}/`)
  assert.equal(idt.aud, AZ_CLI)
  assert.equal(idt.upn, upn)
})

test('deny → 400 authorization_declined', async () => {
  const d = await startV2(s)
  const r = await adminRequest(s, `/_azid/device/${d.user_code}/deny`, { body: {} })
  assert.equal(r.status, 200, r.text)
  assert.equal(r.json().status, 'denied')
  const p = await poll(s, { grant_type: 'device_code', device_code: d.device_code })
  await expectStsError(s, p, {
    status: 400,
    error: 'authorization_declined',
    code: 70000,
    text: 'The end user denied the authorization request.',
    audit: 'deviceCodeDeclined',
  })
  // A decided code cannot be decided again.
  const twice = await approve(d.user_code)
  assert.equal(twice.status, 400, twice.text)
})

test('the admin API refuses a missing key, an unknown code and an unknown user', async () => {
  const d = await startV2(s)
  const noKey = await httpsRequest(`${s.base}/_azid/device/${d.user_code}/approve`, {
    ca: s.ca,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  })
  assert.equal(noKey.status, 401)
  assert.equal((await approve('NOSUCHCOD')).status, 400)
  const nobody = await approve(d.user_code, { user: `nobody@${s.server.endpoints.tenantDomain}` })
  assert.equal(nobody.status, 404, nobody.text)
  // Still pending: nothing was decided.
  const pending = await adminRequest(s, '/_azid/device')
  assert.ok(pending.json<{ value: { userCode: string }[] }>().value.some((v) => v.userCode === d.user_code))
})

test('the HTML flow: /devicelogin, the code, then sign-in with the bootstrap user approves', async () => {
  const d = await startV2(s)
  const page = await httpsRequest(`${s.base}/devicelogin`, { ca: s.ca })
  assert.equal(page.status, 200)
  assert.match(String(page.headers['content-type']), /^text\/html/)
  assert.match(page.text, /<form method="post" action="\/devicelogin">/)
  assert.match(page.text, /name="otc"/)

  const wrong = await postForm(`${s.base}/devicelogin`, s.ca, { otc: 'WRONGCODE' })
  assert.equal(wrong.status, 200)
  assert.match(wrong.text, /That code didn’t work/)

  // Codes are accepted in lower case and with spaces around them.
  const signIn = await postForm(`${s.base}/devicelogin`, s.ca, { otc: ` ${d.user_code.toLowerCase()} ` })
  assert.equal(signIn.status, 200)
  assert.match(signIn.text, /<form method="post" action="\/devicelogin\/decide">/)
  assert.match(signIn.text, new RegExp(`name="otc" value="${d.user_code}"`))
  assert.match(signIn.text, /Microsoft Azure CLI|04b07795/)

  const badPassword = await postForm(`${s.base}/devicelogin/decide`, s.ca, {
    otc: d.user_code,
    username: upn,
    password: 'wrong password',
    decision: 'approve',
  })
  assert.equal(badPassword.status, 200)
  assert.match(badPassword.text, /AADSTS50126: Error validating credentials due to invalid username or password\./)

  const ok = await postForm(`${s.base}/devicelogin/decide`, s.ca, {
    otc: d.user_code,
    username: upn,
    password,
    decision: 'approve',
  })
  assert.equal(ok.status, 200, ok.text)
  assert.match(ok.text, /You’re signed in/)
  const r = await poll(s, { grant_type: DEVICE_URN, device_code: d.device_code })
  await expectUserTokens(r, { aud: 'https://management.core.windows.net/', scp: 'user_impersonation' })
})

test('the HTML flow can deny', async () => {
  const d = await startV2(s)
  const r = await postForm(`${s.base}/devicelogin/decide`, s.ca, {
    otc: d.user_code,
    username: upn,
    password,
    decision: 'deny',
  })
  assert.equal(r.status, 200)
  assert.match(r.text, /Sign-in denied/)
  const p = await poll(s, { grant_type: DEVICE_URN, device_code: d.device_code })
  await expectStsError(s, p, { status: 400, error: 'authorization_declined', code: 70000, audit: 'deviceCodeDeclined' })
})

test('an unknown device code → 400 invalid_grant 70000; another client → 700007', async () => {
  const r = await poll(s, { grant_type: DEVICE_URN, device_code: 'not-a-device-code' })
  await expectStsError(s, r, { status: 400, error: 'invalid_grant', code: 70000, audit: 'deviceCodeInvalid' })
  const d = await startV2(s)
  const other = await postForm(`${s.base}/organizations/oauth2/v2.0/token`, s.ca, {
    client_id: AZCOPY,
    grant_type: DEVICE_URN,
    device_code: d.device_code,
  })
  await expectStsError(s, other, {
    status: 400,
    error: 'invalid_grant',
    code: 700007,
    text: 'The grant was issued for a different client id.',
    audit: 'grantOtherClient',
  })
})

test('an expired device code → 400 expired_token 70020 (manual clock)', async () => {
  const clock = manualClock(Date.now())
  const srv = await startTestServer({}, { clock })
  try {
    const d = await startV2(srv)
    clock.advance(15 * 60_000)
    const r = await poll(srv, { grant_type: DEVICE_URN, device_code: d.device_code })
    await expectStsError(srv, r, {
      status: 400,
      error: 'expired_token',
      code: 70020,
      text: "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
      audit: 'deviceCodeExpired',
    })
    // It can no longer be approved either, and it is gone from the pending list.
    const late = await adminRequest(srv, `/_azid/device/${d.user_code}/approve`, { body: {} })
    assert.equal(late.status, 400, late.text)
    const pending = await adminRequest(srv, '/_azid/device')
    assert.deepEqual(pending.json<{ value: unknown[] }>().value, [])
  } finally {
    await srv.stop()
  }
})

test('/devicecode refusals: unknown client, missing scope, unknown tenant', async () => {
  const unknown = '11111111-2222-3333-4444-555555555555'
  const r = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/devicecode`, s.ca, {
    client_id: unknown,
    scope: AZ_SCOPE,
  })
  const body = await expectStsError(s, r, { status: 400, error: 'unauthorized_client', code: 700016 })
  assert.match(String(body.error_description), new RegExp(`Application with identifier '${unknown}' was not found`))
  const noScope = await postForm(`${s.base}/organizations/oauth2/v2.0/devicecode`, s.ca, { client_id: AZ_CLI })
  await expectStsError(s, noScope, {
    status: 400,
    error: 'invalid_request',
    code: 900144,
    text: "The request body must contain the following parameter: 'scope'.",
  })
  const tenant = await postForm(`${s.base}/00000000-0000-0000-0000-000000000001/oauth2/v2.0/devicecode`, s.ca, {
    client_id: AZ_CLI,
    scope: AZ_SCOPE,
  })
  await expectStsError(s, tenant, { status: 400, error: 'invalid_request', code: 90002 })
  assert.match(String(r.headers['x-ms-request-id']), GUID_RE)
})
