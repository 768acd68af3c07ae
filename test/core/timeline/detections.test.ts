import { describe, expect, it } from 'vitest'
import {
  DETECTOR_ANY,
  DETECTOR_LEARN,
  fieldValues,
  loadRulePack,
  MergeDetector,
} from '../../../src/core/timeline/detections.js'

describe('fieldValues', () => {
  it('reads a dotted path, walking an array met on the way a level', () => {
    const arns = fieldValues('resources.ARN')
    expect(arns({ resources: [{ ARN: 'a' }, { ARN: 'b' }, { type: 'x' }, ['nested'], null] })).toEqual([
      'a',
      'b',
    ])
    expect(arns({ resources: { ARN: 'one' } })).toEqual(['one'])
    expect(arns({ resources: 'not an object' })).toEqual([])
    expect(arns({})).toEqual([])
  })

  it('gives the strings of an array at the end and nothing for other values', () => {
    const issuer = fieldValues('userIdentity.sessionContext.sessionIssuer.arn')
    const record = (arn: unknown) => ({ userIdentity: { sessionContext: { sessionIssuer: { arn } } } })
    expect(issuer(record('arn:aws:iam::1:role/r'))).toEqual(['arn:aws:iam::1:role/r'])
    expect(issuer(record(['x', 3, 'y', null]))).toEqual(['x', 'y'])
    expect(issuer(record(42))).toEqual([])
    expect(issuer(record(null))).toEqual([])
    expect(issuer({ userIdentity: null })).toEqual([])
  })

  it('reads own fields only as the record holds them, not the prototype', () => {
    expect(fieldValues('constructor.name')({})).toEqual([])
  })
})

describe('rule pack marks for the merge-time detector', () => {
  const session = (issuer: string, extra: Record<string, unknown> = {}) => ({
    eventTime: '2025-03-01T00:00:00Z',
    eventSource: 's3.amazonaws.com',
    eventName: 'ListBuckets',
    sourceIPAddress: '203.0.113.7',
    userAgent: 'aws-cli/2.15.0',
    userIdentity: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::111122223333:assumed-role/${issuer.split('/').at(-1)}/s`,
      sessionContext: { sessionIssuer: { type: 'Role', arn: issuer } },
    },
    ...extra,
  })

  it('names the role a function-role-scoped rule would need, lower-cased, once', async () => {
    const pack = await loadRulePack()
    const marks = pack.classify(session('arn:aws:iam::111122223333:role/service-role/Orders-Role'))
    expect(marks.scopeRoles).toBe('orders-role')
    // Called again for the same role (remembered): the same answer.
    expect(pack.classify(session('arn:aws:iam::111122223333:role/service-role/Orders-Role')).scopeRoles).toBe(
      'orders-role',
    )
    expect(pack.classify(session('arn:aws:iam::111122223333:role/Other')).scopeRoles).toBe('other')
  })

  it('marks nothing for a call no detector rule can concern', async () => {
    const pack = await loadRulePack()
    const marks = pack.classify({
      eventTime: '2025-03-01T00:00:00Z',
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice' },
    })
    expect(marks).toEqual({ flags: 0, scopeRoles: '' })
  })

  it('marks the records that teach a function its role', async () => {
    const pack = await loadRulePack()
    const marks = pack.classify({
      eventTime: '2025-03-01T00:00:00Z',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'CreateFunction20150331',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/ci' },
      requestParameters: { functionName: 'f', role: 'arn:aws:iam::111122223333:role/f-role' },
    })
    expect(marks.flags & DETECTOR_LEARN).toBe(DETECTOR_LEARN)
    expect(marks.flags & DETECTOR_ANY).toBe(0)
  })

  it('marks a record once for rules scoped by the same field, and shares marks between records', async () => {
    const pack = await loadRulePack()
    // Both rules about a function role's session (outside Lambda, outside AWS ranges) match.
    const a = pack.classify(session('arn:aws:iam::111122223333:role/Orders-Role'))
    const b = pack.classify(session('arn:aws:iam::111122223333:role/Orders-Role'))
    expect(a.scopeRoles).toBe('orders-role')
    expect(b).toBe(a)
  })

  it('does not mark for rules that need AWS address ranges when the run has none', async () => {
    // A call from the Lambda runtime's user agent: only the outside-AWS-ranges rule concerns it.
    const fromRuntime = session('arn:aws:iam::111122223333:role/orders-role', {
      userAgent: 'aws-sdk-js/3.600.0 exec-env/AWS_Lambda_nodejs20.x',
    })
    expect((await loadRulePack()).classify(fromRuntime).scopeRoles).toBe('orders-role')
    expect((await loadRulePack([], { awsIpRanges: true })).classify(fromRuntime).scopeRoles).toBe(
      'orders-role',
    )
    expect((await loadRulePack([], { awsIpRanges: false })).classify(fromRuntime)).toEqual({
      flags: 0,
      scopeRoles: '',
    })
    // A call from outside Lambda is still marked for the rule that needs no ranges.
    expect(
      (await loadRulePack([], { awsIpRanges: false })).classify(session('arn:aws:iam::1:role/orders-role'))
        .scopeRoles,
    ).toBe('orders-role')
  })
})

describe('MergeDetector.wants', () => {
  it('wants a row of a function role whose name holds a comma (IAM allows one)', async () => {
    const detector = new MergeDetector(await loadRulePack(), {
      functionRoles: ['arn:aws:iam::111122223333:role/svc,orders'],
    })
    expect(detector.wants(0, 'svc,orders')).toBe(true)
    expect(detector.wants(0, 'other,svc,orders')).toBe(true)
    expect(detector.wants(0, 'svc')).toBe(false)
    expect(detector.wants(0, 'orders')).toBe(false)
  })

  it("wants the rows of a role once it has learnt that role is a function's", async () => {
    const detector = new MergeDetector(await loadRulePack(), { functionRoles: ['given-role'] })
    expect(detector.wants(0, 'given-role')).toBe(true)
    expect(detector.wants(0, 'new-role')).toBe(false)
    expect(detector.wants(0, 'other,new-role')).toBe(false)
    detector.evaluate({
      eventTime: '2025-03-01T00:00:00Z',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'CreateFunction20150331',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/ci' },
      requestParameters: { functionName: 'f', role: 'arn:aws:iam::111122223333:role/New-Role' },
    })
    expect(detector.wants(0, 'new-role')).toBe(true)
    expect(detector.wants(0, 'other,new-role')).toBe(true)
    expect(detector.wants(0, 'other')).toBe(false)
  })
})
