// The portal shell: sign-in, the chrome (top bar, navigation, banner), the hash router and the context pages get.
import { ApiError, Unreachable, arm, portalApi, V } from './api.js'
import { SessionLost, completeSignIn, session, signIn, signOut, token } from './auth.js'
import { fill, h, link } from './dom.js'
import { InputError, StaleError } from './errors.js'
import { devicePage } from './pages/device.js'
import { enterpriseApps, servicePrincipalPage } from './pages/enterprise-apps.js'
import { faultsPage } from './pages/faults.js'
import { home } from './pages/home.js'
import { createHost, hostsList } from './pages/hosts.js'
import { createIdentity, identitiesList } from './pages/identities.js'
import { logsPage } from './pages/logs.js'
import { resourceGroupsList } from './pages/resource-groups.js'
import { resourcePage } from './pages/resource.js'
import { tokenDecoder } from './pages/token.js'

/**
 * What a page gets: its element, the chrome, and the signed-in world.
 * @typedef {{
 *   view: HTMLElement,
 *   params: URLSearchParams,
 *   title: (title: string, subtitle?: string) => void,
 *   crumbs: (items: [string, string][]) => void,
 *   error: (e: unknown) => void,
 *   info: (message: string, kind?: 'info' | 'success' | 'warning') => void,
 *   clear: () => void,
 *   stale: () => boolean,
 *   painted: () => void,
 *   ready: () => void,
 *   sub: string | null,
 *   subscriptions: any[],
 *   me: { principalId: string, userPrincipalName: string, name: string, admin: boolean },
 *   reload: (message?: string) => void,
 * }} Ctx
 */

/** @type {{ pattern: RegExp, page: (ctx: Ctx, m: RegExpExecArray) => Promise<void> | void }[]} */
const ROUTES = [
  { pattern: /^\/?$/, page: home },
  { pattern: /^\/resourceGroups$/, page: resourceGroupsList },
  {
    pattern: /^\/resource(\/.+)\/([a-z-]+)$/,
    page: (ctx, m) => resourcePage(ctx, decodeURI(m[1] ?? ''), m[2] ?? 'overview'),
  },
  { pattern: /^\/hosts$/, page: hostsList },
  { pattern: /^\/create\/host$/, page: createHost },
  { pattern: /^\/identities$/, page: identitiesList },
  { pattern: /^\/create\/identity$/, page: createIdentity },
  { pattern: /^\/enterpriseApps$/, page: enterpriseApps },
  { pattern: /^\/servicePrincipals\/([0-9a-f-]{36})$/i, page: (ctx, m) => servicePrincipalPage(ctx, m[1] ?? '') },
  { pattern: /^\/logs$/, page: logsPage },
  { pattern: /^\/device$/, page: devicePage },
  { pattern: /^\/faults$/, page: faultsPage },
  { pattern: /^\/token$/, page: tokenDecoder },
]

const NAV = [
  ['Home', '#/'],
  ['Resource groups', '#/resourceGroups'],
  ['Virtual machines and hosts', '#/hosts'],
  ['Managed Identities', '#/identities'],
  ['Subscription access (IAM)', null],
  ['Enterprise applications', '#/enterpriseApps'],
  ['Sign-in and activity logs', '#/logs'],
  ['Device sign-in', '#/device'],
  ['Fault rules', '#/faults'],
  ['Token decoder', '#/token'],
]

const root = /** @type {HTMLElement} */ (document.getElementById('app'))
let generation = 0
/** A message to show on the next page (after a write that reloads it). @type {string | null} */
let flash = null
let paintedGen = -1
/** @type {{ me: Ctx['me'], subscriptions: any[], sub: string | null } | null} */
let world = null

/** The page that replaces everything when the session is gone: what happened, and a way back in. */
function lostSession(/** @type {string} */ message, /** @type {string} */ returnTo) {
  generation++
  const s = session()
  const hint = s?.account.upn
  signOut()
  for (const d of document.querySelectorAll('dialog')) d.remove()
  document.title = 'Sign in — azid portal'
  fill(
    root,
    h(
      'main.signin',
      h(
        'section.card',
        { role: 'alert', 'aria-live': 'assertive' },
        h('h1', 'Your session has ended'),
        h('p', message),
        h('p', 'Sign in again to continue where you were.'),
        h(
          'button.primary#sign-in',
          { type: 'button', onclick: () => void signIn({ returnTo, ...(hint ? { loginHint: hint } : {}) }) },
          'Sign in',
        ),
      ),
    ),
  )
  document.body.dataset.ready = 'signin'
}

/** Builds the chrome once per sign-in. */
function shell() {
  const me = /** @type {NonNullable<typeof world>} */ (world).me
  const subs = /** @type {NonNullable<typeof world>} */ (world).subscriptions
  const subSelect = h(
    'select#subscription',
    {
      'aria-label': 'Subscription',
      onchange: (/** @type {Event} */ e) => {
        const v = /** @type {HTMLSelectElement} */ (e.target).value
        sessionStorage.setItem('azid.portal.sub', v)
        if (world) world.sub = v
        buildNav()
        void route()
      },
    },
    subs.map((s) =>
      h(
        'option',
        { value: s.subscriptionId, selected: s.subscriptionId === world?.sub },
        `${s.displayName} (${s.subscriptionId})`,
      ),
    ),
  )
  const nav = h('nav#nav', { 'aria-label': 'Portal' })
  const buildNav = () => {
    fill(
      nav,
      h(
        'ul',
        NAV.map(([label, href]) => {
          const target = href ?? (world?.sub ? `#/resource/subscriptions/${world.sub}/iam` : '#/')
          return h('li', link(target, /** @type {string} */ (label)))
        }),
      ),
    )
  }
  buildNav()
  fill(
    root,
    h(
      'header#top',
      h('a.brand', { href: '#/' }, 'azid portal'),
      subs.length > 0 ? subSelect : h('span.muted', 'No subscriptions'),
      h(
        'div.account',
        h('span#account-name', { title: me.principalId }, me.userPrincipalName || me.name),
        me.admin ? h('span.badge', 'Administrator') : null,
        h(
          'button#sign-out',
          {
            type: 'button',
            onclick: () => {
              signOut()
              world = null
              generation++
              fill(
                root,
                h(
                  'main.signin',
                  h(
                    'section.card',
                    h('h1', 'You signed out'),
                    h(
                      'button.primary#sign-in',
                      { type: 'button', onclick: () => void signIn({ returnTo: '#/' }) },
                      'Sign in',
                    ),
                  ),
                ),
              )
            },
          },
          'Sign out',
        ),
      ),
    ),
    h(
      'div#body',
      nav,
      h(
        'main#main',
        h('ol#crumbs', { 'aria-label': 'Breadcrumb' }),
        h('div#banner', { role: 'alert', 'aria-live': 'polite' }),
        h('h1#title'),
        h('p#subtitle.muted'),
        h('div#view'),
      ),
    ),
  )
}

/**
 * The banner under the title: the service's own message, with what it means for the user.
 * @param {unknown} e
 * @param {number} gen
 */
function showError(e, gen) {
  if (gen !== generation) return
  if (e instanceof SessionLost) return lostSession(e.message, location.hash)
  const banner = document.getElementById('banner')
  if (!banner) return
  let title = 'Something went wrong'
  let message = e instanceof Error ? e.message : String(e)
  let code = ''
  /** @type {HTMLElement | null} */
  let action = null
  if (e instanceof ApiError) {
    code = `${e.service} ${e.status} ${e.code}`
    if (e.status === 409 && e.code === 'RoleAssignmentExists') title = 'This role assignment already exists'
    else if (e.status === 409 || e.status === 412) {
      title = 'The resource changed since this page was loaded'
      message = `${e.message} Refresh to see its current state, then make your change again.`
      action = h('button', { type: 'button', onclick: () => route() }, 'Refresh')
    } else if (e.status === 403) title = 'You do not have access'
    else if (e.status === 404) title = 'Not found'
    else if (e.status === 400) title = 'The request was refused'
    else if (e.status >= 500) title = `${e.service} had a problem`
    else title = 'The request failed'
  } else if (e instanceof StaleError) {
    title = 'The resource changed since this page was loaded'
    action = h('button', { type: 'button', onclick: () => route() }, 'Refresh')
  } else if (e instanceof Unreachable) title = 'azid is not answering'
  else if (e instanceof InputError) title = 'Check your input'
  else console.error(e)
  fill(banner, h('div.message.error', h('strong', title), h('p', message), code ? h('small.code', code) : null, action))
  banner.scrollIntoView?.({ block: 'nearest' })
}

/**
 * @param {string} message
 * @param {'info' | 'success' | 'warning'} kind
 * @param {number} gen
 */
function showInfo(message, kind, gen) {
  if (gen !== generation) return
  const banner = document.getElementById('banner')
  if (banner) fill(banner, h(`div.message.${kind}`, h('p', message)))
}

async function route() {
  if (!world) return
  const gen = ++generation
  performance.mark(`nav-${gen}`)
  document.body.dataset.ready = ''
  const raw = location.hash.replace(/^#/, '') || '/'
  const [path = '/', query = ''] = raw.split('?')
  // Panels belong to the page they were opened on.
  for (const d of document.querySelectorAll('dialog')) d.remove()
  const view = /** @type {HTMLElement} */ (document.getElementById('view'))
  const fresh = h('div#view')
  view.replaceWith(fresh)
  for (const id of ['banner', 'crumbs', 'title', 'subtitle'])
    fill(/** @type {HTMLElement} */ (document.getElementById(id)))
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.getAttribute('href') === `#${raw}`)
  if (flash) showInfo(flash, 'success', gen)
  flash = null
  const found = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m)
  /** @type {Ctx} */
  const ctx = {
    view: fresh,
    params: new URLSearchParams(query),
    title(t, sub) {
      if (gen !== generation) return
      document.title = `${t} — azid portal`
      fill(/** @type {HTMLElement} */ (document.getElementById('title')), t)
      fill(/** @type {HTMLElement} */ (document.getElementById('subtitle')), sub ?? '')
    },
    crumbs(items) {
      if (gen !== generation) return
      fill(
        /** @type {HTMLElement} */ (document.getElementById('crumbs')),
        [['Home', '#/'], ...items].map(([label, href]) => h('li', href ? link(href, label) : label)),
      )
    },
    error: (e) => showError(e, gen),
    info: (m, kind = 'success') => showInfo(m, kind, gen),
    clear: () => {
      if (gen === generation) fill(/** @type {HTMLElement} */ (document.getElementById('banner')))
    },
    stale: () => gen !== generation,
    // First content on screen (a page that fills in parts later calls this before they arrive).
    painted() {
      if (gen !== generation || paintedGen === gen) return
      paintedGen = gen
      performance.measure(`paint:${path}`, `nav-${gen}`)
    },
    // Everything the page asked for is on screen.
    ready() {
      if (gen !== generation) return
      this.painted()
      performance.measure(`page:${path}`, `nav-${gen}`)
      document.body.dataset.ready = path
    },
    sub: world.sub,
    subscriptions: world.subscriptions,
    me: world.me,
    reload: (message) => {
      flash = message ?? null
      void route()
    },
  }
  if (!found) {
    ctx.title('Not found')
    ctx.error(new InputError(`The portal has no page at #${raw}.`))
    ctx.ready()
    return
  }
  try {
    await found.r.page(ctx, /** @type {RegExpExecArray} */ (found.m))
  } catch (e) {
    ctx.error(e)
  }
  ctx.ready()
}

async function start() {
  let returnTo = null
  try {
    returnTo = await completeSignIn()
  } catch (e) {
    return lostSession(e instanceof Error ? e.message : String(e), '#/')
  }
  if (!session()) {
    // First visit in this tab: straight to the sign-in page, as the Azure portal does.
    await signIn({ returnTo: location.hash || '#/' })
    return
  }
  try {
    await token('arm')
    const [me, subs] = await Promise.all([portalApi.get('/session'), arm.get('/subscriptions', V.subscriptions)])
    const subscriptions = subs?.value ?? []
    const saved = sessionStorage.getItem('azid.portal.sub')
    const sub =
      subscriptions.find((/** @type {any} */ s) => s.subscriptionId === saved)?.subscriptionId ??
      subscriptions[0]?.subscriptionId ??
      null
    world = { me, subscriptions, sub }
  } catch (e) {
    if (e instanceof SessionLost) return lostSession(e.message, location.hash)
    fill(
      root,
      h(
        'main.signin',
        h(
          'section.card',
          { role: 'alert' },
          h('h1', 'The portal could not start'),
          h('p', e instanceof Error ? e.message : String(e)),
          h('button.primary', { type: 'button', onclick: () => location.reload() }, 'Try again'),
        ),
      ),
    )
    return
  }
  shell()
  if (returnTo !== null && returnTo !== location.hash) location.hash = returnTo
  else void route()
}

window.addEventListener('hashchange', () => void route())
window.addEventListener('unhandledrejection', (ev) => {
  if (ev.reason instanceof SessionLost) lostSession(ev.reason.message, location.hash)
})
void start()
