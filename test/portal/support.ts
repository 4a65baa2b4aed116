// Shared by the portal's browser tests (not a test file): Debian's chromium driven by playwright-core, trusting
// exactly azid's TLS key (--ignore-certificate-errors-spki-list names its SPKI hash; nothing else is waived).
import { X509Certificate, createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import type { TestContext } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { TestServer } from '../support/server.ts'
import { need } from '../support/tiers.ts'

export const CHROMIUM = process.env.AZID_CHROMIUM ?? '/usr/bin/chromium'
/**
 * Screenshots are always taken (a page that cannot be drawn fails the test); they replace the ones kept in
 * docs/screenshots only with AZID_UPDATE_SCREENSHOTS=1, so an ordinary run leaves the checkout unchanged.
 */
export const SCREENSHOTS =
  process.env.AZID_UPDATE_SCREENSHOTS === '1'
    ? resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots')
    : join(tmpdir(), 'azid-portal-screenshots')

/** null when the browser tier can run, else why not. */
export function browserMissing(): string | null {
  if (!existsSync(CHROMIUM)) return `no chromium at ${CHROMIUM} (apt-get install chromium)`
  try {
    import.meta.resolve('playwright-core')
  } catch {
    return 'playwright-core is not installed'
  }
  return null
}

/** base64 SHA-256 of the server certificate's SubjectPublicKeyInfo, the form chromium's SPKI allow-list takes. */
export function spkiHash(s: TestServer): string {
  const leaf = readFileSync(join(dirname(s.caPath), 'tls.pem'), 'utf8')
  const spki = new X509Certificate(leaf).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

export interface Portal {
  browser: Browser
  context: BrowserContext
  page: Page
  /** Page errors and console errors seen so far (a test asserts there were none). */
  errors: string[]
  close(): Promise<void>
}

/** Launches chromium for `s` (null when the tier is skipped). */
export async function openPortal(t: TestContext, s: TestServer): Promise<Portal | null> {
  if (!need(t, browserMissing())) return null
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${spkiHash(s)}`],
  })
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ignoreHTTPSErrors: false })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (4\d\d)/.test(m.text())) errors.push(`console: ${m.text()}`)
  })
  page.setDefaultTimeout(10_000)
  return {
    browser,
    context,
    page,
    errors,
    async close() {
      await browser.close()
    },
  }
}

/** Waits until the page at `path` (the hash route without `#`) has rendered. */
export async function ready(page: Page, path: string): Promise<void> {
  await page.waitForSelector(`body[data-ready="${path}"]`)
}

/** Signs in on azid's sign-in page (the portal redirects there) and waits for `path` to render. */
export async function signIn(page: Page, upn: string, password: string, path = '/'): Promise<void> {
  await page.waitForSelector('#username')
  await page.fill('#username', upn)
  await page.fill('#password', password)
  await page.click('button[type=submit]')
  await ready(page, path)
}

/** Goes to a hash route and waits for it to render. */
export async function go(page: Page, hash: string): Promise<void> {
  const path = hash.replace(/^#/, '').split('?')[0] || '/'
  // The same hash again fires no hashchange: the portal is told directly (as its Refresh buttons do).
  await page.evaluate(
    `document.body.dataset.ready = ''; if (location.hash === ${JSON.stringify(hash)}) window.dispatchEvent(new HashChangeEvent('hashchange')); else location.hash = ${JSON.stringify(hash)}`,
  )
  await ready(page, path)
}

/** Saves a screenshot of the viewport as <name>.png in SCREENSHOTS. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) })
}

/**
 * The last measure of a route, in ms from its start: `paint` when its first content was on screen, `page` when all
 * of it was (src/ui/public/js/main.js).
 */
export async function lastMeasure(page: Page, path: string, kind: 'paint' | 'page' = 'page'): Promise<number> {
  return page.evaluate<number>(
    `(() => { const all = performance.getEntriesByName(${JSON.stringify(`${kind}:${path}`)}, 'measure'); return all.length ? all[all.length - 1].duration : NaN })()`,
  )
}
