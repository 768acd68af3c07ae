import { randomBytes } from 'node:crypto'
import { chmod, lstat, mkdir, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { FirError, IntegrityError, UsageError } from '../../errors.js'
import {
  DIR_MODE,
  ensureDir,
  exists,
  fsyncDir,
  NOT_PERMITTED_HINT,
  writeFileAtomic,
} from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { sweepTemporaries, trackTemporary } from '../common/interrupt.js'
import { relativeInside, relativeInsideLanded } from '../common/paths.js'
import { escapeTerminal, jsonText, shellArg } from '../common/text.js'
import { completeInterruptedSeals, EVIDENCE_DIR, EvidenceSet } from './evidence-store.js'
import { refuseLinkedCaseFile, refuseLinkedCaseFolders } from './folders.js'
import { completeInterruptedWrites, type UnplacedFile } from './interrupted-writes.js'
import { CASE_INIT_ACTION, currentActor, JOURNAL_FILE, Journal } from './journal.js'
import { acquireCaseLock, type CaseLock, deadLockHolder, LOCK_FILE, type LockHolder } from './lock.js'
import { SECRETS_DIR } from './secrets.js'
import {
  finishInterruptedTimelineMoves,
  TIMELINE_HISTORY_DIR,
  type TimelineMovesFinished,
} from './timeline-archive.js'

/** case.json (DESIGN §2). */
export interface CaseMeta {
  id: string
  title: string
  created: string
  createdBy: { osUser: string; host: string }
  firVersion: string
}

export const CASE_FILE = 'case.json'
export const CASES_DIR = 'cases'

/**
 * Whether a path in a case (relative to it, `/`-separated) is one fir writes and keeps itself: the
 * case record, the journal and its lock, evidence, secrets, the timeline's own files and sweeps.
 * An export written there would replace fir's record (or be replaced by it). `reports/` is not one:
 * a report written there is what `fir report` does itself.
 */
export function isFirManagedPath(rel: string): boolean {
  const top = rel.split('/')[0] ?? ''
  if (['case.json', 'journal.jsonl', '.lock', 'evidence', 'secrets', 'sweeps'].includes(top)) return true
  return (
    ['timeline/events.jsonl', 'timeline/findings.json', 'timeline/summary.json'].includes(rel) ||
    rel.startsWith('timeline/raw/') ||
    rel.startsWith(`${TIMELINE_HISTORY_DIR}/`)
  )
}

/** The reports `fir report` writes: another command's export written there would replace one. */
export const FIR_REPORT_FILES: readonly string[] = ['reports/report.md', 'reports/report.html']

/**
 * Refuses an output path (`--out`) that would overwrite what fir keeps in the case, named directly
 * or through a link to a folder of the case. `example` is a path the command may write to, shown
 * in what to do (`<case>/exports/timeline.csv`, `<case>/reports/ticket.md`); `alsoRefused` names
 * more case paths the command must not write (a timeline export over the case's report).
 */
export function refuseManagedOutput(
  caseDir: string,
  path: string,
  example: string,
  flag = '--out',
  alsoRefused: readonly string[] = [],
): void {
  const rel = [relativeInside(caseDir, path), relativeInsideLanded(caseDir, path)]
    .map((r) => r?.split(sep).join('/'))
    .find((r) => r !== undefined && (isFirManagedPath(r) || alsoRefused.includes(r)))
  if (rel === undefined) return
  throw new UsageError(`unable to write ${flag} ${path}: fir keeps its own ${rel} there`, {
    actions: [`pass ${flag} a path outside the case, or a file of your own in it (e.g. ${example})`],
  })
}

const CASE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** Rejects ids that could escape the cases folder or confuse a terminal. */
export function validateCaseId(id: string): void {
  if (!CASE_ID.test(id) || id.includes('..')) {
    throw new UsageError(
      `unable to create case ${JSON.stringify(escapeTerminal(id))}: a case id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, without '/', '..' or control characters`,
      { actions: ['choose an id such as INC-2026-0042'] },
    )
  }
}

/** An open case, holding its lock: the journal and evidence sets are written through it. */
export class CaseHandle {
  private constructor(
    readonly dir: string,
    readonly meta: CaseMeta,
    readonly journal: Journal,
    private readonly lock: CaseLock,
    /** Temporaries an interrupted fir run had left in the case, removed on opening it. */
    readonly swept: { path: string; bytes: number; why?: string }[] = [],
    /**
     * Evidence sets whose seal a crash interrupted after journaling it, moved to their final
     * name on opening the case (see EvidenceSet.seal).
     */
    readonly placedSets: string[] = [],
    /** What a timeline re-run interrupted while replacing the timeline left, finished on opening. */
    readonly timelineMoves: TimelineMovesFinished = { placed: [] },
    /**
     * Recorded files (a rotated key's secret, a timeline file) a crash interrupted after journaling
     * them, before the rename: each temporary was given its recorded name on opening the case
     * (completeInterruptedWrites).
     */
    readonly placedFiles: UnplacedFile[] = [],
  ) {}

  /**
   * The lock a killed fir run had left in the case (its holder, no longer running), removed on
   * opening it, if there was one.
   */
  get staleLock(): { path: string; holder: LockHolder } | undefined {
    const holder = this.lock.takenOver
    return holder ? { path: join(this.dir, LOCK_FILE), holder } : undefined
  }

  /** The journal's cut-off last line, set aside on opening (see Journal.open), if there was one. */
  get tornJournalTail(): { path: string; bytes: number } | undefined {
    return this.journal.tornSetAside
  }

  /** The journal's cut-off last line, left in place by a read-only open, if there is one. */
  get tornJournalLine(): { line: number; bytes: number } | undefined {
    return this.journal.tornLeft
  }

  /**
   * Opens the case, holding its lock. With `readOnly` (a dry run, which changes nothing: DESIGN
   * §1) nothing a killed run left is tidied or finished, a cut-off last journal line is left in
   * place (tornJournalLine), and the journal refuses appends.
   */
  static async open(dir: string, options: { readOnly?: boolean } = {}): Promise<CaseHandle> {
    const meta = await readCaseMeta(dir)
    const lock = await acquireCaseLock(dir, lockOwner())
    try {
      // What fir writes through a linked folder would land outside the case.
      await refuseLinkedCaseFolders(dir)
      if (options.readOnly) {
        const journal = await Journal.open(dir, { readOnly: true })
        return new CaseHandle(dir, meta, journal, lock)
      }
      const journal = await Journal.open(dir)
      // With the lock held no live fir process writes here: what is left is a dead run's. Evidence
      // folders are left as they are (an unsealed set is reported, never tidied away), but a set
      // whose seal the journal holds is finished; evidence/ itself holds only downloads under way
      // beside the sets (EvidenceSet.partialPath). A temporary the journal records a file by (a
      // key's secret, a timeline's events) holds that file's only copy: it is put in place before
      // the rest is swept, and before an interrupted timeline re-run is finished.
      const placedFiles = await completeInterruptedWrites(dir, journal.all())
      const swept = sweepTemporaries([
        dir,
        ...[EVIDENCE_DIR, 'timeline', 'reports', SECRETS_DIR].map((d) => join(dir, d)),
      ])
      const placed = await completeInterruptedSeals(dir, journal.all())
      const timelineMoves = await finishInterruptedTimelineMoves(dir, journal)
      return new CaseHandle(dir, meta, journal, lock, swept, placed, timelineMoves, placedFiles)
    } catch (err) {
      await lock.release()
      throw err
    }
  }

  /**
   * Creates a case: case.json, the empty folders and the journal's entry seq 0 (case.init, which
   * records case.json's SHA-256) are written and synced in a temporary folder beside the case's
   * (see initTemporaryFor), which is then renamed to the case's name (over an empty folder given
   * as the case's). A case folder therefore never exists half made: an init that is killed leaves
   * only its temporary folder, which the next init of that case removes (`swept`).
   */
  static async init(
    id: string,
    options: {
      title?: string
      dir?: string
      firVersion: string
      cwd?: string
      /**
       * The flag of the calling command that names the case folder, for advice (default `--dir`,
       * case init's; `--case` for tabletop run).
       */
      dirFlag?: string
    },
  ): Promise<CaseHandle> {
    validateCaseId(id)
    const dir = resolve(options.cwd ?? process.cwd(), options.dir ?? join(CASES_DIR, id))
    const dirFlag = options.dirFlag ?? '--dir'
    const { target, swept, tmp } = await makeInitTemporary(id, dir, dirFlag).catch((err: unknown) => {
      throw refusedCaseFolder(err, id, dir, dirFlag)
    })
    const untrack = trackTemporary(tmp)
    let lock: CaseLock | undefined
    let meta: CaseMeta
    try {
      await chmod(tmp, DIR_MODE) // mkdir's mode passes through the umask
      lock = await acquireCaseLock(tmp, lockOwner())
      const actor = currentActor()
      meta = {
        id,
        title: options.title ?? id,
        created: new Date().toISOString(),
        createdBy: { osUser: actor.osUser, host: actor.host },
        firVersion: options.firVersion,
      }
      const text = `${jsonText(meta, 2)}\n`
      await writeFileAtomic(join(tmp, CASE_FILE), text, { once: true })
      for (const sub of ['evidence', 'timeline', 'reports', 'secrets']) await ensureDir(join(tmp, sub))
      await Journal.create(tmp, {
        action: CASE_INIT_ACTION,
        target: id,
        params: { title: meta.title, caseJsonSha256: sha256Hex(text), firVersion: options.firVersion },
        outcome: 'recorded',
      })
      await fsyncDir(tmp)
      try {
        await rename(tmp, target)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        // Another fir made the case meanwhile, or something was put in the folder given.
        if (code === 'ENOTEMPTY' || code === 'EEXIST') await refuseTakenCaseDir(id, dir, dirFlag)
        throw err
      }
      lock.movedTo(target)
      await fsyncDir(dirname(target))
    } catch (err) {
      await lock?.release()
      await rm(tmp, { recursive: true, force: true })
      throw err
    } finally {
      untrack()
    }
    try {
      return new CaseHandle(dir, meta, await Journal.open(dir), lock, swept)
    } catch (err) {
      await lock.release()
      throw err
    }
  }

  newEvidenceSet(): Promise<EvidenceSet> {
    return EvidenceSet.create(this.dir, this.journal, this.meta.firVersion)
  }

  async close(): Promise<void> {
    await this.lock.release()
  }
}

/**
 * Makes the temporary folder case init builds the case at `dir` in (see CaseHandle.init), after
 * refusing a taken or unreplaceable case folder, making the folders above it and removing what
 * killed inits of it left.
 */
async function makeInitTemporary(
  id: string,
  dir: string,
  dirFlag: string,
): Promise<{ target: string; swept: { path: string; bytes: number; why: string }[]; tmp: string }> {
  await refuseTakenCaseDir(id, dir, dirFlag)
  await ensureDir(dirname(dir))
  // An empty folder given as the case's is replaced by the one built beside it: rename it where
  // it really is (a link to a folder would otherwise be replaced by the case, not filled).
  const given = await stat(dir).catch(() => undefined)
  const target = given ? await realpath(dir) : dir
  if (given) await refuseUnreplaceable(id, dir, target, dirFlag)
  const swept = await sweepInterruptedInits(target)
  const tmp = initTemporaryFor(target)
  await mkdir(tmp, { mode: DIR_MODE })
  return { target, swept, tmp }
}

/**
 * A folder case init may not make the case in (EACCES; EPERM: an immutable folder, one macOS
 * protects) as an error whose advice fits a case not made yet: another folder. The generic advice
 * for a file system refusal (fileSystemProblem) is about a case folder that exists.
 */
export function refusedCaseFolder(err: unknown, id: string, dir: string, dirFlag: string): unknown {
  const e = err as NodeJS.ErrnoException | undefined
  if (e?.code !== 'EACCES' && e?.code !== 'EPERM') return err
  const path = typeof e.path === 'string' ? e.path : dir
  const why = !/^(mkdir|rmdir|unlink|rename)$/.test(e.syscall ?? '')
    ? `fir cannot ${/^(stat|lstat|access)$/.test(e.syscall ?? '') ? 'reach' : 'read'} ${path}`
    : isInitTemporary(basename(path))
      ? `fir cannot write to ${dirname(path)}, where it builds the case before moving it into place`
      : `fir cannot write to ${dirname(path)}`
  return new FirError('permission-denied', `unable to create case ${id} in ${dir}: ${why} (${e.code})`, {
    actions: [
      ...(e.code === 'EPERM' ? [NOT_PERMITTED_HINT] : []),
      `choose a ${dirFlag} in a folder you can write to, or cd to one (fir creates the case folder itself)`,
    ],
    cause: err,
  })
}

/**
 * Refuses a case folder that already holds a case or anything else, or is not a folder; the advice
 * names `dirFlag`, the calling command's flag for the folder.
 */
async function refuseTakenCaseDir(id: string, dir: string, dirFlag: string): Promise<void> {
  if (await exists(join(dir, CASE_FILE))) {
    throw new UsageError(`unable to create case ${id}: ${dir} already holds a case`, {
      actions: [
        `pass ${dirFlag} a new or empty folder`,
        'to work in the existing case, pass its folder as --case to the other commands',
      ],
    })
  }
  if (!(await lstat(dir).catch(() => undefined))) return
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new UsageError(`unable to create case ${id}: ${dir} exists and is not a folder`, {
      actions: [`pass ${dirFlag} a new or empty folder`],
    })
  }
  if ((await readdir(dir)).length > 0) {
    throw new UsageError(`unable to create case ${id}: ${dir} exists and is not empty`, {
      actions: [`pass ${dirFlag} a new or empty folder`],
    })
  }
}

/**
 * Refuses an empty folder given as the case's that cannot be replaced by a folder renamed over
 * it: a mount point (the case is built on the file system beside it), or the current folder (the
 * shell would be left in a folder that no longer exists).
 */
async function refuseUnreplaceable(id: string, dir: string, target: string, dirFlag: string): Promise<void> {
  const [here, parent] = await Promise.all([stat(target), stat(dirname(target))])
  const why =
    here.dev !== parent.dev
      ? 'it is a mount point'
      : (await realpath(process.cwd()).catch(() => '')) === target
        ? 'it is the current folder, which would be left behind as a folder that no longer exists'
        : undefined
  if (!why) return
  throw new UsageError(
    `unable to create case ${id} in ${dir}: ${why}; fir builds a case beside its folder and renames it into place, so that no case is ever left half made`,
    {
      actions: [
        `pass ${dirFlag} a new folder inside it, e.g. ${dirFlag} ${shellArg(join(dir, id))}${why.startsWith('it is the current') ? ', or run the command from the folder above it' : ''}`,
      ],
    },
  )
}

/** `.<case folder name>.fir-init-<8 hex>`: where case init builds a case, beside its folder. */
const INIT_TEMPORARY = /^\.(.+)\.fir-init-[0-9a-f]{8}$/

/** The temporary folder case init builds the case at `dir` in, before renaming it into place. */
function initTemporaryFor(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}.fir-init-${randomBytes(4).toString('hex')}`)
}

/** Whether a folder name is case init's temporary folder (no case: an init not finished). */
function isInitTemporary(name: string): boolean {
  return INIT_TEMPORARY.test(name)
}

/** A temporary folder with no lock in it younger than this may be an init just starting. */
const UNLOCKED_INIT_GRACE_MS = 60_000

/**
 * Removes the temporary folders that killed inits of the case at `dir` left beside it: those whose
 * lock names a process on this host that is no longer running, and those that never got a lock
 * (killed right after making the folder) once they are a minute old. Another host's, or a running
 * init's, are left alone. Returns each one removed with its size.
 */
async function sweepInterruptedInits(dir: string): Promise<{ path: string; bytes: number; why: string }[]> {
  const removed: { path: string; bytes: number; why: string }[] = []
  const parent = dirname(dir)
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (INIT_TEMPORARY.exec(name)?.[1] !== basename(dir)) continue
    const path = join(parent, name)
    const st = await lstat(path).catch(() => undefined)
    if (!st?.isDirectory()) continue
    const why =
      (await deadLockHolder(path)) !== undefined
        ? 'its process is no longer running'
        : !(await exists(join(path, LOCK_FILE))) && Date.now() - st.mtimeMs > UNLOCKED_INIT_GRACE_MS
          ? 'it never took its lock and is more than a minute old'
          : undefined
    if (!why) continue
    const bytes = await folderBytes(path)
    await rm(path, { recursive: true, force: true })
    removed.push({ path, bytes, why })
  }
  return removed
}

async function folderBytes(path: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const p = join(path, entry.name)
    total += entry.isDirectory() ? await folderBytes(p) : (await lstat(p)).size
  }
  return total
}

function lockOwner() {
  const actor = currentActor()
  return { user: actor.osUser, command: actor.command.join(' ') }
}

/**
 * What a folder without case.json still holds of a case (its journal, its evidence folder): such a
 * folder is a case that lost its record, not a folder that never was one.
 */
async function caseRemnants(dir: string): Promise<string[]> {
  const found: string[] = []
  if (await exists(join(dir, JOURNAL_FILE))) found.push(JOURNAL_FILE)
  if ((await stat(join(dir, EVIDENCE_DIR)).catch(() => null))?.isDirectory()) found.push(`${EVIDENCE_DIR}/`)
  return found
}

/** A case whose case.json is gone: an integrity failure (exit 3) to investigate, not a case to create. */
function missingCaseRecord(dir: string, remnants: string[]): IntegrityError {
  return new IntegrityError(
    `unable to open case ${dir}: its case record (${CASE_FILE}) is missing, though the folder holds ${remnants.join(' and ')}: the case was damaged or tampered with`,
    {
      actions: [
        `run \`fir case verify --case ${shellArg(dir)}\` to see everything that is missing or changed`,
        `preserve the folder as it is; restore ${CASE_FILE} from a copy of the case (journal entry seq 0 holds its SHA-256)`,
      ],
    },
  )
}

export async function readCaseMeta(dir: string): Promise<CaseMeta> {
  const path = join(dir, CASE_FILE)
  await refuseLinkedCaseFile(dir, CASE_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    const remnants = await caseRemnants(dir)
    if (remnants.length > 0) throw missingCaseRecord(dir, remnants)
    throw new UsageError(`unable to open case ${dir}: it has no ${CASE_FILE}, so it is not a fir case`, {
      actions: ['create a case with `fir case init <id>`, or point --case at an existing case folder'],
    })
  }
  try {
    const meta = JSON.parse(text) as CaseMeta
    if (typeof meta.id !== 'string' || typeof meta.created !== 'string')
      throw new Error('missing id or created')
    return meta
  } catch (err) {
    // fir wrote it whole (its hash is in journal entry 0): damage, as a missing one is.
    throw new IntegrityError(
      `unable to open case ${dir}: ${CASE_FILE} is corrupt (${(err as Error).message}): the case was damaged or tampered with`,
      {
        actions: [
          `run \`fir case verify --case ${shellArg(dir)}\` to see what changed`,
          `preserve the folder as it is; restore ${CASE_FILE} from a copy of the case (journal entry seq 0 holds its SHA-256)`,
        ],
      },
    )
  }
}

/**
 * The case folder to use: `--case`, else FIR_CASE, else the only case under ./cases; otherwise an
 * error that says how to choose (DESIGN §1). A case folder whose case.json is gone (its journal or
 * evidence is still there) is an integrity failure (exit 3), unless `missingRecordOk` (for
 * `case verify`, which reports it among the other problems).
 */
export async function resolveCaseDir(
  flag: string | undefined,
  cwd = process.cwd(),
  options: { missingRecordOk?: boolean } = {},
): Promise<string> {
  /** The folder when it holds a case; undefined when it holds nothing of one. */
  const caseIn = async (dir: string): Promise<string | undefined> => {
    if (await exists(join(dir, CASE_FILE))) return dir
    const remnants = await caseRemnants(dir)
    if (remnants.length === 0) return undefined
    if (options.missingRecordOk) return dir
    throw missingCaseRecord(dir, remnants)
  }
  const chosen = flag ?? process.env.FIR_CASE
  if (chosen) {
    const dir = resolve(cwd, chosen)
    const how = flag ? '--case' : 'FIR_CASE'
    const found = await stat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined
      throw err
    })
    if (!found) {
      throw new UsageError(`unable to open case ${dir} (from ${how}): it does not exist`, {
        actions: [
          `check the path: a case is a folder made by \`fir case init <id>\` (by default ./${CASES_DIR}/<id>)`,
          `or create it: \`fir case init <id> --dir ${shellArg(dir)}\``,
        ],
      })
    }
    if (!found.isDirectory()) {
      const parent = dirname(dir)
      const inCase = await exists(join(parent, CASE_FILE))
      throw new UsageError(
        `unable to open case ${dir} (from ${how}): it is a file: pass the case folder${inCase ? ` (${parent})` : ''}`,
        {
          actions: [
            inCase
              ? `pass ${how === '--case' ? `--case ${shellArg(parent)}` : `FIR_CASE=${shellArg(parent)}`}`
              : 'pass the folder made by `fir case init <id>` (the one holding case.json)',
          ],
        },
      )
    }
    if (!(await caseIn(dir))) {
      throw new UsageError(
        `unable to open case ${dir} (from ${how}): it is not a fir case folder (no ${CASE_FILE})`,
        {
          actions: [
            'create one with `fir case init <id>`',
            'or point --case at a folder made by `fir case init`',
          ],
        },
      )
    }
    return dir
  }
  const root = resolve(cwd, CASES_DIR)
  const candidates: string[] = []
  if (await exists(root)) {
    for (const name of await readdir(root)) {
      const dir = join(root, name)
      // A case being made (or an init killed before it finished) is no case yet.
      if (isInitTemporary(name) || !(await stat(dir)).isDirectory()) continue
      if ((await exists(join(dir, CASE_FILE))) || (await caseRemnants(dir)).length > 0) candidates.push(dir)
    }
  }
  if (candidates.length === 1) return (await caseIn(candidates[0]!)) ?? candidates[0]!
  if (candidates.length === 0) {
    throw new UsageError(
      'unable to choose a case: no --case given, FIR_CASE is not set, and ./cases holds no case',
      {
        actions: ['create one with `fir case init <id>`', 'or pass --case DIR, or set FIR_CASE=DIR'],
      },
    )
  }
  throw new UsageError(
    `unable to choose a case: ./cases holds ${candidates.length} cases (${candidates.map((c) => c.split('/').at(-1)).join(', ')})`,
    { actions: ['pass --case DIR, or set FIR_CASE=DIR'] },
  )
}
