// Access control (IAM) at any scope: role assignments with where each comes from, add (role picker, member picker
// that lists managed identities by host), remove, Check access (from azid's explain API), and the roles.
import { InputError } from '../errors.js'
import { V, arm, graph, odata, portalApi } from '../api.js'
import { principalNames, roleDefinitions, roleGuid } from '../data.js'
import { confirm, copyable, fill, h, link, panel, table } from '../dom.js'
import { HOST_TYPES, UAMI, parseId, resourceHref, sameId, scopeLabel, scopeOf } from '../ids.js'
import { PAGE_SIZE } from './hosts.js'
import { panelError } from './resource-groups.js'

const RA = 'Microsoft.Authorization/roleAssignments'

/** Is `inner` at or below `outer`? @param {string} inner @param {string} outer */
const within = (inner, outer) => {
  const a = inner.toLowerCase().replace(/\/$/, '')
  const b = outer.toLowerCase().replace(/\/$/, '')
  return b === '' || b === '/' || a === b || a.startsWith(`${b}/`)
}

/** The action "read" means at a scope (what Check access asks first). @param {string} scope */
export function readActionOf(scope) {
  const p = parseId(scope)
  if (p.kind === 'subscription') return 'Microsoft.Resources/subscriptions/read'
  if (p.kind === 'resourceGroup') return 'Microsoft.Resources/subscriptions/resourceGroups/read'
  return `${p.type}/read`
}

/**
 * @param {import('../main.js').Ctx} ctx
 * @param {string} scope
 * @param {HTMLElement} el
 */
export async function iamBlade(ctx, scope, el) {
  const tab = ctx.params.get('tab') ?? 'assignments'
  const base = resourceHref(scope, 'iam')
  const tabs = [
    ['check', 'Check access'],
    ['assignments', 'Role assignments'],
    ['roles', 'Roles'],
  ]
  el.append(
    h(
      'div.tabs',
      { role: 'tablist' },
      tabs.map(([k, label]) =>
        h(
          'a',
          {
            role: 'tab',
            href: `${base}?tab=${k}`,
            class: k === tab ? 'active' : undefined,
            'aria-selected': String(k === tab),
          },
          label,
        ),
      ),
    ),
  )
  const pane = h('div.tabpanel', { role: 'tabpanel' })
  el.append(pane)
  if (tab === 'check') return checkAccess(ctx, scope, pane)
  if (tab === 'roles') return rolesTab(ctx, scope, pane)
  return assignmentsTab(ctx, scope, pane)
}

/**
 * @param {import('../main.js').Ctx} ctx
 * @param {string} scope
 * @param {HTMLElement} pane
 */
async function assignmentsTab(ctx, scope, pane) {
  // At this scope and inherited from above (what the portal's Role assignments tab lists).
  const [page, roles] = await Promise.all([
    arm.page(`${scope}/providers/${RA}`, V.authorization, { $filter: 'atScope()', $top: '200' }),
    roleDefinitions(scope),
  ])
  const rows = page.value
  // Names come from the directory; without Graph access the ids and ARM's principal types still show.
  const names = await principalNames(rows.map((a) => a.properties.principalId)).catch(
    () => /** @type {Awaited<ReturnType<typeof principalNames>>} */ (new Map()),
  )
  if (ctx.stale()) return
  const roleName = new Map(roles.map((d) => [roleGuid(d.id), d.properties.roleName]))
  const remove = h('button#remove-assignment', { type: 'button', disabled: true }, 'Remove')
  const search = h('input#assignment-search', {
    type: 'search',
    placeholder: 'Search by name or role',
    'aria-label': 'Search by name or role',
  })
  const view = h('div')
  /** @type {ReturnType<typeof table<any>>} */
  let t
  const draw = () => {
    const f = /** @type {HTMLInputElement} */ (search).value.trim().toLowerCase()
    const shown = rows.filter((a) => {
      if (!f) return true
      const n = names.get(a.properties.principalId.toLowerCase())?.displayName ?? ''
      return (
        n.toLowerCase().includes(f) ||
        (roleName.get(roleGuid(a.properties.roleDefinitionId)) ?? '').toLowerCase().includes(f)
      )
    })
    t = table({
      label: 'Role assignments',
      select: 'multi',
      columns: [
        {
          title: 'Name',
          render: (a) => {
            const p = names.get(a.properties.principalId.toLowerCase())
            return h(
              'span.principal',
              h('strong', p?.displayName ?? a.properties.principalId),
              h('small', a.properties.principalId),
            )
          },
        },
        {
          title: 'Type',
          render: (a) => names.get(a.properties.principalId.toLowerCase())?.kind ?? a.properties.principalType,
        },
        {
          title: 'Role',
          render: (a) =>
            roleName.get(roleGuid(a.properties.roleDefinitionId)) ?? roleGuid(a.properties.roleDefinitionId),
        },
        {
          title: 'Scope',
          render: (a) =>
            sameId(a.properties.scope, scope)
              ? 'This resource'
              : link(resourceHref(a.properties.scope, 'iam'), scopeLabel(a.properties.scope, scope)),
        },
        { title: 'Condition', render: (a) => (a.properties.condition ? 'View' : 'None') },
      ],
      rows: shown,
      empty: f ? 'No role assignment matches.' : 'No role assignments at this scope.',
      disabled: (a) =>
        sameId(a.properties.scope, scope) ? null : `Inherited from ${a.properties.scope}: remove it there.`,
      onselect: (rows) => remove.toggleAttribute('disabled', rows.length === 0),
    })
    fill(view, t.el)
    remove.setAttribute('disabled', '')
  }
  search.addEventListener('input', draw)
  remove.addEventListener('click', async () => {
    const gone = t.selected()
    const who = gone.map(
      (a) =>
        `${names.get(a.properties.principalId.toLowerCase())?.displayName ?? a.properties.principalId} (${roleName.get(roleGuid(a.properties.roleDefinitionId)) ?? ''})`,
    )
    if (!(await confirm({ title: 'Remove role assignments', message: `Remove ${who.join(', ')}?` }))) return
    try {
      for (const a of gone) await arm.del(a.id, V.authorization)
      ctx.reload(`Removed ${who.join(', ')}.`)
    } catch (e) {
      ctx.error(e)
    }
  })
  const add = h(
    'button.primary#add-assignment',
    { type: 'button', onclick: () => addAssignment(ctx, scope) },
    '+ Add role assignment',
  )
  draw()
  pane.append(
    h('div.toolbar', add, remove, search, h('button', { type: 'button', onclick: () => ctx.reload() }, 'Refresh')),
    h(
      'p.muted',
      `${rows.length} role assignment${rows.length === 1 ? '' : 's'} at this scope and inherited from above.${page.nextLink ? ' More exist; narrow them with the search.' : ''}`,
    ),
    view,
  )
}

/**
 * The member picker: users and service principals from the directory, or managed identities by host.
 * @param {import('../main.js').Ctx} ctx
 * @param {{ sub: string, single?: boolean, legend?: string, onchange?: () => void }} q
 */
export function memberPicker(ctx, q) {
  /** @type {Map<string, { id: string, displayName: string, principalType: string, kind: string, detail: string }>} */
  const chosen = new Map()
  const kindUsers = h('input', { type: 'radio', name: 'assign-to', value: 'directory', checked: true })
  const kindMi = h('input', { type: 'radio', name: 'assign-to', value: 'mi' })
  const miType = h(
    'select#mi-type',
    { 'aria-label': 'Managed identity', hidden: true },
    h('option', { value: UAMI }, 'User-assigned managed identity'),
    HOST_TYPES.map((t) => h('option', { value: t.type }, t.label)),
  )
  const search = h('input#member-search', {
    type: 'search',
    placeholder: 'Search by name',
    'aria-label': 'Select members',
  })
  const results = h('div.picker-list#member-results')
  const chips = h('div.chips#selected-members')
  const more = h('button.link', { type: 'button', hidden: true }, 'Load more')
  /** @type {string | null} */
  let next = null
  /** @type {any[]} */
  let candidates = []

  const drawChips = () =>
    fill(
      chips,
      [...chosen.values()].map((m) =>
        h(
          'span.chip',
          m.displayName,
          h(
            'button.icon',
            { type: 'button', 'aria-label': `Remove ${m.displayName}`, onclick: () => toggle(m, false) },
            '✕',
          ),
        ),
      ),
    )
  /** @param {any} m @param {boolean} on */
  const toggle = (m, on) => {
    if (q.single) chosen.clear()
    if (on) chosen.set(m.id, m)
    else chosen.delete(m.id)
    drawChips()
    drawResults()
    q.onchange?.()
  }
  const drawResults = () => {
    const f = /** @type {HTMLInputElement} */ (search).value.trim().toLowerCase()
    const isMi = /** @type {HTMLInputElement} */ (kindMi).checked
    const rows = isMi ? candidates.filter((c) => !f || c.displayName.toLowerCase().includes(f)) : candidates
    fill(
      results,
      rows.length === 0 ? h('p.empty', 'No members found.') : null,
      rows.map((m) =>
        h(
          'label.pick',
          h('input', {
            type: q.single ? 'radio' : 'checkbox',
            name: 'member',
            checked: chosen.has(m.id),
            onchange: (/** @type {Event} */ e) => toggle(m, /** @type {HTMLInputElement} */ (e.target).checked),
          }),
          h('span.name', m.displayName),
          h('small', `${m.kind} · ${m.detail}`),
        ),
      ),
    )
    more.hidden = !next
  }
  let seq = 0
  const load = async (/** @type {boolean} */ reset) => {
    const mine = ++seq
    try {
      const f = /** @type {HTMLInputElement} */ (search).value.trim()
      if (/** @type {HTMLInputElement} */ (kindUsers).checked) {
        next = null
        const filter = f ? `startswith(displayName,${odata(f)})` : ''
        const [users, sps] = await Promise.all([
          graph.get('/v1.0/users', { $top: '20', ...(filter ? { $filter: filter } : {}) }),
          graph.get('/v1.0/servicePrincipals', { $top: '20', ...(filter ? { $filter: filter } : {}) }),
        ])
        if (mine !== seq) return
        candidates = [
          ...(users?.value ?? []).map((/** @type {any} */ u) => ({
            id: u.id,
            displayName: u.displayName || u.userPrincipalName,
            principalType: 'User',
            kind: 'User',
            detail: u.userPrincipalName,
          })),
          ...(sps?.value ?? []).map((/** @type {any} */ s) => ({
            id: s.id,
            displayName: s.displayName,
            principalType: 'ServicePrincipal',
            kind: s.servicePrincipalType === 'ManagedIdentity' ? 'Managed identity' : 'App',
            detail: s.appId,
          })),
        ]
      } else {
        const type = /** @type {HTMLSelectElement} */ (miType).value
        const t = HOST_TYPES.find((x) => x.type === type)
        const page =
          reset || !next
            ? await arm.page(`${scopeOf(q.sub)}/providers/${type}`, t?.api ?? V.mi, { $top: String(PAGE_SIZE) })
            : await arm.page(next)
        if (mine !== seq) return
        next = page.nextLink
        const found = page.value
          .map((/** @type {any} */ r) =>
            type === UAMI
              ? {
                  id: r.properties.principalId,
                  displayName: r.name,
                  principalType: 'ServicePrincipal',
                  kind: 'User-assigned managed identity',
                  detail: parseId(r.id).resourceGroup ?? '',
                }
              : r.identity?.principalId
                ? {
                    id: r.identity.principalId,
                    displayName: r.name,
                    principalType: 'ServicePrincipal',
                    kind: `${t?.label} (system assigned)`,
                    detail: parseId(r.id).resourceGroup ?? '',
                  }
                : null,
          )
          .filter(Boolean)
        candidates = reset ? found : [...candidates, ...found]
      }
      drawResults()
    } catch (e) {
      ctx.error(e)
    }
  }
  let timer = 0
  search.addEventListener('input', () => {
    if (/** @type {HTMLInputElement} */ (kindMi).checked) return drawResults()
    clearTimeout(timer)
    timer = window.setTimeout(() => void load(true), 200)
  })
  const switchKind = () => {
    miType.hidden = !(/** @type {HTMLInputElement} */ (kindMi).checked)
    candidates = []
    void load(true)
  }
  kindUsers.addEventListener('change', switchKind)
  kindMi.addEventListener('change', switchKind)
  miType.addEventListener('change', () => void load(true))
  more.addEventListener('click', () => void load(false))
  void load(true)
  const el = h(
    'div.member-picker',
    h(
      'fieldset.toggle',
      h('legend', q.legend ?? 'Assign access to'),
      h('label', kindUsers, 'User, group, or service principal'),
      h('label', kindMi, 'Managed identity'),
    ),
    miType,
    search,
    results,
    more,
    h('div.field', h('span.label', 'Selected members'), chips),
  )
  return { el, selected: () => [...chosen.values()] }
}

/**
 * The "Add role assignment" pane: role, members, description; one assignment per member.
 * @param {import('../main.js').Ctx} ctx
 * @param {string} scope
 */
async function addAssignment(ctx, scope) {
  const roles = await roleDefinitions(scope).catch((e) => {
    ctx.error(e)
    return null
  })
  if (!roles) return
  const sub = parseId(scope).subscriptionId ?? ctx.sub ?? ''
  const roleFilter = h('input#role-search', {
    type: 'search',
    placeholder: 'Search roles by name',
    'aria-label': 'Search roles',
  })
  const roleSelect = /** @type {HTMLSelectElement} */ (h('select#role', { size: 8, 'aria-label': 'Role' }))
  const roleInfo = h('p.muted.role-info')
  const drawRoles = () => {
    const f = /** @type {HTMLInputElement} */ (roleFilter).value.trim().toLowerCase()
    const keep = roleSelect.value
    fill(
      roleSelect,
      roles
        .filter((d) => !f || d.properties.roleName.toLowerCase().includes(f))
        .map((d) => h('option', { value: d.id, selected: d.id === keep }, d.properties.roleName)),
    )
  }
  roleFilter.addEventListener('input', drawRoles)
  roleSelect.addEventListener('change', () => {
    const d = roles.find((x) => x.id === roleSelect.value)
    fill(
      roleInfo,
      d ? `${d.properties.description} (${d.properties.type === 'CustomRole' ? 'custom role' : 'built-in role'})` : '',
    )
  })
  drawRoles()
  const members = memberPicker(ctx, { sub })
  const description = h('input#assignment-description', { placeholder: 'Optional', 'aria-label': 'Description' })
  const p = panel({
    title: 'Add role assignment',
    body: h(
      'div',
      h('p.muted', `Scope: ${scope}`),
      h('div.field', h('label', { for: 'role-search' }, 'Role'), roleFilter, roleSelect, roleInfo),
      h('div.field', h('span.label', 'Members'), members.el),
      h('div.field', h('label', { for: 'assignment-description' }, 'Description'), description),
    ),
    actions: (close) => [
      h(
        'button.primary#save-assignment',
        {
          type: 'button',
          onclick: async () => {
            const role = roleSelect.value
            const who = members.selected()
            if (!role) return panelError(p.banner, new InputError('Choose a role.'))
            if (who.length === 0) return panelError(p.banner, new InputError('Select at least one member.'))
            const done = []
            try {
              for (const m of who) {
                const text = /** @type {HTMLInputElement} */ (description).value.trim()
                await arm.put(`${scope === '/' ? '' : scope}/providers/${RA}/${crypto.randomUUID()}`, V.authorization, {
                  properties: {
                    roleDefinitionId: role,
                    principalId: m.id,
                    principalType: m.principalType,
                    ...(text ? { description: text } : {}),
                  },
                })
                done.push(m.displayName)
              }
              close()
              const name = roles.find((d) => d.id === role)?.properties.roleName ?? ''
              ctx.reload(`Added ${name} for ${done.join(', ')}.`)
            } catch (e) {
              if (done.length > 0) ctx.info(`Added for ${done.join(', ')}; not for the others.`, 'warning')
              panelError(p.banner, e)
            }
          },
        },
        'Review + assign',
      ),
      h('button', { type: 'button', onclick: close }, 'Cancel'),
    ],
  })
}

/**
 * Check access: pick a principal, see the role assignments that reach this scope, and whether an action is allowed
 * (with the assignment that grants it, or why each assignment considered does not).
 * @param {import('../main.js').Ctx} ctx
 * @param {string} scope
 * @param {HTMLElement} pane
 */
function checkAccess(ctx, scope, pane) {
  const sub = parseId(scope).subscriptionId ?? ctx.sub ?? ''
  const result = h('div#check-result')
  const action = h('input#check-action', { value: readActionOf(scope), 'aria-label': 'Action', list: 'actions' })
  const p = parseId(scope)
  const presets = [
    readActionOf(scope),
    readActionOf(scope).replace(/\/read$/, '/write'),
    readActionOf(scope).replace(/\/read$/, '/delete'),
    `${RA}/write`,
  ]
  if (p.type?.toLowerCase() === UAMI.toLowerCase()) presets.push(`${UAMI}/assign/action`)
  const datalist = h(
    'datalist#actions',
    presets.map((a) => h('option', { value: a })),
  )
  const dataAction = /** @type {HTMLInputElement} */ (h('input#check-data-action', { type: 'checkbox' }))
  const picker = memberPicker(ctx, { sub, single: true, legend: 'Look for', onchange: () => void run() })
  const run = async () => {
    const who = picker.selected()[0]
    if (!who) return fill(result)
    fill(result, h('p.muted', 'Checking…'))
    try {
      const [explain, assigned, roles] = await Promise.all([
        portalApi.get('/access/explain', {
          principal: who.id,
          action: /** @type {HTMLInputElement} */ (action).value.trim(),
          scope,
          ...(dataAction.checked ? { dataAction: 'true' } : {}),
        }),
        arm.all(`${scopeOf(sub)}/providers/${RA}`, V.authorization, { $filter: `assignedTo(${odata(who.id)})` }),
        roleDefinitions(scope),
      ])
      const roleName = new Map(roles.map((d) => [roleGuid(d.id), d.properties.roleName]))
      const here = assigned.filter((a) => within(scope, a.properties.scope))
      fill(
        result,
        h(
          `div.verdict.${explain.allowed ? 'allowed' : 'denied'}`,
          { role: 'status' },
          h('strong', explain.allowed ? 'Allowed' : 'Not allowed'),
          h(
            'span',
            ` ${who.displayName} ${explain.allowed ? 'may' : 'may not'} perform `,
            h('code', explain.action),
            ` at this scope.`,
          ),
          explain.grant
            ? h(
                'p',
                'Granted by ',
                h('strong', explain.grant.roleName),
                ' assigned at ',
                link(resourceHref(explain.grant.assignmentScope, 'iam'), explain.grant.assignmentScope),
                ` (permission ${explain.grant.permission}).`,
              )
            : null,
        ),
        explain.considered?.length
          ? h(
              'div',
              h('h3', 'Assignments considered'),
              table({
                label: 'Assignments considered',
                columns: [
                  { title: 'Role', render: (c) => c.roleName },
                  { title: 'Scope', render: (c) => c.assignmentScope },
                  { title: 'Why it does not grant this', render: (c) => c.reason },
                ],
                rows: explain.considered,
              }).el,
            )
          : null,
        h('h3', `Role assignments of ${who.displayName} at this scope`),
        table({
          label: 'Current role assignments',
          columns: [
            {
              title: 'Role',
              render: (a) => roleName.get(roleGuid(a.properties.roleDefinitionId)) ?? a.properties.roleDefinitionId,
            },
            {
              title: 'Scope',
              render: (a) =>
                sameId(a.properties.scope, scope) ? 'This resource' : scopeLabel(a.properties.scope, scope),
            },
            { title: 'Assigned at', render: (a) => a.properties.scope },
          ],
          rows: here,
          empty: `${who.displayName} has no role assignments at this scope or above.`,
        }).el,
        h('p.muted', 'Principal: ', copyable(who.id)),
      )
    } catch (e) {
      fill(result)
      ctx.error(e)
    }
  }
  action.addEventListener('change', () => void run())
  dataAction.addEventListener('change', () => void run())
  pane.append(
    h(
      'p.muted',
      'Review the level of access a user, group, service principal, or managed identity has to this resource.',
    ),
    h('div.field', h('span.label', 'Find'), picker.el),
    h(
      'div.field',
      h('label', { for: 'check-action' }, 'Action'),
      action,
      datalist,
      h('label.inline', dataAction, 'Data action'),
    ),
    h('button.primary#check', { type: 'button', onclick: () => void run() }, 'Check access'),
    result,
  )
}

/**
 * @param {import('../main.js').Ctx} ctx
 * @param {string} scope
 * @param {HTMLElement} pane
 */
async function rolesTab(ctx, scope, pane) {
  const roles = await roleDefinitions(scope)
  if (ctx.stale()) return
  const search = h('input', { type: 'search', placeholder: 'Search by role name', 'aria-label': 'Search by role name' })
  const view = h('div')
  const draw = () => {
    const f = /** @type {HTMLInputElement} */ (search).value.trim().toLowerCase()
    fill(
      view,
      table({
        label: 'Roles',
        columns: [
          { title: 'Name', render: (d) => d.properties.roleName },
          { title: 'Description', render: (d) => d.properties.description },
          { title: 'Type', render: (d) => (d.properties.type === 'CustomRole' ? 'Custom role' : 'Built-in role') },
        ],
        rows: roles.filter((d) => !f || d.properties.roleName.toLowerCase().includes(f)),
      }).el,
    )
  }
  search.addEventListener('input', draw)
  draw()
  pane.append(h('div.toolbar', search), view)
}
