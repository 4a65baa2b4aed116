// Shared pieces of the benchmarks: result tables, wrk, child servers (azid and baselines), RSS, CPU profiles.
// Benchmarks measure; they never assert. Every ratio compares numbers taken in the same run on the same machine.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { loadConfig } from '../src/config/index.ts'
import { httpsRequest } from '../test/support/https.ts'

export const ROOT = resolve(import.meta.dirname, '..')
export const AZID_BIN = join(ROOT, 'bin', 'azid.js')

// -- options and results

export interface BenchOptions {
  /** Seconds of each measured slice (one wrk run, one signing run, …). */
  durationS: number
  /**
   * Rounds of interleaved measurements: each round measures the subject and its baselines one after the other (in a
   * rotating order), so that a noisy machine slows both; results are medians over rounds.
   */
  rounds: number
  /** Seconds of the warm-up before each measured run. */
  warmupS: number
  /** Write a CPU profile of each azid server process (node --cpu-prof) and summarise it. */
  profile: boolean
  /** Where profiles go. */
  profileDir: string
  /** Print progress lines. */
  log: (line: string) => void
}

export interface Row {
  metric: string
  value: string
  /** The baseline the value is compared with, as measured in this run. */
  baseline?: string
  ratio?: string
  target?: string
  /** 'pass' | 'MISS' | '' (informational rows). */
  verdict?: string
}

export interface Section {
  title: string
  rows: Row[]
  notes: string[]
  /** Machine-readable numbers for --json. */
  data: Record<string, unknown>
}

export const fmt = {
  rate: (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`,
  ms: (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`,
  us: (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} µs`,
  mb: (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`,
  s: (n: number) => `${n.toFixed(2)} s`,
  ratio: (n: number) => `${n.toFixed(2)}×`,
  /** CPU time per request: µs below 1 ms. */
  cpu: (ms: number) => (ms < 1 ? `${Math.round(ms * 1000)} µs` : `${ms.toFixed(2)} ms`),
}

/** 'pass' when `value` meets the target (`atLeast` or `atMost`), else 'MISS'. */
export function verdict(value: number, target: { atLeast?: number; atMost?: number }): string {
  if (target.atLeast !== undefined && value < target.atLeast) return 'MISS'
  if (target.atMost !== undefined && value > target.atMost) return 'MISS'
  return 'pass'
}

export function printSection(s: Section, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {
  const cols: [keyof Row, string][] = [
    ['metric', 'metric'],
    ['value', 'value'],
    ['baseline', 'baseline (same run)'],
    ['ratio', 'ratio'],
    ['target', 'target'],
    ['verdict', ''],
  ]
  const used = cols.filter(([k]) => k === 'metric' || k === 'value' || s.rows.some((r) => r[k]))
  const widths = used.map(([k, h]) => Math.max(h.length, ...s.rows.map((r) => (r[k] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')
  out('')
  out(`== ${s.title}`)
  out(line(used.map(([, h]) => h)))
  out(line(widths.map((w) => '-'.repeat(w))))
  for (const r of s.rows) out(line(used.map(([k]) => r[k] ?? '')))
  for (const n of s.notes) out(`  * ${n}`)
}

/** The section as a Markdown table (for docs/performance.md). */
export function markdownSection(s: Section): string {
  const head = '| metric | measured | baseline (same run) | ratio | target | |'
  const rows = s.rows.map(
    (r) =>
      `| ${r.metric} | ${r.value} | ${r.baseline ?? ''} | ${r.ratio ?? ''} | ${r.target ?? ''} | ${r.verdict ?? ''} |`,
  )
  return [
    `### ${s.title}`,
    '',
    head,
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...s.notes.map((n) => `- ${n}`),
  ]
    .join('\n')
    .trimEnd()
}

export function machineFacts(): Record<string, string> {
  const tool = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .split('\n')[0]
        ?.trim()
    } catch (e) {
      // wrk -v prints its version and exits 1.
      const out = (e as { stdout?: string }).stdout ?? ''
      return out.split('\n')[0]?.trim() || 'not found'
    }
  }
  return {
    cores: String(availableParallelism()),
    cpu: cpus()[0]?.model ?? 'unknown',
    memory: fmt.mb(totalmem()),
    node: process.version,
    kernel: release(),
    wrk: (tool('wrk', ['-v']) ?? 'not found').replace(/\s+Copyright.*/, ''),
    commit: `${tool('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])}${tool('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : ''}`,
  }
}

// -- wrk

export interface WrkOptions {
  url: string
  connections: number
  threads: number
  durationS: number
  script?: string
  headers?: string[]
  /** Request timeout (wrk default 2 s). */
  timeoutS?: number
}

export interface WrkResult {
  rps: number
  /** CPU time (all threads) the server process used per request during the run, when its pid was given. */
  cpuMsPerRequest?: number
  requests: number
  seconds: number
  latencyMs: { p50: number; p75: number; p90: number; p99: number; avg: number; max: number }
  non2xx: number
  /** "connect 0, read 0, write 0, timeout 0" when wrk reported socket errors. */
  socketErrors: string | null
  raw: string
}

export const WRK_SCRIPTS = join(ROOT, 'bench', 'wrk')

export function wrkArgs(o: WrkOptions): string[] {
  const args = [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    `--timeout`,
    `${o.timeoutS ?? 10}s`,
    '--latency',
  ]
  if (o.script) args.push('-s', o.script)
  for (const h of o.headers ?? []) args.push('-H', h)
  args.push(o.url)
  return args
}

const toMs = (v: string, unit: string): number => {
  const n = Number(v)
  if (unit === 'us') return n / 1000
  if (unit === 'ms') return n
  if (unit === 's') return n * 1000
  if (unit === 'm') return n * 60_000
  return Number.NaN
}

export function parseWrk(raw: string): WrkResult {
  const num = (re: RegExp) => {
    const m = raw.match(re)
    return m ? Number(m[1]) : Number.NaN
  }
  const lat = (label: string) => {
    const m = raw.match(new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm'))
    return m ? toMs(m[1] as string, m[2] as string) : Number.NaN
  }
  const stats = raw.match(/Latency\s+([\d.]+)(us|ms|s|m)\s+[\d.]+(?:us|ms|s|m)\s+([\d.]+)(us|ms|s|m)/)
  const reqs = raw.match(/(\d+) requests in ([\d.]+)(ms|s|m)/)
  const result: WrkResult = {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: reqs ? Number(reqs[1]) : Number.NaN,
    seconds: reqs ? toMs(reqs[2] as string, reqs[3] as string) / 1000 : Number.NaN,
    latencyMs: {
      p50: lat('50%'),
      p75: lat('75%'),
      p90: lat('90%'),
      p99: lat('99%'),
      avg: stats ? toMs(stats[1] as string, stats[2] as string) : Number.NaN,
      max: stats ? toMs(stats[3] as string, stats[4] as string) : Number.NaN,
    },
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
    socketErrors: raw.match(/Socket errors:\s+(.*)/)?.[1] ?? null,
    raw,
  }
  if (!Number.isFinite(result.rps)) throw new Error(`cannot parse wrk output:\n${raw}`)
  return result
}

export function runWrk(o: WrkOptions, env: Record<string, string> = {}): Promise<WrkResult> {
  return new Promise((res, rej) => {
    const child = track(
      spawn('wrk', wrkArgs(o), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('error', (e) => rej(new Error(`cannot run wrk (Debian package wrk): ${e.message}`)))
    child.on('close', (code) => {
      if (code !== 0) return rej(new Error(`wrk exited ${code}: ${err}${out}`))
      try {
        res(parseWrk(out + (err ? `\n${err}` : '')))
      } catch (e) {
        rej(e)
      }
    })
  })
}

/** CPU time (user + system, all threads) a process has used so far, in ms, from /proc/<pid>/task/<tid>/stat. */
export function cpuMs(pid: number): number {
  let ticks = 0
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8')
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12])
    } catch {} // a thread that ended meanwhile
  }
  return ticks * 10 // USER_HZ = 100 on Linux
}

/** Runs `f` (a load run) and adds the server's CPU time per request to its result. */
export async function withCpu(pid: number, f: () => Promise<WrkResult>): Promise<WrkResult> {
  const before = cpuMs(pid)
  const r = await f()
  const used = cpuMs(pid) - before
  return { ...r, cpuMsPerRequest: r.requests > 0 ? used / r.requests : Number.NaN }
}

/** One measured wrk run of `opts.durationS`, logged; with `pid`, the server's CPU per request too. */
export async function measureWrk(
  o: Omit<WrkOptions, 'durationS'>,
  opts: BenchOptions,
  env: Record<string, string> = {},
  label = o.url,
  pid?: number,
): Promise<WrkResult> {
  const run = () => runWrk({ ...o, durationS: opts.durationS }, env)
  const r = pid === undefined ? await run() : await withCpu(pid, run)
  opts.log(
    `  wrk ${label}: ${fmt.rate(r.rps)}, p50 ${fmt.ms(r.latencyMs.p50)}, p99 ${fmt.ms(r.latencyMs.p99)}` +
      (r.cpuMsPerRequest !== undefined ? `, server CPU ${fmt.cpu(r.cpuMsPerRequest)}/req` : '') +
      (r.non2xx ? `, ${r.non2xx} non-2xx` : '') +
      (r.socketErrors ? `, socket errors: ${r.socketErrors}` : ''),
  )
  return r
}

export function wrkProblems(runs: WrkResult[]): string | null {
  const parts: string[] = []
  const non2xx = runs.reduce((a, r) => a + r.non2xx, 0)
  const total = runs.reduce((a, r) => a + r.requests, 0)
  if (non2xx > 0) parts.push(`${non2xx} of ${total} responses were not 2xx`)
  for (const r of runs) if (r.socketErrors) parts.push(`socket errors: ${r.socketErrors}`)
  return parts.length ? parts.join('; ') : null
}

// -- statistics

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5)
}

/** Nearest-rank quantile. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number
}

export const spread = (xs: readonly number[], f: (n: number) => string) =>
  xs.length > 1 ? `${f(Math.min(...xs))}–${f(Math.max(...xs))}` : f(xs[0] ?? Number.NaN)

/**
 * Runs `steps` in `rounds` rounds, rotating their order each round (round r starts with step r mod n), and returns
 * each step's results in round order. Measurements of one round are close in time, so their ratio is less
 * sensitive to a machine whose speed drifts.
 */
export async function interleave<S extends Record<string, unknown>>(
  rounds: number,
  steps: { [K in keyof S]: () => Promise<S[K]> },
  log?: (l: string) => void,
): Promise<{ [K in keyof S]: S[K][] }> {
  const keys = Object.keys(steps) as (keyof S)[]
  const out = Object.fromEntries(keys.map((k) => [k, []])) as unknown as { [K in keyof S]: S[K][] }
  for (let r = 0; r < rounds; r++) {
    log?.(`  round ${r + 1}/${rounds}`)
    for (let i = 0; i < keys.length; i++) {
      const k = keys[(i + r) % keys.length] as keyof S
      out[k].push(await steps[k]())
    }
  }
  return out
}

// -- processes

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = status.match(/^VmRSS:\s+(\d+) kB/m)
  if (!m) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// Children still running when the bench process exits (an error half-way) are killed with it.
const live = new Set<ChildProcess>()
const tempDirs = new Set<string>()
process.on('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
})
/** A temporary directory removed when the bench process exits (if not before). */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(d)
  return d
}
export function track<C extends ChildProcess>(child: C): C {
  live.add(child)
  child.once('exit', () => live.delete(child))
  return child
}

/** Fraction of the machine's CPU time (all cores) that was busy during `ms`, from /proc/stat. */
export async function machineBusy(ms = 2000): Promise<number> {
  const read = () => (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
  const a = read()
  await sleep(ms)
  const b = read()
  const d = b.map((v, i) => v - (a[i] ?? 0))
  const total = d.reduce((x, y) => x + y, 0)
  const idle = (d[3] ?? 0) + (d[4] ?? 0)
  return total > 0 ? 1 - idle / total : 0
}

/** A note when other processes keep the machine busy before a benchmark (its numbers are then unreliable). */
export async function quietCheck(opts: BenchOptions, notes: string[]): Promise<void> {
  const busy = await machineBusy(2000)
  opts.log(`  machine ${(busy * 100).toFixed(0)}% busy before the run`)
  if (busy > 0.1)
    notes.push(
      `WARNING: the machine was ${(busy * 100).toFixed(0)}% busy with other processes just before this benchmark; its numbers are unreliable`,
    )
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms)
    child.once('exit', () => {
      clearTimeout(t)
      res(true)
    })
  })
}

/** SIGINT (graceful), then SIGKILL after `ms`. */
export async function stopChild(child: ChildProcess, ms = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGINT')
  if (!(await waitExit(child, ms))) {
    child.kill('SIGKILL')
    await waitExit(child, 5000)
  }
}

export interface AzidProcess {
  child: ChildProcess
  pid: number
  dataDir: string
  base: string
  ca: string
  tenantId: string
  clientId: string
  clientSecret: string
  adminKey: string
  /** Wall time from spawn to runtime.json (listening). */
  startMs: number
  output(): string
  /** Stops the process; returns the CPU profile files it wrote (when started with profileDir). */
  stop(): Promise<string[]>
}

/**
 * Starts `node bin/azid.js start` in a child process on a fresh data directory (SQLite, the default store) with free
 * ports, and waits until it listens. `set` adds `--set key=value` settings.
 */
export async function startAzid(
  opts: {
    set?: Record<string, string>
    profileDir?: string
    dataDir?: string
    keepDataDir?: boolean
    /** Another copy of bin/azid.js (A/B experiments on a patched tree). */
    bin?: string
  } = {},
): Promise<AzidProcess> {
  const dataDir = opts.dataDir ?? tempDir('azid-bench-')
  const runtime = join(dataDir, 'runtime.json')
  rmSync(runtime, { force: true })
  const nodeArgs: string[] = []
  if (opts.profileDir) {
    mkdirSync(opts.profileDir, { recursive: true })
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`)
  }
  // Every listener on a free port (the set of listeners grows with the product: read it from the config defaults).
  const ports = Object.keys(loadConfig({}).listen)
    .filter((k) => k.endsWith('Port') && k !== 'httpsPort')
    .map((k) => [`listen.${k}`, '0'])
  const set = { ...Object.fromEntries(ports), 'log.level': 'warn', ...opts.set }
  const args = [
    ...nodeArgs,
    opts.bin ?? AZID_BIN,
    'start',
    '--data',
    dataDir,
    '--port',
    '0',
    ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ]
  const t0 = performance.now()
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('AZID_')) delete env[k]
  const child = track(spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }))
  let output = ''
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const before = opts.profileDir ? new Set(readdirSync(opts.profileDir)) : new Set<string>()
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`azid exited during start (${child.exitCode ?? child.signalCode}):\n${output}`)
    if (existsSync(runtime)) {
      try {
        const r = JSON.parse(readFileSync(runtime, 'utf8')) as { pid: number; base: string }
        if (r.pid === child.pid) break
      } catch {}
    }
    if (performance.now() - t0 > 60_000) {
      child.kill('SIGKILL')
      throw new Error(`azid did not start within 60 s:\n${output}`)
    }
    await sleep(25)
  }
  const startMs = performance.now() - t0
  const { base } = JSON.parse(readFileSync(runtime, 'utf8')) as { base: string }
  const boot = JSON.parse(readFileSync(join(dataDir, 'bootstrap.json'), 'utf8')) as {
    tenantId: string
    clientId: string
    clientSecret: string
  }
  return {
    child,
    pid: child.pid as number,
    dataDir,
    base,
    ca: readFileSync(join(dataDir, 'pki', 'ca.pem'), 'utf8'),
    tenantId: boot.tenantId,
    clientId: boot.clientId,
    clientSecret: boot.clientSecret,
    adminKey: readFileSync(join(dataDir, 'admin.key'), 'utf8').trim(),
    startMs,
    output: () => output,
    async stop() {
      await stopChild(child)
      if (!opts.keepDataDir && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
      if (!opts.profileDir) return []
      return readdirSync(opts.profileDir)
        .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
        .map((f) => join(opts.profileDir as string, f))
    },
  }
}

/** A token from azid's v1 endpoint with the bootstrap administrator's credentials. */
export async function bootstrapToken(az: AzidProcess, resource = 'https://management.azure.com/'): Promise<string> {
  const r = await httpsRequest(`${az.base}/${az.tenantId}/oauth2/token`, {
    ca: az.ca,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: az.clientId,
      client_secret: az.clientSecret,
      resource,
    }).toString(),
  })
  if (r.status !== 200) throw new Error(`token request failed: ${r.status} ${r.text}`)
  return r.json<{ access_token: string }>().access_token
}

/** JSON over HTTPS to azid (ARM with a bearer token, or the admin API with its key). */
export async function azidJson<T = Record<string, unknown>>(
  az: AzidProcess,
  method: string,
  path: string,
  q: { token?: string; admin?: boolean; body?: unknown } = {},
): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (q.token) headers.authorization = `Bearer ${q.token}`
  if (q.admin) headers['x-azid-admin-key'] = az.adminKey
  const r = await httpsRequest(`${az.base}${path}`, {
    ca: az.ca,
    method,
    headers,
    ...(q.body === undefined ? {} : { body: JSON.stringify(q.body) }),
  })
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`)
  return (r.text ? r.json<T>() : {}) as T
}

/**
 * Starts a baseline server (`node --import tsx bench/servers/<name>.ts`) that prints one JSON line
 * `{"port":N}` once it listens.
 */
export async function startBaseline(
  name: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; pid: number; port: number; stop(): Promise<void> }> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'servers', `${name}.ts`)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
  let output = ''
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${name} did not start within 30 s:\n${output}`)), 30_000)
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString()
      const m = output.match(/\{"port":(\d+)\}/)
      if (m) {
        clearTimeout(timer)
        res(Number(m[1]))
      }
    })
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      rej(new Error(`${name} exited (${code}):\n${output}`))
    })
  })
  return { child, pid: child.pid as number, port, stop: () => stopChild(child, 5000) }
}

// -- CPU profiles

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

/** A time window on CLOCK_MONOTONIC in microseconds: the clock of process.hrtime and of V8's CPU profiles. */
export type Window = [startUs: number, endUs: number]

export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n)

/** Runs `f` and records the time it took as a window (to select the profile samples taken under load). */
export async function windowed<T>(windows: Window[], f: () => Promise<T>): Promise<T> {
  const start = nowUs()
  try {
    return await f()
  } finally {
    windows.push([start, nowUs()])
  }
}

export interface ProfileSummary {
  file: string
  /** Sampled time (within the windows, when given). */
  totalMs: number
  idlePct: number
  gcPct: number
  /** Self time by function, as % of busy (non-idle) samples. */
  functions: { pct: number; name: string }[]
  /** Self time by file / package, as % of busy samples. */
  files: { pct: number; name: string }[]
}

const shortUrl = (url: string): string => {
  if (!url) return '(native)'
  const u = url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = u.slice(nm + 14).split('/')
    const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
    return `${pkg}:${rest.slice(pkg?.startsWith('@') ? 2 : 1).join('/')}`
  }
  return u.startsWith(ROOT) ? u.slice(ROOT.length + 1) : u
}

const fileGroup = (url: string): string => {
  const s = shortUrl(url)
  if (s === '(native)') return s
  if (s.startsWith('node:')) return s.split('/').slice(0, 2).join('/')
  const colon = s.indexOf(':')
  if (colon > 0 && !s.startsWith('src/')) return s.slice(0, colon) // a package
  return s
}

/**
 * Self-time summary of a .cpuprofile (Chrome DevTools format, as node --cpu-prof writes it); with `windows`, only the
 * samples taken inside them count (the profile's timestamps are CLOCK_MONOTONIC microseconds, as process.hrtime).
 */
export function summariseProfile(file: string, top = 15, windows?: readonly Window[]): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[]
    samples: number[]
    timeDeltas: number[]
    startTime: number
    endTime: number
  }
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const hits = new Map<number, number>()
  let t = p.startTime
  let counted = 0
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0
    if (windows && !windows.some(([a, b]) => t >= a && t <= b)) continue
    const s = p.samples[i] as number
    hits.set(s, (hits.get(s) ?? 0) + 1)
    counted++
  }
  let idle = 0
  let gc = 0
  let busy = 0
  const fns = new Map<string, number>()
  const files = new Map<string, number>()
  for (const [id, n] of hits) {
    const node = byId.get(id)
    if (!node) continue
    const f = node.callFrame
    if (f.functionName === '(idle)') {
      idle += n
      continue
    }
    if (f.functionName === '(program)' || f.functionName === '(garbage collector)') {
      if (f.functionName === '(garbage collector)') gc += n
    }
    busy += n
    const name = `${f.functionName || '(anonymous)'}  ${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : ''}`.trim()
    fns.set(name, (fns.get(name) ?? 0) + n)
    const g = f.url ? fileGroup(f.url) : f.functionName
    files.set(g, (files.get(g) ?? 0) + n)
  }
  const total = counted || 1
  const interval = (p.endTime - p.startTime) / (p.samples.length || 1)
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, pct: (100 * n) / (busy || 1) }))
  return {
    file,
    totalMs: (counted * interval) / 1000,
    idlePct: (100 * idle) / total,
    gcPct: (100 * gc) / (busy || 1),
    functions: rank(fns),
    files: rank(files),
  }
}

/** The main-thread profile among those a process wrote (thread id 0 in the file name), else the largest. */
export function mainThreadProfile(files: string[]): string | undefined {
  const main = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(basename(f)))
  if (main) return main
  return [...files].sort((a, b) => statSync(b).size - statSync(a).size)[0]
}

export function profileNotes(label: string, files: string[], windows?: readonly Window[]): string[] {
  const f = mainThreadProfile(files)
  if (!f) return [`${label}: no CPU profile was written`]
  const s = summariseProfile(f, 12, windows)
  const rel = f.startsWith(ROOT) ? f.slice(ROOT.length + 1) : f
  return [
    `${label} CPU profile (main thread, ${rel}${windows ? ', samples taken while the load ran' : ''}): ${s.totalMs.toFixed(0)} ms sampled, main thread ${(100 - s.idlePct).toFixed(0)}% busy; GC ${s.gcPct.toFixed(1)}% of busy`,
    `  top files by self time: ${s.files.map((x) => `${x.name} ${x.pct.toFixed(1)}%`).join(', ')}`,
    `  top functions by self time: ${s.functions.map((x) => `${x.name} ${x.pct.toFixed(1)}%`).join('; ')}`,
  ]
}
