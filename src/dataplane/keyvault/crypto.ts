import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto'
import type { Ids } from '../../kernel/ids.ts'

const ALG = 'aes-256-gcm'
const IV = 12
const TAG = 16
/** Backup blobs start with these bytes (then iv | tag | ciphertext), so a foreign blob is recognised early. */
const BACKUP_MAGIC = Buffer.from('AZKV1', 'ascii')

/** AES-256-GCM: base64 of iv | tag | ciphertext, authenticated together with `aad`. */
function seal(key: Buffer, plain: Buffer, aad: string, iv: Buffer): Buffer {
  const c = createCipheriv(ALG, key, iv)
  c.setAAD(Buffer.from(aad, 'utf8'))
  const ct = Buffer.concat([c.update(plain), c.final()])
  return Buffer.concat([iv, c.getAuthTag(), ct])
}

/** Throws when the data or its aad were changed, or another key sealed it. */
function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV + TAG) throw new Error('sealed data too short')
  const d = createDecipheriv(ALG, key, sealed.subarray(0, IV))
  d.setAAD(Buffer.from(aad, 'utf8'))
  d.setAuthTag(sealed.subarray(IV, IV + TAG))
  return Buffer.concat([d.update(sealed.subarray(IV + TAG)), d.final()])
}

export interface SecretCrypto {
  /** Encrypts a value bound to its place (vault, name, version): a row copied elsewhere does not decrypt. */
  encryptValue(value: string, where: { vault: string; name: string; version: string }): string
  decryptValue(enc: string, where: { vault: string; name: string; version: string }): string
  /** An opaque, authenticated backup blob (bytes) only this azid (the same key-encryption key) can open. */
  sealBackup(payload: unknown): Buffer
  /** The payload, or undefined when the blob is not one of ours or was altered. */
  openBackup(blob: Buffer): unknown
}

/**
 * Keys derived from azid's key-encryption key (HKDF-SHA256, one label per use), so secret values and backups never
 * share a key with the signing keys the same KEK protects.
 */
export function createSecretCrypto(deps: { kek: Buffer; ids: Ids }): SecretCrypto {
  if (deps.kek.length !== 32) throw new TypeError('the key-encryption key must be 32 bytes')
  const derive = (label: string) => Buffer.from(hkdfSync('sha256', deps.kek, Buffer.alloc(0), label, 32))
  const valueKey = derive('azid/keyvault/secret-values/v1')
  const backupKey = derive('azid/keyvault/backups/v1')
  const aadOf = (w: { vault: string; name: string; version: string }) =>
    `${w.vault.toLowerCase()}\u0000${w.name.toLowerCase()}\u0000${w.version}`
  return {
    encryptValue: (value, where) =>
      seal(valueKey, Buffer.from(value, 'utf8'), aadOf(where), deps.ids.bytes(IV)).toString('base64'),
    decryptValue: (enc, where) => open(valueKey, Buffer.from(enc, 'base64'), aadOf(where)).toString('utf8'),
    sealBackup(payload) {
      const plain = Buffer.from(JSON.stringify(payload), 'utf8')
      return Buffer.concat([BACKUP_MAGIC, seal(backupKey, plain, 'azid-keyvault-backup', deps.ids.bytes(IV))])
    },
    openBackup(blob) {
      if (blob.length <= BACKUP_MAGIC.length || !blob.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC))
        return undefined
      try {
        return JSON.parse(open(backupKey, blob.subarray(BACKUP_MAGIC.length), 'azid-keyvault-backup').toString('utf8'))
      } catch {
        return undefined
      }
    },
  }
}
