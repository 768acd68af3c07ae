import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  buildRecord,
  eventNameFor,
  fakeId,
  toTrailStyle,
  trailFiles,
} from '../../../src/core/tabletop/cloudtrail.js'
import { offsetMs, validateScenarioText } from '../../../src/core/tabletop/scenario.js'
import { makeZip } from '../../../src/core/tabletop/zip.js'

const ids = {
  account: '123456789012',
  roles: new Map([['r', { arn: 'arn:aws:iam::123456789012:role/r', roleId: 'AROAEXAMPLE123456789' }]]),
  userKeys: new Map<string, string>(),
}

describe('tabletop CloudTrail records', () => {
  it('names Lambda events with their version suffixes (URL calls have none)', () => {
    expect(eventNameFor('lambda', 'UpdateFunctionCode')).toBe('UpdateFunctionCode20150331v2')
    expect(eventNameFor('lambda', 'CreateFunction')).toBe('CreateFunction20150331')
    expect(eventNameFor('lambda', 'AddPermission')).toBe('AddPermission20150331v2')
    expect(eventNameFor('lambda', 'PublishLayerVersion')).toBe('PublishLayerVersion20181031')
    expect(eventNameFor('lambda', 'CreateFunctionUrlConfig')).toBe('CreateFunctionUrlConfig')
    expect(eventNameFor('lambda', 'Invoke')).toBe('Invoke')
    expect(eventNameFor('iam', 'CreateAccessKey')).toBe('CreateAccessKey')
  })

  it('writes requests the CloudTrail way: camelCase, ARN → arn, secrets and bodies dropped, env values hidden', () => {
    expect(
      toTrailStyle({
        FunctionName: 'f',
        Environment: { Variables: { TOKEN: 'x' } },
        Code: { S3Bucket: 'b', S3Key: 'k', Location: 'https://presigned' },
        ZipFile: new Uint8Array([1]),
        SecretString: 's3cr3t',
        ARN: 'arn:x',
        CreateDate: new Date('2026-01-02T03:04:05Z'),
      }),
    ).toEqual({
      functionName: 'f',
      environment: { variables: 'HIDDEN_DUE_TO_SECURITY_REASONS' },
      code: { s3Bucket: 'b', s3Key: 'k' },
      arn: 'arn:x',
      createDate: '2026-01-02T03:04:05.000Z',
    })
  })

  it('builds identities: IAM users, role sessions issued by the role, AWS services; global services in us-east-1', () => {
    const t = new Date('2026-11-20T10:00:00.123Z')
    const user = buildRecord(
      {
        service: 'iam',
        operation: 'CreateAccessKey',
        region: 'eu-west-1',
        time: t,
        actorName: 'a',
        actor: { type: 'IAMUser', userName: 'mallory', sourceIp: '198.51.100.1', userAgent: 'aws-cli/2' },
        requestParameters: { userName: 'bob' },
        responseElements: null,
      },
      ids,
    )
    expect(user).toMatchObject({
      eventTime: '2026-11-20T10:00:00Z',
      eventSource: 'iam.amazonaws.com',
      awsRegion: 'us-east-1',
      sourceIPAddress: '198.51.100.1',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/mallory', userName: 'mallory' },
      managementEvent: true,
      eventCategory: 'Management',
      readOnly: false,
    })
    expect(user.userIdentity).toHaveProperty('accessKeyId', expect.stringMatching(/^AKIA[A-Z2-7]{16}$/))
    const session = buildRecord(
      {
        service: 'secretsmanager',
        operation: 'GetSecretValue',
        region: 'eu-west-1',
        time: t,
        actorName: 's',
        actor: { type: 'AssumedRole', role: 'r', session: 'fn', sourceIp: '3.3.3.3', userAgent: 'x' },
        requestParameters: { secretId: 'a' },
        responseElements: null,
      },
      ids,
    )
    expect(session).toMatchObject({
      awsRegion: 'eu-west-1',
      readOnly: true,
      userIdentity: {
        type: 'AssumedRole',
        arn: 'arn:aws:sts::123456789012:assumed-role/r/fn',
        principalId: 'AROAEXAMPLE123456789:fn',
        sessionContext: {
          sessionIssuer: { arn: 'arn:aws:iam::123456789012:role/r', principalId: 'AROAEXAMPLE123456789' },
        },
      },
    })
    const invoke = buildRecord(
      {
        service: 'lambda',
        operation: 'Invoke',
        region: 'eu-west-1',
        time: t,
        actorName: 'gw',
        actor: { type: 'AWSService', service: 'apigateway.amazonaws.com' },
        requestParameters: { functionName: 'arn:f' },
        responseElements: null,
        resourceArn: 'arn:f',
      },
      ids,
    )
    expect(invoke).toMatchObject({
      userIdentity: { type: 'AWSService', invokedBy: 'apigateway.amazonaws.com' },
      sourceIPAddress: 'apigateway.amazonaws.com',
      eventCategory: 'Data',
      managementEvent: false,
      resources: [{ type: 'AWS::Lambda::Function', ARN: 'arn:f' }],
    })
    expect(fakeId('ASIA', 'x')).toBe(fakeId('ASIA', 'x'))
  })

  it('lays records out in trail files per region and delivery window, unordered inside a file', () => {
    const t0 = Date.parse('2026-11-20T23:58:00Z')
    const records = Array.from({ length: 20 }, (_, i) => ({
      eventID: `id-${i}`,
      eventTime: new Date(t0 + i * 30_000).toISOString(),
      awsRegion: i % 2 ? 'us-east-1' : 'eu-west-1',
    }))
    const files = trailFiles(records, '123456789012', 'p/')
    expect(files.reduce((n, f) => n + f.records, 0)).toBe(20)
    for (const f of files) {
      expect(f.key).toMatch(
        /^p\/AWSLogs\/123456789012\/CloudTrail\/(us-east-1|eu-west-1)\/2026\/11\/2[01]\/123456789012_CloudTrail_(us-east-1|eu-west-1)_2026112[01]T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$/,
      )
      const body = JSON.parse(gunzipSync(f.body).toString()) as { Records: { awsRegion: string }[] }
      expect(body.Records.length).toBe(f.records)
      expect(new Set(body.Records.map((r) => r.awsRegion)).size).toBe(1)
    }
    // events just before midnight are delivered (and keyed) after it
    expect(files.some((f) => f.key.includes('/2026/11/21/'))).toBe(true)
  })

  it('zips deterministically (same files, same bytes)', () => {
    const a = makeZip({ 'index.mjs': 'x', 'lib/y.js': 'y' })
    expect(makeZip({ 'index.mjs': 'x', 'lib/y.js': 'y' }).equals(a)).toBe(true)
    expect(a.readUInt32LE(0)).toBe(0x04034b50)
    expect(() => makeZip({ '../evil': 'x' })).toThrow(/plain relative path/)
  })
})

describe('tabletop scenario files', () => {
  it('reads offsets', () => {
    expect(offsetMs('-2d3h')).toBe(-(2 * 86_400_000 + 3 * 3_600_000))
    expect(offsetMs('90m')).toBe(90 * 60_000)
  })

  it('reports every problem with its line and column', () => {
    const text = `name: bad
title: t
summary: s
playbook: public-function-exposure
inputs: { function: f, source: "{{ seed.nope }}" }
compromise: { description: d, findings: [Something] }
actors:
  a: { type: IAMUser, userName: u, sourceIp: 1.2.3.4, userAgent: x }
story:
  - at: 2d
    actor: a
    call: lambda:AddPermission
  - at: -1d
    actor: ghost
    call: lambda:Invoke
    apply: true
`
    const r = validateScenarioText(text, 's.yaml')
    expect(r.scenario).toBeUndefined()
    const lines = r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)
    expect(lines).toEqual(
      expect.arrayContaining([expect.stringMatching(/^10:9 story\[0\]\.at must be a negative offset/)]),
    )
    const fixed = text.replace('at: 2d', 'at: -2d')
    const lines2 = validateScenarioText(fixed, 's.yaml').problems.map(
      (p) => `${p.line}:${p.col} ${p.message}`,
    )
    expect(lines2).toEqual([
      expect.stringMatching(/^5:32 reference "seed.nope" is not allowed/),
      expect.stringMatching(/^14:12 unknown actor "ghost"/),
      expect.stringMatching(/^15:11 lambda:Invoke cannot be applied to the emulator/),
    ])
  })
})
