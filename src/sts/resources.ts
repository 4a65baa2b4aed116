import type { Application, DirectoryStore } from '../directory/index.ts'
import { isGuid } from '../kernel/ids.ts'
import { StsError } from './errors.ts'
import { FIRST_PARTY_RESOURCES, type FirstPartyResource } from './first-party.ts'

/** The resource a token is issued for. */
export interface ResolvedResource {
  /** The `aud` claim. */
  audience: string
  /** What the client asked for, echoed in v1 `resource` fields. */
  requested: string
  appId: string
  displayName: string
  /** The resource's `accessTokenAcceptedVersion`: Microsoft's first-party APIs take v1 tokens. */
  tokenVersion: 1 | 2
  /** Delegated permissions for user tokens (`scp`). */
  scopes: readonly string[]
  application: Application | null
}

export interface ParsedScope {
  /** The resource part, e.g. `https://management.core.windows.net/` for `https://management.core.windows.net//.default`. */
  resource: string | null
  permissions: readonly string[]
  isDefault: boolean
  openid: boolean
  offlineAccess: boolean
  /** The scope string as given, for errors. */
  raw: string
}

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email'])
const GRAPH = 'https://graph.microsoft.com'

const trimSlash = (s: string) => s.replace(/\/+$/, '')
const key = (s: string) => trimSlash(s.trim()).toLowerCase()

/** Splits a v2 `scope` parameter into its one resource and its permissions (Entra allows one resource per request). */
export function parseScope(raw: string): ParsedScope {
  const items = raw.split(/\s+/).filter((s) => s !== '')
  let openid = false
  let offlineAccess = false
  let resource: string | null = null
  const permissions: string[] = []
  for (const item of items) {
    const lower = item.toLowerCase()
    if (OIDC_SCOPES.has(lower)) {
      if (lower === 'openid') openid = true
      if (lower === 'offline_access') offlineAccess = true
      continue
    }
    const slash = item.lastIndexOf('/')
    // A bare permission ("User.Read") belongs to Microsoft Graph.
    const res = slash > 0 ? item.slice(0, slash) : GRAPH
    const perm = slash > 0 ? item.slice(slash + 1) : item
    if (perm === '') throw new StsError('invalidScope', { scope: item })
    if (resource !== null && key(resource) !== key(res)) throw new StsError('multipleResources', { scope: raw })
    resource ??= res
    permissions.push(perm)
  }
  const isDefault = permissions.some((p) => p.toLowerCase() === '.default')
  if (isDefault && permissions.length > 1) throw new StsError('defaultScopeCombined', { scope: raw })
  return { resource, permissions, isDefault, openid, offlineAccess, raw }
}

/** First-party resources by normalised identifier and application id (built once; per-instance hosts by pattern). */
const FIRST_PARTY_BY_KEY = new Map<string, FirstPartyResource>()
for (const r of [...FIRST_PARTY_RESOURCES].reverse()) {
  for (const i of r.identifiers) FIRST_PARTY_BY_KEY.set(key(i), r)
  FIRST_PARTY_BY_KEY.set(r.appId, r)
}

function matchFirstParty(id: string): FirstPartyResource | undefined {
  const k = key(id)
  return FIRST_PARTY_BY_KEY.get(k) ?? FIRST_PARTY_RESOURCES.find((r) => r.hostPatterns?.some((p) => p.test(k)))
}

/**
 * Finds the resource named by a v1 `resource` or the resource part of a v2 scope: a first-party API by any of its
 * identifiers (with or without a trailing slash, AUD-003) or application id (AUD-002), or an application of the
 * tenant by identifier URI or application id.
 */
export async function resolveResource(q: {
  store: DirectoryStore
  tenantId: string
  tenantName: string
  resource: string
  permissions?: readonly string[]
}): Promise<ResolvedResource> {
  const requested = q.resource
  const perms = (q.permissions ?? []).filter((p) => p.toLowerCase() !== '.default')
  const fp = matchFirstParty(requested)
  if (fp) {
    return {
      audience: requested,
      requested,
      appId: fp.appId,
      displayName: fp.displayName,
      tokenVersion: 1,
      scopes: perms.length > 0 ? perms : [fp.delegatedScope],
      application: null,
    }
  }
  const k = key(requested)
  let app: Application | undefined
  if (isGuid(k)) app = await q.store.getApplicationByAppId(k)
  if (!app) {
    const apps = await q.store.listApplications(q.tenantId)
    app = apps.find((a) => a.identifierUris.some((u) => key(u) === k))
  }
  if (!app) throw new StsError('resourceNotFound', { resource: requested, tenantName: q.tenantName })
  return {
    // v2 tokens carry the resource's application id as audience; v1 tokens the identifier asked for.
    audience: app.accessTokenVersion === 2 ? app.appId : requested,
    requested,
    appId: app.appId,
    displayName: app.displayName,
    tokenVersion: app.accessTokenVersion,
    scopes: perms.length > 0 ? perms : ['user_impersonation'],
    application: app,
  }
}
