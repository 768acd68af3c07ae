import { execFileSync } from 'node:child_process'
import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { type EvidenceSet, recordArtifact } from '../../../src/core/case/evidence-store.js'
import { summariseCase } from '../../../src/core/case/summary.js'
import { findUnsealedSets } from '../../../src/core/case/unsealed-sets.js'
import { verifyCase } from '../../../src/core/case/verify.js'
import { appendLineDurable } from '../../../src/core/common/fs-safe.js'
import { byteSize, shellArg } from '../../../src/core/common/text.js'
import { readSnapshotSummaries } from '../../../src/core/credentials/keys.js'
import { latestSnapshotFor } from '../../../src/core/snapshot/snapshot.js'
import { firRequestIds, resolveTarget } from '../../../src/core/timeline/target.js'
import { ExitCode } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:victim'

async function newCase() {
  const cwd = await tempDir()
  return CaseHandle.init('SEAL-1', { firVersion: 'test', cwd })
}

/** A set as a snapshot fills it: a response and summary.json naming the function. */
async function snapshotSet(handle: CaseHandle): Promise<EvidenceSet> {
  const set = await handle.newEvidenceSet()
  await set.writeJson('functions/victim/get-function.json', { Configuration: {} }, { call: 'x' })
  await set.writeJson(
    'summary.json',
    { set: set.name, functions: [{ name: 'victim', arn: ARN, region: 'us-east-1' }] },
    { call: 'fir:summary' },
  )
  return set
}

/** Every reader of "the case's latest snapshot of victim". */
async function latestOfVictim(handle: CaseHandle) {
  const journal = handle.journal.all()
  return {
    contain: (await latestSnapshotFor(handle.dir, journal, ARN))?.set,
    timeline: (await resolveTarget(handle.dir, journal, 'victim', [])).snapshotSet,
    creds: (await readSnapshotSummaries(handle.dir, journal)).map((s) => s.set),
  }
}

describe('sealing an evidence set survives a crash at any point', () => {
  it('a seal the journal never got (a crash, a journal that cannot be written) leaves an unfinished set: a warning, never evidence, never tampering', async () => {
    const handle = await newCase()
    const set = await snapshotSet(handle)
    // The journal cannot take the seal line (here: a folder in its place; a crash does the same).
    const journal = join(handle.dir, 'journal.jsonl')
    await rename(journal, `${journal}.aside`)
    await mkdir(journal)
    await expect(set.seal()).rejects.toThrow()
    await rm(journal, { recursive: true })
    await rename(`${journal}.aside`, journal)
    expect(handle.journal.all().some((e) => e.action === 'evidence.seal')).toBe(false)
    expect(await latestOfVictim(handle)).toEqual({ contain: undefined, timeline: undefined, creds: [] })
    await handle.close()

    // Before: the manifest stood under the set's final name, reported as tampering forever.
    const before = await verifyCase(handle.dir)
    expect(before.problems).toEqual([])
    expect(before.warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^evidence/\\.unfinished-${set.name.replaceAll('.', '\\.')}/ is abandoned: .*; it is not evidence and nothing in the case refers to it\\. Remove it .*: rm -rf -- `,
        ),
      ),
    ])
    expect(await readdir(join(handle.dir, 'evidence'))).toEqual([`.unfinished-${set.name}`])

    // A re-run finishes the job: a new set, sealed, and the case verifies.
    const again = await CaseHandle.open(handle.dir)
    const second = await snapshotSet(again)
    await second.seal()
    expect(second.name).not.toBe(set.name)
    expect(second.dir).toBe(join(handle.dir, 'evidence', second.name))
    expect(await latestOfVictim(again)).toEqual({
      contain: second.name,
      timeline: second.name,
      creds: [second.name],
    })
    await again.close()
    const after = await verifyCase(handle.dir)
    expect(after.ok).toBe(true)
    expect(after.checked.evidenceSets).toBe(1)
  })

  it('a crash after the journaled seal, before the rename: verify checks the set where it is, the next command finishes it', async () => {
    const handle = await newCase()
    const set = await snapshotSet(handle)
    await set.seal()
    await handle.close()
    // What a crash between the journal line and the rename leaves on disk.
    const final = join(handle.dir, 'evidence', set.name)
    const unfinished = join(handle.dir, 'evidence', `.unfinished-${set.name}`)
    await rename(final, unfinished)

    const pending = await verifyCase(handle.dir)
    expect(pending.problems).toEqual([])
    expect(pending.checked).toMatchObject({ evidenceSets: 1, evidenceFiles: 2 })
    expect(pending.warnings).toEqual([
      `evidence set evidence/${set.name} is sealed in the journal but still in evidence/.unfinished-${set.name}/ (a run was interrupted right after sealing it): it is checked there, and the next fir command that writes to the case gives it its final name`,
    ])
    // It is checked there: a changed file is named.
    const response = join(unfinished, 'functions/victim/get-function.json')
    const original = await readFile(response)
    await writeFile(response, '{"Configuration":{"Role":"forged"}}\n')
    expect((await verifyCase(handle.dir)).problems.map((p) => `${p.kind} ${p.path}`)).toEqual([
      `changed evidence/.unfinished-${set.name}/functions/victim/get-function.json`,
    ])
    await writeFile(response, original)
    // So is a changed manifest (it was called missing, and the set "never sealed").
    const manifest = join(unfinished, 'manifest.json')
    const sealed = await readFile(manifest)
    await writeFile(manifest, Buffer.concat([sealed, Buffer.from(' ')]))
    const changed = await verifyCase(handle.dir)
    expect(changed.problems.map((p) => `${p.kind} ${p.path}`)).toContain(
      `changed evidence/.unfinished-${set.name}/manifest.json`,
    )
    expect(changed.problems.map((p) => p.kind)).not.toContain('missing')
    expect(changed.warnings.join(' ')).not.toContain('never sealed')
    await writeFile(manifest, sealed)
    // Before it is moved (a dry run moves nothing), every reader goes by it where it is: it was
    // passed over, as though the case held no snapshot of the function.
    expect(await latestOfVictim(handle)).toEqual({ contain: set.name, timeline: set.name, creds: [set.name] })

    const reopened = await CaseHandle.open(handle.dir)
    expect(reopened.placedSets).toEqual([set.name])
    expect(await latestOfVictim(reopened)).toEqual({
      contain: set.name,
      timeline: set.name,
      creds: [set.name],
    })
    await reopened.close()
    expect(await readdir(join(handle.dir, 'evidence'))).toEqual([set.name])
    expect(await verifyCase(handle.dir)).toMatchObject({ ok: true, warnings: [] })
  })

  it('an unsealed set no live fir command is building is named abandoned with the command that removes it; one a live command began is its work in progress; a sealed one is never offered', async () => {
    const handle = await newCase()
    const sealed = await snapshotSet(handle)
    await sealed.seal()
    // A snapshot killed before its seal: its folder stays, and piled up unexplained.
    const killed = await snapshotSet(handle)
    const entries = handle.journal.all()
    await handle.close()
    const path = `evidence/.unfinished-${killed.name}/`
    const folder = join(handle.dir, 'evidence', `.unfinished-${killed.name}`)
    const remove = `rm -rf -- ${shellArg(folder)}`
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d{3})Z/.exec(killed.name)!
    const started = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7]}Z`
    let bytes = 0
    for (const f of killed.list()) bytes += (await stat(join(folder, f.path))).size
    const verified = await verifyCase(handle.dir)
    expect(verified.problems).toEqual([])
    expect(verified.warnings).toEqual([
      `${path} is abandoned: the snapshot that began it at ${started} was killed (or the machine went down) before sealing it, and no fir command is building it now (2 files, ${byteSize(bytes)}); it is not evidence and nothing in the case refers to it. Remove it (copy out first anything you want to look at): ${remove}`,
    ])
    expect((await summariseCase(handle.dir)).unsealedSets).toEqual([
      { path, started, files: 2, bytes, state: 'abandoned', remove },
    ])

    // Whose it is goes by the case lock: a live fir command that took it before the set was begun
    // is building it (leave it); one that took it later began none of it; a lock fir cannot check
    // (another host's) may be building it.
    const holder = { pid: 4242, host: 'other', user: 'u', command: 'fir snapshot victim' }
    const lockPath = join(handle.dir, '.lock')
    const live = (ms: number) => ({
      live: true,
      gone: false,
      path: lockPath,
      holder: { ...holder, since: new Date(Date.parse(started) + ms).toISOString() },
      why: '',
    })
    const states = async (lock: Parameters<typeof findUnsealedSets>[2]) =>
      (await findUnsealedSets(handle.dir, entries, lock)).map((u) => [u.state, u.remove])
    expect(await states(live(-5))).toEqual([['in-progress', undefined]])
    expect(await states(live(60_000))).toEqual([['abandoned', remove]])
    expect(
      await states({
        live: false,
        gone: false,
        path: lockPath,
        holder: live(-5).holder,
        why: 'another host',
      }),
    ).toEqual([['unknown', remove]])
    expect(
      await states({ live: false, gone: true, path: lockPath, holder: live(-5).holder, why: 'dead' }),
    ).toEqual([['abandoned', remove]])
    expect((await verifyCase(handle.dir, { lock: live(-5) })).warnings).toEqual([
      `${path} is a set being built by process 4242 on other (user u, since ${live(-5).holder.since}): fir snapshot victim, the fir command holding the case lock (2 files, ${byteSize(bytes)}); it is not evidence until sealed, and that command seals or removes it (leave it)`,
    ])

    // The command given removes that folder and nothing else: the case then verifies clean.
    execFileSync('sh', ['-c', remove])
    expect(await readdir(join(handle.dir, 'evidence'))).toEqual([sealed.name])
    const after = await verifyCase(handle.dir)
    expect(after.ok).toBe(true)
    expect(after.warnings).toEqual([])

    // A set the journal seals that a crash left in its unfinished folder is evidence: never offered.
    await rename(
      join(handle.dir, 'evidence', sealed.name),
      join(handle.dir, 'evidence', `.unfinished-${sealed.name}`),
    )
    expect(await findUnsealedSets(handle.dir, handle.journal.all(), undefined)).toEqual([])
    expect((await summariseCase(handle.dir)).unsealedSets).toEqual([])
    expect((await verifyCase(handle.dir)).warnings.join('\n')).not.toContain('rm -rf')
  })

  it('a folder no seal names is no snapshot, whatever its name, and one with a manifest stays extra', async () => {
    const handle = await newCase()
    const sealed = await snapshotSet(handle)
    await sealed.seal()
    // Sets were ordered by name: a hand-made folder named after the sealed ones was "the latest".
    const forged = join(handle.dir, 'evidence', '20990101T000000.000Z')
    await mkdir(forged)
    await writeFile(join(forged, 'manifest.json'), '{}')
    await writeFile(
      join(forged, 'summary.json'),
      JSON.stringify({ functions: [{ name: 'victim', arn: ARN, roleName: 'forged-role' }] }),
    )
    expect(await latestOfVictim(handle)).toEqual({
      contain: sealed.name,
      timeline: sealed.name,
      creds: [sealed.name],
    })
    await handle.close()
    expect((await verifyCase(handle.dir)).problems.map((p) => `${p.kind} ${p.path}`)).toEqual([
      'extra evidence/20990101T000000.000Z',
    ])

    // A sealed set whose manifest was changed is not one to go by either: it is refused (below).
    const fresh = await newCase()
    const changed = await snapshotSet(fresh)
    await changed.seal()
    await writeFile(join(changed.dir, 'manifest.json'), '{"files":[{"path":"summary.json"}]}')
    await expect(latestOfVictim(fresh)).rejects.toMatchObject({ exitCode: ExitCode.integrity })
    await fresh.close()
  })
})

describe('verify: a manifest changed after its seal', () => {
  it('names the manifest alone, and does not check the files against lines that were not sealed', async () => {
    const handle = await newCase()
    const set = await snapshotSet(handle)
    await set.seal()
    await handle.close()
    const manifestPath = join(set.dir, 'manifest.json')
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'))
    // One intact file's line edited: before, verify also blamed that intact file ("changed …
    // sealed as 000000000000…", a hash that was never sealed).
    manifest.files[0].sha256 = '0'.repeat(64)
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2))
    const report = await verifyCase(handle.dir)
    expect(report.problems.map((p) => `${p.kind} ${p.path}`)).toEqual([
      `changed evidence/${set.name}/manifest.json`,
    ])
    expect(report.problems[0]!.message).toBe(
      `evidence/${set.name}/manifest.json was changed after it was sealed: the files of evidence/${set.name} cannot be checked against it (the sealed manifest is the only record of their hashes)`,
    )
  })
})

describe('sealed files are used only as they were sealed', () => {
  it('a summary.json or findings.json changed after the seal is refused by every reader (exit 3), naming it and verify', async () => {
    const handle = await newCase()
    const set = await snapshotSet(handle)
    await set.writeJson('findings.json', [{ level: 'high', title: 'public URL' }], { call: 'fir:findings' })
    await set.seal()
    expect(await latestOfVictim(handle)).toEqual({ contain: set.name, timeline: set.name, creds: [set.name] })
    // The leaked key swapped for another user's: before, `fir creds keys` proposed rotating that
    // user's key (exit 0), and contain and the timeline went by the edited summary too.
    const summary = join(set.dir, 'summary.json')
    const sealed = await readFile(summary)
    await writeFile(
      summary,
      JSON.stringify({ functions: [{ name: 'victim', arn: ARN, accessKeyIds: ['AKIAIOSFODNN7CEOCEO1'] }] }),
    )
    const readers = [
      () => latestSnapshotFor(handle.dir, handle.journal.all(), ARN),
      () => resolveTarget(handle.dir, handle.journal.all(), 'victim', []),
      () => readSnapshotSummaries(handle.dir, handle.journal.all()),
    ]
    for (const read of readers) {
      const err = await read().catch((e) => e)
      expect(err.exitCode).toBe(ExitCode.integrity)
      expect(err.message).toMatch(
        new RegExp(
          `^unable to use evidence evidence/${set.name}/summary\\.json: it was changed after it was sealed: sha256 [0-9a-f]{12}… \\(\\d+ bytes\\), sealed as [0-9a-f]{12}… \\(\\d+ bytes\\)`,
        ),
      )
      expect(err.actions[0]).toBe(`run \`fir case verify --case ${handle.dir}\` to list every problem`)
    }
    // Gone, or a link to the same bytes: refused too.
    await rm(summary)
    await expect(readers[0]!()).rejects.toThrow(
      /summary\.json: it was changed after it was sealed: it is missing/,
    )
    await writeFile(join(handle.dir, 'copy.json'), sealed)
    await symlink(join(handle.dir, 'copy.json'), summary)
    await expect(readers[2]!()).rejects.toThrow(/it is now a symbolic link, not the file sealed/)
    await rm(summary)
    await writeFile(summary, sealed)
    expect(await latestOfVictim(handle)).toEqual({ contain: set.name, timeline: set.name, creds: [set.name] })

    // case show: a finding deleted from findings.json (before, it showed the edited list).
    expect((await summariseCase(handle.dir)).findings[0]).toMatchObject({ set: set.name, total: 1 })
    await writeFile(join(set.dir, 'findings.json'), '[]\n')
    const shown = await summariseCase(handle.dir).catch((e) => e)
    expect(shown.exitCode).toBe(ExitCode.integrity)
    expect(shown.message).toMatch(
      `unable to use evidence evidence/${set.name}/findings.json: it was changed after it was sealed`,
    )
    await handle.close()
  })
})

describe('a sealed set is used only as it was sealed', () => {
  it('a newest set gone, or its manifest missing, changed or a link, is refused by every reader (exit 3), naming it and verify; an unsealed set is passed over', async () => {
    const handle = await newCase()
    const older = await snapshotSet(handle)
    await older.seal()
    const newer = await snapshotSet(handle)
    await newer.seal()
    const journal = handle.journal.all()
    const seq = journal.find((e) => e.action === 'evidence.seal' && e.params.set === newer.name)!.seq
    // Every command that goes by the case's snapshots: contain, the timeline (its target and fir's
    // own request ids), creds, case show.
    const readers = [
      () => latestSnapshotFor(handle.dir, journal, ARN),
      () => resolveTarget(handle.dir, journal, 'victim', []),
      () => firRequestIds(handle.dir, journal),
      () => readSnapshotSummaries(handle.dir, journal),
      () => summariseCase(handle.dir),
    ]
    const refusedBy = async (message: string) => {
      for (const read of readers) {
        const err = await read().catch((e) => e)
        expect(err.exitCode, String(err)).toBe(ExitCode.integrity)
        expect(err.message).toMatch(message)
        expect(err.actions[0]).toBe(`run \`fir case verify --case ${handle.dir}\` to list every problem`)
      }
    }
    expect(await latestOfVictim(handle)).toEqual({
      contain: newer.name,
      timeline: newer.name,
      creds: [older.name, newer.name],
    })

    // Before: the newer set was passed over, and contain went by the older one (case show exit 0,
    // the set listed as "manifest changed or unreadable", its findings gone).
    const manifest = join(newer.dir, 'manifest.json')
    const sealed = await readFile(manifest)
    await rm(manifest)
    await refusedBy(
      `unable to use evidence evidence/${newer.name}/manifest.json: it was changed after it was sealed: it is missing; fir goes by evidence only as it was sealed`,
    )
    await writeFile(manifest, Buffer.concat([sealed, Buffer.from(' ')]))
    await refusedBy(
      `unable to use evidence evidence/${newer.name}/manifest.json: it was changed after it was sealed: sha256 `,
    )
    // A link to the very bytes sealed: what it holds can change at any time.
    await rm(manifest)
    await writeFile(join(handle.dir, 'copy.json'), sealed)
    await symlink(join(handle.dir, 'copy.json'), manifest)
    await refusedBy(
      `evidence/${newer.name}/manifest.json: it was changed after it was sealed: it is now a symbolic link`,
    )
    await rm(manifest)
    await writeFile(manifest, sealed)

    // The whole set gone.
    const aside = join(await tempDir('fir-aside-'), newer.name)
    await rename(newer.dir, aside)
    await refusedBy(
      `unable to use evidence evidence/${newer.name}/: it was changed after it was sealed: it is missing (the journal sealed it at entry ${seq})`,
    )
    await rename(aside, newer.dir)

    // A set being built (no seal journaled: an interrupted snapshot) is no set, not tampering.
    const unsealed = await snapshotSet(handle)
    expect(await latestOfVictim(handle)).toEqual({
      contain: newer.name,
      timeline: newer.name,
      creds: [older.name, newer.name],
    })
    expect((await summariseCase(handle.dir)).evidence.map((e) => e.set)).toEqual([older.name, newer.name])
    expect(unsealed.dir).toContain('.unfinished-')
    await handle.close()
  })
})

describe('folders of the case replaced by symbolic links', () => {
  it('verify names every linked folder (evidence, a set, a subfolder of one, timeline/raw, reports)', async () => {
    const handle = await newCase()
    const set = await snapshotSet(handle)
    await set.seal()
    await mkdir(join(handle.dir, 'timeline', 'raw', 'run-1'), { recursive: true })
    await writeFile(join(handle.dir, 'timeline', 'raw', 'run-1', 'page-1.json'), '{"Events":[]}')
    await recordArtifact(handle.dir, handle.journal, 'timeline/raw/run-1/page-1.json')
    await writeFile(join(handle.dir, 'reports', 'report.md'), '# report')
    await recordArtifact(handle.dir, handle.journal, 'reports/report.md')
    await handle.close()
    expect((await verifyCase(handle.dir)).ok).toBe(true)

    const elsewhere = await tempDir('fir-elsewhere-')
    /** Moves a folder of the case out, same contents, and links it back in. */
    const moveOut = async (rel: string) => {
      const to = join(elsewhere, rel.replaceAll('/', '_'))
      await rename(join(handle.dir, rel), to)
      await symlink(to, join(handle.dir, rel))
      return to
    }
    const fn = await moveOut(`evidence/${set.name}/functions`)
    const raw = await moveOut('timeline/raw')
    const reports = await moveOut('reports')
    const r = await verifyCase(handle.dir)
    expect(r.problems.map((p) => p.message)).toEqual([
      `evidence/${set.name}/functions/ was changed: it is a symbolic link (to ${JSON.stringify(fn)}), not a folder of the case`,
      `timeline/raw/ was changed: it is a symbolic link (to ${JSON.stringify(raw)}), not a folder of the case`,
      `reports/ was changed: it is a symbolic link (to ${JSON.stringify(reports)}), not a folder of the case`,
    ])
    expect(r.problems.every((p) => p.kind === 'changed')).toBe(true)

    // The whole evidence folder, and one set on its own.
    const other = await newCase()
    const s2 = await snapshotSet(other)
    await s2.seal()
    await other.close()
    const setOut = join(elsewhere, 'set')
    await rename(s2.dir, setOut)
    await symlink(setOut, s2.dir)
    expect((await verifyCase(other.dir)).problems.map((p) => `${p.kind} ${p.path}`)).toEqual([
      `changed evidence/${s2.name}/`,
    ])
    // Nor is a linked set a snapshot to go by: what it holds can change at any time (refused).
    await expect(latestOfVictim(other)).rejects.toThrow(
      `unable to use evidence evidence/${s2.name}/: it was changed after it was sealed: it is now a symbolic link, not the folder sealed`,
    )
    const evidenceOut = join(elsewhere, 'evidence')
    await rename(join(other.dir, 'evidence'), evidenceOut)
    await symlink(evidenceOut, join(other.dir, 'evidence'))
    expect((await verifyCase(other.dir)).problems.map((p) => `${p.kind} ${p.path}`)).toEqual([
      'changed evidence/',
    ])
  })

  it('refuses to open a case for writing through a linked folder (exit 3), and writes nothing there', async () => {
    const handle = await newCase()
    await handle.close()
    const elsewhere = await tempDir('fir-elsewhere-')
    await rm(join(handle.dir, 'evidence'), { recursive: true })
    await symlink(elsewhere, join(handle.dir, 'evidence'))
    const err = await CaseHandle.open(handle.dir).catch((e) => e)
    expect(err.exitCode).toBe(ExitCode.integrity)
    expect(err.message).toBe(
      `unable to write to case ${handle.dir}: its folder evidence/ was changed: it is a symbolic link (to ${JSON.stringify(elsewhere)}), not a folder of the case; what fir wrote there would land outside the case`,
    )
    expect(err.actions[0]).toContain('fir case verify --case')
    expect(await readdir(elsewhere)).toEqual([])
    // The lock was released: verify (which takes none) and another open are not blocked by it.
    expect(await readdir(handle.dir)).not.toContain('.lock')

    // secrets/ too (a rotated key's secret would be written outside the case).
    const second = await newCase()
    await second.close()
    await rm(join(second.dir, 'secrets'), { recursive: true })
    await symlink(elsewhere, join(second.dir, 'secrets'))
    await expect(CaseHandle.open(second.dir)).rejects.toThrow(/its folder secrets\/ was changed/)
  })

  it('refuses a journal or case.json replaced by a link to a file outside the case (exit 3), and appends nothing there', async () => {
    const handle = await newCase()
    await handle.close()
    const elsewhere = await tempDir('fir-elsewhere-')
    const outside = join(elsewhere, 'journal.jsonl')
    const journal = await readFile(join(handle.dir, 'journal.jsonl'))
    await writeFile(outside, journal)
    await rm(join(handle.dir, 'journal.jsonl'))
    await symlink(outside, join(handle.dir, 'journal.jsonl'))
    const err = await CaseHandle.open(handle.dir).catch((e) => e)
    expect(err.exitCode).toBe(ExitCode.integrity)
    expect(err.message).toBe(
      `unable to open case ${handle.dir}: its journal.jsonl was changed: it is a symbolic link (to ${JSON.stringify(outside)}), not the file fir wrote; fir reads and writes only the case's own files, and what it wrote through the link would land outside the case`,
    )
    expect(err.actions[0]).toContain('fir case verify --case')
    // Read-only commands (case show) refuse it too.
    await expect(summariseCase(handle.dir)).rejects.toThrow(/its journal.jsonl was changed/)
    expect(await readFile(outside)).toEqual(journal)
    expect(await readdir(handle.dir)).not.toContain('.lock')
    // An append never follows a link, whoever calls it.
    await expect(appendLineDurable(join(handle.dir, 'journal.jsonl'), '{}')).rejects.toMatchObject({
      code: 'ELOOP',
    })
    expect(await readFile(outside)).toEqual(journal)

    const second = await newCase()
    await second.close()
    const record = join(elsewhere, 'case.json')
    await rename(join(second.dir, 'case.json'), record)
    await symlink(record, join(second.dir, 'case.json'))
    for (const open of [() => CaseHandle.open(second.dir), () => summariseCase(second.dir)]) {
      const e = await open().catch((x) => x)
      expect(e.exitCode).toBe(ExitCode.integrity)
      expect(e.message).toMatch(/its case\.json was changed: it is a symbolic link/)
    }
  })
})

describe('verify names what it cannot read instead of failing (exit 3, not a bug)', () => {
  it('a link to nothing among the sets, a journal replaced by a folder, evidence replaced by a file', async () => {
    const handle = await newCase()
    const set = await snapshotSet(handle)
    await set.seal()
    await handle.close()
    await symlink('/nonexistent', join(handle.dir, 'evidence', 'dangling'))
    const dangling = await verifyCase(handle.dir)
    expect(dangling.problems.map((p) => p.message)).toEqual([
      'evidence/dangling is a symbolic link (to "/nonexistent"), not an evidence set fir made: it was added to the case folder',
    ])
    await rm(join(handle.dir, 'evidence', 'dangling'))

    const journal = join(handle.dir, 'journal.jsonl')
    await rename(journal, `${journal}.aside`)
    await mkdir(journal)
    const folder = await verifyCase(handle.dir)
    expect(folder.ok).toBe(false)
    expect(folder.problems[0]!.message).toBe('journal.jsonl was changed: it is no longer a regular file')
    await rm(journal, { recursive: true })
    await rename(`${journal}.aside`, journal)

    await rename(join(handle.dir, 'evidence'), join(handle.dir, 'evidence.aside'))
    await writeFile(join(handle.dir, 'evidence'), 'not a folder')
    const file = await verifyCase(handle.dir)
    expect(file.problems.map((p) => `${p.kind} ${p.path}`)).toEqual([
      'changed evidence/',
      `missing evidence/${set.name}/manifest.json`,
    ])
    expect(file.problems[0]!.message).toBe('evidence/ was changed: it is no longer a folder')
  })
})
