import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFir, tempDir } from '../support/cli.js'
import { type LookupEventsServer, startLookupEvents } from '../support/lookup-events-server.js'
import { generateCorpus } from '../support/trail-generator.js'

/**
 * A LookupEvents run killed part way, then the same command again: the pages the first run kept
 * are reused, not fetched again (DESIGN §5). The api source alone, account-wide, one region: no
 * other AWS call, so no emulator.
 */
const corpus = generateCorpus({
  seed: 57,
  records: 1500,
  start: new Date(Date.now() - 86_400_000),
  end: new Date(Date.now() - 10 * 60_000),
  regions: ['eu-west-1'],
})
/** What LookupEvents holds in eu-west-1 (global services' events are recorded in us-east-1). */
const inRegion = corpus.records.filter((r) => r.awsRegion === 'eu-west-1')
const hunt = ['timeline', '--case', 'cases/R', '--source', 'api', '--regions', 'eu-west-1', '--since', '2d']
let cwd = ''
let server: LookupEventsServer

beforeAll(async () => {
  cwd = await tempDir()
  expect((await runFir(['case', 'init', 'R'], { cwd })).code).toBe(0)
  server = await startLookupEvents(corpus.records, { rate: 60, burst: 60 })
})
afterAll(async () => {
  await server?.stop()
})

const journal = async () =>
  (await readFile(join(cwd, 'cases/R/journal.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))

describe('fir timeline --source api after an interrupted run', () => {
  it('says which pages it kept when interrupted, and the same command then goes on from them without fetching them again', async () => {
    const raw = join(cwd, 'cases/R/timeline/raw')
    const pagesIn = async (run: string) =>
      (await readdir(join(raw, run)).catch(() => [] as string[])).filter((f) =>
        /^eu-west-1-all-\d+\.json$/.test(f),
      )
    let child: import('node:child_process').ChildProcess | undefined
    // Slow enough (10 pages/s) to be interrupted part way through its pages (18 or so).
    const first = runFir(hunt, {
      cwd,
      env: { AWS_ENDPOINT_URL_CLOUDTRAIL: server.endpoint, FIR_LOOKUP_RATE: '10' },
      onSpawn: (c) => {
        child = c
      },
    })
    let run: string | undefined
    for (let i = 0; i < 400; i++) {
      run = (await readdir(raw).catch(() => [] as string[]))[0]
      if (run && (await pagesIn(run)).length >= 4) break
      await sleep(20)
    }
    child!.kill('SIGINT')
    const r1 = await first
    expect(r1.signal, r1.stderr).toBe('SIGINT')
    const said =
      /interrupted \(SIGINT\): (?:[^;\n]+; )*kept (\d+) LookupEvents pages in cases\/R\/timeline\/raw\/([^/]+)\/ \(journaled\): run the same command again to go on from them rather than fetch them again;/.exec(
        r1.stderr,
      )
    // Before: "interrupted (SIGINT): released the case lock" alone (after the temporaries it removed:
    // a page being written, the spool).
    expect(said, r1.stderr).not.toBeNull()
    expect(said![2]).toBe(run)
    expect(r1.stderr).toContain('released the case lock')
    // The pages the journal records are those a re-run finds (one journaled as the signal came,
    // before the count went up, is one more).
    const recorded = (await journal()).filter(
      (e) =>
        e.action === 'case.artifact' &&
        new RegExp(`^timeline/raw/${run}/eu-west-1-all-\\d+\\.json$`).test(e.params.path),
    ).length
    expect([recorded - 1, recorded]).toContain(Number(said![1]))
    expect(recorded).toBeGreaterThanOrEqual(4)
    expect(recorded).toBeLessThan(Math.ceil(inRegion.length / 50))
    const stats = server.regionStats('eu-west-1')
    const [fingerprint, servedFirst] = [...stats.pagesByQuery.entries()][0]!
    const servedBefore = servedFirst.length

    // Events of the last minutes, after the first run started: only the top-up can find them.
    const late = inRegion.slice(0, 3).map((r, i) => ({
      ...r,
      eventID: `late-${i}`,
      eventTime: new Date(Date.now() - 5_000).toISOString(),
    }))
    server.addRecords(late)

    const r2 = await runFir(hunt, {
      cwd,
      env: { AWS_ENDPOINT_URL_CLOUDTRAIL: server.endpoint, FIR_LOOKUP_RATE: '50' },
    })
    expect(r2.code, r2.stderr).toBe(0)
    expect(r2.stdout).toMatch(
      new RegExp(
        `^reused    ${recorded} pages of 1 query an earlier run did not finish, not fetched again: timeline/raw/${run}/ \\(1 asked again`,
        'm',
      ),
    )
    const summary = JSON.parse(await readFile(join(cwd, 'cases/R/timeline/summary.json'), 'utf8'))
    const query = summary.api.queries[0]
    expect(query.reused).toMatchObject({
      pages: recorded,
      from: [{ folder: `timeline/raw/${run}`, pages: recorded }],
    })
    expect(query.reused.topUp.pages).toBeGreaterThan(0)
    expect(summary.api.reusedPages).toBe(recorded)
    // The pagination went on from the first run's last page: no page before it was asked again
    // (its query, the same window, goes on where the kept pages end).
    const served = stats.pagesByQuery.get(fingerprint)!
    expect(served.slice(servedBefore)).toEqual(
      Array.from({ length: served.length - servedBefore }, (_, i) => recorded + i),
    )
    expect(served.at(-1)).toBe(Math.ceil((inRegion.length + late.length) / 50) - 1)
    // The same events as a run that was never interrupted: all of them, the late ones too.
    const stored = (await readFile(join(cwd, 'cases/R/timeline/events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id)
    expect(stored.length).toBe(new Set(stored).size)
    expect(new Set(stored)).toEqual(new Set([...inRegion, ...late].map((r) => r.eventID)))
    // The reused pages stay where they were (nothing copied), and the case verifies.
    expect((await pagesIn(summary.outputs.raw.split('/').at(-1))).length).toBe(
      Math.ceil((inRegion.length + late.length) / 50) - recorded,
    )
    const verify = await runFir(['case', 'verify', '--case', 'cases/R'], { cwd })
    expect(verify.code, verify.stdout).toBe(0)
    // A finished run's pages are not reused: the next run asks afresh.
    const r3 = await runFir([...hunt, '--json'], {
      cwd,
      env: { AWS_ENDPOINT_URL_CLOUDTRAIL: server.endpoint, FIR_LOOKUP_RATE: '50' },
    })
    expect(r3.code, r3.stderr).toBe(0)
    expect(r3.json.result.api.queries[0].reused).toBeNull()
    expect(r3.json.result.api.reusedPages).toBe(0)
  })
})
