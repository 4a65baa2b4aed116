// IMDS throttling with `mi.throttling: realistic`: the identity category allows 20 requests per second and 5 at once
// per VM, then answers IMDS's 429; off by default (ERR-002, ERR-004, ERR-005, IMDS-011, SCN-04 i;
// docs/wire/mi-endpoints.md §1.2).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  type Ctx,
  MD,
  type Res,
  addFault,
  clearFaults,
  http,
  imds,
  imdsBase,
  logs,
  putVm,
  q,
  setup,
  sleep,
} from './helpers.ts'

const THROTTLED = '{"error":"invalid_request","error_description":"Temporarily throttled, too many requests"}'

let c: Ctx
let off: Ctx
before(async () => {
  ;[c, off] = await Promise.all([setup({ mi: { throttling: 'realistic' } }), setup()])
})
after(async () => {
  await Promise.all([c?.s.stop(), off?.s.stop()])
})

function throttled(r: Res) {
  assert.equal(r.status, 429, r.text)
  assert.equal(r.text, THROTTLED)
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  assert.equal(r.headers['content-length'], '90')
  // IMDS sends no Retry-After (and clients must not be told to retry a 4xx that carries one).
  assert.equal(r.headers['retry-after'], undefined)
}

async function vmBase(ctx: Ctx, name: string) {
  const v = await putVm(ctx, name, { sa: true })
  const base = await imdsBase(ctx.s, v.path)
  // Warm the token cache so that every counted request is a cheap cache hit.
  assert.equal((await imds(base, q())).status, 200)
  return { base, id: v.path }
}

test('ERR-004: more than 20 requests in a second → 429 with the exact IMDS body; a later retry succeeds (SCN-04 i)', async () => {
  const { base, id } = await vmBase(c, 'rate-vm')
  await sleep(1100) // let the bucket refill after the warm-up request
  const started = Date.now()
  const statuses: Res[] = []
  for (let i = 0; i < 40; i++) statuses.push(await imds(base, q()))
  const elapsed = Date.now() - started
  const ok = statuses.filter((r) => r.status === 200).length
  const limited = statuses.filter((r) => r.status === 429)
  assert.equal(ok + limited.length, 40)
  // A full bucket holds 20; it refills at 20 per second while the loop runs.
  assert.ok(
    statuses.slice(0, 20).every((r) => r.status === 200),
    'the first 20 pass',
  )
  assert.ok(ok <= 20 + Math.ceil((elapsed / 1000) * 20) + 1, `${ok} passed in ${elapsed} ms`)
  assert.ok(limited.length > 0, `none throttled in ${elapsed} ms`)
  for (const r of limited) throttled(r)
  // Each 429 is a refusal in the audit log.
  const failures = (await logs(c.s, `kind=token&result=failure&host=${encodeURIComponent(id)}`)).filter(
    (e) => e.errorCode === 'Throttled',
  )
  assert.equal(failures.length, limited.length)
  // ERR-005: back off and retry → success.
  await sleep(1100)
  assert.equal((await imds(base, q())).status, 200)
  // The limit is per VM: another VM is not affected by this one's flood.
  const other = await vmBase(c, 'rate-other')
  assert.equal((await imds(other.base, q())).status, 200)
})

test('ERR-004: more than 5 concurrent requests (held by a delay fault) → the 6th gets 429 at once', async () => {
  const { base, id } = await vmBase(c, 'conc-vm')
  await sleep(1100)
  await addFault(c.s, { effect: 'delay:800', match: { host: id, flavour: 'imds' } })
  try {
    const started = Date.now()
    const timed = Array.from({ length: 6 }, async () => {
      const r = await imds(base, q())
      return { r, ms: Date.now() - started }
    })
    const results = await Promise.all(timed)
    const ok = results.filter((x) => x.r.status === 200)
    const limited = results.filter((x) => x.r.status === 429)
    assert.equal(ok.length, 5, results.map((x) => x.r.status).join(','))
    assert.equal(limited.length, 1)
    throttled((limited[0] as { r: Res }).r)
    // The 429 does not wait for the held requests.
    const first = Math.min(...ok.map((x) => x.ms))
    assert.ok((limited[0] as { ms: number }).ms < first, `429 after ${(limited[0] as { ms: number }).ms} ms`)
    assert.ok(first >= 780, `held ${first} ms`)
  } finally {
    await clearFaults(c.s)
  }
  // Slots are released: five more at once pass.
  await sleep(1100)
  const again = await Promise.all(Array.from({ length: 5 }, () => imds(base, q())))
  assert.deepEqual(
    again.map((r) => r.status),
    [200, 200, 200, 200, 200],
  )
})

test('instance metadata: the other categories allow 5 requests per second', async () => {
  const { base } = await vmBase(c, 'inst-rate-vm')
  const rs: Res[] = []
  for (let i = 0; i < 12; i++)
    rs.push(await http(`${base}/metadata/instance/compute/name?api-version=2021-02-01&format=text`, { headers: MD }))
  assert.ok(rs.slice(0, 5).every((r) => r.status === 200))
  const limited = rs.filter((r) => r.status === 429)
  assert.ok(limited.length > 0)
  for (const r of limited) assert.deepEqual(r.json(), { error: 'Too many requests' })
})

test('throttling is off by default: 40 in a row and 10 at once all pass', async () => {
  const { base, id } = await vmBase(off, 'free-vm')
  for (let i = 0; i < 40; i++) assert.equal((await imds(base, q())).status, 200)
  await addFault(off.s, { effect: 'delay:300', match: { host: id } })
  try {
    const rs = await Promise.all(Array.from({ length: 10 }, () => imds(base, q())))
    assert.deepEqual(
      rs.map((r) => r.status),
      Array(10).fill(200),
    )
  } finally {
    await clearFaults(off.s)
  }
})
