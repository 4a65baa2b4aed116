// Debian's azure.keyvault.secrets 4.7.0b1 with azure.identity 1.13.0b2 (python3-azure, /usr/bin/python3),
// unmodified, against azid's Key Vault (clients.md §6.2; api-shapes §7). This version speaks api-version 7.3 and
// caches the challenge per host:port. Loopback: SecretClient(…, verify_challenge_resource=False) on
// https://127.0.0.1:<vaultPort>/<vault>; namespace mode: the real https://<vault>.vault.azure.net, no option.
// The seed's tutorial "access Azure Key Vault" with the VM's managed identity: KV-001, KV-005, SCN-12.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type ChildRun, childEnv, describeRun, resultOf, runChild, type WireRequest, tagged } from '../support/child.ts'
import { hostEndpoint } from '../support/mi.ts'
import { namespaceUnavailable, runInAzureNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { DEBIAN_PYTHON, havePythonModule, need } from '../support/tiers.ts'
import { type Arm, V, adminClient, newPrincipal, paths, type Principal } from '../integration/arm/helpers.ts'
import { KV_ROLE, createVault, grant } from '../integration/keyvault/helpers.ts'

const VAULT = 'azid-kv-py'
const RG = 'kv-py'

/** `out`, WIRE lines (requests' HTTPAdapter.send, under azure-core), ARGS; RESULT or ERROR around `main()`. */
const PY_PRELUDE = `
import json, sys, traceback
def out(tag, value):
    print('@@' + tag + ' ' + json.dumps(value), flush=True)
import requests.adapters
_send = requests.adapters.HTTPAdapter.send
def _wire(self, request, **kwargs):
    body = request.body
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    out('WIRE', {'method': request.method, 'url': request.url, 'body': body or '', 'auth': 'Authorization' in request.headers})
    return _send(self, request, **kwargs)
requests.adapters.HTTPAdapter.send = _wire
ARGS = json.loads(sys.argv[1])
from azure.core.exceptions import HttpResponseError
def attempt(f):
    try:
        return {'ok': f()}
    except HttpResponseError as e:
        return {'error': {'type': type(e).__name__, 'status': e.status_code, 'code': e.error.code if e.error else None, 'message': e.error.message if e.error else str(e)}}
`
const PY_RUN = `
try:
    out('RESULT', main())
except Exception as e:
    out('ERROR', {'name': type(e).__name__, 'message': str(e), 'stack': traceback.format_exc()})
    sys.exit(2)
`

let s: TestServer
let arm: Arm
let unavailable: string | null = null
let officer: Principal
let vaultUrl: string
let vm: { id: string; principalId: string }

before(async () => {
  unavailable = havePythonModule('azure.keyvault.secrets')
    ? null
    : `${DEBIAN_PYTHON} with azure.keyvault.secrets (Debian python3-azure) is not installed`
  s = await startTestServer()
  arm = await adminClient(s)
  const vaultId = await createVault(s, arm, RG, VAULT)
  vaultUrl = s.server.endpoints.keyVault.loopbackVaultUrl.replace('{vault}', VAULT)
  officer = await newPrincipal(s, 'kv-py-officer')
  await grant(s, arm, vaultId, KV_ROLE.SecretsOfficer, officer.objectId)
  const vmPath = paths(s.server.endpoints.subscriptionId).vm(RG, 'kv-py-vm')
  const r = await arm.put(vmPath, V.compute, {
    location: 'westus',
    identity: { type: 'SystemAssigned' },
    properties: {},
  })
  assert.equal(r.status, 201, r.text)
  vm = { id: vmPath, principalId: r.json<{ identity: { principalId: string } }>().identity.principalId }
  await grant(s, arm, vaultId, KV_ROLE.SecretsUser, vm.principalId)
})
after(() => s?.stop())

/** Runs `body` (defining `main()`) with Debian's python; requests trusts only the bundle it is given. */
function runPython(body: string, args: Record<string, unknown>, env: Record<string, string> = {}): Promise<ChildRun> {
  return runChild(DEBIAN_PYTHON, ['-c', `${PY_PRELUDE}\n${body}\n${PY_RUN}`, JSON.stringify(args)], {
    env: childEnv({ REQUESTS_CA_BUNDLE: join(s.dataDir, 'pki', 'bundle.pem'), PYTHONDONTWRITEBYTECODE: '1', ...env }),
  })
}

const FULL = `
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
def main():
    cred = ClientSecretCredential(ARGS['tenant'], ARGS['client'], ARGS['secret'], authority=ARGS['authority'], instance_discovery=False)
    client = SecretClient(ARGS['url'], cred, verify_challenge_resource=False)
    s1 = client.set_secret('py-secret', 'one', content_type='text/plain', tags={'a': 'b'})
    s2 = client.set_secret('py-secret', 'two')
    client.set_secret('py-other', 'x')
    latest = client.get_secret('py-secret')
    old = client.get_secret('py-secret', s1.properties.version)
    names = sorted(p.name for p in client.list_properties_of_secrets())
    pages = [[p.name for p in page] for page in client.list_properties_of_secrets(max_page_size=1).by_page()]
    versions = sorted(p.version for p in client.list_properties_of_secret_versions('py-secret'))
    updated = client.update_secret_properties('py-secret', s2.properties.version, enabled=False, tags={'x': 'y'})
    disabled = attempt(lambda: client.get_secret('py-secret').value)
    client.update_secret_properties('py-secret', enabled=True)
    backup = client.backup_secret('py-secret')
    deleted = client.begin_delete_secret('py-secret').result()
    got_deleted = client.get_deleted_secret('py-secret')
    deleted_names = [d.name for d in client.list_deleted_secrets()]
    conflict = attempt(lambda: client.set_secret('py-secret', 'three').value)
    recovered = client.begin_recover_deleted_secret('py-secret').result()
    after_recover = client.get_secret('py-secret').value
    client.begin_delete_secret('py-secret').result()
    client.purge_deleted_secret('py-secret')
    purged = attempt(lambda: client.get_deleted_secret('py-secret').name)
    restored = client.restore_secret_backup(backup)
    after_restore = client.get_secret('py-secret').value
    missing = attempt(lambda: client.get_secret('no-such-secret').value)
    return {
        's1': {'id': s1.id, 'version': s1.properties.version, 'vault_url': s1.properties.vault_url, 'content_type': s1.properties.content_type,
               'tags': s1.properties.tags, 'recovery_level': s1.properties.recovery_level, 'created_on': s1.properties.created_on.timestamp()},
        's2': s2.properties.version, 'latest': latest.value, 'old': old.value, 'names': names, 'pages': pages, 'versions': versions,
        'updated': {'enabled': updated.enabled, 'tags': updated.tags}, 'disabled': disabled, 'backup': len(backup),
        'deleted': {'name': deleted.name, 'recovery_id': deleted.recovery_id, 'deleted_on': deleted.deleted_date.timestamp(),
                    'purge_on': deleted.scheduled_purge_date.timestamp()},
        'got_deleted': got_deleted.name, 'deleted_names': deleted_names, 'conflict': conflict,
        'recovered': {'name': recovered.name, 'version': recovered.version}, 'after_recover': after_recover, 'purged': purged,
        'restored': {'name': restored.name, 'version': restored.version}, 'after_restore': after_restore, 'missing': missing,
    }
`

interface PyFailure {
  error: { type: string; status: number; code: string | null; message: string }
}
/** What FULL returns. */
interface PyFlow {
  s1: {
    id: string
    version: string
    vault_url: string
    content_type: string
    tags: Record<string, string>
    recovery_level: string
    created_on: number
  }
  s2: string
  latest: string
  old: string
  names: string[]
  pages: string[][]
  versions: string[]
  updated: { enabled: boolean; tags: Record<string, string> }
  disabled: PyFailure
  backup: number
  deleted: { name: string; recovery_id: string; deleted_on: number; purge_on: number }
  got_deleted: string
  deleted_names: string[]
  conflict: PyFailure
  recovered: { name: string; version: string }
  after_recover: string
  purged: PyFailure
  restored: { name: string; version: string }
  after_restore: string
  missing: PyFailure
}

test('ClientSecretCredential on loopback: the whole secrets API through the SDK (api-version 7.3)', async (t) => {
  if (!need(t, unavailable)) return
  const r = await runPython(FULL, {
    tenant: s.tenantId,
    client: officer.clientId,
    secret: officer.secret,
    authority: s.base,
    url: vaultUrl,
  })
  const out = resultOf<PyFlow>(r)
  const origin = new URL(vaultUrl).origin
  assert.match(out.s1.id, new RegExp(`^${origin}/secrets/py-secret/[0-9a-f]{32}$`))
  assert.equal(out.s1.vault_url, origin)
  assert.equal(out.s1.content_type, 'text/plain')
  assert.deepEqual(out.s1.tags, { a: 'b' })
  assert.equal(out.s1.recovery_level, 'Recoverable+Purgeable')
  assert.ok(Math.abs(out.s1.created_on * 1000 - Date.now()) < 120_000)
  assert.equal(out.latest, 'two')
  assert.equal(out.old, 'one')
  assert.deepEqual(out.names, ['py-other', 'py-secret'])
  assert.deepEqual(out.pages, [['py-other'], ['py-secret']], 'max_page_size 1: two pages through nextLink')
  assert.deepEqual(out.versions, [out.s1.version, out.s2].sort())
  assert.deepEqual(out.updated, { enabled: false, tags: { x: 'y' } })
  assert.deepEqual(out.disabled.error, {
    type: 'HttpResponseError',
    status: 403,
    code: 'Forbidden',
    message: 'Operation get is not allowed on a disabled secret.',
  })
  assert.ok(out.backup > 32)
  assert.equal(out.deleted.name, 'py-secret')
  assert.equal(out.deleted.recovery_id, `${origin}/deletedsecrets/py-secret`)
  assert.equal(out.deleted.purge_on - out.deleted.deleted_on, 90 * 86_400)
  assert.equal(out.got_deleted, 'py-secret')
  assert.deepEqual(out.deleted_names, ['py-secret'])
  assert.equal(out.conflict.error.type, 'ResourceExistsError')
  assert.equal(out.conflict.error.status, 409)
  assert.equal(out.conflict.error.code, 'Conflict')
  assert.deepEqual(out.recovered, { name: 'py-secret', version: out.s2 })
  assert.equal(out.after_recover, 'two')
  assert.equal(out.purged.error.type, 'ResourceNotFoundError')
  assert.equal(out.purged.error.message, 'Deleted Secret not found: py-secret')
  assert.deepEqual(out.restored, { name: 'py-secret', version: out.s2 })
  assert.equal(out.after_restore, 'two')
  assert.equal(out.missing.error.type, 'ResourceNotFoundError')
  assert.equal(out.missing.error.code, 'SecretNotFound')

  // The challenge: the first vault request has neither token nor body; the retry has both. api-version 7.3.
  const reqs = tagged<WireRequest & { auth: boolean }>(r, 'WIRE').filter((w) => w.url.startsWith(vaultUrl))
  assert.deepEqual(
    reqs.slice(0, 2).map((w) => [w.method, w.auth, w.body === '']),
    [
      ['PUT', false, true],
      ['PUT', true, false],
    ],
    describeRun(r),
  )
  assert.ok(reqs.every((w) => new URL(w.url).searchParams.get('api-version') === '7.3'))
  assert.ok(
    reqs.some((w) => w.url.startsWith(`${vaultUrl}/secrets/py-secret/?api-version=7.3`)),
    'empty version: trailing /',
  )
})

const READ = `
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient
def main():
    client = SecretClient(ARGS['url'], ManagedIdentityCredential(), **ARGS['options'])
    s = client.get_secret('MyTestSecret')
    return {'value': s.value, 'id': s.id}
`

test('the tutorial: the VM reads MyTestSecret with ManagedIdentityCredential (loopback IMDS, then namespace mode)', async (t) => {
  if (!need(t, unavailable)) return
  const set = await runPython(
    `
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
def main():
    cred = ClientSecretCredential(ARGS['tenant'], ARGS['client'], ARGS['secret'], authority=ARGS['authority'], instance_discovery=False)
    return SecretClient(ARGS['url'], cred, verify_challenge_resource=False).set_secret('MyTestSecret', 'p@ssw0rd!').id
`,
    { tenant: s.tenantId, client: officer.clientId, secret: officer.secret, authority: s.base, url: vaultUrl },
  )
  resultOf(set)
  const loop = await hostEndpoint(s, vm.id, 'loopback')
  const r = await runPython(READ, { url: vaultUrl, options: { verify_challenge_resource: false } }, loop.env)
  const out = resultOf<{ value: string; id: string }>(r)
  assert.equal(out.value, 'p@ssw0rd!')
  assert.match(out.id, /\/secrets\/MyTestSecret\/[0-9a-f]{32}$/)

  if (!need(t, namespaceUnavailable())) return
  const e = await hostEndpoint(s, vm.id, 'namespace')
  const url = `https://${VAULT}.vault.azure.net`
  const ns = await runInAzureNamespace(
    s,
    DEBIAN_PYTHON,
    ['-c', `${PY_PRELUDE}\n${READ}\n${PY_RUN}`, JSON.stringify({ url, options: {} })],
    { host: e, env: { PYTHONDONTWRITEBYTECODE: '1' }, timeoutMs: 60_000 },
  )
  const nsOut = resultOf<{ value: string; id: string }>(ns)
  assert.equal(nsOut.value, 'p@ssw0rd!')
  assert.match(nsOut.id, new RegExp(`^https://${VAULT}\\.vault\\.azure\\.net/secrets/MyTestSecret/[0-9a-f]{32}$`))
})
