// Concurrent writes to one resource: every answer is a success or a clean 409 Conflict, and the stored state is the
// answer of one of the successful writes, never a mix (api-shapes §0.3; arm-errors §8). Runs on SQLite, and on
// PostgreSQL when AZID_TEST_PG_DSN is set (row locks and real parallelism).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import pg from 'pg'
import type { HttpResult } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { PG_DSN, need } from '../../support/tiers.ts'
import { V, adminClient, createGroup, expectArmError, paths } from './helpers.ts'

async function pgAdmin(q: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_DSN ?? '' })
  await c.connect()
  try {
    await c.query(q)
  } finally {
    await c.end()
  }
}

/** A server on its own fresh PostgreSQL database, dropped at stop. */
async function pgServer(): Promise<TestServer> {
  const name = `azid_it_${randomBytes(6).toString('hex')}`
  await pgAdmin(`CREATE DATABASE ${name}`)
  const url = new URL(PG_DSN ?? '')
  url.pathname = `/${name}`
  try {
    const s = await startTestServer({ store: { dsn: url.toString() } })
    return {
      ...s,
      async stop() {
        try {
          await s.stop()
        } finally {
          await pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        }
      },
    }
  } catch (e) {
    await pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    throw e
  }
}

type Vm = { tags: Record<string, string>; identity?: { principalId: string } }

function checkOutcome(results: HttpResult[], final: HttpResult) {
  const ok = results.filter((r) => r.status === 200 || r.status === 201)
  for (const r of results) {
    if (r.status === 409) expectArmError(r, 409, 'Conflict')
    else assert.ok(r.status === 200 || r.status === 201, `${r.status} ${r.text}`)
  }
  assert.ok(ok.length >= 1)
  assert.equal(final.status, 200, final.text)
  const stored = final.json<Vm>()
  assert.ok(
    ok.some((r) => JSON.stringify(r.json()) === JSON.stringify(stored)),
    `the stored VM ${final.text} is the answer of one successful write`,
  )
  return { ok, stored }
}

async function scenario(s: TestServer) {
  const sub = s.server.endpoints.subscriptionId
  const p = paths(sub)
  const admin = await adminClient(s)
  await createGroup(admin, sub, 'race')
  const vm = p.vm('race', 'raced')
  const n = 10

  // 10 parallel creates/replaces, each with its own tags and a system-assigned identity.
  const puts = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      admin.put(vm, V.compute, {
        location: 'westus',
        tags: { writer: String(i) },
        identity: { type: 'SystemAssigned' },
      }),
    ),
  )
  const { ok, stored } = checkOutcome(puts, await admin.get(vm, V.compute))
  assert.equal(ok.filter((r) => r.status === 201).length, 1, 'exactly one write created the VM')
  // One system-assigned principal survived; no write left an orphan service principal behind.
  const principals = new Set(ok.map((r) => r.json<Vm>().identity?.principalId))
  assert.equal(principals.size, 1)
  assert.equal(stored.identity?.principalId, [...principals][0])
  const mis = await s.server.directory.store.listServicePrincipals({ tenantId: s.tenantId, type: 'ManagedIdentity' })
  assert.equal(
    mis.filter((sp) => sp.managedIdentityResourceId?.toLowerCase().endsWith('/virtualmachines/raced')).length,
    1,
  )

  // 10 parallel PATCHes of the tags of the existing VM.
  const patches = await Promise.all(
    Array.from({ length: n }, (_, i) => admin.patch(vm, V.compute, { tags: { patcher: String(i) } })),
  )
  const after = checkOutcome(patches, await admin.get(vm, V.compute))
  assert.deepEqual(Object.keys(after.stored.tags), ['patcher'])
  assert.equal(after.stored.identity?.principalId, stored.identity?.principalId)
}

test('10 parallel PUTs and PATCHes of one VM: 200/201 or a clean 409, the final GET is one of them (SQLite)', async () => {
  const s = await startTestServer()
  try {
    await scenario(s)
  } finally {
    await s.stop()
  }
})

test('10 parallel PUTs and PATCHes of one VM: 200/201 or a clean 409, the final GET is one of them (PostgreSQL)', async (t) => {
  if (!need(t, PG_DSN ? null : 'AZID_TEST_PG_DSN is not set (PostgreSQL concurrency)')) return
  const s = await pgServer()
  try {
    await scenario(s)
  } finally {
    await s.stop()
  }
})
