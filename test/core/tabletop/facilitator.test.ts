import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { redactor, redactValue } from '../../../src/core/common/redact.js'
import { Facilitator, isYes } from '../../../src/core/tabletop/facilitator.js'
import { tempDir } from '../../support/cli.js'

describe('tabletop facilitator decisions', () => {
  it('an answer starting with y runs the step, anything else skips it (tabletop.md)', () => {
    for (const a of [
      'y',
      'Y',
      'yes',
      'Yes, close it',
      'yeah, IC approves',
      'Yep',
      'yup',
      '  y — IC approves',
    ])
      expect(isYes(a), a).toBe(true)
    for (const a of ['n', 'no', 'nope, wait', 'ok', 'sure', '(empty answer)', '(no answer: input ended)', ''])
      expect(isYes(a), a).toBe(false)
  })

  it('decide() reads each answer from the input, journals it and returns the decision', async () => {
    const dir = join(await tempDir('fir-facilitator-'), 'case')
    const handle = await CaseHandle.init('FAC-1', { dir, firVersion: 'test' })
    try {
      const said: string[] = []
      const f = new Facilitator(
        Readable.from(['yeah, IC approves\nYep\nno\n']),
        (t) => said.push(t),
        handle.journal,
        'drill',
      )
      expect([await f.decide('Close it?'), await f.decide('Revoke?'), await f.decide('Rotate?')]).toEqual([
        true,
        true,
        false,
      ])
      expect(f.transcript.map((t) => `${t.kind}: ${t.text}`)).toEqual([
        'decision: yeah, IC approves',
        'decision: Yep',
        'decision: no',
      ])
      expect(said.join('\n')).toContain('Close it? [y/n]')
    } finally {
      await handle.close()
    }
  })

  it('says once, when the input ends, that the decisions that follow skip their steps', async () => {
    const dir = join(await tempDir('fir-facilitator-'), 'case')
    const handle = await CaseHandle.init('FAC-3', { dir, firVersion: 'test' })
    try {
      const said: string[] = []
      const f = new Facilitator(Readable.from(['y\n']), (t) => said.push(t), handle.journal, 'drill')
      expect([await f.decide('Close it?'), await f.decide('Revoke?'), await f.decide('Rotate?')]).toEqual([
        true,
        false,
        false,
      ])
      // Before: nothing said; the two steps were skipped in silence.
      const ended = said.filter((t) => t.includes('the input ended'))
      expect(ended).toEqual([
        '  (the input ended: the questions that follow go unanswered and the decisions that follow skip their steps)',
      ])
      expect(said.indexOf(ended[0]!)).toBeGreaterThan(said.findIndex((t) => t.includes('Revoke?')))
    } finally {
      await handle.close()
    }
  })

  it("journals a secret in the team's answers redacted, and registers it so the drill's outputs redact it too", async () => {
    const dir = join(await tempDir('fir-facilitator-'), 'case')
    const handle = await CaseHandle.init('FAC-2', { dir, firVersion: 'test' })
    const key = 'Mv3nTq8LxR2vB4cW6yH1kJ3pS5dF7gA0eZ/uI+oQ'
    const f = new Facilitator(
      Readable.from([`IC is Dana; DB_PASSWORD=Hunter2Hunter2 must rotate\nno, the old key was ${key}\n`]),
      () => {},
      handle.journal,
      'drill',
    )
    try {
      await f.inject({ before: 'start', text: 'The pager goes off.', questions: ['Who is IC?'] })
      expect(await f.decide('Rotate?')).toBe(false)
    } finally {
      await handle.close()
    }
    // Before: journaled as written (only a free text given as --input was searched for secrets).
    const journal = await readFile(join(dir, 'journal.jsonl'), 'utf8')
    expect(journal).not.toContain('Hunter2Hunter2')
    expect(journal).not.toContain(key)
    const notes = handle.journal.all().filter((e) => e.action === 'case.note')
    expect(notes.map((n) => `${n.params.kind}: ${n.params.text}`)).toEqual([
      'inject: The pager goes off.',
      `answer: IC is Dana; DB_PASSWORD=${redactValue('Hunter2Hunter2')} must rotate`,
      `decision: no, the old key was ${redactValue(key)}`,
    ])
    // The transcript (--json) keeps what was said; every output scrubs it with the redactor.
    expect(redactor.scrub(JSON.stringify(f.transcript))).not.toContain('Hunter2Hunter2')
    expect(redactor.scrub(JSON.stringify(f.transcript))).not.toContain(key)
  })
})
