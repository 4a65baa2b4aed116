// Shared by the Files integration tests (not a test file): wire-level requests to the file listener, path-style
// (`https://127.0.0.1:<filePort>/<account>/<share>/<path>`), signed with the test suite's own Shared Key signer
// (test/integration/blob/helpers.ts, written from the specification; the File service signs the same way).
import { readdirSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import type { HttpResult } from '../../support/https.ts'
import type { TestServer } from '../../support/server.ts'
import { type Account, type Auth, sharedKeySignature } from '../blob/helpers.ts'

export const FILE_ROLE = {
  PrivilegedContributor: '69566ab7-960f-475b-8e7c-b3118f30c6bd',
  PrivilegedReader: 'b8eda974-7b85-4f76-af95-65846b26df6d',
  SmbShareContributor: '0c867c2a-1d8c-454a-a3db-ab2ea1bdc8bb',
  SmbShareReader: 'aba4ae5f-2193-4029-9191-0cb91df5e314',
} as const

/** The version @azure/storage-file-share 12.31 sends; bearer tokens need 2022-11-02 or later. */
export const FILE_VERSION = '2026-04-06'

export interface FileCall {
  method: string
  /** Path after the account (`/share/dir/file`), query included. */
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
  auth?: Auth
  /** Leave out `x-ms-file-request-intent` on a bearer request (it is sent by default). */
  noIntent?: boolean
}

export interface Files {
  base: string
  call(c: FileCall): Promise<HttpResult & { body: Buffer }>
}

/** Wire-level requests to the file listener, path-style. Bearer requests carry the backup intent unless told not to. */
export function fileApi(s: TestServer, account: Account, defaultAuth: Auth = { key: account.key }): Files {
  const base = `${s.server.endpoints.storage.file}/${account.name}`
  return {
    base,
    call(c) {
      const url = new URL(`${base}${c.path}`)
      const auth = c.auth ?? defaultAuth
      const body = c.body === undefined ? undefined : Buffer.from(c.body)
      const headers: Record<string, string> = {
        'x-ms-version': FILE_VERSION,
        'x-ms-date': new Date().toUTCString(),
        ...(body ? { 'content-length': String(body.length) } : {}),
        ...(auth !== 'none' && 'bearer' in auth && !c.noIntent ? { 'x-ms-file-request-intent': 'backup' } : {}),
        ...c.headers,
      }
      let path = `${url.pathname}${url.search}`
      if (auth !== 'none') {
        if ('key' in auth)
          headers.authorization = `SharedKey ${account.name}:${sharedKeySignature({
            key: auth.key,
            account: account.name,
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

/** Create Share, Create Directory, Create File + Put Range: the usual setup, with Shared Key. */
export function fileOps(f: Files) {
  return {
    share: (name: string) => f.call({ method: 'PUT', path: `/${name}?restype=share` }),
    dir: (path: string, headers: Record<string, string> = {}) =>
      f.call({ method: 'PUT', path: `/${path}?restype=directory`, headers }),
    create: (path: string, size: number, headers: Record<string, string> = {}) =>
      f.call({
        method: 'PUT',
        path: `/${path}`,
        headers: { 'x-ms-type': 'file', 'x-ms-content-length': String(size), ...headers },
      }),
    put: (path: string, offset: number, data: Buffer, headers: Record<string, string> = {}, auth?: Auth) =>
      f.call({
        method: 'PUT',
        path: `/${path}?comp=range`,
        headers: { 'x-ms-write': 'update', 'x-ms-range': `bytes=${offset}-${offset + data.length - 1}`, ...headers },
        body: data,
        ...(auth ? { auth } : {}),
      }),
    get: (path: string, headers: Record<string, string> = {}, auth?: Auth) =>
      f.call({ method: 'GET', path: `/${path}`, headers, ...(auth ? { auth } : {}) }),
  }
}

/** Content files of the File service on disk (files no row names are garbage). */
export function fileContent(t: TestServer): string[] {
  try {
    return readdirSync(join(t.dataDir, 'storage', 'file'), { recursive: true })
      .map(String)
      .filter((f) => /[0-9a-f]{32}$/.test(f))
  } catch {
    return []
  }
}
