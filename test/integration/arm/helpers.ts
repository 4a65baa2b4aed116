// Shared by the ARM integration tests (not a test file: the runner picks only *.test.ts).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { AuditEvent } from '../../../src/audit/index.ts'
import { type HttpResult, httpsRequest, postForm } from '../../support/https.ts'
import type { TestServer } from '../../support/server.ts'

/** api-versions the current clients send (api-shapes §0.5), per provider. */
export const V = {
  rg: '2022-09-01',
  sub: '2022-12-01',
  mi: '2023-01-31',
  compute: '2024-11-01',
  auth: '2022-04-01',
  web: '2023-12-01',
  aci: '2023-05-01',
  arc: '2024-07-10',
  storage: '2024-01-01',
  keyVault: '2024-11-01',
  cosmos: '2016-03-31',
} as const

/** Built-in role GUIDs (api-shapes Appendix A). */
export const ROLE = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  UserAccessAdministrator: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  VirtualMachineContributor: '9980e02c-c2be-4d73-94e8-173b1dc7cf3c',
  ManagedIdentityContributor: 'e40ec5ca-96e0-45a2-b4ff-59039f2c2b59',
  ManagedIdentityOperator: 'f1a07417-d97a-45cb-824c-7a7467783830',
  StorageAccountKeyOperator: '81a9662b-bebf-436f-a333-f67b29880f12',
  StorageAccountContributor: '17d1049b-9a84-46fb-8f53-869881c3d3ab',
  CosmosDbAccountReader: 'fbdf93bf-df7d-467e-a4d2-9458aa1360c8',
  DocumentDbAccountContributor: '5bd9cd88-fe45-4216-938b-f97437e15450',
} as const

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** An ARM token (v1, aud https://management.azure.com) for an app with a client secret. */
export async function armToken(
  s: TestServer,
  clientId = s.clientId,
  secret = s.clientSecret,
  scope = 'https://management.azure.com/.default',
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

export interface CallOpts {
  /** JSON-encoded unless a string or Buffer. */
  body?: unknown
  headers?: Record<string, string>
  /** Overrides the client's token; null sends no Authorization header. */
  token?: string | null
}

export interface Arm {
  token: string | null
  /** Appends `api-version=v` (unless v is null) to `path` and sends the request. */
  call(method: string, path: string, v: string | null, opts?: CallOpts): Promise<HttpResult>
  get(path: string, v: string, opts?: CallOpts): Promise<HttpResult>
  head(path: string, v: string, opts?: CallOpts): Promise<HttpResult>
  put(path: string, v: string, body?: unknown, opts?: CallOpts): Promise<HttpResult>
  patch(path: string, v: string, body?: unknown, opts?: CallOpts): Promise<HttpResult>
  post(path: string, v: string, body?: unknown, opts?: CallOpts): Promise<HttpResult>
  del(path: string, v: string, opts?: CallOpts): Promise<HttpResult>
}

export function armClient(s: TestServer, token: string | null): Arm {
  const call: Arm['call'] = (method, path, v, opts = {}) => {
    const url = v === null ? `${s.base}${path}` : `${s.base}${path}${path.includes('?') ? '&' : '?'}api-version=${v}`
    const tok = opts.token === undefined ? token : opts.token
    const body =
      opts.body === undefined
        ? undefined
        : typeof opts.body === 'string' || Buffer.isBuffer(opts.body)
          ? opts.body
          : JSON.stringify(opts.body)
    return httpsRequest(url, {
      ca: s.ca,
      method,
      headers: {
        ...(tok ? { authorization: `Bearer ${tok}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...opts.headers,
      },
      ...(body === undefined ? {} : { body }),
    })
  }
  return {
    token,
    call,
    get: (p, v, o) => call('GET', p, v, o),
    head: (p, v, o) => call('HEAD', p, v, o),
    put: (p, v, body, o) => call('PUT', p, v, { ...o, ...(body === undefined ? {} : { body }) }),
    patch: (p, v, body, o) => call('PATCH', p, v, { ...o, ...(body === undefined ? {} : { body }) }),
    post: (p, v, body, o) => call('POST', p, v, { ...o, ...(body === undefined ? {} : { body }) }),
    del: (p, v, o) => call('DELETE', p, v, o),
  }
}

/** The bootstrap administrator (Owner on the default subscription). */
export async function adminClient(s: TestServer): Promise<Arm> {
  return armClient(s, await armToken(s))
}

/** Asserts `{"error":{"code","message"}}` with exactly these members, the status and (when given) the message. */
export function expectArmError(r: HttpResult, status: number, code: string, message?: string | RegExp) {
  assert.equal(r.status, status, r.text)
  assert.match(String(r.headers['content-type']), /^application\/json/)
  const body = r.json<{ error: { code: string; message: string } }>()
  assert.deepEqual(Object.keys(body), ['error'])
  assert.deepEqual(Object.keys(body.error), ['code', 'message'])
  assert.equal(body.error.code, code)
  if (typeof message === 'string') assert.equal(body.error.message, message)
  else if (message) assert.match(body.error.message, message)
  return body.error
}

export function expectOk<T = Record<string, unknown>>(r: HttpResult, status: number | number[] = 200): T {
  const ok = Array.isArray(status) ? status : [status]
  assert.ok(ok.includes(r.status), `status ${r.status} not in ${ok.join('/')}: ${r.text}`)
  return (r.text === '' ? undefined : r.json()) as T
}

/** A second application with a secret and a service principal: a caller with no role until one is given. */
export interface Principal {
  clientId: string
  objectId: string
  secret: string
  arm: Arm
}

export async function newPrincipal(s: TestServer, displayName: string): Promise<Principal> {
  const { application, servicePrincipal } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName,
  })
  const { secretText } = await s.server.directory.addPassword({ appId: application.appId })
  const token = await armToken(s, application.appId, secretText)
  return {
    clientId: application.appId,
    objectId: servicePrincipal.objectId,
    secret: secretText,
    arm: armClient(s, token),
  }
}

/** Creates a role assignment as `by` and returns its GUID. */
export async function assignRole(
  by: Arm,
  q: { scope: string; role: string; principalId: string; sub: string },
): Promise<string> {
  const name = randomUUID()
  const r = await by.put(`${q.scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, V.auth, {
    properties: {
      roleDefinitionId: `/subscriptions/${q.sub}/providers/Microsoft.Authorization/roleDefinitions/${q.role}`,
      principalId: q.principalId,
      principalType: 'ServicePrincipal',
    },
  })
  assert.equal(r.status, 201, r.text)
  return name
}

/** Paths under the default subscription. */
export function paths(sub: string) {
  const rg = (g: string) => `/subscriptions/${sub}/resourceGroups/${g}`
  return {
    sub: `/subscriptions/${sub}`,
    rg,
    uami: (g: string, n: string) => `${rg(g)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${n}`,
    vm: (g: string, n: string) => `${rg(g)}/providers/Microsoft.Compute/virtualMachines/${n}`,
    vmss: (g: string, n: string) => `${rg(g)}/providers/Microsoft.Compute/virtualMachineScaleSets/${n}`,
    storage: (g: string, n: string) => `${rg(g)}/providers/Microsoft.Storage/storageAccounts/${n}`,
    vault: (g: string, n: string) => `${rg(g)}/providers/Microsoft.KeyVault/vaults/${n}`,
    cosmos: (g: string, n: string) => `${rg(g)}/providers/Microsoft.DocumentDB/databaseAccounts/${n}`,
  }
}

export async function createGroup(admin: Arm, sub: string, name: string, location = 'westus') {
  const r = await admin.put(`/subscriptions/${sub}/resourcegroups/${name}`, V.rg, { location })
  assert.ok(r.status === 201 || r.status === 200, r.text)
}

/** Creates a user-assigned identity and returns its canonical id (`resourceGroups`) and properties. */
export async function createUami(admin: Arm, sub: string, rg: string, name: string) {
  const path = paths(sub).uami(rg, name)
  const r = await admin.put(path, V.mi, { location: 'westus' })
  assert.equal(r.status, 201, r.text)
  const props = r.json<{ properties: { principalId: string; clientId: string; tenantId: string } }>().properties
  return { id: path, ...props }
}

export function adminRequest(s: TestServer, path: string) {
  return httpsRequest(`${s.base}${path}`, { ca: s.ca, headers: { 'x-azid-admin-key': s.adminKey } })
}

/** Authorization audit events (newest first), optionally only those of one request. */
export async function authorizationEvents(s: TestServer, requestId?: string): Promise<AuditEvent[]> {
  const r = await adminRequest(s, '/_azid/logs?kind=authorization&limit=10000')
  assert.equal(r.status, 200, r.text)
  const all = r.json<{ value: AuditEvent[] }>().value
  return requestId ? all.filter((e) => e.requestId === requestId) : all
}
