// Issue 3, "Speed": the RBAC index with 1,000,000 role assignments over 100,000 principals (build time, resident
// memory, authorization check time at 10k, 100k and 1M assignments), and ARM identity creation throughput on SQLite.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import {
  type BenchOptions,
  ROOT,
  type Section,
  WRK_SCRIPTS,
  type Window,
  azidJson,
  bootstrapToken,
  fmt,
  profileNotes,
  quietCheck,
  runWrk,
  startAzid,
  verdict,
  windowed,
  withCpu,
  wrkProblems,
} from './lib.ts'

interface IndexResult {
  params: { principals: number; perPrincipal: number; sizes: number[]; checks: number; rounds: number }
  generateMs: number
  buildMs: number
  rssMb: { start: number; generated: number; built: number; end: number }
  results: {
    assignments: number
    principals: number
    buildMs: number
    checks: number
    allowedPct: number
    medianUs: number
    p99Us: number
    p999Us: number
    maxUs: number
  }[]
}

function runIndexChild(params: Record<string, unknown>): Promise<IndexResult> {
  return new Promise((res, rej) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench', 'rbac-index.ts'), JSON.stringify(params)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('close', (code) => {
      if (code !== 0) return rej(new Error(`rbac-index exited ${code}:\n${err}`))
      try {
        res(JSON.parse(out.trim().split('\n').pop() as string) as IndexResult)
      } catch (e) {
        rej(new Error(`rbac-index printed no result: ${String(e)}\n${out}\n${err}`))
      }
    })
  })
}

const IDENTITY_API = '2023-01-31'
const CONNECTIONS = 16
const WRK_THREADS = 2

async function identityCreation(opts: BenchOptions) {
  const az = await startAzid({ ...(opts.profile ? { profileDir: join(opts.profileDir, 'rbac-arm-azid') } : {}) })
  try {
    const token = await bootstrapToken(az)
    const sub = `/subscriptions/${(await azidJson<{ value: { subscriptionId: string }[] }>(az, 'GET', '/subscriptions?api-version=2022-12-01', { token })).value[0]?.subscriptionId}`
    await azidJson(az, 'PUT', `${sub}/resourcegroups/bench?api-version=2022-09-01`, {
      token,
      body: { location: 'westus' },
    })
    const prefix = `${sub}/resourceGroups/bench/providers/Microsoft.ManagedIdentity/userAssignedIdentities/`
    const env = { IDENTITY_PREFIX: prefix, AUTHORIZATION: `Bearer ${token}` }
    const wrk = {
      url: az.base,
      threads: WRK_THREADS,
      connections: CONNECTIONS,
      script: join(WRK_SCRIPTS, 'create-identity.lua'),
    }
    if (opts.warmupS > 0) await runWrk({ ...wrk, durationS: opts.warmupS }, { ...env, RUN_ID: 'warm' })
    // One sustained run as long as all rounds of the other measurements together.
    const seconds = opts.durationS * opts.rounds
    const windows: Window[] = []
    const r = await windowed(windows, () =>
      withCpu(az.pid, () => runWrk({ ...wrk, durationS: seconds }, { ...env, RUN_ID: 'run' })),
    )
    opts.log(`  wrk identity PUT: ${fmt.rate(r.rps)} over ${seconds}s, p99 ${fmt.ms(r.latencyMs.p99)}`)
    // What was created is real: identities with their service principals, as many as wrk got 2xx answers for.
    const all: { name: string; properties: { principalId?: string } }[] = []
    let next: string | undefined = `${prefix.slice(0, -1)}?api-version=${IDENTITY_API}`
    while (next) {
      const page: { value: typeof all; nextLink?: string | null } = await azidJson(az, 'GET', next, { token })
      all.push(...page.value)
      next = page.nextLink ? page.nextLink.slice(new URL(page.nextLink).origin.length) : undefined
    }
    const created = all.filter((x) => x.name.startsWith('id-run-'))
    if (created.some((x) => !x.properties.principalId)) throw new Error('a created identity has no principalId')
    const profiles = await az.stop()
    return { run: r, seconds, profiles, windows, listed: created.length }
  } catch (e) {
    await az.stop()
    throw e
  }
}

export async function run(opts: BenchOptions): Promise<Section> {
  const notes: string[] = []
  await quietCheck(opts, notes)
  opts.log('rbac: 1,000,000 assignments over 100,000 principals (child process)')
  const idx = await runIndexChild({
    principals: 100_000,
    perPrincipal: 10,
    sizes: [10_000, 100_000, 1_000_000],
    checks: 50_000,
    rounds: opts.rounds,
  })
  opts.log(`  index build ${fmt.s(idx.buildMs / 1000)}, RSS ${idx.rssMb.built.toFixed(0)} MB`)
  opts.log('rbac: ARM identity creation on SQLite')
  const arm = await identityCreation(opts)

  const big = idx.results[idx.results.length - 1]
  const rows: Section['rows'] = [
    {
      metric: 'index build, 1M assignments (createAssignmentIndex)',
      value: fmt.s(idx.buildMs / 1000),
      target: '≤ 10 s',
      verdict: verdict(idx.buildMs / 1000, { atMost: 10 }),
    },
    {
      metric: 'RSS with 1M assignments indexed',
      value: `${idx.rssMb.built.toFixed(0)} MB`,
      target: '≤ 1,536 MB',
      verdict: verdict(idx.rssMb.built, { atMost: 1536 }),
    },
  ]
  for (const r of idx.results) {
    const label = r.assignments >= 1_000_000 ? `${r.assignments / 1_000_000}M` : `${r.assignments / 1000}k`
    rows.push(
      {
        metric: `check median, ${label} assignments`,
        value: fmt.us(r.medianUs),
        target: '≤ 20 µs',
        verdict: verdict(r.medianUs, { atMost: 20 }),
      },
      {
        metric: `check p99, ${label} assignments`,
        value: fmt.us(r.p99Us),
        target: '≤ 100 µs',
        verdict: verdict(r.p99Us, { atMost: 100 }),
      },
    )
  }
  const first = idx.results[0]
  if (first && big && first !== big)
    rows.push({
      metric: `check median growth ${first.assignments / 1000}k → ${big.assignments / 1_000_000}M`,
      value: fmt.ratio(big.medianUs / first.medianUs),
      target: 'flat (≈ 1×)',
    })
  rows.push({
    metric: 'ARM identity creation (PUT userAssignedIdentities, SQLite)',
    value: fmt.rate(arm.run.rps),
    target: '≥ 500/s',
    verdict: verdict(arm.run.rps, { atLeast: 500 }),
  })
  rows.push({ metric: '    identity PUT p99 latency', value: fmt.ms(arm.run.latencyMs.p99) })
  rows.push({ metric: '    azid CPU per identity created', value: fmt.cpu(arm.run.cpuMsPerRequest ?? Number.NaN) })

  notes.push(
    `assignments generated in memory (${fmt.s(idx.generateMs / 1000)}), principal-major: ${idx.params.perPrincipal} per principal, scopes drawn at random from 20 subscriptions × 50 resource groups × 100 resources (5% subscription, 25% group, 70% resource), roles drawn from the ${'36'} built-in roles; the 10k and 100k indexes are prefixes of the same data (same ${idx.params.perPrincipal} assignments per principal), built in ${idx.results.map((r) => `${fmt.s(r.buildMs / 1000)}`).join(' / ')}`,
    `RSS of the index process (VmRSS): ${idx.rssMb.start.toFixed(0)} MB at start, ${idx.rssMb.generated.toFixed(0)} MB with the assignment objects generated, ${idx.rssMb.built.toFixed(0)} MB once the 1M index is built (the assignment objects are what the index holds; a server holds them too)`,
    `checks: evaluate() timed one by one with process.hrtime.bigint(), ${idx.params.checks.toLocaleString('en-US')} per size and round, ${idx.params.rounds} interleaved rounds after a warm-up; half aimed at or below one of the caller's own assignments, half at a random resource; 8 actions (6 control-plane, 2 data); allowed ${idx.results.map((r) => `${r.allowedPct.toFixed(0)}%`).join(' / ')} (a denial scans all of the caller's assignments, the slower path); p99.9 ${idx.results.map((r) => fmt.us(r.p999Us)).join(' / ')}`,
    `identity creation: \`node bin/azid.js start\` on SQLite, bootstrap administrator (Owner) token, wrk -t${WRK_THREADS} -c${CONNECTIONS} for ${arm.seconds}s (one sustained run after a ${opts.warmupS}s warm-up) PUTting a new identity name each request; ${arm.listed.toLocaleString('en-US')} identities listed afterwards for ${arm.run.requests.toLocaleString('en-US')} requests, each with its service principal (one transaction per write)`,
  )
  const problems = wrkProblems([arm.run])
  if (problems) notes.push(`identity run: ${problems}`)
  if (opts.profile) notes.push(...profileNotes('azid (identity creation)', arm.profiles, arm.windows))
  return {
    title: 'RBAC and ARM (issue 3)',
    rows,
    notes,
    data: {
      index: idx,
      identityCreation: {
        rps: arm.run.rps,
        seconds: arm.seconds,
        latencyMs: arm.run.latencyMs,
        requests: arm.run.requests,
        non2xx: arm.run.non2xx,
      },
    },
  }
}
