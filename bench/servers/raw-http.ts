// Baseline server for bench/imds.ts: bare node:http answering every request with one constant body (BODY_FILE, the
// bytes of a real IMDS token response) and the same headers IMDS sends. Prints {"port":N} once it listens.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const file = process.env.BODY_FILE
if (!file) throw new Error('BODY_FILE is required')
const body = readFileSync(file)
const headers = {
  'Content-Type': 'application/json; charset=utf-8',
  Server: 'IMDS/150.870.65.azid',
  'Content-Length': String(body.length),
}

const server = createServer({ keepAliveTimeout: 65_000 }, (_req, res) => {
  res.writeHead(200, headers)
  res.end(body)
})
await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
process.on('SIGINT', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
