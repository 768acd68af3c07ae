/**
 * Renders the HTML report of the sample case and writes, for review:
 *   docs/img/report-first-page.png   the first screen (A4 width)
 *   docs/img/report-chart.png        the timeline chart
 *   test-output/report/report.html, report.md, report-A4.pdf, report-Letter.pdf
 * Usage: npm run report:screenshot
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CaseHandle } from '../src/core/case/case-folder.js'
import { writeReports } from '../src/core/report/render.js'
import { openReport } from '../test/core/report/browser.js'
import { buildSampleCase } from '../test/support/sample-case.js'

const root = resolve(import.meta.dirname, '..')
const imgDir = join(root, 'docs', 'img')
const outDir = join(root, 'test-output', 'report')

async function main(): Promise<void> {
  await mkdir(imgDir, { recursive: true })
  await mkdir(outDir, { recursive: true })
  const parent = await mkdtemp(join(tmpdir(), 'fir-report-shot-'))
  try {
    const sample = await buildSampleCase({ parent, events: Number(process.env.FIR_SAMPLE_EVENTS ?? 1200) })
    const handle = await CaseHandle.open(sample.dir)
    const { files } = await writeReports(handle, { firVersion: '0.1.0' }).finally(() => handle.close())
    const html = files.find((f) => f.format === 'html')!
    const md = files.find((f) => f.format === 'md')!
    await copyFile(html.path, join(outDir, 'report.html'))
    await copyFile(md.path, join(outDir, 'report.md'))
    const { readFile } = await import('node:fs/promises')
    const text = await readFile(html.path, 'utf8')

    const shown = await openReport(text, { viewport: { width: 1100, height: 1500 }, deviceScaleFactor: 1 })
    try {
      await shown.page.screenshot({ path: join(imgDir, 'report-first-page.png') })
      await shown.page.locator('#timeline-chart').screenshot({ path: join(imgDir, 'report-chart.png') })
      await shown.page.emulateMedia({ media: 'print' })
      for (const format of ['A4', 'Letter'] as const) {
        await shown.page.pdf({
          path: join(outDir, `report-${format}.pdf`),
          format,
          printBackground: true,
          preferCSSPageSize: true,
        })
      }
      await shown.page.setViewportSize({ width: 794, height: 1123 })
      await shown.page.screenshot({ path: join(outDir, 'report-print-a4.png'), fullPage: true })
      if (shown.activity.requests.length || shown.activity.dialogs.length) {
        throw new Error(`the report made requests or opened dialogs: ${JSON.stringify(shown.activity)}`)
      }
    } finally {
      await shown.close()
    }
    await writeFile(
      join(outDir, 'README.txt'),
      `Rendered from the sample case (${sample.events} events) by npm run report:screenshot.\n`,
    )
    process.stdout.write(
      `wrote ${join(imgDir, 'report-first-page.png')}\n      ${join(imgDir, 'report-chart.png')}\n      ${outDir}/report.html, report.md, report-A4.pdf, report-Letter.pdf\n`,
    )
  } finally {
    await rm(parent, { recursive: true, force: true })
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
})
