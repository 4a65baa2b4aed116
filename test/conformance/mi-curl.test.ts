// The seed's curl requests, verbatim, run by the real curl on an emulated VM (namespace mode: 169.254.169.254:80 is
// the VM's IMDS socket, management.azure.com is azid, azid's CA is in the system bundle). Only `<SUBSCRIPTION ID>`,
// `<RESOURCE GROUP>` and `<UAMI CLIENT ID>` are filled in. A tap on the VM's socket records what reached IMDS and
// what it answered. Sources: 003 L531 (raw resource), L7786–7793 (fully encoded, `-s`, parsed with python),
// L2298 (client_id first), L3782 (partly encoded, client_id last), L559/L3812 (GET the resource group at
// 2016-09-01); the error table 003 L7805–7856. Requirements: IMDS-001..005, IMDS-009, IMDS-012, TOK-001, SCN-01,
// SCN-02, SCN-04 (e, f, g, i), ERR-001..004.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, beforeEach, test } from 'node:test'
import { type ChildRun, describeRun } from '../support/child.ts'
import { decodeJwt } from '../support/https.ts'
import { type HostEndpointAnswer, type Tap, hostEndpoint, mirid, startTap } from '../support/mi.ts'
import { namespaceUnavailable, runInAzureNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { haveCommand, need } from '../support/tiers.ts'
import {
  type Arm,
  ROLE,
  V,
  adminClient,
  assignRole,
  createGroup,
  createUami,
  paths,
} from '../integration/arm/helpers.ts'

const RG = 'curl-rg'

interface Ident {
  id: string
  principalId: string
  clientId: string
}
interface Vm extends Ident {
  host: HostEndpointAnswer
  tap: Tap
}

let s: TestServer
let arm: Arm
let sub = ''
let unavailable: string | null = null
/** SCN-01/02: system-assigned and `uami`, both Reader on the group. */
let vm: Vm
let uami: Ident
/** A VM whose identity has no role: SCN-01's negative case. */
let noRole: Vm
/** A VM to flood (IMDS throttling is per VM). */
let flood: Vm
const taps: Tap[] = []

async function createVm(name: string, identity: Record<string, unknown>): Promise<Vm> {
  const id = paths(sub).vm(RG, name)
  const r = await arm.put(id, V.compute, { location: 'westus', identity, properties: {} })
  assert.equal(r.status, 201, r.text)
  const principalId = r.json<{ identity: { principalId: string } }>().identity.principalId
  const sp = await s.server.directory.store.getServicePrincipal(principalId)
  assert.ok(sp)
  const e = await hostEndpoint(s, id, 'namespace')
  const tap = await startTap({ path: e.hostSocket as string }, 'unix')
  taps.push(tap)
  return { id, principalId, clientId: sp.appId, host: { ...e, hostSocket: tap.path }, tap }
}

before(async () => {
  unavailable = haveCommand('curl') ? namespaceUnavailable() : 'curl is not installed'
  if (unavailable) return
  // The realistic IMDS limits (20 identity requests per second and 5 at once per VM; ERR-004).
  s = await startTestServer({ mi: { throttling: 'realistic' } })
  sub = s.server.endpoints.subscriptionId
  arm = await adminClient(s)
  await createGroup(arm, sub, RG)
  uami = await createUami(arm, sub, RG, 'curl-id1')
  vm = await createVm('curl-vm', { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [uami.id]: {} } })
  noRole = await createVm('curl-norole', { type: 'SystemAssigned' })
  flood = await createVm('curl-flood', { type: 'SystemAssigned' })
  // SCN-01 step 3 / SCN-02 step 3: Reader on the group (through ARM, as the bootstrap administrator).
  const scope = paths(sub).rg(RG)
  await assignRole(arm, { scope, role: ROLE.Reader, principalId: vm.principalId, sub })
  await assignRole(arm, { scope, role: ROLE.Reader, principalId: uami.principalId, sub })
})
beforeEach(() => {
  for (const t of taps) t.reset()
})
after(async () => {
  await Promise.all(taps.map((t) => t.close()))
  await s?.stop()
})

/** Runs a shell script on `on` (its namespace); Debian's python3 first on PATH, as on a stock VM image. */
function sh(on: Vm, script: string): Promise<ChildRun> {
  return runInAzureNamespace(s, '/bin/sh', ['-c', script], {
    host: on.host,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    timeoutMs: 60_000,
  })
}

const fill = (text: string, on: { rg?: string; uami?: Ident } = {}) =>
  text
    .replaceAll('<SUBSCRIPTION ID>', sub)
    .replaceAll('<RESOURCE GROUP>', on.rg ?? RG)
    .replaceAll('<UAMI CLIENT ID>', on.uami?.clientId ?? '')

const SEED_L531 =
  "curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/' -H Metadata:true"
const SEED_L7792 = `response=$(curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F' -H Metadata:true -s)
access_token=$(echo $response | python3 -c 'import sys, json; print (json.load(sys.stdin)["access_token"])')
echo The managed identities for Azure resources access token is $access_token`
const SEED_L3782 =
  'curl -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com/&client_id=<UAMI CLIENT ID>"'
/** L2298 is PowerShell's Invoke-WebRequest; the same URL (client_id before resource) with curl. */
const SEED_L2298 =
  "curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=<UAMI CLIENT ID>&resource=https://management.azure.com/' -H Metadata:true"
/** L559 / L3812, with `-w` so the status can be checked too. */
const SEED_GET_RG = `curl https://management.azure.com/subscriptions/<SUBSCRIPTION ID>/resourceGroups/<RESOURCE GROUP>?api-version=2016-09-01 -H "Authorization: Bearer $access_token" -w '\\n%{http_code}'`

/** The TOK-001 body (alphabetical keys, strings; mi-endpoints §1.1) for `who`, resource echoed exactly. */
function assertImdsBody(text: string, who: Ident, miridOf: string, resource: string) {
  const body = JSON.parse(text) as Record<string, string>
  assert.deepEqual(Object.keys(body), [
    'access_token',
    'client_id',
    'expires_in',
    'expires_on',
    'ext_expires_in',
    'not_before',
    'refresh_token',
    'resource',
    'token_type',
  ])
  assert.equal(body.client_id, who.clientId)
  assert.equal(body.resource, resource)
  assert.equal(body.token_type, 'Bearer')
  for (const k of ['expires_in', 'expires_on', 'ext_expires_in', 'not_before']) assert.match(body[k] ?? '', /^\d+$/, k)
  const { claims } = decodeJwt(body.access_token ?? '')
  assert.equal(claims.aud, resource, 'IMDS-003: aud is the resource as asked')
  assert.equal(claims.oid, who.principalId)
  assert.equal(claims.appid, who.clientId)
  assert.equal(claims.xms_mirid, mirid(miridOf))
  return body
}

/** The last line is curl's `-w '%{http_code}'`; the rest is the body. */
function split(out: string): { body: string; status: number } {
  const cut = out.trimEnd().lastIndexOf('\n')
  return { body: out.slice(0, cut), status: Number(out.trimEnd().slice(cut + 1)) }
}

test('003 L531: the raw-resource request with -H Metadata:true → 200 and the TOK-001 body (IMDS-001, IMDS-004, SCN-01 step 4)', async (t) => {
  if (!need(t, unavailable)) return
  const r = await sh(vm, SEED_L531)
  assert.equal(r.code, 0, describeRun(r))
  assertImdsBody(r.stdout, vm, vm.id, 'https://management.azure.com/')
  assert.deepEqual(
    vm.tap.exchanges.map((x) => [x.method, x.target, x.headers.metadata, x.headers.host, x.status]),
    [
      [
        'GET',
        '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/',
        'true',
        '169.254.169.254',
        200,
      ],
    ],
  )
})

test('003 L7792 piped into python3, then L559 with the token: Reader on the group → 200 (SCN-01)', async (t) => {
  if (!need(t, unavailable)) return
  const r = await sh(vm, `${SEED_L7792}\n${fill(SEED_GET_RG)}`)
  assert.equal(r.code, 0, describeRun(r))
  const [line, ...rest] = r.stdout.split('\n')
  const m = /^The managed identities for Azure resources access token is (\S+)$/.exec(line ?? '')
  assert.ok(m, describeRun(r))
  assert.equal(decodeJwt(m[1] as string).claims.oid, vm.principalId)
  const { body, status } = split(rest.join('\n'))
  assert.equal(status, 200, body)
  // The seed's body (003 L565) plus the `type` the live service also returns (api-shapes, resource groups).
  assert.deepEqual(JSON.parse(body), {
    id: `/subscriptions/${sub}/resourceGroups/${RG}`,
    name: RG,
    type: 'Microsoft.Resources/resourceGroups',
    location: 'westus',
    properties: { provisioningState: 'Succeeded' },
  })
  assert.deepEqual(
    vm.tap.exchanges.map((x) => [x.target, x.status]),
    [['/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F', 200]],
  )
})

test('SCN-01 negative: the same steps on a VM whose identity has no role → 403 AuthorizationFailed', async (t) => {
  if (!need(t, unavailable)) return
  const r = await sh(noRole, `${SEED_L7792}\n${fill(SEED_GET_RG)}`)
  assert.equal(r.code, 0, describeRun(r))
  const { body, status } = split(r.stdout.split('\n').slice(1).join('\n'))
  assert.equal(status, 403, body)
  const err = JSON.parse(body) as { error: { code: string; message: string } }
  assert.equal(err.error.code, 'AuthorizationFailed')
  assert.match(
    err.error.message,
    new RegExp(
      `^The client '${noRole.clientId}' with object id '${noRole.principalId}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '/subscriptions/${sub}/resourceGroups/${RG}'`,
      'i',
    ),
  )
})

for (const [line, seed, target] of [
  [
    'L3782 (partly encoded, client_id last)',
    SEED_L3782,
    '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com/&client_id=<UAMI CLIENT ID>',
  ],
  [
    'L2298 (client_id first, raw resource)',
    SEED_L2298,
    '/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=<UAMI CLIENT ID>&resource=https://management.azure.com/',
  ],
] as const) {
  test(`003 ${line}: the user-assigned identity's token reads the group (SCN-02, IMDS-004, IMDS-006)`, async (t) => {
    if (!need(t, unavailable)) return
    const script = `token_json=$(${fill(seed, { uami })} -s)
echo "$token_json"
access_token=$(echo "$token_json" | python3 -c 'import sys, json; print (json.load(sys.stdin)["access_token"])')
${fill(SEED_GET_RG)}`
    const r = await sh(vm, script)
    assert.equal(r.code, 0, describeRun(r))
    const [json, ...rest] = r.stdout.split('\n')
    assertImdsBody(json ?? '', uami, uami.id, 'https://management.azure.com/')
    const { body, status } = split(rest.join('\n'))
    assert.equal(status, 200, body)
    assert.equal(JSON.parse(body).id, `/subscriptions/${sub}/resourceGroups/${RG}`)
    assert.deepEqual(
      vm.tap.exchanges.map((x) => [x.target, x.status]),
      [[fill(target, { uami }), 200]],
    )
  })
}

test('the error table (003 L7805–7842, SCN-04 e/f/g): no Metadata, Metadata: True, an identity not on the VM, an unknown resource → 400', async (t) => {
  if (!need(t, unavailable)) return
  const base = 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01'
  const stranger = randomUUID()
  const cases = [
    [
      `curl -s '${base}&resource=https://management.azure.com/'`,
      'invalid_request',
      /^Required metadata header not specified$/,
    ],
    [
      `curl -s '${base}&resource=https://management.azure.com/' -H Metadata:True`,
      'invalid_request',
      /^Required metadata header not specified$/,
    ],
    [
      `curl -s '${base}&resource=https://management.azure.com/&client_id=${stranger}' -H Metadata:true`,
      'invalid_request',
      /^Identity not found$/,
    ],
    [
      `curl -s '${base}&resource=https://no-such-resource.example/' -H Metadata:true`,
      'invalid_resource',
      /^AADSTS500011: The resource principal named https:\/\/no-such-resource\.example\/ was not found in the tenant named /,
    ],
  ] as const
  const r = await sh(vm, cases.map(([c]) => `${c}; echo`).join('\n'))
  assert.equal(r.code, 0, describeRun(r))
  const bodies = r.stdout.trimEnd().split('\n')
  assert.equal(bodies.length, cases.length, r.stdout)
  cases.forEach(([cmd, error, description], i) => {
    const b = JSON.parse(bodies[i] ?? '') as { error: string; error_description: string }
    assert.deepEqual(Object.keys(b), ['error', 'error_description'], cmd)
    assert.equal(b.error, error, cmd)
    assert.match(b.error_description, description, cmd)
    const ex = vm.tap.exchanges[i]
    assert.equal(ex?.status, 400, cmd)
    assert.match(ex?.responseHeaders['content-type'] ?? '', /^application\/json/)
    assert.equal(ex?.responseHeaders['retry-after'], undefined, 'no Retry-After on a 400 (do not retry)')
  })
})

test('a flood → 429 "Temporarily throttled, too many requests" (ERR-004, SCN-04 i); a second later IMDS answers again', async (t) => {
  if (!need(t, unavailable)) return
  const url =
    "'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/'"
  // 60 requests at once (curl -Z); IMDS allows 20 per second and 5 in flight per VM.
  const r = await sh(
    flood,
    `curl -s -Z --parallel-max 60 -H Metadata:true -w '%{http_code}\\n' ${Array(60).fill(`-o /dev/null ${url}`).join(' ')}
sleep 1.2
curl -s -H Metadata:true -o /dev/null -w '%{http_code}\\n' ${url}`,
  )
  assert.equal(r.code, 0, describeRun(r))
  const codes = r.stdout.trim().split('\n').map(Number)
  assert.equal(codes.length, 61, r.stdout)
  const burst = codes.slice(0, 60)
  assert.ok(
    burst.every((c) => c === 200 || c === 429),
    `codes: ${burst.join(' ')}`,
  )
  assert.ok(burst.includes(200) && burst.includes(429), `codes: ${burst.join(' ')}`)
  assert.ok(burst.filter((c) => c === 429).length >= 10, `codes: ${burst.join(' ')}`)
  assert.equal(codes[60], 200, 'after the burst, within a second, IMDS answers')
  const throttled = flood.tap.exchanges.filter((x) => x.status === 429)
  assert.equal(throttled.length, burst.filter((c) => c === 429).length)
  for (const x of throttled) {
    assert.deepEqual(JSON.parse(x.responseBody), {
      error: 'invalid_request',
      error_description: 'Temporarily throttled, too many requests',
    })
    // The captured IMDS 429 has no Retry-After (mi-endpoints §1.2).
    assert.equal(x.responseHeaders['retry-after'], undefined)
  }
})
