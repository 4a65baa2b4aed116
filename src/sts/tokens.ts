import type { KeyService } from '../keys/index.ts'

const b64json = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

export interface TokenMinter {
  /** Signs `claims` as a JWT with the active key. v1 headers carry `x5t` (= kid) as Entra's do; v2 headers do not. */
  mint(claims: Record<string, unknown>, opts: { version: 1 | 2 }): Promise<string>
}

export function createTokenMinter(deps: { keys: KeyService }): TokenMinter {
  return {
    async mint(claims, opts) {
      const key = await deps.keys.active()
      const header =
        opts.version === 1
          ? { typ: 'JWT', alg: 'RS256', x5t: key.x5t, kid: key.kid }
          : { typ: 'JWT', alg: 'RS256', kid: key.kid }
      const input = `${b64json(header)}.${b64json(claims)}`
      return `${input}.${await deps.keys.sign(key.kid, input)}`
    },
  }
}
