import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
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
})
