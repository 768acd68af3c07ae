import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AwsClients } from '../../../src/aws/clients.js'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { Clock } from '../../../src/core/common/clock.js'
import { type FirContext, Gaps } from '../../../src/core/context.js'
import type { ActionSpec } from '../../../src/core/playbook/action-specs.js'
import { loadPlaybookText } from '../../../src/core/playbook/load.js'
import {
  type ActionImpl,
  type ActionRegistry,
  planPlaybook,
  resumePlaybook,
  runPlaybook,
} from '../../../src/core/playbook/runner.js'
import { FirError, PlaybookError, RefusedError, UsageError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'
import { useMoto } from '../../support/emulator.js'

const moto = useMoto()

/** A fake world the fake actions change: proves "never repeats a change". */
function fakeRegistry(world: { made: string[]; calls: string[]; hang?: string; fail?: string }): {
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
    if (world.fail === p.thing) throw new UsageError(`unable to make ${p.thing}: it is broken`)
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
  const note: ActionImpl = async () => ({ outcome: 'applied', outputs: {}, summary: 'noted' })
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
  options: { yes?: boolean; interactive?: boolean; answer?: boolean } = {},
) {
  const handle = await CaseHandle.open(dir)
  const aws = await AwsClients.create({ endpoint: moto.endpoint(), region: 'us-east-1', emulatorOnly: true })
  const questions: string[] = []
  const ctx: FirContext = {
    aws,
    clock: new Clock(),
    case: handle,
    log: { info() {}, warn() {}, progress() {} },
    gaps: new Gaps(),
    firVersion: 'test',
    interactive: options.interactive ?? false,
    yes: options.yes ?? false,
    dryRun: false,
    confirm: async (q) => {
      questions.push(q)
      return options.answer ?? false
    },
  }
  return { ctx, handle, questions }
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
      'playbook.step:first:started',
      'playbook.step:first:applied',
      'playbook.step:never:skipped',
      'playbook.step:second:started',
      'playbook.step:second:applied',
      'playbook.step:done:started',
      'playbook.step:done:applied',
      'playbook.run::applied',
    ])
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
    ;({ ctx, handle } = await makeCtx(dir2, { yes: true }))
    const r2 = await runPlaybook(
      ctx,
      loadPlaybookText(cont, 'fake.yaml', fr.specs),
      { target: 'p' },
      { registry: fr.registry },
    )
    await handle.close()
    expect(r2.steps.map((s) => s.outcome)).toEqual(['applied', 'failed', 'skipped', 'applied', 'applied'])
    expect(ctx.gaps.list[0]).toMatchObject({ call: 'fake.make' })
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

  it('plans without running: outputs of earlier steps stay unresolved', () => {
    const { registry, specs } = fakeRegistry({ made: [], calls: [] })
    const plan = planPlaybook(
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
})
