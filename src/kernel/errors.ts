/**
 * A failure the domain expects and each surface knows how to render.
 * `code` is stable and narrowable; `detail` is for the log only and is never sent on the wire.
 */
export class DomainError<C extends string = string> extends Error {
  readonly code: C
  readonly detail: string | undefined
  readonly args: Readonly<Record<string, unknown>>

  constructor(code: C, opts: { detail?: string; args?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'DomainError'
    this.code = code
    this.detail = opts.detail
    this.args = opts.args ?? {}
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError
