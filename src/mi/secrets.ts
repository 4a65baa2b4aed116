import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Per-host secrets for the flavours that identify their caller by a header (App Service, Azure ML, Service Fabric):
 * `<host id, base64url>.<host creation time>.<HMAC-SHA256>`. Nothing to store, nothing a caller can forge, and a
 * re-created host (new creation time) gets a new secret.
 */
export interface HostSecrets {
  issue(q: { hostId: string; createdAt: number; flavour: string }): string
  /** The host id and creation time a secret was issued for, if it is genuine. */
  verify(secret: string, flavour: string): { hostId: string; createdAt: number } | null
}

export function createHostSecrets(key: Buffer): HostSecrets {
  const mac = (hostId: string, createdAt: number, flavour: string) =>
    createHmac('sha256', key).update(`azid-mi\u0000${flavour}\u0000${hostId.toLowerCase()}\u0000${createdAt}`).digest()
  return {
    issue({ hostId, createdAt, flavour }) {
      return `${Buffer.from(hostId).toString('base64url')}.${createdAt}.${mac(hostId, createdAt, flavour).toString('base64url')}`
    },
    verify(secret, flavour) {
      const parts = secret.trim().split('.')
      if (parts.length !== 3) return null
      const [h, c, m] = parts as [string, string, string]
      if (!/^\d{1,16}$/.test(c)) return null
      const hostId = Buffer.from(h, 'base64url').toString('utf8')
      const createdAt = Number(c)
      const expected = mac(hostId, createdAt, flavour)
      const given = Buffer.from(m, 'base64url')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
      return { hostId, createdAt }
    },
  }
}
