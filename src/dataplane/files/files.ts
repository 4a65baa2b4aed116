import { createHash } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import {
  Crc64,
  STRUCTURED_BODY,
  badHeader,
  checkConditions,
  contentHeaders,
  isStructuredBody,
  isoTime7,
  lastModified,
  md5Header,
  missingHeader,
  notImplemented,
  openPieces,
  parseRange,
  readPieces,
  release,
  reply,
  sendPieces,
  storageError,
  validators,
} from '../storage/index.ts'
import { receiveRange } from './body.ts'
import type { Ctx } from './context.ts'
import {
  applySmb,
  entryHeaders,
  findEntry,
  isReadOnly,
  keyOf,
  metadataHeaders,
  newEntry,
  notFound,
  parentDirectory,
  parseMetadata,
  permissionFor,
  updateEntry,
} from './entries.ts'
import { fileError } from './errors.ts'
import { clearRange, filesOf, pieces, truncate, writeExtent, writtenRanges } from './extents.ts'
import type { FileEntry } from './ports.ts'
import { shareOr404 } from './shares.ts'
import type { FilePath } from './smb.ts'
import { rangesXml } from './wire.ts'

/** Largest file Azure Files allows (4 TiB). */
export const MAX_FILE_SIZE = 4 * 1024 ** 4
/** Largest Put Range (4 MiB) and largest range a checksum is computed for on reads. */
export const MAX_RANGE = 4 * 1024 * 1024

const pathOf = (c: Ctx): FilePath => c.path as FilePath

const lengthHeader = (c: Ctx, name: string, required: boolean): number | undefined => {
  const v = c.r.header(name)
  if (v === undefined) {
    if (required) throw missingHeader(name)
    return undefined
  }
  if (!/^\d{1,15}$/.test(v) || Number(v) > MAX_FILE_SIZE) throw badHeader(name, v)
  return Number(v)
}

/** HTTP properties from `x-ms-content-*` / `x-ms-cache-control` (Set File Properties clears those not given). */
function httpProperties(c: Ctx) {
  const h = (n: string) => c.r.header(n) ?? null
  const md5 = md5Header(c.r, 'x-ms-content-md5')
  return {
    contentType: h('x-ms-content-type'),
    contentEncoding: h('x-ms-content-encoding'),
    contentLanguage: h('x-ms-content-language'),
    contentDisposition: h('x-ms-content-disposition'),
    cacheControl: h('x-ms-cache-control'),
    contentMd5: md5?.toString('base64') ?? null,
  }
}

/** Headers and features azid does not implement on file writes; each is refused, never ignored. */
function refuseUnsupported(c: Ctx): void {
  for (const h of ['x-ms-lease-id', 'x-ms-mode', 'x-ms-owner', 'x-ms-group', 'x-ms-file-file-type', 'x-ms-file-mode'])
    if (c.r.header(h) !== undefined) throw notImplemented(`the ${h} header`)
}

/** The file at the request's path; ResourceNotFound (or ShareNotFound) when there is none or it is a directory. */
async function fileOr404(c: Ctx): Promise<FileEntry> {
  const e = await findEntry(c, pathOf(c))
  if (e?.kind !== 'file') return notFound(c)
  return e
}

export async function createFile(c: Ctx): Promise<void> {
  refuseUnsupported(c)
  const type = c.r.header('x-ms-type')
  if (type === undefined) throw missingHeader('x-ms-type')
  if (type.toLowerCase() !== 'file') throw badHeader('x-ms-type', type)
  const size = lengthHeader(c, 'x-ms-content-length', true) as number
  const p = pathOf(c)
  const metadata = parseMetadata(c.req)
  const props = httpProperties(c)
  const share = await shareOr404(c)
  const permissionKey = (await permissionFor(c, { create: true })) as string
  const out = await c.rt.deps.store.transaction(async (tx) => {
    const parent = await parentDirectory(c, tx, p, share)
    const existing = await tx.getEntry(keyOf(c, p), { forUpdate: true })
    if (existing?.kind === 'directory') throw fileError('ResourceTypeMismatch')
    checkConditions(c.r, validators(existing), { read: false })
    if (existing && isReadOnly(existing)) throw fileError('ReadOnlyAttribute')
    const e = {
      ...newEntry(c, { p, kind: 'file', parent, now: c.rt.deps.clock.now(), permissionKey, metadata, size }),
      ...props,
    }
    await tx.putEntry(e)
    return { e, released: existing ? filesOf(existing.extents) : [] }
  })
  release(c.rt, out.released, [])
  reply(c, 201, { ...entryHeaders(out.e), 'x-ms-request-server-encrypted': 'true' })
}

/** The range of a Put Range: `x-ms-range` (or `Range`), `bytes=start-end`, both ends given. */
function writeRange(c: Ctx): { start: number; end: number } {
  const xms = c.r.header('x-ms-range')
  const v = xms ?? c.r.header('range')
  const name = xms !== undefined ? 'x-ms-range' : 'Range'
  if (v === undefined) throw missingHeader('x-ms-range')
  const m = /^bytes=(\d{1,15})-(\d{1,15})$/.exec(v.trim())
  if (!m || Number(m[2]) < Number(m[1])) throw badHeader(name, v)
  return { start: Number(m[1]), end: Number(m[2]) }
}

/**
 * Put Range, `x-ms-write: update` (the body, ≤ 4 MiB, replaces the range; all or nothing) or `clear` (the range reads
 * as zeros). The range must lie within the file (416 InvalidRange otherwise: resize first, as in Azure).
 */
export async function putRange(c: Ctx): Promise<void> {
  refuseUnsupported(c)
  const mode = c.r.header('x-ms-write')
  if (mode === undefined) throw missingHeader('x-ms-write')
  if (mode !== 'update' && mode !== 'clear') throw badHeader('x-ms-write', mode)
  const { start, end } = writeRange(c)
  const length = end - start + 1
  const lastWrite = c.r.header('x-ms-file-last-write-time')
  if (lastWrite !== undefined && !/^(now|preserve)$/i.test(lastWrite))
    throw badHeader('x-ms-file-last-write-time', lastWrite)
  const keepLastWrite = lastWrite?.toLowerCase() === 'preserve'
  const before = await fileOr404(c)
  const outside = () =>
    storageError('InvalidRange', {
      headers: { 'Content-Range': `bytes */${before.size}` },
      detail: `range ${start}-${end}`,
    })
  if (end >= before.size) throw outside()
  if (isReadOnly(before)) throw fileError('ReadOnlyAttribute')
  checkConditions(c.r, validators(before), { read: false })
  if (mode === 'clear') {
    const cl = c.r.header('content-length')
    if (cl !== undefined && cl !== '0') throw badHeader('Content-Length', cl, 'clear with a body')
    const { before: b, after } = await updateEntry(c, pathOf(c), 'file', (e, now) => {
      if (end >= e.size) throw outside()
      return touch(e, now, keepLastWrite, { extents: clearRange(e.extents, start, end) })
    })
    release(c.rt, filesOf(b.extents), filesOf(after.extents))
    return reply(c, 201, {
      ETag: after.etag,
      'Last-Modified': lastModified(after.modifiedAt),
      'x-ms-request-server-encrypted': 'true',
      'x-ms-file-last-write-time': after.lastWriteTime,
    })
  }
  const { got, structured } = await receiveRange(c, { expected: length, max: MAX_RANGE })
  let result: { before: FileEntry; after: FileEntry }
  try {
    result = await updateEntry(c, pathOf(c), 'file', (e, now) => {
      if (end >= e.size) throw outside()
      if (isReadOnly(e)) throw fileError('ReadOnlyAttribute')
      return touch(e, now, keepLastWrite, {
        extents: writeExtent(e.extents, { offset: start, length, file: got.id, at: 0 }),
      })
    })
  } catch (e) {
    void c.rt.deps.content.remove([got.id])
    throw e
  }
  release(c.rt, filesOf(result.before.extents), filesOf(result.after.extents))
  reply(c, 201, {
    ETag: result.after.etag,
    'Last-Modified': lastModified(result.after.modifiedAt),
    'Content-MD5': got.md5?.toString('base64'),
    'x-ms-content-crc64': got.crc64?.toString('base64'),
    'x-ms-request-server-encrypted': 'true',
    'x-ms-file-last-write-time': result.after.lastWriteTime,
    'x-ms-structured-body': structured ? STRUCTURED_BODY : undefined,
  })
}

/** A content change: the last write and change times move to now (unless the client preserves the former). */
function touch(e: FileEntry, now: number, keepLastWrite: boolean, change: Partial<FileEntry>): FileEntry {
  const t = isoTime7(now)
  return { ...e, ...change, lastWriteTime: keepLastWrite ? e.lastWriteTime : t, changeTime: t }
}

const fileHeaders = (e: FileEntry) => ({
  ...entryHeaders(e),
  ...metadataHeaders(e.metadata),
  'Content-Type': e.contentType ?? 'application/octet-stream',
  'Content-Encoding': e.contentEncoding,
  'Content-Language': e.contentLanguage,
  'Content-Disposition': e.contentDisposition,
  'Cache-Control': e.cacheControl,
  'Accept-Ranges': 'bytes',
  'x-ms-type': 'File',
  'x-ms-server-encrypted': 'true',
  'x-ms-lease-status': 'unlocked',
  'x-ms-lease-state': 'available',
})

/** Get File and Get File Properties: ranges, conditional reads, SAS header overrides, range MD5, structured bodies. */
export async function getFile(c: Ctx): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const e = await fileOr404(c)
    const v = checkConditions(c.r, validators(e), { read: true })
    if (v === 304) return reply(c, 304, { ETag: e.etag })
    const headers: Record<string, string | number | undefined | null> = {
      ...fileHeaders(e),
      ...contentHeaders(c.caller, e),
    }
    if (c.r.method === 'HEAD' || c.r.query.get('comp') === 'metadata') {
      if (c.r.query.get('comp') === 'metadata')
        return reply(c, 200, {
          ETag: e.etag,
          'Last-Modified': headers['Last-Modified'],
          ...metadataHeaders(e.metadata),
        })
      return reply(c, 200, { ...headers, 'Content-Length': e.size, 'Content-MD5': e.contentMd5 })
    }
    const range = parseRange(c.r, e.size)
    const start = range?.start ?? 0
    const end = range ? range.end : e.size - 1
    const length = e.size === 0 ? 0 : end - start + 1
    const ps = length === 0 ? [] : pieces(e.extents, start, end)
    const wantMd5 = c.r.header('x-ms-range-get-content-md5')?.toLowerCase() === 'true'
    const wantCrc = c.r.header('x-ms-range-get-content-crc64')?.toLowerCase() === 'true'
    if (wantMd5 && wantCrc) throw badHeader('x-ms-range-get-content-crc64', 'true', 'with x-ms-range-get-content-md5')
    if ((wantMd5 || wantCrc) && !range) throw missingHeader('x-ms-range')
    if ((wantMd5 || wantCrc) && length > MAX_RANGE)
      throw storageError('OutOfRangeInput', { detail: 'range checksum over 4 MiB' })
    const structuredHeader = c.r.header('x-ms-structured-body')
    const structured = isStructuredBody(structuredHeader)
    if (structuredHeader !== undefined && !structured) throw badHeader('x-ms-structured-body', structuredHeader)
    headers['Content-MD5'] = range ? undefined : e.contentMd5
    if (range) {
      headers['Content-Range'] = `bytes ${start}-${end}/${e.size}`
      headers['x-ms-content-md5'] = e.contentMd5
    }
    const status = range ? 206 : 200
    let handles: (FileHandle | undefined)[]
    try {
      handles = await openPieces(c.rt.deps.content, ps)
    } catch (err) {
      // Rewritten between the read of its row and the open of its content: read the row again.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) continue
      throw err
    }
    if (wantMd5 || wantCrc) {
      const chunks: Buffer[] = []
      for await (const chunk of readPieces(c.rt.deps.content, ps, handles)) chunks.push(chunk as Buffer)
      const data = Buffer.concat(chunks)
      if (wantMd5) headers['Content-MD5'] = createHash('md5').update(data).digest('base64')
      else headers['x-ms-content-crc64'] = new Crc64().update(data).digest().toString('base64')
      return reply(c, status, headers, data)
    }
    return sendPieces(c, status, headers, { pieces: ps, handles, length, structured })
  }
}

export async function deleteFile(c: Ctx): Promise<void> {
  refuseUnsupported(c)
  await shareOr404(c)
  const p = pathOf(c)
  const files = await c.rt.deps.store.transaction(async (tx) => {
    const e = await tx.getEntry(keyOf(c, p), { forUpdate: true })
    if (!e) return undefined
    if (e.kind !== 'file') throw fileError('ResourceTypeMismatch')
    checkConditions(c.r, validators(e), { read: false })
    if (isReadOnly(e)) throw fileError('ReadOnlyAttribute')
    await tx.deleteEntry(keyOf(c, p))
    return filesOf(e.extents)
  })
  if (files === undefined) throw fileError('ResourceNotFound')
  release(c.rt, files, [])
  reply(c, 202)
}

/**
 * Set File Properties: HTTP properties (all replaced: those not given are cleared, as the REST reference says),
 * `x-ms-content-length` (resize: bytes past a smaller size are dropped, a larger file reads zeros there), SMB
 * properties and the permission.
 */
export async function setFileProperties(c: Ctx): Promise<void> {
  refuseUnsupported(c)
  const size = lengthHeader(c, 'x-ms-content-length', false)
  const props = httpProperties(c)
  const permissionKey = await permissionFor(c, { create: false })
  const { before, after } = await updateEntry(c, pathOf(c), 'file', (e, now) => {
    if (size !== undefined && size !== e.size && isReadOnly(e)) throw fileError('ReadOnlyAttribute')
    const resized = size === undefined ? {} : { size, extents: truncate(e.extents, size) }
    return { ...applySmb(c, e, now), ...props, ...resized, permissionKey: permissionKey ?? e.permissionKey }
  })
  release(c.rt, filesOf(before.extents), filesOf(after.extents))
  reply(c, 200, { ...entryHeaders(after), 'x-ms-request-server-encrypted': 'true' })
}

export async function setFileMetadata(c: Ctx): Promise<void> {
  refuseUnsupported(c)
  const metadata = parseMetadata(c.req)
  const { after } = await updateEntry(c, pathOf(c), 'file', (e) => ({ ...e, metadata }))
  reply(c, 200, { ETag: after.etag, 'x-ms-request-server-encrypted': 'true' })
}

/** List Ranges: the written ranges (merged), within `x-ms-range` when given. */
export async function listRanges(c: Ctx): Promise<void> {
  const e = await fileOr404(c)
  const v = checkConditions(c.r, validators(e), { read: true })
  if (v === 304) return reply(c, 304, { ETag: e.etag })
  let start = 0
  let end = e.size - 1
  if (c.r.header('x-ms-range') !== undefined || c.r.header('range') !== undefined) {
    const range = parseRange(c.r, e.size)
    if (range) {
      start = range.start
      end = range.end
    }
  }
  reply(
    c,
    200,
    {
      ETag: e.etag,
      'Last-Modified': lastModified(e.modifiedAt),
      'x-ms-content-length': e.size,
      'Content-Type': 'application/xml',
    },
    rangesXml(e.size === 0 ? [] : writtenRanges(e.extents, start, end)),
  )
}
