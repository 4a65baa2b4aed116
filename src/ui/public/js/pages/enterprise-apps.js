// Enterprise applications: service principals from Microsoft Graph, filtered to Managed Identities by default (the
// seed's "View the service principal of a managed identity in the Azure portal"), and one service principal's view.
import { V, arm, graph, odata } from '../api.js'
import { roleDefinitions, roleGuid } from '../data.js'
import { copyable, essentials, fill, h, link, table } from '../dom.js'
import { resourceHref, scopeOf } from '../ids.js'

const TYPES = [
  ['ManagedIdentity', 'Managed Identities'],
  ['', 'All Applications'],
  ['Application', 'Enterprise Applications'],
]

/** @param {import('../main.js').Ctx} ctx */
export async function enterpriseApps(ctx) {
  ctx.title('Enterprise applications | All applications', 'Service principals in the directory')
  ctx.crumbs([['Enterprise applications', '']])
  const type = ctx.params.get('type') ?? 'ManagedIdentity'
  const q = ctx.params.get('q') ?? ''
  const typeSel = h(
    'select#application-type',
    { 'aria-label': 'Application type' },
    TYPES.map(([v, label]) => h('option', { value: v, selected: v === type }, label)),
  )
  const search = h('input#app-search', {
    type: 'search',
    value: q,
    placeholder: 'Search by application name',
    'aria-label': 'Search by application name',
  })
  const go = () => {
    const p = new URLSearchParams({
      type: /** @type {HTMLSelectElement} */ (typeSel).value,
      q: /** @type {HTMLInputElement} */ (search).value.trim(),
    })
    location.hash = `#/enterpriseApps?${p}`
  }
  typeSel.addEventListener('change', go)
  search.addEventListener('keydown', (/** @type {Event} */ e) => {
    if (/** @type {KeyboardEvent} */ (e).key === 'Enter') go()
  })
  const clauses = []
  if (type) clauses.push(`servicePrincipalType eq ${odata(type)}`)
  if (q) clauses.push(`startswith(displayName,${odata(q)})`)
  ctx.view.append(
    h(
      'div.toolbar.filters',
      h('label', 'Application type ', typeSel),
      search,
      h('button', { type: 'button', onclick: go }, 'Apply'),
    ),
  )
  const first = await graph.get('/v1.0/servicePrincipals', {
    $top: '50',
    ...(clauses.length ? { $filter: clauses.join(' and ') } : {}),
  })
  if (ctx.stale()) return
  const t = table({
    label: 'Enterprise applications',
    columns: [
      { title: 'Name', render: (s) => link(`#/servicePrincipals/${s.id}`, s.displayName) },
      { title: 'Object ID', render: (s) => s.id },
      { title: 'Application ID', render: (s) => s.appId },
      {
        title: 'Application type',
        render: (s) => (s.servicePrincipalType === 'ManagedIdentity' ? 'Managed Identity' : s.servicePrincipalType),
      },
      { title: 'Created on', render: (s) => (s.createdDateTime ?? '').slice(0, 10) },
    ],
    rows: first?.value ?? [],
    empty: q ? `No application named '${q}…'.` : 'No applications of this type.',
  })
  let next = first?.['@odata.nextLink'] ?? null
  const more = h('button.link', { type: 'button', hidden: !next }, 'Load more')
  more.addEventListener('click', async () => {
    if (!next) return
    try {
      const p = await graph.get(new URL(next).pathname + new URL(next).search)
      t.add(p?.value ?? [])
      next = p?.['@odata.nextLink'] ?? null
      more.hidden = !next
    } catch (e) {
      ctx.error(e)
    }
  })
  ctx.view.append(t.el, more)
}

/**
 * @param {import('../main.js').Ctx} ctx
 * @param {string} id
 */
export async function servicePrincipalPage(ctx, id) {
  ctx.crumbs([
    ['Enterprise applications', '#/enterpriseApps'],
    [id, ''],
  ])
  const sp = await graph.get(`/v1.0/servicePrincipals/${id}`)
  if (ctx.stale()) return
  const mi = sp.servicePrincipalType === 'ManagedIdentity'
  ctx.title(sp.displayName, mi ? 'Managed Identity | Enterprise application' : 'Enterprise application')
  ctx.crumbs([
    ['Enterprise applications', '#/enterpriseApps'],
    [sp.displayName, ''],
  ])
  const armId = (sp.alternativeNames ?? []).find((/** @type {string} */ n) => n.startsWith('/subscriptions/'))
  const explicit = (sp.alternativeNames ?? []).find((/** @type {string} */ n) => /^isExplicit=/i.test(n))
  ctx.view.append(
    h(
      'section.card',
      h('h2', 'Properties'),
      essentials([
        ['Name', sp.displayName],
        ['Application ID', copyable(sp.appId)],
        ['Object ID', copyable(sp.id)],
        ['Application type', mi ? 'Managed Identity' : sp.servicePrincipalType],
        ['Managed identity kind', mi ? (/true/i.test(explicit ?? '') ? 'User assigned' : 'System assigned') : null],
        ['Resource', armId ? link(resourceHref(armId), armId) : null],
        ['Enabled for users to sign-in', sp.accountEnabled ? 'Yes' : 'No'],
        ['Service principal names', (sp.servicePrincipalNames ?? []).join(', ')],
        ['Alternative names', (sp.alternativeNames ?? []).join(', ')],
        ['Home tenant', sp.appOwnerOrganizationId],
        ['Created on', sp.createdDateTime],
      ]),
    ),
  )
  // Azure role assignments of this principal in the subscription.
  const sub = ctx.sub
  if (!sub) return
  const section = h('section.card', h('h2', 'Azure role assignments'))
  ctx.view.append(section)
  try {
    const scope = scopeOf(sub)
    const [list, roles] = await Promise.all([
      arm.all(`${scope}/providers/Microsoft.Authorization/roleAssignments`, V.authorization, {
        $filter: `assignedTo(${odata(sp.id)})`,
      }),
      roleDefinitions(scope),
    ])
    const byId = new Map(roles.map((d) => [roleGuid(d.id), d.properties.roleName]))
    section.append(
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
        empty: 'No role assignments in this subscription.',
      }).el,
    )
  } catch (e) {
    fill(section, h('h2', 'Azure role assignments'), h('p.error', e instanceof Error ? e.message : String(e)))
  }
}
