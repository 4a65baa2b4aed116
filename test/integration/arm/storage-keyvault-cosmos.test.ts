// Microsoft.Storage, Microsoft.KeyVault and Microsoft.DocumentDB control planes (issue 5 §1; seed 003 tutorials
// "access Azure Storage via access key / via a SAS credential", "access Azure Cosmos DB"; api-shapes §6.1–§6.3, §7.6).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobSASPermissions,
  SASProtocol,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob'
import { startTestServer, type TestServer } from '../../support/server.ts'
import {
  ROLE,
  V,
  adminClient,
  assignRole,
  createGroup,
  expectArmError,
  expectOk,
  newPrincipal,
  paths,
  type Arm,
} from './helpers.ts'

let s: TestServer
let admin: Arm
let sub: string
let p: ReturnType<typeof paths>

before(async () => {
  s = await startTestServer()
  admin = await adminClient(s)
  sub = s.server.endpoints.subscriptionId
  p = paths(sub)
  await createGroup(admin, sub, 'data')
})
after(() => s.stop())

type Keys = { keys: { keyName: string; value: string; permissions: string; creationTime: string }[] }

test('storage account: create, get, list; keys are never in the resource body', async () => {
  const path = p.storage('data', 'azidacct1')
  const created = expectOk<{ id: string; kind: string; sku: { name: string }; properties: Record<string, unknown> }>(
    await admin.put(path, V.storage, { location: 'westus', kind: 'StorageV2', sku: { name: 'Standard_LRS' } }),
    [200, 201],
  )
  assert.equal(created.id, path)
  assert.equal(created.kind, 'StorageV2')
  const props = created.properties as { primaryEndpoints: { blob: string; file: string }; provisioningState: string }
  assert.equal(props.provisioningState, 'Succeeded')
  assert.equal(props.primaryEndpoints.blob, 'https://azidacct1.blob.core.windows.net/')
  assert.equal(props.primaryEndpoints.file, 'https://azidacct1.file.core.windows.net/')
  const got = await admin.get(path, V.storage)
  assert.equal(got.status, 200)
  assert.doesNotMatch(got.text, /__keys|key1/)
  const list = expectOk<{ value: { id: string }[] }>(
    await admin.get(`${p.sub}/providers/Microsoft.Storage/storageAccounts`, V.storage),
  )
  assert.ok(list.value.some((x) => x.id === path))
})

test('storage account names: 3-24 lower-case letters and digits, globally unique', async () => {
  expectArmError(
    await admin.put(p.storage('data', 'Bad_Name'), V.storage, { location: 'westus' }),
    400,
    'AccountNameInvalid',
    'Bad_Name is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.',
  )
  await createGroup(admin, sub, 'other')
  expectOk(await admin.put(p.storage('data', 'azidtaken'), V.storage, { location: 'westus' }), [200, 201])
  expectArmError(
    await admin.put(p.storage('other', 'azidtaken'), V.storage, { location: 'westus' }),
    409,
    'StorageAccountAlreadyTaken',
    'The storage account named azidtaken is already taken.',
  )
  // Nothing half-written: the refused account does not exist in the other group.
  expectArmError(await admin.get(p.storage('other', 'azidtaken'), V.storage), 404, 'ResourceNotFound')
})

test('listKeys and regenerateKey (seed 003 "via access key"); Storage Account Key Operator may, Reader may not', async () => {
  const path = p.storage('data', 'azidkeys')
  expectOk(await admin.put(path, V.storage, { location: 'westus' }), [200, 201])
  const keys = expectOk<Keys>(await admin.post(`${path}/listKeys`, V.storage))
  assert.deepEqual(
    keys.keys.map((k) => [k.keyName, k.permissions]),
    [
      ['key1', 'FULL'],
      ['key2', 'FULL'],
    ],
  )
  for (const k of keys.keys) assert.equal(Buffer.from(k.value, 'base64').length, 64)
  const regen = expectOk<Keys>(await admin.post(`${path}/regenerateKey`, V.storage, { keyName: 'key2' }))
  assert.equal(regen.keys[0]?.value, keys.keys[0]?.value, 'key1 unchanged')
  assert.notEqual(regen.keys[1]?.value, keys.keys[1]?.value, 'key2 regenerated')
  expectArmError(await admin.post(`${path}/regenerateKey`, V.storage, { keyName: 'key3' }), 400, 'InvalidParameter')

  const reader = await newPrincipal(s, 'storage-reader')
  await assignRole(admin, { scope: path, role: ROLE.Reader, principalId: reader.objectId, sub })
  const denied = await reader.arm.post(`${path}/listKeys`, V.storage)
  expectArmError(denied, 403, 'AuthorizationFailed', /Microsoft\.Storage\/storageAccounts\/listkeys\/action/i)
  const operator = await newPrincipal(s, 'key-operator')
  await assignRole(admin, { scope: path, role: ROLE.StorageAccountKeyOperator, principalId: operator.objectId, sub })
  const viaOperator = expectOk<Keys>(await operator.arm.post(`${path}/listKeys`, V.storage))
  assert.equal(viaOperator.keys[1]?.value, regen.keys[1]?.value)
  expectArmError(await admin.post(`${p.storage('data', 'nosuchacct')}/listKeys`, V.storage), 404, 'ResourceNotFound')
})

test('listServiceSas / listAccountSas sign what @azure/storage-blob would sign with the same key (api-shapes §6.2-§6.3)', async () => {
  const path = p.storage('data', 'azidsas')
  expectOk(await admin.put(path, V.storage, { location: 'westus' }), [200, 201])
  const key1 = expectOk<Keys>(await admin.post(`${path}/listKeys`, V.storage)).keys[0]?.value as string
  const cred = new StorageSharedKeyCredential('azidsas', key1)

  // The seed's request body: canonicalizedResource, signedResource c, signedPermission rcw, https only.
  const sas = expectOk<{ serviceSasToken: string }>(
    await admin.post(`${path}/listServiceSas`, V.storage, {
      canonicalizedResource: '/blob/azidsas/mycontainer',
      signedResource: 'c',
      signedPermission: 'rcw',
      signedProtocol: 'https',
      signedExpiry: '2030-01-01T00:00:00Z',
    }),
  ).serviceSasToken
  const mine = new URLSearchParams(sas)
  const expected = generateBlobSASQueryParameters(
    {
      containerName: 'mycontainer',
      permissions: BlobSASPermissions.parse('rcw'),
      protocol: SASProtocol.Https,
      expiresOn: new Date('2030-01-01T00:00:00Z'),
      version: mine.get('sv') as string,
    },
    cred,
  )
  assert.equal(mine.get('sig'), expected.signature)
  assert.equal(mine.get('sr'), 'c')
  assert.equal(mine.get('sp'), 'rcw')

  const acc = expectOk<{ accountSasToken: string }>(
    await admin.post(`${path}/ListAccountSas`, V.storage, {
      signedServices: 'b',
      signedResourceTypes: 'sco',
      signedPermission: 'rl',
      signedExpiry: '2030-01-01T00:00:00Z',
    }),
  ).accountSasToken
  const accQ = new URLSearchParams(acc)
  const accExpected = generateAccountSASQueryParameters(
    {
      services: AccountSASServices.parse('b').toString(),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      permissions: AccountSASPermissions.parse('rl'),
      expiresOn: new Date('2030-01-01T00:00:00Z'),
      version: accQ.get('sv') as string,
    },
    cred,
  )
  assert.equal(accQ.get('sig'), accExpected.signature)

  // Bad input: permissions out of order, wrong account in the resource, missing expiry.
  expectArmError(
    await admin.post(`${path}/listServiceSas`, V.storage, {
      canonicalizedResource: '/blob/azidsas/c1',
      signedResource: 'c',
      signedPermission: 'wr',
      signedExpiry: '2030-01-01T00:00:00Z',
    }),
    400,
    'InvalidParameter',
  )
  expectArmError(
    await admin.post(`${path}/listServiceSas`, V.storage, {
      canonicalizedResource: '/blob/otheraccount/c1',
      signedPermission: 'r',
      signedExpiry: '2030-01-01T00:00:00Z',
    }),
    400,
    'InvalidParameter',
  )
  expectArmError(
    await admin.post(`${path}/listAccountSas`, V.storage, {
      signedServices: 'b',
      signedResourceTypes: 'o',
      signedPermission: 'r',
    }),
    400,
    'InvalidParameter',
  )
})

test('blob containers and file shares under the account (blobServices/default, fileServices/default)', async () => {
  const acct = p.storage('data', 'azidchildren')
  expectOk(await admin.put(acct, V.storage, { location: 'westus' }), [200, 201])
  const c = `${acct}/blobServices/default/containers/images`
  const made = expectOk<{ id: string; type: string; properties: { publicAccess: string } }>(
    await admin.put(c, V.storage, { properties: { publicAccess: 'None' } }),
    [200, 201],
  )
  assert.equal(made.type, 'Microsoft.Storage/storageAccounts/blobServices/containers')
  assert.equal(made.properties.publicAccess, 'None')
  const list = expectOk<{ value: { name: string }[] }>(
    await admin.get(`${acct}/blobServices/default/containers`, V.storage),
  )
  assert.deepEqual(
    list.value.map((x) => x.name),
    ['images'],
  )
  expectArmError(
    await admin.put(`${acct}/blobServices/default/containers/Bad--Name`, V.storage, {}),
    400,
    'InvalidResourceName',
  )
  expectArmError(
    await admin.put(`${acct}/blobServices/other/containers/x1x`, V.storage, {}),
    400,
    'InvalidResourceName',
  )
  expectArmError(
    await admin.put(`${p.storage('data', 'nosuchparent')}/blobServices/default/containers/abc`, V.storage, {}),
    404,
    'ParentResourceNotFound',
  )
  const share = expectOk<{ properties: { shareQuota: number } }>(
    await admin.put(`${acct}/fileServices/default/shares/docs`, V.storage, { properties: { shareQuota: 100 } }),
    [200, 201],
  )
  assert.equal(share.properties.shareQuota, 100)
  expectArmError(
    await admin.put(`${acct}/fileServices/default/shares/big`, V.storage, { properties: { shareQuota: 999999 } }),
    400,
    'InvalidParameter',
  )
  // Deleting the account deletes what is under it.
  assert.equal((await admin.del(acct, V.storage)).status, 200)
  expectArmError(await admin.get(c, V.storage), 404, 'ResourceNotFound')
})

test('key vaults: RBAC permission model by default, names, tenant (api-shapes §7.6)', async () => {
  const path = p.vault('data', 'azid-vault-1')
  const v = expectOk<{ properties: { vaultUri: string; enableRbacAuthorization: boolean; enableSoftDelete: boolean } }>(
    await admin.put(path, V.keyVault, {
      location: 'westus',
      properties: { tenantId: s.tenantId, sku: { family: 'A', name: 'standard' } },
    }),
    [200, 201],
  )
  assert.equal(v.properties.vaultUri, 'https://azid-vault-1.vault.azure.net/')
  assert.equal(v.properties.enableRbacAuthorization, true)
  assert.equal(v.properties.enableSoftDelete, true)
  expectArmError(
    await admin.put(p.vault('data', '1bad--name'), V.keyVault, {
      location: 'westus',
      properties: { tenantId: s.tenantId, sku: { family: 'A', name: 'standard' } },
    }),
    400,
    'InvalidResourceName',
  )
  expectArmError(
    await admin.put(p.vault('data', 'azid-vault-2'), V.keyVault, {
      location: 'westus',
      properties: { tenantId: '00000000-0000-0000-0000-000000000001', sku: { family: 'A', name: 'standard' } },
    }),
    400,
    'InvalidParameter',
  )
  expectArmError(
    await admin.put(p.vault('data', 'azid-vault-3'), V.keyVault, {
      location: 'westus',
      properties: { tenantId: s.tenantId, sku: { family: 'A', name: 'standard' }, enableRbacAuthorization: false },
    }),
    400,
    'BadRequest',
  )
  expectArmError(
    await admin.put(p.vault('other', 'azid-vault-1'), V.keyVault, {
      location: 'westus',
      properties: { tenantId: s.tenantId, sku: { family: 'A', name: 'standard' } },
    }),
    409,
    'VaultAlreadyExists',
  )
})

test('Cosmos DB: listKeys for DocumentDB Account Contributor, readonlykeys for Cosmos DB Account Reader (seed 003)', async () => {
  const path = p.cosmos('data', 'azid-cosmos')
  expectOk(
    await admin.put(path, V.cosmos, { location: 'westus', properties: { databaseAccountOfferType: 'Standard' } }),
    [200, 201],
  )
  const reader = await newPrincipal(s, 'cosmos-reader')
  await assignRole(admin, { scope: path, role: ROLE.CosmosDbAccountReader, principalId: reader.objectId, sub })
  // The tutorial: POST with an empty form body (`curl -X POST -d ""`), path as the tutorial spells it.
  const spelled = path.replace('Microsoft.DocumentDB', 'Microsoft.DocumentDb')
  const ro = await reader.arm.post(`${spelled}/readonlykeys`, V.cosmos, '', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  const roKeys = expectOk<Record<string, string>>(ro)
  assert.deepEqual(Object.keys(roKeys).sort(), ['primaryReadonlyMasterKey', 'secondaryReadonlyMasterKey'])
  expectArmError(await reader.arm.post(`${path}/listKeys`, V.cosmos), 403, 'AuthorizationFailed')

  const contributor = await newPrincipal(s, 'cosmos-contrib')
  await assignRole(admin, {
    scope: path,
    role: ROLE.DocumentDbAccountContributor,
    principalId: contributor.objectId,
    sub,
  })
  const all = expectOk<Record<string, string>>(await contributor.arm.post(`${path}/listKeys/`, V.cosmos))
  assert.deepEqual(Object.keys(all).sort(), [
    'primaryMasterKey',
    'primaryReadonlyMasterKey',
    'secondaryMasterKey',
    'secondaryReadonlyMasterKey',
  ])
  assert.equal(all.primaryReadonlyMasterKey, roKeys.primaryReadonlyMasterKey)
  assert.doesNotMatch((await admin.get(path, V.cosmos)).text, /MasterKey/)
  expectArmError(
    await admin.put(p.cosmos('data', '-bad'), V.cosmos, { location: 'westus' }),
    400,
    'DatabaseAccountNameInvalid',
  )
})
