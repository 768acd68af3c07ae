import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import type { NewEntry } from '../../../src/core/case/journal.js'
import { shortTarget, viewJournal } from '../../../src/core/report/journal-view.js'
import { tempDir } from '../../support/cli.js'

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:orders-api'
const ROLE = 'arn:aws:iam::123456789012:role/orders-api-role'

async function journalOf(entries: NewEntry[]) {
  const handle = await CaseHandle.init('J-1', { dir: join(await tempDir(), 'c'), firVersion: 't' })
  try {
    for (const e of entries) await handle.journal.append(e)
    return [...handle.journal.all()]
  } finally {
    await handle.close()
  }
}

const change = (
  action: string,
  target: string,
  outcome: NewEntry['outcome'],
  extra: Partial<NewEntry> = {},
): NewEntry => ({
  action,
  target,
  params: {},
  outcome,
  ...extra,
})

describe('viewJournal', () => {
  it('pairs each outcome with its started entry so the row shows before → after', async () => {
    const view = viewJournal(
      await journalOf([
        change('containment.throttle', FN, 'started', {
          prior: { reservedConcurrency: null },
          requestIds: ['r1'],
        }),
        change('containment.throttle', FN, 'applied', {
          after: { reservedConcurrency: 0 },
          requestIds: ['r2'],
        }),
        change('evidence.seal', FN, 'recorded'),
      ]),
    )
    expect(view.actions).toHaveLength(1)
    const row = view.actions[0]!
    expect(row).toMatchObject({
      n: 1,
      action: 'containment.throttle',
      title: 'Throttle: reserved concurrency 0',
      outcome: 'applied',
      succeeded: true,
      before: 'reservedConcurrency=—',
      after: 'reservedConcurrency=0',
      requestIds: ['r1', 'r2'],
    })
    expect(row.startedAt).not.toBeNull()
    expect(row.atDisplay).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/)
    expect(view.status.code).toBe('contained')
    expect(view.status.inForce).toEqual(['Throttle: reserved concurrency 0: orders-api'])
  })

  it('tells measures fir changed from those that were already in place', async () => {
    const view = viewJournal(
      await journalOf([
        change('containment.url', FN, 'started', { prior: { configs: [] } }),
        change('containment.url', FN, 'already-applied', { after: { configs: [] } }),
        change('containment.throttle', FN, 'started', { prior: { reserved: null } }),
        change('containment.throttle', FN, 'applied', { after: { reserved: 0 } }),
        // A second contain: already-applied, but fir made the change earlier.
        change('containment.throttle', FN, 'already-applied', { after: { reserved: 0 } }),
      ]),
    )
    expect(view.status.inForce).toEqual([
      'Function URL auth set to AWS_IAM: orders-api — nothing to change (already in place)',
      'Throttle: reserved concurrency 0: orders-api',
    ])
    expect(view.status.detail).toBe('2 measures in force (1 needed no change), none failed.')
  })

  it('shows a change with no outcome (a killed run) and counts it against containment', async () => {
    const view = viewJournal(
      await journalOf([
        change('containment.url', FN, 'started', { prior: { authType: 'NONE' } }),
        change('containment.throttle', FN, 'started', { prior: {} }),
        change('containment.throttle', FN, 'applied', { after: { reservedConcurrency: 0 } }),
      ]),
    )
    const url = view.actions.find((a) => a.action === 'containment.url')!
    expect(url.outcome).toBe('started')
    expect(url.error).toMatch(/no outcome was journaled/)
    expect(view.status.code).toBe('partially-contained')
  })

  it('reports restored when every measure was undone, and denied steps as gaps', async () => {
    const view = viewJournal(
      await journalOf([
        change('containment.throttle', FN, 'started', { prior: {} }),
        change('containment.throttle', FN, 'applied', { after: {} }),
        change('containment.throttle', FN, 'undone', { after: { reservedConcurrency: null } }),
        change('credentials.rotate-key', 'arn:aws:iam::123456789012:user/ci', 'denied', {
          error: { code: 'AccessDenied', message: 'no iam:CreateAccessKey' },
        }),
      ]),
    )
    expect(view.status.code).toBe('restored')
    expect(view.actions.map((a) => a.title)).toEqual([
      'Throttle: reserved concurrency 0',
      'Undo: Throttle: reserved concurrency 0',
      'Rotate access key',
    ])
    expect(view.gaps).toEqual([
      expect.objectContaining({
        call: 'credentials.rotate-key',
        reason: 'AccessDenied: no iam:CreateAccessKey',
      }),
    ])
  })

  it('says not contained when no containment ran, and collects identities and notes', async () => {
    const view = viewJournal(
      await journalOf([
        change('aws.identity', 'arn:aws:sts::123456789012:assumed-role/IR/alice', 'recorded', {
          params: { account: '123456789012', region: 'eu-west-1', endpoint: null },
        }),
        change('case.note', 'J-1', 'recorded', { params: { kind: 'inject', text: 'Logs deleted' } }),
        change('case.note', 'J-1', 'recorded', {
          params: { kind: 'answer', text: 'Throttle', question: 'First step?', answerSeconds: 61 },
        }),
        change('case.note', 'J-1', 'recorded', { params: { text: 'free text' } }),
      ]),
    )
    expect(view.status.code).toBe('not-contained')
    expect(view.actedAs).toEqual([
      'arn:aws:sts::123456789012:assumed-role/IR/alice in account 123456789012, region eu-west-1',
    ])
    expect(view.afterAction).toMatchObject({
      present: true,
      injects: 1,
      answers: 1,
      decisions: 0,
      meanAnswerTime: '1 min 01 s',
    })
    expect(view.afterAction.notes.map((n) => [n.kindLabel, n.question, n.answerTime])).toEqual([
      ['Inject', null, null],
      ['Answer', 'First step?', '1 min 01 s'],
      ['Note', null, null],
    ])
  })

  describe('playbook runs', () => {
    const RUN = 'r-1'
    const steps = ['seal', 'close', 'timeline', 'report']
    const run = (outcome: NewEntry['outcome'], params: Record<string, unknown> = {}, extra = {}) =>
      change('playbook.run', 'exposure', outcome, { params: { runId: RUN, ...params }, ...extra })
    const step = (id: string, outcome: NewEntry['outcome'], extra = {}) =>
      change('playbook.step', `exposure#${id}`, outcome, { params: { runId: RUN, step: id }, ...extra })
    const upToReport = [
      run('started', { steps }),
      step('seal', 'started'),
      step('seal', 'applied'),
      step('close', 'started'),
      step('close', 'applied'),
      step('timeline', 'started'),
      step('timeline', 'applied'),
      step('report', 'started'),
    ]

    it('says the run is running when its own report step renders the report', async () => {
      const view = viewJournal(await journalOf(upToReport), { renderedBy: { runId: RUN, stepId: 'report' } })
      expect(view.playbooks).toEqual([
        'exposure (run r-1): running — this report is its step 4 of 4 (report); done so far: seal applied, close applied, timeline applied',
      ])
    })

    it('keeps "not finished — resume" for a run that really stopped', async () => {
      // The same journal read later by `fir report`: the run died in its report step.
      const view = viewJournal(await journalOf(upToReport))
      expect(view.playbooks).toEqual([
        'exposure (run r-1): started, not finished (step report started, no outcome journaled); done: seal applied, close applied, timeline applied — fir playbook resume continues it',
      ])
      // A report rendered by another run's step does not make this one running.
      const other = viewJournal(await journalOf(upToReport), {
        renderedBy: { runId: 'r-2', stepId: 'report' },
      })
      expect(other.playbooks[0]).toMatch(/started, not finished/)
    })

    it('names the step a failed run stopped at and why, instead of "no steps"', async () => {
      const view = viewJournal(
        await journalOf([
          run('started', { steps }),
          step('seal', 'started'),
          step('seal', 'applied'),
          step('close', 'started'),
          step('close', 'denied', {
            error: { code: 'AccessDenied', message: 'no lambda:UpdateFunctionUrlConfig' },
          }),
          run(
            'failed',
            { failedStep: 'close' },
            { error: { code: 'AccessDenied', message: 'no lambda:UpdateFunctionUrlConfig' } },
          ),
        ]),
      )
      expect(view.playbooks).toEqual([
        'exposure (run r-1): stopped at step close (denied: AccessDenied: no lambda:UpdateFunctionUrlConfig); done: seal applied — fir playbook resume continues it',
      ])
    })

    it('shows a resumed run that finished with its outcomes in playbook order', async () => {
      const view = viewJournal(
        await journalOf([
          run('started', { steps }),
          step('seal', 'applied'),
          run('failed', { failedStep: 'close' }),
          change('playbook.resume', 'exposure', 'recorded', { params: { runId: RUN, from: 'close' } }),
          step('close', 'applied'),
          step('timeline', 'applied'),
          step('report', 'started'),
        ]),
        { renderedBy: { runId: RUN, stepId: 'report' } },
      )
      expect(view.playbooks[0]).toMatch(/^exposure \(run r-1\): running — this report is its step 4 of 4/)
      const done = viewJournal(
        await journalOf([
          run('started', { steps }),
          run('applied', {
            outcomes: { close: 'applied', report: 'applied', seal: 'applied', timeline: 'skipped' },
          }),
        ]),
      )
      expect(done.playbooks).toEqual([
        'exposure (run r-1, applied): seal applied, close applied, timeline skipped, report applied',
      ])
    })
  })

  it('fills a journaled gap that names no call or reason, so its row has no blank cell', async () => {
    const view = viewJournal(
      await journalOf([
        change('timeline.collect', FN, 'recorded', { params: { gaps: ['eu-west-1 skipped'] } }),
      ]),
    )
    expect(view.gaps).toEqual([
      {
        origin: 'journal #1 (timeline.collect)',
        what: 'eu-west-1 skipped',
        call: 'not recorded',
        reason: 'not recorded',
      },
    ])
  })

  it('says why a drill has no after-action notes instead of "no tabletop drill"', async () => {
    const drill = viewJournal(
      await journalOf([change('tabletop.start', 'public-url-backdoor', 'recorded', { params: {} })]),
    )
    expect(drill.afterAction.absentReason).toMatch(
      /^No after-action notes were journaled: this drill ran without --interactive/,
    )
    const plain = viewJournal(await journalOf([]))
    expect(plain.afterAction.absentReason).toBe(
      'No after-action notes were journaled in this case (no case.note entries).',
    )
  })

  it('names functions and roles by their short name', () => {
    expect(shortTarget(FN)).toBe('orders-api')
    expect(shortTarget(`${FN}:live`)).toBe('orders-api')
    expect(shortTarget(ROLE)).toBe('orders-api-role')
    expect(shortTarget('plain')).toBe('plain')
  })
})
