// DOM helpers. Text always goes in as text nodes (never parsed as HTML), so nothing a server returns can become markup.

/** @typedef {string | number | Node | null | undefined | false | ReadonlyArray<any>} Child */
/** @typedef {Record<string, unknown>} Props */

/**
 * `h('button.primary', { onclick }, 'Save')`: an element with classes (`.a.b`), an id (`#x`), attributes and
 * event handlers (`on…` functions), and children (strings become text).
 * @param {string} spec
 * @param {Props | Child} [props]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(spec, props, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(spec)
  const el = document.createElement(m?.[1] || 'div')
  for (const part of (m?.[2] ?? '').match(/[.#][\w-]+/g) ?? []) {
    if (part[0] === '.') el.classList.add(part.slice(1))
    else el.id = part.slice(1)
  }
  const isProps = props !== null && typeof props === 'object' && !(props instanceof Node) && !Array.isArray(props)
  if (isProps) {
    for (const [k, v] of Object.entries(/** @type {Props} */ (props))) {
      if (v === undefined || v === null || v === false) continue
      if (k.startsWith('on') && typeof v === 'function')
        el.addEventListener(k.slice(2), /** @type {EventListener} */ (v))
      else if (k === 'class') el.classList.add(...String(v).split(/\s+/).filter(Boolean))
      else if (k === 'value' && 'value' in el) /** @type {HTMLInputElement} */ (el).value = String(v)
      else if (k === 'checked' && 'checked' in el) /** @type {HTMLInputElement} */ (el).checked = Boolean(v)
      else el.setAttribute(k, v === true ? '' : String(v))
    }
  } else if (props !== undefined) children.unshift(/** @type {Child} */ (props))
  append(el, children)
  return el
}

/**
 * @param {Node} el
 * @param {Child[]} children
 */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)))
  }
}

/**
 * Replaces the children of `el`.
 * @param {Node} el
 * @param {...Child} children
 */
export function fill(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild)
  append(el, children)
  return el
}

/** A hash link. @param {string} href @param {...Child} children */
export const link = (href, ...children) => h('a', { href }, ...children)

/** A value with a copy button (ids the seed's pages show: client id, object id…). @param {string} value */
export function copyable(value) {
  const btn = h('button.icon.copy', { type: 'button', title: 'Copy to clipboard', 'aria-label': 'Copy to clipboard' })
  btn.addEventListener('click', () => {
    void navigator.clipboard?.writeText(value).then(
      () => {
        btn.classList.add('copied')
        setTimeout(() => btn.classList.remove('copied'), 1200)
      },
      () => {},
    )
  })
  return h('span.copyable', h('code', value), btn)
}

/**
 * A definition list of label → value rows (the "Essentials" of a resource).
 * @param {[string, Child][]} rows
 */
export function essentials(rows) {
  return h(
    'dl.essentials',
    rows.map(([k, v]) => [h('dt', k), h('dd', v === null || v === undefined || v === '' ? '—' : v)]),
  )
}

/**
 * @template T
 * @typedef {{ title: string, render: (row: T) => Child }} Column
 */

/**
 * A table; with `select` each row gets a checkbox (multi) or radio (single) and `selected()` returns the rows.
 * @template T
 * @param {{ columns: Column<T>[], rows: T[], select?: 'multi' | 'single', empty?: string, label?: string,
 *   disabled?: (row: T) => string | null, onselect?: (rows: T[]) => void }} q
 */
export function table(q) {
  /** @type {Set<T>} */
  const chosen = new Set()
  const name = `sel-${Math.random().toString(36).slice(2)}`
  const head = h(
    'tr',
    q.select ? h('th.select') : null,
    q.columns.map((c) => h('th', c.title)),
  )
  const body = h('tbody')
  const addRows = (/** @type {T[]} */ rows) => {
    for (const r of rows) {
      const why = q.disabled?.(r) ?? null
      const box = q.select
        ? h('input', {
            type: q.select === 'multi' ? 'checkbox' : 'radio',
            name,
            disabled: why !== null,
            title: why ?? undefined,
            'aria-label': 'Select row',
            onchange: (/** @type {Event} */ e) => {
              const on = /** @type {HTMLInputElement} */ (e.target).checked
              if (q.select === 'single') chosen.clear()
              if (on) chosen.add(r)
              else chosen.delete(r)
              q.onselect?.([...chosen])
            },
          })
        : null
      body.appendChild(
        h(
          'tr',
          box ? h('td.select', box) : null,
          q.columns.map((c) => h('td', c.render(r))),
        ),
      )
    }
  }
  addRows(q.rows)
  const el = h(
    'div.table-wrap',
    h('table', q.label ? { 'aria-label': q.label } : {}, h('thead', head), body),
    q.rows.length === 0 ? h('p.empty', q.empty ?? 'No items.') : null,
  )
  return {
    el,
    selected: () => [...chosen],
    /** Appends rows (the next page). @param {T[]} rows */
    add(rows) {
      el.querySelector('p.empty')?.remove()
      addRows(rows)
    },
  }
}

/**
 * A modal "Yes / No" question, as the portal asks before removing anything.
 * @param {{ title: string, message: string, yes?: string, no?: string }} q
 * @returns {Promise<boolean>}
 */
export function confirm(q) {
  return new Promise((resolve) => {
    const dlg = /** @type {HTMLDialogElement} */ (
      h(
        'dialog.confirm',
        { 'aria-label': q.title },
        h('h2', q.title),
        h('p', q.message),
        h(
          'div.actions',
          h('button.primary', { type: 'button', onclick: () => done(true) }, q.yes ?? 'Yes'),
          h('button', { type: 'button', onclick: () => done(false) }, q.no ?? 'No'),
        ),
      )
    )
    const done = (/** @type {boolean} */ v) => {
      dlg.close()
      dlg.remove()
      resolve(v)
    }
    dlg.addEventListener('cancel', () => done(false))
    document.body.appendChild(dlg)
    dlg.showModal()
  })
}

/**
 * A side panel (the portal's context pane) with a title, a body and actions; resolves when it closes.
 * @param {{ title: string, body: Child, actions?: (close: () => void) => Child, label?: string }} q
 */
export function panel(q) {
  const dlg = /** @type {HTMLDialogElement} */ (h('dialog.panel', { 'aria-label': q.label ?? q.title }))
  const close = () => {
    dlg.close()
    dlg.remove()
  }
  const banner = h('div.panel-banner', { role: 'alert' })
  append(dlg, [
    h(
      'header',
      h('h2', q.title),
      h('button.icon', { type: 'button', 'aria-label': 'Close', title: 'Close', onclick: close }, '✕'),
    ),
    banner,
    h('div.panel-body', q.body),
    q.actions ? h('footer', q.actions(close)) : null,
  ])
  dlg.addEventListener('cancel', close)
  document.body.appendChild(dlg)
  dlg.showModal()
  return { el: dlg, close, banner }
}

/** @param {number} ms */
export function formatTime(ms) {
  const d = new Date(ms)
  const pad = (/** @type {number} */ n, w = 2) => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** A labelled form field. @param {string} label @param {HTMLElement} input @param {string} [hint] */
export function field(label, input, hint) {
  if (!input.id) input.id = `f-${Math.random().toString(36).slice(2)}`
  return h('div.field', h('label', { for: input.id }, label), input, hint ? h('small.hint', hint) : null)
}
