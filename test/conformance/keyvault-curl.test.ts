// The seed's Key Vault curl requests, verbatim, by the real curl on an emulated VM (namespace mode: 169.254.169.254
// is the VM's IMDS, <vault>.vault.azure.net is azid, azid's CA is in the system bundle). Only <YOUR-KEY-VAULT-URL>,
// <secret-name> and <ACCESS_TOKEN> are filled in. Sources: 003 L3219 (token for https://vault.azure.net), L3244
// (GET the secret at api-version 2016-10-01), L3247–3256 (the answer). Requirements: KV-001, KV-004, KV-005, SCN-12
// (with its negative cases: no role → 403, no token → 401 with the challenge).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type ChildRun, describeRun } from '../support/child.ts'
import { decodeJwt } from '../support/https.ts'
import { type HostEndpointAnswer, hostEndpoint } from '../support/mi.ts'
import { namespaceUnavailable, runInAzureNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { haveCommand, need } from '../support/tiers.ts'
import { type Arm, V, adminClient, paths } from '../integration/arm/helpers.ts'
import { KV_ROLE, createVault, expectOk, grant, kvClient, vaultToken } from '../integration/keyvault/helpers.ts'

const VAULT = 'mytestkeyvault'
const RG = 'DevTest'

let s: TestServer
let arm: Arm
let unavailable: string | null = null
let vm: { principalId: string; host: HostEndpointAnswer }
let stranger: { principalId: string; host: HostEndpointAnswer }

async function createVm(name: string) {
  const id = paths(s.server.endpoints.subscriptionId).vm(RG, name)
  const r = await arm.put(id, V.compute, { location: 'westus', identity: { type: 'SystemAssigned' }, properties: {} })
  assert.equal(r.status, 201, r.text)
  return {
    principalId: r.json<{ identity: { principalId: string } }>().identity.principalId,
    host: await hostEndpoint(s, id, 'namespace'),
  }
}

before(async () => {
  unavailable = haveCommand('curl') ? namespaceUnavailable() : 'curl is not installed'
  if (unavailable) return
  s = await startTestServer()
  arm = await adminClient(s)
  const vaultId = await createVault(s, arm, RG, VAULT)
  // The tutorial's set-up: the secret, and the VM's identity allowed to read it (RBAC: Key Vault Secrets User).
  await grant(s, arm, vaultId, KV_ROLE.Administrator, s.server.bootstrap.servicePrincipalId)
  expectOk(
    await kvClient(s, VAULT, await vaultToken(s)).call('PUT', '/secrets/MyTestSecret', {
      body: { value: 'p@ssw0rd!' },
    }),
  )
  vm = await createVm('devtest-vm')
  stranger = await createVm('devtest-other')
  await grant(s, arm, vaultId, KV_ROLE.SecretsUser, vm.principalId)
})
after(() => s?.stop())

function sh(host: HostEndpointAnswer, script: string): Promise<ChildRun> {
  return runInAzureNamespace(s, '/bin/sh', ['-c', script], {
    host,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    timeoutMs: 60_000,
  })
}

const SEED_L3219 =
  "curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net' -H Metadata:true"
const SEED_L3244 =
  'curl https://<YOUR-KEY-VAULT-URL>/secrets/<secret-name>?api-version=2016-10-01 -H "Authorization: Bearer <ACCESS_TOKEN>"'
const read = (extra = '') =>
  `access_token=$(${SEED_L3219} -s | python3 -c 'import sys, json; print (json.load(sys.stdin)["access_token"])')
${SEED_L3244.replace('<YOUR-KEY-VAULT-URL>', `${VAULT}.vault.azure.net`)
  .replace('<secret-name>', 'MyTestSecret')
  .replace('<ACCESS_TOKEN>', '$access_token')}${extra}`

test('003 L3219: the token request for https://vault.azure.net answers the tutorial body (KV-001)', async (t) => {
  if (!need(t, unavailable)) return
  const r = await sh(vm.host, SEED_L3219)
  assert.equal(r.code, 0, describeRun(r))
  const body = JSON.parse(r.stdout) as Record<string, string>
  assert.equal(body.resource, 'https://vault.azure.net')
  assert.equal(body.token_type, 'Bearer')
  const { claims } = decodeJwt(body.access_token ?? '')
  assert.equal(claims.aud, 'https://vault.azure.net')
  assert.equal(claims.oid, vm.principalId)
})

test("003 L3244: curl reads the secret with the token; the answer is the tutorial's (KV-001, KV-004, SCN-12)", async (t) => {
  if (!need(t, unavailable)) return
  const r = await sh(vm.host, read())
  assert.equal(r.code, 0, describeRun(r))
  const body = JSON.parse(r.stdout) as { value: string; id: string; attributes: Record<string, unknown> }
  assert.deepEqual(Object.keys(body), ['value', 'id', 'attributes'])
  assert.equal(body.value, 'p@ssw0rd!')
  assert.match(body.id, /^https:\/\/mytestkeyvault\.vault\.azure\.net\/secrets\/MyTestSecret\/[0-9a-f]{32}$/)
  // api-version 2016-10-01: no recoverableDays. The seed's vault had no soft delete ("Purgeable"); azid's vaults
  // always have it, as Azure's have since 2020.
  assert.deepEqual(Object.keys(body.attributes), ['enabled', 'created', 'updated', 'recoveryLevel'])
  assert.equal(body.attributes.enabled, true)
  assert.equal(body.attributes.recoveryLevel, 'Recoverable+Purgeable')
  assert.equal(typeof body.attributes.created, 'number')
})

test('SCN-12 negative: a VM whose identity has no role gets 403 ForbiddenByRbac; no token gets 401 and the challenge (KV-005)', async (t) => {
  if (!need(t, unavailable)) return
  const denied = await sh(stranger.host, read(" -w '\\n%{http_code}'"))
  assert.equal(denied.code, 0, describeRun(denied))
  const [text, status] = [
    denied.stdout.slice(0, denied.stdout.lastIndexOf('\n')),
    denied.stdout.trim().split('\n').at(-1),
  ]
  assert.equal(status, '403')
  const err = JSON.parse(text) as { error: { code: string; message: string; innererror: { code: string } } }
  assert.equal(err.error.code, 'Forbidden')
  assert.equal(err.error.innererror.code, 'ForbiddenByRbac')
  assert.match(err.error.message, new RegExp(`oid=${stranger.principalId};`))

  const anon = await sh(
    vm.host,
    `curl -s -i https://${VAULT}.vault.azure.net/secrets/MyTestSecret?api-version=2016-10-01`,
  )
  assert.equal(anon.code, 0, describeRun(anon))
  assert.match(anon.stdout, /^HTTP\/1\.1 401 Unauthorized\r$/m)
  assert.match(
    anon.stdout,
    new RegExp(
      `^www-authenticate: Bearer authorization="https://login\\.microsoftonline\\.com/${s.tenantId}", resource="https://vault\\.azure\\.net"\\r$`,
      'mi',
    ),
  )
  assert.match(
    anon.stdout,
    /\{"error":\{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token\."\}\}$/,
  )
})
