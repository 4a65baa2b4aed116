// Azure Arc's challenge flow on a Microsoft.HybridCompute machine: a 401 naming a key file under
// /var/opt/azcmagent/tokens, then the retry with the file's contents (HOST-004; docs/wire/mi-endpoints.md §4).
// The directory is the real one the clients insist on, so this needs root; every entry it causes is removed.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { need } from '../../support/tiers.ts'
import { V, expectArmError } from '../arm/helpers.ts'
import { type Ctx, IDENTITY_NOT_FOUND, type Res, decodeJwt, endpoint, http, setup, uami } from './helpers.ts'

const DIR = '/var/opt/azcmagent/tokens'
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
/** What existed before: only what this file causes is removed. */
const existed = { agent: existsSync('/var/opt/azcmagent'), dir: existsSync(DIR), files: new Set<string>() }
const caused = new Set<string>()

let c: Ctx
let arcPath: string
let principalId: string
let url: string
before(async () => {
  if (existed.dir) for (const f of readdirSync(DIR)) existed.files.add(f)
  c = await setup()
  arcPath = `${c.p.rg('rg')}/providers/Microsoft.HybridCompute/machines/arc-box`
  const r = await c.admin.put(arcPath, V.arc, { location: 'westus', identity: { type: 'SystemAssigned' } })
  assert.equal(r.status, 201, r.text)
  principalId = r.json<{ identity: { principalId: string } }>().identity.principalId
  const e = await endpoint(c.s, arcPath)
  assert.equal(e.flavour, 'arc')
  assert.equal(e.env.IDENTITY_ENDPOINT, `${e.hostUrl}/metadata/identity/oauth2/token`)
  assert.equal(e.env.IMDS_ENDPOINT, e.hostUrl)
  url = `${e.env.IDENTITY_ENDPOINT}?api-version=2020-06-01&resource=${encodeURIComponent('https://management.azure.com/')}`
})
after(async () => {
  await c?.s.stop()
  // Only the files this file's requests caused (other processes may use the directory at the same time), then the
  // directories if this run created them and they are empty (rmdir refuses a non-empty one).
  for (const f of caused) if (!existed.files.has(f)) rmSync(`${DIR}/${f}`, { force: true })
  const rmdir = (d: string) => {
    try {
      rmdirSync(d)
    } catch {}
  }
  if (!existed.dir) rmdir(DIR)
  if (!existed.agent) rmdir('/var/opt/azcmagent')
})

/** Checks a challenge and returns the key file's path. */
function challenge(r: Res): string {
  assert.equal(r.status, 401, r.text)
  const h = String(r.headers['www-authenticate'])
  const m = /^Basic realm=(\/var\/opt\/azcmagent\/tokens\/([0-9a-f-]{36})\.key)$/.exec(h)
  assert.ok(m, h)
  caused.add(`${m[2]}.key`)
  assert.match(String(r.headers['content-type']), /^application\/json/)
  const body = r.json<{ error: string; error_description: string }>()
  assert.equal(body.error, 'unauthorized_client')
  assert.ok(body.error_description)
  return m[1] as string
}

test('§4: first request 401 with WWW-Authenticate: Basic realm=<file>; the file holds the key without a newline; the retry gets the token', async (t) => {
  if (!need(t, isRoot ? null : 'the Arc key directory /var/opt/azcmagent/tokens needs root')) return
  const first = await http(url, { headers: { Metadata: 'true' } })
  const file = challenge(first)
  const key = readFileSync(file, 'utf8')
  assert.ok(key.length > 16 && key.length <= 4096)
  assert.doesNotMatch(key, /[\r\n]/)
  assert.equal(statSync(file).mode & 0o777, 0o600)
  // The clients' rules on the path: exactly <dir>/<basename>, suffix .key, no '=' in it.
  assert.ok(!file.slice('Basic realm='.length).includes('='))
  const ok = await http(url, { headers: { Metadata: 'true', Authorization: `Basic ${key}` } })
  assert.equal(ok.status, 200, ok.text)
  const body = ok.json<Record<string, string>>()
  assert.deepEqual(Object.keys(body), [
    'access_token',
    'client_id',
    'expires_in',
    'expires_on',
    'ext_expires_in',
    'not_before',
    'refresh_token',
    'resource',
    'token_type',
  ])
  assert.equal(body.resource, 'https://management.azure.com/')
  const claims = decodeJwt(body.access_token as string).claims
  assert.equal(claims.oid, principalId)
  assert.equal(claims.xms_mirid, arcPath.replace('/resourceGroups/', '/resourcegroups/'))
  // The key is used up and its file removed.
  assert.equal(existsSync(file), false)
  const reuse = await http(url, { headers: { Metadata: 'true', Authorization: `Basic ${key}` } })
  const again = challenge(reuse)
  assert.notEqual(again, file)
  rmSync(again, { force: true })
})

test('§4: a wrong key gets a fresh challenge; a key is bound to its host; Metadata and api-version are required', async (t) => {
  if (!need(t, isRoot ? null : 'the Arc key directory /var/opt/azcmagent/tokens needs root')) return
  const wrong = await http(url, { headers: { Metadata: 'true', Authorization: 'Basic not-a-key' } })
  rmSync(challenge(wrong), { force: true })
  // A second Arc machine's key does not open the first one's endpoint.
  const other = `${c.p.rg('rg')}/providers/Microsoft.HybridCompute/machines/arc-other`
  assert.equal(
    (await c.admin.put(other, V.arc, { location: 'westus', identity: { type: 'SystemAssigned' } })).status,
    201,
  )
  const e2 = await endpoint(c.s, other)
  const url2 = `${e2.env.IDENTITY_ENDPOINT}?api-version=2019-11-01&resource=https://vault.azure.net`
  const file2 = challenge(await http(url2, { headers: { Metadata: 'true' } }))
  const key2 = readFileSync(file2, 'utf8')
  const cross = await http(url, { headers: { Metadata: 'true', Authorization: `Basic ${key2}` } })
  rmSync(challenge(cross), { force: true })
  // The refused key's file is gone with it.
  assert.equal(existsSync(file2), false)
  // The key was consumed by the refused attempt as well.
  const late = await http(url2, { headers: { Metadata: 'true', Authorization: `Basic ${key2}` } })
  rmSync(challenge(late), { force: true })
  const noMd = await http(url, {})
  assert.equal(noMd.status, 400)
  assert.equal(noMd.text, '{"error":"invalid_request","error_description":"Required metadata header not specified"}')
  const noVersion = await http(url.replace('api-version=2020-06-01&', ''), { headers: { Metadata: 'true' } })
  assert.equal(noVersion.status, 400)
  assert.equal(
    noVersion.json<{ error_description: string }>().error_description,
    "Required query variable 'api-version' is missing",
  )
  const oldVersion = await http(url.replace('2020-06-01', '2018-02-01'), { headers: { Metadata: 'true' } })
  assert.equal(oldVersion.status, 400)
})

test('§4, HOST-004: an Arc machine refuses UserAssigned at ARM; deleting it leaves its endpoint answering 400', async (t) => {
  const U = await uami(c, 'arc-ua')
  for (const type of ['UserAssigned', 'SystemAssigned, UserAssigned'])
    expectArmError(
      await c.admin.patch(arcPath, V.arc, { identity: { type, userAssignedIdentities: { [U.id]: {} } } }),
      400,
      'CannotSetResourceIdentity',
      `Resource type 'Microsoft.HybridCompute/machines' does not support creation of '${type}' resource identity. The supported types are 'SystemAssigned, None'.`,
    )
  if (!need(t, isRoot ? null : 'the Arc key directory /var/opt/azcmagent/tokens needs root')) return
  const doomed = `${c.p.rg('rg')}/providers/Microsoft.HybridCompute/machines/arc-doomed`
  assert.equal(
    (await c.admin.put(doomed, V.arc, { location: 'westus', identity: { type: 'SystemAssigned' } })).status,
    201,
  )
  const e = await endpoint(c.s, doomed)
  const u = `${e.env.IDENTITY_ENDPOINT}?api-version=2020-06-01&resource=https://management.azure.com/`
  const key = readFileSync(challenge(await http(u, { headers: { Metadata: 'true' } })), 'utf8')
  assert.equal((await c.admin.del(doomed, V.arc)).status, 200)
  const gone = await http(u, { headers: { Metadata: 'true', Authorization: `Basic ${key}` } })
  assert.equal(gone.status, 400)
  assert.equal(gone.text, IDENTITY_NOT_FOUND)
})
