/**
 * Benchmark of `fir report`: `npm run bench:report` (or `npx tsx bench/report.ts [events] [findingRate]`).
 *
 * Builds the sample case (test/support/sample-case.ts) with 100,000 timeline events, then times
 *   1. buildReportModel with the integrity check (re-hashes evidence and timeline/events.jsonl, like
 *      `fir case verify`), and without it;
 *   2. rendering report.html and report.md from the model;
 * and prints the sizes. Goal: the whole report (model with verify + both renders) under 3 s, HTML under 5 MB.
 * A second run makes 10% of the events carry findings (a noisy case: thousands of key-event candidates).
 */

import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildSampleCase } from '../test/support/sample-case.js'

// Measure what `fir report` runs: the compiled dist/ (npm run build), else the TypeScript sources.
const root = new URL('..', import.meta.url)
const useDist = existsSync(new URL('dist/core/report/build.js', root))
const from = (rel: string) =>
  new URL(`${useDist ? 'dist' : 'src'}/core/report/${rel}.${useDist ? 'js' : 'ts'}`, root).href
const { buildReportModel } = (await import(from('build'))) as typeof import('../src/core/report/build.js')
const { renderReport } = (await import(from('render'))) as typeof import('../src/core/report/render.js')

const EVENTS = Number(process.argv[2] ?? 100_000)
const RATES = process.argv[3] !== undefined ? [Number(process.argv[3])] : [0, 0.1]

const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6
const cpuMs = (c: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c)
  return (d.user + d.system) / 1000
}
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`

async function run(findingRate: number): Promise<boolean> {
  const parent = await mkdtemp(join(tmpdir(), 'fir-bench-report-'))
  try {
    let t = process.hrtime.bigint()
    const sample = await buildSampleCase({ parent, events: EVENTS, findingRate })
    const buildCase = ms(t)
    const eventsBytes = (await stat(join(sample.dir, 'timeline', 'events.jsonl'))).size

    t = process.hrtime.bigint()
    const cpu = process.cpuUsage()
    const model = await buildReportModel(sample.dir)
    const modelVerify = ms(t)
    t = process.hrtime.bigint()
    const html = await renderReport(model, { format: 'html' })
    const renderHtml = ms(t)
    t = process.hrtime.bigint()
    const md = await renderReport(model, { format: 'md' })
    const renderMd = ms(t)
    // Then without the integrity check, warm: what the scan itself costs.
    t = process.hrtime.bigint()
    const quick = await buildReportModel(sample.dir, { verify: false })
    const modelNoVerify = ms(t)
    const total = modelVerify + renderHtml + renderMd
    const totalCpu = cpuMs(cpu)
    const htmlBytes = Buffer.byteLength(html)
    const ok = total < 3000 && htmlBytes < 5 * 1024 * 1024
    process.stdout.write(
      [
        `fir report benchmark (${useDist ? 'dist/' : 'src/ via tsx'}): ${sample.events} events (${mb(eventsBytes)} events.jsonl), ${(findingRate * 100).toFixed(0)}% background events with findings`,
        `  sample case written in      ${buildCase.toFixed(0)} ms (not part of the report)`,
        `  view model + integrity      ${modelVerify.toFixed(0)} ms, cold (${model.evidence.integrity?.ok ? 'case verifies' : 'case does NOT verify'})`,
        `  render report.html          ${renderHtml.toFixed(0)} ms, ${mb(htmlBytes)}`,
        `  render report.md            ${renderMd.toFixed(0)} ms, ${mb(Buffer.byteLength(md))}`,
        `  view model, no verify, warm ${modelNoVerify.toFixed(0)} ms (key events ${quick.timeline.keyEventsShown} of ${quick.timeline.keyEventsTotal}, ${quick.findings.total} findings)`,
        `  total (model+verify+both)   ${total.toFixed(0)} ms wall, ${totalCpu.toFixed(0)} ms CPU   goal < 3000 ms, HTML < 5 MB: ${ok ? 'met' : 'NOT met'}`,
        `  machine load average        ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')} on ${cpus().length} CPUs`,
        `  peak RSS                    ${mb(process.memoryUsage().rss)}`,
        '',
      ].join('\n'),
    )
    return ok
  } finally {
    await rm(parent, { recursive: true, force: true })
  }
}

let allOk = true
for (const rate of RATES) allOk = (await run(rate)) && allOk
process.exitCode = allOk ? 0 : 1
