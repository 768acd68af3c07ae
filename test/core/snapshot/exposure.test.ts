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
    expect(isPublicStatement(st({ Principal: { AWS: '123456789012' } }), '555555555555')).toBe(true)
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

    expect(analyseExposure([{ qualifier: '$LATEST', url: { ...url, AuthType: 'AWS_IAM' } }])).toEqual([])
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
