import { idKey, isGuid } from '../../kernel/index-helpers.ts'
import { isWithinScope, parseResourceId } from '../../kernel/resource-id.ts'
import type { Permission, RoleAssignment, RoleDefinition } from '../../rbac/index.ts'
import { API_VERSIONS } from '../api-versions.ts'
import type { ArmResult, Ctx } from '../context.ts'
import { ArmError } from '../errors.ts'
import type { ResourceType, Target } from '../registry.ts'
import { armTime } from '../wire.ts'
import { pagedList } from './common.ts'
import { requireGroup, requireSubscription } from './resources.ts'

const RA = 'Microsoft.Authorization/roleAssignments'
const RD = 'Microsoft.Authorization/roleDefinitions'

/** The subscription a scope belongs to, or null at the tenant root / management groups. */
const subscriptionOf = (scope: string) => parseResourceId(scope).subscriptionId

/** Role definition ids are qualified with the subscription of the scope they are read at (api-shapes §4.2). */
export function roleDefinitionId(scope: string, guid: string): string {
  const sub = subscriptionOf(scope)
  return `${sub ? `/subscriptions/${sub}` : ''}/providers/Microsoft.Authorization/roleDefinitions/${guid}`
}

export function assignmentWire(a: RoleAssignment, apiVersion: string) {
  const props: Record<string, unknown> = {
    roleDefinitionId: roleDefinitionId(a.scope, a.roleDefinitionId),
    principalId: a.principalId,
  }
  // 2015-07-01 has no principalType (api-shapes §4).
  if (apiVersion >= '2017-09-01') props.principalType = a.principalType
  props.scope = a.scope
  if (apiVersion >= '2020-04-01') {
    Object.assign(props, {
      condition: a.condition,
      conditionVersion: a.conditionVersion,
      createdOn: armTime(a.createdAt),
      updatedOn: armTime(a.updatedAt),
      createdBy: a.createdBy,
      updatedBy: a.updatedBy,
      delegatedManagedIdentityResourceId: null,
      description: a.description,
    })
  }
  return {
    properties: props,
    id: `${a.scope === '/' ? '' : a.scope}/providers/Microsoft.Authorization/roleAssignments/${a.id}`,
    type: RA,
    name: a.id,
  }
}

export function definitionWire(d: RoleDefinition, atScope: string) {
  return {
    properties: {
      roleName: d.roleName,
      type: d.type,
      description: d.description,
      assignableScopes: d.assignableScopes,
      permissions: d.permissions.map((p) => ({
        actions: p.actions,
        notActions: p.notActions,
        dataActions: p.dataActions,
        notDataActions: p.notDataActions,
      })),
      createdOn: armTime(d.createdAt),
      updatedOn: armTime(d.updatedAt),
      createdBy: null,
      updatedBy: null,
    },
    id: roleDefinitionId(d.type === 'CustomRole' ? d.scope : atScope, d.id),
    type: RD,
    name: d.id,
  }
}

/** The scope must exist: the subscription, the group, and for a resource scope its resource (or a child of one). */
async function checkScope(ctx: Ctx, scope: string): Promise<void> {
  const p = parseResourceId(scope)
  if (!p.subscriptionId) return
  await requireSubscription(ctx, p.subscriptionId)
  if (p.resourceGroup) await requireGroup(ctx, p.subscriptionId, p.resourceGroup)
}

interface Filter {
  atScope: boolean
  principalId: string | null
}

function parseFilter(raw: string | null): Filter {
  const f: Filter = { atScope: false, principalId: null }
  if (!raw || raw.trim() === '') return f
  for (const clause of raw.trim().split(/\s+and\s+/i)) {
    const c = clause.trim()
    if (/^atScope\(\)$/i.test(c)) f.atScope = true
    else {
      const m = /^(?:principalId\s+eq\s+'([0-9a-f-]{36})'|assignedTo\('([0-9a-f-]{36})'\))$/i.exec(c)
      if (!m) throw new ArmError('InvalidFilter', { filter: raw })
      f.principalId = ((m[1] ?? m[2]) as string).toLowerCase()
    }
  }
  return f
}

async function listAssignments(ctx: Ctx, scope: string): Promise<ArmResult> {
  ctx.authorize(`${RA}/read`, scope)
  await checkScope(ctx, scope)
  const f = parseFilter(ctx.req.query.get('$filter'))
  const index = ctx.deps.access.assignments()
  const all = f.principalId ? index.forPrincipal(f.principalId) : [...index.all()]
  // No filter: at, above and below the scope. atScope(): at and above only (api-shapes §4.1).
  const value = all
    .filter((a) => isWithinScope(scope, a.scope) || (!f.atScope && isWithinScope(a.scope, scope)))
    .sort((x, y) => x.createdAt - y.createdAt)
    .map((a) => assignmentWire(a, ctx.req.apiVersion))
  return pagedList(ctx, value)
}

async function principalKind(ctx: Ctx, principalId: string): Promise<RoleAssignment['principalType'] | null> {
  const dir = ctx.deps.store.directory
  if (await dir.getServicePrincipal(principalId)) return 'ServicePrincipal'
  if (await dir.getUser(principalId)) return 'User'
  return null
}

const PRINCIPAL_TYPES = ['User', 'Group', 'ServicePrincipal', 'ForeignGroup', 'Device'] as const

async function putAssignment(ctx: Ctx, t: Target): Promise<ArmResult> {
  const scope = t.parentScope
  const name = t.name as string
  ctx.authorize(`${RA}/write`, `${scope === '/' ? '' : scope}/providers/${RA}/${name}`)
  if (!isGuid(name)) throw new ArmError('InvalidRoleAssignmentId', { name })
  await checkScope(ctx, scope)
  const body = (ctx.req.body ?? {}) as { properties?: Record<string, unknown> }
  const p = body.properties
  if (!p || typeof p !== 'object')
    throw new ArmError('InvalidRequestContent', { reason: "the property 'properties' is required" })
  const rdRaw = typeof p.roleDefinitionId === 'string' ? p.roleDefinitionId : ''
  const rdGuid = /([0-9a-f-]{36})\/?$/i.exec(rdRaw)?.[1]?.toLowerCase()
  const role = rdGuid ? ctx.deps.access.role(rdGuid) : undefined
  if (!role || !rdGuid) throw new ArmError('RoleDefinitionDoesNotExist', { id: (rdGuid ?? rdRaw).replaceAll('-', '') })
  if (!role.assignableScopes.some((s) => isWithinScope(scope, s)))
    throw new ArmError('InvalidAssignableScope', { scope })
  const principalId = typeof p.principalId === 'string' ? p.principalId.toLowerCase() : ''
  if (!isGuid(principalId)) throw new ArmError('InvalidPrincipalId', { principalId: String(p.principalId ?? '') })
  const kind = await principalKind(ctx, principalId)
  // ARM prints the principal id as 32 hex digits without dashes here (docs/wire/arm-errors.md §7).
  if (!kind)
    throw new ArmError('PrincipalNotFound', {
      principalId: principalId.replaceAll('-', ''),
      tenantId: ctx.deps.settings.tenantId,
    })
  const given = p.principalType
  if (given !== undefined && !PRINCIPAL_TYPES.includes(given as (typeof PRINCIPAL_TYPES)[number]))
    throw new ArmError('InvalidParameter', { message: `The principalType '${String(given)}' is not valid.` })
  const condition = typeof p.condition === 'string' && p.condition.trim() !== '' ? p.condition : null
  const now = ctx.deps.clock.now()
  const existing = await ctx.deps.store.getRoleAssignment(name)
  if (existing) {
    if (
      idKey(existing.scope) !== idKey(scope) ||
      existing.principalId !== principalId ||
      existing.roleDefinitionId !== rdGuid
    )
      throw new ArmError('RoleAssignmentUpdateNotPermitted')
  }
  const a: RoleAssignment = {
    id: name.toLowerCase(),
    scope,
    roleDefinitionId: rdGuid,
    principalId,
    principalType: kind,
    description: typeof p.description === 'string' ? p.description : (existing?.description ?? null),
    condition,
    conditionVersion: condition ? String(p.conditionVersion ?? '2.0') : null,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    createdBy: existing?.createdBy ?? ctx.req.caller.principalId,
    updatedBy: ctx.req.caller.principalId,
  }
  const r = await ctx.deps.store.putRoleAssignment(a)
  if (r === 'exists') throw new ArmError('RoleAssignmentExists')
  ctx.deps.access.putLocal(a)
  await ctx.deps.access.assignmentChanged(a.id)
  ctx.deps.audit.record({
    kind: 'admin',
    result: 'success',
    tenantId: ctx.req.caller.tenantId,
    clientId: ctx.req.caller.appId,
    principalId: ctx.req.caller.principalId,
    requestId: ctx.req.requestId,
    reason: `role assignment ${existing ? 'updated' : 'created'}: ${role.roleName} for ${principalId} at ${scope}`,
    details: { assignmentId: a.id, roleDefinitionId: rdGuid, assignee: principalId, scope },
  })
  return { status: existing ? 200 : 201, body: assignmentWire(a, ctx.req.apiVersion) }
}

async function getAssignment(ctx: Ctx, t: Target): Promise<ArmResult> {
  const scope = t.parentScope
  ctx.authorize(`${RA}/read`, scope)
  const a = await ctx.deps.store.getRoleAssignment(t.name as string)
  if (!a || idKey(a.scope) !== idKey(scope)) throw new ArmError('RoleAssignmentNotFound', { name: t.name as string })
  return { status: 200, body: assignmentWire(a, ctx.req.apiVersion) }
}

async function deleteAssignment(ctx: Ctx, t: Target): Promise<ArmResult> {
  const scope = t.parentScope
  ctx.authorize(`${RA}/delete`, `${scope === '/' ? '' : scope}/providers/${RA}/${t.name}`)
  const a = await ctx.deps.store.getRoleAssignment(t.name as string)
  if (!a || idKey(a.scope) !== idKey(scope)) return { status: 204 }
  await ctx.deps.store.deleteRoleAssignment(a.id)
  ctx.deps.access.removeLocal(a.id)
  await ctx.deps.access.assignmentChanged(a.id)
  ctx.deps.audit.record({
    kind: 'admin',
    result: 'success',
    tenantId: ctx.req.caller.tenantId,
    principalId: ctx.req.caller.principalId,
    clientId: ctx.req.caller.appId,
    requestId: ctx.req.requestId,
    reason: `role assignment deleted: ${a.id} at ${a.scope}`,
    details: { assignmentId: a.id, scope: a.scope, assignee: a.principalId },
  })
  return { status: 200, body: assignmentWire(a, ctx.req.apiVersion) }
}

export const roleAssignments: ResourceType = {
  type: RA,
  apiVersions: API_VERSIONS.authorization,
  placement: 'extension',
  selfAuthorizing: true,
  get: getAssignment,
  put: putAssignment,
  delete: deleteAssignment,
  list: (ctx, t) => listAssignments(ctx, t.parentScope),
}

// -- role definitions

function validatePermissions(raw: unknown): Permission[] {
  if (!Array.isArray(raw) || raw.length === 0)
    throw new ArmError('InvalidRoleDefinition', { message: 'The role definition must have at least one permission.' })
  return raw.map((p) => {
    const o = (p ?? {}) as Record<string, unknown>
    const list = (k: string) => {
      const v = o[k] ?? []
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
        throw new ArmError('InvalidRoleDefinition', { message: `'${k}' must be an array of strings.` })
      for (const a of v as string[])
        if ((a.match(/\*/g) ?? []).length > 1) throw new ArmError('InvalidActionOrNotAction', { action: a })
      return v as string[]
    }
    return {
      actions: list('actions'),
      notActions: list('notActions'),
      dataActions: list('dataActions'),
      notDataActions: list('notDataActions'),
    }
  })
}

async function putDefinition(ctx: Ctx, t: Target): Promise<ArmResult> {
  const scope = t.parentScope
  const id = (t.name as string).toLowerCase()
  ctx.authorize(`${RD}/write`, scope)
  if (!isGuid(id))
    throw new ArmError('InvalidRoleDefinition', { message: `The role definition id '${t.name}' must be a GUID.` })
  await checkScope(ctx, scope)
  const existing = ctx.deps.access.role(id)
  if (existing?.type === 'BuiltInRole') throw new ArmError('CannotModifyBuiltInRole')
  const p = ((ctx.req.body ?? {}) as { properties?: Record<string, unknown> }).properties ?? {}
  const roleName = typeof p.roleName === 'string' ? p.roleName.trim() : ''
  if (!roleName) throw new ArmError('InvalidRoleDefinition', { message: "The property 'roleName' is required." })
  const clash = ctx.deps.access.roles().find((r) => r.roleName.toLowerCase() === roleName.toLowerCase() && r.id !== id)
  if (clash) throw new ArmError('RoleDefinitionWithSameNameExists')
  const scopes = Array.isArray(p.assignableScopes) ? (p.assignableScopes as unknown[]).map(String) : []
  if (scopes.length === 0)
    throw new ArmError('InvalidRoleDefinition', { message: "The property 'assignableScopes' must not be empty." })
  for (const s of scopes) {
    if (idKey(s) === '/') throw new ArmError('InvalidAssignableScope', { scope: s })
    await checkScope(ctx, s)
  }
  const now = ctx.deps.clock.now()
  const d: RoleDefinition = {
    id,
    roleName,
    description: typeof p.description === 'string' ? p.description : '',
    type: 'CustomRole',
    assignableScopes: scopes,
    permissions: validatePermissions(p.permissions),
    scope,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  }
  await ctx.deps.store.putRoleDefinition(d)
  await ctx.deps.access.roleChanged(id)
  return { status: existing ? 200 : 201, body: definitionWire(d, scope) }
}

async function getDefinition(ctx: Ctx, t: Target): Promise<ArmResult> {
  const d = ctx.deps.access.role(t.name as string)
  // Built-in roles are readable by every authenticated caller at any scope (they are the same everywhere).
  if (d?.type !== 'BuiltInRole') ctx.authorize(`${RD}/read`, t.parentScope)
  if (!d) throw new ArmError('RoleDefinitionDoesNotExist', { id: t.name as string })
  return { status: 200, body: definitionWire(d, t.parentScope) }
}

async function deleteDefinition(ctx: Ctx, t: Target): Promise<ArmResult> {
  ctx.authorize(`${RD}/delete`, t.parentScope)
  const d = ctx.deps.access.role(t.name as string)
  if (!d) return { status: 204 }
  if (d.type === 'BuiltInRole') throw new ArmError('CannotModifyBuiltInRole')
  const used = [...ctx.deps.access.assignments().all()].some((a) => a.roleDefinitionId === d.id)
  if (used) throw new ArmError('RoleDefinitionHasAssignments')
  await ctx.deps.store.deleteRoleDefinition(d.id)
  await ctx.deps.access.roleChanged(d.id)
  return { status: 200, body: definitionWire(d, t.parentScope) }
}

async function listDefinitions(ctx: Ctx, t: Target): Promise<ArmResult> {
  const scope = t.parentScope
  const canReadCustom = ctx.deps.access.check({
    principalId: ctx.req.caller.principalId,
    action: `${RD}/read`,
    scope,
  }).allowed
  const filter = (ctx.req.query.get('$filter') ?? '').trim()
  // Built-in roles are listed for every authenticated caller; custom roles need read access at the scope.
  let roles = ctx.deps.access.roles().filter((r) => r.type === 'BuiltInRole' || canReadCustom)
  if (filter) {
    for (const clause of filter.split(/\s+and\s+/i)) {
      const name = /^roleName\s+eq\s+'(.*)'$/i.exec(clause.trim())
      const type = /^type\s+eq\s+'(BuiltInRole|CustomRole)'$/i.exec(clause.trim())
      if (name)
        roles = roles.filter((r) => r.roleName.toLowerCase() === (name[1] as string).replace(/''/g, "'").toLowerCase())
      else if (type) roles = roles.filter((r) => r.type.toLowerCase() === (type[1] as string).toLowerCase())
      else if (/^atScopeAndBelow\(\)$/i.test(clause.trim()))
        roles = roles.filter((r) => r.type === 'BuiltInRole' || isWithinScope(r.scope, scope))
      else throw new ArmError('InvalidFilter', { filter })
    }
  }
  // Custom roles are visible where they are assignable.
  roles = roles.filter(
    (r) =>
      r.type === 'BuiltInRole' || r.assignableScopes.some((s) => isWithinScope(scope, s) || isWithinScope(s, scope)),
  )
  return pagedList(
    ctx,
    roles.sort((a, b) => a.roleName.localeCompare(b.roleName)).map((d) => definitionWire(d, scope)),
  )
}

export const roleDefinitions: ResourceType = {
  type: RD,
  apiVersions: API_VERSIONS.authorization,
  placement: 'extension',
  selfAuthorizing: true,
  get: getDefinition,
  put: putDefinition,
  delete: deleteDefinition,
  list: listDefinitions,
}

/** `{scope}/providers/Microsoft.Authorization/permissions`: the caller's permission blocks that apply at the scope (§4.3). */
export const permissions: ResourceType = {
  type: 'Microsoft.Authorization/permissions',
  apiVersions: API_VERSIONS.authorization,
  placement: 'extension',
  selfAuthorizing: true,
  async list(ctx, t) {
    const scope = t.parentScope
    await checkScope(ctx, scope)
    const mine = ctx.deps.access.assignments().forPrincipal(ctx.req.caller.principalId)
    const value: Permission[] = []
    for (const a of mine) {
      if (!isWithinScope(scope, a.scope)) continue
      const role = ctx.deps.access.role(a.roleDefinitionId)
      if (role) value.push(...role.permissions)
    }
    return { status: 200, body: { value, nextLink: null } }
  },
}

/** Deny assignments cannot be created by customers; the list is always empty (§4.4). */
export const denyAssignments: ResourceType = {
  type: 'Microsoft.Authorization/denyAssignments',
  apiVersions: API_VERSIONS.authorization,
  placement: 'extension',
  selfAuthorizing: true,
  async list(ctx, t) {
    ctx.authorize('Microsoft.Authorization/denyAssignments/read', t.parentScope)
    return { status: 200, body: { value: [] } }
  },
  async get(ctx, t) {
    ctx.authorize('Microsoft.Authorization/denyAssignments/read', t.parentScope)
    throw new ArmError('ResourceNotFound', {
      type: 'Microsoft.Authorization/denyAssignments',
      name: t.name ?? '',
      resourceGroup: t.resourceGroup ?? '',
    })
  },
}

export const AUTHORIZATION_TYPES: ResourceType[] = [roleAssignments, roleDefinitions, permissions, denyAssignments]
