import { spawnSync } from 'node:child_process'
import { mkdir, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listLocal, probeLocal } from '../../../src/core/timeline/sources/local.js'
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

  it("leaves a LookupEvents run's own records (lookup.json, resume-….json) out of a walk of a case's raw folder, but reads a lookup.json elsewhere", async () => {
    const raw = await tempDir('fir-local-raw-')
    const run = join(raw, 'cases/A/timeline/raw/20250301T000000Z')
    await mkdir(run, { recursive: true })
    for (const f of [
      'eu-west-1-all-0001.json',
      'lookup.json',
      'resume-eu-west-1-all.json',
      'topup-eu-west-1-all-0001.json',
    ])
      await writeFile(join(run, f), '{}')
    await writeFile(join(raw, 'lookup.json'), '{}') // `aws cloudtrail lookup-events > lookup.json`
    // Before: both records were read, and refused as not CloudTrail in the summary.
    const listed = await listLocal([run, join(raw, 'lookup.json')], window)
    expect(listed.files.map((f) => f.path.slice(raw.length + 1))).toEqual([
      'cases/A/timeline/raw/20250301T000000Z/eu-west-1-all-0001.json',
      'cases/A/timeline/raw/20250301T000000Z/topup-eu-west-1-all-0001.json',
      'lookup.json',
    ])
    expect(listed.ignored).toBe(2)
    // Named on the command line, a record is read as asked.
    expect((await listLocal([join(run, 'lookup.json')], window)).files).toHaveLength(1)
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

describe('listLocal and what a folder holds that is not a file', () => {
  it('counts links to nothing, link loops and FIFOs as unreadable, with why, and never opens a FIFO', async () => {
    const dir = await tempDir('fir-local-links-')
    const logs = join(dir, 'in')
    await mkdir(logs)
    await writeFile(join(logs, 'good.json'), '{}')
    await symlink('/nonexistent', join(logs, 'dangling.json'))
    await symlink('loopB.json', join(logs, 'loopA.json'))
    await symlink('loopA.json', join(logs, 'loopB.json'))
    await symlink('..', join(logs, 'up'))
    await symlink('good.json', join(logs, 'same.json'))
    expect(spawnSync('mkfifo', [join(logs, 'fifo.json'), join(logs, 'fifo.txt')]).status).toBe(0)
    // Before: good.json alone, the rest dropped without a word (a FIFO read would have blocked).
    const listed = await listLocal([logs], window)
    expect(listed.files.map((f) => f.path.slice(logs.length + 1))).toEqual(['good.json', 'same.json'])
    expect(listed.unreadable.map((u) => [u.path.slice(logs.length + 1), u.reason])).toEqual([
      ['dangling.json', 'a symbolic link to "/nonexistent", which does not exist'],
      ['fifo.json', 'a named pipe (FIFO): not opened in a folder walk (name it as --source to read a pipe)'],
      ['loopA.json', 'a symbolic link loop (ELOOP)'],
      ['loopB.json', 'a symbolic link loop (ELOOP)'],
      [
        'up',
        `a symbolic link loop: it leads to ${await realpath(dir)}, a folder that holds it (not followed)`,
      ],
    ])
    expect(listed.ignored).toBe(1) // fifo.txt, as any file that is not a log
    // A link to a folder is followed (before: "no CloudTrail log file was found"); one into a
    // folder the walk reads anyway is not read twice.
    const linked = join(dir, 'linked')
    await mkdir(linked)
    await symlink(logs, join(linked, 'logs'))
    await symlink(join(logs, 'good.json'), join(linked, 'good-link.json'))
    const followed = await listLocal([linked], window)
    expect(followed.files.map((f) => f.path.slice(linked.length + 1))).toEqual([
      'good-link.json',
      'logs/good.json',
      'logs/same.json',
    ])
    expect(followed.unreadable).toHaveLength(5)
    // The folder named as a source too: read once, under its own path.
    expect((await listLocal([linked, logs], window)).files.map((f) => f.path.slice(dir.length + 1))).toEqual([
      'linked/good-link.json',
      'in/good.json',
      'in/same.json',
    ])
    // A cycle through two links (in/back → linked, linked/logs → in) ends where it comes back.
    await symlink(linked, join(logs, 'back'))
    expect((await listLocal([logs], window)).files.map((f) => f.path.slice(logs.length + 1))).toEqual([
      'back/good-link.json',
      'good.json',
      'same.json',
    ])
    // A source named on the command line says what it is, not "no such file or folder".
    const sources: [string, string][] = [
      ['loopA.json', 'a symbolic link loop (ELOOP)'],
      ['dangling.json', 'a symbolic link to "/nonexistent", which does not exist'],
      ['nope.json', 'no such file or folder'],
      ['good.json/x', 'a part of its path is not a folder (ENOTDIR)'],
    ]
    for (const [name, why] of sources) {
      const source = join(logs, name)
      const message = `unable to read source ${JSON.stringify(source)}: ${why}`
      await expect(listLocal([source], window), name).rejects.toThrow(message)
      await expect(probeLocal([source]), name).rejects.toThrow(message)
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
