// The portal's HTTP clients: ARM, Microsoft Graph and the admin API's portal door (/_azid/portal), all on this origin.
// Errors keep the service's own code and message (what the user is shown); 401 renews the token once.
import { SessionLost, token } from './auth.js'

/** api-versions the portal sends, per provider (the ones current az and SDKs send). */
export const V = {
  resources: '2022-09-01',
  subscriptions: '2022-12-01',
  mi: '2023-01-31',
  compute: '2024-11-01',
  authorization: '2022-04-01',
  web: '2023-12-01',
  aci: '2023-05-01',
  arc: '2024-07-10',
  storage: '2024-01-01',
  keyVault: '2024-11-01',
  cosmos: '2024-05-15',
}

/** A refusal from a service, with its own code and message. */
export class ApiError extends Error {
  /**
   * @param {{ service: string, status: number, code: string, message: string, method: string, url: string }} q
   */
  constructor(q) {
    super(q.message)
    this.name = 'ApiError'
    this.service = q.service
    this.status = q.status
    this.code = q.code
    this.method = q.method
    this.url = q.url
  }
}

/** Fetch failed before any answer (azid stopped, network down). */
export class Unreachable extends Error {
  /** @param {string} url */
  constructor(url) {
    super(
      `azid did not answer (${new URL(url, location.origin).pathname}). Is it running? Check the connection and try again.`,
    )
    this.name = 'Unreachable'
  }
}

/**
 * @param {'arm' | 'graph'} resource
 * @param {string} service
 * @param {string} method
 * @param {string} url same-origin URL
 * @param {{ body?: unknown, headers?: Record<string, string> }} [opts]
 */
async function call(resource, service, method, url, opts = {}) {
  const target = new URL(url, location.origin)
  // Tokens go to this origin only (nextLinks come from the server; a foreign one is refused, not followed).
  if (target.origin !== location.origin)
    throw new ApiError({
      service,
      status: 0,
      code: 'ForeignLink',
      message: `Refusing to follow ${target.origin}.`,
      method,
      url,
    })
  for (let attempt = 0; ; attempt++) {
    const t = await token(resource, { force: attempt > 0 })
    /** @type {Record<string, string>} */
    const headers = { authorization: `Bearer ${t}`, ...opts.headers }
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    let res
    try {
      res = await fetch(target, {
        method,
        headers,
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      })
    } catch {
      throw new Unreachable(url)
    }
    if (res.status === 401 && attempt === 0) continue
    const text = await res.text()
    /** @type {any} */
    let body = null
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      body = null
    }
    if (res.ok) return { status: res.status, body, headers: res.headers }
    const err = body?.error
    if (res.status === 401 && attempt > 0)
      throw new SessionLost(err?.message ?? 'The service no longer accepts your sign-in.')
    throw new ApiError({
      service,
      status: res.status,
      code: typeof err?.code === 'string' ? err.code : String(res.status),
      message:
        typeof err?.message === 'string' && err.message
          ? err.message
          : `${service} answered ${res.status} ${res.statusText || ''}`.trim(),
      method,
      url,
    })
  }
}

/**
 * @param {string} path
 * @param {string} apiVersion
 * @param {Record<string, string>} [query]
 */
export function armUrl(path, apiVersion, query = {}) {
  const u = new URL(path, location.origin)
  u.searchParams.set('api-version', apiVersion)
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v)
  return u.toString()
}

export const arm = {
  /** @param {string} path @param {string} v @param {Record<string, string>} [query] */
  get: (path, v, query) => call('arm', 'ARM', 'GET', armUrl(path, v, query)).then((r) => r.body),
  /** @param {string} path @param {string} v @param {unknown} body */
  put: (path, v, body) => call('arm', 'ARM', 'PUT', armUrl(path, v), { body }).then((r) => r.body),
  /** @param {string} path @param {string} v @param {unknown} body */
  patch: (path, v, body) => call('arm', 'ARM', 'PATCH', armUrl(path, v), { body }).then((r) => r.body),
  /** @param {string} path @param {string} v */
  del: (path, v) => call('arm', 'ARM', 'DELETE', armUrl(path, v)).then((r) => r.status),
  /**
   * One page of a list: `{ value, nextLink }` (ARM pages with `$top` and `$skiptoken` links).
   * @param {string} pathOrNext a path (with `v`) or a nextLink
   * @param {string} [v]
   * @param {Record<string, string>} [query]
   * @returns {Promise<{ value: any[], nextLink: string | null }>}
   */
  async page(pathOrNext, v, query) {
    const url = v === undefined ? pathOrNext : armUrl(pathOrNext, v, query)
    const r = await call('arm', 'ARM', 'GET', url)
    return { value: r.body?.value ?? [], nextLink: r.body?.nextLink ?? null }
  },
  /**
   * Every page of a list (for small lists: role definitions, resource groups).
   * @param {string} path @param {string} v @param {Record<string, string>} [query]
   */
  async all(path, v, query) {
    /** @type {any[]} */
    const out = []
    let p = await arm.page(path, v, query)
    out.push(...p.value)
    while (p.nextLink) {
      p = await arm.page(p.nextLink)
      out.push(...p.value)
    }
    return out
  },
}

export const graph = {
  /** @param {string} path @param {Record<string, string>} [query] */
  get(path, query = {}) {
    const u = new URL(path, location.origin)
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v)
    return call('graph', 'Microsoft Graph', 'GET', u.toString()).then((r) => r.body)
  },
  /** @param {string} path @param {unknown} body */
  post: (path, body) => call('graph', 'Microsoft Graph', 'POST', path, { body }).then((r) => r.body),
}

/** OData string literal. @param {string} s */
export const odata = (s) => `'${s.replace(/'/g, "''")}'`

/** The admin API through the portal's door (the server checks the signed-in user; no admin key here). */
export const portalApi = {
  /** @param {string} path @param {Record<string, string>} [query] */
  get(path, query = {}) {
    const u = new URL(`/_azid/portal${path}`, location.origin)
    for (const [k, v] of Object.entries(query)) if (v !== '') u.searchParams.set(k, v)
    return call('arm', 'azid', 'GET', u.toString()).then((r) => r.body)
  },
  /** @param {string} path @param {unknown} [body] */
  post: (path, body) => call('arm', 'azid', 'POST', `/_azid/portal${path}`, { body: body ?? {} }).then((r) => r.body),
  /** @param {string} path */
  del: (path) => call('arm', 'azid', 'DELETE', `/_azid/portal${path}`).then((r) => r.body),
  /**
   * Server-sent events from `path`, read with fetch (EventSource cannot send a bearer token). Calls `onEvent` for
   * each event until `signal` aborts or the server ends the stream; resolves then.
   * @param {string} path
   * @param {Record<string, string>} query
   * @param {(type: string, data: any) => void} onEvent
   * @param {AbortSignal} signal
   */
  async stream(path, query, onEvent, signal) {
    const u = new URL(`/_azid/portal${path}`, location.origin)
    for (const [k, v] of Object.entries(query)) if (v !== '') u.searchParams.set(k, v)
    const t = await token('arm')
    let res
    try {
      res = await fetch(u, { headers: { authorization: `Bearer ${t}`, accept: 'text/event-stream' }, signal })
    } catch {
      if (signal.aborted) return
      throw new Unreachable(u.toString())
    }
    if (!res.ok || !res.body) {
      /** @type {any} */
      let body = null
      try {
        body = await res.json()
      } catch {
        body = null
      }
      if (res.status === 401) {
        await token('arm', { force: true })
        return
      }
      throw new ApiError({
        service: 'azid',
        status: res.status,
        code: body?.error?.code ?? String(res.status),
        message: body?.error?.message ?? `azid answered ${res.status}`,
        method: 'GET',
        url: u.toString(),
      })
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buf = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        buf += value
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          let type = 'message'
          let data = ''
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) type = line.slice(7)
            else if (line.startsWith('data: ')) data += line.slice(6)
          }
          if (data) onEvent(type, JSON.parse(data))
        }
      }
    } catch (e) {
      if (signal.aborted) return
      throw e
    }
  },
}
