import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, vi } from 'vitest'
import { askYesNo } from '../../src/base-command.js'
import { sha256File } from '../../src/core/common/hash.js'
import { initCase, runFir, tempDir } from '../support/cli.js'
import { generateCorpus, packTrailFiles, writeTrailFiles } from '../support/trail-generator.js'

const window = ['--since', '2025-03-01T00:00:00Z', '--until', '2025-03-02T00:00:00Z']
const sha = async (path: string) => (await sha256File(path)).sha256

describe('an interrupted command (Ctrl-C)', () => {
  it('removes what it was writing and the case lock, and the next run sweeps what a killed one left', async () => {
    const cwd = await tempDir()
    // An endpoint that accepts connections and never answers: a run over S3 waits on its first call
    // (runs over local files call nothing).
    const sockets: Socket[] = []
    const server = createServer((s) => sockets.push(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    try {
      await initCase('IR', { cwd })
      const caseDir = join(cwd, 'cases', 'IR')
      const timeline = join(caseDir, 'timeline')
      // A timeline already in the case: an interrupted run must leave it as it was.
      const target = { functionName: 'orders-api', roleName: 'orders-api-role', region: 'eu-west-1' }
      const corpus = generateCorpus({
        seed: 7,
        records: 300,
        start: new Date('2025-03-01T00:00:00Z'),
        end: new Date('2025-03-02T00:00:00Z'),
        target,
        related: 10,
      })
      const src = join(cwd, 'trail')
      await writeTrailFiles(src, packTrailFiles(corpus.records, { account: corpus.account, maxPerFile: 50 }))
      const first = await runFir(['timeline', '--case', 'cases/IR', '--source', src, ...window], {
        cwd,
        endpoint,
      })
      expect(first.code, first.stderr).toBe(0)
      const events = join(timeline, 'events.jsonl')
      const before = await sha(events)
      // What a killed run (SIGKILL, a crash) leaves: swept when the case is next opened, by name,
      // outside evidence folders only.
      await writeFile(join(timeline, '.0123456789ab.tmp'), 'x'.repeat(2000))
      await mkdir(join(timeline, '.spool-Zz9Yy8'))
      await writeFile(join(timeline, '.spool-Zz9Yy8', 'run-0'), 'y'.repeat(500))
      await mkdir(join(caseDir, 'evidence', 'set-1'), { recursive: true })
      await writeFile(join(caseDir, 'evidence', 'set-1', '.0123456789ab.tmp'), 'partial evidence')

      let child: import('node:child_process').ChildProcess | undefined
      const running = runFir(
        ['timeline', '--case', 'cases/IR', '--source', 's3://trail-bucket/logs', ...window],
        {
          cwd,
          endpoint,
          onSpawn: (c) => {
            child = c
          },
        },
      )
      const spoolOf = async () => (await readdir(timeline)).find((n) => n.startsWith('.spool-'))
      for (let i = 0; i < 400 && !(sockets.length > 0 && (await spoolOf())); i++) await sleep(50)
      expect(sockets.length).toBeGreaterThan(0)
      const spool = await spoolOf()
      expect(spool).toMatch(/^\.spool-[A-Za-z0-9]{6}$/)
      expect(spool).not.toBe('.spool-Zz9Yy8')
      expect(existsSync(join(caseDir, '.lock'))).toBe(true)
      // No terminal on its stdin, stdout or stderr (as under `nohup … &`): a hangup is ignored.
      child!.kill('SIGHUP')
      await sleep(500)
      expect(child!.exitCode).toBeNull()
      expect(child!.signalCode).toBeNull()
      child!.kill('SIGINT')
      const r = await running

      expect(r.signal).toBe('SIGINT')
      expect(r.stderr).toContain(
        'warning: removed what an interrupted fir run had left in the case (2.5 kB): timeline/.0123456789ab.tmp, timeline/.spool-Zz9Yy8',
      )
      expect(r.stderr).toMatch(
        new RegExp(
          `interrupted \\(SIGINT\\): removed cases/IR/timeline/\\${spool}; released the case lock\\n$`,
        ),
      )
      expect((await readdir(timeline)).filter((n) => n.startsWith('.'))).toEqual([])
      expect(existsSync(join(caseDir, '.lock'))).toBe(false)
      expect(await sha(events)).toBe(before)
      expect(await readFile(join(caseDir, 'evidence', 'set-1', '.0123456789ab.tmp'), 'utf8')).toBe(
        'partial evidence',
      )
      // The case is usable at once: no lock to wait for, nothing to tidy.
      const again = await runFir(['timeline', '--case', 'cases/IR', '--source', src, ...window], {
        cwd,
        endpoint,
      })
      expect(again.code, again.stderr).toBe(0)
      expect(again.stderr).not.toContain('interrupted fir run')
    } finally {
      for (const s of sockets) s.destroy()
      server.close()
    }
  })

  it('takes over the case lock a killed run left, with a warning naming the lock and its dead holder', async () => {
    const cwd = await tempDir()
    await initCase('IR', { cwd })
    const lock = join(cwd, 'cases', 'IR', '.lock')
    // A process of this host that has ended: its pid names no running process.
    const dead = spawn(process.execPath, ['-e', ''])
    await new Promise((r) => dead.on('close', r))
    const holder = {
      pid: dead.pid,
      host: hostname(),
      user: 'responder',
      command: 'fir timeline --case cases/IR --source s3://trail-bucket/logs',
      since: '2026-11-28T20:15:03.000Z',
    }
    await writeFile(lock, JSON.stringify(holder))
    const r = await runFir(['report', '--case', 'cases/IR', '--out', join(cwd, 'report.html')], {
      cwd,
      env: { FIR_LOCK_WAIT_MS: '300' },
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(
      `warning: removed the case lock ${lock} that a killed fir run had left: process ${dead.pid} on ${hostname()} (user responder, since 2026-11-28T20:15:03.000Z) is no longer running: fir timeline --case cases/IR --source s3://trail-bucket/logs`,
    )
    expect(existsSync(lock)).toBe(false)
    // Nothing left this time: no warning.
    const again = await runFir(['report', '--case', 'cases/IR', '--out', join(cwd, 'report.html')], { cwd })
    expect(again.code).toBe(0)
    expect(again.stderr).not.toContain('case lock')
  })

  it("lets one of several commands started at once take over a killed run's lock; the others wait, and the journal stays one chain", async () => {
    const cwd = await tempDir()
    await initCase('IR', { cwd })
    const dead = spawn(process.execPath, ['-e', ''])
    await new Promise((r) => dead.on('close', r))
    const holder = {
      pid: dead.pid,
      host: hostname(),
      user: 'root',
      command: 'old',
      since: '2026-01-01T00:00:00Z',
    }
    await writeFile(join(cwd, 'cases', 'IR', '.lock'), JSON.stringify(holder))
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() =>
        runFir(['report', '--case', 'cases/IR', '--format', 'md'], {
          cwd,
          env: { FIR_LOCK_WAIT_MS: '60000' },
        }),
      ),
    )
    for (const r of runs) expect(r.code, r.stderr).toBe(0)
    expect(runs.filter((r) => r.stderr.includes('removed the case lock'))).toHaveLength(1)
    const verify = await runFir(['case', 'verify', '--case', 'cases/IR', '--json'], { cwd })
    expect(verify.json.error, verify.stdout).toBeUndefined()
    expect(verify.code).toBe(0)
    expect(verify.json.result.checked.journalEntries).toBe(5)
    expect((await readdir(join(cwd, 'cases', 'IR'))).filter((n) => n.startsWith('.'))).toEqual([])
  })

  it("six commands started at once on one case all wait their turn: none loses the lock it is writing to the holder's sweep", async () => {
    // The lock is written beside its name first; the holder's sweep of a killed run's temporaries
    // took a waiting command's file for one and removed it (that command: exit 1, ENOENT on link).
    const cwd = await tempDir()
    await initCase('SIX', { cwd })
    for (let round = 0; round < 2; round++) {
      const runs = await Promise.all(
        [1, 2, 3, 4, 5, 6].map(() =>
          runFir(['report', '--case', 'cases/SIX', '--format', 'md'], {
            cwd,
            env: { FIR_LOCK_WAIT_MS: '60000' },
          }),
        ),
      )
      for (const r of runs) expect(r.code, r.stderr).toBe(0)
      for (const r of runs) expect(r.stderr).not.toContain('had left in the case')
    }
    expect((await runFir(['case', 'verify', '--case', 'cases/SIX'], { cwd })).code).toBe(0)
    expect((await readdir(join(cwd, 'cases', 'SIX'))).filter((n) => n.startsWith('.'))).toEqual([])
  })

  it('treats Ctrl-C at a confirmation as an interruption, not as an error or an answer', async () => {
    const ask = (keys: string) => {
      const input = new PassThrough()
      const interrupt = vi.fn()
      let settled: boolean | string | undefined
      askYesNo('Contain orders-api?', { input, output: new PassThrough(), terminal: true, interrupt }).then(
        (v) => {
          settled = v
        },
        (e: Error) => {
          settled = `error: ${e.message}`
        },
      )
      setImmediate(() => input.write(keys))
      return { interrupt, settled: () => settled }
    }
    const yes = ask('y\r')
    await sleep(50)
    expect(yes.settled()).toBe(true)
    expect(yes.interrupt).not.toHaveBeenCalled()
    const ctrlC = ask('\x03')
    await sleep(50)
    expect(ctrlC.interrupt).toHaveBeenCalledTimes(1)
    expect(ctrlC.settled()).toBeUndefined() // neither yes, nor no, nor a thrown AbortError
  })
})
