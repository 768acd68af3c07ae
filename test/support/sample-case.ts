import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { appendFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CaseHandle } from '../../src/core/case/case-folder.js'
import { recordArtifact } from '../../src/core/case/evidence-store.js'
import type { Actor } from '../../src/core/case/journal.js'
import { writeFileAtomic } from '../../src/core/common/fs-safe.js'
import { redactValue } from '../../src/core/common/redact.js'
import { compactUtc } from '../../src/core/common/text.js'
import type { EventSourcesState } from '../../src/core/containment/event-sources.js'
import type { PermissionsState } from '../../src/core/containment/permissions.js'
import type { RecycleState } from '../../src/core/containment/recycle.js'
import type { ThrottleState } from '../../src/core/containment/throttle.js'
import type { UrlState } from '../../src/core/containment/url.js'
import type { RevokeState } from '../../src/core/credentials/revoke-policy.js'
import type { RotateKeyState } from '../../src/core/credentials/rotate-key.js'
import type { Finding as SnapshotFinding, SnapshotSummary } from '../../src/core/snapshot/types.js'
import { recordSweep, type SweepMatch, type SweepResult } from '../../src/core/sweep/sweep.js'
import type { TimelineFindingEntry, TimelineSummary } from '../../src/core/timeline/collect.js'
import type { EventFinding, TimelineEvent } from '../../src/core/timeline/types.js'

/**
 * Writes a realistic case folder through the real case APIs (CaseHandle, Journal, EvidenceSet,
 * recordArtifact), in the shared formats of the brief: a sealed snapshot set with summary.json and
 * findings.json, containment steps journaled as started → applied with prior/after, a timeline
 * (events.jsonl of DESIGN §5 with raw records, findings.json, summary.json, a raw page), and the
 * after-action notes of a tabletop drill. Used by the report tests, the screenshot script and
 * the benchmark.
 */
export interface SampleCaseOptions {
  /** Folder that receives cases/<id>. */
  parent: string
  id?: string
  /** Number of timeline events (default 240; the benchmark uses 100,000). */
  events?: number
  snapshot?: boolean
  contain?: boolean
  timeline?: boolean
  notes?: boolean
  /** More variables in the snapshot's function environment (secret-looking ones are the case's secrets). */
  extraEnvironment?: Record<string, string>
  /** Plant attacker-controlled markup, template syntax and ANSI escapes in every field an attacker reaches. */
  hostile?: boolean
  /** Share of background events that also carry a finding (default 0), for noisy-case benchmarks. */
  findingRate?: number
  /**
   * Snapshot the function at $LATEST and at its alias `live` too, as `fir snapshot fn fn:live` does:
   * a folder per qualifier (`functions/<name>@<region>@<qualifier>`) and a summary entry each.
   */
  liveQualifier?: boolean
  now?: Date
}

export interface SampleCase {
  dir: string
  id: string
  functionName: string
  functionArn: string
  roleArn: string
  /** A secret environment value: it must never appear in a report. */
  secretValue: string
  secretRedacted: string
  events: number
}

export const ACCOUNT = '123456789012'
export const REGION = 'us-east-1'
export const ATTACKER_IP = '203.0.113.45'

/** The attacker-controlled strings the XSS test looks for. */
export const HOSTILE = {
  userAgent: '<img src=x onerror=alert(1)>',
  template: '{{constructor}}',
  script: '</script><script>alert(2)</script>',
  ansi: '\u001b[31mRED\u001b[0m\u0007',
  svg: '<svg onload="window.__pwned=1"></svg>',
  style: '</style><style>body{background:url(https://attacker.example/x)}</style>',
  markdown: '| pwned | [click](https://attacker.example) **bold** `code` @admin #1',
  link: '"><a href="https://attacker.example/steal">x</a>',
}

const NOISY_FINDINGS: EventFinding[] = [
  {
    rule: 'fir-secret-read-burst',
    title: 'Burst of secret reads by the execution role',
    level: 'medium',
    tags: ['attack.credential_access'],
  },
  {
    rule: 'fir-decrypt-burst',
    title: 'Burst of KMS Decrypt calls',
    level: 'low',
    tags: ['attack.collection'],
  },
  { rule: 'fir-ci-read', title: 'Function configuration read by CI', level: 'informational', tags: [] },
  { rule: 'fir-assume-role-lambda', title: 'Execution role assumed', level: 'informational', tags: [] },
]

function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function uuid(r: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(r() * 16).toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

interface Identity {
  type: string
  arn: string
  sessionName?: string
  accessKeyId: string
  invokedBy?: string
  issuer?: string
  principalId: string
}

interface EventSpec {
  ms: number
  name: string
  rawName?: string
  source: string
  region?: string
  who: Identity
  sourceIp: string
  userAgent: string
  readOnly: boolean
  request?: Record<string, unknown> | null
  response?: Record<string, unknown> | null
  error?: { code: string; message: string } | null
  findings?: EventFinding[]
  fir?: boolean
  requestId?: string
  /** A data event (Invoke, GetObject): only trail logs hold these. */
  data?: boolean
}

const RESPONDER_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/IncidentResponder/alice`
const RESPONDER_ACTOR = (now: Date): Actor => ({
  arn: RESPONDER_ARN,
  osUser: 'alice',
  host: 'ir-laptop-07',
  command: ['fir', 'contain', 'orders-api', '--case', `cases/INC-${now.getUTCFullYear()}-0042`, '--yes'],
})

function normalised(spec: EventSpec, r: () => number): { line: string; id: string; time: string } {
  const id = uuid(r)
  const requestId = spec.requestId ?? uuid(r)
  const time = new Date(spec.ms).toISOString()
  const raw = {
    eventVersion: '1.09',
    userIdentity: {
      type: spec.who.type,
      principalId: spec.who.principalId,
      arn: spec.who.arn,
      accountId: ACCOUNT,
      accessKeyId: spec.who.accessKeyId,
      ...(spec.who.invokedBy ? { invokedBy: spec.who.invokedBy } : {}),
      ...(spec.who.issuer
        ? {
            sessionContext: {
              sessionIssuer: { type: 'Role', arn: spec.who.issuer, accountId: ACCOUNT },
              attributes: { creationDate: time, mfaAuthenticated: 'false' },
            },
          }
        : {}),
    },
    eventTime: time.replace(/\.\d{3}Z$/, 'Z'),
    eventSource: spec.source,
    eventName: spec.rawName ?? spec.name,
    awsRegion: spec.region ?? REGION,
    sourceIPAddress: spec.sourceIp,
    userAgent: spec.userAgent,
    ...(spec.error ? { errorCode: spec.error.code, errorMessage: spec.error.message } : {}),
    requestParameters: spec.request ?? null,
    responseElements: spec.response ?? null,
    requestID: requestId,
    eventID: id,
    readOnly: spec.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: !spec.data,
    recipientAccountId: ACCOUNT,
    eventCategory: spec.data ? 'Data' : 'Management',
  }
  const event: TimelineEvent = {
    id,
    time,
    name: spec.name,
    rawName: spec.rawName ?? spec.name,
    source: spec.source,
    region: spec.region ?? REGION,
    account: ACCOUNT,
    actor: {
      type: spec.who.type,
      arn: spec.who.arn || null,
      sessionName: spec.who.sessionName ?? null,
      accessKeyId: spec.who.accessKeyId || null,
      invokedBy: spec.who.invokedBy ?? null,
      issuer: spec.who.issuer ?? null,
    },
    sourceIp: spec.sourceIp,
    userAgent: spec.userAgent,
    readOnly: spec.readOnly,
    error: spec.error ?? null,
    resources: [],
    requestParameters: spec.request ?? null,
    responseElements: spec.response ?? null,
    origin: spec.ms % 3 === 0 ? 's3' : 'api',
    fir: spec.fir ?? false,
    findings: spec.findings ?? [],
    raw: raw as Record<string, unknown>,
  }
  return { line: JSON.stringify(event), id, time }
}

/** Builds the sample case and returns where it is and what it holds. */
export async function buildSampleCase(options: SampleCaseOptions): Promise<SampleCase> {
  const now = options.now ?? new Date()
  const id = options.id ?? 'INC-2026-0042'
  const hostile = options.hostile ?? false
  const r = rng(42)
  const fn = 'orders-api'
  const fnArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${fn}`
  const roleName = 'orders-api-role'
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/${roleName}`
  const secretValue = 'Pr0d-0rders-DB-pa55word!2026'
  const stripe = 'sk_live_51NzOrdersApiLiveKey0000000000'
  const keyId = 'AKIAIOSFODNN7ORDERS1'
  const dir = join(options.parent, 'cases', id)
  const title = hostile
    ? `Suspected compromise of ${fn} ${HOSTILE.userAgent} ${HOSTILE.ansi}`
    : `Suspected compromise of ${fn}`
  const handle = await CaseHandle.init(id, { title, dir, firVersion: '0.1.0' })
  const actor = RESPONDER_ACTOR(now)
  const requestIds: Record<string, string> = {}
  let eventsWritten = 0
  try {
    if (options.snapshot !== false) {
      const set = await handle.newEvidenceSet()
      // The function's folder in the set, as the snapshot names it (src/core/snapshot/snapshot.ts).
      const fnDir = options.liveQualifier ? `${fn}@${REGION}@$LATEST` : fn
      const lastModified = new Date(now.getTime() - 50 * 3600_000).toISOString().replace('Z', '+0000')
      const codeBytes = Buffer.from(
        `PK\u0003\u0004 sample code of ${fn}: exports.handler = async () => ({ ok: true })\n`,
      )
      const codeSha = createHash('sha256').update(codeBytes).digest()
      const config = {
        FunctionName: fn,
        FunctionArn: fnArn,
        Runtime: 'nodejs20.x',
        Role: roleArn,
        Handler: 'index.handler',
        CodeSize: codeBytes.length,
        Description: hostile ? `orders ${HOSTILE.script}` : 'Orders API (checkout and order history)',
        Timeout: 30,
        MemorySize: 512,
        LastModified: lastModified,
        CodeSha256: codeSha.toString('base64'),
        Version: '$LATEST',
        Environment: {
          Variables: {
            DB_PASSWORD: secretValue,
            STRIPE_KEY: stripe,
            LOG_LEVEL: 'info',
            DEPLOY_KEY_ID: keyId,
            ...options.extraEnvironment,
          },
        },
        Layers: [{ Arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-utils:3`, CodeSize: 20480 }],
        PackageType: 'Zip',
        Architectures: ['arm64'],
      }
      await set.writeJson(
        `functions/${fnDir}/get-function.$LATEST.json`,
        {
          Configuration: config,
          Code: {
            RepositoryType: 'S3',
            Location: `https://awslambda-${REGION}-tasks.s3.${REGION}.amazonaws.com/snapshots/${fn}`,
          },
          Tags: { team: 'payments', env: 'prod' },
        },
        { call: 'lambda:GetFunction', target: fnArn, region: REGION, requestId: uuid(r) },
      )
      for (const v of ['1', '2', '3']) {
        await set.writeJson(
          `functions/${fnDir}/get-function.${v}.json`,
          { Configuration: { ...config, Version: v, FunctionArn: `${fnArn}:${v}` } },
          { call: 'lambda:GetFunction', target: `${fnArn}:${v}`, region: REGION, requestId: uuid(r) },
        )
      }
      const publicStatement = {
        Sid: 'FunctionURLAllowPublicAccess',
        Effect: 'Allow',
        Principal: '*',
        Action: 'lambda:InvokeFunctionUrl',
        Resource: fnArn,
        Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
      }
      await set.writeJson(
        `functions/${fnDir}/get-policy.$LATEST.json`,
        {
          Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: [publicStatement] }),
          RevisionId: uuid(r),
        },
        { call: 'lambda:GetPolicy', target: fnArn, region: REGION, requestId: uuid(r) },
      )
      const url = `https://k3xq7example.lambda-url.${REGION}.on.aws/`
      await set.writeJson(
        `functions/${fnDir}/get-function-url-config.$LATEST.json`,
        { FunctionUrl: url, FunctionArn: fnArn, AuthType: 'NONE', InvokeMode: 'BUFFERED' },
        { call: 'lambda:GetFunctionUrlConfig', target: fnArn, region: REGION, requestId: uuid(r) },
      )
      await set.writeJson(
        `functions/${fnDir}/list-event-source-mappings.json`,
        {
          EventSourceMappings: [
            {
              UUID: 'a1b2c3d4-0000-4000-8000-000000000001',
              State: 'Enabled',
              EventSourceArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:orders-queue`,
            },
          ],
        },
        { call: 'lambda:ListEventSourceMappings', target: fnArn, region: REGION, requestId: uuid(r) },
      )
      await set.writeBytes(`functions/${fnDir}/code/${codeSha.toString('hex')}.zip`, codeBytes, {
        call: 'lambda:GetFunction Code.Location',
        target: fnArn,
        region: REGION,
      })
      const inline = {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Orders',
            Effect: 'Allow',
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
            Resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`,
          },
          {
            Sid: 'LegacyAdmin',
            Effect: 'Allow',
            Action: ['iam:PassRole', 'sts:AssumeRole', 's3:*'],
            Resource: '*',
          },
          { Sid: 'Secrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' },
        ],
      }
      await set.writeJson(
        `roles/${roleName}/get-role.json`,
        {
          Role: {
            RoleName: roleName,
            Arn: roleArn,
            AssumeRolePolicyDocument: {
              Statement: [
                { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
              ],
            },
            RoleLastUsed: { LastUsedDate: now.toISOString(), Region: REGION },
          },
        },
        { call: 'iam:GetRole', target: roleArn, requestId: uuid(r) },
      )
      await set.writeJson(
        `roles/${roleName}/get-role-policy.orders-inline.json`,
        { RoleName: roleName, PolicyName: 'orders-inline', PolicyDocument: inline },
        { call: 'iam:GetRolePolicy', target: roleArn, requestId: uuid(r) },
      )
      await set.writeJson(
        `roles/${roleName}/list-attached-role-policies.json`,
        {
          AttachedPolicies: [
            {
              PolicyName: 'AWSLambdaBasicExecutionRole',
              PolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
            },
          ],
        },
        { call: 'iam:ListAttachedRolePolicies', target: roleArn, requestId: uuid(r) },
      )
      await set.writeBytes(
        `logs/aws-lambda-${fn}.jsonl`,
        `${JSON.stringify({ timestamp: now.getTime() - 3600_000, message: 'START RequestId: 1 Version: $LATEST' })}\n`,
        { call: 'logs:FilterLogEvents', target: `/aws/lambda/${fn}`, region: REGION },
      )
      await set.writeJson(
        `context/trail-coverage.${REGION}.json`,
        {
          trails: [{ Name: 'org-trail', IsMultiRegionTrail: true, S3BucketName: 'org-trail-logs' }],
          lambdaDataEvents: false,
        },
        { call: 'cloudtrail:GetEventSelectors', region: REGION, requestId: uuid(r) },
      )
      await set.writeJson(
        'caller-identity.json',
        { UserId: 'AROAEXAMPLE:alice', Account: ACCOUNT, Arn: RESPONDER_ARN },
        { call: 'sts:GetCallerIdentity', requestId: uuid(r) },
      )

      const legacyAdmin = inline.Statement[1]!
      const secretsStatement = inline.Statement[2]!
      const codeHex = codeSha.toString('hex')
      const findings: SnapshotFinding[] = [
        {
          id: 'F-001',
          kind: 'public-url',
          level: 'critical',
          title: 'Function URL with AuthType NONE',
          target: fnArn,
          detail: { url, authType: 'NONE', qualifiers: ['$LATEST'] },
          evidence: [`functions/${fnDir}/get-function-url-config.$LATEST.json`],
        },
        {
          id: 'F-002',
          kind: 'public-statement',
          level: 'high',
          title: 'Resource policy allows invocation by everyone',
          target: fnArn,
          detail: {
            sid: 'FunctionURLAllowPublicAccess',
            principal: '*',
            actions: ['lambda:InvokeFunctionUrl'],
          },
          evidence: [`functions/${fnDir}/get-policy.$LATEST.json`],
        },
        {
          id: 'F-003',
          kind: 'secret-in-environment',
          level: 'high',
          title: 'Secret-looking values in the environment',
          target: fnArn,
          detail: { variables: { DB_PASSWORD: redactValue(secretValue), STRIPE_KEY: redactValue(stripe) } },
          evidence: [`functions/${fnDir}/get-function.$LATEST.json`],
        },
        {
          id: 'F-004',
          kind: 'risky-permission',
          level: 'high',
          title: 'Execution role can pass roles and assume any role',
          target: roleArn,
          detail: {
            actions: ['iam:PassRole', 'sts:AssumeRole', 's3:*'],
            policy: 'inline:orders-inline',
            statement: legacyAdmin,
          },
          evidence: [`roles/${roleName}/get-role-policy.orders-inline.json`],
        },
        {
          id: 'F-005',
          kind: 'access-key-in-environment',
          level: 'medium',
          title: 'Long-term access key id in the environment',
          target: fnArn,
          detail: { variable: 'DEPLOY_KEY_ID', accessKeyId: keyId },
          evidence: [`functions/${fnDir}/get-function.$LATEST.json`],
        },
        {
          id: 'F-006',
          kind: 'trail-coverage',
          level: 'low',
          title: 'No trail records Lambda data events (Invoke)',
          target: `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/org-trail`,
          detail: { region: REGION, trails: ['org-trail'] },
          evidence: [`context/trail-coverage.${REGION}.json`],
        },
      ]
      // As the snapshot writes it (EvidenceSet.writeJson turns the array into {"0": …}).
      await set.writeJson('findings.json', findings as unknown as Record<string, unknown>, {
        call: 'fir:findings',
        target: set.name,
      })
      const layerArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared-utils:3`
      const summary: SnapshotSummary = {
        takenBy: { arn: RESPONDER_ARN, account: ACCOUNT },
        takenAt: now.toISOString(),
        region: REGION,
        firVersion: '0.1.0',
        set: set.name,
        functions: [
          {
            name: fn,
            arn: fnArn,
            region: REGION,
            account: ACCOUNT,
            qualifier: '$LATEST',
            runtime: 'nodejs20.x',
            packageType: 'Zip',
            lastModified,
            codeSha256: codeSha.toString('base64'),
            code: 'match',
            codeFile: `functions/${fnDir}/code/${codeHex}.zip`,
            role: roleArn,
            roleName,
            description: config.Description,
            versions: [
              { version: '1', codeSha256: codeSha.toString('base64'), lastModified, code: 'match' },
              { version: '2', codeSha256: codeSha.toString('base64'), lastModified, code: 'match' },
              {
                version: '3',
                codeSha256: 'AAAAbm90LXRoZS1zYW1lLWJ5dGVzAAAAAAAAAAAAAAA=',
                lastModified,
                code: 'mismatch',
              },
            ],
            aliases: [{ name: 'live', version: '3' }],
            layers: [{ arn: layerArn, codeSize: 20480, code: 'not-downloaded', qualifiers: ['$LATEST'] }],
            unreadConfigurations: [],
            url: { url, authType: 'NONE', qualifiers: ['$LATEST'] },
            urls: [{ url, authType: 'NONE', qualifiers: ['$LATEST'] }],
            images: [],
            exposure: [
              {
                kind: 'function-url',
                qualifiers: ['$LATEST'],
                level: 'critical',
                summary: hostile
                  ? `Function URL AuthType NONE ${HOSTILE.link}`
                  : `Function URL ${url} with AuthType NONE: anyone can invoke it`,
                url,
                authType: 'NONE',
              },
              {
                kind: 'resource-policy',
                qualifiers: ['$LATEST'],
                level: 'high',
                summary: 'Resource policy statement FunctionURLAllowPublicAccess allows Principal *',
                sid: 'FunctionURLAllowPublicAccess',
                principal: '*',
                actions: ['lambda:InvokeFunctionUrl'],
                grants: { invokeFunctionUrl: true, invokeFunction: false },
              },
            ],
            unreadPolicies: [],
            secrets: [
              {
                name: 'DB_PASSWORD',
                redacted: redactValue(secretValue),
                kind: 'secret-by-name',
                qualifiers: ['$LATEST', '1', '2', '3'],
              },
              {
                name: 'STRIPE_KEY',
                redacted: redactValue(stripe),
                kind: 'stripe-key',
                qualifiers: ['$LATEST'],
              },
            ],
            accessKeyIds: [keyId],
            environmentErrors: [],
            riskyPermissions: [
              {
                action: 'iam:PassRole',
                resource: '*',
                policy: 'inline:orders-inline',
                statement: legacyAdmin,
                level: 'high',
                conditioned: false,
              },
              {
                action: 'sts:AssumeRole',
                resource: '*',
                policy: 'inline:orders-inline',
                statement: legacyAdmin,
                level: 'high',
                conditioned: false,
              },
              {
                action: 's3:*',
                resource: '*',
                policy: 'inline:orders-inline',
                statement: legacyAdmin,
                level: 'medium',
                conditioned: false,
              },
              {
                action: 'secretsmanager:GetSecretValue',
                resource: '*',
                policy: 'inline:orders-inline',
                statement: secretsStatement,
                level: 'medium',
                conditioned: false,
              },
            ],
            reservedConcurrency: null,
            provisionedConcurrency: null,
            eventSourceMappings: [
              {
                uuid: 'a1b2c3d4-0000-4000-8000-000000000001',
                source: `arn:aws:sqs:${REGION}:${ACCOUNT}:orders-queue`,
                state: 'Enabled',
              },
            ],
            logGroup: { name: `/aws/lambda/${fn}`, events: 1, truncated: false, present: true },
            trailCoverage: { lambdaDataEvents: 'not-recorded', trails: ['org-trail'] },
            quarantined: false,
            gaps: [
              {
                what: `provisioned concurrency of ${fn}`,
                call: 'lambda:ListProvisionedConcurrencyConfigs',
                reason: 'not implemented by the endpoint (501)',
              },
              {
                what: `layer content ${layerArn}`,
                call: 'lambda:GetLayerVersion',
                reason: 'AccessDeniedException: not authorized to perform lambda:GetLayerVersion',
              },
            ],
          },
        ],
        gaps: [],
      }
      if (options.liveQualifier) {
        // The alias runs another version: another runtime, description and environment.
        const live = {
          ...config,
          Runtime: 'python3.12',
          Description: 'Orders API (live alias, python port)',
          Version: '3',
          FunctionArn: `${fnArn}:live`,
          Environment: { Variables: { LOG_LEVEL: 'warn', REGION_NAME: REGION } },
        }
        await set.writeJson(
          `functions/${fn}@${REGION}@live/get-function.live.json`,
          { Configuration: live },
          { call: 'lambda:GetFunction', target: `${fnArn}:live`, region: REGION, requestId: uuid(r) },
        )
        summary.functions.push({
          ...summary.functions[0]!,
          qualifier: 'live',
          runtime: live.Runtime,
          description: live.Description,
          url: null,
          exposure: [],
          secrets: [],
          accessKeyIds: [],
        })
      }
      await set.writeJson('summary.json', summary, { call: 'fir:summary', target: set.name })
      await set.seal({ functions: [fn] }, fnArn)
    }

    if (options.contain !== false) {
      await handle.journal.append({
        action: 'aws.identity',
        target: RESPONDER_ARN,
        params: { account: ACCOUNT, region: REGION, endpoint: null, userId: 'AROAEXAMPLE:alice' },
        outcome: 'recorded',
        actor,
      })
      const step = async (
        action: string,
        target: string,
        prior: unknown,
        after: unknown,
        outcome: 'applied' | 'denied' = 'applied',
        error?: { code: string; message: string },
      ) => {
        await handle.journal.append({
          action,
          target,
          params: { caseId: id },
          outcome: 'started',
          prior,
          actor,
        })
        const rid = uuid(r)
        requestIds[action] = rid
        await handle.journal.append({
          action,
          target,
          params: { caseId: id },
          outcome,
          prior,
          ...(outcome === 'applied' ? { after } : {}),
          requestIds: [rid],
          ...(error ? { error } : {}),
          actor,
        })
      }
      // As playbook run journals it: the run and its step frame the containment step entries.
      const runId = `${now.toISOString().replace(/[-:]/g, '')}-a1b2c3`
      await handle.journal.append({
        action: 'playbook.run',
        target: 'lambda-compromise',
        params: { runId, playbook: 'lambda-compromise', steps: ['seal', 'hold', 'revoke', 'report'] },
        outcome: 'started',
        actor,
      })
      await handle.journal.append({
        action: 'playbook.step',
        target: fnArn,
        params: { runId, step: 'hold', action: 'containment.contain' },
        outcome: 'started',
        actor,
      })
      // Prior and after states in the shapes the real steps journal.
      const queue = `arn:aws:sqs:${REGION}:${ACCOUNT}:orders-queue`
      const mapping = (state: string): EventSourcesState => ({
        mappings: [
          { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', eventSourceArn: queue, functionArn: fnArn, state },
        ],
      })
      await step('containment.event-sources', fnArn, mapping('Enabled'), mapping('Disabled'))
      await step(
        'containment.throttle',
        fnArn,
        { reserved: null } satisfies ThrottleState,
        { reserved: 0 } satisfies ThrottleState,
      )
      const fnUrl = `https://k3xq7example.lambda-url.${REGION}.on.aws/`
      await step(
        'containment.url',
        fnArn,
        { configs: [{ qualifier: null, url: fnUrl, authType: 'NONE' }] } satisfies UrlState,
        { configs: [{ qualifier: null, url: fnUrl, authType: 'AWS_IAM' }] } satisfies UrlState,
      )
      const publicStatement = {
        Sid: 'FunctionURLAllowPublicAccess',
        Effect: 'Allow',
        Principal: '*',
        Action: 'lambda:InvokeFunctionUrl',
        Resource: fnArn,
        Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
      }
      await step(
        'containment.permissions',
        fnArn,
        {
          statements: [
            {
              qualifier: null,
              sid: 'FunctionURLAllowPublicAccess',
              statement: publicStatement,
              public: true,
            },
          ],
        } satisfies PermissionsState,
        { statements: [] } satisfies PermissionsState,
      )
      const cutoff = now.toISOString().replace(/\.\d{3}Z$/, 'Z')
      await step(
        'containment.sessions',
        roleArn,
        { roleName, roleArn, policyName: `fir-revoke-${id}`, document: null } satisfies RevokeState,
        {
          roleName,
          roleArn,
          policyName: `fir-revoke-${id}`,
          document: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Deny',
                Action: '*',
                Resource: '*',
                Condition: { DateLessThan: { 'aws:TokenIssueTime': cutoff } },
              },
            ],
          },
        } satisfies RevokeState,
      )
      const description = 'Orders API (checkout and order history)'
      await step(
        'containment.recycle',
        fnArn,
        { description } satisfies RecycleState,
        { description: `${description} [fir ${id} recycled ${cutoff}]` } satisfies RecycleState,
      )
      await step(
        'credentials.rotate-key',
        `arn:aws:iam::${ACCOUNT}:user/ci-deployer`,
        {
          userName: 'ci-deployer',
          userArn: `arn:aws:iam::${ACCOUNT}:user/ci-deployer`,
          oldKeyId: keyId,
          keys: [],
          firKeyIds: [],
        } satisfies Omit<RotateKeyState, 'keys'> & { keys: [] },
        null,
        'denied',
        {
          code: 'access-denied',
          message: 'unable to create an access key for ci-deployer: AccessDenied (iam:CreateAccessKey)',
        },
      )
      await handle.journal.append({
        action: 'playbook.step',
        target: fnArn,
        params: { runId, step: 'hold', action: 'containment.contain' },
        outcome: 'applied',
        after: { outputs: {}, summary: '6 containment steps applied' },
        actor,
      })
      await handle.journal.append({
        action: 'playbook.run',
        target: 'lambda-compromise',
        params: {
          runId,
          outcomes: { seal: 'applied', hold: 'applied', revoke: 'skipped', report: 'applied' },
        },
        outcome: 'applied',
        actor,
      })
    }

    if (options.timeline !== false) {
      const total = options.events ?? 240
      eventsWritten = await writeTimeline(handle, {
        now,
        total,
        hostile,
        r,
        secretValue,
        requestIds,
        roleArn,
        fnArn,
        fn,
        roleName,
        findingRate: options.findingRate ?? 0,
      })
    }

    if (options.notes !== false) {
      const note = (params: Record<string, unknown>) =>
        handle.journal.append({
          action: 'case.note',
          target: id,
          params,
          outcome: 'recorded',
          actor: { ...actor, command: ['fir', 'tabletop', 'run', 'lambda-compromise', '--interactive'] },
        })
      await note({
        kind: 'inject',
        text: 'A customer reports card-testing traffic on the checkout URL; CloudTrail shows DeleteLogGroup on /aws/lambda/orders-api.',
      })
      await note({
        kind: 'answer',
        question: 'What do you contain first, and why?',
        text: hostile
          ? `Throttle first ${HOSTILE.markdown} ${HOSTILE.ansi}`
          : 'Disable the SQS mapping first so orders stay queued, then throttle and close the public URL.',
        answerSeconds: 95,
      })
      await note({
        kind: 'inject',
        text: 'The role was used to call AssumeRole on data-export-role from 203.0.113.45.',
      })
      await note({
        kind: 'answer',
        question: 'Does revoking the execution role’s sessions stop the attacker?',
        text: 'No: the chained data-export-role session survives; revoke that role’s sessions as well.',
        answerSeconds: 140,
      })
      await note({
        kind: 'decision',
        text: 'Keep the function throttled until a clean build from main is deployed and reviewed.',
      })
    }
  } finally {
    await handle.close()
  }
  return {
    dir,
    id,
    functionName: fn,
    functionArn: fnArn,
    roleArn,
    secretValue,
    secretRedacted: redactValue(secretValue),
    events: eventsWritten,
  }
}

async function writeTimeline(
  handle: CaseHandle,
  o: {
    now: Date
    total: number
    hostile: boolean
    r: () => number
    secretValue: string
    requestIds: Record<string, string>
    roleArn: string
    fnArn: string
    fn: string
    roleName: string
    findingRate: number
  },
): Promise<number> {
  const { r, now, fn, fnArn, roleArn, roleName } = o
  const H = 3600_000
  const start = now.getTime() - 72 * H
  const lambdaSession: Identity = {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${fn}`,
    sessionName: fn,
    accessKeyId: 'ASIAORDERSLAMBDA0001',
    issuer: roleArn,
    principalId: `AROAORDERS:${fn}`,
  }
  const attacker: Identity = {
    ...lambdaSession,
    sessionName: o.hostile ? `${fn}${HOSTILE.ansi}` : fn,
    arn: o.hostile
      ? `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${fn}${HOSTILE.ansi}`
      : lambdaSession.arn,
  }
  const chained: Identity = {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/data-export-role/maint`,
    sessionName: 'maint',
    accessKeyId: 'ASIADATAEXPORT000009',
    issuer: `arn:aws:iam::${ACCOUNT}:role/data-export-role`,
    principalId: 'AROADATAEXPORT:maint',
  }
  const ci: Identity = {
    type: 'IAMUser',
    arn: `arn:aws:iam::${ACCOUNT}:user/ci-deployer`,
    accessKeyId: 'AKIAIOSFODNN7ORDERS1',
    principalId: 'AIDACIDEPLOYER',
  }
  const lambdaService: Identity = {
    type: 'AWSService',
    arn: '',
    invokedBy: 'lambda.amazonaws.com',
    accessKeyId: '',
    principalId: '',
  }
  const responder: Identity = {
    type: 'AssumedRole',
    arn: RESPONDER_ARN,
    sessionName: 'alice',
    accessKeyId: 'ASIARESPONDER0000001',
    issuer: `arn:aws:iam::${ACCOUNT}:role/IncidentResponder`,
    principalId: 'AROAEXAMPLE:alice',
  }
  const ua = o.hostile ? HOSTILE.userAgent : 'python-requests/2.31.0'
  const outside = (
    rule: string,
    title: string,
    level: EventFinding['level'],
    tags: string[],
  ): EventFinding => ({
    rule,
    title,
    level,
    tags,
  })
  const t0 = start + 46 * H

  const story: EventSpec[] = [
    {
      ms: start + 2 * H,
      name: 'UpdateFunctionCode',
      rawName: 'UpdateFunctionCode20150331v2',
      source: 'lambda.amazonaws.com',
      who: ci,
      sourceIp: '198.51.100.20',
      userAgent: 'aws-cli/2.15.0 md/ci',
      readOnly: false,
      request: { functionName: fn, publish: true },
    },
    {
      ms: t0,
      name: 'GetCallerIdentity',
      source: 'sts.amazonaws.com',
      who: attacker,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: true,
      findings: [
        outside('fir-role-creds-outside-aws', 'Execution role credentials used from outside AWS', 'high', [
          'attack.credential_access',
          'attack.t1552',
        ]),
      ],
    },
    {
      ms: t0 + 40_000,
      name: 'ListBuckets',
      source: 's3.amazonaws.com',
      who: attacker,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: true,
      findings: [
        outside('fir-role-creds-outside-aws', 'Execution role credentials used from outside AWS', 'high', [
          'attack.discovery',
        ]),
      ],
    },
    {
      ms: t0 + 95_000,
      name: 'GetSecretValue',
      source: 'secretsmanager.amazonaws.com',
      who: attacker,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: true,
      // A secret id is the caller's text: hostile, it reaches the report's impact line.
      request: { secretId: o.hostile ? `prod/orders/db${HOSTILE.svg}${HOSTILE.markdown}` : 'prod/orders/db' },
      findings: [
        outside(
          'fir-secret-read-outside-aws',
          'Secret read with the execution role’s credentials from outside AWS',
          'high',
          ['attack.credential_access', 'attack.t1555'],
        ),
      ],
    },
    {
      ms: t0 + 130_000,
      name: 'ListAttachedRolePolicies',
      source: 'iam.amazonaws.com',
      who: attacker,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: true,
      request: { roleName },
      findings: [
        outside('fir-iam-discovery', 'IAM discovery by a Lambda execution role', 'medium', [
          'attack.discovery',
          'attack.t1069',
        ]),
      ],
    },
    {
      ms: t0 + 150_000,
      name: 'ListUsers',
      source: 'iam.amazonaws.com',
      who: attacker,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: true,
      error: {
        code: 'AccessDenied',
        message: o.hostile
          ? `User is not authorized ${HOSTILE.svg}`
          : `User: ${attacker.arn} is not authorized to perform: iam:ListUsers`,
      },
      findings: [
        outside('fir-iam-discovery', 'IAM discovery by a Lambda execution role', 'medium', [
          'attack.discovery',
        ]),
      ],
    },
    {
      ms: t0 + 210_000,
      name: 'AssumeRole',
      source: 'sts.amazonaws.com',
      who: attacker,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: true,
      request: { roleArn: `arn:aws:iam::${ACCOUNT}:role/data-export-role`, roleSessionName: 'maint' },
      findings: [
        outside('fir-assume-role-chained', 'AssumeRole chained from a Lambda execution role', 'critical', [
          'attack.privilege_escalation',
          'attack.t1078',
        ]),
      ],
    },
    {
      ms: t0 + 300_000,
      name: 'CreateAccessKey',
      source: 'iam.amazonaws.com',
      who: chained,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: false,
      request: { userName: 'ci-deployer' },
      response: {
        accessKey: { accessKeyId: 'AKIAIOSFODNN7BACKDOOR', status: 'Active', userName: 'ci-deployer' },
      },
      findings: [
        outside(
          'fir-create-access-key-assumed-role',
          'Access key created by an assumed-role session (persistence)',
          'critical',
          ['attack.persistence', 'attack.t1098'],
        ),
      ],
    },
    {
      ms: t0 + 420_000,
      name: 'UpdateFunctionCode',
      rawName: 'UpdateFunctionCode20150331v2',
      source: 'lambda.amazonaws.com',
      who: chained,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: false,
      request: o.hostile
        ? {
            functionName: fn,
            note: HOSTILE.template,
            payload: HOSTILE.script,
            markdown: HOSTILE.markdown,
            style: HOSTILE.style,
          }
        : { functionName: fn, s3Bucket: 'attacker-staging-bucket', s3Key: 'orders-api.zip', publish: false },
      findings: [
        outside(
          'fir-code-update-outside-pipeline',
          'Function code updated from outside the deployment pipeline',
          'critical',
          ['attack.persistence', 'attack.execution'],
        ),
      ],
    },
    {
      ms: t0 + 480_000,
      name: 'AddPermission',
      rawName: 'AddPermission20150331v2',
      source: 'lambda.amazonaws.com',
      who: chained,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: false,
      request: { functionName: fn, statementId: 'open', action: 'lambda:InvokeFunction', principal: '*' },
      findings: [
        outside('fir-lambda-public-permission', 'Lambda permission granted to everyone', 'high', [
          'attack.persistence',
        ]),
      ],
    },
    {
      ms: t0 + 540_000,
      name: 'PutParameter',
      source: 'ssm.amazonaws.com',
      who: chained,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: false,
      request: { name: '/tmp/x', type: 'String', value: o.secretValue },
      findings: [
        outside('fir-ssm-write-outside-aws', 'Parameter written from outside AWS', 'medium', [
          'attack.collection',
        ]),
      ],
    },
    {
      ms: t0 + 600_000,
      name: 'CreateUser',
      source: 'iam.amazonaws.com',
      who: chained,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: false,
      request: { userName: 'support-bot' },
      error: { code: 'AccessDenied', message: 'not authorized to perform: iam:CreateUser' },
      findings: [
        outside('fir-create-user', 'IAM user creation attempt (persistence)', 'high', [
          'attack.persistence',
          'attack.t1136',
        ]),
      ],
    },
    {
      ms: t0 + 660_000,
      name: 'DeleteLogGroup',
      source: 'logs.amazonaws.com',
      who: chained,
      sourceIp: ATTACKER_IP,
      userAgent: ua,
      readOnly: false,
      request: { logGroupName: `/aws/lambda/${fn}` },
      findings: [
        outside('fir-delete-log-group', 'Log group deleted (defense evasion)', 'high', [
          'attack.defense_evasion',
          'attack.t1070',
        ]),
      ],
    },
  ]
  // fir's own calls, tagged by the request ids it journaled.
  const firCalls: [string, string, string, string | undefined][] = [
    ['UpdateEventSourceMapping', 'UpdateEventSourceMapping20150331', 'containment.event-sources', undefined],
    ['PutFunctionConcurrency', 'PutFunctionConcurrency20171031', 'containment.throttle', undefined],
    ['UpdateFunctionUrlConfig', 'UpdateFunctionUrlConfig', 'containment.url', undefined],
    ['RemovePermission', 'RemovePermission20150331v2', 'containment.permissions', undefined],
    ['PutRolePolicy', 'PutRolePolicy', 'containment.sessions', 'iam.amazonaws.com'],
    [
      'UpdateFunctionConfiguration',
      'UpdateFunctionConfiguration20150331v2',
      'containment.recycle',
      undefined,
    ],
  ]
  firCalls.forEach(([name, rawName, step, source], i) => {
    if (!o.requestIds[step]) return
    story.push({
      ms: now.getTime() + i * 4000,
      name,
      rawName,
      source: source ?? 'lambda.amazonaws.com',
      who: responder,
      sourceIp: '192.0.2.10',
      userAgent: 'fir/0.1.0 aws-sdk-js/3',
      readOnly: false,
      request: { functionName: fn },
      fir: true,
      requestId: o.requestIds[step],
    })
  })

  // The attacker's reads that no rule flags: shown because a finding shares their source IP.
  story.push({
    ms: t0 + 20_000,
    name: 'GetFunction',
    rawName: 'GetFunction20150331v2',
    source: 'lambda.amazonaws.com',
    who: attacker,
    sourceIp: ATTACKER_IP,
    userAgent: ua,
    readOnly: true,
    request: { functionName: fn },
  })
  const apiGateway: Identity = {
    type: 'AWSService',
    arn: '',
    invokedBy: 'apigateway.amazonaws.com',
    accessKeyId: '',
    principalId: '',
  }
  const background: Omit<EventSpec, 'ms'>[] = [
    {
      name: 'Invoke',
      source: 'lambda.amazonaws.com',
      who: apiGateway,
      sourceIp: 'apigateway.amazonaws.com',
      userAgent: 'apigateway.amazonaws.com',
      readOnly: false,
      data: true,
      request: { functionName: fnArn },
    },
    {
      name: 'AssumeRole',
      source: 'sts.amazonaws.com',
      who: lambdaService,
      sourceIp: 'lambda.amazonaws.com',
      userAgent: 'lambda.amazonaws.com',
      readOnly: true,
      request: { roleArn, roleSessionName: fn },
    },
    {
      name: 'Decrypt',
      source: 'kms.amazonaws.com',
      who: lambdaSession,
      sourceIp: 'lambda.amazonaws.com',
      userAgent: 'lambda.amazonaws.com',
      readOnly: true,
    },
    {
      name: 'GetSecretValue',
      source: 'secretsmanager.amazonaws.com',
      who: lambdaSession,
      sourceIp: '44.210.10.7',
      userAgent: 'aws-sdk-nodejs/3.0',
      readOnly: true,
      // The function reads its secret in its own region (a read in another is another secret).
      region: REGION,
      request: { secretId: 'prod/orders/db' },
    },
    {
      name: 'DescribeTable',
      source: 'dynamodb.amazonaws.com',
      who: lambdaSession,
      sourceIp: '44.210.10.7',
      userAgent: 'aws-sdk-nodejs/3.0',
      readOnly: true,
      request: { tableName: 'orders' },
    },
    {
      name: 'GetFunction',
      rawName: 'GetFunction20150331v2',
      source: 'lambda.amazonaws.com',
      who: ci,
      sourceIp: '198.51.100.20',
      userAgent: 'aws-cli/2.15.0 md/ci',
      readOnly: true,
      request: { functionName: fn },
    },
    {
      name: 'ListFunctions',
      rawName: 'ListFunctions20150331',
      source: 'lambda.amazonaws.com',
      who: ci,
      sourceIp: '198.51.100.20',
      userAgent: 'aws-cli/2.15.0 md/ci',
      readOnly: true,
    },
  ]
  const times: { ms: number; spec: EventSpec }[] = story.map((s) => ({ ms: s.ms, spec: s }))
  const n = Math.max(0, o.total - story.length)
  for (let i = 0; i < n; i++) {
    // A daily rhythm: more traffic in European business hours.
    let ms = start + r() * 72 * H
    const hour = new Date(ms).getUTCHours()
    if ((hour < 6 || hour > 19) && r() < 0.6) ms = start + r() * 72 * H
    const b = background[Math.floor(r() * background.length)]!
    const noisy = o.findingRate > 0 && r() < o.findingRate
    times.push({
      ms: Math.floor(ms),
      spec: {
        ...b,
        ms: Math.floor(ms),
        // A background event's own region stands (the random draw is made all the same).
        region: r() < 0.08 ? (b.region ?? 'eu-west-1') : (b.region ?? REGION),
        ...(noisy ? { findings: [NOISY_FINDINGS[Math.floor(r() * NOISY_FINDINGS.length)]!] } : {}),
      },
    })
  }
  times.sort((a, b) => a.ms - b.ms)

  const dir = join(handle.dir, 'timeline')
  await mkdir(join(dir, 'raw', REGION), { recursive: true })
  const out = createWriteStream(join(dir, 'events.jsonl'), { mode: 0o600 })
  const findings: TimelineFindingEntry[] = []
  const rawPage: unknown[] = []
  let chunk: string[] = []
  for (const { spec } of times) {
    const { line, id, time } = normalised(spec, r)
    chunk.push(line)
    if (rawPage.length < 50)
      rawPage.push({
        EventId: id,
        EventName: spec.rawName ?? spec.name,
        CloudTrailEvent: JSON.stringify(JSON.parse(line).raw),
      })
    for (const f of spec.findings ?? []) {
      findings.push({
        eventId: id,
        time,
        eventName: spec.name,
        rule: f.rule,
        title: f.title,
        level: f.level,
        tags: f.tags,
        actor: spec.who.arn,
        region: spec.region ?? REGION,
        summary: `${spec.name} by ${spec.who.arn} from ${spec.sourceIp}`,
      })
    }
    if (chunk.length >= 2000) {
      if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain')
      chunk = []
    }
  }
  if (chunk.length) out.write(`${chunk.join('\n')}\n`)
  out.end()
  await once(out, 'close')
  await writeFileAtomic(join(dir, 'findings.json'), `${JSON.stringify(findings, null, 2)}\n`)
  const byLevel = { critical: 0, high: 0, medium: 0, low: 0, informational: 0 }
  const byRule = new Map<
    string,
    { rule: string; title: string; level: TimelineFindingEntry['level']; count: number }
  >()
  for (const f of findings) {
    byLevel[f.level]++
    const g = byRule.get(f.rule) ?? { rule: f.rule, title: f.title, level: f.level, count: 0 }
    g.count++
    byRule.set(f.rule, g)
  }
  const s3Kept = Math.round(times.length * 0.34)
  const summary: TimelineSummary = {
    startedAt: now.toISOString(),
    finishedAt: new Date(now.getTime() + 42_000).toISOString(),
    durationMs: 42_000,
    window: { since: new Date(start).toISOString(), until: new Date(now.getTime() + 60_000).toISOString() },
    function: {
      name: fn,
      arn: fnArn,
      region: REGION,
      account: ACCOUNT,
      roles: [{ name: roleName, arn: roleArn }],
      roleSource: 'snapshot',
      snapshotSet: null,
    },
    sources: [
      { name: 'api', kind: 'api', events: times.length - s3Kept, kept: times.length - s3Kept },
      {
        name: 's3://org-trail-logs/AWSLogs/o-abc123/',
        kind: 's3',
        files: 212,
        events: s3Kept * 3,
        kept: s3Kept,
      },
    ],
    files: {
      total: 212,
      read: 212,
      prefiltered: 0,
      refused: 1,
      outsideWindow: 14,
      ignored: 0,
      bytes: 3_100_000,
      uncompressedBytes: 21_800_000,
    },
    events: {
      read: times.length * 3,
      kept: times.length,
      outsideWindow: 120,
      unrelated: times.length * 2 - 120,
      duplicates: 37,
      stored: times.length,
    },
    skipped: { 'invalid-json': 1, 'corrupt-gzip': 1 },
    problemFiles: [
      {
        file: 's3://org-trail-logs/AWSLogs/o-abc123/123456789012/CloudTrail/us-east-1/2026/03/12/broken.json.gz',
        skipped: { 'invalid-json': 1 },
      },
      {
        file: 'exports/march.json.gz',
        skipped: { 'corrupt-gzip': 1 },
        cutShort: { reason: 'corrupt-gzip', message: 'unexpected end of file', afterRecords: 812 },
      },
    ],
    problemFilesOmitted: 0,
    findings: { total: findings.length, events: findings.length, byLevel, byRule: [...byRule.values()] },
    rules: { loaded: 42, refused: [] },
    api: { regions: [REGION, 'eu-west-1'], queries: [], pages: 9, requestsPerSecond: 1.8 },
    outputs: {
      events: 'timeline/events.jsonl',
      findings: 'timeline/findings.json',
      summary: 'timeline/summary.json',
      raw: 'timeline/raw',
      export: null,
    },
    throughput: { eventsPerSecond: 5000, uncompressedMBps: 40, threads: 2, deliveryOrder: false },
    notes: ['IAM and STS events are recorded in us-east-1; us-east-1 was searched.'],
    gaps: [
      {
        what: 'LookupEvents in eu-west-1 (page 3 of 5)',
        call: 'cloudtrail:LookupEvents',
        reason: 'ThrottlingException after 6 retries',
      },
    ],
  }
  await writeFileAtomic(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`)
  await writeFileAtomic(
    join(dir, 'raw', REGION, 'page-0001.json'),
    `${JSON.stringify({ Events: rawPage })}\n`,
  )
  for (const rel of [
    'timeline/events.jsonl',
    'timeline/findings.json',
    'timeline/summary.json',
    `timeline/raw/${REGION}/page-0001.json`,
  ]) {
    await recordArtifact(handle.dir, handle.journal, rel)
  }
  return times.length
}

/**
 * Records a case file written again by a test (`case.artifact`, as a timeline run records what it
 * writes): the report goes by a timeline file only as fir recorded it.
 */
export async function recordCaseFile(caseDir: string, rel: string): Promise<void> {
  const handle = await CaseHandle.open(caseDir)
  try {
    await recordArtifact(handle.dir, handle.journal, rel)
  } finally {
    await handle.close()
  }
}

/** Adds lines to the case's timeline/events.jsonl and records the file again (recordCaseFile). */
export async function addTimelineEvents(caseDir: string, lines: string): Promise<void> {
  await appendFile(join(caseDir, 'timeline', 'events.jsonl'), lines)
  await recordCaseFile(caseDir, 'timeline/events.jsonl')
}

/** An account the sample sweep reaches besides the case's own. */
export const OTHER_ACCOUNT = '210987654321'

/** A function name an attacker chose: table syntax, markup, a newline and an ANSI escape. */
export const HOSTILE_FUNCTION = 'fn|<img src=x>\nInjected: row\u001b[31m'

/**
 * Records an org sweep in a case through the same code as `fir sweep` (recordSweep: the result in
 * `sweeps/<UTC>.json`, recorded by hash, and the journaled `sweep` entry). It matched, in the case's
 * account, the case's function (which the sample contains) and `billing-worker` (versions
 * $LATEST and 3, not sealed); in OTHER_ACCOUNT, `reports-job` (sealed by the sweep's --snapshot),
 * a function named HOSTILE_FUNCTION whose seal failed, and `extra` more functions (`bulk-NNN`);
 * one account was denied. Returns the file's case-relative path.
 */
export async function addSampleSweep(
  dir: string,
  options: { extra?: number; startedAt?: Date } = {},
): Promise<{ file: string; result: SweepResult }> {
  const startedAt = options.startedAt ?? new Date('2026-03-14T11:00:00.000Z')
  const arn = (account: string, region: string, name: string, version: string) =>
    `arn:aws:lambda:${region}:${account}:function:${name}:${version}`
  const match = (account: string, region: string, name: string, version: string): SweepMatch => ({
    account,
    accountName: account === OTHER_ACCOUNT ? 'analytics-prod' : '',
    region,
    function: name,
    version,
    arn: arn(account, region, name, version),
    role: `arn:aws:iam::${account}:role/orders-api-role`,
    reasons: [
      { indicator: 'role-name', detail: `runs with role arn:aws:iam::${account}:role/orders-api-role` },
    ],
  })
  const matches: SweepMatch[] = [
    match(ACCOUNT, REGION, 'billing-worker', '$LATEST'),
    match(ACCOUNT, REGION, 'billing-worker', '3'),
    match(ACCOUNT, REGION, 'orders-api', '$LATEST'),
    match(OTHER_ACCOUNT, 'eu-west-1', HOSTILE_FUNCTION, '$LATEST'),
    match(OTHER_ACCOUNT, 'eu-west-1', 'reports-job', '$LATEST'),
    ...Array.from({ length: options.extra ?? 0 }, (_, i) =>
      match(OTHER_ACCOUNT, 'us-west-2', `bulk-${String(i).padStart(3, '0')}`, '$LATEST'),
    ),
  ]
  const unqualified = (a: string, r: string, n: string) => `arn:aws:lambda:${r}:${a}:function:${n}`
  const result: SweepResult = {
    caller: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/IncidentResponder/alice`, account: ACCOUNT },
    assumeRole: 'IncidentResponder',
    indicators: {
      roleNames: ['orders-api-role'],
      layerArns: [],
      codeSha256: [],
      envValueSha256: ['5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'],
      public: false,
    },
    regions: [REGION, 'eu-west-1', 'us-west-2'],
    accounts: [
      {
        id: ACCOUNT,
        name: 'orders-prod',
        status: 'swept',
        via: 'caller',
        regionsSwept: [REGION, 'eu-west-1', 'us-west-2'],
        regionsSkipped: [],
        functionVersions: 40,
        notChecked: [],
        requests: 9,
        maxRequestsPerSecond: 3,
      },
      {
        id: OTHER_ACCOUNT,
        name: 'analytics-prod',
        status: 'partial',
        via: `arn:aws:iam::${OTHER_ACCOUNT}:role/IncidentResponder`,
        regionsSwept: ['eu-west-1', 'us-west-2'],
        regionsSkipped: [],
        functionVersions: 81,
        notChecked: [],
        requests: 12,
        maxRequestsPerSecond: 4,
      },
      {
        id: '333344445555',
        name: 'sandbox',
        status: 'denied',
        via: 'arn:aws:iam::333344445555:role/IncidentResponder',
        regionsSwept: [],
        regionsSkipped: [],
        functionVersions: 0,
        notChecked: [],
        requests: 1,
        maxRequestsPerSecond: 1,
      },
    ],
    inactiveAccounts: [],
    matches,
    functionVersionsSeen: 400,
    notChecked: [],
    snapshots: [
      {
        account: OTHER_ACCOUNT,
        region: 'eu-west-1',
        functions: [unqualified(OTHER_ACCOUNT, 'eu-west-1', HOSTILE_FUNCTION)],
        error: 'denied: AccessDeniedException: lambda:GetFunction',
      },
      {
        account: OTHER_ACCOUNT,
        region: 'eu-west-1',
        functions: [unqualified(OTHER_ACCOUNT, 'eu-west-1', 'reports-job')],
        set: '20260314T110200.000Z',
        manifestSha256: 'a'.repeat(64),
      },
    ],
    startedAt: startedAt.toISOString(),
    finishedAt: new Date(startedAt.getTime() + 90_000).toISOString(),
    wallMs: 90_000,
    cpuMs: 800,
    file: `sweeps/${compactUtc(startedAt)}.json`,
    limits: { concurrency: 32, ratePerAccount: 10 },
  }
  const handle = await CaseHandle.open(dir)
  try {
    await recordSweep(handle, result, { target: `${ACCOUNT},${OTHER_ACCOUNT},333344445555`, gapCount: 3 })
  } finally {
    await handle.close()
  }
  return { file: result.file, result }
}
