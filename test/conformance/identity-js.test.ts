// @azure/identity 4.13.1 (with its own nested msal-node 5.x), unmodified, in child processes (clients.md §4.1, §4.4, §4.5).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { systemClock } from '../../src/kernel/clock.ts'
import { systemIds } from '../../src/kernel/ids.ts'
import { generateCertificate, thumbprints } from '../../src/keys/index.ts'
import { describeRun, errorOf, moduleUrl, resultOf, runNode, scratchDir, wire } from '../support/child.ts'
import { decodeJwt, httpsRequest } from '../support/https.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const ARM = 'https://management.azure.com/.default'
const STORAGE = 'https://storage.azure.com/.default'
const AZ_CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
const IDENTITY = moduleUrl('@azure/identity')

let s: TestServer
let scratch: ReturnType<typeof scratchDir>
let certApp: { appId: string; pemPath: string; x5tS256: string }

before(async () => {
  s = await startTestServer({ tokens: { deviceCodeInterval: 1 } })
  scratch = scratchDir()
  const { application } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'conformance cert app (identity-js)',
  })
  const cert = await generateCertificate({ commonName: 'identity-js-conformance', clock: systemClock, ids: systemIds })
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
  certApp = {
    appId: application.appId,
    pemPath: scratch.write('client.pem', `${cert.keyPem}${cert.certPem}`),
    x5tS256: tp.x5tS256,
  }
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

const options = () => ({ authorityHost: s.base, disableInstanceDiscovery: true })

/** A child that builds `credential` and returns the tokens for `scopes` (getToken in order). */
function tokensScript(credential: string, scopes: readonly string[]): string {
  return `
const identity = await import(${JSON.stringify(IDENTITY)})
await run(async () => {
  const credential = ${credential}
  const tokens = []
  for (const scope of ${JSON.stringify(scopes)}) {
    const t = await credential.getToken(scope)
    tokens.push({ token: t.token, expiresOnTimestamp: t.expiresOnTimestamp, tokenType: t.tokenType })
  }
  return tokens
})`
}

interface Tok {
  token: string
  expiresOnTimestamp: number
  tokenType?: string
}

async function auditSince(seq: number, clientId: string) {
  await s.server.audit.flush()
  return s.server.audit.query({ clientId, afterSeq: seq, order: 'asc', kind: 'token' })
}

async function lastSeq(): Promise<number> {
  await s.server.audit.flush()
  return (await s.server.audit.query({ limit: 1 }))[0]?.seq ?? 0
}

test('ClientSecretCredential: ARM and storage tokens carry aud, tid and appid', async () => {
  const r = await runNode(
    scratch,
    'secret',
    tokensScript(
      `new identity.ClientSecretCredential(${JSON.stringify(s.tenantId)}, ${JSON.stringify(s.clientId)}, ${JSON.stringify(s.clientSecret)}, ${JSON.stringify(options())})`,
      [ARM, STORAGE],
    ),
    { caPath: s.caPath },
  )
  const [arm, storage] = resultOf<Tok[]>(r)
  assert.ok(arm && storage, describeRun(r))
  assert.ok(arm.expiresOnTimestamp > Date.now() + 30 * 60_000, 'expiresOnTimestamp about an hour away')
  for (const [tok, aud] of [
    [arm, 'https://management.azure.com'],
    [storage, 'https://storage.azure.com'],
  ] as const) {
    const { claims } = decodeJwt(tok.token)
    assert.equal(claims.aud, aud, describeRun(r))
    assert.equal(claims.tid, s.tenantId)
    assert.equal(claims.appid, s.clientId)
    assert.equal(claims.appidacr, '1')
    assert.equal(claims.iss, `https://sts.windows.net/${s.tenantId}/`)
  }
})

test('ClientSecretCredential with a wrong secret: the error message carries AADSTS7000215', async () => {
  const r = await runNode(
    scratch,
    'wrong-secret',
    tokensScript(
      `new identity.ClientSecretCredential(${JSON.stringify(s.tenantId)}, ${JSON.stringify(s.clientId)}, 'not-the-secret', ${JSON.stringify(options())})`,
      [ARM],
    ),
    { caPath: s.caPath },
  )
  const err = errorOf(r)
  // identity 4.13 wraps every MSAL ServerError (here: HTTP 401 invalid_client) in AuthenticationRequiredError.
  assert.equal(err.name, 'AuthenticationRequiredError', describeRun(r))
  assert.match(err.message, /AADSTS7000215/, describeRun(r))
  assert.match(err.message, /invalid_client/, describeRun(r))
})

for (const sendCertificateChain of [false, true]) {
  test(`ClientCertificateCredential (PEM file, sendCertificateChain: ${sendCertificateChain}): two scopes, one reused assertion`, async () => {
    const seq = await lastSeq()
    const opts = { ...options(), sendCertificateChain }
    const r = await runNode(
      scratch,
      `cert-${sendCertificateChain}`,
      tokensScript(
        `new identity.ClientCertificateCredential(${JSON.stringify(s.tenantId)}, ${JSON.stringify(certApp.appId)}, { certificatePath: ${JSON.stringify(certApp.pemPath)} }, ${JSON.stringify(opts)})`,
        [ARM, STORAGE],
      ),
      { caPath: s.caPath },
    )
    const [arm, storage] = resultOf<Tok[]>(r)
    assert.ok(arm && storage, describeRun(r))
    for (const [tok, aud] of [
      [arm, 'https://management.azure.com'],
      [storage, 'https://storage.azure.com'],
    ] as const) {
      const { claims } = decodeJwt(tok.token)
      assert.equal(claims.aud, aud)
      assert.equal(claims.tid, s.tenantId)
      assert.equal(claims.appid, certApp.appId)
      assert.equal(claims.appidacr, '2', 'certificate authentication')
    }
    // msal-node signs one assertion (PS256, x5t#S256, aud = token endpoint) and presents it for both scopes.
    const posts = wire(r).filter((w) => w.method === 'POST')
    assert.equal(posts.length, 2, describeRun(r))
    const assertions = posts.map((p) => new URLSearchParams(p.body).get('client_assertion') ?? '')
    assert.equal(assertions[0], assertions[1], 'the same signed assertion is reused')
    const { header, claims } = decodeJwt(assertions[0] ?? '')
    assert.equal(header.alg, 'PS256')
    assert.equal(header['x5t#S256'], certApp.x5tS256)
    assert.equal(Array.isArray(header.x5c), sendCertificateChain, `x5c ${JSON.stringify(header.x5c)}`)
    assert.equal(claims.aud, `${s.base}/${s.tenantId}/oauth2/v2.0/token`)
    const events = await auditSince(seq, certApp.appId)
    assert.deepEqual(
      events.map((e) => [e.result, e.grantType, e.audience]),
      [
        ['success', 'client_credentials', 'https://management.azure.com'],
        ['success', 'client_credentials', 'https://storage.azure.com'],
      ],
    )
  })
}

test('DeviceCodeCredential (az client id): approved through the admin API, the token is the bootstrap user', async () => {
  let approval: Promise<{ status: number; text: string }> | undefined
  const r = await runNode(
    scratch,
    'device',
    `
const identity = await import(${JSON.stringify(IDENTITY)})
await run(async () => {
  const credential = new identity.DeviceCodeCredential({
    ...${JSON.stringify(options())},
    tenantId: ${JSON.stringify(s.tenantId)},
    userPromptCallback: (info) => out('DEVICE', { userCode: info.userCode, verificationUri: info.verificationUri, message: info.message }),
  })
  const t = await credential.getToken(${JSON.stringify(ARM)})
  const again = await credential.getToken(${JSON.stringify(ARM)})
  return { token: t.token, expiresOnTimestamp: t.expiresOnTimestamp, again: again.token }
})`,
    {
      caPath: s.caPath,
      onLine: (line) => {
        if (!line.startsWith('@@DEVICE ')) return
        const info = JSON.parse(line.slice(9)) as { userCode: string; verificationUri: string; message: string }
        assert.equal(info.verificationUri, `${s.base}/devicelogin`)
        assert.match(info.message, new RegExp(info.userCode))
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
  const approved = await approval
  assert.equal(approved.status, 200, approved.text)
  const tok = resultOf<Tok & { again: string }>(r)
  const { claims } = decodeJwt(tok.token)
  assert.equal(claims.aud, 'https://management.azure.com')
  assert.equal(claims.tid, s.tenantId)
  assert.equal(claims.appid, AZ_CLI)
  assert.equal(claims.upn, s.server.bootstrap.userPrincipalName)
  assert.equal(claims.oid, s.server.bootstrap.userId)
  assert.equal(claims.scp, 'user_impersonation')
  // The second getToken is a silent MSAL cache hit: no refresh-token grant. (It needs the `.default` echo in the
  // response's scope, under which msal-node caches the token.)
  assert.equal(tok.again, tok.token)
  const grants = wire(r)
    .filter((w) => w.method === 'POST' && w.url.includes('/oauth2/v2.0/token'))
    .map((w) => new URLSearchParams(w.body).get('grant_type'))
  assert.ok(grants.length >= 1 && grants.every((g) => g === 'device_code'), `grants: ${grants.join(', ')}`)
})
