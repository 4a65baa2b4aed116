import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { StsError } from './errors.ts'
import { parseFormStrict, queryParams, required } from './form.ts'

const stsError = (code: string, args?: Record<string, string>) => (e: unknown) => {
  assert.ok(e instanceof StsError, `expected an StsError, got ${String(e)}`)
  assert.equal(e.code, code)
  if (args) assert.deepEqual(e.args, args)
  return true
}

describe('parseFormStrict', () => {
  test('parses pairs; an empty body and empty parts give nothing', () => {
    assert.deepEqual([...parseFormStrict('')], [])
    assert.deepEqual(
      [...parseFormStrict('grant_type=client_credentials&&client_id=abc&flag&empty=')],
      [
        ['grant_type', 'client_credentials'],
        ['client_id', 'abc'],
        ['flag', ''],
        ['empty', ''],
      ],
    )
  })

  test('decodes + as space and percent escapes (keys too); %2B stays a plus', () => {
    const p = parseFormStrict(
      'scope=https%3A%2F%2Fgraph.microsoft.com%2F.default+openid&client%5Fsecret=a%2Bb+c&x=%C3%A9',
    )
    assert.equal(p.get('scope'), 'https://graph.microsoft.com/.default openid')
    assert.equal(p.get('client_secret'), 'a+b c')
    assert.equal(p.get('x'), 'é')
  })

  test('a value may contain "="; only the first one splits', () => {
    assert.equal(parseFormStrict('client_assertion=a.b.c==').get('client_assertion'), 'a.b.c==')
  })

  test('a duplicated parameter is refused and named (RFC 6749 §3.1)', () => {
    assert.throws(
      () => parseFormStrict('client_id=a&scope=x&client_id=b'),
      stsError('duplicateParameter', { name: 'client_id' }),
    )
    // the same name after decoding counts as a duplicate
    assert.throws(() => parseFormStrict('scope=a&%73cope=b'), stsError('duplicateParameter', { name: 'scope' }))
    // even with the same value
    assert.throws(() => parseFormStrict('resource=r&resource=r'), stsError('duplicateParameter', { name: 'resource' }))
  })

  test('an undecodable pair is ignored; the rest parse', () => {
    const p = parseFormStrict('bad=%E0%A4%A&client_id=abc&%ZZ=1&scope=%')
    assert.deepEqual([...p], [['client_id', 'abc']])
  })
})

describe('queryParams', () => {
  test('copies a query string and refuses duplicates', () => {
    assert.deepEqual(
      [...queryParams(new URLSearchParams('a=1&b=x+y'))],
      [
        ['a', '1'],
        ['b', 'x y'],
      ],
    )
    assert.throws(() => queryParams(new URLSearchParams('a=1&a=2')), stsError('duplicateParameter', { name: 'a' }))
  })
})

describe('required', () => {
  test('returns the value, or refuses a missing or blank one naming the parameter', () => {
    const p = parseFormStrict('grant_type=x&blank=+++')
    assert.equal(required(p, 'grant_type'), 'x')
    assert.throws(() => required(p, 'client_id'), stsError('missingParameter', { name: 'client_id' }))
    assert.throws(() => required(p, 'blank'), stsError('missingParameter', { name: 'blank' }))
  })
})
