import type { Resource } from './model.ts'
import type { AuditLog } from '../audit/index.ts'
import type { TokenVerifier, VerifiedToken } from '../auth/index.ts'
import type { Clock } from '../kernel/clock.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import type { AccessControl } from './access.ts'
import { ArmError } from './errors.ts'
import type { ArmStore } from './ports.ts'

export interface ArmSettings {
  tenantId: string
  defaultSubscriptionId: string
  maxBodyBytes: number
  /** Public origins of azid's surfaces, for the metadata document and nextLinks. */
  loginEndpoint: () => string
  graphEndpoint: () => string
  /** Storage and vault suffixes advertised in /metadata/endpoints. */
  storageSuffix: string
  keyVaultDns: string
}

/** Hooks other parts of azid register for resource changes (managed-identity endpoints evict their caches). */
export interface ArmHooks {
  /** A host's identity set changed or the host was deleted. */
  hostChanged?: (hostId: string) => void
  /** A user-assigned identity (or its service principal) was deleted. */
  identityDeleted?: (principalId: string) => void
  /** A storage account's keys were regenerated or the account was deleted (data planes drop cached keys). */
  storageKeysChanged?: (accountName: string) => void
  /** A resource was deleted (after the transaction committed): data planes drop what they keep for it. */
  resourceDeleted?: (r: Resource) => void
}

export interface ArmDeps {
  store: ArmStore
  access: AccessControl
  verifier: TokenVerifier
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  settings: ArmSettings
  hooks: ArmHooks
}

export interface ArmRequest {
  method: string
  /** Normalised path (no doubled or trailing slashes). */
  path: string
  query: URLSearchParams
  apiVersion: string
  /** Parsed JSON body (undefined when empty). */
  body: unknown
  origin: string
  requestId: string
  correlationId: string
  caller: VerifiedToken
}

export interface ArmResult {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export interface Ctx {
  deps: ArmDeps
  req: ArmRequest
  /** Checks an action for the caller and records the decision; throws AuthorizationFailed. */
  authorize(action: string, scope: string, opts?: { kind?: 'action' | 'dataAction' }): void
  /** A linked check (assigning a user-assigned identity): throws LinkedAuthorizationFailed naming the primary action. */
  authorizeLinked(q: { action: string; scope: string; linkedAction: string; linkedScope: string }): void
}

export function createCtx(deps: ArmDeps, req: ArmRequest): Ctx {
  const caller = req.caller
  const record = (action: string, scope: string, allowed: boolean, grant?: string) =>
    deps.audit.record({
      kind: 'authorization',
      result: allowed ? 'success' : 'failure',
      tenantId: caller.tenantId,
      clientId: caller.appId,
      principalId: caller.principalId,
      requestId: req.requestId,
      reason: allowed ? `allowed by ${grant}` : `no role assignment grants ${action}`,
      details: { action, scope, method: req.method },
    })
  return {
    deps,
    req,
    authorize(action, scope, opts) {
      const d = deps.access.check({ principalId: caller.principalId, action, scope, kind: opts?.kind ?? 'action' })
      record(action, scope, d.allowed, d.grant && `${d.grant.role.roleName} at ${d.grant.assignment.scope}`)
      if (!d.allowed)
        throw new ArmError('AuthorizationFailed', {
          client: caller.displayId,
          objectId: caller.principalId,
          action,
          scope,
        })
    },
    authorizeLinked(q) {
      const d = deps.access.check({ principalId: caller.principalId, action: q.linkedAction, scope: q.linkedScope })
      record(
        q.linkedAction,
        q.linkedScope,
        d.allowed,
        d.grant && `${d.grant.role.roleName} at ${d.grant.assignment.scope}`,
      )
      if (!d.allowed)
        throw new ArmError('LinkedAuthorizationFailed', {
          client: caller.displayId,
          objectId: caller.principalId,
          action: q.action,
          scope: q.scope,
          linkedAction: q.linkedAction,
          linkedScope: q.linkedScope,
        })
    },
  }
}
