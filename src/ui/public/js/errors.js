// Errors the portal itself raises (services' refusals are ApiError in api.js).

/** Something the user can fix in what they entered or chose (the portal's own check, before any request). */
export class InputError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'InputError'
  }
}

/** A resource changed between loading the page and saving it (found by re-reading it before a write). */
export class StaleError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'StaleError'
  }
}
