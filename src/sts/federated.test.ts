import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type CryptoKey, type JWK, SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose'
import type { DirectoryStore, FederatedCredential } from '../directory/index.ts'
import { manualClock } from '../kernel/clock.ts'
import { StsError } from './errors.ts'
import { createFederatedVerifier, createIssuerKeys, type IssuerKeys } from './federated.ts'
import { decodeJwt } from './jwt.ts'

const T0 = Date.UTC(2024, 6, 9, 12, 0, 0)
const T0_S = T0 / 1000
const CLIENT = '5a4b3c2d-0000-4000-8000-000000000001'
const ISSUER = 'https://token.actions.githubusercontent.com'
const SUBJECT = 'repo:contoso/app:ref:refs/heads/main'
const AUDIENCE = 'api://AzureADTokenExchange'

const cred = (over: Partial<FederatedCredential> = {}): FederatedCredential => ({
  id: 'fic-1',
  tenantId: '4f1c2a9e-6b3d-4e8a-9c71-2d5f0b8e3a14',
  appId: CLIENT,
  name: 'github-main',
  issuer: ISSUER,
  subject: SUBJECT,
  audiences: [AUDIENCE],
  description: null,
  resourceId: null,
  createdAt: 0,
  ...over,
})

/** Only listFederatedCredentials is read; anything else is a test failure. */
function fakeDirectory(creds: readonly FederatedCredential[]): DirectoryStore {
  const impl: Partial<DirectoryStore> = {
    async listFederatedCredentials(appId) {
      return creds.filter((c) => c.appId === appId.toLowerCase())
    },
  }
  return new Proxy(impl as DirectoryStore, {
    get(target, prop) {
      const v = Reflect.get(target, prop)
      if (v === undefined && typeof prop === 'string') throw new Error(`fake DirectoryStore: ${prop} not expected`)
      return v
    },
  })
}

const issuerKey = await generateKeyPair('RS256', { extractable: true })
const otherKey = await generateKeyPair('RS256', { extractable: true })
const publicJwk: JWK = { ...(await exportJWK(issuerKey.publicKey)), kid: 'issuer-key-1', alg: 'RS256', use: 'sig' }

const localIssuerKeys = (): IssuerKeys & { asked: string[] } => {
  const asked: string[] = []
  return {
    asked,
    async get(issuer) {
      asked.push(issuer)
      return createLocalJWKSet({ keys: [publicJwk] })
    },
  }
}

async function assertion(
  over: { iss?: string; sub?: string; aud?: string | string[]; iat?: number; nbf?: number; exp?: number } = {},
  opts: { key?: CryptoKey; kid?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: opts.kid ?? 'issuer-key-1' })
    .setIssuer(over.iss ?? ISSUER)
    .setSubject(over.sub ?? SUBJECT)
    .setAudience(over.aud ?? AUDIENCE)
    .setIssuedAt(over.iat ?? T0_S - 10)
    .setExpirationTime(over.exp ?? T0_S + 600)
  if (over.nbf !== undefined) jwt.setNotBefore(over.nbf)
  return jwt.sign(opts.key ?? issuerKey.privateKey)
}

function verifier(creds: readonly FederatedCredential[], issuerKeys: IssuerKeys = localIssuerKeys()) {
  const v = createFederatedVerifier({
    store: fakeDirectory(creds),
    issuerKeys,
    clock: manualClock(T0),
    clockSkewMs: 5 * 60_000,
  })
  return (token: string, clientId = CLIENT) => v.verify({ clientId, assertion: token, decoded: decodeJwt(token) })
}

const stsError = (code: string, args?: Record<string, string>) => (e: unknown) => {
  assert.ok(e instanceof StsError, `expected an StsError, got ${String(e)}`)
  assert.equal(e.code, code)
  if (args) assert.deepEqual(e.args, args)
  return true
}

describe('createFederatedVerifier', () => {
  const FIC = cred()

  test('an assertion matching issuer, subject and audience of a credential is accepted', async () => {
    const keys = localIssuerKeys()
    const other = cred({ id: 'fic-0', name: 'other', subject: 'repo:contoso/app:environment:prod' })
    const match = await verifier([other, FIC], keys)(await assertion(), CLIENT.toUpperCase())
    assert.equal(match.id, 'fic-1')
    assert.deepEqual(keys.asked, [ISSUER])
  })

  test('one of several audiences of the assertion is enough', async () => {
    const match = await verifier([FIC])(await assertion({ aud: ['https://other.example', AUDIENCE] }))
    assert.equal(match.id, 'fic-1')
  })

  test('within the clock skew an expired assertion still passes', async () => {
    const match = await verifier([FIC])(await assertion({ iat: T0_S - 900, exp: T0_S - 60 }))
    assert.equal(match.id, 'fic-1')
  })

  test('a client without federated credentials: federatedNoMatch (AADSTS70021) naming issuer, subject, audience', async () => {
    await assert.rejects(
      verifier([])(await assertion()),
      stsError('federatedNoMatch', { issuer: ISSUER, subject: SUBJECT, audience: AUDIENCE }),
    )
    // credentials of another client do not count
    await assert.rejects(verifier([cred({ appId: 'someone-else' })])(await assertion()), stsError('federatedNoMatch'))
  })

  test('issuer, then subject, then audience: the most specific failure is reported', async () => {
    const v = verifier([FIC])
    await assert.rejects(
      v(await assertion({ iss: 'https://sts.example' })),
      stsError('federatedIssuerNoMatch', { issuer: 'https://sts.example', subject: SUBJECT, audience: AUDIENCE }),
    )
    // issuers compare exactly: a trailing slash is another issuer
    await assert.rejects(v(await assertion({ iss: `${ISSUER}/` })), stsError('federatedIssuerNoMatch'))
    await assert.rejects(
      v(await assertion({ sub: 'repo:contoso/app:ref:refs/heads/dev' })),
      stsError('federatedSubjectNoMatch', {
        issuer: ISSUER,
        subject: 'repo:contoso/app:ref:refs/heads/dev',
        audience: AUDIENCE,
      }),
    )
    await assert.rejects(
      v(await assertion({ aud: ['a', 'b'] })),
      stsError('federatedAudienceNoMatch', { issuer: ISSUER, subject: SUBJECT, audience: 'a,b' }),
    )
    // matching happens before any key is fetched
    const keys = localIssuerKeys()
    await assert.rejects(verifier([FIC], keys)(await assertion({ aud: 'x' })), stsError('federatedAudienceNoMatch'))
    assert.deepEqual(keys.asked, [])
  })

  test('an expired assertion (beyond the skew) is assertionExpired with Entra-style times', async () => {
    await assert.rejects(verifier([FIC])(await assertion({ iat: T0_S - 3600, exp: T0_S - 600 })), (e: unknown) => {
      stsError('assertionExpired')(e)
      const args = (e as StsError).args
      assert.equal(args.now, '2024-07-09T12:00:00.0000000Z')
      assert.equal(args.exp, '2024-07-09T11:50:00.0000000Z')
      return true
    })
  })

  test('an assertion not yet valid (nbf beyond the skew) is assertionExpired too', async () => {
    await assert.rejects(
      verifier([FIC])(await assertion({ nbf: T0_S + 600, exp: T0_S + 1200 })),
      stsError('assertionExpired'),
    )
  })

  test('a wrong key, or a kid the issuer does not publish: federatedSignatureInvalid', async () => {
    await assert.rejects(
      verifier([FIC])(await assertion({}, { key: otherKey.privateKey })),
      stsError('federatedSignatureInvalid'),
    )
    await assert.rejects(
      verifier([FIC])(await assertion({}, { key: otherKey.privateKey, kid: 'unknown-kid' })),
      stsError('federatedSignatureInvalid'),
    )
  })

  test('a tampered payload fails the signature check', async () => {
    const [h, , s] = (await assertion()).split('.')
    const forged = Buffer.from(
      JSON.stringify({ iss: ISSUER, sub: SUBJECT, aud: AUDIENCE, exp: T0_S + 99_999 }),
    ).toString('base64url')
    await assert.rejects(verifier([FIC])(`${h}.${forged}.${s}`), stsError('federatedSignatureInvalid'))
  })
})

describe('createIssuerKeys', () => {
  const failingFetch = (calls: string[]) =>
    (async (url: string | URL | Request) => {
      calls.push(String(url))
      throw new Error('no network in unit tests')
    }) as typeof fetch

  test('azid’s own issuers are answered locally, without any fetch', async () => {
    const calls: string[] = []
    const keys = createIssuerKeys({
      local: async (iss) => (iss === 'https://azid.local/t/v2.0' ? { keys: [publicJwk] } : undefined),
      fetch: failingFetch(calls),
      clock: manualClock(T0),
    })
    assert.equal(typeof (await keys.get('https://azid.local/t/v2.0')), 'function')
    assert.deepEqual(calls, [])
  })

  test('a non-https issuer off loopback, or one that is not a URL, is federatedKeysUnavailable without a request', async () => {
    const calls: string[] = []
    const keys = createIssuerKeys({ local: async () => undefined, fetch: failingFetch(calls), clock: manualClock(T0) })
    for (const iss of ['http://issuer.example', 'http://10.0.0.1:8080', 'ftp://issuer.example', 'not a url', ''])
      await assert.rejects(keys.get(iss), stsError('federatedKeysUnavailable'), iss)
    assert.deepEqual(calls, [])
  })

  test('an https issuer whose discovery fails is federatedKeysUnavailable', async () => {
    const calls: string[] = []
    const keys = createIssuerKeys({ local: async () => undefined, fetch: failingFetch(calls), clock: manualClock(T0) })
    await assert.rejects(keys.get('https://issuer.example/'), stsError('federatedKeysUnavailable'))
    assert.deepEqual(calls, ['https://issuer.example/.well-known/openid-configuration'])
    const noJwksUri = createIssuerKeys({
      local: async () => undefined,
      fetch: (async () => Response.json({ issuer: 'https://issuer.example' })) as typeof fetch,
      clock: manualClock(T0),
    })
    await assert.rejects(noJwksUri.get('https://issuer.example'), stsError('federatedKeysUnavailable'))
    const notFound = createIssuerKeys({
      local: async () => undefined,
      fetch: (async () => new Response('nope', { status: 404 })) as typeof fetch,
      clock: manualClock(T0),
    })
    await assert.rejects(notFound.get('https://issuer.example'), stsError('federatedKeysUnavailable'))
  })

  test('loopback http issuers are allowed (deviation for local tests); discovery is cached for cacheMs', async () => {
    const calls: string[] = []
    const clock = manualClock(T0)
    const keys = createIssuerKeys({
      local: async () => undefined,
      fetch: (async (url: string | URL | Request) => {
        calls.push(String(url))
        return Response.json({ jwks_uri: 'http://127.0.0.1:9/keys' })
      }) as typeof fetch,
      clock,
      cacheMs: 60_000,
    })
    for (const iss of ['http://127.0.0.1:8080', 'http://localhost:8080/', 'http://[::1]:8080'])
      assert.equal(typeof (await keys.get(iss)), 'function', iss)
    assert.equal(calls.length, 3)
    await keys.get('http://127.0.0.1:8080')
    assert.equal(calls.length, 3, 'cached')
    clock.advance(60_000)
    await keys.get('http://127.0.0.1:8080')
    assert.equal(calls.length, 4, 'refreshed after cacheMs')
    assert.equal(calls[0], 'http://127.0.0.1:8080/.well-known/openid-configuration')
  })
})
