// Issue 5, "Speed": uploads and downloads of 1 MiB and 64 MiB blobs with @azure/storage-blob against azid and
// against Azurite (npm `azurite`, started in the same run on loopback with the same TLS certificate, Shared Key);
// 4 KiB reads with bearer tokens vs the same reads with Shared Key (wrk); resident memory of the azid process while a
// 1 GiB blob is uploaded.
import { type ChildProcess, spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import {
  type AzidProcess,
  type BenchOptions,
  ROOT,
  type Section,
  azidJson,
  bootstrapToken,
  fmt,
  interleave,
  measureWrk,
  median,
  profileNotes,
  quietCheck,
  rssBytes,
  sleep,
  spread,
  startAzid,
  stopChild,
  tempDir,
  track,
  verdict,
  wrkProblems,
} from './lib.ts'

const MiB = 1024 * 1024
const AZURITE_ACCOUNT = 'devstoreaccount1'
// Azurite's well-known development key (public, documented by Azurite).
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
const VERSION = '2025-07-05'

const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => res(port))
    })
  })

async function startAzurite(q: {
  certPath: string
  keyPath: string
}): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort()
  const dir = tempDir('azid-bench-azurite-')
  const child = track(
    spawn(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js'),
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--location',
        dir,
        '--cert',
        q.certPath,
        '--key',
        q.keyPath,
        '--silent',
        '--skipApiVersionCheck',
        '--loose',
        // Azurite reports usage to Application Insights unless told not to; nothing may leave the machine.
        '--disableTelemetry',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  )
  let output = ''
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  for (let i = 0; i < 300 && !/successfully listens/i.test(output); i++) {
    if (child.exitCode !== null) throw new Error(`azurite exited: ${output}`)
    await sleep(50)
  }
  if (!/successfully listens/i.test(output)) throw new Error(`azurite did not start: ${output}`)
  return { url: `https://127.0.0.1:${port}/${AZURITE_ACCOUNT}`, child, stop: () => stopChild(child, 5000) }
}

/**
 * The client side runs in a child process (NODE_EXTRA_CA_CERTS is read at start). It times `ops` of one kind with
 * @azure/storage-blob for `seconds` (at least `minOps`), `concurrency` at a time, and prints MB/s.
 */
const CLIENT = `
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { Readable } from 'node:stream'
const a = JSON.parse(process.argv[2])
const svc = new BlobServiceClient(a.url, new StorageSharedKeyCredential(a.account, a.key))
const c = svc.getContainerClient('bench')
await c.createIfNotExists()
const data = Buffer.alloc(a.size, 0x5a)
const name = (i) => a.kind + '-' + a.size + '-' + (i % 8)
if (a.op === 'download') for (let i = 0; i < 8; i++) await c.getBlockBlobClient(name(i)).uploadData(data)
if (a.op === 'rss') {
  const big = a.size
  const chunk = Buffer.alloc(MiB_CHUNK, 0x33)
  const src = Readable.from((function* () { for (let o = 0; o < big; o += chunk.length) yield chunk })())
  const t0 = performance.now()
  await c.getBlockBlobClient('huge.bin').uploadStream(src, 8 * 1024 * 1024, 4)
  console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000 }))
  process.exit(0)
}
let ops = 0
const end = performance.now() + a.seconds * 1000
const t0 = performance.now()
async function worker(w) {
  for (let i = w; performance.now() < end || ops < a.minOps; i += a.concurrency) {
    if (a.op === 'upload') await c.getBlockBlobClient(name(i)).uploadData(data)
    else {
      const got = await c.getBlockBlobClient(name(i)).downloadToBuffer()
      if (got.length !== a.size) throw new Error('short download')
    }
    ops++
  }
}
await Promise.all(Array.from({ length: a.concurrency }, (_, w) => worker(w)))
const seconds = (performance.now() - t0) / 1000
console.log(JSON.stringify({ ops, seconds, mbps: (ops * a.size) / 1048576 / seconds }))
`.replace('MiB_CHUNK', String(MiB))

function runClient(script: string, caPath: string, args: Record<string, unknown>): Promise<Record<string, number>> {
  return new Promise((res, rej) => {
    const child = track(
      spawn(process.execPath, [script, JSON.stringify(args)], {
        cwd: ROOT,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: caPath },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    )
    let out = ''
    let err = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('close', (code) => {
      if (code !== 0) return rej(new Error(`blob client failed (${code}): ${err}${out}`))
      try {
        res(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'))
      } catch (e) {
        rej(e)
      }
    })
  })
}

/** A Shared Key signature for a GET that wrk replays (x-ms-date stays valid for 15 minutes). */
function sharedKeyGet(q: { account: string; key: string; path: string; date: string; pathStyle: boolean }): string {
  const sts = `GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:${q.date}\nx-ms-version:${VERSION}\n/${q.account}${q.path}`
  return createHmac('sha256', Buffer.from(q.key, 'base64')).update(sts, 'utf8').digest('base64')
}

export async function run(opts: BenchOptions): Promise<Section> {
  const notes: string[] = []
  await quietCheck(opts, notes)
  opts.log('blob: starting azid (SQLite store, default settings: storage.fsync=true)')
  const az: AzidProcess = await startAzid({
    ...(opts.profile ? { profileDir: join(opts.profileDir, 'blob-azid') } : {}),
  })
  const scratch = tempDir('azid-bench-blob-')
  const client = join(scratch, 'client.mjs')
  // The client script imports @azure/storage-blob: it must resolve from the project.
  writeFileSync(
    client,
    CLIENT.replace("'@azure/storage-blob'", JSON.stringify(import.meta.resolve('@azure/storage-blob'))),
  )
  const caPath = join(az.dataDir, 'pki', 'ca.pem')

  const arm = await bootstrapToken(az)
  const endpoints = await azidJson<{
    storage: { blob: string }
    subscriptionId: string
    bootstrap: { clientId: string }
  }>(az, 'GET', '/_azid/endpoints', { admin: true })
  const sub = endpoints.subscriptionId
  const acctId = `/subscriptions/${sub}/resourceGroups/bench/providers/Microsoft.Storage/storageAccounts/benchacct`
  await azidJson(az, 'PUT', `/subscriptions/${sub}/resourcegroups/bench?api-version=2022-09-01`, {
    token: arm,
    body: { location: 'westus' },
  })
  await azidJson(az, 'PUT', `${acctId}?api-version=2024-01-01`, { token: arm, body: { location: 'westus' } })
  const keys = await azidJson<{ keys: { value: string }[] }>(az, 'POST', `${acctId}/listKeys?api-version=2024-01-01`, {
    token: arm,
  })
  const key = keys.keys[0]?.value as string
  const azidUrl = `${endpoints.storage.blob}/benchacct`

  opts.log('blob: starting azurite (HTTPS with the same certificate)')
  const azurite = await startAzurite({
    certPath: join(az.dataDir, 'pki', 'tls.pem'),
    keyPath: join(az.dataDir, 'pki', 'tls.key'),
  })

  const target = {
    azid: { url: azidUrl, account: 'benchacct', key },
    azurite: { url: azurite.url, account: AZURITE_ACCOUNT, key: AZURITE_KEY },
  }
  const cases = [
    { kind: 'up1', op: 'upload', size: MiB, concurrency: 4, minOps: 20 },
    { kind: 'down1', op: 'download', size: MiB, concurrency: 4, minOps: 20 },
    { kind: 'up64', op: 'upload', size: 64 * MiB, concurrency: 1, minOps: 2 },
    { kind: 'down64', op: 'download', size: 64 * MiB, concurrency: 1, minOps: 2 },
  ] as const
  const results: Record<string, { azid: number[]; azurite: number[] }> = {}
  for (const c of cases) {
    opts.log(
      `blob: ${c.op} ${c.size / MiB} MiB, ${opts.rounds} rounds of ${opts.durationS}s, azid and azurite interleaved`,
    )
    const r = await interleave(
      opts.rounds,
      {
        azid: async () => {
          const x = await runClient(client, caPath, { ...target.azid, ...c, seconds: opts.durationS })
          opts.log(`  azid ${c.kind}: ${(x.mbps as number).toFixed(1)} MB/s (${x.ops} ops)`)
          return x.mbps as number
        },
        azurite: async () => {
          const x = await runClient(client, caPath, { ...target.azurite, ...c, seconds: opts.durationS })
          opts.log(`  azurite ${c.kind}: ${(x.mbps as number).toFixed(1)} MB/s (${x.ops} ops)`)
          return x.mbps as number
        },
      },
      opts.log,
    )
    results[c.kind] = r
  }

  // 4 KiB reads: the same GET replayed by wrk with a Shared Key signature and with a bearer token.
  opts.log('blob: 4 KiB reads, Shared Key vs bearer (wrk)')
  const small = await runClient(client, caPath, {
    ...target.azid,
    kind: 'k4',
    op: 'download',
    size: 4096,
    concurrency: 1,
    minOps: 1,
    seconds: 0,
  })
  void small
  const path = '/benchacct/bench/k4-4096-0'
  const date = new Date().toUTCString()
  const sig = sharedKeyGet({ account: 'benchacct', key, path, date, pathStyle: true })
  const storageToken = await bootstrapToken(az, 'https://storage.azure.com/')
  const oid = JSON.parse(Buffer.from(storageToken.split('.')[1] ?? '', 'base64url').toString()).oid as string
  await azidJson(
    az,
    'PUT',
    `${acctId}/providers/Microsoft.Authorization/roleAssignments/5f1e7b8a-2a4c-4c7e-9d3b-0b2c1d3e4f50?api-version=2022-04-01`,
    {
      token: arm,
      body: {
        properties: {
          roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1`,
          principalId: oid,
          principalType: 'ServicePrincipal',
        },
      },
    },
  )
  const base = endpoints.storage.blob
  const wrk = { threads: 2, connections: 16, url: `${base}${path}` }
  const keyHeaders = [`x-ms-date: ${date}`, `x-ms-version: ${VERSION}`, `Authorization: SharedKey benchacct:${sig}`]
  const bearerHeaders = [`x-ms-version: ${VERSION}`, `Authorization: Bearer ${storageToken}`]
  const reads = await interleave(
    opts.rounds,
    {
      sharedKey: () => measureWrk({ ...wrk, headers: keyHeaders }, opts, {}, '4 KiB GET, Shared Key'),
      bearer: () => measureWrk({ ...wrk, headers: bearerHeaders }, opts, {}, '4 KiB GET, bearer'),
    },
    opts.log,
  )
  for (const [label, runs] of [
    ['Shared Key reads', reads.sharedKey],
    ['bearer reads', reads.bearer],
  ] as const) {
    const p = wrkProblems(runs)
    if (p) notes.push(`${label}: ${p}`)
  }
  await azurite.stop()
  const profiles = await az.stop()

  // Resident memory while a 1 GiB blob is uploaded (8 MiB blocks, 4 in flight), on a freshly started azid.
  opts.log('blob: RSS of a fresh azid while uploading 1 GiB')
  const fresh = await startAzid()
  const freshArm = await bootstrapToken(fresh)
  const freshEndpoints = await azidJson<{ storage: { blob: string } }>(fresh, 'GET', '/_azid/endpoints', {
    admin: true,
  })
  await azidJson(fresh, 'PUT', `/subscriptions/${sub}/resourcegroups/bench?api-version=2022-09-01`, {
    token: freshArm,
    body: { location: 'westus' },
  })
  await azidJson(fresh, 'PUT', `${acctId}?api-version=2024-01-01`, { token: freshArm, body: { location: 'westus' } })
  const freshKeys = await azidJson<{ keys: { value: string }[] }>(
    fresh,
    'POST',
    `${acctId}/listKeys?api-version=2024-01-01`,
    { token: freshArm },
  )
  await sleep(2000)
  const idle = rssBytes(fresh.pid)
  let peak = idle
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, rssBytes(fresh.pid))
      await sleep(50)
    }
  })()
  const huge = await runClient(client, join(fresh.dataDir, 'pki', 'ca.pem'), {
    url: `${freshEndpoints.storage.blob}/benchacct`,
    account: 'benchacct',
    key: freshKeys.keys[0]?.value,
    kind: 'huge',
    op: 'rss',
    size: 1024 * MiB,
    concurrency: 1,
    minOps: 1,
    seconds: 0,
  })
  sampling = false
  await sampler
  await fresh.stop()
  opts.log(`  1 GiB upload in ${fmt.s(huge.seconds as number)}; azid RSS before ${fmt.mb(idle)}, peak ${fmt.mb(peak)}`)

  const rows: Section['rows'] = []
  const label: Record<string, string> = {
    up1: 'upload 1 MiB (uploadData, 4 concurrent)',
    down1: 'download 1 MiB (downloadToBuffer, 4 concurrent)',
    up64: 'upload 64 MiB (uploadData)',
    down64: 'download 64 MiB (downloadToBuffer)',
  }
  const data: Record<string, unknown> = {}
  for (const c of cases) {
    const r = results[c.kind] as { azid: number[]; azurite: number[] }
    const ratios = r.azid.map((x, i) => x / (r.azurite[i] as number))
    const ratio = median(ratios)
    rows.push({
      metric: label[c.kind] as string,
      value: `${median(r.azid).toFixed(1)} MB/s`,
      baseline: `${median(r.azurite).toFixed(1)} MB/s (Azurite)`,
      ratio: fmt.ratio(ratio),
      target: '≥ 1.0×',
      verdict: verdict(ratio, { atLeast: 1 }),
    })
    data[c.kind] = { azidMBps: r.azid, azuriteMBps: r.azurite, ratios }
    notes.push(`${label[c.kind]}: ratio per round ${spread(ratios, fmt.ratio)}`)
  }
  const keyRps = median(reads.sharedKey.map((x) => x.rps))
  const bearerRps = median(reads.bearer.map((x) => x.rps))
  const readRatios = reads.bearer.map((x, i) => x.rps / (reads.sharedKey[i]?.rps ?? Number.NaN))
  rows.push({
    metric: '4 KiB reads, bearer token (wrk -c16)',
    value: fmt.rate(bearerRps),
    baseline: `${fmt.rate(keyRps)} (Shared Key)`,
    ratio: fmt.ratio(median(readRatios)),
    target: '≥ 0.9×',
    verdict: verdict(median(readRatios), { atLeast: 0.9 }),
  })
  rows.push({
    metric: 'azid RSS while uploading 1 GiB (uploadStream, 8 MiB blocks, 4 in flight)',
    value: fmt.mb(peak),
    baseline: `${fmt.mb(idle)} (same process, idle before the upload)`,
    target: '≤ 200 MB',
    verdict: verdict(peak / MiB, { atMost: 200 }),
  })
  rows.push({ metric: '  of which growth during the upload', value: fmt.mb(Math.max(0, peak - idle)) })
  data.reads = { sharedKeyRps: reads.sharedKey.map((x) => x.rps), bearerRps: reads.bearer.map((x) => x.rps) }
  data.rss = { idle, peak, uploadSeconds: huge.seconds }
  notes.push(
    `${opts.rounds} interleaved rounds of ${opts.durationS}s per measurement; values are medians over rounds, ratios the median of per-round ratios`,
    'both servers speak HTTPS with the same certificate and are driven by the same @azure/storage-blob 12.32.0 client script in a child process (Shared Key); Azurite 3.35.0 runs with --loose --skipApiVersionCheck and its default on-disk blob store',
    `4 KiB reads: wrk -t2 -c16 replaying one signed GET of a 4 KiB blob (Shared Key with a fixed x-ms-date, or a bearer token for a principal with Storage Blob Data Reader); bearer ${spread(readRatios, fmt.ratio)} of Shared Key per round`,
    'RSS: VmRSS of the azid process (/proc/<pid>/status) sampled every 50 ms during the upload; a freshly started azid (default settings: SQLite, signing threads = cores) measured idle 2 s before the upload; that baseline is the whole server (token service, ARM, Key Vault, signing worker threads) as `node bin/azid.js start` runs it (the compiled JavaScript of scripts/build.mjs)',
  )
  if (opts.profile) notes.push(...profileNotes('azid (blob run)', profiles))
  return { title: 'Blob service (issue 5)', rows, notes, data }
}
