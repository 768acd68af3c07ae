import { describe, expect, it } from 'vitest'
import { CORRELATION_RULES, correlate } from '../../../src/core/timeline/correlate.js'
import type { RelatedFacts } from '../../../src/core/timeline/process.js'
import type { TimelineTarget } from '../../../src/core/timeline/related.js'

const target = {
  functionName: 'payments-webhook',
  roles: [{ name: 'payments-webhook-role' }],
} as unknown as TimelineTarget

const CLI = 'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-oem exe/x86_64.ubuntu.22 prompt/off'
const IN_LAMBDA = 'aws-sdk-js/3.600.0 ua/2.0 lang/js md/nodejs#20.15.1 exec-env/AWS_Lambda_nodejs20.x'
const STOLEN = CORRELATION_RULES.callFromStolenCredentialsAddress.rule

let n = 0
function fact(over: Partial<RelatedFacts>): RelatedFacts {
  n++
  return {
    t: n,
    id: `e${n}`,
    reasons: ['function'],
    name: 'GetFunction',
    actorType: 'IAMUser',
    sessionName: null,
    accessKeyId: 'AKIAEXAMPLEKEY000001',
    invokedBy: null,
    sourceIp: '203.0.113.45',
    userAgent: CLI,
    issuedKey: null,
    error: false,
    ...over,
  }
}

/** A call with the execution role's session, as the function makes them or as a thief does. */
function roleCall(over: Partial<RelatedFacts>): RelatedFacts {
  return fact({
    reasons: ['role-credentials'],
    actorType: 'AssumedRole',
    sessionName: 'payments-webhook',
    accessKeyId: 'ASIAEXAMPLESESSION01',
    ...over,
  })
}

function flagged(facts: RelatedFacts[]): string[] {
  const out = correlate(facts, target)
  return facts.filter((f) => out.get(f.id)?.some((x) => x.rule === STOLEN)).map((f) => f.id)
}

describe('correlate: another identity used from where the role was used outside Lambda', () => {
  it('flags the leaked key that changed the code from the address the stolen session came from', () => {
    const stolenUse = roleCall({ name: 'GetSecretValue', sourceIp: '203.0.113.45', userAgent: CLI })
    const leakedKey = fact({ name: 'UpdateFunctionCode', sourceIp: '203.0.113.45' })
    const ciElsewhere = fact({ name: 'UpdateFunctionCode', sourceIp: '52.94.76.10' })
    const otherRole = fact({
      name: 'GetFunction',
      actorType: 'AssumedRole',
      accessKeyId: 'ASIAOTHERROLESESSION',
      sourceIp: '203.0.113.45',
    })
    expect(flagged([leakedKey, stolenUse, ciElsewhere, otherRole])).toEqual([leakedKey.id, otherRole.id])
    const finding = correlate([stolenUse, leakedKey], target).get(leakedKey.id)
    expect(finding).toEqual([
      {
        rule: STOLEN,
        title: 'Another identity used from an address that used the execution role outside Lambda',
        level: 'high',
        tags: ['attack.initial_access', 'attack.t1078', 'attack.t1078.004'],
      },
    ])
  })

  it('flags nothing when the role was used only from inside Lambda, even from a shared address', () => {
    // A function in a VPC and a CI runner behind one NAT gateway share a public address.
    const inLambda = roleCall({ sourceIp: '3.84.20.31', userAgent: IN_LAMBDA })
    const ci = fact({ name: 'UpdateFunctionCode', sourceIp: '3.84.20.31' })
    expect(flagged([inLambda, ci])).toEqual([])
  })

  it('does not take the Lambda service or services acting for the session as stolen use', () => {
    const ip = '198.51.100.7'
    const byService = [
      roleCall({ sourceIp: 'lambda.amazonaws.com', userAgent: 'lambda.amazonaws.com' }),
      roleCall({ sourceIp: 'AWS Internal', userAgent: 'AWS Internal' }),
      roleCall({ sourceIp: ip, invokedBy: 'cloudformation.amazonaws.com' }),
      roleCall({ sourceIp: ip, userAgent: 'awslambda-worker/1.0 rusoto/0.48.0' }),
    ]
    const user = fact({ sourceIp: ip })
    const lambdaUser = fact({ sourceIp: 'lambda.amazonaws.com' })
    expect(flagged([...byService, user, lambdaUser])).toEqual([])
  })

  it("never flags fir's own calls, a service's calls or the role's own sessions", () => {
    const stolenUse = roleCall({ sourceIp: '203.0.113.45' })
    const fir = fact({ reasons: ['function', 'fir'], sourceIp: '203.0.113.45' })
    const service = fact({ actorType: 'AWSService', accessKeyId: null, sourceIp: '203.0.113.45' })
    const invoked = fact({ invokedBy: 'apigateway.amazonaws.com', sourceIp: '203.0.113.45' })
    const sameRole = roleCall({ name: 'ListSecrets', sourceIp: '203.0.113.45' })
    expect(flagged([stolenUse, fir, service, invoked, sameRole])).toEqual([])
  })
})
