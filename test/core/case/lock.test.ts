import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import {
  acquireCaseLock,
  type CaseLock,
  caseLockState,
  isLiveFirProcess,
  LOCK_FILE,
} from '../../../src/core/case/lock.js'
import { isTemporaryName } from '../../../src/core/common/interrupt.js'
import { CaseLockedError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'
import { startFirStandIn } from '../../support/fir-stand-in.js'

/** A pid of this host that names no running process: a child that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise((r) => child.on('close', r))
  return child.pid!
}

async function holderCommand(dir: string): Promise<string | undefined> {
  const text = await readFile(join(dir, LOCK_FILE), 'utf8').catch(() => undefined)
  return text === undefined ? undefined : (JSON.parse(text) as { command: string }).command
}

describe('the case lock', () => {
  it('lets one command only take over a lock a killed run left; the live lock of the one that did is never removed', async () => {
    const dir = await tempDir()
    const dead = {
      pid: await deadPid(),
      host: hostname(),
      user: 'root',
      command: 'old',
      since: '2026-01-01T00:00:00Z',
    }
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(dead))
    let first: CaseLock | undefined
    // B judges the lock stale; before it takes it over, A (which judged it stale too) does.
    const second = acquireCaseLock(dir, { user: 'root', command: 'B' }, 5000, {
      beforeTakeover: async (stale) => {
        expect(stale.command).toBe('old')
        first ??= await acquireCaseLock(dir, { user: 'root', command: 'A' }, 0)
      },
    })
    let secondHeld = false
    void second.then(() => {
      secondHeld = true
    })
    for (let i = 0; i < 50 && !first; i++) await sleep(20)
    expect(first?.takenOver?.command).toBe('old')
    await sleep(400)
    // A holds the case: B waits for it rather than removing A's lock and writing beside it.
    expect(secondHeld).toBe(false)
    expect(await holderCommand(dir)).toBe('A')
    await first!.release()
    const b = await second
    expect(await holderCommand(dir)).toBe('B')
    expect(b.takenOver).toBeUndefined() // A's lock was released, not taken over
    await b.release()
    expect(await readdir(dir)).toEqual([])
  })

  it('expires a takeover marker a killed command left, and a marker of that marker', async () => {
    const dir = await tempDir()
    const stale = {
      pid: await deadPid(),
      host: hostname(),
      user: 'root',
      command: 'old',
      since: '2026-01-01T00:00:00Z',
    }
    const marker = { ...stale, command: 'killed while taking over', nonce: '0123456789ab' }
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(stale))
    await writeFile(join(dir, `${LOCK_FILE}.takeover`), JSON.stringify(marker))
    await writeFile(
      join(dir, `${LOCK_FILE}.takeover.takeover`),
      JSON.stringify({ ...marker, nonce: 'ba9876543210' }),
    )
    const lock = await acquireCaseLock(dir, { user: 'root', command: 'new' }, 0)
    expect(lock.takenOver?.command).toBe('old')
    expect(await readdir(dir)).toEqual([LOCK_FILE])
    expect(await holderCommand(dir)).toBe('new')
    await lock.release()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
  })

  it('waits for a takeover under way in a live process, and then names it', async () => {
    const dir = await tempDir()
    const stale = {
      pid: await deadPid(),
      host: hostname(),
      user: 'root',
      command: 'old',
      since: '2026-01-01T00:00:00Z',
    }
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(stale))
    const live = {
      pid: process.pid,
      host: hostname(),
      user: 'ir',
      command: 'fir report',
      since: '2026-01-02T00:00:00Z',
    }
    await writeFile(join(dir, `${LOCK_FILE}.takeover`), JSON.stringify(live))
    const err = await acquireCaseLock(dir, { user: 'root', command: 'new' }, 300).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CaseLockedError)
    expect((err as Error).message).toBe(
      `unable to lock case ${dir}: the lock a killed fir run left is being taken over by process ${process.pid} on ${hostname()} (user ir, since 2026-01-02T00:00:00Z): fir report`,
    )
    expect((err as CaseLockedError).actions.at(-1)).toContain(join(dir, `${LOCK_FILE}.takeover`))
    // Nothing was removed: the stale lock is the live process's to take over.
    expect(await holderCommand(dir)).toBe('old')
    expect((await readdir(dir)).sort()).toEqual([LOCK_FILE, `${LOCK_FILE}.takeover`])
  })

  it('never takes over the lock of a live process, or one it cannot read', async () => {
    const dir = await tempDir()
    const live = {
      pid: process.pid,
      host: hostname(),
      user: 'ir',
      command: 'fir timeline',
      since: '2026-01-02T00:00:00Z',
    }
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(live))
    // This test's process is live but no fir command (as a pid reused after a crash is): not taken
    // over all the same, and named as what it is. Before: "it is in use by process N … fir
    // timeline", wait for that command to finish (while case verify called the lock stale).
    const err = await acquireCaseLock(dir, { user: 'root', command: 'new' }, 200).catch((e) => e)
    expect(err).toBeInstanceOf(CaseLockedError)
    expect(err.message).toMatch(
      /its lock names process \d+ .*: fir timeline, but process \d+ is not a fir command now \(its number was reused after a crash or a reboot\)/,
    )
    expect(err.actions[0]).toBe(
      `make sure no fir command is working on this case, then remove ${join(dir, LOCK_FILE)} and run this command again`,
    )
    expect(await holderCommand(dir)).toBe('fir timeline')
    await writeFile(join(dir, LOCK_FILE), '')
    await expect(acquireCaseLock(dir, { user: 'root', command: 'new' }, 200)).rejects.toThrow(
      /it is in use by an unknown process \(.*\.lock is unreadable\)$/,
    )
    expect(await readdir(dir)).toEqual([LOCK_FILE])
  })
})

describe('the lock of a live fir command', () => {
  it('is waited for and named as in use (a fir command reading a pipe holds it)', async () => {
    const cwd = await tempDir()
    const run = (args: string[], stdin: 'pipe' | 'ignore' = 'ignore') =>
      spawn(process.execPath, [join(process.cwd(), 'bin/run.js'), ...args], {
        cwd,
        env: { ...process.env, FIR_EMULATOR_ONLY: '1' },
        stdio: [stdin, 'pipe', 'pipe'],
      })
    await new Promise((r) => run(['case', 'init', 'P']).on('close', r))
    const dir = join(cwd, 'cases', 'P')
    // Reading a pipe that stays open: it holds the case lock until its input ends.
    const reader = run(['timeline', '--case', dir, '--source', '-'], 'pipe')
    try {
      for (let i = 0; i < 200 && (await holderCommand(dir)) === undefined; i++) await sleep(50)
      const err = await acquireCaseLock(dir, { user: 'root', command: 'new' }, 300).catch((e) => e)
      expect(err).toBeInstanceOf(CaseLockedError)
      expect(err.message).toMatch(new RegExp(`it is in use by process ${reader.pid} on .*timeline`))
    } finally {
      reader.stdin!.end()
      await new Promise((r) => reader.on('close', r))
    }
  })
})

describe('the lock of a fir started by a relative path', () => {
  it('is the live lock of a fir command, not one a reused pid holds (`node ../x/bin/run.js`)', async () => {
    const fir = await startFirStandIn()
    try {
      const dir = await tempDir()
      const holder = {
        pid: fir.pid,
        host: hostname(),
        user: 'ir',
        command: 'fir timeline',
        since: '2026-01-02T00:00:00Z',
      }
      await writeFile(join(dir, LOCK_FILE), JSON.stringify(holder))
      // Before: /proc/<pid>/cwd joined to ../fir/bin/run.js as text (/proc/<pid>/fir/bin/run.js):
      // "not a fir command now (its number was reused…)", remove the lock; verify called it stale.
      expect(await isLiveFirProcess(fir.pid)).toBe(true)
      expect(await caseLockState(dir)).toMatchObject({ live: true, holder })
      const err = await acquireCaseLock(dir, { user: 'root', command: 'new' }, 200).catch((e) => e)
      expect(err).toBeInstanceOf(CaseLockedError)
      expect(err.message).toBe(
        `unable to lock case ${dir}: it is in use by process ${fir.pid} on ${hostname()} (user ir, since 2026-01-02T00:00:00Z): fir timeline`,
      )
    } finally {
      await fir.stop()
    }
  })
})

describe('lock temporaries', () => {
  it('leaves a lock being written alone and removes one a killed process left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fir-lock-tmp-'))
    const fresh = join(dir, '.lock.0123456789ab.tmp')
    const stale = join(dir, '.lock.takeover.ba9876543210.tmp')
    await writeFile(fresh, '{}')
    await writeFile(stale, '{}')
    const old = new Date(Date.now() - 5 * 60_000)
    await utimes(stale, old, old)
    // Not one of the temporaries the case's sweep removes: another command writes it meanwhile.
    expect(isTemporaryName('.lock.0123456789ab.tmp')).toBe(false)
    const lock = await acquireCaseLock(dir, { user: 'u', command: 'test' }, 1000)
    const names = await readdir(dir)
    expect(names).toContain('.lock.0123456789ab.tmp')
    expect(names).not.toContain('.lock.takeover.ba9876543210.tmp')
    // The lock itself was written beside its name and linked: nothing of that is left.
    expect(names.filter((n) => n.startsWith('.lock.') && n !== '.lock.0123456789ab.tmp')).toEqual([])
    await lock.release()
    await rm(dir, { recursive: true, force: true })
  })
})
