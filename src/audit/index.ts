export type { AuditEvent, AuditQuery } from './model.ts'
export type { AuditStore } from './ports.ts'
export { type AuditInput, type AuditLog, createAuditLog } from './service.ts'
