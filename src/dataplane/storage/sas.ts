import {
  type UserDelegationKeyFields,
  accountSasStringToSign,
  serviceSasStringToSign,
  userDelegationKeyValue,
  userDelegationSasStringToSign,
} from '../../kernel/storage-sas.ts'
import { authFailed, storageError } from './errors.ts'
import { httpDate, parseIsoTime } from './http.ts'
import { hmacBase64, signaturesEqual } from './shared-key.ts'

/**
 * Shared access signatures on the data plane: service SAS (Blob `sr=c|b`, File `sr=s|f`), account SAS (`ss`/`srt`)
 * and user delegation SAS (`skoid`…, Blob). The string-to-sign layouts per version live in kernel/storage-sas.ts,
 * shared with ARM's listServiceSas/listAccountSas. What a valid SAS may do is decided by the caller with
 * `sasAllows` (permissions and resource types per operation).
 */

export type SasKind = 'service' | 'account' | 'userDelegation'

export interface SasGrant {
  kind: SasKind
  version: string
  /** `sp` as given (canonical order is the client's business; letters are checked one by one). */
  permissions: string
  /** Service and user delegation SAS: `sr`. */
  resource: string
  /** Account SAS: `srt` and `ss`. */
  resourceTypes: string
  services: string
  /** User delegation SAS: the principal whose RBAC permissions also apply (`skoid`), and its tenant. */
  delegatedPrincipal: { objectId: string; tenantId: string } | null
  /** Response header overrides (`rscc`, `rscd`, `rsce`, `rscl`, `rsct`), for reads. */
  overrides: {
    cacheControl?: string
    contentDisposition?: string
    contentEncoding?: string
    contentLanguage?: string
    contentType?: string
  }
  expiresAt: number
}

/** What the request addresses, in the service's terms. */
export interface SasTarget {
  service: 'blob' | 'file'
  account: string
  /** Container or share; null for service-level requests. */
  container: string | null
  /** Blob name or file path (decoded); null for container-level requests. */
  path: string | null
}

export interface SasRequest {
  query: ReadonlyMap<string, string>
  header(name: string): string | undefined
  clientIp: string
  /** Listeners are HTTPS; kept for completeness of the `spr` check. */
  protocol: 'https' | 'http'
}

export const isSasQuery = (query: ReadonlyMap<string, string>): boolean => query.has('sig')

const SERVICE_LETTER = { blob: 'b', file: 'f' } as const

function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return (
    (((parts[0] as number) << 24) |
      ((parts[1] as number) << 16) |
      ((parts[2] as number) << 8) |
      (parts[3] as number)) >>>
    0
  )
}

function ipAllowed(range: string, clientIp: string): boolean {
  const [lo, hi = lo] = range.split('-')
  const c = ipToInt(clientIp === '::1' ? '127.0.0.1' : clientIp)
  const a = ipToInt(lo ?? '')
  const b = ipToInt(hi ?? '')
  if (c === undefined || a === undefined || b === undefined) return false
  return c >= a && c <= b
}

const mandatory = (q: ReadonlyMap<string, string>, name: string): string => {
  const v = q.get(name)
  if (v === undefined || v === '') throw authFailed(`${name} is mandatory. Cannot be empty`)
  return v
}

function timeField(q: ReadonlyMap<string, string>, name: string): number | undefined {
  const v = q.get(name)
  if (v === undefined || v === '') return undefined
  const t = parseIsoTime(v)
  if (Number.isNaN(t)) throw authFailed(`Signature fields not well formed. The value of ${name} is not a valid time.`)
  return t
}

/** `Signature not valid in the specified time frame` as Azure words it. */
function checkWindow(q: { start: number | undefined; expiry: number; now: number }): void {
  const { start, expiry, now } = q
  if (start !== undefined && start > expiry)
    throw authFailed(`Signed expiry time [${httpDate(expiry)}] has to be after signed start time [${httpDate(start)}]`)
  if ((start !== undefined && now < start) || now > expiry)
    throw authFailed(
      `Signature not valid in the specified time frame: Start [${start === undefined ? '' : httpDate(start)}] - Expiry [${httpDate(expiry)}] - Current [${httpDate(now)}]`,
    )
}

const sv = (q: ReadonlyMap<string, string>) => {
  const v = mandatory(q, 'sv')
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw authFailed(`The value of sv '${v}' is not a valid version.`)
  // The 2012-02-12 and 2013-08-15 layouts differ and no current client emits them.
  if (v < '2015-04-05') throw authFailed(`Shared access signatures of version ${v} are not supported by azid.`)
  return v
}

function checkNetwork(q: ReadonlyMap<string, string>, r: SasRequest): void {
  const spr = q.get('spr')
  if (spr !== undefined && spr !== '') {
    const allowed = spr.split(',').map((s) => s.trim())
    if (!allowed.every((p) => p === 'https' || p === 'http'))
      throw authFailed(`The value of spr '${spr}' is not valid. Use https or https,http.`)
    if (!allowed.includes(r.protocol)) throw storageError('AuthorizationProtocolMismatch')
  }
  const sip = q.get('sip')
  if (sip !== undefined && sip !== '' && !ipAllowed(sip, r.clientIp))
    throw storageError('AuthorizationSourceIPMismatch', { args: { ip: r.clientIp } })
}

const overridesOf = (q: ReadonlyMap<string, string>): SasGrant['overrides'] => {
  const o: SasGrant['overrides'] = {}
  const put = (k: keyof SasGrant['overrides'], name: string) => {
    const v = q.get(name)
    if (v !== undefined && v !== '') o[k] = v
  }
  put('cacheControl', 'rscc')
  put('contentDisposition', 'rscd')
  put('contentEncoding', 'rsce')
  put('contentLanguage', 'rscl')
  put('contentType', 'rsct')
  return o
}

function checkSignature(q: ReadonlyMap<string, string>, key: readonly Buffer[], stringToSign: string): void {
  const sig = mandatory(q, 'sig')
  let ok = false
  for (const k of key) if (signaturesEqual(sig, hmacBase64(k, stringToSign))) ok = true
  if (!ok) throw authFailed(`Signature did not match. String to sign used was ${stringToSign}`)
}

function canonicalResource(t: SasTarget, sr: string): string {
  const base = `/${t.service}/${t.account}`
  const containerLevel = t.service === 'blob' ? sr === 'c' : sr === 's'
  const objectLevel = t.service === 'blob' ? sr === 'b' : sr === 'f'
  if (!containerLevel && !objectLevel)
    throw authFailed(`The value of sr '${sr}' is not supported by azid for the ${t.service} service.`)
  if (t.container === null)
    throw storageError('AuthorizationResourceTypeMismatch', { detail: `sr=${sr} at service level` })
  if (containerLevel) return `${base}/${t.container}`
  if (t.path === null)
    throw storageError('AuthorizationResourceTypeMismatch', { detail: `sr=${sr} at container level` })
  return `${base}/${t.container}/${t.path}`
}

/**
 * Verifies the SAS in `r.query` for `target`: signature (either account key, or the user delegation key), version,
 * time window, protocol and IP. Throws StorageError (403 AuthenticationFailed with Azure's detail, or the
 * Authorization*Mismatch codes); returns what the SAS grants.
 */
export function verifySas(
  r: SasRequest,
  target: SasTarget,
  q: {
    keys: readonly Buffer[]
    now: number
    /** Secret behind user delegation keys (see userDelegationKeyValue). */
    delegationSecret: Buffer
    tenantId: string
  },
): SasGrant {
  const query = r.query
  const version = sv(query)
  if (query.get('si')) throw authFailed('Stored access policies (si) are not supported by azid.')
  const permissions = mandatory(query, 'sp')
  const expiry = timeField(query, 'se')
  if (expiry === undefined) throw authFailed('se is mandatory. Cannot be empty')
  const start = timeField(query, 'st')
  const field = (n: string) => query.get(n) ?? ''

  if (query.has('ss') || query.has('srt')) {
    const services = mandatory(query, 'ss')
    const resourceTypes = mandatory(query, 'srt')
    const sts = accountSasStringToSign({
      account: target.account,
      version,
      permissions,
      services,
      resourceTypes,
      start: field('st'),
      expiry: field('se'),
      ip: field('sip'),
      protocol: field('spr'),
      encryptionScope: field('ses'),
    })
    checkSignature(query, q.keys, sts)
    checkWindow({ start, expiry, now: q.now })
    checkNetwork(query, r)
    if (!services.includes(SERVICE_LETTER[target.service])) throw storageError('AuthorizationServiceMismatch')
    return {
      kind: 'account',
      version,
      permissions,
      resource: '',
      resourceTypes,
      services,
      delegatedPrincipal: null,
      overrides: {},
      expiresAt: expiry,
    }
  }

  const sr = mandatory(query, 'sr')
  const resource = canonicalResource(target, sr)
  const common = {
    version,
    permissions,
    start: field('st'),
    expiry: field('se'),
    canonicalizedResource: resource,
    ip: field('sip'),
    protocol: field('spr'),
    resource: sr,
    snapshotTime: '',
    encryptionScope: field('ses'),
    cacheControl: field('rscc'),
    contentDisposition: field('rscd'),
    contentEncoding: field('rsce'),
    contentLanguage: field('rscl'),
    contentType: field('rsct'),
  }

  if (query.has('skoid')) {
    if (target.service !== 'blob') throw authFailed('User delegation SAS is supported for the Blob service only.')
    const key: UserDelegationKeyFields = {
      signedOid: mandatory(query, 'skoid'),
      signedTid: mandatory(query, 'sktid'),
      signedStart: mandatory(query, 'skt'),
      signedExpiry: mandatory(query, 'ske'),
      signedService: mandatory(query, 'sks'),
      signedVersion: mandatory(query, 'skv'),
    }
    const headerNames = field('srh')
    const queryNames = field('srq')
    const sts = userDelegationSasStringToSign({
      ...common,
      key,
      preauthorizedAgentObjectId: field('saoid'),
      agentObjectId: field('suoid'),
      correlationId: field('scid'),
      delegatedUserTenantId: field('skdutid'),
      delegatedUserObjectId: field('sduoid'),
      requestHeaders: headerNames
        ? headerNames
            .split(',')
            .map((n) => `${n}:${r.header(n.toLowerCase()) ?? ''}\n`)
            .join('')
        : '',
      requestQuery: queryNames
        ? queryNames
            .split(',')
            .map((n) => `\n${n}:${query.get(n) ?? ''}`)
            .join('')
        : '',
    })
    checkSignature(query, [userDelegationKeyValue(q.delegationSecret, key)], sts)
    const keyStart = parseIsoTime(key.signedStart)
    const keyExpiry = parseIsoTime(key.signedExpiry)
    if (Number.isNaN(keyStart) || Number.isNaN(keyExpiry))
      throw authFailed('Signature fields not well formed. skt and ske must be ISO 8601 times.')
    if (key.signedService !== 'b') throw authFailed(`The signed key service '${key.signedService}' is not valid here.`)
    if (key.signedTid.toLowerCase() !== q.tenantId.toLowerCase())
      throw authFailed('The signed key tenant does not match the tenant of the storage account.')
    checkWindow({ start: keyStart, expiry: keyExpiry, now: q.now })
    checkWindow({ start, expiry, now: q.now })
    checkNetwork(query, r)
    return {
      kind: 'userDelegation',
      version,
      permissions,
      resource: sr,
      resourceTypes: '',
      services: '',
      delegatedPrincipal: { objectId: key.signedOid.toLowerCase(), tenantId: key.signedTid.toLowerCase() },
      overrides: overridesOf(query),
      expiresAt: Math.min(expiry, keyExpiry),
    }
  }

  const sts = serviceSasStringToSign(target.service, { ...common, identifier: '' })
  checkSignature(query, q.keys, sts)
  checkWindow({ start, expiry, now: q.now })
  checkNetwork(query, r)
  return {
    kind: 'service',
    version,
    permissions,
    resource: sr,
    resourceTypes: '',
    services: '',
    delegatedPrincipal: null,
    overrides: overridesOf(query),
    expiresAt: expiry,
  }
}

/** What an operation needs from a SAS: one of `permissions`, and (account SAS) the resource type `s|c|o`. */
export interface SasRequirement {
  permissions: string
  resourceType: 's' | 'c' | 'o'
  /** Service and user delegation SAS may not do this (service-level and container-management operations). */
  accountOnly?: boolean
}

/** Throws AuthorizationResourceTypeMismatch / AuthorizationPermissionMismatch / AuthorizationFailure. */
export function sasAllows(g: SasGrant, need: SasRequirement): void {
  if (g.kind === 'account') {
    if (!g.resourceTypes.includes(need.resourceType)) throw storageError('AuthorizationResourceTypeMismatch')
  } else if (need.accountOnly)
    throw storageError('AuthorizationFailure', { detail: `${g.kind} SAS for an account-level operation` })
  if (![...need.permissions].some((p) => g.permissions.includes(p)))
    throw storageError('AuthorizationPermissionMismatch', { detail: `sp=${g.permissions} lacks ${need.permissions}` })
}
