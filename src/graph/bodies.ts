import type { AppRole, Application } from '../directory/index.ts'
import { isGuid } from '../kernel/ids.ts'
import { GraphError } from './errors.ts'

/**
 * Request bodies of Graph writes, checked and turned into typed commands. Properties Graph has but azid does not keep
 * (notes, tags, requiredResourceAccess, …) are accepted and ignored; names Graph does not know are refused
 * (docs/deviations.md lists both).
 */

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

export function expectObject(body: unknown): Json {
  if (!isObject(body)) throw new GraphError('InvalidRequestBody', {}, 'body is not a JSON object')
  return body
}

const invalid = (property: string, resource: string, detail?: string) =>
  new GraphError('InvalidPropertyValue', { property, resource }, detail)

function stringList(v: unknown, property: string, resource: string): string[] {
  if (v === null) return []
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(property, resource)
  return v as string[]
}

function checkKeys(o: Json, known: ReadonlySet<string>, type: string, prefix = '') {
  for (const k of Object.keys(o)) {
    if (k.startsWith('@odata.')) continue
    if (!known.has(k)) throw new GraphError('UndeclaredProperty', { property: `${prefix}${k}`, type })
  }
}

// -- applications

/** Writable or read-only application properties Graph documents (v1.0 application resource). */
const APPLICATION_PROPS = new Set([
  'id',
  'deletedDateTime',
  'appId',
  'applicationTemplateId',
  'disabledByMicrosoftStatus',
  'createdDateTime',
  'displayName',
  'description',
  'groupMembershipClaims',
  'identifierUris',
  'isDeviceOnlyAuthSupported',
  'isFallbackPublicClient',
  'notes',
  'publisherDomain',
  'serviceManagementReference',
  'signInAudience',
  'tags',
  'tokenEncryptionKeyId',
  'defaultRedirectUri',
  'optionalClaims',
  'addIns',
  'api',
  'appRoles',
  'info',
  'keyCredentials',
  'parentalControlSettings',
  'passwordCredentials',
  'publicClient',
  'requiredResourceAccess',
  'verifiedPublisher',
  'web',
  'spa',
  'certification',
  'servicePrincipalLockConfiguration',
  'requestSignatureVerification',
  'samlMetadataUrl',
  'logo',
])
const API_PROPS = new Set([
  'acceptMappedClaims',
  'knownClientApplications',
  'requestedAccessTokenVersion',
  'oauth2PermissionScopes',
  'preAuthorizedApplications',
])
const WEB_PROPS = new Set(['homePageUrl', 'logoutUrl', 'redirectUris', 'implicitGrantSettings', 'redirectUriSettings'])

export interface ApplicationChanges {
  displayName?: string
  identifierUris?: string[]
  accessTokenVersion?: 1 | 2
  appRoles?: AppRole[]
  isFallbackPublicClient?: boolean
  webRedirectUris?: string[]
  publicClientRedirectUris?: string[]
  spaRedirectUris?: string[]
}

const emptyish = (v: unknown) => v === null || v === undefined || (Array.isArray(v) && v.length === 0)

function parseAppRoles(v: unknown): AppRole[] {
  if (v === null) return []
  if (!Array.isArray(v)) throw invalid('appRoles', 'Application')
  const seen = new Set<string>()
  return v.map((r): AppRole => {
    if (!isObject(r)) throw invalid('appRoles', 'Application')
    const id = r.id
    if (typeof id !== 'string' || !isGuid(id) || seen.has(id.toLowerCase())) throw invalid('appRoles', 'Application')
    seen.add(id.toLowerCase())
    const members = r.allowedMemberTypes ?? ['Application']
    if (!Array.isArray(members) || members.length === 0 || !members.every((m) => m === 'Application' || m === 'User'))
      throw invalid('appRoles', 'Application')
    const str = (x: unknown) => (typeof x === 'string' ? x : '')
    return {
      id: id.toLowerCase(),
      value: str(r.value),
      displayName: str(r.displayName),
      description: str(r.description),
      allowedMemberTypes: members as ('Application' | 'User')[],
      isEnabled: r.isEnabled !== false,
    }
  })
}

/** POST /applications and PATCH /applications/{id}. */
export function parseApplicationBody(body: unknown, q: { create: boolean }): ApplicationChanges {
  const o = expectObject(body)
  checkKeys(o, APPLICATION_PROPS, 'application')
  const out: ApplicationChanges = {}
  if ('displayName' in o) {
    if (typeof o.displayName !== 'string' || o.displayName.trim() === '') throw invalid('displayName', 'Application')
    out.displayName = o.displayName
  } else if (q.create) throw invalid('displayName', 'Application', 'displayName is required')
  if ('identifierUris' in o) {
    const uris = stringList(o.identifierUris, 'identifierUris', 'Application')
    // Entra requires a scheme (api://…, https://…); a bare word is an invalid alias.
    if (uris.some((u) => !/^[a-z][a-z0-9+.-]*:\S+$/i.test(u))) throw invalid('identifierUris', 'Application')
    out.identifierUris = [...new Set(uris)]
  }
  if ('isFallbackPublicClient' in o && o.isFallbackPublicClient !== null) {
    if (typeof o.isFallbackPublicClient !== 'boolean') throw invalid('isFallbackPublicClient', 'Application')
    out.isFallbackPublicClient = o.isFallbackPublicClient
  }
  if ('signInAudience' in o && o.signInAudience !== null && o.signInAudience !== 'AzureADMyOrg')
    throw new GraphError('NotSupported', { what: `signInAudience '${String(o.signInAudience)}'` })
  if ('api' in o && o.api !== null) {
    if (!isObject(o.api)) throw invalid('api', 'Application')
    checkKeys(o.api, API_PROPS, 'apiApplication', '')
    const v = o.api.requestedAccessTokenVersion
    if (v !== undefined) {
      if (v !== null && v !== 1 && v !== 2) throw invalid('requestedAccessTokenVersion', 'Application')
      out.accessTokenVersion = v === 2 ? 2 : 1
    }
    if (!emptyish(o.api.oauth2PermissionScopes) || !emptyish(o.api.preAuthorizedApplications))
      throw new GraphError('NotSupported', { what: 'Setting api.oauth2PermissionScopes or preAuthorizedApplications' })
  }
  if ('appRoles' in o) out.appRoles = parseAppRoles(o.appRoles)
  for (const [key, field] of [
    ['web', 'webRedirectUris'],
    ['publicClient', 'publicClientRedirectUris'],
    ['spa', 'spaRedirectUris'],
  ] as const) {
    const v = o[key]
    if (v === undefined || v === null) continue
    if (!isObject(v)) throw invalid(key, 'Application')
    checkKeys(v, key === 'web' ? WEB_PROPS : new Set(['redirectUris']), key === 'web' ? 'webApplication' : key)
    if ('redirectUris' in v) out[field] = stringList(v.redirectUris, 'redirectUris', 'Application')
  }
  if (!emptyish(o.keyCredentials))
    throw new GraphError('NotSupported', { what: 'Adding keyCredentials through Microsoft Graph' })
  if (!emptyish(o.passwordCredentials))
    throw new GraphError('NotSupported', {
      what: 'Setting passwordCredentials directly (use addPassword)',
    })
  return out
}

/**
 * Applies changes to an application. azid keeps one redirect list and a public-client flag: the lists a request does
 * not name keep what they read as (`publicClient` for public clients, `web` otherwise).
 */
export function applyApplicationChanges(a: Application, c: ApplicationChanges): Application {
  const currentPublic = a.isPublicClient ? a.redirectUris : []
  const currentWeb = a.isPublicClient ? [] : a.redirectUris
  const pub = c.publicClientRedirectUris ?? currentPublic
  const web = c.webRedirectUris ?? currentWeb
  const spa = c.spaRedirectUris ?? []
  const listsGiven = c.publicClientRedirectUris ?? c.webRedirectUris ?? c.spaRedirectUris
  const isPublicClient =
    c.isFallbackPublicClient ??
    (listsGiven !== undefined ? pub.length > 0 && web.length === 0 && spa.length === 0 : a.isPublicClient)
  return {
    ...a,
    displayName: c.displayName ?? a.displayName,
    identifierUris: c.identifierUris ?? a.identifierUris,
    accessTokenVersion: c.accessTokenVersion ?? a.accessTokenVersion,
    appRoles: c.appRoles ?? a.appRoles,
    isPublicClient,
    redirectUris: [...new Set([...web, ...spa, ...pub])],
  }
}

// -- password credentials

export interface PasswordRequest {
  displayName?: string
  endAt?: number
}

/** `{"passwordCredential":{"displayName","endDateTime"}}`; the body and the inner object are optional in Graph. */
export function parseAddPassword(body: unknown, now: number): PasswordRequest {
  if (body === undefined) return {}
  const o = expectObject(body)
  checkKeys(o, new Set(['passwordCredential']), 'application')
  const pc = o.passwordCredential
  if (pc === undefined || pc === null) return {}
  if (!isObject(pc)) throw invalid('passwordCredential', 'Application')
  checkKeys(
    pc,
    new Set(['customKeyIdentifier', 'displayName', 'endDateTime', 'hint', 'keyId', 'secretText', 'startDateTime']),
    'passwordCredential',
  )
  const out: PasswordRequest = {}
  if (pc.displayName !== undefined && pc.displayName !== null) {
    if (typeof pc.displayName !== 'string') throw invalid('displayName', 'PasswordCredential')
    out.displayName = pc.displayName
  }
  if (pc.endDateTime !== undefined && pc.endDateTime !== null) {
    const end = typeof pc.endDateTime === 'string' ? Date.parse(pc.endDateTime) : Number.NaN
    if (!Number.isFinite(end) || end <= now) throw invalid('endDateTime', 'PasswordCredential')
    out.endAt = end
  }
  return out
}

export function parseRemovePassword(body: unknown): string {
  const o = expectObject(body)
  checkKeys(o, new Set(['keyId']), 'application')
  if (typeof o.keyId !== 'string' || !isGuid(o.keyId)) throw invalid('keyId', 'PasswordCredential')
  return o.keyId.toLowerCase()
}

// -- service principals

const SERVICE_PRINCIPAL_PROPS = new Set([
  'id',
  'deletedDateTime',
  'accountEnabled',
  'alternativeNames',
  'appDisplayName',
  'appDescription',
  'appId',
  'applicationTemplateId',
  'appOwnerOrganizationId',
  'appRoleAssignmentRequired',
  'createdDateTime',
  'description',
  'disabledByMicrosoftStatus',
  'displayName',
  'homepage',
  'loginUrl',
  'logoutUrl',
  'notes',
  'notificationEmailAddresses',
  'preferredSingleSignOnMode',
  'preferredTokenSigningKeyThumbprint',
  'replyUrls',
  'servicePrincipalNames',
  'servicePrincipalType',
  'signInAudience',
  'tags',
  'tokenEncryptionKeyId',
  'samlSingleSignOnSettings',
  'addIns',
  'appRoles',
  'info',
  'keyCredentials',
  'oauth2PermissionScopes',
  'passwordCredentials',
  'resourceSpecificApplicationPermissions',
  'verifiedPublisher',
])

/** POST /servicePrincipals: `{"appId"}` of an application of the tenant. */
export function parseCreateServicePrincipal(body: unknown): { appId: string } {
  const o = expectObject(body)
  checkKeys(o, SERVICE_PRINCIPAL_PROPS, 'servicePrincipal')
  if (typeof o.appId !== 'string' || o.appId.trim() === '') throw invalid('appId', 'ServicePrincipal')
  return { appId: o.appId.trim().toLowerCase() }
}

export interface ServicePrincipalChanges {
  displayName?: string
  accountEnabled?: boolean
}

export function parseUpdateServicePrincipal(body: unknown): ServicePrincipalChanges {
  const o = expectObject(body)
  checkKeys(o, SERVICE_PRINCIPAL_PROPS, 'servicePrincipal')
  const out: ServicePrincipalChanges = {}
  if ('displayName' in o) {
    if (typeof o.displayName !== 'string' || o.displayName.trim() === '')
      throw invalid('displayName', 'ServicePrincipal')
    out.displayName = o.displayName
  }
  if ('accountEnabled' in o) {
    if (typeof o.accountEnabled !== 'boolean') throw invalid('accountEnabled', 'ServicePrincipal')
    out.accountEnabled = o.accountEnabled
  }
  return out
}

// -- directoryObjects/getByIds

export const GET_BY_IDS_MAX = 1000

export function parseGetByIds(body: unknown): { ids: string[]; types: Set<string> | null } {
  const o = expectObject(body)
  checkKeys(o, new Set(['ids', 'types']), 'directoryObject')
  const ids = stringList(o.ids ?? null, 'ids', 'DirectoryObject')
  if (ids.length > GET_BY_IDS_MAX)
    throw new GraphError('TooManyIds', { count: String(ids.length), max: String(GET_BY_IDS_MAX) })
  for (const id of ids) if (!isGuid(id)) throw new GraphError('InvalidObjectIdentifier', { id })
  const types = o.types === undefined || o.types === null ? null : stringList(o.types, 'types', 'DirectoryObject')
  return {
    ids: [...new Set(ids.map((i) => i.toLowerCase()))],
    types:
      types && types.length > 0
        ? new Set(types.map((t) => t.toLowerCase().replace(/^#?microsoft\.graph\./, '')))
        : null,
  }
}
