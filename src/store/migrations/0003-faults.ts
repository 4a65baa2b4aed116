import type { Kysely } from 'kysely'

type Dialect = 'sqlite' | 'postgres'

/** Fault rules of the managed-identity endpoints (shared by every node; counts consumed atomically). */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer'
  await db.schema
    .createTable('fault_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('match', 'text', (c) => c.notNull())
    .addColumn('effect', 'text', (c) => c.notNull())
    .addColumn('remaining', 'integer')
    .addColumn('probability', 'real', (c) => c.notNull())
    .addColumn('active_from', time)
    .addColumn('active_until', time)
    .addColumn('description', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .execute()
}
