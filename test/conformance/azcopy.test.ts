// AzCopy 10.32.2 (npm @azure-tools/azcopy-linux), unmodified, in namespace mode: AzCopy's MSI login hard-codes
// http://169.254.169.254 and only sends OAuth tokens to *.core.windows.net (clients.md §7), so every run is a
// process in a network namespace where <account>.blob|file.core.windows.net and login.microsoftonline.com are azid
// and 169.254.169.254 is the emulated VM's IMDS. Directory trees go up and down (`copy --recursive`), are listed and
// removed, with each AZCOPY_AUTO_LOGIN_TYPE the seed tutorial (000, "Authorize access for AzCopy with a user
// identity") and clients.md §7 name: MSI (system- and user-assigned), SPN, AZCLI, DEVICE; Files with OAuth (AzCopy adds
// `x-ms-file-request-intent: backup` itself). Downloads are compared byte for byte with what was uploaded.
// Requirements: issue 5 §6; AZC-001, AZC-003, AZC-005, AZC-006, AFO-004, AFO-005, STG-010.
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { after, before, test } from 'node:test'
import { type ChildRun, describeRun, scratchDir } from '../support/child.ts'
import { type HostEndpointAnswer, admin, hostEndpoint } from '../support/mi.ts'
import {
  type InputHandler,
  azJson,
  azUnavailable,
  namespaceUnavailable,
  runAzInNamespace,
  runInAzureNamespace,
} from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { need } from '../support/tiers.ts'
import { type Principal, V, createUami, newPrincipal, paths } from '../integration/arm/helpers.ts'
import { type Account, STORAGE_ROLE, blobApi, createAccount, grantRole } from '../integration/blob/helpers.ts'
import { FILE_ROLE, fileApi, fileOps } from '../integration/files/helpers.ts'

const AZCOPY = (createRequire(import.meta.url)('@azure-tools/azcopy-linux') as { AzCopyExe: string }).AzCopyExe
const RG = 'azcopy'

let s: TestServer
let acct: Account
let scratch: ReturnType<typeof scratchDir>
let tree = ''
let blobUrl = ''
let fileUrl = ''
let spn: Principal
let runs = 0

/** A VM (emulated host) with the given identity; its IMDS endpoint for namespace mode. */
async function vm(name: string, identity: Record<string, unknown>) {
  const id = paths(acct.sub).vm(RG, name)
  const r = await acct.arm.put(id, V.compute, { location: 'westus', identity, properties: {} })
  assert.equal(r.status, 201, r.text)
  const principalId = r.json<{ identity: { principalId?: string } }>().identity.principalId ?? ''
  return { id, principalId, endpoint: await hostEndpoint(s, id, 'namespace') }
}

/** Runs azcopy in a fresh namespace with its own log, plan and home directories (clients.md §7). */
function azcopy(
  args: string[],
  q: { env?: Record<string, string>; host?: HostEndpointAnswer; input?: InputHandler } = {},
): Promise<ChildRun> {
  const home = join(scratch.dir, `run-${++runs}`)
  mkdirSync(home, { recursive: true })
  return runInAzureNamespace(s, AZCOPY, args, {
    home,
    env: {
      AZCOPY_LOG_LOCATION: join(home, 'logs'),
      AZCOPY_JOB_PLAN_LOCATION: join(home, 'plans'),
      AZCOPY_DISABLE_SYSLOG: 'true',
      ...q.env,
    },
    ...(q.host ? { host: q.host } : {}),
    ...(q.input ? { input: q.input } : {}),
    timeoutMs: 90_000,
  }).then((r) => {
    if (process.env.AZID_TEST_DEBUG) console.log(args.join(' '), r.ms, r.code, r.stdout.slice(0, 3000))
    return r
  })
}

/** Every regular file under `dir`, by relative path. */
function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (const f of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const p = join(dir, f)
    if (statSync(p).isFile()) out.set(relative(dir, p), readFileSync(p))
  }
  return out
}

function assertSameTree(actual: string, expected: string, r: ChildRun): void {
  const a = readTree(actual)
  const e = readTree(expected)
  assert.deepEqual([...a.keys()], [...e.keys()], describeRun(r))
  for (const [k, v] of e) assert.ok(a.get(k)?.equals(v), `${k} differs after the round trip`)
}

const ok = (r: ChildRun) => {
  assert.equal(r.code, 0, describeRun(r))
  assert.match(r.stdout, /Final Job Status: Completed|Content Length/, describeRun(r))
}

/** A failed transfer: AzCopy exits non-zero and reports the service's 403 code. */
const refused = (r: ChildRun, code = 'AuthorizationPermissionMismatch') => {
  assert.notEqual(r.code, 0, describeRun(r))
  const logs = readdirSync(join(scratch.dir, `run-${runs}`, 'logs'))
    .filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(join(scratch.dir, `run-${runs}`, 'logs', f), 'utf8'))
    .join('\n')
  assert.match(`${r.stdout}\n${r.stderr}\n${logs}`, new RegExp(`403|${code}`), describeRun(r))
  assert.match(logs, new RegExp(code), 'the job log names the service error code')
}

before(async () => {
  chmodSync(AZCOPY, 0o755)
  s = await startTestServer()
  scratch = scratchDir('azid-azcopy-')
  acct = await createAccount(s, 'azcopyacct', RG)
  blobUrl = `https://${acct.name}.blob.core.windows.net`
  fileUrl = `https://${acct.name}.file.core.windows.net`
  // The tree: nested directories, an empty file, a file over AzCopy's 8 MiB block size, names with spaces.
  tree = join(scratch.dir, 'tree')
  mkdirSync(join(tree, 'docs', 'deep dir'), { recursive: true })
  mkdirSync(join(tree, 'media'), { recursive: true })
  writeFileSync(join(tree, 'readme.txt'), 'This is a test file.\n')
  writeFileSync(join(tree, 'docs', 'empty.txt'), '')
  writeFileSync(join(tree, 'docs', 'deep dir', 'notes v2.md'), '# notes\n'.repeat(300))
  const big = Buffer.alloc(9 * 1024 * 1024 + 4099)
  for (let i = 0; i < big.length; i++) big[i] = (i * 131 + (i >> 13)) & 0xff
  writeFileSync(join(tree, 'media', 'big.bin'), big)
  const b = blobApi(s, acct)
  for (const c of ['tree', 'readers', 'spn', 'cli', 'device']) {
    const r = await b.call({ method: 'PUT', path: `/${c}?restype=container` })
    assert.equal(r.status, 201, r.text)
  }
  assert.equal((await fileOps(fileApi(s, acct)).share('share1')).status, 201)
  spn = await newPrincipal(s, 'azcopy-spn')
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

test('MSI, system-assigned: refused without a role (403), then the tree goes up, is listed, comes down identical and is removed once Storage Blob Data Contributor is assigned', async (t) => {
  if (!need(t, namespaceUnavailable())) return
  const host = await vm('azcopy-vm', { type: 'SystemAssigned' })
  const env = { AZCOPY_AUTO_LOGIN_TYPE: 'MSI' }
  const denied = await azcopy(['copy', tree, `${blobUrl}/tree/`, '--recursive'], { env, host: host.endpoint })
  refused(denied)
  await grantRole(acct, STORAGE_ROLE.BlobDataContributor, host.principalId)
  const up = await azcopy(['copy', tree, `${blobUrl}/tree/`, '--recursive'], { env, host: host.endpoint })
  ok(up)
  assert.match(up.stdout, /Number of File Transfers Completed: 4/, describeRun(up))
  const list = await azcopy(['list', `${blobUrl}/tree`], { env, host: host.endpoint })
  ok(list)
  for (const name of ['tree/readme.txt', 'tree/docs/empty.txt', 'tree/docs/deep dir/notes v2.md', 'tree/media/big.bin'])
    assert.ok(list.stdout.includes(`${name}; Content Length:`), `${name} listed: ${list.stdout}`)
  const down = join(scratch.dir, 'down-msi')
  mkdirSync(down)
  const get = await azcopy(['copy', `${blobUrl}/tree/tree`, down, '--recursive'], { env, host: host.endpoint })
  ok(get)
  assertSameTree(join(down, 'tree'), tree, get)
  const rm = await azcopy(['remove', `${blobUrl}/tree/tree/docs`, '--recursive'], { env, host: host.endpoint })
  ok(rm)
  const rmOne = await azcopy(['remove', `${blobUrl}/tree/tree/readme.txt`], { env, host: host.endpoint })
  ok(rmOne)
  const left = await azcopy(['list', `${blobUrl}/tree`], { env, host: host.endpoint })
  ok(left)
  assert.deepEqual(
    left.stdout
      .split('\n')
      .filter((l) => l.includes('; Content Length:'))
      .map((l) => l.split(';')[0]),
    ['tree/media/big.bin'],
  )
})

test('MSI, user-assigned (AZCOPY_MSI_CLIENT_ID) with Storage Blob Data Reader: downloads, cannot upload (403)', async (t) => {
  if (!need(t, namespaceUnavailable())) return
  const uami = await createUami(acct.arm, acct.sub, RG, 'azcopy-reader')
  const host = await vm('azcopy-reader-vm', { type: 'UserAssigned', userAssignedIdentities: { [uami.id]: {} } })
  await grantRole(acct, STORAGE_ROLE.BlobDataReader, uami.principalId)
  // Seeded with Shared Key: the reader only reads.
  const b = blobApi(s, acct)
  const put = await b.call({
    method: 'PUT',
    path: '/readers/dir/seeded.txt',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'seeded for the reader\n',
  })
  assert.equal(put.status, 201, put.text)
  const env = { AZCOPY_AUTO_LOGIN_TYPE: 'MSI', AZCOPY_MSI_CLIENT_ID: uami.clientId }
  const down = join(scratch.dir, 'down-reader')
  mkdirSync(down)
  const get = await azcopy(['copy', `${blobUrl}/readers/dir`, down, '--recursive'], { env, host: host.endpoint })
  ok(get)
  assert.equal(readFileSync(join(down, 'dir', 'seeded.txt'), 'utf8'), 'seeded for the reader\n')
  const up = await azcopy(['copy', tree, `${blobUrl}/readers/`, '--recursive'], { env, host: host.endpoint })
  refused(up)
})

test('SPN with a client secret (AZCOPY_SPA_*): up, list, down identical', async (t) => {
  if (!need(t, namespaceUnavailable())) return
  await grantRole(acct, STORAGE_ROLE.BlobDataContributor, spn.objectId)
  const env = {
    AZCOPY_AUTO_LOGIN_TYPE: 'SPN',
    AZCOPY_SPA_APPLICATION_ID: spn.clientId,
    AZCOPY_SPA_CLIENT_SECRET: spn.secret,
    AZCOPY_TENANT_ID: s.tenantId,
  }
  ok(await azcopy(['copy', tree, `${blobUrl}/spn/`, '--recursive'], { env }))
  const list = await azcopy(['list', `${blobUrl}/spn`], { env })
  ok(list)
  assert.match(list.stdout, /tree\/media\/big\.bin; Content Length: 9\.00 MiB/)
  const down = join(scratch.dir, 'down-spn')
  mkdirSync(down)
  const get = await azcopy(['copy', `${blobUrl}/spn/tree`, down, '--recursive'], { env })
  ok(get)
  assertSameTree(join(down, 'tree'), tree, get)
})

test('AZCLI (AZC-003): after `az login --service-principal` with the same AZURE_CONFIG_DIR, AzCopy takes az’s token', async (t) => {
  if (!need(t, azUnavailable())) return
  const configDir = join(scratch.dir, 'azcli')
  mkdirSync(configDir)
  const login = await runAzInNamespace(
    s,
    [
      'login',
      '--service-principal',
      '-u',
      spn.clientId,
      `--password=${spn.secret}`,
      '--tenant',
      s.tenantId,
      '--output',
      'json',
    ],
    { configDir },
  )
  azJson(login)
  const env = { AZCOPY_AUTO_LOGIN_TYPE: 'AZCLI', AZCOPY_TENANT_ID: s.tenantId, AZURE_CONFIG_DIR: configDir }
  ok(await azcopy(['copy', join(tree, 'docs'), `${blobUrl}/cli/`, '--recursive'], { env }))
  const list = await azcopy(['list', `${blobUrl}/cli`], { env })
  ok(list)
  assert.match(list.stdout, /docs\/deep dir\/notes v2\.md; Content Length: 2\.34 KiB/)
})

test('DEVICE, as in seed 000 (`azcopy list https://<account>.blob.core.windows.net`): AzCopy prints a code, the test approves it through the admin API, the signed-in user lists the account (AZC-001, STG-010)', async (t) => {
  if (!need(t, namespaceUnavailable())) return
  const user = await s.server.directory.store.getUserByUpn(s.server.endpoints.bootstrap.userPrincipalName)
  assert.ok(user, 'bootstrap user')
  await grantRole(acct, STORAGE_ROLE.BlobDataReader, user.objectId)
  const b = blobApi(s, acct)
  await b.call({ method: 'PUT', path: '/device/hello.txt', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'hi' })
  let approved: Promise<unknown> | undefined
  const r = await azcopy(['list', blobUrl], {
    env: { AZCOPY_AUTO_LOGIN_TYPE: 'DEVICE', AZCOPY_TENANT_ID: s.tenantId },
    input: (line) => {
      const m = /enter the code ([A-Z0-9]+)/.exec(line)
      if (m && !approved)
        approved = admin(s, 'POST', `/_azid/device/${m[1]}/approve`, {
          user: s.server.endpoints.bootstrap.userPrincipalName,
        })
    },
  })
  assert.ok(approved, `AzCopy printed no device code: ${describeRun(r)}`)
  assert.equal(((await approved) as { status: number }).status, 200)
  ok(r)
  assert.match(r.stdout, /device\/hello\.txt; Content Length: 2\.00 B/)
})

test('Files over OAuth (AzCopy adds the backup intent): refused with Blob roles only, then up, list, down identical, remove with Storage File Data Privileged Contributor; --backup is Windows-only in AzCopy', async (t) => {
  if (!need(t, namespaceUnavailable())) return
  const host = await vm('azcopy-files-vm', { type: 'SystemAssigned' })
  await grantRole(acct, STORAGE_ROLE.BlobDataContributor, host.principalId)
  const env = { AZCOPY_AUTO_LOGIN_TYPE: 'MSI' }
  refused(await azcopy(['copy', tree, `${fileUrl}/share1/`, '--recursive'], { env, host: host.endpoint }))
  await grantRole(acct, FILE_ROLE.PrivilegedContributor, host.principalId)
  const up = await azcopy(['copy', tree, `${fileUrl}/share1/`, '--recursive'], { env, host: host.endpoint })
  ok(up)
  // Folders are transferred as well (source and destination both have them).
  assert.match(up.stdout, /Number of File Transfers Completed: 4/, describeRun(up))
  assert.match(up.stdout, /Number of Folder Transfers Completed: 4/, describeRun(up))
  const list = await azcopy(['list', `${fileUrl}/share1`], { env, host: host.endpoint })
  ok(list)
  assert.match(list.stdout, /tree\/media\/big\.bin; Content Length: 9\.00 MiB/)
  assert.match(list.stdout, /tree\/docs\/deep dir\/; Content Length: 0\.00 B/)
  const down = join(scratch.dir, 'down-files')
  mkdirSync(down)
  const get = await azcopy(['copy', `${fileUrl}/share1/tree`, down, '--recursive'], { env, host: host.endpoint })
  ok(get)
  assertSameTree(join(down, 'tree'), tree, get)
  ok(await azcopy(['remove', `${fileUrl}/share1/tree/docs`, '--recursive'], { env, host: host.endpoint }))
  const left = await azcopy(['list', `${fileUrl}/share1`], { env, host: host.endpoint })
  ok(left)
  assert.doesNotMatch(left.stdout, /docs/)
  assert.match(left.stdout, /tree\/readme\.txt; Content Length: 21\.00 B/)
  // `--backup` (SeBackupPrivilege) is refused by AzCopy itself on Linux before any request; OAuth to Files works
  // without it because AzCopy sends the intent header on every OAuth request (common/util.go).
  const backup = await azcopy(['copy', tree, `${fileUrl}/share1/`, '--recursive', '--backup'], {
    env,
    host: host.endpoint,
  })
  assert.notEqual(backup.code, 0)
  assert.match(backup.stdout + backup.stderr, /backup mode is only supported on Windows/, describeRun(backup))
})
