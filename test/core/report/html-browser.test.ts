/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { writeReports } from '../../../src/core/report/render.js'
import { tempDir } from '../../support/cli.js'
import { buildSampleCase, HOSTILE } from '../../support/sample-case.js'
import { type LoadedReport, openReport, requireChromium } from './browser.js'

// These tests need Debian's Chromium. Without it they fail (requireChromium throws), never skip.

async function hostileReport(): Promise<{ html: string; md: string }> {
  const sample = await buildSampleCase({ parent: await tempDir(), hostile: true, events: 80 })
  const handle = await CaseHandle.open(sample.dir)
  try {
    const { files } = await writeReports(handle, { firVersion: '0.1.0' })
    return {
      html: await readFile(files.find((f) => f.format === 'html')!.path, 'utf8'),
      md: await readFile(files.find((f) => f.format === 'md')!.path, 'utf8'),
    }
  } finally {
    await handle.close()
  }
}

/** Everything in the DOM that could run code or fetch something. */
function inspectDom(): Record<string, unknown> {
  const all = [...document.querySelectorAll('*')]
  return {
    pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
    scripts: document.querySelectorAll('script').length,
    active: document.querySelectorAll(
      'img,iframe,object,embed,link,audio,video,source,base,form,input,meta[http-equiv=refresh]',
    ).length,
    handlers: all.flatMap((el) =>
      [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName}.${a.name}`),
    ),
    externalLinks: [...document.querySelectorAll('a[href]')]
      .map((a) => a.getAttribute('href') ?? '')
      .filter((h) => !h.startsWith('#')),
    styleUrls: [...document.querySelectorAll('style')].filter((s) =>
      /url\(|@import/i.test(s.textContent ?? ''),
    ).length,
    styles: document.querySelectorAll('style').length,
    csp:
      document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null,
  }
}

describe('the HTML report in headless Chromium', () => {
  let report: { html: string; md: string }
  let loaded: LoadedReport

  beforeAll(async () => {
    requireChromium()
    report = await hostileReport()
    loaded = await openReport(report.html)
  })

  afterAll(async () => {
    await loaded?.close()
  })

  it('runs no script, opens no dialog and makes no request, with attacker markup in the case', async () => {
    // Give anything that could fire (onerror, onload, timers) the chance to.
    await loaded.page.waitForTimeout(500)
    expect(loaded.activity.requests).toEqual([])
    expect(loaded.activity.dialogs).toEqual([])
    expect(loaded.activity.pageErrors).toEqual([])
    expect(loaded.activity.console).toEqual([])
    const dom = await loaded.page.evaluate(inspectDom)
    expect(dom).toEqual({
      pwned: null,
      scripts: 0,
      active: 0,
      handlers: [],
      externalLinks: [],
      styleUrls: 0,
      styles: 1,
      csp: "default-src 'none'; style-src 'unsafe-inline'",
    })
  })

  it('shows the attacker-controlled values as text, with ANSI escapes made visible', async () => {
    const text = await loaded.page.evaluate(() => document.body.innerText)
    expect(text).toContain(HOSTILE.userAgent)
    expect(text).toContain(HOSTILE.template)
    expect(text).toContain(HOSTILE.script)
    expect(text).toContain(HOSTILE.svg)
    expect(text).toContain('\\e[31mRED\\e[0m\\x07')
    expect(text).not.toContain('\u001b')
    // A secret id from CloudTrail reaches the impact line as text.
    expect(text).toContain(
      `secrets were read with the execution role’s credentials (prod/orders/db (us-east-1, account 123456789012), prod/orders/db${HOSTILE.svg}${HOSTILE.markdown}`,
    )
    // The title in the masthead is text too.
    const h1 = await loaded.page.locator('h1').innerText()
    expect(h1).toBe('Suspected compromise of orders-api <img src=x onerror=alert(1)> \\e[31mRED\\e[0m\\x07')
  })

  it('stays inert even without its Content-Security-Policy: escaping alone holds', async () => {
    const withoutCsp = report.html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '')
    expect(withoutCsp).not.toContain('Content-Security-Policy')
    const bare = await openReport(withoutCsp)
    try {
      await bare.page.waitForTimeout(500)
      expect(bare.activity).toEqual({ requests: [], dialogs: [], console: [], pageErrors: [] })
      const dom = await bare.page.evaluate(inspectDom)
      expect(dom).toMatchObject({ pwned: null, scripts: 0, active: 0, handlers: [], externalLinks: [] })
    } finally {
      await bare.close()
    }
  })

  it('would notice a script, a dialog and a request (the harness itself can fail)', async () => {
    const evil = `<!doctype html><body><img src="https://attacker.example/x.png"><script>window.__pwned = 1; alert(2)</script></body>`
    const page = await openReport(evil)
    try {
      await page.page.waitForTimeout(300)
      expect(page.activity.dialogs).toEqual(['alert: 2'])
      expect(page.activity.requests).toContain('https://attacker.example/x.png')
      expect(await page.page.evaluate(inspectDom)).toMatchObject({ pwned: 1, scripts: 1 })
    } finally {
      await page.close()
    }
  })

  it('prints on A4 and Letter without clipping a table or the chart', async () => {
    const page = loaded.page
    await page.emulateMedia({ media: 'print' })
    // Printable width at 96 dpi: A4 210 mm and Letter 8.5 in, minus the 12 mm side margins of @page.
    for (const [name, width] of [
      ['A4', Math.floor(((210 - 24) / 25.4) * 96)],
      ['Letter', Math.floor((8.5 - 24 / 25.4) * 96)],
    ] as const) {
      await page.setViewportSize({ width, height: 1000 })
      const overflow = await page.evaluate(() => {
        const doc = document.documentElement
        const wide = [...document.querySelectorAll('table, figure, svg, dl, .cards')]
          .filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1)
          .map((el) => `${el.tagName}${el.id ? `#${el.id}` : ''}`)
        return { scroll: doc.scrollWidth, client: doc.clientWidth, wide }
      })
      expect(overflow.wide, `${name}: elements wider than the page`).toEqual([])
      expect(overflow.scroll, `${name}: horizontal overflow`).toBeLessThanOrEqual(overflow.client)
      const pdf = await page.pdf({ format: name, printBackground: true, preferCSSPageSize: true })
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-')
      expect((pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length).toBeGreaterThan(1)
    }
    const rules = await page.evaluate(() =>
      [...document.styleSheets].flatMap((s) => [...s.cssRules].map((r) => r.cssText)).join('\n'),
    )
    expect(rules).toMatch(/@page \{ size: auto; margin: 14mm 12mm 16mm; \}/)
    expect(rules).toMatch(/break-inside: avoid/)
    expect(rules).toMatch(/thead \{ display: table-header-group; \}/)
  })

  it('writes Markdown with the same values as text: no raw HTML, no live links, tables intact', () => {
    const md = report.md
    expect(md).not.toMatch(/<(img|script|svg|style|a)\b/i)
    expect(md).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(md).toContain('&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;')
    expect(md).toContain('{{constructor}}')
    expect(md).not.toContain('](https://')
    expect(md).not.toContain('\u001b')
    expect(md).toContain('\\\\e\\[31mRED\\\\e\\[0m\\\\x07')
    expect(md).toContain('&#64;admin')
  })
})
