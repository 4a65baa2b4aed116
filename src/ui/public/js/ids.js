// ARM ids and the resource types the portal knows how to show.
import { V } from './api.js'

export const UAMI = 'Microsoft.ManagedIdentity/userAssignedIdentities'

/**
 * @typedef {{ type: string, label: string, plural: string, api: string, userAssigned: boolean, host: boolean,
 *   createBody?: (location: string) => Record<string, unknown> }} TypeInfo
 */

/** Hosts: resources with an `identity` (the seed's VM and scale set, and the other hosts azid serves). */
/** @type {TypeInfo[]} */
export const HOST_TYPES = [
  {
    type: 'Microsoft.Compute/virtualMachines',
    label: 'Virtual machine',
    plural: 'Virtual machines',
    api: V.compute,
    userAssigned: true,
    host: true,
    createBody: (location) => ({ location, properties: { hardwareProfile: { vmSize: 'Standard_D2s_v3' } } }),
  },
  {
    type: 'Microsoft.Compute/virtualMachineScaleSets',
    label: 'Virtual machine scale set',
    plural: 'Virtual machine scale sets',
    api: V.compute,
    userAssigned: true,
    host: true,
    createBody: (location) => ({ location, sku: { name: 'Standard_D2s_v3', capacity: 2 }, properties: {} }),
  },
  {
    type: 'Microsoft.Web/sites',
    label: 'App Service',
    plural: 'App Services',
    api: V.web,
    userAssigned: true,
    host: true,
    createBody: (location) => ({ location, kind: 'app', properties: {} }),
  },
  {
    type: 'Microsoft.ContainerInstance/containerGroups',
    label: 'Container instance',
    plural: 'Container instances',
    api: V.aci,
    userAssigned: true,
    host: true,
    createBody: (location) => ({ location, properties: { osType: 'Linux', containers: [] } }),
  },
  {
    type: 'Microsoft.HybridCompute/machines',
    label: 'Azure Arc machine',
    plural: 'Azure Arc machines',
    api: V.arc,
    userAssigned: false,
    host: true,
    createBody: (location) => ({ location, kind: 'Linux', properties: {} }),
  },
]

/** @type {TypeInfo[]} */
export const OTHER_TYPES = [
  { type: UAMI, label: 'Managed Identity', plural: 'Managed Identities', api: V.mi, userAssigned: false, host: false },
  {
    type: `${UAMI}/federatedIdentityCredentials`,
    label: 'Federated credential',
    plural: 'Federated credentials',
    api: V.mi,
    userAssigned: false,
    host: false,
  },
  {
    type: 'Microsoft.Storage/storageAccounts',
    label: 'Storage account',
    plural: 'Storage accounts',
    api: V.storage,
    userAssigned: false,
    host: false,
  },
  {
    type: 'Microsoft.KeyVault/vaults',
    label: 'Key vault',
    plural: 'Key vaults',
    api: V.keyVault,
    userAssigned: false,
    host: false,
  },
  {
    type: 'Microsoft.DocumentDB/databaseAccounts',
    label: 'Azure Cosmos DB account',
    plural: 'Azure Cosmos DB accounts',
    api: V.cosmos,
    userAssigned: false,
    host: false,
  },
]

/** @param {string} type */
export function typeInfo(type) {
  const t = type.toLowerCase()
  return [...HOST_TYPES, ...OTHER_TYPES].find((x) => x.type.toLowerCase() === t) ?? null
}

/**
 * @typedef {{ id: string, subscriptionId: string | null, resourceGroup: string | null, type: string | null,
 *   name: string | null, kind: 'subscription' | 'resourceGroup' | 'resource' | 'root' }} ParsedId
 */

/**
 * Splits an ARM id: subscription, group, full type (`Ns/type[/child]`) and name.
 * @param {string} id
 * @returns {ParsedId}
 */
export function parseId(id) {
  const seg = id.split('/').filter(Boolean)
  const lower = seg.map((s) => s.toLowerCase())
  const at = (/** @type {string} */ k) => {
    const i = lower.indexOf(k)
    return i >= 0 && i + 1 < seg.length ? /** @type {string} */ (seg[i + 1]) : null
  }
  const subscriptionId = at('subscriptions')
  const resourceGroup = at('resourcegroups')
  const p = lower.lastIndexOf('providers')
  if (p >= 0 && seg.length > p + 3) {
    const rest = seg.slice(p + 2)
    const types = [seg[p + 1]]
    let name = null
    for (let i = 0; i < rest.length; i += 2) {
      types.push(rest[i])
      name = rest[i + 1] ?? null
    }
    return { id, subscriptionId, resourceGroup, type: types.join('/'), name, kind: 'resource' }
  }
  if (resourceGroup)
    return { id, subscriptionId, resourceGroup, type: null, name: resourceGroup, kind: 'resourceGroup' }
  if (subscriptionId)
    return { id, subscriptionId, resourceGroup: null, type: null, name: subscriptionId, kind: 'subscription' }
  return { id, subscriptionId: null, resourceGroup: null, type: null, name: null, kind: 'root' }
}

/** Canonical `resourceGroups` (Microsoft.ManagedIdentity writes `resourcegroups`). @param {string} id */
export const canonicalId = (id) => id.replace(/\/resourcegroups\//i, '/resourceGroups/')

/** Ids compare case-insensitively. @param {string} a @param {string} b */
export const sameId = (a, b) =>
  canonicalId(a).toLowerCase().replace(/\/$/, '') === canonicalId(b).toLowerCase().replace(/\/$/, '')

/**
 * A name typed by the user, as one URL path segment: ARM then judges the name itself (a '/' or '?' would otherwise
 * change the request and hide ARM's message).
 * @param {string} name
 */
export const seg = (name) => name.replace(/[%/?#\\]/g, (c) => encodeURIComponent(c))

/** @param {string} sub @param {string} [rg] */
export const scopeOf = (sub, rg) => (rg ? `/subscriptions/${sub}/resourceGroups/${rg}` : `/subscriptions/${sub}`)

/** A hash route to a resource's blade. @param {string} id @param {string} [blade] */
export const resourceHref = (id, blade = 'overview') => `#/resource${canonicalId(id)}/${blade}`

/**
 * How a page names a scope relative to the page's own scope (the IAM "Scope" column).
 * @param {string} scope the assignment's scope
 * @param {string} page the page's scope
 */
export function scopeLabel(scope, page) {
  const p = parseId(scope)
  const name =
    p.kind === 'subscription'
      ? 'Subscription'
      : p.kind === 'resourceGroup'
        ? 'Resource group'
        : p.kind === 'root'
          ? 'Root'
          : (typeInfo(p.type ?? '')?.label ?? 'Resource')
  if (sameId(scope, page)) return 'This resource'
  return `${name} (Inherited)`
}

/** @param {string | null | undefined} type */
export const isHost = (type) => Boolean(type && typeInfo(type)?.host)

/** Location names as ARM writes them ('westus') to the labels the portal shows ('West US'). */
/** @param {string} name @param {{ name: string, displayName: string }[]} [locations] */
export function locationLabel(name, locations) {
  return locations?.find((l) => l.name === name)?.displayName ?? name
}
