import { describe, expect, it } from 'vitest'
import { addPermissionFor, qualifierOfResource } from '../../../src/core/containment/permissions.js'
import { isPublicStatement } from '../../../src/core/snapshot/exposure.js'

const fn = 'arn:aws:lambda:us-east-1:123456789012:function:f'
const allow = (over: Record<string, unknown>) => ({
  Effect: 'Allow',
  Action: 'lambda:InvokeFunction',
  Resource: fn,
  ...over,
})

describe('isPublicStatement (DESIGN §3)', () => {
  it.each([
    ['principal *', allow({ Principal: '*' }), true],
    ['AWS *', allow({ Principal: { AWS: '*' } }), true],
    ['another account', allow({ Principal: { AWS: 'arn:aws:iam::111122223333:root' } }), true],
    ['another account (bare id, as moto shows it)', allow({ Principal: '111122223333' }), true],
    ['own account', allow({ Principal: { AWS: 'arn:aws:iam::123456789012:root' } }), false],
    [
      'service scoped by SourceArn',
      allow({
        Principal: { Service: 'apigateway.amazonaws.com' },
        Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:execute-api:us-east-1:123456789012:abc/*' } },
      }),
      false,
    ],
    [
      "* narrowed by a PrincipalOrgID fir has not confirmed is the account's organisation",
      allow({ Principal: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } } }),
      true,
    ],
    [
      '* narrowed by SourceAccount',
      allow({ Principal: '*', Condition: { StringEquals: { 'AWS:SourceAccount': '123456789012' } } }),
      false,
    ],
    [
      '* with the SourceAccount of another account',
      allow({ Principal: '*', Condition: { StringEquals: { 'AWS:SourceAccount': '999988887777' } } }),
      true,
    ],
    [
      'service scoped by a SourceArn of another account',
      allow({
        Principal: { Service: 'sns.amazonaws.com' },
        Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:sns:us-east-1:999988887777:attacker-topic' } },
      }),
      true,
    ],
    [
      '* with a wildcard SourceAccount',
      allow({ Principal: '*', Condition: { StringLike: { 'AWS:SourceAccount': '*' } } }),
      true,
    ],
    [
      '* with SourceArn of any account',
      allow({ Principal: '*', Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::*' } } }),
      true,
    ],
    [
      '* with an IfExists condition',
      allow({ Principal: '*', Condition: { StringEqualsIfExists: { 'aws:PrincipalOrgID': 'o-abc' } } }),
      true,
    ],
    [
      'public URL statement',
      allow({
        Principal: '*',
        Action: 'lambda:InvokeFunctionUrl',
        Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
      }),
      true,
    ],
    [
      'S3 trigger of a bucket in another account (SourceAccount of another account beside the bucket ARN)',
      allow({
        Principal: { Service: 's3.amazonaws.com' },
        Condition: {
          StringEquals: { 'AWS:SourceAccount': '999999999999' },
          ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::attacker-bucket' },
        },
      }),
      true,
    ],
    [
      'the same, conditions in the other order',
      allow({
        Principal: { Service: 's3.amazonaws.com' },
        Condition: {
          ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::attacker-bucket' },
          StringEquals: { 'AWS:SourceAccount': '999999999999' },
        },
      }),
      true,
    ],
    ['a Deny', { Effect: 'Deny', Principal: '*', Action: '*', Resource: fn }, false],
  ])('%s', (_name, statement, expected) => {
    expect(isPublicStatement(statement)).toBe(expected)
  })
})

describe('addPermissionFor', () => {
  it('re-creates every AddPermission field from an AWS-shaped statement', () => {
    const statement = {
      Sid: 'x',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: 'lambda:InvokeFunction',
      Resource: `${fn}:live`,
      Condition: {
        ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::b' },
        StringEquals: {
          'AWS:SourceAccount': '111122223333',
          'aws:PrincipalOrgID': 'o-1',
          'lambda:FunctionUrlAuthType': 'NONE',
        },
        Bool: { 'lambda:InvokedViaFunctionUrl': 'true' },
      },
    }
    const { input, lost } = addPermissionFor('f', {
      qualifier: qualifierOfResource(statement.Resource, null),
      sid: 'x',
      statement,
      public: true,
    })
    expect(lost).toEqual([])
    expect(input).toEqual({
      FunctionName: 'f',
      StatementId: 'x',
      Action: 'lambda:InvokeFunction',
      Principal: '111122223333',
      Qualifier: 'live',
      SourceArn: 'arn:aws:s3:::b',
      SourceAccount: '111122223333',
      PrincipalOrgID: 'o-1',
      FunctionUrlAuthType: 'NONE',
      InvokedViaFunctionUrl: true,
    })
  })
  it('names what it cannot re-create', () => {
    const statement = {
      Sid: 'y',
      Effect: 'Allow',
      Principal: '*',
      Action: ['a', 'b'],
      Resource: fn,
      Condition: { IpAddress: { 'aws:SourceIp': '1.2.3.4/32' } },
    }
    expect(addPermissionFor('f', { qualifier: null, sid: 'y', statement, public: true }).lost).toEqual([
      'actions beyond a',
      'condition IpAddress aws:SourceIp',
    ])
    // One principal and one value a condition: more would come back narrower than they were.
    const several = {
      ...statement,
      Action: 'lambda:InvokeFunction',
      Principal: { AWS: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:root'] },
      Condition: { StringEquals: { 'AWS:SourceAccount': ['111122223333', '999988887777'] } },
    }
    expect(
      addPermissionFor('f', { qualifier: null, sid: 'z', statement: several, public: true }).lost,
    ).toEqual([
      'principals beyond 111122223333',
      'condition StringEquals AWS:SourceAccount values beyond 111122223333',
    ])
  })
})
