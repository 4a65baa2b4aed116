// @azure/storage-file-share 12.31.0 (with @azure/identity 4.13.1), unmodified, against azid's File service on
// loopback (path-style: https://127.0.0.1:<filePort>/<account>). Shared Key with the keys of ARM listKeys, SAS from
// ARM listServiceSas / listAccountSas and from the SDK's generators, and tokens from ClientSecretCredential and
// ManagedIdentityCredential with `fileRequestIntent: 'backup'`, checked against the privileged Files roles as seed 001
// (Azure Files OAuth over REST) describes: management of shares refused over OAuth, data operations allowed.
// Requirements: AFO-001, AFO-002, AFO-003, AFO-005, AFO-006, STG-004, STG-005, STG-006; issue 5 §3.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type ChildRun, describeRun, moduleUrl, resultOf, runNode } from '../support/child.ts'
import { type Principal, V, newPrincipal } from '../integration/arm/helpers.ts'
import { grantRole, identityVm, storageSuite } from '../integration/blob/helpers.ts'
import { FILE_ROLE } from '../integration/files/helpers.ts'

const FILES = moduleUrl('@azure/storage-file-share')
const IDENTITY = moduleUrl('@azure/identity')
const HOUR = 3600_000

let reader: Principal
let contributor: Principal
let smb: Principal
let nobody: Principal
const suite = storageSuite({
  service: 'file',
  account: 'jsfilesacct',
  rg: 'filetests',
  scratch: 'azid-files-js-',
  async prepare({ s, acct }) {
    ;[reader, contributor, smb, nobody] = await Promise.all([
      newPrincipal(s, 'files-reader'),
      newPrincipal(s, 'files-contributor'),
      newPrincipal(s, 'files-smb'),
      newPrincipal(s, 'files-nobody'),
    ])
    await grantRole(acct, FILE_ROLE.PrivilegedReader, reader.objectId)
    await grantRole(acct, FILE_ROLE.PrivilegedContributor, contributor.objectId)
    await grantRole(acct, FILE_ROLE.SmbShareContributor, smb.objectId)
  },
})

const node = (name: string, body: string, env: Record<string, string> = {}): Promise<ChildRun> =>
  runNode(
    suite.scratch,
    name,
    `const files = await import(${JSON.stringify(FILES)})\nconst identity = await import(${JSON.stringify(IDENTITY)})\nconst { createHash } = await import('node:crypto')\nconst attempt = async (f) => { try { const v = await f(); return v === undefined ? 'ok' : v } catch (e) { return [e.statusCode, e.details?.errorCode ?? e.code].join(' ') } }\nconst pattern = (n, seed = 1) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 11)) & 0xff; return b }\n${body}`,
    {
      caPath: suite.s.caPath,
      timeoutMs: 120_000,
      env: {
        FILE_URL: suite.url,
        ACCOUNT: suite.acct.name,
        KEY: suite.acct.key,
        TENANT: suite.s.tenantId,
        AUTHORITY: suite.s.base,
        ...env,
      },
    },
  )

test('Shared Key from ARM listKeys: shares, nested directories, 4 MiB + 321 B upload in two ranges and ranged download, ranges, resize, properties, listings (STG-005)', async () => {
  const r = await node(
    'sharedkey',
    `
await run(async () => {
  const svc = new files.ShareServiceClient(process.env.FILE_URL, new files.StorageSharedKeyCredential(process.env.ACCOUNT, process.env.KEY))
  const share = svc.getShareClient('jsdata')
  const created = await share.createIfNotExists({ metadata: { Purpose: 'conformance' }, quota: 10 })
  const again = await share.createIfNotExists()
  const props = await share.getProperties()
  await share.setQuota(20)
  await share.setMetadata({ Changed: 'yes' })
  const after = await share.getProperties()
  const dir = share.getDirectoryClient('docs')
  await dir.create({ metadata: { Level: 'one' } })
  const sub = dir.getDirectoryClient('Sub Dir')
  await sub.create()
  const big = pattern(4 * 1024 * 1024 + 321)
  const f = sub.getFileClient('big.bin')
  await f.uploadData(big, { rangeSize: 4 * 1024 * 1024, fileHttpHeaders: { fileContentType: 'application/x-test' }, metadata: { Kind: 'big' } })
  const whole = await f.downloadToBuffer()
  const part = await f.downloadToBuffer(4 * 1024 * 1024 - 7, 100)
  const fp = await f.getProperties()
  const small = dir.getFileClient('note.txt')
  await small.create(11)
  await small.uploadRange('hello', 3, 5)
  const sparse = await small.downloadToBuffer()
  const ranges = (await small.getRangeList()).ranges
  await small.clearRange(3, 2)
  const cleared = await small.downloadToBuffer()
  await small.resize(4)
  const resized = await small.downloadToBuffer()
  await small.setHttpHeaders({ fileContentType: 'text/plain', fileCacheControl: 'no-cache' })
  const headers = await small.getProperties()
  const entries = []
  for await (const e of dir.listFilesAndDirectories({ includeTimestamps: true, includeEtag: true, includeAttributes: true, includePermissionKey: true })) entries.push([e.kind, e.name, e.properties?.contentLength ?? null, Boolean(e.properties?.lastWriteTime), e.attributes])
  const prefixed = []
  for await (const e of dir.listFilesAndDirectories({ prefix: 'no' })) prefixed.push(e.name)
  const paged = []
  for await (const page of share.getDirectoryClient('').listFilesAndDirectories().byPage({ maxPageSize: 1 })) paged.push(page.segment.directoryItems.map((d) => d.name).concat(page.segment.fileItems.map((x) => x.name)))
  const shares = []
  for await (const item of svc.listShares({ prefix: 'js', includeMetadata: true })) shares.push([item.name, item.properties.quota, item.metadata])
  const notEmpty = await attempt(() => dir.delete())
  const missing = await attempt(() => dir.getFileClient('nope.txt').getProperties())
  const noParent = await attempt(() => share.getDirectoryClient('a/b').create())
  const exists = [await f.exists(), await dir.getFileClient('nope').exists(), await dir.exists()]
  const stats = await share.getStatistics()
  const { filePermissionKey } = await share.createPermission('O:BAG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)')
  const perm = await share.getPermission(filePermissionKey)
  const withKey = share.getDirectoryClient('acl-dir')
  const aclDir = await withKey.create({ filePermissionKey })
  const sp = await svc.getProperties()
  await small.delete()
  const deleted = await dir.getFileClient('note.txt').deleteIfExists()
  return {
    created: created.succeeded, again: again.succeeded, quota: props.quota, meta: props.metadata, after: [after.quota, after.metadata],
    wholeOk: whole.equals(big), partOk: part.equals(big.subarray(4 * 1024 * 1024 - 7, 4 * 1024 * 1024 + 93)),
    contentType: fp.contentType, fileMeta: fp.metadata, size: fp.contentLength, attrs: fp.fileAttributes, hasTimes: fp.fileCreatedOn instanceof Date && fp.fileChangeOn instanceof Date, fileId: /^\\d+$/.test(fp.fileId ?? ''),
    sparse: sparse.toString('hex'), ranges, cleared: cleared.toString('hex'), resized: resized.toString('hex'), headers: [headers.contentType, headers.cacheControl, headers.contentLength],
    entries, prefixed, paged, shares, notEmpty, missing, noParent, exists, usage: stats.shareUsageBytes,
    perm: perm.permission, aclKey: aclDir.filePermissionKey === filePermissionKey,
    serviceProps: [sp.hourMetrics?.enabled, sp.protocol?.smb?.multichannel?.enabled], deleted: deleted.succeeded,
  }
})`,
  )
  const out = resultOf<Record<string, unknown>>(r)
  assert.equal(out.created, true)
  assert.equal(out.again, false)
  assert.equal(out.quota, 10)
  assert.deepEqual(out.meta, { purpose: 'conformance' })
  assert.deepEqual(out.after, [20, { changed: 'yes' }])
  assert.equal(out.wholeOk, true, describeRun(r))
  assert.equal(out.partOk, true)
  assert.equal(out.contentType, 'application/x-test')
  assert.deepEqual(out.fileMeta, { kind: 'big' })
  assert.equal(out.size, 4 * 1024 * 1024 + 321)
  assert.equal(out.attrs, 'Archive')
  assert.equal(out.hasTimes, true)
  assert.equal(out.fileId, true)
  // Unwritten bytes of a file read as zeros; List Ranges reports what was written.
  assert.equal(out.sparse, `000000${Buffer.from('hello').toString('hex')}000000`)
  assert.deepEqual(out.ranges, [{ start: 3, end: 7 }])
  assert.equal(out.cleared, `0000000000${Buffer.from('llo').toString('hex')}000000`)
  assert.equal(out.resized, '00000000')
  assert.deepEqual(out.headers, ['text/plain', 'no-cache', 4])
  assert.deepEqual(out.entries, [
    ['file', 'note.txt', 4, true, 'Archive'],
    ['directory', 'Sub Dir', null, true, 'Directory'],
  ])
  assert.deepEqual(out.prefixed, ['note.txt'])
  assert.deepEqual(out.paged, [['docs']])
  assert.deepEqual(out.shares, [['jsdata', 20, { Changed: 'yes' }]])
  assert.equal(out.notEmpty, '409 DirectoryNotEmpty')
  assert.equal(out.missing, '404 ResourceNotFound')
  assert.equal(out.noParent, '404 ParentNotFound')
  assert.deepEqual(out.exists, [true, false, true])
  assert.equal(out.usage, 4 * 1024 * 1024 + 321 + 4)
  assert.equal(out.perm, 'O:BAG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)')
  assert.equal(out.aclKey, true)
  assert.deepEqual(out.serviceProps, [false, false])
  assert.equal(out.deleted, false)
})

test('SAS: ARM listServiceSas (sr=s), ARM listAccountSas (ss=f), generateFileSASQueryParameters; expired and read-only SAS refused (STG-004, STG-006)', async () => {
  const serviceSas = await suite.acct.arm.post(`${suite.acct.id}/ListServiceSas`, V.storage, {
    canonicalizedResource: `/file/${suite.acct.name}/jssas`,
    signedResource: 's',
    signedPermission: 'rcwl',
    signedProtocol: 'https',
    signedExpiry: new Date(Date.now() + HOUR).toISOString(),
  })
  assert.equal(serviceSas.status, 200, serviceSas.text)
  const accountSas = await suite.acct.arm.post(`${suite.acct.id}/ListAccountSas`, V.storage, {
    signedServices: 'f',
    signedResourceTypes: 'sco',
    signedPermission: 'rwdlc',
    signedExpiry: new Date(Date.now() + HOUR).toISOString(),
  })
  assert.equal(accountSas.status, 200, accountSas.text)
  const blobOnly = await suite.acct.arm.post(`${suite.acct.id}/ListAccountSas`, V.storage, {
    signedServices: 'b',
    signedResourceTypes: 'sco',
    signedPermission: 'rwdlc',
    signedExpiry: new Date(Date.now() + HOUR).toISOString(),
  })
  const r = await node(
    'sas',
    `
await run(async () => {
  const base = process.env.FILE_URL
  const account = new files.ShareServiceClient(base + '?' + process.env.ACCOUNT_SAS)
  await account.getShareClient('jssas').createIfNotExists()
  const viaArm = new files.ShareClient(base + '/jssas?' + process.env.SERVICE_SAS)
  await viaArm.getDirectoryClient('d').create()
  await viaArm.getDirectoryClient('d').getFileClient('test.txt').uploadData(Buffer.from('This is a test file.'))
  const text = (await viaArm.getDirectoryClient('d').getFileClient('test.txt').downloadToBuffer()).toString()
  const del = await attempt(() => viaArm.getDirectoryClient('d').getFileClient('test.txt').delete())
  const cred = new files.StorageSharedKeyCredential(process.env.ACCOUNT, process.env.KEY)
  const sas = (perm, from, to) => files.generateFileSASQueryParameters({ shareName: 'jssas', filePath: 'd/test.txt', permissions: files.FileSASPermissions.parse(perm), startsOn: from, expiresOn: to }, cred).toString()
  const viaSdk = (await new files.ShareFileClient(base + '/jssas/d/test.txt?' + sas('r', undefined, new Date(Date.now() + 3600000))).downloadToBuffer()).toString()
  const late = await attempt(() => new files.ShareFileClient(base + '/jssas/d/test.txt?' + sas('r', new Date(Date.now() - 7200000), new Date(Date.now() - 3600000))).downloadToBuffer())
  const readOnly = await attempt(() => new files.ShareFileClient(base + '/jssas/d/test.txt?' + sas('r', undefined, new Date(Date.now() + 3600000))).uploadRange('x', 0, 1))
  const forged = await attempt(() => new files.ShareFileClient(base + '/jssas/d/test.txt?' + sas('r', undefined, new Date(Date.now() + 3600000)).replace(/sig=[^&]+/, 'sig=AAAA')).downloadToBuffer())
  const wrongService = await attempt(() => new files.ShareServiceClient(base + '?' + process.env.BLOB_SAS).getShareClient('jssas').getProperties())
  const shareViaServiceSas = await attempt(() => viaArm.getProperties().then(() => 'ok'))
  const listed = []
  for await (const e of account.getShareClient('jssas').getDirectoryClient('d').listFilesAndDirectories()) listed.push(e.name)
  return { text, del, viaSdk, late, readOnly, forged, wrongService, shareViaServiceSas, listed }
})`,
    {
      SERVICE_SAS: serviceSas.json<{ serviceSasToken: string }>().serviceSasToken,
      ACCOUNT_SAS: accountSas.json<{ accountSasToken: string }>().accountSasToken,
      BLOB_SAS: blobOnly.json<{ accountSasToken: string }>().accountSasToken,
    },
  )
  assert.deepEqual(resultOf(r), {
    text: 'This is a test file.',
    del: '403 AuthorizationPermissionMismatch',
    viaSdk: 'This is a test file.',
    late: '403 AuthenticationFailed',
    readOnly: '403 AuthorizationPermissionMismatch',
    forged: '403 AuthenticationFailed',
    wrongService: '403 AuthorizationServiceMismatch',
    shareViaServiceSas: 'ok',
    listed: ['test.txt'],
  })
})

const tokenScript = (who: Principal, intent = true) => `
const cred = new identity.ClientSecretCredential(process.env.TENANT, ${JSON.stringify(who.clientId)}, ${JSON.stringify(who.secret)}, { authorityHost: process.env.AUTHORITY, disableInstanceDiscovery: true })
const svc = new files.ShareServiceClient(process.env.FILE_URL, cred${intent ? ", { fileRequestIntent: 'backup' }" : ''})
const share = svc.getShareClient('jsoauth')
`

test('ClientSecretCredential with fileRequestIntent backup: the privileged roles decide; SMB roles and no role are refused; share management refused over OAuth (seed 001)', async () => {
  const seed = await node(
    'oauth-seed',
    `await run(async () => {
  const svc = new files.ShareServiceClient(process.env.FILE_URL, new files.StorageSharedKeyCredential(process.env.ACCOUNT, process.env.KEY))
  const share = svc.getShareClient('jsoauth')
  await share.createIfNotExists()
  await share.getDirectoryClient('seeded').create()
  await share.getDirectoryClient('seeded').getFileClient('hello.txt').uploadData(Buffer.from('Hello world! :)'))
  return true
})`,
  )
  assert.equal(resultOf(seed), true)
  const contrib = await node(
    'oauth-contributor',
    `${tokenScript(contributor)}
await run(async () => {
  const dir = share.getDirectoryClient('by-token')
  await dir.create()
  const f = dir.getFileClient('data.bin')
  const data = pattern(1024 * 1024 + 3)
  await f.uploadData(data)
  const back = await f.downloadToBuffer()
  const names = []
  for await (const e of share.rootDirectoryClient.listFilesAndDirectories()) names.push(e.name)
  await f.setMetadata({ By: 'token' })
  const meta = (await f.getProperties()).metadata
  await f.delete()
  await dir.delete()
  return {
    same: back.equals(data), names, meta,
    createShare: await attempt(() => svc.getShareClient('jsoauth-new').create()),
    shareProps: await attempt(() => share.getProperties()),
    listShares: await attempt(async () => { for await (const x of svc.listShares()) void x }),
    deleteShare: await attempt(() => share.delete()),
    serviceProps: await attempt(() => svc.getProperties()),
  }
})`,
  )
  assert.deepEqual(resultOf(contrib), {
    same: true,
    names: ['by-token', 'seeded'],
    meta: { by: 'token' },
    createShare: '409 FileOAuthManagementApiRestrictedToSrp',
    shareProps: '409 FileOAuthManagementApiRestrictedToSrp',
    listShares: '409 FileOAuthManagementApiRestrictedToSrp',
    deleteShare: '409 FileOAuthManagementApiRestrictedToSrp',
    serviceProps: '403 AuthenticationFailed',
  })
  const read = await node(
    'oauth-reader',
    `${tokenScript(reader)}
await run(async () => ({
  text: (await share.getDirectoryClient('seeded').getFileClient('hello.txt').downloadToBuffer()).toString(),
  write: await attempt(() => share.getDirectoryClient('seeded').getFileClient('reader.txt').create(1)),
  del: await attempt(() => share.getDirectoryClient('seeded').getFileClient('hello.txt').delete()),
}))`,
  )
  assert.deepEqual(resultOf(read), {
    text: 'Hello world! :)',
    write: '403 AuthorizationPermissionMismatch',
    del: '403 AuthorizationPermissionMismatch',
  })
  // The SMB roles carry files/read|write|delete but not the backup semantics the REST path needs.
  const smbRun = await node(
    'oauth-smb',
    `${tokenScript(smb)}
await run(async () => ({ read: await attempt(() => share.getDirectoryClient('seeded').getFileClient('hello.txt').downloadToBuffer().then(() => 'ok')) }))`,
  )
  assert.deepEqual(resultOf(smbRun), { read: '403 AuthorizationPermissionMismatch' })
  const none = await node(
    'oauth-none',
    `${tokenScript(nobody)}
await run(async () => ({ read: await attempt(() => share.getDirectoryClient('seeded').getFileClient('hello.txt').downloadToBuffer().then(() => 'ok')) }))`,
  )
  assert.deepEqual(resultOf(none), { read: '403 AuthorizationPermissionMismatch' })
  const noIntent = await node(
    'oauth-no-intent',
    `${tokenScript(contributor, false)}
await run(async () => ({ read: await attempt(() => share.getDirectoryClient('seeded').getFileClient('hello.txt').downloadToBuffer().then(() => 'ok')) }))`,
  )
  assert.deepEqual(resultOf(noIntent), { read: '400 MissingRequiredHeader' })
})

test('ManagedIdentityCredential on a VM: refused until Storage File Data Privileged Reader is assigned, then reads (TOK-010)', async () => {
  const { principalId, endpoint: e } = await identityVm(suite.s, suite.acct, 'js-files-vm')
  const script = `
await run(async () => {
  const svc = new files.ShareServiceClient(process.env.FILE_URL, new identity.ManagedIdentityCredential(), { fileRequestIntent: 'backup' })
  const f = svc.getShareClient('jsoauth').getDirectoryClient('seeded').getFileClient('hello.txt')
  return await attempt(async () => (await f.downloadToBuffer()).toString())
})`
  assert.equal(resultOf(await node('mi-before', script, e.env)), '403 AuthorizationPermissionMismatch')
  await grantRole(
    suite.acct,
    FILE_ROLE.PrivilegedReader,
    principalId,
    `${suite.acct.id}/fileServices/default/fileshares/jsoauth`,
  )
  assert.equal(resultOf(await node('mi-after', script, e.env)), 'Hello world! :)')
})
