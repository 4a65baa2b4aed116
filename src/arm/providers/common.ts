import { idKey, parseResourceId } from '../../kernel/resource-id.ts'
import { COMPUTE_DICTIONARY_FROM, isBefore } from '../api-versions.ts'
import type { ArmResult, Ctx } from '../context.ts'
import { ArmError } from '../errors.ts'
import { applyIdentity, renderIdentity } from '../identity.ts'
import type { Resource } from '../model.ts'
import type { ArmStore } from '../ports.ts'
import type { Registry, ResourceType, Target } from '../registry.ts'
import { validTags } from './resources.ts'
import { miResourceId } from '../wire.ts'

/** How a type renders and validates its bodies; the generic CRUD below does the rest. */
export interface TypeBehaviour {
  type: string
  apiVersions: readonly string[]
  placement: 'resourceGroup' | 'child'
  listBySubscription?: boolean
  /** Carries an `identity` (hosts). legacyArrayBefore: api-versions before this one use `identityIds`. */
  identity?: { legacyArrayBefore?: string; systemOnly?: boolean }
  locationRequired: boolean
  /** A proxy resource (federated identity credentials): never has a location, not even its parent's. */
  proxy?: boolean
  /** Checks the name (and the rest of the target's path); throws ArmError. */
  validateName?: (name: string, t: Target) => void
  /** Checks and normalises `properties` of a PUT (the merged result for PATCH); may add computed fields. */
  prepareProperties?: (
    ctx: Ctx,
    q: { properties: Record<string, unknown>; existing: Resource | undefined; name: string },
  ) => Record<string, unknown>
  /** Adds version-specific members when rendering. */
  renderProperties?: (r: Resource, apiVersion: string) => Record<string, unknown>
  /** After a successful write, inside the transaction (e.g. mirror into the directory). */
  afterWrite?: (ctx: Ctx, tx: ArmStore, r: Resource, created: boolean) => Promise<void>
  /** Before delete, inside the transaction. */
  beforeDelete?: (ctx: Ctx, tx: ArmStore, r: Resource) => Promise<void>
  /** Status of a successful PATCH / DELETE. */
  deleteStatus?: { deleted: number; absent: number }
  /** Extra POST actions. */
  actions?: ResourceType['actions']
  /**
   * The parent resource of a child whose path has a fixed segment in between, e.g. a container
   * (`…/storageAccounts/a/blobServices/default/containers/c`) whose parent is the account. Default: drop the last
   * type/name pair.
   */
  parentOf?: (childId: string) => string
  /** Render ids with lower-case `resourcegroups`, as Microsoft.ManagedIdentity does (spec examples, UAMI-004). */
  lowerCaseResourceGroupsInId?: boolean
  /** Top-level members other than location/tags/identity/properties to keep (default: sku, kind, zones, plan, extendedLocation). */
  extraMembers?: readonly string[]
}

const DEFAULT_EXTRA = ['sku', 'kind', 'zones', 'plan', 'extendedLocation', 'managedBy'] as const

export function legacyArray(b: Pick<TypeBehaviour, 'identity'>, apiVersion: string): boolean {
  const before = b.identity?.legacyArrayBefore
  return before !== undefined && isBefore(apiVersion, before)
}

export function renderResource(b: TypeBehaviour, r: Resource, apiVersion: string): Record<string, unknown> {
  const identity = b.identity ? renderIdentity(r.identity, { legacyArray: legacyArray(b, apiVersion) }) : undefined
  const props = b.renderProperties ? b.renderProperties(r, apiVersion) : r.properties
  return {
    id: b.lowerCaseResourceGroupsInId ? miResourceId(r.id) : r.id,
    name: r.name,
    type: r.type,
    ...(r.location !== null ? { location: r.location } : {}),
    ...(b.placement === 'resourceGroup' ? { tags: r.tags } : Object.keys(r.tags).length > 0 ? { tags: r.tags } : {}),
    ...(identity ? { identity } : {}),
    ...r.extra,
    properties: props,
  }
}

/** Renders any stored resource with its type's behaviour (generic lists). */
export function renderAny(registry: Registry, r: Resource, apiVersion: string): Record<string, unknown> {
  const t = registry.find(r.type) as (ResourceType & { behaviour?: TypeBehaviour }) | undefined
  if (t?.behaviour) return renderResource(t.behaviour, r, apiVersion)
  return { id: r.id, name: r.name, type: r.type, location: r.location, tags: r.tags, properties: r.properties }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

export function splitType(type: string): { namespace: string; types: string[] } {
  const [namespace, ...types] = type.split('/')
  return { namespace: namespace as string, types }
}

/** Names for errors: `Microsoft.Compute/virtualMachines/vm1` → ResourceNotFound args. */
export function notFound(t: Target, type: string): ArmError {
  // Nested types interleave names: `Microsoft.Compute/virtualMachines/vm1/extensions/ext1`.
  const [namespace, ...types] = type.split('/')
  const path = types.map((ty, i) => (i < types.length - 1 ? `${ty}/${t.names[i] ?? ''}` : ty))
  return new ArmError('ResourceNotFound', {
    type: [namespace, ...path].join('/'),
    name: t.names.at(-1) ?? '',
    resourceGroup: t.resourceGroup ?? '',
  })
}

/**
 * Deletes a resource, its child resources, the service principals of its identities (system-assigned for hosts;
 * the identity's own for user-assigned identities) and mirrored federated credentials. Returns what went away.
 */
export async function deleteResourceTree(
  tx: ArmStore,
  r: Resource,
): Promise<{ hosts: string[]; principals: string[]; removed: Resource[] }> {
  const out = { hosts: [] as string[], principals: [] as string[], removed: [] as Resource[] }
  for (const child of await tx.listResources({ parentId: r.id })) {
    const c = await deleteResourceTree(tx, child)
    out.hosts.push(...c.hosts)
    out.principals.push(...c.principals)
    out.removed.push(...c.removed)
  }
  if (r.identity) {
    out.hosts.push(r.id)
    if (r.identity.system) {
      await tx.directory.deleteServicePrincipal(r.identity.system.principalId)
      out.principals.push(r.identity.system.principalId)
    }
  }
  if (r.type.toLowerCase() === 'microsoft.managedidentity/userassignedidentities') {
    const p = r.properties as { principalId?: string; clientId?: string }
    if (p.principalId) {
      await tx.directory.deleteServicePrincipal(p.principalId)
      out.principals.push(p.principalId)
    }
  }
  if (r.type.toLowerCase() === 'microsoft.managedidentity/userassignedidentities/federatedidentitycredentials')
    await tx.directory.deleteFederatedCredential(
      String((r.properties as { __directoryId?: string }).__directoryId ?? ''),
    )
  await tx.deleteResource(r.id)
  out.removed.push(r)
  return out
}

/** Where the parent of a child resource is: the id without the last type/name pair. */
export function parentIdOf(t: Target): string {
  const parts = t.id.split('/')
  return parts.slice(0, -2).join('/')
}

/** A tracked or child resource type with ARM's generic CRUD: PUT create/replace, PATCH merge, GET, DELETE, list. */
export function resourceType(b: TypeBehaviour): ResourceType & { behaviour: TypeBehaviour } {
  const extraMembers = b.extraMembers ?? DEFAULT_EXTRA

  const parentFor = (t: Target) => (b.parentOf ? b.parentOf(t.id) : parentIdOf(t))
  async function checkParent(tx: ArmStore, t: Target): Promise<Resource | undefined> {
    if (b.placement !== 'child') return undefined
    const parentId = parentFor(t)
    const parent = await tx.getResource(parentId)
    if (!parent) {
      const p = parseResourceId(parentId)
      const last = p.providers.at(-1)
      throw new ArmError('ParentResourceNotFound', {
        parent: `${last?.namespace}/${last?.types.map((x) => x.join('/')).join('/')}`,
      })
    }
    return parent
  }

  async function write(ctx: Ctx, t: Target, mode: 'put' | 'patch'): Promise<ArmResult> {
    const body = ctx.req.body
    if (body !== undefined && !isObj(body))
      throw new ArmError('InvalidRequestContent', { reason: 'the request body must be a JSON object' })
    const req = (body ?? {}) as Record<string, unknown>
    const name = t.name as string
    if (mode === 'put') b.validateName?.(name, t)
    const now = ctx.deps.clock.now()
    const store = ctx.deps.store
    const result = await store.transaction(async (tx) => {
      const parent = await checkParent(tx, t)
      const existing = await tx.getResource(t.id, { forUpdate: true })
      if (mode === 'patch' && !existing) throw notFound(t, b.type)
      if (!existing && b.placement === 'resourceGroup' && t.subscriptionId && t.resourceGroup) {
        if (!(await tx.getResourceGroup(t.subscriptionId, t.resourceGroup)))
          throw new ArmError('ResourceGroupNotFound', { resourceGroup: t.resourceGroup })
      }
      let location: string | null = existing?.location ?? null
      if (typeof req.location === 'string' && req.location.trim() !== '') {
        const wanted = req.location.toLowerCase().replace(/\s+/g, '')
        if (mode === 'put' && existing?.location && existing.location !== wanted)
          throw new ArmError('InvalidResourceLocation', {
            name: existing.name,
            existing: existing.location,
            resourceGroup: t.resourceGroup ?? '',
            location: req.location,
          })
        location = existing?.location ?? wanted
      } else if (!existing && b.locationRequired) throw new ArmError('LocationRequired')
      if (!existing && !b.locationRequired && location === null && parent?.location) location = parent.location
      if (b.proxy) location = null

      const tags = req.tags === undefined ? (existing?.tags ?? {}) : validTags(req.tags)
      let properties: Record<string, unknown>
      if (mode === 'patch')
        properties = (mergePatch(existing?.properties ?? {}, req.properties ?? {}) as Record<string, unknown>) ?? {}
      else {
        if (req.properties !== undefined && !isObj(req.properties))
          throw new ArmError('InvalidRequestContent', { reason: "the property 'properties' must be an object" })
        properties = (req.properties as Record<string, unknown> | undefined) ?? {}
      }
      properties = b.prepareProperties
        ? b.prepareProperties(ctx, { properties, existing, name: existing?.name ?? name })
        : properties

      const extra: Record<string, unknown> = mode === 'patch' ? { ...(existing?.extra ?? {}) } : {}
      for (const k of extraMembers) if (req[k] !== undefined) extra[k] = req[k]
      if (mode === 'put' && existing)
        for (const k of extraMembers)
          if (req[k] === undefined && existing.extra[k] !== undefined) extra[k] = existing.extra[k]

      let identity = existing?.identity ?? null
      let identityChanged = false
      let deletedPrincipal: string | null = null
      if (b.identity && req.identity !== undefined && req.identity !== null) {
        if (b.identity.systemOnly) {
          const ty = String((req.identity as { type?: unknown }).type ?? '')
          if (ty.toLowerCase().includes('userassigned'))
            throw new ArmError('CannotSetResourceIdentity', {
              type: b.type,
              identityType: ty,
              supported: 'SystemAssigned, None',
            })
        }
        const applied = await applyIdentity(ctx, tx, {
          hostId: existing?.id ?? t.id,
          hostName: existing?.name ?? name,
          current: identity,
          raw: req.identity,
          mode,
          action: `${b.type}/write`,
        })
        identity = applied.state
        identityChanged = applied.changed
        deletedPrincipal = applied.deletedPrincipal
      }
      const r: Resource = {
        id: existing?.id ?? t.id,
        subscriptionId: t.subscriptionId ?? '',
        resourceGroup: t.resourceGroup,
        type: b.type,
        name: existing?.name ?? name,
        parentId: b.placement === 'child' ? (parent?.id ?? parentFor(t)) : null,
        location,
        tags,
        properties,
        identity,
        extra,
        etag: `"${ctx.deps.ids.uuid()}"`,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        createdBy: existing?.createdBy ?? ctx.req.caller.principalId,
      }
      const ok = await tx.putResource(r, { expectEtag: existing ? existing.etag : null })
      if (ok === 'conflict')
        throw new ArmError('Conflict', {
          message: `The resource '${t.id}' was changed by another request. Retry the operation.`,
        })
      await b.afterWrite?.(ctx, tx, r, !existing)
      return { r, created: !existing, identityChanged, deletedPrincipal }
    })
    // Managed-identity endpoints cache hosts: any change to a host (identity, tags, extensions) invalidates it.
    ctx.deps.hooks.hostChanged?.(result.r.parentId ?? result.r.id)
    if (result.deletedPrincipal) ctx.deps.hooks.identityDeleted?.(result.deletedPrincipal)
    const rendered = renderResource(b, result.r, ctx.req.apiVersion)
    return {
      status: result.created ? 201 : 200,
      body: rendered,
      // Microsoft.ManagedIdentity answers a create with a relative Location of the resource (not an LRO header; the
      // az identity recording, api-shapes §1.2). LRO types must not send it: SDK pollers would follow it.
      ...(result.created && b.lowerCaseResourceGroupsInId ? { headers: { Location: String(rendered.id) } } : {}),
    }
  }

  return {
    type: b.type,
    apiVersions: b.apiVersions,
    placement: b.placement,
    ...(b.listBySubscription ? { listBySubscription: true } : {}),
    behaviour: b,
    async get(ctx, t) {
      const r = await ctx.deps.store.getResource(t.id)
      if (!r || r.type.toLowerCase() !== b.type.toLowerCase()) throw notFound(t, b.type)
      return { status: 200, body: renderResource(b, r, ctx.req.apiVersion) }
    },
    put: (ctx, t) => write(ctx, t, 'put'),
    patch: (ctx, t) => write(ctx, t, 'patch'),
    async delete(ctx, t) {
      const store = ctx.deps.store
      const out = await store.transaction(async (tx) => {
        const r = await tx.getResource(t.id, { forUpdate: true })
        if (!r || r.type.toLowerCase() !== b.type.toLowerCase()) return null
        await b.beforeDelete?.(ctx, tx, r)
        return deleteResourceTree(tx, r)
      })
      if (!out) return { status: b.deleteStatus?.absent ?? 204 }
      for (const h of out.hosts) ctx.deps.hooks.hostChanged?.(h)
      if (b.placement === 'child') ctx.deps.hooks.hostChanged?.(parentFor(t))
      for (const p of out.principals) ctx.deps.hooks.identityDeleted?.(p)
      for (const r of out.removed) ctx.deps.hooks.resourceDeleted?.(r)
      return { status: b.deleteStatus?.deleted ?? 200 }
    },
    async list(ctx, t) {
      const store = ctx.deps.store
      const page = keysetPage(ctx)
      let items: Resource[]
      if (b.placement === 'child') {
        const parent = await checkParent(store, { ...t, id: `${t.id}/x` })
        items = await store.listResources({ parentId: parent?.id ?? t.parentScope, type: b.type, ...page.query })
      } else if (t.resourceGroup && t.subscriptionId) {
        if (!(await store.getResourceGroup(t.subscriptionId, t.resourceGroup)))
          throw new ArmError('ResourceGroupNotFound', { resourceGroup: t.resourceGroup })
        items = await store.listResources({
          subscriptionId: t.subscriptionId,
          resourceGroup: t.resourceGroup,
          type: b.type,
          ...page.query,
        })
      } else items = await store.listResources({ subscriptionId: t.subscriptionId ?? '', type: b.type, ...page.query })
      return page.answer(items, (r) => renderResource(b, r, ctx.req.apiVersion))
    },
    ...(b.actions ? { actions: b.actions } : {}),
  }
}

const PAGE = 1000

/**
 * Keyset paging for resource lists: the store reads one page (`LIMIT top+1` after the last id), so a page costs the
 * same with 10 or 100,000 resources. `$skiptoken` is the last id key of the previous page, base64url-encoded; a token
 * that does not decode starts from the beginning, as ARM ignores unknown tokens.
 */
export function keysetPage(ctx: Ctx): {
  query: { limit: number; after?: string }
  answer: (items: readonly Resource[], render: (r: Resource) => unknown) => ArmResult
} {
  const top = Number(ctx.req.query.get('$top') ?? PAGE)
  const size = Number.isInteger(top) && top > 0 ? Math.min(top, PAGE) : PAGE
  const token = ctx.req.query.get('$skiptoken')
  let after: string | undefined
  if (token) {
    const decoded = Buffer.from(token, 'base64url').toString('utf8')
    if (decoded.startsWith('/')) after = decoded
  }
  return {
    query: { limit: size + 1, ...(after ? { after } : {}) },
    answer(items, render) {
      const value = items.slice(0, size).map(render)
      const body: Record<string, unknown> = { value }
      const last = items[size - 1]
      if (items.length > size && last) {
        const next = new URLSearchParams(ctx.req.query)
        next.set('$skiptoken', Buffer.from(idKey(last.id), 'utf8').toString('base64url'))
        body.nextLink = `${ctx.req.origin}${ctx.req.path}?${next.toString()}`
      }
      return { status: 200, body }
    },
  }
}

/** `{value, nextLink}` with `$skiptoken` paging (api-shapes §0.4); `$top` limits a page. */
export function pagedList(ctx: Ctx, all: readonly unknown[]): ArmResult {
  const skip = Number(ctx.req.query.get('$skiptoken') ?? '0')
  const top = Number(ctx.req.query.get('$top') ?? PAGE)
  const size = Number.isFinite(top) && top > 0 ? Math.min(top, PAGE) : PAGE
  const start = Number.isFinite(skip) && skip > 0 ? skip : 0
  const value = all.slice(start, start + size)
  const body: Record<string, unknown> = { value }
  if (start + size < all.length) {
    const next = new URLSearchParams(ctx.req.query)
    next.set('$skiptoken', String(start + size))
    body.nextLink = `${ctx.req.origin}${ctx.req.path}?${next.toString()}`
  }
  return { status: 200, body }
}

export { COMPUTE_DICTIONARY_FROM }
