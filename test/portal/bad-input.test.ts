// Bad input in the portal (issue 6 "Bad input"): invalid names refused with ARM's own message and nothing half made,
// an existing name not overwritten, a stale page refused instead of overwriting another change, a lost session
// answered with a message and a way back in, and a directory user without roles shown the services' refusals.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { V, adminClient, createGroup } from '../integration/arm/helpers.ts'
import { startTestServer } from '../support/server.ts'
import { go, openPortal, ready, signIn } from './support.ts'

test('the portal refuses bad input with the service’s message and leaves nothing half made', async (t) => {
  const s = await startTestServer()
  const portal = await openPortal(t, s).catch(async (e) => {
    await s.stop()
    throw e
  })
  if (!portal) return s.stop()
  const { page } = portal
  const sub = s.server.endpoints.subscriptionId
  const e = s.server.endpoints
  try {
    const arm = await adminClient(s)
    await createGroup(arm, sub, 'rg')
    await page.goto(`${s.base}/portal/`)
    await signIn(page, e.bootstrap.userPrincipalName, e.bootstrap.userPassword ?? '')

    await t.test('an invalid identity name shows ARM’s InvalidResourceName; the new group is rolled back', async () => {
      await go(page, '#/create/identity')
      await page.fill('input[name=name]', 'a$b')
      await page.check('input[name=rgmode][value=new]')
      await page.fill('input[name=newResourceGroup]', 'BadRG')
      await page.click('#create')
      await page.waitForSelector('#banner .message.error')
      const text = (await page.textContent('#banner')) ?? ''
      assert.match(text, /The resource name 'a\$b' is invalid\. The name must be 3 to 128 characters long/)
      assert.match(text, /ARM 400 InvalidResourceName/)
      assert.equal(
        (await arm.get(`/subscriptions/${sub}/resourceGroups/BadRG`, V.rg)).status,
        404,
        'no half-made group',
      )
      assert.equal(await page.inputValue('input[name=name]'), 'a$b', 'the form keeps the input to fix')
    })

    await t.test('an invalid resource-group name shows ARM’s InvalidResourceGroup', async () => {
      await go(page, '#/resourceGroups')
      await page.click('#create-group')
      await page.fill('dialog.panel input[name=name]', 'bad/name?')
      await page.click('dialog.panel footer button.primary')
      await page.waitForSelector('dialog.panel .panel-banner .message.error')
      assert.match(
        (await page.textContent('dialog.panel .panel-banner')) ?? '',
        /InvalidResourceGroup|Resource group name/i,
      )
      await page.click('dialog.panel header button')
    })

    await t.test('an existing identity name is not overwritten', async () => {
      const id = `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/taken`
      const before = (await arm.put(id, V.mi, { location: 'westus' })).json<{ properties: { principalId: string } }>()
      await go(page, '#/create/identity')
      await page.fill('input[name=name]', 'taken')
      await page.check('input[name=rgmode][value=existing]')
      await page.selectOption('select[name=resourceGroup]', 'rg')
      await page.selectOption('select[name=location]', 'eastus')
      await page.click('#create')
      await page.waitForSelector('#banner .message.error')
      assert.match((await page.textContent('#banner')) ?? '', /already exists/)
      const after = (await arm.get(id, V.mi)).json<{ location: string; properties: { principalId: string } }>()
      assert.equal(after.properties.principalId, before.properties.principalId)
      assert.equal(after.location, 'westus')
    })

    await t.test('a stale Identity page refuses to save over a change made meanwhile', async () => {
      const vm = `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/staleVM`
      assert.equal((await arm.put(vm, V.compute, { location: 'westus' })).status, 201)
      await go(page, `#/resource${vm}/identity`)
      assert.ok(await page.isChecked('#status input[value=off]'))
      // Someone else turns the identity on (az, a script, another portal tab).
      const other = await arm.patch(vm, V.compute, { identity: { type: 'SystemAssigned' } })
      const principal = other.json<{ identity: { principalId: string } }>().identity.principalId
      await page.check('#status input[value=on]')
      await page.click('#save')
      await page.click('dialog.confirm button.primary')
      await page.waitForSelector('#banner .message.error')
      const text = (await page.textContent('#banner')) ?? ''
      assert.match(text, /changed since this page was loaded/)
      assert.match(text, /Nothing was saved/)
      const now = (await arm.get(vm, V.compute)).json<{ identity: { principalId: string } }>()
      assert.equal(now.identity.principalId, principal, 'the other change stands')
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.click('#banner button:has-text("Refresh")')
      await ready(page, `/resource${vm}/identity`)
      assert.ok(await page.isChecked('#status input[value=on]'))
      assert.equal((await page.textContent('#principal-id code'))?.trim(), principal)
    })

    await t.test('a lost session shows why and a Sign in button that returns to the page', async () => {
      await go(page, '#/identities')
      // The refresh token no longer works (revoked, expired, or another tab signed out) and the access token is gone.
      await page.evaluate(
        `(() => { const s = JSON.parse(sessionStorage.getItem('azid.portal.session')); s.refreshToken = 'revoked'; s.tokens = {}; sessionStorage.setItem('azid.portal.session', JSON.stringify(s)) })()`,
      )
      await page.evaluate(`location.hash = '#/hosts'`)
      await page.waitForSelector('#sign-in')
      const text = (await page.textContent('main')) ?? ''
      assert.match(text, /Your session has ended/)
      assert.match(text, /AADSTS\d+/)
      await page.click('#sign-in')
      await page.waitForSelector('#password')
      assert.equal(await page.inputValue('#username'), e.bootstrap.userPrincipalName, 'login hint')
      await page.fill('#password', e.bootstrap.userPassword ?? '')
      await page.click('button[type=submit]')
      await ready(page, '/hosts')
    })

    await t.test('a wrong password stays on the sign-in page with AADSTS50126', async () => {
      const other = await portal.context.newPage()
      await other.goto(`${s.base}/portal/#/identities`)
      await other.waitForSelector('#username')
      await other.fill('#username', e.bootstrap.userPrincipalName)
      await other.fill('#password', 'wrong')
      await other.click('button[type=submit]')
      await other.waitForSelector('.error')
      assert.match((await other.textContent('.error')) ?? '', /AADSTS50126/)
      await other.close()
    })

    await t.test('a directory user without roles sees the services’ refusals, never a blank page', async () => {
      await s.server.directory.createUser({
        tenantId: e.tenantId,
        userPrincipalName: `reader@${e.tenantDomain}`,
        displayName: 'Ready Reader',
        password: 'Passw0rd!portal',
      })
      const ctx2 = await portal.browser.newContext({ viewport: { width: 1280, height: 800 } })
      // The same targeted trust as the main context: the browser was launched with azid's SPKI.
      const p2 = await ctx2.newPage()
      try {
        await p2.goto(`${s.base}/portal/#/logs`)
        await signIn(p2, `reader@${e.tenantDomain}`, 'Passw0rd!portal', '/logs')
        assert.match((await p2.textContent('#banner')) ?? '', /for the bootstrap administrator/)
        await go(p2, '#/hosts')
        // No subscription is visible to a user without roles.
        assert.match((await p2.textContent('#banner')) ?? '', /no access to any subscription/)
        await go(p2, `#/resource/subscriptions/${sub}/resourceGroups/rg/overview`)
        const text = (await p2.textContent('#banner')) ?? ''
        assert.match(text, /You do not have access/)
        assert.match(text, /does not have authorization to perform action/)
        await go(p2, '#/device')
        assert.match((await p2.textContent('#view')) ?? '', /Only the bootstrap administrator sees the list/)
      } finally {
        await ctx2.close()
      }
    })

    assert.deepEqual(portal.errors, [], 'no page errors')
  } finally {
    await portal.close()
    await s.stop()
  }
})
