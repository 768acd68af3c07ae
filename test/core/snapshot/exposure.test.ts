import { describe, expect, it } from 'vitest'
import { analyseExposure, classifyStatement, isPublicStatement } from '../../../src/core/snapshot/exposure.js'

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:orders'
const st = (over: Record<string, unknown>) => ({
  Sid: 's',
  Effect: 'Allow',
  Action: 'lambda:InvokeFunction',
  Resource: FN,
  ...over,
})

describe('isPublicStatement', () => {
  it('calls * and other accounts public unless a condition pins source account, source ARN or org', () => {
    expect(isPublicStatement(st({ Principal: '*' }))).toBe(true)
    expect(isPublicStatement(st({ Principal: { AWS: '*' } }))).toBe(true)
    expect(isPublicStatement(st({ Principal: { AWS: 'arn:aws:iam::999999999999:root' } }))).toBe(true)
    expect(isPublicStatement(st({ Principal: { AWS: '999999999999' } }))).toBe(true)
    expect(isPublicStatement(st({ Principal: { AWS: 'arn:aws:iam::123456789012:root' } }))).toBe(false)
    expect(
      isPublicStatement(
        st({ Principal: '*', Condition: { StringEquals: { 'AWS:SourceAccount': '123456789012' } } }),
      ),
    ).toBe(false)
    expect(
      isPublicStatement(
        st({
          Principal: '*',
          Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:execute-api:us-east-1:123456789012:abc/*' } },
        }),
      ),
    ).toBe(false)
    expect(
      isPublicStatement(
        st({ Principal: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc123' } } }),
        { organisation: { state: 'member', id: 'o-abc123' } },
      ),
    ).toBe(false)
  })

  it('does not let wildcards, IfExists or negated operators count as narrowing', () => {
    expect(
      isPublicStatement(st({ Principal: '*', Condition: { StringLike: { 'aws:SourceAccount': '*' } } })),
    ).toBe(true)
    expect(
      isPublicStatement(
        st({ Principal: '*', Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:execute-api:*:*:abc/*' } } }),
      ),
    ).toBe(true)
    expect(
      isPublicStatement(
        st({ Principal: '*', Condition: { StringEqualsIfExists: { 'aws:SourceAccount': '123456789012' } } }),
      ),
    ).toBe(true)
    expect(
      isPublicStatement(
        st({ Principal: '*', Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } } }),
      ),
    ).toBe(true)
  })

  it('never calls a Deny public; an explicit account overrides the one in Resource', () => {
    expect(isPublicStatement(st({ Effect: 'Deny', Principal: '*' }))).toBe(false)
    expect(isPublicStatement(st({ Principal: { AWS: '123456789012' } }), { account: '555555555555' })).toBe(
      true,
    )
    expect(isPublicStatement(null)).toBe(false)
  })

  it('reports an unscoped service principal as a confused-deputy exposure, not as public', () => {
    const unscoped = st({ Principal: { Service: 'apigateway.amazonaws.com' } })
    expect(isPublicStatement(unscoped)).toBe(false)
    expect(classifyStatement(unscoped).exposure).toBe('unscoped-service')
    const scoped = st({
      Principal: { Service: 'apigateway.amazonaws.com' },
      Condition: {
        ArnLike: { 'AWS:SourceArn': 'arn:aws:execute-api:us-east-1:123456789012:a1b2/*/POST/orders' },
      },
    })
    expect(classifyStatement(scoped).exposure).toBe('none')
  })
})

describe('a source or organisation condition narrows a statement only to this account or its organisation', () => {
  const own = { account: '123456789012' }
  const classify = (over: Record<string, unknown>, scope: Parameters<typeof classifyStatement>[1] = own) =>
    classifyStatement(st(over), scope)

  it('* pinned to another account by aws:SourceAccount, or a service pinned to another account by aws:SourceArn, is public', () => {
    const otherAccount = classify({
      Principal: '*',
      Condition: { StringEquals: { 'AWS:SourceAccount': '999988887777' } },
    })
    expect(otherAccount.exposure).toBe('public')
    expect(otherAccount.reason).toBe(
      'allows any principal (*), not narrowed to this account: aws:SourceAccount 999988887777 is another account, not this one (123456789012)',
    )
    const otherTopic = classify({
      Principal: { Service: 'sns.amazonaws.com' },
      Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:sns:us-east-1:999988887777:attacker-topic' } },
    })
    expect(otherTopic.exposure).toBe('public')
    expect(otherTopic.reason).toBe(
      'allows an AWS service principal (sns.amazonaws.com), not narrowed to this account: aws:SourceArn arn:aws:sns:us-east-1:999988887777:attacker-topic belongs to another account (999988887777), not this one (123456789012)',
    )
    // one value of another account among several is enough (the values of a key are ORed) …
    expect(
      classify({
        Principal: '*',
        Condition: { StringEquals: { 'AWS:SourceAccount': ['123456789012', '999988887777'] } },
      }).exposure,
    ).toBe('public')
    // … while one key pinned to this account narrows the statement (keys are ANDed)
    expect(
      classify({
        Principal: { Service: 's3.amazonaws.com' },
        Condition: {
          ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::some-bucket' },
          StringEquals: { 'AWS:SourceAccount': '123456789012' },
        },
      }).exposure,
    ).toBe('none')
  })

  it("keeps a SourceAccount or SourceArn of the function's own account not public", () => {
    expect(
      classify({ Principal: '*', Condition: { StringEquals: { 'AWS:SourceAccount': '123456789012' } } }),
    ).toEqual({ exposure: 'none', reason: 'narrowed to this account by a condition' })
    expect(
      classify({
        Principal: { Service: 'sns.amazonaws.com' },
        Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:sns:us-east-1:123456789012:orders' } },
      }).exposure,
    ).toBe('none')
  })

  it("takes aws:PrincipalOrgID as narrowing only for the account's own organisation, and says when it cannot tell", () => {
    const orgStatement = {
      Principal: '*',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-attacker123' } },
    }
    expect(
      classify(orgStatement, { ...own, organisation: { state: 'member', id: 'o-attacker123' } }).exposure,
    ).toBe('none')
    const other = classify(orgStatement, { ...own, organisation: { state: 'member', id: 'o-own456' } })
    expect(other.exposure).toBe('public')
    expect(other.reason).toBe(
      "allows any principal (*), not narrowed to this account: aws:PrincipalOrgID o-attacker123 is not this account's organisation (o-own456)",
    )
    const none = classify(orgStatement, { ...own, organisation: { state: 'none' } })
    expect(none.exposure).toBe('public')
    expect(none.reason).toMatch(
      /aws:PrincipalOrgID o-attacker123 names an organisation, and this account is in none$/,
    )
    for (const scope of [
      own,
      { ...own, organisation: { state: 'unknown' as const, reason: 'denied: AccessDeniedException: no' } },
    ]) {
      const unconfirmed = classify(orgStatement, scope)
      expect(unconfirmed.exposure).toBe('public')
      expect(unconfirmed.reason).toMatch(
        /^allows any principal \(\*\), not narrowed to this account: fir could not confirm that aws:PrincipalOrgID o-attacker123 is this account's organisation \(organizations:DescribeOrganization: .+\), so it is treated as open to that organisation/,
      )
    }
  })

  it('says an S3 bucket ARN pins no account, instead of "without aws:SourceArn"', () => {
    const bucket = classify({
      Principal: { Service: 's3.amazonaws.com' },
      Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::some-bucket' } },
    })
    expect(bucket.exposure).toBe('unscoped-service')
    expect(bucket.reason).not.toMatch(/without aws:SourceArn/)
    expect(bucket.reason).toBe(
      'allows an AWS service principal (s3.amazonaws.com), not narrowed to this account: aws:SourceArn arn:aws:s3:::some-bucket names no account (S3 bucket ARNs carry none), so the same name in any account matches; AWS advises adding aws:SourceAccount',
    )
    expect(classify({ Principal: { Service: 's3.amazonaws.com' } }).reason).toBe(
      'allows an AWS service principal (s3.amazonaws.com) without aws:SourceArn or aws:SourceAccount: the service acting for any account could invoke it',
    )
  })

  it('lets a condition pinning another account or organisation decide, whatever the other conditions say (keys are ANDed)', () => {
    const crossAccountBucket = {
      Principal: { Service: 's3.amazonaws.com' },
      Condition: {
        ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::attacker-bucket' },
        StringEquals: { 'AWS:SourceAccount': '999999999999' },
      },
    }
    const c = classify(crossAccountBucket)
    expect(c.exposure).toBe('public')
    expect(c.reason).toBe(
      'allows an AWS service principal (s3.amazonaws.com), not narrowed to this account: aws:SourceAccount 999999999999 is another account, not this one (123456789012)',
    )
    expect(c.condition).not.toMatch(/advises adding aws:SourceAccount/)
    // the same with the keys in the other order, and with the account taken from Resource
    expect(
      classify({
        ...crossAccountBucket,
        Condition: {
          StringEquals: { 'AWS:SourceAccount': '999999999999' },
          ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::attacker-bucket' },
        },
      }).exposure,
    ).toBe('public')
    expect(isPublicStatement(st(crossAccountBucket))).toBe(true)
    // another account beside this account's organisation, or another organisation beside this
    // account: still pinned elsewhere
    const member = { ...own, organisation: { state: 'member' as const, id: 'o-own456' } }
    expect(
      classify(
        {
          Principal: '*',
          Condition: {
            StringEquals: { 'aws:PrincipalOrgID': 'o-own456', 'AWS:SourceAccount': '999988887777' },
          },
        },
        member,
      ).exposure,
    ).toBe('public')
    const otherOrg = classify(
      {
        Principal: '*',
        Condition: {
          StringEquals: { 'AWS:SourceAccount': '123456789012', 'aws:PrincipalOrgID': 'o-attacker123' },
        },
      },
      member,
    )
    expect(otherOrg.exposure).toBe('public')
    expect(otherOrg.condition).toBe(
      "aws:PrincipalOrgID o-attacker123 is not this account's organisation (o-own456)",
    )
    // an organisation fir cannot confirm beside another account: the other account is the reason
    expect(
      classify({
        Principal: '*',
        Condition: {
          StringEquals: { 'aws:PrincipalOrgID': 'o-abc', 'AWS:SourceAccount': '999988887777' },
        },
      }).condition,
    ).toBe('aws:SourceAccount 999988887777 is another account, not this one (123456789012)')
  })
})

describe('analyseExposure', () => {
  const policy = (...statements: Record<string, unknown>[]) =>
    JSON.stringify({ Version: '2012-10-17', Statement: statements })
  const url = { FunctionUrl: 'https://abc.lambda-url.us-east-1.on.aws/', AuthType: 'NONE' }

  it('a NONE URL is critical only when * has both InvokeFunctionUrl and InvokeFunction (the October 2025 rule)', () => {
    const both = analyseExposure([
      {
        qualifier: '$LATEST',
        url,
        policy: policy(
          st({ Sid: 'url', Principal: '*', Action: 'lambda:InvokeFunctionUrl' }),
          st({ Sid: 'inv', Principal: '*', Action: 'lambda:InvokeFunction' }),
        ),
      },
    ])
    const u = both.find((e) => e.kind === 'function-url')!
    expect(u.level).toBe('critical')
    expect(u.grants).toEqual({ invokeFunctionUrl: true, invokeFunction: true })

    const urlOnly = analyseExposure([
      {
        qualifier: '$LATEST',
        url,
        policy: policy(st({ Principal: '*', Action: 'lambda:InvokeFunctionUrl' })),
      },
    ])
    const v = urlOnly.find((e) => e.kind === 'function-url')!
    expect(v.level).toBe('high')
    expect(v.summary).toMatch(/October 2025/)

    // The opposite: * may call the function (lambda:InvokeFunction), but not the URL.
    const invokeOnly = analyseExposure([
      { qualifier: '$LATEST', url, policy: policy(st({ Sid: 'pub', Principal: '*' })) },
    ])
    const w = invokeOnly.find((e) => e.kind === 'function-url')!
    expect(w.level).toBe('high')
    expect(w.grants).toEqual({ invokeFunctionUrl: false, invokeFunction: true })
    // Before: "no public invoke grant was seen in the resource policy", beside the statement that
    // grants * lambda:InvokeFunction.
    expect(w.summary).toBe(
      `function URL ${url.FunctionUrl} has AuthType NONE; the policy grants * lambda:InvokeFunction but not lambda:InvokeFunctionUrl, which every such URL needs (before and since October 2025): the URL answers no one until that is granted too`,
    )
    expect(invokeOnly.find((e) => e.kind === 'resource-policy')?.summary).toMatch(
      /^statement pub .*\(lambda:InvokeFunction\)$/,
    )

    const none = analyseExposure([{ qualifier: '$LATEST', url }])
    expect(none[0]!.summary).toBe(
      `function URL ${url.FunctionUrl} has AuthType NONE; no statement seen grants * lambda:InvokeFunctionUrl or lambda:InvokeFunction (whoever grants both opens it)`,
    )

    expect(analyseExposure([{ qualifier: '$LATEST', url: { ...url, AuthType: 'AWS_IAM' } }])).toEqual([])
  })

  it('files an S3 trigger of a bucket in another account as a public statement, not an unscoped service', () => {
    const out = analyseExposure(
      [
        {
          qualifier: '$LATEST',
          policy: policy(
            st({
              Sid: 'attacker-s3',
              Principal: { Service: 's3.amazonaws.com' },
              Condition: {
                StringEquals: { 'AWS:SourceAccount': '999999999999' },
                ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::attacker-bucket' },
              },
            }),
          ),
        },
      ],
      { account: '123456789012' },
    )
    expect(out).toHaveLength(1)
    expect(out[0]).toMatchObject({ kind: 'resource-policy', sid: 'attacker-s3', level: 'high' })
    expect(out[0]!.summary).toBe(
      'statement attacker-s3 allows an AWS service principal (s3.amazonaws.com), not narrowed to this account: aws:SourceAccount 999999999999 is another account, not this one (123456789012) (lambda:InvokeFunction)',
    )
  })

  it('reports a statement shared by several qualifiers once, listing them all', () => {
    const p = policy(st({ Sid: 'pub', Principal: '*' }))
    const out = analyseExposure([
      { qualifier: '$LATEST', policy: p },
      { qualifier: '1', policy: p },
      { qualifier: 'live', policy: p },
    ])
    expect(out).toHaveLength(1)
    expect(out[0]).toMatchObject({
      kind: 'resource-policy',
      sid: 'pub',
      level: 'critical',
      qualifiers: ['$LATEST', '1', 'live'],
    })
  })
})
