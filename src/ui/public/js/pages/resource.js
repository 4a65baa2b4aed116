// One resource (subscription, group, host, identity, any other): its blades on the left, the chosen one on the right.
import { InputError } from '../errors.js'
import { V, arm } from '../api.js'
import { locations } from '../data.js'
import { confirm, copyable, essentials, fill, h, link } from '../dom.js'
import { HOST_TYPES, OTHER_TYPES, UAMI, locationLabel, parseId, resourceHref, typeInfo } from '../ids.js'
import { federatedCredentials } from './federated.js'
import { hostSection, identitySummary } from './hosts.js'
import { iamBlade } from './iam.js'
import { identityBlade } from './identity.js'

/**
 * A blade of a resource page. An `eager` blade starts its own requests while the resource itself is still being
 * read (it gets `body: null` and awaits `bodyP` when it needs it); the others get the resource read.
 * @typedef {{ name: string, label: string, eager?: boolean,
 *   render: (ctx: import('../main.js').Ctx, r: Loaded, el: HTMLElement) => Promise<void> | void }} Blade
 * @typedef {{ id: string, parsed: import('../ids.js').ParsedId, body: any, bodyP: Promise<any>, api: string,
 *   label: string }} Loaded
 */

/** @param {import('../ids.js').ParsedId} p */
function apiFor(p) {
  if (p.kind === 'subscription') return V.subscriptions
  if (p.kind === 'resourceGroup') return V.resources
  return typeInfo(p.type ?? '')?.api ?? V.resources
}

/** @param {import('../ids.js').ParsedId} p */
function bladesFor(p) {
  /** @type {Blade[]} */
  const out = [{ name: 'overview', label: 'Overview', render: overview, eager: p.kind === 'resourceGroup' }]
  if (p.kind === 'resource' && typeInfo(p.type ?? '')?.host)
    out.push({ name: 'identity', label: 'Identity', render: identityBlade })
  out.push({ name: 'iam', label: 'Access control (IAM)', eager: true, render: (ctx, r, el) => iamBlade(ctx, r.id, el) })
  if (p.type?.toLowerCase() === UAMI.toLowerCase()) {
    out.push({ name: 'federated', label: 'Federated credentials', eager: true, render: federatedCredentials })
    out.push({ name: 'properties', label: 'Properties', render: properties })
  }
  return out
}

/**
 * @param {import('../main.js').Ctx} ctx
 * @param {string} id
 * @param {string} bladeName
 */
export async function resourcePage(ctx, id, bladeName) {
  const parsed = parseId(id)
  const blades = bladesFor(parsed)
  const blade = blades.find((b) => b.name === bladeName)
  const info = typeInfo(parsed.type ?? '')
  const label =
    parsed.kind === 'subscription'
      ? 'Subscription'
      : parsed.kind === 'resourceGroup'
        ? 'Resource group'
        : (info?.label ?? parsed.type ?? 'Resource')
  const crumbs = /** @type {[string, string][]} */ ([])
  if (parsed.kind === 'resourceGroup') crumbs.push(['Resource groups', '#/resourceGroups'])
  if (parsed.kind === 'resource') {
    if (info?.host) crumbs.push(['Virtual machines and hosts', '#/hosts'])
    else if (parsed.type?.toLowerCase() === UAMI.toLowerCase()) crumbs.push(['Managed Identities', '#/identities'])
    else if (parsed.resourceGroup)
      crumbs.push([
        parsed.resourceGroup,
        resourceHref(`/subscriptions/${parsed.subscriptionId}/resourceGroups/${parsed.resourceGroup}`),
      ])
  }
  crumbs.push([parsed.name ?? id, ''])
  ctx.crumbs(crumbs)
  ctx.title(`${parsed.name ?? id}${blade && blade.name !== 'overview' ? ` | ${blade.label}` : ''}`, label)
  if (!blade) throw new InputError(`A ${label.toLowerCase()} has no page '${bladeName}'.`)
  const menu = h(
    'nav.blades',
    { 'aria-label': `${label} menu` },
    h(
      'ul',
      blades.map((b) =>
        h(
          'li',
          h('a', { href: resourceHref(id, b.name), class: b.name === blade.name ? 'active' : undefined }, b.label),
        ),
      ),
    ),
  )
  const content = h('section.blade')
  ctx.view.append(h('div.resource', menu, content))
  const api = apiFor(parsed)
  const bodyP = arm.get(id, api)
  if (blade.eager) {
    // Both must succeed: a blade of a resource that does not exist shows ARM's ResourceNotFound.
    await Promise.all([bodyP, blade.render(ctx, { id, parsed, body: null, bodyP, api, label }, content)])
    return
  }
  const body = await bodyP
  if (ctx.stale()) return
  await blade.render(ctx, { id: body?.id ?? id, parsed, body, bodyP, api, label }, content)
}

/**
 * @param {import('../main.js').Ctx} ctx
 * @param {Loaded} r
 * @param {HTMLElement} el
 */
async function overview(ctx, r, el) {
  const p = r.parsed
  if (p.kind === 'resourceGroup') return groupOverview(ctx, r, el)
  const b = r.body
  if (p.kind === 'subscription') {
    el.append(
      essentials([
        ['Subscription ID', copyable(b.subscriptionId)],
        ['Subscription name', b.displayName],
        ['Directory (tenant) ID', copyable(b.tenantId)],
        ['State', b.state],
      ]),
      h(
        'p',
        link('#/resourceGroups', 'Resource groups'),
        ' · ',
        link('#/identities', 'Managed Identities'),
        ' · ',
        link('#/hosts', 'Hosts'),
      ),
    )
    return
  }
  const locs = p.subscriptionId ? await locations(p.subscriptionId).catch(() => []) : []
  const info = typeInfo(p.type ?? '')
  /** @type {[string, import('../dom.js').Child][]} */
  const rows = [
    [
      'Resource group',
      p.resourceGroup
        ? link(resourceHref(`/subscriptions/${p.subscriptionId}/resourceGroups/${p.resourceGroup}`), p.resourceGroup)
        : null,
    ],
    ['Location', b.location ? locationLabel(b.location, locs) : null],
    ['Subscription', ctx.subscriptions.find((x) => x.subscriptionId === p.subscriptionId)?.displayName ?? null],
    ['Subscription ID', copyable(p.subscriptionId ?? '')],
    ['Type', p.type?.toLowerCase() === UAMI.toLowerCase() ? 'User assigned managed identity' : (info?.label ?? p.type)],
  ]
  if (p.type?.toLowerCase() === UAMI.toLowerCase()) {
    rows.push(
      ['Client ID', copyable(b.properties.clientId)],
      ['Object (principal) ID', copyable(b.properties.principalId)],
      ['Tenant ID', copyable(b.properties.tenantId)],
    )
  } else if (info?.host) rows.push(['Managed identity', link(resourceHref(r.id, 'identity'), identitySummary(b))])
  rows.push(['Resource ID', copyable(r.id)])
  el.append(essentials(rows))
  if (p.type?.toLowerCase() === UAMI.toLowerCase()) {
    el.append(
      h(
        'div.toolbar',
        h(
          'button#delete',
          {
            type: 'button',
            onclick: async () => {
              const ok = await confirm({
                title: 'Delete managed identity',
                message: `Delete ${p.name}? Resources it is assigned to keep the reference, but can no longer get tokens for it.`,
              })
              if (!ok) return
              try {
                await arm.del(r.id, r.api)
                location.hash = '#/identities'
              } catch (e) {
                ctx.error(e)
              }
            },
          },
          'Delete',
        ),
      ),
    )
  }
}

/**
 * @param {import('../main.js').Ctx} _ctx
 * @param {Loaded} r
 * @param {HTMLElement} el
 */
function properties(_ctx, r, el) {
  const p = r.body.properties ?? {}
  fill(
    el,
    essentials([
      ['Name', r.body.name],
      ['Resource ID', copyable(r.id)],
      ['Type', r.body.type],
      ['Location', r.body.location],
      ['Tenant ID', copyable(p.tenantId)],
      ['Principal ID', copyable(p.principalId)],
      ['Client ID', copyable(p.clientId)],
    ]),
    h('details', h('summary', 'JSON view'), h('pre.json', JSON.stringify(r.body, null, 2))),
  )
}

/**
 * A group's overview: its essentials, then a first page of each kind of resource in it, each shown as it arrives
 * (a group may hold thousands of identities; the hosts should not wait for them).
 * @param {import('../main.js').Ctx} ctx
 * @param {Loaded} r
 * @param {HTMLElement} el
 */
async function groupOverview(ctx, r, el) {
  const p = r.parsed
  const types = [...HOST_TYPES, ...OTHER_TYPES.filter((t) => !t.type.includes('/federated'))]
  const head = h('div')
  const slots = types.map(() => h('div'))
  const empty = h('p.empty', { hidden: true }, 'This resource group is empty.')
  el.append(head, ...slots, empty)
  let shown = 0
  const sections = types.map((t, i) =>
    hostSection(ctx, r.id, t).then((s) => {
      if (s && !ctx.stale()) {
        slots[i]?.replaceWith(s.el)
        shown++
      }
    }),
  )
  const [b, locs] = await Promise.all([r.bodyP, locations(p.subscriptionId ?? '').catch(() => [])])
  if (ctx.stale()) return
  head.append(
    essentials([
      ['Subscription ID', copyable(p.subscriptionId ?? '')],
      ['Location', locationLabel(b.location, locs)],
      ['Provisioning state', b.properties?.provisioningState ?? 'Succeeded'],
    ]),
    h(
      'div.toolbar',
      link(
        `#/identities?resourceGroup=${encodeURIComponent(p.resourceGroup ?? '')}`,
        'Managed Identities in this group ›',
      ),
    ),
  )
  ctx.painted()
  const results = await Promise.allSettled(sections)
  if (ctx.stale()) return
  for (const s of results) if (s.status === 'rejected') ctx.error(s.reason)
  empty.hidden = shown > 0 || results.some((s) => s.status === 'rejected')
}
