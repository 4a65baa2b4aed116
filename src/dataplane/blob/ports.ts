// The Blob service's ports: its metadata store (src/store/storage-store.ts) and the containers, which are ARM
// resources (`Microsoft.Storage/storageAccounts/blobServices/containers`, src/server/storage.ts implements it).
import type { ContentProperties } from '../storage/ports.ts'

/** One block of a committed blob: its id (null for content written by Put Blob), size and content file. */
export interface CommittedBlock {
  id: string | null
  size: number
  file: string
}

export interface BlobKey {
  account: string
  container: string
  name: string
}

export interface CopyState {
  id: string
  source: string
  status: 'success'
  progress: string
  completedAt: number
}

/** A committed block blob: its properties and where its bytes are. */
export interface BlobRecord extends BlobKey, ContentProperties {
  etag: string
  size: number
  createdAt: number
  modifiedAt: number
  /** In order; the blob's bytes are their concatenation. */
  blocks: CommittedBlock[]
  copy: CopyState | null
}

/** A block staged with Put Block and not (yet) committed. */
export interface UncommittedBlock {
  id: string
  size: number
  file: string
  createdAt: number
}

/** Metadata of blobs and their uncommitted blocks. Content lives in files; rows name them. */
export interface BlobStore {
  /** Runs `fn` in one transaction (the commit point of an upload). */
  transaction<T>(fn: (tx: BlobStore) => Promise<T>): Promise<T>
  /** With `forUpdate` the row is locked until the transaction ends (PostgreSQL; SQLite serialises writers). */
  getBlob(k: BlobKey, opts?: { forUpdate?: boolean }): Promise<BlobRecord | undefined>
  /**
   * Blobs of a container in name order (binary), from `from` (inclusive) or after `after` (exclusive), whose names
   * start with `prefix`. `withBlocks: false` leaves `blocks` empty (listings).
   */
  listBlobs(q: {
    account: string
    container: string
    from?: string
    after?: string
    prefix?: string
    limit: number
    withBlocks?: boolean
  }): Promise<BlobRecord[]>
  putBlob(b: BlobRecord): Promise<void>
  deleteBlob(k: BlobKey): Promise<boolean>
  listUncommitted(k: BlobKey): Promise<UncommittedBlock[]>
  /** Inserts or replaces the block with this id; returns the one it replaced. */
  putUncommitted(k: BlobKey, b: UncommittedBlock): Promise<UncommittedBlock | undefined>
  /** Deletes every uncommitted block of the blob and returns them. */
  deleteUncommitted(k: BlobKey): Promise<UncommittedBlock[]>
  /** Deletes all rows of a container (or of the account when `container` is null); returns the files they named. */
  purge(q: { account: string; container: string | null }): Promise<string[]>
  /** Uncommitted blocks created before `before` (Azure discards them after a week). */
  expiredUncommitted(q: { before: number; limit: number }): Promise<(UncommittedBlock & { key: BlobKey })[]>
  deleteUncommittedBlock(k: BlobKey, id: string): Promise<boolean>
  /** Every content file some row names (garbage collection). */
  referencedFiles(): Promise<Set<string>>
  /** The (account, container) pairs that have rows (garbage collection of deleted containers). */
  containersWithData(): Promise<{ account: string; container: string }[]>
}

/** A container as the data plane sees it (the ARM child resource). */
export interface ContainerRecord {
  account: string
  name: string
  /** Data-plane ETag, `"0x…"`, derived from the ARM etag. */
  etag: string
  lastModified: number
  metadata: Record<string, string>
  publicAccess: 'None' | 'Blob' | 'Container'
}

/** Containers are ARM resources: the data plane reads and writes them through this port. */
export interface ContainerCatalog {
  getContainer(account: string, name: string): Promise<ContainerRecord | undefined>
  /** In name order. */
  listContainers(account: string): Promise<ContainerRecord[]>
  /** Creates the ARM resource; 'exists' when it already does. */
  createContainer(q: {
    account: string
    name: string
    metadata: Record<string, string>
    publicAccess: ContainerRecord['publicAccess']
    createdBy: string | null
  }): Promise<ContainerRecord | 'exists'>
  /** Updates metadata and/or public access; undefined when the container does not exist. */
  updateContainer(q: {
    account: string
    name: string
    metadata?: Record<string, string>
    publicAccess?: ContainerRecord['publicAccess']
  }): Promise<ContainerRecord | undefined>
  /** Deletes the ARM resource; false when it did not exist. */
  deleteContainer(account: string, name: string): Promise<boolean>
}
