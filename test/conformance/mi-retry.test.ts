// The seed's retry guidance, observed with a real client: "retry if you receive a 404, 429, or 5xx", never a 4xx
// design-time error (ERR-002, ERR-005; IMDS-011). Fault rules (POST /_azid/faults) make azid's IMDS misbehave for
// one VM; @azure/identity 4.13.1's ManagedIdentityCredential (IMDS through AZURE_POD_IDENTITY_AUTHORITY_HOST, its
// own process per case) must still get its token, and a tap records every attempt and its timing
// (docs/wire/mi-endpoints.md §9.1, clients.md §3.5).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, afterEach, before, test } from 'node:test'
import { type ChildRun, describeRun, errorOf, moduleUrl, resultOf, runNode, scratchDir } from '../support/child.ts'
import { decodeJwt } from '../support/https.ts'
import {
  type TapExchange,
  addFaults,
  auditAfter,
  auditMark,
  clearFaults,
  hostEndpoint,
  listFaults,
  tapEnv,
} from '../support/mi.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { type Arm, V, adminClient, createGroup, paths } from '../integration/arm/helpers.ts'

const IDENTITY = moduleUrl('@azure/identity')
const ARM_SCOPE = 'https://management.azure.com/.default'

let s: TestServer
let arm: Arm
let scratch: ReturnType<typeof scratchDir>
let vm: { id: string; principalId: string }

before(async () => {
  s = await startTestServer()
  scratch = scratchDir('azid-mi-retry-')
  const sub = s.server.endpoints.subscriptionId
  arm = await adminClient(s)
  await createGroup(arm, sub, 'mi-retry')
  const id = paths(sub).vm('mi-retry', 'retry-vm')
  const r = await arm.put(id, V.compute, { location: 'westus', identity: { type: 'SystemAssigned' }, properties: {} })
  assert.equal(r.status, 201, r.text)
  vm = { id, principalId: r.json<{ identity: { principalId: string } }>().identity.principalId }
})
afterEach(() => clearFaults(s))
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

/** ManagedIdentityCredential as the VM (IMDS, loopback) behind a tap: the run, the attempts, the wall time. */
async function getToken(
  name: string,
  options: Record<string, string> = {},
): Promise<{ r: ChildRun; seen: TapExchange[] }> {
  const e = await hostEndpoint(s, vm.id, 'loopback')
  const tapped = await tapEnv(e.env)
  try {
    const r = await runNode(
      scratch,
      name,
      `
const identity = await import(${JSON.stringify(IDENTITY)})
await run(async () => {
  const t = await new identity.ManagedIdentityCredential(${JSON.stringify(options)}).getToken(${JSON.stringify(ARM_SCOPE)})
  return { token: t.token }
})`,
      { caPath: s.caPath, env: tapped.env },
    )
    return { r, seen: tapped.exchanges() }
  } finally {
    await tapped.close()
  }
}

const rule = (effect: number, count: number, extra: Record<string, unknown> = {}) => ({
  match: { host: vm.id, flavour: 'imds' },
  effect,
  count,
  ...extra,
})

/** The milliseconds between consecutive attempts. */
const gaps = (seen: TapExchange[]) => seen.slice(1).map((x, i) => x.at - (seen[i] as TapExchange).at)

function assertToken(r: ChildRun) {
  const { claims } = decodeJwt(resultOf<{ token: string }>(r).token)
  assert.equal(claims.oid, vm.principalId, describeRun(r))
  assert.equal(claims.aud, 'https://management.azure.com')
}

test('503 twice, then 429 with Retry-After: 1 → retried until the token comes (ERR-002, ERR-005)', async () => {
  // Two POSTs a few ms apart: fault rules apply in creation order.
  await addFaults(s, [rule(503, 2)])
  await new Promise((r) => setTimeout(r, 5))
  await addFaults(s, [rule(429, 1, { retryAfter: 1 })])
  const mark = await auditMark(s)
  const { r, seen } = await getToken('503-429')
  assertToken(r)
  assert.deepEqual(
    seen.map((x) => [x.method, x.status]),
    [
      ['GET', 503],
      ['GET', 503],
      ['GET', 429],
      ['GET', 200],
    ],
    JSON.stringify(
      seen.map((x) => [x.status, x.at]),
      null,
      1,
    ),
  )
  // Every attempt is the same request (with the Metadata header).
  assert.equal(new Set(seen.map((x) => x.target)).size, 1)
  assert.ok(seen.every((x) => x.headers.metadata === 'true'))
  // IMDS's bodies for these (mi-endpoints §1.2); the 429 carries the rule's Retry-After.
  assert.deepEqual(JSON.parse(seen[0]?.responseBody ?? ''), {
    error: 'unknown',
    error_description: 'Failed to retrieve token from the Active directory. For details see logs in the azid log',
  })
  assert.deepEqual(JSON.parse(seen[2]?.responseBody ?? ''), {
    error: 'invalid_request',
    error_description: 'Temporarily throttled, too many requests',
  })
  assert.equal(seen[2]?.responseHeaders['retry-after'], '1')
  assert.equal(seen[0]?.responseHeaders['retry-after'], undefined)
  // core-rest-pipeline's exponential strategy waits ≥ 0.5 s, then ≥ 1 s; Retry-After: 1 is honoured (1 s).
  const [g1, g2, g3] = gaps(seen) as [number, number, number]
  assert.ok(g1 >= 400, `first retry after ${g1} ms`)
  assert.ok(g2 >= 900, `second retry after ${g2} ms`)
  assert.ok(g3 >= 950, `the retry after the 429 came ${g3} ms later (Retry-After: 1)`)
  // The faults were consumed, and each one is in the audit log.
  assert.deepEqual(
    (await listFaults(s)).map((f) => [f.effect.status, f.remaining]),
    [
      [503, 0],
      [429, 0],
    ],
  )
  const faults = await auditAfter(s, mark, 'fault')
  assert.deepEqual(
    faults.map((f) => [f.host, f.reason]),
    [
      [vm.id, 'fault applied: 503'],
      [vm.id, 'fault applied: 503'],
      [vm.id, 'fault applied: 429'],
    ],
  )
})

test('404 twice ("IMDS endpoint is updating") → retried with exponential back-off (ERR-002)', async () => {
  await addFaults(s, [rule(404, 2)])
  const { r, seen } = await getToken('404')
  assertToken(r)
  assert.deepEqual(
    seen.map((x) => x.status),
    [404, 404, 200],
  )
  assert.deepEqual(JSON.parse(seen[0]?.responseBody ?? ''), {
    error: 'not_found',
    error_description: 'IMDS endpoint is updating',
  })
  // identity's imdsRetryPolicy: 800 ms base, doubling, jitter down to half.
  const [g1, g2] = gaps(seen) as [number, number]
  assert.ok(g1 >= 350, `first retry after ${g1} ms`)
  assert.ok(g2 >= 750, `second retry after ${g2} ms`)
})

test('410 once → retried, no sooner than half of the 3 s minimum (ERR-002; mi-endpoints §9.1)', async () => {
  await addFaults(s, [rule(410, 1)])
  const { r, seen } = await getToken('410')
  assertToken(r)
  assert.deepEqual(
    seen.map((x) => x.status),
    [410, 200],
  )
  const [g1] = gaps(seen) as [number]
  assert.ok(g1 >= 1400, `retry after ${g1} ms`)
})

test('400 (a client id not on this VM) is not retried: exactly one request (ERR-002 "do not retry", IMDS-009)', async () => {
  const stranger = randomUUID()
  const mark = await auditMark(s)
  const { r, seen } = await getToken('400', { clientId: stranger })
  assert.deepEqual(
    seen.map((x) => [x.status, new URL(x.target, 'http://x').searchParams.get('client_id')]),
    [[400, stranger]],
  )
  assert.deepEqual(JSON.parse(seen[0]?.responseBody ?? ''), {
    error: 'invalid_request',
    error_description: 'Identity not found',
  })
  const err = errorOf(r)
  assert.equal(err.name, 'CredentialUnavailableError', describeRun(r))
  assert.match(err.message, /Identity not found/)
  const events = await auditAfter(s, mark, 'token')
  assert.deepEqual(
    events.map((e) => [e.result, e.host, e.errorCode, e.grantType]),
    [['failure', vm.id, 'IdentityNotFound', 'managed_identity:imds']],
  )
  assert.deepEqual(events[0]?.details, { selector: [stranger] })
})

test('500 four times → three retries, then the error surfaces (core-rest-pipeline maxRetries 3; ERR-002 5xx)', async () => {
  await addFaults(s, [rule(500, 10)])
  const { r, seen } = await getToken('500')
  assert.deepEqual(
    seen.map((x) => x.status),
    [500, 500, 500, 500],
  )
  const err = errorOf(r)
  assert.match(err.message, /Failed to retrieve token from the Active directory/, describeRun(r))
  // Six of the ten faults are left: the client stopped after four attempts.
  assert.deepEqual(
    (await listFaults(s)).map((f) => f.remaining),
    [6],
  )
})
