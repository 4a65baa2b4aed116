import { DomainError } from '../../kernel/errors.ts'

/**
 * One Azure Storage error: status, `x-ms-error-code`, the first line of `<Message>`, and optional extra elements
 * (`AuthenticationErrorDetail`, `HeaderName`, `QueryParameterName`, …) that follow `<Message>` in the body.
 */
export interface StorageErrorEntry {
  status: number
  message: string
}

/**
 * Errors every storage service (Blob, Files) shares, as the services spell them. Sources: api-shapes §6.7 and the
 * "Common REST API error codes" / "Blob service error codes" pages of the Storage REST reference. Messages marked
 * UNVERIFIED in api-shapes are close paraphrases.
 */
export const COMMON_ERRORS = {
  AccountIsDisabled: { status: 403, message: 'The specified account is disabled.' },
  AuthenticationFailed: {
    status: 403,
    message:
      'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
  },
  AuthorizationFailure: { status: 403, message: 'This request is not authorized to perform this operation.' },
  AuthorizationPermissionMismatch: {
    status: 403,
    message: 'This request is not authorized to perform this operation using this permission.',
  },
  AuthorizationProtocolMismatch: {
    status: 403,
    message: 'This request is not authorized to perform this operation using this protocol.',
  },
  AuthorizationResourceTypeMismatch: {
    status: 403,
    message: 'This request is not authorized to perform this operation using this resource type.',
  },
  AuthorizationServiceMismatch: {
    status: 403,
    message: 'This request is not authorized to perform this operation using this service.',
  },
  AuthorizationSourceIPMismatch: {
    status: 403,
    message: 'This request is not authorized to perform this operation using this source IP {ip}.',
  },
  ConditionHeadersNotSupported: {
    status: 400,
    message: 'Condition headers are not supported.',
  },
  ConditionNotMet: { status: 412, message: 'The condition specified using HTTP conditional header(s) is not met.' },
  EmptyMetadataKey: { status: 400, message: 'The key for one of the metadata key-value pairs is empty.' },
  InsufficientAccountPermissions: {
    status: 403,
    message: 'The account being accessed does not have sufficient permissions to execute this operation.',
  },
  InternalError: { status: 500, message: 'The server encountered an internal error. Please retry the request.' },
  InvalidAuthenticationInfo: {
    status: 401,
    message:
      'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.',
  },
  InvalidHeaderValue: { status: 400, message: 'The value for one of the HTTP headers is not in the correct format.' },
  InvalidHttpVerb: { status: 400, message: 'The HTTP verb specified was not recognized by the server.' },
  InvalidInput: { status: 400, message: 'One of the request inputs is not valid.' },
  InvalidMd5: {
    status: 400,
    message: 'The MD5 value specified in the request is invalid. The MD5 value must be 128 bits and Base64-encoded.',
  },
  InvalidMetadata: {
    status: 400,
    message: 'The metadata specified is invalid. It has characters that are not permitted.',
  },
  InvalidQueryParameterValue: {
    status: 400,
    message: 'Value for one of the query parameters specified in the request URI is invalid.',
  },
  InvalidRange: { status: 416, message: 'The range specified is invalid for the current size of the resource.' },
  // Azure's own spelling ("specifed").
  InvalidResourceName: { status: 400, message: 'The specifed resource name contains invalid characters.' },
  InvalidUri: { status: 400, message: 'The requested URI does not represent any resource on the server.' },
  InvalidXmlDocument: { status: 400, message: 'XML specified is not syntactically valid.' },
  InvalidXmlNodeValue: { status: 400, message: 'The value for one of the XML nodes is not in the correct format.' },
  KeyBasedAuthenticationNotPermitted: {
    status: 403,
    message: 'Key based authentication is not permitted on this storage account.',
  },
  Md5Mismatch: {
    status: 400,
    message: 'The MD5 value specified in the request did not match with the MD5 value calculated by the server.',
  },
  Crc64Mismatch: {
    status: 400,
    message: 'The CRC64 value specified in the request did not match with the CRC64 value calculated by the server.',
  },
  MetadataTooLarge: { status: 400, message: 'The size of the request metadata exceeds the maximum size permitted.' },
  MissingContentLengthHeader: { status: 411, message: 'Content-Length HTTP header is missing.' },
  MissingRequiredHeader: { status: 400, message: "An HTTP header that's mandatory for this request is not specified." },
  MissingRequiredQueryParameter: {
    status: 400,
    message: "A query parameter that's mandatory for this request is not specified.",
  },
  MissingRequiredXmlNode: { status: 400, message: "An XML node that's mandatory for this request is not specified." },
  NoAuthenticationInformation: {
    status: 401,
    message:
      'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.',
  },
  NotImplemented: { status: 501, message: 'azid does not implement this operation: {operation}.' },
  OutOfRangeInput: { status: 400, message: 'The specified resource name length is not within the permissible limits.' },
  OutOfRangeQueryParameterValue: {
    status: 400,
    message: 'One of the query parameters specified in the request URI is outside the permissible range.',
  },
  RequestBodyTooLarge: {
    status: 413,
    message: 'The request body is too large and exceeds the maximum permissible limit.',
  },
  ResourceNotFound: { status: 404, message: 'The specified resource does not exist.' },
  UnsupportedHeader: { status: 400, message: 'One of the HTTP headers specified in the request is not supported.' },
  UnsupportedHttpVerb: { status: 405, message: "The resource doesn't support specified Http Verb." },
  UnsupportedQueryParameter: {
    status: 400,
    message: 'One of the query parameters specified in the request URI is not supported.',
  },
  UnsupportedXmlNode: { status: 400, message: 'One of the XML nodes specified in the request body is not supported.' },
} as const satisfies Record<string, StorageErrorEntry>

export type CommonErrorCode = keyof typeof COMMON_ERRORS

/**
 * A failure with a wire code from a catalogue. `details` are extra elements rendered after `<Message>`
 * (`AuthenticationErrorDetail`, `HeaderName`, …) in the order given; `args` fill `{placeholders}` in the message.
 * `detail` (DomainError) is for the log only.
 */
export class StorageError extends DomainError<string> {
  readonly status: number
  override readonly message: string
  readonly details: readonly (readonly [string, string])[]
  /** Extra response headers (e.g. `Content-Range` of a 416). */
  readonly headers: Readonly<Record<string, string>>

  constructor(
    code: string,
    entry: StorageErrorEntry,
    opts: {
      args?: Record<string, string>
      details?: readonly (readonly [string, string])[]
      headers?: Record<string, string>
      detail?: string
      cause?: unknown
    } = {},
  ) {
    super(code, {
      ...(opts.detail !== undefined ? { detail: opts.detail } : {}),
      ...(opts.args ? { args: opts.args } : {}),
      ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
    })
    this.name = 'StorageError'
    this.status = entry.status
    this.message = entry.message.replace(/\{(\w+)\}/g, (_m, k: string) => opts.args?.[k] ?? '')
    this.details = opts.details ?? []
    this.headers = opts.headers ?? {}
  }
}

/** A thrower bound to one catalogue: `fail('ContainerNotFound')`, `fail('InvalidHeaderValue', {details: …})`. */
export function catalogueOf<C extends Record<string, StorageErrorEntry>>(catalogue: C) {
  return (code: keyof C & string, opts: ConstructorParameters<typeof StorageError>[2] = {}): StorageError =>
    new StorageError(code, catalogue[code] as StorageErrorEntry, opts)
}

export const storageError = catalogueOf(COMMON_ERRORS)

export const isStorageError = (e: unknown): e is StorageError => e instanceof StorageError

/** `InvalidHeaderValue` naming the header (and value) as Azure does. */
export const badHeader = (name: string, value: string, detail?: string) =>
  storageError('InvalidHeaderValue', {
    details: [
      ['HeaderName', name],
      ['HeaderValue', value],
    ],
    ...(detail ? { detail } : {}),
  })

export const missingHeader = (name: string) =>
  storageError('MissingRequiredHeader', { details: [['HeaderName', name]] })

export const badQuery = (name: string, value: string, reason?: string) =>
  storageError('InvalidQueryParameterValue', {
    details: [
      ['QueryParameterName', name],
      ['QueryParameterValue', value],
      ...(reason ? ([['Reason', reason]] as const) : []),
    ],
  })

/** 403 AuthenticationFailed with Azure's `AuthenticationErrorDetail`. */
export const authFailed = (detail: string) =>
  storageError('AuthenticationFailed', { details: [['AuthenticationErrorDetail', detail]], detail })

export const notImplemented = (operation: string) => storageError('NotImplemented', { args: { operation } })
