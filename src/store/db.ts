import { mkdirSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, type Migration, type MigrationProvider, Migrator, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import * as m0001 from './migrations/0001-init.ts'
import type { Db } from './schema.ts'

export type DialectName = 'sqlite' | 'postgres'

export interface Database {
  db: Kysely<Db>
  dialect: DialectName
  /** Human-readable location, safe to print (no password). */
  location: string
  close(): Promise<void>
}

const MIGRATIONS: Record<string, { up(db: Kysely<unknown>, d: DialectName): Promise<void> }> = {
  '0001-init': m0001,
}

/**
 * Opens the store named by a DSN: `sqlite` (azid.db in dataDir), `sqlite:<path>`, `memory`, or `postgres://…`,
 * and brings its schema up to date.
 */
export async function openDatabase(opts: { dsn: string; dataDir: string }): Promise<Database> {
  const { dsn, dataDir } = opts
  let database: Database
  if (dsn.startsWith('postgres://') || dsn.startsWith('postgresql://')) {
    const pool = new pg.Pool({
      connectionString: dsn,
      max: 10,
      // bigint (oid 20) carries epoch milliseconds; they fit a double exactly.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    })
    const db = new Kysely<Db>({ dialect: new PostgresDialect({ pool }) })
    database = {
      db,
      dialect: 'postgres',
      location: dsn.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@'),
      close: () => db.destroy(),
    }
  } else if (dsn === 'memory' || dsn === 'sqlite' || dsn.startsWith('sqlite:')) {
    let file = ':memory:'
    if (dsn === 'sqlite') file = join(dataDir, 'azid.db')
    else if (dsn.startsWith('sqlite:')) {
      const p = dsn.slice('sqlite:'.length)
      file = isAbsolute(p) ? p : join(dataDir, p)
    }
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    const sqlite = new SQLite(file)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('busy_timeout = 5000')
    const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: sqlite }) })
    database = { db, dialect: 'sqlite', location: file, close: () => db.destroy() }
  } else {
    throw new TypeError(
      `store.dsn: expected sqlite, sqlite:<path>, memory or postgres://…, got '${dsn.split(':')[0]}:…'`,
    )
  }
  await migrate(database)
  return database
}

async function migrate(database: Database): Promise<void> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {}
      for (const [name, mod] of Object.entries(MIGRATIONS)) {
        out[name] = { up: (db) => mod.up(db, database.dialect) }
      }
      return out
    },
  }
  const migrator = new Migrator({ db: database.db, provider })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`store migration ${failed?.migrationName ?? ''} failed`, { cause: error })
  }
}
