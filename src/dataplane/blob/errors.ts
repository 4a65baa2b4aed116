import { COMMON_ERRORS, StorageError, type StorageErrorEntry, catalogueOf } from '../storage/index.ts'

/** The Blob service's own error codes ("Blob service error codes", Storage REST reference), plus the common ones. */
export const BLOB_ERRORS = {
  ...COMMON_ERRORS,
  BlobAlreadyExists: { status: 409, message: 'The specified blob already exists.' },
  BlobNotFound: { status: 404, message: 'The specified blob does not exist.' },
  BlockCountExceedsLimit: {
    status: 409,
    message: 'The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.',
  },
  BlockListTooLong: { status: 400, message: 'The block list may not contain more than 50,000 blocks.' },
  ContainerAlreadyExists: { status: 409, message: 'The specified container already exists.' },
  ContainerBeingDeleted: { status: 409, message: 'The specified container is being deleted. Try operation later.' },
  ContainerNotFound: { status: 404, message: 'The specified container does not exist.' },
  InvalidBlobOrBlock: { status: 400, message: 'The specified blob or block content is invalid.' },
  InvalidBlobType: { status: 409, message: 'The blob type is invalid for this operation.' },
  InvalidBlockId: {
    status: 400,
    message: 'The specified block ID is invalid. The block ID must be Base64-encoded.',
  },
  InvalidBlockList: { status: 400, message: 'The specified block list is invalid.' },
  NoPendingCopyOperation: { status: 409, message: 'There is currently no pending copy operation.' },
  PublicAccessNotPermitted: { status: 409, message: 'Public access is not permitted on this storage account.' },
} as const satisfies Record<string, StorageErrorEntry>

export type BlobErrorCode = keyof typeof BLOB_ERRORS

export const blobError = catalogueOf(BLOB_ERRORS)

/**
 * CannotVerifyCopySource carries the source's status and message (Copy Blob: "If the source is not accessible the
 * service returns CannotVerifyCopySource with the status of the source request").
 */
export const copySourceError = (q: { status: 403 | 404 | 400; message: string; detail: string }) =>
  new StorageError('CannotVerifyCopySource', { status: q.status, message: q.message }, { detail: q.detail })
