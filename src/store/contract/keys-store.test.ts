import assert from 'node:assert/strict'
import type { KeyStore, SigningKeyRecord } from '../../keys/ports.ts'
import { createKeyStore } from '../keys-store.ts'
import { type Case, type OpenStore, runContract, runOnEveryBackend } from './harness.ts'

const T = 1_720_000_000_000
const DAY = 86_400_000

const key = (kid: string, activateAt: number, over: Partial<SigningKeyRecord> = {}): SigningKeyRecord => ({
  kid,
  alg: 'RS256',
  createdAt: activateAt - 1000,
  activateAt,
  retireAt: null,
  privateKeyEnc: Buffer.from(`iv|tag|ciphertext of ${kid}`).toString('base64'),
  publicJwk: { kty: 'RSA', n: `n-of-${kid}-${'A'.repeat(342)}`, e: 'AQAB' },
  certDer: Buffer.from(`cert of ${kid}`).toString('base64'),
  ...over,
})

const kids = async (s: KeyStore) => (await s.listSigningKeys()).map((k) => k.kid)

const CASES: readonly Case<KeyStore>[] = [
  [
    'insert and list: every field round trips; ordered by activateAt; a kid is unique',
    async (s) => {
      assert.deepEqual(await s.listSigningKeys(), [])
      const b = key('kid-b', T + DAY)
      const a = key('kid-a', T, { retireAt: T + 2 * DAY })
      const c = key('kid-c', T + 2 * DAY)
      await s.insertSigningKey(b)
      await s.insertSigningKey(a)
      await s.insertSigningKey(c)
      assert.deepEqual(await s.listSigningKeys(), [a, b, c])
      await assert.rejects(s.insertSigningKey(key('kid-a', T + 5 * DAY)))
      assert.deepEqual(await kids(s), ['kid-a', 'kid-b', 'kid-c'])
    },
  ],
  [
    'retireCurrentKeys: only current keys activated before the cut-off, and says how many',
    async (s) => {
      await s.insertSigningKey(key('old-retired', T - DAY, { retireAt: T + DAY }))
      await s.insertSigningKey(key('current-1', T))
      await s.insertSigningKey(key('current-2', T + 10))
      await s.insertSigningKey(key('pre-published', T + 100))
      assert.equal(await s.retireCurrentKeys({ activatedBefore: T + 100, retireAt: T + 5 * DAY }), 2)
      const byKid = Object.fromEntries((await s.listSigningKeys()).map((k) => [k.kid, k.retireAt]))
      assert.deepEqual(byKid, {
        'old-retired': T + DAY,
        'current-1': T + 5 * DAY,
        'current-2': T + 5 * DAY,
        'pre-published': null,
      })
      assert.equal(await s.retireCurrentKeys({ activatedBefore: T + 100, retireAt: T + 9 * DAY }), 0, 'idempotent')
      assert.equal(await s.retireCurrentKeys({ activatedBefore: T + 101, retireAt: T + 9 * DAY }), 1)
    },
  ],
  [
    'deleteRetiredKeys: removes keys retired strictly before the time, never current ones',
    async (s) => {
      await s.insertSigningKey(key('r1', T, { retireAt: T + DAY }))
      await s.insertSigningKey(key('r2', T + 1, { retireAt: T + 2 * DAY }))
      await s.insertSigningKey(key('cur', T + 2))
      assert.equal(await s.deleteRetiredKeys(T + DAY), 0, 'retire_at equal to the time stays')
      assert.equal(await s.deleteRetiredKeys(T + DAY + 1), 1)
      assert.deepEqual(await kids(s), ['r2', 'cur'])
      assert.equal(await s.deleteRetiredKeys(T + 100 * DAY), 1)
      assert.deepEqual(await kids(s), ['cur'])
      assert.equal(await s.deleteRetiredKeys(T + 100 * DAY), 0)
    },
  ],
  [
    'a rotation as the key service runs it: retire, insert, delete, in one transaction',
    async (s) => {
      await s.insertSigningKey(key('k1', T))
      const now = T + DAY
      const next = key('k2', now)
      const maxLifetime = DAY + 300_000
      await s.transaction(async (tx) => {
        assert.equal(await tx.retireCurrentKeys({ activatedBefore: next.activateAt, retireAt: now + maxLifetime }), 1)
        await tx.insertSigningKey(next)
        assert.equal(await tx.deleteRetiredKeys(now), 0)
      })
      assert.deepEqual(await s.listSigningKeys(), [key('k1', T, { retireAt: now + maxLifetime }), next])
      const later = now + maxLifetime + 1
      await s.transaction(async (tx) => {
        await tx.retireCurrentKeys({ activatedBefore: later, retireAt: later + maxLifetime })
        await tx.insertSigningKey(key('k3', later))
        assert.equal(await tx.deleteRetiredKeys(later), 1)
      })
      assert.deepEqual(await kids(s), ['k2', 'k3'])
    },
  ],
  [
    'transaction: returns the value, rolls back on a throw, nests in the same transaction',
    async (s) => {
      const v = await s.transaction(async (tx) => {
        await tx.insertSigningKey(key('in-tx', T))
        assert.deepEqual(await kids(tx), ['in-tx'], 'reads its own writes')
        return tx.transaction(async (inner) => {
          await inner.insertSigningKey(key('nested', T + 1))
          return 'done'
        })
      })
      assert.equal(v, 'done')
      assert.deepEqual(await kids(s), ['in-tx', 'nested'])
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.retireCurrentKeys({ activatedBefore: T + 10, retireAt: T + 20 })
          await tx.insertSigningKey(key('doomed', T + 2))
          throw new Error('boom')
        }),
        /boom/,
      )
      assert.deepEqual(
        (await s.listSigningKeys()).map((k) => [k.kid, k.retireAt]),
        [
          ['in-tx', null],
          ['nested', null],
        ],
      )
    },
  ],
  [
    'transactions from two callers at once both land (rotations from two nodes)',
    async (s) => {
      await Promise.all(
        ['x', 'y'].map((n, i) =>
          s.transaction(async (tx) => {
            await tx.retireCurrentKeys({ activatedBefore: T + i, retireAt: T + DAY })
            await tx.insertSigningKey(key(n, T + i))
          }),
        ),
      )
      assert.deepEqual((await kids(s)).sort(), ['x', 'y'])
    },
  ],
]

/** The KeyStore contract against one backend; `open` gives an empty store for each case. */
export function runKeyStoreContract(
  name: string,
  open: OpenStore<KeyStore>,
  opts: { unavailable?: string | null; dispose?: () => Promise<void> } = {},
): void {
  runContract({ port: 'KeyStore', backend: name, open, ...opts, cases: CASES })
}

runOnEveryBackend((db) => createKeyStore(db), runKeyStoreContract)
