// Key Vault secrets: the bearer challenge, every authentication failure, and RBAC per built-in role (issue 5 §4,
// "Bad input"; api-shapes §7.4–§7.5; clients.md §6.2). KV-005 (challenge), SCN-12 negative cases.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { manualClock } from '../../../src/kernel/clock.ts'
import { postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { type Arm, adminClient, armToken, authorizationEvents, newPrincipal, type Principal } from '../arm/helpers.ts'
import {
  CHALLENGE,
  KV_ROLE,
  type SecretBundle,
  createVault,
  expectKvError,
  expectOk,
  grant,
  kvClient,
  vaultPrincipal,
  vaultToken,
} from './helpers.ts'

const VAULT = 'azid-kv-auth'
let s: TestServer
let admin: Arm
let vaultId: string
let officer: Principal
let officerToken: string
const clock = manualClock(Date.now())

before(async () => {
  s = await startTestServer({}, { clock })
  admin = await adminClient(s)
  vaultId = await createVault(s, admin, 'kv-auth', VAULT)
  officer = await newPrincipal(s, 'kv-officer')
  await grant(s, admin, vaultId, KV_ROLE.SecretsOfficer, officer.objectId)
  officerToken = await vaultPrincipal(s, officer)
  expectOk(await kvClient(s, VAULT, officerToken).call('PUT', '/secrets/shared', { body: { value: 'p@ssw0rd!' } }))
})
after(() => s.stop())

describe('the 401 challenge (clients.md §6.2)', () => {
  for (const style of ['loopback', 'host'] as const)
    test(`no Authorization → 401, AKV10000 and the challenge naming the vault's tenant (${style})`, async () => {
      const kv = kvClient(s, VAULT, null, style)
      // The SDKs' first request: no token and no body, even for PUT (answered before the body is looked at).
      for (const [method, path] of [
        ['GET', '/secrets/shared/'],
        ['PUT', '/secrets/new-one'],
        ['POST', '/secrets/restore'],
        ['GET', '/secrets'],
      ] as const) {
        const r = await kv.call(method, path)
        expectKvError(r, 401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.')
        assert.equal(r.headers['www-authenticate'], CHALLENGE(s.tenantId))
        assert.equal(r.headers['x-ms-keyvault-service-version'], '1.9.0.0')
        assert.equal(r.headers['cache-control'], 'no-cache')
      }
      // Not even an unknown api-version or a bad name gets past the challenge.
      const r = await kv.call('PUT', '/secrets/bad_name', { apiVersion: '0.1' })
      expectKvError(r, 401, 'Unauthorized', /^AKV10000/)
      // Nothing was written by the unauthenticated PUT.
      const get = await kvClient(s, VAULT, officerToken, style).call('GET', '/secrets/new-one')
      expectKvError(get, 404, 'SecretNotFound')
    })

  test('a non-Bearer scheme is a missing token', async () => {
    const r = await kvClient(s, VAULT, null).call('GET', '/secrets/shared', {
      headers: { authorization: 'Basic dXNlcjpwdw==' },
    })
    expectKvError(r, 401, 'Unauthorized', /^AKV10000/)
    assert.equal(r.headers['www-authenticate'], CHALLENGE(s.tenantId))
  })
})

describe('tokens Key Vault refuses: 401 with its message and the challenge', () => {
  test('wrong audience (an ARM token): AKV10022', async () => {
    const arm = await armToken(s, officer.clientId, officer.secret)
    const r = await kvClient(s, VAULT, arm).call('GET', '/secrets/shared')
    expectKvError(
      r,
      401,
      'Unauthorized',
      'AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://management.azure.com.',
    )
    assert.equal(r.headers['www-authenticate'], CHALLENGE(s.tenantId))
  })

  test('garbage, tampered and unsigned tokens: S2S17001', async () => {
    const [h, p] = officerToken.split('.')
    const claims = JSON.parse(Buffer.from(p as string, 'base64url').toString())
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, oid: 'attacker' })).toString('base64url')}.${officerToken.split('.')[2]}`
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`
    for (const bad of ['not-a-jwt', forged, none, `${officerToken}x`]) {
      const r = await kvClient(s, VAULT, bad).call('GET', '/secrets/shared')
      expectKvError(r, 401, 'Unauthorized', "[AggregatedAuthenticationFailure] Error validating token: 'S2S17001'.")
      assert.equal(r.headers['www-authenticate'], CHALLENGE(s.tenantId))
    }
  })

  test("a token of another tenant (known to azid, not the vault's): AKV10032", async () => {
    const other = '6a0c9e53-2f1d-4b7a-8e4c-1d2f3a4b5c6d'
    await s.server.directory.ensureTenant({
      id: other,
      domain: 'other.example',
      displayName: 'other',
      isDefault: false,
    })
    const { application } = await s.server.directory.createApplication({ tenantId: other, displayName: 'foreign' })
    const { secretText } = await s.server.directory.addPassword({ appId: application.appId })
    const t = await postForm(`${s.base}/${other}/oauth2/v2.0/token`, s.ca, {
      grant_type: 'client_credentials',
      client_id: application.appId,
      client_secret: secretText,
      scope: 'https://vault.azure.net/.default',
    })
    assert.equal(t.status, 200, t.text)
    const r = await kvClient(s, VAULT, t.json<{ access_token: string }>().access_token).call('GET', '/secrets/shared')
    expectKvError(
      r,
      401,
      'Unauthorized',
      `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${s.tenantId}/, found https://sts.windows.net/${other}/.`,
    )
    // The challenge names the vault's tenant, which is how the SDKs move to the right one.
    assert.equal(r.headers['www-authenticate'], CHALLENGE(s.tenantId))
  })

  test('an expired token: S2S12086; a fresh one works again', async () => {
    const token = await vaultToken(s, officer.clientId, officer.secret)
    const kv = kvClient(s, VAULT, token)
    expectOk(await kv.call('GET', '/secrets/shared'))
    clock.advance(2 * 3_600_000 + 6 * 60_000) // 1 h lifetime + 5 min skew, and then some
    // Every token issued before is now expired: the ones the later tests use are fetched afresh.
    admin = await adminClient(s)
    const r = await kv.call('GET', '/secrets/shared')
    expectKvError(r, 401, 'Unauthorized', "[TokenExpired] Error validating token: 'S2S12086'.")
    assert.equal(r.headers['www-authenticate'], CHALLENGE(s.tenantId))
    officerToken = await vaultToken(s, officer.clientId, officer.secret)
    expectOk(await kvClient(s, VAULT, officerToken).call('GET', '/secrets/shared'))
  })

  test('an unknown vault: 404 in the same envelope, before any token check', async () => {
    for (const style of ['loopback', 'host'] as const) {
      const r = await kvClient(s, 'no-such-vault', null, style).call('GET', '/secrets/x')
      expectKvError(r, 404, 'VaultNotFound', /^No key vault named 'no-such-vault' exists in azid/)
    }
  })
})

describe('RBAC dataActions per built-in role (api-shapes §7.1, §7.5)', () => {
  const users: Record<string, { p: Principal; token: string }> = {}
  const call = (who: string, method: string, path: string, body?: unknown) =>
    kvClient(s, VAULT, users[who]?.token ?? null).call(method, path, body === undefined ? {} : { body })

  before(async () => {
    for (const [name, role] of [
      ['user', KV_ROLE.SecretsUser],
      ['reader', KV_ROLE.Reader],
      ['administrator', KV_ROLE.Administrator],
      ['nobody', null],
    ] as const) {
      const p = await newPrincipal(s, `kv-${name}`)
      if (role) await grant(s, admin, vaultId, role, p.objectId)
      users[name] = { p, token: await vaultPrincipal(s, p) }
    }
  })

  const forbidden = (r: Awaited<ReturnType<typeof call>>, who: string, action: string, resource: string) => {
    const u = users[who] as { p: Principal }
    const e = expectKvError(r, 403, 'Forbidden', undefined, 'ForbiddenByRbac')
    assert.equal(
      e.message,
      'Caller is not authorized to perform action on resource.\r\n' +
        'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
        `Caller: appid=${u.p.clientId};oid=${u.p.objectId};iss=https://sts.windows.net/${s.tenantId}/\r\n` +
        `Action: 'Microsoft.KeyVault/vaults/secrets/${action}'\r\n` +
        `Resource: '${resource.toLowerCase()}'\r\n` +
        'Assignment: (not found)\r\n' +
        'DenyAssignmentId: null\r\n' +
        "DecisionReason: 'DeniedWithNoValidRBAC' \r\n" +
        `Vault: ${VAULT};location=westus\r\n`,
    )
  }

  test('Key Vault Secrets User reads values and metadata, and cannot set, delete or back up', async () => {
    const got = expectOk<SecretBundle>(await call('user', 'GET', '/secrets/shared'))
    assert.equal(got.value, 'p@ssw0rd!')
    expectOk(await call('user', 'GET', '/secrets'))
    expectOk(await call('user', 'GET', '/secrets/shared/versions'))
    forbidden(
      await call('user', 'PUT', '/secrets/shared', { value: 'x' }),
      'user',
      'setSecret/action',
      `${vaultId}/secrets/shared`,
    )
    forbidden(await call('user', 'DELETE', '/secrets/shared'), 'user', 'delete', `${vaultId}/secrets/shared`)
    forbidden(
      await call('user', 'POST', '/secrets/shared/backup'),
      'user',
      'backup/action',
      `${vaultId}/secrets/shared`,
    )
    forbidden(
      await call('user', 'PATCH', '/secrets/shared', { contentType: 'x' }),
      'user',
      'update/action',
      `${vaultId}/secrets/shared`,
    )
    // The refused set left the value alone.
    assert.equal(expectOk<SecretBundle>(await call('user', 'GET', '/secrets/shared')).value, 'p@ssw0rd!')
  })

  test('Key Vault Reader lists and reads metadata, but never a value', async () => {
    const list = expectOk<{ value: { id: string }[] }>(await call('reader', 'GET', '/secrets'))
    assert.ok(list.value.some((x) => x.id.endsWith('/secrets/shared')))
    expectOk(await call('reader', 'GET', '/secrets/shared/versions'))
    expectOk(await call('reader', 'GET', '/deletedsecrets'))
    forbidden(await call('reader', 'GET', '/secrets/shared'), 'reader', 'getSecret/action', `${vaultId}/secrets/shared`)
    forbidden(
      await call('reader', 'PUT', '/secrets/r', { value: 'x' }),
      'reader',
      'setSecret/action',
      `${vaultId}/secrets/r`,
    )
  })

  test('Key Vault Secrets Officer sets, updates, deletes, recovers, backs up and restores', async () => {
    const t = users.user as { token: string }
    const kv = kvClient(s, VAULT, officerToken)
    const set = expectOk<SecretBundle>(await kv.call('PUT', '/secrets/by-officer', { body: { value: 'one' } }))
    expectOk(await kv.call('PATCH', '/secrets/by-officer', { body: { tags: { a: 'b' } } }))
    const backup = expectOk<{ value: string }>(await kv.call('POST', '/secrets/by-officer/backup'))
    expectOk(await kv.call('DELETE', '/secrets/by-officer'))
    expectOk(await kv.call('POST', '/deletedsecrets/by-officer/recover'))
    expectOk(await kv.call('DELETE', '/secrets/by-officer'))
    assert.equal((await kv.call('DELETE', '/deletedsecrets/by-officer')).status, 204)
    const restored = expectOk<SecretBundle>(await kv.call('POST', '/secrets/restore', { body: backup }))
    assert.equal(restored.id, set.id)
    // A Secrets User reads what the officer wrote.
    assert.equal(
      expectOk<SecretBundle>(await kvClient(s, VAULT, t.token).call('GET', '/secrets/by-officer')).value,
      'one',
    )
  })

  test('Key Vault Administrator may do everything; a principal without a role nothing', async () => {
    const kv = kvClient(s, VAULT, (users.administrator as { token: string }).token)
    expectOk(await kv.call('PUT', '/secrets/by-admin', { body: { value: 'a' } }))
    assert.equal(expectOk<SecretBundle>(await kv.call('GET', '/secrets/by-admin')).value, 'a')
    expectOk(await kv.call('DELETE', '/secrets/by-admin'))
    assert.equal((await kv.call('DELETE', '/deletedsecrets/by-admin')).status, 204)
    forbidden(await call('nobody', 'GET', '/secrets'), 'nobody', 'readMetadata/action', vaultId)
    forbidden(await call('nobody', 'GET', '/secrets/shared'), 'nobody', 'getSecret/action', `${vaultId}/secrets/shared`)
    forbidden(await call('nobody', 'POST', '/secrets/restore', { value: 'AAAA' }), 'nobody', 'restore/action', vaultId)
  })

  test('an assignment at one secret grants that secret only; the granting assignment is named in a header', async () => {
    const p = await newPrincipal(s, 'kv-one-secret')
    await grant(s, admin, `${vaultId}/secrets/shared`, KV_ROLE.SecretsUser, p.objectId)
    const kv = kvClient(s, VAULT, await vaultPrincipal(s, p))
    const ok = await kv.call('GET', '/secrets/SHARED')
    assert.equal(expectOk<SecretBundle>(ok).value, 'p@ssw0rd!')
    assert.match(String(ok.headers['x-ms-keyvault-rbac-assignment-id']), /^[0-9a-f-]{36}$/)
    expectOk(await kvClient(s, VAULT, officerToken).call('PUT', '/secrets/other', { body: { value: 'o' } }))
    expectKvError(await kv.call('GET', '/secrets/other'), 403, 'Forbidden', /getSecret\/action/, 'ForbiddenByRbac')
    expectKvError(await kv.call('GET', '/secrets'), 403, 'Forbidden', /readMetadata\/action/, 'ForbiddenByRbac')
  })

  test('every decision is audited, never with a secret value', async () => {
    const r = await call('user', 'PUT', '/secrets/audited', { value: 'very-secret-value' })
    const requestId = String(r.headers['x-ms-request-id'])
    await s.server.audit.flush()
    const events = await authorizationEvents(s, requestId)
    assert.equal(events.length, 1)
    const e = events[0] as (typeof events)[number]
    assert.equal(e.result, 'failure')
    assert.equal(e.principalId, (users.user as { p: Principal }).p.objectId)
    assert.equal(e.details?.action, 'Microsoft.KeyVault/vaults/secrets/setSecret/action')
    assert.equal(e.details?.scope, `${vaultId}/secrets/audited`)
    const ok = await call('user', 'GET', '/secrets/shared')
    const allowed = await authorizationEvents(s, String(ok.headers['x-ms-request-id']))
    assert.match(String(allowed[0]?.reason), /^allowed by Key Vault Secrets User at /)
    const challenge = await kvClient(s, VAULT, null).call('GET', '/secrets/shared')
    const c = await authorizationEvents(s, String(challenge.headers['x-ms-request-id']))
    assert.equal(c[0]?.errorCode, 'MissingToken')
    const everything = JSON.stringify(await authorizationEvents(s))
    assert.doesNotMatch(everything, /very-secret-value|p@ssw0rd/)
  })
})
