/**
 * What each run of the api source asked LookupEvents, and the reuse of the pages an earlier run
 * stored and did not finish (DESIGN §5: a broken pagination is resumed without losing the pages
 * already fetched — across runs too: a run killed after N pages leaves them in the case, and the
 * next run goes on from there instead of fetching them again at 2 requests/s).
 *
 * - Each run writes `timeline/raw/<run>/lookup.json` (write-once, journaled) before its first page:
 *   the window every query of the run is sent with, whether its start was counted back from the
 *   run's time, when its queries started, and fir's version. Its pages are named after their query
 *   and number (pageFile: one name for one query and page, and the reverse), journaled with their
 *   hash as they are stored; follow-up queries need no record of their own.
 * - A later run, for each query it plans, takes the newest earlier run that stored pages of it for
 *   the same window (see sameQuery). Its pages are reused when that run did not finish the query
 *   (the last page has a NextToken) or did not finish at all (interrupted: no `timeline.collect`
 *   entry names its folder), and every page still matches the hash the journal recorded (else the
 *   query is fetched from the start). The pagination goes on from the last page's NextToken, sent
 *   with the window it came from (AWS takes a token only with the query it came from); a window
 *   with no end is asked again from a little before the earlier run's start (the top-up:
 *   LookupEvents returns newest first, so what happened since is in none of the earlier pages).
 *   An earlier run's wider window (an older start counted back from its time) is paged on only
 *   until a page is all older than this run's start: its last page keeps its NextToken, so a later
 *   run of the wider window goes on from there rather than take the query for finished.
 *   Duplicates are merged by eventID.
 * - A run that reuses an earlier run's pages of a query writes `resume-<query>.json` (journaled)
 *   before its own first page of it: which run's pages 1–k its own go on from, so a run
 *   interrupted twice is resumed from both, and a run after it that finished sees the query done.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LookupPage } from '../../aws/cloudtrail.js'
import { IntegrityError } from '../../errors.js'
import { recordedArtifacts, safeSegment } from '../case/evidence-store.js'
import type { JournalEntry } from '../case/journal.js'
import { sha256Hex } from '../common/hash.js'
import { type PlannedQuery, pageOlderThan } from './sources/api.js'

/** The record of what a run asked: `timeline/raw/<run>/lookup.json`. */
export const LOOKUP_RECORD = 'lookup.json'

/**
 * How far before an earlier run's queries started its top-up asks again: LookupEvents shows an
 * event some minutes after the call (typically within 5, but AWS promises no bound), so the newest
 * page then missed some. 15 minutes, as trail files' delivery margin: about one page more a query.
 */
export const TOP_UP_MARGIN_MS = 15 * 60_000

/** timeline/raw/<run>/lookup.json. */
export interface LookupRunRecord {
  /** The StartTime and EndTime every query of the run is sent with (null: none sent). */
  window: { start: string | null; end: string | null }
  /**
   * The start was counted back from the run's time (a relative or default --since, or LookupEvents'
   * 90 days), not given as a time: a later run's start is later, and an earlier run's pages hold
   * all of its window.
   */
  startFollowsNow: boolean
  /** When the run sent its first query (AWS's clock as fir knows it). */
  queriesStartedAt: string
  fir: string
}

/** timeline/raw/<run>/resume-<query>.json: the run's pages of the query continue another run's. */
export interface ResumeRecord {
  query: { region: string; attribute: { key: string; value: string } | null }
  /** The run folder (`timeline/raw/<run>`) whose pages 1 to `pages` this run's pages continue. */
  from: string
  pages: number
}

/** The window a run sends, in milliseconds. */
export interface SentWindow {
  start: number | null
  end: number | null
  startFollowsNow: boolean
}

function queryLabel(q: PlannedQuery): string {
  return `${q.region}-${q.attribute ? `${q.attribute.key}-${q.attribute.value}` : 'all'}`
}

/**
 * A page's file name: `<region>-<key>-<value>-NNNN.json` (`<region>-all-NNNN.json` without an
 * attribute), made safe (safeSegment). Distinct queries and pages get distinct names: a region has
 * no key's form, a key no `-`, and the page is the digits after the last `-`.
 */
export function pageFile(q: PlannedQuery, n: number): string {
  return `${safeSegment(`${queryLabel(q)}-${String(n).padStart(4, '0')}`)}.json`
}

/** A top-up page's file name (`topup-…`: no region begins so, so no page of a query is named so). */
export function topUpFile(q: PlannedQuery, n: number): string {
  return `${safeSegment(`topup-${queryLabel(q)}-${String(n).padStart(4, '0')}`)}.json`
}

/** The resume record's file name for a query (`resume-…`). */
export function resumeFile(q: PlannedQuery): string {
  return `${safeSegment(`resume-${queryLabel(q)}`)}.json`
}

/** An earlier run of the api source: its folder, its record, and whether it finished. */
export interface LookupRun {
  /** `timeline/raw/<run>`. */
  folder: string
  record: LookupRunRecord
  /** A `timeline.collect` entry names its folder: the run ended (an interrupted one has none). */
  finished: boolean
  /**
   * The journal's seq of its lookup.json: runs in the order they started (their times come from
   * a clock AWS's Date headers correct, which can put a later run a little before an earlier one).
   */
  seq: number
}

/**
 * The earlier runs of the api source in the case, newest first: folders of timeline/raw/ with a
 * lookup.json the journal records with its hash (`exclude`: this run's). `problems` names each
 * lookup.json that does not match (its run's pages are not reused).
 */
export async function earlierLookupRuns(
  caseDir: string,
  entries: readonly JournalEntry[],
  rawRoot: string,
  exclude: string,
): Promise<{ runs: LookupRun[]; artifacts: Map<string, { sha256: string }>; problems: string[] }> {
  const artifacts = recordedArtifacts(entries)
  const finished = new Set<string>()
  const seqs = new Map<string, number>()
  for (const e of entries) {
    const folder = e.params?.rawFolder
    if (e.action === 'timeline.collect' && typeof folder === 'string') finished.add(folder)
    if (e.action === 'case.artifact' && typeof e.params?.path === 'string') seqs.set(e.params.path, e.seq)
  }
  const runs: LookupRun[] = []
  const problems: string[] = []
  const names = await readdir(join(caseDir, rawRoot), { withFileTypes: true }).catch(() => [])
  for (const d of names) {
    const folder = `${rawRoot}/${d.name}`
    if (!d.isDirectory() || folder === exclude) continue
    const rel = `${folder}/${LOOKUP_RECORD}`
    if (!artifacts.has(rel)) continue
    const read = await readRecorded(caseDir, artifacts, rel)
    const record = 'bytes' in read ? parseRunRecord(read.bytes) : undefined
    if (!record) {
      problems.push(
        `${rel} ${'problem' in read ? read.problem : 'is not a record fir wrote'}: that run's pages are not reused`,
      )
      continue
    }
    runs.push({ folder, record, finished: finished.has(folder), seq: seqs.get(rel) ?? 0 })
  }
  runs.sort((a, b) => b.seq - a.seq)
  return { runs, artifacts, problems }
}

function parseRunRecord(bytes: Buffer): LookupRunRecord | undefined {
  try {
    const r = JSON.parse(bytes.toString('utf8')) as LookupRunRecord
    const time = (v: unknown) => v === null || (typeof v === 'string' && !Number.isNaN(Date.parse(v)))
    if (
      r &&
      typeof r.window === 'object' &&
      time(r.window.start) &&
      time(r.window.end) &&
      typeof r.startFollowsNow === 'boolean' &&
      typeof r.queriesStartedAt === 'string' &&
      !Number.isNaN(Date.parse(r.queriesStartedAt))
    )
      return r
  } catch {
    // not JSON: not a record
  }
  return undefined
}

/** A file the journal records, read and checked against the recorded hash. */
async function readRecorded(
  caseDir: string,
  artifacts: Map<string, { sha256: string }>,
  rel: string,
): Promise<{ bytes: Buffer } | { problem: string }> {
  const recorded = artifacts.get(rel)
  if (!recorded) return { problem: 'is not recorded in the journal' }
  let bytes: Buffer
  try {
    bytes = await readFile(join(caseDir, rel))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return {
      problem: code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? (err as Error).message})`,
    }
  }
  if (sha256Hex(bytes) !== recorded.sha256)
    return { problem: 'does not match the hash the journal recorded (changed since it was stored)' }
  return { bytes }
}

/** Pages an earlier run stored of a query, to reuse instead of fetching them again. */
export interface Reuse {
  /**
   * Pages 1 to k of the query, in order: the files (read one at a time as they are fed, with
   * readReusedPage: a long hunt's pages are not all held in memory) and their hashes as checked.
   */
  pages: { rel: string; sha256: string }[]
  /** The run folders they are in, oldest first, with how many pages each holds. */
  from: { folder: string; pages: number }[]
  /** Page k's token: where the pagination goes on (absent: the query had ended). */
  nextToken?: string
  /** The window the pagination was sent with (a NextToken is taken only with its own query). */
  window: { start?: Date; end?: Date }
  /** The window had no end: events since this time are asked again (the top-up). */
  topUpFrom?: Date
  /**
   * That window started earlier than this run's (a wider query, see sameQuery): the pagination goes
   * on only until a page whose events are all older than `start`, this run's start — what follows
   * is outside this run's window, and is left to a run of that window (the last page keeps its
   * NextToken: such a run goes on from it). `reached`: a reused page already is.
   */
  olderThan?: { start: Date; reached: boolean }
}

/** What an earlier run's pages of a query are to this run. */
export type ReuseDecision =
  | { kind: 'none' }
  | { kind: 'reuse'; reuse: Reuse }
  /** Pages an earlier run stored are not reused, and why (`changed`: a page or record failed its check). */
  | { kind: 'refused'; reason: string; changed: boolean }

/**
 * How much later an earlier run's start counted back from its time may be than this run's and
 * still serve it: "now" is local time corrected by AWS's Date headers, which give whole seconds,
 * so a run's now can fall a little before an earlier run's.
 */
const START_SLACK_MS = 60_000

/**
 * Whether pages of a run that sent `earlier` serve this run's `now`: the same end (none, or the same
 * time), and the same start — or, both counted back from their run's time, the earlier run's start
 * no later, give or take the clock (its pages hold all of this window; what is before it is left
 * out as outside the window, and its pagination is gone on only down to this window's start: see
 * Reuse.olderThan). A start or end given as a time and changed is another query.
 */
export function sameQuery(earlier: LookupRunRecord, now: SentWindow): boolean {
  const ms = (v: string | null) => (v === null ? null : Date.parse(v))
  const start = ms(earlier.window.start)
  if (ms(earlier.window.end) !== now.end) return false
  if (start === now.start) return true
  return (
    earlier.startFollowsNow &&
    now.startFollowsNow &&
    start !== null &&
    now.start !== null &&
    start <= now.start + START_SLACK_MS
  )
}

/**
 * The pages of `q` this run can reuse (see the module's comment): from the newest earlier run that
 * stored pages of it for the same window (following its resume record to the runs it continued),
 * unless that run finished the query. A page or record that fails its check refuses the reuse.
 */
export async function planReuse(
  caseDir: string,
  runs: readonly LookupRun[],
  artifacts: Map<string, { sha256: string }>,
  q: PlannedQuery,
  window: SentWindow,
): Promise<ReuseDecision> {
  const byFolder = new Map(runs.map((r) => [r.folder, r]))
  let otherWindow: string | undefined
  for (const run of runs) {
    if (!artifacts.has(`${run.folder}/${pageFile(q, 1)}`) && !artifacts.has(`${run.folder}/${resumeFile(q)}`))
      continue
    const links = await linksOf(caseDir, byFolder, artifacts, q, run)
    if ('problem' in links) return { kind: 'refused', reason: links.problem, changed: true }
    // The run whose window the pagination was sent with: the first.
    const root = links[0]!.run
    if (!sameQuery(root.record, window)) {
      otherWindow ??= `${root.folder} asked for another window (${root.record.window.start ?? 'no start'} to ${root.record.window.end ?? 'no end'})`
      continue
    }
    const pages: Reuse['pages'] = []
    const from: Reuse['from'] = []
    let nextToken: string | undefined
    const start = root.record.window.start
    const end = root.record.window.end
    // sameQuery lets an earlier start through only counted back from its run's time (a minute of
    // clock aside): this run's is the later.
    const wider = start !== null && window.start !== null && Date.parse(start) < window.start
    let reached = false
    for (const link of links) {
      const got = await pagesOf(caseDir, artifacts, q, link, wider ? window.start! : undefined)
      if ('problem' in got) return { kind: 'refused', reason: got.problem, changed: true }
      reached ||= got.reached
      pages.push(...got.pages)
      if (got.pages.length > 0) {
        from.push({ folder: link.run.folder, pages: got.pages.length })
        nextToken = got.nextToken
      }
    }
    if (pages.length === 0 || (!nextToken && run.finished)) return { kind: 'none' }
    const topUpFrom =
      end === null
        ? new Date(Math.max(Date.parse(root.record.queriesStartedAt) - TOP_UP_MARGIN_MS, window.start ?? 0))
        : undefined
    return {
      kind: 'reuse',
      reuse: {
        pages,
        from,
        ...(nextToken ? { nextToken } : {}),
        window: { ...(start ? { start: new Date(start) } : {}), ...(end ? { end: new Date(end) } : {}) },
        ...(topUpFrom ? { topUpFrom } : {}),
        ...(wider ? { olderThan: { start: new Date(window.start!), reached } } : {}),
      },
    }
  }
  return otherWindow ? { kind: 'refused', reason: otherWindow, changed: false } : { kind: 'none' }
}

/** A run's part of a query's pages: from `first` to `upTo` (absent: as far as it stored). */
interface Link {
  run: LookupRun
  first: number
  upTo?: number
}

/**
 * The runs whose pages make up `run`'s pages of `q` from page 1, oldest first: the runs its
 * resume record names (each record checked against the journal), then its own.
 */
async function linksOf(
  caseDir: string,
  byFolder: Map<string, LookupRun>,
  artifacts: Map<string, { sha256: string }>,
  q: PlannedQuery,
  run: LookupRun,
  upTo?: number,
): Promise<Link[] | { problem: string }> {
  const resumeRel = `${run.folder}/${resumeFile(q)}`
  if (!artifacts.has(resumeRel)) return [{ run, first: 1, ...(upTo !== undefined ? { upTo } : {}) }]
  const read = await readRecorded(caseDir, artifacts, resumeRel)
  if ('problem' in read) return { problem: `${resumeRel} ${read.problem}` }
  const record = parseResume(read.bytes, q)
  const prev = record ? byFolder.get(record.from) : undefined
  // Only an older run can be continued: no loop.
  if (!record || !prev || prev.seq >= run.seq)
    return { problem: `${resumeRel} names no earlier run whose pages are there to reuse` }
  const earlier = await linksOf(caseDir, byFolder, artifacts, q, prev, record.pages)
  if ('problem' in earlier) return earlier
  return [...earlier, { run, first: record.pages + 1, ...(upTo !== undefined ? { upTo } : {}) }]
}

/**
 * A link's pages, each checked against the hash the journal recorded, and the last one's token;
 * `reached`: one of them is all older than `olderThan` (see pageOlderThan).
 */
async function pagesOf(
  caseDir: string,
  artifacts: Map<string, { sha256: string }>,
  q: PlannedQuery,
  link: Link,
  olderThan?: number,
): Promise<{ pages: Reuse['pages']; nextToken?: string; reached: boolean } | { problem: string }> {
  const pages: Reuse['pages'] = []
  let nextToken: string | undefined
  let reached = false
  for (let n = link.first; link.upTo === undefined || n <= link.upTo; n++) {
    const rel = `${link.run.folder}/${pageFile(q, n)}`
    if (!artifacts.has(rel)) {
      if (link.upTo === undefined) break
      return { problem: `${rel} is not recorded in the journal (a later run went on from page ${link.upTo})` }
    }
    const read = await readRecorded(caseDir, artifacts, rel)
    if ('problem' in read) return { problem: `${rel} ${read.problem}` }
    const page = parsePage(read.bytes)
    if (!page) return { problem: `${rel} is not a LookupEvents page` }
    pages.push({ rel, sha256: artifacts.get(rel)!.sha256 })
    nextToken = page.nextToken
    if (olderThan !== undefined) reached ||= pageOlderThan(page, olderThan)
  }
  return { pages, ...(nextToken ? { nextToken } : {}), reached }
}

/**
 * A reused page, read to be fed: checked again against the hash planReuse checked (the case lock
 * keeps other fir runs out, not an editor), a mismatch being an IntegrityError.
 */
export async function readReusedPage(caseDir: string, page: Reuse['pages'][number]): Promise<LookupPage> {
  const read = await readRecorded(caseDir, new Map([[page.rel, page]]), page.rel)
  const parsed = 'bytes' in read ? parsePage(read.bytes) : undefined
  if (!parsed)
    throw new IntegrityError(
      `unable to reuse ${page.rel}: it ${'problem' in read ? read.problem : 'is not a LookupEvents page'} while this run read it`,
      {
        actions: [
          'run `fir case verify`, then the timeline again (the query is then fetched from the start)',
        ],
      },
    )
  return parsed
}

function parseResume(bytes: Buffer, q: PlannedQuery): ResumeRecord | undefined {
  try {
    const r = JSON.parse(bytes.toString('utf8')) as ResumeRecord
    const sameAttribute =
      (r.query?.attribute ?? null) === null
        ? !q.attribute
        : r.query.attribute?.key === q.attribute?.key && r.query.attribute?.value === q.attribute?.value
    if (
      typeof r.from === 'string' &&
      Number.isInteger(r.pages) &&
      r.pages >= 1 &&
      r.query?.region === q.region &&
      sameAttribute
    )
      return r
  } catch {
    // not JSON: not a record
  }
  return undefined
}

/** A page as stored (the body LookupEvents answered: `{"Events":[…],"NextToken":…}`). */
function parsePage(bytes: Buffer): LookupPage | undefined {
  try {
    const body = JSON.parse(bytes.toString('utf8')) as { Events?: unknown; NextToken?: unknown }
    if (!body || !Array.isArray(body.Events)) return undefined
    return {
      raw: bytes,
      events: body.Events as LookupPage['events'],
      ...(typeof body.NextToken === 'string' && body.NextToken !== '' ? { nextToken: body.NextToken } : {}),
    }
  } catch {
    return undefined
  }
}
