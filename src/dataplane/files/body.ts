import {
  BodyTooLargeError,
  type Received,
  StructuredMessageError,
  badHeader,
  contentLength,
  crc64Header,
  isStructuredBody,
  md5Header,
  missingHeader,
  storageError,
} from '../storage/index.ts'
import type { Ctx } from './context.ts'

/** Reads a small request body (XML, JSON) into a string; 413 RequestBodyTooLarge past `limit` bytes. */
export async function readSmallBody(c: Ctx, limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of c.req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw storageError('RequestBodyTooLarge', { detail: `body over ${limit} bytes` })
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Streams a range body into a new content file (all or nothing: a failed or short body leaves no file), checking
 * Content-Length against the range, Content-MD5, x-ms-content-crc64 and structured-message framing. The file is
 * removed when a check fails after the body arrived.
 */
export async function receiveRange(
  c: Ctx,
  q: { expected: number; max: number },
): Promise<{ got: Received; structured: boolean }> {
  const length = contentLength(c.r)
  const header = c.r.header('x-ms-structured-body')
  const structured = isStructuredBody(header)
  if (header !== undefined && !structured) throw badHeader('x-ms-structured-body', header)
  if (length === null) throw storageError('MissingContentLengthHeader')
  if (q.expected > q.max) throw storageError('RequestBodyTooLarge', { detail: `range of ${q.expected} bytes` })
  let content = length
  if (structured) {
    const v = c.r.header('x-ms-structured-content-length')
    if (v === undefined) throw missingHeader('x-ms-structured-content-length')
    if (!/^\d{1,15}$/.test(v)) throw badHeader('x-ms-structured-content-length', v)
    content = Number(v)
  }
  if (content !== q.expected)
    throw badHeader(structured ? 'x-ms-structured-content-length' : 'Content-Length', String(content), 'range length')
  const md5 = md5Header(c.r, 'content-md5')
  const crc = crc64Header(c.r, 'x-ms-content-crc64')
  let got: Received
  try {
    got = await c.rt.deps.content.receive(c.req, {
      length,
      max: q.max,
      md5: true,
      crc64: crc !== undefined,
      structured,
    })
  } catch (e) {
    if (e instanceof BodyTooLargeError) throw storageError('RequestBodyTooLarge', { detail: e.message })
    if (e instanceof StructuredMessageError)
      throw e.message.includes('CRC-64')
        ? storageError('Crc64Mismatch', { detail: e.message })
        : storageError('InvalidInput', { detail: `structured message: ${e.message}` })
    throw e
  }
  const drop = () => void c.rt.deps.content.remove([got.id])
  if (md5 && got.md5 && !md5.equals(got.md5)) {
    drop()
    throw storageError('Md5Mismatch', {
      details: [
        ['UserSpecifiedMd5', md5.toString('base64')],
        ['ServerCalculatedMd5', got.md5.toString('base64')],
      ],
    })
  }
  if (crc && got.crc64 && !crc.equals(got.crc64)) {
    drop()
    throw storageError('Crc64Mismatch', {
      details: [
        ['UserSpecifiedCrc64', crc.toString('base64')],
        ['ServerCalculatedCrc64', got.crc64.toString('base64')],
      ],
    })
  }
  if (got.size !== q.expected) {
    drop()
    throw badHeader('x-ms-structured-content-length', String(q.expected), `decoded ${got.size} bytes`)
  }
  return { got, structured }
}
