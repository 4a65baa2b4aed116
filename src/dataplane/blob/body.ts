import { storageError } from '../storage/index.ts'
import type { Ctx } from './context.ts'

/** Reads a small request body (XML) into a string; 413 RequestBodyTooLarge past `limit` bytes. */
export async function readSmallBody(c: Ctx, limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of c.req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw storageError('RequestBodyTooLarge', { detail: `XML body over ${limit} bytes` })
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
