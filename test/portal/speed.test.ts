// How fast the portal's pages render with 10,000 user-assigned identities (issue 6: "every page's first paint under
// 300 ms with 10,000 identities (paged lists)"). Measured, printed, not asserted as a time: a timed assertion would
// fail on a loaded CI machine for reasons that are not the portal's. What is asserted is what keeps pages fast:
// lists render one page (50 rows) with a link to the next, never the whole set.
//
// Numbers per page, medians of 3. "paint" and "complete" are a click inside the portal: from the hash change to the
// first content on screen, and to all of it (including the page's ARM/Graph/admin requests; a page that fills in
// parts as they arrive paints before it completes). "load" is a full page load of that URL in a fresh document
// (navigation start → complete: HTML, modules from the browser cache, session check, the page's requests).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Resource } from '../../src/arm/index.ts'
import type { ServicePrincipal } from '../../src/directory/index.ts'
import { createArmStore } from '../../src/store/index.ts'
import { V, adminClient, createGroup } from '../integration/arm/helpers.ts'
import { startTestServer } from '../support/server.ts'
import { go, lastMeasure, openPortal, ready, signIn } from './support.ts'

const COUNT = 10_000
const UAMI = 'Microsoft.ManagedIdentity/userAssignedIdentities'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

test(`portal pages with ${COUNT.toLocaleString('en')} user-assigned identities (measured, printed)`, async (t) => {
  // The default store (SQLite in a file), as a real installation runs.
  const s = await startTestServer({ store: { dsn: 'sqlite' } })
  const portal = await openPortal(t, s).catch(async (e) => {
    await s.stop()
    throw e
  })
  if (!portal) return s.stop()
  const { page } = portal
  const e = s.server.endpoints
  const sub = e.subscriptionId
  try {
    const arm = await adminClient(s)
    await createGroup(arm, sub, 'big')
    const vm = `/subscriptions/${sub}/resourceGroups/big/providers/Microsoft.Compute/virtualMachines/vm1`
    assert.equal(
      (await arm.put(vm, V.compute, { location: 'westus', identity: { type: 'SystemAssigned' } })).status,
      201,
    )

    // Seed straight into the store (10,000 ARM PUTs would measure ARM, not the portal): each identity with the
    // service principal ARM would have made for it.
    const seedStart = performance.now()
    const store = createArmStore(s.server.database.db, s.server.database.dialect)
    await store.transaction(async (tx) => {
      for (let i = 0; i < COUNT; i++) {
        const name = `uai-${String(i).padStart(5, '0')}`
        const id = `/subscriptions/${sub}/resourceGroups/big/providers/${UAMI}/${name}`
        const principalId = crypto.randomUUID()
        const clientId = crypto.randomUUID()
        const sp: ServicePrincipal = {
          tenantId: e.tenantId,
          objectId: principalId,
          appId: clientId,
          displayName: name,
          type: 'ManagedIdentity',
          appOwnerTenantId: null,
          servicePrincipalNames: [clientId],
          alternativeNames: ['isExplicit=True', id.replace('/resourceGroups/', '/resourcegroups/')],
          managedIdentityResourceId: id.replace('/resourceGroups/', '/resourcegroups/'),
          accountEnabled: true,
          createdAt: Date.now(),
        }
        await tx.directory.putServicePrincipal(sp)
        const r: Resource = {
          id,
          subscriptionId: sub,
          resourceGroup: 'big',
          type: UAMI,
          name,
          parentId: null,
          location: 'westus',
          tags: {},
          properties: { tenantId: e.tenantId, principalId, clientId },
          identity: null,
          extra: {},
          etag: `"${crypto.randomUUID()}"`,
          createdAt: Date.now(),
          updatedAt: Date.now(),
          createdBy: null,
        }
        await tx.putResource(r)
      }
    })
    t.diagnostic(`seeded ${COUNT} identities in ${Math.round(performance.now() - seedStart)} ms`)
    const listed = await arm.get(`/subscriptions/${sub}/providers/${UAMI}`, V.mi, {})
    assert.equal(listed.status, 200)
    assert.ok(listed.json<{ nextLink?: string }>().nextLink, 'ARM pages the list')

    await page.goto(`${s.base}/portal/`)
    await signIn(page, e.bootstrap.userPrincipalName, e.bootstrap.userPassword ?? '')

    const first = `/subscriptions/${sub}/resourceGroups/big/providers/${UAMI}/uai-00000`
    const pages: [string, string][] = [
      ['Home', '#/'],
      ['Resource groups', '#/resourceGroups'],
      ['Resource group (10,000 identities)', `#/resource/subscriptions/${sub}/resourceGroups/big/overview`],
      ['Managed Identities', '#/identities'],
      ['Managed identity overview', `#/resource${first}/overview`],
      ['Managed identity IAM', `#/resource${first}/iam`],
      ['Federated credentials', `#/resource${first}/federated`],
      ['Hosts', '#/hosts'],
      ['VM Identity (system)', `#/resource${vm}/identity`],
      ['VM Identity (user)', `#/resource${vm}/identity?tab=user`],
      ['Subscription IAM', `#/resource/subscriptions/${sub}/iam`],
      ['Check access', `#/resource/subscriptions/${sub}/iam?tab=check`],
      ['Enterprise applications', '#/enterpriseApps'],
      ['Sign-in and activity logs', '#/logs?live=off'],
      ['Fault rules', '#/faults'],
      ['Device sign-in', '#/device'],
      ['Token decoder', '#/token'],
    ]
    const rows: string[] = []
    let worst = 0
    for (const [label, hash] of pages) {
      const path = hash.slice(1).split('?')[0] || '/'
      const paint: number[] = []
      const nav: number[] = []
      const load: number[] = []
      for (let i = 0; i < 3; i++) {
        await go(page, '#/token')
        await go(page, hash)
        paint.push(await lastMeasure(page, path, 'paint'))
        nav.push(await lastMeasure(page, path))
        await page.goto('about:blank')
        await page.goto(`${s.base}/portal/${hash}`)
        await ready(page, path)
        load.push(await page.evaluate<number>('performance.now()'))
      }
      const p = median(paint)
      const n = median(nav)
      const l = median(load)
      worst = Math.max(worst, p)
      const ms = (x: number, w: number) => `${x.toFixed(0).padStart(w)} ms`
      rows.push(`${label.padEnd(38)} ${ms(p, 6)} ${ms(n, 9)} ${ms(l, 6)}`)
    }
    t.diagnostic(`${'page'.padEnd(38)}    paint    complete     load`)
    for (const r of rows) t.diagnostic(r)
    t.diagnostic(`slowest first paint inside the portal: ${worst.toFixed(0)} ms`)

    // Paged: the list shows 50 of 10,000, with a next page.
    await go(page, '#/identities')
    assert.equal(await page.locator('#view table tbody tr').count(), 50)
    await page.evaluate(`document.body.dataset.ready = ''`)
    await page.click('nav.pager a:has-text("Next")')
    await ready(page, '/identities')
    const second = await page.locator('#view table tbody tr td:nth-child(2)').first().textContent()
    assert.equal(second, 'uai-00050')
    await go(page, '#/enterpriseApps')
    assert.equal(await page.locator('#view table tbody tr').count(), 50)
    await go(page, `#/resource/subscriptions/${sub}/resourceGroups/big/overview`)
    assert.equal(await page.locator('#view section.card:has-text("Managed Identities") tbody tr').count(), 50)
    assert.deepEqual(portal.errors, [])
  } finally {
    await portal.close()
    await s.stop()
  }
})
