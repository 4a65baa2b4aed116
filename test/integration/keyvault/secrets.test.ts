// Key Vault secrets on the wire: set, get (latest, by version, trailing slash, `api%2Dversion`), versions, list
// paging, update, disabled secrets, api-versions, and bad input — names, sizes, bodies, conflicts — answered in
// Key Vault's envelope with nothing half-written (issue 5 §4 and "Bad input"; api-shapes §7; clients.md §6.2).
// KV-001 (the secret read), KV-003 (set), KV-004 (vault URL).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import type { HttpResult } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { adminClient, newPrincipal } from '../arm/helpers.ts'
import {
  KV_ROLE,
  type Kv,
  type SecretBundle,
  createVault,
  expectKvError,
  expectOk,
  grant,
  kvClient,
  vaultPrincipal,
} from './helpers.ts'

const VAULT = 'azid-kv-secrets'
const HEX32 = /^[0-9a-f]{32}$/
let s: TestServer
let kv: Kv
let host: Kv
let token: string

before(async () => {
  s = await startTestServer()
  const admin = await adminClient(s)
  const vaultId = await createVault(s, admin, 'kv-secrets', VAULT)
  const p = await newPrincipal(s, 'kv-secrets-officer')
  await grant(s, admin, vaultId, KV_ROLE.SecretsOfficer, p.objectId)
  token = await vaultPrincipal(s, p)
  kv = kvClient(s, VAULT, token)
  host = kvClient(s, VAULT, token, 'host')
})
after(() => s.stop())

const put = (name: string, body: unknown, c = kv) => c.call('PUT', `/secrets/${name}`, { body })
const versionOf = (b: SecretBundle) => b.id.split('/').at(-1) as string
const versionsOf = async (name: string) =>
  expectOk<{ value: { id: string }[] }>(await kv.call('GET', `/secrets/${name}/versions`)).value.map((v) =>
    v.id.split('/').at(-1),
  )

describe('set and get', () => {
  test('PUT returns the SecretBundle (KV-003); ids follow the address the client used (KV-004)', async () => {
    const r = await put('MyTestSecret', { value: 'p@ssw0rd!' })
    const b = expectOk<SecretBundle>(r)
    assert.deepEqual(Object.keys(b), ['value', 'id', 'attributes'])
    assert.equal(b.value, 'p@ssw0rd!')
    // Loopback: the vault is the first path segment, ids have the origin only (the SDKs parse /secrets/{n}/{v}).
    const origin = new URL(kv.url).origin
    assert.match(b.id, new RegExp(`^${origin}/secrets/MyTestSecret/[0-9a-f]{32}$`))
    assert.deepEqual(Object.keys(b.attributes), ['enabled', 'created', 'updated', 'recoveryLevel', 'recoverableDays'])
    assert.equal(b.attributes.enabled, true)
    assert.equal(b.attributes.recoveryLevel, 'Recoverable+Purgeable')
    assert.equal(b.attributes.recoverableDays, 90)
    assert.equal(b.attributes.created, b.attributes.updated)
    assert.ok(Math.abs(b.attributes.created - Date.now() / 1000) < 60)
    assert.equal(r.headers['x-ms-keyvault-region'], 'westus')
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
    assert.equal(r.headers.expires, '-1')

    // KV-001: the tutorial's read, host-style (as in namespace mode): the id names the vault's host.
    const got = expectOk<SecretBundle>(await host.call('GET', '/secrets/MyTestSecret', { apiVersion: '2016-10-01' }))
    assert.equal(got.value, 'p@ssw0rd!')
    assert.equal(got.id, `https://${VAULT}.vault.azure.net/secrets/MyTestSecret/${versionOf(b)}`)
    assert.deepEqual(Object.keys(got.attributes), ['enabled', 'created', 'updated', 'recoveryLevel'])
  })

  test('GET: trailing slash = latest, `api%2Dversion`, names case-insensitive, by version', async () => {
    const one = expectOk<SecretBundle>(await put('Casing', { value: 'one' }))
    const two = expectOk<SecretBundle>(await put('casing', { value: 'two' }))
    assert.notEqual(versionOf(one), versionOf(two))
    assert.match(versionOf(two), HEX32)
    assert.match(two.id, /\/secrets\/Casing\//, 'the name keeps the casing of the first set')
    // What @azure/keyvault-secrets sends: `/secrets/name/?api%2Dversion=…`.
    const latest = await kv.call('GET', '/secrets/CASING/', { apiVersion: null, query: 'api%2Dversion=2025-07-01' })
    assert.equal(expectOk<SecretBundle>(latest).value, 'two')
    const old = expectOk<SecretBundle>(await kv.call('GET', `/secrets/casing/${versionOf(one).toUpperCase()}`))
    assert.equal(old.value, 'one')
    assert.equal(old.id, one.id)
    assert.deepEqual((await versionsOf('casing')).sort(), [versionOf(one), versionOf(two)].sort())
  })

  test('unknown secrets and versions: 404 SecretNotFound', async () => {
    expectKvError(
      await kv.call('GET', '/secrets/never-set'),
      404,
      'SecretNotFound',
      'A secret with (name/id) never-set was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182',
    )
    await put('has-one', { value: 'x' })
    expectKvError(
      await kv.call('GET', `/secrets/has-one/${'0'.repeat(32)}`),
      404,
      'SecretNotFound',
      /^A secret with \(name\/id\) has-one\/0{32} was not found/,
    )
    expectKvError(await kv.call('GET', '/secrets/has-one/not-a-version'), 404, 'SecretNotFound')
    expectKvError(await kv.call('GET', '/secrets/never-set/versions'), 404, 'SecretNotFound')
  })

  test('contentType, tags and attributes round trip; read-only attributes are ignored', async () => {
    const nbf = 1_700_000_000
    const exp = 4_102_444_800
    const b = expectOk<SecretBundle>(
      await put('full', {
        value: 'v',
        contentType: 'text/plain',
        tags: { env: 'dev', owner: 'me' },
        attributes: { enabled: true, nbf, exp, created: 1, recoveryLevel: 'Purgeable' },
      }),
    )
    assert.deepEqual(Object.keys(b), ['value', 'contentType', 'id', 'attributes', 'tags'])
    assert.equal(b.contentType, 'text/plain')
    assert.deepEqual(b.tags, { env: 'dev', owner: 'me' })
    assert.equal(b.attributes.nbf, nbf)
    assert.equal(b.attributes.exp, exp)
    assert.notEqual(b.attributes.created, 1)
    assert.equal(b.attributes.recoveryLevel, 'Recoverable+Purgeable')
    const got = expectOk<SecretBundle>(await kv.call('GET', '/secrets/full'))
    assert.deepEqual({ ...got, value: undefined }, { ...b, value: undefined })
    // A new version does not inherit tags or content type.
    const next = expectOk<SecretBundle>(await put('full', { value: 'w' }))
    assert.deepEqual(Object.keys(next), ['value', 'id', 'attributes'])
  })

  test('concurrent sets of one name: every one lands as a version, one of them is the latest', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => put('racy', { value: `v${i}` })))
    const bundles = results.map((r) => expectOk<SecretBundle>(r))
    assert.equal(new Set(bundles.map(versionOf)).size, 12)
    assert.deepEqual((await versionsOf('racy')).sort(), bundles.map(versionOf).sort())
    const latest = expectOk<SecretBundle>(await kv.call('GET', '/secrets/racy'))
    assert.ok(bundles.some((b) => b.id === latest.id && b.value === latest.value))
  })

  test('values are encrypted at rest: neither the clear value nor its base64 is in the store', async () => {
    const marker = 'Clear-Text-Marker-4711'
    await put('at-rest', { value: marker })
    const rows = (
      await sql<{ value_enc: string }>`select value_enc from kv_secret_versions`.execute(s.server.database.db)
    ).rows
    assert.ok(rows.length > 0)
    for (const r of rows) {
      assert.doesNotMatch(r.value_enc, new RegExp(marker))
      assert.doesNotMatch(Buffer.from(r.value_enc, 'base64').toString('latin1'), new RegExp(marker))
      assert.doesNotMatch(r.value_enc, new RegExp(Buffer.from(marker).toString('base64').slice(0, 16)))
    }
  })
})

describe('list, versions and paging', () => {
  test('GET /secrets pages by maxresults with absolute nextLinks; items have unversioned ids', async () => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']
    for (const n of names) await put(n, { value: n, contentType: 'ct' })
    const seen: string[] = []
    let url: string | null = `${kv.url}/secrets?api-version=7.6&maxresults=2`
    let pages = 0
    while (url) {
      const u: URL = new URL(url)
      assert.equal(u.origin, new URL(kv.url).origin)
      const r: HttpResult = await kv.call('GET', u.pathname.slice(new URL(kv.url).pathname.length), {
        apiVersion: null,
        query: u.search.slice(1),
      })
      const page = expectOk<{
        value: { id: string; contentType?: string; attributes: object }[]
        nextLink: string | null
      }>(r)
      assert.ok(page.value.length <= 2)
      for (const item of page.value) {
        assert.doesNotMatch(item.id, /\/[0-9a-f]{32}$/)
        assert.equal('value' in item, false)
        seen.push(item.id.split('/').at(-1) as string)
      }
      url = page.nextLink
      if (url)
        assert.match(
          url,
          new RegExp(`^${kv.url}/secrets\\?api-version=7\\.6&\\$skiptoken=[A-Za-z0-9_-]+&maxresults=2$`),
        )
      pages++
    }
    assert.ok(pages >= 3)
    for (const n of names) assert.equal(seen.filter((x) => x === n).length, 1, `${n} listed once`)
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)),
    )
  })

  test('versions page too; bad maxresults and $skiptoken are BadParameter', async () => {
    for (let i = 0; i < 3; i++) await put('paged-versions', { value: String(i) })
    const first = expectOk<{ value: { id: string }[]; nextLink: string }>(
      await kv.call('GET', '/secrets/paged-versions/versions', { query: 'maxresults=2' }),
    )
    assert.equal(first.value.length, 2)
    for (const v of first.value) assert.match(v.id, /\/secrets\/paged-versions\/[0-9a-f]{32}$/)
    const next = new URL(first.nextLink)
    assert.equal(next.pathname, `${new URL(kv.url).pathname}/secrets/paged-versions/versions`)
    const second = expectOk<{ value: { id: string }[]; nextLink: string | null }>(
      await kv.call('GET', '/secrets/paged-versions/versions', { apiVersion: null, query: next.search.slice(1) }),
    )
    assert.equal(second.value.length, 1)
    assert.equal(second.nextLink, null)
    for (const m of ['0', '26', 'abc', '-1', '1.5'])
      expectKvError(await kv.call('GET', '/secrets', { query: `maxresults=${m}` }), 400, 'BadParameter', /maxresults/)
    expectKvError(await kv.call('GET', '/secrets', { query: '$skiptoken=%%%' }), 400, 'BadParameter', /skiptoken/)
    expectKvError(
      await kv.call('GET', '/secrets', { query: '$skiptoken=bm90LWpzb24' }),
      400,
      'BadParameter',
      /skiptoken/,
    )
  })
})

describe('update (PATCH) and disabled secrets', () => {
  test('PATCH changes attributes, tags and content type of the latest or a given version; no value in the answer', async () => {
    const v1 = expectOk<SecretBundle>(await put('patched', { value: 'first', tags: { keep: 'no' } }))
    const v2 = expectOk<SecretBundle>(await put('patched', { value: 'second' }))
    const upd = expectOk<SecretBundle>(
      await kv.call('PATCH', '/secrets/patched/', { body: { contentType: 'application/json', tags: { a: '1' } } }),
    )
    assert.equal(upd.value, undefined)
    assert.equal(upd.id, v2.id)
    assert.equal(upd.contentType, 'application/json')
    assert.deepEqual(upd.tags, { a: '1' })
    const old = expectOk<SecretBundle>(
      await kv.call('PATCH', `/secrets/patched/${versionOf(v1)}`, { body: { attributes: { exp: 4_102_444_800 } } }),
    )
    assert.deepEqual(old.tags, { keep: 'no' }, 'absent members stay')
    assert.equal(old.attributes.exp, 4_102_444_800)
    assert.equal(expectOk<SecretBundle>(await kv.call('GET', `/secrets/patched/${versionOf(v1)}`)).value, 'first')
    expectKvError(
      await kv.call('PATCH', `/secrets/patched/${'f'.repeat(32)}`, { body: { tags: {} } }),
      404,
      'SecretNotFound',
    )
    expectKvError(await kv.call('PATCH', '/secrets/no-such', { body: { tags: {} } }), 404, 'SecretNotFound')
  })

  test('a disabled secret refuses get with 403 SecretDisabled, stays listed, and can be enabled again', async () => {
    const b = expectOk<SecretBundle>(await put('switch', { value: 'on', attributes: { enabled: false } }))
    assert.equal(b.attributes.enabled, false)
    expectKvError(
      await kv.call('GET', '/secrets/switch'),
      403,
      'Forbidden',
      'Operation get is not allowed on a disabled secret.',
      'SecretDisabled',
    )
    expectKvError(
      await kv.call('GET', `/secrets/switch/${versionOf(b)}`),
      403,
      'Forbidden',
      undefined,
      'SecretDisabled',
    )
    const listed = expectOk<{ value: { id: string; attributes: { enabled: boolean } }[] }>(
      await kv.call('GET', '/secrets'),
    ).value.find((x) => x.id.endsWith('/switch'))
    assert.equal(listed?.attributes.enabled, false)
    expectOk(await kv.call('PATCH', '/secrets/switch', { body: { attributes: { enabled: true } } }))
    assert.equal(expectOk<SecretBundle>(await kv.call('GET', '/secrets/switch')).value, 'on')
  })
})

describe('api-versions', () => {
  test('7.0–7.6, previews, 2016-10-01, 2025-06-01 and 2025-07-01 are served; recoverableDays from 7.1', async () => {
    await put('versioned', { value: 'x' })
    for (const v of [
      '2016-10-01',
      '7.0',
      '7.1',
      '7.2',
      '7.3',
      '7.4',
      '7.5',
      '7.6',
      '7.6-preview.2',
      '7.5-preview.1',
      '2025-06-01',
      '2025-07-01',
    ]) {
      const b = expectOk<SecretBundle>(await kv.call('GET', '/secrets/versioned', { apiVersion: v }))
      assert.equal(b.value, 'x', v)
      assert.equal('recoverableDays' in b.attributes, !['2016-10-01', '7.0'].includes(v), v)
    }
  })

  test('an unknown or missing api-version is BadParameter, and nothing is written', async () => {
    for (const v of ['7.9', '2024-01-01', '1.0', 'latest'])
      expectKvError(
        await kv.call('PUT', '/secrets/never-versioned', { apiVersion: v, body: { value: 'x' } }),
        400,
        'BadParameter',
        `The specified version (${v}) is not recognized. Consider using the latest supported version (2025-07-01).`,
      )
    expectKvError(
      await kv.call('PUT', '/secrets/never-versioned', { apiVersion: null, body: { value: 'x' } }),
      400,
      'BadParameter',
      'The api-version query parameter is required.',
    )
    expectKvError(await kv.call('GET', '/secrets/never-versioned'), 404, 'SecretNotFound')
  })
})

describe('bad input: Key Vault errors, nothing half-written', () => {
  test('names: ^[0-9a-zA-Z-]{1,127}$', async () => {
    for (const bad of ['bad_name', 'a.b', 'x'.repeat(128), 'sp%20ace', '%C3%A9t%C3%A9']) {
      const r = await put(bad, { value: 'x' })
      expectKvError(r, 400, 'BadParameter', `The request URI contains an invalid name: ${decodeURIComponent(bad)}`)
    }
    expectKvError(await kv.call('GET', '/secrets/bad_name'), 400, 'BadParameter', /invalid name: bad_name$/)
    expectKvError(await kv.call('DELETE', '/deletedsecrets/bad_name'), 400, 'BadParameter', /invalid name/)
    expectOk(await put('x'.repeat(127), { value: 'ok' }))
    expectOk(await put('0-9-AZ', { value: 'ok' }))
  })

  test('value size: 25 KiB of UTF-8 bytes at most', async () => {
    expectOk(await put('big', { value: 'a'.repeat(25 * 1024) }))
    const before = await versionsOf('big')
    expectKvError(await put('big', { value: 'a'.repeat(25 * 1024 + 1) }), 400, 'BadParameter', /25601 bytes/)
    // 8534 three-byte characters: 25602 bytes, though only 8534 characters.
    expectKvError(await put('big', { value: '€'.repeat(8534) }), 400, 'BadParameter', /25602 bytes/)
    expectKvError(await put('big', 'x'.repeat(1024 * 1024 + 1)), 400, 'BadParameter', /larger than 1048576 bytes/)
    assert.deepEqual(await versionsOf('big'), before)
    expectKvError(await put('too-big', { value: 'a'.repeat(30_000) }), 400, 'BadParameter')
    expectKvError(await kv.call('GET', '/secrets/too-big'), 404, 'SecretNotFound')
  })

  test('malformed bodies: not JSON, not an object, value missing or not a string, bad tags and attributes', async () => {
    const cases: [unknown, RegExp][] = [
      ['{"value": "x"', /not valid JSON/],
      ['', /JSON object/],
      ['[]', /JSON object/],
      ['"just a string"', /JSON object/],
      [{}, /'value' is required/],
      [{ value: 42 }, /'value' is required/],
      [{ value: null }, /'value' is required/],
      [{ value: 'x', tags: ['a'] }, /'tags'/],
      [{ value: 'x', tags: { a: 1 } }, /tag 'a' must be a string/],
      [
        { value: 'x', tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, 'v'])) },
        /at most 15 tags/,
      ],
      [{ value: 'x', contentType: 7 }, /'contentType'/],
      [{ value: 'x', attributes: 'yes' }, /'attributes'/],
      [{ value: 'x', attributes: { enabled: 'true' } }, /'attributes.enabled'/],
      [{ value: 'x', attributes: { exp: '2030-01-01' } }, /'attributes.exp'/],
      [{ value: 'x', attributes: { nbf: -5 } }, /'attributes.nbf'/],
    ]
    for (const [body, message] of cases) expectKvError(await put('malformed', body), 400, 'BadParameter', message)
    expectKvError(await kv.call('GET', '/secrets/malformed'), 404, 'SecretNotFound')
    expectKvError(
      await kv.call('PATCH', '/secrets/MyTestSecret', { body: '{oops' }),
      400,
      'BadParameter',
      /not valid JSON/,
    )
    expectKvError(await kv.call('POST', '/secrets/restore', { body: { value: 'not base64url!' } }), 400, 'BadParameter')
    expectKvError(
      await kv.call('POST', '/secrets/restore', { body: { value: Buffer.from('garbage').toString('base64url') } }),
      400,
      'BadParameter',
      /backup blob is invalid/,
    )
  })

  test('a set on a deleted-but-recoverable name: 409 ObjectIsDeletedButRecoverable, no new version', async () => {
    await put('soft', { value: 'x' })
    const versions = await versionsOf('soft')
    expectOk(await kv.call('DELETE', '/secrets/soft'))
    expectKvError(
      await put('SOFT', { value: 'y' }),
      409,
      'Conflict',
      'Secret SOFT is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.',
      'ObjectIsDeletedButRecoverable',
    )
    expectOk(await kv.call('POST', '/deletedsecrets/soft/recover'))
    assert.deepEqual(await versionsOf('soft'), versions)
  })

  test('paths and methods Key Vault secrets do not have', async () => {
    expectKvError(await kv.call('GET', '/keys/k1'), 501, 'NotSupported', /'keys' operations are not supported/)
    expectKvError(await kv.call('POST', '/certificates/c/create'), 501, 'NotSupported')
    expectKvError(await kv.call('GET', '/nothing-here'), 404, 'NotFound')
    expectKvError(await kv.call('DELETE', '/secrets'), 405, 'MethodNotAllowed')
    expectKvError(
      await kv.call('PUT', `/secrets/MyTestSecret/${'a'.repeat(32)}`, { body: { value: 'x' } }),
      405,
      'MethodNotAllowed',
    )
    expectKvError(await kv.call('GET', '/secrets/a/b/c'), 404, 'NotFound')
    expectKvError(await kv.call('POST', '/deletedsecrets/x/undelete'), 405, 'MethodNotAllowed')
  })
})
