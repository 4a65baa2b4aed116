// The JS ARM SDKs, unmodified, in child processes (clients.md §5): @azure/arm-resources 7.0.0, @azure/arm-msi 2.2.0,
// @azure/arm-compute 24.1.0 and @azure/arm-authorization 9.0.0, signed in with @azure/identity's
// ClientSecretCredential. Every client gets `endpoint` and `credentialScopes` (without them arm-msi and
// arm-authorization ask for `${endpoint}/.default`).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  type ChildRun,
  describeRun,
  type LineHandler,
  moduleUrl,
  resultOf,
  runNode,
  scratchDir,
  type WireRequest,
} from '../support/child.ts'
import type { FederatedCredential, ServicePrincipal } from '../../src/directory/index.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
const MODULES = {
  identity: moduleUrl('@azure/identity'),
  resources: moduleUrl('@azure/arm-resources'),
  msi: moduleUrl('@azure/arm-msi'),
  compute: moduleUrl('@azure/arm-compute'),
  authorization: moduleUrl('@azure/arm-authorization'),
}

let s: TestServer
let scratch: ReturnType<typeof scratchDir>
let sub: string

before(async () => {
  s = await startTestServer()
  scratch = scratchDir('azid-arm-sdk-')
  sub = s.server.endpoints.subscriptionId
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

/**
 * Script head shared by every child: the four SDKs, `credential(appId, secret)`, `clients(credential)` built with
 * `{ endpoint, credentialScopes }`, `mark(label)` to cut the wire log into steps, `all(iterator)` and
 * `failure(fn)` (the RestError a call throws, or null).
 */
function head(): string {
  return `
const identity = await import(${JSON.stringify(MODULES.identity)})
const { ResourceManagementClient } = await import(${JSON.stringify(MODULES.resources)})
const { ManagedServiceIdentityClient } = await import(${JSON.stringify(MODULES.msi)})
const { ComputeManagementClient } = await import(${JSON.stringify(MODULES.compute)})
const { AuthorizationManagementClient } = await import(${JSON.stringify(MODULES.authorization)})
const base = ${JSON.stringify(s.base)}
const tenantId = ${JSON.stringify(s.tenantId)}
const sub = ${JSON.stringify(sub)}
const credential = (appId, secret) =>
  new identity.ClientSecretCredential(tenantId, appId, secret, { authorityHost: base, disableInstanceDiscovery: true })
const armOptions = { endpoint: base, credentialScopes: ['https://management.azure.com/.default'] }
const clients = (cred) => ({
  resources: new ResourceManagementClient(cred, sub, armOptions),
  msi: new ManagedServiceIdentityClient(cred, sub, armOptions),
  compute: new ComputeManagementClient(cred, sub, armOptions),
  authorization: new AuthorizationManagementClient(cred, sub, armOptions),
})
const admin = clients(credential(${JSON.stringify(s.clientId)}, ${JSON.stringify(s.clientSecret)}))
const mark = (label) => out('MARK', label)
const all = async (it) => { const a = []; for await (const x of it) a.push(x); return a }
const failure = async (fn) => {
  try { await fn(); return null } catch (e) {
    return { name: e?.name, statusCode: e?.statusCode, code: e?.code, message: String(e?.message ?? e) }
  }
}
`
}

function runSdk(name: string, body: string, onLine?: LineHandler): Promise<ChildRun> {
  return runNode(scratch, name, `${head()}\nawait run(async () => {\n${body}\n})`, {
    caPath: s.caPath,
    ...(onLine ? { onLine } : {}),
  })
}

/** The ARM requests (token and discovery traffic left out) the child sent after each `mark(label)`. */
function steps(r: ChildRun): Map<string, WireRequest[]> {
  const out = new Map<string, WireRequest[]>()
  let label = ''
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('@@MARK ')) {
      label = JSON.parse(line.slice(7)) as string
      out.set(label, [])
    } else if (line.startsWith('@@WIRE ')) {
      const w = JSON.parse(line.slice(7)) as WireRequest
      if (/\/oauth2\/|\.well-known|\/discovery\//.test(w.url)) continue
      const list = out.get(label) ?? []
      list.push(w)
      out.set(label, list)
    }
  }
  return out
}

/** `METHOD path?query` of each request of a step, host dropped. */
function lines(r: ChildRun, label: string): string[] {
  return (steps(r).get(label) ?? []).map((w) => `${w.method} ${w.url.replace(/^https:\/\/[^/]+/, '')}`)
}

const apiVersionOf = (line: string) => new URLSearchParams(line.split('?')[1] ?? '').get('api-version')
const filterOf = (line: string) => new URLSearchParams(line.split('?')[1] ?? '').get('$filter')

test('ARM-002 ARM-003 @azure/arm-resources: resource group createOrUpdate, get, checkExistence, list, beginDeleteAndWait', async () => {
  const r = await runSdk(
    'resources',
    `
  const rg = 'sdk-rg-lifecycle'
  mark('create')
  const created = await admin.resources.resourceGroups.createOrUpdate(rg, { location: 'westus', tags: { purpose: 'conformance' } })
  mark('get')
  const got = await admin.resources.resourceGroups.get(rg)
  mark('exists')
  const exists = await admin.resources.resourceGroups.checkExistence(rg)
  mark('list')
  const listed = await all(admin.resources.resourceGroups.list())
  mark('delete')
  const started = Date.now()
  await admin.resources.resourceGroups.beginDeleteAndWait(rg)
  const deleteMs = Date.now() - started
  mark('after')
  const existsAfter = await admin.resources.resourceGroups.checkExistence(rg)
  const getAfter = await failure(() => admin.resources.resourceGroups.get(rg))
  return { created, got, exists, listed: listed.map((g) => g.name), deleteMs, existsAfter, getAfter }
`,
  )
  const res = resultOf<{
    created: Record<string, unknown>
    got: Record<string, unknown>
    exists: { body: boolean }
    listed: string[]
    deleteMs: number
    existsAfter: { body: boolean }
    getAfter: { statusCode: number; code: string }
  }>(r)
  assert.equal(res.created.id, `/subscriptions/${sub}/resourceGroups/sdk-rg-lifecycle`, describeRun(r))
  assert.equal(res.created.location, 'westus')
  assert.deepEqual(res.created.tags, { purpose: 'conformance' })
  assert.deepEqual((res.got.properties as Record<string, unknown>).provisioningState, 'Succeeded')
  assert.equal(res.exists.body, true, 'HEAD answers 204')
  assert.ok(res.listed.includes('sdk-rg-lifecycle'), res.listed.join(','))
  assert.equal(res.existsAfter.body, false, 'HEAD answers 404 after the delete')
  assert.equal(res.getAfter.statusCode, 404)
  assert.equal(res.getAfter.code, 'ResourceGroupNotFound')
  // The delete poller finished on the DELETE's own answer (200, no Location): no polling requests, no 30 s wait.
  assert.deepEqual(
    lines(r, 'delete').map((l) => l.split('?')[0]),
    [`DELETE /subscriptions/${sub}/resourcegroups/sdk-rg-lifecycle`],
  )
  assert.ok(res.deleteMs < 5000, `delete took ${res.deleteMs} ms`)
  assert.match(lines(r, 'exists')[0] ?? '', /^HEAD /)
  assert.equal(apiVersionOf(lines(r, 'create')[0] ?? ''), '2025-04-01')
})

test('UAMI-001 UAMI-002 UAMI-003 UAMI-004 SP-001 @azure/arm-msi: user-assigned identities, federated credentials, system-assigned identity by scope', async () => {
  let paused: Promise<{ sp: ServicePrincipal | undefined; fics: FederatedCredential[] }> | undefined
  const r = await runSdk(
    'msi',
    `
  const rg = 'sdk-rg-msi'
  await admin.resources.resourceGroups.createOrUpdate(rg, { location: 'westus' })
  mark('create')
  const created = await admin.msi.userAssignedIdentities.createOrUpdate(rg, 'sdk-id1', { location: 'westus', tags: { a: '1' } })
  mark('get')
  const got = await admin.msi.userAssignedIdentities.get(rg, 'sdk-id1')
  mark('listByResourceGroup')
  await admin.msi.userAssignedIdentities.createOrUpdate(rg, 'sdk-id2', { location: 'westus' })
  const byGroup = await all(admin.msi.userAssignedIdentities.listByResourceGroup(rg))
  mark('listBySubscription')
  const bySub = await all(admin.msi.userAssignedIdentities.listBySubscription())
  mark('update')
  const updated = await admin.msi.userAssignedIdentities.update(rg, 'sdk-id1', { tags: { a: '2' } })
  mark('fic')
  const fic = await admin.msi.federatedIdentityCredentials.createOrUpdate(rg, 'sdk-id1', 'gh-main', {
    issuer: 'https://token.actions.githubusercontent.com',
    subject: 'repo:contoso/app:ref:refs/heads/main',
    audiences: ['api://AzureADTokenExchange'],
  })
  const ficGot = await admin.msi.federatedIdentityCredentials.get(rg, 'sdk-id1', 'gh-main')
  const ficList = await all(admin.msi.federatedIdentityCredentials.list(rg, 'sdk-id1'))
  out('PAUSE', { principalId: created.principalId, clientId: created.clientId })
  await input()
  mark('ficDelete')
  await admin.msi.federatedIdentityCredentials.delete(rg, 'sdk-id1', 'gh-main')
  const ficListAfter = await all(admin.msi.federatedIdentityCredentials.list(rg, 'sdk-id1'))
  mark('vm')
  const vm = await admin.compute.virtualMachines.beginCreateOrUpdateAndWait(rg, 'sdk-vm-sa', {
    location: 'westus',
    hardwareProfile: { vmSize: 'Standard_B1s' },
    identity: { type: 'SystemAssigned' },
  })
  mark('getByScope')
  const system = await admin.msi.systemAssignedIdentities.getByScope(vm.id)
  mark('delete')
  await admin.msi.userAssignedIdentities.delete(rg, 'sdk-id1')
  const getAfter = await failure(() => admin.msi.userAssignedIdentities.get(rg, 'sdk-id1'))
  const deleteAgain = await failure(() => admin.msi.userAssignedIdentities.delete(rg, 'sdk-id1'))
  return {
    created, got, byGroup: byGroup.map((i) => i.name), bySub: bySub.map((i) => i.id), updated,
    fic, ficGot, ficList: ficList.map((f) => f.name), ficListAfter: ficListAfter.length,
    vm: { id: vm.id, identity: vm.identity }, system, getAfter, deleteAgain,
  }
`,
    (line, reply) => {
      if (!line.startsWith('@@PAUSE ')) return
      const { principalId, clientId } = JSON.parse(line.slice(8)) as { principalId: string; clientId: string }
      const store = s.server.directory.store
      paused = (async () => {
        try {
          return {
            sp: await store.getServicePrincipal(principalId),
            fics: await store.listFederatedCredentials(clientId),
          }
        } finally {
          reply('go')
        }
      })()
    },
  )
  assert.ok(paused, describeRun(r))
  const mirror = await paused
  const res = resultOf<{
    created: { id: string; name: string; type: string; location: string; tags: Record<string, string> } & {
      tenantId: string
      principalId: string
      clientId: string
    }
    got: { principalId: string; clientId: string; tenantId: string; isolationScope?: string }
    byGroup: string[]
    bySub: string[]
    updated: { tags: Record<string, string>; principalId: string }
    fic: { id: string; issuer: string; subject: string; audiences: string[] }
    ficGot: { subject: string }
    ficList: string[]
    ficListAfter: number
    vm: { id: string; identity: { type: string; principalId: string; tenantId: string } }
    system: { id: string; principalId: string; clientId: string; tenantId: string; clientSecretUrl: string }
    getAfter: { statusCode: number; code: string }
    deleteAgain: null | { statusCode: number }
  }>(r)
  const idId = `/subscriptions/${sub}/resourcegroups/sdk-rg-msi/providers/Microsoft.ManagedIdentity/userAssignedIdentities/sdk-id1`
  assert.equal(res.created.id, idId, describeRun(r))
  assert.equal(res.created.type, 'Microsoft.ManagedIdentity/userAssignedIdentities')
  assert.equal(res.created.tenantId, s.tenantId)
  assert.match(res.created.principalId, /^[0-9a-f-]{36}$/)
  assert.match(res.created.clientId, /^[0-9a-f-]{36}$/)
  assert.equal(res.got.principalId, res.created.principalId)
  assert.equal(res.got.isolationScope, 'None', '2024-11-30 carries isolationScope')
  assert.deepEqual(res.byGroup.sort(), ['sdk-id1', 'sdk-id2'])
  assert.ok(res.bySub.includes(idId), res.bySub.join('\n'))
  assert.deepEqual(res.updated.tags, { a: '2' })
  assert.equal(res.updated.principalId, res.created.principalId, 'PATCH keeps the identity')
  assert.equal(res.fic.issuer, 'https://token.actions.githubusercontent.com')
  assert.deepEqual(res.fic.audiences, ['api://AzureADTokenExchange'])
  assert.equal(res.fic.id, `${idId}/federatedIdentityCredentials/gh-main`)
  assert.equal(res.ficGot.subject, 'repo:contoso/app:ref:refs/heads/main')
  assert.deepEqual(res.ficList, ['gh-main'])
  assert.equal(res.ficListAfter, 0)
  // SP-001: the identity is a service principal whose objectId/appId are principalId/clientId; the federated
  // credential is mirrored into the directory (where the token service reads it) while it exists.
  assert.equal(mirror.sp?.appId, res.created.clientId)
  assert.equal(mirror.sp?.type, 'ManagedIdentity')
  assert.deepEqual(
    mirror.fics.map((f) => [f.name, f.issuer, f.subject]),
    [['gh-main', 'https://token.actions.githubusercontent.com', 'repo:contoso/app:ref:refs/heads/main']],
  )
  // CON-003: deleting the identity deletes its service principal.
  assert.equal(await s.server.directory.store.getServicePrincipal(res.created.principalId), undefined)
  assert.equal(res.getAfter.statusCode, 404)
  assert.equal(res.getAfter.code, 'ResourceNotFound')
  assert.equal(res.deleteAgain, null, 'deleting an absent identity answers 204, which the SDK accepts')
  assert.equal(res.vm.identity.type, 'SystemAssigned')
  assert.equal(res.system.principalId, res.vm.identity.principalId)
  assert.equal(res.system.tenantId, s.tenantId)
  assert.equal(res.system.id, `${res.vm.id}/providers/Microsoft.ManagedIdentity/identities/default`)
  assert.match(res.system.clientSecretUrl, /^https:\/\/control-westus\.identity\.azure\.net\//)
  for (const step of ['create', 'get', 'listByResourceGroup', 'listBySubscription', 'update', 'fic', 'getByScope'])
    for (const l of lines(r, step)) assert.equal(apiVersionOf(l), '2024-11-30', l)
  // getByScope puts the scope (which starts with '/') after the base: `//subscriptions/…`, collapsed by azid.
  assert.match(lines(r, 'getByScope')[0] ?? '', /^GET \/\/subscriptions\/.*\/virtualMachines\/sdk-vm-sa\/providers\//)
})

test('VM-001 VM-008 VM-010 VM-007 VMSS-001 VMEXT-001 PATCH-002 @azure/arm-compute: the create poller finishes on the first answer; UA add and remove; SA off; scale set; MI extension', async () => {
  const r = await runSdk(
    'compute',
    `
  const rg = 'sdk-rg-compute'
  await admin.resources.resourceGroups.createOrUpdate(rg, { location: 'westus' })
  const uami = await admin.msi.userAssignedIdentities.createOrUpdate(rg, 'sdk-vm-id1', { location: 'westus' })
  mark('create')
  let started = Date.now()
  const created = await admin.compute.virtualMachines.beginCreateOrUpdateAndWait(rg, 'sdk-vm1', {
    location: 'westus',
    hardwareProfile: { vmSize: 'Standard_B1s' },
    identity: { type: 'SystemAssigned' },
  })
  const createMs = Date.now() - started
  mark('addUser')
  const added = await admin.compute.virtualMachines.beginUpdateAndWait(rg, 'sdk-vm1', {
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [uami.id]: {} } },
  })
  mark('removeUser')
  const removed = await admin.compute.virtualMachines.beginUpdateAndWait(rg, 'sdk-vm1', {
    identity: { type: 'SystemAssigned', userAssignedIdentities: { [uami.id]: null } },
  })
  mark('systemOff')
  const none = await admin.compute.virtualMachines.beginUpdateAndWait(rg, 'sdk-vm1', { identity: { type: 'None' } })
  mark('get')
  const got = await admin.compute.virtualMachines.get(rg, 'sdk-vm1')
  mark('vmss')
  started = Date.now()
  const vmss = await admin.compute.virtualMachineScaleSets.beginCreateOrUpdateAndWait(rg, 'sdk-vmss1', {
    location: 'westus',
    sku: { name: 'Standard_B1s', capacity: 2, tier: 'Standard' },
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [uami.id]: {} } },
    upgradePolicy: { mode: 'Manual' },
  })
  const vmssMs = Date.now() - started
  mark('extension')
  const ext = await admin.compute.virtualMachineExtensions.beginCreateOrUpdateAndWait(rg, 'sdk-vm1', 'ManagedIdentityExtensionForLinux', {
    location: 'westus',
    publisher: 'Microsoft.ManagedIdentity',
    typePropertiesType: 'ManagedIdentityExtensionForLinux',
    typeHandlerVersion: '1.0',
    autoUpgradeMinorVersion: true,
    settings: { port: 50342 },
  })
  mark('extensionGet')
  const extGot = await admin.compute.virtualMachineExtensions.get(rg, 'sdk-vm1', 'ManagedIdentityExtensionForLinux')
  return { uamiId: uami.id, uamiPrincipal: uami.principalId, uamiClient: uami.clientId, created, createMs, added, removed, none, got, vmss, vmssMs, ext, extGot }
`,
  )
  type Identity = {
    type: string
    principalId?: string
    tenantId?: string
    userAssignedIdentities?: Record<string, { principalId: string; clientId: string }>
  }
  type Vm = { id: string; identity?: Identity; provisioningState?: string; hardwareProfile?: { vmSize: string } }
  const res = resultOf<{
    uamiId: string
    uamiPrincipal: string
    uamiClient: string
    created: Vm
    createMs: number
    added: Vm
    removed: Vm
    none: Vm
    got: Vm
    vmss: Vm & { sku: { capacity: number } }
    vmssMs: number
    ext: { name: string; provisioningState: string; publisher: string; settings: { port: number } }
    extGot: { settings: { port: number }; typePropertiesType?: string }
  }>(r)
  // VM-001: created with a system-assigned identity; the poller took the 201's provisioningState (Succeeded) as final.
  assert.equal(res.created.identity?.type, 'SystemAssigned', describeRun(r))
  assert.match(res.created.identity?.principalId ?? '', /^[0-9a-f-]{36}$/)
  assert.equal(res.created.identity?.tenantId, s.tenantId)
  assert.equal(res.created.provisioningState, 'Succeeded')
  assert.equal(res.created.hardwareProfile?.vmSize, 'Standard_B1s')
  const create = lines(r, 'create')
  assert.deepEqual(
    create.map((l) => l.split('?')[0]),
    [`PUT /subscriptions/${sub}/resourceGroups/sdk-rg-compute/providers/Microsoft.Compute/virtualMachines/sdk-vm1`],
    'one PUT and no polling request',
  )
  assert.equal(apiVersionOf(create[0] ?? ''), '2026-03-01')
  assert.ok(res.createMs < 5000, `create took ${res.createMs} ms`)
  const sa = res.created.identity?.principalId
  // VM-009 / PATCH-002 R4: the dictionary adds the identity, the SA principal stays.
  assert.equal(res.added.identity?.type, 'SystemAssigned, UserAssigned')
  assert.equal(res.added.identity?.principalId, sa)
  const attached = Object.entries(res.added.identity?.userAssignedIdentities ?? {})
  assert.equal(attached.length, 1)
  assert.equal(attached[0]?.[0].toLowerCase(), res.uamiId.toLowerCase())
  assert.deepEqual(attached[0]?.[1], { principalId: res.uamiPrincipal, clientId: res.uamiClient })
  // VM-010 / R4: `{id: null}` removes it; the SDK sends the null through.
  const removeBody = JSON.parse((steps(r).get('removeUser') ?? [])[0]?.body ?? '{}')
  assert.deepEqual(Object.values(removeBody.identity.userAssignedIdentities), [null], JSON.stringify(removeBody))
  assert.equal(res.removed.identity?.type, 'SystemAssigned')
  assert.equal(res.removed.identity?.userAssignedIdentities, undefined)
  assert.equal(res.removed.identity?.principalId, sa)
  // VM-007 / R2: None removes the system-assigned identity and its service principal.
  assert.equal(res.none.identity?.type, 'None')
  assert.equal(res.none.identity?.principalId, undefined)
  assert.equal(res.got.identity?.type, 'None')
  assert.equal(await s.server.directory.store.getServicePrincipal(sa ?? ''), undefined)
  for (const step of ['addUser', 'removeUser', 'systemOff'])
    assert.deepEqual(
      lines(r, step).map((l) => l.split(' ')[0]),
      ['PATCH'],
      `${step}: one PATCH, no polling`,
    )
  // VMSS-001 / VMSS-002: a scale set with both identity kinds.
  assert.equal(res.vmss.identity?.type, 'SystemAssigned, UserAssigned')
  assert.match(res.vmss.identity?.principalId ?? '', /^[0-9a-f-]{36}$/)
  assert.equal(Object.keys(res.vmss.identity?.userAssignedIdentities ?? {}).length, 1)
  assert.equal(res.vmss.sku.capacity, 2)
  assert.equal(lines(r, 'vmss').length, 1, lines(r, 'vmss').join('\n'))
  assert.ok(res.vmssMs < 5000, `vmss create took ${res.vmssMs} ms`)
  // VMEXT-001: the legacy MI extension with settings.port.
  assert.equal(res.ext.name, 'ManagedIdentityExtensionForLinux')
  assert.equal(res.ext.provisioningState, 'Succeeded')
  assert.equal(res.ext.publisher, 'Microsoft.ManagedIdentity')
  assert.deepEqual(res.ext.settings, { port: 50342 })
  assert.deepEqual(res.extGot.settings, { port: 50342 })
  assert.equal(res.extGot.typePropertiesType, 'ManagedIdentityExtensionForLinux')
  assert.equal(lines(r, 'extension').length, 1, lines(r, 'extension').join('\n'))
})

test('RBAC-001 RBAC-004 ARM-005 @azure/arm-authorization: Reader by name, role assignment created through `//subscriptions…`, listed, read by id, deleted', async () => {
  const { servicePrincipal } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'arm-sdk assignee',
  })
  const r = await runSdk(
    'authorization',
    `
  const rg = 'sdk-rg-authz'
  const scope = '/subscriptions/' + sub + '/resourceGroups/' + rg
  await admin.resources.resourceGroups.createOrUpdate(rg, { location: 'westus' })
  mark('roleDefinitions')
  const readers = await all(admin.authorization.roleDefinitions.list(scope, { filter: "roleName eq 'Reader'" }))
  mark('create')
  const name = '7f3e1c52-2a4b-4e1d-9b8a-1c2d3e4f5a6b'
  const created = await admin.authorization.roleAssignments.create(scope, name, {
    roleDefinitionId: readers[0].id,
    principalId: ${JSON.stringify(servicePrincipal.objectId)},
    principalType: 'ServicePrincipal',
  })
  mark('listForScope')
  const atScope = await all(admin.authorization.roleAssignments.listForScope(scope, { filter: 'atScope()' }))
  mark('listForSubscription')
  const forSub = await all(admin.authorization.roleAssignments.listForSubscription())
  mark('getById')
  const byId = await admin.authorization.roleAssignments.getById(created.id)
  mark('delete')
  const deleted = await admin.authorization.roleAssignments.delete(scope, name)
  mark('after')
  const afterDelete = await all(admin.authorization.roleAssignments.listForScope(scope, { filter: 'atScope()' }))
  const getAfter = await failure(() => admin.authorization.roleAssignments.getById(created.id))
  return {
    readers: readers.map((d) => ({ id: d.id, name: d.name, roleName: d.roleName, type: d.roleType })),
    created, atScope: atScope.map((a) => a.name), forSub: forSub.map((a) => ({ name: a.name, scope: a.scope })),
    byId, deleted, afterDelete: afterDelete.map((a) => a.name), getAfter,
  }
`,
  )
  type Assignment = {
    id: string
    name: string
    scope: string
    roleDefinitionId: string
    principalId: string
    principalType: string
  }
  const res = resultOf<{
    readers: { id: string; name: string; roleName: string; type: string }[]
    created: Assignment
    atScope: string[]
    forSub: { name: string; scope: string }[]
    byId: Assignment
    deleted: Assignment
    afterDelete: string[]
    getAfter: { statusCode: number; code: string }
  }>(r)
  const name = '7f3e1c52-2a4b-4e1d-9b8a-1c2d3e4f5a6b'
  const scope = `/subscriptions/${sub}/resourceGroups/sdk-rg-authz`
  const readerId = `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${READER}`
  assert.deepEqual(
    res.readers,
    [{ id: readerId, name: READER, roleName: 'Reader', type: 'BuiltInRole' }],
    describeRun(r),
  )
  assert.equal(res.created.id, `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`)
  assert.equal(res.created.scope, scope)
  assert.equal(res.created.roleDefinitionId, readerId)
  assert.equal(res.created.principalId, servicePrincipal.objectId)
  assert.equal(res.created.principalType, 'ServicePrincipal')
  // atScope(): the new assignment and the bootstrap Owner at the subscription above it.
  assert.ok(res.atScope.includes(name), res.atScope.join(','))
  assert.ok(res.forSub.some((a) => a.name === name && a.scope === scope))
  assert.ok(
    res.forSub.some((a) => a.scope === `/subscriptions/${sub}`),
    'the bootstrap Owner',
  )
  assert.equal(res.byId.id, res.created.id)
  assert.equal(res.deleted.name, name)
  assert.ok(!res.afterDelete.includes(name))
  assert.equal(res.getAfter.statusCode, 404)
  assert.equal(res.getAfter.code, 'RoleAssignmentNotFound')
  // The scope begins with '/', and the SDK's URL templates put one before it as well (clients.md §5).
  for (const step of ['roleDefinitions', 'create', 'listForScope', 'getById', 'delete']) {
    const [l] = lines(r, step)
    assert.match(l ?? '', /^[A-Z]+ \/\/subscriptions\//, `${step}: ${l}`)
    assert.equal(apiVersionOf(l ?? ''), '2022-04-01', l)
  }
  assert.equal(filterOf(lines(r, 'roleDefinitions')[0] ?? ''), "roleName eq 'Reader'")
  assert.equal(filterOf(lines(r, 'listForScope')[0] ?? ''), 'atScope()')
  assert.equal(
    lines(r, 'listForSubscription')[0]?.split('?')[0],
    `GET /subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments`,
  )
})

test('ARM-013 ARM-012 RBAC-002 RBAC-003 RBAC through the SDKs: no role → 403 AuthorizationFailed; Reader on the group (assigned with arm-authorization) allows the next read; writes stay 403', async () => {
  const { application, servicePrincipal } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'arm-sdk reader',
  })
  const { secretText } = await s.server.directory.addPassword({ appId: application.appId })
  const r = await runSdk(
    'rbac',
    `
  const rg = 'sdk-rg-rbac'
  const scope = '/subscriptions/' + sub + '/resourceGroups/' + rg
  await admin.resources.resourceGroups.createOrUpdate(rg, { location: 'westus' })
  await admin.msi.userAssignedIdentities.createOrUpdate(rg, 'guarded', { location: 'westus' })
  const reader = clients(credential(${JSON.stringify(application.appId)}, ${JSON.stringify(secretText)}))
  mark('denied')
  const denied = await failure(() => reader.msi.userAssignedIdentities.get(rg, 'guarded'))
  mark('assign')
  const [role] = await all(admin.authorization.roleDefinitions.list(scope, { filter: "roleName eq 'Reader'" }))
  await admin.authorization.roleAssignments.create(scope, 'c0ffee00-1234-4abc-8def-0123456789ab', {
    roleDefinitionId: role.id,
    principalId: ${JSON.stringify(servicePrincipal.objectId)},
    principalType: 'ServicePrincipal',
  })
  mark('allowed')
  const allowed = await reader.msi.userAssignedIdentities.get(rg, 'guarded')
  mark('write')
  const write = await failure(() => reader.msi.userAssignedIdentities.createOrUpdate(rg, 'guarded', { location: 'westus', tags: { x: 'y' } }))
  const create = await failure(() => reader.msi.userAssignedIdentities.createOrUpdate(rg, 'other', { location: 'westus' }))
  return { denied, allowed: { name: allowed.name, principalId: allowed.principalId }, write, create }
`,
  )
  type Failure = { name: string; statusCode: number; code: string; message: string }
  const res = resultOf<{
    denied: Failure
    allowed: { name: string; principalId: string }
    write: Failure
    create: Failure
  }>(r)
  const target = `/subscriptions/${sub}/resourceGroups/sdk-rg-rbac/providers/Microsoft.ManagedIdentity/userAssignedIdentities/guarded`
  assert.equal(res.denied?.name, 'RestError', describeRun(r))
  assert.equal(res.denied.statusCode, 403)
  assert.equal(res.denied.code, 'AuthorizationFailed')
  assert.match(res.denied.message, new RegExp(`'${servicePrincipal.objectId}'`))
  assert.match(res.denied.message, /Microsoft\.ManagedIdentity\/userAssignedIdentities\/read/)
  assert.ok(res.denied.message.includes(target), res.denied.message)
  assert.equal(res.allowed.name, 'guarded', 'the read succeeds on the next request (no propagation delay configured)')
  for (const f of [res.write, res.create]) {
    assert.equal(f?.statusCode, 403, JSON.stringify(f))
    assert.equal(f.code, 'AuthorizationFailed')
    assert.match(f.message, /Microsoft\.ManagedIdentity\/userAssignedIdentities\/write/)
  }
  // A 403 is final for the SDK: one request each, no retries.
  assert.equal(lines(r, 'denied').length, 1, lines(r, 'denied').join('\n'))
  assert.equal(lines(r, 'allowed').length, 1)
})
