import { type Config, ConfigSchema, SECRET_PATHS } from './schema.ts'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json }
type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function merge(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = isObj(v) && isObj(out[k]) ? merge(out[k] as Obj, v) : v
  return out
}

function deepFreeze<T>(o: T): T {
  if (isObj(o) || Array.isArray(o)) {
    for (const v of Object.values(o as object)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

const norm = (s: string) => s.toLowerCase().replaceAll('_', '').replaceAll('-', '')

/**
 * Finds the schema key path for `AZID_LISTEN__HTTPS_PORT` → ['listen', 'httpsPort'], case- and underscore-blind,
 * and whether the setting is a plain string (its text is then never coerced to a number or boolean).
 */
function schemaPath(segments: string[]): { path: string[]; isString: boolean } | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: walking zod's runtime shape
  let shape: any = ConfigSchema.shape
  // biome-ignore lint/suspicious/noExplicitAny: walking zod's runtime shape
  let leaf: any
  const path: string[] = []
  for (const seg of segments) {
    if (!shape) return undefined
    const key = Object.keys(shape).find((k) => norm(k) === norm(seg))
    if (!key) return undefined
    path.push(key)
    // biome-ignore lint/suspicious/noExplicitAny: unwrapping default/prefault/optional wrappers
    let t: any = shape[key]
    while (t?.def && (t.def.type === 'default' || t.def.type === 'prefault' || t.def.type === 'optional'))
      t = t.def.innerType
    leaf = t
    shape = t?.def?.type === 'object' ? t.shape : undefined
  }
  return { path, isString: leaf?.def?.type === 'string' }
}

function coerce(raw: string): Json {
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw)
  if (raw === 'true' || raw === 'false') return raw === 'true'
  return raw
}

function setPath(target: Obj, path: string[], value: unknown): void {
  let o = target
  for (const k of path.slice(0, -1)) {
    if (!isObj(o[k])) o[k] = {}
    o = o[k] as Obj
  }
  o[path[path.length - 1] as string] = value
}

/**
 * `AZID_*` variables that are not settings: read by the CLI, the launcher (bin/azid.js), the test runner and the
 * benchmarks. They are skipped, not rejected, so that a shell that exports them can still start azid.
 */
const TOOL_VARIABLES = new Set([
  'AZID_CONFIG',
  'AZID_ADMIN_KEY',
  'AZID_RUN_FROM_SOURCE',
  'AZID_DEBUG_BUILD',
  'AZID_BIN',
])
const isToolVariable = (name: string) =>
  TOOL_VARIABLES.has(name) || name.startsWith('AZID_TEST_') || name === 'AZID_REQUIRE_ALL_TIERS'

export interface LoadConfigInput {
  /** Environment variables (only `AZID_*` are read). */
  env?: Readonly<Record<string, string | undefined>>
  /** Parsed contents of a config file (JSON or YAML already decoded). */
  file?: unknown
  /** Settings from command-line flags, as dotted paths: `{ 'listen.httpsPort': 0, dataDir: '/tmp/x' }`. */
  flags?: Readonly<Record<string, unknown>>
}

/**
 * Builds the configuration: defaults < file < env (`AZID_SECTION__KEY`) < flags, validated and deep-frozen.
 * Pure: the caller reads files and process state.
 */
export function loadConfig(input: LoadConfigInput = {}): Config {
  let merged: Obj = {}
  if (input.file !== undefined) {
    if (!isObj(input.file)) throw new ConfigError('config file: expected an object at the top level')
    merged = merge(merged, input.file)
  }
  const fromEnv: Obj = {}
  for (const [name, value] of Object.entries(input.env ?? {})) {
    if (!name.startsWith('AZID_') || value === undefined || isToolVariable(name)) continue
    const found = schemaPath(name.slice(5).split('__'))
    if (!found) throw new ConfigError(`environment variable ${name} does not name a setting`)
    setPath(fromEnv, found.path, found.isString ? value : coerce(value))
  }
  merged = merge(merged, fromEnv)
  const fromFlags: Obj = {}
  for (const [dotted, value] of Object.entries(input.flags ?? {})) {
    if (value === undefined) continue
    const found = schemaPath(dotted.split('.'))
    if (!found) throw new ConfigError(`--set ${dotted}: no such setting`)
    setPath(fromFlags, found.path, typeof value === 'string' && !found.isString ? coerce(value) : value)
  }
  merged = merge(merged, fromFlags)
  const parsed = ConfigSchema.safeParse(merged)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    const where = first?.path.join('.') || '(top level)'
    throw new ConfigError(`invalid configuration at ${where}: ${first?.message ?? 'invalid'}`)
  }
  return deepFreeze(parsed.data)
}

/** A copy of the configuration with secret values replaced, for printing. */
export function redactConfig(config: Config): unknown {
  const copy = JSON.parse(JSON.stringify(config)) as Obj
  for (const p of SECRET_PATHS) {
    const parts = p.split('.')
    let o: unknown = copy
    for (const k of parts.slice(0, -1)) o = isObj(o) ? o[k] : undefined
    const last = parts[parts.length - 1] as string
    if (isObj(o) && typeof o[last] === 'string') {
      const v = o[last] as string
      o[last] = p === 'store.dsn' ? v.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@') : '***'
    }
  }
  return copy
}
