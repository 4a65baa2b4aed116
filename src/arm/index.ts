import { AUTHORIZATION_TYPES } from './providers/authorization.ts'
import { DOCUMENTDB_TYPES } from './providers/documentdb.ts'
import { HOST_TYPES } from './providers/hosts.ts'
import { KEYVAULT_TYPES } from './providers/keyvault.ts'
import { MANAGED_IDENTITY_TYPES } from './providers/managed-identity.ts'
import { STORAGE_TYPES } from './providers/storage.ts'
import { createRegistry, type Registry, type ResourceType } from './registry.ts'

export { type AccessControl, createAccessControl } from './access.ts'
export type { ArmDeps, ArmHooks, ArmSettings } from './context.ts'
export { ARM_ERRORS, ArmError, type ArmErrorCode } from './errors.ts'
export type { AttachedUserIdentity, IdentityState, Resource, ResourceGroup, Subscription } from './model.ts'
export type { ArmStore, ChangeFeed } from './ports.ts'
export { HOST_TYPE_NAMES } from './providers/hosts.ts'
export { createArmApp } from './routes.ts'
export type { Registry, ResourceType } from './registry.ts'

/** Every resource type azid's ARM serves. */
export function defaultRegistry(extra: readonly ResourceType[] = []): Registry {
  return createRegistry([
    ...MANAGED_IDENTITY_TYPES,
    ...HOST_TYPES,
    ...AUTHORIZATION_TYPES,
    ...STORAGE_TYPES,
    ...KEYVAULT_TYPES,
    ...DOCUMENTDB_TYPES,
    ...extra,
  ])
}
