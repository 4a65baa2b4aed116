/**
 * Admin API for configuration as code (behind `x-azid-admin-key`, like the rest of /_azid):
 *   POST   /_azid/apply[?dryRun=true]      a world document (JSON); `Accept: application/x-ndjson` streams progress
 *   GET    /_azid/export                   the world as a document
 *   GET    /_azid/snapshots                list
 *   POST   /_azid/snapshots                {name, overwrite?}: save
 *   POST   /_azid/snapshots/:name/restore  restore (one transaction; caches invalidated)
 *   DELETE /_azid/snapshots/:name
 *   POST   /_azid/reset                    back to the bootstrap state
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { Hono } from 'hono'
import { WorldError, applyWorld } from './world/apply.ts'
import type { WorldDeps } from './world/context.ts'
import { formatPath } from './world/document.ts'
import { exportWorld } from './world/export.ts'
import { SnapshotError, createSnapshots } from './world/snapshot.ts'

/** Paths this app serves (the dispatcher sends them here before the general admin app). */
export const CONFIG_ADMIN_PATH = /^\/_azid\/(apply|export|snapshots|reset)(\/|$)/

const sha = (s: string) => createHash('sha256').update(s).digest()

function worldErrorBody(e: WorldError) {
  const first = e.issues[0]
  return {
    error: {
      code: 'InvalidConfiguration',
      message: first
        ? `${formatPath(first.path)}: ${first.message}${e.issues.length > 1 ? ` (and ${e.issues.length - 1} more)` : ''}`
        : 'invalid configuration',
      details: e.issues.map((i) => ({ path: i.path, message: i.message })),
    },
  }
}

export function createConfigAdminApp(deps: WorldDeps & { adminKey: string }): Hono {
  const app = new Hono()
  const expected = sha(deps.adminKey)
  const snapshots = createSnapshots(deps)
  // One world-changing operation at a time on this node: apply, restore and reset each replace many rows.
  let chain: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn)
    chain = run.catch(() => {})
    return run
  }

  app.onError((err, c) => {
    if (err instanceof WorldError) return c.json(worldErrorBody(err), 400)
    if (err instanceof SnapshotError)
      return c.json(
        { error: { code: err.code, message: err.message } },
        err.code === 'NotFound' ? 404 : err.code === 'Conflict' ? 409 : 400,
      )
    deps.logger.error('admin config API error', { err })
    return c.json({ error: { code: 'InternalError', message: 'internal error; see the azid log' } }, 500)
  })

  app.use('/_azid/*', async (c, next) => {
    const given = c.req.header('x-azid-admin-key') ?? ''
    if (!timingSafeEqual(sha(given), expected))
      return c.json({ error: { code: 'Unauthorized', message: 'missing or wrong x-azid-admin-key' } }, 401)
    await next()
    return undefined
  })

  app.post('/_azid/apply', async (c) => {
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      return c.json({ error: { code: 'BadRequest', message: 'the body must be a JSON world document' } }, 400)
    }
    const dryRun = c.req.query('dryRun') === 'true'
    if (!(c.req.header('accept') ?? '').includes('application/x-ndjson'))
      return c.json(await serial(() => applyWorld(deps, body, { dryRun })))
    // Streamed: progress lines while the transaction runs, then the result (or the error) as the last line.
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
    const w = writable.getWriter()
    const enc = new TextEncoder()
    const send = (o: unknown) => w.write(enc.encode(`${JSON.stringify(o)}\n`)).catch(() => {})
    let last = 0
    void (async () => {
      try {
        const result = await serial(() =>
          applyWorld(deps, body, {
            dryRun,
            onProgress: (done, total, what) => {
              const t = performance.now()
              if (t - last < 100 && done < total) return
              last = t
              void send({ progress: { done, total, what } })
            },
          }),
        )
        await send({ result })
      } catch (e) {
        if (e instanceof WorldError) await send(worldErrorBody(e))
        else {
          deps.logger.error('apply failed', { err: e })
          await send({ error: { code: 'InternalError', message: 'internal error; see the azid log' } })
        }
      } finally {
        await w.close().catch(() => {})
      }
    })()
    return new Response(readable, { status: 200, headers: { 'content-type': 'application/x-ndjson' } })
  })

  app.get('/_azid/export', async (c) => c.json(await exportWorld(deps)))

  app.get('/_azid/snapshots', (c) => c.json({ value: snapshots.list() }))
  app.post('/_azid/snapshots', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { name?: unknown; overwrite?: unknown }
    if (typeof body.name !== 'string' || body.name === '')
      return c.json({ error: { code: 'BadRequest', message: 'name is required' } }, 400)
    const name = body.name
    return c.json(await serial(() => snapshots.save(name, { overwrite: body.overwrite === true })), 201)
  })
  app.post('/_azid/snapshots/:name/restore', async (c) =>
    c.json(await serial(() => snapshots.restore(c.req.param('name')))),
  )
  app.delete('/_azid/snapshots/:name', (c) => {
    snapshots.delete(c.req.param('name'))
    return c.json({ deleted: c.req.param('name') })
  })
  app.post('/_azid/reset', async (c) => c.json(await serial(() => snapshots.reset())))

  return app
}
