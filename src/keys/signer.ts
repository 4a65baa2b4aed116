import { type KeyObject, sign } from 'node:crypto'
import { Worker } from 'node:worker_threads'

/** Produces RS256 signatures; with threads > 0 the RSA work runs in worker threads. */
export interface Signer {
  /** Makes a key known to the signer (idempotent per kid). */
  load(kid: string, key: KeyObject): void
  /** base64url RS256 signature over `input` (ASCII: a JWT's `header.payload`). */
  sign(kid: string, input: string): Promise<string>
  close(): Promise<void>
}

export function createSigner(opts: { threads: number }): Signer {
  const keys = new Map<string, KeyObject>()
  if (opts.threads <= 0) {
    return {
      load(kid, key) {
        if (!keys.has(kid)) keys.set(kid, key)
      },
      async sign(kid, input) {
        const key = keys.get(kid)
        if (!key) throw new Error(`signer: unknown kid ${kid}`)
        return sign('sha256', Buffer.from(input, 'latin1'), key).toString('base64url')
      },
      async close() {},
    }
  }
  type Pending = { resolve: (s: string) => void; reject: (e: Error) => void }
  const pending = new Map<number, Pending>()
  /** Sign requests per worker not yet sent: [id, kid, input, …]. */
  const batches: (string | number)[][] = Array.from({ length: opts.threads }, () => [])
  let flushQueued = false
  const flush = () => {
    flushQueued = false
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i] as (string | number)[]
      if (b.length === 0) continue
      batches[i] = []
      ;(workers[i] as Worker).postMessage(b)
    }
  }
  const inflight: number[] = []
  let next = 0
  let closed = false
  const workers = Array.from({ length: opts.threads }, (_, i) => {
    const w = new Worker(new URL('./sign-worker.mjs', import.meta.url), { execArgv: [] })
    w.unref()
    w.on('message', (m: { id: number; sig?: string; error?: string }) => {
      inflight[i] = (inflight[i] ?? 1) - 1
      const p = pending.get(m.id)
      pending.delete(m.id)
      if (!p) return
      if (m.sig) p.resolve(m.sig)
      else p.reject(new Error(m.error ?? 'signer failed'))
    })
    w.on('error', (e) => {
      for (const p of pending.values()) p.reject(e)
      pending.clear()
    })
    // A terminated worker answers nothing: settle what is still waiting instead of leaving it pending forever.
    w.on('exit', () => {
      for (const p of pending.values()) p.reject(new Error('signer closed'))
      pending.clear()
    })
    inflight.push(0)
    return w
  })
  return {
    load(kid, key) {
      if (keys.has(kid)) return
      keys.set(kid, key)
      const pkcs8 = key.export({ format: 'der', type: 'pkcs8' })
      for (const w of workers) w.postMessage({ type: 'key', kid, pkcs8 })
    },
    sign(kid, input) {
      if (closed) return Promise.reject(new Error('signer closed'))
      if (!keys.has(kid)) return Promise.reject(new Error(`signer: unknown kid ${kid}`))
      // least-loaded worker
      let best = 0
      for (let i = 1; i < workers.length; i++) if ((inflight[i] ?? 0) < (inflight[best] ?? 0)) best = i
      inflight[best] = (inflight[best] ?? 0) + 1
      const id = next++
      return new Promise<string>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        if (pending.size === 1) for (const w of workers) w.ref()
        // Requests of one event-loop turn go to a worker in one message (postMessage is a tenth of a token's
        // main-thread time otherwise); the flush runs before the loop polls for I/O again.
        const batch = batches[best] as (string | number)[]
        batch.push(id, kid, input)
        if (!flushQueued) {
          flushQueued = true
          setImmediate(flush)
        }
      }).finally(() => {
        if (pending.size === 0) for (const w of workers) w.unref()
      })
    },
    async close() {
      closed = true
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
}
