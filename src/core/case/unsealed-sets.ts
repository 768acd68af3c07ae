import { lstat, readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { byteSize, counted, shellArg } from '../common/text.js'
import { EVIDENCE_DIR, sealedSets, UNFINISHED_SET_PREFIX } from './evidence-store.js'
import type { JournalEntry } from './journal.js'
import { type caseLockState, describeHolder } from './lock.js'

/**
 * A folder a snapshot was building a set in (`evidence/.unfinished-<name>/`) whose seal the
 * journal does not hold: never evidence. A set the journal seals that a crash left there is not
 * one (it is evidence, checked where it is, and the next writing command gives it its name).
 */
export interface UnsealedSet {
  /** Case-relative, with its trailing slash: `evidence/.unfinished-<name>/`. */
  path: string
  /** When its snapshot began building it (its name is that time, UTC), or null when it is not. */
  started: string | null
  files: number
  bytes: number
  /**
   * `in-progress`: the live fir command holding the case lock (on this host) began it, and renames
   * or removes it itself; `abandoned`: no live fir command is building it (its snapshot was killed,
   * or the machine went down, before the seal); `unknown`: the case's lock names a holder fir
   * cannot check (another host's, or unreadable), which may be building it.
   */
  state: 'in-progress' | 'abandoned' | 'unknown'
  /** The lock's holder (in-progress, unknown), as messages name it. */
  by?: string
  /** The command that removes it (abandoned, unknown): `rm -rf -- '<case>/evidence/.unfinished-…'`. */
  remove?: string
}

/** The case lock as caseLockState reads it (undefined: no lock file). */
export type LockState = Awaited<ReturnType<typeof caseLockState>>

/** The time a set's name says it was begun (EvidenceSet.create: compactUtc, maybe `-2`…). */
function startedOf(set: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d{3})?Z(?:-\d+)?$/.exec(set)
  if (!m) return null
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? '.000'}Z`
  return Number.isNaN(Date.parse(iso)) ? null : iso
}

/** The files under a folder and their bytes (links counted, never followed). */
async function sizeOf(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0
  let bytes = 0
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      const inner = await sizeOf(path)
      files += inner.files
      bytes += inner.bytes
    } else {
      files++
      bytes += (await lstat(path).catch(() => undefined))?.size ?? 0
    }
  }
  return { files, bytes }
}

/**
 * Whose an unsealed set is. A snapshot builds its set while it holds the case lock, and begins it
 * after taking the lock (the set's name is the time it began): the live fir command holding the
 * lock is building it only when it took the lock before then. A set begun before that command
 * started, or when no live fir command holds the lock, is abandoned. A lock whose holder fir cannot
 * check (another host's, unreadable) may be building it.
 */
function ownerOf(started: string | null, lock: LockState): { state: UnsealedSet['state']; by?: string } {
  if (lock?.live && lock.holder) {
    const since = Date.parse(lock.holder.since)
    if (started === null || Number.isNaN(since) || since <= Date.parse(started))
      return { state: 'in-progress', by: describeHolder(lock.holder, lock.path) }
    return { state: 'abandoned' }
  }
  if (lock && !lock.live && !lock.gone)
    return { state: 'unknown', by: describeHolder(lock.holder, lock.path) }
  return { state: 'abandoned' }
}

/**
 * The case's unsealed sets (see UnsealedSet), each with whose it is and, when no live fir command
 * on this host is building it, the command that removes it. Reads only: fir never removes one
 * itself (it holds what a snapshot fetched before it was killed, maybe the only copy left of a
 * code package since replaced; removing it is the responder's call), and never offers to remove a
 * folder whose set the journal seals.
 */
export async function findUnsealedSets(
  caseDir: string,
  entries: readonly JournalEntry[],
  lock: LockState,
): Promise<UnsealedSet[]> {
  const sealed = new Set(sealedSets(entries).map((s) => s.name))
  const root = join(caseDir, EVIDENCE_DIR)
  const out: UnsealedSet[] = []
  for (const name of (await readdir(root).catch(() => [] as string[])).sort()) {
    if (!name.startsWith(UNFINISHED_SET_PREFIX)) continue
    const set = name.slice(UNFINISHED_SET_PREFIX.length)
    if (sealed.has(set)) continue
    const path = join(root, name)
    // A link or a file under that name is no folder fir made: case verify names it as such.
    if (!(await lstat(path).catch(() => undefined))?.isDirectory()) continue
    const started = startedOf(set)
    const owner = ownerOf(started, lock)
    out.push({
      path: `${EVIDENCE_DIR}/${name}/`,
      started,
      ...(await sizeOf(path)),
      state: owner.state,
      ...(owner.by ? { by: owner.by } : {}),
      ...(owner.state !== 'in-progress' ? { remove: `rm -rf -- ${shellArg(resolve(path))}` } : {}),
    })
  }
  return out
}

/** What an unsealed set is, in one sentence, for `case verify` and `case show`. */
export function describeUnsealedSet(s: UnsealedSet): string {
  const held = `${counted(s.files, 'file')}, ${byteSize(s.bytes)}`
  const began = `the snapshot that began it${s.started ? ` at ${s.started}` : ''}`
  if (s.state === 'in-progress')
    return `${s.path} is a set being built by ${s.by}, the fir command holding the case lock (${held}); it is not evidence until sealed, and that command seals or removes it (leave it)`
  if (s.state === 'unknown')
    return `${s.path} is a set ${began} never sealed (${held}): abandoned, unless ${s.by}, named by the case's lock, which fir cannot check, is building it; it is not evidence. Once no fir command works on the case, remove it: ${s.remove}`
  return `${s.path} is abandoned: ${began} was killed (or the machine went down) before sealing it, and no fir command is building it now (${held}); it is not evidence and nothing in the case refers to it. Remove it (copy out first anything you want to look at): ${s.remove}`
}
