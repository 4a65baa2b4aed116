import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline'
import { storageSharedKeyCredentialPolicy } from '@azure/storage-common'
import { parseQuery } from './http.ts'
import { parseSharedKeyHeader, sharedKeyStringsToSign, verifySharedKey } from './shared-key.ts'

const KEY = Buffer.alloc(64, 5).toString('base64')

/** Signs a request with @azure/storage-blob's own Shared Key policy and returns what went on the wire. */
async function sdkSigned(url: string, method: string, headers: Record<string, string>) {
  const req = createPipelineRequest({ url, method: method as 'PUT', headers: createHttpHeaders(headers) })
  const policy = storageSharedKeyCredentialPolicy({ accountName: 'acct', accountKey: Buffer.from(KEY, 'base64') })
  await policy.sendRequest(req, async (r) => ({ request: r, status: 200, headers: createHttpHeaders() }))
  const sent: Record<string, string> = {}
  for (const [k, v] of req.headers) sent[k.toLowerCase()] = v
  return sent
}

function view(url: string, method: string, headers: Record<string, string>) {
  const u = new URL(url)
  return {
    method,
    headerNames: Object.keys(headers),
    header: (n: string) => headers[n],
    rawPath: u.pathname,
    params: parseQuery(u.search.slice(1)),
    version: headers['x-ms-version'] ?? null,
  }
}

test("@azure/storage-blob's Shared Key verifies: path-style URL, escaped names, metadata that sorts differently by culture", async () => {
  const url =
    'https://127.0.0.1:44310/acct/cont/dir%20one/b%C3%BCcher.txt?comp=block&blockid=QUFBQQ%3D%3D&timeout=30&prefix='
  const headers = await sdkSigned(url, 'PUT', {
    'x-ms-version': '2026-04-06',
    'x-ms-meta-a_b': '1',
    'x-ms-meta-a-c': '2',
    'content-type': 'application/octet-stream',
    'content-length': '5',
  })
  const auth = parseSharedKeyHeader(headers.authorization as string)
  assert.ok(auth)
  assert.equal(auth.account, 'acct')
  const r = view(url, 'PUT', headers)
  assert.deepEqual(verifySharedKey(r, auth, { account: 'acct', keys: [Buffer.from(KEY, 'base64')], pathStyle: true }), {
    ok: true,
  })
  // A wrong key fails and yields the specification's string-to-sign.
  const wrong = verifySharedKey(r, auth, { account: 'acct', keys: [Buffer.alloc(64, 6)], pathStyle: true })
  assert.equal(wrong.ok, false)
  if (!wrong.ok)
    assert.match(
      wrong.stringToSign,
      /^PUT\n\n\n5\n\napplication\/octet-stream\n\n\n\n\n\n\nx-ms-date:.*\nx-ms-meta-a-c:2\nx-ms-meta-a_b:1\nx-ms-version:2026-04-06\n\/acct\/acct\/cont\/dir%20one\/b%C3%BCcher\.txt\nblockid:QUFBQQ==\ncomp:block\nprefix:\ntimeout:30$/,
    )
  // Any change of what is signed breaks it.
  const tampered = { ...r, params: parseQuery('comp=block&blockid=QkJCQg%3D%3D&timeout=30') }
  assert.equal(
    verifySharedKey(tampered, auth, { account: 'acct', keys: [Buffer.from(KEY, 'base64')], pathStyle: true }).ok,
    false,
  )
})

test('string-to-sign candidates: one for a plain host-style request, more only where clients differ', () => {
  const plain = view('https://acct.blob.core.windows.net/c/b?comp=metadata', 'GET', {
    'x-ms-version': '2025-07-05',
    'x-ms-date': 'x',
  })
  assert.equal(sharedKeyStringsToSign(plain, { account: 'acct', scheme: 'SharedKey', pathStyle: false }).length, 1)
  const lite = sharedKeyStringsToSign(plain, { account: 'acct', scheme: 'SharedKeyLite', pathStyle: false })
  assert.deepEqual(lite, ['GET\n\n\n\nx-ms-date:x\nx-ms-version:2025-07-05\n/acct/c/b?comp=metadata'])
  assert.equal(parseSharedKeyHeader('Bearer abc'), undefined)
})
