import assert from 'node:assert/strict'
import type { AuthorizationCodeRecord, DeviceCodeRecord, RefreshTokenRecord, StsStateStore } from '../../sts/ports.ts'
import { createStsStateStore } from '../sts-store.ts'
import { type Case, type OpenStore, guid, runContract, runOnEveryBackend } from './harness.ts'

const T = 1_720_000_000_000
const MIN = 60_000
const DAY = 86_400_000
const TENANT = guid(1, '7e7a0000')
const CLIENT = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
const USER = guid(1, '05e40000')

const device = (n: number, over: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord => ({
  deviceCodeHash: `device-hash-${n}`,
  userCode: `USER${String(n).padStart(4, '0')}`,
  tenantPath: 'organizations',
  clientId: CLIENT,
  scope: 'https://management.core.windows.net//.default offline_access openid profile',
  status: 'pending',
  userId: null,
  userTenantId: null,
  intervalS: 5,
  lastPollAt: null,
  expiresAt: T + 15 * MIN,
  createdAt: T + n,
  ...over,
})

const code = (n: number, over: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord => ({
  codeHash: `code-hash-${n}`,
  tenantId: TENANT,
  clientId: CLIENT,
  userId: USER,
  redirectUri: 'http://localhost:8400/',
  scope: 'https://management.core.windows.net//.default openid',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  codeChallengeMethod: 'S256',
  nonce: 'nonce-1',
  expiresAt: T + 10 * MIN,
  usedAt: null,
  createdAt: T,
  ...over,
})

const refresh = (n: number, over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  tokenHash: `rt-hash-${n}`,
  tenantId: TENANT,
  clientId: CLIENT,
  userId: USER,
  scope: 'https://management.core.windows.net//.default offline_access',
  familyId: 'family-1',
  expiresAt: T + 90 * DAY,
  revokedAt: null,
  createdAt: T + n,
  ...over,
})

const CASES: readonly Case<StsStateStore>[] = [
  [
    'device codes: insert, get by hash and by user code (any case), user codes unique',
    async (s) => {
      const d = device(1)
      await s.insertDeviceCode(d)
      assert.deepEqual(await s.getDeviceCode(d.deviceCodeHash), d)
      assert.deepEqual(await s.getDeviceCodeByUserCode('user0001'), d)
      assert.deepEqual(await s.getDeviceCodeByUserCode('USER0001'), d)
      assert.equal(await s.getDeviceCode('device-hash-9'), undefined)
      assert.equal(await s.getDeviceCode(d.deviceCodeHash.toUpperCase()), undefined, 'hashes compare exactly')
      assert.equal(await s.getDeviceCodeByUserCode('USER9999'), undefined)
      const full = device(2, { status: 'approved', userId: USER, userTenantId: TENANT, lastPollAt: T + 7 })
      await s.insertDeviceCode(full)
      assert.deepEqual(await s.getDeviceCode(full.deviceCodeHash), full)
      await assert.rejects(s.insertDeviceCode(device(3, { userCode: d.userCode })))
      await assert.rejects(s.insertDeviceCode(device(1, { userCode: 'OTHER001' })))
    },
  ],
  [
    'setDeviceCodeStatus: changes only from the expected status; user fields set, kept or cleared',
    async (s) => {
      const h = device(1).deviceCodeHash
      await s.insertDeviceCode(device(1))
      assert.equal(await s.setDeviceCodeStatus({ hash: h, fromStatus: 'approved', status: 'redeemed' }), false)
      assert.equal((await s.getDeviceCode(h))?.status, 'pending')
      assert.equal(
        await s.setDeviceCodeStatus({
          hash: h,
          fromStatus: 'pending',
          status: 'approved',
          userId: USER,
          userTenantId: TENANT,
        }),
        true,
      )
      assert.deepEqual(await s.getDeviceCode(h), device(1, { status: 'approved', userId: USER, userTenantId: TENANT }))
      assert.equal(await s.setDeviceCodeStatus({ hash: h, fromStatus: 'pending', status: 'denied' }), false)
      // without user fields the user stays
      assert.equal(await s.setDeviceCodeStatus({ hash: h, fromStatus: 'approved', status: 'redeemed' }), true)
      assert.deepEqual(await s.getDeviceCode(h), device(1, { status: 'redeemed', userId: USER, userTenantId: TENANT }))
      // explicit nulls clear it
      assert.equal(
        await s.setDeviceCodeStatus({
          hash: h,
          fromStatus: 'redeemed',
          status: 'denied',
          userId: null,
          userTenantId: null,
        }),
        true,
      )
      assert.deepEqual(await s.getDeviceCode(h), device(1, { status: 'denied' }))
      assert.equal(await s.setDeviceCodeStatus({ hash: 'nope', fromStatus: 'pending', status: 'approved' }), false)
    },
  ],
  [
    'setDeviceCodeStatus: of two racing transitions from pending exactly one wins',
    async (s) => {
      const h = device(1).deviceCodeHash
      await s.insertDeviceCode(device(1))
      const results = await Promise.all([
        s.setDeviceCodeStatus({ hash: h, fromStatus: 'pending', status: 'approved', userId: USER }),
        s.setDeviceCodeStatus({ hash: h, fromStatus: 'pending', status: 'denied' }),
        s.setDeviceCodeStatus({ hash: h, fromStatus: 'pending', status: 'approved', userId: guid(2, '05e40000') }),
      ])
      assert.equal(results.filter(Boolean).length, 1)
      const after = await s.getDeviceCode(h)
      const winner = results.indexOf(true)
      assert.equal(after?.status, winner === 1 ? 'denied' : 'approved')
    },
  ],
  [
    'touchDeviceCodePoll and listPendingDeviceCodes: pending and unexpired only, newest first, at most 100',
    async (s) => {
      await s.insertDeviceCode(device(1))
      await s.insertDeviceCode(device(2, { status: 'approved', userId: USER }))
      await s.insertDeviceCode(device(3, { expiresAt: T + MIN }))
      await s.insertDeviceCode(device(4))
      await s.touchDeviceCodePoll(device(1).deviceCodeHash, T + 30_000)
      await s.touchDeviceCodePoll('nope', T) // absent: no error
      assert.equal((await s.getDeviceCode(device(1).deviceCodeHash))?.lastPollAt, T + 30_000)
      const hashes = async (now: number) => (await s.listPendingDeviceCodes(now)).map((d) => d.deviceCodeHash)
      assert.deepEqual(await hashes(T), ['device-hash-4', 'device-hash-3', 'device-hash-1'])
      assert.deepEqual(await hashes(T + MIN), ['device-hash-4', 'device-hash-1'], 'expiresAt must be after now')
      assert.deepEqual((await s.listPendingDeviceCodes(T))[2], device(1, { lastPollAt: T + 30_000 }))
      assert.deepEqual(await hashes(T + 15 * MIN), [])
      for (let n = 10; n < 110; n++) await s.insertDeviceCode(device(n))
      const many = await s.listPendingDeviceCodes(T)
      assert.equal(many.length, 100)
      assert.equal(many[0]?.deviceCodeHash, 'device-hash-109')
    },
  ],
  [
    'consumeAuthorizationCode: the first caller gets the record (usedAt set), the next "used"; unknown: undefined',
    async (s) => {
      await s.insertAuthorizationCode(code(1))
      assert.equal(await s.consumeAuthorizationCode('code-hash-9', T + 1), undefined)
      assert.deepEqual(await s.consumeAuthorizationCode('code-hash-1', T + 5), code(1, { usedAt: T + 5 }))
      assert.equal(await s.consumeAuthorizationCode('code-hash-1', T + 6), 'used')
      assert.equal(await s.consumeAuthorizationCode('code-hash-1', T + 7), 'used')
      const bare = code(2, { codeChallenge: null, codeChallengeMethod: null, nonce: null })
      await s.insertAuthorizationCode(bare)
      assert.deepEqual(await s.consumeAuthorizationCode('code-hash-2', T + 8), { ...bare, usedAt: T + 8 })
      await s.insertAuthorizationCode(code(3, { usedAt: T - 1 }))
      assert.equal(await s.consumeAuthorizationCode('code-hash-3', T + 9), 'used', 'inserted as used')
      await assert.rejects(s.insertAuthorizationCode(code(1)))
    },
  ],
  [
    'consumeAuthorizationCode: one-time use holds when callers race',
    async (s) => {
      await s.insertAuthorizationCode(code(1))
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => s.consumeAuthorizationCode('code-hash-1', T + i)),
      )
      const records = results.filter((r) => typeof r === 'object')
      assert.equal(records.length, 1)
      assert.equal(results.filter((r) => r === 'used').length, 5)
    },
  ],
  [
    'refresh tokens: insert and get; revoke by family, by user, by both; already revoked ones are not counted',
    async (s) => {
      const other = guid(2, '05e40000')
      await s.insertRefreshToken(refresh(1))
      await s.insertRefreshToken(refresh(2))
      await s.insertRefreshToken(refresh(3, { familyId: 'family-2' }))
      await s.insertRefreshToken(refresh(4, { userId: other, familyId: 'family-3' }))
      await s.insertRefreshToken(refresh(5, { userId: other, familyId: 'family-1' }))
      assert.deepEqual(await s.getRefreshToken('rt-hash-1'), refresh(1))
      assert.equal(await s.getRefreshToken('rt-hash-9'), undefined)
      await assert.rejects(s.insertRefreshToken(refresh(1)))

      assert.equal(await s.revokeRefreshTokens({ at: T + 1 }), 0, 'neither user nor family: nothing')
      assert.equal((await s.getRefreshToken('rt-hash-1'))?.revokedAt, null)
      assert.equal(await s.revokeRefreshTokens({ userId: USER, familyId: 'family-1', at: T + 2 }), 2)
      assert.equal((await s.getRefreshToken('rt-hash-5'))?.revokedAt, null, 'both given: both must match')
      assert.equal(await s.revokeRefreshTokens({ familyId: 'family-1', at: T + 3 }), 1)
      assert.equal((await s.getRefreshToken('rt-hash-1'))?.revokedAt, T + 2, 'the first revocation time stays')
      assert.equal((await s.getRefreshToken('rt-hash-5'))?.revokedAt, T + 3)
      assert.equal(await s.revokeRefreshTokens({ userId: USER, at: T + 4 }), 1)
      assert.deepEqual(await s.getRefreshToken('rt-hash-3'), refresh(3, { familyId: 'family-2', revokedAt: T + 4 }))
      assert.equal(await s.revokeRefreshTokens({ userId: USER, at: T + 5 }), 0)
      assert.equal((await s.getRefreshToken('rt-hash-4'))?.revokedAt, null)
    },
  ],
  [
    'rememberAssertion: new, then same for the same fingerprint, different for another; keys are separate',
    async (s) => {
      const q = { key: `${CLIENT}|jti-1`, fingerprint: 'fp-a', expiresAt: T + 10 * MIN }
      assert.equal(await s.rememberAssertion(q), 'new')
      assert.equal(await s.rememberAssertion(q), 'same')
      assert.equal(await s.rememberAssertion({ ...q, expiresAt: T + 20 * MIN }), 'same')
      assert.equal(await s.rememberAssertion({ ...q, fingerprint: 'fp-b' }), 'different')
      assert.equal(await s.rememberAssertion(q), 'same', 'the first fingerprint is kept')
      assert.equal(await s.rememberAssertion({ ...q, key: `${CLIENT}|jti-2` }), 'new')
      assert.equal(await s.rememberAssertion({ ...q, key: `${CLIENT}|JTI-1` }), 'new', 'keys compare exactly')
    },
  ],
  [
    'rememberAssertion: of racing callers with one assertion exactly one sees it new',
    async (s) => {
      const q = { key: 'race|jti', fingerprint: 'fp', expiresAt: T + MIN }
      const results = await Promise.all(Array.from({ length: 6 }, () => s.rememberAssertion(q)))
      assert.deepEqual([...results].sort(), ['new', 'same', 'same', 'same', 'same', 'same'])
    },
  ],
  [
    'purgeExpired: assertions and refresh tokens past expiry; device and authorization codes a day after expiry',
    async (s) => {
      const now = T + 2 * DAY
      await s.rememberAssertion({ key: 'expired', fingerprint: 'x', expiresAt: now - 1 })
      await s.rememberAssertion({ key: 'at-now', fingerprint: 'x', expiresAt: now })
      await s.insertDeviceCode(device(1, { expiresAt: now - DAY - 1 }))
      await s.insertDeviceCode(device(2, { expiresAt: now - DAY + 1 }))
      await s.insertAuthorizationCode(code(1, { expiresAt: now - DAY - 1 }))
      await s.insertAuthorizationCode(code(2, { expiresAt: now - 1 }))
      await s.insertRefreshToken(refresh(1, { expiresAt: now - 1 }))
      await s.insertRefreshToken(refresh(2, { expiresAt: now }))

      await s.purgeExpired(now)

      assert.equal(await s.rememberAssertion({ key: 'expired', fingerprint: 'y', expiresAt: now + MIN }), 'new')
      assert.equal(await s.rememberAssertion({ key: 'at-now', fingerprint: 'y', expiresAt: now + MIN }), 'different')
      assert.equal(await s.getDeviceCode(device(1).deviceCodeHash), undefined)
      assert.ok(await s.getDeviceCode(device(2).deviceCodeHash), 'expired less than a day ago: kept')
      assert.equal(await s.consumeAuthorizationCode('code-hash-1', now), undefined)
      assert.equal(typeof (await s.consumeAuthorizationCode('code-hash-2', now)), 'object')
      assert.equal(await s.getRefreshToken('rt-hash-1'), undefined)
      assert.ok(await s.getRefreshToken('rt-hash-2'))
      await s.purgeExpired(now) // again: nothing left to do, no error
    },
  ],
]

/** The StsStateStore contract against one backend; `open` gives an empty store for each case. */
export function runStsStateStoreContract(
  name: string,
  open: OpenStore<StsStateStore>,
  opts: { unavailable?: string | null; dispose?: () => Promise<void> } = {},
): void {
  runContract({ port: 'StsStateStore', backend: name, open, ...opts, cases: CASES })
}

runOnEveryBackend((db) => createStsStateStore(db), runStsStateStoreContract)
