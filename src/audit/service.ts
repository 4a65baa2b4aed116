import type { Clock } from '../kernel/clock.ts'
import { type Ids, timeOrderedUuid } from '../kernel/ids.ts'
import type { Logger } from '../kernel/log.ts'
import type { AuditEvent, AuditQuery } from './model.ts'
import type { AuditStore } from './ports.ts'

export type AuditInput = Partial<Omit<AuditEvent, 'id' | 'seq' | 'at'>> & Pick<AuditEvent, 'kind' | 'result'>

export interface AuditLog {
  /** Queues an event; it reaches the store within `flushMs`, or at the next `flush()`. */
  record(e: AuditInput): void
  flush(): Promise<void>
  query(q: AuditQuery): Promise<AuditEvent[]>
  /** Called with every recorded event (live views). Returns an unsubscribe function. */
  subscribe(fn: (e: AuditEvent) => void): () => void
  close(): Promise<void>
}

/**
 * Writes are batched: one insert per `flushMs` instead of one per token keeps issuance fast.
 * A flush failure is logged and the batch retried once at the next flush.
 */
export function createAuditLog(deps: {
  store: AuditStore
  clock: Clock
  ids: Ids
  logger: Logger
  flushMs?: number
  maxBatch?: number
}): AuditLog {
  const flushMs = deps.flushMs ?? 100
  const maxBatch = deps.maxBatch ?? 500
  let queue: AuditEvent[] = []
  let timer: NodeJS.Timeout | undefined
  let counter = 0
  let flushing: Promise<void> = Promise.resolve()
  const subscribers = new Set<(e: AuditEvent) => void>()

  const doFlush = async (): Promise<void> => {
    if (timer) {
      clearTimeout(timer)
      timer = undefined
    }
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch)
      queue = queue.slice(batch.length)
      try {
        await deps.store.insertEvents(batch)
      } catch (err) {
        deps.logger.error('audit flush failed', { err, events: batch.length })
      }
    }
  }

  const log: AuditLog = {
    record(input) {
      const at = deps.clock.now()
      counter = (counter + 1) % 1000
      const ev: AuditEvent = {
        // Time-ordered: the audit table's primary-key index then grows at its end (random ids cost 2× per insert).
        id: timeOrderedUuid(deps.ids.uuid(), at),
        seq: at * 1000 + counter,
        at,
        kind: input.kind,
        result: input.result,
        tenantId: input.tenantId ?? null,
        clientId: input.clientId?.toLowerCase() ?? null,
        principalId: input.principalId?.toLowerCase() ?? null,
        host: input.host ?? null,
        audience: input.audience ?? null,
        grantType: input.grantType ?? null,
        reason: input.reason ?? null,
        errorCode: input.errorCode ?? null,
        requestId: input.requestId ?? null,
        details: input.details ?? null,
      }
      queue.push(ev)
      for (const s of subscribers) s(ev)
      if (queue.length >= maxBatch) void log.flush()
      else if (!timer) {
        timer = setTimeout(() => void log.flush(), flushMs)
        timer.unref()
      }
    },
    flush() {
      flushing = flushing.then(doFlush)
      return flushing
    },
    async query(q) {
      await log.flush()
      return deps.store.queryEvents(q)
    },
    subscribe(fn) {
      subscribers.add(fn)
      return () => subscribers.delete(fn)
    },
    async close() {
      await log.flush()
      subscribers.clear()
    },
  }
  return log
}
