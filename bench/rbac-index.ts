// Child process of bench/rbac.ts (a process of its own, so that its RSS is the RBAC index's and nothing else's):
// builds role assignments in memory with src/rbac, times createAssignmentIndex, and times evaluate() per check at
// several index sizes. Prints one JSON line with the results.
//   node --import tsx bench/rbac-index.ts '{"principals":100000,"perPrincipal":10,"checks":50000,"rounds":3}'
import { readFileSync } from 'node:fs'
import {
  type AssignmentIndex,
  type CheckKind,
  type RoleAssignment,
  builtInRoles,
  createAssignmentIndex,
  createRoleCatalogue,
  evaluate,
} from '../src/rbac/index.ts'

interface Params {
  principals: number
  perPrincipal: number
  /** Index sizes (assignments) at which checks are timed; each a prefix of the full set. */
  sizes: number[]
  /** Timed checks per size and round. */
  checks: number
  rounds: number
  seed: number
}

const params: Params = {
  principals: 100_000,
  perPrincipal: 10,
  sizes: [10_000, 100_000, 1_000_000],
  checks: 50_000,
  rounds: 3,
  seed: 42,
  ...(JSON.parse(process.argv[2] ?? '{}') as Partial<Params>),
}

// Deterministic PRNG (mulberry32): the same assignments and checks on every run.
let state = params.seed >>> 0
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
const int = (n: number) => Math.floor(rand() * n)
const guid = (prefix: number, n: number) =>
  `${prefix.toString(16).padStart(8, '0')}-${(n >>> 16).toString(16).padStart(4, '0')}-4${(n & 0xfff).toString(16).padStart(3, '0')}-8${int(0xfff).toString(16).padStart(3, '0')}-${n.toString(16).padStart(12, '0')}`

const rssMb = () => {
  const m = readFileSync('/proc/self/status', 'utf8').match(/^VmRSS:\s+(\d+) kB/m)
  return Number(m?.[1] ?? 0) / 1024
}

// The scope tree: 20 subscriptions × 50 resource groups × 100 resources = 100,000 resources.
const SUBSCRIPTIONS = Array.from({ length: 20 }, (_, i) => guid(0x5b5c0000, i))
const GROUPS = 50
const RESOURCES = 100
const TYPES = [
  'Microsoft.Compute/virtualMachines',
  'Microsoft.Storage/storageAccounts',
  'Microsoft.KeyVault/vaults',
  'Microsoft.ManagedIdentity/userAssignedIdentities',
  'Microsoft.Web/sites',
] as const
const subScope = (s: number) => `/subscriptions/${SUBSCRIPTIONS[s]}`
const groupScope = (s: number, g: number) => `${subScope(s)}/resourceGroups/rg-${g}`
const resourceScope = (s: number, g: number, r: number) =>
  `${groupScope(s, g)}/providers/${TYPES[r % TYPES.length]}/res${r}`

interface Place {
  s: number
  g: number
  r: number
  level: 'subscription' | 'group' | 'resource'
}
const scopeOf = (p: Place) =>
  p.level === 'subscription' ? subScope(p.s) : p.level === 'group' ? groupScope(p.s, p.g) : resourceScope(p.s, p.g, p.r)

const roles = builtInRoles()
const catalogue = createRoleCatalogue(roles)

// -- generate: principal-major, so the first N assignments are N / perPrincipal principals with all of theirs
const t0 = performance.now()
const rssStart = rssMb()
const total = params.principals * params.perPrincipal
const assignments: RoleAssignment[] = new Array(total)
// Where each assignment is, packed (bench bookkeeping kept out of the RSS as far as possible).
const LEVELS = ['subscription', 'group', 'resource'] as const
const placeS = new Uint8Array(total)
const placeG = new Uint8Array(total)
const placeR = new Uint8Array(total)
const placeLevel = new Uint8Array(total)
const placeAt = (i: number): Place => ({
  s: placeS[i] as number,
  g: placeG[i] as number,
  r: placeR[i] as number,
  level: LEVELS[placeLevel[i] as number] as Place['level'],
})
const principalIds: string[] = new Array(params.principals)
for (let p = 0; p < params.principals; p++) {
  const pid = guid(0x0b1ec700, p)
  principalIds[p] = pid
  for (let k = 0; k < params.perPrincipal; k++) {
    const i = p * params.perPrincipal + k
    const x = rand()
    const place: Place = {
      s: int(SUBSCRIPTIONS.length),
      g: int(GROUPS),
      r: int(RESOURCES),
      level: x < 0.05 ? 'subscription' : x < 0.3 ? 'group' : 'resource',
    }
    placeS[i] = place.s
    placeG[i] = place.g
    placeR[i] = place.r
    placeLevel[i] = LEVELS.indexOf(place.level)
    assignments[i] = {
      id: guid(0xa5500000, i),
      scope: scopeOf(place),
      roleDefinitionId: pick(roles).id,
      principalId: pid,
      principalType: 'ServicePrincipal',
      description: null,
      condition: null,
      conditionVersion: null,
      createdAt: 1_700_000_000_000 + i,
      updatedAt: 1_700_000_000_000 + i,
      createdBy: null,
      updatedBy: null,
    }
  }
}
const generateMs = performance.now() - t0
const rssGenerated = rssMb()

// -- build the indexes: the full one (timed, RSS measured), then the smaller ones over prefixes of the same data
const sizes = params.sizes.filter((n) => n <= total)
const full = Math.max(...sizes)
const tb = performance.now()
const fullIndex = createAssignmentIndex(assignments.slice(0, full))
const buildMs = performance.now() - tb
const rssBuilt = rssMb()
const indexes = new Map<number, { index: AssignmentIndex; buildMs: number }>()
indexes.set(full, { index: fullIndex, buildMs })
for (const n of sizes) {
  if (indexes.has(n)) continue
  const t = performance.now()
  const index = createAssignmentIndex(assignments.slice(0, n))
  indexes.set(n, { index, buildMs: performance.now() - t })
}

// -- checks: half aimed at or below one of the principal's own assignments, half at a random resource
const ACTIONS: [string, CheckKind][] = [
  ['Microsoft.Compute/virtualMachines/read', 'action'],
  ['Microsoft.Compute/virtualMachines/write', 'action'],
  ['Microsoft.Storage/storageAccounts/listKeys/action', 'action'],
  ['Microsoft.ManagedIdentity/userAssignedIdentities/assign/action', 'action'],
  ['Microsoft.Authorization/roleAssignments/write', 'action'],
  ['Microsoft.Resources/subscriptions/resourceGroups/read', 'action'],
  ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read', 'dataAction'],
  ['Microsoft.KeyVault/vaults/secrets/getSecret/action', 'dataAction'],
]
interface Check {
  principalIds: string[]
  action: string
  kind: CheckKind
  scope: string
}
function makeChecks(size: number, n: number): Check[] {
  const principals = size / params.perPrincipal
  const out: Check[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const p = int(principals)
    const [action, kind] = pick(ACTIONS)
    let scope: string
    if (rand() < 0.5) {
      const own = placeAt(p * params.perPrincipal + int(params.perPrincipal))
      // At or below the assignment's scope: the resource itself, or one inside the group / subscription.
      scope =
        own.level === 'resource'
          ? resourceScope(own.s, own.g, own.r)
          : own.level === 'group'
            ? resourceScope(own.s, own.g, int(RESOURCES))
            : resourceScope(own.s, int(GROUPS), int(RESOURCES))
    } else scope = resourceScope(int(SUBSCRIPTIONS.length), int(GROUPS), int(RESOURCES))
    if (kind === 'dataAction') scope += '/blobServices/default/containers/data'
    out[i] = { principalIds: [principalIds[p] as string], action, kind, scope }
  }
  return out
}

function timeChecks(index: AssignmentIndex, checks: Check[], into: number[]): number {
  let allowed = 0
  for (const c of checks) {
    const a = process.hrtime.bigint()
    const d = evaluate({
      index,
      roles: catalogue,
      principalIds: c.principalIds,
      action: c.action,
      scope: c.scope,
      kind: c.kind,
    })
    const b = process.hrtime.bigint()
    into.push(Number(b - a) / 1000)
    if (d.allowed) allowed++
  }
  return allowed
}

// Warm-up (JIT, regex cache) on every index.
for (const { index } of indexes.values()) timeChecks(index, makeChecks(Math.min(full, 10_000), 20_000), [])

const timings = new Map<number, { us: number[]; allowed: number; checks: number }>(
  sizes.map((n) => [n, { us: [], allowed: 0, checks: 0 }]),
)
const checkSets = new Map(sizes.map((n) => [n, makeChecks(n, params.checks)]))
for (let r = 0; r < params.rounds; r++) {
  for (let i = 0; i < sizes.length; i++) {
    const n = sizes[(i + r) % sizes.length] as number
    const t = timings.get(n) as { us: number[]; allowed: number; checks: number }
    const checks = checkSets.get(n) as Check[]
    t.allowed += timeChecks((indexes.get(n) as { index: AssignmentIndex }).index, checks, t.us)
    t.checks += checks.length
  }
}

const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(p * xs.length) - 1))] as number
const results = sizes.map((n) => {
  const t = timings.get(n) as { us: number[]; allowed: number; checks: number }
  const us = t.us.sort((a, b) => a - b)
  return {
    assignments: n,
    principals: n / params.perPrincipal,
    buildMs: (indexes.get(n) as { buildMs: number }).buildMs,
    checks: t.checks,
    allowedPct: (100 * t.allowed) / t.checks,
    medianUs: q(us, 0.5),
    p99Us: q(us, 0.99),
    p999Us: q(us, 0.999),
    maxUs: us[us.length - 1] ?? Number.NaN,
  }
})
process.stdout.write(
  `${JSON.stringify({
    params: { ...params, sizes },
    generateMs,
    buildMs,
    rssMb: { start: rssStart, generated: rssGenerated, built: rssBuilt, end: rssMb() },
    results,
  })}\n`,
)
