// The import rules of docs/architecture.md §3, enforced by reading every import in src/. Zero dependencies.
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'

const SRC = resolve(import.meta.dirname, '..', 'src')

/** Which modules each module may import at run time (kernel is always allowed). */
const ALLOWED: Record<string, readonly string[]> = {
  kernel: [],
  config: [],
  rbac: [],
  directory: [],
  audit: [],
  keys: [],
  faults: ['audit'],
  auth: ['keys'],
  sts: ['keys', 'directory', 'audit'],
  mi: ['sts', 'directory', 'faults', 'audit'],
  arm: ['auth', 'rbac', 'directory', 'audit'],
  graph: ['auth', 'directory', 'audit'],
  dataplane: ['auth', 'rbac', 'audit'],
  netns: [],
  store: [],
  cli: ['netns'],
  ui: [],
  server: ['*'],
  '(root)': ['*'],
}

/** Modules that may import another module's types (never values) from its ports.ts / model.ts directly. */
const TYPE_ONLY_PORTS: readonly string[] = ['store']
/** Modules that may import anything as types only (they talk HTTP at run time). */
const TYPE_ONLY_ANY: readonly string[] = ['cli', 'ui']

function files(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...files(p))
    else if (/\.(ts|mts|mjs)$/.test(name) && !name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

const moduleOf = (file: string) => {
  const rel = relative(SRC, file).split('/')
  return rel.length === 1 ? '(root)' : (rel[0] as string)
}

interface Import {
  spec: string
  typeOnly: boolean
  line: number
}

function imports(source: string): Import[] {
  const out: Import[] = []
  const re = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm
  for (let m = re.exec(source); m; m = re.exec(source)) {
    out.push({ spec: m[3] as string, typeOnly: Boolean(m[2]), line: source.slice(0, m.index).split('\n').length })
  }
  for (const m of source.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    out.push({ spec: m[1] as string, typeOnly: false, line: source.slice(0, m.index).split('\n').length })
  }
  return out
}

test('every import in src/ follows the module rules (docs/architecture.md §3)', () => {
  const violations: string[] = []
  for (const file of files(SRC)) {
    const from = moduleOf(file)
    const rules = ALLOWED[from]
    if (!rules) {
      violations.push(
        `${relative(SRC, file)}: module '${from}' has no import rules; add it to test/architecture.test.ts and docs/architecture.md`,
      )
      continue
    }
    for (const imp of imports(readFileSync(file, 'utf8'))) {
      if (!imp.spec.startsWith('.')) continue
      const target = resolve(dirname(file), imp.spec)
      if (!target.startsWith(SRC)) continue
      const to = moduleOf(target)
      if (to === from || to === 'kernel') continue
      const where = `${relative(SRC, file)}:${imp.line} imports ${imp.spec}`
      const targetFile = relative(join(SRC, to), target)
      if (TYPE_ONLY_ANY.includes(from) && imp.typeOnly) continue
      if (TYPE_ONLY_PORTS.includes(from)) {
        if (imp.typeOnly && /^(ports|model)\.ts$/.test(targetFile)) continue
        violations.push(`${where}: store may only import other modules' ports.ts/model.ts, as types`)
        continue
      }
      if (!rules.includes('*') && !rules.includes(to)) {
        violations.push(`${where}: '${from}' may not import '${to}'`)
        continue
      }
      if (from !== 'server' && from !== '(root)' && targetFile !== 'index.ts')
        violations.push(`${where}: deep import; import '${to}/index.ts' instead`)
    }
  }
  assert.deepEqual(violations, [])
})

test('the rules catch a violation (the checker is not vacuous)', () => {
  const parsed = imports("import { x } from '../sts/service.ts'\nimport type { Y } from '../keys/ports.ts'\n")
  assert.deepEqual(
    parsed.map((i) => [i.spec, i.typeOnly]),
    [
      ['../sts/service.ts', false],
      ['../keys/ports.ts', true],
    ],
  )
  assert.ok(!(ALLOWED.directory ?? []).includes('sts'))
})

test('no Date.now(), new Date() or randomUUID() outside kernel/ (injected clock and ids)', () => {
  const offenders: string[] = []
  for (const file of files(SRC)) {
    const mod = moduleOf(file)
    if (mod === 'kernel' || mod === 'cli' || mod === '(root)' || file.endsWith('.mjs')) continue
    const src = readFileSync(file, 'utf8')
    src.split('\n').forEach((line, i) => {
      if (/Date\.now\(\)|new Date\(\)|randomUUID\(/.test(line))
        offenders.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`)
    })
  }
  assert.deepEqual(offenders, [])
})
