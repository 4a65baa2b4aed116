import {
  type Received,
  badHeader,
  contentLength,
  receiveChecked,
  storageError,
  structuredContentLength,
  structuredUpload,
} from '../storage/index.ts'
import type { Ctx } from './context.ts'

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
  const structured = structuredUpload(c.r)
  if (length === null) throw storageError('MissingContentLengthHeader')
  if (q.expected > q.max) throw storageError('RequestBodyTooLarge', { detail: `range of ${q.expected} bytes` })
  const content = structured ? structuredContentLength(c.r) : length
  if (content !== q.expected)
    throw badHeader(structured ? 'x-ms-structured-content-length' : 'Content-Length', String(content), 'range length')
  const got = await receiveChecked(c, { length, max: q.max, md5: true, structured, expectedSize: q.expected })
  return { got, structured }
}
