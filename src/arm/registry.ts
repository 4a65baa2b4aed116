import type { ArmResult, Ctx } from './context.ts'

/** The resource a request addresses, with canonical casing for the fixed parts. */
export interface Target {
  /** Canonical id of the resource (or of the collection for lists). */
  id: string
  subscriptionId: string | null
  resourceGroup: string | null
  /** Where the resource lives: its resource group, its parent resource, or any scope (extension types). */
  parentScope: string
  /** Names along the type chain, e.g. ['vm1', 'ManagedIdentityExtensionForLinux']. */
  names: string[]
  /** The last name; undefined for a collection. */
  name: string | undefined
}

export type Handler = (ctx: Ctx, t: Target) => Promise<ArmResult>

/** One resource type a provider serves: its api-versions, where it lives and its operations (R3: data, not switches). */
export interface ResourceType {
  /** `Microsoft.Compute/virtualMachines`, `Microsoft.Compute/virtualMachines/extensions`. */
  type: string
  apiVersions: readonly string[]
  /** resourceGroup: tracked in a group; extension: under any scope (role assignments); child: under its parent type. */
  placement: 'resourceGroup' | 'extension' | 'child'
  /** Also listed at subscription level (`/subscriptions/s/providers/Ns/type`). */
  listBySubscription?: boolean
  /** Handlers authorize for themselves (list filters, linked checks); otherwise the router checks read/write/delete/action. */
  selfAuthorizing?: boolean
  get?: Handler
  put?: Handler
  patch?: Handler
  delete?: Handler
  list?: Handler
  /** POST actions by lower-case name (`listkeys`). */
  actions?: Record<string, Handler>
}

export interface Registry {
  find(fullType: string): ResourceType | undefined
  namespaces(): string[]
  types(): ResourceType[]
}

export function createRegistry(types: readonly ResourceType[]): Registry {
  const byType = new Map(types.map((t) => [t.type.toLowerCase(), t]))
  return {
    find: (t) => byType.get(t.toLowerCase()),
    namespaces: () => [...new Set(types.map((t) => t.type.split('/')[0] as string))],
    types: () => [...types],
  }
}

/** The namespace part of a type in its canonical casing. */
export const namespaceOf = (type: string) => type.split('/')[0] as string
