import { AUDIENCES } from '../../auth/index.ts'
import {
  badHeader,
  checkConditions,
  isStorageError,
  lastModified,
  newEtag,
  notImplemented,
  parseMetadata,
  parseQuery,
  release,
  reply,
  sasAllows,
  validators,
  verifySas,
} from '../storage/index.ts'
import {
  checkBlobName,
  checkOverwrite,
  keyOf,
  putBlockFrom,
  refuseUnsupportedHeaders,
  writeProperties,
} from './blobs.ts'
import { containerOr404 } from './containers.ts'
import { type Ctx, containerScope } from './context.ts'
import { copySourceError } from './errors.ts'
import { RBAC } from './operations.ts'
import type { BlobRecord, CommittedBlock } from './ports.ts'

const BLOB_HOST = /^([a-z0-9]{3,24})\.blob\.core\.windows\.net$/
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

interface SourceRef {
  account: string
  container: string
  blob: string
  query: Map<string, string>
  /** The URL without its query (what x-ms-copy-source shows afterwards: Azure drops the SAS). */
  display: string
}

/** `x-ms-copy-source`: a blob of an azid account, host-style or path-style on loopback. */
function parseSource(raw: string): SourceRef {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw badHeader('x-ms-copy-source', raw)
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw badHeader('x-ms-copy-source', raw)
  const host = u.hostname.toLowerCase()
  const parts = u.pathname.split('/').slice(1)
  let account: string | undefined
  const hostStyle = BLOB_HOST.exec(host)
  if (hostStyle) account = hostStyle[1]
  else if (LOOPBACK.has(host)) account = parts.shift()
  else throw notImplemented(`copying from outside azid (${host})`)
  const [container, ...rest] = parts
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s)
    } catch {
      throw badHeader('x-ms-copy-source', raw)
    }
  }
  if (!account || !container || rest.length === 0 || rest.join('/') === '') throw badHeader('x-ms-copy-source', raw)
  const query = new Map<string, string>()
  for (const p of parseQuery(u.search.replace(/^\?/, ''))) if (!query.has(p.name)) query.set(p.name, p.value)
  return {
    account: decode(account),
    container: decode(container),
    blob: decode(rest.join('/')),
    query,
    display: `${u.origin}${u.pathname}`,
  }
}

const denied = (detail: string) =>
  copySourceError({ status: 403, message: 'This request is not authorized to perform this operation.', detail })

/**
 * Resolves and authorizes the copy source: a SAS in its URL, a bearer token in `x-ms-copy-source-authorization`,
 * or — same account — the destination's own Shared Key or token (which then needs read access to the source).
 */
async function readSource(c: Ctx): Promise<{ blob: BlobRecord; ref: SourceRef }> {
  const raw = c.r.header('x-ms-copy-source') as string
  if (raw.length > 2048) throw badHeader('x-ms-copy-source', raw.slice(0, 100))
  const ref = parseSource(raw)
  const account = await c.rt.account(ref.account)
  if (!account)
    throw copySourceError({ status: 404, message: 'The specified resource does not exist.', detail: ref.account })
  const sourceAuth = c.r.header('x-ms-copy-source-authorization')
  const readOp = (scope: string) => ({
    operation: 'CopySourceRead',
    sas: { permissions: 'r', resourceType: 'o' as const },
    rbac: { actions: RBAC.blobRead, scope },
    sharedKey: true,
    anonymous: false,
  })
  const scope = containerScope(account, ref.container)
  try {
    if (ref.query.has('sig')) {
      const grant = verifySas(
        { query: ref.query, header: (n) => c.r.header(n), clientIp: c.r.clientIp, protocol: 'https' },
        { service: 'blob', account: account.name, container: ref.container, path: ref.blob },
        {
          keys: account.keys,
          now: c.rt.deps.clock.now(),
          delegationSecret: c.rt.deps.delegationSecret,
          tenantId: account.tenantId,
        },
      )
      sasAllows(grant, { permissions: 'r', resourceType: 'o' })
      if (grant.delegatedPrincipal) c.rt.auth.authorize(c.r, { kind: 'sas', grant }, readOp(scope))
    } else if (sourceAuth !== undefined) {
      if (!/^bearer\s/i.test(sourceAuth)) throw badHeader('x-ms-copy-source-authorization', '(redacted)')
      const token = await c.rt.deps.verifier
        .verify(sourceAuth, { audiences: [...AUDIENCES.storage, `https://${account.name}.blob.core.windows.net`] })
        .catch(() => {
          throw denied('source token refused')
        })
      if (token.tenantId !== account.tenantId.toLowerCase()) throw denied('source token of another tenant')
      c.rt.auth.authorize(c.r, { kind: 'bearer', token }, readOp(scope))
    } else if (account.name === c.account.name && (c.caller.kind === 'sharedKey' || c.caller.kind === 'bearer')) {
      c.rt.auth.authorize(c.r, c.caller, readOp(scope))
    } else throw denied('no authorization for the copy source')
  } catch (e) {
    if (isStorageError(e) && e.code !== 'CannotVerifyCopySource') throw denied(`${e.code}: ${e.detail ?? ''}`)
    throw e
  }
  const blob = await c.rt.deps.store.getBlob({ account: account.name, container: ref.container, name: ref.blob })
  if (!blob) throw copySourceError({ status: 404, message: 'The specified blob does not exist.', detail: ref.display })
  return { blob, ref }
}

/** Copy Blob, Copy Blob From URL (x-ms-requires-sync) and Put Blob From URL: always complete before answering. */
export async function copyBlob(c: Ctx): Promise<void> {
  refuseUnsupportedHeaders(c)
  checkBlobName(c.blob as string)
  const fromUrl = c.op.name === 'PutBlobFromUrl'
  if (fromUrl && c.r.header('x-ms-blob-type') !== 'BlockBlob')
    throw notImplemented(`Put Blob From URL with x-ms-blob-type ${c.r.header('x-ms-blob-type')}`)
  const requestMetadata = parseMetadata(c.req)
  await containerOr404(c)
  const { blob: src, ref } = await readSource(c)
  const key = keyOf(c)
  const before = await c.rt.deps.store.getBlob(key)
  checkConditions(c.r, validators(before), { read: false })
  if (before) checkOverwrite(c)
  // Content files are immutable: the copy names hard links to the source's files.
  const blocks: CommittedBlock[] = []
  try {
    for (const b of src.blocks) blocks.push({ id: b.id, size: b.size, file: await c.rt.deps.content.duplicate(b.file) })
  } catch (e) {
    void c.rt.deps.content.remove(blocks.map((b) => b.file))
    throw e
  }
  const now = c.rt.deps.clock.now()
  const etag = newEtag(c.rt.deps.ids)
  const copyId = c.rt.deps.ids.uuid()
  const props = fromUrl
    ? { ...writeProperties(c, { fallback: false }), contentMd5: src.contentMd5 }
    : {
        contentType: src.contentType,
        contentEncoding: src.contentEncoding,
        contentLanguage: src.contentLanguage,
        contentDisposition: src.contentDisposition,
        cacheControl: src.cacheControl,
        contentMd5: src.contentMd5,
      }
  let released: string[]
  try {
    released = await c.rt.deps.store.transaction(async (tx) => {
      const existing = await tx.getBlob(key, { forUpdate: true })
      checkConditions(c.r, validators(existing), { read: false })
      if (existing && !before) checkOverwrite(c)
      const staged = await tx.deleteUncommitted(key)
      await tx.putBlob({
        ...key,
        etag,
        size: src.size,
        createdAt: existing?.createdAt ?? now,
        modifiedAt: now,
        ...props,
        metadata: Object.keys(requestMetadata).length > 0 || fromUrl ? requestMetadata : src.metadata,
        blocks,
        copy: fromUrl
          ? null
          : {
              id: copyId,
              source: ref.display,
              status: 'success',
              progress: `${src.size}/${src.size}`,
              completedAt: now,
            },
      })
      return [...(existing?.blocks.map((b) => b.file) ?? []), ...staged.map((b) => b.file)]
    })
  } catch (e) {
    void c.rt.deps.content.remove(blocks.map((b) => b.file))
    throw e
  }
  release(
    c.rt,
    released,
    blocks.map((b) => b.file),
  )
  if (fromUrl)
    return reply(c, 201, {
      ETag: etag,
      'Last-Modified': lastModified(now),
      'Content-MD5': src.contentMd5,
      'x-ms-request-server-encrypted': 'true',
    })
  reply(c, 202, {
    ETag: etag,
    'Last-Modified': lastModified(now),
    'x-ms-copy-id': copyId,
    'x-ms-copy-status': 'success',
  })
}

export async function putBlockFromUrl(c: Ctx): Promise<void> {
  const { blob } = await readSource(c)
  await putBlockFrom(c, blob)
}
