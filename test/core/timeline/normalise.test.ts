import { describe, expect, it } from 'vitest'
import {
  baseEventName,
  eventIdOf,
  malformedFields,
  normaliseRecord,
  parseTime,
  sessionNameOf,
} from '../../../src/core/timeline/normalise.js'

describe('baseEventName', () => {
  it.each([
    ['UpdateFunctionCode20150331v2', 'UpdateFunctionCode'],
    ['UpdateFunctionConfiguration20150331v2', 'UpdateFunctionConfiguration'],
    ['AddPermission20150331', 'AddPermission'],
    ['AddPermission20150331v2', 'AddPermission'],
    ['PublishLayerVersion20181031', 'PublishLayerVersion'],
    ['PutFunctionConcurrency20171031', 'PutFunctionConcurrency'],
    ['UpdateDistribution2020_05_31', 'UpdateDistribution'],
    ['CreateFunctionUrlConfig', 'CreateFunctionUrlConfig'],
    ['GetObject', 'GetObject'],
    ['Ec2', 'Ec2'],
    ['', ''],
  ])('%s → %s', (raw, base) => {
    expect(baseEventName(raw)).toBe(base)
  })
})

describe('normaliseRecord', () => {
  const record = {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLE:orders-api',
      arn: 'arn:aws:sts::111122223333:assumed-role/orders-role/orders-api',
      accountId: '111122223333',
      accessKeyId: 'ASIAEXAMPLEEXAMPLE12',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          arn: 'arn:aws:iam::111122223333:role/orders-role',
          userName: 'orders-role',
        },
      },
    },
    eventTime: '2025-03-01T10:00:00Z',
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionCode20150331v2',
    awsRegion: 'eu-west-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2',
    errorCode: 'AccessDenied',
    errorMessage: 'no',
    requestParameters: { functionName: 'orders-api' },
    responseElements: null,
    requestID: 'req-1',
    eventID: 'evt-1',
    readOnly: 'false',
    recipientAccountId: '111122223333',
  }

  it('produces the event of DESIGN §5 with raw kept as received', () => {
    const e = normaliseRecord(record, 's3', { fir: true })
    expect(e).toMatchObject({
      id: 'evt-1',
      time: '2025-03-01T10:00:00.000Z',
      name: 'UpdateFunctionCode',
      rawName: 'UpdateFunctionCode20150331v2',
      source: 'lambda.amazonaws.com',
      region: 'eu-west-1',
      account: '111122223333',
      actor: {
        type: 'AssumedRole',
        arn: 'arn:aws:sts::111122223333:assumed-role/orders-role/orders-api',
        sessionName: 'orders-api',
        accessKeyId: 'ASIAEXAMPLEEXAMPLE12',
        invokedBy: null,
        issuer: 'arn:aws:iam::111122223333:role/orders-role',
      },
      sourceIp: '198.51.100.7',
      userAgent: 'aws-cli/2',
      readOnly: false,
      error: { code: 'AccessDenied', message: 'no' },
      resources: [],
      requestParameters: { functionName: 'orders-api' },
      responseElements: null,
      origin: 's3',
      fir: true,
      findings: [],
    })
    expect(e.raw).toBe(record)
    expect(Object.keys(e)).toEqual([
      'id',
      'time',
      'name',
      'rawName',
      'source',
      'region',
      'account',
      'actor',
      'sourceIp',
      'userAgent',
      'readOnly',
      'error',
      'resources',
      'requestParameters',
      'responseElements',
      'origin',
      'fir',
      'findings',
      'raw',
    ])
  })

  it('gives records without an eventID a stable id from their content', () => {
    const { eventID: _id, ...noId } = record
    const a = eventIdOf(noId)
    expect(a).toMatch(/^nid-[0-9a-f]{32}$/)
    expect(eventIdOf({ ...noId })).toBe(a)
    expect(eventIdOf({ ...noId, eventName: 'Other' })).not.toBe(a)
  })

  it('reads AWS service callers and federated users', () => {
    const svc = normaliseRecord(
      {
        eventTime: '2025-01-01T00:00:00Z',
        eventName: 'AssumeRole',
        userIdentity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' },
      },
      'file',
    )
    expect(svc.actor).toEqual({
      type: 'AWSService',
      arn: null,
      sessionName: null,
      accessKeyId: null,
      invokedBy: 'lambda.amazonaws.com',
      issuer: null,
    })
    expect(sessionNameOf({ type: 'FederatedUser', arn: 'arn:aws:sts::1:federated-user/bob' })).toBe('bob')
    expect(sessionNameOf({ type: 'AssumedRole', principalId: 'AROAX:my-session' })).toBe('my-session')
  })
})

/**
 * Date.parse, except NaN for a day the month does not have (Date.parse moves 2025-04-31 to
 * 1 May) and for text that does not start with an ISO date.
 */
function expectedTime(text: string): number {
  const date = /^\d{4}-\d{2}-\d{2}/.exec(text)?.[0]
  if (!date) return Number.NaN
  const t = Date.parse(text)
  if (Number.isNaN(t)) return t
  return new Date(Date.parse(`${date}T00:00:00Z`)).toISOString().startsWith(date) ? t : Number.NaN
}

describe('parseTime', () => {
  // CloudTrail's shape is read by hand; whatever it is given, the answer must be Date.parse's,
  // but for a day that does not exist.
  it.each([
    '2025-03-01T12:34:56Z',
    '1970-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '2024-02-29T10:00:00Z',
    '2000-02-29T10:00:00Z',
    '1900-02-29T10:00:00Z',
    '2025-02-29T10:00:00Z',
    '2025-02-30T10:00:00Z',
    '2025-04-31T10:00:00Z',
    '2025-13-01T10:00:00Z',
    '2025-00-10T10:00:00Z',
    '2025-03-00T10:00:00Z',
    '2025-03-01T24:00:00Z',
    '2025-03-01T23:60:00Z',
    '2025-03-01T23:59:60Z',
    '2025-03-01T12:34:56.789Z',
    '2025-03-01T12:34:56+02:00',
    '2025-03-01 12:34:56Z',
    '2025-3-01T12:34:56ZZ',
    '2025-03-01T12:34:5aZ',
    '+2025-03-01T12:34:5Z',
    'not a time at all, 20c',
    '',
  ])('%j as Date.parse reads it, but for a day that does not exist', (text) => {
    expect(Object.is(parseTime(text), expectedTime(text))).toBe(true)
  })

  it('does not move a day the month does not have into the next month, whatever the shape', () => {
    for (const text of [
      '2025-04-31T10:00:00Z',
      '2025-02-30T10:00:00Z',
      '2025-02-29T12:00:00Z',
      '1900-02-29T12:00:00Z',
      '2025-04-31T10:00:00.123Z',
      '2025-04-31T10:00:00+02:00',
      '2025-06-31',
      '+002025-02-29T00:00:00Z',
      'April 31, 2025 10:00 UTC',
      'Thu, 31 Apr 2025 10:00:00 GMT',
    ])
      expect(parseTime(text), text).toBeNaN()
    expect(parseTime('2024-02-29T12:00:00Z')).toBe(Date.UTC(2024, 1, 29, 12))
    expect(parseTime('2000-02-29T12:00:00.5Z')).toBe(Date.UTC(2000, 1, 29, 12, 0, 0, 500))
    expect(parseTime('2025-04-30T12:00:00+02:00')).toBe(Date.UTC(2025, 3, 30, 10))
    expect(parseTime('+002024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29))
  })

  it('reads a time without a zone as UTC, never in the zone of the computer', () => {
    const tz = process.env.TZ
    process.env.TZ = 'Asia/Tokyo'
    try {
      expect(new Date(2025, 2, 1).getTimezoneOffset()).toBe(-540) // the zone is in force
      expect(parseTime('2025-03-01T10:00:00')).toBe(Date.UTC(2025, 2, 1, 10))
      expect(parseTime('2025-03-01T10:00')).toBe(Date.UTC(2025, 2, 1, 10))
      expect(parseTime('2025-03-01T10:00:00.250')).toBe(Date.UTC(2025, 2, 1, 10, 0, 0, 250))
      expect(parseTime('2025-03-01')).toBe(Date.UTC(2025, 2, 1))
      expect(parseTime('2025-03-01T10:00:00+02:00')).toBe(Date.UTC(2025, 2, 1, 8))
    } finally {
      if (tz === undefined) delete process.env.TZ
      else process.env.TZ = tz
    }
  })

  it('agrees with Date.parse on a hundred thousand dates, real and not (but for days that do not exist)', () => {
    let seed = 7
    const next = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % k
    }
    const pad = (v: number, w: number) => String(v).padStart(w, '0')
    for (let i = 0; i < 100_000; i++) {
      const text = `${pad(next(10000), 4)}-${pad(next(14), 2)}-${pad(next(33), 2)}T${pad(next(26), 2)}:${pad(next(62), 2)}:${pad(next(62), 2)}Z`
      const want = expectedTime(text)
      if (!Object.is(parseTime(text), want)) expect.fail(`${text}: ${parseTime(text)}, expected ${want}`)
      if (Number.isFinite(want)) {
        const time = normaliseRecord({ eventTime: text, eventName: 'X' }, 'file').time
        if (time !== new Date(want).toISOString()) expect.fail(`${text}: time ${time}`)
      }
    }
  })

  it('gives the time in UTC with milliseconds, whatever shape the record wrote it in', () => {
    const at = (eventTime: unknown) => normaliseRecord({ eventTime, eventName: 'X' }, 'file').time
    expect(at('2025-03-01T12:34:56Z')).toBe('2025-03-01T12:34:56.000Z')
    expect(at('2025-03-01T12:34:56.5Z')).toBe('2025-03-01T12:34:56.500Z')
    expect(at('2025-03-01T14:34:56+02:00')).toBe('2025-03-01T12:34:56.000Z')
    expect(at(1740832496)).toBe('2025-03-01T12:34:56.000Z')
  })
})

describe('sessionNameOf', () => {
  it.each([
    ['arn:aws:sts::1:assumed-role/orders-role/orders-api', 'orders-api'],
    ['arn:aws:sts::1:assumed-role/orders-role/', ''],
    ['arn:aws:sts::1:assumed-role/orders-role', null],
    ['arn:aws:sts::1:assumed-role', null],
  ])('assumed-role %s → %j', (arn, name) => {
    expect(sessionNameOf({ type: 'AssumedRole', arn })).toBe(name)
  })

  it('takes a federated user name after the last slash', () => {
    expect(sessionNameOf({ type: 'FederatedUser', arn: 'arn:aws:sts::1:federated-user/a/bob' })).toBe('bob')
    expect(sessionNameOf({ type: 'FederatedUser', arn: 'bob' })).toBe('bob')
  })
})

describe('malformedFields', () => {
  it('names the fields of another type than CloudTrail gives them, and none of a well-formed record', () => {
    const ok = {
      eventID: 'e',
      eventName: 'GetFunction20150331v2',
      userAgent: 'aws-cli',
      readOnly: 'true',
      resources: [],
      requestParameters: null,
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::1:user/x' },
    }
    expect(malformedFields(ok)).toBeUndefined()
    expect(malformedFields({ eventTime: '2025-03-01T00:00:00Z' })).toBeUndefined()
    expect(
      malformedFields({
        ...ok,
        eventName: 12345,
        userAgent: ['a', 'b'],
        requestParameters: 'functionName=victim-fn',
        resources: {},
        readOnly: 'maybe',
        userIdentity: { type: 'IAMUser', arn: { x: 1 } },
      }),
    ).toEqual(['eventName', 'userAgent', 'requestParameters', 'resources', 'readOnly', 'userIdentity.arn'])
    expect(malformedFields({ ...ok, userIdentity: 'root' })).toEqual(['userIdentity'])
  })
})
