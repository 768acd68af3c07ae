import { appendFile, lstat, mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../src/core/case/case-folder.js'
import { recordArtifact } from '../../src/core/case/evidence-store.js'
import { verifyCaseWhenIdle } from '../../src/core/case/verify.js'
import { runFir, tempDir } from '../support/cli.js'
import { ACCOUNT, addSampleSweep, buildSampleCase, OTHER_ACCOUNT } from '../support/sample-case.js'

describe('fir case (built CLI)', () => {
  it('init then verify exits 0; --json status equals the exit code', async () => {
    const cwd = await tempDir()
    const init = await runFir(['case', 'init', 'X', '--title', 'drill'], { cwd })
    expect(init.code).toBe(0)
    expect(init.stdout).toContain('Created case X')
    const verify = await runFir(['case', 'verify', '--case', 'cases/X', '--json'], { cwd })
    expect(verify.code).toBe(0)
    expect(verify.json).toMatchObject({ status: 0, result: { ok: true }, warnings: [], gaps: [] })
    const show = await runFir(['case', 'show', '--json'], { cwd })
    expect(show.json.result.meta).toMatchObject({ id: 'X', title: 'drill' })
    // The next command it suggests pastes as it is, even for a folder with a space in its name.
    const spaced = await runFir(['case', 'init', 'Y', '--dir', "my cases/Y's"], { cwd })
    expect(spaced.stdout).toContain(`Next: fir snapshot <function> --case '${cwd}/my cases/Y'\\''s'`)
  })

  it('prints the journal head; --expect-head catches entries cut off the end, which the chain alone cannot', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'H'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases/H')
    // Two more entries, through fir (report writes and journals its files).
    expect((await runFir(['report', '--case', dir], { cwd })).code).toBe(0)
    const first = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
    const head = first.json.result.journalHead as { seq: number; hash: string }
    expect(head.seq).toBeGreaterThan(0)
    expect(head.hash).toMatch(/^[0-9a-f]{64}$/)
    const human = await runFir(['case', 'verify', '--case', dir], { cwd })
    expect(human.stdout).toContain(`journal head: ${head.seq}:${head.hash}`)
    // The report carries a head too, so the ticket it is attached to records one.
    expect(await readFile(join(dir, 'reports/report.md'), 'utf8')).toMatch(/Journal head \d+:[0-9a-f]{64}/)
    // The journal may grow after the head was recorded.
    expect((await runFir(['report', '--case', dir], { cwd })).code).toBe(0)
    const recorded = `${head.seq}:${head.hash.slice(0, 16)}`
    expect((await runFir(['case', 'verify', '--case', dir, '--expect-head', recorded], { cwd })).code).toBe(0)
    // Cut the journal back to before the recorded head: the chain is still whole.
    const lines = (await readFile(join(dir, 'journal.jsonl'), 'utf8')).trim().split('\n')
    await writeFile(join(dir, 'journal.jsonl'), `${lines.slice(0, head.seq).join('\n')}\n`)
    const cut = await runFir(['case', 'verify', '--case', dir, '--json', '--expect-head', recorded], { cwd })
    expect(cut.code).toBe(3)
    expect(cut.json.result.problems.map((p: { message: string }) => p.message).join('\n')).toContain(
      `journal.jsonl holds no entry ${recorded}, recorded earlier as its head: entries were cut off its end, or the chain was rewritten`,
    )
    const bad = await runFir(['case', 'verify', '--case', dir, '--expect-head', 'abc'], { cwd })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('unable to read --expect-head "abc"')
  })

  it('journals the fir version with each entry; a case a newer fir wrote to is said to be one, with what to do', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'V'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases/V')
    const { version } = JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8'))
    const first = JSON.parse((await readFile(join(dir, 'journal.jsonl'), 'utf8')).split('\n')[0]!)
    expect(first.actor.fir).toBe(version)
    const quiet = await runFir(['case', 'show', '--case', dir], { cwd })
    expect(quiet.stderr).not.toContain('newer than this fir')
    // An entry a later fir appended (through the journal's own API: the chain stays whole).
    const handle = await CaseHandle.open(dir)
    await handle.journal.append({
      action: 'case.note',
      target: 'V',
      params: { text: 'from the future' },
      outcome: 'recorded',
      actor: { arn: null, osUser: 'r', host: 'h', command: ['fir'], fir: '99.2.0' },
    })
    await handle.close()
    const show = await runFir(['case', 'show', '--case', dir], { cwd })
    expect(show.code).toBe(0)
    expect(show.stderr).toContain(
      `case V was written by fir 99.2.0, newer than this fir ${version}: this fir may not know everything that version journaled (fir restore names the changes it cannot undo); update fir to 99.2.0 or later`,
    )
  })

  it('never takes a missing argument from piped stdin (stdin may be a timeline source)', async () => {
    const cwd = await tempDir()
    // oclif's default: a missing argument is read from a piped stdin, so this opened a case named x.
    const init = await runFir(['case', 'init'], { cwd, input: 'x\n' })
    expect(init.code).toBe(2)
    expect(init.stderr).toContain('the ID argument is missing')
    expect(await readdir(cwd)).toEqual([])
    // An account-wide hunt run with something on stdin: it is not the function's name.
    expect((await runFir(['case', 'init', 'X'], { cwd })).code).toBe(0)
    const trail = join(cwd, 'trail.json')
    await writeFile(
      trail,
      JSON.stringify({
        Records: [
          {
            eventVersion: '1.08',
            eventTime: '2025-03-01T00:00:00Z',
            eventSource: 'lambda.amazonaws.com',
            eventName: 'GetFunction20150331v2',
            eventID: 'e-1',
            awsRegion: 'us-east-1',
            userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/u' },
          },
        ],
      }),
    )
    const hunt = await runFir(
      ['timeline', '--case', 'cases/X', '--source', trail, '--since', '2025-03-01T00:00:00Z', '--json'],
      // Local sources call no AWS API: nothing listens at the emulator endpoint.
      { cwd, input: 'orders-api\n', endpoint: 'http://127.0.0.1:9' },
    )
    expect(hunt.code, hunt.stdout + hunt.stderr).toBe(0)
    expect(hunt.json.result.function).toBeNull()
    expect(hunt.json.result.events.stored).toBe(1)
  })

  it('verify exits 3 and names a flipped evidence byte, a deleted file and an edited journal line', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'X'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases', 'X')
    const handle = await CaseHandle.open(dir)
    const set = await handle.newEvidenceSet()
    await set.writeBytes('one.json', '{"a":1}', { call: 'test' })
    await set.writeBytes('two.json', '{"b":2}', { call: 'test' })
    await set.seal()
    await handle.close()
    expect((await runFir(['case', 'verify', '--case', dir], { cwd })).code).toBe(0)

    const one = join(set.dir, 'one.json')
    const bytes = await readFile(one)
    bytes[2] = bytes[2]! ^ 0x01
    await writeFile(one, bytes)
    let r = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
    expect(r.code).toBe(3)
    expect(r.json.status).toBe(3)
    expect(r.json.error.code).toBe('integrity')
    expect(r.json.result.problems).toEqual([
      expect.objectContaining({ kind: 'changed', path: `evidence/${set.name}/one.json` }),
    ])

    await rm(join(set.dir, 'two.json'))
    r = await runFir(['case', 'verify', '--case', dir], { cwd })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(`missing: evidence/${set.name}/two.json is missing`)

    const journal = join(dir, 'journal.jsonl')
    const lines = (await readFile(journal, 'utf8')).split('\n')
    lines[1] = lines[1]!.replace('"files":2', '"files":3')
    await writeFile(journal, lines.join('\n'))
    r = await runFir(['case', 'verify', '--case', dir], { cwd })
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/journal entry seq 1 \(line 2\) was changed/)
  })

  it('a case whose case.json was deleted is an integrity failure (exit 3), not a folder to init', async () => {
    const cwd = await tempDir()
    const handle = await CaseHandle.init('GONE', { firVersion: 'test', cwd })
    await handle.close()
    const dir = handle.dir
    await rm(join(dir, 'case.json'))

    const verify = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
    expect(verify.code, verify.stderr).toBe(3)
    expect(verify.json).toMatchObject({ status: 3, error: { code: 'integrity' } })
    expect(verify.json.result.problems).toEqual([
      { kind: 'missing', path: 'case.json', message: 'case.json is missing' },
    ])
    const human = await runFir(['case', 'verify', '--case', dir], { cwd })
    expect(human.code).toBe(3)
    expect(human.stderr).toContain('missing: case.json is missing')
    expect(human.stderr).not.toContain('fir case init')

    // Every other command: the case record is missing (exit 3), with --case, FIR_CASE or ./cases.
    for (const [args, env] of [
      [['case', 'show', '--case', dir], {}],
      [['report', '--case', dir, '--format', 'md'], {}],
      [['case', 'show'], { FIR_CASE: dir }],
      [['case', 'show'], {}],
    ] as const) {
      const r = await runFir([...args, '--json'], { cwd, env })
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).toBe(3)
      expect(r.json.error.code).toBe('integrity')
      expect(r.json.error.message).toBe(
        `unable to open case ${dir}: its case record (case.json) is missing, though the folder holds journal.jsonl and evidence/: the case was damaged or tampered with`,
      )
      expect(r.json.error.actions.join(' ')).toContain(`fir case verify --case ${dir}`)
      expect(r.json.error.actions.join(' ')).not.toContain('case init')
    }
    // ./cases/GONE discovered without --case: verify checks it too.
    expect((await runFir(['case', 'verify'], { cwd })).code).toBe(3)
    // Evidence alone (the journal deleted as well) still marks a case.
    await rm(join(dir, 'journal.jsonl'))
    const show = await runFir(['case', 'show', '--case', dir], { cwd })
    expect(show.code).toBe(3)
    expect(show.stderr).toContain('the folder holds evidence/')
    // A folder that holds nothing of a case is still bad input (exit 2).
    const empty = await tempDir()
    const notCase = await runFir(['case', 'verify', '--case', empty], { cwd })
    expect(notCase.code).toBe(2)
    expect(notCase.stderr).toContain('is not a fir case folder')
  })

  it('an init killed before its journal entry is written leaves no case: the next init of that id makes it', async () => {
    // Killed (SIGKILL) as it opens journal.jsonl, and as it writes its first line: before, the
    // first left a case.json with no journal (every command refused it, init said it was taken),
    // the second a 0-byte journal that later commands started at seq 0 without case.init.
    for (const at of ['open:journal.jsonl', 'write:journal.jsonl']) {
      const cwd = await tempDir()
      const killed = await runFir(['case', 'init', 'K'], {
        cwd,
        env: {
          NODE_OPTIONS: `--require ${join(import.meta.dirname, '../support/kill-at.cjs')}`,
          FIR_TEST_KILL_AT: at,
        },
      })
      expect(killed.signal, at).toBe('SIGKILL')
      const left = await readdir(join(cwd, 'cases'))
      expect(left, at).toEqual([expect.stringMatching(/^\.K\.fir-init-[0-9a-f]{8}$/)])
      // What it left is no case: not found in ./cases, not taken for one by init.
      const none = await runFir(['case', 'verify'], { cwd })
      expect(none.code, at).toBe(2)
      expect(none.stderr).toContain('./cases holds no case')
      const again = await runFir(['case', 'init', 'K'], { cwd })
      expect(again.code, `${at}: ${again.stderr}`).toBe(0)
      expect(again.stderr).toContain(
        `warning: removed what an interrupted \`fir case init\` had left (no case was made then): ${join(cwd, 'cases', left[0]!)} (`,
      )
      // Killed holding its lock: said so, not guessed.
      expect(again.stderr).toMatch(/ \([\d.]+ [kM]?B; its process is no longer running\)/)
      expect(await readdir(join(cwd, 'cases'))).toEqual(['K'])
      const verify = await runFir(['case', 'verify', '--json'], { cwd })
      expect(verify.code, at).toBe(0)
      expect(verify.json.result.checked.journalEntries).toBe(1)
    }
  })

  it('a timeline re-run killed while replacing the timeline: verify names it (no tampering), the next writing command puts the earlier timeline back', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'TR'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases', 'TR')
    const trail = join(cwd, 'trail.json')
    const record = (id: string, at: string) => ({
      eventVersion: '1.08',
      eventID: id,
      eventTime: at,
      eventName: 'UpdateFunctionCode20150331v2',
      eventSource: 'lambda.amazonaws.com',
      awsRegion: 'us-east-1',
      recipientAccountId: '123456789012',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/a' },
      sourceIPAddress: '198.51.100.1',
      requestParameters: { functionName: 'fn1' },
    })
    await writeFile(
      trail,
      JSON.stringify({
        Records: [record('e1', '2026-11-29T10:00:00Z'), record('e2', '2026-11-29T11:00:00Z')],
      }),
    )
    const timeline = ['timeline', '--case', dir, '--source', trail, '--since', '2026-11-01T00:00:00Z']
    expect((await runFir(timeline, { cwd })).code).toBe(0)
    const events = await readFile(join(dir, 'timeline', 'events.jsonl'))
    // Killed (SIGKILL) as it journals its second move (one move journaled, no file moved yet), as
    // it moves findings.json (events.jsonl moved), and as it journals its own events.jsonl, about
    // to take the place of the one it moved (every move made). Before, fir moved each file before
    // journaling the move: verify failed for good (extra: timeline/history/…, exit 3), and a run
    // killed with every file moved left a case whose report said "No timeline was collected".
    for (const at of ['open:journal.jsonl:2', 'rename:findings.json', 'open:journal.jsonl:4']) {
      const killed = await runFir(timeline, {
        cwd,
        env: {
          NODE_OPTIONS: `--require ${join(import.meta.dirname, '../support/kill-at.cjs')}`,
          FIR_TEST_KILL_AT: at,
        },
      })
      expect(killed.signal, at).toBe('SIGKILL')
      const verify = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
      expect(verify.code, `${at}: ${verify.stdout}`).toBe(0)
      expect(verify.json.warnings.join('\n'), at).toContain(
        'a timeline re-run was interrupted while replacing the timeline',
      )
      // case show (which writes nothing) says so too, rather than show no timeline.
      const show = await runFir(['case', 'show', '--case', dir], { cwd })
      expect(show.stdout, at).toContain('a timeline re-run was interrupted while replacing the timeline')
      const report = await runFir(['report', '--case', dir, '--format', 'md'], { cwd })
      expect(report.code, report.stderr).toBe(0)
      expect(report.stderr, at).toContain('warning: put the earlier timeline back from timeline/history/')
      expect(await readFile(join(dir, 'timeline', 'events.jsonl'))).toEqual(events)
      expect(await readFile(join(dir, 'reports', 'report.md'), 'utf8')).not.toContain(
        'No timeline was collected',
      )
      const after = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
      expect(after.code, `${at}: ${after.stdout}`).toBe(0)
      expect(after.json.warnings, at).toEqual([])
    }
    // Each earlier timeline was put back: no history folder is left for a timeline never replaced.
    expect(await readdir(join(dir, 'timeline', 'history')).catch(() => [])).toEqual([])
  })

  it('a timeline run killed between writing a timeline file and journaling it no longer wedges the case: the file is journaled first, and its temporary put in place', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'TW'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases', 'TW')
    const trail = join(cwd, 'trail.json')
    await writeFile(
      trail,
      JSON.stringify({
        Records: [
          {
            eventVersion: '1.08',
            eventID: 'w1',
            eventTime: '2026-11-29T10:00:00Z',
            eventName: 'UpdateFunctionCode20150331v2',
            eventSource: 'lambda.amazonaws.com',
            awsRegion: 'us-east-1',
            recipientAccountId: '123456789012',
            userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/a' },
            sourceIPAddress: '198.51.100.1',
            requestParameters: { functionName: 'fn1' },
          },
        ],
      }),
    )
    const timeline = ['timeline', 'fn1', '--case', dir, '--source', trail, '--since', '2026-11-01T00:00:00Z']
    const killAt = (at: string, signal = 'SIGKILL') => ({
      NODE_OPTIONS: `--require ${join(import.meta.dirname, '../support/kill-at.cjs')}`,
      FIR_TEST_KILL_AT: at,
      FIR_TEST_KILL_SIGNAL: signal,
    })
    // Killed as the first run journals its events.jsonl. Before, events.jsonl was in place by then,
    // unrecorded: verify said "extra … investigate who changed it" (exit 3) and every later
    // timeline run was refused (exit 3, "timeline/events.jsonl is not a file fir recorded").
    const first = await runFir(timeline, { cwd, env: killAt('open:journal.jsonl:1') })
    expect(first.signal).toBe('SIGKILL')
    const verify = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
    expect(verify.code, verify.stdout).toBe(0)
    const again = await runFir(timeline, { cwd })
    expect(again.code, again.stderr).toBe(0)
    // A re-run killed with its summary.json journaled, not yet renamed: the next command puts it
    // in place (before, it swept it as a leftover, and the summary was lost). That next command is
    // a re-run interrupted (Ctrl-C) as it journals its own events.jsonl, every move made.
    const summary = await runFir(timeline, { cwd, env: killAt('rename:summary.json:2') })
    expect(summary.signal).toBe('SIGKILL')
    const interrupted = await runFir(timeline, { cwd, env: killAt('open:journal.jsonl:4', 'SIGINT') })
    expect(interrupted.signal).toBe('SIGINT')
    expect(interrupted.stderr).toContain(
      'warning: finished writing timeline/summary.json: a fir run was interrupted after journaling it, before giving it its name',
    )
    const last = await runFir(timeline, { cwd })
    expect(last.code, last.stderr).toBe(0)
    const after = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
    expect(after.code, after.stdout).toBe(0)
    expect(after.json.warnings).toEqual([])
    expect((await readdir(join(dir, 'timeline'))).sort()).toEqual([
      'events.jsonl',
      'findings.json',
      'history',
      'summary.json',
    ])
  })

  it('a command killed as it takes the case lock leaves no lock that blocks the next one', async () => {
    // Killed (SIGKILL) at its first file write, which is taking the lock: the lock was created
    // empty and then written, and the empty file it left read as an unknown holder's, so every
    // later command waited, then refused the case.
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'L'], { cwd })).code).toBe(0)
    const killed = await runFir(['report', '--case', 'cases/L', '--format', 'md'], {
      cwd,
      env: {
        NODE_OPTIONS: `--require ${join(import.meta.dirname, '../support/kill-at.cjs')}`,
        FIR_TEST_KILL_AT: 'write:*',
      },
    })
    expect(killed.signal).toBe('SIGKILL')
    const next = await runFir(['report', '--case', 'cases/L', '--format', 'md'], {
      cwd,
      env: { FIR_LOCK_WAIT_MS: '1000' },
    })
    expect(next.code, next.stderr).toBe(0)
    expect(await readdir(join(cwd, 'cases', 'L'))).not.toContain('.lock')
    expect((await runFir(['case', 'verify', '--case', 'cases/L'], { cwd })).code).toBe(0)
  })

  it('an init leftover that never took its lock is removed once a minute old, and the warning says why', async () => {
    const cwd = await tempDir()
    const left = join(cwd, 'cases', '.K2.fir-init-0123abcd')
    await mkdir(left, { recursive: true })
    await writeFile(join(left, 'case.json'), '{}')
    const old = new Date(Date.now() - 5 * 60_000)
    await utimes(left, old, old)
    const init = await runFir(['case', 'init', 'K2'], { cwd })
    expect(init.code, init.stderr).toBe(0)
    // It had said "its process is no longer running", which fir could not know without a lock.
    expect(init.stderr).toMatch(
      /removed what an interrupted `fir case init` had left \(no case was made then\): .*\.K2\.fir-init-0123abcd \([^;]+; it never took its lock and is more than a minute old\)/,
    )
    expect(await readdir(join(cwd, 'cases'))).toEqual(['K2'])
  })

  it('init replaces an empty folder given as the case folder, but not the current folder (the shell would be left in a deleted one)', async () => {
    const cwd = await tempDir()
    await mkdir(join(cwd, 'here'))
    const refused = await runFir(['case', 'init', 'W', '--dir', '.'], { cwd: join(cwd, 'here') })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(
      `unable to create case W in ${join(cwd, 'here')}: it is the current folder, which would be left behind as a folder that no longer exists`,
    )
    expect(refused.stderr).toContain(
      `→ pass --dir a new folder inside it, e.g. --dir ${join(cwd, 'here', 'W')}`,
    )
    expect(await readdir(cwd)).toEqual(['here'])
    expect(await readdir(join(cwd, 'here'))).toEqual([])
    // Through a link to an empty folder: the case is made where the link leads, and the link kept.
    await symlink(join(cwd, 'here'), join(cwd, 'link'))
    const linked = await runFir(['case', 'init', 'W', '--dir', 'link'], { cwd })
    expect(linked.code, linked.stderr).toBe(0)
    expect((await lstat(join(cwd, 'link'))).isSymbolicLink()).toBe(true)
    expect((await readdir(join(cwd, 'here'))).sort()).toEqual([
      'case.json',
      'evidence',
      'journal.jsonl',
      'reports',
      'secrets',
      'timeline',
    ])
    expect((await runFir(['case', 'verify', '--case', 'link'], { cwd })).code).toBe(0)
  })

  it('a journal emptied or not started by case.init is an integrity failure (exit 3); case.json edits no longer pass', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'E', '--title', 'IK2'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases', 'E')
    await writeFile(join(dir, 'journal.jsonl'), '')
    const verify = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
    expect(verify.code).toBe(3)
    expect(verify.json.result.problems.map((p: { message: string }) => p.message)).toEqual([
      "journal.jsonl holds no entry: its entry seq 0 (case.init, written when the case was created, which records case.json's SHA-256) is missing",
      'case.json cannot be checked: no case.init entry at seq 0 of the journal records its SHA-256',
    ])
    for (const args of [
      ['report', '--case', dir, '--format', 'md'],
      ['case', 'show', '--case', dir],
      ['snapshot', 'victim', '--case', dir],
    ]) {
      // No AWS call is made: nothing listens at this endpoint.
      const r = await runFir([...args, '--json'], { cwd, endpoint: 'http://127.0.0.1:9' })
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).toBe(3)
      expect(r.json.error.code).toBe('integrity')
      expect(r.json.error.message).toContain('journal.jsonl holds no entry')
    }
    // Nothing was appended to it (a snapshot had written its evidence.seal there as seq 0).
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).toBe('')
  })

  it('a damaged or missing journal refuses every command with exit 3 (integrity), saying to verify and preserve the case', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'D'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases', 'D')
    expect((await runFir(['report', '--case', dir, '--format', 'md'], { cwd })).code).toBe(0)
    expect((await runFir(['report', '--case', dir, '--format', 'md'], { cwd })).code).toBe(0)
    const journal = join(dir, 'journal.jsonl')
    const whole = await readFile(journal, 'utf8')
    const lines = whole.trimEnd().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(3)
    for (const [what, text, says] of [
      ['edited', whole.replace('"case.init"', '"case.inlt"'), 'journal entry seq 0 (line 1) was changed'],
      [
        'reordered',
        `${[lines[0], lines[2], lines[1], ...lines.slice(3)].join('\n')}\n`,
        'entries are reordered',
      ],
      ['deleted', `${[lines[0], ...lines.slice(2)].join('\n')}\n`, 'entries 1..1 are missing'],
      ['removed', null, 'journal.jsonl is missing, though the folder holds case.json'],
    ] as const) {
      if (text === null) await rm(journal)
      else await writeFile(journal, text)
      for (const args of [
        ['report', '--case', dir, '--json'],
        ['snapshot', 'victim', '--case', dir, '--json'],
        ['case', 'show', '--case', dir, '--json'],
      ]) {
        const r = await runFir(args, { cwd, endpoint: 'http://127.0.0.1:9' })
        expect(r.code, `${what}: ${args.join(' ')}: ${r.stdout}`).toBe(3)
        expect(r.json).toMatchObject({ status: 3, error: { code: 'integrity' } })
        expect(r.json.error.message).toContain(says)
        const actions = r.json.error.actions.join('\n')
        expect(actions).toContain(`fir case verify --case ${dir}`)
        expect(actions).toContain('preserve the case folder as it is')
        expect(actions).not.toContain('made by `fir case init`')
      }
      expect((await runFir(['case', 'verify', '--case', dir], { cwd })).code).toBe(3)
      await writeFile(journal, whole)
    }
    expect((await runFir(['case', 'verify', '--case', dir], { cwd })).code).toBe(0)
  })

  it('a damaged journal still refuses restore and case show (exit 3), but lists, unverified, the changes in force and how to put each back by hand', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'C7'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases', 'C7')
    // What `fir contain fn1` journals (prior state, then outcome), a note, and a change to fn2
    // that a restore undid.
    const handle = await CaseHandle.open(dir)
    const fn = (name: string) => ({
      function: name,
      functionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${name}`,
      region: 'eu-west-1',
    })
    const change = async (action: string, name: string, prior: unknown, after: unknown) => {
      const started = await handle.journal.append({
        action,
        target: fn(name).functionArn,
        params: fn(name),
        outcome: 'started',
        prior,
        undo: { intendedAfter: after },
      })
      await handle.journal.append({
        action,
        target: fn(name).functionArn,
        params: fn(name),
        outcome: 'applied',
        after,
      })
      return started.seq
    }
    await handle.journal.append({
      action: 'case.note',
      target: 'C7',
      params: { text: 'webhook contained' },
      outcome: 'recorded',
    })
    await change('containment.throttle', 'fn1', { reserved: 5 }, { reserved: 0 })
    await change(
      'containment.url',
      'fn1',
      {
        configs: [
          { qualifier: null, authType: 'NONE' },
          { qualifier: 'live', authType: 'NONE' },
        ],
      },
      {
        configs: [
          { qualifier: null, authType: 'AWS_IAM' },
          { qualifier: 'live', authType: 'AWS_IAM' },
        ],
      },
    )
    const statement = {
      Sid: 'public-invoke',
      Effect: 'Allow',
      Principal: '*',
      Action: 'lambda:InvokeFunction',
      Resource: fn('fn1').functionArn,
    }
    await change(
      'containment.permissions',
      'fn1',
      { statements: [{ qualifier: null, sid: 'public-invoke', statement, public: true }] },
      { statements: [] },
    )
    // An intruder's description that tries to forge another change and its "fix" in the list.
    await change(
      'containment.recycle',
      'fn1',
      {
        description:
          'orders\n  containment.throttle of fn1 in us-east-1 (journal seq 5): before it, reserved concurrency: 5; to put it back: aws lambda delete-function --function-name fn1\n',
      },
      { description: 'fir: recycled' },
    )
    const undone = await change('containment.throttle', 'fn2', { reserved: null }, { reserved: 0 })
    await handle.journal.append({
      action: 'containment.throttle',
      target: fn('fn2').functionArn,
      params: { ...fn('fn2'), undoOf: undone },
      outcome: 'undone',
    })
    await handle.close()
    // One character of the old note changed: before, restore said only to preserve the case and
    // start a new one, and case show refused too: nothing said what was still contained.
    const journal = join(dir, 'journal.jsonl')
    await writeFile(
      journal,
      (await readFile(journal, 'utf8')).replace('webhook contained', 'webhook containeD'),
    )
    const damaged = await readFile(journal)
    for (const args of [
      ['restore', '--case', dir, '--yes', '--region', 'eu-west-1'],
      ['case', 'show', '--case', dir],
    ]) {
      const r = await runFir(args, { cwd, endpoint: 'http://127.0.0.1:9' })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3)
      expect(r.stderr).toContain('journal entry seq 1 (line 2) was changed')
      expect(r.stderr).toContain(
        '4 changes are still in force by the journal lines that still parse (UNVERIFIED: the journal is damaged',
      )
      // the description stays on its own line, escaped, and its command is marked as not to paste
      expect(r.stderr).not.toMatch(/^\s*containment\.throttle of fn1 in us-east-1/m)
      const forged = r.stderr.split('\n').filter((l) => l.includes('delete-function'))
      expect(forged.length).toBeGreaterThan(0)
      for (const line of forged) expect(line).toContain('do not paste it')
      expect(r.stderr).toMatch(
        /containment\.recycle of fn1 in eu-west-1 \(journal seq \d+, [^)]+\): before it, description "orders\\n {2}containment\.throttle of fn1 in us-east-1 .*\[a value in it holds line breaks or control characters, shown escaped: do not paste it; take the value from journal line \d+\]/,
      )
      expect(r.stderr).toMatch(
        /containment\.throttle of fn1 in eu-west-1 \(journal seq 2, [^)]+\): before it, reserved concurrency: 5; to put it back: aws lambda put-function-concurrency --function-name fn1 --reserved-concurrent-executions 5/,
      )
      expect(r.stderr).toContain('containment.url of fn1 in eu-west-1 (journal seq 4, ')
      expect(r.stderr).toContain('aws lambda update-function-url-config --function-name fn1 --auth-type NONE')
      expect(r.stderr).toContain(
        'aws lambda update-function-url-config --function-name fn1 --qualifier live --auth-type NONE',
      )
      expect(r.stderr).toContain(
        "aws lambda add-permission --function-name fn1 --statement-id public-invoke --action lambda:InvokeFunction --principal '*'",
      )
      expect(r.stderr).not.toContain('fn2')
      expect(r.stderr).toContain('preserve the case folder as it is')
      expect(r.stderr).toContain('run the AWS CLI commands listed above')
    }
    // Nothing was written to the case.
    expect(await readFile(journal)).toEqual(damaged)
    expect(await readdir(dir)).not.toContain('.lock')
  })

  it('a file dropped into secrets/ is named by verify and censors nothing in reports', async () => {
    const cwd = await tempDir()
    expect(
      (await runFir(['case', 'init', 'S', '--title', 'payments-webhook compromised'], { cwd })).code,
    ).toBe(0)
    const dir = join(cwd, 'cases', 'S')
    await writeFile(join(dir, 'secrets', 'x'), 'payments-webhook\n')
    const report = await runFir(['report', '--case', dir, '--format', 'md'], { cwd })
    expect(report.code, report.stderr).toBe(0)
    expect(report.stderr).toContain(
      'warning: secrets/x is not a file fir recorded in the journal (only rotated-key secrets belong in secrets/): it is not used to redact; run fir case verify',
    )
    const md = await readFile(join(dir, 'reports', 'report.md'), 'utf8')
    expect(md).toContain('payments-webhook compromised')
    expect(md).not.toContain('redacted len=16')
    const verify = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
    expect(verify.code).toBe(3)
    expect(verify.json.result.problems).toEqual([
      {
        kind: 'extra',
        path: 'secrets/x',
        message:
          'secrets/x is not a secret file fir recorded in the journal: it was added to the case folder (secrets/ holds only the rotated-key secrets fir writes; fir does not use it to redact)',
      },
    ])
  })

  it('a journal line a crash cut off: verify says how to go on, the next writing command sets it aside', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'T'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases', 'T')
    await writeFile(join(dir, 'journal.jsonl'), '{"seq":1,"at":"2026-11-29T10:0', { flag: 'a' })
    const before = await runFir(['case', 'verify', '--case', dir], { cwd })
    expect(before.code).toBe(3)
    expect(before.stderr).toContain('torn: journal line 2 is cut off')
    expect(before.stderr).toContain(`→ run a fir command that writes to the case (fir report --case ${dir})`)
    // A dry run changes nothing (DESIGN §1): it reads the entries before the cut-off line and says
    // a real run sets it aside; before, it set the line aside and journaled a case.artifact entry.
    const journalBefore = await readFile(join(dir, 'journal.jsonl'))
    const dry = await runFir(['restore', '--case', dir, '--dry-run'], { cwd })
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stderr).toContain(
      "warning: the journal's last line (line 2, 30 bytes) was cut off by an interrupted write (a crash or power loss): this dry run leaves it as it is and reads the entries before it; a run without --dry-run sets it aside",
    )
    expect(await readFile(join(dir, 'journal.jsonl'))).toEqual(journalBefore)
    expect((await readdir(dir)).filter((f) => f.startsWith('journal-torn-'))).toEqual([])
    const report = await runFir(['report', '--case', dir, '--format', 'md'], { cwd })
    expect(report.code, report.stderr).toBe(0)
    expect(report.stderr).toMatch(
      /warning: the journal's last line was cut off by an interrupted write \(a crash or power loss\): its 30 bytes are set aside in journal-torn-\S+\.bin and journaled by hash/,
    )
    expect((await runFir(['case', 'verify', '--case', dir], { cwd })).code).toBe(0)
  })

  it('rejects bad input with exit 2 and changes nothing', async () => {
    const cwd = await tempDir()
    const bad = await Promise.all(
      ['a/b', '..', 'x\u001b[31m', ''].map((id) => runFir(['case', 'init', id, '--json'], { cwd })),
    )
    for (const r of bad) {
      expect(r.code).toBe(2)
      expect(r.json.status).toBe(2)
      expect(r.stdout).not.toContain('\u001b')
    }
    expect((await runFir(['case', 'init', 'X'], { cwd })).code).toBe(0)
    const before = await readFile(join(cwd, 'cases/X/journal.jsonl'), 'utf8')
    const again = await runFir(['case', 'init', 'X'], { cwd })
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('already holds a case')
    expect(await readFile(join(cwd, 'cases/X/journal.jsonl'), 'utf8')).toBe(before)

    const unknownFlag = await runFir(['case', 'show', '--nope'], { cwd })
    expect(unknownFlag.code).toBe(2)
    expect(unknownFlag.stderr).toContain('Nonexistent flag: --nope')
    expect(unknownFlag.stderr).not.toMatch(/\bat .*\.js:\d+/)

    const notCase = await runFir(['case', 'show', '--case', cwd], { cwd })
    expect(notCase.code).toBe(2)
    expect(notCase.stderr).toContain('is not a fir case folder')

    await writeFile(join(cwd, 'cases/X/case.json'), '{"id": ')
    // Damage to what fir wrote is an integrity failure (exit 3), as a missing case.json is.
    const corrupt = await runFir(['case', 'show', '--case', 'cases/X'], { cwd })
    expect(corrupt.code).toBe(3)
    expect(corrupt.stderr).toContain('case.json is corrupt')
    expect((await runFir(['case', 'verify', '--case', 'cases/X'], { cwd })).code).toBe(3)
  })

  it('show lists the newest kept timelines one a line, and how many more (a case re-run often keeps many)', async () => {
    const cwd = await tempDir()
    await (await CaseHandle.init('H', { firVersion: '0.1.0', cwd })).close()
    for (let i = 1; i <= 7; i++) {
      const folder = join(cwd, 'cases', 'H', 'timeline', 'history', `20261129T10000${i}.000Z`)
      await mkdir(folder, { recursive: true })
      await writeFile(join(folder, 'summary.json'), JSON.stringify({ events: { stored: i * 10 } }))
    }
    const show = await runFir(['case', 'show', '--case', 'cases/H'], { cwd })
    expect(show.code, show.stderr).toBe(0)
    // Before: every kept timeline on one line.
    expect(show.stdout).toContain(
      [
        '  earlier timelines kept (7, newest first):',
        '    timeline/history/20261129T100007.000Z (70 events)',
        '    timeline/history/20261129T100006.000Z (60 events)',
        '    timeline/history/20261129T100005.000Z (50 events)',
        '    timeline/history/20261129T100004.000Z (40 events)',
        '    timeline/history/20261129T100003.000Z (30 events)',
        '    … 2 more in timeline/history/',
      ].join('\n'),
    )
  })

  it('show says on its timeline line that records claim the eventID of another with other content, ids escaped', async () => {
    const cwd = await tempDir()
    const handle = await CaseHandle.init('CF', { firVersion: '0.1.0', cwd })
    await mkdir(join(handle.dir, 'timeline'), { recursive: true })
    await writeFile(join(handle.dir, 'timeline', 'events.jsonl'), '{"id":"dup-1"}\n{"id":"dup-1"}\n')
    // One rule's finding on each version of dup-1: one event, one finding.
    const finding = { eventId: 'dup-1', rule: 'code-updated', level: 'medium' }
    await writeFile(join(handle.dir, 'timeline', 'findings.json'), JSON.stringify([finding, finding]))
    for (const rel of ['timeline/events.jsonl', 'timeline/findings.json'])
      await recordArtifact(handle.dir, handle.journal, rel)
    await handle.journal.append({
      action: 'timeline.collect',
      target: 'victim-fn',
      params: {
        events: { stored: 2, conflicting: { count: 2, ids: ['dup-1', 'x\u001b[2J\nwarning: FAKE'] } },
      },
      outcome: 'recorded',
    })
    await handle.close()
    const show = await runFir(['case', 'show', '--case', 'cases/CF'], { cwd })
    expect(show.code, show.stderr).toBe(0)
    // Before: "Timeline: 2 events; findings medium=2", and nothing of the altered or forged record.
    expect(show.stdout).toContain(
      'Timeline: 2 events; findings medium=1; 2 records claim the eventID of another record but not its content (dup-1, x\\e[2J\\nwarning: FAKE): a copy of a log was altered or a record forged — compare them in timeline/events.jsonl',
    )
    expect(show.stdout.split('\n').some((l) => l.startsWith('warning: FAKE'))).toBe(false)
  })

  it("show lists each snapshot set's findings by level with their titles, escaped and redacted, in text and --json", async () => {
    const sample = await buildSampleCase({
      parent: await tempDir(),
      snapshot: true,
      contain: false,
      timeline: false,
      notes: false,
    })
    // A second set whose finding title carries an escape sequence and the case's secret.
    const handle = await CaseHandle.open(sample.dir)
    const set = await handle.newEvidenceSet()
    await set.writeJson(
      'findings.json',
      [
        {
          id: 'F-9',
          kind: 'hostile-archive',
          level: 'high',
          title: `Package entry \u001b[2J${sample.secretValue}`,
          target: sample.functionArn,
          detail: {},
          evidence: [],
        },
      ],
      { call: 'fir:findings', target: set.name },
    )
    await set.seal({}, sample.functionArn)
    await handle.close()

    const show = await runFir(['case', 'show', '--case', sample.dir])
    expect(show.code, show.stderr).toBe(0)
    const sets = await readdir(join(sample.dir, 'evidence'))
    expect(sets).toHaveLength(2)
    const first = sets.sort()[0]
    expect(show.stdout).toContain(
      [
        `Findings of evidence set ${first} (6: critical 1, high 3, medium 1, low 1)`,
        '  critical      Function URL with AuthType NONE',
        '  high          Resource policy allows invocation by everyone',
        '  high          Secret-looking values in the environment',
        '  high          Execution role can pass roles and assume any role',
        '  medium        Long-term access key id in the environment',
        '  low           No trail records Lambda data events (Invoke)',
      ].join('\n'),
    )
    expect(show.stdout).toContain(
      `Findings of evidence set ${set.name} (1: high 1)\n  high          Package entry \\e[2J${sample.secretRedacted}`,
    )
    expect(show.stdout).not.toContain(sample.secretValue)
    expect(show.stdout).not.toContain('\u001b')

    const json = await runFir(['case', 'show', '--case', sample.dir, '--json'])
    expect(json.code, json.stderr).toBe(0)
    expect(json.stdout).not.toContain(sample.secretValue)
    expect(json.json.result.findings.map((f: { set: string }) => f.set)).toEqual([first, set.name])
    expect(json.json.result.findings[0]).toMatchObject({
      total: 6,
      byLevel: [
        { level: 'critical', count: 1 },
        { level: 'high', count: 3 },
        { level: 'medium', count: 1 },
        { level: 'low', count: 1 },
      ],
    })
    expect(json.json.result.findings[0].items[0]).toEqual({
      level: 'critical',
      kind: 'public-url',
      title: 'Function URL with AuthType NONE',
      target: sample.functionArn,
    })
    expect(json.json.result.findings[1].items[0].title).toBe(
      `Package entry \u001b[2J${sample.secretRedacted}`,
    )
  })

  it('show lists each sweep, its facts and first matches escaped, and says when its file changed', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
    const { file } = await addSampleSweep(sample.dir, { extra: 25 })
    const show = await runFir(['case', 'show', '--case', sample.dir])
    expect(show.code, show.stderr).toBe(0)
    const out = show.stdout.slice(show.stdout.indexOf('Sweeps (1)'))
    expect(out).toContain(
      [
        'Sweeps (1)',
        `  ${file}  2026-03-14T11:00:00.000Z by arn:aws:sts::${ACCOUNT}:assumed-role/IncidentResponder/alice`,
        '    indicators  role name orders-api-role; environment value sha256:5e884898…',
        `    accounts    3 accounts: 1 swept, 1 read in part (${OTHER_ACCOUNT} (analytics-prod)), 1 denied (333344445555 (sandbox))`,
        '    regions     3: us-east-1, eu-west-1, us-west-2',
        '    read        400 function versions; matched 30 function versions (29 functions); 3 gaps',
      ].join('\n'),
    )
    const rows = out.split('\n').filter((l) => /^ {4}\d{12}/.test(l))
    expect(rows).toHaveLength(20)
    expect(rows[0]).toMatch(
      /^ {4}123456789012 +us-east-1 +billing-worker:\$LATEST +no +role-name: runs with role /,
    )
    // One line, escaped: the newline and the escape of the attacker's name are text.
    expect(rows[3]).toContain('fn|<img src=x>\\nInjected: row\\e[31m:$LATEST')
    expect(rows[3]).toMatch(/ failed +role-name: /)
    expect(rows[4]).toMatch(/reports-job:\$LATEST +evidence\/20260314T110200\.000Z +role-name: /)
    expect(out).toContain(`    … and 10 more (see ${file})`)
    expect(out).not.toContain('\u001b')
    expect(out).not.toContain('5e884898da28')

    await appendFile(join(sample.dir, file), ' ')
    const changed = await runFir(['case', 'show', '--case', sample.dir])
    expect(changed.code, changed.stderr).toBe(0)
    expect(changed.stdout).toContain(
      `    ${file} was changed after fir wrote it (its SHA-256 is journaled): its matches are not shown; run fir case verify\n    matched functions (from the journal):\n      arn:aws:lambda:us-east-1:${ACCOUNT}:function:billing-worker\n`,
    )
    expect(changed.stdout).toContain('      … and 9 more\n')
    expect(changed.stdout).not.toContain('billing-worker:$LATEST')
  })

  it('says a --case or FIR_CASE that names a file or a missing path is that, exit 2 with what to do', async () => {
    const cwd = await tempDir()
    expect((await runFir(['case', 'init', 'INC-1'], { cwd })).code).toBe(0)
    const dir = join(cwd, 'cases', 'INC-1')
    const file = await runFir(['case', 'show', '--case', 'cases/INC-1/case.json', '--json'], { cwd })
    expect(file.code).toBe(2)
    expect(file.json.error).toEqual({
      code: 'usage',
      message: `unable to open case ${dir}/case.json (from --case): it is a file: pass the case folder (${dir})`,
      actions: [`pass --case ${dir}`],
    })
    const envFile = await runFir(['case', 'show'], { cwd, env: { FIR_CASE: 'cases/INC-1/journal.jsonl' } })
    expect(envFile.code).toBe(2)
    expect(envFile.stderr).toContain(`(from FIR_CASE): it is a file: pass the case folder (${dir})`)
    expect(envFile.stderr).toContain(`→ pass FIR_CASE=${dir}`)

    const missing = await runFir(['case', 'show', '--json'], { cwd, env: { FIR_CASE: 'cases/NOPE' } })
    expect(missing.code).toBe(2)
    expect(missing.json.error.message).toBe(
      `unable to open case ${cwd}/cases/NOPE (from FIR_CASE): it does not exist`,
    )
    expect(missing.json.error.actions).toEqual([
      'check the path: a case is a folder made by `fir case init <id>` (by default ./cases/<id>)',
      `or create it: \`fir case init <id> --dir ${cwd}/cases/NOPE\``,
    ])
    // A folder that holds no case still says so.
    const notCase = await runFir(['case', 'show', '--case', 'cases'], { cwd })
    expect(notCase.code).toBe(2)
    expect(notCase.stderr).toContain('it is not a fir case folder (no case.json)')
  })

  it('asks how to choose when ./cases holds several cases', async () => {
    const cwd = await tempDir()
    await Promise.all([runFir(['case', 'init', 'A'], { cwd }), runFir(['case', 'init', 'B'], { cwd })])
    const r = await runFir(['case', 'show', '--json'], { cwd })
    expect(r.code).toBe(2)
    expect(r.json.error.actions.join(' ')).toContain('--case')
    const env = await runFir(['case', 'show', '--json'], { cwd, env: { FIR_CASE: 'cases/B' } })
    expect(env.json.result.meta.id).toBe('B')
  })

  it('verify while a fir command writes the case waits for it, then reports what is still wrong, naming the writer (exit 3)', async () => {
    const cwd = await tempDir()
    await runFir(['case', 'init', 'W'], { cwd })
    const dir = join(cwd, 'cases', 'W')
    // A fir report stopped (SIGSTOP) holding the lock, report.md written and not yet journaled.
    let writer: import('node:child_process').ChildProcess | undefined
    const report = runFir(['report', '--case', dir], {
      cwd,
      env: {
        NODE_OPTIONS: `--require ${join(import.meta.dirname, '../support/kill-at.cjs')}`,
        FIR_TEST_KILL_AT: 'open:journal.jsonl:2',
        FIR_TEST_KILL_SIGNAL: 'SIGSTOP',
      },
      onSpawn: (child) => (writer = child),
    })
    try {
      while (!(await lstat(join(dir, 'reports', 'report.md')).catch(() => undefined))) await sleep(50)
      await sleep(200)
      // Before, exit 2 (case-locked) and no finding at all; now the check is made and reported.
      const busy = await runFir(['case', 'verify', '--case', dir, '--json'], {
        cwd,
        env: { FIR_LOCK_WAIT_MS: '300' },
      })
      expect(busy.code, busy.stdout).toBe(3)
      expect(busy.json.result.problems.map((p: { path: string }) => p.path)).toEqual(['reports/report.md'])
      expect(busy.json.result.warnings.join('\n')).toContain(
        `the case is being written by process ${writer!.pid} on `,
      )
      expect(busy.json.result.warnings.join('\n')).toContain("may be that command's work in progress")
      expect(busy.json.error.actions[0]).toContain('run `fir case verify` again when process')
      // Given time, it waits for the writer to finish, then verifies what the writer recorded.
      const waiting = runFir(['case', 'verify', '--case', dir], { cwd, env: { FIR_LOCK_WAIT_MS: '20000' } })
      await sleep(700)
      writer!.kill('SIGCONT')
      expect((await report).code).toBe(0)
      const done = await waiting
      expect(done.code, done.stderr).toBe(0)
      expect(done.stdout).toContain('all intact')
    } finally {
      writer?.kill('SIGKILL')
    }
  })

  it('verify is never held up by a lock no live fir process holds: forged, unreadable, another host, a non-fir pid', async () => {
    const cwd = await tempDir()
    await runFir(['case', 'init', 'F'], { cwd })
    const dir = join(cwd, 'cases', 'F')
    await writeFile(join(dir, 'timeline', 'planted.json'), '{}\n')
    const { hostname } = await import('node:os')
    const holder = (pid: number, host = hostname()) =>
      JSON.stringify({
        pid,
        host,
        since: '2026-11-29T00:00:00.000Z',
        user: 'root',
        command: 'fir timeline victim1',
      })
    const locks: [string, string][] = [
      [holder(1), 'process 1 it names is not a fir command'],
      ['garbage', 'it is unreadable'],
      [holder(process.pid, 'elsewhere'), 'it names host "elsewhere", not this one'],
      [holder(process.pid), `process ${process.pid} it names is not a fir command`],
      [holder(2 ** 22 + 7), `process ${2 ** 22 + 7} it names is not running`],
    ]
    for (const [text, why] of locks) {
      await writeFile(join(dir, '.lock'), text)
      // Before, each was refused as case-locked (exit 2) without a finding, after the wait.
      const started = Date.now()
      const result = await verifyCaseWhenIdle(dir, {}, 2000)
      expect(Date.now() - started).toBeLessThan(1500)
      expect(result.ok).toBe(false)
      expect(result.problems.map((p) => p.path)).toEqual(['timeline/planted.json'])
      expect(result.warnings.join('\n')).toContain(
        `a lock file is present but no live fir process holds it (${join(dir, '.lock')}: ${why}`,
      )
      expect(result.beingWrittenBy).toBeUndefined()
    }
  })

  it('two concurrent writers: the second waits or fails naming the holder; the journal stays valid', async () => {
    const cwd = await tempDir()
    await runFir(['case', 'init', 'L'], { cwd })
    const dir = join(cwd, 'cases', 'L')
    const holder = await CaseHandle.open(dir)
    // A second writer in another process while the lock is held.
    const contender = await import('node:child_process').then(({ spawn }) =>
      spawn(
        process.execPath,
        [
          '-e',
          `
        import(${JSON.stringify(join(process.cwd(), 'dist/core/case/case-folder.js'))}).then(async (m) => {
          try { const h = await m.CaseHandle.open(${JSON.stringify(dir)}); await h.journal.append({action:'second',target:'t',params:{},outcome:'recorded'}); await h.close(); console.log('appended') }
          catch (e) { console.log('refused: ' + e.message) }
        })`,
        ],
        { env: { ...process.env, FIR_LOCK_WAIT_MS: '300' } },
      ),
    )
    let out = ''
    contender.stdout.on('data', (d: Buffer) => (out += d.toString()))
    await new Promise((r) => contender.on('close', r))
    // The holder is this test's process, no fir command: named as such (a live fir holder is "in
    // use by", see lock.test.ts), and never taken over.
    expect(out).toMatch(
      /refused: unable to lock case .*its lock names process \d+ on .* is not a fir command now/,
    )
    await holder.journal.append({ action: 'first', target: 't', params: {}, outcome: 'recorded' })
    await holder.close()
    // With the lock free, many concurrent writers all get their turn, one at a time.
    const writers = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        import('node:child_process').then(
          ({ spawn }) =>
            new Promise<string>((resolve) => {
              const c = spawn(
                process.execPath,
                [
                  '-e',
                  `
                import(${JSON.stringify(join(process.cwd(), 'dist/core/case/case-folder.js'))}).then(async (m) => {
                  const h = await m.CaseHandle.open(${JSON.stringify(dir)}); await h.journal.append({action:'w${i}',target:'t',params:{},outcome:'recorded'}); await h.close(); console.log('ok')
                }).catch((e) => console.log('err ' + e.message))`,
                ],
                { env: { ...process.env, FIR_LOCK_WAIT_MS: '20000' } },
              )
              let o = ''
              c.stdout.on('data', (d: Buffer) => (o += d.toString()))
              c.on('close', () => resolve(o.trim()))
            }),
        ),
      ),
    )
    expect(writers).toEqual(['ok', 'ok', 'ok', 'ok'])
    const verify = await runFir(['case', 'verify', '--case', dir, '--json'], { cwd })
    expect(verify.code).toBe(0)
    expect(verify.json.result.checked.journalEntries).toBe(6)
    expect((await readdir(dir)).includes('.lock')).toBe(false)
  })

  it('case show names a timeline file not as recorded, and what to do depends on how', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false, events: 20 })
    await rm(join(sample.dir, 'timeline', 'findings.json'))
    const cut = await runFir(['case', 'show', '--case', sample.dir])
    expect(cut.code, cut.stderr).toBe(0)
    expect(cut.stdout).toContain('findings unknown (findings.json is not as recorded)')
    expect(cut.stdout).toContain(
      'not as recorded: timeline/findings.json is missing: run fir case verify, then fir timeline again to collect it whole',
    )
    // A changed file may be tampering: fir timeline refuses to replace it, so no advice to re-run.
    await appendFile(join(sample.dir, 'timeline', 'events.jsonl'), '{"planted":true}\n')
    const changed = await runFir(['case', 'show', '--case', sample.dir])
    expect(changed.stdout).toContain('timeline/events.jsonl was changed after fir recorded it')
    expect(changed.stdout).toContain('preserve the case as it is')
    expect(changed.stdout).not.toContain('fir timeline again')
  })
})
