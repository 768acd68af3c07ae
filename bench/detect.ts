/**
 * Micro-benchmark of fir's detection engine: `npx tsx bench/detect.ts [records]`.
 *
 * Builds a synthetic CloudTrail corpus (100k records by default, fir's own made-up data), then times
 *   1. a baseline "scan": JSON.parse of each JSONL line plus a light normalisation, which is the least
 *      work a timeline does per record (it also reads, decompresses, sorts and writes);
 *   2. the full rule pack (createDetector with ip-ranges and known function roles) on the parsed records.
 * Prints records/s for both and the pack's cost as a share of the baseline (the target is < 20%).
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type CompiledRule, createDetector, loadBuiltinRules, loadRuleDir } from '../src/core/detect/index.js'

const N = Number(process.argv[2] ?? 100_000)
const ACCOUNT = '111122223333'

let seed = 42
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed % n
}
const pick = <T>(list: readonly T[]) => list[rand(list.length)]!

// Mostly routine traffic, with the events fir's rules look for mixed in at a few percent.
const ROUTINE: Array<[string, string]> = [
  ['s3.amazonaws.com', 'GetObject'],
  ['s3.amazonaws.com', 'ListBuckets'],
  ['ec2.amazonaws.com', 'DescribeInstances'],
  ['ec2.amazonaws.com', 'DescribeSecurityGroups'],
  ['sts.amazonaws.com', 'AssumeRole'],
  ['sts.amazonaws.com', 'GetCallerIdentity'],
  ['lambda.amazonaws.com', 'GetFunction20150331v2'],
  ['lambda.amazonaws.com', 'ListFunctions20150331'],
  ['lambda.amazonaws.com', 'Invoke'],
  ['logs.amazonaws.com', 'CreateLogStream'],
  ['kms.amazonaws.com', 'Decrypt'],
  ['secretsmanager.amazonaws.com', 'GetSecretValue'],
  ['dynamodb.amazonaws.com', 'DescribeTable'],
  ['iam.amazonaws.com', 'GetRole'],
  ['iam.amazonaws.com', 'ListAttachedRolePolicies'],
  ['cloudtrail.amazonaws.com', 'LookupEvents'],
]
const NOTABLE: Array<[string, string, Record<string, unknown>]> = [
  ['lambda.amazonaws.com', 'UpdateFunctionCode20150331v2', { functionName: 'orders-api', publish: true }],
  [
    'lambda.amazonaws.com',
    'UpdateFunctionConfiguration20150331v2',
    { functionName: 'orders-api', layers: ['arn:x'] },
  ],
  ['lambda.amazonaws.com', 'AddPermission20150331v2', { functionName: 'orders-api', principal: '*' }],
  ['lambda.amazonaws.com', 'CreateFunctionUrlConfig', { functionName: 'orders-api', authType: 'NONE' }],
  [
    'iam.amazonaws.com',
    'AttachRolePolicy',
    { roleName: 'r', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
  ],
  ['iam.amazonaws.com', 'CreateAccessKey', { userName: 'deploy-bot' }],
  ['cloudtrail.amazonaws.com', 'StopLogging', { name: 'main' }],
  ['logs.amazonaws.com', 'DeleteLogGroup', { logGroupName: '/aws/lambda/orders-api' }],
]

function identity(i: number) {
  switch (i % 3) {
    case 0:
      return {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLE:orders-api',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/orders-role/orders-api`,
        accountId: ACCOUNT,
        accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: 'AROAEXAMPLE',
            arn: `arn:aws:iam::${ACCOUNT}:role/service-role/orders-role`,
            accountId: ACCOUNT,
            userName: 'orders-role',
          },
          attributes: { creationDate: '2026-11-20T09:00:00Z', mfaAuthenticated: 'false' },
        },
      }
    case 1:
      return {
        type: 'IAMUser',
        principalId: 'AIDAEXAMPLE',
        arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
        accountId: ACCOUNT,
        accessKeyId: 'AKIAEXAMPLEEXAMPLE01',
        userName: 'alice',
      }
    default:
      return { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' }
  }
}

function record(i: number): Record<string, unknown> {
  const notable = rand(100) < 2
  const [source, name, params] = notable
    ? pick(NOTABLE)
    : [...pick(ROUTINE), { resource: `item-${rand(5000)}` }]
  const t = new Date(Date.UTC(2026, 10, 20, 0, 0, 0) + i * 500)
  const who = identity(i)
  // The function's own calls come from AWS addresses with the Lambda SDK marker; one in a
  // thousand is a stolen-credential call from elsewhere. People use the CLI from the internet.
  const inLambda = who.type === 'AssumedRole' ? rand(1000) !== 0 : who.type === 'AWSService'
  return {
    eventVersion: '1.09',
    userIdentity: who,
    eventTime: t.toISOString().replace('.000', ''),
    eventSource: source,
    eventName: name,
    awsRegion: 'eu-west-1',
    sourceIPAddress: inLambda ? `3.5.${rand(256)}.${rand(256)}` : `203.0.113.${rand(256)}`,
    userAgent: inLambda
      ? 'aws-sdk-js/3.600.0 ua/2.0 os/linux#5.10 lang/js md/nodejs#20.15.1 exec-env/AWS_Lambda_nodejs20.x'
      : 'aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22',
    requestParameters: { ...params, secretId: name === 'GetSecretValue' ? `prod/s-${rand(40)}` : undefined },
    responseElements: null,
    requestID: `req-${i}`,
    eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    readOnly: !notable,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: `${source}`,
    },
  }
}

/** The least a timeline does per record: parse the line and build the normalised event. */
function scan(lines: string[]): unknown[] {
  const out: unknown[] = new Array(lines.length)
  for (let i = 0; i < lines.length; i++) {
    const raw = JSON.parse(lines[i]!) as Record<string, unknown>
    const id = raw.userIdentity as Record<string, unknown> | undefined
    out[i] = {
      id: raw.eventID,
      time: raw.eventTime,
      name: String(raw.eventName).replace(/\d{8}(v\d+)?$/, ''),
      rawName: raw.eventName,
      source: raw.eventSource,
      region: raw.awsRegion,
      actor: { type: id?.type, arn: id?.arn, accessKeyId: id?.accessKeyId, invokedBy: id?.invokedBy },
      sourceIp: raw.sourceIPAddress,
      userAgent: raw.userAgent,
      raw,
    }
  }
  return out
}

function best(runs: number, fn: () => void): number {
  let min = Number.POSITIVE_INFINITY
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    fn()
    min = Math.min(min, performance.now() - t0)
  }
  return min
}

async function main() {
  const rules = await loadBuiltinRules()
  const here = path.dirname(fileURLToPath(import.meta.url))
  const sigmaDir = path.resolve(here, '../../shared/data/sigma/rules')
  const sigmaRules: CompiledRule[] = existsSync(sigmaDir) ? (await loadRuleDir(sigmaDir)).rules : []

  const lines = Array.from({ length: N }, (_, i) => JSON.stringify(record(i)))
  const parsed = lines.map((l) => JSON.parse(l) as unknown)
  const options = {
    awsIpRanges: { prefixes: [{ ip_prefix: '3.5.0.0/16' }, { ip_prefix: '52.94.0.0/22' }] },
    functionRoles: [`arn:aws:iam::${ACCOUNT}:role/service-role/orders-role`],
  }
  const detect = (set: CompiledRule[]) => () => {
    const d = createDetector(set, options)
    let findings = 0
    for (const r of parsed) findings += d.evaluate(r).length
    findings += d.flush().length
    return findings
  }

  const scanMs = best(3, () => scan(lines))
  const packMs = best(3, detect(rules))
  const findings = detect(rules)()
  const mb = lines.reduce((a, l) => a + l.length, 0) / 1e6
  const rate = (ms: number) => Math.round((N / ms) * 1000).toLocaleString('en-US')
  console.log(
    `corpus: ${N.toLocaleString('en-US')} synthetic CloudTrail records, ${mb.toFixed(1)} MB of JSONL`,
  )
  console.log(`baseline scan (JSON.parse + normalise): ${scanMs.toFixed(0)} ms, ${rate(scanMs)} records/s`)
  console.log(
    `fir pack (${rules.length} rules): ${packMs.toFixed(0)} ms, ${rate(packMs)} records/s, ${findings} findings, ` +
      `+${((packMs / scanMs) * 100).toFixed(1)}% of the baseline scan (target < 20%)`,
  )
  if (sigmaRules.length) {
    const both = [...rules, ...sigmaRules]
    const bothMs = best(3, detect(both))
    console.log(
      `fir pack + ${sigmaRules.length} SigmaHQ rules: ${bothMs.toFixed(0)} ms, ${rate(bothMs)} records/s, ` +
        `+${((bothMs / scanMs) * 100).toFixed(1)}% of the baseline scan`,
    )
  }
}

await main()
