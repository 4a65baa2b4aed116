import type { Clock } from '../kernel/clock.ts'
import type { Logger } from '../kernel/log.ts'
import {
  type AssignmentIndex,
  type CheckKind,
  type Decision,
  type RoleAssignment,
  type RoleDefinition,
  builtInRoles,
  createAssignmentIndex,
  createRoleCatalogue,
  evaluate,
} from '../rbac/index.ts'
import type { ArmStore, ChangeFeed } from './ports.ts'

/**
 * The live authorization state of this node: every role assignment in an in-memory index (built from the store at
 * start), kept current by this node's writes and, across nodes, by the change feed.
 */
export interface AccessControl {
  check(q: { principalId: string; action: string; scope: string; kind?: CheckKind }): Decision
  explain(q: { principalId: string; action: string; scope: string; kind?: CheckKind }): Decision
  roles(): RoleDefinition[]
  role(id: string): RoleDefinition | undefined
  /** Re-reads one assignment (or role) from the store after a write, here and on every sibling node. */
  assignmentChanged(id: string): Promise<void>
  roleChanged(id: string): Promise<void>
  /** Applies a change without reading the store (a write this node just made). */
  putLocal(a: RoleAssignment): void
  removeLocal(id: string): void
  assignments(): AssignmentIndex
  close(): Promise<void>
}

export async function createAccessControl(deps: {
  store: ArmStore
  feed: ChangeFeed
  clock: Clock
  logger: Logger
  /** Assignments take effect this long after creation (Azure documents up to 5 minutes; RBAC-009). */
  propagationDelayMs: number
}): Promise<AccessControl> {
  const catalogue = createRoleCatalogue(builtInRoles())
  for (const d of await deps.store.listRoleDefinitions()) catalogue.put(d)
  const initial = await deps.store.listRoleAssignments()
  const index = createAssignmentIndex(initial)
  // Assignments already stored when this node starts (the bootstrap administrator's among them) are in force at once:
  // the delay models replication after a write, and a fresh server must not lock its own administrator out.
  const preexisting = new Set(initial.map((a) => a.id.toLowerCase()))

  const effective = (): AssignmentIndex => index
  const visible = (a: RoleAssignment) =>
    deps.propagationDelayMs === 0 ||
    preexisting.has(a.id.toLowerCase()) ||
    a.createdAt + deps.propagationDelayMs <= deps.clock.now()

  async function reloadAssignment(id: string): Promise<void> {
    const a = await deps.store.getRoleAssignment(id)
    if (a) index.put(a)
    else {
      index.remove(id)
      preexisting.delete(id.toLowerCase())
    }
  }
  async function reloadRole(id: string): Promise<void> {
    const all = await deps.store.listRoleDefinitions()
    const d = all.find((r) => r.id.toLowerCase() === id.toLowerCase())
    if (d) catalogue.put(d)
    else if (catalogue.get(id)?.type === 'CustomRole') catalogue.remove(id)
  }

  const unsubscribe = await deps.feed.subscribe('rbac', (payload) => {
    const [kind, id] = payload.split(':')
    if (!id) return
    const p = kind === 'role' ? reloadRole(id) : reloadAssignment(id)
    p.catch((err) => deps.logger.warn('rbac change feed reload failed', { err, payload }))
  })

  const run = (q: { principalId: string; action: string; scope: string; kind?: CheckKind }, explain: boolean) => {
    const d = evaluate({
      index: effective(),
      roles: catalogue,
      principalIds: [q.principalId],
      action: q.action,
      scope: q.scope,
      kind: q.kind ?? 'action',
      explain,
    })
    if (d.allowed && d.grant && !visible(d.grant.assignment)) {
      // The grant exists but has not "propagated" yet: look for another one, as if this one were absent.
      const without = createAssignmentIndex([...index.forPrincipal(q.principalId)].filter(visible))
      return evaluate({
        index: without,
        roles: catalogue,
        principalIds: [q.principalId],
        action: q.action,
        scope: q.scope,
        kind: q.kind ?? 'action',
        explain,
      })
    }
    return d
  }

  return {
    check: (q) => run(q, false),
    explain: (q) => run(q, true),
    roles: () => catalogue.all(),
    role: (id) => catalogue.get(id),
    async assignmentChanged(id) {
      await reloadAssignment(id)
      await deps.feed.publish('rbac', `assignment:${id}`)
    },
    async roleChanged(id) {
      await reloadRole(id)
      await deps.feed.publish('rbac', `role:${id}`)
    },
    putLocal: (a) => index.put(a),
    removeLocal: (id) => {
      index.remove(id)
      preexisting.delete(id.toLowerCase())
    },
    assignments: () => index,
    close: () => unsubscribe(),
  }
}
