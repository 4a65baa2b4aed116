// The npm registry this project is built against serves only some platform builds of packages such as
// @biomejs/biome, so `npm install` here leaves the other platforms' optional packages out of package-lock.json, and
// `npm ci` then refuses the lock as out of sync. This adds the missing entries (version, os, cpu, libc, optional),
// which npm skips on other platforms without fetching them. Run it after any `npm install`:
//   node scripts/lock-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs'

const file = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(file, 'utf8'))
const pk = lock.packages
let added = 0
for (const [key, entry] of Object.entries(pk)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const at = `node_modules/${name}`
    if (pk[at]) continue
    const m = /-(android|darwin|linux|win32|freebsd)-(arm64|x64|ia32|arm)(-musl)?$/.exec(name)
    if (!m) throw new Error(`${key}: cannot tell the platform of optional dependency ${name}`)
    pk[at] = {
      version,
      cpu: [m[2]],
      ...(entry.dev ? { dev: true } : {}),
      ...(m[3] ? { libc: ['musl'] } : {}),
      optional: true,
      os: [m[1]],
    }
    added++
  }
}
lock.packages = Object.fromEntries(
  Object.entries(pk).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
)
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
process.stdout.write(`added ${added} platform entries\n`)
