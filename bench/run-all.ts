/**
 * `npm run bench` — every benchmark, one after the other, each in its own process so that none
 * warms or loads the machine for the next: detection engine, report, snapshot, sweep, timeline.
 * Each prints its own tables; this prints how long each took and which failed, and exits 1 when
 * one did. Nothing here is a test.
 *
 *   npm run bench                       # all of them, one after the other
 *   npm run bench -- timeline report    # only these, in this order
 *
 * A benchmark's own options go through its environment (BENCH_RECORDS, BENCH_RUNS, …) or its own
 * npm script (`npm run bench:sweep -- --accounts 20`).
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const BENCHES = ['detect', 'report', 'snapshot', 'sweep', 'timeline'] as const

const here = path.dirname(fileURLToPath(import.meta.url))
const asked = process.argv.slice(2)
const unknown = asked.filter((a) => !(BENCHES as readonly string[]).includes(a))
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (there are: ${BENCHES.join(', ')})`)
  process.exit(2)
}
const chosen = asked.length > 0 ? asked : [...BENCHES]

// fir pins an AWS SDK that supports Node 20; its notice about future releases is noise here.
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
const done: { name: string; seconds: number; status: number | null }[] = []
for (const name of chosen) {
  console.log(`\n## bench/${name}.ts\n`)
  const started = performance.now()
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, `${name}.ts`)], {
    stdio: 'inherit',
    env,
  })
  const seconds = (performance.now() - started) / 1000
  done.push({ name, seconds, status: run.error ? null : run.status })
  if (run.error) console.error(`bench/${name}.ts did not start: ${run.error.message}`)
}

console.log('\n## Benchmarks run\n')
console.log('| benchmark | time | result |\n|---|---|---|')
for (const d of done)
  console.log(
    `| ${d.name} | ${d.seconds.toFixed(0)} s | ${d.status === 0 ? 'ok' : `failed (exit ${d.status ?? 'none'})`} |`,
  )
process.exit(done.every((d) => d.status === 0) ? 0 : 1)
