import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * A fast lane in front of a `node:http` server, for hot requests that can be answered synchronously from memory
 * (cached IMDS tokens). Each new connection is read by a small HTTP/1.1 head parser; while every request on it is a
 * plain, complete, bodiless `GET` head that the `answer` callback answers at once, the reply is written straight to
 * the socket: no IncomingMessage, ServerResponse or parser object per request. The first time anything else arrives —
 * another method, a body, `Expect`, `Upgrade`, `Connection: close`, HTTP/1.0, a repeated or malformed header, an
 * incomplete or oversized head, a request `answer` declines — the connection is handed, with every unanswered byte,
 * to the `node:http` server, which then serves it to the end exactly as it would have from the start (its limits,
 * timeouts and error answers included). Answers already written go out first, so pipelined requests keep their order.
 */

export interface FastRequest {
  method: 'GET'
  /** The request target as sent (origin form: path and query). */
  target: string
  /** Header values by lower-case name; each name appears at most once (repeats go to node:http). */
  headers: Record<string, string>
}

/**
 * A complete response (status line, headers and body); null to let node:http serve the request (and the connection
 * from then on); or a promise: "ask me again once this settles" (say, a cache being filled) — the lane holds the
 * connection meanwhile and asks again, up to MAX_ASKS times in all; then node:http serves it.
 */
export type FastAnswer = (req: FastRequest) => Buffer | null | Promise<unknown>

export interface FastLane {
  /** Destroys the connections the fast lane still owns (node:http's closeAllConnections does not see them). */
  destroyAll(): void
  /** Connections currently owned by the fast lane. */
  readonly open: number
}

/** Heads longer than this are node:http's to judge (its default limit is 16 KiB; a token request is ~300 bytes). */
const MAX_FAST_HEAD = 8 * 1024
const MAX_FAST_HEADERS = 64
/** How often one request may be asked for (each promise answer costs one more ask). */
const MAX_ASKS = 4
/** Above this much unsent output the lane stops reading until the client drains it. */
const HIGH_WATER = 64 * 1024

const LANE = Symbol('azid.fastLane')
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1')
const REQUEST_LINE = /^GET (\/[\x21-\x7e]*) HTTP\/1\.1$/
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x20-\x7e\t]*?)[ \t]*$/
/** Headers whose presence means the request is not a plain bodiless GET on a persistent connection. */
const DECLINE = new Set(['transfer-encoding', 'expect', 'upgrade', 'te', 'trailer'])

/** Parses one request head (without its final CRLF CRLF); null when the fast lane should not serve it. */
export function parseFastHead(head: string): FastRequest | null {
  const lines = head.split('\r\n')
  if (lines.length > MAX_FAST_HEADERS + 1) return null
  const m = REQUEST_LINE.exec(lines[0] as string)
  if (!m) return null
  const headers: Record<string, string> = Object.create(null)
  for (let i = 1; i < lines.length; i++) {
    const h = HEADER_LINE.exec(lines[i] as string)
    if (!h) return null
    const name = (h[1] as string).toLowerCase()
    const value = h[2] as string
    if (name in headers || DECLINE.has(name)) return null
    if (name === 'content-length' && value !== '0') return null
    if (name === 'connection' && value.toLowerCase() !== 'keep-alive') return null
    headers[name] = value
  }
  return { method: 'GET', target: m[1] as string, headers }
}

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
  const listeners = server.listeners('connection')
  if (listeners.length !== 1 || (server as { [LANE]?: true })[LANE])
    throw new Error('attachFastLane: the server must have exactly its own connection listener')
  const nodeConnection = listeners[0] as (socket: Socket) => void
  server.removeListener('connection', nodeConnection)
  ;(server as { [LANE]?: true })[LANE] = true
  const owned = new Set<Socket>()
  const idleMs = server.keepAliveTimeout > 0 ? server.keepAliveTimeout : 5_000

  server.on('connection', (socket: Socket) => {
    owned.add(socket)
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

    /** Answers the complete heads at the start of `input`; the first one was already asked for `asked` times. */
    function serve(input: Buffer, asked: number): void {
      let buf = input
      let asks = asked
      let corked = false
      while (buf.length > 0) {
        // The whole head must be in hand; anything partial is node:http's (it owns header timeouts).
        const end = buf.indexOf(CRLFCRLF)
        let reply: Buffer | null | Promise<unknown> = null
        if (end >= 0 && end <= MAX_FAST_HEAD) {
          const req = parseFastHead(buf.toString('latin1', 0, end))
          try {
            reply = req ? answer(req) : null
          } catch {
            reply = null
          }
        }
        if (reply instanceof Buffer) {
          buf = buf.subarray(end + 4)
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
        if (reply === null || ++asks >= MAX_ASKS) {
          handOver(buf)
          return
        }
        // Hold the connection until the answer can be given, then ask again for the same request.
        waiting = true
        held = buf
        socket.pause()
        const resumeWith = () => {
          waiting = false
          const rest = held as Buffer
          held = null
          if (!owned.has(socket) || socket.destroyed) return
          serve(rest, asks)
          if (waiting || !owned.has(socket)) return
          if (ended) socket.end()
          else if (!draining) socket.resume()
        }
        ;(reply as Promise<unknown>).then(resumeWith, resumeWith)
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
      for (const s of owned) s.destroy()
      owned.clear()
    },
    get open() {
      return owned.size
    },
  }
}
