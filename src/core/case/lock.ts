import { randomBytes } from 'node:crypto'
import { constants, readFileSync, rmSync } from 'node:fs'
import { link, open, readdir, readFile, realpath, rm, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CaseLockedError } from '../../errors.js'
import { FILE_MODE } from '../common/fs-safe.js'
import { atInterrupt } from '../common/interrupt.js'

export interface LockHolder {
  pid: number
  host: string
  user: string
  command: string
  since: string
}

export interface CaseLock {
  /**
   * The holder named by a lock a dead process on this host had left (a killed run), which this
   * one replaced; the caller warns with it.
   */
  readonly takenOver?: LockHolder
  /**
   * The folder holding the lock was renamed to `caseDir` (case init builds a case under a
   * temporary name, then renames it into place): the lock file moved with it.
   */
  movedTo(caseDir: string): void
  release(): Promise<void>
}

export const LOCK_FILE = '.lock'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function parseHolder(text: string | undefined): LockHolder | undefined {
  try {
    const holder = JSON.parse(text ?? '') as LockHolder
    return holder && typeof holder === 'object' ? holder : undefined
  } catch {
    return undefined
  }
}

/** The text of a lock or takeover marker, or undefined when there is none. */
async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined)
}

/** Whether a lock or marker was left by a process of this host that is no longer running. */
function leftByDeadProcess(holder: LockHolder | undefined): holder is LockHolder {
  return holder !== undefined && holder.host === hostname() && !alive(holder.pid)
}

/** Creates `path` exclusively with `text`; false when it is there already. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  // Written whole beside it first, then linked into place (link fails if the name exists): a lock
  // is never seen empty. Created empty and then written, a crash between the two left a lock no
  // one could read or take over, and every later command waited for it, then gave up.
  const tmp = lockTempPath(path)
  try {
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE)
    try {
      await handle.writeFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    try {
      await link(tmp, path)
      return true
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') return false
      // A file system without hard links (FAT, some network shares): created in place instead.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err
    }
  } finally {
    await rm(tmp, { force: true })
  }
  return createInPlace(path, text)
}

/**
 * Where a lock is written before it is linked into place: `<name>.<12 hex>.tmp` beside it. Not a
 * name the case's sweep of temporaries removes (`.<12 hex>.tmp`): other commands write theirs
 * while waiting for the lock, outside it. One a killed process left is removed by the next
 * holder of the lock once it is older than LOCK_TEMP_STALE_MS (see removeStaleLockTemps).
 */
function lockTempPath(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`
}

const LOCK_TEMP = /^\.lock(\.takeover)*\.[0-9a-f]{12}\.tmp$/
/** A lock is written and linked within milliseconds: a temporary older than this was left by a crash. */
const LOCK_TEMP_STALE_MS = 60_000

/** Removes lock temporaries a killed process left in the case folder (call holding the lock). */
async function removeStaleLockTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[])
  for (const name of names) {
    if (!LOCK_TEMP.test(name)) continue
    const st = await stat(join(dir, name)).catch(() => undefined)
    if (st && Date.now() - st.mtimeMs > LOCK_TEMP_STALE_MS) await rm(join(dir, name), { force: true })
  }
}

/** O_EXCL create, then write: for file systems without hard links. */
async function createInPlace(path: string, text: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
  try {
    await handle.writeFile(text)
    await handle.sync()
  } catch (err) {
    // Ours, made a moment ago: left empty (a full disk), it would read as an unknown holder's.
    await handle.close()
    await rm(path, { force: true })
    throw err
  }
  await handle.close()
  return true
}

/** Suffix of the marker that whoever takes over a file holds meanwhile (`.lock.takeover`). */
const TAKEOVER = '.takeover'
/** Markers of markers, each left by a crash inside the one before: past this, a person looks. */
const MAX_TAKEOVER_DEPTH = 4

type TakeoverResult =
  | { done: 'removed' | 'changed' | 'retry' }
  | { done: 'busy'; marker: string; holder: LockHolder | undefined }

/**
 * Removes `path` — a lock or takeover marker whose holder was judged dead — only while it still
 * holds `judged`, the text it held when judged. Reading a file, judging it and removing it are three
 * steps; two commands that judged the same stale lock would otherwise both remove it, the second
 * removing the live lock the first had made meanwhile, and both would write the case (a forked
 * journal). So the removal is done holding a marker, `<path>.takeover`, created exclusively: one
 * command at a time re-reads the file and compares it with what it judged; any other that judged
 * the same lock finds it changed, or the marker taken, and waits like any other contender. A
 * marker is held for the few milliseconds of that comparison: one left by a killed process expires
 * as a lock does (its holder is no longer running) and is removed the same way, holding a marker of
 * its own. A marker of a live process, of another host or unreadable is waited for. Content, not
 * inode, names a lock: inode numbers are reused at once, and every lock and marker records its pid,
 * host and start time to the millisecond (a marker also a random nonce).
 */
async function removeIfUnchanged(
  path: string,
  judged: string,
  me: LockHolder,
  depth = 0,
): Promise<TakeoverResult> {
  const marker = `${path}${TAKEOVER}`
  const mine = JSON.stringify({
    ...me,
    since: new Date().toISOString(),
    nonce: randomBytes(6).toString('hex'),
  })
  if (!(await createExclusive(marker, mine))) {
    const text = await readText(marker)
    if (text === undefined) return { done: 'retry' } // released meanwhile
    const holder = parseHolder(text)
    if (leftByDeadProcess(holder) && depth < MAX_TAKEOVER_DEPTH) {
      const inner = await removeIfUnchanged(marker, text, me, depth + 1)
      return inner.done === 'busy' ? inner : { done: 'retry' }
    }
    return { done: 'busy', marker, holder }
  }
  try {
    if ((await readText(path)) !== judged) return { done: 'changed' }
    await rm(path, { force: true })
    return { done: 'removed' }
  } finally {
    // Ours: no one removes the marker of a live process.
    await rm(marker, { force: true })
  }
}

/** Points in taking the lock where a test can make another process act (see lock.test.ts). */
export interface LockSeams {
  /**
   * Runs after a lock was judged left by a dead process, before it is taken over: the window in
   * which another command can take over the same lock first.
   */
  beforeTakeover?: (stale: LockHolder) => Promise<void>
}

/**
 * The holder of the lock in a folder when it is a process on this host that is no longer running
 * (a killed run's lock); undefined when there is no such lock.
 */
export async function deadLockHolder(dir: string): Promise<LockHolder | undefined> {
  const holder = parseHolder(await readText(join(dir, LOCK_FILE)))
  return leftByDeadProcess(holder) ? holder : undefined
}

/**
 * Whether `pid` is a fir command running on this host: the process is alive and, on Linux, its
 * /proc/<pid>/cmdline shows node running a fir bin/run.js or bin/dev.js (the script's real path,
 * beside a package.json named fir). Elsewhere a live pid is taken as fir's. A lock file holds
 * whatever was written into it (pid 1, a reused pid): a command that must not be held up by a lock
 * fir did not write (case verify) goes by this, not by the pid alone.
 */
export async function isLiveFirProcess(pid: unknown): Promise<boolean> {
  // 0 and negative pids name process groups: kill(0, 0) succeeds for any caller.
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0 || !alive(pid)) return false
  if (process.platform !== 'linux') return true
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined)
  const [exe, ...args] = (cmdline ?? '').split('\0').filter((a) => a !== '')
  if (!exe || !/node/i.test(basename(exe))) return false
  // The process's folder is followed before a relative script is joined to it: resolve() treats
  // `..` as text, and `/proc/<pid>/cwd` + `../x/bin/run.js` became `/proc/<pid>/x/bin/run.js`, so a
  // fir started as `node ../x/bin/run.js` was taken for no fir command, its lock for a stale one.
  const cwd = await realpath(`/proc/${pid}/cwd`).catch(() => undefined)
  for (const arg of args) {
    if (arg.startsWith('-')) continue
    if (!isAbsolute(arg) && cwd === undefined) continue
    const script = await realpath(resolve(cwd ?? '/', arg)).catch(() => undefined)
    if (!script || !/^(run|dev)\.js$/.test(basename(script)) || basename(dirname(script)) !== 'bin') continue
    const pkg = await readFile(join(dirname(dirname(script)), 'package.json'), 'utf8').catch(() => '')
    try {
      if ((JSON.parse(pkg) as { name?: unknown }).name === 'fir') return true
    } catch {
      // not fir's package
    }
  }
  return false
}

/**
 * The lock of a case as case verify sees it: `live` when a fir command running on this host holds
 * it (isLiveFirProcess), `stale` when a lock file is there but no live fir process can be
 * confirmed to hold it (unreadable, another host's, a dead or non-fir pid); undefined when there
 * is no lock file. `gone`: its holder is known to be no running fir command (a process of this
 * host that is not running, or is not fir); an unreadable lock or another host's is not.
 */
export async function caseLockState(
  dir: string,
): Promise<
  { live: boolean; gone: boolean; path: string; holder: LockHolder | undefined; why: string } | undefined
> {
  const path = join(dir, LOCK_FILE)
  const text = await readText(path)
  if (text === undefined) return undefined
  const holder = parseHolder(text)
  if (!holder) return { live: false, gone: false, path, holder, why: 'it is unreadable' }
  if (holder.host !== hostname())
    return {
      live: false,
      gone: false,
      path,
      holder,
      why: `it names host ${JSON.stringify(holder.host)}, not this one`,
    }
  if (await isLiveFirProcess(holder.pid)) return { live: true, gone: false, path, holder, why: '' }
  return typeof holder.pid === 'number' && alive(holder.pid) && holder.pid > 0
    ? { live: false, gone: true, path, holder, why: `process ${holder.pid} it names is not a fir command` }
    : {
        live: false,
        gone: true,
        path,
        holder,
        why: `process ${holder.pid} it names is not running (a killed run's lock)`,
      }
}

/** A lock's holder as messages name it: process, host, user, start and command line. */
export function describeHolder(holder: LockHolder | undefined, path: string): string {
  return holder
    ? `process ${holder.pid} on ${holder.host} (user ${holder.user}, since ${holder.since}): ${holder.command}`
    : `an unknown process (${path} is unreadable)`
}

/**
 * Takes the case lock (`<case>/.lock`, created exclusively). A lock left by a dead process on this
 * host is taken over (and returned as `takenOver`) by one command only, however many judged it
 * stale at once (see removeIfUnchanged); a live holder is waited for up to `waitMs`, then the error
 * names it. A lock is released only while it is still the one this call wrote.
 */
export async function acquireCaseLock(
  caseDir: string,
  me: Omit<LockHolder, 'pid' | 'host' | 'since'>,
  waitMs = Number(process.env.FIR_LOCK_WAIT_MS ?? 10_000),
  seams: LockSeams = {},
): Promise<CaseLock> {
  let path = join(caseDir, LOCK_FILE)
  const deadline = Date.now() + waitMs
  const holderInfo: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    ...me,
  }
  const written = JSON.stringify(holderInfo)
  let takenOver: LockHolder | undefined
  for (;;) {
    if (await createExclusive(path, written)) {
      await removeStaleLockTemps(caseDir)
      let released = false
      // Interrupted: the lock goes with the process (the next command would take it over anyway).
      const untrack = atInterrupt('released the case lock', () => {
        let now: string | undefined
        try {
          now = readFileSync(path, 'utf8')
        } catch {
          return // already gone
        }
        if (now === written) rmSync(path, { force: true })
      })
      return {
        ...(takenOver ? { takenOver } : {}),
        movedTo(dir: string) {
          path = join(dir, LOCK_FILE)
        },
        async release() {
          if (released) return
          released = true
          untrack()
          if ((await readText(path)) === written) await rm(path, { force: true })
        },
      }
    }
    const text = await readText(path)
    const holder = parseHolder(text)
    let blocker: { path: string; holder: LockHolder | undefined; takingOver?: boolean } = { path, holder }
    if (text !== undefined && leftByDeadProcess(holder)) {
      await seams.beforeTakeover?.(holder)
      const result = await removeIfUnchanged(path, text, holderInfo)
      if (result.done === 'removed') takenOver = holder
      if (result.done !== 'busy') continue
      blocker = { path: result.marker, holder: result.holder, takingOver: true }
    }
    if (Date.now() >= deadline) {
      // A live pid that is no fir command (reused after a crash or a reboot) is not taken over: on
      // a platform or install where fir cannot be told by its command line, that would let two
      // commands write the case. The error says what it is, and how to free the case.
      const h = blocker.holder
      const notFir =
        !blocker.takingOver &&
        h !== undefined &&
        h.host === hostname() &&
        process.platform === 'linux' &&
        !(await isLiveFirProcess(h.pid))
      throw lockedError(caseDir, { ...blocker, notFir })
    }
    await sleep(100)
  }
}

function lockedError(
  caseDir: string,
  blocker: { path: string; holder: LockHolder | undefined; takingOver?: boolean; notFir?: boolean },
): CaseLockedError {
  const who = describeHolder(blocker.holder, blocker.path)
  if (blocker.notFir) {
    return new CaseLockedError(
      `unable to lock case ${caseDir}: its lock names ${who}, but process ${blocker.holder!.pid} is not a fir command now (its number was reused after a crash or a reboot): the lock was left by a fir run that is gone`,
      {
        actions: [
          `make sure no fir command is working on this case, then remove ${blocker.path} and run this command again`,
          `fir case verify --case ${caseDir} names the lock stale too`,
        ],
      },
    )
  }
  const what = blocker.takingOver
    ? `the lock a killed fir run left is being taken over by ${who}`
    : `it is in use by ${who}`
  return new CaseLockedError(`unable to lock case ${caseDir}: ${what}`, {
    actions: [
      'wait for that command to finish and run this one again',
      `if that process is gone (another host, a crash), remove ${blocker.path} by hand`,
    ],
  })
}
