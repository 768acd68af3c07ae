import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { AwsClients } from '../../src/aws/clients.js'
import { Gaps } from '../../src/core/context.js'
import {
  clockText,
  type DoctorReport,
  doctorSetting,
  runDoctor,
  settingLines,
} from '../../src/core/doctor.js'
import { useMoto } from '../support/emulator.js'
import { FaultProxy } from '../support/fault-proxy.js'
import { seedClients } from '../support/seed.js'

const moto = useMoto()

afterEach(() => {
  vi.unstubAllEnvs()
})

/** fir's clients as a responder runs it (not emulator-only), signing with these keys. */
async function clientsAs(endpoint: string, key: { id: string; secret: string }): Promise<AwsClients> {
  vi.stubEnv('AWS_ACCESS_KEY_ID', key.id)
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', key.secret)
  vi.stubEnv('AWS_SESSION_TOKEN', undefined)
  vi.stubEnv('AWS_PROFILE', undefined)
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true')
  return AwsClients.create({ endpoint, region: 'us-east-1', emulatorOnly: false, maxAttempts: 1 })
}

const statusOf = (r: DoctorReport, command: string, action?: string) => {
  const row = r.commands.find((c) => c.command === command)!
  return action === undefined ? row.ready : row.actions.find((a) => a.action === action)!.status
}

describe("doctor's permission check from a user's policies (moto cannot simulate)", () => {
  let key: { id: string; secret: string }

  beforeAll(async () => {
    const iam = seedClients(moto.endpoint()).iam
    await iam.send(new CreateUserCommand({ UserName: 'grouped' }))
    // Its own policy grants only Lambda reads; its group grants everything but one action.
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'grouped',
        PolicyName: 'lambda-read',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['lambda:Get*', 'lambda:List*'], Resource: '*' }],
        }),
      }),
    )
    await iam.send(new CreateGroupCommand({ GroupName: 'responders' }))
    await iam.send(new AddUserToGroupCommand({ GroupName: 'responders', UserName: 'grouped' }))
    await iam.send(
      new PutGroupPolicyCommand({
        GroupName: 'responders',
        PolicyName: 'everything',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    )
    const managed = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'no-throttle',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Action: 'lambda:PutFunctionConcurrency', Resource: '*' }],
        }),
      }),
    )
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'responders', PolicyArn: managed.Policy!.Arn! }))
    const k = await iam.send(new CreateAccessKeyCommand({ UserName: 'grouped' }))
    key = { id: k.AccessKey!.AccessKeyId!, secret: k.AccessKey!.SecretAccessKey! }
  })

  it("counts the group's inline and managed policies: Allow */* grants, and the group's Deny denies", async () => {
    const aws = await clientsAs(moto.endpoint(), key)
    const gaps = new Gaps()
    const r = await runDoctor(aws, gaps)
    expect(r.identity.arn).toBe('arn:aws:iam::123456789012:user/grouped')
    expect(r.permissionCheck).toBe('policies')
    // Before: not-granted, as if the user held only its own Lambda reads.
    expect(statusOf(r, 'creds revoke-sessions')).toBe('allowed')
    expect(statusOf(r, 'snapshot')).toBe('allowed')
    // The group's managed policy denies the throttle.
    expect(statusOf(r, 'contain', 'lambda:PutFunctionConcurrency')).toBe('denied')
    expect(statusOf(r, 'contain')).toBe('denied')
    expect(gaps.list).toEqual([])
    expect(r.unreadPolicies).toEqual([])
  })

  it('says "unknown", never "not-granted", for what the policies it could read do not grant, with a gap naming the read denied', async () => {
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'GetGroupPolicy', fault: 'access-denied' }],
    }).start()
    try {
      const aws = await clientsAs(proxy.endpoint, key)
      const gaps = new Gaps()
      const r = await runDoctor(aws, gaps)
      expect(r.permissionCheck).toBe('policies')
      // The user's own policy still grants the Lambda reads.
      expect(statusOf(r, 'snapshot', 'lambda:GetFunction')).toBe('allowed')
      // Before: not-granted (the group was never read).
      expect(statusOf(r, 'creds revoke-sessions', 'iam:PutRolePolicy')).toBe('unknown')
      expect(statusOf(r, 'creds revoke-sessions')).toBe('unknown')
      expect(r.commands.flatMap((c) => c.actions).filter((a) => a.status === 'not-granted')).toEqual([])
      expect(r.unreadPolicies).toEqual(['the policies of group responders'])
      expect(gaps.list).toEqual([
        {
          what: 'permission check (reading the policies of group responders)',
          call: 'iam:GetGroupPolicy',
          reason: expect.stringMatching(/^denied: AccessDenied/),
        },
      ])

      // The groups themselves unreadable: the same.
      proxy.rules = [{ match: 'ListGroupsForUser', fault: 'access-denied' }]
      const noGroups = new Gaps()
      const r2 = await runDoctor(aws, noGroups)
      expect(r2.unreadPolicies).toEqual(['the groups of user grouped'])
      expect(statusOf(r2, 'creds revoke-sessions')).toBe('unknown')
      expect(noGroups.list.map((g) => g.call)).toEqual(['iam:ListGroupsForUser'])
    } finally {
      await proxy.stop()
    }
  })
})

describe("doctor's proxy line: what fir does for the endpoint in use", () => {
  const PROXY = 'http://proxy.internal.example:3128'

  it('names HTTPS_PROXY only where fir sends the calls through it, and why not elsewhere', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing')
    vi.stubEnv('AWS_PROFILE', undefined)
    vi.stubEnv('HTTPS_PROXY', PROXY)
    vi.stubEnv('NO_PROXY', 'localhost, .VPCE.example')
    const setting = async (endpoint: string | undefined) =>
      doctorSetting(await AwsClients.create({ endpoint, region: 'us-east-1', emulatorOnly: false }))
    const via = PROXY

    const proxied = await setting('https://10.1.2.3:4566')
    expect(proxied.proxy).toBe(via)
    expect(proxied.proxiesUnused).toEqual([])
    vi.stubEnv('AWS_ENDPOINT_URL', undefined)
    expect((await setting(undefined)).proxy).toBe(via)

    const named = await setting('https://lambda.vpce.example')
    expect(named.proxy).toBeNull()
    expect(named.proxiesUnused).toEqual([
      { variable: 'HTTPS_PROXY', url: via, reason: "NO_PROXY names the endpoint's host (.vpce.example)" },
    ])
    // Only HTTPS requests get the proxy: an http:// endpoint is reached directly.
    const plain = await setting('http://10.1.2.3:4566')
    expect(plain.proxy).toBeNull()
    expect(plain.proxiesUnused[0]!.reason).toMatch(/^the endpoint is http:\/\//)

    // HTTP_PROXY is named as unused wherever it is set.
    vi.stubEnv('HTTP_PROXY', 'http://proxy.internal.example:80')
    expect((await setting('https://10.1.2.3:4566')).proxiesUnused).toEqual([
      {
        variable: 'HTTP_PROXY',
        url: 'http://proxy.internal.example:80',
        reason: expect.stringMatching(/^fir never uses it \(/),
      },
    ])
  })

  it("judges AWS's own hosts against NO_PROXY when no endpoint is set, as the calls are judged", async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing')
    vi.stubEnv('AWS_PROFILE', undefined)
    vi.stubEnv('AWS_ENDPOINT_URL', undefined)
    vi.stubEnv('HTTPS_PROXY', PROXY)
    const setting = async () =>
      doctorSetting(await AwsClients.create({ region: 'eu-west-1', emulatorOnly: false }))

    // Before: "proxy http://proxy.internal.example:3128 (HTTPS_PROXY)" though NO_PROXY names every
    // AWS host (the calls went through the proxy all the same).
    vi.stubEnv('NO_PROXY', '*.amazonaws.com')
    const none = await setting()
    expect(none.proxy).toBeNull()
    expect(none.proxiesUnused).toEqual([
      {
        variable: 'HTTPS_PROXY',
        url: PROXY,
        reason:
          'lambda.eu-west-1.amazonaws.com, iam.amazonaws.com, sts.eu-west-1.amazonaws.com, s3.eu-west-1.amazonaws.com, secretsmanager.eu-west-1.amazonaws.com and 5 more are reached directly (NO_PROXY names them: *.amazonaws.com)',
      },
    ])
    expect(settingLines(none).join('\n')).toContain('proxy     none (straight to the endpoint)')

    // S3 through a gateway endpoint, the rest through the proxy.
    vi.stubEnv('NO_PROXY', '.s3.eu-west-1.amazonaws.com')
    const some = await setting()
    expect(some.proxy).toBe(PROXY)
    expect(some.proxiesUnused).toEqual([
      {
        variable: 'HTTPS_PROXY',
        url: PROXY,
        reason:
          "s3.eu-west-1.amazonaws.com is reached directly (NO_PROXY names it: .s3.eu-west-1.amazonaws.com); fir's calls to other hosts go through it",
      },
    ])
  })

  it('reports the loopback endpoint it has just called as reached without the proxy', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing')
    vi.stubEnv('AWS_PROFILE', undefined)
    vi.stubEnv('HTTPS_PROXY', PROXY)
    const aws = await AwsClients.create({
      endpoint: moto.endpoint(),
      region: 'us-east-1',
      emulatorOnly: false,
      maxAttempts: 1,
    })
    const r = await runDoctor(aws, new Gaps())
    // Before: HTTPS_PROXY, though the calls went straight to moto (a closed proxy port would have
    // failed them).
    expect(r.proxy).toBeNull()
    expect(r.proxiesUnused.map((u) => u.reason)).toEqual([
      'the endpoint is a loopback address, reached directly',
    ])
  })
})

describe("doctor's clock line", () => {
  it('says which clock is ahead, in a sentence of its own, and what a large skew means', () => {
    expect(clockText(3)).toBe("AWS's clock is 3 s ahead of this machine's")
    expect(clockText(0)).toBe("AWS's clock agrees with this machine's (to the second)")
    expect(clockText(null)).toMatch(/^unknown: /)
    // Before: `AWS is -600 s  (over 4 min: AWS will reject signatures; sync the clock) from this machine`.
    expect(clockText(-600)).toBe(
      "AWS's clock is 600 s behind this machine's (most AWS services refuse a request signed more than 5 min off their clock, S3 after 15 min; the AWS SDK corrects for the skew after a refusal and retries, but sync this machine's clock)",
    )
    expect(clockText(240)).not.toContain('refuse')
    expect(clockText(241)).toContain('refuse')
  })
})
