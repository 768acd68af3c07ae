import { gunzipSync } from 'node:zlib'
import { CloudTrailClient, GetEventSelectorsCommand } from '@aws-sdk/client-cloudtrail'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { describe, expect, it } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { listScenarios, loadScenario, validateScenarioText } from '../../../src/core/tabletop/scenario.js'
import { seedScenario } from '../../../src/core/tabletop/seed.js'
import { emulatorClient, useMoto } from '../../support/emulator.js'
import { resetMoto } from '../../support/moto.js'

const moto = useMoto()
type Rec = Record<string, any>

/**
 * How CloudTrail records each call the shipped scenarios make (AWS's classification, written here
 * independently of the seeder): `data` = a data event (eventCategory Data, managementEvent false),
 * otherwise a management event; `readOnly` = the record's readOnly. A scenario that adds a call
 * must add it here, with what real CloudTrail writes for it.
 */
const CLOUDTRAIL: Record<string, { readOnly: boolean; data?: true }> = {
  'dynamodb:Scan': { readOnly: true, data: true },
  'lambda:Invoke': { readOnly: false, data: true },
  'iam:CreateAccessKey': { readOnly: false },
  'iam:CreateRole': { readOnly: false },
  'iam:CreateUser': { readOnly: false },
  'iam:ListAttachedRolePolicies': { readOnly: true },
  'iam:ListUserPolicies': { readOnly: true },
  'iam:ListUsers': { readOnly: true },
  'iam:PutRolePolicy': { readOnly: false },
  'iam:PutUserPolicy': { readOnly: false },
  'lambda:AddPermission': { readOnly: false },
  'lambda:CreateFunction': { readOnly: false },
  'lambda:CreateFunctionUrlConfig': { readOnly: false },
  'lambda:GetFunction': { readOnly: true },
  'lambda:GetFunctionConfiguration': { readOnly: true },
  'lambda:ListFunctions': { readOnly: true },
  'lambda:PublishLayerVersion': { readOnly: false },
  'lambda:UpdateFunctionCode': { readOnly: false },
  'lambda:UpdateFunctionConfiguration': { readOnly: false },
  's3:ListBuckets': { readOnly: true },
  'secretsmanager:CreateSecret': { readOnly: false },
  'secretsmanager:GetSecretValue': { readOnly: true },
  'secretsmanager:ListSecrets': { readOnly: true },
  'secretsmanager:RotateSecret': { readOnly: false },
  // AssumeRole issues credentials but changes no resource: CloudTrail marks it read-only.
  'sts:AssumeRole': { readOnly: true },
  'sts:GetCallerIdentity': { readOnly: true },
}

/** `lambda:UpdateFunctionCode` from a record (`lambda.amazonaws.com`, `UpdateFunctionCode20150331v2`). */
function callOf(r: Rec): string {
  const service = String(r.eventSource).replace(/\.amazonaws\.com$/, '')
  return `${service}:${String(r.eventName).replace(/\d{8}(v\d)?$/, '')}`
}

function client<T>(Ctor: new (c: any) => T, extra: Record<string, unknown> = {}): T {
  return emulatorClient(Ctor, moto.endpoint(), extra)
}

/** Seeds a scenario into a fresh moto and reads its trail back as CloudTrail delivered it. */
async function seededTrail(name: string): Promise<{ text: string; records: Rec[]; dataTypes: string[] }> {
  await resetMoto(moto.endpoint())
  const aws = await AwsClients.create({ endpoint: moto.endpoint(), region: 'us-east-1', emulatorOnly: true })
  const { scenario } = await loadScenario(name)
  const seed = await seedScenario(aws, scenario, { now: new Date() })
  const s3 = client(S3Client, { forcePathStyle: true })
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: seed.trailBucket }))
  const texts: string[] = []
  for (const o of listed.Contents ?? []) {
    const got = await s3.send(new GetObjectCommand({ Bucket: seed.trailBucket, Key: o.Key! }))
    texts.push(gunzipSync(Buffer.from(await got.Body!.transformToByteArray())).toString('utf8'))
  }
  const selectors = await client(CloudTrailClient).send(
    new GetEventSelectorsCommand({ TrailName: seed.trailName }),
  )
  return {
    text: texts.join('\n'),
    records: texts.flatMap((t) => JSON.parse(t).Records as Rec[]),
    dataTypes: (selectors.EventSelectors ?? []).flatMap((s) => (s.DataResources ?? []).map((d) => d.Type!)),
  }
}

describe('tabletop trail records of every scenario', async () => {
  const scenarios = (await listScenarios()).map((s) => s.name)

  it('ships scenarios to check', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(3)
  })

  for (const name of scenarios) {
    it(`${name}: every seed reference is filled in, and each call is recorded as CloudTrail records it`, async () => {
      const { text, records, dataTypes } = await seededTrail(name)
      expect(records.length).toBeGreaterThan(0)
      // No template survives anywhere: request, response, error message, identity.
      // (`{{` never occurs in JSON outside a string.)
      const left = [...text.matchAll(/.{0,80}\{\{.{0,40}/g)].map((m) => m[0])
      expect(left, 'unfilled template text in the trail').toEqual([])

      for (const r of records) {
        const call = callOf(r)
        const expected = CLOUDTRAIL[call]
        expect(expected, `${call}: add how CloudTrail records it to this test`).toBeDefined()
        const at = `${call} at ${r.eventTime}`
        expect(r.readOnly, `${at}: readOnly`).toBe(expected!.readOnly)
        if (expected!.data) {
          expect(r.eventCategory, `${at}: eventCategory`).toBe('Data')
          expect(r.managementEvent, `${at}: managementEvent`).toBe(false)
          // A data event names its resource, and the trail's selectors ask for that kind.
          expect(r.resources?.length, `${at}: resources`).toBeGreaterThan(0)
          for (const res of r.resources) expect(dataTypes, `${at}: selected by the trail`).toContain(res.type)
        } else {
          expect(r.eventCategory, `${at}: eventCategory`).toBe('Management')
          expect(r.managementEvent, `${at}: managementEvent`).toBe(true)
        }
        if (r.errorCode) expect(r.responseElements, `${at}: a failed call has no response`).toBeNull()
      }
    })
  }

  it('public-url-backdoor: the nightly Scans are read-only data events on the orders table', async () => {
    const { records } = await seededTrail('public-url-backdoor')
    const scans = records.filter((r) => r.eventName === 'Scan')
    expect(scans).toHaveLength(7)
    for (const s of scans) {
      expect(s).toMatchObject({
        eventSource: 'dynamodb.amazonaws.com',
        readOnly: true,
        eventCategory: 'Data',
        managementEvent: false,
        requestParameters: { tableName: 'orders' },
        resources: [
          {
            accountId: s.recipientAccountId,
            type: 'AWS::DynamoDB::Table',
            ARN: `arn:aws:dynamodb:us-east-1:${s.recipientAccountId}:table/orders`,
          },
        ],
      })
    }
  })

  it('malicious-layer: the denied call names the drill account in its error message', async () => {
    const { records } = await seededTrail('malicious-layer')
    const denied = records.find((r) => r.eventName === 'ListAttachedRolePolicies')!
    expect(denied.errorMessage).toBe(
      `User: arn:aws:sts::${denied.recipientAccountId}:assumed-role/image-resizer-role/image-resizer is not authorized to perform: iam:ListAttachedRolePolicies`,
    )
  })
})

describe('tabletop scenario files: references in errors', () => {
  it('checks the references of an error message like those of a request', () => {
    const text = `name: bad
title: t
summary: s
playbook: public-function-exposure
inputs: { function: f }
compromise: { description: d, findings: [Something] }
actors:
  a: { type: IAMUser, userName: u, sourceIp: 1.2.3.4, userAgent: x }
story:
  - at: -1d
    actor: a
    call: iam:ListUsers
    apply: false
    error: { code: AccessDenied, message: "{{ seed.acount }} is not authorized" }
`
    const problems = validateScenarioText(text, 's.yaml').problems.map((p) => `${p.line} ${p.message}`)
    expect(problems).toEqual([expect.stringMatching(/^14 reference "seed.acount" is not allowed/)])
    expect(validateScenarioText(text.replace('seed.acount', 'seed.account'), 's.yaml').problems).toEqual([])
  })

  it('lets a later event name a key an earlier applied CreateAccessKey made, and nothing else', () => {
    const text = (ref: string, keyFirst = true) => {
      const create = `  - at: -2d
    actor: a
    call: iam:CreateAccessKey
    with: { UserName: uploader }
`
      const use = `  - at: -1d
    actor: a
    call: lambda:CreateFunction
    with:
      FunctionName: f
      Role: r
      Environment: { Variables: { K: "{{ ${ref} }}" } }
      Code: { files: { index.mjs: "x" } }
`
      return `name: keys
title: t
summary: s
playbook: leaked-access-key-in-function
inputs: { function: f }
compromise: { description: d, findings: [Something] }
actors:
  a: { type: IAMUser, userName: admin, sourceIp: 1.2.3.4, userAgent: x }
story:
${keyFirst ? create + use : use + create}`
    }
    const problems = (t: string) => validateScenarioText(t, 's.yaml').problems.map((p) => p.message)
    expect(problems(text('seed.accessKeys.uploader.id'))).toEqual([])
    expect(problems(text('seed.accessKeys.uploader.secret'))).toEqual([])
    for (const bad of [
      text('seed.accessKeys.uploader.id', false),
      text('seed.accessKeys.someone.id'),
      text('seed.accessKeys.uploader.password'),
    ]) {
      expect(problems(bad)).toEqual([
        expect.stringMatching(
          /^reference "seed\.accessKeys\.\w+\.\w+" names no access key: seed\.accessKeys\.<user>\.id or \.secret/,
        ),
      ])
    }
    expect(problems(text('seed.accessKeys.uploader'))).toEqual([
      expect.stringMatching(/^reference "seed\.accessKeys\.uploader" is not allowed/),
    ])
  })
})
