// Debian's az CLI 2.45, unmodified, signing in to azid through namespace mode (clients.md §1.2, §8; arm-errors §11):
// the real login.microsoftonline.com / management.azure.com names resolve to 127.0.0.1 inside a private namespace
// whose port 443 is azid's namespace socket. Nothing else resolves there, so az cannot reach the internet.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { systemClock } from '../../src/kernel/clock.ts'
import { systemIds } from '../../src/kernel/ids.ts'
import { generateCertificate, thumbprints } from '../../src/keys/index.ts'
import { describeRun, scratchDir } from '../support/child.ts'
import { decodeJwt, type HttpResult, httpsRequest, postForm } from '../support/https.ts'
import { azJson, azUnavailable, needAz, runAzInNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const AZ_CLI_APP = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

interface Account {
  cloudName?: string
  environmentName?: string
  id: string
  isDefault: boolean
  name: string
  state: string
  tenantId: string
  homeTenantId?: string
  user: { name: string; type: string; useCertSNIssuerAuth?: boolean }
}

interface AccessToken {
  accessToken: string
  expiresOn: string
  subscription: string
  tenant: string
  tokenType: string
}

let s: TestServer
let scratch: ReturnType<typeof scratchDir>
let subscriptionId = ''
/** An app with a certificate (key + cert in one PEM, as az takes it) and Reader on the subscription. */
let certApp: { appId: string; pemPath: string }
/** An app with a secret and no role assignment anywhere. */
let bareApp: { appId: string; secret: string }

const az = (args: string[], opts: { input?: (line: string, write: (s: string) => void) => void } = {}) =>
  runAzInNamespace(s, args, { configDir: scratch.dir, ...opts })

before(async () => {
  if (azUnavailable()) return
  s = await startTestServer({ tokens: { deviceCodeInterval: 1 } })
  scratch = scratchDir('azid-az-login-')
  subscriptionId = s.server.endpoints.subscriptionId

  const { application, servicePrincipal } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'az login cert app',
  })
  const cert = await generateCertificate({ commonName: 'az-login-conformance', clock: systemClock, ids: systemIds })
  const tp = thumbprints(cert.certDer)
  const now = Date.now()
  await s.server.directory.addCertificate({
    appId: application.appId,
    certDer: cert.certDer,
    sha1Hex: tp.sha1Hex,
    sha256Hex: tp.sha256Hex,
    startAt: now - 60_000,
    endAt: now + 86_400_000,
  })
  certApp = { appId: application.appId, pemPath: scratch.write('client.pem', `${cert.keyPem}${cert.certPem}`) }

  // Reader for the cert app, through ARM with the bootstrap client's token (as an operator would).
  const token = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/token`, s.ca, {
    grant_type: 'client_credentials',
    client_id: s.clientId,
    client_secret: s.clientSecret,
    scope: 'https://management.azure.com/.default',
  })
  assert.equal(token.status, 200, token.text)
  const put = await httpsRequest(
    `${s.base}/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`,
    {
      ca: s.ca,
      method: 'PUT',
      headers: { authorization: `Bearer ${token.json<{ access_token: string }>().access_token}` },
      body: JSON.stringify({
        properties: {
          roleDefinitionId: `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
          principalId: servicePrincipal.objectId,
          principalType: 'ServicePrincipal',
        },
      }),
    },
  )
  assert.equal(put.status, 201, put.text)

  const bare = await s.server.directory.createApplication({ tenantId: s.tenantId, displayName: 'az login bare app' })
  const pw = await s.server.directory.addPassword({ appId: bare.application.appId })
  bareApp = { appId: bare.application.appId, secret: pw.secretText }
})

after(async () => {
  scratch?.dispose()
  await s?.stop()
})

/** The one subscription azid serves, as az records it for `user`. */
function assertSubscriptionAccount(
  a: Account | undefined,
  user: Account['user'],
  r: Parameters<typeof describeRun>[0],
) {
  assert.ok(a, describeRun(r))
  assert.equal(a.id, subscriptionId, describeRun(r))
  assert.equal(a.tenantId, s.tenantId)
  assert.equal(a.homeTenantId, s.tenantId)
  assert.equal(a.state, 'Enabled')
  assert.equal(a.isDefault, true)
  assert.equal(a.name, 'azid subscription')
  assert.deepEqual(a.user, user)
}

test('az login --service-principal with a secret lists the subscription', async (t) => {
  if (!needAz(t)) return
  const r = await az([
    'login',
    '--service-principal',
    '-u',
    s.clientId,
    `--password=${s.clientSecret}`,
    '--tenant',
    s.tenantId,
  ])
  const accounts = azJson<Account[]>(r)
  assert.equal(accounts.length, 1, describeRun(r))
  assert.equal(accounts[0]?.cloudName, 'AzureCloud')
  assertSubscriptionAccount(accounts[0], { name: s.clientId, type: 'servicePrincipal' }, r)
  assert.doesNotMatch(r.stderr, /No subscriptions found/, describeRun(r))
})

for (const resource of ['499b84ac-1321-427f-aa17-267ca6975798', 'https://management.azure.com/']) {
  test(`az account get-access-token --resource ${resource} (after the SP login)`, async (t) => {
    if (!needAz(t)) return
    const r = await az(['account', 'get-access-token', '--resource', resource])
    const tok = azJson<AccessToken>(r)
    assert.equal(tok.tokenType, 'Bearer')
    assert.equal(tok.tenant, s.tenantId)
    assert.equal(tok.subscription, subscriptionId)
    // az 2.45 prints local time without a zone and no expires_on (clients.md §8).
    assert.match(tok.expiresOn, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/)
    const { claims } = decodeJwt(tok.accessToken)
    assert.equal(claims.aud, resource)
    assert.equal(claims.tid, s.tenantId)
    assert.equal(claims.appid, s.clientId)
    assert.equal(claims.ver, '1.0')
  })
}

test('az account show and az account list (after the SP login)', async (t) => {
  if (!needAz(t)) return
  const show = await az(['account', 'show'])
  const current = azJson<Account>(show)
  assert.equal(current.environmentName, 'AzureCloud')
  assertSubscriptionAccount(current, { name: s.clientId, type: 'servicePrincipal' }, show)
  const list = await az(['account', 'list'])
  const all = azJson<Account[]>(list)
  assert.equal(all.length, 1, describeRun(list))
  assertSubscriptionAccount(all[0], { name: s.clientId, type: 'servicePrincipal' }, list)
})

for (const snIssuer of [false, true]) {
  test(`az login --service-principal with a certificate PEM${snIssuer ? ' --use-cert-sn-issuer (x5c)' : ''}`, async (t) => {
    if (!needAz(t)) return
    const args = ['login', '--service-principal', '-u', certApp.appId, '-p', certApp.pemPath, '--tenant', s.tenantId]
    const r = await az(snIssuer ? [...args, '--use-cert-sn-issuer'] : args)
    const accounts = azJson<Account[]>(r)
    assert.equal(accounts.length, 1, describeRun(r))
    const user = snIssuer
      ? { name: certApp.appId, type: 'servicePrincipal', useCertSNIssuerAuth: true }
      : { name: certApp.appId, type: 'servicePrincipal' }
    assertSubscriptionAccount(accounts[0], user, r)
    const tok = azJson<AccessToken>(await az(['account', 'get-access-token']))
    const { claims } = decodeJwt(tok.accessToken)
    assert.equal(claims.appid, certApp.appId)
    assert.equal(claims.appidacr, '2', 'certificate client authentication')
    assert.equal(claims.aud, 'https://management.core.windows.net/', 'az 2.45 asks for the classic ARM resource')
  })
}

test('az login --service-principal without any role: "No subscriptions found", then --allow-no-subscriptions', async (t) => {
  if (!needAz(t)) return
  const args = [
    'login',
    '--service-principal',
    '-u',
    bareApp.appId,
    `--password=${bareApp.secret}`,
    '--tenant',
    s.tenantId,
  ]
  const denied = await az(args)
  assert.equal(denied.code, 1, describeRun(denied))
  // arm-errors §11: the appId for service principals, on stderr, with the `ERROR: ` prefix in 2.45.
  assert.equal(denied.stderr, `ERROR: No subscriptions found for ${bareApp.appId}.\n`, describeRun(denied))

  const r = await az([...args, '--allow-no-subscriptions'])
  const accounts = azJson<Account[]>(r)
  assert.equal(accounts.length, 1, describeRun(r))
  assert.equal(accounts[0]?.id, s.tenantId, 'a tenant-level account has the tenant id as its id')
  assert.equal(accounts[0]?.name, 'N/A(tenant level account)')
  assert.equal(accounts[0]?.tenantId, s.tenantId)
  assert.deepEqual(accounts[0]?.user, { name: bareApp.appId, type: 'servicePrincipal' })
})

for (const allowNoSubscriptions of [true, false]) {
  const flag = allowNoSubscriptions ? ' --allow-no-subscriptions' : ''
  test(`az login --use-device-code${flag}: approved through the admin API, the bootstrap user's subscription`, async (t) => {
    if (!needAz(t)) return
    const codes: string[] = []
    let approval: Promise<HttpResult> | undefined
    const r = await az(['login', '--use-device-code', ...(allowNoSubscriptions ? ['--allow-no-subscriptions'] : [])], {
      input: (line) => {
        // "To sign in, use a web browser to open the page https://login.microsoftonline.com/devicelogin and enter
        // the code XXXXXXXXX to authenticate." (stderr)
        const m = /open the page (\S+) and enter the code (\S+) to authenticate/.exec(line)
        if (!m || approval) return
        codes.push(m[1] as string, m[2] as string)
        approval = httpsRequest(`${s.base}/_azid/device/${encodeURIComponent(m[2] as string)}/approve`, {
          ca: s.ca,
          method: 'POST',
          headers: { 'x-azid-admin-key': s.adminKey, 'content-type': 'application/json' },
          body: '{}',
        })
      },
    })
    assert.ok(approval, `az never printed a user code\n${describeRun(r)}`)
    const approved = await approval
    assert.equal(approved.status, 200, approved.text)
    assert.deepEqual(approved.json(), {
      userCode: codes[1],
      clientId: AZ_CLI_APP,
      status: 'approved',
      user: s.server.bootstrap.userPrincipalName,
    })
    assert.equal(codes[0], 'https://login.microsoftonline.com/devicelogin')
    const accounts = azJson<Account[]>(r)
    assert.equal(accounts.length, 1, describeRun(r))
    // The bootstrap user is Owner of the subscription, so it is listed with or without the flag.
    assertSubscriptionAccount(accounts[0], { name: s.server.bootstrap.userPrincipalName, type: 'user' }, r)

    const tok = azJson<AccessToken>(await az(['account', 'get-access-token']))
    const { claims } = decodeJwt(tok.accessToken)
    assert.equal(claims.appid, AZ_CLI_APP)
    assert.equal(claims.upn, s.server.bootstrap.userPrincipalName)
    assert.equal(claims.tid, s.tenantId)
    assert.equal(claims.scp, 'user_impersonation')
  })
}
