import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import type { NewEntry } from '../../../src/core/case/journal.js'
import {
  type FunctionExposure,
  shortTarget,
  type TimelineUndo,
  viewJournal,
} from '../../../src/core/report/journal-view.js'
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

describe('a case whose containment was decided against', () => {
  it('says no measure was applied (the skipped decision is journaled, so "no step journaled" was false)', async () => {
    const view = viewJournal(
      await journalOf([
        change('playbook.step', 'lambda-compromise#hold', 'skipped', {
          params: { runId: 'r1', step: 'hold', action: 'containment.contain' },
        }),
      ]),
    )
    expect(view.status.code).toBe('not-contained')
    expect(view.status.detail).toBe(
      'No containment measure was applied in this case: the function runs as it did.',
    )
  })
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

  it('says a change cut off mid-step is interrupted, its outcome unknown, with the command that finishes it — not failed', async () => {
    // Before: "No function is contained: 0 measures in force; 1 failed, denied or in conflict.
    // orders-api: not contained — the measures that stopped it were undone, failed or never finished."
    const params = { function: 'orders-api', functionArn: FN, region: 'us-east-1' }
    const started = change('containment.throttle', FN, 'started', {
      params,
      prior: { reserved: 5 },
      undo: { intendedAfter: { reserved: 0 } },
    })
    const view = viewJournal(await journalOf([started]))
    const finish = `fir contain ${FN} --actions throttle`
    expect(view.actions.map((a) => [a.outcome, a.error])).toEqual([
      [
        'started',
        `no outcome was journaled (the run was interrupted): the change may be in force; run ${finish} again to finish it`,
      ],
    ])
    expect(view.status.code).toBe('not-contained')
    expect(view.status.detail).toBe(
      `No function is known to be contained: 0 measures known to be in force; 1 interrupted, its outcome unknown (started, no outcome journaled: it may be in force; run ${finish} again to finish it). orders-api: not known to be contained — Throttle: reserved concurrency 0 was interrupted (no outcome journaled), so whether it is in force is unknown.`,
    )
    // Running it again finds the throttle made and journals it: contained.
    const settled = viewJournal(
      await journalOf([
        started,
        change('containment.throttle', FN, 'already-applied', {
          params,
          prior: { reserved: 0 },
          after: { reserved: 0 },
        }),
      ]),
    )
    expect(settled.status.code).toBe('contained')
    // The re-run found the throttle the killed run made (5 → 0): fir changed it, and restore puts
    // 5 back. Before: "Throttle: reserved concurrency 0: orders-api — nothing to change (already
    // in place)", "1 measure in force (1 needed no change)".
    expect(settled.actions.map((a) => [a.outcome, a.before, a.after])).toEqual([
      ['already-applied', 'reserved=5', 'reserved=0'],
    ])
    expect(settled.status.inForce).toEqual(['Throttle: reserved concurrency 0: orders-api'])
    expect(settled.status.detail).toBe('1 measure in force, none failed.')
    // Undone, it counts as a change fir undid, not as one that needed no change.
    const undoneAfter = viewJournal(
      await journalOf([
        started,
        change('containment.throttle', FN, 'already-applied', {
          params,
          prior: { reserved: 0 },
          after: { reserved: 0 },
        }),
        change('containment.throttle', FN, 'started', {
          params: { ...params, undoOf: 1 },
          prior: { reserved: 0 },
        }),
        change('containment.throttle', FN, 'undone', {
          params: { ...params, undoOf: 1 },
          after: { reserved: 5 },
        }),
      ]),
    )
    expect(undoneAfter.status).toMatchObject({
      code: 'restored',
      inForce: [],
      detail: 'Every containment measure was undone (1); the function runs as it did before containment.',
    })
    // An undo cut off mid-step: restore finishes it; the measure is not known to be in force.
    const entries = await journalOf([
      change('containment.throttle', FN, 'started', { params, prior: { reserved: 5 } }),
      change('containment.throttle', FN, 'applied', { params, after: { reserved: 0 } }),
    ])
    const undoOf = entries.find((e) => e.outcome === 'started')!.seq
    const undo = viewJournal(
      await journalOf([
        change('containment.throttle', FN, 'started', { params, prior: { reserved: 5 } }),
        change('containment.throttle', FN, 'applied', { params, after: { reserved: 0 } }),
        change('containment.throttle', FN, 'started', {
          params: { ...params, undoOf },
          prior: { reserved: 0 },
        }),
      ]),
    )
    expect(undo.actions.at(-1)).toMatchObject({
      title: 'Undo: Throttle: reserved concurrency 0',
      outcome: 'started',
    })
    expect(undo.status.code).toBe('not-contained')
    expect(undo.status.detail).toContain(
      `1 interrupted, its outcome unknown (started, no outcome journaled: it may be in force; run fir restore ${FN} --actions throttle again to finish it)`,
    )
    expect(undo.status.detail).not.toContain('failed')
  })

  it('a cut-off change a re-run of it settled is shown as settled, not as one to finish; the command that finishes one names the case', async () => {
    const target = 'arn:aws:iam::123456789012:user/ci#AKIAIOSFODNN7EXAMPLE'
    const params = { user: 'ci', accessKey: 'AKIAIOSFODNN7EXAMPLE', deleteOld: false }
    const killed = change('credentials.rotate-key', target, 'started', { params, prior: { keys: [] } })
    const entries = await journalOf([
      killed,
      change('credentials.rotate-key', target, 'started', { params, prior: { keys: [] } }),
      change('credentials.rotate-key', target, 'applied', { params, after: { keys: [] } }),
    ])
    const view = viewJournal(entries, { caseDir: '/ir/cases/IR-7' })
    // Before: "no outcome was journaled (the run was interrupted): the change may be in force; run
    // fir creds rotate-key --user ci --access-key AKIAIOSFODNN7EXAMPLE again to finish it".
    expect(view.actions.map((a) => [a.outcome, a.error])).toEqual([
      [
        'started',
        `no outcome was journaled (the run was interrupted); settled by a later run of the same change (journal #${entries.at(-1)!.seq}, applied): nothing is left to finish of it`,
      ],
      ['applied', ''],
    ])
    // A re-run cut off too takes it up: the latest says what finishes the change.
    const twice = await journalOf([
      killed,
      change('credentials.rotate-key', target, 'started', { params, prior: { keys: [] } }),
    ])
    const rows = viewJournal(twice, { caseDir: '/ir/cases/IR-7' }).actions.map((a) => a.error)
    expect(rows).toEqual([
      `no outcome was journaled (the run was interrupted); taken up by a later run of the same change (journal #${twice.at(-1)!.seq}, started): see that entry`,
      'no outcome was journaled (the run was interrupted): the change may be in force; run fir creds rotate-key --user ci --access-key AKIAIOSFODNN7EXAMPLE --case /ir/cases/IR-7 again to finish it',
    ])
    // Before: no --case (fir asks which case where several are under ./cases), and no --no-replace
    // (run as printed, it made a new key the cut-off run did not mean to make).
    const cut = viewJournal(
      await journalOf([
        change('credentials.rotate-key', target, 'started', { params: { ...params, replace: false } }),
      ]),
      { caseDir: '/ir/cases/IR 8' },
    )
    expect(cut.actions[0]!.error).toBe(
      "no outcome was journaled (the run was interrupted): the change may be in force; run fir creds rotate-key --user ci --access-key AKIAIOSFODNN7EXAMPLE --no-replace --case '/ir/cases/IR 8' again to finish it",
    )
  })

  it('a later run whose read was denied changed nothing: the measure stays in force; a first run’s is a failure', async () => {
    const denied = change('containment.throttle', FN, 'denied', {
      error: { code: 'access-denied', message: 'no lambda:GetFunctionConcurrency' },
    })
    // Planned and denied before any change (no `started`): not contained, the failure a gap.
    const first = viewJournal(await journalOf([denied]))
    expect(first.status.code).toBe('not-contained')
    expect(first.status.detail).toContain('0 measures in force; 1 failed, denied or in conflict')
    expect(first.gaps.map((g) => g.call)).toEqual(['containment.throttle'])
    // After the throttle was made, a re-run that could not read it leaves it as it was.
    const later = viewJournal(
      await journalOf([
        change('containment.throttle', FN, 'started', { prior: { reserved: 5 } }),
        change('containment.throttle', FN, 'applied', { after: { reserved: 0 } }),
        denied,
      ]),
    )
    expect(later.inForce.has(`containment.throttle|${FN}`)).toBe(true)
    expect(later.status.code).toBe('contained')
    expect(later.status.detail).toBe(
      '1 measure in force (a later run could not read one and changed nothing, so it stays: see Gaps), none failed.',
    )
    expect(later.gaps.map((g) => g.call)).toEqual(['containment.throttle'])
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

  it('reports restored once every change fir made was undone, a measure that needed no change aside', async () => {
    // Before: "Status: Not contained. No function is contained: 1 measure in force (1 needed no
    // change); 2 undone." — contain of a function with no event source mappings, then restore.
    const entries = await journalOf([
      change('containment.event-sources', FN, 'already-applied', { prior: { mappings: [] } }),
      change('containment.throttle', FN, 'started', { prior: { reservedConcurrency: null } }),
      change('containment.throttle', FN, 'applied', { after: { reservedConcurrency: 0 } }),
      change('containment.recycle', FN, 'started', { prior: {} }),
      change('containment.recycle', FN, 'applied', { after: {} }),
      change('containment.throttle', FN, 'undone', { after: { reservedConcurrency: null } }),
      change('containment.recycle', FN, 'undone', { after: {} }),
    ])
    const view = viewJournal(entries, {
      functions: [{ arn: FN, name: 'orders-api', label: 'orders-api', items: [] }],
    })
    expect(view.status).toEqual({
      code: 'restored',
      label: 'Restored',
      inForce: ['Disable event source mappings: orders-api — nothing to change (already in place)'],
      detail:
        'Every change fir made was undone (2); 1 measure needed no change (already in place before containment, so nothing to undo); the function runs as it did before containment.',
    })
    // Without a snapshot it is restored as well (it read "Contained": the measure closed its
    // event sources as far as the journal shows).
    expect(viewJournal(entries).status.code).toBe('restored')
    // A measure fir changed and did not undo is no restore.
    const kept = viewJournal(entries.slice(0, 6), {
      functions: [{ arn: FN, name: 'orders-api', label: 'orders-api', items: [] }],
    })
    expect(kept.status.code).not.toBe('restored')
  })

  it('names a function a restore found deleted, the measures that needed no change on it aside', async () => {
    // Before: "Not contained … orders-api: not contained — nothing was open to close … and it is
    // not throttled, so invocations are not stopped": the default contain (its closing measures
    // needed no change), the function deleted, then restore (the revocation kept).
    const gone = { noChange: true, gone: true }
    const entries = await journalOf([
      change('containment.event-sources', FN, 'already-applied', { prior: { mappings: [] } }),
      change('containment.url', FN, 'already-applied', { prior: { url: null } }),
      change('containment.permissions', FN, 'already-applied', { prior: { statements: [] } }),
      change('containment.throttle', FN, 'started', { prior: { reservedConcurrency: null } }),
      change('containment.throttle', FN, 'applied', { after: { reservedConcurrency: 0 } }),
      change('containment.recycle', FN, 'started', { prior: {} }),
      change('containment.recycle', FN, 'applied', { after: {} }),
      change('containment.sessions', ROLE, 'started', { params: { functionArn: FN }, prior: {} }),
      change('containment.sessions', ROLE, 'applied', { params: { functionArn: FN }, after: {} }),
      change('containment.throttle', FN, 'undone', { params: { undoOf: 4, ...gone } }),
      change('containment.recycle', FN, 'undone', { params: { undoOf: 6, ...gone } }),
    ])
    const view = viewJournal(entries, {
      functions: [{ arn: FN, name: 'orders-api', label: 'orders-api', items: [] }],
    })
    expect(view.gone).toEqual(new Set([FN]))
    expect(view.functions).toEqual([])
    expect(view.status.inForce).toEqual([
      'Revoke role sessions issued before now (TokenIssueTime deny): orders-api-role',
    ])
    expect(view.status.detail).toContain(
      'function orders-api was deleted since (found gone: nothing left to contain or put back)',
    )
    expect(view.status.detail).not.toContain('not throttled')
    // Contained again once created again: a measure applied after it was found gone is in force.
    const again = viewJournal(
      [
        ...entries,
        ...(await journalOf([
          change('containment.throttle', FN, 'started', { prior: { reservedConcurrency: null } }),
          change('containment.throttle', FN, 'applied', { after: { reservedConcurrency: 0 } }),
        ])),
      ].map((e, i) => ({ ...e, seq: i + 1 })),
      { functions: [{ arn: FN, name: 'orders-api', label: 'orders-api', items: [] }] },
    )
    expect(again.gone).toEqual(new Set())
    expect(again.status.code).toBe('contained')
  })

  it('a restore that was denied leaves the measure in force (it is a gap, not a lifted measure)', async () => {
    // Before: the denied undo counted as a failed measure: "Not contained" while the function
    // stayed throttled.
    const entries = await journalOf([
      change('containment.throttle', FN, 'started', { prior: { reservedConcurrency: null } }),
      change('containment.throttle', FN, 'applied', { after: { reservedConcurrency: 0 } }),
    ])
    const startedSeq = entries.find((e) => e.outcome === 'started')!.seq
    const view = viewJournal(
      await journalOf([
        change('containment.throttle', FN, 'started', { prior: { reservedConcurrency: null } }),
        change('containment.throttle', FN, 'applied', { after: { reservedConcurrency: 0 } }),
        change('containment.throttle', FN, 'started', { params: { undoOf: startedSeq } }),
        change('containment.throttle', FN, 'denied', {
          params: { undoOf: startedSeq },
          error: { code: 'AccessDenied', message: 'no lambda:DeleteFunctionConcurrency' },
        }),
      ]),
    )
    expect(view.status.code).toBe('contained')
    expect(view.inForce.has(`containment.throttle|${FN}`)).toBe(true)
    expect(view.status.detail).toContain('a restore of one failed, so it stays: see Gaps')
    expect(view.gaps).toEqual([
      expect.objectContaining({
        call: 'containment.throttle',
        reason: expect.stringContaining('AccessDenied'),
      }),
    ])
    // A later restore that worked lifts it.
    const lifted = viewJournal(
      await journalOf([
        change('containment.throttle', FN, 'started', { prior: { reservedConcurrency: null } }),
        change('containment.throttle', FN, 'applied', { after: { reservedConcurrency: 0 } }),
        change('containment.throttle', FN, 'denied', { params: { undoOf: startedSeq } }),
        change('containment.throttle', FN, 'undone', { params: { undoOf: startedSeq } }),
      ]),
    )
    expect(lifted.status.code).toBe('restored')
    expect(lifted.gaps).toEqual([])
  })

  it('a session revocation in force stays in force through a re-run cut off mid-way (a renewal moves only its cutoff)', async () => {
    // Before: the killed renewal's `started` replaced the measure's state: "0 measures in force",
    // "Sessions revoked: no", while fir's deny policy was on the role.
    const view = viewJournal(
      await journalOf([
        change('containment.sessions', ROLE, 'started', { params: { functionArn: FN } }),
        change('containment.sessions', ROLE, 'applied', { params: { functionArn: FN } }),
        change('credentials.revoke-sessions', ROLE, 'started', { params: { renew: true } }),
      ]),
    )
    expect(view.inForce.has(`containment.sessions|${ROLE}`)).toBe(true)
  })

  it('names a role whose path holds a "|" by its name among the measures in force', async () => {
    // An IAM path may hold any printable ASCII character. Before: split on every "|", the measure
    // read "Revoke role sessions issued before now (TokenIssueTime deny): team".
    const piped = 'arn:aws:iam::123456789012:role/team|ops/chained-role'
    const view = viewJournal(
      await journalOf([
        change('credentials.revoke-sessions', piped, 'started'),
        change('credentials.revoke-sessions', piped, 'applied'),
      ]),
    )
    expect(view.status.inForce).toEqual([
      'Revoke role sessions issued before now (TokenIssueTime deny): chained-role',
    ])
  })

  it('a failure a later run made good is no gap any more; the failure stays in the actions', async () => {
    const USER = 'arn:aws:iam::123456789012:user/ci'
    const view = viewJournal(
      await journalOf([
        change('credentials.rotate-key', USER, 'started', { prior: {} }),
        change('credentials.rotate-key', USER, 'denied', {
          error: { code: 'AccessDenied', message: 'no iam:UpdateAccessKey' },
        }),
        change('containment.throttle', FN, 'failed', { error: { code: 'Throttling', message: 'slow down' } }),
        change('credentials.rotate-key', USER, 'started', { prior: {} }),
        change('credentials.rotate-key', USER, 'applied', { after: {} }),
      ]),
    )
    expect(view.actions.map((a) => `${a.title}:${a.outcome}`)).toEqual([
      'Rotate access key:denied',
      'Throttle: reserved concurrency 0:failed',
      'Rotate access key:applied',
    ])
    expect(view.gaps.map((g) => g.call)).toEqual(['containment.throttle'])
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

  describe('the status, function by function', () => {
    const FA = 'arn:aws:lambda:us-east-1:123456789012:function:fa'
    const FB = 'arn:aws:lambda:us-east-1:123456789012:function:fb'
    const FA_ROLE = 'arn:aws:iam::123456789012:role/fa-role'
    const url = { kind: 'function-url', what: 'function URL open to anyone (AuthType NONE)', public: true }
    const statement = {
      kind: 'resource-policy',
      what: 'resource-policy statement FunctionURLAllowPublicAccess open to everyone or another account',
      public: true,
    }
    const publicFn = (arn: string): FunctionExposure => {
      const name = shortTarget(arn)
      return { arn, name, label: name, items: [url, statement] }
    }
    const done = (action: string, target: string, extra: Partial<NewEntry> = {}) => [
      change(action, target, 'started', extra),
      change(action, target, 'applied', extra),
    ]
    /** What the status says of publicFn(FA) contained by the throttle alone: its ways in are open. */
    const faHeld =
      ' fa: throttled, not closed — every invoke is refused while its reserved concurrency is 0, but these ways in are still open and reach it again once the throttle is lifted: function URL open to anyone (AuthType NONE); resource-policy statement FunctionURLAllowPublicAccess open to everyone or another account.'

    it('is not contained by a measure that had nothing to close: no URL, no public statement, no throttle', async () => {
      // Before: "Contained. 2 measures in force (1 needed no change)" — n1 had no URL and no public
      // statement, so url changed nothing, and n1 was neither throttled nor stopped.
      const N1 = 'arn:aws:lambda:us-east-1:123456789012:function:n1'
      const view = viewJournal(
        await journalOf([
          change('containment.url', N1, 'started', { prior: { authType: null } }),
          change('containment.url', N1, 'already-applied', { after: { authType: null } }),
          ...done('containment.recycle', N1),
        ]),
        { functions: [{ arn: N1, name: 'n1', label: 'n1', items: [] }] },
      )
      expect(view.functions[0]?.contained).toBe(false)
      expect(view.status.code).toBe('not-contained')
      expect(view.status.detail).toContain(
        'n1: not contained — nothing was open to close (its snapshot shows no public URL, public statement or enabled event source: not reachable from outside as far as it shows) and it is not throttled, so invocations are not stopped',
      )
      // Throttled, it is contained whatever was open.
      const throttled = viewJournal(await journalOf(done('containment.throttle', N1)), {
        functions: [{ arn: N1, name: 'n1', label: 'n1', items: [] }],
      })
      expect(throttled.status.code).toBe('contained')
      // Without a snapshot a URL restored since is not known to be open: not said to be.
      const unsnapshotted = viewJournal(
        await journalOf([
          ...done('containment.throttle', N1),
          ...done('containment.url', N1),
          change('containment.url', N1, 'undone'),
        ]),
      )
      expect(unsnapshotted.status).toMatchObject({ code: 'contained', label: 'Contained' })
      expect(unsnapshotted.status.detail).not.toContain('still open')
    })

    it('is not contained when only recycling or a session revocation is in force, whatever else it says', async () => {
      // Before: "Contained" — recycle and revoke-sessions counted as containment, the public URL aside.
      const recycled = viewJournal(await journalOf(done('containment.recycle', FA)), {
        functions: [publicFn(FA)],
      })
      expect(recycled.status.code).toBe('not-contained')
      expect(recycled.status.inForce).toEqual(['Recycle warm execution environments: fa'])
      expect(recycled.status.detail).toContain(
        'fa: not contained — function URL open to anyone (AuthType NONE); resource-policy statement FunctionURLAllowPublicAccess open to everyone or another account (only its warm environments were recycled: that replaces stolen credentials, it does not stop the function).',
      )
      const revoked = viewJournal(
        await journalOf(done('credentials.revoke-sessions', FA_ROLE, { params: { role: 'fa-role' } })),
        { functions: [publicFn(FA)] },
      )
      expect(revoked.status.code).toBe('not-contained')
      expect(revoked.status.detail).toContain('fa: not contained — function URL open to anyone')
      // No function at all: a revocation alone contains none.
      const alone = viewJournal(await journalOf(done('credentials.revoke-sessions', FA_ROLE)))
      expect(alone.status.code).toBe('not-contained')
    })

    it('is partially contained when one function of two is contained, and names the other', async () => {
      // Before: "Contained" (case-wide: a measure in force, none failed) while fa's URL stayed open.
      const view = viewJournal(
        await journalOf([
          ...done('containment.throttle', FB),
          ...done('containment.url', FB),
          ...done('containment.permissions', FB),
        ]),
        { functions: [publicFn(FA), publicFn(FB)] },
      )
      expect(view.status.code).toBe('partially-contained')
      expect(view.status.detail).toMatch(/Contained: fb\. fa: not contained — function URL open to anyone/)
      expect(view.functions.map((f) => [f.label, f.contained, f.journaled])).toEqual([
        ['fa', false, false],
        ['fb', true, true],
      ])
      // Closing every way in contains a function without the throttle; an event source still open does not.
      const closed = viewJournal(
        await journalOf([...done('containment.url', FA), ...done('containment.permissions', FA)]),
        { functions: [publicFn(FA)] },
      )
      expect(closed.status.code).toBe('contained')
      const queued = viewJournal(
        await journalOf([...done('containment.url', FA), ...done('containment.permissions', FA)]),
        {
          functions: [
            {
              ...publicFn(FA),
              items: [
                url,
                statement,
                { kind: 'event-source', what: 'event source q enabled', public: false },
              ],
            },
          ],
        },
      )
      expect(queued.status.code).toBe('not-contained')
      expect(queued.status.detail).toContain('fa: not contained — event source q enabled.')
    })

    it('goes by the state a change or a restore left when it failed part way: what it closed is closed, what it reopened is open', async () => {
      // Before: a contain denied after removing pub-a listed pub-a as open (the snapshot's view of a
      // failed measure), and a restore denied after re-adding pub-a kept the measure in force and
      // called the function contained, pub-a open again.
      const way = (sid: string) => ({
        kind: 'resource-policy',
        what: `resource-policy statement ${sid} open to everyone or another account`,
        public: true,
        ref: { sid, qualifiers: ['$LATEST'] },
      })
      const mapping = {
        kind: 'event-source',
        what: 'event source q1 enabled',
        public: false,
        ref: { uuid: 'u1' },
      }
      const fn = { ...publicFn(FA), items: [way('pub-a'), way('pub-b'), mapping] }
      const st = (sid: string) => ({ qualifier: null, sid, statement: {}, public: true })
      const partly = viewJournal(
        await journalOf([
          change('containment.permissions', FA, 'started', {
            prior: { statements: [st('pub-a'), st('pub-b')] },
          }),
          change('containment.permissions', FA, 'denied', { after: { statements: [st('pub-b')] } }),
          change('containment.event-sources', FA, 'started', {
            prior: { mappings: [{ uuid: 'u1', state: 'Enabled' }] },
          }),
          change('containment.event-sources', FA, 'failed', {
            after: { mappings: [{ uuid: 'u1', state: 'Disabled' }] },
          }),
        ]),
        { functions: [fn] },
      )
      expect(partly.status.code).toBe('not-contained')
      expect(partly.status.detail).toContain('2 failed, denied or in conflict')
      expect(partly.status.detail).toContain(
        'fa: not contained — resource-policy statement pub-b open to everyone or another account; Remove public resource-policy statements was denied part way, after it closed statement pub-a; Disable event source mappings failed part way, after it closed event source q1.',
      )
      // A failed step whose state could not be read back left nothing known: all is open.
      const unknown = viewJournal(
        await journalOf([
          change('containment.permissions', FA, 'started', {
            prior: { statements: [st('pub-a'), st('pub-b')] },
          }),
          change('containment.permissions', FA, 'failed'),
        ]),
        { functions: [{ ...fn, items: [way('pub-a'), way('pub-b')] }] },
      )
      expect(unknown.functions[0]?.open.map((i) => i.ref?.sid)).toEqual(['pub-a', 'pub-b'])
      const restoredInPart = viewJournal(
        await journalOf([
          ...done('containment.permissions', FA, {
            prior: { statements: [st('pub-a'), st('pub-b')] },
            after: { statements: [] },
          }),
          change('containment.permissions', FA, 'started', { params: { undoOf: 1 } }),
          change('containment.permissions', FA, 'denied', {
            params: { undoOf: 1 },
            after: { statements: [st('pub-a')] },
          }),
        ]),
        { functions: [{ ...fn, items: [way('pub-a'), way('pub-b')] }] },
      )
      expect(restoredInPart.status.code).not.toBe('contained')
      expect(restoredInPart.functions[0]?.open.map((i) => i.ref?.sid)).toEqual(['pub-a'])
      expect(restoredInPart.status.detail).toContain(
        'fa: not contained — resource-policy statement pub-a open to everyone or another account.',
      )
    })

    it('closes ways in one by one, not by their words: two NONE URLs, or one Sid on two qualifiers, are two ways', async () => {
      // $LATEST's URL and the alias live's both read "function URL open to anyone (AuthType NONE)",
      // and the console names each one's public statement FunctionURLAllowPublicAccess.
      const [latest, live] = [
        'https://l.lambda-url.us-east-1.on.aws/',
        'https://v.lambda-url.us-east-1.on.aws/',
      ]
      const urlOf = (address: string, qualifier: string) => ({
        ...url,
        ref: { url: address, qualifiers: [qualifier] },
      })
      const statementOn = (qualifier: string) => ({
        ...statement,
        ref: { sid: 'FunctionURLAllowPublicAccess', qualifiers: [qualifier] },
      })
      const fn = {
        ...publicFn(FA),
        items: [urlOf(latest, '$LATEST'), urlOf(live, 'live'), statementOn('$LATEST'), statementOn('live')],
      }
      const config = (qualifier: string | null, address: string, authType: string) => ({
        qualifier,
        url: address,
        authType,
      })
      const st = (qualifier: string | null) => ({
        qualifier,
        sid: 'FunctionURLAllowPublicAccess',
        statement: {},
        public: true,
      })
      // Contain set $LATEST's URL to AWS_IAM and removed $LATEST's statement; Lambda refused the alias's.
      const view = viewJournal(
        await journalOf([
          change('containment.url', FA, 'started', {
            prior: { configs: [config(null, latest, 'NONE'), config('live', live, 'NONE')] },
          }),
          change('containment.url', FA, 'denied', {
            after: { configs: [config(null, latest, 'AWS_IAM'), config('live', live, 'NONE')] },
          }),
          change('containment.permissions', FA, 'started', { prior: { statements: [st(null), st('live')] } }),
          change('containment.permissions', FA, 'denied', { after: { statements: [st('live')] } }),
        ]),
        { functions: [fn] },
      )
      // Before: contained, nothing open — closing $LATEST's URL and statement took the alias's,
      // worded alike, out of the open list.
      expect(view.functions[0]?.contained).toBe(false)
      expect(view.functions[0]?.open.map((i) => i.ref)).toEqual([
        { url: live, qualifiers: ['live'] },
        { sid: 'FunctionURLAllowPublicAccess', qualifiers: ['live'] },
      ])
      expect(view.functions[0]?.closed.map((c) => c.ref)).toEqual([
        { url: latest, qualifiers: ['$LATEST'] },
        { sid: 'FunctionURLAllowPublicAccess', qualifiers: ['$LATEST'] },
      ])
      expect(view.status.code).toBe('not-contained')
      // Each said where it is, as they read alike.
      expect(view.status.detail).toContain(
        `fa: not contained — function URL open to anyone (AuthType NONE) (on live); resource-policy statement FunctionURLAllowPublicAccess open to everyone or another account (on live); Function URL auth set to AWS_IAM was denied part way, after it closed function URL ${latest}; Remove public resource-policy statements was denied part way, after it closed statement FunctionURLAllowPublicAccess (on $LATEST).`,
      )
    })

    it('counts a role’s session revocation as one measure, whichever command put it or lifted it', async () => {
      const params = { function: 'fa', functionArn: FA, role: 'fa-role' }
      const contained = [
        ...done('containment.throttle', FA),
        ...done('containment.sessions', FA_ROLE, { params }),
        // `fir creds revoke-sessions --role fa-role` finds it there.
        change('credentials.revoke-sessions', FA_ROLE, 'started', { params: { role: 'fa-role' } }),
        change('credentials.revoke-sessions', FA_ROLE, 'already-applied', { params: { role: 'fa-role' } }),
      ]
      const before = viewJournal(await journalOf(contained), { functions: [publicFn(FA)] })
      // Before: listed twice (2 keys), the second "nothing to change (already in place)".
      expect(before.status.inForce).toEqual([
        'Throttle: reserved concurrency 0: fa',
        'Revoke role sessions issued before now (TokenIssueTime deny): fa-role',
      ])
      expect(before.status.detail).toBe(`2 measures in force, none failed.${faHeld}`)
      const restored = viewJournal(
        await journalOf([
          ...contained,
          change('containment.throttle', FA, 'undone'),
          // `fir restore --actions sessions` undoes it under the containment step's id.
          change('containment.sessions', FA_ROLE, 'undone'),
        ]),
        { functions: [publicFn(FA)] },
      )
      // Before: "Partially contained", the revocation still in force under the other step's id.
      expect(restored.status.code).toBe('restored')
      expect(restored.status.inForce).toEqual([])
      expect(restored.inForce.size).toBe(0)
    })

    it('counts the access keys the case cut off among the measures in force, and names the secrets it rotated and the credential changes that failed', async () => {
      const USER = 'arn:aws:iam::123456789012:user/ci'
      const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf'
      const rotated = {
        userName: 'ci',
        userArn: USER,
        oldKeyId: 'AKIAOLD',
        keys: [
          { id: 'AKIAOLD', status: 'Inactive' },
          { id: 'AKIANEW', status: 'Active' },
        ],
        firKeyIds: ['AKIANEW'],
      }
      const contained = [
        ...done('containment.throttle', FA),
        ...done('credentials.revoke-sessions', FA_ROLE, { params: { role: 'fa-role' } }),
        ...done('credentials.rotate-key', `${USER}#AKIAOLD`, { after: rotated }),
        ...done('credentials.rotate-secret', SECRET),
        change('credentials.rotate-key', `${USER}#AKIAOTHER`, 'denied', {
          error: { code: 'access-denied', message: 'AccessDenied (iam:CreateAccessKey)' },
        }),
      ]
      const view = viewJournal(await journalOf(contained), { functions: [publicFn(FA)] })
      // Before: "2 measures in force, none failed.": the key fir deactivated was neither counted
      // nor listed, the secret rotated not named, and the denied rotation called none failed.
      expect(view.status.code).toBe('contained')
      expect(view.status.inForce).toEqual([
        'Throttle: reserved concurrency 0: fa',
        'Revoke role sessions issued before now (TokenIssueTime deny): fa-role',
        'Rotate access key: AKIAOLD of user ci — deactivated, and a new key made by this case',
      ])
      expect(view.status.detail).toBe(
        `3 measures in force; secret prod/db (us-east-1, account 123456789012) rotated in this case (a rotation cannot be undone); 1 credential change failed, was denied or is in conflict (see Gaps).${faHeld}`,
      )
      // Containment restored (restore leaves keys alone unless asked): restored, and the key
      // stays cut off, as the list says.
      const restored = viewJournal(
        await journalOf([
          ...contained,
          change('containment.throttle', FA, 'undone'),
          change('credentials.revoke-sessions', FA_ROLE, 'undone'),
        ]),
        { functions: [publicFn(FA)] },
      )
      expect(restored.status.code).toBe('restored')
      expect(restored.status.inForce).toEqual([
        'Rotate access key: AKIAOLD of user ci — deactivated, and a new key made by this case',
      ])
      expect(restored.status.detail).toBe(
        'Every containment measure was undone (2); the function runs as it did before containment. 1 credential measure in force; secret prod/db (us-east-1, account 123456789012) rotated in this case (a rotation cannot be undone); 1 credential change failed, was denied or is in conflict (see Gaps). fa: not contained — function URL open to anyone (AuthType NONE); resource-policy statement FunctionURLAllowPublicAccess open to everyone or another account.',
      )
      // The key reactivated by a restore named for it: no longer in force.
      const reactivated = viewJournal(
        await journalOf([
          ...done('containment.throttle', FA),
          ...done('credentials.rotate-key', `${USER}#AKIAOLD`, { after: rotated }),
          change('credentials.rotate-key', `${USER}#AKIAOLD`, 'undone', {
            after: { ...rotated, keys: [{ id: 'AKIAOLD', status: 'Active' }] },
          }),
        ]),
        { functions: [publicFn(FA)] },
      )
      expect(reactivated.status.inForce).toEqual(['Throttle: reserved concurrency 0: fa'])
      expect(reactivated.status.detail).toBe(`1 measure in force, none failed.${faHeld}`)
    })

    it('a revocation a killed contain made, which revoke-sessions then found, is one fir changed', async () => {
      // `fir contain --actions sessions` killed after its change, then `fir creds revoke-sessions
      // --role fa-role` finds the policy there: one change (SAME_CHANGE), made by fir.
      const view = viewJournal(
        await journalOf([
          ...done('containment.throttle', FA),
          change('containment.sessions', FA_ROLE, 'started', {
            params: { function: 'fa', functionArn: FA, role: 'fa-role' },
            prior: { policy: null },
          }),
          change('credentials.revoke-sessions', FA_ROLE, 'already-applied', {
            params: { role: 'fa-role' },
            prior: { policy: 'deny' },
            after: { policy: 'deny' },
          }),
        ]),
        { functions: [publicFn(FA)] },
      )
      // Before: the cut-off `started` stayed a row of its own, and the revocation read "nothing to
      // change (already in place)", "(1 needed no change)".
      expect(view.actions.map((a) => [a.action, a.outcome, a.before, a.after])).toEqual([
        ['containment.throttle', 'applied', '—', '—'],
        ['credentials.revoke-sessions', 'already-applied', 'policy=—', 'policy=deny'],
      ])
      expect(view.status.inForce).toEqual([
        'Throttle: reserved concurrency 0: fa',
        'Revoke role sessions issued before now (TokenIssueTime deny): fa-role',
      ])
      expect(view.status.detail).toBe(`2 measures in force, none failed.${faHeld}`)
    })

    it('takes out of force a measure a call in the timeline undid after fir applied it, and names the call', async () => {
      // Before: "Contained. 3 measures in force, none failed" while the timeline showed the throttle
      // lifted and the revocation deleted after containment.
      const at = (minute: number) => ({ at: `2026-11-30T10:${String(minute).padStart(2, '0')}:00.500Z` })
      const params = { function: 'fa', functionArn: FA, role: 'fa-role' }
      const entries = await journalOf([
        ...done('containment.throttle', FA, at(0)),
        ...done('containment.url', FA, at(0)),
        ...done('containment.sessions', FA_ROLE, { params, ...at(0) }),
      ])
      const call = (measure: string, name: string, minute: number, extra: Partial<TimelineUndo> = {}) => ({
        measure,
        name,
        region: measure === 'containment.sessions' ? '' : 'us-east-1',
        account: '123456789012',
        eventName: 'X',
        eventId: `e-${minute}`,
        time: `2026-11-30T10:${String(minute).padStart(2, '0')}:00.000Z`,
        actor: 'arn:aws:sts::123456789012:assumed-role/fa-role/fa',
        ...extra,
      })
      const functions = [{ ...publicFn(FA), items: [url] }]
      expect(viewJournal(entries, { functions }).status.code).toBe('contained')
      // Before containment, on another function, in another region or account: nothing undone.
      const unrelated = viewJournal(entries, {
        functions,
        undoneBy: [
          call('containment.throttle', 'fa', 0, { time: '2026-11-30T09:59:59.000Z' }),
          call('containment.throttle', 'fb', 5),
          call('containment.url', 'fa', 5, { region: 'eu-west-1' }),
          call('containment.url', 'fa', 5, { account: '444455556666' }),
          call('containment.sessions', 'fb-role', 5),
        ],
      })
      expect(unrelated.status.code).toBe('contained')
      expect(unrelated.inForce.size).toBe(3)

      const undone = viewJournal(entries, {
        functions,
        undoneBy: [
          call('containment.throttle', 'fa', 5, { eventName: 'DeleteFunctionConcurrency20171031' }),
          call('containment.sessions', 'fa-role', 6, { eventName: 'DeleteRolePolicy' }),
        ],
      })
      expect(undone.status.code).toBe('not-contained')
      expect(undone.status.inForce).toEqual(['Function URL auth set to AWS_IAM: fa'])
      expect(undone.status.detail).toBe(
        'No function is known to be contained: 1 measure in force; 2 undone after fir applied them, by calls in the timeline (not fir’s). fa: not known to be contained — Throttle: reserved concurrency 0, applied 2026-11-30 10:00:00 UTC, undone by DeleteFunctionConcurrency20171031 at 2026-11-30 10:05:00 UTC (arn:aws:sts::123456789012:assumed-role/fa-role/fa); Revoke role sessions issued before now (TokenIssueTime deny) on role fa-role, applied 2026-11-30 10:00:00 UTC, undone by DeleteRolePolicy at 2026-11-30 10:06:00 UTC (arn:aws:sts::123456789012:assumed-role/fa-role/fa).',
      )
      expect(undone.functions[0]!.undone.map((u) => u.measure)).toEqual([
        'containment.throttle',
        'containment.sessions',
      ])
      // The URL opened again: its way in is open, named by the call.
      const reopened = viewJournal(entries, {
        functions,
        undoneBy: [call('containment.url', 'fa', 0, { eventName: 'UpdateFunctionUrlConfig' })],
      })
      expect(reopened.functions[0]!.open).toEqual([url])
      expect(reopened.status.detail).toContain(
        'fa: not known to be contained — Function URL auth set to AWS_IAM, applied 2026-11-30 10:00:00 UTC, undone by UpdateFunctionUrlConfig at 2026-11-30 10:00:00 UTC',
      )

      // Applied again after the call: in force again.
      const again = viewJournal(
        await journalOf([
          ...done('containment.throttle', FA, at(0)),
          ...done('containment.url', FA, at(0)),
          ...done('containment.throttle', FA, at(10)),
        ]),
        { functions, undoneBy: [call('containment.throttle', 'fa', 5)] },
      )
      expect(again.status.code).toBe('contained')
      expect(again.undoneSince.size).toBe(0)

      // Lifted by hand, then set to 0 again by hand (PutFunctionConcurrency 0): the throttle is in
      // force as fir left it, and the list says when it was not.
      const lifted = call('containment.throttle', 'fa', 5, { eventName: 'DeleteFunctionConcurrency20171031' })
      const putBack = call('containment.throttle', 'fa', 7, {
        eventName: 'PutFunctionConcurrency20171031',
        actor: 'arn:aws:sts::123456789012:assumed-role/ir/bob',
      })
      const reapplied = viewJournal(entries, { functions, undoneBy: [lifted], reappliedBy: [putBack] })
      // Before: "not known to be contained — Throttle: reserved concurrency 0, applied …, undone by
      // DeleteFunctionConcurrency20171031 at 2026-11-30 10:05:00 UTC".
      expect(reapplied.status.code).toBe('contained')
      expect(reapplied.undoneSince.size).toBe(0)
      expect(reapplied.functions[0]?.undone).toEqual([])
      expect(reapplied.status.inForce[0]).toBe(
        'Throttle: reserved concurrency 0: fa — undone by DeleteFunctionConcurrency20171031 at 2026-11-30 10:05:00 UTC (arn:aws:sts::123456789012:assumed-role/fa-role/fa), then put back by PutFunctionConcurrency20171031 at 2026-11-30 10:07:00 UTC (arn:aws:sts::123456789012:assumed-role/ir/bob), not by fir',
      )
      // Put back before the last call that undid it, or in the same second (CloudTrail's dates do
      // not tell which came first), or on another function: undone.
      for (const back of [
        { ...putBack, time: '2026-11-30T10:04:00.000Z' },
        { ...putBack, time: lifted.time },
        { ...putBack, name: 'fb' },
      ]) {
        const still = viewJournal(entries, { functions, undoneBy: [lifted], reappliedBy: [back] })
        expect(still.status.code).toBe('not-contained')
        expect([...still.undoneSince.keys()]).toEqual([`containment.throttle|${FA}`])
      }
    })
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

    it('says resume continues only the latest run; an older unfinished one is left to run again', async () => {
      // `fir playbook resume` continues the case's latest run only (findUnfinishedRun).
      const r2 = (outcome: NewEntry['outcome'], params: Record<string, unknown> = {}) =>
        change('playbook.run', 'exposure', outcome, { params: { runId: 'r-2', ...params } })
      const failedFirst = [
        run('started', { steps }),
        step('seal', 'applied'),
        run('failed', { failedStep: 'close' }, { error: { code: 'NotFound', message: 'no function' } }),
        r2('started', { steps }),
      ]
      const older =
        'exposure (run r-1): stopped at step close (failed: NotFound: no function); done: seal applied — left unfinished: run r-2 started after it, and fir playbook resume continues only the latest run (run this playbook again if its work is still needed)'
      // Before: both lines ended "— fir playbook resume continues it".
      expect(viewJournal(await journalOf(failedFirst)).playbooks).toEqual([
        older,
        'exposure (run r-2): started, not finished; no step finished — fir playbook resume continues it',
      ])
      // The later run finished: resume continues neither.
      const later = viewJournal(
        await journalOf([...failedFirst, r2('applied', { outcomes: { seal: 'applied' } })]),
      )
      expect(later.playbooks).toEqual([older, 'exposure (run r-2, applied): seal applied'])
    })

    it('after a failure a resume cannot get past (bad input), or in a drill, says to run again, as the run said', async () => {
      const failed = (code: string) => [
        run('started', { steps }),
        run('failed', { failedStep: 'seal' }, { error: { code, message: 'no such function ghost' } }),
      ]
      // Before: "— fir playbook resume continues it", and the resume failed again on the same input.
      expect(viewJournal(await journalOf(failed('not-found'))).playbooks).toEqual([
        'exposure (run r-1): stopped at step seal (failed: not-found: no such function ghost); no step finished — a resume keeps the inputs, region and account it started with: after fixing the cause, run the playbook again',
      ])
      expect(viewJournal(await journalOf(failed('access-denied'))).playbooks[0]).toMatch(
        / — fir playbook resume continues it$/,
      )
      const drill = change('tabletop.start', 'public-url-backdoor', 'recorded', {
        params: { scenario: 'public-url-backdoor' },
      })
      expect(viewJournal(await journalOf([drill, ...failed('access-denied')])).playbooks[0]).toMatch(
        / — run the drill again: fir tabletop run public-url-backdoor$/,
      )
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
