import { describe, expect, it } from 'vitest'
import { riskyPermissions } from '../../../src/core/snapshot/risky.js'

const doc = (...Statement: Record<string, unknown>[]) => JSON.stringify({ Version: '2012-10-17', Statement })

describe('riskyPermissions', () => {
  it('finds each risky grant with the granting statement and its policy', () => {
    const out = riskyPermissions([
      {
        policy: 'inline:lateral',
        document: doc(
          {
            Sid: 'Pass',
            Effect: 'Allow',
            Action: 'iam:PassRole',
            Resource: 'arn:aws:iam::123456789012:role/x',
          },
          { Sid: 'Assume', Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: '*' },
          { Sid: 'Code', Effect: 'Allow', Action: 'lambda:UpdateFunctionCode', Resource: '*' },
        ),
      },
      {
        policy: 'arn:aws:iam::123456789012:policy/data',
        // URL-encoded, as AWS returns GetPolicyVersion and GetRolePolicy documents.
        document: encodeURIComponent(
          doc(
            { Sid: 'S3', Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::*' },
            { Sid: 'Sec', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' },
          ),
        ),
      },
    ])
    expect(out.map((r) => [r.action, r.policy, r.statement.Sid, r.level])).toEqual([
      ['iam:PassRole', 'inline:lateral', 'Pass', 'high'],
      ['sts:AssumeRole', 'inline:lateral', 'Assume', 'high'],
      ['lambda:UpdateFunctionCode', 'inline:lateral', 'Code', 'high'],
      ['s3:*', 'arn:aws:iam::123456789012:policy/data', 'S3', 'high'],
      ['secretsmanager:GetSecretValue', 'arn:aws:iam::123456789012:policy/data', 'Sec', 'high'],
    ])
  })

  it('reports * on * once as administrator, iam:* instead of PassRole, and NotAction as a broad grant', () => {
    const admin = riskyPermissions([
      { policy: 'p', document: doc({ Effect: 'Allow', Action: '*', Resource: '*' }) },
    ])
    expect(admin.map((r) => [r.action, r.level])).toEqual([['*', 'critical']])
    const iam = riskyPermissions([
      { policy: 'p', document: doc({ Effect: 'Allow', Action: 'iam:*', Resource: '*' }) },
    ])
    expect(iam.map((r) => r.action)).toEqual(['iam:*'])
    const notAction = riskyPermissions([
      { policy: 'p', document: doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }) },
    ])
    expect(notAction.map((r) => r.action)).toEqual(
      expect.arrayContaining(['sts:AssumeRole', 'secretsmanager:GetSecretValue', 's3:*']),
    )
    expect(notAction.map((r) => r.action)).not.toContain('iam:PassRole')
  })

  it('ignores narrow grants, Deny statements and unparseable documents; flags conditions', () => {
    expect(
      riskyPermissions([
        {
          policy: 'p',
          document: doc(
            { Effect: 'Allow', Action: 'iam:Get*', Resource: '*' },
            { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
            { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::123456789012:role/one' },
            { Effect: 'Deny', Action: '*', Resource: '*' },
          ),
        },
        { policy: 'bad', document: '{not json' },
        { policy: 'none', document: undefined },
      ]),
    ).toEqual([])
    const cond = riskyPermissions([
      {
        policy: 'p',
        document: doc({
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: '*',
          Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
        }),
      },
    ])
    expect(cond[0]).toMatchObject({ action: 'iam:PassRole', conditioned: true, level: 'critical' })
  })
})
