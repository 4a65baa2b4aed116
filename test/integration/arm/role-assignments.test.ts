// Microsoft.Authorization over REST: role assignments at every scope, their errors and list filters, role
// definitions (built-in and custom), permissions and deny assignments (RBAC-001, RBAC-004, RBAC-005;
// api-shapes §4).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { API_VERSIONS } from '../../../src/arm/api-versions.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import {
  type Arm,
  type Principal,
  ROLE,
  V,
  adminClient,
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
let who: Principal
let vm: string
let ext: string
const RA = 'providers/Microsoft.Authorization/roleAssignments'
const RD = 'providers/Microsoft.Authorization/roleDefinitions'
before(async () => {
  s = await startTestServer()
  sub = s.server.endpoints.subscriptionId
  p = paths(sub)
  admin = await adminClient(s)
  who = await newPrincipal(s, 'assignee')
  await createGroup(admin, sub, 'ra-rg')
  await createGroup(admin, sub, 'ra-rg1')
  await createGroup(admin, sub, 'ra-rg10')
  vm = p.vm('ra-rg', 'ra-vm')
  assert.equal((await admin.put(vm, V.compute, { location: 'westus' })).status, 201)
  ext = `${vm}/extensions/ManagedIdentityExtensionForLinux`
  assert.equal(
    (await admin.put(ext, V.compute, { location: 'westus', properties: { settings: { port: 50342 } } })).status,
    201,
  )
})
after(() => s.stop())

const roleId = (guid: string) => `/subscriptions/${sub}/${RD}/${guid}`
const body = (role: string, principalId = who.objectId, extra: Record<string, unknown> = {}) => ({
  properties: { roleDefinitionId: roleId(role), principalId, principalType: 'ServicePrincipal', ...extra },
})
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/

interface Assignment {
  id: string
  name: string
  type: string
  properties: Record<string, unknown> & { scope: string; principalId: string; createdOn?: string; updatedOn?: string }
}

const namesOf = (r: { json<T>(): T }) =>
  r
    .json<{ value: Assignment[] }>()
    .value.map((a) => a.name)
    .sort()

test('PUT at subscription, group, resource and child-resource scope → 201 with the 2022-04-01 shape (RBAC-004)', async () => {
  const adminOid = s.server.bootstrap.servicePrincipalId
  const scopes = [p.sub, p.rg('ra-rg'), vm, ext]
  const roles = [ROLE.Reader, ROLE.Contributor, ROLE.VirtualMachineContributor, ROLE.Reader]
  for (const [i, scope] of scopes.entries()) {
    const name = randomUUID()
    const r = await admin.put(`${scope}/${RA}/${name}`, V.auth, body(roles[i] as string))
    assert.equal(r.status, 201, r.text)
    const a = r.json<Assignment>()
    assert.match(String(a.properties.createdOn), TIME)
    assert.deepEqual(a, {
      properties: {
        roleDefinitionId: roleId(roles[i] as string),
        principalId: who.objectId,
        principalType: 'ServicePrincipal',
        scope,
        condition: null,
        conditionVersion: null,
        createdOn: a.properties.createdOn,
        updatedOn: a.properties.createdOn,
        createdBy: adminOid,
        updatedBy: adminOid,
        delegatedManagedIdentityResourceId: null,
        description: null,
      },
      id: `${scope}/${RA}/${name}`,
      type: 'Microsoft.Authorization/roleAssignments',
      name,
    })
    const got = await admin.get(`${scope}/${RA}/${name}`, V.auth)
    assert.equal(got.status, 200)
    assert.deepEqual(got.json(), a)
  }
  // Old api-versions: 2017-09-01 has principalType but no timestamps; 2015-07-01 has neither.
  const name = randomUUID()
  await createUami(admin, sub, 'ra-rg', 'ra-id')
  const scope = p.uami('ra-rg', 'ra-id')
  const old = await admin.put(`${scope}/${RA}/${name}`, '2017-09-01', body(ROLE.ManagedIdentityOperator))
  assert.equal(old.status, 201, old.text)
  assert.deepEqual(old.json<Assignment>().properties, {
    roleDefinitionId: roleId(ROLE.ManagedIdentityOperator),
    principalId: who.objectId,
    principalType: 'ServicePrincipal',
    scope,
  })
  const older = await admin.get(`${scope}/${RA}/${name}`, '2015-07-01')
  assert.deepEqual(older.json<Assignment>().properties, {
    roleDefinitionId: roleId(ROLE.ManagedIdentityOperator),
    principalId: who.objectId,
    scope,
  })
  // A tenant-level role definition id and a scope with a trailing slash are accepted (ARM-005, RBAC-005).
  const tn = randomUUID()
  const r = await admin.call('PUT', `${p.rg('ra-rg1')}/${RA}/${tn}/?api-version=${V.auth}`, null, {
    body: { properties: { roleDefinitionId: `/${RD}/${ROLE.Reader}`, principalId: who.objectId } },
  })
  assert.equal(r.status, 201, r.text)
  assert.equal(r.json<Assignment>().properties.scope, p.rg('ra-rg1'))
  // The principal type comes from the directory.
  assert.equal(r.json<Assignment>().properties.principalType, 'ServicePrincipal')
})

test('re-PUT of the same assignment is 200; duplicates, bad names, unknown principals and roles are refused (arm-errors §7)', async () => {
  const name = randomUUID()
  const path = `${p.rg('ra-rg10')}/${RA}/${name}`
  assert.equal((await admin.put(path, V.auth, body(ROLE.Reader))).status, 201)
  const again = await admin.put(path, V.auth, body(ROLE.Reader, who.objectId, { description: 'same' }))
  assert.equal(again.status, 200, again.text)
  assert.equal(again.json<Assignment>().properties.description, 'same')

  expectArmError(
    await admin.put(`${p.rg('ra-rg10')}/${RA}/${randomUUID()}`, V.auth, body(ROLE.Reader)),
    409,
    'RoleAssignmentExists',
    'The role assignment already exists.',
  )
  expectArmError(
    await admin.put(path, V.auth, body(ROLE.Contributor)),
    400,
    'RoleAssignmentUpdateNotPermitted',
    'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.',
  )
  expectArmError(
    await admin.put(`${p.rg('ra-rg10')}/${RA}/kv-role-assignement3`, V.auth, body(ROLE.Reader)),
    400,
    'InvalidRoleAssignmentId',
    "The role assignment ID 'kv-role-assignement3' is not valid. The role assignment ID must be a GUID.",
  )
  const ghost = '0f14a80d-42e5-4d57-afe0-46acf9dfae05'
  expectArmError(
    await admin.put(`${p.rg('ra-rg10')}/${RA}/${randomUUID()}`, V.auth, body(ROLE.Reader, ghost)),
    400,
    'PrincipalNotFound',
    `Principal 0f14a80d42e54d57afe046acf9dfae05 does not exist in the directory ${s.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
  )
  expectArmError(
    await admin.put(`${p.rg('ra-rg10')}/${RA}/${randomUUID()}`, V.auth, body(ROLE.Reader, 'not-a-guid')),
    400,
    'InvalidPrincipalId',
    "The Principal ID 'not-a-guid' is not valid. Principal ID must be a GUID.",
  )
  expectArmError(
    await admin.put(`${p.rg('ra-rg10')}/${RA}/${randomUUID()}`, V.auth, body('4633458b-17de-408a-b874-0445c86d0e6e')),
    404,
    'RoleDefinitionDoesNotExist',
    "The specified role definition with ID '4633458b17de408ab8740445c86d0e6e' does not exist.",
  )
  expectArmError(
    await admin.put(`${p.rg('no-such-rg')}/${RA}/${randomUUID()}`, V.auth, body(ROLE.Reader)),
    404,
    'ResourceGroupNotFound',
  )
  expectArmError(await admin.put(`${p.rg('ra-rg10')}/${RA}/${randomUUID()}`, V.auth, {}), 400, 'InvalidRequestContent')
  expectArmError(
    await admin.put(
      `${p.rg('ra-rg10')}/${RA}/${randomUUID()}`,
      V.auth,
      body(ROLE.Reader, who.objectId, { principalType: 'Robot' }),
    ),
    400,
    'InvalidParameter',
  )
})

test('lists: no filter = at, above and below; atScope() = at and above; principalId eq; assignedTo() (api-shapes §4.1)', async () => {
  const other = await newPrincipal(s, 'lists')
  const mk = async (scope: string, role: string) => {
    const name = randomUUID()
    const r = await admin.put(`${scope}/${RA}/${name}`, V.auth, body(role, other.objectId))
    assert.equal(r.status, 201, r.text)
    return name
  }
  const atSub = await mk(p.sub, ROLE.Reader)
  const atRg1 = await mk(p.rg('ra-rg1'), ROLE.Reader)
  const atRg10 = await mk(p.rg('ra-rg10'), ROLE.Reader)
  const atUami = await mk(p.uami('ra-rg1', 'nothing-here'), ROLE.Contributor)
  const f = (filter: string) => `?$filter=${encodeURIComponent(filter)}`
  const mine = f(`principalId eq '${other.objectId}'`)
  const list = (scope: string, q = '') => admin.get(`${scope}/${RA}${q}`, V.auth)

  // principalId eq at the group: the subscription's (above), the group's, the identity's (below); never rg10's.
  assert.deepEqual(namesOf(await list(p.rg('ra-rg1'), mine)), [atSub, atRg1, atUami].sort())
  assert.deepEqual(
    namesOf(await list(p.rg('ra-rg1'), f(`atScope() and principalId eq '${other.objectId}'`))),
    [atSub, atRg1].sort(),
  )
  assert.deepEqual(
    namesOf(await list(p.rg('ra-rg1'), f(`assignedTo('${other.objectId}')`))),
    [atSub, atRg1, atUami].sort(),
  )
  assert.deepEqual(
    namesOf(await list(p.rg('ra-rg1'), f(`atScope() and assignedTo('${other.objectId}')`))),
    [atSub, atRg1].sort(),
  )
  // At the subscription, everything of the principal.
  assert.deepEqual(namesOf(await list(p.sub, mine)), [atSub, atRg1, atRg10, atUami].sort())
  // No filter: every principal's assignments at, above and below (the bootstrap Owners are above).
  const all = namesOf(await list(p.rg('ra-rg1')))
  for (const n of [atSub, atRg1, atUami]) assert.ok(all.includes(n), n)
  assert.ok(!all.includes(atRg10), 'rg10 is not below rg1')
  const owners = (await list(p.rg('ra-rg1'), f('atScope()'))).json<{ value: Assignment[] }>().value
  assert.ok(owners.every((a) => !a.properties.scope.toLowerCase().includes('nothing-here')))
  assert.ok(owners.some((a) => a.properties.principalId === s.server.bootstrap.servicePrincipalId))
  // Reader may list; no role may not.
  const outsider = await newPrincipal(s, 'outsider')
  expectArmError(await outsider.arm.get(`${p.rg('ra-rg1')}/${RA}`, V.auth), 403, 'AuthorizationFailed')
  expectArmError(await list(p.rg('ra-rg1'), f("principalName eq 'x'")), 400, 'InvalidFilter')
})

test('GET and DELETE: 200 with the body, then 204; a deleted assignment no longer grants (RBAC-004)', async () => {
  const target = await newPrincipal(s, 'deleted grant')
  const name = randomUUID()
  const path = `${p.rg('ra-rg')}/${RA}/${name}`
  const put = await admin.put(path, V.auth, body(ROLE.Reader, target.objectId))
  assert.equal(put.status, 201)
  assert.equal((await target.arm.get(p.rg('ra-rg'), V.rg)).status, 200)
  const del = await admin.del(path, V.auth)
  assert.equal(del.status, 200, del.text)
  assert.deepEqual(del.json(), put.json())
  assert.equal((await admin.del(path, V.auth)).status, 204)
  expectArmError(await admin.get(path, V.auth), 404, 'RoleAssignmentNotFound', 'The role assignment does not exist.')
  expectArmError(await target.arm.get(p.rg('ra-rg'), V.rg), 403, 'AuthorizationFailed')
  // An assignment is addressed under its own scope only.
  const again = randomUUID()
  assert.equal(
    (await admin.put(`${p.rg('ra-rg')}/${RA}/${again}`, V.auth, body(ROLE.Reader, target.objectId))).status,
    201,
  )
  expectArmError(await admin.get(`${p.sub}/${RA}/${again}`, V.auth), 404, 'RoleAssignmentNotFound')
  assert.equal((await admin.del(`${p.sub}/${RA}/${again}`, V.auth)).status, 204)
  assert.equal((await target.arm.get(p.rg('ra-rg'), V.rg)).status, 200)
})

test('role definitions: the Appendix A built-ins by roleName filter, with their real GUIDs (RBAC-001)', async () => {
  const names: Record<keyof typeof ROLE, string> = {
    Owner: 'Owner',
    Contributor: 'Contributor',
    Reader: 'Reader',
    UserAccessAdministrator: 'User Access Administrator',
    VirtualMachineContributor: 'Virtual Machine Contributor',
    ManagedIdentityContributor: 'Managed Identity Contributor',
    ManagedIdentityOperator: 'Managed Identity Operator',
    StorageAccountKeyOperator: 'Storage Account Key Operator Service Role',
    StorageAccountContributor: 'Storage Account Contributor',
    CosmosDbAccountReader: 'Cosmos DB Account Reader Role',
    DocumentDbAccountContributor: 'DocumentDB Account Contributor',
  }
  for (const [key, roleName] of Object.entries(names)) {
    const r = await admin.get(
      `${p.rg('ra-rg')}/${RD}?$filter=${encodeURIComponent(`roleName eq '${roleName}'`)}`,
      V.auth,
    )
    assert.equal(r.status, 200, r.text)
    const value = r.json<{
      value: {
        id: string
        name: string
        type: string
        properties: { roleName: string; type: string; assignableScopes: string[] }
      }[]
    }>().value
    assert.equal(value.length, 1, roleName)
    const d = value[0]
    assert.ok(d)
    assert.equal(d.name, ROLE[key as keyof typeof ROLE])
    assert.equal(d.id, roleId(d.name))
    assert.equal(d.type, 'Microsoft.Authorization/roleDefinitions')
    assert.equal(d.properties.roleName, roleName)
    assert.equal(d.properties.type, 'BuiltInRole')
    assert.deepEqual(d.properties.assignableScopes, ['/'])
  }
  const reader = await admin.get(`${p.sub}/${RD}/${ROLE.Reader}`, V.auth)
  assert.equal(reader.status, 200)
  assert.deepEqual(reader.json(), {
    properties: {
      roleName: 'Reader',
      type: 'BuiltInRole',
      description: 'View all resources, but does not allow you to make any changes.',
      assignableScopes: ['/'],
      permissions: [{ actions: ['*/read'], notActions: [], dataActions: [], notDataActions: [] }],
      createdOn: '2015-02-02T21:55:09.0000000Z',
      updatedOn: '2024-01-01T00:00:00.0000000Z',
      createdBy: null,
      updatedBy: null,
    },
    id: roleId(ROLE.Reader),
    type: 'Microsoft.Authorization/roleDefinitions',
    name: ROLE.Reader,
  })
  const builtIns = await admin.get(`${p.sub}/${RD}?$filter=${encodeURIComponent("type eq 'BuiltInRole'")}`, V.auth)
  assert.ok(builtIns.json<{ value: unknown[] }>().value.length >= 7)
  expectArmError(
    await admin.get(`${p.sub}/${RD}/00000000-0000-4000-8000-000000000000`, V.auth),
    404,
    'RoleDefinitionDoesNotExist',
    "The specified role definition with ID '00000000-0000-4000-8000-000000000000' does not exist.",
  )
  expectArmError(
    await admin.put(`${p.sub}/${RD}/${ROLE.Reader}`, V.auth, {
      properties: { roleName: 'Reader', assignableScopes: [p.sub], permissions: [{ actions: ['*'] }] },
    }),
    403,
    'CannotModifyBuiltInRole',
    'Built-in role definitions cannot be modified or deleted.',
  )
  expectArmError(await admin.del(`${p.sub}/${RD}/${ROLE.Reader}`, V.auth), 403, 'CannotModifyBuiltInRole')
})

test('custom roles: CRUD with assignable scopes, the one-wildcard rule, name clash, in-use refusal; they grant what they list', async () => {
  const guid = randomUUID()
  const path = `${p.sub}/${RD}/${guid}`
  const def = (over: Record<string, unknown> = {}) => ({
    properties: {
      roleName: 'VM Reader (custom)',
      description: 'reads VMs',
      assignableScopes: [p.rg('ra-rg')],
      permissions: [{ actions: ['Microsoft.Compute/virtualMachines/read'], notActions: [] }],
      ...over,
    },
  })
  expectArmError(
    await admin.put(path, V.auth, def({ permissions: [{ actions: ['Microsoft.Compute/*/read/*'] }] })),
    400,
    'InvalidActionOrNotAction',
    "'Microsoft.Compute/*/read/*' contains multiple wildcards. Only one is allowed.",
  )
  expectArmError(
    await admin.put(path, V.auth, def({ permissions: [{ actions: [], notActions: ['*/*'] }] })),
    400,
    'InvalidActionOrNotAction',
  )
  expectArmError(await admin.put(path, V.auth, def({ assignableScopes: ['/'] })), 400, 'InvalidAssignableScope')
  expectArmError(await admin.put(path, V.auth, def({ roleName: 'Reader' })), 409, 'RoleDefinitionWithSameNameExists')

  const put = await admin.put(path, V.auth, def())
  assert.equal(put.status, 201, put.text)
  const d = put.json<{ id: string; name: string; properties: Record<string, unknown> }>()
  assert.equal(d.id, path)
  assert.equal(d.name, guid)
  assert.equal(d.properties.type, 'CustomRole')
  assert.deepEqual(d.properties.assignableScopes, [p.rg('ra-rg')])
  assert.deepEqual(d.properties.permissions, [
    { actions: ['Microsoft.Compute/virtualMachines/read'], notActions: [], dataActions: [], notDataActions: [] },
  ])
  const update = await admin.put(path, V.auth, def({ description: 'reads VMs, v2' }))
  assert.equal(update.status, 200, update.text)
  const customs = await admin.get(
    `${p.rg('ra-rg')}/${RD}?$filter=${encodeURIComponent("type eq 'CustomRole'")}`,
    V.auth,
  )
  assert.deepEqual(
    customs.json<{ value: { name: string }[] }>().value.map((x) => x.name),
    [guid],
  )
  // Custom roles are listed only where they are assignable.
  const elsewhere = await admin.get(
    `${p.rg('ra-rg1')}/${RD}?$filter=${encodeURIComponent("type eq 'CustomRole'")}`,
    V.auth,
  )
  assert.deepEqual(elsewhere.json(), { value: [] })

  // Assign it inside its assignable scopes; outside them it is refused.
  const user = await newPrincipal(s, 'custom role user')
  expectArmError(
    await admin.put(`${p.rg('ra-rg1')}/${RA}/${randomUUID()}`, V.auth, body(guid, user.objectId)),
    400,
    'InvalidAssignableScope',
  )
  const ra = `${p.rg('ra-rg')}/${RA}/${randomUUID()}`
  assert.equal((await admin.put(ra, V.auth, body(guid, user.objectId))).status, 201)
  assert.equal((await user.arm.get(vm, V.compute)).status, 200)
  expectArmError(await user.arm.get(p.rg('ra-rg'), V.rg), 403, 'AuthorizationFailed')
  expectArmError(await user.arm.put(vm, V.compute, { location: 'westus' }), 403, 'AuthorizationFailed')

  expectArmError(
    await admin.del(path, V.auth),
    409,
    'RoleDefinitionHasAssignments',
    'There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).',
  )
  assert.equal((await admin.del(ra, V.auth)).status, 200)
  const del = await admin.del(path, V.auth)
  assert.equal(del.status, 200, del.text)
  assert.equal((await admin.del(path, V.auth)).status, 204)
  expectArmError(await admin.get(path, V.auth), 404, 'RoleDefinitionDoesNotExist')
})

test('permissions lists the caller’s blocks that apply; deny assignments are empty (api-shapes §4.3, §4.4)', async () => {
  const reader = await newPrincipal(s, 'permissions reader')
  assert.equal(
    (await admin.put(`${p.rg('ra-rg')}/${RA}/${randomUUID()}`, V.auth, body(ROLE.Reader, reader.objectId))).status,
    201,
  )
  const perms = await reader.arm.get(`${p.rg('ra-rg')}/providers/Microsoft.Authorization/permissions`, V.auth)
  assert.equal(perms.status, 200, perms.text)
  assert.deepEqual(perms.json(), {
    value: [{ actions: ['*/read'], notActions: [], dataActions: [], notDataActions: [] }],
    nextLink: null,
  })
  const below = await reader.arm.get(`${vm}/providers/Microsoft.Authorization/permissions`, V.auth)
  assert.deepEqual(below.json<{ value: unknown[] }>().value.length, 1)
  const elsewhere = await reader.arm.get(`${p.rg('ra-rg1')}/providers/Microsoft.Authorization/permissions`, V.auth)
  assert.deepEqual(elsewhere.json(), { value: [], nextLink: null })

  for (const scope of [p.sub, p.rg('ra-rg'), vm]) {
    const deny = await admin.get(`${scope}/providers/Microsoft.Authorization/denyAssignments`, V.auth)
    assert.equal(deny.status, 200, deny.text)
    assert.deepEqual(deny.json(), { value: [] })
  }
  expectArmError(
    await admin.get(`${p.sub}/providers/Microsoft.Authorization/denyAssignments/${randomUUID()}`, V.auth),
    404,
    'ResourceNotFound',
  )
  // Every Microsoft.Authorization api-version the SDKs send is accepted.
  for (const v of API_VERSIONS.authorization)
    assert.equal((await admin.get(`${p.rg('ra-rg')}/${RA}`, v)).status, 200, v)
})
