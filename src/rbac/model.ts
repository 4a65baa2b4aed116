/** RBAC data: role definitions and assignments (api-shapes §4). Pure types, no I/O. */

export interface Permission {
  actions: readonly string[]
  notActions: readonly string[]
  dataActions: readonly string[]
  notDataActions: readonly string[]
}

export interface RoleDefinition {
  /** The role's GUID (`name` on the wire). */
  id: string
  roleName: string
  description: string
  type: 'BuiltInRole' | 'CustomRole'
  assignableScopes: readonly string[]
  permissions: readonly Permission[]
  /** Where a custom role is defined (its id's scope); `/` for built-ins. */
  scope: string
  createdAt: number
  updatedAt: number
}

export interface RoleAssignment {
  /** The assignment's GUID (`name` on the wire). */
  id: string
  /** Scope as given by the client (trailing slash and spaces removed). */
  scope: string
  /** Role definition GUID. */
  roleDefinitionId: string
  principalId: string
  principalType: 'User' | 'Group' | 'ServicePrincipal' | 'ForeignGroup' | 'Device'
  description: string | null
  condition: string | null
  conditionVersion: string | null
  createdAt: number
  updatedAt: number
  createdBy: string | null
  updatedBy: string | null
}

export type CheckKind = 'action' | 'dataAction'

/** Why a request was allowed, or why not: the explain API and the audit log show this. */
export interface Decision {
  allowed: boolean
  principalId: string
  action: string
  scope: string
  kind: CheckKind
  /** The grant that allowed it. */
  grant?: { assignment: RoleAssignment; role: RoleDefinition; pattern: string }
  /** Every assignment of the principal and why it did not apply (explain mode only). */
  considered?: { assignment: RoleAssignment; roleName: string; reason: string }[]
}
