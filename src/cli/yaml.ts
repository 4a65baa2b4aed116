import { createRequire } from 'node:module'

let loaded: typeof import('yaml') | undefined

/**
 * The yaml package, loaded on first use: `azid start` runs from the same bundle as the CLI and never reads YAML
 * (loading it is ~50 ms of start-up).
 */
export function yaml(): typeof import('yaml') {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof import('yaml')
  return loaded
}
