import { lstatSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

/**
 * What fir must undo if the process is interrupted (Ctrl-C, SIGTERM) while it writes: temporary
 * files and folders (a hunt's partial events.jsonl is hundreds of megabytes) and the case lock.
 * Each cleanup is synchronous: it runs in a signal handler, just before the process dies.
 */
const cleanups = new Map<number, { what: string; run: () => void }>()
let next = 0

/**
 * Registers a cleanup for an interruption, `what` naming it for the message (a path, or words);
 * call the returned function once it is no longer needed.
 */
export function atInterrupt(what: string, run: () => void): () => void {
  const key = next++
  cleanups.set(key, { what, run })
  return () => {
    cleanups.delete(key)
  }
}

/** A temporary file or folder, removed if the process is interrupted before `done` is called. */
export function trackTemporary(path: string): () => void {
  return atInterrupt(path, () => rmSync(path, { recursive: true, force: true }))
}

/** Runs every registered cleanup (newest first); returns what each was for. */
export function runInterruptCleanups(): string[] {
  const done: string[] = []
  for (const [key, c] of [...cleanups].reverse()) {
    cleanups.delete(key)
    try {
      c.run()
      done.push(c.what)
    } catch {
      // the process is going down: the next open of the case sweeps what is left
    }
  }
  return done
}

/** fir's temporaries: atomic writes (`.<12 hex>.tmp`) and timeline spools (`.spool-XXXXXX`). */
const TEMPORARY = /^(?:\.[0-9a-f]{12}\.tmp|\.spool-[A-Za-z0-9]{6})$/

/**
 * Removes the temporaries a dead fir process left in these folders (killed, or the machine went
 * down, before its own cleanup ran). Call only while holding the case lock: then no live fir
 * process is writing them. Returns each one removed with its size.
 */
export function sweepTemporaries(dirs: string[]): { path: string; bytes: number }[] {
  const removed: { path: string; bytes: number }[] = []
  for (const dir of dirs) {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      continue // not there yet
    }
    for (const name of names) {
      if (!TEMPORARY.test(name)) continue
      const path = join(dir, name)
      const bytes = sizeOf(path)
      rmSync(path, { recursive: true, force: true })
      removed.push({ path, bytes })
    }
  }
  return removed
}

function sizeOf(path: string): number {
  const st = lstatSync(path)
  if (!st.isDirectory()) return st.size
  let total = 0
  for (const name of readdirSync(path)) total += sizeOf(join(path, name))
  return total
}
