// Sign-in: authorization code with PKCE against azid's own token service, as a public client (the portal's first-party
// client id). Tokens live in sessionStorage (this tab only) and are renewed with the refresh token, which, as in
// Entra, is good for every resource: one sign-in gives ARM and Graph tokens.

export const CLIENT_ID = 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c'
const AUTHORITY = 'organizations'
/** @type {Record<Resource, string>} */
const SCOPES = {
  arm: 'https://management.azure.com/.default',
  graph: 'https://graph.microsoft.com/.default',
}
const SESSION_KEY = 'azid.portal.session'
const PENDING_KEY = 'azid.portal.pending'
/** Renew this long before expiry. */
const MARGIN_MS = 120_000

/** @typedef {'arm' | 'graph'} Resource */
/** @typedef {{ token: string, expiresAt: number }} CachedToken */
/**
 * @typedef {{ refreshToken: string, tenantId: string, account: { oid: string, upn: string, name: string },
 *   tokens: Partial<Record<Resource, CachedToken>> }} Session
 */

/** The session ended and cannot be renewed (refresh refused, storage cleared): the page must offer a sign-in. */
export class SessionLost extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'SessionLost'
  }
}

export const redirectUri = () => `${location.origin}/portal/`

/** @param {Uint8Array} bytes */
const b64url = (bytes) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

/** @param {number} n */
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)))

/**
 * The claims of a JWT, decoded locally (never verified here: the services verify).
 * @param {string} jwt
 * @returns {Record<string, unknown>}
 */
export function claimsOf(jwt) {
  const part = jwt.split('.')[1] ?? ''
  const text = atob(
    part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '='),
  )
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))))
}

/** @returns {Session | null} */
export function session() {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY)
    return raw ? JSON.parse(raw) : null
  } catch {
    return null
  }
}

/** @param {Session | null} s */
function save(s) {
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s))
  else sessionStorage.removeItem(SESSION_KEY)
}

/**
 * Goes to the sign-in page; after sign-in the portal comes back to `returnTo` (a hash route).
 * @param {{ returnTo?: string, loginHint?: string }} [q]
 */
export async function signIn(q = {}) {
  const verifier = random(32)
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))))
  const state = random(16)
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, returnTo: q.returnTo ?? location.hash }))
  const p = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: redirectUri(),
    response_mode: 'query',
    scope: `${SCOPES.arm} offline_access openid profile`,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  if (q.loginHint) p.set('login_hint', q.loginHint)
  location.assign(`/${AUTHORITY}/oauth2/v2.0/authorize?${p}`)
}

export function signOut() {
  save(null)
  sessionStorage.removeItem(PENDING_KEY)
}

/**
 * @param {string} tenant
 * @param {Record<string, string>} form
 */
async function tokenRequest(tenant, form) {
  const res = await fetch(`/${encodeURIComponent(tenant)}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  })
  /** @type {Record<string, unknown>} */
  let body = {}
  try {
    body = await res.json()
  } catch {
    // not JSON: reported below
  }
  if (!res.ok || typeof body.access_token !== 'string') {
    const why = typeof body.error_description === 'string' ? body.error_description.split(/\r?\n/)[0] : res.statusText
    throw new SessionLost(why || `The token service answered ${res.status}.`)
  }
  return /** @type {{ access_token: string, refresh_token?: string, id_token?: string, expires_in: number }} */ (body)
}

/**
 * Finishes a sign-in when the page is the redirect target (`?code=…&state=…`). Returns the hash route to show, or
 * null when this load is not a sign-in answer. Throws SessionLost when the answer is refused.
 * @returns {Promise<string | null>}
 */
export async function completeSignIn() {
  const q = new URLSearchParams(location.search)
  if (!q.has('code') && !q.has('error')) return null
  // The code must not stay in the address bar or the history.
  history.replaceState(null, '', `${location.pathname}${location.hash}`)
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null')
  sessionStorage.removeItem(PENDING_KEY)
  if (q.has('error')) throw new SessionLost(q.get('error_description') ?? q.get('error') ?? 'Sign-in failed.')
  if (!pending || pending.state !== q.get('state'))
    throw new SessionLost('The sign-in answer does not match a sign-in this tab started. Sign in again.')
  const t = await tokenRequest(AUTHORITY, {
    grant_type: 'authorization_code',
    client_id: CLIENT_ID,
    code: q.get('code') ?? '',
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
    scope: `${SCOPES.arm} offline_access openid profile`,
  })
  const c = claimsOf(t.access_token)
  const id = t.id_token ? claimsOf(t.id_token) : c
  if (!t.refresh_token) throw new SessionLost('The token service gave no refresh token.')
  save({
    refreshToken: t.refresh_token,
    tenantId: String(c.tid),
    account: {
      oid: String(c.oid),
      upn: String(id.preferred_username ?? c.upn ?? c.unique_name ?? ''),
      name: String(id.name ?? c.name ?? ''),
    },
    tokens: { arm: { token: t.access_token, expiresAt: Date.now() + t.expires_in * 1000 } },
  })
  return pending.returnTo || '#/'
}

/** @type {Partial<Record<Resource, Promise<string>>>} */
const inflight = {}

/**
 * An access token for `resource`: the cached one, or a new one from the refresh token.
 * @param {Resource} resource
 * @param {{ force?: boolean }} [opts]
 * @returns {Promise<string>}
 */
export function token(resource, opts = {}) {
  const s = session()
  if (!s) return Promise.reject(new SessionLost('You are signed out.'))
  const cached = s.tokens[resource]
  if (!opts.force && cached && cached.expiresAt - MARGIN_MS > Date.now()) return Promise.resolve(cached.token)
  const running = inflight[resource]
  if (running) return running
  const p = (async () => {
    try {
      const t = await tokenRequest(s.tenantId, {
        grant_type: 'refresh_token',
        client_id: CLIENT_ID,
        refresh_token: s.refreshToken,
        scope: `${SCOPES[resource]} offline_access`,
      })
      const now = session()
      if (!now) throw new SessionLost('You are signed out.')
      now.tokens[resource] = { token: t.access_token, expiresAt: Date.now() + t.expires_in * 1000 }
      if (t.refresh_token) now.refreshToken = t.refresh_token
      save(now)
      return t.access_token
    } finally {
      delete inflight[resource]
    }
  })()
  inflight[resource] = p
  return p
}
