/**
 * ARM resource ids: parsing, canonical casing and scope arithmetic. Segment names (`subscriptions`,
 * `resourceGroups`, `providers`) and namespaces are case-insensitive; resource names keep the casing they were
 * created with (ARM-004). Comparison keys are lower case without a trailing slash.
 */

export interface ProviderSegment {
  namespace: string
  /** type/name pairs: `[['virtualMachines','vm1'], ['extensions','ext']]`; the last name may be absent (a collection). */
  types: [string, string | undefined][]
}

export interface ParsedResourceId {
  subscriptionId: string | null
  resourceGroup: string | null
  /** Each `providers/...` run, outermost first (extension resources have two: the parent and the extension). */
  providers: ProviderSegment[]
  /** Segments after the id that are not part of it (e.g. an action such as `listKeys`). */
  rest: string[]
}

export class ResourceIdError extends Error {
  override name = 'ResourceIdError'
}

export const idKey = (id: string): string => {
  let s = id
    .trim()
    .toLowerCase()
    .replace(/\/{2,}/g, '/')
  if (s.length > 1 && s.endsWith('/')) s = s.slice(0, -1)
  return s.startsWith('/') ? s : `/${s}`
}

/** True when `ancestor` is `scope` itself or contains it, at segment boundaries (`/rg1` never contains `/rg10`). */
export function isWithinScope(scope: string, ancestor: string): boolean {
  const s = idKey(scope)
  const a = idKey(ancestor)
  if (a === '/') return true
  return s === a || s.startsWith(`${a}/`)
}

/** Parent scopes of a scope, nearest first, ending with `/` (the tenant root). */
export function ancestorScopes(scope: string): string[] {
  const parts = idKey(scope).split('/').filter(Boolean)
  const out: string[] = []
  for (let i = parts.length; i > 0; i--) out.push(`/${parts.slice(0, i).join('/')}`)
  out.push('/')
  return out
}

/**
 * Parses a resource id or request path (`/subscriptions/s/resourceGroups/rg/providers/Ns/type/name/...`).
 * Does not validate names; throws ResourceIdError for a shape ARM would not accept.
 */
export function parseResourceId(path: string): ParsedResourceId {
  const segs = path.split('/').filter((s) => s !== '')
  let i = 0
  const out: ParsedResourceId = { subscriptionId: null, resourceGroup: null, providers: [], rest: [] }
  if (segs[i]?.toLowerCase() === 'subscriptions') {
    out.subscriptionId = segs[i + 1] ?? null
    i += 2
    if (segs[i]?.toLowerCase() === 'resourcegroups') {
      out.resourceGroup = segs[i + 1] ?? null
      i += 2
    }
  }
  while (i < segs.length) {
    if (segs[i]?.toLowerCase() !== 'providers') {
      out.rest = segs.slice(i)
      break
    }
    const namespace = segs[i + 1]
    if (!namespace) throw new ResourceIdError('providers segment without a namespace')
    i += 2
    const types: [string, string | undefined][] = []
    while (i < segs.length && segs[i]?.toLowerCase() !== 'providers') {
      types.push([segs[i] as string, segs[i + 1]])
      i += 2
    }
    out.providers.push({ namespace, types })
  }
  return out
}

/** `/subscriptions/{s}/resourceGroups/{rg}` with canonical segment casing. */
export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`
}

/** The id form Entra puts in `xms_mirid` and Graph in `alternativeNames`: `resourcegroups` in lower case. */
export function lowerResourceGroupsSegment(id: string): string {
  return id.replace(/\/resourcegroups\//i, '/resourcegroups/')
}

/** Canonical casing of the fixed segments: `subscriptions`, `resourceGroups`, `providers`. */
export function canonicalSegments(id: string): string {
  return id
    .replace(/^\/?subscriptions\//i, '/subscriptions/')
    .replace(/\/resourcegroups\//i, '/resourceGroups/')
    .replace(/\/providers\//gi, '/providers/')
}
