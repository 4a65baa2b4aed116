import type { Piece } from '../storage/index.ts'
import type { FileExtent } from './ports.ts'

/**
 * A file's written bytes as extents (offset, length, content file, offset in it), kept sorted and disjoint. Put Range
 * replaces the bytes it covers, Clear Range and resizing drop them; bytes no extent covers read as zeros.
 */

/** Extents without the bytes `[start, end)`: those overlapping are cut, keeping their other parts. */
function cut(extents: readonly FileExtent[], start: number, end: number): FileExtent[] {
  const out: FileExtent[] = []
  for (const e of extents) {
    const eEnd = e.offset + e.length
    if (eEnd <= start || e.offset >= end) {
      out.push(e)
      continue
    }
    if (e.offset < start) out.push({ ...e, length: start - e.offset })
    if (eEnd > end) out.push({ offset: end, length: eEnd - end, file: e.file, at: e.at + (end - e.offset) })
  }
  return out
}

const byOffset = (a: FileExtent, b: FileExtent) => a.offset - b.offset

/** Writes `length` bytes at `offset` from a content file (Put Range, update). */
export function writeExtent(extents: readonly FileExtent[], e: FileExtent): FileExtent[] {
  if (e.length === 0) return [...extents]
  return [...cut(extents, e.offset, e.offset + e.length), e].sort(byOffset)
}

/** Drops the bytes `[start, end]` (inclusive): they read as zeros afterwards (Put Range, clear). */
export function clearRange(extents: readonly FileExtent[], start: number, end: number): FileExtent[] {
  return cut(extents, start, end + 1)
}

/** Drops everything at or past `size` (a file made smaller). */
export function truncate(extents: readonly FileExtent[], size: number): FileExtent[] {
  return cut(extents, size, Number.POSITIVE_INFINITY)
}

/** What bytes `[start, end]` (inclusive) of a file are made of, in order: content file ranges and runs of zeros. */
export function pieces(extents: readonly FileExtent[], start: number, end: number): Piece[] {
  const out: Piece[] = []
  let pos = start
  for (const e of extents) {
    const eEnd = e.offset + e.length - 1
    if (eEnd < pos) continue
    if (e.offset > end) break
    if (e.offset > pos) {
      out.push({ kind: 'zero', length: e.offset - pos })
      pos = e.offset
    }
    const last = Math.min(end, eEnd)
    out.push({ kind: 'data', file: e.file, at: e.at + (pos - e.offset), length: last - pos + 1 })
    pos = last + 1
    if (pos > end) break
  }
  if (pos <= end) out.push({ kind: 'zero', length: end - pos + 1 })
  return out
}

/** Written ranges within `[start, end]` (inclusive), adjacent extents merged (List Ranges). */
export function writtenRanges(
  extents: readonly FileExtent[],
  start: number,
  end: number,
): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = []
  for (const e of extents) {
    const s = Math.max(start, e.offset)
    const t = Math.min(end, e.offset + e.length - 1)
    if (t < s) continue
    const prev = out.at(-1)
    if (prev && prev.end + 1 === s) prev.end = t
    else out.push({ start: s, end: t })
  }
  return out
}

/** Content files the extents name. */
export const filesOf = (extents: readonly FileExtent[]): string[] => [...new Set(extents.map((e) => e.file))]
