// Token decoder: reads a JWT's header and claims in this browser. The token is never sent anywhere.
import { token } from '../auth.js'
import { fill, formatTime, h } from '../dom.js'

/** What the claims azid issues mean (Entra's meanings). @type {Record<string, string>} */
const CLAIMS = {
  aud: 'Audience: the resource the token is for',
  iss: 'Issuer: the token service and tenant that signed it',
  iat: 'Issued at',
  nbf: 'Not valid before',
  exp: 'Expires at',
  aio: 'Internal (Entra uses it to reuse the session)',
  appid: 'Client application id (v1 tokens)',
  azp: 'Client application id (v2 tokens)',
  appidacr: 'How the client authenticated: 0 public, 1 secret, 2 certificate or managed identity',
  azpacr: 'How the client authenticated: 0 public, 1 secret, 2 certificate or managed identity',
  idp: 'Identity provider that authenticated the subject',
  idtyp: 'Kind of token subject: app or user',
  oid: 'Object id of the principal (the managed identity’s principal id)',
  rh: 'Internal (refresh hint)',
  sub: 'Subject: the principal, unique per application',
  tid: 'Tenant id',
  uti: 'Token id (unique)',
  ver: 'Token format version',
  xms_mirid: 'Managed identity resource id (the identity the token was issued for)',
  xms_az_rid: 'Host resource id the managed identity token was requested from',
  xms_tcdt: 'Tenant creation time',
  scp: 'Delegated scopes granted to the client',
  roles: 'Application roles granted',
  upn: 'User principal name',
  unique_name: 'User name',
  name: 'Display name',
  preferred_username: 'User name',
  amr: 'Authentication methods',
  ipaddr: 'IP address the user signed in from',
  wids: 'Directory role template ids',
  groups: 'Group object ids',
  acr: 'Authentication context class',
  nonce: 'Nonce from the sign-in request',
}
const TIMES = new Set(['iat', 'nbf', 'exp', 'xms_tcdt'])

/** @param {string} part */
function decodePart(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/')
  const text = atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='))
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))))
}

/** @param {Record<string, unknown>} obj @param {boolean} claims */
function claimTable(obj, claims) {
  return h(
    'table.claims',
    h('thead', h('tr', h('th', 'Claim'), h('th', 'Value'), h('th', 'Meaning'))),
    h(
      'tbody',
      Object.entries(obj).map(([k, v]) => {
        let shown = typeof v === 'string' ? v : JSON.stringify(v)
        if (claims && TIMES.has(k) && typeof v === 'number') shown = `${v} (${formatTime(v * 1000)})`
        return h(
          'tr',
          { 'data-claim': k },
          h('td', h('code', k)),
          h('td.value', shown),
          h('td.muted', claims ? (CLAIMS[k] ?? '') : ''),
        )
      }),
    ),
  )
}

/** @param {import('../main.js').Ctx} ctx */
export function tokenDecoder(ctx) {
  ctx.title('Token decoder', 'Decoded in this browser only: the token is not sent anywhere')
  ctx.crumbs([['Token decoder', '']])
  const input = /** @type {HTMLTextAreaElement} */ (
    h('textarea#token-input', {
      rows: 6,
      spellcheck: 'false',
      placeholder: 'Paste a token (eyJ…)',
      'aria-label': 'Token',
    })
  )
  const out = h('div#token-output')
  const decode = () => {
    const raw = input.value.trim().replace(/^Bearer\s+/i, '')
    if (!raw) return fill(out)
    const parts = raw.split('.')
    try {
      if (parts.length !== 3) throw new Error(`A JWT has three parts separated by dots; this has ${parts.length}.`)
      const header = decodePart(parts[0] ?? '')
      const payload = decodePart(parts[1] ?? '')
      const now = Date.now() / 1000
      const exp = typeof payload.exp === 'number' ? payload.exp : null
      const nbf = typeof payload.nbf === 'number' ? payload.nbf : null
      const state =
        exp !== null && exp < now ? 'Expired' : nbf !== null && nbf > now ? 'Not yet valid' : 'Within its lifetime'
      fill(
        out,
        h(
          'p',
          h(`span.status.${state === 'Within its lifetime' ? 'success' : 'failure'}#token-state`, state),
          ' · The signature is not checked here; services check it against the token service’s keys.',
        ),
        h('h2', 'Header'),
        claimTable(header, false),
        h('h2', 'Claims'),
        claimTable(payload, true),
      )
    } catch (e) {
      fill(
        out,
        h(
          'div.message.error',
          { role: 'alert' },
          h('strong', 'This is not a token the decoder can read'),
          h('p', e instanceof Error ? e.message : String(e)),
        ),
      )
    }
  }
  input.addEventListener('input', decode)
  const mine = (/** @type {'arm' | 'graph'} */ r) => async () => {
    try {
      input.value = await token(r)
      decode()
    } catch (e) {
      ctx.error(e)
    }
  }
  ctx.view.append(
    input,
    h(
      'div.toolbar',
      h('button', { type: 'button', onclick: mine('arm') }, 'Decode my ARM token'),
      h('button', { type: 'button', onclick: mine('graph') }, 'Decode my Graph token'),
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            input.value = ''
            decode()
          },
        },
        'Clear',
      ),
    ),
    out,
  )
}
