// Microsoft Graph subset against the whole server: managed-identity service principals made through ARM, every filter
// form az uses (api-shapes §5.3), getByIds, users, app registration with secrets, and Graph's error envelope.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { AuditEvent } from '../../../src/audit/index.ts'
import { type HttpResult, httpsRequest, postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { type Arm, GUID_RE, V, adminClient, armToken } from '../arm/helpers.ts'
import { AZ_CLI, adminRequest, expectStsError } from '../sts/helpers.ts'

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default'
const CT = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8'
const IDENTITY_SPN = /^https:\/\/identity\.azure\.net\/[A-Za-z0-9+/]{43}=$/
const RANDOM_ID = '5a0ee0d4-7e0b-4c3b-9a36-1d3f0f5b2a11'

let s: TestServer
let arm: Arm
let token: string
let sub: string
let uami: { id: string; principalId: string; clientId: string }
let vm: { id: string; principalId: string; clientId: string }
/** A registered app without directory rights (reads only). */
let reader: { appId: string; token: string; spId: string }

before(async () => {
  s = await startTestServer()
  sub = s.server.endpoints.subscriptionId
  arm = await adminClient(s)
  token = await armToken(s, s.clientId, s.clientSecret, GRAPH_SCOPE)
  const rg = `/subscriptions/${sub}/resourceGroups/rg1`
  assert.equal((await arm.put(rg, V.rg, { location: 'westus' })).status, 201)
  const id = await arm.put(`${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1`, '2023-01-31', {
    location: 'westus',
  })
  assert.equal(id.status, 201, id.text)
  const idBody = id.json<{ id: string; properties: { principalId: string; clientId: string } }>()
  uami = { id: idBody.id, ...idBody.properties }
  const v = await arm.put(`${rg}/providers/Microsoft.Compute/virtualMachines/vm1`, '2018-06-01', {
    location: 'westus',
    identity: { type: 'SystemAssigned' },
  })
  assert.ok(v.status === 200 || v.status === 201, v.text)
  const vmBody = v.json<{ id: string; identity: { principalId: string } }>()
  const vmSp = await s.server.directory.store.getServicePrincipal(vmBody.identity.principalId)
  assert.ok(vmSp)
  vm = { id: vmBody.id, principalId: vmBody.identity.principalId, clientId: vmSp.appId }

  const { application, servicePrincipal } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'graph reader',
  })
  const { secretText } = await s.server.directory.addPassword({ appId: application.appId })
  reader = {
    appId: application.appId,
    spId: servicePrincipal.objectId,
    token: await armToken(s, application.appId, secretText, GRAPH_SCOPE),
  }
})
after(() => s.stop())

function graph(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const tok = opts.token === undefined ? token : opts.token
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body)
  return httpsRequest(`${s.base}${path}`, {
    ca: s.ca,
    method,
    headers: {
      ...(tok ? { authorization: `Bearer ${tok}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...opts.headers,
    },
    ...(body === undefined ? {} : { body }),
  })
}
const get = (path: string, opts?: Parameters<typeof graph>[2]) => graph('GET', path, opts)

/** The way az builds `$filter` URLs: spaces as %20, quotes as %27. */
const azFilter = (f: string) => encodeURIComponent(f).replace(/'/g, '%27')

function ok<T = Record<string, unknown>>(r: HttpResult, status = 200): T {
  assert.equal(r.status, status, r.text)
  assert.equal(r.headers['content-type'], CT)
  assert.match(String(r.headers['request-id']), GUID_RE)
  return r.json<T>()
}

/** Graph's envelope (docs/wire/arm-errors.md §9): code, message, innerError {date, request-id, client-request-id}. */
function expectGraphError(
  r: HttpResult,
  status: number,
  code: string,
  message: string | RegExp,
  clientRequestId?: string,
) {
  assert.equal(r.status, status, r.text)
  assert.match(String(r.headers['content-type']), /^application\/json/)
  const body = r.json<{ error: { code: string; message: string; innerError: Record<string, string> } }>()
  assert.deepEqual(Object.keys(body), ['error'])
  assert.deepEqual(Object.keys(body.error), ['code', 'message', 'innerError'])
  assert.equal(body.error.code, code)
  if (typeof message === 'string') assert.equal(body.error.message, message)
  else assert.match(body.error.message, message)
  const inner = body.error.innerError
  assert.deepEqual(Object.keys(inner), ['date', 'request-id', 'client-request-id'])
  assert.match(inner.date as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/)
  assert.equal(inner['request-id'], r.headers['request-id'])
  assert.equal(inner['client-request-id'], r.headers['client-request-id'])
  assert.equal(inner['client-request-id'], clientRequestId ?? inner['request-id'])
}

/** The expected wire object of a managed identity's service principal (api-shapes §5.1). */
function miServicePrincipal(q: {
  principalId: string
  clientId: string
  name: string
  resourceId: string
  explicit: boolean
}) {
  return {
    id: q.principalId,
    deletedDateTime: null,
    accountEnabled: true,
    alternativeNames: [
      q.explicit ? 'isExplicit=True' : 'isExplicit=False',
      q.resourceId.replace('/resourceGroups/', '/resourcegroups/'),
    ],
    appDisplayName: null,
    appDescription: null,
    appId: q.clientId,
    applicationTemplateId: null,
    appOwnerOrganizationId: null,
    appRoleAssignmentRequired: false,
    createdDateTime: 'CREATED',
    description: null,
    disabledByMicrosoftStatus: null,
    displayName: q.name,
    homepage: null,
    loginUrl: null,
    logoutUrl: null,
    notes: null,
    notificationEmailAddresses: [],
    preferredSingleSignOnMode: null,
    preferredTokenSigningKeyThumbprint: null,
    replyUrls: [],
    servicePrincipalNames: [q.clientId, 'SPN'],
    servicePrincipalType: 'ManagedIdentity',
    signInAudience: null,
    tags: [],
    tokenEncryptionKeyId: null,
    samlSingleSignOnSettings: null,
    addIns: [],
    appRoles: [],
    info: null,
    keyCredentials: [],
    oauth2PermissionScopes: [],
    passwordCredentials: [],
    resourceSpecificApplicationPermissions: [],
    verifiedPublisher: { displayName: null, verifiedPublisherId: null, addedDateTime: null },
  }
}

/** Replaces the two generated values so the rest can be compared exactly. */
function normalizeMi(o: Record<string, unknown>) {
  assert.match(String(o.createdDateTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  const spns = o.servicePrincipalNames as string[]
  assert.match(spns[1] as string, IDENTITY_SPN)
  return { ...o, createdDateTime: 'CREATED', servicePrincipalNames: [spns[0], 'SPN'] }
}

const uamiExpected = () => miServicePrincipal({ ...uami, name: 'id1', resourceId: uami.id, explicit: true })
const vmExpected = () => miServicePrincipal({ ...vm, name: 'vm1', resourceId: vm.id, explicit: false })

test('GET /v1.0/servicePrincipals/{id}: a user-assigned identity, exactly as Graph shows it (api-shapes §5.1)', async () => {
  const r = await get(`/v1.0/servicePrincipals/${uami.principalId}`)
  const body = ok(r)
  assert.equal(r.headers['client-request-id'], r.headers['request-id'])
  assert.equal(r.headers['cache-control'], 'no-cache')
  const { '@odata.context': ctx, ...rest } = body
  assert.equal(ctx, 'https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity')
  assert.deepEqual(normalizeMi(rest), uamiExpected())
  assert.equal(Object.keys(body)[1], 'id')
})

test('GET: a system-assigned identity names its VM (isExplicit=False, the VM id, displayName vm1)', async () => {
  const body = ok(await get(`/v1.0/servicePrincipals/${vm.principalId}`))
  const { '@odata.context': _, ...rest } = body
  assert.deepEqual(normalizeMi(rest), vmExpected())
  assert.equal(
    (rest.alternativeNames as string[])[1],
    `/subscriptions/${sub}/resourcegroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1`,
  )
})

test("GET /servicePrincipals(appId='…'): the alternate key, plain and percent-encoded; /beta serves the same", async () => {
  const plain = ok(await get(`/v1.0/servicePrincipals(appId='${uami.clientId}')`))
  assert.equal(plain.id, uami.principalId)
  const encoded = ok(await get(`/v1.0/servicePrincipals(appId=%27${uami.clientId}%27)`))
  assert.equal(encoded.id, uami.principalId)
  const beta = ok(await get(`/beta/servicePrincipals/${uami.principalId}`))
  assert.equal(beta['@odata.context'], 'https://graph.microsoft.com/beta/$metadata#servicePrincipals/$entity')
  expectGraphError(
    await get(`/v1.0/servicePrincipals(appId='${RANDOM_ID}')`),
    404,
    'Request_ResourceNotFound',
    `Resource '${RANDOM_ID}' does not exist or one of its queried reference-property objects are not present.`,
  )
})

test('list filters az and scripts use (api-shapes §5.2–5.3), az-encoded', async () => {
  const ids = async (filter: string) => {
    const b = ok<{ '@odata.context': string; value: { id: string }[] }>(
      await get(`/v1.0/servicePrincipals?$filter=${azFilter(filter)}`),
    )
    assert.equal(b['@odata.context'], 'https://graph.microsoft.com/v1.0/$metadata#servicePrincipals')
    assert.deepEqual(Object.keys(b), ['@odata.context', 'value'])
    return b.value.map((v) => v.id).sort()
  }
  const both = [uami.principalId, vm.principalId].sort()
  // az role assignment create --assignee <clientId> / az ad sp show --id <clientId>
  assert.deepEqual(await ids(`servicePrincipalNames/any(c:c eq '${uami.clientId}')`), [uami.principalId])
  assert.deepEqual(await ids(`servicePrincipalNames/any(c:c eq '${uami.clientId.toUpperCase()}')`), [uami.principalId])
  assert.deepEqual(await ids(`servicePrincipalNames/any(c:c eq '${RANDOM_ID}')`), [])
  assert.deepEqual(await ids("displayName eq 'vm1'"), [vm.principalId])
  assert.deepEqual(await ids(`appId eq '${vm.clientId}'`), [vm.principalId])
  assert.deepEqual(await ids("startswith(displayName,'id')"), [uami.principalId])
  assert.deepEqual(await ids("servicePrincipalType eq 'ManagedIdentity'"), both)
  assert.deepEqual(await ids(`alternativeNames/any(x:x eq '${vm.id}')`), [vm.principalId])
  // az ad sp list --spn S --display-name P joins with `and`
  assert.deepEqual(await ids(`servicePrincipalNames/any(c:c eq '${vm.clientId}') and startswith(displayName,'vm')`), [
    vm.principalId,
  ])
  assert.deepEqual(await ids("servicePrincipalType eq 'ManagedIdentity' and displayName eq 'id1'"), [uami.principalId])
  assert.deepEqual(await ids("displayName eq 'vm1' or displayName eq 'id1'"), both)
  // the identity.azure.net name (base64 with + and /) is a name too
  const sp = ok(await get(`/v1.0/servicePrincipals/${uami.principalId}`))
  const spn = (sp.servicePrincipalNames as string[])[1] as string
  assert.deepEqual(await ids(`servicePrincipalNames/any(c:c eq '${spn}')`), [uami.principalId])
  // the bootstrap administrator's own service principal is an Application
  assert.deepEqual(await ids(`appId eq '${s.clientId}'`), [s.server.bootstrap.servicePrincipalId])
})

test('$select, $top with $count and @odata.nextLink paging over every service principal', async () => {
  const sel = ok<{ '@odata.context': string; value: Record<string, unknown>[] }>(
    await get(`/v1.0/servicePrincipals?$filter=${azFilter("displayName eq 'id1'")}&$select=appId,id`),
  )
  assert.equal(sel['@odata.context'], 'https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(id,appId)')
  assert.deepEqual(sel.value, [{ id: uami.principalId, appId: uami.clientId }])
  const one = ok(await get(`/v1.0/servicePrincipals/${vm.principalId}?$select=displayName`))
  assert.deepEqual(one, {
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(displayName)/$entity',
    displayName: 'vm1',
  })

  const all = (await s.server.directory.store.listServicePrincipals({ tenantId: s.tenantId })).map((x) => x.objectId)
  assert.ok(all.length >= 4)
  const seen: string[] = []
  let url: string | undefined = `${s.base}/v1.0/servicePrincipals?$top=1&$count=true&$select=id`
  let pages = 0
  while (url) {
    const r = await httpsRequest(url, {
      ca: s.ca,
      headers: { authorization: `Bearer ${token}`, ConsistencyLevel: 'eventual' },
    })
    const b = ok<{ '@odata.count': number; '@odata.nextLink'?: string; value: { id: string }[] }>(r)
    assert.equal(b['@odata.count'], all.length)
    assert.equal(b.value.length, 1)
    seen.push(...b.value.map((v) => v.id))
    if (b['@odata.nextLink']) {
      assert.ok(b['@odata.nextLink'].startsWith(`${s.base}/v1.0/servicePrincipals?`), b['@odata.nextLink'])
      assert.match(b['@odata.nextLink'], /[?&]\$skiptoken=[\w-]+$/)
      assert.match(b['@odata.nextLink'], /\$top=1/)
    }
    url = b['@odata.nextLink']
    pages++
  }
  assert.equal(pages, all.length)
  assert.deepEqual(seen, [...all].sort())

  const count = await get(
    `/v1.0/servicePrincipals/$count?$filter=${azFilter("servicePrincipalType eq 'ManagedIdentity'")}`,
  )
  assert.equal(count.status, 200)
  assert.equal(count.text, '2')
})

test('unsupported or malformed queries: Graph codes and texts', async () => {
  const q = (f: string) => get(`/v1.0/servicePrincipals?$filter=${azFilter(f)}`)
  expectGraphError(
    await q("homepage eq 'x'"),
    400,
    'Request_UnsupportedQuery',
    "Unsupported or invalid query filter clause specified for property 'homepage' of resource 'ServicePrincipal'.",
  )
  expectGraphError(
    await q("displayName ne 'vm1'"),
    400,
    'Request_UnsupportedQuery',
    "Unsupported property filter clause operator 'NotEqualsMatch'.",
  )
  expectGraphError(
    await q("endswith(displayName,'1')"),
    400,
    'Request_UnsupportedQuery',
    "Unsupported property filter clause operator 'EndsWithMatch'.",
  )
  expectGraphError(await q("displayName eq 'vm1"), 400, 'Request_BadRequest', 'Invalid filter clause')
  expectGraphError(await q('displayName eq'), 400, 'Request_BadRequest', 'Invalid filter clause')
  expectGraphError(
    await q("nosuch eq 'x'"),
    400,
    'BadRequest',
    "Could not find a property named 'nosuch' on type 'microsoft.graph.servicePrincipal'.",
  )
  expectGraphError(
    await get('/v1.0/servicePrincipals?$top=1000'),
    400,
    'Request_BadRequest',
    "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
  )
  expectGraphError(
    await get('/v1.0/servicePrincipals?$orderby=displayName'),
    400,
    'Request_UnsupportedQuery',
    'Sorting not supported for current query.',
  )
  expectGraphError(
    await get('/v1.0/servicePrincipals?$select=id,nosuch'),
    400,
    'BadRequest',
    "Parsing OData Select and Expand failed: Could not find a property named 'nosuch' on type 'microsoft.graph.servicePrincipal'.",
  )
  expectGraphError(
    await get('/v1.0/servicePrincipals?$skiptoken=garbage'),
    400,
    'Request_BadRequest',
    'Specified skip token is invalid.',
  )
})

test('404, 400 and 405 bodies; client-request-id is echoed', async () => {
  const crid = 'b0a5f0a3-6c55-4b5c-9d8e-0d6f4b7f7a01'
  expectGraphError(
    await get(`/v1.0/servicePrincipals/${RANDOM_ID}`, { headers: { 'client-request-id': crid } }),
    404,
    'Request_ResourceNotFound',
    `Resource '${RANDOM_ID}' does not exist or one of its queried reference-property objects are not present.`,
    crid,
  )
  expectGraphError(
    await get('/v1.0/servicePrincipals/not-a-guid'),
    400,
    'Request_BadRequest',
    "Invalid object identifier 'not-a-guid'.",
  )
  expectGraphError(await get('/v1.0/nosuch'), 400, 'BadRequest', "Resource not found for the segment 'nosuch'.")
  expectGraphError(
    await graph('PUT', `/v1.0/servicePrincipals/${uami.principalId}`, { body: {} }),
    405,
    'Request_BadRequest',
    'Specified HTTP method is not allowed for the request target.',
  )
  expectGraphError(
    await get('/v1.0/me'),
    400,
    'BadRequest',
    '/me request is only valid with delegated authentication flow.',
  )
})

test('401: no token, not a JWT, a token for another audience (docs/wire/arm-errors.md §9)', async () => {
  const none = await get('/v1.0/servicePrincipals', { token: null })
  expectGraphError(none, 401, 'InvalidAuthenticationToken', 'Access token is empty.')
  assert.match(String(none.headers['www-authenticate']), /^Bearer /)
  expectGraphError(
    await get('/v1.0/servicePrincipals', { token: 'not-a-jwt' }),
    401,
    'InvalidAuthenticationToken',
    'CompactToken parsing failed with error code: 80049217',
  )
  expectGraphError(
    await get('/v1.0/servicePrincipals', { token: arm.token }),
    401,
    'InvalidAuthenticationToken',
    'Access token validation failure. Invalid audience.',
  )
})

test('the Host header graph.microsoft.com reaches Graph whatever the path', async () => {
  const r = await httpsRequest(`${s.base}/v1.0/servicePrincipals/${vm.principalId}`, {
    ca: s.ca,
    servername: 'graph.microsoft.com',
    headers: { host: 'graph.microsoft.com', authorization: `Bearer ${token}` },
  })
  assert.equal(ok(r).displayName, 'vm1')
  const other = await httpsRequest(`${s.base}/subscriptions`, {
    ca: s.ca,
    servername: 'graph.microsoft.com',
    headers: { host: 'graph.microsoft.com', authorization: `Bearer ${token}` },
  })
  expectGraphError(other, 400, 'BadRequest', "Resource not found for the segment 'subscriptions'.")
})

test('directoryObjects/getByIds: @odata.type per object, unknown ids omitted, types honoured; directoryObjects/{id}', async () => {
  const userId = s.server.bootstrap.userId
  const body = {
    ids: [uami.principalId, RANDOM_ID, vm.principalId, userId],
    types: ['user', 'group', 'servicePrincipal', 'directoryObjectPartnerReference'],
  }
  const b = ok<{ '@odata.context': string; value: Record<string, unknown>[] }>(
    await graph('POST', '/v1.0/directoryObjects/getByIds', { body }),
  )
  assert.equal(b['@odata.context'], 'https://graph.microsoft.com/v1.0/$metadata#directoryObjects')
  assert.deepEqual(
    b.value.map((o) => [o['@odata.type'], o.id]),
    [
      ['#microsoft.graph.servicePrincipal', uami.principalId],
      ['#microsoft.graph.servicePrincipal', vm.principalId],
      ['#microsoft.graph.user', userId],
    ],
  )
  assert.equal(Object.keys(b.value[0] as object)[0], '@odata.type')
  const { '@odata.type': _t, ...sp } = b.value[0] as Record<string, unknown>
  assert.deepEqual(normalizeMi(sp), uamiExpected())
  assert.equal((b.value[2] as Record<string, unknown>).userPrincipalName, s.server.bootstrap.userPrincipalName)

  const users = ok<{ value: unknown[] }>(
    await graph('POST', '/v1.0/directoryObjects/getByIds', { body: { ids: body.ids, types: ['user'] } }),
  )
  assert.equal(users.value.length, 1)
  const tooMany = Array.from({ length: 1001 }, () => RANDOM_ID)
  expectGraphError(
    await graph('POST', '/v1.0/directoryObjects/getByIds', { body: { ids: tooMany } }),
    400,
    'Request_BadRequest',
    'The request contains 1001 ids; at most 1000 are allowed.',
  )

  const one = ok(await get(`/v1.0/directoryObjects/${vm.principalId}`))
  assert.equal(one['@odata.context'], 'https://graph.microsoft.com/v1.0/$metadata#directoryObjects/$entity')
  assert.deepEqual(Object.keys(one).slice(0, 3), ['@odata.context', '@odata.type', 'id'])
  assert.equal(one['@odata.type'], '#microsoft.graph.servicePrincipal')
  expectGraphError(
    await get(`/v1.0/directoryObjects/${RANDOM_ID}`),
    404,
    'Request_ResourceNotFound',
    `Resource '${RANDOM_ID}' does not exist or one of its queried reference-property objects are not present.`,
  )
})

test('users: $filter=userPrincipalName eq (az --assignee x@y), /users/{upn}, /users/{id}, /me with a user token', async () => {
  const upn = s.server.bootstrap.userPrincipalName
  const userId = s.server.bootstrap.userId
  const expected = {
    businessPhones: [],
    displayName: 'azid Administrator',
    givenName: null,
    jobTitle: null,
    mail: null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: null,
    userPrincipalName: upn,
    id: userId,
  }
  const list = ok(await get(`/v1.0/users?$filter=${azFilter(`userPrincipalName eq '${upn.toUpperCase()}'`)}`))
  assert.deepEqual(list, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users', value: [expected] })
  const none = ok<{ value: unknown[] }>(await get(`/v1.0/users?$filter=${azFilter("userPrincipalName eq 'no@body'")}`))
  assert.deepEqual(none.value, [])
  const byUpn = ok(await get(`/v1.0/users/${encodeURIComponent(upn)}`))
  assert.deepEqual(byUpn, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity', ...expected })
  assert.deepEqual(ok(await get(`/v1.0/users/${userId}`)), byUpn)
  expectGraphError(
    await get('/v1.0/users/nobody@nowhere'),
    404,
    'Request_ResourceNotFound',
    "Resource 'nobody@nowhere' does not exist or one of its queried reference-property objects are not present.",
  )

  // A user token for Graph through the device-code flow az uses.
  const start = await postForm(`${s.base}/organizations/oauth2/v2.0/devicecode`, s.ca, {
    client_id: AZ_CLI,
    scope: `${GRAPH_SCOPE} offline_access openid profile`,
  })
  assert.equal(start.status, 200, start.text)
  const d = start.json<{ user_code: string; device_code: string }>()
  assert.equal((await adminRequest(s, `/_azid/device/${d.user_code}/approve`, { body: {} })).status, 200)
  const t = await postForm(`${s.base}/organizations/oauth2/v2.0/token`, s.ca, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    client_id: AZ_CLI,
    device_code: d.device_code,
  })
  assert.equal(t.status, 200, t.text)
  const me = ok(await get('/v1.0/me', { token: t.json<{ access_token: string }>().access_token }))
  assert.deepEqual(me, byUpn)
})

test('managed identities are read-only through Graph (managed through ARM)', async () => {
  const text =
    'The service principal of a managed identity cannot be changed through Microsoft Graph. Manage it through its Azure resource.'
  expectGraphError(
    await graph('PATCH', `/v1.0/servicePrincipals/${uami.principalId}`, { body: { displayName: 'x' } }),
    400,
    'Request_BadRequest',
    text,
  )
  expectGraphError(await graph('DELETE', `/v1.0/servicePrincipals/${vm.principalId}`), 400, 'Request_BadRequest', text)
  assert.equal(ok(await get(`/v1.0/servicePrincipals/${uami.principalId}`)).displayName, 'id1')
})

test('403 for writes without directory rights; reads are open to any principal of the tenant', async () => {
  const denied = await graph('POST', '/v1.0/applications', { body: { displayName: 'nope' }, token: reader.token })
  expectGraphError(denied, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.')
  const b = ok<{ value: unknown[] }>(
    await get(`/v1.0/servicePrincipals?$filter=${azFilter(`appId eq '${uami.clientId}'`)}`, { token: reader.token }),
  )
  assert.equal(b.value.length, 1)
  const ev = await adminEvents(String(denied.headers['request-id']))
  assert.equal(ev?.result, 'failure')
  assert.equal(ev?.errorCode, 'InsufficientPrivileges')
  assert.equal(ev?.principalId, reader.spId)
})

async function adminEvents(requestId: string): Promise<AuditEvent | undefined> {
  const r = await adminRequest(s, '/_azid/logs?kind=admin&limit=10000')
  assert.equal(r.status, 200, r.text)
  return r.json<{ value: AuditEvent[] }>().value.find((e) => e.requestId === requestId)
}

test('register an app, add a password, sign in with it, remove the password: the token service refuses it', async () => {
  const created = await graph('POST', '/v1.0/applications', {
    body: {
      displayName: 'graph-registered',
      identifierUris: ['api://graph-registered'],
      web: { redirectUris: ['https://localhost/cb'] },
    },
  })
  const app = ok(created, 201)
  assert.equal(app['@odata.context'], 'https://graph.microsoft.com/v1.0/$metadata#applications/$entity')
  assert.match(String(app.id), GUID_RE)
  assert.match(String(app.appId), GUID_RE)
  assert.equal(app.displayName, 'graph-registered')
  assert.equal(app.signInAudience, 'AzureADMyOrg')
  assert.deepEqual(app.identifierUris, ['api://graph-registered'])
  assert.deepEqual(app.passwordCredentials, [])
  assert.deepEqual(app.keyCredentials, [])
  assert.deepEqual(app.appRoles, [])
  assert.equal(app.isFallbackPublicClient, false)
  assert.deepEqual((app.api as Record<string, unknown>).requestedAccessTokenVersion, null)
  assert.deepEqual((app.web as Record<string, unknown>).redirectUris, ['https://localhost/cb'])
  assert.deepEqual(app.publicClient, { redirectUris: [] })
  const appId = app.appId as string
  const objectId = app.id as string
  const createdEv = await adminEvents(String(created.headers['request-id']))
  assert.ok(createdEv, 'an admin audit event for the registration')
  assert.equal(createdEv.result, 'success')
  assert.equal(createdEv.principalId, s.server.bootstrap.servicePrincipalId)
  assert.equal(createdEv.details?.appId, appId)

  // az ad app show / az ad sp create resolve the app by appId
  const byFilter = ok<{ value: { id: string }[] }>(
    await get(`/v1.0/applications?$filter=${azFilter(`appId eq '${appId}'`)}`),
  )
  assert.deepEqual(
    byFilter.value.map((v) => v.id),
    [objectId],
  )
  const byUri = ok<{ value: { id: string }[] }>(
    await get(`/v1.0/applications?$filter=${azFilter("identifierUris/any(s:s eq 'api://graph-registered')")}`),
  )
  assert.deepEqual(
    byUri.value.map((v) => v.id),
    [objectId],
  )
  assert.equal(ok(await get(`/v1.0/applications(appId='${appId}')`)).id, objectId)
  expectGraphError(
    await graph('POST', '/v1.0/applications', {
      body: { displayName: 'dup', identifierUris: ['api://graph-registered'] },
    }),
    400,
    'Request_BadRequest',
    'Another object with the same value for property identifierUris already exists.',
  )

  // its service principal exists (the portal's behaviour); POST /servicePrincipals answers with it
  const sp = ok(await graph('POST', '/v1.0/servicePrincipals', { body: { appId } }), 201)
  assert.equal(sp.appId, appId)
  assert.equal(sp.servicePrincipalType, 'Application')
  assert.equal(sp.appDisplayName, 'graph-registered')
  assert.deepEqual(sp.servicePrincipalNames, [appId, 'api://graph-registered'])
  expectGraphError(
    await graph('POST', '/v1.0/servicePrincipals', { body: { appId: RANDOM_ID } }),
    400,
    'Request_BadRequest',
    `The appId '${RANDOM_ID}' of the service principal does not reference a valid application object.`,
  )

  const added = ok(
    await graph('POST', `/v1.0/applications/${objectId}/addPassword`, {
      body: { passwordCredential: { displayName: 'ci', endDateTime: '2099-01-01T00:00:00Z' } },
    }),
  )
  assert.deepEqual(Object.keys(added), [
    '@odata.context',
    'customKeyIdentifier',
    'displayName',
    'endDateTime',
    'hint',
    'keyId',
    'secretText',
    'startDateTime',
  ])
  assert.equal(added['@odata.context'], 'https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential')
  assert.equal(added.displayName, 'ci')
  assert.equal(added.endDateTime, '2099-01-01T00:00:00.000Z')
  const secret = added.secretText as string
  assert.equal(added.hint, secret.slice(0, 3))
  const keyId = added.keyId as string

  const shown = ok(await get(`/v1.0/applications/${objectId}`))
  assert.deepEqual(shown.passwordCredentials, [
    {
      customKeyIdentifier: null,
      displayName: 'ci',
      endDateTime: '2099-01-01T00:00:00.000Z',
      hint: secret.slice(0, 3),
      keyId,
      secretText: null,
      startDateTime: added.startDateTime,
    },
  ])

  // sign in as the new app
  const tok = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/token`, s.ca, {
    grant_type: 'client_credentials',
    client_id: appId,
    client_secret: secret,
    scope: GRAPH_SCOPE,
  })
  assert.equal(tok.status, 200, tok.text)
  const appToken = tok.json<{ access_token: string }>().access_token
  assert.equal(ok(await get(`/v1.0/servicePrincipals(appId='${appId}')`, { token: appToken })).appId, appId)

  const removed = await graph('POST', `/v1.0/applications/${objectId}/removePassword`, { body: { keyId } })
  assert.equal(removed.status, 204, removed.text)
  expectGraphError(
    await graph('POST', `/v1.0/applications/${objectId}/removePassword`, { body: { keyId } }),
    400,
    'Request_BadRequest',
    `No password credential found with keyId '${keyId}'.`,
  )
  const refused = await postForm(`${s.base}/${s.tenantId}/oauth2/v2.0/token`, s.ca, {
    grant_type: 'client_credentials',
    client_id: appId,
    client_secret: secret,
    scope: GRAPH_SCOPE,
  })
  await expectStsError(s, refused, { status: 401, error: 'invalid_client', code: 7000215 })
  assert.deepEqual(ok(await get(`/v1.0/applications/${objectId}`)).passwordCredentials, [])
})

test('PATCH and DELETE an application; PATCH its service principal; the SP names follow identifierUris', async () => {
  const app = ok(await graph('POST', '/v1.0/applications', { body: { displayName: 'to-change' } }), 201)
  const objectId = app.id as string
  const appId = app.appId as string
  const patched = await graph('PATCH', `/v1.0/applications/${objectId}`, {
    body: {
      displayName: 'changed',
      identifierUris: [`api://${appId}`],
      api: { requestedAccessTokenVersion: 2 },
      isFallbackPublicClient: true,
      publicClient: { redirectUris: ['http://localhost'] },
      appRoles: [
        {
          id: '0e3c2a43-8ab3-4b5e-a1a0-0c5fb7a1d0a1',
          allowedMemberTypes: ['Application'],
          value: 'Data.Read',
          displayName: 'Read data',
          description: 'Reads data',
          isEnabled: true,
        },
      ],
      notes: 'ignored by azid',
    },
  })
  assert.equal(patched.status, 204, patched.text)
  const after = ok(await get(`/v1.0/applications/${objectId}`))
  assert.equal(after.displayName, 'changed')
  assert.equal(after.isFallbackPublicClient, true)
  assert.deepEqual(after.publicClient, { redirectUris: ['http://localhost'] })
  assert.equal((after.api as Record<string, unknown>).requestedAccessTokenVersion, 2)
  assert.deepEqual(after.appRoles, [
    {
      allowedMemberTypes: ['Application'],
      description: 'Reads data',
      displayName: 'Read data',
      id: '0e3c2a43-8ab3-4b5e-a1a0-0c5fb7a1d0a1',
      isEnabled: true,
      origin: 'Application',
      value: 'Data.Read',
    },
  ])
  const sp = ok(await get(`/v1.0/servicePrincipals(appId='${appId}')`))
  assert.deepEqual(sp.servicePrincipalNames, [appId, `api://${appId}`])
  assert.equal((sp.appRoles as unknown[]).length, 1)
  expectGraphError(
    await graph('PATCH', `/v1.0/applications/${objectId}`, { body: { bogus: 1 } }),
    400,
    'BadRequest',
    "The property 'bogus' does not exist on type 'microsoft.graph.application'. Make sure to only use property names that are defined by the type or mark the type as open type.",
  )
  expectGraphError(
    await graph('POST', '/v1.0/applications', { body: {} }),
    400,
    'Request_BadRequest',
    "Invalid value specified for property 'displayName' of resource 'Application'.",
  )

  const spPatch = await graph('PATCH', `/v1.0/servicePrincipals/${sp.id}`, { body: { displayName: 'sp renamed' } })
  assert.equal(spPatch.status, 204, spPatch.text)
  assert.equal(ok(await get(`/v1.0/servicePrincipals/${sp.id}`)).displayName, 'sp renamed')

  const del = await graph('DELETE', `/v1.0/applications/${objectId}`)
  assert.equal(del.status, 204, del.text)
  expectGraphError(
    await get(`/v1.0/applications/${objectId}`),
    404,
    'Request_ResourceNotFound',
    `Resource '${objectId}' does not exist or one of its queried reference-property objects are not present.`,
  )
  expectGraphError(
    await get(`/v1.0/servicePrincipals(appId='${appId}')`),
    404,
    'Request_ResourceNotFound',
    `Resource '${appId}' does not exist or one of its queried reference-property objects are not present.`,
  )
})

test('invalid JSON bodies get Graph text', async () => {
  const r = await httpsRequest(`${s.base}/v1.0/applications`, {
    ca: s.ca,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{not json',
  })
  expectGraphError(
    r,
    400,
    'BadRequest',
    'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
  )
})
