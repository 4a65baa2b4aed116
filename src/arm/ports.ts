import type { DirectoryStore } from '../directory/index.ts'
import type { RoleAssignment, RoleDefinition } from '../rbac/index.ts'
import type { Resource, ResourceGroup, Subscription } from './model.ts'

export interface ResourceQuery {
  subscriptionId?: string
  resourceGroup?: string
  /** Full type, compared case-insensitively. */
  type?: string
  parentId?: string
  name?: string
  limit?: number
  /** Resume after this id key (paging). */
  after?: string
}

export interface RoleAssignmentQuery {
  principalId?: string
  /** Assignments whose scope is at or below this scope. */
  withinScope?: string
  /** Assignments whose scope is exactly one of these (scope keys, lower case). */
  scopesIn?: readonly string[]
}

/** What the control plane needs from storage; one transaction per write. Implemented by store/. */
export interface ArmStore {
  transaction<T>(fn: (tx: ArmStore) => Promise<T>): Promise<T>
  /** Directory writes that belong to the same transaction (service principals of identities). */
  readonly directory: DirectoryStore

  getSubscription(id: string): Promise<Subscription | undefined>
  listSubscriptions(): Promise<Subscription[]>
  putSubscription(s: Subscription): Promise<void>

  getResourceGroup(subscriptionId: string, name: string): Promise<ResourceGroup | undefined>
  listResourceGroups(subscriptionId: string): Promise<ResourceGroup[]>
  putResourceGroup(g: ResourceGroup): Promise<void>
  deleteResourceGroup(subscriptionId: string, name: string): Promise<void>

  /** With `forUpdate`, the row is locked until the transaction ends (PostgreSQL; SQLite serialises writers). */
  getResource(id: string, opts?: { forUpdate?: boolean }): Promise<Resource | undefined>
  listResources(q: ResourceQuery): Promise<Resource[]>
  /** Inserts or replaces; `expectEtag` makes it fail with 'conflict' when the stored etag differs. */
  putResource(r: Resource, opts?: { expectEtag?: string | null }): Promise<'ok' | 'conflict'>
  deleteResource(id: string): Promise<boolean>

  listRoleDefinitions(): Promise<RoleDefinition[]>
  putRoleDefinition(d: RoleDefinition): Promise<void>
  deleteRoleDefinition(id: string): Promise<boolean>

  listRoleAssignments(q?: RoleAssignmentQuery): Promise<RoleAssignment[]>
  getRoleAssignment(id: string): Promise<RoleAssignment | undefined>
  /** Fails with 'exists' when (scope, role, principal) is already assigned under another id. */
  putRoleAssignment(a: RoleAssignment): Promise<'ok' | 'exists'>
  deleteRoleAssignment(id: string): Promise<boolean>
  deleteRoleAssignmentsWithin(scope: string): Promise<string[]>
}

/** Change notifications between nodes sharing one store (PostgreSQL LISTEN/NOTIFY; a no-op on SQLite). */
export interface ChangeFeed {
  publish(channel: 'rbac', payload: string): Promise<void>
  subscribe(channel: 'rbac', fn: (payload: string) => void): Promise<() => Promise<void>>
}
