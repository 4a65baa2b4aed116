// Debian's az 2.45, unmodified, in namespace mode (<account>.blob.core.windows.net and management.azure.com are
// azid): `az storage blob upload/download --auth-mode login` as a VM (`az login --identity`, IMDS at
// 169.254.169.254) and as a service principal; `az storage account keys list` (ARM listKeys, RBAC
// `listkeys/action`); `az storage blob list --auth-mode key` with the key it printed (Shared Key). The az storage
// commands of Debian's 2.45 work as they are: no defect to record here (clients.md §8).
// Requirements: issue 5 "Proven by real clients" (az), STG-001, STG-003, STG-005.
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type ChildRun, describeRun, scratchDir } from '../support/child.ts'
import { hostEndpoint } from '../support/mi.ts'
import { azJson, needAz, runAzInNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { type Principal, ROLE, V, newPrincipal, paths } from '../integration/arm/helpers.ts'
import { type Account, STORAGE_ROLE, blobApi, createAccount, grantRole } from '../integration/blob/helpers.ts'

const RG = 'azstorage'

let s: TestServer
let acct: Account
let scratch: ReturnType<typeof scratchDir>
let sp: Principal

before(async () => {
  s = await startTestServer()
  scratch = scratchDir('azid-az-storage-')
  acct = await createAccount(s, 'azstorageacct', RG)
  const r = await blobApi(s, acct).call({ method: 'PUT', path: '/azdata?restype=container' })
  assert.equal(r.status, 201, r.text)
  sp = await newPrincipal(s, 'az-storage-sp')
  writeFileSync(join(scratch.dir, 'hello.txt'), 'Hello from az on a VM\n')
  writeFileSync(join(scratch.dir, 'sp.txt'), 'Uploaded by a service principal\n')
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

const configDir = (name: string) => {
  const d = join(scratch.dir, name)
  mkdirSync(d, { recursive: true })
  return d
}

const failed = (r: ChildRun, pattern: RegExp) => {
  assert.notEqual(r.code, 0, describeRun(r))
  assert.match(r.stderr, pattern, describeRun(r))
}

test('as a VM (`az login --identity`): upload refused without a data role, then upload and download with --auth-mode login (STG-001)', async (t) => {
  if (!needAz(t)) return
  const vmId = paths(acct.sub).vm(RG, 'az-storage-vm')
  const vm = await acct.arm.put(vmId, V.compute, {
    location: 'westus',
    identity: { type: 'SystemAssigned' },
    properties: {},
  })
  assert.equal(vm.status, 201, vm.text)
  const principalId = vm.json<{ identity: { principalId: string } }>().identity.principalId
  // Reader lets `az login --identity` find the subscription; it carries no data actions.
  await grantRole(acct, ROLE.Reader, principalId)
  const host = await hostEndpoint(s, vmId, 'namespace')
  const dir = configDir('vm')
  const az = (args: string[]) => runAzInNamespace(s, [...args, '--output', 'json'], { configDir: dir, host })
  const login = azJson<{ user: { name: string } }[]>(await az(['login', '--identity']))
  assert.equal(login[0]?.user.name, 'systemAssignedIdentity')
  const blob = ['--account-name', acct.name, '-c', 'azdata', '-n', 'vm/hello.txt', '--auth-mode', 'login']
  failed(
    await az(['storage', 'blob', 'upload', ...blob, '-f', join(scratch.dir, 'hello.txt')]),
    // az's own words for Storage's 403 AuthorizationPermissionMismatch.
    /You do not have the required permissions needed to perform this operation/,
  )
  await grantRole(acct, STORAGE_ROLE.BlobDataContributor, principalId)
  const up = azJson<{ etag: string; request_server_encrypted: boolean }>(
    await az(['storage', 'blob', 'upload', ...blob, '-f', join(scratch.dir, 'hello.txt')]),
  )
  assert.match(up.etag, /^"0x8D[0-9A-F]+"$/)
  assert.equal(up.request_server_encrypted, true)
  const back = join(scratch.dir, 'vm-back.txt')
  const down = azJson<{ properties: { contentLength: number } }>(
    await az(['storage', 'blob', 'download', ...blob, '-f', back]),
  )
  assert.equal(down.properties.contentLength, 22)
  assert.equal(readFileSync(back, 'utf8'), 'Hello from az on a VM\n')
})

test('as a service principal: upload/download --auth-mode login; `az storage account keys list` needs listkeys; `az storage blob list --auth-mode key` with the printed key (STG-005)', async (t) => {
  if (!needAz(t)) return
  await grantRole(acct, ROLE.Reader, sp.objectId)
  await grantRole(acct, STORAGE_ROLE.BlobDataContributor, sp.objectId)
  const dir = configDir('sp')
  const az = (args: string[]) => runAzInNamespace(s, [...args, '--output', 'json'], { configDir: dir })
  azJson(
    await az(['login', '--service-principal', '-u', sp.clientId, `--password=${sp.secret}`, '--tenant', s.tenantId]),
  )
  const blob = ['--account-name', acct.name, '-c', 'azdata', '-n', 'sp/upload.txt', '--auth-mode', 'login']
  azJson(await az(['storage', 'blob', 'upload', ...blob, '-f', join(scratch.dir, 'sp.txt')]))
  const back = join(scratch.dir, 'sp-back.txt')
  azJson(await az(['storage', 'blob', 'download', ...blob, '-f', back]))
  assert.equal(readFileSync(back, 'utf8'), 'Uploaded by a service principal\n')
  // Reader has no listkeys/action: ARM's 403 AuthorizationFailed, as az prints it.
  failed(await az(['storage', 'account', 'keys', 'list', '-g', RG, '-n', acct.name]), /AuthorizationFailed/)
  await grantRole(acct, ROLE.StorageAccountKeyOperator, sp.objectId)
  const keys = azJson<{ keyName: string; value: string; permissions: string }[]>(
    await az(['storage', 'account', 'keys', 'list', '-g', RG, '-n', acct.name]),
  )
  assert.deepEqual(
    keys.map((k) => [k.keyName, k.value]),
    [
      ['key1', acct.key],
      ['key2', acct.key2],
    ],
  )
  assert.equal(keys[0]?.permissions.toLowerCase(), 'full')
  const listed = azJson<{ name: string; properties: { contentLength: number } }[]>(
    await az([
      'storage',
      'blob',
      'list',
      '--account-name',
      acct.name,
      '-c',
      'azdata',
      '--prefix',
      'sp/',
      '--auth-mode',
      'key',
      '--account-key',
      keys[1]?.value ?? '',
    ]),
  )
  assert.deepEqual(
    listed.map((b) => [b.name, b.properties.contentLength]),
    [['sp/upload.txt', 32]],
  )
  // A wrong key is Storage's 403 AuthenticationFailed, which az words as an authentication failure.
  failed(
    await az([
      'storage',
      'blob',
      'list',
      '--account-name',
      acct.name,
      '-c',
      'azdata',
      '--auth-mode',
      'key',
      '--account-key',
      Buffer.alloc(64, 1).toString('base64'),
    ]),
    /Authentication failure\. This may be caused by either invalid account key/,
  )
})
