import type { CheckKind } from '../../rbac/index.ts'
import { type SasRequirement, type StorageRequest, badQuery, notImplemented, storageError } from '../storage/index.ts'

/** The Blob REST operations azid serves, by method, level (service, container, blob) and `restype`/`comp`. */
export type OperationName =
  | 'ListContainers'
  | 'GetServiceProperties'
  | 'GetUserDelegationKey'
  | 'GetAccountInformation'
  | 'CreateContainer'
  | 'DeleteContainer'
  | 'GetContainerProperties'
  | 'SetContainerMetadata'
  | 'GetContainerAcl'
  | 'SetContainerAcl'
  | 'ListBlobs'
  | 'PutBlob'
  | 'PutBlobFromUrl'
  | 'CopyBlob'
  | 'PutBlock'
  | 'PutBlockFromUrl'
  | 'PutBlockList'
  | 'GetBlockList'
  | 'GetBlob'
  | 'GetBlobProperties'
  | 'GetBlobMetadata'
  | 'SetBlobMetadata'
  | 'SetBlobProperties'
  | 'DeleteBlob'
  | 'AbortCopyBlob'

export type Level = 'service' | 'container' | 'blob'

export interface Operation {
  name: OperationName
  level: Level
  sas: SasRequirement | null
  /** Any one of these RBAC permissions suffices; null: bearer tokens may not call it. */
  rbac: readonly { action: string; kind: CheckKind }[] | null
  /** Where RBAC is evaluated: the blob service (account-wide operations) or the container. */
  scope: 'service' | 'container'
  sharedKey: boolean
  /** Anonymous callers may, on a public container (`blob`: blob reads; `container`: also listing). */
  anonymous: 'blob' | 'container' | null
  /** Creates a blob when it does not exist: `…/blobs/add/action` or `c` suffice then, an overwrite needs write/`w`. */
  creates: boolean
}

const NS = 'Microsoft.Storage/storageAccounts/blobServices'
const data = (a: string) => ({ action: `${NS}/containers/blobs/${a}`, kind: 'dataAction' as const })
const act = (a: string) => ({ action: `${NS}/${a}`, kind: 'action' as const })

/** RBAC per api-shapes §6.4: container operations are Actions, blob operations dataActions. */
export const RBAC = {
  blobRead: [data('read')],
  blobWrite: [data('write')],
  blobCreate: [data('write'), data('add/action')],
  blobDelete: [data('delete')],
  containerRead: [act('containers/read')],
  containerWrite: [act('containers/write')],
  containerDelete: [act('containers/delete')],
  serviceRead: [act('read')],
  delegationKey: [act('generateUserDelegationKey/action')],
  accountInfo: [act('containers/read'), data('read')],
} as const

const ALL_PERMISSIONS = 'racwdxyltfmeiop'

function op(
  name: OperationName,
  level: Level,
  o: Partial<Omit<Operation, 'name' | 'level'>> & Pick<Operation, 'sas' | 'rbac'>,
): Operation {
  return {
    name,
    level,
    scope: o.scope ?? (level === 'service' ? 'service' : 'container'),
    sharedKey: o.sharedKey ?? true,
    anonymous: o.anonymous ?? null,
    creates: o.creates ?? false,
    sas: o.sas,
    rbac: o.rbac,
  }
}

const sas = (permissions: string, resourceType: 's' | 'c' | 'o', accountOnly = false): SasRequirement => ({
  permissions,
  resourceType,
  ...(accountOnly ? { accountOnly } : {}),
})

/** Request-level features azid does not implement; each answers 501 NotImplemented naming it. */
const UNSUPPORTED_COMPS: Record<Level, readonly string[]> = {
  service: ['stats', 'batch', 'blobs'],
  container: ['lease', 'rename', 'undelete', 'batch', 'blobs'],
  blob: [
    'lease',
    'snapshot',
    'tier',
    'tags',
    'page',
    'pagelist',
    'appendblock',
    'seal',
    'query',
    'expiry',
    'immutabilityPolicies',
    'legalhold',
    'incrementalcopy',
    'undelete',
    'versions',
  ],
}

/** The operation a request asks for; throws UnsupportedHttpVerb, InvalidQueryParameterValue, NotImplemented. */
export function resolveOperation(r: StorageRequest, level: Level): Operation {
  const m = r.method
  const restype = r.query.get('restype')
  const comp = r.query.get('comp')
  const verb = () => storageError('UnsupportedHttpVerb', { detail: `${m} ${level} restype=${restype} comp=${comp}` })
  const get = m === 'GET' || m === 'HEAD'

  if (restype === 'account' && comp === 'properties') {
    if (!get) throw verb()
    return op('GetAccountInformation', level, {
      sas: sas(ALL_PERMISSIONS, level === 'service' ? 's' : level === 'container' ? 'c' : 'o'),
      rbac: RBAC.accountInfo,
      scope: 'service',
    })
  }
  if (comp !== undefined && UNSUPPORTED_COMPS[level].includes(comp))
    throw notImplemented(`comp=${comp} (${m} ${level})`)

  if (level === 'service') {
    if (restype === 'service' && comp === 'properties') {
      if (get) return op('GetServiceProperties', level, { sas: sas('r', 's', true), rbac: RBAC.serviceRead })
      if (m === 'PUT') throw notImplemented('Set Blob Service Properties')
      throw verb()
    }
    if (restype === 'service' && comp === 'userdelegationkey') {
      if (m !== 'POST') throw verb()
      return op('GetUserDelegationKey', level, { sas: null, rbac: RBAC.delegationKey, sharedKey: false })
    }
    if (comp === 'list' && restype === undefined) {
      if (m !== 'GET') throw verb()
      return op('ListContainers', level, { sas: sas('l', 's', true), rbac: RBAC.containerRead })
    }
    if (restype !== undefined && restype !== 'service') throw badQuery('restype', restype)
    throw badQuery('comp', comp ?? '', 'The service-level operation is not recognized.')
  }

  if (level === 'container') {
    if (restype !== 'container') {
      // Blobs directly under the account are in the $root container, which azid does not provide.
      if (restype === undefined) throw storageError('InvalidUri', { detail: 'blob in the $root container' })
      throw badQuery('restype', restype)
    }
    if (comp === undefined) {
      if (m === 'PUT') return op('CreateContainer', level, { sas: sas('cw', 'c', true), rbac: RBAC.containerWrite })
      if (m === 'DELETE') return op('DeleteContainer', level, { sas: sas('d', 'c', true), rbac: RBAC.containerDelete })
      if (get)
        return op('GetContainerProperties', level, {
          sas: sas('r', 'c'),
          rbac: RBAC.containerRead,
          anonymous: 'container',
        })
      throw verb()
    }
    if (comp === 'metadata') {
      if (get)
        return op('GetContainerProperties', level, {
          sas: sas('r', 'c'),
          rbac: RBAC.containerRead,
          anonymous: 'container',
        })
      if (m === 'PUT') return op('SetContainerMetadata', level, { sas: sas('w', 'c', true), rbac: RBAC.containerWrite })
      throw verb()
    }
    if (comp === 'acl') {
      if (get) return op('GetContainerAcl', level, { sas: sas('r', 'c', true), rbac: RBAC.containerRead })
      if (m === 'PUT') return op('SetContainerAcl', level, { sas: sas('w', 'c', true), rbac: RBAC.containerWrite })
      throw verb()
    }
    if (comp === 'list') {
      if (m !== 'GET') throw verb()
      return op('ListBlobs', level, { sas: sas('l', 'c'), rbac: RBAC.blobRead, anonymous: 'container' })
    }
    throw badQuery('comp', comp)
  }

  // blob level
  if (restype !== undefined) throw badQuery('restype', restype)
  if (r.query.has('snapshot')) throw notImplemented('blob snapshots (snapshot=)')
  if (r.query.has('versionid')) throw notImplemented('blob versions (versionid=)')
  const copySource = r.header('x-ms-copy-source') !== undefined
  if (comp === undefined) {
    if (m === 'PUT') {
      if (copySource)
        return r.header('x-ms-blob-type') !== undefined
          ? op('PutBlobFromUrl', level, { sas: sas('cw', 'o'), rbac: RBAC.blobCreate, creates: true })
          : op('CopyBlob', level, { sas: sas('cw', 'o'), rbac: RBAC.blobCreate, creates: true })
      return op('PutBlob', level, { sas: sas('cw', 'o'), rbac: RBAC.blobCreate, creates: true })
    }
    if (m === 'GET') return op('GetBlob', level, { sas: sas('r', 'o'), rbac: RBAC.blobRead, anonymous: 'blob' })
    if (m === 'HEAD')
      return op('GetBlobProperties', level, { sas: sas('r', 'o'), rbac: RBAC.blobRead, anonymous: 'blob' })
    if (m === 'DELETE') return op('DeleteBlob', level, { sas: sas('d', 'o'), rbac: RBAC.blobDelete })
    throw verb()
  }
  if (comp === 'block') {
    if (m !== 'PUT') throw verb()
    return copySource
      ? op('PutBlockFromUrl', level, { sas: sas('cw', 'o'), rbac: RBAC.blobCreate })
      : op('PutBlock', level, { sas: sas('cw', 'o'), rbac: RBAC.blobCreate })
  }
  if (comp === 'blocklist') {
    if (m === 'PUT') return op('PutBlockList', level, { sas: sas('cw', 'o'), rbac: RBAC.blobCreate, creates: true })
    if (get) return op('GetBlockList', level, { sas: sas('r', 'o'), rbac: RBAC.blobRead, anonymous: 'blob' })
    throw verb()
  }
  if (comp === 'metadata') {
    if (get) return op('GetBlobMetadata', level, { sas: sas('r', 'o'), rbac: RBAC.blobRead, anonymous: 'blob' })
    if (m === 'PUT') return op('SetBlobMetadata', level, { sas: sas('w', 'o'), rbac: RBAC.blobWrite })
    throw verb()
  }
  if (comp === 'properties') {
    if (m === 'PUT') return op('SetBlobProperties', level, { sas: sas('w', 'o'), rbac: RBAC.blobWrite })
    throw verb()
  }
  if (comp === 'copy') {
    if (m !== 'PUT') throw verb()
    return op('AbortCopyBlob', level, { sas: sas('w', 'o'), rbac: RBAC.blobWrite })
  }
  throw badQuery('comp', comp)
}
