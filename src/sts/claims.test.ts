import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sequentialIds } from '../kernel/ids.ts'
import {
  type AppTokenInput,
  type UserTokenInput,
  appTokenClaims,
  clientInfo,
  expiresIn,
  idTokenClaims,
  tokenWindow,
  userTokenClaims,
  v1Issuer,
  v2Issuer,
} from './claims.ts'

const NOW = Date.UTC(2024, 6, 9, 4, 40, 0) // a whole second
const NOW_S = NOW / 1000
const HOUR = 3_600_000
const TID = '4f1c2a9e-6b3d-4e8a-9c71-2d5f0b8e3a14'
const ORIGIN = 'https://login.microsoftonline.com'
const MI_CLIENT = 'c1d2e3f4-0000-4000-8000-000000000001'
const MI_PRINCIPAL = 'a1b2c3d4-0000-4000-8000-000000000002'
const MIRID =
  '/subscriptions/9b6d3c2e-1f4a-4d8b-a7e5-3c0f1b2d4e6a/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/vm1'
const TENANT_CREATED = Date.UTC(2024, 6, 4, 5, 34, 14, 500)

describe('tokenWindow and expiresIn', () => {
  test('TOK-005: nbf = iat = now − 300, exp = now + lifetime, expires_on − not_before = 3900 for 1 h', () => {
    const w = tokenWindow(NOW, HOUR)
    assert.deepEqual(w, { iat: NOW_S - 300, nbf: NOW_S - 300, exp: NOW_S + 3600 })
    assert.equal(w.exp - w.nbf, 3900)
  })

  test('TOK-005: a 1 h token says expires_in 3599, on a whole second and within one', () => {
    for (const now of [NOW, NOW + 1, NOW + 500, NOW + 999]) {
      const w = tokenWindow(now, HOUR)
      assert.equal(expiresIn(now, w.exp), 3599, `now = ${now}`)
    }
  })

  test('expiresIn counts down and never goes negative; sub-second lifetimes truncate', () => {
    const w = tokenWindow(NOW, HOUR)
    assert.equal(expiresIn(NOW + 600_000, w.exp), 2999)
    assert.equal(expiresIn(NOW + HOUR, w.exp), 0)
    assert.equal(expiresIn(NOW + 2 * HOUR, w.exp), 0)
    assert.equal(tokenWindow(NOW + 999, 1999).exp, NOW_S + 1)
    assert.equal(tokenWindow(NOW, 24 * HOUR).exp - tokenWindow(NOW, 24 * HOUR).iat, 86_700)
  })

  test('issuers: v1 is sts.windows.net with a trailing slash, v2 the origin the client used', () => {
    assert.equal(v1Issuer(TID), `https://sts.windows.net/${TID}/`)
    assert.equal(v2Issuer('https://127.0.0.1:44300', TID), `https://127.0.0.1:44300/${TID}/v2.0`)
  })
})

const appInput = (over: Partial<AppTokenInput> = {}): AppTokenInput => ({
  version: 1,
  tenantId: TID,
  tenantCreatedAt: TENANT_CREATED,
  audience: 'https://management.azure.com/',
  clientId: MI_CLIENT,
  principalId: MI_PRINCIPAL,
  clientAuth: '2',
  window: tokenWindow(NOW, 24 * HOUR),
  origin: ORIGIN,
  ids: sequentialIds('claims'),
  ...over,
})

/** api-shapes §8.3 (a real v1 MI token) without the undocumented xms_act_fct/xms_ftd/xms_idrel/xms_rd/xms_sub_fct. */
const V1_APP_KEYS = [
  'aud',
  'iss',
  'iat',
  'nbf',
  'exp',
  'aio',
  'appid',
  'appidacr',
  'idp',
  'idtyp',
  'oid',
  'rh',
  'sub',
  'tid',
  'uti',
  'ver',
  'xms_mirid',
  'xms_tcdt',
]
const NEVER_IN_APP_TOKENS = ['scp', 'name', 'upn', 'unique_name', 'preferred_username', 'amr', 'acr', 'given_name']

describe('appTokenClaims', () => {
  test('TOK-009: v1 app-only claims are exactly the api-shapes §8.3 set, in its order', () => {
    const c = appTokenClaims(appInput({ managedIdentityResourceId: MIRID }))
    assert.deepEqual(Object.keys(c), V1_APP_KEYS)
    assert.equal(c.aud, 'https://management.azure.com/')
    assert.equal(c.iss, `https://sts.windows.net/${TID}/`)
    assert.equal(c.idp, c.iss)
    assert.equal(c.appid, MI_CLIENT)
    assert.equal(c.appidacr, '2')
    assert.equal(c.idtyp, 'app')
    assert.equal(c.oid, MI_PRINCIPAL)
    assert.equal(c.sub, MI_PRINCIPAL)
    assert.equal(c.tid, TID)
    assert.equal(c.ver, '1.0')
    assert.equal(c.xms_mirid, MIRID)
    assert.equal(c.xms_tcdt, Math.floor(TENANT_CREATED / 1000))
    assert.equal(c.iat, NOW_S - 300)
    assert.equal(c.nbf, NOW_S - 300)
    assert.equal(c.exp, NOW_S + 86_400)
    assert.match(c.rh as string, /^1\.A[A-Za-z0-9_-]+\.$/)
    assert.match(c.uti as string, /^[A-Za-z0-9_-]{22}$/)
    assert.match(c.aio as string, /^[A-Za-z0-9_-]+$/)
    for (const k of NEVER_IN_APP_TOKENS) assert.ok(!(k in c), k)
  })

  test('xms_mirid only when given; roles and xms_cc only when non-empty', () => {
    for (const mirid of [undefined, null]) {
      const c = appTokenClaims(appInput(mirid === undefined ? {} : { managedIdentityResourceId: mirid }))
      assert.deepEqual(
        Object.keys(c),
        V1_APP_KEYS.filter((k) => k !== 'xms_mirid'),
      )
    }
    const empty = appTokenClaims(appInput({ roles: [], clientCapabilities: [] }))
    assert.ok(!('roles' in empty) && !('xms_cc' in empty))
    const c = appTokenClaims(appInput({ roles: ['Application.Read.All'], clientCapabilities: ['cp1'] }))
    assert.deepEqual(c.roles, ['Application.Read.All'])
    assert.deepEqual(c.xms_cc, ['cp1'])
    assert.ok(Object.keys(c).indexOf('roles') < Object.keys(c).indexOf('sub'))
  })

  test('v2: azp/azpacr instead of appid/appidacr, issuer under the origin, no idp', () => {
    const c = appTokenClaims(
      appInput({ version: 2, audience: '20000000-0000-4000-8000-000000000001', clientAuth: '1', origin: ORIGIN }),
    )
    assert.equal(c.iss, `${ORIGIN}/${TID}/v2.0`)
    assert.equal(c.azp, MI_CLIENT)
    assert.equal(c.azpacr, '1')
    assert.equal(c.ver, '2.0')
    assert.equal(c.idtyp, 'app')
    for (const k of ['appid', 'appidacr', 'idp', ...NEVER_IN_APP_TOKENS]) assert.ok(!(k in c), k)
  })

  test('opaque claims differ between tokens', () => {
    const ids = sequentialIds('twice')
    const a = appTokenClaims(appInput({ ids }))
    const b = appTokenClaims(appInput({ ids }))
    assert.notEqual(a.uti, b.uti)
    assert.notEqual(a.aio, b.aio)
  })
})

const USER = {
  objectId: 'u0000000-0000-4000-8000-000000000001',
  userPrincipalName: 'admin@azid.onmicrosoft.com',
  displayName: 'Ada Byron King',
}

const userInput = (over: Partial<UserTokenInput> = {}): UserTokenInput => ({
  version: 1,
  tenantId: TID,
  tenantCreatedAt: TENANT_CREATED,
  audience: 'https://management.core.windows.net/',
  clientId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
  clientAuth: '0',
  user: USER,
  scopes: ['user_impersonation'],
  window: tokenWindow(NOW, HOUR),
  origin: ORIGIN,
  ids: sequentialIds('user'),
  sub: 'pairwise-sub',
  ...over,
})

describe('userTokenClaims', () => {
  test('TOK-009: v1 user tokens carry scp, upn and unique_name, and no preferred_username', () => {
    const c = userTokenClaims(userInput())
    assert.equal(c.iss, `https://sts.windows.net/${TID}/`)
    assert.equal(c.scp, 'user_impersonation')
    assert.equal(c.upn, USER.userPrincipalName)
    assert.equal(c.unique_name, USER.userPrincipalName)
    assert.equal(c.name, 'Ada Byron King')
    assert.equal(c.given_name, 'Ada')
    assert.equal(c.family_name, 'Byron King')
    assert.equal(c.idtyp, 'user')
    assert.equal(c.appid, '04b07795-8ddb-461a-bbee-02f9e1bf7b46')
    assert.equal(c.appidacr, '0')
    assert.equal(c.oid, USER.objectId)
    assert.equal(c.sub, 'pairwise-sub')
    assert.deepEqual(c.amr, ['pwd'])
    assert.equal(c.ver, '1.0')
    for (const k of ['preferred_username', 'azp', 'azpacr', 'idp']) assert.ok(!(k in c), k)
  })

  test('v2 user tokens carry preferred_username and azp, and no upn/unique_name', () => {
    const c = userTokenClaims(userInput({ version: 2, scopes: ['User.Read', 'Mail.Read'] }))
    assert.equal(c.iss, `${ORIGIN}/${TID}/v2.0`)
    assert.equal(c.preferred_username, USER.userPrincipalName)
    assert.equal(c.scp, 'User.Read Mail.Read')
    assert.equal(c.azp, '04b07795-8ddb-461a-bbee-02f9e1bf7b46')
    assert.equal(c.azpacr, '0')
    assert.equal(c.ver, '2.0')
    for (const k of ['upn', 'unique_name', 'appid', 'appidacr']) assert.ok(!(k in c), k)
  })

  test('a one-word display name gives no family_name', () => {
    const c = userTokenClaims(userInput({ user: { ...USER, displayName: 'admin' } }))
    assert.equal(c.given_name, 'admin')
    assert.ok(!('family_name' in c))
  })
})

describe('idTokenClaims and clientInfo', () => {
  const base = {
    tenantId: TID,
    clientId: 'client-1',
    user: USER,
    window: tokenWindow(NOW, HOUR),
    origin: ORIGIN,
    sub: 'pairwise-sub',
    ids: sequentialIds('id'),
  }

  test('id tokens are for the client; nonce only when given; v1 adds upn/unique_name', () => {
    const v2 = idTokenClaims({ ...base, version: 2, nonce: 'n-1' })
    assert.equal(v2.aud, 'client-1')
    assert.equal(v2.iss, `${ORIGIN}/${TID}/v2.0`)
    assert.equal(v2.nonce, 'n-1')
    assert.equal(v2.preferred_username, USER.userPrincipalName)
    assert.ok(!('upn' in v2))
    const v1 = idTokenClaims({ ...base, version: 1, nonce: null })
    assert.ok(!('nonce' in v1))
    assert.equal(v1.iss, `https://sts.windows.net/${TID}/`)
    assert.equal(v1.upn, USER.userPrincipalName)
    assert.equal(v1.ver, '1.0')
  })

  test('client_info is base64url JSON of uid and utid', () => {
    const raw = clientInfo('oid-1', TID)
    assert.match(raw, /^[A-Za-z0-9_-]+$/)
    assert.deepEqual(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')), { uid: 'oid-1', utid: TID })
  })
})
