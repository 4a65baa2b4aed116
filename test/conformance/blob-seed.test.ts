// The seed's three Storage tutorials end to end on an emulated Linux VM (namespace mode: 169.254.169.254 is the
// VM's IMDS, management.azure.com and <account>.blob.core.windows.net are azid, azid's CA is trusted). The seed's
// curl requests run verbatim with the real curl; only <STORAGE ACCOUNT>, <CONTAINER NAME>, <FILE NAME>, the ids and
// <ACCESS TOKEN> are filled in. Where the tutorial hands the key to a tool (az / PowerShell), the key goes to
// @azure/storage-blob with StorageSharedKeyCredential instead (az is another test's business).
// 003 L2596–2612 (STG-001), L2776–2787 (STG-003, STG-005), L3028–3038 (STG-004, STG-006); issue 5 §5.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type ChildRun, describeRun, moduleUrl, scratchDir } from '../support/child.ts'
import { type HostEndpointAnswer, hostEndpoint } from '../support/mi.ts'
import { namespaceUnavailable, runInAzureNamespace } from '../support/namespace.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { haveCommand, need } from '../support/tiers.ts'
import { V, paths } from '../integration/arm/helpers.ts'
import {
  type Account,
  STORAGE_CHALLENGE,
  STORAGE_ROLE,
  blobApi,
  createAccount,
  grantRole,
} from '../integration/blob/helpers.ts'

const RG = 'myResourceGroup'
const ACCOUNT = 'mystorageacct'
const CONTAINER = 'mycontainer'

let s: TestServer
let acct: Account
let unavailable: string | null = null
let scratch: ReturnType<typeof scratchDir>

interface Vm {
  principalId: string
  host: HostEndpointAnswer
}

async function createVm(name: string): Promise<Vm> {
  const id = paths(acct.sub).vm(RG, name)
  const r = await acct.arm.put(id, V.compute, {
    location: 'westus',
    identity: { type: 'SystemAssigned' },
    properties: {},
  })
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
  scratch = scratchDir('azid-blob-seed-')
  acct = await createAccount(s, ACCOUNT, RG)
  const api = blobApi(s, acct)
  assert.equal((await api.call({ method: 'PUT', path: `/${CONTAINER}?restype=container` })).status, 201)
  // "Create a blob container and upload a file": the sample file the tutorial reads back.
  const up = await api.call({
    method: 'PUT',
    path: `/${CONTAINER}/hello.txt`,
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'Hello world! :)',
  })
  assert.equal(up.status, 201, up.text)
})
after(async () => {
  scratch?.dispose()
  await s?.stop()
})

function sh(host: HostEndpointAnswer, script: string): Promise<ChildRun> {
  return runInAzureNamespace(s, '/bin/sh', ['-c', script], {
    host,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    timeoutMs: 60_000,
  })
}

const fill = (seed: string) =>
  seed
    .replaceAll('<SUBSCRIPTION ID>', acct.sub)
    .replaceAll('<RESOURCE GROUP>', RG)
    .replaceAll('<STORAGE ACCOUNT NAME>', ACCOUNT)
    .replaceAll('<STORAGE ACCOUNT>', ACCOUNT)
    .replaceAll('<CONTAINER NAME>', CONTAINER)
    .replaceAll('<ACCESS TOKEN>', '$access_token')
const token = (resource: string) =>
  `access_token=$(curl -s 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${resource}' -H Metadata:true | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')`

// 003 L2598 and L2606.
const SEED_STORAGE_TOKEN = token('https%3A%2F%2Fstorage.azure.com%2F')
const SEED_READ =
  'curl https://<STORAGE ACCOUNT>.blob.core.windows.net/<CONTAINER NAME>/<FILE NAME> -H "x-ms-version: 2017-11-09" -H "Authorization: Bearer <ACCESS TOKEN>"'
// 003 L2752 / L2985: the ARM token; L2776: listKeys; L3028: listServiceSas.
const SEED_ARM_TOKEN = token('https%3A%2F%2Fmanagement.azure.com%2F')
const SEED_LIST_KEYS =
  'curl https://management.azure.com/subscriptions/<SUBSCRIPTION ID>/resourceGroups/<RESOURCE GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE ACCOUNT NAME>/listKeys?api-version=2016-12-01 --request POST -d "" -H "Authorization: Bearer <ACCESS TOKEN>"'
const SEED_LIST_SAS = (expiry: string) =>
  `curl https://management.azure.com/subscriptions/<SUBSCRIPTION ID>/resourceGroups/<RESOURCE GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE ACCOUNT NAME>/listServiceSas/?api-version=2017-06-01 -X POST -d "{\\"canonicalizedResource\\":\\"/blob/<STORAGE ACCOUNT NAME>/<CONTAINER NAME>\\",\\"signedResource\\":\\"c\\", \\"signedPermission\\":\\"rcw\\", \\"signedProtocol\\":\\"https\\", \\"signedExpiry\\":\\"${expiry}\\"}" -H "Authorization: Bearer <ACCESS TOKEN>"`

test('003 "access Azure Storage" (Linux): IMDS token for storage.azure.com, curl reads the blob with Storage Blob Data Reader (STG-001)', async (t) => {
  if (!need(t, unavailable)) return
  const vm = await createVm('storage-reader-vm')
  const read = `${SEED_STORAGE_TOKEN}\n${fill(SEED_READ).replace('<FILE NAME>', 'hello.txt')} -s -w '\\n%{http_code}'`
  const denied = await sh(vm.host, read)
  assert.equal(denied.code, 0, describeRun(denied))
  assert.match(denied.stdout, /<Code>AuthorizationPermissionMismatch<\/Code>.*\n403$/s, 'no role yet')
  await grantRole(acct, STORAGE_ROLE.BlobDataReader, vm.principalId)
  const r = await sh(vm.host, read)
  assert.equal(r.code, 0, describeRun(r))
  assert.equal(r.stdout, 'Hello world! :)\n200', 'the tutorial\'s "The response contains the contents of the file"')
  // Without the token: 401 and the storage challenge.
  const anon = await sh(
    vm.host,
    `curl -s -i https://${ACCOUNT}.blob.core.windows.net/${CONTAINER}/hello.txt -H "x-ms-version: 2017-11-09"`,
  )
  assert.match(
    anon.stdout,
    /^HTTP\/1\.1 401 Server failed to authenticate the request\. Please refer to the information in the www-authenticate header\.\r$/m,
  )
  assert.match(
    anon.stdout,
    new RegExp(`^www-authenticate: ${STORAGE_CHALLENGE(s.tenantId).replace(/[./]/g, '\\$&')}\\r$`, 'mi'),
  )
  assert.match(anon.stdout, /^x-ms-error-code: NoAuthenticationInformation\r$/im)
})

test('003 "… via access key" (Linux): ARM token, curl listKeys, then Shared Key write and read on <account>.blob.core.windows.net (STG-003, STG-005)', async (t) => {
  if (!need(t, unavailable)) return
  const vm = await createVm('storage-key-vm')
  await grantRole(acct, STORAGE_ROLE.AccountKeyOperator, vm.principalId)
  const client = scratch.write(
    'sharedkey.mjs',
    `const blob = await import(${JSON.stringify(moduleUrl('@azure/storage-blob'))})
const { keys } = JSON.parse(process.argv[2])
const cred = new blob.StorageSharedKeyCredential('${ACCOUNT}', keys[0].value)
const c = new blob.BlobServiceClient('https://${ACCOUNT}.blob.core.windows.net', cred).getContainerClient('${CONTAINER}')
await c.getBlockBlobClient('test.txt').upload('This is a test file.\\n', 21)
const back = (await c.getBlockBlobClient('test.txt').downloadToBuffer()).toString()
const props = await c.getBlockBlobClient('test.txt').getProperties()
console.log(JSON.stringify({ back, length: props.contentLength, etag: props.etag }))
`,
  )
  const r = await sh(
    vm.host,
    `${SEED_ARM_TOKEN}\nkeys=$(${fill(SEED_LIST_KEYS)} -s)\necho "$keys"\n${process.execPath} ${client} "$keys"`,
  )
  assert.equal(r.code, 0, describeRun(r))
  const [keysLine, resultLine] = r.stdout.trim().split('\n')
  const keys = JSON.parse(keysLine ?? '{}') as { keys: { keyName: string; permissions: string; value: string }[] }
  assert.deepEqual(
    keys.keys.map((k) => [k.keyName, k.permissions]),
    [
      ['key1', 'FULL'],
      ['key2', 'FULL'],
    ],
  )
  const out = JSON.parse(resultLine ?? '{}') as { back: string; length: number; etag: string }
  assert.equal(out.back, 'This is a test file.\n')
  assert.equal(out.length, 21, "the tutorial's contentLength 21")
  assert.match(out.etag, /^"0x8D[0-9A-F]{13}"$/)
})

test('003 "… via a SAS credential" (Linux): curl listServiceSas with the seed body, then curl writes and reads with the SAS (STG-004, STG-006)', async (t) => {
  if (!need(t, unavailable)) return
  const vm = await createVm('storage-sas-vm')
  await grantRole(acct, STORAGE_ROLE.AccountContributor, vm.principalId)
  const expiry = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z')
  const script = `${SEED_ARM_TOKEN}
sas=$(${fill(SEED_LIST_SAS(expiry))} -s | python3 -c 'import sys, json; print(json.load(sys.stdin)["serviceSasToken"])')
echo "$sas"
echo "This is a test file." > /tmp/test.txt
curl -s -X PUT -H "x-ms-blob-type: BlockBlob" --data-binary @/tmp/test.txt "https://${ACCOUNT}.blob.core.windows.net/${CONTAINER}/sas-test.txt?$sas" -w '%{http_code}\\n'
curl -s "https://${ACCOUNT}.blob.core.windows.net/${CONTAINER}/sas-test.txt?$sas"
curl -s -X DELETE "https://${ACCOUNT}.blob.core.windows.net/${CONTAINER}/sas-test.txt?$sas" -w '\\n%{http_code}\\n'`
  const r = await sh(vm.host, script)
  assert.equal(r.code, 0, describeRun(r))
  const lines = r.stdout.split('\n')
  // The seed's shape: sv, sr=c, sp=rcw, spr=https, se, sig.
  assert.match(lines[0] ?? '', /^sv=\d{4}-\d\d-\d\d&se=[^&]+&sr=c&sp=rcw&spr=https&sig=[^&]+$/)
  assert.equal(lines[1], '201')
  assert.equal(lines[2], 'This is a test file.')
  // rcw has no delete: 403 AuthorizationPermissionMismatch.
  assert.match(lines.slice(3).join('\n'), /<Code>AuthorizationPermissionMismatch<\/Code>.*\n403\n$/s)
})
