import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { builtinActions } from '../../../src/core/playbook/actions/index.js'
import { timelineAction } from '../../../src/core/playbook/actions/timeline.js'
import { loadPlaybookText } from '../../../src/core/playbook/load.js'
import { resumePlaybook, runPlaybook, type StepRun, specsOf } from '../../../src/core/playbook/runner.js'
import { GapsOnlyError, UsageError } from '../../../src/errors.js'
import { type LookupEventsServer, startLookupEvents } from '../../support/lookup-events-server.js'
import { generateCorpus } from '../../support/trail-generator.js'
import { timelineContext } from '../timeline/context.js'

// LookupEvents from the stand-in (moto has none); every other service is unreachable, and unused.
const now = Date.now()
const corpus = generateCorpus({
  seed: 5,
  records: 200,
  start: new Date(now - 2 * 86_400_000),
  end: new Date(now - 3_600_000),
  regions: ['eu-west-1', 'us-east-1'],
})
const servers: LookupEventsServer[] = []
const savedRate = process.env.FIR_LOOKUP_RATE
beforeAll(() => {
  process.env.FIR_LOOKUP_RATE = '35'
})
afterEach(async () => {
  delete process.env.AWS_ENDPOINT_URL_CLOUDTRAIL
  for (const s of servers.splice(0)) await s.stop()
})
afterAll(() => {
  if (savedRate === undefined) delete process.env.FIR_LOOKUP_RATE
  else process.env.FIR_LOOKUP_RATE = savedRate
})

async function standIn(deniedRegions: string[]) {
  const s = await startLookupEvents(corpus.records, { rate: 40, burst: 40, deniedRegions })
  servers.push(s)
  process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = s.endpoint
}

/** The timeline step of a run of the `hunt` playbook, as the runner hands it to the action. */
function stepRun(ctx: StepRun['ctx']): StepRun {
  return {
    ctx,
    runId: 'run-1',
    playbook: 'hunt',
    stepId: 'timeline',
    firstStartedAt: new Date().toISOString(),
    interrupted: false,
  }
}

const HUNT = { since: '3d', source: 'api', regions: 'eu-west-1,us-east-1' }
const NOTHING_READ =
  'unable to collect the timeline: nothing was read (every source failed; the case has no timeline)'

/** The lambda-compromise shape: rotations guarded by the timeline's outputs, then the report. */
const PLAYBOOK = `name: hunt
description: a timeline, the steps that act on what it shows, then a note
steps:
  - id: timeline
    action: timeline.collect
    with: { since: 3d, source: api, regions: "eu-west-1,us-east-1" }
  - id: rotate
    action: case.note
    with: { text: "rotate {{ steps.timeline.outputs.secretsRead }}" }
    if: "{{ steps.timeline.outputs.secretsRead }}"
  - id: nothing-to-rotate
    action: case.note
    with: { text: "no secret was read" }
    if: "{{ !steps.timeline.outputs.secretsRead }}"
  - id: last
    action: case.note
    with: { text: "done" }
`

describe('timeline.collect (playbook action)', () => {
  it('fails (a gap) when every source failed and nothing was stored, instead of reporting applied', async () => {
    await standIn(['eu-west-1', 'us-east-1'])
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const run = stepRun(ctx)
    const err = await timelineAction(run, HUNT).then(
      (o) => ({ outcome: o.outcome, summary: o.summary }),
      (e) => e,
    )
    // Before: { outcome: 'applied', summary: '0 events kept, 0 detections' }, with empty outputs
    // (no secret read) that later steps took for what the timeline showed.
    expect(err).toMatchObject({ code: 'nothing-read', message: NOTHING_READ })
    expect(err).toBeInstanceOf(GapsOnlyError)
    expect(ctx.gaps.list.map((g) => g.call)).toContain('cloudtrail:LookupEvents')
    expect((await readdir(join(dir, 'timeline'))).filter((f) => !f.startsWith('raw'))).toEqual([])
  })

  it('stays applied, with its gaps, when it stored events though a source failed', async () => {
    await standIn(['us-east-1'])
    const { ctx } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const run = stepRun(ctx)
    const outcome = await timelineAction(run, HUNT)
    expect(outcome.outcome).toBe('applied')
    expect(outcome.outputs.events).toBeGreaterThan(0)
    expect(ctx.gaps.list.map((g) => g.call)).toContain('cloudtrail:LookupEvents')
  })

  it("lists in summary.json only its own gaps, not an earlier step's of the same run", async () => {
    await standIn(['us-east-1'])
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    // A gap an earlier step of the playbook hit (the snapshot's layer), already in the context.
    const earlier = {
      what: 'layer arn:aws:lambda:eu-west-1:1:layer:x:1',
      call: 'lambda:GetLayerVersion',
      reason: 'denied',
    }
    ctx.gaps.add(earlier)
    const run = stepRun(ctx)
    expect((await timelineAction(run, HUNT)).outcome).toBe('applied')
    const summary = JSON.parse(await readFile(join(dir, 'timeline', 'summary.json'), 'utf8'))
    // Before: the snapshot's layer gap was in the timeline's summary too (the report listed it
    // twice, once as the timeline's).
    expect(summary.gaps.map((g: { call: string }) => g.call)).toEqual(['cloudtrail:LookupEvents'])
    expect(ctx.gaps.list).toContainEqual(earlier)
  })

  it('in a run: journaled failed, the run goes on, and the steps that read its outputs are skipped as unknown', async () => {
    await standIn(['eu-west-1', 'us-east-1'])
    const { ctx, handle, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const registry = builtinActions()
    // No on-error: continue: a step that read nothing is a gap, and gaps are never fatal.
    const loaded = loadPlaybookText(PLAYBOOK, 'hunt.yaml', specsOf(registry))
    const result = await runPlaybook(ctx, loaded, {}, { registry })
    const unknown = (output: string) =>
      `skipped: condition {{ ${output} }} is unknown: step timeline failed: ${NOTHING_READ}`
    // Before: timeline applied "0 events kept, 0 detections", rotate skipped "condition … is
    // false", and nothing-to-rotate ran, recording that no secret was read.
    expect(result.steps.map((s) => [s.id, s.outcome, s.summary])).toEqual([
      ['timeline', 'failed', `failed: ${NOTHING_READ}`],
      ['rotate', 'skipped', unknown('steps.timeline.outputs.secretsRead')],
      ['nothing-to-rotate', 'skipped', unknown('!steps.timeline.outputs.secretsRead')],
      ['last', 'applied', expect.stringMatching(/^note journaled/)],
    ])
    const steps = handle.journal.all().filter((e) => e.action === 'playbook.step' && e.outcome !== 'started')
    expect(steps.map((e) => [e.params.step, e.outcome])).toEqual([
      ['timeline', 'failed'],
      ['rotate', 'skipped'],
      ['nothing-to-rotate', 'skipped'],
      ['last', 'applied'],
    ])
    expect(steps[0]!.error).toEqual({ code: 'nothing-read', message: NOTHING_READ })
    expect(steps[1]!.after).toEqual({ outputs: {}, summary: unknown('steps.timeline.outputs.secretsRead') })
    expect(
      handle.journal
        .all()
        .filter((e) => e.action === 'case.note')
        .map((e) => e.params.text),
    ).toEqual(['done'])
    // A gap (exit 4): the sources that failed, and the step that could read nothing because of them.
    expect(ctx.gaps.list.at(-1)).toEqual({
      what: 'playbook step timeline (Collect the CloudTrail timeline)',
      call: 'timeline.collect',
      reason: NOTHING_READ,
    })
    expect(ctx.gaps.list.some((g) => g.call === 'cloudtrail:LookupEvents')).toBe(true)
    // The run finished: resume says which step it passed over, and the command that does its work.
    const err = await resumePlaybook(ctx, {}, { registry }).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toContain(
      `finished, passing over a step that failed (for gaps alone): timeline (timeline.collect): ${NOTHING_READ}`,
    )
    // Before: "… on its own: fir timeline": none of the step's values, AWS flags or the case.
    expect((err as UsageError).actions[0]).toBe(
      `fix what it names, then do that work on its own: fir timeline --since 3d --regions eu-west-1,us-east-1 --source api --region eu-west-1 --endpoint-url http://127.0.0.1:9 --case ${dir}`,
    )
  })
})
