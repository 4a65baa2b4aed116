import type { FederatedCredential } from '../../directory/index.ts'
import { API_VERSIONS, isBefore } from '../api-versions.ts'
import type { Ctx } from '../context.ts'
import { ArmError } from '../errors.ts'
import { newManagedIdentityPrincipal, UAMI_TYPE } from '../identity.ts'
import type { Resource } from '../model.ts'
import type { ResourceType } from '../registry.ts'
import { resourceType } from './common.ts'
import { miResourceId } from '../wire.ts'

/** UAMI-007: 3–128 letters, digits, `-` and `_`, starting with a letter or digit. */
const UAMI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/
/** FIC name: swagger pattern of federatedIdentityCredentials (api-shapes §1.1). */
const FIC_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$/
const MAX_FICS = 20

// UAMI-005: the id in the URL has lower-case `resourcegroups`, as the identity's own id.
const clientSecretUrl = (r: Resource, p: { tenantId: string; principalId: string; clientId: string }) =>
  `https://control-${r.location ?? 'westus'}.identity.azure.net${miResourceId(r.id)}/credentials?tid=${p.tenantId}&oid=${p.principalId}&aid=${p.clientId}`

export const userAssignedIdentities = resourceType({
  type: UAMI_TYPE,
  apiVersions: API_VERSIONS.managedIdentity,
  placement: 'resourceGroup',
  listBySubscription: true,
  locationRequired: true,
  validateName(name) {
    if (!UAMI_NAME.test(name))
      throw new ArmError('InvalidResourceName', {
        name,
        rule: 'The name must be 3 to 128 characters long, begin with a letter or number, and contain only letters, numbers, underscores (_) and hyphens (-).',
      })
  },
  prepareProperties(_ctx, q) {
    // tenantId/principalId/clientId are read-only and fixed at creation (api-shapes §1.2); afterWrite fills them.
    const keep = q.existing?.properties ?? {}
    const out: Record<string, unknown> = { ...keep }
    const iso = q.properties.isolationScope
    if (iso !== undefined) {
      if (iso !== 'None' && iso !== 'Regional')
        throw new ArmError('InvalidParameter', {
          message: "The property 'isolationScope' must be 'None' or 'Regional'.",
        })
      out.isolationScope = iso
    }
    return out
  },
  async afterWrite(ctx, tx, r, created) {
    if (!created) return
    const sp = newManagedIdentityPrincipal(ctx, { resourceId: r.id, displayName: r.name, explicit: true })
    await tx.directory.putServicePrincipal(sp)
    r.properties = { tenantId: sp.tenantId, principalId: sp.objectId, clientId: sp.appId, ...r.properties }
    await tx.putResource(r)
  },
  renderProperties(r, v) {
    const p = r.properties as { tenantId: string; principalId: string; clientId: string; isolationScope?: string }
    const out: Record<string, unknown> = { tenantId: p.tenantId, principalId: p.principalId, clientId: p.clientId }
    if (isBefore(v, '2018-11-30')) out.clientSecretUrl = clientSecretUrl(r, p)
    if (v >= '2024-11-30') out.isolationScope = p.isolationScope ?? 'None'
    return out
  },
  deleteStatus: { deleted: 200, absent: 204 },
  extraMembers: [],
  lowerCaseResourceGroupsInId: true,
})

/** Federated identity credentials: ARM resources mirrored into the directory, where the token service reads them. */
export const federatedIdentityCredentials = resourceType({
  type: `${UAMI_TYPE}/federatedIdentityCredentials`,
  apiVersions: API_VERSIONS.managedIdentity.filter((v) => v >= '2022-01-31-preview'),
  placement: 'child',
  locationRequired: false,
  proxy: true,
  validateName(name) {
    if (!FIC_NAME.test(name))
      throw new ArmError('InvalidResourceName', {
        name,
        rule: 'The name must be 3 to 120 characters long, begin with a letter or number, and contain only letters, numbers, underscores (_) and hyphens (-).',
      })
  },
  prepareProperties(_ctx, q) {
    const p = q.properties
    const issuer = p.issuer
    const subject = p.subject
    const audiences = p.audiences
    let issuerOk = false
    try {
      issuerOk = typeof issuer === 'string' && new URL(issuer).protocol === 'https:'
    } catch {
      issuerOk = false
    }
    if (!issuerOk) throw new ArmError('BadRequest', { message: "The property 'issuer' must be an https URL." })
    if (typeof subject !== 'string' || subject.trim() === '' || subject.length > 600)
      throw new ArmError('BadRequest', { message: "The property 'subject' is required (1 to 600 characters)." })
    if (!Array.isArray(audiences) || audiences.length !== 1 || typeof audiences[0] !== 'string' || audiences[0] === '')
      throw new ArmError('BadRequest', {
        message: "The property 'audiences' must hold exactly one audience, e.g. 'api://AzureADTokenExchange'.",
      })
    return {
      issuer,
      subject,
      audiences,
      __directoryId: (q.existing?.properties as { __directoryId?: string } | undefined)?.__directoryId,
    }
  },
  async afterWrite(ctx, tx, r) {
    const parent = r.parentId ? await tx.getResource(r.parentId) : undefined
    const pp = parent?.properties as { clientId?: string; tenantId?: string } | undefined
    if (!parent || !pp?.clientId) throw new ArmError('ParentResourceNotFound', { parent: r.parentId ?? '' })
    const p = r.properties as { issuer: string; subject: string; audiences: string[]; __directoryId?: string }
    const siblings = (await tx.listResources({ parentId: parent.id })).filter((s) => s.id !== r.id)
    if (siblings.length >= MAX_FICS)
      throw new ArmError('BadRequest', {
        message: `A user-assigned identity can have at most ${MAX_FICS} federated identity credentials.`,
      })
    const dup = siblings.find((s) => {
      const q = s.properties as typeof p
      return q.issuer === p.issuer && q.subject === p.subject
    })
    if (dup)
      throw new ArmError('BadRequest', {
        message: `A federated identity credential with the same issuer and subject already exists on this identity: '${dup.name}'.`,
      })
    const fic: FederatedCredential = {
      id: p.__directoryId ?? ctx.deps.ids.uuid(),
      tenantId: pp.tenantId ?? ctx.deps.settings.tenantId,
      appId: pp.clientId,
      name: r.name,
      issuer: p.issuer,
      subject: p.subject,
      audiences: p.audiences,
      description: null,
      resourceId: r.id,
      createdAt: r.createdAt,
    }
    await tx.directory.putFederatedCredential(fic)
    if (!p.__directoryId) {
      r.properties = { ...p, __directoryId: fic.id }
      await tx.putResource(r)
    }
  },
  renderProperties(r) {
    const p = r.properties as { issuer: string; subject: string; audiences: string[] }
    return { issuer: p.issuer, subject: p.subject, audiences: p.audiences }
  },
  deleteStatus: { deleted: 200, absent: 204 },
  extraMembers: [],
  lowerCaseResourceGroupsInId: true,
})

/** `{scope}/providers/Microsoft.ManagedIdentity/identities/default`: the system-assigned identity of any host (§1.4). */
export const systemAssignedIdentity: ResourceType = {
  type: 'Microsoft.ManagedIdentity/identities',
  apiVersions: API_VERSIONS.managedIdentity,
  placement: 'extension',
  async get(ctx: Ctx, t) {
    if (t.name?.toLowerCase() !== 'default')
      throw new ArmError('ResourceNotFound', {
        type: 'Microsoft.ManagedIdentity/identities',
        name: t.name ?? '',
        resourceGroup: t.resourceGroup ?? '',
      })
    const host = await ctx.deps.store.getResource(t.parentScope)
    const sys = host?.identity?.system
    if (!host || !sys)
      throw new ArmError('ResourceNotFound', {
        type: 'Microsoft.ManagedIdentity/identities',
        name: 'default',
        resourceGroup: t.resourceGroup ?? '',
      })
    return {
      status: 200,
      body: {
        id: `${host.id}/providers/Microsoft.ManagedIdentity/identities/default`,
        name: host.name,
        type: 'Microsoft.ManagedIdentity/identities',
        location: host.location,
        tags: host.tags,
        properties: {
          tenantId: sys.tenantId,
          principalId: sys.principalId,
          clientId: sys.clientId,
          clientSecretUrl: `https://control-${host.location ?? 'westus'}.identity.azure.net${host.id}/credentials?tid=${sys.tenantId}&oid=${sys.principalId}&aid=${sys.clientId}`,
        },
      },
    }
  },
}

export const MANAGED_IDENTITY_TYPES: ResourceType[] = [
  userAssignedIdentities,
  federatedIdentityCredentials,
  systemAssignedIdentity,
]
