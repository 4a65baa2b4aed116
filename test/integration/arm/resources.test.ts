// Microsoft.Resources: subscriptions and tenants as az login reads them, resource groups, the generic /resources
// lists, the metadata document (ARM-002, ARM-003, ARM-009, ARM-011; api-shapes §3).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startTestServer, type TestServer } from '../../support/server.ts'
import {
  type Arm,
  type Principal,
  ROLE,
  V,
  adminClient,
  armClient,
  assignRole,
  createGroup,
  createUami,
  expectArmError,
  newPrincipal,
  paths,
} from './helpers.ts'

let s: TestServer
let admin: Arm
let sub: string
let p: ReturnType<typeof paths>
let nobody: Principal
let rgReader: Principal
before(async () => {
  s = await startTestServer()
  sub = s.server.endpoints.subscriptionId
  p = paths(sub)
  admin = await adminClient(s)
  nobody = await newPrincipal(s, 'no role at all')
  rgReader = await newPrincipal(s, 'reader of one group')
  await createGroup(admin, sub, 'readable')
  await assignRole(admin, { scope: p.rg('readable'), role: ROLE.Reader, principalId: rgReader.objectId, sub })
})
after(() => s.stop())

const subscriptionWire = () => ({
  id: `/subscriptions/${sub}`,
  authorizationSource: 'RoleBased',
  managedByTenants: [],
  subscriptionId: sub,
  tenantId: s.tenantId,
  displayName: 'azid subscription',
  state: 'Enabled',
  subscriptionPolicies: {
    locationPlacementId: 'Public_2014-09-01',
    quotaId: 'PayAsYouGo_2014-09-01',
    spendingLimit: 'Off',
  },
})

test('GET /subscriptions and /tenants as az login calls them (ARM-011, api-shapes §3.2)', async () => {
  for (const v of ['2019-11-01', V.sub, '2016-06-01']) {
    const r = await admin.get('/subscriptions', v)
    assert.equal(r.status, 200, r.text)
    assert.deepEqual(r.json(), { value: [subscriptionWire()], count: { type: 'Total', value: 1 } })
    assert.equal(r.headers['x-ms-ratelimit-remaining-subscription-reads'], '11999')
  }
  const t = await admin.get('/tenants', '2019-11-01')
  assert.equal(t.status, 200, t.text)
  const domain = s.server.endpoints.tenantDomain
  assert.deepEqual(t.json(), {
    value: [
      {
        id: `/tenants/${s.tenantId}`,
        tenantId: s.tenantId,
        countryCode: 'US',
        displayName: 'azid',
        domains: [domain],
        tenantCategory: 'Home',
        defaultDomain: domain,
        tenantType: 'AAD',
      },
    ],
  })
  const one = await admin.get(`/subscriptions/${sub}`, V.sub)
  assert.equal(one.status, 200, one.text)
  assert.deepEqual(one.json(), { ...subscriptionWire(), tags: {} })
  // Unknown subscription; bad version on the tenant-level list.
  expectArmError(
    await admin.get('/subscriptions/00000000-0000-4000-8000-0000000000ff', V.sub),
    404,
    'SubscriptionNotFound',
    "The subscription '00000000-0000-4000-8000-0000000000ff' could not be found.",
  )
  expectArmError(await admin.get('/subscriptions', '2099-01-01'), 400, 'InvalidApiVersionParameter')
})

test('subscriptions are filtered by RBAC: Reader on one group sees the subscription, no role sees none (ARM-011)', async () => {
  const seen = await rgReader.arm.get('/subscriptions', V.sub)
  assert.equal(seen.status, 200, seen.text)
  assert.deepEqual(seen.json(), { value: [subscriptionWire()], count: { type: 'Total', value: 1 } })
  const none = await nobody.arm.get('/subscriptions', V.sub)
  assert.equal(none.status, 200, none.text)
  assert.deepEqual(none.json(), { value: [], count: { type: 'Total', value: 0 } })
  // The tenant list does not depend on roles (az login --allow-no-subscriptions).
  const tenants = await nobody.arm.get('/tenants', V.sub)
  assert.equal(tenants.status, 200)
  assert.equal(tenants.json<{ value: unknown[] }>().value.length, 1)
  // The group reader can read its group but not the subscription's group list.
  assert.equal((await rgReader.arm.get(p.rg('readable'), V.rg)).status, 200)
  expectArmError(
    await rgReader.arm.get(`${p.sub}/resourcegroups`, V.rg),
    403,
    'AuthorizationFailed',
    `The client '${rgReader.clientId}' with object id '${rgReader.objectId}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '/subscriptions/${sub}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  )
})

test('resource groups: PUT 201/200, GET, HEAD, PATCH tags, list with $filter=tagName eq, DELETE (ARM-002, ARM-003)', async () => {
  const put = await admin.put(p.rg('Crud-RG'), '2016-06-01', { location: 'West US', tags: { env: 'dev' } })
  assert.equal(put.status, 201, put.text)
  const wire = (tags: Record<string, string> | null) => ({
    id: `/subscriptions/${sub}/resourceGroups/Crud-RG`,
    name: 'Crud-RG',
    type: 'Microsoft.Resources/resourceGroups',
    location: 'westus',
    ...(tags ? { tags } : {}),
    properties: { provisioningState: 'Succeeded' },
  })
  assert.deepEqual(put.json(), wire({ env: 'dev' }))
  assert.equal(put.headers['x-ms-ratelimit-remaining-subscription-writes'], '1199')
  // Another location is refused (409 InvalidResourceGroupLocation); a re-PUT is 200, keeps the name's casing and
  // replaces the tags.
  const moved = await admin.put(`/subscriptions/${sub}/resourcegroups/crud-rg`, V.rg, { location: 'eastus' })
  assert.equal(moved.status, 409, moved.text)
  assert.equal(moved.json<{ error: { code: string } }>().error.code, 'InvalidResourceGroupLocation')
  const again = await admin.put(`/subscriptions/${sub}/resourcegroups/crud-rg`, V.rg, {
    location: 'westus',
    tags: { env: 'prod', team: 'a' },
  })
  assert.equal(again.status, 200, again.text)
  assert.deepEqual(again.json(), wire({ env: 'prod', team: 'a' }))
  const get = await admin.get(p.rg('crud-rg'), '2016-09-01')
  assert.equal(get.status, 200)
  assert.deepEqual(get.json(), wire({ env: 'prod', team: 'a' }))

  const head = await admin.head(p.rg('Crud-RG'), V.rg)
  assert.equal(head.status, 204)
  assert.equal(head.text, '')
  const headMissing = await admin.head(p.rg('no-such-rg'), V.rg)
  assert.equal(headMissing.status, 404)
  assert.equal(headMissing.text, '')

  const patch = await admin.patch(p.rg('Crud-RG'), V.rg, { tags: { env: 'prod' } })
  assert.equal(patch.status, 200, patch.text)
  assert.deepEqual(patch.json(), wire({ env: 'prod' }))

  await createGroup(admin, sub, 'other-rg')
  const list = await admin.get(`${p.sub}/resourcegroups`, V.rg)
  assert.equal(list.status, 200)
  const names = list.json<{ value: { name: string }[] }>().value.map((g) => g.name)
  for (const n of ['Crud-RG', 'other-rg', 'readable']) assert.ok(names.includes(n), n)
  const tagged = await admin.get(`${p.sub}/resourcegroups?$filter=${encodeURIComponent("tagName eq 'env'")}`, V.rg)
  assert.deepEqual(tagged.json(), { value: [wire({ env: 'prod' })] })
  const byValue = await admin.get(
    `${p.sub}/resourcegroups?$filter=${encodeURIComponent("tagName eq 'env' and tagValue eq 'dev'")}`,
    V.rg,
  )
  assert.deepEqual(byValue.json(), { value: [] })

  const del = await admin.del(p.rg('CRUD-RG'), V.rg)
  assert.equal(del.status, 200, del.text)
  expectArmError(
    await admin.get(p.rg('Crud-RG'), V.rg),
    404,
    'ResourceGroupNotFound',
    "Resource group 'Crud-RG' could not be found.",
  )
  expectArmError(await admin.del(p.rg('Crud-RG'), V.rg), 404, 'ResourceGroupNotFound')
})

test('resource group validation: location required, invalid names, tags (ARM-012)', async () => {
  expectArmError(
    await admin.put(p.rg('no-location'), V.rg, {}),
    400,
    'LocationRequired',
    'The location property is required for this definition.',
  )
  expectArmError(
    await admin.put(p.rg('bad*name'), V.rg, { location: 'westus' }),
    400,
    'InvalidResourceGroup',
    "The provided resource group name 'bad*name' has these invalid characters: '*'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.",
  )
  expectArmError(await admin.put(p.rg('ends-with.'), V.rg, { location: 'westus' }), 400, 'InvalidResourceGroup')
  expectArmError(await admin.put(p.rg('x'.repeat(91)), V.rg, { location: 'westus' }), 400, 'InvalidResourceGroup')
  assert.equal((await admin.put(p.rg('ok_(name).1'), V.rg, { location: 'westus' })).status, 201)
  expectArmError(await admin.put(p.rg('tags'), V.rg, { location: 'westus', tags: ['a'] }), 400, 'InvalidParameter')
  expectArmError(await admin.patch(p.rg('no-such-rg'), V.rg, { tags: {} }), 404, 'ResourceGroupNotFound')
})

test('deleting a group deletes its identities and their SPs, its VMs with their SA SPs, and its role assignments', async () => {
  const dir = s.server.directory.store
  await createGroup(admin, sub, 'doomed')
  await createGroup(admin, sub, 'doomed0')
  await createGroup(admin, sub, 'keeper')
  const inside = await createUami(admin, sub, 'doomed', 'inside')
  const outside = await createUami(admin, sub, 'keeper', 'outside')
  const vm = await admin.put(p.vm('doomed', 'vm1'), V.compute, {
    location: 'westus',
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [outside.id]: {}, [inside.id]: {} } },
  })
  assert.equal(vm.status, 201, vm.text)
  const saPrincipal = vm.json<{ identity: { principalId: string } }>().identity.principalId
  const ext = await admin.put(`${p.vm('doomed', 'vm1')}/extensions/ManagedIdentityExtensionForLinux`, V.compute, {
    location: 'westus',
    properties: { settings: { port: 50342 } },
  })
  assert.equal(ext.status, 201, ext.text)
  for (const id of [inside.principalId, outside.principalId, saPrincipal])
    assert.ok(await dir.getServicePrincipal(id), `SP ${id} exists before`)

  const who = await newPrincipal(s, 'assignee in doomed')
  const atGroup = await assignRole(admin, { scope: p.rg('doomed'), role: ROLE.Reader, principalId: who.objectId, sub })
  const atVm = await assignRole(admin, {
    scope: p.vm('doomed', 'vm1'),
    role: ROLE.Contributor,
    principalId: who.objectId,
    sub,
  })
  // `doomed0` shares the prefix `doomed`: its assignment must survive (segment boundaries).
  const sibling = await assignRole(admin, {
    scope: p.rg('doomed0'),
    role: ROLE.Reader,
    principalId: who.objectId,
    sub,
  })
  const keep = await assignRole(admin, { scope: p.rg('keeper'), role: ROLE.Reader, principalId: who.objectId, sub })

  assert.equal((await admin.del(p.rg('doomed'), V.rg)).status, 200)

  assert.equal(await dir.getServicePrincipal(inside.principalId), undefined, 'the identity SP in the group is gone')
  assert.equal(await dir.getServicePrincipal(saPrincipal), undefined, 'the VM system-assigned SP is gone')
  assert.ok(await dir.getServicePrincipal(outside.principalId), 'an identity in another group stays')
  expectArmError(await admin.get(p.uami('doomed', 'inside'), V.mi), 404, 'ResourceGroupNotFound')
  assert.equal((await admin.get(p.uami('keeper', 'outside'), V.mi)).status, 200)

  const list = await admin.get(
    `${p.sub}/providers/Microsoft.Authorization/roleAssignments?$filter=${encodeURIComponent(`principalId eq '${who.objectId}'`)}`,
    V.auth,
  )
  assert.equal(list.status, 200, list.text)
  const left = list
    .json<{ value: { name: string }[] }>()
    .value.map((a) => a.name)
    .sort()
  assert.deepEqual(left, [sibling, keep].sort())
  for (const id of [atGroup, atVm]) assert.equal(s.server.access.assignments().get(id), undefined)
  // The generic lists know nothing of the group any more.
  const all = await admin.get(`${p.sub}/resources`, V.rg)
  assert.ok(!all.text.toLowerCase().includes('/resourcegroups/doomed/'), all.text)
  // Re-creating the group gives an empty one.
  await createGroup(admin, sub, 'doomed')
  assert.deepEqual((await admin.get(`${p.rg('doomed')}/resources`, V.rg)).json(), { value: [] })
})

test('generic /resources lists by group and subscription with $filter, including identity (ARM-009)', async () => {
  await createGroup(admin, sub, 'generic')
  const uami = await createUami(admin, sub, 'generic', 'gen-id')
  const vm = await admin.put(p.vm('generic', 'myVM'), V.compute, {
    location: 'westus',
    tags: { role: 'web' },
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [uami.id]: {} } },
    properties: { hardwareProfile: { vmSize: 'Standard_D2_v2' } },
  })
  assert.equal(vm.status, 201, vm.text)
  const sa = vm.json<{ identity: { principalId: string; tenantId: string } }>().identity
  assert.equal(
    (
      await admin.put(`${p.vm('generic', 'myVM')}/extensions/ext1`, V.compute, {
        location: 'westus',
        properties: {},
      })
    ).status,
    201,
  )

  type Generic = { id: string; name: string; type: string; createdTime: string; changedTime: string }
  const strip = (xs: Generic[]) =>
    xs.map(({ createdTime, changedTime, ...rest }) => {
      assert.match(createdTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/)
      assert.match(changedTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/)
      return rest
    })
  const vmWire = {
    id: p.vm('generic', 'myVM'),
    name: 'myVM',
    type: 'Microsoft.Compute/virtualMachines',
    location: 'westus',
    identity: {
      principalId: sa.principalId,
      tenantId: sa.tenantId,
      type: 'SystemAssigned, UserAssigned',
      userAssignedIdentities: { [uami.id]: { principalId: uami.principalId, clientId: uami.clientId } },
    },
    tags: { role: 'web' },
  }
  const uamiWire = {
    id: uami.id,
    name: 'gen-id',
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
    location: 'westus',
  }
  const byGroup = await admin.get(`${p.rg('generic')}/resources`, '2021-04-01')
  assert.equal(byGroup.status, 200, byGroup.text)
  // Child resources (the extension) are not listed; the order is by id.
  assert.deepEqual(strip(byGroup.json<{ value: Generic[] }>().value), [vmWire, uamiWire])

  const q = (f: string) => `${p.sub}/resources?$filter=${encodeURIComponent(f)}`
  const byName = await admin.get(q("name eq 'myVM'"), V.rg)
  assert.deepEqual(strip(byName.json<{ value: Generic[] }>().value), [vmWire])
  const byType = await admin.get(q("resourceType eq 'microsoft.managedidentity/userassignedidentities'"), V.rg)
  const types = strip(byType.json<{ value: Generic[] }>().value)
  assert.ok(types.some((x) => x.id === uami.id))
  assert.ok(types.every((x) => x.type === 'Microsoft.ManagedIdentity/userAssignedIdentities'))
  const both = await admin.get(q("resourceType eq 'Microsoft.Compute/virtualMachines' and name eq 'myvm'"), V.rg)
  assert.deepEqual(strip(both.json<{ value: Generic[] }>().value), [vmWire])
  // az resource list -n myVM --query [*].identity.principalId
  assert.deepEqual(
    byName.json<{ value: { identity: { principalId: string } }[] }>().value.map((r) => r.identity.principalId),
    [sa.principalId],
  )
  expectArmError(await admin.get(q("location eq 'westus'"), V.rg), 400, 'InvalidFilter')
  expectArmError(await admin.get(`${p.rg('no-such-rg')}/resources`, V.rg), 404, 'ResourceGroupNotFound')
  // A caller sees only what it may read; one without any role in the subscription is refused.
  assert.deepEqual((await rgReader.arm.get(q("name eq 'myVM'"), V.rg)).json(), { value: [] })
  expectArmError(
    await nobody.arm.get(`${p.sub}/resources`, V.rg),
    403,
    'AuthorizationFailed',
    `The client '${nobody.clientId}' with object id '${nobody.objectId}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resources/read' over scope '/subscriptions/${sub}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  )
})

test('/metadata/endpoints: the 2015-01-01 and 2022-09-01 shapes, without authentication (api-shapes §3.6)', async () => {
  const anon = armClient(s, null)
  const old = await anon.get('/metadata/endpoints', '2015-01-01')
  assert.equal(old.status, 200, old.text)
  const audiences = ['https://management.core.windows.net/', 'https://management.azure.com/']
  assert.deepEqual(old.json(), {
    galleryEndpoint: '',
    graphEndpoint: 'https://graph.windows.net/',
    portalEndpoint: `${s.base}/portal`,
    authentication: { loginEndpoint: `${s.base}/`, audiences },
  })
  const cur = await anon.get('/metadata/endpoints', '2022-09-01')
  assert.equal(cur.status, 200, cur.text)
  const cloud = {
    portal: `${s.base}/portal`,
    authentication: { loginEndpoint: s.base, audiences, tenant: 'common', identityProvider: 'AAD' },
    media: '',
    graphAudience: 'https://graph.windows.net/',
    graph: 'https://graph.windows.net/',
    name: 'AzureCloud',
    suffixes: {
      keyVaultDns: 'vault.azure.net',
      storage: 'core.windows.net',
      storageSyncEndpointSuffix: 'afs.azure.net',
      sqlServerHostname: 'database.windows.net',
      mhsmDns: 'managedhsm.azure.net',
    },
    batch: 'https://batch.core.windows.net/',
    resourceManager: `${s.base}/`,
    activeDirectoryDataLake: 'https://datalake.azure.net/',
    microsoftGraphResourceId: 'https://graph.microsoft.com/',
  }
  assert.deepEqual(cur.json(), cloud)
  // az's ARM_CLOUD_METADATA_URL reads the 2019-05-01 list form.
  assert.deepEqual((await anon.get('/metadata/endpoints', '2019-05-01')).json(), [cloud])
})
