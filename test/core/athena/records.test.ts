import { describe, expect, it } from 'vitest'
import { type Row, rowToRecord } from '../../../src/core/athena/records.js'
import { COLUMNS } from '../../../src/core/athena/sql.js'
import { athenaCells } from './athena-rows.js'

const record = {
  eventVersion: '1.09',
  userIdentity: {
    type: 'AssumedRole',
    principalId: 'AROAEXAMPLEID:payments-webhook',
    arn: 'arn:aws:sts::111122223333:assumed-role/pay-role/payments-webhook',
    accountId: '111122223333',
    accessKeyId: 'ASIAEXAMPLEKEY000001',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROAEXAMPLEID',
        arn: 'arn:aws:iam::111122223333:role/service/pay-role',
        accountId: '111122223333',
        userName: 'pay-role',
      },
      attributes: { creationDate: '2026-11-27T09:00:00Z', mfaAuthenticated: 'false' },
    },
  },
  eventTime: '2026-11-27T09:14:03Z',
  eventSource: 'secretsmanager.amazonaws.com',
  eventName: 'GetSecretValue',
  awsRegion: 'eu-west-1',
  sourceIPAddress: '203.0.113.7',
  userAgent: "curl/8.5.0 '; DROP --",
  requestParameters: {
    secretId: 'prod/db',
    nested: { a: [1, 'two', null], policyDocument: '{"Version":"2012-10-17"}' },
  },
  responseElements: null,
  requestID: '6c1d0b1e-1111-2222-3333-444455556666',
  eventID: 'a1b2c3d4-0000-1111-2222-333344445555',
  readOnly: true,
  resources: [
    {
      accountId: '111122223333',
      type: 'AWS::SecretsManager::Secret',
      ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf',
    },
  ],
  eventType: 'AwsApiCall',
  recipientAccountId: '111122223333',
  eventCategory: 'Management',
  tlsDetails: {
    tlsVersion: 'TLSv1.3',
    cipherSuite: 'TLS_AES_128_GCM_SHA256',
    clientProvidedHostHeader: 'secretsmanager.eu-west-1.amazonaws.com',
  },
}

function athenaRow(cells: (string | undefined)[]): Row {
  const names = COLUMNS.filter((c) => c.athena).map((c) => c.alias)
  return Object.fromEntries(names.map((n, i) => [n, cells[i]]))
}

describe('rows → CloudTrail records', () => {
  it('athena: rebuilds the record with its original field names and nested structure', () => {
    const rebuilt = rowToRecord(athenaRow(athenaCells(record)), 'athena')
    const { responseElements: _null, ...expected } = record
    expect(rebuilt).toEqual(expected)
    // A policy document that was a JSON string stays a string.
    expect((rebuilt.requestParameters as { nested: { policyDocument: unknown } }).nested.policyDocument).toBe(
      '{"Version":"2012-10-17"}',
    )
  })

  it('athena engine 2: resources printed as positional arrays become objects again', () => {
    const row = athenaRow(athenaCells(record))
    row.resources = JSON.stringify([['arn:aws:s3:::b', '111122223333', 'AWS::S3::Bucket']])
    expect(rowToRecord(row, 'athena').resources).toEqual([
      { ARN: 'arn:aws:s3:::b', accountId: '111122223333', type: 'AWS::S3::Bucket' },
    ])
  })

  it('keeps a malformed JSON column as text rather than failing the run', () => {
    const row = athenaRow(athenaCells(record))
    row.requestparameters = '{"secretId": "prod/db"'
    expect(rowToRecord(row, 'athena').requestParameters).toBe('{"secretId": "prod/db"')
  })

  it('lake: turns Lake timestamps into trail times, maps and nested JSON text into objects, booleans into booleans', () => {
    const rebuilt = rowToRecord(
      {
        eventtime: '2026-11-27 09:14:03.000',
        sc_creationdate: '2026-11-27 09:00:00.000',
        eventname: 'UpdateFunctionCode20150331v2',
        readonly: 'false',
        managementevent: 'true',
        requestparameters: JSON.stringify({
          functionName: 'payments-webhook',
          vpcConfig: '{"subnetIds":["s-1"]}',
        }),
        resources: JSON.stringify([
          {
            accountId: '111122223333',
            type: 'AWS::Lambda::Function',
            ARN: 'arn:aws:lambda:eu-west-1:111122223333:function:payments-webhook',
          },
        ]),
        errorcode: undefined,
      },
      'lake',
    )
    expect(rebuilt).toEqual({
      eventTime: '2026-11-27T09:14:03Z',
      userIdentity: { sessionContext: { attributes: { creationDate: '2026-11-27T09:00:00Z' } } },
      eventName: 'UpdateFunctionCode20150331v2',
      readOnly: false,
      managementEvent: true,
      requestParameters: { functionName: 'payments-webhook', vpcConfig: { subnetIds: ['s-1'] } },
      resources: [
        {
          accountId: '111122223333',
          type: 'AWS::Lambda::Function',
          ARN: 'arn:aws:lambda:eu-west-1:111122223333:function:payments-webhook',
        },
      ],
    })
  })
})
