import { spawnSync } from 'node:child_process'
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listLocal } from '../../../src/core/timeline/sources/local.js'
import type { TimeWindow } from '../../../src/core/timeline/types.js'
import { tempDir } from '../../support/cli.js'

const window: TimeWindow = {
  start: Date.parse('2025-03-01T00:00:00Z'),
  end: Date.parse('2025-03-02T00:00:00Z'),
}
const trail = (region: string, stamp: string) => `111122223333_CloudTrail_${region}_${stamp}_abc.json.gz`

describe('listLocal', () => {
  let dir: string
  beforeAll(async () => {
    dir = await tempDir('fir-local-')
    const files = [
      `b/${trail('us-east-1', '20250301T0105Z')}`,
      `b/${trail('us-east-1', '20250301T0005Z')}`,
      `a/${trail('eu-west-1', '20250301T2355Z')}`,
      `a/${trail('eu-west-1', '20250201T0005Z')}`, // a month before the window
      'a/notes.txt',
      'a/export.JSON',
      'CloudTrail-Digest/us-east-1/digest.json.gz',
      `a/111122223333_CloudTrail-Digest_us-east-1_x_20250301T0105Z.json.gz`,
    ]
    for (const f of files) {
      await mkdir(join(dir, f, '..'), { recursive: true })
      await writeFile(join(dir, f), 'x')
    }
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('walks a folder in name order, leaving out digests, other files and deliveries outside the window', async () => {
    const listed = await listLocal([dir], window)
    expect(listed.files.map((f) => f.path.slice(dir.length + 1))).toEqual([
      `a/${trail('eu-west-1', '20250301T2355Z')}`,
      'a/export.JSON',
      `b/${trail('us-east-1', '20250301T0005Z')}`,
      `b/${trail('us-east-1', '20250301T0105Z')}`,
    ])
    expect(listed.files.every((f) => f.size === -1)).toBe(true)
    expect(listed.digestFiles.map((f) => f.slice(dir.length + 1)).sort()).toEqual([
      'CloudTrail-Digest/us-east-1/digest.json.gz',
      'a/111122223333_CloudTrail-Digest_us-east-1_x_20250301T0105Z.json.gz',
    ])
    expect(listed.outsideWindow).toBe(1)
    expect(listed.ignored).toBe(1)
  })

  it('lists a path named twice once, and reads a named file whatever its name', async () => {
    const listed = await listLocal([dir, join(dir, 'a/notes.txt'), dir], window)
    const paths = listed.files.map((f) => f.path.slice(dir.length + 1))
    expect(paths).toEqual([
      `a/${trail('eu-west-1', '20250301T2355Z')}`,
      'a/export.JSON',
      `b/${trail('us-east-1', '20250301T0005Z')}`,
      `b/${trail('us-east-1', '20250301T0105Z')}`,
      'a/notes.txt',
    ])
    expect(listed.files.at(-1)?.size).toBe(1)
    expect(listed.digestFiles.length).toBe(2)
    expect(listed.outsideWindow).toBe(1)
    expect(listed.ignored).toBe(0)
  })

  it('lists a pipe named under two paths once (two readers would each get part of it)', async () => {
    const fifo = join(dir, 'trail.fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    await symlink(fifo, join(dir, 'link-to-fifo'))
    try {
      const listed = await listLocal([fifo, join(dir, 'link-to-fifo'), fifo], window)
      expect(listed.files).toEqual([{ path: fifo, size: -1, pipe: true }])
    } finally {
      await rm(fifo)
      await rm(join(dir, 'link-to-fifo'))
    }
  })
})

describe('listLocal and fir case folders', () => {
  it('does not walk into a case folder below a source folder, but reads one the source names', async () => {
    const dir = await tempDir('fir-local-case-')
    const caseDir = join(dir, 'cases', 'IR-1')
    for (const f of ['case.json', 'journal.jsonl', 'timeline/events.jsonl', 'timeline/raw/x/page.json'])
      await mkdir(join(caseDir, f, '..'), { recursive: true }).then(() => writeFile(join(caseDir, f), '{}'))
    await mkdir(join(dir, 'logs'), { recursive: true })
    await writeFile(join(dir, 'logs', trail('us-east-1', '20250301T0105Z')), 'x')
    const walked = await listLocal([dir], window)
    expect(walked.files.map((f) => f.path.slice(dir.length + 1))).toEqual([
      `logs/${trail('us-east-1', '20250301T0105Z')}`,
    ])
    expect(walked.caseFolders).toEqual([caseDir])
    const named = await listLocal([join(caseDir, 'timeline', 'raw')], window)
    expect(named.files.map((f) => f.path.slice(caseDir.length + 1))).toEqual(['timeline/raw/x/page.json'])
    expect((await listLocal([caseDir], window)).caseFolders).toEqual([])
  })
})
