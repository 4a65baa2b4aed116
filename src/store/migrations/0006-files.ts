import { type ColumnDefinitionBuilder, type Kysely, sql } from 'kysely'

type Dialect = 'sqlite' | 'postgres'

/**
 * File service metadata: one row per directory or file (SMB properties, HTTP properties, metadata, and for files the
 * extents naming content files), keyed by share, the lower-case path of the parent directory and the lower-case name
 * (Azure Files names are case-insensitive); and the security descriptors stored by Create Permission. Shares are ARM
 * resources (0002). Keys sort bytewise on both dialects (`collate "C"` in PostgreSQL), the order listings page in.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer'
  const key = (c: ColumnDefinitionBuilder) => (dialect === 'postgres' ? c.modifyEnd(sql`collate "C"`) : c)
  await db.schema
    .createTable('file_entries')
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('share', 'text', (c) => c.notNull())
    .addColumn('parent_key', 'text', (c) => key(c).notNull())
    .addColumn('name_key', 'text', (c) => key(c).notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('file_id', 'text', (c) => c.notNull())
    .addColumn('parent_id', 'text', (c) => c.notNull())
    .addColumn('etag', 'text', (c) => c.notNull())
    .addColumn('modified_at', time, (c) => c.notNull())
    .addColumn('creation_time', 'text', (c) => c.notNull())
    .addColumn('last_write_time', 'text', (c) => c.notNull())
    .addColumn('change_time', 'text', (c) => c.notNull())
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('permission_key', 'text', (c) => c.notNull())
    .addColumn('size', time, (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('content_encoding', 'text')
    .addColumn('content_language', 'text')
    .addColumn('content_disposition', 'text')
    .addColumn('cache_control', 'text')
    .addColumn('content_md5', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    /** JSON: [[offset, length, file, at], …] */
    .addColumn('extents', 'text', (c) => c.notNull().defaultTo('[]'))
    .addPrimaryKeyConstraint('file_entries_pk', ['account', 'share', 'parent_key', 'name_key'])
    .execute()
  await db.schema
    .createTable('file_permissions')
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('share', 'text', (c) => c.notNull())
    .addColumn('permission_key', 'text', (c) => c.notNull())
    .addColumn('sddl', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('file_permissions_pk', ['account', 'share', 'permission_key'])
    .execute()
}
