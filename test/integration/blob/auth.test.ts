// Blob authentication and authorization on the wire (issue 5 §2 and "Bad input"; api-shapes §6.4, §6.7): Shared Key,
// service / account / user delegation SAS, bearer tokens with RBAC dataActions, and each refusal in Storage's own
// status, x-ms-error-code and XML body, with the unquoted bearer challenge on 401s. Requirements: STG-001, STG-005,
// STG-006, STG-008, TOK-010.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobSASPermissions,
  ContainerSASPermissions,
  SASProtocol,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob'
import { postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { type Principal, V, authorizationEvents, newPrincipal } from '../arm/helpers.ts'
import {
  type Account,
  type Blob,
  STORAGE_CHALLENGE,
  STORAGE_ROLE,
  blobApi,
  createAccount,
  expectStorageError,
  grantRole,
  storageToken,
} from './helpers.ts'

let s: TestServer
let acct: Account
let api: Blob
let reader: Principal
let contributor: Principal
let nobody: Principal

const HOUR = 3600_000

before(async () => {
  s = await startTestServer()
  acct = await createAccount(s, 'authacct')
  api = blobApi(s, acct)
  assert.equal((await api.call({ method: 'PUT', path: '/data?restype=container' })).status, 201)
  const put = await api.call({
    method: 'PUT',
    path: '/data/hello.txt',
    headers: { 'x-ms-blob-type': 'BlockBlob', 'content-type': 'text/plain' },
    body: 'Hello world! :)',
  })
  assert.equal(put.status, 201, put.text)
  reader = await newPrincipal(s, 'blob-reader')
  contributor = await newPrincipal(s, 'blob-contributor')
  nobody = await newPrincipal(s, 'blob-nobody')
  await grantRole(acct, STORAGE_ROLE.BlobDataReader, reader.objectId)
  await grantRole(
    acct,
    STORAGE_ROLE.BlobDataContributor,
    contributor.objectId,
    `${acct.id}/blobServices/default/containers/data`,
  )
})
after(() => s.stop())

test('Shared Key: signed requests work; a wrong signature is 403 AuthenticationFailed quoting the string to sign', async () => {
  const ok = await api.call({ method: 'GET', path: '/data/hello.txt' })
  assert.equal(ok.status, 200)
  assert.equal(ok.text, 'Hello world! :)')
  assert.equal(ok.headers['x-ms-version'], '2025-07-05')
  assert.equal(ok.headers.server, 'Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0')
  const bad = await api.call({
    method: 'GET',
    path: '/data/hello.txt',
    auth: { key: Buffer.alloc(64, 1).toString('base64') },
  })
  expectStorageError(bad, 403, 'AuthenticationFailed', {
    message:
      'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
    detail:
      /^The MAC signature found in the HTTP request '[^']+' is not the same as any computed signature\. Server used following string to sign: 'GET\n/,
  })
  // Azure's reason phrase is the message.
  const key2 = await api.call({ method: 'GET', path: '/data/hello.txt', auth: { key: acct.key2 } })
  assert.equal(key2.status, 200, 'key2 signs too')
  const stale = await api.call({
    method: 'GET',
    path: '/data/hello.txt',
    headers: { 'x-ms-date': new Date(Date.now() - 20 * 60_000).toUTCString() },
  })
  expectStorageError(stale, 403, 'AuthenticationFailed', { detail: /^Request date header too old: / })
  const other = await api.call({ method: 'GET', path: '/data/hello.txt', signAs: 'otheracct' })
  expectStorageError(other, 403, 'AuthenticationFailed', { detail: /does not match the account authacct/ })
})

test('no credentials: 401 NoAuthenticationInformation with the storage challenge (unquoted parameters)', async () => {
  const r = await api.call({ method: 'GET', path: '/data/hello.txt', auth: 'none' })
  expectStorageError(r, 401, 'NoAuthenticationInformation', {
    message:
      'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.',
  })
  assert.equal(r.headers['www-authenticate'], STORAGE_CHALLENGE(s.tenantId))
  const head = await api.call({ method: 'HEAD', path: '/data/hello.txt', auth: 'none' })
  expectStorageError(head, 401, 'NoAuthenticationInformation', { head: true })
  assert.equal(head.text, '')
})

test('bearer tokens: RBAC dataActions decide (Reader reads, cannot write; no role is 403 AuthorizationPermissionMismatch)', async () => {
  const readerToken = await storageToken(s, reader.clientId, reader.secret)
  const got = await api.call({ method: 'GET', path: '/data/hello.txt', auth: { bearer: readerToken } })
  assert.equal(got.status, 200, got.text)
  assert.equal(got.text, 'Hello world! :)')
  const list = await api.call({
    method: 'GET',
    path: '/data?restype=container&comp=list',
    auth: { bearer: readerToken },
  })
  assert.equal(list.status, 200, list.text)
  const write = await api.call({
    method: 'PUT',
    path: '/data/new.txt',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'x',
    auth: { bearer: readerToken },
  })
  expectStorageError(write, 403, 'AuthorizationPermissionMismatch', {
    message: 'This request is not authorized to perform this operation using this permission.',
  })
  const nobodyToken = await storageToken(s, nobody.clientId, nobody.secret)
  const denied = await api.call({ method: 'GET', path: '/data/hello.txt', auth: { bearer: nobodyToken } })
  expectStorageError(denied, 403, 'AuthorizationPermissionMismatch')
  // The container-scoped Contributor writes in `data`, not elsewhere.
  const cToken = await storageToken(s, contributor.clientId, contributor.secret)
  const w = await api.call({
    method: 'PUT',
    path: '/data/by-contributor.txt',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'c',
    auth: { bearer: cToken },
  })
  assert.equal(w.status, 201, w.text)
  assert.equal((await api.call({ method: 'PUT', path: '/other?restype=container' })).status, 201)
  const elsewhere = await api.call({
    method: 'PUT',
    path: '/other/x.txt',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'c',
    auth: { bearer: cToken },
  })
  expectStorageError(elsewhere, 403, 'AuthorizationPermissionMismatch')
  // Decisions are audited, allowed and denied, with the action and the container scope.
  const events = await authorizationEvents(s)
  assert.ok(
    events.some(
      (e) =>
        e.result === 'failure' &&
        e.principalId === nobody.objectId &&
        (e.details as { action?: string }).action ===
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
    ),
  )
  assert.ok(
    events.some(
      (e) =>
        e.result === 'success' &&
        e.principalId === reader.objectId &&
        (e.details as { scope?: string }).scope === `${acct.id}/blobServices/default/containers/data`,
    ),
  )
})

test('bearer tokens: audience storage.azure.com, its app id or the account URL; others, expired, foreign tenant are 401 with the challenge', async () => {
  const viaAccount = await storageToken(
    s,
    reader.clientId,
    reader.secret,
    'https://authacct.blob.core.windows.net/.default',
  )
  assert.equal((await api.call({ method: 'GET', path: '/data/hello.txt', auth: { bearer: viaAccount } })).status, 200)
  const arm = reader.arm.token as string
  const wrong = await api.call({ method: 'GET', path: '/data/hello.txt', auth: { bearer: arm } })
  expectStorageError(wrong, 401, 'InvalidAuthenticationInfo', {
    detail: 'Audience validation failed. Audience did not match.',
  })
  assert.equal(wrong.headers['www-authenticate'], STORAGE_CHALLENGE(s.tenantId))
  const garbage = await api.call({ method: 'GET', path: '/data/hello.txt', auth: { bearer: 'not.a.token' } })
  expectStorageError(garbage, 401, 'InvalidAuthenticationInfo')
  // Without x-ms-version (or before 2017-11-09) Storage does not accept bearer tokens at all.
  const readerToken = await storageToken(s, reader.clientId, reader.secret)
  const old = await api.call({
    method: 'GET',
    path: '/data/hello.txt',
    headers: { 'x-ms-version': '2017-07-29' },
    auth: { bearer: readerToken },
  })
  expectStorageError(old, 403, 'AuthenticationFailed', {
    detail: 'Authentication scheme Bearer is not supported in this version.',
  })
  // A token of another tenant: the challenge names the account's tenant (SDKs retry there).
  const other = await s.server.directory.ensureTenant({
    id: '0f0e0d0c-0b0a-4909-8807-060504030201',
    domain: 'other.onmicrosoft.com',
    displayName: 'other',
    isDefault: false,
  })
  {
    const app = await s.server.directory.createApplication({ tenantId: other.id, displayName: 'foreign' })
    const { secretText } = await s.server.directory.addPassword({ appId: app.application.appId })
    const r = await postForm(`${s.base}/${other.id}/oauth2/v2.0/token`, s.ca, {
      grant_type: 'client_credentials',
      client_id: app.application.appId,
      client_secret: secretText,
      scope: 'https://storage.azure.com/.default',
    })
    assert.equal(r.status, 200, r.text)
    const foreign = await api.call({
      method: 'GET',
      path: '/data/hello.txt',
      auth: { bearer: r.json<{ access_token: string }>().access_token },
    })
    expectStorageError(foreign, 401, 'InvalidAuthenticationInfo', {
      detail: 'Issuer validation failed. Issuer did not match.',
    })
    assert.equal(foreign.headers['www-authenticate'], STORAGE_CHALLENGE(s.tenantId))
  }
})

const cred = () => new StorageSharedKeyCredential(acct.name, acct.key)

test('service SAS: container and blob SAS from the SDK and ARM listServiceSas; permissions and resource enforced', async () => {
  const now = Date.now()
  const containerSas = generateBlobSASQueryParameters(
    {
      containerName: 'data',
      permissions: ContainerSASPermissions.parse('rl'),
      startsOn: new Date(now - HOUR),
      expiresOn: new Date(now + HOUR),
      protocol: SASProtocol.Https,
    },
    cred(),
  ).toString()
  assert.equal((await api.call({ method: 'GET', path: '/data/hello.txt', auth: { sas: containerSas } })).status, 200)
  assert.equal(
    (await api.call({ method: 'GET', path: '/data?restype=container&comp=list', auth: { sas: containerSas } })).status,
    200,
  )
  const write = await api.call({
    method: 'PUT',
    path: '/data/sas.txt',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'x',
    auth: { sas: containerSas },
  })
  expectStorageError(write, 403, 'AuthorizationPermissionMismatch')
  // Signed for `data`: used on `other` it does not verify.
  const elsewhere = await api.call({
    method: 'GET',
    path: '/other?restype=container&comp=list',
    auth: { sas: containerSas },
  })
  expectStorageError(elsewhere, 403, 'AuthenticationFailed', {
    detail: /^Signature did not match\. String to sign used was rl\n/,
  })

  const blobSas = generateBlobSASQueryParameters(
    {
      containerName: 'data',
      blobName: 'hello.txt',
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(now + HOUR),
      contentType: 'text/x-overridden',
    },
    cred(),
  ).toString()
  const viaBlobSas = await api.call({ method: 'GET', path: '/data/hello.txt', auth: { sas: blobSas } })
  assert.equal(viaBlobSas.status, 200)
  assert.equal(viaBlobSas.headers['content-type'], 'text/x-overridden', 'rsct overrides Content-Type')
  expectStorageError(
    await api.call({ method: 'GET', path: '/data?restype=container&comp=list', auth: { sas: blobSas } }),
    403,
    'AuthorizationResourceTypeMismatch',
  )

  // ARM listServiceSas (seed 003 "via a SAS credential"): rcw on the container, https only.
  const listed = await acct.arm.post(`${acct.id}/listServiceSas/`, V.storage, {
    canonicalizedResource: `/blob/${acct.name}/data`,
    signedResource: 'c',
    signedPermission: 'rcw',
    signedProtocol: 'https',
    signedExpiry: new Date(now + HOUR).toISOString(),
  })
  assert.equal(listed.status, 200, listed.text)
  const armSas = listed.json<{ serviceSasToken: string }>().serviceSasToken
  const up = await api.call({
    method: 'PUT',
    path: '/data/via-arm-sas.txt',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'This is a test file.',
    auth: { sas: armSas },
  })
  assert.equal(up.status, 201, up.text)
  const down = await api.call({ method: 'GET', path: '/data/via-arm-sas.txt', auth: { sas: armSas } })
  assert.equal(down.text, 'This is a test file.')
  expectStorageError(
    await api.call({ method: 'DELETE', path: '/data/via-arm-sas.txt', auth: { sas: armSas } }),
    403,
    'AuthorizationPermissionMismatch',
  )
})

test('SAS refusals: tampered signature, expired window, missing fields, old versions; all 403 AuthenticationFailed', async () => {
  const now = Date.now()
  const sas = (o: { start?: number; expiry: number; perms?: string }) =>
    generateBlobSASQueryParameters(
      {
        containerName: 'data',
        blobName: 'hello.txt',
        permissions: BlobSASPermissions.parse(o.perms ?? 'r'),
        ...(o.start ? { startsOn: new Date(o.start) } : {}),
        expiresOn: new Date(o.expiry),
      },
      cred(),
    ).toString()
  const get = (q: string) => api.call({ method: 'GET', path: '/data/hello.txt', auth: { sas: q } })
  const good = sas({ expiry: now + HOUR })
  const tampered = good.replace(/sp=r/, 'sp=rw')
  expectStorageError(await get(tampered), 403, 'AuthenticationFailed', { detail: /^Signature did not match/ })
  expectStorageError(await get(sas({ start: now - 2 * HOUR, expiry: now - HOUR })), 403, 'AuthenticationFailed', {
    detail:
      /^Signature not valid in the specified time frame: Start \[[^\]]+ GMT\] - Expiry \[[^\]]+ GMT\] - Current \[[^\]]+ GMT\]$/,
  })
  expectStorageError(await get(sas({ start: now + HOUR, expiry: now + 2 * HOUR })), 403, 'AuthenticationFailed', {
    detail: /^Signature not valid in the specified time frame/,
  })
  expectStorageError(await get(good.replace(/&?se=[^&]+/, '')), 403, 'AuthenticationFailed', {
    detail: 'se is mandatory. Cannot be empty',
  })
  expectStorageError(await get(good.replace(/sv=[^&]+/, 'sv=2013-08-15')), 403, 'AuthenticationFailed', {
    detail: 'Shared access signatures of version 2013-08-15 are not supported by azid.',
  })
  // Both a SAS and an Authorization header: refused.
  const both = await api.call({ method: 'GET', path: `/data/hello.txt?${good}` })
  expectStorageError(both, 403, 'AuthenticationFailed')
})

test('account SAS (SDK and ARM listAccountSas): services, resource types and permissions', async () => {
  const now = Date.now()
  const make = (services: string, types: string, perms: string) =>
    generateAccountSASQueryParameters(
      {
        services: AccountSASServices.parse(services).toString(),
        resourceTypes: AccountSASResourceTypes.parse(types).toString(),
        permissions: AccountSASPermissions.parse(perms),
        expiresOn: new Date(now + HOUR),
      },
      cred(),
    ).toString()
  const all = make('b', 'sco', 'rwdlc')
  assert.equal((await api.call({ method: 'GET', path: '/?comp=list', auth: { sas: all } })).status, 200)
  assert.equal(
    (await api.call({ method: 'PUT', path: '/madebysas?restype=container', auth: { sas: all } })).status,
    201,
  )
  expectStorageError(
    await api.call({ method: 'GET', path: '/data/hello.txt', auth: { sas: make('b', 'sc', 'r') } }),
    403,
    'AuthorizationResourceTypeMismatch',
  )
  expectStorageError(
    await api.call({ method: 'GET', path: '/data/hello.txt', auth: { sas: make('f', 'sco', 'r') } }),
    403,
    'AuthorizationServiceMismatch',
  )
  expectStorageError(
    await api.call({ method: 'DELETE', path: '/data/hello.txt', auth: { sas: make('b', 'o', 'r') } }),
    403,
    'AuthorizationPermissionMismatch',
  )
  const listed = await acct.arm.post(`${acct.id}/ListAccountSas`, V.storage, {
    signedServices: 'b',
    signedResourceTypes: 'sco',
    signedPermission: 'rl',
    signedProtocol: 'https,http',
    signedExpiry: new Date(now + HOUR).toISOString(),
  })
  assert.equal(listed.status, 200, listed.text)
  const armSas = listed.json<{ accountSasToken: string }>().accountSasToken
  const r = await api.call({ method: 'GET', path: '/data/hello.txt', auth: { sas: armSas } })
  assert.equal(r.status, 200, r.text)
})

test("user delegation key: bearer only, at most 7 days; the SAS it signs carries the signer's RBAC rights", async () => {
  const token = await storageToken(s, reader.clientId, reader.secret)
  const now = Date.now()
  const body = (start: number, expiry: number) =>
    `<?xml version="1.0" encoding="utf-8"?><KeyInfo><Start>${new Date(start).toISOString()}</Start><Expiry>${new Date(expiry).toISOString()}</Expiry></KeyInfo>`
  const r = await api.call({
    method: 'POST',
    path: '/?restype=service&comp=userdelegationkey',
    body: body(now - 60_000, now + HOUR),
    auth: { bearer: token },
  })
  assert.equal(r.status, 200, r.text)
  assert.match(
    r.text,
    new RegExp(
      `^<\\?xml version="1\\.0" encoding="utf-8"\\?><UserDelegationKey><SignedOid>${reader.objectId}</SignedOid><SignedTid>${s.tenantId}</SignedTid><SignedStart>\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ</SignedStart><SignedExpiry>[^<]+</SignedExpiry><SignedService>b</SignedService><SignedVersion>2025-07-05</SignedVersion><Value>[A-Za-z0-9+/]{43}=</Value></UserDelegationKey>$`,
    ),
  )
  const tooLong = await api.call({
    method: 'POST',
    path: '/?restype=service&comp=userdelegationkey',
    body: body(now, now + 8 * 24 * HOUR),
    auth: { bearer: token },
  })
  expectStorageError(tooLong, 400, 'InvalidXmlNodeValue')
  const withKey = await api.call({
    method: 'POST',
    path: '/?restype=service&comp=userdelegationkey',
    body: body(now, now + HOUR),
  })
  expectStorageError(withKey, 403, 'AuthenticationFailed', {
    detail: 'Only bearer tokens may call GetUserDelegationKey.',
  })
  const malformed = await api.call({
    method: 'POST',
    path: '/?restype=service&comp=userdelegationkey',
    body: '<KeyInfo><Expiry>',
    auth: { bearer: token },
  })
  expectStorageError(malformed, 400, 'InvalidXmlDocument')
  const noRole = await api.call({
    method: 'POST',
    path: '/?restype=service&comp=userdelegationkey',
    body: body(now, now + HOUR),
    auth: { bearer: await storageToken(s, nobody.clientId, nobody.secret) },
  })
  expectStorageError(noRole, 403, 'AuthorizationPermissionMismatch')

  // A SAS signed with the key (SDK, version 2026-04-06 layout) reads as the reader; the signer's RBAC still applies.
  const udkOf = async (t: string) => {
    const k = await api.call({
      method: 'POST',
      path: '/?restype=service&comp=userdelegationkey',
      body: body(now - 60_000, now + HOUR),
      auth: { bearer: t },
    })
    assert.equal(k.status, 200, k.text)
    const f = (n: string) => new RegExp(`<${n}>([^<]*)</${n}>`).exec(k.text)?.[1] as string
    return {
      signedObjectId: f('SignedOid'),
      signedTenantId: f('SignedTid'),
      signedStartsOn: new Date(f('SignedStart')),
      signedExpiresOn: new Date(f('SignedExpiry')),
      signedService: f('SignedService'),
      signedVersion: f('SignedVersion'),
      value: f('Value'),
    }
  }
  const udkSas = (key: Awaited<ReturnType<typeof udkOf>>, perms = 'r', version?: string) =>
    generateBlobSASQueryParameters(
      {
        containerName: 'data',
        blobName: 'hello.txt',
        permissions: BlobSASPermissions.parse(perms),
        expiresOn: new Date(now + HOUR),
        ...(version ? { version } : {}),
      },
      key,
      acct.name,
    ).toString()
  const key = await udkOf(token)
  for (const v of [undefined, '2025-07-05', '2020-12-06', '2020-02-10', '2018-11-09']) {
    const viaUdk = await api.call({ method: 'GET', path: '/data/hello.txt', auth: { sas: udkSas(key, 'r', v) } })
    assert.equal(viaUdk.status, 200, `sv ${v ?? 'default'}: ${viaUdk.text}`)
    assert.equal(viaUdk.text, 'Hello world! :)')
  }
  // sp allows a write, but the signer (Storage Blob Data Reader) may not write.
  const upload = await api.call({
    method: 'PUT',
    path: '/data/hello.txt',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'overwritten',
    auth: { sas: udkSas(key, 'rw') },
  })
  expectStorageError(upload, 403, 'AuthorizationPermissionMismatch')
  // A Storage Blob Delegator may get a key but not read: neither may its SAS.
  const delegator = await newPrincipal(s, 'blob-delegator')
  await grantRole(acct, STORAGE_ROLE.BlobDelegator, delegator.objectId)
  const dKey = await udkOf(await storageToken(s, delegator.clientId, delegator.secret))
  expectStorageError(
    await api.call({ method: 'GET', path: '/data/hello.txt', auth: { sas: udkSas(dKey) } }),
    403,
    'AuthorizationPermissionMismatch',
  )
  // A forged key value does not verify.
  const forged = { ...key, value: Buffer.alloc(32, 9).toString('base64') }
  expectStorageError(
    await api.call({ method: 'GET', path: '/data/hello.txt', auth: { sas: udkSas(forged) } }),
    403,
    'AuthenticationFailed',
  )
})

test('allowSharedKeyAccess: false refuses Shared Key and key-signed SAS with KeyBasedAuthenticationNotPermitted', async () => {
  const locked = await createAccount(s, 'lockedacct', 'blobtests', { allowSharedKeyAccess: false })
  const lapi = blobApi(s, locked)
  expectStorageError(
    await lapi.call({ method: 'GET', path: '/?comp=list' }),
    403,
    'KeyBasedAuthenticationNotPermitted',
    {
      message: 'Key based authentication is not permitted on this storage account.',
    },
  )
  const sas = generateAccountSASQueryParameters(
    {
      services: 'b',
      resourceTypes: 'sco',
      permissions: AccountSASPermissions.parse('rl'),
      expiresOn: new Date(Date.now() + HOUR),
    },
    new StorageSharedKeyCredential(locked.name, locked.key),
  ).toString()
  expectStorageError(
    await lapi.call({ method: 'GET', path: '/?comp=list', auth: { sas } }),
    403,
    'KeyBasedAuthenticationNotPermitted',
  )
  // Tokens still work: the bootstrap administrator is Owner, which has no dataActions, but containers/read is an Action.
  const t = await storageToken(s)
  assert.equal((await lapi.call({ method: 'GET', path: '/?comp=list', auth: { bearer: t } })).status, 200)
})

test("unknown accounts, versions and verbs answer in Storage's format", async () => {
  const ghost = blobApi(s, { ...acct, name: 'nosuchacct' })
  expectStorageError(await ghost.call({ method: 'GET', path: '/?comp=list' }), 404, 'ResourceNotFound')
  expectStorageError(
    await api.call({ method: 'GET', path: '/?comp=list', headers: { 'x-ms-version': 'latest' } }),
    400,
    'InvalidHeaderValue',
  )
  expectStorageError(await api.call({ method: 'PATCH', path: '/data/hello.txt' }), 405, 'UnsupportedHttpVerb')
  expectStorageError(
    await api.call({ method: 'PUT', path: '/data/hello.txt?comp=tier', headers: { 'x-ms-access-tier': 'Cool' } }),
    501,
    'NotImplemented',
    {
      message: 'azid does not implement this operation: comp=tier (PUT blob).',
    },
  )
})
