#!/usr/bin/env node
// The azid command. It runs src/ compiled to JavaScript (scripts/build.mjs: type stripping, one file per module,
// cached under node_modules/.cache and rebuilt when the sources change), which starts faster and uses far less memory
// than compiling on the fly. If that build cannot be made (a read-only install, no esbuild), it falls back to tsx.
// AZID_RUN_FROM_SOURCE=1 forces tsx.
let main
if (process.env.AZID_RUN_FROM_SOURCE !== '1') {
  try {
    const { ensureBuild } = await import('../scripts/build.mjs')
    const dir = await ensureBuild()
    const { pathToFileURL } = await import('node:url')
    ;({ main } = await import(pathToFileURL(`${dir}/main.js`).href))
  } catch (err) {
    if (process.env.AZID_DEBUG_BUILD === '1') process.stderr.write(`azid: running from source (${err})\n`)
  }
}
if (!main) {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import('../src/main.ts'))
}
process.exitCode = await main(process.argv.slice(2))
