import type { AwsClients } from '../../aws/clients.js'
import { getCallerIdentity } from '../../aws/sts.js'
import { seedCall } from '../../aws/tabletop-seed.js'
import { UsageError } from '../../errors.js'
import { sha256Hex } from '../common/hash.js'
import { redactor } from '../common/redact.js'
import { renderDeep, type Scope } from '../playbook/template.js'
import { mapLimit } from '../snapshot/pacing.js'
import {
  buildRecord,
  type IdentityContext,
  isDataEvent,
  sessionKeyId,
  type TrailFile,
  type TrailRecord,
  toTrailStyle,
  trailFiles,
} from './cloudtrail.js'
import { type Invocation, planFunctionLogs } from './function-logs.js'
import { appliedToEmulator, offsetMs, type Scenario, type StoryEvent } from './scenario.js'
import { makeZip } from './zip.js'

/** What seeding planted, and where the trail logs are. */
export interface SeedResult {
  account: string
  region: string
  codeBucket: string
  trailBucket: string
  trailPrefix: string
  /** `s3://bucket/prefix`: the timeline source that reads the drill's trail logs. */
  trailSource: string
  trailName: string
  records: TrailRecord[]
  files: { key: string; records: number }[]
  /**
   * The functions' log groups as seeded: Lambda's START/END/REPORT lines at the story's invocations
   * (request ids as the trail records them). `deleted`: a story event deleted it (logs:DeleteLogGroup).
   */
  logGroups: { name: string; streams: number; events: number; deleted: boolean }[]
  /** Each story event: when, who, what, and whether it changed the emulator's state. */
  story: { time: string; actor: string; call: string; applied: boolean; count: number }[]
  /** Names of what the story created, for the journal and the facilitator. */
  created: {
    functions: Record<string, string>
    roles: string[]
    users: string[]
    secrets: string[]
    layers: string[]
    accessKeys: string[]
  }
}

export interface SeedOptions {
  now: Date
  log?: (line: string) => void
}

type Params = Record<string, unknown>

/** Seed values templates may use: `{{ seed.account }}` and friends. */
export function seedScope(
  seed: Pick<SeedResult, 'account' | 'region' | 'trailBucket' | 'trailSource' | 'codeBucket'>,
): Scope {
  return {
    inputs: {},
    steps: {},
    seed: {
      account: seed.account,
      region: seed.region,
      trailBucket: seed.trailBucket,
      trailSource: seed.trailSource,
      codeBucket: seed.codeBucket,
    },
  } as Scope
}

function render(value: unknown, scope: Scope): unknown {
  // Code file contents are data, never templates.
  if (Array.isArray(value)) return value.map((v) => render(v, scope))
  if (value && typeof value === 'object') {
    const out: Params = {}
    for (const [k, v] of Object.entries(value)) out[k] = k === 'files' ? v : render(v, scope)
    return out
  }
  return renderDeep(value, scope)
}

/**
 * Plays a scenario's story into the emulator through the AWS SDK (every state-changing call in
 * the seed allow-list), and writes trail log files that record the very same calls — with the
 * emulator's responses (ARNs, code hashes, key ids) — at the story's times, in an S3 bucket laid
 * out as a trail delivers them. The trail and the state tell one story because they come from
 * the same calls.
 */
export async function seedScenario(
  aws: AwsClients,
  scenario: Scenario,
  options: SeedOptions,
): Promise<SeedResult> {
  const log = options.log ?? (() => {})
  const region = aws.region
  const { account } = await getCallerIdentity(aws)
  const codeBucket = `awslambda-${region}-tasks`
  const trailBucket = `fir-tabletop-cloudtrail-${account}`
  const trailPrefix = 'org-trail'
  const trailName = 'management-and-data-events'
  const result: SeedResult = {
    account,
    region,
    codeBucket,
    trailBucket,
    trailPrefix,
    trailSource: `s3://${trailBucket}/${trailPrefix}`,
    trailName,
    records: [],
    files: [],
    logGroups: [],
    story: [],
    created: { functions: {}, roles: [], users: [], secrets: [], layers: [], accessKeys: [] },
  }
  const bucketConfig =
    region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region } }
  await seedCall(aws, 's3:CreateBucket', { Bucket: codeBucket, ...bucketConfig })
  await seedCall(aws, 's3:CreateBucket', { Bucket: trailBucket, ...bucketConfig })
  await seedCall(aws, 'cloudtrail:CreateTrail', {
    Name: trailName,
    S3BucketName: trailBucket,
    S3KeyPrefix: trailPrefix,
    IsMultiRegionTrail: true,
  })
  await seedCall(aws, 'cloudtrail:PutEventSelectors', {
    TrailName: trailName,
    EventSelectors: [
      {
        ReadWriteType: 'All',
        IncludeManagementEvents: true,
        // The data events the stories record: Lambda Invoke and DynamoDB item calls.
        DataResources: [
          { Type: 'AWS::Lambda::Function', Values: ['arn:aws:lambda'] },
          { Type: 'AWS::DynamoDB::Table', Values: ['arn:aws:dynamodb'] },
        ],
      },
    ],
  })
  await seedCall(aws, 'cloudtrail:StartLogging', { Name: trailName })

  const scope = seedScope(result)
  const ids: IdentityContext = { account, roles: new Map(), userKeys: new Map() }
  const start = options.now.getTime()
  const invocations: Invocation[] = []
  const deletedLogGroups = new Map<string, Date>()
  const memory = new Map<string, number | undefined>()

  for (const [index, event] of scenario.story.entries()) {
    const actor = scenario.actors[event.actor]!
    const [service, operation] = event.call.split(':') as [string, string]
    const params = (render(event.with ?? {}, scope) ?? {}) as Params
    // Every text the trail records is filled in: an error message names ARNs with the account too.
    const error = event.error ? (render(event.error, scope) as { code: string; message: string }) : undefined
    const given = event.response ? (render(event.response, scope) as Params) : undefined
    const apply = appliedToEmulator(event)
    const { sdkParams, trailParams } = await prepareCode(aws, scenario, event.call, params, codeBucket)
    let response: Params | undefined
    if (apply) {
      log(`seed: ${event.call} ${describeTarget(params)}`)
      response = await seedCall(aws, event.call, sdkParams)
      remember(event.call, params, response, result, ids, scope)
      if (event.call === 'lambda:CreateFunction') {
        const size = response.MemorySize ?? params.MemorySize
        memory.set(
          String(response.FunctionName ?? params.FunctionName),
          typeof size === 'number' ? size : undefined,
        )
      }
    }
    const count = event.repeat?.count ?? 1
    const every = event.repeat ? offsetMs(event.repeat.every) : 0
    // Story order breaks ties: events at the same offset keep the order they are written in.
    const first = start + offsetMs(event.at) + index * 1000
    for (let n = 0; n < (event.record === false ? 0 : count); n++) {
      const time = new Date(first + n * every)
      if (time.getTime() > start) break
      const record = buildRecord(
        {
          service,
          operation,
          region,
          time,
          actorName: event.actor,
          actor,
          requestParameters: requestParametersFor(event.call, trailParams, result),
          responseElements: apply
            ? responseFor(event.call, params, response ?? {})
            : recordedResponse(event, params, given, scenario, result, ids, time),
          ...(error ? { error } : {}),
          ...(resourceFor(event.call, params, result) ?? {}),
        },
        ids,
      )
      result.records.push(record)
      noteLogActivity(
        event.call,
        params,
        error,
        time,
        String(record.requestID),
        result,
        invocations,
        deletedLogGroups,
      )
    }
    result.story.push({
      time: new Date(first).toISOString(),
      actor: event.actor,
      call: event.call,
      applied: apply,
      count,
    })
  }

  result.logGroups = await seedFunctionLogs(
    aws,
    planFunctionLogs(
      Object.keys(result.created.functions).map((name) => ({ name, memorySize: memory.get(name) })),
      invocations,
      deletedLogGroups,
      options.now,
    ),
    log,
  )

  const files: TrailFile[] = trailFiles(result.records, account, trailPrefix)
  // Several at once: a drill's hundreds of small files, one request each, were a good part of its
  // start-up (the emulator serves requests in parallel).
  await mapLimit(files, SEED_CONCURRENCY, (f) =>
    seedCall(aws, 's3:PutObject', {
      Bucket: trailBucket,
      Key: f.key,
      Body: f.body,
      ContentType: 'application/json',
      ContentEncoding: 'gzip',
    }),
  )
  result.files = files.map((f) => ({ key: f.key, records: f.records }))
  log(
    `seed: ${result.records.length} CloudTrail records in ${files.length} trail files under ${result.trailSource}`,
  )
  return result
}

/** What a recorded call means for the functions' logs: an invocation writes lines, a DeleteLogGroup removes them. */
function noteLogActivity(
  call: string,
  params: Params,
  error: unknown,
  time: Date,
  requestId: string,
  result: SeedResult,
  invocations: Invocation[],
  deleted: Map<string, Date>,
): void {
  if (error) return
  if (call === 'lambda:Invoke') {
    const arn = functionArnOf(params.FunctionName, result)
    const name = arn?.split(':function:')[1]?.split(':')[0]
    if (name) invocations.push({ functionName: name, time, requestId })
  } else if (call === 'logs:DeleteLogGroup') {
    const group = params.logGroupName ?? params.LogGroupName
    if (typeof group === 'string') deleted.set(group, time)
  }
}

/** Seeding requests in flight at once (trail files, log streams). */
const SEED_CONCURRENCY = 8

/** Creates each planned log group with its streams and events (groups deleted and never re-used stay absent). */
async function seedFunctionLogs(
  aws: AwsClients,
  plans: ReturnType<typeof planFunctionLogs>,
  log: (line: string) => void,
): Promise<SeedResult['logGroups']> {
  const out: SeedResult['logGroups'] = []
  for (const plan of plans) {
    const events = plan.streams.reduce((n, s) => n + s.events.length, 0)
    if (plan.deletedAt && plan.streams.length === 0) {
      out.push({ name: plan.logGroupName, streams: 0, events: 0, deleted: true })
      continue
    }
    await seedCall(aws, 'logs:CreateLogGroup', { logGroupName: plan.logGroupName })
    // Streams several at once; the events of one stream in order.
    await mapLimit(plan.streams, SEED_CONCURRENCY, async (stream) => {
      await seedCall(aws, 'logs:CreateLogStream', {
        logGroupName: plan.logGroupName,
        logStreamName: stream.logStreamName,
      })
      // One PutLogEvents takes at most 10,000 events spanning at most 24 hours.
      for (let i = 0; i < stream.events.length; ) {
        const first = stream.events[i]!.timestamp
        let j = i
        while (j < stream.events.length && j - i < 10_000 && stream.events[j]!.timestamp - first < 86_400_000)
          j++
        await seedCall(aws, 'logs:PutLogEvents', {
          logGroupName: plan.logGroupName,
          logStreamName: stream.logStreamName,
          logEvents: stream.events.slice(i, j),
        })
        i = j
      }
    })
    log(`seed: ${plan.logGroupName}: ${events} log events in ${plan.streams.length} streams`)
    out.push({
      name: plan.logGroupName,
      streams: plan.streams.length,
      events,
      deleted: Boolean(plan.deletedAt),
    })
  }
  return out
}

function describeTarget(p: Params): string {
  const t = p.FunctionName ?? p.RoleName ?? p.UserName ?? p.Name ?? p.LayerName ?? p.SecretId ?? ''
  return String(t)
}

/** Zips `Code.files` / `Content.files`, stores the package where the emulator serves it, and rewrites the params. */
async function prepareCode(
  aws: AwsClients,
  scenario: Scenario,
  call: string,
  params: Params,
  codeBucket: string,
): Promise<{ sdkParams: Params; trailParams: Params }> {
  const holder = call === 'lambda:PublishLayerVersion' ? 'Content' : 'Code'
  const code = params[holder] as { files?: Record<string, string>; upload?: string } | undefined
  if (
    !code?.files ||
    !['lambda:CreateFunction', 'lambda:UpdateFunctionCode', 'lambda:PublishLayerVersion'].includes(call)
  ) {
    return { sdkParams: params, trailParams: params }
  }
  const zip = makeZip(code.files)
  const name = String(params.FunctionName ?? params.LayerName ?? 'package')
  const key = `${scenario.name}/${name}/${sha256Hex(zip).slice(0, 16)}.zip`
  await seedCall(aws, 's3:PutObject', { Bucket: codeBucket, Key: key, Body: zip })
  const { [holder]: _drop, ...rest } = params
  const s3 = { S3Bucket: codeBucket, S3Key: key }
  // How the caller uploaded it: through S3 (recorded) or as a zip in the request (not recorded).
  const upload = code.upload ?? (call === 'lambda:UpdateFunctionCode' ? 'zip' : 's3')
  if (call === 'lambda:UpdateFunctionCode') {
    return { sdkParams: { ...rest, ...s3 }, trailParams: upload === 's3' ? { ...rest, ...s3 } : rest }
  }
  return {
    sdkParams: { ...rest, [holder]: s3 },
    trailParams: { ...rest, [holder]: upload === 's3' ? s3 : {} },
  }
}

function remember(
  call: string,
  params: Params,
  response: Params,
  result: SeedResult,
  ids: IdentityContext,
  scope: Scope,
): void {
  const c = result.created
  if (call === 'iam:CreateRole') {
    const role = response.Role as { Arn?: string; RoleId?: string; RoleName?: string } | undefined
    if (role?.RoleName && role.Arn) {
      ids.roles.set(role.RoleName, { arn: role.Arn, roleId: role.RoleId ?? '' })
      c.roles.push(role.RoleName)
    }
  } else if (call === 'iam:CreateUser') c.users.push(String(params.UserName))
  else if (call === 'iam:CreateAccessKey') {
    const key = response.AccessKey as
      | { AccessKeyId?: string; SecretAccessKey?: string; UserName?: string }
      | undefined
    if (key?.SecretAccessKey) redactor.register(key.SecretAccessKey)
    if (key?.AccessKeyId) {
      c.accessKeys.push(key.AccessKeyId)
      const user = key.UserName ?? params.UserName
      if (typeof user === 'string') {
        // The user's later calls are signed with it, and later events may name it:
        // `{{ seed.accessKeys.<user>.id }}` and `.secret` (a function whose environment holds it;
        // the secret is registered above, so it is shown redacted everywhere but evidence).
        ids.userKeys.set(user, key.AccessKeyId)
        // seedScope's scope carries `seed` beside the playbook scope's fields.
        const seed = (scope as unknown as { seed: Record<string, unknown> }).seed
        const keys = (seed.accessKeys ??= {}) as Record<string, { id: string; secret: string }>
        keys[user] = { id: key.AccessKeyId, secret: key.SecretAccessKey ?? '' }
      }
    }
  } else if (call === 'lambda:CreateFunction') {
    c.functions[String(response.FunctionName ?? params.FunctionName)] = String(response.FunctionArn ?? '')
  } else if (call === 'lambda:PublishLayerVersion') c.layers.push(String(response.LayerVersionArn ?? ''))
  else if (call === 'secretsmanager:CreateSecret') {
    c.secrets.push(String(params.Name))
    if (typeof params.SecretString === 'string') redactor.register(params.SecretString)
  } else if (call === 'secretsmanager:PutSecretValue' && typeof params.SecretString === 'string') {
    redactor.register(params.SecretString)
  }
}

function functionArnOf(ref: unknown, result: SeedResult): string | undefined {
  const s = String(ref ?? '')
  if (s.startsWith('arn:')) return s.replace(/:\$LATEST$/, '')
  return (
    result.created.functions[s] ??
    (s ? `arn:aws:lambda:${result.region}:${result.account}:function:${s}` : undefined)
  )
}

function requestParametersFor(call: string, params: Params, result: SeedResult): Params | null {
  if (call === 'lambda:Invoke') {
    return {
      functionName: functionArnOf(params.FunctionName, result),
      ...(params.SourceArn ? { sourceArn: params.SourceArn } : {}),
    }
  }
  const styled = toTrailStyle(params) as Params
  return Object.keys(styled).length ? styled : null
}

/** The resource a data event names: the function of an Invoke, the table of a DynamoDB item call. */
function resourceFor(call: string, params: Params, result: SeedResult): { resourceArn: string } | undefined {
  if (call === 'lambda:Invoke') {
    const arn = functionArnOf(params.FunctionName, result)
    return arn ? { resourceArn: arn } : undefined
  }
  const [service, operation] = call.split(':') as [string, string]
  if (service === 'dynamodb' && isDataEvent(service, operation) && typeof params.TableName === 'string') {
    const table = params.TableName
    return {
      resourceArn: table.startsWith('arn:')
        ? table
        : `arn:aws:dynamodb:${result.region}:${result.account}:table/${table}`,
    }
  }
  return undefined
}

/** responseElements of a call the emulator answered, as CloudTrail records them. */
function responseFor(call: string, params: Params, response: Params): Params | null {
  if (call === 'lambda:AddPermission') return { statement: response.Statement }
  if (Array.isArray(params.Layers) && Array.isArray(response.Layers)) {
    // moto resolves a layer by name in the function's own account and answers with that copy's
    // ARN; AWS answers with the layer the caller named (another account's): record that one.
    const named = params.Layers as string[]
    response = {
      ...response,
      Layers: (response.Layers as { Arn?: string }[]).map((l, i) => ({ ...l, Arn: named[i] ?? l.Arn })),
    }
  }
  if (call === 'iam:CreateAccessKey') {
    const k = (response.AccessKey ?? {}) as Params
    return {
      accessKey: toTrailStyle({
        UserName: k.UserName,
        AccessKeyId: k.AccessKeyId,
        Status: k.Status,
        CreateDate: k.CreateDate,
      }) as Params,
    }
  }
  if (call.startsWith('s3:') || call.startsWith('cloudtrail:')) return null
  const styled = toTrailStyle(response) as Params
  return Object.keys(styled).length ? styled : null
}

/** responseElements of a call that is only recorded: the scenario's, and an AssumeRole's issued session. */
function recordedResponse(
  event: StoryEvent,
  params: Params,
  response: Params | undefined,
  scenario: Scenario,
  result: SeedResult,
  ids: IdentityContext,
  time: Date,
): Params | null {
  const given = response ? (toTrailStyle(response) as Params) : null
  if (event.call !== 'sts:AssumeRole') return given
  const roleArn = String(params.RoleArn ?? '')
  const roleName = roleArn.split('/').at(-1) ?? ''
  const session = String(params.RoleSessionName ?? '')
  const actor = Object.values(scenario.actors).find(
    (a): a is Extract<typeof a, { type: 'AssumedRole' }> =>
      a.type === 'AssumedRole' && a.role === roleName && a.session === session,
  )
  if (!actor) {
    throw new UsageError(
      `unable to seed scenario ${scenario.name}: sts:AssumeRole of ${roleArn} as ${session} needs an AssumedRole actor with role ${roleName} and session ${session}`,
      { actions: ['add that actor, so the session the trail shows issued is the one it shows used'] },
    )
  }
  const roleId = ids.roles.get(roleName)?.roleId ?? ''
  return {
    credentials: {
      accessKeyId: sessionKeyId(actor, result.account),
      expiration: new Date(time.getTime() + 12 * 3_600_000).toISOString(),
    },
    assumedRoleUser: {
      assumedRoleId: `${roleId}:${session}`,
      arn: `arn:aws:sts::${result.account}:assumed-role/${roleName}/${session}`,
    },
    ...(given ?? {}),
  }
}
