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
