/**
 * Output as az prints it: `--output json|jsonc|yaml|table|tsv|none` after an optional JMESPath `--query`.
 * JSON keys are sorted (az's `sort_keys`); table is az's automatic table (top-level scalars, keys sorted, id/type/etag
 * skipped, first letter capitalised) unless the command has a table transformer and no query is given; tsv writes the
 * scalar values of each row tab-separated (nested objects skipped), booleans as true/false.
 */
import jmespath from 'jmespath'
import { UsageError } from './args.ts'
import { yaml } from './yaml.ts'

export type OutputFormat = 'json' | 'jsonc' | 'yaml' | 'table' | 'tsv' | 'none'
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['json', 'jsonc', 'yaml', 'table', 'tsv', 'none']

export function parseOutput(v: string | undefined, fallback: OutputFormat): OutputFormat {
  const o = v ?? fallback
  if (!(OUTPUT_FORMATS as readonly string[]).includes(o))
    throw new UsageError(`argument --output/-o: invalid choice '${o}' (choose from ${OUTPUT_FORMATS.join(', ')})`)
  return o as OutputFormat
}

export function applyQuery(data: unknown, query: string | undefined): unknown {
  if (query === undefined) return data
  try {
    return jmespath.search(data as never, query)
  } catch (e) {
    throw new UsageError(`argument --query: invalid JMESPath query '${query}': ${(e as Error).message}`)
  }
}

export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    )
  return v
}

const C = { key: '\x1b[94m', str: '\x1b[32m', num: '\x1b[36m', lit: '\x1b[95m', off: '\x1b[0m' }

/** JSON with ANSI colours (az's jsonc). */
function colour(json: string): string {
  return json.replace(
    /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g,
    (m, str: string | undefined, colon: string | undefined, lit: string | undefined, num: string | undefined) => {
      if (str !== undefined) return colon ? `${C.key}${str}${C.off}${colon}` : `${C.str}${str}${C.off}`
      if (lit !== undefined) return `${C.lit}${lit}${C.off}`
      if (num !== undefined) return `${C.num}${num}${C.off}`
      return m
    },
  )
}

const SKIP_KEYS = new Set(['id', 'type', 'etag'])
const cap = (k: string) => (k ? k.charAt(0).toUpperCase() + k.slice(1) : k)
const scalar = (v: unknown) => v === null || typeof v !== 'object'

/** One row of az's automatic table. */
function autoRow(item: unknown, sortKeysToo: boolean): Record<string, unknown> {
  if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
    const o = item as Record<string, unknown>
    const keys = sortKeysToo ? Object.keys(o).sort() : Object.keys(o)
    const row: Record<string, unknown> = {}
    for (const k of keys)
      if (!SKIP_KEYS.has(k) && o[k] !== null && o[k] !== undefined && scalar(o[k])) row[cap(k)] = o[k]
    return row
  }
  if (Array.isArray(item)) return Object.fromEntries(item.map((v, i) => [`Column${i + 1}`, v]))
  return { Result: item }
}

const cell = (v: unknown) =>
  v === null || v === undefined ? '' : typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v)

/** tabulate's "simple" format, as az prints tables: each column at least its header plus two wide. */
export function renderTable(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return ''
  const cols: string[] = []
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k)
  if (cols.length === 0) return ''
  const widths = cols.map((c) => Math.max(c.length + 2, ...rows.map((r) => cell(r[c]).length)))
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ')
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))]
    .map((l) => l.trimEnd())
    .join('\n')
}

function tsvValue(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (Array.isArray(v)) return String(v.length)
  if (typeof v === 'object') return ''
  return String(v)
}

function tsvRow(item: unknown): string {
  if (Array.isArray(item)) return item.map(tsvValue).join('\t')
  if (item !== null && typeof item === 'object')
    return Object.keys(item as object)
      .sort()
      .map((k) => (item as Record<string, unknown>)[k])
      .filter((v) => v === null || v === undefined || typeof v !== 'object')
      .map(tsvValue)
      .join('\t')
  return tsvValue(item)
}

export interface EmitOptions {
  format: OutputFormat
  query?: string | undefined
  /** az's table transformer for this command (used when no query is given). */
  table?: (data: unknown) => Record<string, unknown>[]
  colour?: boolean
}

/** The text to print for a command's result (undefined prints nothing, as az for a delete). */
export function render(data: unknown, o: EmitOptions): string | undefined {
  if (data === undefined) return undefined
  const result = applyQuery(data, o.query)
  switch (o.format) {
    case 'none':
      return undefined
    case 'json':
      return JSON.stringify(sortKeys(result), null, 2)
    case 'jsonc': {
      const s = JSON.stringify(sortKeys(result), null, 2)
      return o.colour === false ? s : colour(s)
    }
    case 'yaml':
      return yaml().stringify(sortKeys(result)).trimEnd()
    case 'tsv': {
      if (result === null || result === undefined) return ''
      const items = Array.isArray(result) ? result : [result]
      return items.map(tsvRow).join('\n')
    }
    case 'table': {
      if (result === null || result === undefined) return ''
      if (o.table && o.query === undefined) return renderTable(o.table(result))
      const items = Array.isArray(result) ? result : [result]
      return renderTable(items.map((i) => autoRow(i, o.query === undefined)))
    }
  }
}

/** Rows with fixed columns (the pre-existing admin commands). */
export function formatRows(
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  format: OutputFormat,
): string {
  if (format === 'json' || format === 'jsonc' || format === 'yaml' || format === 'none')
    return render(rows, { format, colour: false }) ?? ''
  if (format === 'tsv') return rows.map((r) => columns.map((c) => tsvValue(r[c])).join('\t')).join('\n')
  return renderTable(rows.map((r) => Object.fromEntries(columns.map((c) => [cap(c), r[c]]))))
}
