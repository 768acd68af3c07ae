import { lstatSync, readdirSync, rmdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { isatty } from 'node:tty'
import { relativeInside } from './paths.js'
import { escapeTerminal } from './text.js'

/**
 * What fir must undo if the process is interrupted (Ctrl-C, SIGTERM, a closed terminal) while it
 * works: temporary files and folders (a hunt's partial events.jsonl runs to hundreds of megabytes),
 * the case lock, a drill's emulator, a query left running on AWS. While any is registered, those
 * signals run every cleanup, newest first (synchronously: the process is about to die), say what
 * was done, then end the process by the same signal, as it would have ended without fir's handler
 * (exit status 128 + the signal). A cleanup that must call AWS (stop a query and journal it) is
 * registered with {@link atInterruptAwaited}: the process then waits for it, up to
 * {@link AWAITED_CLEANUP_MS}, and a second signal meanwhile ends it at once.
 */
interface Cleanup {
  /** What it did, or a function that says it when asked (undefined: nothing to say). */
  what: string | (() => string | undefined)
  run: (signal?: NodeJS.Signals) => unknown
  /** Returns a promise to wait for, resolving to what was done (or undefined: `what`). */
  awaited?: true
  /** What to say when an awaited cleanup has not finished in time (else `<what>: not finished`). */
  late?: (limitMs: number) => string
}
const cleanups = new Map<number, Cleanup>()
/** How long an interruption waits for the awaited cleanups, all of them together. */
export const AWAITED_CLEANUP_MS = 15_000
let next = 0
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
let listening = false

/**
 * A run with no terminal on stdin, stdout or stderr (`nohup fir … &`, cron, a script writing to
 * files) ignores SIGHUP for its whole life: a hangup of a terminal it does not use is not an
 * interruption. Node.js resets an inherited "ignore SIGHUP" to the default (exit) when it starts,
 * so without this `nohup` would not keep a long hunt alive after the responder logs out. Call once,
 * at start; returns whether hangups are now ignored.
 */
export function ignoreHangupWithoutTerminal(attached = [0, 1, 2].some((fd) => isatty(fd))): boolean {
  if (attached) return false
  const i = SIGNALS.indexOf('SIGHUP')
  if (i === -1) return true
  if (listening) process.off('SIGHUP', onSignal)
  SIGNALS.splice(i, 1)
  process.on('SIGHUP', ignoreSignal)
  return true
}

function ignoreSignal(): void {}

/**
 * Resolves once what fir wrote to stdout and stderr is written, before the process exits (bin/run.js,
 * bin/dev.js). Node writes to a pipe asynchronously: what the pipe had no room for yet is still
 * queued, and exiting now would cut a long --json document off mid-string. An empty write's
 * callback runs once everything before it is written (or the reader is gone).
 */
export async function outputFlushed(): Promise<void> {
  const flushed = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) =>
      stream.writableLength === 0 ? resolve() : stream.write('', () => resolve()),
    )
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
}

function onSignal(signal: NodeJS.Signals): void {
  const end = (done: string[]) => {
    if (done.length > 0) process.stderr.write(`\ninterrupted (${signal}): ${done.join('; ')}\n`)
    process.kill(process.pid, signal)
  }
  if (![...cleanups.values()].some((c) => c.awaited)) {
    setListening(false)
    end(runInterruptCleanups())
    return
  }
  // No handler from here on: a second signal while a cleanup calls AWS ends the process at once.
  setListening(false)
  void settleInterruptCleanups(signal).then(end)
}

function setListening(on: boolean): void {
  if (on === listening) return
  listening = on
  for (const s of SIGNALS) {
    if (on) process.on(s, onSignal)
    else process.off(s, onSignal)
  }
}

/**
 * Registers a cleanup for an interruption, `what` saying what it does ("released the case lock"),
 * or a function asked at the interruption (what is kept by then: a count that grows as the run
 * works; undefined says nothing); call the returned function once it is no longer needed.
 */
export function atInterrupt(what: string | (() => string | undefined), run: () => void): () => void {
  return register({ what, run })
}

/** What a cleanup says it did (nothing when its function has nothing to say). */
function said(c: Cleanup): string[] {
  const text = typeof c.what === 'function' ? c.what() : c.what
  return text ? [text] : []
}

/**
 * Registers a cleanup that works asynchronously (calls AWS, journals): an interruption waits for
 * it (see {@link AWAITED_CLEANUP_MS}). It resolves to what it did (undefined: `what`); `late`
 * says what is left undone when it has not finished in time (asked then, so it can tell how far
 * it got). Call the returned function once it is no longer needed.
 */
export function atInterruptAwaited(
  what: string,
  run: (signal?: NodeJS.Signals) => Promise<string | undefined>,
  late?: (limitMs: number) => string,
): () => void {
  return register({ what, run, awaited: true, ...(late ? { late } : {}) })
}

function register(cleanup: Cleanup): () => void {
  const key = next++
  cleanups.set(key, cleanup)
  setListening(true)
  return () => {
    cleanups.delete(key)
    if (cleanups.size === 0) setListening(false)
  }
}

/** A temporary file or folder, removed if the process is interrupted before `done` is called. */
export function trackTemporary(path: string): () => void {
  const shown = relativeInside(process.cwd(), path) ?? path
  return atInterrupt(`removed ${escapeTerminal(shown)}`, () => rmSync(path, { recursive: true, force: true }))
}

/**
 * A folder made for temporaries (tracked on their own), removed if the process is interrupted
 * while it is still empty once they are gone: cleanups run newest first, so track it before them.
 */
export function trackEmptyFolder(path: string): () => void {
  const shown = relativeInside(process.cwd(), path) ?? path
  return atInterrupt(`removed ${escapeTerminal(shown)}/`, () => rmdirSync(path))
}

/** What an interruption now would do and say, newest first (each cleanup's `what`). */
export function pendingInterruptCleanups(): string[] {
  return [...cleanups.values()].reverse().flatMap(said)
}

/**
 * Runs every registered cleanup (newest first); returns what each did. An awaited one is started,
 * not waited for: see {@link settleInterruptCleanups}.
 */
export function runInterruptCleanups(): string[] {
  const done: string[] = []
  for (const [key, c] of [...cleanups].reverse()) {
    cleanups.delete(key)
    if (cleanups.size === 0) setListening(false)
    try {
      const out = c.run()
      if (out instanceof Promise) out.catch(() => undefined)
      done.push(...said(c))
    } catch {
      // the process is going down: the next open of the case sweeps what is left
    }
  }
  return done
}

/**
 * Runs every registered cleanup (newest first), waiting for the awaited ones, all within
 * `limitMs`; returns what each did. What an interruption runs when an awaited cleanup is registered.
 */
export async function settleInterruptCleanups(
  signal?: NodeJS.Signals,
  limitMs = AWAITED_CLEANUP_MS,
): Promise<string[]> {
  const deadline = Date.now() + limitMs
  const done: string[] = []
  for (const [key, c] of [...cleanups].reverse()) {
    cleanups.delete(key)
    if (cleanups.size === 0) setListening(false)
    try {
      const out = c.run(signal)
      if (!c.awaited || !(out instanceof Promise)) {
        done.push(...said(c))
        continue
      }
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<string>((resolve) => {
        timer = setTimeout(
          () => resolve(c.late?.(limitMs) ?? `${said(c).join('')}: not finished after ${limitMs / 1000} s`),
          Math.max(0, deadline - Date.now()),
        )
      })
      const told = await Promise.race([out, late]).finally(() => clearTimeout(timer))
      done.push(...(typeof told === 'string' ? [told] : said(c)))
    } catch {
      // the process is going down: the next open of the case sweeps what is left
    }
  }
  return done
}

/**
 * fir's temporaries: atomic writes (`.<12 hex>.tmp`), timeline spools (`.spool-XXXXXX`) and code
 * or layer downloads (`.download-<12 hex>.partial`, see partialPathIn).
 */
const TEMPORARY = /^(?:\.[0-9a-f]{12}\.tmp|\.spool-[A-Za-z0-9]{6}|\.download-[0-9a-f]{12}\.partial)$/

/** Whether a file or folder name is one of fir's temporaries (what sweepTemporaries removes). */
export function isTemporaryName(name: string): boolean {
  return TEMPORARY.test(name)
}

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
      if (!isTemporaryName(name)) continue
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
