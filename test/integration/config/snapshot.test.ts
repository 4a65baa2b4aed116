// `azid snapshot save|restore|list|delete` and `azid reset` on SQLite and PostgreSQL: a restore brings back
// identities, hosts, role assignments and fault rules in one transaction, and the running server honours it at once
// (RBAC index, managed-identity host and token caches, fault rules) — no restart.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import pg from 'pg'
import { admin } from '../../support/mi.ts'
import { type TestServer, startTestServer } from '../../support/server.ts'
import { PG_DSN, need } from '../../support/tiers.ts'
import { apply, claimsOf, cli, exportWorld, imdsToken } from './helpers.ts'

const WORLD = {
  resourceGroups: [{ name: 'snap-rg', location: 'westeurope' }],
  identities: [{ name: 'snap-id', resourceGroup: 'snap-rg' }],
  hosts: [{ name: 'snap-vm', type: 'vm', resourceGroup: 'snap-rg', systemAssigned: true, userAssigned: ['snap-id'] }],
  roleAssignments: [{ assignee: 'host:snap-vm', role: 'Reader', resourceGroup: 'snap-rg' }],
  faults: [{ name: 'slow', effect: 'delay:1', host: 'nowhere' }],
}

async function allowed(s: TestServer, principal: string): Promise<boolean> {
  const r = await admin(
    s,
    'GET',
    `/_azid/access/explain?${new URLSearchParams({
      principal,
      action: 'Microsoft.Resources/subscriptions/resourceGroups/read',
      scope: `/subscriptions/${s.server.endpoints.subscriptionId}/resourceGroups/snap-rg`,
    })}`,
  )
  return r.json<{ allowed: boolean }>().allowed
}

async function walk(s: TestServer): Promise<void> {
  await apply(s, WORLD)
  const world = await exportWorld(s)
  const sys = (world.hosts?.[0]?.systemAssigned as { principalId: string } | undefined)?.principalId as string
  const tok = await imdsToken(s, 'snap-vm')
  assert.equal(tok.status, 200, JSON.stringify(tok.body))
  assert.equal(claimsOf(String(tok.body.access_token)).oid, sys)
  assert.equal(await allowed(s, sys), true)

  const saved = await cli(s, 'snapshot', 'save', 'before')
  assert.equal(saved.code, 0, saved.err)
  assert.match(saved.out, /^Saved snapshot 'before': \d+ rows/)
  assert.equal((await cli(s, 'snapshot', 'save', 'before')).code, 1, 'no silent overwrite')
  assert.equal((await cli(s, 'snapshot', 'save', 'before', '--force')).code, 0)
  const list = await cli(s, 'snapshot', 'list')
  assert.match(list.out, /^before\t/m)

  // Change the world through the clients' own paths: the VM goes, so does the assignment's principal.
  assert.equal((await cli(s, 'vm', 'delete', '-g', 'snap-rg', '-n', 'snap-vm', '--yes')).code, 0)
  assert.equal((await imdsToken(s, 'snap-vm')).status, 404)
  assert.equal((await cli(s, 'identity', 'create', '-g', 'snap-rg', '-n', 'after-id')).code, 0)
  assert.equal((await cli(s, 'fault', 'clear')).code, 0)

  const restored = await cli(s, 'snapshot', 'restore', 'before')
  assert.equal(restored.code, 0, restored.err)
  assert.deepEqual(await exportWorld(s), world, 'the world is the snapshot, after-id is gone')
  const again = await imdsToken(s, 'snap-vm')
  assert.equal(again.status, 200, JSON.stringify(again.body))
  assert.equal(claimsOf(String(again.body.access_token)).oid, sys)
  assert.equal(await allowed(s, sys), true, 'the RBAC index has the restored assignment')
  assert.equal((await admin(s, 'GET', '/_azid/faults')).json<{ value: unknown[] }>().value.length, 1)

  // Reset: back to the bootstrap state, and the bootstrap administrator still works.
  assert.equal((await cli(s, 'reset')).code, 2, 'reset wants --yes')
  const reset = await cli(s, 'reset', '--yes')
  assert.equal(reset.code, 0, reset.err)
  assert.deepEqual(await exportWorld(s), { version: 1 })
  assert.equal(await allowed(s, sys), false, 'the RBAC index dropped the assignment')
  assert.equal((await imdsToken(s, 'snap-vm')).status, 404)
  assert.equal((await admin(s, 'GET', '/_azid/faults')).json<{ value: unknown[] }>().value.length, 0)
  const groups = await cli(s, 'group', 'list', '-o', 'tsv', '--query', '[].name')
  assert.equal(groups.code, 0, groups.err)
  assert.equal(groups.out, '')
  const subs = await cli(s, 'role', 'assignment', 'list', '--all', '--query', 'length(@)')
  assert.equal(subs.out.trim(), '2', 'the two bootstrap Owner assignments remain')

  // And back again, from the reset state.
  assert.equal((await cli(s, 'snapshot', 'restore', 'before')).code, 0)
  assert.deepEqual(await exportWorld(s), world)
  assert.equal((await imdsToken(s, 'snap-vm')).status, 200)

  assert.equal((await cli(s, 'snapshot', 'delete', 'before')).code, 0)
  const gone = await cli(s, 'snapshot', 'restore', 'before')
  assert.equal(gone.code, 1)
  assert.equal(gone.err.split('\n').at(-1), "azid: NotFound: no snapshot named 'before' (see 'azid snapshot list')")
  const badName = await cli(s, 'snapshot', 'save', '../x')
  assert.equal(badName.code, 1)
  assert.match(badName.err, /snapshot names are/)
}

test('snapshot save/restore and reset on SQLite, honoured without a restart', async () => {
  const s = await startTestServer({ store: { dsn: 'sqlite' } })
  try {
    await walk(s)
  } finally {
    await s.stop()
  }
})

test('snapshot save/restore and reset on PostgreSQL', { timeout: 60_000 }, async (t) => {
  if (!need(t, PG_DSN ? null : 'AZID_TEST_PG_DSN is not set (PostgreSQL snapshot tier)')) return
  const name = `azid_snap_${randomBytes(6).toString('hex')}`
  const adminQuery = async (q: string) => {
    const c = new pg.Client({ connectionString: PG_DSN as string })
    await c.connect()
    try {
      await c.query(q)
    } finally {
      await c.end()
    }
  }
  await adminQuery(`CREATE DATABASE ${name}`)
  const url = new URL(PG_DSN as string)
  url.pathname = `/${name}`
  try {
    const s = await startTestServer({ store: { dsn: url.toString() } })
    try {
      await walk(s)
    } finally {
      await s.stop()
    }
  } finally {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
})
