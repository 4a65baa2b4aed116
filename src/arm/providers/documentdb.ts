import { API_VERSIONS } from '../api-versions.ts'
import type { ArmResult, Ctx } from '../context.ts'
import { ArmError } from '../errors.ts'
import type { Resource } from '../model.ts'
import type { ResourceType, Target } from '../registry.ts'
import { notFound, resourceType } from './common.ts'

export const DATABASE_ACCOUNT_TYPE = 'Microsoft.DocumentDB/databaseAccounts'

const NAME = /^(?=.{3,44}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/

interface CosmosKeys {
  primaryMasterKey: string
  secondaryMasterKey: string
  primaryReadonlyMasterKey: string
  secondaryReadonlyMasterKey: string
}

const hiddenKeys = (r: Resource) => (r.properties as { __keys?: CosmosKeys }).__keys

async function account(ctx: Ctx, t: Target): Promise<Resource> {
  const r = await ctx.deps.store.getResource(t.id)
  if (!r || r.type.toLowerCase() !== DATABASE_ACCOUNT_TYPE.toLowerCase()) throw notFound(t, DATABASE_ACCOUNT_TYPE)
  return r
}

async function listKeys(ctx: Ctx, t: Target): Promise<ArmResult> {
  const k = hiddenKeys(await account(ctx, t))
  return { status: 200, body: { ...k } }
}

async function readOnlyKeys(ctx: Ctx, t: Target): Promise<ArmResult> {
  const k = hiddenKeys(await account(ctx, t))
  return {
    status: 200,
    body: {
      primaryReadonlyMasterKey: k?.primaryReadonlyMasterKey,
      secondaryReadonlyMasterKey: k?.secondaryReadonlyMasterKey,
    },
  }
}

/**
 * `Microsoft.DocumentDB/databaseAccounts`: the account and its keys, for the Cosmos DB tutorial (seed 003): a
 * managed identity reads `listKeys` (DocumentDB Account Contributor) or `readonlykeys` (Cosmos DB Account Reader
 * Role) from ARM. azid has no Cosmos DB data plane (docs/deviations.md).
 */
export const databaseAccounts = resourceType({
  type: DATABASE_ACCOUNT_TYPE,
  apiVersions: API_VERSIONS.documentDb,
  placement: 'resourceGroup',
  listBySubscription: true,
  identity: {},
  locationRequired: true,
  validateName(name) {
    if (!NAME.test(name)) throw new ArmError('DatabaseAccountNameInvalid', { name })
  },
  prepareProperties(_ctx, q) {
    const p = { ...q.properties }
    for (const k of ['provisioningState', 'documentEndpoint', 'writeLocations', 'readLocations', '__keys']) delete p[k]
    const keys = q.existing ? hiddenKeys(q.existing) : undefined
    return {
      ...p,
      databaseAccountOfferType: p.databaseAccountOfferType ?? 'Standard',
      ...(keys ? { __keys: keys } : {}),
    }
  },
  async afterWrite(ctx, tx, r, created) {
    if (!created) return
    const same = (await tx.listResources({ type: DATABASE_ACCOUNT_TYPE, name: r.name })).filter((x) => x.id !== r.id)
    if (same.length > 0) throw new ArmError('DatabaseAccountAlreadyExists', { name: r.name })
    const key = () => ctx.deps.ids.bytes(64).toString('base64')
    r.properties = {
      ...r.properties,
      __keys: {
        primaryMasterKey: key(),
        secondaryMasterKey: key(),
        primaryReadonlyMasterKey: key(),
        secondaryReadonlyMasterKey: key(),
      } satisfies CosmosKeys,
    }
    if (!r.extra.kind) r.extra.kind = 'GlobalDocumentDB'
    await tx.putResource(r)
  },
  renderProperties(r) {
    const { __keys: _k, ...p } = r.properties as Record<string, unknown>
    const loc = {
      id: `${r.name}-${r.location}`,
      locationName: r.location,
      documentEndpoint: `https://${r.name}-${r.location}.documents.azure.com:443/`,
      provisioningState: 'Succeeded',
      failoverPriority: 0,
      isZoneRedundant: false,
    }
    return {
      ...p,
      provisioningState: 'Succeeded',
      documentEndpoint: `https://${r.name}.documents.azure.com:443/`,
      writeLocations: [loc],
      readLocations: [loc],
      locations: [loc],
      consistencyPolicy: p.consistencyPolicy ?? {
        defaultConsistencyLevel: 'Session',
        maxIntervalInSeconds: 5,
        maxStalenessPrefix: 100,
      },
    }
  },
  actions: {
    listkeys: listKeys,
    readonlykeys: readOnlyKeys,
    listreadonlykeys: readOnlyKeys,
  },
})

export const DOCUMENTDB_TYPES: ResourceType[] = [databaseAccounts]
