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

  it('flags IAM privilege escalation: critical on *, high on named resources', () => {
    const escalations = [
      'iam:CreateAccessKey',
      'iam:CreateLoginProfile',
      'iam:UpdateLoginProfile',
      'iam:PutUserPolicy',
      'iam:PutRolePolicy',
      'iam:PutGroupPolicy',
      'iam:AttachUserPolicy',
      'iam:AttachRolePolicy',
      'iam:AttachGroupPolicy',
      'iam:CreatePolicyVersion',
      'iam:UpdateAssumeRolePolicy',
    ]
    for (const action of escalations) {
      const onAll = riskyPermissions([
        { policy: 'inline:p', document: doc({ Sid: 'X', Effect: 'Allow', Action: action, Resource: '*' }) },
      ])
      expect(
        onAll.map((r) => [r.action, r.resource, r.statement.Sid, r.level]),
        action,
      ).toEqual([[action, '*', 'X', 'critical']])
      const named = riskyPermissions([
        {
          policy: 'inline:p',
          document: doc({ Effect: 'Allow', Action: action, Resource: 'arn:aws:iam::123456789012:user/bob' }),
        },
      ])
      expect(
        named.map((r) => [r.action, r.level]),
        action,
      ).toEqual([[action, 'high']])
    }
    const setDefault = (Resource: string) =>
      riskyPermissions([
        { policy: 'p', document: doc({ Effect: 'Allow', Action: 'iam:SetDefaultPolicyVersion', Resource }) },
      ]).map((r) => r.level)
    expect(setDefault('*')).toEqual(['high'])
    expect(setDefault('arn:aws:iam::123456789012:policy/app')).toEqual(['medium'])
    // A wildcard in the statement names each action it grants; iam:* on * is reported once.
    expect(
      riskyPermissions([
        { policy: 'p', document: doc({ Effect: 'Allow', Action: 'iam:Put*Policy', Resource: '*' }) },
      ]).map((r) => r.action),
    ).toEqual(['iam:PutUserPolicy', 'iam:PutGroupPolicy', 'iam:PutRolePolicy'])
    expect(
      riskyPermissions([
        { policy: 'p', document: doc({ Effect: 'Allow', Action: ['iam:*', 'sts:*'], Resource: '*' }) },
      ]).map((r) => r.action),
    ).toEqual(['iam:*', 'sts:AssumeRole'])
    // Reading IAM, or managing only the caller's own MFA device, is not escalation.
    expect(
      riskyPermissions([
        {
          policy: 'p',
          document: doc({
            Effect: 'Allow',
            Action: ['iam:Get*', 'iam:List*', 'iam:CreateVirtualMFADevice', 'iam:CreateServiceLinkedRole'],
            Resource: '*',
          }),
        },
      ]),
    ).toEqual([])
  })

  it('flags lambda:CreateFunction and UpdateFunctionConfiguration only together with iam:PassRole', () => {
    const lambda = {
      policy: 'inline:deploy',
      document: doc({
        Sid: 'Deploy',
        Effect: 'Allow',
        Action: ['lambda:CreateFunction', 'lambda:UpdateFunctionConfiguration'],
        Resource: '*',
      }),
    }
    expect(riskyPermissions([lambda])).toEqual([])
    const passOne = {
      policy: 'arn:aws:iam::123456789012:policy/pass',
      document: doc({
        Sid: 'PassOne',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: 'arn:aws:iam::123456789012:role/worker',
      }),
    }
    expect(riskyPermissions([lambda, passOne]).map((r) => [r.action, r.statement.Sid, r.level])).toEqual([
      ['lambda:CreateFunction', 'Deploy', 'high'],
      ['lambda:UpdateFunctionConfiguration', 'Deploy', 'high'],
      ['iam:PassRole', 'PassOne', 'high'],
    ])
    // Passing any role makes it any role's permissions.
    const passAny = {
      policy: 'inline:pass',
      document: doc({ Sid: 'PassAny', Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' }),
    }
    expect(riskyPermissions([lambda, passAny]).map((r) => [r.action, r.level])).toEqual([
      ['lambda:CreateFunction', 'critical'],
      ['lambda:UpdateFunctionConfiguration', 'critical'],
      ['iam:PassRole', 'critical'],
    ])
  })
})
