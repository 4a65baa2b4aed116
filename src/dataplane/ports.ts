// Ports the data planes (Storage, Key Vault) declare; src/server and src/store implement them. The data planes may
// not import arm/ or store/ (test/architecture.test.ts), so what they need from them is declared here.
import type { CheckKind, Decision } from '../rbac/index.ts'

/** The server's RBAC state (arm/access.ts implements it): data planes check `dataAction`s with it. */
export interface DataPlaneAccess {
  check(q: { principalId: string; action: string; scope: string; kind?: CheckKind }): Decision
}

// Key Vault secrets: the store port and its records (src/store/keyvault-store.ts implements it).
export type {
  KeyVaultStore,
  SecretHead,
  SecretListItem,
  SecretVersionRecord,
} from './keyvault/ports.ts'

// Blob and Files: what their records share.
export type { ContentProperties } from './storage/ports.ts'

// Blob: the metadata store port and its records (src/store/storage-store.ts implements it).
export type {
  BlobKey,
  BlobRecord,
  BlobStore,
  CommittedBlock,
  CopyState,
  UncommittedBlock,
} from './blob/ports.ts'

// Files: the metadata store port and its records (src/store/files-store.ts implements it).
export type { EntryKey, FileEntry, FileExtent, FileStore } from './files/ports.ts'
