import { execFileSync } from 'node:child_process'
import { appendFile, chmod, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fileSystemProblem } from '../../../src/base-command.js'
import { CaseHandle, resolveCaseDir } from '../../../src/core/case/case-folder.js'
import { recordArtifact } from '../../../src/core/case/evidence-store.js'
import { checkJournalText, entryHash, Journal, type JournalEntry } from '../../../src/core/case/journal.js'
import { registerSecretsOfCase, SECRET_FILE_ACTION } from '../../../src/core/case/secrets.js'
import { summariseCase } from '../../../src/core/case/summary.js'
import { verifyCase, verifyCaseWhenIdle } from '../../../src/core/case/verify.js'
import { ensureDir } from '../../../src/core/common/fs-safe.js'
import { sha256Hex } from '../../../src/core/common/hash.js'
import { redactor, redactValue } from '../../../src/core/common/redact.js'
import { ExitCode } from '../../../src/errors.js'
import { REPO_ROOT, tempDir } from '../../support/cli.js'
import { startFirStandIn } from '../../support/fir-stand-in.js'

/** Appends a case.note entry (any entry will do where these tests append one). */
function note(journal: Journal, text: string) {
  return journal.append({ action: 'case.note', target: 'x', params: { text }, outcome: 'recorded' })
}

async function newCase(id = 'C1') {
  const cwd = await tempDir()
  const handle = await CaseHandle.init(id, { firVersion: 'test', cwd })
  return { cwd, handle }
}

describe('case folder', () => {
  it('creates 0700 folders, a 0600 case.json and journal seq 0', async () => {
    const { handle } = await newCase()
    expect((await stat(handle.dir)).mode & 0o777).toBe(0o700)
    expect((await stat(join(handle.dir, 'evidence'))).mode & 0o777).toBe(0o700)
    expect((await stat(join(handle.dir, 'case.json'))).mode & 0o777).toBe(0o600)
    expect((await stat(join(handle.dir, 'journal.jsonl'))).mode & 0o777).toBe(0o600)
    const [first] = handle.journal.all()
    expect(first).toMatchObject({ seq: 0, action: 'case.init', outcome: 'recorded', prev: '0'.repeat(64) })
    await handle.close()
  })

  it('makes the folders it creates 0700 and leaves the mode of folders that were there', async () => {
    const parent = await tempDir()
    await chmod(parent, 0o755)
    await ensureDir(join(parent, 'a', 'b'))
    await ensureDir(parent)
    expect((await stat(parent)).mode & 0o777).toBe(0o755)
    expect((await stat(join(parent, 'a'))).mode & 0o777).toBe(0o700)
    expect((await stat(join(parent, 'a', 'b'))).mode & 0o777).toBe(0o700)
    // An empty folder given as the case folder becomes the case's (0700).
    const given = join(parent, 'given')
    await mkdir(given, { mode: 0o755 })
    const handle = await CaseHandle.init('GIVEN-1', { dir: given, firVersion: 'test' })
    await handle.close()
    expect((await stat(given)).mode & 0o777).toBe(0o700)
    expect((await stat(parent)).mode & 0o777).toBe(0o755)
  })

  it('refuses, clearly and at once, a case folder under a link to nothing or where no folder can be made', async () => {
    const parent = await tempDir()
    // `cases` linked to an unmounted drive: before, an unexpected error (ENOTDIR) and a stack trace.
    await symlink(join(parent, 'unmounted-drive'), join(parent, 'cases'))
    const underLink = await CaseHandle.init('INC-1', { firVersion: 'test', cwd: parent }).catch((e) => e)
    expect(fileSystemProblem(underLink)?.message).toBe(
      `unable to write ${join(parent, 'cases')}: a part of the path is not a folder (a file, or a link to something missing, such as an unmounted drive) (ENOTDIR)`,
    )
    expect(fileSystemProblem(underLink)?.exitCode).toBe(ExitCode.usage)
    await writeFile(join(parent, 'a-file'), 'x')
    expect(fileSystemProblem(await ensureDir(join(parent, 'a-file', 'b')).catch((e) => e))?.code).toBe(
      'not-a-folder',
    )
    // Before: Node's recursive mkdir looped forever at full CPU under /proc (mkdir says ENOENT).
    const inProc = await ensureDir('/proc/fir-no-such-folder/case').catch((e) => e)
    expect(fileSystemProblem(inProc)?.message).toBe(
      'unable to write /proc/fir-no-such-folder: this file system does not let folders be made there (ENOENT)',
    )
  }, 10_000)

  it("names the calling command's flag for the case folder when refusing one that is taken", async () => {
    const parent = await tempDir()
    await writeFile(join(parent, 'a-file'), 'x')
    const asCase = await CaseHandle.init('a-file', {
      firVersion: 'test',
      cwd: parent,
      dir: 'a-file',
      dirFlag: '--case',
    }).catch((e) => e)
    expect(asCase.message).toBe(
      `unable to create case a-file: ${join(parent, 'a-file')} exists and is not a folder`,
    )
    // Before: "choose another --dir or id", a flag tabletop run does not have.
    expect(asCase.actions).toEqual(['pass --case a new or empty folder'])
    const asDir = await CaseHandle.init('a-file', { firVersion: 'test', cwd: parent, dir: 'a-file' }).catch(
      (e) => e,
    )
    expect(asDir.actions).toEqual(['pass --dir a new or empty folder'])
  })

  it('summarises a timeline of several megabytes by counting its lines as a stream', async () => {
    const { handle } = await newCase('SHOW-1')
    const lines = Array.from({ length: 30_000 }, (_, i) =>
      JSON.stringify({ id: `event-${i}`, pad: 'x'.repeat(i % 200) }),
    )
    // 3.4 MB: lines cross the 1 MiB chunks the count reads in.
    await writeFile(join(handle.dir, 'timeline', 'events.jsonl'), `${lines.join('\n')}\n`)
    await writeFile(
      join(handle.dir, 'timeline', 'findings.json'),
      JSON.stringify([{ level: 'high' }, { level: 'high' }]),
    )
    for (const rel of ['timeline/events.jsonl', 'timeline/findings.json'])
      await recordArtifact(handle.dir, handle.journal, rel)
    await handle.close()
    expect((await summariseCase(handle.dir)).timeline).toEqual({
      events: 30_000,
      findings: { high: 2 },
      problems: [],
      conflicting: null,
    })
  })

  it('chains journal entries and redacts registered secrets in them', async () => {
    const { handle } = await newCase()
    redactor.register('super-secret-env-value')
    await handle.journal.append({
      action: 'test.x',
      target: 't',
      params: { note: 'has super-secret-env-value inside' },
      outcome: 'recorded',
    })
    const text = await readFile(handle.journal.path, 'utf8')
    expect(text).not.toContain('super-secret-env-value')
    expect(text).toContain(redactValue('super-secret-env-value'))
    const parsed = checkJournalText(text)
    expect(parsed.problems).toEqual([])
    expect(parsed.entries[1]!.prev).toBe(parsed.entries[0]!.hash)
    await handle.close()
  })

  it('names each journal problem once, where it is: a swap is one reordering, an absent entry is missing, a rehashed edit names both ends of the broken link', async () => {
    const { handle } = await newCase()
    for (let i = 1; i <= 7; i++)
      await handle.journal.append({ action: 'test.x', target: `t${i}`, params: {}, outcome: 'recorded' })
    await handle.close()
    const lines = (await readFile(handle.journal.path, 'utf8')).trimEnd().split('\n')
    const check = (l: string[]) =>
      checkJournalText(`${l.join('\n')}\n`).problems.map((p) => [p.line, p.kind, p.message])
    // Entries 5 and 6 swapped. Before: "entries 5..5 are missing" (present, on the next line),
    // a reordering, "entries 6..6 are missing", and broken links.
    expect(check([...lines.slice(0, 5), lines[6]!, lines[5]!, lines[7]!])).toEqual([
      [7, 'out-of-order', 'journal line 7 has seq 5, after seq 6 (line 6): entries are reordered'],
    ])
    // Entries 2 and 3 gone from the file: missing, once.
    expect(check([...lines.slice(0, 2), ...lines.slice(4)])).toEqual([
      [3, 'missing', 'journal line 3 has seq 4, expected 2: entries 2..3 are missing'],
    ])
    // Entry 4 edited and its hash computed again: before, only entry 5 was named.
    const edited = JSON.parse(lines[4]!) as JournalEntry
    const { hash: _old, ...rest } = { ...edited, outcome: 'failed' as const }
    const rehashed = JSON.stringify({ ...rest, hash: entryHash(rest) })
    expect(check([...lines.slice(0, 4), rehashed, ...lines.slice(5)])).toEqual([
      [
        6,
        'broken-chain',
        'journal entry seq 5 (line 6) does not chain to entry seq 4 (line 5): one of the two was changed and its hash computed again to match',
      ],
    ])
    // A line that is no entry stands for its seq: not also missing.
    expect(check([...lines.slice(0, 3), '{oops', ...lines.slice(4)])).toEqual([
      [4, 'unparseable', 'journal line 4 is not a journal entry'],
    ])
  })

  it('writes C1 controls, bidi overrides and zero-width characters of an entry as \\u escapes; journals written raw before verify beside them', async () => {
    // A function description or a user name is the attacker's: a recycle's prior state and a
    // rotate-key's command line held U+009B (CSI to a terminal that honours 8-bit controls) and
    // U+202E raw, and `tail journal.jsonl` gave them to the responder's terminal.
    const hostile = '\u009b31mC1\u202eevil\u200bzw'
    const rawBytes = ['c29b', 'e280ae', 'e2808b'] // U+009B, U+202E, U+200B as UTF-8
    const holdsRaw = (b: Buffer) => rawBytes.filter((hex) => b.includes(Buffer.from(hex, 'hex')))
    const { handle } = await newCase()
    const entry = (n: number) => ({
      action: 'containment.recycle',
      target: `orders-${n}`,
      actor: {
        arn: null,
        osUser: 'r',
        host: 'h',
        command: ['fir', 'creds', 'rotate-key', '--user', hostile],
      },
      params: { function: hostile },
      outcome: 'started' as const,
      prior: { description: hostile },
    })
    const first = await handle.journal.append(entry(1), { states: true })
    let lines = (await readFile(handle.journal.path, 'utf8')).trimEnd().split('\n')
    expect(holdsRaw(Buffer.from(lines[1]!))).toEqual([])
    expect(lines[1]).toContain('\\u009b31mC1\\u202eevil\\u200bzw')
    expect(JSON.parse(lines[1]!)).toEqual(first)
    expect(first.prior).toEqual({ description: hostile })
    expect(first.actor.command.at(-1)).toBe(hostile)
    // The same entry as an earlier fir wrote it (JSON.stringify: the characters raw), then an
    // entry chained to it by this one.
    lines[1] = JSON.stringify(first)
    expect(holdsRaw(Buffer.from(lines[1]))).toEqual(rawBytes)
    await handle.close()
    await writeFile(handle.journal.path, `${lines.join('\n')}\n`)
    const reopened = await CaseHandle.open(handle.dir)
    const second = await reopened.journal.append(entry(2), { states: true })
    await reopened.close()
    const text = await readFile(handle.journal.path)
    lines = text.toString('utf8').trimEnd().split('\n')
    expect(holdsRaw(Buffer.from(lines[2]!))).toEqual([])
    expect(JSON.parse(lines[2]!)).toEqual(second)
    expect(second.prev).toBe(first.hash)
    expect(checkJournalText(text.toString('utf8')).problems).toEqual([])
    const verified = await verifyCase(handle.dir)
    expect(verified.problems).toEqual([])
    expect(verified.ok).toBe(true)
  })

  it('keeps the chain whole when appends are not awaited one by one (concurrent callers)', async () => {
    const { handle } = await newCase()
    const appended = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        handle.journal.append({
          action: 'test.concurrent',
          target: `t${i}`,
          params: {},
          outcome: 'recorded',
        }),
      ),
    )
    expect(appended.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
    const parsed = checkJournalText(await readFile(handle.journal.path, 'utf8'))
    expect(parsed.problems).toEqual([])
    expect(parsed.entries.map((e) => e.target)).toEqual([
      expect.any(String),
      ...Array.from({ length: 25 }, (_, i) => `t${i}`),
    ])
    await handle.close()
  })

  it('keeps evidence write-once and seals a manifest whose hash is journaled', async () => {
    const { handle } = await newCase()
    const set = await handle.newEvidenceSet()
    await set.writeJson(
      'functions/f/get-function.json',
      { $metadata: { requestId: 'r' }, Configuration: { FunctionName: 'f' } },
      { call: 'lambda:GetFunction' },
    )
    // An array stays an array (findings.json), only the SDK's $metadata is dropped from a response.
    await set.writeJson('findings.json', [{ id: 'a' }, { id: 'b' }], { call: 'fir:findings' })
    expect(JSON.parse(await readFile(join(set.dir, 'findings.json'), 'utf8'))).toEqual([
      { id: 'a' },
      { id: 'b' },
    ])
    await expect(set.writeBytes('functions/f/get-function.json', 'again', { call: 'x' })).rejects.toThrow(
      /already written/,
    )
    await expect(set.writeBytes('../escape.txt', 'x', { call: 'x' })).rejects.toThrow(
      /not a plain relative path/,
    )
    const { manifest, sha256 } = await set.seal()
    expect(manifest.files).toHaveLength(2)
    expect(manifest.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/)
    const stored = JSON.parse(await readFile(join(set.dir, 'functions/f/get-function.json'), 'utf8'))
    expect(stored).toEqual({ Configuration: { FunctionName: 'f' } })
    expect(handle.journal.all().at(-1)).toMatchObject({
      action: 'evidence.seal',
      params: { manifestSha256: sha256 },
    })
    expect((await verifyCase(handle.dir)).ok).toBe(true)
    await handle.close()
  })

  it('verify names a changed, a missing and an extra evidence file, and a changed journal entry', async () => {
    const { handle } = await newCase()
    const set = await handle.newEvidenceSet()
    await set.writeBytes('a.bin', 'aaaa', { call: 'x' })
    await set.writeBytes('b.bin', 'bbbb', { call: 'x' })
    await set.seal()
    await handle.close()
    await writeFile(join(set.dir, 'a.bin'), 'aaab')
    await writeFile(join(set.dir, 'c.bin'), 'new')
    const { rm } = await import('node:fs/promises')
    await rm(join(set.dir, 'b.bin'))
    const lines = (await readFile(join(handle.dir, 'journal.jsonl'), 'utf8')).split('\n')
    lines[0] = lines[0]!.replace('"case.init"', '"case.inif"')
    await writeFile(join(handle.dir, 'journal.jsonl'), lines.join('\n'))
    const r = await verifyCase(handle.dir)
    expect(r.ok).toBe(false)
    const byKind = r.problems.map((p) => `${p.kind} ${p.path}`)
    expect(byKind).toContain(`changed evidence/${set.name}/a.bin`)
    expect(byKind).toContain(`missing evidence/${set.name}/b.bin`)
    expect(byKind).toContain(`extra evidence/${set.name}/c.bin`)
    expect(r.problems.some((p) => p.kind === 'changed' && p.path === 'journal.jsonl' && p.seq === 0)).toBe(
      true,
    )
  })

  it('verify names a sealed file swapped for a symbolic link to the same bytes, and a stray file among the sets', async () => {
    const { handle } = await newCase()
    const set = await handle.newEvidenceSet()
    await set.writeBytes('a.bin', 'aaaa', { call: 'x' })
    await set.seal()
    await handle.close()
    const outside = join(await tempDir(), 'a.bin')
    await writeFile(outside, 'aaaa') // the same bytes, outside the case: free to change later
    const { rm, symlink } = await import('node:fs/promises')
    await rm(join(set.dir, 'a.bin'))
    await symlink(outside, join(set.dir, 'a.bin'))
    await writeFile(join(handle.dir, 'evidence', 'notes.md'), 'a file among the sets')
    const caseCopy = join(await tempDir(), 'case.json')
    await writeFile(caseCopy, await readFile(join(handle.dir, 'case.json')))
    await rm(join(handle.dir, 'case.json'))
    await symlink(caseCopy, join(handle.dir, 'case.json'))
    const r = await verifyCase(handle.dir)
    expect(r.problems.map((p) => p.message)).toEqual([
      `case.json was changed: it is now a symbolic link (to ${JSON.stringify(caseCopy)}), not the file fir wrote`,
      `evidence/${set.name}/a.bin was changed: it is now a symbolic link (to ${JSON.stringify(outside)}), not the file fir wrote`,
    ])
    expect(r.warnings).toContain(
      'evidence/notes.md is not an evidence set (a stray file); it is not evidence',
    )
  })

  it('verify names files added to the folders fir records (timeline, reports, sweeps) and only names a run’s leftovers', async () => {
    const { handle } = await newCase()
    await mkdir(join(handle.dir, 'reports'), { recursive: true })
    await writeFile(join(handle.dir, 'reports', 'report.md'), '# report')
    await recordArtifact(handle.dir, handle.journal, 'reports/report.md')
    await handle.close()
    expect((await verifyCase(handle.dir)).problems).toEqual([])
    const add = async (rel: string, text = 'x') => {
      await mkdir(join(handle.dir, rel, '..'), { recursive: true })
      await writeFile(join(handle.dir, rel), text)
    }
    // A forged LookupEvents page a later `--source …/timeline/raw/` would read, a planted report.
    await add('timeline/raw/2026-11-29T000000Z/us-east-1-all-0001.json', '{"Events":[]}')
    await add('reports/summary-for-legal.html')
    await add('sweeps/20261129T000000Z.json')
    // What a killed run leaves, and what a file browser makes.
    await add('timeline/.0123456789ab.tmp')
    await add('timeline/raw/2026-11-29T000000Z/piped-1-stdin.part')
    await add('timeline/.spool-AbC123/w1-run-0.tsv')
    await add('reports/.DS_Store')
    const r = await verifyCase(handle.dir)
    expect(r.ok).toBe(false)
    expect(r.problems.map((p) => `${p.kind} ${p.path}`).sort()).toEqual([
      'extra reports/summary-for-legal.html',
      'extra sweeps/20261129T000000Z.json',
      'extra timeline/raw/2026-11-29T000000Z/us-east-1-all-0001.json',
    ])
    expect(r.warnings.sort()).toEqual([
      'reports/.DS_Store was made by a file browser; it is not part of the case record',
      'timeline/.0123456789ab.tmp was left by an interrupted fir run; it is not part of the case record (remove it)',
      'timeline/.spool-AbC123/w1-run-0.tsv was left by an interrupted fir run; it is not part of the case record (remove it)',
      'timeline/raw/2026-11-29T000000Z/piped-1-stdin.part was left by an interrupted fir run; it is not part of the case record (remove it)',
    ])
  })

  it('verify names the temporaries of a live fir command holding the lock as its work in progress, never to remove', async () => {
    const { handle } = await newCase('WIP')
    await handle.close()
    const dir = handle.dir
    const temporaries = [
      'timeline/.606b83f0ad1c.tmp',
      'timeline/.spool-AbC123/w1-run-0.tsv',
      'secrets/.ba9876543210.tmp',
      'evidence/.download-0123456789ab.partial',
    ]
    for (const rel of temporaries) {
      await mkdir(join(dir, rel, '..'), { recursive: true })
      await writeFile(join(dir, rel), 'x')
    }
    const fir = await startFirStandIn()
    try {
      const command = 'fir timeline --case cases/WIP --source -'
      await writeFile(
        join(dir, '.lock'),
        JSON.stringify({
          pid: fir.pid,
          host: hostname(),
          user: 'ir',
          command,
          since: '2026-11-29T00:00:00Z',
        }),
      )
      // Before: "timeline/.606b83f0ad1c.tmp was left by an interrupted fir run; it is not part of
      // the case record (remove it)", and removing it crashed the running timeline.
      const result = await verifyCaseWhenIdle(dir, {}, 300)
      expect(result.ok).toBe(true)
      expect(result.warnings.sort()).toEqual(
        temporaries
          .sort()
          .map(
            (rel) =>
              `${rel} is work in progress of process ${fir.pid} (${command}), the fir command holding the case lock; it is not part of the case record yet, and that command renames or removes it (leave it)`,
          ),
      )
    } finally {
      await fir.stop()
    }
    // Once that command is gone, they are an interrupted run's leftovers.
    const after = await verifyCaseWhenIdle(dir, {}, 300)
    expect(after.warnings).toContain(
      'timeline/.606b83f0ad1c.tmp was left by an interrupted fir run; it is not part of the case record (remove it)',
    )
  })

  it('verify names reordered and deleted journal entries', async () => {
    const { handle } = await newCase()
    for (const n of [1, 2, 3])
      await handle.journal.append({ action: `a${n}`, target: 't', params: {}, outcome: 'recorded' })
    await handle.close()
    const lines = (await readFile(join(handle.dir, 'journal.jsonl'), 'utf8')).trimEnd().split('\n')
    await writeFile(
      join(handle.dir, 'journal.jsonl'),
      `${[lines[0], lines[2], lines[1], lines[3]].join('\n')}\n`,
    )
    const r = await verifyCase(handle.dir)
    expect(r.problems.some((p) => p.kind === 'missing' || p.kind === 'out-of-order')).toBe(true)
    expect(r.problems.some((p) => p.kind === 'out-of-order' && p.seq === 1)).toBe(true)
  })

  it('appends a journal line whole or not at all when the disk takes only part of it', async () => {
    const { handle } = await newCase('FULL-1')
    const dir = handle.dir
    await handle.close()
    const journal = join(dir, 'journal.jsonl')
    const before = await readFile(journal)
    // A child whose file size limit ends partway through the next entry: its write is cut short
    // (as on a disk that fills up), the next write fails with EFBIG (Node ignores SIGXFSZ).
    const limitKb = Math.ceil(before.length / 1024) + 1
    const script = `
      const { Journal } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/core/case/journal.js'))})
      const j = await Journal.open(${JSON.stringify(dir)})
      try {
        await j.append({ action: 'case.note', target: 'x', params: { text: 'n'.repeat(4096) }, outcome: 'recorded' })
        console.log('appended')
      } catch (err) {
        console.log(err.code)
      }
    `
    const out = execFileSync(
      'bash',
      ['-c', `ulimit -f ${limitKb}; exec "$0" --input-type=module -e "$1"`, process.execPath, script],
      {
        encoding: 'utf8',
      },
    )
    expect(out.trim()).toBe('EFBIG')
    // The journal is as it was: no half line for the next entry to run on from.
    expect(await readFile(journal)).toEqual(before)
    const reopened = await CaseHandle.open(dir)
    await note(reopened.journal, 'after')
    await reopened.close()
    expect((await verifyCase(dir)).problems).toEqual([])
  })

  it('refuses to open a case with a corrupt journal line for writing', async () => {
    const { handle } = await newCase()
    await handle.close()
    await appendFile(join(handle.dir, 'journal.jsonl'), '{not json\n')
    await expect(CaseHandle.open(handle.dir)).rejects.toThrow(/journal line 2 is not a journal entry/)
    // Damage to what fir wrote is an integrity failure (exit 3), as a corrupt case.json is.
    await expect(Journal.open(handle.dir)).rejects.toMatchObject({
      exitCode: ExitCode.integrity,
      code: 'integrity',
    })
  })

  it('a journal that does not start with case.init at seq 0 refuses the case, and verify cannot vouch for case.json', async () => {
    const { handle } = await newCase('START-1')
    await handle.close()
    const journal = join(handle.dir, 'journal.jsonl')
    // A chain whole from seq 0, but written afresh: what a 0-byte journal became once a later
    // command appended to it (its evidence.seal took seq 0), or a rewrite that dropped case.init.
    await rm(journal)
    const fresh = await Journal.create(handle.dir, {
      action: 'evidence.seal',
      target: 'x',
      params: {},
      outcome: 'recorded',
    })
    await note(fresh, 'later')
    await writeFile(join(handle.dir, 'case.json'), '{"id":"EVIL","created":"2026-01-01T00:00:00Z"}\n')
    const r = await verifyCase(handle.dir)
    expect(r.problems.map((p) => `${p.kind} ${p.path} ${p.message}`)).toEqual([
      "changed journal.jsonl journal entry seq 0 (line 1) is a \"evidence.seal\" entry, not the case.init entry that starts every case's journal and records case.json's SHA-256: the journal was rewritten or is not this case's",
      'missing case.json case.json cannot be checked: no case.init entry at seq 0 of the journal records its SHA-256',
    ])
    for (const attempt of [() => CaseHandle.open(handle.dir), () => summariseCase(handle.dir)]) {
      await expect(attempt()).rejects.toMatchObject({
        exitCode: ExitCode.integrity,
        message: expect.stringContaining('is a "evidence.seal" entry, not the case.init entry'),
      })
    }
    // An empty journal in a folder holding case.json: nothing records case.json.
    await writeFile(journal, '')
    expect((await verifyCase(handle.dir)).problems.map((p) => `${p.kind} ${p.path}`)).toEqual([
      'missing journal.jsonl',
      'missing case.json',
    ])
    await expect(CaseHandle.open(handle.dir)).rejects.toMatchObject({
      exitCode: ExitCode.integrity,
      message: expect.stringContaining('journal.jsonl holds no entry: its entry seq 0 (case.init'),
    })
    // No journal at all.
    await rm(journal)
    await expect(CaseHandle.open(handle.dir)).rejects.toMatchObject({
      exitCode: ExitCode.integrity,
      message: expect.stringContaining('journal.jsonl is missing, though the folder holds case.json'),
    })
  })

  it('uses for redaction only the files in secrets/ the journal records, as fir wrote them', async () => {
    const { handle } = await newCase('SECRETS-1')
    const rotated = 'rotated/Secret+Key0123456789abcdefghijKLMN'
    const text = `${JSON.stringify({ AccessKey: { SecretAccessKey: rotated } })}\n`
    const rel = 'secrets/deployer-AKIAEXAMPLE000000001.json'
    await handle.journal.append({
      action: SECRET_FILE_ACTION,
      target: rel,
      params: { path: rel, sha256: sha256Hex(text), bytes: text.length },
      outcome: 'recorded',
    })
    await writeFile(join(handle.dir, rel), text, { mode: 0o600 })
    // Put there by hand: a name that would be censored in every report.
    await writeFile(join(handle.dir, 'secrets', 'x'), 'planted-function-name\n')
    await writeFile(
      join(handle.dir, 'secrets', 'y.json'),
      JSON.stringify({ AccessKey: { SecretAccessKey: 'planted-role-name-xyz' } }),
    )
    const ignored = await registerSecretsOfCase(handle.dir, handle.journal.all())
    expect(ignored.sort()).toEqual([
      'secrets/x is not a file fir recorded in the journal (only rotated-key secrets belong in secrets/): it is not used to redact; run fir case verify',
      'secrets/y.json is not a file fir recorded in the journal (only rotated-key secrets belong in secrets/): it is not used to redact; run fir case verify',
    ])
    expect(redactor.scrub(`a ${rotated} b`)).toBe(`a ${redactValue(rotated)} b`)
    expect(redactor.scrub('planted-function-name planted-role-name-xyz')).toBe(
      'planted-function-name planted-role-name-xyz',
    )
    await handle.close()
    const r = await verifyCase(handle.dir)
    expect(r.problems.map((p) => `${p.kind} ${p.path}`).sort()).toEqual([
      'extra secrets/x',
      'extra secrets/y.json',
    ])
    expect(r.problems[0]!.message).toContain('is not a secret file fir recorded in the journal')
    // The responder deletes the recorded file once the key is deployed, as told: no problem.
    await rm(join(handle.dir, 'secrets', 'x'))
    await rm(join(handle.dir, 'secrets', 'y.json'))
    await writeFile(join(handle.dir, rel), text.replace(rotated, 'edited-secret-value-123'))
    expect((await verifyCase(handle.dir)).problems.map((p) => `${p.kind} ${p.path}`)).toEqual([
      `changed ${rel}`,
    ])
    expect(await registerSecretsOfCase(handle.dir, handle.journal.all())).toEqual([
      `${rel} is no longer the file fir wrote (its SHA-256 is recorded in the journal): it is not used to redact; run fir case verify`,
    ])
    expect(redactor.scrub('edited-secret-value-123')).toBe('edited-secret-value-123')
    await rm(join(handle.dir, rel))
    expect(await verifyCase(handle.dir)).toMatchObject({ ok: true, problems: [] })
  })

  it('redacts an environment value of the evidence that a sweep of the case declared leaked', async () => {
    const { handle } = await newCase('LEAKED-1')
    const leaked = 'blue heron at dusk'
    const set = await handle.newEvidenceSet()
    await set.writeJson(
      'functions/desc-fn/get-function.$LATEST.json',
      { Configuration: { FunctionName: 'desc-fn', Environment: { Variables: { GREETING: leaked } } } },
      { call: 'lambda:GetFunction', target: 'desc-fn' },
    )
    await set.seal()
    // GREETING is no secret by its name or its value: only the sweep's record makes it one.
    await registerSecretsOfCase(handle.dir, handle.journal.all())
    expect(redactor.scrub(`hello ${leaked}`)).toBe(`hello ${leaked}`)
    // A sweep cut off after it started: its indicators are journaled already.
    await handle.journal.append({
      action: 'sweep.start',
      target: '123456789012',
      params: { indicators: { roleNames: [], envValueSha256: [sha256Hex(leaked)] } },
      outcome: 'recorded',
    })
    // Before: the case's secrets were those classifyValue finds, and the value stayed in clear.
    await registerSecretsOfCase(handle.dir, handle.journal.all())
    expect(redactor.scrub(`hello ${leaked}`)).toBe(`hello ${redactValue(leaked)}`)
    await handle.close()
  })

  it('puts a recorded secret file a crash left under its temporary name in place on opening, never sweeping it; verify says to keep it', async () => {
    const { handle } = await newCase('SECRETS-TMP')
    const secret = 'unrenamed/Secret+Key0123456789abcdefghijKLMN'
    const text = `${JSON.stringify({ AccessKey: { SecretAccessKey: secret } })}\n`
    const rel = 'secrets/deployer-AKIAEXAMPLE000000002.json'
    await handle.journal.append({
      action: SECRET_FILE_ACTION,
      target: rel,
      params: { path: rel, sha256: sha256Hex(text), bytes: text.length },
      outcome: 'recorded',
    })
    // The run was killed between journaling the file and the rename; a second temporary holds
    // something else (another write cut short): that one is only a leftover.
    await writeFile(join(handle.dir, 'secrets', '.0123456789ab.tmp'), text, { mode: 0o600 })
    await writeFile(join(handle.dir, 'secrets', '.ba9876543210.tmp'), text.slice(0, 20), { mode: 0o600 })
    await handle.close()
    const before = await verifyCase(handle.dir)
    expect(before.problems).toEqual([])
    // Before: both "was left by an interrupted fir run; it is not part of the case record (remove it)".
    expect(before.warnings).toEqual([
      `secrets/.0123456789ab.tmp is ${rel}, the secret file the journal records (the same SHA-256): a fir run was interrupted after journaling it, before giving it its name. It holds the only copy of that key's secret; the next fir command that opens the case puts it in place (keep it)`,
      'secrets/.ba9876543210.tmp was left by an interrupted fir run; it is not part of the case record (remove it)',
    ])
    const opened = await CaseHandle.open(handle.dir)
    await opened.close()
    expect(opened.placedFiles).toEqual([
      { temporary: 'secrets/.0123456789ab.tmp', path: rel, kind: 'secret' },
    ])
    expect(opened.swept.map((s) => s.path)).toEqual([join(handle.dir, 'secrets', '.ba9876543210.tmp')])
    expect(await readFile(join(handle.dir, rel), 'utf8')).toBe(text)
    expect((await stat(join(handle.dir, rel))).mode & 0o777).toBe(0o600)
    expect(await registerSecretsOfCase(handle.dir, opened.journal.all())).toEqual([])
    expect(redactor.scrub(secret)).toBe(redactValue(secret))
    expect(await verifyCase(handle.dir)).toMatchObject({ ok: true, problems: [], warnings: [] })
  })

  it('sets aside a last journal line a crash cut off, journals its hash, and goes on', async () => {
    const { handle } = await newCase('TORN-1')
    await note(handle.journal, 'a')
    await handle.close()
    const path = join(handle.dir, 'journal.jsonl')
    const whole = await readFile(path)
    // The start of an entry, cut inside a two-byte character, without its line break.
    const torn = Buffer.concat([
      Buffer.from('{"seq":2,"at":"2026-11-29T10:00:00Z","params":{"text":"'),
      Buffer.from([0xc3]),
    ])
    await appendFile(path, torn)
    const before = await verifyCase(handle.dir)
    expect(before.problems.map((p) => [p.kind, p.message.slice(0, 30)])).toEqual([
      ['torn', 'journal line 3 is cut off (no '],
    ])
    const reopened = await CaseHandle.open(handle.dir)
    const aside = reopened.tornJournalTail!
    expect(aside.path).toMatch(/^journal-torn-\d{4}-\d{2}-\d{2}T\d{6}\d{3}Z\.bin$/)
    expect(aside.bytes).toBe(torn.length)
    expect(await readFile(join(handle.dir, aside.path))).toEqual(torn)
    expect((await stat(join(handle.dir, aside.path))).mode & 0o777).toBe(0o600)
    await note(reopened.journal, 'b')
    await reopened.close()
    const text = await readFile(path)
    // The whole entries are untouched; the set-aside file is journaled (and so verified) by hash.
    expect(text.subarray(0, whole.length)).toEqual(whole)
    const entries = checkJournalText(text.toString('utf8')).entries
    expect(entries.map((e) => e.action)).toEqual(['case.init', 'case.note', 'case.artifact', 'case.note'])
    expect(entries[2]!.params).toMatchObject({ path: aside.path, bytes: torn.length })
    expect(await verifyCase(handle.dir)).toMatchObject({ ok: true, problems: [] })
    await writeFile(join(handle.dir, aside.path), 'edited')
    expect((await verifyCase(handle.dir)).problems.map((p) => p.path)).toEqual([aside.path])
  })

  it('sets aside only a cut-off last line: a bad line before it still refuses the journal', async () => {
    const { handle } = await newCase('TORN-2')
    await handle.close()
    await appendFile(join(handle.dir, 'journal.jsonl'), '{not json\n{"seq":2,"at":"2026-')
    await expect(CaseHandle.open(handle.dir)).rejects.toThrow(/journal line 2 is not a journal entry/)
    expect((await verifyCase(handle.dir)).problems.map((p) => p.kind)).toEqual(['unparseable', 'torn'])
  })

  it('appends after a whole last entry whose line break a crash cut off, on a line of its own', async () => {
    const { handle } = await newCase('TORN-3')
    await handle.close()
    const path = join(handle.dir, 'journal.jsonl')
    const text = await readFile(path, 'utf8')
    await writeFile(path, text.slice(0, -1))
    const reopened = await CaseHandle.open(handle.dir)
    expect(reopened.tornJournalTail).toBeUndefined()
    await note(reopened.journal, 'b')
    await reopened.close()
    expect(await verifyCase(handle.dir)).toMatchObject({ ok: true, problems: [] })
    expect((await readFile(path, 'utf8')).split('\n')).toHaveLength(3)
  })

  it('resolves the case from the flag, FIR_CASE, or the only case under ./cases', async () => {
    const { cwd, handle } = await newCase('only')
    await handle.close()
    expect(await resolveCaseDir(undefined, cwd)).toBe(handle.dir)
    const second = await CaseHandle.init('two', { firVersion: 't', cwd })
    await second.close()
    await expect(resolveCaseDir(undefined, cwd)).rejects.toThrow(/holds 2 cases/)
    expect(await resolveCaseDir('cases/two', cwd)).toBe(second.dir)
    await expect(resolveCaseDir('cases', cwd)).rejects.toThrow(/not a fir case folder/)
  })

  it('a case folder without its case.json is an integrity failure when opened, and verify may still check it', async () => {
    const { cwd, handle } = await newCase('lost')
    await handle.close()
    await rm(join(handle.dir, 'case.json'))
    for (const attempt of [
      () => resolveCaseDir('cases/lost', cwd),
      () => resolveCaseDir(undefined, cwd),
      () => CaseHandle.open(handle.dir),
      () => summariseCase(handle.dir),
    ]) {
      await expect(attempt()).rejects.toMatchObject({
        exitCode: ExitCode.integrity,
        message: expect.stringContaining('its case record (case.json) is missing'),
      })
    }
    expect(await resolveCaseDir('cases/lost', cwd, { missingRecordOk: true })).toBe(handle.dir)
    expect(await resolveCaseDir(undefined, cwd, { missingRecordOk: true })).toBe(handle.dir)
    expect((await verifyCase(handle.dir)).problems).toEqual([
      { kind: 'missing', path: 'case.json', message: 'case.json is missing' },
    ])
  })
})
