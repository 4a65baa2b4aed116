import type {
  AppRole,
  Application,
  KeyCredential,
  PasswordCredential,
  ServicePrincipal,
  User,
} from '../directory/index.ts'
import type { EntitySchema } from './odata.ts'

/** Graph's wire shapes (v1.0), mapped once here from directory objects. Property order follows Graph's responses. */

export type GraphVersion = 'v1.0' | 'beta'

export const ODATA_TYPE = {
  servicePrincipal: '#microsoft.graph.servicePrincipal',
  application: '#microsoft.graph.application',
  user: '#microsoft.graph.user',
} as const

/** `https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(id,appId)/$entity` — always Graph's own host. */
export function contextUrl(
  version: GraphVersion,
  set: string,
  q: { entity?: boolean; select?: readonly string[] | null } = {},
): string {
  const sel = q.select ? `(${q.select.join(',')})` : ''
  return `https://graph.microsoft.com/${version}/$metadata#${set}${sel}${q.entity ? '/$entity' : ''}`
}

/** `2021-03-05T21:36:13Z`: Graph prints createdDateTime to the second. */
const seconds = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`
const iso = (ms: number) => new Date(ms).toISOString()

export function wireAppRole(r: AppRole): Record<string, unknown> {
  return {
    allowedMemberTypes: [...r.allowedMemberTypes],
    description: r.description,
    displayName: r.displayName,
    id: r.id,
    isEnabled: r.isEnabled,
    origin: 'Application',
    value: r.value,
  }
}

export function wirePasswordCredential(c: PasswordCredential, secretText: string | null = null) {
  return {
    customKeyIdentifier: null,
    displayName: c.displayName,
    endDateTime: iso(c.endAt),
    hint: c.hint,
    keyId: c.keyId,
    secretText,
    startDateTime: iso(c.startAt),
  }
}

export function wireKeyCredential(c: KeyCredential) {
  return {
    // Graph shows a certificate's SHA-1 thumbprint, base64, as its customKeyIdentifier.
    customKeyIdentifier: Buffer.from(c.sha1Hex, 'hex').toString('base64'),
    displayName: c.displayName,
    endDateTime: iso(c.endAt),
    key: null,
    keyId: c.keyId,
    startDateTime: iso(c.startAt),
    type: 'AsymmetricX509Cert',
    usage: 'Verify',
  }
}

const VERIFIED_PUBLISHER = { displayName: null, verifiedPublisherId: null, addedDateTime: null }
const EMPTY_INFO = {
  logoUrl: null,
  marketingUrl: null,
  privacyStatementUrl: null,
  supportUrl: null,
  termsOfServiceUrl: null,
}

/**
 * A service principal (api-shapes §5.1). Managed identities: `servicePrincipalType: "ManagedIdentity"`,
 * `alternativeNames` = [`isExplicit=True|False`, ARM id], `servicePrincipalNames` = [clientId, identity.azure.net URI],
 * no application, nulls and empties elsewhere. `app` is the backing application when it is in the same tenant.
 */
export function wireServicePrincipal(sp: ServicePrincipal, app: Application | null): Record<string, unknown> {
  const mi = sp.type === 'ManagedIdentity'
  return {
    id: sp.objectId,
    deletedDateTime: null,
    accountEnabled: sp.accountEnabled,
    alternativeNames: [...sp.alternativeNames],
    appDisplayName: mi ? null : (app?.displayName ?? sp.displayName),
    appDescription: null,
    appId: sp.appId,
    applicationTemplateId: null,
    appOwnerOrganizationId: sp.appOwnerTenantId,
    appRoleAssignmentRequired: false,
    createdDateTime: seconds(sp.createdAt),
    description: null,
    disabledByMicrosoftStatus: null,
    displayName: sp.displayName,
    homepage: null,
    loginUrl: null,
    logoutUrl: null,
    notes: null,
    notificationEmailAddresses: [],
    preferredSingleSignOnMode: null,
    preferredTokenSigningKeyThumbprint: null,
    replyUrls: app ? [...app.redirectUris] : [],
    servicePrincipalNames: [...sp.servicePrincipalNames],
    servicePrincipalType: sp.type,
    signInAudience: mi ? null : 'AzureADMyOrg',
    tags: [],
    tokenEncryptionKeyId: null,
    samlSingleSignOnSettings: null,
    addIns: [],
    appRoles: app ? app.appRoles.map(wireAppRole) : [],
    info: mi ? null : { ...EMPTY_INFO },
    // TODO(deviation): real MI service principals carry one AsymmetricX509Cert keyCredential; azid keeps none.
    keyCredentials: [],
    oauth2PermissionScopes: [],
    passwordCredentials: [],
    resourceSpecificApplicationPermissions: [],
    verifiedPublisher: { ...VERIFIED_PUBLISHER },
  }
}

/**
 * An application. azid keeps one redirect-URI list and a public-client flag: the list reads back under
 * `publicClient` for public clients and under `web` otherwise (docs/deviations.md).
 */
export function wireApplication(
  a: Application,
  creds: { passwords: readonly PasswordCredential[]; keys: readonly KeyCredential[] },
): Record<string, unknown> {
  return {
    id: a.objectId,
    deletedDateTime: null,
    appId: a.appId,
    applicationTemplateId: null,
    disabledByMicrosoftStatus: null,
    createdDateTime: seconds(a.createdAt),
    displayName: a.displayName,
    description: null,
    groupMembershipClaims: null,
    identifierUris: [...a.identifierUris],
    isDeviceOnlyAuthSupported: null,
    isFallbackPublicClient: a.isPublicClient,
    notes: null,
    publisherDomain: null,
    serviceManagementReference: null,
    signInAudience: 'AzureADMyOrg',
    tags: [],
    tokenEncryptionKeyId: null,
    defaultRedirectUri: null,
    optionalClaims: null,
    addIns: [],
    api: {
      acceptMappedClaims: null,
      knownClientApplications: [],
      // null means v1 on a new registration (graph-docs apiApplication).
      requestedAccessTokenVersion: a.accessTokenVersion === 2 ? 2 : null,
      oauth2PermissionScopes: [],
      preAuthorizedApplications: [],
    },
    appRoles: a.appRoles.map(wireAppRole),
    info: { ...EMPTY_INFO },
    keyCredentials: creds.keys.map(wireKeyCredential),
    parentalControlSettings: { countriesBlockedForMinors: [], legalAgeGroupRule: 'Allow' },
    passwordCredentials: creds.passwords.map((c) => wirePasswordCredential(c)),
    publicClient: { redirectUris: a.isPublicClient ? [...a.redirectUris] : [] },
    requiredResourceAccess: [],
    verifiedPublisher: { ...VERIFIED_PUBLISHER },
    web: {
      homePageUrl: null,
      logoutUrl: null,
      redirectUris: a.isPublicClient ? [] : [...a.redirectUris],
      implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false },
    },
    spa: { redirectUris: [] },
  }
}

/** A user with v1.0's default property set. */
export function wireUser(u: User): Record<string, unknown> {
  return {
    businessPhones: [],
    displayName: u.displayName,
    givenName: null,
    jobTitle: null,
    mail: null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: null,
    userPrincipalName: u.userPrincipalName,
    id: u.objectId,
  }
}

/** For `directoryObjects` answers: `@odata.type` first (api-shapes §5.2). */
export const withType = (type: string, o: Record<string, unknown>) => ({ '@odata.type': type, ...o })

// -- filter/select schemas (the property lists are the keys of the wire objects above)

const keysOf = (o: Record<string, unknown>) => Object.keys(o)
const SAMPLE_SP = wireServicePrincipal(
  {
    tenantId: '',
    objectId: '',
    appId: '',
    displayName: '',
    type: 'Application',
    appOwnerTenantId: null,
    servicePrincipalNames: [],
    alternativeNames: [],
    managedIdentityResourceId: null,
    accountEnabled: true,
    createdAt: 0,
  },
  null,
)
const SAMPLE_APP = wireApplication(
  {
    tenantId: '',
    objectId: '',
    appId: '',
    displayName: '',
    isPublicClient: false,
    accessTokenVersion: 1,
    identifierUris: [],
    redirectUris: [],
    appRoles: [],
    createdAt: 0,
  },
  { passwords: [], keys: [] },
)
const SAMPLE_USER = wireUser({
  tenantId: '',
  objectId: '',
  userPrincipalName: '',
  displayName: '',
  passwordHash: null,
  createdAt: 0,
})

/** The filters az and the docs use (api-shapes §5.2–5.3), plus the obvious neighbours. */
export const SERVICE_PRINCIPAL_SCHEMA: EntitySchema = {
  type: 'servicePrincipal',
  resource: 'ServicePrincipal',
  properties: keysOf(SAMPLE_SP),
  filterable: {
    id: { kind: 'string', ops: ['eq'] },
    appId: { kind: 'string', ops: ['eq'] },
    displayName: { kind: 'string', ops: ['eq', 'startswith'] },
    servicePrincipalType: { kind: 'string', ops: ['eq'] },
    accountEnabled: { kind: 'boolean', ops: ['eq'] },
    appOwnerOrganizationId: { kind: 'string', ops: ['eq'] },
    servicePrincipalNames: { kind: 'collection', ops: ['eq', 'startswith'] },
    alternativeNames: { kind: 'collection', ops: ['eq'] },
    tags: { kind: 'collection', ops: ['eq'] },
  },
}

export const APPLICATION_SCHEMA: EntitySchema = {
  type: 'application',
  resource: 'Application',
  properties: keysOf(SAMPLE_APP),
  filterable: {
    id: { kind: 'string', ops: ['eq'] },
    appId: { kind: 'string', ops: ['eq'] },
    displayName: { kind: 'string', ops: ['eq', 'startswith'] },
    identifierUris: { kind: 'collection', ops: ['eq', 'startswith'] },
    tags: { kind: 'collection', ops: ['eq'] },
  },
}

export const USER_SCHEMA: EntitySchema = {
  type: 'user',
  resource: 'User',
  properties: keysOf(SAMPLE_USER),
  filterable: {
    id: { kind: 'string', ops: ['eq'] },
    userPrincipalName: { kind: 'string', ops: ['eq', 'startswith'] },
    displayName: { kind: 'string', ops: ['eq', 'startswith'] },
    mail: { kind: 'string', ops: ['eq', 'startswith'] },
  },
}
