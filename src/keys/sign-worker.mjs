// Worker thread: RS256 signatures over JWT signing input. Plain JS with built-ins only, so it loads without a TS loader.
import { createPrivateKey, sign } from 'node:crypto'
import { parentPort } from 'node:worker_threads'

const keys = new Map()

parentPort.on('message', (m) => {
  if (m.type === 'key') {
    keys.set(m.kid, createPrivateKey({ key: Buffer.from(m.pkcs8), format: 'der', type: 'pkcs8' }))
    return
  }
  const key = keys.get(m.kid)
  if (!key) {
    parentPort.postMessage({ id: m.id, error: `unknown kid ${m.kid}` })
    return
  }
  const sig = sign('sha256', Buffer.from(m.input, 'latin1'), key)
  parentPort.postMessage({ id: m.id, sig: sig.toString('base64url') })
})
