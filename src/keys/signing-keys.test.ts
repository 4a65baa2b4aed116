import assert from 'node:assert/strict'
import { X509Certificate, createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import { describe, test } from 'node:test'
import { manualClock } from '../kernel/clock.ts'
import { sequentialIds } from '../kernel/ids.ts'
import { silentLogger } from '../kernel/log.ts'
import type { KeyStore, SigningKeyRecord } from './ports.ts'
import { createSigner } from './signer.ts'
import { createKeyService, decryptPrivateKey, encryptPrivateKey } from './signing-keys.ts'

const T0 = Date.UTC(2024, 6, 9, 0, 0, 0)
const MIN = 60_000
const HOUR = 60 * MIN
const MAX_LIFETIME = 24 * HOUR + 5 * MIN
const KEK = Buffer.alloc(32, 7)
const OTHER_KEK = Buffer.alloc(32, 8)

/** An in-memory KeyStore with the semantics of store/keys-store.ts; transactions run one at a time. */
function memoryKeyStore(): KeyStore & { rows: SigningKeyRecord[] } {
  const rows: SigningKeyRecord[] = []
  let chain: Promise<unknown> = Promise.resolve()
  const store: KeyStore & { rows: SigningKeyRecord[] } = {
    rows,
    async listSigningKeys() {
      return rows.map((r) => structuredClone(r)).sort((a, b) => a.activateAt - b.activateAt)
    },
    async insertSigningKey(k) {
      if (rows.some((r) => r.kid === k.kid)) throw new Error(`duplicate kid ${k.kid}`)
      rows.push(structuredClone(k))
    },
    async retireCurrentKeys(q) {
      let n = 0
      for (const r of rows)
        if (r.retireAt === null && r.activateAt < q.activatedBefore) {
          r.retireAt = q.retireAt
          n++
        }
      return n
    },
    async deleteRetiredKeys(before) {
      const keep = rows.filter((r) => r.retireAt === null || r.retireAt >= before)
      const n = rows.length - keep.length
      rows.splice(0, rows.length, ...keep)
      return n
    },
    transaction(fn) {
      const run = chain.then(() => fn(store))
      chain = run.catch(() => undefined)
      return run
    },
  }
  return store
}

let nodes = 0

function setup(
  opts: {
    store?: ReturnType<typeof memoryKeyStore>
    kek?: Buffer
    prePublishMs?: number
    clock?: ReturnType<typeof manualClock>
  } = {},
) {
  const store = opts.store ?? memoryKeyStore()
  const clock = opts.clock ?? manualClock(T0)
  const signer = createSigner({ threads: 0 })
  const service = createKeyService({
    store,
    clock,
    ids: sequentialIds(`node-${++nodes}`),
    signer,
    logger: silentLogger,
    kek: opts.kek ?? KEK,
    maxTokenLifetimeMs: MAX_LIFETIME,
    prePublishMs: opts.prePublishMs ?? 0,
  })
  return { store, clock, service, signer }
}

const kidsOf = async (s: { jwks(): Promise<{ kid: string }[]> }) => (await s.jwks()).map((k) => k.kid)

// RSA key generation dominates the run time, so each test makes as few keys as it can.
describe('createKeyService', () => {
  test('ensureKey creates one key, once, even when two nodes race; active() signs and JWKS publishes it', async () => {
    const store = memoryKeyStore()
    const clock = manualClock(T0)
    const a = setup({ store, clock })
    const b = setup({ store, clock })
    // b.active() on the empty store creates the first key too
    const [, bActive] = await Promise.all([a.service.ensureKey(), b.service.active()])
    assert.equal(store.rows.length, 1)
    await a.service.ensureKey()
    assert.equal(store.rows.length, 1)
    const rec = store.rows[0] as SigningKeyRecord
    assert.equal(rec.alg, 'RS256')
    assert.equal(rec.retireAt, null)
    assert.equal(rec.activateAt, T0)
    assert.equal(bActive.kid, rec.kid)
    const active = await a.service.active()
    assert.equal(active.kid, rec.kid)
    assert.equal(active.x5t, active.kid)

    const input = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0'
    const sig = await a.service.sign(active.kid, input)
    const pub = await b.service.publicKey(active.kid)
    assert.ok(pub)
    assert.ok(verify('sha256', Buffer.from(input), pub, Buffer.from(sig, 'base64url')))
    assert.equal(await a.service.publicKey('no-such-kid'), undefined)

    const [jwk, ...rest] = await a.service.jwks()
    assert.ok(jwk)
    assert.equal(rest.length, 0)
    assert.deepEqual(Object.keys(jwk), ['kty', 'use', 'kid', 'x5t', 'n', 'e', 'x5c'])
    assert.equal(jwk.kty, 'RSA')
    assert.equal(jwk.use, 'sig')
    assert.equal(jwk.kid, active.kid)
    assert.equal(jwk.e, 'AQAB')
    assert.equal(jwk.x5c.length, 1)
    const der = Buffer.from(jwk.x5c[0] as string, 'base64')
    assert.equal(jwk.kid, createHash('sha1').update(der).digest('base64url'), 'kid = base64url SHA-1 of the cert')
    assert.equal(jwk.x5t, jwk.kid)
    const certKey = new X509Certificate(der).publicKey.export({ format: 'jwk' }) as { n: string; e: string }
    assert.equal(certKey.n, jwk.n, 'the certificate holds the published key')
    assert.equal(certKey.e, jwk.e)
    assert.equal(Buffer.from(jwk.n, 'base64url').length, 256)
  })

  test('rotate: the new key signs at once; the old stays published until new activateAt + max token lifetime', async () => {
    const store = memoryKeyStore()
    const clock = manualClock(T0)
    const { service } = setup({ store, clock })
    const sibling = setup({ store, clock }).service
    await service.ensureKey()
    const k1 = (await service.active()).kid
    clock.advance(HOUR)
    assert.equal((await sibling.active()).kid, k1)
    const rotatedAt = clock.now()
    const { kid: k2, previous } = await service.rotate()
    assert.notEqual(k2, k1)
    assert.deepEqual(previous, [k1])
    assert.equal((await service.active()).kid, k2)
    assert.deepEqual(await kidsOf(service), [k1, k2])
    const retireAt = rotatedAt + MAX_LIFETIME
    assert.equal(store.rows.find((r) => r.kid === k1)?.retireAt, retireAt)
    assert.equal(store.rows.find((r) => r.kid === k2)?.retireAt, null)

    // a sibling node keeps its cached view for up to 2 s, but looks up an unknown kid at once
    assert.equal((await sibling.active()).kid, k1)
    assert.ok(await sibling.publicKey(k2))
    clock.advance(2001)
    assert.equal((await sibling.active()).kid, k2)

    clock.set(retireAt - 1)
    assert.deepEqual(await kidsOf(service), [k1, k2])
    assert.ok(await service.publicKey(k1), 'tokens signed by the old key still verify')

    clock.set(retireAt)
    assert.deepEqual(await kidsOf(service), [k2])
    assert.equal(await service.publicKey(k1), undefined)
    assert.equal((await service.active()).kid, k2)

    // the next rotation deletes keys retired before it
    clock.advance(1)
    const { kid: k3, previous: prev3 } = await service.rotate()
    assert.deepEqual(prev3, [k2])
    assert.deepEqual(
      store.rows.map((r) => r.kid),
      [k2, k3],
    )
    assert.deepEqual(await kidsOf(service), [k2, k3])

    // a node with another keys.encryptionKey cannot sign with these keys, and says which setting differs
    const other = setup({ store, clock, kek: OTHER_KEK }).service
    await assert.rejects(other.active(), (e: unknown) => {
      assert.ok(e instanceof Error)
      assert.match(e.message, /keys\.encryptionKey/)
      return true
    })
    assert.deepEqual(await kidsOf(other), [k2, k3], 'publishing needs no private key')
  })

  test('rotate with prePublish: the new key is published first and signs only from its activateAt', async () => {
    const { service, clock, store } = setup({ prePublishMs: 10 * MIN })
    await service.ensureKey()
    const k1 = (await service.active()).kid
    const { kid: k2 } = await service.rotate()
    assert.deepEqual(await kidsOf(service), [k1, k2])
    assert.equal((await service.active()).kid, k1)
    assert.equal(store.rows.find((r) => r.kid === k2)?.activateAt, T0 + 10 * MIN)
    assert.equal(store.rows.find((r) => r.kid === k1)?.retireAt, T0 + 10 * MIN + MAX_LIFETIME)
    clock.advance(10 * MIN - 1)
    assert.equal((await service.active()).kid, k1)
    clock.advance(1)
    assert.equal((await service.active()).kid, k2)
  })
})

describe('encryptPrivateKey / decryptPrivateKey', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const iv = Buffer.alloc(12, 1)

  test('a record decrypts with the same KEK and kid to the same key', () => {
    const enc = encryptPrivateKey(privateKey, KEK, 'kid-1', iv)
    assert.ok(!enc.includes(privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64').slice(40, 80)))
    const back = decryptPrivateKey(enc, KEK, 'kid-1')
    assert.deepEqual(back.export({ format: 'der', type: 'pkcs8' }), privateKey.export({ format: 'der', type: 'pkcs8' }))
    assert.deepEqual(
      createPublicKey(back).export({ format: 'jwk' }),
      createPublicKey(privateKey).export({ format: 'jwk' }),
    )
  })

  test('another KEK, another kid (the AAD) or a flipped byte fails', () => {
    const enc = encryptPrivateKey(privateKey, KEK, 'kid-1', iv)
    assert.throws(() => decryptPrivateKey(enc, OTHER_KEK, 'kid-1'))
    assert.throws(() => decryptPrivateKey(enc, KEK, 'kid-2'))
    const raw = Buffer.from(enc, 'base64')
    raw[40] = (raw[40] ?? 0) ^ 1
    assert.throws(() => decryptPrivateKey(raw.toString('base64'), KEK, 'kid-1'))
  })
})
