// The flavours other than IMDS, each over the endpoint the admin API hands out: App Service 2019 and 2017, Azure
// ML, Service Fabric (https with azid's CA) and Cloud Shell (HOST-002; docs/wire/mi-endpoints.md §3, §5–§7).
import assert from 'node:assert/strict'
import { connect } from 'node:tls'
import { after, before, test } from 'node:test'
import { httpsRequest } from '../../support/https.ts'
import { V } from '../arm/helpers.ts'
import { type Ctx, type Endpoint, type Uami, decodeJwt, endpoint, http, setup, uami } from './helpers.ts'

let c: Ctx
let site: string
let SA: { principalId: string; clientId: string }
let U1: Uami
let U2: Uami
let vmPath: string
let vmSa: string
before(async () => {
  c = await setup()
  U1 = await uami(c, 'app-ua-one')
  U2 = await uami(c, 'app-ua-two')
  site = `${c.p.rg('rg')}/providers/Microsoft.Web/sites/flavour-app`
  const r = await c.admin.put(site, V.web, {
    location: 'westus',
    kind: 'app,linux',
    identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [U1.id]: {}, [U2.id]: {} } },
    properties: { serverFarmId: 'x' },
  })
  assert.equal(r.status, 201, r.text)
  const principalId = r.json<{ identity: { principalId: string } }>().identity.principalId
  const sp = await c.s.server.directory.store.getServicePrincipal(principalId)
  SA = { principalId, clientId: sp?.appId as string }
  vmPath = c.p.vm('rg', 'flavour-vm')
  const vm = await c.admin.put(vmPath, V.compute, { location: 'westus', identity: { type: 'SystemAssigned' } })
  assert.equal(vm.status, 201, vm.text)
  vmSa = vm.json<{ identity: { principalId: string } }>().identity.principalId
})
after(() => c.s.stop())

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const claims = (body: { access_token: string }) => decodeJwt(body.access_token).claims

/** An App Service error: `{"statusCode","message","correlationId"}` with X-CORRELATION-ID. */
function appServiceError(r: Awaited<ReturnType<typeof http>>, status: number, message: string) {
  assert.equal(r.status, status, r.text)
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  const body = r.json<{ statusCode: number; message: string; correlationId: string }>()
  assert.deepEqual(Object.keys(body), ['statusCode', 'message', 'correlationId'])
  assert.equal(body.statusCode, status)
  assert.equal(body.message, message)
  assert.match(body.correlationId, GUID)
  assert.equal(r.headers['x-correlation-id'], body.correlationId)
}

test('§3.1 App Service 2019-08-01: env from the admin API; body with client_id last, expires_on an epoch string', async () => {
  const e = await endpoint(c.s, site)
  assert.equal(e.flavour, 'app-service')
  assert.deepEqual(Object.keys(e.env).sort(), [
    'APPSETTING_WEBSITE_SITE_NAME',
    'IDENTITY_ENDPOINT',
    'IDENTITY_HEADER',
    'MSI_ENDPOINT',
    'MSI_SECRET',
    'WEBSITE_SITE_NAME',
  ])
  assert.equal(e.env.IDENTITY_ENDPOINT, `${c.s.server.endpoints.managedIdentity.sharedEndpoint}/msi/token`)
  assert.equal(e.env.WEBSITE_SITE_NAME, 'flavour-app')
  const r = await http(`${e.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://vault.azure.net`, {
    headers: { 'X-IDENTITY-HEADER': e.env.IDENTITY_HEADER as string },
  })
  assert.equal(r.status, 200, r.text)
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  const body = r.json<Record<string, string>>()
  assert.deepEqual(Object.keys(body), ['access_token', 'expires_on', 'resource', 'token_type', 'client_id'])
  assert.match(body.expires_on as string, /^\d{10}$/)
  assert.equal(body.resource, 'https://vault.azure.net')
  assert.equal(body.token_type, 'Bearer')
  assert.equal(body.client_id, SA.clientId)
  const cl = claims(body as { access_token: string })
  assert.equal(cl.oid, SA.principalId)
  assert.equal(cl.aud, 'https://vault.azure.net')
  assert.equal(cl.exp, Number(body.expires_on))
  assert.equal(cl.xms_mirid, site.replace('/resourceGroups/', '/resourcegroups/'))
})

test('§3.1 App Service selectors: client_id, object_id, principal_id, mi_res_id; refusals in the App Service envelope', async () => {
  const e = await endpoint(c.s, site, 'app-service')
  const get = (sel: string, header: string | null = e.env.IDENTITY_HEADER as string) =>
    http(
      `${e.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://management.azure.com/${sel ? `&${sel}` : ''}`,
      {
        headers: header === null ? {} : { 'X-IDENTITY-HEADER': header },
      },
    )
  for (const [sel, u] of [
    [`client_id=${U1.clientId}`, U1],
    [`object_id=${U2.principalId}`, U2],
    [`principal_id=${U1.principalId}`, U1],
    [`mi_res_id=${encodeURIComponent(U2.id)}`, U2],
  ] as const) {
    const r = await get(sel)
    assert.equal(r.status, 200, `${sel}: ${r.text}`)
    const body = r.json<{ access_token: string; client_id: string }>()
    assert.equal(body.client_id, u.clientId, sel)
    assert.equal(claims(body).oid, u.principalId, sel)
  }
  const unable = 'Unable to load the proper Managed Identity.'
  appServiceError(await get('client_id=00000000-0000-0000-0000-000000000000'), 400, unable)
  appServiceError(await get(`client_id=${U1.clientId}&principal_id=${U2.principalId}`), 400, unable)
  const noHeader = 'The request is missing the X-IDENTITY-HEADER or it is not valid for this resource.'
  appServiceError(await get('', 'not-the-secret'), 401, noHeader)
  appServiceError(await get('', `${e.env.IDENTITY_HEADER}x`), 401, noHeader)
  appServiceError(await get('', ''), 401, noHeader)
  appServiceError(await get('', null), 401, noHeader)
  // A secret of another flavour is not an App Service secret.
  const ml = await endpoint(c.s, site, 'azure-ml')
  appServiceError(await get('', ml.env.MSI_SECRET as string), 401, noHeader)
  const bad = await http(`${e.env.IDENTITY_ENDPOINT}?api-version=2017-09-01&resource=https://vault.azure.net`, {
    headers: { 'X-IDENTITY-HEADER': e.env.IDENTITY_HEADER as string },
  })
  appServiceError(
    bad,
    400,
    "The HTTP resource that matches the request URI does not support the API version '2017-09-01'.",
  )
  const noResource = await http(`${e.env.IDENTITY_ENDPOINT}?api-version=2019-08-01`, {
    headers: { 'X-IDENTITY-HEADER': e.env.IDENTITY_HEADER as string },
  })
  appServiceError(noResource, 400, "The parameter 'resource' should not be null or empty string.")
  const post = await http(`${e.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=x`, {
    method: 'POST',
    headers: { 'X-IDENTITY-HEADER': e.env.IDENTITY_HEADER as string },
    body: '',
  })
  assert.equal(post.status, 405)
})

test('§3.2 App Service 2017-09-01: `secret` header, `clientid`, expires_on as MM/dd/yyyy HH:mm:ss +00:00', async () => {
  const e = await endpoint(c.s, site, 'app-service-2017')
  assert.deepEqual(Object.keys(e.env).sort(), [
    'APPSETTING_WEBSITE_SITE_NAME',
    'MSI_ENDPOINT',
    'MSI_SECRET',
    'WEBSITE_SITE_NAME',
  ])
  // az sends the resource raw and a slash before the query.
  const url = (sel = '') =>
    `${e.env.MSI_ENDPOINT}/?resource=https://management.azure.com/&api-version=2017-09-01${sel ? `&${sel}` : ''}`
  const r = await http(url(), { headers: { secret: e.env.MSI_SECRET as string } })
  assert.equal(r.status, 200, r.text)
  const body = r.json<Record<string, string>>()
  assert.deepEqual(Object.keys(body), ['access_token', 'expires_on', 'resource', 'token_type', 'client_id'])
  assert.match(body.expires_on as string, /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2} \+00:00$/)
  const exp = claims(body as { access_token: string }).exp as number
  const d = new Date(exp * 1000)
  const p = (n: number) => String(n).padStart(2, '0')
  assert.equal(
    body.expires_on,
    `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +00:00`,
  )
  assert.equal(body.resource, 'https://management.azure.com/')
  assert.equal(body.client_id, SA.clientId)
  const ua = await http(url(`clientid=${U2.clientId}`), { headers: { secret: e.env.MSI_SECRET as string } })
  assert.equal(ua.status, 200, ua.text)
  assert.equal(ua.json<{ client_id: string }>().client_id, U2.clientId)
  assert.equal(claims(ua.json<{ access_token: string }>()).oid, U2.principalId)
  // The 2019 header name does not authenticate a 2017 request, nor a wrong secret.
  const noHeader = 'The request is missing the X-IDENTITY-HEADER or it is not valid for this resource.'
  appServiceError(await http(url(), { headers: { secret: 'wrong' } }), 401, noHeader)
  appServiceError(await http(url(), {}), 401, noHeader)
  appServiceError(
    await http(url(`clientid=${U1.clientId}`).replace('2017-09-01', '2019-08-01'), {
      headers: { secret: e.env.MSI_SECRET as string },
    }),
    400,
    "The HTTP resource that matches the request URI does not support the API version '2019-08-01'.",
  )
})

test('§6 Azure ML: integer expires_on, clientid selector, plain-text `Invalid secret token header: .` on a bad secret', async () => {
  const e = await endpoint(c.s, site, 'azure-ml')
  assert.equal(e.env.MSI_ENDPOINT, `${c.s.server.endpoints.managedIdentity.sharedEndpoint}/ml/msi/token`)
  assert.equal(e.env.DEFAULT_IDENTITY_CLIENT_ID, SA.clientId)
  const url = (clientId: string) =>
    `${e.env.MSI_ENDPOINT}?api-version=2017-09-01&resource=${encodeURIComponent('https://storage.azure.com/')}&clientid=${clientId}`
  const r = await http(url(e.env.DEFAULT_IDENTITY_CLIENT_ID as string), {
    headers: { secret: e.env.MSI_SECRET as string, Metadata: 'true' },
  })
  assert.equal(r.status, 200, r.text)
  const body = r.json<Record<string, unknown>>()
  assert.deepEqual(Object.keys(body), ['access_token', 'expires_on', 'resource', 'token_type', 'client_id'])
  assert.equal(typeof body.expires_on, 'number')
  assert.ok(Number.isInteger(body.expires_on))
  assert.equal(body.expires_on, claims(body as { access_token: string }).exp)
  assert.equal(body.resource, 'https://storage.azure.com/')
  assert.equal(body.client_id, SA.clientId)
  const ua = await http(url(U1.clientId), { headers: { secret: e.env.MSI_SECRET as string } })
  assert.equal(claims(ua.json<{ access_token: string }>()).oid, U1.principalId)
  const wrong: Record<string, string>[] = [
    { secret: 'nope' },
    {},
    { secret: (await endpoint(c.s, site, 'app-service')).env.IDENTITY_HEADER as string },
  ]
  for (const headers of wrong) {
    const bad = await http(url(SA.clientId), { headers })
    assert.equal(bad.status, 401, bad.text)
    assert.equal(bad.text, 'Invalid secret token header: .')
    assert.equal(bad.headers['content-type'], 'text/plain; charset=utf-8')
  }
})

/** The SHA-1 thumbprint of the certificate azid's HTTPS port presents. */
function peerThumbprint(url: string, ca: string): Promise<string> {
  const u = new URL(url)
  return new Promise((res, rej) => {
    const sock = connect({ host: u.hostname, port: Number(u.port), ca, servername: 'localhost' }, () => {
      res(sock.getPeerCertificate().fingerprint.replaceAll(':', ''))
      sock.end()
    })
    sock.on('error', rej)
  })
}

test('§5 Service Fabric over the HTTPS port with the CA: numeric expires_on, only 2019-07-01-preview, the error envelope', async () => {
  const e: Endpoint = await endpoint(c.s, vmPath, 'service-fabric')
  assert.equal(e.env.IDENTITY_ENDPOINT, `${c.s.base}/servicefabric/msi/token`)
  assert.equal(e.env.IDENTITY_API_VERSION, '2019-07-01-preview')
  assert.equal(e.env.IDENTITY_SERVER_THUMBPRINT, await peerThumbprint(c.s.base, c.s.ca))
  const get = (query: string, headers: Record<string, string> = { Secret: e.env.IDENTITY_HEADER as string }) =>
    httpsRequest(`${e.env.IDENTITY_ENDPOINT}?${query}`, { ca: c.s.ca, headers })
  const r = await get('api-version=2019-07-01-preview&resource=https://vault.azure.net/')
  assert.equal(r.status, 200, r.text)
  const body = r.json<Record<string, unknown>>()
  assert.deepEqual(Object.keys(body), ['token_type', 'access_token', 'expires_on', 'resource'])
  assert.equal(body.token_type, 'Bearer')
  assert.equal(typeof body.expires_on, 'number')
  assert.equal(body.resource, 'https://vault.azure.net/')
  const cl = claims(body as { access_token: string })
  assert.equal(cl.oid, vmSa)
  assert.equal(cl.exp, body.expires_on)
  const sfError = (res: typeof r, status: number, code: string, message: string) => {
    assert.equal(res.status, status, res.text)
    const b = res.json<{ error: { correlationId: string; code: string; message: string } }>()
    assert.deepEqual(Object.keys(b), ['error'])
    assert.deepEqual(Object.keys(b.error), ['correlationId', 'code', 'message'])
    assert.match(b.error.correlationId, GUID)
    assert.equal(b.error.code, code)
    assert.equal(b.error.message, message)
  }
  sfError(
    await get('api-version=2019-07-01-preview&resource=x', {}),
    401,
    'SecretHeaderNotFound',
    'Secret is not found in the request headers.',
  )
  sfError(
    await get('api-version=2019-07-01-preview&resource=x', { Secret: 'forged' }),
    401,
    'SecretHeaderNotFound',
    'Secret is not found in the request headers.',
  )
  for (const v of ['2019-08-01', '2017-09-01'])
    sfError(
      await get(`api-version=${v}&resource=https://vault.azure.net/`),
      400,
      'InvalidApiVersion',
      `The api-version '${v}' is not supported. Supported version is '2019-07-01-preview'.`,
    )
  sfError(
    await get('resource=https://vault.azure.net/'),
    400,
    'InvalidApiVersion',
    "The api-version '' is not supported. Supported version is '2019-07-01-preview'.",
  )
  sfError(
    await get('api-version=2019-07-01-preview'),
    400,
    'ArgumentNullOrEmpty',
    "The parameter 'resource' should not be null or empty string.",
  )
  // The shared http listener serves the same path (JS works over plain http too).
  const plain = await http(
    `${c.s.server.endpoints.managedIdentity.sharedEndpoint}/servicefabric/msi/token?api-version=2019-07-01-preview&resource=https://vault.azure.net/`,
    { headers: { Secret: e.env.IDENTITY_HEADER as string } },
  )
  assert.equal(plain.status, 200, plain.text)
  assert.equal(plain.json<{ access_token: string }>().access_token, body.access_token)
})

test('§7 Cloud Shell: POST a form to MSI_ENDPOINT with Metadata: true → the IMDS body', async () => {
  const e = await endpoint(c.s, vmPath, 'cloud-shell')
  assert.equal(e.env.MSI_ENDPOINT, `${e.hostUrl}/oauth2/token`)
  const post = (form: string, headers: Record<string, string> = { Metadata: 'true' }) =>
    http(e.env.MSI_ENDPOINT as string, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: form,
    })
  const r = await post(`resource=${encodeURIComponent('https://management.core.windows.net/')}`)
  assert.equal(r.status, 200, r.text)
  const body = r.json<Record<string, string>>()
  assert.deepEqual(Object.keys(body), [
    'access_token',
    'client_id',
    'expires_in',
    'expires_on',
    'ext_expires_in',
    'not_before',
    'refresh_token',
    'resource',
    'token_type',
  ])
  for (const v of Object.values(body)) assert.equal(typeof v, 'string')
  assert.equal(body.resource, 'https://management.core.windows.net/')
  assert.equal(claims(body as { access_token: string }).oid, vmSa)
  const noMd = await post('resource=https://management.azure.com/', {})
  assert.equal(noMd.status, 400)
  assert.equal(noMd.text, '{"error":"invalid_request","error_description":"Required metadata header not specified"}')
  const noResource = await post('')
  assert.equal(noResource.status, 400)
  assert.equal(
    noResource.text,
    `{"error":"invalid_request","error_description":"Required query variable 'resource' is missing"}`,
  )
})
