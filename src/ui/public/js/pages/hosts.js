// Hosts: virtual machines, scale sets, App Services, container groups and Arc machines, with their identities.
import { InputError } from '../errors.js'
import { ApiError, arm } from '../api.js'
import { forget, locations, resourceGroups } from '../data.js'
import { field, h, link, table } from '../dom.js'
import { HOST_TYPES, locationLabel, parseId, resourceHref, scopeOf, seg, typeInfo } from '../ids.js'

export const PAGE_SIZE = 50

/** @param {any} r */
export function identitySummary(r) {
  const t = String(r.identity?.type ?? 'None').toLowerCase()
  const sys = t.includes('systemassigned') ? 'On' : 'Off'
  const users = Object.keys(r.identity?.userAssignedIdentities ?? {}).length
  return `System assigned: ${sys} · User assigned: ${users}`
}

/**
 * A table of the resources (hosts or others) of one type at a scope (subscription or group), first page only, "Load more" for the rest.
 * @param {import('../main.js').Ctx} ctx
 * @param {string} scope
 * @param {import('../ids.js').TypeInfo} t
 */
export async function hostSection(ctx, scope, t) {
  const sub = parseId(scope).subscriptionId ?? ''
  const [first, locs] = await Promise.all([
    arm.page(`${scope}/providers/${t.type}`, t.api, { $top: String(PAGE_SIZE) }),
    locations(sub).catch(() => []),
  ])
  if (first.value.length === 0) return null
  const tbl = table({
    label: t.plural,
    columns: [
      { title: 'Name', render: (r) => link(resourceHref(r.id), r.name) },
      { title: 'Resource group', render: (r) => parseId(r.id).resourceGroup ?? '' },
      { title: 'Location', render: (r) => (r.location ? locationLabel(r.location, locs) : '') },
      t.host ? { title: 'Identity', render: identitySummary } : { title: 'Type', render: () => t.label },
    ],
    rows: first.value,
  })
  /** @type {string | null} */
  let next = first.nextLink
  const more = h(
    'button.link',
    {
      type: 'button',
      hidden: !next,
      onclick: async () => {
        if (!next) return
        try {
          const p = await arm.page(next)
          tbl.add(p.value)
          next = p.nextLink
          more.hidden = !next
        } catch (e) {
          ctx.error(e)
        }
      },
    },
    'Load more',
  )
  return {
    el: h('section.card', h('h2', t.plural), tbl.el, more),
    rows: /** @type {any[]} */ (first.value),
    more: Boolean(next),
  }
}

/** @param {import('../main.js').Ctx} ctx */
export async function hostsList(ctx) {
  ctx.title('Virtual machines and hosts', 'Resources that carry a managed identity')
  ctx.crumbs([['Virtual machines and hosts', '']])
  const sub = ctx.sub
  if (!sub) return ctx.info('You have no access to any subscription. Ask an administrator for a role.', 'warning')
  ctx.view.append(h('div.toolbar', link('#/create/host', h('span.button', '+ Create'))))
  const results = await Promise.allSettled(HOST_TYPES.map((t) => hostSection(ctx, `/subscriptions/${sub}`, t)))
  if (ctx.stale()) return
  /** @type {any[]} */
  const hosts = []
  let partial = false
  const sections = []
  for (const r of results) {
    if (r.status === 'rejected') ctx.error(r.reason)
    else if (r.value) {
      hosts.push(...r.value.rows)
      partial ||= r.value.more
      sections.push(r.value.el)
    }
  }
  if (hosts.length > 0) ctx.view.append(readiness(hosts, partial))
  ctx.view.append(...sections)
  if (hosts.length === 0 && results.every((r) => r.status === 'fulfilled'))
    ctx.view.append(h('p.empty', 'No hosts yet. Create one.'))
}

/**
 * The File Sync article's "Managed identity" tiles: which servers can use a managed identity (they have a
 * system-assigned one) and which cannot yet.
 * @param {any[]} hosts
 * @param {boolean} partial
 */
function readiness(hosts, partial) {
  const ready = hosts.filter((r) =>
    String(r.identity?.type ?? '')
      .toLowerCase()
      .includes('systemassigned'),
  )
  const not = hosts.filter((r) => !ready.includes(r))
  const tile = (/** @type {string} */ title, /** @type {any[]} */ rows, /** @type {string} */ hint) =>
    h(
      'div.tile.readiness',
      h('strong', `${title}: ${rows.length}${partial ? '+' : ''}`),
      h('span', hint),
      h(
        'span.names',
        rows.slice(0, 8).map((r, i) => [i > 0 ? ', ' : '', link(resourceHref(r.id, 'identity'), r.name)]),
        rows.length > 8 ? ' …' : '',
      ),
    )
  return h(
    'section.tiles#readiness',
    { 'aria-label': 'Managed identity readiness' },
    tile('Ready to use Managed ID', ready, 'Hosts with a system-assigned managed identity'),
    tile('No system-assigned identity', not, 'Turn it on from the host’s Identity page'),
  )
}

/** The create form (the seed's "Create a virtual machine", Management tab: Identity On/Off). */
/** @param {import('../main.js').Ctx} ctx */
export async function createHost(ctx) {
  ctx.title('Create a host', 'A virtual machine or another resource that can have a managed identity')
  ctx.crumbs([
    ['Virtual machines and hosts', '#/hosts'],
    ['Create', ''],
  ])
  const sub = ctx.sub
  if (!sub) return ctx.info('You have no access to any subscription.', 'warning')
  const [groups, locs] = await Promise.all([resourceGroups(sub), locations(sub)])
  if (ctx.stale()) return
  const kind = h(
    'select',
    { name: 'type' },
    HOST_TYPES.map((t) => h('option', { value: t.type }, t.label)),
  )
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' })
  const rg = h(
    'select',
    { name: 'resourceGroup' },
    groups.map((g) => h('option', { value: g.name }, g.name)),
  )
  const region = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { name: 'location' },
      locs.map((l) => h('option', { value: l.name }, l.displayName)),
    )
  )
  // The region starts as the group's, as the portal does.
  const follow = () => {
    const g = groups.find((x) => x.name === /** @type {HTMLSelectElement} */ (rg).value)
    if (g) region.value = g.location
  }
  rg.addEventListener('change', follow)
  follow()
  const identity = h(
    'fieldset.toggle',
    h('legend', 'Managed service identity'),
    h('label', h('input', { type: 'radio', name: 'msi', value: 'on' }), 'On'),
    h('label', h('input', { type: 'radio', name: 'msi', value: 'off', checked: true }), 'Off'),
  )
  const submit = h('button.primary', { type: 'submit' }, 'Create')
  const form = h(
    'form.form',
    {
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault()
        ctx.clear()
        const t = typeInfo(/** @type {HTMLSelectElement} */ (kind).value)
        if (!t?.createBody) return
        const n = /** @type {HTMLInputElement} */ (name).value.trim()
        const id = `${scopeOf(sub, /** @type {HTMLSelectElement} */ (rg).value)}/providers/${t.type}/${n}`
        const body = t.createBody(/** @type {HTMLSelectElement} */ (region).value)
        const on = /** @type {HTMLInputElement | null} */ (identity.querySelector('input[value=on]'))?.checked
        if (on) body.identity = { type: 'SystemAssigned' }
        submit.setAttribute('disabled', '')
        try {
          // Refuse to overwrite: a PUT on an existing name would replace that resource.
          const url = `${scopeOf(sub, seg(/** @type {HTMLSelectElement} */ (rg).value))}/providers/${t.type}/${seg(n)}`
          const exists = await arm.get(url, t.api).then(
            () => true,
            (err) => {
              if (err instanceof ApiError && err.status === 404) return false
              throw err
            },
          )
          if (exists)
            throw new InputError(`A ${t.label.toLowerCase()} named '${n}' already exists in this resource group.`)
          await arm.put(url, t.api, body)
          forget('hosts')
          location.hash = resourceHref(id, on ? 'identity' : 'overview')
        } catch (err) {
          ctx.error(err)
        } finally {
          submit.removeAttribute('disabled')
        }
      },
    },
    h('h2', 'Basics'),
    field('Resource type', kind),
    field('Name', name),
    field('Resource group', rg),
    field('Region', region),
    h('h2', 'Management'),
    identity,
    h('div.actions', submit, link('#/hosts', 'Cancel')),
  )
  ctx.view.append(groups.length === 0 ? h('p.empty', 'Create a resource group first.') : form)
}
