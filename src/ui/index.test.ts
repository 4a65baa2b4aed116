// The portal's static surface: what it serves, with which types, caching and security headers.
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { PORTAL_CSP, createPortal } from './index.ts'

const get = (p: ReturnType<typeof createPortal>, path: string, init: RequestInit = {}) =>
  p.fetch(new Request(`https://127.0.0.1:4430${path}`, init))

function fixture() {
  const root = mkdtempSync(join(tmpdir(), 'azid-ui-'))
  mkdirSync(join(root, 'js'))
  writeFileSync(
    join(root, 'index.html'),
    '<link rel="stylesheet" href="{{ASSETS}}portal.css">{{PRELOADS}}<script type="module" src="{{ASSETS}}js/main.js"></script>',
  )
  writeFileSync(join(root, 'portal.css'), 'body{}')
  writeFileSync(join(root, 'js', 'main.js'), 'import "./a.js"')
  writeFileSync(join(root, 'js', 'a.js'), 'export {}')
  writeFileSync(join(root, 'tsconfig.json'), '{}')
  return root
}

test('/ redirects to /portal/; /portal serves the page with CSP and no caching', async () => {
  const root = fixture()
  try {
    const p = createPortal({ root })
    const r = await get(p, '/')
    assert.equal(r.status, 302)
    assert.equal(r.headers.get('location'), '/portal/')
    for (const path of ['/portal', '/portal/']) {
      const page = await get(p, path)
      assert.equal(page.status, 200)
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8')
      assert.equal(page.headers.get('cache-control'), 'no-cache')
      assert.equal(page.headers.get('content-security-policy'), PORTAL_CSP)
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer')
      assert.equal(page.headers.get('x-frame-options'), 'DENY')
      const html = await page.text()
      assert.ok(html.includes(`<script type="module" src="${p.assetBase}js/main.js">`), html)
      assert.ok(html.includes(`<link rel="modulepreload" href="${p.assetBase}js/a.js">`), 'modules are preloaded')
      assert.ok(!html.includes('{{'), 'every placeholder is filled')
    }
    assert.match(PORTAL_CSP, /script-src 'self'(;|$)/)
    assert.doesNotMatch(PORTAL_CSP, /unsafe-inline|unsafe-eval/)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('assets are served under the build hash, immutable, with their types; ETag gives 304', async () => {
  const root = fixture()
  try {
    const p = createPortal({ root })
    assert.match(p.assetBase, /^\/portal\/assets\/[0-9a-f]{16}\/$/)
    const js = await get(p, `${p.assetBase}js/main.js`)
    assert.equal(js.status, 200)
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal(js.headers.get('x-content-type-options'), 'nosniff')
    assert.equal(await js.text(), 'import "./a.js"')
    const css = await get(p, `${p.assetBase}portal.css`)
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8')
    const again = await get(p, `${p.assetBase}js/main.js`, {
      headers: { 'if-none-match': js.headers.get('etag') ?? '' },
    })
    assert.equal(again.status, 304)
    assert.equal(await again.text(), '')
    const head = await get(p, `${p.assetBase}js/main.js`, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('content-length'), String('import "./a.js"'.length))
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('a changed file changes the build hash; old hashes, other files and other methods are refused', async () => {
  const root = fixture()
  try {
    const before = createPortal({ root })
    writeFileSync(join(root, 'js', 'a.js'), 'export const x = 1')
    const after = createPortal({ root })
    assert.notEqual(before.assetBase, after.assetBase)
    assert.equal((await get(after, `${before.assetBase}js/a.js`)).status, 404)
    assert.equal((await get(after, `${after.assetBase}tsconfig.json`)).status, 404, 'only known asset types')
    assert.equal((await get(after, `${after.assetBase}../index.ts`)).status, 404)
    assert.equal((await get(after, '/portal/anything')).status, 404)
    const post = await get(after, '/portal/', { method: 'POST' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET, HEAD')
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('the shipped portal has every page module and no inline script', async () => {
  const p = createPortal()
  const page = await (await get(p, '/portal/')).text()
  assert.doesNotMatch(page, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script has a src')
  assert.doesNotMatch(page, /\son[a-z]+=/i, 'no inline event handlers')
  const modules = readdirSync(join(import.meta.dirname, 'public'), { recursive: true, encoding: 'utf8' }).filter((f) =>
    /\.(js|css)$/.test(f),
  )
  assert.ok(modules.includes('js/main.js') && modules.includes('js/pages/iam.js') && modules.includes('portal.css'))
  for (const m of modules) {
    const r = await get(p, `${p.assetBase}${m}`)
    assert.equal(r.status, 200, m)
    // Text from services becomes text nodes (src/ui/public/js/dom.js), never markup.
    assert.doesNotMatch(
      await r.text(),
      /innerHTML|insertAdjacentHTML|outerHTML|document\.write|\beval\(|new Function/,
      m,
    )
  }
})
