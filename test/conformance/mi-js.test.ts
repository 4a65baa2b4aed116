// @azure/identity 4.13.1 (nested msal-node 5.6.0), unmodified, against azid's managed-identity endpoints: every
// flavour in a process of its own, because identity picks the source once per process (clients.md §1 item 7,
// §3.1–§3.3). The process acts as a host through the env `POST /_azid/hosts/endpoint` returns; in loopback mode a
// tap (test/support/mi.ts) relays each plain-HTTP endpoint and records the exact requests, headers included.
// Requirements: IMDS-001..009, IMDS-011 (cache), TOK-001, CON-010, ASVC (App Service), ARC, SF, ML, CS, WI (workload
// identity), docs/wire/mi-endpoints.md §0–§7.
import assert from 'node:assert/strict'
import { existsSync, rmdirSync } from 'node:fs'
import { after, before, test } from 'node:test'
import {
  type ChildRun,
  childEnv,
  describeRun,
  moduleUrl,
  resultOf,
  runChild,
  runNode,
  scratchDir,
  type WireRequest,
  wire,
  NODE_PRELUDE,
} from '../support/child.ts'
import { decodeJwt } from '../support/https.ts'
import {
  type HostEndpointAnswer,
  type TapExchange,
  hostEndpoint,
  mirid,
  startTap,
  tapEnv,
  workloadToken,
} from '../support/mi.ts'
import { namespaceUnavailable, runInAzureNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { need } from '../support/tiers.ts'
import { type Arm, V, adminClient, createGroup, createUami, paths } from '../integration/arm/helpers.ts'

const IDENTITY = moduleUrl('@azure/identity')
const ARM_SCOPE = 'https://management.azure.com/.default'
const ARM_AUD = 'https://management.azure.com'
const RG = 'mi-js'
const ARC_DIRS = ['/var/opt/azcmagent/tokens', '/var/opt/azcmagent']
const WORKLOAD_SUBJECT = 'system:serviceaccount:default:mi-js'

interface Ident {
  id: string
  principalId: string
  clientId: string
}

let s: TestServer
let arm: Arm
let scratch: ReturnType<typeof scratchDir>
let sub = ''
/** A VM with a system-assigned identity and `uami`. */
let vm: Ident
let uami: Ident
/** A Linux web app with a system-assigned identity and `uami`. */
let site: Ident
/** An Arc machine (system-assigned only: Arc takes no user-assigned identities). */
let arc: Ident
/** A user-assigned identity with a federated credential for azid's workload issuer. */
let wl: Ident
let arcDirsExisted: boolean[] = []

/** PUTs a host and returns its id and system-assigned identity (client id from the directory). */
async function createHost(path: string, version: string, body: Record<string, unknown>): Promise<Ident> {
  const r = await arm.put(path, version, body)
  assert.equal(r.status, 201, r.text)
  const principalId = r.json<{ identity: { principalId: string } }>().identity.principalId
  const sp = await s.server.directory.store.getServicePrincipal(principalId)
  assert.ok(sp, `service principal ${principalId}`)
  return { id: path, principalId, clientId: sp.appId }
}

before(async () => {
  arcDirsExisted = ARC_DIRS.map((d) => existsSync(d))
  s = await startTestServer()
  scratch = scratchDir('azid-mi-js-')
  sub = s.server.endpoints.subscriptionId
  const p = paths(sub)
  arm = await adminClient(s)
  await createGroup(arm, sub, RG)
  uami = await createUami(arm, sub, RG, 'js-id1')
  const both = { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [uami.id]: {} } }
  vm = await createHost(p.vm(RG, 'js-vm'), V.compute, { location: 'westus', identity: both, properties: {} })
  site = await createHost(`${p.rg(RG)}/providers/Microsoft.Web/sites/js-site`, V.web, {
    location: 'westus',
    kind: 'app,linux',
    identity: both,
    properties: { serverFarmId: 'plan' },
  })
  arc = await createHost(`${p.rg(RG)}/providers/Microsoft.HybridCompute/machines/js-arc`, V.arc, {
    location: 'westus',
    identity: { type: 'SystemAssigned' },
  })
  // Workload identity: a UAMI trusting azid's issuer for one service account (api-shapes §1.3).
  wl = await createUami(arm, sub, RG, 'js-workload')
  const { issuer } = await workloadToken(s, WORKLOAD_SUBJECT)
  const fic = await arm.put(`${wl.id}/federatedIdentityCredentials/mi-js`, V.mi, {
    properties: { issuer, subject: WORKLOAD_SUBJECT, audiences: ['api://AzureADTokenExchange'] },
  })
  assert.equal(fic.status, 201, fic.text)
})

after(async () => {
  scratch?.dispose()
  await s?.stop()
  // Arc challenge files live in /var/opt/azcmagent/tokens (azid removes them); drop the directories if this file
  // made them and they are empty (another test may be using them: rmdir fails then, which is fine).
  ARC_DIRS.forEach((d, i) => {
    if (arcDirsExisted[i]) return
    try {
      rmdirSync(d)
    } catch {}
  })
})

interface Tok {
  token: string
  expiresOnTimestamp: number
  refreshAfterTimestamp?: number
  again: string
}

/** A child script: builds `credential` (an expression over `identity`), calls getToken twice for ARM. */
const twice = (credential: string) => `
const identity = await import(${JSON.stringify(IDENTITY)})
await run(async () => {
  const credential = ${credential}
  const first = await credential.getToken(${JSON.stringify(ARM_SCOPE)})
  const again = await credential.getToken(${JSON.stringify(ARM_SCOPE)})
  return { token: first.token, expiresOnTimestamp: first.expiresOnTimestamp, refreshAfterTimestamp: first.refreshAfterTimestamp, again: again.token }
})`

/** Runs `credential` as a host with `env`, every http endpoint behind a tap; returns the run and the exchanges. */
async function asHost(
  name: string,
  credential: string,
  env: Record<string, string>,
): Promise<{ r: ChildRun; seen: TapExchange[]; wire: WireRequest[] }> {
  const tapped = await tapEnv(env)
  try {
    const r = await runNode(scratch, name, twice(credential), { caPath: s.caPath, env: tapped.env })
    return { r, seen: tapped.exchanges(), wire: wire(r) }
  } finally {
    await tapped.close()
  }
}

/** The claims every managed-identity token carries for `who` on `aud`; `xms_mirid` names the identity's resource. */
function assertMiToken(r: ChildRun, tok: Tok, who: Ident, miridOf: string) {
  const { claims } = decodeJwt(tok.token)
  assert.equal(claims.oid, who.principalId, describeRun(r))
  assert.equal(claims.sub, who.principalId)
  assert.equal(claims.appid, who.clientId)
  assert.equal(claims.aud, ARM_AUD)
  assert.equal(claims.tid, s.tenantId)
  assert.equal(claims.xms_mirid, mirid(miridOf))
  assert.equal(claims.idtyp, 'app')
  assert.equal(claims.appidacr, '2')
  // A 24 h managed-identity token; msal-node refreshes at half-life for lifetimes over 2 h (clients.md §3.4).
  assert.ok(tok.expiresOnTimestamp > Date.now() + 20 * 3_600_000, `expiresOnTimestamp ${tok.expiresOnTimestamp}`)
  assert.ok(tok.refreshAfterTimestamp && tok.refreshAfterTimestamp < tok.expiresOnTimestamp)
  // IMDS-011 / CACHE-001: the second getToken is served from msal-node's cache.
  assert.equal(tok.again, tok.token, 'second getToken returns the cached token')
}

const query = (ex: TapExchange) => new URL(ex.target, 'http://x').searchParams

async function imds(name: string, credential: string) {
  const e = await hostEndpoint(s, vm.id, 'loopback')
  assert.deepEqual(Object.keys(e.env), ['AZURE_POD_IDENTITY_AUTHORITY_HOST'])
  const out = await asHost(name, credential, e.env)
  const tok = resultOf<Tok>(out.r)
  // One request, no probe (ManagedIdentityCredential never probes; clients.md §3.3), and nothing after the cache hit.
  assert.equal(out.seen.length, 1, JSON.stringify(out.seen, null, 1))
  const ex = out.seen[0] as TapExchange
  assert.equal(ex.method, 'GET')
  // With AZURE_POD_IDENTITY_AUTHORITY_HOST identity appends `/metadata/identity/oauth2/token/` (trailing slash).
  assert.match(
    ex.target,
    /^\/metadata\/identity\/oauth2\/token\/\?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement\.azure\.com/,
  )
  assert.equal(ex.headers.metadata, 'true')
  assert.equal(ex.status, 200)
  assert.equal(query(ex).get('resource'), ARM_AUD)
  return { tok, ex, r: out.r }
}

test('IMDS via AZURE_POD_IDENTITY_AUTHORITY_HOST, system-assigned (IMDS-001, IMDS-007, TOK-001)', async () => {
  const { tok, ex, r } = await imds('imds-sa', 'new identity.ManagedIdentityCredential()')
  assertMiToken(r, tok, vm, vm.id)
  for (const k of ['client_id', 'object_id', 'msi_res_id']) assert.equal(query(ex).get(k), null)
  // The IMDS body: string values, alphabetical keys, epoch expires_on (mi-endpoints §1.1).
  const body = JSON.parse(ex.responseBody) as Record<string, string>
  assert.equal(body.client_id, vm.clientId)
  assert.equal(body.token_type, 'Bearer')
  assert.match(body.expires_on ?? '', /^\d{10}$/)
  assert.equal(body.resource, ARM_AUD)
})

test('IMDS by clientId → client_id= (IMDS-006)', async () => {
  const { tok, ex, r } = await imds(
    'imds-client',
    `new identity.ManagedIdentityCredential({ clientId: ${JSON.stringify(uami.clientId)} })`,
  )
  assert.equal(query(ex).get('client_id'), uami.clientId)
  assertMiToken(r, tok, uami, uami.id)
})

test('IMDS by resourceId → msi_res_id= (IMDS-006)', async () => {
  const { tok, ex, r } = await imds(
    'imds-resource',
    `new identity.ManagedIdentityCredential({ resourceId: ${JSON.stringify(uami.id)} })`,
  )
  assert.equal(query(ex).get('msi_res_id'), uami.id)
  assertMiToken(r, tok, uami, uami.id)
})

test('IMDS by objectId → object_id= (IMDS-006)', async () => {
  const { tok, ex, r } = await imds(
    'imds-object',
    `new identity.ManagedIdentityCredential({ objectId: ${JSON.stringify(uami.principalId)} })`,
  )
  assert.equal(query(ex).get('object_id'), uami.principalId)
  assertMiToken(r, tok, uami, uami.id)
})

test('DefaultAzureCredential picks IMDS: with AZURE_POD_IDENTITY_AUTHORITY_HOST there is no probe (clients.md §3.3)', async () => {
  const e = await hostEndpoint(s, vm.id, 'loopback')
  const out = await asHost('dac', 'new identity.DefaultAzureCredential()', e.env)
  const tok = resultOf<Tok>(out.r)
  assert.deepEqual(
    out.seen.map((x) => [x.method, x.target.split('?')[0], x.headers.metadata, x.status]),
    [['GET', '/metadata/identity/oauth2/token/', 'true', 200]],
    'only the token request: no header-less probe',
  )
  // Nothing else was tried: no Entra, no az / azd / PowerShell process (the chain stopped at ManagedIdentity).
  assert.deepEqual(
    out.wire.filter((w) => !w.url.includes('/metadata/identity/')),
    [],
  )
  assertMiToken(out.r, tok, vm, vm.id)
})

test('App Service 2019 (IDENTITY_ENDPOINT + IDENTITY_HEADER of a Microsoft.Web/sites host), system-assigned and client_id', async () => {
  const e = await hostEndpoint(s, site.id, 'loopback')
  assert.equal(e.flavour, 'app-service')
  assert.deepEqual(Object.keys(e.env).sort(), [
    'APPSETTING_WEBSITE_SITE_NAME',
    'IDENTITY_ENDPOINT',
    'IDENTITY_HEADER',
    'MSI_ENDPOINT',
    'MSI_SECRET',
    'WEBSITE_SITE_NAME',
  ])
  for (const [name, credential, who, miridOf] of [
    ['appsvc-sa', 'new identity.ManagedIdentityCredential()', site, site.id],
    ['appsvc-client', `new identity.ManagedIdentityCredential(${JSON.stringify(uami.clientId)})`, uami, uami.id],
  ] as const) {
    const out = await asHost(name, credential, e.env)
    const tok = resultOf<Tok>(out.r)
    assert.equal(out.seen.length, 1, JSON.stringify(out.seen, null, 1))
    const ex = out.seen[0] as TapExchange
    assert.equal(ex.method, 'GET')
    assert.match(ex.target, /^\/msi\/token\?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement\.azure\.com/)
    assert.equal(ex.headers['x-identity-header'], e.env.IDENTITY_HEADER)
    assert.equal(query(ex).get('client_id'), who === uami ? uami.clientId : null)
    // The 2019-08-01 body: expires_on epoch string, client_id last (mi-endpoints §3.1).
    assert.deepEqual(Object.keys(JSON.parse(ex.responseBody)), [
      'access_token',
      'expires_on',
      'resource',
      'token_type',
      'client_id',
    ])
    assertMiToken(out.r, tok, who, miridOf)
  }
})

test('App Service 2017 flavour (MSI_ENDPOINT + MSI_SECRET only): JS takes it for Azure ML; the 2017 date form expires "now"', async () => {
  const e = await hostEndpoint(s, site.id, 'loopback', 'app-service-2017')
  assert.deepEqual(Object.keys(e.env).sort(), [
    'APPSETTING_WEBSITE_SITE_NAME',
    'MSI_ENDPOINT',
    'MSI_SECRET',
    'WEBSITE_SITE_NAME',
  ])
  for (const [name, credential, who, miridOf] of [
    ['appsvc-2017-sa', 'new identity.ManagedIdentityCredential()', site, site.id],
    ['appsvc-2017-client', `new identity.ManagedIdentityCredential(${JSON.stringify(uami.clientId)})`, uami, uami.id],
  ] as const) {
    const out = await asHost(name, credential, e.env)
    const tok = resultOf<Tok>(out.r)
    // msal-node has no App Service 2017 source: MSI_ENDPOINT && MSI_SECRET is Azure ML (clients.md §3.1). The ML
    // request: api-version 2017-09-01, `secret` and `Metadata` headers, `clientid` from DEFAULT_IDENTITY_CLIENT_ID
    // (unset here, so absent) or the user-assigned client id. azid's 2017 endpoint answers it (same path, same
    // secret) with the 2017 body, whose `MM/dd/yyyy HH:mm:ss +00:00` expires_on msal-node cannot read: the token
    // counts as expiring at once and the second getToken asks again (clients.md §3.4). azid's own cache gives the
    // same token both times (IMDS-011).
    assert.equal(out.seen.length, 2, JSON.stringify(out.seen, null, 1))
    for (const ex of out.seen) {
      assert.equal(ex.method, 'GET')
      assert.equal(
        ex.target,
        `/msi/token?api-version=2017-09-01&resource=https%3A%2F%2Fmanagement.azure.com${who === uami ? `&clientid=${uami.clientId}` : ''}`,
      )
      assert.equal(ex.headers.secret, e.env.MSI_SECRET)
      assert.equal(ex.headers.metadata, 'true')
      assert.equal(ex.headers['x-identity-header'], undefined)
      assert.equal(ex.status, 200)
      assert.match(JSON.parse(ex.responseBody).expires_on, /^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d \+00:00$/)
    }
    assert.ok(tok.expiresOnTimestamp < Date.now() + 3_600_000, `expiresOnTimestamp ${tok.expiresOnTimestamp}`)
    assert.equal(tok.again, tok.token)
    const { claims } = decodeJwt(tok.token)
    assert.equal(claims.oid, who.principalId)
    assert.equal(claims.appid, who.clientId)
    assert.equal(claims.xms_mirid, mirid(miridOf))
  }
})

test('Azure ML (MSI_ENDPOINT, MSI_SECRET, DEFAULT_IDENTITY_CLIENT_ID): clientid= the default identity', async () => {
  const e = await hostEndpoint(s, vm.id, 'loopback', 'azure-ml')
  assert.deepEqual(Object.keys(e.env).sort(), ['DEFAULT_IDENTITY_CLIENT_ID', 'MSI_ENDPOINT', 'MSI_SECRET'])
  assert.equal(e.env.DEFAULT_IDENTITY_CLIENT_ID, vm.clientId)
  const out = await asHost('ml', 'new identity.ManagedIdentityCredential()', e.env)
  const tok = resultOf<Tok>(out.r)
  assert.equal(out.seen.length, 1, JSON.stringify(out.seen, null, 1))
  const ex = out.seen[0] as TapExchange
  assert.equal(
    ex.target,
    `/ml/msi/token?api-version=2017-09-01&resource=https%3A%2F%2Fmanagement.azure.com&clientid=${vm.clientId}`,
  )
  assert.equal(ex.headers.secret, e.env.MSI_SECRET)
  assert.equal(ex.headers.metadata, 'true')
  // Azure ML's expires_on is an integer (mi-endpoints §6).
  assert.equal(typeof JSON.parse(ex.responseBody).expires_on, 'number')
  assertMiToken(out.r, tok, vm, vm.id)
})

test('Cloud Shell (MSI_ENDPOINT only): a form POST with Metadata', async () => {
  const e = await hostEndpoint(s, vm.id, 'loopback', 'cloud-shell')
  assert.deepEqual(Object.keys(e.env), ['MSI_ENDPOINT'])
  const out = await asHost('cloud-shell', 'new identity.ManagedIdentityCredential()', e.env)
  const tok = resultOf<Tok>(out.r)
  assert.equal(out.seen.length, 1, JSON.stringify(out.seen, null, 1))
  const ex = out.seen[0] as TapExchange
  assert.equal(ex.method, 'POST')
  assert.equal(ex.target, '/oauth2/token')
  assert.equal(ex.headers.metadata, 'true')
  assert.match(ex.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/)
  assert.equal(ex.body, 'resource=https%3A%2F%2Fmanagement.azure.com')
  assertMiToken(out.r, tok, vm, vm.id)
})

test('Azure Arc (IDENTITY_ENDPOINT + IMDS_ENDPOINT): 401 challenge, key file under /var/opt/azcmagent/tokens, Basic retry', async () => {
  const e = await hostEndpoint(s, arc.id, 'loopback')
  assert.equal(e.flavour, 'arc')
  assert.deepEqual(Object.keys(e.env).sort(), ['IDENTITY_ENDPOINT', 'IMDS_ENDPOINT'])
  const out = await asHost('arc', 'new identity.ManagedIdentityCredential()', e.env)
  const tok = resultOf<Tok>(out.r)
  assert.equal(out.seen.length, 2, JSON.stringify(out.seen, null, 1))
  const [challenge, answer] = out.seen as [TapExchange, TapExchange]
  for (const ex of out.seen) {
    assert.equal(
      ex.target,
      '/metadata/identity/oauth2/token?api-version=2020-06-01&resource=https%3A%2F%2Fmanagement.azure.com',
    )
    assert.equal(ex.headers.metadata, 'true')
  }
  assert.equal(challenge.status, 401)
  assert.equal(challenge.headers.authorization, undefined)
  const realm = /^Basic realm=(\/var\/opt\/azcmagent\/tokens\/[0-9a-f-]+\.key)$/.exec(
    challenge.responseHeaders['www-authenticate'] ?? '',
  )
  assert.ok(realm, challenge.responseHeaders['www-authenticate'])
  // The client sends the file's contents verbatim (not base64); azid deletes the file once it is used.
  assert.match(answer.headers.authorization ?? '', /^Basic \S+$/)
  assert.equal(answer.status, 200)
  assert.equal(existsSync(realm[1] as string), false, 'the key file is removed after use')
  assertMiToken(out.r, tok, arc, arc.id)
})

test('Service Fabric (IDENTITY_ENDPOINT https + IDENTITY_HEADER + IDENTITY_SERVER_THUMBPRINT, NODE_EXTRA_CA_CERTS)', async () => {
  const e = await hostEndpoint(s, vm.id, 'loopback', 'service-fabric')
  assert.deepEqual(Object.keys(e.env).sort(), [
    'IDENTITY_API_VERSION',
    'IDENTITY_ENDPOINT',
    'IDENTITY_HEADER',
    'IDENTITY_SERVER_THUMBPRINT',
  ])
  assert.equal(e.env.IDENTITY_ENDPOINT, `${s.base}/servicefabric/msi/token`)
  assert.match(e.env.IDENTITY_SERVER_THUMBPRINT ?? '', /^[0-9A-F]{40}$/)
  const out = await asHost('service-fabric', 'new identity.ManagedIdentityCredential()', e.env)
  const tok = resultOf<Tok>(out.r)
  // https: the tap cannot see it; node's own record of the request (WIRE) shows it, once.
  assert.deepEqual(
    out.wire.map((w) => [w.method, w.url]),
    [
      [
        'GET',
        `${s.base}/servicefabric/msi/token?api-version=2019-07-01-preview&resource=https%3A%2F%2Fmanagement.azure.com`,
      ],
    ],
  )
  assertMiToken(out.r, tok, vm, vm.id)
})

for (const via of ['WorkloadIdentityCredential', 'ManagedIdentityCredential'] as const) {
  test(`workload identity through ${via}: AZURE_FEDERATED_TOKEN_FILE from azid's issuer, no instance discovery (clients.md §3.2)`, async () => {
    const fed = await workloadToken(s, WORKLOAD_SUBJECT)
    const file = scratch.write(`federated-${via}.jwt`, fed.token)
    // WorkloadIdentityCredential takes disableInstanceDiscovery only as an option (no env var); the MI token-exchange
    // path sets it by itself.
    const credential =
      via === 'WorkloadIdentityCredential'
        ? 'new identity.WorkloadIdentityCredential({ disableInstanceDiscovery: true })'
        : 'new identity.ManagedIdentityCredential()'
    const r = await runNode(scratch, `workload-${via}`, twice(credential), {
      caPath: s.caPath,
      env: {
        AZURE_FEDERATED_TOKEN_FILE: file,
        AZURE_CLIENT_ID: wl.clientId,
        AZURE_TENANT_ID: s.tenantId,
        AZURE_AUTHORITY_HOST: s.base,
      },
    })
    const tok = resultOf<Tok>(r)
    const w = wire(r)
    assert.deepEqual(
      w.filter((x) => !x.url.startsWith(`${s.base}/`)),
      [],
      'every request goes to azid: none to login.microsoftonline.com',
    )
    // ManagedIdentityCredential's token-exchange path builds a new WorkloadIdentityCredential for every getToken
    // (identity's tokenExchangeMsi.js), so nothing is cached between calls: two full round trips.
    const rounds = via === 'WorkloadIdentityCredential' ? 1 : 2
    const round = [
      ['GET', `${s.base}/${s.tenantId}/v2.0/.well-known/openid-configuration`],
      ['POST', `${s.base}/${s.tenantId}/oauth2/v2.0/token`],
    ]
    assert.deepEqual(
      w.map((x) => [x.method, x.url.split('?')[0]]),
      rounds === 1 ? round : [...round, ...round],
      describeRun(r),
    )
    const form = new URLSearchParams((w[1] as WireRequest).body)
    assert.equal(form.get('grant_type'), 'client_credentials')
    assert.equal(form.get('client_id'), wl.clientId)
    assert.equal(form.get('client_assertion'), fed.token)
    assert.equal(form.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    assert.equal(form.get('scope'), ARM_SCOPE)
    const { claims } = decodeJwt(tok.token)
    assert.equal(claims.oid, wl.principalId)
    assert.equal(claims.appid, wl.clientId)
    assert.equal(claims.aud, ARM_AUD)
    assert.equal(claims.tid, s.tenantId)
    assert.equal(claims.xms_mirid, mirid(wl.id))
    // A federated credential authenticates the app (appidacr 2, as a certificate would).
    assert.equal(claims.appidacr, '2')
    if (rounds === 1) assert.equal(tok.again, tok.token, 'the second getToken is an msal-node cache hit')
    else {
      assert.notEqual(tok.again, tok.token, 'a second token was issued')
      assert.equal(decodeJwt(tok.again).claims.oid, wl.principalId)
    }
  })
}

/** Runs node with `body` (NODE_PRELUDE included) inside a namespace acting as `host`; `taps` the host socket. */
async function nodeInNamespace(name: string, body: string, e: HostEndpointAnswer) {
  const tap = await startTap({ path: e.hostSocket as string }, 'unix')
  try {
    const script = scratch.write(`${name}.mjs`, `${NODE_PRELUDE}\n${body}\n`)
    const r = await runInAzureNamespace(s, process.execPath, [script], {
      host: { ...e, hostSocket: tap.path },
      timeoutMs: 60_000,
    })
    return { r, seen: [...tap.exchanges] }
  } finally {
    await tap.close()
  }
}

test('namespace mode: IMDS at the real http://169.254.169.254 (no env at all), ManagedIdentityCredential and DefaultAzureCredential', async (t) => {
  if (!need(t, namespaceUnavailable())) return
  const e = await hostEndpoint(s, vm.id, 'namespace')
  assert.deepEqual(e.env, {}, 'in a namespace IMDS needs no variable')
  assert.ok(e.hostSocket)

  const mi = await nodeInNamespace('ns-mi', twice('new identity.ManagedIdentityCredential()'), e)
  assertMiToken(mi.r, resultOf<Tok>(mi.r), vm, vm.id)
  assert.deepEqual(
    wire(mi.r).map((w) => w.url),
    [
      'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com',
    ],
  )
  assert.deepEqual(
    mi.seen.map((x) => [x.method, x.headers.host, x.headers.metadata, x.status]),
    [['GET', '169.254.169.254', 'true', 200]],
  )

  // DefaultAzureCredential without AZURE_POD_IDENTITY_AUTHORITY_HOST probes before every getToken: no query, no
  // Metadata header; any answer means "IMDS is there" (azid's is the missing-Metadata 400). The first getToken then
  // sends the real request; the second is answered from msal-node's cache after its probe.
  const dac = await nodeInNamespace('ns-dac', twice('new identity.DefaultAzureCredential()'), e)
  assertMiToken(dac.r, resultOf<Tok>(dac.r), vm, vm.id)
  assert.deepEqual(
    dac.seen.map((x) => [x.method, x.target, x.headers.metadata ?? null, x.status]),
    [
      ['GET', '/metadata/identity/oauth2/token', null, 400],
      [
        'GET',
        '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com',
        'true',
        200,
      ],
      ['GET', '/metadata/identity/oauth2/token', null, 400],
    ],
  )
  assert.deepEqual(JSON.parse(dac.seen[0]?.responseBody ?? '{}'), {
    error: 'invalid_request',
    error_description: 'Required metadata header not specified',
  })
})

test('namespace mode through the azid CLI: `azid run --host <vm> -- node …` reaches IMDS at 169.254.169.254', async (t) => {
  if (!need(t, namespaceUnavailable())) return
  const script = scratch.write(
    'cli-run.mjs',
    `${NODE_PRELUDE}\n${twice(`new identity.ManagedIdentityCredential(${JSON.stringify(uami.clientId)})`)}\n`,
  )
  const r = await runChild(
    process.execPath,
    [
      new URL('../../bin/azid.js', import.meta.url).pathname,
      'run',
      '--data',
      s.dataDir,
      '--host',
      vm.id,
      '--',
      process.execPath,
      script,
    ],
    { env: childEnv({}), timeoutMs: 60_000 },
  )
  assertMiToken(r, resultOf<Tok>(r), uami, uami.id)
  assert.deepEqual(
    wire(r).map((w) => w.url),
    [
      `http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com&client_id=${uami.clientId}`,
    ],
  )
})
