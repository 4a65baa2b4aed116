import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { StorageCRC64Calculator } from '@azure/storage-common'
import { Crc64, crc64 } from './crc64.ts'

/** Deterministic bytes (a SHA-256 chain), so failures reproduce. */
function bytes(n: number, seed = 'crc'): Buffer {
  const out = Buffer.alloc(n)
  let h = createHash('sha256').update(seed).digest()
  for (let o = 0; o < n; o += h.length) {
    h.copy(out, o)
    h = createHash('sha256').update(h).digest()
  }
  return out
}

test("Azure's vectors (azure-sdk-for-cpp Crc64Hash_Basic): empty and 'Hello Azure!'", () => {
  assert.equal(crc64(Buffer.alloc(0)).toString('base64'), 'AAAAAAAAAAA=')
  assert.equal(crc64(Buffer.from('Hello Azure!')).toString('base64'), 'DtjZpL9/o8c=')
})

test("matches @azure/storage-common's own CRC-64 (the SDK's WebAssembly) on lengths around the 8-byte stride", async () => {
  await StorageCRC64Calculator.init()
  for (const n of [1, 7, 8, 9, 15, 16, 17, 255, 4096, 65_537, 1_000_003]) {
    const d = bytes(n, `len-${n}`)
    const sdk = Buffer.from(new StorageCRC64Calculator().final(d, d.length))
    assert.deepEqual(crc64(d), sdk, `length ${n}`)
  }
})

test('streaming in uneven pieces (unaligned views included) equals one pass', () => {
  const d = bytes(200_001)
  const whole = crc64(d)
  const h = new Crc64()
  let o = 0
  for (const step of [1, 3, 8, 13, 4096, 7, 65_536]) {
    h.update(d.subarray(o, o + step))
    o += step
  }
  h.update(d.subarray(o))
  assert.deepEqual(h.digest(), whole)
  assert.notDeepEqual(crc64(bytes(100, 'a')), crc64(bytes(100, 'b')))
})
