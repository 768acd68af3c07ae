import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runFir, tempDir } from '../support/cli.js'

describe('fir tabletop run --interactive (built CLI)', () => {
  it("shows injects, reads the team's answers from stdin, times them, journals them as case.note and the report's after-action section shows them", async () => {
    const cwd = await tempDir('fir-drill-')
    const answers = [
      'Priya is IC; page the platform lead and security on-call',
      'Snapshot the function and its policy first, it is evidence',
      'Close now; the IC decides and we note it in the case',
      'yes, close it',
      'The contractor role had lambda:* on prod; scope it down',
      'A Config rule on public Lambda URLs with a pager alert',
    ]
    const r = await runFir(
      ['tabletop', 'run', 'public-url-backdoor', '--interactive', '--case', 'drills/d1'],
      {
        cwd,
        input: `${answers.join('\n')}\n`,
        timeoutMs: 300_000,
      },
    )
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('=== INJECT ===')
    expect(r.stderr).toContain('Security Hub raised')
    expect(r.stderr).toContain('=== DECISION ===')
    expect(r.stderr).toContain('Close the public exposure of orders-admin-export')
    const caseDir = join(cwd, 'drills', 'd1')
    expect(r.stdout).toContain(`Report: ${caseDir}/reports/report.html`)
    const journal = (await readFile(join(caseDir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const notes = journal.filter((e) => e.action === 'case.note')
    expect(notes.map((n) => n.params.kind)).toEqual([
      'inject',
      'answer',
      'answer',
      'inject',
      'answer',
      'decision',
      'inject',
      'answer',
      'answer',
    ])
    const replies = notes.filter((n) => n.params.kind !== 'inject')
    expect(replies.map((n) => n.params.text)).toEqual(answers)
    for (const n of replies) {
      expect(typeof n.params.question).toBe('string')
      expect(n.params.answerSeconds).toEqual(expect.any(Number))
      expect(n.params.answerSeconds).toBeGreaterThanOrEqual(0)
    }
    expect(replies[0]!.params.question).toBe('Who is the incident commander, and who do you tell first?')
    // The decision let the step run; the debrief came before the report step.
    const close = journal
      .filter((e) => e.action === 'playbook.step' && e.params.step === 'close')
      .map((e) => e.outcome)
    expect(close).toEqual(['started', 'applied'])
    const reportStart = journal.findIndex((e) => e.action === 'playbook.step' && e.params.step === 'report')
    expect(journal.findLastIndex((e) => e.action === 'case.note')).toBeLessThan(reportStart)
    // Markdown escapes (lambda:\*) removed before comparing
    const md = (await readFile(join(caseDir, 'reports', 'report.md'), 'utf8')).replace(/\\(.)/g, '$1')
    for (const a of answers.filter((x) => x !== 'yes, close it')) expect(md).toContain(a)
    expect(md).toContain('Who is the incident commander, and who do you tell first?')
  }, 320_000)

  it('a "no" decision skips the step, and an answer cut short by the end of input is journaled as such', async () => {
    const cwd = await tempDir('fir-drill-')
    const r = await runFir(['tabletop', 'run', 'public-url-backdoor', '--interactive', '--json'], {
      cwd,
      input: 'IC is me\nsnapshot first\nwait for the partner\nno\n',
      timeoutMs: 300_000,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.status).toBe(0)
    const steps = Object.fromEntries(
      r.json.result.run.steps.map((s: { id: string; outcome: string }) => [s.id, s.outcome]),
    )
    expect(steps.close).toBe('skipped')
    // nothing was confirmed yet, so the next change is a decision too: no answer, not run
    expect(steps.revoke).toBe('skipped')
    // the exposure stays, and the report still names it
    expect(r.json.result.scorecard.detected).toBe(true)
    const transcript = r.json.result.transcript as { kind: string; text: string }[]
    expect(transcript.filter((t) => t.kind === 'decision').map((t) => t.text)).toEqual([
      'no',
      '(no answer: input ended)',
    ])
    expect(transcript.at(-1)).toMatchObject({ kind: 'answer', text: '(no answer: input ended)' })
  }, 320_000)

  it('every confirmation of the playbook is a team decision, also after the first (stolen-role-credentials)', async () => {
    const cwd = await tempDir('fir-drill-')
    const r = await runFir(['tabletop', 'run', 'stolen-role-credentials', '--interactive', '--json'], {
      cwd,
      input: 'ans1\nans2\ny hold\nans3\ny rotate-secrets\nno created-keys\ny attacker-keys\nans4\nans5\n',
      timeoutMs: 300_000,
    })
    expect(r.code, r.stderr).toBe(0)
    const transcript = r.json.result.transcript as { kind: string; text: string; question?: string }[]
    // Only hold was asked: the later confirmations ran unasked, and the team's answers to them were
    // journaled as answers to the debrief.
    expect(transcript.filter((t) => t.kind === 'decision').map((t) => t.text)).toEqual([
      'y hold',
      'y rotate-secrets',
      'no created-keys',
      'y attacker-keys',
    ])
    expect(transcript.filter((t) => t.kind === 'decision')[1]!.question).toContain(
      'Rotation cannot be undone',
    )
    expect(transcript.filter((t) => t.kind === 'answer').map((t) => t.text)).toEqual([
      'ans1',
      'ans2',
      'ans3',
      'ans4',
      'ans5',
    ])
    const steps = Object.fromEntries(
      r.json.result.run.steps.map((s: { id: string; outcome: string }) => [s.id, s.outcome]),
    )
    expect(steps).toMatchObject({
      hold: 'applied',
      'rotate-secrets': 'applied',
      'created-keys': 'skipped',
      'attacker-keys': 'applied',
    })
  }, 320_000)

  it('an interrupted drill (SIGTERM) stops its emulator', async () => {
    const cwd = await tempDir('fir-drill-')
    let endpoint: string | undefined
    const r = await runFir(['tabletop', 'run', 'stolen-role-credentials'], {
      cwd,
      timeoutMs: 300_000,
      onSpawn(child) {
        let err = ''
        child.stderr?.on('data', (d: Buffer) => {
          err += d.toString()
          const m = err.match(/emulator on (http:\/\/127\.0\.0\.1:\d+)/)
          if (m && !endpoint) {
            endpoint = m[1]
            child.kill('SIGTERM')
          }
        })
      },
    })
    expect(endpoint).toBeDefined()
    expect(r.signal ?? r.code).toBeTruthy()
    await new Promise((res) => setTimeout(res, 500))
    await expect(fetch(`${endpoint}/moto-api/data.json`)).rejects.toThrow()
  }, 320_000)
})
