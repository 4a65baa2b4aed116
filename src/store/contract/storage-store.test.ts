import assert from 'node:assert/strict'
import type { BlobKey, BlobRecord, BlobStore, UncommittedBlock } from '../../dataplane/ports.ts'
import { createStorageStore } from '../storage-store.ts'
import { type Case, contractRunner, runOnEveryBackend } from './harness.ts'

const T = 1_720_000_000_000
const file = (n: number) => n.toString(16).padStart(32, '0')
const key = (name: string, container = 'c1', account = 'acct1'): BlobKey => ({ account, container, name })

const blob = (name: string, over: Partial<BlobRecord> = {}): BlobRecord => ({
  ...key(name),
  etag: `"0x8D${name.length.toString(16).padStart(13, '0')}"`,
  size: 10,
  createdAt: T,
  modifiedAt: T + 1,
  contentType: 'text/plain',
  contentEncoding: null,
  contentLanguage: 'en',
  contentDisposition: null,
  cacheControl: 'no-cache',
  contentMd5: 'XUFAKrxLKna5cZ2REBfFkg==',
  metadata: { Owner: 'a', team: 'b' },
  blocks: [
    { id: 'QQ==', size: 4, file: file(1) },
    { id: null, size: 6, file: file(2) },
  ],
  copy: null,
  ...over,
})

const block = (id: string, n: number, over: Partial<UncommittedBlock> = {}): UncommittedBlock => ({
  id,
  size: n,
  file: file(100 + n),
  createdAt: T + n,
  ...over,
})

const CASES: Case<BlobStore>[] = [
  [
    'put, get (all fields, big epoch times), replace, delete',
    async (s) => {
      const b = blob('a.txt', {
        copy: { id: 'c', source: 'https://x/y', status: 'success', progress: '10/10', completedAt: T + 5 },
      })
      await s.putBlob(b)
      assert.deepEqual(await s.getBlob(key('a.txt')), b)
      const replaced = blob('a.txt', {
        size: 1,
        blocks: [{ id: null, size: 1, file: file(3) }],
        metadata: {},
        copy: null,
      })
      await s.putBlob(replaced)
      assert.deepEqual(await s.getBlob(key('a.txt')), replaced)
      assert.equal(await s.getBlob(key('a.txt', 'c2')), undefined)
      assert.equal(await s.deleteBlob(key('a.txt')), true)
      assert.equal(await s.deleteBlob(key('a.txt')), false)
      assert.equal(await s.getBlob(key('a.txt')), undefined)
    },
  ],
  [
    'listBlobs: binary name order, prefix bounds, from (inclusive) and after (exclusive), limit, without blocks',
    async (s) => {
      for (const n of ['b', 'a/x', 'a/y', 'a0', 'A', 'a', 'a/', 'ab', 'z\u00e9']) await s.putBlob(blob(n))
      await s.putBlob({ ...blob('a/x'), container: 'other' })
      const names = async (q: Partial<Parameters<BlobStore['listBlobs']>[0]>) =>
        (await s.listBlobs({ account: 'acct1', container: 'c1', limit: 100, ...q })).map((b) => b.name)
      assert.deepEqual(await names({}), ['A', 'a', 'a/', 'a/x', 'a/y', 'a0', 'ab', 'b', 'z\u00e9'])
      assert.deepEqual(await names({ prefix: 'a/' }), ['a/', 'a/x', 'a/y'])
      assert.deepEqual(await names({ prefix: 'a', from: 'a/y' }), ['a/y', 'a0', 'ab'])
      assert.deepEqual(await names({ after: 'a/y' }), ['a0', 'ab', 'b', 'z\u00e9'])
      assert.deepEqual(await names({ from: 'a0', limit: 2 }), ['a0', 'ab'])
      const [first] = await s.listBlobs({ account: 'acct1', container: 'c1', limit: 1, withBlocks: false })
      assert.deepEqual(first?.blocks, [])
      assert.deepEqual(first?.metadata, { Owner: 'a', team: 'b' })
    },
  ],
  [
    'uncommitted blocks: put replaces by id and returns the old one, list, delete all',
    async (s) => {
      const k = key('staged')
      assert.equal(await s.putUncommitted(k, block('QQ==', 1)), undefined)
      assert.equal(await s.putUncommitted(k, block('Qg==', 2)), undefined)
      const prior = await s.putUncommitted(k, block('QQ==', 3))
      assert.deepEqual(prior, block('QQ==', 1))
      assert.deepEqual(
        (await s.listUncommitted(k)).map((b) => [b.id, b.size]),
        [
          ['Qg==', 2],
          ['QQ==', 3],
        ],
      )
      assert.deepEqual(await s.listUncommitted(key('staged', 'c2')), [])
      assert.equal((await s.deleteUncommitted(k)).length, 2)
      assert.deepEqual(await s.listUncommitted(k), [])
      assert.deepEqual(await s.deleteUncommitted(k), [])
    },
  ],
  [
    'transactions commit together or not at all',
    async (s) => {
      await s.transaction(async (tx) => {
        await tx.putBlob(blob('t1'))
        await tx.putUncommitted(key('t1'), block('QQ==', 1))
      })
      assert.ok(await s.getBlob(key('t1')))
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.putBlob(blob('t2'))
          await tx.deleteUncommitted(key('t1'))
          const locked = await tx.getBlob(key('t2'), { forUpdate: true })
          assert.ok(locked)
          throw new Error('abort')
        }),
        /abort/,
      )
      assert.equal(await s.getBlob(key('t2')), undefined)
      assert.equal((await s.listUncommitted(key('t1'))).length, 1)
    },
  ],
  [
    'purge of a container and of an account returns the files their rows named',
    async (s) => {
      await s.putBlob(blob('p1'))
      await s.putBlob({ ...blob('p2'), container: 'c2', blocks: [{ id: null, size: 1, file: file(9) }] })
      await s.putBlob({ ...blob('p3'), account: 'acct2', blocks: [{ id: null, size: 1, file: file(8) }] })
      await s.putUncommitted(key('p1'), block('QQ==', 5))
      assert.deepEqual((await s.purge({ account: 'acct1', container: 'c1' })).sort(), [file(1), file(2), file(105)])
      assert.equal(await s.getBlob(key('p1')), undefined)
      assert.ok(await s.getBlob(key('p2', 'c2')))
      assert.deepEqual(await s.purge({ account: 'acct1', container: null }), [file(9)])
      assert.ok(await s.getBlob(key('p3', 'c1', 'acct2')))
    },
  ],
  [
    'garbage collection queries: expired uncommitted blocks, referenced files (paged), containers with data',
    async (s) => {
      await s.putUncommitted(key('old'), block('QQ==', 1, { createdAt: T }))
      await s.putUncommitted(key('new'), block('QQ==', 2, { createdAt: T + 10_000 }))
      const expired = await s.expiredUncommitted({ before: T + 5000, limit: 10 })
      assert.deepEqual(
        expired.map((b) => [b.key.name, b.id]),
        [['old', 'QQ==']],
      )
      assert.equal(await s.deleteUncommittedBlock(key('old'), 'QQ=='), true)
      assert.equal(await s.deleteUncommittedBlock(key('old'), 'QQ=='), false)
      for (let i = 0; i < 1005; i++)
        await s.putBlob({
          ...blob(`g${String(i).padStart(4, '0')}`),
          blocks: [{ id: null, size: 1, file: file(1000 + i) }],
        })
      await s.putBlob({ ...blob('elsewhere'), container: 'c9', blocks: [{ id: 'QQ==', size: 1, file: file(7) }] })
      const refs = await s.referencedFiles()
      assert.equal(refs.size, 1005 + 1 + 1)
      assert.ok(refs.has(file(1000)) && refs.has(file(2004)) && refs.has(file(7)) && refs.has(file(102)))
      assert.deepEqual((await s.containersWithData()).map((c) => `${c.account}/${c.container}`).sort(), [
        'acct1/c1',
        'acct1/c9',
      ])
    },
  ],
]

export const runStorageStoreContract = contractRunner('BlobStore', CASES)

runOnEveryBackend(createStorageStore, runStorageStoreContract)
