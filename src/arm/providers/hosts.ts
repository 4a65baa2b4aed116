import { API_VERSIONS, COMPUTE_DICTIONARY_FROM } from '../api-versions.ts'
import type { Ctx } from '../context.ts'
import { ArmError } from '../errors.ts'
import type { Resource } from '../model.ts'
import type { ResourceType } from '../registry.ts'
import { type TypeBehaviour, resourceType } from './common.ts'

/**
 * Hosts: resources that carry an `identity`. Only `location` (and `identity`) matter to azid; every other property
 * is stored and echoed (VM-001 [derived]; docs/deviations.md lists what Azure would also require).
 */
const GENERIC_NAME = /^[^<>%&:\\?/#*$^{}[\]|"']{1,80}$/

function validateHostName(type: string) {
  return (name: string) => {
    if (!GENERIC_NAME.test(name) || name.endsWith('.'))
      throw new ArmError('InvalidResourceName', {
        name,
        rule: `Names of ${type} resources must be 1 to 80 characters and must not contain <>%&:\\?/#*$^{}[]|"' or end with a period.`,
      })
  }
}

/** Drops read-only members a client echoes back from a GET (ARM-010) and keeps server-computed ones. */
function withComputed(
  readOnly: readonly string[],
  compute: (ctx: Ctx, existing: Resource | undefined, name: string) => Record<string, unknown>,
): TypeBehaviour['prepareProperties'] {
  return (ctx, q) => {
    const props = { ...q.properties }
    for (const k of readOnly) delete props[k]
    return { ...props, ...compute(ctx, q.existing, q.name) }
  }
}

const succeeded = (r: Resource) => ({ ...withoutSecrets(stripHidden(r.properties)), provisioningState: 'Succeeded' })

/** Write-only members Azure never returns: admin passwords, extension protected settings, custom data. */
function withoutSecrets(p: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(p)
  const scrub = (o: unknown) => {
    if (typeof o !== 'object' || o === null) return
    const r = o as Record<string, unknown>
    for (const k of ['adminPassword', 'protectedSettings', 'protectedSettingsFromKeyVault', 'customData'])
      if (k in r) delete r[k]
    for (const v of Object.values(r)) scrub(v)
  }
  scrub(out)
  return out
}

function stripHidden(p: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(p).filter(([k]) => !k.startsWith('__')))
}

export const virtualMachines = resourceType({
  type: 'Microsoft.Compute/virtualMachines',
  apiVersions: API_VERSIONS.compute,
  placement: 'resourceGroup',
  listBySubscription: true,
  identity: { legacyArrayBefore: COMPUTE_DICTIONARY_FROM },
  locationRequired: true,
  validateName: validateHostName('Microsoft.Compute/virtualMachines'),
  prepareProperties: withComputed(['vmId', 'provisioningState', 'instanceView', 'timeCreated'], (ctx, existing) => ({
    vmId: (existing?.properties.vmId as string | undefined) ?? ctx.deps.ids.uuid(),
    timeCreated:
      (existing?.properties.timeCreated as string | undefined) ?? new Date(ctx.deps.clock.now()).toISOString(),
  })),
  renderProperties: succeeded,
})

export const virtualMachineScaleSets = resourceType({
  type: 'Microsoft.Compute/virtualMachineScaleSets',
  apiVersions: API_VERSIONS.compute,
  placement: 'resourceGroup',
  listBySubscription: true,
  identity: { legacyArrayBefore: COMPUTE_DICTIONARY_FROM },
  locationRequired: true,
  validateName: validateHostName('Microsoft.Compute/virtualMachineScaleSets'),
  prepareProperties: withComputed(['uniqueId', 'provisioningState', 'timeCreated'], (ctx, existing) => ({
    uniqueId: (existing?.properties.uniqueId as string | undefined) ?? ctx.deps.ids.uuid(),
    timeCreated:
      (existing?.properties.timeCreated as string | undefined) ?? new Date(ctx.deps.clock.now()).toISOString(),
  })),
  renderProperties: succeeded,
})

/** VM and scale-set extensions; `ManagedIdentityExtensionForLinux|Windows` with `settings.port` enables the legacy endpoint (VMEXT-004). */
function extensionType(parentType: string, versions: readonly string[]) {
  return resourceType({
    type: `${parentType}/extensions`,
    apiVersions: versions,
    placement: 'child',
    locationRequired: false,
    validateName: validateHostName(`${parentType}/extensions`),
    prepareProperties: withComputed(['provisioningState', 'instanceView'], () => ({})),
    renderProperties: succeeded,
  })
}

export const webSites = resourceType({
  type: 'Microsoft.Web/sites',
  apiVersions: API_VERSIONS.web,
  placement: 'resourceGroup',
  listBySubscription: true,
  identity: {},
  locationRequired: true,
  validateName(name) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,58}[a-zA-Z0-9]?$/.test(name))
      throw new ArmError('InvalidResourceName', {
        name,
        rule: 'Site names must be 2 to 60 characters of letters, digits and hyphens, and must not start or end with a hyphen.',
      })
  },
  prepareProperties: withComputed(['state', 'defaultHostName', 'hostNames', 'provisioningState'], () => ({})),
  renderProperties: (r) => ({
    ...withoutSecrets(stripHidden(r.properties)),
    state: 'Running',
    defaultHostName: `${r.name.toLowerCase()}.azurewebsites.net`,
    hostNames: [`${r.name.toLowerCase()}.azurewebsites.net`],
    provisioningState: 'Succeeded',
  }),
  extraMembers: ['kind', 'sku', 'extendedLocation'],
})

export const webSiteSlots = resourceType({
  type: 'Microsoft.Web/sites/slots',
  apiVersions: API_VERSIONS.web,
  placement: 'child',
  identity: {},
  locationRequired: false,
  validateName: validateHostName('Microsoft.Web/sites/slots'),
  prepareProperties: withComputed(['state', 'defaultHostName', 'provisioningState'], () => ({})),
  renderProperties: succeeded,
  extraMembers: ['kind'],
})

export const containerGroups = resourceType({
  type: 'Microsoft.ContainerInstance/containerGroups',
  apiVersions: API_VERSIONS.containerInstance,
  placement: 'resourceGroup',
  listBySubscription: true,
  identity: {},
  locationRequired: true,
  validateName(name) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name))
      throw new ArmError('InvalidResourceName', {
        name,
        rule: 'Container group names must be 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen.',
      })
  },
  prepareProperties: withComputed(['provisioningState', 'instanceView'], () => ({})),
  renderProperties: succeeded,
  extraMembers: ['zones'],
})

export const arcMachines = resourceType({
  type: 'Microsoft.HybridCompute/machines',
  apiVersions: API_VERSIONS.hybridCompute,
  placement: 'resourceGroup',
  listBySubscription: true,
  // Azure Arc machines have only a system-assigned identity.
  identity: { systemOnly: true },
  locationRequired: true,
  validateName: validateHostName('Microsoft.HybridCompute/machines'),
  prepareProperties: withComputed(['provisioningState', 'status', 'vmId'], (ctx, existing) => ({
    vmId: (existing?.properties.vmId as string | undefined) ?? ctx.deps.ids.uuid(),
  })),
  renderProperties: (r) => ({
    ...withoutSecrets(stripHidden(r.properties)),
    status: 'Connected',
    provisioningState: 'Succeeded',
  }),
  extraMembers: ['kind'],
})

export const HOST_TYPES: ResourceType[] = [
  virtualMachines,
  extensionType('Microsoft.Compute/virtualMachines', API_VERSIONS.compute),
  virtualMachineScaleSets,
  extensionType('Microsoft.Compute/virtualMachineScaleSets', API_VERSIONS.compute),
  webSites,
  webSiteSlots,
  containerGroups,
  arcMachines,
  extensionType('Microsoft.HybridCompute/machines', API_VERSIONS.hybridCompute),
]

/** Resource types whose instances are hosts (carry identities) — the managed-identity endpoints serve these. */
export const HOST_TYPE_NAMES = HOST_TYPES.filter((t) => (t as { behaviour?: TypeBehaviour }).behaviour?.identity).map(
  (t) => t.type,
)
