// The seed's portal articles, walked in a real browser (issue 6 "Proven"; VM-016, VMSS-008, UAMI-011, RBAC-007,
// SP-003): sign in, create a user-assigned identity, turn on a VM's system-assigned identity, attach the
// user-assigned one, grant it Reader on the resource group, check access, see the service principal under
// Enterprise applications, and see the token a process on that VM asks for appear in the live log. Also the token
// decoder, fault rules and device-code approval. Every step is checked against ARM / the admin API, not only the
// page; screenshots go to docs/screenshots.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Arm, ROLE, V, adminClient } from '../integration/arm/helpers.ts'
import { httpsRequest, postForm } from '../support/https.ts'
import { admin, hostEndpoint, listFaults } from '../support/mi.ts'
import { startTestServer } from '../support/server.ts'
import { go, openPortal, ready, shot, signIn } from './support.ts'

const RG = 'TestRG'

test('the portal walks the seed articles end to end', async (t) => {
  const s = await startTestServer()
  const portal = await openPortal(t, s).catch(async (e) => {
    await s.stop()
    throw e
  })
  if (!portal) return s.stop()
  const { page } = portal
  const sub = s.server.endpoints.subscriptionId
  const e = s.server.endpoints
  const rgId = `/subscriptions/${sub}/resourceGroups/${RG}`
  const uamiId = `${rgId}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/UAI1`
  const vmId = `${rgId}/providers/Microsoft.Compute/virtualMachines/myVM`
  let arm: Arm
  let uami: { properties: { principalId: string; clientId: string; tenantId: string } }
  let vmPrincipal = ''
  let miToken = ''
  try {
    arm = await adminClient(s)

    await t.test('/ leads to the sign-in page; the bootstrap administrator signs in with PKCE', async () => {
      const res = await httpsRequest(`${s.base}/portal/`, { ca: s.ca })
      assert.equal(res.status, 200)
      assert.match(String(res.headers['content-security-policy']), /script-src 'self'/)
      assert.doesNotMatch(res.text, /<script>|<script [^>]*>[^<]/, 'no inline script')
      await page.goto(`${s.base}/`)
      assert.match(page.url(), /\/organizations\/oauth2\/v2\.0\/authorize\?.*code_challenge_method=S256/)
      assert.match((await page.textContent('body')) ?? '', /azid portal/, 'the sign-in page names the portal')
      await signIn(page, e.bootstrap.userPrincipalName, e.bootstrap.userPassword ?? '')
      assert.doesNotMatch(page.url(), /code=/, 'the authorization code is gone from the address bar')
      assert.equal(await page.textContent('#account-name'), e.bootstrap.userPrincipalName)
      const stored = await page.evaluate<string>('JSON.stringify(Object.keys(sessionStorage))')
      assert.deepEqual(JSON.parse(stored), ['azid.portal.session'], 'tokens live in sessionStorage only')
      await shot(page, 'home')
    })

    await t.test('Managed Identities → Create: UAI1 in a new resource group (UAMI-011)', async () => {
      await go(page, '#/create/identity')
      await page.fill('input[name=name]', 'UAI1')
      await page.check('input[name=rgmode][value=new]')
      await page.fill('input[name=newResourceGroup]', RG)
      await page.selectOption('select[name=location]', 'westus')
      await shot(page, 'identity-create')
      await page.click('#create')
      await ready(page, `/resource${uamiId}/overview`)
      const r = await arm.get(uamiId, V.mi)
      assert.equal(r.status, 200, r.text)
      uami = r.json()
      const text = (await page.textContent('#view')) ?? ''
      for (const v of [uami.properties.clientId, uami.properties.principalId, uami.properties.tenantId])
        assert.ok(text.includes(v), `overview shows ${v}`)
      assert.match(text, /User assigned managed identity/)
      await shot(page, 'identity-overview')
      await go(page, '#/identities')
      assert.match((await page.textContent('table')) ?? '', /UAI1/)
      await shot(page, 'identities')
    })

    await t.test('Create a virtual machine (Management: identity Off)', async () => {
      await go(page, '#/create/host')
      await page.selectOption('select[name=type]', 'Microsoft.Compute/virtualMachines')
      await page.fill('input[name=name]', 'myVM')
      await page.selectOption('select[name=resourceGroup]', RG)
      await page.click('button[type=submit]')
      await ready(page, `/resource${vmId}/overview`)
      const r = await arm.get(vmId, V.compute)
      assert.equal(r.status, 200, r.text)
      assert.equal(r.json<{ identity?: unknown }>().identity, undefined)
    })

    await t.test('VM → Identity → System assigned: Status On, Save, Yes; the object id appears (VM-016)', async () => {
      await go(page, `#/resource${vmId}/identity`)
      assert.ok(await page.isChecked('#status input[value=off]'))
      assert.ok(await page.isDisabled('#save'), 'nothing to save yet')
      await page.check('#status input[value=on]')
      await page.click('#save')
      await page.click('dialog.confirm button.primary')
      await page.waitForSelector('#principal-id')
      const r = await arm.get(vmId, V.compute)
      const body = r.json<{ identity: { type: string; principalId: string } }>()
      assert.equal(body.identity.type, 'SystemAssigned')
      vmPrincipal = body.identity.principalId
      assert.equal((await page.textContent('#principal-id code'))?.trim(), vmPrincipal)
      assert.match((await page.textContent('#banner')) ?? '', /enabled/)
      await page.waitForSelector('text=No role assignments yet')
      await shot(page, 'vm-identity-system')
    })

    await t.test('VM → Identity → User assigned → + Add: pick UAI1, Add (VM-016)', async () => {
      await go(page, `#/resource${vmId}/identity?tab=user`)
      await page.click('#add')
      await page.check('dialog.panel label.pick:has-text("UAI1") input')
      await shot(page, 'vm-identity-add-picker')
      await page.click('#picker-add')
      await page.waitForSelector('#view table tbody tr:has-text("UAI1")')
      const r = await arm.get(vmId, V.compute)
      const id = r.json<{
        identity: { type: string; userAssignedIdentities: Record<string, { principalId: string }> }
      }>().identity
      assert.equal(id.type, 'SystemAssigned, UserAssigned')
      const [key, value] = Object.entries(id.userAssignedIdentities)[0] ?? []
      assert.equal(key?.toLowerCase(), uamiId.toLowerCase())
      assert.equal(value?.principalId, uami.properties.principalId)
      assert.match((await page.textContent('#view table')) ?? '', new RegExp(uami.properties.clientId))
      await shot(page, 'vm-identity-user')
    })

    await t.test(
      'Resource group → Access control (IAM) → Add role assignment: Reader for UAI1 (RBAC-007)',
      async () => {
        await go(page, `#/resource${rgId}/iam`)
        // The administrator's Owner comes from the subscription.
        await page.waitForSelector('#view table tbody tr:has-text("Subscription (Inherited)")')
        await page.click('#add-assignment')
        await page.fill('#role-search', 'Reader')
        await page.selectOption('#role', { label: 'Reader' })
        await page.check('input[name=assign-to][value=mi]')
        await page.selectOption('#mi-type', 'Microsoft.ManagedIdentity/userAssignedIdentities')
        await page.check('#member-results label.pick:has-text("UAI1") input')
        assert.match((await page.textContent('#selected-members')) ?? '', /UAI1/)
        await shot(page, 'iam-add-role-assignment')
        await page.click('#save-assignment')
        await page.waitForSelector('#view table tbody tr:has-text("UAI1")')
        const row = (await page.textContent('#view table tbody tr:has-text("UAI1")')) ?? ''
        assert.match(row, /Reader/)
        assert.match(row, /This resource/)
        assert.match(row, /Managed identity/)
        const list = await arm.get(`${rgId}/providers/Microsoft.Authorization/roleAssignments`, V.auth, {
          headers: {},
        })
        const mine = list
          .json<{ value: { properties: { principalId: string; roleDefinitionId: string; scope: string } }[] }>()
          .value.filter((a) => a.properties.principalId === uami.properties.principalId)
        assert.equal(mine.length, 1)
        assert.match(mine[0]?.properties.roleDefinitionId ?? '', new RegExp(`${ROLE.Reader}$`))
        assert.equal(mine[0]?.properties.scope, rgId)
        await shot(page, 'iam-role-assignments')
      },
    )

    await t.test('a duplicate role assignment shows RoleAssignmentExists and adds nothing', async () => {
      await page.click('#add-assignment')
      await page.fill('#role-search', 'Reader')
      await page.selectOption('#role', { label: 'Reader' })
      await page.check('input[name=assign-to][value=mi]')
      await page.selectOption('#mi-type', 'Microsoft.ManagedIdentity/userAssignedIdentities')
      await page.check('#member-results label.pick:has-text("UAI1") input')
      await page.click('#save-assignment')
      await page.waitForSelector('dialog.panel .panel-banner .message.error')
      const text = (await page.textContent('dialog.panel .panel-banner')) ?? ''
      assert.match(text, /The role assignment already exists\./)
      assert.match(text, /RoleAssignmentExists/)
      await page.click('dialog.panel header button')
      const list = await arm.get(`${rgId}/providers/Microsoft.Authorization/roleAssignments`, V.auth)
      const count = list
        .json<{ value: { properties: { principalId: string } }[] }>()
        .value.filter((a) => a.properties.principalId === uami.properties.principalId).length
      assert.equal(count, 1)
    })

    await t.test('UAI1 → Access control (IAM): the Reader shows as inherited from the resource group', async () => {
      await go(page, `#/resource${uamiId}/iam`)
      const row = page.locator('#view table tbody tr:has-text("UAI1")')
      assert.match((await row.textContent()) ?? '', /Resource group \(Inherited\)/)
      assert.ok(await row.locator('input').isDisabled(), 'an inherited assignment is removed where it was made')
    })

    await t.test('UAI1 → Federated credentials: add one, see it in ARM, delete it', async () => {
      await go(page, `#/resource${uamiId}/federated`)
      await page.click('#add-credential')
      await page.fill('dialog.panel input[name=name]', 'github-main')
      await page.fill('dialog.panel input[name=issuer]', 'https://token.actions.githubusercontent.com')
      await page.fill('dialog.panel input[name=subject]', 'repo:contoso/app:ref:refs/heads/main')
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.click('dialog.panel footer button.primary')
      await ready(page, `/resource${uamiId}/federated`)
      assert.match((await page.textContent('#view table')) ?? '', /repo:contoso\/app:ref:refs\/heads\/main/)
      const fic = await arm.get(`${uamiId}/federatedIdentityCredentials/github-main`, V.mi)
      assert.equal(fic.status, 200, fic.text)
      assert.deepEqual(fic.json<{ properties: { audiences: string[] } }>().properties.audiences, [
        'api://AzureADTokenExchange',
      ])
      await page.check('#view table tbody tr:has-text("github-main") input')
      await page.click('#delete-credential')
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.click('dialog.confirm button.primary')
      await ready(page, `/resource${uamiId}/federated`)
      assert.equal((await arm.get(`${uamiId}/federatedIdentityCredentials/github-main`, V.mi)).status, 404)
    })

    await t.test('Check access: UAI1 may read the group through Reader; myVM may not', async () => {
      await go(page, `#/resource${rgId}/iam?tab=check`)
      await page.check('input[name=assign-to][value=mi]')
      await page.selectOption('#mi-type', 'Microsoft.ManagedIdentity/userAssignedIdentities')
      await page.check('#member-results label.pick:has-text("UAI1") input')
      await page.waitForSelector('#check-result .verdict')
      const verdict = (await page.textContent('#check-result .verdict')) ?? ''
      assert.match(verdict, /^Allowed/)
      assert.match(verdict, /Granted by Reader/)
      assert.match((await page.textContent('#check-result')) ?? '', /This resource/)
      await shot(page, 'iam-check-access')
      await page.selectOption('#mi-type', 'Microsoft.Compute/virtualMachines')
      await page.check('#member-results label.pick:has-text("myVM") input')
      await page.waitForSelector('#check-result .verdict.denied')
      assert.match((await page.textContent('#check-result')) ?? '', /has no role assignments at this scope/)
    })

    await t.test('Enterprise applications (Managed Identities) → myVM: its service principal (SP-003)', async () => {
      await go(page, '#/enterpriseApps')
      assert.equal(await page.inputValue('#application-type'), 'ManagedIdentity')
      await page.fill('#app-search', 'myVM')
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.press('#app-search', 'Enter')
      await ready(page, '/enterpriseApps')
      const rows = await page.locator('#view table tbody tr').allTextContents()
      assert.equal(rows.length, 1, rows.join('\n'))
      assert.match(rows[0] ?? '', new RegExp(vmPrincipal))
      await shot(page, 'enterprise-applications')
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.click('#view table tbody tr a')
      await ready(page, `/servicePrincipals/${vmPrincipal}`)
      const text = (await page.textContent('#view')) ?? ''
      assert.match(text, /Managed Identity/)
      assert.match(text, /System assigned/)
      assert.match(text, /isExplicit=False/)
      assert.ok(text.toLowerCase().includes(vmId.toLowerCase()), 'the VM resource id is shown')
      await shot(page, 'service-principal')
    })

    await t.test('the live log shows the token a process on myVM gets from IMDS', async () => {
      await go(page, '#/logs?kind=token')
      await page.waitForSelector('#live-status.connected')
      const ep = await hostEndpoint(s, vmId, 'loopback', 'imds')
      const base = ep.env.AZURE_POD_IDENTITY_AUTHORITY_HOST
      assert.ok(base, JSON.stringify(ep))
      const r = await fetch(
        `${base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F`,
        { headers: { Metadata: 'true' } },
      )
      assert.equal(r.status, 200)
      miToken = ((await r.json()) as { access_token: string }).access_token
      // No reload: the row arrives over the live stream.
      const row = page.locator(`#log-table tbody tr:has-text("myVM")`).first()
      await row.waitFor()
      const text = (await row.textContent()) ?? ''
      assert.match(text, /Success/)
      assert.match(text, new RegExp(vmPrincipal))
      assert.match(text, /managed_identity/)
      await shot(page, 'logs')
      // Filter by host: only myVM's events.
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.selectOption('#filter-host', vmId)
      await ready(page, '/logs')
      const hosts = await page.locator('#log-table tbody tr:not(.details) td:nth-child(5)').allTextContents()
      assert.ok(hosts.length >= 1 && hosts.every((h) => h === 'myVM'), hosts.join(','))
    })

    await t.test('the token decoder reads the managed-identity token without sending it anywhere', async () => {
      await go(page, '#/token')
      const sent: string[] = []
      const onRequest = (req: { url(): string; postData(): string | null; headers(): Record<string, string> }) => {
        const all = `${req.url()} ${req.postData() ?? ''} ${JSON.stringify(req.headers())}`
        if (all.includes(miToken.slice(-40))) sent.push(req.url())
      }
      page.on('request', onRequest)
      await page.fill('#token-input', miToken)
      await page.waitForSelector('[data-claim=xms_mirid]')
      assert.equal((await page.textContent('#token-state'))?.trim(), 'Within its lifetime')
      assert.equal((await page.textContent('[data-claim=oid] td.value'))?.trim(), vmPrincipal)
      assert.match((await page.textContent('[data-claim=xms_mirid] td.value')) ?? '', /virtualMachines\/myVM$/)
      await shot(page, 'token-decoder')
      page.off('request', onRequest)
      assert.deepEqual(sent, [])
    })

    await t.test('fault rules: add a 503 for myVM (IMDS answers 503), then clear', async () => {
      await go(page, '#/faults')
      await page.selectOption('#fault-host', vmId)
      await page.selectOption('#fault-effect', '503')
      await page.fill('#fault-count', '1')
      await page.fill('#fault-description', 'portal test')
      await page.click('#add-fault')
      await page.waitForSelector('#view table tbody tr:has-text("portal test")')
      const rules = await listFaults(s)
      assert.equal(rules.length, 1)
      assert.equal(rules[0]?.effect.status, 503)
      await shot(page, 'faults')
      const ep = await hostEndpoint(s, vmId, 'loopback', 'imds')
      const r = await fetch(
        `${ep.env.AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net`,
        { headers: { Metadata: 'true' } },
      )
      assert.equal(r.status, 503)
      // The rule was used up by that request; add a second one, then clear them all.
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.click('#add-fault')
      await ready(page, '/faults')
      await page.click('#clear-faults')
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.click('dialog.confirm button.primary')
      await ready(page, '/faults')
      assert.deepEqual(await listFaults(s), [])
      const log = await admin(s, 'GET', '/_azid/logs?kind=admin&limit=10')
      assert.match(log.text, /portal: fault rules cleared/)
    })

    await t.test('device sign-in: a pending az device code is approved from the portal', async () => {
      const start = await postForm(`${s.base}/organizations/oauth2/v2.0/devicecode`, s.ca, {
        client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
        scope: 'https://management.azure.com/.default offline_access',
      })
      assert.equal(start.status, 200, start.text)
      const dc = start.json<{ user_code: string; device_code: string }>()
      await go(page, '#/device')
      await page.waitForSelector(`button[data-code="${dc.user_code}"]`)
      assert.match((await page.textContent('#view table')) ?? '', /Microsoft Azure CLI/)
      await shot(page, 'device')
      await page.click(`button[data-code="${dc.user_code}"]`)
      await page.waitForSelector('#banner .message.success')
      assert.match((await page.textContent('#banner')) ?? '', new RegExp(`${dc.user_code} approved`))
      const tok = await postForm(`${s.base}/organizations/oauth2/v2.0/token`, s.ca, {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
        device_code: dc.device_code,
      })
      assert.equal(tok.status, 200, tok.text)
    })

    await t.test('resource group overview lists the VM and the identity', async () => {
      await go(page, `#/resource${rgId}/overview`)
      const text = (await page.textContent('#view')) ?? ''
      assert.match(text, /myVM/)
      assert.match(text, /UAI1/)
      await shot(page, 'resource-group')
    })

    await t.test(
      'Hosts: the "Ready to use Managed ID" tile lists myVM (File Sync’s Managed identity page)',
      async () => {
        await go(page, '#/hosts')
        assert.match((await page.textContent('#readiness')) ?? '', /Ready to use Managed ID: 1[\s\S]*myVM/)
        await shot(page, 'hosts')
      },
    )

    await t.test('Access control (IAM) → select the Reader assignment → Remove → Yes', async () => {
      await go(page, `#/resource${rgId}/iam`)
      await page.check('#view table tbody tr:has-text("UAI1") input')
      await page.click('#remove-assignment')
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.click('dialog.confirm button.primary')
      await ready(page, `/resource${rgId}/iam`)
      assert.match((await page.textContent('#banner')) ?? '', /Removed UAI1 \(Reader\)/)
      const list = await arm.get(`${rgId}/providers/Microsoft.Authorization/roleAssignments`, V.auth)
      const left = list
        .json<{ value: { properties: { principalId: string } }[] }>()
        .value.filter((a) => a.properties.principalId === uami.properties.principalId)
      assert.equal(left.length, 0)
    })

    await t.test('User assigned → select UAI1 → Remove → Yes; then delete UAI1 from the list (UAMI-011)', async () => {
      await go(page, `#/resource${vmId}/identity?tab=user`)
      await page.check('#view table tbody tr:has-text("UAI1") input')
      await page.click('#remove')
      await page.click('dialog.confirm button.primary')
      await page.waitForSelector('text=No user assigned managed identities found')
      const vm = (await arm.get(vmId, V.compute)).json<{ identity: { type: string } }>()
      assert.equal(vm.identity.type, 'SystemAssigned')
      await go(page, '#/identities')
      await page.check('#view table tbody tr:has-text("UAI1") input')
      await page.click('#delete-identities')
      await page.evaluate(`document.body.dataset.ready = ''`)
      await page.click('dialog.confirm button.primary')
      await ready(page, '/identities')
      assert.equal((await arm.get(uamiId, V.mi)).status, 404)
      assert.match((await page.textContent('#banner')) ?? '', /Deleted UAI1/)
    })

    assert.deepEqual(portal.errors, [], 'no page errors')
  } finally {
    await portal.close()
    await s.stop()
  }
})
