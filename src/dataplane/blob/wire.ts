import {
  DISABLED_RETENTION_XML,
  XML_DECL,
  bareEtag as bare,
  disabledMetricsXml as metrics,
  el,
  enumerationXml,
  httpDate,
  listingFields,
  metadataXml,
} from '../storage/index.ts'
import type { BlobRecord, ContainerRecord, UncommittedBlock } from './ports.ts'

/** XML bodies of the Blob service, element order as the REST reference and the SDK deserialisers have them. */

export function containerXml(c: ContainerRecord, withMetadata: boolean): string {
  return `<Container>${el('Name', c.name)}<Properties>${el('Last-Modified', httpDate(c.lastModified))}${el(
    'Etag',
    bare(c.etag),
  )}<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>${
    c.publicAccess === 'None' ? '' : el('PublicAccess', c.publicAccess.toLowerCase())
  }<DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope><DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride><HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold><ImmutableStorageWithVersioningEnabled>false</ImmutableStorageWithVersioningEnabled></Properties>${
    withMetadata ? metadataXml(c.metadata) : ''
  }</Container>`
}

export function listContainersXml(q: {
  serviceEndpoint: string
  prefix: string | undefined
  marker: string | undefined
  maxResults: number | undefined
  containers: readonly ContainerRecord[]
  withMetadata: boolean
  nextMarker: string
}): string {
  return enumerationXml({
    serviceEndpoint: q.serviceEndpoint,
    fields: listingFields(q),
    tag: 'Containers',
    items: q.containers.map((c) => containerXml(c, q.withMetadata)).join(''),
    nextMarker: q.nextMarker,
  })
}

export function blobXml(b: BlobRecord, q: { metadata: boolean; copy: boolean }): string {
  const p = [
    el('Creation-Time', httpDate(b.createdAt)),
    el('Last-Modified', httpDate(b.modifiedAt)),
    el('Etag', bare(b.etag)),
    el('Content-Length', b.size),
    el('Content-Type', b.contentType ?? ''),
    el('Content-Encoding', b.contentEncoding ?? ''),
    el('Content-Language', b.contentLanguage ?? ''),
    el('Content-MD5', b.contentMd5 ?? ''),
    el('Cache-Control', b.cacheControl ?? ''),
    el('Content-Disposition', b.contentDisposition ?? ''),
    '<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>',
    '<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>',
  ]
  if (q.copy && b.copy)
    p.push(
      el('CopyId', b.copy.id),
      el('CopySource', b.copy.source),
      el('CopyStatus', b.copy.status),
      el('CopyProgress', b.copy.progress),
      el('CopyCompletionTime', httpDate(b.copy.completedAt)),
    )
  return `<Blob>${el('Name', b.name)}<Properties>${p.join('')}</Properties>${q.metadata ? metadataXml(b.metadata) : ''}</Blob>`
}

export type ListItem = { kind: 'blob'; blob: BlobRecord } | { kind: 'prefix'; name: string }

export function listBlobsXml(q: {
  serviceEndpoint: string
  container: string
  prefix: string | undefined
  marker: string | undefined
  maxResults: number | undefined
  delimiter: string | undefined
  items: readonly ListItem[]
  metadata: boolean
  copy: boolean
  nextMarker: string
}): string {
  const items = q.items
    .map((i) => (i.kind === 'blob' ? blobXml(i.blob, q) : `<BlobPrefix>${el('Name', i.name)}</BlobPrefix>`))
    .join('')
  return enumerationXml({
    serviceEndpoint: q.serviceEndpoint,
    attributes: [['ContainerName', q.container]],
    fields: `${listingFields(q)}${q.delimiter !== undefined ? el('Delimiter', q.delimiter) : ''}`,
    tag: 'Blobs',
    items,
    nextMarker: q.nextMarker,
  })
}

const blocksXml = (tag: string, blocks: readonly { id: string | null; size: number }[]) =>
  `<${tag}>${blocks
    .filter((b) => b.id !== null)
    .map((b) => `<Block>${el('Name', b.id)}${el('Size', b.size)}</Block>`)
    .join('')}</${tag}>`

export function blockListXml(q: {
  committed: readonly { id: string | null; size: number }[] | null
  uncommitted: readonly UncommittedBlock[] | null
}): string {
  return `${XML_DECL}<BlockList>${q.committed ? blocksXml('CommittedBlocks', q.committed) : ''}${
    q.uncommitted ? blocksXml('UncommittedBlocks', q.uncommitted) : ''
  }</BlockList>`
}

export function userDelegationKeyXml(k: {
  oid: string
  tid: string
  start: string
  expiry: string
  version: string
  value: string
}): string {
  return `${XML_DECL}<UserDelegationKey>${el('SignedOid', k.oid)}${el('SignedTid', k.tid)}${el('SignedStart', k.start)}${el(
    'SignedExpiry',
    k.expiry,
  )}${el('SignedService', 'b')}${el('SignedVersion', k.version)}${el('Value', k.value)}</UserDelegationKey>`
}

/** Blob service properties: logging, metrics, CORS, soft delete and static websites all off (azid has none). */
export const SERVICE_PROPERTIES_XML = `${XML_DECL}<StorageServiceProperties><Logging><Version>1.0</Version><Read>false</Read><Write>false</Write><Delete>false</Delete>${DISABLED_RETENTION_XML}</Logging>${metrics(
  'HourMetrics',
)}${metrics('MinuteMetrics')}<Cors /><DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy><StaticWebsite><Enabled>false</Enabled></StaticWebsite></StorageServiceProperties>`
