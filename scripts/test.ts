// Runs the test tiers with node:test. `npm test` runs everything; `npm test -- unit integration` picks tiers;
// `npm test -- path/to/file.test.ts` runs files. Skipped tests are listed at the end; with
// AZID_REQUIRE_ALL_TIERS=1 (set by .ci/run) any skip fails the run.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')

function walk(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out.sort()
}

const TIERS: Record<string, () => string[]> = {
  unit: () => [
    ...walk(join(ROOT, 'src')).filter((f) => !f.includes('/store/contract/')),
    join(ROOT, 'test/architecture.test.ts'),
  ],
  contract: () => walk(join(ROOT, 'src/store/contract')),
  integration: () => walk(join(ROOT, 'test/integration')),
  conformance: () => walk(join(ROOT, 'test/conformance')),
  cli: () => walk(join(ROOT, 'test/cli')),
  portal: () => walk(join(ROOT, 'test/portal')).filter(Boolean),
}

function safeTier(name: string): string[] {
  try {
    return TIERS[name]?.() ?? []
  } catch {
    return []
  }
}

const args = process.argv.slice(2)
let files: string[] = []
if (args.length === 0) files = Object.keys(TIERS).flatMap(safeTier)
else
  for (const a of args) {
    if (TIERS[a]) files.push(...safeTier(a))
    else files.push(resolve(a))
  }

const concurrency = process.env.AZID_TEST_CONCURRENCY ?? '2'
const started = Date.now()
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } },
)
let out = ''
child.stdout.on('data', (d: Buffer) => {
  process.stdout.write(d)
  out += d.toString('utf8')
})
child.on('close', (code) => {
  const skipped = out.split('\n').filter((l) => /# SKIP|﹣|- skipped/i.test(l) || /\(.*\) # SKIP/.test(l))
  const skipCount = Number(/ℹ skipped (\d+)/.exec(out)?.[1] ?? 0)
  const secs = ((Date.now() - started) / 1000).toFixed(0)
  process.stdout.write(`\n${files.length} test files in ${secs} s (${relative(ROOT, ROOT) || '.'})\n`)
  if (skipCount > 0) {
    process.stdout.write(`\n*** ${skipCount} test(s) SKIPPED — tiers whose tools are missing:\n${skipped.join('\n')}\n`)
    if (process.env.AZID_REQUIRE_ALL_TIERS === '1') {
      process.stdout.write('*** AZID_REQUIRE_ALL_TIERS=1: skipped tests fail the run\n')
      process.exit(1)
    }
  }
  process.exit(code ?? 1)
})
