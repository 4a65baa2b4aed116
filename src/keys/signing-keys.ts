import {
  type KeyObject,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
} from 'node:crypto'
import type { Clock } from '../kernel/clock.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { selfSignedCertificate, thumbprints } from './pki.ts'
import type { KeyStore, SigningKeyRecord } from './ports.ts'
import type { Signer } from './signer.ts'

export interface Jwk {
  kty: 'RSA'
  use: 'sig'
  kid: string
  x5t: string
  n: string
  e: string
  x5c: string[]
  issuer?: string
}

export interface ActiveKey {
  kid: string
  /** base64url SHA-1 of the certificate: Entra puts it in v1 headers as `x5t`, equal to `kid`. */
  x5t: string
}

export interface KeyService {
  /** Creates the first key when the store has none. Safe to call from several nodes at once. */
  ensureKey(): Promise<void>
  /** Starts a new key; the current one stays published until every token it signed has expired. */
  rotate(): Promise<{ kid: string; previous: string[] }>
  /** The key that signs now (refreshed from the store at most every `cacheMs`). */
  active(): Promise<ActiveKey>
  /** Keys to publish. */
  jwks(): Promise<Jwk[]>
  /** Public keys by kid, for verifying tokens this node or a sibling issued. */
  publicKey(kid: string): Promise<KeyObject | undefined>
  /** Signs a JWT signing input with the given kid. */
  sign(kid: string, input: string): Promise<string>
  /** Drops the cache so the next call reads the store. */
  invalidate(): void
}

const ALG = 'aes-256-gcm'

export function encryptPrivateKey(key: KeyObject, kek: Buffer, kid: string, iv: Buffer): string {
  const der = key.export({ format: 'der', type: 'pkcs8' })
  const c = createCipheriv(ALG, kek, iv)
  c.setAAD(Buffer.from(kid))
  const ct = Buffer.concat([c.update(der), c.final()])
  return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64')
}

export function decryptPrivateKey(enc: string, kek: Buffer, kid: string): KeyObject {
  const raw = Buffer.from(enc, 'base64')
  const d = createDecipheriv(ALG, kek, raw.subarray(0, 12))
  d.setAAD(Buffer.from(kid))
  d.setAuthTag(raw.subarray(12, 28))
  const der = Buffer.concat([d.update(raw.subarray(28)), d.final()])
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
}

interface Loaded {
  rec: SigningKeyRecord
  x5t: string
  publicKey: KeyObject
}

export function createKeyService(deps: {
  store: KeyStore
  clock: Clock
  ids: Ids
  signer: Signer
  logger: Logger
  /** Key-encryption key (32 bytes). */
  kek: Buffer
  /** The longest lifetime of anything signed: an old key stays published this long after it stops signing. */
  maxTokenLifetimeMs: number
  /** How long a new key is published before it signs. */
  prePublishMs: number
  cacheMs?: number
}): KeyService {
  const { store, clock, ids, signer, kek } = deps
  const cacheMs = deps.cacheMs ?? 2000
  let cache: { at: number; keys: Loaded[] } | undefined
  let loading: Promise<Loaded[]> | undefined

  async function newRecord(activateAt: number): Promise<SigningKeyRecord> {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const now = clock.now()
    const der = await selfSignedCertificate({
      privateKey,
      publicKey,
      commonName: 'accounts.azid.local',
      notBeforeMs: now - 60_000,
      notAfterMs: now + 5 * 365 * 86_400_000,
      serial: ids.bytes(16),
    })
    const kid = thumbprints(der).x5t
    const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string }
    return {
      kid,
      alg: 'RS256',
      createdAt: now,
      activateAt,
      retireAt: null,
      privateKeyEnc: encryptPrivateKey(privateKey, kek, kid, ids.bytes(12)),
      publicJwk: { kty: 'RSA', n: jwk.n, e: jwk.e },
      certDer: der.toString('base64'),
    }
  }

  async function load(): Promise<Loaded[]> {
    const now = clock.now()
    if (cache && now - cache.at < cacheMs) return cache.keys
    if (!loading) {
      loading = (async () => {
        const recs = await store.listSigningKeys()
        const out: Loaded[] = []
        for (const rec of recs) {
          const publicKey = createPublicKey({ key: { ...rec.publicJwk }, format: 'jwk' })
          out.push({ rec, x5t: rec.kid, publicKey })
        }
        out.sort((a, b) => a.rec.activateAt - b.rec.activateAt)
        cache = { at: clock.now(), keys: out }
        return out
      })().finally(() => {
        loading = undefined
      })
    }
    return loading
  }

  function ensureLoadedInSigner(l: Loaded): void {
    try {
      signer.load(l.rec.kid, decryptPrivateKey(l.rec.privateKeyEnc, kek, l.rec.kid))
    } catch (e) {
      throw new Error(
        `signing key ${l.rec.kid} cannot be decrypted: keys.encryptionKey differs from the one of the node that created it`,
        { cause: e },
      )
    }
  }

  const loadedKids = new Set<string>()

  const service: KeyService = {
    async ensureKey() {
      const existing = await load()
      if (existing.length > 0) return
      const rec = await newRecord(clock.now())
      await store.transaction(async (tx) => {
        if ((await tx.listSigningKeys()).length === 0) await tx.insertSigningKey(rec)
      })
      service.invalidate()
    },
    async rotate() {
      const now = clock.now()
      const rec = await newRecord(now + deps.prePublishMs)
      const previous = (await store.listSigningKeys()).filter((k) => k.retireAt === null).map((k) => k.kid)
      await store.transaction(async (tx) => {
        await tx.retireCurrentKeys({
          activatedBefore: rec.activateAt,
          retireAt: rec.activateAt + deps.maxTokenLifetimeMs,
        })
        await tx.insertSigningKey(rec)
        await tx.deleteRetiredKeys(now)
      })
      service.invalidate()
      deps.logger.info('signing key rotated', { kid: rec.kid, previous })
      return { kid: rec.kid, previous }
    },
    async active() {
      const now = clock.now()
      const keys = await load()
      let current: Loaded | undefined
      for (const k of keys)
        if (k.rec.activateAt <= now && (k.rec.retireAt === null || k.rec.retireAt > now)) current = k
      // A key that is still pre-publishing never signs; the previous one keeps signing until then.
      if (!current) {
        await service.ensureKey()
        const again = await load()
        current = again.find((k) => k.rec.activateAt <= now) ?? again[0]
        if (!current) throw new Error('no signing key')
      }
      if (!loadedKids.has(current.rec.kid)) {
        ensureLoadedInSigner(current)
        loadedKids.add(current.rec.kid)
      }
      return { kid: current.rec.kid, x5t: current.x5t }
    },
    async jwks() {
      const now = clock.now()
      return (await load())
        .filter((k) => k.rec.retireAt === null || k.rec.retireAt > now)
        .map((k) => ({
          kty: 'RSA' as const,
          use: 'sig' as const,
          kid: k.rec.kid,
          x5t: k.x5t,
          n: k.rec.publicJwk.n,
          e: k.rec.publicJwk.e,
          x5c: [k.rec.certDer],
        }))
    },
    async publicKey(kid) {
      const now = clock.now()
      let k = (await load()).find((x) => x.rec.kid === kid)
      if (!k) {
        // A sibling node may have rotated since our last read.
        service.invalidate()
        k = (await load()).find((x) => x.rec.kid === kid)
      }
      if (!k || (k.rec.retireAt !== null && k.rec.retireAt <= now)) return undefined
      return k.publicKey
    },
    sign(kid, input) {
      return signer.sign(kid, input)
    },
    invalidate() {
      cache = undefined
    },
  }
  return service
}
