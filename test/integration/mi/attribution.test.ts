// Caller attribution and identity lifecycle as the endpoints see it: a host's listener serves only that host's
// identities, and every ARM change (detach, disable, delete, re-create) takes effect on the next request
// (IMDS-009, CON-010, PATCH-003, PATCH R10, SCN-05, SCN-08 step 4; issue 4 item 5).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { V } from '../arm/helpers.ts'
import {
  type Ctx,
  IDENTITY_NOT_FOUND,
  type Uami,
  decodeJwt,
  endpoint,
  http,
  imds,
  imdsBase,
  patchIdentity,
  putVm,
  q,
  setup,
  uami,
} from './helpers.ts'

let c: Ctx
before(async () => {
  c = await setup()
})
after(() => c.s.stop())

const token = async (base: string, sel = '') => {
  const r = await imds(base, q(sel))
  assert.equal(r.status, 200, r.text)
  const body = r.json<{ access_token: string }>()
  return { ...body, claims: decodeJwt(body.access_token).claims }
}
const refused = async (base: string, sel = '') => {
  const r = await imds(base, q(sel))
  assert.equal(r.status, 400, `${sel}: ${r.text}`)
  assert.equal(r.text, IDENTITY_NOT_FOUND, sel)
}

test("IMDS-009, CON-010: VM A's listener never yields VM B's identities, by any selector (and the other way round)", async () => {
  const UA = await uami(c, 'attr-a')
  const UB = await uami(c, 'attr-b')
  const a = await putVm(c, 'attr-vm-a', { sa: true, ua: [UA] })
  const b = await putVm(c, 'attr-vm-b', { sa: true, ua: [UB] })
  const baseA = await imdsBase(c.s, a.path)
  const baseB = await imdsBase(c.s, b.path)
  assert.notEqual(baseA, baseB)
  // The listener is per host and stable: asking again gives the same one.
  assert.equal(await imdsBase(c.s, a.path), baseA)
  const spA = await c.s.server.directory.store.getServicePrincipal(a.identity?.principalId as string)
  const spB = await c.s.server.directory.store.getServicePrincipal(b.identity?.principalId as string)
  assert.ok(spA && spB)
  const selectors = (u: Uami, saPrincipal: string, saClient: string) => [
    `client_id=${u.clientId}`,
    `object_id=${u.principalId}`,
    `msi_res_id=${encodeURIComponent(u.id)}`,
    `mi_res_id=${encodeURIComponent(u.id)}`,
    `client_id=${saClient}`,
    `object_id=${saPrincipal}`,
  ]
  for (const sel of selectors(UB, spB.objectId, spB.appId)) await refused(baseA, sel)
  for (const sel of selectors(UA, spA.objectId, spA.appId)) await refused(baseB, sel)
  // Each listener serves its own.
  assert.equal((await token(baseA)).claims.oid, spA.objectId)
  assert.equal((await token(baseB)).claims.oid, spB.objectId)
  assert.equal((await token(baseA, `client_id=${UA.clientId}`)).claims.oid, UA.principalId)
  assert.equal((await token(baseB, `client_id=${UB.clientId}`)).claims.oid, UB.principalId)
  // A UAMI attached to both VMs is served by both, with xms_mirid the identity's id either way.
  await patchIdentity(c, b.path, { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [UA.id]: {} } })
  const viaB = await token(baseB, `client_id=${UA.clientId}`)
  const viaA = await token(baseA, `client_id=${UA.clientId}`)
  assert.equal(viaB.claims.oid, UA.principalId)
  assert.equal(viaB.access_token, viaA.access_token, 'one cache entry per (principal, resource)')
})

test('PATCH-003: detaching a UAMI ({id: null}) refuses its next request at once, cached token or not; re-attaching serves it', async () => {
  const U = await uami(c, 'detach-me')
  // A second one stays: an emptied UserAssigned set is refused by ARM (PATCH R6).
  const keep = await uami(c, 'detach-keep')
  const v = await putVm(c, 'detach-vm', { sa: true, ua: [U, keep] })
  const base = await imdsBase(c.s, v.path)
  const first = await token(base, `client_id=${U.clientId}`)
  assert.equal(first.claims.oid, U.principalId)
  await patchIdentity(c, v.path, { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [U.id]: null } })
  await refused(base, `client_id=${U.clientId}`)
  await refused(base, `mi_res_id=${U.id}`)
  // The other identities are untouched.
  assert.equal((await token(base)).claims.oid, v.identity?.principalId)
  assert.equal((await token(base, `client_id=${keep.clientId}`)).claims.oid, keep.principalId)
  await patchIdentity(c, v.path, { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [U.id]: {} } })
  assert.equal((await token(base, `client_id=${U.clientId}`)).claims.oid, U.principalId)
})

test('SCN-05 / PATCH R2: disabling SA (type None) refuses and evicts; a new SA has a new principal and a fresh token', async () => {
  const v = await putVm(c, 'sa-cycle-vm', { sa: true })
  const P1 = v.identity?.principalId as string
  const base = await imdsBase(c.s, v.path)
  const t1 = await token(base)
  assert.equal(t1.claims.oid, P1)
  const mi = c.s.server.managedIdentity.mi
  const cachedBefore = mi.cachedTokens()
  await patchIdentity(c, v.path, { type: 'None' })
  await refused(base)
  await refused(base, `object_id=${P1}`)
  assert.equal(mi.cachedTokens(), cachedBefore - 1, "the old principal's token left the cache")
  const again = await patchIdentity(c, v.path, { type: 'SystemAssigned' })
  const P2 = again.identity?.principalId as string
  assert.notEqual(P2, P1)
  const t2 = await token(base)
  assert.equal(t2.claims.oid, P2)
  assert.notEqual(t2.access_token, t1.access_token)
  await refused(base, `object_id=${P1}`)
})

test('VM-012: deleting the VM → its listener answers 400 Identity not found (and it stays so)', async () => {
  const v = await putVm(c, 'doomed-vm', { sa: true })
  const base = await imdsBase(c.s, v.path)
  await token(base)
  assert.equal((await c.admin.del(v.path, V.compute)).status, 200)
  await refused(base)
  await refused(base)
  // Instance metadata of a deleted host is gone too.
  const inst = await http(`${base}/metadata/instance?api-version=2021-02-01`, { headers: { Metadata: 'true' } })
  assert.ok(inst.status >= 400, inst.text)
})

test('PATCH R10, SCN-08 step 4: deleting the UAMI leaves the dangling reference on the VM and IMDS refuses it', async () => {
  const U = await uami(c, 'dangling')
  const v = await putVm(c, 'dangling-vm', { ua: [U] })
  const base = await imdsBase(c.s, v.path)
  // Cached before the delete: the eviction must still make the next request fail.
  assert.equal((await token(base, `client_id=${U.clientId}`)).claims.oid, U.principalId)
  assert.equal((await c.admin.del(U.id, V.mi)).status, 200)
  const vmNow = await c.admin.get(v.path, V.compute)
  const ids = Object.keys(
    vmNow.json<{ identity: { userAssignedIdentities: Record<string, unknown> } }>().identity.userAssignedIdentities,
  )
  assert.deepEqual(ids, [U.id], 'the reference stays')
  await refused(base, `client_id=${U.clientId}`)
  await refused(base, `mi_res_id=${U.id}`)
  // It is the only identity, so it is also the default; still refused.
  await refused(base)
})

test('secrets.ts: a re-created host with the same id gets new secrets; the old App Service header is refused', async () => {
  const site = `${c.p.rg('rg')}/providers/Microsoft.Web/sites/recreated-app`
  const body = {
    location: 'westus',
    kind: 'app,linux',
    identity: { type: 'SystemAssigned' },
    properties: { serverFarmId: 'x' },
  }
  assert.equal((await c.admin.put(site, V.web, body)).status, 201)
  const e1 = await endpoint(c.s, site)
  assert.equal(e1.flavour, 'app-service')
  const call = (e: typeof e1) =>
    http(`${e.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://vault.azure.net`, {
      headers: { 'X-IDENTITY-HEADER': e.env.IDENTITY_HEADER as string },
    })
  assert.equal((await call(e1)).status, 200)
  assert.equal((await c.admin.del(site, V.web)).status, 200)
  // The host is gone: its header no longer works.
  assert.equal((await call(e1)).status, 401)
  assert.equal((await c.admin.put(site, V.web, body)).status, 201)
  const e2 = await endpoint(c.s, site)
  assert.notEqual(e2.env.IDENTITY_HEADER, e1.env.IDENTITY_HEADER)
  const old = await call(e1)
  assert.equal(old.status, 401, old.text)
  assert.equal(
    old.json<{ message: string }>().message,
    'The request is missing the X-IDENTITY-HEADER or it is not valid for this resource.',
  )
  const fresh = await call(e2)
  assert.equal(fresh.status, 200, fresh.text)
  const newSa = (await c.admin.get(site, V.web)).json<{ identity: { principalId: string } }>().identity.principalId
  assert.equal(decodeJwt(fresh.json<{ access_token: string }>().access_token).claims.oid, newSa)
})
