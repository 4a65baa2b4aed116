// Uploads that never finish leave nothing visible (issue 5 §2: "a crash or a dropped connection mid-upload never
// leaves a partial blob visible"), body limits answer 413 before the body is stored, orphaned content and week-old
// uncommitted blocks are collected, and committed blobs survive a restart (SQLite file + content directory).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { after, before, test } from 'node:test'
import { manualClock } from '../../../src/kernel/clock.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import {
  type Account,
  type Blob,
  STORAGE_CHALLENGE,
  STORAGE_ROLE,
  blobApi,
  contentFiles,
  createAccount,
  expectStorageError,
  grantRole,
  sharedKeySignature,
  storageToken,
} from './helpers.ts'

let s: TestServer
let acct: Account
let api: Blob
const clock = manualClock(Date.now())

before(async () => {
  s = await startTestServer({ storage: { maxBlockBytes: 64 * 1024, maxPutBlobBytes: 256 * 1024 } }, { clock })
  acct = await createAccount(s, 'durableacct')
  api = blobApi(s, acct)
  assert.equal((await api.call({ method: 'PUT', path: '/uploads?restype=container' })).status, 201)
})
after(() => s.stop())

const waitUntil = async (f: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !f(); i++) await new Promise((r) => setTimeout(r, 10))
  assert.ok(f(), what)
}

/** Sends a signed Put Blob / Put Block whose body stops after `send` of `announce` bytes, then drops the connection. */
async function abandonUpload(path: string, q: { announce: number; send: number; headers?: Record<string, string> }) {
  const url = new URL(`${api.base}${path}`)
  const headers: Record<string, string> = {
    'x-ms-version': '2025-07-05',
    'x-ms-date': new Date(clock.now()).toUTCString(),
    'content-length': String(q.announce),
    ...q.headers,
  }
  const sig = sharedKeySignature({
    key: acct.key,
    account: acct.name,
    method: 'PUT',
    path: url.pathname,
    query: url.searchParams,
    headers,
  })
  headers.authorization = `SharedKey ${acct.name}:${sig}`
  const sock = connect({ host: url.hostname, port: Number(url.port), ca: s.ca, servername: 'localhost' })
  await new Promise<void>((res, rej) => {
    sock.once('secureConnect', () => res())
    sock.once('error', rej)
  })
  const head = `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`
  sock.write(head)
  sock.write(Buffer.alloc(q.send, 0x61))
  await new Promise((r) => setTimeout(r, 100))
  sock.destroy()
}

test('a Put Blob dropped mid-body leaves no blob and no file; an overwrite dropped mid-body leaves the old blob', async () => {
  const files = contentFiles(s).length
  await abandonUpload('/uploads/partial.bin', {
    announce: 200_000,
    send: 50_000,
    headers: { 'x-ms-blob-type': 'BlockBlob' },
  })
  await waitUntil(() => contentFiles(s).length === files, 'the partial file is removed')
  expectStorageError(await api.call({ method: 'GET', path: '/uploads/partial.bin' }), 404, 'BlobNotFound')

  assert.equal(
    (
      await api.call({
        method: 'PUT',
        path: '/uploads/keep.txt',
        headers: { 'x-ms-blob-type': 'BlockBlob' },
        body: 'version 1',
      })
    ).status,
    201,
  )
  const withV1 = contentFiles(s).length
  await abandonUpload('/uploads/keep.txt', {
    announce: 100_000,
    send: 10_000,
    headers: { 'x-ms-blob-type': 'BlockBlob' },
  })
  await waitUntil(() => contentFiles(s).length === withV1, 'the partial overwrite is removed')
  const got = await api.call({ method: 'GET', path: '/uploads/keep.txt' })
  assert.equal(got.status, 200)
  assert.equal(got.text, 'version 1')
})

test('a Put Block dropped mid-body stages nothing', async () => {
  const files = contentFiles(s).length
  const id = encodeURIComponent(Buffer.from('blk-1').toString('base64'))
  await abandonUpload(`/uploads/staged.bin?comp=block&blockid=${id}`, { announce: 60_000, send: 1000 })
  const list = await api.call({ method: 'GET', path: '/uploads/staged.bin?comp=blocklist&blocklisttype=all' })
  expectStorageError(list, 404, 'BlobNotFound')
  // The partial file goes once the server sees the connection drop (and the next test counts files from here).
  await waitUntil(() => contentFiles(s).length === files, 'the partial block file is removed')
})

test('bodies over the configured limits: 413 RequestBodyTooLarge, nothing stored', async () => {
  const files = contentFiles(s).length
  const id = encodeURIComponent(Buffer.from('big-1').toString('base64'))
  const big = await api.call({
    method: 'PUT',
    path: `/uploads/big.bin?comp=block&blockid=${id}`,
    body: Buffer.alloc(64 * 1024 + 1),
  })
  expectStorageError(big, 413, 'RequestBodyTooLarge', {
    message: 'The request body is too large and exceeds the maximum permissible limit.',
  })
  assert.equal(
    (
      await api.call({
        method: 'PUT',
        path: `/uploads/big.bin?comp=block&blockid=${id}`,
        body: Buffer.alloc(64 * 1024),
      })
    ).status,
    201,
  )
  const blob = await api.call({
    method: 'PUT',
    path: '/uploads/big2.bin',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: Buffer.alloc(256 * 1024 + 1),
  })
  expectStorageError(blob, 413, 'RequestBodyTooLarge')
  // Without Content-Length Storage refuses before reading the body.
  const streamed = await api.call({
    method: 'PUT',
    path: `/uploads/big3.bin?comp=block&blockid=${id}`,
    body: Buffer.alloc(100 * 1024),
    chunked: true,
  })
  expectStorageError(streamed, 411, 'MissingContentLengthHeader')
  await waitUntil(() => contentFiles(s).length === files + 1, 'only the accepted block is on disk')
})

test('garbage collection: week-old uncommitted blocks and orphan files older than an hour go; the rest stays', async () => {
  const id = encodeURIComponent(Buffer.from('old-1').toString('base64'))
  assert.equal(
    (await api.call({ method: 'PUT', path: `/uploads/old.bin?comp=block&blockid=${id}`, body: 'old block' })).status,
    201,
  )
  assert.equal(
    (
      await api.call({
        method: 'PUT',
        path: '/uploads/committed.txt',
        headers: { 'x-ms-blob-type': 'BlockBlob' },
        body: 'stays',
      })
    ).status,
    201,
  )
  const root = join(s.dataDir, 'storage', 'blob')
  mkdirSync(join(root, 'ff'), { recursive: true })
  const orphanOld = join(root, 'ff', 'ff'.repeat(16))
  const orphanYoung = join(root, 'ff', `${'fe'.repeat(15)}ff`)
  writeFileSync(orphanOld, 'lost')
  writeFileSync(orphanYoung, 'in flight')
  const longAgo = (clock.now() - 2 * 3600_000) / 1000
  utimesSync(orphanOld, longAgo, longAgo)
  clock.advance(8 * 24 * 3600_000)
  const r = await s.server.storage.blob.collectGarbage()
  assert.ok(r.expiredBlocks >= 1, JSON.stringify(r))
  const files = contentFiles(s)
  assert.ok(!files.some((f) => f.endsWith('ff'.repeat(16))), 'old orphan removed')
  assert.ok(
    files.some((f) => f.endsWith(`${'fe'.repeat(15)}ff`)),
    'young orphan kept',
  )
  clock.set(Date.now())
  expectStorageError(
    await api.call({ method: 'GET', path: '/uploads/old.bin?comp=blocklist&blocklisttype=all' }),
    404,
    'BlobNotFound',
  )
  assert.equal((await api.call({ method: 'GET', path: '/uploads/committed.txt' })).text, 'stays')
})

test('an expired token is 401 InvalidAuthenticationInfo (lifetime) with the challenge', async () => {
  assert.equal(
    (await api.call({ method: 'PUT', path: '/uploads/t.txt', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 't' }))
      .status,
    201,
  )
  await grantRole(acct, STORAGE_ROLE.BlobDataReader, s.server.bootstrap.servicePrincipalId)
  const token = await storageToken(s)
  assert.equal((await api.call({ method: 'GET', path: '/uploads/t.txt', auth: { bearer: token } })).status, 200)
  clock.advance(2 * 3600_000)
  try {
    const r = await api.call({ method: 'GET', path: '/uploads/t.txt', auth: { bearer: token } })
    expectStorageError(r, 401, 'InvalidAuthenticationInfo', {
      detail: 'Lifetime validation failed. The token is expired.',
    })
    assert.equal(r.headers['www-authenticate'], STORAGE_CHALLENGE(s.tenantId))
  } finally {
    clock.set(Date.now())
  }
})

test('committed blobs survive a restart (SQLite file and content directory)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'azid-blob-restart-'))
  try {
    const first = await startTestServer({ store: { dsn: 'sqlite' } }, { dataDir })
    const a = await createAccount(first, 'restartacct')
    const b = blobApi(first, a)
    assert.equal((await b.call({ method: 'PUT', path: '/keep?restype=container' })).status, 201)
    assert.equal(
      (
        await b.call({
          method: 'PUT',
          path: '/keep/x.bin',
          headers: { 'x-ms-blob-type': 'BlockBlob' },
          body: Buffer.alloc(300_000, 7),
        })
      ).status,
      201,
    )
    await first.stop()
    const second = await startTestServer({ store: { dsn: 'sqlite' } }, { dataDir })
    try {
      const again = blobApi(second, a)
      const got = await again.call({ method: 'GET', path: '/keep/x.bin' })
      assert.equal(got.status, 200, got.text)
      assert.ok(got.body.equals(Buffer.alloc(300_000, 7)))
    } finally {
      await second.stop()
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})
