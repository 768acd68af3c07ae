import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

/** Debian's Chromium; CI installs it (see .ci/run). Never a downloaded browser. */
export const CHROMIUM = process.env.FIR_CHROMIUM ?? '/usr/bin/chromium'
export const REPORT_URL = 'https://report.fir.invalid/report.html'

/** Fails loudly when Chromium is missing: a browser test that silently skips proves nothing. */
export function requireChromium(): string {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the report's browser tests need it. Install it with \`apt-get install -y chromium\` (Debian), or set FIR_CHROMIUM to its path.`,
    )
  }
  return CHROMIUM
}

/** What the page did while it was open: anything here beyond the document itself is a failure. */
export interface PageActivity {
  requests: string[]
  dialogs: string[]
  console: string[]
  pageErrors: string[]
}

export interface LoadedReport {
  page: Page
  activity: PageActivity
  close(): Promise<void>
}

/**
 * Opens HTML in headless Chromium with a fresh profile, serving it as the only document of a
 * routed origin: every other request is recorded and aborted, dialogs and console output are
 * recorded too.
 */
export async function openReport(
  html: string,
  options: { viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {},
): Promise<LoadedReport> {
  const executablePath = requireChromium()
  const profile = await mkdtemp(join(tmpdir(), 'fir-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
      viewport: options.viewport ?? { width: 1240, height: 1754 },
      deviceScaleFactor: options.deviceScaleFactor ?? 1,
      offline: false,
    })
  } catch (err) {
    await rm(profile, { recursive: true, force: true })
    throw err
  }
  const activity: PageActivity = { requests: [], dialogs: [], console: [], pageErrors: [] }
  let served = false
  await context.route('**/*', async (route) => {
    const url = route.request().url()
    if (url === REPORT_URL && !served) {
      served = true
      await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html })
      return
    }
    activity.requests.push(url)
    await route.abort()
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('request', (req) => {
    if (req.url() !== REPORT_URL && !activity.requests.includes(req.url())) activity.requests.push(req.url())
  })
  page.on('dialog', async (dialog) => {
    activity.dialogs.push(`${dialog.type()}: ${dialog.message()}`)
    await dialog.dismiss()
  })
  page.on('console', (msg) => activity.console.push(`${msg.type()}: ${msg.text()}`))
  page.on('pageerror', (err) => activity.pageErrors.push(err.message))
  await page.goto(REPORT_URL, { waitUntil: 'load' })
  return {
    page,
    activity,
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}
