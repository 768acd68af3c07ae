import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
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

describe('fir creds secrets, after this case rotated a secret', () => {
  it('lists a secret the case rotated as rotated (with when), not to rotate; one read again since stays to rotate', async () => {
    const { ctx, handle, dir } = await timelineContext()
    await snapshotOfRole(handle)
    const read = (id: string, secretId: string, time: string) => ({
      id,
      time,
      name: 'GetSecretValue',
      actor: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/billing-role/billing-fn` },
      sourceIp: '203.0.113.9',
      error: null,
      requestParameters: { secretId },
    })
    const AGAIN_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/ledger-XyZ123`
    const events = [
      read('e1', SECRET_ARN, '2026-11-20T10:00:00.000Z'),
      read('e2', 'prod/ledger', '2026-11-20T10:00:00.000Z'),
      read('e3', 'prod/ledger', '2026-11-20T12:00:00.000Z'),
      read('e4', 'prod/other', '2026-11-20T10:00:00.000Z'),
    ]
    await mkdir(join(dir, 'timeline'), { recursive: true })
    await writeFile(
      join(dir, 'timeline', 'events.jsonl'),
      `${events.map((e) => JSON.stringify(e)).join('\n')}\n`,
    )
    for (const [target, at] of [
      [SECRET_ARN, '2026-11-20T11:00:00.000Z'],
      [AGAIN_ARN, '2026-11-20T11:00:00.000Z'],
    ] as const) {
      await handle.journal.append({
        action: 'credentials.rotate-secret',
        target,
        params: {},
        outcome: 'started',
        at,
      })
      await handle.journal.append({
        action: 'credentials.rotate-secret',
        target,
        params: {},
        outcome: 'applied',
        at,
      })
    }

    const report = await secretsReadByRoles(ctx, { roles: ['billing-role'] })
    const role = report.roles[0]!
    expect(role.read.map((u) => [u.secret, u.rotatedAt])).toEqual([
      ['prod/billing', '2026-11-20T11:00:00.000Z'],
      ['prod/ledger', '2026-11-20T11:00:00.000Z'],
      ['prod/other', null],
    ])
    // Before: a rotate-secret command for each of the three, prod/billing included.
    expect(role.proposals).toEqual([
      `aws secretsmanager rotate-secret --secret-id prod/ledger --region us-east-1 --endpoint-url http://127.0.0.1:9`,
      `fir creds rotate-secret prod/other --region us-east-1 --endpoint-url http://127.0.0.1:9 --case ${dir}`,
    ])
  })
})

describe('fir creds secrets, same-named secrets in two regions', () => {
  it('lists each as its own secret, and a rotation of one leaves the other to rotate, in its region', async () => {
    const { ctx, handle, dir } = await timelineContext()
    const EU_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:db-pass-QwErTy`
    const US_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:db-pass-AsDfGh`
    const read = (id: string, region: string, secretId: string) => ({
      id,
      time: '2026-11-20T10:00:00.000Z',
      name: 'GetSecretValue',
      region,
      account: ACCOUNT,
      actor: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/billing-role/billing-fn` },
      sourceIp: '203.0.113.9',
      error: null,
      requestParameters: { secretId },
    })
    await mkdir(join(dir, 'timeline'), { recursive: true })
    await writeFile(
      join(dir, 'timeline', 'events.jsonl'),
      `${[read('e1', 'us-east-1', 'db-pass'), read('e2', 'eu-west-1', EU_ARN)].map((e) => JSON.stringify(e)).join('\n')}\n`,
    )
    for (const outcome of ['started', 'applied'] as const)
      await handle.journal.append({
        action: 'credentials.rotate-secret',
        target: US_ARN,
        params: {},
        outcome,
        at: '2026-11-20T11:00:00.000Z',
      })

    const role = (await secretsReadByRoles(ctx, { roles: ['billing-role'] })).roles[0]!
    // Before: one row `db-pass` (2 calls), listed as rotated, and no proposal for eu-west-1.
    expect(role.read.map((u) => [u.label, u.calls, u.rotatedAt])).toEqual([
      [`db-pass (eu-west-1, account ${ACCOUNT})`, 1, null],
      [`db-pass (us-east-1, account ${ACCOUNT})`, 1, '2026-11-20T11:00:00.000Z'],
    ])
    expect(role.proposals).toEqual([
      `fir creds rotate-secret ${EU_ARN} --region eu-west-1 --endpoint-url http://127.0.0.1:9 --case ${dir}`,
    ])
  })
})
