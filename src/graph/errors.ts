import { DomainError } from '../kernel/errors.ts'

/**
 * Microsoft Graph's wire-error catalogue (`{"error":{"code","message","innerError"}}`). Texts marked V are verified
 * in docs/wire/arm-errors.md §9 or in the thread cited beside them; the others are azid's best reconstruction
 * (listed as UNVERIFIED there). Handlers throw `GraphError(code, args)`; graph/render.ts renders.
 */
interface Entry {
  status: number
  /** The wire `code`. */
  code: string
  message: (a: Record<string, string>) => string
}
const e = (status: number, code: string, message: Entry['message']): Entry => ({ status, code, message })

export const GRAPH_ERRORS = {
  // 401 (V, arm-errors.md §9)
  AccessTokenEmpty: e(401, 'InvalidAuthenticationToken', () => 'Access token is empty.'),
  // V; Graph prints it without a final period.
  AccessTokenMalformed: e(
    401,
    'InvalidAuthenticationToken',
    () => 'CompactToken parsing failed with error code: 80049217',
  ),
  InvalidAudience: e(401, 'InvalidAuthenticationToken', () => 'Access token validation failure. Invalid audience.'),
  AccessTokenInvalid: e(401, 'InvalidAuthenticationToken', () => 'Access token validation failure.'),
  // V: 401 with this text and the challenge of render.ts (Microsoft365DSC/Microsoft365DSC#4427, 2024).
  AccessTokenExpired: e(401, 'InvalidAuthenticationToken', () => 'Lifetime validation failed, the token is expired.'),
  // 403 (V)
  InsufficientPrivileges: e(
    403,
    'Authorization_RequestDenied',
    () => 'Insufficient privileges to complete the operation.',
  ),
  // 404 (V)
  ResourceNotFound: e(
    404,
    'Request_ResourceNotFound',
    (a) => `Resource '${a.id}' does not exist or one of its queried reference-property objects are not present.`,
  ),
  // 400
  InvalidObjectIdentifier: e(400, 'Request_BadRequest', (a) => `Invalid object identifier '${a.id}'.`),
  SegmentNotFound: e(400, 'BadRequest', (a) => `Resource not found for the segment '${a.segment}'.`),
  MethodNotAllowed: e(405, 'Request_BadRequest', () => 'Specified HTTP method is not allowed for the request target.'),
  MeRequiresDelegated: e(400, 'BadRequest', () => '/me request is only valid with delegated authentication flow.'),
  // $filter (V: the two Request_UnsupportedQuery texts and "Invalid filter clause")
  UnsupportedFilterProperty: e(
    400,
    'Request_UnsupportedQuery',
    (a) =>
      `Unsupported or invalid query filter clause specified for property '${a.property}' of resource '${a.resource}'.`,
  ),
  UnsupportedFilterOperator: e(
    400,
    'Request_UnsupportedQuery',
    (a) => `Unsupported property filter clause operator '${a.operator}'.`,
  ),
  InvalidFilter: e(400, 'Request_BadRequest', () => 'Invalid filter clause'),
  UnknownFilterProperty: e(
    400,
    'BadRequest',
    (a) => `Could not find a property named '${a.property}' on type 'microsoft.graph.${a.type}'.`,
  ),
  UnknownSelectProperty: e(
    400,
    'BadRequest',
    (a) =>
      `Parsing OData Select and Expand failed: Could not find a property named '${a.property}' on type 'microsoft.graph.${a.type}'.`,
  ),
  SortingNotSupported: e(400, 'Request_UnsupportedQuery', () => 'Sorting not supported for current query.'),
  UnsupportedQueryOption: e(
    400,
    'Request_UnsupportedQuery',
    (a) => `The query option '${a.option}' is not supported by azid. See docs/deviations.md.`,
  ),
  InvalidPageSize: e(
    400,
    'Request_BadRequest',
    (a) => `Invalid page size specified: '${a.top}'. Must be between 1 and 999 inclusive.`,
  ),
  InvalidSkipToken: e(400, 'Request_BadRequest', () => 'Specified skip token is invalid.'),
  // Request bodies
  InvalidRequestBody: e(
    400,
    'BadRequest',
    () =>
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
  ),
  RequestTooLarge: e(413, 'Request_BadRequest', () => 'The request body is too large.'),
  InvalidPropertyValue: e(
    400,
    'Request_BadRequest',
    (a) => `Invalid value specified for property '${a.property}' of resource '${a.resource}'.`,
  ),
  UndeclaredProperty: e(
    400,
    'BadRequest',
    (a) =>
      `The property '${a.property}' does not exist on type 'microsoft.graph.${a.type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
  ),
  NotSupported: e(400, 'Request_BadRequest', (a) => `${a.what} is not supported by azid. See docs/deviations.md.`),
  TooManyIds: e(400, 'Request_BadRequest', (a) => `The request contains ${a.count} ids; at most ${a.max} are allowed.`),
  // V (Azure/go-autorest#308, Azure/pcs-cli#146)
  IdentifierUriExists: e(
    400,
    'Request_BadRequest',
    () => 'Another object with the same value for property identifierUris already exists.',
  ),
  // V (Azure/reliable-web-app-pattern-java#185: 409 with OData error Request_MultipleObjectsWithSameKeyValue)
  ServicePrincipalNameInUse: e(
    409,
    'Request_MultipleObjectsWithSameKeyValue',
    (a) =>
      `The service principal cannot be created, updated, or restored because the service principal name ${a.name} is already in use.`,
  ),
  // V (microsoftgraph/msgraph-sdk-powershell#846; Request_BadRequest/NoBackingApplicationObject in AAD Graph)
  NoBackingApplication: e(
    400,
    'Request_BadRequest',
    (a) => `The appId '${a.appId}' of the service principal does not reference a valid application object.`,
  ),
  PasswordCredentialNotFound: e(
    400,
    'Request_BadRequest',
    (a) => `No password credential found with keyId '${a.keyId}'.`,
  ),
  /** Managed identities are changed through ARM (api-shapes §5.1; the real code and text are UNVERIFIED). */
  ManagedIdentityReadOnly: e(
    400,
    'Request_BadRequest',
    () =>
      'The service principal of a managed identity cannot be changed through Microsoft Graph. Manage it through its Azure resource.',
  ),
  InternalServerError: e(500, 'UnknownError', () => 'An internal server error occurred.'),
} as const satisfies Record<string, Entry>

export type GraphErrorCode = keyof typeof GRAPH_ERRORS

export class GraphError extends DomainError<GraphErrorCode> {
  constructor(code: GraphErrorCode, args: Record<string, string> = {}, detail?: string) {
    super(code, { args, ...(detail === undefined ? {} : { detail }) })
  }
}
