// The storage data-plane core shared by the Blob and File services: request parsing, Shared Key, SAS and bearer
// authentication, RBAC with audit, the XML error envelope, content files, CRC-64 and structured messages.
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
export { Crc64, crc64 } from './crc64.ts'
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
export type { AccountDirectory, StorageAccount } from './ports.ts'
export { type ResponseBasics, basicHeaders, errorBody, sendError } from './render.ts'
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
export { XML_DECL, type XmlElement, XmlSyntaxError, child, el, escapeXml, parseXml } from './xml.ts'
