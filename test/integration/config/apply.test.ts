// Configuration as code (issue 6): `azid apply` → `azid export` → `azid apply` on a fresh azid gives the same world,
// with the same ids, and that world works (the secret authenticates, the host's identity gets tokens, roles grant);
// applying twice changes nothing; a changed file changes only what changed; a broken file is refused with its line
// named and nothing applied.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { parse } from 'yaml'
import type { World } from '../../../src/server/world/document.ts'
import { postForm } from '../../support/https.ts'
import { admin } from '../../support/mi.ts'
import { type TestServer, startTestServer } from '../../support/server.ts'
import { apply, claimsOf, cli, exportWorld, imdsToken } from './helpers.ts'

const SECOND_SUB = '11111111-2222-4333-8444-555555555555'
const SECRET = 'orders-ci-secret-0123456789'

function worldYaml(certPem: string): string {
  const cert = certPem
    .trim()
    .split('\n')
    .map((l) => `          ${l}`)
    .join('\n')
  return `# the world of the orders service
tenants:
  - domain: fabrikam.example
    displayName: Fabrikam
users:
  - userPrincipalName: alice@azid.onmicrosoft.com
    displayName: Alice
    password: Alice-Passw0rd!
applications:
  - displayName: orders-api
    identifierUris: [api://orders]
    secrets:
      - displayName: ci
        value: ${SECRET}
    federatedCredentials:
      - name: github-main
        issuer: https://token.actions.githubusercontent.com
        subject: repo:contoso/orders:ref:refs/heads/main
  - displayName: partner-app
    tenant: fabrikam.example
    certificates:
      - displayName: signing
        pem: |
${cert}
subscriptions:
  - id: ${SECOND_SUB}
    displayName: second
resourceGroups:
  - name: app-rg
    location: westeurope
    tags: { env: test }
  - name: other-rg
    location: northeurope
    subscription: second
customRoles:
  - name: Identity Reader
    actions: [Microsoft.ManagedIdentity/userAssignedIdentities/read]
identities:
  - name: orders-id
    resourceGroup: app-rg
    federatedCredentials:
      - name: k8s-orders
        issuer: https://oidc.example/cluster
        subject: system:serviceaccount:default:orders
  - name: batch-id
    resourceGroup: app-rg
hosts:
  - name: orders-vm
    type: vm
    resourceGroup: app-rg
    systemAssigned: true
    userAssigned: [orders-id, batch-id]
    tags: { role: api }
  - name: orders-web
    type: webapp
    resourceGroup: app-rg
    userAssigned: [app-rg/orders-id]
  - name: arc1
    type: arc
    resourceGroup: other-rg
    subscription: second
    systemAssigned: true
roleAssignments:
  - assignee: identity:orders-id
    role: Reader
    resourceGroup: app-rg
  - assignee: host:orders-vm
    role: Identity Reader
  - assignee: alice@azid.onmicrosoft.com
    role: Contributor
    resourceGroup: app-rg
  - assignee: app:orders-api
    role: Reader
    scope: /subscriptions/${SECOND_SUB}
faults:
  - name: flaky-imds
    effect: 503
    host: orders-web
    count: 2
`
}

let A: TestServer
let dir: string
let file: string

before(async () => {
  A = await startTestServer()
  dir = mkdtempSync(join(tmpdir(), 'azid-world-'))
  file = join(dir, 'world.yaml')
  writeFileSync(file, worldYaml(readFileSync(A.caPath, 'utf8')))
})
after(async () => {
  await A?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('apply creates the world; a second apply changes nothing and says so', async () => {
  const r = await cli(A, 'apply', '-f', file)
  assert.equal(r.code, 0, r.err)
  assert.match(r.out, /^\+ created tenant fabrikam\.example$/m)
  assert.match(r.out, /^\+ created host app-rg\/orders-vm$/m)
  assert.match(r.out, /^Applied world\.yaml: 18 created, 0 updated, 0 unchanged/m)
  assert.match(r.err, /Applying world\.yaml/)

  const again = await cli(A, 'apply', '-f', file)
  assert.equal(again.code, 0, again.err)
  assert.match(again.out, /^No changes: the world already matches world\.yaml \(18 items checked/)
  assert.doesNotMatch(again.out, /created|updated/)

  // The world is the file's: the host carries both identities, the role assignments are in force.
  const w = await exportWorld(A)
  const vm = w.hosts?.find((h) => h.name === 'orders-vm')
  assert.deepEqual(vm?.userAssigned?.sort(), ['batch-id', 'orders-id'])
  assert.equal(typeof vm?.systemAssigned, 'object')
  const explain = await admin(
    A,
    'GET',
    `/_azid/access/explain?${new URLSearchParams({
      principal: (vm?.systemAssigned as { principalId: string } | undefined)?.principalId as string,
      action: 'Microsoft.ManagedIdentity/userAssignedIdentities/read',
      scope: `/subscriptions/${A.server.endpoints.subscriptionId}/resourceGroups/app-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders-id`,
    })}`,
  )
  assert.equal(explain.json<{ allowed: boolean; grant: { roleName: string } }>().grant.roleName, 'Identity Reader')
  const ordersId = w.identities?.find((i) => i.name === 'orders-id')
  const tok = await imdsToken(A, 'orders-vm', { client_id: ordersId?.clientId as string })
  assert.equal(tok.status, 200, JSON.stringify(tok.body))
  assert.equal(claimsOf(String(tok.body.access_token)).oid, ordersId?.principalId)
})

test('export → apply on a fresh azid gives the same world, ids and credentials included', async () => {
  const exported = await cli(A, 'export', '-f', join(dir, 'exported.yaml'))
  assert.equal(exported.code, 0, exported.err)
  const E = parse(readFileSync(join(dir, 'exported.yaml'), 'utf8')) as World
  assert.deepEqual(E, await exportWorld(A), 'the YAML file holds the export')
  // No clear-text secret or password leaves azid.
  assert.doesNotMatch(readFileSync(join(dir, 'exported.yaml'), 'utf8'), new RegExp(`${SECRET}|Alice-Passw0rd`))

  const B = await startTestServer()
  try {
    const r = await apply(B, E)
    assert.equal(
      r.summary.updated + r.summary.unchanged,
      0,
      JSON.stringify(r.changes.filter((c) => c.action !== 'created')),
    )
    assert.deepEqual(await exportWorld(B), E)
    assert.equal((await apply(B, E)).summary.created, 0)

    // The application's secret (exported as a hash) authenticates at B.
    const app = E.applications?.find((a) => a.displayName === 'orders-api')
    const cc = await postForm(`${B.base}/${B.tenantId}/oauth2/v2.0/token`, B.ca, {
      grant_type: 'client_credentials',
      client_id: app?.appId as string,
      client_secret: SECRET,
      scope: 'https://management.azure.com/.default',
    })
    assert.equal(cc.status, 200, cc.text)
    // Its role assignment on the second subscription is in force at B.
    const explain = await admin(
      B,
      'GET',
      `/_azid/access/explain?${new URLSearchParams({
        principal: app?.servicePrincipalId as string,
        action: 'Microsoft.Resources/subscriptions/resourceGroups/read',
        scope: `/subscriptions/${SECOND_SUB}/resourceGroups/other-rg`,
      })}`,
    )
    assert.equal(explain.json<{ allowed: boolean }>().allowed, true)
    // The VM's identities at B have A's ids: a process on orders-vm gets a token whose oid is A's principal.
    const vm = E.hosts?.find((h) => h.name === 'orders-vm')
    const tok = await imdsToken(B, 'orders-vm')
    assert.equal(tok.status, 200, JSON.stringify(tok.body))
    assert.equal(
      claimsOf(String(tok.body.access_token)).oid,
      (vm?.systemAssigned as { principalId: string } | undefined)?.principalId as string,
    )
  } finally {
    await B.stop()
  }
})

test('a changed file changes only what changed (no pruning)', async () => {
  const changed = readFileSync(file, 'utf8')
    .replace(
      '  - name: batch-id\n    resourceGroup: app-rg\n',
      '  - name: batch-id\n    resourceGroup: app-rg\n    tags: { tier: batch }\n',
    )
    .replace('userAssigned: [orders-id, batch-id]', 'userAssigned: [orders-id]')
    .replace('faults:\n', '  - assignee: identity:batch-id\n    role: Reader\n    resourceGroup: app-rg\nfaults:\n')
  const f2 = join(dir, 'changed.yaml')
  writeFileSync(f2, changed)
  const r = await cli(A, 'apply', '-f', f2, '-o', 'json')
  assert.equal(r.code, 0, r.err)
  const result = JSON.parse(r.out) as {
    changes: { kind: string; name: string; action: string; detail?: string }[]
    summary: object
  }
  assert.deepEqual(result.summary, { created: 1, updated: 2, unchanged: 16 })
  const touched = result.changes.filter((c) => c.action !== 'unchanged').map((c) => `${c.action} ${c.kind} ${c.name}`)
  assert.deepEqual(touched, [
    'updated identity app-rg/batch-id',
    'updated host app-rg/orders-vm',
    'created role assignment Reader for identity:batch-id',
  ])
  assert.match(result.changes.find((c) => c.name === 'app-rg/orders-vm')?.detail ?? '', /identity batch-id detached/)
  // Removing an item from the file does not delete it: the original file's extra assignment etc. stay.
  const w = await exportWorld(A)
  assert.equal(w.identities?.find((i) => i.name === 'batch-id')?.tags?.tier, 'batch')
  assert.deepEqual(w.hosts?.find((h) => h.name === 'orders-vm')?.userAssigned, ['orders-id'])
})

test('a broken file is refused with the line named, and nothing is applied', async () => {
  const before = await exportWorld(A)
  const broken = [
    'resourceGroups:', //                                     1
    '  - name: late-rg', //                                   2
    '    location: westeurope', //                            3
    'identities:', //                                         4
    '  - name: late-id', //                                   5
    '    resourceGroup: late-rg', //                          6
    'roleAssignments:', //                                    7
    '  - assignee: identity:late-id', //                      8
    '    role: Readr', //                                     9
    '    resourceGroup: late-rg', //                         10
    '  - assignee: nobody@azid.onmicrosoft.com', //          11
    '    role: Reader', //                                   12
  ].join('\n')
  const f = join(dir, 'broken.yaml')
  writeFileSync(f, broken)
  const r = await cli(A, 'apply', '-f', f)
  assert.equal(r.code, 1)
  const lines = r.err.split('\n').filter((l) => l.startsWith('azid:'))
  assert.deepEqual(lines, [
    "azid: broken.yaml:9: roleAssignments[0].role: unknown role 'Readr' (did you mean 'Reader'?)",
    "azid: broken.yaml:11: roleAssignments[1].assignee: unknown user 'nobody@azid.onmicrosoft.com': declare it under users",
    'azid: nothing was applied: fix broken.yaml and run azid apply again',
  ])
  assert.deepEqual(await exportWorld(A), before, 'the group and identity of the same file were rolled back')

  // Structure: an unknown key and a wrong type, each with its line.
  writeFileSync(
    f,
    'hosts:\n  - name: h\n    type: vm\n    resourceGroup: app-rg\n    sytemAssigned: true\nfaults:\n  - effect: [503]\n',
  )
  const s2 = await cli(A, 'apply', '-f', f)
  assert.equal(s2.code, 1)
  assert.match(s2.err, /^azid: broken\.yaml:5: hosts\[0\]\.sytemAssigned: unknown key 'sytemAssigned'$/m)
  assert.match(s2.err, /^azid: broken\.yaml:7: faults\[0\]\.effect: /m)

  // YAML syntax.
  writeFileSync(f, 'identities:\n  - name: x\n   resourceGroup: [\n')
  const s3 = await cli(A, 'apply', '-f', f)
  assert.equal(s3.code, 1)
  assert.match(s3.err, /^azid: broken\.yaml:\d+: syntax error: /)

  // A late ARM refusal (an invalid web app name) rolls back what came before it in the same file.
  writeFileSync(
    f,
    'resourceGroups:\n  - name: late-rg\n    location: westeurope\nhosts:\n  - name: bad_name!\n    type: webapp\n    resourceGroup: late-rg\n',
  )
  const s4 = await cli(A, 'apply', '-f', f)
  assert.equal(s4.code, 1)
  assert.match(s4.err, /^azid: broken\.yaml:5: hosts\[0\]: InvalidResourceName: /m)
  assert.deepEqual(await exportWorld(A), before)

  const missing = await cli(A, 'apply', '-f', join(dir, 'nope.yaml'))
  assert.equal(missing.code, 1)
  assert.match(missing.err, /^azid: cannot read .*nope\.yaml: no such file$/)
  const noFile = await cli(A, 'apply')
  assert.equal(noFile.code, 2)
})

test('--dry-run reports what would change and changes nothing', async () => {
  const before = await exportWorld(A)
  const f = join(dir, 'dry.yaml')
  writeFileSync(f, 'resourceGroups:\n  - name: dry-rg\n    location: westeurope\n')
  const r = await cli(A, 'apply', '-f', f, '--dry-run')
  assert.equal(r.code, 0, r.err)
  assert.match(r.out, /^\+ created resource group dry-rg$/m)
  assert.match(r.out, /Would apply dry\.yaml: 1 created.*nothing was changed/)
  assert.deepEqual(await exportWorld(A), before)
})

test('a world with a generated secret returns it once; applications keyed by appId keep their ids', async () => {
  const r = await apply(A, {
    applications: [
      { displayName: 'gen-app', appId: '0a1b2c3d-0000-4000-8000-000000000001', secrets: [{ displayName: 'auto' }] },
    ],
  })
  assert.equal(r.generatedSecrets.length, 1)
  const secret = r.generatedSecrets[0]?.value as string
  const cc = await postForm(`${A.base}/${A.tenantId}/oauth2/v2.0/token`, A.ca, {
    grant_type: 'client_credentials',
    client_id: '0a1b2c3d-0000-4000-8000-000000000001',
    client_secret: secret,
    scope: 'https://management.azure.com/.default',
  })
  assert.equal(cc.status, 200, cc.text)
  const again = await apply(A, {
    applications: [
      { displayName: 'gen-app', appId: '0a1b2c3d-0000-4000-8000-000000000001', secrets: [{ displayName: 'auto' }] },
    ],
  })
  assert.equal(again.generatedSecrets.length, 0)
  assert.equal(again.summary.unchanged, 1)
})
