import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises'
import { basename, join, relative, sep } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { exists } from '../common/fs-safe.js'
import { sha256File, sha256Hex } from '../common/hash.js'
import { isTemporaryName } from '../common/interrupt.js'
import { CASE_FILE } from './case-folder.js'
import {
  EVIDENCE_DIR,
  MANIFEST_FILE,
  type Manifest,
  recordedArtifacts,
  stillUnfinished,
  UNFINISHED_SET_PREFIX,
  unfinishedSetDir,
} from './evidence-store.js'
import { CASE_FOLDERS, notTheCaseFolder } from './folders.js'
import { unplacedCaseFiles } from './interrupted-writes.js'
import { CASE_INIT_ACTION, checkJournalText, JOURNAL_FILE, type JournalEntry } from './journal.js'
import { caseLockState, describeHolder, type LockHolder } from './lock.js'
import { recordedSecretFiles, SECRETS_DIR } from './secrets.js'
import { archiveBlockedBy, findMisplacedTimelineFiles, unfinishedArchive } from './timeline-archive.js'
import { describeUnsealedSet, findUnsealedSets, type LockState } from './unsealed-sets.js'

export interface VerifyProblem {
  kind: 'changed' | 'missing' | 'extra' | 'out-of-order' | 'unparseable' | 'broken-chain' | 'torn'
  path: string
  seq?: number
  message: string
}

export interface VerifyResult {
  ok: boolean
  checked: { journalEntries: number; evidenceSets: number; evidenceFiles: number; artifacts: number }
  problems: VerifyProblem[]
  warnings: string[]
  /**
   * The journal's last entry. The chain proves nothing was changed between entries, not that none
   * was cut off the end or the whole chain rewritten: that takes a head recorded outside the case
   * (a ticket, the report), checked later with `expectHead`.
   */
  journalHead: JournalHead | null
}

/** A journal entry as recorded outside the case: its seq and hash (a prefix of 12 or more hex digits). */
export interface JournalHead {
  seq: number
  hash: string
}

/** `N:HASH` (as `fir case verify` prints it) or `HASH`; undefined when `text` is neither. */
export function parseJournalHead(text: string): { seq?: number; hash: string } | undefined {
  const m = /^(?:(\d{1,9}):)?([0-9a-f]{12,64})$/i.exec(text.trim())
  if (!m) return undefined
  return { ...(m[1] !== undefined ? { seq: Number(m[1]) } : {}), hash: m[2]!.toLowerCase() }
}

/**
 * Every file under `dir` (a link to a file or to nothing counts as one). A link to a folder is not
 * followed: findLinkedFolders names it. Empty when `dir` is not a folder.
 */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  async function walk(d: string) {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name)
      if (entry.isDirectory()) await walk(p)
      else if (!(entry.isSymbolicLink() && (await isFolder(p)))) out.push(p)
    }
  }
  if (await isFolder(dir)) await walk(dir)
  return out
}

/** Whether `path` is a folder, or a link to one. */
async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false
}

/**
 * Every folder of the case that is not the case's own: one of CASE_FOLDERS that is a symbolic link
 * or no folder at all, and any link to a folder inside them (an evidence set, a subfolder of one,
 * timeline/raw/<run>…). What such a folder holds can change at any time, out of the case, as what
 * a linked file points to can; and fir would write through it.
 */
async function findLinkedFolders(caseDir: string, problems: VerifyProblem[]): Promise<void> {
  const caseFolders = new Set<string>(CASE_FOLDERS)
  const flag = async (rel: string) => {
    const why = await notTheCaseFolder(join(caseDir, rel))
    if (why) problems.push({ kind: 'changed', path: `${rel}/`, message: `${rel}/ was changed: ${why}` })
  }
  async function walk(rel: string): Promise<void> {
    const entries = await readdir(join(caseDir, rel), { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const child = `${rel}/${entry.name}`
      if (entry.isDirectory()) await walk(child)
      else if (caseFolders.has(child)) await flag(child)
      else if (entry.isSymbolicLink() && (await isFolder(join(caseDir, child)))) await flag(child)
    }
  }
  for (const rel of CASE_FOLDERS) {
    if (rel.includes('/')) continue // checked as its parent is walked
    const path = join(caseDir, rel)
    if (await notTheCaseFolder(path)) await flag(rel)
    else await walk(rel)
  }
}

/** The folders whose every file fir records with `case.artifact` as it writes it. */
const RECORDED_FOLDERS = ['timeline', 'reports', 'sweeps']

/**
 * What an interrupted fir run can leave: a temporary file of an atomic write (tempPathFor), a
 * pipe's copy still being read (`.part`), a hunt's spool folder (`.spool-…`).
 */
const LEFT_BY_INTERRUPTED_RUN = /(^|\/)(\.[0-9a-f]{12}\.tmp|[^/]+\.part|\.spool-[^/]+\/.*)$/

/**
 * What verify says of a temporary of a fir run (LEFT_BY_INTERRUPTED_RUN, an evidence download…):
 * while a fir command running on this host holds the case lock (`writer`), it is that command's
 * work in progress, which it renames or removes itself: removing it by hand broke that command
 * (a timeline lost its whole run). Otherwise an interrupted run left it.
 */
function leftByRun(rel: string, writer: LockHolder | undefined, leftover: string): string {
  return writer
    ? `${rel} is work in progress of process ${writer.pid} (${writer.command}), the fir command holding the case lock; it is not part of the case record yet, and that command renames or removes it (leave it)`
    : `${rel} ${leftover}`
}

/** What verify says of a temporary of a fir run when no live fir command holds the lock. */
const LEFT_OVER = 'was left by an interrupted fir run; it is not part of the case record (remove it)'

/** What Finder and Explorer leave in a folder someone looked at. */
const FILE_BROWSER_LITTER = /(^|\/)(\.DS_Store|\._[^/]+|Thumbs\.db|desktop\.ini)$/

/**
 * Files in the folders fir records that no `case.artifact` entry names: added after fir wrote the
 * folder (a forged page in timeline/raw/ would be read by a later `--source` of it), so each is an
 * extra file; the leftovers of an interrupted run are only named (they are no part of the record).
 */
async function findUnrecorded(
  caseDir: string,
  artifacts: ReadonlyMap<string, unknown>,
  problems: VerifyProblem[],
  warnings: string[],
  /** Unrecorded files already named (timeline files an interrupted re-run left: see below). */
  named: ReadonlySet<string>,
  /** The live fir command holding the case lock, whose temporaries these may be (leftByRun). */
  writer: LockHolder | undefined,
): Promise<void> {
  for (const folder of RECORDED_FOLDERS) {
    for (const file of await listFiles(join(caseDir, folder))) {
      const rel = relative(caseDir, file).split(sep).join('/')
      if (artifacts.has(rel) || named.has(rel)) continue
      if (LEFT_BY_INTERRUPTED_RUN.test(rel)) {
        warnings.push(leftByRun(rel, writer, LEFT_OVER))
        continue
      }
      if (FILE_BROWSER_LITTER.test(rel)) {
        warnings.push(`${rel} was made by a file browser; it is not part of the case record`)
        continue
      }
      problems.push({
        kind: 'extra',
        path: rel,
        message: `${rel} is not a file fir recorded in the journal: it was added to the case folder (or a run stopped between writing and recording it)`,
      })
    }
  }
}

/**
 * secrets/ holds the files `fir creds rotate-key` wrote, each journaled (SECRET_FILE_ACTION) with
 * its SHA-256 before it was given its name. A file there that no entry records was put there (the
 * redactor does not use it); a recorded one must still be what fir wrote. A recorded file that is
 * gone is no problem: the responder is told to delete it once the secret is deployed. A temporary
 * holding a recorded file not yet renamed is named as that file (the next open places it).
 */
async function checkSecretFiles(
  caseDir: string,
  entries: readonly JournalEntry[],
  problems: VerifyProblem[],
  warnings: string[],
  /** The case's unplaced files (unplacedCaseFiles): temporary → the path recorded for it. */
  unplaced: ReadonlyMap<string, string>,
  /** The live fir command holding the case lock, whose temporaries these may be (leftByRun). */
  writer: LockHolder | undefined,
): Promise<void> {
  const recorded = recordedSecretFiles(entries)
  for (const file of await listFiles(join(caseDir, SECRETS_DIR))) {
    const rel = relative(caseDir, file).split(sep).join('/')
    const want = recorded.get(rel)
    const meant = unplaced.get(rel)
    if (meant) {
      warnings.push(
        `${rel} is ${meant}, the secret file the journal records (the same SHA-256): a fir run was interrupted after journaling it, before giving it its name. It holds the only copy of that key's secret; the next fir command that opens the case puts it in place (keep it)`,
      )
    } else if (want) {
      const swapped = await notTheFileWritten(file)
      if (swapped || (await sha256File(file)).sha256 !== want.sha256) {
        problems.push({
          kind: 'changed',
          path: rel,
          message: `${rel} was changed after fir wrote it${swapped ? `: ${swapped}` : ''}`,
        })
      }
    } else if (LEFT_BY_INTERRUPTED_RUN.test(rel)) {
      warnings.push(leftByRun(rel, writer, LEFT_OVER))
    } else if (FILE_BROWSER_LITTER.test(rel)) {
      warnings.push(`${rel} was made by a file browser; it is not part of the case record`)
    } else {
      problems.push({
        kind: 'extra',
        path: rel,
        message: `${rel} is not a secret file fir recorded in the journal: it was added to the case folder (${SECRETS_DIR}/ holds only the rotated-key secrets fir writes; fir does not use it to redact)`,
      })
    }
  }
}

/**
 * Why a recorded file is no longer the regular file fir wrote, or undefined when it is one. A
 * symbolic link with the same bytes still fails: what it points to can change at any time, out of
 * the case.
 */
async function notTheFileWritten(path: string): Promise<string | undefined> {
  const st = await lstat(path)
  if (st.isSymbolicLink()) {
    const to = await readlink(path).catch(() => '?')
    return `it is now a symbolic link (to ${JSON.stringify(to)}), not the file fir wrote`
  }
  return st.isFile() ? undefined : 'it is no longer a regular file'
}

/**
 * What a timeline re-run interrupted while replacing the timeline left, named as such (warnings),
 * not as tampering: a crash must not become a lasting integrity failure. Such files hold exactly
 * the bytes the journal recorded (the same SHA-256). Returns the recorded paths whose file is
 * elsewhere (`misplaced`) and the unrecorded files so explained (`unrecorded`).
 */
async function nameInterruptedTimelineMoves(
  caseDir: string,
  entries: readonly JournalEntry[],
  warnings: string[],
): Promise<{ misplaced: Set<string>; unrecorded: Set<string> }> {
  const archive = unfinishedArchive(entries)
  if (archive) {
    const blocked = await archiveBlockedBy(caseDir, archive)
    warnings.push(
      `a timeline re-run was interrupted while replacing the timeline: it had journaled moving ${archive.moves.map((m) => m.from).join(', ')} to ${archive.folder}/ and recorded no timeline of its own; ${blocked ? `${blocked} holds a file it did not journal, so fir leaves the earlier timeline in ${archive.folder}/ (the next timeline run moves that file aside and records it)` : 'the next fir command that writes to the case puts the earlier timeline back'}`,
    )
  }
  const { misplaced, copies } = await findMisplacedTimelineFiles(caseDir, entries, { copies: true })
  for (const m of misplaced) {
    warnings.push(
      `${m.path} is recorded there but is at ${m.at} (the same SHA-256): a timeline re-run was interrupted while moving it; the next fir command that writes to the case puts it in its place`,
    )
  }
  for (const c of copies) {
    warnings.push(
      `${c.path} holds ${c.of} as journal entry seq ${c.seq} recorded it (the same SHA-256), left by a timeline run interrupted before it journaled the file (an earlier fir moved files before journaling the move); it is no part of the case record, and no tampering`,
    )
  }
  return {
    misplaced: new Set(misplaced.map((m) => m.path)),
    unrecorded: new Set([...misplaced.map((m) => m.at), ...copies.map((c) => c.path)]),
  }
}

/**
 * verifyCase for `fir case verify`, which must not take another command's work in progress for
 * tampering (a file written and not yet journaled is "extra"; one being replaced, "missing"), nor
 * withhold what it finds because of a lock. The case is always checked. A result with problems
 * taken while a fir command running on this host holds the lock (isLiveFirProcess), or while the
 * journal changed, is checked again once that command has finished, waiting up to `waitMs`
 * (FIR_LOCK_WAIT_MS, as commands wait for the lock); problems still there when the wait ends are
 * reported, with a note naming the writer (`beingWrittenBy`). A lock no live fir process holds
 * (unreadable, another host's, a dead or non-fir pid: anyone can write a `.lock`) is named in a
 * note and never stops the check. The temporaries of a live fir command holding the lock are named
 * as its work in progress (verifyCase `writer`), never as leftovers to remove. Reads only and takes
 * no lock itself.
 */
export async function verifyCaseWhenIdle(
  caseDir: string,
  options: { expectHead?: { seq?: number; hash: string } } = {},
  waitMs = Number(process.env.FIR_LOCK_WAIT_MS ?? 10_000),
): Promise<VerifyResult & { beingWrittenBy?: string }> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const before = await journalStamp(caseDir)
    const held = await caseLockState(caseDir)
    const writer = held?.live ? held.holder : undefined
    const result = await verifyCase(caseDir, { ...options, ...(writer ? { writer } : {}), lock: held })
    const lock = await caseLockState(caseDir)
    const settled = !lock?.live && (await journalStamp(caseDir)) === before
    // A fir command that took the lock during the check: what it had begun writing was named as an
    // interrupted run's leftovers to remove. Checked again, naming it as its work in progress.
    if (lock?.live && !sameHolder(lock.holder, writer) && Date.now() < deadline) continue
    if (result.ok || settled || Date.now() >= deadline) {
      if (lock && !lock.live) {
        result.warnings.push(
          `a lock file is present but no live fir process holds it (${lock.path}: ${lock.why}); it did not stop the check`,
        )
      }
      if (result.ok || !lock?.live) return result
      const who = describeHolder(lock.holder, lock.path)
      result.warnings.push(
        `the case is being written by ${who}: these problems may be that command's work in progress (a file written and not yet journaled, one being replaced); run \`fir case verify\` again when it has finished`,
      )
      return { ...result, beingWrittenBy: who }
    }
    // A fir command is writing the case: wait for it, then check again.
    while (Date.now() < deadline && (await caseLockState(caseDir))?.live) await sleep(100)
  }
}

function sameHolder(a: LockHolder | undefined, b: LockHolder | undefined): boolean {
  return a?.pid === b?.pid && a?.host === b?.host && a?.since === b?.since
}

/** The journal's size and modification time: it changes with every entry appended. */
async function journalStamp(caseDir: string): Promise<string> {
  const st = await stat(join(caseDir, JOURNAL_FILE)).catch(() => undefined)
  return st ? `${st.size} ${st.mtimeMs}` : 'none'
}

/**
 * Re-hashes everything the case has sealed and re-checks the journal chain. Reads only: it takes no
 * lock and changes nothing, so it can run on a copy of a case; while another command writes the
 * case, what it finds may be that command's work in progress (see verifyCaseWhenIdle).
 */
export async function verifyCase(
  caseDir: string,
  options: {
    expectHead?: { seq?: number; hash: string }
    /**
     * The fir command running on this host that holds the case lock (caseLockState `live`): the
     * temporaries found are named as its work in progress, not as leftovers to remove.
     */
    writer?: LockHolder
    /**
     * The case lock as caseLockState read it (undefined: no lock file), which tells whether an
     * unsealed set is being built or abandoned (findUnsealedSets); read here when not given.
     */
    lock?: LockState
  } = {},
): Promise<VerifyResult> {
  const { writer } = options
  const problems: VerifyProblem[] = []
  const warnings: string[] = []
  const checked = { journalEntries: 0, evidenceSets: 0, evidenceFiles: 0, artifacts: 0 }

  let entries: JournalEntry[] = []
  const journalPath = join(caseDir, JOURNAL_FILE)
  if (!(await exists(journalPath))) {
    problems.push({ kind: 'missing', path: JOURNAL_FILE, message: `${JOURNAL_FILE} is missing` })
  } else {
    const swapped = await notTheFileWritten(journalPath)
    if (swapped)
      problems.push({
        kind: 'changed',
        path: JOURNAL_FILE,
        message: `${JOURNAL_FILE} was changed: ${swapped}`,
      })
    // A folder (or a link to one) in its place has no entries to check: it is named above.
    const text = (await stat(journalPath)).isFile() ? await readFile(journalPath, 'utf8') : undefined
    if (text !== undefined) {
      const parsed = checkJournalText(text)
      entries = parsed.entries
      checked.journalEntries = entries.length
      for (const p of parsed.problems)
        problems.push({ kind: p.kind, path: JOURNAL_FILE, seq: p.seq, message: p.message })
    }
  }

  // checkJournalText names a journal that does not start with case.init; without it case.json's
  // hash is recorded nowhere, so case.json cannot be vouched for either.
  const first = entries[0]
  const init = first?.seq === 0 && first.action === CASE_INIT_ACTION ? first : undefined
  const caseJson = join(caseDir, CASE_FILE)
  let caseJsonSwapped: string | undefined
  if (!(await exists(caseJson))) {
    problems.push({ kind: 'missing', path: CASE_FILE, message: `${CASE_FILE} is missing` })
  } else if ((caseJsonSwapped = await notTheFileWritten(caseJson))) {
    problems.push({
      kind: 'changed',
      path: CASE_FILE,
      message: `${CASE_FILE} was changed: ${caseJsonSwapped}`,
    })
  } else if (typeof init?.params?.caseJsonSha256 !== 'string') {
    problems.push({
      kind: 'missing',
      path: CASE_FILE,
      message: `${CASE_FILE} cannot be checked: no ${CASE_INIT_ACTION} entry at seq 0 of the journal records its SHA-256`,
    })
  } else {
    const actual = sha256Hex(await readFile(caseJson))
    if (actual !== init.params.caseJsonSha256) {
      problems.push({
        kind: 'changed',
        path: CASE_FILE,
        message: `${CASE_FILE} was changed after the case was created`,
      })
    }
  }

  const sealedSets = new Map<string, string>()
  for (const e of entries) {
    if (e.action === 'evidence.seal' && typeof e.params.set === 'string') {
      sealedSets.set(e.params.set, String(e.params.manifestSha256))
    }
  }
  await findLinkedFolders(caseDir, problems)
  const evidenceRoot = join(caseDir, EVIDENCE_DIR)
  const onDisk = (await isFolder(evidenceRoot)) ? await readdir(evidenceRoot) : []
  const unsealedSets = onDisk.some((n) => n.startsWith(UNFINISHED_SET_PREFIX))
    ? await findUnsealedSets(
        caseDir,
        entries,
        'lock' in options ? options.lock : await caseLockState(caseDir),
      )
    : []
  for (const name of onDisk) {
    if (sealedSets.has(name)) continue
    if (isTemporaryName(name)) {
      warnings.push(
        leftByRun(
          `${EVIDENCE_DIR}/${name}`,
          writer,
          `was left by an interrupted fir run${name.startsWith('.download-') ? ' (a download it had not finished)' : ''}; it is not evidence, and the next fir command that opens the case removes it`,
        ),
      )
      continue
    }
    const path = join(evidenceRoot, name)
    const st = await lstat(path)
    if (name.startsWith(UNFINISHED_SET_PREFIX) && st.isDirectory()) {
      const set = name.slice(UNFINISHED_SET_PREFIX.length)
      const manifestSha = sealedSets.get(set)
      // Sealed, not yet given its final name: checked below, where the set is (a changed
      // manifest there is named as changed, not taken for an unsealed set).
      if (manifestSha !== undefined && (await stillUnfinished(caseDir, set))) continue
      // Whose it is: the live command building it, or abandoned, with the command that removes it.
      const unsealed = unsealedSets.find((u) => u.path === `${EVIDENCE_DIR}/${name}/`)
      warnings.push(
        unsealed
          ? describeUnsealedSet(unsealed)
          : leftByRun(
              `${EVIDENCE_DIR}/${name}/`,
              writer,
              'was left by an interrupted snapshot (a set being built, never sealed); it is not evidence',
            ),
      )
      continue
    }
    if (st.isSymbolicLink()) {
      // A link to a folder is named among the linked folders.
      if (await isFolder(path)) continue
      const to = await readlink(path).catch(() => '?')
      problems.push({
        kind: 'extra',
        path: `${EVIDENCE_DIR}/${name}`,
        message: `${EVIDENCE_DIR}/${name} is a symbolic link (to ${JSON.stringify(to)}), not an evidence set fir made: it was added to the case folder`,
      })
      continue
    }
    if (!st.isDirectory()) {
      warnings.push(`${EVIDENCE_DIR}/${name} is not an evidence set (a stray file); it is not evidence`)
      continue
    }
    if (await exists(join(path, MANIFEST_FILE))) {
      problems.push({
        kind: 'extra',
        path: `${EVIDENCE_DIR}/${name}`,
        message: `evidence set ${EVIDENCE_DIR}/${name} has a manifest but was never sealed in the journal: fir names a set only after journaling its seal, so it was added to the case folder (or left by an earlier fir, which wrote the manifest before the journal line, interrupted between the two)`,
      })
    } else {
      warnings.push(
        `evidence set ${EVIDENCE_DIR}/${name} was never sealed (an interrupted snapshot); it is not evidence`,
      )
    }
  }

  for (const [set, manifestSha] of sealedSets) {
    checked.evidenceSets++
    let setDir = join(evidenceRoot, set)
    if (await stillUnfinished(caseDir, set)) {
      setDir = unfinishedSetDir(caseDir, set)
      warnings.push(
        `evidence set ${EVIDENCE_DIR}/${set} is sealed in the journal but still in ${EVIDENCE_DIR}/${UNFINISHED_SET_PREFIX}${set}/ (a run was interrupted right after sealing it): it is checked there, and the next fir command that writes to the case gives it its final name`,
      )
    }
    const setRel = `${EVIDENCE_DIR}/${basename(setDir)}`
    const manifestPath = join(setDir, MANIFEST_FILE)
    const rel = `${setRel}/${MANIFEST_FILE}`
    if (!(await lstat(manifestPath).catch(() => undefined))) {
      problems.push({ kind: 'missing', path: rel, message: `${rel} is missing` })
      continue
    }
    const manifestSwapped = await notTheFileWritten(manifestPath)
    if (manifestSwapped) {
      problems.push({ kind: 'changed', path: rel, message: `${rel} was changed: ${manifestSwapped}` })
    }
    const manifestText = await readFile(manifestPath).catch(() => undefined)
    if (manifestText === undefined) {
      // A link to nothing, a folder in its place: named above; there is no manifest to go by.
      if (!manifestSwapped)
        problems.push({ kind: 'unparseable', path: rel, message: `${rel} cannot be read` })
      continue
    }
    if (sha256Hex(manifestText) !== manifestSha) {
      // Its lines are no longer what was sealed: a file checked against them would be blamed for
      // the manifest's edit, or passed for one made with it. The set cannot be checked file by file.
      problems.push({
        kind: 'changed',
        path: rel,
        message: `${rel} was changed after it was sealed: the files of ${setRel} cannot be checked against it (the sealed manifest is the only record of their hashes)`,
      })
      continue
    }
    let manifest: Manifest
    try {
      manifest = JSON.parse(manifestText.toString('utf8')) as Manifest
    } catch {
      problems.push({ kind: 'unparseable', path: rel, message: `${rel} is not valid JSON` })
      continue
    }
    const listed = new Set<string>()
    for (const f of manifest.files ?? []) {
      checked.evidenceFiles++
      const fileRel = `${setRel}/${f.path}`
      listed.add(join(setDir, f.path))
      const path = join(setDir, f.path)
      if (!(await lstat(path).catch(() => undefined))) {
        problems.push({ kind: 'missing', path: fileRel, message: `${fileRel} is missing` })
        continue
      }
      const swapped = await notTheFileWritten(path)
      if (swapped) {
        problems.push({ kind: 'changed', path: fileRel, message: `${fileRel} was changed: ${swapped}` })
        continue
      }
      const actual = await sha256File(path)
      if (actual.sha256 !== f.sha256 || actual.bytes !== f.bytes) {
        problems.push({
          kind: 'changed',
          path: fileRel,
          message: `${fileRel} was changed: sha256 ${actual.sha256.slice(0, 12)}… (${actual.bytes} bytes), sealed as ${f.sha256.slice(0, 12)}… (${f.bytes} bytes)`,
        })
      }
    }
    for (const file of await listFiles(setDir)) {
      if (file === manifestPath || listed.has(file)) continue
      const fileRel = `${setRel}/${relative(setDir, file).split(sep).join('/')}`
      problems.push({ kind: 'extra', path: fileRel, message: `${fileRel} is not in the sealed manifest` })
    }
  }

  const artifacts = recordedArtifacts(entries)
  const named = await nameInterruptedTimelineMoves(caseDir, entries, warnings)
  // A recorded file still in the temporary of a write interrupted before its rename is that file,
  // to keep: the next open puts it in place (completeInterruptedWrites).
  const unplacedFiles = await unplacedCaseFiles(caseDir, entries)
  const unplaced = new Map(unplacedFiles.map((f) => [f.temporary, f.path]))
  const unplacedAt = new Map(unplacedFiles.map((f) => [f.path, f.temporary]))
  for (const f of unplacedFiles) if (f.kind === 'artifact') named.unrecorded.add(f.temporary)
  for (const [rel, want] of artifacts) {
    checked.artifacts++
    const path = join(caseDir, rel)
    if (named.misplaced.has(rel)) continue
    const temporary = unplacedAt.get(rel)
    if (temporary) {
      warnings.push(
        `${temporary} is ${rel}, the file the journal records (the same SHA-256 and size): a fir run was interrupted after journaling it, before giving it its name; the next fir command that opens the case puts it in place (keep it)`,
      )
      continue
    }
    // A folder or link in the file's place is the file changed, not missing: it is named as such.
    if (!(await lstat(path).catch(() => undefined))) {
      problems.push({ kind: 'missing', path: rel, message: `${rel} is missing` })
      continue
    }
    const swapped = await notTheFileWritten(path)
    const actual = swapped ? undefined : await sha256File(path)
    if (swapped || actual!.sha256 !== want.sha256) {
      problems.push({
        kind: 'changed',
        path: rel,
        message: `${rel} was changed after fir wrote it${swapped ? `: ${swapped}` : ''}`,
      })
    }
  }

  await findUnrecorded(caseDir, artifacts, problems, warnings, named.unrecorded, writer)
  await checkSecretFiles(caseDir, entries, problems, warnings, unplaced, writer)

  const expected = options.expectHead
  if (expected) {
    const held = entries.find(
      (e) => e.hash.startsWith(expected.hash) && (expected.seq === undefined || e.seq === expected.seq),
    )
    if (!held) {
      const named = `${expected.seq !== undefined ? `${expected.seq}:` : ''}${expected.hash}`
      problems.push({
        kind: 'missing',
        path: JOURNAL_FILE,
        ...(expected.seq !== undefined ? { seq: expected.seq } : {}),
        message: `${JOURNAL_FILE} holds no entry ${named}, recorded earlier as its head: entries were cut off its end, or the chain was rewritten (it now ends at ${entries.length ? `${entries.at(-1)!.seq}:${entries.at(-1)!.hash}` : 'no entry'})`,
      })
    }
  }
  const last = entries.at(-1)
  return {
    ok: problems.length === 0,
    checked,
    problems,
    warnings,
    journalHead: last ? { seq: last.seq, hash: last.hash } : null,
  }
}
