import { Transform, type TransformCallback } from 'node:stream'
import { Crc64 } from './crc64.ts'

/**
 * Structured messages (`x-ms-structured-body: XSM/1.0; properties=crc64`): the framing the Storage SDKs use to carry
 * CRC-64s with a body (@azure/storage-common StructuredMessageEncoding). Layout, integers little-endian:
 * header  = version u8 (1) | message length u64 | flags u16 (1 = CRC-64) | segment count u16
 * segment = number u16 (from 1) | content length u64 | content | [CRC-64 of the segment]
 * footer  = [CRC-64 of the whole content]
 */

export const STRUCTURED_BODY = 'XSM/1.0; properties=crc64'
export const STRUCTURED_SEGMENT = 4 * 1024 * 1024
const HEADER = 13
const SEGMENT_HEADER = 10
const CRC = 8
const FLAG_CRC64 = 1

export class StructuredMessageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StructuredMessageError'
  }
}

/** True when the header value names the one format azid speaks. */
export const isStructuredBody = (v: string | undefined): boolean =>
  v !== undefined && v.replace(/\s+/g, '').toLowerCase() === STRUCTURED_BODY.replace(/\s+/g, '').toLowerCase()

const u64 = (b: Buffer, at: number) => {
  const lo = b.readUInt32LE(at)
  const hi = b.readUInt32LE(at + 4)
  if (hi > 0x1fffff) throw new StructuredMessageError('length out of range')
  return hi * 0x100000000 + lo
}

/**
 * Decodes a structured message stream into its content, checking every segment CRC-64 and the message CRC-64.
 * Errors (StructuredMessageError) surface through the stream.
 */
export class StructuredDecoder extends Transform {
  private pending: Buffer = Buffer.alloc(0)
  private state: 'header' | 'segmentHeader' | 'content' | 'segmentCrc' | 'footer' | 'done' = 'header'
  private messageLength = 0
  private consumed = 0
  private withCrc = false
  private segments = 0
  private segment = 0
  private remaining = 0
  private segmentCrc = new Crc64()
  private readonly messageCrc = new Crc64()
  contentLength = 0

  private takeBytes(n: number): Buffer | undefined {
    if (this.pending.length < n) return undefined
    const out = this.pending.subarray(0, n)
    this.pending = this.pending.subarray(n)
    this.consumed += n
    return out
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
      this.run()
      cb()
    } catch (e) {
      cb(e as Error)
    }
  }

  private run(): void {
    for (;;) {
      if (this.state === 'header') {
        const h = this.takeBytes(HEADER)
        if (!h) return
        if (h[0] !== 1) throw new StructuredMessageError(`unsupported structured message version ${h[0]}`)
        this.messageLength = u64(h, 1)
        const flags = h.readUInt16LE(9)
        if ((flags & ~FLAG_CRC64) !== 0) throw new StructuredMessageError(`unsupported flags ${flags}`)
        this.withCrc = (flags & FLAG_CRC64) !== 0
        this.segments = h.readUInt16LE(11)
        this.state = this.segments === 0 ? 'footer' : 'segmentHeader'
      } else if (this.state === 'segmentHeader') {
        const h = this.takeBytes(SEGMENT_HEADER)
        if (!h) return
        const n = h.readUInt16LE(0)
        if (n !== this.segment + 1) throw new StructuredMessageError(`segment ${n} out of order`)
        this.segment = n
        this.remaining = u64(h, 2)
        this.segmentCrc = new Crc64()
        this.state = this.remaining === 0 ? (this.withCrc ? 'segmentCrc' : this.afterSegment()) : 'content'
      } else if (this.state === 'content') {
        if (this.pending.length === 0) return
        const n = Math.min(this.remaining, this.pending.length)
        const part = this.pending.subarray(0, n)
        this.pending = this.pending.subarray(n)
        this.consumed += n
        this.remaining -= n
        this.contentLength += n
        if (this.withCrc) {
          this.segmentCrc.update(part)
          this.messageCrc.update(part)
        }
        this.push(part)
        if (this.remaining === 0) this.state = this.withCrc ? 'segmentCrc' : this.afterSegment()
      } else if (this.state === 'segmentCrc') {
        const c = this.takeBytes(CRC)
        if (!c) return
        if (!c.equals(this.segmentCrc.digest()))
          throw new StructuredMessageError(`CRC-64 mismatch in segment ${this.segment}`)
        this.state = this.afterSegment()
      } else if (this.state === 'footer') {
        if (this.withCrc) {
          const c = this.takeBytes(CRC)
          if (!c) return
          if (!c.equals(this.messageCrc.digest())) throw new StructuredMessageError('CRC-64 mismatch of the message')
        }
        this.state = 'done'
      } else {
        if (this.pending.length > 0) throw new StructuredMessageError('data after the end of the message')
        return
      }
    }
  }

  private afterSegment(): 'segmentHeader' | 'footer' {
    return this.segment === this.segments ? 'footer' : 'segmentHeader'
  }

  override _flush(cb: TransformCallback): void {
    if (this.state !== 'done') {
      cb(new StructuredMessageError('the structured message ended early'))
      return
    }
    if (this.consumed !== this.messageLength) {
      cb(new StructuredMessageError(`message length ${this.messageLength} but ${this.consumed} bytes`))
      return
    }
    cb()
  }
}

/** The encoded length of `contentLength` bytes in segments of `segmentSize`. */
export function structuredLength(contentLength: number, segmentSize = STRUCTURED_SEGMENT): number {
  const segments = Math.max(1, Math.ceil(contentLength / segmentSize))
  return HEADER + segments * (SEGMENT_HEADER + CRC) + contentLength + CRC
}

/** Frames a content stream of known length as a structured message with CRC-64s (downloads). */
export class StructuredEncoder extends Transform {
  private readonly segments: number
  private segment = 0
  private leftInSegment = 0
  private segmentCrc = new Crc64()
  private readonly messageCrc = new Crc64()
  private started = false

  private readonly contentLength: number
  private readonly segmentSize: number

  constructor(contentLength: number, segmentSize = STRUCTURED_SEGMENT) {
    super()
    this.contentLength = contentLength
    this.segmentSize = segmentSize
    // Empty content goes out as one empty segment: the SDK's decoder waits forever on a message without segments.
    this.segments = Math.max(1, Math.ceil(contentLength / segmentSize))
  }

  private startSegment(): void {
    this.segment++
    const len = Math.min(this.segmentSize, this.contentLength - (this.segment - 1) * this.segmentSize)
    const h = Buffer.alloc(SEGMENT_HEADER)
    h.writeUInt16LE(this.segment, 0)
    h.writeUInt32LE(len % 0x100000000, 2)
    h.writeUInt32LE(Math.floor(len / 0x100000000), 6)
    this.push(h)
    this.leftInSegment = len
    this.segmentCrc = new Crc64()
  }

  private start(): void {
    this.started = true
    const h = Buffer.alloc(HEADER)
    h[0] = 1
    const total = structuredLength(this.contentLength, this.segmentSize)
    h.writeUInt32LE(total % 0x100000000, 1)
    h.writeUInt32LE(Math.floor(total / 0x100000000), 5)
    h.writeUInt16LE(FLAG_CRC64, 9)
    h.writeUInt16LE(this.segments, 11)
    this.push(h)
    this.startSegment()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.started) this.start()
    let data = chunk
    while (data.length > 0) {
      if (this.leftInSegment === 0) {
        if (this.segment === this.segments) {
          cb(new StructuredMessageError('content longer than announced'))
          return
        }
        this.push(this.segmentCrc.digest())
        this.startSegment()
      }
      const n = Math.min(this.leftInSegment, data.length)
      const part = data.subarray(0, n)
      this.segmentCrc.update(part)
      this.messageCrc.update(part)
      this.push(part)
      this.leftInSegment -= n
      data = data.subarray(n)
    }
    cb()
  }

  override _flush(cb: TransformCallback): void {
    if (!this.started) this.start()
    if (this.leftInSegment !== 0) {
      cb(new StructuredMessageError('content shorter than announced'))
      return
    }
    this.push(this.segmentCrc.digest())
    this.push(this.messageCrc.digest())
    cb()
  }
}
