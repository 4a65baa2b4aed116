import type { Kysely, Selectable, Transaction } from 'kysely'
import type { EntryKey, FileEntry, FileExtent, FileStore } from '../dataplane/ports.ts'
import {
  CONTENT_COLUMNS,
  type ContentColumns,
  afterKey,
  contentColumns,
  contentProperties,
  forEachPage,
  successor,
} from './content-rows.ts'
import type { DialectName } from './db.ts'
import type { Db } from './schema.ts'

/** Tables of migration 0006 (kept here: the File service is their only user). */
export type FileTables = {
  file_entries: {
    account: string
    share: string
    parent_key: string
    name_key: string
    name: string
    kind: string
    file_id: string
    parent_id: string
    etag: string
    modified_at: number
    creation_time: string
    last_write_time: string
    change_time: string
    attributes: string
    permission_key: string
    size: number
    /** JSON: [[offset, length, file, at], …] */
    extents: string
  } & ContentColumns
  file_permissions: {
    account: string
    share: string
    permission_key: string
    sddl: string
  }
}

type FDb = Db & FileTables
type EntryRow = Selectable<FileTables['file_entries']>

const encodeExtents = (x: readonly FileExtent[]) => JSON.stringify(x.map((e) => [e.offset, e.length, e.file, e.at]))
const decodeExtents = (s: string): FileExtent[] =>
  (JSON.parse(s) as [number, number, string, number][]).map(([offset, length, file, at]) => ({
    offset,
    length,
    file,
    at,
  }))

function toEntry(r: EntryRow, withExtents = true): FileEntry {
  return {
    account: r.account,
    share: r.share,
    parentKey: r.parent_key,
    nameKey: r.name_key,
    name: r.name,
    kind: r.kind === 'directory' ? 'directory' : 'file',
    fileId: r.file_id,
    parentId: r.parent_id,
    etag: r.etag,
    modifiedAt: Number(r.modified_at),
    creationTime: r.creation_time,
    lastWriteTime: r.last_write_time,
    changeTime: r.change_time,
    attributes: r.attributes,
    permissionKey: r.permission_key,
    size: Number(r.size),
    ...contentProperties(r),
    extents: withExtents ? decodeExtents(r.extents) : [],
  }
}

export function createFileStore(db: Kysely<Db>, dialect: DialectName): FileStore {
  return make(db.withTables<FileTables>(), dialect, false)
}

function make(fdb: Kysely<FDb>, dialect: DialectName, inTx: boolean): FileStore {
  const where = (k: EntryKey) =>
    fdb
      .selectFrom('file_entries')
      .where('account', '=', k.account)
      .where('share', '=', k.share)
      .where('parent_key', '=', k.parentKey)
      .where('name_key', '=', k.nameKey)

  const self: FileStore = {
    transaction(fn) {
      if (inTx) return fn(self)
      return fdb.transaction().execute((trx: Transaction<FDb>) => fn(make(trx, dialect, true)))
    },
    async getEntry(k, opts) {
      let q = where(k).selectAll()
      if (opts?.forUpdate && dialect === 'postgres') q = q.forUpdate()
      const r = await q.executeTakeFirst()
      return r && toEntry(r)
    },
    async putEntry(e) {
      const row = {
        account: e.account,
        share: e.share,
        parent_key: e.parentKey,
        name_key: e.nameKey,
        name: e.name,
        kind: e.kind,
        file_id: e.fileId,
        parent_id: e.parentId,
        etag: e.etag,
        modified_at: e.modifiedAt,
        creation_time: e.creationTime,
        last_write_time: e.lastWriteTime,
        change_time: e.changeTime,
        attributes: e.attributes,
        permission_key: e.permissionKey,
        size: e.size,
        ...contentColumns(e),
        extents: encodeExtents(e.extents),
      }
      const { account: _a, share: _s, parent_key: _p, name_key: _n, ...rest } = row
      await fdb
        .insertInto('file_entries')
        .values(row)
        .onConflict((oc) => oc.columns(['account', 'share', 'parent_key', 'name_key']).doUpdateSet(rest))
        .execute()
    },
    async deleteEntry(k) {
      const r = await fdb
        .deleteFrom('file_entries')
        .where('account', '=', k.account)
        .where('share', '=', k.share)
        .where('parent_key', '=', k.parentKey)
        .where('name_key', '=', k.nameKey)
        .executeTakeFirst()
      return Number(r.numDeletedRows) > 0
    },
    async hasChildren(q) {
      const r = await fdb
        .selectFrom('file_entries')
        .select('name_key')
        .where('account', '=', q.account)
        .where('share', '=', q.share)
        .where('parent_key', '=', q.dirKey)
        .limit(1)
        .executeTakeFirst()
      return r !== undefined
    },
    async listChildren(q) {
      let s = fdb
        .selectFrom('file_entries')
        .select([
          'account',
          'share',
          'parent_key',
          'name_key',
          'name',
          'kind',
          'file_id',
          'parent_id',
          'etag',
          'modified_at',
          'creation_time',
          'last_write_time',
          'change_time',
          'attributes',
          'permission_key',
          'size',
          ...CONTENT_COLUMNS,
        ])
        .where('account', '=', q.account)
        .where('share', '=', q.share)
        .where('parent_key', '=', q.parentKey)
      if (q.prefix) {
        s = s.where('name_key', '>=', q.prefix)
        const upper = successor(q.prefix)
        if (upper !== undefined) s = s.where('name_key', '<', upper)
      }
      if (q.after !== undefined) s = s.where('name_key', '>', q.after)
      const rows = await s.orderBy('name_key').limit(q.limit).execute()
      return rows.map((r) => toEntry({ ...r, extents: '[]' } as EntryRow, false))
    },
    async usage(q) {
      const r = await fdb
        .selectFrom('file_entries')
        .select((eb) => eb.fn.sum<number>('size').as('total'))
        .where('account', '=', q.account)
        .where('share', '=', q.share)
        .executeTakeFirst()
      return Number(r?.total ?? 0)
    },
    async putPermission(q) {
      await fdb
        .insertInto('file_permissions')
        .values({ account: q.account, share: q.share, permission_key: q.key, sddl: q.sddl })
        .onConflict((oc) => oc.columns(['account', 'share', 'permission_key']).doUpdateSet({ sddl: q.sddl }))
        .execute()
    },
    async getPermission(q) {
      const r = await fdb
        .selectFrom('file_permissions')
        .select('sddl')
        .where('account', '=', q.account)
        .where('share', '=', q.share)
        .where('permission_key', '=', q.key)
        .executeTakeFirst()
      return r?.sddl
    },
    async purge(q) {
      const files: string[] = []
      let rows = fdb.selectFrom('file_entries').select('extents').where('account', '=', q.account)
      if (q.share !== null) rows = rows.where('share', '=', q.share)
      for (const r of await rows.execute()) for (const e of decodeExtents(r.extents)) files.push(e.file)
      let d1 = fdb.deleteFrom('file_entries').where('account', '=', q.account)
      if (q.share !== null) d1 = d1.where('share', '=', q.share)
      await d1.execute()
      let d2 = fdb.deleteFrom('file_permissions').where('account', '=', q.account)
      if (q.share !== null) d2 = d2.where('share', '=', q.share)
      await d2.execute()
      return [...new Set(files)]
    },
    async referencedFiles() {
      const out = new Set<string>()
      // Paged by key so a large store is not read in one result set; directories have no extents.
      const key = ['account', 'share', 'parent_key', 'name_key'] as const
      await forEachPage(
        1000,
        (last: Pick<EntryRow, (typeof key)[number] | 'extents'> | undefined) => {
          let q = fdb
            .selectFrom('file_entries')
            .select([...key, 'extents'])
            .where('kind', '=', 'file')
          if (last) q = q.where((eb) => afterKey(eb, key, last))
          return q.orderBy('account').orderBy('share').orderBy('parent_key').orderBy('name_key').limit(1000).execute()
        },
        (r) => {
          for (const e of decodeExtents(r.extents)) out.add(e.file)
        },
      )
      return out
    },
    async sharesWithData() {
      const a = await fdb.selectFrom('file_entries').select(['account', 'share']).distinct().execute()
      const b = await fdb.selectFrom('file_permissions').select(['account', 'share']).distinct().execute()
      const seen = new Map<string, { account: string; share: string }>()
      for (const r of [...a, ...b]) seen.set(`${r.account}/${r.share}`, { account: r.account, share: r.share })
      return [...seen.values()]
    },
  }
  return self
}
