import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseDuration } from './duration.ts'

describe('parseDuration', () => {
  test('units ms, s, m, h, d; a bare number (string or number) is seconds', () => {
    assert.equal(parseDuration('250ms'), 250)
    assert.equal(parseDuration('90s'), 90_000)
    assert.equal(parseDuration('90'), 90_000)
    assert.equal(parseDuration(90), 90_000)
    assert.equal(parseDuration(0), 0)
    assert.equal(parseDuration('15m'), 900_000)
    assert.equal(parseDuration('1h'), 3_600_000)
    assert.equal(parseDuration('24h'), 86_400_000)
    assert.equal(parseDuration('7d'), 604_800_000)
    assert.equal(parseDuration('90d'), 7_776_000_000)
  })

  test('fractions round to whole milliseconds; surrounding spaces are allowed', () => {
    assert.equal(parseDuration('1.5h'), 5_400_000)
    assert.equal(parseDuration('0.5s'), 500)
    assert.equal(parseDuration('1.0005s'), 1001)
    assert.equal(parseDuration(' 5 m '), 300_000)
  })

  test('anything else is a TypeError naming the value', () => {
    for (const bad of ['', 'h', '1w', '-5s', '1h30m', '1e3', 'abc', '1.s'])
      assert.throws(
        () => parseDuration(bad),
        (e: unknown) => e instanceof TypeError && e.message.includes(bad),
        bad,
      )
  })
})
