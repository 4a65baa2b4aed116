// `npm run bench [-- NAME...] [--duration S] [--warmup S] [--profile] [--json FILE] [--markdown]`
// Runs the benchmarks (all, or the ones named: sts, rbac, imds) and prints a table per benchmark with absolute
// numbers, the baseline measured in the same run, the ratio and the issue's target. Measures; never asserts.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type BenchOptions,
  ROOT,
  type Section,
  machineBusy,
  machineFacts,
  markdownSection,
  printSection,
} from './lib.ts'

const BENCHES: Record<string, () => Promise<{ run(o: BenchOptions): Promise<Section> }>> = {
  sts: () => import('./sts.ts'),
  rbac: () => import('./rbac.ts'),
  imds: () => import('./imds.ts'),
  blob: () => import('./blob.ts'),
}

const USAGE = `Usage: npm run bench -- [${Object.keys(BENCHES).join('|')}]... [options]
  --duration S   seconds of each measured slice (default 5)
  --rounds N     interleaved rounds of subject and baselines; results are medians (default 3)
  --warmup S     seconds of warm-up load before measuring (default 3)
  --wait-quiet   before each benchmark, wait (up to 10 minutes) until other processes leave the machine idle
  --profile      run azid servers under node --cpu-prof and summarise the top frames
  --json FILE    also write the results as JSON
  --markdown     also print the tables as Markdown (for docs/performance.md)`

function parse(argv: string[]) {
  const names: string[] = []
  const o = { durationS: 5, rounds: 3, warmupS: 3, waitQuiet: false, profile: false, json: '', markdown: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--duration') o.durationS = Number(value())
    else if (a === '--rounds') o.rounds = Number(value())
    else if (a === '--warmup') o.warmupS = Number(value())
    else if (a === '--profile') o.profile = true
    else if (a === '--wait-quiet') o.waitQuiet = true
    else if (a === '--json') o.json = value()
    else if (a === '--markdown') o.markdown = true
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    } else if (a in BENCHES) names.push(a)
    else throw new Error(`unknown argument '${a}'\n${USAGE}`)
  }
  if (!(o.durationS > 0) || !(o.warmupS >= 0) || !Number.isInteger(o.rounds) || o.rounds < 1)
    throw new Error('--duration must be > 0, --warmup ≥ 0 and --rounds a positive integer')
  return { names: names.length ? names : Object.keys(BENCHES), ...o }
}

async function waitQuiet(log: (l: string) => void) {
  const until = Date.now() + 10 * 60_000
  for (;;) {
    const busy = await machineBusy(3000)
    if (busy < 0.1) return
    if (Date.now() > until) {
      log(`machine still ${(busy * 100).toFixed(0)}% busy after 10 minutes; running anyway`)
      return
    }
    log(`machine ${(busy * 100).toFixed(0)}% busy with other processes; waiting`)
    await new Promise((r) => setTimeout(r, 10_000))
  }
}

async function main() {
  const args = parse(process.argv.slice(2))
  const facts = machineFacts()
  const startedAt = new Date()
  const log = (l: string) => process.stderr.write(`${l}\n`)
  log(
    `azid benchmarks ${startedAt.toISOString()} — ${Object.entries(facts)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  )
  const profileDir = join(ROOT, 'bench', 'profiles', startedAt.toISOString().replace(/[:.]/g, '-'))
  if (args.profile) mkdirSync(profileDir, { recursive: true })
  const opts: BenchOptions = {
    durationS: args.durationS,
    rounds: args.rounds,
    warmupS: args.warmupS,
    profile: args.profile,
    profileDir,
    log,
  }
  const sections: Section[] = []
  for (const name of args.names) {
    if (args.waitQuiet) await waitQuiet(log)
    const mod = await (BENCHES[name] as () => Promise<{ run(o: BenchOptions): Promise<Section> }>)()
    const s = await mod.run(opts)
    sections.push(s)
    printSection(s)
  }
  if (args.markdown) {
    process.stdout.write('\n')
    for (const s of sections) process.stdout.write(`${markdownSection(s)}\n\n`)
  }
  if (args.json)
    writeFileSync(
      args.json,
      `${JSON.stringify({ startedAt: startedAt.toISOString(), machine: facts, options: { durationS: args.durationS, rounds: args.rounds, warmupS: args.warmupS }, sections }, null, 2)}\n`,
    )
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  },
)
