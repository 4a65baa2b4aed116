import assert from 'node:assert/strict'
import { test } from 'node:test'
import { clearRange, filesOf, pieces, truncate, writeExtent, writtenRanges } from './extents.ts'
import type { FileExtent } from './ports.ts'

const x = (offset: number, length: number, file: string, at = 0): FileExtent => ({ offset, length, file, at })

/** The bytes of a file of `size` as a string: each byte is its content file's name letter, '.' for zeros. */
function render(extents: readonly FileExtent[], size: number): string {
  return pieces(extents, 0, size - 1)
    .map((p) => (p.kind === 'zero' ? '.'.repeat(p.length) : p.file.repeat(p.length)))
    .join('')
}

test('writes replace what they cover, keep the rest, and stay sorted and disjoint', () => {
  let e: FileExtent[] = []
  e = writeExtent(e, x(0, 10, 'a'))
  e = writeExtent(e, x(3, 4, 'b'))
  assert.equal(render(e, 12), 'aaabbbbaaa..')
  // The right part of the split keeps reading from the right place of its content file.
  assert.deepEqual(e, [x(0, 3, 'a'), x(3, 4, 'b'), x(7, 3, 'a', 7)])
  e = writeExtent(e, x(8, 4, 'c'))
  assert.equal(render(e, 12), 'aaabbbbacccc')
  e = writeExtent(e, x(0, 12, 'd'))
  assert.deepEqual(e, [x(0, 12, 'd')])
  assert.deepEqual(writeExtent(e, x(5, 0, 'z')), e)
})

test('clear and truncate leave zeros; pieces cover exactly the asked range', () => {
  let e = [x(0, 10, 'a'), x(20, 5, 'b')]
  e = clearRange(e, 2, 21)
  assert.equal(render(e, 26), `aa${'.'.repeat(20)}bbb.`)
  assert.deepEqual(pieces(e, 1, 3), [
    { kind: 'data', file: 'a', at: 1, length: 1 },
    { kind: 'zero', length: 2 },
  ])
  assert.deepEqual(pieces([], 0, 4), [{ kind: 'zero', length: 5 }])
  e = truncate(e, 23)
  assert.equal(render(e, 23), `aa${'.'.repeat(20)}b`)
  assert.deepEqual(truncate(e, 0), [])
})

test('written ranges merge adjacent extents and clip to the window', () => {
  const e = [x(0, 4, 'a'), x(4, 4, 'b'), x(10, 2, 'c')]
  assert.deepEqual(writtenRanges(e, 0, 100), [
    { start: 0, end: 7 },
    { start: 10, end: 11 },
  ])
  assert.deepEqual(writtenRanges(e, 2, 10), [
    { start: 2, end: 7 },
    { start: 10, end: 10 },
  ])
  assert.deepEqual(filesOf(e), ['a', 'b', 'c'])
})
