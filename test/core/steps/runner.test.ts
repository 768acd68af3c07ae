import { describe, expect, it } from 'vitest'
import { pendingInterruptCleanups } from '../../../src/core/common/interrupt.js'
import { viewJournal } from '../../../src/core/report/journal-view.js'
import { defineStep } from '../../../src/core/steps/define-step.js'
import { runSteps, runUndos } from '../../../src/core/steps/runner.js'
import { pendingUndos } from '../../../src/core/steps/undo-records.js'
import { AccessDeniedError, RefusedError } from '../../../src/errors.js'
import { useMoto } from '../../support/emulator.js'
import { testContext } from '../containment/state.js'

const moto = useMoto()

/**
 * A step over an in-memory dial (the "AWS" state), counting mutating calls; reading a dial whose
 * label is in `denied` is refused as AWS refuses a read the caller may not make.
 */
function dialStep(
  world: { value: number; writes: number; denied?: string[]; during?: () => void },
  id = 'test.dial',
) {
  return defineStep<{ label: string; to: number }, { value: number }>({
    id,
    title: 'Turn the dial',
    iamActions: [],
    undoIamActions: [],
    undoPolicy: 'default',
    async read(_ctx, p) {
      if (world.denied?.includes(p.label))
        throw new AccessDeniedError(`unable to read dial ${p.label}: AccessDeniedException`, ['dial:Read'])
      return { target: `dial:${p.label}`, label: p.label, state: { value: world.value } }
    },
    intend: (_ctx, p) => ({ value: p.to }),
    isApplied: (_ctx, p, s) => s.value === p.to,
    async change(_ctx, p) {
      world.during?.()
      world.value = p.to
      world.writes++
      return { value: world.value }
    },
    describe: (s) => `dial ${s.value}`,
    compareForUndo(current, record) {
      if (current.value === record.prior.value) return { result: current, changes: 0, conflicts: [] }
      if (current.value === record.after.value) return { result: record.prior, changes: 1, conflicts: [] }
      return { result: current, changes: 0, conflicts: [`dial is ${current.value}`] }
    },
    async revert(_ctx, record) {
      world.during?.()
      world.value = record.prior.value
      world.writes++
      return record.prior
    },
  })
}

describe('step runner', () => {
  it('journals started (prior, intended after) before the change, then applied; a re-run is already-applied', async () => {
    const world = { value: 3, writes: 0 }
    const step = dialStep(world)
    const ctx = await testContext(moto.endpoint())
    const r = await runSteps(ctx, [{ step, params: { label: 'a', to: 0 } }], { what: 'test' })
    expect(r.results[0]).toMatchObject({ outcome: 'applied', before: { value: 3 }, after: { value: 0 } })
    const entries = ctx.case.journal.all().filter((e) => e.action === 'test.dial')
    expect(entries.map((e) => e.outcome)).toEqual(['started', 'applied'])
    expect(entries[0]).toMatchObject({
      prior: { value: 3 },
      undo: { intendedAfter: { value: 0 } },
      target: 'dial:a',
    })
    expect(ctx.case.journal.all().some((e) => e.action === 'aws.identity')).toBe(true)
    const again = await runSteps(ctx, [{ step, params: { label: 'a', to: 0 } }], { what: 'test' })
    expect(again.results[0]!.outcome).toBe('already-applied')
    expect(world.writes).toBe(1)
    await ctx.case.close()
  })

  it('while a change or its undo is under way, an interruption says it was cut off and what settles it', async () => {
    // Before: Ctrl-C mid-change said only "released the case lock": nothing of the change AWS may
    // have made, whose outcome the journal does not hold.
    const seen: string[][] = []
    const world = { value: 3, writes: 0, during: () => seen.push(pendingInterruptCleanups()) }
    const step = dialStep(world)
    const ctx = await testContext(moto.endpoint())
    const r = await runSteps(ctx, [{ step, params: { label: 'a', to: 0 } }], { what: 'test' })
    await runUndos(ctx, [{ step, record: r.results[0]!.undo! }], { what: 'test' })
    const settles =
      'no outcome is journaled and it may have been made (fir case show lists it; the same command run again finishes it)'
    expect(seen.map((s) => s[0])).toEqual([
      `test.dial on a was cut off mid-change: ${settles}`,
      `the undo of test.dial on a was cut off mid-change: ${settles}`,
    ])
    expect(pendingInterruptCleanups().some((w) => w.includes('cut off'))).toBe(false)
    await ctx.case.close()
  })

  it('an undo whose journaled state this fir cannot read fails alone, naming its entry; the other undos go on', async () => {
    // Before: TypeError in compareForUndo, "a bug in fir" (exit 1), and no undo ran at all.
    const world = { value: 3, writes: 0 }
    const other = { value: 7, writes: 0 }
    const step = dialStep(world)
    const otherStep = dialStep(other, 'test.other')
    const ctx = await testContext(moto.endpoint())
    const r = await runSteps(
      ctx,
      [
        { step, params: { label: 'a', to: 0 } },
        { step: otherStep, params: { label: 'b', to: 0 } },
      ],
      { what: 'test' },
    )
    const odd = {
      ...r.results[0]!.undo!,
      prior: { reservedConcurrency: 5 } as never,
      after: undefined as never,
    }
    const u = await runUndos(
      ctx,
      [
        { step, record: odd },
        { step: otherStep, record: r.results[1]!.undo! },
      ],
      { what: 'test' },
    )
    expect(u.results.map((x) => x.outcome)).toEqual(['failed', 'undone'])
    expect(u.results[0]!.error).toMatchObject({
      code: 'integrity',
      message: expect.stringMatching(
        new RegExp(
          `^unable to undo test\\.dial on dial:a: journal entry #${odd.startedSeq} holds a state this fir cannot read \\(`,
        ),
      ),
    })
    expect(other.value).toBe(7)
    expect(world.value).toBe(0)
    await ctx.case.close()
  })

  it('dry run plans only: no journal entry, no change', async () => {
    const world = { value: 3, writes: 0 }
    const ctx = await testContext(moto.endpoint(), { yes: false })
    const before = ctx.case.journal.all().length
    const r = await runSteps(ctx, [{ step: dialStep(world), params: { label: 'a', to: 0 } }], {
      what: 'test',
      dryRun: true,
    })
    expect(r.results[0]).toMatchObject({ outcome: 'would-apply', beforeText: 'dial 3', afterText: 'dial 0' })
    expect(world).toEqual({ value: 3, writes: 0 })
    expect(ctx.case.journal.all().length).toBe(before)
    await ctx.case.close()
  })

  it('refuses without --yes on a non-terminal (exit 5), asks on a terminal, and a "no" refuses too', async () => {
    const world = { value: 3, writes: 0 }
    const calls = [{ step: dialStep(world), params: { label: 'a', to: 0 } }]
    const shown: string[] = []
    const ctx = await testContext(moto.endpoint(), { yes: false, interactive: false })
    const err = await runSteps(ctx, calls, {
      what: 'contain a',
      onPlan: (rows) => shown.push(rows[0]!.outcome),
    }).catch((e) => e)
    expect(err).toBeInstanceOf(RefusedError)
    expect(err.exitCode).toBe(5)
    expect(shown).toEqual(['would-apply'])
    const tty = await testContext(moto.endpoint(), { yes: false, interactive: true, answer: false })
    await expect(runSteps(tty, calls, { what: 'contain a' })).rejects.toBeInstanceOf(RefusedError)
    expect(tty.questions).toEqual(['fir: contain a: make 1 change listed above?'])
    expect(world.writes).toBe(0)
    const yes = await testContext(moto.endpoint(), { yes: false, interactive: true, answer: true })
    await runSteps(yes, calls, { what: 'contain a' })
    expect(world).toEqual({ value: 0, writes: 1 })
    // nothing pending: no question at all
    const none = await testContext(moto.endpoint(), { yes: false, interactive: false })
    expect((await runSteps(none, calls, { what: 'contain a' })).results[0]!.outcome).toBe('already-applied')
    for (const c of [ctx, tty, yes, none]) await c.case.close()
  })

  it('journals a plan AWS denied as the step’s denied outcome, in its place, with no started entry', async () => {
    // Before: the denied plan was a row and a gap only; the journal had no entry for the step, so
    // `case show` listed none and the report said "Contained … none failed".
    const world = { value: 3, writes: 0, denied: ['a'] }
    const ctx = await testContext(moto.endpoint())
    const r = await runSteps(
      ctx,
      [
        { step: dialStep(world), params: { label: 'a', to: 0 } },
        { step: dialStep(world, 'test.other'), params: { label: 'b', to: 0 } },
      ],
      { what: 'test' },
    )
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([
      ['test.dial', 'denied'],
      ['test.other', 'applied'],
    ])
    expect(ctx.gaps.list).toEqual([expect.objectContaining({ call: 'dial:Read' })])
    const steps = ctx.case.journal.all().filter((e) => e.action.startsWith('test.'))
    expect(steps.map((e) => [e.action, e.outcome])).toEqual([
      ['test.dial', 'denied'],
      ['test.other', 'started'],
      ['test.other', 'applied'],
    ])
    expect(steps[0]).toMatchObject({
      target: 'a',
      params: { label: 'a', to: 0 },
      error: { code: 'access-denied', message: 'unable to read dial a: AccessDeniedException' },
    })
    // The caller is journaled before it, as before any change.
    const seqOf = (action: string) => ctx.case.journal.all().findIndex((e) => e.action === action)
    expect(seqOf('aws.identity')).toBeLessThan(seqOf('test.dial'))
    // Nothing was changed: nothing to undo.
    expect(pendingUndos(ctx.case.journal.all()).map((u) => u.step)).toEqual(['test.other'])
    // A dry run journals nothing, a failed plan included.
    const count = ctx.case.journal.all().length
    await runSteps(ctx, [{ step: dialStep(world), params: { label: 'a', to: 0 } }], {
      what: 'test',
      dryRun: true,
    })
    expect(ctx.case.journal.all().length).toBe(count)
    await ctx.case.close()
  })

  it('journals an undo whose plan AWS denied as a denied undo of that change, which stays in force', async () => {
    const world = { value: 3, writes: 0, denied: [] as string[] }
    const step = dialStep(world, 'containment.throttle')
    const ctx = await testContext(moto.endpoint())
    await runSteps(ctx, [{ step, params: { label: 'a', to: 0 } }], { what: 'test' })
    const record = pendingUndos(ctx.case.journal.all())[0]!
    world.denied.push('a')
    const back = await runUndos(ctx, [{ step, record }], { what: 'restore' })
    expect(back.results[0]).toMatchObject({ outcome: 'denied', target: 'dial:a' })
    const last = ctx.case.journal.all().at(-1)!
    // Before: nothing was journaled for it.
    expect(last).toMatchObject({
      action: 'containment.throttle',
      target: 'dial:a',
      outcome: 'denied',
      params: { label: 'a', to: 0, undoOf: record.startedSeq },
      error: { code: 'access-denied' },
    })
    expect(world.value).toBe(0)
    expect(pendingUndos(ctx.case.journal.all()).map((u) => u.startedSeq)).toEqual([record.startedSeq])
    // The report keeps the measure in force and lists the denied restore under Gaps.
    const view = viewJournal(ctx.case.journal.all())
    expect(view.inForce.has('containment.throttle|dial:a')).toBe(true)
    expect(view.status.detail).toContain('a restore of one failed, so it stays: see Gaps')
    expect(view.gaps).toEqual([expect.objectContaining({ call: 'dial:Read' })])
    await ctx.case.close()
  })

  it('after a crash between change and outcome, undo trusts the earliest started entry', async () => {
    const world = { value: 3, writes: 0 }
    const step = dialStep(world)
    const ctx = await testContext(moto.endpoint())
    // run 1: started, the change happened, then the process died before `applied`
    await ctx.case.journal.append({
      action: step.id,
      target: 'dial:a',
      params: { label: 'a', to: 0 },
      outcome: 'started',
      prior: { value: 3 },
      undo: { intendedAfter: { value: 0 } },
    })
    world.value = 0
    // run 2 sees fir's own half-made state
    const r = await runSteps(ctx, [{ step, params: { label: 'a', to: 0 } }], { what: 'test' })
    expect(r.results[0]!.outcome).toBe('already-applied')
    const records = pendingUndos(ctx.case.journal.all())
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ prior: { value: 3 }, after: { value: 0 } })
    const u = await runUndos(ctx, [{ step, record: records[0]! }], { what: 'restore' })
    expect(u.results[0]!.outcome).toBe('undone')
    expect(world.value).toBe(3)
    expect(pendingUndos(ctx.case.journal.all())).toEqual([])
    await ctx.case.close()
  })

  it('a state a killed re-run of fir made is fir’s own: undo puts the prior back, and a later apply does not supersede it', async () => {
    // Before: a renewed revocation killed after its change left a later cutoff than the record's
    // `after`: restore called fir's own policy "changed by someone else" and could not lift it.
    const world = { value: 5, writes: 0 }
    const step = dialStep(world)
    const ctx = await testContext(moto.endpoint())
    await runSteps(ctx, [{ step, params: { label: 'a', to: 0 } }], { what: 'test' })
    // A re-run set out to turn the dial to -1, turned it, and was killed before its outcome.
    await ctx.case.journal.append({
      action: step.id,
      target: 'dial:a',
      params: { label: 'a', to: -1 },
      outcome: 'started',
      prior: { value: 0 },
      undo: { intendedAfter: { value: -1 } },
    })
    world.value = -1
    // A plan now sees fir's own state: no "changed by someone else" note.
    const plan = await runSteps(ctx, [{ step, params: { label: 'a', to: -2 } }], {
      what: 'test',
      dryRun: true,
    })
    expect(plan.plans[0]!.notes).toEqual([])
    const records = pendingUndos(ctx.case.journal.all())
    expect(records.map((r) => r.prior)).toEqual([{ value: 5 }])
    const u = await runUndos(ctx, [{ step, record: records[0]! }], { what: 'restore' })
    expect(u.results[0]!.outcome).toBe('undone')
    expect(world.value).toBe(5)
    await ctx.case.close()
  })

  it('a change someone else changed since is superseded: contained again, undo puts back their value, not the first prior', async () => {
    const world = { value: 5, writes: 0 }
    const step = dialStep(world)
    const ctx = await testContext(moto.endpoint())
    const call = [{ step, params: { label: 'a', to: 0 } }]
    await runSteps(ctx, call, { what: 'test' })
    world.value = 10 // by hand, after fir's change
    const plan = await runSteps(ctx, call, { what: 'test', dryRun: true })
    const r = await runSteps(ctx, call, { what: 'test' })
    expect(r.results[0]).toMatchObject({ outcome: 'applied', before: { value: 10 } })
    const records = pendingUndos(ctx.case.journal.all())
    const u = await runUndos(ctx, [{ step, record: records[0]! }], { what: 'restore' })
    expect(u.results[0]!.outcome).toBe('undone')
    // Before: the record kept the first prior, and undo set 5 over the 10 set by hand.
    expect(world.value).toBe(10)
    expect(records.map((x) => [x.prior, x.after])).toEqual([[{ value: 10 }, { value: 0 }]])
    expect(pendingUndos(ctx.case.journal.all())).toEqual([])
    // The plan and the result say so; the journal says which change it supersedes.
    const started = ctx.case.journal.all().filter((e) => e.action === step.id && e.outcome === 'started')
    const note = `changed by someone else since this case's change (journal #${started[0]!.seq}): dial 0 as fir left it, dial 10 now; restore is to put back dial 10, not dial 5`
    expect(plan.plans[0]!.notes).toEqual([note])
    expect(r.results[0]!.notes).toEqual([note])
    expect(started[1]).toMatchObject({
      prior: { value: 10 },
      undo: { intendedAfter: { value: 0 }, supersedes: started[0]!.seq, prior: { value: 10 } },
    })
    await ctx.case.close()
  })

  it('an undo that fails part way, its state unreadable after, journals the state its revert reported reaching', async () => {
    const world = { value: 0, readable: true }
    const step = defineStep<{ label: string }, { value: number }>({
      id: 'test.dial-steps',
      title: 'Turn the dial in steps',
      iamActions: [],
      undoIamActions: [],
      undoPolicy: 'default',
      read: async (_ctx, p) => {
        if (!world.readable) throw new AccessDeniedError('unable to read the dial: denied', ['test:Read'])
        return { target: `dial:${p.label}`, label: p.label, state: { value: world.value } }
      },
      intend: () => ({ value: 0 }),
      isApplied: () => false,
      change: async () => ({ value: 0 }),
      describe: (s) => `dial ${s.value}`,
      compareForUndo: (current, record) => ({ result: record.prior, changes: 1, conflicts: [] }),
      // Two calls: the first turns the dial to 1, the second is refused and the dial unreadable.
      async revert(_ctx, _record, _current, _cmp, progress) {
        world.value = 1
        progress({ value: 1 })
        world.readable = false
        throw new AccessDeniedError('unable to turn the dial to 2: denied', ['test:Turn'])
      },
    })
    const ctx = await testContext(moto.endpoint())
    const record = {
      step: step.id,
      target: 'dial:a',
      params: { label: 'a' },
      prior: { value: 2 },
      after: { value: 0 },
      startedSeq: 1,
      startedAt: '2026-01-01T00:00:00.000Z',
    }
    const u = await runUndos(ctx, [{ step, record }], { what: 'restore' })
    expect(u.results[0]).toMatchObject({ outcome: 'denied', after: { value: 1 }, afterText: 'dial 1' })
    expect(ctx.case.journal.all().at(-1)).toMatchObject({
      action: step.id,
      outcome: 'denied',
      after: { value: 1 },
    })
    await ctx.case.close()
  })
})

describe('pendingUndos', () => {
  const base = { seq: 0, at: '2026-01-01T00:00:00.000Z', actor: {} as never, prev: '', hash: '', params: {} }
  it('keeps the earliest prior, the latest after, closes on undone and orders newest first', () => {
    const e = (seq: number, over: Record<string, unknown>) => ({ ...base, seq, ...over }) as never
    const list = [
      e(1, { action: 's.a', target: 't1', outcome: 'started', prior: 1, undo: { intendedAfter: 0 } }),
      e(2, { action: 's.a', target: 't1', outcome: 'started', prior: 0.5, undo: { intendedAfter: 0 } }),
      e(3, { action: 's.a', target: 't1', outcome: 'applied', after: -1 }),
      e(4, { action: 's.b', target: 't2', outcome: 'already-applied', prior: 9, after: 9 }),
      e(5, { action: 's.c', target: 't3', outcome: 'started', prior: 'x', undo: { intendedAfter: 'y' } }),
      e(6, { action: 's.c', target: 't3', outcome: 'undone', params: { undoOf: 5 } }),
      e(7, { action: 's.d', target: 't4', outcome: 'started', prior: 'p', undo: { intendedAfter: 'q' } }),
      e(8, { action: 's.d', target: 't4', outcome: 'conflict', params: { undoOf: 7 } }),
    ]
    const r = pendingUndos(list)
    expect(r.map((x) => [x.step, x.prior, x.after, x.startedSeq])).toEqual([
      ['s.d', 'p', 'q', 7],
      ['s.a', 1, -1, 1],
    ])
  })

  it('a started entry that supersedes the open change starts a new one, from its undo.prior, keeping its callers', () => {
    const e = (seq: number, over: Record<string, unknown>) => ({ ...base, seq, ...over }) as never
    const fa = { function: 'fa', role: 'r' }
    const fb = { function: 'fb', role: 'r' }
    const list = [
      e(1, {
        action: 's.a',
        target: 't1',
        params: fa,
        outcome: 'started',
        prior: 5,
        undo: { intendedAfter: 0 },
      }),
      e(2, { action: 's.a', target: 't1', params: fa, outcome: 'applied', after: 0 }),
      // someone set 10; fir changed it again: its undo puts back 10
      e(3, {
        action: 's.a',
        target: 't1',
        params: fb,
        outcome: 'started',
        prior: 10,
        undo: { intendedAfter: 0, supersedes: 1, prior: 10 },
      }),
      e(4, { action: 's.a', target: 't1', params: fb, outcome: 'applied', after: 0 }),
      // undo.prior, not the state read, is what undo puts back (parts fir still held: their prior)
      e(5, { action: 's.b', target: 't2', outcome: 'started', prior: [1, 2], undo: { intendedAfter: [] } }),
      e(6, { action: 's.b', target: 't2', outcome: 'applied', after: [] }),
      e(7, {
        action: 's.b',
        target: 't2',
        outcome: 'started',
        prior: [3],
        undo: { intendedAfter: [], supersedes: 5, prior: [3, 1, 2] },
      }),
    ]
    const r = pendingUndos(list)
    expect(r.map((x) => [x.step, x.prior, x.after, x.startedSeq])).toEqual([
      ['s.b', [3, 1, 2], [], 7],
      ['s.a', 10, 0, 3],
    ])
    expect(r[1]).toMatchObject({ journaledFor: [fa, fa, fb, fb], heldFor: [fa, fb] })
    // the undo of the superseding change closes it; the superseded one is not left behind
    const undone = e(8, { action: 's.a', target: 't1', outcome: 'undone', params: { ...fb, undoOf: 3 } })
    expect(pendingUndos([...list, undone]).map((x) => x.startedSeq)).toEqual([7])
  })
})

describe('pendingUndos of key rotations', () => {
  const base = { at: '2026-01-01T00:00:00.000Z', actor: {} as never, prev: '', hash: '', params: {} }
  const user = 'arn:aws:iam::123456789012:user/u3'
  const e = (seq: number, over: Record<string, unknown>) =>
    ({ ...base, seq, action: 'credentials.rotate-key', ...over }) as never
  const keys = (a: string, b: string) => [
    { id: 'AKIAAAAAAAAAAAAAAAAA', status: a, created: null },
    { id: 'AKIABBBBBBBBBBBBBBBB', status: b, created: null },
  ]
  const state = (oldKeyId: string, a: string, b: string) => ({
    userName: 'u3',
    userArn: user,
    oldKeyId,
    keys: keys(a, b),
    firKeyIds: [],
  })

  it('reads a journal that named the user alone as one change per key, and an undo closes only the change it names', () => {
    // Written before targets named the key: both rotations of u3 have the user's ARN as target.
    const list = [
      e(2, { target: user, outcome: 'started', prior: state('AKIAAAAAAAAAAAAAAAAA', 'Active', 'Active') }),
      e(3, { target: user, outcome: 'applied', after: state('AKIAAAAAAAAAAAAAAAAA', 'Inactive', 'Active') }),
      e(5, { target: user, outcome: 'started', prior: state('AKIABBBBBBBBBBBBBBBB', 'Inactive', 'Active') }),
      e(6, {
        target: user,
        outcome: 'applied',
        after: state('AKIABBBBBBBBBBBBBBBB', 'Inactive', 'Inactive'),
      }),
    ]
    const pending = pendingUndos(list)
    expect(pending.map((r) => [r.startedSeq, (r.prior as { oldKeyId: string }).oldKeyId])).toEqual([
      [5, 'AKIABBBBBBBBBBBBBBBB'],
      [2, 'AKIAAAAAAAAAAAAAAAAA'],
    ])
    // An earlier fir undid the two as one (undoOf 2): the rotation of B is still to undo.
    const undone = e(8, { target: user, outcome: 'undone', params: { user: 'u3', undoOf: 2 } })
    expect(pendingUndos([...list, undone]).map((r) => r.startedSeq)).toEqual([5])
  })

  it('keeps the rotations of two keys of one user apart when the target names the key', () => {
    const list = [
      e(2, { target: `${user}#AKIAAAAAAAAAAAAAAAAA`, outcome: 'started', prior: 1 }),
      e(3, { target: `${user}#AKIAAAAAAAAAAAAAAAAA`, outcome: 'applied', after: 2 }),
      e(5, { target: `${user}#AKIABBBBBBBBBBBBBBBB`, outcome: 'started', prior: 3 }),
      e(6, { target: `${user}#AKIABBBBBBBBBBBBBBBB`, outcome: 'applied', after: 4 }),
      e(8, { target: `${user}#AKIABBBBBBBBBBBBBBBB`, outcome: 'undone', params: { undoOf: 5 } }),
    ]
    expect(pendingUndos(list).map((r) => [r.startedSeq, r.prior, r.after])).toEqual([[2, 1, 2]])
  })
})
