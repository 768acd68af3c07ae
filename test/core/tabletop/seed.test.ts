import { gunzipSync } from 'node:zlib'
import {
  IAMClient,
  ListAccessKeysCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam'
import {
  GetFunctionCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListFunctionsCommand,
} from '@aws-sdk/client-lambda'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { describe, expect, it } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { listScenarios, loadScenario } from '../../../src/core/tabletop/scenario.js'
import { type SeedResult, seedScenario } from '../../../src/core/tabletop/seed.js'
import { emulatorClient, useMoto } from '../../support/emulator.js'
import { resetMoto } from '../../support/moto.js'

const moto = useMoto()
type Rec = Record<string, any>

async function seed(
  name: string,
  now: Date,
): Promise<{ seed: SeedResult; files: { key: string; text: string; records: Rec[] }[] }> {
  await resetMoto(moto.endpoint())
  const aws = await AwsClients.create({ endpoint: moto.endpoint(), region: 'us-east-1', emulatorOnly: true })
  const { scenario } = await loadScenario(name)
  const result = await seedScenario(aws, scenario, { now })
  const s3 = client(S3Client, { forcePathStyle: true })
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: result.trailBucket }))
  const files = []
  for (const o of listed.Contents ?? []) {
    const got = await s3.send(new GetObjectCommand({ Bucket: result.trailBucket, Key: o.Key! }))
    const text = gunzipSync(Buffer.from(await got.Body!.transformToByteArray())).toString('utf8')
    files.push({ key: o.Key!, text, records: JSON.parse(text).Records as Rec[] })
  }
  return { seed: result, files }
}

function client<T>(Ctor: new (c: any) => T, extra: Record<string, unknown> = {}): T {
  return emulatorClient(Ctor, moto.endpoint(), extra)
}

const base = (name: string) => name.replace(/\d{8}(v\d)?$/, '')
const last = <T>(list: T[]) => list[list.length - 1]

describe('tabletop seeding: the trail tells the same story as the state', async () => {
  const scenarios = (await listScenarios()).map((s) => s.name)

  it('ships at least three valid scenarios', async () => {
    expect(scenarios).toEqual(
      expect.arrayContaining(['public-url-backdoor', 'stolen-role-credentials', 'malicious-layer']),
    )
    for (const s of await listScenarios()) expect(s.problems, s.name).toEqual([])
  })

  for (const name of [
    'public-url-backdoor',
    'stolen-role-credentials',
    'malicious-layer',
    'leaked-key-in-environment',
  ]) {
    it(`${name}: every state change is in the trail, with the emulator's own ids and hashes`, async () => {
      const now = new Date()
      const { seed: result, files } = await seed(name, now)
      const records = files.flatMap((f) => f.records)
      expect(records.length).toBe(result.records.length)
      const account = result.account

      // Trail layout: AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<stamp>_<16>.json.gz
      for (const f of files) {
        const m = f.key.match(
          /^org-trail\/AWSLogs\/(\d{12})\/CloudTrail\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\/\1_CloudTrail_\2_(\d{8})T(\d{4})Z_[A-Za-z0-9]{16}\.json\.gz$/,
        )
        expect(m, f.key).not.toBeNull()
        expect(m![6]).toBe(`${m![3]}${m![4]}${m![5]}`)
        for (const r of f.records) {
          expect(r.awsRegion).toBe(m![2])
          // delivered after the events it holds
          expect(
            Date.parse(`${m![3]}-${m![4]}-${m![5]}T${m![7]!.slice(0, 2)}:${m![7]!.slice(2)}:00Z`),
          ).toBeGreaterThanOrEqual(Date.parse(r.eventTime) - 60_000)
        }
      }
      // times are relative to now, and never in the future
      const times = records.map((r) => Date.parse(r.eventTime))
      expect(Math.max(...times)).toBeLessThanOrEqual(now.getTime())
      expect(Math.max(...times)).toBeGreaterThan(now.getTime() - 3 * 86_400_000)
      for (const r of records) {
        expect(r.recipientAccountId).toBe(account)
        expect(typeof r.eventID).toBe('string')
        if (['iam.amazonaws.com', 'sts.amazonaws.com'].includes(r.eventSource))
          expect(r.awsRegion).toBe('us-east-1')
      }
      // secret values never reach the trail (CloudTrail never records them)
      const all = files.map((f) => f.text).join('\n')
      expect(all).not.toMatch(/pk_drill_|drill-Xq7|SecretAccessKey|secretAccessKey|zipFile|"variables":\{/i)

      const lambda = client(LambdaClient)
      const fns = (await lambda.send(new ListFunctionsCommand({}))).Functions ?? []
      expect(fns.length).toBeGreaterThan(0)
      for (const fn of fns) {
        const name = fn.FunctionName!
        const mine = records.filter(
          (r) => r.eventSource === 'lambda.amazonaws.com' && r.requestParameters?.functionName === name,
        )
        // code: the last CreateFunction/UpdateFunctionCode recorded the hash the function has now
        const code = mine.filter((r) => ['CreateFunction', 'UpdateFunctionCode'].includes(base(r.eventName)))
        expect(code.length, `${name}: code events`).toBeGreaterThan(0)
        expect(last(code)!.responseElements.codeSha256).toBe(fn.CodeSha256)
        expect(mine.find((r) => r.eventName === 'CreateFunction20150331')?.responseElements.functionArn).toBe(
          fn.FunctionArn,
        )
        // environment values are hidden, as CloudTrail does
        const created = mine.find((r) => r.eventName === 'CreateFunction20150331')
        if (created?.requestParameters.environment)
          expect(created.requestParameters.environment.variables).toBe('HIDDEN_DUE_TO_SECURITY_REASONS')
        // resource policy: exactly the statements AddPermission recorded
        const sids = mine
          .filter((r) => base(r.eventName) === 'AddPermission')
          .map((r) => r.requestParameters.statementId)
        const policy = await lambda.send(new GetPolicyCommand({ FunctionName: name })).catch(() => undefined)
        const stateSids = policy?.Policy ? JSON.parse(policy.Policy).Statement.map((s: Rec) => s.Sid) : []
        expect([...stateSids].sort(), `${name}: policy`).toEqual([...sids].sort())
        // URL: the AuthType the last URL call recorded
        const urlCalls = mine.filter((r) => /FunctionUrlConfig$/.test(r.eventName))
        const url = await lambda
          .send(new GetFunctionUrlConfigCommand({ FunctionName: name }))
          .catch(() => undefined)
        expect(url?.AuthType, `${name}: url`).toBe(last(urlCalls)?.requestParameters.authType)
        // layers: the layers the last configuration change recorded (name and version; see the scenario note on accounts)
        const config = await lambda.send(new GetFunctionCommand({ FunctionName: name }))
        const layerCalls = mine.filter(
          (r) => base(r.eventName) === 'UpdateFunctionConfiguration' && r.requestParameters.layers,
        )
        const stateLayers = (config.Configuration?.Layers ?? []).map((l) =>
          l.Arn!.split(':').slice(-2).join(':'),
        )
        const trailLayers = ((last(layerCalls)?.requestParameters.layers as string[] | undefined) ?? []).map(
          (a) => a.split(':').slice(-2).join(':'),
        )
        expect(stateLayers, `${name}: layers`).toEqual(trailLayers)
        expect(last(layerCalls)?.responseElements?.layers?.map((l: Rec) => l.arn) ?? []).toEqual(
          last(layerCalls)?.requestParameters.layers ?? [],
        )
      }
      // roles: one CreateRole record per role, with the RoleId the emulator gave it
      const iam = client(IAMClient)
      const roles = (await iam.send(new ListRolesCommand({}))).Roles ?? []
      for (const role of roles) {
        const rec = records.find(
          (r) => r.eventName === 'CreateRole' && r.requestParameters.roleName === role.RoleName,
        )
        expect(rec?.responseElements.role.roleId, role.RoleName).toBe(role.RoleId)
        const inline =
          (await iam.send(new ListRolePoliciesCommand({ RoleName: role.RoleName }))).PolicyNames ?? []
        const put = records.filter(
          (r) => r.eventName === 'PutRolePolicy' && r.requestParameters.roleName === role.RoleName,
        )
        expect(inline.sort()).toEqual(put.map((r) => r.requestParameters.policyName).sort())
      }
      // access keys: every key in the state was created in the trail
      for (const user of result.created.users) {
        const keys = (await iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? []
        const created = records
          .filter((r) => r.eventName === 'CreateAccessKey' && r.requestParameters.userName === user)
          .map((r) => r.responseElements.accessKey.accessKeyId)
        expect(keys.map((k) => k.AccessKeyId).sort()).toEqual(created.sort())
      }
      // sessions: the role sessions used in the trail were issued by an AssumeRole the trail shows
      const assumed = new Map<string, string>()
      for (const r of records.filter((x) => x.eventName === 'AssumeRole'))
        assumed.set(r.responseElements.credentials.accessKeyId, r.responseElements.assumedRoleUser.arn)
      for (const r of records.filter((x) => x.userIdentity.type === 'AssumedRole')) {
        expect(assumed.get(r.userIdentity.accessKeyId), r.eventName).toBe(r.userIdentity.arn)
        expect(r.userIdentity.sessionContext.sessionIssuer.principalId).toBe(
          roles.find((x) => x.RoleName === r.userIdentity.sessionContext.sessionIssuer.userName)?.RoleId,
        )
      }
    })
  }

  it('stolen-role-credentials: the stolen session is used from outside Lambda, with the key the trail shows created', async () => {
    const { seed: result, files } = await seed('stolen-role-credentials', new Date())
    const records = files.flatMap((f) => f.records)
    const outside = records.filter(
      (r) => r.userIdentity.type === 'AssumedRole' && !String(r.userAgent).includes('exec-env/AWS_Lambda_'),
    )
    expect(outside.map((r) => r.eventName)).toEqual(
      expect.arrayContaining(['GetSecretValue', 'CreateAccessKey', 'GetCallerIdentity']),
    )
    for (const r of outside) expect(r.sourceIPAddress).toBe('203.0.113.45')
    const key = records.find(
      (r) => r.eventName === 'CreateAccessKey' && r.requestParameters.userName === 'backup-admin',
    )!
    expect(key.userIdentity.arn).toMatch(/:assumed-role\/payments-webhook-role\/payments-webhook$/)
    const code = records.find((r) => r.eventName === 'UpdateFunctionCode20150331v2')!
    expect(code.userIdentity.userName).toBe('ci-deployer')
    expect(code.sourceIPAddress).toBe('203.0.113.45')
    expect(code.requestParameters).not.toHaveProperty('zipFile')
    // The leaked deploy key is the one the trail shows created for ci-deployer, a key IAM has: the
    // CI's own calls and the intruder's are signed with it.
    const deployKey = records.find(
      (r) => r.eventName === 'CreateAccessKey' && r.requestParameters.userName === 'ci-deployer',
    )!.responseElements.accessKey.accessKeyId
    expect(result.created.accessKeys).toContain(deployKey)
    const byCi = records.filter((r) => r.userIdentity.userName === 'ci-deployer')
    expect(new Set(byCi.map((r) => r.sourceIPAddress))).toEqual(new Set(['52.94.76.10', '203.0.113.45']))
    for (const r of byCi) expect(r.userIdentity.accessKeyId).toBe(deployKey)
  })

  it('malicious-layer: the layer the trail shows added belongs to account 999999999999', async () => {
    const { files } = await seed('malicious-layer', new Date())
    const records = files.flatMap((f) => f.records)
    const change = records.find((r) => r.eventName === 'UpdateFunctionConfiguration20150331v2')!
    expect(change.requestParameters.layers).toEqual([
      'arn:aws:lambda:us-east-1:999999999999:layer:node-perf-utils:3',
    ])
    expect(change.userIdentity.userName).toBe('build-bot')
    // the layer was published in the other account: not in this account's trail
    expect(records.some((r) => r.eventName.startsWith('PublishLayerVersion'))).toBe(false)
    const denied = records.find((r) => r.eventName === 'ListAttachedRolePolicies')!
    expect(denied.errorCode).toBe('AccessDenied')
    expect(denied.responseElements).toBeNull()
  })
})
