/**
 * What the Key Vault secrets data plane needs from storage and from the control plane. Times are epoch
 * milliseconds; a vault is keyed by its ARM id in lower case, a secret by its name in lower case (names are
 * case-insensitive; the casing of the first `set` is kept for ids).
 */

/** One secret: the state all its versions share. */
export interface SecretHead {
  /** The vault's ARM id, lower case. */
  vault: string
  /** As first set. */
  name: string
  /** The version `GET /secrets/{name}` answers: the newest one set. */
  latestVersion: string
  /** When it was soft-deleted, or null while active. */
  deletedAt: number | null
  /** When a soft-deleted secret is purged (deletedAt + the vault's retention). */
  scheduledPurgeAt: number | null
  createdAt: number
  updatedAt: number
}

/** One version of a secret. The value is never stored in clear. */
export interface SecretVersionRecord {
  vault: string
  /** The secret's name (lookups are case-insensitive). */
  name: string
  /** 32 lower-case hex characters. */
  version: string
  /** AES-256-GCM under a key derived from azid's key-encryption key: base64 of iv | tag | ciphertext. */
  valueEnc: string
  contentType: string | null
  tags: Record<string, string> | null
  enabled: boolean
  notBefore: number | null
  expires: number | null
  createdAt: number
  updatedAt: number
}

export interface SecretListItem {
  head: SecretHead
  /** The head's latest version (its attributes, content type and tags describe the secret in lists). */
  latest: SecretVersionRecord
}

/** Implemented by src/store/keyvault-store.ts (SQLite and PostgreSQL). */
export interface KeyVaultStore {
  /** Runs `fn` in one transaction: everything it writes lands, or nothing. */
  transaction<T>(fn: (tx: KeyVaultStore) => Promise<T>): Promise<T>
  /** With `forUpdate`, the row stays locked until the transaction ends (PostgreSQL; SQLite serialises writers). */
  getHead(vault: string, name: string, opts?: { forUpdate?: boolean }): Promise<SecretHead | undefined>
  /** Inserts or replaces the head of (vault, lower(name)). */
  putHead(h: SecretHead): Promise<void>
  getVersion(vault: string, name: string, version: string): Promise<SecretVersionRecord | undefined>
  /** Inserts or replaces one version. */
  putVersion(v: SecretVersionRecord): Promise<void>
  /** Versions of one secret ordered by version id, after `after` (exclusive); `limit` 0 = all. */
  listVersions(vault: string, name: string, q?: { after?: string; limit?: number }): Promise<SecretVersionRecord[]>
  /** Secrets of a vault (active or soft-deleted ones) with their latest version, ordered by lower(name). */
  listSecrets(vault: string, q: { deleted: boolean; after?: string; limit: number }): Promise<SecretListItem[]>
  /** Removes a secret and all its versions. */
  deleteSecret(vault: string, name: string): Promise<boolean>
  /** Removes every secret of a vault; returns how many secrets were removed. */
  deleteVault(vault: string): Promise<number>
  /** Vault keys that hold at least one secret. */
  listVaults(): Promise<string[]>
  /** Soft-deleted secrets whose purge date has come (scheduledPurgeAt ≤ now). */
  listDue(now: number, limit: number): Promise<{ vault: string; name: string }[]>
}

/** A vault as the data plane sees it (read from ARM's resources by src/server/keyvault.ts). */
export interface VaultInfo {
  /** ARM id, canonical casing. */
  id: string
  name: string
  location: string
  /** The vault's tenant: tokens must come from it, and the challenge names it. */
  tenantId: string
  /** softDeleteRetentionInDays (7–90). */
  retentionDays: number
  purgeProtection: boolean
}

export interface VaultDirectory {
  byName(name: string): Promise<VaultInfo | undefined>
  /** By ARM id (any casing). */
  byId(id: string): Promise<VaultInfo | undefined>
}
