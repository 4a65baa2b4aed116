import assert from 'node:assert/strict'
import type { KeyVaultStore, SecretHead, SecretVersionRecord } from '../../dataplane/ports.ts'
import { createKeyVaultStore } from '../keyvault-store.ts'
import { type Case, contractRunner, runOnEveryBackend } from './harness.ts'

const T = 1_720_000_000_000
const DAY = 86_400_000
const V1 = '/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/v1'
const V2 = '/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/v2'
const ver = (n: number) => n.toString(16).padStart(32, '0')

const version = (
  vault: string,
  name: string,
  n: number,
  over: Partial<SecretVersionRecord> = {},
): SecretVersionRecord => ({
  vault,
  name,
  version: ver(n),
  valueEnc: Buffer.from(`ciphertext ${name} ${n}`).toString('base64'),
  contentType: null,
  tags: null,
  enabled: true,
  notBefore: null,
  expires: null,
  createdAt: T + n,
  updatedAt: T + n,
  ...over,
})

const head = (vault: string, name: string, latest: number, over: Partial<SecretHead> = {}): SecretHead => ({
  vault,
  name,
  latestVersion: ver(latest),
  deletedAt: null,
  scheduledPurgeAt: null,
  createdAt: T,
  updatedAt: T + latest,
  ...over,
})

/** A secret with versions 1..n (latest n). */
async function secret(s: KeyVaultStore, vault: string, name: string, n = 1, over: Partial<SecretHead> = {}) {
  for (let i = 1; i <= n; i++) await s.putVersion(version(vault, name, i))
  await s.putHead(head(vault, name, n, over))
}

const CASES: readonly Case<KeyVaultStore>[] = [
  [
    'heads and versions round trip; names are case-insensitive and keep their first casing',
    async (s) => {
      assert.equal(await s.getHead(V1, 'MySecret'), undefined)
      const v = version(V1, 'MySecret', 7, {
        contentType: 'text/plain',
        tags: { env: 'dev', 'a b': 'ü' },
        enabled: false,
        notBefore: T - DAY,
        expires: T + DAY,
      })
      await s.putVersion(v)
      await s.putHead(head(V1, 'MySecret', 7))
      assert.deepEqual(await s.getHead(V1, 'mysecret'), head(V1, 'MySecret', 7))
      assert.deepEqual(await s.getHead(V1.toUpperCase(), 'MYSECRET'), head(V1, 'MySecret', 7))
      assert.deepEqual(await s.getVersion(V1, 'MySecret', ver(7)), v)
      assert.equal(await s.getVersion(V1, 'MySecret', ver(8)), undefined)
      assert.equal(await s.getHead(V2, 'MySecret'), undefined, 'another vault')
    },
  ],
  [
    'putHead and putVersion replace the row of the same key',
    async (s) => {
      await secret(s, V1, 'a', 2)
      await s.putHead(head(V1, 'a', 1, { deletedAt: T + 5, scheduledPurgeAt: T + 5 + 7 * DAY, updatedAt: T + 5 }))
      const h = await s.getHead(V1, 'A')
      assert.equal(h?.latestVersion, ver(1))
      assert.equal(h?.deletedAt, T + 5)
      assert.equal(h?.scheduledPurgeAt, T + 5 + 7 * DAY)
      await s.putVersion(version(V1, 'a', 2, { enabled: false, tags: { x: 'y' }, updatedAt: T + 9 }))
      const v = await s.getVersion(V1, 'a', ver(2))
      assert.equal(v?.enabled, false)
      assert.deepEqual(v?.tags, { x: 'y' })
      assert.equal(v?.updatedAt, T + 9)
      assert.equal((await s.listVersions(V1, 'a')).length, 2)
    },
  ],
  [
    'listVersions: ordered by version id, paged with after/limit, only that secret',
    async (s) => {
      for (const n of [5, 1, 9, 3]) await s.putVersion(version(V1, 'x', n))
      await s.putHead(head(V1, 'x', 3))
      await secret(s, V1, 'y', 2)
      const all = await s.listVersions(V1, 'X')
      assert.deepEqual(
        all.map((v) => v.version),
        [1, 3, 5, 9].map(ver),
      )
      assert.deepEqual(
        (await s.listVersions(V1, 'x', { limit: 2 })).map((v) => v.version),
        [ver(1), ver(3)],
      )
      assert.deepEqual(
        (await s.listVersions(V1, 'x', { after: ver(3), limit: 5 })).map((v) => v.version),
        [ver(5), ver(9)],
      )
    },
  ],
  [
    'listSecrets: active or deleted, bytewise by lower-case name, with the latest version, paged',
    async (s) => {
      await secret(s, V1, 'b-2', 2)
      await secret(s, V1, 'B1', 1)
      await secret(s, V1, 'a', 3)
      await secret(s, V1, 'gone', 1, { deletedAt: T, scheduledPurgeAt: T + DAY })
      await secret(s, V2, 'other', 1)
      const active = await s.listSecrets(V1, { deleted: false, limit: 10 })
      assert.deepEqual(
        active.map((r) => [r.head.name, r.latest.version]),
        [
          ['a', ver(3)],
          ['b-2', ver(2)],
          ['B1', ver(1)],
        ],
      )
      assert.equal(active[0]?.latest.valueEnc, version(V1, 'a', 3).valueEnc)
      const page1 = await s.listSecrets(V1, { deleted: false, limit: 2 })
      assert.deepEqual(
        page1.map((r) => r.head.name),
        ['a', 'b-2'],
      )
      const page2 = await s.listSecrets(V1, { deleted: false, limit: 2, after: 'B-2' })
      assert.deepEqual(
        page2.map((r) => r.head.name),
        ['B1'],
      )
      const deleted = await s.listSecrets(V1, { deleted: true, limit: 10 })
      assert.deepEqual(
        deleted.map((r) => [r.head.name, r.head.deletedAt]),
        [['gone', T]],
      )
    },
  ],
  [
    'deleteSecret removes the head and every version; false when absent',
    async (s) => {
      await secret(s, V1, 'del', 3)
      await secret(s, V1, 'keep', 1)
      assert.equal(await s.deleteSecret(V1, 'DEL'), true)
      assert.equal(await s.getHead(V1, 'del'), undefined)
      assert.deepEqual(await s.listVersions(V1, 'del'), [])
      assert.equal(await s.deleteSecret(V1, 'del'), false)
      assert.ok(await s.getHead(V1, 'keep'))
    },
  ],
  [
    'deleteVault removes that vault only; listVaults names vaults with secrets',
    async (s) => {
      assert.deepEqual(await s.listVaults(), [])
      await secret(s, V1, 'a', 2)
      await secret(s, V1, 'b', 1, { deletedAt: T, scheduledPurgeAt: T + DAY })
      await secret(s, V2, 'a', 1)
      assert.deepEqual(await s.listVaults(), [V1, V2])
      assert.equal(await s.deleteVault(V1.toUpperCase()), 2)
      assert.deepEqual(await s.listVaults(), [V2])
      assert.deepEqual(await s.listVersions(V1, 'a'), [])
      assert.ok(await s.getVersion(V2, 'a', ver(1)))
      assert.equal(await s.deleteVault(V1), 0)
    },
  ],
  [
    'listDue: soft-deleted secrets whose purge date has come, oldest first',
    async (s) => {
      await secret(s, V1, 'late', 1, { deletedAt: T, scheduledPurgeAt: T + 2 * DAY })
      await secret(s, V1, 'early', 1, { deletedAt: T, scheduledPurgeAt: T + DAY })
      await secret(s, V2, 'future', 1, { deletedAt: T, scheduledPurgeAt: T + 9 * DAY })
      await secret(s, V1, 'active', 1)
      assert.deepEqual(await s.listDue(T, 10), [])
      assert.deepEqual(await s.listDue(T + 2 * DAY, 10), [
        { vault: V1, name: 'early' },
        { vault: V1, name: 'late' },
      ])
      assert.deepEqual(await s.listDue(T + 2 * DAY, 1), [{ vault: V1, name: 'early' }])
    },
  ],
  [
    'transaction: all or nothing; a failed one leaves no version and no head behind',
    async (s) => {
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.putVersion(version(V1, 'half', 1))
          await tx.putHead(head(V1, 'half', 1))
          assert.ok(await tx.getHead(V1, 'half', { forUpdate: true }), 'visible inside')
          throw new Error('boom')
        }),
        /boom/,
      )
      assert.equal(await s.getHead(V1, 'half'), undefined)
      assert.deepEqual(await s.listVersions(V1, 'half'), [])
      await s.transaction(async (tx) => {
        await tx.putVersion(version(V1, 'whole', 1))
        await tx.putHead(head(V1, 'whole', 1))
        assert.equal(await tx.deleteSecret(V1, 'nothing'), false)
      })
      assert.ok(await s.getHead(V1, 'whole'))
    },
  ],
]

export const runKeyVaultStoreContract = contractRunner('KeyVaultStore', CASES)

runOnEveryBackend(createKeyVaultStore, runKeyVaultStoreContract)
