import { badQuery, includeParam, intParam, notImplemented, reply, storageError } from '../storage/index.ts'
import { containerOr404 } from './containers.ts'
import type { Ctx } from './context.ts'
import { type ListItem, listBlobsXml } from './wire.ts'

/** include= values of List Blobs: the ones azid renders, and those whose features azid does not have (so none exist). */
const RENDERED = new Set(['metadata', 'copy'])
const NOTHING_TO_SHOW = new Set([
  'snapshots',
  'deleted',
  'versions',
  'deletedwithversions',
  'tags',
  'immutabilitypolicy',
  'legalhold',
  'permissions',
])

/** The smallest string greater than every string starting with `p` (binary order). */
const after = (p: string): string => p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1)

/**
 * List Blobs: prefix, delimiter (BlobPrefix), marker / NextMarker (the name to resume at), maxresults (≤ 5000),
 * include=metadata,copy. Prefix groups are skipped in one query each, so a delimiter listing costs one query per
 * group, not one per blob.
 */
export async function listBlobs(c: Ctx): Promise<void> {
  await containerOr404(c)
  const q = c.r.query
  const prefix = q.get('prefix') ?? ''
  const delimiter = q.get('delimiter')
  const marker = q.get('marker')
  const max = intParam(c.r, 'maxresults', { min: 1, max: 5000, dflt: 5000 })
  const include = includeParam(c.r)
  for (const i of include) {
    if (i === 'uncommittedblobs') throw notImplemented('include=uncommittedblobs')
    if (!RENDERED.has(i) && !NOTHING_TO_SHOW.has(i)) throw badQuery('include', i)
  }
  if (q.has('showonly')) throw notImplemented('showonly=')
  if (delimiter === '') throw badQuery('delimiter', '')
  const items: ListItem[] = []
  let nextMarker = ''
  let from: string | undefined = marker || undefined
  let afterName: string | undefined
  const store = c.rt.deps.store
  outer: for (;;) {
    const want = Math.min(5000, max - items.length + 1)
    const rows = await store.listBlobs({
      account: c.account.name,
      container: c.container as string,
      ...(from !== undefined ? { from } : {}),
      ...(afterName !== undefined ? { after: afterName } : {}),
      ...(prefix ? { prefix } : {}),
      limit: want,
      withBlocks: false,
    })
    for (const row of rows) {
      if (items.length === max) {
        nextMarker = row.name
        break outer
      }
      if (delimiter) {
        const cut = row.name.indexOf(delimiter, prefix.length)
        if (cut >= 0) {
          const group = row.name.slice(0, cut + delimiter.length)
          items.push({ kind: 'prefix', name: group })
          from = after(group)
          afterName = undefined
          continue outer
        }
      }
      items.push({ kind: 'blob', blob: row })
      afterName = row.name
      from = undefined
    }
    if (rows.length < want) break
  }
  if (items.length > max) throw storageError('InternalError', { detail: 'listing overflow' })
  reply(
    c,
    200,
    { 'Content-Type': 'application/xml' },
    listBlobsXml({
      serviceEndpoint: c.serviceEndpoint,
      container: c.container as string,
      prefix: q.get('prefix'),
      marker,
      maxResults: q.has('maxresults') ? max : undefined,
      delimiter,
      items,
      metadata: include.includes('metadata'),
      copy: include.includes('copy'),
      nextMarker,
    }),
  )
}
