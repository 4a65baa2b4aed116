export { builtInRoles } from './builtin.ts'
export {
  type AssignmentIndex,
  createAssignmentIndex,
  createRoleCatalogue,
  evaluate,
  type RoleCatalogue,
} from './engine.ts'
export { actionMatches, compilePattern } from './match.ts'
export type { CheckKind, Decision, Permission, RoleAssignment, RoleDefinition } from './model.ts'
