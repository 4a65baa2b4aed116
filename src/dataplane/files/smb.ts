import { createHash } from 'node:crypto'
import { badHeader, isoTime7, storageError } from '../storage/index.ts'
import { fileError } from './errors.ts'

/**
 * Paths, names and SMB properties of the File service: path rules ("Naming and referencing shares, directories, files
 * and metadata"), `x-ms-file-attributes`, the SMB time headers (`now`, `preserve` or an ISO 8601 time with up to seven
 * fractional digits) and permissions (`inherit`, an SDDL, or the key of one stored with Create Permission).
 */

export const MAX_NAME = 255
export const MAX_PATH = 2048
export const MAX_DEPTH = 250
const BAD_CHARS = /["\\:|<>*?\u0000-\u001f]/

/** A path inside a share: the components as sent (decoded) and their lower-case keys. */
export interface FilePath {
  /** Components, without empty ones; [] for the root directory. */
  parts: string[]
  /** `a/b/c` as sent (trailing dots trimmed unless allowed). */
  display: string
  /** Lower-case key of the whole path ('' for the root). */
  key: string
  /** Lower-case key of the parent directory ('' for entries at the root). */
  parentKey: string
  /** Lower-case last component ('' for the root). */
  nameKey: string
  name: string
}

/**
 * Checks and normalises a path. Without `x-ms-allow-trailing-dot: true` trailing dots of each component are trimmed,
 * as Azure does. Throws InvalidResourceName (bad characters, `.`/`..`, a component over 255 characters) and
 * InvalidFileOrDirectoryPathName (path over 2048 characters or deeper than 250 levels).
 */
export function parsePath(decoded: string, allowTrailingDot: boolean): FilePath {
  const raw = decoded.split('/').filter((p) => p !== '')
  if (decoded.length > MAX_PATH) throw fileError('InvalidFileOrDirectoryPathName', { detail: 'path too long' })
  if (raw.length > MAX_DEPTH)
    throw fileError('InvalidFileOrDirectoryPathName', { detail: `path of ${raw.length} components` })
  const parts = raw.map((p) => {
    const name = allowTrailingDot ? p : p.replace(/\.+$/, '')
    if (name === '' || name === '.' || name === '..' || BAD_CHARS.test(name))
      throw storageError('InvalidResourceName', { detail: `path component ${JSON.stringify(p.slice(0, 100))}` })
    if (name.length > MAX_NAME) throw storageError('OutOfRangeInput', { detail: `name of ${name.length} characters` })
    return name
  })
  const keys = parts.map((p) => p.toLowerCase())
  return {
    parts,
    display: parts.join('/'),
    key: keys.join('/'),
    parentKey: keys.slice(0, -1).join('/'),
    nameKey: keys.at(-1) ?? '',
    name: parts.at(-1) ?? '',
  }
}

/** The parent of a path. */
export const parentOf = (p: FilePath): FilePath => {
  const parts = p.parts.slice(0, -1)
  const keys = parts.map((x) => x.toLowerCase())
  return {
    parts,
    display: parts.join('/'),
    key: keys.join('/'),
    parentKey: keys.slice(0, -1).join('/'),
    nameKey: keys.at(-1) ?? '',
    name: parts.at(-1) ?? '',
  }
}

// -- attributes

/** NTFS attribute names in bit order, as Azure lists them. */
const ATTRIBUTES = [
  'ReadOnly',
  'Hidden',
  'System',
  'None',
  'Directory',
  'Archive',
  'Temporary',
  'Offline',
  'NotContentIndexed',
  'NoScrubData',
] as const
const BY_LOWER = new Map<string, string>(ATTRIBUTES.map((a) => [a.toLowerCase(), a]))

/**
 * `x-ms-file-attributes`: undefined (absent or `preserve`) keeps what is there; `None` clears; otherwise a
 * `|`-separated list. Directories always carry `Directory`; files may not.
 */
export function parseAttributes(v: string | undefined, kind: 'directory' | 'file'): string | undefined {
  if (v === undefined || v.trim().toLowerCase() === 'preserve') return undefined
  const names = v
    .split('|')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  const set = new Set<string>()
  for (const n of names) {
    const a = BY_LOWER.get(n.toLowerCase())
    if (!a) throw badHeader('x-ms-file-attributes', v)
    set.add(a)
  }
  if (set.size === 0) throw badHeader('x-ms-file-attributes', v)
  if (set.has('None') && set.size > 1) throw badHeader('x-ms-file-attributes', v, 'None with other attributes')
  if (kind === 'file' && set.has('Directory')) throw badHeader('x-ms-file-attributes', v, 'Directory on a file')
  if (kind === 'directory') {
    set.delete('None')
    set.add('Directory')
  }
  return ATTRIBUTES.filter((a) => set.has(a)).join(' | ')
}

export const defaultAttributes = (kind: 'directory' | 'file') => (kind === 'directory' ? 'Directory' : 'Archive')

// -- times

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?Z$/

/**
 * An SMB time header: `now` (the request's time), `preserve` / absent (undefined: keep), or an ISO 8601 UTC time,
 * returned with seven fractional digits as Azure writes it.
 */
export function parseSmbTime(name: string, v: string | undefined, now: number): string | undefined {
  if (v === undefined) return undefined
  const t = v.trim()
  if (t.toLowerCase() === 'preserve') return undefined
  if (t.toLowerCase() === 'now') return isoTime7(now)
  const m = ISO.exec(t)
  if (!m || Number.isNaN(Date.parse(`${m[1]}Z`))) throw badHeader(name, v)
  return `${m[1]}.${(m[2] ?? '').padEnd(7, '0')}Z`
}

// -- permissions

/** What a new file or directory inherits when no permission is given (owner and group SYSTEM, full control). */
export const DEFAULT_SDDL =
  'O:SYG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)(A;OICIIO;GA;;;SY)(A;OICIIO;GA;;;BA)(A;;0x1301bf;;;AU)(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;BU)'

/** `x-ms-file-permission-key`: two unsigned 64-bit numbers, like Azure's keys, derived from the descriptor. */
export function permissionKeyOf(sddl: string): string {
  const h = createHash('sha256').update(sddl, 'utf8').digest()
  return `${h.readBigUInt64BE(0)}*${h.readBigUInt64BE(8)}`
}

export const DEFAULT_PERMISSION_KEY = permissionKeyOf(DEFAULT_SDDL)

/** Headers over 8 KiB must go through Create Permission (Azure's limit). */
export const MAX_PERMISSION_HEADER = 8 * 1024
const SDDL = /^(O:[^:()]+?)?(G:[^:()]+?)?(D:[A-Z]*(\([^()]*\))*)?(S:[A-Z]*(\([^()]*\))*)?$/

/** A security descriptor in SDDL form; FileInvalidPermission when it is not one. */
export function checkSddl(s: string): string {
  const t = s.trim()
  if (t === '' || !SDDL.test(t) || !/^(O:|G:|D:|S:)/.test(t))
    throw fileError('FileInvalidPermission', { detail: `not an SDDL: ${t.slice(0, 80)}` })
  return t
}
