import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../src/core/case/case-folder.js'
import { runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { seedFunction, seedRole } from '../support/seed.js'

const moto = useMoto()

/** A fresh case folder (made in-process: each CLI start costs seconds on a busy machine). */
async function newCase(id = 'INC-1'): Promise<{ cwd: string; caseDir: string }> {
  const cwd = await tempDir('fir-integrity-')
  const handle = await CaseHandle.init(id, { cwd, firVersion: 'test' })
  await handle.close()
  return { cwd, caseDir: join(cwd, 'cases', id) }
}

async function journal(caseDir: string): Promise<{ action: string; params: Record<string, unknown> }[]> {
  return (await readFile(join(caseDir, 'journal.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
}

describe('evidence sets and case folders (built CLI)', () => {
  it('contain takes a snapshot unless a sealed one exists: a hand-made set named later is none', {
    timeout: 180_000,
  }, async () => {
    const role = await seedRole(moto.endpoint(), { name: 'integrity-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'integrity-fn', roleArn: role.arn })
    const { cwd, caseDir } = await newCase()
    const forged = join(caseDir, 'evidence', '20990101T000000.000Z')
    await mkdir(forged)
    await writeFile(join(forged, 'manifest.json'), '{}')
    await writeFile(
      join(forged, 'summary.json'),
      JSON.stringify({ functions: [{ name: 'integrity-fn', arn: fn.arn, roleName: 'forged' }] }),
    )
    const r = await runFir(
      ['contain', 'integrity-fn', '--case', 'cases/INC-1', '--actions', 'throttle', '--yes', '--json'],
      { cwd, endpoint: moto.endpoint() },
    )
    expect([0, 4], r.stderr).toContain(r.code)
    // Before: "snapshot evidence/20990101T000000.000Z", applied with no seal in the journal.
    expect(r.json.result.snapshot.taken).toBe(true)
    const set = r.json.result.snapshot.set as string
    expect(set).not.toBe('20990101T000000.000Z')
    const seals = (await journal(caseDir)).filter((e) => e.action === 'evidence.seal')
    expect(seals.map((e) => e.params.set)).toEqual([set])
  })

  it('a set sealed in the journal but left in its unfinished folder: verify passes with a note, the next writing command finishes it', {
    timeout: 120_000,
  }, async () => {
    const { cwd, caseDir } = await newCase()
    const handle = await CaseHandle.open(caseDir)
    const set = await handle.newEvidenceSet()
    await set.writeJson('summary.json', { functions: [] }, { call: 'fir:summary' })
    await set.seal()
    await handle.close()
    await rename(set.dir, join(caseDir, 'evidence', `.unfinished-${set.name}`))

    const verify = await runFir(['case', 'verify', '--case', 'cases/INC-1'], { cwd })
    expect(verify.code, verify.stderr).toBe(0)
    expect(verify.stdout).toContain(
      `note: evidence set evidence/${set.name} is sealed in the journal but still in evidence/.unfinished-${set.name}/`,
    )
    // A failing verify keeps its notes (they were printed only when it passed).
    const extra = join(caseDir, 'timeline', 'planted.json')
    await writeFile(extra, '{}')
    const failing = await runFir(['case', 'verify', '--case', 'cases/INC-1'], { cwd })
    expect(failing.code).toBe(3)
    expect(failing.stderr).toContain(
      `note: evidence set evidence/${set.name} is sealed in the journal but still in evidence/.unfinished-${set.name}/`,
    )
    await rm(extra)
    const show = await runFir(['case', 'show', '--case', 'cases/INC-1', '--json'], { cwd })
    expect(show.json.result.evidence).toEqual([
      { set: set.name, files: 1, bytes: expect.any(Number), sealed: expect.stringMatching(/^\d{4}-/) },
    ])
    const report = await runFir(['report', '--case', 'cases/INC-1', '--format', 'md'], { cwd })
    expect(report.code, report.stderr).toBe(0)
    expect(report.stderr).toContain(
      `warning: finished sealing evidence set evidence/${set.name}: a fir run was interrupted after journaling its seal`,
    )
    expect((await readdir(join(caseDir, 'evidence'))).sort()).toEqual([set.name])
    const after = await runFir(['case', 'verify', '--case', 'cases/INC-1', '--json'], { cwd })
    expect(after.code).toBe(0)
    expect(after.json.warnings).toEqual([])
  })

  it('a linked evidence folder: verify exits 3 naming it, snapshot refuses (exit 3) and writes nothing outside the case', {
    timeout: 120_000,
  }, async () => {
    const role = await seedRole(moto.endpoint(), { name: 'linked-role' })
    await seedFunction(moto.endpoint(), { name: 'linked-fn', roleArn: role.arn })
    const { cwd, caseDir } = await newCase()
    const elsewhere = join(await tempDir('fir-elsewhere-'), 'evidence')
    await rename(join(caseDir, 'evidence'), elsewhere)
    await symlink(elsewhere, join(caseDir, 'evidence'))

    const verify = await runFir(['case', 'verify', '--case', 'cases/INC-1', '--json'], { cwd })
    expect(verify.code).toBe(3)
    expect(verify.json.result.problems).toEqual([
      {
        kind: 'changed',
        path: 'evidence/',
        message: `evidence/ was changed: it is a symbolic link (to ${JSON.stringify(elsewhere)}), not a folder of the case`,
      },
    ])

    const snap = await runFir(['snapshot', 'linked-fn', '--case', 'cases/INC-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(snap.code).toBe(3)
    expect(snap.json.error).toMatchObject({
      code: 'integrity',
      message: `unable to write to case ${caseDir}: its folder evidence/ was changed: it is a symbolic link (to ${JSON.stringify(elsewhere)}), not a folder of the case; what fir wrote there would land outside the case`,
    })
    expect(await readdir(elsewhere)).toEqual([])
  })

  it('the newest sealed set without its manifest: case show and contain refuse it (exit 3) naming it and verify, the report names it', {
    timeout: 180_000,
  }, async () => {
    const role = await seedRole(moto.endpoint(), { name: 'unsealed-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'unsealed-fn', roleArn: role.arn })
    const { cwd, caseDir } = await newCase()
    const handle = await CaseHandle.open(caseDir)
    const sets: string[] = []
    for (const title of ['older finding', 'newer finding']) {
      const set = await handle.newEvidenceSet()
      await set.writeJson(
        'summary.json',
        { set: set.name, functions: [{ name: 'unsealed-fn', arn: fn.arn, region: 'us-east-1' }] },
        { call: 'fir:summary' },
      )
      await set.writeJson('findings.json', [{ level: 'high', title }], { call: 'fir:findings' })
      await set.seal()
      sets.push(set.name)
    }
    await handle.close()
    const newest = sets[1]!
    await rm(join(caseDir, 'evidence', newest, 'manifest.json'))
    const refusal = `unable to use evidence evidence/${newest}/manifest.json: it was changed after it was sealed: it is missing`

    // Before: exit 0, the set listed as "manifest changed or unreadable", its findings gone.
    const show = await runFir(['case', 'show', '--case', 'cases/INC-1'], { cwd })
    expect(show.code, show.stderr).toBe(3)
    expect(show.stderr).toContain(refusal)
    expect(show.stderr).toContain('fir case verify --case')
    // Before: "snapshot evidence/<the older set>", exit 0.
    const contain = await runFir(['contain', 'unsealed-fn', '--case', 'cases/INC-1', '--dry-run', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(contain.code, contain.stderr).toBe(3)
    expect(contain.json.error.code).toBe('integrity')
    expect(contain.json.error.message).toContain(refusal)
    // The report refuses nothing: it names the manifest missing among the case's problems.
    const report = await runFir(['report', '--case', 'cases/INC-1', '--format', 'md'], { cwd })
    expect(report.code, report.stderr).toBe(0)
    expect(report.stderr).toContain('warning: the case does not verify')
    expect(await readFile(join(caseDir, 'reports', 'report.md'), 'utf8')).toContain(
      `evidence/${newest}/manifest.json is missing`,
    )
  })

  it('verify and report name a link to nothing among the sets (exit 3 for verify), never a bug', {
    timeout: 120_000,
  }, async () => {
    const { cwd, caseDir } = await newCase()
    await symlink('/nonexistent', join(caseDir, 'evidence', 'dangling'))
    const verify = await runFir(['case', 'verify', '--case', 'cases/INC-1', '--json'], { cwd })
    expect(verify.code, verify.stderr).toBe(3)
    expect(verify.json.error.code).toBe('integrity')
    expect(verify.json.result.problems.map((p: { message: string }) => p.message)).toEqual([
      'evidence/dangling is a symbolic link (to "/nonexistent"), not an evidence set fir made: it was added to the case folder',
    ])
    const report = await runFir(['report', '--case', 'cases/INC-1', '--format', 'md'], { cwd })
    expect(report.code, report.stderr).toBe(0)
    expect(report.stderr).toContain('warning: the case does not verify')
    expect(await readFile(join(caseDir, 'reports', 'report.md'), 'utf8')).toContain(
      'evidence/dangling is a symbolic link',
    )

    // The journal replaced by a folder, the evidence folder by a file: exit 3 as well.
    await rm(join(caseDir, 'evidence', 'dangling'))
    await rename(join(caseDir, 'evidence'), join(caseDir, 'evidence.aside'))
    await writeFile(join(caseDir, 'evidence'), 'not a folder')
    const file = await runFir(['case', 'verify', '--case', 'cases/INC-1', '--json'], { cwd })
    expect(file.code, file.stderr).toBe(3)
    expect(file.json.result.problems.map((p: { path: string }) => p.path)).toEqual(['evidence/'])
    await rm(join(caseDir, 'evidence'))
    await rename(join(caseDir, 'evidence.aside'), join(caseDir, 'evidence'))
    await rename(join(caseDir, 'journal.jsonl'), join(caseDir, 'journal.aside'))
    await mkdir(join(caseDir, 'journal.jsonl'))
    const folder = await runFir(['case', 'verify', '--case', 'cases/INC-1', '--json'], { cwd })
    expect(folder.code, folder.stderr).toBe(3)
    expect(folder.json.result.problems[0]).toMatchObject({
      kind: 'changed',
      message: 'journal.jsonl was changed: it is no longer a regular file',
    })
  })
})
