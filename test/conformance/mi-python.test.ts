// Debian's azure.identity 1.13.0b2 (python3-azure, run by /usr/bin/python3), unmodified: ManagedIdentityCredential
// against azid's IMDS and App Service endpoints (clients.md §3.1–§3.4; docs/wire/mi-endpoints.md §1, §3). Each case
// runs in its own interpreter; a tap in front of the endpoint records the exact requests (IMDS-001..008, TOK-001,
// IMDS-011 cache).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type ChildRun, childEnv, describeRun, resultOf, runChild, scratchDir } from '../support/child.ts'
import { decodeJwt } from '../support/https.ts'
import { type TapExchange, hostEndpoint, mirid, startTap, tapEnv } from '../support/mi.ts'
import { namespaceUnavailable, runInAzureNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { DEBIAN_PYTHON, havePythonModule, need } from '../support/tiers.ts'
import { type Arm, V, adminClient, createGroup, createUami, paths } from '../integration/arm/helpers.ts'

const ARM_SCOPE = 'https://management.azure.com/.default'
const ARM_AUD = 'https://management.azure.com'
const RG = 'mi-python'

/** `main()` gets a token twice with ManagedIdentityCredential(**ARGS['kwargs']); RESULT or ERROR around it. */
const SCRIPT = `
import json, sys, traceback
def out(tag, value):
    print('@@' + tag + ' ' + json.dumps(value), flush=True)
ARGS = json.loads(sys.argv[1])
from azure.identity import ManagedIdentityCredential
def main():
    cred = ManagedIdentityCredential(**ARGS['kwargs'])
    first = cred.get_token(ARGS['scope'])
    again = cred.get_token(ARGS['scope'])
    return {'token': first.token, 'expires_on': first.expires_on, 'again': again.token}
try:
    out('RESULT', main())
except Exception as e:
    out('ERROR', {'name': type(e).__name__, 'message': str(e), 'stack': traceback.format_exc()})
    sys.exit(2)
`

interface Ident {
  id: string
  principalId: string
  clientId: string
}
interface Tok {
  token: string
  expires_on: number
  again: string
}

let s: TestServer
let arm: Arm
let scratch: ReturnType<typeof scratchDir>
let unavailable: string | null = null
let vm: Ident
let site: Ident
let uami: Ident

async function createHost(path: string, version: string, body: Record<string, unknown>): Promise<Ident> {
  const r = await arm.put(path, version, body)
  assert.equal(r.status, 201, r.text)
  const principalId = r.json<{ identity: { principalId: string } }>().identity.principalId
  const sp = await s.server.directory.store.getServicePrincipal(principalId)
  assert.ok(sp)
  return { id: path, principalId, clientId: sp.appId }
}

before(async () => {
  unavailable = havePythonModule('azure.identity')
    ? null
    : `${DEBIAN_PYTHON} with azure.identity (Debian python3-azure) is not installed`
  s = await startTestServer()
  scratch = scratchDir('azid-mi-python-')
  const sub = s.server.endpoints.subscriptionId
  const p = paths(sub)
  arm = await adminClient(s)
  await createGroup(arm, sub, RG)
  uami = await createUami(arm, sub, RG, 'py-id1')
  const both = { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [uami.id]: {} } }
  vm = await createHost(p.vm(RG, 'py-vm'), V.compute, { location: 'westus', identity: both, properties: {} })
  site = await createHost(`${p.rg(RG)}/providers/Microsoft.Web/sites/py-site`, V.web, {
    location: 'westus',
    kind: 'app,linux',
    identity: both,
    properties: { serverFarmId: 'plan' },
  })
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

const args = (kwargs: Record<string, unknown>) => JSON.stringify({ kwargs, scope: ARM_SCOPE })

/** Runs the script as a host (loopback env through a tap). */
async function asHost(env: Record<string, string>, kwargs: Record<string, unknown>) {
  const tapped = await tapEnv(env)
  try {
    const r = await runChild(DEBIAN_PYTHON, ['-c', SCRIPT, args(kwargs)], {
      env: childEnv({ ...tapped.env, PYTHONDONTWRITEBYTECODE: '1' }),
    })
    return { r, seen: tapped.exchanges() }
  } finally {
    await tapped.close()
  }
}

function assertMiToken(r: ChildRun, tok: Tok, who: Ident, miridOf: string) {
  const { claims } = decodeJwt(tok.token)
  assert.equal(claims.oid, who.principalId, describeRun(r))
  assert.equal(claims.appid, who.clientId)
  assert.equal(claims.aud, ARM_AUD)
  assert.equal(claims.tid, s.tenantId)
  assert.equal(claims.xms_mirid, mirid(miridOf))
  assert.equal(tok.expires_on, claims.exp, 'expires_on read from the epoch string')
  assert.equal(tok.again, tok.token, 'the second get_token is a cache hit (no request)')
}

const query = (ex: TapExchange) => new URL(ex.target, 'http://x').searchParams

interface ImdsCase {
  name: string
  kwargs: () => Record<string, unknown>
  /** The selector parameter expected on the wire, and its value. */
  param: [string, () => string] | null
  who: () => Ident
}
const IMDS_CASES: ImdsCase[] = [
  { name: 'system-assigned', kwargs: () => ({}), param: null, who: () => vm },
  {
    name: 'client_id=',
    kwargs: () => ({ client_id: uami.clientId }),
    param: ['client_id', () => uami.clientId],
    who: () => uami,
  },
  {
    name: 'identity_config={"msi_res_id": …}',
    kwargs: () => ({ identity_config: { msi_res_id: uami.id } }),
    param: ['msi_res_id', () => uami.id],
    who: () => uami,
  },
  {
    name: 'identity_config={"object_id": …}',
    kwargs: () => ({ identity_config: { object_id: uami.principalId } }),
    param: ['object_id', () => uami.principalId],
    who: () => uami,
  },
]

for (const c of IMDS_CASES) {
  test(`IMDS via AZURE_POD_IDENTITY_AUTHORITY_HOST, ${c.name}: no probe, one request, resource not percent-encoded (IMDS-004, IMDS-006)`, async (t) => {
    if (!need(t, unavailable)) return
    const e = await hostEndpoint(s, vm.id, 'loopback')
    const { r, seen } = await asHost(e.env, c.kwargs())
    const tok = resultOf<Tok>(r)
    // With AZURE_POD_IDENTITY_AUTHORITY_HOST set, ImdsCredential skips its availability probe (imds.py), and the
    // trailing slash JS adds is not there (the host is stripped of '/').
    assert.equal(seen.length, 1, JSON.stringify(seen, null, 1))
    const ex = seen[0] as TapExchange
    assert.equal(ex.method, 'GET')
    assert.match(
      ex.target,
      /^\/metadata\/identity\/oauth2\/token\?api-version=2018-02-01&resource=https:\/\/management\.azure\.com(&|$)/,
    )
    assert.equal(ex.headers.metadata, 'true')
    assert.equal(ex.status, 200)
    for (const k of ['client_id', 'msi_res_id', 'object_id'])
      assert.equal(query(ex).get(k), c.param && c.param[0] === k ? c.param[1]() : null, k)
    const who = c.who()
    assertMiToken(r, tok, who, who === vm ? vm.id : uami.id)
  })
}

test('App Service 2019 (IDENTITY_ENDPOINT + IDENTITY_HEADER): system-assigned, and identity_config={"mi_res_id": …}', async (t) => {
  if (!need(t, unavailable)) return
  const e = await hostEndpoint(s, site.id, 'loopback')
  assert.equal(e.flavour, 'app-service')
  for (const [kwargs, who, miridOf] of [
    [{}, site, site.id],
    [{ identity_config: { mi_res_id: uami.id } }, uami, uami.id],
  ] as const) {
    const { r, seen } = await asHost(e.env, kwargs)
    const tok = resultOf<Tok>(r)
    assert.equal(seen.length, 1, JSON.stringify(seen, null, 1))
    const ex = seen[0] as TapExchange
    assert.equal(ex.method, 'GET')
    assert.match(ex.target, /^\/msi\/token\?api-version=2019-08-01&resource=https:\/\/management\.azure\.com(&|$)/)
    assert.equal(ex.headers['x-identity-header'], e.env.IDENTITY_HEADER)
    assert.equal(ex.headers.metadata, undefined)
    assert.equal(query(ex).get('mi_res_id'), who === uami ? uami.id : null)
    assert.equal(ex.status, 200)
    assertMiToken(r, tok, who, miridOf)
  }
})

test('namespace mode (IMDS at 169.254.169.254, no AZURE_POD_IDENTITY_AUTHORITY_HOST): a header-less probe first', async (t) => {
  if (!need(t, unavailable) || !need(t, namespaceUnavailable())) return
  const e = await hostEndpoint(s, vm.id, 'namespace')
  const tap = await startTap({ path: e.hostSocket as string }, 'unix')
  try {
    const r = await runInAzureNamespace(s, DEBIAN_PYTHON, ['-c', SCRIPT, args({ client_id: uami.clientId })], {
      host: { ...e, hostSocket: tap.path },
      env: { PYTHONDONTWRITEBYTECODE: '1' },
    })
    const tok = resultOf<Tok>(r)
    // ImdsCredential's probe: the full token request without Metadata, 0.3 s connect timeout, no retry; azid's
    // 400 means "IMDS is there" (an HttpResponseError). Then the request with Metadata: true. The second
    // get_token is a cache hit: no probe, no request.
    const target = `/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com&client_id=${uami.clientId}`
    assert.deepEqual(
      tap.exchanges.map((x) => [x.method, x.target, x.headers.host, x.headers.metadata ?? null, x.status]),
      [
        ['GET', target, '169.254.169.254', null, 400],
        ['GET', target, '169.254.169.254', 'true', 200],
      ],
    )
    assert.deepEqual(JSON.parse(tap.exchanges[0]?.responseBody ?? ''), {
      error: 'invalid_request',
      error_description: 'Required metadata header not specified',
    })
    assertMiToken(r, tok, uami, uami.id)
  } finally {
    await tap.close()
  }
})
