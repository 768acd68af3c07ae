import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GetRolePolicyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam'
import { describe, expect, it } from 'vitest'
import { revokePolicyName } from '../../../src/core/credentials/revoke-policy.js'
import { builtinActions } from '../../../src/core/playbook/actions/index.js'
import { loadPlaybook, loadPlaybookText } from '../../../src/core/playbook/load.js'
import { runPlaybook } from '../../../src/core/playbook/runner.js'
import { AccessDeniedError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'
import { useMoto } from '../../support/emulator.js'
import { FaultProxy } from '../../support/fault-proxy.js'
import { roleSwapRecords, seedRoleSwap } from '../../support/role-swap.js'
import { seedRole } from '../../support/seed.js'
import { sdk, testContext } from '../containment/state.js'

const moto = useMoto()

describe('the lambda-compromise playbook after a role swap', () => {
  it("revokes the sessions of every role the function ran with, and acts on what the stolen role's sessions did", async () => {
    const seed = await seedRoleSwap(moto.endpoint())
    const source = join(await tempDir('fir-swap-'), 'trail.json')
    const start = new Date(Date.now() - 2 * 3_600_000)
    await writeFile(source, JSON.stringify({ Records: roleSwapRecords(seed, start) }))
    const ctx = await testContext(moto.endpoint(), { caseId: 'SWAP' })
    try {
      const result = await runPlaybook(
        ctx,
        await loadPlaybook('lambda-compromise'),
        { function: 'orders-api', source },
        { registry: builtinActions() },
      )
      const step = (id: string) => result.steps.find((s) => s.id === id)!
      // Before: only legacy-admin-role (the role swapped in) was revoked; orders-role, whose
      // sessions were stolen and which versions 1, 2 and alias live run with, kept working.
      const { iam } = sdk(moto.endpoint())
      const revoked: Record<string, boolean> = {}
      for (const role of ['legacy-admin-role', 'orders-role']) {
        const policy = await iam
          .send(new GetRolePolicyCommand({ RoleName: role, PolicyName: revokePolicyName('SWAP') }))
          .catch(() => undefined)
        revoked[role] = decodeURIComponent(policy?.PolicyDocument ?? '').includes('aws:TokenIssueTime')
      }
      expect(revoked).toEqual({ 'legacy-admin-role': true, 'orders-role': true })
      expect(step('seal').outputs).toMatchObject({
        roleName: 'legacy-admin-role',
        roleNames: ['legacy-admin-role', 'orders-role'],
      })
      expect([step('revoke').outcome, step('revoke').outputs.roles]).toEqual([
        'applied',
        ['legacy-admin-role', 'orders-role'],
      ])
      // The timeline's outputs name what the orders-role sessions did.
      expect(step('timeline').outputs).toMatchObject({
        secretsRead: [seed.secretArn],
        accessKeysCreated: [seed.backdoorKeyId],
      })
      expect(step('rotate-secrets').outputs.rotated).toEqual([seed.secretArn])
      expect(step('created-keys').outputs.rotated).toEqual([seed.backdoorKeyId])
      const keys = await iam.send(new ListAccessKeysCommand({ UserName: 'svc-backup' }))
      expect(keys.AccessKeyMetadata?.map((k) => [k.AccessKeyId, k.Status])).toEqual([
        [seed.backdoorKeyId, 'Inactive'],
      ])
    } finally {
      await ctx.case.close()
    }
  })
})

describe('credentials.revoke-sessions (playbook action) with several roles', () => {
  it('skips, naming it, a role of the list deleted since; a role typed as `role` that IAM does not have still fails', async () => {
    await seedRole(moto.endpoint(), { name: 'rs-live' })
    const ctx = await testContext(moto.endpoint(), { caseId: 'RS-MANY' })
    const playbook = (withBlock: string) => `name: revoke
description: revoke roles
steps:
  - id: revoke
    action: credentials.revoke-sessions
    with: ${withBlock}
`
    try {
      const run = (text: string) =>
        runPlaybook(ctx, loadPlaybookText(text, 'revoke.yaml'), {}, { registry: builtinActions() })
      const r = await run(playbook('{ roles: [rs-live, rs-deleted] }'))
      expect(r.steps.map((s) => [s.outcome, s.outputs.roles])).toEqual([['applied', ['rs-live']]])
      expect(r.steps[0]!.summary).toBe(
        'revoke the sessions of roles rs-live, rs-deleted: rs-live applied, rs-deleted skipped (role rs-deleted was deleted since: it has no sessions left to revoke (a deleted role grants its sessions nothing))',
      )
      const typo = await run(playbook('{ role: rs-typo }')).catch((e) => e)
      expect(typo).toBeInstanceOf(Error)
      expect(String(typo.message)).toMatch(/rs-typo/)
    } finally {
      await ctx.case.close()
    }
  })
})

describe('credentials.revoke-sessions (playbook action) AWS denies', () => {
  it('names the IAM action denied in its next step, not the step id', async () => {
    await seedRole(moto.endpoint(), { name: 'rs-denied' })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'PutRolePolicy', fault: 'access-denied' }],
    }).start()
    const ctx = await testContext(proxy.endpoint, { caseId: 'RS-DENY' })
    try {
      const text = `name: revoke
description: revoke a role
steps:
  - id: revoke
    action: credentials.revoke-sessions
    with: { role: rs-denied }
`
      const err = await runPlaybook(
        ctx,
        loadPlaybookText(text, 'revoke.yaml'),
        {},
        { registry: builtinActions() },
      ).catch((e) => e)
      // Before: "grant credentials.revoke-sessions to the caller": a step id, not an IAM action.
      expect(err.code).toBe('access-denied')
      expect(err.actions[0]).toMatch(/^grant iam:PutRolePolicy to the caller /)
      expect(err.cause).toBeInstanceOf(AccessDeniedError)
      expect(err.cause.iamActions).toEqual(['iam:PutRolePolicy'])
    } finally {
      await ctx.case.close()
      await proxy.stop()
    }
  })
})
