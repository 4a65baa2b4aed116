// The seed's REST articles replayed with the real curl binary (003 L4743–5637 VMs, L6476–7460 scale sets,
// L8839–8958 user-assigned identities). Only the host (management.azure.com → azid), the subscription and the token
// change; the token comes from azid's token service through curl as well (client_credentials, as
// `az account get-access-token` would hand it over). Bodies are the articles' formatted ones (INC-004: several
// one-liners are not JSON), with the PDF's line breaks inside `<SUBSCRIPTION ID>` undone.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { childEnv, runChild } from '../support/child.ts'
import { decodeJwt } from '../support/https.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { haveCommand, need } from '../support/tiers.ts'

const HAVE_CURL = haveCommand('curl')

let s: TestServer
let sub: string
let token: string

interface CurlResult {
  status: number
  text: string
  json: Record<string, unknown>
}

/** Runs curl with the seed's arguments plus `-sS --cacert <ca> -w <status>`. */
async function curl(args: readonly string[]): Promise<CurlResult> {
  const r = await runChild('curl', ['-sS', '--cacert', s.caPath, '-w', '\n%{http_code}', ...args], {
    env: childEnv({}),
    timeoutMs: 15_000,
  })
  assert.equal(r.code, 0, `curl ${args.join(' ')}\n${r.stderr}`)
  const cut = r.stdout.lastIndexOf('\n')
  const text = r.stdout.slice(0, cut)
  let json: Record<string, unknown> = {}
  try {
    json = text.trim() ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    json = {}
  }
  return { status: Number(r.stdout.slice(cut + 1)), text, json }
}

/** A URL or body of the seed with azid's host and subscription put in. */
function fill(text: string): string {
  return text
    .replaceAll('https://management.azure.com', s.base)
    .replaceAll('<<SUBSCRIPTION ID>>', sub)
    .replaceAll('<SUBSCRIPTION ID>', sub)
    .replaceAll('<SUBSCRIPTION_ID>', sub)
}

// The four curl shapes of the articles.
const seedGet = (url: string) => curl([fill(url), '-H', `Authorization: Bearer ${token}`])
const seedPut = (url: string, body: string) =>
  curl([
    fill(url),
    '-X',
    'PUT',
    '-d',
    fill(body),
    '-H',
    'Content-Type: application/json',
    '-H',
    `Authorization: Bearer ${token}`,
  ])
/** `-H Authorization:"Bearer <ACCESS TOKEN>"`: the shell hands curl `Authorization:Bearer …` (no space). */
const seedPatch = (url: string, body: string) =>
  curl([
    fill(url),
    '-X',
    'PATCH',
    '-d',
    fill(body),
    '-H',
    'Content-Type: application/json',
    '-H',
    `Authorization:Bearer ${token}`,
  ])
const seedDelete = (url: string) => curl([fill(url), '-X', 'DELETE', '-H', `Authorization: Bearer ${token}`])

const ARM = 'https://management.azure.com/subscriptions/<SUBSCRIPTION ID>/resourceGroups/myResourceGroup/providers'
const VM_URL = (v: string) => `${ARM}/Microsoft.Compute/virtualMachines/myVM?api-version=${v}`
const VMSS_URL = (v: string) => `${ARM}/Microsoft.Compute/virtualMachineScaleSets/myVMSS?api-version=${v}`
const UAMI_URL = (name: string) =>
  `${ARM}/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?api-version=2015-08-31-preview`

interface Uami {
  id: string
  principalId: string
  clientId: string
}
const uamis = new Map<string, Uami>()

before(async () => {
  if (!HAVE_CURL) return
  s = await startTestServer()
  sub = s.server.endpoints.subscriptionId
  // `az account get-access-token` hands over a token for https://management.core.windows.net/.
  const r = await curl([
    `${s.base}/${s.tenantId}/oauth2/token`,
    '--data-urlencode',
    'grant_type=client_credentials',
    '--data-urlencode',
    `client_id=${s.clientId}`,
    '--data-urlencode',
    `client_secret=${s.clientSecret}`,
    '--data-urlencode',
    'resource=https://management.core.windows.net/',
  ])
  assert.equal(r.status, 200, r.text)
  token = String(r.json.access_token)
  // ARM-003 (`az group create --name myResourceGroup --location westus` on the wire).
  const g = await curl([
    fill(
      'https://management.azure.com/subscriptions/<SUBSCRIPTION ID>/resourcegroups/myResourceGroup?api-version=2016-06-01',
    ),
    '-X',
    'PUT',
    '-d',
    '{"location":"westus"}',
    '-H',
    'Content-Type: application/json',
    '-H',
    `Authorization: Bearer ${token}`,
  ])
  assert.equal(g.status, 201, g.text)
})
after(async () => {
  await s?.stop()
})

// -- identity checks

interface View {
  type: string
  principalId: string | undefined
  tenantId: string | undefined
  /** Names of the attached user-assigned identities, sorted. */
  users: string[]
  /** identityIds (2017-12-01) rather than the dictionary. */
  legacy: boolean
}

function view(body: Record<string, unknown>): View {
  const identity = (body.identity ?? {}) as {
    type?: string
    principalId?: string
    tenantId?: string
    userAssignedIdentities?: Record<string, { principalId: string; clientId: string }>
    identityIds?: string[]
  }
  const name = (id: string) => id.split('/').at(-1) as string
  const dict = identity.userAssignedIdentities ?? {}
  for (const [id, v] of Object.entries(dict)) {
    // R12: each attached identity carries its principalId and clientId.
    const u = uamis.get(name(id))
    assert.ok(u, `unknown identity ${id}`)
    assert.equal(id.toLowerCase(), u.id.toLowerCase())
    assert.deepEqual(v, { principalId: u.principalId, clientId: u.clientId })
  }
  const users = identity.identityIds ? identity.identityIds.map(name) : Object.keys(dict).map(name)
  return {
    type: String(identity.type),
    principalId: identity.principalId,
    tenantId: identity.tenantId,
    users: users.sort(),
    legacy: identity.identityIds !== undefined,
  }
}

/**
 * Checks an answer: status, identity type, attached user identities, and the system-assigned principal:
 * 'none' (absent), 'new' (present, different from `previous`) or a principalId that must be kept.
 */
function expectIdentity(
  r: CurlResult,
  q: { status: number; type: string; users: string[]; system: 'none' | 'new' | string; previous?: string },
): View {
  assert.equal(r.status, q.status, r.text)
  const v = view(r.json)
  assert.equal(v.type, q.type, r.text)
  assert.deepEqual(v.users, [...q.users].sort(), r.text)
  if (q.system === 'none') {
    assert.equal(v.principalId, undefined, r.text)
    assert.equal(v.tenantId, undefined, r.text)
  } else {
    assert.match(v.principalId ?? '', /^[0-9a-f-]{36}$/, r.text)
    assert.equal(v.tenantId, s.tenantId)
    if (q.system === 'new') assert.notEqual(v.principalId, q.previous, 'a new system-assigned identity')
    else assert.equal(v.principalId, q.system, 'the system-assigned identity is kept')
  }
  return v
}

/** A PATCH/PUT step followed by the GET the articles prescribe (VM-003/VMSS-003, 2018-06-01). */
async function stepThenGet(
  url: (v: string) => string,
  send: Promise<CurlResult>,
  q: { status: number; type: string; users: string[]; system: 'none' | 'new' | string; previous?: string },
  opts: { legacy?: boolean } = {},
): Promise<string | undefined> {
  const answered = expectIdentity(await send, q)
  assert.equal(answered.legacy, (opts.legacy ?? false) && q.users.length > 0, 'identityIds only at 2017-12-01')
  const got = expectIdentity(await seedGet(url('2018-06-01')), {
    ...q,
    status: 200,
    system: q.system === 'new' ? (answered.principalId as string) : q.system,
  })
  assert.equal(got.legacy, false)
  return answered.principalId
}

async function principalExists(id: string | undefined): Promise<boolean> {
  return id !== undefined && (await s.server.directory.store.getServicePrincipal(id)) !== undefined
}

// -- the seed's formatted bodies
//
// Four of them (L5320–5330, L5399–5412, L7138–7147, L7220–7235) lack their last `}`: where an empty `{ }` value
// spans lines the PDF text lost a line, so they are not JSON as printed. They are used with that brace put back
// (marked "+ the lost brace"); the VM test also sends one as printed and expects InvalidRequestContent (INC-004).

/** VM-001 (003 L4820–4870), verbatim. */
const VM001 = `{
  "location": "westus",
  "name": "myVM",
  "identity": {
    "type": "SystemAssigned"
  },
  "properties": {
    "hardwareProfile": {
      "vmSize": "Standard_D2_v2"
    },
    "storageProfile": {
      "imageReference": {
        "sku": "2016-Datacenter",
        "publisher": "MicrosoftWindowsServer",
        "version": "latest",
        "offer": "WindowsServer"
      },
      "osDisk": {
        "caching": "ReadWrite",
        "managedDisk": {
          "storageAccountType": "Standard_LRS"
        },
        "name": "myVM3osdisk",
        "createOption": "FromImage"
      },
      "dataDisks": [
        {
          "diskSizeGB": 1023,
          "createOption": "Empty",
          "lun": 0
        },
        {
          "diskSizeGB": 1023,
          "createOption": "Empty",
          "lun": 1
        }
      ]
    },
    "osProfile": {
      "adminUsername": "azureuser",
      "computerName": "myVM",
      "adminPassword": "myPassword12"
    },
    "networkProfile": {
      "networkInterfaces": [
        {
          "id": "/subscriptions/<SUBSCRIPTION ID>/resourceGroups/myResourceGroup/providers/Microsoft.Network/networkInterfaces/myNic",
          "properties": {
            "primary": true
          }
        }
      ]
    }
  }
}`

/** VM-002 (L5108–5160 and L5203–5262, the same text at both api-versions): identityIds at 2018-06-01 (INC-001). */
const VM002 = VM001.replace(
  `"identity": {
    "type": "SystemAssigned"
  },`,
  `"identity": {
    "type": "UserAssigned",
    "identityIds": [
      "/subscriptions/<SUBSCRIPTION ID>/resourcegroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"
    ]
  },`,
)

const UA = (rg: 'resourceGroups' | 'resourcegroups', n: string) =>
  `/subscriptions/<SUBSCRIPTION ID>/${rg}/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${n}`

const BODY = {
  systemAssigned: `{
  "identity":{
    "type":"SystemAssigned"
  }
}`,
  none: `{
  "identity":{
    "type":"None"
  }
}`,
  // VM-006, L4964–4975
  systemAndUsers2018: `{
  "identity":{
    "type":"SystemAssigned, UserAssigned",
    "userAssignedIdentities":{
      "/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1":{
        },
      "/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID2":{
        }
    }
  }
}`,
  // VM-006, L4995–5005 (with the seed's `<<SUBSCRIPTION ID>>`)
  systemAndUsers2017: `{
  "identity":{
    "type":"SystemAssigned, UserAssigned",
    "identityIds":[
      "/subscriptions/<<SUBSCRIPTION ID>>/resourcegroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1",
      "/subscriptions/<SUBSCRIPTION ID>/resourcegroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID2"
    ]
  }
}`,
  // VM-008, L5320–5330 (+ the lost brace)
  firstUser2018: `{
  "identity":{
    "type":"UserAssigned",
    "userAssignedIdentities":{
      "${UA('resourcegroups', 'ID1')}":{

    }
  }
}
}`,
  // VM-008, L5350–5358
  firstUser2017: `{
  "identity":{
    "type":"userAssigned",
    "identityIds":[
      "${UA('resourcegroups', 'ID1')}"
    ]
  }
}`,
  // VM-009, L5399–5412 (+ the lost brace)
  addSecond2018: `{
  "identity":{
    "type":"SystemAssigned, UserAssigned",
    "userAssignedIdentities":{
      "${UA('resourceGroups', 'ID1')}":{

    },
    "${UA('resourceGroups', 'ID2')}":{

    }
  }
}
}`,
  // VM-009, L5440–5451 (no space after the comma)
  addSecond2017: `{
  "identity":{
    "type":"SystemAssigned,UserAssigned",
    "identityIds":[
      "${UA('resourceGroups', 'ID1')}",
      "${UA('resourceGroups', 'ID2')}"
    ]
  }
}`,
  // VM-010, L5521–5528
  removeSecond2018: `{
  "identity":{
    "type":"SystemAssigned, UserAssigned",
    "userAssignedIdentities":{
      "${UA('resourceGroups', 'ID2')}":null
    }
  }
}`,
  // VM-010, L5555–5563
  keepFirst2017: `{
  "identity":{
    "type":"SystemAssigned, UserAssigned",
    "identityIds":[
      "${UA('resourceGroups', 'ID1')}"
    ]
  }
}`,
}

test('UAMI-001 UAMI-002 UAMI-003 UAMI-004 UAMI-005 UAMI-006 ARM-001 (curl, 2015-08-31-preview): create, list and delete user-assigned identities', async (t) => {
  if (!need(t, HAVE_CURL ? null : 'curl not installed')) return
  // The token came from azid through curl: the ARM audience az hands over, app-only.
  const { claims } = decodeJwt(token)
  assert.equal(claims.aud, 'https://management.core.windows.net/')
  assert.equal(claims.appid, s.clientId)

  for (const name of ['ID1', 'ID2', 'myUserAssignedIdentity']) {
    const r = await seedPut(UAMI_URL(name), '{"location": "westus"}')
    assert.equal(r.status, 201, r.text)
    const p = r.json.properties as Record<string, string>
    assert.equal(
      r.json.id,
      fill(
        `/subscriptions/<SUBSCRIPTION ID>/resourcegroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
      ),
    )
    assert.equal(r.json.name, name)
    assert.equal(r.json.type, 'Microsoft.ManagedIdentity/userAssignedIdentities')
    assert.equal(r.json.location, 'westus')
    assert.equal(p.tenantId, s.tenantId)
    assert.match(p.principalId ?? '', /^[0-9a-f-]{36}$/)
    assert.match(p.clientId ?? '', /^[0-9a-f-]{36}$/)
    // UAMI-005: the credentials URL of the 2015-08-31-preview shape.
    assert.equal(
      p.clientSecretUrl,
      `https://control-westus.identity.azure.net${r.json.id}/credentials?tid=${p.tenantId}&oid=${p.principalId}&aid=${p.clientId}`,
    )
    uamis.set(name, { id: String(r.json.id), principalId: p.principalId as string, clientId: p.clientId as string })
  }
  // Idempotent re-PUT: 200, the same identity.
  const again = await seedPut(UAMI_URL('ID1'), '{"location": "westus"}')
  assert.equal(again.status, 200, again.text)
  assert.equal((again.json.properties as Record<string, string>).principalId, uamis.get('ID1')?.principalId)

  const listUrl = `${ARM}/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2015-08-31-preview`
  const list = await seedGet(listUrl)
  assert.equal(list.status, 200, list.text)
  const names = (list.json.value as { name: string }[]).map((v) => v.name).sort()
  assert.deepEqual(names, ['ID1', 'ID2', 'myUserAssignedIdentity'])

  const gone = uamis.get('myUserAssignedIdentity')
  uamis.delete('myUserAssignedIdentity')
  const del = await seedDelete(UAMI_URL('myUserAssignedIdentity'))
  assert.equal(del.status, 200, del.text)
  assert.equal(await principalExists(gone?.principalId), false, 'CON-003: the service principal goes with it')
  const after = await seedGet(listUrl)
  assert.deepEqual((after.json.value as { name: string }[]).map((v) => v.name).sort(), ['ID1', 'ID2'])
  assert.equal((await seedDelete(UAMI_URL('myUserAssignedIdentity'))).status, 204)
  assert.equal((await seedGet(UAMI_URL('myUserAssignedIdentity'))).status, 404)
})

test('VM-001 VM-003 VM-004 VM-005 VM-006 VM-007 VM-012 PATCH-002 INC-005 (curl): system-assigned identity on a VM', async (t) => {
  if (!need(t, HAVE_CURL ? null : 'curl not installed')) return
  assert.equal(uamis.size, 2, 'runs after the user-assigned identity article')

  // Create a VM with the system-assigned identity (L4801–4870): the body is stored as sent.
  const created = await seedPut(VM_URL('2018-06-01'), VM001)
  const sa = expectIdentity(created, { status: 201, type: 'SystemAssigned', users: [], system: 'new' }).principalId
  assert.ok(await principalExists(sa))
  const sent = JSON.parse(fill(VM001)) as { properties: Record<string, unknown> }
  const got = await seedGet(VM_URL('2018-06-01'))
  expectIdentity(got, { status: 200, type: 'SystemAssigned', users: [], system: sa as string })
  const props = got.json.properties as Record<string, unknown>
  assert.deepEqual(props.networkProfile, sent.properties.networkProfile, 'the NIC reference is kept opaquely')
  assert.deepEqual(props.storageProfile, sent.properties.storageProfile)
  assert.deepEqual(props.hardwareProfile, { vmSize: 'Standard_D2_v2' })
  assert.equal(props.provisioningState, 'Succeeded')
  assert.equal(got.json.name, 'myVM')
  assert.equal(got.json.location, 'westus')

  // Enable on an existing VM (L4903–4926): already enabled, the identity stays (R3).
  await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.systemAssigned), {
    status: 200,
    type: 'SystemAssigned',
    users: [],
    system: sa as string,
  })
  // …with existing user-assigned identities ID1 and ID2, 2018-06-01 (L4938–4975).
  await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.systemAndUsers2018), {
    status: 200,
    type: 'SystemAssigned, UserAssigned',
    users: ['ID1', 'ID2'],
    system: sa as string,
  })
  // …2017-12-01 (L4979–5005): identityIds in the answer; GET at 2017-12-01 shows the array too.
  await stepThenGet(
    VM_URL,
    seedPatch(VM_URL('2017-12-01'), BODY.systemAndUsers2017),
    { status: 200, type: 'SystemAssigned, UserAssigned', users: ['ID1', 'ID2'], system: sa as string },
    { legacy: true },
  )
  const legacy = view((await seedGet(VM_URL('2017-12-01'))).json)
  assert.equal(legacy.legacy, true)
  assert.deepEqual(legacy.users, ['ID1', 'ID2'])

  // Disable (L5009–5053): GET first, then None; the system-assigned principal is deleted (VM-012).
  expectIdentity(await seedGet(VM_URL('2018-06-01')), {
    status: 200,
    type: 'SystemAssigned, UserAssigned',
    users: ['ID1', 'ID2'],
    system: sa as string,
  })
  await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.none), {
    status: 200,
    type: 'None',
    users: [],
    system: 'none',
  })
  assert.equal(await principalExists(sa), false)

  // Enable on the VM that now has no identity (VM-005): a new principal (VM-012).
  const sa2 = await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.systemAssigned), {
    status: 200,
    type: 'SystemAssigned',
    users: [],
    system: 'new',
    ...(sa ? { previous: sa } : {}),
  })
  assert.ok(await principalExists(sa2))
})

test('VM-002 VM-003 VM-008 VM-009 VM-010 VM-011 INC-001 INC-005 PATCH-002 (curl): user-assigned identities on a VM', async (t) => {
  if (!need(t, HAVE_CURL ? null : 'curl not installed')) return
  assert.equal(uamis.size, 2, 'runs after the user-assigned identity article')
  // The article creates myVM afresh; the previous test left one behind.
  const del = await seedDelete(VM_URL('2018-06-01'))
  assert.ok(del.status === 200 || del.status === 204, del.text)

  // Create with ID1 (L5087–5160): identityIds at 2018-06-01 is tolerated as the full set (INC-001).
  await stepThenGet(VM_URL, seedPut(VM_URL('2018-06-01'), VM002), {
    status: 201,
    type: 'UserAssigned',
    users: ['ID1'],
    system: 'none',
  })
  // …and at 2017-12-01 (L5164–5262): a full PUT over the existing VM, answered in the array form.
  await stepThenGet(
    VM_URL,
    seedPut(VM_URL('2017-12-01'), VM002),
    { status: 200, type: 'UserAssigned', users: ['ID1'], system: 'none' },
    { legacy: true },
  )

  // Assign to an existing VM (L5264–5456). Step 3 lists the identities; to follow step 4 ("no identities") the
  // VM first loses them with the article's closing None (L5602–5631).
  expectIdentity(await seedGet(VM_URL('2018-06-01')), {
    status: 200,
    type: 'UserAssigned',
    users: ['ID1'],
    system: 'none',
  })
  await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.none), {
    status: 200,
    type: 'None',
    users: [],
    system: 'none',
  })
  // Step 4, 2018-06-01: the first user-assigned identity.
  await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.firstUser2018), {
    status: 200,
    type: 'UserAssigned',
    users: ['ID1'],
    system: 'none',
  })
  // Step 4, 2017-12-01: `userAssigned` in lower camel case (INC-005).
  await stepThenGet(
    VM_URL,
    seedPatch(VM_URL('2017-12-01'), BODY.firstUser2017),
    { status: 200, type: 'UserAssigned', users: ['ID1'], system: 'none' },
    { legacy: true },
  )
  // Step 5, 2018-06-01, as printed (one `}` short): 400 InvalidRequestContent, nothing changes (INC-004).
  const printed = await seedPatch(VM_URL('2018-06-01'), BODY.addSecond2018.slice(0, -2))
  assert.equal(printed.status, 400, printed.text)
  assert.equal((printed.json.error as { code: string }).code, 'InvalidRequestContent')
  expectIdentity(await seedGet(VM_URL('2018-06-01')), {
    status: 200,
    type: 'UserAssigned',
    users: ['ID1'],
    system: 'none',
  })
  // Step 5, 2018-06-01: add ID2 and the system-assigned identity.
  const sa = await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.addSecond2018), {
    status: 200,
    type: 'SystemAssigned, UserAssigned',
    users: ['ID1', 'ID2'],
    system: 'new',
  })
  // Step 5, 2017-12-01: `SystemAssigned,UserAssigned` without a space; the system identity is kept.
  await stepThenGet(
    VM_URL,
    seedPatch(VM_URL('2017-12-01'), BODY.addSecond2017),
    { status: 200, type: 'SystemAssigned, UserAssigned', users: ['ID1', 'ID2'], system: sa as string },
    { legacy: true },
  )

  // Remove one (L5458–5567): GET, then ID2 → null; ID1 is not named and stays (R4).
  expectIdentity(await seedGet(VM_URL('2018-06-01')), {
    status: 200,
    type: 'SystemAssigned, UserAssigned',
    users: ['ID1', 'ID2'],
    system: sa as string,
  })
  await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.removeSecond2018), {
    status: 200,
    type: 'SystemAssigned, UserAssigned',
    users: ['ID1'],
    system: sa as string,
  })
  // 2017-12-01 "retain only" (R5): with ID2 back first, the array replaces the set.
  await seedPatch(VM_URL('2018-06-01'), BODY.addSecond2018)
  await stepThenGet(
    VM_URL,
    seedPatch(VM_URL('2017-12-01'), BODY.keepFirst2017),
    { status: 200, type: 'SystemAssigned, UserAssigned', users: ['ID1'], system: sa as string },
    { legacy: true },
  )

  // Remove all (L5569–5631). With the system identity: SystemAssigned keeps it and drops the users (R1).
  await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.systemAssigned), {
    status: 200,
    type: 'SystemAssigned',
    users: [],
    system: sa as string,
  })
  // With user identities only (set up with step 4's 2017-12-01 body, which drops the system identity, R2): None.
  await stepThenGet(
    VM_URL,
    seedPatch(VM_URL('2017-12-01'), BODY.firstUser2017),
    { status: 200, type: 'UserAssigned', users: ['ID1'], system: 'none' },
    { legacy: true },
  )
  assert.equal(await principalExists(sa), false)
  await stepThenGet(VM_URL, seedPatch(VM_URL('2018-06-01'), BODY.none), {
    status: 200,
    type: 'None',
    users: [],
    system: 'none',
  })
})

/** VMSS-001 (L6563–6645), verbatim. */
const VMSS001 = `{
  "sku":{
    "tier":"Standard",
    "capacity":3,
    "name":"Standard_D1_v2"
  },
  "location":"eastus",
  "identity":{
    "type":"SystemAssigned"
  },
  "properties":{
    "overprovision":true,
    "virtualMachineProfile":{
      "storageProfile":{
        "imageReference":{
          "sku":"2016-Datacenter",
          "publisher":"MicrosoftWindowsServer",
          "version":"latest",
          "offer":"WindowsServer"
        },
        "osDisk":{
          "caching":"ReadWrite",
          "managedDisk":{
            "storageAccountType":"Standard_LRS"
          },
          "createOption":"FromImage"
        }
      },
      "osProfile":{
        "computerNamePrefix":"myVMSS",
        "adminUsername":"azureuser",
        "adminPassword":"myPassword12"
      },
      "networkProfile":{
        "networkInterfaceConfigurations":[
          {
            "name":"myVMSS",
            "properties":{
              "primary":true,
              "enableIPForwarding":true,
              "ipConfigurations":[
                {
                  "name":"myVMSS",
                  "properties":{
                    "subnet":{
                      "id":"/subscriptions/<SUBSCRIPTION ID>/resourceGroups/myResourceGroup/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/mySubnet"
                    }
                  }
                }
              ]
            }
          }
        ]
      },
      "upgradePolicy":{
        "mode":"Manual"
      }
    }
  }
}`

const VMSS_BODY = {
  // VMSS-004, L6729–6741 (no space after the comma)
  systemAndUsers2018: `{
  "identity":{
    "type":"SystemAssigned,UserAssigned",
    "userAssignedIdentities":{
      "${UA('resourceGroups', 'ID1')}":{
      },
      "${UA('resourceGroups', 'ID2')}":{
      }
    }
  }
}`,
  // VMSS-004, L7138–7147 (+ the lost brace), sent at api-version 2018-12-01 (INC-003)
  firstUser: `{
  "identity":{
    "type":"userAssigned",
    "userAssignedIdentities":{
      "${UA('resourcegroups', 'ID1')}":{

    }
  }
}
}`,
  // …and its one-liner (L7123), whose key has no leading slash (INC-002); it is valid JSON.
  firstUserOneLiner: `{"identity":{"type":"userAssigned", "userAssignedIdentities":{"subscriptions/<SUBSCRIPTION ID>/resourceGroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1":{}}}}`,
  // L7220–7235 (+ the lost brace)
  addSecond2018: `{
  "identity":{
    "type":"SystemAssigned, UserAssigned",
    "userAssignedIdentities":{
      "${UA('resourceGroups', 'ID1')}":{

    },
    "${UA('resourceGroups', 'ID2')}":{

    }
  }
}
}`,
  // L7262–7273
  addSecond2017: `{
  "identity":{
    "type":"SystemAssigned, UserAssigned",
    "identityIds":[
      "${UA('resourceGroups', 'ID1')}",
      "${UA('resourceGroups', 'ID2')}"
    ]
  }
}`,
  // L7337–7344
  removeSecond2018: `{
  "identity":{
    "type":"SystemAssigned, UserAssigned",
    "userAssignedIdentities":{
      "${UA('resourceGroups', 'ID2')}":null
    }
  }
}`,
  // L7376–7385
  keepFirst2017: `{
  "identity":{
    "type":"SystemAssigned,UserAssigned",
    "identityIds":[
      "${UA('resourceGroups', 'ID1')}"
    ]
  }
}`,
}

test('VMSS-001 VMSS-003 VMSS-004 HOST-001 INC-002 INC-003 PATCH-002 (curl): identities on a scale set', async (t) => {
  if (!need(t, HAVE_CURL ? null : 'curl not installed')) return
  assert.equal(uamis.size, 2, 'runs after the user-assigned identity article')

  // Create with the system-assigned identity (L6545–6645).
  const created = await seedPut(VMSS_URL('2018-06-01'), VMSS001)
  const sa = expectIdentity(created, { status: 201, type: 'SystemAssigned', users: [], system: 'new' }).principalId
  const got = await seedGet(VMSS_URL('2018-06-01'))
  expectIdentity(got, { status: 200, type: 'SystemAssigned', users: [], system: sa as string })
  const sent = JSON.parse(fill(VMSS001)) as { sku: unknown; properties: Record<string, unknown> }
  assert.deepEqual(got.json.sku, sent.sku)
  assert.equal(got.json.location, 'eastus')
  // Stored opaquely and echoed, except the admin password, which ARM never returns.
  const expectedProfile = structuredClone(sent.properties.virtualMachineProfile) as {
    osProfile?: Record<string, unknown>
  }
  if (expectedProfile.osProfile) delete expectedProfile.osProfile.adminPassword
  assert.deepEqual((got.json.properties as Record<string, unknown>).virtualMachineProfile, expectedProfile)

  // Enable on an existing scale set (L6649–6693): kept (R3).
  await stepThenGet(VMSS_URL, seedPatch(VMSS_URL('2018-06-01'), BODY.systemAssigned), {
    status: 200,
    type: 'SystemAssigned',
    users: [],
    system: sa as string,
  })
  // …with ID1 and ID2, 2018-06-01 (L6697–6741).
  await stepThenGet(VMSS_URL, seedPatch(VMSS_URL('2018-06-01'), VMSS_BODY.systemAndUsers2018), {
    status: 200,
    type: 'SystemAssigned, UserAssigned',
    users: ['ID1', 'ID2'],
    system: sa as string,
  })
  // Disable (L6787–6837): None.
  await stepThenGet(VMSS_URL, seedPatch(VMSS_URL('2018-06-01'), BODY.none), {
    status: 200,
    type: 'None',
    users: [],
    system: 'none',
  })
  assert.equal(await principalExists(sa), false)

  // The first user-assigned identity at 2018-12-01 (L7119–7147, INC-003), then its one-liner (INC-002).
  await stepThenGet(VMSS_URL, seedPatch(VMSS_URL('2018-12-01'), VMSS_BODY.firstUser), {
    status: 200,
    type: 'UserAssigned',
    users: ['ID1'],
    system: 'none',
  })
  await stepThenGet(VMSS_URL, seedPatch(VMSS_URL('2018-12-01'), VMSS_BODY.firstUserOneLiner), {
    status: 200,
    type: 'UserAssigned',
    users: ['ID1'],
    system: 'none',
  })
  // Add ID2 (and the system identity), 2018-06-01 (L7188–7227).
  const sa2 = await stepThenGet(VMSS_URL, seedPatch(VMSS_URL('2018-06-01'), VMSS_BODY.addSecond2018), {
    status: 200,
    type: 'SystemAssigned, UserAssigned',
    users: ['ID1', 'ID2'],
    system: 'new',
    ...(sa ? { previous: sa } : {}),
  })
  // Remove ID2 with null (L7314–7350).
  await stepThenGet(VMSS_URL, seedPatch(VMSS_URL('2018-06-01'), VMSS_BODY.removeSecond2018), {
    status: 200,
    type: 'SystemAssigned, UserAssigned',
    users: ['ID1'],
    system: sa2 as string,
  })
  // 2017-12-01: add ID2 back (L7231–7273), then keep only ID1 (L7353–7385).
  await stepThenGet(
    VMSS_URL,
    seedPatch(VMSS_URL('2017-12-01'), VMSS_BODY.addSecond2017),
    { status: 200, type: 'SystemAssigned, UserAssigned', users: ['ID1', 'ID2'], system: sa2 as string },
    { legacy: true },
  )
  await stepThenGet(
    VMSS_URL,
    seedPatch(VMSS_URL('2017-12-01'), VMSS_BODY.keepFirst2017),
    { status: 200, type: 'SystemAssigned, UserAssigned', users: ['ID1'], system: sa2 as string },
    { legacy: true },
  )
  // Remove all users keeping the system identity (L7390–7420), then everything (L7423–7451).
  await stepThenGet(VMSS_URL, seedPatch(VMSS_URL('2018-06-01'), BODY.systemAssigned), {
    status: 200,
    type: 'SystemAssigned',
    users: [],
    system: sa2 as string,
  })
  await stepThenGet(VMSS_URL, seedPatch(VMSS_URL('2018-06-01'), BODY.none), {
    status: 200,
    type: 'None',
    users: [],
    system: 'none',
  })
})
