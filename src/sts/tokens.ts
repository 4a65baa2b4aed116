import type { KeyService } from '../keys/index.ts'

const b64json = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

export interface TokenMinter {
  /** Signs `claims` as a JWT with the active key. v1 headers carry `x5t` (= kid) as Entra's do; v2 headers do not. */
  mint(claims: Record<string, unknown>, opts: { version: 1 | 2 }): Promise<string>
}

export function createTokenMinter(deps: { keys: KeyService }): TokenMinter {
  /** Encoded headers of the active key, per version (they change only when the key does). */
  let headers: { kid: string; v1: string; v2: string } | undefined
  return {
    async mint(claims, opts) {
      const key = await deps.keys.active()
      if (headers?.kid !== key.kid)
        headers = {
          kid: key.kid,
          v1: b64json({ typ: 'JWT', alg: 'RS256', x5t: key.x5t, kid: key.kid }),
          v2: b64json({ typ: 'JWT', alg: 'RS256', kid: key.kid }),
        }
      const input = `${opts.version === 1 ? headers.v1 : headers.v2}.${b64json(claims)}`
      return `${input}.${await deps.keys.sign(key.kid, input)}`
    },
  }
}
