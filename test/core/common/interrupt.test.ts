import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../../src/core/common/fs-safe.js'
import {
  atInterrupt,
  atInterruptAwaited,
  runInterruptCleanups,
  settleInterruptCleanups,
  sweepTemporaries,
} from '../../../src/core/common/interrupt.js'
import { EventSpool } from '../../../src/core/timeline/spool.js'
import { AtomicFileWriter } from '../../../src/core/timeline/store.js'
import { tempDir } from '../../support/cli.js'

describe('cleanups on an interruption', () => {
  it('removes the files and spools being written, not those already committed or disposed', async () => {
    const dir = await tempDir()
    runInterruptCleanups() // nothing left over from another test in this worker
    const listeners = process.listenerCount('SIGINT')
    const committed = await new AtomicFileWriter(join(dir, 'done.jsonl')).open()
    await committed.write('kept\n')
    await committed.commit()
    const aborted = await new AtomicFileWriter(join(dir, 'aborted.jsonl')).open()
    await aborted.abort()
    const disposed = new EventSpool(dir)
    await disposed.dispose()
    const emptied = new EventSpool(dir)
    await emptied.folder() // made, then disposed: nothing left to remove
    await emptied.dispose()
    const spool = new EventSpool(dir)
    const spoolDir = await spool.folder()
    await writeFile(join(spoolDir, 'run-0'), 'partial run')
    const partial = await new AtomicFileWriter(join(dir, 'events.jsonl')).open()
    await partial.write('half a line')
    await writeFileAtomic(join(dir, 'small.json'), '{}')
    const order: string[] = []
    atInterrupt('first', () => order.push('first'))
    const gone = atInterrupt('never', () => order.push('never'))
    gone()
    atInterrupt('last', () => order.push('last'))
    // While something is registered, fir handles the signal (then ends by it).
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      expect(process.listenerCount(signal)).toBeGreaterThan(0)
    expect(process.listenerCount('SIGINT')).toBe(listeners + 1)
    const before = await readdir(dir)
    expect(before.filter((n) => /^\.[0-9a-f]{12}\.tmp$/.test(n))).toHaveLength(1)

    const removed = runInterruptCleanups()
    expect(order).toEqual(['last', 'first'])
    expect(removed).toContain(`removed ${spoolDir}`)
    expect(removed.filter((w) => w.endsWith('.tmp'))).toHaveLength(1)
    expect(existsSync(spoolDir)).toBe(false)
    expect((await readdir(dir)).sort()).toEqual(
      before.filter((n) => !n.endsWith('.tmp') && n !== spoolDir.split('/').at(-1)).sort(),
    )
    expect(await readFile(join(dir, 'done.jsonl'), 'utf8')).toBe('kept\n')
    expect(await readFile(join(dir, 'small.json'), 'utf8')).toBe('{}')
    expect(runInterruptCleanups()).toEqual([]) // each runs once
    expect(process.listenerCount('SIGINT')).toBe(listeners) // none registered: no handler
    await partial.abort()
    await spool.dispose()
  })

  it('waits for the awaited cleanups, newest first, each saying what it did, within a time limit', async () => {
    runInterruptCleanups()
    const order: string[] = []
    atInterrupt('released the lock', () => order.push('lock'))
    atInterruptAwaited('never finishes', () => new Promise<undefined>(() => undefined))
    atInterruptAwaited('stopped query q-1', async (signal) => {
      await new Promise((r) => setTimeout(r, 20))
      order.push(`query ${signal}`)
      return 'stopped query q-1 (journaled)'
    })
    const done = await settleInterruptCleanups('SIGINT', 200)
    expect(order).toEqual(['query SIGINT', 'lock'])
    expect(done).toEqual([
      'stopped query q-1 (journaled)',
      'never finishes: not finished after 0.2 s',
      'released the lock',
    ])
    expect(await settleInterruptCleanups()).toEqual([]) // each runs once
  })

  it('watches nothing for a writer that could not make its file', async () => {
    runInterruptCleanups()
    // /proc takes no new files: the writer's temporary file is never made.
    await expect(new AtomicFileWriter('/proc/fir-events.jsonl').open()).rejects.toThrow(/ENOENT/)
    expect(runInterruptCleanups()).toEqual([])
  })

  it("sweeps a dead run's temporaries by name only, with their sizes", async () => {
    const dir = await tempDir()
    const timeline = join(dir, 'timeline')
    await mkdir(join(timeline, '.spool-Ab12Cd'), { recursive: true })
    await writeFile(join(timeline, '.spool-Ab12Cd', 'w1-run-0'), 'x'.repeat(300))
    await writeFile(join(timeline, '.0123456789ab.tmp'), 'y'.repeat(1000))
    await writeFile(join(timeline, '.download-0123456789ab.partial'), 'z'.repeat(700))
    // Not fir's temporaries: kept.
    const kept = [
      'events.jsonl',
      '.lock',
      '.0123456789AB.tmp',
      '.123.tmp',
      'x.tmp',
      '.spool-toolong1',
      'download-0123456789ab.partial',
      '.download-0123.partial',
      'code.partial',
    ]
    for (const name of kept) await writeFile(join(timeline, name), 'keep')
    const removed = sweepTemporaries([timeline, join(dir, 'missing')])
    expect(removed.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: join(timeline, '.0123456789ab.tmp'), bytes: 1000 },
      { path: join(timeline, '.download-0123456789ab.partial'), bytes: 700 },
      { path: join(timeline, '.spool-Ab12Cd'), bytes: 300 },
    ])
    expect((await readdir(timeline)).sort()).toEqual(kept.sort())
  })
})
