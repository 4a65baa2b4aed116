/**
 * CRC-64 as Azure Storage computes it (`x-ms-content-crc64`, structured messages): the reflected ECMA-182-family
 * polynomial 0x9A6C9329AC4BC9B5 with all-ones initial value and final xor, the 8-byte result little-endian
 * (azure-sdk-for-cpp `Crc64Hash`, @azure/storage-common `StorageCRC64Calculator`; "Hello Azure!" → DtjZpL9/o8c=).
 *
 * The 64-bit state lives in two 32-bit halves and the table is sliced by eight, so V8 runs it on small integers.
 */

const POLY_LO = 0xac4bc9b5
const POLY_HI = 0x9a6c9329

/** tables[k] is the CRC of a byte followed by k zero bytes; lo and hi halves interleaved per table. */
function buildTables(): { lo: Uint32Array[]; hi: Uint32Array[] } {
  const lo: Uint32Array[] = []
  const hi: Uint32Array[] = []
  const l0 = new Uint32Array(256)
  const h0 = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let l = n
    let h = 0
    for (let k = 0; k < 8; k++) {
      const carry = l & 1
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0
      h = h >>> 1
      if (carry) {
        l = (l ^ POLY_LO) >>> 0
        h = (h ^ POLY_HI) >>> 0
      }
    }
    l0[n] = l
    h0[n] = h
  }
  lo.push(l0)
  hi.push(h0)
  for (let t = 1; t < 8; t++) {
    const pl = lo[t - 1] as Uint32Array
    const ph = hi[t - 1] as Uint32Array
    const tl = new Uint32Array(256)
    const th = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      const l = pl[n] as number
      const h = ph[n] as number
      const idx = l & 0xff
      tl[n] = (((l >>> 8) | (h << 24)) ^ (l0[idx] as number)) >>> 0
      th[n] = ((h >>> 8) ^ (h0[idx] as number)) >>> 0
    }
    lo.push(tl)
    hi.push(th)
  }
  return { lo, hi }
}

let tables: { lo: Uint32Array[]; hi: Uint32Array[] } | undefined

/** A running CRC-64; `update` as often as needed, then `digest()` (8 bytes, little-endian). */
export class Crc64 {
  private lo = 0xffffffff
  private hi = 0xffffffff

  update(data: Uint8Array): this {
    tables ??= buildTables()
    const [L0, L1, L2, L3, L4, L5, L6, L7] = tables.lo as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ]
    const [H0, H1, H2, H3, H4, H5, H6, H7] = tables.hi as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ]
    let lo = this.lo
    let hi = this.hi
    const n = data.length
    let i = 0
    // Whole 8-byte groups through a 32-bit view when the buffer is 4-byte aligned (little-endian hosts: x64, arm64).
    const aligned = (data.byteOffset & 3) === 0
    const words = aligned ? new Uint32Array(data.buffer, data.byteOffset, n >>> 2) : undefined
    const groups = n >>> 3
    for (let g = 0; g < groups; g++) {
      let w0: number
      let w1: number
      if (words) {
        w0 = words[2 * g] as number
        w1 = words[2 * g + 1] as number
      } else {
        w0 =
          (data[i] as number) |
          ((data[i + 1] as number) << 8) |
          ((data[i + 2] as number) << 16) |
          ((data[i + 3] as number) << 24)
        w1 =
          (data[i + 4] as number) |
          ((data[i + 5] as number) << 8) |
          ((data[i + 6] as number) << 16) |
          ((data[i + 7] as number) << 24)
      }
      const a = lo ^ w0
      const b = hi ^ w1
      lo =
        ((L7[a & 0xff] as number) ^
          (L6[(a >>> 8) & 0xff] as number) ^
          (L5[(a >>> 16) & 0xff] as number) ^
          (L4[a >>> 24] as number) ^
          (L3[b & 0xff] as number) ^
          (L2[(b >>> 8) & 0xff] as number) ^
          (L1[(b >>> 16) & 0xff] as number) ^
          (L0[b >>> 24] as number)) >>>
        0
      hi =
        ((H7[a & 0xff] as number) ^
          (H6[(a >>> 8) & 0xff] as number) ^
          (H5[(a >>> 16) & 0xff] as number) ^
          (H4[a >>> 24] as number) ^
          (H3[b & 0xff] as number) ^
          (H2[(b >>> 8) & 0xff] as number) ^
          (H1[(b >>> 16) & 0xff] as number) ^
          (H0[b >>> 24] as number)) >>>
        0
      i += 8
    }
    for (; i < n; i++) {
      const idx = (lo ^ (data[i] as number)) & 0xff
      lo = (((lo >>> 8) | (hi << 24)) ^ (L0[idx] as number)) >>> 0
      hi = ((hi >>> 8) ^ (H0[idx] as number)) >>> 0
    }
    this.lo = lo
    this.hi = hi
    return this
  }

  /** The 8-byte CRC, little-endian (what Azure sends base64-encoded). */
  digest(): Buffer {
    const out = Buffer.alloc(8)
    out.writeUInt32LE((this.lo ^ 0xffffffff) >>> 0, 0)
    out.writeUInt32LE((this.hi ^ 0xffffffff) >>> 0, 4)
    return out
  }
}

export const crc64 = (data: Uint8Array): Buffer => new Crc64().update(data).digest()
