// Isolation between hosts (IMDS-009, CON-010, SCN-04 g; seed-requirements §"IMDS caller → VM mapping", OUT-005): a
// process acting as VM A — in A's own namespace, where 169.254.169.254 is A's IMDS socket — cannot get a token for any
// identity of VM B, whatever selector it sends: B's user-assigned identity by client_id, object_id, msi_res_id or
// mi_res_id, or B's system-assigned identity by its client or object id. Each attempt is the ordinary 400 "Identity
// not found" (not retried), A's own identities keep working, and nothing is ever issued to B's principals. Checked
// with @azure/identity 4.13.1 and with curl; the loopback listener and App Service's shared endpoint likewise.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  type ChildRun,
  NODE_PRELUDE,
  childEnv,
  describeRun,
  moduleUrl,
  resultOf,
  runChild,
  scratchDir,
} from '../support/child.ts'
import { decodeJwt } from '../support/https.ts'
import { type HostEndpointAnswer, auditAfter, auditMark, hostEndpoint } from '../support/mi.ts'
import { namespaceUnavailable, runInAzureNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { haveCommand, need } from '../support/tiers.ts'
import { type Arm, V, adminClient, createGroup, createUami, paths } from '../integration/arm/helpers.ts'

const IDENTITY = moduleUrl('@azure/identity')
const RG = 'mi-iso'
const IMDS =
  'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/'

interface Ident {
  id: string
  principalId: string
  clientId: string
}
interface Host {
  sa: Ident
  ua: Ident
}

let s: TestServer
let arm: Arm
let scratch: ReturnType<typeof scratchDir>
let A: Host
let B: Host
let siteA: Host
let unavailable: string | null = null

async function createHost(
  path: string,
  version: string,
  ua: Ident,
  extra: Record<string, unknown> = {},
): Promise<Host> {
  const r = await arm.put(path, version, {
    location: 'westus',
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [ua.id]: {} } },
    properties: {},
    ...extra,
  })
  assert.equal(r.status, 201, r.text)
  const principalId = r.json<{ identity: { principalId: string } }>().identity.principalId
  const sp = await s.server.directory.store.getServicePrincipal(principalId)
  assert.ok(sp)
  return { sa: { id: path, principalId, clientId: sp.appId }, ua }
}

before(async () => {
  unavailable = namespaceUnavailable()
  s = await startTestServer()
  scratch = scratchDir('azid-mi-iso-')
  const sub = s.server.endpoints.subscriptionId
  const p = paths(sub)
  arm = await adminClient(s)
  await createGroup(arm, sub, RG)
  A = await createHost(p.vm(RG, 'vm-a'), V.compute, await createUami(arm, sub, RG, 'id-a'))
  B = await createHost(p.vm(RG, 'vm-b'), V.compute, await createUami(arm, sub, RG, 'id-b'))
  siteA = await createHost(`${p.rg(RG)}/providers/Microsoft.Web/sites/site-a`, V.web, A.ua, {
    kind: 'app,linux',
    properties: { serverFarmId: 'plan' },
  })
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

/** Every way to name one of B's identities, as [label, IMDS parameter, value]. */
const selectorsOfB = () =>
  [
    ["B's user-assigned identity by client_id", 'client_id', B.ua.clientId],
    ["B's user-assigned identity by object_id", 'object_id', B.ua.principalId],
    ["B's user-assigned identity by msi_res_id", 'msi_res_id', B.ua.id],
    ["B's user-assigned identity by mi_res_id", 'mi_res_id', B.ua.id],
    ["B's system-assigned identity by client_id", 'client_id', B.sa.clientId],
    ["B's system-assigned identity by object_id", 'object_id', B.sa.principalId],
  ] as const

/** No token was issued to any of B's principals since `mark`; returns A's failure events. */
async function assertNothingForB(mark: number) {
  const events = await auditAfter(s, mark, 'token')
  const bPrincipals = [B.sa.principalId, B.ua.principalId]
  assert.deepEqual(
    events.filter((e) => e.result === 'success' && bPrincipals.includes(e.principalId ?? '')),
    [],
    'no token for B',
  )
  return events.filter((e) => e.result === 'failure')
}

test('@azure/identity as VM A (its namespace): every selector of B → CredentialUnavailableError "Identity not found"', async (t) => {
  if (!need(t, unavailable)) return
  const e: HostEndpointAnswer = await hostEndpoint(s, A.sa.id, 'namespace')
  const attempts = [
    ['clientId', B.ua.clientId],
    ['objectId', B.ua.principalId],
    ['resourceId', B.ua.id],
    ['clientId', B.sa.clientId],
    ['objectId', B.sa.principalId],
    // Controls: A's own identities.
    ['clientId', A.ua.clientId],
    ['none', ''],
  ] as const
  const script = scratch.write(
    'iso-js.mjs',
    `${NODE_PRELUDE}
const identity = await import(${JSON.stringify(IDENTITY)})
await run(async () => {
  const results = []
  for (const [kind, value] of ${JSON.stringify(attempts)}) {
    const credential = kind === 'none' ? new identity.ManagedIdentityCredential() : new identity.ManagedIdentityCredential({ [kind]: value })
    try {
      const t = await credential.getToken('https://management.azure.com/.default')
      results.push({ ok: true, token: t.token })
    } catch (e) {
      results.push({ ok: false, name: e.name, message: e.message })
    }
  }
  return results
})
`,
  )
  const mark = await auditMark(s)
  const r: ChildRun = await runInAzureNamespace(s, process.execPath, [script], { host: e, timeoutMs: 60_000 })
  const results = resultOf<{ ok: boolean; name?: string; message?: string; token?: string }[]>(r)
  results.slice(0, 5).forEach((x, i) => {
    assert.equal(x.ok, false, `${attempts[i]?.join(' ')} must fail: ${describeRun(r)}`)
    assert.equal(x.name, 'CredentialUnavailableError')
    assert.match(x.message ?? '', /Identity not found/)
  })
  assert.equal(decodeJwt(results[5]?.token ?? '').claims.oid, A.ua.principalId)
  assert.equal(decodeJwt(results[6]?.token ?? '').claims.oid, A.sa.principalId)
  // One request per attempt: a 400 is not retried (ERR-002).
  const urls = r.stdout.split('\n').filter((l) => l.startsWith('@@WIRE ')).length
  assert.equal(urls, attempts.length, describeRun(r))
  const failures = await assertNothingForB(mark)
  assert.equal(failures.length, 5)
  for (const f of failures) {
    assert.equal(f.host, A.sa.id, 'attributed to VM A')
    assert.equal(f.errorCode, 'IdentityNotFound')
  }
})

test("curl as VM A (its namespace): every selector of B → 400 Identity not found; A's own → 200", async (t) => {
  if (!need(t, unavailable ?? (haveCommand('curl') ? null : 'curl is not installed'))) return
  const e = await hostEndpoint(s, A.sa.id, 'namespace')
  const sel = selectorsOfB()
  const own = [
    ['client_id', A.ua.clientId],
    ['msi_res_id', A.ua.id],
  ] as const
  const lines = [...sel.map(([, k, v]) => [k, v] as const), ...own].map(
    ([k, v]) => `curl -s -H Metadata:true -w ' %{http_code}\\n' '${IMDS}&${k}=${encodeURIComponent(v)}'`,
  )
  const mark = await auditMark(s)
  const r = await runInAzureNamespace(s, '/bin/sh', ['-c', lines.join('\n')], { host: e })
  assert.equal(r.code, 0, describeRun(r))
  const out = r.stdout.trimEnd().split('\n')
  assert.equal(out.length, lines.length, r.stdout)
  sel.forEach(([label], i) => {
    assert.equal(out[i], '{"error":"invalid_request","error_description":"Identity not found"} 400', label)
  })
  own.forEach(([k], j) => {
    const [body, status] = (out[sel.length + j] ?? '').split(' ')
    assert.equal(status, '200', k)
    assert.equal(decodeJwt(JSON.parse(body ?? '{}').access_token).claims.oid, A.ua.principalId)
  })
  const failures = await assertNothingForB(mark)
  assert.deepEqual(
    failures.map((f) => [f.host, f.errorCode, (f.details as { selector: string[] }).selector[0]]),
    sel.map(([, , v]) => [A.sa.id, 'IdentityNotFound', v]),
  )
})

test("loopback: A's listener (AZURE_POD_IDENTITY_AUTHORITY_HOST) and site A's App Service secret do not serve B's identities either", async (t) => {
  if (!need(t, haveCommand('curl') ? null : 'curl is not installed')) return
  const imdsA = (await hostEndpoint(s, A.sa.id, 'loopback')).env.AZURE_POD_IDENTITY_AUTHORITY_HOST as string
  const appA = (await hostEndpoint(s, siteA.sa.id, 'loopback')).env
  const curl = (args: string[]) =>
    runChild('curl', ['-s', '-w', ' %{http_code}', ...args], { env: childEnv({}), timeoutMs: 15_000 })
  for (const [label, k, v] of selectorsOfB()) {
    const r = await curl([
      '-H',
      'Metadata: true',
      `${imdsA}/metadata/identity/oauth2/token?${new URLSearchParams({ 'api-version': '2018-02-01', resource: 'https://management.azure.com/', [k]: v })}`,
    ])
    assert.equal(r.stdout, '{"error":"invalid_request","error_description":"Identity not found"} 400', label)
    // App Service names the resource-id selector mi_res_id (msi_res_id is not one of its parameters).
    const appKey = k === 'msi_res_id' ? 'mi_res_id' : k
    const app = await curl([
      '-H',
      `X-IDENTITY-HEADER: ${appA.IDENTITY_HEADER}`,
      `${appA.IDENTITY_ENDPOINT}?${new URLSearchParams({ 'api-version': '2019-08-01', resource: 'https://management.azure.com/', [appKey]: v })}`,
    ])
    assert.match(app.stdout, / 400$/, `${label} (App Service): ${app.stdout}`)
    assert.match(app.stdout, /"message":"Unable to load the proper Managed Identity\."/)
  }
})
