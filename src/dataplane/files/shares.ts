import {
  XmlSyntaxError,
  badHeader,
  checkChildName,
  checkConditions,
  includeParam,
  intParam,
  lastModified,
  metadataHeaders,
  missingHeader,
  notImplemented,
  parseMetadata,
  parseXml,
  readSmallBody,
  reply,
  storageError,
} from '../storage/index.ts'
import type { Ctx } from './context.ts'
import { fileError } from './errors.ts'
import type { ShareRecord } from './ports.ts'
import { DEFAULT_PERMISSION_KEY, DEFAULT_SDDL, checkSddl, permissionKeyOf } from './smb.ts'
import { EMPTY_ACL_XML, FILE_SERVICE_PROPERTIES_XML, listSharesXml, shareStatsXml } from './wire.ts'

const ACCESS_TIERS = ['TransactionOptimized', 'Hot', 'Cool', 'Premium']
const MAX_QUOTA_GIB = 102_400
const MAX_PERMISSION_BODY = 64 * 1024
const INCLUDE_SHARES = new Set(['metadata', 'snapshots', 'deleted'])

export const checkShareName = (name: string) => checkChildName('share', name)

export async function shareOr404(c: Ctx): Promise<ShareRecord> {
  const s = await c.rt.deps.shares.getShare(c.account.name, c.share as string)
  if (!s) throw fileError('ShareNotFound')
  return s
}

const shareHeaders = (s: ShareRecord) => ({ ETag: s.etag, 'Last-Modified': lastModified(s.lastModified) })

function quotaHeader(c: Ctx): number | undefined {
  const v = c.r.header('x-ms-share-quota')
  if (v === undefined) return undefined
  if (!/^\d{1,6}$/.test(v) || Number(v) < 1 || Number(v) > MAX_QUOTA_GIB) throw badHeader('x-ms-share-quota', v)
  return Number(v)
}

function tierHeader(c: Ctx): string | undefined {
  const v = c.r.header('x-ms-access-tier')
  if (v === undefined) return undefined
  const t = ACCESS_TIERS.find((x) => x.toLowerCase() === v.toLowerCase())
  if (!t) throw badHeader('x-ms-access-tier', v)
  return t
}

/** Share features azid does not have: refused, never ignored. */
function refuseShareFeatures(c: Ctx): void {
  const protocols = c.r.header('x-ms-enabled-protocols')
  if (protocols !== undefined && protocols.toUpperCase() !== 'SMB') throw notImplemented(`${protocols} shares`)
  for (const h of [
    'x-ms-root-squash',
    'x-ms-lease-id',
    'x-ms-share-provisioned-iops',
    'x-ms-share-provisioned-bandwidth-mibps',
  ])
    if (c.r.header(h) !== undefined) throw notImplemented(`the ${h} header`)
}

export function getServiceProperties(c: Ctx): void {
  reply(c, 200, { 'Content-Type': 'application/xml' }, FILE_SERVICE_PROPERTIES_XML)
}

/** List Shares: prefix, marker / NextMarker (the name to resume at), maxresults (≤ 5000), include=metadata. */
export async function listShares(c: Ctx): Promise<void> {
  const q = c.r.query
  const prefix = q.get('prefix') ?? ''
  const marker = q.get('marker')
  const max = intParam(c.r, 'maxresults', { min: 1, max: 5000, dflt: 5000 })
  const include = includeParam(c.r, INCLUDE_SHARES)
  const all = (await c.rt.deps.shares.listShares(c.account.name)).filter(
    (s) => s.name.startsWith(prefix) && (!marker || s.name >= marker),
  )
  const page = all.slice(0, max)
  reply(
    c,
    200,
    { 'Content-Type': 'application/xml' },
    listSharesXml({
      serviceEndpoint: c.serviceEndpoint,
      prefix: q.get('prefix'),
      marker,
      maxResults: q.has('maxresults') ? max : undefined,
      shares: page,
      withMetadata: include.includes('metadata'),
      nextMarker: all[max]?.name ?? '',
    }),
  )
}

export async function createShare(c: Ctx): Promise<void> {
  refuseShareFeatures(c)
  const name = c.share as string
  const metadata = parseMetadata(c.req)
  const quota = quotaHeader(c) ?? 5120
  const accessTier = tierHeader(c) ?? 'TransactionOptimized'
  if (c.rt.deleting.has(c.account.name, name)) throw fileError('ShareBeingDeleted')
  const created = await c.rt.deps.shares.createShare({
    account: c.account.name,
    name,
    metadata,
    quota,
    accessTier,
    createdBy: null,
  })
  if (created === 'exists') throw fileError('ShareAlreadyExists')
  reply(c, 201, shareHeaders(created))
}

export async function getShareProperties(c: Ctx): Promise<void> {
  const s = await shareOr404(c)
  reply(c, 200, {
    ...shareHeaders(s),
    ...metadataHeaders(s.metadata),
    'x-ms-share-quota': s.quota,
    'x-ms-access-tier': s.accessTier,
    'x-ms-enabled-protocols': 'SMB',
    'x-ms-lease-status': 'unlocked',
    'x-ms-lease-state': 'available',
  })
}

export async function deleteShare(c: Ctx, purge: (account: string, share: string) => Promise<void>): Promise<void> {
  const s = await shareOr404(c)
  const snapshots = c.r.header('x-ms-delete-snapshots')
  if (snapshots !== undefined && snapshots !== 'include' && snapshots !== 'include-leased')
    throw badHeader('x-ms-delete-snapshots', snapshots)
  checkConditions(c.r, { exists: true, etag: s.etag, lastModified: s.lastModified }, { read: false })
  await c.rt.deleting.during(c.account.name, s.name, async () => {
    if (!(await c.rt.deps.shares.deleteShare(c.account.name, s.name))) throw fileError('ShareNotFound')
    await purge(c.account.name, s.name)
  })
  reply(c, 202)
}

export async function setShareMetadata(c: Ctx): Promise<void> {
  await shareOr404(c)
  const updated = await c.rt.deps.shares.updateShare({
    account: c.account.name,
    name: c.share as string,
    metadata: parseMetadata(c.req),
  })
  if (!updated) throw fileError('ShareNotFound')
  reply(c, 200, shareHeaders(updated))
}

export async function setShareProperties(c: Ctx): Promise<void> {
  refuseShareFeatures(c)
  await shareOr404(c)
  const quota = quotaHeader(c)
  const accessTier = tierHeader(c)
  const updated = await c.rt.deps.shares.updateShare({
    account: c.account.name,
    name: c.share as string,
    ...(quota !== undefined ? { quota } : {}),
    ...(accessTier !== undefined ? { accessTier } : {}),
  })
  if (!updated) throw fileError('ShareNotFound')
  reply(c, 200, shareHeaders(updated))
}

export async function getShareAcl(c: Ctx): Promise<void> {
  const s = await shareOr404(c)
  reply(c, 200, { ...shareHeaders(s), 'Content-Type': 'application/xml' }, EMPTY_ACL_XML)
}

/** Set Share ACL: stored access policies are not kept by azid, so only an empty list is accepted. */
export async function setShareAcl(c: Ctx): Promise<void> {
  const s = await shareOr404(c)
  const body = await readSmallBody(c, 64 * 1024)
  if (body.trim() !== '') {
    let root: ReturnType<typeof parseXml>
    try {
      root = parseXml(body)
    } catch (e) {
      if (e instanceof XmlSyntaxError) throw storageError('InvalidXmlDocument', { details: [['Reason', e.message]] })
      throw e
    }
    if (root.name !== 'SignedIdentifiers') throw storageError('InvalidXmlDocument', { detail: `root ${root.name}` })
    if (root.children.length > 0) throw notImplemented('stored access policies (Set Share ACL with identifiers)')
  }
  reply(c, 200, shareHeaders(s))
}

export async function getShareStats(c: Ctx): Promise<void> {
  const s = await shareOr404(c)
  const bytes = await c.rt.deps.store.usage({ account: c.account.name, share: s.name })
  reply(c, 200, { ...shareHeaders(s), 'Content-Type': 'application/xml' }, shareStatsXml(bytes))
}

/** Create Permission: `{"permission": "<SDDL>"}` → `x-ms-file-permission-key`. */
export async function createPermission(c: Ctx): Promise<void> {
  await shareOr404(c)
  const format = c.r.header('x-ms-file-permission-format')
  const body = await readSmallBody(c, MAX_PERMISSION_BODY)
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw storageError('InvalidInput', { detail: 'Create Permission body is not JSON' })
  }
  const p = parsed as { permission?: unknown; format?: unknown }
  const fmt = typeof p.format === 'string' ? p.format : format
  if (fmt !== undefined && fmt.toLowerCase() !== 'sddl') throw notImplemented(`permission format ${fmt}`)
  if (typeof p.permission !== 'string') throw storageError('InvalidInput', { detail: 'permission missing' })
  const sddl = checkSddl(p.permission)
  const key = permissionKeyOf(sddl)
  await c.rt.deps.store.putPermission({ account: c.account.name, share: c.share as string, key, sddl })
  reply(c, 201, { 'x-ms-file-permission-key': key })
}

export async function getPermission(c: Ctx): Promise<void> {
  await shareOr404(c)
  const key = c.r.header('x-ms-file-permission-key')
  if (key === undefined) throw missingHeader('x-ms-file-permission-key')
  const format = c.r.header('x-ms-file-permission-format')
  if (format !== undefined && format.toLowerCase() !== 'sddl') throw notImplemented(`permission format ${format}`)
  const sddl =
    key === DEFAULT_PERMISSION_KEY
      ? DEFAULT_SDDL
      : await c.rt.deps.store.getPermission({ account: c.account.name, share: c.share as string, key })
  if (sddl === undefined) throw fileError('FileInvalidPermissionKey')
  reply(c, 200, { 'Content-Type': 'application/json; charset=utf-8' }, JSON.stringify({ permission: sddl }))
}
