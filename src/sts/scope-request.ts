import type { Tenant } from '../directory/index.ts'
import type { StsDeps } from './context.ts'
import { StsError } from './errors.ts'
import { type ResolvedResource, parseScope, resolveResource } from './resources.ts'

/**
 * What a user flow asked for, stored with device codes, codes and refresh tokens:
 * `v2 <scope>` or `v1 <resource>`.
 */
export type StoredRequest = { version: 2; scope: string } | { version: 1; resource: string }

export const encodeRequest = (r: StoredRequest) => (r.version === 2 ? `v2 ${r.scope}` : `v1 ${r.resource}`)
export function decodeRequest(s: string): StoredRequest {
  return s.startsWith('v1 ') ? { version: 1, resource: s.slice(3) } : { version: 2, scope: s.slice(3) }
}

export interface UserResource {
  resource: ResolvedResource
  /** Scope echoed in responses. */
  scope: string
  openid: boolean
}

const GRAPH = 'https://graph.microsoft.com'

/** Resolves the resource of a delegated request; scopes with only `openid profile` get a Graph token, as Entra does. */
export async function resolveUserRequest(deps: StsDeps, tenant: Tenant, r: StoredRequest): Promise<UserResource> {
  const base = { store: deps.directory.store, tenantId: tenant.id, tenantName: tenant.domain }
  if (r.version === 1) {
    const resource = await resolveResource({ ...base, resource: r.resource })
    return { resource, scope: resource.scopes.join(' '), openid: true }
  }
  const parsed = parseScope(r.scope)
  const resource = await resolveResource({
    ...base,
    resource: parsed.resource ?? GRAPH,
    permissions: parsed.resource === null ? ['openid', 'profile', 'email'] : parsed.permissions,
  })
  const granted = resource.scopes.map((s) => (parsed.resource === null ? s : `${parsed.resource}/${s}`))
  // Entra echoes `<resource>/.default` after the granted permissions (az's cache shows
  // "https://management.core.windows.net//user_impersonation https://management.core.windows.net//.default"):
  // MSAL caches the token under the response scopes, so without it every silent call for `.default` misses.
  if (parsed.isDefault && parsed.resource !== null) granted.push(`${parsed.resource}/.default`)
  const oidc = r.scope
    .split(/\s+/)
    .filter((s) => ['openid', 'profile', 'offline_access', 'email'].includes(s.toLowerCase()))
  return { resource, scope: [...granted, ...oidc].join(' '), openid: parsed.openid }
}

export function requireScope(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') throw new StsError('missingParameter', { name: 'scope' })
  return raw
}
