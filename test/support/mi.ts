// Managed-identity conformance helpers: the admin API calls that make a process act as a host (hosts/endpoint,
// workload tokens, fault rules), and a tap: a transparent TCP/Unix-socket relay in front of a managed-identity
// listener that records every HTTP exchange (request line, headers, body, status). Clients are unmodified and
// talk plain HTTP to these endpoints, so the tap sees exactly what they sent, probes and retries included.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Forward } from '../../src/netns/index.ts'
import { type HttpResult, httpsRequest } from './https.ts'
import type { TestServer } from './server.ts'

/** What `POST /_azid/hosts/endpoint` answers (src/server/admin-routes.ts). */
export interface HostEndpointAnswer {
  host: { id: string; name: string; type: string; extensionPort: number | null }
  flavour: string
  env: Record<string, string>
  hostUrl: string | null
  hostSocket: string | null
  sharedSocket: string
  httpsSocket: string
}

/** A request to the admin API with the admin key. */
export function admin(s: TestServer, method: string, path: string, body?: unknown): Promise<HttpResult> {
  return httpsRequest(`${s.base}${path}`, {
    ca: s.ca,
    method,
    headers: {
      'x-azid-admin-key': s.adminKey,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

/** The environment (and sockets) a process needs to act as `host` with `flavour`. */
export async function hostEndpoint(
  s: TestServer,
  host: string,
  mode: 'loopback' | 'namespace',
  flavour?: string,
): Promise<HostEndpointAnswer> {
  const r = await admin(s, 'POST', '/_azid/hosts/endpoint', { host, mode, ...(flavour ? { flavour } : {}) })
  assert.equal(r.status, 200, r.text)
  return r.json<HostEndpointAnswer>()
}

/**
 * The forwards `azid run --host` sets up (src/cli/run.ts): IMDS at 169.254.169.254:80, Arc at 127.0.0.1:40342 and
 * the extension/Cloud Shell port to the host's socket; 127.0.0.1:44380 to the shared socket.
 */
export function hostForwards(e: HostEndpointAnswer): Forward[] {
  const out: Forward[] = []
  if (e.hostSocket) {
    out.push({ address: '169.254.169.254', port: 80, socket: e.hostSocket })
    out.push({ address: '127.0.0.1', port: 40342, socket: e.hostSocket })
    const ext = e.host.extensionPort ?? 50342
    out.push({ address: '127.0.0.1', port: ext, socket: e.hostSocket })
    if (ext !== 50342) out.push({ address: '127.0.0.1', port: 50342, socket: e.hostSocket })
  }
  out.push({ address: '127.0.0.1', port: 44380, socket: e.sharedSocket })
  return out
}

/** A federated token from azid's workload issuer (what a projected service-account token file holds). */
export async function workloadToken(
  s: TestServer,
  subject: string,
): Promise<{ token: string; expiresOn: number; issuer: string }> {
  const r = await admin(s, 'POST', '/_azid/workload/token', { subject })
  assert.equal(r.status, 200, r.text)
  return r.json()
}

export interface FaultRuleView {
  id: string
  remaining: number | null
  effect: { kind: string; status?: number; retryAfter?: number }
}

export async function addFaults(s: TestServer, rules: unknown[]): Promise<FaultRuleView[]> {
  const r = await admin(s, 'POST', '/_azid/faults', rules)
  assert.equal(r.status, 201, r.text)
  return r.json<{ value: FaultRuleView[] }>().value
}

export async function listFaults(s: TestServer): Promise<FaultRuleView[]> {
  const r = await admin(s, 'GET', '/_azid/faults')
  assert.equal(r.status, 200, r.text)
  return r.json<{ value: FaultRuleView[] }>().value
}

export async function clearFaults(s: TestServer): Promise<void> {
  const r = await admin(s, 'DELETE', '/_azid/faults')
  assert.equal(r.status, 200, r.text)
}

/** The newest audit sequence number (read before an action; pass to auditAfter). */
export async function auditMark(s: TestServer): Promise<number> {
  await s.server.audit.flush()
  return (await s.server.audit.query({ limit: 1 }))[0]?.seq ?? 0
}

/** Audit events after `seq`, oldest first. */
export async function auditAfter(s: TestServer, seq: number, kind?: 'token' | 'fault') {
  await s.server.audit.flush()
  return s.server.audit.query({ afterSeq: seq, order: 'asc', limit: 10_000, ...(kind ? { kind } : {}) })
}

/** `xms_mirid` and Graph's alternativeNames use lower-case `resourcegroups` (api-shapes §8.3). */
export const mirid = (id: string) => id.replace(/\/resourceGroups\//i, '/resourcegroups/')

/** One HTTP exchange seen by a tap. Header names are lower case. */
export interface TapExchange {
  /** When the request's head arrived (epoch ms). */
  at: number
  method: string
  target: string
  headers: Record<string, string>
  body: string
  status: number | null
  responseBody: string
  responseHeaders: Record<string, string>
}

export interface Tap {
  /** `http://127.0.0.1:<port>` for a TCP tap, null for a socket tap. */
  origin: string | null
  /** The socket path for a socket tap, null for a TCP tap. */
  path: string | null
  exchanges: TapExchange[]
  /** Forget what was seen so far. */
  reset(): void
  close(): Promise<void>
}

interface Head {
  first: string
  headers: Record<string, string>
  length: number
}

function parseHead(text: string): Head {
  const [first = '', ...lines] = text.split('\r\n')
  const headers: Record<string, string> = {}
  for (const l of lines) {
    const i = l.indexOf(':')
    if (i < 0) continue
    const k = l.slice(0, i).trim().toLowerCase()
    const v = l.slice(i + 1).trim()
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`
  }
  return { first, headers, length: Number(headers['content-length'] ?? 0) }
}

/** Splits an HTTP/1.1 byte stream into messages (Content-Length bodies or chunked; MI clients send no others). */
function messageReader(onMessage: (head: Head, body: Buffer) => void) {
  let buf = Buffer.alloc(0)
  return (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk])
    for (;;) {
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = parseHead(buf.subarray(0, end).toString('latin1'))
      const start = end + 4
      if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) {
        const done = buf.indexOf('\r\n0\r\n\r\n', start - 2)
        if (done < 0) return
        onMessage(head, buf.subarray(start, done))
        buf = buf.subarray(done + 7)
        continue
      }
      if (buf.length < start + head.length) return
      onMessage(head, buf.subarray(start, start + head.length))
      buf = buf.subarray(start + head.length)
    }
  }
}

/**
 * A relay listening on a fresh Unix socket (`listen: 'unix'`) or 127.0.0.1 port (`'tcp'`) that pipes every
 * connection to `upstream` unchanged and records the exchanges.
 */
export async function startTap(
  upstream: { path: string } | { host: string; port: number },
  listen: 'unix' | 'tcp',
): Promise<Tap> {
  const exchanges: TapExchange[] = []
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    sockets.add(client)
    const up = 'path' in upstream ? connect(upstream.path) : connect(upstream.port, upstream.host)
    sockets.add(up)
    const pending: TapExchange[] = []
    const readRequest = messageReader((head, body) => {
      const [method = '', target = ''] = head.first.split(' ')
      const ex: TapExchange = {
        at: Date.now(),
        method,
        target,
        headers: head.headers,
        body: body.toString('utf8'),
        status: null,
        responseBody: '',
        responseHeaders: {},
      }
      exchanges.push(ex)
      pending.push(ex)
    })
    const readResponse = messageReader((head, body) => {
      const ex = pending.shift()
      if (!ex) return
      ex.status = Number(head.first.split(' ')[1])
      ex.responseHeaders = head.headers
      ex.responseBody = body.toString('utf8')
    })
    client.on('data', (d: Buffer) => {
      readRequest(d)
      up.write(d)
    })
    up.on('data', (d: Buffer) => {
      readResponse(d)
      client.write(d)
    })
    const end = () => {
      client.destroy()
      up.destroy()
      sockets.delete(client)
      sockets.delete(up)
    }
    client.on('end', () => up.end())
    up.on('end', () => client.end())
    client.on('close', end)
    up.on('close', end)
    client.on('error', end)
    up.on('error', end)
  })
  let dir: string | null = null
  let path: string | null = null
  await new Promise<void>((res, rej) => {
    server.once('error', rej)
    if (listen === 'unix') {
      dir = mkdtempSync(join(tmpdir(), 'azid-tap-'))
      path = join(dir, 'tap.sock')
      server.listen(path, res)
    } else server.listen(0, '127.0.0.1', res)
  })
  const origin = listen === 'tcp' ? `http://127.0.0.1:${(server.address() as AddressInfo).port}` : null
  return {
    origin,
    path,
    exchanges,
    reset() {
      exchanges.length = 0
    },
    close() {
      return new Promise((res) => {
        for (const s of sockets) s.destroy()
        server.close(() => {
          if (dir) rmSync(dir, { recursive: true, force: true })
          res()
        })
      })
    },
  }
}

/**
 * Puts a TCP tap in front of every `http://` origin named in `env` (one tap per origin) and returns the rewritten
 * environment; `exchanges()` lists what went through all of them, in order of arrival per tap.
 */
export async function tapEnv(env: Record<string, string>): Promise<{
  env: Record<string, string>
  taps: Map<string, Tap>
  exchanges(): TapExchange[]
  close(): Promise<void>
}> {
  const taps = new Map<string, Tap>()
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) {
    const m = /^http:\/\/([^/:]+):(\d+)/.exec(v)
    if (!m) {
      out[k] = v
      continue
    }
    const origin = m[0]
    let tap = taps.get(origin)
    if (!tap) {
      tap = await startTap({ host: m[1] as string, port: Number(m[2]) }, 'tcp')
      taps.set(origin, tap)
    }
    out[k] = `${tap.origin}${v.slice(origin.length)}`
  }
  return {
    env: out,
    taps,
    exchanges: () => [...taps.values()].flatMap((t) => t.exchanges),
    close: async () => {
      await Promise.all([...taps.values()].map((t) => t.close()))
    },
  }
}
