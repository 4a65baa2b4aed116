// Malformed and refused token requests: exact Entra error bodies (docs/wire/sts-errors.md §1–§5, §11), the trace and
// correlation ids, and an audit event for every refusal. The server keeps answering afterwards.
import assert from 'node:assert/strict'
import { request } from 'node:https'
import { after, before, test } from 'node:test'
import { type HttpResult, httpsRequest, postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { AZ_CLI, clientCredentials, expectStsError, v1TokenUrl, v2TokenUrl } from './helpers.ts'

const ARM_SCOPE = 'https://management.azure.com/.default'

let s: TestServer
let tenantName: string
before(async () => {
  s = await startTestServer()
  tenantName = s.server.config.tenant.displayName
})
after(() => s.stop())

const rawPost = (body: string | Buffer, headers: Record<string, string> = {}, url = v2TokenUrl(s)) =>
  httpsRequest(url, {
    ca: s.ca,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  })

const form = (o: Record<string, string>) => new URLSearchParams(o).toString()

test('a parameter sent twice → 400 invalid_request 9000411', async () => {
  const body = `${form({ grant_type: 'client_credentials', client_id: s.clientId, client_secret: s.clientSecret, scope: ARM_SCOPE })}&scope=${encodeURIComponent(ARM_SCOPE)}`
  await expectStsError(s, await rawPost(body), {
    status: 400,
    error: 'invalid_request',
    code: 9000411,
    text: "The request is not properly formatted. The parameter 'scope' is duplicated.",
    audit: 'duplicateParameter',
  })
})

test('an unknown grant type → 400 unsupported_grant_type 70003', async () => {
  const r = await clientCredentials(s, { grant_type: 'password_please', scope: ARM_SCOPE })
  await expectStsError(s, r, {
    status: 400,
    error: 'unsupported_grant_type',
    code: 70003,
    text: "The app requested an unsupported grant type 'password_please'.",
    audit: 'unsupportedGrantType',
  })
})

test('missing grant_type, client_id or scope → 400 invalid_request 900144 naming it', async () => {
  const missing = async (name: string, body: Record<string, string>) =>
    expectStsError(s, await rawPost(form(body)), {
      status: 400,
      error: 'invalid_request',
      code: 900144,
      text: `The request body must contain the following parameter: '${name}'.`,
      audit: 'missingParameter',
    })
  await missing('grant_type', { client_id: s.clientId, client_secret: s.clientSecret, scope: ARM_SCOPE })
  await missing('client_id', { grant_type: 'client_credentials', client_secret: s.clientSecret, scope: ARM_SCOPE })
  await missing('scope', { grant_type: 'client_credentials', client_id: s.clientId, client_secret: s.clientSecret })
  // An empty body is the same as a missing grant_type.
  await expectStsError(s, await rawPost(''), {
    status: 400,
    error: 'invalid_request',
    code: 900144,
    audit: 'missingParameter',
  })
})

test('an unknown tenant at the token endpoint → 400 invalid_request 90002 (not invalid_tenant)', async () => {
  const unknown = '12345678-1234-1234-1234-123456789012'
  for (const version of [1, 2] as const) {
    const r = await clientCredentials(s, version === 2 ? { scope: ARM_SCOPE } : {}, { version, tenant: unknown })
    await expectStsError(s, r, {
      status: 400,
      error: 'invalid_request',
      code: 90002,
      text: `Tenant '${unknown}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
      audit: 'tenantNotFound',
    })
  }
})

test("an unknown client → 400 unauthorized_client 700016 naming the tenant's display name", async () => {
  const unknown = '0badc0de-0000-4000-8000-000000000001'
  for (const tenant of [s.tenantId, s.server.endpoints.tenantDomain]) {
    const r = await clientCredentials(s, { client_id: unknown, scope: ARM_SCOPE }, { tenant })
    await expectStsError(s, r, {
      status: 400,
      error: 'unauthorized_client',
      code: 700016,
      text: `Application with identifier '${unknown}' was not found in the directory '${tenantName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      audit: 'clientNotFound',
    })
  }
})

test('a wrong secret → 401 invalid_client 7000215', async () => {
  const r = await clientCredentials(s, { client_secret: 'definitely-not-the-secret', scope: ARM_SCOPE })
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 7000215,
    text: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${s.clientId}'.`,
    audit: 'invalidClientSecret',
  })
})

test('an expired secret → 401 invalid_client 7000222', async () => {
  const { application } = await s.server.directory.createApplication({ tenantId: s.tenantId, displayName: 'expired' })
  const { secretText } = await s.server.directory.addPassword({ appId: application.appId, endAt: Date.now() - 1000 })
  const r = await clientCredentials(s, { client_id: application.appId, client_secret: secretText, scope: ARM_SCOPE })
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 7000222,
    text: `The provided client secret keys for app '${application.appId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
    audit: 'expiredClientSecret',
  })
})

test('a body over 1 MiB → a 4xx Entra error, with and without content-length', async () => {
  const big = `grant_type=client_credentials&pad=${'a'.repeat(1024 * 1024 + 10)}`
  await expectStsError(s, await rawPost(big), {
    status: 400,
    error: 'invalid_request',
    code: 90015,
    text: 'Requested query string or request body is too long.',
    audit: 'bodyTooLarge',
  })
  // Chunked: the limit is enforced while reading.
  const chunked = await new Promise<HttpResult>((res, rej) => {
    const req = request(
      v2TokenUrl(s),
      {
        ca: s.ca,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' },
      },
      (r) => {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          res({ status: r.statusCode ?? 0, headers: r.headers, text, json: <T>() => JSON.parse(text) as T })
        })
      },
    )
    req.on('error', rej)
    const piece = Buffer.alloc(64 * 1024, 'a')
    req.write('grant_type=client_credentials&pad=')
    for (let i = 0; i < 17; i++) req.write(piece)
    req.end()
  })
  await expectStsError(s, chunked, { status: 400, error: 'invalid_request', code: 90015, audit: 'bodyTooLarge' })
})

test('a JSON body is treated as an empty form → 900144 grant_type (docs/wire §11)', async () => {
  const r = await rawPost(
    JSON.stringify({
      grant_type: 'client_credentials',
      client_id: s.clientId,
      client_secret: s.clientSecret,
      scope: ARM_SCOPE,
    }),
    { 'content-type': 'application/json' },
  )
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_request',
    code: 900144,
    text: "The request body must contain the following parameter: 'grant_type'.",
    audit: 'missingParameter',
  })
})

test('malformed percent-encoding drops the pair → the parameter is missing', async () => {
  const body = `grant_type=client_credentials&client_id=%E0%A4%A&client_secret=${encodeURIComponent(s.clientSecret)}&scope=${encodeURIComponent(ARM_SCOPE)}`
  await expectStsError(s, await rawPost(body), {
    status: 400,
    error: 'invalid_request',
    code: 900144,
    text: "The request body must contain the following parameter: 'client_id'.",
    audit: 'missingParameter',
  })
  await expectStsError(s, await rawPost('grant_type=%ZZ&%=x'), {
    status: 400,
    error: 'invalid_request',
    code: 900144,
    text: "The request body must contain the following parameter: 'grant_type'.",
    audit: 'missingParameter',
  })
})

test('GET on the token endpoints → 400 invalid_request 900561', async () => {
  for (const url of [v2TokenUrl(s), v1TokenUrl(s)]) {
    const r = await httpsRequest(`${url}?grant_type=client_credentials`, { ca: s.ca })
    await expectStsError(s, r, {
      status: 400,
      error: 'invalid_request',
      code: 900561,
      text: 'The endpoint only accepts POST, OPTIONS requests. Received a GET request.',
      audit: 'methodNotAllowed',
    })
  }
})

test('a public client sending a secret → 401 invalid_client 700025', async () => {
  const r = await postForm(v2TokenUrl(s), s.ca, {
    grant_type: 'client_credentials',
    client_id: AZ_CLI,
    client_secret: 'whatever-whatever',
    scope: ARM_SCOPE,
  })
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 700025,
    text: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    audit: 'publicClientWithCredential',
  })
})

test('a confidential client without credentials on client_credentials → 401 invalid_client 7000216', async () => {
  const r = await postForm(v2TokenUrl(s), s.ca, {
    grant_type: 'client_credentials',
    client_id: s.clientId,
    scope: ARM_SCOPE,
  })
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 7000216,
    text: "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
    audit: 'missingClientCredentialCc',
  })
  // A public client cannot use client_credentials at all.
  const pub = await postForm(v2TokenUrl(s), s.ca, {
    grant_type: 'client_credentials',
    client_id: AZ_CLI,
    scope: ARM_SCOPE,
  })
  await expectStsError(s, pub, {
    status: 401,
    error: 'invalid_client',
    code: 7000216,
    audit: 'missingClientCredentialCc',
  })
})

test('HTTP Basic and a body secret together → 9000411 client_id duplicated', async () => {
  const r = await rawPost(form({ grant_type: 'client_credentials', client_secret: s.clientSecret, scope: ARM_SCOPE }), {
    authorization: `Basic ${Buffer.from(`${s.clientId}:${s.clientSecret}`).toString('base64')}`,
  })
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_request',
    code: 9000411,
    text: "The request is not properly formatted. The parameter 'client_id' is duplicated.",
    audit: 'conflictingClientCredentials',
  })
})

test('scope problems: resource on v2 (901002), no /.default (1002012), unknown resource (500011), two resources (70011)', async () => {
  await expectStsError(s, await clientCredentials(s, { scope: ARM_SCOPE, resource: 'https://management.azure.com/' }), {
    status: 400,
    error: 'invalid_request',
    code: 901002,
    text: "The 'resource' request parameter isn't supported.",
    audit: 'resourceOnV2',
  })
  await expectStsError(s, await clientCredentials(s, { scope: 'https://management.azure.com/user_impersonation' }), {
    status: 400,
    error: 'invalid_scope',
    code: 1002012,
    text: 'The provided value for scope https://management.azure.com/user_impersonation is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).',
    audit: 'clientCredentialsNeedDefault',
  })
  const unknownV1 = await clientCredentials(s, { resource: 'https://nothing.example.com' }, { version: 1 })
  await expectStsError(s, unknownV1, {
    status: 400,
    error: 'invalid_resource',
    code: 500011,
    text: /^The resource principal named https:\/\/nothing\.example\.com was not found in the tenant named /,
    audit: 'resourceNotFound',
  })
  const two = 'https://management.azure.com/.default https://storage.azure.com/.default'
  await expectStsError(s, await clientCredentials(s, { scope: two }), {
    status: 400,
    error: 'invalid_scope',
    code: 70011,
    text: `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${two} is not valid.`,
    audit: 'invalidScope',
  })
})

test('a disabled service principal → 400 unauthorized_client 7000112', async () => {
  const { application, servicePrincipal } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'disabled app',
  })
  const { secretText } = await s.server.directory.addPassword({ appId: application.appId })
  await s.server.directory.store.putServicePrincipal({ ...servicePrincipal, accountEnabled: false })
  const r = await clientCredentials(s, { client_id: application.appId, client_secret: secretText, scope: ARM_SCOPE })
  await expectStsError(s, r, {
    status: 400,
    error: 'unauthorized_client',
    code: 7000112,
    text: `Application '${application.appId}'(disabled app) is disabled.`,
    audit: 'clientDisabled',
  })
})

test('client-request-id (header or query) is echoed and becomes the correlation id', async () => {
  const cid = '3f2a7c1e-5b6d-4e8f-9a0b-1c2d3e4f5a6b'
  const r = await clientCredentials(
    s,
    { client_secret: 'wrong-wrong-wrong', scope: ARM_SCOPE },
    { headers: { 'client-request-id': cid } },
  )
  assert.equal(r.headers['client-request-id'], cid)
  await expectStsError(s, r, {
    status: 401,
    error: 'invalid_client',
    code: 7000215,
    correlationId: cid,
    audit: 'invalidClientSecret',
  })
  // msal-node puts it in the query string.
  const q = await postForm(`${v2TokenUrl(s)}?client-request-id=${cid}`, s.ca, {
    grant_type: 'client_credentials',
    client_id: s.clientId,
    client_secret: 'wrong-wrong-wrong',
    scope: ARM_SCOPE,
  })
  assert.equal(q.headers['client-request-id'], cid)
  await expectStsError(s, q, { status: 401, error: 'invalid_client', code: 7000215, correlationId: cid })
  // On success too.
  const ok = await clientCredentials(s, { scope: ARM_SCOPE }, { headers: { 'client-request-id': cid } })
  assert.equal(ok.status, 200, ok.text)
  assert.equal(ok.headers['client-request-id'], cid)
  // Something that is not a GUID is echoed, but a fresh correlation id is used.
  const odd = await clientCredentials(
    s,
    { client_secret: 'x', scope: ARM_SCOPE },
    { headers: { 'client-request-id': 'not-a-guid' } },
  )
  assert.equal(odd.headers['client-request-id'], 'not-a-guid')
  const body = await expectStsError(s, odd, { status: 401, error: 'invalid_client', code: 7000215 })
  assert.notEqual(body.correlation_id, 'not-a-guid')
})

test('after all of that the server still answers', async () => {
  const r = await clientCredentials(s, { scope: ARM_SCOPE })
  assert.equal(r.status, 200, r.text)
  const health = await httpsRequest(`${s.base}/_azid/health`, { ca: s.ca })
  assert.equal(health.status, 200)
})

test('a client-request-id in the query that no header may carry is not echoed; the request is still answered', async () => {
  const q = await postForm(`${v2TokenUrl(s)}?client-request-id=a%0Ab`, s.ca, {
    grant_type: 'client_credentials',
    client_id: s.clientId,
    client_secret: 'wrong-wrong-wrong',
    scope: ARM_SCOPE,
  })
  assert.equal(q.headers['client-request-id'], undefined)
  await expectStsError(s, q, { status: 401, error: 'invalid_client', code: 7000215 })
  // The token answer's headers: the same names and values the Hono surfaces send (sorted, lower case).
  const ok = await clientCredentials(s, { scope: ARM_SCOPE })
  assert.equal(ok.status, 200, ok.text)
  assert.equal(ok.headers['content-type'], 'application/json')
  assert.equal(ok.headers['cache-control'], 'no-store, no-cache')
  assert.equal(ok.headers.pragma, 'no-cache')
  assert.equal(ok.headers['x-ms-ests-server'], 'azid')
  assert.match(String(ok.headers['x-ms-request-id']), /^[0-9a-f-]{36}$/)
})
