/** A resource that carries managed identities, as the managed-identity endpoints see it. */
export interface Host {
  /** ARM id, canonical casing. */
  id: string
  type: string
  name: string
  location: string | null
  subscriptionId: string
  resourceGroup: string | null
  tenantId: string
  identity: {
    system: { principalId: string; clientId: string; tenantId: string } | null
    user: readonly { id: string; principalId: string; clientId: string }[]
  } | null
  /** Creation time: per-host secrets are bound to it, so a re-created host gets new ones. */
  createdAt: number
  tags: Readonly<Record<string, string>>
  properties: Readonly<Record<string, unknown>>
  extra: Readonly<Record<string, unknown>>
  /** Port of the legacy managed-identity VM extension, when the host has one (VMEXT-004). */
  extensionPort: number | null
}

/** Where hosts come from (ARM's store; wired by the server so that mi/ does not depend on arm/). */
export interface HostSource {
  getHost(id: string): Promise<Host | undefined>
  listHosts(): Promise<Host[]>
}
