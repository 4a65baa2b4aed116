import type { ServicePrincipal } from '../directory/index.ts'
import { base64url } from '../kernel/ids.ts'
import { canonicalSegments, parseResourceId } from '../kernel/resource-id.ts'
import type { Ctx } from './context.ts'
import { ArmError } from './errors.ts'
import type { AttachedUserIdentity, IdentityState } from './model.ts'
import type { ArmStore } from './ports.ts'
import { miResourceId } from './wire.ts'

export const UAMI_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities'
/** IMDS serves up to 1,000 user-assigned identities per host (FAQ-003). */
export const MAX_USER_IDENTITIES = 1000
/** ARM accepts at most 150 in one request (docs/wire/arm-errors.md §6). */
export const MAX_USER_IDENTITIES_PER_REQUEST = 150

/** What the request asks for, in the seeds' PATCH/PUT grammar (PATCH-001/002). */
export interface IdentityRequest {
  system: boolean
  user: boolean
  /** merge: the 2018-06-01+ dictionary ({} adds, null removes); replace: the 2017-12-01 `identityIds` array. */
  changes: { mode: 'merge'; add: string[]; remove: string[] } | { mode: 'replace'; ids: string[] } | { mode: 'none' }
}

/** `SystemAssigned`, `userAssigned`, `SystemAssigned,UserAssigned`, `none`… case- and space-insensitive (INC-005). */
export function parseIdentityType(raw: unknown): { system: boolean; user: boolean } {
  if (typeof raw !== 'string' || raw.trim() === '')
    throw new ArmError('InvalidParameter', {
      message: "The property 'identity.type' is required and must be a string.",
    })
  const parts = raw.split(',').map((p) => p.trim().toLowerCase())
  const known = new Set(['systemassigned', 'userassigned', 'none'])
  const bad = parts.find((p) => !known.has(p))
  if (bad !== undefined || (parts.includes('none') && parts.length > 1))
    throw new ArmError('InvalidParameter', {
      message: `The value '${raw}' of parameter 'identity.type' is not valid. Allowed values are 'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned' and 'None'.`,
    })
  return { system: parts.includes('systemassigned'), user: parts.includes('userassigned') }
}

/** A user-assigned identity reference: leading slash added (INC-002), fixed segments canonical, shape checked (R8). */
export function normalizeIdentityRef(raw: string): string {
  const id = canonicalSegments(raw.trim().startsWith('/') ? raw.trim() : `/${raw.trim()}`)
  const p = parseResourceId(id)
  const prov = p.providers[0]
  const ok =
    p.subscriptionId &&
    p.resourceGroup &&
    p.providers.length === 1 &&
    prov?.namespace.toLowerCase() === 'microsoft.managedidentity' &&
    prov.types.length === 1 &&
    prov.types[0]?.[0].toLowerCase() === 'userassignedidentities' &&
    prov.types[0]?.[1] &&
    p.rest.length === 0
  if (!ok) throw new ArmError('InvalidIdentityId', { ids: raw })
  return `/subscriptions/${p.subscriptionId}/resourceGroups/${p.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${prov?.types[0]?.[1]}`
}

export function parseIdentityRequest(raw: unknown): IdentityRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ArmError('InvalidParameter', { message: "The property 'identity' must be an object." })
  const o = raw as Record<string, unknown>
  const { system, user } = parseIdentityType(o.type)
  const dict = o.userAssignedIdentities
  const arr = o.identityIds
  if (dict !== undefined && dict !== null && arr !== undefined && arr !== null)
    throw new ArmError('InvalidParameter', {
      message: "Specify user-assigned identities either in 'userAssignedIdentities' or in 'identityIds', not both.",
    })
  if (arr !== undefined && arr !== null) {
    if (!Array.isArray(arr) || arr.some((x) => typeof x !== 'string'))
      throw new ArmError('InvalidParameter', {
        message: "The property 'identity.identityIds' must be an array of resource ids.",
      })
    return { system, user, changes: { mode: 'replace', ids: dedupe((arr as string[]).map(normalizeIdentityRef)) } }
  }
  if (dict !== undefined && dict !== null) {
    if (typeof dict !== 'object' || Array.isArray(dict))
      throw new ArmError('InvalidParameter', {
        message: "The property 'identity.userAssignedIdentities' must be an object.",
      })
    const add: string[] = []
    const remove: string[] = []
    for (const [k, v] of Object.entries(dict as Record<string, unknown>)) {
      const id = normalizeIdentityRef(k)
      if (v === null) remove.push(id)
      else if (typeof v === 'object' && !Array.isArray(v)) add.push(id)
      else
        throw new ArmError('InvalidParameter', {
          message: `The value of user-assigned identity '${k}' must be an object or null.`,
        })
    }
    return { system, user, changes: { mode: 'merge', add: dedupe(add), remove: dedupe(remove) } }
  }
  return { system, user, changes: { mode: 'none' } }
}

function dedupe(ids: string[]): string[] {
  const seen = new Set<string>()
  return ids.filter((id) => {
    const k = id.toLowerCase()
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

export interface IdentityPlan {
  next: IdentityState
  createSystem: boolean
  deleteSystem: string | null
  /** Identities named with a non-null value in the request: each needs the assign permission (R9). */
  referenced: string[]
}

/**
 * Applies a request to the current identity state: PATCH merges the dictionary and keeps unnamed entries (R4),
 * PUT replaces (R11), the array form replaces (R5), a type without UserAssigned clears them (R1), a type without
 * SystemAssigned removes it (R2).
 */
export function planIdentity(q: { current: IdentityState | null; request: IdentityRequest; mode: 'put' | 'patch' }): {
  plan: Omit<IdentityPlan, 'next'> & { userIds: string[]; system: boolean }
} {
  const { current, request, mode } = q
  const currentIds = (current?.user ?? []).map((u) => u.id)
  let userIds: string[] = []
  let referenced: string[] = []
  if (request.user) {
    const c = request.changes
    if (c.mode === 'replace') {
      userIds = c.ids
      referenced = c.ids
    } else if (c.mode === 'merge') {
      const base = mode === 'patch' ? currentIds : []
      const removed = new Set(c.remove.map((x) => x.toLowerCase()))
      userIds = dedupe([...base.filter((id) => !removed.has(id.toLowerCase())), ...c.add])
      referenced = c.add
    } else userIds = mode === 'patch' ? currentIds : []
    if (userIds.length === 0) throw new ArmError('MissingIdentityIds')
    if (userIds.length > MAX_USER_IDENTITIES)
      throw new ArmError('InvalidParameter', {
        message: `A resource can have at most ${MAX_USER_IDENTITIES} user-assigned identities; the request has ${userIds.length}.`,
      })
  } else if (
    (request.changes.mode === 'merge' && request.changes.add.length > 0) ||
    (request.changes.mode === 'replace' && request.changes.ids.length > 0)
  ) {
    throw new ArmError('FailedIdentityOperation', {
      resource: '',
      inner:
        'The request format was unexpected, a non-UserAssigned identity type should not contain: userAssignedIdentities',
    })
  }
  const hadSystem = current?.system ?? null
  return {
    plan: {
      userIds,
      system: request.system,
      createSystem: request.system && !hadSystem,
      deleteSystem: !request.system && hadSystem ? hadSystem.principalId : null,
      referenced,
    },
  }
}

/**
 * Carries out an identity request on a host inside the caller's transaction: checks and resolves the referenced
 * user-assigned identities, creates or deletes the system-assigned service principal, and returns the new state.
 */
export async function applyIdentity(
  ctx: Ctx,
  tx: ArmStore,
  q: {
    hostId: string
    hostName: string
    current: IdentityState | null
    raw: unknown
    mode: 'put' | 'patch'
    action: string
  },
): Promise<{ state: IdentityState; changed: boolean; deletedPrincipal: string | null }> {
  const request = parseIdentityRequest(q.raw)
  let plan: ReturnType<typeof planIdentity>['plan']
  try {
    ;({ plan } = planIdentity({ current: q.current, request, mode: q.mode }))
  } catch (e) {
    if (e instanceof ArmError && e.code === 'FailedIdentityOperation')
      throw new ArmError('FailedIdentityOperation', { ...e.args, resource: q.hostId } as Record<string, string>)
    throw e
  }
  if (plan.referenced.length > MAX_USER_IDENTITIES_PER_REQUEST)
    throw new ArmError('FailedIdentityOperation', {
      resource: q.hostId,
      inner: `User Assigned Identities Number '${plan.referenced.length}' Assign exceed limit '${MAX_USER_IDENTITIES_PER_REQUEST}' in one request.`,
    })
  for (const ref of plan.referenced) {
    ctx.authorizeLinked({
      action: q.action,
      scope: q.hostId,
      linkedAction: 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
      // ARM names linked scopes in its stored form, with lower-case `resourcegroups` (arm-errors §3).
      linkedScope: miResourceId(ref),
    })
  }
  const currentById = new Map((q.current?.user ?? []).map((u) => [u.id.toLowerCase(), u]))
  const user: AttachedUserIdentity[] = []
  for (const id of plan.userIds) {
    const existing = currentById.get(id.toLowerCase())
    const wantsFresh = plan.referenced.some((r) => r.toLowerCase() === id.toLowerCase())
    if (existing && !wantsFresh) {
      user.push(existing)
      continue
    }
    const uami = await tx.getResource(id)
    if (!uami || uami.type.toLowerCase() !== UAMI_TYPE.toLowerCase()) {
      if (existing) {
        // A dangling reference that the request names again: the identity was deleted (R10).
        user.push(existing)
        continue
      }
      throw new ArmError('FailedIdentityOperation', {
        resource: q.hostId,
        inner: `Resource '${miResourceId(id)}' was not found.`,
      })
    }
    const props = uami.properties as { principalId: string; clientId: string }
    user.push({ id: uami.id, principalId: props.principalId, clientId: props.clientId })
  }

  let system = q.current?.system ?? null
  if (plan.deleteSystem) {
    await tx.directory.deleteServicePrincipal(plan.deleteSystem)
    system = null
  }
  if (plan.createSystem) {
    const sp = newManagedIdentityPrincipal(ctx, { resourceId: q.hostId, displayName: q.hostName, explicit: false })
    await tx.directory.putServicePrincipal(sp)
    system = { principalId: sp.objectId, tenantId: sp.tenantId, clientId: sp.appId }
  }
  const state: IdentityState = { system, user }
  const before = JSON.stringify(q.current ?? null)
  return { state, changed: before !== JSON.stringify(state), deletedPrincipal: plan.deleteSystem }
}

/** The service principal of a managed identity, shaped as Graph shows it (api-shapes §5.1). */
export function newManagedIdentityPrincipal(
  ctx: Ctx,
  q: { resourceId: string; displayName: string; explicit: boolean },
): ServicePrincipal {
  const appId = ctx.deps.ids.uuid()
  return {
    tenantId: ctx.deps.settings.tenantId,
    objectId: ctx.deps.ids.uuid(),
    appId,
    displayName: q.displayName,
    type: 'ManagedIdentity',
    appOwnerTenantId: null,
    servicePrincipalNames: [
      appId,
      `https://identity.azure.net/${base64url(ctx.deps.ids.bytes(32)).replace(/-/g, '+').replace(/_/g, '/')}=`,
    ],
    alternativeNames: [q.explicit ? 'isExplicit=True' : 'isExplicit=False', miResourceId(q.resourceId)],
    managedIdentityResourceId: miResourceId(q.resourceId),
    accountEnabled: true,
    createdAt: ctx.deps.clock.now(),
  }
}

/** The `identity` member of a response, in the dictionary form or (Compute before 2018-06-01) the array form. */
export function renderIdentity(
  state: IdentityState | null,
  opts: { legacyArray: boolean },
): Record<string, unknown> | undefined {
  if (!state) return undefined
  const hasUser = state.user.length > 0
  const type =
    state.system && hasUser
      ? 'SystemAssigned, UserAssigned'
      : state.system
        ? 'SystemAssigned'
        : hasUser
          ? 'UserAssigned'
          : 'None'
  const out: Record<string, unknown> = {}
  if (state.system) {
    out.principalId = state.system.principalId
    out.tenantId = state.system.tenantId
  }
  out.type = type
  if (hasUser) {
    if (opts.legacyArray) out.identityIds = state.user.map((u) => u.id)
    else
      out.userAssignedIdentities = Object.fromEntries(
        state.user.map((u) => [u.id, { principalId: u.principalId, clientId: u.clientId }]),
      )
  }
  return out
}
