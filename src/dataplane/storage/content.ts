import { createHash, type Hash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { copyFile, link, mkdir, open, readdir, stat, unlink, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { type Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Ids } from '../../kernel/ids.ts'
import { Crc64 } from './crc64.ts'
import { StructuredDecoder, StructuredMessageError } from './structured.ts'

/**
 * Content of a storage service on disk: one immutable file per stored piece (a block, a blob written in one
 * request, a file range), named by a random id under `<root>/<xx>/<id>`. The database row that names a file is the
 * commit point: a file no row names is garbage, removed by `sweep` once it is older than a grace period (an upload in
 * flight writes to a file no row names yet). Copies are hard links, so content is never copied twice.
 */

export class BodyTooLargeError extends Error {
  readonly limit: number
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`)
    this.limit = limit
    this.name = 'BodyTooLargeError'
  }
}

/** The client went away (or sent fewer bytes than announced) before the body ended. */
export class BodyIncompleteError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BodyIncompleteError'
  }
}

export interface ReceiveOptions {
  /** Content-Length of the request (the encoded length for structured bodies); null when absent. */
  length: number | null
  /** Most content bytes accepted. */
  max: number
  md5?: boolean
  crc64?: boolean
  /** The body is a structured message (CRC-64 framed); the file receives the decoded content. */
  structured?: boolean
}

export interface Received {
  id: string
  size: number
  md5?: Buffer
  crc64?: Buffer
}

/** Counts, limits and hashes the bytes on their way to the file. */
class Meter extends Transform {
  size = 0
  private readonly md5: Hash | undefined
  private readonly crc: Crc64 | undefined
  private readonly max: number
  constructor(max: number, q: { md5: boolean; crc64: boolean }) {
    super()
    this.max = max
    this.md5 = q.md5 ? createHash('md5') : undefined
    this.crc = q.crc64 ? new Crc64() : undefined
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length
    if (this.size > this.max) {
      cb(new BodyTooLargeError(this.max))
      return
    }
    this.md5?.update(chunk)
    this.crc?.update(chunk)
    cb(null, chunk)
  }
  digests(): { md5?: Buffer; crc64?: Buffer } {
    return {
      ...(this.md5 ? { md5: this.md5.digest() } : {}),
      ...(this.crc ? { crc64: this.crc.digest() } : {}),
    }
  }
}

export interface ContentStore {
  readonly root: string
  path(id: string): string
  /**
   * Streams a request body into a new file, hashing on the way. Rejects with BodyTooLargeError,
   * BodyIncompleteError, StructuredMessageError or an I/O error; the file is removed then.
   */
  receive(source: Readable, q: ReceiveOptions): Promise<Received>
  /** Writes a buffer as a new file (small bodies assembled in memory). */
  write(data: Buffer): Promise<Received>
  /** A new file with the same content (a hard link when the filesystem allows). */
  duplicate(id: string): Promise<string>
  /** A new file with `length` bytes of `sources` (ranges of existing files), in order. */
  compose(sources: readonly { id: string; start: number; length: number }[]): Promise<Received>
  read(id: string, q?: { start?: number; end?: number; highWaterMark?: number }): Readable
  remove(ids: Iterable<string>): Promise<void>
  /**
   * Removes files no row names (`referenced`, asked after the directory is listed) that are older than `graceMs`.
   * Returns how many went.
   */
  sweep(q: { referenced: () => Promise<Set<string>>; now: number; graceMs: number }): Promise<number>
}

export function createContentStore(deps: {
  root: string
  ids: Ids
  /** Current time (ms), for file times. */
  now: () => number
  fsync: boolean
}): ContentStore {
  const root = deps.root
  const newId = () => deps.ids.bytes(16).toString('hex')
  const path = (id: string) => {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`not a content id: ${id}`)
    return join(root, id.slice(0, 2), id)
  }
  const made = new Set<string>()
  const dirFor = async (id: string) => {
    const d = join(root, id.slice(0, 2))
    if (!made.has(d)) {
      await mkdir(d, { recursive: true, mode: 0o700 })
      made.add(d)
    }
  }
  const sync = async (p: string) => {
    if (!deps.fsync) return
    const h = await open(p, 'r')
    try {
      await h.datasync()
    } finally {
      await h.close()
    }
  }
  const removeQuietly = (p: string) => unlink(p).catch(() => {})

  const store: ContentStore = {
    root,
    path,
    async receive(source, q) {
      const id = newId()
      await dirFor(id)
      const p = path(id)
      const meter = new Meter(q.max, { md5: q.md5 ?? false, crc64: q.crc64 ?? false })
      const decoder = q.structured ? new StructuredDecoder() : undefined
      let wire = 0
      const counter = new Transform({
        transform(chunk: Buffer, _e, cb) {
          wire += chunk.length
          // Structured bodies are limited on their framed length as well (framing is < 0.1 % of the content).
          if (q.structured && wire > q.max + 1024 * 1024) {
            cb(new BodyTooLargeError(q.max))
            return
          }
          cb(null, chunk)
        },
      })
      let aborted = false
      const onAborted = () => {
        aborted = true
      }
      source.once('aborted', onAborted)
      try {
        const out = createWriteStream(p, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 })
        if (decoder) await pipeline(source, counter, decoder, meter, out)
        else await pipeline(source, counter, meter, out)
        if (aborted) throw new BodyIncompleteError('the client closed the connection')
        if (q.length !== null && wire !== q.length)
          throw new BodyIncompleteError(`received ${wire} of ${q.length} announced bytes`)
        await sync(p)
        return { id, size: meter.size, ...meter.digests() }
      } catch (e) {
        await removeQuietly(p)
        if (e instanceof BodyTooLargeError || e instanceof StructuredMessageError || e instanceof BodyIncompleteError)
          throw e
        if (aborted || (e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as Error).name === 'AbortError')
          throw new BodyIncompleteError('the client closed the connection')
        if ((e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE')
          throw new BodyIncompleteError('the request ended early')
        throw e
      } finally {
        source.off('aborted', onAborted)
      }
    },
    async write(data) {
      const id = newId()
      await dirFor(id)
      const p = path(id)
      const h = await open(p, 'wx', 0o600)
      try {
        await h.writeFile(data)
        if (deps.fsync) await h.datasync()
      } catch (e) {
        await h.close()
        await removeQuietly(p)
        throw e
      }
      await h.close()
      return { id, size: data.length }
    },
    async duplicate(id) {
      const to = newId()
      await dirFor(to)
      try {
        await link(path(id), path(to))
        // A link shares the source's (old) mtime; make it young so sweep spares it until its row is committed.
        const t = deps.now() / 1000
        await utimes(path(to), t, t)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw e
        await copyFile(path(id), path(to))
        await sync(path(to))
      }
      return to
    },
    async compose(sources) {
      const id = newId()
      await dirFor(id)
      const p = path(id)
      let size = 0
      try {
        const out = createWriteStream(p, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 })
        await pipeline(async function* () {
          for (const s of sources) {
            if (s.length === 0) continue
            size += s.length
            yield* createReadStream(path(s.id), {
              start: s.start,
              end: s.start + s.length - 1,
              highWaterMark: 1024 * 1024,
            })
          }
        }, out)
        await sync(p)
        return { id, size }
      } catch (e) {
        await removeQuietly(p)
        throw e
      }
    },
    read(id, q = {}) {
      return createReadStream(path(id), {
        ...(q.start !== undefined ? { start: q.start } : {}),
        ...(q.end !== undefined ? { end: q.end } : {}),
        highWaterMark: q.highWaterMark ?? 512 * 1024,
      })
    },
    async remove(ids) {
      await Promise.all([...ids].map((id) => removeQuietly(path(id))))
    },
    async sweep(q) {
      let dirs: string[]
      try {
        dirs = await readdir(root)
      } catch {
        return 0
      }
      // Names first, then the rows: a file committed meanwhile is seen as referenced.
      const found: string[] = []
      for (const d of dirs) {
        if (!/^[0-9a-f]{2}$/.test(d)) continue
        for (const n of await readdir(join(root, d)).catch(() => [] as string[]))
          if (/^[0-9a-f]{32}$/.test(n)) found.push(n)
      }
      if (found.length === 0) return 0
      const keep = await q.referenced()
      let removed = 0
      for (const n of found) {
        if (keep.has(n)) continue
        const p = path(n)
        const st = await stat(p).catch(() => undefined)
        if (!st || q.now - st.mtimeMs < q.graceMs) continue
        await removeQuietly(p)
        removed++
      }
      return removed
    },
  }
  return store
}
