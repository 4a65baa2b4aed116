/** Fault injection: rules that make the managed-identity endpoints (and other surfaces) misbehave on purpose. */

export const FLAVOURS = [
  'imds',
  'instance-metadata',
  'app-service',
  'app-service-2017',
  'cloud-shell',
  'arc',
  'service-fabric',
  'azure-ml',
  'vm-extension',
] as const
export type Flavour = (typeof FLAVOURS)[number]

export type FaultEffect =
  | { kind: 'status'; status: 404 | 410 | 429 | 500 | 503; retryAfter?: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'timeout' }
  | { kind: 'reset' }
  | { kind: 'malformed' }

export interface FaultMatch {
  /** ARM id or name of the host (case-insensitive). */
  host?: string
  flavour?: Flavour
  /** Path prefix, e.g. `/metadata/identity`. */
  path?: string
  /** Client id, object id or resource id of the identity asked for. */
  identity?: string
}

export interface FaultRule {
  id: string
  match: FaultMatch
  effect: FaultEffect
  /** Applies this many times, then stops (null: unlimited). */
  remaining: number | null
  /** Applies to this share of matching requests (0–1]. */
  probability: number
  /** Active window, epoch ms (null: open). */
  from: number | null
  until: number | null
  createdAt: number
  description: string | null
}

export interface FaultRequest {
  host: string | null
  hostName: string | null
  flavour: Flavour
  path: string
  /** Selector values the request carried (client_id, object_id, mi_res_id). */
  identities: readonly string[]
}
