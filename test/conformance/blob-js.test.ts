// @azure/storage-blob 12.32.0 (with @azure/identity 4.13.1), unmodified, against azid's Blob service on loopback
// (path-style: https://127.0.0.1:<blobPort>/<account>). Shared Key with the keys of ARM listKeys, SAS from ARM
// listServiceSas / listAccountSas and from the SDK's own generators, user delegation SAS, and tokens from
// ClientSecretCredential and ManagedIdentityCredential (the process acts as a VM) checked against RBAC dataActions.
// Requirements: STG-001, STG-003, STG-004, STG-005, STG-006, STG-008, TOK-010; issue 5 §2, §5.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type ChildRun, childEnv, describeRun, errorOf, moduleUrl, resultOf, runChild } from '../support/child.ts'
import { type Principal, V, newPrincipal } from '../integration/arm/helpers.ts'
import { STORAGE_ROLE, grantRole, identityVm, storageSuite } from '../integration/blob/helpers.ts'

const BLOB = moduleUrl('@azure/storage-blob')
const IDENTITY = moduleUrl('@azure/identity')
const HOUR = 3600_000

let reader: Principal
let contributor: Principal
let nobody: Principal
const suite = storageSuite({
  service: 'blob',
  account: 'jsblobacct',
  scratch: 'azid-blob-js-',
  async prepare({ s, acct }) {
    reader = await newPrincipal(s, 'js-reader')
    contributor = await newPrincipal(s, 'js-contributor')
    nobody = await newPrincipal(s, 'js-nobody')
    await grantRole(acct, STORAGE_ROLE.BlobDataReader, reader.objectId)
    await grantRole(acct, STORAGE_ROLE.BlobDataContributor, contributor.objectId)
  },
})

/**
 * The child's prelude: `run(main)` prints main's value as RESULT or its error as ERROR (the parts of support/child.ts
 * NODE_PRELUDE these tests need; its request recorder would copy every uploaded byte to stdout).
 */
const PRELUDE = `
const out = (tag, value) => process.stdout.write('@@' + tag + ' ' + JSON.stringify(value) + '\\n')
async function run(main) {
  try { out('RESULT', await main()) } catch (e) {
    out('ERROR', { name: e?.name, message: String(e?.message ?? e), errorCode: e?.details?.errorCode ?? e?.code, stack: e?.stack })
    process.exitCode = 2
  }
}
const blob = await import(${JSON.stringify(BLOB)})
const identity = await import(${JSON.stringify(IDENTITY)})
const { createHash } = await import('node:crypto')
const { Readable } = await import('node:stream')
`

const node = (name: string, body: string, env: Record<string, string> = {}): Promise<ChildRun> =>
  runChild(process.execPath, [suite.scratch.write(`${name}.mjs`, `${PRELUDE}\n${body}\n`)], {
    timeoutMs: 120_000,
    env: childEnv({
      NODE_EXTRA_CA_CERTS: suite.s.caPath,
      BLOB_URL: suite.url,
      ACCOUNT: suite.acct.name,
      KEY: suite.acct.key,
      TENANT: suite.s.tenantId,
      AUTHORITY: suite.s.base,
      ...env,
    }),
  })

test('Shared Key from ARM listKeys: containers, 1 MiB and 64 MiB uploads (uploadData, uploadStream), ranged downloads, hierarchy listing, metadata, copy (STG-005)', async () => {
  const r = await node(
    'sharedkey',
    `
await run(async () => {
  const svc = new blob.BlobServiceClient(process.env.BLOB_URL, new blob.StorageSharedKeyCredential(process.env.ACCOUNT, process.env.KEY))
  const c = svc.getContainerClient('jsdata')
  const created = await c.createIfNotExists({ metadata: { Purpose: 'conformance' } })
  const again = await c.createIfNotExists()
  const pattern = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 12)) & 0xff; return b }
  const oneMiB = pattern(1024 * 1024)
  const small = c.getBlockBlobClient('dir/one-mib.bin')
  await small.uploadData(oneMiB, { blobHTTPHeaders: { blobContentType: 'application/x-test' }, metadata: { Kind: 'small' } })
  const big = pattern(64 * 1024 * 1024 + 123)
  const large = c.getBlockBlobClient('dir/sub/large.bin')
  await large.uploadStream(Readable.from((function* () { for (let o = 0; o < big.length; o += 1 << 20) yield big.subarray(o, o + (1 << 20)) })()), 8 * 1024 * 1024, 4)
  const whole = await large.downloadToBuffer()
  const part = await large.download(5 * 1024 * 1024 - 10, 100)
  const partBytes = Buffer.concat(await part.readableStreamBody.toArray())
  const props = await small.getProperties()
  const blocks = await large.getBlockList('committed')
  const names = []
  for await (const item of c.listBlobsByHierarchy('/', { prefix: 'dir/', includeMetadata: true })) names.push((item.kind === 'prefix' ? 'P:' : '') + item.name)
  const flat = []
  for await (const item of c.listBlobsFlat({ includeMetadata: true })) flat.push([item.name, item.properties.contentLength, item.metadata])
  const containers = []
  for await (const ct of svc.listContainers({ prefix: 'js', includeMetadata: true })) containers.push([ct.name, ct.metadata])
  const copy = c.getBlockBlobClient('copy-of-one-mib.bin')
  const poller = await copy.beginCopyFromURL(small.url, { intervalInMs: 50 })
  const copied = await poller.pollUntilDone()
  const sync = await c.getBlockBlobClient('sync-copy.bin').syncCopyFromURL(small.url).catch((e) => ({ error: e.code }))
  await small.setMetadata({ Changed: 'yes' })
  const meta = (await small.getProperties()).metadata
  let missing
  try { await c.getBlockBlobClient('nope').getProperties() } catch (e) { missing = [e.statusCode, e.details?.errorCode] }
  let noContainer
  try { await svc.getContainerClient('nope-container').getProperties() } catch (e) { noContainer = [e.statusCode, e.details?.errorCode] }
  const deleted = await copy.deleteIfExists()
  const info = await svc.getAccountInfo()
  return {
    created: created.succeeded, again: again.succeeded,
    smallMd5: props.contentMD5 && Buffer.from(props.contentMD5).equals(createHash('md5').update(oneMiB).digest()),
    contentType: props.contentType, smallMeta: props.metadata,
    largeOk: whole.equals(big), partOk: partBytes.equals(big.subarray(5 * 1024 * 1024 - 10, 5 * 1024 * 1024 + 90)),
    partRange: part.contentRange, blockCount: blocks.committedBlocks.length,
    names, flat, containers, copyStatus: copied.copyStatus, sync: sync.copyStatus ?? sync, meta, missing, noContainer,
    deleted: deleted.succeeded, sku: info.skuName, kind: info.accountKind,
  }
})`,
  )
  const out = resultOf<Record<string, unknown>>(r)
  assert.equal(out.created, true)
  assert.equal(out.again, false)
  assert.equal(out.smallMd5, true, 'Put Blob stores the MD5 of the content')
  assert.equal(out.contentType, 'application/x-test')
  assert.deepEqual(out.smallMeta, { kind: 'small' })
  assert.equal(out.largeOk, true, describeRun(r))
  assert.equal(out.partOk, true)
  assert.equal(out.partRange, `bytes ${5 * 1024 * 1024 - 10}-${5 * 1024 * 1024 + 89}/${64 * 1024 * 1024 + 123}`)
  assert.equal(out.blockCount, 9)
  assert.deepEqual(out.names, ['P:dir/sub/', 'dir/one-mib.bin'])
  // Listings keep the metadata names' case (headers cannot).
  assert.deepEqual(out.flat, [
    ['dir/one-mib.bin', 1024 * 1024, { Kind: 'small' }],
    ['dir/sub/large.bin', 64 * 1024 * 1024 + 123, ''],
  ])
  assert.deepEqual(out.containers, [['jsdata', { Purpose: 'conformance' }]])
  assert.equal(out.copyStatus, 'success')
  assert.equal(out.sync, 'success')
  assert.deepEqual(out.meta, { changed: 'yes' })
  assert.deepEqual(out.missing, [404, 'BlobNotFound'])
  assert.deepEqual(out.noContainer, [404, 'ContainerNotFound'])
  assert.equal(out.deleted, true)
  assert.equal(out.sku, 'Standard_LRS')
  assert.equal(out.kind, 'StorageV2')
})

test('CRC-64 as the SDK checks it: structured-message uploads and downloads (contentChecksumAlgorithm StorageCrc64)', async () => {
  const r = await node(
    'crc64',
    `
await run(async () => {
  const opts = { uploadContentChecksumAlgorithm: 'StorageCrc64', downloadContentChecksumAlgorithm: 'StorageCrc64' }
  const svc = new blob.BlobServiceClient(process.env.BLOB_URL, new blob.StorageSharedKeyCredential(process.env.ACCOUNT, process.env.KEY), opts)
  const c = svc.getContainerClient('jscrc')
  await c.createIfNotExists()
  const data = Buffer.alloc(9 * 1024 * 1024 + 5); for (let i = 0; i < data.length; i++) data[i] = i % 253
  const b = c.getBlockBlobClient('crc.bin')
  await b.uploadData(data, { maxSingleShotSize: 4 * 1024 * 1024, blockSize: 4 * 1024 * 1024 })
  const single = c.getBlockBlobClient('crc-single.bin')
  await single.upload(data.subarray(0, 1000), 1000)
  const back = await b.downloadToBuffer()
  const ranged = Buffer.concat(await (await b.download(100, 1000)).readableStreamBody.toArray())
  const singleBack = Buffer.concat(await (await single.download()).readableStreamBody.toArray())
  return { whole: back.equals(data), ranged: ranged.equals(data.subarray(100, 1100)), single: singleBack.equals(data.subarray(0, 1000)) }
})`,
  )
  assert.deepEqual(resultOf(r), { whole: true, ranged: true, single: true })
})

test('SAS: ARM listServiceSas (the seed body), ARM listAccountSas, generateBlobSASQueryParameters (STG-004, STG-006)', async () => {
  const serviceSas = await suite.acct.arm.post(`${suite.acct.id}/listServiceSas/`, V.storage, {
    canonicalizedResource: `/blob/${suite.acct.name}/jssas`,
    signedResource: 'c',
    signedPermission: 'rcw',
    signedProtocol: 'https',
    signedExpiry: new Date(Date.now() + HOUR).toISOString(),
  })
  assert.equal(serviceSas.status, 200, serviceSas.text)
  const accountSas = await suite.acct.arm.post(`${suite.acct.id}/ListAccountSas`, V.storage, {
    signedServices: 'b',
    signedResourceTypes: 'sco',
    signedPermission: 'rwdlc',
    signedExpiry: new Date(Date.now() + HOUR).toISOString(),
  })
  assert.equal(accountSas.status, 200, accountSas.text)
  const r = await node(
    'sas',
    `
await run(async () => {
  const base = process.env.BLOB_URL
  const account = new blob.BlobServiceClient(base + '?' + process.env.ACCOUNT_SAS)
  await account.getContainerClient('jssas').createIfNotExists()
  const viaArm = new blob.ContainerClient(base + '/jssas?' + process.env.SERVICE_SAS)
  await viaArm.getBlockBlobClient('test.txt').upload('This is a test file.', 20)
  const text = (await viaArm.getBlockBlobClient('test.txt').downloadToBuffer()).toString()
  let del
  try { await viaArm.getBlockBlobClient('test.txt').delete() } catch (e) { del = [e.statusCode, e.code] }
  const cred = new blob.StorageSharedKeyCredential(process.env.ACCOUNT, process.env.KEY)
  const sdkSas = blob.generateBlobSASQueryParameters({ containerName: 'jssas', blobName: 'test.txt', permissions: blob.BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3600000) }, cred).toString()
  const viaSdk = (await new blob.BlockBlobClient(base + '/jssas/test.txt?' + sdkSas).downloadToBuffer()).toString()
  const expired = blob.generateBlobSASQueryParameters({ containerName: 'jssas', blobName: 'test.txt', permissions: blob.BlobSASPermissions.parse('r'), startsOn: new Date(Date.now() - 7200000), expiresOn: new Date(Date.now() - 3600000) }, cred).toString()
  let late
  try { await new blob.BlockBlobClient(base + '/jssas/test.txt?' + expired).downloadToBuffer() } catch (e) { late = [e.statusCode, e.details?.errorCode] }
  const listed = []
  for await (const b of account.getContainerClient('jssas').listBlobsFlat()) listed.push(b.name)
  return { text, del, viaSdk, late, listed }
})`,
    {
      SERVICE_SAS: serviceSas.json<{ serviceSasToken: string }>().serviceSasToken,
      ACCOUNT_SAS: accountSas.json<{ accountSasToken: string }>().accountSasToken,
    },
  )
  const out = resultOf<{ text: string; del: unknown; viaSdk: string; late: unknown[]; listed: string[] }>(r)
  assert.equal(out.text, 'This is a test file.')
  assert.deepEqual(out.del, [403, 'AuthorizationPermissionMismatch'])
  assert.equal(out.viaSdk, 'This is a test file.')
  assert.equal(out.late[0], 403)
  assert.equal(out.late[1], 'AuthenticationFailed')
  assert.deepEqual(out.listed, ['test.txt'])
})

const tokenScript = (who: Principal) => `
const cred = new identity.ClientSecretCredential(process.env.TENANT, ${JSON.stringify(who.clientId)}, ${JSON.stringify(who.secret)}, { authorityHost: process.env.AUTHORITY, disableInstanceDiscovery: true })
const svc = new blob.BlobServiceClient(process.env.BLOB_URL, cred)
const c = svc.getContainerClient('jsrbac')
const attempt = async (f) => { try { await f(); return 'ok' } catch (e) { return [e.statusCode, e.details?.errorCode ?? e.code].join(' ') } }
`

test('ClientSecretCredential: no role → 403 AuthorizationPermissionMismatch; Contributor writes; Reader reads but cannot write; user delegation SAS (TOK-010)', async () => {
  const seed = await node(
    'rbac-seed',
    `await run(async () => {
  const svc = new blob.BlobServiceClient(process.env.BLOB_URL, new blob.StorageSharedKeyCredential(process.env.ACCOUNT, process.env.KEY))
  await svc.getContainerClient('jsrbac').createIfNotExists()
  return true
})`,
  )
  assert.equal(resultOf(seed), true)
  const none = await node(
    'rbac-none',
    `${tokenScript(nobody)}
await run(async () => ({
  read: await attempt(() => c.getBlockBlobClient('x.txt').downloadToBuffer()),
  write: await attempt(() => c.getBlockBlobClient('x.txt').upload('x', 1)),
}))`,
  )
  assert.deepEqual(resultOf(none), {
    read: '403 AuthorizationPermissionMismatch',
    write: '403 AuthorizationPermissionMismatch',
  })
  const contrib = await node(
    'rbac-contributor',
    `${tokenScript(contributor)}
await run(async () => {
  await c.getBlockBlobClient('hello.txt').upload('Hello world! :)', 15)
  return { text: (await c.getBlockBlobClient('hello.txt').downloadToBuffer()).toString() }
})`,
  )
  assert.deepEqual(resultOf(contrib), { text: 'Hello world! :)' })
  const read = await node(
    'rbac-reader',
    `${tokenScript(reader)}
await run(async () => {
  const text = (await c.getBlockBlobClient('hello.txt').downloadToBuffer()).toString()
  const write = await attempt(() => c.getBlockBlobClient('reader.txt').upload('r', 1))
  const key = await svc.getUserDelegationKey(new Date(Date.now() - 60000), new Date(Date.now() + 3600000))
  const sas = blob.generateBlobSASQueryParameters({ containerName: 'jsrbac', blobName: 'hello.txt', permissions: blob.BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3600000) }, key, process.env.ACCOUNT).toString()
  const viaUdk = (await new blob.BlockBlobClient(process.env.BLOB_URL + '/jsrbac/hello.txt?' + sas).downloadToBuffer()).toString()
  return { text, write, keyOid: key.signedObjectId, viaUdk }
})`,
  )
  assert.deepEqual(resultOf(read), {
    text: 'Hello world! :)',
    write: '403 AuthorizationPermissionMismatch',
    keyOid: reader.objectId,
    viaUdk: 'Hello world! :)',
  })
})

test('ManagedIdentityCredential on a VM with Storage Blob Data Reader reads the blob (003 "access Azure Storage", STG-001)', async () => {
  const { principalId, endpoint: e } = await identityVm(suite.s, suite.acct, 'js-blob-vm')
  const script = `
await run(async () => {
  const svc = new blob.BlobServiceClient(process.env.BLOB_URL, new identity.ManagedIdentityCredential())
  const c = svc.getContainerClient('jsrbac')
  try { return { text: (await c.getBlockBlobClient('hello.txt').downloadToBuffer()).toString() } } catch (e) { return { status: e.statusCode, code: e.details?.errorCode } }
})`
  const before = await node('mi-before', script, e.env)
  assert.deepEqual(resultOf(before), { status: 403, code: 'AuthorizationPermissionMismatch' })
  await grantRole(suite.acct, STORAGE_ROLE.BlobDataReader, principalId)
  const after = await node('mi-after', script, e.env)
  assert.deepEqual(resultOf(after), { text: 'Hello world! :)' })
})

test('a bad token is 401 InvalidAuthenticationInfo with the challenge the SDK understands', async () => {
  const r = await node(
    'bad-token',
    `
await run(async () => {
  const fake = { getToken: async () => ({ token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', expiresOnTimestamp: Date.now() + 3600000 }) }
  const svc = new blob.BlobServiceClient(process.env.BLOB_URL, fake)
  await svc.getContainerClient('jsrbac').getBlockBlobClient('hello.txt').downloadToBuffer()
})`,
  )
  const err = errorOf(r)
  assert.equal(err.errorCode, 'InvalidAuthenticationInfo', describeRun(r))
})
