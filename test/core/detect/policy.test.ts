import { describe, expect, it } from 'vitest'
import { revokeDocument } from '../../../src/core/credentials/revoke-policy.js'
import { evaluate } from '../../../src/core/detect/index.js'
import { policyGrant } from '../../../src/core/detect/policy.js'
import { refusal, ruleFrom } from './helpers.js'

describe('policyGrant', () => {
  it('reads an Allow of Action * in every shape a record holds it', () => {
    const allowAll = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }
    expect(policyGrant(JSON.stringify(allowAll))).toBe('all-actions')
    expect(policyGrant(JSON.stringify(allowAll, null, 2))).toBe('all-actions')
    expect(policyGrant(encodeURIComponent(JSON.stringify(allowAll, null, 2)))).toBe('all-actions')
    expect(policyGrant(allowAll)).toBe('all-actions')
    expect(
      policyGrant({ Statement: { Effect: 'Allow', Action: ['s3:GetObject', '*'], NotResource: 'x' } }),
    ).toBe('all-actions')
    expect(policyGrant({ statement: [{ effect: 'allow', action: '*' }] })).toBe('all-actions')
  })

  it('tells a grant of some actions, and a policy that only denies', () => {
    expect(policyGrant({ Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] })).toBe(
      'some-actions',
    )
    expect(policyGrant({ Statement: [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }] })).toBe(
      'some-actions',
    )
    expect(
      policyGrant({
        Statement: [
          { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
          { Effect: 'Deny', Action: '*', Resource: '*' },
        ],
      }),
    ).toBe('some-actions')
    expect(policyGrant(JSON.stringify(revokeDocument('2026-11-30T06:27:24Z')))).toBe('nothing')
  })

  it('leaves what is not a readable policy document undecided', () => {
    for (const v of [undefined, null, '', '{}', '{"Statement":', '%7B%zz', 42, ['*'], { Statement: ['*'] }])
      expect(policyGrant(v), JSON.stringify(v)).toBeUndefined()
  })
})

describe('fir.policy on the IAM rules', () => {
  it('is stateless: a rule with only fir.policy needs no detector', () => {
    const rule = ruleFrom(
      'sel:\n  eventName: PutUserPolicy\ncondition: sel',
      'fir:\n  policy: { document: requestParameters.policyDocument, allows: all-actions }\n',
    )
    expect(rule.needsDetector).toBe(false)
    const record = (Effect: string) => ({
      eventName: 'PutUserPolicy',
      requestParameters: { policyDocument: { Statement: [{ Effect, Action: '*' }] } },
    })
    expect(evaluate([rule], record('Allow'))).toHaveLength(1)
    expect(evaluate([rule], record('Deny'))).toHaveLength(0)
  })

  it('refuses a policy block fir cannot apply', () => {
    expect(
      refusal('sel:\n  a: 1\ncondition: sel', 'fir:\n  policy: { document: p, allows: everything }\n'),
    ).toMatch(/fir.*policy\.allows/)
    expect(refusal('sel:\n  a: 1\ncondition: sel', 'fir:\n  policy: { allows: all-actions }\n')).toMatch(
      /fir.*policy\.document/,
    )
  })
})
