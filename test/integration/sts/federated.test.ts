// Federated identity credentials: an external OIDC issuer (a tiny one on loopback) whose JWT is the client assertion
// (docs/wire/sts-errors.md §7).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import { decodeJwt, postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { JWT_BEARER, expectStsError, localJwks, v2TokenUrl } from './helpers.ts'

const EXCHANGE_AUD = 'api://AzureADTokenExchange'
const SUBJECT = 'system:serviceaccount:default:workload'
const WIF_DOC = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation'
const FIC_HINT =
  'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.'

let s: TestServer
let issuerServer: Server
let issuer: string
let issuerKey: CryptoKey
let jwk: JWK
let appId: string
let spId: string
let requests: string[] = []

/** A dead issuer: a port that was listening a moment ago. */
let deadIssuer: string
let deadAppId: string
let bareAppId: string

function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res((server.address() as AddressInfo).port)))
}

before(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true })
  issuerKey = pair.privateKey
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'issuer-key-1', use: 'sig', alg: 'RS256' }
  issuerServer = createServer((req, res) => {
    requests.push(req.url ?? '')
    res.setHeader('content-type', 'application/json')
    if (req.url === '/.well-known/openid-configuration')
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys`, id_token_signing_alg_values_supported: ['RS256'] }))
    else if (req.url === '/keys') res.end(JSON.stringify({ keys: [jwk] }))
    else {
      res.statusCode = 404
      res.end('{}')
    }
  })
  issuer = `http://127.0.0.1:${await listenOnLoopback(issuerServer)}`

  const dead = createServer()
  deadIssuer = `http://127.0.0.1:${await listenOnLoopback(dead)}`
  await new Promise((r) => dead.close(r))

  s = await startTestServer()
  const dir = s.server.directory
  const app = await dir.createApplication({ tenantId: s.tenantId, displayName: 'azid federated workload' })
  appId = app.application.appId
  spId = app.servicePrincipal.objectId
  const put = (forApp: string, iss: string, subject: string, name: string) =>
    dir.store.putFederatedCredential({
      id: randomUUID(),
      tenantId: s.tenantId,
      appId: forApp,
      name,
      issuer: iss,
      subject,
      audiences: [EXCHANGE_AUD],
      description: null,
      resourceId: null,
      createdAt: Date.now(),
    })
  await put(appId, issuer, SUBJECT, 'kubernetes')
  deadAppId = (await dir.createApplication({ tenantId: s.tenantId, displayName: 'azid dead issuer' })).application.appId
  await put(deadAppId, deadIssuer, SUBJECT, 'dead')
  bareAppId = (await dir.createApplication({ tenantId: s.tenantId, displayName: 'azid no FIC' })).application.appId
})
after(async () => {
  await s.stop()
  await new Promise((r) => issuerServer.close(r))
})

function issue(o: { iss?: string; sub?: string; aud?: string; exp?: number; key?: CryptoKey; kid?: string } = {}) {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.kid ?? 'issuer-key-1' })
    .setIssuer(o.iss ?? issuer)
    .setSubject(o.sub ?? SUBJECT)
    .setAudience(o.aud ?? EXCHANGE_AUD)
    .setIssuedAt()
    .setJti(randomUUID())
  jwt.setExpirationTime(o.exp ?? Math.floor(Date.now() / 1000) + 3600)
  return jwt.sign(o.key ?? issuerKey)
}

function exchange(assertion: string, clientId = appId, scope = 'https://management.azure.com/.default') {
  return postForm(v2TokenUrl(s), s.ca, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
    scope,
  })
}

test('an assertion from a trusted issuer matching the federated credential → app token for the app', async () => {
  requests = []
  const r = await exchange(await issue())
  assert.equal(r.status, 200, r.text)
  const token = r.json<{ access_token: string }>().access_token
  const { claims } = decodeJwt(token)
  assert.equal(claims.appid, appId)
  assert.equal(claims.appidacr, '2')
  assert.equal(claims.oid, spId)
  assert.equal(claims.sub, spId)
  assert.equal(claims.aud, 'https://management.azure.com')
  await jwtVerify(token, await localJwks(s), {
    algorithms: ['RS256'],
    issuer: `https://sts.windows.net/${s.tenantId}/`,
    audience: 'https://management.azure.com',
  })
  assert.deepEqual(requests, ['/.well-known/openid-configuration', '/keys'], 'azid fetched discovery, then the JWKS')
  // A second exchange uses the cached keys, and the same assertion may be presented again.
  const again = await exchange(await issue(), appId, 'https://storage.azure.com/.default')
  assert.equal(again.status, 200, again.text)
  assert.equal(decodeJwt(again.json<{ access_token: string }>().access_token).claims.aud, 'https://storage.azure.com')
})

test('an app without federated credentials → 400 invalid_request 70021', async () => {
  const r = await exchange(await issue(), bareAppId)
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_request',
    code: 70021,
    text: `No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${SUBJECT}'. Assertion Audience: '${EXCHANGE_AUD}'. ${WIF_DOC}`,
    audit: 'federatedNoMatch',
  })
})

test('issuer not matched → 401 invalid_client 700211', async () => {
  const other = 'https://token.actions.githubusercontent.com'
  const r = await exchange(await issue({ iss: other }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700211,
    text: `No matching federated identity record found for presented assertion issuer '${other}'. ${FIC_HINT} ${WIF_DOC}`,
    audit: 'federatedIssuerNoMatch',
  })
})

test('audience not matched → 401 invalid_client 700212', async () => {
  const r = await exchange(await issue({ aud: 'api://SomethingElse' }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700212,
    text: `No matching federated identity record found for presented assertion audience 'api://SomethingElse'. ${FIC_HINT} ${WIF_DOC}`,
    audit: 'federatedAudienceNoMatch',
  })
})

test('subject not matched → 401 invalid_client 700213', async () => {
  const r = await exchange(await issue({ sub: 'system:serviceaccount:default:intruder' }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700213,
    text: `No matching federated identity record found for presented assertion subject 'system:serviceaccount:default:intruder'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${WIF_DOC}`,
    audit: 'federatedSubjectNoMatch',
  })
})

test('an assertion signed by a key the issuer does not publish → 401 700027', async () => {
  const { privateKey } = await generateKeyPair('RS256')
  const r = await exchange(await issue({ key: privateKey }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700027,
    text: /^Client assertion failed signature validation\. \[Reason - /,
    audit: 'federatedSignatureInvalid',
  })
})

test('an expired external assertion → 401 700024', async () => {
  const r = await exchange(await issue({ exp: Math.floor(Date.now() / 1000) - 3600 }))
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700024,
    text: /^Client assertion is not within its valid time range\. Current time: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z, /,
    audit: 'assertionExpired',
  })
})

test('issuer unreachable → 400 invalid_request 50166', async () => {
  const r = await exchange(await issue({ iss: deadIssuer }), deadAppId)
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_request',
    code: 50166,
    text: 'Request to External OIDC endpoint failed.',
    audit: 'federatedKeysUnavailable',
  })
})
