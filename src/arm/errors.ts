import { DomainError } from '../kernel/errors.ts'

/**
 * ARM's wire-error catalogue (`{"error":{"code","message"}}`). Texts follow captured Azure responses
 * (docs/wire/arm-errors.md); handlers throw `ArmError(code, args)`, arm/render.ts renders.
 */
interface Entry {
  status: number
  message: (a: Record<string, string>) => string
}
const e = (status: number, message: Entry['message']): Entry => ({ status, message })

export const ARM_ERRORS = {
  AuthenticationFailed: e(401, () => "Authentication failed. The 'Authorization' header is missing."),
  AuthenticationFailedInvalidHeader: e(401, () => 'Authentication failed.'),
  InvalidAuthenticationToken: e(401, () => 'The access token is invalid.'),
  ExpiredAuthenticationToken: e(
    401,
    (a) => `The access token expiry UTC time '${a.expiry}' is earlier than current UTC time '${a.now}'.`,
  ),
  InvalidAuthenticationTokenAudience: e(
    401,
    (a) =>
      `The access token has been obtained for wrong audience or resource '${a.audience}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.`,
  ),
  InvalidAuthenticationTokenTenant: e(
    401,
    (a) =>
      `The access token is from the wrong issuer '${a.issuer}'. It must match the tenant 'https://sts.windows.net/${a.tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${a.tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
  ),
  AuthorizationFailed: e(
    403,
    (a) =>
      `The client '${a.client}' with object id '${a.objectId}' does not have authorization to perform action '${a.action}' over scope '${a.scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  ),
  LinkedAuthorizationFailed: e(
    403,
    (a) =>
      `The client '${a.client}' with object id '${a.objectId}' has permission to perform action '${a.action}' on scope '${a.scope}'; however, it does not have permission to perform action '${a.linkedAction}' on the linked scope(s) '${a.linkedScope}' or the linked scope(s) are invalid.`,
  ),
  MissingApiVersionParameter: e(
    400,
    () => 'The api-version query parameter (?api-version=) is required for all requests.',
  ),
  InvalidApiVersionParameter: e(
    400,
    (a) => `The api-version '${a.version}' is invalid. The supported versions are '${a.supported}'.`,
  ),
  NoRegisteredProviderFound: e(
    400,
    (a) =>
      `No registered resource provider found for location '${a.location}' and API version '${a.version}' for type '${a.type}'. The supported api-versions are '${a.supported}'. The supported locations are '${a.locations}'.`,
  ),
  InvalidResourceNamespace: e(400, (a) => `The resource namespace '${a.namespace}' is invalid.`),
  /** A known extension type asked for with an api-version it does not have. */
  InvalidResourceTypeVersion: e(
    400,
    (a) =>
      `The resource type '${a.type}' could not be found in the namespace '${a.namespace}' for api version '${a.version}'. The supported api-versions are '${a.supported}'.`,
  ),
  /** A type the namespace does not have at all: 404 without the type name (docs/wire/arm-errors.md §4). */
  InvalidResourceType: e(
    404,
    (a) => `The resource type could not be found in the namespace '${a.namespace}' for api version '${a.version}'.`,
  ),
  MissingSubscription: e(
    400,
    () => 'The request did not have a subscription or a valid tenant level resource provider.',
  ),
  NotSupported: e(400, (a) => `${a.what} is not supported by azid. See docs/deviations.md.`),
  MethodNotAllowed: e(405, (a) => `The requested resource does not support http method '${a.method}'.`),
  InvalidRequestUri: e(400, (a) => `The request uri '${a.uri}' is invalid.`),
  SubscriptionNotFound: e(404, (a) => `The subscription '${a.subscription}' could not be found.`),
  ResourceGroupNotFound: e(404, (a) => `Resource group '${a.resourceGroup}' could not be found.`),
  ResourceNotFound: e(
    404,
    (a) =>
      `The Resource '${a.type}/${a.name}' under resource group '${a.resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  ),
  ParentResourceNotFound: e(
    404,
    (a) => `Can not perform requested operation on nested resource. Parent resource '${a.parent}' not found.`,
  ),
  InvalidRequestContent: e(400, (a) => `The request content was invalid and could not be deserialized: '${a.reason}'.`),
  RequestContentTooLarge: e(413, () => 'The request content size exceeds the maximum size of 4 MB.'),
  InvalidResourceGroupLocation: e(
    409,
    (a) =>
      `Invalid resource group location '${a.location}'. The Resource group already exists in location '${a.existing}'.`,
  ),
  InvalidResourceLocation: e(
    400,
    (a) =>
      `The resource '${a.name}' already exists in location '${a.existing}' in resource group '${a.resourceGroup}'. A resource with the same name cannot be created in location '${a.location}'. Please select a new resource name.`,
  ),
  LocationRequired: e(400, () => 'The location property is required for this definition.'),
  InvalidResourceGroup: e(
    400,
    (a) =>
      `The provided resource group name '${a.name}' has these invalid characters: '${a.chars}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.`,
  ),
  InvalidResourceName: e(400, (a) => `The resource name '${a.name}' is invalid. ${a.rule}`),
  InvalidParameter: e(400, (a) => a.message ?? 'Invalid parameter.'),
  BadRequest: e(400, (a) => a.message ?? 'Bad request.'),
  Conflict: e(409, (a) => a.message ?? 'The request conflicts with the current state of the resource.'),
  AnotherOperationInProgress: e(
    409,
    (a) =>
      `Operation on the resource '${a.name}' is not allowed because another operation is in progress on it. Please retry later.`,
  ),
  // Identities on hosts
  FailedIdentityOperation: e(
    400,
    (a) =>
      `Identity operation for resource '${a.resource}' failed with error 'Failed to perform resource identity operation. Status: 'BadRequest'. Response: '{"error":{"code":"BadRequest","message":"${a.inner}"}}'.'.`,
  ),
  InvalidIdentityId: e(
    400,
    (a) =>
      `The identity ids '${a.ids}' are invalid. It must be of the following format: '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}'.`,
  ),
  MissingIdentityIds: e(400, () => "The identity ids must not be null or empty for 'UserAssigned' identity type."),
  CannotSetResourceIdentity: e(
    400,
    (a) =>
      `Resource type '${a.type}' does not support creation of '${a.identityType}' resource identity. The supported types are '${a.supported}'.`,
  ),
  // Microsoft.Storage, Microsoft.KeyVault, Microsoft.DocumentDB
  AccountNameInvalid: e(
    400,
    (a) =>
      `${a.name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`,
  ),
  StorageAccountAlreadyTaken: e(409, (a) => `The storage account named ${a.name} is already taken.`),
  VaultAlreadyExists: e(
    409,
    (a) =>
      `The vault name '${a.name}' is already in use. Vault names are globally unique so it is possible that the name is already taken.`,
  ),
  DatabaseAccountNameInvalid: e(
    400,
    (a) =>
      `Database account name '${a.name}' is invalid. The name can contain only lowercase letters, numbers and the '-' character, must be between 3 and 44 characters long, and must not start or end with '-'.`,
  ),
  DatabaseAccountAlreadyExists: e(409, (a) => `Database account name '${a.name}' already exists.`),
  // Microsoft.Authorization
  RoleAssignmentExists: e(409, () => 'The role assignment already exists.'),
  RoleAssignmentNotFound: e(404, () => 'The role assignment does not exist.'),
  RoleAssignmentUpdateNotPermitted: e(
    400,
    () => 'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.',
  ),
  InvalidRoleAssignmentId: e(
    400,
    (a) => `The role assignment ID '${a.name}' is not valid. The role assignment ID must be a GUID.`,
  ),
  InvalidPrincipalId: e(400, (a) => `The Principal ID '${a.principalId}' is not valid. Principal ID must be a GUID.`),
  PrincipalNotFound: e(
    400,
    (a) =>
      `Principal ${a.principalId} does not exist in the directory ${a.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
  ),
  RoleDefinitionDoesNotExist: e(404, (a) => `The specified role definition with ID '${a.id}' does not exist.`),
  RoleDefinitionWithSameNameExists: e(409, () => 'A custom role with the same name already exists in this directory.'),
  InvalidActionOrNotAction: e(400, (a) => `'${a.action}' contains multiple wildcards. Only one is allowed.`),
  InvalidRoleDefinition: e(400, (a) => a.message ?? 'The role definition is invalid.'),
  InvalidAssignableScope: e(400, (a) => `The assignable scope '${a.scope}' is not valid.`),
  CannotModifyBuiltInRole: e(403, () => 'Built-in role definitions cannot be modified or deleted.'),
  RoleDefinitionHasAssignments: e(
    409,
    () => 'There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).',
  ),
  InvalidFilter: e(400, (a) => `The filter '${a.filter}' is not supported.`),
  InternalServerError: e(500, () => 'The server encountered an internal error. Please retry the request.'),
} as const satisfies Record<string, Entry>

export type ArmErrorCode = keyof typeof ARM_ERRORS

/** Wire code when it differs from the catalogue key (two keys share AuthenticationFailed). */
export const WIRE_CODE: Partial<Record<ArmErrorCode, string>> = {
  AuthenticationFailedInvalidHeader: 'AuthenticationFailed',
  InvalidResourceTypeVersion: 'InvalidResourceType',
}

export class ArmError extends DomainError<ArmErrorCode> {
  constructor(code: ArmErrorCode, args: Record<string, string> = {}, detail?: string) {
    super(code, { args, ...(detail === undefined ? {} : { detail }) })
  }
}
