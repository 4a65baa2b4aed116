import { existsSync, readFileSync } from 'node:fs'
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

/** A JSON request to the admin API; errors become one readable line. */
export function adminRequest<T>(t: Target, method: string, path: string, body?: unknown): Promise<T> {
  const url = new URL(path, t.base)
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  return new Promise((res, rej) => {
    const req = request(
      url,
      {
        method,
        ca: t.ca,
        headers: {
          'x-azid-admin-key': t.adminKey,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
        timeout: 30_000,
      },
      (r) => {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = text ? JSON.parse(text) : {}
          } catch {
            rej(new CliError(`azid answered ${r.statusCode} with a body that is not JSON`))
            return
          }
          if ((r.statusCode ?? 500) >= 400) {
            const err = (json as { error?: { message?: string; code?: string } }).error
            rej(new CliError(`${err?.code ?? r.statusCode}: ${err?.message ?? text}`))
          } else res(json as T)
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')))
    req.on('error', (e: NodeJS.ErrnoException) =>
      rej(
        new CliError(
          e.code === 'ECONNREFUSED'
            ? `cannot reach azid at ${t.base} (connection refused): is it running?`
            : `cannot reach azid at ${t.base}: ${e.message}`,
        ),
      ),
    )
    if (payload) req.write(payload)
    req.end()
  })
}
