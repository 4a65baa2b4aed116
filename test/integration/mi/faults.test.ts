// Fault injection on the managed-identity endpoints through the admin API (`azid fault` sends the same rules):
// every effect, every matcher, every limit, clearing, and the audit trail (ERR-002, ERR-005, IMDS-011; issue 4
// item 8).
import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'
import { runCli } from '../../../src/cli/main.ts'
import { V } from '../arm/helpers.ts'
import {
  type Ctx,
  MD,
  type Res,
  type Uami,
  addFault,
  admin,
  clearFaults,
  endpoint,
  http,
  imds,
  imdsBase,
  logs,
  putVm,
  q,
  setup,
  sleep,
  uami,
} from './helpers.ts'

let c: Ctx
let U1: Uami
const A = { id: '', base: '' }
const B = { id: '', base: '' }
let site: string
before(async () => {
  c = await setup()
  U1 = await uami(c, 'fault-ua')
  const a = await putVm(c, 'fault-vm-a', { sa: true, ua: [U1] })
  const b = await putVm(c, 'fault-vm-b', { sa: true })
  Object.assign(A, { id: a.path, base: await imdsBase(c.s, a.path) })
  Object.assign(B, { id: b.path, base: await imdsBase(c.s, b.path) })
  site = `${c.p.rg('rg')}/providers/Microsoft.Web/sites/fault-app`
  const w = await c.admin.put(site, V.web, {
    location: 'westus',
    kind: 'app',
    identity: { type: 'SystemAssigned' },
    properties: { serverFarmId: 'x' },
  })
  assert.equal(w.status, 201, w.text)
  // Warm the caches: faults must apply to cache hits too.
  for (const base of [A.base, B.base]) assert.equal((await imds(base, q())).status, 200)
})
beforeEach(() => clearFaults(c.s))
after(() => c.s.stop())

const good = (r: Res) => assert.equal(r.status, 200, r.text)
const faultEvents = async (ruleId: string) =>
  (await logs(c.s, 'kind=fault')).filter((e) => (e.details as { ruleId?: string } | null)?.ruleId === ruleId)

test('effects 404, 410, 429 (Retry-After), 500, 503: IMDS-shaped bodies; each application is a `fault` audit event', async () => {
  const cases: [string | number | Record<string, unknown>, number, string, string | undefined][] = [
    [404, 404, '{"error":"not_found","error_description":"IMDS endpoint is updating"}', undefined],
    ['410', 410, '{"error":"not_found","error_description":"IMDS endpoint is updating"}', undefined],
    [429, 429, '{"error":"invalid_request","error_description":"Temporarily throttled, too many requests"}', '1'],
    [
      500,
      500,
      '{"error":"unknown","error_description":"Failed to retrieve token from the Active directory. For details see logs in the azid log"}',
      undefined,
    ],
    [
      503,
      503,
      '{"error":"unknown","error_description":"Failed to retrieve token from the Active directory. For details see logs in the azid log"}',
      undefined,
    ],
  ]
  for (const [effect, status, body, retryAfter] of cases) {
    const [rule] = await addFault(c.s, { effect, match: { host: A.id } })
    const r = await imds(A.base, q())
    assert.equal(r.status, status, r.text)
    assert.equal(r.text, body)
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
    assert.equal(r.headers['retry-after'], retryAfter, `Retry-After on ${status}`)
    const events = await faultEvents(rule?.id as string)
    assert.equal(events.length, 1)
    assert.equal(events[0]?.host, A.id)
    assert.equal(events[0]?.result, 'success')
    assert.equal(events[0]?.reason, `fault applied: ${status}`)
    assert.equal((events[0]?.details as { flavour?: string } | null)?.flavour, 'imds')
    await clearFaults(c.s)
    good(await imds(A.base, q()))
  }
  // An explicit Retry-After (azid fault add --retry-after 7), on a 503 as well.
  await addFault(c.s, { effect: 429, retryAfter: 7, match: { host: A.id } })
  assert.equal((await imds(A.base, q())).headers['retry-after'], '7')
  await clearFaults(c.s)
  await addFault(c.s, { effect: { kind: 'status', status: 503, retryAfter: 2 }, match: { host: A.id } })
  const r = await imds(A.base, q())
  assert.equal(r.status, 503)
  assert.equal(r.headers['retry-after'], '2')
})

test('effects delay, timeout, reset, malformed', async () => {
  await addFault(c.s, { effect: 'delay:400', match: { host: A.id } })
  let t = Date.now()
  good(await imds(A.base, q()))
  assert.ok(Date.now() - t >= 390, `delayed ${Date.now() - t} ms`)
  await clearFaults(c.s)

  await addFault(c.s, { effect: 'timeout', match: { host: A.id } })
  t = Date.now()
  await assert.rejects(http(`${A.base}/metadata/identity/oauth2/token?${q()}`, { headers: MD, timeoutMs: 400 }), {
    code: 'CLIENT_TIMEOUT',
  })
  assert.ok(Date.now() - t >= 390)
  await clearFaults(c.s)

  await addFault(c.s, { effect: 'reset', match: { host: A.id } })
  await assert.rejects(imds(A.base, q()), (err: NodeJS.ErrnoException) => {
    assert.ok(['ECONNRESET', 'EPIPE'].includes(String(err.code)) || /socket hang up/.test(err.message), String(err))
    return true
  })
  await clearFaults(c.s)

  await addFault(c.s, { effect: 'malformed', match: { host: A.id } })
  const m = await imds(A.base, q())
  assert.equal(m.status, 200)
  assert.throws(() => JSON.parse(m.text), SyntaxError)
  assert.match(m.text, /^\{"access_token":"eyJ/)
  await clearFaults(c.s)
  good(await imds(A.base, q()))
})

test('matching by host (id or name), flavour, path and identity', async () => {
  // By host id: A faulted, B not.
  await addFault(c.s, { effect: 503, match: { host: A.id.toUpperCase() } })
  assert.equal((await imds(A.base, q())).status, 503)
  good(await imds(B.base, q()))
  await clearFaults(c.s)
  // By host name.
  await addFault(c.s, { effect: 500, match: { host: 'fault-vm-b' } })
  good(await imds(A.base, q()))
  assert.equal((await imds(B.base, q())).status, 500)
  await clearFaults(c.s)
  // By flavour: instance metadata only.
  await addFault(c.s, { effect: 503, match: { flavour: 'instance-metadata' } })
  good(await imds(A.base, q()))
  const inst = await http(`${A.base}/metadata/instance?api-version=2021-02-01`, { headers: MD })
  assert.equal(inst.status, 503)
  assert.deepEqual(inst.json(), { error: 'Service unavailable' })
  await clearFaults(c.s)
  // By flavour: App Service only (its envelope), IMDS untouched.
  await addFault(c.s, { effect: 500, match: { flavour: 'app-service' } })
  good(await imds(A.base, q()))
  const e = await endpoint(c.s, site)
  const as = await http(`${e.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://vault.azure.net`, {
    headers: { 'X-IDENTITY-HEADER': e.env.IDENTITY_HEADER as string },
  })
  assert.equal(as.status, 500)
  assert.deepEqual(Object.keys(as.json()), ['statusCode', 'message', 'correlationId'])
  assert.equal(as.json<{ statusCode: number }>().statusCode, 500)
  await clearFaults(c.s)
  // By path prefix.
  await addFault(c.s, { effect: 404, match: { path: '/metadata/instance' } })
  good(await imds(A.base, q()))
  assert.equal((await http(`${A.base}/metadata/instance?api-version=2021-02-01`, { headers: MD })).status, 404)
  await clearFaults(c.s)
  await addFault(c.s, { effect: 404, match: { path: '/metadata/identity' } })
  assert.equal((await imds(A.base, q())).status, 404)
  assert.equal((await http(`${A.base}/metadata/instance?api-version=2021-02-01`, { headers: MD })).status, 200)
  await clearFaults(c.s)
  // By identity: the selector's client id, object id or resource id.
  for (const identity of [U1.clientId, U1.principalId.toUpperCase(), U1.id]) {
    await addFault(c.s, { effect: 500, match: { identity } })
    good(await imds(A.base, q()))
    assert.equal((await imds(A.base, q(`client_id=${U1.clientId}`))).status, identity === U1.clientId ? 500 : 200)
    assert.equal(
      (await imds(A.base, q(`object_id=${U1.principalId}`))).status,
      identity === U1.principalId.toUpperCase() ? 500 : 200,
    )
    assert.equal((await imds(A.base, q(`mi_res_id=${U1.id}`))).status, identity === U1.id ? 500 : 200)
    await clearFaults(c.s)
  }
})

test('limits: count (exactly N times across requests), window (forMs), probability (roughly p of many)', async () => {
  const [counted] = await addFault(c.s, { effect: 500, count: 3, match: { host: A.id } })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) statuses.push((await imds(A.base, q())).status)
  assert.deepEqual(statuses, [500, 500, 500, 200, 200, 200])
  assert.equal((await faultEvents(counted?.id as string)).length, 3)
  const listed = await admin(c.s, 'GET', '/_azid/faults')
  assert.equal(listed.json<{ value: { remaining: number }[] }>().value[0]?.remaining, 0)
  await clearFaults(c.s)

  await addFault(c.s, { effect: 503, forMs: 800, match: { host: A.id } })
  assert.equal((await imds(A.base, q())).status, 503)
  assert.equal((await imds(A.base, q())).status, 503)
  await sleep(900)
  good(await imds(A.base, q()))
  await clearFaults(c.s)
  // A window that has not opened yet.
  await addFault(c.s, { effect: 503, from: Date.now() + 60_000, match: { host: A.id } })
  good(await imds(A.base, q()))
  await clearFaults(c.s)

  // p = 0.3 over 400 requests: the mean is 120, the standard deviation 9.2; ±60 is more than 6 deviations.
  const [rule] = await addFault(c.s, { effect: 500, probability: 0.3, match: { host: B.id } })
  let hit = 0
  for (let i = 0; i < 400; i++) if ((await imds(B.base, q())).status === 500) hit++
  assert.ok(hit > 60 && hit < 180, `${hit} of 400 faulted at p = 0.3`)
  assert.equal((await faultEvents(rule?.id as string)).length, hit)
})

test('clear and remove: DELETE /_azid/faults and /_azid/faults/{id}; invalid rules → 400', async () => {
  const [one] = await addFault(c.s, { effect: 500, match: { host: A.id } })
  const [two] = await addFault(c.s, { effect: 503, match: { host: B.id } })
  const list = await admin(c.s, 'GET', '/_azid/faults')
  assert.deepEqual(
    list
      .json<{ value: { id: string }[] }>()
      .value.map((r) => r.id)
      .sort(),
    [one?.id, two?.id].sort(),
  )
  assert.equal((await admin(c.s, 'DELETE', `/_azid/faults/${one?.id}`)).status, 200)
  assert.equal((await admin(c.s, 'DELETE', `/_azid/faults/${one?.id}`)).status, 404)
  good(await imds(A.base, q()))
  assert.equal((await imds(B.base, q())).status, 503)
  const cleared = await admin(c.s, 'DELETE', '/_azid/faults')
  assert.deepEqual(cleared.json(), { removed: 1 })
  good(await imds(B.base, q()))
  assert.deepEqual((await admin(c.s, 'GET', '/_azid/faults')).json(), { value: [] })
  // A batch of rules in one POST.
  const both = await addFault(c.s, [
    { effect: 404, match: { host: A.id } },
    { effect: 410, match: { host: B.id } },
  ])
  assert.equal(both.length, 2)
  assert.equal((await imds(A.base, q())).status, 404)
  assert.equal((await imds(B.base, q())).status, 410)
  await clearFaults(c.s)
  for (const bad of [
    { effect: 418 },
    { effect: 'explode' },
    { effect: 500, count: 0 },
    { effect: 500, probability: 0 },
    { effect: 500, probability: 1.5 },
    { effect: 500, match: { flavour: 'nope' } },
    {},
  ]) {
    const r = await admin(c.s, 'POST', '/_azid/faults', bad)
    assert.equal(r.status, 400, JSON.stringify(bad))
    assert.equal(r.json<{ error: { code: string } }>().error.code, 'InvalidFaultRule')
  }
  assert.deepEqual((await admin(c.s, 'GET', '/_azid/faults')).json(), { value: [] })
})

test('`azid fault add|list|clear` sends the same rules: --effect, --host, --count, --retry-after, --for', async () => {
  const out: string[] = []
  const cli = (...argv: string[]) =>
    runCli([...argv, '--data', c.s.dataDir], { out: (x) => out.push(x), err: (x) => out.push(x), env: {} })
  assert.equal(
    await cli(
      'fault',
      'add',
      '--effect',
      '429',
      '--host',
      'fault-vm-a',
      '--count',
      '2',
      '--retry-after',
      '5',
      '--for',
      '30s',
    ),
    0,
    out.join('\n'),
  )
  assert.match(out.at(-1) as string, /^fault rule [0-9a-f-]{36} added$/)
  const rule = (await admin(c.s, 'GET', '/_azid/faults')).json<{
    value: { match: unknown; effect: unknown; remaining: number; from: number; until: number }[]
  }>().value[0]
  assert.deepEqual(rule?.match, { host: 'fault-vm-a' })
  assert.deepEqual(rule?.effect, { kind: 'status', status: 429, retryAfter: 5 })
  assert.equal(rule?.remaining, 2)
  assert.equal((rule?.until as number) - (rule?.from as number), 30_000)
  for (let i = 0; i < 2; i++) {
    const r = await imds(A.base, q())
    assert.equal(r.status, 429)
    assert.equal(r.headers['retry-after'], '5')
  }
  good(await imds(A.base, q()))
  good(await imds(B.base, q()))
  assert.equal(
    await cli('fault', 'add', '--effect', 'delay:250', '--flavour', 'imds', '--path', '/metadata/identity'),
    0,
  )
  assert.equal(await cli('fault', 'list', '--output', 'json'), 0)
  assert.equal(await cli('fault', 'clear'), 0)
  assert.equal(out.at(-1), '2 fault rule(s) removed')
  assert.deepEqual((await admin(c.s, 'GET', '/_azid/faults')).json(), { value: [] })
  // A bad effect is a usage error, not a rule.
  assert.notEqual(await cli('fault', 'add', '--effect', 'teapot'), 0)
  assert.deepEqual((await admin(c.s, 'GET', '/_azid/faults')).json(), { value: [] })
})
