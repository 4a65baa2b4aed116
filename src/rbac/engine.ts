import { idKey, isWithinScope } from '../kernel/resource-id.ts'
import { actionMatches } from './match.ts'
import type { CheckKind, Decision, RoleAssignment, RoleDefinition } from './model.ts'

export interface RoleCatalogue {
  get(roleId: string): RoleDefinition | undefined
  all(): RoleDefinition[]
}

export function createRoleCatalogue(roles: readonly RoleDefinition[]): RoleCatalogue & {
  put(r: RoleDefinition): void
  remove(id: string): void
} {
  const byId = new Map(roles.map((r) => [r.id.toLowerCase(), r]))
  return {
    get: (id) => byId.get(id.toLowerCase()),
    all: () => [...byId.values()],
    put: (r) => void byId.set(r.id.toLowerCase(), r),
    remove: (id) => void byId.delete(id.toLowerCase()),
  }
}

export interface IndexedAssignment {
  a: RoleAssignment
  scopeKey: string
}

/**
 * All role assignments in memory, by principal: an authorization check looks only at the caller's own
 * assignments, so its cost does not grow with the total (issue 3 speed target).
 */
export interface AssignmentIndex {
  put(a: RoleAssignment): void
  remove(assignmentId: string): void
  forPrincipal(principalId: string): readonly RoleAssignment[]
  get(assignmentId: string): RoleAssignment | undefined
  size(): number
  all(): IterableIterator<RoleAssignment>
  /** Assignments of a principal with their precomputed scope keys (for evaluate). */
  entries(principalId: string): readonly IndexedAssignment[] | undefined
}

export function createAssignmentIndex(initial: Iterable<RoleAssignment> = []): AssignmentIndex {
  const byPrincipal = new Map<string, IndexedAssignment[]>()
  const byId = new Map<string, RoleAssignment>()
  const index: AssignmentIndex = {
    put(a) {
      const id = a.id.toLowerCase()
      if (byId.has(id)) index.remove(id)
      byId.set(id, a)
      const p = a.principalId.toLowerCase()
      const list = byPrincipal.get(p)
      const entry = { a, scopeKey: idKey(a.scope) }
      if (list) list.push(entry)
      else byPrincipal.set(p, [entry])
    },
    remove(assignmentId) {
      const id = assignmentId.toLowerCase()
      const a = byId.get(id)
      if (!a) return
      byId.delete(id)
      const p = a.principalId.toLowerCase()
      const list = byPrincipal.get(p)
      if (!list) return
      const next = list.filter((e) => e.a.id.toLowerCase() !== id)
      if (next.length === 0) byPrincipal.delete(p)
      else byPrincipal.set(p, next)
    },
    forPrincipal: (p) => (byPrincipal.get(p.toLowerCase()) ?? []).map((e) => e.a),
    get: (id) => byId.get(id.toLowerCase()),
    size: () => byId.size,
    all: () => byId.values(),
    entries: (p) => byPrincipal.get(p.toLowerCase()),
  }
  for (const a of initial) index.put(a)
  return index
}

function roleGrant(role: RoleDefinition, action: string, kind: CheckKind): string | undefined {
  for (const p of role.permissions) {
    const allow = kind === 'action' ? p.actions : p.dataActions
    const deny = kind === 'action' ? p.notActions : p.notDataActions
    const hit = allow.find((pat) => actionMatches(pat, action))
    // NotActions subtract from this block only; another block or assignment may still grant (role-definitions.md).
    if (hit && !deny.some((pat) => actionMatches(pat, action))) return hit
  }
  return undefined
}

/**
 * Decides whether `principalId` may perform `action` at `scope`: some assignment at the scope or an ancestor whose
 * role grants the action in `actions − notActions` (control plane) or `dataActions − notDataActions` (data plane).
 * Control-plane grants never cover data actions.
 */
export function evaluate(q: {
  index: AssignmentIndex
  roles: RoleCatalogue
  principalIds: readonly string[]
  action: string
  scope: string
  kind: CheckKind
  explain?: boolean
}): Decision {
  const scopeKey = idKey(q.scope)
  const considered: NonNullable<Decision['considered']> = []
  const base = { principalId: q.principalIds[0] ?? '', action: q.action, scope: q.scope, kind: q.kind }
  for (const pid of q.principalIds) {
    const entries = q.index.entries(pid)
    if (!entries) continue
    for (const { a, scopeKey: ak } of entries) {
      const applies = ak === '/' || scopeKey === ak || scopeKey.startsWith(`${ak}/`)
      const role = q.roles.get(a.roleDefinitionId)
      if (!applies) {
        if (q.explain)
          considered.push({
            assignment: a,
            roleName: role?.roleName ?? a.roleDefinitionId,
            reason: `its scope ${a.scope} does not contain ${q.scope}`,
          })
        continue
      }
      if (!role) {
        if (q.explain)
          considered.push({
            assignment: a,
            roleName: a.roleDefinitionId,
            reason: 'its role definition no longer exists',
          })
        continue
      }
      if (a.condition !== null) {
        // Conditions (ABAC) are not evaluated: such an assignment never grants (fail closed; docs/deviations.md).
        if (q.explain)
          considered.push({
            assignment: a,
            roleName: role.roleName,
            reason: 'it has a condition, which azid does not evaluate',
          })
        continue
      }
      const pattern = roleGrant(role, q.action, q.kind)
      if (pattern)
        return { ...base, allowed: true, grant: { assignment: a, role, pattern }, ...(q.explain ? { considered } : {}) }
      if (q.explain)
        considered.push({
          assignment: a,
          roleName: role.roleName,
          reason: `role '${role.roleName}' does not grant ${q.kind === 'action' ? 'action' : 'data action'} ${q.action}`,
        })
    }
  }
  return { ...base, allowed: false, ...(q.explain ? { considered } : {}) }
}

export { isWithinScope }
