// The File service's ports: its metadata store (src/store/files-store.ts) and the shares, which are ARM resources
// (`Microsoft.Storage/storageAccounts/fileServices/shares`, src/server/storage.ts implements the catalog).
import type { ContentProperties } from '../storage/ports.ts'

/**
 * Written bytes of a file: `length` bytes at `offset` of the file, read from `at` in the content file `file`.
 * Extents never overlap and are kept in offset order; bytes no extent covers read as zeros (a sparse file).
 */
export interface FileExtent {
  offset: number
  length: number
  file: string
  at: number
}

/** A directory or file: share, the lower-case key of its parent directory ('' at the root) and its own name key. */
export interface EntryKey {
  account: string
  share: string
  /** Lower-case path of the parent directory, '' for entries at the root of the share. */
  parentKey: string
  /** Lower-case name (Azure Files names are case-preserving and case-insensitive). */
  nameKey: string
}

/** SMB properties every entry carries (times as Azure writes them: ISO 8601, seven fractional digits). */
export interface SmbProperties {
  creationTime: string
  lastWriteTime: string
  changeTime: string
  /** `Directory`, `Archive`, `ReadOnly | Archive`, … as the client set them (` | `-separated). */
  attributes: string
  permissionKey: string
}

export interface FileEntry extends EntryKey, SmbProperties, ContentProperties {
  /** The name as created. */
  name: string
  kind: 'directory' | 'file'
  /** `x-ms-file-id`: a 64-bit number, decimal. */
  fileId: string
  parentId: string
  etag: string
  /** `Last-Modified` (epoch ms). */
  modifiedAt: number
  size: number
  /** Files only; empty for directories and in listings. */
  extents: FileExtent[]
}

/** Metadata of directories and files. Content lives in files; rows name them. */
export interface FileStore {
  /** Runs `fn` in one transaction (the commit point of a write). */
  transaction<T>(fn: (tx: FileStore) => Promise<T>): Promise<T>
  /** With `forUpdate` the row is locked until the transaction ends (PostgreSQL; SQLite serialises writers). */
  getEntry(k: EntryKey, opts?: { forUpdate?: boolean }): Promise<FileEntry | undefined>
  /** Inserts or replaces. */
  putEntry(e: FileEntry): Promise<void>
  deleteEntry(k: EntryKey): Promise<boolean>
  /** True when some entry has `dirKey` as its parent. */
  hasChildren(q: { account: string; share: string; dirKey: string }): Promise<boolean>
  /**
   * Children of a directory in name-key order (binary), after `after` (exclusive), whose name keys start with
   * `prefix`. `extents` are left empty.
   */
  listChildren(q: {
    account: string
    share: string
    parentKey: string
    prefix?: string
    after?: string
    limit: number
  }): Promise<FileEntry[]>
  /** Total size of the files of a share (Get Share Stats). */
  usage(q: { account: string; share: string }): Promise<number>
  /** Stores a security descriptor (SDDL) under its key (Create Permission, `x-ms-file-permission`). */
  putPermission(q: { account: string; share: string; key: string; sddl: string }): Promise<void>
  getPermission(q: { account: string; share: string; key: string }): Promise<string | undefined>
  /** Deletes every row of a share (or of the account when `share` is null); returns the content files they named. */
  purge(q: { account: string; share: string | null }): Promise<string[]>
  /** Every content file some row names (garbage collection). */
  referencedFiles(): Promise<Set<string>>
  /** The (account, share) pairs that have rows (garbage collection of deleted shares). */
  sharesWithData(): Promise<{ account: string; share: string }[]>
}

/** A share as the data plane sees it (the ARM child resource). */
export interface ShareRecord {
  account: string
  name: string
  /** Data-plane ETag, `"0x…"`, derived from the ARM etag. */
  etag: string
  lastModified: number
  /** GiB. */
  quota: number
  accessTier: string
  metadata: Record<string, string>
}

/** Shares are ARM resources: the data plane reads and writes them through this port. */
export interface ShareCatalog {
  getShare(account: string, name: string): Promise<ShareRecord | undefined>
  /** In name order. */
  listShares(account: string): Promise<ShareRecord[]>
  /** Creates the ARM resource; 'exists' when it already does. */
  createShare(q: {
    account: string
    name: string
    metadata: Record<string, string>
    quota: number
    accessTier: string
    createdBy: string | null
  }): Promise<ShareRecord | 'exists'>
  /** Updates what is given; undefined when the share does not exist. */
  updateShare(q: {
    account: string
    name: string
    metadata?: Record<string, string>
    quota?: number
    accessTier?: string
  }): Promise<ShareRecord | undefined>
  /** Deletes the ARM resource; false when it did not exist. */
  deleteShare(account: string, name: string): Promise<boolean>
}
