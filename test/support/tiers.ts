import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { TestContext } from 'node:test'

/**
 * `npm test` runs every tier whose tools are present and skips the others loudly; `.ci/run` sets
 * AZID_REQUIRE_ALL_TIERS=1, which turns every such skip into a failure.
 */
export const REQUIRE_ALL = process.env.AZID_REQUIRE_ALL_TIERS === '1'

/** Skips (locally) or fails (in CI) when `reason` is not null. Returns true when the test may go on. */
export function need(t: TestContext, reason: string | null): boolean {
  if (reason === null) return true
  if (REQUIRE_ALL) throw new Error(`required tier unavailable: ${reason}`)
  t.skip(reason)
  return false
}

export function haveCommand(cmd: string, args: readonly string[] = ['--version']): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
}

export const DEBIAN_PYTHON = '/usr/bin/python3'

export function havePythonModule(mod: string): boolean {
  return existsSync(DEBIAN_PYTHON) && haveCommand(DEBIAN_PYTHON, ['-c', `import ${mod}`])
}

/** PostgreSQL DSN for the store-contract and multi-node tiers. */
export const PG_DSN = process.env.AZID_TEST_PG_DSN ?? null
