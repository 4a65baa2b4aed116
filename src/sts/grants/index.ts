import type { Grant } from '../context.ts'
import { authorizationCodeGrant } from './authorization-code.ts'
import { clientCredentialsGrant } from './client-credentials.ts'
import { deviceCodeGrant } from './device-code.ts'
import { refreshTokenGrant } from './refresh-token.ts'

/** Every grant type the token endpoint serves, by `grant_type`. */
export function grantRegistry(
  grants: readonly Grant[] = [clientCredentialsGrant, deviceCodeGrant, refreshTokenGrant, authorizationCodeGrant],
): ReadonlyMap<string, Grant> {
  const m = new Map<string, Grant>()
  for (const g of grants) for (const t of g.types) m.set(t, g)
  return m
}

export { authorizationCodeHash } from './authorization-code.ts'
export { deviceCodeHash } from './device-code.ts'
