import { constants, readFileSync, rmSync } from 'node:fs'
import { open, readFile, rm } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
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

function parseHolder(text: string): LockHolder | undefined {
  try {
    return JSON.parse(text) as LockHolder
  } catch {
    return undefined
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  return parseHolder(await readFile(path, 'utf8').catch(() => ''))
}

/** Whether the lock names this process (a lock taken over by another is not ours). */
function isMine(holder: LockHolder | undefined, me: LockHolder): boolean {
  return holder?.pid === me.pid && holder.host === me.host
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
 * Takes the case lock (`<case>/.lock`, created exclusively). A lock left by a dead process on this
 * host is taken over (and returned as `takenOver`); a live holder is waited for up to `waitMs`,
 * then the error names it.
 */
export async function acquireCaseLock(
  caseDir: string,
  me: Omit<LockHolder, 'pid' | 'host' | 'since'>,
  waitMs = Number(process.env.FIR_LOCK_WAIT_MS ?? 10_000),
  seams: LockSeams = {},
): Promise<CaseLock> {
  const path = join(caseDir, LOCK_FILE)
  const deadline = Date.now() + waitMs
  const holderInfo: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    ...me,
  }
  let takenOver: LockHolder | undefined
  for (;;) {
    try {
      const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE)
      await handle.writeFile(JSON.stringify(holderInfo))
      await handle.sync()
      await handle.close()
      let released = false
      // Interrupted: the lock goes with the process (the next command would take it over anyway).
      const untrack = atInterrupt('released the case lock', () => {
        if (isMine(parseHolder(readFileSync(path, 'utf8')), holderInfo)) rmSync(path, { force: true })
      })
      return {
        ...(takenOver ? { takenOver } : {}),
        async release() {
          if (released) return
          released = true
          untrack()
          if (isMine(await readHolder(path), holderInfo)) await rm(path, { force: true })
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = await readHolder(path)
    if (holder && holder.host === hostname() && !alive(holder.pid)) {
      await seams.beforeTakeover?.(holder)
      await rm(path, { force: true })
      takenOver = holder
      continue
    }
    if (Date.now() >= deadline) {
      const who = holder
        ? `process ${holder.pid} on ${holder.host} (user ${holder.user}, since ${holder.since}): ${holder.command}`
        : 'an unknown process (the lock file is unreadable)'
      throw new CaseLockedError(`unable to lock case ${caseDir}: it is in use by ${who}`, {
        actions: [
          'wait for that command to finish and run this one again',
          `if that process is gone (another host, a crash), remove ${path} by hand`,
        ],
      })
    }
    await sleep(100)
  }
}
