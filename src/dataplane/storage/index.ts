// The storage data-plane core shared by the Blob and File services: the request plumbing of a service (accounts,
// addressing, errors, responses), request parsing, Shared Key, SAS and bearer authentication, RBAC with audit, the
// XML error envelope and listings, content files (uploads checked, downloads streamed), CRC-64 and structured
// messages.
export { type AccessQuery, type DataAccess, createDataAccess } from './access.ts'
export {
  type Authenticator,
  type Caller,
  type OperationAuth,
  createAuthenticator,
  storageChallenge,
} from './auth.ts'
export {
  BodyIncompleteError,
  BodyTooLargeError,
  type ContentStore,
  type Received,
  type ReceiveOptions,
  createContentStore,
} from './content.ts'
export {
  checksumMismatch,
  parseXmlBody,
  readSmallBody,
  receiveChecked,
  structuredContentLength,
  structuredUpload,
} from './body.ts'
export { Crc64, crc64 } from './crc64.ts'
export { type Piece, contentHeaders, openPieces, readPieces, sendPieces } from './download.ts'
export {
  COMMON_ERRORS,
  type CommonErrorCode,
  StorageError,
  type StorageErrorEntry,
  authFailed,
  badHeader,
  badQuery,
  catalogueOf,
  isStorageError,
  missingHeader,
  notImplemented,
  storageError,
} from './errors.ts'
export {
  type ByteRange,
  type QueryParam,
  type StorageRequest,
  type Validators,
  BEARER_MIN_VERSION,
  checkConditions,
  contentLength,
  crc64Header,
  createStorageRequest,
  httpDate,
  includeParam,
  intParam,
  isoSeconds,
  isoTime7,
  md5Header,
  parseHttpDate,
  parseIsoTime,
  parseMetadata,
  parseQuery,
  parseRange,
} from './http.ts'
export type { AccountDirectory, ContentProperties, StorageAccount } from './ports.ts'
export { type ResponseBasics, basicHeaders, errorBody, sendError } from './render.ts'
export {
  type AddressStyle,
  type Addressed,
  type Deletions,
  type StorageCtx,
  type StorageRuntime,
  type StorageServiceDeps,
  checkChildName,
  collectOrphans,
  createStorageService,
  decodeSegment,
  lastModified,
  metadataHeaders,
  newEtag,
  release,
  reply,
  validators,
} from './service.ts'
export {
  type SasGrant,
  type SasKind,
  type SasRequirement,
  type SasTarget,
  isSasQuery,
  sasAllows,
  verifySas,
} from './sas.ts'
export {
  type SharedKeyAuthorization,
  type SignedRequest,
  parseSharedKeyHeader,
  sharedKeyStringsToSign,
  verifySharedKey,
} from './shared-key.ts'
export {
  STRUCTURED_BODY,
  StructuredDecoder,
  StructuredEncoder,
  StructuredMessageError,
  isStructuredBody,
  structuredLength,
} from './structured.ts'
export {
  DISABLED_RETENTION_XML,
  XML_DECL,
  type XmlElement,
  XmlSyntaxError,
  bareEtag,
  child,
  disabledMetricsXml,
  el,
  enumerationXml,
  escapeXml,
  listingFields,
  metadataXml,
  parseXml,
} from './xml.ts'
