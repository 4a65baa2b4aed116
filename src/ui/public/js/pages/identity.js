// A host's Identity page: the System assigned tab (Status On/Off, Save; the object id once on) and the User
// assigned tab (+ Add from a picker, Remove with a Yes confirmation), as in the seed's portal articles.
import { V, arm, odata } from '../api.js'
import { resourceGroups, roleDefinitions, roleGuid } from '../data.js'
import { confirm, copyable, essentials, fill, h, link, panel, table } from '../dom.js'
import { StaleError } from '../errors.js'
import { UAMI, canonicalId, parseId, resourceHref, sameId, scopeOf, typeInfo } from '../ids.js'
import { PAGE_SIZE } from './hosts.js'
import { panelError } from './resource-groups.js'

/** What the page compares before a write: the identity as loaded. @param {any} body */
const signature = (body) => {
  const i = body?.identity ?? {}
  const type = String(i.type ?? 'None')
    .toLowerCase()
    .replace(/\s+/g, '')
    .split(',')
    .sort()
    .join(',')
  return JSON.stringify([
    type,
    i.principalId ?? null,
    Object.keys(i.userAssignedIdentities ?? {})
      .map((k) => k.toLowerCase())
      .sort(),
  ])
}
/** @param {any} body */
const hasSystem = (body) =>
  String(body?.identity?.type ?? '')
    .toLowerCase()
    .includes('systemassigned')
/** @param {any} body */
const userIds = (body) => Object.keys(body?.identity?.userAssignedIdentities ?? {})

/**
 * Re-reads the host and refuses the write when it changed since the page loaded it (another user, az, a script).
 * @param {string} id
 * @param {string} api
 * @param {any} loaded
 */
async function checkFresh(id, api, loaded) {
  const now = await arm.get(id, api)
  if (signature(now) !== signature(loaded))
    throw new StaleError(
      `${loaded.name}'s identity was changed after this page loaded it (it now has system assigned ${hasSystem(now) ? 'On' : 'Off'} and ${userIds(now).length} user assigned). Nothing was saved. Refresh, check the current state, and make your change again.`,
    )
}

/**
 * @param {import('../main.js').Ctx} ctx
 * @param {import('./resource.js').Loaded} r
 * @param {HTMLElement} el
 */
export function identityBlade(ctx, r, el) {
  const info = typeInfo(r.parsed.type ?? '')
  let body = r.body
  const tab = ctx.params.get('tab') === 'user' && info?.userAssigned ? 'user' : 'system'
  const tabs = h(
    'div.tabs',
    { role: 'tablist' },
    h(
      'a',
      {
        role: 'tab',
        href: resourceHref(r.id, 'identity'),
        'aria-selected': String(tab === 'system'),
        class: tab === 'system' ? 'active' : undefined,
      },
      'System assigned',
    ),
    info?.userAssigned
      ? h(
          'a',
          {
            role: 'tab',
            href: `${resourceHref(r.id, 'identity')}?tab=user`,
            'aria-selected': String(tab === 'user'),
            class: tab === 'user' ? 'active' : undefined,
          },
          'User assigned',
        )
      : null,
  )
  const pane = h('div.tabpanel', { role: 'tabpanel' })
  el.append(tabs, pane)
  const render = () => (tab === 'system' ? systemTab() : userTab())

  function systemTab() {
    const on = hasSystem(body)
    const off = h('input', { type: 'radio', name: 'status', value: 'off', checked: !on })
    const onBox = h('input', { type: 'radio', name: 'status', value: 'on', checked: on })
    const save = h('button.primary#save', { type: 'button', disabled: true }, 'Save')
    const discard = h('button#discard', { type: 'button', disabled: true }, 'Discard')
    const wanted = () => /** @type {HTMLInputElement} */ (onBox).checked
    const changed = () => {
      save.toggleAttribute('disabled', wanted() === on)
      discard.toggleAttribute('disabled', wanted() === on)
    }
    off.addEventListener('change', changed)
    onBox.addEventListener('change', changed)
    discard.addEventListener('click', () => render())
    save.addEventListener('click', async () => {
      const enable = wanted()
      const ok = await confirm(
        enable
          ? {
              title: 'Enable system assigned managed identity',
              message: `'${body.name}' will be registered with the directory. Once it is registered, '${body.name}' can be granted permissions to access resources protected by Microsoft Entra ID. Do you want to enable the system assigned managed identity for '${body.name}'?`,
            }
          : {
              title: 'Disable system assigned managed identity',
              message: `Disabling the system assigned managed identity deletes its service principal from the directory; role assignments granted to it stop working and '${body.name}' can no longer get tokens for it. Do you want to disable it?`,
            },
      )
      if (!ok) return
      save.setAttribute('disabled', '')
      try {
        await checkFresh(r.id, r.api, body)
        const users = userIds(body).length > 0
        const type = enable
          ? users
            ? 'SystemAssigned, UserAssigned'
            : 'SystemAssigned'
          : users
            ? 'UserAssigned'
            : 'None'
        body = await arm.patch(r.id, r.api, { identity: { type } })
        ctx.info(
          enable
            ? `System assigned managed identity enabled for ${body.name}.`
            : `System assigned managed identity disabled for ${body.name}.`,
        )
        render()
      } catch (e) {
        ctx.error(e)
        changed()
      }
    })
    const principalId = body.identity?.principalId
    fill(
      pane,
      h(
        'p.muted',
        'A system assigned managed identity is restricted to one per resource and is tied to the lifecycle of this resource. You can grant permissions to the managed identity by using Azure role-based access control (Azure RBAC).',
      ),
      h('div.toolbar', save, discard, h('button', { type: 'button', onclick: () => ctx.reload() }, 'Refresh')),
      h('fieldset.toggle#status', h('legend', 'Status'), h('label', off, 'Off'), h('label', onBox, 'On')),
      on && principalId
        ? essentials([
            ['Object (principal) ID', h('span#principal-id', copyable(principalId))],
            ['Permissions', h('span', 'Azure role assignments below')],
          ])
        : null,
      on && principalId ? roleAssignmentsOf(ctx, principalId, r.parsed.subscriptionId ?? '') : null,
    )
  }

  function userTab() {
    const attached = Object.entries(body.identity?.userAssignedIdentities ?? {}).map(([id, v]) => ({
      id,
      .../** @type {any} */ (v),
    }))
    const remove = h('button#remove', { type: 'button', disabled: true }, 'Remove')
    const t = table({
      label: 'User assigned managed identities',
      select: 'multi',
      columns: [
        { title: 'Name', render: (x) => link(resourceHref(x.id), parseId(x.id).name ?? x.id) },
        { title: 'Resource group', render: (x) => parseId(x.id).resourceGroup ?? '' },
        { title: 'Client ID', render: (x) => x.clientId ?? '' },
        { title: 'Object (principal) ID', render: (x) => x.principalId ?? '' },
      ],
      rows: attached,
      empty: 'No user assigned managed identities found on this resource.',
      onselect: (rows) => remove.toggleAttribute('disabled', rows.length === 0),
    })
    remove.addEventListener('click', async () => {
      const gone = t.selected()
      const ok = await confirm({
        title: 'Remove user assigned managed identity',
        message: `Remove ${gone.map((x) => parseId(x.id).name).join(', ')} from '${body.name}'? It will no longer be able to get tokens for ${gone.length > 1 ? 'them' : 'it'}. The identities themselves are not deleted.`,
      })
      if (!ok) return
      try {
        await checkFresh(r.id, r.api, body)
        const left = userIds(body).filter((k) => !gone.some((g) => sameId(g.id, k)))
        const sys = hasSystem(body)
        const identity =
          left.length === 0
            ? { type: sys ? 'SystemAssigned' : 'None' }
            : {
                type: sys ? 'SystemAssigned, UserAssigned' : 'UserAssigned',
                userAssignedIdentities: Object.fromEntries(gone.map((g) => [g.id, null])),
              }
        body = await arm.patch(r.id, r.api, { identity })
        ctx.info(`Removed ${gone.map((x) => parseId(x.id).name).join(', ')}.`)
        render()
      } catch (e) {
        ctx.error(e)
      }
    })
    const add = h('button.primary#add', { type: 'button' }, '+ Add')
    add.addEventListener('click', () =>
      pickIdentities(ctx, {
        sub: r.parsed.subscriptionId ?? '',
        exclude: userIds(body),
        title: `Add user assigned managed identity`,
        onpick: async (picked, close, banner) => {
          try {
            await checkFresh(r.id, r.api, body)
            const type = hasSystem(body) ? 'SystemAssigned, UserAssigned' : 'UserAssigned'
            body = await arm.patch(r.id, r.api, {
              identity: { type, userAssignedIdentities: Object.fromEntries(picked.map((p) => [p.id, {}])) },
            })
            close()
            ctx.info(`Added ${picked.map((p) => p.name).join(', ')}.`)
            render()
          } catch (e) {
            if (e instanceof StaleError) {
              close()
              ctx.error(e)
            } else panelError(banner, e)
          }
        },
      }),
    )
    fill(
      pane,
      h(
        'p.muted',
        'User assigned managed identities enable Azure resources to authenticate to cloud services without storing credentials in code. This type of managed identity is created as a standalone resource and has its own lifecycle. A single resource can have multiple user assigned managed identities.',
      ),
      h('div.toolbar', add, remove, h('button', { type: 'button', onclick: () => ctx.reload() }, 'Refresh')),
      t.el,
    )
  }

  render()
}

/**
 * The role assignments granted to a principal in the subscription (the "Azure role assignments" view).
 * @param {import('../main.js').Ctx} ctx
 * @param {string} principalId
 * @param {string} sub
 */
function roleAssignmentsOf(ctx, principalId, sub) {
  const el = h('section.card', h('h2', 'Azure role assignments'), h('p.muted', 'Loading…'))
  void (async () => {
    try {
      const scope = scopeOf(sub)
      const [list, roles] = await Promise.all([
        arm.all(`${scope}/providers/Microsoft.Authorization/roleAssignments`, V.authorization, {
          $filter: `assignedTo(${odata(principalId)})`,
        }),
        roleDefinitions(scope),
      ])
      const byId = new Map(roles.map((d) => [roleGuid(d.id), d.properties.roleName]))
      fill(
        el,
        h('h2', 'Azure role assignments'),
        table({
          label: 'Azure role assignments',
          columns: [
            {
              title: 'Role',
              render: (a) => byId.get(roleGuid(a.properties.roleDefinitionId)) ?? a.properties.roleDefinitionId,
            },
            { title: 'Scope', render: (a) => link(resourceHref(a.properties.scope, 'iam'), a.properties.scope) },
          ],
          rows: list,
          empty: 'No role assignments yet. Grant one from a resource’s Access control (IAM).',
        }).el,
      )
    } catch (e) {
      if (!ctx.stale())
        fill(el, h('h2', 'Azure role assignments'), h('p.error', e instanceof Error ? e.message : String(e)))
    }
  })()
  return el
}

/**
 * A picker of user-assigned identities in a subscription: by resource group, a page at a time, with a name filter.
 * @param {import('../main.js').Ctx} ctx
 * @param {{ sub: string, exclude?: string[], title: string, single?: boolean,
 *   onpick: (picked: any[], close: () => void, banner: HTMLElement) => Promise<void> }} q
 */
export async function pickIdentities(ctx, q) {
  const groups = await resourceGroups(q.sub).catch((e) => {
    ctx.error(e)
    return []
  })
  const rg = h(
    'select#picker-group',
    { 'aria-label': 'Resource group' },
    h('option', { value: '' }, 'All resource groups'),
    groups.map((g) => h('option', { value: g.name }, g.name)),
  )
  const filter = h('input#picker-filter', {
    type: 'search',
    placeholder: 'Filter by name',
    'aria-label': 'Filter by name',
  })
  const list = h('div.picker-list')
  const chosen = new Map()
  const addBtn = h('button.primary#picker-add', { type: 'button', disabled: true }, 'Add')
  /** @type {string | null} */
  let next = null
  /** @type {any[]} */
  let loaded = []
  const more = h('button.link', { type: 'button', hidden: true }, 'Load more')
  const draw = () => {
    const f = /** @type {HTMLInputElement} */ (filter).value.trim().toLowerCase()
    const rows = loaded.filter((x) => !f || x.name.toLowerCase().includes(f))
    fill(
      list,
      rows.length === 0
        ? h(
            'p.empty',
            f
              ? `No loaded identity matches '${f}'.${next ? ' Load more, or type the exact name and press Enter.' : ''}`
              : 'No user assigned managed identities.',
          )
        : null,
      rows.map((x) => {
        const taken = (q.exclude ?? []).some((e) => sameId(e, x.id))
        const box = h('input', {
          type: q.single ? 'radio' : 'checkbox',
          name: 'pick',
          checked: chosen.has(x.id.toLowerCase()),
          disabled: taken,
          onchange: (/** @type {Event} */ e) => {
            if (q.single) chosen.clear()
            if (/** @type {HTMLInputElement} */ (e.target).checked) chosen.set(x.id.toLowerCase(), x)
            else chosen.delete(x.id.toLowerCase())
            addBtn.toggleAttribute('disabled', chosen.size === 0)
          },
        })
        return h(
          'label.pick',
          box,
          h('span.name', x.name),
          h('small', `${parseId(x.id).resourceGroup} · ${taken ? 'already assigned' : (x.properties?.clientId ?? '')}`),
        )
      }),
    )
    more.hidden = !next
  }
  const load = async (/** @type {boolean} */ reset) => {
    try {
      const scope = scopeOf(q.sub, /** @type {HTMLSelectElement} */ (rg).value || undefined)
      const page =
        reset || !next
          ? await arm.page(`${scope}/providers/${UAMI}`, V.mi, { $top: String(PAGE_SIZE) })
          : await arm.page(next)
      loaded = reset ? page.value : [...loaded, ...page.value]
      next = page.nextLink
      draw()
    } catch (e) {
      panelError(p.banner, e)
    }
  }
  more.addEventListener('click', () => void load(false))
  rg.addEventListener('change', () => void load(true))
  filter.addEventListener('input', draw)
  // Enter looks the exact name up across the subscription (lists are paged; the one wanted may not be loaded).
  filter.addEventListener('keydown', async (/** @type {Event} */ ev) => {
    if (/** @type {KeyboardEvent} */ (ev).key !== 'Enter') return
    ev.preventDefault()
    const name = /** @type {HTMLInputElement} */ (filter).value.trim()
    if (!name) return
    try {
      const scope = scopeOf(q.sub, /** @type {HTMLSelectElement} */ (rg).value || undefined)
      const found = await arm.all(`${scope}/resources`, V.resources, {
        $filter: `resourceType eq '${UAMI}' and name eq ${odata(name)}`,
      })
      const full = await Promise.all(found.map((f) => arm.get(canonicalId(f.id), V.mi)))
      for (const x of full) if (!loaded.some((l) => sameId(l.id, x.id))) loaded.unshift(x)
      draw()
    } catch (e) {
      panelError(p.banner, e)
    }
  })
  const p = panel({
    title: q.title,
    label: q.title,
    body: h('div', h('div.picker-filters', rg, filter), list, more),
    actions: (close) => [addBtn, h('button', { type: 'button', onclick: close }, 'Cancel')],
  })
  addBtn.addEventListener('click', async () => {
    addBtn.setAttribute('disabled', '')
    await q.onpick([...chosen.values()], p.close, p.banner)
    addBtn.removeAttribute('disabled')
  })
  await load(true)
  if (ctx.stale()) p.close()
}
