import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import type { FirContext } from '../../../src/core/context.js'
import { rotationFunctionWarning } from '../../../src/core/credentials/rotate-secret.js'
import { tempDir } from '../../support/cli.js'

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:rotator'
const SECRET = {
  arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf',
  name: 'db',
  rotationEnabled: true,
  rotationLambdaArn: FN,
  currentVersionId: 'v1',
  pendingVersionId: null,
}

describe('the rotation function warning', () => {
  it('says contained and throttled only while the case holds those measures', async () => {
    const handle = await CaseHandle.init('RS', { dir: join(await tempDir(), 'c'), firVersion: 't' })
    const ctx = { case: handle } as unknown as FirContext
    const warning = () => rotationFunctionWarning(ctx, SECRET as never)
    expect(warning()).toBeUndefined()
    const measure = (outcome: 'started' | 'applied' | 'undone') =>
      handle.journal.append({
        action: 'containment.throttle',
        target: FN,
        params: { function: 'rotator', functionArn: FN, region: 'us-east-1' },
        outcome,
      })
    await handle.journal.append({
      action: 'snapshot',
      target: FN,
      params: { functions: [`${FN}:$LATEST`] },
      outcome: 'recorded',
    })
    expect(warning()).toMatch(
      /^the rotation function rotator is a function this case snapshotted as possibly/,
    )
    await measure('started')
    await measure('applied')
    expect(warning()).toMatch(
      /^the rotation function rotator is a function this case contained as possibly compromised: RotateSecret runs its code and gives it the new value \(and while it is throttled it cannot rotate at all\)\./,
    )
    // restored: the undo's own started entry does not put the throttle back
    await measure('started')
    await measure('undone')
    expect(warning()).toMatch(
      /^the rotation function rotator is a function this case snapshotted as possibly/,
    )
    expect(warning()).not.toContain('throttled')
    await handle.close()
  })
})
