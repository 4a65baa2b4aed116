import { hash, scryptSync, timingSafeEqual } from 'node:crypto'

/**
 * Hash of a high-entropy secret (client secrets, device codes, refresh tokens): salted SHA-256.
 * These secrets carry ≥ 128 bits of randomness, so a slow KDF adds nothing but latency.
 */
export function hashSecret(secret: string, salt: string): string {
  // One-shot hash(): no Hash object per call (this runs on every token request).
  return hash('sha256', `${salt}\u0000${secret}`, 'base64url')
}

/**
 * Whether `secret` hashes (with `salt`) to `storedHash` (a `hashSecret` result), in constant time: one SHA-256 and a
 * comparison of the two 32-byte digests (both lengths are public).
 */
export function secretMatches(secret: string, salt: string, storedHash: string): boolean {
  const given = hash('sha256', `${salt}\u0000${secret}`, 'buffer')
  const stored = Buffer.from(storedHash, 'base64url')
  return stored.length === given.length && timingSafeEqual(given, stored)
}

/** Constant-time comparison of two strings of any length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = hash('sha256', a, 'buffer')
  const hb = hash('sha256', b, 'buffer')
  return timingSafeEqual(ha, hb) && a.length === b.length
}

/** Password hashing for directory users (low entropy): scrypt. Format `scrypt$N$salt$hash`. */
export function hashPassword(password: string, salt: Buffer): string {
  const h = scryptSync(password, salt, 32, { N: 16384, r: 8, p: 1 })
  return `scrypt$16384$${salt.toString('base64url')}$${h.toString('base64url')}`
}

export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, n, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !n || !salt || !hash) return false
  const h = scryptSync(password, Buffer.from(salt, 'base64url'), 32, { N: Number(n), r: 8, p: 1 })
  const expected = Buffer.from(hash, 'base64url')
  return expected.length === h.length && timingSafeEqual(h, expected)
}

/** Shows only enough of a token or secret to recognise it in a log line. */
export function redactToken(t: string): string {
  if (t.length <= 12) return '***'
  return `${t.slice(0, 6)}…${t.slice(-4)} (${t.length} chars)`
}
