import { mkdirSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, type Migration, type MigrationProvider, Migrator, PostgresDialect, SqliteDialect } from 'kysely'
// pg loads only for a postgres:// store: the embedded default starts without it.
import type pg from 'pg'
import * as m0001 from './migrations/0001-init.ts'
import * as m0002 from './migrations/0002-arm.ts'
import * as m0003 from './migrations/0003-faults.ts'
import * as m0004 from './migrations/0004-storage.ts'
import * as m0005 from './migrations/0005-keyvault.ts'
import * as m0006 from './migrations/0006-files.ts'
import type { Db } from './schema.ts'

/**
 * Kysely prepares every query afresh; preparing is a large share of a small query's cost (docs/performance.md). The
 * same SQL text gets the same prepared statement (better-sqlite3 re-prepares by itself after schema changes). Safe
 * because better-sqlite3 is synchronous and azid never streams a query (an iterating statement cannot be reused).
 */
function withStatementCache(sqlite: SQLite.Database, max = 1000): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>()
  const prepare = (source: string) => {
    let stmt = cache.get(source)
    if (stmt) return stmt
    stmt = sqlite.prepare(source)
    if (cache.size >= max) cache.delete(cache.keys().next().value as string)
    cache.set(source, stmt)
    return stmt
  }
  return new Proxy(sqlite, {
    get(target, prop) {
      if (prop === 'prepare') return prepare
      const v = Reflect.get(target, prop, target)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

export type DialectName = 'sqlite' | 'postgres'

/** The better-sqlite3 handle behind each SQLite Kysely instance this module opened. */
const sqliteHandles = new WeakMap<Kysely<Db>, SQLite.Database>()

/**
 * The raw better-sqlite3 handle of a SQLite store, for a hot write that Kysely's per-statement async path makes slow
 * (the audit log). Use it only inside `db.connection().execute(…)`: that holds Kysely's connection mutex, so no Kysely
 * transaction is open around the raw statements.
 */
export function rawSqlite(db: Kysely<Db>): SQLite.Database | undefined {
  return sqliteHandles.get(db)
}

export interface Database {
  db: Kysely<Db>
  dialect: DialectName
  /** Human-readable location, safe to print (no password). */
  location: string
  /** Change notifications to every node on this store (PostgreSQL NOTIFY; in-process for SQLite). */
  feed: Feed
  close(): Promise<void>
}

export interface Feed {
  publish(channel: string, payload: string): Promise<void>
  subscribe(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>
}

/** SQLite has one writer process: notifications stay in process (and are already applied by the writer). */
function localFeed(): Feed {
  return {
    async publish() {},
    async subscribe() {
      return async () => {}
    },
  }
}

/** PostgreSQL LISTEN/NOTIFY on a dedicated connection; notifications from this node itself are skipped. */
function pgFeed(pool: pg.Pool, nodeId: string): Feed {
  const handlers = new Map<string, Set<(p: string) => void>>()
  let client: pg.PoolClient | undefined
  let connecting: Promise<pg.PoolClient> | undefined
  const channelName = (c: string) => `azid_${c.replace(/[^a-z0-9_]/gi, '')}`
  const connect = async () => {
    if (client) return client
    connecting ??= pool.connect().then((c) => {
      client = c
      c.on('notification', (n) => {
        const payload = n.payload ?? ''
        const sep = payload.indexOf('|')
        if (payload.slice(0, sep) === nodeId) return
        for (const [ch, fns] of handlers)
          if (channelName(ch) === n.channel) for (const fn of fns) fn(payload.slice(sep + 1))
      })
      return c
    })
    return connecting
  }
  return {
    async publish(channel, payload) {
      await pool.query('SELECT pg_notify($1, $2)', [channelName(channel), `${nodeId}|${payload}`])
    },
    async subscribe(channel, fn) {
      const c = await connect()
      let set = handlers.get(channel)
      if (!set) {
        set = new Set()
        handlers.set(channel, set)
        await c.query(`LISTEN ${channelName(channel)}`)
      }
      set.add(fn)
      return async () => {
        set?.delete(fn)
        if (set?.size === 0 && client) {
          handlers.delete(channel)
          await client.query(`UNLISTEN ${channelName(channel)}`).catch(() => {})
        }
        if (handlers.size === 0 && client) {
          client.release()
          client = undefined
          connecting = undefined
        }
      }
    },
  }
}

const MIGRATIONS: Record<string, { up(db: Kysely<unknown>, d: DialectName): Promise<void> }> = {
  '0001-init': m0001,
  '0002-arm': m0002,
  '0003-faults': m0003,
  '0004-storage': m0004,
  '0005-keyvault': m0005,
  '0006-files': m0006,
}

/**
 * Opens the store named by a DSN: `sqlite` (azid.db in dataDir), `sqlite:<path>`, `memory`, or `postgres://…`,
 * and brings its schema up to date.
 */
export async function openDatabase(opts: { dsn: string; dataDir: string; nodeId?: string }): Promise<Database> {
  const { dsn, dataDir } = opts
  let database: Database
  if (dsn.startsWith('postgres://') || dsn.startsWith('postgresql://')) {
    const { default: pgm } = await import('pg')
    const pool = new pgm.Pool({
      connectionString: dsn,
      max: 10,
      // bigint (oid 20) carries epoch milliseconds; they fit a double exactly.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === 20
            ? (v: string) => Number(v)
            : pgm.types.getTypeParser(oid, format)) as typeof pgm.types.getTypeParser,
      },
    })
    // An idle client whose connection the server ends (restart, failover, pg_terminate_backend) emits 'error' on the
    // pool, and an unhandled 'error' event ends the process. The pool has already dropped that client; the next
    // query connects afresh, so there is nothing else to do.
    pool.on('error', () => {})
    const db = new Kysely<Db>({ dialect: new PostgresDialect({ pool }) })
    const feed = pgFeed(pool, opts.nodeId ?? `pid-${process.pid}`)
    database = {
      db,
      dialect: 'postgres',
      location: dsn.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@'),
      feed,
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
    const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) })
    sqliteHandles.set(db, sqlite)
    database = { db, dialect: 'sqlite', location: file, feed: localFeed(), close: () => db.destroy() }
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
