import { userDelegationKeyValue } from '../../kernel/storage-sas.ts'
import {
  XmlSyntaxError,
  badHeader,
  badQuery,
  checkChildName,
  checkConditions,
  intParam,
  isoSeconds,
  lastModified,
  metadataHeaders,
  notImplemented,
  parseIsoTime,
  parseMetadata,
  parseXml,
  parseXmlBody,
  readSmallBody,
  reply,
  storageError,
} from '../storage/index.ts'
import type { Ctx } from './context.ts'
import { blobError } from './errors.ts'
import type { ContainerRecord } from './ports.ts'
import { SERVICE_PROPERTIES_XML, listContainersXml, userDelegationKeyXml } from './wire.ts'

export const checkContainerName = (name: string) => checkChildName('container', name)

export async function containerOr404(c: Ctx): Promise<ContainerRecord> {
  const ct = await c.rt.deps.containers.getContainer(c.account.name, c.container as string)
  if (!ct) throw blobError('ContainerNotFound')
  return ct
}

const containerHeaders = (ct: ContainerRecord) => ({
  ETag: ct.etag,
  'Last-Modified': lastModified(ct.lastModified),
})

function publicAccessHeader(c: Ctx): ContainerRecord['publicAccess'] {
  const v = c.r.header('x-ms-blob-public-access')
  if (v === undefined || v === '') return 'None'
  if (v === 'container') return 'Container'
  if (v === 'blob') return 'Blob'
  throw badHeader('x-ms-blob-public-access', v)
}

export async function createContainer(c: Ctx): Promise<void> {
  const name = c.container as string
  const metadata = parseMetadata(c.req)
  const publicAccess = publicAccessHeader(c)
  if (publicAccess !== 'None' && !c.account.allowBlobPublicAccess) throw blobError('PublicAccessNotPermitted')
  if (c.rt.deleting.has(c.account.name, name)) throw blobError('ContainerBeingDeleted')
  const created = await c.rt.deps.containers.createContainer({
    account: c.account.name,
    name,
    metadata,
    publicAccess,
    createdBy: c.caller.kind === 'bearer' ? c.caller.token.principalId : null,
  })
  if (created === 'exists') throw blobError('ContainerAlreadyExists')
  reply(c, 201, containerHeaders(created))
}

export async function deleteContainer(
  c: Ctx,
  purge: (account: string, container: string) => Promise<void>,
): Promise<void> {
  const ct = await containerOr404(c)
  if (c.r.header('if-match') !== undefined || c.r.header('if-none-match') !== undefined)
    throw storageError('UnsupportedHeader', { details: [['HeaderName', 'If-Match/If-None-Match']] })
  checkConditions(c.r, { exists: true, etag: ct.etag, lastModified: ct.lastModified }, { read: false })
  await c.rt.deleting.during(c.account.name, ct.name, async () => {
    if (!(await c.rt.deps.containers.deleteContainer(c.account.name, ct.name))) throw blobError('ContainerNotFound')
    await purge(c.account.name, ct.name)
  })
  reply(c, 202)
}

export async function getContainerProperties(c: Ctx): Promise<void> {
  const ct = await containerOr404(c)
  checkConditions(c.r, { exists: true, etag: ct.etag, lastModified: ct.lastModified }, { read: false })
  reply(c, 200, {
    ...containerHeaders(ct),
    ...metadataHeaders(ct.metadata),
    'x-ms-lease-status': 'unlocked',
    'x-ms-lease-state': 'available',
    'x-ms-blob-public-access': ct.publicAccess === 'None' ? undefined : ct.publicAccess.toLowerCase(),
    'x-ms-has-immutability-policy': 'false',
    'x-ms-has-legal-hold': 'false',
    'x-ms-default-encryption-scope': '$account-encryption-key',
    'x-ms-deny-encryption-scope-override': 'false',
    'x-ms-immutable-storage-with-versioning-enabled': 'false',
  })
}

export async function setContainerMetadata(c: Ctx): Promise<void> {
  const ct = await containerOr404(c)
  checkConditions(c.r, { exists: true, etag: ct.etag, lastModified: ct.lastModified }, { read: false })
  const updated = await c.rt.deps.containers.updateContainer({
    account: c.account.name,
    name: ct.name,
    metadata: parseMetadata(c.req),
  })
  if (!updated) throw blobError('ContainerNotFound')
  reply(c, 200, containerHeaders(updated))
}

export async function getContainerAcl(c: Ctx): Promise<void> {
  const ct = await containerOr404(c)
  reply(
    c,
    200,
    {
      ...containerHeaders(ct),
      'Content-Type': 'application/xml',
      'x-ms-blob-public-access': ct.publicAccess === 'None' ? undefined : ct.publicAccess.toLowerCase(),
    },
    '<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers />',
  )
}

export async function setContainerAcl(c: Ctx): Promise<void> {
  const ct = await containerOr404(c)
  const body = await readSmallBody(c, 64 * 1024)
  if (body.trim() !== '') {
    let root: ReturnType<typeof parseXml>
    try {
      root = parseXml(body)
    } catch (e) {
      if (e instanceof XmlSyntaxError) throw storageError('InvalidXmlDocument', { detail: e.message })
      throw e
    }
    if (root.name !== 'SignedIdentifiers') throw storageError('InvalidXmlDocument', { detail: `root ${root.name}` })
    if (root.children.length > 0)
      throw notImplemented('stored access policies (Set Container ACL with SignedIdentifier)')
  }
  const publicAccess = publicAccessHeader(c)
  if (publicAccess !== 'None' && !c.account.allowBlobPublicAccess) throw blobError('PublicAccessNotPermitted')
  const updated = await c.rt.deps.containers.updateContainer({ account: c.account.name, name: ct.name, publicAccess })
  if (!updated) throw blobError('ContainerNotFound')
  reply(c, 200, containerHeaders(updated))
}

const INCLUDE_CONTAINERS = new Set(['metadata', 'deleted', 'system'])

export async function listContainers(c: Ctx): Promise<void> {
  const prefix = c.r.query.get('prefix')
  const marker = c.r.query.get('marker')
  const max = intParam(c.r, 'maxresults', { min: 1, max: 5000, dflt: 5000 })
  const include = (c.r.query.get('include') ?? '').split(',').filter((s) => s !== '')
  for (const i of include) if (!INCLUDE_CONTAINERS.has(i)) throw badQuery('include', i)
  const all = await c.rt.deps.containers.listContainers(c.account.name)
  const matching = all.filter((ct) => (!prefix || ct.name.startsWith(prefix)) && (!marker || ct.name >= marker))
  const page = matching.slice(0, max)
  const next = matching[max]?.name ?? ''
  reply(
    c,
    200,
    { 'Content-Type': 'application/xml' },
    listContainersXml({
      serviceEndpoint: c.serviceEndpoint,
      prefix,
      marker,
      maxResults: c.r.query.has('maxresults') ? max : undefined,
      containers: page,
      withMetadata: include.includes('metadata'),
      nextMarker: next,
    }),
  )
}

export function getServiceProperties(c: Ctx): void {
  reply(c, 200, { 'Content-Type': 'application/xml' }, SERVICE_PROPERTIES_XML)
}

export function getAccountInformation(c: Ctx): void {
  reply(c, 200, {
    'x-ms-sku-name': c.account.skuName,
    'x-ms-account-kind': c.account.kind,
    'x-ms-is-hns-enabled': String(c.account.isHnsEnabled),
  })
}

const MAX_DELEGATION_MS = 7 * 24 * 3600_000

/** Get User Delegation Key (api-shapes §6.4): bearer only, at most seven days. */
export async function getUserDelegationKey(c: Ctx): Promise<void> {
  if (c.caller.kind !== 'bearer')
    throw storageError('AuthorizationFailure', { detail: 'user delegation key without a token' })
  const root = parseXmlBody(await readSmallBody(c, 64 * 1024))
  if (root.name !== 'KeyInfo') throw storageError('InvalidXmlDocument', { detail: `root ${root.name}` })
  const text = (n: string) => root.children.find((x) => x.name === n)?.text.trim()
  const nodeError = (n: string, v: string) =>
    storageError('InvalidXmlNodeValue', {
      details: [
        ['XmlNodeName', n],
        ['XmlNodeValue', v],
      ],
    })
  const expiryText = text('Expiry')
  if (expiryText === undefined) throw storageError('MissingRequiredXmlNode', { details: [['XmlNodeName', 'Expiry']] })
  const now = c.rt.deps.clock.now()
  const startText = text('Start')
  const start = startText === undefined || startText === '' ? now : parseIsoTime(startText)
  const expiry = parseIsoTime(expiryText)
  if (Number.isNaN(start)) throw nodeError('Start', startText ?? '')
  if (Number.isNaN(expiry) || expiry <= start || expiry <= now || expiry - now > MAX_DELEGATION_MS)
    throw nodeError('Expiry', expiryText)
  const version = c.r.version ?? '2025-07-05'
  const fields = {
    signedOid: c.caller.token.principalId,
    signedTid: c.caller.token.tenantId,
    // SAS carry key times in whole seconds; the key is computed over exactly what the SAS will carry.
    signedStart: isoSeconds(start),
    signedExpiry: isoSeconds(expiry),
    signedService: 'b',
    signedVersion: version,
  }
  const value = userDelegationKeyValue(c.rt.deps.delegationSecret, fields).toString('base64')
  reply(
    c,
    200,
    { 'Content-Type': 'application/xml' },
    userDelegationKeyXml({
      oid: fields.signedOid,
      tid: fields.signedTid,
      start: fields.signedStart,
      expiry: fields.signedExpiry,
      version,
      value,
    }),
  )
}
