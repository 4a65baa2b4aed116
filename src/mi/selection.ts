import { MiError } from './errors.ts'
import type { Host } from './ports.ts'

export interface Selector {
  clientId?: string
  objectId?: string
  resourceId?: string
}

export interface SelectedIdentity {
  principalId: string
  clientId: string
  /** ARM id of the user-assigned identity, or null for the system-assigned one. */
  userAssignedId: string | null
}

/** Reads the selector parameters of a request; at most one may be present (IMDS-006). */
export function readSelector(
  params: URLSearchParams,
  names: { clientId: string[]; objectId: string[]; resourceId: string[] },
): Selector {
  // Loops, not flatMap/filter: this runs on every IMDS request.
  let count = 0
  const pick = (keys: string[]): string | undefined => {
    let found: string | undefined
    for (const k of keys)
      for (const v of params.getAll(k))
        if (v !== '') {
          if (found !== undefined) throw new MiError('MultipleSelectors')
          found = v
        }
    if (found !== undefined) count++
    return found
  }
  const s: Selector = {}
  const c = pick(names.clientId)
  const o = pick(names.objectId)
  const r = pick(names.resourceId)
  if (count > 1) throw new MiError('MultipleSelectors')
  if (c !== undefined) s.clientId = c
  if (o !== undefined) s.objectId = o
  if (r !== undefined) s.resourceId = r
  return s
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The FAQ's rules (IMDS-007, FAQ-002): a selector picks the identity attached to this host that it names; without one,
 * the system-assigned identity, else the only user-assigned one, else the request must say which.
 */
export function selectIdentity(host: Host, s: Selector): SelectedIdentity {
  const id = host.identity
  const sys = id?.system ?? null
  const users = id?.user ?? []
  const user = (u: (typeof users)[number]): SelectedIdentity => ({
    principalId: u.principalId,
    clientId: u.clientId,
    userAssignedId: u.id,
  })
  const system = (x: NonNullable<typeof sys>): SelectedIdentity => ({
    principalId: x.principalId,
    clientId: x.clientId,
    userAssignedId: null,
  })
  if (s.clientId !== undefined) {
    if (!GUID.test(s.clientId)) throw new MiError('InvalidSelector', { name: 'client_id' })
    const k = s.clientId.toLowerCase()
    if (sys && sys.clientId === k) return system(sys)
    const u = users.find((x) => x.clientId.toLowerCase() === k)
    if (u) return user(u)
    throw new MiError('IdentityNotFound')
  }
  if (s.objectId !== undefined) {
    if (!GUID.test(s.objectId)) throw new MiError('InvalidSelector', { name: 'object_id' })
    const k = s.objectId.toLowerCase()
    if (sys && sys.principalId === k) return system(sys)
    const u = users.find((x) => x.principalId.toLowerCase() === k)
    if (u) return user(u)
    throw new MiError('IdentityNotFound')
  }
  if (s.resourceId !== undefined) {
    const k = s.resourceId.trim().toLowerCase().replace(/\/+$/, '')
    if (!k.startsWith('/subscriptions/')) throw new MiError('InvalidSelector', { name: 'mi_res_id' })
    const u = users.find((x) => x.id.toLowerCase() === k)
    if (u) return user(u)
    throw new MiError('IdentityNotFound')
  }
  if (sys) return system(sys)
  if (users.length === 1) return user(users[0] as (typeof users)[number])
  if (users.length === 0) throw new MiError('NoIdentity')
  throw new MiError('AmbiguousIdentity')
}
