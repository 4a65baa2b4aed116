import {
  badHeader,
  checkConditions,
  isoTime7,
  lastModified,
  metadataHeaders,
  newEtag,
  notImplemented,
  parseMetadata,
  validators,
} from '../storage/index.ts'
import { type Ctx, ROOT_FILE_ID, newFileId, shareScope } from './context.ts'
import { fileError } from './errors.ts'
import { MODIFY_PERMISSIONS } from './operations.ts'
import type { EntryKey, FileEntry, FileStore, ShareRecord } from './ports.ts'
import { shareOr404 } from './shares.ts'
import {
  DEFAULT_PERMISSION_KEY,
  type FilePath,
  MAX_PERMISSION_HEADER,
  checkSddl,
  defaultAttributes,
  parentOf,
  parseAttributes,
  parseSmbTime,
  permissionKeyOf,
} from './smb.ts'

/** HTTP properties of an entry that has none set (directories, new files). */
const NO_CONTENT = {
  contentType: null,
  contentEncoding: null,
  contentLanguage: null,
  contentDisposition: null,
  cacheControl: null,
  contentMd5: null,
} as const

/** The root directory's row (created when its properties are first set): a parent key no real path can have. */
export const ROOT_PARENT_KEY = ':root'

export const keyOf = (c: Ctx, p: FilePath): EntryKey => ({
  account: c.account.name,
  share: c.share as string,
  parentKey: p.parts.length === 0 ? ROOT_PARENT_KEY : p.parentKey,
  nameKey: p.nameKey,
})

/** The root directory as it is before anything was set on it: the share's times, Azure's root id. */
export function defaultRoot(c: Ctx, s: ShareRecord): FileEntry {
  const t = isoTime7(s.lastModified)
  return {
    account: c.account.name,
    share: s.name,
    parentKey: ROOT_PARENT_KEY,
    nameKey: '',
    name: '',
    kind: 'directory',
    fileId: ROOT_FILE_ID,
    parentId: '0',
    etag: s.etag,
    modifiedAt: s.lastModified,
    creationTime: t,
    lastWriteTime: t,
    changeTime: t,
    attributes: 'Directory',
    permissionKey: DEFAULT_PERMISSION_KEY,
    size: 0,
    ...NO_CONTENT,
    metadata: {},
    extents: [],
  }
}

/** The entry at `p` (the root always exists while its share does), or undefined. */
export async function findEntry(
  c: Ctx,
  p: FilePath,
  q: { store?: FileStore; forUpdate?: boolean; share?: ShareRecord } = {},
): Promise<FileEntry | undefined> {
  const store = q.store ?? c.rt.deps.store
  const row = await store.getEntry(keyOf(c, p), { forUpdate: q.forUpdate ?? false })
  if (row || p.parts.length > 0) return row
  return defaultRoot(c, q.share ?? (await shareOr404(c)))
}

/** Not found: ShareNotFound when the share is what is missing, else ResourceNotFound. */
export async function notFound(c: Ctx): Promise<never> {
  await shareOr404(c)
  throw fileError('ResourceNotFound')
}

/** The directory a new entry goes into (locked until the transaction ends); ParentNotFound when there is none. */
export async function parentDirectory(c: Ctx, tx: FileStore, p: FilePath, share: ShareRecord): Promise<FileEntry> {
  const parent = await findEntry(c, parentOf(p), { store: tx, forUpdate: true, share })
  if (parent?.kind !== 'directory') throw fileError('ParentNotFound')
  return parent
}

/** What Azure returns about an entry's SMB side in headers. */
export const smbHeaders = (e: FileEntry) => ({
  'x-ms-file-attributes': e.attributes,
  'x-ms-file-creation-time': e.creationTime,
  'x-ms-file-last-write-time': e.lastWriteTime,
  'x-ms-file-change-time': e.changeTime,
  'x-ms-file-permission-key': e.permissionKey,
  'x-ms-file-id': e.fileId,
  'x-ms-file-parent-id': e.parentId,
})

export const entryHeaders = (e: FileEntry) => ({
  ETag: e.etag,
  'Last-Modified': lastModified(e.modifiedAt),
  ...smbHeaders(e),
})

/**
 * The permission key a write sets: `x-ms-file-permission` (`inherit`, `preserve` or an SDDL, stored in the share)
 * or `x-ms-file-permission-key` (one stored before). Undefined keeps the current one. An explicit descriptor needs
 * `…/files/modifypermissions/action` from a bearer token.
 */
export async function permissionFor(c: Ctx, q: { create: boolean }): Promise<string | undefined> {
  const perm = c.r.header('x-ms-file-permission')
  const key = c.r.header('x-ms-file-permission-key')
  const format = c.r.header('x-ms-file-permission-format')
  if (format !== undefined && format.toLowerCase() !== 'sddl') throw notImplemented(`permission format ${format}`)
  if (perm !== undefined && key !== undefined)
    throw badHeader('x-ms-file-permission-key', key, 'with x-ms-file-permission')
  const explicit = () => {
    if (c.caller.kind === 'bearer')
      c.rt.auth.authorize(c.r, c.caller, {
        operation: `${c.op.name} (file permission)`,
        sas: null,
        rbac: {
          actions: [{ action: MODIFY_PERMISSIONS, kind: 'dataAction' }],
          scope: shareScope(c.account, c.share as string),
        },
        sharedKey: true,
        anonymous: false,
      })
  }
  if (perm !== undefined) {
    const v = perm.trim()
    if (v.toLowerCase() === 'inherit') return DEFAULT_PERMISSION_KEY
    if (v.toLowerCase() === 'preserve') {
      if (q.create) throw badHeader('x-ms-file-permission', perm, 'preserve on create')
      return undefined
    }
    if (Buffer.byteLength(v) > MAX_PERMISSION_HEADER)
      throw badHeader('x-ms-file-permission', `${v.slice(0, 64)}…`, 'over 8 KiB: use Create Permission')
    const sddl = checkSddl(v)
    explicit()
    const k = permissionKeyOf(sddl)
    await c.rt.deps.store.putPermission({ account: c.account.name, share: c.share as string, key: k, sddl })
    return k
  }
  if (key !== undefined) {
    explicit()
    if (key === DEFAULT_PERMISSION_KEY) return key
    const known = await c.rt.deps.store.getPermission({ account: c.account.name, share: c.share as string, key })
    if (known === undefined) throw fileError('FileInvalidPermissionKey')
    return key
  }
  return q.create ? DEFAULT_PERMISSION_KEY : undefined
}

/** SMB properties a write asks for: attributes and times (`now`, `preserve`, a time), undefined where kept. */
export function smbFromHeaders(c: Ctx, kind: 'directory' | 'file', now: number) {
  return {
    attributes: parseAttributes(c.r.header('x-ms-file-attributes'), kind),
    creationTime: parseSmbTime('x-ms-file-creation-time', c.r.header('x-ms-file-creation-time'), now),
    lastWriteTime: parseSmbTime('x-ms-file-last-write-time', c.r.header('x-ms-file-last-write-time'), now),
    changeTime: parseSmbTime('x-ms-file-change-time', c.r.header('x-ms-file-change-time'), now),
  }
}

/** A new directory or file row (Create Directory, Create File). */
export function newEntry(
  c: Ctx,
  q: {
    p: FilePath
    kind: 'directory' | 'file'
    parent: FileEntry
    now: number
    permissionKey: string
    metadata: Record<string, string>
    size: number
  },
): FileEntry {
  const smb = smbFromHeaders(c, q.kind, q.now)
  const nowIso = isoTime7(q.now)
  return {
    ...keyOf(c, q.p),
    name: q.p.name,
    kind: q.kind,
    fileId: newFileId(c.rt.deps.ids),
    parentId: q.parent.fileId,
    etag: newEtag(c.rt.deps.ids),
    modifiedAt: q.now,
    creationTime: smb.creationTime ?? nowIso,
    lastWriteTime: smb.lastWriteTime ?? nowIso,
    changeTime: smb.changeTime ?? nowIso,
    attributes: smb.attributes ?? defaultAttributes(q.kind),
    permissionKey: q.permissionKey,
    size: q.size,
    ...NO_CONTENT,
    metadata: q.metadata,
    extents: [],
  }
}

/**
 * Updates one entry under the request's conditions: `change` gets the current row (locked) and returns the new one
 * (or throws). Returns the row before and after; ResourceNotFound / ResourceTypeMismatch when it is not there.
 */
export async function updateEntry(
  c: Ctx,
  p: FilePath,
  kind: 'directory' | 'file',
  change: (e: FileEntry, now: number) => FileEntry | Promise<FileEntry>,
): Promise<{ before: FileEntry; after: FileEntry }> {
  const share = await shareOr404(c)
  const out = await c.rt.deps.store.transaction(async (tx) => {
    const e = await findEntry(c, p, { store: tx, forUpdate: true, share })
    if (!e) return undefined
    if (e.kind !== kind) throw fileError('ResourceTypeMismatch')
    checkConditions(c.r, validators(e), { read: false })
    const now = c.rt.deps.clock.now()
    const next = await change(e, now)
    const after = { ...next, etag: newEtag(c.rt.deps.ids), modifiedAt: now }
    await tx.putEntry(after)
    return { before: e, after }
  })
  if (!out) throw fileError('ResourceNotFound')
  return out
}

export function isReadOnly(e: FileEntry): boolean {
  return e.attributes.split('|').some((a) => a.trim() === 'ReadOnly')
}

/** SMB properties after a Set Properties: each kept unless given; the change time moves to now by default. */
export function applySmb(c: Ctx, e: FileEntry, now: number): FileEntry {
  const smb = smbFromHeaders(c, e.kind, now)
  return {
    ...e,
    attributes: smb.attributes ?? e.attributes,
    creationTime: smb.creationTime ?? e.creationTime,
    lastWriteTime: smb.lastWriteTime ?? e.lastWriteTime,
    changeTime: smb.changeTime ?? isoTime7(now),
  }
}

export { metadataHeaders, parseMetadata }
