import type { AuditLog } from '../audit/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { DomainError } from '../kernel/errors.ts'
import type { Ids } from '../kernel/ids.ts'
import { FLAVOURS, type FaultEffect, type FaultMatch, type FaultRequest, type FaultRule } from './model.ts'
import type { FaultStore } from './ports.ts'

export class FaultRuleError extends DomainError<'InvalidFaultRule'> {}

export interface FaultInput {
  match?: FaultMatch
  effect: FaultEffect
  count?: number | null
  probability?: number
  from?: number | null
  until?: number | null
  /** Window length in ms from now (alternative to from/until). */
  forMs?: number
  description?: string | null
}

export interface Faults {
  add(input: FaultInput): Promise<FaultRule>
  list(): Promise<FaultRule[]>
  remove(id: string): Promise<boolean>
  clear(): Promise<number>
  /** The rule to apply to a request, if any (counts and probability already taken into account). */
  pick(req: FaultRequest): Promise<FaultRule | undefined>
  /** Drops the cached rule list (after a change on another node). */
  invalidate(): void
  /** True when it is known (from the cache, without a read) that no rule exists: hot paths may skip `pick`. */
  noRules(): boolean
  /** Null while the cached rule list is current; else a read of the list (hot paths refill the cache with it). */
  refreshIfStale(): Promise<unknown> | null
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Validates a rule from the admin API or a file; throws FaultRuleError with a message naming the field. */
export function parseFaultInput(raw: unknown): FaultInput {
  const bad = (m: string) => new FaultRuleError('InvalidFaultRule', { detail: m, args: { message: m } })
  if (!isObj(raw)) throw bad('a fault rule must be an object')
  const e = raw.effect
  let effect: FaultEffect
  if (typeof e === 'number' || (typeof e === 'string' && /^\d+$/.test(e)))
    effect = { kind: 'status', status: Number(e) as 404 }
  else if (typeof e === 'string') {
    if (e === 'timeout' || e === 'reset' || e === 'malformed') effect = { kind: e }
    else if (/^delay:\d+$/.test(e)) effect = { kind: 'delay', ms: Number(e.slice(6)) }
    else throw bad(`effect '${e}' is not one of 404, 410, 429, 500, 503, delay:<ms>, timeout, reset, malformed`)
  } else if (isObj(e)) effect = e as unknown as FaultEffect
  else throw bad('effect is required')
  if (effect.kind === 'status' && ![404, 410, 429, 500, 503].includes(effect.status))
    throw bad(`status ${effect.status} is not one of 404, 410, 429, 500, 503`)
  if (effect.kind === 'status' && effect.status === 429 && effect.retryAfter === undefined)
    effect = { ...effect, retryAfter: 1 }
  if (effect.kind === 'status' && raw.retryAfter !== undefined)
    effect = { ...effect, retryAfter: Number(raw.retryAfter) }
  if (effect.kind === 'delay' && !(effect.ms >= 0 && effect.ms <= 600_000)) throw bad('delay must be 0–600000 ms')
  const match = (raw.match ?? {}) as FaultMatch
  if (!isObj(match)) throw bad('match must be an object')
  if (match.flavour !== undefined && !(FLAVOURS as readonly string[]).includes(String(match.flavour)))
    throw bad(`flavour must be one of ${FLAVOURS.join(', ')}`)
  const count = raw.count === undefined || raw.count === null ? null : Number(raw.count)
  if (count !== null && !(Number.isInteger(count) && count > 0)) throw bad('count must be a positive integer')
  const probability = raw.probability === undefined ? 1 : Number(raw.probability)
  if (!(probability > 0 && probability <= 1)) throw bad('probability must be in (0, 1]')
  const out: FaultInput = { match, effect, count, probability }
  if (raw.from !== undefined) out.from = Number(raw.from)
  if (raw.until !== undefined) out.until = Number(raw.until)
  if (raw.forMs !== undefined) out.forMs = Number(raw.forMs)
  if (typeof raw.description === 'string') out.description = raw.description
  return out
}

function matches(m: FaultMatch, r: FaultRequest): boolean {
  if (m.flavour && m.flavour !== r.flavour) return false
  if (m.path && !r.path.toLowerCase().startsWith(m.path.toLowerCase())) return false
  if (m.host) {
    const h = m.host.toLowerCase()
    if (h !== (r.host ?? '').toLowerCase() && h !== (r.hostName ?? '').toLowerCase()) return false
  }
  if (m.identity) {
    const i = m.identity.toLowerCase()
    if (!r.identities.some((x) => x.toLowerCase() === i)) return false
  }
  return true
}

export function createFaults(deps: {
  store: FaultStore
  clock: Clock
  ids: Ids
  audit: AuditLog
  random?: () => number
  cacheMs?: number
}): Faults {
  const random = deps.random ?? Math.random
  const cacheMs = deps.cacheMs ?? 1000
  let cache: { at: number; rules: FaultRule[] } | undefined
  const rules = async () => {
    const now = deps.clock.now()
    if (cache && now - cache.at < cacheMs) return cache.rules
    cache = { at: now, rules: await deps.store.listFaultRules() }
    return cache.rules
  }
  const faults: Faults = {
    async add(input) {
      const now = deps.clock.now()
      const r: FaultRule = {
        id: deps.ids.uuid(),
        match: input.match ?? {},
        effect: input.effect,
        remaining: input.count ?? null,
        probability: input.probability ?? 1,
        from: input.from ?? (input.forMs !== undefined ? now : null),
        until: input.until ?? (input.forMs !== undefined ? now + input.forMs : null),
        createdAt: now,
        description: input.description ?? null,
      }
      await deps.store.putFaultRule(r)
      cache = undefined
      deps.audit.record({
        kind: 'admin',
        result: 'success',
        reason: `fault rule added: ${JSON.stringify(r.effect)}`,
        details: { rule: r },
      })
      return r
    },
    list: async () => {
      cache = undefined
      return rules()
    },
    async remove(id) {
      cache = undefined
      return deps.store.deleteFaultRule(id)
    },
    async clear() {
      cache = undefined
      return deps.store.clearFaultRules()
    },
    async pick(req) {
      const list = await rules()
      if (list.length === 0) return undefined
      const now = deps.clock.now()
      for (const r of list) {
        if (r.from !== null && now < r.from) continue
        if (r.until !== null && now >= r.until) continue
        if (r.remaining !== null && r.remaining <= 0) continue
        if (!matches(r.match, req)) continue
        if (r.probability < 1 && random() >= r.probability) continue
        if (r.remaining !== null) {
          if (!(await deps.store.consumeFaultRule(r.id))) continue
          r.remaining -= 1
        }
        deps.audit.record({
          kind: 'fault',
          result: 'success',
          host: req.host,
          reason: `fault applied: ${r.effect.kind === 'status' ? r.effect.status : r.effect.kind}`,
          details: { ruleId: r.id, flavour: req.flavour, path: req.path, effect: r.effect },
        })
        return r
      }
      return undefined
    },
    invalidate() {
      cache = undefined
    },
    noRules() {
      return cache !== undefined && cache.rules.length === 0 && deps.clock.now() - cache.at < cacheMs
    },
    refreshIfStale() {
      return cache !== undefined && deps.clock.now() - cache.at < cacheMs ? null : rules()
    },
  }
  return faults
}
