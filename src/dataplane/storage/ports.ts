// What the storage data planes (Blob, Files) need from the rest of azid. src/server implements these over ARM's
// store (storage accounts are ARM resources); the data planes may not import arm/ (test/architecture.test.ts).

/** A storage account as the data plane sees it. */
export interface StorageAccount {
  name: string
  /** ARM id, canonical casing: the root of every RBAC scope of this account. */
  armId: string
  subscriptionId: string
  /** The tenant of the account's subscription: tokens from other tenants are refused. */
  tenantId: string
  /** key1, key2 (decoded from base64). */
  keys: readonly Buffer[]
  /** `properties.allowSharedKeyAccess` (default true): false refuses Shared Key and key-signed SAS. */
  allowSharedKeyAccess: boolean
  /** `properties.allowBlobPublicAccess` (default false): containers may be read anonymously only when true. */
  allowBlobPublicAccess: boolean
  skuName: string
  kind: string
  isHnsEnabled: boolean
}

/** The HTTP properties and metadata of a blob or a file, as stored and as downloads answer with them. */
export interface ContentProperties {
  contentType: string | null
  contentEncoding: string | null
  contentLanguage: string | null
  contentDisposition: string | null
  cacheControl: string | null
  /**
   * Base64, or null. Blobs: null when unknown (block lists without x-ms-blob-content-md5). Files: as the client set it
   * (Azure Files never computes it).
   */
  contentMd5: string | null
  metadata: Record<string, string>
}

/** Storage accounts by name (names are global, as in Azure). */
export interface AccountDirectory {
  getAccount(name: string): Promise<StorageAccount | undefined>
}
