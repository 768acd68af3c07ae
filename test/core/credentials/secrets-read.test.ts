import { describe, expect, it } from 'vitest'
import type { CaseHandle } from '../../../src/core/case/case-folder.js'
import { secretsReadByRoles } from '../../../src/core/credentials/secrets-read.js'
import { timelineContext } from '../timeline/context.js'

const ACCOUNT = '123456789012'
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/app/billing-role`
const POLICY_ARN = `arn:aws:iam::${ACCOUNT}:policy/app/billing-read`
const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/billing-AbCdEf`

/** A sealed set as a snapshot leaves it: the role, its attached policy's default version. */
async function snapshotOfRole(handle: CaseHandle): Promise<void> {
  const files: Record<string, { call: string; target: string; body: unknown }> = {
    'iam/roles/billing-role/get-role.json': {
      call: 'iam:GetRole',
      target: ROLE_ARN,
      body: { Role: { RoleName: 'billing-role', Arn: ROLE_ARN } },
    },
    'iam/roles/billing-role/list-attached-role-policies.page-1.json': {
      call: 'iam:ListAttachedRolePolicies',
      target: ROLE_ARN,
      body: { AttachedPolicies: [{ PolicyName: 'billing-read', PolicyArn: POLICY_ARN }] },
    },
    'iam/policies/billing-read/v3.json': {
      call: 'iam:GetPolicyVersion',
      target: `${POLICY_ARN}:v3`,
      body: {
        PolicyVersion: {
          IsDefaultVersion: true,
          Document: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN }],
          }),
        },
      },
    },
  }
  const set = await handle.newEvidenceSet()
  const source = (f: { call: string; target: string }) => ({ call: f.call, target: f.target })
  for (const [path, f] of Object.entries(files)) await set.writeJson(path, f.body, source(f))
  await set.writeJson(
    'calls.json',
    { calls: Object.entries(files).map(([path, f]) => ({ ...source(f), files: [path] })) },
    { call: 'fir:calls' },
  )
  await set.seal()
}

describe('fir creds secrets, from the snapshot', () => {
  it("reads what the role's attached managed policy lets it read from the sealed set", async () => {
    const { ctx, handle } = await timelineContext()
    await snapshotOfRole(handle)
    const report = await secretsReadByRoles(ctx, { roles: ['billing-role'] })
    expect(report.roles).toHaveLength(1)
    expect(report.roles[0]!.exposure).toEqual({
      source: 'snapshot',
      everySecret: false,
      patterns: [SECRET_ARN],
      secrets: ['prod/billing'],
    })
    expect(ctx.gaps.list).toEqual([])
  })
})
