import { lowerResourceGroupsSegment } from '../kernel/resource-id.ts'
import type { Resource, ResourceGroup, Subscription } from './model.ts'

/** ARM timestamps: ISO 8601 with seven fractional digits, as ARM prints them. */
export const armTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')

export function subscriptionWire(s: Subscription, opts: { full?: boolean } = {}) {
  return {
    id: `/subscriptions/${s.id}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: s.id,
    tenantId: s.tenantId,
    displayName: s.displayName,
    state: s.state,
    subscriptionPolicies: {
      locationPlacementId: 'Public_2014-09-01',
      quotaId: 'PayAsYouGo_2014-09-01',
      spendingLimit: 'Off',
    },
    ...(opts.full ? { tags: {} } : {}),
  }
}

export function resourceGroupWire(g: ResourceGroup) {
  return {
    id: `/subscriptions/${g.subscriptionId}/resourceGroups/${g.name}`,
    name: g.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: g.location,
    ...(Object.keys(g.tags).length > 0 ? { tags: g.tags } : {}),
    ...(g.managedBy ? { managedBy: g.managedBy } : {}),
    properties: { provisioningState: 'Succeeded' },
  }
}

/** The generic form used by `/resources` lists (ARM-009: includes identity). */
export function genericResourceWire(r: Resource, identity: unknown) {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    ...(r.location ? { location: r.location } : {}),
    ...(identity ? { identity } : {}),
    ...(Object.keys(r.tags).length > 0 ? { tags: r.tags } : {}),
    ...(r.extra.kind ? { kind: r.extra.kind } : {}),
    ...(r.extra.sku ? { sku: r.extra.sku } : {}),
    createdTime: armTime(r.createdAt),
    changedTime: armTime(r.updatedAt),
  }
}

/** `xms_mirid` and Graph's alternativeNames use ARM's internal form with lower-case `resourcegroups` (api-shapes §8.3). */
export const miResourceId = (id: string) => lowerResourceGroupsSegment(id)
