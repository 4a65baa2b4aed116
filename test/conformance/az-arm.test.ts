// Debian's az CLI 2.45, unmodified, driving azid's ARM surface through namespace mode after one
// `az login --service-principal` (clients.md §8). The tests run in order and build on each other: rg1, then id1, then
// vm1 with identities, role assignments, and finally the deletes.
//
// Two Debian packaging bugs shape what can be asserted (clients.md §1.4):
// * every `az vm …` command crashes before sending anything in the default ('latest') API profile: it wants
//   Compute 2022-11-01, which Debian's azure-mgmt-compute 29.0.0 lacks (`ValueError: API version 2022-11-01 does
//   not have operation group 'virtual_machines'`). The VM identity tests detect that and run under the
//   2020-09-01-hybrid profile (Compute 2020-06-01), in a config dir of their own;
// * `az role assignment list --all` crashes (`'RoleDefinitionsOperations' object has no attribute 'config'`) after
//   a successful GET whenever the list is not empty, which in azid it never is (the bootstrap Owner).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type ChildRun, describeRun, scratchDir } from '../support/child.ts'
import { httpsRequest, postForm } from '../support/https.ts'
import { azJson, azUnavailable, needAz, runAzInNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { need } from '../support/tiers.ts'

const ARM = 'https://management.azure.com'
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
const HYBRID_PROFILE = '2020-09-01-hybrid'
const COMPUTE_LATEST_CRASH = "API version 2022-11-01 does not have operation group 'virtual_machines'"
const ROLE_LIST_CRASH = "'RoleDefinitionsOperations' object has no attribute 'config'"

interface Identity {
  id: string
  name: string
  clientId: string
  principalId: string
  tenantId: string
  location: string
  resourceGroup: string
  type: string
}

interface VmIdentity {
  principalId?: string
  tenantId?: string
  type?: string
  userAssignedIdentities?: Record<string, { principalId: string; clientId: string }> | null
}

let s: TestServer
let scratch: ReturnType<typeof scratchDir>
let sub = ''
let rgId = ''
let id1: Identity | undefined
/** Config dir for the `az vm` commands: the main one, or one under the hybrid profile (see the header). */
let vmConfigDir: string | undefined
let vmProfile = 'latest'

const az = (args: string[], configDir = scratch.dir) => runAzInNamespace(s, args, { configDir })

/** An ARM request from the test process with the bootstrap client's token, to check what az did. */
async function arm(method: string, path: string, body?: unknown) {
  const token = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/token`, s.ca, {
    grant_type: 'client_credentials',
    client_id: s.clientId,
    client_secret: s.clientSecret,
    scope: `${ARM}/.default`,
  })
  return httpsRequest(`${s.base}${path}`, {
    ca: s.ca,
    method,
    headers: { authorization: `Bearer ${token.json<{ access_token: string }>().access_token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

/** `METHOD url → status` for every ARM request az logged under --debug (azure-core's logging policy). */
function debugRequests(r: ChildRun): string[] {
  const out: string[] = []
  let url = ''
  let method = ''
  for (const line of r.stderr.split('\n')) {
    const u = /Request URL: '([^']+)'/.exec(line)
    if (u) url = u[1] as string
    const m = /Request method: '([A-Z]+)'/.exec(line)
    if (m) method = m[1] as string
    const st = /Response status: (\d+)/.exec(line)
    if (st && url) {
      out.push(`${method} ${url} → ${st[1]}`)
      url = ''
    }
  }
  return out
}

const eqi = (a: string | undefined, b: string | undefined) => a?.toLowerCase() === b?.toLowerCase()

before(async () => {
  if (azUnavailable()) return
  s = await startTestServer()
  scratch = scratchDir('azid-az-arm-')
  sub = s.server.endpoints.subscriptionId
  rgId = `/subscriptions/${sub}/resourceGroups/rg1`
  const r = await az([
    'login',
    '--service-principal',
    '-u',
    s.clientId,
    `--password=${s.clientSecret}`,
    '--tenant',
    s.tenantId,
  ])
  assert.equal(azJson<{ id: string }[]>(r)[0]?.id, sub, describeRun(r))
})

after(async () => {
  scratch?.dispose()
  await s?.stop()
})

test('az group create / show / exists / list', async (t) => {
  if (!needAz(t)) return
  const expected = {
    id: rgId,
    location: 'westus',
    managedBy: null,
    name: 'rg1',
    properties: { provisioningState: 'Succeeded' },
    tags: null,
    type: 'Microsoft.Resources/resourceGroups',
  }
  assert.deepEqual(azJson(await az(['group', 'create', '-n', 'rg1', '-l', 'westus'])), expected)
  assert.deepEqual(azJson(await az(['group', 'show', '-n', 'rg1'])), expected)
  assert.equal(azJson(await az(['group', 'exists', '-n', 'rg1'])), true)
  assert.equal(azJson(await az(['group', 'exists', '-n', 'nope'])), false)
  assert.deepEqual(azJson(await az(['group', 'list'])), [expected])
})

test('az identity create / show / list', async (t) => {
  if (!needAz(t)) return
  const created = azJson<Identity>(await az(['identity', 'create', '-g', 'rg1', '-n', 'id1']))
  assert.ok(eqi(created.id, `${rgId}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1`), created.id)
  assert.equal(created.name, 'id1')
  assert.equal(created.location, 'westus', 'az takes the group location when -l is not given')
  assert.equal(created.resourceGroup, 'rg1')
  assert.equal(created.tenantId, s.tenantId)
  assert.equal(created.type, 'Microsoft.ManagedIdentity/userAssignedIdentities')
  assert.match(created.clientId, /^[0-9a-f-]{36}$/)
  assert.match(created.principalId, /^[0-9a-f-]{36}$/)
  id1 = created
  assert.deepEqual(azJson(await az(['identity', 'show', '-g', 'rg1', '-n', 'id1'])), created)
  assert.deepEqual(azJson(await az(['identity', 'list', '-g', 'rg1'])), [created])
  // The identity's service principal is in the directory.
  const sp = await s.server.directory.store.getServicePrincipal(created.principalId)
  assert.equal(sp?.appId, created.clientId)
})

test('a VM created through az rest (PUT Microsoft.Compute/virtualMachines, 2023-09-01)', async (t) => {
  if (!needAz(t)) return
  const url = `${ARM}${rgId}/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2023-09-01`
  const body = '{"location":"westus","properties":{"hardwareProfile":{"vmSize":"Standard_D2s_v3"}}}'
  const vm = azJson<{ id: string; name: string; properties: { provisioningState: string; vmId: string } }>(
    await az(['rest', '--method', 'put', '--url', url, '--body', body]),
  )
  assert.equal(vm.id, `${rgId}/providers/Microsoft.Compute/virtualMachines/vm1`)
  assert.equal(vm.properties.provisioningState, 'Succeeded')
  assert.match(vm.properties.vmId, /^[0-9a-f-]{36}$/)
})

/** Picks the config dir for `az vm`: the main one if Debian's az can run `az vm` at all, else a hybrid-profile one. */
async function vmDir(t: import('node:test').TestContext): Promise<string> {
  if (vmConfigDir) return vmConfigDir
  const probe = await az(['vm', 'identity', 'show', '-g', 'rg1', '-n', 'vm1'])
  if (probe.code === 0) {
    vmConfigDir = scratch.dir
    return vmConfigDir
  }
  assert.match(probe.stderr, new RegExp(COMPUTE_LATEST_CRASH), describeRun(probe))
  t.diagnostic(`Debian az 2.45 packaging bug: ${COMPUTE_LATEST_CRASH}; using the ${HYBRID_PROFILE} API profile`)
  const dir = join(scratch.dir, 'hybrid')
  mkdirSync(dir)
  const set = await az(['cloud', 'update', '--profile', HYBRID_PROFILE], dir)
  assert.equal(set.code, 0, describeRun(set))
  const login = await az(
    ['login', '--service-principal', '-u', s.clientId, `--password=${s.clientSecret}`, '--tenant', s.tenantId],
    dir,
  )
  assert.equal(azJson<{ id: string }[]>(login)[0]?.id, sub, describeRun(login))
  vmConfigDir = dir
  vmProfile = HYBRID_PROFILE
  return dir
}

test('az vm identity assign (system-assigned), then --identities id1; az vm identity show (--debug)', async (t) => {
  if (!needAz(t)) return
  assert.ok(id1, 'needs id1 from the identity test')
  const dir = await vmDir(t)

  const system = azJson<{ systemAssignedIdentity: string; userAssignedIdentities: object }>(
    await az(['vm', 'identity', 'assign', '-g', 'rg1', '-n', 'vm1', '--debug'], dir),
  )
  assert.match(system.systemAssignedIdentity, /^[0-9a-f-]{36}$/)
  assert.deepEqual(system.userAssignedIdentities, {})
  const sp = await s.server.directory.store.getServicePrincipal(system.systemAssignedIdentity)
  assert.ok(sp, 'the system-assigned identity has a service principal')

  const assign = await az(
    ['vm', 'identity', 'assign', '-g', 'rg1', '-n', 'vm1', '--identities', id1.id, '--debug'],
    dir,
  )
  const both = azJson<{ systemAssignedIdentity: string; userAssignedIdentities: VmIdentity['userAssignedIdentities'] }>(
    assign,
  )
  assert.equal(both.systemAssignedIdentity, system.systemAssignedIdentity, 'adding a UAMI keeps the system identity')
  const entries = Object.entries(both.userAssignedIdentities ?? {})
  assert.equal(entries.length, 1, describeRun(assign))
  assert.ok(eqi(entries[0]?.[0], id1.id), entries[0]?.[0])
  assert.deepEqual(entries[0]?.[1], { clientId: id1.clientId, principalId: id1.principalId })
  // GET (instanceView), PATCH, GET: record the Compute api-version this az sends.
  const sent = debugRequests(assign)
  const version = vmProfile === 'latest' ? '2022-11-01' : '2020-06-01'
  t.diagnostic(`az vm identity assign (${vmProfile} profile): ${sent.join(' | ')}`)
  assert.deepEqual(
    sent.map((x) => x.replace(/^(\w+) .*api-version=([\w-]+).* → (\d+)$/, '$1 $2 $3')),
    [`GET ${version} 200`, `PATCH ${version} 200`, `GET ${version} 200`],
  )

  const show = azJson<VmIdentity>(await az(['vm', 'identity', 'show', '-g', 'rg1', '-n', 'vm1'], dir))
  assert.equal(show.type, 'SystemAssigned, UserAssigned')
  assert.equal(show.principalId, system.systemAssignedIdentity)
  assert.equal(show.tenantId, s.tenantId)
  assert.deepEqual(Object.values(show.userAssignedIdentities ?? {}), [
    { clientId: id1.clientId, principalId: id1.principalId },
  ])
})

test('az vm identity remove --identities id1 keeps the system-assigned identity', async (t) => {
  if (!needAz(t)) return
  assert.ok(id1, 'needs id1 from the identity test')
  const dir = await vmDir(t)
  const r = await az(['vm', 'identity', 'remove', '-g', 'rg1', '-n', 'vm1', '--identities', id1.id], dir)
  const left = azJson<VmIdentity>(r)
  assert.equal(left.type, 'SystemAssigned', describeRun(r))
  assert.match(left.principalId ?? '', /^[0-9a-f-]{36}$/)
  assert.ok(!left.userAssignedIdentities || Object.keys(left.userAssignedIdentities).length === 0)
  const vm = await arm('GET', `${rgId}/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2023-09-01`)
  assert.equal(vm.json<{ identity: VmIdentity }>().identity.type, 'SystemAssigned', vm.text)
})

test('az role assignment list --all: azid answers; Debian az 2.45 then crashes on a non-empty list', async (t) => {
  if (!needAz(t)) return
  const r = await az(['role', 'assignment', 'list', '--all', '--debug'])
  assert.deepEqual(
    debugRequests(r).filter((x) => x.includes('roleAssignments')),
    [
      `GET ${ARM}/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2020-04-01-preview → 200`,
    ],
    describeRun(r),
  )
  if (r.code === 0) {
    const list = azJson<{ principalId: string; roleDefinitionName: string }[]>(r)
    assert.ok(list.some((a) => a.principalId === s.server.bootstrap.servicePrincipalId))
    return
  }
  // The crash comes after the response was deserialised, while az looks up role names (clients.md §1.4).
  assert.match(r.stderr, new RegExp(ROLE_LIST_CRASH), describeRun(r))
  t.diagnostic(`Debian az 2.45 packaging bug: ${ROLE_LIST_CRASH}`)
})

test('az rest PUT roleAssignments (2022-04-01), then az role assignment delete --ids', async (t) => {
  if (!needAz(t)) return
  assert.ok(id1, 'needs id1 from the identity test')
  const name = randomUUID()
  const id = `${rgId}/providers/Microsoft.Authorization/roleAssignments/${name}`
  const roleDefinitionId = `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${READER}`
  const body = JSON.stringify({
    properties: { roleDefinitionId, principalId: id1.principalId, principalType: 'ServicePrincipal' },
  })
  const put = await az(['rest', '--method', 'put', '--url', `${ARM}${id}?api-version=2022-04-01`, '--body', body])
  const created = azJson<{ id: string; name: string; type: string; properties: Record<string, unknown> }>(put)
  assert.equal(created.id, id)
  assert.equal(created.name, name)
  assert.equal(created.type, 'Microsoft.Authorization/roleAssignments')
  assert.equal(created.properties.principalId, id1.principalId)
  assert.equal(created.properties.roleDefinitionId, roleDefinitionId)
  assert.equal(created.properties.scope, rgId)
  assert.equal(created.properties.principalType, 'ServicePrincipal')

  const del = await az(['role', 'assignment', 'delete', '--ids', id])
  assert.equal(del.code, 0, describeRun(del))
  const gone = await arm('GET', `${id}?api-version=2022-04-01`)
  assert.equal(gone.status, 404, gone.text)
})

test('az ad sp show --id <id1 clientId> (Graph)', async (t) => {
  if (!needAz(t)) return
  assert.ok(id1, 'needs id1 from the identity test')
  const probe = await httpsRequest(`${s.base}/v1.0/servicePrincipals`, {
    ca: s.ca,
    headers: { host: 'graph.microsoft.com' },
  })
  const wired = /json/.test(String(probe.headers['content-type'] ?? ''))
  if (!need(t, wired ? null : 'the Graph surface (graph.microsoft.com) is not served by azid yet')) return
  const r = await az(['ad', 'sp', 'show', '--id', id1.clientId])
  const sp = azJson<{ id: string; appId: string; displayName: string; servicePrincipalType: string }>(r)
  assert.equal(sp.id, id1.principalId, describeRun(r))
  assert.equal(sp.appId, id1.clientId)
  assert.equal(sp.displayName, 'id1')
  assert.equal(sp.servicePrincipalType, 'ManagedIdentity')
})

test('az identity delete, then az group delete -y', async (t) => {
  if (!needAz(t)) return
  const del = await az(['identity', 'delete', '-g', 'rg1', '-n', 'id1'])
  assert.equal(del.code, 0, describeRun(del))
  assert.deepEqual(azJson(await az(['identity', 'list', '-g', 'rg1'])), [])
  if (id1) assert.equal(await s.server.directory.store.getServicePrincipal(id1.principalId), undefined)

  const gone = await az(['group', 'delete', '-y', '-n', 'rg1'])
  assert.equal(gone.code, 0, describeRun(gone))
  assert.equal(azJson(await az(['group', 'exists', '-n', 'rg1'])), false)
  const show = await az(['group', 'show', '-n', 'rg1'])
  assert.equal(show.code, 3, describeRun(show))
  assert.match(show.stderr, /ResourceGroupNotFound/, describeRun(show))
})
