import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { chromium, type Browser, type Page } from 'playwright-core'
import { build, listen, type Tap } from '../helper.ts'
import { resizeWindow } from '../../examples/resize-window.ts'

// The dashboard in a real browser (Debian's chromium driven by playwright-core): virq on a
// port, the resize-window story run against it for both abis, then what a person sees at /ui.
// No browser is a failure, never a skip: .ci/run installs chromium when it is missing.

const CHROMIUM = process.env.VIRQ_CHROMIUM ?? '/usr/bin/chromium'
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'ui')
/** VIRQ_UPDATE_SCREENSHOT=1 also refreshes the README's docs/dashboard.png. */
const DOCS_SHOT = join(import.meta.dirname, '..', '..', 'docs', 'dashboard.png')
const ADMIN = 'admin-token-0123456789abcdef'

async function launch (t: Tap): Promise<Browser> {
  let browser: Browser
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
  } catch (err) {
    throw new Error(`cannot launch chromium at ${CHROMIUM} (apt-get install -y chromium): ${(err as Error).message}`)
  }
  t.teardown(() => browser.close())
  return browser
}

async function serve (t: Tap, opts: { adminToken?: string } = {}) {
  // build() turns the overload guard off: a loaded CI machine must not turn the story's calls into 503s.
  const app = await build(t, opts)
  return { app, base: (await listen(app)).base }
}
async function newPage (browser: Browser, t: Tap): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('response', (res) => { if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`) })
  t.teardown(() => { if (errors.length > 0) throw new Error(`the page had errors: ${errors.join('; ')}`) })
  return page
}

mkdirSync(ARTIFACTS, { recursive: true })

t.test('dashboard: both resize-window devices, windows with losses on linux-6.1 only, live chart, vector grid as the API says', async (t) => {
  const started = Date.now()
  const { app, base } = await serve(t)
  const old = await resizeWindow('linux-6.1', base)
  const dyn = await resizeWindow('linux-6.12', base)
  t.ok(old.lost > 0, `the story lost interrupts on linux-6.1 (${old.lost})`)
  t.equal(dyn.lost, 0)

  const browser = await launch(t)
  const page = await newPage(browser, t)
  await page.goto(base + '/')
  t.equal(new URL(page.url()).pathname, '/ui', 'GET / redirects to the dashboard')
  await page.waitForSelector('#devices[data-count="2"]')
  const names = await page.locator('#devices tbody a').allTextContents()
  t.same(names.sort(), ['nic-linux-6.1', 'nic-linux-6.12'], 'both devices listed')
  const lostCell = await page.locator(`#devices tr[data-device="${old.deviceId}"] td:nth-child(8)`).textContent()
  t.equal(lostCell, String(old.lost), 'the list shows the lost total the example printed')

  // linux-6.1: opened from the keyboard, as a person without a mouse would.
  await page.locator(`#devices a[data-device="${old.deviceId}"]`).focus()
  await page.keyboard.press('Enter')
  await page.waitForSelector(`#device-pane[data-ready="true"][data-device="${old.deviceId}"]`)
  const windows = await page.locator('#windows li.window-item').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.lost)))
  t.equal(windows.length, old.added, 'one window per vector added by disable + re-enable')
  t.ok(windows.some((n) => n > 0), 'at least one window lost interrupts')
  t.equal(windows.reduce((a, b) => a + b, 0), old.lost, 'the windows hold every loss the example printed')
  t.ok(await page.locator('#timeline .window').count() >= 1, 'windows are shaded on the timeline')
  t.match(await page.locator('#timeline .window span').first().textContent(), /^lost \d+$/, 'and labelled with their losses')
  t.ok(Number(await page.getAttribute('#chart', 'data-points')) > 0, 'the chart has points')
  const canvas = await page.locator('#chart canvas').boundingBox()
  t.ok(canvas !== null && canvas.width > 200 && canvas.height > 100, 'the chart is drawn')

  // The vector grid is what GET .../vectors says, cell for cell.
  const api = (await app.inject({ method: 'GET', url: `/v1/devices/${old.deviceId}/irqs/msix/vectors` })).json().items
  const cells = await page.locator('#grid .index-row[data-index="2"] .cell').evaluateAll((els) =>
    els.map((e) => ({ vector: Number((e as HTMLElement).dataset.vector), allocated: (e as HTMLElement).dataset.allocated === 'true', trigger: (e as HTMLElement).dataset.trigger === '' ? null : Number((e as HTMLElement).dataset.trigger) })))
  t.same(cells, api.map((v: any) => ({ vector: v.vector, allocated: v.allocated, trigger: v.trigger })))
  t.match(await page.locator('#grid .cell[data-index="2"][data-vector="3"]').getAttribute('title'), /msix vector 3\nallocated\ntrigger eventfd \d+\nunmasked\nnot pending\nbacking host\nfired \d+/, 'details on hover')
  await page.screenshot({ path: join(ARTIFACTS, 'linux-6.1.png'), fullPage: true })
  if (process.env.VIRQ_UPDATE_SCREENSHOT === '1') await page.screenshot({ path: DOCS_SHOT })
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.screenshot({ path: join(ARTIFACTS, 'linux-6.1-dark.png'), fullPage: true })
  await page.emulateMedia({ colorScheme: 'light' })

  // Live: a fire now reaches the open chart through the stream, without a reload.
  const before = Number(await page.getAttribute('#chart', 'data-points'))
  const firedAt = Date.now()
  while (Date.now() - firedAt < 2500) {
    await app.inject({ method: 'POST', url: `/v1/devices/${old.deviceId}/interrupts`, payload: { index: 'msix', vector: 0, count: 5 } })
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await page.waitForFunction((b) => Number(document.querySelector('#chart')?.getAttribute('data-points')) > b, before, { timeout: 10_000 })
  const now = Number(await page.getAttribute('#chart', 'data-points'))
  t.ok(now > before, `live points (${before} -> ${now})`)

  // linux-6.12: dynamic MSI-X, no window at all.
  await page.keyboard.press('Escape')
  await page.waitForSelector('#device-pane', { state: 'hidden' })
  await page.click(`#devices a[data-device="${dyn.deviceId}"]`)
  await page.waitForSelector(`#device-pane[data-ready="true"][data-device="${dyn.deviceId}"]`)
  t.equal(await page.locator('#windows li.window-item').count(), 0, 'no teardown window on linux-6.12')
  t.equal(await page.locator('#timeline .window').count(), 0)
  t.ok(Number(await page.getAttribute('#chart', 'data-points')) > 0, 'its chart has points too')
  await page.screenshot({ path: join(ARTIFACTS, 'linux-6.12.png'), fullPage: true })
  t.comment(`browser test wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`)
})

t.test('dashboard with --admin-token: asks for a token, keeps it in the tab, shows that tenant\'s devices only', async (t) => {
  const { app, base } = await serve(t, { adminToken: ADMIN })
  const token = async (tenant: string): Promise<string> => {
    const res = await app.inject({ method: 'POST', url: '/v1/admin/tokens', headers: { authorization: `Bearer ${ADMIN}` }, payload: { tenant } })
    return res.json().token
  }
  const alice = await token('alice')
  const bob = await token('bob')
  for (const [tok, name] of [[alice, 'alice-nic'], [bob, 'bob-nic']]) {
    await app.inject({ method: 'POST', url: '/v1/devices', headers: { authorization: `Bearer ${tok}` }, payload: { name, msix: { tableSize: 4 } } })
  }
  const browser = await launch(t)
  const page = await browser.newPage()
  await page.goto(base + '/ui')
  await page.waitForSelector('#login[open]')
  await page.fill('#token', alice)
  await page.keyboard.press('Enter')
  await page.waitForSelector('#devices[data-count="1"]')
  t.same(await page.locator('#devices tbody a').allTextContents(), ['alice-nic'])
  t.equal(await page.evaluate(() => sessionStorage.getItem('virq-token')), alice, 'kept in sessionStorage')
  await page.reload()
  await page.waitForSelector('#devices[data-count="1"]')
  t.equal(await page.locator('#login[open]').count(), 0, 'not asked again in the same tab')
})

t.test('the API reference at /docs renders the document in a real browser, its links resolve, no console errors', async (t) => {
  const browser = await launch(t)
  const { base } = await serve(t)
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  await page.goto(`${base}/docs`)
  await page.waitForSelector('.opblock-tag', { timeout: 30_000 })
  const tags = await page.locator('.opblock-tag').allInnerTexts()
  for (const tag of ['devices', 'irqs', 'ioctl', 'interrupts', 'eventfds', 'service', 'admin']) {
    t.ok(tags.some((x) => x.startsWith(tag)), `tag ${tag}`)
  }
  t.match(await page.locator('.info .title').innerText(), /virq/)
  for (const href of ['/docs/stream.md', '/problems']) {
    t.equal((await fetch(`${base}${href}`)).status, 200, `the description links ${href}`)
  }
  t.same(errors, [], 'no errors in the page')
})
