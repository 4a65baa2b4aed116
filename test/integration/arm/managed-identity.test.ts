// Microsoft.ManagedIdentity over REST: user-assigned identities, their service principals, federated identity
// credentials mirrored into the directory, and the system-assigned identity read (UAMI-001..008, SP-001..002,
// SCN-08; api-shapes §1).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { type Arm, GUID_RE, V, adminClient, createGroup, createUami, expectArmError, paths } from './helpers.ts'

let s: TestServer
let admin: Arm
let sub: string
let p: ReturnType<typeof paths>
before(async () => {
  s = await startTestServer()
  sub = s.server.endpoints.subscriptionId
  p = paths(sub)
  admin = await adminClient(s)
  await createGroup(admin, sub, 'mi-rg')
  await createGroup(admin, sub, 'mi-rg2')
})
after(() => s.stop())

/** The id Microsoft.ManagedIdentity renders: lower-case `resourcegroups` (UAMI-004). */
const lowerId = (g: string, n: string) =>
  `/subscriptions/${sub}/resourcegroups/${g}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${n}`

type Identity = {
  id: string
  name: string
  type: string
  location: string
  tags: Record<string, string>
  properties: { tenantId: string; principalId: string; clientId: string; clientSecretUrl?: string }
}

test('SCN-08 step 1: PUT 201 then 200 with stable ids, relative Location, SP in the directory (UAMI-001, UAMI-008, SP-001)', async () => {
  const path = p.uami('mi-rg', 'ID1')
  const r = await admin.put(path, '2015-08-31-preview', { location: 'westus' })
  assert.equal(r.status, 201, r.text)
  assert.equal(r.headers.location, lowerId('mi-rg', 'ID1'))
  const body = r.json<Identity>()
  const { tenantId, principalId, clientId } = body.properties
  assert.match(principalId, GUID_RE)
  assert.match(clientId, GUID_RE)
  assert.deepEqual(body, {
    id: lowerId('mi-rg', 'ID1'),
    name: 'ID1',
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
    location: 'westus',
    tags: {},
    properties: {
      tenantId: s.tenantId,
      principalId,
      clientId,
      // UAMI-005: the internal credential URL, with lower-case resourcegroups.
      clientSecretUrl: `https://control-westus.identity.azure.net${lowerId('mi-rg', 'ID1')}/credentials?tid=${tenantId}&oid=${principalId}&aid=${clientId}`,
    },
  })
  // A re-PUT elsewhere is refused (InvalidResourceLocation); in place it is an update: 200, same ids, tags
  // replaced, no Location header.
  const moved = await admin.put(path, V.mi, { location: 'eastus' })
  assert.equal(moved.status, 400, moved.text)
  assert.equal(moved.json<{ error: { code: string } }>().error.code, 'InvalidResourceLocation')
  const again = await admin.put(path, V.mi, { location: 'westus', tags: { team: 'a' } })
  assert.equal(again.status, 200, again.text)
  assert.equal(again.headers.location, undefined)
  assert.deepEqual(again.json(), {
    id: lowerId('mi-rg', 'ID1'),
    name: 'ID1',
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
    location: 'westus',
    tags: { team: 'a' },
    properties: { tenantId, principalId, clientId },
  })
  // The service principal: objectId = principalId, appId = clientId, named after the identity (SP-001/002).
  const sp = await s.server.directory.store.getServicePrincipal(principalId)
  assert.ok(sp)
  assert.equal(sp.appId, clientId)
  assert.equal(sp.displayName, 'ID1')
  assert.equal(sp.type, 'ManagedIdentity')
  assert.deepEqual(sp.alternativeNames, ['isExplicit=True', lowerId('mi-rg', 'ID1')])
  assert.equal(sp.servicePrincipalNames[0], clientId)
  // Later versions: 2018-11-30 has no clientSecretUrl; 2024-11-30 adds isolationScope.
  const v2018 = (await admin.get(path, '2018-11-30')).json<Identity>()
  assert.deepEqual(v2018.properties, { tenantId, principalId, clientId })
  const v2024 = (await admin.get(path, '2024-11-30')).json<Identity>()
  assert.deepEqual(v2024.properties, { tenantId, principalId, clientId, isolationScope: 'None' })
  // A GET by a differently cased path finds it, with the name as created.
  const cased = await admin.get(
    `/subscriptions/${sub}/resourcegroups/MI-RG/providers/microsoft.managedidentity/userassignedidentities/id1`,
    V.mi,
  )
  assert.equal(cased.status, 200)
  assert.equal(cased.json<Identity>().name, 'ID1')
})

test('SCN-08 step 3: names a, bad.name, 129 characters → 400; ok_name-1 and 128 characters accepted (UAMI-007)', async () => {
  const rule =
    'The name must be 3 to 128 characters long, begin with a letter or number, and contain only letters, numbers, underscores (_) and hyphens (-).'
  for (const name of ['a', 'ab', 'bad.name', 'x'.repeat(129), '_leading', '-leading']) {
    expectArmError(
      await admin.put(p.uami('mi-rg', name), '2015-08-31-preview', { location: 'westus' }),
      400,
      'InvalidResourceName',
      `The resource name '${name}' is invalid. ${rule}`,
    )
  }
  for (const name of ['ok_name-1', 'abc', `a${'x'.repeat(127)}`]) {
    const r = await admin.put(p.uami('mi-rg', name), V.mi, { location: 'westus' })
    assert.equal(r.status, 201, `${name}: ${r.text}`)
  }
})

test('create errors: location required, missing group, isolationScope values (UAMI-001)', async () => {
  expectArmError(
    await admin.put(p.uami('mi-rg', 'noloc'), V.mi, {}),
    400,
    'LocationRequired',
    'The location property is required for this definition.',
  )
  expectArmError(
    await admin.put(p.uami('no-such-rg', 'x1x'), V.mi, { location: 'westus' }),
    404,
    'ResourceGroupNotFound',
    "Resource group 'no-such-rg' could not be found.",
  )
  expectArmError(
    await admin.put(p.uami('mi-rg', 'iso'), '2024-11-30', { location: 'westus', properties: { isolationScope: 'X' } }),
    400,
    'InvalidParameter',
    "The property 'isolationScope' must be 'None' or 'Regional'.",
  )
  const iso = await admin.put(p.uami('mi-rg', 'iso'), '2024-11-30', {
    location: 'westus',
    properties: { isolationScope: 'Regional' },
  })
  assert.equal(iso.status, 201, iso.text)
  assert.equal(iso.json<{ properties: { isolationScope: string } }>().properties.isolationScope, 'Regional')
  expectArmError(
    await admin.get(p.uami('mi-rg', 'never'), V.mi),
    404,
    'ResourceNotFound',
    "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/never' under resource group 'mi-rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
  )
  expectArmError(await admin.patch(p.uami('mi-rg', 'never'), V.mi, { tags: {} }), 404, 'ResourceNotFound')
})

test('SCN-08 step 2: list by resource group and by subscription (UAMI-002, UAMI-006)', async () => {
  const a = await createUami(admin, sub, 'mi-rg2', 'list-a')
  const b = await createUami(admin, sub, 'mi-rg2', 'list-b')
  const byGroup = await admin.get(
    `${p.rg('mi-rg2')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`,
    '2015-08-31-preview',
  )
  assert.equal(byGroup.status, 200, byGroup.text)
  const items = byGroup.json<{ value: Identity[]; nextLink?: string }>()
  assert.equal(items.nextLink, undefined)
  assert.deepEqual(
    items.value.map((x) => [x.id, x.type, x.properties.principalId]),
    [
      [lowerId('mi-rg2', 'list-a'), 'Microsoft.ManagedIdentity/userAssignedIdentities', a.principalId],
      [lowerId('mi-rg2', 'list-b'), 'Microsoft.ManagedIdentity/userAssignedIdentities', b.principalId],
    ],
  )
  assert.ok(items.value.every((x) => typeof x.properties.clientSecretUrl === 'string'))
  const bySub = await admin.get(`${p.sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`, V.mi)
  assert.equal(bySub.status, 200, bySub.text)
  const ids = bySub.json<{ value: Identity[] }>().value.map((x) => x.id)
  for (const id of [lowerId('mi-rg2', 'list-a'), lowerId('mi-rg2', 'list-b'), lowerId('mi-rg', 'ID1')])
    assert.ok(ids.includes(id), id)
  // Paging with $top: a nextLink that carries the api-version (api-shapes §0.4).
  const page = await admin.get(
    `${p.rg('mi-rg2')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?$top=1`,
    V.mi,
  )
  const first = page.json<{ value: Identity[]; nextLink: string }>()
  assert.equal(first.value.length, 1)
  assert.match(first.nextLink, new RegExp(`^${s.base}/subscriptions/.*api-version=${V.mi}`))
  // Following nextLink walks the rest exactly once (keyset paging: no repeats, no gaps), and the last page has none.
  const seen = [...first.value.map((x) => x.name)]
  let next: string | undefined = first.nextLink
  while (next) {
    const r = await admin.call('GET', next.slice(s.base.length), null)
    assert.equal(r.status, 200, r.text)
    const body = r.json<{ value: Identity[]; nextLink?: string }>()
    assert.equal(body.value.length, 1)
    seen.push(...body.value.map((x) => x.name))
    next = body.nextLink
  }
  assert.deepEqual([...seen].sort(), ['list-a', 'list-b'])
  expectArmError(
    await admin.get(`${p.rg('no-such-rg')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`, V.mi),
    404,
    'ResourceGroupNotFound',
  )
})

test('PATCH changes tags only; ids and location stay (api-shapes §1.2)', async () => {
  const id = await createUami(admin, sub, 'mi-rg', 'patchme')
  const r = await admin.patch(p.uami('mi-rg', 'patchme'), V.mi, {
    location: 'eastus',
    tags: { env: 'test' },
    properties: { principalId: '00000000-0000-4000-8000-000000000000' },
  })
  assert.equal(r.status, 200, r.text)
  assert.deepEqual(r.json(), {
    id: lowerId('mi-rg', 'patchme'),
    name: 'patchme',
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
    location: 'westus',
    tags: { env: 'test' },
    properties: { tenantId: id.tenantId, principalId: id.principalId, clientId: id.clientId },
  })
})

test('SCN-08 step 4: DELETE 200 then 204; the SP goes, a VM keeps the dangling reference (UAMI-003, PATCH R10)', async () => {
  const id = await createUami(admin, sub, 'mi-rg', 'short-lived')
  const vm = await admin.put(p.vm('mi-rg', 'holder'), V.compute, {
    location: 'westus',
    identity: { type: 'UserAssigned', userAssignedIdentities: { [id.id]: {} } },
  })
  assert.equal(vm.status, 201, vm.text)
  const del = await admin.del(p.uami('mi-rg', 'short-lived'), '2015-08-31-preview')
  assert.equal(del.status, 200, del.text)
  assert.equal(del.text, '')
  assert.equal((await admin.del(p.uami('mi-rg', 'short-lived'), V.mi)).status, 204)
  expectArmError(await admin.get(p.uami('mi-rg', 'short-lived'), V.mi), 404, 'ResourceNotFound')
  assert.equal(await s.server.directory.store.getServicePrincipal(id.principalId), undefined)
  const after = await admin.get(p.vm('mi-rg', 'holder'), V.compute)
  assert.equal(after.status, 200)
  assert.deepEqual(after.json<{ identity: unknown }>().identity, {
    type: 'UserAssigned',
    userAssignedIdentities: { [id.id]: { principalId: id.principalId, clientId: id.clientId } },
  })
  // A later PATCH that does not name it keeps it; re-creating the identity gives new ids.
  const tagged = await admin.patch(p.vm('mi-rg', 'holder'), V.compute, { tags: { a: '1' } })
  assert.equal(tagged.status, 200, tagged.text)
  assert.ok(tagged.text.includes(id.id))
  const again = await createUami(admin, sub, 'mi-rg', 'short-lived')
  assert.notEqual(again.principalId, id.principalId)
  assert.notEqual(again.clientId, id.clientId)
})

test('federated identity credentials: CRUD mirrored into the directory (api-shapes §1.3)', async () => {
  const id = await createUami(admin, sub, 'mi-rg', 'fed-id')
  const ficPath = (n: string) => `${p.uami('mi-rg', 'fed-id')}/federatedIdentityCredentials/${n}`
  const props = {
    issuer: 'https://oidc.prod-aks.azure.com/TenantGUID/IssuerGUID',
    subject: 'system:serviceaccount:ns:svcaccount',
    audiences: ['api://AzureADTokenExchange'],
  }
  const put = await admin.put(ficPath('fic1'), V.mi, { properties: props })
  assert.equal(put.status, 201, put.text)
  const wire = (n: string, pr: typeof props) => ({
    id: `${lowerId('mi-rg', 'fed-id')}/federatedIdentityCredentials/${n}`,
    name: n,
    type: 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials',
    properties: pr,
  })
  assert.deepEqual(put.json(), wire('fic1', props))
  const dir = s.server.directory.store
  const mirrored = await dir.listFederatedCredentials(id.clientId)
  assert.equal(mirrored.length, 1)
  const m = mirrored[0]
  assert.ok(m)
  assert.equal(m.appId, id.clientId)
  assert.equal(m.tenantId, s.tenantId)
  assert.equal(m.name, 'fic1')
  assert.equal(m.issuer, props.issuer)
  assert.equal(m.subject, props.subject)
  assert.deepEqual(m.audiences, props.audiences)
  assert.equal(m.resourceId?.toLowerCase(), wire('fic1', props).id.toLowerCase())

  assert.deepEqual((await admin.get(ficPath('fic1'), V.mi)).json(), wire('fic1', props))
  const list = await admin.get(`${p.uami('mi-rg', 'fed-id')}/federatedIdentityCredentials`, V.mi)
  assert.deepEqual(list.json(), { value: [wire('fic1', props)] })

  // Replace: 200, the mirror is updated in place.
  const changed = { ...props, subject: 'system:serviceaccount:ns:other' }
  const upd = await admin.put(ficPath('fic1'), V.mi, { properties: changed })
  assert.equal(upd.status, 200, upd.text)
  assert.deepEqual(upd.json(), wire('fic1', changed))
  const after = await dir.listFederatedCredentials(id.clientId)
  assert.deepEqual(
    after.map((f) => [f.id, f.subject]),
    [[m.id, changed.subject]],
  )

  const del = await admin.del(ficPath('fic1'), V.mi)
  assert.equal(del.status, 200)
  assert.deepEqual(await dir.listFederatedCredentials(id.clientId), [])
  assert.equal((await admin.del(ficPath('fic1'), V.mi)).status, 204)
  expectArmError(await admin.get(ficPath('fic1'), V.mi), 404, 'ResourceNotFound')

  // Deleting the identity deletes its credentials and their mirrors.
  assert.equal((await admin.put(ficPath('fic2'), V.mi, { properties: props })).status, 201)
  assert.equal((await dir.listFederatedCredentials(id.clientId)).length, 1)
  assert.equal((await admin.del(p.uami('mi-rg', 'fed-id'), V.mi)).status, 200)
  assert.deepEqual(await dir.listFederatedCredentials(id.clientId), [])
})

test('federated identity credentials: validation, duplicate issuer+subject, at most 20, parent required', async () => {
  await createUami(admin, sub, 'mi-rg', 'fed-limits')
  const ficPath = (n: string) => `${p.uami('mi-rg', 'fed-limits')}/federatedIdentityCredentials/${n}`
  const base = { issuer: 'https://issuer.example/', audiences: ['api://AzureADTokenExchange'] }
  for (let i = 1; i <= 20; i++) {
    const r = await admin.put(ficPath(`fic-${i}`), V.mi, { properties: { ...base, subject: `sub-${i}` } })
    assert.equal(r.status, 201, r.text)
  }
  expectArmError(
    await admin.put(ficPath('fic-21'), V.mi, { properties: { ...base, subject: 'sub-21' } }),
    400,
    'BadRequest',
    'A user-assigned identity can have at most 20 federated identity credentials.',
  )
  // Replacing an existing one is still allowed at the limit.
  assert.equal((await admin.put(ficPath('fic-20'), V.mi, { properties: { ...base, subject: 'sub-20b' } })).status, 200)
  assert.equal((await admin.del(ficPath('fic-19'), V.mi)).status, 200)
  expectArmError(
    await admin.put(ficPath('dup'), V.mi, { properties: { ...base, subject: 'sub-1' } }),
    400,
    'BadRequest',
    "A federated identity credential with the same issuer and subject already exists on this identity: 'fic-1'.",
  )
  expectArmError(
    await admin.put(ficPath('bad-issuer'), V.mi, { properties: { ...base, issuer: 'http://insecure', subject: 'x' } }),
    400,
    'BadRequest',
    "The property 'issuer' must be an https URL.",
  )
  expectArmError(
    await admin.put(ficPath('no-subject'), V.mi, { properties: { ...base, subject: '' } }),
    400,
    'BadRequest',
    "The property 'subject' is required (1 to 600 characters).",
  )
  expectArmError(
    await admin.put(ficPath('two-aud'), V.mi, { properties: { ...base, subject: 'y', audiences: ['a', 'b'] } }),
    400,
    'BadRequest',
  )
  expectArmError(
    await admin.put(`${p.uami('mi-rg', 'no-such-identity')}/federatedIdentityCredentials/fic-x`, V.mi, {
      properties: { ...base, subject: 'z' },
    }),
    404,
    'ParentResourceNotFound',
    "Can not perform requested operation on nested resource. Parent resource 'Microsoft.ManagedIdentity/userAssignedIdentities/no-such-identity' not found.",
  )
  // Federated credentials arrived with 2022-01-31-preview.
  expectArmError(
    await admin.put(ficPath('old'), '2018-11-30', { properties: { ...base, subject: 'old' } }),
    400,
    'NoRegisteredProviderFound',
  )
})

test('identities/default: the system-assigned identity of a VM (200) or 404 without one (api-shapes §1.4)', async () => {
  const vm = await admin.put(p.vm('mi-rg', 'sa-vm'), V.compute, {
    location: 'westus',
    identity: { type: 'SystemAssigned' },
  })
  assert.equal(vm.status, 201, vm.text)
  const sa = vm.json<{ identity: { principalId: string; tenantId: string } }>().identity
  const sp = await s.server.directory.store.getServicePrincipal(sa.principalId)
  assert.ok(sp)
  assert.equal(sp.displayName, 'sa-vm')
  assert.deepEqual(sp.alternativeNames, [
    'isExplicit=False',
    `/subscriptions/${sub}/resourcegroups/mi-rg/providers/Microsoft.Compute/virtualMachines/sa-vm`,
  ])
  const path = `${p.vm('mi-rg', 'sa-vm')}/providers/Microsoft.ManagedIdentity/identities/default`
  const r = await admin.get(path, V.mi)
  assert.equal(r.status, 200, r.text)
  assert.deepEqual(r.json(), {
    id: path,
    name: 'sa-vm',
    type: 'Microsoft.ManagedIdentity/identities',
    location: 'westus',
    tags: {},
    properties: {
      tenantId: sa.tenantId,
      principalId: sa.principalId,
      clientId: sp.appId,
      clientSecretUrl: `https://control-westus.identity.azure.net${p.vm('mi-rg', 'sa-vm')}/credentials?tid=${sa.tenantId}&oid=${sa.principalId}&aid=${sp.appId}`,
    },
  })
  const plain = await admin.put(p.vm('mi-rg', 'plain-vm'), V.compute, { location: 'westus' })
  assert.equal(plain.status, 201, plain.text)
  expectArmError(
    await admin.get(`${p.vm('mi-rg', 'plain-vm')}/providers/Microsoft.ManagedIdentity/identities/default`, V.mi),
    404,
    'ResourceNotFound',
    "The Resource 'Microsoft.ManagedIdentity/identities/default' under resource group 'mi-rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
  )
  expectArmError(
    await admin.get(`${p.vm('mi-rg', 'no-vm')}/providers/Microsoft.ManagedIdentity/identities/default`, V.mi),
    404,
    'ResourceNotFound',
  )
})
