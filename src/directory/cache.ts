import type { Clock } from '../kernel/clock.ts'
import type { DirectoryStore } from './ports.ts'

/**
 * The reads of every token request (tenant, client application, its service principal, its secrets) served from
 * memory. Any write through this store, any transaction, and `invalidate()` (a change from another node or a
 * snapshot restore) drop the whole cache; entries also expire after `ttlMs`, a bound on staleness should a change
 * notification be lost. A read that was under way while something changed is not cached (a generation counter), nor
 * is "not found". Cached values are frozen: a caller that wants to change one must copy it. The directory service
 * re-reads a client's secrets from `uncached` before it refuses one, so a secret added on another node works at once.
 */
export interface CachedDirectoryStore extends DirectoryStore {
  /** Forgets everything (call when the tables changed behind this store's back). */
  invalidate(): void
  /** The store itself: reads that must see the latest state (a secret that failed to match may be a new one). */
  readonly uncached: DirectoryStore
}

/** The reads on the path of a token request; everything else goes to the store each time. */
const CACHED = new Set<string>([
  'getTenant',
  'getApplicationByAppId',
  'getServicePrincipalByAppId',
  'listPasswordCredentials',
])
const WRITE = /^(put|delete)/
const MAX_ENTRIES = 10_000

function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || Object.isFrozen(v)) return v
  for (const x of Object.values(v as object)) deepFreeze(x)
  return Object.freeze(v)
}

export function cachedDirectoryStore(
  store: DirectoryStore,
  deps: { clock: Clock; ttlMs: number; onWrite?: () => void },
): CachedDirectoryStore {
  const entries = new Map<string, { at: number; value: Promise<unknown> }>()
  let generation = 0
  const invalidate = () => {
    generation++
    entries.clear()
  }
  const changed = () => {
    invalidate()
    deps.onWrite?.()
  }

  const read = (name: string, fn: (...a: unknown[]) => Promise<unknown>) =>
    function cachedRead(...args: unknown[]): Promise<unknown> {
      const key = `${name}\u0000${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join('\u0000')}`
      const now = deps.clock.now()
      const hit = entries.get(key)
      if (hit && now - hit.at < deps.ttlMs) return hit.value
      const started = generation
      const value = fn.apply(store, args).then(deepFreeze)
      // Concurrent callers share the read; a failed read, one overtaken by a change, and "not found" are not kept
      // (an application created on another node must be found at once).
      if (entries.size >= MAX_ENTRIES) entries.clear()
      entries.set(key, { at: now, value })
      value.then(
        (v) => {
          if ((generation !== started || v === undefined) && entries.get(key)?.value === value) entries.delete(key)
        },
        () => {
          if (entries.get(key)?.value === value) entries.delete(key)
        },
      )
      return value
    }

  const write = (fn: (...a: unknown[]) => Promise<unknown>) =>
    async function write(...args: unknown[]): Promise<unknown> {
      try {
        return await fn.apply(store, args)
      } finally {
        changed()
      }
    }

  const out: Record<string, unknown> = {}
  for (const [name, fn] of Object.entries(store) as [string, unknown][]) {
    if (typeof fn !== 'function') continue
    const f = fn as (...a: unknown[]) => Promise<unknown>
    out[name] = CACHED.has(name) ? read(name, f) : WRITE.test(name) ? write(f) : f.bind(store)
  }
  out.transaction = async <T>(fn: (tx: DirectoryStore) => Promise<T>): Promise<T> => {
    try {
      return await store.transaction(fn)
    } finally {
      changed()
    }
  }
  out.invalidate = invalidate
  out.uncached = store
  return out as unknown as CachedDirectoryStore
}
