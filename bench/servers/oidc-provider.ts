// Comparison server for bench/sts.ts: npm `oidc-provider`, configured minimally for the client_credentials grant
// with RS256 JWT access tokens (resource indicators, one confidential client), over HTTPS with azid's TLS
// certificate (TLS_CERT, TLS_KEY), on a free loopback port. Prints {"port":N} once it listens.
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

const certPath = process.env.TLS_CERT
const keyPath = process.env.TLS_KEY
if (!certPath || !keyPath) throw new Error('TLS_CERT and TLS_KEY are required')

const server = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) })
server.keepAliveTimeout = 65_000
await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
const port = (server.address() as AddressInfo).port

// RSA 2048, as azid's token-signing keys.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'bench' }

const provider = new Provider(`https://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'bench',
      client_secret: 'bench-secret-0123456789',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'https://api.bench.example',
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => ({
        scope: 'read',
        audience: resourceIndicator,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
})
// Warnings about the in-memory adapter are expected: nothing is stored for JWT access tokens anyway.
provider.on('server_error', (_ctx: unknown, err: Error) => process.stderr.write(`oidc-provider: ${err.stack}\n`))
server.on('request', provider.callback())

process.on('SIGINT', () => server.close(() => process.exit(0)))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
process.stdout.write(`${JSON.stringify({ port })}\n`)
