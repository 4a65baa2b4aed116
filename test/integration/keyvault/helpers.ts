// Shared by the Key Vault integration and conformance tests (not a test file: the runner picks only *.test.ts).
import assert from 'node:assert/strict'
import { type HttpResult, httpsRequest, postForm } from '../../support/https.ts'
import type { TestServer } from '../../support/server.ts'
import { type Arm, type Principal, V, assignRole, createGroup, paths } from '../arm/helpers.ts'

export const VAULT_SCOPE = 'https://vault.azure.net/.default'
/** What the current SDKs send (api-shapes §7). */
export const KV_API = '7.6'

/** Built-in Key Vault roles (api-shapes Appendix A). */
export const KV_ROLE = {
  Administrator: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  SecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  SecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  Reader: '21090545-7ca7-4776-b22c-e363652d74d2',
} as const

export const CHALLENGE = (tenant: string) =>
  `Bearer authorization="https://login.microsoftonline.com/${tenant}", resource="https://vault.azure.net"`

/** Creates (or updates) a vault with the RBAC model and returns its ARM id. */
export async function createVault(
  s: TestServer,
  admin: Arm,
  rg: string,
  name: string,
  properties: Record<string, unknown> = {},
): Promise<string> {
  const sub = s.server.endpoints.subscriptionId
  await createGroup(admin, sub, rg)
  const id = paths(sub).vault(rg, name)
  const r = await admin.put(id, V.keyVault, {
    location: 'westus',
    properties: { tenantId: s.tenantId, sku: { family: 'A', name: 'standard' }, ...properties },
  })
  assert.ok(r.status === 200 || r.status === 201, r.text)
  return id
}

/** A v1 token for Key Vault (client credentials). */
export async function vaultToken(s: TestServer, clientId = s.clientId, secret = s.clientSecret): Promise<string> {
  const r = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/token`, s.ca, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: secret,
    scope: VAULT_SCOPE,
  })
  assert.equal(r.status, 200, r.text)
  return r.json<{ access_token: string }>().access_token
}

/** Gives `who` a Key Vault role at `scope` (a vault or `<vault>/secrets/<name>`), as the bootstrap administrator. */
export async function grant(s: TestServer, admin: Arm, scope: string, role: string, principalId: string) {
  await assignRole(admin, { scope, role, principalId, sub: s.server.endpoints.subscriptionId })
}

export interface KvCallOpts {
  /** null: no api-version; undefined: KV_API. */
  apiVersion?: string | null
  /** JSON-encoded unless a string or Buffer. */
  body?: unknown
  headers?: Record<string, string>
  /** Overrides the client's token; null sends no Authorization. */
  token?: string | null
  /** Extra raw query (appended as is). */
  query?: string
}

export interface Kv {
  /** The vault URL requests go to. */
  url: string
  call(method: string, path: string, opts?: KvCallOpts): Promise<HttpResult>
}

/**
 * A raw client of one vault. `loopback`: `https://127.0.0.1:<vaultPort>/<vault>` (path style); `host`: the main
 * HTTPS port with Host `<vault>.vault.azure.net` and that SNI, as namespace mode delivers it.
 */
export function kvClient(
  s: TestServer,
  vault: string,
  token: string | null,
  style: 'loopback' | 'host' = 'loopback',
): Kv {
  const e = s.server.endpoints
  const hostName = `${vault}.vault.azure.net`
  const url = style === 'loopback' ? e.keyVault.loopbackVaultUrl.replace('{vault}', vault) : s.base
  return {
    url,
    call(method, path, opts = {}) {
      const v = opts.apiVersion === undefined ? KV_API : opts.apiVersion
      const q = [v === null ? '' : `api-version=${encodeURIComponent(v)}`, opts.query ?? ''].filter(Boolean).join('&')
      const body =
        opts.body === undefined
          ? undefined
          : typeof opts.body === 'string' || Buffer.isBuffer(opts.body)
            ? opts.body
            : JSON.stringify(opts.body)
      const tok = opts.token === undefined ? token : opts.token
      return httpsRequest(`${url}${path}${q ? `?${q}` : ''}`, {
        ca: s.ca,
        method,
        ...(style === 'host' ? { servername: hostName } : {}),
        headers: {
          ...(style === 'host' ? { host: hostName } : {}),
          ...(tok ? { authorization: `Bearer ${tok}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...opts.headers,
        },
        ...(body === undefined ? {} : { body }),
      })
    },
  }
}

/** Asserts Key Vault's error envelope with exactly these members. */
export function expectKvError(
  r: HttpResult,
  status: number,
  code: string,
  message?: string | RegExp,
  inner?: string,
): { code: string; message: string } {
  assert.equal(r.status, status, r.text)
  assert.match(String(r.headers['content-type']), /^application\/json; charset=utf-8$/)
  assert.match(String(r.headers['x-ms-request-id']), /^[0-9a-f-]{36}$/)
  const body = r.json<{ error: { code: string; message: string; innererror?: { code: string } } }>()
  assert.deepEqual(Object.keys(body), ['error'])
  assert.deepEqual(Object.keys(body.error), inner ? ['code', 'message', 'innererror'] : ['code', 'message'])
  assert.equal(body.error.code, code)
  if (inner) assert.deepEqual(body.error.innererror, { code: inner })
  if (typeof message === 'string') assert.equal(body.error.message, message)
  else if (message) assert.match(body.error.message, message)
  return body.error
}

export function expectOk<T = Record<string, unknown>>(r: HttpResult, status = 200): T {
  assert.equal(r.status, status, r.text)
  return (r.text === '' ? undefined : r.json()) as T
}

export interface SecretBundle {
  value?: string
  id: string
  contentType?: string
  tags?: Record<string, string>
  attributes: {
    enabled: boolean
    nbf?: number
    exp?: number
    created: number
    updated: number
    recoveryLevel: string
    recoverableDays?: number
  }
  recoveryId?: string
  deletedDate?: number
  scheduledPurgeDate?: number
}

/** A principal with a vault token. */
export async function vaultPrincipal(s: TestServer, p: Principal): Promise<string> {
  return vaultToken(s, p.clientId, p.secret)
}
