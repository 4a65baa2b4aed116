// The IMDS identity endpoint over a host's loopback listener: success body, cache, resource echo, JWT claims,
// identity selection and every refusal, with the audit trail (IMDS-001..014, TOK-001/002/005/009, CACHE-002,
// ERR-003, SCN-04 a–i; docs/wire/mi-endpoints.md §1).
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, test } from 'node:test'
import {
  ARM_RESOURCE,
  type Ctx,
  IDENTITY_NOT_FOUND,
  MD,
  TOKEN_PATH,
  type Uami,
  decodeJwt,
  expectImdsError,
  http,
  imds,
  imdsBase,
  logs,
  miridOf,
  putVm,
  q,
  setup,
  sleep,
  uami,
} from './helpers.ts'

let c: Ctx
let U1: Uami
let U2: Uami
let U3: Uami
/** VM ids and their IMDS base URLs. */
const vm: Record<string, { id: string; principalId?: string; base: string }> = {}

before(async () => {
  c = await setup()
  U1 = await uami(c, 'ua-one')
  U2 = await uami(c, 'ua-two')
  U3 = await uami(c, 'ua-three')
  const make = async (name: string, identity?: { sa?: boolean; ua?: Uami[] }) => {
    const v = await putVm(c, name, identity)
    vm[name] = {
      id: v.path,
      ...(v.identity?.principalId ? { principalId: v.identity.principalId } : {}),
      base: await imdsBase(c.s, v.path),
    }
  }
  await make('vm-sa', { sa: true })
  await make('vm-mix', { sa: true, ua: [U1] })
  await make('vm-one-ua', { ua: [U2] })
  await make('vm-two-ua', { ua: [U1, U2] })
  await make('vm-other', { sa: true, ua: [U3] })
  await make('vm-none')
})
after(() => c.s.stop())

const base = (name: string) => (vm[name] as { base: string }).base
const SUCCESS_KEYS = [
  'access_token',
  'client_id',
  'expires_in',
  'expires_on',
  'ext_expires_in',
  'not_before',
  'refresh_token',
  'resource',
  'token_type',
]
type Body = Record<string, string>

/** A 200 IMDS answer: headers, keys in order, every value a string; returns the body and the token's claims. */
function ok(r: Awaited<ReturnType<typeof http>>) {
  assert.equal(r.status, 200, r.text)
  assert.equal(r.statusMessage, 'OK')
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  assert.match(String(r.headers.server), /^IMDS\/150\.870\.65\./)
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.text))
  const body = r.json<Body>()
  assert.deepEqual(Object.keys(body), SUCCESS_KEYS, r.text)
  for (const [k, v] of Object.entries(body)) assert.equal(typeof v, 'string', `${k} is a string`)
  for (const k of ['expires_in', 'expires_on', 'ext_expires_in', 'not_before']) assert.match(body[k] as string, /^\d+$/)
  assert.equal(body.token_type, 'Bearer')
  assert.equal(body.refresh_token, '')
  return { body, claims: decodeJwt(body.access_token as string).claims }
}

const now = () => Math.floor(Date.now() / 1000)

test('SCN-04 a: SA only, no selector → the SA token; TOK-001/002 body shape, TOK-005 24 h lifetime, TOK-009 claims', async () => {
  const sa = vm['vm-sa'] as { id: string; principalId: string }
  const sp = await c.s.server.directory.store.getServicePrincipal(sa.principalId)
  assert.ok(sp)
  const before = now()
  const { body, claims } = ok(await imds(base('vm-sa'), q()))
  const after = now()
  assert.equal(body.client_id, sp.appId)
  assert.equal(body.resource, ARM_RESOURCE)
  // 24 h from issuance; not_before is backdated 5 min as Entra does (expires_on − not_before = 86700, §1.1).
  const exp = Number(body.expires_on)
  assert.ok(exp >= before + 86400 && exp <= after + 86400, `${exp} is 24 h from now`)
  assert.equal(exp - Number(body.not_before), 86700)
  assert.ok(Number(body.expires_in) >= 86399 && Number(body.expires_in) <= 86400, body.expires_in)
  assert.equal(body.ext_expires_in, '86399')
  // The JWT: v1, for this principal and this VM.
  assert.equal(claims.ver, '1.0')
  assert.equal(claims.aud, ARM_RESOURCE)
  assert.equal(claims.iss, `https://sts.windows.net/${c.s.tenantId}/`)
  assert.equal(claims.idp, `https://sts.windows.net/${c.s.tenantId}/`)
  assert.equal(claims.tid, c.s.tenantId)
  assert.equal(claims.oid, sa.principalId)
  assert.equal(claims.sub, sa.principalId)
  assert.equal(claims.appid, sp.appId)
  assert.equal(claims.appidacr, '2')
  assert.equal(claims.exp, exp)
  assert.equal(claims.nbf, Number(body.not_before))
  assert.equal(claims.xms_mirid, miridOf(sa.id))
  assert.match(String(claims.xms_mirid), /\/resourcegroups\/rg\/providers\/Microsoft\.Compute\/virtualMachines\/vm-sa$/)
  assert.equal((claims.exp as number) - (claims.iat as number), 86700)
})

test('SCN-04 h, CACHE-002: a second call returns the cached token; expires_in counts down, expires_on stays; one issuance event', async () => {
  const host = vm['vm-mix'] as { id: string }
  const resource = 'https://storage.azure.com/'
  const first = ok(await imds(base('vm-mix'), q('', resource))).body
  await sleep(1100)
  const second = ok(await imds(base('vm-mix'), q('', resource))).body
  assert.equal(second.access_token, first.access_token)
  assert.equal(second.expires_on, first.expires_on)
  assert.equal(second.not_before, first.not_before)
  assert.equal(second.ext_expires_in, first.ext_expires_in)
  assert.ok(Number(second.expires_in) < Number(first.expires_in), `${second.expires_in} < ${first.expires_in}`)
  const left = Number(second.expires_on) - now()
  assert.ok(Number(second.expires_in) - left <= 1 && Number(second.expires_in) >= left, 'expires_in = expires_on − now')
  // Issuance is audited (with the host); the cache hit is not.
  const events = (await logs(c.s, `kind=token&result=success&host=${encodeURIComponent(host.id)}`)).filter(
    (e) => e.audience === resource,
  )
  assert.equal(events.length, 1, JSON.stringify(events))
  assert.equal(events[0]?.grantType, 'managed_identity')
  assert.equal(events[0]?.host, host.id)
})

test('IMDS-003/004, TOK-003: resource echoed exactly, raw, fully encoded, partly encoded, with and without the slash', async () => {
  const b = base('vm-mix')
  const raw = ok(await imds(b, 'api-version=2018-02-01&resource=https://management.azure.com/'))
  const enc = ok(await imds(b, 'api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F'))
  const part = ok(
    await imds(b, `resource=https%3A%2F%2Fmanagement.azure.com/&client_id=${U1.clientId}&api-version=2018-02-01`),
  )
  for (const r of [raw, enc, part]) {
    assert.equal(r.body.resource, 'https://management.azure.com/')
    assert.equal(r.claims.aud, 'https://management.azure.com/')
  }
  // The same decoded resource is the same cache entry.
  assert.equal(enc.body.access_token, raw.body.access_token)
  // The partly encoded request named UA1.
  assert.equal(part.claims.oid, U1.principalId)
  const noSlash = ok(await imds(b, 'api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com'))
  assert.equal(noSlash.body.resource, 'https://management.azure.com')
  assert.equal(noSlash.claims.aud, 'https://management.azure.com')
  assert.notEqual(noSlash.body.access_token, raw.body.access_token)
  const vault = ok(await imds(b, 'api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net'))
  assert.equal(vault.body.resource, 'https://vault.azure.net')
  assert.equal(vault.claims.aud, 'https://vault.azure.net')
  // Later api-versions are accepted too (IMDS-002).
  ok(await imds(b, 'api-version=2019-08-01&resource=https://management.azure.com/'))
  ok(await imds(b, 'api-version=2025-04-07&resource=https://management.azure.com/'))
})

test('SCN-04 b: SA + UA1 → SA by default; client_id, object_id, msi_res_id, mi_res_id select UA1 (IMDS-006/007)', async () => {
  const mix = vm['vm-mix'] as { id: string; principalId: string }
  const b = base('vm-mix')
  assert.equal(ok(await imds(b, q())).claims.oid, mix.principalId)
  for (const sel of [
    `client_id=${U1.clientId}`,
    `client_id=${U1.clientId.toUpperCase()}`,
    `object_id=${U1.principalId}`,
    `msi_res_id=${encodeURIComponent(U1.id)}`,
    `mi_res_id=${encodeURIComponent(U1.id)}`,
    `mi_res_id=${encodeURIComponent(miridOf(U1.id))}`,
  ]) {
    const { body, claims } = ok(await imds(b, q(sel)))
    assert.equal(claims.oid, U1.principalId, sel)
    assert.equal(claims.appid, U1.clientId, sel)
    assert.equal(body.client_id, U1.clientId, sel)
    // xms_mirid of a user-assigned token is the identity's own id.
    assert.equal(claims.xms_mirid, miridOf(U1.id), sel)
  }
  // The SA can be named too.
  const sp = await c.s.server.directory.store.getServicePrincipal(mix.principalId)
  assert.equal(ok(await imds(b, q(`client_id=${sp?.appId}`))).claims.oid, mix.principalId)
  assert.equal(ok(await imds(b, q(`object_id=${mix.principalId}`))).claims.oid, mix.principalId)
})

test('SCN-04 c/d: one UA is the default; two UAs and no selector → 400 with the exact text; a selector resolves it', async () => {
  assert.equal(ok(await imds(base('vm-one-ua'), q())).claims.oid, U2.principalId)
  const r = await imds(base('vm-two-ua'), q())
  assert.equal(
    r.text,
    '{"error":"invalid_request","error_description":"Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"}',
  )
  expectImdsError(r, 400, 'invalid_request', /^Multiple user assigned identities exist/)
  assert.equal(ok(await imds(base('vm-two-ua'), q(`client_id=${U2.clientId}`))).claims.oid, U2.principalId)
  assert.equal(ok(await imds(base('vm-two-ua'), q(`mi_res_id=${U1.id}`))).claims.oid, U1.principalId)
  // No identity at all → Identity not found (the real 68-byte body).
  const none = await imds(base('vm-none'), q())
  assert.equal(none.status, 400)
  assert.equal(none.text, IDENTITY_NOT_FOUND)
  assert.equal(none.headers['content-length'], '68')
})

test('SCN-04 g: a selector for an identity of another VM, or unknown → 400 Identity not found; two selectors → 400', async () => {
  const other = vm['vm-other'] as { principalId: string }
  for (const sel of [
    `client_id=${U3.clientId}`,
    `object_id=${U3.principalId}`,
    `object_id=${other.principalId}`,
    `msi_res_id=${U3.id}`,
    `mi_res_id=${U3.id}`,
    'client_id=00000000-0000-0000-0000-000000000000',
    'client_id=not-a-guid',
  ]) {
    const r = await imds(base('vm-mix'), q(sel))
    assert.equal(r.status, 400, sel)
    assert.equal(r.text, IDENTITY_NOT_FOUND, sel)
  }
  const two = 'Only one of client_id, object_id and msi_res_id may be specified'
  for (const sel of [
    `client_id=${U1.clientId}&object_id=${U1.principalId}`,
    `client_id=${U1.clientId}&mi_res_id=${U1.id}`,
    `msi_res_id=${U1.id}&mi_res_id=${U1.id}`,
    `client_id=${U1.clientId}&client_id=${U1.clientId}`,
  ])
    expectImdsError(await imds(base('vm-mix'), q(sel)), 400, 'invalid_request', two)
})

test('SCN-04 e, IMDS-005/014: Metadata missing or not exactly "true" → 400; the no-query probe gets the same quick 400', async () => {
  const exact = '{"error":"invalid_request","error_description":"Required metadata header not specified"}'
  const b = base('vm-sa')
  const variants: Record<string, string>[] = [
    {},
    { Metadata: 'True' },
    { Metadata: 'TRUE' },
    { Metadata: 'false' },
    { Metadata: '' },
  ]
  for (const headers of variants) {
    const r = await imds(b, q(), headers)
    assert.equal(r.status, 400, JSON.stringify(headers))
    assert.equal(r.statusMessage, 'Bad Request')
    assert.equal(r.text, exact, JSON.stringify(headers))
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  }
  // The SDK probe: no query, no header.
  const probe = await http(`${b}${TOKEN_PATH}`)
  assert.equal(probe.status, 400)
  assert.equal(probe.text, exact)
  // The header name is matched case-insensitively.
  ok(await imds(b, q(), { metadata: 'true' }))
  ok(await imds(b, q(), { METADATA: 'true' }))
})

test('IMDS-014 a, ERR-003: X-Forwarded-For → 400, POST → 405, api-version missing/unknown → 400, resource missing/repeated → 400', async () => {
  const b = base('vm-sa')
  expectImdsError(
    await imds(b, q(), { ...MD, 'X-Forwarded-For': '10.0.0.1' }),
    400,
    'invalid_request',
    'Requests with an X-Forwarded-For header are not accepted',
  )
  const post = await http(`${b}${TOKEN_PATH}?${q()}`, { method: 'POST', headers: MD, body: '' })
  expectImdsError(post, 405, 'invalid_request', "The HTTP method (verb) isn't supported on the endpoint")
  assert.equal(post.statusMessage, 'Method Not Allowed')
  expectImdsError(
    await imds(b, `resource=${ARM_RESOURCE}`),
    400,
    'invalid_request',
    "Required query variable 'api-version' is missing",
  )
  expectImdsError(
    await imds(b, `api-version=&resource=${ARM_RESOURCE}`),
    400,
    'invalid_request',
    "Required query variable 'api-version' is missing",
  )
  for (const v of ['2017-12-01', '2099-01-01', 'latest'])
    expectImdsError(
      await imds(b, `api-version=${v}&resource=${ARM_RESOURCE}`),
      400,
      'invalid_request',
      `Invalid value for query variable 'api-version': '${v}'`,
    )
  for (const query of ['api-version=2018-02-01', 'api-version=2018-02-01&resource='])
    expectImdsError(await imds(b, query), 400, 'invalid_request', "Required query variable 'resource' is missing")
  // A repeated parameter is refused (instance-metadata-service.md: duplicate names are rejected).
  expectImdsError(
    await imds(b, `api-version=2018-02-01&resource=${ARM_RESOURCE}&resource=https://vault.azure.net`),
    400,
    'invalid_request',
    "Duplicate query parameter 'resource'",
  )
  expectImdsError(
    await imds(b, `api-version=2018-02-01&api-version=2018-02-01&resource=${ARM_RESOURCE}`),
    400,
    'invalid_request',
    "Duplicate query parameter 'api-version'",
  )
})

test('SCN-04 f, ERR-007: unknown resource → 400 invalid_resource with AADSTS500011 and the trace lines', async () => {
  const r = await imds(base('vm-sa'), q('', 'https://nothing.example.com/'))
  expectImdsError(
    r,
    400,
    'invalid_resource',
    new RegExp(
      `^AADSTS500011: The resource principal named https://nothing\\.example\\.com/ was not found in the tenant named ${c.s.tenantId}\\. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant\\. You might have sent your authentication request to the wrong tenant\\.\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
    ),
  )
})

test('mi-endpoints §0: a trailing slash and a doubled leading slash on the path are accepted', async () => {
  const b = base('vm-sa')
  for (const path of [`${TOKEN_PATH}/`, `/${TOKEN_PATH}`, '//metadata//identity/oauth2/token/'])
    ok(await http(`${b}${path}?${q()}`, { headers: MD }))
  const nf = await http(`${b}/metadata/identity/oauth2/tokens?${q()}`, { headers: MD })
  assert.equal(nf.status, 404)
  assert.deepEqual(nf.json(), { error: 'Not found' })
})

test('audit: every refusal is a token failure event of the host; every issuance (not a cache hit) a success event', async () => {
  const host = vm['vm-other'] as { id: string; principalId: string }
  const b = base('vm-other')
  const hostQ = `host=${encodeURIComponent(host.id)}`
  const failuresBefore = (await logs(c.s, `kind=token&result=failure&${hostQ}`)).length
  const refusals = [
    await imds(b, q(), {}),
    await imds(b, q(), { ...MD, 'X-Forwarded-For': '1.2.3.4' }),
    await http(`${b}${TOKEN_PATH}?${q()}`, { method: 'POST', headers: MD, body: '' }),
    await imds(b, `resource=${ARM_RESOURCE}`),
    await imds(b, 'api-version=2018-02-01'),
    await imds(b, q(`client_id=${U1.clientId}`)),
    await imds(b, q(`client_id=${U3.clientId}&object_id=${U3.principalId}`)),
    await imds(b, q('', 'https://nothing.example.com/')),
  ]
  for (const r of refusals) assert.ok(r.status >= 400, r.text)
  const failures = await logs(c.s, `kind=token&result=failure&${hostQ}`)
  assert.equal(failures.length - failuresBefore, refusals.length)
  for (const e of failures.slice(0, refusals.length)) {
    assert.equal(e.host, host.id)
    assert.equal(e.grantType, 'managed_identity:imds')
    assert.equal(e.tenantId, c.s.tenantId)
    assert.ok(e.errorCode, JSON.stringify(e))
  }
  assert.deepEqual(
    failures
      .slice(0, refusals.length)
      .map((e) => e.errorCode)
      .reverse(),
    [
      'MissingMetadataHeader',
      'ForwardedRequest',
      'MethodNotAllowed',
      'MissingApiVersion',
      'MissingResource',
      'IdentityNotFound',
      'MultipleSelectors',
      'InvalidResource',
    ],
  )
  // Three issuances (SA for two resources, UA3 once) and three cache hits → three success events.
  const successQ = `kind=token&result=success&${hostQ}`
  const successBefore = (await logs(c.s, successQ)).length
  ok(await imds(b, q()))
  ok(await imds(b, q()))
  ok(await imds(b, q('', 'https://vault.azure.net')))
  ok(await imds(b, q(`client_id=${U3.clientId}`)))
  ok(await imds(b, q(`mi_res_id=${U3.id}`)))
  ok(await imds(b, q('', 'https://vault.azure.net')))
  const successes = await logs(c.s, successQ)
  assert.equal(successes.length - successBefore, 3)
  assert.deepEqual(
    successes
      .slice(0, 3)
      .map((e) => [e.principalId, e.audience])
      .reverse(),
    [
      [host.principalId, ARM_RESOURCE],
      [host.principalId, 'https://vault.azure.net'],
      [U3.principalId, ARM_RESOURCE],
    ],
  )
})

test('CACHE-002: ten concurrent requests on a cold cache → one issuance, one token for all', async () => {
  const host = vm['vm-one-ua'] as { id: string }
  const resource = 'https://graph.microsoft.com/'
  const rs = await Promise.all(Array.from({ length: 10 }, () => imds(base('vm-one-ua'), q('', resource))))
  const tokens = new Set(rs.map((r) => ok(r).body.access_token))
  assert.equal(tokens.size, 1)
  const events = (await logs(c.s, `kind=token&result=success&host=${encodeURIComponent(host.id)}`)).filter(
    (e) => e.audience === resource,
  )
  assert.equal(events.length, 1, JSON.stringify(events))
  assert.equal(events[0]?.principalId, U2.principalId)
})

/** Sends `heads` on one raw connection, one at a time, and returns each answer's head lines and body. */
async function rawExchange(baseUrl: string, heads: string[]): Promise<{ lines: string[]; body: string }[]> {
  const { port, hostname } = new URL(baseUrl)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((r, j) => socket.once('connect', () => r()).once('error', j))
  let raw = ''
  socket.on('data', (d: Buffer) => {
    raw += d.toString('utf8')
  })
  const out: { lines: string[]; body: string }[] = []
  for (const h of heads) {
    raw = ''
    socket.write(h)
    for (let i = 0; i < 500; i++) {
      const end = raw.indexOf('\r\n\r\n')
      const len = /\r\nContent-Length: (\d+)\r\n/i.exec(raw)
      if (end >= 0 && len && Buffer.byteLength(raw.slice(end + 4)) >= Number(len[1])) break
      await sleep(10)
    }
    const end = raw.indexOf('\r\n\r\n')
    assert.ok(end > 0, `an answer to ${JSON.stringify(h)}`)
    out.push({ lines: raw.slice(0, end).split('\r\n'), body: raw.slice(end + 4) })
  }
  socket.destroy()
  return out
}

test('fast lane (kernel/fast-http.ts): a cached token answered below node:http is byte-for-byte node:http’s answer, and keeps its connection across host-cache refills', async () => {
  const path = `${TOKEN_PATH}?${q()}`
  const head = (extra = '') => `GET ${path} HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\n${extra}\r\n`
  ok(await imds(base('vm-sa'), q()))
  // `TE: trailers` is harmless to IMDS but the fast lane leaves such requests to node:http.
  const [viaNode] = await rawExchange(base('vm-sa'), [head('TE: trailers\r\n')])
  const viaLane = await rawExchange(base('vm-sa'), [head(), head(), head()])
  const masked = (lines: string[]) => lines.map((l) => (l.startsWith('Date: ') ? 'Date: *' : l))
  const strip = (b: string) => {
    const { expires_in: _, ...rest } = JSON.parse(b) as Body
    return rest
  }
  assert.ok(viaNode)
  for (const r of viaLane) {
    assert.deepEqual(masked(r.lines), masked(viaNode.lines))
    assert.deepEqual(strip(r.body), strip(viaNode.body))
  }
  assert.deepEqual(masked(viaNode.lines).slice(0, 1), ['HTTP/1.1 200 OK'])
  assert.ok(masked(viaNode.lines).includes('Connection: keep-alive'))
  // The host cache lapses after 2 s (mi.hostCache): the same connection keeps being answered.
  const spaced = await (async () => {
    const { port, hostname } = new URL(base('vm-sa'))
    const socket = connect(Number(port), hostname)
    await new Promise<void>((r) => socket.once('connect', () => r()))
    let n = 0
    socket.on('data', (d: Buffer) => {
      n += d.toString('latin1').split('HTTP/1.1 200 OK').length - 1
    })
    for (let i = 0; i < 3; i++) {
      socket.write(head())
      await sleep(1100)
    }
    socket.destroy()
    return n
  })()
  assert.equal(spaced, 3)
})
