/**
 * `azid snapshot save|restore|list|delete` and `azid reset`: a logical dump of every table that holds the world
 * (dialect-neutral JSON, gzipped, in `<data>/snapshots`), restored in one transaction, after which the running
 * server's caches (RBAC index, managed-identity hosts and tokens, data planes, fault rules) are told what changed.
 * Signing keys, the audit log and the store's own metadata are not part of a snapshot: tokens already issued stay
 * verifiable and the log stays a log.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { type Kysely, sql } from 'kysely'
import type { Resource } from '../../arm/index.ts'
import { HOST_TYPE_NAMES } from '../../arm/index.ts'
import { nameGuid } from '../../kernel/ids.ts'
import { createArmStore } from '../../store/index.ts'
import { OWNER_ROLE_ID } from '../bootstrap.ts'
import { type Deferred, type WorldDeps, newDeferred, publishDeferred } from './context.ts'

/** Tables that are not the world: keys, the log, the store's metadata (bootstrap markers). */
const EXCLUDED = new Set(['signing_keys', 'audit_events', 'meta'])
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export class SnapshotError extends Error {
  readonly code: 'NotFound' | 'BadRequest' | 'Conflict'
  constructor(code: 'NotFound' | 'BadRequest' | 'Conflict', message: string) {
    super(message)
    this.code = code
  }
}

interface TableDump {
  columns: string[]
  rows: unknown[][]
}

export interface SnapshotFile {
  format: 'azid-snapshot'
  version: 1
  name: string
  createdAt: number
  dialect: string
  migrations: string[]
  tables: Record<string, TableDump>
}

export interface SnapshotInfo {
  name: string
  createdAt: number
  bytes: number
  rows: number
}

// biome-ignore lint/suspicious/noExplicitAny: raw tables, whatever their columns
type AnyDb = Kysely<any>

const encode = (v: unknown): unknown =>
  Buffer.isBuffer(v) || v instanceof Uint8Array ? { $base64: Buffer.from(v).toString('base64') } : v
const decode = (v: unknown): unknown =>
  v !== null && typeof v === 'object' && '$base64' in (v as object)
    ? Buffer.from(String((v as { $base64: string }).$base64), 'base64')
    : v

async function worldTables(db: AnyDb, dialect: string) {
  const schema =
    dialect === 'postgres'
      ? ((await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s ?? 'public')
      : undefined
  const tables = await db.introspection.getTables()
  return tables.filter((t) => !t.isView && !EXCLUDED.has(t.name) && (schema === undefined || t.schema === schema))
}

async function migrations(db: AnyDb): Promise<string[]> {
  const r = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)
  return r.rows.map((x) => x.name)
}

async function dump(db: AnyDb, dialect: string): Promise<Record<string, TableDump>> {
  const out: Record<string, TableDump> = {}
  for (const t of await worldTables(db, dialect)) {
    const columns = t.columns.map((c) => c.name)
    const rows = (await db.selectFrom(t.name).selectAll().execute()) as Record<string, unknown>[]
    out[t.name] = { columns, rows: rows.map((r) => columns.map((c) => encode(r[c]))) }
  }
  return out
}

/** Replaces every world table's rows with the dump's, in one transaction; returns what the caches must hear. */
async function load(deps: WorldDeps, tables: Record<string, TableDump>): Promise<Deferred> {
  const { db, dialect } = deps.database
  const deferred = newDeferred()
  await db.transaction().execute(async (trx) => {
    const raw = trx as unknown as AnyDb
    const before = await snapshotOfCaches(createArmStore(trx, dialect, true))
    const current = await worldTables(raw, dialect)
    for (const t of current) await raw.deleteFrom(t.name).execute()
    for (const t of current) {
      const d = tables[t.name]
      if (!d || d.rows.length === 0) continue
      const have = new Set(t.columns.map((c) => c.name))
      const cols = d.columns.map((c, i) => [c, i] as const).filter(([c]) => have.has(c))
      const batch = Math.max(1, Math.floor(30_000 / Math.max(1, cols.length)))
      for (let i = 0; i < d.rows.length; i += batch) {
        const values = d.rows
          .slice(i, i + batch)
          .map((r) => Object.fromEntries(cols.map(([c, j]) => [c, decode(r[j])])))
        await raw.insertInto(t.name).values(values).execute()
      }
      if (dialect === 'postgres')
        for (const c of t.columns.filter((x) => x.isAutoIncrementing))
          await sql`select setval(pg_get_serial_sequence(${t.name}, ${c.name}), coalesce((select max(${sql.ref(c.name)}) from ${sql.table(t.name)}), 0) + 1, false)`.execute(
            raw,
          )
    }
    const after = await snapshotOfCaches(createArmStore(trx, dialect, true))
    diffCaches(before, after, deferred)
  })
  return deferred
}

interface CacheView {
  resources: Resource[]
  assignments: Map<string, string>
  roles: Set<string>
}

async function snapshotOfCaches(store: ReturnType<typeof createArmStore>): Promise<CacheView> {
  const resources = await store.listResources({})
  const assignments = new Map((await store.listRoleAssignments()).map((a) => [a.id, JSON.stringify(a)]))
  const roles = new Set((await store.listRoleDefinitions()).map((d) => d.id))
  return { resources, assignments, roles }
}

function diffCaches(before: CacheView, after: CacheView, d: Deferred): void {
  const hostTypes = new Set(HOST_TYPE_NAMES.map((t) => t.toLowerCase()))
  const afterById = new Map(after.resources.map((r) => [r.id.toLowerCase(), r]))
  for (const r of [...before.resources, ...after.resources]) {
    if (r.identity || hostTypes.has(r.type.toLowerCase())) d.hosts.add(r.parentId ?? r.id)
    if (r.type.toLowerCase() === 'microsoft.storage/storageaccounts')
      d.hookCalls.push((h) => h.storageKeysChanged?.(r.name))
  }
  for (const r of before.resources) {
    const p = (r.properties as { principalId?: unknown }).principalId
    if (typeof p === 'string') d.principals.add(p)
    if (r.identity?.system) d.principals.add(r.identity.system.principalId)
    const now = afterById.get(r.id.toLowerCase())
    if (!now || now.etag !== r.etag) d.hookCalls.push((h) => h.resourceDeleted?.(r))
  }
  for (const [id, a] of before.assignments) if (after.assignments.get(id) !== a) d.assignments.add(id)
  for (const id of after.assignments.keys()) if (!before.assignments.has(id)) d.assignments.add(id)
  for (const id of [...before.roles, ...after.roles]) d.roles.add(id)
}

export function createSnapshots(deps: WorldDeps) {
  const dir = deps.snapshotDir
  const fileOf = (name: string) => {
    if (!NAME.test(name))
      throw new SnapshotError(
        'BadRequest',
        `snapshot names are 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), not '${name}'`,
      )
    return join(dir, `${name}.json.gz`)
  }
  const read = (name: string): SnapshotFile => {
    const f = fileOf(name)
    if (!existsSync(f)) throw new SnapshotError('NotFound', `no snapshot named '${name}' (see 'azid snapshot list')`)
    return JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as SnapshotFile
  }
  const rowCount = (s: SnapshotFile) => Object.values(s.tables).reduce((n, t) => n + t.rows.length, 0)

  return {
    async save(name: string, opts: { overwrite?: boolean } = {}): Promise<SnapshotInfo> {
      const f = fileOf(name)
      if (existsSync(f) && !opts.overwrite)
        throw new SnapshotError('Conflict', `a snapshot named '${name}' exists: delete it first or pass --force`)
      // One read transaction: the dump is consistent even while requests write.
      const snap = await deps.database.db.transaction().execute(async (trx) => {
        const raw = trx as unknown as AnyDb
        return {
          format: 'azid-snapshot' as const,
          version: 1 as const,
          name,
          createdAt: deps.clock.now(),
          dialect: deps.database.dialect,
          migrations: await migrations(raw),
          tables: await dump(raw, deps.database.dialect),
        }
      })
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      const bytes = gzipSync(JSON.stringify(snap))
      writeFileSync(f, bytes, { mode: 0o600 })
      return { name, createdAt: snap.createdAt, bytes: bytes.length, rows: rowCount(snap) }
    },

    async restore(name: string): Promise<SnapshotInfo> {
      const snap = read(name)
      if (snap.format !== 'azid-snapshot' || snap.version !== 1)
        throw new SnapshotError('BadRequest', `'${name}' is not an azid snapshot this version can read`)
      const have = new Set(await migrations(deps.database.db as unknown as AnyDb))
      const unknown = snap.migrations.filter((m) => !have.has(m))
      if (unknown.length > 0)
        throw new SnapshotError(
          'BadRequest',
          `snapshot '${name}' comes from a newer azid (schema ${unknown.join(', ')}); upgrade azid to restore it`,
        )
      const deferred = await load(deps, snap.tables)
      await publishDeferred(deps, deferred)
      deps.audit.record({ kind: 'admin', result: 'success', reason: `snapshot '${name}' restored` })
      return { name, createdAt: snap.createdAt, bytes: statSync(fileOf(name)).size, rows: rowCount(snap) }
    },

    list(): SnapshotInfo[] {
      if (!existsSync(dir)) return []
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json.gz'))
        .map((f) => {
          const name = f.slice(0, -'.json.gz'.length)
          try {
            const s = read(name)
            return { name, createdAt: s.createdAt, bytes: statSync(join(dir, f)).size, rows: rowCount(s) }
          } catch {
            return { name, createdAt: 0, bytes: statSync(join(dir, f)).size, rows: 0 }
          }
        })
        .sort((a, b) => a.createdAt - b.createdAt)
    },

    delete(name: string): void {
      const f = fileOf(name)
      if (!existsSync(f)) throw new SnapshotError('NotFound', `no snapshot named '${name}' (see 'azid snapshot list')`)
      rmSync(f)
    },

    /** Back to the state of a fresh start: the default tenant and subscription and the bootstrap administrator. */
    async reset(): Promise<{ removedRows: number }> {
      const b = deps.bootstrap
      const sub = deps.defaultSubscriptionId.toLowerCase()
      const owners = new Set(
        [b.servicePrincipalId, b.userId].map((p) => nameGuid('azid-bootstrap-owner', `${sub}/${p}`)),
      )
      const keep: Record<string, (r: Record<string, unknown>) => boolean> = {
        tenants: (r) => r.id === b.tenantId,
        applications: (r) => r.app_id === b.clientId,
        service_principals: (r) => r.app_id === b.clientId,
        password_credentials: (r) => r.app_id === b.clientId,
        key_credentials: (r) => r.app_id === b.clientId,
        federated_credentials: (r) => r.app_id === b.clientId,
        users: (r) => r.object_id === b.userId,
        subscriptions: (r) => r.id === sub,
        role_assignments: (r) => owners.has(String(r.id)) && r.role_definition_id === OWNER_ROLE_ID,
      }
      const tables = await dump(deps.database.db as unknown as AnyDb, deps.database.dialect)
      let removed = 0
      for (const [name, t] of Object.entries(tables)) {
        const filter = keep[name]
        const kept = filter ? t.rows.filter((r) => filter(Object.fromEntries(t.columns.map((c, i) => [c, r[i]])))) : []
        removed += t.rows.length - kept.length
        t.rows = kept
      }
      const deferred = await load(deps, tables)
      await publishDeferred(deps, deferred)
      deps.audit.record({
        kind: 'admin',
        result: 'success',
        reason: `reset to the bootstrap state (${removed} rows removed)`,
      })
      return { removedRows: removed }
    },
  }
}

export type Snapshots = ReturnType<typeof createSnapshots>
