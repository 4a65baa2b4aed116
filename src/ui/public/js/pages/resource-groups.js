// Resource groups of the subscription: list, create.
import { V, arm } from '../api.js'
import { forget, locations, resourceGroups } from '../data.js'
import { field, h, link, panel, table } from '../dom.js'
import { locationLabel, resourceHref, scopeOf, seg } from '../ids.js'

/** @param {import('../main.js').Ctx} ctx */
export async function resourceGroupsList(ctx) {
  ctx.title('Resource groups')
  ctx.crumbs([['Resource groups', '']])
  const sub = ctx.sub
  if (!sub) return ctx.info('You have no access to any subscription. Ask an administrator for a role.', 'warning')
  const [groups, locs] = await Promise.all([resourceGroups(sub), locations(sub).catch(() => [])])
  if (ctx.stale()) return
  const t = table({
    label: 'Resource groups',
    columns: [
      { title: 'Name', render: (g) => link(resourceHref(g.id), g.name) },
      { title: 'Subscription', render: () => sub },
      { title: 'Location', render: (g) => locationLabel(g.location, locs) },
    ],
    rows: groups,
    empty: 'No resource groups yet.',
  })
  ctx.view.append(
    h('div.toolbar', h('button#create-group', { type: 'button', onclick: () => createGroupPanel(sub) }, '+ Create')),
    t.el,
  )
}

/**
 * @param {string} sub
 */
async function createGroupPanel(sub) {
  const locs = await locations(sub)
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' })
  const region = h(
    'select',
    { name: 'location' },
    locs.map((l) => h('option', { value: l.name }, l.displayName)),
  )
  const p = panel({
    title: 'Create a resource group',
    body: h('form', field('Resource group', name), field('Region', region)),
    actions: (close) => [
      h(
        'button.primary',
        {
          type: 'button',
          onclick: async () => {
            const n = /** @type {HTMLInputElement} */ (name).value.trim()
            try {
              await arm.put(scopeOf(sub, seg(n)), V.resources, {
                location: /** @type {HTMLSelectElement} */ (region).value,
              })
              forget(`groups:${sub}`)
              close()
              location.hash = resourceHref(scopeOf(sub, n))
            } catch (e) {
              panelError(p.banner, e)
            }
          },
        },
        'Create',
      ),
      h('button', { type: 'button', onclick: close }, 'Cancel'),
    ],
  })
}

/**
 * Shows a service's message inside a panel (its own banner, so the panel stays open to fix the input).
 * @param {HTMLElement} banner
 * @param {unknown} e
 */
export function panelError(banner, e) {
  const code = /** @type {any} */ (e)?.code
  banner.replaceChildren(
    h(
      'div.message.error',
      h('strong', code === 'RoleAssignmentExists' ? 'This role assignment already exists' : 'The request was refused'),
      h('p', e instanceof Error ? e.message : String(e)),
      code
        ? h('small.code', `${/** @type {any} */ (e).service ?? ''} ${/** @type {any} */ (e).status ?? ''} ${code}`)
        : null,
    ),
  )
  if (/** @type {any} */ (e)?.name === 'SessionLost') throw e
}
