import { isWithinScope, resourceGroupId } from '../../kernel/resource-id.ts'
import { API_VERSIONS } from '../api-versions.ts'
import type { ArmResult, Ctx } from '../context.ts'
import { ArmError } from '../errors.ts'
import type { Resource, ResourceGroup } from '../model.ts'
import type { Registry } from '../registry.ts'
import { genericResourceWire, resourceGroupWire, subscriptionWire } from '../wire.ts'
import { deleteResourceTree, renderAny } from './common.ts'

const RG_NAME = /^[-\w._()]{1,90}$/u

export const LOCATIONS = [
  ['eastus', 'East US', '(US) East US'],
  ['eastus2', 'East US 2', '(US) East US 2'],
  ['westus', 'West US', '(US) West US'],
  ['westus2', 'West US 2', '(US) West US 2'],
  ['westus3', 'West US 3', '(US) West US 3'],
  ['centralus', 'Central US', '(US) Central US'],
  ['westcentralus', 'West Central US', '(US) West Central US'],
  ['northeurope', 'North Europe', '(Europe) North Europe'],
  ['westeurope', 'West Europe', '(Europe) West Europe'],
  ['uksouth', 'UK South', '(Europe) UK South'],
  ['germanywestcentral', 'Germany West Central', '(Europe) Germany West Central'],
  ['japaneast', 'Japan East', '(Asia Pacific) Japan East'],
  ['southeastasia', 'Southeast Asia', '(Asia Pacific) Southeast Asia'],
  ['australiaeast', 'Australia East', '(Asia Pacific) Australia East'],
] as const

export function checkVersion(ctx: Ctx, versions: readonly string[], what: string): void {
  const v = ctx.req.apiVersion
  if (!versions.some((x) => x.toLowerCase() === v.toLowerCase()))
    // Microsoft.Resources lists its versions newest first, comma-separated without spaces (arm-errors §4).
    throw new ArmError('InvalidApiVersionParameter', { version: v, supported: [...versions].reverse().join(',') }, what)
}

/** Subscriptions the caller can see: those where it holds any role assignment at, above or below them. */
function visibleSubscriptions(ctx: Ctx, ids: readonly string[]): string[] {
  const mine = ctx.deps.access.assignments().forPrincipal(ctx.req.caller.principalId)
  return ids.filter((sub) =>
    mine.some(
      (a) => isWithinScope(`/subscriptions/${sub}`, a.scope) || isWithinScope(a.scope, `/subscriptions/${sub}`),
    ),
  )
}

export async function listSubscriptions(ctx: Ctx): Promise<ArmResult> {
  checkVersion(ctx, API_VERSIONS.subscriptions, 'subscriptions')
  const all = await ctx.deps.store.listSubscriptions()
  const ids = new Set(
    visibleSubscriptions(
      ctx,
      all.map((s) => s.id),
    ),
  )
  const value = all
    .filter((s) => ids.has(s.id) && s.tenantId === ctx.req.caller.tenantId)
    .map((s) => subscriptionWire(s))
  return { status: 200, body: { value, count: { type: 'Total', value: value.length } } }
}

export async function listTenants(ctx: Ctx): Promise<ArmResult> {
  checkVersion(ctx, API_VERSIONS.subscriptions, 'tenants')
  const t = await ctx.deps.store.directory.getTenant(ctx.req.caller.tenantId)
  const value = t
    ? [
        {
          id: `/tenants/${t.id}`,
          tenantId: t.id,
          countryCode: 'US',
          displayName: t.displayName,
          domains: [t.domain],
          tenantCategory: 'Home',
          defaultDomain: t.domain,
          tenantType: 'AAD',
        },
      ]
    : []
  return { status: 200, body: { value } }
}

export async function requireSubscription(ctx: Ctx, id: string) {
  const s = await ctx.deps.store.getSubscription(id)
  if (!s) throw new ArmError('SubscriptionNotFound', { subscription: id })
  if (s.tenantId !== ctx.req.caller.tenantId)
    throw new ArmError('InvalidAuthenticationTokenTenant', {
      issuer: String(ctx.req.caller.claims.iss ?? ''),
      tenant: s.tenantId,
    })
  return s
}

export async function getSubscription(ctx: Ctx, id: string): Promise<ArmResult> {
  checkVersion(ctx, API_VERSIONS.subscriptions, 'subscriptions')
  const s = await requireSubscription(ctx, id)
  // Anyone with access somewhere in the subscription may read it, as GET /subscriptions lists it for them.
  if (visibleSubscriptions(ctx, [s.id]).length === 0)
    ctx.authorize('Microsoft.Resources/subscriptions/read', `/subscriptions/${s.id}`)
  return { status: 200, body: subscriptionWire(s, { full: true }) }
}

export async function listLocations(ctx: Ctx, sub: string): Promise<ArmResult> {
  checkVersion(ctx, API_VERSIONS.subscriptions, 'locations')
  await requireSubscription(ctx, sub)
  ctx.authorize('Microsoft.Resources/subscriptions/read', `/subscriptions/${sub}`)
  return {
    status: 200,
    body: {
      value: LOCATIONS.map(([name, displayName, regionalDisplayName]) => ({
        id: `/subscriptions/${sub}/locations/${name}`,
        name,
        type: 'Region',
        displayName,
        regionalDisplayName,
        metadata: { regionType: 'Physical', regionCategory: 'Recommended' },
      })),
    },
  }
}

export async function requireGroup(ctx: Ctx, sub: string, rg: string): Promise<ResourceGroup> {
  const g = await ctx.deps.store.getResourceGroup(sub, rg)
  if (!g) throw new ArmError('ResourceGroupNotFound', { resourceGroup: rg })
  return g
}

/** Resource groups: CRUD, HEAD, list (ARM-002/003); deleting one deletes everything in it. */
export async function resourceGroups(ctx: Ctx, sub: string, rg: string | null): Promise<ArmResult> {
  checkVersion(ctx, API_VERSIONS.resources, 'resourceGroups')
  await requireSubscription(ctx, sub)
  const { method, body } = ctx.req
  const store = ctx.deps.store
  if (rg === null) {
    if (method !== 'GET') throw new ArmError('MethodNotAllowed', { method })
    ctx.authorize('Microsoft.Resources/subscriptions/resourceGroups/read', `/subscriptions/${sub}`)
    const groups = await store.listResourceGroups(sub)
    const filter = ctx.req.query.get('$filter')
    let value = groups.map(resourceGroupWire)
    const tag = filter && /^tagName eq '([^']*)'(?: and tagValue eq '([^']*)')?$/i.exec(filter.trim())
    if (tag)
      value = value.filter(
        (g) =>
          g.tags && tag[1] !== undefined && tag[1] in g.tags && (tag[2] === undefined || g.tags[tag[1]] === tag[2]),
      )
    return { status: 200, body: { value } }
  }
  const id = resourceGroupId(sub, rg)
  switch (method) {
    case 'HEAD': {
      ctx.authorize('Microsoft.Resources/subscriptions/resourceGroups/read', id)
      return { status: (await store.getResourceGroup(sub, rg)) ? 204 : 404 }
    }
    case 'GET': {
      ctx.authorize('Microsoft.Resources/subscriptions/resourceGroups/read', id)
      return { status: 200, body: resourceGroupWire(await requireGroup(ctx, sub, rg)) }
    }
    case 'PUT': {
      ctx.authorize('Microsoft.Resources/subscriptions/resourceGroups/write', id)
      const b = (body ?? {}) as { location?: unknown; tags?: unknown; managedBy?: unknown }
      if (!RG_NAME.test(rg) || rg.endsWith('.')) {
        const chars = [...new Set(rg.replace(/[-\w._()]/gu, ''))].join('')
        throw new ArmError('InvalidResourceGroup', { name: rg, chars: chars || '.' })
      }
      if (typeof b.location !== 'string' || b.location.trim() === '') throw new ArmError('LocationRequired')
      const tags = validTags(b.tags)
      const now = ctx.deps.clock.now()
      const existing = await store.getResourceGroup(sub, rg)
      const wanted = b.location.toLowerCase().replace(/\s+/g, '')
      if (existing && existing.location !== wanted)
        throw new ArmError('InvalidResourceGroupLocation', {
          location: b.location,
          existing: existing.location,
          name: rg,
        })
      const g: ResourceGroup = {
        subscriptionId: sub,
        name: existing?.name ?? rg,
        location: existing?.location ?? b.location.toLowerCase().replace(/\s+/g, ''),
        tags,
        managedBy: typeof b.managedBy === 'string' ? b.managedBy : (existing?.managedBy ?? null),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      }
      await store.putResourceGroup(g)
      return { status: existing ? 200 : 201, body: resourceGroupWire(g) }
    }
    case 'PATCH': {
      ctx.authorize('Microsoft.Resources/subscriptions/resourceGroups/write', id)
      const g = await requireGroup(ctx, sub, rg)
      const b = (body ?? {}) as { tags?: unknown; managedBy?: unknown }
      const next = {
        ...g,
        tags: b.tags === undefined ? g.tags : validTags(b.tags),
        managedBy: typeof b.managedBy === 'string' ? b.managedBy : g.managedBy,
        updatedAt: ctx.deps.clock.now(),
      }
      await store.putResourceGroup(next)
      return { status: 200, body: resourceGroupWire(next) }
    }
    case 'DELETE': {
      ctx.authorize('Microsoft.Resources/subscriptions/resourceGroups/delete', id)
      const g = await store.getResourceGroup(sub, rg)
      if (!g) throw new ArmError('ResourceGroupNotFound', { resourceGroup: rg })
      const removedHosts: string[] = []
      const removedPrincipals: string[] = []
      const removedResources: Resource[] = []
      const removedAssignments = await store.transaction(async (tx) => {
        for (const r of await tx.listResources({ subscriptionId: sub, resourceGroup: rg })) {
          if (r.parentId) continue
          const out = await deleteResourceTree(tx, r)
          removedHosts.push(...out.hosts)
          removedPrincipals.push(...out.principals)
          removedResources.push(...out.removed)
        }
        await tx.deleteResourceGroup(sub, rg)
        return tx.deleteRoleAssignmentsWithin(id)
      })
      for (const a of removedAssignments) await ctx.deps.access.assignmentChanged(a)
      for (const h of removedHosts) ctx.deps.hooks.hostChanged?.(h)
      for (const p of removedPrincipals) ctx.deps.hooks.identityDeleted?.(p)
      for (const r of removedResources) ctx.deps.hooks.resourceDeleted?.(r)
      return { status: 200 }
    }
    default:
      throw new ArmError('MethodNotAllowed', { method })
  }
}

export function validTags(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {}
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ArmError('InvalidParameter', { message: "The property 'tags' must be an object." })
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k.length > 512 || /[<>%&\\?/]/.test(k))
      throw new ArmError('InvalidParameter', { message: `The tag name '${k}' has invalid characters or is too long.` })
    out[k] = v === null || v === undefined ? '' : String(v)
  }
  return out
}

/** `GET /subscriptions/{s}[/resourceGroups/{g}]/resources` with the `$filter` forms az uses (ARM-009). */
export async function listGenericResources(
  ctx: Ctx,
  sub: string,
  rg: string | null,
  registry: Registry,
): Promise<ArmResult> {
  checkVersion(ctx, API_VERSIONS.resources, 'resources')
  await requireSubscription(ctx, sub)
  const scope = rg ? resourceGroupId(sub, rg) : `/subscriptions/${sub}`
  if (rg) await requireGroup(ctx, sub, rg)
  const filter = (ctx.req.query.get('$filter') ?? '').trim()
  let type: string | undefined
  let name: string | undefined
  for (const clause of filter ? filter.split(/\s+and\s+/i) : []) {
    const m = /^(resourceType|name)\s+eq\s+'([^']*)'$/i.exec(clause.trim())
    if (!m) throw new ArmError('InvalidFilter', { filter })
    if ((m[1] as string).toLowerCase() === 'resourcetype') type = m[2]
    else name = m[2]
  }
  const all = await ctx.deps.store.listResources({
    subscriptionId: sub,
    ...(rg ? { resourceGroup: rg } : {}),
    ...(type ? { type } : {}),
    ...(name ? { name } : {}),
  })
  // Generic lists show what the caller may read; items it cannot read are left out, as ARM does.
  const value = all
    .filter((r) => r.parentId === null)
    .filter(
      (r) =>
        ctx.deps.access.check({ principalId: ctx.req.caller.principalId, action: `${r.type}/read`, scope: r.id })
          .allowed,
    )
    .map((r) => genericResourceWire(r, renderAny(registry, r, ctx.req.apiVersion).identity))
  // A caller with no role at, above or below the scope is refused; one with access somewhere inside it gets the
  // filtered list, even when the filter leaves nothing it may read.
  const mine = ctx.deps.access.assignments().forPrincipal(ctx.req.caller.principalId)
  if (!mine.some((a) => isWithinScope(scope, a.scope) || isWithinScope(a.scope, scope)))
    ctx.authorize('Microsoft.Resources/subscriptions/resources/read', scope)
  return { status: 200, body: { value } }
}

/** Resource providers (§3.3): the namespaces azid serves are Registered. */
export async function providers(
  ctx: Ctx,
  sub: string,
  ns: string | null,
  action: string | null,
  registry: Registry,
): Promise<ArmResult> {
  checkVersion(ctx, API_VERSIONS.resources, 'providers')
  await requireSubscription(ctx, sub)
  const render = (namespace: string) => ({
    id: `/subscriptions/${sub}/providers/${namespace}`,
    namespace,
    registrationState: 'Registered',
    registrationPolicy: 'RegistrationRequired',
    resourceTypes: registry
      .types()
      .filter((t) => t.type.split('/')[0]?.toLowerCase() === namespace.toLowerCase())
      .map((t) => ({
        resourceType: t.type.split('/').slice(1).join('/'),
        locations: LOCATIONS.map((l) => l[1]),
        apiVersions: [...t.apiVersions].reverse(),
        capabilities: 'SupportsTags, SupportsLocation',
      })),
  })
  const known = registry.namespaces()
  if (ns === null) {
    ctx.authorize('Microsoft.Resources/subscriptions/providers/read', `/subscriptions/${sub}`)
    return { status: 200, body: { value: known.map(render) } }
  }
  const canonical = known.find((n) => n.toLowerCase() === ns.toLowerCase())
  if (!canonical) throw new ArmError('InvalidResourceNamespace', { namespace: ns })
  if (action) {
    ctx.authorize(`${canonical}/${action}/action`, `/subscriptions/${sub}`)
    return { status: 200, body: render(canonical) }
  }
  ctx.authorize('Microsoft.Resources/subscriptions/providers/read', `/subscriptions/${sub}`)
  return { status: 200, body: render(canonical) }
}

/** `/metadata/endpoints`: 2015-01-01 shape for `az cloud register`, and the newer single-cloud object (§3.6). */
export function metadataEndpoints(q: {
  apiVersion: string | null
  origin: string
  loginEndpoint: string
  storageSuffix: string
  keyVaultDns: string
}): unknown {
  const audiences = ['https://management.core.windows.net/', 'https://management.azure.com/']
  if (q.apiVersion === '2015-01-01' || q.apiVersion === '2018-01-01' || !q.apiVersion) {
    return {
      galleryEndpoint: '',
      graphEndpoint: 'https://graph.windows.net/',
      portalEndpoint: `${q.origin}/portal`,
      authentication: { loginEndpoint: `${q.loginEndpoint}/`, audiences },
    }
  }
  const cloud = {
    portal: `${q.origin}/portal`,
    authentication: { loginEndpoint: q.loginEndpoint, audiences, tenant: 'common', identityProvider: 'AAD' },
    media: '',
    graphAudience: 'https://graph.windows.net/',
    graph: 'https://graph.windows.net/',
    name: 'AzureCloud',
    suffixes: {
      // The real document has no leading dot (`vault.azure.net`); az prepends one (api-shapes §3.6).
      keyVaultDns: q.keyVaultDns.replace(/^\./, ''),
      storage: q.storageSuffix,
      storageSyncEndpointSuffix: 'afs.azure.net',
      sqlServerHostname: 'database.windows.net',
      mhsmDns: 'managedhsm.azure.net',
    },
    batch: 'https://batch.core.windows.net/',
    resourceManager: `${q.origin}/`,
    activeDirectoryDataLake: 'https://datalake.azure.net/',
    // The Graph resource id doubles as its base URL in az: clients reach azid's Graph under the real name (namespace mode).
    microsoftGraphResourceId: 'https://graph.microsoft.com/',
  }
  return q.apiVersion === '2019-05-01' ? [cloud] : cloud
}
