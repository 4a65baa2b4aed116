// The File service (Azure Files over REST): a raw node:http handler over the shared storage core
// (src/dataplane/storage), with OAuth as Azure Files does it (x-ms-file-request-intent: backup, privileged roles).
export type { FileServiceDeps } from './context.ts'
export { FILE_ERRORS, type FileErrorCode } from './errors.ts'
export type { EntryKey, FileEntry, FileExtent, FileStore, ShareCatalog, ShareRecord } from './ports.ts'
export { type AddressStyle, FILE_BEARER_MIN_VERSION, type FileService, createFileService } from './service.ts'
