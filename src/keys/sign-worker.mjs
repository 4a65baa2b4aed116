// Worker thread: RS256 signatures over JWT signing input. Plain JS with built-ins only, so it loads without a TS loader.
import { createPrivateKey, sign } from 'node:crypto'
import { parentPort } from 'node:worker_threads'

const keys = new Map()

// Messages: { type: 'key', kid, pkcs8 }, or a batch of sign requests [id, kid, input, id, kid, input, …] (the main
// thread sends what queued up in one turn of its event loop in one message). Each signature is answered on its own,
// as soon as it is made: { id, sig } or { id, error }.
parentPort.on('message', (m) => {
  if (!Array.isArray(m)) {
    if (m.type === 'key') keys.set(m.kid, createPrivateKey({ key: Buffer.from(m.pkcs8), format: 'der', type: 'pkcs8' }))
    return
  }
  for (let i = 0; i + 2 < m.length; i += 3) {
    const [id, kid, input] = [m[i], m[i + 1], m[i + 2]]
    const key = keys.get(kid)
    if (!key) {
      parentPort.postMessage({ id, error: `unknown kid ${kid}` })
      continue
    }
    const sig = sign('sha256', Buffer.from(input, 'latin1'), key)
    parentPort.postMessage({ id, sig: sig.toString('base64url') })
  }
})
