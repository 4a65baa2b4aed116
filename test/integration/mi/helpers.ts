// Shared by the managed-identity endpoint tests (not a test file: the runner picks only *.test.ts).
import assert from 'node:assert/strict'
import { type IncomingHttpHeaders, request } from 'node:http'
import type { AuditEvent } from '../../../src/audit/index.ts'
import type { ConfigInput } from '../../../src/config/index.ts'
import { httpsRequest } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { type Arm, V, adminClient, createGroup, createUami, paths } from '../arm/helpers.ts'

export { decodeJwt } from '../../support/https.ts'

export type Uami = Awaited<ReturnType<typeof createUami>>

export interface Ctx {
  s: TestServer
  admin: Arm
  sub: string
  p: ReturnType<typeof paths>
}

/** A whole azid with a resource group `rg` (and the bootstrap administrator's ARM client). */
export async function setup(overrides: ConfigInput = {}, groups: string[] = ['rg']): Promise<Ctx> {
  const s = await startTestServer(overrides)
  const sub = s.server.endpoints.subscriptionId
  const admin = await adminClient(s)
  for (const g of groups) await createGroup(admin, sub, g)
  return { s, admin, sub, p: paths(sub) }
}

export const uami = (c: Ctx, name: string, rg = 'rg') => createUami(c.admin, c.sub, rg, name)

export interface VmBody {
  id: string
  identity?: { principalId?: string; tenantId?: string; type: string; userAssignedIdentities?: Record<string, unknown> }
  properties: { vmId: string } & Record<string, unknown>
}

/** PUT a VM with the given identity (undefined: none) and returns the answer. */
export async function putVm(
  c: Ctx,
  name: string,
  identity?: { sa?: boolean; ua?: Uami[] },
  more: { rg?: string; tags?: Record<string, string>; location?: string } = {},
): Promise<VmBody & { path: string }> {
  const path = c.p.vm(more.rg ?? 'rg', name)
  const types = [identity?.sa ? 'SystemAssigned' : '', identity?.ua?.length ? 'UserAssigned' : ''].filter(Boolean)
  const body: Record<string, unknown> = {
    location: more.location ?? 'westus',
    properties: { hardwareProfile: { vmSize: 'Standard_D2s_v3' } },
    ...(more.tags ? { tags: more.tags } : {}),
    ...(types.length > 0
      ? {
          identity: {
            type: types.join(', '),
            ...(identity?.ua?.length
              ? { userAssignedIdentities: Object.fromEntries(identity.ua.map((u) => [u.id, {}])) }
              : {}),
          },
        }
      : {}),
  }
  const r = await c.admin.put(path, V.compute, body)
  assert.ok(r.status === 200 || r.status === 201, `PUT ${path}: ${r.status} ${r.text}`)
  return { ...r.json<VmBody>(), path }
}

export async function patchIdentity(c: Ctx, path: string, identity: unknown): Promise<VmBody> {
  const r = await c.admin.patch(path, V.compute, { identity })
  assert.equal(r.status, 200, r.text)
  return r.json<VmBody>()
}

// -- the admin API

export async function admin(
  s: TestServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: <T = Record<string, unknown>>() => T; text: string }> {
  const r = await httpsRequest(`${s.base}${path}`, {
    ca: s.ca,
    method,
    headers: {
      'x-azid-admin-key': s.adminKey,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return r
}

export interface Endpoint {
  host: { id: string; name: string; type: string; extensionPort: number | null }
  flavour: string
  env: Record<string, string>
  hostUrl: string | null
  hostSocket: string | null
  sharedSocket: string
}

/** `POST /_azid/hosts/endpoint`: what a process needs to act as `host` with `flavour`. */
export async function endpoint(s: TestServer, host: string, flavour?: string): Promise<Endpoint> {
  const r = await admin(s, 'POST', '/_azid/hosts/endpoint', { host, mode: 'loopback', ...(flavour ? { flavour } : {}) })
  assert.equal(r.status, 200, r.text)
  return r.json<Endpoint>()
}

/** The IMDS base URL of a host (AZURE_POD_IDENTITY_AUTHORITY_HOST of its loopback listener). */
export async function imdsBase(s: TestServer, host: string): Promise<string> {
  const e = await endpoint(s, host, 'imds')
  const base = e.env.AZURE_POD_IDENTITY_AUTHORITY_HOST
  assert.ok(base, JSON.stringify(e))
  assert.equal(base, e.hostUrl)
  return base
}

/** Audit events (newest first) read through the admin API after a flush. */
export async function logs(s: TestServer, query: string): Promise<AuditEvent[]> {
  await s.server.audit.flush()
  const r = await admin(s, 'GET', `/_azid/logs?${query}&limit=10000`)
  assert.equal(r.status, 200, r.text)
  return r.json<{ value: AuditEvent[] }>().value
}

export async function addFault(s: TestServer, rule: unknown): Promise<{ id: string }[]> {
  const r = await admin(s, 'POST', '/_azid/faults', rule)
  assert.equal(r.status, 201, r.text)
  return r.json<{ value: { id: string }[] }>().value
}

export async function clearFaults(s: TestServer): Promise<void> {
  const r = await admin(s, 'DELETE', '/_azid/faults')
  assert.equal(r.status, 200, r.text)
}

// -- plain HTTP to the endpoints

export interface Res {
  status: number
  statusMessage: string
  headers: IncomingHttpHeaders
  text: string
  json<T = Record<string, unknown>>(): T
}

/**
 * One request with `node:http` (no agent: every request has its own connection). `url` may carry a raw path such as
 * `//metadata/…`; it is sent exactly as given.
 */
export function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<Res> {
  const u = new URL(url)
  const raw = url.slice(url.indexOf('/', url.indexOf('//') + 2))
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body)
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: raw,
        method: opts.method ?? 'GET',
        agent: false,
        headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...opts.headers },
      },
      (r) => {
        const chunks: Buffer[] = []
        r.on('data', (d: Buffer) => chunks.push(d))
        r.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          resolve({
            status: r.statusCode ?? 0,
            statusMessage: r.statusMessage ?? '',
            headers: r.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          })
        })
        r.on('error', reject)
      },
    )
    if (opts.timeoutMs !== undefined)
      req.setTimeout(opts.timeoutMs, () =>
        req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })),
      )
    req.on('error', reject)
    if (body) req.write(body)
    req.end()
  })
}

export const MD = { Metadata: 'true' } as const
export const ARM_RESOURCE = 'https://management.azure.com/'
export const TOKEN_PATH = '/metadata/identity/oauth2/token'

/** GET the IMDS token endpoint with `Metadata: true` and the given query (a string, sent as is). */
export const imds = (base: string, query: string, headers: Record<string, string> = MD) =>
  http(`${base}${TOKEN_PATH}?${query}`, { headers })

export const q = (extra = '', resource = ARM_RESOURCE) =>
  `api-version=2018-02-01&resource=${encodeURIComponent(resource)}${extra ? `&${extra}` : ''}`

/** Asserts a `{"error","error_description"}` answer exactly. */
export function expectImdsError(r: Res, status: number, error: string, description: string | RegExp): void {
  assert.equal(r.status, status, r.text)
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  const body = r.json<{ error: string; error_description: string }>()
  assert.deepEqual(Object.keys(body), ['error', 'error_description'], r.text)
  assert.equal(body.error, error)
  if (typeof description === 'string') assert.equal(body.error_description, description)
  else assert.match(body.error_description, description)
}

export const IDENTITY_NOT_FOUND = '{"error":"invalid_request","error_description":"Identity not found"}'

/** The IMDS identity form with lower-case `resourcegroups` (xms_mirid, api-shapes §8.3). */
export const miridOf = (id: string) => id.replace(/\/resourceGroups\//i, '/resourcegroups/')

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
