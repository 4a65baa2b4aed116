import assert from 'node:assert/strict'
import type { Resource, ResourceGroup, Subscription } from '../../arm/model.ts'
import type { ArmStore } from '../../arm/ports.ts'
import type { ServicePrincipal } from '../../directory/model.ts'
import type { RoleAssignment, RoleDefinition } from '../../rbac/model.ts'
import { createArmStore } from '../arm-store.ts'
import { type Case, contractRunner, guid, runOnEveryBackend, sortBy } from './harness.ts'

const T = 1_720_000_000_000 // a fixed epoch-millisecond base; bigger than 2^31 on purpose
const TENANT = guid(1, '7e7a0000')
const SUB = guid(1, '5ab50000')
const OTHER_SUB = guid(2, '5ab50000')
const RG = (name: string, sub = SUB) => `/subscriptions/${sub}/resourceGroups/${name}`
const VM = (rg: string, name: string) => `${RG(rg)}/providers/Microsoft.Compute/virtualMachines/${name}`
const VM_TYPE = 'Microsoft.Compute/virtualMachines'
const EXT_TYPE = 'Microsoft.Compute/virtualMachines/extensions'
const UAMI_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities'

const subscription = (over: Partial<Subscription> = {}): Subscription => ({
  id: SUB,
  tenantId: TENANT,
  displayName: 'Dev',
  state: 'Enabled',
  createdAt: T,
  ...over,
})

const group = (name: string, over: Partial<ResourceGroup> = {}): ResourceGroup => ({
  subscriptionId: SUB,
  name,
  location: 'westus',
  tags: {},
  managedBy: null,
  createdAt: T,
  updatedAt: T,
  ...over,
})

const vm = (rg: string, name: string, over: Partial<Resource> = {}): Resource => ({
  id: VM(rg, name),
  subscriptionId: SUB,
  resourceGroup: rg,
  type: VM_TYPE,
  name,
  parentId: null,
  location: 'westus',
  tags: {},
  properties: { hardwareProfile: { vmSize: 'Standard_D2_v2' } },
  identity: null,
  extra: {},
  etag: `"etag-${name}-1"`,
  createdAt: T,
  updatedAt: T,
  createdBy: null,
  ...over,
})

const extension = (rg: string, vmName: string, name: string, over: Partial<Resource> = {}): Resource => ({
  ...vm(rg, vmName),
  id: `${VM(rg, vmName)}/extensions/${name}`,
  type: EXT_TYPE,
  name,
  parentId: VM(rg, vmName),
  properties: { settings: { port: 50342 } },
  etag: `"etag-${name}"`,
  ...over,
})

const uami = (rg: string, name: string, over: Partial<Resource> = {}): Resource => ({
  ...vm(rg, name),
  id: `${RG(rg)}/providers/${UAMI_TYPE}/${name}`,
  type: UAMI_TYPE,
  properties: { tenantId: TENANT, principalId: guid(9, '0b1ec700'), clientId: guid(9, 'a9910000') },
  ...over,
})

const assignment = (n: number, scope: string, over: Partial<RoleAssignment> = {}): RoleAssignment => ({
  id: guid(n, 'a5510000'),
  scope,
  roleDefinitionId: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  principalId: guid(1, '9e1c0000'),
  principalType: 'ServicePrincipal',
  description: null,
  condition: null,
  conditionVersion: null,
  createdAt: T + n,
  updatedAt: T + n,
  createdBy: null,
  updatedBy: null,
  ...over,
})

const role = (n: number, over: Partial<RoleDefinition> = {}): RoleDefinition => ({
  id: guid(n, '901e0000'),
  roleName: `custom ${n}`,
  description: `role ${n}`,
  type: 'CustomRole',
  assignableScopes: [`/subscriptions/${SUB}`],
  permissions: [
    { actions: ['Microsoft.Compute/virtualMachines/read'], notActions: [], dataActions: [], notDataActions: [] },
  ],
  scope: `/subscriptions/${SUB}`,
  createdAt: T + n,
  updatedAt: T + n,
  ...over,
})

const sp = (n: number): ServicePrincipal => ({
  tenantId: TENANT,
  objectId: guid(n, '5e7c0000'),
  appId: guid(n, 'a9910000'),
  displayName: `mi ${n}`,
  type: 'ManagedIdentity',
  appOwnerTenantId: null,
  servicePrincipalNames: [guid(n, 'a9910000')],
  alternativeNames: ['isExplicit=False', VM('rg1', `vm${n}`)],
  managedIdentityResourceId: VM('rg1', `vm${n}`),
  accountEnabled: true,
  createdAt: T,
})

const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id)
const sortedIds = (xs: readonly { id: string }[]) => sortBy(xs, (x) => x.id).map((x) => x.id)

const CASES: readonly Case<ArmStore>[] = [
  [
    'subscriptions: round trip, ids case-insensitive, list by creation, re-put updates name and state only',
    async (s) => {
      assert.equal(await s.getSubscription(SUB), undefined)
      assert.deepEqual(await s.listSubscriptions(), [])
      await s.putSubscription(subscription({ createdAt: T + 5 }))
      await s.putSubscription(subscription({ id: OTHER_SUB, displayName: 'Prod', createdAt: T }))
      assert.deepEqual(await s.getSubscription(SUB), subscription({ createdAt: T + 5 }))
      assert.deepEqual(await s.getSubscription(SUB.toUpperCase()), subscription({ createdAt: T + 5 }))
      assert.deepEqual(ids(await s.listSubscriptions()), [OTHER_SUB, SUB])
      await s.putSubscription(
        subscription({ displayName: 'Dev 2', state: 'Disabled', tenantId: guid(9, '7e7a0000'), createdAt: T + 99 }),
      )
      assert.deepEqual(
        await s.getSubscription(SUB),
        subscription({ displayName: 'Dev 2', state: 'Disabled', createdAt: T + 5 }),
      )
    },
  ],
  [
    'resource groups: round trip, case-insensitive names keep their casing, list per subscription, update, delete',
    async (s) => {
      const g = group('Rg-One', { tags: { env: 'dev' }, managedBy: '/subscriptions/x/managed' })
      await s.putResourceGroup(g)
      await s.putResourceGroup(group('another'))
      await s.putResourceGroup(group('elsewhere', { subscriptionId: OTHER_SUB }))
      assert.deepEqual(await s.getResourceGroup(SUB, 'rg-one'), g)
      assert.deepEqual(await s.getResourceGroup(SUB.toUpperCase(), 'RG-ONE'), g)
      assert.equal(await s.getResourceGroup(OTHER_SUB, 'Rg-One'), undefined)
      assert.deepEqual(
        (await s.listResourceGroups(SUB)).map((x) => x.name),
        ['another', 'Rg-One'],
      )
      assert.deepEqual(
        (await s.listResourceGroups(OTHER_SUB)).map((x) => x.name),
        ['elsewhere'],
      )
      // A re-put (any casing) replaces tags, managedBy and updatedAt; name, location and createdAt stay.
      await s.putResourceGroup(
        group('RG-ONE', {
          location: 'eastus',
          tags: { env: 'prod' },
          managedBy: null,
          createdAt: T + 9,
          updatedAt: T + 10,
        }),
      )
      assert.deepEqual(await s.getResourceGroup(SUB, 'rg-one'), {
        ...g,
        tags: { env: 'prod' },
        managedBy: null,
        updatedAt: T + 10,
      })
      await s.deleteResourceGroup(SUB, 'RG-one')
      assert.equal(await s.getResourceGroup(SUB, 'Rg-One'), undefined)
      await s.deleteResourceGroup(SUB, 'never-existed')
      assert.equal((await s.listResourceGroups(SUB)).length, 1)
    },
  ],
  [
    'resources: every field round trips; ids case-insensitive; a re-put replaces all but createdAt; delete',
    async (s) => {
      const full = vm('My-RG', 'Vm1', {
        tags: { a: '1', empty: '' },
        identity: {
          system: { principalId: guid(1, '0b1ec700'), tenantId: TENANT, clientId: guid(1, 'a9910000') },
          user: [
            {
              id: `${RG('My-RG')}/providers/${UAMI_TYPE}/id1`,
              principalId: guid(2, '0b1ec700'),
              clientId: guid(2, 'a9910000'),
            },
          ],
        },
        extra: { sku: { name: 'Standard' }, zones: ['1'] },
        properties: { nested: { deep: [1, 'two', null, { x: true }] }, unicode: 'é€😀' },
        createdBy: guid(7, '9e1c0000'),
      })
      assert.equal(await s.getResource(full.id), undefined)
      assert.equal(await s.putResource(full), 'ok')
      assert.deepEqual(await s.getResource(full.id), full)
      assert.deepEqual(await s.getResource(full.id.toLowerCase()), full)
      assert.deepEqual(await s.getResource(`${full.id.toUpperCase()}/`), full, 'trailing slash and casing ignored')
      // A subscription-level resource (no group) and a child resource.
      const top = {
        ...vm('x', 'sublevel'),
        id: `/subscriptions/${SUB}/providers/Microsoft.Foo/bars/b1`,
        resourceGroup: null,
        type: 'Microsoft.Foo/bars',
        name: 'b1',
      }
      await s.putResource(top)
      assert.deepEqual(await s.getResource(top.id), top)
      const child = extension('My-RG', 'Vm1', 'ext1')
      await s.putResource(child)
      assert.deepEqual(await s.getResource(child.id), child)

      const replaced = {
        ...full,
        tags: {},
        identity: null,
        extra: {},
        properties: {},
        etag: '"2"',
        createdAt: T + 50,
        updatedAt: T + 60,
      }
      assert.equal(await s.putResource(replaced), 'ok')
      assert.deepEqual(await s.getResource(full.id), { ...replaced, createdAt: T })

      assert.equal(await s.deleteResource(full.id.toUpperCase()), true)
      assert.equal(await s.getResource(full.id), undefined)
      assert.equal(await s.deleteResource(full.id), false)
      assert.ok(await s.getResource(child.id), 'deleting a parent row does not cascade in the store')
    },
  ],
  [
    'putResource expectEtag: null inserts only if absent; a value updates only on a match; conflicts change nothing',
    async (s) => {
      const v1 = vm('rg1', 'vm1')
      assert.equal(await s.putResource(v1, { expectEtag: null }), 'ok')
      assert.equal(
        await s.putResource({ ...v1, tags: { lost: 'write' }, etag: '"other"' }, { expectEtag: null }),
        'conflict',
      )
      assert.deepEqual(await s.getResource(v1.id), v1)
      const v2 = { ...v1, tags: { v: '2' }, etag: '"etag-2"', createdAt: T + 100, updatedAt: T + 100 }
      assert.equal(await s.putResource(v2, { expectEtag: v1.etag }), 'ok')
      assert.deepEqual(await s.getResource(v1.id), { ...v2, createdAt: T })
      assert.equal(
        await s.putResource({ ...v2, tags: { stale: 'x' }, etag: '"etag-3"' }, { expectEtag: v1.etag }),
        'conflict',
      )
      assert.deepEqual((await s.getResource(v1.id))?.tags, { v: '2' })
      // An expected etag for a row that does not exist is a conflict too.
      assert.equal(await s.putResource(vm('rg1', 'ghost'), { expectEtag: '"any"' }), 'conflict')
      assert.equal(await s.getResource(VM('rg1', 'ghost')), undefined)
      // The id key is case-insensitive: an insert under another casing conflicts.
      assert.equal(await s.putResource({ ...v1, id: v1.id.toUpperCase() }, { expectEtag: null }), 'conflict')
      // Without expectEtag, a put always wins.
      assert.equal(await s.putResource({ ...v2, tags: { forced: 'y' } }), 'ok')
      assert.deepEqual((await s.getResource(v1.id))?.tags, { forced: 'y' })
    },
  ],
  [
    'listResources: by subscription, group, type (top level only without parentId), parent, name; ordered by id; paged',
    async (s) => {
      const a = vm('rg1', 'a-vm')
      const b = vm('RG1', 'B-vm')
      const c = vm('rg2', 'c-vm')
      const u = uami('rg1', 'the-id')
      const e1 = extension('rg1', 'a-vm', 'ext1')
      const e2 = extension('rg1', 'a-vm', 'Ext2')
      const o = {
        ...vm('rg1', 'other-sub'),
        id: `${RG('rg1', OTHER_SUB)}/providers/${VM_TYPE}/other-sub`,
        subscriptionId: OTHER_SUB,
      }
      for (const r of [c, e2, u, b, a, e1, o]) await s.putResource(r)

      assert.deepEqual(sortedIds(await s.listResources({ subscriptionId: SUB })), sortedIds([a, b, c, u, e1, e2]))
      const byId = await s.listResources({ subscriptionId: SUB.toUpperCase() })
      assert.deepEqual(
        byId.map((r) => r.id.toLowerCase()),
        byId.map((r) => r.id.toLowerCase()).sort(),
        'ordered by the lower-case id',
      )
      assert.deepEqual(
        sortedIds(await s.listResources({ subscriptionId: SUB, resourceGroup: 'Rg1' })),
        sortedIds([a, b, u, e1, e2]),
        'the group matches case-insensitively',
      )
      assert.deepEqual(
        sortedIds(await s.listResources({ subscriptionId: SUB, type: 'microsoft.compute/VIRTUALMACHINES' })),
        sortedIds([a, b, c]),
      )
      assert.deepEqual(
        await s.listResources({ subscriptionId: SUB, type: EXT_TYPE }),
        [],
        'with a type and no parent, only top-level resources',
      )
      assert.deepEqual(sortedIds(await s.listResources({ parentId: a.id.toUpperCase() })), sortedIds([e1, e2]))
      assert.deepEqual(sortedIds(await s.listResources({ parentId: a.id, type: EXT_TYPE })), sortedIds([e1, e2]))
      assert.deepEqual(await s.listResources({ parentId: b.id }), [])
      assert.deepEqual(ids(await s.listResources({ subscriptionId: SUB, name: 'b-VM' })), [b.id])
      assert.deepEqual(ids(await s.listResources({ subscriptionId: OTHER_SUB })), [o.id])
      assert.deepEqual(await s.listResources({ subscriptionId: SUB, resourceGroup: 'nope' }), [])

      // Paging: limit, then resume after the last id key.
      const all = await s.listResources({ subscriptionId: SUB })
      const page1 = await s.listResources({ subscriptionId: SUB, limit: 4 })
      assert.deepEqual(ids(page1), ids(all.slice(0, 4)))
      const after = String(page1.at(-1)?.id).toLowerCase()
      const page2 = await s.listResources({ subscriptionId: SUB, limit: 4, after })
      assert.deepEqual(ids(page2), ids(all.slice(4)))
      // The group's original casing and the parent id come back as stored.
      assert.deepEqual((await s.getResource(b.id))?.resourceGroup, 'RG1')
      assert.deepEqual((await s.getResource(e2.id))?.parentId, a.id)
    },
  ],
  [
    'getResource forUpdate inside a transaction reads the row (and locks it where the backend can)',
    async (s) => {
      await s.putResource(vm('rg1', 'locked'))
      const out = await s.transaction(async (tx) => {
        const r = await tx.getResource(VM('rg1', 'locked'), { forUpdate: true })
        assert.ok(r)
        assert.equal(await tx.putResource({ ...r, tags: { in: 'tx' }, etag: '"n"' }, { expectEtag: r.etag }), 'ok')
        assert.equal(await tx.getResource(VM('rg1', 'missing'), { forUpdate: true }), undefined)
        return r.etag
      })
      assert.equal(out, '"etag-locked-1"')
      assert.deepEqual((await s.getResource(VM('rg1', 'locked')))?.tags, { in: 'tx' })
    },
  ],
  [
    'role definitions: custom roles round trip, ordered by name, update keeps createdAt, delete by any casing',
    async (s) => {
      assert.deepEqual(await s.listRoleDefinitions(), [])
      const r2 = role(2, { roleName: 'b role' })
      const r1 = role(1, {
        roleName: 'A role',
        assignableScopes: [RG('rg1'), RG('rg2')],
        permissions: [
          {
            actions: ['*/read'],
            notActions: ['Microsoft.Authorization/*/read'],
            dataActions: ['x/y'],
            notDataActions: [],
          },
          { actions: ['Microsoft.Compute/*'], notActions: [], dataActions: [], notDataActions: [] },
        ],
      })
      await s.putRoleDefinition(r2)
      await s.putRoleDefinition(r1)
      assert.deepEqual(await s.listRoleDefinitions(), [r1, r2])
      await s.putRoleDefinition({
        ...r1,
        id: r1.id.toUpperCase(),
        description: 'changed',
        createdAt: T + 99,
        updatedAt: T + 100,
      })
      assert.deepEqual((await s.listRoleDefinitions())[0], { ...r1, description: 'changed', updatedAt: T + 100 })
      assert.equal(await s.deleteRoleDefinition(r1.id.toUpperCase()), true)
      assert.equal(await s.deleteRoleDefinition(r1.id), false)
      assert.deepEqual(await s.listRoleDefinitions(), [r2])
    },
  ],
  [
    'role assignments: round trip, get by any casing, list ordered by creation, by principal, scopesIn',
    async (s) => {
      const full = assignment(1, RG('Rg1'), {
        description: 'why',
        condition: "@Resource[x] StringEquals 'y'",
        conditionVersion: '2.0',
        createdBy: guid(5, '9e1c0000'),
        updatedBy: guid(6, '9e1c0000'),
        principalType: 'User',
      })
      await s.putRoleAssignment(assignment(3, `/subscriptions/${SUB}`))
      await s.putRoleAssignment(full)
      await s.putRoleAssignment(assignment(2, VM('rg1', 'vm1'), { principalId: guid(2, '9e1c0000') }))
      assert.deepEqual(await s.getRoleAssignment(full.id), full)
      assert.deepEqual(await s.getRoleAssignment(full.id.toUpperCase()), full)
      assert.equal(await s.getRoleAssignment(guid(99, 'a5510000')), undefined)
      assert.deepEqual(
        (await s.listRoleAssignments()).map((a) => a.id),
        [assignment(1, '').id, assignment(2, '').id, assignment(3, '').id],
      )
      assert.deepEqual(
        (await s.listRoleAssignments({ principalId: guid(1, '9e1c0000').toUpperCase() })).map((a) => a.id),
        [assignment(1, '').id, assignment(3, '').id],
      )
      assert.deepEqual(
        (await s.listRoleAssignments({ scopesIn: [`/subscriptions/${SUB}`, RG('rg1').toLowerCase()] })).map(
          (a) => a.id,
        ),
        [assignment(1, '').id, assignment(3, '').id],
      )
      assert.deepEqual(await s.listRoleAssignments({ scopesIn: [] }), [])
      assert.deepEqual(
        (await s.listRoleAssignments({ scopesIn: [`/subscriptions/${SUB}`], principalId: guid(2, '9e1c0000') })).map(
          (a) => a.id,
        ),
        [],
      )
    },
  ],
  [
    'listRoleAssignments withinScope: at and below only, at segment boundaries (rg1 never matches rg10)',
    async (s) => {
      const atSub = assignment(1, `/subscriptions/${SUB}`)
      const atRg1 = assignment(2, RG('rg1'))
      const atVm = assignment(3, VM('rg1', 'vm1'))
      const atRg10 = assignment(4, RG('rg10'))
      const atRg10Vm = assignment(5, VM('rg10', 'vm1'))
      const atRoot = assignment(6, '/')
      const otherSub = assignment(7, RG('rg1', OTHER_SUB))
      for (const a of [atSub, atRg1, atVm, atRg10, atRg10Vm, atRoot, otherSub]) await s.putRoleAssignment(a)
      const within = async (scope: string) => (await s.listRoleAssignments({ withinScope: scope })).map((a) => a.id)
      assert.deepEqual(await within(RG('rg1')), [atRg1.id, atVm.id])
      assert.deepEqual(await within(`${RG('RG1').toUpperCase()}/`), [atRg1.id, atVm.id], 'case and trailing slash')
      assert.deepEqual(await within(RG('rg10')), [atRg10.id, atRg10Vm.id])
      assert.deepEqual(await within(VM('rg1', 'vm1')), [atVm.id])
      assert.deepEqual(await within(VM('rg1', 'vm')), [], 'vm is not a prefix segment of vm1')
      assert.deepEqual(await within(`/subscriptions/${SUB}`), [atSub.id, atRg1.id, atVm.id, atRg10.id, atRg10Vm.id])
      assert.deepEqual((await within('/')).length, 7, 'the root contains everything')
      assert.deepEqual(
        (await s.listRoleAssignments({ withinScope: RG('rg1'), principalId: guid(1, '9e1c0000') })).map((a) => a.id),
        [atRg1.id, atVm.id],
      )
    },
  ],
  [
    "putRoleAssignment: 'exists' for the same (scope, role, principal) under another id; a re-put of the id updates",
    async (s) => {
      const a = assignment(1, RG('rg1'), { createdBy: guid(5, '9e1c0000') })
      assert.equal(await s.putRoleAssignment(a), 'ok')
      // Same triple under another id, scope in another casing and with a trailing slash: refused, nothing written.
      assert.equal(
        await s.putRoleAssignment(
          assignment(2, `${RG('RG1').toUpperCase()}/`, { principalId: a.principalId.toUpperCase() }),
        ),
        'exists',
      )
      assert.equal(await s.getRoleAssignment(assignment(2, '').id), undefined)
      // Another role, principal or scope is a different assignment.
      assert.equal(await s.putRoleAssignment(assignment(3, RG('rg1'), { roleDefinitionId: guid(1, '901e0000') })), 'ok')
      assert.equal(await s.putRoleAssignment(assignment(4, RG('rg1'), { principalId: guid(2, '9e1c0000') })), 'ok')
      assert.equal(await s.putRoleAssignment(assignment(5, RG('rg10'))), 'ok')
      // A re-put under the same id updates the mutable fields; createdAt and createdBy stay.
      const again = {
        ...a,
        description: 'now described',
        updatedAt: T + 500,
        updatedBy: guid(6, '9e1c0000'),
        createdAt: T + 400,
        createdBy: null,
      }
      assert.equal(await s.putRoleAssignment(again), 'ok')
      assert.deepEqual(await s.getRoleAssignment(a.id), { ...again, createdAt: a.createdAt, createdBy: a.createdBy })
      assert.equal((await s.listRoleAssignments()).length, 4)
    },
  ],
  [
    'deleteRoleAssignment and deleteRoleAssignmentsWithin (at and below, segment boundaries, returns the ids)',
    async (s) => {
      const atSub = assignment(1, `/subscriptions/${SUB}`)
      const atRg1 = assignment(2, RG('rg1'))
      const atVm = assignment(3, VM('rg1', 'vm1'))
      const atRg10 = assignment(4, RG('rg10'))
      for (const a of [atSub, atRg1, atVm, atRg10]) await s.putRoleAssignment(a)
      assert.equal(await s.deleteRoleAssignment(atSub.id.toUpperCase()), true)
      assert.equal(await s.deleteRoleAssignment(atSub.id), false)
      assert.deepEqual(
        sortBy(await s.deleteRoleAssignmentsWithin(RG('RG1')), (x) => x),
        [atRg1.id, atVm.id].sort(),
      )
      assert.deepEqual(
        (await s.listRoleAssignments()).map((a) => a.id),
        [atRg10.id],
      )
      assert.deepEqual(await s.deleteRoleAssignmentsWithin(RG('rg1')), [], 'nothing left to delete')
      assert.deepEqual(await s.deleteRoleAssignmentsWithin(`/subscriptions/${SUB}/`), [atRg10.id])
      assert.deepEqual(await s.listRoleAssignments(), [])
    },
  ],
  [
    'transaction: commits and returns the value; a throw rolls back resources, groups, assignments and directory writes',
    async (s) => {
      const v = await s.transaction(async (tx) => {
        await tx.putResourceGroup(group('tx-rg'))
        await tx.putResource(vm('tx-rg', 'kept'))
        await tx.directory.putServicePrincipal(sp(1))
        assert.ok(await tx.getResource(VM('tx-rg', 'kept')), 'reads its own writes')
        return tx.transaction(async (inner) => {
          await inner.putRoleAssignment(assignment(1, RG('tx-rg')))
          return 'done'
        })
      })
      assert.equal(v, 'done')
      assert.ok(await s.getResourceGroup(SUB, 'tx-rg'))
      assert.ok(await s.getResource(VM('tx-rg', 'kept')))
      assert.ok(await s.directory.getServicePrincipal(sp(1).objectId))
      assert.ok(await s.getRoleAssignment(assignment(1, '').id))

      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.putResourceGroup(group('doomed-rg'))
          await tx.putResource(vm('doomed-rg', 'lost'))
          await tx.putResource({ ...vm('tx-rg', 'kept'), tags: { changed: 'yes' } })
          assert.equal(await tx.deleteResource(VM('tx-rg', 'kept')), true)
          await tx.directory.putServicePrincipal(sp(2))
          await tx.directory.deleteServicePrincipal(sp(1).objectId)
          await tx.putRoleAssignment(assignment(2, RG('doomed-rg')))
          assert.deepEqual(await tx.deleteRoleAssignmentsWithin(RG('tx-rg')), [assignment(1, '').id])
          await tx.putRoleDefinition(role(1))
          await tx.transaction(async (inner) => inner.deleteResourceGroup(SUB, 'tx-rg'))
          throw new Error('boom')
        }),
        /boom/,
      )
      assert.equal(await s.getResourceGroup(SUB, 'doomed-rg'), undefined)
      assert.ok(await s.getResourceGroup(SUB, 'tx-rg'))
      assert.equal(await s.getResource(VM('doomed-rg', 'lost')), undefined)
      assert.deepEqual(await s.getResource(VM('tx-rg', 'kept')), vm('tx-rg', 'kept'))
      assert.equal(await s.directory.getServicePrincipal(sp(2).objectId), undefined)
      assert.ok(await s.directory.getServicePrincipal(sp(1).objectId))
      assert.equal(await s.getRoleAssignment(assignment(2, '').id), undefined)
      assert.ok(await s.getRoleAssignment(assignment(1, '').id))
      assert.deepEqual(await s.listRoleDefinitions(), [])
    },
  ],
]

/** The ArmStore contract against one backend; `open` gives an empty store for each case. */
export const runArmStoreContract = contractRunner('ArmStore', CASES)

runOnEveryBackend(createArmStore, runArmStoreContract)
