import {
  checkConditions,
  includeParam,
  intParam,
  missingHeader,
  notImplemented,
  reply,
  validators,
} from '../storage/index.ts'
import type { Ctx } from './context.ts'
import {
  ROOT_PARENT_KEY,
  applySmb,
  entryHeaders,
  findEntry,
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
import type { FileEntry } from './ports.ts'
import { shareOr404 } from './shares.ts'
import type { FilePath } from './smb.ts'
import { EMPTY_HANDLES_XML, type ListInclude, listEntriesXml } from './wire.ts'

const pathOf = (c: Ctx): FilePath => c.path as FilePath

export async function createDirectory(c: Ctx): Promise<void> {
  const p = pathOf(c)
  if (p.parts.length === 0) throw fileError('ResourceAlreadyExists', { detail: 'the root directory' })
  const metadata = parseMetadata(c.req)
  const share = await shareOr404(c)
  const permissionKey = (await permissionFor(c, { create: true })) as string
  const created = await c.rt.deps.store.transaction(async (tx) => {
    const parent = await parentDirectory(c, tx, p, share)
    if (await tx.getEntry(keyOf(c, p), { forUpdate: true })) throw fileError('ResourceAlreadyExists')
    const e = newEntry(c, {
      p,
      kind: 'directory',
      parent,
      now: c.rt.deps.clock.now(),
      permissionKey,
      metadata,
      size: 0,
    })
    await tx.putEntry(e)
    return e
  })
  reply(c, 201, { ...entryHeaders(created), 'x-ms-request-server-encrypted': 'true' })
}

/** The directory at the request's path; ResourceNotFound (or ShareNotFound) when there is none. */
async function directoryOr404(c: Ctx): Promise<FileEntry> {
  const e = await findEntry(c, pathOf(c))
  if (e?.kind !== 'directory') return notFound(c)
  return e
}

export async function getDirectoryProperties(c: Ctx): Promise<void> {
  const e = await directoryOr404(c)
  const v = checkConditions(c.r, validators(e), { read: true })
  if (v === 304) return reply(c, 304, { ETag: e.etag })
  reply(c, 200, { ...entryHeaders(e), ...metadataHeaders(e.metadata), 'x-ms-server-encrypted': 'true' })
}

export async function deleteDirectory(c: Ctx): Promise<void> {
  const p = pathOf(c)
  if (p.parts.length === 0) throw fileError('CannotDeleteFileOrDirectory', { detail: 'the root directory' })
  await shareOr404(c)
  const found = await c.rt.deps.store.transaction(async (tx) => {
    const e = await tx.getEntry(keyOf(c, p), { forUpdate: true })
    if (!e) return false
    if (e.kind !== 'directory') throw fileError('ResourceTypeMismatch')
    if (await tx.hasChildren({ account: c.account.name, share: c.share as string, dirKey: p.key }))
      throw fileError('DirectoryNotEmpty')
    await tx.deleteEntry(keyOf(c, p))
    return true
  })
  if (!found) throw fileError('ResourceNotFound')
  reply(c, 202)
}

export async function setDirectoryProperties(c: Ctx): Promise<void> {
  const permissionKey = await permissionFor(c, { create: false })
  const { after } = await updateEntry(c, pathOf(c), 'directory', (e, now) => ({
    ...applySmb(c, e, now),
    permissionKey: permissionKey ?? e.permissionKey,
  }))
  reply(c, 200, { ...entryHeaders(after), 'x-ms-request-server-encrypted': 'true' })
}

export async function setDirectoryMetadata(c: Ctx): Promise<void> {
  const metadata = parseMetadata(c.req)
  const { after } = await updateEntry(c, pathOf(c), 'directory', (e) => ({ ...e, metadata }))
  reply(c, 200, { ETag: after.etag, 'x-ms-request-server-encrypted': 'true' })
}

const INCLUDE = new Set(['timestamps', 'etag', 'attributes', 'permissionkey'])

/**
 * List Directories and Files: the immediate children of a directory in name order (case-insensitive), prefix,
 * marker / NextMarker (the name key to resume after), maxresults (≤ 5000), include=Timestamps,ETag,Attributes,
 * PermissionKey and `x-ms-file-extended-info` (file ids).
 */
export async function listFilesAndDirectories(c: Ctx): Promise<void> {
  const dir = await directoryOr404(c)
  const q = c.r.query
  const prefix = q.get('prefix')
  const marker = q.get('marker')
  const max = intParam(c.r, 'maxresults', { min: 1, max: 5000, dflt: 5000 })
  const include = includeParam(c.r, INCLUDE)
  const extendedHeader = c.r.header('x-ms-file-extended-info')
  const extended = extendedHeader?.toLowerCase() === 'true'
  const p = pathOf(c)
  const rows = await c.rt.deps.store.listChildren({
    account: c.account.name,
    share: c.share as string,
    parentKey: p.key,
    ...(prefix ? { prefix: prefix.toLowerCase() } : {}),
    ...(marker ? { after: marker } : {}),
    limit: max + 1,
  })
  // The root directory's own row lives under ROOT_PARENT_KEY, never among anyone's children.
  const entries = rows.filter((e) => e.parentKey !== ROOT_PARENT_KEY)
  const page = entries.slice(0, max)
  const include_: ListInclude = {
    timestamps: include.includes('timestamps'),
    etag: include.includes('etag'),
    attributes: include.includes('attributes'),
    permissionKey: include.includes('permissionkey'),
    extended,
  }
  reply(
    c,
    200,
    { 'Content-Type': 'application/xml' },
    listEntriesXml({
      serviceEndpoint: c.serviceEndpoint,
      share: c.share as string,
      directoryPath: p.display,
      directoryId: extended ? dir.fileId : undefined,
      prefix: prefix,
      marker,
      maxResults: q.has('maxresults') ? max : undefined,
      entries: page,
      include: include_,
      nextMarker: entries.length > max ? (page.at(-1)?.nameKey ?? '') : '',
    }),
  )
}

/** azid has no SMB clients: there are never open handles to list or close. */
export async function listHandles(c: Ctx): Promise<void> {
  const e = await findEntry(c, pathOf(c))
  if (!e) await notFound(c)
  if (c.r.header('x-ms-recursive') !== undefined && !/^(true|false)$/i.test(c.r.header('x-ms-recursive') as string))
    throw notImplemented(`x-ms-recursive: ${c.r.header('x-ms-recursive')}`)
  reply(c, 200, { 'Content-Type': 'application/xml' }, EMPTY_HANDLES_XML)
}

export async function forceCloseHandles(c: Ctx): Promise<void> {
  if (c.r.header('x-ms-handle-id') === undefined) throw missingHeader('x-ms-handle-id')
  const e = await findEntry(c, pathOf(c))
  if (!e) await notFound(c)
  reply(c, 200, { 'x-ms-number-of-handles-closed': 0, 'x-ms-number-of-handles-failed': 0 })
}
