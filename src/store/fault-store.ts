import type { Kysely } from 'kysely'
import type { FaultRule } from '../faults/model.ts'
import type { FaultStore } from '../faults/ports.ts'
import type { Db } from './schema.ts'

export function createFaultStore(db: Kysely<Db>): FaultStore {
  return {
    async listFaultRules() {
      const rows = await db.selectFrom('fault_rules').selectAll().orderBy('created_at').execute()
      return rows.map(
        (r): FaultRule => ({
          id: r.id,
          match: JSON.parse(r.match),
          effect: JSON.parse(r.effect),
          remaining: r.remaining === null ? null : Number(r.remaining),
          probability: Number(r.probability),
          from: r.active_from === null ? null : Number(r.active_from),
          until: r.active_until === null ? null : Number(r.active_until),
          createdAt: Number(r.created_at),
          description: r.description,
        }),
      )
    },
    async putFaultRule(r) {
      await db
        .insertInto('fault_rules')
        .values({
          id: r.id,
          match: JSON.stringify(r.match),
          effect: JSON.stringify(r.effect),
          remaining: r.remaining,
          probability: r.probability,
          active_from: r.from,
          active_until: r.until,
          description: r.description,
          created_at: r.createdAt,
        })
        .execute()
    },
    async deleteFaultRule(id) {
      const r = await db.deleteFrom('fault_rules').where('id', '=', id).executeTakeFirst()
      return Number(r.numDeletedRows) > 0
    },
    async clearFaultRules() {
      const r = await db.deleteFrom('fault_rules').executeTakeFirst()
      return Number(r.numDeletedRows)
    },
    async consumeFaultRule(id) {
      const r = await db
        .updateTable('fault_rules')
        .set((eb) => ({ remaining: eb('remaining', '-', 1) }))
        .where('id', '=', id)
        .where('remaining', '>', 0)
        .executeTakeFirst()
      return Number(r.numUpdatedRows) === 1
    },
  }
}
