import { CompiledQuery, type Kysely } from 'kysely'
import type { AuditEvent } from '../audit/model.ts'
import type { AuditStore } from '../audit/ports.ts'
import { rawSqlite } from './db.ts'
import type { Db } from './schema.ts'

export function createAuditStore(db: Kysely<Db>): AuditStore {
  const row = (e: AuditEvent) => ({
    id: e.id,
    seq: e.seq,
    at: e.at,
    kind: e.kind,
    result: e.result,
    tenant_id: e.tenantId,
    client_id: e.clientId,
    principal_id: e.principalId,
    host: e.host,
    audience: e.audience,
    grant_type: e.grantType,
    reason: e.reason,
    error_code: e.errorCode,
    request_id: e.requestId,
    details: e.details === null || e.details === undefined ? null : JSON.stringify(e.details),
  })
  let insertSql: string | undefined
  /** A row's values in column order, a missing value as NULL. */
  const values = (e: AuditEvent): unknown[] => Object.values(row(e)).map((v) => v ?? null)
  /** The single-row insert of `e`: the SQL text (with this dialect's placeholders) is compiled by the first call. */
  const insertOne = (e: AuditEvent): CompiledQuery => {
    // Every column present (undefined would drop one), so the parameters follow the compiled column order.
    insertSql ??= db
      .insertInto('audit_events')
      .values(Object.fromEntries(Object.entries(row(e)).map(([k, v]) => [k, v ?? null])) as ReturnType<typeof row>)
      .compile().sql
    return CompiledQuery.raw(insertSql, values(e))
  }
  // SQLite: one better-sqlite3 transaction of prepared single-row inserts, run synchronously while Kysely's connection
  // is held (through Kysely each row cost an async round of its driver: ~20 µs a row against ~4 µs).
  const sqlite = rawSqlite(db)
  let stmt: ReturnType<NonNullable<typeof sqlite>['prepare']> | undefined
  const insertRaw = sqlite?.transaction((events: readonly AuditEvent[]) => {
    for (const e of events) {
      stmt ??= sqlite.prepare(insertOne(e).sql)
      stmt.run(values(e))
    }
  })
  return {
    async insertEvents(events) {
      if (events.length === 0) return
      if (insertRaw) {
        await db.connection().execute(async () => insertRaw(events))
        return
      }
      if (events.length === 1) {
        await db.executeQuery(insertOne(events[0] as AuditEvent))
        return
      }
      // One statement per row, its SQL compiled once and prepared once (a multi-row insert had a new shape, a fresh
      // compile and prepare of ~2,000 parameters, on every batch); one transaction keeps a batch whole.
      await db.transaction().execute(async (trx) => {
        for (const e of events) await trx.executeQuery(insertOne(e))
      })
    },
    async queryEvents(q) {
      let query = db.selectFrom('audit_events').selectAll()
      if (q.kind) query = query.where('kind', '=', q.kind)
      if (q.result) query = query.where('result', '=', q.result)
      if (q.principalId) query = query.where('principal_id', '=', q.principalId.toLowerCase())
      if (q.clientId) query = query.where('client_id', '=', q.clientId.toLowerCase())
      if (q.host) query = query.where('host', '=', q.host)
      if (q.audience) query = query.where('audience', '=', q.audience)
      if (q.tenantId) query = query.where('tenant_id', '=', q.tenantId)
      if (q.afterSeq !== undefined) query = query.where('seq', '>', q.afterSeq)
      if (q.sinceMs !== undefined) query = query.where('at', '>=', q.sinceMs)
      query = query.orderBy('seq', q.order === 'asc' ? 'asc' : 'desc').limit(Math.min(q.limit ?? 100, 10_000))
      const rows = await query.execute()
      return rows.map(
        (r): AuditEvent => ({
          id: r.id,
          seq: Number(r.seq),
          at: Number(r.at),
          kind: r.kind as AuditEvent['kind'],
          result: r.result as AuditEvent['result'],
          tenantId: r.tenant_id,
          clientId: r.client_id,
          principalId: r.principal_id,
          host: r.host,
          audience: r.audience,
          grantType: r.grant_type,
          reason: r.reason,
          errorCode: r.error_code,
          requestId: r.request_id,
          details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
        }),
      )
    },
  }
}
