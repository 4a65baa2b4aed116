// The portal's server side without a browser: its sign-in client (redirects only to the portal on azid's own
// origin), and the admin API door /_azid/portal (the signed-in user's token instead of the admin key; what the
// bootstrap administrator, another user, and nobody get; the live log stream).
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:https'
import { after, before, test } from 'node:test'
import { type HttpResult, httpsRequest, postForm } from '../../support/https.ts'
import { admin } from '../../support/mi.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'

const PORTAL = 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c'
const SCOPE = 'https://management.azure.com/.default offline_access openid profile'

let s: TestServer
let adminToken: string
let userToken: string
let userId: string
const redirect = () => `${s.base}/portal/`

before(async () => {
  s = await startTestServer()
  const e = s.server.endpoints
  const user = await s.server.directory.createUser({
    tenantId: e.tenantId,
    userPrincipalName: `someone@${e.tenantDomain}`,
    displayName: 'Someone',
    password: 'Passw0rd!someone',
  })
  userId = user.objectId
  adminToken = await signIn(e.bootstrap.userPrincipalName, e.bootstrap.userPassword ?? '')
  userToken = await signIn(user.userPrincipalName, 'Passw0rd!someone')
})
after(() => s.stop())

/** The portal's sign-in as a browser does it: /authorize form post, the 302 to /portal/, the code redeemed with PKCE. */
async function signIn(upn: string, password: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const r = await postForm(`${s.base}/organizations/oauth2/v2.0/authorize`, s.ca, {
    client_id: PORTAL,
    response_type: 'code',
    redirect_uri: redirect(),
    response_mode: 'query',
    scope: SCOPE,
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    username: upn,
    password,
  })
  assert.equal(r.status, 302, r.text)
  const location = new URL(String(r.headers.location))
  assert.equal(`${location.origin}${location.pathname}`, redirect())
  const code = location.searchParams.get('code') ?? ''
  const t = await postForm(`${s.base}/organizations/oauth2/v2.0/token`, s.ca, {
    grant_type: 'authorization_code',
    client_id: PORTAL,
    code,
    redirect_uri: redirect(),
    code_verifier: verifier,
    scope: SCOPE,
  })
  assert.equal(t.status, 200, t.text)
  const body = t.json<{ access_token: string; refresh_token: string }>()
  assert.ok(body.refresh_token, 'a refresh token for the other resources')
  return body.access_token
}

const portal = (method: string, path: string, token: string | null, body?: unknown): Promise<HttpResult> =>
  httpsRequest(`${s.base}/_azid/portal${path}`, {
    ca: s.ca,
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

test('the portal client redirects only to /portal/ on the origin it was reached at', async () => {
  const page = (redirectUri: string) =>
    httpsRequest(
      `${s.base}/organizations/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: PORTAL, response_type: 'code', redirect_uri: redirectUri, scope: SCOPE })}`,
      { ca: s.ca },
    )
  const ok = await page(redirect())
  assert.equal(ok.status, 200)
  assert.match(ok.text, /azid portal/)
  for (const bad of [
    'https://evil.example/portal/',
    `${s.base}/portal/other`,
    `${s.base}/portal/?next=x`,
    `${s.base.replace('https:', 'http:')}/portal/`,
    'http://localhost:8400',
  ]) {
    const r = await page(bad)
    assert.equal(r.status, 400, bad)
    assert.match(r.text, /AADSTS50011/, bad)
  }
})

test('/_azid/portal refuses a missing or bad token; the admin key is no substitute', async () => {
  const none = await portal('GET', '/session', null)
  assert.equal(none.status, 401)
  assert.equal(none.json<{ error: { code: string } }>().error.code, 'InvalidAuthenticationToken')
  assert.match(String(none.headers['www-authenticate']), /Bearer/)
  const bad = await portal('GET', '/logs', 'not-a-token')
  assert.equal(bad.status, 401)
  const withKey = await httpsRequest(`${s.base}/_azid/portal/logs`, {
    ca: s.ca,
    headers: { 'x-azid-admin-key': s.adminKey },
  })
  assert.equal(withKey.status, 401)
  // A Graph token is not an ARM token.
  const graph = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/token`, s.ca, {
    grant_type: 'client_credentials',
    client_id: s.clientId,
    client_secret: s.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
  })
  assert.equal((await portal('GET', '/session', graph.json<{ access_token: string }>().access_token)).status, 401)
})

test('session says who is signed in and whether they are the bootstrap administrator', async () => {
  const a = (await portal('GET', '/session', adminToken)).json<Record<string, unknown>>()
  assert.equal(a.admin, true)
  assert.equal(a.principalId, s.server.bootstrap.userId)
  assert.equal(a.userPrincipalName, s.server.bootstrap.userPrincipalName)
  const u = (await portal('GET', '/session', userToken)).json<Record<string, unknown>>()
  assert.equal(u.admin, false)
  assert.equal(u.principalId, userId)
  assert.equal(u.isUser, true)
})

test('logs, hosts, faults and the device-code list are for the bootstrap administrator only', async () => {
  for (const [method, path, body] of [
    ['GET', '/logs', undefined],
    ['GET', '/logs/stream', undefined],
    ['GET', '/hosts', undefined],
    ['GET', '/faults', undefined],
    ['POST', '/faults', { effect: 503 }],
    ['DELETE', '/faults', undefined],
    ['GET', '/device', undefined],
  ] as const) {
    const r = await portal(method, path, userToken, body)
    assert.equal(r.status, 403, `${method} ${path}`)
    const err = r.json<{ error: { code: string; message: string } }>().error
    assert.equal(err.code, 'AdminOnly')
    assert.match(err.message, /bootstrap administrator/)
  }
  assert.deepEqual(await admin(s, 'GET', '/_azid/faults').then((r) => r.json()), { value: [] }, 'nothing was added')
  const logs = await portal('GET', '/logs', adminToken, undefined)
  assert.equal(logs.status, 200)
  assert.ok(Array.isArray(logs.json<{ value: unknown[] }>().value))
  assert.equal(logs.headers['cache-control'], 'no-store', 'nothing the portal reads is cached')
})

test('fault rules through the portal door are added, audited and cleared; bad rules get the admin API’s message', async () => {
  const added = await portal('POST', '/faults', adminToken, { effect: 503, match: { flavour: 'imds' }, count: 1 })
  assert.equal(added.status, 201, added.text)
  const bad = await portal('POST', '/faults', adminToken, { effect: 418 })
  assert.equal(bad.status, 400)
  assert.equal(bad.json<{ error: { code: string } }>().error.code, 'InvalidFaultRule')
  const list = (await portal('GET', '/faults', adminToken)).json<{ value: { id: string }[] }>().value
  assert.equal(list.length, 1)
  assert.equal((await portal('DELETE', `/faults/${list[0]?.id}`, adminToken)).status, 200)
  assert.equal((await portal('DELETE', '/faults/nope', adminToken)).status, 404)
  await s.server.audit.flush()
  const events = await s.server.audit.query({ kind: 'admin', principalId: s.server.bootstrap.userId, limit: 10 })
  assert.ok(events.some((e) => e.reason === 'portal: fault rules added'))
  assert.ok(events.some((e) => e.reason === 'portal: fault rule removed'))
})

test('device codes: the administrator sees user codes (never device codes); any user approves as themselves', async () => {
  const start = (
    await postForm(`${s.base}/organizations/oauth2/v2.0/devicecode`, s.ca, {
      client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
      scope: 'https://management.azure.com/.default',
    })
  ).json<{ user_code: string; device_code: string }>()
  const list = await portal('GET', '/device', adminToken)
  assert.equal(list.status, 200)
  assert.ok(!list.text.includes(start.device_code))
  assert.doesNotMatch(list.text, /deviceCodeHash/)
  const mine = list
    .json<{ value: { userCode: string; clientName: string }[] }>()
    .value.find((d) => d.userCode === start.user_code)
  assert.equal(mine?.clientName, 'Microsoft Azure CLI')
  const wrong = await portal('POST', '/device/NOPE1234/approve', userToken)
  assert.equal(wrong.status, 400)
  assert.match(wrong.json<{ error: { message: string } }>().error.message, /^AADSTS/)
  const ok = await portal('POST', `/device/${start.user_code}/approve`, userToken)
  assert.equal(ok.status, 200, ok.text)
  assert.equal(ok.json<{ user: string }>().user, `someone@${s.server.endpoints.tenantDomain}`)
  const tok = await postForm(`${s.base}/organizations/oauth2/v2.0/token`, s.ca, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
    device_code: start.device_code,
  })
  assert.equal(tok.status, 200, tok.text)
  assert.equal(tok.json<{ access_token: string }>().access_token.split('.').length, 3)
})

test('check access: the administrator, or a user who may read role assignments at the scope', async () => {
  const scope = `/subscriptions/${s.server.endpoints.subscriptionId}`
  const q = `?principal=${userId}&action=Microsoft.Resources/subscriptions/read&scope=${encodeURIComponent(scope)}`
  const a = await portal('GET', `/access/explain${q}`, adminToken)
  assert.equal(a.status, 200, a.text)
  assert.equal(a.json<{ allowed: boolean }>().allowed, false)
  const u = await portal('GET', `/access/explain${q}`, userToken)
  assert.equal(u.status, 403)
  assert.match(
    u.json<{ error: { message: string } }>().error.message,
    /does not have authorization to perform action 'Microsoft\.Authorization\/roleAssignments\/read'/,
  )
  assert.equal((await portal('GET', '/access/explain?principal=x', adminToken)).status, 400)
})

/** An audit event as the stream sends it (the fields these tests read). */
interface Ev {
  reason?: string | null
}

/** Reads a server-sent-event stream until `until` says stop (or 5 s pass). */
function readStream(path: string, token: string, until: (events: { type: string; data: Ev }[]) => boolean) {
  return new Promise<{ status: number; type: string; events: { type: string; data: Ev }[] }>((resolve, reject) => {
    const events: { type: string; data: Ev }[] = []
    const req = request(
      `${s.base}/_azid/portal${path}`,
      { ca: s.ca, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let buf = ''
        const done = () => {
          clearTimeout(timer)
          req.destroy()
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), events })
        }
        const timer = setTimeout(done, 5000)
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          buf += chunk
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const block = buf.slice(0, i)
            buf = buf.slice(i + 2)
            const type = /^event: (.*)$/m.exec(block)?.[1]
            const data = /^data: (.*)$/m.exec(block)?.[1]
            if (type && data) events.push({ type, data: JSON.parse(data) })
          }
          if (until(events)) done()
        })
        res.on('end', done)
      },
    )
    req.on('error', reject)
    req.end()
  })
}

test('the live log streams new events as they are recorded, filtered as asked', async () => {
  await s.server.audit.flush()
  const mark = (await s.server.audit.query({ limit: 1 }))[0]?.seq ?? 0
  // Something to catch up on before the stream opens, and something after.
  s.server.audit.record({ kind: 'fault', result: 'failure', reason: 'before the stream', host: '/h/1' })
  const reading = readStream(`/logs/stream?kind=fault&after=${mark}`, adminToken, (ev) =>
    ev.some((e) => e.type === 'audit' && e.data.reason === 'after the stream'),
  )
  setTimeout(() => {
    s.server.audit.record({ kind: 'token', result: 'success', reason: 'not a fault' })
    s.server.audit.record({ kind: 'fault', result: 'failure', reason: 'after the stream', host: '/h/1' })
  }, 300)
  const r = await reading
  assert.equal(r.status, 200)
  assert.match(r.type, /^text\/event-stream/)
  const audit = r.events.filter((e) => e.type === 'audit').map((e) => e.data.reason)
  assert.deepEqual(audit, ['before the stream', 'after the stream'])
  assert.ok(r.events.some((e) => e.type === 'ready'))
  const bad = await portal('GET', '/logs/stream?kind=nope', adminToken)
  assert.equal(bad.status, 400)
})

test('unknown portal API paths answer 404 in the same error format', async () => {
  const r = await portal('GET', '/nothing', adminToken)
  assert.equal(r.status, 404)
  assert.equal(r.json<{ error: { code: string } }>().error.code, 'NotFound')
})
