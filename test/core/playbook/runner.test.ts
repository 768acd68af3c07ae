import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AwsClients } from '../../../src/aws/clients.js'
import { describeSecret } from '../../../src/aws/secrets.js'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { Clock } from '../../../src/core/common/clock.js'
import { redactor, redactValue } from '../../../src/core/common/redact.js'
import { type FirContext, Gaps } from '../../../src/core/context.js'
import type { ActionSpec } from '../../../src/core/playbook/action-specs.js'
import { builtinActions } from '../../../src/core/playbook/actions/index.js'
import { loadPlaybookText, PLAYBOOK_DIR } from '../../../src/core/playbook/load.js'
import {
  type ActionImpl,
  type ActionRegistry,
  parseInputFlags,
  planPlaybook,
  resumePlaybook,
  runPlaybook,
} from '../../../src/core/playbook/runner.js'
import {
  AccessDeniedError,
  FirError,
  NotFoundError,
  PlaybookError,
  RefusedError,
  UsageError,
} from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'
import { useMoto } from '../../support/emulator.js'

const moto = useMoto()

/** A fake world the fake actions change: proves "never repeats a change". */
function fakeRegistry(world: {
  made: string[]
  calls: string[]
  hang?: string
  fail?: string
  /** What the failing make throws (default: a UsageError, bad input). */
  error?: Error
}): {
  registry: ActionRegistry
  specs: ActionSpec[]
} {
  const specs: ActionSpec[] = [
    {
      id: 'fake.look',
      title: 'Look',
      mutates: false,
      description: 'reads',
      params: { target: { schema: z.string(), required: true, description: 't' } },
      outputs: { role: 'role', keys: 'keys', nothing: 'n' },
    },
    {
      id: 'fake.make',
      title: 'Make',
      mutates: true,
      description: 'changes',
      params: {
        thing: { schema: z.string(), required: true, description: 't' },
        list: { schema: z.array(z.string()), description: 'l' },
        since: { schema: z.string().regex(/^\d+d$/, 'must be a duration such as 7d'), description: 's' },
      },
      outputs: { made: 'made' },
    },
    {
      id: 'case.note',
      title: 'Note',
      mutates: false,
      description: 'note',
      params: { text: { schema: z.string(), required: true, description: 't' } },
      outputs: {},
    },
  ]
  const look: ActionImpl = async (_run, p) => {
    world.calls.push(`look:${p.target}`)
    return {
      outcome: 'applied',
      outputs: { role: `${p.target}-role`, keys: ['AKIA1', 'AKIA2'], nothing: '' },
      summary: 'looked',
    }
  }
  const make: ActionImpl = async (run, p) => {
    world.calls.push(`make:${p.thing}`)
    if (world.fail === p.thing) throw world.error ?? new UsageError(`unable to make ${p.thing}: it is broken`)
    if (world.hang === p.thing) {
      world.made.push(String(p.thing)) // the change lands, then the process "dies"
      return new Promise(() => {})
    }
    if (world.made.includes(String(p.thing)))
      return {
        outcome: 'already-applied',
        outputs: { made: p.thing },
        summary: `${p.thing} was already made${run.interrupted ? ' (interrupted run)' : ''}`,
      }
    world.made.push(String(p.thing))
    return { outcome: 'applied', outputs: { made: p.thing }, summary: `made ${p.thing}` }
  }
  const note: ActionImpl = async (_run, p) => {
    world.calls.push(`note:${p.text}`)
    return { outcome: 'applied', outputs: {}, summary: 'noted' }
  }
  const registry = new Map([
    ['fake.look', { spec: specs[0]!, run: look }],
    ['fake.make', { spec: specs[1]!, run: make }],
    ['case.note', { spec: specs[2]!, run: note }],
  ])
  return { registry, specs }
}

const PLAYBOOK = `name: fake
description: a fake playbook
inputs:
  target: { required: true }
  extra: { type: list, default: "a,b" }
steps:
  - id: look
    action: fake.look
    with: { target: "{{ inputs.target }}" }
  - id: first
    action: fake.make
    with: { thing: "{{ steps.look.outputs.role }}", list: "{{ steps.look.outputs.keys }}" }
    confirm: true
  - id: never
    action: fake.make
    with: { thing: never }
    if: "{{ steps.look.outputs.nothing }}"
  - id: second
    action: fake.make
    with: { thing: "second-{{ inputs.extra }}" }
  - id: done
    action: case.note
    with: { text: "made {{ steps.first.outputs.made }}" }
`

async function makeCtx(
  dir: string,
  options: {
    yes?: boolean
    interactive?: boolean
    answer?: boolean
    answers?: boolean[]
    region?: string
  } = {},
) {
  const handle = await CaseHandle.open(dir)
  const aws = await AwsClients.create({
    endpoint: moto.endpoint(),
    region: options.region ?? 'us-east-1',
    emulatorOnly: true,
  })
  const questions: string[] = []
  const warnings: string[] = []
  const ctx: FirContext = {
    aws,
    clock: new Clock(),
    case: handle,
    log: {
      info() {},
      warn(m: string) {
        warnings.push(m)
      },
      progress() {},
    },
    gaps: new Gaps(),
    firVersion: 'test',
    interactive: options.interactive ?? false,
    yes: options.yes ?? false,
    dryRun: false,
    confirm: async (q) => {
      questions.push(q)
      return options.answers ? (options.answers.shift() ?? false) : (options.answer ?? false)
    },
  }
  return { ctx, handle, questions, warnings }
}

async function newCase() {
  const cwd = await tempDir()
  const h = await CaseHandle.init('RUN-1', { firVersion: 'test', cwd })
  await h.close()
  return join(cwd, 'cases', 'RUN-1')
}

describe('playbook runner', () => {
  it('templates values from inputs and earlier outputs, honours if, and journals every step', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[] }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(PLAYBOOK, 'fake.yaml', specs)
    const { ctx, handle } = await makeCtx(dir, { yes: true })
    const result = await runPlaybook(ctx, loaded, { target: 'payments' }, { registry })
    await handle.close()
    expect(world.made).toEqual(['payments-role', 'second-a,b'])
    expect(result.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['look', 'applied'],
      ['first', 'applied'],
      ['never', 'skipped'],
      ['second', 'applied'],
      ['done', 'applied'],
    ])
    const entries = handle.journal.all().filter((e) => e.action.startsWith('playbook.'))
    expect(entries.map((e) => `${e.action}:${e.params.step ?? ''}:${e.outcome}`)).toEqual([
      'playbook.run::started',
      'playbook.step:look:started',
      'playbook.step:look:applied',
      'playbook.confirm:first:recorded',
      'playbook.step:first:started',
      'playbook.step:first:applied',
      'playbook.step:never:skipped',
      'playbook.step:second:started',
      'playbook.step:second:applied',
      'playbook.step:done:started',
      'playbook.step:done:applied',
      'playbook.run::applied',
    ])
    // --yes answered the question the first change would have asked: journaled, not asked
    expect(entries.find((e) => e.action === 'playbook.confirm')?.params).toMatchObject({
      step: 'first',
      question: 'Run step first (Make): fake.make thing=payments-role list=AKIA1,AKIA2?',
      answer: 'yes',
      by: '--yes',
    })
    const firstApplied = entries.find((e) => e.params.step === 'first' && e.outcome === 'applied')!
    expect(firstApplied.params.with).toEqual({ thing: 'payments-role', list: ['AKIA1', 'AKIA2'] })
    expect(firstApplied.after).toEqual({ outputs: { made: 'payments-role' }, summary: 'made payments-role' })
    expect(entries[0]!.params.inputs).toEqual({ target: 'payments', extra: ['a', 'b'] })
    expect(String(entries[0]!.params.source)).toBe(PLAYBOOK)
    // identity announced before the first change
    expect(handle.journal.all().findIndex((e) => e.action === 'aws.identity')).toBeLessThan(
      handle.journal.all().findIndex((e) => e.action === 'playbook.step'),
    )
  })

  it('resumes a run only in the region it acted in: another --region is refused, nothing changes', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[] }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(PLAYBOOK, 'fake.yaml', specs)
    let { ctx, handle } = await makeCtx(dir)
    expect(await runPlaybook(ctx, loaded, { target: 'p' }, { registry }).catch((e) => e)).toBeInstanceOf(
      RefusedError,
    )
    await handle.close()
    ;({ ctx, handle } = await makeCtx(dir, { yes: true, region: 'us-west-2' }))
    const err = await resumePlaybook(ctx, {}, { registry }).catch((e) => e)
    await handle.close()
    expect(err).toBeInstanceOf(UsageError)
    expect((err as FirError).message).toMatch(
      /^unable to resume run \S+: it acted in account \d{12}, region us-east-1; this resume would act in region us-west-2, not us-east-1$/,
    )
    expect((err as FirError).actions[0]).toContain('--region us-east-1')
    expect(world.made).toEqual([])
    ;({ ctx, handle } = await makeCtx(dir, { yes: true }))
    const result = await resumePlaybook(ctx, {}, { registry })
    await handle.close()
    expect(world.made).toEqual(['p-role', 'second-a,b'])
    expect(result.resumed).toBe(true)
  })

  it('stops at confirm without --yes on a non-terminal (exit 5), then resume --yes continues', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[] }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(PLAYBOOK, 'fake.yaml', specs)
    let { ctx, handle } = await makeCtx(dir)
    const err = await runPlaybook(ctx, loaded, { target: 'p' }, { registry }).catch((e) => e)
    await handle.close()
    expect(err).toBeInstanceOf(RefusedError)
    expect((err as FirError).exitCode).toBe(5)
    expect((err as FirError).actions.join(' ')).toContain('fir playbook resume')
    expect(world.made).toEqual([])
    ;({ ctx, handle } = await makeCtx(dir, { yes: true }))
    const result = await resumePlaybook(ctx, {}, { registry })
    await handle.close()
    expect(result.resumed).toBe(true)
    expect(world.calls.filter((c) => c.startsWith('look'))).toHaveLength(1) // not repeated
    expect(world.made).toEqual(['p-role', 'second-a,b'])
    expect(result.steps[0]).toMatchObject({ id: 'look', fromEarlierAttempt: true })
  })

  it('asks on a terminal and stops when the responder says no', async () => {
    const dir = await newCase()
    const { registry, specs } = fakeRegistry({ made: [], calls: [] })
    const loaded = loadPlaybookText(PLAYBOOK, 'fake.yaml', specs)
    const { ctx, handle, questions } = await makeCtx(dir, { interactive: true, answer: false })
    const err = await runPlaybook(ctx, loaded, { target: 'p' }, { registry }).catch((e) => e)
    await handle.close()
    expect(err).toBeInstanceOf(RefusedError)
    expect(questions).toEqual(['Run step first (Make): fake.make thing=p-role list=AKIA1,AKIA2?'])
    const conf = handle.journal.all().find((e) => e.action === 'playbook.confirm')
    expect(conf?.params).toMatchObject({ step: 'first', answer: 'no' })
  })

  it('resumes after a crash mid-step: finished steps are not re-run, the interrupted one reports already-applied', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[], hang: 'second-a,b' as string | undefined }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(PLAYBOOK, 'fake.yaml', specs)
    let { ctx, handle } = await makeCtx(dir, { yes: true })
    void runPlaybook(ctx, loaded, { target: 'p' }, { registry })
    for (let i = 0; i < 100 && !world.calls.includes('make:second-a,b'); i++)
      await new Promise((r) => setTimeout(r, 20))
    await handle.close() // the process "died" holding the step open
    world.hang = undefined
    ;({ ctx, handle } = await makeCtx(dir, { yes: true }))
    const result = await resumePlaybook(ctx, {}, { registry })
    await handle.close()
    expect(world.made).toEqual(['p-role', 'second-a,b'])
    expect(result.steps.map((s) => `${s.id}:${s.outcome}`)).toEqual([
      'look:applied',
      'first:applied',
      'never:skipped',
      'second:already-applied',
      'done:applied',
    ])
    const finals = handle.journal
      .all()
      .filter((e) => e.action === 'playbook.step' && e.outcome !== 'started')
      .map((e) => `${e.params.step}:${e.outcome}`)
    expect(finals).toEqual([
      'look:applied',
      'first:applied',
      'never:skipped',
      'second:already-applied',
      'done:applied',
    ])
    const resumeEntry = handle.journal.all().find((e) => e.action === 'playbook.resume')
    expect(resumeEntry?.params.from).toBe('second')
    // nothing left to resume
    ;({ ctx, handle } = await makeCtx(dir, { yes: true }))
    await expect(resumePlaybook(ctx, {}, { registry })).rejects.toBeInstanceOf(UsageError)
    await handle.close()
  })

  it('a failed step stops the run (resumable); with on-error: continue it becomes a gap', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[], fail: 'p-role' as string | undefined }
    const { registry, specs } = fakeRegistry(world)
    let { ctx, handle } = await makeCtx(dir, { yes: true })
    const err = await runPlaybook(
      ctx,
      loadPlaybookText(PLAYBOOK, 'fake.yaml', specs),
      { target: 'p' },
      { registry },
    ).catch((e) => e)
    await handle.close()
    expect(err).toBeInstanceOf(FirError)
    expect((err as FirError).message).toContain('step first')
    expect((err as FirError).exitCode).toBe(2)
    world.fail = undefined
    ;({ ctx, handle } = await makeCtx(dir, { yes: true }))
    const r = await resumePlaybook(ctx, {}, { registry })
    await handle.close()
    expect(r.steps.find((s) => s.id === 'first')?.outcome).toBe('applied')

    const dir2 = await newCase()
    const world2 = { made: [] as string[], calls: [] as string[], fail: 'p-role' }
    const fr = fakeRegistry(world2)
    const cont = PLAYBOOK.replace('    confirm: true\n', '    confirm: true\n    on-error: continue\n')
    const made = await makeCtx(dir2, { yes: true })
    ;({ ctx, handle } = made)
    const r2 = await runPlaybook(
      ctx,
      loadPlaybookText(cont, 'fake.yaml', fr.specs),
      { target: 'p' },
      { registry: fr.registry },
    )
    await handle.close()
    expect(r2.steps.map((s) => s.outcome)).toEqual(['applied', 'failed', 'skipped', 'applied', 'applied'])
    expect(ctx.gaps.list[0]).toMatchObject({ call: 'fake.make' })
    // The step passed over is said as it happens (only its "step N/M first…" line was printed before).
    expect(made.warnings).toEqual([
      expect.stringMatching(
        /^step first failed \(on-error: continue, the run goes on\): unable to make p-role/,
      ),
    ])
    // The run finished: resume names the step it passed over and how to redo that work (it said
    // only that there was no unfinished run).
    const runId = r2.runId
    ;({ ctx, handle } = await makeCtx(dir2, { yes: true }))
    const passed = await resumePlaybook(ctx, {}, { registry: fr.registry }).catch((e) => e)
    await handle.close()
    expect(passed).toBeInstanceOf(UsageError)
    expect((passed as UsageError).message).toBe(
      `unable to resume a playbook in case ${ctx.case.meta.id}: its latest run (fake, ${runId}) finished, passing over a step that failed (on-error: continue): first (fake.make): unable to make p-role: it is broken`,
    )
  })

  it('a step passed over names the AWS call that failed in its gap and journal, not the action id', async () => {
    const dir = await newCase()
    const made = await makeCtx(dir, { yes: true })
    // A real failure of an AWS call (moto: no such secret), as an action's adapter throws it.
    const error = await describeSecret(made.ctx.aws, 'no/such-secret').catch((e) => e)
    const world = { made: [] as string[], calls: [] as string[], fail: 'p-role', error }
    const fr = fakeRegistry(world)
    const cont = PLAYBOOK.replace('    confirm: true\n', '    confirm: true\n    on-error: continue\n')
    await runPlaybook(made.ctx, loadPlaybookText(cont, 'fake.yaml', fr.specs), { target: 'p' }, fr)
    await made.handle.close()
    // Before: call 'fake.make', the playbook action, while a step's gap names the AWS call.
    expect(made.ctx.gaps.list[0]).toMatchObject({
      what: 'playbook step first (Make)',
      call: 'secretsmanager:DescribeSecret',
    })
    const failed = made.handle.journal
      .all()
      .find((e) => e.action === 'playbook.step' && e.params.step === 'first' && e.outcome === 'failed')
    expect(failed?.error?.calls).toEqual(['secretsmanager:DescribeSecret'])
  })

  it('an `if` that reads the outputs of a step that failed and was passed over is unknown, not false', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[], fail: 'p-role' }
    const fr = fakeRegistry(world)
    const text = `${PLAYBOOK.replace('    confirm: true\n', '    confirm: true\n    on-error: continue\n')}  - id: after-first
    action: fake.make
    with: { thing: "after {{ steps.first.outputs.made }}" }
    if: "{{ steps.first.outputs.made }}"
  - id: not-first
    action: fake.make
    with: { thing: nothing made }
    if: "{{ !steps.first.outputs.made }}"
  - id: either
    action: fake.make
    with: { thing: either }
    if: "{{ inputs.target || steps.first.outputs.made }}"
`
    const { ctx, handle } = await makeCtx(dir, { yes: true })
    const r = await runPlaybook(ctx, loadPlaybookText(text, 'fake.yaml', fr.specs), { target: 'p' }, fr)
    await handle.close()
    const unknown = (c: string) =>
      `skipped: condition {{ ${c} }} is unknown: step first failed: unable to make p-role: it is broken`
    // Before: "condition … is false", and not-first ran as if first had made nothing.
    expect(r.steps.slice(5).map((s) => [s.id, s.outcome, s.summary])).toEqual([
      ['after-first', 'skipped', unknown('steps.first.outputs.made')],
      ['not-first', 'skipped', unknown('!steps.first.outputs.made')],
      ['either', 'applied', 'made either'],
    ])
    const skipped = handle.journal.all().find((e) => e.params.step === 'not-first')
    expect(skipped).toMatchObject({
      outcome: 'skipped',
      after: { summary: unknown('!steps.first.outputs.made') },
    })
  })

  it('resumes only the latest run: one that failed and was then run again right is not picked up behind it', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[], fail: 'typo-role' as string | undefined }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(PLAYBOOK, 'fake.yaml', specs)
    let { ctx, handle } = await makeCtx(dir, { yes: true })
    // A mistyped target fails a step; the responder runs the playbook again with the right one.
    const failed = await runPlaybook(ctx, loaded, { target: 'typo' }, { registry }).catch((e) => e)
    expect(failed).toBeInstanceOf(FirError)
    await runPlaybook(ctx, loaded, { target: 'p' }, { registry })
    const runs = handle.journal.all().filter((e) => e.action === 'playbook.run' && e.outcome === 'started')
    await handle.close()
    ;({ ctx, handle } = await makeCtx(dir, { yes: true }))
    // Before: resume went back to the failed run and failed on the mistyped target again.
    const calls = world.calls.length
    const err = await resumePlaybook(ctx, {}, { registry }).catch((e) => e)
    await handle.close()
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toBe(
      `unable to resume a playbook in case ${ctx.case.meta.id}: its latest run finished; run ${runs[0]!.params.runId} of fake, started ${runs[0]!.at}, did not finish, and later runs came after it`,
    )
    expect(world.calls.length).toBe(calls)
  })

  it('checks inputs, and a value that is empty after templating names the step line', async () => {
    const dir = await newCase()
    const { registry, specs } = fakeRegistry({ made: [], calls: [] })
    const loaded = loadPlaybookText(PLAYBOOK, 'fake.yaml', specs)
    const { ctx, handle } = await makeCtx(dir, { yes: true })
    await expect(runPlaybook(ctx, loaded, {}, { registry })).rejects.toThrow(/missing required input target/)
    await expect(runPlaybook(ctx, loaded, { target: 'x', nope: '1' }, { registry })).rejects.toThrow(
      /unknown input "nope"/,
    )
    const empty = loadPlaybookText(
      PLAYBOOK.replace('"{{ steps.look.outputs.role }}"', '"{{ steps.look.outputs.nothing }}"'),
      'fake.yaml',
      specs,
    )
    const err = await runPlaybook(ctx, empty, { target: 'x' }, { registry }).catch((e) => e)
    await handle.close()
    expect(err).toBeInstanceOf(FirError)
    expect((err as FirError).message).toMatch(
      /fake\.yaml:12:20: step first: parameter thing is empty after templating/,
    )
  })

  it('refuses an --input key given twice (exit 2), naming it; it was read last-wins', () => {
    expect(parseInputFlags(['function=a', 'since=3d'])).toEqual({ function: 'a', since: '3d' })
    const err = (() => {
      try {
        parseInputFlags(['function=a', 'since=3d', 'function=ghost'])
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).exitCode).toBe(2)
    expect((err as UsageError).message).toBe(
      'unable to read --input function: it is given twice ("a" and "ghost")',
    )
    // A secret-looking value is not printed.
    expect(() => parseInputFlags(['api_token=s3cr3t-value-1', 'api_token=s3cr3t-value-2'])).toThrow(
      /^unable to read --input api_token: it is given twice \(‹redacted len=14 sha256:[0-9a-f]{8}› and ‹redacted len=14 sha256:[0-9a-f]{8}›\)$/,
    )
  })

  it('plans without running: outputs of earlier steps stay unresolved', async () => {
    const { registry, specs } = fakeRegistry({ made: [], calls: [] })
    const plan = await planPlaybook(
      loadPlaybookText(PLAYBOOK, 'fake.yaml', specs),
      { target: 'payments' },
      registry,
    )
    expect(plan.map((s) => s.id)).toEqual(['look', 'first', 'never', 'second', 'done'])
    expect(plan[0]!.with).toEqual({ target: 'payments' })
    expect(JSON.parse(JSON.stringify(plan[1]!.with))).toEqual({
      thing: '‹steps.look.outputs.role›',
      list: '‹steps.look.outputs.keys›',
    })
    expect(plan[2]!.condition).toEqual({
      expression: '{{ steps.look.outputs.nothing }}',
      value: 'unresolved',
    })
    expect(plan[1]!.confirm).toBe(true)
    expect(plan[3]!.with).toEqual({ thing: 'second-a,b' })
  })

  it('refuses to run a playbook whose file is invalid, before anything else', () => {
    const { specs } = fakeRegistry({ made: [], calls: [] })
    expect(() => loadPlaybookText(PLAYBOOK.replace('fake.make', 'fake.mkae'), 'fake.yaml', specs)).toThrow(
      PlaybookError,
    )
  })

  it('asks every step with confirm, each on its own, also after an earlier yes, and on resume', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[] }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(TWO_CONFIRMS, 'two.yaml', specs)
    let { ctx, handle, questions } = await makeCtx(dir, { interactive: true, answers: [false] })
    const no = await runPlaybook(ctx, loaded, { target: 'p' }, { registry }).catch((e) => e)
    await handle.close()
    expect(no).toBeInstanceOf(RefusedError)
    expect(questions).toEqual(['FIRST p-role?'])
    expect(world.made).toEqual([])
    // Resumed on a terminal, the yes to the first question does not confirm the second (it had).
    ;({ ctx, handle, questions } = await makeCtx(dir, { interactive: true, answers: [true, false] }))
    const stopped = await resumePlaybook(ctx, {}, { registry }).catch((e) => e)
    await handle.close()
    expect(stopped).toBeInstanceOf(RefusedError)
    expect(questions).toEqual(['FIRST p-role?', 'SECOND rotate p-role?'])
    expect(world.made).toEqual(['p-role'])
    ;({ ctx, handle, questions } = await makeCtx(dir, { interactive: true, answers: [true] }))
    const done = await resumePlaybook(ctx, {}, { registry })
    await handle.close()
    // the applied step is not asked again; the step after the confirmed ones needs no question
    expect(questions).toEqual(['SECOND rotate p-role?'])
    expect(world.made).toEqual(['p-role', 'second', 'third'])
    expect(done.steps.map((s) => s.outcome)).toEqual(['applied', 'applied', 'applied', 'applied'])
    const answers = handle.journal
      .all()
      .filter((e) => e.action === 'playbook.confirm')
      .map((e) => `${e.params.step}:${e.params.answer}`)
    expect(answers).toEqual(['first:no', 'first:yes', 'second:no', 'second:yes'])
  })

  it('a drill decides every confirmation: each step with confirm goes to the team', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[] }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(TWO_CONFIRMS, 'two.yaml', specs)
    const { ctx, handle } = await makeCtx(dir)
    const decided: string[] = []
    const result = await runPlaybook(
      ctx,
      loaded,
      { target: 'p' },
      {
        registry,
        hooks: {
          decide: async (step, question) => {
            decided.push(`${step.id}: ${question}`)
            return step.id === 'first'
          },
        },
      },
    )
    await handle.close()
    expect(decided).toEqual(['first: FIRST p-role?', 'second: SECOND rotate p-role?'])
    expect(result.steps.map((s) => `${s.id}:${s.outcome}`)).toEqual([
      'look:applied',
      'first:applied',
      'second:skipped',
      'third:applied',
    ])
    expect(world.made).toEqual(['p-role', 'third'])
  })

  it('resume does not ask again a step agreed to in an earlier attempt that was interrupted', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[], hang: 'second' as string | undefined }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(TWO_CONFIRMS, 'two.yaml', specs)
    let { ctx, handle, questions } = await makeCtx(dir, { interactive: true, answers: [true, true] })
    void runPlaybook(ctx, loaded, { target: 'p' }, { registry })
    for (let i = 0; i < 100 && !world.calls.includes('make:second'); i++)
      await new Promise((r) => setTimeout(r, 20))
    await handle.close() // died in step second, after its yes
    expect(questions).toEqual(['FIRST p-role?', 'SECOND rotate p-role?'])
    world.hang = undefined
    ;({ ctx, handle, questions } = await makeCtx(dir, { interactive: true, answers: [] }))
    const result = await resumePlaybook(ctx, {}, { registry })
    await handle.close()
    expect(questions).toEqual([])
    expect(result.steps.map((s) => `${s.id}:${s.outcome}`)).toEqual([
      'look:applied',
      'first:applied',
      'second:already-applied',
      'third:applied',
    ])
  })

  it('journals a secret inside a free-text input redacted, in the run and in what its steps write', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[] }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(SECRET_INPUT, 'secret.yaml', specs)
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    const { ctx, handle } = await makeCtx(dir, { yes: true })
    // The target is a free text holding a secret access key; the optional input a free text holding
    // a secret after its name. Before: both journaled in clear (neither is a secret as a whole).
    await runPlaybook(
      ctx,
      loaded,
      {
        target: `p (leaked with ${key})`,
        token: 'tok_live_9f8e7d6c5b4a39281726354',
        optional: 'see DB_PASSWORD=hunter2hunter2 in the env',
      },
      { registry },
    )
    await handle.close()
    const text = await readFile(join(dir, 'journal.jsonl'), 'utf8')
    expect(text).not.toContain(key)
    expect(text).not.toContain('hunter2hunter2')
    const started = handle.journal.all().find((e) => e.action === 'playbook.run')!
    expect(started.params.inputs).toMatchObject({
      target: `p (leaked with ${redactValue(key)})`,
      optional: `see DB_PASSWORD=${redactValue('hunter2hunter2')} in the env`,
    })
  })

  it("journals a secret written into a note's own text redacted: in the note, the step's values, the playbook text and the plan", async () => {
    const dir = await newCase()
    // The real case.note (appendNote) and its spec, which marks text as free text.
    const registry: ActionRegistry = new Map([['case.note', builtinActions().get('case.note')!]])
    const key = 'Qx7rTq2LmN8vB4cW6yH1kJ3pS5dF7gA0eR/uI+oZ'
    const loaded = loadPlaybookText(NOTE_WITH_SECRETS, 'noted.yaml', [registry.get('case.note')!.spec])
    const plan = await planPlaybook(loaded, { who: 'Dana' }, registry)
    expect(redactor.scrub(JSON.stringify(plan))).not.toContain(key)
    const { ctx, handle } = await makeCtx(dir, { yes: true })
    await runPlaybook(ctx, loaded, { who: 'Dana' }, { registry })
    await handle.close()
    // Before: the note, the step's `with` and the run's `source` held both in clear (only a free
    // text given as --input was searched for secrets).
    const text = await readFile(join(dir, 'journal.jsonl'), 'utf8')
    expect(text).not.toContain(key)
    expect(text).not.toContain('Sw0rdf1sh-Note')
    const note = handle.journal.all().find((e) => e.action === 'case.note')!
    expect(note.params.text).toBe(
      `Dana: old secret was ${redactValue(key)} and DB password=${redactValue('Sw0rdf1sh-Note')}`,
    )
    expect(note.params.question).toBe(`was DB_PASSWORD=${redactValue('Sw0rdf1sh-Note')} rotated?`)
  })

  it('resume --input gives again only an input kept redacted, checks it is the same, and journals its name', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[] }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(SECRET_INPUT, 'secret.yaml', specs)
    const token = 'tok_live_9f8e7d6c5b4a39281726354'
    let { ctx, handle } = await makeCtx(dir)
    const refused = await runPlaybook(ctx, loaded, { target: 'p', token }, { registry }).catch((e) => e)
    await handle.close()
    expect(refused).toBeInstanceOf(RefusedError)
    // The exit-5 advice names the secret input resume needs given again (before: without it, the
    // command printed exited 2 "input token was secret and is not kept in the journal").
    expect((refused as RefusedError).actions[0]).toBe(
      `continue with \`fir playbook resume --yes --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${dir} --input token=<value>\``,
    )
    const started = handle.journal.all().find((e) => e.action === 'playbook.run')!
    expect(started.params.inputs).toEqual({ target: 'p', token: redactValue(token) })
    const calls = world.calls.length

    const attempt = async (overrides: Record<string, string>) => {
      ;({ ctx, handle } = await makeCtx(dir, { yes: true }))
      const r = await resumePlaybook(ctx, overrides, { registry }).catch((e) => e)
      await handle.close()
      return r
    }
    // an input recorded in clear: refused, nothing run (it ran with the other target)
    const other = await attempt({ target: 'q', token })
    expect(other).toBeInstanceOf(UsageError)
    expect((other as UsageError).exitCode).toBe(2)
    expect((other as UsageError).message).toContain(
      `unable to resume run ${started.params.runId} with --input "target": resume runs the playbook text and inputs its run started with, and the journal keeps this input (target="p")`,
    )
    expect((other as UsageError).actions.join('\n')).toContain(
      'to use another value, run the playbook again: fir playbook run secret.yaml',
    )
    // an input the run did not start with
    const absent = await attempt({ token, optional: 'x' })
    expect(absent).toBeInstanceOf(UsageError)
    expect((absent as UsageError).message).toContain('the run did not start with that input')
    // the secret, but not the same one
    const wrong = await attempt({ token: `${token}X` })
    expect(wrong).toBeInstanceOf(UsageError)
    expect((wrong as UsageError).message).toContain(
      `the value given for "token" is not the one the run started with (token was ${redactValue(token)}`,
    )
    expect(world.calls.length).toBe(calls)
    expect(world.made).toEqual([])

    // the same target again is no override; the secret given again, the same: the run goes on
    const result = await attempt({ target: 'p', token })
    expect(result.steps.map((s: { outcome: string }) => s.outcome)).toEqual(['applied', 'applied', 'applied'])
    expect(world.made).toEqual(['p-role'])
    const resume = handle.journal.all().find((e) => e.action === 'playbook.resume')!
    expect(resume.params.inputsGivenAgain).toEqual(['token'])
    // the secret reached the step, and it is redacted in the journal as when the run started
    expect(world.calls).toContain(`note:token is ${token}`)
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).not.toContain(token)
  })

  it('a step output an intruder could name "0" or "false" (a role) still makes its `if` hold', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[] }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(OUTPUT_IF, 'output-if.yaml', specs)
    const { ctx, handle } = await makeCtx(dir, { yes: true })
    const result = await runPlaybook(ctx, loaded, { first: 'false', second: '0' }, { registry })
    await handle.close()
    expect(result.steps.map((s) => `${s.id}:${s.outcome}`)).toEqual([
      'a:applied',
      'b:applied',
      'revoke-a:applied',
      'revoke-b:applied',
      'off:skipped',
    ])
    expect(world.made).toEqual(['false', '0', 'revoke false', 'revoke 0'])
  })

  it('the plan redacts secret inputs, in its values and in its errors, and asks where the run will ask', async () => {
    const { registry, specs } = fakeRegistry({ made: [], calls: [] })
    const loaded = loadPlaybookText(SECRET_PLAN, 'secret-plan.yaml', specs)
    const token = 'Pl4nT0kenValue-9f3a1c'
    const plan = await planPlaybook(loaded, { target: 'p', db_password: token, flag: 'false' }, registry)
    // the value is in the plan (it is what runs) and registered: every output shows it redacted
    expect(redactor.scrub(JSON.stringify(plan))).not.toContain(token)
    expect(redactor.scrub(JSON.stringify(plan))).toContain(redactValue(token))
    // a step whose `if` is false confirms nothing: the first change that runs is asked
    expect(plan.map((s) => [s.id, s.condition?.value ?? null, s.confirm])).toEqual([
      ['maybe', false, true],
      ['change', null, true],
      ['note', null, false],
      ['strict', false, false],
    ])
    const bad = 'N0tADur4tion-Secr3t!'
    const err = await planPlaybook(loaded, { target: 'p', db_password: bad, check: 'true' }, registry).then(
      () => undefined,
      (e) => e as PlaybookError,
    )
    expect(err).toBeInstanceOf(PlaybookError)
    expect(redactor.scrub(err!.message)).not.toContain(bad)
  })

  it('checks every value that depends on the inputs only before the first step, in run, resume and the plan', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[] }
    const { registry, specs } = fakeRegistry(world)
    const loaded = loadPlaybookText(INPUT_VALUES, 'inputs.yaml', specs)
    const { ctx, handle } = await makeCtx(dir, { yes: true })
    const err = await runPlaybook(ctx, loaded, { target: 'p', since: '7days' }, { registry }).catch((e) => e)
    expect(err).toBeInstanceOf(PlaybookError)
    expect((err as PlaybookError).exitCode).toBe(2)
    // nothing ran, nothing was journaled for a run
    expect(world.calls).toEqual([])
    expect(handle.journal.all().filter((e) => e.action.startsWith('playbook.'))).toEqual([])
    // every problem at once, with the line and column of the value; the empty one in a step whose
    // `if` needs outputs, and the step whose `if` is false from the inputs, are not problems
    expect((err as PlaybookError).message).toBe(
      [
        'unable to run playbook inputs: 2 values from its inputs are not what the steps taking them accept; nothing was run',
        '  inputs.yaml:15:14: step change: parameter since = "7days" from the inputs: must be a duration such as 7d',
        '  inputs.yaml:18:20: step empty: parameter thing is empty from the inputs ("{{ inputs.optional }}")',
      ].join('\n'),
    )
    expect((err as PlaybookError).actions[0]).toContain('--input since=… --input optional=…')
    await expect(planPlaybook(loaded, { target: 'p', since: '7days' }, registry)).rejects.toThrow(
      (err as PlaybookError).message,
    )
    // A run journaled with such a value (before fir checked them first) is not resumed into it.
    await handle.journal.append({
      action: 'playbook.run',
      target: 'inputs',
      params: {
        runId: 'old-run',
        playbook: 'inputs',
        file: 'inputs.yaml',
        inputs: { target: 'p', since: '7days', optional: 'o' },
        steps: loaded.playbook.steps.map((s) => s.id),
        source: INPUT_VALUES,
      },
      outcome: 'started',
    })
    const resumed = await resumePlaybook(ctx, {}, { registry }).catch((e) => e)
    expect(resumed).toBeInstanceOf(PlaybookError)
    expect((resumed as PlaybookError).message).toContain(
      'inputs.yaml:15:14: step change: parameter since = "7days" from the inputs',
    )
    expect((resumed as PlaybookError).actions.join('\n')).toContain(
      'with a value the step accepts, run the playbook again: fir playbook run inputs.yaml',
    )
    expect(world.calls).toEqual([])
    // with good values it runs
    const ok = await runPlaybook(ctx, loaded, { target: 'p', optional: 'o' }, { registry })
    await handle.close()
    expect(ok.steps.map((s) => `${s.id}:${s.outcome}`)).toEqual([
      'look:applied',
      'change:applied',
      'empty:applied',
      'maybe:skipped',
      'off:skipped',
    ])
  })

  it('a resumed run counts the gaps its finished steps hit in an earlier attempt (exit 4)', async () => {
    const dir = await newCase()
    const world = { made: [] as string[], calls: [] as string[], fail: 'p-role', hang: 'second-a,b' }
    const fr = fakeRegistry(world)
    const cont = PLAYBOOK.replace('    confirm: true\n', '    confirm: true\n    on-error: continue\n')
    let { ctx, handle } = await makeCtx(dir, { yes: true })
    void runPlaybook(ctx, loadPlaybookText(cont, 'fake.yaml', fr.specs), { target: 'p' }, fr)
    for (let i = 0; i < 100 && !world.calls.includes('make:second-a,b'); i++)
      await new Promise((r) => setTimeout(r, 20))
    await handle.close() // the step first failed and was passed over (a gap); then the process died
    world.hang = ''
    expect(ctx.gaps.list).toHaveLength(1)
    let warnings: string[]
    ;({ ctx, handle, warnings } = await makeCtx(dir, { yes: true }))
    const result = await resumePlaybook(ctx, {}, fr)
    await handle.close()
    // Counted (no attempt reported it, and the step is not run again), and said to be the earlier
    // attempt's: the step, when it finished, and why a resume that ran everything else exits 4.
    const finished = handle.journal
      .all()
      .find((e) => e.action === 'playbook.step' && e.params.step === 'first' && e.outcome === 'failed')!
    expect(ctx.gaps.list).toEqual([
      {
        what: `step first, finished in an earlier attempt (${finished.at}): playbook step first (Make)`,
        call: 'fake.make',
        reason: 'unable to make p-role: it is broken',
      },
    ])
    expect(warnings).toContain(
      `run ${result.runId}: 1 gap was hit in an earlier attempt by step first, which finished then and is not run again: what it names is still missing from the case, so it counts (exit 4, done with gaps); see the gaps listed`,
    )
    expect(result.steps.find((s) => s.id === 'first')).toMatchObject({
      outcome: 'failed',
      fromEarlierAttempt: true,
      summary: 'failed: unable to make p-role: it is broken',
    })
  })

  it('after a failed step, says to resume only where a resume can get past it: bad input is run again, a drill too', async () => {
    const hintsAfter = async (error: Error | undefined, options: { drill?: string } = {}) => {
      const dir = await newCase()
      const { registry, specs } = fakeRegistry({
        made: [],
        calls: [],
        fail: 'p-role',
        ...(error ? { error } : {}),
      })
      const { ctx, handle } = await makeCtx(dir, { yes: true })
      if (options.drill)
        await ctx.case.journal.append({
          action: 'tabletop.start',
          target: options.drill,
          params: { scenario: options.drill },
          outcome: 'recorded',
        })
      const err = await runPlaybook(
        ctx,
        loadPlaybookText(PLAYBOOK, 'fake.yaml', specs),
        { target: 'p' },
        { registry },
      ).catch((e) => e)
      await handle.close()
      expect(err).toBeInstanceOf(FirError)
      return { actions: (err as FirError).actions, dir }
    }
    const resume = (dir: string) =>
      `after fixing it, continue with \`fir playbook resume --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${dir}\``
    // AWS's side (a permission granted, a failed call): resume gets past it.
    for (const error of [
      new AccessDeniedError('unable to make p-role: AWS denied fake:Make', ['fake:Make']),
      new FirError('aws-error', 'unable to make p-role: HTTP 500'),
    ]) {
      const { actions, dir } = await hintsAfter(error)
      expect(actions.at(-1)).toBe(resume(dir))
    }
    // Bad input (or a name not found in this region or account): a resume keeps the inputs, region
    // and account, so it would stop here again; the playbook is run again.
    for (const error of [
      undefined,
      new NotFoundError('unable to make p-role: no such thing', {
        actions: ['check the name, the region (--region) and the account'],
      }),
    ]) {
      const { actions, dir } = await hintsAfter(error)
      expect(actions.at(-1)).toBe(
        `a resume keeps the inputs, region and account this run started with: after fixing it, run the playbook again: fir playbook run fake.yaml --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${dir} --input … (changes already made are journaled already-applied)`,
      )
      expect(actions.join('\n')).not.toContain('playbook resume')
    }
    // A drill: its emulator stopped with it, so the drill is run again.
    const drill = await hintsAfter(new FirError('aws-error', 'unable to make p-role: HTTP 500'), {
      drill: 'public-url-backdoor',
    })
    expect(drill.actions).toEqual([
      "run the drill again: fir tabletop run public-url-backdoor (a resume reaches nothing: the drill's emulator stopped with it)",
    ])
  })

  it("names the playbook's file, quoted, in the hint to run it again; a shipped one by its name", async () => {
    const { registry, specs } = fakeRegistry({ made: [], calls: [], fail: 'typo-role' })
    const hintFor = async (text: string, file: string) => {
      const dir = await newCase()
      const { ctx, handle } = await makeCtx(dir, { yes: true })
      const loaded = loadPlaybookText(text, file, specs)
      await runPlaybook(ctx, loaded, { target: 'typo' }, { registry }).catch(() => undefined)
      await runPlaybook(ctx, loaded, { target: 'p' }, { registry })
      const err = await resumePlaybook(ctx, {}, { registry }).catch((e) => e)
      await handle.close()
      expect(err).toBeInstanceOf(UsageError)
      return { hint: (err as UsageError).actions[0], dir }
    }
    const custom = join(await tempDir(), 'my playbooks', 'rot.yaml')
    const a = await hintFor(PLAYBOOK, custom)
    expect(a.hint).toBe(
      `to finish that work, run the playbook again: fir playbook run '${custom}' --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${a.dir} --input … (changes already made are journaled already-applied)`,
    )
    const b = await hintFor(
      PLAYBOOK.replace('name: fake', 'name: lambda-compromise'),
      join(PLAYBOOK_DIR, 'lambda-compromise.yaml'),
    )
    expect(b.hint).toContain(`fir playbook run lambda-compromise --region us-east-1 --endpoint-url`)
  })
})

const TWO_CONFIRMS = `name: two
description: two confirmations, then a change without one
inputs:
  target: { required: true }
steps:
  - id: look
    action: fake.look
    with: { target: "{{ inputs.target }}" }
  - id: first
    action: fake.make
    with: { thing: "{{ steps.look.outputs.role }}" }
    confirm: "FIRST {{ steps.look.outputs.role }}?"
  - id: second
    action: fake.make
    with: { thing: second }
    confirm: "SECOND rotate {{ steps.first.outputs.made }}?"
  - id: third
    action: fake.make
    with: { thing: third }
`

const SECRET_INPUT = `name: secret
description: a secret input
inputs:
  target: { required: true }
  token: { required: true }
  optional: {}
steps:
  - id: look
    action: fake.look
    with: { target: "{{ inputs.target }}" }
  - id: note
    action: case.note
    with: { text: "token is {{ inputs.token }}" }
  - id: first
    action: fake.make
    with: { thing: "{{ steps.look.outputs.role }}" }
`

const NOTE_WITH_SECRETS = `name: noted
description: a note quoting secrets
inputs:
  who: { required: true }
steps:
  - id: note
    action: case.note
    with:
      text: "{{ inputs.who }}: old secret was Qx7rTq2LmN8vB4cW6yH1kJ3pS5dF7gA0eR/uI+oZ and DB password=Sw0rdf1sh-Note"
      kind: decision
      question: was DB_PASSWORD=Sw0rdf1sh-Note rotated?
`

const OUTPUT_IF = `name: output-if
description: an if on outputs
inputs:
  first: { required: true }
  second: { required: true }
steps:
  - { id: a, action: fake.make, with: { thing: "{{ inputs.first }}" } }
  - { id: b, action: fake.make, with: { thing: "{{ inputs.second }}" } }
  - id: revoke-a
    action: fake.make
    with: { thing: "revoke {{ steps.a.outputs.made }}" }
    if: "{{ steps.a.outputs.made }}"
  - id: revoke-b
    action: fake.make
    with: { thing: "revoke {{ steps.b.outputs.made }}" }
    if: "{{ steps.b.outputs.made }}"
  - id: off
    action: fake.make
    with: { thing: never }
    if: "{{ inputs.second }}"
`

const SECRET_PLAN = `name: secret-plan
description: a secret input
inputs:
  target: { required: true }
  db_password: { required: true }
  flag: { default: "false" }
  check: { default: "false" }
steps:
  - id: maybe
    action: fake.make
    with: { thing: "{{ inputs.target }}" }
    if: "{{ inputs.flag }}"
  - id: change
    action: fake.make
    with: { thing: "{{ inputs.target }}" }
  - id: note
    action: case.note
    with: { text: "pw {{ inputs.db_password }}" }
  - id: strict
    action: fake.make
    with: { thing: "{{ inputs.target }}", since: "{{ inputs.db_password }}" }
    if: "{{ inputs.check }}"
`

const INPUT_VALUES = `name: inputs
description: values from inputs
inputs:
  target: { required: true }
  since: { default: 7d }
  optional: {}
steps:
  - id: look
    action: fake.look
    with: { target: "{{ inputs.target }}" }
  - id: change
    action: fake.make
    with:
      thing: "{{ steps.look.outputs.role }}"
      since: "{{ inputs.since }}"
  - id: empty
    action: fake.make
    with: { thing: "{{ inputs.optional }}" }
  - id: maybe
    action: fake.make
    with: { thing: "{{ inputs.optional }}" }
    if: "{{ steps.look.outputs.nothing }}"
  - id: off
    action: fake.make
    with: { thing: "{{ inputs.optional }}", since: "{{ inputs.since }}" }
    if: "{{ !inputs.target }}"
`
