// Wire-level requests to azid's storage listeners (Blob, Files), path-style, signed the way the specification says
// (an implementation of "Authorize with Shared Key" written for the tests, independent of src/dataplane/storage; the
// SDK conformance tests cover the SDKs' own signers). Used by test/integration/{blob,files}/helpers.ts.
import { createHmac } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import type { HttpResult } from './https.ts'
import type { TestServer } from './server.ts'

export type Auth = { key: string } | { bearer: string } | { sas: string } | 'none'

export interface StorageCall {
  method: string
  /** Path after the account (`/container/blob`, `/share/dir/file`), query included. */
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
  auth?: Auth
  /** Sign with this account name instead (a wrong-account test). */
  signAs?: string
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean
}

export interface StorageClient<C extends StorageCall = StorageCall> {
  /** `https://127.0.0.1:<port>/<account>`. */
  base: string
  call(c: C): Promise<HttpResult & { body: Buffer }>
}

/** Shared Key per the specification: standard headers, sorted x-ms-* headers, `/account/path` and sorted query. */
export function sharedKeySignature(q: {
  key: string
  account: string
  method: string
  /** Path as sent (path-style: `/account/container/blob`). */
  path: string
  query: URLSearchParams
  headers: Record<string, string>
}): string {
  const h = Object.fromEntries(Object.entries(q.headers).map(([k, v]) => [k.toLowerCase(), v]))
  const length = h['content-length'] === '0' ? '' : (h['content-length'] ?? '')
  const std = [
    q.method,
    h['content-encoding'] ?? '',
    h['content-language'] ?? '',
    length,
    h['content-md5'] ?? '',
    h['content-type'] ?? '',
    h.date ?? '',
    h['if-modified-since'] ?? '',
    h['if-match'] ?? '',
    h['if-none-match'] ?? '',
    h['if-unmodified-since'] ?? '',
    h.range ?? '',
  ].join('\n')
  const xms = Object.keys(h)
    .filter((k) => k.startsWith('x-ms-'))
    .sort()
    .map((k) => `${k}:${h[k]}\n`)
    .join('')
  const names = [...new Set([...q.query.keys()].map((k) => k.toLowerCase()))].sort()
  const query = names.map((k) => `\n${k}:${q.query.getAll(k).sort().join(',')}`).join('')
  const sts = `${std}\n${xms}/${q.account}${q.path}${query}`
  return createHmac('sha256', Buffer.from(q.key, 'base64')).update(sts, 'utf8').digest('base64')
}

/**
 * Requests to one account on a storage listener (`endpoint`, path-style): `x-ms-version` and `x-ms-date` set, signed
 * with the call's auth (Shared Key, bearer, a SAS appended to the query, or none). `headers` adds a service's own
 * default headers for a call.
 */
export function storageClient<C extends StorageCall>(
  s: TestServer,
  q: {
    endpoint: string
    account: { name: string }
    version: string
    defaultAuth: Auth
    headers?: (c: C, auth: Auth) => Record<string, string>
  },
): StorageClient<C> {
  const base = `${q.endpoint}/${q.account.name}`
  return {
    base,
    call(c) {
      const url = new URL(`${base}${c.path}`)
      const auth = c.auth ?? q.defaultAuth
      const body = c.body === undefined ? undefined : Buffer.from(c.body)
      const headers: Record<string, string> = {
        'x-ms-version': q.version,
        'x-ms-date': new Date().toUTCString(),
        ...(body && !c.chunked ? { 'content-length': String(body.length) } : {}),
        ...(c.chunked ? { 'transfer-encoding': 'chunked' } : {}),
        ...q.headers?.(c, auth),
        ...c.headers,
      }
      let path = `${url.pathname}${url.search}`
      if (auth !== 'none') {
        if ('key' in auth)
          headers.authorization = `SharedKey ${c.signAs ?? q.account.name}:${sharedKeySignature({
            key: auth.key,
            account: c.signAs ?? q.account.name,
            method: c.method,
            path: url.pathname,
            query: url.searchParams,
            headers,
          })}`
        else if ('bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`
        else path += `${url.search ? '&' : '?'}${auth.sas}`
      }
      return new Promise((res, rej) => {
        const req = request({ host: url.hostname, port: url.port, path, method: c.method, ca: s.ca, headers }, (r) => {
          const chunks: Buffer[] = []
          r.on('data', (d: Buffer) => chunks.push(d))
          r.on('end', () => {
            const buf = Buffer.concat(chunks)
            const text = buf.toString('utf8')
            res({
              status: r.statusCode ?? 0,
              headers: r.headers,
              text,
              body: buf,
              json: <T>() => JSON.parse(text) as T,
            })
          })
          r.on('error', rej)
        })
        req.on('error', rej)
        if (body) req.write(body)
        req.end()
      })
    },
  }
}

/** Content files of a storage service on disk (the commit point is the row; files no row names are garbage). */
export function contentFilesOf(t: TestServer, service: 'blob' | 'file'): string[] {
  try {
    return readdirSync(join(t.dataDir, 'storage', service), { recursive: true })
      .map(String)
      .filter((f) => /[0-9a-f]{32}$/.test(f))
  } catch {
    return []
  }
}
