/** The control plane's data, independent of wire versions. */

export interface Subscription {
  id: string
  tenantId: string
  displayName: string
  state: 'Enabled' | 'Disabled' | 'Warned' | 'PastDue' | 'Deleted'
  createdAt: number
}

export interface ResourceGroup {
  subscriptionId: string
  name: string
  location: string
  tags: Record<string, string>
  managedBy: string | null
  createdAt: number
  updatedAt: number
}

export interface AttachedUserIdentity {
  /** ARM id of the user-assigned identity, canonical casing. */
  id: string
  /** Copied when attached, so a dangling reference still renders (PATCH R10). */
  principalId: string
  clientId: string
}

/** The managed identities a resource carries. */
export interface IdentityState {
  system: { principalId: string; tenantId: string; clientId: string } | null
  user: AttachedUserIdentity[]
}

export interface Resource {
  /** ARM id with canonical segment casing and the names as created. */
  id: string
  subscriptionId: string
  resourceGroup: string | null
  /** Full type, e.g. `Microsoft.Compute/virtualMachines` or `Microsoft.Compute/virtualMachines/extensions`. */
  type: string
  name: string
  parentId: string | null
  location: string | null
  tags: Record<string, string>
  properties: Record<string, unknown>
  identity: IdentityState | null
  /** Other top-level members kept verbatim (sku, kind, zones, plan, …). */
  extra: Record<string, unknown>
  etag: string
  createdAt: number
  updatedAt: number
  createdBy: string | null
}
