import type { IncomingMessage } from 'node:http'

/** What the listener knows about a request: the scheme it was served with and the emulated host it came from. */
export interface RequestMeta {
  scheme: 'http' | 'https'
  /** ARM id of the emulated host the connection belongs to (namespace socket or per-host listener), if any. */
  host: string | null
  /** Name of the listener, for logs. */
  listener: string
}

/** Kept on the request object under a private symbol (a WeakMap entry per request costs more: ephemeron GC work). */
const META = Symbol('azid.requestMeta')
type WithMeta = IncomingMessage & { [META]?: RequestMeta }

export function setRequestMeta(req: IncomingMessage, meta: RequestMeta): void {
  ;(req as WithMeta)[META] = meta
}

/** Reads the meta of a request served by @hono/node-server (`c.env.incoming`), or a default for in-process tests. */
export function requestMeta(env: unknown, url: string): RequestMeta {
  const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming
  const m = incoming ? (incoming as WithMeta)[META] : undefined
  if (m) return m
  return { scheme: url.startsWith('https:') ? 'https' : 'http', host: null, listener: 'in-process' }
}

const HOST_RE = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i

/** The origin the client used: scheme from the listener, host and port from the Host header (validated). */
export function requestOrigin(meta: RequestMeta, hostHeader: string | undefined, fallbackHost: string): string {
  const h = hostHeader && HOST_RE.test(hostHeader) ? hostHeader.toLowerCase() : fallbackHost
  const defaultPort = meta.scheme === 'https' ? ':443' : ':80'
  return `${meta.scheme}://${h.endsWith(defaultPort) ? h.slice(0, -defaultPort.length) : h}`
}
