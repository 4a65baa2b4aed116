import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DomainError } from '../kernel/errors.ts'
import { STS_ERRORS, StsError, type StsErrorKey } from './errors.ts'
import { entraTimestamp, renderStsError, tokenJson } from './render.ts'
import { V1_USER_TOKEN_FIELDS } from '../../test/support/entra.ts'

const NOW = Date.UTC(2016, 0, 9, 2, 2, 12, 345)
const CTX = {
  traceId: '0b8a5c2e-1111-4222-8333-444455556666',
  correlationId: '7d9e0f1a-aaaa-4bbb-8ccc-ddddeeeeffff',
  nowMs: NOW,
  origin: 'https://login.microsoftonline.com',
}

/** Every argument a text may read, named after itself, so a missing one shows up as its name, never 'undefined'. */
const anyArgs = new Proxy({} as Record<string, string>, {
  get: (_t, p) => (typeof p === 'string' ? `<${p}>` : undefined),
})

describe('entraTimestamp', () => {
  test('formats as YYYY-MM-DD HH:MM:SSZ (UTC, milliseconds dropped)', () => {
    assert.equal(entraTimestamp(NOW), '2016-01-09 02:02:12Z')
    assert.equal(entraTimestamp(0), '1970-01-01 00:00:00Z')
  })
})

describe('renderStsError', () => {
  test('the Entra error body, field by field and in order', () => {
    const r = renderStsError(new StsError('missingParameter', { name: 'grant_type' }), CTX)
    assert.equal(r.status, 400)
    assert.deepEqual(Object.keys(r.body), [
      'error',
      'error_description',
      'error_codes',
      'timestamp',
      'trace_id',
      'correlation_id',
      'error_uri',
    ])
    assert.deepEqual(r.body, {
      error: 'invalid_request',
      error_description:
        "AADSTS900144: The request body must contain the following parameter: 'grant_type'. Trace ID: 0b8a5c2e-1111-4222-8333-444455556666 Correlation ID: 7d9e0f1a-aaaa-4bbb-8ccc-ddddeeeeffff Timestamp: 2016-01-09 02:02:12Z",
      error_codes: [900144],
      timestamp: '2016-01-09 02:02:12Z',
      trace_id: CTX.traceId,
      correlation_id: CTX.correlationId,
      error_uri: 'https://login.microsoftonline.com/error?code=900144',
    })
  })

  test('invalid_client answers 401', () => {
    const r = renderStsError(new StsError('invalidClientSecret', { clientId: 'abc' }), CTX)
    assert.equal(r.status, 401)
    assert.equal(r.body.error, 'invalid_client')
    assert.deepEqual(r.body.error_codes, [7000215])
    assert.ok(String(r.body.error_description).includes("app 'abc'"))
  })

  test('the private detail is never rendered', () => {
    const r = renderStsError(new StsError('assertionMalformed', {}, 'SECRET-DETAIL'), CTX)
    assert.ok(!JSON.stringify(r.body).includes('SECRET-DETAIL'))
  })

  test('an error outside the catalogue renders as server_error 500, without its code or detail', () => {
    const r = renderStsError(new DomainError('somethingElse', { detail: 'internal' }), CTX)
    assert.equal(r.status, 500)
    assert.equal(r.body.error, 'server_error')
    assert.deepEqual(r.body.error_codes, [90033])
    assert.ok(!JSON.stringify(r.body).includes('somethingElse') && !JSON.stringify(r.body).includes('internal'))
  })

  test('every catalogue entry renders: non-empty text, its code in the description, invalid_client ⇔ 401', () => {
    const keys = Object.keys(STS_ERRORS) as StsErrorKey[]
    assert.ok(keys.length > 40)
    for (const key of keys) {
      const entry = STS_ERRORS[key]
      const r = renderStsError(new StsError(key, anyArgs), CTX)
      const desc = String(r.body.error_description)
      const m =
        /^AADSTS(\d+): (.*) Trace ID: (\S+) Correlation ID: (\S+) Timestamp: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)$/s.exec(
          desc,
        )
      assert.ok(m, `${key}: ${desc}`)
      assert.equal(Number(m[1]), entry.code, key)
      assert.deepEqual(r.body.error_codes, [entry.code], key)
      assert.ok((m[2] ?? '').trim().length > 0, `${key}: empty text`)
      assert.ok(!desc.includes('undefined'), `${key}: ${desc}`)
      assert.equal(m[3], CTX.traceId)
      assert.equal(m[5], r.body.timestamp)
      assert.equal(r.status, entry.status, key)
      assert.equal(r.body.error, entry.error, key)
      assert.ok([400, 401, 500].includes(r.status), `${key}: status ${r.status}`)
      assert.equal(entry.error === 'invalid_client', r.status === 401, `${key}: ${entry.error} with ${r.status}`)
      assert.match(entry.error, /^[a-z_]+$/)
    }
  })
})

describe('tokenJson', () => {
  const jwt = 'eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2ln-_'
  const base = { accessToken: jwt, expiresIn: 3599, extExpiresIn: 3599, expiresOn: 1700003600, notBefore: 1700000000 }
  test('v1 client credentials: Entra v1 fields, strings, in order', () => {
    const text = tokenJson({ ...base, version: 1, resource: 'https://t1x1.blob.core.windows.net' })
    assert.equal(
      text,
      JSON.stringify({
        token_type: 'Bearer',
        expires_in: '3599',
        ext_expires_in: '3599',
        expires_on: '1700003600',
        not_before: '1700000000',
        resource: 'https://t1x1.blob.core.windows.net',
        access_token: jwt,
      }),
    )
  })
  test('v2 client credentials: numbers, no resource', () => {
    const text = tokenJson({ ...base, version: 2, resource: 'ignored' })
    assert.equal(
      text,
      JSON.stringify({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: jwt }),
    )
  })
  test('user flows: scope, refresh and id tokens, client_info (v2); values that need escaping are escaped', () => {
    const user = { ...base, refreshToken: 'r"t\\', idToken: 'id.tok.en', clientInfo: 'eyJ1aWQiOiJ4In0' }
    assert.deepEqual(Object.entries(JSON.parse(tokenJson({ ...user, version: 2, resource: 'x', scope: 'a "b"' }))), [
      ['token_type', 'Bearer'],
      ['scope', 'a "b"'],
      ['expires_in', 3599],
      ['ext_expires_in', 3599],
      ['access_token', jwt],
      ['refresh_token', 'r"t\\'],
      ['id_token', 'id.tok.en'],
      ['client_info', 'eyJ1aWQiOiJ4In0'],
    ])
    assert.deepEqual(Object.keys(JSON.parse(tokenJson({ ...user, version: 1, resource: 'https://r/', scope: 's' }))), [
      ...V1_USER_TOKEN_FIELDS,
    ])
  })
})
