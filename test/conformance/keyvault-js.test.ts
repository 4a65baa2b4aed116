// @azure/keyvault-secrets 4.11.2 with @azure/identity, unmodified, against azid's Key Vault (clients.md §6.2;
// api-shapes §7). Loopback: the vault is https://127.0.0.1:<vaultPort>/<vault>, and the client needs
// `disableChallengeResourceVerification: true` (proven below by leaving it out). Namespace mode: the real
// https://<vault>.vault.azure.net with no client option at all. The seed's tutorial "access Azure Key Vault" (003
// L3129–3267) with the managed identity of a VM: KV-001, KV-005, KV-006, SCN-12.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  type ChildRun,
  describeRun,
  errorOf,
  moduleUrl,
  resultOf,
  runNode,
  scratchDir,
  wire,
  NODE_PRELUDE,
} from '../support/child.ts'
import { hostEndpoint } from '../support/mi.ts'
import { namespaceUnavailable, runInAzureNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { need } from '../support/tiers.ts'
import {
  type Arm,
  V,
  adminClient,
  createUami,
  newPrincipal,
  paths,
  type Principal,
} from '../integration/arm/helpers.ts'
import { KV_ROLE, createVault, grant } from '../integration/keyvault/helpers.ts'

const IDENTITY = moduleUrl('@azure/identity')
const SECRETS = moduleUrl('@azure/keyvault-secrets')
const VAULT = 'azid-kv-js'
const RG = 'kv-js'

let s: TestServer
let arm: Arm
let scratch: ReturnType<typeof scratchDir>
let vaultId: string
let officer: Principal
let vm: { id: string; principalId: string }
let uami: { id: string; principalId: string; clientId: string }
let vaultUrl: string

before(async () => {
  s = await startTestServer()
  scratch = scratchDir('azid-kv-js-')
  arm = await adminClient(s)
  vaultId = await createVault(s, arm, RG, VAULT)
  vaultUrl = s.server.endpoints.keyVault.loopbackVaultUrl.replace('{vault}', VAULT)
  officer = await newPrincipal(s, 'kv-js-officer')
  await grant(s, arm, vaultId, KV_ROLE.SecretsOfficer, officer.objectId)
  // The tutorial's VM, with a system-assigned identity granted "Secret Management" (here: Key Vault Secrets User).
  const sub = s.server.endpoints.subscriptionId
  uami = await createUami(arm, sub, RG, 'kv-js-id')
  const vmPath = paths(sub).vm(RG, 'kv-js-vm')
  const r = await arm.put(vmPath, V.compute, {
    location: 'westus',
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [uami.id]: {} } },
    properties: {},
  })
  assert.equal(r.status, 201, r.text)
  vm = { id: vmPath, principalId: r.json<{ identity: { principalId: string } }>().identity.principalId }
  await grant(s, arm, vaultId, KV_ROLE.SecretsUser, vm.principalId)
  await grant(s, arm, `${vaultId}/secrets/MyTestSecret`, KV_ROLE.SecretsUser, uami.principalId)
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

/** A child that builds `credential` and `client` (SecretClient on `url` with `options`), then runs `body`. */
const script = (credential: string, url: string, options: string, body: string) => `
const identity = await import(${JSON.stringify(IDENTITY)})
const kv = await import(${JSON.stringify(SECRETS)})
const failure = (e) => ({ name: e?.name, statusCode: e?.statusCode, code: e?.code, message: String(e?.message ?? e) })
const attempt = async (f) => { try { return { ok: await f() } } catch (e) { return { error: failure(e) } } }
await run(async () => {
  const credential = ${credential}
  const client = new kv.SecretClient(${JSON.stringify(url)}, credential, ${options})
  ${body}
})`

const secretCredential = () =>
  `new identity.ClientSecretCredential(${JSON.stringify(s.tenantId)}, ${JSON.stringify(officer.clientId)}, ${JSON.stringify(officer.secret)}, { authorityHost: ${JSON.stringify(s.base)}, disableInstanceDiscovery: true })`
const LOOPBACK_OPTIONS = '{ disableChallengeResourceVerification: true }'

interface Failure {
  error: { name: string; statusCode: number; code: string; message: string }
}
/** What the full-flow child returns. */
interface JsFlow {
  s1: {
    id: string
    version: string
    vaultUrl: string
    contentType: string
    tags: Record<string, string>
    recoveryLevel: string
    recoverableDays: number
    createdOn: string
  }
  s2: { version: string }
  latest: string
  old: string
  names: string[]
  pages: string[][]
  versions: string[]
  updated: { enabled: boolean; tags: Record<string, string> }
  disabled: Failure
  backupBytes: number
  deleted: { name: string; recoveryId: string; deletedOn: string; scheduledPurgeDate: string }
  gotDeleted: string
  deletedNames: string[]
  conflict: Failure
  recovered: { name: string; version: string }
  afterRecover: string
  purged: Failure
  restored: { name: string; version: string }
  afterRestore: string
  missing: Failure
}

const vaultRequests = (r: ChildRun, base: string) => wire(r).filter((w) => w.url.startsWith(base))

test('ClientSecretCredential on loopback: the whole secrets API through the SDK (set → get → list → update → delete poller → recover poller → purge → backup → restore)', async () => {
  const body = `
  const s1 = await client.setSecret('js-secret', 'one', { contentType: 'text/plain', tags: { a: 'b' } })
  const s2 = await client.setSecret('js-secret', 'two')
  await client.setSecret('js-other', 'x')
  const latest = await client.getSecret('js-secret')
  const old = await client.getSecret('js-secret', { version: s1.properties.version })
  const names = []
  for await (const p of client.listPropertiesOfSecrets()) names.push(p.name)
  const pages = []
  for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 1 })) pages.push(page.map((p) => p.name))
  const versions = []
  for await (const p of client.listPropertiesOfSecretVersions('js-secret')) versions.push(p.version)
  const updated = await client.updateSecretProperties('js-secret', s2.properties.version, { enabled: false, tags: { x: 'y' } })
  const disabled = await attempt(() => client.getSecret('js-secret'))
  await client.updateSecretProperties('js-secret', s2.properties.version, { enabled: true })
  const backup = await client.backupSecret('js-secret')
  const deleted = await (await client.beginDeleteSecret('js-secret', { intervalInMs: 20 })).pollUntilDone()
  const gotDeleted = await client.getDeletedSecret('js-secret')
  const deletedNames = []
  for await (const d of client.listDeletedSecrets()) deletedNames.push(d.name)
  const conflict = await attempt(() => client.setSecret('js-secret', 'three'))
  const recovered = await (await client.beginRecoverDeletedSecret('js-secret', { intervalInMs: 20 })).pollUntilDone()
  const afterRecover = await client.getSecret('js-secret')
  await (await client.beginDeleteSecret('js-secret', { intervalInMs: 20 })).pollUntilDone()
  await client.purgeDeletedSecret('js-secret')
  const purged = await attempt(() => client.getDeletedSecret('js-secret'))
  const restored = await client.restoreSecretBackup(backup)
  const afterRestore = await client.getSecret('js-secret')
  const missing = await attempt(() => client.getSecret('no-such-secret'))
  return {
    s1: { id: s1.properties.id, version: s1.properties.version, vaultUrl: s1.properties.vaultUrl, contentType: s1.properties.contentType, tags: s1.properties.tags, recoveryLevel: s1.properties.recoveryLevel, recoverableDays: s1.properties.recoverableDays, createdOn: s1.properties.createdOn },
    s2: { version: s2.properties.version },
    latest: latest.value, old: old.value, names, pages, versions,
    updated: { enabled: updated.enabled, tags: updated.tags },
    disabled, backupBytes: backup.length,
    deleted: { name: deleted.name, recoveryId: deleted.recoveryId, deletedOn: deleted.deletedOn, scheduledPurgeDate: deleted.scheduledPurgeDate },
    gotDeleted: gotDeleted.name, deletedNames, conflict,
    recovered: { name: recovered.name, version: recovered.version },
    afterRecover: afterRecover.value, purged,
    restored: { name: restored.name, version: restored.version },
    afterRestore: afterRestore.value, missing,
  }`
  const r = await runNode(scratch, 'full', script(secretCredential(), vaultUrl, LOOPBACK_OPTIONS, body), {
    caPath: s.caPath,
  })
  const out = resultOf<JsFlow>(r)
  const origin = new URL(vaultUrl).origin
  assert.match(out.s1.id, new RegExp(`^${origin}/secrets/js-secret/[0-9a-f]{32}$`))
  assert.equal(out.s1.vaultUrl, origin)
  assert.equal(out.s1.contentType, 'text/plain')
  assert.deepEqual(out.s1.tags, { a: 'b' })
  assert.equal(out.s1.recoveryLevel, 'Recoverable+Purgeable')
  assert.equal(out.s1.recoverableDays, 90)
  assert.ok(Math.abs(Date.parse(out.s1.createdOn) - Date.now()) < 120_000, String(out.s1.createdOn))
  assert.equal(out.latest, 'two')
  assert.equal(out.old, 'one')
  assert.deepEqual(out.names.sort(), ['js-other', 'js-secret'])
  assert.deepEqual(out.pages, [['js-other'], ['js-secret']], 'maxPageSize 1: two pages through nextLink')
  assert.deepEqual(out.versions.sort(), [out.s1.version, out.s2.version].sort())
  assert.deepEqual(out.updated, { enabled: false, tags: { x: 'y' } })
  assert.equal(out.disabled.error.statusCode, 403)
  assert.equal(out.disabled.error.message, 'Operation get is not allowed on a disabled secret.')
  assert.ok(out.backupBytes > 32)
  assert.equal(out.deleted.name, 'js-secret')
  assert.equal(out.deleted.recoveryId, `${origin}/deletedsecrets/js-secret`)
  assert.ok(out.deleted.deletedOn && out.deleted.scheduledPurgeDate)
  assert.equal(Date.parse(out.deleted.scheduledPurgeDate) - Date.parse(out.deleted.deletedOn), 90 * 86_400_000)
  assert.equal(out.gotDeleted, 'js-secret')
  assert.deepEqual(out.deletedNames, ['js-secret'])
  assert.equal(out.conflict.error.statusCode, 409)
  assert.match(out.conflict.error.message, /is currently in a deleted but recoverable state/)
  assert.deepEqual(out.recovered, { name: 'js-secret', version: out.s2.version })
  assert.equal(out.afterRecover, 'two')
  assert.equal(out.purged.error.statusCode, 404)
  assert.equal(out.purged.error.code, 'SecretNotFound')
  assert.deepEqual(out.restored, { name: 'js-secret', version: out.s2.version })
  assert.equal(out.afterRestore, 'two')
  assert.equal(out.missing.error.statusCode, 404)
  assert.equal(out.missing.error.code, 'SecretNotFound')

  // On the wire (clients.md §6.2): the first request goes out without token and without its body, gets the
  // challenge, and is sent again; `/secrets/name/?api%2Dversion=2025-07-01`.
  const reqs = vaultRequests(r, vaultUrl)
  assert.equal(reqs[0]?.method, 'PUT')
  assert.equal(reqs[0]?.body, '', 'challenge request without body')
  assert.equal(reqs[1]?.method, 'PUT')
  assert.match(reqs[1]?.body ?? '', /"value":"one"/)
  assert.ok(
    reqs.some((w) => w.url === `${vaultUrl}/secrets/js-secret/?api%2Dversion=2025-07-01`),
    describeRun(r),
  )
})

test('loopback without disableChallengeResourceVerification: the SDK refuses the challenge (the option is required there)', async () => {
  const r = await runNode(
    scratch,
    'verify-on',
    script(secretCredential(), vaultUrl, '{}', "return (await client.getSecret('anything')).value"),
    { caPath: s.caPath },
  )
  const e = errorOf(r)
  assert.match(
    e.message,
    /The challenge resource 'vault\.azure\.net' does not match the requested domain\. Set disableChallengeResourceVerification to true/,
  )
})

test('the tutorial on loopback: the VM reads MyTestSecret with ManagedIdentityCredential (IMDS), a user-assigned identity by client id', async () => {
  const admin = script(
    secretCredential(),
    vaultUrl,
    LOOPBACK_OPTIONS,
    "await client.setSecret('MyTestSecret', 'p@ssw0rd!'); return 1",
  )
  resultOf(await runNode(scratch, 'seed-set', admin, { caPath: s.caPath }))
  const e = await hostEndpoint(s, vm.id, 'loopback')
  const read = "const s = await client.getSecret('MyTestSecret'); return { value: s.value, id: s.properties.id }"
  for (const [name, credential] of [
    ['mi-system', 'new identity.ManagedIdentityCredential()'],
    ['mi-user', `new identity.ManagedIdentityCredential({ clientId: ${JSON.stringify(uami.clientId)} })`],
  ] as const) {
    const r = await runNode(scratch, name, script(credential, vaultUrl, LOOPBACK_OPTIONS, read), {
      caPath: s.caPath,
      env: e.env,
    })
    const out = resultOf<{ value: string; id: string }>(r)
    assert.equal(out.value, 'p@ssw0rd!', name)
    assert.match(out.id, /\/secrets\/MyTestSecret\/[0-9a-f]{32}$/)
    // The token came from the host's IMDS for https://vault.azure.net (the tutorial's resource).
    assert.ok(
      wire(r).some((w) => /\/metadata\/identity\/oauth2\/token.*resource=https%3A%2F%2Fvault\.azure\.net/.test(w.url)),
    )
  }
  // The user-assigned identity's role is on MyTestSecret only.
  const other = await runNode(
    scratch,
    'mi-user-other',
    script(
      `new identity.ManagedIdentityCredential({ clientId: ${JSON.stringify(uami.clientId)} })`,
      vaultUrl,
      LOOPBACK_OPTIONS,
      "return await attempt(() => client.setSecret('MyTestSecret', 'nope'))",
    ),
    { caPath: s.caPath, env: e.env },
  )
  const denied = resultOf<{ error: { statusCode: number; code: string; message: string } }>(other)
  assert.equal(denied.error.statusCode, 403)
  assert.equal(denied.error.code, 'Forbidden')
  assert.match(denied.error.message, /^Caller is not authorized to perform action on resource\./)
})

test('namespace mode: https://<vault>.vault.azure.net with ManagedIdentityCredential and no client option at all', async (t) => {
  if (!need(t, namespaceUnavailable())) return
  const e = await hostEndpoint(s, vm.id, 'namespace')
  const url = `https://${VAULT}.vault.azure.net`
  const body = `
  const s = await client.getSecret('MyTestSecret')
  const names = []
  for await (const p of client.listPropertiesOfSecrets()) names.push(p.name)
  return { value: s.value, id: s.properties.id, vaultUrl: s.properties.vaultUrl, names }`
  const file = scratch.write(
    'ns.mjs',
    `${NODE_PRELUDE}\n${script('new identity.ManagedIdentityCredential()', url, '{}', body)}\n`,
  )
  const r = await runInAzureNamespace(s, process.execPath, [file], { host: e, timeoutMs: 60_000 })
  const out = resultOf<{ value: string; id: string; vaultUrl: string; names: string[] }>(r)
  assert.equal(out.value, 'p@ssw0rd!')
  assert.match(out.id, new RegExp(`^https://${VAULT}\\.vault\\.azure\\.net/secrets/MyTestSecret/[0-9a-f]{32}$`))
  assert.equal(out.vaultUrl, url)
  assert.ok(out.names.includes('MyTestSecret'))
  const reqs = wire(r).filter((w) => w.url.startsWith(url))
  assert.equal(reqs[0]?.url, `${url}/secrets/MyTestSecret/?api%2Dversion=2025-07-01`, describeRun(r))
})
