// Debian's azure.storage.blob 12.15.0b1 with azure.identity 1.13.0b2 (python3-azure, /usr/bin/python3), unmodified,
// against azid's Blob service on loopback (path-style https://127.0.0.1:<blobPort>/<account>; clients.md §6.1).
// Shared Key (account key from ARM listKeys), a SAS, and a token credential checked against RBAC.
// Requirements: STG-005, STG-006, STG-008, TOK-010.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type ChildRun, childEnv, describeRun, resultOf, runChild } from '../support/child.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { DEBIAN_PYTHON, havePythonModule, need } from '../support/tiers.ts'
import { type Principal, newPrincipal } from '../integration/arm/helpers.ts'
import { type Account, STORAGE_ROLE, createAccount, grantRole } from '../integration/blob/helpers.ts'

const PY_PRELUDE = `
import json, sys, traceback
def out(tag, value):
    print('@@' + tag + ' ' + json.dumps(value), flush=True)
ARGS = json.loads(sys.argv[1])
from azure.core.exceptions import HttpResponseError
def attempt(f):
    try:
        return {'ok': f()}
    except HttpResponseError as e:
        return {'error': {'status': e.status_code, 'code': e.error_code}}
`
const PY_RUN = `
try:
    out('RESULT', main())
except Exception as e:
    out('ERROR', {'name': type(e).__name__, 'message': str(e), 'stack': traceback.format_exc()})
    sys.exit(2)
`

let s: TestServer
let acct: Account
let unavailable: string | null = null
let reader: Principal
let url = ''

before(async () => {
  unavailable =
    havePythonModule('azure.storage.blob') && havePythonModule('azure.identity')
      ? null
      : `${DEBIAN_PYTHON} with azure.storage.blob and azure.identity (Debian python3-azure) is not installed`
  s = await startTestServer()
  acct = await createAccount(s, 'pyblobacct')
  url = `${s.server.endpoints.storage.blob}/${acct.name}`
  reader = await newPrincipal(s, 'py-reader')
  await grantRole(acct, STORAGE_ROLE.BlobDataReader, reader.objectId)
})
after(() => s?.stop())

function runPython(body: string, args: Record<string, unknown>): Promise<ChildRun> {
  return runChild(DEBIAN_PYTHON, ['-c', `${PY_PRELUDE}\n${body}\n${PY_RUN}`, JSON.stringify(args)], {
    env: childEnv({ REQUESTS_CA_BUNDLE: join(s.dataDir, 'pki', 'bundle.pem'), PYTHONDONTWRITEBYTECODE: '1' }),
    timeoutMs: 120_000,
  })
}

test('Shared Key: containers, upload (single shot and blocks), ranged download, listing with a delimiter, metadata, delete (STG-005)', async (t) => {
  if (!need(t, unavailable)) return
  const r = await runPython(
    `
import hashlib
from azure.storage.blob import BlobServiceClient, ContentSettings
def main():
    svc = BlobServiceClient(ARGS['url'], credential={'account_name': ARGS['account'], 'account_key': ARGS['key']}, max_single_put_size=4 * 1024 * 1024, max_block_size=1024 * 1024)
    c = svc.create_container('pydata', metadata={'Owner': 'py'})
    data = bytes((i * 7) % 256 for i in range(5 * 1024 * 1024 + 17))
    big = c.upload_blob('dir/big.bin', data, max_concurrency=2)
    small = c.upload_blob('dir/small.txt', b'This is a test file.', content_settings=ContentSettings(content_type='text/plain'), metadata={'Kind': 'small'})
    c.upload_blob('top.txt', b'top')
    dup = attempt(lambda: c.upload_blob('top.txt', b'again'))
    back = c.download_blob('dir/big.bin').readall()
    part = c.download_blob('dir/big.bin', offset=1000, length=50).readall()
    props = c.get_blob_client('dir/small.txt').get_blob_properties()
    walk = [(getattr(b, 'prefix', None) and 'P:' + b.prefix) or b.name for b in c.walk_blobs(delimiter='/')]
    flat = [(b.name, b.size, b.metadata) for b in c.list_blobs(include=['metadata'])]
    containers = [(x.name, x.metadata) for x in svc.list_containers(include_metadata=True)]
    c.get_blob_client('top.txt').delete_blob()
    gone = attempt(lambda: c.get_blob_client('top.txt').download_blob().readall())
    blocks = c.get_blob_client('dir/big.bin').get_block_list('committed')[0]
    return {
        'big': hashlib.md5(back).hexdigest() == hashlib.md5(data).hexdigest(), 'part': part == data[1000:1050],
        'small_md5': bytes(props.content_settings.content_md5 or b'').hex(), 'content_type': props.content_settings.content_type,
        'meta': props.metadata, 'walk': walk, 'flat': flat, 'containers': containers, 'dup': dup, 'gone': gone,
        'blocks': len(blocks), 'etag': small.get_blob_properties().etag,
    }
`,
    { url, account: acct.name, key: acct.key },
  )
  const out = resultOf<Record<string, unknown>>(r)
  assert.equal(out.big, true, describeRun(r))
  assert.equal(out.part, true)
  assert.equal(out.small_md5, createHash('md5').update('This is a test file.').digest('hex'), 'Put Blob stores the MD5')
  assert.equal(out.content_type, 'text/plain')
  assert.deepEqual(out.meta, { Kind: 'small' }, 'metadata names keep their case')
  assert.deepEqual(out.walk, ['P:dir/', 'top.txt'])
  assert.deepEqual(out.flat, [
    ['dir/big.bin', 5 * 1024 * 1024 + 17, null],
    ['dir/small.txt', 20, { Kind: 'small' }],
    ['top.txt', 3, null],
  ])
  assert.deepEqual(out.containers, [['pydata', { Owner: 'py' }]])
  // upload_blob(overwrite=False) sends If-None-Match: *; the service's 412 ConditionNotMet becomes BlobAlreadyExists
  // in the SDK (_convert_mod_error), as it does against Azure.
  assert.deepEqual(out.dup, { error: { status: 412, code: 'BlobAlreadyExists' } })
  assert.deepEqual(out.gone, { error: { status: 404, code: 'BlobNotFound' } })
  assert.ok((out.blocks as number) >= 2, 'uploaded in blocks')
  assert.match(String(out.etag), /^"0x8D[0-9A-F]{13}"$/)
})

test('a SAS from the Python SDK (generate_blob_sas) reads; a token credential reads with Storage Blob Data Reader and cannot write (STG-006, TOK-010)', async (t) => {
  if (!need(t, unavailable)) return
  const r = await runPython(
    `
from datetime import datetime, timedelta, timezone
from azure.identity import ClientSecretCredential
from azure.storage.blob import BlobServiceClient, BlobClient, generate_blob_sas, BlobSasPermissions
def main():
    expiry = datetime.now(timezone.utc) + timedelta(hours=1)
    sas = generate_blob_sas(ARGS['account'], 'pydata', 'dir/small.txt', account_key=ARGS['key'], permission=BlobSasPermissions(read=True), expiry=expiry)
    via_sas = BlobClient.from_blob_url(ARGS['url'] + '/pydata/dir/small.txt?' + sas).download_blob().readall().decode()
    cred = ClientSecretCredential(ARGS['tenant'], ARGS['client'], ARGS['secret'], authority=ARGS['authority'], instance_discovery=False)
    svc = BlobServiceClient(ARGS['url'], credential=cred)
    c = svc.get_container_client('pydata')
    via_token = c.download_blob('dir/small.txt').readall().decode()
    write = attempt(lambda: c.upload_blob('reader.txt', b'nope'))
    listed = [b.name for b in c.list_blobs(name_starts_with='dir/')]
    key = svc.get_user_delegation_key(datetime.now(timezone.utc) - timedelta(minutes=1), expiry)
    udk_sas = generate_blob_sas(ARGS['account'], 'pydata', 'dir/small.txt', user_delegation_key=key, permission=BlobSasPermissions(read=True), expiry=expiry)
    via_udk = BlobClient.from_blob_url(ARGS['url'] + '/pydata/dir/small.txt?' + udk_sas).download_blob().readall().decode()
    return {'sas': via_sas, 'token': via_token, 'write': write, 'listed': listed, 'udk': via_udk, 'oid': key.signed_oid}
`,
    {
      url,
      account: acct.name,
      key: acct.key,
      tenant: s.tenantId,
      client: reader.clientId,
      secret: reader.secret,
      authority: s.base,
    },
  )
  const out = resultOf<Record<string, unknown>>(r)
  assert.equal(out.sas, 'This is a test file.', describeRun(r))
  assert.equal(out.token, 'This is a test file.')
  assert.deepEqual(out.write, { error: { status: 403, code: 'AuthorizationPermissionMismatch' } })
  assert.deepEqual(out.listed, ['dir/big.bin', 'dir/small.txt'])
  assert.equal(out.udk, 'This is a test file.')
  assert.equal(out.oid, reader.objectId)
})
