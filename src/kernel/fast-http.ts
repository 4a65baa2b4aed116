import { STATUS_CODES, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { Server as TlsServer } from 'node:tls'

/**
 * A fast lane in front of a `node:http` or `node:https` server, for its hottest requests (cached IMDS tokens, token
 * issuance). Each new connection is read by a small HTTP/1.1 parser; while every request on it is a plain, complete
 * `GET`, or a `POST` whose Content-Length body is already in hand, and the `answer` callback takes it, the reply is
 * written straight to the socket: no IncomingMessage, ServerResponse or parser object per request. The first time
 * anything else arrives — another method, a chunked or not yet complete body, `Expect`, `Upgrade`, `Connection:
 * close`, HTTP/1.0, a repeated or malformed header, an incomplete or oversized head, a request `answer` declines — the
 * connection is handed, with every unanswered byte, to the `node:http` server, which then serves it to the end exactly
 * as it would have from the start (its limits, timeouts and error answers included). Answers already written go out
 * first, and a deferred answer holds the requests behind it, so pipelined requests keep their order.
 */

export interface FastRequest {
  method: 'GET' | 'POST'
  /** The request target as sent (origin form: path and query). */
  target: string
  /** Header values by lower-case name; each name appears at most once (repeats go to node:http). */
  headers: Record<string, string>
  /** The body (Content-Length bytes; empty for a GET). */
  body: Buffer
}

/** An answer that takes time (say, a token to sign): written when it settles; the request is the lane's for good. */
export class FastDeferred {
  readonly reply: Promise<Buffer>
  constructor(reply: Promise<Buffer>) {
    this.reply = reply
  }
}

/**
 * A complete response (status line, headers and body); a FastDeferred for one that comes later; null to let node:http
 * serve the request (and the connection from then on); or a promise: "ask me again once this settles" (say, a cache
 * being filled) — the lane holds the connection meanwhile and asks again, up to MAX_ASKS times in all; then node:http
 * serves it.
 */
export type FastAnswer = (req: FastRequest) => Buffer | FastDeferred | null | Promise<unknown>

export interface FastLane {
  /** Destroys the connections the fast lane still owns (node:http's closeAllConnections does not see them). */
  destroyAll(): void
  /**
   * For a graceful stop: destroys the lane's idle connections at once; one waiting for a deferred answer is ended
   * after that answer is written.
   */
  closeIdle(): void
  /** Connections currently owned by the fast lane. */
  readonly open: number
}

/** Heads longer than this are node:http's to judge (its default limit is 16 KiB; a token request is ~300 bytes). */
const MAX_FAST_HEAD = 8 * 1024
/** Bodies larger than this are node:http's (a token request's form is well under 2 KiB). */
const MAX_FAST_BODY = 64 * 1024
const MAX_FAST_HEADERS = 64
/** How often one request may be asked for (each promise answer costs one more ask). */
const MAX_ASKS = 4
/** Above this much unsent output the lane stops reading until the client drains it. */
const HIGH_WATER = 64 * 1024

const LANE = Symbol('azid.fastLane')
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1')
const REQUEST_LINE = /^(GET|POST) (\/[\x21-\x7e]*) HTTP\/1\.1$/
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x20-\x7e\t]*?)[ \t]*$/
/** Headers whose presence means the request is not a plain request on a persistent connection. */
const DECLINE = new Set(['transfer-encoding', 'expect', 'upgrade', 'te', 'trailer'])

/**
 * Parses one request head (without its final CRLF CRLF); null when the fast lane should not serve it. The body is
 * not read here: `bodyLength` says how many bytes follow (a GET has none).
 */
export function parseFastHead(head: string): (FastRequest & { bodyLength: number }) | null {
  const lines = head.split('\r\n')
  if (lines.length > MAX_FAST_HEADERS + 1) return null
  const m = REQUEST_LINE.exec(lines[0] as string)
  if (!m) return null
  const method = m[1] as 'GET' | 'POST'
  const headers: Record<string, string> = Object.create(null)
  let bodyLength = 0
  for (let i = 1; i < lines.length; i++) {
    const h = HEADER_LINE.exec(lines[i] as string)
    if (!h) return null
    const name = (h[1] as string).toLowerCase()
    const value = h[2] as string
    if (name in headers || DECLINE.has(name)) return null
    if (name === 'content-length') {
      if (!/^\d{1,9}$/.test(value)) return null
      bodyLength = Number(value)
      if (method === 'GET' ? bodyLength !== 0 : bodyLength > MAX_FAST_BODY) return null
    }
    if (name === 'connection' && value.toLowerCase() !== 'keep-alive') return null
    headers[name] = value
  }
  // A POST without Content-Length has an empty body in HTTP/1.1; node:http answers that too, leave it there.
  if (method === 'POST' && headers['content-length'] === undefined) return null
  return { method, target: m[2] as string, headers, body: EMPTY, bodyLength }
}
const EMPTY = Buffer.alloc(0)

let dateSecond = -1
let dateValue = ''
/** The Date header value, rendered once a second (as node:http does). */
export function httpDate(): string {
  const now = Date.now()
  const s = Math.floor(now / 1000)
  if (s !== dateSecond) {
    dateSecond = s
    dateValue = new Date(s * 1000).toUTCString()
  }
  return dateValue
}

/** The status line of `status` as node:http writes it (its default reason phrase). */
export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'unknown'}`
}

/** Status line and headers as node:http writes them for a keep-alive answer with the given Keep-Alive timeout. */
export function fastHead(
  statusLine: string,
  headers: readonly string[],
  contentLength: number,
  keepAliveS: number,
): string {
  let out = `HTTP/1.1 ${statusLine}\r\n`
  for (let i = 0; i < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`
  return `${out}Content-Length: ${contentLength}\r\nDate: ${httpDate()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${keepAliveS}\r\n\r\n`
}

/**
 * Puts the fast lane in front of `server` (before it listens): new connections go to the lane first. `server` keeps
 * listening, tracking and closing as usual; call `destroyAll` when closing it.
 */
export function attachFastLane(server: Server, answer: FastAnswer): FastLane {
  // node:https serves the decrypted socket of each 'secureConnection'; node:http each 'connection'.
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection'
  const listeners = server.listeners(event)
  if (listeners.length !== 1 || (server as { [LANE]?: true })[LANE])
    throw new Error(`attachFastLane: the server must have exactly its own ${event} listener`)
  const nodeConnection = listeners[0] as (socket: Socket) => void
  server.removeListener(event, nodeConnection)
  ;(server as { [LANE]?: true })[LANE] = true
  /** The lane's connections, each with whether it is waiting for an answer. */
  const owned = new Map<Socket, () => boolean>()
  let closing = false
  const idleMs = server.keepAliveTimeout > 0 ? server.keepAliveTimeout : 5_000

  server.on(event, (socket: Socket) => {
    owned.set(socket, () => waiting)
    /** Bytes held while an answer is awaited (the socket is paused; this catches a chunk already on its way). */
    let held: Buffer | null = null
    let waiting = false
    let draining = false
    /** The client half-closed while an answer was awaited: end once it is written. */
    let ended = false

    const release = () => {
      owned.delete(socket)
      for (const [event, fn] of listeners) socket.removeListener(event, fn)
      socket.setTimeout(0)
    }
    const handOver = (rest: Buffer) => {
      release()
      socket.pause()
      if (rest.length > 0) socket.unshift(rest)
      nodeConnection.call(server, socket)
      // node:http now reads the socket: the unshifted bytes are emitted first, before any further read (the resume
      // runs from the tick queue, which drains before the event loop polls the socket again).
      socket.resume()
    }
    const onError = () => socket.destroy()
    const onTimeout = () => socket.destroy()
    const onClose = () => owned.delete(socket)
    // node:http servers allow half-open sockets: a client's FIN is ours to answer with ours once nothing is pending.
    const onEnd = () => {
      if (waiting) ended = true
      else socket.end()
    }
    const onDrain = () => {
      draining = false
      if (!waiting) socket.resume()
    }

    /**
     * Pauses the connection until `p` settles, keeping `rest` and whatever arrives meanwhile; then `next` runs with
     * them, and reading resumes unless `next` is holding again, the client has half-closed or the lane is closing.
     */
    function hold(p: Promise<unknown>, rest: Buffer, next: (rest: Buffer, ok: boolean, value: unknown) => void): void {
      waiting = true
      held = rest
      socket.pause()
      const settle = (ok: boolean, value?: unknown) => {
        waiting = false
        const kept = held as Buffer
        held = null
        if (!owned.has(socket) || socket.destroyed) return
        next(kept, ok, value)
        if (waiting || !owned.has(socket) || socket.destroyed) return
        if (closing || ended) socket.end()
        else if (!draining) socket.resume()
      }
      p.then(
        (v) => settle(true, v),
        () => settle(false),
      )
    }

    /** Answers the complete heads at the start of `input`; the first one was already asked for `asked` times. */
    function serve(input: Buffer, asked: number): void {
      let buf = input
      let asks = asked
      let corked = false
      while (buf.length > 0) {
        // The whole head, and body, must be in hand; anything partial is node:http's (it owns their timeouts).
        const end = buf.indexOf(CRLFCRLF)
        let reply: Buffer | FastDeferred | null | Promise<unknown> = null
        let next = 0
        if (end >= 0 && end <= MAX_FAST_HEAD) {
          const req = parseFastHead(buf.toString('latin1', 0, end))
          next = end + 4 + (req?.bodyLength ?? 0)
          if (req && next <= buf.length) {
            if (req.bodyLength > 0) req.body = Buffer.from(buf.subarray(end + 4, next))
            try {
              reply = answer(req)
            } catch {
              reply = null
            }
          }
        }
        if (reply instanceof Buffer) {
          buf = buf.subarray(next)
          // Pipelined answers leave in one write.
          if (!corked && buf.length > 0) {
            socket.cork()
            corked = true
          }
          socket.write(reply)
          asks = 0
          continue
        }
        if (corked) socket.uncork()
        if (reply instanceof FastDeferred) {
          // The request is taken (it may have effects): hold what follows until its answer is written.
          hold(reply.reply, buf.subarray(next), (rest, ok, wire) => {
            if (!ok) {
              socket.destroy()
              return
            }
            socket.write(wire as Buffer)
            if (!closing) serve(rest, 0)
          })
          return
        }
        if (reply === null || ++asks >= MAX_ASKS) {
          handOver(buf)
          return
        }
        // Hold the connection until the answer can be given, then ask again for the same request.
        const asked = asks
        hold(reply as Promise<unknown>, buf, (rest) => serve(rest, asked))
        return
      }
      if (corked) socket.uncork()
      if (socket.writableLength > HIGH_WATER) {
        draining = true
        socket.pause()
      }
    }

    function onData(chunk: Buffer) {
      if (waiting) {
        held = held ? Buffer.concat([held, chunk]) : chunk
        return
      }
      serve(chunk, 0)
    }

    // biome-ignore lint/suspicious/noExplicitAny: node's listener signature
    const listeners: [string, (...args: any[]) => void][] = [
      ['data', onData],
      ['error', onError],
      ['timeout', onTimeout],
      ['close', onClose],
      ['drain', onDrain],
      ['end', onEnd],
    ]
    socket.setNoDelay(true)
    socket.setTimeout(idleMs)
    for (const [event, fn] of listeners) socket.on(event, fn)
  })

  return {
    destroyAll() {
      for (const s of owned.keys()) s.destroy()
      owned.clear()
    },
    closeIdle() {
      closing = true
      for (const [s, busy] of owned) if (!busy()) s.destroy()
    },
    get open() {
      return owned.size
    },
  }
}
