/** Renders rows as az does: json (default for objects), table, or tsv. */
export type OutputFormat = 'json' | 'table' | 'tsv'

export function formatRows(
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  format: OutputFormat,
): string {
  if (format === 'json') return JSON.stringify(rows, null, 2)
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
  if (format === 'tsv') return rows.map((r) => columns.map((c) => cell(r[c])).join('\t')).join('\n')
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)))
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  const head = columns.map((c) => c.charAt(0).toUpperCase() + c.slice(1))
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => cell(r[c])))),
  ].join('\n')
}
