import { DomainError } from '../kernel/errors.ts'

/**
 * Failures of the managed-identity endpoints. Each flavour renders them in its own body shape
 * (IMDS: `{"error","error_description"}` with IMDS's texts; docs/wire/mi-endpoints.md).
 */
export type MiErrorCode =
  | 'MissingMetadataHeader'
  | 'ForwardedRequest'
  | 'MissingApiVersion'
  | 'InvalidApiVersion'
  | 'MissingResource'
  | 'MultipleSelectors'
  | 'DuplicateParameter'
  | 'InvalidSelector'
  | 'IdentityNotFound'
  | 'NoIdentity'
  | 'AmbiguousIdentity'
  | 'InvalidResource'
  | 'MethodNotAllowed'
  | 'NotFound'
  | 'Unauthorized'
  | 'Throttled'
  | 'TooManyIdentities'
  | 'Internal'

export class MiError extends DomainError<MiErrorCode> {
  constructor(code: MiErrorCode, args: Record<string, string> = {}, detail?: string) {
    super(code, { args, ...(detail === undefined ? {} : { detail }) })
  }
}
