// Shared by the Blob integration tests (not a test file): an account with keys, and wire-level requests to the blob
// listener signed the way the specification says (test/support/storage.ts).
import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import { scratchDir } from '../../support/child.ts'
import { type HttpResult, postForm } from '../../support/https.ts'
import { type HostEndpointAnswer, hostEndpoint } from '../../support/mi.ts'
import { type TestServer, startTestServer } from '../../support/server.ts'
import {
  type Auth,
  type StorageCall,
  type StorageClient,
  contentFilesOf,
  sharedKeySignature,
  storageClient,
} from '../../support/storage.ts'
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

/** What a storage conformance file works with; filled in before its tests (storageSuite). */
export interface StorageSuite {
  s: TestServer
  acct: Account
  scratch: ReturnType<typeof scratchDir>
  /** The service's loopback URL of the account: `https://127.0.0.1:<port>/<account>`. */
  url: string
}

/**
 * Registers a conformance file's set-up: a server, a scratch directory and a storage account, then `prepare` (its
 * principals and roles; node 20 runs root `before` hooks concurrently, so it goes in this one); gone after its tests.
 */
export function storageSuite(q: {
  service: 'blob' | 'file'
  account: string
  rg?: string
  scratch: string
  prepare?: (suite: StorageSuite) => Promise<void>
}): StorageSuite {
  const suite = {} as StorageSuite
  before(async () => {
    suite.s = await startTestServer()
    suite.scratch = scratchDir(q.scratch)
    suite.acct = await createAccount(suite.s, q.account, q.rg)
    suite.url = `${suite.s.server.endpoints.storage[q.service]}/${q.account}`
    await q.prepare?.(suite)
  })
  after(async () => {
    suite.scratch?.dispose()
    await suite.s?.stop()
  })
  return suite
}

/** A VM with a system-assigned identity in the account's resource group, and how a process acts as that VM. */
export async function identityVm(
  s: TestServer,
  a: Account,
  name: string,
  mode: 'loopback' | 'namespace' = 'loopback',
): Promise<{ vmId: string; principalId: string; endpoint: HostEndpointAnswer }> {
  const vmId = `${a.id.replace(/\/providers\/.*$/, '')}/providers/Microsoft.Compute/virtualMachines/${name}`
  const vm = await a.arm.put(vmId, V.compute, {
    location: 'westus',
    identity: { type: 'SystemAssigned' },
    properties: {},
  })
  assert.equal(vm.status, 201, vm.text)
  const principalId = vm.json<{ identity: { principalId: string } }>().identity.principalId
  return { vmId, principalId, endpoint: await hostEndpoint(s, vmId, mode) }
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

export { type Auth, sharedKeySignature }

export type BlobCall = StorageCall
export type Blob = StorageClient

/** Wire-level requests to the blob listener, path-style (`https://127.0.0.1:<port>/<account>…`). */
export function blobApi(s: TestServer, account: Account, defaultAuth: Auth = { key: account.key }): Blob {
  return storageClient(s, { endpoint: s.server.endpoints.storage.blob, account, version: VERSION, defaultAuth })
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
export const contentFiles = (t: TestServer): string[] => contentFilesOf(t, 'blob')
