// Compiles src/ to plain JavaScript, one file per module (the same tree, `.ts` imports rewritten to `.js`), and
// copies the other files modules read at run time (worker and forwarder scripts, role data, the portal). The sources
// use erasable TypeScript syntax only, so this is type stripping, not a different program. `bin/azid.js` runs the
// build when it is missing or older than the sources: a server started from JavaScript uses far less memory than
// one compiled on the fly by tsx (docs/performance.md). Usage: node scripts/build.mjs [outDir]
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
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

/** The newest modification time of src/, everything in it and this script (ms; directories count, so deletions do too). */
export function sourceStamp() {
  const dirs = []
  let newest = 0
  for (const f of walk(SRC, dirs)) newest = Math.max(newest, statSync(f).mtimeMs)
  for (const d of dirs) newest = Math.max(newest, statSync(d).mtimeMs)
  // This script too: a change to how the build is made makes a new build.
  newest = Math.max(newest, statSync(fileURLToPath(import.meta.url)).mtimeMs)
  return String(Math.ceil(newest))
}

/** The build for the current sources, made if missing; returns its directory. */
export async function ensureBuild() {
  const dir = join(CACHE, sourceStamp())
  if (existsSync(join(dir, 'BUILD_STAMP'))) return dir
  return (await build(dir)).outDir
}

/** Packages main.js imports rather than contains: native code, loaded lazily, or tools. */
const NOT_BUNDLED = ['better-sqlite3', 'pg', '@peculiar/*', 'reflect-metadata', 'yaml', 'esbuild', 'tsx']

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
  // main.js, what `bin/azid.js` runs, is one bundle of every module it reaches and of most packages: Node's ESM
  // loader resolves, reads and links each file on its own, which was most of `azid start`'s start-up.
  // Inside the bundle each module keeps its own location: `import.meta.url` and `import.meta.dirname` are rewritten
  // to the path the module has in the tree beside it, where its worker scripts and data files are.
  await esbuild({
    entryPoints: [join(SRC, 'main.ts')],
    outfile: join(tmp, 'main.js'),
    allowOverwrite: true,
    bundle: true,
    // Pure-JavaScript packages go into the bundle too (kysely, hono and zod alone are hundreds of files for Node to
    // resolve one by one). Left out: native and lazily loaded ones, which keep their own files.
    external: NOT_BUNDLED,
    // Bundled CommonJS code calls require() for Node's built-ins; ESM output needs one.
    banner: {
      js: "import { createRequire as __azidCreateRequire } from 'node:module'\nconst require = __azidCreateRequire(import.meta.url)",
    },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    plugins: [
      {
        name: 'module-locations',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, async (args) => {
            const source = await readFile(args.path, 'utf8')
            const rel = relative(SRC, args.path).replace(/\.ts$/, '.js').split(sep).join('/')
            const url = `new URL(${JSON.stringify(rel)}, import.meta.url).href`
            let contents = source.replaceAll('import.meta.url', url)
            if (contents.includes('import.meta.dirname')) {
              // Helpers under names no module uses.
              const dir = `__azidDirname(__azidFileURLToPath(${url}))`
              contents = `import { dirname as __azidDirname } from 'node:path'\nimport { fileURLToPath as __azidFileURLToPath } from 'node:url'\n${contents.replaceAll('import.meta.dirname', dir)}`
            }
            return { contents, loader: 'ts' }
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
