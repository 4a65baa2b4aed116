// Shared by the configuration-as-code tests (not a test file).
import assert from 'node:assert/strict'
import { runCli } from '../../../src/cli/main.ts'
import type { ApplyResult, World } from '../../../src/server/world/document.ts'
import { admin } from '../../support/mi.ts'
import type { TestServer } from '../../support/server.ts'

/** Runs the azid CLI in process against `s` (the same code as bin/azid.js, without a node start per call). */
export async function cli(s: TestServer, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runCli([...argv, '--data', s.dataDir], {
    out: (x) => out.push(x),
    err: (x) => err.push(x),
    env: {},
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

export async function apply(s: TestServer, world: unknown, dryRun = false): Promise<ApplyResult> {
  const r = await admin(s, 'POST', `/_azid/apply${dryRun ? '?dryRun=true' : ''}`, world)
  assert.equal(r.status, 200, r.text)
  return r.json<ApplyResult>()
}

export async function exportWorld(s: TestServer): Promise<World> {
  const r = await admin(s, 'GET', '/_azid/export')
  assert.equal(r.status, 200, r.text)
  return r.json<World>()
}

/** A token from a host's IMDS, as a process on it asks (status and body). */
export async function imdsToken(
  s: TestServer,
  host: string,
  query: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const e = await admin(s, 'POST', '/_azid/hosts/endpoint', { host, mode: 'loopback', flavour: 'imds' })
  if (e.status !== 200) return { status: e.status, body: e.json() }
  const base = e.json<{ env: Record<string, string> }>().env.AZURE_POD_IDENTITY_AUTHORITY_HOST
  const qs = new URLSearchParams({ 'api-version': '2018-02-01', resource: 'https://management.azure.com/', ...query })
  const r = await fetch(`${base}/metadata/identity/oauth2/token?${qs}`, { headers: { Metadata: 'true' } })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}

export const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>
