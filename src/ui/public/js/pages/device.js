// Device sign-in: approve or deny a device code as the signed-in user. The administrator also sees every pending code.
import { ApiError, portalApi } from '../api.js'
import { field, fill, formatTime, h, table } from '../dom.js'

/** @param {import('../main.js').Ctx} ctx */
export async function devicePage(ctx) {
  ctx.title(
    'Device sign-in',
    `Approve a sign-in started on another device (az login --use-device-code, …) as ${ctx.me.userPrincipalName}`,
  )
  ctx.crumbs([['Device sign-in', '']])
  /**
   * @param {string} code
   * @param {'approve' | 'deny'} decision
   */
  const decide = async (code, decision) => {
    try {
      const r = await portalApi.post(`/device/${encodeURIComponent(code)}/${decision}`)
      ctx.info(
        decision === 'approve'
          ? `Code ${r.userCode} approved: the device is signed in as ${r.user}.`
          : `Code ${r.userCode} denied.`,
      )
      await drawPending()
    } catch (e) {
      ctx.error(e)
    }
  }
  const code = h('input#device-code', { autocomplete: 'off', placeholder: 'e.g. ABCD1234', 'aria-label': 'Code' })
  const form = h(
    'form.form.inline-form',
    {
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault()
        const v = /** @type {HTMLInputElement} */ (code).value.trim()
        if (v) void decide(v, 'approve')
      },
    },
    h('h2', 'Enter a code'),
    field('Code', code, 'The code the device or app shows. Only continue if you started this sign-in.'),
    h(
      'div.actions',
      h('button.primary#approve-code', { type: 'submit' }, 'Approve'),
      h(
        'button#deny-code',
        { type: 'button', onclick: () => void decide(/** @type {HTMLInputElement} */ (code).value.trim(), 'deny') },
        'Deny',
      ),
    ),
  )
  ctx.view.append(form)
  const section = h('section.card')
  ctx.view.append(section)
  const drawPending = async () => {
    try {
      const pending = (await portalApi.get('/device'))?.value ?? []
      if (ctx.stale()) return
      fill(
        section,
        h('h2', 'Pending device codes'),
        table({
          label: 'Pending device codes',
          columns: [
            { title: 'Code', render: (d) => h('code', d.userCode) },
            { title: 'Application', render: (d) => d.clientName },
            { title: 'Asked for', render: (d) => d.scope },
            { title: 'Started', render: (d) => formatTime(d.createdAt) },
            { title: 'Expires', render: (d) => formatTime(d.expiresAt) },
            {
              title: '',
              render: (d) =>
                h(
                  'span.actions',
                  h(
                    'button.primary',
                    { type: 'button', 'data-code': d.userCode, onclick: () => void decide(d.userCode, 'approve') },
                    'Approve',
                  ),
                  h(
                    'button',
                    { type: 'button', 'data-deny': d.userCode, onclick: () => void decide(d.userCode, 'deny') },
                    'Deny',
                  ),
                ),
            },
          ],
          rows: pending,
          empty: 'No device sign-in is waiting.',
        }).el,
      )
    } catch (e) {
      if (e instanceof ApiError && e.code === 'AdminOnly')
        fill(
          section,
          h('h2', 'Pending device codes'),
          h('p.muted', 'Only the bootstrap administrator sees the list of pending codes; enter your code above.'),
        )
      else ctx.error(e)
    }
  }
  await drawPending()
}
