import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { verifyCase } from '../../../src/core/case/verify.js'
import { collectTimeline, type TimelineOptions } from '../../../src/core/timeline/collect.js'
import { renderTimelineSummary } from '../../../src/core/timeline/summary-text.js'
import { type LookupEventsServer, startLookupEvents } from '../../support/lookup-events-server.js'
import { generateCorpus } from '../../support/trail-generator.js'
import { timelineContext } from './context.js'

// A query the stand-in stops (failAfter) ends at once with a gap, as an interrupted run's would
// (read when api.ts loads: set before the imports).
const saved = vi.hoisted(() => {
  const retries = process.env.FIR_LOOKUP_FAULT_RETRIES
  process.env.FIR_LOOKUP_FAULT_RETRIES = '0'
  return { retries, rate: process.env.FIR_LOOKUP_RATE }
})

const now = Date.now()
const target = { functionName: 'orders-api', roleName: 'orders-api-role', region: 'eu-west-1' }
const corpus = generateCorpus({
  seed: 23,
  records: 700,
  start: new Date(now - 86_400_000),
  end: new Date(now - 3_600_000),
  target,
  related: 260,
  regions: ['eu-west-1', 'us-east-1'],
})
const roleArn = `arn:aws:iam::${corpus.account}:role/orders-api-role`
/** The function's timeline from the api source: several queries a region, follow-ups too. */
const fn: TimelineOptions = { function: 'orders-api', roles: [roleArn], sources: ['api'], since: '2d' }
/** An account-wide hunt of eu-west-1 (one query). */
const hunt: TimelineOptions = { sources: ['api'], regions: 'eu-west-1', since: '2d' }
const inRegion = corpus.records.filter((r) => r.awsRegion === 'eu-west-1').map((r) => r.eventID as string)
const inRegionTimes = () =>
  corpus.records.filter((r) => r.awsRegion === 'eu-west-1').map((r) => Date.parse(r.eventTime))
const servers: LookupEventsServer[] = []

beforeAll(() => {
  process.env.FIR_LOOKUP_RATE = '150'
})
afterEach(async () => {
  delete process.env.AWS_ENDPOINT_URL_CLOUDTRAIL
  for (const s of servers.splice(0)) await s.stop()
})
afterAll(() => {
  for (const [key, value] of [
    ['FIR_LOOKUP_FAULT_RETRIES', saved.retries],
    ['FIR_LOOKUP_RATE', saved.rate],
  ] as const) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
})

async function standIn(failAfterPages?: number) {
  const s = await startLookupEvents(corpus.records, { rate: 200, burst: 200, failAfterPages })
  servers.push(s)
  process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = s.endpoint
  return s
}

const storedIds = async (dir: string) =>
  new Set(
    (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id as string),
  )

/** The pages the stand-in served of each query as sent (region, attribute, window), in order. */
const served = (s: LookupEventsServer) =>
  [...s.stats.values()].flatMap((st) =>
    [...st.pagesByQuery.entries()].map(([fingerprint, pages]) => ({
      query: JSON.parse(fingerprint) as [string, string | null, string | null, number | null, number | null],
      pages,
    })),
  )

describe('fir timeline --source api reuses the pages of an earlier run that did not finish', () => {
  it('goes on from where two runs stopped (a chain of three), fetching no page twice, and stores what an unbroken run does', async () => {
    const unbroken = await (async () => {
      await standIn()
      const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
      await collectTimeline(ctx, fn)
      return storedIds(dir)
    })()
    const s = await standIn(1)
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const first = await collectTimeline(ctx, fn)
    expect(first.summary.gaps.length).toBeGreaterThan(0)
    s.failAfter(2)
    const second = await collectTimeline(ctx, fn)
    const chained = second.summary.api!.queries.filter((q) => q.reused)
    // Before: nothing was reused (no such field), every query asked from its first page again.
    expect(chained.length).toBeGreaterThan(0)
    for (const q of chained) {
      expect(q.reused).toMatchObject({ pages: 1, from: [{ folder: first.summary.outputs.raw, pages: 1 }] })
      expect(q.reused!.topUp).not.toBeNull()
    }
    expect(
      second.summary.gaps.some((g) => /pages 1-2 kept, 1 of them reused from an earlier run/.test(g.what)),
    ).toBe(true)
    s.failAfter(undefined)
    const third = await collectTimeline(ctx, fn)
    expect(third.summary.gaps).toEqual([])
    const twice = third.summary.api!.queries.filter((q) => q.reused?.from.length === 2)
    expect(twice.length).toBeGreaterThan(0)
    for (const q of twice)
      expect(q.reused!.from).toEqual([
        { folder: first.summary.outputs.raw, pages: 1 },
        { folder: second.summary.outputs.raw, pages: 1 },
      ])
    expect(third.summary.api!.reusedPages).toBe(
      third.summary.api!.queries.reduce((n, q) => n + (q.reused?.pages ?? 0), 0),
    )
    // Each pagination the stand-in served went page by page from the first: none asked twice (the
    // top-ups, from shortly before the first run, are asked again by each run that reuses its pages).
    const paginations = served(s).filter(({ query }) => query[3]! < (now - 86_400_000) / 1000)
    expect(paginations.length).toBeGreaterThan(0)
    for (const { pages } of paginations) expect(pages).toEqual(pages.map((_, i) => i))
    expect(await storedIds(dir)).toEqual(unbroken)
    expect((await verifyCase(dir)).problems).toEqual([])
    // The third run's folder says, of each query whose pages it went on from, which run's.
    const folder = join(dir, third.summary.outputs.raw!)
    const records = await Promise.all(
      (await readdir(folder))
        .filter((f) => f.startsWith('resume-'))
        .map(async (f) => JSON.parse(await readFile(join(folder, f), 'utf8'))),
    )
    expect(records.length).toBe(third.summary.api!.queries.filter((q) => q.reused).length)
    for (const q of twice) {
      const [key, value] = q.attribute!.split(/=(.*)/s)
      expect(records).toContainEqual({
        query: { region: q.region, attribute: { key, value } },
        from: second.summary.outputs.raw,
        pages: 2,
      })
    }
  })

  it('does not reuse a page changed since it was stored, and says so', async () => {
    const s = await standIn(3)
    const { ctx, dir, lines } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const first = await collectTimeline(ctx, hunt)
    s.failAfter(undefined)
    const page = join(dir, first.summary.outputs.raw!, 'eu-west-1-all-0002.json')
    await writeFile(page, (await readFile(page, 'utf8')).replace(/"EventId":"[^"]+"/, '"EventId":"forged"'))
    const second = await collectTimeline(ctx, hunt)
    const q = second.summary.api!.queries[0]!
    expect(q.notReused).toBe(
      `the pages an earlier run stored of LookupEvents in eu-west-1 (every event) were not reused: ${first.summary.outputs.raw}/eu-west-1-all-0002.json does not match the hash the journal recorded (changed since it was stored); the query was fetched again from the start`,
    )
    expect(lines).toContain(`warning: ${q.notReused}`)
    expect(q.reused).toBeNull()
    // Its own window, from the first page.
    const own = served(s).filter(({ query }) => query[3] !== served(s)[0]!.query[3])
    expect(own.map(({ pages }) => pages[0])).toEqual([0])
    expect(await storedIds(dir)).toEqual(new Set(inRegion))
  })

  it('fetches a query from the start when LookupEvents refuses the earlier run’s token, and says so', async () => {
    const s = await standIn(3)
    const { ctx, dir, lines } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const first = await collectTimeline(ctx, hunt)
    s.failAfter(undefined)
    s.expireTokens()
    const second = await collectTimeline(ctx, hunt)
    const q = second.summary.api!.queries[0]!
    expect(q.notReused).toBe(
      `LookupEvents in eu-west-1 (every event) refused the NextToken of page 3 stored in ${first.summary.outputs.raw}/ (InvalidNextTokenException: a token expires): the query was fetched again from the start`,
    )
    expect(lines).toContain(`warning: ${q.notReused}`)
    expect(q.reused).toBeNull()
    expect(second.summary.gaps).toEqual([])
    expect(s.regionStats('eu-west-1').errors).toBe(1)
    expect(await storedIds(dir)).toEqual(new Set(inRegion))
    expect((await verifyCase(dir)).problems).toEqual([])
  })

  it('reuses pages of the same window only: a window given as times and changed is another query; one with an end needs no top-up', async () => {
    const s = await standIn(3)
    const { ctx, dir, lines } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const since = new Date(now - 2 * 86_400_000).toISOString()
    const until = new Date(now - 1_800_000).toISOString()
    const first = await collectTimeline(ctx, { ...hunt, since, until })
    // Another start, stopped too: the newest run's pages, of another query.
    const later = new Date(now - 30 * 3_600_000).toISOString()
    const other = await collectTimeline(ctx, { ...hunt, since: later, until })
    expect(other.summary.api!.queries[0]!.notReused).toBe(
      `the pages an earlier run stored of LookupEvents in eu-west-1 (every event) were not reused: ${first.summary.outputs.raw} asked for another window (${since} to ${until}); the query was fetched again from the start`,
    )
    expect(other.summary.api!.queries[0]!.reused).toBeNull()
    expect(lines.filter((l) => l.startsWith('warning: the pages'))).toEqual([])
    s.failAfter(undefined)
    const again = await collectTimeline(ctx, { ...hunt, since, until })
    expect(again.summary.api!.queries[0]!.reused).toEqual({
      pages: 3,
      events: 150,
      from: [{ folder: first.summary.outputs.raw, pages: 3 }],
      topUp: null,
      stoppedAt: null,
    })
    const sameWindow = served(s).find(({ query }) => query[3] === Date.parse(since) / 1000)!
    expect(sameWindow.pages).toEqual(sameWindow.pages.map((_, i) => i))
    const inWindow = corpus.records
      .filter((r) => r.awsRegion === 'eu-west-1' && Date.parse(r.eventTime) >= Date.parse(since))
      .map((r) => r.eventID as string)
    expect(await storedIds(dir)).toEqual(new Set(inWindow))
    expect(
      (await readdir(join(dir, again.summary.outputs.raw!))).filter((f) => f.startsWith('topup-')),
    ).toEqual([])
  })
})

describe('fir timeline --source api resumes a wider window only as far as its own', () => {
  it('goes on with an earlier, wider run’s pagination only down to the new start, and a later wide run goes on from there', async () => {
    const s = await standIn(1)
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const wide = await collectTimeline(ctx, hunt)
    s.failAfter(undefined)
    const narrow = await collectTimeline(ctx, { ...hunt, since: '5h' })
    const start = Date.parse(narrow.summary.window.since!)
    // The stand-in's order (newest first): the first page all older than the start ends the walk.
    const times = inRegionTimes().sort((a, b) => b - a)
    const lastPage = Math.ceil(times.findIndex((t) => t < start) / 50)
    const allPages = Math.ceil(times.length / 50)
    expect(lastPage).toBeGreaterThan(1)
    expect(lastPage).toBeLessThan(allPages - 2)
    const wideQuery = () => served(s).find(({ query }) => query[3] === served(s)[0]!.query[3])!
    // Before: the 2-day query was paged to its end (pages 0 to allPages - 1).
    expect(wideQuery().pages).toEqual([...Array(lastPage + 1).keys()])
    const q = narrow.summary.api!.queries[0]!
    expect(q.reused).toMatchObject({
      pages: 1,
      from: [{ folder: wide.summary.outputs.raw, pages: 1 }],
      stoppedAt: { start: new Date(start).toISOString(), page: lastPage + 1 },
    })
    expect(narrow.summary.gaps).toEqual([])
    expect(renderTimelineSummary(narrow.summary, [])).toContain(
      "(1 asked again since shortly before that run, for what happened since; 1 of a wider window gone on with only down to this window's start, the rest of it not asked)",
    )
    const inWindow = times.filter((t) => t >= start).length
    expect((await storedIds(dir)).size).toBe(inWindow)
    // The wide window again: the query is not taken as finished, it goes on after the narrow run's
    // last page, and every page of it was served once.
    const again = await collectTimeline(ctx, hunt)
    expect(again.summary.api!.queries[0]!.reused).toMatchObject({
      pages: lastPage + 1,
      from: [
        { folder: wide.summary.outputs.raw, pages: 1 },
        { folder: narrow.summary.outputs.raw, pages: lastPage },
      ],
      stoppedAt: null,
    })
    expect(wideQuery().pages).toEqual([...Array(allPages).keys()])
    expect(await storedIds(dir)).toEqual(new Set(inRegion))
    expect((await verifyCase(dir)).problems).toEqual([])
  })

  it('does not go on at all when a reused page is already older than the new start', async () => {
    const s = await standIn(3)
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    await collectTimeline(ctx, hunt)
    s.failAfter(undefined)
    const narrow = await collectTimeline(ctx, { ...hunt, since: '90m' })
    const start = Date.parse(narrow.summary.window.since!)
    const wideQuery = served(s).find(({ query }) => query[3] === served(s)[0]!.query[3])!
    expect(wideQuery.pages).toEqual([0, 1, 2])
    expect(narrow.summary.api!.queries[0]!.reused).toMatchObject({ pages: 3, stoppedAt: { page: 3 } })
    const inWindow = inRegionTimes().filter((t) => t >= start).length
    expect((await storedIds(dir)).size).toBe(inWindow)
  })
})
