// Compiles src/ to plain JavaScript, one file per module (the same tree, `.ts` imports rewritten to `.js`), and
// copies the other files modules read at run time (worker and forwarder scripts, role data, the portal). The sources
// use erasable TypeScript syntax only, so this is type stripping, not a different program. `bin/azid.js` runs the
// build when it is missing or older than the sources: a server started from JavaScript uses far less memory than
// one compiled on the fly by tsx (docs/performance.md). Usage: node scripts/build.mjs [outDir]
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const SRC = join(ROOT, 'src')
/** Builds live in `<cache>/<stamp>/`: a new build never touches one a running process may still import from. */
export const CACHE = join(ROOT, 'node_modules', '.cache', 'azid-build')

function walk(dir, dirs = []) {
  const out = []
  dirs.push(dir)
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p, dirs))
    else out.push(p)
  }
  return out
}

/** The newest modification time of src/ and everything in it (ms; directories count, so deletions do too). */
export function sourceStamp() {
  const dirs = []
  let newest = 0
  for (const f of walk(SRC, dirs)) newest = Math.max(newest, statSync(f).mtimeMs)
  for (const d of dirs) newest = Math.max(newest, statSync(d).mtimeMs)
  return String(Math.ceil(newest))
}

/** The build for the current sources, made if missing; returns its directory. */
export async function ensureBuild() {
  const dir = join(CACHE, sourceStamp())
  if (existsSync(join(dir, 'BUILD_STAMP'))) return dir
  return (await build(dir)).outDir
}

export async function build(outDir = join(CACHE, sourceStamp())) {
  const { build: esbuild } = await import('esbuild')
  const files = walk(SRC)
  const entries = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
  const stamp = sourceStamp()
  const tmp = `${outDir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  await esbuild({
    entryPoints: entries,
    outdir: tmp,
    outbase: SRC,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    plugins: [
      {
        name: 'one-file-per-module',
        setup(b) {
          // Every import stays an import: relative ones point at the compiled sibling, packages stay packages.
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return undefined
            if (args.path.startsWith('.')) return { path: args.path.replace(/\.ts$/, '.js'), external: true }
            return { path: args.path, external: true }
          })
        },
      },
    ],
  })
  for (const f of files) {
    if (f.endsWith('.ts')) continue
    const to = join(tmp, relative(SRC, f))
    mkdirSync(dirname(to), { recursive: true })
    cpSync(f, to)
  }
  writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n')
  writeFileSync(join(tmp, 'BUILD_STAMP'), stamp)
  mkdirSync(dirname(outDir), { recursive: true })
  try {
    renameSync(tmp, outDir) // atomic; when another process got there first, its identical build stays
  } catch {
    rmSync(tmp, { recursive: true, force: true })
  }
  if (outDir.startsWith(CACHE)) prune(outDir)
  return { outDir, modules: entries.length, stamp }
}

/** Keeps the three newest builds (an older one may still serve a running process's lazy imports). */
function prune(keep) {
  const all = readdirSync(CACHE)
    .filter((n) => /^\d+$/.test(n))
    .sort((a, b) => Number(b) - Number(a))
  for (const n of all.slice(3)) if (join(CACHE, n) !== keep) rmSync(join(CACHE, n), { recursive: true, force: true })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await build(process.argv[2] ? resolve(process.argv[2]) : undefined)
  process.stdout.write(`built ${r.modules} modules into ${r.outDir}\n`)
}
