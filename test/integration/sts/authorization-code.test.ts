// Authorization code with PKCE as `az login` runs it: /authorize sign-in page, the redirect, the redemption, and the
// refusals (docs/wire/sts-errors.md §10).
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { jwtVerify } from 'jose'
import { type HttpResult, decodeJwt, httpsRequest, postForm } from '../../support/https.ts'
import { startTestServer, type TestServer } from '../../support/server.ts'
import { AZ_CLI, expectStsError, localJwks, v1TokenUrl, v2TokenUrl } from './helpers.ts'

const REDIRECT = 'http://localhost:8400'
const AZ_SCOPE = 'https://management.core.windows.net//.default offline_access openid profile'

let s: TestServer
let upn: string
let password: string
let userId: string
let webAppId: string
let webAppSecret: string
before(async () => {
  s = await startTestServer()
  upn = s.server.bootstrap.userPrincipalName
  password = s.server.bootstrap.userPassword ?? ''
  userId = s.server.bootstrap.userId
  const { application } = await s.server.directory.createApplication({
    tenantId: s.tenantId,
    displayName: 'azid web app',
    redirectUris: ['https://app.example.com/signin-oidc'],
  })
  webAppId = application.appId
  webAppSecret = (await s.server.directory.addPassword({ appId: webAppId })).secretText
})
after(() => s.stop())

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

function authorizeQuery(o: Record<string, string> = {}) {
  return new URLSearchParams({
    client_id: AZ_CLI,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: AZ_SCOPE,
    state: 'st-123',
    ...o,
  })
}

/** The hidden fields of the sign-in form, as a browser would post them back. */
function formFields(html: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    out[m[1] as string] = (m[2] as string)
      .replaceAll('&quot;', '"')
      .replaceAll('&#39;', "'")
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&amp;', '&')
  }
  return out
}

/** GET /authorize, then POST the page with the credentials; returns the sign-in POST answer. */
async function signIn(q: Record<string, string>, creds = { username: '', password: '' }, version: 1 | 2 = 2) {
  const path = `/${s.tenantId}/oauth2/${version === 2 ? 'v2.0/' : ''}authorize`
  const page = await httpsRequest(`${s.base}${path}?${authorizeQuery(q)}`, { ca: s.ca })
  assert.equal(page.status, 200, page.text)
  const action = /<form method="post" action="([^"]+)">/.exec(page.text)?.[1]
  assert.equal(action, path)
  return postForm(`${s.base}${action}`, s.ca, {
    ...formFields(page.text),
    username: creds.username || upn,
    password: creds.password || password,
  })
}

/** A fresh code for az with the given challenge. */
async function code(challenge: string, q: Record<string, string> = {}): Promise<string> {
  const r = await signIn({ code_challenge: challenge, code_challenge_method: 'S256', ...q })
  assert.equal(r.status, 302, r.text)
  const loc = new URL(String(r.headers.location))
  return loc.searchParams.get('code') as string
}

function redeem(form: Record<string, string>, version: 1 | 2 = 2): Promise<HttpResult> {
  return postForm(version === 2 ? v2TokenUrl(s) : v1TokenUrl(s), s.ca, {
    client_id: AZ_CLI,
    grant_type: 'authorization_code',
    redirect_uri: REDIRECT,
    ...form,
  })
}

test('GET /authorize shows the sign-in page with the request in hidden fields', async () => {
  const { challenge } = pkce()
  const r = await httpsRequest(
    `${s.base}/${s.tenantId}/oauth2/v2.0/authorize?${authorizeQuery({ code_challenge: challenge, code_challenge_method: 'S256', login_hint: upn })}`,
    { ca: s.ca },
  )
  assert.equal(r.status, 200)
  assert.match(String(r.headers['content-type']), /^text\/html/)
  assert.match(r.text, /to continue to <b>Microsoft Azure CLI<\/b>/)
  const fields = formFields(r.text)
  assert.equal(fields.client_id, AZ_CLI)
  assert.equal(fields.redirect_uri, REDIRECT)
  assert.equal(fields.scope, AZ_SCOPE)
  assert.equal(fields.code_challenge, challenge)
  assert.equal(fields.code_challenge_method, 'S256')
  assert.equal(fields.state, 'st-123')
  assert.match(r.text, new RegExp(`name="username" type="text" autocomplete="username" value="${upn}"`))
})

test('sign-in → 302 to the redirect URI with code and state; the verifier redeems it for user tokens (OUT-001)', async () => {
  const { verifier, challenge } = pkce()
  const r = await signIn({ code_challenge: challenge, code_challenge_method: 'S256', nonce: 'n-0S6_WzA2Mj' })
  assert.equal(r.status, 302, r.text)
  const loc = new URL(String(r.headers.location))
  assert.equal(`${loc.origin}`, REDIRECT)
  assert.equal(loc.pathname, '/')
  assert.equal(loc.searchParams.get('state'), 'st-123')
  const c = loc.searchParams.get('code')
  assert.ok(c && c.length >= 40)
  assert.ok(loc.searchParams.get('session_state'))

  const t = await redeem({ code: c, code_verifier: verifier, scope: AZ_SCOPE, client_info: '1' })
  assert.equal(t.status, 200, t.text)
  const b = t.json<Record<string, unknown>>()
  assert.deepEqual(Object.keys(b), [
    'token_type',
    'scope',
    'expires_in',
    'ext_expires_in',
    'access_token',
    'refresh_token',
    'id_token',
    'client_info',
  ])
  const jwks = await localJwks(s)
  const at = await jwtVerify(String(b.access_token), jwks, {
    algorithms: ['RS256'],
    issuer: `https://sts.windows.net/${s.tenantId}/`,
    audience: 'https://management.core.windows.net/',
  })
  assert.equal(at.payload.oid, userId)
  assert.equal(at.payload.upn, upn)
  assert.equal(at.payload.scp, 'user_impersonation')
  assert.equal(at.payload.idtyp, 'user')
  const id = await jwtVerify(String(b.id_token), jwks, {
    algorithms: ['RS256'],
    issuer: `${s.base}/${s.tenantId}/v2.0`,
    audience: AZ_CLI,
  })
  assert.equal(id.payload.nonce, 'n-0S6_WzA2Mj')
  assert.equal(id.payload.preferred_username, upn)
  assert.deepEqual(JSON.parse(Buffer.from(String(b.client_info), 'base64url').toString('utf8')), {
    uid: userId,
    utid: s.tenantId,
  })
})

test('a wrong code_verifier → 400 invalid_grant 501481; a missing one too', async () => {
  const { challenge } = pkce()
  const r = await redeem({ code: await code(challenge), code_verifier: pkce().verifier })
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_grant',
    code: 501481,
    text: 'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
    audit: 'pkceMismatch',
  })
  const none = await redeem({ code: await code(challenge) })
  await expectStsError(s, none, { status: 400, error: 'invalid_grant', code: 501481, audit: 'pkceMismatch' })
})

test('a code redeemed twice → 400 invalid_grant 54005', async () => {
  const { verifier, challenge } = pkce()
  const c = await code(challenge)
  const first = await redeem({ code: c, code_verifier: verifier })
  assert.equal(first.status, 200, first.text)
  const second = await redeem({ code: c, code_verifier: verifier })
  await expectStsError(s, second, {
    status: 400,
    error: 'invalid_grant',
    code: 54005,
    text: 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    audit: 'codeRedeemed',
  })
})

test('a different redirect_uri at redemption → 400 invalid_grant 500112', async () => {
  const { verifier, challenge } = pkce()
  const r = await redeem({
    code: await code(challenge),
    code_verifier: verifier,
    redirect_uri: 'http://localhost:8401',
  })
  await expectStsError(s, r, {
    status: 400,
    error: 'invalid_grant',
    code: 500112,
    text: `The reply address 'http://localhost:8401' does not match the reply address '${REDIRECT}' provided when requesting Authorization code.`,
    audit: 'redirectUriMismatch',
  })
})

test('a garbage code → 9002313; empty scope at redemption → 28003', async () => {
  const g = await redeem({ code: 'not-a-code', code_verifier: 'x' })
  await expectStsError(s, g, {
    status: 400,
    error: 'invalid_grant',
    code: 9002313,
    text: 'Invalid request. Request is malformed or invalid.',
    audit: 'grantMalformed',
  })
  const { verifier, challenge } = pkce()
  const e = await redeem({ code: await code(challenge), code_verifier: verifier, scope: ' ' })
  await expectStsError(s, e, { status: 400, error: 'invalid_request', code: 28003, audit: 'emptyScopeAtRedemption' })
})

test('an unregistered redirect URI for a directory app → 50011 error page, no sign-in form', async () => {
  const r = await httpsRequest(
    `${s.base}/${s.tenantId}/oauth2/v2.0/authorize?${authorizeQuery({ client_id: webAppId, redirect_uri: 'https://evil.example.com/cb' })}`,
    { ca: s.ca },
  )
  assert.equal(r.status, 400)
  assert.match(String(r.headers['content-type']), /^text\/html/)
  assert.ok(
    r.text.includes(
      `AADSTS50011: The redirect URI &#39;https://evil.example.com/cb&#39; specified in the request does not match the redirect URIs configured for the application &#39;${webAppId}&#39;.`,
    ),
    r.text,
  )
  assert.doesNotMatch(r.text, /name="password"/)
  // First-party public clients take loopback redirect URIs only.
  const az = await httpsRequest(
    `${s.base}/${s.tenantId}/oauth2/v2.0/authorize?${authorizeQuery({ redirect_uri: 'https://evil.example.com/cb' })}`,
    { ca: s.ca },
  )
  assert.equal(az.status, 400)
  assert.match(az.text, /AADSTS50011/)
})

test('a registered redirect URI of a confidential web app: code, then redemption with its secret', async () => {
  const { verifier, challenge } = pkce()
  const r = await signIn({
    client_id: webAppId,
    redirect_uri: 'https://app.example.com/signin-oidc',
    scope: 'openid profile offline_access https://graph.microsoft.com/User.Read',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  assert.equal(r.status, 302, r.text)
  const loc = new URL(String(r.headers.location))
  assert.equal(`${loc.origin}${loc.pathname}`, 'https://app.example.com/signin-oidc')
  const c = loc.searchParams.get('code') as string
  const t = await postForm(v2TokenUrl(s), s.ca, {
    client_id: webAppId,
    client_secret: webAppSecret,
    grant_type: 'authorization_code',
    code: c,
    redirect_uri: 'https://app.example.com/signin-oidc',
    code_verifier: verifier,
  })
  assert.equal(t.status, 200, t.text)
  const claims = decodeJwt(t.json<{ access_token: string }>().access_token).claims
  assert.equal(claims.aud, 'https://graph.microsoft.com')
  assert.equal(claims.scp, 'User.Read')
  assert.equal(claims.appidacr, '1')
})

test('a wrong password → the sign-in page again with AADSTS50126, no redirect', async () => {
  const { challenge } = pkce()
  const r = await signIn(
    { code_challenge: challenge, code_challenge_method: 'S256' },
    { username: upn, password: 'not-the-password' },
  )
  assert.equal(r.status, 200)
  assert.equal(r.headers.location, undefined)
  assert.match(r.text, /AADSTS50126: Error validating credentials due to invalid username or password\./)
  assert.match(r.text, /name="password"/)
  // The request survives in the hidden fields for the next try.
  assert.equal(formFields(r.text).code_challenge, challenge)
})

test('response_type other than code → 700054 page', async () => {
  const r = await httpsRequest(
    `${s.base}/${s.tenantId}/oauth2/v2.0/authorize?${authorizeQuery({ response_type: 'token' })}`,
    { ca: s.ca },
  )
  assert.equal(r.status, 400)
  assert.match(r.text, /AADSTS700054/)
})

test('response_mode=form_post answers with an auto-posting form to the redirect URI', async () => {
  const { challenge } = pkce()
  const r = await signIn({ code_challenge: challenge, code_challenge_method: 'S256', response_mode: 'form_post' })
  assert.equal(r.status, 200, r.text)
  assert.match(r.text, new RegExp(`<form method="post" action="${REDIRECT}">`))
  const f = formFields(r.text)
  assert.ok(f.code)
  assert.equal(f.state, 'st-123')
})

test('the v1 /oauth2/authorize with resource: code redeems at /oauth2/token in v1 shape', async () => {
  const { verifier, challenge } = pkce()
  const r = await signIn(
    {
      resource: 'https://management.core.windows.net/',
      scope: '',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    },
    undefined,
    1,
  )
  assert.equal(r.status, 302, r.text)
  const c = new URL(String(r.headers.location)).searchParams.get('code') as string
  const t = await redeem({ code: c, code_verifier: verifier, resource: 'https://management.core.windows.net/' }, 1)
  assert.equal(t.status, 200, t.text)
  const b = t.json<Record<string, unknown>>()
  assert.equal(b.token_type, 'Bearer')
  assert.equal(b.scope, 'user_impersonation')
  assert.equal(b.resource, 'https://management.core.windows.net/')
  assert.equal(typeof b.expires_on, 'string')
  assert.ok(b.refresh_token)
  assert.equal(decodeJwt(String(b.id_token)).claims.upn, upn)
})
