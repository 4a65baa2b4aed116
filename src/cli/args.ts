/** A small argv parser: `--flag value`, `--flag=value`, `-x value`, repeated flags, and positionals. */
export interface ParsedArgs {
  positionals: string[]
  flags: Map<string, string[]>
}

export class UsageError extends Error {
  override name = 'UsageError'
}

export function parseArgs(
  argv: readonly string[],
  spec: { booleans?: readonly string[]; aliases?: Record<string, string> } = {},
): ParsedArgs {
  const booleans = new Set(spec.booleans ?? [])
  const aliases = spec.aliases ?? {}
  const positionals: string[] = []
  const flags = new Map<string, string[]>()
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v])
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2)) {
      let name = a.startsWith('--') ? a.slice(2) : (aliases[a.slice(1)] ?? a.slice(1))
      let value: string | undefined
      const eq = name.indexOf('=')
      if (eq >= 0) {
        value = name.slice(eq + 1)
        name = name.slice(0, eq)
      }
      if (booleans.has(name)) {
        add(name, value ?? 'true')
        continue
      }
      if (value === undefined) {
        const next = argv[i + 1]
        if (next === undefined || (next.startsWith('-') && next.length > 1))
          throw new UsageError(`--${name} needs a value`)
        value = next
        i++
      }
      add(name, value)
    } else positionals.push(a)
  }
  return { positionals, flags }
}

export const flag = (p: ParsedArgs, name: string): string | undefined => p.flags.get(name)?.at(-1)
export const has = (p: ParsedArgs, name: string): boolean => p.flags.get(name)?.at(-1) === 'true'

export function rejectUnknown(p: ParsedArgs, known: readonly string[]): void {
  for (const k of p.flags.keys()) if (!known.includes(k)) throw new UsageError(`unknown flag --${k}`)
}
