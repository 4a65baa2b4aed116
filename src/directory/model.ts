/** Directory objects, shaped after Microsoft Graph's (camelCase here; wire spellings live in graph/). */

export interface Tenant {
  id: string
  domain: string
  displayName: string
  isDefault: boolean
  createdAt: number
}

export interface AppRole {
  id: string
  value: string
  displayName: string
  description: string
  allowedMemberTypes: readonly ('Application' | 'User')[]
  isEnabled: boolean
}

export interface Application {
  tenantId: string
  objectId: string
  /** The client id. */
  appId: string
  displayName: string
  /** Public clients (device code, az, AzCopy) present no secret. */
  isPublicClient: boolean
  /** `api.requestedAccessTokenVersion`: decides the shape of tokens issued *for* this app as a resource. */
  accessTokenVersion: 1 | 2
  identifierUris: readonly string[]
  redirectUris: readonly string[]
  appRoles: readonly AppRole[]
  createdAt: number
}

export type ServicePrincipalType = 'Application' | 'ManagedIdentity'

export interface ServicePrincipal {
  tenantId: string
  objectId: string
  appId: string
  displayName: string
  type: ServicePrincipalType
  appOwnerTenantId: string | null
  servicePrincipalNames: readonly string[]
  alternativeNames: readonly string[]
  /** For managed identities: the ARM resource id that goes into `xms_mirid`. */
  managedIdentityResourceId: string | null
  accountEnabled: boolean
  createdAt: number
}

export interface PasswordCredential {
  keyId: string
  tenantId: string
  appId: string
  displayName: string
  /** First three characters of the secret, as Graph shows them. */
  hint: string
  salt: string
  hash: string
  startAt: number
  endAt: number
  createdAt: number
}

export interface KeyCredential {
  keyId: string
  tenantId: string
  appId: string
  displayName: string
  sha1Hex: string
  sha256Hex: string
  /** base64 DER */
  certDer: string
  startAt: number
  endAt: number
  createdAt: number
}

export interface FederatedCredential {
  id: string
  tenantId: string
  /** Client id of the application or user-assigned identity that trusts the issuer. */
  appId: string
  name: string
  issuer: string
  subject: string
  audiences: readonly string[]
  description: string | null
  /** ARM id of the credential when it belongs to a user-assigned identity. */
  resourceId: string | null
  createdAt: number
}

export interface User {
  tenantId: string
  objectId: string
  userPrincipalName: string
  displayName: string
  passwordHash: string | null
  createdAt: number
}

export interface AppRoleAssignment {
  id: string
  tenantId: string
  principalId: string
  resourceAppId: string
  appRoleId: string
  createdAt: number
}
