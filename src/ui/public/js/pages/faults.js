// Fault rules: make the managed-identity endpoints fail on purpose (list, add, remove, clear).
import { portalApi } from '../api.js'
import { confirm, field, formatTime, h, table } from '../dom.js'
import { parseId } from '../ids.js'

const FLAVOURS = [
  '',
  'imds',
  'instance-metadata',
  'app-service',
  'app-service-2017',
  'cloud-shell',
  'arc',
  'service-fabric',
  'azure-ml',
  'vm-extension',
]
const EFFECTS = [
  ['500', '500 Internal Server Error'],
  ['503', '503 Service Unavailable'],
  ['429', '429 Too Many Requests'],
  ['404', '404 Not Found'],
  ['410', '410 Gone (IMDS restarting)'],
  ['delay', 'Delay'],
  ['timeout', 'Time out (never answer)'],
  ['reset', 'Reset the connection'],
  ['malformed', 'Malformed body'],
]

/** @param {any} e */
const effectText = (e) =>
  e.kind === 'status'
    ? `${e.status}${e.retryAfter !== undefined ? ` (Retry-After ${e.retryAfter}s)` : ''}`
    : e.kind === 'delay'
      ? `delay ${e.ms} ms`
      : e.kind

/** @param {import('../main.js').Ctx} ctx */
export async function faultsPage(ctx) {
  ctx.title('Fault rules', 'Injected failures of the managed-identity endpoints')
  ctx.crumbs([['Fault rules', '']])
  const [rules, hosts] = await Promise.all([
    portalApi.get('/faults'),
    portalApi.get('/hosts').catch(() => ({ value: [] })),
  ])
  if (ctx.stale()) return
  const list = rules?.value ?? []
  const remove = h('button#remove-faults', { type: 'button', disabled: true }, 'Remove')
  const t = table({
    label: 'Fault rules',
    select: 'multi',
    columns: [
      { title: 'Effect', render: (r) => effectText(r.effect) },
      {
        title: 'Host',
        render: (r) =>
          r.match.host ? h('span', { title: r.match.host }, parseId(r.match.host).name ?? r.match.host) : 'Any',
      },
      { title: 'Endpoint', render: (r) => r.match.flavour ?? 'Any' },
      { title: 'Path', render: (r) => r.match.path ?? 'Any' },
      { title: 'Identity', render: (r) => r.match.identity ?? 'Any' },
      { title: 'Remaining', render: (r) => (r.remaining === null ? 'Unlimited' : String(r.remaining)) },
      { title: 'Probability', render: (r) => `${Math.round(r.probability * 100)} %` },
      { title: 'Until', render: (r) => (r.until ? formatTime(r.until) : '—') },
      { title: 'Description', render: (r) => r.description ?? '' },
    ],
    rows: list,
    empty: 'No fault rules: every endpoint answers normally.',
    onselect: (rows) => remove.toggleAttribute('disabled', rows.length === 0),
  })
  remove.addEventListener('click', async () => {
    try {
      for (const r of t.selected()) await portalApi.del(`/faults/${encodeURIComponent(r.id)}`)
      ctx.reload()
    } catch (e) {
      ctx.error(e)
    }
  })
  const clear = h('button#clear-faults', { type: 'button', disabled: list.length === 0 }, 'Clear all')
  clear.addEventListener('click', async () => {
    if (!(await confirm({ title: 'Clear fault rules', message: `Remove all ${list.length} fault rules?` }))) return
    try {
      await portalApi.del('/faults')
      ctx.reload('Fault rules cleared.')
    } catch (e) {
      ctx.error(e)
    }
  })

  const host = h(
    'select#fault-host',
    {},
    h('option', { value: '' }, 'Any host'),
    (hosts?.value ?? []).map((/** @type {any} */ x) => h('option', { value: x.id }, x.name)),
  )
  const flavour = h(
    'select#fault-flavour',
    {},
    FLAVOURS.map((f) => h('option', { value: f }, f || 'Any endpoint')),
  )
  const path = h('input#fault-path', { placeholder: 'e.g. /metadata/identity/oauth2/token' })
  const identity = h('input#fault-identity', { placeholder: 'client id, object id or resource id' })
  const effect = h(
    'select#fault-effect',
    {},
    EFFECTS.map(([v, label]) => h('option', { value: v }, label)),
  )
  const delay = h('input#fault-delay', { type: 'number', min: '0', max: '600000', value: '2000' })
  const count = h('input#fault-count', { type: 'number', min: '1', placeholder: 'Unlimited' })
  const probability = h('input#fault-probability', { type: 'number', min: '1', max: '100', value: '100' })
  const description = h('input#fault-description', {})
  const form = h(
    'form.form.inline-form',
    {
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault()
        ctx.clear()
        const v = (/** @type {HTMLElement} */ el) => /** @type {HTMLInputElement} */ (el).value.trim()
        /** @type {Record<string, unknown>} */
        const match = {}
        if (v(host)) match.host = v(host)
        if (v(flavour)) match.flavour = v(flavour)
        if (v(path)) match.path = v(path)
        if (v(identity)) match.identity = v(identity)
        /** @type {Record<string, unknown>} */
        const rule = {
          match,
          effect: v(effect) === 'delay' ? `delay:${v(delay) || '0'}` : v(effect),
          probability: Number(v(probability) || '100') / 100,
        }
        if (v(count)) rule.count = Number(v(count))
        if (v(description)) rule.description = v(description)
        try {
          await portalApi.post('/faults', rule)
          ctx.reload('Fault rule added.')
        } catch (err) {
          ctx.error(err)
        }
      },
    },
    h('h2', 'Add a fault rule'),
    h(
      'div.grid',
      field('Host', host),
      field('Endpoint', flavour),
      field('Path prefix', path),
      field('Identity', identity),
      field('Effect', effect),
      field('Delay (ms)', delay, 'For the Delay effect'),
      field('Times', count),
      field('Probability (%)', probability),
      field('Description', description),
    ),
    h('div.actions', h('button.primary#add-fault', { type: 'submit' }, 'Add rule')),
  )
  ctx.view.append(h('div.toolbar', remove, clear), t.el, form)
}
