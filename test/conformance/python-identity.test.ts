// Debian's azure.identity 1.13.0b2 (on MSAL Python 1.21), unmodified, run by /usr/bin/python3 (clients.md §0, §4.1,
// §4.4). This version takes `instance_discovery=False` (azure/identity/_internal/msal_credentials.py); an unknown
// `disable_instance_discovery` would be swallowed by **kwargs and discovery would go to login.microsoftonline.com.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { systemClock } from '../../src/kernel/clock.ts'
import { systemIds } from '../../src/kernel/ids.ts'
import { generateCertificate, thumbprints } from '../../src/keys/index.ts'
import {
  type ChildRun,
  childEnv,
  describeRun,
  errorOf,
  resultOf,
  runChild,
  scratchDir,
  type WireRequest,
  tagged,
} from '../support/child.ts'
import { decodeJwt } from '../support/https.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { DEBIAN_PYTHON, havePythonModule, need } from '../support/tiers.ts'

const ARM = 'https://management.azure.com/.default'

/**
 * Prepended to every Python child: `out`, a WIRE line per request (requests' HTTPAdapter.send is wrapped, the
 * transport under azure-core; azure.identity and MSAL are untouched), and RESULT/ERROR around `main()`.
 */
const PY_PRELUDE = `
import json, sys, traceback
def out(tag, value):
    print('@@' + tag + ' ' + json.dumps(value), flush=True)
import requests.adapters
_send = requests.adapters.HTTPAdapter.send
def _wire(self, request, **kwargs):
    body = request.body
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    out('WIRE', {'method': request.method, 'url': request.url, 'body': body or ''})
    return _send(self, request, **kwargs)
requests.adapters.HTTPAdapter.send = _wire
ARGS = json.loads(sys.argv[1])
`
const PY_RUN = `
try:
    out('RESULT', main())
except Exception as e:
    out('ERROR', {'name': type(e).__name__, 'message': str(e), 'stack': traceback.format_exc()})
    sys.exit(2)
`

let s: TestServer
let scratch: ReturnType<typeof scratchDir>
let unavailable: string | null = null
let certApp: { appId: string; pemPath: string; sha1: Buffer }

before(async () => {
  unavailable = havePythonModule('azure.identity')
    ? null
    : `${DEBIAN_PYTHON} with azure.identity (Debian python3-azure) is not installed`
  s = await startTestServer()
  scratch = scratchDir()
  const { application } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'conformance cert app (python)',
  })
  const cert = await generateCertificate({ commonName: 'python-conformance', clock: systemClock, ids: systemIds })
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
    sha1: Buffer.from(tp.sha1Hex, 'hex'),
  }
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

/** Runs `body` (which defines `main()`) with Debian's python; Python requests trusts only the bundle it is given. */
function runPython(body: string, args: Record<string, unknown>): Promise<ChildRun> {
  return runChild(DEBIAN_PYTHON, ['-c', `${PY_PRELUDE}\n${body}\n${PY_RUN}`, JSON.stringify(args)], {
    env: childEnv({ REQUESTS_CA_BUNDLE: join(s.dataDir, 'pki', 'bundle.pem'), PYTHONDONTWRITEBYTECODE: '1' }),
  })
}

const stsOnly = (r: ChildRun) => {
  const all = tagged<WireRequest>(r, 'WIRE')
  assert.deepEqual(
    all.filter((w) => !w.url.startsWith(s.base)),
    [],
    'every request goes to azid (no instance discovery at login.microsoftonline.com)',
  )
  return all
}

test('ClientSecretCredential(authority=…, instance_discovery=False).get_token for ARM', async (t) => {
  if (!need(t, unavailable)) return
  const r = await runPython(
    `
from azure.identity import ClientSecretCredential
def main():
    cred = ClientSecretCredential(ARGS['tenant'], ARGS['client'], ARGS['secret'], authority=ARGS['authority'], instance_discovery=False)
    first = cred.get_token(ARGS['scope'])
    again = cred.get_token(ARGS['scope'])
    return {'token': first.token, 'expires_on': first.expires_on, 'again': again.token}
`,
    { tenant: s.tenantId, client: s.clientId, secret: s.clientSecret, authority: s.base, scope: ARM },
  )
  const res = resultOf<{ token: string; expires_on: number; again: string }>(r)
  const { claims } = decodeJwt(res.token)
  assert.equal(claims.aud, 'https://management.azure.com', describeRun(r))
  assert.equal(claims.tid, s.tenantId)
  assert.equal(claims.appid, s.clientId)
  assert.equal(claims.appidacr, '1')
  // MSAL Python computes expires_on as now + expires_in.
  assert.ok(Math.abs(res.expires_on - Number(claims.exp)) <= 5, `expires_on ${res.expires_on} vs exp ${claims.exp}`)
  assert.equal(res.again, res.token, 'the second get_token comes from the MSAL cache')
  const wire = stsOnly(r)
  assert.deepEqual(
    wire.map((w) => `${w.method} ${new URL(w.url).pathname}`),
    [`GET /${s.tenantId}/v2.0/.well-known/openid-configuration`, `POST /${s.tenantId}/oauth2/v2.0/token`],
    describeRun(r),
  )
  const form = new URLSearchParams(wire[1]?.body)
  assert.equal(form.get('grant_type'), 'client_credentials')
  assert.match(form.get('claims') ?? '', /CP1/, 'azure.identity asks for the CP1 capability')
})

test('ClientSecretCredential with a wrong secret raises ClientAuthenticationError with AADSTS7000215', async (t) => {
  if (!need(t, unavailable)) return
  const r = await runPython(
    `
from azure.identity import ClientSecretCredential
def main():
    cred = ClientSecretCredential(ARGS['tenant'], ARGS['client'], 'wrong', authority=ARGS['authority'], instance_discovery=False)
    return cred.get_token(ARGS['scope']).token
`,
    { tenant: s.tenantId, client: s.clientId, authority: s.base, scope: ARM },
  )
  const err = errorOf(r)
  assert.equal(err.name, 'ClientAuthenticationError', describeRun(r))
  assert.match(err.message, /AADSTS7000215/, describeRun(r))
})

for (const chain of [false, true]) {
  test(`CertificateCredential (PEM, send_certificate_chain=${chain ? 'True' : 'False'}): RS256 assertion, padded SHA-1 x5t`, async (t) => {
    if (!need(t, unavailable)) return
    const r = await runPython(
      `
from azure.identity import CertificateCredential
def main():
    cred = CertificateCredential(ARGS['tenant'], ARGS['client'], certificate_path=ARGS['pem'], authority=ARGS['authority'],
                                 instance_discovery=False, send_certificate_chain=ARGS['chain'])
    return [cred.get_token(scope).token for scope in ARGS['scopes']]
`,
      {
        tenant: s.tenantId,
        client: certApp.appId,
        pem: certApp.pemPath,
        authority: s.base,
        chain,
        scopes: [ARM, 'https://vault.azure.net/.default'],
      },
    )
    const [arm, vault] = resultOf<string[]>(r)
    for (const [tok, aud] of [
      [arm, 'https://management.azure.com'],
      [vault, 'https://vault.azure.net'],
    ] as const) {
      const { claims } = decodeJwt(tok ?? '')
      assert.equal(claims.aud, aud, describeRun(r))
      assert.equal(claims.tid, s.tenantId)
      assert.equal(claims.appid, certApp.appId)
      assert.equal(claims.appidacr, '2')
    }
    const posts = stsOnly(r).filter((w) => w.method === 'POST')
    assert.equal(posts.length, 2, describeRun(r))
    const assertion = new URLSearchParams(posts[0]?.body).get('client_assertion') ?? ''
    const { header, claims } = decodeJwt(assertion)
    assert.equal(header.alg, 'RS256')
    // base64.urlsafe_b64encode (msal/oauth2cli/assertion.py): URL-safe alphabet, but padded.
    assert.equal(header.x5t, `${certApp.sha1.toString('base64url')}=`, 'SHA-1, URL-safe base64 with padding')
    assert.equal(Array.isArray(header.x5c), chain, `x5c: ${JSON.stringify(header.x5c)}`)
    assert.equal(claims.aud, `${s.base}/${s.tenantId}/oauth2/v2.0/token`)
    assert.equal(Number.isInteger(claims.exp), false, `MSAL Python sends a float exp (${claims.exp})`)
  })
}
