import { DomainError } from '../kernel/errors.ts'

/**
 * The token service's wire-error catalogue: OAuth `error`, AADSTS number, HTTP status and the public text.
 * Texts and statuses follow captured Entra responses (docs/wire/sts-errors.md gives the source of each; rows marked
 * UNVERIFIED there are reconstructions). Handlers throw `StsError(key, args)`; sts/render.ts renders them.
 */
interface Entry {
  error: string
  code: number
  status: number
  text: (a: Record<string, string>) => string
}

const e = (error: string, code: number, status: number, text: Entry['text']): Entry => ({ error, code, status, text })
const CERT_DOC = 'https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials'
const WIF_DOC = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation'
const FIC_HINT =
  'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.'

export const STS_ERRORS = {
  // -- request shape (§2, §11)
  missingParameter: e(
    'invalid_request',
    900144,
    400,
    (a) => `The request body must contain the following parameter: '${a.name}'.`,
  ),
  duplicateParameter: e(
    'invalid_request',
    9000411,
    400,
    (a) => `The request is not properly formatted. The parameter '${a.name}' is duplicated.`,
  ),
  bodyTooLarge: e('invalid_request', 90015, 400, () => 'Requested query string or request body is too long.'),
  methodNotAllowed: e(
    'invalid_request',
    900561,
    400,
    (a) => `The endpoint only accepts POST, OPTIONS requests. Received a ${a.method} request.`,
  ),
  unsupportedGrantType: e(
    'unsupported_grant_type',
    70003,
    400,
    (a) => `The app requested an unsupported grant type '${a.grantType}'.`,
  ),
  resourceOnV2: e('invalid_request', 901002, 400, () => "The 'resource' request parameter isn't supported."),
  // -- tenant (§3)
  tenantNotFound: e(
    'invalid_request',
    90002,
    400,
    (a) =>
      `Tenant '${a.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  ),
  /** The same failure at the discovery endpoints, where Entra says `invalid_tenant`. */
  tenantNotFoundDiscovery: e(
    'invalid_tenant',
    90002,
    400,
    (a) =>
      `Tenant '${a.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  ),
  tenantNameInvalid: e(
    'invalid_request',
    900023,
    400,
    (a) => `Specified tenant identifier '${a.tenant}' is neither a valid DNS name, nor a valid external domain.`,
  ),
  noTenantForClientCredentials: e(
    'invalid_request',
    50059,
    400,
    () => 'No tenant-identifying information found in either the request or implied by any provided credentials.',
  ),
  grantNotOnCommon: e(
    'invalid_request',
    9001023,
    400,
    () =>
      'The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.',
  ),
  unknownInstance: e('invalid_instance', 50049, 400, () => 'Unknown or invalid instance.'),
  // -- client (§4)
  clientNotFound: e(
    'unauthorized_client',
    700016,
    400,
    (a) =>
      `Application with identifier '${a.clientId}' was not found in the directory '${a.tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  ),
  invalidClientSecret: e(
    'invalid_client',
    7000215,
    401,
    (a) =>
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${a.clientId}'.`,
  ),
  expiredClientSecret: e(
    'invalid_client',
    7000222,
    401,
    (a) =>
      `The provided client secret keys for app '${a.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
  ),
  missingClientCredentialCc: e(
    'invalid_client',
    7000216,
    401,
    (a) => `'client_assertion', 'client_secret' or 'request' is required for the '${a.grantType}' grant type.`,
  ),
  missingClientCredential: e(
    'invalid_client',
    7000218,
    401,
    () => "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  ),
  publicClientWithCredential: e(
    'invalid_client',
    700025,
    401,
    () => "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
  ),
  /** UNVERIFIED: no capture; Entra sees client_id twice when Basic and body credentials are both sent. */
  conflictingClientCredentials: e(
    'invalid_request',
    9000411,
    400,
    () => "The request is not properly formatted. The parameter 'client_id' is duplicated.",
  ),
  clientDisabled: e(
    'unauthorized_client',
    7000112,
    400,
    (a) => `Application '${a.clientId}'(${a.displayName}) is disabled.`,
  ),
  // -- client assertions (§6)
  assertionMalformed: e('invalid_request', 50027, 400, () => 'JWT token is invalid or malformed.'),
  assertionClaimMissing: e(
    'invalid_request',
    90014,
    400,
    (a) =>
      `The required field '${a.claim}' is missing from the credential. Ensure that you have all the necessary parameters for the login request.`,
  ),
  assertionTypeInvalid: e('invalid_request', 90011, 400, () => 'Unexpected client assertion type.'),
  assertionNoThumbprint: e(
    'invalid_client',
    5002723,
    401,
    () =>
      'Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header.',
  ),
  assertionAlgUnsupported: e(
    'invalid_client',
    5002738,
    401,
    (a) =>
      `Invalid JWT token. '${a.alg}' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,RS384,RS512'`,
  ),
  assertionKeyNotFound: e(
    'invalid_client',
    700027,
    401,
    (a) =>
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${a.thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${a.clientId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/${a.clientId}'].`,
  ),
  /** UNVERIFIED text (reconstructed from the 50013 form). */
  assertionSignatureInvalid: e(
    'invalid_client',
    700027,
    401,
    (a) =>
      `Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '${a.thumbprint}', Found key 'Start=${a.start}, End=${a.end}']`,
  ),
  assertionCertExpired: e(
    'invalid_client',
    700027,
    401,
    (a) =>
      `Client assertion failed signature validation. [Reason - The key used is expired., Thumbprint of key used by client: '${a.thumbprint}', Found key 'Start=${a.start}, End=${a.end}']`,
  ),
  assertionIssuerMismatch: e(
    'invalid_client',
    700021,
    401,
    () =>
      `Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at ${CERT_DOC} .`,
  ),
  assertionSubjectMismatch: e(
    'invalid_client',
    50048,
    401,
    () => 'Subject must match the issuer claim in the client assertion.',
  ),
  assertionAudienceInvalid: e(
    'invalid_client',
    700023,
    401,
    () => `Client assertion audience claim does not match Realm issuer. Review the documentation at ${CERT_DOC} .`,
  ),
  assertionExpired: e(
    'invalid_client',
    700024,
    401,
    (a) =>
      `Client assertion is not within its valid time range. Current time: ${a.now}, assertion valid from ${a.nbf}, expiry time of assertion ${a.exp}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
  ),
  /** azid only: a jti presented again with a different assertion (an identical re-presentation is allowed, as Entra does). */
  assertionReplayed: e(
    'invalid_client',
    700024,
    401,
    () => 'Client assertion has already been used: its jti was presented before with a different assertion.',
  ),
  // -- federated credentials (§7)
  federatedNoMatch: e(
    'invalid_request',
    70021,
    400,
    (a) =>
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${a.issuer}'. Assertion Subject: '${a.subject}'. Assertion Audience: '${a.audience}'. ${WIF_DOC}`,
  ),
  federatedIssuerNoMatch: e(
    'invalid_client',
    700211,
    401,
    (a) =>
      `No matching federated identity record found for presented assertion issuer '${a.issuer}'. ${FIC_HINT} ${WIF_DOC}`,
  ),
  federatedSubjectNoMatch: e(
    'invalid_client',
    700213,
    401,
    (a) =>
      `No matching federated identity record found for presented assertion subject '${a.subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${WIF_DOC}`,
  ),
  federatedAudienceNoMatch: e(
    'invalid_client',
    700212,
    401,
    (a) =>
      `No matching federated identity record found for presented assertion audience '${a.audience}'. ${FIC_HINT} ${WIF_DOC}`,
  ),
  federatedKeysUnavailable: e('invalid_request', 50166, 400, () => 'Request to External OIDC endpoint failed.'),
  federatedSignatureInvalid: e(
    'invalid_client',
    700027,
    401,
    (a) => `Client assertion failed signature validation. [Reason - ${a.reason}]`,
  ),
  // -- resource and scope (§5)
  resourceNotFound: e(
    'invalid_resource',
    500011,
    400,
    (a) =>
      `The resource principal named ${a.resource} was not found in the tenant named ${a.tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  ),
  invalidScope: e(
    'invalid_scope',
    70011,
    400,
    (a) =>
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${a.scope} is not valid.`,
  ),
  defaultScopeCombined: e(
    'invalid_scope',
    70011,
    400,
    (a) =>
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${a.scope} is not valid. .default scope can't be combined with resource-specific scopes.`,
  ),
  multipleResources: e(
    'invalid_scope',
    28000,
    400,
    (a) =>
      `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${a.scope} is not valid.`,
  ),
  clientCredentialsNeedDefault: e(
    'invalid_scope',
    1002012,
    400,
    (a) =>
      `The provided value for scope ${a.scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  ),
  // -- device code (§8)
  authorizationPending: e(
    'authorization_pending',
    70016,
    400,
    () => 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.',
  ),
  slowDown: e('slow_down', 70016, 400, () => 'OAuth 2.0 device flow error. Polling too frequently. Slow down.'),
  deviceCodeExpired: e(
    'expired_token',
    70020,
    400,
    () => "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
  ),
  deviceCodeDeclined: e('authorization_declined', 70000, 400, () => 'The end user denied the authorization request.'),
  deviceCodeInvalid: e(
    'invalid_grant',
    70000,
    400,
    () => "The provided value for the input parameter 'device_code' is not valid.",
  ),
  // -- refresh tokens and codes (§9, §10)
  grantMalformed: e('invalid_grant', 9002313, 400, () => 'Invalid request. Request is malformed or invalid.'),
  refreshTokenExpired: e(
    'invalid_grant',
    700082,
    400,
    (a) =>
      `The refresh token has expired due to inactivity. The token was issued on ${a.issued} and was inactive for ${a.inactive}.`,
  ),
  refreshTokenRevoked: e(
    'invalid_grant',
    50173,
    400,
    (a) =>
      `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${a.issued}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${a.validFrom}'.`,
  ),
  grantOtherClient: e('invalid_grant', 700007, 400, () => 'The grant was issued for a different client id.'),
  codeExpired: e(
    'invalid_grant',
    70000,
    400,
    () => "The provided value for the 'code' parameter is not valid. The code has expired.",
  ),
  codeRedeemed: e(
    'invalid_grant',
    54005,
    400,
    () =>
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
  ),
  pkceMismatch: e(
    'invalid_grant',
    501481,
    400,
    () => 'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
  ),
  redirectUriMismatch: e(
    'invalid_grant',
    500112,
    400,
    (a) =>
      `The reply address '${a.redirectUri}' does not match the reply address '${a.expected}' provided when requesting Authorization code.`,
  ),
  redirectUriNotRegistered: e(
    'invalid_request',
    50011,
    400,
    (a) =>
      `The redirect URI '${a.redirectUri}' specified in the request does not match the redirect URIs configured for the application '${a.clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
  ),
  emptyScopeAtRedemption: e(
    'invalid_request',
    28003,
    400,
    () =>
      'Provided value for the input parameter scope cannot be empty when requesting an access token using the provided authorization code. Please specify a valid scope.',
  ),
  userCredentialsInvalid: e(
    'invalid_grant',
    50126,
    400,
    () => 'Error validating credentials due to invalid username or password.',
  ),
  userNotInTenant: e(
    'invalid_grant',
    50034,
    400,
    (a) =>
      `The user account ${a.user} does not exist in the ${a.tenant} directory. To sign into this application, the account must be added to the directory.`,
  ),
  unsupportedResponseType: e(
    'unsupported_response_type',
    700054,
    400,
    (a) => `response_type '${a.responseType}' is not enabled for the application.`,
  ),
  serverError: e('server_error', 90033, 500, () => 'A transient error has occurred. Please try again.'),
} as const satisfies Record<string, Entry>

export type StsErrorKey = keyof typeof STS_ERRORS

export class StsError extends DomainError<StsErrorKey> {
  constructor(key: StsErrorKey, args: Record<string, string> = {}, detail?: string) {
    super(key, { args, ...(detail === undefined ? {} : { detail }) })
  }
}
