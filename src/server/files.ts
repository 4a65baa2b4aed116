import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** Writes a file readable only by its owner, atomically. */
export function writePrivateFile(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, content, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
}

/** Reads a secret file, creating it with `make()` when absent. */
export function readOrCreateSecret(path: string, make: () => string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim()
  const v = make()
  writePrivateFile(path, `${v}\n`)
  return v
}

/** 32-byte key from base64 or hex text. */
export function decodeKey(text: string, what: string): Buffer {
  const t = text.trim()
  const buf = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64')
  if (buf.length !== 32) throw new Error(`${what}: expected 32 bytes as base64 or hex, got ${buf.length} bytes`)
  return buf
}
