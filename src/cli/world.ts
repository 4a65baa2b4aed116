/**
 * Configuration as code on the command line: `apply`, `export`, `snapshot`, `reset`. The file is read here (YAML or
 * JSON, which is YAML) so that every problem the server reports by path is printed with its line:
 * `world.yaml:12: roleAssignments[0].role: unknown role 'Readr' (did you mean 'Reader'?)`.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { basename } from 'node:path'
import type { Document, LineCounter } from 'yaml'
import type { ApplyResult, DocIssue } from '../server/world/document.ts'
import { UsageError, type ParsedArgs, flag, has } from './args.ts'
import { AdminError, CliError, type Target, adminRequest, unreachable } from './client.ts'
import { yaml } from './yaml.ts'

export interface WorldIo {
  out(s: string): void
  err(s: string): void
  /** stderr is a terminal: progress redraws one line. */
  tty: boolean
  format: 'json' | 'text'
}

const fmtPath = (p: readonly (string | number)[]) => {
  let out = ''
  for (const s of p) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`
  return out || '(document)'
}

/** The file's line of a path: the key's line for a map entry, the item's for a list entry, else the nearest parent. */
export function lineOfPath(doc: Document, counter: LineCounter, path: readonly (string | number)[]): number {
  let node: unknown = doc.contents
  let offset = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? 0
  for (const seg of path) {
    const { isMap, isPair, isScalar, isSeq } = yaml()
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === seg)
      if (!pair) break
      const keyRange = (pair.key as { range?: [number, number, number] } | null)?.range
      if (keyRange) offset = keyRange[0]
      node = pair.value
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as { range?: [number, number, number] } | undefined
      if (!item) break
      if (item.range) offset = item.range[0]
      node = item
    } else break
  }
  return counter.linePos(offset).line
}

export interface LoadedFile {
  name: string
  data: unknown
  doc: Document
  counter: LineCounter
}

export function loadWorldFile(file: string, text?: string): LoadedFile {
  let src: string
  try {
    src = text ?? readFileSync(file, 'utf8')
  } catch (e) {
    throw new CliError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    )
  }
  const { LineCounter, parseDocument } = yaml()
  const counter = new LineCounter()
  const doc = parseDocument(src, { lineCounter: counter, prettyErrors: false })
  const name = basename(file)
  if (doc.errors.length > 0) {
    const lines = doc.errors.map(
      (e) => `${name}:${counter.linePos(e.pos[0]).line}: syntax error: ${e.message.split('\n')[0]}`,
    )
    throw new CliError(`${lines.join('\n')}\nnothing was applied: fix the file and run azid apply again`)
  }
  const data = doc.toJS({ maxAliasCount: 1000 }) as unknown
  if (data !== null && data !== undefined && (typeof data !== 'object' || Array.isArray(data)))
    throw new CliError(`${name}:1: the file must be a mapping (tenants:, identities:, hosts:, roleAssignments: …)`)
  return { name, data: data ?? {}, doc, counter }
}

/** POST /_azid/apply with streamed progress. */
function streamApply(
  t: Target,
  body: unknown,
  dryRun: boolean,
  onProgress: (p: { done: number; total: number; what: string }) => void,
): Promise<ApplyResult> {
  const payload = Buffer.from(JSON.stringify(body))
  const url = new URL(`/_azid/apply${dryRun ? '?dryRun=true' : ''}`, t.base)
  return new Promise((res, rej) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: t.ca,
        headers: {
          'x-azid-admin-key': t.adminKey,
          'content-type': 'application/json',
          accept: 'application/x-ndjson',
          'content-length': String(payload.length),
        },
      },
      (r) => {
        let buf = ''
        let result: ApplyResult | undefined
        let error: { code: string; message: string; details?: DocIssue[] } | undefined
        const line = (l: string) => {
          if (!l.trim()) return
          let o: {
            progress?: { done: number; total: number; what: string }
            result?: ApplyResult
            error?: typeof error
          }
          try {
            o = JSON.parse(l)
          } catch {
            error = { code: String(r.statusCode), message: l.slice(0, 200) }
            return
          }
          if (o.progress) onProgress(o.progress)
          if (o.result) result = o.result
          if (o.error) error = o.error
        }
        r.setEncoding('utf8')
        r.on('data', (c: string) => {
          buf += c
          let i = buf.indexOf('\n')
          while (i >= 0) {
            line(buf.slice(0, i))
            buf = buf.slice(i + 1)
            i = buf.indexOf('\n')
          }
        })
        r.on('end', () => {
          line(buf)
          if (result) res(result)
          else if (error)
            rej(
              new AdminError(
                `${error.code}: ${error.message}`,
                (r.statusCode ?? 0) >= 400 ? (r.statusCode as number) : 400,
                { error },
              ),
            )
          else rej(new CliError(`azid answered ${r.statusCode} without a result`))
        })
      },
    )
    req.on('error', (e: NodeJS.ErrnoException) => rej(unreachable(t.base, e)))
    req.write(payload)
    req.end()
  })
}

function issuesOf(e: unknown): DocIssue[] | undefined {
  if (!(e instanceof AdminError)) return undefined
  const err = (e.body as { error?: { code?: string; details?: DocIssue[] } }).error
  return err?.code === 'InvalidConfiguration' ? (err.details ?? []) : undefined
}

export async function applyCommand(t: Target, p: ParsedArgs, io: WorldIo): Promise<number> {
  const file = flag(p, 'file') ?? p.positionals[0]
  if (!file)
    throw new UsageError('the following arguments are required: --file/-f (usage: azid apply -f FILE [--dry-run])')
  const f = loadWorldFile(file)
  const dryRun = has(p, 'dry-run')
  const t0 = performance.now()
  io.err(`${dryRun ? 'Checking' : 'Applying'} ${f.name}…`)
  let result: ApplyResult
  try {
    result = await streamApply(t, f.data, dryRun, (pr) => {
      if (io.tty) io.err(`\x1b[1A\x1b[2K[${pr.done}/${pr.total}] ${pr.what}`)
      else if (pr.total >= 200 && pr.done % 100 === 0) io.err(`  ${pr.done}/${pr.total}`)
    })
  } catch (e) {
    const issues = issuesOf(e)
    if (!issues) throw e
    const lines = issues
      .map((i) => ({ line: lineOfPath(f.doc, f.counter, i.path), i }))
      .sort((a, b) => a.line - b.line)
      .map(({ line, i }) => `${f.name}:${line}: ${fmtPath(i.path)}: ${i.message}`)
    throw new CliError(`${lines.join('\nazid: ')}\nazid: nothing was applied: fix ${f.name} and run azid apply again`)
  }
  if (io.format === 'json') {
    io.out(JSON.stringify(result, null, 2))
    return 0
  }
  const sign = { created: '+', updated: '~', unchanged: '=' } as const
  for (const c of result.changes)
    if (c.action !== 'unchanged')
      io.out(`${sign[c.action]} ${c.action} ${c.kind} ${c.name}${c.detail ? `: ${c.detail}` : ''}`)
  for (const s of result.generatedSecrets)
    io.out(`secret '${s.displayName}' of application '${s.application}': ${s.value}  (shown once; store it now)`)
  const { created, updated, unchanged } = result.summary
  const ms = Math.round(performance.now() - t0)
  if (created + updated === 0)
    io.out(`No changes: the world already matches ${f.name} (${unchanged} items checked, ${ms} ms)`)
  else
    io.out(
      `${dryRun ? 'Would apply' : 'Applied'} ${f.name}: ${created} created, ${updated} updated, ${unchanged} unchanged (${ms} ms)${dryRun ? '; nothing was changed (--dry-run)' : ''}`,
    )
  return 0
}

export async function exportCommand(t: Target, p: ParsedArgs, io: WorldIo): Promise<number> {
  const world = await adminRequest<Record<string, unknown>>(t, 'GET', '/_azid/export')
  const file = flag(p, 'file')
  const fmt = flag(p, 'format') ?? (file?.endsWith('.json') || io.format === 'json' ? 'json' : 'yaml')
  if (fmt !== 'yaml' && fmt !== 'json')
    throw new UsageError(`argument --format: invalid choice '${fmt}' (choose from yaml, json)`)
  const text =
    fmt === 'json'
      ? `${JSON.stringify(world, null, 2)}\n`
      : `# azid world: apply with 'azid apply -f FILE'. Secrets and passwords are salted hashes.\n${yaml().stringify(world, { lineWidth: 0 })}`
  if (file) {
    writeFileSync(file, text, { mode: 0o600 })
    const n = Object.entries(world)
      .filter(([k]) => k !== 'version')
      .reduce((a, [, v]) => a + (Array.isArray(v) ? v.length : 0), 0)
    io.err(`Exported ${n} items to ${file}`)
  } else io.out(text.trimEnd())
  return 0
}

export async function snapshotCommand(t: Target, sub: string | undefined, p: ParsedArgs, io: WorldIo): Promise<number> {
  const name = p.positionals[0] ?? flag(p, 'name')
  const needName = () => {
    if (!name) throw new UsageError(`the following arguments are required: NAME (usage: azid snapshot ${sub} NAME)`)
    return name
  }
  const t0 = performance.now()
  const ms = () => `${Math.round(performance.now() - t0)} ms`
  const kb = (n: number) => (n < 10_240 ? `${n} bytes` : `${Math.round(n / 1024)} KiB`)
  switch (sub) {
    case 'save': {
      const n = needName()
      io.err(`Saving snapshot '${n}'…`)
      const r = await adminRequest<{ rows: number; bytes: number }>(t, 'POST', '/_azid/snapshots', {
        name: n,
        overwrite: has(p, 'force'),
      })
      io.out(`Saved snapshot '${n}': ${r.rows} rows, ${kb(r.bytes)} (${ms()})`)
      return 0
    }
    case 'restore': {
      const n = needName()
      io.err(`Restoring snapshot '${n}'…`)
      const r = await adminRequest<{ rows: number }>(t, 'POST', `/_azid/snapshots/${encodeURIComponent(n)}/restore`)
      io.out(`Restored snapshot '${n}': ${r.rows} rows (${ms()})`)
      return 0
    }
    case 'list': {
      const r = await adminRequest<{ value: { name: string; createdAt: number; bytes: number; rows: number }[] }>(
        t,
        'GET',
        '/_azid/snapshots',
      )
      if (io.format === 'json') io.out(JSON.stringify(r.value, null, 2))
      else if (r.value.length === 0) io.out('No snapshots (save one with azid snapshot save NAME)')
      else
        for (const s of r.value)
          io.out(`${s.name}\t${new Date(s.createdAt).toISOString()}\t${s.rows} rows\t${kb(s.bytes)}`)
      return 0
    }
    case 'delete': {
      const n = needName()
      await adminRequest(t, 'DELETE', `/_azid/snapshots/${encodeURIComponent(n)}`)
      io.out(`Deleted snapshot '${n}'`)
      return 0
    }
    default:
      throw new UsageError('usage: azid snapshot save NAME [--force] | restore NAME | list | delete NAME')
  }
}

export async function resetCommand(t: Target, p: ParsedArgs, io: WorldIo): Promise<number> {
  if (!has(p, 'yes'))
    throw new UsageError(
      "azid reset deletes every identity, host, role assignment, application and user except the bootstrap administrator's; pass --yes (save a snapshot first if you may want them back)",
    )
  io.err('Resetting to the bootstrap state…')
  const t0 = performance.now()
  const r = await adminRequest<{ removedRows: number }>(t, 'POST', '/_azid/reset')
  io.out(`Reset to the bootstrap state: ${r.removedRows} rows removed (${Math.round(performance.now() - t0)} ms)`)
  return 0
}
