import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { test } from 'node:test'
import {
  StorageCRC64Calculator,
  structuredMessageDecodingStream,
  structuredMessageEncoding,
} from '@azure/storage-common'
import { StructuredDecoder, StructuredEncoder, StructuredMessageError, structuredLength } from './structured.ts'

const collect = async (s: NodeJS.ReadableStream): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks)
}

/** The SDK's encoding of `content` (what @azure/storage-blob uploads with contentChecksumAlgorithm StorageCrc64). */
async function sdkEncode(content: Buffer): Promise<Buffer> {
  await StorageCRC64Calculator.init()
  const { body, encodedContentLength } = await structuredMessageEncoding(content, content.length)
  const out = await collect(body as NodeJS.ReadableStream)
  assert.equal(out.length, encodedContentLength)
  return out
}

async function decode(encoded: Buffer, chunk = 1000): Promise<Buffer> {
  const parts: Buffer[] = []
  for (let i = 0; i < encoded.length; i += chunk) parts.push(encoded.subarray(i, i + chunk))
  const d = new StructuredDecoder()
  const out: Buffer[] = []
  d.on('data', (b: Buffer) => out.push(b))
  await pipeline(Readable.from(parts), d)
  return Buffer.concat(out)
}

test('decodes what the SDK encodes (one and several 4 MiB segments)', async () => {
  // (The SDK's encoder never finishes an empty body; empty messages are covered by the round trip below.)
  for (const n of [1, 5000, 4 * 1024 * 1024 + 3]) {
    const content = Buffer.alloc(n, n % 251)
    const encoded = await sdkEncode(content)
    assert.equal(encoded.length, structuredLength(n))
    assert.deepEqual(await decode(encoded, 777), content, `length ${n}`)
  }
})

test('refuses a flipped content byte, a flipped CRC and a truncated message', async () => {
  const encoded = await sdkEncode(Buffer.from('structured message content'))
  const flip = (i: number) => {
    const b = Buffer.from(encoded)
    b[i] = (b[i] as number) ^ 1
    return b
  }
  await assert.rejects(
    decode(flip(13 + 10 + 2)),
    (e: unknown) => e instanceof StructuredMessageError && /CRC-64 mismatch in segment 1/.test(e.message),
  )
  await assert.rejects(
    decode(flip(encoded.length - 1)),
    (e: unknown) => e instanceof StructuredMessageError && /of the message/.test(e.message),
  )
  await assert.rejects(decode(encoded.subarray(0, encoded.length - 3)), StructuredMessageError)
})

test('the SDK decodes what azid encodes for downloads', async () => {
  await StorageCRC64Calculator.init()
  for (const n of [0, 10, 4 * 1024 * 1024 + 10]) {
    const content = Buffer.alloc(n, 7)
    const enc = new StructuredEncoder(n)
    const framed = collect(enc)
    enc.end(content)
    const bytes = await framed
    assert.equal(bytes.length, structuredLength(n))
    const decoded = await collect(structuredMessageDecodingStream(Readable.from([bytes]), {}))
    assert.deepEqual(decoded, content, `length ${n}`)
    assert.deepEqual(await decode(bytes), content, `round trip of length ${n}`)
  }
})
