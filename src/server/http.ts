import type { IncomingMessage, ServerResponse } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import type { FastAnswer, FastDeferred, FastRequest } from '../kernel/fast-http.ts'
import { type RequestMeta, setRequestMeta } from '../kernel/request-meta.ts'

export type FetchHandler = (req: Request, env: unknown) => Response | Promise<Response>

/** One surface of azid (token service, ARM, admin…) and which requests it serves. */
export interface Surface {
  name: string
  /** Serves the request when it returns true. `host` is the Host header without port, lower case. */
  matches(q: { host: string; path: string }): boolean
  /** A Hono app's fetch, or `raw` for surfaces that answer on node:http directly (managed-identity endpoints). */
  fetch?: FetchHandler
  raw?: (req: IncomingMessage, res: ServerResponse) => void
  /** Hand the surface the URL exactly as sent, not normalised (Storage signs the path as sent). */
  rawUrl?: boolean
  /**
   * A route of the surface served on node:http directly (the token endpoints): asked after the surface is chosen;
   * `handle` may still pass the request to the surface's `fetch` by calling `fallback`.
   */
  fast?: {
    matches(method: string | undefined, path: string): boolean
    handle(req: IncomingMessage, res: ServerResponse, fallback: () => void): void
    /** The same route for a listener's fast lane: `url` normalised; null leaves the request to node:http. */
    fast?(req: FastRequest, url: string, meta: RequestMeta, keepAliveS: number): FastDeferred | null
  }
}

/**
 * Collapses repeated slashes (az appends "/" + "/metadata…", arm-authorization sends "//subscriptions…";
 * clients.md §9) and drops a trailing slash, keeping the query untouched.
 */
export function normalizeUrl(url: string): string {
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  const query = q < 0 ? '' : url.slice(q)
  let p = path.replace(/\/{2,}/g, '/')
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1)
  return p + query
}

/** A node request listener that tags each request with its listener's meta and hands it to the first matching surface. */
export function createDispatcher(q: {
  surfaces: readonly Surface[]
  meta: RequestMeta
  notFound: FetchHandler
}): (req: IncomingMessage, res: ServerResponse) => void {
  const listeners = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>()
  for (const s of q.surfaces) {
    if (s.raw) listeners.set(s.name, s.raw)
    else if (s.fetch) {
      const l = getRequestListener(s.fetch)
      listeners.set(s.name, (req, res) => void l(req, res))
    }
  }
  const fallback = getRequestListener(q.notFound)
  return (req, res) => {
    setRequestMeta(req, q.meta)
    const sent = req.url ?? '/'
    req.url = normalizeUrl(sent)
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
    const path = req.url.split('?')[0] as string
    const surface = q.surfaces.find((s) => s.matches({ host, path }))
    if (surface?.rawUrl) req.url = sent
    const listener = surface ? listeners.get(surface.name) : undefined
    if (listener && surface?.fast?.matches(req.method, path)) surface.fast.handle(req, res, () => listener(req, res))
    else if (listener) listener(req, res)
    else void fallback(req, res)
  }
}

/**
 * The fast-lane counterpart of createDispatcher (kernel/fast-http.ts): the same surface choice, and the request is the
 * lane's only when the chosen surface has a fast route for it; everything else stays with node:http.
 */
export function createFastDispatcher(q: {
  surfaces: readonly Surface[]
  meta: RequestMeta
  keepAliveMs: number
}): FastAnswer {
  const keepAliveS = Math.round(q.keepAliveMs / 1000)
  return (req) => {
    if (req.method !== 'POST') return null
    const url = normalizeUrl(req.target)
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
    const path = url.split('?')[0] as string
    const surface = q.surfaces.find((s) => s.matches({ host, path }))
    const fast = surface?.fast
    if (!fast?.fast || surface?.rawUrl || !fast.matches(req.method, path)) return null
    return fast.fast(req, url, q.meta, keepAliveS)
  }
}
