// Floor server for bench/sts.ts: the least a token endpoint must do per request, as plain as it can be written —
// node:https with azid's TLS certificate (TLS_CERT, TLS_KEY), read the form body, take its `resource`, put it in a
// JWT payload shaped and sized like azid's (PAYLOAD_JSON, a sample payload whose `aud` is replaced), sign it RS256
// with RSA-2048 in SIGNING_THREADS worker threads (each request to the one with the fewest in flight, one message
// each way), answer a token response of the same shape. No client authentication, no audit, no directory: it shows
// what throughput and latency this machine allows for the HTTPS + signing part alone. Prints {"port":N} once it
// listens.
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

const certPath = process.env.TLS_CERT
const keyPath = process.env.TLS_KEY
const payloadJson = process.env.PAYLOAD_JSON
if (!certPath || !keyPath || !payloadJson) throw new Error('TLS_CERT, TLS_KEY and PAYLOAD_JSON are required')
const template = JSON.parse(payloadJson) as Record<string, unknown>
const threads = Number(process.env.SIGNING_THREADS ?? availableParallelism())

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' })
const src = `
  const { parentPort, workerData } = require('node:worker_threads')
  const { createPrivateKey, sign } = require('node:crypto')
  const key = createPrivateKey({ key: Buffer.from(workerData.pkcs8), format: 'der', type: 'pkcs8' })
  parentPort.on('message', ([id, input]) => {
    parentPort.postMessage([id, sign('sha256', Buffer.from(input, 'latin1'), key).toString('base64url')])
  })`
const pending = new Map<number, (sig: string) => void>()
const inFlight: number[] = []
const workers = Array.from({ length: threads }, (_, i) => {
  const w = new Worker(src, { eval: true, workerData: { pkcs8 } })
  inFlight.push(0)
  w.on('message', ([id, sig]: [number, string]) => {
    ;(inFlight[i] as number)--
    const done = pending.get(id)
    pending.delete(id)
    done?.(sig)
  })
  return w
})
/** The worker with the fewest signatures in flight (the first of them on a tie). */
const leastBusy = () => {
  let best = 0
  for (let i = 1; i < threads; i++) if ((inFlight[i] as number) < (inFlight[best] as number)) best = i
  ;(inFlight[best] as number)++
  return workers[best] as Worker
}
let nextId = 0
const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'floor' })).toString('base64url')

const server = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const resource = new URLSearchParams(Buffer.concat(chunks).toString()).get('resource') ?? ''
    const now = Math.floor(Date.now() / 1000)
    const payload = { ...template, aud: resource, iat: now, nbf: now, exp: now + 3600 }
    const input = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
    const id = nextId++
    pending.set(id, (sig) => {
      const body = JSON.stringify({
        token_type: 'Bearer',
        expires_in: '3599',
        ext_expires_in: '3599',
        expires_on: String(now + 3600),
        not_before: String(now),
        resource,
        access_token: `${input}.${sig}`,
      })
      res.writeHead(200, {
        'Cache-Control': 'no-store, no-cache',
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      })
      res.end(body)
    })
    leastBusy().postMessage([id, input])
  })
})
server.keepAliveTimeout = 65_000
await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
process.on('SIGINT', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
