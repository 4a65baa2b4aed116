import assert from 'node:assert/strict'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { readBodyLimited } from './body.ts'

/** A node:http server that answers with what readBodyLimited made of the request (`null` or the body's length). */
async function withServer(fn: (post: (body: Buffer, chunked: boolean) => Promise<string>) => Promise<void>) {
  const server = createServer((incoming, res) => {
    const req = new Request('http://x/', {
      method: 'POST',
      headers: incoming.headers['content-length'] ? { 'content-length': incoming.headers['content-length'] } : {},
    })
    readBodyLimited(req, 1000, { incoming, outgoing: res }).then(
      (b) => res.end(b === null ? 'null' : `${b.length}:${b.subarray(0, 3).toString()}`),
      (e) => res.end(`error ${e}`),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const post = (body: Buffer, chunked: boolean) =>
    new Promise<string>((resolve, reject) => {
      const r = request(
        { host: '127.0.0.1', port, method: 'POST', headers: chunked ? {} : { 'content-length': body.length } },
        (res) => {
          let out = ''
          res.on('data', (d) => (out += d))
          res.on('end', () => resolve(out))
        },
      )
      r.on('error', reject)
      if (chunked) for (let i = 0; i < body.length; i += 100) r.write(body.subarray(i, i + 100))
      else r.write(body)
      r.end()
    })
  try {
    await fn(post)
  } finally {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
}

test('reads the Node request itself: whole bodies, refused declared lengths, discarded chunked excess', async () => {
  await withServer(async (post) => {
    assert.equal(await post(Buffer.from('abc'.repeat(100)), false), '300:abc')
    assert.equal(await post(Buffer.from('abc'.repeat(100)), true), '300:abc')
    assert.equal(await post(Buffer.alloc(0), false), '0:')
    assert.equal(await post(Buffer.alloc(1001), false), 'null')
    // A chunked body over the limit: null, and the answer still arrives (the rest is read and dropped).
    assert.equal(await post(Buffer.alloc(50_000), true), 'null')
  })
})

test('without a Node request it reads the Web Request (app.request() in tests)', async () => {
  const req = (body: string) => new Request('http://x/', { method: 'POST', body })
  assert.equal((await readBodyLimited(req('hello'), 10))?.toString(), 'hello')
  assert.equal(await readBodyLimited(req('x'.repeat(11)), 10), null)
  assert.equal((await readBodyLimited(new Request('http://x/'), 10))?.length, 0)
})
