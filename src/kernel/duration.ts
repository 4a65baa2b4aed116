const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses `90`, `90s`, `15m`, `1h`, `7d` (a bare number is seconds) into milliseconds. */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v * 1000
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(v)
  if (!m) throw new TypeError(`invalid duration: ${v}`)
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000))
}
