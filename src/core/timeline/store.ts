import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { access, type FileHandle, lstat, open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { FirError, IntegrityError, UsageError } from '../../errors.js'
import { recordedArtifacts } from '../case/evidence-store.js'
import type { Journal } from '../case/journal.js'
import { readTimelineSummaryHead } from '../case/summary.js'
import { TIMELINE_HISTORY_DIR, unfinishedArchive } from '../case/timeline-archive.js'
import {
  ensureDir,
  FILE_MODE,
  fsyncDir,
  isWrittenInPlace,
  renameTemporary,
  temporaryGone,
  temporaryRemovedError,
  tempPathFor,
  writeFileAtomic,
  writesInPlace,
} from '../common/fs-safe.js'
import { sha256File, sha256Hex } from '../common/hash.js'
import { trackTemporary } from '../common/interrupt.js'
import { compactUtc } from '../common/text.js'

const NEWLINE = Buffer.from('\n')

/** O_DIRECT where the platform has it (Linux), else 0. */
const DIRECT_FLAG: number = (constants as { O_DIRECT?: number }).O_DIRECT ?? 0
/** What O_DIRECT needs buffers, lengths and offsets aligned to (a page covers every device). */
const DIRECT_ALIGN = 4096
const WASM_PAGE = 64 * 1024
/** A WebAssembly memory's buffer starts on a page: the one page-aligned buffer JavaScript can make. */
const WasmMemory = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } }
  }
).WebAssembly.Memory
const alignDown = (n: number) => n - (n % DIRECT_ALIGN)

/** How much a file grows between the flushes to disk started while it is written. */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024

/**
 * Writes a file atomically as a stream: a temporary file beside it, buffered writes, fsync, then a
 * rename over the old file (a re-run replaces the file only once the new one is complete).
 *
 * With `direct` (a hunt's gigabyte of events.jsonl), whole blocks are written around the page
 * cache (O_DIRECT, Linux) from a page-aligned staging buffer: putting a new file through the cache
 * cost ~2 s of kernel CPU per GB on the project's VM, CPU the hunt's threads needed. The last
 * partial block, and everything on a file system without O_DIRECT, goes through the cache.
 *
 * Data is copied into one staging buffer, reused, and written a buffer at a time: a caller's
 * buffer is free again as soon as `write` returns (the timeline hands arenas back to the worker
 * threads), and the kernel sees few large writes rather than a line per iovec.
 */
export class AtomicFileWriter {
  private handle: FileHandle | undefined
  private tmp = ''
  private staging: Buffer
  private fill = 0
  private readonly hash = createHash('sha256')
  /** Bytes written since the last flush to disk was started, and that flush (see flush). */
  private unsynced = 0
  private syncing: Promise<void> | undefined
  /** Stops the temporary file being removed on an interruption (it is renamed or removed). */
  private untrack = () => {}
  bytes = 0

  /** Writes go around the page cache (O_DIRECT), from a page-aligned staging buffer. */
  private direct: boolean

  constructor(
    readonly path: string,
    bufferBytes = 1 << 20,
    options: { direct?: boolean } = {},
  ) {
    this.direct = options.direct === true && DIRECT_FLAG !== 0 && bufferBytes % DIRECT_ALIGN === 0
    this.staging = this.direct
      ? Buffer.from(new WasmMemory({ initial: bufferBytes / WASM_PAGE }).buffer)
      : Buffer.allocUnsafeSlow(bufferBytes)
  }

  async open(): Promise<this> {
    await ensureDir(dirname(this.path))
    this.tmp = tempPathFor(this.path)
    this.untrack = trackTemporary(this.tmp)
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
    try {
      if (this.direct) {
        try {
          this.handle = await open(this.tmp, flags | DIRECT_FLAG, FILE_MODE)
        } catch (err) {
          // Some file systems refuse O_DIRECT (tmpfs before Linux 6.6): write through the page cache.
          if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
          this.direct = false
        }
      }
      this.handle ??= await open(this.tmp, flags, FILE_MODE)
    } catch (err) {
      this.untrack() // nothing was made: nothing to remove on an interruption
      throw err
    }
    return this
  }

  /** Queues data; resolves once it is copied (and, when the staging buffer filled, written). */
  async write(data: string | Buffer): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    let off = 0
    while (off < buf.length) {
      if (this.fill === this.staging.length) await this.flush()
      const n = buf.copy(this.staging, this.fill, off)
      this.fill += n
      off += n
    }
  }

  /**
   * A line and its newline. When they fit in the staging buffer nothing is awaited (undefined is
   * returned): a hunt writes half a million lines, and a promise and a Buffer#copy for each cost
   * more than their bytes (TypedArray#set copies the same bytes without copy's argument handling).
   */
  writeLine(line: Buffer): Promise<void> | undefined {
    if (this.fill + line.length + 1 <= this.staging.length) {
      this.staging.set(line, this.fill)
      this.fill += line.length
      this.staging[this.fill++] = 0x0a
      return undefined
    }
    return this.write(line).then(() => this.write(NEWLINE))
  }

  private async flush(): Promise<void> {
    if (this.fill === 0) return
    const out = this.staging.subarray(0, this.fill)
    this.hash.update(out)
    let written = 0
    try {
      while (written < out.length) {
        const rest = out.length - written
        const length = this.direct ? alignDown(rest) : rest
        // The last bytes of a direct file are not a whole block: they go through the cache.
        if (length === 0) await this.leaveDirect()
        try {
          const r = await this.handle!.write(out, written, length || rest, this.bytes + written)
          written += r.bytesWritten
          if (this.direct && r.bytesWritten % DIRECT_ALIGN !== 0) await this.leaveDirect()
        } catch (err) {
          // A device that wants another alignment: the rest of the file through the cache.
          if (!this.direct || (err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
          await this.leaveDirect()
        }
      }
    } catch (err) {
      // A write names no file (it goes to a descriptor): name the one it was for (disk full…).
      const e = err as NodeJS.ErrnoException
      if (e && typeof e === 'object' && !(e instanceof FirError) && e.path === undefined) e.path = this.path
      throw err
    }
    this.bytes += out.length
    this.fill = 0
    // A large file is flushed to disk as it grows, beside the writing: otherwise the whole of it
    // waits for the fsync at commit (a gigabyte of hunt output is about a second of disk time).
    this.unsynced += this.direct ? 0 : out.length
    if (this.unsynced >= SYNC_EVERY_BYTES && !this.syncing) {
      this.unsynced = 0
      const handle = this.handle!
      this.syncing = handle.datasync().then(
        () => {
          this.syncing = undefined
        },
        () => {
          this.syncing = undefined // the fsync at commit reports what is wrong
        },
      )
    }
  }

  /**
   * Goes on writing the file through the page cache: a new descriptor without O_DIRECT, opened
   * through the one it has (/proc/self/fd), not by name. Reopened by name, a temporary someone
   * removed meanwhile (case verify once told the responder to) ended the run with a bug (ENOENT);
   * through the descriptor the same file is written, and commit names what happened.
   */
  private async leaveDirect(): Promise<void> {
    const direct = this.handle!
    this.handle = await open(`/proc/self/fd/${direct.fd}`, constants.O_WRONLY).catch(async (err) => {
      // No /proc (O_DIRECT is Linux's, but /proc may not be mounted): by name.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      return open(this.tmp, constants.O_WRONLY).catch((e: NodeJS.ErrnoException) => {
        throw e.code === 'ENOENT' ? temporaryRemovedError(this.path, this.tmp, false, e) : e
      })
    })
    this.direct = false
    await direct.close()
  }

  /** Whether the file is being written around the page cache (O_DIRECT). */
  get writesAroundCache(): boolean {
    return this.direct
  }

  /**
   * Flushes, fsyncs and renames into place; returns the file's SHA-256 (hashed as written).
   * `beforeRename` is given that hash once the temporary holds the whole file, durably, just
   * before the rename: it journals the file, as writeFileAtomic's does (an interruption from then
   * on leaves the temporary, for the next open of the case to rename; a failure removes it).
   */
  async commit(
    options: { beforeRename?: (written: { sha256: string; bytes: number }) => Promise<void> } = {},
  ): Promise<{ sha256: string; bytes: number }> {
    await this.flush()
    await this.syncing
    await this.handle!.sync()
    if (await temporaryGone(this.handle!, this.tmp)) {
      // Before the file is journaled: nothing recorded. Given up where it is: what now has the
      // temporary's name, if anything, is not this file (abort leaves it).
      const err = temporaryRemovedError(this.path, this.tmp, false)
      await this.handle!.close().catch(() => undefined)
      this.handle = undefined
      this.tmp = ''
      this.untrack()
      throw err
    }
    await this.handle!.close()
    this.handle = undefined
    const written = { sha256: this.hash.digest('hex'), bytes: this.bytes }
    if (options.beforeRename) {
      this.untrack()
      try {
        await options.beforeRename(written)
      } catch (err) {
        await rm(this.tmp, { force: true })
        throw err
      }
    }
    await renameTemporary(this.tmp, this.path, options.beforeRename !== undefined)
    this.untrack()
    await fsyncDir(dirname(this.path))
    return written
  }

  async abort(): Promise<void> {
    await this.syncing
    if (this.handle) await this.handle.close().catch(() => undefined)
    this.handle = undefined
    if (this.tmp) await rm(this.tmp, { force: true })
    this.untrack()
  }
}

/** What an export is written through: AtomicFileWriter, or InPlaceWriter for a device or pipe. */
export type OutputWriter = Pick<AtomicFileWriter, 'write' | 'commit' | 'abort'>

/** The writer for a file the responder names (`--out`): in place or atomic (see writesInPlace). */
export async function openOutputFile(path: string): Promise<OutputWriter> {
  return (await writesInPlace(path)) ? new InPlaceWriter(path).open() : new AtomicFileWriter(path).open()
}

/** Writes a device, pipe or socket where it is, in order (no temporary file, no rename, no seek). */
class InPlaceWriter {
  private handle: FileHandle | undefined
  private readonly hash = createHash('sha256')
  private bytes = 0

  constructor(readonly path: string) {}

  async open(): Promise<this> {
    this.handle = await open(this.path, constants.O_WRONLY)
    return this
  }

  async write(data: string | Buffer): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    this.hash.update(buf)
    try {
      for (let off = 0; off < buf.length; ) off += (await this.handle!.write(buf, off)).bytesWritten
    } catch (err) {
      // A write names no file (it goes to a descriptor): name the one it was for (/dev/full…).
      const e = err as NodeJS.ErrnoException
      if (e && typeof e === 'object' && e.path === undefined) e.path = this.path
      throw err
    }
    this.bytes += buf.length
  }

  async commit(): Promise<{ sha256: string; bytes: number }> {
    await this.handle?.close()
    this.handle = undefined
    return { sha256: this.hash.digest('hex'), bytes: this.bytes }
  }

  async abort(): Promise<void> {
    await this.handle?.close().catch(() => undefined)
    this.handle = undefined
  }
}

/**
 * Checks, before any work, that a file can be written at `path` (its folder made if missing): a
 * temporary file is created there and removed. `what` names the path for the message (`--out`).
 * A run that reads for minutes must not learn at the end that its export cannot be written.
 */
export async function checkWritable(path: string, what: string): Promise<void> {
  const fail = (why: string) =>
    new UsageError(`unable to write ${what} ${path}: ${why}`, {
      actions: [`pass ${what} a file path in a folder you can write`],
    })
  const st = await stat(path).catch(() => undefined)
  if (st?.isDirectory()) throw fail('it is a folder')
  if (isWrittenInPlace(st)) {
    // Not opened here: a FIFO's open waits for its reader.
    const denied = await access(path, constants.W_OK).then(
      () => undefined,
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    )
    if (denied) throw fail(`it cannot be written (${denied})`)
    return
  }
  // The writer the export will use, opened and given up: the same folder made, the same file made.
  const probe = new AtomicFileWriter(path, 1)
  try {
    await probe.open()
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw fail(`unable to create a file in ${dirname(path)} (${e.code ?? e.message})`)
  }
  await probe.abort()
}

/**
 * Journals a case file fir is writing and hashed as it wrote it: the same `case.artifact` entry
 * recordArtifact makes (so `fir case verify` checks the file), without reading a large file (an
 * account-wide events.jsonl runs to gigabytes) a second time. Called as the `beforeRename` of the
 * file's atomic write (DESIGN §2: journaled before it is made): a run interrupted between the two
 * leaves the recorded bytes in the temporary, which the next open of the case renames
 * (completeInterruptedWrites); one interrupted before leaves an unrecorded temporary, swept. Never
 * a file in place that the journal does not record, which a re-run would refuse to replace.
 */
export async function recordWrittenArtifact(
  journal: Journal,
  rel: string,
  written: { sha256: string; bytes: number },
): Promise<void> {
  await journal.append({
    action: 'case.artifact',
    target: rel,
    params: { path: rel, sha256: written.sha256, bytes: written.bytes },
    outcome: 'recorded',
  })
}

/**
 * Writes a small case file atomically (`text`, UTF-8) and journals it, by the hash of `text`,
 * before the rename (see recordWrittenArtifact). `once`: the file is write-once (writeFileAtomic).
 */
export async function writeRecordedFile(
  caseDir: string,
  journal: Journal,
  rel: string,
  text: string,
  options: { once?: boolean } = {},
): Promise<void> {
  await writeFileAtomic(join(caseDir, rel), text, {
    ...options,
    beforeRename: () =>
      recordWrittenArtifact(journal, rel, { sha256: sha256Hex(text), bytes: Buffer.byteLength(text) }),
  })
}

/**
 * Moves the case's earlier timeline (events.jsonl, findings.json, summary.json) into
 * `timeline/history/<its start, UTC>/` just before a new run puts its own in place, so that a
 * re-run (a narrower window, a mistaken --source) never loses what an earlier run collected.
 * Each move is journaled before any file moves (DESIGN §2: a change is journaled before it is
 * made): a `case.artifact` entry under the new path with the hash the journal already holds for
 * the file (`movedFrom` tells `fir case verify` the old path is no longer expected until a new file
 * is recorded there). A run stopped anywhere after that, before it records a timeline of its own,
 * leaves an archive the next command that opens the case undoes (finishInterruptedTimelineMoves),
 * and `fir case verify` names meanwhile. Returns the history folder, or undefined when there was
 * nothing to move.
 */
export async function archiveEarlierTimeline(
  caseDir: string,
  journal: Journal,
  files: readonly string[],
): Promise<{ folder: string; startedAt: string | null; events: number | null } | undefined> {
  const present = []
  for (const rel of files)
    if ((await stat(join(caseDir, rel)).catch(() => undefined))?.isFile()) present.push(rel)
  if (present.length === 0) return undefined
  const summaryRel = files.find((f) => f.endsWith('summary.json'))
  const { startedAt, events } = summaryRel
    ? await readTimelineSummaryHead(join(caseDir, summaryRel))
    : { startedAt: null, events: null }
  const stamp = compactUtc(startedAt ? new Date(startedAt) : (await stat(join(caseDir, present[0]!))).mtime)
  let folder = `${TIMELINE_HISTORY_DIR}/${stamp}`
  for (let n = 2; await stat(join(caseDir, folder)).catch(() => undefined); n++) {
    folder = `${TIMELINE_HISTORY_DIR}/${stamp}-${n}`
  }
  const moves: { from: string; to: string; sha256: string; bytes: number }[] = []
  for (const { from, sha256, bytes } of await earlierTimelineFiles(caseDir, journal, present)) {
    moves.push({ from, to: `${folder}/${basename(from)}`, sha256, bytes })
  }
  for (const m of moves) {
    await journal.append({
      action: 'case.artifact',
      target: m.to,
      params: { path: m.to, sha256: m.sha256, bytes: m.bytes, movedFrom: m.from },
      outcome: 'recorded',
    })
  }
  await ensureDir(join(caseDir, folder))
  for (const m of moves) await rename(join(caseDir, m.from), join(caseDir, m.to))
  await fsyncDir(join(caseDir, folder))
  await fsyncDir(join(caseDir, dirname(present[0]!)))
  await fsyncDir(join(caseDir, TIMELINE_HISTORY_DIR))
  return { folder, startedAt, events }
}

/**
 * The files of the earlier timeline a re-run may move to timeline/history/ as fir's, with their
 * current SHA-256: each holds the bytes the journal recorded for it, or is fir's own interrupted
 * work (a version of a timeline file the journal once recorded, or the file a re-run of an earlier
 * fir, which renamed a timeline file before journaling it, left where it had moved the earlier one
 * from; case verify names both). Files not there are left out: a recorded one a run was killed
 * before renaming into place is there by now (the case's open renamed its temporary). Anything else — a file changed since fir recorded it, one no entry records — would be journaled
 * as recorded history: refused (exit 3), naming the file, before anything is journaled or moved.
 */
export async function earlierTimelineFiles(
  caseDir: string,
  journal: Journal,
  files: readonly string[],
): Promise<{ from: string; sha256: string; bytes: number }[]> {
  const entries = journal.all()
  const journaled = recordedArtifacts(entries)
  const versions = new Set<string>()
  for (const e of entries) {
    const p = e.params ?? {}
    if (e.action === 'case.artifact' && typeof p.path === 'string' && p.path.startsWith('timeline/'))
      versions.add(`${basename(p.path)} ${String(p.sha256)}`)
  }
  const leftByInterruptedRun = new Set(unfinishedArchive(entries)?.moves.map((m) => m.from) ?? [])
  const out: { from: string; sha256: string; bytes: number }[] = []
  for (const from of files) {
    const st = await lstat(join(caseDir, from)).catch(() => undefined)
    if (!st) continue
    // A folder or link in a timeline file's place is not fir's file: refused, never moved or written over.
    const notFile = st.isFile() ? undefined : st.isDirectory() ? 'a folder' : 'not a regular file'
    const actual = notFile ? undefined : await sha256File(join(caseDir, from))
    const want = journaled.get(from)
    const fir =
      actual !== undefined &&
      (want
        ? want.sha256 === actual.sha256
        : versions.has(`${basename(from)} ${actual.sha256}`) || leftByInterruptedRun.has(from))
    if (!fir) {
      const what = want ? 'was changed after fir recorded it' : 'is not a file fir recorded'
      throw new IntegrityError(
        `unable to replace the timeline: ${from} ${what}${notFile ? ` (it is now ${notFile})` : ''}, so it is not moved to ${TIMELINE_HISTORY_DIR}/ as the earlier timeline`,
        {
          actions: [
            `run \`fir case verify\` and investigate ${from}; preserve the case as it is (nothing was moved or journaled)`,
          ],
        },
      )
    }
    out.push({ from, ...actual! })
  }
  return out
}
