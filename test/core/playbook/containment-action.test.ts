import { PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda'
import { describe, expect, it } from 'vitest'
import { containFunction } from '../../../src/core/containment/contain.js'
import { builtinActions } from '../../../src/core/playbook/actions/index.js'
import { loadPlaybookText } from '../../../src/core/playbook/load.js'
import { runPlaybook } from '../../../src/core/playbook/runner.js'
import { useMoto } from '../../support/emulator.js'
import { seedFunction, seedFunctionUrl, seedRole } from '../../support/seed.js'
import { functionState, sdk, testContext } from '../containment/state.js'

const moto = useMoto()

const restoreStep = (fn: string, action: string) => `name: put-back
description: restore one measure
steps:
  - id: restore
    action: containment.restore
    with: { function: ${fn}, actions: [${action}] }
`

describe('containment.restore (playbook action)', () => {
  it('a measure changed by hand since contain is a conflict, never already-applied; each measure is named by its own outcome', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'pb-restore-role' })
    await seedFunction(moto.endpoint(), { name: 'pb-restore', roleArn: role.arn })
    await seedFunctionUrl(moto.endpoint(), 'pb-restore', 'NONE')
    const ctx = await testContext(moto.endpoint(), { caseId: 'PB-R' })
    try {
      await containFunction(ctx, {
        function: 'pb-restore',
        actions: ['throttle', 'url'],
        snapshot: { existing: async () => 'set-1', roles: async () => [], take: async () => 'set-1' },
        confirmed: true,
      })
      // Someone sets a concurrency of their own after fir's 0.
      await sdk(moto.endpoint()).lambda.send(
        new PutFunctionConcurrencyCommand({ FunctionName: 'pb-restore', ReservedConcurrentExecutions: 3 }),
      )
      const run = (action: string) =>
        runPlaybook(
          ctx,
          loadPlaybookText(restoreStep('pb-restore', action), 'put-back.yaml'),
          {},
          {
            registry: builtinActions(),
          },
        )
      const steps = () =>
        ctx.case.journal
          .all()
          .filter((e) => e.action === 'playbook.step' && e.outcome !== 'started')
          .map((e) => [e.outcome, (e.after as { summary: string }).summary])

      const conflict = await run('throttle')
      expect(conflict.steps.map((s) => [s.outcome, s.summary, s.outputs])).toEqual([
        [
          'conflict',
          'restore pb-restore: throttle conflict',
          { restored: [], conflicts: ['containment.throttle'] },
        ],
      ])
      expect((await functionState(moto.endpoint(), 'pb-restore', role.name)).reserved).toBe(3)
      expect(ctx.infos).toContainEqual(
        expect.stringMatching(
          /^warning: nothing was restored \(conflict\): containment\.throttle on pb-restore; /,
        ),
      )

      // The URL is put back: `undone`, as the journal has it, not `applied`.
      const url = await run('url')
      expect(url.steps.map((s) => [s.outcome, s.summary])).toEqual([
        ['applied', 'restore pb-restore: url undone'],
      ])
      expect(steps()).toEqual([
        ['conflict', 'restore pb-restore: throttle conflict'],
        ['applied', 'restore pb-restore: url undone'],
      ])
    } finally {
      await ctx.case.close()
    }
  })
})
