import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import type { Actor } from './scenario.js'

/** A CloudTrail record as a trail delivers it (field names as AWS writes them). */
export type TrailRecord = Record<string, unknown>

/** Global services whose events CloudTrail records in us-east-1. */
const GLOBAL_SERVICES = new Set(['iam', 'sts', 'organizations', 'cloudfront', 'route53'])

/** Lambda's API names carry version suffixes in CloudTrail (DESIGN §10); function URL calls do not. */
const LAMBDA_EVENT_NAMES: Record<string, string> = {
  CreateFunction: 'CreateFunction20150331',
  DeleteFunction: 'DeleteFunction20150331',
  UpdateFunctionCode: 'UpdateFunctionCode20150331v2',
  UpdateFunctionConfiguration: 'UpdateFunctionConfiguration20150331v2',
  GetFunction: 'GetFunction20150331v2',
  GetFunctionConfiguration: 'GetFunctionConfiguration20150331v2',
  ListFunctions: 'ListFunctions20150331',
  AddPermission: 'AddPermission20150331v2',
  RemovePermission: 'RemovePermission20150331v2',
  GetPolicy: 'GetPolicy20150331v2',
  PublishVersion: 'PublishVersion20150331',
  CreateAlias: 'CreateAlias20150331',
  PublishLayerVersion: 'PublishLayerVersion20181031',
  GetLayerVersion: 'GetLayerVersion20181031',
  AddLayerVersionPermission: 'AddLayerVersionPermission20181031',
  PutFunctionConcurrency: 'PutFunctionConcurrency20171031',
  TagResource: 'TagResource20170331v2',
  ListEventSourceMappings: 'ListEventSourceMappings20150331',
  UpdateEventSourceMapping: 'UpdateEventSourceMapping20150331',
}

/**
 * Data events (not management events: `eventCategory: 'Data'`, `managementEvent: false`), each with
 * the readOnly CloudTrail gives it: Lambda Invoke (a write), S3 object calls and DynamoDB item
 * calls. A Scan reads a whole table and is still a read-only data event, not a change.
 */
const DATA_EVENTS: ReadonlyMap<string, boolean> = new Map([
  ['lambda:Invoke', false],
  ['s3:GetObject', true],
  ['s3:HeadObject', true],
  ['s3:ListObjects', true],
  ['s3:PutObject', false],
  ['s3:CopyObject', false],
  ['s3:DeleteObject', false],
  ['dynamodb:GetItem', true],
  ['dynamodb:BatchGetItem', true],
  ['dynamodb:Query', true],
  ['dynamodb:Scan', true],
  ['dynamodb:TransactGetItems', true],
  ['dynamodb:PutItem', false],
  ['dynamodb:UpdateItem', false],
  ['dynamodb:DeleteItem', false],
  ['dynamodb:BatchWriteItem', false],
  ['dynamodb:TransactWriteItems', false],
])

/**
 * Management calls CloudTrail marks read-only although their names do not start like a read:
 * AssumeRole and its variants issue credentials but change no resource, KMS crypto calls use a key.
 */
const READ_ONLY_CALLS = new Set([
  'sts:AssumeRole',
  'sts:AssumeRoleWithSAML',
  'sts:AssumeRoleWithWebIdentity',
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:GenerateDataKey',
])

/** Fields CloudTrail never records (secret material, bodies). */
const DROPPED = new Set([
  'ZipFile',
  'SecretString',
  'SecretBinary',
  'SecretAccessKey',
  'SessionToken',
  'Body',
  'Password',
])

const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS'

export function eventNameFor(service: string, operation: string): string {
  if (service === 'lambda') return LAMBDA_EVENT_NAMES[operation] ?? operation
  return operation
}

export function eventSourceFor(service: string): string {
  return `${service}.amazonaws.com`
}

/** Whether a call is a data event (Lambda Invoke, S3 object and DynamoDB item calls). */
export function isDataEvent(service: string, operation: string): boolean {
  return DATA_EVENTS.has(`${service}:${operation}`)
}

/** The `readOnly` CloudTrail records for a call. */
export function isReadOnly(service: string, operation: string): boolean {
  const call = `${service}:${operation}`
  const data = DATA_EVENTS.get(call)
  if (data !== undefined) return data
  return READ_ONLY_CALLS.has(call) || /^(Get|List|Describe|Lookup|BatchGet|Head|Search)/.test(operation)
}

/** A stable fake id: prefix + 16 base32-ish characters derived from the seed. */
export function fakeId(prefix: string, seed: string, length = 16): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const hash = createHash('sha256').update(seed).digest()
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[hash[i]! % 32]
  return `${prefix}${out}`
}

/** CloudTrail's request/response style: lowerCamelCase keys (ARN → arn), secrets dropped, dates as ISO. */
export function toTrailStyle(value: unknown, parentKey = ''): unknown {
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return undefined
  if (Array.isArray(value)) return value.map((v) => toTrailStyle(v, parentKey))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (DROPPED.has(k) || v === undefined) continue
      const key = /^[A-Z0-9]+$/.test(k) ? k.toLowerCase() : k.charAt(0).toLowerCase() + k.slice(1)
      if (k === 'Variables' && parentKey === 'Environment') {
        out[key] = HIDDEN
        continue
      }
      // A presigned code location is not part of a recorded response.
      if (k === 'Location' && parentKey === 'Code') continue
      const t = toTrailStyle(v, k)
      if (t !== undefined) out[key] = t
    }
    return out
  }
  return value
}

export interface IdentityContext {
  account: string
  /** Role name → ARN and RoleId as the emulator created them. */
  roles: Map<string, { arn: string; roleId: string }>
  /**
   * IAM user name → the access key the story created for it (iam:CreateAccessKey, applied): the
   * key that user's later calls are signed with, so a leaked key in the trail is one that exists.
   */
  userKeys: Map<string, string>
}

/** userIdentity, sourceIPAddress and userAgent for an actor. */
export function identityOf(
  name: string,
  actor: Actor,
  ctx: IdentityContext,
  at: Date,
): { userIdentity: Record<string, unknown>; sourceIPAddress: string; userAgent: string } {
  if (actor.type === 'AWSService') {
    return {
      userIdentity: { type: 'AWSService', invokedBy: actor.service },
      sourceIPAddress: actor.service,
      userAgent: actor.service,
    }
  }
  const account = actor.account ?? ctx.account
  if (actor.type === 'IAMUser') {
    return {
      userIdentity: {
        type: 'IAMUser',
        principalId: fakeId('AIDA', `${account}/user/${actor.userName}`),
        arn: `arn:aws:iam::${account}:user/${actor.userName}`,
        accountId: account,
        accessKeyId:
          actor.accessKeyId ??
          (account === ctx.account ? ctx.userKeys.get(actor.userName) : undefined) ??
          fakeId('AKIA', `${account}/key/${actor.userName}/${name}`),
        userName: actor.userName,
      },
      sourceIPAddress: actor.sourceIp,
      userAgent: actor.userAgent,
    }
  }
  const role = account === ctx.account ? ctx.roles.get(actor.role) : undefined
  const roleArn = role?.arn ?? `arn:aws:iam::${account}:role/${actor.role}`
  const roleId = role?.roleId ?? fakeId('AROA', `${account}/role/${actor.role}`)
  return {
    userIdentity: {
      type: 'AssumedRole',
      principalId: `${roleId}:${actor.session}`,
      arn: `arn:aws:sts::${account}:assumed-role/${actor.role}/${actor.session}`,
      accountId: account,
      accessKeyId: sessionKeyId(actor, account),
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: roleId,
          arn: roleArn,
          accountId: account,
          userName: actor.role,
        },
        attributes: {
          creationDate: new Date(at.getTime() - 20 * 60_000).toISOString(),
          mfaAuthenticated: 'false',
        },
      },
    },
    sourceIPAddress: actor.sourceIp,
    userAgent: actor.userAgent,
  }
}

export function sessionKeyId(actor: Extract<Actor, { type: 'AssumedRole' }>, account: string): string {
  return actor.accessKeyId ?? fakeId('ASIA', `${account}/session/${actor.role}/${actor.session}`)
}

export interface RecordInput {
  service: string
  operation: string
  region: string
  time: Date
  actorName: string
  actor: Actor
  requestParameters: Record<string, unknown> | null
  responseElements: Record<string, unknown> | null
  error?: { code: string; message: string }
  /** For data events: the resource ARN (a function for Invoke). */
  resourceArn?: string
}

/** One CloudTrail record, shaped like those a trail writes. */
export function buildRecord(input: RecordInput, ctx: IdentityContext): TrailRecord {
  const { service, operation } = input
  const who = identityOf(input.actorName, input.actor, ctx, input.time)
  const data = isDataEvent(service, operation)
  const region = GLOBAL_SERVICES.has(service) ? 'us-east-1' : input.region
  const record: TrailRecord = {
    eventVersion: '1.09',
    userIdentity: who.userIdentity,
    eventTime: input.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: eventSourceFor(service),
    eventName: eventNameFor(service, operation),
    awsRegion: region,
    sourceIPAddress: who.sourceIPAddress,
    userAgent: who.userAgent,
    ...(input.error ? { errorCode: input.error.code, errorMessage: input.error.message } : {}),
    requestParameters: input.requestParameters,
    responseElements: input.error ? null : input.responseElements,
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: isReadOnly(service, operation),
    ...(input.resourceArn
      ? { resources: [{ accountId: ctx.account, type: resourceType(service), ARN: input.resourceArn }] }
      : {}),
    eventType: 'AwsApiCall',
    managementEvent: !data,
    recipientAccountId: ctx.account,
    eventCategory: data ? 'Data' : 'Management',
  }
  if (input.actor.type !== 'AWSService') {
    record.tlsDetails = {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: GLOBAL_SERVICES.has(service)
        ? `${service}.amazonaws.com`
        : `${service}.${region}.amazonaws.com`,
    }
  }
  if (service === 'lambda' && operation === 'Invoke' && input.resourceArn) {
    record.additionalEventData = { functionVersion: `${input.resourceArn}:$LATEST` }
  }
  return record
}

function resourceType(service: string): string {
  if (service === 'lambda') return 'AWS::Lambda::Function'
  if (service === 's3') return 'AWS::S3::Object'
  if (service === 'dynamodb') return 'AWS::DynamoDB::Table'
  return `AWS::${service}`
}

/** One trail log file: its S3 key and gzipped body. */
export interface TrailFile {
  key: string
  body: Buffer
  records: number
}

/**
 * Lays records out as a trail delivers them: per region, in files covering about five minutes,
 * delivered a few minutes after the events; the key's date and stamp are the delivery time, and
 * records inside a file are not in order (DESIGN §5).
 */
export function trailFiles(records: TrailRecord[], account: string, prefix: string): TrailFile[] {
  const groups = new Map<string, { region: string; delivery: Date; records: TrailRecord[] }>()
  for (const r of records) {
    const t = Date.parse(String(r.eventTime))
    const region = String(r.awsRegion)
    const window = Math.floor(t / 300_000) * 300_000
    const delivery = new Date(window + 300_000 + (Math.abs(hashInt(`${region}${window}`)) % 240) * 1000)
    const key = `${region}|${window}`
    let g = groups.get(key)
    if (!g) {
      g = { region, delivery, records: [] }
      groups.set(key, g)
    }
    g.records.push(r)
  }
  const base = prefix ? `${prefix.replace(/\/+$/, '')}/` : ''
  const out: TrailFile[] = []
  for (const g of groups.values()) {
    const d = g.delivery
    const yyyy = d.getUTCFullYear()
    const mm = String(d.getUTCMonth() + 1).padStart(2, '0')
    const dd = String(d.getUTCDate()).padStart(2, '0')
    const stamp = `${yyyy}${mm}${dd}T${String(d.getUTCHours()).padStart(2, '0')}${String(d.getUTCMinutes()).padStart(2, '0')}Z`
    const suffix = randomBytes(12)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(0, 16)
    const key = `${base}AWSLogs/${account}/CloudTrail/${g.region}/${yyyy}/${mm}/${dd}/${account}_CloudTrail_${g.region}_${stamp}_${suffix}.json.gz`
    // CloudTrail does not order records inside a file.
    const shuffled = [...g.records].sort((a, b) => hashInt(String(a.eventID)) - hashInt(String(b.eventID)))
    out.push({ key, body: gzipSync(JSON.stringify({ Records: shuffled })), records: shuffled.length })
  }
  return out.sort((a, b) => a.key.localeCompare(b.key))
}

function hashInt(s: string): number {
  return createHash('sha256').update(s).digest().readInt32BE(0)
}
