import assert from 'node:assert/strict'
import { generateKeyPairSync, pbkdf2Sync, verify } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { describe, test } from 'node:test'
import { createSigner } from './signer.ts'

const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048 })
const A = pair()
const B = pair()
const INPUT = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tLyJ9'

const verifies = (input: string, sig: string, key: typeof A.publicKey) =>
  verify('sha256', Buffer.from(input, 'latin1'), key, Buffer.from(sig, 'base64url'))

for (const threads of [0, 2]) {
  describe(`createSigner with ${threads} threads`, () => {
    test('RS256 signatures verify with the public key of their kid only', async () => {
      const s = createSigner({ threads })
      try {
        s.load('a', A.privateKey)
        s.load('b', B.privateKey)
        s.load('a', B.privateKey) // idempotent per kid: the first key stays
        const sigA = await s.sign('a', INPUT)
        const sigB = await s.sign('b', INPUT)
        assert.match(sigA, /^[A-Za-z0-9_-]{342}$/) // 256 bytes, base64url
        assert.ok(verifies(INPUT, sigA, A.publicKey))
        assert.ok(!verifies(INPUT, sigA, B.publicKey))
        assert.ok(verifies(INPUT, sigB, B.publicKey))
        assert.ok(!verifies(`${INPUT}x`, sigA, A.publicKey))
      } finally {
        await s.close()
      }
    })

    test('many concurrent signatures all verify and answer their own request', async () => {
      const s = createSigner({ threads })
      try {
        s.load('a', A.privateKey)
        const inputs = Array.from({ length: 24 }, (_, i) => `${INPUT}.${i}`)
        const sigs = await Promise.all(inputs.map((i) => s.sign('a', i)))
        for (const [i, sig] of sigs.entries()) assert.ok(verifies(inputs[i] as string, sig, A.publicKey), `#${i}`)
      } finally {
        await s.close()
      }
    })

    test('an unknown kid rejects', async () => {
      const s = createSigner({ threads })
      try {
        s.load('a', A.privateKey)
        await assert.rejects(s.sign('nope', INPUT), /unknown kid nope/)
      } finally {
        await s.close()
      }
    })
  })
}

describe('createSigner close()', () => {
  test('after close, signing rejects instead of hanging', async () => {
    const s = createSigner({ threads: 1 })
    s.load('a', A.privateKey)
    await s.sign('a', INPUT)
    await s.close()
    await assert.rejects(s.sign('a', INPUT), /closed/)
  })

  const haveProc = existsSync('/proc/self/task')
  test('terminates its worker threads', { skip: haveProc ? false : 'needs /proc/self/task' }, async () => {
    const threads = () => readdirSync('/proc/self/task').length
    // Warm up the thread pool and V8's helper threads so that only the workers come and go below.
    await readFile(import.meta.filename)
    pbkdf2Sync('x', 'y', 1, 32, 'sha256')
    const before = threads()
    const s = createSigner({ threads: 3 })
    s.load('a', A.privateKey)
    await Promise.all([s.sign('a', INPUT), s.sign('a', INPUT), s.sign('a', INPUT)])
    assert.ok(threads() >= before + 3, `expected 3 more threads than ${before}, have ${threads()}`)
    await s.close()
    // A terminated worker's OS thread may still be finishing when terminate() resolves: allow it a moment.
    for (let i = 0; i < 40 && threads() > before; i++) await new Promise((r) => setTimeout(r, 50))
    assert.ok(threads() <= before, `expected at most ${before} threads after close, have ${threads()}`)
  })
})
