import { parseResourceId } from '../../kernel/resource-id.ts'
import {
  SAS_VERSION,
  accountSasStringToSign,
  sasQuery,
  sasTime,
  serviceSasStringToSign,
  signSas,
} from '../../kernel/storage-sas.ts'
import { API_VERSIONS } from '../api-versions.ts'
import type { ArmResult, Ctx } from '../context.ts'
import { ArmError } from '../errors.ts'
import type { Resource } from '../model.ts'
import type { ResourceType, Target } from '../registry.ts'
import { armTime } from '../wire.ts'
import { notFound, resourceType } from './common.ts'

export const STORAGE_ACCOUNT_TYPE = 'Microsoft.Storage/storageAccounts'

export interface StorageKey {
  keyName: 'key1' | 'key2'
  value: string
  creationTime: number
}

/** Account keys live with the account (hidden from responses); listKeys shows them. */
export const accountKeys = (r: Resource): StorageKey[] => (r.properties as { __keys?: StorageKey[] }).__keys ?? []

const newKey = (ctx: Ctx) => ctx.deps.ids.bytes(64).toString('base64')

const keysBody = (r: Resource) => ({
  keys: accountKeys(r).map((k) => ({
    creationTime: armTime(k.creationTime),
    keyName: k.keyName,
    value: k.value,
    permissions: 'FULL',
  })),
})

async function accountOr404(ctx: Ctx, t: Target): Promise<Resource> {
  const r = await ctx.deps.store.getResource(t.id)
  if (!r || r.type.toLowerCase() !== STORAGE_ACCOUNT_TYPE.toLowerCase()) throw notFound(t, STORAGE_ACCOUNT_TYPE)
  return r
}

function keyFor(r: Resource, name: unknown): StorageKey {
  const keys = accountKeys(r)
  const k = keys.find((x) => x.keyName === (typeof name === 'string' && name !== '' ? name : 'key1'))
  if (!k)
    throw new ArmError('InvalidParameter', { message: `The keyName '${String(name)}' is not valid. Use key1 or key2.` })
  return k
}

const str = (v: unknown) => (typeof v === 'string' ? v : '')

/** listServiceSas (api-shapes §6.2): a service SAS for the resource named in `canonicalizedResource`. */
async function listServiceSas(ctx: Ctx, t: Target): Promise<ArmResult> {
  const r = await accountOr404(ctx, t)
  const b = (ctx.req.body ?? {}) as Record<string, unknown>
  const canonicalizedResource = str(b.canonicalizedResource)
  const m = /^\/(blob|file)\/([^/]+)(\/.*)?$/.exec(canonicalizedResource)
  if (!m || m[2] !== r.name)
    throw new ArmError('InvalidParameter', {
      message: `canonicalizedResource must be '/blob/${r.name}/<container>[/<blob>]' or '/file/${r.name}/<share>[/<path>]'.`,
    })
  const service = m[1] as 'blob' | 'file'
  const permissions = str(b.signedPermission)
  if (!permissions) throw new ArmError('InvalidParameter', { message: "The property 'signedPermission' is required." })
  if (!/^r?a?c?w?d?x?y?l?t?f?m?e?i?o?p?$/.test(permissions))
    // Storage insists on the canonical order racwdxyltfmeiop (INC-012: "Order is important").
    throw new ArmError('InvalidParameter', {
      message: `The value '${permissions}' of signedPermission is not valid; permissions must be given in the order racwdxyltfmeiop.`,
    })
  if (!b.signedExpiry) throw new ArmError('InvalidParameter', { message: "The property 'signedExpiry' is required." })
  const resource = str(b.signedResource) || (service === 'blob' ? 'c' : 's')
  const fields = {
    version: SAS_VERSION,
    permissions,
    start: sasTime(str(b.signedStart)),
    expiry: sasTime(str(b.signedExpiry)),
    canonicalizedResource,
    identifier: str(b.signedIdentifier),
    ip: str(b.signedIp),
    protocol: str(b.signedProtocol),
    resource,
    snapshotTime: '',
    encryptionScope: '',
    cacheControl: str(b.rscc),
    contentDisposition: str(b.rscd),
    contentEncoding: str(b.rsce),
    contentLanguage: str(b.rscl),
    contentType: str(b.rsct),
  }
  const sig = signSas(keyFor(r, b.keyToSign).value, serviceSasStringToSign(service, fields))
  return {
    status: 200,
    body: {
      serviceSasToken: sasQuery([
        ['sv', fields.version],
        ['st', fields.start],
        ['se', fields.expiry],
        ['sr', resource],
        ['sp', permissions],
        ['sip', fields.ip],
        ['spr', fields.protocol],
        ['si', fields.identifier],
        ['rscc', fields.cacheControl],
        ['rscd', fields.contentDisposition],
        ['rsce', fields.contentEncoding],
        ['rscl', fields.contentLanguage],
        ['rsct', fields.contentType],
        ['sig', sig],
      ]),
    },
  }
}

/** listAccountSas (api-shapes §6.3). */
async function listAccountSas(ctx: Ctx, t: Target): Promise<ArmResult> {
  const r = await accountOr404(ctx, t)
  const b = (ctx.req.body ?? {}) as Record<string, unknown>
  for (const k of ['signedServices', 'signedResourceTypes', 'signedPermission', 'signedExpiry'])
    if (!str(b[k])) throw new ArmError('InvalidParameter', { message: `The property '${k}' is required.` })
  const fields = {
    account: r.name,
    version: SAS_VERSION,
    permissions: str(b.signedPermission),
    services: str(b.signedServices),
    resourceTypes: str(b.signedResourceTypes),
    start: sasTime(str(b.signedStart)),
    expiry: sasTime(str(b.signedExpiry)),
    ip: str(b.signedIp),
    protocol: str(b.signedProtocol),
    encryptionScope: '',
  }
  const sig = signSas(keyFor(r, b.keyToSign).value, accountSasStringToSign(fields))
  return {
    status: 200,
    body: {
      accountSasToken: sasQuery([
        ['sv', fields.version],
        ['ss', fields.services],
        ['srt', fields.resourceTypes],
        ['sp', fields.permissions],
        ['st', fields.start],
        ['se', fields.expiry],
        ['sip', fields.ip],
        ['spr', fields.protocol],
        ['sig', sig],
      ]),
    },
  }
}

export const storageAccounts = resourceType({
  type: STORAGE_ACCOUNT_TYPE,
  apiVersions: API_VERSIONS.storage,
  placement: 'resourceGroup',
  listBySubscription: true,
  identity: {},
  locationRequired: true,
  validateName(name) {
    if (!/^[a-z0-9]{3,24}$/.test(name)) throw new ArmError('AccountNameInvalid', { name })
  },
  prepareProperties(_ctx, q) {
    const props = { ...q.properties }
    for (const k of [
      'provisioningState',
      'primaryEndpoints',
      'creationTime',
      'primaryLocation',
      'statusOfPrimary',
      '__keys',
    ])
      delete props[k]
    const keys = (q.existing?.properties as { __keys?: StorageKey[] } | undefined)?.__keys
    return keys ? { ...props, __keys: keys } : props
  },
  async afterWrite(ctx, tx, r, created) {
    if (!created) return
    // Account names are global in Azure: one name, one account (StorageAccountAlreadyTaken).
    const same = (await tx.listResources({ type: STORAGE_ACCOUNT_TYPE, name: r.name })).filter((x) => x.id !== r.id)
    if (same.length > 0) throw new ArmError('StorageAccountAlreadyTaken', { name: r.name })
    const now = ctx.deps.clock.now()
    r.properties = {
      ...r.properties,
      __keys: [
        { keyName: 'key1', value: newKey(ctx), creationTime: now },
        { keyName: 'key2', value: newKey(ctx), creationTime: now },
      ],
    }
    if (!r.extra.kind) r.extra.kind = 'StorageV2'
    if (!r.extra.sku) r.extra.sku = { name: 'Standard_LRS', tier: 'Standard' }
    await tx.putResource(r)
  },
  renderProperties(r) {
    const { __keys: _k, ...props } = r.properties as Record<string, unknown>
    const base = (svc: string) => `https://${r.name}.${svc}.core.windows.net/`
    return {
      ...props,
      provisioningState: 'Succeeded',
      creationTime: armTime(r.createdAt),
      primaryLocation: r.location,
      statusOfPrimary: 'available',
      primaryEndpoints: {
        blob: base('blob'),
        queue: base('queue'),
        table: base('table'),
        file: base('file'),
        dfs: base('dfs'),
        web: `https://${r.name}.z13.web.core.windows.net/`,
      },
      accessTier: props.accessTier ?? 'Hot',
      supportsHttpsTrafficOnly: props.supportsHttpsTrafficOnly ?? true,
      minimumTlsVersion: props.minimumTlsVersion ?? 'TLS1_2',
      allowBlobPublicAccess: props.allowBlobPublicAccess ?? false,
      encryption: props.encryption ?? {
        services: { blob: { enabled: true, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' } },
        keySource: 'Microsoft.Storage',
      },
    }
  },
  actions: {
    async listkeys(ctx, t) {
      return { status: 200, body: keysBody(await accountOr404(ctx, t)) }
    },
    async regeneratekey(ctx, t) {
      const b = (ctx.req.body ?? {}) as { keyName?: unknown }
      const updated = await ctx.deps.store.transaction(async (tx) => {
        const r = await tx.getResource(t.id, { forUpdate: true })
        if (!r) throw notFound(t, STORAGE_ACCOUNT_TYPE)
        const k = keyFor(r, b.keyName)
        const keys = accountKeys(r).map((x) =>
          x.keyName === k.keyName ? { ...x, value: newKey(ctx), creationTime: ctx.deps.clock.now() } : x,
        )
        r.properties = { ...r.properties, __keys: keys }
        r.etag = `"${ctx.deps.ids.uuid()}"`
        await tx.putResource(r)
        return r
      })
      ctx.deps.hooks.storageKeysChanged?.(updated.name)
      return { status: 200, body: keysBody(updated) }
    },
    listservicesas: listServiceSas,
    listaccountsas: listAccountSas,
  },
})

/** `…/storageAccounts/a/blobServices/default/containers/c` → the account. */
const accountOf = (childId: string) => childId.replace(/\/(blobServices|fileServices)\/[^/]+\/[^/]+(\/[^/]+)?$/i, '')

function checkDefault(t: Target): void {
  const p = parseResourceId(t.id)
  const seg = p.providers.at(-1)?.types[1]
  if (seg && seg[1] !== undefined && seg[1].toLowerCase() !== 'default')
    throw new ArmError('InvalidResourceName', { name: seg[1], rule: "The service name must be 'default'." })
}

export const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/

export const blobContainers = resourceType({
  type: `${STORAGE_ACCOUNT_TYPE}/blobServices/containers`,
  apiVersions: API_VERSIONS.storage,
  placement: 'child',
  locationRequired: false,
  parentOf: accountOf,
  validateName(name, t) {
    checkDefault(t)
    if (!CONTAINER_NAME.test(name))
      throw new ArmError('InvalidResourceName', {
        name,
        rule: 'Container names must be 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.',
      })
  },
  prepareProperties(_ctx, q) {
    const p = q.properties
    const access = p.publicAccess ?? 'None'
    if (!['None', 'Blob', 'Container'].includes(String(access)))
      throw new ArmError('InvalidParameter', { message: "publicAccess must be 'None', 'Blob' or 'Container'." })
    return { publicAccess: access, metadata: p.metadata ?? {} }
  },
  renderProperties: (r) => ({
    ...r.properties,
    leaseStatus: 'Unlocked',
    leaseState: 'Available',
    lastModifiedTime: armTime(r.updatedAt),
    hasImmutabilityPolicy: false,
    hasLegalHold: false,
    deleted: false,
    remainingRetentionDays: 0,
  }),
  extraMembers: [],
})

export const fileShares = resourceType({
  type: `${STORAGE_ACCOUNT_TYPE}/fileServices/shares`,
  apiVersions: API_VERSIONS.storage,
  placement: 'child',
  locationRequired: false,
  parentOf: accountOf,
  validateName(name, t) {
    checkDefault(t)
    if (!CONTAINER_NAME.test(name))
      throw new ArmError('InvalidResourceName', {
        name,
        rule: 'Share names must be 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.',
      })
  },
  prepareProperties(_ctx, q) {
    const quota = q.properties.shareQuota ?? 5120
    if (!Number.isInteger(quota) || (quota as number) < 1 || (quota as number) > 102400)
      throw new ArmError('InvalidParameter', { message: 'shareQuota must be between 1 and 102400 GiB.' })
    return {
      shareQuota: quota,
      metadata: q.properties.metadata ?? {},
      accessTier: q.properties.accessTier ?? 'TransactionOptimized',
      enabledProtocols: 'SMB',
    }
  },
  renderProperties: (r) => ({
    ...r.properties,
    lastModifiedTime: armTime(r.updatedAt),
    deleted: false,
    remainingRetentionDays: 0,
  }),
  extraMembers: [],
})

export const STORAGE_TYPES: ResourceType[] = [storageAccounts, blobContainers, fileShares]
