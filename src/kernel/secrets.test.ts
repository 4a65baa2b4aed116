import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { constantTimeEqual, hashPassword, hashSecret, redactToken, secretMatches, verifyPassword } from './secrets.ts'

describe('hashSecret', () => {
  test('is deterministic per salt, differs between salts and secrets, and never contains the secret', () => {
    const secret = 'Qw8~abcdefghijklmnopqrstuvwxyz0123456789'
    const h = hashSecret(secret, 'salt-1')
    assert.equal(hashSecret(secret, 'salt-1'), h)
    assert.notEqual(hashSecret(secret, 'salt-2'), h)
    assert.notEqual(hashSecret(`${secret}x`, 'salt-1'), h)
    assert.match(h, /^[A-Za-z0-9_-]{43}$/)
    assert.ok(!h.includes(secret))
  })

  test('salt and secret are separated: moving characters across the boundary changes the hash', () => {
    assert.notEqual(hashSecret('bc', 'a'), hashSecret('c', 'ab'))
  })
})

describe('secretMatches', () => {
  test('true exactly for the secret and salt that made the stored hash; a malformed stored hash never matches', () => {
    const secret = 'Qw8~abcdefghijklmnopqrstuvwxyz0123456789'
    const stored = hashSecret(secret, 'salt-1')
    assert.equal(secretMatches(secret, 'salt-1', stored), true)
    assert.equal(secretMatches(secret, 'salt-2', stored), false)
    assert.equal(secretMatches(`${secret}x`, 'salt-1', stored), false)
    assert.equal(secretMatches('', 'salt-1', stored), false)
    assert.equal(secretMatches(secret, 'salt-1', stored.slice(0, 40)), false)
    assert.equal(secretMatches(secret, 'salt-1', ''), false)
    assert.equal(secretMatches(secret, 'salt-1', `${stored}AAAA`), false)
  })
})

describe('constantTimeEqual', () => {
  test('equal strings are equal; different ones, of the same or another length, are not', () => {
    assert.equal(constantTimeEqual('secret', 'secret'), true)
    assert.equal(constantTimeEqual('', ''), true)
    assert.equal(constantTimeEqual('secret', 'secreT'), false)
    assert.equal(constantTimeEqual('secret', 'secret-longer'), false)
    assert.equal(constantTimeEqual('', 'x'), false)
    assert.equal(constantTimeEqual('x', ''), false)
  })
})

describe('hashPassword / verifyPassword', () => {
  const salt = Buffer.alloc(16, 3)

  test('round trip; a wrong password fails; the format is scrypt$N$salt$hash', () => {
    const stored = hashPassword('correct horse', salt)
    assert.match(stored, /^scrypt\$16384\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/)
    assert.ok(!stored.includes('correct horse'))
    assert.equal(verifyPassword('correct horse', stored), true)
    assert.equal(verifyPassword('correct horsE', stored), false)
    assert.equal(verifyPassword('', stored), false)
    assert.notEqual(hashPassword('correct horse', Buffer.alloc(16, 4)), stored)
  })

  test('malformed stored values never verify', () => {
    for (const bad of ['', 'plain', 'bcrypt$16384$a$b', 'scrypt$16384$$', 'scrypt$16384$c2FsdA$'])
      assert.equal(verifyPassword('x', bad), false, bad)
  })
})

describe('redactToken', () => {
  test('short values are hidden entirely', () => {
    assert.equal(redactToken(''), '***')
    assert.equal(redactToken('123456789012'), '***')
  })

  test('long values keep only a recognisable head and tail, never the middle', () => {
    const token = 'eyJ0eXAiOiJKV1Qi.MIDDLE-PART-THAT-MUST-NOT-LEAK.signatureTAIL'
    const r = redactToken(token)
    assert.equal(r, `eyJ0eX…TAIL (${token.length} chars)`)
    assert.ok(!r.includes('MIDDLE'))
    assert.ok(!r.includes(token.slice(6, -4)))
    const short = '1234567890123'
    assert.equal(redactToken(short), '123456…0123 (13 chars)')
  })
})
