import {
  XML_DECL,
  bareEtag as bare,
  disabledMetricsXml as metrics,
  el,
  enumerationXml,
  httpDate,
  listingFields,
  metadataXml,
} from '../storage/index.ts'
import type { FileEntry, ShareRecord } from './ports.ts'

/** XML bodies of the File service, element order as the REST reference and the SDK deserialisers have them. */

export function listSharesXml(q: {
  serviceEndpoint: string
  prefix: string | undefined
  marker: string | undefined
  maxResults: number | undefined
  shares: readonly ShareRecord[]
  withMetadata: boolean
  nextMarker: string
}): string {
  const shares = q.shares
    .map(
      (s) =>
        `<Share>${el('Name', s.name)}<Properties>${el('Last-Modified', httpDate(s.lastModified))}${el(
          'Etag',
          bare(s.etag),
        )}${el('Quota', s.quota)}${el('AccessTier', s.accessTier)}<EnabledProtocols>SMB</EnabledProtocols><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState></Properties>${
          q.withMetadata ? metadataXml(s.metadata) : ''
        }</Share>`,
    )
    .join('')
  return enumerationXml({
    serviceEndpoint: q.serviceEndpoint,
    fields: listingFields(q),
    tag: 'Shares',
    items: shares,
    nextMarker: q.nextMarker,
  })
}

export interface ListInclude {
  timestamps: boolean
  etag: boolean
  attributes: boolean
  permissionKey: boolean
  /** `x-ms-file-extended-info: true`: file ids. */
  extended: boolean
}

function entryXml(e: FileEntry, inc: ListInclude): string {
  const tag = e.kind === 'directory' ? 'Directory' : 'File'
  const props: string[] = []
  if (e.kind === 'file') props.push(el('Content-Length', e.size))
  if (inc.timestamps)
    props.push(
      el('CreationTime', e.creationTime),
      el('LastAccessTime', e.lastWriteTime),
      el('LastWriteTime', e.lastWriteTime),
      el('ChangeTime', e.changeTime),
      el('Last-Modified', httpDate(e.modifiedAt)),
    )
  if (inc.etag) props.push(el('Etag', bare(e.etag)))
  return `<${tag}>${el('Name', e.name)}${inc.extended ? el('FileId', e.fileId) : ''}${
    props.length ? `<Properties>${props.join('')}</Properties>` : '<Properties />'
  }${inc.attributes ? el('Attributes', e.attributes) : ''}${
    inc.permissionKey ? el('PermissionKey', e.permissionKey) : ''
  }</${tag}>`
}

export function listEntriesXml(q: {
  serviceEndpoint: string
  share: string
  directoryPath: string
  directoryId: string | undefined
  prefix: string | undefined
  marker: string | undefined
  maxResults: number | undefined
  entries: readonly FileEntry[]
  include: ListInclude
  nextMarker: string
}): string {
  return enumerationXml({
    serviceEndpoint: q.serviceEndpoint,
    attributes: [
      ['ShareName', q.share],
      ['DirectoryPath', q.directoryPath],
    ],
    // This listing has Marker before Prefix.
    fields: `${q.marker !== undefined ? el('Marker', q.marker) : ''}${q.prefix !== undefined ? el('Prefix', q.prefix) : ''}${
      q.maxResults !== undefined ? el('MaxResults', q.maxResults) : ''
    }${q.directoryId !== undefined ? el('DirectoryId', q.directoryId) : ''}`,
    tag: 'Entries',
    items: q.entries.map((e) => entryXml(e, q.include)).join(''),
    nextMarker: q.nextMarker,
  })
}

export function rangesXml(ranges: readonly { start: number; end: number }[]): string {
  return `${XML_DECL}<Ranges>${ranges
    .map((r) => `<Range>${el('Start', r.start)}${el('End', r.end)}</Range>`)
    .join('')}</Ranges>`
}

export const EMPTY_HANDLES_XML = `${XML_DECL}<EnumerationResults><Entries /><NextMarker /></EnumerationResults>`

export const shareStatsXml = (bytes: number) => `${XML_DECL}<ShareStats>${el('ShareUsageBytes', bytes)}</ShareStats>`

export const EMPTY_ACL_XML = `${XML_DECL}<SignedIdentifiers />`

/** File service properties: metrics, CORS and share soft delete all off (azid has none), SMB defaults. */
export const FILE_SERVICE_PROPERTIES_XML = `${XML_DECL}<StorageServiceProperties>${metrics('HourMetrics')}${metrics(
  'MinuteMetrics',
)}<Cors /><ShareDeleteRetentionPolicy><Enabled>false</Enabled></ShareDeleteRetentionPolicy><ProtocolSettings><SMB><Multichannel><Enabled>false</Enabled></Multichannel></SMB></ProtocolSettings></StorageServiceProperties>`
