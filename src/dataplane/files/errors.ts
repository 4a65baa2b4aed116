import { COMMON_ERRORS, type StorageErrorEntry, catalogueOf } from '../storage/index.ts'

/**
 * The File service's own error codes ("Azure Files error codes", Storage REST reference), plus the common ones.
 * FileOAuthManagementApiRestrictedToSrp is what Azure answers share and service management called with a bearer token
 * (status, code and message from a recording of the real service in azure-sdk-for-js, 2023-03; api-shapes §6.6 says
 * the management APIs are refused over OAuth without the code).
 */
export const FILE_ERRORS = {
  ...COMMON_ERRORS,
  CannotDeleteFileOrDirectory: {
    status: 409,
    message: 'The file or directory could not be deleted because it is in use by an SMB client.',
  },
  DirectoryNotEmpty: { status: 409, message: 'The specified directory is not empty.' },
  FileInvalidPermission: { status: 400, message: 'The specified file permission is not valid.' },
  FileInvalidPermissionKey: { status: 400, message: 'The specified file permission key does not exist in the share.' },
  FileOAuthManagementApiRestrictedToSrp: {
    status: 409,
    message:
      'This API does not support bearer tokens. For OAuth, use the Storage Resource Provider APIs instead. Learn more: https://aka.ms/azurefiles/restapi.',
  },
  InvalidFileOrDirectoryPathName: { status: 400, message: 'File or directory path is too long.' },
  ParentNotFound: { status: 404, message: 'The specified parent path does not exist.' },
  ReadOnlyAttribute: {
    status: 409,
    message: 'The specified resource is read-only and cannot be modified at this time.',
  },
  ResourceAlreadyExists: { status: 409, message: 'The specified resource already exists.' },
  ResourceTypeMismatch: {
    status: 409,
    message: 'The specified resource type does not match the type of the existing resource.',
  },
  ShareAlreadyExists: { status: 409, message: 'The specified share already exists.' },
  ShareBeingDeleted: { status: 409, message: 'The specified share is being deleted. Try operation later.' },
  ShareNotFound: { status: 404, message: 'The specified share does not exist.' },
} as const satisfies Record<string, StorageErrorEntry>

export type FileErrorCode = keyof typeof FILE_ERRORS

export const fileError = catalogueOf(FILE_ERRORS)
