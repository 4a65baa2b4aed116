// A user-assigned identity's federated credentials: list, add, delete.
import { V, arm } from '../api.js'
import { confirm, field, h, panel, table } from '../dom.js'
import { panelError } from './resource-groups.js'

const DEFAULT_AUDIENCE = 'api://AzureADTokenExchange'

/**
 * @param {import('../main.js').Ctx} ctx
 * @param {import('./resource.js').Loaded} r
 * @param {HTMLElement} el
 */
export async function federatedCredentials(ctx, r, el) {
  const base = `${r.id}/federatedIdentityCredentials`
  const list = await arm.all(base, V.mi)
  if (ctx.stale()) return
  const del = h('button#delete-credential', { type: 'button', disabled: true }, 'Delete')
  const t = table({
    label: 'Federated credentials',
    select: 'multi',
    columns: [
      { title: 'Name', render: (c) => c.name },
      { title: 'Issuer', render: (c) => c.properties.issuer },
      { title: 'Subject identifier', render: (c) => c.properties.subject },
      { title: 'Audience', render: (c) => (c.properties.audiences ?? []).join(', ') },
    ],
    rows: list,
    empty:
      'No federated credentials. Add one to let a workload outside Azure (Kubernetes, GitHub Actions, another IdP) get tokens for this identity.',
    onselect: (rows) => del.toggleAttribute('disabled', rows.length === 0),
  })
  del.addEventListener('click', async () => {
    const rows = t.selected()
    if (
      !(await confirm({
        title: 'Delete federated credential',
        message: `Delete ${rows.map((c) => c.name).join(', ')}? Workloads using ${rows.length > 1 ? 'them' : 'it'} can no longer get tokens.`,
      }))
    )
      return
    try {
      for (const c of rows) await arm.del(`${base}/${encodeURIComponent(c.name)}`, V.mi)
      ctx.reload()
    } catch (e) {
      ctx.error(e)
    }
  })
  const add = h('button.primary#add-credential', { type: 'button' }, '+ Add credential')
  add.addEventListener('click', () => {
    const name = h('input', { name: 'name', required: true, autocomplete: 'off' })
    const issuer = h('input', { name: 'issuer', required: true, placeholder: 'https://…', autocomplete: 'off' })
    const subject = h('input', {
      name: 'subject',
      required: true,
      placeholder: 'system:serviceaccount:<namespace>:<name>',
      autocomplete: 'off',
    })
    const audience = h('input', { name: 'audience', value: DEFAULT_AUDIENCE, autocomplete: 'off' })
    const p = panel({
      title: 'Add a federated credential',
      body: h(
        'form',
        field('Name', name),
        field('Issuer URL', issuer),
        field('Subject identifier', subject),
        field('Audience', audience),
      ),
      actions: (close) => [
        h(
          'button.primary',
          {
            type: 'button',
            onclick: async () => {
              const n = /** @type {HTMLInputElement} */ (name).value.trim()
              try {
                await arm.put(`${base}/${encodeURIComponent(n)}`, V.mi, {
                  properties: {
                    issuer: /** @type {HTMLInputElement} */ (issuer).value.trim(),
                    subject: /** @type {HTMLInputElement} */ (subject).value.trim(),
                    audiences: [/** @type {HTMLInputElement} */ (audience).value.trim() || DEFAULT_AUDIENCE],
                  },
                })
                close()
                ctx.reload()
              } catch (e) {
                panelError(p.banner, e)
              }
            },
          },
          'Add',
        ),
        h('button', { type: 'button', onclick: close }, 'Cancel'),
      ],
    })
  })
  el.append(h('div.toolbar', add, del), t.el)
}
