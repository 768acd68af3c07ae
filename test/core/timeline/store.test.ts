import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, constants, createReadStream, openSync, rmSync } from 'node:fs'
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { recordArtifact } from '../../../src/core/case/evidence-store.js'
import type { Journal } from '../../../src/core/case/journal.js'
import { summariseCase } from '../../../src/core/case/summary.js'
import { verifyCase } from '../../../src/core/case/verify.js'
import { writeFileAtomic, writeOutputFile } from '../../../src/core/common/fs-safe.js'
import { sha256Hex } from '../../../src/core/common/hash.js'
import { pendingInterruptCleanups } from '../../../src/core/common/interrupt.js'
import { readCase } from '../../../src/core/report/read-case.js'
import {
  AtomicFileWriter,
  archiveEarlierTimeline,
  checkWritable,
  earlierTimelineFiles,
  openOutputFile,
  recordWrittenArtifact,
  writeRecordedFile,
} from '../../../src/core/timeline/store.js'
import { FirError } from '../../../src/errors.js'
import { timelineContext } from './context.js'

/** The timeline files a run stored in the case `dir` (started 2026-11-29 06:00), each recorded. */
async function recordedTimeline(dir: string, journal: Journal): Promise<string[]> {
  await mkdir(join(dir, 'timeline'), { recursive: true })
  const files = ['timeline/events.jsonl', 'timeline/findings.json', 'timeline/summary.json']
  await writeFile(join(dir, files[0]!), '{"id":"a"}\n')
  await writeFile(join(dir, files[1]!), '[]\n')
  await writeFile(join(dir, files[2]!), '{"startedAt":"2026-11-29T06:00:00.000Z"}\n')
  for (const f of files) await recordArtifact(dir, journal, f)
  return files
}

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
      else await writer.writeLine(line.subarray(0, line.length - 1))
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

  it('writeFileAtomic: a temporary removed while the file is journaled is a clear error (exit 2), not a bug', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fir-store-'))
    const path = join(dir, 'findings.json')
    const err = await writeFileAtomic(path, '[]\n', {
      beforeRename: async () => {
        const [tmp] = await readdir(dir!)
        await rm(join(dir!, tmp!))
      },
    }).catch((e: unknown) => e)
    // Before: "ENOENT: no such file or directory, rename '…/.<hex>.tmp' -> '…/findings.json'" (exit 1).
    expect(err).toBeInstanceOf(FirError)
    expect(err).toMatchObject({ code: 'temporary-removed', exitCode: 2 })
    expect((err as Error).message).toMatch(
      /was removed while fir was writing it \(by hand, or by another program\); the journal records the file, which is not in place \(case verify names it missing\)$/,
    )
    expect(await readdir(dir)).toEqual([])
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

describe('AtomicFileWriter around the page cache (O_DIRECT)', () => {
  let dir: string | undefined
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** Whether this folder's file system takes O_DIRECT (ext4 does; tmpfs only since Linux 6.6). */
  const takesDirect = (folder: string) => {
    const probe = join(folder, 'probe')
    try {
      closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o600))
      return true
    } catch {
      return false
    } finally {
      rmSync(probe, { force: true })
    }
  }

  /** Writes lines of odd lengths (a tail that is no whole block) in several buffers' worth. */
  async function writeOdd(
    path: string,
  ): Promise<{ writer: AtomicFileWriter; body: Buffer; done: { sha256: string; bytes: number } }> {
    const writer = await new AtomicFileWriter(path, 64 * 1024, { direct: true }).open()
    const parts: Buffer[] = []
    for (let i = 0; i < 5000; i++) {
      const line = Buffer.from(`{"n":${i},"pad":"${'x'.repeat(i % 257)}"}\n`)
      parts.push(line)
      if (i % 2) await writer.write(line)
      else await writer.writeLine(line.subarray(0, line.length - 1))
    }
    const aroundCache = writer.writesAroundCache
    const done = await writer.commit()
    expect(aroundCache).toBe(takesDirect(dirname(path)))
    return { writer, body: Buffer.concat(parts), done }
  }

  it('a temporary removed while it is written: a clear error (exit 2) naming it, nothing journaled or put in place', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fir-store-direct-'))
    const path = join(dir, 'events.jsonl')
    for (const direct of [true, false]) {
      const writer = await new AtomicFileWriter(path, 64 * 1024, { direct }).open()
      for (let i = 0; i < 3; i++) await writer.write(Buffer.alloc(64 * 1024, 0x61))
      expect(writer.writesAroundCache).toBe(direct && takesDirect(dir))
      const [tmp] = await readdir(dir)
      // What `fir case verify` once told the responder to do with a running timeline's temporary.
      await rm(join(dir, tmp!))
      // A tail that is no whole block: around the cache, the file is reopened to write it.
      await writer.write('{"last":true}\n')
      let journaled = false
      const err = await writer
        .commit({
          beforeRename: async () => {
            journaled = true
          },
        })
        .catch((e: unknown) => e)
      // Before: "ENOENT: no such file or directory, open '…/.<hex>.tmp'" (a bug, exit 1) around the
      // cache; through it, the file journaled and then rename's ENOENT.
      expect(err).toBeInstanceOf(FirError)
      expect(err).toMatchObject({ code: 'temporary-removed', exitCode: 2 })
      // Around the cache, the tail was written through the descriptor (/proc/self/fd), not a
      // reopen by name that failed: the error is commit's finding, with no ENOENT behind it.
      expect((err as Error).cause).toBeUndefined()
      expect((err as Error).message).toBe(
        `unable to write ${path}: its temporary file ${join(dir, tmp!)} was removed while fir was writing it (by hand, or by another program); nothing of what was written is recorded or in place`,
      )
      expect(journaled).toBe(false)
      await writer.abort()
      expect(await readdir(dir)).toEqual([])
      expect(pendingInterruptCleanups()).toEqual([])
    }
  })

  it('writes whole blocks around the cache and the last partial one through it: the same bytes and hash', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fir-store-direct-'))
    const { body, done } = await writeOdd(join(dir, 'events.jsonl'))
    expect(body.length % 4096).not.toBe(0)
    expect(body.length).toBeGreaterThan(8 * 64 * 1024)
    expect((await readFile(join(dir, 'events.jsonl'))).equals(body)).toBe(true)
    expect(done).toEqual({ sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length })
    expect(await readdir(dir)).toEqual(['events.jsonl'])
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
    // The report lists the recorded files where they now are, as verify checks them: before, it
    // still listed timeline/events.jsonl and timeline/summary.json (with hashes) after the move.
    expect([...(await readCase(dir)).artifacts.keys()].sort()).toEqual([
      'timeline/history/20261129T060000.000Z/events.jsonl',
      'timeline/history/20261129T060000.000Z/summary.json',
    ])
    // A second earlier run with the same start goes beside it, not over it.
    await writeFile(join(dir, 'timeline', 'summary.json'), '{"startedAt":"2026-11-29T06:00:00.000Z"}\n')
    const again = await archiveEarlierTimeline(dir, ctx.case.journal, files)
    expect(again?.folder).toBe('timeline/history/20261129T060000.000Z-2')
    expect(await archiveEarlierTimeline(dir, ctx.case.journal, files)).toBeUndefined()
    expect((await verifyCase(dir)).problems).toEqual([])
  })
})

describe('archiveEarlierTimeline refuses a timeline file fir did not record', () => {
  it('a planted or changed file is not journaled as history: exit 3 naming it, nothing moved or journaled', async () => {
    const { ctx, dir } = await timelineContext()
    await mkdir(join(dir, 'timeline'), { recursive: true })
    const files = ['timeline/events.jsonl', 'timeline/findings.json', 'timeline/summary.json']
    // Planted, never recorded. Before, the re-run journaled it as moved history with its own hash
    // (case.artifact {movedFrom, sha256: the planted hash}) and case verify then passed.
    await writeFile(join(dir, 'timeline', 'events.jsonl'), '{"planted":"by attacker"}\n')
    const seq = ctx.case.journal.all().length
    await expect(archiveEarlierTimeline(dir, ctx.case.journal, files)).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringContaining('timeline/events.jsonl is not a file fir recorded'),
    })
    expect(ctx.case.journal.all().length).toBe(seq)
    expect(await readdir(join(dir, 'timeline'))).toEqual(['events.jsonl'])
    // Recorded, then changed.
    await writeFile(join(dir, 'timeline', 'events.jsonl'), '{"id":"a"}\n')
    await recordArtifact(dir, ctx.case.journal, 'timeline/events.jsonl')
    await writeFile(join(dir, 'timeline', 'events.jsonl'), '{"id":"b"}\n')
    await expect(archiveEarlierTimeline(dir, ctx.case.journal, files)).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringContaining('timeline/events.jsonl was changed after fir recorded it'),
    })
    // As recorded, it is moved.
    await writeFile(join(dir, 'timeline', 'events.jsonl'), '{"id":"a"}\n')
    expect(await archiveEarlierTimeline(dir, ctx.case.journal, files)).toBeDefined()
    expect((await verifyCase(dir)).problems).toEqual([])
  })
})

describe('a recorded timeline file replaced by a folder', () => {
  it('is refused before the run collects or journals anything (exit 3), and verify names it changed, not missing', async () => {
    const { ctx, dir } = await timelineContext()
    await mkdir(join(dir, 'timeline'), { recursive: true })
    await writeFile(join(dir, 'timeline', 'events.jsonl'), '{"id":"a"}\n')
    await recordArtifact(dir, ctx.case.journal, 'timeline/events.jsonl')
    await rm(join(dir, 'timeline', 'events.jsonl'))
    await mkdir(join(dir, 'timeline', 'events.jsonl'))
    const seq = ctx.case.journal.all().length
    const files = ['timeline/events.jsonl', 'timeline/findings.json', 'timeline/summary.json']
    // Before: skipped as absent; the run went on, journaled its moves, and crashed on the rename
    // over the folder (EISDIR, "a bug in fir", exit 1), leaving a temporary file behind.
    await expect(earlierTimelineFiles(dir, ctx.case.journal, files)).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringContaining(
        'timeline/events.jsonl was changed after fir recorded it (it is now a folder)',
      ),
    })
    expect(ctx.case.journal.all().length).toBe(seq)
    // Before: "timeline/events.jsonl is missing".
    expect((await verifyCase(dir)).problems).toContainEqual(
      expect.objectContaining({
        kind: 'changed',
        message: 'timeline/events.jsonl was changed after fir wrote it: it is no longer a regular file',
      }),
    )
  })
})

describe('a timeline re-run an earlier fir interrupted (it moved files before journaling the move)', () => {
  it('verify names what it left, not as tampering; the next open puts recorded files back where the journal has them', async () => {
    const { ctx, dir } = await timelineContext()
    const files = await recordedTimeline(dir, ctx.case.journal)
    // Killed as it journaled its second move: events.jsonl moved and journaled, findings.json moved.
    const folder = 'timeline/history/20261129T060000.000Z'
    await mkdir(join(dir, folder), { recursive: true })
    await rename(join(dir, files[0]!), join(dir, folder, 'events.jsonl'))
    await ctx.case.journal.append({
      action: 'case.artifact',
      target: `${folder}/events.jsonl`,
      params: {
        path: `${folder}/events.jsonl`,
        sha256: sha256Hex('{"id":"a"}\n'),
        bytes: 11,
        movedFrom: files[0],
      },
      outcome: 'recorded',
    })
    await rename(join(dir, files[1]!), join(dir, folder, 'findings.json'))
    await ctx.case.close()
    // Before: missing timeline/findings.json and extra …/findings.json, exit 3, for good.
    const before = await verifyCase(dir)
    expect(before.problems).toEqual([])
    expect(before.warnings).toEqual([
      `a timeline re-run was interrupted while replacing the timeline: it had journaled moving timeline/events.jsonl to ${folder}/ and recorded no timeline of its own; the next fir command that writes to the case puts the earlier timeline back`,
      `timeline/findings.json is recorded there but is at ${folder}/findings.json (the same SHA-256): a timeline re-run was interrupted while moving it; the next fir command that writes to the case puts it in its place`,
    ])
    const opened = await CaseHandle.open(dir)
    await opened.close()
    expect(opened.timelineMoves).toEqual({
      putBack: { folder, files: ['timeline/events.jsonl'] },
      placed: [{ path: 'timeline/findings.json', at: `${folder}/findings.json` }],
    })
    expect((await readdir(join(dir, 'timeline'))).sort()).toEqual([
      'events.jsonl',
      'findings.json',
      'history',
      'summary.json',
    ])
    expect(await readdir(join(dir, 'timeline/history'))).toEqual([])
    expect(await verifyCase(dir)).toMatchObject({ ok: true, problems: [], warnings: [] })

    // Killed as an earlier fir moved summary.json, then re-run to the end: the file moved is left
    // unrecorded in history for good. It holds a version the journal recorded: named, not extra.
    const again = await CaseHandle.open(dir)
    await mkdir(join(dir, 'timeline/history/x'), { recursive: true })
    await rename(join(dir, files[2]!), join(dir, 'timeline/history/x/summary.json'))
    await writeFile(join(dir, files[2]!), '{"startedAt":"2026-11-30T06:00:00.000Z"}\n')
    await recordArtifact(dir, again.journal, files[2]!)
    await again.close()
    const copy = await verifyCase(dir)
    expect(copy.problems).toEqual([])
    expect(copy.warnings).toEqual([
      `timeline/history/x/summary.json holds timeline/summary.json as journal entry seq 3 recorded it (the same SHA-256), left by a timeline run interrupted before it journaled the file (an earlier fir moved files before journaling the move); it is no part of the case record, and no tampering`,
    ])
    // Anything else put there is still extra.
    await writeFile(join(dir, 'timeline/history/x/summary.json'), '{"forged":true}\n')
    expect((await verifyCase(dir)).problems.map((p) => `${p.kind} ${p.path}`)).toEqual([
      'extra timeline/history/x/summary.json',
    ])
  })
})

describe('a timeline file is journaled before it takes its name', () => {
  it('commit and writeRecordedFile journal the file while it is whole in its temporary, which an interruption then keeps; a failed journal leaves nothing', async () => {
    const { ctx, dir, root } = await timelineContext()
    const events = join(dir, 'timeline', 'events.jsonl')
    const writer = await new AtomicFileWriter(events, 1 << 20).open()
    await writer.write('{"id":"a"}\n')
    let seen: { temporaries: string[]; placed: boolean; cleanups: string[] } | undefined
    const written = await writer.commit({
      beforeRename: async (w) => {
        await recordWrittenArtifact(ctx.case.journal, 'timeline/events.jsonl', w)
        const temporaries = (await readdir(join(dir, 'timeline'))).filter((n) => n.endsWith('.tmp'))
        seen = {
          temporaries: await Promise.all(temporaries.map((n) => readFile(join(dir, 'timeline', n), 'utf8'))),
          placed: (await lstat(events).catch(() => undefined)) !== undefined,
          // What an interruption now would remove: not the file just journaled.
          cleanups: pendingInterruptCleanups().filter((c) => c.startsWith('removed')),
        }
      },
    })
    // Before: commit took no options, renamed first, and the caller journaled after.
    expect(seen).toEqual({ temporaries: ['{"id":"a"}\n'], placed: false, cleanups: [] })
    expect(written).toEqual({ sha256: sha256Hex('{"id":"a"}\n'), bytes: 11 })
    await writeRecordedFile(dir, ctx.case.journal, 'timeline/findings.json', '[]\n')
    expect(
      ctx.case.journal
        .all()
        .slice(-2)
        .map((e) => e.params),
    ).toEqual([
      { path: 'timeline/events.jsonl', ...written },
      { path: 'timeline/findings.json', sha256: sha256Hex('[]\n'), bytes: 3 },
    ])
    // writeFileAtomic's too: an interruption while it journals keeps the temporary (before, it
    // removed it, leaving a journaled file nowhere).
    let during: string[] | undefined
    await writeFileAtomic(join(root, 'x.json'), '{}\n', {
      beforeRename: async () => {
        during = pendingInterruptCleanups().filter((c) => c.startsWith('removed'))
      },
    })
    expect(during).toEqual([])
    // A journal that refuses the entry: no file in place, no temporary left.
    const failing = await new AtomicFileWriter(join(dir, 'timeline', 'summary.json'), 1 << 20).open()
    await failing.write('{}\n')
    await expect(
      failing.commit({
        beforeRename: async () => {
          throw new Error('disk full')
        },
      }),
    ).rejects.toThrow('disk full')
    expect((await readdir(join(dir, 'timeline'))).sort()).toEqual(['events.jsonl', 'findings.json'])
    expect(await verifyCase(dir)).toMatchObject({ ok: true, problems: [], warnings: [] })
  })

  it('a re-run killed between journaling its events.jsonl and renaming it: verify says to keep the temporary, show reads it, the next open puts it in place (the earlier timeline stays archived), and a re-run replaces it', async () => {
    const { ctx, dir, handle } = await timelineContext()
    const files = await recordedTimeline(dir, ctx.case.journal)
    const moved = await archiveEarlierTimeline(dir, ctx.case.journal, files)
    // Its own events journaled, then killed before the rename: the bytes are in its temporary,
    // beside another temporary of the same size that holds something else (never placed).
    const text = '{"id":"b"}\n{"id":"c"}\n'
    await writeFile(join(dir, 'timeline', '.0123456789ab.tmp'), text)
    await writeFile(join(dir, 'timeline', '.ba9876543210.tmp'), text.replace('b', 'x'))
    await recordWrittenArtifact(ctx.case.journal, files[0]!, { sha256: sha256Hex(text), bytes: text.length })
    await handle.close()

    const before = await verifyCase(dir)
    // Before: "timeline/events.jsonl is missing" (exit 3), the temporary "remove it".
    expect(before.problems).toEqual([])
    expect(before.warnings).toEqual([
      'timeline/.0123456789ab.tmp is timeline/events.jsonl, the file the journal records (the same SHA-256 and size): a fir run was interrupted after journaling it, before giving it its name; the next fir command that opens the case puts it in place (keep it)',
      'timeline/.ba9876543210.tmp was left by an interrupted fir run; it is not part of the case record (remove it)',
    ])
    // case show (which writes nothing) reads it where it is.
    expect((await summariseCase(dir)).timeline).toEqual({
      events: 2,
      findings: null,
      problems: ['timeline/findings.json is missing'],
      conflicting: null,
    })

    const opened = await CaseHandle.open(dir)
    expect(opened.placedFiles).toEqual([
      { temporary: 'timeline/.0123456789ab.tmp', path: files[0], kind: 'artifact' },
    ])
    expect(opened.swept.map((s) => s.path)).toEqual([join(dir, 'timeline', '.ba9876543210.tmp')])
    // The run had recorded a timeline of its own: the earlier one is not put back over it.
    expect(opened.timelineMoves).toEqual({ placed: [] })
    expect(await readFile(join(dir, files[0]!), 'utf8')).toBe(text)
    expect(await readdir(join(dir, moved!.folder))).toHaveLength(3)
    expect(await verifyCase(dir)).toMatchObject({ ok: true, problems: [], warnings: [] })
    // The next run moves it aside as the earlier timeline (before: refused, exit 3).
    expect(await earlierTimelineFiles(dir, opened.journal, files)).toEqual([
      { from: files[0], sha256: sha256Hex(text), bytes: text.length },
    ])
    await opened.close()
  })
})

describe('files the responder names (--out)', () => {
  /** A FIFO and what its reader receives, read until the writer closes it. */
  async function fifoWithReader(
    dir: string,
    name: string,
  ): Promise<{ path: string; received: Promise<string> }> {
    const path = join(dir, name)
    expect(spawnSync('mkfifo', [path]).status).toBe(0)
    const received = new Promise<string>((done, fail) => {
      const chunks: Buffer[] = []
      createReadStream(path)
        .on('data', (c) => chunks.push(c as Buffer))
        .on('end', () => done(Buffer.concat(chunks).toString()))
        .on('error', fail)
    })
    return { path, received }
  }

  it('writes a pipe or device in place: renaming a file over it replaced it (as root, /dev/null too)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fir-out-'))
    try {
      // Before: `--out <fifo>` (or /dev/null as root) became a regular file holding the export.
      const a = await fifoWithReader(dir, 'a.fifo')
      await writeOutputFile(a.path, 'report\n')
      expect(await a.received).toBe('report\n')
      expect((await lstat(a.path)).isFIFO()).toBe(true)
      // The check before a run does not open it (that would wait for a reader), and passes.
      await checkWritable(a.path, '--out')
      const b = await fifoWithReader(dir, 'b.fifo')
      const w = await openOutputFile(b.path)
      await w.write('line 1\n')
      await w.write(Buffer.from('line 2\n'))
      expect(await w.commit()).toEqual({
        sha256: createHash('sha256').update('line 1\nline 2\n').digest('hex'),
        bytes: 14,
      })
      expect(await b.received).toBe('line 1\nline 2\n')
      expect((await lstat(b.path)).isFIFO()).toBe(true)
      // A regular file is still replaced whole, atomically.
      const file = join(dir, 'export.csv')
      await writeFile(file, 'old')
      await writeOutputFile(file, 'new')
      expect(await readFile(file, 'utf8')).toBe('new')
      expect((await readdir(dir)).sort()).toEqual(['a.fifo', 'b.fifo', 'export.csv'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
