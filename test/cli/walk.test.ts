// The seed's Azure CLI articles walked with `azid` (the az nouns azid mirrors), each command a child process of
// bin/azid.js against an azid running in this process: UAMI CRUD (L8609, UAMI-*), configure VM identity (L3962,
// VM-014), VMSS identity (L5788, VMSS-006), assign access (L8356, L3749), with output in json, table, tsv and --query,
// and the bad input of issue 6 (unknown flag, missing argument, unreachable server).
import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { after, before, test } from 'node:test'
import { childEnv, runChild } from '../support/child.ts'
import { type TestServer, startTestServer } from '../support/server.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
let s: TestServer
let SUB: string

before(async () => {
  s = await startTestServer()
  SUB = s.server.endpoints.subscriptionId
})
after(async () => {
  await s?.stop()
})

async function az(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runChild(process.execPath, [join('bin', 'azid.js'), ...args], {
    env: childEnv({ AZID_DATA_DIR: s.dataDir }),
    cwd: ROOT,
    timeoutMs: 30_000,
  })
  return { code: r.code, out: r.stdout, err: r.stderr }
}
function join(...p: string[]) {
  return resolve(ROOT, ...p)
}
async function ok(...args: string[]): Promise<string> {
  const r = await az(...args)
  assert.equal(r.code, 0, `azid ${args.join(' ')}\n${r.err}${r.out}`)
  return r.out
}
const json = async <T = Record<string, unknown>>(...args: string[]) => JSON.parse(await ok(...args)) as T

test('UAMI CRUD (az identity create|list|show|delete): json, table, tsv, --query', async () => {
  await ok('group', 'create', '-n', 'uami-rg', '-l', 'westeurope')
  const created = await json('identity', 'create', '-g', 'uami-rg', '-n', 'myUserAssignedIdentity')
  // az prints the SDK model: properties flattened, resourceGroup added, keys sorted.
  assert.deepEqual(Object.keys(created), [...Object.keys(created)].sort())
  assert.equal(created.name, 'myUserAssignedIdentity')
  assert.equal(created.resourceGroup, 'uami-rg')
  assert.equal(created.location, 'westeurope')
  assert.match(String(created.principalId), /^[0-9a-f-]{36}$/)
  assert.match(String(created.clientId), /^[0-9a-f-]{36}$/)
  assert.equal(created.tenantId, s.tenantId)
  assert.equal(
    created.id,
    `/subscriptions/${SUB}/resourcegroups/uami-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myUserAssignedIdentity`,
  )
  await ok('identity', 'create', '-g', 'uami-rg', '-n', 'second-id', '-l', 'northeurope', '--tags', 'team=a', 'env=dev')

  const list = await json<Record<string, unknown>[]>('identity', 'list', '-g', 'uami-rg')
  assert.deepEqual(list.map((x) => x.name).sort(), ['myUserAssignedIdentity', 'second-id'])
  assert.deepEqual(list.find((x) => x.name === 'second-id')?.tags, { env: 'dev', team: 'a' })

  // Table: az's automatic columns (scalars, sorted, id/type skipped).
  const table = (await ok('identity', 'list', '-g', 'uami-rg', '-o', 'table')).trimEnd().split('\n')
  assert.match(table[0] as string, /^ClientId\s+Location\s+Name\s+PrincipalId\s+ResourceGroup\s+TenantId$/)
  assert.match(table[1] as string, /^-{10,}\s+-+/)
  assert.equal(table.length, 4)
  assert.ok(table.some((l) => l.includes('myUserAssignedIdentity') && l.includes(String(created.principalId))))

  // tsv of a query, as scripts use it (az identity show --query principalId -o tsv).
  assert.equal(
    (
      await ok(
        'identity',
        'show',
        '-g',
        'uami-rg',
        '-n',
        'myUserAssignedIdentity',
        '--query',
        'principalId',
        '-o',
        'tsv',
      )
    ).trim(),
    created.principalId,
  )
  const rows = (await ok('identity', 'list', '-g', 'uami-rg', '--query', '[].[name, location]', '-o', 'tsv'))
    .trim()
    .split('\n')
  assert.deepEqual(rows.sort(), ['myUserAssignedIdentity\twesteurope', 'second-id\tnortheurope'])
  const q = await json(
    'identity',
    'list',
    '-g',
    'uami-rg',
    '--query',
    "[?name=='second-id'] | [0].{n:name, l:location}",
  )
  assert.deepEqual(q, { l: 'northeurope', n: 'second-id' })
  const qt = (await ok('identity', 'list', '-g', 'uami-rg', '--query', '[].{Name:name}', '-o', 'table'))
    .trim()
    .split('\n')
  assert.equal(qt[0], 'Name')

  // az identity delete prints nothing; the identity is gone.
  assert.equal(await ok('identity', 'delete', '-n', 'second-id', '-g', 'uami-rg'), '')
  const after = await json<unknown[]>('identity', 'list', '-g', 'uami-rg')
  assert.equal(after.length, 1)
  const gone = await az('identity', 'show', '-g', 'uami-rg', '-n', 'second-id')
  assert.equal(gone.code, 1)
  assert.match(gone.err, /^azid: \(ResourceNotFound\) .*second-id/)
  assert.equal(gone.err.trim().split('\n').length, 1)
})

test('configure VM identity (az vm create --assign-identity, vm identity assign|remove|show, vm update --set)', async () => {
  await ok('group', 'create', '-n', 'myResourceGroup', '-l', 'westus2')
  // L4023, verbatim but for the noun.
  const vm = await json<{ identity: { systemAssignedIdentity: string; userAssignedIdentities: object } }>(
    'vm',
    'create',
    '--resource-group',
    'myResourceGroup',
    '--name',
    'myVM',
    '--image',
    'win2016datacenter',
    '--generate-ssh-keys',
    '--assign-identity',
    '--admin-username',
    'azureuser',
    '--admin-password',
    'myPassword12',
  )
  assert.match(vm.identity.systemAssignedIdentity, /^[0-9a-f-]{36}$/)
  assert.deepEqual(vm.identity.userAssignedIdentities, {})

  // L4087 + L4110: a VM created with a user-assigned identity by name.
  const uami = await json<{ id: string; principalId: string; clientId: string }>(
    'identity',
    'create',
    '-g',
    'myResourceGroup',
    '-n',
    'myUserAssignedIdentity',
  )
  const vm2 = await json<{
    identity: { systemAssignedIdentity: string; userAssignedIdentities: Record<string, { principalId: string }> }
  }>(
    'vm',
    'create',
    '--resource-group',
    'myResourceGroup',
    '--name',
    'vm2',
    '--image',
    'UbuntuLTS',
    '--admin-username',
    'u',
    '--admin-password',
    'p',
    '--assign-identity',
    'myUserAssignedIdentity',
  )
  assert.equal(vm2.identity.systemAssignedIdentity, '')
  const attached = Object.entries(vm2.identity.userAssignedIdentities)
  assert.equal(attached.length, 1)
  assert.equal(attached[0]?.[1].principalId, uami.principalId)

  // L4039: enable system-assigned on an existing VM.
  const a1 = await json<{ systemAssignedIdentity: string }>(
    'vm',
    'identity',
    'assign',
    '-g',
    'myResourceGroup',
    '-n',
    'vm2',
  )
  assert.match(a1.systemAssignedIdentity, /^[0-9a-f-]{36}$/)

  // L3739: --identities with the full id as the article writes it (lower-case resourcegroups).
  await ok('identity', 'create', '-g', 'myResourceGroup', '-n', 'other')
  const a2 = await json<{ userAssignedIdentities: Record<string, unknown> }>(
    'vm',
    'identity',
    'assign',
    '-g',
    'myResourceGroup',
    '-n',
    'myVM',
    '--identities',
    `/subscriptions/${SUB}/resourcegroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other`,
  )
  assert.equal(Object.keys(a2.userAssignedIdentities).length, 1)

  const shown = await json<{ type: string; principalId: string }>(
    'vm',
    'identity',
    'show',
    '-g',
    'myResourceGroup',
    '-n',
    'myVM',
  )
  assert.equal(shown.type, 'SystemAssigned, UserAssigned')
  assert.equal(shown.principalId, vm.identity.systemAssignedIdentity)

  // L4157: removing the only user-assigned identity drops UserAssigned from the type.
  const removed = await json<{ type: string }>(
    'vm',
    'identity',
    'remove',
    '-g',
    'myResourceGroup',
    '-n',
    'myVM',
    '--identities',
    'other',
  )
  assert.equal(removed.type, 'SystemAssigned')
  // L4059: --set identity.type="none" (GET + PUT of the model).
  await ok('vm', 'update', '-n', 'myVM', '-g', 'myResourceGroup', '--set', 'identity.type=none')
  assert.equal(
    (await az('vm', 'identity', 'show', '-g', 'myResourceGroup', '-n', 'myVM')).out.includes('SystemAssigned'),
    false,
  )
  // L9165/L9175: tags with --set and --remove.
  assert.deepEqual(
    await json('vm', 'update', '-n', 'myVM', '-g', 'myResourceGroup', '--set', 'tags.fixVM=1', '--query', 'tags'),
    { fixVM: '1' },
  )
  assert.deepEqual(
    await json('vm', 'update', '-n', 'myVM', '-g', 'myResourceGroup', '--remove', 'tags.fixVM', '--query', 'tags'),
    {},
  )

  // az vm list -o table: Name, ResourceGroup, Location, Zones.
  const t = (await ok('vm', 'list', '-g', 'myResourceGroup', '-o', 'table')).split('\n')
  assert.match(t[0] as string, /^Name\s+ResourceGroup\s+Location\s+Zones$/)
  assert.ok(t.some((l) => /^myVM\s+myResourceGroup\s+westus2/.test(l)))

  // A process on vm2 gets tokens for both identities from IMDS (azid token get).
  const tok = await json<{ access_token: string; client_id: string }>(
    'token',
    'get',
    '--host',
    'vm2',
    '--resource',
    'https://management.azure.com/',
    '--client-id',
    uami.clientId,
  )
  assert.equal(tok.client_id, uami.clientId)
  const claims = JSON.parse(Buffer.from(tok.access_token.split('.')[1] as string, 'base64url').toString()) as {
    oid: string
  }
  assert.equal(claims.oid, uami.principalId)
  const decoded = await json<{ claims: { oid: string } }>('token', 'decode', tok.access_token)
  assert.equal(decoded.claims.oid, uami.principalId)
})

test('VMSS identity (az vmss create --assign-identity, vmss identity assign|remove)', async () => {
  await ok('group', 'create', '-n', 'vmss-rg', '-l', 'westeurope')
  await ok('identity', 'create', '-g', 'vmss-rg', '-n', 'ss-id')
  const created = await json<{ identity: { type: string } }>(
    'vmss',
    'create',
    '--resource-group',
    'vmss-rg',
    '--name',
    'myVMSS',
    '--image',
    'win2016datacenter',
    '--upgrade-policy-mode',
    'automatic',
    '--custom-data',
    'cloud-init.txt',
    '--admin-username',
    'azureuser',
    '--admin-password',
    'myPassword12',
    '--assign-identity',
    '--generate-ssh-keys',
  )
  assert.equal(created.identity.type, 'SystemAssigned')
  const assigned = await json<{ userAssignedIdentities: Record<string, unknown> }>(
    'vmss',
    'identity',
    'assign',
    '-g',
    'vmss-rg',
    '-n',
    'myVMSS',
    '--identities',
    'ss-id',
  )
  assert.equal(Object.keys(assigned.userAssignedIdentities).length, 1)
  const removed = await json<{ type: string }>(
    'vmss',
    'identity',
    'remove',
    '-g',
    'vmss-rg',
    '-n',
    'myVMSS',
    '--identities',
    'ss-id',
  )
  assert.equal(removed.type, 'SystemAssigned')
  // The generic noun reaches any host type.
  const site = await json<{ type: string; identity: { type: string } }>(
    'host',
    'create',
    '--type',
    'webapp',
    '-g',
    'vmss-rg',
    '-n',
    'my-site',
    '--assign-identity',
    '[system]',
    'ss-id',
  )
  assert.equal(site.type, 'Microsoft.Web/sites')
  assert.equal(site.identity.type, 'SystemAssigned, UserAssigned')
})

test('assign access (az role assignment create|list|delete, role definition list)', async () => {
  await ok('group', 'create', '-n', 'access-rg', '-l', 'westeurope')
  const uami = await json<{ principalId: string; clientId: string }>(
    'identity',
    'create',
    '-g',
    'access-rg',
    '-n',
    'reader-id',
  )
  // L3749, with the article's trailing space inside the quoted scope.
  const ra = await json<{ principalId: string; roleDefinitionId: string; scope: string; principalType: string }>(
    'role',
    'assignment',
    'create',
    '--assignee',
    uami.principalId,
    '--role',
    'Reader',
    '--scope',
    `/subscriptions/${SUB}/resourcegroups/access-rg `,
  )
  assert.equal(ra.principalId, uami.principalId)
  assert.equal(ra.principalType, 'ServicePrincipal')
  assert.match(ra.roleDefinitionId, /acdd72a7-3385-48ef-bd42-f606fba81ae7$/)

  // --assignee by app id (client id) and by UPN, role by GUID, scope by -g.
  await ok(
    'role',
    'assignment',
    'create',
    '--assignee',
    uami.clientId,
    '--role',
    'b24988ac-6180-42a0-ab88-20f7382dd24c',
    '-g',
    'access-rg',
  )
  const upn = s.server.endpoints.bootstrap.userPrincipalName
  await ok('role', 'assignment', 'create', '--assignee', upn, '--role', 'Reader', '-g', 'access-rg')

  const list = await json<{ principalName: string; roleDefinitionName: string; scope: string }[]>(
    'role',
    'assignment',
    'list',
    '-g',
    'access-rg',
  )
  assert.deepEqual(
    list.map((a) => `${a.principalName}|${a.roleDefinitionName}`).sort(),
    [`${uami.clientId}|Contributor`, `${uami.clientId}|Reader`, `${upn}|Reader`].sort(),
  )
  const table = (
    await ok('role', 'assignment', 'list', '--assignee', uami.principalId, '-g', 'access-rg', '-o', 'table')
  ).split('\n')
  assert.match(table[0] as string, /^Principal\s+Role\s+Scope$/)
  assert.equal(table.filter((l) => l.includes(uami.clientId)).length, 2)
  const names = await ok(
    'role',
    'assignment',
    'list',
    '-g',
    'access-rg',
    '--assignee',
    uami.clientId,
    '--role',
    'Reader',
    '--query',
    '[].roleDefinitionName',
    '-o',
    'tsv',
  )
  assert.equal(names.trim(), 'Reader')
  // --all includes the bootstrap Owner assignments at the subscription; -g alone only those at the group.
  const all = await json<unknown[]>('role', 'assignment', 'list', '--all')
  assert.ok(all.length >= list.length + 2)

  // The assignment works: access explain allows reading the group.
  const explain = await az(
    'access',
    'explain',
    '--principal',
    uami.principalId,
    '--action',
    'Microsoft.Resources/subscriptions/resourceGroups/read',
    '--scope',
    `/subscriptions/${SUB}/resourceGroups/access-rg`,
  )
  assert.equal(explain.code, 0)
  assert.match(explain.out, /^ALLOWED: role 'Reader'/)

  assert.equal(
    await ok('role', 'assignment', 'delete', '--assignee', uami.principalId, '--role', 'Reader', '-g', 'access-rg'),
    '',
  )
  const left = await json<{ roleDefinitionName: string }[]>(
    'role',
    'assignment',
    'list',
    '-g',
    'access-rg',
    '--assignee',
    uami.principalId,
  )
  assert.deepEqual(
    left.map((a) => a.roleDefinitionName),
    ['Contributor'],
  )
  const denied = await az(
    'access',
    'explain',
    '--principal',
    uami.principalId,
    '--action',
    'Microsoft.Resources/subscriptions/resourceGroups/read',
    '--scope',
    `/subscriptions/${SUB}`,
  )
  assert.equal(denied.code, 3)

  const roles = (await ok('role', 'definition', 'list', '--name', 'Reader', '-o', 'table')).split('\n')
  assert.match(roles[0] as string, /^Name\s+Type\s+Description$/)
  assert.match(roles[2] as string, /^Reader\s+BuiltInRole\s+View all resources/)
  const unknownRole = await az(
    'role',
    'assignment',
    'create',
    '--assignee',
    uami.principalId,
    '--role',
    'Readr',
    '-g',
    'access-rg',
  )
  assert.equal(unknownRole.code, 1)
  assert.match(unknownRole.err, /^azid: Role 'Readr' doesn't exist/)
})

test('bad input: one line on stderr, non-zero exit', async () => {
  const unknown = await az('identity', 'create', '-g', 'x', '-n', 'y', '--bogus')
  assert.equal(unknown.code, 2)
  assert.equal(unknown.err, "azid: unrecognized arguments: --bogus (see 'azid help')\n")
  const missing = await az('identity', 'create', '-g', 'x')
  assert.equal(missing.code, 2)
  assert.match(missing.err, /^azid: the following arguments are required: --name .*\n$/)
  const noValue = await az('identity', 'list', '-g')
  assert.equal(noValue.code, 2)
  assert.equal(noValue.err, 'azid: argument --resource-group: expected one argument\n')
  const badOut = await az('identity', 'list', '-o', 'xml')
  assert.equal(badOut.code, 2)
  assert.match(badOut.err, /^azid: argument --output\/-o: invalid choice 'xml'/)
  const badQuery = await az('identity', 'list', '--query', '[?')
  assert.equal(badQuery.code, 2)
  assert.match(badQuery.err, /^azid: argument --query: invalid JMESPath query/)
  const unreachable = await az('identity', 'list', '--url', 'https://127.0.0.1:1')
  assert.equal(unreachable.code, 1)
  assert.match(
    unreachable.err,
    /^azid: cannot reach azid at https:\/\/127\.0\.0\.1:1 \(connection refused\): start it with 'azid start'/,
  )
  assert.equal(unreachable.err.trim().split('\n').length, 1)
  const noServer = await az('group', 'list', '--data', join('test', 'no-such-dir'))
  assert.equal(noServer.code, 1)
  assert.match(
    noServer.err,
    /^azid: no azid is running with data directory .*no-such-dir: start one with 'azid start --data/,
  )
  const armError = await az('group', 'create', '-n', 'bad name!', '-l', 'westeurope')
  assert.equal(armError.code, 1)
  assert.match(armError.err, /^azid: \(\w+\) /)
})
