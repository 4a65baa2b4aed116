// Blob service operations on the wire (issue 5 §2 and "Bad input"): containers (ARM child resources), Put Blob, Put
// Block / Put Block List / Get Block List, Get Blob with ranges and conditions, properties and metadata, List Blobs
// (prefix, delimiter, marker, maxresults, include), Copy Blob, Delete; MD5 and CRC-64 checks; names Azure refuses.
// Requirements: STG-005, STG-007, STG-010.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, test } from 'node:test'
import { crc64 } from '../../../src/dataplane/storage/index.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { V } from '../arm/helpers.ts'
import { type Account, type Blob, blobApi, contentFiles, createAccount, expectStorageError } from './helpers.ts'

let s: TestServer
let acct: Account
let api: Blob

const b64 = (s: string) => Buffer.from(s).toString('base64')
const md5 = (b: string | Buffer) => createHash('md5').update(b).digest('base64')
const put = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  api.call({ method: 'PUT', path, headers: { 'x-ms-blob-type': 'BlockBlob', ...headers }, body })

before(async () => {
  s = await startTestServer()
  acct = await createAccount(s, 'opsacct')
  api = blobApi(s, acct)
})
after(() => s.stop())

test('containers: create, duplicate, names Azure refuses, properties, metadata (case kept), delete', async () => {
  const created = await api.call({
    method: 'PUT',
    path: '/photos?restype=container',
    headers: { 'x-ms-meta-Owner': 'Alice' },
  })
  assert.equal(created.status, 201, created.text)
  assert.match(String(created.headers.etag), /^"0x8D[0-9A-F]{13}"$/)
  assert.ok(created.headers['last-modified'])
  expectStorageError(
    await api.call({ method: 'PUT', path: '/photos?restype=container' }),
    409,
    'ContainerAlreadyExists',
    {
      message: 'The specified container already exists.',
    },
  )
  expectStorageError(
    await api.call({ method: 'PUT', path: '/Bad_Name?restype=container' }),
    400,
    'InvalidResourceName',
    {
      message: 'The specifed resource name contains invalid characters.',
    },
  )
  expectStorageError(await api.call({ method: 'PUT', path: '/ab?restype=container' }), 400, 'OutOfRangeInput')
  expectStorageError(await api.call({ method: 'PUT', path: '/a--b?restype=container' }), 400, 'InvalidResourceName')
  const props = await api.call({ method: 'GET', path: '/photos?restype=container' })
  assert.equal(props.status, 200)
  assert.equal(props.headers['x-ms-meta-owner'], 'Alice')
  assert.equal(props.headers['x-ms-lease-state'], 'available')
  const meta = await api.call({
    method: 'PUT',
    path: '/photos?restype=container&comp=metadata',
    headers: { 'x-ms-meta-Team': 'x' },
  })
  assert.equal(meta.status, 200)
  assert.notEqual(meta.headers.etag, created.headers.etag)
  const after = await api.call({ method: 'HEAD', path: '/photos?restype=container&comp=metadata' })
  assert.equal(after.headers['x-ms-meta-team'], 'x')
  assert.equal(after.headers['x-ms-meta-owner'], undefined, 'Set Container Metadata replaces all metadata')
  // Containers are ARM resources: ARM sees this one, with its metadata.
  const viaArm = await acct.arm.get(`${acct.id}/blobServices/default/containers/photos`, V.storage)
  assert.equal(viaArm.status, 200, viaArm.text)
  assert.deepEqual(viaArm.json<{ properties: { metadata: unknown } }>().properties.metadata, { Team: 'x' })
  expectStorageError(
    await api.call({
      method: 'PUT',
      path: '/photos?restype=container&comp=metadata',
      headers: { 'x-ms-meta-1bad': 'x' },
    }),
    400,
    'InvalidMetadata',
  )
  assert.equal((await api.call({ method: 'DELETE', path: '/photos?restype=container' })).status, 202)
  expectStorageError(await api.call({ method: 'GET', path: '/photos?restype=container' }), 404, 'ContainerNotFound', {
    message: 'The specified container does not exist.',
  })
  expectStorageError(await api.call({ method: 'DELETE', path: '/photos?restype=container' }), 404, 'ContainerNotFound')
})

test('List Containers: prefix, maxresults, marker, include=metadata; ARM-created containers are listed', async () => {
  for (const n of ['list-a1', 'list-a2', 'list-b1'])
    assert.equal(
      (await api.call({ method: 'PUT', path: `/${n}?restype=container`, headers: { 'x-ms-meta-n': n } })).status,
      201,
    )
  assert.equal(
    (
      await acct.arm.put(`${acct.id}/blobServices/default/containers/list-arm`, V.storage, {
        properties: { metadata: { via: 'arm' } },
      })
    ).status,
    201,
  )
  const page1 = await api.call({ method: 'GET', path: '/?comp=list&prefix=list-&maxresults=2&include=metadata' })
  assert.equal(page1.status, 200)
  assert.match(
    page1.text,
    /^<\?xml version="1\.0" encoding="utf-8"\?><EnumerationResults ServiceEndpoint="https:\/\/127\.0\.0\.1:\d+\/opsacct\/"><Prefix>list-<\/Prefix><MaxResults>2<\/MaxResults><Containers><Container><Name>list-a1<\/Name>/,
  )
  assert.match(page1.text, /<Metadata><n>list-a1<\/n><\/Metadata>/)
  assert.match(page1.text, /<NextMarker>list-arm<\/NextMarker><\/EnumerationResults>$/)
  const page2 = await api.call({
    method: 'GET',
    path: '/?comp=list&prefix=list-&maxresults=2&marker=list-arm&include=metadata',
  })
  const names = [...page2.text.matchAll(/<Name>([^<]+)<\/Name>/g)].map((m) => m[1])
  assert.deepEqual(names, ['list-arm', 'list-b1'])
  assert.match(page2.text, /<Metadata><via>arm<\/via><\/Metadata>/)
  assert.match(page2.text, /<NextMarker \/>/)
  expectStorageError(
    await api.call({ method: 'GET', path: '/?comp=list&maxresults=0' }),
    400,
    'InvalidQueryParameterValue',
  )
})

test('Put Blob and Get Blob: MD5, properties, ranges (206, 416), x-ms-range, HEAD', async () => {
  assert.equal((await api.call({ method: 'PUT', path: '/docs?restype=container' })).status, 201)
  const body = 'The quick brown fox jumps over the lazy dog'
  const r = await put('/docs/fox.txt', body, {
    'content-type': 'text/plain',
    'x-ms-meta-Kind': 'sentence',
    'x-ms-blob-cache-control': 'no-cache',
  })
  assert.equal(r.status, 201, r.text)
  assert.equal(r.headers['content-md5'], md5(body))
  assert.equal(r.headers['x-ms-request-server-encrypted'], 'true')
  const got = await api.call({ method: 'GET', path: '/docs/fox.txt' })
  assert.equal(got.status, 200)
  assert.equal(got.text, body)
  assert.equal(got.headers['content-type'], 'text/plain')
  assert.equal(got.headers['content-md5'], md5(body))
  assert.equal(got.headers['cache-control'], 'no-cache')
  assert.equal(got.headers['x-ms-blob-type'], 'BlockBlob')
  assert.equal(got.headers['x-ms-meta-kind'], 'sentence')
  assert.equal(got.headers.etag, r.headers.etag)
  const range = await api.call({ method: 'GET', path: '/docs/fox.txt', headers: { range: 'bytes=4-8' } })
  assert.equal(range.status, 206)
  assert.equal(range.text, 'quick')
  assert.equal(range.headers['content-range'], `bytes 4-8/${body.length}`)
  assert.equal(range.headers['content-md5'], undefined)
  const xms = await api.call({
    method: 'GET',
    path: '/docs/fox.txt',
    headers: { 'x-ms-range': 'bytes=40-', range: 'bytes=0-0', 'x-ms-range-get-content-md5': 'true' },
  })
  assert.equal(xms.status, 206)
  assert.equal(xms.text, 'dog')
  assert.equal(xms.headers['content-md5'], md5('dog'))
  const past = await api.call({ method: 'GET', path: '/docs/fox.txt', headers: { 'x-ms-range': 'bytes=30-1000' } })
  assert.equal(past.text, body.slice(30))
  const beyond = await api.call({
    method: 'GET',
    path: '/docs/fox.txt',
    headers: { 'x-ms-range': `bytes=${body.length}-` },
  })
  expectStorageError(beyond, 416, 'InvalidRange', {
    message: 'The range specified is invalid for the current size of the resource.',
  })
  assert.equal(beyond.headers['content-range'], `bytes */${body.length}`)
  expectStorageError(
    await api.call({ method: 'GET', path: '/docs/fox.txt', headers: { 'x-ms-range': 'bytes=x-1' } }),
    400,
    'InvalidHeaderValue',
  )
  const head = await api.call({ method: 'HEAD', path: '/docs/fox.txt' })
  assert.equal(head.status, 200)
  assert.equal(head.headers['content-length'], String(body.length))
  assert.equal(head.headers['x-ms-access-tier'], 'Hot')
  assert.equal(head.text, '')
  // An empty blob, and its range 416.
  assert.equal((await put('/docs/empty', '')).status, 201)
  const empty = await api.call({ method: 'GET', path: '/docs/empty' })
  assert.equal(empty.status, 200)
  assert.equal(empty.text, '')
  expectStorageError(
    await api.call({ method: 'GET', path: '/docs/empty', headers: { 'x-ms-range': 'bytes=0-' } }),
    416,
    'InvalidRange',
  )
})

test('conditional requests: If-None-Match *, If-Match, 304 on reads, 412 ConditionNotMet on writes', async () => {
  const first = await put('/docs/cond.txt', 'v1')
  const etag = String(first.headers.etag)
  expectStorageError(await put('/docs/cond.txt', 'v2', { 'if-none-match': '*' }), 412, 'ConditionNotMet', {
    message: 'The condition specified using HTTP conditional header(s) is not met.',
  })
  expectStorageError(await put('/docs/cond.txt', 'v2', { 'if-match': '"0x8D0000000000000"' }), 412, 'ConditionNotMet')
  assert.equal((await put('/docs/cond-new.txt', 'n', { 'if-none-match': '*' })).status, 201)
  const ok = await put('/docs/cond.txt', 'v2', { 'if-match': etag })
  assert.equal(ok.status, 201)
  const notModified = await api.call({
    method: 'GET',
    path: '/docs/cond.txt',
    headers: { 'if-none-match': String(ok.headers.etag) },
  })
  assert.equal(notModified.status, 304)
  assert.equal(notModified.text, '')
  expectStorageError(
    await api.call({ method: 'GET', path: '/docs/cond.txt', headers: { 'if-match': etag } }),
    412,
    'ConditionNotMet',
  )
  expectStorageError(
    await api.call({ method: 'DELETE', path: '/docs/cond.txt', headers: { 'if-match': etag } }),
    412,
    'ConditionNotMet',
  )
  assert.equal((await api.call({ method: 'GET', path: '/docs/cond.txt' })).text, 'v2', 'nothing changed')
})

test('integrity: Content-MD5 and x-ms-content-crc64 are checked; mismatches are 400 and store nothing', async () => {
  const body = 'integrity matters'
  const bad = await put('/docs/md5.txt', body, { 'content-md5': md5('something else') })
  expectStorageError(bad, 400, 'Md5Mismatch')
  assert.match(
    bad.text,
    new RegExp(
      `<UserSpecifiedMd5>${md5('something else').replace(/[+/]/g, '\\$&')}</UserSpecifiedMd5><ServerCalculatedMd5>${md5(body).replace(/[+/]/g, '\\$&')}</ServerCalculatedMd5>`,
    ),
  )
  expectStorageError(await api.call({ method: 'GET', path: '/docs/md5.txt' }), 404, 'BlobNotFound')
  expectStorageError(await put('/docs/md5.txt', body, { 'content-md5': 'not-base64' }), 400, 'InvalidMd5')
  const crc = crc64(Buffer.from(body)).toString('base64')
  const good = await put('/docs/crc.txt', body, { 'x-ms-content-crc64': crc })
  assert.equal(good.status, 201, good.text)
  assert.equal(good.headers['x-ms-content-crc64'], crc)
  expectStorageError(
    await put('/docs/crc2.txt', body, { 'x-ms-content-crc64': crc64(Buffer.from('x')).toString('base64') }),
    400,
    'Crc64Mismatch',
  )
  const block = await api.call({
    method: 'PUT',
    path: `/docs/crc3.txt?comp=block&blockid=${encodeURIComponent(b64('000'))}`,
    headers: { 'content-md5': md5('nope') },
    body,
  })
  expectStorageError(block, 400, 'Md5Mismatch')
  // Blocks echo a Content-MD5 only when one was sent (2019-02-02 and later).
  const echo = await api.call({
    method: 'PUT',
    path: `/docs/crc3.txt?comp=block&blockid=${encodeURIComponent(b64('000'))}`,
    headers: { 'content-md5': md5(body) },
    body,
  })
  assert.equal(echo.status, 201)
  assert.equal(echo.headers['content-md5'], md5(body))
})

test('blocks: Put Block, Put Block List (Latest/Committed/Uncommitted), Get Block List, and refusals', async () => {
  const id = (n: number) => encodeURIComponent(b64(`block-${String(n).padStart(3, '0')}`))
  for (const [n, text] of [
    [1, 'one-'],
    [2, 'two-'],
    [3, 'three'],
  ] as const)
    assert.equal(
      (await api.call({ method: 'PUT', path: `/docs/blocks.txt?comp=block&blockid=${id(n)}`, body: text })).status,
      201,
    )
  expectStorageError(await api.call({ method: 'GET', path: '/docs/blocks.txt' }), 404, 'BlobNotFound', {
    message: 'The specified blob does not exist.',
  })
  const staged = await api.call({ method: 'GET', path: '/docs/blocks.txt?comp=blocklist&blocklisttype=all' })
  assert.equal(staged.status, 200)
  assert.match(
    staged.text,
    /<CommittedBlocks><\/CommittedBlocks><UncommittedBlocks><Block><Name>YmxvY2stMDAx<\/Name><Size>4<\/Size><\/Block>/,
  )
  // Bad ids: not base64, and a different length from the staged ones.
  expectStorageError(
    await api.call({ method: 'PUT', path: '/docs/blocks.txt?comp=block&blockid=%25%25%25', body: 'x' }),
    400,
    'InvalidBlockId',
  )
  expectStorageError(
    await api.call({
      method: 'PUT',
      path: `/docs/blocks.txt?comp=block&blockid=${encodeURIComponent(b64('short'))}`,
      body: 'x',
    }),
    400,
    'InvalidBlockId',
  )
  expectStorageError(
    await api.call({ method: 'PUT', path: '/docs/blocks.txt?comp=block', body: 'x' }),
    400,
    'MissingRequiredQueryParameter',
  )
  const list = (xml: string, headers: Record<string, string> = {}) =>
    api.call({ method: 'PUT', path: '/docs/blocks.txt?comp=blocklist', body: xml, headers })
  const xml = (items: string) => `<?xml version="1.0" encoding="utf-8"?><BlockList>${items}</BlockList>`
  expectStorageError(
    await list(xml(`<Latest>${b64('block-001')}</Latest><Latest>${b64('block-009')}</Latest>`)),
    400,
    'InvalidBlockList',
    {
      message: 'The specified block list is invalid.',
    },
  )
  expectStorageError(await list('<BlockList><Latest>'), 400, 'InvalidXmlDocument')
  expectStorageError(await list(xml('<Other>x</Other>')), 400, 'InvalidXmlNodeValue')
  expectStorageError(
    await list(xml(`<Latest>${b64('block-001')}</Latest><Latest>${b64('x')}</Latest>`)),
    400,
    'InvalidBlockList',
  )
  expectStorageError(await api.call({ method: 'GET', path: '/docs/blocks.txt' }), 404, 'BlobNotFound', {
    message: 'The specified blob does not exist.',
  })
  const committed = await list(
    xml(`<Latest>${b64('block-001')}</Latest><Uncommitted>${b64('block-003')}</Uncommitted>`),
    {
      'x-ms-blob-content-type': 'text/plain',
      'x-ms-meta-parts': '2',
    },
  )
  assert.equal(committed.status, 201, committed.text)
  const got = await api.call({ method: 'GET', path: '/docs/blocks.txt' })
  assert.equal(got.text, 'one-three')
  assert.equal(got.headers['content-type'], 'text/plain')
  assert.equal(got.headers['content-md5'], undefined, 'no MD5 unless x-ms-blob-content-md5 is given')
  // Uncommitted block 2 was discarded by the commit.
  const after = await api.call({ method: 'GET', path: '/docs/blocks.txt?comp=blocklist&blocklisttype=all' })
  assert.match(
    after.text,
    /<CommittedBlocks><Block><Name>YmxvY2stMDAx<\/Name><Size>4<\/Size><\/Block><Block><Name>YmxvY2stMDAz<\/Name><Size>5<\/Size><\/Block><\/CommittedBlocks><UncommittedBlocks><\/UncommittedBlocks>/,
  )
  assert.equal(after.headers['x-ms-blob-content-length'], '9')
  // Recommit: a committed block, a new one; Uncommitted may not name a committed block.
  assert.equal(
    (await api.call({ method: 'PUT', path: `/docs/blocks.txt?comp=block&blockid=${id(4)}`, body: '-four' })).status,
    201,
  )
  expectStorageError(await list(xml(`<Uncommitted>${b64('block-001')}</Uncommitted>`)), 400, 'InvalidBlockList')
  const again = await list(xml(`<Committed>${b64('block-003')}</Committed><Latest>${b64('block-004')}</Latest>`), {
    'x-ms-blob-content-md5': md5('three-four'),
  })
  assert.equal(again.status, 201, again.text)
  const final = await api.call({ method: 'GET', path: '/docs/blocks.txt' })
  assert.equal(final.text, 'three-four')
  assert.equal(final.headers['content-md5'], md5('three-four'))
  expectStorageError(
    await api.call({ method: 'GET', path: '/docs/blocks.txt?comp=blocklist&blocklisttype=some' }),
    400,
    'InvalidQueryParameterValue',
  )
  // 50,001 entries: too long.
  const many = xml(`<Latest>${b64('block-001')}</Latest>`.repeat(50_001))
  expectStorageError(await list(many), 400, 'BlockListTooLong')
})

test('metadata and properties: Set Blob Metadata replaces, Set Blob Properties clears what it does not set', async () => {
  await put('/docs/props.txt', 'p', {
    'x-ms-blob-content-type': 'text/x-a',
    'x-ms-blob-content-language': 'en',
    'x-ms-meta-a': '1',
  })
  assert.equal(
    (await api.call({ method: 'PUT', path: '/docs/props.txt?comp=metadata', headers: { 'x-ms-meta-B': '2' } })).status,
    200,
  )
  const m = await api.call({ method: 'GET', path: '/docs/props.txt?comp=metadata' })
  assert.equal(m.headers['x-ms-meta-b'], '2')
  assert.equal(m.headers['x-ms-meta-a'], undefined)
  assert.equal(
    (
      await api.call({
        method: 'PUT',
        path: '/docs/props.txt?comp=properties',
        headers: { 'x-ms-blob-content-type': 'text/x-b' },
      })
    ).status,
    200,
  )
  const h = await api.call({ method: 'HEAD', path: '/docs/props.txt' })
  assert.equal(h.headers['content-type'], 'text/x-b')
  assert.equal(h.headers['content-language'], undefined)
  assert.equal(h.headers['x-ms-meta-b'], '2', 'properties do not touch metadata')
  expectStorageError(await api.call({ method: 'PUT', path: '/docs/nope.txt?comp=metadata' }), 404, 'BlobNotFound')
  expectStorageError(
    await api.call({ method: 'PUT', path: '/nocontainer/nope.txt?comp=metadata' }),
    404,
    'ContainerNotFound',
  )
})

test('List Blobs: prefix, delimiter (BlobPrefix), maxresults and marker paging, include=metadata', async () => {
  assert.equal((await api.call({ method: 'PUT', path: '/tree?restype=container' })).status, 201)
  for (const n of ['a.txt', 'dir1/x.txt', 'dir1/y.txt', 'dir1/sub/z.txt', 'dir2/w.txt', 'e.txt'])
    assert.equal((await put(`/tree/${n}`, n, { 'x-ms-meta-name': n.replace(/\W/g, '_') })).status, 201)
  const names = (text: string) =>
    [...text.matchAll(/<(Blob|BlobPrefix)><Name>([^<]+)<\/Name>/g)].map(
      (m) => `${m[1] === 'BlobPrefix' ? 'P:' : ''}${m[2]}`,
    )
  const top = await api.call({ method: 'GET', path: '/tree?restype=container&comp=list&delimiter=%2F' })
  assert.equal(top.status, 200)
  assert.deepEqual(names(top.text), ['a.txt', 'P:dir1/', 'P:dir2/', 'e.txt'])
  assert.match(top.text, /ContainerName="tree"><Delimiter>\/<\/Delimiter><Blobs>/)
  const dir1 = await api.call({ method: 'GET', path: '/tree?restype=container&comp=list&delimiter=%2F&prefix=dir1%2F' })
  assert.deepEqual(names(dir1.text), ['P:dir1/sub/', 'dir1/x.txt', 'dir1/y.txt'])
  const flat: string[] = []
  let marker = ''
  for (let i = 0; i < 10; i++) {
    const page = await api.call({
      method: 'GET',
      path: `/tree?restype=container&comp=list&maxresults=2&include=metadata${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`,
    })
    assert.equal(page.status, 200, page.text)
    flat.push(...names(page.text))
    marker = /<NextMarker>([^<]*)<\/NextMarker>/.exec(page.text)?.[1] ?? ''
    if (!marker) break
  }
  assert.deepEqual(flat, ['a.txt', 'dir1/sub/z.txt', 'dir1/x.txt', 'dir1/y.txt', 'dir2/w.txt', 'e.txt'])
  const withMeta = await api.call({
    method: 'GET',
    path: '/tree?restype=container&comp=list&prefix=e&include=metadata',
  })
  assert.match(
    withMeta.text,
    /<Blob><Name>e\.txt<\/Name><Properties><Creation-Time>[^<]+<\/Creation-Time><Last-Modified>[^<]+<\/Last-Modified><Etag>0x8D[0-9A-F]{13}<\/Etag><Content-Length>5<\/Content-Length><Content-Type>application\/octet-stream<\/Content-Type>.*<BlobType>BlockBlob<\/BlobType>.*<\/Properties><Metadata><name>e_txt<\/name><\/Metadata><\/Blob>/,
  )
  const delimPaged = await api.call({
    method: 'GET',
    path: '/tree?restype=container&comp=list&delimiter=%2F&maxresults=2',
  })
  assert.deepEqual(names(delimPaged.text), ['a.txt', 'P:dir1/'])
  assert.match(delimPaged.text, /<NextMarker>dir2\/w\.txt<\/NextMarker>/)
  expectStorageError(
    await api.call({ method: 'GET', path: '/tree?restype=container&comp=list&include=bogus' }),
    400,
    'InvalidQueryParameterValue',
  )
  expectStorageError(
    await api.call({ method: 'GET', path: '/missing?restype=container&comp=list' }),
    404,
    'ContainerNotFound',
  )
})

test('names: escaped characters round-trip and sign; over 1024 characters is refused', async () => {
  const name = 'spaced name/ünïcödé+plus%percent&amp.txt'
  const path = `/docs/${name.split('/').map(encodeURIComponent).join('/')}`
  assert.equal((await put(path, 'odd')).status, 201)
  assert.equal((await api.call({ method: 'GET', path })).text, 'odd')
  const listed = await api.call({ method: 'GET', path: '/docs?restype=container&comp=list&prefix=spaced' })
  assert.match(listed.text, /<Name>spaced name\/ünïcödé\+plus%percent&amp;amp\.txt<\/Name>/)
  expectStorageError(await put(`/docs/${'n'.repeat(1025)}`, 'x'), 400, 'OutOfRangeInput')
})

test('Copy Blob (same account, and from a SAS URL of another account), Put Block From URL, Abort Copy', async () => {
  const src = await put('/docs/source.bin', Buffer.alloc(100_000, 3), {
    'x-ms-meta-origin': 'src',
    'content-type': 'application/x-src',
  })
  assert.equal(src.status, 201)
  const copy = await api.call({
    method: 'PUT',
    path: '/docs/copy.bin',
    headers: { 'x-ms-copy-source': `${api.base}/docs/source.bin` },
  })
  assert.equal(copy.status, 202, copy.text)
  assert.equal(copy.headers['x-ms-copy-status'], 'success')
  const got = await api.call({ method: 'GET', path: '/docs/copy.bin' })
  assert.ok(got.body.equals(Buffer.alloc(100_000, 3)))
  assert.equal(got.headers['x-ms-meta-origin'], 'src')
  assert.equal(got.headers['content-type'], 'application/x-src')
  assert.equal(got.headers['x-ms-copy-id'], copy.headers['x-ms-copy-id'])
  assert.equal(got.headers['x-ms-copy-source'], `${api.base}/docs/source.bin`)
  // Overwriting the source leaves the copy untouched (content files are immutable; the copy links them).
  await put('/docs/source.bin', 'changed')
  assert.ok((await api.call({ method: 'GET', path: '/docs/copy.bin' })).body.equals(Buffer.alloc(100_000, 3)))
  // Another account's blob through a SAS in the source URL; without one the source cannot be verified.
  const other = await createAccount(s, 'othercopy')
  const oapi = blobApi(s, other)
  assert.equal((await oapi.call({ method: 'PUT', path: '/pub?restype=container' })).status, 201)
  assert.equal(
    (
      await oapi.call({
        method: 'PUT',
        path: '/pub/o.txt',
        headers: { 'x-ms-blob-type': 'BlockBlob' },
        body: 'from other',
      })
    ).status,
    201,
  )
  const { BlobSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } = await import(
    '@azure/storage-blob'
  )
  const sas = generateBlobSASQueryParameters(
    {
      containerName: 'pub',
      blobName: 'o.txt',
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    new StorageSharedKeyCredential(other.name, other.key),
  ).toString()
  const cross = await api.call({
    method: 'PUT',
    path: '/docs/cross.txt',
    headers: { 'x-ms-copy-source': `https://othercopy.blob.core.windows.net/pub/o.txt?${sas}` },
  })
  assert.equal(cross.status, 202, cross.text)
  assert.equal((await api.call({ method: 'GET', path: '/docs/cross.txt' })).text, 'from other')
  const unverified = await api.call({
    method: 'PUT',
    path: '/docs/cross2.txt',
    headers: { 'x-ms-copy-source': `${oapi.base}/pub/o.txt` },
  })
  expectStorageError(unverified, 403, 'CannotVerifyCopySource')
  const missing = await api.call({
    method: 'PUT',
    path: '/docs/cross3.txt',
    headers: { 'x-ms-copy-source': `${api.base}/docs/nothing-here` },
  })
  expectStorageError(missing, 404, 'CannotVerifyCopySource', { message: 'The specified blob does not exist.' })
  expectStorageError(
    await api.call({
      method: 'PUT',
      path: '/docs/cross4.txt',
      headers: { 'x-ms-copy-source': 'https://example.com/x/y' },
    }),
    501,
    'NotImplemented',
  )
  // Put Block From URL with a source range, then commit.
  const blk = await api.call({
    method: 'PUT',
    path: `/docs/assembled.txt?comp=block&blockid=${encodeURIComponent(b64('b1'))}`,
    headers: { 'x-ms-copy-source': `${api.base}/docs/cross.txt`, 'x-ms-source-range': 'bytes=5-9' },
  })
  assert.equal(blk.status, 201, blk.text)
  const commit = await api.call({
    method: 'PUT',
    path: '/docs/assembled.txt?comp=blocklist',
    body: `<BlockList><Latest>${b64('b1')}</Latest></BlockList>`,
  })
  assert.equal(commit.status, 201, commit.text)
  assert.equal((await api.call({ method: 'GET', path: '/docs/assembled.txt' })).text, 'other')
  expectStorageError(
    await api.call({
      method: 'PUT',
      path: '/docs/copy.bin?comp=copy&copyid=x',
      headers: { 'x-ms-copy-action': 'abort' },
    }),
    409,
    'NoPendingCopyOperation',
  )
})

test('Delete Blob removes the blob and its content files; deleting a container through ARM takes its blobs', async () => {
  assert.equal((await api.call({ method: 'PUT', path: '/gone?restype=container' })).status, 201)
  const before = contentFiles(s).length
  assert.equal((await put('/gone/a.bin', Buffer.alloc(1000, 1))).status, 201)
  assert.equal((await put('/gone/b.bin', Buffer.alloc(1000, 2))).status, 201)
  assert.equal(contentFiles(s).length, before + 2)
  const del = await api.call({ method: 'DELETE', path: '/gone/a.bin' })
  assert.equal(del.status, 202)
  expectStorageError(await api.call({ method: 'GET', path: '/gone/a.bin' }), 404, 'BlobNotFound')
  expectStorageError(await api.call({ method: 'DELETE', path: '/gone/a.bin' }), 404, 'BlobNotFound')
  const waitFor = async (n: number) => {
    for (let i = 0; i < 100 && contentFiles(s).length !== n; i++) await new Promise((r) => setTimeout(r, 20))
    assert.equal(contentFiles(s).length, n)
  }
  await waitFor(before + 1)
  assert.equal((await acct.arm.del(`${acct.id}/blobServices/default/containers/gone`, V.storage)).status, 200)
  await waitFor(before)
  expectStorageError(await api.call({ method: 'GET', path: '/gone/b.bin' }), 404, 'ContainerNotFound')
  // A container of the same name starts empty.
  assert.equal((await api.call({ method: 'PUT', path: '/gone?restype=container' })).status, 201)
  expectStorageError(await api.call({ method: 'GET', path: '/gone/b.bin' }), 404, 'BlobNotFound')
})

test('Get Account Information and service properties', async () => {
  const info = await api.call({ method: 'GET', path: '/?restype=account&comp=properties' })
  assert.equal(info.status, 200)
  assert.equal(info.headers['x-ms-sku-name'], 'Standard_LRS')
  assert.equal(info.headers['x-ms-account-kind'], 'StorageV2')
  assert.equal(info.headers['x-ms-is-hns-enabled'], 'false')
  const props = await api.call({ method: 'GET', path: '/?restype=service&comp=properties' })
  assert.equal(props.status, 200)
  assert.match(props.text, /^<\?xml version="1\.0" encoding="utf-8"\?><StorageServiceProperties><Logging>/)
  expectStorageError(
    await api.call({ method: 'PUT', path: '/?restype=service&comp=properties', body: '<StorageServiceProperties/>' }),
    501,
    'NotImplemented',
  )
})

test('Put Blob refusals: no x-ms-blob-type, page and append blobs, unsupported headers, no Content-Length', async () => {
  expectStorageError(await api.call({ method: 'PUT', path: '/docs/t.txt', body: 'x' }), 400, 'MissingRequiredHeader')
  expectStorageError(await put('/docs/t.txt', 'x', { 'x-ms-blob-type': 'PageBlob' }), 501, 'NotImplemented')
  expectStorageError(await put('/docs/t.txt', 'x', { 'x-ms-blob-type': 'Weird' }), 400, 'InvalidHeaderValue')
  expectStorageError(await put('/docs/t.txt', 'x', { 'x-ms-tags': 'a=b' }), 501, 'NotImplemented')
  expectStorageError(await put('/docs/t.txt', 'x', { 'x-ms-lease-id': 'abc' }), 501, 'NotImplemented')
  expectStorageError(await put('/nocontainer/t.txt', 'x'), 404, 'ContainerNotFound')
  const chunked = await api.call({
    method: 'PUT',
    path: '/docs/t.txt',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'x',
    chunked: true,
  })
  expectStorageError(chunked, 411, 'MissingContentLengthHeader')
})
