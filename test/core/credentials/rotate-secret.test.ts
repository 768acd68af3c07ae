import { join } from 'node:path'
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { containFunction } from '../../../src/core/containment/contain.js'
import type { FirContext } from '../../../src/core/context.js'
import { rotateSecret, rotationFunctionWarning } from '../../../src/core/credentials/rotate-secret.js'
import { viewJournal } from '../../../src/core/report/journal-view.js'
import { stepTable } from '../../../src/core/steps/render.js'
import { UsageError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'
import { emulatorClient, useMoto } from '../../support/emulator.js'
import { seedFunction, seedRole } from '../../support/seed.js'
import { testContext } from '../containment/state.js'

const moto = useMoto()

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

describe('creds rotate-secret on a secret scheduled for deletion', () => {
  it('refuses before changing anything, naming the date and the command that cancels the deletion', async () => {
    const sm = emulatorClient(SecretsManagerClient, moto.endpoint())
    const role = await seedRole(moto.endpoint(), { name: 'retiring-rotator-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'retiring-rotator', roleArn: role.arn })
    await sm.send(new CreateSecretCommand({ Name: 'retiring/db', SecretString: 'value-never-shown' }))
    await sm.send(
      new RotateSecretCommand({
        SecretId: 'retiring/db',
        RotationLambdaARN: fn.arn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    )
    await sm.send(new DeleteSecretCommand({ SecretId: 'retiring/db', RecoveryWindowInDays: 7 }))
    const before = await sm.send(new DescribeSecretCommand({ SecretId: 'retiring/db' }))
    const deleted = before.DeletedDate!.toISOString()

    const ctx = await testContext(moto.endpoint(), { caseId: 'RS-DEL' })
    const journaled = ctx.case.journal.all().length
    for (const dryRun of [true, false]) {
      // Before: the plan said would-apply, and RotateSecret then failed with AWS's
      // InvalidRequestException (a failed row, exit 4).
      const err = await rotateSecret(ctx, { secretId: 'retiring/db', dryRun, confirmed: true }).catch(
        (e) => e,
      )
      expect(
        err,
        `dry run ${dryRun}: ${JSON.stringify(err.results?.map((r: { outcome: string; error?: string }) => [r.outcome, r.error]) ?? String(err))}`,
      ).toBeInstanceOf(UsageError)
      expect(err.message).toBe(
        `unable to rotate secret retiring/db: it is scheduled for deletion on ${deleted}, and Secrets Manager rotates no secret marked for deletion`,
      )
      expect(err.actions[0]).toBe(
        `to rotate it, cancel the deletion first: aws secretsmanager restore-secret --secret-id ${before.ARN} --region us-east-1 --endpoint-url ${moto.endpoint()}`,
      )
      expect(err.actions[1]).toBe(
        `then run this command again: fir creds rotate-secret retiring/db --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${ctx.case.dir}`,
      )
    }
    expect(ctx.case.journal.all().length).toBe(journaled)
    const after = await sm.send(new DescribeSecretCommand({ SecretId: 'retiring/db' }))
    expect(after.VersionIdsToStages).toEqual(before.VersionIdsToStages)
    await ctx.case.close()
  })
})

describe('creds rotate-secret: the plan and the refusal without rotation', () => {
  it('plans "rotation requested" first: a long state is cut in the table', async () => {
    const sm = emulatorClient(SecretsManagerClient, moto.endpoint())
    const role = await seedRole(moto.endpoint(), { name: 'plan-rotator-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'plan-rotator', roleArn: role.arn })
    await sm.send(new CreateSecretCommand({ Name: 'plan/db', SecretString: 'value-never-shown' }))
    await sm.send(
      new RotateSecretCommand({
        SecretId: 'plan/db',
        RotationLambdaARN: fn.arn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    )
    const ctx = await testContext(moto.endpoint(), { caseId: 'RS-PLAN' })

    const plan = await rotateSecret(ctx, { secretId: 'plan/db', dryRun: true })
    const row = plan.results[0]!
    expect(row.outcome).toBe('would-apply')
    // Before: "AWSCURRENT <id>, AWSPENDING <id> → AWSCURRENT <id>, AWSPENDING <id>": the same,
    // the request cut off at the end of the cell.
    expect(row.afterText).toBe(`rotation requested (a new version); ${row.beforeText}`)
    expect(stepTable(plan.results)).toContain('→ rotation requested (a new version); AWSCURRENT ')
    await ctx.case.close()
  })

  it('says how to configure rotation with the AWS flags given', async () => {
    const sm = emulatorClient(SecretsManagerClient, moto.endpoint())
    await sm.send(new CreateSecretCommand({ Name: 'plan/no-rotation', SecretString: 'value-never-shown' }))
    const ctx = await testContext(moto.endpoint(), { caseId: 'RS-NOROT' })
    const err = await rotateSecret(ctx, { secretId: 'plan/no-rotation', dryRun: true }).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    // Before: no --region and no --endpoint-url: pasted, it acted on the default profile's region.
    expect(err.actions[0]).toBe(
      `configure rotation: aws secretsmanager rotate-secret --secret-id plan/no-rotation --rotation-lambda-arn <rotation-function-arn> --rotation-rules AutomaticallyAfterDays=30 --region us-east-1 --endpoint-url ${moto.endpoint()} (this also rotates once)`,
    )
    await ctx.case.close()
  })
})

describe('creds rotate-secret whose rotation function this case throttled', () => {
  it('is a rotation requested, not confirmed, in the result and the report: AWSCURRENT did not move', async () => {
    const sm = emulatorClient(SecretsManagerClient, moto.endpoint())
    const role = await seedRole(moto.endpoint(), { name: 'held-rotator-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'held-rotator', roleArn: role.arn })
    await sm.send(new CreateSecretCommand({ Name: 'held/db', SecretString: 'value-never-shown' }))
    await sm.send(
      new RotateSecretCommand({
        SecretId: 'held/db',
        RotationLambdaARN: fn.arn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    )
    const ctx = await testContext(moto.endpoint(), { caseId: 'RS-HELD' })
    try {
      await containFunction(ctx, {
        function: 'held-rotator',
        actions: ['throttle'],
        confirmed: true,
        snapshot: { existing: async () => 'set-1', roles: async () => [], take: async () => 'set-1' },
      })
      const r = await rotateSecret(ctx, { secretId: 'held/db', confirmed: true })
      const row = r.results[0]!
      const after = row.after as { currentVersionId: string; requestedVersionId: string }
      expect(row.outcome).toBe('applied')
      expect(after.currentVersionId).toBe((row.before as { currentVersionId: string }).currentVersionId)
      // Before: only "while it is throttled it cannot rotate at all", and the report said "rotated".
      expect(row.notes).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^rotation requested \\(version ${after.requestedVersionId}\\), not confirmed: AWSCURRENT is still ${after.currentVersionId} as read after the request\\.`,
          ),
        ),
      )
      const view = viewJournal(ctx.case.journal.all())
      expect(view.status.detail).not.toMatch(/held\/db[^.]* rotated in this case/)
      expect(view.status.detail).toContain(
        'secret held/db (us-east-1, account 123456789012): rotation requested in this case, not confirmed (AWSCURRENT unchanged',
      )
      expect([...view.secretsRotated]).toEqual([])
      expect(view.secretsRequested.size).toBeGreaterThan(0)
    } finally {
      await ctx.case.close()
    }
  })

  it('is requested again by a re-run while AWSCURRENT has not moved, and already-applied once it has', async () => {
    const sm = emulatorClient(SecretsManagerClient, moto.endpoint())
    const role = await seedRole(moto.endpoint(), { name: 'again-rotator-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'again-rotator', roleArn: role.arn })
    await sm.send(new CreateSecretCommand({ Name: 'again/db', SecretString: 'value-never-shown' }))
    await sm.send(
      new RotateSecretCommand({
        SecretId: 'again/db',
        RotationLambdaARN: fn.arn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    )
    const ctx = await testContext(moto.endpoint(), { caseId: 'RS-AGAIN' })
    try {
      type Versions = { currentVersionId: string; requestedVersionId?: string }
      // The rotation function never ran (moto's does not move AWSCURRENT, as one throttled would not).
      const first = (await rotateSecret(ctx, { secretId: 'again/db', confirmed: true })).results[0]!
      const was = (first.before as Versions).currentVersionId
      expect(first.outcome).toBe('applied')
      expect((first.after as Versions).currentVersionId).toBe(was)

      // Before: already-applied, no RotateSecret: the responder had to use the aws CLI.
      const again = (await rotateSecret(ctx, { secretId: 'again/db', confirmed: true })).results[0]!
      expect(again.outcome).toBe('applied')
      const requested = (again.after as Versions).requestedVersionId!
      expect(requested).not.toBe((first.after as Versions).requestedVersionId)
      expect(
        (await sm.send(new DescribeSecretCommand({ SecretId: 'again/db' }))).VersionIdsToStages,
      ).toHaveProperty(requested)

      // The rotation function finishes: AWSCURRENT on the version requested.
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'again/db',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: requested,
          RemoveFromVersionId: was,
        }),
      )
      const done = (await rotateSecret(ctx, { secretId: 'again/db', confirmed: true })).results[0]!
      expect(done.outcome).toBe('already-applied')
      expect((done.after as Versions).currentVersionId).toBe(requested)
      expect(
        ctx.case.journal
          .all()
          .filter((e) => e.action === 'credentials.rotate-secret')
          .map((e) => e.outcome),
      ).toEqual(['started', 'applied', 'started', 'applied', 'already-applied'])
    } finally {
      await ctx.case.close()
    }
  })

  it('a run killed after its RotateSecret landed is already-applied on the re-run that settles it', async () => {
    const sm = emulatorClient(SecretsManagerClient, moto.endpoint())
    const role = await seedRole(moto.endpoint(), { name: 'killed-rotator-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'killed-rotator', roleArn: role.arn })
    await sm.send(new CreateSecretCommand({ Name: 'killed/db', SecretString: 'value-never-shown' }))
    await sm.send(
      new RotateSecretCommand({
        SecretId: 'killed/db',
        RotationLambdaARN: fn.arn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    )
    const ctx = await testContext(moto.endpoint(), { caseId: 'RS-KILLED' })
    try {
      const plan = (await rotateSecret(ctx, { secretId: 'killed/db', dryRun: true })).results[0]!
      // The killed run: its started entry, RotateSecret landed, no outcome journaled.
      await ctx.case.journal.append({
        action: 'credentials.rotate-secret',
        target: plan.target,
        params: { secretId: 'killed/db' },
        outcome: 'started',
        prior: plan.before,
      })
      // (with its function: moto's RotateSecret without one drops it, and AWSPENDING with it)
      await sm.send(new RotateSecretCommand({ SecretId: 'killed/db', RotationLambdaARN: fn.arn }))
      const settled = (await rotateSecret(ctx, { secretId: 'killed/db', confirmed: true })).results[0]!
      expect(settled.outcome).toBe('already-applied')
      // Settled, and AWSCURRENT still where it was: not confirmed, so asked again.
      const again = (await rotateSecret(ctx, { secretId: 'killed/db', confirmed: true })).results[0]!
      expect(again.outcome).toBe('applied')
    } finally {
      await ctx.case.close()
    }
  })
})
