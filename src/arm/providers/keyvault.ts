import { API_VERSIONS } from '../api-versions.ts'
import { ArmError } from '../errors.ts'
import type { ResourceType } from '../registry.ts'
import { resourceType } from './common.ts'

export const VAULT_TYPE = 'Microsoft.KeyVault/vaults'

/** Vault names (api-shapes §7.6): 3–24 letters, digits and hyphens, starting with a letter, no `--`, no trailing `-`. */
export const VAULT_NAME = /^(?=.{3,24}$)[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*[a-zA-Z0-9]$/

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * `Microsoft.KeyVault/vaults` (api-shapes §7.6). The permission model defaults to Azure RBAC
 * (`enableRbacAuthorization: true`), which is what azid's Key Vault data plane enforces; access-policy vaults are
 * refused (docs/deviations.md). Soft delete is always on, as in Azure since 2020.
 */
export const vaults = resourceType({
  type: VAULT_TYPE,
  apiVersions: API_VERSIONS.keyVault,
  placement: 'resourceGroup',
  listBySubscription: true,
  locationRequired: true,
  validateName(name) {
    if (!VAULT_NAME.test(name))
      throw new ArmError('InvalidResourceName', {
        name,
        rule: 'Vault name must only contain alphanumeric characters and dashes and cannot start with a number. It must be between 3 and 24 characters in length and cannot contain consecutive dashes or end with a dash.',
      })
  },
  prepareProperties(ctx, q) {
    const p = { ...q.properties }
    for (const k of ['vaultUri', 'provisioningState', 'hsmPoolResourceId']) delete p[k]
    const tenantId = p.tenantId ?? (q.existing?.properties.tenantId as string | undefined)
    if (typeof tenantId !== 'string' || !GUID.test(tenantId))
      throw new ArmError('InvalidParameter', { message: "The property 'tenantId' is required and must be a GUID." })
    if (tenantId.toLowerCase() !== ctx.deps.settings.tenantId.toLowerCase())
      throw new ArmError('InvalidParameter', {
        message: `The tenant '${tenantId}' is not the tenant of this subscription ('${ctx.deps.settings.tenantId}').`,
      })
    const sku = (p.sku ?? q.existing?.properties.sku) as { family?: unknown; name?: unknown } | undefined
    if (!sku || typeof sku !== 'object' || !['standard', 'premium'].includes(String(sku.name).toLowerCase()))
      throw new ArmError('InvalidParameter', {
        message: 'The property \'sku\' is required: {"family":"A","name":"standard"|"premium"}.',
      })
    const rbac = p.enableRbacAuthorization ?? true
    if (rbac !== true)
      throw new ArmError('BadRequest', {
        message:
          'azid serves Key Vault with the Azure RBAC permission model only: enableRbacAuthorization must be true (access policies are not supported, see docs/deviations.md).',
      })
    const retention = p.softDeleteRetentionInDays ?? q.existing?.properties.softDeleteRetentionInDays ?? 90
    if (!Number.isInteger(retention) || (retention as number) < 7 || (retention as number) > 90)
      throw new ArmError('InvalidParameter', { message: 'softDeleteRetentionInDays must be between 7 and 90.' })
    if (p.enableSoftDelete === false)
      throw new ArmError('BadRequest', { message: 'Soft delete cannot be disabled on a key vault.' })
    return {
      ...p,
      tenantId: tenantId.toLowerCase(),
      sku: { family: 'A', name: String(sku.name).toLowerCase() },
      accessPolicies: [],
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      softDeleteRetentionInDays: retention,
    }
  },
  async afterWrite(_ctx, tx, r, created) {
    if (!created) return
    // Vault names are global (their DNS name): one name, one vault.
    const same = (await tx.listResources({ type: VAULT_TYPE, name: r.name })).filter(
      (x) => x.id.toLowerCase() !== r.id.toLowerCase(),
    )
    if (same.length > 0) throw new ArmError('VaultAlreadyExists', { name: r.name })
  },
  renderProperties: (r) => ({
    ...r.properties,
    vaultUri: `https://${r.name.toLowerCase()}.vault.azure.net/`,
    provisioningState: 'Succeeded',
    publicNetworkAccess: r.properties.publicNetworkAccess ?? 'Enabled',
  }),
  extraMembers: [],
})

export const KEYVAULT_TYPES: ResourceType[] = [vaults]
