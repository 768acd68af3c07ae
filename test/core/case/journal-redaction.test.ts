import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Journal } from '../../../src/core/case/journal.js'
import { redactor, redactValue } from '../../../src/core/common/redact.js'
import { tempDir } from '../../support/cli.js'

/** A journal begun by case.init in a new case folder. */
async function newJournal(): Promise<{ dir: string; journal: Journal }> {
  const dir = join(await tempDir(), 'case')
  await mkdir(dir, { recursive: true })
  const journal = await Journal.create(dir, {
    action: 'case.init',
    target: 'T',
    params: {},
    outcome: 'recorded',
  })
  return { dir, journal }
}

describe("the journal's own fields", () => {
  it('are never scrubbed: a secret equal to a seq, an action, an outcome or a field name leaves the entry readable', async () => {
    // Before: DB_PASSWORD=containment.throttle, `started`, `function` or `2` cut the step's id, the
    // outcome, the params' keys and the seq out of the entry restore reads (seq 2 became a string).
    for (const secret of ['containment.throttle', 'started', 'function', '100']) redactor.register(secret)
    redactor.register('hunter2-pw')
    const { dir, journal } = await newJournal()
    for (let i = 1; i < 100; i++)
      await journal.append({ action: 'x.y', target: 'T', params: {}, outcome: 'recorded' })
    const entry = await journal.append({
      action: 'containment.throttle',
      target: 'orders',
      params: { function: 'orders', note: 'pw hunter2-pw' },
      outcome: 'started',
    })
    expect(entry).toMatchObject({
      seq: 100,
      action: 'containment.throttle',
      outcome: 'started',
      params: { function: 'orders', note: `pw ${redactValue('hunter2-pw')}` },
    })
    // The chain holds: the entry reopens.
    expect((await Journal.open(dir)).all().at(-1)?.seq).toBe(100)
  })
})

describe("a step's states", () => {
  it('keep their numbers as read from AWS; params keep theirs scrubbed', async () => {
    // Before: DB_PASSWORD=100 journaled a reserved concurrency of 100 as a marker, which restore
    // cannot put back. A playbook's input (a PIN) in params stays scrubbed.
    redactor.register('100')
    redactor.register('4821')
    const { dir, journal } = await newJournal()
    const entry = await journal.append(
      {
        action: 'containment.throttle',
        target: 'orders',
        params: { function: 'orders', pin: 4821, size: 100 },
        outcome: 'started',
        prior: { reserved: 100, note: 'was 100' },
        undo: { intendedAfter: { reserved: 0 }, prior: { reserved: 100 } },
      },
      { states: true },
    )
    expect(entry).toMatchObject({
      params: { function: 'orders', pin: redactValue('4821'), size: redactValue('100') },
      prior: { reserved: 100, note: `was ${redactValue('100')}` },
      undo: { intendedAfter: { reserved: 0 }, prior: { reserved: 100 } },
    })
    // Not said to be states (a playbook step's outputs): scrubbed as params are.
    const other = await journal.append({
      action: 'playbook.step',
      target: 'p',
      params: {},
      outcome: 'applied',
      after: { outputs: { pin: 4821 } },
    })
    expect(other.after).toEqual({ outputs: { pin: redactValue('4821') } })
    expect((await Journal.open(dir)).all().at(-1)?.seq).toBe(2)
  })
})
