// Shared by the Blob integration tests (not a test file): an account with keys, and wire-level requests to the blob
// listener signed the way the specification says (an implementation of "Authorize with Shared Key" written for the
// tests, independent of src/dataplane/storage; the SDK conformance tests cover the SDKs' own signers).
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { type HttpResult, postForm } from '../../support/https.ts'
import type { TestServer } from '../../support/server.ts'
import { type Arm, V, adminClient, assignRole, createGroup, paths } from '../arm/helpers.ts'

export const STORAGE_ROLE = {
  BlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  BlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  BlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  BlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a',
  AccountKeyOperator: '81a9662b-bebf-436f-a333-f67b29880f12',
  AccountContributor: '17d1049b-9a84-46fb-8f53-869881c3d3ab',
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
} as const

export const VERSION = '2025-07-05'

export interface Account {
  name: string
  id: string
  key: string
  key2: string
  arm: Arm
  sub: string
}

/** A resource group and a storage account through ARM, with its keys from listKeys. */
export async function createAccount(
  s: TestServer,
  name: string,
  rg = 'blobtests',
  props: Record<string, unknown> = {},
): Promise<Account> {
  const arm = await adminClient(s)
  const sub = s.server.endpoints.subscriptionId
  await createGroup(arm, sub, rg)
  const id = paths(sub).storage(rg, name)
  const r = await arm.put(id, V.storage, {
    location: 'westus',
    kind: 'StorageV2',
    sku: { name: 'Standard_LRS' },
    properties: props,
  })
  assert.ok(r.status === 200 || r.status === 201, r.text)
  const keys = await arm.post(`${id}/listKeys`, V.storage)
  assert.equal(keys.status, 200, keys.text)
  const [k1, k2] = keys.json<{ keys: { value: string }[] }>().keys
  return { name, id, key: k1?.value ?? '', key2: k2?.value ?? '', arm, sub }
}

export async function grantRole(a: Account, role: string, principalId: string, scope = a.id): Promise<void> {
  await assignRole(a.arm, { scope, role, principalId, sub: a.sub })
}

/** A token for Storage (`https://storage.azure.com/.default`) with client credentials. */
export async function storageToken(
  s: TestServer,
  clientId = s.clientId,
  secret = s.clientSecret,
  scope = 'https://storage.azure.com/.default',
): Promise<string> {
  const r = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/token`, s.ca, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: secret,
    scope,
  })
  assert.equal(r.status, 200, r.text)
  return r.json<{ access_token: string }>().access_token
}

export type Auth = { key: string } | { bearer: string } | { sas: string } | 'none'

export interface BlobCall {
  method: string
  /** Path after the account (`/container/blob`), query included. */
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
  auth?: Auth
  /** Sign with this account name instead (a wrong-account test). */
  signAs?: string
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean
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

export interface Blob {
  base: string
  call(c: BlobCall): Promise<HttpResult & { body: Buffer }>
}

/** Wire-level requests to the blob listener, path-style (`https://127.0.0.1:<port>/<account>…`). */
export function blobApi(s: TestServer, account: Account, defaultAuth: Auth = { key: account.key }): Blob {
  const base = `${s.server.endpoints.storage.blob}/${account.name}`
  return {
    base,
    call(c) {
      const url = new URL(`${base}${c.path}`)
      const auth = c.auth ?? defaultAuth
      const body = c.body === undefined ? undefined : Buffer.from(c.body)
      const headers: Record<string, string> = {
        'x-ms-version': VERSION,
        'x-ms-date': new Date().toUTCString(),
        ...(body && !c.chunked ? { 'content-length': String(body.length) } : {}),
        ...(c.chunked ? { 'transfer-encoding': 'chunked' } : {}),
        ...c.headers,
      }
      let path = `${url.pathname}${url.search}`
      if (auth !== 'none') {
        if ('key' in auth)
          headers.authorization = `SharedKey ${c.signAs ?? account.name}:${sharedKeySignature({
            key: auth.key,
            account: c.signAs ?? account.name,
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

/** Asserts Storage's XML error: status, `x-ms-error-code`, `<Code>`, the message's first line, request id and time. */
export function expectStorageError(
  r: HttpResult,
  status: number,
  code: string,
  q: { message?: string | RegExp; detail?: string | RegExp; head?: boolean } = {},
): void {
  assert.equal(r.status, status, r.text)
  assert.equal(r.headers['x-ms-error-code'], code, r.text)
  assert.match(String(r.headers['x-ms-request-id']), /^[0-9a-f-]{36}$/)
  assert.ok(r.headers.date, 'Date header')
  if (q.head) return
  assert.match(String(r.headers['content-type']), /^application\/xml/)
  const m =
    /^<\?xml version="1\.0" encoding="utf-8"\?><Error><Code>([^<]+)<\/Code><Message>([^<]*)\nRequestId:([0-9a-f-]{36})\nTime:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z)<\/Message>(.*)<\/Error>$/s.exec(
      r.text,
    )
  assert.ok(m, `not a Storage error body: ${r.text}`)
  assert.equal(m[1], code)
  assert.equal(m[3], r.headers['x-ms-request-id'])
  if (typeof q.message === 'string') assert.equal(m[2], q.message)
  else if (q.message) assert.match(m[2] as string, q.message)
  if (q.detail !== undefined) {
    const d = /<AuthenticationErrorDetail>([^<]*)<\/AuthenticationErrorDetail>/.exec(m[5] ?? '')
    assert.ok(d, `no AuthenticationErrorDetail in ${r.text}`)
    if (typeof q.detail === 'string') assert.equal(d[1], q.detail)
    else assert.match(d[1] as string, q.detail)
  }
}

export const STORAGE_CHALLENGE = (tenantId: string) =>
  `Bearer authorization_uri=https://login.microsoftonline.com/${tenantId}/oauth2/authorize resource_id=https://storage.azure.com`

/** Content files on disk (the commit point is the row; files no row names are garbage). */
export function contentFiles(t: TestServer): string[] {
  try {
    return readdirSync(join(t.dataDir, 'storage', 'blob'), { recursive: true })
      .map(String)
      .filter((f) => /[0-9a-f]{32}$/.test(f))
  } catch {
    return []
  }
}
