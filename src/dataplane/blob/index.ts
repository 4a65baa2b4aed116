// The Blob service: a raw node:http handler over the shared storage core (src/dataplane/storage).
export type { BlobLimits, BlobServiceDeps } from './context.ts'
export { BLOB_ERRORS, type BlobErrorCode } from './errors.ts'
export type { BlobKey, BlobRecord, BlobStore, ContainerCatalog, ContainerRecord, UncommittedBlock } from './ports.ts'
export { type AddressStyle, type BlobService, createBlobService } from './service.ts'
