import { canonicalSegments, parseResourceId, resourceGroupId } from '../kernel/resource-id.ts'
import type { ArmResult, Ctx } from './context.ts'
import { ArmError } from './errors.ts'
import {
  getSubscription,
  listGenericResources,
  listLocations,
  listSubscriptions,
  listTenants,
  providers,
  requireSubscription,
  resourceGroups,
} from './providers/resources.ts'
import type { Registry, ResourceType, Target } from './registry.ts'

const LOCATION_FOR_ERRORS = 'westus'

function checkTypeVersion(ctx: Ctx, t: ResourceType): void {
  const v = ctx.req.apiVersion
  if (t.apiVersions.some((x) => x.toLowerCase() === v.toLowerCase())) return
  const [namespace, ...rest] = t.type.split('/')
  if (t.placement === 'extension')
    throw new ArmError('InvalidResourceTypeVersion', {
      type: rest.join('/'),
      namespace: namespace as string,
      version: v,
      supported: t.apiVersions.join(','),
    })
  throw new ArmError('NoRegisteredProviderFound', {
    location: LOCATION_FOR_ERRORS,
    version: v,
    type: t.type,
    supported: t.apiVersions.join(', '),
    locations: 'eastus, westus, westeurope',
  })
}

/** Routes one authenticated ARM request (api-version present) to the handler of its path. */
export async function routeArm(ctx: Ctx, registry: Registry): Promise<ArmResult> {
  const { method, path } = ctx.req
  const segs = path.split('/').filter(Boolean)
  const lower = segs.map((s) => s.toLowerCase())

  if (lower.length === 1 && lower[0] === 'subscriptions' && method === 'GET') return listSubscriptions(ctx)
  if (lower.length === 1 && lower[0] === 'tenants' && method === 'GET') return listTenants(ctx)
  if (lower[0] !== 'subscriptions' && lower[0] !== 'providers') throw new ArmError('MissingSubscription')

  if (lower[0] === 'subscriptions') {
    const sub = segs[1] as string
    if (lower.length === 2) {
      if (method !== 'GET') throw new ArmError('MethodNotAllowed', { method })
      return getSubscription(ctx, sub)
    }
    if (lower[2] === 'locations' && lower.length === 3) return listLocations(ctx, sub)
    if (lower[2] === 'resources' && lower.length === 3) return listGenericResources(ctx, sub, null, registry)
    if (lower[2] === 'resourcegroups' && lower.length <= 4) return resourceGroups(ctx, sub, segs[3] ?? null)
    if (lower[2] === 'resourcegroups' && lower[4] === 'resources' && lower.length === 5)
      return listGenericResources(ctx, sub, segs[3] as string, registry)
    if (lower[2] === 'providers' && lower.length === 3) return providers(ctx, sub, null, null, registry)
    if (
      lower[2] === 'providers' &&
      lower.length === 4 &&
      !registry.namespaces().some((n) => n.toLowerCase() === lower[3])
    )
      throw new ArmError('InvalidResourceNamespace', { namespace: segs[3] as string })
    if (lower[2] === 'providers' && lower.length === 4) return providers(ctx, sub, segs[3] as string, null, registry)
    if (
      lower[2] === 'providers' &&
      lower.length === 5 &&
      (lower[4] === 'register' || lower[4] === 'unregister') &&
      method === 'POST'
    )
      return providers(ctx, sub, segs[3] as string, lower[4] as string, registry)
  }
  return routeProviderPath(ctx, registry)
}

async function routeProviderPath(ctx: Ctx, registry: Registry): Promise<ArmResult> {
  const { method } = ctx.req
  const parsed = parseResourceId(ctx.req.path)
  if (parsed.rest.length > 0) throw new ArmError('InvalidRequestUri', { uri: ctx.req.path })
  const last = parsed.providers.at(-1)
  if (!last || last.types.length === 0) throw new ArmError('InvalidRequestUri', { uri: ctx.req.path })

  // Everything before the last `/providers/…` is the scope the resource lives in.
  const lowerPath = ctx.req.path.toLowerCase()
  const cut = lowerPath.lastIndexOf('/providers/')
  const scope = cut <= 0 ? '/' : canonicalSegments(ctx.req.path.slice(0, cut))

  const ns = registry.namespaces().find((n) => n.toLowerCase() === last.namespace.toLowerCase())
  if (!ns) throw new ArmError('InvalidResourceNamespace', { namespace: last.namespace })

  let typeNames = last.types.map(([t]) => t)
  let names = last.types.map(([, n]) => n)
  let action: string | null = null
  let type = registry.find(`${ns}/${typeNames.join('/')}`)
  const lastName = names.at(-1)
  if (lastName === undefined && method === 'POST' && typeNames.length > 1) {
    // `…/storageAccounts/acct/listKeys`: an action on the parent.
    const parentType = registry.find(`${ns}/${typeNames.slice(0, -1).join('/')}`)
    if (parentType) {
      action = (typeNames.at(-1) as string).toLowerCase()
      type = parentType
      typeNames = typeNames.slice(0, -1)
      names = names.slice(0, -1)
    }
  }
  if (!type) throw new ArmError('InvalidResourceType', { namespace: ns, version: ctx.req.apiVersion })
  checkTypeVersion(ctx, type)

  const canonicalTypes = type.type.split('/').slice(1)
  const name = names.at(-1)
  const subscriptionId = parsed.subscriptionId
  const resourceGroup = parsed.resourceGroup
  if (subscriptionId) await requireSubscription(ctx, subscriptionId)
  if (type.placement === 'resourceGroup' && canonicalTypes.length === 1) {
    const atGroup = resourceGroup !== null && parsed.providers.length === 1
    const atSubList =
      resourceGroup === null && name === undefined && parsed.providers.length === 1 && type.listBySubscription
    if (!atGroup && !atSubList) throw new ArmError('InvalidRequestUri', { uri: ctx.req.path })
  }

  const pairs = canonicalTypes.map((t, i) => (names[i] === undefined ? t : `${t}/${names[i]}`))
  const base = `${scope === '/' ? '' : scope}/providers/${ns}`
  const id = `${base}/${pairs.join('/')}`
  const parentScope = type.placement === 'child' ? `${base}/${pairs.slice(0, -1).join('/')}` : scope
  const target: Target = {
    id,
    subscriptionId,
    resourceGroup,
    parentScope,
    names: names.filter((n): n is string => n !== undefined),
    name,
  }

  const rbacType = type.type
  if (action) {
    const handler = type.actions?.[action]
    if (!handler || name === undefined)
      throw new ArmError('InvalidResourceType', { namespace: ns, version: ctx.req.apiVersion })
    if (!type.selfAuthorizing) ctx.authorize(`${rbacType}/${action}/action`, id)
    return handler(ctx, target)
  }
  if (name === undefined) {
    if (method !== 'GET' || !type.list) throw new ArmError('MethodNotAllowed', { method })
    if (!type.selfAuthorizing)
      ctx.authorize(
        `${rbacType}/read`,
        parentScope === '/' && subscriptionId ? `/subscriptions/${subscriptionId}` : parentScope,
      )
    return type.list(ctx, target)
  }
  const verb = { GET: 'read', HEAD: 'read', PUT: 'write', PATCH: 'write', DELETE: 'delete' }[method]
  const handler = { GET: type.get, HEAD: type.get, PUT: type.put, PATCH: type.patch, DELETE: type.delete }[method]
  if (!verb || !handler) throw new ArmError('MethodNotAllowed', { method })
  if (!type.selfAuthorizing) ctx.authorize(`${rbacType}/${verb}`, id)
  if (resourceGroup && subscriptionId && type.placement !== 'extension') {
    if (!(await ctx.deps.store.getResourceGroup(subscriptionId, resourceGroup)))
      throw new ArmError('ResourceGroupNotFound', { resourceGroup })
  }
  const result = await handler(ctx, target)
  if (method === 'HEAD') return { status: result.status === 200 ? 204 : result.status }
  return result
}

export { resourceGroupId }
