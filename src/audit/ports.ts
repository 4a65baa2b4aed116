import type { AuditEvent, AuditQuery } from './model.ts'

export interface AuditStore {
  insertEvents(events: readonly AuditEvent[]): Promise<void>
  queryEvents(q: AuditQuery): Promise<AuditEvent[]>
}
