import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { secretsReadByRoles } from '../../../src/core/credentials/secrets-read.js'
import { timelineContext } from '../timeline/context.js'

const ACCOUNT = '123456789012'
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/app/billing-role`
const POLICY_ARN = `arn:aws:iam::${ACCOUNT}:policy/app/billing-read`
const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/billing-AbCdEf`

/** A sealed set as a snapshot leaves it: the role, its attached policy's default version. */
async function snapshotOfRole(caseDir: string): Promise<void> {
  const set = join(caseDir, 'evidence', '20261129T000000.000Z')
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
  for (const [path, f] of Object.entries(files)) {
    await mkdir(dirname(join(set, path)), { recursive: true })
    await writeFile(join(set, path), JSON.stringify(f.body))
  }
  const source = (f: { call: string; target: string }) => ({ call: f.call, target: f.target })
  await writeFile(
    join(set, 'manifest.json'),
    JSON.stringify({
      set: '20261129T000000.000Z',
      files: Object.entries(files).map(([path, f]) => ({
        path,
        sha256: '',
        bytes: 0,
        source: source(f),
        at: '',
      })),
    }),
  )
  await writeFile(
    join(set, 'calls.json'),
    JSON.stringify({
      calls: Object.entries(files).map(([path, f]) => ({ ...source(f), files: [path] })),
    }),
  )
}

describe('fir creds secrets, from the snapshot', () => {
  it("reads what the role's attached managed policy lets it read from the sealed set", async () => {
    const { ctx, dir } = await timelineContext()
    await snapshotOfRole(dir)
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
