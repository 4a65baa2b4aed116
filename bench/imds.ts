// Issue 4, "Speed": cached IMDS token requests on a per-host listener vs a raw node:http server answering a constant
// body of the same size; p99; the same requests through namespace mode's forwarder vs direct loopback.
import { writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { namespaceSupport, runInNamespace } from '../src/netns/index.ts'
import {
  type BenchOptions,
  type Section,
  type Window,
  type WrkOptions,
  type WrkResult,
  azidJson,
  bootstrapToken,
  fmt,
  interleave,
  median,
  parseWrk,
  profileNotes,
  quietCheck,
  runWrk,
  spread,
  startAzid,
  startBaseline,
  tempDir,
  verdict,
  windowed,
  wrkArgs,
  withCpu,
  wrkProblems,
} from './lib.ts'

const CONNECTIONS = 32
const WRK_THREADS = 2
const IMDS_PATH =
  '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F'
const IMDS_ADDRESS = '169.254.169.254'

function httpGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  return new Promise((res, rej) => {
    const req = request(url, { headers }, (r) => {
      const chunks: Buffer[] = []
      r.on('data', (c: Buffer) => chunks.push(c))
      r.on('end', () => res({ status: r.statusCode ?? 0, body: Buffer.concat(chunks) }))
      r.on('error', rej)
    })
    req.on('error', rej)
    req.end()
  })
}

/** wrk inside a fresh namespace where 169.254.169.254:80 is forwarded to the host's Unix socket (namespace mode). */
async function wrkInNamespace(o: WrkOptions, socket: string): Promise<WrkResult> {
  const { child, exited } = runInNamespace({
    command: 'wrk',
    args: wrkArgs(o),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
    forwards: [{ address: IMDS_ADDRESS, port: 80, socket }],
    addresses: [],
    names: [],
    stdio: 'pipe',
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stdin?.end()
  const r = await exited
  if (r.code !== 0) throw new Error(`wrk in the namespace exited ${r.code ?? r.signal}:\n${out}`)
  return parseWrk(out)
}

export async function run(opts: BenchOptions): Promise<Section> {
  const notes: string[] = []
  await quietCheck(opts, notes)
  opts.log('imds: starting azid (SQLite store) with a VM that has a system-assigned identity')
  const az = await startAzid({ ...(opts.profile ? { profileDir: join(opts.profileDir, 'imds-azid') } : {}) })
  let raw: Awaited<ReturnType<typeof startBaseline>> | undefined
  try {
    const token = await bootstrapToken(az)
    const subs = await azidJson<{ value: { subscriptionId: string }[] }>(
      az,
      'GET',
      '/subscriptions?api-version=2022-12-01',
      {
        token,
      },
    )
    const group = `/subscriptions/${subs.value[0]?.subscriptionId}/resourceGroups/bench`
    await azidJson(az, 'PUT', `${group}?api-version=2022-09-01`, { token, body: { location: 'westus' } })
    const vmId = `${group}/providers/Microsoft.Compute/virtualMachines/vm1`
    await azidJson(az, 'PUT', `${vmId}?api-version=2018-06-01`, {
      token,
      body: { location: 'westus', identity: { type: 'SystemAssigned' } },
    })
    const loop = await azidJson<{ hostUrl: string | null }>(az, 'POST', '/_azid/hosts/endpoint', {
      admin: true,
      body: { host: vmId, mode: 'loopback' },
    })
    if (!loop.hostUrl) throw new Error('azid gave no per-host listener for the VM')
    const hostUrl = loop.hostUrl

    // The first request issues the token; later ones are answered from the cache.
    const headers = { Metadata: 'true' }
    for (let i = 0; i < 2; i++) {
      const r = await httpGet(`${hostUrl}${IMDS_PATH}`, headers)
      if (r.status !== 200) throw new Error(`IMDS answered ${r.status}: ${r.body.toString()}`)
    }
    const sample = await httpGet(`${hostUrl}${IMDS_PATH}`, headers)
    const bodyFile = join(tempDir('azid-bench-imds-'), 'body.json')
    writeFileSync(bodyFile, sample.body)
    raw = await startBaseline('raw-http', { BODY_FILE: bodyFile })
    const rawUrl = `http://127.0.0.1:${raw.port}`
    const rawPid = raw.pid

    const ns = namespaceSupport()
    let nsSocket: string | null = null
    if (ns.available) {
      const e = await azidJson<{ hostSocket: string | null }>(az, 'POST', '/_azid/hosts/endpoint', {
        admin: true,
        body: { host: vmId, mode: 'namespace' },
      })
      nsSocket = e.hostSocket
    }

    const wrk = { threads: WRK_THREADS, connections: CONNECTIONS, headers: ['Metadata: true'] }
    const azidUrl = `${hostUrl}${IMDS_PATH}`
    const rawTarget = `${rawUrl}${IMDS_PATH}`
    const nsUrl = `http://${IMDS_ADDRESS}${IMDS_PATH}`
    if (opts.warmupS > 0) {
      opts.log(`imds: warm-up (${opts.warmupS}s each)`)
      await runWrk({ ...wrk, url: rawTarget, durationS: opts.warmupS })
      await runWrk({ ...wrk, url: azidUrl, durationS: opts.warmupS })
      if (nsSocket) await wrkInNamespace({ ...wrk, url: nsUrl, durationS: opts.warmupS }, nsSocket)
    }
    const windows: Window[] = []
    const logRun = (label: string, r: WrkResult) => {
      opts.log(
        `  wrk ${label}: ${fmt.rate(r.rps)}, p50 ${fmt.ms(r.latencyMs.p50)}, p99 ${fmt.ms(r.latencyMs.p99)}, server CPU ${fmt.cpu(r.cpuMsPerRequest ?? Number.NaN)}/req${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}`,
      )
      return r
    }
    opts.log(
      `imds: ${opts.rounds} rounds of raw node:http, azid IMDS (loopback)${nsSocket ? ', azid IMDS (namespace)' : ''}`,
    )
    const steps = {
      raw: async () =>
        logRun(
          'raw node:http',
          await withCpu(rawPid, () => runWrk({ ...wrk, url: rawTarget, durationS: opts.durationS })),
        ),
      azid: async () =>
        logRun(
          'azid IMDS loopback',
          await windowed(windows, () =>
            withCpu(az.pid, () => runWrk({ ...wrk, url: azidUrl, durationS: opts.durationS })),
          ),
        ),
      ...(nsSocket
        ? {
            ns: async () =>
              logRun(
                'azid IMDS namespace',
                await windowed(windows, () =>
                  withCpu(az.pid, () =>
                    wrkInNamespace({ ...wrk, url: nsUrl, durationS: opts.durationS }, nsSocket as string),
                  ),
                ),
              ),
          }
        : {}),
    }
    const r = (await interleave(opts.rounds, steps as Record<string, () => Promise<WrkResult>>, opts.log)) as {
      raw: WrkResult[]
      azid: WrkResult[]
      ns?: WrkResult[]
    }
    await raw.stop()
    raw = undefined
    const profiles = await az.stop()

    for (const [label, runs] of [
      ['raw node:http', r.raw],
      ['azid loopback', r.azid],
      ['azid namespace', r.ns ?? []],
    ] as const) {
      const p = runs.length ? wrkProblems(runs) : null
      if (p) notes.push(`${label} runs: ${p}`)
    }
    const rawRps = median(r.raw.map((x) => x.rps))
    const azRps = median(r.azid.map((x) => x.rps))
    const vsRawRounds = r.azid.map((x, i) => x.rps / (r.raw[i] as WrkResult).rps)
    const vsRaw = median(vsRawRounds)
    const p99 = median(r.azid.map((x) => x.latencyMs.p99))
    const rows: Section['rows'] = [
      { metric: '(a) raw node:http, constant body', value: fmt.rate(rawRps) },
      {
        metric: '(b) azid IMDS, cached token, per-host listener',
        value: fmt.rate(azRps),
        baseline: `${fmt.rate(rawRps)} (a)`,
        ratio: fmt.ratio(vsRaw),
        target: '≥ 0.80×',
        verdict: verdict(vsRaw, { atLeast: 0.8 }),
      },
      {
        metric: '    azid IMDS p99 latency, 32 connections',
        value: fmt.ms(p99),
        target: '≤ 2 ms',
        verdict: verdict(p99, { atMost: 2 }),
      },
      { metric: '    raw node:http p99 latency', value: fmt.ms(median(r.raw.map((x) => x.latencyMs.p99))) },
      {
        metric: '    server CPU per request: azid / raw node:http',
        value: `${fmt.cpu(median(r.azid.map((x) => x.cpuMsPerRequest ?? Number.NaN)))} / ${fmt.cpu(median(r.raw.map((x) => x.cpuMsPerRequest ?? Number.NaN)))}`,
      },
    ]
    let vsLoopRounds: number[] = []
    if (r.ns) {
      const nsRps = median(r.ns.map((x) => x.rps))
      vsLoopRounds = r.ns.map((x, i) => x.rps / (r.azid[i] as WrkResult).rps)
      const vsLoop = median(vsLoopRounds)
      rows.push(
        {
          metric: '(c) azid IMDS through the namespace forwarder',
          value: fmt.rate(nsRps),
          baseline: `${fmt.rate(azRps)} (b)`,
          ratio: fmt.ratio(vsLoop),
          target: '≥ 0.70×',
          verdict: verdict(vsLoop, { atLeast: 0.7 }),
        },
        { metric: '    namespace p99 latency', value: fmt.ms(median(r.ns.map((x) => x.latencyMs.p99))) },
        {
          metric: '    azid CPU per request in namespace mode (forwarder not counted)',
          value: fmt.cpu(median(r.ns.map((x) => x.cpuMsPerRequest ?? Number.NaN))),
        },
      )
    } else {
      rows.push({ metric: '(c) azid IMDS through the namespace forwarder', value: 'not run', target: '≥ 0.70×' })
      notes.push(`(c) not measured: namespaces are unavailable here (${ns.reason ?? 'unknown reason'})`)
    }
    notes.push(
      `${opts.rounds} interleaved rounds of ${opts.durationS}s per measurement after a ${opts.warmupS}s warm-up; values are medians over rounds, ratios the median of per-round ratios (range: vs raw ${spread(vsRawRounds, fmt.ratio)}${vsLoopRounds.length ? `, namespace vs loopback ${spread(vsLoopRounds, fmt.ratio)}` : ''})`,
      `load: wrk -t${WRK_THREADS} -c${CONNECTIONS} GET ${IMDS_PATH} with Metadata: true, keep-alive; azid answers from its token cache (the token was issued before the runs)`,
      `raw baseline: node:http answering every request with the ${sample.body.length}-byte body of a real azid IMDS response and the same headers`,
      `namespace: wrk runs inside \`runInNamespace\` (src/netns) against ${IMDS_ADDRESS}:80, which the forwarder pipes to the host's Unix socket (mode 'namespace' of /_azid/hosts/endpoint); compared with (b) of the same round`,
    )
    if (opts.profile) notes.push(...profileNotes('azid (imds runs)', profiles, windows))
    return {
      title: 'Managed-identity endpoint, IMDS (issue 4)',
      rows,
      notes,
      data: {
        bodyBytes: sample.body.length,
        raw: r.raw.map(({ raw: _r, ...x }) => x),
        azid: r.azid.map(({ raw: _r, ...x }) => x),
        namespace: (r.ns ?? []).map(({ raw: _r, ...x }) => x),
        ratioVsRaw: vsRawRounds,
        ratioNamespaceVsLoopback: vsLoopRounds,
        profiles,
      },
    }
  } finally {
    await raw?.stop()
    await az.stop()
  }
}
