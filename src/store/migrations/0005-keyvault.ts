import { type ColumnDefinitionBuilder, type Kysely, sql } from 'kysely'

type Dialect = 'sqlite' | 'postgres'

/**
 * Key Vault secrets: one row per secret (name, latest version, soft-delete state) and one per version (the value
 * AES-256-GCM-encrypted, attributes, tags). Keys are the vault's ARM id and the name in lower case; on PostgreSQL
 * they sort bytewise (COLLATE "C"), as on SQLite, so list pages follow the same order on both.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer'
  const key = (c: ColumnDefinitionBuilder) => (dialect === 'postgres' ? c.modifyEnd(sql`collate "C"`) : c)
  await db.schema
    .createTable('kv_secrets')
    .addColumn('vault', 'text', (c) => key(c).notNull())
    .addColumn('name_key', 'text', (c) => key(c).notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('latest_version', 'text', (c) => c.notNull())
    .addColumn('deleted_at', time)
    .addColumn('scheduled_purge_at', time)
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('kv_secrets_pk', ['vault', 'name_key'])
    .execute()
  await db.schema.createIndex('kv_secrets_purge').on('kv_secrets').column('scheduled_purge_at').execute()
  await db.schema
    .createTable('kv_secret_versions')
    .addColumn('vault', 'text', (c) => key(c).notNull())
    .addColumn('name_key', 'text', (c) => key(c).notNull())
    .addColumn('version', 'text', (c) => key(c).notNull())
    .addColumn('value_enc', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('tags', 'text')
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('not_before', time)
    .addColumn('expires', time)
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('kv_secret_versions_pk', ['vault', 'name_key', 'version'])
    .execute()
}
