import { createRequire } from 'node:module'
import type { RoleDefinition } from './model.ts'

interface RawRole {
  name: string
  roleName: string
  description: string
  type: string
  assignableScopes: string[]
  permissions: RoleDefinition['permissions']
}

/** Built-in roles with Microsoft's real GUIDs and permissions (api-shapes Appendix A; source in the JSON file). */
export function builtInRoles(): RoleDefinition[] {
  const data = createRequire(import.meta.url)('./builtin-roles.json') as { roles: RawRole[] }
  return data.roles.map((r) => ({
    id: r.name,
    roleName: r.roleName,
    description: r.description,
    type: 'BuiltInRole' as const,
    assignableScopes: r.assignableScopes,
    permissions: r.permissions,
    scope: '/',
    createdAt: Date.UTC(2015, 1, 2, 21, 55, 9),
    updatedAt: Date.UTC(2024, 0, 1),
  }))
}
