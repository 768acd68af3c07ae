import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { recordArtifact } from '../../../src/core/case/evidence-store.js'
import { verifyCase } from '../../../src/core/case/verify.js'
import { AtomicFileWriter, archiveEarlierTimeline } from '../../../src/core/timeline/store.js'
import { timelineContext } from './context.js'

describe('AtomicFileWriter', () => {
  let dir: string | undefined
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('writes a file larger than its flush-to-disk step whole, hashed as written, and leaves no temporary', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fir-store-'))
    const path = join(dir, 'out', 'events.jsonl')
    // Several staging buffers and more than one 64 MiB flush to disk while writing.
    const writer = await new AtomicFileWriter(path, 1 << 20).open()
    const line = Buffer.alloc(4099, 0x61)
    line[line.length - 1] = 0x0a
    const want = createHash('sha256')
    let bytes = 0
    for (let i = 0; i < 36_000; i++) {
      line.writeUInt32BE(i, 0)
      if (i % 3 === 0) await writer.write(line)
      else await writer.write2(line.subarray(0, 100), line.subarray(100))
      want.update(line)
      bytes += line.length
    }
    await writer.write('last line\n')
    want.update('last line\n')
    bytes += 10
    const done = await writer.commit()
    expect(done).toEqual({ sha256: want.digest('hex'), bytes })
    const body = await readFile(path)
    expect(body.length).toBe(bytes)
    expect(createHash('sha256').update(body).digest('hex')).toBe(done.sha256)
    expect(await readdir(join(dir, 'out'))).toEqual(['events.jsonl'])
  })

  it('leaves nothing behind when aborted, even with a flush to disk under way', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fir-store-'))
    const writer = await new AtomicFileWriter(join(dir, 'events.jsonl'), 1 << 20).open()
    const chunk = Buffer.alloc(1 << 20, 0x62)
    for (let i = 0; i < 70; i++) await writer.write(chunk)
    await writer.abort()
    expect(await readdir(dir)).toEqual([])
  })
})

describe('archiveEarlierTimeline', () => {
  it('leaves a case that verifies when a run stops between moving the earlier timeline aside and writing its own', async () => {
    const { ctx, dir } = await timelineContext()
    await mkdir(join(dir, 'timeline'), { recursive: true })
    await writeFile(join(dir, 'timeline', 'events.jsonl'), '{"id":"a"}\n')
    await writeFile(join(dir, 'timeline', 'summary.json'), '{"startedAt":"2026-11-29T06:00:00.000Z"}\n')
    for (const f of ['timeline/events.jsonl', 'timeline/summary.json'])
      await recordArtifact(dir, ctx.case.journal, f)
    const files = ['timeline/events.jsonl', 'timeline/findings.json', 'timeline/summary.json']
    const moved = await archiveEarlierTimeline(dir, ctx.case.journal, files)
    expect(moved).toEqual({
      folder: 'timeline/history/20261129T060000.000Z',
      startedAt: '2026-11-29T06:00:00.000Z',
      events: null,
    })
    expect((await readdir(join(dir, 'timeline'))).sort()).toEqual(['history'])
    expect((await verifyCase(dir)).problems).toEqual([])
    // A second earlier run with the same start goes beside it, not over it.
    await writeFile(join(dir, 'timeline', 'summary.json'), '{"startedAt":"2026-11-29T06:00:00.000Z"}\n')
    const again = await archiveEarlierTimeline(dir, ctx.case.journal, files)
    expect(again?.folder).toBe('timeline/history/20261129T060000.000Z-2')
    expect(await archiveEarlierTimeline(dir, ctx.case.journal, files)).toBeUndefined()
    expect((await verifyCase(dir)).problems).toEqual([])
  })
})
