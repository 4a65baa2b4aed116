import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cachedDirectoryStore } from './cache.ts'
import type { Tenant } from './model.ts'
import type { DirectoryStore } from './ports.ts'

/** A store over a map that counts its reads; reads can be held open to interleave them with writes. */
function fakeStore() {
  const tenants = new Map<string, Tenant>()
  let reads = 0
  let hold: Promise<void> | undefined
  const store = {
    async transaction<T>(fn: (tx: DirectoryStore) => Promise<T>): Promise<T> {
      return fn(store as unknown as DirectoryStore)
    },
    async getTenant(id: string) {
      reads++
      const t = tenants.get(id)
      if (hold) await hold
      if (id === 'boom') throw new Error('store down')
      return t ? { ...t } : undefined
    },
    async putTenant(t: Tenant) {
      tenants.set(t.id, { ...t })
    },
    async listTenants() {
      reads++
      return [...tenants.values()]
    },
  }
  return {
    store: store as unknown as DirectoryStore,
    reads: () => reads,
    holdReads(p: Promise<void> | undefined) {
      hold = p
    },
  }
}

const tenant = (id: string, displayName = 'T'): Tenant =>
  ({ id, domain: `${id}.example`, displayName, createdAt: 1 }) as unknown as Tenant

function clock(start = 1_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

test('token-path reads are served from memory until a write, and then read again', async () => {
  const f = fakeStore()
  const c = clock()
  let announced = 0
  const s = cachedDirectoryStore(f.store, { clock: c, ttlMs: 5000, onWrite: () => announced++ })
  await s.putTenant(tenant('a'))
  assert.equal(announced, 1)
  assert.equal((await s.getTenant('a'))?.displayName, 'T')
  assert.equal((await s.getTenant('a'))?.displayName, 'T')
  assert.equal(f.reads(), 1)
  await s.putTenant(tenant('a', 'renamed'))
  assert.equal(announced, 2)
  assert.equal((await s.getTenant('a'))?.displayName, 'renamed')
  assert.equal(f.reads(), 2)
})

test('entries expire after the TTL; reads outside the token path are never cached', async () => {
  const f = fakeStore()
  const c = clock()
  const s = cachedDirectoryStore(f.store, { clock: c, ttlMs: 5000 })
  await f.store.putTenant(tenant('a'))
  await s.getTenant('a')
  c.advance(4999)
  await s.getTenant('a')
  assert.equal(f.reads(), 1)
  c.advance(1)
  await s.getTenant('a')
  assert.equal(f.reads(), 2)
  await s.listTenants()
  await s.listTenants()
  assert.equal(f.reads(), 4)
})

test('"not found" is never kept: what another node creates is found at once', async () => {
  const f = fakeStore()
  const s = cachedDirectoryStore(f.store, { clock: clock(), ttlMs: 60_000 })
  assert.equal(await s.getTenant('a'), undefined)
  await f.store.putTenant(tenant('a'))
  assert.equal((await s.getTenant('a'))?.displayName, 'T')
  assert.equal(s.uncached, f.store)
})

test('invalidate() forgets everything (a change announced by another node, a snapshot restore)', async () => {
  const f = fakeStore()
  const s = cachedDirectoryStore(f.store, { clock: clock(), ttlMs: 60_000 })
  await f.store.putTenant(tenant('a'))
  await s.getTenant('a')
  s.invalidate()
  await s.getTenant('a')
  assert.equal(f.reads(), 2)
})

test('a transaction empties the cache when it ends, committed or not', async () => {
  const f = fakeStore()
  const s = cachedDirectoryStore(f.store, { clock: clock(), ttlMs: 60_000 })
  await f.store.putTenant(tenant('a'))
  await s.getTenant('a')
  await assert.rejects(
    s.transaction(async () => {
      throw new Error('rolled back')
    }),
  )
  await s.getTenant('a')
  assert.equal(f.reads(), 2)
})

test('cached values are frozen, so no caller can change what the next caller sees', async () => {
  const f = fakeStore()
  const s = cachedDirectoryStore(f.store, { clock: clock(), ttlMs: 60_000 })
  await s.putTenant(tenant('a'))
  const t = (await s.getTenant('a')) as Tenant
  assert.throws(() => {
    ;(t as { displayName: string }).displayName = 'changed'
  }, TypeError)
})

test('a read overtaken by a write is not kept; a failed read is not kept', async () => {
  const f = fakeStore()
  const s = cachedDirectoryStore(f.store, { clock: clock(), ttlMs: 60_000 })
  await s.putTenant(tenant('a', 'old'))
  let release!: () => void
  f.holdReads(new Promise<void>((r) => (release = r)))
  const slow = s.getTenant('a')
  await s.putTenant(tenant('a', 'new'))
  f.holdReads(undefined)
  release()
  assert.equal((await slow)?.displayName, 'old')
  assert.equal((await s.getTenant('a'))?.displayName, 'new')

  await assert.rejects(s.getTenant('boom'), /store down/)
  await assert.rejects(s.getTenant('boom'), /store down/)
  assert.equal(f.reads(), 4)
})

test('concurrent reads of one key share one store read', async () => {
  const f = fakeStore()
  const s = cachedDirectoryStore(f.store, { clock: clock(), ttlMs: 60_000 })
  await f.store.putTenant(tenant('a'))
  await Promise.all([s.getTenant('a'), s.getTenant('a'), s.getTenant('a')])
  assert.equal(f.reads(), 1)
})
