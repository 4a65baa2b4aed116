// Managed Identities (the seed's "Create, list, delete … a user-assigned managed identity using the Azure portal").
import { InputError } from '../errors.js'
import { ApiError, V, arm } from '../api.js'
import { forget, locations, resourceGroups } from '../data.js'
import { confirm, field, h, link, table } from '../dom.js'
import { UAMI, locationLabel, parseId, resourceHref, scopeOf, seg } from '../ids.js'
import { PAGE_SIZE } from './hosts.js'

/** @param {import('../main.js').Ctx} ctx */
export async function identitiesList(ctx) {
  ctx.title('Managed Identities', 'User-assigned managed identities in the subscription')
  ctx.crumbs([['Managed Identities', '']])
  const sub = ctx.sub
  if (!sub) return ctx.info('You have no access to any subscription. Ask an administrator for a role.', 'warning')
  const rgFilter = ctx.params.get('resourceGroup')
  const scope = scopeOf(sub, rgFilter ?? undefined)
  // Pages are followed by their nextLinks; `back` keeps the links of the pages before.
  const pageUrl = ctx.params.get('page')
  const [page, locs] = await Promise.all([
    pageUrl ? arm.page(pageUrl) : arm.page(`${scope}/providers/${UAMI}`, V.mi, { $top: String(PAGE_SIZE) }),
    locations(sub).catch(() => []),
  ])
  if (ctx.stale()) return
  const pageNo = Number(ctx.params.get('n') ?? '1')
  const t = table({
    label: 'Managed Identities',
    select: 'multi',
    columns: [
      { title: 'Name', render: (r) => link(resourceHref(r.id), r.name) },
      { title: 'Resource group', render: (r) => parseId(r.id).resourceGroup ?? '' },
      { title: 'Location', render: (r) => locationLabel(r.location, locs) },
      { title: 'Subscription', render: () => sub },
    ],
    rows: page.value,
    empty: 'No managed identities to show.',
    onselect: (rows) => del.toggleAttribute('disabled', rows.length === 0),
  })
  const del = h(
    'button#delete-identities',
    {
      type: 'button',
      disabled: true,
      onclick: async () => {
        const rows = t.selected()
        const ok = await confirm({
          title: 'Delete managed identities',
          message: `Delete ${rows.map((r) => r.name).join(', ')}? Resources using ${rows.length > 1 ? 'them' : 'it'} keep the reference but can no longer get tokens for ${rows.length > 1 ? 'them' : 'it'}.`,
        })
        if (!ok) return
        try {
          for (const r of rows) await arm.del(r.id, V.mi)
          ctx.reload(`Deleted ${rows.map((r) => r.name).join(', ')}.`)
        } catch (e) {
          ctx.error(e)
        }
      },
    },
    'Delete',
  )
  const q = (/** @type {Record<string, string>} */ o) =>
    `#/identities?${new URLSearchParams({ ...(rgFilter ? { resourceGroup: rgFilter } : {}), ...o })}`
  ctx.view.append(
    h(
      'div.toolbar',
      link('#/create/identity', h('span.button#create-identity', '+ Create')),
      del,
      rgFilter ? h('span.chip', `Resource group: ${rgFilter} `, link('#/identities', '✕')) : null,
    ),
    t.el,
    h(
      'nav.pager',
      { 'aria-label': 'Pages' },
      pageNo > 1 ? h('button.link', { type: 'button', onclick: () => history.back() }, '‹ Previous') : null,
      h('span', `Page ${pageNo} · ${page.value.length} shown`),
      page.nextLink ? link(q({ page: page.nextLink, n: String(pageNo + 1) }), 'Next ›') : null,
    ),
  )
}

/** The seed's "Create user assigned managed identity" pane: name, subscription, group (new or existing), region. */
/** @param {import('../main.js').Ctx} ctx */
export async function createIdentity(ctx) {
  ctx.title('Create User Assigned Managed Identity')
  ctx.crumbs([
    ['Managed Identities', '#/identities'],
    ['Create', ''],
  ])
  const sub = ctx.sub
  if (!sub) return ctx.info('You have no access to any subscription.', 'warning')
  const [groups, locs] = await Promise.all([resourceGroups(sub), locations(sub)])
  if (ctx.stale()) return
  const subSel = h(
    'select',
    { name: 'subscription', disabled: true },
    ctx.subscriptions.map((s) =>
      h('option', { value: s.subscriptionId, selected: s.subscriptionId === sub }, s.displayName),
    ),
  )
  const existing = h(
    'select',
    { name: 'resourceGroup' },
    groups.map((g) => h('option', { value: g.name }, g.name)),
  )
  const fresh = h('input', {
    name: 'newResourceGroup',
    autocomplete: 'off',
    hidden: true,
    placeholder: 'New resource group name',
  })
  const useNew = h('input', { type: 'radio', name: 'rgmode', value: 'new', checked: groups.length === 0 })
  const useOld = h('input', { type: 'radio', name: 'rgmode', value: 'existing', checked: groups.length > 0 })
  const sync = () => {
    const n = /** @type {HTMLInputElement} */ (useNew).checked
    fresh.hidden = !n
    existing.hidden = n
  }
  useNew.addEventListener('change', sync)
  useOld.addEventListener('change', sync)
  sync()
  const region = h(
    'select',
    { name: 'location' },
    locs.map((l) => h('option', { value: l.name, selected: l.name === 'westus' }, l.displayName)),
  )
  const name = h('input', { name: 'name', required: true, autocomplete: 'off', placeholder: 'e.g. UAI1' })
  const submit = h('button.primary#create', { type: 'submit' }, 'Create')
  const form = h(
    'form.form',
    {
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault()
        ctx.clear()
        const n = /** @type {HTMLInputElement} */ (name).value.trim()
        const isNew = /** @type {HTMLInputElement} */ (useNew).checked
        const rg = isNew
          ? /** @type {HTMLInputElement} */ (fresh).value.trim()
          : /** @type {HTMLSelectElement} */ (existing).value
        const loc = /** @type {HTMLSelectElement} */ (region).value
        if (!rg) return ctx.error(new InputError('Choose a resource group or name a new one.'))
        const id = `${scopeOf(sub, rg)}/providers/${UAMI}/${n}`
        submit.setAttribute('disabled', '')
        let createdGroup = false
        try {
          if (!isNew || !(await groupExists(sub, rg))) {
            if (isNew) {
              await arm.put(scopeOf(sub, seg(rg)), V.resources, { location: loc })
              createdGroup = true
              forget(`groups:${sub}`)
            }
          }
          // An existing identity of that name would be overwritten by the PUT: refuse, as the portal's validation does.
          const url = `${scopeOf(sub, seg(rg))}/providers/${UAMI}/${seg(n)}`
          const exists = await arm.get(url, V.mi).then(
            () => true,
            (err) => {
              if (err instanceof ApiError && err.status === 404) return false
              throw err
            },
          )
          if (exists) throw new InputError(`A managed identity named '${n}' already exists in resource group '${rg}'.`)
          await arm.put(url, V.mi, { location: loc })
          location.hash = resourceHref(id)
        } catch (err) {
          // No half-made result: the group this form created goes again when the identity is refused.
          if (createdGroup) await arm.del(scopeOf(sub, seg(rg)), V.resources).catch(() => {})
          if (createdGroup) forget(`groups:${sub}`)
          ctx.error(err)
        } finally {
          submit.removeAttribute('disabled')
        }
      },
    },
    field('Resource Name', name, 'Letters, digits, hyphens and underscores; 3 to 128 characters.'),
    field('Subscription', subSel, 'Change the subscription in the top bar.'),
    h(
      'fieldset.rg',
      h('legend', 'Resource group'),
      h('label', useNew, 'Create new'),
      h('label', useOld, 'Use existing'),
      existing,
      fresh,
    ),
    field('Location', region),
    h('div.actions', submit, link('#/identities', 'Cancel')),
  )
  ctx.view.append(form)
}

/** @param {string} sub @param {string} rg */
async function groupExists(sub, rg) {
  try {
    await arm.get(scopeOf(sub, seg(rg)), V.resources)
    return true
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return false
    throw e
  }
}
