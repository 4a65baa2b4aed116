import assert from 'node:assert/strict'
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import { type AddressInfo, type Socket, connect } from 'node:net'
import { test } from 'node:test'
import { generateKeyPairSync } from 'node:crypto'
import { createServer as createHttpsServer } from 'node:https'
import { connect as tlsConnect } from 'node:tls'
import { selfSignedCertificate } from '../keys/pki.ts'
import { type FastAnswer, FastDeferred, type FastLane, attachFastLane, fastHead, parseFastHead } from './fast-http.ts'

const HEADERS = ['Content-Type', 'application/json; charset=utf-8', 'Server', 'IMDS/test']
const FAST_BODY = '{"fast":true}'
const fastReply = () => Buffer.from(fastHead('200 OK', HEADERS, FAST_BODY.length, 65) + FAST_BODY)

/** node:http's answer: the method, path and body it saw, with the same headers as the fast reply. */
function nodeHandler(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const body = JSON.stringify({ node: `${req.method} ${req.url} ${Buffer.concat(chunks).toString()}` })
    res.writeHead(200, [...HEADERS, 'Content-Length', String(Buffer.byteLength(body))])
    res.end(body)
  })
}

async function withLane(
  answer: FastAnswer,
  fn: (q: { port: number; lane: FastLane; server: Server }) => Promise<void>,
  keepAliveTimeout = 65_000,
) {
  const server = createServer({ keepAliveTimeout }, nodeHandler)
  const lane = attachFastLane(server, answer)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  try {
    await fn({ port: (server.address() as AddressInfo).port, lane, server })
  } finally {
    const closed = new Promise<void>((r) => server.close(() => r()))
    lane.destroyAll()
    server.closeAllConnections()
    await closed
  }
}

/** A raw client: writes `parts` (with a pause between them) and collects `n` responses' bodies in order. */
async function exchange(port: number, parts: string[], n: number): Promise<{ bodies: string[]; raw: string }> {
  const socket: Socket = connect(port, '127.0.0.1')
  await new Promise<void>((r) => socket.once('connect', () => r()))
  let raw = ''
  let offset = 0
  const bodies: string[] = []
  const done = new Promise<void>((resolve, reject) => {
    socket.on('error', reject)
    // node:http's 400 and 431 carry no Content-Length: they end with the connection.
    socket.on('end', () => resolve())
    socket.on('data', (d: Buffer) => {
      raw += d.toString('latin1')
      for (;;) {
        const m = /^HTTP\/1\.1 \d{3} [^\r]*\r\n(?:[^\r]+\r\n)*?Content-Length: (\d+)\r\n(?:[^\r]+\r\n)*\r\n/.exec(
          raw.slice(offset),
        )
        if (!m) break
        const start = offset + m[0].length
        const len = Number(m[1])
        if (raw.length < start + len) break
        bodies.push(raw.slice(start, start + len))
        offset = start + len
      }
      if (bodies.length >= n) resolve()
    })
  })
  for (const [i, p] of parts.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, 30))
    socket.write(p)
  }
  await done
  socket.destroy()
  return { bodies, raw }
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n${extra}\r\n`

test('parseFastHead takes only plain HTTP/1.1 GET heads and POST heads with a small Content-Length', () => {
  const ok = parseFastHead('GET /a?b=c HTTP/1.1\r\nHost: x\r\nMetadata:  true \r\nContent-Length: 0')
  assert.deepEqual(ok && { ...ok, headers: { ...ok.headers } }, {
    method: 'GET',
    target: '/a?b=c',
    headers: { host: 'x', metadata: 'true', 'content-length': '0' },
    body: Buffer.alloc(0),
    bodyLength: 0,
  })
  const post = parseFastHead('POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 12')
  assert.equal(post?.method, 'POST')
  assert.equal(post?.bodyLength, 12)
  assert.equal(parseFastHead('GET /a HTTP/1.1\r\nConnection: Keep-Alive')?.headers.connection, 'Keep-Alive')
  for (const head of [
    'POST /a HTTP/1.1\r\nHost: x',
    'POST /a HTTP/1.1\r\nContent-Length: 70000',
    'POST /a HTTP/1.1\r\nContent-Length: 1e3',
    'POST /a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5',
    'PUT /a HTTP/1.1\r\nContent-Length: 0',
    'GET /a HTTP/1.0\r\nHost: x',
    'GET http://x/a HTTP/1.1\r\nHost: x',
    'GET /a HTTP/1.1\r\nHost: x\r\nhost: y',
    'GET /a HTTP/1.1\r\nMetadata: true\r\nmetadata: true',
    'GET /a HTTP/1.1\r\nTransfer-Encoding: chunked',
    'GET /a HTTP/1.1\r\nContent-Length: 5',
    'GET /a HTTP/1.1\r\nExpect: 100-continue',
    'GET /a HTTP/1.1\r\nUpgrade: websocket',
    'GET /a HTTP/1.1\r\nTE: trailers',
    'GET /a HTTP/1.1\r\nConnection: close',
    'GET /a HTTP/1.1\r\nHost: x\r\n folded',
    'GET /a HTTP/1.1\r\nBad Name: x',
    'GET /a HTTP/1.1\r\nMetadata: tr\u00fce',
    'GET /a HTTP/1.1\r\nMetadata: true\nX: y',
    'GET /a\u00e9 HTTP/1.1\r\nHost: x',
    'GET  /a HTTP/1.1',
  ])
    assert.equal(parseFastHead(head), null, head)
})

test('the fast lane answers with the bytes node:http would send, keeps the connection, and times out idle ones', async () => {
  await withLane(
    (req) => (req.target === '/fast' ? fastReply() : null),
    async ({ port, lane }) => {
      const fast = await exchange(port, [get('/fast')], 1)
      // The same answer from node:http: identical except the Date value.
      const node = await exchange(port, [get('/node')], 1)
      const headOf = (raw: string) =>
        raw
          .slice(0, raw.indexOf('\r\n\r\n'))
          .split('\r\n')
          .map((l) => (l.startsWith('Date: ') ? 'Date: *' : l.startsWith('Content-Length') ? 'Content-Length: *' : l))
      assert.deepEqual(headOf(fast.raw), headOf(node.raw))
      assert.deepEqual(fast.bodies, [FAST_BODY])
      for (let i = 0; i < 100 && lane.open > 0; i++) await new Promise((r) => setTimeout(r, 10))
      assert.equal(lane.open, 0, 'both clients have gone')
    },
  )
  await withLane(
    () => fastReply(),
    async ({ port, lane }) => {
      const socket = connect(port, '127.0.0.1')
      await new Promise<void>((r) => socket.once('connect', () => r()))
      socket.write(get('/fast'))
      await new Promise<void>((r) => socket.once('data', () => r()))
      assert.equal(lane.open, 1)
      const closedAt = Date.now()
      await new Promise<void>((r) => socket.once('close', () => r()))
      assert.ok(Date.now() - closedAt >= 150, 'closed after the keep-alive timeout, not before')
      for (let i = 0; i < 100 && lane.open > 0; i++) await new Promise((r) => setTimeout(r, 10))
      assert.equal(lane.open, 0)
    },
    300,
  )
})

test('pipelined requests keep their order across the hand-over to node:http, bodies included', async () => {
  await withLane(
    (req) => (req.target === '/fast' ? fastReply() : null),
    async ({ port, lane }) => {
      const post = 'POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n'
      // Two fast GETs, then a POST whose body arrives in a later packet, then a GET node:http must answer too.
      const r = await exchange(port, [get('/fast') + get('/fast') + post + 'hello', ` world${get('/fast')}`], 4)
      assert.deepEqual(r.bodies, [
        FAST_BODY,
        FAST_BODY,
        JSON.stringify({ node: 'POST /form hello world' }),
        JSON.stringify({ node: 'GET /fast ' }),
      ])
      for (let i = 0; i < 100 && lane.open > 0; i++) await new Promise((r) => setTimeout(r, 10))
      assert.equal(lane.open, 0)
    },
  )
})

test('partial, oversized and declined heads go to node:http, which answers them as it always does', async () => {
  await withLane(
    (req) => {
      if (req.target === '/throw') throw new Error('boom')
      return req.target === '/fast' ? fastReply() : null
    },
    async ({ port }) => {
      // A head split over two packets.
      const split = get('/fast')
      assert.deepEqual((await exchange(port, [split.slice(0, 20), split.slice(20)], 1)).bodies, [
        JSON.stringify({ node: 'GET /fast ' }),
      ])
      // An answer that throws.
      assert.deepEqual((await exchange(port, [get('/throw')], 1)).bodies, [JSON.stringify({ node: 'GET /throw ' })])
      // A 20 KiB head: node:http's own 431.
      const big = await exchange(port, [get('/fast', `X-Big: ${'a'.repeat(20_000)}\r\n`)], 1)
      assert.match(big.raw, /^HTTP\/1\.1 431 /)
      // A malformed request line: node:http's own 400.
      const bad = await exchange(port, ['GET /fast HTTP/1.1 extra\r\nHost: x\r\n\r\n'], 1)
      assert.match(bad.raw, /^HTTP\/1\.1 400 /)
    },
  )
})

test('an answer that is a promise holds the connection and asks again; a null or a fourth promise goes to node:http', async () => {
  let calls = 0
  let nevers = 0
  await withLane(
    (req) => {
      calls++
      if (req.target === '/warm') return calls % 2 === 1 ? new Promise((r) => setTimeout(r, 20)) : fastReply()
      if (req.target === '/never') {
        nevers++
        return new Promise((r) => setTimeout(r, 5))
      }
      return null
    },
    async ({ port, lane }) => {
      const socket = connect(port, '127.0.0.1')
      await new Promise<void>((r) => socket.once('connect', () => r()))
      let raw = ''
      socket.on('data', (d: Buffer) => {
        raw += d.toString('latin1')
      })
      // Two requests in one packet: the first waits, the second must still come after it.
      socket.write(get('/warm') + get('/warm'))
      const until = async (f: () => boolean) => {
        for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10))
        assert.ok(f(), raw)
      }
      await until(() => raw.split(FAST_BODY).length === 3)
      assert.equal(calls, 4, 'each request was asked for twice (the first time it was not ready)')
      assert.equal(lane.open, 1, 'the connection is still the fast lane’s')
      socket.write(get('/never'))
      await until(() => raw.includes('"node":"GET /never "'))
      assert.equal(nevers, 4, 'asked four times')
      assert.equal(lane.open, 0, 'then node:http’s')
      socket.destroy()
    },
  )
})

test('closing: destroyAll ends the idle connections the fast lane holds, so server.close completes', async () => {
  const server = createServer(nodeHandler)
  const lane = attachFastLane(server, () => fastReply())
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const sockets = await Promise.all(
    [1, 2, 3].map(async () => {
      const s = connect(port, '127.0.0.1')
      s.on('error', () => {})
      await new Promise<void>((r) => s.once('connect', () => r()))
      s.write(get('/fast'))
      await new Promise<void>((r) => s.once('data', () => r()))
      return s
    }),
  )
  assert.equal(lane.open, 3)
  const ended = sockets.map((s) => new Promise<void>((r) => s.once('close', () => r())))
  const closed = new Promise<void>((r) => server.close(() => r()))
  lane.destroyAll()
  await closed
  await Promise.all(ended)
  assert.equal(lane.open, 0)
  assert.throws(() => attachFastLane(server, () => null), /exactly its own connection listener/)
})

test('a POST whose body is in hand is answered later by a FastDeferred; requests behind it wait their turn', async () => {
  const seen: string[] = []
  await withLane(
    (req) => {
      if (req.method !== 'POST') return req.target === '/fast' ? fastReply() : null
      seen.push(req.body.toString())
      const body = JSON.stringify({ deferred: req.body.toString() })
      return new FastDeferred(
        new Promise((r) =>
          setTimeout(() => r(Buffer.from(fastHead('201 Created', HEADERS, body.length, 65) + body)), 30),
        ),
      )
    },
    async ({ port, lane }) => {
      const post = (b: string) => `POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: ${b.length}\r\n\r\n${b}`
      // Pipelined: a deferred POST, a fast GET, another deferred POST, then a POST whose body comes later (node:http).
      const late = 'POST /late HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab'
      const r = await exchange(port, [post('one') + get('/fast') + post('two') + late, 'cd'], 4)
      assert.deepEqual(r.bodies, [
        JSON.stringify({ deferred: 'one' }),
        FAST_BODY,
        JSON.stringify({ deferred: 'two' }),
        JSON.stringify({ node: 'POST /late abcd' }),
      ])
      assert.match(r.raw, /^HTTP\/1\.1 201 Created\r\n/)
      assert.deepEqual(seen, ['one', 'two'])
      for (let i = 0; i < 100 && lane.open > 0; i++) await new Promise((r) => setTimeout(r, 10))
      assert.equal(lane.open, 0)
    },
  )
})

test('closeIdle ends idle connections at once and a connection waiting for an answer after the answer', async () => {
  let release: ((b: Buffer) => void) | undefined
  await withLane(
    (req) =>
      req.method === 'POST'
        ? new FastDeferred(
            new Promise<Buffer>((r) => {
              release = r
            }),
          )
        : fastReply(),
    async ({ port, lane }) => {
      const open = async () => {
        const s = connect(port, '127.0.0.1')
        s.on('error', () => {})
        await new Promise<void>((r) => s.once('connect', () => r()))
        return s
      }
      const idle = await open()
      idle.write(get('/fast'))
      await new Promise<void>((r) => idle.once('data', () => r()))
      const busy = await open()
      let got = ''
      busy.on('data', (d: Buffer) => {
        got += d.toString()
      })
      busy.write('POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx')
      for (let i = 0; i < 200 && !release; i++) await new Promise((r) => setTimeout(r, 5))
      assert.equal(lane.open, 2)
      const idleClosed = new Promise<void>((r) => idle.once('close', () => r()))
      const busyClosed = new Promise<void>((r) => busy.once('close', () => r()))
      lane.closeIdle()
      await idleClosed
      assert.equal(got, '', 'the waiting connection is still open, unanswered')
      release?.(fastReply())
      await busyClosed
      assert.match(got, /^HTTP\/1\.1 200 OK/)
      assert.ok(got.endsWith(FAST_BODY))
    },
  )
})

test('on node:https the lane reads the decrypted stream (secureConnection) and hands over to node:https', async () => {
  const { key, cert } = await selfSigned()
  const server = createHttpsServer({ key, cert, keepAliveTimeout: 65_000 }, nodeHandler)
  const lane = attachFastLane(server, (req) => (req.target === '/fast' ? fastReply() : null))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  try {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false })
    await new Promise<void>((r) => socket.once('secureConnect', () => r()))
    let raw = ''
    socket.on('data', (d: Buffer) => {
      raw += d.toString()
    })
    socket.write(get('/fast'))
    for (let i = 0; i < 200 && !raw.includes(FAST_BODY); i++) await new Promise((r) => setTimeout(r, 5))
    assert.equal(lane.open, 1)
    socket.write('POST /after HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n')
    await new Promise((r) => setTimeout(r, 30))
    socket.write('abc')
    for (let i = 0; i < 200 && !raw.includes('POST /after abc'); i++) await new Promise((r) => setTimeout(r, 5))
    assert.ok(raw.includes(FAST_BODY) && raw.includes('"node":"POST /after abc"'), raw)
    assert.equal(lane.open, 0)
    socket.destroy()
  } finally {
    const closed = new Promise<void>((r) => server.close(() => r()))
    lane.destroyAll()
    server.closeAllConnections()
    await closed
  }
})

/** A throwaway self-signed certificate (the client does not check it). */
async function selfSigned(): Promise<{ key: string; cert: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const der = await selfSignedCertificate({
    privateKey,
    publicKey,
    commonName: '127.0.0.1',
    notBeforeMs: Date.now() - 60_000,
    notAfterMs: Date.now() + 3_600_000,
    serial: Buffer.from([1, 2, 3, 4]),
  })
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n')
  return {
    key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
  }
}
