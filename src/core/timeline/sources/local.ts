import { type Dirent, readdirSync } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { isatty } from 'node:tty'
import { UsageError } from '../../../errors.js'
import { inheritedDescriptor, isWithin, kindOf, whyUnreadable } from '../../common/paths.js'
import type { TimeWindow } from '../types.js'
import { deliveryMayHold, deliveryTimeOf } from '../window.js'

/** Files a folder walk reads; a file named on the command line is read whatever its name. */
export const INPUT_NAME = /\.(json|jsonl|ndjson)(\.gz)?$|\.gz$/i
const DIGEST_NAME = /CloudTrail-Digest/
const DIGEST_DIR = /\/CloudTrail-Digest\//
/** The longest the folder walk holds the event loop before it yields. */
const WALK_SLICE_MS = 50

export interface LocalFile {
  path: string
  /** Bytes, or -1 when not looked at (files found by a folder walk: the worker looks). */
  size: number
  /** The delivery time a trail file's name gives (ms since the epoch), if it has one. */
  delivered?: number
  /** A pipe or device named as a source (not a regular file): read once, as a stream. */
  pipe?: true
}

export interface LocalListing {
  files: LocalFile[]
  /** Digest files (log file validation), recognised by name and not read. */
  digestFiles: string[]
  /** Trail files whose delivery time (in the name) cannot hold events of the window. */
  outsideWindow: number
  /** Files in folders that are not .json/.jsonl/.gz (not read). */
  ignored: number
  /**
   * fir case folders met below a source folder, not walked: their files are fir's own records (an
   * earlier timeline, evidence, rotated secrets), not trail logs. A source that names a case
   * folder, or a folder in one, is read as asked.
   */
  caseFolders: string[]
  /**
   * What a folder walk met and could not read, each with why: a symbolic link to nothing or a
   * link loop (whatever its name: it may have led to a folder of logs), a folder that cannot be
   * listed, and a pipe, socket or device with a log's name (never opened: a walk must not wait on
   * a FIFO no one writes to; one named as a source is read). Counted as refused, unread.
   */
  unreadable: { path: string; reason: string }[]
}

// A LookupEvents run's own records beside its pages (timeline/raw/<run>/lookup.json, resume-….json):
// fir's bookkeeping, not logs, when a walk of a case's raw folder meets them.
const FIR_RUN_RECORD = /(?:^|[/\\])timeline[/\\]raw[/\\][^/\\]+[/\\](?:lookup|resume-[^/\\]*)\.json$/

function isFirRunRecord(path: string): boolean {
  return FIR_RUN_RECORD.test(path)
}

/**
 * The files behind PATH sources: files as given, folders walked (recursively, sorted), with
 * trail files whose delivery time is far outside the window left out. A missing path is a usage
 * error, before anything is read.
 */
export async function listLocal(paths: string[], window: TimeWindow): Promise<LocalListing> {
  const out: LocalListing = {
    files: [],
    digestFiles: [],
    outsideWindow: 0,
    ignored: 0,
    caseFolders: [],
    unreadable: [],
  }
  // Only several sources can name a path twice (a folder and a file in it, or overlapping
  // folders): a single one is walked without keeping every path in sets (a bucket has thousands).
  const several = paths.length > 1
  const seen = new Set<string>()
  const ignored = new Set<string>()
  let ignoredCount = 0
  /** `digestDir`: the path is under a CloudTrail-Digest folder. */
  const consider = (
    path: string,
    base: string,
    size: number,
    named: boolean,
    digestDir: boolean,
    pipe = false,
  ) => {
    if (several && seen.has(path)) return
    if (!named && (!isInputName(base) || isFirRunRecord(path))) {
      ignore(path)
      return
    }
    if (several) {
      ignored.delete(path)
      seen.add(path)
    }
    if (digestDir || DIGEST_NAME.test(base)) {
      out.digestFiles.push(path)
      return
    }
    const delivered = deliveryTimeOf(base)
    if (delivered !== undefined && !deliveryMayHold(window, delivered)) {
      out.outsideWindow++
      return
    }
    if (pipe) out.files.push({ path, size: -1, pipe: true })
    else out.files.push(delivered === undefined ? { path, size } : { path, size, delivered })
  }
  const ignore = (path: string) => {
    if (!several) ignoredCount++
    else ignored.add(path)
  }
  const unreadable = (path: string, reason: string) => {
    if (several) {
      if (seen.has(path)) return
      seen.add(path)
    }
    out.unreadable.push({ path, reason })
  }
  // Folders walked, by real path: the source folders (walked or to be) and the folders links led
  // to. A link to a folder is followed unless it leads into one of them (read there already, or a
  // loop) — a link to a folder that holds one of them is a loop, and is said to be one.
  const walked: string[] = []
  for (const p of paths) {
    const real = await realpath(resolve(p)).catch(() => undefined)
    if (real && (await stat(real).catch(() => undefined))?.isDirectory()) walked.push(real)
  }
  const followLink = async (full: string, name: string, depth: number, digestDir: boolean) => {
    let s: Awaited<ReturnType<typeof stat>>
    try {
      s = await stat(full)
    } catch (err) {
      unreadable(full, await whyUnreadable(full, err))
      return
    }
    if (s.isFile()) consider(full, name, s.size, false, digestDir)
    else if (s.isDirectory()) {
      const real = await realpath(full)
      if (walked.some((w) => isWithin(real, w))) return
      if (walked.some((w) => isWithin(w, real))) {
        unreadable(full, `a symbolic link loop: it leads to ${real}, a folder that holds it (not followed)`)
        return
      }
      walked.push(real)
      await walk(full, depth + 1)
    } else special(full, name, `a symbolic link to ${kindOf(s)}`)
  }
  /** A pipe, socket or device met in a walk: never opened (a FIFO would block the walk). */
  const special = (full: string, name: string, what: string) => {
    if (!isInputName(name)) ignore(full)
    else unreadable(full, `${what}: not opened in a folder walk (name it as --source to read a pipe)`)
  }
  // Folders are read synchronously (a trip to the thread pool per folder tripled the walk of a
  // bucket's thousands of small folders), yielding to the event loop now and then (Ctrl-C).
  let slice = performance.now()
  const walk = async (dir: string, depth: number) => {
    if (depth > 32) return
    if (performance.now() - slice > WALK_SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r))
      slice = performance.now()
    }
    let entries: Dirent[]
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch (err) {
      if (depth === 0) throw sourceError(dir, await whyUnreadable(dir, err))
      unreadable(dir, `a folder that cannot be listed: ${await whyUnreadable(dir, err)}`)
      return
    }
    if (depth > 0 && isCaseFolder(entries)) {
      if (!out.caseFolders.includes(dir)) out.caseFolders.push(dir)
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const prefix = `${dir}/`
    const digestDir = DIGEST_DIR.test(prefix)
    for (const e of entries) {
      const full = prefix + e.name
      if (e.isDirectory()) await walk(full, depth + 1)
      else if (e.isFile()) consider(full, e.name, -1, false, digestDir)
      else if (e.isSymbolicLink()) await followLink(full, e.name, depth, digestDir)
      else special(full, e.name, kindOf(e))
    }
  }
  const pipes = new Set<string>()
  for (const p of paths) {
    const path = resolve(p)
    let s: Awaited<ReturnType<typeof stat>>
    try {
      s = await stat(path)
    } catch (err) {
      throw sourceError(p, await whyUnreadable(path, err))
    }
    if (s.isDirectory()) {
      await walk(path, 0)
      continue
    }
    const pipe = !s.isFile()
    if (pipe) {
      // A pipe named twice (`-` and /dev/fd/0, a link to a FIFO) is one input: two readers would
      // each get part of its bytes.
      const id = `${s.dev}:${s.ino}`
      if (pipes.has(id)) continue
      pipes.add(id)
    }
    consider(path, path.slice(path.lastIndexOf('/') + 1), s.size, true, DIGEST_DIR.test(path), pipe)
  }
  out.ignored = several ? ignored.size : ignoredCount
  return out
}

/** A folder `fir case init` made: its case.json and journal.jsonl side by side. */
function isCaseFolder(entries: { name: string; isFile(): boolean }[]): boolean {
  let marks = 0
  for (const e of entries) if ((e.name === 'case.json' || e.name === 'journal.jsonl') && e.isFile()) marks++
  return marks === 2
}

/** INPUT_NAME, with the usual trail file name (….json.gz) decided without the regex. */
function isInputName(base: string): boolean {
  return base.endsWith('.json.gz') || INPUT_NAME.test(base)
}

/** The PATH sources as given: each a folder or a file (with its size); a missing one is a usage error. */
export async function probeLocal(paths: string[]): Promise<{ path: string; dir: boolean; size: number }[]> {
  const out: { path: string; dir: boolean; size: number }[] = []
  for (const p of paths) {
    // `--source -` typed at a terminal would wait for keystrokes, silently: refused instead.
    const fd = inheritedDescriptor(resolve(p))
    if (fd !== undefined && isatty(fd)) {
      throw new UsageError(
        `source ${JSON.stringify(p)} is this terminal, not a pipe: fir would wait for you to type a trail`,
        {
          actions: [
            'pipe the trail into fir: zcat trail.json.gz | fir timeline … --source -',
            'or pass the path of the file or folder: --source ./trail/',
          ],
        },
      )
    }
    let s: Awaited<ReturnType<typeof stat>>
    try {
      s = await stat(resolve(p))
    } catch (err) {
      throw sourceError(p, await whyUnreadable(resolve(p), err))
    }
    out.push({ path: resolve(p), dir: s.isDirectory(), size: s.size })
  }
  return out
}

/** A source that cannot be read: bad usage (exit 2), before anything is read. */
function sourceError(p: string, why: string): UsageError {
  return new UsageError(`unable to read source ${JSON.stringify(p)}: ${why}`, {
    actions: ['pass --source api, s3://bucket/prefix, or the path of a file or folder of CloudTrail logs'],
  })
}
