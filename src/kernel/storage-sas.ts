import { createHmac } from 'node:crypto'

/**
 * Shared Access Signatures of Azure Storage: the string-to-sign per service and version, exactly as the Storage
 * SDKs build them (node_modules/@azure/storage-blob/dist/esm/sas/*SignatureValues.js,
 * @azure/storage-file-share FileSASSignatureValues.js). Used to issue SAS (ARM listServiceSas/listAccountSas) and to
 * verify them (data planes). Zero dependencies, pure.
 */

export const SAS_VERSION = '2022-11-02'

/** `2017-05-24T11:32:48.8457197Z` → `2017-05-24T11:32:48Z` (SAS times are whole seconds). */
export function sasTime(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.toISOString().slice(0, 19)}Z`
}

export function signSas(accountKeyBase64: string, stringToSign: string): string {
  return createHmac('sha256', Buffer.from(accountKeyBase64, 'base64')).update(stringToSign, 'utf8').digest('base64')
}

export interface ServiceSasFields {
  version: string
  permissions: string
  start: string
  expiry: string
  /** `/blob/{account}/{container}[/{blob}]` or `/file/{account}/{share}[/{path}]`. */
  canonicalizedResource: string
  identifier: string
  ip: string
  protocol: string
  /** sr: b, c, bs, bv (blob) or f, s (file). */
  resource: string
  snapshotTime: string
  encryptionScope: string
  cacheControl: string
  contentDisposition: string
  contentEncoding: string
  contentLanguage: string
  contentType: string
}

/** Service SAS string-to-sign for Blob (three layouts by version) and File (one layout). */
export function serviceSasStringToSign(service: 'blob' | 'file', f: ServiceSasFields): string {
  const head = [f.permissions, f.start, f.expiry, f.canonicalizedResource, f.identifier, f.ip, f.protocol, f.version]
  const tail = [f.cacheControl, f.contentDisposition, f.contentEncoding, f.contentLanguage, f.contentType]
  if (service === 'file' || f.version < '2018-11-09') return [...head, ...tail].join('\n')
  if (f.version < '2020-12-06') return [...head, f.resource, f.snapshotTime, ...tail].join('\n')
  return [...head, f.resource, f.snapshotTime, f.encryptionScope, ...tail].join('\n')
}

/** The `sk*` fields of a user delegation key, as a user delegation SAS carries them. */
export interface UserDelegationKeyFields {
  signedOid: string
  signedTid: string
  signedStart: string
  signedExpiry: string
  signedService: string
  signedVersion: string
}

export interface UserDelegationSasFields extends Omit<ServiceSasFields, 'identifier'> {
  key: UserDelegationKeyFields
  /** saoid, suoid (agent object id, never sent by the SDKs), scid. */
  preauthorizedAgentObjectId: string
  agentObjectId: string
  correlationId: string
  /** skdutid, sduoid (2025-07-05). */
  delegatedUserTenantId: string
  delegatedUserObjectId: string
  /** Canonical signed request headers (`name:value\n` each) and query parameters (`\nname:value` each), 2026-04-06. */
  requestHeaders: string
  requestQuery: string
}

/**
 * User delegation SAS string-to-sign for Blob, per version, as @azure/storage-blob builds it
 * (generateBlobSASQueryParametersUDK20181109 … UDK20260406).
 */
export function userDelegationSasStringToSign(f: UserDelegationSasFields): string {
  const k = f.key
  const head = [
    f.permissions,
    f.start,
    f.expiry,
    f.canonicalizedResource,
    k.signedOid,
    k.signedTid,
    k.signedStart,
    k.signedExpiry,
    k.signedService,
    k.signedVersion,
  ]
  const tail = [f.cacheControl, f.contentDisposition, f.contentEncoding, f.contentLanguage, f.contentType]
  const v = f.version
  if (v < '2020-02-10') return [...head, f.ip, f.protocol, v, f.resource, f.snapshotTime, ...tail].join('\n')
  const agents = [f.preauthorizedAgentObjectId, f.agentObjectId, f.correlationId]
  if (v < '2020-12-06') return [...head, ...agents, f.ip, f.protocol, v, f.resource, f.snapshotTime, ...tail].join('\n')
  if (v < '2025-07-05')
    return [...head, ...agents, f.ip, f.protocol, v, f.resource, f.snapshotTime, f.encryptionScope, ...tail].join('\n')
  const delegated = [f.delegatedUserTenantId, f.delegatedUserObjectId]
  const mid = [...head, ...agents, ...delegated, f.ip, f.protocol, v, f.resource, f.snapshotTime, f.encryptionScope]
  if (v < '2026-04-06') return [...mid, ...tail].join('\n')
  return [...mid, f.requestHeaders, f.requestQuery, ...tail].join('\n')
}

/**
 * The value of a user delegation key: azid derives it from a server secret and the key's fields, so any node can
 * recompute it when a SAS signed with it arrives, and nothing needs to be stored.
 */
export function userDelegationKeyValue(secret: Buffer, k: UserDelegationKeyFields): Buffer {
  const canonical = [k.signedOid, k.signedTid, k.signedStart, k.signedExpiry, k.signedService, k.signedVersion].join(
    '\n',
  )
  return createHmac('sha256', secret).update(canonical, 'utf8').digest()
}

export interface AccountSasFields {
  account: string
  version: string
  permissions: string
  services: string
  resourceTypes: string
  start: string
  expiry: string
  ip: string
  protocol: string
  encryptionScope: string
}

/** Account SAS string-to-sign; it ends with an extra newline, and from 2020-12-06 carries the encryption scope. */
export function accountSasStringToSign(f: AccountSasFields): string {
  const base = [f.account, f.permissions, f.services, f.resourceTypes, f.start, f.expiry, f.ip, f.protocol, f.version]
  return (f.version >= '2020-12-06' ? [...base, f.encryptionScope, ''] : [...base, '']).join('\n')
}

/** Query string of a SAS (no leading `?`), parameters in the order the SDKs emit them. */
export function sasQuery(pairs: readonly [string, string | undefined][]): string {
  return pairs
    .filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&')
}
