import { lstat, readdir, rename, rmdir } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { ensureDir, fsyncDir } from '../common/fs-safe.js'
import { sha256File } from '../common/hash.js'
import { recordedArtifacts } from './evidence-store.js'
import type { Journal, JournalEntry } from './journal.js'

/** Where a timeline re-run moves the timeline it replaces (`timeline/history/<its start>/`). */
export const TIMELINE_HISTORY_DIR = 'timeline/history'

/** The files of the case's current timeline: a re-run moves them to TIMELINE_HISTORY_DIR first. */
export const TIMELINE_FILES: readonly string[] = [
  'timeline/events.jsonl',
  'timeline/findings.json',
  'timeline/summary.json',
]

const TIMELINE_NAMES = new Set(TIMELINE_FILES.map((f) => posix.basename(f)))

/** One file a re-run moved aside, as journaled (`case.artifact` with `movedFrom`). */
export interface TimelineMove {
  from: string
  to: string
  sha256: string
  bytes: number
}

/**
 * The latest archive of the timeline (the moves a re-run journaled into one timeline/history/
 * folder) when no timeline file was recorded after it: the run that moved the earlier timeline
 * aside stopped (killed, or failed) before it put a timeline of its own in place. Undefined when
 * the latest archive was followed by a timeline, or there is none. A run journals each file of its
 * own before renaming it into place: a file recorded after the archive may still be in its
 * temporary, which the next open of the case renames (completeInterruptedWrites, before
 * finishInterruptedTimelineMoves), so the archive is followed all the same and stays.
 */
export function unfinishedArchive(
  entries: readonly JournalEntry[],
): { folder: string; moves: TimelineMove[] } | undefined {
  let last: { folder: string; moves: TimelineMove[]; followed: boolean } | undefined
  for (const e of entries) {
    const p = e.params ?? {}
    if (e.action !== 'case.artifact' || typeof p.path !== 'string') continue
    const from = p.movedFrom
    if (typeof from === 'string' && TIMELINE_FILES.includes(from) && isHistoryFile(p.path)) {
      const folder = posix.dirname(p.path)
      if (!last || last.folder !== folder || last.followed) last = { folder, moves: [], followed: false }
      last.moves.push({ from, to: p.path, sha256: String(p.sha256 ?? ''), bytes: Number(p.bytes ?? 0) })
    } else if (last && TIMELINE_FILES.includes(p.path)) {
      last.followed = true
    }
  }
  return last && !last.followed ? { folder: last.folder, moves: last.moves } : undefined
}

/** `timeline/history/<folder>/<a timeline file's name>`. */
function isHistoryFile(rel: string): boolean {
  const parts = rel.split('/')
  return (
    parts.length === 4 &&
    `${parts[0]}/${parts[1]}` === TIMELINE_HISTORY_DIR &&
    !parts[2]!.startsWith('.') &&
    TIMELINE_NAMES.has(parts[3]!)
  )
}

/** A recorded timeline file that is not where the journal records it, but whose bytes are at `at`. */
export interface MisplacedFile {
  path: string
  at: string
}

/** A file of timeline/ no entry records that holds a version of a timeline file the journal recorded. */
export interface TimelineCopy {
  path: string
  of: string
  seq: number
}

/**
 * The timeline files where a timeline re-run interrupted while moving them left them:
 * `misplaced`, recorded files missing where the journal records them whose very bytes (the same
 * SHA-256) are in a file of timeline/ or timeline/history/<folder>/ that no entry records; and,
 * with `copies`, the other such unrecorded files that hold a version of a timeline file the
 * journal once recorded (an earlier fir moved files before journaling the move, and a run killed
 * between the two left them so). Only files named as the timeline's are hashed, and only those no
 * entry records: none, unless a run was interrupted (or someone put files there).
 */
export async function findMisplacedTimelineFiles(
  caseDir: string,
  entries: readonly JournalEntry[],
  options: { copies?: boolean } = {},
): Promise<{ misplaced: MisplacedFile[]; copies: TimelineCopy[] }> {
  const recorded = recordedArtifacts(entries)
  const isTimelineFile = (rel: string) => TIMELINE_FILES.includes(rel) || isHistoryFile(rel)
  const missing: [string, string][] = []
  for (const [rel, want] of recorded) {
    if (isTimelineFile(rel) && !(await lstat(join(caseDir, rel)).catch(() => undefined)))
      missing.push([rel, want.sha256])
  }
  const out = { misplaced: [] as MisplacedFile[], copies: [] as TimelineCopy[] }
  if (missing.length === 0 && !options.copies) return out
  const unrecorded: { rel: string; sha256?: string }[] = []
  for (const rel of await timelineFilesOnDisk(caseDir)) if (!recorded.has(rel)) unrecorded.push({ rel })
  if (unrecorded.length === 0) return out
  const hashOf = async (c: { rel: string; sha256?: string }) =>
    (c.sha256 ??= (await sha256File(join(caseDir, c.rel))).sha256)
  for (const [rel, sha256] of missing) {
    for (const c of unrecorded) {
      if (posix.basename(c.rel) !== posix.basename(rel) || (await hashOf(c)) !== sha256) continue
      out.misplaced.push({ path: rel, at: c.rel })
      unrecorded.splice(unrecorded.indexOf(c), 1)
      break
    }
  }
  if (!options.copies) return out
  const versions = new Map<string, { of: string; seq: number }>()
  for (const e of entries) {
    const p = e.params ?? {}
    if (e.action === 'case.artifact' && typeof p.path === 'string' && isTimelineFile(p.path))
      versions.set(`${posix.basename(p.path)} ${String(p.sha256)}`, { of: p.path, seq: e.seq })
  }
  for (const c of unrecorded) {
    const version = versions.get(`${posix.basename(c.rel)} ${await hashOf(c)}`)
    if (version) out.copies.push({ path: c.rel, ...version })
  }
  return out
}

/**
 * The regular files named as the timeline's in timeline/ and in each folder of timeline/history/
 * (case-relative). Links are left out: neither is what fir wrote (case verify names them).
 */
async function timelineFilesOnDisk(caseDir: string): Promise<string[]> {
  const found: string[] = []
  const filesIn = async (rel: string) => {
    for (const name of TIMELINE_NAMES) {
      const st = await lstat(join(caseDir, rel, name)).catch(() => undefined)
      if (st?.isFile()) found.push(`${rel}/${name}`)
    }
  }
  const isFolder = async (rel: string) =>
    (await lstat(join(caseDir, rel)).catch(() => undefined))?.isDirectory() === true
  if (!(await isFolder('timeline'))) return found
  await filesIn('timeline')
  if (!(await isFolder(TIMELINE_HISTORY_DIR))) return found
  for (const name of (await readdir(join(caseDir, TIMELINE_HISTORY_DIR))).sort()) {
    const rel = `${TIMELINE_HISTORY_DIR}/${name}`
    if (!name.startsWith('.') && (await isFolder(rel))) await filesIn(rel)
  }
  return found
}

/**
 * The old place of a file of an unfinished archive that something else now holds while the file
 * is in the history folder (a file the interrupted run wrote and never journaled): the earlier
 * timeline is not put back over it. Undefined when every file can go back.
 */
export async function archiveBlockedBy(
  caseDir: string,
  archive: { moves: readonly TimelineMove[] },
): Promise<string | undefined> {
  const taken = async (rel: string) => (await lstat(join(caseDir, rel)).catch(() => undefined)) !== undefined
  for (const m of archive.moves) if ((await taken(m.to)) && (await taken(m.from))) return m.from
  return undefined
}

/** What finishInterruptedTimelineMoves did, for the warning the command prints. */
export interface TimelineMovesFinished {
  /** The earlier timeline put back from `folder` (its files, case-relative), if it was. */
  putBack?: { folder: string; files: string[] }
  /** Files moved to where the journal records them (see findMisplacedTimelineFiles). */
  placed: MisplacedFile[]
}

/**
 * Finishes what a timeline re-run interrupted while replacing the timeline left (call holding the
 * case lock, on opening the case). When the latest archive was followed by no timeline of its own
 * (unfinishedArchive), the earlier timeline is put back: each file's return is journaled first
 * (`case.artifact` with `movedFrom`), then it is moved, and the emptied history folder removed —
 * unless a file the run wrote is at a file's old place (it is never replaced). Then every recorded
 * timeline file found elsewhere with its very bytes (findMisplacedTimelineFiles) is moved to where
 * the journal records it.
 */
export async function finishInterruptedTimelineMoves(
  caseDir: string,
  journal: Journal,
): Promise<TimelineMovesFinished> {
  const done: TimelineMovesFinished = { placed: [] }
  const archive = unfinishedArchive(journal.all())
  if (archive) {
    if (!(await archiveBlockedBy(caseDir, archive))) {
      for (const m of archive.moves) {
        await journal.append({
          action: 'case.artifact',
          target: m.from,
          params: {
            path: m.from,
            sha256: m.sha256,
            bytes: m.bytes,
            movedFrom: m.to,
            reason: `put back: the timeline re-run that moved it to ${archive.folder}/ was interrupted before it stored a timeline of its own`,
          },
          outcome: 'recorded',
        })
      }
      done.putBack = { folder: archive.folder, files: archive.moves.map((m) => m.from) }
    }
  }
  const { misplaced } = await findMisplacedTimelineFiles(caseDir, journal.all())
  for (const m of misplaced) {
    await ensureDir(join(caseDir, posix.dirname(m.path)))
    await rename(join(caseDir, m.at), join(caseDir, m.path))
    await fsyncDir(join(caseDir, posix.dirname(m.path)))
    await fsyncDir(join(caseDir, posix.dirname(m.at)))
    if (!done.putBack?.files.includes(m.path)) done.placed.push(m)
  }
  if (done.putBack) {
    // Emptied by the moves back; a folder still holding anything is left as it is.
    await rmdir(join(caseDir, done.putBack.folder)).catch(() => undefined)
    await fsyncDir(join(caseDir, TIMELINE_HISTORY_DIR)).catch(() => undefined)
  }
  return done
}
