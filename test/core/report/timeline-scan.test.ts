import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { SECRET_FILE_ACTION } from '../../../src/core/case/secrets.js'
import { sha256Hex } from '../../../src/core/common/hash.js'
import { buildReportModel } from '../../../src/core/report/build.js'
import { scanTimeline } from '../../../src/core/report/timeline-scan.js'
import { tempDir } from '../../support/cli.js'

const ACCOUNT = '123456789012'
const session = (role: string, name = 's') => ({
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`,
})

/** One normalised timeline event (DESIGN §5), with only the fields the scan reads. */
function event(n: number, fields: Record<string, unknown>): string {
  return JSON.stringify({
    id: `e-${n}`,
    time: new Date(Date.UTC(2026, 10, 27, 3, n)).toISOString(),
    source: 'secretsmanager.amazonaws.com',
    region: 'us-east-1',
    sourceIp: '203.0.113.45',
    readOnly: true,
    ...fields,
  })
}

describe('what the timeline says the execution role’s credentials did', () => {
  it('names the secrets read and the access keys created with them, and nothing refused or done by another role', async () => {
    const dir = await tempDir()
    const path = join(dir, 'events.jsonl')
    const lines = [
      event(1, {
        name: 'GetSecretValue',
        actor: session('Orders-Role'),
        requestParameters: { secretId: 'prod/db' },
      }),
      event(2, {
        name: 'GetSecretValue',
        actor: session('orders-role'),
        requestParameters: {
          secretId: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/api-key-AbC123`,
        },
      }),
      event(3, {
        name: 'BatchGetSecretValue',
        actor: session('orders-role'),
        requestParameters: { secretIdList: ['prod/a', 'prod/b'] },
      }),
      // Refused, or another role's: not reads with the execution role's credentials.
      event(4, {
        name: 'GetSecretValue',
        actor: session('orders-role'),
        requestParameters: { secretId: 'prod/refused' },
        error: { code: 'AccessDeniedException' },
      }),
      event(5, {
        name: 'GetSecretValue',
        actor: session('other-role'),
        requestParameters: { secretId: 'prod/other' },
      }),
      event(6, {
        name: 'CreateAccessKey',
        source: 'iam.amazonaws.com',
        readOnly: false,
        actor: session('orders-role'),
        requestParameters: { userName: 'backup-admin' },
        responseElements: { accessKey: { accessKeyId: 'AKIAIOSFODNN7BACKDOR', userName: 'backup-admin' } },
      }),
      event(7, {
        name: 'CreateAccessKey',
        source: 'iam.amazonaws.com',
        readOnly: false,
        actor: session('other-role'),
        responseElements: { accessKey: { accessKeyId: 'AKIAIOSFODNN7OTHERR' } },
      }),
      event(8, {
        name: 'CreateAccessKey',
        source: 'iam.amazonaws.com',
        readOnly: false,
        actor: session('orders-role'),
        requestParameters: { userName: 'root-ish' },
        error: { code: 'AccessDenied' },
      }),
    ]
    await writeFile(path, `${lines.join('\n')}\n`)
    const scan = await scanTimeline(path, null, 50, ['orders-role'])
    expect(scan.totalEvents).toBe(8)
    // Named with the region (and account) they are in: same-named secrets of two regions are two.
    expect(scan.secretsRead).toEqual([
      'prod/a (us-east-1)',
      `prod/api-key (us-east-1, account ${ACCOUNT})`,
      'prod/b (us-east-1)',
      'prod/db (us-east-1)',
    ])
    expect(scan.keysCreated).toEqual(['AKIAIOSFODNN7BACKDOR for user backup-admin'])

    const none = await scanTimeline(path, null, 50, [])
    expect(none.secretsRead).toEqual([])
    expect(none.keysCreated).toEqual([])
  })

  it('says "1 call failed or was denied" for one refused call in a case’s timeline', async () => {
    const parent = await tempDir()
    const handle = await CaseHandle.init('IMPACT-1', { dir: join(parent, 'case'), firVersion: 'test' })
    await handle.close()
    await mkdir(join(parent, 'case', 'timeline'), { recursive: true })
    await writeFile(
      join(parent, 'case', 'timeline', 'events.jsonl'),
      `${event(1, { name: 'CreateUser', actor: session('orders-role'), error: { code: 'AccessDenied' } })}\n`,
    )
    const model = await buildReportModel(join(parent, 'case'), { firVersion: 'test' })
    expect(model.summary.impact).toContain('1 call failed or was denied (attempts that did not succeed).')
  })

  it('names the long-term keys used from where the role was used outside Lambda, in the impact and the advice', async () => {
    const parent = await tempDir()
    const handle = await CaseHandle.init('IMPACT-2', { dir: join(parent, 'case'), firVersion: 'test' })
    await handle.close()
    await mkdir(join(parent, 'case', 'timeline'), { recursive: true })
    const flagged = [
      {
        rule: 'fir-timeline-call-from-stolen-credentials-address',
        title: 'Another identity…',
        level: 'high',
      },
    ]
    const user = (name: string, key: string) => ({
      type: 'IAMUser',
      arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
      accessKeyId: key,
    })
    const lines = [
      event(1, {
        name: 'UpdateFunctionCode',
        source: 'lambda.amazonaws.com',
        readOnly: false,
        actor: user('ci-deployer', 'AKIAIOSFODNN7DEPLOYK'),
        findings: flagged,
      }),
      event(2, {
        name: 'GetFunction',
        source: 'lambda.amazonaws.com',
        actor: user('ci-deployer', 'AKIAIOSFODNN7DEPLOYK'),
        sourceIp: '198.51.100.9',
        findings: flagged,
      }),
      // Not flagged: the same user's key elsewhere says nothing about the intrusion.
      event(3, { name: 'GetFunction', actor: user('ops', 'AKIAIOSFODNN7OPSKEY1') }),
    ]
    await writeFile(join(parent, 'case', 'timeline', 'events.jsonl'), `${lines.join('\n')}\n`)
    const scan = await scanTimeline(join(parent, 'case', 'timeline', 'events.jsonl'), null, 50, [])
    expect(scan.keysFromStolenAddress).toEqual([
      {
        accessKeyId: 'AKIAIOSFODNN7DEPLOYK',
        userName: 'ci-deployer',
        sourceIps: ['198.51.100.9', '203.0.113.45'],
      },
    ])
    const model = await buildReportModel(join(parent, 'case'), { firVersion: 'test' })
    expect(model.summary.impact).toContain(
      '1 long-term access key of another identity was used from an address where the execution role’s credentials were used outside Lambda (AKIAIOSFODNN7DEPLOYK of user ci-deployer from 198.51.100.9, 203.0.113.45): whoever stole the credentials holds it too, and revoking the role’s sessions does not stop it.',
    )
    const advice = model.recommendations.items.find((r) =>
      r.title.startsWith('Rotate the long-term access key used'),
    )
    expect(advice?.command).toBe(
      `fir creds rotate-key --user ci-deployer --access-key AKIAIOSFODNN7DEPLOYK --case ${join(parent, 'case')}`,
    )
  })

  it('names the long-term key that signed high or critical findings (not fir’s own calls) in the impact and asks to cut it off until rotated', async () => {
    // Before: an IAM user's key that opened the function to the public (the public-url-backdoor
    // drill) got no recommendation at all: only a generic "keys were not rotated" limit.
    const parent = await tempDir()
    const handle = await CaseHandle.init('IMPACT-3', { dir: join(parent, 'case'), firVersion: 'test' })
    await handle.close()
    await mkdir(join(parent, 'case', 'timeline'), { recursive: true })
    const user = (name: string, key: string) => ({
      type: 'IAMUser',
      arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
      accessKeyId: key,
    })
    const finding = (title: string, level: string) => [{ rule: 'r', title, level, tags: [] }]
    const lines = [
      event(1, {
        name: 'AddPermission20150331v2',
        source: 'lambda.amazonaws.com',
        readOnly: false,
        actor: user('contractor', 'AKIAIOSFODNN7CONTRAC'),
        sourceIp: '198.51.100.77',
        findings: finding('Lambda Function Policy Opened To Everyone', 'high'),
      }),
      // A low finding, fir's own call, and an unflagged call are not the intruder's signature.
      event(2, {
        name: 'ListFunctions',
        actor: user('auditor', 'AKIAIOSFODNN7AUDITOR'),
        findings: finding('Discovery', 'low'),
      }),
      event(3, {
        name: 'PutRolePolicy',
        source: 'iam.amazonaws.com',
        actor: user('responder', 'AKIAIOSFODNN7RESPOND'),
        fir: true,
        findings: finding('Administrator Permissions Granted', 'high'),
      }),
      event(4, { name: 'GetFunction', actor: user('ops', 'AKIAIOSFODNN7OPSKEY1') }),
    ]
    await writeFile(join(parent, 'case', 'timeline', 'events.jsonl'), `${lines.join('\n')}\n`)
    const scan = await scanTimeline(join(parent, 'case', 'timeline', 'events.jsonl'), null, 50, [])
    expect(scan.keysOfFlaggedCalls).toEqual([
      {
        accessKeyId: 'AKIAIOSFODNN7CONTRAC',
        userName: 'contractor',
        sourceIps: ['198.51.100.77'],
        findings: ['Lambda Function Policy Opened To Everyone'],
      },
    ])
    const model = await buildReportModel(join(parent, 'case'), { firVersion: 'test' })
    expect(model.summary.impact).toContain(
      'Calls flagged high or critical were signed with 1 long-term access key (AKIAIOSFODNN7CONTRAC of user contractor from 198.51.100.77): it still works unless rotated.',
    )
    const title = 'Cut off the long-term access key that made the flagged calls'
    expect(model.recommendations.items.find((r) => r.title === title)).toMatchObject({
      priority: 1,
      command: `fir creds rotate-key --user contractor --access-key AKIAIOSFODNN7CONTRAC --case ${join(parent, 'case')}`,
    })
    // Once the case rotated it, the advice is gone and the impact says so.
    const again = await CaseHandle.open(join(parent, 'case'))
    await again.journal.append({
      action: 'credentials.rotate-key',
      target: `arn:aws:iam::${ACCOUNT}:user/contractor#AKIAIOSFODNN7CONTRAC`,
      params: { user: 'contractor' },
      outcome: 'applied',
      prior: { userName: 'contractor', oldKeyId: 'AKIAIOSFODNN7CONTRAC', keys: [] },
      after: { userName: 'contractor', oldKeyId: 'AKIAIOSFODNN7CONTRAC', keys: [] },
    })
    await again.close()
    const rotated = await buildReportModel(join(parent, 'case'), { firVersion: 'test' })
    expect(rotated.recommendations.items.map((r) => r.title)).not.toContain(title)
  })

  it('says what a key found in the environment signed: calls, addresses, changes, failures; its changes are key events', async () => {
    const dir = await tempDir()
    const path = join(dir, 'events.jsonl')
    const key = 'AKIAIOSFODNN7LEAKED1'
    const user = { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/ci`, accessKeyId: key }
    const lines = [
      event(1, { name: 'GetCallerIdentity', source: 'sts.amazonaws.com', actor: user }),
      event(2, { name: 'UpdateFunctionCode', source: 'lambda.amazonaws.com', readOnly: false, actor: user }),
      event(3, {
        name: 'CreateUser',
        source: 'iam.amazonaws.com',
        readOnly: false,
        actor: user,
        error: { code: 'AccessDenied' },
      }),
      event(4, {
        name: 'ListFunctions',
        source: 'lambda.amazonaws.com',
        actor: user,
        sourceIp: '52.94.76.10',
      }),
      event(5, {
        name: 'GetObject',
        actor: { type: 'IAMUser', arn: 'x', accessKeyId: 'AKIAOTHERKEY00000001' },
      }),
    ]
    await writeFile(path, `${lines.join('\n')}\n`)
    const scan = await scanTimeline(path, null, 50, [], [key, 'AKIAIOSFODNN7UNUSED1'])
    expect(scan.watchedKeyUse).toEqual([
      {
        accessKeyId: key,
        calls: 4,
        failed: 1,
        first: '2026-11-27T03:01:00.000Z',
        last: '2026-11-27T03:04:00.000Z',
        sourceIps: ['203.0.113.45 (3)', '52.94.76.10 (1)'],
        changes: ['UpdateFunctionCode'],
        userName: 'ci',
      },
      {
        accessKeyId: 'AKIAIOSFODNN7UNUSED1',
        calls: 0,
        failed: 0,
        first: null,
        last: null,
        sourceIps: [],
        changes: [],
        userName: null,
      },
    ])
    // Its changes and failures are key events, named as the key's; its reads are only counted
    // (a CI key's routine reads would fill the table).
    expect(scan.keyEvents.map((e) => [e.name, e.reason])).toEqual([
      ['UpdateFunctionCode', 'change signed with a key found in the environment'],
      ['CreateUser', 'change signed with a key found in the environment'],
    ])
  })

  it("redacts a rotated key's secret in the report, and not the user name beside it in its file", async () => {
    const parent = await tempDir()
    const handle = await CaseHandle.init('SECRET-1', { dir: join(parent, 'case'), firVersion: 'test' })
    const dir = join(parent, 'case')
    const user = 'invoice-uploader-service'
    const secret = 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY42'
    const file = JSON.stringify({
      AccessKey: {
        UserName: user,
        AccessKeyId: 'AKIAIOSFODNN7NEWKEY1',
        Status: 'Active',
        SecretAccessKey: secret,
        CreateDate: '2026-11-29T10:00:00.000Z',
      },
    })
    // As rotate-key writes it: journaled (path and hash) first, so it is known as fir's.
    const rel = `secrets/${user}-AKIAIOSFODNN7NEWKEY1.json`
    await handle.journal.append({
      action: SECRET_FILE_ACTION,
      target: rel,
      params: { path: rel, sha256: sha256Hex(file), bytes: file.length },
      outcome: 'recorded',
    })
    await handle.close()
    await writeFile(join(dir, rel), file)
    await mkdir(join(dir, 'timeline'), { recursive: true })
    await writeFile(
      join(dir, 'timeline', 'events.jsonl'),
      `${event(1, {
        name: 'CreateUser',
        source: 'iam.amazonaws.com',
        readOnly: false,
        actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/${user}` },
        requestParameters: { userName: 'support-backup', note: secret },
      })}\n`,
    )
    const text = JSON.stringify(await buildReportModel(dir, { firVersion: 'test' }))
    expect(text).not.toContain(secret)
    // Before: every string of 16 characters or more in the file was taken for a secret.
    expect(text).toContain(`arn:aws:iam::${ACCOUNT}:user/${user}`)
  })
})

describe('key events at the ends of what a Date holds', () => {
  it('lists them in time order, the years before 0000 first and +275760 last (ISO text sorted them by sign)', async () => {
    const dir = await tempDir()
    const path = join(dir, 'events.jsonl')
    const change = (n: number, time: string) =>
      event(n, {
        time,
        name: 'UpdateFunctionCode',
        source: 'lambda.amazonaws.com',
        readOnly: false,
        actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/x` },
      })
    const times = [
      '+275760-09-13T00:00:00.000Z',
      '2026-11-27T03:00:00.000Z',
      '-000001-06-01T00:00:00.000Z',
      '9999-12-31T23:59:59.000Z',
      '-271821-04-20T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
    ]
    await writeFile(path, `${times.map((t, i) => change(i, t)).join('\n')}\n`)
    const scan = await scanTimeline(path, null, 50, [])
    expect(scan.keyEvents.map((e) => e.time)).toEqual(
      [...times].sort((a, b) => Date.parse(a) - Date.parse(b)),
    )
    expect(scan.keyEvents.at(-1)!.timeDisplay).toBe('+275760-09-13 00:00:00 UTC')
    expect(scan.firstMs).toBe(-8.64e15)
    expect(scan.lastMs).toBe(8.64e15)
  })
})

describe('the public access flagged events opened', () => {
  it('names the function each flagged AddPermission or URL without auth targeted, and nothing unflagged', async () => {
    const dir = await tempDir()
    const path = join(dir, 'events.jsonl')
    const flagged = (title: string) => [{ rule: 'r', title, level: 'high', tags: [] }]
    const lambda = { source: 'lambda.amazonaws.com', actor: session('role1', 'g1'), readOnly: false }
    const lines = [
      event(1, {
        ...lambda,
        name: 'AddPermission20150331v2',
        requestParameters: { functionName: 'other1', principal: '*' },
        findings: flagged('Lambda Function Policy Opened To Everyone Or Another Account'),
      }),
      event(2, {
        ...lambda,
        name: 'CreateFunctionUrlConfig',
        requestParameters: { functionName: 'other1', authType: 'NONE' },
        findings: flagged('Lambda Function URL Without Authentication'),
      }),
      // Flagged for another reason (the session used outside Lambda): not access it opened.
      event(3, {
        ...lambda,
        name: 'AddPermission20150331v2',
        requestParameters: { functionName: 'g1', principal: 's3.amazonaws.com' },
        findings: flagged('Lambda Role Session Used Outside Lambda'),
      }),
    ]
    await writeFile(path, `${lines.join('\n')}\n`)
    const scan = await scanTimeline(path, null, 50, ['role1'])
    expect(scan.accessOpened.map((a) => [a.kind, a.functionName, a.region, a.eventName])).toEqual([
      ['resource-policy', 'other1', 'us-east-1', 'AddPermission20150331v2'],
      ['function-url', 'other1', 'us-east-1', 'CreateFunctionUrlConfig'],
    ])
  })
})

describe('the calls that undo a containment measure', () => {
  it('names each measure undone, the function or role, and leaves out fir’s calls, failed ones and what undoes nothing', async () => {
    const dir = await tempDir()
    const path = join(dir, 'events.jsonl')
    const flagged = (title: string) => [{ rule: 'r', title, level: 'high', tags: [] }]
    const lambda = {
      source: 'lambda.amazonaws.com',
      account: ACCOUNT,
      actor: session('fa-role', 'fa'),
      readOnly: false,
    }
    const iam = { ...lambda, source: 'iam.amazonaws.com' }
    const lines = [
      event(1, {
        ...lambda,
        name: 'AddPermission20150331v2',
        requestParameters: { functionName: 'fa', principal: '*' },
        findings: flagged('Lambda Function Policy Opened To Everyone Or Another Account'),
      }),
      event(2, {
        ...lambda,
        name: 'DeleteFunctionConcurrency20171031',
        requestParameters: { functionName: 'fa' },
      }),
      event(3, {
        ...lambda,
        name: 'PutFunctionConcurrency20171031',
        requestParameters: { functionName: 'fb', reservedConcurrentExecutions: 5 },
      }),
      event(4, {
        ...lambda,
        region: 'eu-west-1',
        name: 'UpdateFunctionUrlConfig',
        requestParameters: {
          functionName: `arn:aws:lambda:eu-west-1:444455556666:function:fc:live`,
          authType: 'NONE',
        },
        findings: flagged('Lambda Function URL Without Authentication'),
      }),
      // The mapping named by its UUID alone: the function is in the response.
      event(5, {
        ...lambda,
        name: 'UpdateEventSourceMapping20150331',
        requestParameters: { uUID: 'u-1', enabled: true },
        responseElements: {
          functionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:fa`,
          state: 'Enabling',
        },
      }),
      event(6, {
        ...iam,
        name: 'DeleteRolePolicy',
        requestParameters: { roleName: 'fa-role', policyName: 'fir-revoke-C-1' },
      }),
      // fir's own call, a denied one, a throttle to 0, a mapping disabled, another policy deleted,
      // a URL set to AWS_IAM: none undoes a measure.
      event(7, {
        ...lambda,
        name: 'DeleteFunctionConcurrency20171031',
        requestParameters: { functionName: 'fd' },
        fir: true,
      }),
      event(8, {
        ...lambda,
        name: 'DeleteFunctionConcurrency20171031',
        requestParameters: { functionName: 'fe' },
        error: { code: 'AccessDeniedException', message: 'denied' },
      }),
      event(9, {
        ...lambda,
        name: 'PutFunctionConcurrency20171031',
        requestParameters: { functionName: 'ff', reservedConcurrentExecutions: 0 },
      }),
      event(10, {
        ...lambda,
        name: 'UpdateEventSourceMapping20150331',
        requestParameters: { uUID: 'u-2', functionName: 'fg', enabled: false },
      }),
      event(11, {
        ...iam,
        name: 'DeleteRolePolicy',
        requestParameters: { roleName: 'fa-role', policyName: 'ops' },
      }),
      event(12, {
        ...lambda,
        name: 'UpdateFunctionUrlConfig',
        requestParameters: { functionName: 'fh', authType: 'AWS_IAM' },
      }),
      // Throttles to 0 by fir, and denied: they put nothing back either.
      event(13, {
        ...lambda,
        name: 'PutFunctionConcurrency20171031',
        requestParameters: { functionName: 'fi', reservedConcurrentExecutions: 0 },
        fir: true,
      }),
      event(14, {
        ...lambda,
        name: 'PutFunctionConcurrency20171031',
        requestParameters: { functionName: 'fj', reservedConcurrentExecutions: 0 },
        error: { code: 'AccessDeniedException', message: 'denied' },
      }),
    ]
    await writeFile(path, `${lines.join('\n')}\n`)
    const scan = await scanTimeline(path, null, 50, [], [], 'fir-revoke-C-1')
    expect(
      scan.measuresUndone.map((u) => [u.measure, u.name, u.region, u.account, u.eventName, u.actor]),
    ).toEqual([
      [
        'containment.permissions',
        'fa',
        'us-east-1',
        ACCOUNT,
        'AddPermission20150331v2',
        session('fa-role', 'fa').arn,
      ],
      [
        'containment.throttle',
        'fa',
        'us-east-1',
        ACCOUNT,
        'DeleteFunctionConcurrency20171031',
        session('fa-role', 'fa').arn,
      ],
      [
        'containment.throttle',
        'fb',
        'us-east-1',
        ACCOUNT,
        'PutFunctionConcurrency20171031',
        session('fa-role', 'fa').arn,
      ],
      [
        'containment.url',
        'fc',
        'eu-west-1',
        '444455556666',
        'UpdateFunctionUrlConfig',
        session('fa-role', 'fa').arn,
      ],
      [
        'containment.event-sources',
        'fa',
        'us-east-1',
        ACCOUNT,
        'UpdateEventSourceMapping20150331',
        session('fa-role', 'fa').arn,
      ],
      ['containment.sessions', 'fa-role', '', ACCOUNT, 'DeleteRolePolicy', session('fa-role', 'fa').arn],
    ])
    // The throttle to 0 by someone else puts the throttle back (over a call that lifted it).
    expect(scan.measuresReapplied.map((u) => [u.measure, u.name, u.region, u.account, u.eventName])).toEqual([
      ['containment.throttle', 'ff', 'us-east-1', ACCOUNT, 'PutFunctionConcurrency20171031'],
    ])
  })
})

describe('the case revocation policy put over by someone else', () => {
  it('undoes the sessions measure; fir’s own PutRolePolicy, and a deny-all put over it, do not', async () => {
    const dir = await tempDir()
    const path = join(dir, 'events.jsonl')
    const iam = {
      source: 'iam.amazonaws.com',
      account: ACCOUNT,
      actor: session('fa-role', 'fa'),
      readOnly: false,
    }
    const put = (role: string) => ({
      ...iam,
      name: 'PutRolePolicy',
      requestParameters: { roleName: role, policyName: 'fir-revoke-C-1', policyDocument: '{"Statement":[]}' },
    })
    const denyAll = {
      ...put('fc-role'),
      requestParameters: {
        roleName: 'fc-role',
        policyName: 'fir-revoke-C-1',
        policyDocument: '{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}',
      },
    }
    await writeFile(
      path,
      `${[event(1, { ...put('fb-role'), fir: true }), event(2, put('fa-role')), event(3, denyAll)].join('\n')}\n`,
    )
    const scan = await scanTimeline(path, null, 50, [], [], 'fir-revoke-C-1')
    // Before: none (only DeleteRolePolicy counted), so the report said the revocation was in force
    // while an Allow document had replaced it.
    expect(scan.measuresUndone.map((u) => [u.measure, u.name, u.eventName])).toEqual([
      ['containment.sessions', 'fa-role', 'PutRolePolicy'],
    ])
  })
})

describe("findings on fir's own calls, in a timeline stored before fir left them out", () => {
  it('are neither listed, nor the first detection, nor the evidence of opened access', async () => {
    const dir = await tempDir()
    const path = join(dir, 'events.jsonl')
    const admin = [
      {
        rule: 'iam-admin',
        title: 'Administrator Permissions Granted To An IAM Identity',
        level: 'high',
        tags: [],
      },
    ]
    const url = [
      { rule: 'url', title: 'Lambda Function URL Without Authentication', level: 'high', tags: [] },
    ]
    const responder = { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/responder` }
    const lines = [
      // fir's revoke-sessions policy, flagged by the rule as it was, and fir's restore of a URL.
      event(1, {
        name: 'PutRolePolicy',
        source: 'iam.amazonaws.com',
        readOnly: false,
        fir: true,
        actor: responder,
        requestParameters: { roleName: 'orders-role', policyName: 'fir-revoke-IR-1' },
        findings: admin,
      }),
      event(2, {
        name: 'UpdateFunctionUrlConfig',
        source: 'lambda.amazonaws.com',
        readOnly: false,
        fir: true,
        actor: responder,
        requestParameters: { functionName: 'orders', authType: 'NONE' },
        findings: url,
      }),
      event(3, {
        name: 'PutRolePolicy',
        source: 'iam.amazonaws.com',
        readOnly: false,
        actor: session('orders-role'),
        requestParameters: { roleName: 'orders-role', policyName: 'x' },
        findings: admin,
      }),
    ]
    await writeFile(path, `${lines.join('\n')}\n`)
    const entry = (n: number, title: string) => ({
      eventId: `e-${n}`,
      time: new Date(Date.UTC(2026, 10, 27, 3, n)).toISOString(),
      eventName: 'PutRolePolicy',
      rule: 'iam-admin',
      title,
      level: 'high',
      tags: [],
      actor: null,
      region: 'us-east-1',
      summary: '',
    })
    const findingsFile = [entry(1, admin[0]!.title), entry(3, admin[0]!.title)]
    for (const scan of [
      await scanTimeline(path, null, 50, ['orders-role']),
      await scanTimeline(path, findingsFile, 50, ['orders-role']),
    ]) {
      expect(scan.firEvents).toBe(2)
      expect(scan.eventsWithFindings).toBe(1)
      expect(scan.findingGroups.map((g) => [g.title, g.count, g.references])).toEqual([
        [admin[0]!.title, 1, ['e-3']],
      ])
      expect(scan.firstFinding).toEqual({ time: '2026-11-27T03:03:00.000Z', title: admin[0]!.title })
      expect(scan.findingPoints).toHaveLength(1)
      expect(scan.accessOpened).toEqual([])
      // Still shown among the key events, as changes by fir.
      expect(scan.keyEvents.filter((e) => e.fir).map((e) => [e.id, e.reason, e.level])).toEqual([
        ['e-1', 'change by fir', null],
        ['e-2', 'change by fir', null],
      ])
    }
  })
})

describe('calls the execution role’s credentials made that failed or were denied', () => {
  // `fir timeline pay --role pay-role` over a trail where every call of the session was refused.
  const deniedCase = async () => {
    const parent = await tempDir()
    const dir = join(parent, 'case')
    const handle = await CaseHandle.init('DENIED-1', { dir, firVersion: 'test' })
    await handle.close()
    await mkdir(join(dir, 'timeline'), { recursive: true })
    const denied = { code: 'AccessDenied', message: 'not authorized' }
    const flag = (rule: string, title: string) => [
      { rule, title, level: 'high', tags: ['attack.persistence'] },
    ]
    const lines = [
      event(1, {
        name: 'AssumeRole',
        source: 'sts.amazonaws.com',
        readOnly: false,
        account: ACCOUNT,
        actor: session('pay-role', 'pay'),
        requestParameters: { roleArn: `arn:aws:iam::${ACCOUNT}:role/admin-role`, roleSessionName: 'x' },
        error: denied,
      }),
      event(2, {
        name: 'CreateAccessKey',
        source: 'iam.amazonaws.com',
        readOnly: false,
        account: ACCOUNT,
        actor: session('pay-role', 'pay'),
        requestParameters: { userName: 'admin' },
        error: denied,
        findings: flag('key', 'Access Key Created For Another User'),
      }),
      event(3, {
        name: 'AddPermission20150331v2',
        source: 'lambda.amazonaws.com',
        readOnly: false,
        account: ACCOUNT,
        actor: session('pay-role', 'pay'),
        requestParameters: { functionName: 'pay', principal: '*' },
        error: denied,
        findings: flag('policy', 'Lambda Function Policy Opened To Everyone Or Another Account'),
      }),
      event(4, {
        name: 'CreateFunctionUrlConfig',
        source: 'lambda.amazonaws.com',
        readOnly: false,
        account: ACCOUNT,
        actor: session('pay-role', 'pay'),
        requestParameters: { functionName: 'pay', authType: 'NONE' },
        error: denied,
        findings: flag('url', 'Lambda Function URL Without Authentication'),
      }),
    ]
    await writeFile(join(dir, 'timeline', 'events.jsonl'), `${lines.join('\n')}\n`)
    // As fir timeline writes them: the findings file names each flagged event.
    const entries = [
      [2, 'key', 'Access Key Created For Another User', 'CreateAccessKey'],
      [
        3,
        'policy',
        'Lambda Function Policy Opened To Everyone Or Another Account',
        'AddPermission20150331v2',
      ],
      [4, 'url', 'Lambda Function URL Without Authentication', 'CreateFunctionUrlConfig'],
    ].map(([n, rule, title, eventName]) => ({
      eventId: `e-${n}`,
      time: new Date(Date.UTC(2026, 10, 27, 3, n as number)).toISOString(),
      eventName,
      rule,
      title,
      level: 'high',
      tags: ['attack.persistence'],
      actor: session('pay-role', 'pay').arn,
      region: 'us-east-1',
      summary: `${eventName} by ${session('pay-role', 'pay').arn}`,
    }))
    await writeFile(join(dir, 'timeline', 'findings.json'), JSON.stringify(entries))
    await writeFile(
      join(dir, 'timeline', 'summary.json'),
      JSON.stringify({
        function: {
          name: 'pay',
          roles: [{ name: 'pay-role', arn: `arn:aws:iam::${ACCOUNT}:role/pay-role` }],
        },
      }),
    )
    return { dir, entries }
  }

  it('calls a refused AssumeRole an attempt, not a role assumed, and asks to remove nothing the attacker never created', async () => {
    // Before: "The execution role’s credentials were used to assume other roles: …admin-role (1×)",
    // "Now: Revoke the sessions of the roles assumed…" and "Now: Remove what the attacker created"
    // for calls that were all denied.
    const { dir, entries } = await deniedCase()
    const events = join(dir, 'timeline', 'events.jsonl')
    for (const scan of [
      await scanTimeline(events, null, 50, ['pay-role']),
      await scanTimeline(events, entries, 50, ['pay-role']),
    ]) {
      expect(scan.chainedAssumeRoles).toEqual([])
      expect(scan.chainedAssumeRolesRefused).toEqual([`arn:aws:iam::${ACCOUNT}:role/admin-role (1×)`])
      expect(scan.keysCreated).toEqual([])
      expect(scan.findingGroups.map((g) => [g.title, g.count, g.failed])).toEqual([
        ['Access Key Created For Another User', 1, 1],
        ['Lambda Function Policy Opened To Everyone Or Another Account', 1, 1],
        ['Lambda Function URL Without Authentication', 1, 1],
      ])
      expect(scan.findingGroups[0]!.detail).toBe(
        `CreateAccessKey by ${session('pay-role', 'pay').arn} (failed or denied: an attempt)`,
      )
    }
    const model = await buildReportModel(dir, { verify: false })
    expect(model.summary.impact.join('\n')).not.toContain('were used to assume other roles')
    expect(model.summary.impact).toContain(
      `The execution role’s credentials were used to try to assume other roles, and the calls failed or were denied (no session was issued): arn:aws:iam::${ACCOUNT}:role/admin-role (1×).`,
    )
    expect(model.summary.impact).toContain('4 calls failed or were denied (attempts that did not succeed).')
    const titles = model.recommendations.items.map((r) => r.title)
    expect(titles).not.toContain(
      'Revoke the sessions of the roles assumed with the execution role’s credentials',
    )
    expect(titles.filter((t) => /attacker (created|opened)/.test(t))).toEqual([])
  })

  it('names the account of the timeline’s events in the scope when no snapshot does', async () => {
    // Before: "- Accounts: none known" while every event was recorded in 123456789012.
    const { dir } = await deniedCase()
    const model = await buildReportModel(dir, { verify: false })
    expect(model.scope.accounts).toEqual([ACCOUNT])
    expect(model.scope.regions).toEqual(['us-east-1'])
  })
})
