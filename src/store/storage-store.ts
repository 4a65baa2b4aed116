import type { Kysely, Selectable, Transaction } from 'kysely'
import type { BlobKey, BlobRecord, BlobStore, CommittedBlock, CopyState } from '../dataplane/ports.ts'
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

/** Tables of migration 0004 (kept here: the Blob service is their only user). */
export type StorageTables = {
  storage_blobs: {
    account: string
    container: string
    name: string
    etag: string
    size: number
    created_at: number
    modified_at: number
    /** JSON: [[id|null, size, file], …] */
    blocks: string
    copy: string | null
  } & ContentColumns
  storage_blocks: {
    account: string
    container: string
    blob: string
    block_id: string
    size: number
    file: string
    created_at: number
  }
}

type SDb = Db & StorageTables
type BlobRow = Selectable<StorageTables['storage_blobs']>

const encodeBlocks = (blocks: readonly CommittedBlock[]) => JSON.stringify(blocks.map((b) => [b.id, b.size, b.file]))
const decodeBlocks = (s: string): CommittedBlock[] =>
  (JSON.parse(s) as [string | null, number, string][]).map(([id, size, file]) => ({ id, size, file }))

function toBlob(r: BlobRow, withBlocks = true): BlobRecord {
  return {
    account: r.account,
    container: r.container,
    name: r.name,
    etag: r.etag,
    size: Number(r.size),
    createdAt: Number(r.created_at),
    modifiedAt: Number(r.modified_at),
    ...contentProperties(r),
    blocks: withBlocks ? decodeBlocks(r.blocks) : [],
    copy: r.copy === null ? null : (JSON.parse(r.copy) as CopyState),
  }
}

export function createStorageStore(db: Kysely<Db>, dialect: DialectName): BlobStore {
  return make(db.withTables<StorageTables>(), dialect, false)
}

function make(sdb: Kysely<SDb>, dialect: DialectName, inTx: boolean): BlobStore {
  const where = (k: BlobKey) =>
    sdb
      .selectFrom('storage_blobs')
      .where('account', '=', k.account)
      .where('container', '=', k.container)
      .where('name', '=', k.name)

  const self: BlobStore = {
    transaction(fn) {
      if (inTx) return fn(self)
      return sdb.transaction().execute((trx: Transaction<SDb>) => fn(make(trx, dialect, true)))
    },
    async getBlob(k, opts) {
      let q = where(k).selectAll()
      if (opts?.forUpdate && dialect === 'postgres') q = q.forUpdate()
      const r = await q.executeTakeFirst()
      return r && toBlob(r)
    },
    async listBlobs(q) {
      const withBlocks = q.withBlocks ?? true
      let s = sdb
        .selectFrom('storage_blobs')
        .select([
          'account',
          'container',
          'name',
          'etag',
          'size',
          'created_at',
          'modified_at',
          ...CONTENT_COLUMNS,
          'copy',
        ])
        .$if(withBlocks, (x) => x.select('blocks'))
        .where('account', '=', q.account)
        .where('container', '=', q.container)
      const lower = q.prefix && (!q.from || q.prefix > q.from) ? q.prefix : q.from
      if (lower) s = s.where('name', '>=', lower)
      if (q.after !== undefined) s = s.where('name', '>', q.after)
      if (q.prefix) {
        const upper = successor(q.prefix)
        if (upper !== undefined) s = s.where('name', '<', upper)
      }
      const rows = await s.orderBy('name').limit(q.limit).execute()
      return rows.map((r) => toBlob({ blocks: '[]', ...r } as BlobRow, withBlocks))
    },
    async putBlob(b) {
      const row = {
        account: b.account,
        container: b.container,
        name: b.name,
        etag: b.etag,
        size: b.size,
        created_at: b.createdAt,
        modified_at: b.modifiedAt,
        ...contentColumns(b),
        blocks: encodeBlocks(b.blocks),
        copy: b.copy === null ? null : JSON.stringify(b.copy),
      }
      const { account: _a, container: _c, name: _n, ...rest } = row
      await sdb
        .insertInto('storage_blobs')
        .values(row)
        .onConflict((oc) => oc.columns(['account', 'container', 'name']).doUpdateSet(rest))
        .execute()
    },
    async deleteBlob(k) {
      const r = await sdb
        .deleteFrom('storage_blobs')
        .where('account', '=', k.account)
        .where('container', '=', k.container)
        .where('name', '=', k.name)
        .executeTakeFirst()
      return Number(r.numDeletedRows) > 0
    },
    async listUncommitted(k) {
      const rows = await sdb
        .selectFrom('storage_blocks')
        .selectAll()
        .where('account', '=', k.account)
        .where('container', '=', k.container)
        .where('blob', '=', k.name)
        .orderBy('created_at')
        .orderBy('block_id')
        .execute()
      return rows.map((r) => ({ id: r.block_id, size: Number(r.size), file: r.file, createdAt: Number(r.created_at) }))
    },
    async putUncommitted(k, b) {
      const prior = await sdb
        .selectFrom('storage_blocks')
        .selectAll()
        .where('account', '=', k.account)
        .where('container', '=', k.container)
        .where('blob', '=', k.name)
        .where('block_id', '=', b.id)
        .executeTakeFirst()
      const row = {
        account: k.account,
        container: k.container,
        blob: k.name,
        block_id: b.id,
        size: b.size,
        file: b.file,
        created_at: b.createdAt,
      }
      await sdb
        .insertInto('storage_blocks')
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['account', 'container', 'blob', 'block_id'])
            .doUpdateSet({ size: row.size, file: row.file, created_at: row.created_at }),
        )
        .execute()
      return (
        prior && { id: prior.block_id, size: Number(prior.size), file: prior.file, createdAt: Number(prior.created_at) }
      )
    },
    async deleteUncommitted(k) {
      const all = await self.listUncommitted(k)
      if (all.length === 0) return []
      await sdb
        .deleteFrom('storage_blocks')
        .where('account', '=', k.account)
        .where('container', '=', k.container)
        .where('blob', '=', k.name)
        .execute()
      return all
    },
    async purge(q) {
      const files: string[] = []
      let blobs = sdb.selectFrom('storage_blobs').select('blocks').where('account', '=', q.account)
      if (q.container !== null) blobs = blobs.where('container', '=', q.container)
      for (const r of await blobs.execute()) for (const b of decodeBlocks(r.blocks)) files.push(b.file)
      let blocks = sdb.selectFrom('storage_blocks').select('file').where('account', '=', q.account)
      if (q.container !== null) blocks = blocks.where('container', '=', q.container)
      for (const r of await blocks.execute()) files.push(r.file)
      let d1 = sdb.deleteFrom('storage_blobs').where('account', '=', q.account)
      if (q.container !== null) d1 = d1.where('container', '=', q.container)
      await d1.execute()
      let d2 = sdb.deleteFrom('storage_blocks').where('account', '=', q.account)
      if (q.container !== null) d2 = d2.where('container', '=', q.container)
      await d2.execute()
      return files
    },
    async expiredUncommitted(q) {
      const rows = await sdb
        .selectFrom('storage_blocks')
        .selectAll()
        .where('created_at', '<', q.before)
        .orderBy('created_at')
        .limit(q.limit)
        .execute()
      return rows.map((r) => ({
        key: { account: r.account, container: r.container, name: r.blob },
        id: r.block_id,
        size: Number(r.size),
        file: r.file,
        createdAt: Number(r.created_at),
      }))
    },
    async deleteUncommittedBlock(k, id) {
      const r = await sdb
        .deleteFrom('storage_blocks')
        .where('account', '=', k.account)
        .where('container', '=', k.container)
        .where('blob', '=', k.name)
        .where('block_id', '=', id)
        .executeTakeFirst()
      return Number(r.numDeletedRows) > 0
    },
    async referencedFiles() {
      const out = new Set<string>()
      // Paged by key so a large store is not read in one result set.
      const key = ['account', 'container', 'name'] as const
      await forEachPage(
        1000,
        (last: Pick<BlobRow, (typeof key)[number] | 'blocks'> | undefined) => {
          let q = sdb.selectFrom('storage_blobs').select([...key, 'blocks'])
          if (last) q = q.where((eb) => afterKey(eb, key, last))
          return q.orderBy('account').orderBy('container').orderBy('name').limit(1000).execute()
        },
        (r) => {
          for (const b of decodeBlocks(r.blocks)) out.add(b.file)
        },
      )
      for (const r of await sdb.selectFrom('storage_blocks').select('file').execute()) out.add(r.file)
      return out
    },
    async containersWithData() {
      const a = await sdb.selectFrom('storage_blobs').select(['account', 'container']).distinct().execute()
      const b = await sdb.selectFrom('storage_blocks').select(['account', 'container']).distinct().execute()
      const seen = new Map<string, { account: string; container: string }>()
      for (const r of [...a, ...b])
        seen.set(`${r.account}/${r.container}`, { account: r.account, container: r.container })
      return [...seen.values()]
    },
  }
  return self
}
