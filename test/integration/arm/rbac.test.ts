// RBAC enforcement on ARM: 403 texts, Reader/Contributor, the linked check for attaching identities, the managed
// identity roles, immediate effect and the optional propagation delay, audit events and the explain API
// (RBAC-001..003, RBAC-009, VM-013, VMSS-005, UAMI-009, ARM-013).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { manualClock } from '../../../src/kernel/clock.ts'
import type { HttpResult } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import {
  type Arm,
  type Principal,
  ROLE,
  V,
  adminClient,
  adminRequest,
  assignRole,
  authorizationEvents,
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
type Uami = Awaited<ReturnType<typeof createUami>>
let shared: Uami
before(async () => {
  s = await startTestServer()
  sub = s.server.endpoints.subscriptionId
  p = paths(sub)
  admin = await adminClient(s)
  await createGroup(admin, sub, 'work')
  await createGroup(admin, sub, 'ids')
  shared = await createUami(admin, sub, 'ids', 'shared-id')
})
after(() => s.stop())

const denied = (who: Principal, action: string, scope: string) =>
  `The client '${who.clientId}' with object id '${who.objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`

const grant = (principal: Principal, scope: string, role: string) =>
  assignRole(admin, { scope, role, principalId: principal.objectId, sub })

test('no role → 403 AuthorizationFailed naming client id, object id, action and scope (RBAC-002, ARM-012)', async () => {
  const who = await newPrincipal(s, 'nobody')
  const cases: [Promise<HttpResult>, string, string][] = [
    [who.arm.get(p.rg('work'), V.rg), 'Microsoft.Resources/subscriptions/resourceGroups/read', p.rg('work')],
    [
      who.arm.put(p.uami('work', 'x-id'), V.mi, { location: 'westus' }),
      'Microsoft.ManagedIdentity/userAssignedIdentities/write',
      p.uami('work', 'x-id'),
    ],
    [
      who.arm.get(`${p.rg('work')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`, V.mi),
      'Microsoft.ManagedIdentity/userAssignedIdentities/read',
      p.rg('work'),
    ],
    [who.arm.del(p.vm('work', 'vm'), V.compute), 'Microsoft.Compute/virtualMachines/delete', p.vm('work', 'vm')],
    [
      who.arm.put(p.rg('new-rg'), V.rg, { location: 'westus' }),
      'Microsoft.Resources/subscriptions/resourceGroups/write',
      p.rg('new-rg'),
    ],
  ]
  for (const [call, action, scope] of cases) {
    const r = await call
    expectArmError(r, 403, 'AuthorizationFailed', denied(who, action, scope))
    assert.equal(r.headers['x-ms-failure-cause'], 'gateway')
  }
})

test('Reader on the group: GET works, PUT → 403; Contributor: PUT works; takes effect on the next request (RBAC-003, ARM-013)', async () => {
  const who = await newPrincipal(s, 'reader then contributor')
  await createUami(admin, sub, 'work', 'readable-id')
  const vm = p.vm('work', 'reader-vm')
  assert.equal((await admin.put(vm, V.compute, { location: 'westus' })).status, 201)
  expectArmError(await who.arm.get(vm, V.compute), 403, 'AuthorizationFailed')

  await grant(who, p.rg('work'), ROLE.Reader)
  // The very next request sees the assignment.
  assert.equal((await who.arm.get(vm, V.compute)).status, 200)
  assert.equal((await who.arm.get(p.rg('work'), V.rg)).status, 200)
  assert.equal((await who.arm.get(p.uami('work', 'readable-id'), V.mi)).status, 200)
  assert.equal((await who.arm.get(`${p.rg('work')}/resources`, V.rg)).status, 200)
  // Reader is scoped to the group: another group stays closed.
  expectArmError(
    await who.arm.get(p.rg('ids'), V.rg),
    403,
    'AuthorizationFailed',
    denied(who, 'Microsoft.Resources/subscriptions/resourceGroups/read', p.rg('ids')),
  )
  expectArmError(
    await who.arm.put(vm, V.compute, { location: 'westus', tags: { a: 'b' } }),
    403,
    'AuthorizationFailed',
    denied(who, 'Microsoft.Compute/virtualMachines/write', vm),
  )

  await grant(who, p.rg('work'), ROLE.Contributor)
  const put = await who.arm.put(vm, V.compute, { location: 'westus', tags: { a: 'b' } })
  assert.equal(put.status, 200, put.text)
  assert.equal((await who.arm.put(p.vm('work', 'contrib-vm'), V.compute, { location: 'westus' })).status, 201)
  // Contributor may not manage role assignments (notActions Microsoft.Authorization/*/Write).
  const raName = '3f9a3c52-0000-4000-8000-00000000c0de'
  const ra = `${p.rg('work')}/providers/Microsoft.Authorization/roleAssignments/${raName}`
  expectArmError(
    await who.arm.put(ra, V.auth, {
      properties: {
        roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${ROLE.Reader}`,
        principalId: who.objectId,
      },
    }),
    403,
    'AuthorizationFailed',
    denied(who, 'Microsoft.Authorization/roleAssignments/write', ra),
  )
})

test('attaching a UAMI needs VM Contributor and Managed Identity Operator: LinkedAuthorizationFailed, then allowed (VM-013, PATCH R9)', async () => {
  const who = await newPrincipal(s, 'vm operator')
  await grant(who, p.rg('work'), ROLE.VirtualMachineContributor)
  const vm = p.vm('work', 'linked-vm')
  // VM Contributor alone may create a VM with a system-assigned identity.
  const created = await who.arm.put(vm, V.compute, { location: 'westus', identity: { type: 'SystemAssigned' } })
  assert.equal(created.status, 201, created.text)
  const lowerShared = shared.id.replace('/resourceGroups/', '/resourcegroups/')
  const attach = { identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [shared.id]: {} } } }
  const r = await who.arm.patch(vm, V.compute, attach)
  expectArmError(
    r,
    403,
    'LinkedAuthorizationFailed',
    `The client '${who.clientId}' with object id '${who.objectId}' has permission to perform action 'Microsoft.Compute/virtualMachines/write' on scope '${vm}'; however, it does not have permission to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '${lowerShared}' or the linked scope(s) are invalid.`,
  )
  // Creating a VM with the identity is refused the same way, and nothing is created.
  const other = p.vm('work', 'linked-vm2')
  expectArmError(
    await who.arm.put(other, V.compute, {
      location: 'westus',
      identity: { type: 'UserAssigned', userAssignedIdentities: { [shared.id]: {} } },
    }),
    403,
    'LinkedAuthorizationFailed',
  )
  expectArmError(await admin.get(other, V.compute), 404, 'ResourceNotFound')

  await grant(who, shared.id, ROLE.ManagedIdentityOperator)
  const ok = await who.arm.patch(vm, V.compute, attach)
  assert.equal(ok.status, 200, ok.text)
  assert.deepEqual(ok.json<{ identity: { userAssignedIdentities: unknown } }>().identity.userAssignedIdentities, {
    [shared.id]: { principalId: shared.principalId, clientId: shared.clientId },
  })
  // Removing a user-assigned identity needs only VM Contributor (VM-013).
  const lone = await newPrincipal(s, 'vm contributor only')
  await grant(lone, p.rg('work'), ROLE.VirtualMachineContributor)
  const removed = await lone.arm.patch(vm, V.compute, {
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [shared.id]: null } },
  })
  expectArmError(removed, 400, 'MissingIdentityIds') // nothing would be left under UserAssigned (R6)
  const removed2 = await lone.arm.patch(vm, V.compute, { identity: { type: 'SystemAssigned' } })
  assert.equal(removed2.status, 200, removed2.text)
  // The linked check is an audit event of its own.
  const events = await authorizationEvents(s, String(r.headers['x-ms-request-id']))
  const linked = events.find(
    (e) => e.details?.action === 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
  )
  assert.ok(linked)
  assert.equal(linked.result, 'failure')
  assert.equal(linked.details?.scope, lowerShared)
})

test('Managed Identity Operator reads but cannot create; Managed Identity Contributor creates and deletes (UAMI-009, VMSS-005)', async () => {
  await createGroup(admin, sub, 'mi-roles')
  await createUami(admin, sub, 'mi-roles', 'existing')
  const op = await newPrincipal(s, 'mi operator')
  await grant(op, p.rg('mi-roles'), ROLE.ManagedIdentityOperator)
  assert.equal((await op.arm.get(p.uami('mi-roles', 'existing'), V.mi)).status, 200)
  const list = await op.arm.get(`${p.rg('mi-roles')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`, V.mi)
  assert.equal(list.status, 200, list.text)
  assert.equal(list.json<{ value: unknown[] }>().value.length, 1)
  expectArmError(
    await op.arm.put(p.uami('mi-roles', 'new-one'), V.mi, { location: 'westus' }),
    403,
    'AuthorizationFailed',
    denied(op, 'Microsoft.ManagedIdentity/userAssignedIdentities/write', p.uami('mi-roles', 'new-one')),
  )
  expectArmError(
    await op.arm.del(p.uami('mi-roles', 'existing'), V.mi),
    403,
    'AuthorizationFailed',
    denied(op, 'Microsoft.ManagedIdentity/userAssignedIdentities/delete', p.uami('mi-roles', 'existing')),
  )

  const contrib = await newPrincipal(s, 'mi contributor')
  await grant(contrib, p.rg('mi-roles'), ROLE.ManagedIdentityContributor)
  const created = await contrib.arm.put(p.uami('mi-roles', 'new-one'), V.mi, { location: 'westus' })
  assert.equal(created.status, 201, created.text)
  const fic = await contrib.arm.put(`${p.uami('mi-roles', 'new-one')}/federatedIdentityCredentials/gh-main`, V.mi, {
    properties: {
      issuer: 'https://token.actions.githubusercontent.com',
      subject: 'repo:a/b:ref:refs/heads/main',
      audiences: ['api://AzureADTokenExchange'],
    },
  })
  assert.equal(fic.status, 201, fic.text)
  assert.equal((await contrib.arm.del(p.uami('mi-roles', 'new-one'), V.mi)).status, 200)
  // MI Contributor cannot write VMs.
  expectArmError(
    await contrib.arm.put(p.vm('mi-roles', 'vm'), V.compute, { location: 'westus' }),
    403,
    'AuthorizationFailed',
  )
})

test('every authorization decision is an audit event; the explain API names the grant or why none applied', async () => {
  const who = await newPrincipal(s, 'audited')
  const ra = await grant(who, p.rg('work'), ROLE.Reader)
  const ok = await who.arm.get(p.rg('work'), V.rg)
  assert.equal(ok.status, 200)
  const okEvents = await authorizationEvents(s, String(ok.headers['x-ms-request-id']))
  assert.equal(okEvents.length, 1)
  const e = okEvents[0]
  assert.ok(e)
  assert.equal(e.kind, 'authorization')
  assert.equal(e.result, 'success')
  assert.equal(e.principalId, who.objectId)
  assert.equal(e.clientId, who.clientId)
  assert.equal(e.tenantId, s.tenantId)
  assert.equal(e.reason, `allowed by Reader at ${p.rg('work')}`)
  assert.deepEqual(e.details, {
    action: 'Microsoft.Resources/subscriptions/resourceGroups/read',
    scope: p.rg('work'),
    method: 'GET',
  })
  const no = await who.arm.put(p.rg('work'), V.rg, { location: 'westus' })
  assert.equal(no.status, 403)
  const noEvents = await authorizationEvents(s, String(no.headers['x-ms-request-id']))
  assert.equal(noEvents.length, 1)
  assert.equal(noEvents[0]?.result, 'failure')
  assert.equal(noEvents[0]?.reason, 'no role assignment grants Microsoft.Resources/subscriptions/resourceGroups/write')
  // The admin log can be filtered by principal.
  const mine = await adminRequest(s, `/_azid/logs?kind=authorization&principal=${who.objectId}`)
  assert.equal(mine.json<{ value: unknown[] }>().value.length >= 2, true)

  const explain = (action: string, scope: string) =>
    adminRequest(
      s,
      `/_azid/access/explain?principal=${who.objectId}&action=${encodeURIComponent(action)}&scope=${encodeURIComponent(scope)}`,
    )
  const yes = await explain('Microsoft.Compute/virtualMachines/read', p.vm('work', 'anything'))
  assert.equal(yes.status, 200, yes.text)
  assert.deepEqual(yes.json(), {
    allowed: true,
    principalId: who.objectId,
    action: 'Microsoft.Compute/virtualMachines/read',
    scope: p.vm('work', 'anything'),
    kind: 'action',
    grant: {
      assignmentId: ra,
      assignmentScope: p.rg('work'),
      roleDefinitionId: ROLE.Reader,
      roleName: 'Reader',
      permission: '*/read',
    },
    considered: [],
  })
  const nope = await explain('Microsoft.Compute/virtualMachines/write', p.vm('ids', 'x'))
  assert.deepEqual(nope.json(), {
    allowed: false,
    principalId: who.objectId,
    action: 'Microsoft.Compute/virtualMachines/write',
    scope: p.vm('ids', 'x'),
    kind: 'action',
    grant: null,
    considered: [
      {
        assignmentId: ra,
        assignmentScope: p.rg('work'),
        roleName: 'Reader',
        reason: `its scope ${p.rg('work')} does not contain ${p.vm('ids', 'x')}`,
      },
    ],
  })
  const inScope = await explain('Microsoft.Compute/virtualMachines/write', p.vm('work', 'x'))
  assert.equal(
    inScope.json<{ considered: { reason: string }[] }>().considered[0]?.reason,
    "role 'Reader' does not grant action Microsoft.Compute/virtualMachines/write",
  )
  // The explain API is behind the admin key and needs all three parameters.
  assert.equal((await adminRequest(s, `/_azid/access/explain?principal=${who.objectId}`)).status, 400)
})

test('RBAC-009: with arm.roleAssignmentPropagation 5m an assignment takes effect five minutes later (manual clock)', async () => {
  const clock = manualClock(Date.now())
  const m = await startTestServer({ arm: { roleAssignmentPropagation: '5m' } }, { clock })
  try {
    const msub = m.server.endpoints.subscriptionId
    const mp = paths(msub)
    const madmin = await adminClient(m)
    // The bootstrap administrator is Owner from the start.
    assert.equal((await madmin.put(mp.rg('late'), V.rg, { location: 'westus' })).status, 201)
    const who = await newPrincipal(m, 'late reader')
    const ra = await assignRole(madmin, {
      scope: mp.rg('late'),
      role: ROLE.Reader,
      principalId: who.objectId,
      sub: msub,
    })
    // The assignment exists at once (it is listed) but does not grant yet.
    const listed = await madmin.get(`${mp.rg('late')}/providers/Microsoft.Authorization/roleAssignments/${ra}`, V.auth)
    assert.equal(listed.status, 200, listed.text)
    expectArmError(await who.arm.get(mp.rg('late'), V.rg), 403, 'AuthorizationFailed')
    clock.advance(4 * 60_000)
    expectArmError(await who.arm.get(mp.rg('late'), V.rg), 403, 'AuthorizationFailed')
    clock.advance(60_000)
    assert.equal((await who.arm.get(mp.rg('late'), V.rg)).status, 200)
  } finally {
    await m.stop()
  }
})
