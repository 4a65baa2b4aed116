import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ConfigError, DEFAULT_TENANT_ID, loadConfig, redactConfig } from './index.ts'

describe('loadConfig', () => {
  test('defaults: every key has one, the store is SQLite in the data directory', () => {
    const c = loadConfig()
    assert.equal(c.dataDir, '.azid')
    assert.equal(c.store.dsn, 'sqlite')
    assert.equal(c.listen.host, '127.0.0.1')
    assert.equal(c.listen.httpsPort, 44300)
    assert.equal(c.tenant.id, DEFAULT_TENANT_ID)
    assert.equal(c.tokens.accessTokenLifetime, '1h')
    assert.equal(c.tokens.signingThreads, 'auto')
    assert.equal(c.keys.encryptionKey, undefined)
    assert.equal(c.log.level, 'info')
  })

  test('precedence: defaults < file < env < flags', () => {
    const file = { listen: { httpsPort: 1001, miPort: 1002, host: '127.0.0.2' } }
    const env = { AZID_LISTEN__HTTPS_PORT: '2001', AZID_LISTEN__MI_PORT: '2002' }
    const flags = { 'listen.httpsPort': 3001 }
    assert.equal(loadConfig({ file }).listen.httpsPort, 1001)
    const fe = loadConfig({ file, env })
    // The keys this test sets (other listen.* ports keep their defaults, checked below).
    const named = (l: typeof fe.listen) => ({ host: l.host, httpsPort: l.httpsPort, miPort: l.miPort })
    assert.deepEqual(named(fe.listen), { host: '127.0.0.2', httpsPort: 2001, miPort: 2002 })
    const all = loadConfig({ file, env, flags })
    // flags win for the one key they name; the rest keep what env and file said, and defaults fill the gaps
    assert.deepEqual(named(all.listen), { host: '127.0.0.2', httpsPort: 3001, miPort: 2002 })
    assert.equal(all.listen.vaultPort, 44312)
    assert.equal(all.tenant.domain, 'azid.onmicrosoft.com')
  })

  test('env names are case- and underscore-blind after the AZID_ prefix; values are coerced', () => {
    const c = loadConfig({
      env: {
        AZID_listen__httpsport: '5',
        AZID_Tokens__Signing_Threads: '0',
        AZID_TOKENS__DEVICE_CODE_INTERVAL: '7',
        AZID_DATA_DIR: '/tmp/azid-x',
        AZID_LOG__LEVEL: 'debug',
      },
    })
    assert.equal(c.listen.httpsPort, 5)
    assert.equal(c.tokens.signingThreads, 0)
    assert.equal(c.tokens.deviceCodeInterval, 7)
    assert.equal(c.dataDir, '/tmp/azid-x')
    assert.equal(c.log.level, 'debug')
  })

  test('env and flag values of string settings stay strings even when they look like numbers', () => {
    const c = loadConfig({
      env: { AZID_ADMIN__KEY: '1234567890123456', AZID_BOOTSTRAP__USER_PASSWORD: '12345678' },
      flags: { 'bootstrap.clientSecret': '98765432109876543210' },
    })
    assert.equal(c.admin.key, '1234567890123456')
    assert.equal(c.bootstrap.userPassword, '12345678')
    assert.equal(c.bootstrap.clientSecret, '98765432109876543210')
  })

  test('variables without AZID_, and the tool variables (AZID_CONFIG, AZID_RUN_FROM_SOURCE, AZID_TEST_*…), are ignored; undefined values are skipped', () => {
    const c = loadConfig({
      env: {
        PATH: '/bin',
        AZID_CONFIG: '/etc/azid.json',
        AZID_DATA_DIR: undefined,
        AZID_RUN_FROM_SOURCE: '1',
        AZID_ADMIN_KEY: 'k',
        AZID_TEST_PG_DSN: 'postgres://x',
        AZID_REQUIRE_ALL_TIERS: '1',
      },
    })
    assert.equal(c.dataDir, '.azid')
  })

  test('flags are dotted paths, with string values coerced', () => {
    const c = loadConfig({ flags: { 'listen.https_port': '4443', dataDir: '/d', 'tokens.signingThreads': '2' } })
    assert.equal(c.listen.httpsPort, 4443)
    assert.equal(c.dataDir, '/d')
    assert.equal(c.tokens.signingThreads, 2)
  })

  test('unknown keys are refused with a message naming the key or path', () => {
    assert.throws(
      () => loadConfig({ file: { bogus: 1 } }),
      (e: unknown) => e instanceof ConfigError && /bogus/.test(e.message),
    )
    assert.throws(
      () => loadConfig({ file: { listen: { bogusPort: 1 } } }),
      (e: unknown) => e instanceof ConfigError && /listen/.test(e.message) && /bogusPort/.test(e.message),
    )
    assert.throws(
      () => loadConfig({ env: { AZID_LISTEN__NOPE: '1' } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('AZID_LISTEN__NOPE'),
    )
    assert.throws(
      () => loadConfig({ env: { AZID_DATA_DIR__DEEPER: '1' } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('AZID_DATA_DIR__DEEPER'),
    )
    assert.throws(
      () => loadConfig({ flags: { 'tokens.nope': 1 } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('tokens.nope'),
    )
  })

  test('invalid values name the path; a non-object file is refused', () => {
    assert.throws(() => loadConfig({ file: { listen: { httpsPort: 70000 } } }), /listen\.httpsPort/)
    assert.throws(() => loadConfig({ env: { AZID_LISTEN__HTTPS_PORT: 'x' } }), /listen\.httpsPort/)
    assert.throws(() => loadConfig({ file: { tenant: { id: 'not-a-guid' } } }), /tenant\.id/)
    assert.throws(() => loadConfig({ file: [] }), ConfigError)
    assert.throws(() => loadConfig({ file: 'x' }), /top level/)
  })

  test('the result is deep-frozen', () => {
    const c = loadConfig({ file: { keys: { encryptionKey: 'k' } } })
    assert.ok(Object.isFrozen(c))
    for (const v of Object.values(c)) if (typeof v === 'object' && v !== null) assert.ok(Object.isFrozen(v))
    assert.throws(() => {
      ;(c.listen as { httpsPort: number }).httpsPort = 1
    }, TypeError)
    assert.throws(() => {
      ;(c as { dataDir: string }).dataDir = 'x'
    }, TypeError)
  })

  test('the input is not mutated', () => {
    const file = { listen: { httpsPort: 1 } }
    loadConfig({ file, flags: { 'listen.httpsPort': 2 } })
    assert.deepEqual(file, { listen: { httpsPort: 1 } })
  })
})

describe('redactConfig', () => {
  const secretful = () =>
    loadConfig({
      file: {
        store: { dsn: 'postgres://azid:s3cr%40t@db.example:5432/azid' },
        keys: { encryptionKey: 'KEK-VALUE' },
        admin: { key: 'ADMIN-KEY-0123456789' },
        bootstrap: {
          clientId: '11111111-2222-4333-8444-555555555555',
          clientSecret: 'CLIENT-SECRET-0123456789',
          userPassword: 'USER-PASSWORD',
        },
      },
    })

  test('hides encryptionKey, clientSecret, userPassword, admin key and the DSN password; keeps the rest', () => {
    const c = secretful()
    const r = redactConfig(c) as {
      store: { dsn: string }
      keys: { encryptionKey: string; prePublish: unknown }
      admin: { key: string }
      bootstrap: { clientId: string; clientSecret: string; userPassword: string }
      listen: unknown
      tenant: unknown
    }
    assert.equal(r.keys.encryptionKey, '***')
    assert.equal(r.admin.key, '***')
    assert.equal(r.bootstrap.clientSecret, '***')
    assert.equal(r.bootstrap.userPassword, '***')
    assert.equal(r.store.dsn, 'postgres://azid:***@db.example:5432/azid')
    assert.equal(r.bootstrap.clientId, '11111111-2222-4333-8444-555555555555')
    assert.equal(r.keys.prePublish, 0)
    assert.deepEqual(r.listen, { ...c.listen })
    assert.deepEqual(r.tenant, { ...c.tenant })
    const text = JSON.stringify(r)
    for (const secret of ['KEK-VALUE', 'ADMIN-KEY', 'CLIENT-SECRET', 'USER-PASSWORD', 's3cr'])
      assert.ok(!text.includes(secret), secret)
  })

  test('leaves the config itself untouched, and absent secrets absent', () => {
    const c = secretful()
    redactConfig(c)
    assert.equal(c.keys.encryptionKey, 'KEK-VALUE')
    const plain = redactConfig(loadConfig()) as { keys: object; store: { dsn: string } }
    assert.equal('encryptionKey' in plain.keys, false)
    assert.equal(plain.store.dsn, 'sqlite')
  })

  test('a DSN without a password is shown as is', () => {
    const r = redactConfig(loadConfig({ file: { store: { dsn: 'postgres://azid@db/azid' } } })) as {
      store: { dsn: string }
    }
    assert.equal(r.store.dsn, 'postgres://azid@db/azid')
  })
})
