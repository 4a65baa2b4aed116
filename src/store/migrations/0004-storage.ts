import { type Kysely, sql } from 'kysely'

type Dialect = 'sqlite' | 'postgres'

/**
 * Blob service metadata: committed block blobs (properties, metadata, their block list naming content files) and
 * uncommitted blocks. Containers are ARM resources (0002). Names compare as binary strings in both dialects, the
 * order List Blobs pages in (`collate "C"` in PostgreSQL, SQLite's default BINARY).
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer'
  const binary = dialect === 'postgres' ? sql`collate "C"` : sql``
  await db.schema
    .createTable('storage_blobs')
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('container', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull().modifyEnd(binary))
    .addColumn('etag', 'text', (c) => c.notNull())
    .addColumn('size', time, (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('modified_at', time, (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('content_encoding', 'text')
    .addColumn('content_language', 'text')
    .addColumn('content_disposition', 'text')
    .addColumn('cache_control', 'text')
    .addColumn('content_md5', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('blocks', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('copy', 'text')
    .addPrimaryKeyConstraint('storage_blobs_pk', ['account', 'container', 'name'])
    .execute()
  await db.schema
    .createTable('storage_blocks')
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('container', 'text', (c) => c.notNull())
    .addColumn('blob', 'text', (c) => c.notNull().modifyEnd(binary))
    .addColumn('block_id', 'text', (c) => c.notNull())
    .addColumn('size', time, (c) => c.notNull())
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('storage_blocks_pk', ['account', 'container', 'blob', 'block_id'])
    .execute()
  await db.schema.createIndex('storage_blocks_created').on('storage_blocks').column('created_at').execute()
}
