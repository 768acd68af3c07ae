import { describe, expect, it } from 'vitest'
import type { CaseHandle } from '../../../src/core/case/case-folder.js'
import { findLeakedKeys, keyOwnerForRotation } from '../../../src/core/credentials/keys.js'
import { useMoto } from '../../support/emulator.js'
import { seedUserWithKey, TEST_ACCOUNT } from '../../support/seed.js'
import { testContext } from '../athena/context.js'

const moto = useMoto()
const OTHER_ACCOUNT = '210987654321'

/** A sealed snapshot whose summary found these keys in a function's environment (the part keys.ts reads). */
async function summaryWithKeys(handle: CaseHandle, keys: string[]): Promise<string> {
  const set = await handle.newEvidenceSet()
  await set.writeJson(
    'summary.json',
    {
      set: set.name,
      functions: [
        {
          name: 'orders-api',
          arn: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:orders-api`,
          accessKeyIds: keys,
        },
      ],
    },
    { call: 'fir:summary' },
  )
  await set.seal()
  return set.name
}

describe('leaked access keys and the account that owns them (sts:GetAccessKeyInfo)', () => {
  it("points a key of another account there instead of looking for its user here, and rotates only this account's keys", async () => {
    const here = await seedUserWithKey(moto.endpoint(), 'deployer-here')
    const away = await seedUserWithKey(moto.endpoint(), 'deployer-away', OTHER_ACCOUNT)
    const { ctx, handle } = await testContext(moto.endpoint())
    await summaryWithKeys(handle, [here.accessKeyId, away.accessKeyId])

    const keys = await findLeakedKeys(ctx)
    const local = keys.find((k) => k.accessKeyId === here.accessKeyId)!
    const foreign = keys.find((k) => k.accessKeyId === away.accessKeyId)!
    expect(local).toMatchObject({ account: TEST_ACCOUNT, owner: 'deployer-here', status: 'Active' })
    expect(local.proposal).toContain(`--user deployer-here --access-key ${here.accessKeyId}`)
    // moto, like IAM, would name the other account's user: that user does not exist here, so
    // proposing to rotate it here would fail (or hit a namesake).
    expect(foreign).toMatchObject({ account: OTHER_ACCOUNT, owner: null, proposal: null })
    expect(foreign.note).toContain(`belongs to account ${OTHER_ACCOUNT}, not this one (${TEST_ACCOUNT})`)
    expect(foreign.note).toContain(`--role-arn arn:aws:iam::${OTHER_ACCOUNT}:role/`)
    expect(ctx.gaps.list).toEqual([])

    await expect(keyOwnerForRotation(ctx, here.accessKeyId)).resolves.toBe('deployer-here')
    await expect(keyOwnerForRotation(ctx, away.accessKeyId)).rejects.toThrow(
      new RegExp(
        `unable to rotate access key ${away.accessKeyId} here: it belongs to account ${OTHER_ACCOUNT}`,
      ),
    )
    // moto places a key it never issued in the caller's account; IAM there does not know it.
    await expect(keyOwnerForRotation(ctx, 'AKIAZZZZZZZZZZZZZZZZ')).rejects.toThrow(
      `IAM in account ${TEST_ACCOUNT} does not know it (deleted already, or not a real key)`,
    )
  })

  it('still lists a key a later snapshot no longer finds in the environment, and says so', async () => {
    // A developer (or the attacker covering tracks) took the key out of the function's environment
    // after the first snapshot: the key is as leaked as before, and still Active.
    const leaked = await seedUserWithKey(moto.endpoint(), 'k2user')
    const { ctx, handle } = await testContext(moto.endpoint())
    const first = await summaryWithKeys(handle, [leaked.accessKeyId])
    const second = await summaryWithKeys(handle, [])

    const keys = await findLeakedKeys(ctx)
    // Before: [] ("No long-term access keys (AKIA…) in the snapshots of this case").
    expect(keys.map((k) => k.accessKeyId)).toEqual([leaked.accessKeyId])
    expect(keys[0]).toMatchObject({ owner: 'k2user', status: 'Active' })
    expect(keys[0]!.proposal).toContain(`--user k2user --access-key ${leaked.accessKeyId}`)
    expect(keys[0]!.foundIn).toEqual([
      {
        function: 'orders-api',
        arn: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:orders-api`,
        qualifier: '$LATEST',
        set: first,
        notFoundBy: second,
      },
    ])
  })
})
