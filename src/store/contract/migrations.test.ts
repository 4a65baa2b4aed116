import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { sql } from 'kysely'
import type { Tenant } from '../../directory/model.ts'
import { need } from '../../../test/support/tiers.ts'
import { type Database, openDatabase } from '../db.ts'
import { createDirectoryStore } from '../directory-store.ts'
import { BACKENDS } from './harness.ts'

const tenant = (n: number): Tenant => ({
  id: `7e7a0000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  domain: `t${n}.example`,
  displayName: `tenant ${n}`,
  isDefault: false,
  createdAt: 1_720_000_000_000 + n,
})

const migrationNames = async (d: Database) =>
  (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(d.db)).rows.map((r) => r.name)

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'azid-migrations-'))
  dirs.push(d)
  return d
}

describe('migrations on SQLite', () => {
  test('opening the same file again applies nothing twice and keeps the data', async () => {
    const dataDir = tempDir()
    const first = await openDatabase({ dsn: 'sqlite', dataDir })
    assert.equal(first.dialect, 'sqlite')
    assert.equal(first.location, join(dataDir, 'azid.db'))
    const applied = await migrationNames(first)
    assert.ok(applied.includes('0001-init'))
    await createDirectoryStore(first.db).putTenant(tenant(1))
    await first.close()

    for (let i = 0; i < 2; i++) {
      const again = await openDatabase({ dsn: 'sqlite', dataDir })
      try {
        assert.deepEqual(await migrationNames(again), applied)
        assert.deepEqual(await createDirectoryStore(again.db).getTenant(tenant(1).id), tenant(1))
      } finally {
        await again.close()
      }
    }
  })

  test('two handles on one file at once (two processes on one data directory) see each other', async () => {
    const dataDir = tempDir()
    const a = await openDatabase({ dsn: 'sqlite', dataDir })
    const b = await openDatabase({ dsn: 'sqlite', dataDir })
    try {
      await createDirectoryStore(a.db).putTenant(tenant(2))
      assert.deepEqual(await createDirectoryStore(b.db).getTenant(tenant(2).domain), tenant(2))
      assert.deepEqual(await migrationNames(a), await migrationNames(b))
    } finally {
      await a.close()
      await b.close()
    }
  })

  test('sqlite:<relative path> lives under the data directory, which it creates; memory is in memory', async () => {
    const dataDir = tempDir()
    const d = await openDatabase({ dsn: 'sqlite:nested/dir/store.db', dataDir })
    try {
      assert.equal(d.location, join(dataDir, 'nested/dir/store.db'))
      assert.ok(existsSync(join(dataDir, 'nested/dir/store.db')))
    } finally {
      await d.close()
    }
    const abs = join(tempDir(), 'abs.db')
    const e = await openDatabase({ dsn: `sqlite:${abs}`, dataDir })
    assert.equal(e.location, abs)
    await e.close()
    const m = await openDatabase({ dsn: 'memory', dataDir: join(dataDir, 'never-created') })
    assert.equal(m.location, ':memory:')
    assert.ok(!existsSync(join(dataDir, 'never-created')))
    await m.close()
  })

  test('an unknown DSN scheme is refused without echoing the rest of the DSN', async () => {
    await assert.rejects(openDatabase({ dsn: 'mysql://root:hunter2@db/azid', dataDir: tempDir() }), (e: unknown) => {
      assert.ok(e instanceof TypeError)
      assert.match(e.message, /store\.dsn/)
      assert.ok(!e.message.includes('hunter2'))
      return true
    })
  })
})

const pg = BACKENDS.find((b) => b.name === 'postgres')

describe('migrations on PostgreSQL', () => {
  test('nodes opening one database at once migrate it once; reopening changes nothing', async (t) => {
    if (!pg || !need(t, pg.unavailable)) return
    const fresh = await pg.fresh()
    try {
      const applied = await migrationNames(fresh.database)
      assert.ok(applied.includes('0001-init'))
      const password = new URL(fresh.dsn).password
      if (password) {
        assert.ok(!fresh.database.location.includes(`:${password}@`), 'location hides the password')
        assert.ok(fresh.database.location.includes(':***@'))
      }
      await createDirectoryStore(fresh.database.db).putTenant(tenant(3))
      const others = await Promise.all([1, 2, 3].map(() => openDatabase({ dsn: fresh.dsn, dataDir: fresh.dataDir })))
      try {
        for (const o of others) {
          assert.equal(o.dialect, 'postgres')
          assert.deepEqual(await migrationNames(o), applied)
          assert.deepEqual(await createDirectoryStore(o.db).getTenant(tenant(3).id), tenant(3))
        }
      } finally {
        await Promise.all(others.map((o) => o.close()))
      }
    } finally {
      await fresh.close()
    }
  })

  test('two nodes migrating a brand-new database at the same moment both succeed', async (t) => {
    if (!pg || !need(t, pg.unavailable)) return
    // an empty database: drop the schema the harness migrated, then let two nodes race to create it
    const fresh = await pg.fresh()
    try {
      await sql`drop schema public cascade`.execute(fresh.database.db)
      await sql`create schema public`.execute(fresh.database.db)
      const racers = await Promise.all([1, 2].map(() => openDatabase({ dsn: fresh.dsn, dataDir: fresh.dataDir })))
      try {
        const names = await migrationNames(racers[0] as Database)
        assert.ok(names.includes('0001-init'))
        assert.equal(new Set(names).size, names.length)
        await createDirectoryStore((racers[1] as Database).db).putTenant(tenant(4))
        assert.deepEqual(await createDirectoryStore((racers[0] as Database).db).getTenant(tenant(4).id), tenant(4))
      } finally {
        await Promise.all(racers.map((r) => r.close()))
      }
    } finally {
      await fresh.close()
    }
  })
})
