import { type FileHandle, open } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import type { Caller } from './auth.ts'
import type { ContentStore } from './content.ts'
import type { ContentProperties } from './ports.ts'
import { basicHeaders } from './render.ts'
import type { StorageCtx } from './service.ts'
import { STRUCTURED_BODY, StructuredEncoder, StructuredMessageError, structuredLength } from './structured.ts'

/** What a range of a blob or file is made of, in order: ranges of content files and runs of zeros (sparse files). */
export type Piece = { kind: 'data'; file: string; at: number; length: number } | { kind: 'zero'; length: number }

/** Files opened up front (up to this many) so a concurrent write cannot pull them away mid-response. */
const EAGER_OPEN = 256
const ZEROS = Buffer.alloc(256 * 1024)

/** Opens the content files of the first pieces (ENOENT when one is gone: the caller reads the row again). */
export async function openPieces(content: ContentStore, ps: readonly Piece[]): Promise<(FileHandle | undefined)[]> {
  const handles: (FileHandle | undefined)[] = []
  let opened = 0
  try {
    for (const p of ps) {
      if (p.kind === 'data' && opened < EAGER_OPEN) {
        handles.push(await open(content.path(p.file), 'r'))
        opened++
      } else handles.push(undefined)
    }
  } catch (e) {
    await Promise.all(handles.map((h) => h?.close()))
    throw e
  }
  return handles
}

/** The bytes of the pieces, streamed; every handle is closed at the end. */
export async function* readPieces(content: ContentStore, ps: readonly Piece[], handles: (FileHandle | undefined)[]) {
  try {
    for (const [i, p] of ps.entries()) {
      if (p.kind === 'zero') {
        for (let left = p.length; left > 0; left -= ZEROS.length) yield ZEROS.subarray(0, Math.min(left, ZEROS.length))
        continue
      }
      const h = handles[i] ?? (await open(content.path(p.file), 'r'))
      handles[i] = undefined
      yield* h.createReadStream({ start: p.at, end: p.at + p.length - 1, highWaterMark: 512 * 1024, autoClose: true })
    }
  } finally {
    await Promise.all(handles.map((h) => h?.close().catch(() => {})))
  }
}

/** The HTTP properties a download answers with, a SAS's `rsc*` overrides first. */
export function contentHeaders(caller: Caller, p: Omit<ContentProperties, 'contentMd5' | 'metadata'>) {
  const o = caller.kind === 'sas' ? caller.grant.overrides : {}
  return {
    'Content-Type': o.contentType ?? p.contentType ?? 'application/octet-stream',
    'Content-Encoding': o.contentEncoding ?? p.contentEncoding,
    'Content-Language': o.contentLanguage ?? p.contentLanguage,
    'Content-Disposition': o.contentDisposition ?? p.contentDisposition,
    'Cache-Control': o.cacheControl ?? p.cacheControl,
  }
}

/**
 * Streams a download: `length` bytes from the pieces (as a structured message when asked), after the headers. A
 * client that goes away or a file that vanishes mid-stream cuts the response short.
 */
export async function sendPieces(
  c: Pick<StorageCtx, 'rt' | 'res' | 'basics'>,
  status: number,
  headers: Record<string, string | number | undefined | null>,
  q: { pieces: readonly Piece[]; handles: (FileHandle | undefined)[]; length: number; structured: boolean },
): Promise<void> {
  const { content, clock, logger } = c.rt.deps
  const all: Record<string, string | number | undefined | null> = { ...headers }
  if (q.structured) {
    all['x-ms-structured-body'] = STRUCTURED_BODY
    all['x-ms-structured-content-length'] = q.length
  }
  all['Content-Length'] = q.structured ? structuredLength(q.length) : q.length
  const h: Record<string, string> = {}
  for (const [k, x] of Object.entries(all)) if (x !== undefined && x !== null) h[k] = String(x)
  c.res.writeHead(status, { ...basicHeaders({ ...c.basics, now: clock.now() }), ...h })
  try {
    const bytes = readPieces(content, q.pieces, q.handles)
    if (q.structured) await pipeline(bytes, new StructuredEncoder(q.length), c.res)
    else await pipeline(bytes, c.res)
  } catch (err) {
    if (!c.res.destroyed) c.res.destroy()
    if (err instanceof StructuredMessageError) logger.warn('structured download failed', { err })
  }
}
