// Workload identity: azid mints a service-account token from its own issuer (`<base>/oidc/<tenant>`), a federated
// identity credential on a user-assigned identity trusts it, and the token service exchanges it for a token of the
// identity (issue 4 item 4; api-shapes §1.3; docs/wire/sts-errors.md §7).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { httpsRequest, postForm } from '../../support/https.ts'
import { V } from '../arm/helpers.ts'
import { type Ctx, type Uami, admin, decodeJwt, setup, uami } from './helpers.ts'

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const SUBJECT = 'system:serviceaccount:default:workload'
const EXCHANGE = 'api://AzureADTokenExchange'

let c: Ctx
let U: Uami
let issuer: string
before(async () => {
  c = await setup()
  U = await uami(c, 'workload-id')
  const t = await mint({ subject: SUBJECT })
  issuer = t.issuer
  const fic = await c.admin.put(`${U.id}/federatedIdentityCredentials/k8s`, V.mi, {
    properties: { issuer, subject: SUBJECT, audiences: [EXCHANGE] },
  })
  assert.equal(fic.status, 201, fic.text)
})
after(() => c.s.stop())

async function mint(body: Record<string, unknown>) {
  const r = await admin(c.s, 'POST', '/_azid/workload/token', body)
  assert.equal(r.status, 200, r.text)
  return r.json<{ token: string; expiresOn: number; issuer: string }>()
}

const exchange = (assertion: string, clientId = U.clientId, scope = 'https://management.azure.com/.default') =>
  postForm(`${c.s.base}/${c.s.tenantId}/oauth2/v2.0/token`, c.s.ca, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
    scope,
  })

test('POST /_azid/workload/token: a JWT from <base>/oidc/<tenant> with sub, aud api://AzureADTokenExchange and the lifetime asked', async () => {
  assert.equal(issuer, `${c.s.base}/oidc/${c.s.tenantId}`)
  const t = await mint({ subject: SUBJECT, lifetime: '10m' })
  const { header, claims } = decodeJwt(t.token)
  assert.equal(header.alg, 'RS256')
  assert.equal(claims.iss, issuer)
  assert.equal(claims.sub, SUBJECT)
  assert.deepEqual(claims.aud, [EXCHANGE])
  assert.equal(claims.exp, t.expiresOn)
  assert.equal((claims.exp as number) - (claims.iat as number), 600)
  const custom = decodeJwt((await mint({ subject: SUBJECT, audience: 'api://other' })).token).claims
  assert.deepEqual(custom.aud, ['api://other'])
  // The issuer publishes its discovery document and keys like an AKS OIDC issuer.
  const disc = await httpsRequest(`${issuer}/.well-known/openid-configuration`, { ca: c.s.ca })
  assert.equal(disc.status, 200, disc.text)
  assert.equal(disc.json<{ issuer: string }>().issuer, issuer)
  assert.equal(disc.json<{ jwks_uri: string }>().jwks_uri, `${issuer}/keys`)
  const keys = await httpsRequest(`${issuer}/keys`, { ca: c.s.ca })
  assert.ok(keys.json<{ keys: { kid: string }[] }>().keys.some((k) => k.kid === header.kid))
  // Refusals of the admin API.
  for (const body of [{}, { subject: '' }, { subject: SUBJECT, lifetime: 'forever' }]) {
    const r = await admin(c.s, 'POST', '/_azid/workload/token', body)
    assert.equal(r.status, 400, JSON.stringify(body))
    assert.equal(r.json<{ error: { code: string } }>().error.code, 'BadRequest')
  }
  const noKey = await httpsRequest(`${c.s.base}/_azid/workload/token`, {
    ca: c.s.ca,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject: SUBJECT }),
  })
  assert.equal(noKey.status, 401)
})

test('exchange at /{tenant}/oauth2/v2.0/token (client_credentials + jwt-bearer, client_id = UAMI) → a token of the UAMI principal', async () => {
  const { token } = await mint({ subject: SUBJECT })
  const r = await exchange(token)
  assert.equal(r.status, 200, r.text)
  const body = r.json<{ access_token: string; token_type: string; expires_in: number }>()
  assert.equal(body.token_type, 'Bearer')
  const claims = decodeJwt(body.access_token).claims
  assert.equal(claims.oid, U.principalId)
  assert.equal(claims.appid ?? claims.azp, U.clientId)
  assert.equal(claims.tid, c.s.tenantId)
  assert.equal(claims.aud, 'https://management.azure.com')
  assert.equal(claims.xms_mirid, U.id.replace('/resourceGroups/', '/resourcegroups/'))
  // The token is accepted by ARM (the identity has no role yet: 403, not 401).
  const arm = await c.admin.get(c.p.rg('rg'), V.rg, { token: body.access_token })
  assert.equal(arm.status, 403, arm.text)
  assert.equal(arm.json<{ error: { code: string } }>().error.code, 'AuthorizationFailed')
  // The exchange is in the audit log as the identity's issuance.
  await c.s.server.audit.flush()
  const events = await c.s.server.audit.query({ kind: 'token', result: 'success', principalId: U.principalId })
  assert.ok(
    events.some((e) => e.grantType === 'client_credentials' && e.clientId === U.clientId),
    JSON.stringify(events),
  )
})

test('a wrong subject → 401 invalid_client AADSTS700213; another identity or audience does not match either', async () => {
  const { token } = await mint({ subject: 'system:serviceaccount:default:intruder' })
  const r = await exchange(token)
  assert.equal(r.status, 401, r.text)
  const body = r.json<{ error: string; error_description: string; error_codes: number[] }>()
  assert.equal(body.error, 'invalid_client')
  assert.deepEqual(body.error_codes, [700213])
  assert.match(
    body.error_description,
    /^AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:default:intruder'\. /,
  )
  // Right subject, wrong audience: AADSTS700212.
  const aud = await exchange((await mint({ subject: SUBJECT, audience: 'api://other' })).token)
  assert.equal(aud.status, 401, aud.text)
  assert.deepEqual(aud.json<{ error_codes: number[] }>().error_codes, [700212])
  // A UAMI without a credential does not accept the assertion.
  const bare = await uami(c, 'workload-bare')
  const none = await exchange((await mint({ subject: SUBJECT })).token, bare.clientId)
  assert.equal(none.status, 400, none.text)
  assert.deepEqual(none.json<{ error_codes: number[] }>().error_codes, [70021])
  // Deleting the credential ends the trust.
  assert.equal((await c.admin.del(`${U.id}/federatedIdentityCredentials/k8s`, V.mi)).status, 200)
  const gone = await exchange((await mint({ subject: SUBJECT })).token)
  assert.equal(gone.status, 400, gone.text)
  assert.deepEqual(gone.json<{ error_codes: number[] }>().error_codes, [70021])
})
