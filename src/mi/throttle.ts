/**
 * IMDS's published per-VM limits, enforced only with `mi.throttling: realistic`: the identity category allows
 * 20 requests per second and 5 at once; other categories 5 per second (ERR-004; docs/wire/mi-endpoints.md).
 */
export interface Throttle {
  /** Takes a slot; returns a release function, or null when the request must be answered 429. */
  enter(hostKey: string, category: 'identity' | 'other'): (() => void) | null
}

export function createThrottle(q: { mode: 'off' | 'realistic'; now: () => number }): Throttle {
  if (q.mode === 'off') return { enter: () => () => {} }
  const limits = { identity: { rps: 20, concurrent: 5 }, other: { rps: 5, concurrent: Number.POSITIVE_INFINITY } }
  const state = new Map<string, { tokens: number; at: number; active: number }>()
  return {
    enter(hostKey, category) {
      const l = limits[category]
      const k = `${category}:${hostKey}`
      const now = q.now()
      let s = state.get(k)
      if (!s) {
        s = { tokens: l.rps, at: now, active: 0 }
        state.set(k, s)
      }
      // Token bucket refilled continuously at `rps`, holding at most one second's worth.
      s.tokens = Math.min(l.rps, s.tokens + ((now - s.at) / 1000) * l.rps)
      s.at = now
      if (s.tokens < 1 || s.active >= l.concurrent) return null
      s.tokens -= 1
      s.active += 1
      const st = s
      let released = false
      return () => {
        if (!released) {
          released = true
          st.active -= 1
        }
      }
    },
  }
}
