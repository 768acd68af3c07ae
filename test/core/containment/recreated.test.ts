import { DeleteFunctionCommand, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda'
import { describe, expect, it } from 'vitest'
import { containFunction } from '../../../src/core/containment/contain.js'
import { recreationSign } from '../../../src/core/containment/recreated.js'
import { restoreCase } from '../../../src/core/containment/restore.js'
import { snapshotPort } from '../../../src/core/containment/snapshot-port.js'
import { useMoto } from '../../support/emulator.js'
import { publishVersion, seedAlias, seedFunction, seedPermission, seedRole } from '../../support/seed.js'
import { sdk, testContext } from './state.js'

const moto = useMoto()

const v = (version: string, codeSha256 = 'c1', lastModified = '2026-01-01T00:00:00.000+0000') => ({
  version,
  codeSha256,
  lastModified,
  code: 'match' as const,
})

describe('recreationSign', () => {
  const recorded = { versions: [v('1'), v('2')], aliases: [{ name: 'live', version: '2' }] }

  it('says nothing while a recorded version or alias is there as it was, or when nothing was recorded', () => {
    expect(recreationSign(recorded, { versions: [v('2'), v('3', 'c9')], aliases: [] })).toBeNull()
    // Versions pruned, the alias kept: what version clean-up leaves.
    expect(recreationSign(recorded, { versions: [v('7', 'c9')], aliases: ['live'] })).toBeNull()
    expect(recreationSign({ versions: [], aliases: [] }, { versions: [], aliases: [] })).toBeNull()
    // One instant in two spellings is the same version.
    expect(
      recreationSign(recorded, {
        versions: [{ version: '1', codeSha256: 'c1', lastModified: '2026-01-01T00:00:00Z' }],
        aliases: [],
      }),
    ).toBeNull()
  })

  it('names a recorded version that is there now with other code or another LastModified', () => {
    expect(recreationSign(recorded, { versions: [v('1', 'c2')], aliases: ['live'] })).toBe(
      'its version 1 is not the version 1 the snapshot sealed (a published version never changes)',
    )
    expect(
      recreationSign(recorded, { versions: [v('2', 'c1', '2026-02-01T00:00:00.000+0000')], aliases: [] }),
    ).toMatch(/^its version 2 is not/)
  })

  it('names every recorded version and alias when none of them is left', () => {
    expect(recreationSign(recorded, { versions: [v('3', 'c3')], aliases: ['other'] })).toBe(
      'none of the versions 1, 2 and alias live the snapshot sealed exist now (deleting a function deletes them all)',
    )
    expect(recreationSign({ versions: [], aliases: [{ name: 'live' }] }, { versions: [], aliases: [] })).toBe(
      'none of the alias live the snapshot sealed exists now (deleting a function deletes them all)',
    )
  })
})

describe('restore of a function deleted and re-created under the same name since contain', () => {
  it('warns, before anything is confirmed, that the function there now may be another; a function still the same gets no warning', async () => {
    // Before, restore put the old function's settings on the new one without a word: it lifted a
    // throttle the new owner set and re-added the old public statement.
    const role = await seedRole(moto.endpoint(), { name: 'recreated-role' })
    for (const name of ['recreated-fn', 'kept-fn']) {
      await seedFunction(moto.endpoint(), { name, roleArn: role.arn })
      await publishVersion(moto.endpoint(), name)
      await seedAlias(moto.endpoint(), name, 'live', '1')
      await seedPermission(moto.endpoint(), name, { sid: 'pub', principal: '*' })
    }
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-RECREATED' })
    for (const name of ['recreated-fn', 'kept-fn'])
      await containFunction(ctx, {
        function: name,
        actions: ['throttle', 'permissions'],
        snapshot: snapshotPort,
        confirmed: true,
      })
    const { lambda } = sdk(moto.endpoint())
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'recreated-fn' }))
    await seedFunction(moto.endpoint(), { name: 'recreated-fn', roleArn: role.arn })
    await publishVersion(moto.endpoint(), 'recreated-fn')
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: 'recreated-fn', ReservedConcurrentExecutions: 0 }),
    )

    const plan = await restoreCase(ctx, { dryRun: true })
    const recreated = plan.warnings.filter((w) => /may not be the function this case contained/.test(w))
    expect(recreated).toHaveLength(1)
    expect(recreated[0]).toMatch(
      /^function recreated-fn in us-east-1 may not be the function this case contained: (its version 1 is not the version 1 the snapshot sealed|none of the version 1 and alias live the snapshot sealed exist now).*\(evidence set [^)]+\)\. It was probably deleted and re-created under the same name since; restoring puts the old function's settings on the new one/,
    )
    expect(recreated[0]).not.toMatch(/kept-fn/)
    // Restricted to the function that is still the same, no warning.
    const kept = await restoreCase(ctx, { function: 'kept-fn', dryRun: true })
    expect(kept.warnings.filter((w) => /may not be the function/.test(w))).toEqual([])
  })
})
