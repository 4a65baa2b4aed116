// Soft delete on a frozen clock: delete → deleted secret → recover or purge; retention (90 days, or the vault's
// softDeleteRetentionInDays) and the sweep; purge protection; backup and restore across vaults; a deleted vault
// takes its secrets with it (issue 5 §4; api-shapes §7.1–§7.2).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import { manualClock } from '../../../src/kernel/clock.ts'
import { TEST_KEK, startTestServer, type TestServer } from '../../support/server.ts'
import { type Arm, V, adminClient, newPrincipal, type Principal } from '../arm/helpers.ts'
import {
  KV_ROLE,
  type Kv,
  type SecretBundle,
  createVault,
  expectKvError,
  expectOk,
  grant,
  kvClient,
  vaultPrincipal,
  vaultToken,
} from './helpers.ts'

const DAY = 86_400_000
// Starts at the real time: the TLS certificate azid makes at start is dated by this clock too.
const T0 = Date.now()
const clock = manualClock(T0)
let s: TestServer
let admin: Arm
let officer: Principal
const vaults: Record<string, string> = {}

/** A vault client with a token valid at the current (frozen) time. */
async function client(vault: string): Promise<Kv> {
  return kvClient(s, vault, await vaultPrincipal(s, officer))
}
/** Moves the clock; every token fetched before may have expired, so ARM gets a fresh one. */
async function advance(ms: number) {
  clock.advance(ms)
  admin = await adminClient(s)
}
const sec = (ms: number) => Math.floor(ms / 1000)

before(async () => {
  s = await startTestServer({}, { clock })
  admin = await adminClient(s)
  officer = await newPrincipal(s, 'kv-lifecycle')
  for (const [name, props] of [
    ['azid-kv-life', {}],
    ['azid-kv-week', { softDeleteRetentionInDays: 7 }],
    ['azid-kv-guarded', { enablePurgeProtection: true }],
    ['azid-kv-target', {}],
  ] as const) {
    vaults[name] = await createVault(s, admin, 'kv-life', name, props)
    await grant(s, admin, vaults[name] as string, KV_ROLE.SecretsOfficer, officer.objectId)
  }
})
after(() => s.stop())

describe('soft delete, recover, purge', () => {
  test('DELETE answers the DeletedSecretBundle; the secret is gone from reads and lists, present under deletedsecrets', async () => {
    const kv = await client('azid-kv-life')
    const set = expectOk<SecretBundle>(
      await kv.call('PUT', '/secrets/Doomed', { body: { value: 'v', tags: { t: '1' } } }),
    )
    clock.advance(5000)
    const del = expectOk<SecretBundle>(await kv.call('DELETE', '/secrets/doomed'))
    const origin = new URL(kv.url).origin
    assert.deepEqual(Object.keys(del), ['recoveryId', 'deletedDate', 'scheduledPurgeDate', 'id', 'attributes', 'tags'])
    assert.equal(del.recoveryId, `${origin}/deletedsecrets/Doomed`)
    assert.equal(del.deletedDate, sec(clock.now()))
    assert.equal(del.scheduledPurgeDate, sec(clock.now() + 90 * DAY))
    assert.equal(del.id, set.id)
    assert.equal(del.value, undefined)
    assert.equal(del.attributes.recoveryLevel, 'Recoverable+Purgeable')
    assert.equal(del.attributes.recoverableDays, 90)

    expectKvError(await kv.call('GET', '/secrets/doomed'), 404, 'SecretNotFound')
    expectKvError(await kv.call('GET', '/secrets/doomed/versions'), 404, 'SecretNotFound')
    expectKvError(await kv.call('DELETE', '/secrets/doomed'), 404, 'SecretNotFound')
    expectKvError(await kv.call('POST', '/secrets/doomed/backup'), 404, 'SecretNotFound')
    const listed = expectOk<{ value: { id: string }[] }>(await kv.call('GET', '/secrets')).value
    assert.equal(
      listed.some((x) => x.id.endsWith('/Doomed')),
      false,
    )

    // What the SDKs' delete pollers poll: GET /deletedsecrets/{name} answers at once.
    const got = expectOk<SecretBundle>(await kv.call('GET', '/deletedsecrets/DOOMED'))
    assert.deepEqual(got, del)
    const deleted = expectOk<{ value: SecretBundle[]; nextLink: null }>(await kv.call('GET', '/deletedsecrets'))
    assert.deepEqual(deleted.value, [{ ...del, id: `${origin}/secrets/Doomed` }])
    assert.equal(deleted.nextLink, null)
  })

  test('recover brings back every version; a second recover finds nothing', async () => {
    const kv = await client('azid-kv-life')
    const v1 = expectOk<SecretBundle>(await kv.call('PUT', '/secrets/phoenix', { body: { value: 'one' } }))
    const v2 = expectOk<SecretBundle>(await kv.call('PUT', '/secrets/phoenix', { body: { value: 'two' } }))
    expectOk(await kv.call('DELETE', '/secrets/phoenix'))
    const rec = expectOk<SecretBundle>(await kv.call('POST', '/deletedsecrets/phoenix/recover'))
    assert.equal(rec.id, v2.id)
    assert.equal(rec.value, undefined)
    assert.equal(expectOk<SecretBundle>(await kv.call('GET', '/secrets/phoenix')).value, 'two')
    const id1 = v1.id.split('/').at(-1)
    assert.equal(expectOk<SecretBundle>(await kv.call('GET', `/secrets/phoenix/${id1}`)).value, 'one')
    expectKvError(
      await kv.call('POST', '/deletedsecrets/phoenix/recover'),
      404,
      'SecretNotFound',
      'Deleted Secret not found: phoenix',
    )
    expectKvError(
      await kv.call('GET', '/deletedsecrets/phoenix'),
      404,
      'SecretNotFound',
      'Deleted Secret not found: phoenix',
    )
  })

  test('purge: 204, the name is free again, and only deleted secrets can be purged', async () => {
    const kv = await client('azid-kv-life')
    await kv.call('PUT', '/secrets/purged', { body: { value: 'old' } })
    expectKvError(
      await kv.call('DELETE', '/deletedsecrets/purged'),
      404,
      'SecretNotFound',
      'Deleted Secret not found: purged',
    )
    expectOk(await kv.call('DELETE', '/secrets/purged'))
    const p = await kv.call('DELETE', '/deletedsecrets/purged')
    assert.equal(p.status, 204, p.text)
    assert.equal(p.text, '')
    expectKvError(await kv.call('GET', '/deletedsecrets/purged'), 404, 'SecretNotFound')
    const fresh = expectOk<SecretBundle>(await kv.call('PUT', '/secrets/purged', { body: { value: 'new' } }))
    const versions = expectOk<{ value: { id: string }[] }>(await kv.call('GET', '/secrets/purged/versions')).value
    assert.deepEqual(
      versions.map((v) => v.id),
      [fresh.id],
    )
  })

  test("retention: the vault's softDeleteRetentionInDays decides; past it the secret is gone and the sweep purges it", async () => {
    let kv = await client('azid-kv-week')
    const set = expectOk<SecretBundle>(await kv.call('PUT', '/secrets/weekly', { body: { value: 'w' } }))
    assert.equal(set.attributes.recoveryLevel, 'CustomizedRecoverable+Purgeable')
    assert.equal(set.attributes.recoverableDays, 7)
    await kv.call('PUT', '/secrets/swept', { body: { value: 's' } })
    const del = expectOk<SecretBundle>(await kv.call('DELETE', '/secrets/weekly'))
    assert.equal(del.scheduledPurgeDate, sec(clock.now() + 7 * DAY))
    expectOk(await kv.call('DELETE', '/secrets/swept'))

    await advance(7 * DAY - 1000)
    kv = await client('azid-kv-week')
    expectOk(await kv.call('GET', '/deletedsecrets/weekly'), 200)
    assert.deepEqual(await s.server.keyVault.keyVault.sweep(), { purged: 0, orphans: 0 })

    await advance(2000)
    kv = await client('azid-kv-week')
    // Past the purge date the deleted secret no longer exists, before and after the sweep.
    expectKvError(await kv.call('GET', '/deletedsecrets/weekly'), 404, 'SecretNotFound')
    const deleted = expectOk<{ value: unknown[] }>(await kv.call('GET', '/deletedsecrets')).value
    assert.deepEqual(deleted, [])
    expectKvError(await kv.call('POST', '/deletedsecrets/weekly/recover'), 404, 'SecretNotFound')
    // The name can be used again at once (the expired row is purged in the same transaction).
    const again = expectOk<SecretBundle>(await kv.call('PUT', '/secrets/weekly', { body: { value: 'again' } }))
    assert.notEqual(again.id, set.id)
    assert.deepEqual(await s.server.keyVault.keyVault.sweep(), { purged: 1, orphans: 0 })
    const left = await sql<{
      name: string
    }>`select name from kv_secrets where vault = ${vaults['azid-kv-week']?.toLowerCase()}`.execute(s.server.database.db)
    assert.deepEqual(
      left.rows.map((r) => r.name),
      ['weekly'],
    )
  })

  test('purge protection: recoveryLevel Recoverable, purge refused (403), recover allowed', async () => {
    const kv = await client('azid-kv-guarded')
    const set = expectOk<SecretBundle>(await kv.call('PUT', '/secrets/guarded', { body: { value: 'g' } }))
    assert.equal(set.attributes.recoveryLevel, 'Recoverable')
    expectOk(await kv.call('DELETE', '/secrets/guarded'))
    expectKvError(
      await kv.call('DELETE', '/deletedsecrets/guarded'),
      403,
      'Forbidden',
      'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.',
    )
    expectOk(await kv.call('POST', '/deletedsecrets/guarded/recover'))
    assert.equal(expectOk<SecretBundle>(await kv.call('GET', '/secrets/guarded')).value, 'g')
  })
})

describe('backup and restore', () => {
  test('a backup restores every version, ids and dates kept, into this or another vault of this azid', async () => {
    const K1 = 'kept-value-one-7f3a9c41'
    const K2 = 'kept-value-two-1b2e8d53'
    const kv = await client('azid-kv-life')
    const v1 = expectOk<SecretBundle>(await kv.call('PUT', '/secrets/kept', { body: { value: K1, contentType: 'c' } }))
    clock.advance(1000)
    const v2 = expectOk<SecretBundle>(await kv.call('PUT', '/secrets/kept', { body: { value: K2, tags: { x: 'y' } } }))
    const backup = expectOk<{ value: string }>(await kv.call('POST', '/secrets/kept/backup'))
    assert.deepEqual(Object.keys(backup), ['value'])
    assert.match(backup.value, /^[A-Za-z0-9_-]+$/)
    // Encrypted: neither value nor the name in clear (long markers: two random bytes are "k2" now and then).
    const raw = Buffer.from(backup.value, 'base64url').toString('latin1')
    for (const clear of [K1, K2, 'kept']) assert.ok(!raw.includes(clear), `${clear} in the backup`)

    // Into the same vault: only once the name is free (deleted and purged).
    expectKvError(
      await kv.call('POST', '/secrets/restore', { body: backup }),
      409,
      'Conflict',
      /restoring the secret 'kept'/,
    )
    expectOk(await kv.call('DELETE', '/secrets/kept'))
    expectKvError(await kv.call('POST', '/secrets/restore', { body: backup }), 409, 'Conflict')
    assert.equal((await kv.call('DELETE', '/deletedsecrets/kept')).status, 204)
    const restored = expectOk<SecretBundle>(await kv.call('POST', '/secrets/restore', { body: backup }))
    assert.equal(restored.id, v2.id)
    assert.equal(restored.value, undefined)
    assert.deepEqual(restored.tags, { x: 'y' })
    assert.equal(restored.attributes.created, v2.attributes.created)
    const old = expectOk<SecretBundle>(await kv.call('GET', `/secrets/kept/${v1.id.split('/').at(-1)}`))
    assert.equal(old.value, K1)
    assert.equal(old.contentType, 'c')

    // Into another vault: re-encrypted there, same version ids.
    const target = await client('azid-kv-target')
    const moved = expectOk<SecretBundle>(await target.call('POST', '/secrets/restore', { body: backup }))
    assert.equal(moved.id.split('/').at(-1), v2.id.split('/').at(-1))
    assert.equal(expectOk<SecretBundle>(await target.call('GET', '/secrets/kept')).value, K2)
  })

  test('a tampered blob, or one from another azid (another key-encryption key), is refused', async () => {
    const kv = await client('azid-kv-life')
    await kv.call('PUT', '/secrets/sealed', { body: { value: 'v' } })
    const { value } = expectOk<{ value: string }>(await kv.call('POST', '/secrets/sealed/backup'))
    const raw = Buffer.from(value, 'base64url')
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1
    const target = await client('azid-kv-target')
    expectKvError(
      await target.call('POST', '/secrets/restore', { body: { value: raw.toString('base64url') } }),
      400,
      'BadParameter',
      /backup blob is invalid/,
    )
    const other = await startTestServer({ keys: { encryptionKey: Buffer.alloc(32, 9).toString('base64') } })
    try {
      assert.notEqual(Buffer.alloc(32, 9).toString('base64'), TEST_KEK)
      const otherAdmin = await adminClient(other)
      const id = await createVault(other, otherAdmin, 'kv', 'azid-kv-elsewhere')
      await grant(other, otherAdmin, id, KV_ROLE.Administrator, other.server.bootstrap.servicePrincipalId)
      const elsewhere = kvClient(other, 'azid-kv-elsewhere', await vaultToken(other))
      expectKvError(await elsewhere.call('POST', '/secrets/restore', { body: { value } }), 400, 'BadParameter')
      expectKvError(await elsewhere.call('GET', '/secrets/sealed'), 404, 'SecretNotFound')
    } finally {
      await other.stop()
    }
    expectKvError(await target.call('GET', '/secrets/sealed'), 404, 'SecretNotFound')
  })
})

describe('vault deletion', () => {
  test('deleting a vault in ARM deletes its secrets; a vault re-created under the name starts empty', async () => {
    const id = await createVault(s, admin, 'kv-life', 'azid-kv-short')
    await grant(s, admin, id, KV_ROLE.SecretsOfficer, officer.objectId)
    let kv = await client('azid-kv-short')
    await kv.call('PUT', '/secrets/a', { body: { value: 'a' } })
    await kv.call('PUT', '/secrets/b', { body: { value: 'b' } })
    expectOk(await kv.call('DELETE', '/secrets/b'))
    const before = await s.server.keyVault.keyVault.sweep()
    assert.equal(before.orphans, 0)
    const del = await admin.del(id, V.keyVault)
    assert.equal(del.status, 200, del.text)
    // The hook runs after ARM's commit; give it its turn.
    for (let i = 0; i < 50; i++) {
      const n = await sql<{
        n: number
      }>`select count(*) as n from kv_secrets where vault = ${id.toLowerCase()}`.execute(s.server.database.db)
      if (Number(n.rows[0]?.n) === 0) break
      await new Promise((r) => setTimeout(r, 10))
    }
    const rows = await sql<{
      n: number
    }>`select count(*) as n from kv_secret_versions where vault = ${id.toLowerCase()}`.execute(s.server.database.db)
    assert.equal(Number(rows.rows[0]?.n), 0)
    expectKvError(await kv.call('GET', '/secrets/a'), 404, 'VaultNotFound')

    await createVault(s, admin, 'kv-life', 'azid-kv-short')
    // The officer's assignment at the vault's scope may have outlived the vault (ARM decides); make sure it exists.
    const sub = s.server.endpoints.subscriptionId
    const again = await admin.put(`${id}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`, V.auth, {
      properties: {
        roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${KV_ROLE.SecretsOfficer}`,
        principalId: officer.objectId,
        principalType: 'ServicePrincipal',
      },
    })
    assert.ok(again.status === 201 || again.status === 409, again.text)
    kv = await client('azid-kv-short')
    expectKvError(await kv.call('GET', '/secrets/a'), 404, 'SecretNotFound')
    assert.deepEqual(expectOk<{ value: unknown[] }>(await kv.call('GET', '/deletedsecrets')).value, [])
  })

  test('the sweep removes secrets whose vault is gone though no hook told this node', async () => {
    const ghost =
      '/subscriptions/00000000-0000-4000-8000-000000000000/resourcegroups/gone/providers/microsoft.keyvault/vaults/ghost'
    await sql`insert into kv_secrets (vault, name_key, name, latest_version, created_at, updated_at) values (${ghost}, 'x', 'x', ${'0'.repeat(32)}, 0, 0)`.execute(
      s.server.database.db,
    )
    const r = await s.server.keyVault.keyVault.sweep()
    assert.equal(r.orphans, 1)
    const left = await sql<{ n: number }>`select count(*) as n from kv_secrets where vault = ${ghost}`.execute(
      s.server.database.db,
    )
    assert.equal(Number(left.rows[0]?.n), 0)
  })
})
