import { chmod, readdir, readFile, stat } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import { IntegrityError, UsageError } from '../../errors.js'
import { DIR_MODE, ensureDir, exists, writeFileAtomic } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { sweepTemporaries } from '../common/interrupt.js'
import { relativeInside, relativeInsideLanded } from '../common/paths.js'
import { escapeTerminal, shellArg } from '../common/text.js'
import { completeInterruptedSeals, EVIDENCE_DIR, EvidenceSet } from './evidence-store.js'
import { refuseLinkedCaseFolders } from './folders.js'
import { currentActor, JOURNAL_FILE, Journal } from './journal.js'
import { acquireCaseLock, type CaseLock, LOCK_FILE, type LockHolder } from './lock.js'

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
/** Where a timeline re-run moves the timeline it replaces (`timeline/history/<its start>/`). */
export const TIMELINE_HISTORY_DIR = 'timeline/history'

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

/**
 * Refuses an output path (`--out`) that would overwrite what fir keeps in the case, named directly
 * or through a link to a folder of the case.
 */
export function refuseManagedOutput(caseDir: string, path: string, flag = '--out'): void {
  const rel = [relativeInside(caseDir, path), relativeInsideLanded(caseDir, path)]
    .map((r) => r?.split(sep).join('/'))
    .find((r) => r !== undefined && isFirManagedPath(r))
  if (rel === undefined) return
  throw new UsageError(`unable to write ${flag} ${path}: fir keeps its own ${rel} there`, {
    actions: [
      `pass ${flag} a path outside the case, or a file of your own in it (e.g. <case>/exports/timeline.csv)`,
    ],
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
    readonly swept: { path: string; bytes: number }[] = [],
    /**
     * Evidence sets whose seal a crash interrupted after journaling it, moved to their final
     * name on opening the case (see EvidenceSet.seal).
     */
    readonly placedSets: string[] = [],
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

  static async open(dir: string): Promise<CaseHandle> {
    const meta = await readCaseMeta(dir)
    const lock = await acquireCaseLock(dir, lockOwner())
    try {
      // What fir writes through a linked folder would land outside the case.
      await refuseLinkedCaseFolders(dir)
      const journal = await Journal.open(dir)
      // With the lock held no live fir process writes here: what is left is a dead run's. Evidence
      // folders are left as they are (an unsealed set is reported, never tidied away), but a set
      // whose seal the journal holds is finished; evidence/ itself holds only downloads under way
      // beside the sets (EvidenceSet.partialPath).
      const swept = sweepTemporaries([
        dir,
        ...[EVIDENCE_DIR, 'timeline', 'reports', 'secrets'].map((d) => join(dir, d)),
      ])
      const placed = await completeInterruptedSeals(dir, journal.all())
      return new CaseHandle(dir, meta, journal, lock, swept, placed)
    } catch (err) {
      await lock.release()
      throw err
    }
  }

  static async init(
    id: string,
    options: { title?: string; dir?: string; firVersion: string; cwd?: string },
  ): Promise<CaseHandle> {
    validateCaseId(id)
    const dir = resolve(options.cwd ?? process.cwd(), options.dir ?? join(CASES_DIR, id))
    if (await exists(join(dir, CASE_FILE))) {
      throw new UsageError(`unable to create case ${id}: ${dir} already holds a case`, {
        actions: ['choose another id, or use --case to work in the existing case'],
      })
    }
    if (await exists(dir)) {
      const entries = await readdir(dir)
      if (entries.length > 0) {
        throw new UsageError(`unable to create case ${id}: ${dir} exists and is not empty`, {
          actions: ['choose another --dir or id'],
        })
      }
    }
    await ensureDir(dir)
    await chmod(dir, DIR_MODE) // an empty folder given as the case's: it becomes the case's mode
    const actor = currentActor()
    const meta: CaseMeta = {
      id,
      title: options.title ?? id,
      created: new Date().toISOString(),
      createdBy: { osUser: actor.osUser, host: actor.host },
      firVersion: options.firVersion,
    }
    const lock = await acquireCaseLock(dir, lockOwner())
    try {
      const text = `${JSON.stringify(meta, null, 2)}\n`
      await writeFileAtomic(join(dir, CASE_FILE), text, { once: true })
      for (const sub of ['evidence', 'timeline', 'reports', 'secrets']) await ensureDir(join(dir, sub))
      const journal = await Journal.create(dir, {
        action: 'case.init',
        target: id,
        params: { title: meta.title, caseJsonSha256: sha256Hex(text), firVersion: options.firVersion },
        outcome: 'recorded',
      })
      return new CaseHandle(dir, meta, journal, lock)
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
    if (!(await caseIn(dir))) {
      const how = flag ? '--case' : 'FIR_CASE'
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
      if (!(await stat(dir)).isDirectory()) continue
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
