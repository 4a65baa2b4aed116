// Sign-in and activity logs: every token issued or refused, every authorization decision, fault and change; filtered
// by principal, host, audience and result; new entries stream in while the page is open.
import { portalApi } from '../api.js'
import { principalNames } from '../data.js'
import { fill, formatTime, h } from '../dom.js'
import { parseId } from '../ids.js'

const KINDS = [
  ['', 'All'],
  ['token', 'Sign-ins (tokens)'],
  ['authorization', 'Authorization decisions'],
  ['admin', 'Changes'],
  ['fault', 'Injected faults'],
]
const AUDIENCES = [
  '',
  'https://management.azure.com',
  'https://management.azure.com/',
  'https://management.core.windows.net/',
  'https://graph.microsoft.com',
  'https://storage.azure.com',
  'https://vault.azure.net',
]
const FILTERS = ['kind', 'result', 'principal', 'host', 'audience']
const LIMIT = 100

/** @param {import('../main.js').Ctx} ctx */
export async function logsPage(ctx) {
  ctx.title('Sign-in and activity logs', 'Tokens issued and refused, authorization decisions, changes and faults')
  ctx.crumbs([['Sign-in and activity logs', '']])
  /** @type {Record<string, string>} */
  const f = Object.fromEntries(FILTERS.map((k) => [k, ctx.params.get(k) ?? '']))
  const live = ctx.params.get('live') !== 'off'
  const [first, hosts] = await Promise.all([
    portalApi.get('/logs', { ...f, limit: String(LIMIT) }),
    portalApi.get('/hosts').catch(() => ({ value: [] })),
  ])
  if (ctx.stale()) return
  /** @type {Map<string, string>} */
  const hostNames = new Map((hosts?.value ?? []).map((/** @type {any} */ x) => [x.id, x.name]))

  const apply = (/** @type {Record<string, string>} */ changes) => {
    const p = new URLSearchParams()
    for (const [k, v] of Object.entries({ ...f, live: live ? '' : 'off', ...changes })) if (v) p.set(k, v)
    location.hash = `#/logs?${p}`
  }
  const select = (/** @type {string} */ key, /** @type {string[][]} */ options, /** @type {string} */ label) =>
    h(
      `select#filter-${key}`,
      {
        'aria-label': label,
        onchange: (/** @type {Event} */ e) => apply({ [key]: /** @type {HTMLSelectElement} */ (e.target).value }),
      },
      options.map(([v, text]) => h('option', { value: v, selected: v === f[key] }, text)),
    )
  const principal = h('input#filter-principal', {
    type: 'search',
    value: f.principal,
    placeholder: 'Principal object id',
    'aria-label': 'Principal',
  })
  principal.addEventListener('change', () =>
    apply({ principal: /** @type {HTMLInputElement} */ (principal).value.trim() }),
  )
  const audience = h('input#filter-audience', {
    type: 'search',
    value: f.audience,
    list: 'audiences',
    placeholder: 'Audience',
    'aria-label': 'Audience',
  })
  audience.addEventListener('change', () =>
    apply({ audience: /** @type {HTMLInputElement} */ (audience).value.trim() }),
  )
  const status = h('span#live-status', { class: live ? 'live' : 'paused' }, live ? 'Live' : 'Paused')
  const toggle = h(
    'button#live-toggle',
    { type: 'button', onclick: () => apply({ live: live ? 'off' : '' }) },
    live ? 'Pause' : 'Resume live updates',
  )
  ctx.view.append(
    h(
      'div.toolbar.filters',
      select('kind', KINDS, 'Kind'),
      select(
        'result',
        [
          ['', 'Any result'],
          ['success', 'Success'],
          ['failure', 'Failure'],
        ],
        'Result',
      ),
      principal,
      select(
        'host',
        [
          ['', 'Any host'],
          ...[...hostNames].map(([id, name]) => [id, `${name} (${parseId(id).type?.split('/').pop()})`]),
        ],
        'Host',
      ),
      audience,
      h(
        'datalist#audiences',
        AUDIENCES.filter(Boolean).map((a) => h('option', { value: a })),
      ),
      status,
      toggle,
    ),
  )

  const body = h('tbody')
  /** @type {any[]} */
  const shown = []
  let newest = 0
  const names = new Map()
  /** What the Principal column shows: the directory name over the object id. */
  const principalCell = (/** @type {string | null} */ id) => {
    if (!id) return []
    const n = names.get(id)
    return n ? [h('strong', n), h('small', id)] : [h('small', id)]
  }
  const resolveNames = async (/** @type {any[]} */ events) => {
    const ids = [...new Set(events.map((e) => e.principalId).filter((x) => x && !names.has(x)))]
    if (ids.length === 0) return
    try {
      const m = await principalNames(ids)
      for (const id of ids) {
        const p = m.get(id)
        if (p && p.kind !== 'Unknown') names.set(id, p.displayName)
      }
    } catch {
      // names are a convenience; ids stay
    }
  }
  const row = (/** @type {any} */ e) => {
    const details = h(
      'tr.details',
      { hidden: true },
      h('td', { colspan: '8' }, h('pre.json', JSON.stringify(e, null, 2))),
    )
    const tr = h(
      'tr',
      {
        class: `result-${e.result}`,
        'data-seq': String(e.seq),
        tabindex: '0',
        onclick: () => {
          details.hidden = !details.hidden
        },
      },
      h('td', formatTime(e.at)),
      h('td', e.kind),
      h('td', h(`span.status.${e.result}`, e.result === 'success' ? 'Success' : 'Failure')),
      h(
        'td',
        e.principalId ? { 'data-principal': e.principalId } : {},
        h('span.principal', principalCell(e.principalId)),
      ),
      h('td', e.host ? (hostNames.get(e.host) ?? parseId(e.host).name ?? e.host) : ''),
      h('td', e.audience ?? ''),
      h('td', e.grantType ?? e.clientId ?? ''),
      h('td', [e.errorCode, e.reason].filter(Boolean).join(': ')),
    )
    return [tr, details]
  }
  const add = (/** @type {any[]} */ events, /** @type {boolean} */ atTop) => {
    for (const e of events) {
      if (e.seq > newest) newest = e.seq
      shown.push(e)
    }
    const rows = events.flatMap(row)
    if (atTop) body.prepend(...rows)
    else body.append(...rows)
    empty.hidden = shown.length > 0
  }
  const empty = h('p.empty', 'No events match these filters.')
  await resolveNames(first?.value ?? [])
  if (ctx.stale()) return
  add(first?.value ?? [], false)
  ctx.view.append(
    h(
      'div.table-wrap',
      h(
        'table#log-table',
        { 'aria-label': 'Sign-in and activity log' },
        h(
          'thead',
          h(
            'tr',
            ['Time', 'Kind', 'Result', 'Principal', 'Host', 'Audience', 'Grant / client', 'Reason'].map((t) =>
              h('th', t),
            ),
          ),
        ),
        body,
      ),
      empty,
    ),
  )
  if (!live) return
  // Live: server-sent events after the newest entry shown; reconnects while the page stays open.
  const ac = new AbortController()
  window.addEventListener('hashchange', () => ac.abort(), { once: true })
  void (async () => {
    while (!ctx.stale() && !ac.signal.aborted) {
      try {
        await portalApi.stream(
          '/logs/stream',
          { ...f, after: String(newest) },
          (type, data) => {
            if (type === 'ready') status.classList.add('connected')
            if (type !== 'audit' || ctx.stale()) return
            add([data], true)
            const id = data.principalId
            if (id && !names.has(id))
              void resolveNames([data]).then(() => {
                for (const td of body.querySelectorAll(`td[data-principal="${CSS.escape(id)}"]`))
                  fill(td, h('span.principal', principalCell(id)))
              })
          },
          ac.signal,
        )
      } catch (e) {
        if (ctx.stale()) return
        fill(status, 'Disconnected')
        ctx.error(e)
        await new Promise((r) => setTimeout(r, 5000))
        fill(status, 'Live')
      }
      await new Promise((r) => setTimeout(r, 500))
    }
  })()
}
