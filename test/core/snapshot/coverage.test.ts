import { describe, expect, it } from 'vitest'
import type { AdvancedEventSelector } from '../../../src/aws/trails.js'
import { invokeCoverage, type RegionCoverage, type TrailFacts } from '../../../src/core/snapshot/coverage.js'

const FN = 'arn:aws:lambda:us-west-2:123456789012:function:westfn'
const TRAIL = 'arn:aws:cloudtrail:us-west-2:123456789012:trail/west-trail'

type Field = NonNullable<AdvancedEventSelector['FieldSelectors']>[number]

/** A Lambda data event selector: eventCategory = Data, resources.type = the function type, then `more`. */
function lambdaSelector(...more: Field[]): AdvancedEventSelector {
  return {
    FieldSelectors: [
      { Field: 'eventCategory', Equals: ['Data'] },
      { Field: 'resources.type', Equals: ['AWS::Lambda::Function'] },
      ...more,
    ],
  }
}

function trail(advanced: AdvancedEventSelector[], overrides: Partial<TrailFacts> = {}): TrailFacts {
  return {
    arn: TRAIL,
    name: 'west-trail',
    homeRegion: 'us-west-2',
    multiRegion: false,
    logging: true,
    selectors: { basic: [], advanced },
    files: [],
    ...overrides,
  }
}

function coverage(...trails: TrailFacts[]): RegionCoverage {
  return { region: 'us-west-2', known: true, trails, files: [] }
}

const verdict = (...selectors: AdvancedEventSelector[]) =>
  invokeCoverage(coverage(trail(selectors)), FN).lambdaDataEvents

describe('invokeCoverage with advanced event selectors', () => {
  it.each<[string, Field[], 'recorded' | 'not-recorded' | 'unknown']>([
    ['all Lambda data events', [], 'recorded'],
    // resources.ARN, every operator
    ['ARN Equals the function', [{ Field: 'resources.ARN', Equals: [FN] }], 'recorded'],
    ['ARN Equals another function', [{ Field: 'resources.ARN', Equals: [`${FN}2`] }], 'not-recorded'],
    [
      'ARN StartsWith the account',
      [{ Field: 'resources.ARN', StartsWith: ['arn:aws:lambda:us-west-2:123456789012:'] }],
      'recorded',
    ],
    [
      'ARN StartsWith another region',
      [{ Field: 'resources.ARN', StartsWith: ['arn:aws:lambda:us-east-1:'] }],
      'not-recorded',
    ],
    ['ARN EndsWith the name', [{ Field: 'resources.ARN', EndsWith: [':function:westfn'] }], 'recorded'],
    [
      'ARN EndsWith another name',
      [{ Field: 'resources.ARN', EndsWith: [':function:eastfn'] }],
      'not-recorded',
    ],
    ['ARN NotEquals the function', [{ Field: 'resources.ARN', NotEquals: [FN] }], 'not-recorded'],
    ['ARN NotEquals another function', [{ Field: 'resources.ARN', NotEquals: [`${FN}2`] }], 'recorded'],
    [
      'ARN NotStartsWith the account',
      [{ Field: 'resources.ARN', NotStartsWith: ['arn:aws:lambda:us-west-2:123456789012:'] }],
      'not-recorded',
    ],
    [
      'ARN NotStartsWith another account',
      [{ Field: 'resources.ARN', NotStartsWith: ['arn:aws:lambda:us-west-2:999988887777:'] }],
      'recorded',
    ],
    [
      'ARN NotEndsWith the name',
      [{ Field: 'resources.ARN', NotEndsWith: [':function:westfn'] }],
      'not-recorded',
    ],
    [
      'ARN NotEndsWith another name',
      [{ Field: 'resources.ARN', NotEndsWith: [':function:eastfn'] }],
      'recorded',
    ],
    [
      'ARN: one of several NotEquals values is the function',
      [{ Field: 'resources.ARN', NotEquals: [`${FN}2`, FN] }],
      'not-recorded',
    ],
    [
      'ARN: one of several Equals values is the function',
      [{ Field: 'resources.ARN', Equals: [`${FN}2`, FN] }],
      'recorded',
    ],
    [
      'ARN StartsWith the account but NotEndsWith the name',
      [{ Field: 'resources.ARN', StartsWith: ['arn:aws:lambda:'], NotEndsWith: [':westfn'] }],
      'not-recorded',
    ],
    [
      'ARN Equals a version of the function (depends on the qualifier called)',
      [{ Field: 'resources.ARN', Equals: [`${FN}:1`] }],
      'unknown',
    ],
    [
      'ARN NotEquals an alias of the function',
      [{ Field: 'resources.ARN', NotEquals: [`${FN}:prod`] }],
      'unknown',
    ],
    [
      'ARN Equals and StartsWith both match',
      [{ Field: 'resources.ARN', Equals: [FN], StartsWith: ['arn:aws:lambda:'] }],
      'recorded',
    ],
    [
      'ARN Equals and StartsWith, neither matches',
      [{ Field: 'resources.ARN', Equals: [`${FN}2`], StartsWith: ['arn:aws:s3:'] }],
      'not-recorded',
    ],
    [
      'ARN Equals matches, StartsWith does not (AND or OR?)',
      [{ Field: 'resources.ARN', Equals: [FN], StartsWith: ['arn:aws:s3:'] }],
      'unknown',
    ],
    [
      'two ARN field selectors, the second excludes',
      [
        { Field: 'resources.ARN', StartsWith: ['arn:aws:lambda:'] },
        { Field: 'resources.ARN', NotEndsWith: [':westfn'] },
      ],
      'not-recorded',
    ],
    // eventName, every operator
    ['eventName Equals Invoke', [{ Field: 'eventName', Equals: ['Invoke'] }], 'recorded'],
    ['eventName Equals another call', [{ Field: 'eventName', Equals: ['GetObject'] }], 'not-recorded'],
    ['eventName StartsWith Inv', [{ Field: 'eventName', StartsWith: ['Inv'] }], 'recorded'],
    ['eventName StartsWith Get', [{ Field: 'eventName', StartsWith: ['Get'] }], 'not-recorded'],
    ['eventName EndsWith voke', [{ Field: 'eventName', EndsWith: ['voke'] }], 'recorded'],
    ['eventName EndsWith Stream', [{ Field: 'eventName', EndsWith: ['Stream'] }], 'not-recorded'],
    ['eventName NotEquals Invoke', [{ Field: 'eventName', NotEquals: ['Invoke'] }], 'not-recorded'],
    [
      'eventName NotEquals another call',
      [{ Field: 'eventName', NotEquals: ['InvokeWithResponseStream'] }],
      'recorded',
    ],
    ['eventName NotStartsWith Invoke', [{ Field: 'eventName', NotStartsWith: ['Invoke'] }], 'not-recorded'],
    ['eventName NotStartsWith Get', [{ Field: 'eventName', NotStartsWith: ['Get'] }], 'recorded'],
    ['eventName NotEndsWith oke', [{ Field: 'eventName', NotEndsWith: ['oke'] }], 'not-recorded'],
    ['eventName NotEndsWith Stream', [{ Field: 'eventName', NotEndsWith: ['Stream'] }], 'recorded'],
    ['eventName is case-sensitive', [{ Field: 'eventName', Equals: ['invoke'] }], 'not-recorded'],
    // readOnly: Invoke is a write (readOnly false)
    ['readOnly Equals false', [{ Field: 'readOnly', Equals: ['false'] }], 'recorded'],
    ['readOnly Equals true', [{ Field: 'readOnly', Equals: ['true'] }], 'not-recorded'],
    ['readOnly NotEquals false', [{ Field: 'readOnly', NotEquals: ['false'] }], 'not-recorded'],
    ['readOnly NotEquals true', [{ Field: 'readOnly', NotEquals: ['true'] }], 'recorded'],
    ['readOnly StartsWith f', [{ Field: 'readOnly', StartsWith: ['f'] }], 'recorded'],
    ['readOnly NotStartsWith f', [{ Field: 'readOnly', NotStartsWith: ['f'] }], 'not-recorded'],
    ['readOnly EndsWith e', [{ Field: 'readOnly', EndsWith: ['e'] }], 'recorded'],
    ['readOnly NotEndsWith lse', [{ Field: 'readOnly', NotEndsWith: ['lse'] }], 'not-recorded'],
    // eventSource, eventType: the same for every Invoke
    ['eventSource Equals lambda', [{ Field: 'eventSource', Equals: ['lambda.amazonaws.com'] }], 'recorded'],
    [
      'eventSource NotEquals lambda',
      [{ Field: 'eventSource', NotEquals: ['lambda.amazonaws.com'] }],
      'not-recorded',
    ],
    [
      'eventSource NotStartsWith lambda',
      [{ Field: 'eventSource', NotStartsWith: ['lambda.'] }],
      'not-recorded',
    ],
    [
      'eventSource EndsWith amazonaws.com',
      [{ Field: 'eventSource', EndsWith: ['.amazonaws.com'] }],
      'recorded',
    ],
    ['eventType Equals AwsApiCall', [{ Field: 'eventType', Equals: ['AwsApiCall'] }], 'recorded'],
    ['eventType NotEquals AwsApiCall', [{ Field: 'eventType', NotEquals: ['AwsApiCall'] }], 'not-recorded'],
    [
      'eventType Equals AwsServiceEvent',
      [{ Field: 'eventType', Equals: ['AwsServiceEvent'] }],
      'not-recorded',
    ],
    // eventCategory and resources.type: any operator
    [
      'a second eventCategory NotEquals Data',
      [{ Field: 'eventCategory', NotEquals: ['Data'] }],
      'not-recorded',
    ],
    [
      'a second resources.type NotStartsWith AWS::Lambda',
      [{ Field: 'resources.type', NotStartsWith: ['AWS::Lambda'] }],
      'not-recorded',
    ],
    // fields that depend on the call: unknown, whatever the operator
    [
      'userIdentity.arn NotEquals a role',
      [{ Field: 'userIdentity.arn', NotEquals: ['arn:aws:iam::123456789012:role/attacker'] }],
      'unknown',
    ],
    [
      'userIdentity.arn Equals a role',
      [{ Field: 'userIdentity.arn', Equals: ['arn:aws:iam::123456789012:role/ci'] }],
      'unknown',
    ],
    [
      'userIdentity.arn NotStartsWith',
      [{ Field: 'userIdentity.arn', NotStartsWith: ['arn:aws:sts::123456789012:assumed-role/'] }],
      'unknown',
    ],
    [
      'sessionCredentialFromConsole Equals true',
      [{ Field: 'sessionCredentialFromConsole', Equals: ['true'] }],
      'unknown',
    ],
    [
      'sessionCredentialFromConsole NotEquals true',
      [{ Field: 'sessionCredentialFromConsole', NotEquals: ['true'] }],
      'unknown',
    ],
    ['errorCode NotEquals AccessDenied', [{ Field: 'errorCode', NotEquals: ['AccessDenied'] }], 'unknown'],
    ['vpcEndpointId Equals an endpoint', [{ Field: 'vpcEndpointId', Equals: ['vpce-0123'] }], 'unknown'],
    ['a field fir does not know', [{ Field: 'resources.partition', Equals: ['aws'] }], 'unknown'],
    ['a field selector with no operator', [{ Field: 'eventName' }], 'unknown'],
    [
      'an unknown field, but another condition excludes',
      [
        { Field: 'userIdentity.arn', Equals: ['x'] },
        { Field: 'eventName', NotEquals: ['Invoke'] },
      ],
      'not-recorded',
    ],
  ])('%s', (_name, more, expected) => {
    expect(verdict(lambdaSelector(...more))).toBe(expected)
  })

  it('needs a data event selector for Lambda functions', () => {
    expect(verdict({ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] })).toBe(
      'not-recorded',
    )
    expect(
      verdict({
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Data'] },
          { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
        ],
      }),
    ).toBe('not-recorded')
    expect(
      verdict({ FieldSelectors: [{ Field: 'resources.type', Equals: ['AWS::Lambda::Function'] }] }),
    ).toBe('not-recorded')
    expect(verdict()).toBe('not-recorded')
  })

  it('combines selectors with OR: recorded by one beats unknown or excluded by another', () => {
    const excluding = lambdaSelector({ Field: 'resources.ARN', NotEndsWith: [':westfn'] })
    const undecided = lambdaSelector({ Field: 'userIdentity.arn', NotEquals: ['x'] })
    const all = lambdaSelector()
    expect(verdict(excluding, all)).toBe('recorded')
    expect(verdict(excluding, undecided)).toBe('unknown')
    expect(verdict(undecided, all)).toBe('recorded')
    expect(verdict(excluding, lambdaSelector({ Field: 'eventName', NotStartsWith: ['Invoke'] }))).toBe(
      'not-recorded',
    )
  })

  it('names the recording trails; an undecided trail beside an excluding one leaves coverage unknown', () => {
    const recording = trail([lambdaSelector()])
    const excluding = trail([lambdaSelector({ Field: 'readOnly', NotEquals: ['false'] })], {
      arn: `${TRAIL}-2`,
    })
    const undecided = trail([lambdaSelector({ Field: 'errorCode', Equals: ['x'] })], { arn: `${TRAIL}-3` })
    expect(invokeCoverage(coverage(excluding, recording), FN)).toEqual({
      lambdaDataEvents: 'recorded',
      trails: [TRAIL],
    })
    expect(invokeCoverage(coverage(excluding, undecided), FN)).toEqual({
      lambdaDataEvents: 'unknown',
      trails: [],
    })
    expect(invokeCoverage(coverage(excluding), FN)).toEqual({ lambdaDataEvents: 'not-recorded', trails: [] })
    // A trail that is not logging records nothing, whatever its selectors.
    expect(invokeCoverage(coverage(trail([lambdaSelector()], { logging: false })), FN).lambdaDataEvents).toBe(
      'not-recorded',
    )
    expect(
      invokeCoverage(coverage(trail([lambdaSelector()], { logging: undefined })), FN).lambdaDataEvents,
    ).toBe('unknown')
  })
})
