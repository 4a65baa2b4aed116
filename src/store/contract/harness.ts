// Shared by the store contract suites (src/store/contract/*.test.ts): the backends every port runs against, and a
// runner that gives each case a fresh, empty, migrated store. Test support only; nothing in src/ imports it.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import { PG_DSN, need } from '../../../test/support/tiers.ts'
import { type Database, type DialectName, openDatabase } from '../db.ts'
import type { Db } from '../schema.ts'

/** A fresh, empty store of one port, and how to dispose of it. */
export type OpenStore<S> = () => Promise<{ store: S; close(): Promise<void> }>

/** One contract case: runs against a fresh store. */
export type Case<S> = readonly [name: string, fn: (store: S) => Promise<void>]

export interface FreshDatabase {
  database: Database
  /** The DSN and data directory it was opened with, to open it again (migration idempotency). */
  dsn: string
  dataDir: string
  close(): Promise<void>
}

export interface Backend {
  name: string
  /** Why this backend cannot run here, or null. */
  unavailable: string | null
  /** A new empty database, migrated, of its own. */
  fresh(): Promise<FreshDatabase>
  /** Stores for one contract run: each `open` gives an empty store; `dispose` frees what the run kept. */
  session(): ContractSession
}

export interface ContractSession {
  open<S>(make: (db: Kysely<Db>) => S): ReturnType<OpenStore<S>>
  dispose(): Promise<void>
}

function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'azid-contract-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

async function sqliteFresh(dsn: 'memory' | 'sqlite'): Promise<FreshDatabase> {
  const tmp = tempDir()
  try {
    const database = await openDatabase({ dsn, dataDir: tmp.dir })
    return {
      database,
      dsn,
      dataDir: tmp.dir,
      async close() {
        await database.close()
        tmp.remove()
      },
    }
  } catch (e) {
    tmp.remove()
    throw e
  }
}

/** Runs `sql` on the admin DSN (the database named in AZID_TEST_PG_DSN). */
async function pgAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_DSN ?? '' })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A database of its own, created on the admin DSN and dropped at close. */
async function postgresFresh(): Promise<FreshDatabase> {
  if (!PG_DSN) throw new Error('AZID_TEST_PG_DSN is not set')
  const name = `azid_contract_${randomBytes(6).toString('hex')}`
  await pgAdmin(`CREATE DATABASE ${name}`)
  const url = new URL(PG_DSN)
  url.pathname = `/${name}`
  const dsn = url.toString()
  const drop = () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  let database: Database
  try {
    database = await openDatabase({ dsn, dataDir: tmpdir() })
  } catch (e) {
    await drop()
    throw e
  }
  return {
    database,
    dsn,
    dataDir: tmpdir(),
    async close() {
      try {
        await database.close()
      } finally {
        await drop()
      }
    },
  }
}

/**
 * Creating and migrating a PostgreSQL database costs a few hundred milliseconds, so a contract run creates one and
 * empties every table (all but Kysely's migration bookkeeping) before each case: as good as a new database, since no
 * table has a sequence or a trigger.
 */
function postgresSession(): { open(): Promise<Database>; dispose(): Promise<void> } {
  let fresh: FreshDatabase | undefined
  return {
    async open() {
      if (!fresh) {
        fresh = await postgresFresh()
        return fresh.database
      }
      const { rows } = await sql<{ tablename: string }>`
        select tablename from pg_tables where schemaname = current_schema() and tablename not like 'kysely_%'
      `.execute(fresh.database.db)
      // DELETE, not TRUNCATE: on tables this small it is a hundred times faster.
      for (const r of rows) await sql`delete from ${sql.table(r.tablename)}`.execute(fresh.database.db)
      return fresh.database
    },
    async dispose() {
      await fresh?.close()
      fresh = undefined
    },
  }
}

function sqliteBackend(name: string, dsn: 'memory' | 'sqlite'): Backend {
  return {
    name,
    unavailable: null,
    fresh: () => sqliteFresh(dsn),
    session() {
      return {
        async open(make) {
          const f = await sqliteFresh(dsn)
          return { store: make(f.database.db), close: f.close }
        },
        async dispose() {},
      }
    },
  }
}

function postgresBackend(): Backend {
  return {
    name: 'postgres',
    unavailable: PG_DSN ? null : 'AZID_TEST_PG_DSN is not set (PostgreSQL store contract)',
    fresh: postgresFresh,
    session() {
      const s = postgresSession()
      return {
        async open(make) {
          return { store: make((await s.open()).db), close: async () => {} }
        },
        dispose: s.dispose,
      }
    },
  }
}

export const BACKENDS: readonly Backend[] = [
  sqliteBackend('sqlite memory', 'memory'),
  sqliteBackend('sqlite file', 'sqlite'),
  postgresBackend(),
]

/**
 * Registers one test per backend whose subtests are the cases, each on a fresh store. A backend that cannot run
 * here is skipped locally and fails under AZID_REQUIRE_ALL_TIERS=1 (test/support/tiers.ts).
 */
export function runContract<S>(q: {
  port: string
  backend: string
  open: OpenStore<S>
  unavailable?: string | null
  /** Called once after the last case. */
  dispose?: () => Promise<void>
  cases: readonly Case<S>[]
}): void {
  test(`${q.port} contract: ${q.backend}`, async (t) => {
    if (!need(t, q.unavailable ?? null)) return
    try {
      for (const [name, fn] of q.cases) {
        await t.test(name, async () => {
          const { store, close } = await q.open()
          try {
            await fn(store)
          } finally {
            await close()
          }
        })
      }
    } finally {
      await q.dispose?.()
    }
  })
}

/** The runner of one port's contract against one backend (`open` gives an empty store for each case). */
export const contractRunner =
  <S>(port: string, cases: readonly Case<S>[]) =>
  (backend: string, open: OpenStore<S>, opts: { unavailable?: string | null; dispose?: () => Promise<void> } = {}) =>
    runContract({ port, backend, open, ...opts, cases })

/** Runs a port's contract against every backend of BACKENDS (stores with row locks get the dialect). */
export function runOnEveryBackend<S>(
  make: (db: Kysely<Db>, dialect: DialectName) => S,
  run: (name: string, open: OpenStore<S>, opts: { unavailable: string | null; dispose: () => Promise<void> }) => void,
): void {
  for (const b of BACKENDS) {
    const session = b.unavailable === null ? b.session() : undefined
    const dialect: DialectName = b.name === 'postgres' ? 'postgres' : 'sqlite'
    const open = () =>
      session ? session.open((db) => make(db, dialect)) : Promise.reject(new Error(`${b.name} unavailable`))
    run(b.name, open, { unavailable: b.unavailable, dispose: async () => session?.dispose() })
  }
}

/** A GUID made of a case-local number, so cases read well and never collide within a store. */
export const guid = (n: number, prefix = '0000000a'): string =>
  `${prefix}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

/** Sorts a copy by a key, for lists whose order the port does not promise. */
export const sortBy = <T>(xs: readonly T[], key: (x: T) => string): T[] =>
  [...xs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
