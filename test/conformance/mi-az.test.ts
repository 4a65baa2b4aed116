// Debian's az 2.45 (msrestazure 0.6.4 for `--identity`), unmodified, on a VM emulated in namespace mode: az
// hard-codes http://169.254.169.254 and ignores AZURE_POD_IDENTITY_AUTHORITY_HOST (clients.md §1 item 3, §3.1),
// so every az runs in a namespace where that address is the VM's IMDS socket (the forwards `azid run --host` sets
// up) and management.azure.com is azid. A tap on the VM's socket records each IMDS request az sends; az keeps no
// token across processes, so every command asks IMDS again (clients.md §3.1). Requirements: IMDS-001..009, SCN-01
// (SA VM with Reader), SCN-02 (user-assigned), IMDS-006 (selectors), ERR-002 (400 not retried), CON-010.
import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'
import { type ChildRun, describeRun, scratchDir } from '../support/child.ts'
import { decodeJwt } from '../support/https.ts'
import { type HostEndpointAnswer, type Tap, hostEndpoint, mirid, startTap } from '../support/mi.ts'
import { azJson, azUnavailable, needAz, runAzInNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import {
  type Arm,
  ROLE,
  V,
  adminClient,
  assignRole,
  createGroup,
  createUami,
  paths,
} from '../integration/arm/helpers.ts'

const RG = 'mi-az'
const ARM_RESOURCE = 'https://management.core.windows.net/'

interface Ident {
  id: string
  principalId: string
  clientId: string
}
interface Account {
  id: string
  name: string
  tenantId: string
  homeTenantId?: string
  isDefault: boolean
  state: string
  user: { name: string; type: string; assignedIdentityInfo?: string }
}
interface AccessToken {
  accessToken: string
  expiresOn: string
  subscription: string
  tenant: string
  tokenType: string
}

let s: TestServer
let arm: Arm
let sub = ''
let scratch: ReturnType<typeof scratchDir>
/** az's config dir for the VM with roles (its logins follow each other, as on a real VM). */
let azDir: ReturnType<typeof scratchDir>
let vm: Ident
let uami: Ident
/** A VM whose system-assigned identity has no role anywhere. */
let bare: Ident
/** Taps in front of each VM's IMDS socket, and the endpoint answers that point the namespaces at them. */
const taps: Tap[] = []
let vmHost: HostEndpointAnswer
let bareHost: HostEndpointAnswer
let vmTap: Tap
let bareTap: Tap

async function createVm(name: string, identity: Record<string, unknown>): Promise<Ident> {
  const id = paths(sub).vm(RG, name)
  const r = await arm.put(id, V.compute, { location: 'westus', identity, properties: {} })
  assert.equal(r.status, 201, r.text)
  const principalId = r.json<{ identity: { principalId: string } }>().identity.principalId
  const sp = await s.server.directory.store.getServicePrincipal(principalId)
  assert.ok(sp)
  return { id, principalId, clientId: sp.appId }
}

async function tapped(host: Ident): Promise<[HostEndpointAnswer, Tap]> {
  const e = await hostEndpoint(s, host.id, 'namespace')
  const tap = await startTap({ path: e.hostSocket as string }, 'unix')
  taps.push(tap)
  return [{ ...e, hostSocket: tap.path }, tap]
}

before(async () => {
  if (azUnavailable()) return
  s = await startTestServer()
  scratch = scratchDir('azid-mi-az-')
  azDir = scratchDir('azid-mi-az-cfg-')
  sub = s.server.endpoints.subscriptionId
  arm = await adminClient(s)
  await createGroup(arm, sub, RG)
  uami = await createUami(arm, sub, RG, 'az-id1')
  vm = await createVm('az-vm', { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [uami.id]: {} } })
  bare = await createVm('az-bare', { type: 'SystemAssigned' })
  // Reader on the subscription for the VM's identities, through ARM with the bootstrap administrator's token.
  const scope = paths(sub).sub
  await assignRole(arm, { scope, role: ROLE.Reader, principalId: vm.principalId, sub })
  await assignRole(arm, { scope, role: ROLE.Reader, principalId: uami.principalId, sub })
  ;[vmHost, vmTap] = await tapped(vm)
  ;[bareHost, bareTap] = await tapped(bare)
})
beforeEach(() => {
  for (const t of taps) t.reset()
})
after(async () => {
  await Promise.all(taps.map((t) => t.close()))
  scratch?.dispose()
  azDir?.dispose()
  await s?.stop()
})

const az = (args: string[], host: HostEndpointAnswer, configDir = azDir.dir) =>
  runAzInNamespace(s, args, { configDir, host })

/** What the tap saw: [target, Metadata header, status] per request. */
const seen = (tap: Tap) => tap.exchanges.map((x) => [x.method, x.target, x.headers.metadata ?? null, x.status])
const imdsUrl = (resource: string, selector = '') =>
  `/metadata/identity/oauth2/token?resource=${encodeURIComponent(resource)}&api-version=2018-02-01${selector}`

function assertLogin(r: ChildRun, user: Account['user']) {
  const accounts = azJson<Account[]>(r)
  assert.equal(accounts.length, 1, describeRun(r))
  const a = accounts[0] as Account
  assert.equal(a.id, sub)
  assert.equal(a.tenantId, s.tenantId)
  assert.equal(a.homeTenantId, s.tenantId)
  assert.equal(a.isDefault, true)
  assert.equal(a.state, 'Enabled')
  assert.equal(a.name, 'azid subscription')
  assert.deepEqual(a.user, user)
}

/** `az account get-access-token --resource https://vault.azure.net`: a fresh IMDS request, a vault token for `who`. */
async function vaultToken(who: Ident, miridOf: string, selector: string) {
  vmTap.reset()
  const r = await az(['account', 'get-access-token', '--resource', 'https://vault.azure.net'], vmHost)
  const tok = azJson<AccessToken>(r)
  assert.equal(tok.tokenType, 'Bearer')
  assert.equal(tok.subscription, sub)
  assert.equal(tok.tenant, s.tenantId)
  const { claims } = decodeJwt(tok.accessToken)
  assert.equal(claims.aud, 'https://vault.azure.net')
  assert.equal(claims.oid, who.principalId)
  assert.equal(claims.appid, who.clientId)
  assert.equal(claims.xms_mirid, mirid(miridOf))
  assert.deepEqual(seen(vmTap), [['GET', imdsUrl('https://vault.azure.net', selector), 'true', 200]])
}

test('az login --identity (SCN-01: the VM identity has Reader on the subscription), then get-access-token for Key Vault', async (t) => {
  if (!needAz(t)) return
  const r = await az(['login', '--identity'], vmHost)
  assertLogin(r, { assignedIdentityInfo: 'MSI', name: 'systemAssignedIdentity', type: 'servicePrincipal' })
  // az asks for its cloud's active_directory_resource_id (with the slash), percent-encoded, resource first.
  assert.deepEqual(seen(vmTap), [['GET', imdsUrl(ARM_RESOURCE), 'true', 200]])
  assert.equal(vmTap.exchanges[0]?.headers.host, '169.254.169.254')
  assert.match(vmTap.exchanges[0]?.headers['user-agent'] ?? '', /msrest_azure\/0\.6\.4/)
  const body = JSON.parse(vmTap.exchanges[0]?.responseBody ?? '{}') as Record<string, string>
  assert.equal(body.resource, ARM_RESOURCE)
  assert.equal(decodeJwt(body.access_token ?? '').claims.aud, ARM_RESOURCE)
  await vaultToken(vm, vm.id, '')
})

test('az login --identity --username <UAMI client id> (SCN-02): client_id=', async (t) => {
  if (!needAz(t)) return
  const r = await az(['login', '--identity', '--username', uami.clientId], vmHost)
  assertLogin(r, {
    assignedIdentityInfo: `MSIClient-${uami.clientId}`,
    name: 'userAssignedIdentity',
    type: 'servicePrincipal',
  })
  assert.deepEqual(seen(vmTap), [['GET', imdsUrl(ARM_RESOURCE, `&client_id=${uami.clientId}`), 'true', 200]])
  await vaultToken(uami, uami.id, `&client_id=${uami.clientId}`)
})

test('az login --identity --username <UAMI resource id>: msi_res_id=', async (t) => {
  if (!needAz(t)) return
  const r = await az(['login', '--identity', '--username', uami.id], vmHost)
  assertLogin(r, {
    assignedIdentityInfo: `MSIResource-${uami.id}`,
    name: 'userAssignedIdentity',
    type: 'servicePrincipal',
  })
  const sel = `&msi_res_id=${encodeURIComponent(uami.id)}`
  assert.deepEqual(seen(vmTap), [['GET', imdsUrl(ARM_RESOURCE, sel), 'true', 200]])
  await vaultToken(uami, uami.id, sel)
})

test("az login --identity --username <principal id>: client_id= gets 400 'Bad Request', az retries with object_id=", async (t) => {
  if (!needAz(t)) return
  const r = await az(['login', '--identity', '--username', uami.principalId], vmHost)
  assertLogin(r, {
    assignedIdentityInfo: `MSIObject-${uami.principalId}`,
    name: 'userAssignedIdentity',
    type: 'servicePrincipal',
  })
  // az's sniff matches "http error: 400, reason: Bad Request" (mi-endpoints §0): the reason phrase matters.
  assert.deepEqual(seen(vmTap), [
    ['GET', imdsUrl(ARM_RESOURCE, `&client_id=${uami.principalId}`), 'true', 400],
    ['GET', imdsUrl(ARM_RESOURCE, `&object_id=${uami.principalId}`), 'true', 200],
  ])
  assert.deepEqual(JSON.parse(vmTap.exchanges[0]?.responseBody ?? ''), {
    error: 'invalid_request',
    error_description: 'Identity not found',
  })
  // Later commands select by object_id directly.
  await vaultToken(uami, uami.id, `&object_id=${uami.principalId}`)
})

test('az login --identity with no role anywhere: "No access was configured for the VM…"; --allow-no-subscriptions signs in at tenant level', async (t) => {
  if (!needAz(t)) return
  const dir = scratchDir('azid-mi-az-bare-')
  try {
    const denied = await az(['login', '--identity'], bareHost, dir.dir)
    assert.notEqual(denied.code, 0, describeRun(denied))
    assert.match(
      denied.stderr,
      /No access was configured for the VM, hence no subscriptions were found\. If this is expected, use '--allow-no-subscriptions' to have tenant level access\./,
      describeRun(denied),
    )
    // The IMDS token was fine; only the subscription list was empty.
    assert.deepEqual(seen(bareTap), [['GET', imdsUrl(ARM_RESOURCE), 'true', 200]])

    bareTap.reset()
    const r = await az(['login', '--identity', '--allow-no-subscriptions'], bareHost, dir.dir)
    const accounts = azJson<Account[]>(r)
    assert.equal(accounts.length, 1, describeRun(r))
    const a = accounts[0] as Account
    assert.equal(a.id, s.tenantId)
    assert.equal(a.tenantId, s.tenantId)
    assert.equal(a.name, 'N/A(tenant level account)')
    assert.deepEqual(a.user, { assignedIdentityInfo: 'MSI', name: 'systemAssignedIdentity', type: 'servicePrincipal' })
    assert.deepEqual(seen(bareTap), [['GET', imdsUrl(ARM_RESOURCE), 'true', 200]])

    // A tenant-level account still gets tokens from IMDS.
    bareTap.reset()
    const tok = azJson<AccessToken>(
      await az(['account', 'get-access-token', '--resource', 'https://vault.azure.net'], bareHost, dir.dir),
    )
    const { claims } = decodeJwt(tok.accessToken)
    assert.equal(claims.oid, bare.principalId)
    assert.equal(claims.aud, 'https://vault.azure.net')
    assert.deepEqual(seen(bareTap), [['GET', imdsUrl('https://vault.azure.net'), 'true', 200]])
  } finally {
    dir.dispose()
  }
})
