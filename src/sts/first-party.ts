/**
 * Microsoft first-party applications that exist in every Entra tenant: the resources tokens are issued for,
 * and the public clients (az, AzCopy, …) that sign users in. App ids are Microsoft's real ones.
 */
export interface FirstPartyResource {
  appId: string
  displayName: string
  /** Identifiers accepted as `resource` / scope prefix; compared without a trailing slash, case-insensitively. */
  identifiers: readonly string[]
  /** Host patterns of per-instance identifiers, e.g. `https://myacct.blob.core.windows.net`. */
  hostPatterns?: readonly RegExp[]
  /** Delegated scope put in `scp` for user tokens. */
  delegatedScope: string
}

export const FIRST_PARTY_RESOURCES: readonly FirstPartyResource[] = [
  {
    appId: '797f4846-ba00-4fd7-ba43-dac1f8f63013',
    displayName: 'Windows Azure Service Management API',
    identifiers: ['https://management.azure.com', 'https://management.core.windows.net'],
    delegatedScope: 'user_impersonation',
  },
  {
    appId: 'e406a681-f3d4-42a8-90b6-c2b029497af1',
    displayName: 'Azure Storage',
    identifiers: ['https://storage.azure.com'],
    hostPatterns: [/^https:\/\/[a-z0-9]{3,24}\.(blob|file|queue|table|dfs)\.core\.windows\.net$/],
    delegatedScope: 'user_impersonation',
  },
  {
    appId: 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093',
    displayName: 'Azure Key Vault',
    identifiers: ['https://vault.azure.net'],
    delegatedScope: 'user_impersonation',
  },
  {
    appId: '00000003-0000-0000-c000-000000000000',
    displayName: 'Microsoft Graph',
    identifiers: ['https://graph.microsoft.com'],
    delegatedScope: 'User.Read',
  },
  {
    appId: '00000002-0000-0000-c000-000000000000',
    displayName: 'Windows Azure Active Directory',
    identifiers: ['https://graph.windows.net'],
    delegatedScope: 'User.Read',
  },
  {
    appId: '022907d3-0f1b-48f7-badc-1ba6abab6d66',
    displayName: 'Azure SQL Database',
    identifiers: ['https://database.windows.net'],
    delegatedScope: 'user_impersonation',
  },
  {
    appId: 'e9f49c6b-5ce5-44c8-925d-015017e9f7ad',
    displayName: 'Azure Data Lake',
    identifiers: ['https://datalake.azure.net'],
    delegatedScope: 'user_impersonation',
  },
  {
    appId: '499b84ac-1321-427f-aa17-267ca6975798',
    displayName: 'Azure DevOps',
    identifiers: ['https://app.vssps.visualstudio.com'],
    delegatedScope: 'user_impersonation',
  },
  {
    appId: '80369ed6-5f11-4dd9-bef3-692475845e77',
    displayName: 'Microsoft.EventHubs',
    identifiers: ['https://eventhubs.azure.net'],
    delegatedScope: 'user_impersonation',
  },
  {
    appId: '80a10ef9-8168-493d-abf9-3297c4ef6e3c',
    displayName: 'Microsoft.ServiceBus',
    identifiers: ['https://servicebus.azure.net'],
    delegatedScope: 'user_impersonation',
  },
]

export interface FirstPartyClient {
  appId: string
  displayName: string
  /** https redirect URIs on azid's own origin with exactly these paths (the portal). */
  sameOriginRedirectPaths?: readonly string[]
}

/** Public clients that sign users in; they may use http://localhost redirect URIs on any port. */
export const FIRST_PARTY_PUBLIC_CLIENTS: readonly FirstPartyClient[] = [
  { appId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', displayName: 'Microsoft Azure CLI' },
  { appId: '1950a258-227b-4e31-a9cf-717495945fc2', displayName: 'Microsoft Azure PowerShell' },
  { appId: '579a7132-0e58-4d80-b1e1-7a1e2d337859', displayName: 'AzCopy' },
  { appId: 'aebc6443-996d-45c2-90f0-388ff96faa56', displayName: 'Visual Studio Code' },
  { appId: '872cd9fa-d31f-45e0-9eab-6e460a02d1f1', displayName: 'Visual Studio' },
  // azid's portal (src/ui), a public client using PKCE; Azure Portal's app id, so sign-in logs read as Entra's do.
  { appId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c', displayName: 'azid portal', sameOriginRedirectPaths: ['/portal/'] },
]
