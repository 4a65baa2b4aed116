// @azure/msal-node 7.2.1, unmodified, in child processes: client credentials, device code + silent refresh, and the
// authorization-code flow with PKCE through azid's sign-in page (clients.md §4.1, §4.2, §4.5).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { describeRun, moduleUrl, resultOf, runNode, scratchDir, wire } from '../support/child.ts'
import { decodeJwt, httpsRequest } from '../support/https.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const ARM = 'https://management.azure.com/.default'
const STORAGE = 'https://storage.azure.com/.default'
const AZ_CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
const REDIRECT = 'http://localhost:8400'
const MSAL = moduleUrl('@azure/msal-node')

let s: TestServer
let scratch: ReturnType<typeof scratchDir>

before(async () => {
  s = await startTestServer({ tokens: { deviceCodeInterval: 1 } })
  scratch = scratchDir()
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

/** msal-node configuration: the azid authority, trusted through knownAuthorities so that no instance discovery is sent. */
const auth = (clientId: string, extra: Record<string, string> = {}) =>
  JSON.stringify({
    clientId,
    authority: `${s.base}/${s.tenantId}`,
    knownAuthorities: [new URL(s.base).host],
    ...extra,
  })

interface Result {
  accessToken: string
  idToken?: string
  scopes: string[]
  tenantId: string
  account: { homeAccountId: string; username: string; tenantId: string; localAccountId: string } | null
  fromCache: boolean
}

const pick = `(r) => ({ accessToken: r.accessToken, idToken: r.idToken, scopes: r.scopes, tenantId: r.tenantId, fromCache: r.fromCache,
  account: r.account && { homeAccountId: r.account.homeAccountId, username: r.account.username, tenantId: r.account.tenantId, localAccountId: r.account.localAccountId } })`

/** The requests msal sent to azid, excluding the sign-in page traffic of the test itself. */
const stsRequests = (r: Parameters<typeof wire>[0]) => wire(r).filter((w) => w.url.startsWith(s.base))

test('ConfidentialClientApplication.acquireTokenByClientCredential with a secret', async () => {
  const r = await runNode(
    scratch,
    'cca',
    `
const msal = await import(${JSON.stringify(MSAL)})
const pick = ${pick}
await run(async () => {
  const cca = new msal.ConfidentialClientApplication({ auth: ${auth(s.clientId, { clientSecret: s.clientSecret })} })
  const first = await cca.acquireTokenByClientCredential({ scopes: [${JSON.stringify(ARM)}] })
  const again = await cca.acquireTokenByClientCredential({ scopes: [${JSON.stringify(ARM)}] })
  return [pick(first), pick(again)]
})`,
    { caPath: s.caPath },
  )
  const [first, again] = resultOf<Result[]>(r)
  assert.ok(first && again, describeRun(r))
  const { claims } = decodeJwt(first.accessToken)
  assert.equal(claims.aud, 'https://management.azure.com')
  assert.equal(claims.tid, s.tenantId)
  assert.equal(claims.appid, s.clientId)
  assert.equal(claims.idtyp, 'app')
  assert.equal(first.fromCache, false)
  assert.equal(again.fromCache, true, 'the second call is served from msal’s cache')
  assert.equal(again.accessToken, first.accessToken)
  // knownAuthorities: the openid-configuration and one token POST, nothing else (no instance discovery).
  assert.deepEqual(
    stsRequests(r).map((w) => `${w.method} ${new URL(w.url).pathname}`),
    [`GET /${s.tenantId}/v2.0/.well-known/openid-configuration`, `POST /${s.tenantId}/oauth2/v2.0/token`],
    describeRun(r),
  )
  assert.equal(
    wire(r).filter((w) => !w.url.startsWith(s.base)).length,
    0,
    'no request leaves azid (no login.microsoftonline.com)',
  )
})

test('PublicClientApplication: device code approved through the admin API, then acquireTokenSilent for another resource', async () => {
  let approval: Promise<{ status: number; text: string }> | undefined
  const r = await runNode(
    scratch,
    'pca-device',
    `
const msal = await import(${JSON.stringify(MSAL)})
const pick = ${pick}
await run(async () => {
  const pca = new msal.PublicClientApplication({ auth: ${auth(AZ_CLI)} })
  const device = await pca.acquireTokenByDeviceCode({
    scopes: [${JSON.stringify(ARM)}],
    deviceCodeCallback: (info) => out('DEVICE', { userCode: info.userCode, verificationUri: info.verificationUri, interval: info.interval }),
  })
  const accounts = await pca.getTokenCache().getAllAccounts()
  const silent = await pca.acquireTokenSilent({ account: accounts[0], scopes: [${JSON.stringify(STORAGE)}] })
  const cached = await pca.acquireTokenSilent({ account: accounts[0], scopes: [${JSON.stringify(ARM)}] })
  return [pick(device), pick(silent), pick(cached), accounts.length]
})`,
    {
      caPath: s.caPath,
      onLine: (line) => {
        if (!line.startsWith('@@DEVICE ')) return
        const info = JSON.parse(line.slice(9)) as { userCode: string; verificationUri: string; interval: number }
        approval = httpsRequest(`${s.base}/_azid/device/${encodeURIComponent(info.userCode)}/approve`, {
          ca: s.ca,
          method: 'POST',
          headers: { 'x-azid-admin-key': s.adminKey, 'content-type': 'application/json' },
          body: JSON.stringify({ user: s.server.bootstrap.userPrincipalName }),
        })
      },
    },
  )
  assert.ok(approval, `the child never printed the user code\n${describeRun(r)}`)
  assert.equal((await approval).status, 200)
  const [device, silent, cached, accountCount] = resultOf<[Result, Result, Result, number]>(r)
  assert.equal(accountCount, 1)

  const upn = s.server.bootstrap.userPrincipalName
  const oid = s.server.bootstrap.userId
  assert.ok(device.account, describeRun(r))
  assert.equal(device.account.username, upn)
  assert.equal(device.account.homeAccountId, `${oid}.${s.tenantId}`)
  assert.equal(device.account.tenantId, s.tenantId)
  const id = decodeJwt(device.idToken ?? '').claims
  assert.equal(id.aud, AZ_CLI)
  assert.equal(id.oid, oid)
  assert.equal(id.preferred_username, upn)

  const arm = decodeJwt(device.accessToken).claims
  assert.equal(arm.aud, 'https://management.azure.com')
  assert.equal(arm.upn, upn)
  const storage = decodeJwt(silent.accessToken).claims
  assert.equal(storage.aud, 'https://storage.azure.com')
  assert.equal(storage.oid, oid)
  assert.equal(storage.appid, AZ_CLI)
  assert.equal(silent.fromCache, false, 'a new resource needs the refresh token')
  assert.equal(cached.fromCache, true)
  assert.equal(cached.accessToken, device.accessToken)

  const grants = stsRequests(r)
    .filter((w) => w.method === 'POST' && w.url.includes('/oauth2/v2.0/token'))
    .map((w) => new URLSearchParams(w.body).get('grant_type'))
  assert.equal(grants.at(-1), 'refresh_token', describeRun(r))
  assert.ok(grants.slice(0, -1).every((g) => g === 'device_code'))
})

test('authorization code + PKCE: getAuthCodeUrl, azid sign-in form, acquireTokenByCode', async () => {
  // The browser part runs while the child waits on stdin; its failure is kept (not left as an unhandled rejection).
  let signIn: Promise<unknown> | undefined
  const r = await runNode(
    scratch,
    'pca-code',
    `
const msal = await import(${JSON.stringify(MSAL)})
const pick = ${pick}
await run(async () => {
  const pca = new msal.PublicClientApplication({ auth: ${auth(AZ_CLI)} })
  const { verifier, challenge } = await new msal.CryptoProvider().generatePkceCodes()
  const common = { scopes: [${JSON.stringify(ARM)}], redirectUri: ${JSON.stringify(REDIRECT)} }
  const url = await pca.getAuthCodeUrl({ ...common, codeChallenge: challenge, codeChallengeMethod: 'S256', state: 'st-123', nonce: 'n-456' })
  out('AUTHURL', url)
  const code = await input()
  const result = await pca.acquireTokenByCode({ ...common, code, codeVerifier: verifier, nonce: 'n-456' })
  return pick(result)
})`,
    {
      caPath: s.caPath,
      onLine: (line, reply) => {
        if (!line.startsWith('@@AUTHURL ')) return
        signIn = browserSignIn(JSON.parse(line.slice(10)) as string).then(
          (code) => reply(code),
          (err: unknown) => {
            reply('')
            return err
          },
        )
      },
    },
  )
  assert.ok(signIn, `the child never printed the authorization URL\n${describeRun(r)}`)
  const signInError = await signIn
  if (signInError) throw signInError
  const result = resultOf<Result>(r)
  const upn = s.server.bootstrap.userPrincipalName
  const oid = s.server.bootstrap.userId
  const id = decodeJwt(result.idToken ?? '').claims
  assert.equal(id.aud, AZ_CLI)
  assert.equal(id.tid, s.tenantId)
  assert.equal(id.oid, oid)
  assert.equal(id.preferred_username, upn)
  assert.equal(id.nonce, 'n-456')
  assert.equal(id.iss, `${s.base}/${s.tenantId}/v2.0`)
  assert.ok(result.account)
  assert.equal(result.account.username, upn)
  assert.equal(result.account.homeAccountId, `${oid}.${s.tenantId}`)
  assert.equal(result.account.localAccountId, oid)
  const at = decodeJwt(result.accessToken).claims
  assert.equal(at.aud, 'https://management.azure.com')
  assert.equal(at.upn, upn)
  const redeem = stsRequests(r).find((w) => w.method === 'POST' && w.url.includes('/oauth2/v2.0/token'))
  const form = new URLSearchParams(redeem?.body ?? '')
  assert.equal(form.get('grant_type'), 'authorization_code', describeRun(r))
  assert.ok(form.get('code_verifier'))
})

const unescapeHtml = (v: string) =>
  v.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? '',
  )

/** What a browser does: GET the authorize URL, post the sign-in form, read `code` from the 302 Location (not followed). */
async function browserSignIn(authUrl: string): Promise<string> {
  const u = new URL(authUrl)
  assert.equal(u.origin, s.base)
  assert.equal(u.pathname, `/${s.tenantId}/oauth2/v2.0/authorize`)
  assert.equal(u.searchParams.get('code_challenge_method'), 'S256')
  const page = await httpsRequest(authUrl, { ca: s.ca })
  assert.equal(page.status, 200, page.text)
  const action = /<form method="post" action="([^"]*)"/.exec(page.text)?.[1]
  assert.ok(action, page.text)
  const form = new URLSearchParams()
  for (const m of page.text.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
    form.set(unescapeHtml(m[1] as string), unescapeHtml(m[2] as string))
  form.set('username', s.server.bootstrap.userPrincipalName)
  form.set('password', s.server.bootstrap.userPassword ?? '')
  const posted = await httpsRequest(new URL(unescapeHtml(action), s.base).toString(), {
    ca: s.ca,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  })
  assert.equal(posted.status, 302, posted.text)
  const location = new URL(String(posted.headers.location))
  assert.equal(`${location.origin}${location.pathname}`, `${REDIRECT}/`)
  assert.equal(location.searchParams.get('state'), 'st-123')
  const code = location.searchParams.get('code')
  assert.ok(code, location.toString())
  return code
}
