import { type SasRequirement, type StorageRequest, badQuery, notImplemented, storageError } from '../storage/index.ts'

/** The File REST operations azid serves, by method, level and `restype`/`comp`. */
export type OperationName =
  | 'ListShares'
  | 'GetFileServiceProperties'
  | 'CreateShare'
  | 'GetShareProperties'
  | 'DeleteShare'
  | 'SetShareMetadata'
  | 'SetShareProperties'
  | 'GetShareAcl'
  | 'SetShareAcl'
  | 'GetShareStats'
  | 'CreatePermission'
  | 'GetPermission'
  | 'CreateDirectory'
  | 'GetDirectoryProperties'
  | 'DeleteDirectory'
  | 'SetDirectoryProperties'
  | 'SetDirectoryMetadata'
  | 'ListFilesAndDirectories'
  | 'ListHandles'
  | 'ForceCloseHandles'
  | 'CreateFile'
  | 'GetFile'
  | 'GetFileProperties'
  | 'DeleteFile'
  | 'SetFileProperties'
  | 'SetFileMetadata'
  | 'PutRange'
  | 'ListRanges'

export type Level = 'service' | 'share' | 'directory' | 'file'

/** What a bearer token needs: the Files dataAction (`files/read|write|delete`) plus the matching backup semantics. */
export type DataNeed = 'read' | 'write' | 'delete'

export interface Operation {
  name: OperationName
  level: Level
  sas: SasRequirement | null
  /** Bearer tokens: the dataActions to check; null for management operations. */
  data: DataNeed | null
  /**
   * Management through the data plane, which Azure refuses to bearer tokens: `share` (shares, List Shares) with
   * FileOAuthManagementApiRestrictedToSrp, `service` (service properties) with AuthenticationFailed.
   */
  management: 'share' | 'service' | null
}

const NS = 'Microsoft.Storage/storageAccounts/fileServices'

/** The dataActions a bearer token needs, all of them (api-shapes §6.6, the Privileged roles of Appendix A). */
export const DATA_ACTIONS: Record<DataNeed, readonly string[]> = {
  read: [`${NS}/fileshares/files/read`, `${NS}/readFileBackupSemantics/action`],
  write: [`${NS}/fileshares/files/write`, `${NS}/writeFileBackupSemantics/action`],
  delete: [`${NS}/fileshares/files/delete`, `${NS}/writeFileBackupSemantics/action`],
}
/** Also needed to set an explicit security descriptor (an SDDL or a permission key) on a file or directory. */
export const MODIFY_PERMISSIONS = `${NS}/fileshares/files/modifypermissions/action`

const sas = (permissions: string, resourceType: 's' | 'c' | 'o', accountOnly = false): SasRequirement => ({
  permissions,
  resourceType,
  ...(accountOnly ? { accountOnly } : {}),
})

function op(
  name: OperationName,
  level: Level,
  o: { sas: SasRequirement | null; data?: DataNeed; management?: 'share' | 'service' },
): Operation {
  return { name, level, sas: o.sas, data: o.data ?? null, management: o.management ?? null }
}

/** `comp` values azid does not implement, per level; each answers 501 NotImplemented naming it. */
const UNSUPPORTED: Record<Level, readonly string[]> = {
  service: ['userdelegationkey', 'stats'],
  share: ['snapshot', 'lease', 'undelete'],
  directory: ['rename'],
  file: ['lease', 'copy', 'rename', 'symboliclink', 'hardlink'],
}

/** The operation a request asks for; throws UnsupportedHttpVerb, InvalidQueryParameterValue, NotImplemented. */
export function resolveOperation(r: StorageRequest, level: Level): Operation {
  const m = r.method
  const restype = r.query.get('restype')
  const comp = r.query.get('comp')
  const get = m === 'GET' || m === 'HEAD'
  const verb = () => storageError('UnsupportedHttpVerb', { detail: `${m} ${level} restype=${restype} comp=${comp}` })
  if (comp !== undefined && UNSUPPORTED[level].includes(comp)) throw notImplemented(`comp=${comp} (${m} ${level})`)
  if (r.query.has('sharesnapshot')) throw notImplemented('share snapshots (sharesnapshot=)')

  if (level === 'service') {
    if (restype === 'service' && comp === 'properties') {
      if (get) return op('GetFileServiceProperties', level, { sas: sas('r', 's', true), management: 'service' })
      if (m === 'PUT') throw notImplemented('Set File Service Properties')
      throw verb()
    }
    if (comp === 'list' && restype === undefined) {
      if (m !== 'GET') throw verb()
      return op('ListShares', level, { sas: sas('l', 's', true), management: 'share' })
    }
    if (restype !== undefined && restype !== 'service') throw badQuery('restype', restype)
    throw badQuery('comp', comp ?? '', 'The service-level operation is not recognized.')
  }

  if (level === 'share') {
    if (restype === 'directory') return directoryOperation(r, comp)
    if (restype !== 'share') {
      if (restype === undefined) throw storageError('InvalidUri', { detail: 'a file directly under the account' })
      throw badQuery('restype', restype)
    }
    const share = (name: OperationName, s: SasRequirement) => op(name, level, { sas: s, management: 'share' })
    switch (comp) {
      case undefined:
        if (m === 'PUT') return share('CreateShare', sas('cw', 'c', true))
        if (m === 'DELETE') return share('DeleteShare', sas('d', 'c', true))
        if (get) return share('GetShareProperties', sas('r', 'c'))
        throw verb()
      case 'metadata':
        if (m === 'PUT') return share('SetShareMetadata', sas('w', 'c', true))
        if (get) return share('GetShareProperties', sas('r', 'c'))
        throw verb()
      case 'properties':
        if (m === 'PUT') return share('SetShareProperties', sas('w', 'c', true))
        throw verb()
      case 'acl':
        if (m === 'PUT') return share('SetShareAcl', sas('w', 'c', true))
        if (get) return share('GetShareAcl', sas('r', 'c', true))
        throw verb()
      case 'stats':
        if (m === 'GET') return share('GetShareStats', sas('r', 'c', true))
        throw verb()
      case 'filepermission':
        // The two share-level operations bearer tokens may call (Azure.Storage.Files.Shares, Files OAuth PR notes).
        if (m === 'PUT') return op('CreatePermission', level, { sas: sas('cw', 'c', true), data: 'write' })
        if (m === 'GET') return op('GetPermission', level, { sas: sas('r', 'c', true), data: 'read' })
        throw verb()
      default:
        throw badQuery('comp', comp)
    }
  }

  if (restype === 'directory') return directoryOperation(r, comp)
  if (restype !== undefined) throw badQuery('restype', restype)
  const file = (name: OperationName, s: SasRequirement, data: DataNeed) => op(name, 'file', { sas: s, data })
  switch (comp) {
    case undefined:
      if (m === 'PUT') {
        if (r.header('x-ms-copy-source') !== undefined) throw notImplemented('Copy File (x-ms-copy-source)')
        return file('CreateFile', sas('cw', 'o'), 'write')
      }
      if (m === 'GET') return file('GetFile', sas('r', 'o'), 'read')
      if (m === 'HEAD') return file('GetFileProperties', sas('r', 'o'), 'read')
      if (m === 'DELETE') return file('DeleteFile', sas('d', 'o'), 'delete')
      throw verb()
    case 'properties':
      if (m === 'PUT') return file('SetFileProperties', sas('w', 'o'), 'write')
      throw verb()
    case 'metadata':
      if (m === 'PUT') return file('SetFileMetadata', sas('w', 'o'), 'write')
      if (get) return file('GetFileProperties', sas('r', 'o'), 'read')
      throw verb()
    case 'range':
      if (m !== 'PUT') throw verb()
      if (r.header('x-ms-copy-source') !== undefined) throw notImplemented('Put Range From URL')
      return file('PutRange', sas('w', 'o'), 'write')
    case 'rangelist':
      if (!get) throw verb()
      if (r.query.has('prevsharesnapshot')) throw notImplemented('List Ranges with prevsharesnapshot')
      return file('ListRanges', sas('r', 'o'), 'read')
    case 'listhandles':
      if (m !== 'GET') throw verb()
      return file('ListHandles', sas('l', 'o'), 'read')
    case 'forceclosehandles':
      if (m !== 'PUT') throw verb()
      return file('ForceCloseHandles', sas('w', 'o'), 'write')
    default:
      throw badQuery('comp', comp)
  }
}

function directoryOperation(r: StorageRequest, comp: string | undefined): Operation {
  const m = r.method
  const get = m === 'GET' || m === 'HEAD'
  const verb = () => storageError('UnsupportedHttpVerb', { detail: `${m} directory comp=${comp}` })
  const dir = (name: OperationName, s: SasRequirement, data: DataNeed) => op(name, 'directory', { sas: s, data })
  if (comp === 'rename') throw notImplemented('Rename Directory')
  switch (comp) {
    case undefined:
      if (m === 'PUT') return dir('CreateDirectory', sas('cw', 'o'), 'write')
      if (get) return dir('GetDirectoryProperties', sas('r', 'o'), 'read')
      if (m === 'DELETE') return dir('DeleteDirectory', sas('d', 'o'), 'delete')
      throw verb()
    case 'properties':
      if (m === 'PUT') return dir('SetDirectoryProperties', sas('w', 'o'), 'write')
      throw verb()
    case 'metadata':
      if (m === 'PUT') return dir('SetDirectoryMetadata', sas('w', 'o'), 'write')
      if (get) return dir('GetDirectoryProperties', sas('r', 'o'), 'read')
      throw verb()
    case 'list':
      if (m !== 'GET') throw verb()
      return dir('ListFilesAndDirectories', sas('l', 'o'), 'read')
    case 'listhandles':
      if (m !== 'GET') throw verb()
      return dir('ListHandles', sas('l', 'o'), 'read')
    case 'forceclosehandles':
      if (m !== 'PUT') throw verb()
      return dir('ForceCloseHandles', sas('w', 'o'), 'write')
    default:
      throw badQuery('comp', comp)
  }
}
