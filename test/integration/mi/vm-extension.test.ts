// The legacy managed-identity VM extension: `/oauth2/token` on the host's listener, refused until an extension
// resource ManagedIdentityExtensionForLinux exists, then served without api-version, for at most 32 user-assigned
// identities (EXT-001..007, VMEXT-001/004, IMDS-010; docs/wire/mi-endpoints.md §8).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { V } from '../arm/helpers.ts'
import {
  type Ctx,
  IDENTITY_NOT_FOUND,
  MD,
  type Uami,
  decodeJwt,
  endpoint,
  http,
  imdsBase,
  q,
  setup,
  uami,
} from './helpers.ts'

let c: Ctx
before(async () => {
  c = await setup()
})
after(() => c.s.stop())

const extension = (vm: string) => `${vm}/extensions/ManagedIdentityExtensionForLinux`
const extBody = (port: number) => ({
  location: 'westus',
  properties: {
    publisher: 'Microsoft.ManagedIdentity',
    type: 'ManagedIdentityExtensionForLinux',
    typeHandlerVersion: '1.0',
    autoUpgradeMinorVersion: true,
    settings: { port },
  },
})
const RESOURCE = 'resource=https%3A%2F%2Fmanagement.azure.com%2F'

test('EXT-001..005, VMEXT-004: /oauth2/token refused until the extension exists, then served (no api-version); removed → refused', async () => {
  const vm = c.p.vm('rg', 'ext-vm')
  const put = await c.admin.put(vm, V.compute, { location: 'westus', identity: { type: 'SystemAssigned' } })
  assert.equal(put.status, 201, put.text)
  const principal = put.json<{ identity: { principalId: string } }>().identity.principalId
  const e = await endpoint(c.s, vm, 'vm-extension')
  assert.equal(e.host.extensionPort, null)
  const url = e.env.AZID_MSI_EXTENSION_ENDPOINT as string
  assert.equal(url, `${e.hostUrl}/oauth2/token`)
  const before = await http(`${url}?${RESOURCE}`, { headers: MD })
  assert.equal(before.status, 401, before.text)
  assert.equal(before.text, '{"error":"unknown_source","error_description":"Unknown Source"}')

  const ext = await c.admin.put(extension(vm), '2018-06-01', extBody(50342))
  assert.equal(ext.status, 201, ext.text)
  const e2 = await endpoint(c.s, vm, 'vm-extension')
  assert.equal(e2.host.extensionPort, 50342)
  const r = await http(`${url}?${RESOURCE}`, { headers: MD })
  assert.equal(r.status, 200, r.text)
  const body = r.json<Record<string, string>>()
  // EXT-004: the IMDS body.
  assert.deepEqual(Object.keys(body), [
    'access_token',
    'client_id',
    'expires_in',
    'expires_on',
    'ext_expires_in',
    'not_before',
    'refresh_token',
    'resource',
    'token_type',
  ])
  for (const v of Object.values(body)) assert.equal(typeof v, 'string')
  assert.equal(body.resource, 'https://management.azure.com/')
  assert.equal(decodeJwt(body.access_token as string).claims.oid, principal)
  // msrestazure's POST form is the extension too, once it exists.
  const form = await http(url, {
    method: 'POST',
    headers: { ...MD, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: RESOURCE,
  })
  assert.equal(form.status, 200, form.text)
  assert.equal(form.json<{ access_token: string }>().access_token, body.access_token)
  // The Metadata header is still required (EXT-003); an api-version is not needed (EXT-001).
  const noMd = await http(`${url}?${RESOURCE}`)
  assert.equal(noMd.status, 400)
  assert.equal(noMd.text, '{"error":"invalid_request","error_description":"Required metadata header not specified"}')
  const noResource = await http(url, { headers: MD })
  assert.equal(noResource.status, 400)

  assert.equal((await c.admin.del(extension(vm), '2018-06-01')).status, 200)
  const after = await http(`${url}?${RESOURCE}`, { headers: MD })
  assert.equal(after.status, 401, after.text)
})

test('EXT-007 vs IMDS-010: with 33 user-assigned identities attached in one PUT, the extension refuses the 33rd; IMDS serves it', async () => {
  const ids: Uami[] = []
  for (let i = 0; i < 33; i++) ids.push(await uami(c, `many-${String(i).padStart(2, '0')}`))
  const vm = c.p.vm('rg', 'many-vm')
  const put = await c.admin.put(vm, V.compute, {
    location: 'westus',
    identity: { type: 'UserAssigned', userAssignedIdentities: Object.fromEntries(ids.map((u) => [u.id, {}])) },
  })
  assert.equal(put.status, 201, put.text)
  assert.deepEqual(
    Object.keys(
      put.json<{ identity: { userAssignedIdentities: Record<string, unknown> } }>().identity.userAssignedIdentities,
    ),
    ids.map((u) => u.id),
  )
  assert.equal((await c.admin.put(extension(vm), '2018-06-01', extBody(50343))).status, 201)
  const e = await endpoint(c.s, vm, 'vm-extension')
  assert.equal(e.host.extensionPort, 50343)
  const url = e.env.AZID_MSI_EXTENSION_ENDPOINT as string
  const get = (sel: string) => http(`${url}?${RESOURCE}&${sel}`, { headers: MD })
  for (const u of [ids[0], ids[31]] as Uami[]) {
    for (const sel of [`client_id=${u.clientId}`, `object_id=${u.principalId}`]) {
      const r = await get(sel)
      assert.equal(r.status, 200, `${sel}: ${r.text}`)
      assert.equal(decodeJwt(r.json<{ access_token: string }>().access_token).claims.oid, u.principalId)
    }
  }
  const last = ids[32] as Uami
  for (const sel of [`client_id=${last.clientId}`, `object_id=${last.principalId}`]) {
    const r = await get(sel)
    assert.equal(r.status, 400, r.text)
    assert.equal(r.text, IDENTITY_NOT_FOUND)
  }
  // IMDS has no such limit (up to 1000).
  const base = await imdsBase(c.s, vm)
  const r = await http(`${base}/metadata/identity/oauth2/token?${q(`client_id=${last.clientId}`)}`, { headers: MD })
  assert.equal(r.status, 200, r.text)
  assert.equal(decodeJwt(r.json<{ access_token: string }>().access_token).claims.oid, last.principalId)
})
