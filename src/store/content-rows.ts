// What the Blob and File stores (storage-store.ts, files-store.ts) share: the columns of a blob's or file's HTTP
// properties, prefix ranges in binary order, and paging by a composite key.
import type { ExpressionBuilder, ExpressionWrapper, SqlBool, StringReference } from 'kysely'
import type { ContentProperties } from '../dataplane/ports.ts'

/** The columns of ContentProperties (metadata as JSON text). */
export interface ContentColumns {
  content_type: string | null
  content_encoding: string | null
  content_language: string | null
  content_disposition: string | null
  cache_control: string | null
  content_md5: string | null
  metadata: string
}

/** Their names, for listings that select columns one by one. */
export const CONTENT_COLUMNS = [
  'content_type',
  'content_encoding',
  'content_language',
  'content_disposition',
  'cache_control',
  'content_md5',
  'metadata',
] as const

export const contentColumns = (p: ContentProperties): ContentColumns => ({
  content_type: p.contentType,
  content_encoding: p.contentEncoding,
  content_language: p.contentLanguage,
  content_disposition: p.contentDisposition,
  cache_control: p.cacheControl,
  content_md5: p.contentMd5,
  metadata: JSON.stringify(p.metadata),
})

export const contentProperties = (r: ContentColumns): ContentProperties => ({
  contentType: r.content_type,
  contentEncoding: r.content_encoding,
  contentLanguage: r.content_language,
  contentDisposition: r.content_disposition,
  cacheControl: r.cache_control,
  contentMd5: r.content_md5,
  metadata: JSON.parse(r.metadata) as Record<string, string>,
})

/** The smallest string after every string with this prefix (binary order), or undefined when there is none. */
export function successor(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i)
    if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1)
  }
  return undefined
}

/** Rows after `last` in the order of `columns` (a composite key): `a > x OR (a = x AND b > y) OR …`. */
export function afterKey<DB, TB extends keyof DB, K extends StringReference<DB, TB>>(
  eb: ExpressionBuilder<DB, TB>,
  columns: readonly K[],
  last: Record<K, string>,
): ExpressionWrapper<DB, TB, SqlBool> {
  // The key columns are text: their values compare as strings (the casts only tell Kysely so).
  const cmp = (c: K, op: '=' | '>') => eb(c, op, last[c] as never)
  return eb.or(columns.map((c, i) => eb.and([...columns.slice(0, i).map((p) => cmp(p, '=')), cmp(c, '>')])))
}

/** Reads a table page by page (`page` gets the last row of the previous page) until a page is short. */
export async function forEachPage<R>(
  size: number,
  page: (last: R | undefined) => Promise<R[]>,
  each: (row: R) => void,
): Promise<void> {
  let last: R | undefined
  for (;;) {
    const rows = await page(last)
    for (const r of rows) each(r)
    last = rows.at(-1)
    if (!last || rows.length < size) return
  }
}
