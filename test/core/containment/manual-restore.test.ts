import { describe, expect, it } from 'vitest'
import type { JournalEntry } from '../../../src/core/case/journal.js'
import { redactValue } from '../../../src/core/common/redact.js'
import { cliLines, manualRestores } from '../../../src/core/containment/manual-restore.js'

const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:fn1'
const params = { function: 'fn1', functionArn: FN, region: 'eu-west-1' }

/** A change as contain journals it: `started` with the prior state, then `applied`. */
function change(seq: number, action: string, prior: unknown, after: unknown): JournalEntry[] {
  const entry = (n: number, outcome: string, extra: Record<string, unknown>) =>
    ({
      seq: n,
      at: `2026-11-29T13:0${n}:00.000Z`,
      actor: { arn: null, osUser: 'r', host: 'h', command: [] },
      action,
      target: FN,
      params,
      outcome,
      ...extra,
      prev: '0',
      hash: '0',
    }) as unknown as JournalEntry
  return [
    entry(seq, 'started', { prior, undo: { intendedAfter: after } }),
    entry(seq + 1, 'applied', { after }),
  ]
}

describe('the commands that put a change back by hand (a damaged journal)', () => {
  it('never writes a redaction marker into AWS: a description that held a secret is a placeholder, with where the value is in evidence/', () => {
    // Before: `aws lambda update-function-configuration --function-name fn1 --description 'db pw is
    // ‹redacted len=19 sha256:…› ok'`, which set the description to the marker.
    const kept = `db pw is ${redactValue('hunter2-supersecret')} ok`
    const [recycle] = manualRestores(
      change(1, 'containment.recycle', { description: kept }, { description: 'fir: recycled' }),
      'C7',
      cliLines(undefined),
    )
    expect(recycle!.before).toBe(`description ${JSON.stringify(kept)}`)
    expect(recycle!.commands).toEqual([
      'aws lambda update-function-configuration --function-name fn1 --description <original-description> --region eu-west-1',
    ])
    expect(recycle!.commands.join(' ')).not.toContain('‹redacted')
    expect(recycle!.note).toBe(
      "the value to put back held a secret, which the journal keeps redacted: replace <original-description> with the Configuration.Description of function fn1 in the case's sealed snapshot of it (evidence/<set>/functions/fn1/get-function.$LATEST.json); fir shows no secret outside evidence/",
    )

    // A description without a secret is put back as it was.
    const [plain] = manualRestores(
      change(1, 'containment.recycle', { description: 'orders API' }, { description: 'fir: recycled' }),
      'C7',
      cliLines(undefined),
    )
    expect(plain!.commands).toEqual([
      "aws lambda update-function-configuration --function-name fn1 --description 'orders API' --region eu-west-1",
    ])
    expect(plain!.note).toBeUndefined()
  })
})
