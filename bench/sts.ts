// Issue 2, "Speed": token issuance without cache hits vs the raw RS256 signing rate of all cores and vs
// oidc-provider; p99 at 32 connections; resident memory of an idle azid.
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { httpsRequest } from '../test/support/https.ts'
import {
  type BenchOptions,
  type Section,
  WRK_SCRIPTS,
  fmt,
  type WrkResult,
  interleave,
  measureWrk,
  median,
  profileNotes,
  quietCheck,
  runWrk,
  spread,
  rssBytes,
  sleep,
  startAzid,
  startBaseline,
  verdict,
  type Window,
  windowed,
  wrkProblems,
} from './lib.ts'

const CONNECTIONS = 32
const WRK_THREADS = 2

/** RS256 signatures per second over all cores: one worker thread per core signing in a loop (node:crypto.sign). */
export async function rawSignRate(q: { threads: number; seconds: number; inputBytes: number }): Promise<number> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' })
  const src = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { createPrivateKey, sign } = require('node:crypto')
    const key = createPrivateKey({ key: Buffer.from(workerData.pkcs8), format: 'der', type: 'pkcs8' })
    const input = Buffer.alloc(workerData.inputBytes, 0x61)
    for (let i = 0; i < 50; i++) sign('sha256', input, key) // warm-up
    parentPort.postMessage('ready')
    parentPort.once('message', () => {
      let n = 0
      const end = performance.now() + workerData.ms
      while (performance.now() < end) { sign('sha256', input, key); n++ }
      parentPort.postMessage(n)
    })`
  const workers = Array.from(
    { length: q.threads },
    () => new Worker(src, { eval: true, workerData: { pkcs8, inputBytes: q.inputBytes, ms: q.seconds * 1000 } }),
  )
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))))
  const t0 = performance.now()
  const counts = await Promise.all(
    workers.map(
      (w) =>
        new Promise<number>((r) => {
          w.once('message', (n: number) => r(n))
          w.postMessage('go')
        }),
    ),
  )
  const elapsed = (performance.now() - t0) / 1000
  await Promise.all(workers.map((w) => w.terminate()))
  return counts.reduce((a, b) => a + b, 0) / elapsed
}

/** RSS of a freshly started, idle `azid start` (SQLite store, signing threads auto), and again on restart. */
async function idleMemory(opts: BenchOptions): Promise<{ first: number; restart: number; readyMs: number }> {
  const first = await startAzid({ keepDataDir: true, set: { 'tokens.signingThreads': 'auto' } })
  await sleep(5000)
  const rss1 = rssBytes(first.pid)
  const dataDir = first.dataDir
  await first.stop()
  const again = await startAzid({ dataDir, set: { 'tokens.signingThreads': 'auto' } })
  await sleep(5000)
  const rss2 = rssBytes(again.pid)
  const readyMs = again.startMs
  await again.stop()
  rmSync(dataDir, { recursive: true, force: true })
  opts.log(
    `  idle RSS: first start ${fmt.mb(rss1)}, restart ${fmt.mb(rss2)} (restart ready in ${readyMs.toFixed(0)} ms)`,
  )
  return { first: rss1, restart: rss2, readyMs }
}

export async function run(opts: BenchOptions): Promise<Section> {
  const notes: string[] = []
  const cores = availableParallelism()
  await quietCheck(opts, notes)

  opts.log('sts: starting azid (SQLite store, tokens.signingThreads=auto)')
  const az = await startAzid({
    keepDataDir: true,
    set: { 'tokens.signingThreads': 'auto' },
    ...(opts.profile ? { profileDir: join(opts.profileDir, 'sts-azid') } : {}),
  })
  const tokenPath = `/${az.tenantId}/oauth2/token`
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: az.clientId,
    client_secret: az.clientSecret,
  }).toString()
  /** One token request with a sample resource, to check a server answers before it is measured. */
  const sampleToken = (url: string, body: string) =>
    httpsRequest(url, {
      ca: az.ca,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${body}&resource=https%3A%2F%2Fsample1.blob.core.windows.net`,
    })
  const sample = await sampleToken(`${az.base}${tokenPath}`, form)
  if (sample.status !== 200) throw new Error(`azid token request failed: ${sample.status} ${sample.text}`)
  const jwt = sample.json<{ access_token: string }>().access_token
  // The raw baseline signs inputs of the same size as azid's JWT signing input.
  const signingInput = jwt.slice(0, jwt.lastIndexOf('.')).length

  opts.log('sts: starting oidc-provider (client_credentials, RS256 JWT access tokens)')
  const op = await startBaseline('oidc-provider', {
    TLS_CERT: join(az.dataDir, 'pki', 'tls.pem'),
    TLS_KEY: join(az.dataDir, 'pki', 'tls.key'),
    NODE_ENV: 'production',
  })
  const opForm = 'grant_type=client_credentials&client_id=bench&client_secret=bench-secret-0123456789'
  const opBase = `https://127.0.0.1:${op.port}`
  const opSample = await sampleToken(`${opBase}/token`, opForm)
  const opJwt = opSample.status === 200 ? opSample.json<{ access_token: string }>().access_token : ''
  const opAlg = opJwt
    ? (JSON.parse(Buffer.from(opJwt.split('.')[0] ?? '', 'base64url').toString()) as { alg?: string }).alg
    : undefined
  if (opAlg !== 'RS256' || opJwt.split('.').length !== 3)
    throw new Error(`oidc-provider did not issue an RS256 JWT: ${opSample.status} ${opSample.text}`)

  // The floor: what this machine allows a token endpoint that only does HTTPS and RS256 signing in worker threads
  // (bench/servers/sign-floor.ts), payload shaped like azid's, the same signing threads as azid (one per core).
  opts.log('sts: starting the floor server (node:https + signing workers, nothing else)')
  const floor = await startBaseline('sign-floor', {
    TLS_CERT: join(az.dataDir, 'pki', 'tls.pem'),
    TLS_KEY: join(az.dataDir, 'pki', 'tls.key'),
    PAYLOAD_JSON: Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString(),
    SIGNING_THREADS: String(cores),
  })
  const floorBase = `https://127.0.0.1:${floor.port}`
  const floorSample = await sampleToken(`${floorBase}/token`, form)
  if (floorSample.status !== 200) throw new Error(`floor server failed: ${floorSample.status} ${floorSample.text}`)

  const windows: Window[] = []
  const wrk = { threads: WRK_THREADS, connections: CONNECTIONS, script: join(WRK_SCRIPTS, 'token.lua') }
  const azidEnv = { TOKEN_PATH: tokenPath, TOKEN_BODY: form }
  const opEnv = { TOKEN_PATH: '/token', TOKEN_BODY: opForm }
  if (opts.warmupS > 0) {
    opts.log(`sts: warm-up (${opts.warmupS}s each)`)
    await runWrk({ ...wrk, url: az.base, durationS: opts.warmupS }, azidEnv)
    await runWrk({ ...wrk, url: opBase, durationS: opts.warmupS }, opEnv)
    await runWrk({ ...wrk, url: floorBase, durationS: opts.warmupS }, azidEnv)
  }
  opts.log(
    `sts: ${opts.rounds} rounds of raw signing (${cores} threads, ${signingInput}-byte input), azid, oidc-provider, floor`,
  )
  const r = await interleave(
    opts.rounds,
    {
      raw: async () => {
        const rate = await rawSignRate({ threads: cores, seconds: opts.durationS, inputBytes: signingInput })
        opts.log(`  raw crypto.sign: ${fmt.rate(rate)}`)
        return rate
      },
      azid: () =>
        windowed(windows, () => measureWrk({ ...wrk, url: az.base }, opts, azidEnv, 'azid client_credentials', az.pid)),
      op: () => measureWrk({ ...wrk, url: opBase }, opts, opEnv, 'oidc-provider client_credentials', op.pid),
      floor: () => measureWrk({ ...wrk, url: floorBase }, opts, azidEnv, 'floor (https + signing only)', floor.pid),
    },
    opts.log,
  )
  await op.stop()
  await floor.stop()
  const profiles = await az.stop()
  rmSync(az.dataDir, { recursive: true, force: true })
  for (const [label, runs] of [
    ['azid', r.azid],
    ['oidc-provider', r.op],
    ['floor', r.floor],
  ] as const) {
    const problems = wrkProblems(runs)
    if (problems) notes.push(`${label} runs: ${problems}`)
  }

  // (e) memory of a separately started, idle azid.
  opts.log('sts: idle memory of `node bin/azid.js start`')
  const mem = await idleMemory(opts)

  const raw = median(r.raw)
  const azRps = median(r.azid.map((x) => x.rps))
  const opRps = median(r.op.map((x) => x.rps))
  const vsRawRounds = r.azid.map((x, i) => x.rps / (r.raw[i] as number))
  const vsOpRounds = r.azid.map((x, i) => x.rps / (r.op[i] as WrkResult).rps)
  const vsRaw = median(vsRawRounds)
  const vsOp = median(vsOpRounds)
  const p99 = median(r.azid.map((x) => x.latencyMs.p99))
  const floorRps = median(r.floor.map((x) => x.rps))
  const floorVsRawRounds = r.floor.map((x, i) => x.rps / (r.raw[i] as number))
  const floorP99 = median(r.floor.map((x) => x.latencyMs.p99))
  notes.push(
    `${opts.rounds} interleaved rounds of ${opts.durationS}s per measurement after a ${opts.warmupS}s warm-up; values are medians over rounds, ratios the median of per-round ratios (range over rounds: vs raw ${spread(vsRawRounds, fmt.ratio)}, vs oidc-provider ${spread(vsOpRounds, fmt.ratio)})`,
    `load: wrk -t${WRK_THREADS} -c${CONNECTIONS} POSTing the v1 token endpoint with client_secret in the form and resource=https://t<thread>x<n>.blob.core.windows.net (a new audience on every request, so nothing can be served from a cache)`,
    `raw baseline: ${cores} worker threads calling crypto.sign('sha256', …) in a loop with an RSA-2048 key over ${signingInput} bytes (the size of azid's JWT signing input); per round ${spread(r.raw, fmt.rate)}`,
    `oidc-provider ${opVersion()} on node:https with azid's TLS certificate: resource indicators, accessTokenFormat jwt, RS256, client_secret_post, same wrk script (resource=…)`,
    `floor: bench/servers/sign-floor.ts — node:https, the form's resource put in a payload like azid's, RS256 in ${cores} worker threads (each request to the least busy), a token answer of the same shape; no client authentication, directory, audit or anything else. It is the plainest token endpoint one can write on Node: a server that also authenticates, looks up and audits every request can pass it only by spending less than node:https does on HTTP (per round vs raw ${spread(floorVsRawRounds, fmt.ratio)})`,
    'CPU per token: user + system time of the server process (every thread: main, signing workers, libuv pool, GC) over the run divided by the requests answered; a raw signature costs cores / (a) of CPU',
    'p99 is the median over rounds of the p99 of the same 32-connection runs that give the throughput; wrk measures latency without coordinated-omission correction',
    `idle RSS: \`node bin/azid.js start\` on a fresh data directory (the first start creates the CA and the signing key), VmRSS from /proc/<pid>/status 5 s after it listens; the restart row starts the same data directory again (ready in ${mem.readyMs.toFixed(0)} ms)`,
  )
  if (opts.profile) notes.push(...profileNotes('azid (sts run)', profiles, windows))

  return {
    title: 'Token service (issue 2)',
    rows: [
      { metric: '(a) raw crypto.sign RS256, all cores', value: fmt.rate(raw) },
      {
        metric: '(b) azid client_credentials, distinct audiences',
        value: fmt.rate(azRps),
        baseline: `${fmt.rate(raw)} (a)`,
        ratio: fmt.ratio(vsRaw),
        target: '≥ 0.70×',
        verdict: verdict(vsRaw, { atLeast: 0.7 }),
      },
      { metric: '(c) oidc-provider client_credentials (RS256 JWT)', value: fmt.rate(opRps) },
      {
        metric: '(b)/(c) azid vs oidc-provider',
        value: fmt.rate(azRps),
        baseline: `${fmt.rate(opRps)} (c)`,
        ratio: fmt.ratio(vsOp),
        target: '≥ 1.50×',
        verdict: verdict(vsOp, { atLeast: 1.5 }),
      },
      {
        metric: '(d) azid p99 latency, 32 connections',
        value: fmt.ms(p99),
        target: '≤ 25 ms',
        verdict: verdict(p99, { atMost: 25 }),
      },
      { metric: '    azid p50 latency, 32 connections', value: fmt.ms(median(r.azid.map((x) => x.latencyMs.p50))) },
      {
        metric: '    CPU per token: azid (all threads) / oidc-provider / one raw signature',
        value: `${fmt.cpu(median(r.azid.map((x) => x.cpuMsPerRequest ?? Number.NaN)))} / ${fmt.cpu(median(r.op.map((x) => x.cpuMsPerRequest ?? Number.NaN)))} / ${fmt.cpu((1000 * cores) / raw)}`,
      },
      {
        metric: '    oidc-provider p99 latency, 32 connections',
        value: fmt.ms(median(r.op.map((x) => x.latencyMs.p99))),
      },
      {
        metric: '(f) floor: node:https + signing workers only',
        value: fmt.rate(floorRps),
        baseline: `${fmt.rate(raw)} (a)`,
        ratio: fmt.ratio(median(floorVsRawRounds)),
      },
      { metric: '    floor p99 latency, 32 connections', value: fmt.ms(floorP99) },
      {
        metric: '    azid vs floor',
        value: fmt.rate(azRps),
        baseline: `${fmt.rate(floorRps)} (f)`,
        ratio: fmt.ratio(median(r.azid.map((x, i) => x.rps / (r.floor[i] as WrkResult).rps))),
      },
      {
        metric: '    azid start on an existing data directory: launch to listening',
        value: fmt.ms(mem.readyMs),
        target: '< 1 s',
        verdict: verdict(mem.readyMs, { atMost: 1000 }),
      },
      {
        metric: '(e) azid idle RSS after first start',
        value: fmt.mb(mem.first),
        target: '≤ 150 MB',
        verdict: verdict(mem.first / 1024 / 1024, { atMost: 150 }),
      },
      {
        metric: '    azid idle RSS after restart',
        value: fmt.mb(mem.restart),
        target: '≤ 150 MB',
        verdict: verdict(mem.restart / 1024 / 1024, { atMost: 150 }),
      },
    ],
    notes,
    data: {
      rawSignRate: r.raw,
      signingInputBytes: signingInput,
      azid: r.azid.map(({ raw: _raw, ...x }) => x),
      oidcProvider: r.op.map(({ raw: _raw, ...x }) => x),
      floor: r.floor.map(({ raw: _raw, ...x }) => x),
      ratioVsRaw: vsRawRounds,
      ratioVsOidcProvider: vsOpRounds,
      idleRssBytes: mem,
      profiles,
    },
  }
}

function opVersion(): string {
  try {
    const pkg = join(import.meta.dirname, '..', 'node_modules', 'oidc-provider', 'package.json')
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version
  } catch {
    return '(unknown version)'
  }
}
