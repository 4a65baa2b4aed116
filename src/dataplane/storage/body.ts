import type { IncomingMessage } from 'node:http'
import { BodyTooLargeError, type ContentStore, type Received } from './content.ts'
import { badHeader, missingHeader, storageError } from './errors.ts'
import { type StorageRequest, crc64Header, md5Header } from './http.ts'
import { StructuredMessageError, isStructuredBody } from './structured.ts'
import { type XmlElement, XmlSyntaxError, parseXml } from './xml.ts'

/** Reads a small request body (XML, JSON) into a string; 413 RequestBodyTooLarge past `limit` bytes. */
export async function readSmallBody(c: { req: IncomingMessage }, limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of c.req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw storageError('RequestBodyTooLarge', { detail: `body over ${limit} bytes` })
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Whether an upload is a structured message (`x-ms-structured-body`; InvalidHeaderValue for an unknown kind). */
export function structuredUpload(r: StorageRequest): boolean {
  const header = r.header('x-ms-structured-body')
  const structured = isStructuredBody(header)
  if (header !== undefined && !structured) throw badHeader('x-ms-structured-body', header)
  return structured
}

/** `x-ms-structured-content-length` of a structured upload: the size its content must decode to. */
export function structuredContentLength(r: StorageRequest): number {
  const v = r.header('x-ms-structured-content-length')
  if (v === undefined) throw missingHeader('x-ms-structured-content-length')
  if (!/^\d{1,15}$/.test(v)) throw badHeader('x-ms-structured-content-length', v)
  return Number(v)
}

/** Md5Mismatch / Crc64Mismatch naming both values, as Azure does. */
export function checksumMismatch(code: 'Md5Mismatch' | 'Crc64Mismatch', user: Buffer, server: Buffer) {
  const kind = code === 'Md5Mismatch' ? 'Md5' : 'Crc64'
  return storageError(code, {
    details: [
      [`UserSpecified${kind}`, user.toString('base64')],
      [`ServerCalculated${kind}`, server.toString('base64')],
    ],
  })
}

/**
 * Streams the request body into a new content file (all or nothing: a failed or short body leaves no file) and
 * checks it against `Content-MD5`, `x-ms-content-crc64` and, when given, the size the content must have (the decoded
 * size of a structured message). The file is removed when a check fails after the body arrived.
 */
export async function receiveChecked(
  c: { r: StorageRequest; req: IncomingMessage; rt: { deps: { content: ContentStore } } },
  q: {
    /** Content-Length, or null for a chunked body. */
    length: number | null
    max: number
    /** Compute the MD5 even when the client sent none. */
    md5: boolean
    structured: boolean
    expectedSize?: number
  },
): Promise<Received> {
  const content = c.rt.deps.content
  const md5 = md5Header(c.r, 'content-md5')
  const crc = crc64Header(c.r, 'x-ms-content-crc64')
  let got: Received
  try {
    got = await content.receive(c.req, {
      length: q.length,
      max: q.max,
      md5: q.md5 || md5 !== undefined,
      crc64: crc !== undefined,
      structured: q.structured,
    })
  } catch (e) {
    if (e instanceof BodyTooLargeError) throw storageError('RequestBodyTooLarge', { detail: e.message })
    if (e instanceof StructuredMessageError)
      throw e.message.includes('CRC-64')
        ? storageError('Crc64Mismatch', { detail: e.message })
        : storageError('InvalidInput', { detail: `structured message: ${e.message}` })
    throw e
  }
  const drop = () => void content.remove([got.id])
  if (md5 && got.md5 && !md5.equals(got.md5)) {
    drop()
    throw checksumMismatch('Md5Mismatch', md5, got.md5)
  }
  if (crc && got.crc64 && !crc.equals(got.crc64)) {
    drop()
    throw checksumMismatch('Crc64Mismatch', crc, got.crc64)
  }
  if (q.expectedSize !== undefined && got.size !== q.expectedSize) {
    drop()
    throw badHeader('x-ms-structured-content-length', String(q.expectedSize), `decoded ${got.size} bytes`)
  }
  return got
}

/** An XML request body parsed; InvalidXmlDocument with the line, column and reason when it is not XML. */
export function parseXmlBody(body: string): XmlElement {
  try {
    return parseXml(body)
  } catch (e) {
    if (e instanceof XmlSyntaxError)
      throw storageError('InvalidXmlDocument', {
        details: [
          ['LineNumber', String(e.line)],
          ['LinePosition', String(e.column)],
          ['Reason', e.message],
        ],
      })
    throw e
  }
}
