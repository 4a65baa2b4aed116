import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import {
  Crc64,
  type Piece,
  type Received,
  STRUCTURED_BODY,
  badHeader,
  badQuery,
  checkConditions,
  checksumMismatch,
  contentHeaders,
  contentLength,
  isStructuredBody,
  lastModified,
  md5Header,
  metadataHeaders,
  missingHeader,
  newEtag,
  notImplemented,
  openPieces,
  parseMetadata,
  parseRange,
  parseXmlBody,
  readSmallBody,
  receiveChecked,
  release,
  reply,
  sendPieces,
  storageError,
  structuredContentLength,
  structuredUpload,
  validators,
} from '../storage/index.ts'
import { containerOr404 } from './containers.ts'
import type { Ctx } from './context.ts'
import { blobError } from './errors.ts'
import { RBAC } from './operations.ts'
import type { BlobKey, BlobRecord, CommittedBlock, UncommittedBlock } from './ports.ts'
import { blockListXml } from './wire.ts'

export const MAX_BLOB_NAME = 1024
const MAX_COMMITTED_BLOCKS = 50_000
const MAX_UNCOMMITTED_BLOCKS = 100_000
const MAX_BLOCK_ID_BYTES = 64
const MAX_BLOCK_LIST_BODY = 8 * 1024 * 1024
/** Range checksums (x-ms-range-get-content-md5/crc64) are computed for ranges up to 4 MiB, as Azure allows. */
const MAX_CHECKSUM_RANGE = 4 * 1024 * 1024

export const keyOf = (c: Ctx): BlobKey => ({
  account: c.account.name,
  container: c.container as string,
  name: c.blob as string,
})

export function checkBlobName(name: string): void {
  if (name.length === 0 || name.length > MAX_BLOB_NAME)
    throw storageError('OutOfRangeInput', { detail: `blob name of ${name.length} characters` })
}

/** BlobNotFound, or ContainerNotFound when the container is what is missing. */
export async function blobNotFound(c: Ctx): Promise<never> {
  await containerOr404(c)
  throw blobError('BlobNotFound')
}

/** Headers and request features azid does not implement on writes; each is refused, never ignored. */
const UNSUPPORTED_HEADERS = [
  'x-ms-tags',
  'x-ms-lease-id',
  'x-ms-encryption-key',
  'x-ms-encryption-scope',
  'x-ms-immutability-policy-until-date',
  'x-ms-legal-hold',
  'x-ms-if-tags',
  'x-ms-source-if-match',
  'x-ms-source-if-none-match',
  'x-ms-source-if-modified-since',
  'x-ms-source-if-unmodified-since',
  'x-ms-source-content-md5',
  'x-ms-source-content-crc64',
]

export function refuseUnsupportedHeaders(c: Ctx): void {
  for (const h of UNSUPPORTED_HEADERS) if (c.r.header(h) !== undefined) throw notImplemented(`the ${h} header`)
  const tier = c.r.header('x-ms-access-tier')
  if (tier !== undefined && tier.toLowerCase() !== 'hot') throw notImplemented(`access tier ${tier}`)
}

/** Before overwriting a blob a create-only caller (`…/blobs/add/action`, SAS `c`) must also be allowed to write. */
export function checkOverwrite(c: Ctx): void {
  c.rt.auth.authorize(c.r, c.caller, {
    operation: `${c.op.name} (overwrite)`,
    sas: { permissions: 'w', resourceType: 'o' },
    rbac: { actions: RBAC.blobWrite, scope: `${c.account.armId}/blobServices/default/containers/${c.container}` },
    sharedKey: true,
    anonymous: false,
  })
}

export function blobHeaders(b: BlobRecord): Record<string, string | undefined> {
  return {
    ETag: b.etag,
    'Last-Modified': lastModified(b.modifiedAt),
    'x-ms-creation-time': lastModified(b.createdAt),
    ...metadataHeaders(b.metadata),
    'x-ms-blob-type': 'BlockBlob',
    'x-ms-lease-status': 'unlocked',
    'x-ms-lease-state': 'available',
    'x-ms-server-encrypted': 'true',
    ...(b.copy
      ? {
          'x-ms-copy-id': b.copy.id,
          'x-ms-copy-source': b.copy.source,
          'x-ms-copy-status': b.copy.status,
          'x-ms-copy-progress': b.copy.progress,
          'x-ms-copy-completion-time': lastModified(b.copy.completedAt),
        }
      : {}),
  }
}

/** The HTTP properties a write sets: `x-ms-blob-*` headers, falling back to the standard ones where Azure does. */
function properties(c: Ctx, q: { fallback: boolean }) {
  const h = (x: string, std: string) => c.r.header(x) ?? (q.fallback ? c.r.header(std) : undefined) ?? null
  return {
    contentType: h('x-ms-blob-content-type', 'content-type') ?? 'application/octet-stream',
    contentEncoding: h('x-ms-blob-content-encoding', 'content-encoding'),
    contentLanguage: h('x-ms-blob-content-language', 'content-language'),
    contentDisposition: c.r.header('x-ms-blob-content-disposition') ?? null,
    cacheControl: h('x-ms-blob-cache-control', 'cache-control'),
  }
}

/** Streams the request body into a content file with the checks Azure makes (length, MD5, CRC-64, framing). */
export async function receiveBody(
  c: Ctx,
  q: { max: number; md5: boolean; requireLength: boolean },
): Promise<{ got: Received; structured: boolean }> {
  const length = contentLength(c.r)
  const structured = structuredUpload(c.r)
  if (length === null && q.requireLength) throw storageError('MissingContentLengthHeader')
  if (length !== null && length > q.max + (structured ? 1024 * 1024 : 0))
    throw storageError('RequestBodyTooLarge', { detail: `Content-Length ${length} over ${q.max}` })
  const got = await receiveChecked(c, {
    length,
    max: q.max,
    md5: q.md5,
    structured,
    ...(structured ? { expectedSize: structuredContentLength(c.r) } : {}),
  })
  return { got, structured }
}

export async function putBlob(c: Ctx): Promise<void> {
  const type = c.r.header('x-ms-blob-type')
  if (type === undefined) throw missingHeader('x-ms-blob-type')
  if (type === 'PageBlob' || type === 'AppendBlob') throw notImplemented(`Put Blob with x-ms-blob-type ${type}`)
  if (type !== 'BlockBlob') throw badHeader('x-ms-blob-type', type)
  refuseUnsupportedHeaders(c)
  checkBlobName(c.blob as string)
  const metadata = parseMetadata(c.req)
  const props = properties(c, { fallback: true })
  const blobMd5 = md5Header(c.r, 'x-ms-blob-content-md5')
  await containerOr404(c)
  const key = keyOf(c)
  // Fail fast on conditions before the body is read; they are checked again at the commit.
  const before = await c.rt.deps.store.getBlob(key)
  checkConditions(c.r, validators(before), { read: false })
  if (before) checkOverwrite(c)
  const { got, structured } = await receiveBody(c, {
    max: c.rt.deps.limits.maxPutBlobBytes,
    md5: true,
    requireLength: true,
  })
  if (blobMd5 && got.md5 && !blobMd5.equals(got.md5)) {
    void c.rt.deps.content.remove([got.id])
    throw checksumMismatch('Md5Mismatch', blobMd5, got.md5)
  }
  const now = c.rt.deps.clock.now()
  const etag = newEtag(c.rt.deps.ids)
  const blocks: CommittedBlock[] = got.size === 0 ? [] : [{ id: null, size: got.size, file: got.id }]
  let released: string[] = []
  try {
    released = await c.rt.deps.store.transaction(async (tx) => {
      const existing = await tx.getBlob(key, { forUpdate: true })
      checkConditions(c.r, validators(existing), { read: false })
      if (existing && !before) checkOverwrite(c)
      const discarded = await tx.deleteUncommitted(key)
      await tx.putBlob({
        ...key,
        etag,
        size: got.size,
        createdAt: existing?.createdAt ?? now,
        modifiedAt: now,
        ...props,
        contentMd5: (blobMd5 ?? got.md5)?.toString('base64') ?? null,
        metadata,
        blocks,
        copy: null,
      })
      return [...(existing?.blocks.map((b) => b.file) ?? []), ...discarded.map((b) => b.file)]
    })
  } catch (e) {
    void c.rt.deps.content.remove([got.id])
    throw e
  }
  if (got.size === 0) released.push(got.id)
  release(
    c.rt,
    released,
    blocks.map((b) => b.file),
  )
  reply(c, 201, {
    ETag: etag,
    'Last-Modified': lastModified(now),
    'Content-MD5': got.md5?.toString('base64'),
    'x-ms-content-crc64': got.crc64?.toString('base64'),
    'x-ms-request-server-encrypted': 'true',
    'x-ms-structured-body': structured ? STRUCTURED_BODY : undefined,
  })
}

/** A block id: base64 of at most 64 bytes (InvalidBlockId). */
function blockId(v: string | undefined): string {
  if (v === undefined || v === '')
    throw storageError('MissingRequiredQueryParameter', { details: [['QueryParameterName', 'blockid']] })
  const bytes = Buffer.from(v, 'base64')
  if (
    !/^[A-Za-z0-9+/]*={0,2}$/.test(v) ||
    v.length % 4 !== 0 ||
    bytes.length === 0 ||
    bytes.length > MAX_BLOCK_ID_BYTES
  )
    throw blobError('InvalidBlockId', {
      details: [
        ['QueryParameterName', 'blockid'],
        ['QueryParameterValue', v],
      ],
    })
  return v
}

/** Checks a new block against the blob's staged blocks: one id length per blob, at most 100,000 blocks. */
async function admitBlock(c: Ctx, key: BlobKey, id: string): Promise<void> {
  const staged = await c.rt.deps.store.listUncommitted(key)
  const other = staged.find((b) => b.id !== id)
  if (other && other.id.length !== id.length)
    throw blobError('InvalidBlockId', {
      detail: `block id of length ${id.length}; staged ids have length ${other.id.length}`,
    })
  if (staged.length >= MAX_UNCOMMITTED_BLOCKS && !staged.some((b) => b.id === id))
    throw blobError('BlockCountExceedsLimit')
}

async function stageBlock(c: Ctx, key: BlobKey, block: UncommittedBlock): Promise<void> {
  let replaced: UncommittedBlock | undefined
  try {
    replaced = await c.rt.deps.store.putUncommitted(key, block)
  } catch (e) {
    void c.rt.deps.content.remove([block.file])
    throw e
  }
  if (replaced) release(c.rt, [replaced.file], [block.file])
}

export async function putBlock(c: Ctx): Promise<void> {
  refuseUnsupportedHeaders(c)
  checkBlobName(c.blob as string)
  const id = blockId(c.r.query.get('blockid'))
  await containerOr404(c)
  const key = keyOf(c)
  await admitBlock(c, key, id)
  const { got, structured } = await receiveBody(c, {
    max: c.rt.deps.limits.maxBlockBytes,
    md5: false,
    requireLength: true,
  })
  await stageBlock(c, key, { id, size: got.size, file: got.id, createdAt: c.rt.deps.clock.now() })
  reply(c, 201, {
    'Content-MD5': got.md5?.toString('base64'),
    'x-ms-content-crc64': got.crc64?.toString('base64'),
    'x-ms-request-server-encrypted': 'true',
    'x-ms-structured-body': structured ? STRUCTURED_BODY : undefined,
  })
}

/** Put Block From URL: a block cut from a range of a source blob (resolved and authorized by copy.ts). */
export async function putBlockFrom(c: Ctx, source: BlobRecord): Promise<void> {
  refuseUnsupportedHeaders(c)
  checkBlobName(c.blob as string)
  const id = blockId(c.r.query.get('blockid'))
  await containerOr404(c)
  const key = keyOf(c)
  await admitBlock(c, key, id)
  const rangeHeader = c.r.header('x-ms-source-range')
  let start = 0
  let end = source.size - 1
  if (rangeHeader !== undefined) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim())
    if (!m || Number(m[2]) < Number(m[1])) throw badHeader('x-ms-source-range', rangeHeader)
    start = Number(m[1])
    end = Math.min(Number(m[2]), source.size - 1)
    if (start >= source.size) throw storageError('InvalidRange', { detail: `source range ${rangeHeader}` })
  }
  if (end - start + 1 > c.rt.deps.limits.maxBlockBytes) throw storageError('RequestBodyTooLarge')
  const got = await c.rt.deps.content.compose(
    segments(source.blocks, start, end).map((s) => ({ id: s.file, start: s.start, length: s.end - s.start + 1 })),
  )
  await stageBlock(c, key, { id, size: got.size, file: got.id, createdAt: c.rt.deps.clock.now() })
  reply(c, 201, { 'x-ms-request-server-encrypted': 'true' })
}

export async function putBlockList(c: Ctx): Promise<void> {
  refuseUnsupportedHeaders(c)
  checkBlobName(c.blob as string)
  const metadata = parseMetadata(c.req)
  const props = properties(c, { fallback: false })
  const blobMd5 = md5Header(c.r, 'x-ms-blob-content-md5')
  const bodyMd5 = md5Header(c.r, 'content-md5')
  await containerOr404(c)
  const body = await readSmallBody(c, MAX_BLOCK_LIST_BODY)
  if (bodyMd5) {
    const computed = createHash('md5').update(body, 'utf8').digest()
    if (!bodyMd5.equals(computed)) throw checksumMismatch('Md5Mismatch', bodyMd5, computed)
  }
  const root = parseXmlBody(body)
  if (root.name !== 'BlockList') throw storageError('InvalidXmlDocument', { detail: `root element ${root.name}` })
  const wanted = root.children.map((e) => {
    if (e.name !== 'Latest' && e.name !== 'Committed' && e.name !== 'Uncommitted')
      throw storageError('InvalidXmlNodeValue', { details: [['XmlNodeName', e.name]] })
    const id = e.text.trim()
    const bytes = Buffer.from(id, 'base64')
    if (
      !/^[A-Za-z0-9+/]*={0,2}$/.test(id) ||
      id.length % 4 !== 0 ||
      bytes.length === 0 ||
      bytes.length > MAX_BLOCK_ID_BYTES
    )
      throw blobError('InvalidBlockList', { detail: `block id '${id.slice(0, 100)}'` })
    return { kind: e.name, id }
  })
  if (wanted.length > MAX_COMMITTED_BLOCKS) throw blobError('BlockListTooLong')
  if (new Set(wanted.map((w) => w.id.length)).size > 1)
    throw blobError('InvalidBlockList', { detail: 'block ids of different lengths' })
  const key = keyOf(c)
  const before = await c.rt.deps.store.getBlob(key)
  checkConditions(c.r, validators(before), { read: false })
  if (before) checkOverwrite(c)
  const now = c.rt.deps.clock.now()
  const etag = newEtag(c.rt.deps.ids)
  const out = await c.rt.deps.store.transaction(async (tx) => {
    const existing = await tx.getBlob(key, { forUpdate: true })
    checkConditions(c.r, validators(existing), { read: false })
    if (existing && !before) checkOverwrite(c)
    const staged = await tx.listUncommitted(key)
    const uncommitted = new Map(staged.map((b) => [b.id, b]))
    const committed = new Map<string, CommittedBlock>()
    for (const b of existing?.blocks ?? []) if (b.id !== null) committed.set(b.id, b)
    const blocks: CommittedBlock[] = wanted.map((w) => {
      const u = w.kind !== 'Committed' ? uncommitted.get(w.id) : undefined
      if (u) return { id: u.id, size: u.size, file: u.file }
      const k = w.kind !== 'Uncommitted' ? committed.get(w.id) : undefined
      if (k) return k
      throw blobError('InvalidBlockList', { detail: `${w.kind} block ${w.id} not found` })
    })
    const size = blocks.reduce((a, b) => a + b.size, 0)
    await tx.deleteUncommitted(key)
    await tx.putBlob({
      ...key,
      etag,
      size,
      createdAt: existing?.createdAt ?? now,
      modifiedAt: now,
      ...props,
      contentMd5: blobMd5?.toString('base64') ?? null,
      metadata,
      blocks,
      copy: null,
    })
    return {
      before: [...(existing?.blocks.map((b) => b.file) ?? []), ...staged.map((b) => b.file)],
      after: blocks.map((b) => b.file),
    }
  })
  release(c.rt, out.before, out.after)
  reply(c, 201, {
    ETag: etag,
    'Last-Modified': lastModified(now),
    'x-ms-request-server-encrypted': 'true',
  })
}

export async function getBlockList(c: Ctx): Promise<void> {
  const type = c.r.query.get('blocklisttype') ?? 'committed'
  if (type !== 'committed' && type !== 'uncommitted' && type !== 'all') throw badQuery('blocklisttype', type)
  const key = keyOf(c)
  const blob = await c.rt.deps.store.getBlob(key)
  const staged = type === 'committed' ? [] : await c.rt.deps.store.listUncommitted(key)
  if (!blob && (type === 'committed' || staged.length === 0)) await blobNotFound(c)
  if (blob) {
    const v = checkConditions(c.r, validators(blob), { read: true })
    if (v === 304) return reply(c, 304, { ETag: blob.etag, 'Last-Modified': lastModified(blob.modifiedAt) })
  }
  reply(
    c,
    200,
    {
      'Content-Type': 'application/xml',
      ...(blob ? { ETag: blob.etag, 'Last-Modified': lastModified(blob.modifiedAt) } : {}),
      'x-ms-blob-content-length': blob?.size ?? 0,
    },
    blockListXml({
      committed: type === 'uncommitted' ? null : (blob?.blocks ?? []),
      uncommitted: type === 'committed' ? null : staged,
    }),
  )
}

interface Segment {
  file: string
  /** Inclusive offsets within the file. */
  start: number
  end: number
}

/** The file ranges that make up bytes `start..end` (inclusive) of a blob. */
export function segments(blocks: readonly CommittedBlock[], start: number, end: number): Segment[] {
  const out: Segment[] = []
  let offset = 0
  for (const b of blocks) {
    const bStart = offset
    const bEnd = offset + b.size - 1
    offset += b.size
    if (b.size === 0 || bEnd < start) continue
    if (bStart > end) break
    out.push({ file: b.file, start: Math.max(start, bStart) - bStart, end: Math.min(end, bEnd) - bStart })
  }
  return out
}

const toPiece = (s: Segment): Piece => ({ kind: 'data', file: s.file, at: s.start, length: s.end - s.start + 1 })

/**
 * Ranges up to this size are read synchronously: three thread-pool round trips (open, read, close) cost more than
 * a few microseconds of page-cache reading on the main thread.
 */
const SYNC_READ = 64 * 1024

function readRangeSync(c: Ctx, segs: readonly Segment[], total: number): Buffer {
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const x of segs) {
    const fd = openSync(c.rt.deps.content.path(x.file), 'r')
    try {
      const want = x.end - x.start + 1
      let got = 0
      while (got < want) {
        const n = readSync(fd, out, at + got, want - got, x.start + got)
        if (n === 0) throw new Error(`content file ${x.file} is shorter than its row says`)
        got += n
      }
      at += want
    } finally {
      closeSync(fd)
    }
  }
  return out
}

/** Reads a (small) range into memory: one positioned read per segment, no streams. */
async function readRange(c: Ctx, segs: readonly Segment[]): Promise<Buffer> {
  const total = segs.reduce((a, x) => a + x.end - x.start + 1, 0)
  if (total <= SYNC_READ) return readRangeSync(c, segs, total)
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const x of segs) {
    const h = await open(c.rt.deps.content.path(x.file), 'r')
    try {
      const want = x.end - x.start + 1
      let got = 0
      while (got < want) {
        const { bytesRead } = await h.read(out, at + got, want - got, x.start + got)
        if (bytesRead === 0) throw new Error(`content file ${x.file} is shorter than its row says`)
        got += bytesRead
      }
      at += want
    } finally {
      await h.close()
    }
  }
  return out
}

/** Responses up to this size are read into memory and sent in one write (small reads are the common case). */
const SMALL_READ = 1024 * 1024

/** Get Blob and Get Blob Properties: ranges, conditional reads, SAS header overrides, structured downloads. */
export async function getBlob(c: Ctx): Promise<void> {
  const key = keyOf(c)
  for (let attempt = 0; ; attempt++) {
    const b = await c.rt.deps.store.getBlob(key)
    if (!b) return blobNotFound(c)
    const v = checkConditions(c.r, validators(b), { read: true })
    if (v === 304) return reply(c, 304, { ETag: b.etag, 'Last-Modified': lastModified(b.modifiedAt) })
    const headers: Record<string, string | number | undefined | null> = {
      ...blobHeaders(b),
      ...contentHeaders(c.caller, b),
      'Accept-Ranges': 'bytes',
    }
    if (c.r.method === 'HEAD') {
      return reply(c, 200, {
        ...headers,
        'Content-Length': b.size,
        'Content-MD5': b.contentMd5,
        'x-ms-access-tier': 'Hot',
        'x-ms-access-tier-inferred': 'true',
      })
    }
    const range = parseRange(c.r, b.size)
    const start = range?.start ?? 0
    const end = range ? range.end : b.size - 1
    const length = b.size === 0 ? 0 : end - start + 1
    const segs = segments(b.blocks, start, end)
    const wantMd5 = c.r.header('x-ms-range-get-content-md5') === 'true'
    const wantCrc = c.r.header('x-ms-range-get-content-crc64') === 'true'
    if (wantMd5 && wantCrc) throw badHeader('x-ms-range-get-content-crc64', 'true', 'with x-ms-range-get-content-md5')
    const structuredHeader = c.r.header('x-ms-structured-body')
    const structured = isStructuredBody(structuredHeader)
    if (structuredHeader !== undefined && !structured) throw badHeader('x-ms-structured-body', structuredHeader)
    if ((wantMd5 || wantCrc) && range && length > MAX_CHECKSUM_RANGE)
      throw storageError('OutOfRangeInput', { detail: 'range checksum over 4 MiB' })
    headers['Content-MD5'] = range ? undefined : b.contentMd5
    if (range) {
      headers['Content-Range'] = `bytes ${start}-${end}/${b.size}`
      headers['x-ms-blob-content-md5'] = b.contentMd5
    }
    const status = range ? 206 : 200
    if (((wantMd5 || wantCrc) && range) || (length <= SMALL_READ && !structured)) {
      let data: Buffer
      try {
        data = await readRange(c, segs)
      } catch (e) {
        // Overwritten between the read of its row and the open of its files: read the row again.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) continue
        throw e
      }
      if (range && wantMd5) headers['Content-MD5'] = createHash('md5').update(data).digest('base64')
      else if (range && wantCrc) headers['x-ms-content-crc64'] = new Crc64().update(data).digest().toString('base64')
      return reply(c, status, headers, data)
    }
    const pieces = segs.map(toPiece)
    let handles: (FileHandle | undefined)[]
    try {
      handles = await openPieces(c.rt.deps.content, pieces)
    } catch (e) {
      // Overwritten between the read of its row and the open of its files: read the row again.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) continue
      throw e
    }
    return sendPieces(c, status, headers, { pieces, handles, length, structured })
  }
}

export async function getBlobMetadata(c: Ctx): Promise<void> {
  const b = await c.rt.deps.store.getBlob(keyOf(c))
  if (!b) return blobNotFound(c)
  const v = checkConditions(c.r, validators(b), { read: true })
  if (v === 304) return reply(c, 304, { ETag: b.etag, 'Last-Modified': lastModified(b.modifiedAt) })
  reply(c, 200, { ETag: b.etag, 'Last-Modified': lastModified(b.modifiedAt), ...metadataHeaders(b.metadata) })
}

/** Set Blob Metadata / Set Blob Properties: one row update under the conditions given. */
async function updateBlob(c: Ctx, change: (b: BlobRecord) => Partial<BlobRecord>): Promise<void> {
  const key = keyOf(c)
  const now = c.rt.deps.clock.now()
  const etag = newEtag(c.rt.deps.ids)
  const found = await c.rt.deps.store.transaction(async (tx) => {
    const b = await tx.getBlob(key, { forUpdate: true })
    if (!b) return false
    checkConditions(c.r, validators(b), { read: false })
    await tx.putBlob({ ...b, ...change(b), etag, modifiedAt: now })
    return true
  })
  if (!found) await blobNotFound(c)
  reply(c, 200, { ETag: etag, 'Last-Modified': lastModified(now), 'x-ms-request-server-encrypted': 'true' })
}

export async function setBlobMetadata(c: Ctx): Promise<void> {
  refuseUnsupportedHeaders(c)
  const metadata = parseMetadata(c.req)
  await updateBlob(c, () => ({ metadata }))
}

export async function setBlobProperties(c: Ctx): Promise<void> {
  refuseUnsupportedHeaders(c)
  for (const h of ['x-ms-blob-content-length', 'x-ms-sequence-number-action'])
    if (c.r.header(h) !== undefined)
      throw storageError('InvalidHeaderValue', {
        details: [['HeaderName', h]],
        detail: 'page blob property on a block blob',
      })
  const md5 = md5Header(c.r, 'x-ms-blob-content-md5')
  // Set Blob Properties replaces all HTTP properties: those not given are cleared (Storage REST reference).
  const p = properties(c, { fallback: false })
  await updateBlob(c, () => ({
    ...p,
    contentType: c.r.header('x-ms-blob-content-type') ?? null,
    contentMd5: md5?.toString('base64') ?? null,
  }))
}

export async function deleteBlob(c: Ctx): Promise<void> {
  refuseUnsupportedHeaders(c)
  const snapshots = c.r.header('x-ms-delete-snapshots')
  if (snapshots !== undefined && snapshots !== 'include' && snapshots !== 'only')
    throw badHeader('x-ms-delete-snapshots', snapshots)
  if (c.r.header('x-ms-delete-type-permanent') !== undefined || c.r.query.has('deletetype'))
    throw notImplemented('permanent delete of soft-deleted blobs')
  const key = keyOf(c)
  const files = await c.rt.deps.store.transaction(async (tx) => {
    const b = await tx.getBlob(key, { forUpdate: true })
    if (!b) return undefined
    checkConditions(c.r, validators(b), { read: false })
    // azid keeps no snapshots: `only` deletes nothing.
    if (snapshots === 'only') return []
    await tx.deleteBlob(key)
    const staged = await tx.deleteUncommitted(key)
    return [...b.blocks.map((x) => x.file), ...staged.map((x) => x.file)]
  })
  if (files === undefined) await blobNotFound(c)
  release(c.rt, files ?? [], [])
  reply(c, 202, { 'x-ms-delete-type-permanent': 'false' })
}

export async function abortCopy(c: Ctx): Promise<void> {
  if (c.r.header('x-ms-copy-action') !== 'abort') throw missingHeader('x-ms-copy-action')
  const b = await c.rt.deps.store.getBlob(keyOf(c))
  if (!b) await blobNotFound(c)
  // Copies complete before Copy Blob answers: there is never a pending one.
  throw blobError('NoPendingCopyOperation')
}

export { properties as writeProperties }
