import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type UnsettledQuery, unsettledQueries } from '../athena/unsettled.js'
import { exists } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { interruptedChanges, interruptedNote } from '../steps/interrupted.js'
import { type RecordedSweep, type RecordedSweepMatch, readRecordedSweeps } from '../sweep/recorded.js'
import { type CaseMeta, readCaseMeta } from './case-folder.js'
import {
  type Manifest,
  readSealedJson,
  readSealedManifest,
  recordedArtifacts,
  sealedSets,
} from './evidence-store.js'
import { unplacedCaseFiles } from './interrupted-writes.js'
import { type JournalEntry, readCheckedJournal } from './journal.js'
import { caseLockState } from './lock.js'
import { archiveBlockedBy, TIMELINE_HISTORY_DIR, unfinishedArchive } from './timeline-archive.js'
import { findUnsealedSets, type UnsealedSet } from './unsealed-sets.js'

export interface CaseSummary {
  dir: string
  meta: CaseMeta
  journal: { entries: number; changes: CaseChange[] }
  evidence: {
    set: string
    files: number
    bytes: number
    sealed: string
  }[]
  /**
   * The sets snapshots began and never sealed (`evidence/.unfinished-<UTC>/`): never evidence; each
   * with whose it is — a live fir command's, or abandoned, with the command that removes it.
   */
  unsealedSets: UnsealedSet[]
  /** Each sealed snapshot set's findings (its findings.json), oldest set first. */
  findings: SetFindings[]
  /**
   * The current timeline: its event count and findings by level (null when findings.json is not as
   * recorded; a rule's finding on several versions of one eventID counted once), what is not as the
   * journal recorded it (run `fir case verify`, or re-run it), and
   * the records the run that stored it kept beside another record of their eventID with other
   * content (its journal entry's `events.conflicting`: an altered or forged record), or null.
   */
  timeline: {
    events: number | null
    findings: Record<string, number> | null
    problems: string[]
    conflicting: { count: number; ids: string[] } | null
  } | null
  /** Timelines a re-run replaced, kept in timeline/history/ (oldest first), with their event counts. */
  earlierTimelines: { folder: string; events: number | null }[]
  /**
   * A re-run that was interrupted while replacing the timeline (see unfinishedArchive): the files
   * it moved, or journaled moving, to `folder`, which the next command that writes to the case
   * puts back; null when there is none.
   */
  timelineInterrupted: { folder: string; files: string[] } | null
  /** The org sweeps run in this case (fir sweep), oldest first, each with its first matches. */
  sweeps: CaseSweep[]
  /** Athena or Lake queries a timeline sent that may still run on AWS (see unsettledQueries). */
  queriesMaybeRunning: UnsettledQuery[]
  reports: string[]
}

/**
 * A change the journal records, by its outcome entry; a change a run started and journaled no
 * outcome for (interrupted) by its `started` entry, with a note saying so and what finishes it.
 */
export interface CaseChange {
  action: string
  target: string
  outcome: string
  at: string
  /** Set when the outcome is `started`: no outcome was journaled (see interruptedNote). */
  note?: string
}

/**
 * A sweep as `case show` lists it: what the journal and its result file say, and its first
 * {@link SHOWN_SWEEP_MATCHES} matches (`moreMatches` more are in the file). When the file is not
 * the one fir wrote, `fileProblem` says so and no match is shown.
 */
export type CaseSweep = Omit<RecordedSweep, 'matches'> & {
  matches: RecordedSweepMatch[]
  moreMatches: number
}

/** Matches listed per sweep by `case show`: the rest are in the sweep's file. */
export const SHOWN_SWEEP_MATCHES = 20

/** A snapshot set's findings: counts by level (most severe first) and each finding's title. */
export interface SetFindings {
  set: string
  total: number
  byLevel: { level: string; count: number }[]
  items: { level: string; kind: string; title: string; target: string }[]
}

const LEVELS = ['critical', 'high', 'medium', 'low', 'informational']

/**
 * The findings.json of a sealed set, most severe first; refused when changed since it was sealed
 * (readSealedFile: exit 3). Titles and details were written redacted (a secret appears only as
 * ‹redacted…›); printing them escapes and scrubs them again.
 */
async function readSetFindings(
  dir: string,
  set: string,
  setDir: string,
  manifest: Manifest,
): Promise<SetFindings | null> {
  const parsed = await readSealedJson(dir, set, manifest, 'findings.json', setDir)
  if (parsed === undefined) return null
  // Sets sealed by older fir hold the array as {"0": …, "1": …}.
  const list = Array.isArray(parsed)
    ? parsed
    : parsed && typeof parsed === 'object'
      ? Object.values(parsed)
      : []
  const text = (v: unknown) => (typeof v === 'string' ? v : '')
  const items = list
    .filter((f): f is Record<string, unknown> => Boolean(f) && typeof f === 'object')
    .map((f) => ({
      level: text(f.level) || 'unknown',
      kind: text(f.kind),
      title: text(f.title),
      target: text(f.target),
    }))
  const rank = (level: string) => (LEVELS.includes(level) ? LEVELS.indexOf(level) : LEVELS.length)
  items.sort((a, b) => rank(a.level) - rank(b.level))
  const byLevel: SetFindings['byLevel'] = []
  for (const f of items) {
    const row = byLevel.find((r) => r.level === f.level)
    if (row) row.count++
    else byLevel.push({ level: f.level, count: 1 })
  }
  return { set, total: items.length, byLevel, items }
}

const CHANGE_OUTCOMES = new Set(['applied', 'already-applied', 'failed', 'denied', 'undone', 'conflict'])

/**
 * The lines of a file, read as a stream: an account-wide hunt's events.jsonl runs to gigabytes
 * (read whole, it took 14 s and 1.1 GB of memory for 520,000 events, and failed past 2 GiB).
 */
/** The SHA-256 and the number of lines of a file, in one streamed read (a hunt's is gigabytes). */
async function hashAndCountLines(path: string): Promise<{ sha256: string; lines: number }> {
  const hash = createHash('sha256')
  let lines = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer
    hash.update(bytes)
    for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) lines++
  }
  return { sha256: hash.digest('hex'), lines }
}

/** What a timeline's summary.json says of its run: when it started and how many events it kept. */
export async function readTimelineSummaryHead(
  path: string,
): Promise<{ startedAt: string | null; events: number | null }> {
  const summary = await readFile(path, 'utf8')
    .then((t) => JSON.parse(t) as { startedAt?: unknown; events?: { stored?: unknown } })
    .catch(() => undefined)
  const startedAt = summary?.startedAt
  const stored = summary?.events?.stored
  return {
    startedAt: typeof startedAt === 'string' && !Number.isNaN(Date.parse(startedAt)) ? startedAt : null,
    events: typeof stored === 'number' ? stored : null,
  }
}

/** The timelines re-runs replaced, kept in timeline/history/ (oldest first), with their event counts. */
export async function readEarlierTimelines(dir: string): Promise<CaseSummary['earlierTimelines']> {
  const out: CaseSummary['earlierTimelines'] = []
  const historyDir = join(dir, TIMELINE_HISTORY_DIR)
  if (!(await exists(historyDir))) return out
  for (const name of (await readdir(historyDir)).sort()) {
    const { events } = await readTimelineSummaryHead(join(historyDir, name, 'summary.json'))
    out.push({ folder: `${TIMELINE_HISTORY_DIR}/${name}`, events })
  }
  return out
}

/**
 * The records the latest run that stored a timeline kept beside another record of their eventID
 * with other content, as its journal entry says (`events.conflicting`), or null when none.
 */
function conflictingOf(entries: readonly JournalEntry[]): { count: number; ids: string[] } | null {
  const run = [...entries]
    .reverse()
    .find(
      (e) => e.action === 'timeline.collect' && (e.params as { stored?: unknown } | null)?.stored !== false,
    )
  const c = (run?.params as { events?: { conflicting?: { count?: unknown; ids?: unknown } } } | null)?.events
    ?.conflicting
  const count = typeof c?.count === 'number' ? c.count : 0
  if (count <= 0) return null
  return { count, ids: Array.isArray(c?.ids) ? c.ids.map(String) : [] }
}

/** What a case holds, read without the lock (it never writes). */
export async function summariseCase(dir: string): Promise<CaseSummary> {
  const meta = await readCaseMeta(dir)
  const { entries } = await readCheckedJournal(dir)
  const evidence: CaseSummary['evidence'] = []
  const findings: SetFindings[] = []
  for (const ref of sealedSets(entries)) {
    const set = ref.name
    // Only the manifest the journal sealed is shown, and the files it lists as they were sealed: a
    // set gone or changed is refused (exit 3), not shown without its findings. A set a crash left
    // sealed but not yet renamed is read where it is (the next writing command moves it).
    const { manifest: m, dir: setDir } = await readSealedManifest(dir, ref)
    const files = Array.isArray(m.files) ? m.files : []
    evidence.push({
      set,
      files: files.length,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      sealed: m.sealed,
    })
    const found = await readSetFindings(dir, set, setDir, m)
    if (found) findings.push(found)
  }
  const unsealedSets = await findUnsealedSets(dir, entries, await caseLockState(dir))
  let timeline: CaseSummary['timeline'] = null
  // A timeline file a run killed before its rename left in its temporary, which the journal
  // records, is read where it is (the next writing command gives it its name).
  const unplaced = new Map((await unplacedCaseFiles(dir, entries)).map((f) => [f.path, f.temporary]))
  const pathOf = (rel: string) => join(dir, unplaced.get(rel) ?? rel)
  const eventsPath = pathOf('timeline/events.jsonl')
  const recorded = recordedArtifacts(entries)
  // A timeline the journal recorded whose events file is gone is evidence lost, not "none yet".
  if ((await exists(eventsPath)) || recorded.has('timeline/events.jsonl')) {
    // Each file as the journal recorded it: a run killed between its files, or a file changed
    // since, is named rather than read as "no findings".
    const problems: string[] = []
    // Each file read once: hashed (and counted, or parsed) from the same bytes.
    const asRecorded = (rel: string, sha256: string | undefined): boolean => {
      const r = recorded.get(rel)
      if (sha256 === undefined) problems.push(`${rel} is missing`)
      else if (!r) problems.push(`${rel} is not recorded in the journal (a timeline run was interrupted?)`)
      else if (r.sha256 !== sha256) problems.push(`${rel} was changed after fir recorded it`)
      return sha256 !== undefined && r?.sha256 === sha256
    }
    const eventsNow = await hashAndCountLines(eventsPath).catch(() => undefined)
    asRecorded('timeline/events.jsonl', eventsNow?.sha256)
    const events = eventsNow?.lines ?? null
    const findingsBytes = await readFile(pathOf('timeline/findings.json')).catch(() => undefined)
    let findings: Record<string, number> | null = null
    const conflicting = conflictingOf(entries)
    if (findingsBytes && asRecorded('timeline/findings.json', sha256Hex(findingsBytes))) {
      findings = {}
      // Two versions of one eventID are one event: a rule's finding on it counts once (as the report).
      const counted = conflicting ? new Set<string>() : undefined
      try {
        const list = JSON.parse(findingsBytes.toString('utf8')) as {
          level?: string
          rule?: string
          eventId?: string
        }[]
        for (const f of Array.isArray(list) ? list : []) {
          const key = `${f.rule}\u0000${f.level}\u0000${f.eventId}`
          if (counted && f.eventId) {
            if (counted.has(key)) continue
            counted.add(key)
          }
          findings[f.level ?? 'unknown'] = (findings[f.level ?? 'unknown'] ?? 0) + 1
        }
      } catch {
        findings = null
      }
    } else if (!findingsBytes) asRecorded('timeline/findings.json', undefined)
    timeline = { events, findings, problems, conflicting }
  }
  const earlierTimelines = await readEarlierTimelines(dir)
  // One the next writing command puts back (not one a file the run never journaled blocks).
  const archive = unfinishedArchive(entries)
  const interrupted = archive && !(await archiveBlockedBy(dir, archive)) ? archive : undefined
  const sweeps = (await readRecordedSweeps(dir, entries)).map(({ matches, ...rest }) => ({
    ...rest,
    matches: matches.slice(0, SHOWN_SWEEP_MATCHES),
    moreMatches: Math.max(0, matches.length - SHOWN_SWEEP_MATCHES),
  }))
  // A change cut off between its `started` entry and its outcome is listed too: it may be in force.
  const cutOff = new Set(interruptedChanges(entries))
  const reportsDir = join(dir, 'reports')
  const reports = (await exists(reportsDir))
    ? (await readdir(reportsDir)).filter((f) => !f.startsWith('.'))
    : []
  return {
    dir,
    meta,
    journal: {
      entries: entries.length,
      changes: entries
        .filter((e) => CHANGE_OUTCOMES.has(e.outcome) || cutOff.has(e))
        .map((e) => ({
          action: e.action,
          target: e.target,
          outcome: e.outcome,
          at: e.at,
          ...(cutOff.has(e) ? { note: interruptedNote(e, dir) } : {}),
        })),
    },
    evidence,
    unsealedSets,
    findings,
    timeline,
    earlierTimelines,
    timelineInterrupted: interrupted
      ? { folder: interrupted.folder, files: interrupted.moves.map((m) => m.from) }
      : null,
    sweeps,
    queriesMaybeRunning: unsettledQueries(entries),
    reports,
  }
}
