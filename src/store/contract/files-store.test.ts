import assert from 'node:assert/strict'
import type { EntryKey, FileEntry, FileStore } from '../../dataplane/ports.ts'
import { createFileStore } from '../files-store.ts'
import { type Case, contractRunner, runOnEveryBackend } from './harness.ts'

const T = 1_720_000_000_000
const file = (n: number) => n.toString(16).padStart(32, '0')
const key = (parentKey: string, nameKey: string, share = 'share1', account = 'acct1'): EntryKey => ({
  account,
  share,
  parentKey,
  nameKey,
})

const entry = (parentKey: string, name: string, over: Partial<FileEntry> = {}): FileEntry => ({
  ...key(parentKey, name.toLowerCase()),
  name,
  kind: 'file',
  fileId: '1234567890123456789',
  parentId: '13835128424026341376',
  etag: '"0x8D000000000000A"',
  modifiedAt: T,
  creationTime: '2024-01-02T03:04:05.1234567Z',
  lastWriteTime: '2024-01-02T03:04:06.0000000Z',
  changeTime: '2024-01-02T03:04:07.0000000Z',
  attributes: 'ReadOnly | Archive',
  permissionKey: '1*2',
  size: 4_398_046_511_104,
  contentType: 'text/plain',
  contentEncoding: null,
  contentLanguage: 'en',
  contentDisposition: null,
  cacheControl: 'no-cache',
  contentMd5: 'XUFAKrxLKna5cZ2REBfFkg==',
  metadata: { Owner: 'a' },
  extents: [
    { offset: 0, length: 10, file: file(1), at: 0 },
    { offset: 4_000_000_000_000, length: 5, file: file(2), at: 3 },
  ],
  ...over,
})

const CASES: Case<FileStore>[] = [
  [
    'put, get (all fields, sizes past 2^32), replace, delete',
    async (s) => {
      const e = entry('docs', 'Report.TXT')
      await s.putEntry(e)
      assert.deepEqual(await s.getEntry(key('docs', 'report.txt')), e)
      const replaced = entry('docs', 'Report.TXT', { size: 1, extents: [], metadata: {}, kind: 'file' })
      await s.putEntry(replaced)
      assert.deepEqual(await s.getEntry(key('docs', 'report.txt')), replaced)
      assert.equal(await s.getEntry(key('docs', 'report.txt', 'share2')), undefined)
      assert.equal(await s.deleteEntry(key('docs', 'report.txt')), true)
      assert.equal(await s.deleteEntry(key('docs', 'report.txt')), false)
    },
  ],
  [
    'children in name-key order with prefix, after and limit; listings leave extents out; hasChildren',
    async (s) => {
      for (const n of ['b', 'a', 'ab', 'c', 'B2'])
        await s.putEntry(entry('dir', n, n === 'c' ? { kind: 'directory', extents: [] } : {}))
      await s.putEntry(entry('dir/c', 'inner'))
      await s.putEntry(entry('', 'dir', { kind: 'directory', extents: [] }))
      const names = async (q: { prefix?: string; after?: string; limit?: number }) =>
        (
          await s.listChildren({ account: 'acct1', share: 'share1', parentKey: 'dir', limit: q.limit ?? 100, ...q })
        ).map((e) => e.name)
      assert.deepEqual(await names({}), ['a', 'ab', 'b', 'B2', 'c'])
      assert.deepEqual(await names({ prefix: 'a' }), ['a', 'ab'])
      assert.deepEqual(await names({ after: 'ab', limit: 2 }), ['b', 'B2'])
      const listed = await s.listChildren({ account: 'acct1', share: 'share1', parentKey: 'dir', limit: 1 })
      assert.deepEqual(listed[0]?.extents, [])
      assert.equal(listed[0]?.metadata.Owner, 'a')
      assert.equal(await s.hasChildren({ account: 'acct1', share: 'share1', dirKey: 'dir/c' }), true)
      assert.equal(await s.hasChildren({ account: 'acct1', share: 'share1', dirKey: 'dir/b' }), false)
      assert.equal(await s.hasChildren({ account: 'acct1', share: 'share2', dirKey: 'dir' }), false)
    },
  ],
  [
    'usage, permissions, purge of a share and of an account, referenced files, shares with data',
    async (s) => {
      await s.putEntry(entry('', 'one', { size: 10 }))
      await s.putEntry(entry('', 'two', { size: 5, extents: [{ offset: 0, length: 5, file: file(3), at: 0 }] }))
      await s.putEntry({ ...entry('', 'x', { size: 7 }), share: 'share2' })
      await s.putEntry({ ...entry('', 'y', { size: 1, extents: [] }), account: 'acct2' })
      assert.equal(await s.usage({ account: 'acct1', share: 'share1' }), 15)
      await s.putPermission({ account: 'acct1', share: 'share1', key: '9*9', sddl: 'O:BA' })
      await s.putPermission({ account: 'acct1', share: 'share1', key: '9*9', sddl: 'O:SY' })
      assert.equal(await s.getPermission({ account: 'acct1', share: 'share1', key: '9*9' }), 'O:SY')
      assert.equal(await s.getPermission({ account: 'acct1', share: 'share2', key: '9*9' }), undefined)
      assert.deepEqual([...(await s.referencedFiles())].sort(), [file(1), file(2), file(3)])
      const shares = (await s.sharesWithData()).map((x) => `${x.account}/${x.share}`).sort()
      assert.deepEqual(shares, ['acct1/share1', 'acct1/share2', 'acct2/share1'])
      assert.deepEqual((await s.purge({ account: 'acct1', share: 'share1' })).sort(), [file(1), file(2), file(3)])
      assert.equal(await s.getPermission({ account: 'acct1', share: 'share1', key: '9*9' }), undefined)
      assert.equal(await s.getEntry(key('', 'one')), undefined)
      assert.ok(await s.getEntry(key('', 'x', 'share2')))
      await s.purge({ account: 'acct1', share: null })
      assert.equal(await s.getEntry(key('', 'x', 'share2')), undefined)
      assert.ok(await s.getEntry({ ...key('', 'y'), account: 'acct2' }))
    },
  ],
  [
    'referenced files past one page of rows (1000): files of every account, share and directory, no directories',
    async (s) => {
      const one = (n: number) => ({ extents: [{ offset: 0, length: 1, file: file(n), at: 0 }] })
      for (let i = 0; i < 1005; i++)
        await s.putEntry(entry(`d${i % 3}`, `f${String(i).padStart(4, '0')}`, one(1000 + i)))
      await s.putEntry(entry('', 'd0', { kind: 'directory', extents: [] }))
      await s.putEntry({ ...entry('', 'z', one(7)), share: 'share0' })
      await s.putEntry({ ...entry('', 'z', one(8)), account: 'acct9' })
      const refs = await s.referencedFiles()
      assert.equal(refs.size, 1005 + 2)
      for (const n of [7, 8, 1000, 1001, 1002, 2004]) assert.ok(refs.has(file(n)), `file ${n}`)
    },
  ],
  [
    'a transaction that throws leaves nothing; one that commits keeps everything',
    async (s) => {
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.putEntry(entry('', 'lost'))
          throw new Error('boom')
        }),
        /boom/,
      )
      assert.equal(await s.getEntry(key('', 'lost')), undefined)
      await s.transaction(async (tx) => {
        const none = await tx.getEntry(key('', 'kept'), { forUpdate: true })
        assert.equal(none, undefined)
        await tx.putEntry(entry('', 'kept'))
      })
      assert.ok(await s.getEntry(key('', 'kept')))
    },
  ],
]

export const runFileStoreContract = contractRunner('FileStore', CASES)

runOnEveryBackend(createFileStore, runFileStoreContract)
