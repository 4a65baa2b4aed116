/**
 * A small argv parser: `--flag value`, `--flag=value`, `-x value`, repeated flags, flags that take several values
 * (`--identities a b c`, az's nargs), flags whose value is optional (`--assign-identity [ids…]`), and positionals.
 */
export interface ParsedArgs {
  positionals: string[]
  flags: Map<string, string[]>
}

export class UsageError extends Error {
  override name = 'UsageError'
}

export interface ArgSpec {
  /** Flags without a value. */
  booleans?: readonly string[]
  /** Flags that take zero or more values: every following token up to the next flag. */
  multi?: readonly string[]
  /** Short names: `{ g: 'resource-group' }`. */
  aliases?: Record<string, string>
  /** When given, any other flag is refused at once (before it can swallow the next token as its value). */
  known?: readonly string[]
}

const isFlag = (t: string) => (t.startsWith('--') && t.length > 2) || /^-[a-zA-Z]$/.test(t)

export function parseArgs(argv: readonly string[], spec: ArgSpec = {}): ParsedArgs {
  const booleans = new Set(spec.booleans ?? [])
  const multi = new Set(spec.multi ?? [])
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
    if (isFlag(a)) {
      let name = a.startsWith('--') ? a.slice(2) : (aliases[a.slice(1)] ?? a.slice(1))
      let value: string | undefined
      const eq = name.indexOf('=')
      if (eq >= 0) {
        value = name.slice(eq + 1)
        name = name.slice(0, eq)
      }
      if (a.startsWith('--') && aliases[name] && name.length === 1) name = aliases[name] as string
      if (spec.known && !spec.known.includes(name))
        throw new UsageError(`unrecognized arguments: ${a.split('=')[0]} (see 'azid help')`)
      if (booleans.has(name)) {
        add(name, value ?? 'true')
        continue
      }
      if (multi.has(name)) {
        if (!flags.has(name)) flags.set(name, [])
        if (value !== undefined) add(name, value)
        else
          while (i + 1 < argv.length && !isFlag(argv[i + 1] as string) && argv[i + 1] !== '--')
            add(name, argv[++i] as string)
        continue
      }
      if (value === undefined) {
        const next = argv[i + 1]
        if (next === undefined || isFlag(next)) throw new UsageError(`argument --${name}: expected one argument`)
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
export const present = (p: ParsedArgs, name: string): boolean => p.flags.has(name)
export const values = (p: ParsedArgs, name: string): string[] => p.flags.get(name) ?? []

export function rejectUnknown(p: ParsedArgs, known: readonly string[]): void {
  for (const k of p.flags.keys())
    if (!known.includes(k)) throw new UsageError(`unrecognized arguments: --${k} (see 'azid help')`)
}

/** The value of a required flag, or a usage error naming it. */
export function need(p: ParsedArgs, name: string, usage: string): string {
  const v = flag(p, name)
  if (v === undefined || v === '')
    throw new UsageError(`the following arguments are required: --${name} (usage: ${usage})`)
  return v
}
