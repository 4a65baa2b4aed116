import assert from 'node:assert/strict'
import type { AuditEvent } from '../../audit/model.ts'
import type { AuditStore } from '../../audit/ports.ts'
import { createAuditStore } from '../audit-store.ts'
import { type Case, type OpenStore, guid, runContract, runOnEveryBackend } from './harness.ts'

const T = 1_720_000_000_000
const TENANT = guid(1, '7e7a0000')
const OTHER_TENANT = guid(2, '7e7a0000')
const ALICE = guid(1, '5e7c0000') // principals and clients are stored lower case, as the audit log records them
const BOB = guid(2, '5e7c0000')
const CLIENT_A = guid(1, 'c11e0000')
const CLIENT_B = guid(2, 'c11e0000')
const VM = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1'
const ARM = 'https://management.azure.com/'
const VAULT = 'https://vault.azure.net'

/** seq = at × 1000 + a counter, as the audit log makes it. */
const event = (n: number, atOffsetMs: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  id: guid(n, 'a0d10000'),
  seq: (T + atOffsetMs) * 1000 + n,
  at: T + atOffsetMs,
  kind: 'token',
  result: 'success',
  tenantId: TENANT,
  clientId: CLIENT_A,
  principalId: ALICE,
  host: null,
  audience: ARM,
  grantType: 'client_credentials',
  reason: null,
  errorCode: null,
  requestId: `req-${n}`,
  details: null,
  ...over,
})

const DETAILS = {
  scopes: ['https://management.azure.com//.default'],
  nested: { deep: { list: [1, 2.5, -3, true, false, null], empty: {} } },
  text: 'quotes " and \\ and ünïcödé ✓ and a\nnewline',
  big: 9_007_199_254_740_991,
}

/** Ten events in time order (1…10), with the fields each filter needs. */
const DATASET: readonly AuditEvent[] = [
  event(1, 0),
  event(2, 1000, { result: 'failure', errorCode: 'invalidClientSecret', reason: 'AADSTS7000215', principalId: null }),
  event(3, 2000, { kind: 'authorization', principalId: BOB, audience: VAULT, grantType: null, details: DETAILS }),
  event(4, 3000, { host: VM, clientId: CLIENT_B, principalId: BOB, grantType: 'managed_identity' }),
  event(5, 4000, { kind: 'admin', clientId: null, principalId: null, audience: null, grantType: null, details: {} }),
  event(6, 5000, { tenantId: OTHER_TENANT }),
  event(7, 6000, { kind: 'fault', result: 'failure', host: VM, details: { rule: 'imds-429', status: 429 } }),
  event(8, 7000, { kind: 'authorization', result: 'failure', principalId: ALICE, audience: VAULT, grantType: null }),
  event(9, 8000, { clientId: CLIENT_B, principalId: BOB, audience: VAULT }),
  event(10, 9000, {
    tenantId: null,
    clientId: null,
    principalId: null,
    audience: null,
    grantType: null,
    requestId: null,
  }),
]

const ids = (events: AuditEvent[]) => events.map((e) => Number.parseInt(e.id.slice(-12), 16))

/** Inserts the data set in two batches, out of order, so that order comes from seq alone. */
async function seed(s: AuditStore): Promise<void> {
  await s.insertEvents([DATASET[5], DATASET[0], DATASET[9], DATASET[2], DATASET[7]] as AuditEvent[])
  await s.insertEvents([DATASET[1], DATASET[8], DATASET[3], DATASET[6], DATASET[4]] as AuditEvent[])
}

const CASES: readonly Case<AuditStore>[] = [
  [
    'an empty log answers nothing; inserting no events is a no-op',
    async (s) => {
      assert.deepEqual(await s.queryEvents({}), [])
      await s.insertEvents([])
      assert.deepEqual(await s.queryEvents({ order: 'asc' }), [])
    },
  ],
  [
    'every field round trips, details JSON included (nested, unicode, numbers, empty, null)',
    async (s) => {
      await seed(s)
      const all = await s.queryEvents({ order: 'asc' })
      assert.deepEqual(all, DATASET)
      const withDetails = all.find((e) => e.id === DATASET[2]?.id)
      assert.deepEqual(withDetails?.details, DETAILS)
      assert.equal(typeof withDetails?.seq, 'number')
      assert.equal(typeof withDetails?.at, 'number')
      assert.deepEqual(all.find((e) => e.id === DATASET[4]?.id)?.details, {})
      assert.equal(all[0]?.details, null)
    },
  ],
  [
    'order: newest first by default, oldest first on request; limit cuts after ordering',
    async (s) => {
      await seed(s)
      assert.deepEqual(ids(await s.queryEvents({})), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
      assert.deepEqual(ids(await s.queryEvents({ order: 'desc' })), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
      assert.deepEqual(ids(await s.queryEvents({ order: 'asc' })), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      assert.deepEqual(ids(await s.queryEvents({ limit: 3 })), [10, 9, 8])
      assert.deepEqual(ids(await s.queryEvents({ limit: 3, order: 'asc' })), [1, 2, 3])
      assert.deepEqual(ids(await s.queryEvents({ limit: 1 })), [10])
    },
  ],
  [
    'filters: kind, result, tenant, host, audience',
    async (s) => {
      await seed(s)
      const q = async (filter: Parameters<AuditStore['queryEvents']>[0]) =>
        ids(await s.queryEvents({ ...filter, order: 'asc' }))
      assert.deepEqual(await q({ kind: 'token' }), [1, 2, 4, 6, 9, 10])
      assert.deepEqual(await q({ kind: 'authorization' }), [3, 8])
      assert.deepEqual(await q({ kind: 'fault' }), [7])
      assert.deepEqual(await q({ kind: 'admin' }), [5])
      assert.deepEqual(await q({ result: 'failure' }), [2, 7, 8])
      assert.deepEqual(await q({ result: 'success' }), [1, 3, 4, 5, 6, 9, 10])
      assert.deepEqual(await q({ tenantId: OTHER_TENANT }), [6])
      assert.deepEqual(await q({ host: VM }), [4, 7])
      assert.deepEqual(await q({ audience: VAULT }), [3, 8, 9])
      assert.deepEqual(await q({ audience: 'https://vault.azure.net/' }), [], 'audiences compare exactly')
    },
  ],
  [
    'filters: principal and client, looked up in any case',
    async (s) => {
      await seed(s)
      const q = async (filter: Parameters<AuditStore['queryEvents']>[0]) =>
        ids(await s.queryEvents({ ...filter, order: 'asc' }))
      assert.deepEqual(await q({ principalId: ALICE }), [1, 6, 7, 8])
      assert.deepEqual(await q({ principalId: BOB.toUpperCase() }), [3, 4, 9])
      assert.deepEqual(await q({ clientId: CLIENT_B.toUpperCase() }), [4, 9])
      assert.deepEqual(await q({ clientId: CLIENT_A }), [1, 2, 3, 6, 7, 8])
      assert.deepEqual(await q({ principalId: guid(9, '5e7c0000') }), [])
    },
  ],
  [
    'afterSeq (strictly after, for tailing) and sinceMs (at or after)',
    async (s) => {
      await seed(s)
      const seqOf = (n: number) => (DATASET[n - 1] as AuditEvent).seq
      assert.deepEqual(ids(await s.queryEvents({ afterSeq: seqOf(7), order: 'asc' })), [8, 9, 10])
      assert.deepEqual(ids(await s.queryEvents({ afterSeq: seqOf(10) })), [])
      assert.deepEqual(ids(await s.queryEvents({ afterSeq: 0, limit: 2, order: 'asc' })), [1, 2])
      assert.deepEqual(ids(await s.queryEvents({ sinceMs: T + 7000, order: 'asc' })), [8, 9, 10])
      assert.deepEqual(ids(await s.queryEvents({ sinceMs: T + 7001, order: 'asc' })), [9, 10])
      assert.deepEqual(ids(await s.queryEvents({ sinceMs: T + 9001 })), [])
    },
  ],
  [
    'filters combine with AND, and with limit and order',
    async (s) => {
      await seed(s)
      assert.deepEqual(ids(await s.queryEvents({ kind: 'token', principalId: BOB, order: 'asc' })), [4, 9])
      assert.deepEqual(ids(await s.queryEvents({ kind: 'authorization', result: 'failure' })), [8])
      assert.deepEqual(ids(await s.queryEvents({ audience: VAULT, clientId: CLIENT_B })), [9])
      assert.deepEqual(ids(await s.queryEvents({ result: 'failure', sinceMs: T + 1500, limit: 1 })), [8])
      assert.deepEqual(
        ids(await s.queryEvents({ host: VM, kind: 'fault', afterSeq: (DATASET[3] as AuditEvent).seq })),
        [7],
      )
      assert.deepEqual(ids(await s.queryEvents({ tenantId: OTHER_TENANT, kind: 'admin' })), [])
    },
  ],
  [
    'events with the same millisecond keep their counter order; a batch with a duplicate id inserts nothing',
    async (s) => {
      const at = 50_000
      const burst = [3, 1, 2].map((k) => event(20 + k, at, { seq: (T + at) * 1000 + k }))
      await s.insertEvents(burst)
      assert.deepEqual(ids(await s.queryEvents({ order: 'asc' })), [21, 22, 23])
      await assert.rejects(s.insertEvents([event(30, at + 1), event(21, at + 2)]))
      assert.deepEqual(ids(await s.queryEvents({ order: 'asc' })), [21, 22, 23])
    },
  ],
  [
    'a large batch goes in whole (it is written in several statements) or, with one bad event, not at all',
    async (s) => {
      const at = 60_000
      const batch = Array.from({ length: 103 }, (_, k) => event(100 + k, at + k))
      await s.insertEvents(batch)
      const got = ids(await s.queryEvents({ order: 'asc', limit: 1000 }))
      assert.deepEqual(
        got,
        batch.map((_, k) => 100 + k),
      )
      const bad = [...Array.from({ length: 70 }, (_, k) => event(300 + k, at + 500 + k)), event(100, at + 600)]
      await assert.rejects(s.insertEvents(bad))
      assert.equal(ids(await s.queryEvents({ limit: 1000 })).length, 103)
    },
  ],
]

/** The AuditStore contract against one backend; `open` gives an empty store for each case. */
export function runAuditStoreContract(
  name: string,
  open: OpenStore<AuditStore>,
  opts: { unavailable?: string | null; dispose?: () => Promise<void> } = {},
): void {
  runContract({ port: 'AuditStore', backend: name, open, ...opts, cases: CASES })
}

runOnEveryBackend((db) => createAuditStore(db), runAuditStoreContract)
