/**
 * What configuration as code needs from the running server, and an in-process ARM client bound to one store
 * transaction: apply drives ARM's own handlers (validation, identities, service principals) inside a single
 * transaction, with authorization, cache notifications and audit deferred until it commits.
 */
import type { AccessControl, ArmHooks, ArmStore } from '../../arm/index.ts'
import { createArmApp, defaultRegistry } from '../../arm/index.ts'
import type { AuditLog } from '../../audit/index.ts'
import type { TokenVerifier, VerifiedToken } from '../../auth/index.ts'
import type { Faults } from '../../faults/index.ts'
import type { Clock } from '../../kernel/clock.ts'
import type { Ids } from '../../kernel/ids.ts'
import type { Logger } from '../../kernel/log.ts'
import {
  type AssignmentIndex,
  type Decision,
  type RoleAssignment,
  createAssignmentIndex,
  createRoleCatalogue,
} from '../../rbac/index.ts'
import type { Database } from '../../store/index.ts'
import type { BootstrapCredentials } from '../bootstrap.ts'

export interface WorldDeps {
  database: Database
  access: AccessControl
  faults: Faults
  /** ARM's hooks (managed-identity endpoints and data planes evict their caches). */
  hooks: ArmHooks
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  bootstrap: BootstrapCredentials
  defaultSubscriptionId: string
  /** Where snapshots are kept (`<data>/snapshots`). */
  snapshotDir: string
  /** The directory tables were written past the directory store (apply, restore, reset): caches must forget. */
  directoryChanged: () => void
}

/** api-versions apply uses per type (current ones; every type accepts them). */
export const API = {
  rg: '2022-09-01',
  mi: '2023-01-31',
  auth: '2022-04-01',
  'microsoft.compute/virtualmachines': '2024-11-01',
  'microsoft.compute/virtualmachinescalesets': '2024-11-01',
  'microsoft.web/sites': '2023-12-01',
  'microsoft.containerinstance/containergroups': '2023-05-01',
  'microsoft.hybridcompute/machines': '2024-07-10',
} as const

/** An ARM error answered to an in-process call (its message is ARM's own). */
export class ArmCallError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** What apply must tell the rest of the server once its transaction has committed. */
export interface Deferred {
  assignments: Set<string>
  roles: Set<string>
  hosts: Set<string>
  principals: Set<string>
  hookCalls: ((h: ArmHooks) => void)[]
}

/**
 * Access control for the apply transaction: every check passes (the admin API is fully privileged), role and
 * assignment lookups see this transaction's writes, and change notifications wait for the commit.
 */
function overlayAccess(real: AccessControl, tx: ArmStore, deferred: Deferred): AccessControl {
  const catalogue = createRoleCatalogue(real.roles())
  let index: AssignmentIndex | undefined
  const idx = () => {
    index ??= createAssignmentIndex(real.assignments().all())
    return index
  }
  const allow = (q: { principalId: string; action: string; scope: string; kind?: 'action' | 'dataAction' }) =>
    ({
      allowed: true,
      principalId: q.principalId,
      action: q.action,
      scope: q.scope,
      kind: q.kind ?? 'action',
    }) satisfies Decision
  return {
    check: allow,
    explain: allow,
    roles: () => catalogue.all(),
    role: (id) => catalogue.get(id),
    async assignmentChanged(id) {
      deferred.assignments.add(id)
      const a = await tx.getRoleAssignment(id)
      if (a) idx().put(a)
      else idx().remove(id)
    },
    async roleChanged(id) {
      deferred.roles.add(id)
      const d = (await tx.listRoleDefinitions()).find((r) => r.id.toLowerCase() === id.toLowerCase())
      if (d) catalogue.put(d)
      else if (catalogue.get(id)?.type === 'CustomRole') catalogue.remove(id)
    },
    putLocal: (a: RoleAssignment) => idx().put(a),
    removeLocal: (id: string) => idx().remove(id),
    assignments: () => idx(),
    close: async () => {},
  }
}

export interface TxArm {
  call(method: string, path: string, apiVersion: string, body?: unknown): Promise<Record<string, unknown> | undefined>
  access: AccessControl
}

/** ARM's handlers over `tx`, called in process as the bootstrap administrator. */
export function txArm(deps: WorldDeps, tx: ArmStore, deferred: Deferred): TxArm {
  const b = deps.bootstrap
  const caller: VerifiedToken = {
    claims: { oid: b.servicePrincipalId, appid: b.clientId, tid: b.tenantId },
    tenantId: b.tenantId,
    principalId: b.servicePrincipalId,
    appId: b.clientId,
    isUser: false,
    audience: 'https://management.azure.com/',
    version: 1,
    displayId: b.clientId,
    expiresAt: deps.clock.now() + 3_600_000,
  }
  const verifier: TokenVerifier = { verify: async () => caller }
  const access = overlayAccess(deps.access, tx, deferred)
  const hooks: ArmHooks = {
    hostChanged: (id) => void deferred.hosts.add(id),
    identityDeleted: (p) => void deferred.principals.add(p),
    storageKeysChanged: (n) => void deferred.hookCalls.push((h) => h.storageKeysChanged?.(n)),
    resourceDeleted: (r) => void deferred.hookCalls.push((h) => h.resourceDeleted?.(r)),
  }
  // Authorization decisions of the administrator's own apply are not sign-in events; changes are summarised once.
  const audit: AuditLog = {
    record: () => {},
    flush: async () => {},
    query: (q) => deps.audit.query(q),
    subscribe: () => () => {},
    close: async () => {},
  }
  const app = createArmApp(
    {
      store: tx,
      access,
      verifier,
      audit,
      clock: deps.clock,
      ids: deps.ids,
      logger: deps.logger,
      settings: {
        tenantId: b.tenantId,
        defaultSubscriptionId: deps.defaultSubscriptionId,
        maxBodyBytes: 64 * 1024 * 1024,
        loginEndpoint: () => '',
        graphEndpoint: () => 'https://graph.microsoft.com',
        storageSuffix: 'core.windows.net',
        keyVaultDns: '.vault.azure.net',
      },
      hooks,
    },
    defaultRegistry(),
    { fallbackHost: 'azid.apply' },
  )
  return {
    access,
    async call(method, path, apiVersion, body) {
      const url = `https://azid.apply${path}${path.includes('?') ? '&' : '?'}api-version=${apiVersion}`
      const res = await app.fetch(
        new Request(url, {
          method,
          headers: { authorization: 'Bearer apply', 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      )
      const text = await res.text()
      const json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined
      if (res.status >= 400) {
        const err = (json?.error ?? {}) as { code?: string; message?: string }
        throw new ArmCallError(res.status, err.code ?? String(res.status), err.message ?? `ARM answered ${res.status}`)
      }
      return json
    },
  }
}

/** Tells the server what a committed apply (or restore) changed: RBAC index, host caches, data planes, faults. */
export async function publishDeferred(deps: WorldDeps, d: Deferred): Promise<void> {
  for (const id of d.roles) await deps.access.roleChanged(id)
  for (const id of d.assignments) await deps.access.assignmentChanged(id)
  for (const h of d.hosts) deps.hooks.hostChanged?.(h)
  for (const p of d.principals) deps.hooks.identityDeleted?.(p)
  for (const call of d.hookCalls) call(deps.hooks)
  deps.faults.invalidate()
  deps.directoryChanged()
}

export const newDeferred = (): Deferred => ({
  assignments: new Set(),
  roles: new Set(),
  hosts: new Set(),
  principals: new Set(),
  hookCalls: [],
})
