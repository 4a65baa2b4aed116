// What every data plane's composition needs (src/server/storage.ts, src/server/keyvault.ts): its loopback HTTPS
// listener, a periodic background task, and the fan-out of ARM hooks.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { AccessControl, ArmHooks, ArmStore } from '../arm/index.ts'
import type { AuditLog } from '../audit/index.ts'
import type { TokenVerifier } from '../auth/index.ts'
import type { Config } from '../config/index.ts'
import type { Clock } from '../kernel/clock.ts'
import type { Ids } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import { setRequestMeta } from '../kernel/request-meta.ts'
import type { Database } from '../store/index.ts'

/** What every data plane's composition gets from src/server/index.ts. */
export interface DataPlaneDeps {
  config: Config
  database: Database
  armStore: ArmStore
  access: AccessControl
  verifier: TokenVerifier
  audit: AuditLog
  clock: Clock
  ids: Ids
  logger: Logger
  /** The key-encryption key (secrets at rest, derived keys). */
  kek: Buffer
  tls: { certPem: string; keyPem: string }
}

/** The listen address as it goes into a URL: IPv6 in brackets, the wildcard as loopback. */
export const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host)

export interface Listener {
  /** The port it listens on (the configured one, or the one the system chose for 0). */
  port: number
  /** `https://<host>:<port>`. */
  origin: string
  /** Stops accepting, lets requests in flight finish for `graceMs` (default 10 s), then cuts what is left. */
  close(opts?: { graceMs?: number }): Promise<void>
}

/** A data plane's own HTTPS listener (path-style addressing), started once it listens. */
export async function startListener(q: {
  /** `listener` of the request meta (logs, audit). */
  name: string
  host: string
  port: number
  tls: { certPem: string; keyPem: string }
  /** Uploads of large blobs take longer than node's default 5-minute request timeout: 0 turns it off. */
  requestTimeout?: number
  handle(req: IncomingMessage, res: ServerResponse): void
}): Promise<Listener> {
  const server = createHttpsServer(
    {
      cert: q.tls.certPem,
      key: q.tls.keyPem,
      ...(q.requestTimeout !== undefined ? { requestTimeout: q.requestTimeout } : {}),
    },
    (req, res) => {
      setRequestMeta(req, { scheme: 'https', host: null, listener: q.name })
      q.handle(req, res)
    },
  )
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(q.port, q.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    port,
    origin: `https://${urlHost(q.host)}:${port}`,
    close(o = {}) {
      closing ??= new Promise<void>((resolve) => {
        const t = setTimeout(() => server.closeAllConnections(), o.graceMs ?? 10_000)
        t.unref()
        server.close(() => {
          clearTimeout(t)
          resolve()
        })
        server.closeIdleConnections()
      })
      return closing
    },
  }
}

/**
 * Runs `task` every `everyMs` (and once at once with `atStart`) without keeping the process alive; logs `done` with
 * the counts when any is non-zero, `failed` with the error. Returns what stops it.
 */
export function repeat(q: {
  logger: Logger
  everyMs: number
  atStart?: boolean
  task: () => Promise<Record<string, number>>
  done: string
  failed: string
}): () => void {
  const run = () =>
    void q
      .task()
      .then((r) => {
        if (Object.values(r).some((n) => n !== 0)) q.logger.info(q.done, r)
      })
      .catch((err) => q.logger.warn(q.failed, { err }))
  if (q.atStart) run()
  const timer = setInterval(run, q.everyMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** One set of ARM hooks that calls every set given, in order. */
export function fanOutHooks(sets: readonly ArmHooks[]): ArmHooks {
  return {
    hostChanged: (id) => {
      for (const h of sets) h.hostChanged?.(id)
    },
    identityDeleted: (id) => {
      for (const h of sets) h.identityDeleted?.(id)
    },
    storageKeysChanged: (name) => {
      for (const h of sets) h.storageKeysChanged?.(name)
    },
    resourceDeleted: (r) => {
      for (const h of sets) h.resourceDeleted?.(r)
    },
  }
}
