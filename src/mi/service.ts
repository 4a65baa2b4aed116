import type { AuditLog } from '../audit/index.ts'
import type { DirectoryStore } from '../directory/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { isDomainError } from '../kernel/errors.ts'
import type { Logger } from '../kernel/log.ts'
import type { StsService } from '../sts/index.ts'
import { MiError } from './errors.ts'
import type { Host, HostSource } from './ports.ts'
import { type Selector, selectIdentity } from './selection.ts'

export interface MiToken {
  accessToken: string
  /** Epoch seconds. */
  expiresOn: number
  notBefore: number
  /** The resource as the client asked for it (TOK-003: echoed exactly). */
  resource: string
  clientId: string
  principalId: string
  userAssignedId: string | null
  fromCache: boolean
}

export interface MiSettings {
  lifetimeMs: number
  /** A cached token is reissued when less than this is left (the back end refreshes ahead of expiry). */
  refreshBeforeMs: number
  /** Hosts are re-read from the store at most this often; changes on this node invalidate at once. */
  hostCacheMs: number
  maxCachedTokens: number
}

export interface MiService {
  /** The host, from a short cache (invalidated on every change this node hears of). */
  host(id: string): Promise<Host | undefined>
  /** A token for the identity `selector` names on `host` (the caller is already attributed to the host). */
  acquire(q: {
    host: Host
    selector: Selector
    resource: string
    flavour: string
    requestId: string
    origin: string
  }): Promise<MiToken>
  /** The host if the cache holds it (null: not cached, ask `host`), without a read: the hot path of IMDS. */
  cachedHost(id: string): Host | undefined | null
  /** A cached token that `acquire` would answer with, without any read; undefined when `acquire` must run. */
  cachedToken(q: { host: Host; selector: Selector; resource: string }): MiToken | undefined
  /** Forget a host (identity changed or host deleted). */
  invalidateHost(id: string): void
  /** Evict every cached token of a principal (its identity was deleted or disabled). */
  evictPrincipal(principalId: string): void
  cachedTokens(): number
}

const key = (principalId: string, resource: string) => `${principalId}\u0000${resource}`

export function createMiService(deps: {
  hosts: HostSource
  directory: DirectoryStore
  sts: StsService
  audit: AuditLog
  clock: Clock
  logger: Logger
  settings: MiSettings
}): MiService {
  const { clock, settings } = deps
  const hostCache = new Map<string, { at: number; host: Host | undefined }>()
  const tokens = new Map<string, MiToken>()
  const inflight = new Map<string, Promise<MiToken>>()
  const byPrincipal = new Map<string, Set<string>>()

  function remember(k: string, t: MiToken): void {
    if (tokens.size >= settings.maxCachedTokens) {
      const oldest = tokens.keys().next().value as string
      tokens.delete(oldest)
    }
    tokens.set(k, t)
    let set = byPrincipal.get(t.principalId)
    if (!set) {
      set = new Set()
      byPrincipal.set(t.principalId, set)
    }
    set.add(k)
  }

  /** The cached token under `k` while it is not due for reissue (the back end refreshes ahead of expiry). */
  function fresh(k: string): MiToken | undefined {
    const hit = tokens.get(k)
    if (hit && hit.expiresOn * 1000 - clock.now() > settings.refreshBeforeMs) return { ...hit, fromCache: true }
    return undefined
  }

  return {
    async host(id) {
      const k = id.toLowerCase()
      const hit = hostCache.get(k)
      const now = clock.now()
      if (hit && now - hit.at < settings.hostCacheMs) return hit.host
      const host = await deps.hosts.getHost(id)
      hostCache.set(k, { at: now, host })
      return host
    },

    cachedHost(id) {
      const hit = hostCache.get(id.toLowerCase())
      return hit && clock.now() - hit.at < settings.hostCacheMs ? hit.host : null
    },

    cachedToken(q) {
      return fresh(key(selectIdentity(q.host, q.selector).principalId, q.resource))
    },

    async acquire(q) {
      const sel = selectIdentity(q.host, q.selector)
      const k = key(sel.principalId, q.resource)
      const hit = fresh(k)
      if (hit) return hit
      let p = inflight.get(k)
      if (!p) {
        p = (async () => {
          // A reference to a deleted user-assigned identity stays on the host (PATCH R10) but yields no token.
          const sp = await deps.directory.getServicePrincipal(sel.principalId)
          if (!sp?.accountEnabled)
            throw new MiError('IdentityNotFound', {}, `service principal ${sel.principalId} is gone`)
          try {
            const r = await deps.sts.issueForPrincipal({
              principal: sp,
              resource: q.resource,
              origin: q.origin,
              lifetimeMs: settings.lifetimeMs,
              requestId: q.requestId,
              host: q.host.id,
            })
            const t: MiToken = {
              accessToken: r.accessToken,
              expiresOn: r.expiresOn,
              notBefore: r.notBefore,
              resource: q.resource,
              clientId: sp.appId,
              principalId: sp.objectId,
              userAssignedId: sel.userAssignedId,
              fromCache: false,
            }
            remember(k, t)
            return t
          } catch (e) {
            if (isDomainError(e) && (e.code === 'resourceNotFound' || e.code === 'tenantNotFound'))
              throw new MiError('InvalidResource', { resource: q.resource, tenant: sp.tenantId }, e.code)
            throw e
          }
        })().finally(() => inflight.delete(k))
        inflight.set(k, p)
      }
      return p
    },

    invalidateHost(id) {
      hostCache.delete(id.toLowerCase())
    },

    evictPrincipal(principalId) {
      const set = byPrincipal.get(principalId.toLowerCase())
      if (!set) return
      for (const k of set) tokens.delete(k)
      byPrincipal.delete(principalId.toLowerCase())
    },

    cachedTokens: () => tokens.size,
  }
}
