export type * from './model.ts'
export type { DirectoryStore } from './ports.ts'
export { type CachedDirectoryStore, cachedDirectoryStore } from './cache.ts'
export {
  createDirectoryService,
  DirectoryError,
  type DirectoryErrorCode,
  type DirectoryService,
  type NewApplication,
  type SecretCheck,
} from './service.ts'
