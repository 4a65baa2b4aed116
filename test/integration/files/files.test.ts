// The File service on the wire (Shared Key): shares, directories, files, ranges, listings, SMB properties, and the
// bad input Azure refuses with its own XML errors, nothing partial left behind. Issue 5 §3 and "Bad input".
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { type Account, createAccount, expectStorageError } from '../blob/helpers.ts'
import { type Files, fileApi, fileContent, fileContentSettled, fileOps } from './helpers.ts'

let s: TestServer
let acct: Account
let f: Files
let o: ReturnType<typeof fileOps>

before(async () => {
  s = await startTestServer()
  acct = await createAccount(s, 'wirefiles', 'filewire')
  f = fileApi(s, acct)
  o = fileOps(f)
  assert.equal((await o.share('data')).status, 201)
})
after(async () => {
  await s?.stop()
})

const bytes = (n: number, seed = 0) => {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff
  return b
}

describe('shares', () => {
  test('create, properties, metadata, quota, stats, list, delete; shares are the ARM child resources', async () => {
    let r = await f.call({
      method: 'PUT',
      path: '/reports?restype=share',
      headers: { 'x-ms-share-quota': '7', 'x-ms-meta-Team': 'ops' },
    })
    assert.equal(r.status, 201, r.text)
    assert.match(String(r.headers.etag), /^"0x8D[0-9A-F]+"$/)
    expectStorageError(await o.share('reports'), 409, 'ShareAlreadyExists')
    r = await f.call({ method: 'HEAD', path: '/reports?restype=share' })
    assert.equal(r.headers['x-ms-share-quota'], '7')
    assert.equal(r.headers['x-ms-meta-team'], 'ops')
    assert.equal(r.headers['x-ms-enabled-protocols'], 'SMB')
    const arm = await acct.arm.get(`${acct.id}/fileServices/default/shares/reports`, '2024-01-01')
    assert.equal(arm.status, 200, arm.text)
    assert.equal(arm.json<{ properties: { shareQuota: number } }>().properties.shareQuota, 7)
    r = await f.call({
      method: 'PUT',
      path: '/reports?restype=share&comp=properties',
      headers: { 'x-ms-share-quota': '9' },
    })
    assert.equal(r.status, 200, r.text)
    r = await f.call({ method: 'PUT', path: '/reports?restype=share&comp=metadata', headers: { 'x-ms-meta-a': '1' } })
    assert.equal(r.status, 200, r.text)
    r = await f.call({ method: 'GET', path: '/?comp=list&prefix=rep&include=metadata' })
    assert.equal(r.status, 200, r.text)
    assert.match(
      r.text,
      /<Share><Name>reports<\/Name><Properties>.*<Quota>9<\/Quota>.*<\/Properties><Metadata><a>1<\/a><\/Metadata><\/Share>/,
    )
    assert.doesNotMatch(r.text, /<Name>data<\/Name>/)
    r = await f.call({ method: 'GET', path: '/?comp=list&maxresults=1' })
    assert.match(
      r.text,
      /<MaxResults>1<\/MaxResults><Shares><Share><Name>data<\/Name>.*<NextMarker>reports<\/NextMarker>/,
    )
    await o.dir('reports/q1')
    await o.create('reports/q1/a.bin', 1000)
    await o.put('reports/q1/a.bin', 0, bytes(10))
    r = await f.call({ method: 'GET', path: '/reports?restype=share&comp=stats' })
    assert.match(r.text, /<ShareStats><ShareUsageBytes>1000<\/ShareUsageBytes><\/ShareStats>/)
    const before = fileContent(s).length
    r = await f.call({ method: 'DELETE', path: '/reports?restype=share' })
    assert.equal(r.status, 202, r.text)
    expectStorageError(await f.call({ method: 'GET', path: '/reports/q1/a.bin' }), 404, 'ShareNotFound')
    assert.equal((await acct.arm.get(`${acct.id}/fileServices/default/shares/reports`, '2024-01-01')).status, 404)
    assert.equal(
      await fileContentSettled(s, (c) => c === before - 1),
      before - 1,
      'the content of a deleted share goes with it',
    )
    // Through ARM too: a share deleted as a resource takes its files along.
    await o.share('viaarm')
    await o.create('viaarm/x.bin', 4)
    await o.put('viaarm/x.bin', 0, bytes(4))
    const n = fileContent(s).length
    assert.equal((await acct.arm.del(`${acct.id}/fileServices/default/shares/viaarm`, '2024-01-01')).status, 200)
    assert.equal(await fileContentSettled(s, (c) => c === n - 1), n - 1)
  })

  test('ACLs: empty policy lists only; file permissions stored and returned by key', async () => {
    let r = await f.call({ method: 'GET', path: '/data?restype=share&comp=acl' })
    assert.equal(r.text, '<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers />')
    r = await f.call({ method: 'PUT', path: '/data?restype=share&comp=acl', body: '<SignedIdentifiers />' })
    assert.equal(r.status, 200, r.text)
    r = await f.call({
      method: 'PUT',
      path: '/data?restype=share&comp=acl',
      body: '<SignedIdentifiers><SignedIdentifier><Id>p1</Id></SignedIdentifier></SignedIdentifiers>',
    })
    expectStorageError(r, 501, 'NotImplemented')
    expectStorageError(
      await f.call({ method: 'PUT', path: '/data?restype=share&comp=acl', body: '<SignedIdentifiers>' }),
      400,
      'InvalidXmlDocument',
    )
    const sddl = 'O:BAG:SYD:(A;;FA;;;BA)'
    r = await f.call({
      method: 'PUT',
      path: '/data?restype=share&comp=filepermission',
      body: JSON.stringify({ permission: sddl }),
    })
    assert.equal(r.status, 201, r.text)
    const key = String(r.headers['x-ms-file-permission-key'])
    assert.match(key, /^\d+\*\d+$/)
    r = await f.call({
      method: 'GET',
      path: '/data?restype=share&comp=filepermission',
      headers: { 'x-ms-file-permission-key': key },
    })
    assert.deepEqual(r.json(), { permission: sddl })
    r = await o.dir('data/secured', { 'x-ms-file-permission-key': key })
    assert.equal(r.headers['x-ms-file-permission-key'], key)
    r = await o.dir('data/inline', { 'x-ms-file-permission': sddl })
    assert.equal(r.headers['x-ms-file-permission-key'], key, 'the same descriptor has the same key')
    expectStorageError(
      await f.call({
        method: 'PUT',
        path: '/data?restype=share&comp=filepermission',
        body: JSON.stringify({ permission: 'not an sddl' }),
      }),
      400,
      'FileInvalidPermission',
    )
    expectStorageError(
      await o.dir('data/badkey', { 'x-ms-file-permission-key': '1*2' }),
      400,
      'FileInvalidPermissionKey',
    )
    expectStorageError(
      await o.dir('data/both', { 'x-ms-file-permission-key': key, 'x-ms-file-permission': 'inherit' }),
      400,
      'InvalidHeaderValue',
    )
  })
})

describe('directories', () => {
  test('create with SMB properties, nested, get, set properties and metadata, list with prefix/marker/maxresults, delete only when empty', async () => {
    let r = await o.dir('data/docs', {
      'x-ms-file-attributes': 'Hidden|ReadOnly',
      'x-ms-file-creation-time': '2024-03-04T05:06:07.1234567Z',
      'x-ms-file-last-write-time': '2024-03-04T05:06:08Z',
      'x-ms-meta-Owner': 'me',
    })
    assert.equal(r.status, 201, r.text)
    assert.equal(r.headers['x-ms-file-attributes'], 'ReadOnly | Hidden | Directory')
    assert.equal(r.headers['x-ms-file-creation-time'], '2024-03-04T05:06:07.1234567Z')
    assert.equal(r.headers['x-ms-file-last-write-time'], '2024-03-04T05:06:08.0000000Z')
    assert.equal(r.headers['x-ms-file-parent-id'], '13835128424026341376', 'the root directory id')
    const dirId = r.headers['x-ms-file-id']
    expectStorageError(await o.dir('data/docs'), 409, 'ResourceAlreadyExists')
    expectStorageError(await o.dir('data/DOCS'), 409, 'ResourceAlreadyExists', { message: /already exists/ })
    expectStorageError(await o.dir('data/nope/sub'), 404, 'ParentNotFound')
    for (const n of ['b.txt', 'a.txt', 'c.txt']) assert.equal((await o.create(`data/docs/${n}`, 0)).status, 201)
    assert.equal((await o.dir('data/docs/Zeta')).status, 201)
    r = await f.call({ method: 'GET', path: '/data/docs?restype=directory' })
    assert.equal(r.headers['x-ms-meta-owner'], 'me')
    assert.equal(r.headers['x-ms-file-id'], dirId)
    r = await f.call({ method: 'GET', path: '/data/docs?restype=directory&comp=list&maxresults=2' })
    assert.match(r.text, /DirectoryPath="docs"/)
    assert.match(
      r.text,
      /<Entries><File><Name>a\.txt<\/Name><Properties><Content-Length>0<\/Content-Length><\/Properties><\/File><File><Name>b\.txt<\/Name>.*<NextMarker>b\.txt<\/NextMarker>/,
    )
    r = await f.call({ method: 'GET', path: '/data/docs?restype=directory&comp=list&marker=b.txt' })
    assert.match(
      r.text,
      /<Entries><File><Name>c\.txt<\/Name>.*<\/File><Directory><Name>Zeta<\/Name><Properties \/><\/Directory><\/Entries><NextMarker \/>/,
    )
    r = await f.call({ method: 'GET', path: '/data/docs?restype=directory&comp=list&prefix=Z&include=Attributes' })
    assert.match(
      r.text,
      /<Entries><Directory><Name>Zeta<\/Name><Properties \/><Attributes>Directory<\/Attributes><\/Directory><\/Entries>/,
    )
    expectStorageError(
      await f.call({ method: 'GET', path: '/data/docs?restype=directory&comp=list&include=Bogus' }),
      400,
      'InvalidQueryParameterValue',
    )
    r = await f.call({
      method: 'PUT',
      path: '/data/docs?restype=directory&comp=properties',
      headers: { 'x-ms-file-attributes': 'None', 'x-ms-file-last-write-time': 'preserve' },
    })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.headers['x-ms-file-attributes'], 'Directory')
    assert.equal(r.headers['x-ms-file-last-write-time'], '2024-03-04T05:06:08.0000000Z')
    assert.equal(r.headers['x-ms-file-creation-time'], '2024-03-04T05:06:07.1234567Z')
    r = await f.call({
      method: 'PUT',
      path: '/data/docs?restype=directory&comp=metadata',
      headers: { 'x-ms-meta-k': 'v' },
    })
    assert.equal(r.status, 200, r.text)
    r = await f.call({ method: 'HEAD', path: '/data/docs?restype=directory' })
    assert.equal(r.headers['x-ms-meta-k'], 'v')
    assert.equal(r.headers['x-ms-meta-owner'], undefined)
    expectStorageError(
      await f.call({ method: 'DELETE', path: '/data/docs?restype=directory' }),
      409,
      'DirectoryNotEmpty',
    )
    for (const n of ['a.txt', 'b.txt', 'c.txt'])
      assert.equal((await f.call({ method: 'DELETE', path: `/data/docs/${n}` })).status, 202)
    assert.equal((await f.call({ method: 'DELETE', path: '/data/docs/zeta?restype=directory' })).status, 202)
    assert.equal((await f.call({ method: 'DELETE', path: '/data/docs?restype=directory' })).status, 202)
    expectStorageError(await f.call({ method: 'GET', path: '/data/docs?restype=directory' }), 404, 'ResourceNotFound')
  })

  test('the root directory: properties that persist, listing, never deleted; handles: none open', async () => {
    let r = await f.call({ method: 'GET', path: '/data?restype=directory' })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.headers['x-ms-file-id'], '13835128424026341376')
    r = await f.call({
      method: 'PUT',
      path: '/data?restype=directory&comp=metadata',
      headers: { 'x-ms-meta-root': 'yes' },
    })
    assert.equal(r.status, 200, r.text)
    r = await f.call({ method: 'GET', path: '/data?restype=directory' })
    assert.equal(r.headers['x-ms-meta-root'], 'yes')
    r = await f.call({ method: 'GET', path: '/data?restype=directory&comp=list' })
    assert.match(r.text, /DirectoryPath=""/)
    assert.doesNotMatch(r.text, /<Name \/>|<Name><\/Name>/, 'the root row is no child of itself')
    expectStorageError(
      await f.call({ method: 'DELETE', path: '/data?restype=directory' }),
      409,
      'CannotDeleteFileOrDirectory',
    )
    r = await f.call({ method: 'GET', path: '/data?restype=directory&comp=listhandles' })
    assert.equal(
      r.text,
      '<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Entries /><NextMarker /></EnumerationResults>',
    )
    r = await f.call({
      method: 'PUT',
      path: '/data?restype=directory&comp=forceclosehandles',
      headers: { 'x-ms-handle-id': '*' },
    })
    assert.equal(r.headers['x-ms-number-of-handles-closed'], '0')
  })
})

describe('files and ranges', () => {
  test('create (sparse), put ranges, get with ranges, list ranges, clear, resize, properties, metadata, overwrite, delete', async () => {
    let r = await o.create('data/f.bin', 3000, { 'x-ms-content-type': 'application/x-data', 'x-ms-meta-A': '1' })
    assert.equal(r.status, 201, r.text)
    assert.equal(r.headers['x-ms-file-attributes'], 'Archive')
    r = await o.put('data/f.bin', 512, bytes(1024, 1))
    assert.equal(r.status, 201, r.text)
    assert.equal(
      r.headers['content-md5'],
      (await import('node:crypto')).createHash('md5').update(bytes(1024, 1)).digest('base64'),
    )
    assert.equal((await o.put('data/f.bin', 1024, bytes(100, 2))).status, 201)
    r = await o.get('data/f.bin')
    assert.equal(r.status, 200)
    assert.equal(r.headers['content-type'], 'application/x-data')
    assert.equal(r.headers['content-length'], '3000')
    const expected = Buffer.alloc(3000)
    bytes(1024, 1).copy(expected, 512)
    bytes(100, 2).copy(expected, 1024)
    assert.ok(r.body.equals(expected))
    r = await o.get('data/f.bin', { 'x-ms-range': 'bytes=1000-1199' })
    assert.equal(r.status, 206)
    assert.equal(r.headers['content-range'], 'bytes 1000-1199/3000')
    assert.ok(r.body.equals(expected.subarray(1000, 1200)))
    r = await o.get('data/f.bin', { 'x-ms-range': 'bytes=2990-', 'x-ms-range-get-content-md5': 'true' })
    assert.equal(r.status, 206)
    assert.equal(r.body.length, 10)
    assert.equal(
      r.headers['content-md5'],
      (await import('node:crypto')).createHash('md5').update(expected.subarray(2990)).digest('base64'),
    )
    r = await f.call({ method: 'GET', path: '/data/f.bin?comp=rangelist' })
    assert.equal(r.headers['x-ms-content-length'], '3000')
    assert.equal(
      r.text,
      '<?xml version="1.0" encoding="utf-8"?><Ranges><Range><Start>512</Start><End>1535</End></Range></Ranges>',
    )
    r = await f.call({
      method: 'PUT',
      path: '/data/f.bin?comp=range',
      headers: { 'x-ms-write': 'clear', 'x-ms-range': 'bytes=600-699' },
    })
    assert.equal(r.status, 201, r.text)
    expected.fill(0, 600, 700)
    r = await f.call({ method: 'GET', path: '/data/f.bin?comp=rangelist', headers: { 'x-ms-range': 'bytes=0-1000' } })
    assert.match(
      r.text,
      /<Range><Start>512<\/Start><End>599<\/End><\/Range><Range><Start>700<\/Start><End>1000<\/End><\/Range><\/Ranges>$/,
    )
    r = await f.call({
      method: 'PUT',
      path: '/data/f.bin?comp=properties',
      headers: {
        'x-ms-content-length': '650',
        'x-ms-content-type': 'text/plain',
        'x-ms-content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==',
      },
    })
    assert.equal(r.status, 200, r.text)
    r = await f.call({ method: 'HEAD', path: '/data/f.bin' })
    assert.equal(r.headers['content-length'], '650')
    assert.equal(r.headers['content-type'], 'text/plain')
    assert.equal(r.headers['content-md5'], 'AAAAAAAAAAAAAAAAAAAAAA==')
    assert.equal(r.headers['x-ms-meta-a'], '1')
    assert.equal(r.headers['x-ms-type'], 'File')
    r = await f.call({ method: 'PUT', path: '/data/f.bin?comp=properties', headers: { 'x-ms-content-length': '700' } })
    r = await o.get('data/f.bin', { 'x-ms-range': 'bytes=590-699' })
    assert.ok(
      r.body.equals(Buffer.concat([expected.subarray(590, 650), Buffer.alloc(50)])),
      'grown bytes read as zeros',
    )
    // Set File Properties replaces the HTTP properties: those not sent are cleared.
    assert.equal(r.headers['content-type'], 'application/octet-stream')
    r = await f.call({ method: 'PUT', path: '/data/f.bin?comp=metadata', headers: { 'x-ms-meta-b': '2' } })
    assert.equal(r.status, 200, r.text)
    r = await f.call({ method: 'HEAD', path: '/data/f.bin' })
    assert.equal(r.headers['x-ms-meta-b'], '2')
    assert.equal(r.headers['x-ms-meta-a'], undefined)
    const files = fileContent(s).length
    assert.equal((await o.create('data/f.bin', 10)).status, 201, 'Create File replaces the file')
    assert.ok((await o.get('data/f.bin')).body.equals(Buffer.alloc(10)))
    assert.ok((await fileContentSettled(s, (c) => c < files)) < files, "the replaced file's content is released")
    assert.equal((await f.call({ method: 'DELETE', path: '/data/f.bin' })).status, 202)
    expectStorageError(await f.call({ method: 'DELETE', path: '/data/f.bin' }), 404, 'ResourceNotFound')
  })

  test('concurrent Put Ranges into one file (as AzCopy and the SDKs upload) all land', async () => {
    const n = 16
    const size = 64 * 1024
    await o.create('data/parallel.bin', n * size)
    const parts = Array.from({ length: n }, (_, i) => bytes(size, i))
    const results = await Promise.all(parts.map((p, i) => o.put('data/parallel.bin', i * size, p)))
    for (const r of results) assert.equal(r.status, 201, r.text)
    assert.ok((await o.get('data/parallel.bin')).body.equals(Buffer.concat(parts)))
    const ranges = await f.call({ method: 'GET', path: '/data/parallel.bin?comp=rangelist' })
    assert.match(ranges.text, new RegExp(`<Ranges><Range><Start>0</Start><End>${n * size - 1}</End></Range></Ranges>$`))
  })

  test('read-only files refuse writes until the attribute is cleared; case-insensitive names keep their case', async () => {
    await o.create('data/ro.txt', 4, { 'x-ms-file-attributes': 'ReadOnly' })
    expectStorageError(await o.put('data/ro.txt', 0, Buffer.from('abcd')), 409, 'ReadOnlyAttribute')
    expectStorageError(await f.call({ method: 'DELETE', path: '/data/ro.txt' }), 409, 'ReadOnlyAttribute')
    const r = await f.call({
      method: 'PUT',
      path: '/data/RO.TXT?comp=properties',
      headers: { 'x-ms-file-attributes': 'None' },
    })
    assert.equal(r.status, 200, r.text)
    assert.equal((await o.put('data/ro.txt', 0, Buffer.from('abcd'))).status, 201)
    const list = await f.call({ method: 'GET', path: '/data?restype=directory&comp=list&prefix=R' })
    assert.match(list.text, /<Name>ro\.txt<\/Name>/)
    assert.equal((await f.call({ method: 'DELETE', path: '/data/Ro.Txt' })).status, 202)
  })
})

describe('garbage and deletion', () => {
  test('collectGarbage removes old content files no row names, keeps live ones; a deleted account takes its files along', async () => {
    const { mkdirSync, writeFileSync, utimesSync, existsSync } = await import('node:fs')
    const { join } = await import('node:path')
    await o.create('data/live.bin', 4)
    await o.put('data/live.bin', 0, Buffer.from('live'))
    const dir = join(s.dataDir, 'storage', 'file', 'ee')
    mkdirSync(dir, { recursive: true })
    const junk = join(dir, `ee${'0'.repeat(30)}`)
    writeFileSync(junk, 'left behind by a crash')
    utimesSync(junk, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000))
    const r = await s.server.storage.file.collectGarbage()
    assert.deepEqual(r, { orphanShares: 0, files: 1 })
    assert.equal(existsSync(junk), false)
    assert.equal((await o.get('data/live.bin')).text, 'live')
    const gone = await createAccount(s, 'gonefiles', 'filewire')
    const g = fileOps(fileApi(s, gone))
    await g.share('tmp')
    await g.create('tmp/a.bin', 3)
    await g.put('tmp/a.bin', 0, Buffer.from('abc'))
    const n = fileContent(s).length
    assert.equal((await gone.arm.del(gone.id, '2024-01-01')).status, 200)
    assert.equal(await fileContentSettled(s, (c) => c === n - 1), n - 1)
  })
})

describe('bad input', () => {
  test('ranges beyond the end, oversize and mismatched ranges, bad checksums: Azure errors, the file unchanged, no content left', async () => {
    await o.create('data/r.bin', 1000)
    await o.put('data/r.bin', 0, bytes(1000, 3))
    const files = fileContent(s).length
    const unchanged = async () => {
      assert.ok((await o.get('data/r.bin')).body.equals(bytes(1000, 3)))
      assert.equal(fileContent(s).length, files)
    }
    expectStorageError(await o.put('data/r.bin', 990, bytes(20)), 416, 'InvalidRange')
    expectStorageError(await o.get('data/r.bin', { 'x-ms-range': 'bytes=1000-1010' }), 416, 'InvalidRange')
    expectStorageError(
      await o.put('data/r.bin', 0, bytes(10), { 'x-ms-range': 'bytes=0-19' }),
      400,
      'InvalidHeaderValue',
    )
    expectStorageError(
      await o.put('data/r.bin', 0, bytes(10), { 'content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==' }),
      400,
      'Md5Mismatch',
    )
    expectStorageError(
      await o.put('data/r.bin', 0, bytes(10), { 'x-ms-content-crc64': 'AAAAAAAAAAA=' }),
      400,
      'Crc64Mismatch',
    )
    expectStorageError(
      await o.put('data/r.bin', 0, bytes(10), { 'x-ms-range': 'bytes=9-0' }),
      400,
      'InvalidHeaderValue',
    )
    expectStorageError(await o.put('data/r.bin', 0, bytes(10), { 'x-ms-range': 'bytes=0-' }), 400, 'InvalidHeaderValue')
    expectStorageError(await o.put('data/r.bin', 0, bytes(10), { 'x-ms-write': 'append' }), 400, 'InvalidHeaderValue')
    expectStorageError(
      await f.call({
        method: 'PUT',
        path: '/data/r.bin?comp=range',
        headers: { 'x-ms-range': 'bytes=0-9' },
        body: bytes(10),
      }),
      400,
      'MissingRequiredHeader',
    )
    await unchanged()
    // Over 4 MiB in one Put Range: 413, refused before the body is read.
    await o.create('data/big.bin', 5 * 1024 * 1024)
    const big = await o.put('data/big.bin', 0, Buffer.alloc(4 * 1024 * 1024 + 1))
    expectStorageError(big, 413, 'RequestBodyTooLarge')
    assert.equal(fileContent(s).length, files)
  })

  test('malformed headers and names Azure refuses', async () => {
    expectStorageError(
      await f.call({ method: 'PUT', path: '/data/x.bin', headers: { 'x-ms-content-length': '1' } }),
      400,
      'MissingRequiredHeader',
    )
    expectStorageError(await o.create('data/x.bin', 1, { 'x-ms-type': 'directory' }), 400, 'InvalidHeaderValue')
    expectStorageError(await o.create('data/x.bin', 1, { 'x-ms-content-length': '-1' }), 400, 'InvalidHeaderValue')
    expectStorageError(
      await o.create('data/x.bin', 1, { 'x-ms-content-length': String(5 * 1024 ** 4) }),
      400,
      'InvalidHeaderValue',
    )
    expectStorageError(
      await o.create('data/x.bin', 1, { 'x-ms-file-attributes': 'Sparkly' }),
      400,
      'InvalidHeaderValue',
    )
    expectStorageError(
      await o.create('data/x.bin', 1, { 'x-ms-file-attributes': 'Directory' }),
      400,
      'InvalidHeaderValue',
    )
    expectStorageError(
      await o.create('data/x.bin', 1, { 'x-ms-file-creation-time': 'yesterday' }),
      400,
      'InvalidHeaderValue',
    )
    expectStorageError(
      await o.create('data/x.bin', 1, { 'x-ms-file-permission': 'preserve' }),
      400,
      'InvalidHeaderValue',
    )
    expectStorageError(await o.create('data/x.bin', 1, { 'x-ms-meta-1bad': 'v' }), 400, 'InvalidMetadata')
    expectStorageError(await o.create('data/a%3Ab.txt', 1), 400, 'InvalidResourceName')
    expectStorageError(await o.create('data/a%7Cb.txt', 1), 400, 'InvalidResourceName')
    expectStorageError(await o.create(`data/${'n'.repeat(256)}`, 1), 400, 'OutOfRangeInput')
    expectStorageError(await o.create(`data/${'d/'.repeat(251)}x`, 1), 400, 'InvalidFileOrDirectoryPathName')
    expectStorageError(await o.share('Bad_Share'), 400, 'InvalidResourceName')
    expectStorageError(await o.share('ab'), 400, 'OutOfRangeInput')
    expectStorageError(
      await f.call({ method: 'PUT', path: '/data?restype=share', headers: { 'x-ms-share-quota': '0' } }),
      400,
      'InvalidHeaderValue',
    )
    expectStorageError(
      await f.call({ method: 'PUT', path: '/nfsshare?restype=share', headers: { 'x-ms-enabled-protocols': 'NFS' } }),
      501,
      'NotImplemented',
    )
    expectStorageError(await f.call({ method: 'PATCH', path: '/data/x.bin' }), 405, 'UnsupportedHttpVerb')
    expectStorageError(
      await f.call({ method: 'GET', path: '/data/x.bin?comp=bogus' }),
      400,
      'InvalidQueryParameterValue',
    )
    expectStorageError(
      await f.call({
        method: 'PUT',
        path: '/data/x.bin',
        headers: { 'x-ms-type': 'file', 'x-ms-content-length': '1', 'x-ms-copy-source': 'https://x/y' },
      }),
      501,
      'NotImplemented',
    )
    expectStorageError(
      await f.call({ method: 'GET', path: '/data/x.bin', headers: { 'x-ms-version': 'yesterday' } }),
      400,
      'InvalidHeaderValue',
    )
    // Trailing dots are trimmed unless the client allows them (x-ms-allow-trailing-dot).
    assert.equal((await o.create('data/dots...', 1)).status, 201)
    assert.equal((await f.call({ method: 'HEAD', path: '/data/dots' })).status, 200)
    assert.equal((await o.create('data/kept.', 1, { 'x-ms-allow-trailing-dot': 'true' })).status, 201)
    assert.equal(
      (await f.call({ method: 'HEAD', path: '/data/kept.', headers: { 'x-ms-allow-trailing-dot': 'true' } })).status,
      200,
    )
    assert.equal((await f.call({ method: 'HEAD', path: '/data/kept' })).status, 404)
  })

  test('a Put Range the client abandons leaves the file as it was and no content behind', async () => {
    await o.create('data/cut.bin', 100_000)
    const { request } = await import('node:https')
    const url = new URL(`${f.base}/data/cut.bin?comp=range`)
    // Sign nothing: a SAS from ARM makes the request self-contained.
    const sas = await acct.arm.post(`${acct.id}/ListServiceSas`, '2024-01-01', {
      canonicalizedResource: `/file/${acct.name}/data/cut.bin`,
      signedResource: 'f',
      signedPermission: 'rw',
      signedExpiry: new Date(Date.now() + 3600_000).toISOString(),
    })
    const token = sas.json<{ serviceSasToken: string }>().serviceSasToken
    const files = fileContent(s).length
    await new Promise<void>((resolve) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}&${token}`,
        method: 'PUT',
        ca: s.ca,
        headers: {
          'x-ms-version': '2026-04-06',
          'x-ms-write': 'update',
          'x-ms-range': 'bytes=0-99999',
          'content-length': '100000',
        },
      })
      req.on('error', () => resolve())
      req.write(bytes(50_000, 9))
      setTimeout(() => {
        req.destroy()
        resolve()
      }, 100)
    })
    // The partial extent goes once the server sees the connection drop.
    assert.equal(await fileContentSettled(s, (c) => c === files), files)
    assert.ok((await o.get('data/cut.bin')).body.equals(Buffer.alloc(100_000)))
    const ranges = await f.call({ method: 'GET', path: '/data/cut.bin?comp=rangelist' })
    assert.equal(ranges.text, '<?xml version="1.0" encoding="utf-8"?><Ranges></Ranges>')
  })
})
