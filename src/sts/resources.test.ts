import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Application, DirectoryStore } from '../directory/index.ts'
import { StsError } from './errors.ts'
import { parseScope, resolveResource } from './resources.ts'

const stsError = (code: string) => (e: unknown) => {
  assert.ok(e instanceof StsError, `expected an StsError, got ${String(e)}`)
  assert.equal(e.code, code)
  return true
}

describe('parseScope', () => {
  test('ARM .default with the double slash: the resource keeps its trailing slash', () => {
    const s = parseScope('https://management.core.windows.net//.default')
    assert.equal(s.resource, 'https://management.core.windows.net/')
    assert.deepEqual(s.permissions, ['.default'])
    assert.equal(s.isDefault, true)
    assert.equal(s.openid, false)
  })

  test('a bare permission belongs to Microsoft Graph', () => {
    const s = parseScope('User.Read')
    assert.equal(s.resource, 'https://graph.microsoft.com')
    assert.deepEqual(s.permissions, ['User.Read'])
    assert.equal(s.isDefault, false)
  })

  test('OIDC scopes alone name no resource', () => {
    const s = parseScope('openid profile offline_access')
    assert.equal(s.resource, null)
    assert.deepEqual(s.permissions, [])
    assert.equal(s.openid, true)
    assert.equal(s.offlineAccess, true)
    assert.equal(s.raw, 'openid profile offline_access')
  })

  test('OIDC scopes mix with one resource; extra whitespace is ignored', () => {
    const s = parseScope('  openid   https://storage.azure.com/user_impersonation\toffline_access ')
    assert.equal(s.resource, 'https://storage.azure.com')
    assert.deepEqual(s.permissions, ['user_impersonation'])
    assert.equal(s.openid, true)
    assert.equal(s.offlineAccess, true)
  })

  test('several permissions of one resource (case and trailing slash aside) are fine', () => {
    const s = parseScope('https://graph.microsoft.com/User.Read HTTPS://GRAPH.MICROSOFT.COM/Mail.Read')
    assert.equal(s.resource, 'https://graph.microsoft.com')
    assert.deepEqual(s.permissions, ['User.Read', 'Mail.Read'])
  })

  test('.default combined with another permission is refused', () => {
    assert.throws(
      () => parseScope('https://graph.microsoft.com/.default https://graph.microsoft.com/User.Read'),
      stsError('defaultScopeCombined'),
    )
    assert.throws(() => parseScope('User.Read .default'), stsError('defaultScopeCombined'))
  })

  test('two resources in one request are refused', () => {
    assert.throws(
      () => parseScope('https://graph.microsoft.com/User.Read https://vault.azure.net/.default'),
      stsError('multipleResources'),
    )
    assert.throws(() => parseScope('User.Read https://storage.azure.com/.default'), stsError('multipleResources'))
  })

  test('a resource with an empty permission is an invalid scope', () => {
    assert.throws(() => parseScope('https://vault.azure.net/'), stsError('invalidScope'))
  })
})

const TENANT = '4f1c2a9e-6b3d-4e8a-9c71-2d5f0b8e3a14'

const app = (over: Partial<Application>): Application => ({
  tenantId: TENANT,
  objectId: '10000000-0000-4000-8000-000000000001',
  appId: '20000000-0000-4000-8000-000000000001',
  displayName: 'my api',
  isPublicClient: false,
  accessTokenVersion: 1,
  identifierUris: [],
  redirectUris: [],
  appRoles: [],
  createdAt: 0,
  ...over,
})

/** Only what resolveResource reads; anything else is a test failure. */
function fakeDirectory(apps: readonly Application[]): DirectoryStore {
  const impl: Partial<DirectoryStore> = {
    async getApplicationByAppId(appId) {
      return apps.find((a) => a.appId === appId.toLowerCase())
    },
    async listApplications(tenantId) {
      return apps.filter((a) => a.tenantId === tenantId)
    },
  }
  return new Proxy(impl as DirectoryStore, {
    get(target, prop) {
      const v = Reflect.get(target, prop)
      if (v === undefined && typeof prop === 'string') throw new Error(`fake DirectoryStore: ${prop} not expected`)
      return v
    },
  })
}

describe('resolveResource', () => {
  const V1 = app({ identifierUris: ['api://my-api', 'https://api.contoso.example/'] })
  const V2 = app({
    objectId: '10000000-0000-4000-8000-000000000002',
    appId: '20000000-0000-4000-8000-000000000002',
    displayName: 'v2 api',
    accessTokenVersion: 2,
    identifierUris: ['api://v2-api'],
  })
  const OTHER = app({
    tenantId: '99999999-0000-4000-8000-000000000000',
    objectId: '10000000-0000-4000-8000-000000000003',
    appId: '20000000-0000-4000-8000-000000000003',
    identifierUris: ['api://elsewhere'],
  })
  const store = fakeDirectory([V1, V2, OTHER])
  const resolve = (resource: string, permissions?: readonly string[]) =>
    resolveResource({
      store,
      tenantId: TENANT,
      tenantName: 'azid.onmicrosoft.com',
      resource,
      ...(permissions ? { permissions } : {}),
    })

  const ARM = '797f4846-ba00-4fd7-ba43-dac1f8f63013'
  const STORAGE = 'e406a681-f3d4-42a8-90b6-c2b029497af1'

  test('AUD-003: first-party identifiers with and without a trailing slash; aud echoes the request', async () => {
    for (const id of [
      'https://management.core.windows.net/',
      'https://management.core.windows.net',
      'https://management.azure.com/',
      'https://management.azure.com',
      'HTTPS://Management.Azure.com//',
    ]) {
      const r = await resolve(id)
      assert.equal(r.appId, ARM, id)
      assert.equal(r.audience, id)
      assert.equal(r.requested, id)
      assert.equal(r.tokenVersion, 1)
      assert.equal(r.application, null)
      assert.deepEqual(r.scopes, ['user_impersonation'])
    }
    for (const id of ['https://storage.azure.com', 'https://storage.azure.com/'])
      assert.equal((await resolve(id)).appId, STORAGE)
    assert.equal((await resolve('https://vault.azure.net')).displayName, 'Azure Key Vault')
    assert.equal((await resolve('https://datalake.azure.net/')).displayName, 'Azure Data Lake')
    assert.equal((await resolve('https://graph.windows.net/')).appId, '00000002-0000-0000-c000-000000000000')
  })

  test('AUD-003: per-account storage endpoints resolve to Azure Storage', async () => {
    const r = await resolve('https://myacct.blob.core.windows.net')
    assert.equal(r.appId, STORAGE)
    assert.equal(r.audience, 'https://myacct.blob.core.windows.net')
    assert.equal((await resolve('https://myacct.file.core.windows.net/')).appId, STORAGE)
    await assert.rejects(resolve('https://myacct.blob.core.windows.net.evil.example'), stsError('resourceNotFound'))
  })

  test('AUD-002: a first-party resource by bare application id; aud is the id as requested', async () => {
    const devops = await resolve('499b84ac-1321-427f-aa17-267ca6975798')
    assert.equal(devops.displayName, 'Azure DevOps')
    assert.equal(devops.appId, '499b84ac-1321-427f-aa17-267ca6975798')
    assert.equal(devops.audience, '499b84ac-1321-427f-aa17-267ca6975798')
    assert.equal(devops.tokenVersion, 1)
    const arm = await resolve(ARM.toUpperCase())
    assert.equal(arm.appId, ARM)
    assert.equal(arm.audience, ARM.toUpperCase())
  })

  test('delegated scopes: the permissions asked for, else the resource default; .default does not count', async () => {
    assert.deepEqual((await resolve('https://graph.microsoft.com', ['User.Read', 'Mail.Read'])).scopes, [
      'User.Read',
      'Mail.Read',
    ])
    assert.deepEqual((await resolve('https://graph.microsoft.com', ['.default'])).scopes, ['User.Read'])
    assert.deepEqual((await resolve('https://vault.azure.net', ['.DEFAULT'])).scopes, ['user_impersonation'])
  })

  test('a directory application by identifier URI (slash- and case-blind) or by application id', async () => {
    const byUri = await resolve('api://my-api/')
    assert.equal(byUri.appId, V1.appId)
    assert.equal(byUri.audience, 'api://my-api/')
    assert.equal(byUri.tokenVersion, 1)
    assert.equal(byUri.application, V1)
    assert.deepEqual(byUri.scopes, ['user_impersonation'])
    assert.equal((await resolve('https://API.contoso.example')).appId, V1.appId)
    const byId = await resolve(V1.appId.toUpperCase())
    assert.equal(byId.appId, V1.appId)
    assert.equal(byId.audience, V1.appId.toUpperCase())
    assert.deepEqual((await resolve('api://my-api', ['Files.Read'])).scopes, ['Files.Read'])
  })

  test('an application that asked for v2 tokens gets its application id as audience', async () => {
    for (const id of ['api://v2-api', V2.appId]) {
      const r = await resolve(id)
      assert.equal(r.tokenVersion, 2)
      assert.equal(r.audience, V2.appId)
      assert.equal(r.requested, id)
    }
  })

  test('AUD-001: anything else is resourceNotFound, naming the resource and the tenant', async () => {
    for (const id of ['https://unknown.example', 'api://elsewhere', '30000000-0000-4000-8000-000000000009']) {
      await assert.rejects(resolve(id), (e: unknown) => {
        assert.ok(e instanceof StsError)
        assert.equal(e.code, 'resourceNotFound')
        assert.deepEqual(e.args, { resource: id, tenantName: 'azid.onmicrosoft.com' })
        return true
      })
    }
  })
})
