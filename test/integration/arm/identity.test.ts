// Identities on hosts: the PATCH/PUT grammar on VMs and scale sets at every api-version era, the other host types,
// and VM extensions (SCN-05, SCN-06, SCN-07; VM-001..012, VMSS-001..004, PATCH-001/002, INC-001..003, INC-005,
// VMEXT; api-shapes §2).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { type Arm, GUID_RE, V, adminClient, createGroup, createUami, expectArmError, paths } from './helpers.ts'

let s: TestServer
let admin: Arm
let sub: string
let p: ReturnType<typeof paths>
type Uami = Awaited<ReturnType<typeof createUami>>
let ID1: Uami
let ID2: Uami
const RG = 'myResourceGroup'
before(async () => {
  s = await startTestServer()
  sub = s.server.endpoints.subscriptionId
  p = paths(sub)
  admin = await adminClient(s)
  await createGroup(admin, sub, RG)
  ID1 = await createUami(admin, sub, RG, 'ID1')
  ID2 = await createUami(admin, sub, RG, 'ID2')
})
after(() => s.stop())

const ua = (...ids: Uami[]) =>
  Object.fromEntries(ids.map((i) => [i.id, { principalId: i.principalId, clientId: i.clientId }]))

interface HostBody {
  id: string
  name: string
  type: string
  location: string
  identity?: {
    principalId?: string
    tenantId?: string
    type: string
    userAssignedIdentities?: Record<string, { principalId: string; clientId: string }>
    identityIds?: string[]
  }
  properties: Record<string, unknown> & { provisioningState: string }
}

/** Sends a write, checks the status and the final state in the answer, and that a GET shows the same identity. */
async function write(
  method: 'PUT' | 'PATCH',
  path: string,
  v: string,
  body: unknown,
  status: number | number[] = 200,
): Promise<HostBody> {
  const r = await admin.call(method, path, v, { body })
  const ok = Array.isArray(status) ? status : [status]
  assert.ok(ok.includes(r.status), `${method} ${path}: ${r.status} ${r.text}`)
  const got = r.json<HostBody>()
  assert.equal(got.properties.provisioningState, 'Succeeded')
  const read = await admin.get(path, v)
  assert.equal(read.status, 200, read.text)
  assert.deepEqual(read.json<HostBody>().identity, got.identity, 'GET shows what the write answered')
  return got
}

const sp = (id: string) => s.server.directory.store.getServicePrincipal(id)

test('SCN-05: the VM identity lifecycle at 2018-06-01, step by step (VM-003..012, PATCH R1..R4)', async () => {
  const vm = p.vm(RG, 'myVM')
  const created = await write(
    'PUT',
    vm,
    '2018-06-01',
    { location: 'westus', name: 'myVM', properties: { hardwareProfile: { vmSize: 'Standard_D2_v2' } } },
    201,
  )
  assert.equal(created.identity, undefined)
  assert.deepEqual(created.properties.hardwareProfile, { vmSize: 'Standard_D2_v2' })
  assert.match(String(created.properties.vmId), GUID_RE)

  // 1. SystemAssigned → P1.
  const s1 = await write('PATCH', vm, '2018-06-01', { identity: { type: 'SystemAssigned' } })
  const P1 = s1.identity?.principalId as string
  assert.match(P1, GUID_RE)
  assert.deepEqual(s1.identity, { principalId: P1, tenantId: s.tenantId, type: 'SystemAssigned' })
  assert.ok(await sp(P1))

  // 2. SystemAssigned, UserAssigned + {ID1, ID2}: P1 unchanged.
  const s2 = await write('PATCH', vm, '2018-06-01', {
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [ID1.id]: {}, [ID2.id]: {} } },
  })
  assert.deepEqual(s2.identity, {
    principalId: P1,
    tenantId: s.tenantId,
    type: 'SystemAssigned, UserAssigned',
    userAssignedIdentities: ua(ID1, ID2),
  })

  // 3. {ID2: null}: merge-patch, ID1 stays.
  const s3 = await write('PATCH', vm, '2018-06-01', {
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [ID2.id]: null } },
  })
  assert.deepEqual(s3.identity, {
    principalId: P1,
    tenantId: s.tenantId,
    type: 'SystemAssigned, UserAssigned',
    userAssignedIdentities: ua(ID1),
  })

  // 4. UserAssigned + {ID1}: the system-assigned identity and its SP go.
  const s4 = await write('PATCH', vm, '2018-06-01', {
    identity: { type: 'UserAssigned', userAssignedIdentities: { [ID1.id]: {} } },
  })
  assert.deepEqual(s4.identity, { type: 'UserAssigned', userAssignedIdentities: ua(ID1) })
  assert.equal(await sp(P1), undefined)

  // 5. SystemAssigned: a new principal, the user-assigned ones cleared (R1, R3).
  const s5 = await write('PATCH', vm, '2018-06-01', { identity: { type: 'SystemAssigned' } })
  const P2 = s5.identity?.principalId as string
  assert.match(P2, GUID_RE)
  assert.notEqual(P2, P1)
  assert.deepEqual(s5.identity, { principalId: P2, tenantId: s.tenantId, type: 'SystemAssigned' })

  // 6. None: nothing left.
  const s6 = await write('PATCH', vm, '2018-06-01', { identity: { type: 'None' } })
  assert.deepEqual(s6.identity, { type: 'None' })
  assert.equal(await sp(P2), undefined)
  // The user-assigned identities themselves are untouched.
  assert.ok(await sp(ID1.principalId))
  assert.ok(await sp(ID2.principalId))
})

test('SCN-06: the same lifecycle at 2017-12-01 with identityIds replace semantics and lenient type spellings (VM-006..011, PATCH R5, INC-005)', async () => {
  const vm = p.vm(RG, 'legacyVM')
  await write('PUT', vm, '2017-12-01', { location: 'westus', properties: {} }, 201)
  // First UA with the lower-case type of the seed (VM-008).
  const a = await write('PATCH', vm, '2017-12-01', { identity: { type: 'userAssigned', identityIds: [ID1.id] } })
  assert.deepEqual(a.identity, { type: 'UserAssigned', identityIds: [ID1.id] })
  // SA + both, type without the space (VM-009).
  const b = await write('PATCH', vm, '2017-12-01', {
    identity: { type: 'SystemAssigned,UserAssigned', identityIds: [ID1.id, ID2.id] },
  })
  const P1 = b.identity?.principalId as string
  assert.match(P1, GUID_RE)
  assert.deepEqual(b.identity, {
    principalId: P1,
    tenantId: s.tenantId,
    type: 'SystemAssigned, UserAssigned',
    identityIds: [ID1.id, ID2.id],
  })
  // Keep only ID1: the array replaces (VM-010).
  const c = await write('PATCH', vm, '2017-12-01', {
    identity: { type: 'SystemAssigned, UserAssigned', identityIds: [ID1.id] },
  })
  assert.deepEqual(c.identity, {
    principalId: P1,
    tenantId: s.tenantId,
    type: 'SystemAssigned, UserAssigned',
    identityIds: [ID1.id],
  })
  // The same VM read at 2018-06-01 shows the dictionary form.
  const modern = await admin.get(vm, '2018-06-01')
  assert.deepEqual(modern.json<HostBody>().identity?.userAssignedIdentities, ua(ID1))
  // Remove SA, keep the array (VM-007).
  const d = await write('PATCH', vm, '2017-12-01', { identity: { type: 'UserAssigned', identityIds: [ID1.id] } })
  assert.deepEqual(d.identity, { type: 'UserAssigned', identityIds: [ID1.id] })
  assert.equal(await sp(P1), undefined)
  // SystemAssigned only, then none in lower case (the CLI's spelling).
  const e = await write('PATCH', vm, '2017-12-01', { identity: { type: 'systemassigned' } })
  assert.deepEqual(e.identity, { principalId: e.identity?.principalId, tenantId: s.tenantId, type: 'SystemAssigned' })
  const f = await write('PATCH', vm, '2017-12-01', { identity: { type: 'none' } })
  assert.deepEqual(f.identity, { type: 'None' })
})

test('INC-002/INC-001/R8: keys without a leading slash, lower-case resourcegroups, identityIds at 2018-06-01', async () => {
  const vm = p.vm(RG, 'incVM')
  const lowerNoSlash = (u: Uami) => u.id.slice(1).replace('/resourceGroups/', '/resourcegroups/')
  const a = await write(
    'PUT',
    vm,
    '2018-06-01',
    {
      location: 'westus',
      identity: { type: 'UserAssigned', userAssignedIdentities: { [lowerNoSlash(ID1)]: {} } },
    },
    201,
  )
  assert.deepEqual(a.identity, { type: 'UserAssigned', userAssignedIdentities: ua(ID1) })
  // Naming the same identity again in another casing does not duplicate it; removal matches case-insensitively.
  const b = await write('PATCH', vm, '2018-06-01', {
    identity: { type: 'UserAssigned', userAssignedIdentities: { [ID1.id.toUpperCase()]: {}, [lowerNoSlash(ID2)]: {} } },
  })
  assert.deepEqual(b.identity, { type: 'UserAssigned', userAssignedIdentities: ua(ID1, ID2) })
  const c = await write('PATCH', vm, '2018-06-01', {
    identity: { type: 'UserAssigned', userAssignedIdentities: { [ID2.id.toLowerCase()]: null } },
  })
  assert.deepEqual(c.identity, { type: 'UserAssigned', userAssignedIdentities: ua(ID1) })
  // INC-001: the seed's 2018-06-01 PUT uses the identityIds array; it is the full set.
  const d = await write('PATCH', vm, '2018-06-01', { identity: { type: 'UserAssigned', identityIds: [ID2.id] } })
  assert.deepEqual(d.identity, { type: 'UserAssigned', userAssignedIdentities: ua(ID2) })
  expectArmError(
    await admin.patch(vm, '2018-06-01', {
      identity: { type: 'UserAssigned', identityIds: [ID1.id], userAssignedIdentities: { [ID2.id]: {} } },
    }),
    400,
    'InvalidParameter',
    "Specify user-assigned identities either in 'userAssignedIdentities' or in 'identityIds', not both.",
  )
})

test('PUT replaces the user-assigned set; PUT without identity keeps it; a GET body echoed back is accepted (R11, ARM-010)', async () => {
  const vm = p.vm(RG, 'putVM')
  const a = await write(
    'PUT',
    vm,
    V.compute,
    {
      location: 'westus',
      identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [ID1.id]: {}, [ID2.id]: {} } },
    },
    201,
  )
  const P = a.identity?.principalId as string
  const b = await write('PUT', vm, V.compute, {
    location: 'westus',
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [ID2.id]: {} } },
  })
  assert.deepEqual(b.identity, {
    principalId: P,
    tenantId: s.tenantId,
    type: 'SystemAssigned, UserAssigned',
    userAssignedIdentities: ua(ID2),
  })
  const c = await write('PUT', vm, V.compute, { location: 'westus', tags: { fixVM: '1' } })
  assert.deepEqual(c.identity, b.identity)
  // az vm update: GET, change a tag, PUT the whole model back with its read-only members.
  const model = (await admin.get(vm, V.compute)).json<HostBody & { tags: Record<string, string> }>()
  model.tags = {}
  const d = await write('PUT', vm, V.compute, model)
  assert.deepEqual(d.identity, b.identity)
  assert.deepEqual((d as unknown as { tags: unknown }).tags, {})
  assert.equal(d.properties.vmId, a.properties.vmId, 'vmId is fixed at creation')
})

test('identity errors: MissingIdentityIds, FailedIdentityOperation, InvalidIdentityId, bad types (PATCH R6, R8, R9)', async () => {
  const vm = p.vm(RG, 'errVM')
  await write('PUT', vm, V.compute, { location: 'westus' }, 201)
  const vmId = `/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/errVM`
  expectArmError(
    await admin.patch(vm, V.compute, { identity: { type: 'UserAssigned' } }),
    400,
    'MissingIdentityIds',
    "The identity ids must not be null or empty for 'UserAssigned' identity type.",
  )
  expectArmError(
    await admin.patch(vm, V.compute, { identity: { type: 'UserAssigned', userAssignedIdentities: {} } }),
    400,
    'MissingIdentityIds',
  )
  expectArmError(
    await admin.patch(vm, '2017-12-01', { identity: { type: 'UserAssigned', identityIds: [] } }),
    400,
    'MissingIdentityIds',
  )
  const missing = p.uami(RG, 'does-not-exist')
  expectArmError(
    await admin.patch(vm, V.compute, { identity: { type: 'UserAssigned', userAssignedIdentities: { [missing]: {} } } }),
    400,
    'FailedIdentityOperation',
    `Identity operation for resource '${vmId}' failed with error 'Failed to perform resource identity operation. Status: 'BadRequest'. Response: '{"error":{"code":"BadRequest","message":"Resource '${missing.replace('/resourceGroups/', '/resourcegroups/')}' was not found."}}'.'.`,
  )
  const notAnIdentity = p.vm(RG, 'errVM')
  expectArmError(
    await admin.patch(vm, V.compute, {
      identity: { type: 'UserAssigned', userAssignedIdentities: { [notAnIdentity]: {} } },
    }),
    400,
    'InvalidIdentityId',
    `The identity ids '${notAnIdentity}' are invalid. It must be of the following format: '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}'.`,
  )
  expectArmError(
    await admin.patch(vm, '2017-12-01', { identity: { type: 'UserAssigned', identityIds: ['not-an-id'] } }),
    400,
    'InvalidIdentityId',
  )
  expectArmError(
    await admin.patch(vm, V.compute, {
      identity: { type: 'SystemAssigned', userAssignedIdentities: { [ID1.id]: {} } },
    }),
    400,
    'FailedIdentityOperation',
    `Identity operation for resource '${vmId}' failed with error 'Failed to perform resource identity operation. Status: 'BadRequest'. Response: '{"error":{"code":"BadRequest","message":"The request format was unexpected, a non-UserAssigned identity type should not contain: userAssignedIdentities"}}'.'.`,
  )
  expectArmError(
    await admin.patch(vm, V.compute, { identity: { type: 'Foo' } }),
    400,
    'InvalidParameter',
    "The value 'Foo' of parameter 'identity.type' is not valid. Allowed values are 'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned' and 'None'.",
  )
  expectArmError(
    await admin.patch(vm, V.compute, { identity: { type: 'None, SystemAssigned' } }),
    400,
    'InvalidParameter',
  )
  expectArmError(await admin.patch(vm, V.compute, { identity: {} }), 400, 'InvalidParameter')
  // Removing the last user-assigned identity while keeping the type is refused (R6).
  await write('PATCH', vm, V.compute, { identity: { type: 'UserAssigned', userAssignedIdentities: { [ID1.id]: {} } } })
  expectArmError(
    await admin.patch(vm, V.compute, {
      identity: { type: 'UserAssigned', userAssignedIdentities: { [ID1.id]: null } },
    }),
    400,
    'MissingIdentityIds',
  )
  // Nothing changed by the refused requests.
  const now = (await admin.get(vm, V.compute)).json<HostBody>()
  assert.deepEqual(now.identity, { type: 'UserAssigned', userAssignedIdentities: ua(ID1) })
  // Other VM errors: PATCH of a missing VM, location required.
  expectArmError(
    await admin.patch(p.vm(RG, 'ghost'), V.compute, { tags: {} }),
    404,
    'ResourceNotFound',
    `The Resource 'Microsoft.Compute/virtualMachines/ghost' under resource group '${RG}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  )
  expectArmError(await admin.put(p.vm(RG, 'noloc'), V.compute, {}), 400, 'LocationRequired')
})

test('SCN-07: the scale-set variant, with 2018-12-01 and keys without a leading slash (VMSS-001..004, INC-002, INC-003)', async () => {
  const vmss = p.vmss(RG, 'myVMSS')
  const sku = { tier: 'Standard', capacity: 3, name: 'Standard_D1_v2' }
  const a = await write(
    'PUT',
    vmss,
    '2018-06-01',
    {
      sku,
      location: 'eastus',
      identity: { type: 'SystemAssigned' },
      properties: { overprovision: true, upgradePolicy: { mode: 'Manual' } },
    },
    201,
  )
  const P1 = a.identity?.principalId as string
  assert.deepEqual(a.identity, { principalId: P1, tenantId: s.tenantId, type: 'SystemAssigned' })
  assert.deepEqual((a as unknown as { sku: unknown }).sku, sku)
  assert.equal(a.type, 'Microsoft.Compute/virtualMachineScaleSets')
  const noSlash = (u: Uami) => u.id.slice(1)
  const b = await write('PATCH', vmss, '2018-06-01', {
    identity: {
      type: 'SystemAssigned,UserAssigned',
      userAssignedIdentities: { [noSlash(ID1)]: {}, [noSlash(ID2)]: {} },
    },
  })
  assert.deepEqual(b.identity, {
    principalId: P1,
    tenantId: s.tenantId,
    type: 'SystemAssigned, UserAssigned',
    userAssignedIdentities: ua(ID1, ID2),
  })
  const c = await write('PATCH', vmss, '2018-12-01', {
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [noSlash(ID2)]: null } },
  })
  assert.deepEqual(c.identity?.userAssignedIdentities, ua(ID1))
  const d = await write('PATCH', vmss, '2017-12-01', {
    identity: { type: 'userAssigned', identityIds: [ID1.id, ID2.id] },
  })
  assert.deepEqual(d.identity, { type: 'UserAssigned', identityIds: [ID1.id, ID2.id] })
  assert.equal(await sp(P1), undefined)
  const e = await write('PATCH', vmss, '2018-12-01', {
    identity: { type: 'userAssigned', userAssignedIdentities: { [noSlash(ID2)]: null } },
  })
  assert.deepEqual(e.identity, { type: 'UserAssigned', userAssignedIdentities: ua(ID1) })
  const f = await write('PATCH', vmss, '2018-06-01', { identity: { type: 'SystemAssigned' } })
  assert.notEqual(f.identity?.principalId, P1)
  assert.deepEqual(f.identity, { principalId: f.identity?.principalId, tenantId: s.tenantId, type: 'SystemAssigned' })
  const g = await write('PATCH', vmss, '2018-06-01', { identity: { type: 'None' } })
  assert.deepEqual(g.identity, { type: 'None' })
  // Deleting the scale set deletes its system-assigned SP (VM-012).
  const h = await write('PATCH', vmss, '2018-06-01', { identity: { type: 'SystemAssigned' } })
  assert.ok(await sp(h.identity?.principalId as string))
  assert.equal((await admin.del(vmss, '2018-06-01')).status, 200)
  assert.equal(await sp(h.identity?.principalId as string), undefined)
  assert.equal((await admin.del(vmss, '2018-06-01')).status, 204)
})

test('other hosts: Web sites and container groups take user-assigned identities; Arc machines refuse them (CannotSetResourceIdentity)', async () => {
  const site = `${p.rg(RG)}/providers/Microsoft.Web/sites/my-app`
  const w = await write(
    'PUT',
    site,
    V.web,
    {
      location: 'westus',
      kind: 'app,linux',
      identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [ID1.id]: {} } },
      properties: { serverFarmId: 'x' },
    },
    201,
  )
  assert.deepEqual(w.identity, {
    principalId: w.identity?.principalId,
    tenantId: s.tenantId,
    type: 'SystemAssigned, UserAssigned',
    userAssignedIdentities: ua(ID1),
  })
  assert.equal((w as unknown as { kind: string }).kind, 'app,linux')
  assert.equal(w.properties.defaultHostName, 'my-app.azurewebsites.net')
  // Web apps use the dictionary form at every version.
  const wOld = await admin.get(site, '2016-08-01')
  assert.deepEqual(wOld.json<HostBody>().identity?.userAssignedIdentities, ua(ID1))

  const aci = `${p.rg(RG)}/providers/Microsoft.ContainerInstance/containerGroups/my-group`
  const c = await write(
    'PUT',
    aci,
    V.aci,
    {
      location: 'westus',
      identity: { type: 'UserAssigned', userAssignedIdentities: { [ID2.id]: {} } },
      properties: { containers: [], osType: 'Linux' },
    },
    201,
  )
  assert.deepEqual(c.identity, { type: 'UserAssigned', userAssignedIdentities: ua(ID2) })
  expectArmError(
    await admin.put(`${p.rg(RG)}/providers/Microsoft.ContainerInstance/containerGroups/Upper`, V.aci, {
      location: 'westus',
    }),
    400,
    'InvalidResourceName',
  )

  const arc = `${p.rg(RG)}/providers/Microsoft.HybridCompute/machines/arc1`
  for (const type of ['UserAssigned', 'SystemAssigned, UserAssigned'])
    expectArmError(
      await admin.put(arc, V.arc, {
        location: 'westus',
        identity: { type, userAssignedIdentities: { [ID1.id]: {} } },
      }),
      400,
      'CannotSetResourceIdentity',
      `Resource type 'Microsoft.HybridCompute/machines' does not support creation of '${type}' resource identity. The supported types are 'SystemAssigned, None'.`,
    )
  const m = await write('PUT', arc, V.arc, { location: 'westus', identity: { type: 'SystemAssigned' } }, 201)
  assert.deepEqual(m.identity, { principalId: m.identity?.principalId, tenantId: s.tenantId, type: 'SystemAssigned' })
  assert.equal(m.properties.status, 'Connected')
  expectArmError(
    await admin.patch(arc, V.arc, { identity: { type: 'UserAssigned', userAssignedIdentities: { [ID1.id]: {} } } }),
    400,
    'CannotSetResourceIdentity',
  )
})

test('VM extension ManagedIdentityExtensionForLinux with settings.port: CRUD under a VM, ParentResourceNotFound without it (VMEXT)', async () => {
  const vm = p.vm(RG, 'extVM')
  await write('PUT', vm, '2018-06-01', { location: 'westus', identity: { type: 'SystemAssigned' } }, 201)
  const ext = `${vm}/extensions/ManagedIdentityExtensionForLinux`
  const body = {
    location: 'westus',
    properties: {
      publisher: 'Microsoft.ManagedIdentity',
      type: 'ManagedIdentityExtensionForLinux',
      typeHandlerVersion: '1.0',
      autoUpgradeMinorVersion: true,
      settings: { port: 50342 },
    },
  }
  const wire = (port: number) => ({
    id: ext,
    name: 'ManagedIdentityExtensionForLinux',
    type: 'Microsoft.Compute/virtualMachines/extensions',
    location: 'westus',
    properties: { ...body.properties, settings: { port }, provisioningState: 'Succeeded' },
  })
  for (const v of ['2018-06-01', '2018-06-01-preview', '2015-05-01-preview']) {
    const put = await admin.put(ext, v, body)
    assert.equal(put.status, v === '2018-06-01' ? 201 : 200, put.text)
    assert.deepEqual(put.json(), wire(50342))
  }
  assert.deepEqual((await admin.get(ext, '2018-06-01')).json(), wire(50342))
  const list = await admin.get(`${vm}/extensions`, '2018-06-01')
  assert.deepEqual(list.json(), { value: [wire(50342)] })
  const patch = await admin.patch(ext, '2018-06-01', { properties: { settings: { port: 50343 } } })
  assert.equal(patch.status, 200, patch.text)
  assert.deepEqual(patch.json(), wire(50343))
  // The extension does not appear in the generic list, and does not change the VM's identity.
  const vmNow = (await admin.get(vm, '2018-06-01')).json<HostBody>()
  assert.equal(vmNow.identity?.type, 'SystemAssigned')
  const del = await admin.del(ext, '2018-06-01')
  assert.equal(del.status, 200)
  assert.equal((await admin.del(ext, '2018-06-01')).status, 204)
  expectArmError(
    await admin.get(ext, '2018-06-01'),
    404,
    'ResourceNotFound',
    `The Resource 'Microsoft.Compute/virtualMachines/extVM/extensions/ManagedIdentityExtensionForLinux' under resource group '${RG}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  )

  const orphan = `${p.vm(RG, 'novm')}/extensions/ManagedIdentityExtensionForLinux`
  const parentMissing =
    "Can not perform requested operation on nested resource. Parent resource 'Microsoft.Compute/virtualMachines/novm' not found."
  expectArmError(await admin.put(orphan, '2018-06-01', body), 404, 'ParentResourceNotFound', parentMissing)
  expectArmError(await admin.get(`${p.vm(RG, 'novm')}/extensions`, '2018-06-01'), 404, 'ParentResourceNotFound')
  // Deleting the VM deletes its extensions.
  assert.equal((await admin.put(ext, '2018-06-01', body)).status, 201)
  assert.equal((await admin.del(vm, '2018-06-01')).status, 200)
  expectArmError(await admin.get(ext, '2018-06-01'), 404, 'ResourceNotFound')
})
