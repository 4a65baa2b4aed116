import { existsSync, readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request } from 'node:https'
import { join, resolve } from 'node:path'

/** How the CLI reaches a running azid: its runtime file, admin key and CA in the data directory. */
export interface Target {
  base: string
  adminKey: string
  ca: string
}

export class CliError extends Error {
  override name = 'CliError'
}

export function findTarget(q: { dataDir: string; url?: string; adminKey?: string }): Target {
  const dir = resolve(q.dataDir)
  const runtime = join(dir, 'runtime.json')
  let base = q.url
  if (!base) {
    if (!existsSync(runtime))
      throw new CliError(
        `no azid is running with data directory ${dir}: start one with 'azid start --data ${q.dataDir}'`,
      )
    base = (JSON.parse(readFileSync(runtime, 'utf8')) as { base: string }).base
  }
  const keyFile = join(dir, 'admin.key')
  const adminKey = q.adminKey ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '')
  const caFile = join(dir, 'pki', 'ca.pem')
  if (!existsSync(caFile)) throw new CliError(`no CA certificate at ${caFile}`)
  return { base, adminKey, ca: readFileSync(caFile, 'utf8') }
}

export interface HttpAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

/** One HTTPS request to azid (its CA trusted); connection errors become one readable line. */
export function httpsRequest(
  t: Pick<Target, 'base' | 'ca'>,
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const payload = opts.body === undefined ? undefined : Buffer.from(opts.body)
  const u = new URL(url, t.base)
  const send = u.protocol === 'http:' ? httpRequest : request
  return new Promise((res, rej) => {
    const req = send(
      u,
      {
        method,
        ...(u.protocol === 'https:' ? { ca: t.ca } : {}),
        headers: { ...(opts.headers ?? {}), ...(payload ? { 'content-length': String(payload.length) } : {}) },
        timeout: opts.timeoutMs ?? 120_000,
      },
      (r) => {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('end', () =>
          res({ status: r.statusCode ?? 0, headers: r.headers, text: Buffer.concat(chunks).toString('utf8') }),
        )
        r.on('error', (e) => rej(new CliError(`connection to azid at ${t.base} broke: ${e.message}`)))
      },
    )
    req.on('timeout', () =>
      req.destroy(new Error(`timed out after ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s`)),
    )
    req.on('error', (e: NodeJS.ErrnoException) => rej(unreachable(t.base, e)))
    if (payload) req.write(payload)
    req.end()
  })
}

export function unreachable(base: string, e: NodeJS.ErrnoException): CliError {
  return new CliError(
    e.code === 'ECONNREFUSED'
      ? `cannot reach azid at ${base} (connection refused): start it with 'azid start' or pass --data/--url`
      : `cannot reach azid at ${base}: ${e.message}`,
  )
}

/** A JSON request to the admin API; errors become one readable line. */
export async function adminRequest<T>(t: Target, method: string, path: string, body?: unknown): Promise<T> {
  const r = await httpsRequest(t, method, path, {
    headers: {
      'x-azid-admin-key': t.adminKey,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  let json: unknown
  try {
    json = r.text ? JSON.parse(r.text) : {}
  } catch {
    throw new CliError(`azid answered ${r.status} with a body that is not JSON`)
  }
  if (r.status >= 400) {
    const err = (json as { error?: { message?: string; code?: string } }).error
    throw new AdminError(`${err?.code ?? r.status}: ${err?.message ?? r.text}`, r.status, json)
  }
  return json as T
}

/** An error answer of the admin API (the body is kept: apply's carries every problem). */
export class AdminError extends CliError {
  readonly status: number
  readonly body: unknown
  constructor(message: string, status: number, body: unknown) {
    super(message)
    this.status = status
    this.body = body
  }
}
