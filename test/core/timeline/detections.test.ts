import { describe, expect, it } from 'vitest'
import {
  DETECTOR_ANY,
  DETECTOR_LEARN,
  fieldValues,
  loadRulePack,
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
})
