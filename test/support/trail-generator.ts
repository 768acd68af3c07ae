/**
 * A seeded generator of realistic CloudTrail records and trail-bucket layouts, for tests, the
 * LookupEvents stand-in and the timeline benchmark. Everything here is made up by fir; no
 * third-party data is copied.
 *
 * The corpus mixes many services and principals; a configurable number of records relate to a
 * target function (its management events, invocations, calls with its execution role's sessions,
 * AssumeRole of the role by Lambda and by someone else, changes to the role and its policies, a
 * role swap) and a few decoys look similar but must not be related (a function whose name starts
 * with the target's name, a role whose name starts with the target role's name).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

// biome-ignore lint/suspicious/noExplicitAny: generated records are free-form JSON
export type CloudTrailRecord = Record<string, any>

/** Deterministic PRNG (mulberry32). */
export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(max: number): number {
    return Math.floor(this.next() * max)
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)] as T
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  hex(n: number): string {
    let s = ''
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(16)]
    return s
  }
  upper(n: number): string {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
    let s = ''
    for (let i = 0; i < n; i++) s += chars[this.int(chars.length)]
    return s
  }
  alnum(n: number): string {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
    let s = ''
    for (let i = 0; i < n; i++) s += chars[this.int(chars.length)]
    return s
  }
  uuid(): string {
    const h = this.hex(32)
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
  }
  ip(): string {
    return `${1 + this.int(222)}.${this.int(256)}.${this.int(256)}.${1 + this.int(254)}`
  }
}

export interface TargetSpec {
  functionName: string
  roleName: string
  region: string
}

export interface GeneratorOptions {
  seed?: number
  account?: string
  /** Total records (approximate for background; related ones are added on top). */
  records: number
  start: Date
  end: Date
  regions?: string[]
  target?: TargetSpec
  /** How many records relate to the target (default 300 when a target is given). */
  related?: number
  /** AWS-owned address ranges the generator draws "inside AWS" source IPs from. */
  awsCidrs?: string[]
  /** Request ids that fir itself made: a few target events carry them. */
  firRequestIds?: string[]
}

export interface GeneratedCorpus {
  account: string
  records: CloudTrailRecord[]
  /** eventIDs that relate to the target, by why. */
  related: Map<string, string>
  /** eventIDs that look similar but do not relate. */
  decoys: Set<string>
  /** eventIDs of the events that should raise a relatedness finding (not Lambda, outside AWS). */
  suspicious: Set<string>
}

export const DEFAULT_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
]

/** Small ranges that the generator treats as AWS's (a test ip-ranges.json is built from them). */
export const GENERATOR_AWS_CIDRS = ['3.80.0.0/12', '52.94.0.0/16', '18.200.0.0/13']

function ipInCidr(rng: Rng, cidr: string): string {
  const [base, bits] = cidr.split('/') as [string, string]
  const parts = base.split('.').map(Number)
  const baseInt = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
  const size = 2 ** (32 - Number(bits))
  const ip = (baseInt + 1 + rng.int(size - 2)) >>> 0
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.')
}

const USER_AGENTS = [
  'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances',
  'aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.51.4',
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.69',
  'aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.213 lang/js md/nodejs#20.12.0 api/dynamodb#3.540.0 exec-env/AWS_Lambda_nodejs20.x',
  'console.amazonaws.com',
  'Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3',
  'AWS Internal',
  'aws-sdk-java/2.25.16 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/adaptive',
]

interface Principal {
  identity: CloudTrailRecord
  sourceIp: () => string
  userAgent: string
}

interface EventSpec {
  source: string
  name: string
  readOnly: boolean
  data?: boolean
  weight: number
  params: (rng: Rng, ctx: { account: string; region: string }) => CloudTrailRecord | null
  response?: (rng: Rng, ctx: { account: string; region: string }) => CloudTrailRecord | null
  resources?: (rng: Rng, ctx: { account: string; region: string }) => CloudTrailRecord[] | undefined
  global?: boolean
}

const BUCKETS = ['app-assets-prod', 'data-lake-raw', 'ci-artifacts', 'logs-archive', 'customer-uploads']
const TABLES = ['orders', 'sessions', 'inventory', 'audit', 'users']
const OTHER_FUNCTIONS = [
  'billing-export',
  'thumbnailer',
  'auth-authorizer',
  'nightly-report',
  'webhook-relay',
]

function instanceId(rng: Rng): string {
  return `i-0${rng.hex(16)}`
}

const EVENTS: EventSpec[] = [
  {
    source: 'ec2.amazonaws.com',
    name: 'DescribeInstances',
    readOnly: true,
    weight: 14,
    params: (rng) => ({
      instancesSet: rng.chance(0.5) ? { items: [{ instanceId: instanceId(rng) }] } : {},
      filterSet: {},
    }),
  },
  {
    source: 'ec2.amazonaws.com',
    name: 'DescribeSecurityGroups',
    readOnly: true,
    weight: 5,
    params: () => ({ securityGroupSet: {}, securityGroupIdSet: {}, filterSet: {} }),
  },
  {
    source: 'ec2.amazonaws.com',
    name: 'DescribeNetworkInterfaces',
    readOnly: true,
    weight: 4,
    params: (rng) => ({
      networkInterfaceIdSet: {},
      filterSet: { items: [{ name: 'vpc-id', valueSet: { items: [{ value: `vpc-${rng.hex(8)}` }] } }] },
    }),
  },
  {
    source: 's3.amazonaws.com',
    name: 'GetObject',
    readOnly: true,
    data: true,
    weight: 16,
    params: (rng) => ({
      bucketName: rng.pick(BUCKETS),
      Host: `${rng.pick(BUCKETS)}.s3.amazonaws.com`,
      key: `prefix/${rng.alnum(12)}/${rng.alnum(8)}.json`,
    }),
    resources: (rng, { account }) => [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${rng.pick(BUCKETS)}/prefix/${rng.alnum(10)}` },
      { accountId: account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${rng.pick(BUCKETS)}` },
    ],
  },
  {
    source: 's3.amazonaws.com',
    name: 'PutObject',
    readOnly: false,
    data: true,
    weight: 6,
    params: (rng) => ({
      bucketName: rng.pick(BUCKETS),
      Host: `${rng.pick(BUCKETS)}.s3.amazonaws.com`,
      key: `incoming/${rng.alnum(16)}.parquet`,
    }),
    resources: (rng, { account }) => [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${rng.pick(BUCKETS)}/incoming/${rng.alnum(10)}` },
      { accountId: account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${rng.pick(BUCKETS)}` },
    ],
  },
  {
    source: 'dynamodb.amazonaws.com',
    name: 'DescribeTable',
    readOnly: true,
    weight: 4,
    params: (rng) => ({ tableName: rng.pick(TABLES) }),
  },
  {
    source: 'kms.amazonaws.com',
    name: 'Decrypt',
    readOnly: true,
    weight: 12,
    params: () => ({ encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }),
    resources: (rng, { account, region }) => [
      {
        accountId: account,
        type: 'AWS::KMS::Key',
        ARN: `arn:aws:kms:${region}:${account}:key/${rng.uuid()}`,
      },
    ],
  },
  {
    source: 'kms.amazonaws.com',
    name: 'GenerateDataKey',
    readOnly: true,
    weight: 5,
    params: (rng, { account, region }) => ({
      keyId: `arn:aws:kms:${region}:${account}:key/${rng.uuid()}`,
      keySpec: 'AES_256',
    }),
  },
  {
    source: 'sts.amazonaws.com',
    name: 'GetCallerIdentity',
    readOnly: true,
    weight: 3,
    params: () => null,
  },
  {
    source: 'logs.amazonaws.com',
    name: 'CreateLogStream',
    readOnly: false,
    weight: 5,
    params: (rng) => ({
      logGroupName: `/aws/lambda/${rng.pick(OTHER_FUNCTIONS)}`,
      logStreamName: `2025/01/01/[$LATEST]${rng.hex(32)}`,
    }),
  },
  {
    source: 'lambda.amazonaws.com',
    name: 'ListFunctions20150331',
    readOnly: true,
    weight: 2,
    params: () => null,
  },
  {
    source: 'lambda.amazonaws.com',
    name: 'GetFunction20150331v2',
    readOnly: true,
    weight: 2,
    params: (rng) => ({ functionName: rng.pick(OTHER_FUNCTIONS) }),
  },
  {
    source: 'iam.amazonaws.com',
    name: 'GetRole',
    readOnly: true,
    weight: 2,
    global: true,
    params: (rng) => ({ roleName: `svc-${rng.pick(OTHER_FUNCTIONS)}-role` }),
  },
  {
    source: 'iam.amazonaws.com',
    name: 'ListAttachedRolePolicies',
    readOnly: true,
    weight: 1,
    global: true,
    params: (rng) => ({ roleName: `svc-${rng.pick(OTHER_FUNCTIONS)}-role` }),
  },
  {
    source: 'ssm.amazonaws.com',
    name: 'GetParameter',
    readOnly: true,
    weight: 3,
    params: (rng) => ({
      name: `/app/${rng.pick(['db', 'cache', 'feature'])}/${rng.alnum(6)}`,
      withDecryption: true,
    }),
  },
  {
    source: 'secretsmanager.amazonaws.com',
    name: 'GetSecretValue',
    readOnly: true,
    weight: 2,
    params: (rng, { account, region }) => ({
      secretId: `arn:aws:secretsmanager:${region}:${account}:secret:app/${rng.alnum(6)}-${rng.alnum(6)}`,
    }),
  },
  {
    source: 'sqs.amazonaws.com',
    name: 'ReceiveMessage',
    readOnly: true,
    data: true,
    weight: 4,
    params: (rng, { account, region }) => ({
      queueUrl: `https://sqs.${region}.amazonaws.com/${account}/${rng.pick(['jobs', 'events', 'dlq'])}`,
      maxNumberOfMessages: 10,
      waitTimeSeconds: 20,
    }),
  },
  {
    source: 'monitoring.amazonaws.com',
    name: 'GetMetricData',
    readOnly: true,
    weight: 4,
    params: (rng) => ({
      startTime: 'Jan 1, 2025, 12:00:00 AM',
      endTime: 'Jan 1, 2025, 1:00:00 AM',
      metricDataQueries: [{ id: `m${rng.int(9)}`, returnData: true }],
    }),
  },
  {
    source: 'ecr.amazonaws.com',
    name: 'GetAuthorizationToken',
    readOnly: true,
    weight: 2,
    params: () => ({}),
  },
  {
    source: 'cloudformation.amazonaws.com',
    name: 'DescribeStacks',
    readOnly: true,
    weight: 2,
    params: (rng) => ({ stackName: `stack-${rng.alnum(6)}` }),
  },
]

const TOTAL_WEIGHT = EVENTS.reduce((s, e) => s + e.weight, 0)

function pickEvent(rng: Rng): EventSpec {
  let n = rng.next() * TOTAL_WEIGHT
  for (const e of EVENTS) {
    n -= e.weight
    if (n < 0) return e
  }
  return EVENTS[0]!
}

function makePrincipals(rng: Rng, account: string, awsIp: () => string): Principal[] {
  const out: Principal[] = []
  for (let i = 0; i < 25; i++) {
    const name = `${rng.pick(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'])}.${rng.alnum(4).toLowerCase()}`
    const ip = rng.ip()
    out.push({
      identity: {
        type: 'IAMUser',
        principalId: `AIDA${rng.upper(17)}`,
        arn: `arn:aws:iam::${account}:user/${name}`,
        accountId: account,
        accessKeyId: `AKIA${rng.upper(16)}`,
        userName: name,
      },
      sourceIp: () => ip,
      userAgent: rng.pick(USER_AGENTS),
    })
  }
  for (let i = 0; i < 40; i++) {
    const role = `${rng.pick(['svc', 'app', 'ci', 'ops', 'etl'])}-${rng.pick(OTHER_FUNCTIONS)}-${rng.alnum(5).toLowerCase()}`
    const session = rng.chance(0.5) ? rng.pick(OTHER_FUNCTIONS) : `session-${rng.alnum(8)}`
    const roleId = `AROA${rng.upper(17)}`
    out.push({
      identity: {
        type: 'AssumedRole',
        principalId: `${roleId}:${session}`,
        arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
        accountId: account,
        accessKeyId: `ASIA${rng.upper(16)}`,
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: roleId,
            arn: `arn:aws:iam::${account}:role/${role}`,
            accountId: account,
            userName: role,
          },
          attributes: { creationDate: '2025-01-01T00:00:00Z', mfaAuthenticated: 'false' },
        },
      },
      sourceIp: awsIp,
      userAgent: rng.pick(USER_AGENTS),
    })
  }
  for (const svc of ['ec2.amazonaws.com', 'cloudformation.amazonaws.com', 'autoscaling.amazonaws.com']) {
    out.push({
      identity: { type: 'AWSService', invokedBy: svc },
      sourceIp: () => svc,
      userAgent: svc,
    })
  }
  return out
}

function baseRecord(
  rng: Rng,
  account: string,
  region: string,
  time: Date,
  spec: { source: string; name: string; readOnly: boolean; data?: boolean },
  principal: Principal,
): CloudTrailRecord {
  return {
    eventVersion: spec.data ? '1.09' : '1.10',
    userIdentity: principal.identity,
    eventTime: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: spec.source,
    eventName: spec.name,
    awsRegion: region,
    sourceIPAddress: principal.sourceIp(),
    userAgent: principal.userAgent,
    requestParameters: null,
    responseElements: null,
    requestID: rng.uuid(),
    eventID: rng.uuid(),
    readOnly: spec.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: !spec.data,
    recipientAccountId: account,
    eventCategory: spec.data ? 'Data' : 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: `${spec.source.split('.')[0]}.${region}.amazonaws.com`,
    },
  }
}

/** One background record at a time, for streaming generators. */
export function backgroundRecordFactory(
  seed: number,
  account: string,
  awsCidrs = GENERATOR_AWS_CIDRS,
): (region: string, time: Date) => CloudTrailRecord {
  const rng = new Rng(seed)
  const awsIp = () => ipInCidr(rng, rng.pick(awsCidrs))
  const principals = makePrincipals(rng, account, awsIp)
  return (region, time) => {
    let spec = pickEvent(rng)
    // Global services (IAM) are recorded in us-east-1.
    while (spec.global && region !== 'us-east-1') spec = pickEvent(rng)
    const principal = rng.pick(principals)
    const rec = baseRecord(rng, account, region, time, spec, principal)
    const ctx = { account, region }
    rec.requestParameters = spec.params(rng, ctx)
    if (spec.response) rec.responseElements = spec.response(rng, ctx)
    const resources = spec.resources?.(rng, ctx)
    if (resources) rec.resources = resources
    if (rng.chance(0.02)) {
      rec.errorCode = rng.pick(['AccessDenied', 'ThrottlingException', 'ResourceNotFoundException'])
      rec.errorMessage = 'generated error'
    }
    if (principal.identity.type === 'AWSService') {
      rec.eventType = 'AwsApiCall'
      delete rec.tlsDetails
    }
    return rec
  }
}

/**
 * Records that relate to the target, in their event times (and decoys that must not relate).
 * The mix follows DESIGN §5: the function in resources/request/response, calls with the execution
 * role's sessions (Lambda's and someone else's, some from outside AWS and from other regions),
 * AssumeRole by Lambda and by a user, role and policy changes, a role swap, fir's own calls.
 */
export function targetRecords(
  seed: number,
  account: string,
  target: TargetSpec,
  count: number,
  start: Date,
  end: Date,
  regions: string[],
  options: { awsCidrs?: string[]; firRequestIds?: string[] } = {},
): {
  records: CloudTrailRecord[]
  related: Map<string, string>
  decoys: Set<string>
  suspicious: Set<string>
} {
  const rng = new Rng(seed ^ 0x5bd1e995)
  const awsCidrs = options.awsCidrs ?? GENERATOR_AWS_CIDRS
  const awsIp = () => ipInCidr(rng, rng.pick(awsCidrs))
  const span = end.getTime() - start.getTime()
  const at = () => new Date(start.getTime() + Math.floor(rng.next() * span))
  const { functionName, roleName, region } = target
  const fnArn = `arn:aws:lambda:${region}:${account}:function:${functionName}`
  const roleArn = `arn:aws:iam::${account}:role/${roleName}`
  const roleId = `AROA${rng.upper(17)}`
  const records: CloudTrailRecord[] = []
  const related = new Map<string, string>()
  const decoys = new Set<string>()
  const suspicious = new Set<string>()
  const attacker: Principal = {
    identity: {
      type: 'IAMUser',
      principalId: `AIDA${rng.upper(17)}`,
      arn: `arn:aws:iam::${account}:user/ci-deployer`,
      accountId: account,
      accessKeyId: `AKIA${rng.upper(16)}`,
      userName: 'ci-deployer',
    },
    sourceIp: () => '198.51.100.23',
    userAgent: 'python-requests/2.31.0',
  }
  const lambdaService: Principal = {
    identity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' },
    sourceIp: () => 'lambda.amazonaws.com',
    userAgent: 'lambda.amazonaws.com',
  }
  const session = (name: string, key: string, ip: () => string): Principal => ({
    identity: {
      type: 'AssumedRole',
      principalId: `${roleId}:${name}`,
      arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${name}`,
      accountId: account,
      accessKeyId: key,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: roleId,
          arn: roleArn,
          accountId: account,
          userName: roleName,
        },
        attributes: { creationDate: '2025-01-01T00:00:00Z', mfaAuthenticated: 'false' },
      },
    },
    sourceIp: ip,
    userAgent: 'Boto3/1.34.69 md/Botocore#1.34.69 exec-env/AWS_Lambda_python3.12',
  })
  const lambdaKey = `ASIA${rng.upper(16)}`
  const lambdaSession = session(functionName, lambdaKey, awsIp)
  const stolenSession = session(functionName, lambdaKey, () => '203.0.113.77')
  const attackerKey = `ASIA${rng.upper(16)}`
  const attackerSession = session('maintenance', attackerKey, () => '198.51.100.23')

  const add = (
    why: string,
    rec: CloudTrailRecord,
    flags: { suspicious?: boolean; decoy?: boolean } = {},
  ): CloudTrailRecord => {
    records.push(rec)
    if (flags.decoy) decoys.add(rec.eventID)
    else related.set(rec.eventID, why)
    if (flags.suspicious) suspicious.add(rec.eventID)
    return rec
  }
  const rec = (
    r: string,
    p: Principal,
    source: string,
    name: string,
    readOnly: boolean,
    extra: CloudTrailRecord = {},
    data = false,
  ) => ({ ...baseRecord(rng, account, r, at(), { source, name, readOnly, data }, p), ...extra })

  let made = 0
  const budget = Math.max(count, 30)
  // Fixed story events first.
  add(
    'resource',
    rec(region, attacker, 'lambda.amazonaws.com', 'UpdateFunctionCode20150331v2', false, {
      requestParameters: { functionName, publish: true },
      responseElements: { functionName, functionArn: fnArn, role: roleArn, codeSha256: `${rng.alnum(43)}=` },
    }),
  )
  add(
    'resource',
    rec(region, attacker, 'lambda.amazonaws.com', 'AddPermission20150331v2', false, {
      requestParameters: {
        functionName: fnArn,
        statementId: 'public',
        action: 'lambda:InvokeFunction',
        principal: '*',
      },
      responseElements: {
        statement: `{"Sid":"public","Effect":"Allow","Principal":"*","Resource":"${fnArn}"}`,
      },
    }),
  )
  add(
    'role-swap',
    rec(region, attacker, 'lambda.amazonaws.com', 'UpdateFunctionConfiguration20150331v2', false, {
      requestParameters: { functionName, role: `arn:aws:iam::${account}:role/attacker-admin` },
      responseElements: {
        functionName,
        functionArn: fnArn,
        role: `arn:aws:iam::${account}:role/attacker-admin`,
      },
    }),
  )
  add(
    'resource',
    rec(region, attacker, 'lambda.amazonaws.com', 'CreateFunctionUrlConfig', false, {
      requestParameters: { functionName, authType: 'NONE' },
      responseElements: {
        functionArn: fnArn,
        authType: 'NONE',
        functionUrl: `https://${rng.alnum(32).toLowerCase()}.lambda-url.${region}.on.aws/`,
      },
    }),
  )
  add(
    'role-change',
    rec('us-east-1', attacker, 'iam.amazonaws.com', 'PutRolePolicy', false, {
      requestParameters: {
        roleName,
        policyName: 'inline-admin',
        policyDocument:
          '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
      },
    }),
  )
  add(
    'role-change',
    rec('us-east-1', attacker, 'iam.amazonaws.com', 'AttachRolePolicy', false, {
      requestParameters: {
        roleName: roleName.toUpperCase(),
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      },
    }),
  )
  add(
    'role-change',
    rec('us-east-1', attacker, 'iam.amazonaws.com', 'UpdateAssumeRolePolicy', false, {
      requestParameters: {
        roleName,
        policyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}`,
      },
    }),
  )
  // AssumeRole of the role by someone other than Lambda, and what that session did.
  add(
    'assume-role',
    rec('us-east-1', attacker, 'sts.amazonaws.com', 'AssumeRole', true, {
      requestParameters: { roleArn, roleSessionName: 'maintenance', durationSeconds: 3600 },
      responseElements: {
        credentials: {
          accessKeyId: attackerKey,
          expiration: 'Jan 1, 2025, 1:00:00 AM',
          sessionToken: 'redacted',
        },
        assumedRoleUser: {
          assumedRoleId: `${roleId}:maintenance`,
          arn: `arn:aws:sts::${account}:assumed-role/${roleName}/maintenance`,
        },
      },
      resources: [
        { accountId: account, type: 'AWS::IAM::Role', ARN: roleArn },
        {
          accountId: account,
          type: 'AWS::IAM::AccessKey',
          ARN: `arn:aws:iam::${account}:access-key/${attackerKey}`,
        },
      ],
    }),
    { suspicious: true },
  )
  for (let i = 0; i < 4; i++) {
    add(
      'role-credentials',
      rec(rng.pick(regions), attackerSession, 'secretsmanager.amazonaws.com', 'ListSecrets', true, {
        requestParameters: null,
      }),
      { suspicious: true },
    )
  }
  // Stolen Lambda credentials used from outside AWS (session name is the function's).
  for (let i = 0; i < 3; i++) {
    add(
      'role-credentials',
      rec(rng.pick(regions), stolenSession, 'iam.amazonaws.com', 'ListRoles', true, {
        awsRegion: 'us-east-1',
        requestParameters: null,
      }),
      { suspicious: true },
    )
  }
  // fir's own calls.
  for (const id of options.firRequestIds ?? []) {
    const r = rec(region, attacker, 'lambda.amazonaws.com', 'GetFunction20150331v2', true, {
      requestParameters: { functionName },
      userIdentity: {
        ...attacker.identity,
        arn: `arn:aws:sts::${account}:assumed-role/IncidentResponder/fir-case-responder`,
      },
      userAgent: 'aws-sdk-js/3.1164.0 ua/2.0 os/linux lang/js md/nodejs#20.19.0 api/lambda#3.1164.0 fir',
      requestID: id,
    })
    add('fir', r)
  }
  made = records.length
  // Decoys: a function whose name starts with the target's, a role whose name starts with the target role's.
  for (let i = 0; i < 6; i++) {
    const other = `${functionName}-v2`
    add(
      'decoy',
      rec(region, attacker, 'lambda.amazonaws.com', 'UpdateFunctionCode20150331v2', false, {
        requestParameters: { functionName: other, publish: true },
        responseElements: {
          functionName: other,
          functionArn: `arn:aws:lambda:${region}:${account}:function:${other}`,
        },
      }),
      { decoy: true },
    )
    add(
      'decoy',
      rec('us-east-1', attacker, 'iam.amazonaws.com', 'GetRole', true, {
        requestParameters: { roleName: `${roleName}-old` },
      }),
      { decoy: true },
    )
  }
  // The bulk: invocations, Lambda's AssumeRole, and the function's own calls with its role.
  while (made < budget) {
    const roll = rng.next()
    if (roll < 0.3) {
      add(
        'resource',
        rec(
          region,
          rng.pick([attacker, lambdaSession]),
          'lambda.amazonaws.com',
          'Invoke',
          false,
          {
            requestParameters: { functionName: fnArn, invocationType: 'RequestResponse' },
            resources: [{ accountId: account, type: 'AWS::Lambda::Function', ARN: fnArn }],
            eventType: 'AwsApiCall',
          },
          true,
        ),
      )
    } else if (roll < 0.45) {
      add(
        'assume-role',
        rec(region, lambdaService, 'sts.amazonaws.com', 'AssumeRole', true, {
          userIdentity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' },
          requestParameters: { roleArn, roleSessionName: functionName },
          responseElements: {
            credentials: {
              accessKeyId: lambdaKey,
              expiration: 'Jan 1, 2025, 12:00:00 PM',
              sessionToken: 'redacted',
            },
            assumedRoleUser: {
              assumedRoleId: `${roleId}:${functionName}`,
              arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${functionName}`,
            },
          },
          resources: [
            { accountId: account, type: 'AWS::IAM::Role', ARN: roleArn },
            {
              accountId: account,
              type: 'AWS::IAM::AccessKey',
              ARN: `arn:aws:iam::${account}:access-key/${lambdaKey}`,
            },
          ],
          eventType: 'AwsApiCall',
        }),
      )
    } else {
      const spec = rng.pick([
        ['dynamodb.amazonaws.com', 'GetItem', true],
        ['dynamodb.amazonaws.com', 'PutItem', false],
        ['s3.amazonaws.com', 'GetObject', true],
        ['secretsmanager.amazonaws.com', 'GetSecretValue', true],
        ['kms.amazonaws.com', 'Decrypt', true],
        ['logs.amazonaws.com', 'CreateLogStream', false],
      ] as const)
      add(
        'role-credentials',
        rec(
          region,
          lambdaSession,
          spec[0],
          spec[1],
          spec[2],
          {
            requestParameters: { tableName: rng.pick(TABLES) },
          },
          spec[0] === 's3.amazonaws.com' || spec[0] === 'dynamodb.amazonaws.com',
        ),
      )
    }
    made++
  }
  return { records, related, decoys, suspicious }
}

/** A whole corpus in memory (tests): background plus target records. */
export function generateCorpus(options: GeneratorOptions): GeneratedCorpus {
  const seed = options.seed ?? 1
  const account = options.account ?? '111122223333'
  const regions = options.regions ?? DEFAULT_REGIONS
  const rng = new Rng(seed)
  const make = backgroundRecordFactory(seed + 1, account, options.awsCidrs)
  const span = options.end.getTime() - options.start.getTime()
  const records: CloudTrailRecord[] = []
  for (let i = 0; i < options.records; i++) {
    const region = rng.chance(0.4) ? 'us-east-1' : rng.pick(regions)
    records.push(make(region, new Date(options.start.getTime() + Math.floor(rng.next() * span))))
  }
  let related = new Map<string, string>()
  let decoys = new Set<string>()
  let suspicious = new Set<string>()
  if (options.target) {
    const t = targetRecords(
      seed + 2,
      account,
      options.target,
      options.related ?? 300,
      options.start,
      options.end,
      regions,
      { awsCidrs: options.awsCidrs, firRequestIds: options.firRequestIds },
    )
    records.push(...t.records)
    related = t.related
    decoys = t.decoys
    suspicious = t.suspicious
  }
  return { account, records, related, decoys, suspicious }
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** The S3 key (relative) CloudTrail would give a file delivered at `delivered`. */
export function trailKey(
  account: string,
  region: string,
  delivered: Date,
  suffix: string,
  orgId?: string,
): string {
  const y = delivered.getUTCFullYear()
  const m = pad(delivered.getUTCMonth() + 1)
  const d = pad(delivered.getUTCDate())
  const stamp = `${y}${m}${d}T${pad(delivered.getUTCHours())}${pad(delivered.getUTCMinutes())}Z`
  return `AWSLogs/${orgId ? `${orgId}/` : ''}${account}/CloudTrail/${region}/${y}/${m}/${d}/${account}_CloudTrail_${region}_${stamp}_${suffix}.json.gz`
}

export interface TrailFile {
  key: string
  body: Buffer
  records: number
  uncompressedBytes: number
}

/**
 * Groups records as CloudTrail delivers them: per region, per 5-minute window, at most
 * `maxPerFile` records a file, delivered 1-12 minutes after the window, unordered inside.
 */
export function packTrailFiles(
  records: CloudTrailRecord[],
  options: { account: string; seed?: number; maxPerFile?: number; orgId?: string; windowMs?: number },
): TrailFile[] {
  const rng = new Rng((options.seed ?? 7) ^ 0x1234567)
  const groups = new Map<string, CloudTrailRecord[]>()
  const windowMs = options.windowMs ?? 300_000
  for (const r of records) {
    const t = Date.parse(r.eventTime)
    const bucket = Math.floor(t / windowMs) * windowMs
    const key = `${r.awsRegion}|${bucket}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = []))
    g.push(r)
  }
  const files: TrailFile[] = []
  const max = options.maxPerFile ?? 60
  for (const [key, list] of [...groups.entries()].sort()) {
    const [region, bucketText] = key.split('|') as [string, string]
    for (let i = list.length - 1; i > 0; i--) {
      const j = rng.int(i + 1)
      ;[list[i], list[j]] = [list[j]!, list[i]!]
    }
    for (let off = 0; off < list.length; off += max) {
      const chunk = list.slice(off, off + max)
      const delivered = new Date(Number(bucketText) + windowMs + 60_000 * (1 + rng.int(12)))
      const text = JSON.stringify({ Records: chunk })
      files.push({
        key: trailKey(options.account, region, delivered, rng.alnum(16), options.orgId),
        body: gzipSync(text),
        records: chunk.length,
        uncompressedBytes: Buffer.byteLength(text),
      })
    }
  }
  return files
}

/** Writes trail files under `dir` with their S3 key layout. */
export async function writeTrailFiles(dir: string, files: TrailFile[]): Promise<void> {
  const made = new Set<string>()
  for (const f of files) {
    const path = join(dir, f.key)
    const folder = path.slice(0, path.lastIndexOf('/'))
    if (!made.has(folder)) {
      await mkdir(folder, { recursive: true })
      made.add(folder)
    }
    await writeFile(path, f.body)
  }
}

/** An ip-ranges.json (the format AWS publishes) for the generator's AWS ranges. */
export function awsIpRangesDocument(cidrs = GENERATOR_AWS_CIDRS): Record<string, unknown> {
  return {
    syncToken: '1700000000',
    createDate: '2025-01-01-00-00-00',
    prefixes: cidrs.map((c) => ({
      ip_prefix: c,
      region: 'us-east-1',
      service: 'AMAZON',
      network_border_group: 'us-east-1',
    })),
    ipv6_prefixes: [],
  }
}

export interface StreamedCorpus {
  account: string
  files: number
  records: number
  compressedBytes: number
  uncompressedBytes: number
  related: Map<string, string>
  decoys: Set<string>
  suspicious: Set<string>
}

/**
 * Writes a large corpus straight to disk in CloudTrail's layout without holding it in memory
 * (the benchmark): background records spread over the regions and 5-minute delivery windows,
 * with the target's records mixed in at their times.
 */
export async function writeTrailCorpus(
  dir: string,
  options: GeneratorOptions & { maxPerFile?: number; orgId?: string },
): Promise<StreamedCorpus> {
  const seed = options.seed ?? 1
  const account = options.account ?? '111122223333'
  const regions = options.regions ?? DEFAULT_REGIONS
  const rng = new Rng(seed)
  const make = backgroundRecordFactory(seed + 1, account, options.awsCidrs)
  const start = Math.floor(options.start.getTime() / 300_000) * 300_000
  const end = options.end.getTime()
  const windows = Math.max(1, Math.ceil((end - start) / 300_000))
  const perWindow = options.records / windows
  const target = options.target
    ? targetRecords(
        seed + 2,
        account,
        options.target,
        options.related ?? 300,
        options.start,
        options.end,
        regions,
        {
          awsCidrs: options.awsCidrs,
          firRequestIds: options.firRequestIds,
        },
      )
    : undefined
  const byWindow = new Map<number, CloudTrailRecord[]>()
  for (const r of target?.records ?? []) {
    const w = Math.floor(Date.parse(r.eventTime) / 300_000) * 300_000
    let list = byWindow.get(w)
    if (!list) byWindow.set(w, (list = []))
    list.push(r)
  }
  // Regional weights: us-east-1 carries global services and most traffic.
  const weights = regions.map((r, i) => (r === 'us-east-1' ? 4 : 1 + (i % 3)))
  const totalWeight = weights.reduce((a, b) => a + b, 0)
  const out: StreamedCorpus = {
    account,
    files: 0,
    records: 0,
    compressedBytes: 0,
    uncompressedBytes: 0,
    related: target?.related ?? new Map(),
    decoys: target?.decoys ?? new Set(),
    suspicious: target?.suspicious ?? new Set(),
  }
  let carry = 0
  for (let w = 0; w < windows; w++) {
    const wStart = start + w * 300_000
    carry += perWindow
    const n = Math.floor(carry)
    carry -= n
    const records: CloudTrailRecord[] = []
    for (let i = 0; i < n; i++) {
      let pick = rng.next() * totalWeight
      let region = regions[0]!
      for (let k = 0; k < regions.length; k++) {
        pick -= weights[k]!
        if (pick < 0) {
          region = regions[k]!
          break
        }
      }
      records.push(make(region, new Date(wStart + rng.int(300_000))))
    }
    records.push(...(byWindow.get(wStart) ?? []))
    const files = packTrailFiles(records, {
      account,
      seed: seed + w,
      maxPerFile: options.maxPerFile,
      orgId: options.orgId,
    })
    await writeTrailFiles(dir, files)
    for (const f of files) {
      out.files++
      out.records += f.records
      out.compressedBytes += f.body.length
      out.uncompressedBytes += f.uncompressedBytes
    }
  }
  return out
}
