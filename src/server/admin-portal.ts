// The portal's door to the admin API (/_azid/portal/…). The browser never holds the admin key: it sends the signed-in
// user's ARM token, and this surface checks it and calls the admin API on the user's behalf. Logs, hosts, fault
// rules and the list of pending device codes are for the bootstrap administrator; any signed-in user may approve or
// deny a device code as themselves (what /devicelogin does with a password) and check access where they may read
// role assignments.
import { Hono, type Context } from 'hono'
import type { AccessControl } from '../arm/index.ts'
import type { AuditEvent, AuditLog, AuditQuery } from '../audit/index.ts'
import { AUDIENCES, type TokenVerifier, type VerifiedToken } from '../auth/index.ts'
import type { DirectoryService } from '../directory/index.ts'
import type { Clock } from '../kernel/clock.ts'
import { isDomainError } from '../kernel/errors.ts'
import type { Logger } from '../kernel/log.ts'
import { FIRST_PARTY_PUBLIC_CLIENTS, STS_ERRORS, type StsErrorKey, type StsService } from '../sts/index.ts'
import type { BootstrapCredentials } from './bootstrap.ts'

type Env = { Variables: { caller: VerifiedToken } }

/** The portal's errors: `{"error":{"code","message"}}` as the admin API writes them. */
const ERRORS = {
  InvalidAuthenticationToken: { status: 401, message: (d: string) => `Sign in again: ${d}` },
  AdminOnly: {
    status: 403,
    message: (what: string) => `${what} is for the bootstrap administrator. Sign in as that user to see it.`,
  },
  AuthorizationFailed: { status: 403, message: (d: string) => d },
  BadRequest: { status: 400, message: (d: string) => d },
  NotFound: { status: 404, message: (d: string) => d },
  DeviceCodeRefused: { status: 400, message: (d: string) => d },
} as const
type ErrorCode = keyof typeof ERRORS

const render = (c: Context<Env>, code: ErrorCode, detail: string) => {
  const e = ERRORS[code]
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' }
  if (code === 'InvalidAuthenticationToken') headers['WWW-Authenticate'] = 'Bearer error="invalid_token"'
  return c.json({ error: { code, message: e.message(detail) } }, e.status, headers)
}

/** The live view applies the same filters the store applies to a query (src/store/audit-store.ts). */
function logFilter(q: Record<string, string>): (e: AuditEvent) => boolean {
  return (e) =>
    (!q.kind || e.kind === q.kind) &&
    (!q.result || e.result === q.result) &&
    (!q.principal || e.principalId === q.principal.toLowerCase()) &&
    (!q.client || e.clientId === q.client.toLowerCase()) &&
    (!q.host || e.host === q.host) &&
    (!q.audience || e.audience === q.audience)
}

export function createAdminPortalApp(deps: {
  verifier: TokenVerifier
  /** The admin API (src/server/admin-routes.ts), called in process with the admin key. */
  admin: { fetch: (req: Request, env: unknown) => Response | Promise<Response> }
  adminKey: string
  bootstrap: Pick<BootstrapCredentials, 'userId' | 'servicePrincipalId'>
  access: AccessControl
  audit: AuditLog
  directory: DirectoryService
  sts: StsService
  clock: Clock
  logger: Logger
  /** How long one live-log stream stays open before the page reconnects (default 10 minutes). */
  streamMaxMs?: number
}): Hono<Env> {
  const app = new Hono<Env>()
  const isAdmin = (oid: string) => oid === deps.bootstrap.userId || oid === deps.bootstrap.servicePrincipalId

  app.onError((err, c) => {
    deps.logger.error('portal admin API error', { err })
    return c.json({ error: { code: 'InternalError', message: 'internal error; see the azid log' } }, 500)
  })

  app.use('/_azid/portal/*', async (c, next) => {
    try {
      c.set('caller', await deps.verifier.verify(c.req.header('authorization'), { audiences: AUDIENCES.arm }))
    } catch (err) {
      return render(c, 'InvalidAuthenticationToken', isDomainError(err) ? err.code : 'the token is not valid')
    }
    await next()
    c.header('Cache-Control', 'no-store')
    return undefined
  })

  /** Calls the admin API in process with the admin key; the answer goes back as it is. */
  const forward = async (c: Context<Env>, path: string, init: { method?: string; body?: string } = {}) => {
    const url = new URL(c.req.url)
    const target = new URL(`${path}${url.search}`, url.origin)
    const headers: Record<string, string> = { 'x-azid-admin-key': deps.adminKey }
    if (init.body !== undefined) headers['content-type'] = 'application/json'
    return deps.admin.fetch(
      new Request(target, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
      }),
      c.env,
    )
  }
  const adminOnly = (c: Context<Env>, what: string) =>
    isAdmin(c.get('caller').principalId) ? null : render(c, 'AdminOnly', what)
  const record = (c: Context<Env>, reason: string, details: Record<string, unknown>) => {
    const caller = c.get('caller')
    deps.audit.record({
      kind: 'admin',
      result: 'success',
      tenantId: caller.tenantId,
      clientId: caller.appId,
      principalId: caller.principalId,
      reason: `portal: ${reason}`,
      details,
    })
  }

  app.get('/_azid/portal/session', (c) => {
    const caller = c.get('caller')
    return c.json({
      principalId: caller.principalId,
      tenantId: caller.tenantId,
      userPrincipalName: caller.displayId,
      name: typeof caller.claims.name === 'string' ? caller.claims.name : caller.displayId,
      isUser: caller.isUser,
      admin: isAdmin(caller.principalId),
      expiresAt: caller.expiresAt,
    })
  })

  app.get('/_azid/portal/logs', async (c) => adminOnly(c, 'The sign-in and activity log') ?? forward(c, '/_azid/logs'))
  app.get('/_azid/portal/hosts', async (c) => adminOnly(c, 'The list of hosts') ?? forward(c, '/_azid/hosts'))

  // -- live log: server-sent events (read with fetch, which can send the Authorization header EventSource cannot)
  app.get('/_azid/portal/logs/stream', async (c) => {
    const refused = adminOnly(c, 'The sign-in and activity log')
    if (refused) return refused
    const q = c.req.query()
    for (const k of ['kind', 'result'] as const) {
      const allowed = k === 'kind' ? ['token', 'authorization', 'fault', 'admin'] : ['success', 'failure']
      if (q[k] && !allowed.includes(q[k])) return render(c, 'BadRequest', `${k} must be one of ${allowed.join(', ')}`)
    }
    const filter = logFilter(q)
    const query: AuditQuery = {}
    if (q.kind) query.kind = q.kind as AuditQuery['kind']
    if (q.result) query.result = q.result as AuditQuery['result']
    if (q.principal) query.principalId = q.principal
    if (q.client) query.clientId = q.client
    if (q.host) query.host = q.host
    if (q.audience) query.audience = q.audience
    const after = Number(q.after ?? 0)
    const caller = c.get('caller')
    // The stream ends when the token does (or after streamMaxMs); the page reconnects with a fresh one.
    const lifetime = Math.max(0, Math.min(caller.expiresAt * 1000 - deps.clock.now(), deps.streamMaxMs ?? 600_000))
    const enc = new TextEncoder()
    let cleanup = () => {}
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        let open = true
        let last = Number.isFinite(after) ? after : 0
        let live = false
        const early: AuditEvent[] = []
        const write = (text: string) => {
          if (open) controller.enqueue(enc.encode(text))
        }
        const send = (e: AuditEvent) => {
          if (e.seq <= last) return
          last = e.seq
          write(`id: ${e.seq}\nevent: audit\ndata: ${JSON.stringify(e)}\n\n`)
        }
        const unsubscribe = deps.audit.subscribe((e) => {
          if (!filter(e)) return
          if (live) send(e)
          else early.push(e)
        })
        const keepalive = setInterval(() => write(': keepalive\n\n'), 15_000)
        keepalive.unref()
        const end = setTimeout(() => cleanup(), lifetime)
        end.unref()
        cleanup = () => {
          if (!open) return
          open = false
          unsubscribe()
          clearInterval(keepalive)
          clearTimeout(end)
          try {
            controller.close()
          } catch {
            // already closed by the client
          }
        }
        c.req.raw.signal.addEventListener('abort', () => cleanup())
        // Subscribe first, then read the store: nothing recorded in between is lost; seq removes the overlap.
        await deps.audit.flush()
        if (last > 0)
          for (const e of await deps.audit.query({ ...query, afterSeq: last, order: 'asc', limit: 1000 })) send(e)
        live = true
        for (const e of early.sort((x, y) => x.seq - y.seq)) send(e)
        write(`event: ready\ndata: ${JSON.stringify({ after: last })}\n\n`)
      },
      cancel() {
        cleanup()
      },
    })
    return new Response(stream, {
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Accel-Buffering': 'no',
      },
    })
  })

  // -- fault rules
  app.get('/_azid/portal/faults', async (c) => adminOnly(c, 'Fault injection') ?? forward(c, '/_azid/faults'))
  app.post('/_azid/portal/faults', async (c) => {
    const refused = adminOnly(c, 'Fault injection')
    if (refused) return refused
    const res = await forward(c, '/_azid/faults', { method: 'POST', body: await c.req.text() })
    if (res.status === 201) {
      const added = ((await res.clone().json()) as { value: { id: string }[] }).value
      record(c, 'fault rules added', { ids: added.map((r) => r.id) })
    }
    return res
  })
  app.delete('/_azid/portal/faults', async (c) => {
    const refused = adminOnly(c, 'Fault injection')
    if (refused) return refused
    const res = await forward(c, '/_azid/faults', { method: 'DELETE' })
    if (res.ok) record(c, 'fault rules cleared', {})
    return res
  })
  app.delete('/_azid/portal/faults/:id', async (c) => {
    const refused = adminOnly(c, 'Fault injection')
    if (refused) return refused
    const id = c.req.param('id')
    const res = await forward(c, `/_azid/faults/${encodeURIComponent(id)}`, { method: 'DELETE' })
    if (res.ok) record(c, 'fault rule removed', { id })
    return res
  })

  // -- device codes
  app.get('/_azid/portal/device', async (c) => {
    const refused = adminOnly(c, 'The list of pending device codes')
    if (refused) return refused
    const pending = await deps.sts.pendingDeviceCodes()
    const value = []
    for (const d of pending) {
      const app = FIRST_PARTY_PUBLIC_CLIENTS.find((x) => x.appId === d.clientId)
      const clientName = app?.displayName ?? (await deps.directory.store.getApplicationByAppId(d.clientId))?.displayName
      // Never the device code (or its hash): the user code is what a person approves.
      value.push({
        userCode: d.userCode,
        clientId: d.clientId,
        clientName: clientName ?? d.clientId,
        scope: d.scope.replace(/^v[12] /, ''),
        tenant: d.tenantPath,
        expiresAt: d.expiresAt,
        createdAt: d.createdAt,
      })
    }
    return c.json({ value })
  })
  app.post('/_azid/portal/device/:code/:decision{approve|deny}', async (c) => {
    const caller = c.get('caller')
    if (!caller.isUser) return render(c, 'BadRequest', 'Only a signed-in user can approve or deny a device code.')
    const user = await deps.directory.store.getUser(caller.principalId)
    if (!user) return render(c, 'NotFound', `The signed-in user ${caller.displayId} is no longer in the directory.`)
    const code = c.req.param('code').trim().toUpperCase()
    try {
      const rec = await deps.sts.decideDeviceCode({
        userCode: code,
        user,
        approve: c.req.param('decision') === 'approve',
      })
      return c.json({
        userCode: rec.userCode,
        clientId: rec.clientId,
        status: rec.status,
        user: user.userPrincipalName,
      })
    } catch (err) {
      if (!isDomainError(err)) throw err
      const entry = STS_ERRORS[err.code as StsErrorKey]
      const message = entry ? `AADSTS${entry.code}: ${entry.text(err.args as Record<string, string>)}` : err.code
      return render(c, 'DeviceCodeRefused', message)
    }
  })

  // -- Check access: for the administrator, or anyone who may read role assignments at the scope (as in Azure)
  app.get('/_azid/portal/access/explain', async (c) => {
    const caller = c.get('caller')
    const scope = c.req.query('scope') ?? ''
    if (!scope) return render(c, 'BadRequest', 'scope is required')
    const action = 'Microsoft.Authorization/roleAssignments/read'
    if (!isAdmin(caller.principalId) && !deps.access.check({ principalId: caller.principalId, action, scope }).allowed)
      return render(
        c,
        'AuthorizationFailed',
        `The client '${caller.displayId}' with object id '${caller.principalId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid.`,
      )
    return forward(c, '/_azid/access/explain')
  })

  app.all('/_azid/portal/*', (c) => render(c, 'NotFound', `No portal API at ${new URL(c.req.url).pathname}`))
  return app
}
