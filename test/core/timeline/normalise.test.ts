import { describe, expect, it } from 'vitest'
import {
  baseEventName,
  eventIdOf,
  normaliseRecord,
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
