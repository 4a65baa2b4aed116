import type { AuditLog } from '../../audit/index.ts'
import type { Clock } from '../../kernel/clock.ts'
import type { CheckKind } from '../../rbac/index.ts'
import type { DataPlaneAccess } from '../ports.ts'

export interface AccessQuery {
  principalId: string
  tenantId: string
  appId: string
  /**
   * What the data plane checks, any one sufficing: `Microsoft.Storage/…/blobs/read` (dataActions) or container
   * Actions. Creating a blob accepts `…/blobs/add/action` or `…/blobs/write` (api-shapes §6.4).
   */
  actions: readonly { action: string; kind: CheckKind }[]
  scope: string
  requestId: string
  method: string
  /** What authenticated the caller (bearer, user delegation SAS): audit detail. */
  via: string
}

export interface DataAccess {
  /** RBAC decision for one action, audited. */
  allowed(q: AccessQuery): boolean
  /** Audits a refused authentication (bad signature, expired token, …). */
  refused(q: {
    requestId: string
    method: string
    code: string
    reason: string
    tenantId?: string
    principalId?: string
    clientId?: string
    details?: Record<string, unknown>
  }): void
}

/**
 * RBAC checks of the data planes with their audit trail. Every denial is recorded; an allowed decision is recorded
 * once per principal, action and scope per `coalesceMs` (default a minute) with the number of identical decisions
 * since — a blob read at thousands per second would otherwise write thousands of identical audit rows.
 */
export function createDataAccess(deps: {
  access: DataPlaneAccess
  audit: AuditLog
  clock: Clock
  service: string
  coalesceMs?: number
}): DataAccess {
  const coalesceMs = deps.coalesceMs ?? 60_000
  const recent = new Map<string, { at: number; repeats: number }>()
  return {
    allowed(q) {
      const first = q.actions[0]
      if (!first) throw new Error('an access check needs an action')
      let d = deps.access.check({ principalId: q.principalId, action: first.action, scope: q.scope, kind: first.kind })
      for (const a of q.actions.slice(1)) {
        if (d.allowed) break
        d = deps.access.check({ principalId: q.principalId, action: a.action, scope: q.scope, kind: a.kind })
      }
      const now = deps.clock.now()
      const action = d.allowed ? d.action : q.actions.map((a) => a.action).join(' or ')
      const details = { service: deps.service, action, scope: q.scope, method: q.method, via: q.via }
      if (d.allowed) {
        const key = `${q.principalId}\n${action}\n${q.scope.toLowerCase()}`
        const seen = recent.get(key)
        if (seen && now - seen.at < coalesceMs) {
          seen.repeats++
          return true
        }
        if (recent.size >= 10_000) recent.clear()
        recent.set(key, { at: now, repeats: 0 })
        deps.audit.record({
          kind: 'authorization',
          result: 'success',
          tenantId: q.tenantId,
          clientId: q.appId,
          principalId: q.principalId,
          requestId: q.requestId,
          reason: d.grant ? `allowed by ${d.grant.role.roleName} at ${d.grant.assignment.scope}` : 'allowed',
          details: { ...details, ...(seen ? { identicalDecisionsSincePrevious: seen.repeats } : {}) },
        })
        return true
      }
      deps.audit.record({
        kind: 'authorization',
        result: 'failure',
        tenantId: q.tenantId,
        clientId: q.appId,
        principalId: q.principalId,
        requestId: q.requestId,
        errorCode: 'AuthorizationPermissionMismatch',
        reason: `no role assignment grants ${action}`,
        details,
      })
      return false
    },
    refused(q) {
      deps.audit.record({
        kind: 'authorization',
        result: 'failure',
        tenantId: q.tenantId ?? null,
        clientId: q.clientId ?? null,
        principalId: q.principalId ?? null,
        requestId: q.requestId,
        errorCode: q.code,
        reason: q.reason,
        details: { service: deps.service, method: q.method, ...q.details },
      })
    },
  }
}
