/**
 * Micro-benchmark of fir's detection engine: `npx tsx bench/detect.ts [records]`.
 *
 * Builds a synthetic CloudTrail corpus (100k records by default, fir's own made-up data), then times
 *   1. a baseline "scan": JSON.parse of each JSONL line plus a light normalisation, which is the least
 *      work a timeline does per record (it also reads, decompresses, sorts and writes);
 *   2. the full rule pack (createDetector with ip-ranges and known function roles) on the parsed records.
 * Prints records/s and the pack's cost as a share of the baseline (the target is < 20%), measured
 * in CPU time of this process (best of five, after a warm-up run).
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
function scan(lines: string[], detect?: (raw: unknown) => unknown[]): unknown[] {
  const out: unknown[] = new Array(lines.length)
  for (let i = 0; i < lines.length; i++) {
    const raw = JSON.parse(lines[i]!) as Record<string, unknown>
    const findings = detect ? detect(raw) : []
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
      findings,
      raw,
    }
  }
  return out
}

/**
 * CPU time (user + system) of one run, in ms: the machine may be shared, and wall time then
 * measures the neighbours as much as the code.
 */
function cpuMs(fn: () => void): number {
  const before = process.cpuUsage()
  fn()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
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
  const both = [...rules, ...sigmaRules]
  let findings = 0
  /** The scan with detection inline, as a timeline does it: each record is matched right after parsing. */
  const scanWith = (set: CompiledRule[]) => () => {
    const d = createDetector(set, options)
    findings = 0
    scan(lines, (raw) => {
      const f = d.evaluate(raw)
      findings += f.length
      return f
    })
    findings += d.flush().length
  }
  /** Detection alone over records parsed beforehand. */
  const detectOnly = (set: CompiledRule[]) => () => {
    const d = createDetector(set, options)
    for (const r of parsed) d.evaluate(r)
  }
  const runs: Array<[string, () => unknown]> = [
    ['scan', () => scan(lines)],
    ['scan+pack', scanWith(rules)],
    ['pack', detectOnly(rules)],
    ['scan+both', scanWith(both)],
    ['both', detectOnly(both)],
  ]
  // Warm up the JIT, then alternate the measurements so that load on a shared machine hits them
  // alike; keep the least CPU time of each.
  const times = new Map<string, number>()
  for (const [name, fn] of runs) {
    fn()
    times.set(name, Number.POSITIVE_INFINITY)
  }
  for (let round = 0; round < 5; round++) {
    for (const [name, fn] of runs) times.set(name, Math.min(times.get(name)!, cpuMs(fn)))
  }
  const t = (name: string) => times.get(name)!
  const mb = lines.reduce((a, l) => a + l.length, 0) / 1e6
  const rate = (ms: number) => Math.round((N / ms) * 1000).toLocaleString('en-US')
  const added = (name: string) => {
    const d = ((t(name) - t('scan')) / t('scan')) * 100
    return `${d >= 0 ? '+' : ''}${d.toFixed(1)}%`
  }
  scanWith(rules)()
  console.log(
    `corpus: ${N.toLocaleString('en-US')} synthetic CloudTrail records, ${mb.toFixed(1)} MB of JSONL`,
  )
  console.log(
    `baseline scan (JSON.parse + normalise): ${t('scan').toFixed(0)} ms CPU, ${rate(t('scan'))} records/s`,
  )
  const share = (name: string) => `${((t(name) / t('scan')) * 100).toFixed(1)}%`
  console.log(
    `fir pack (${rules.length} rules): ${t('pack').toFixed(0)} ms CPU on parsed records, ${rate(t('pack'))} records/s, ` +
      `${findings} findings = ${share('pack')} of the scan (target < 20%); measured inline: scan with the pack ` +
      `${t('scan+pack').toFixed(0)} ms CPU (${added('scan+pack')})`,
  )
  if (sigmaRules.length) {
    console.log(
      `fir pack + ${sigmaRules.length} SigmaHQ rules: ${t('both').toFixed(0)} ms CPU, ${rate(t('both'))} records/s = ` +
        `${share('both')} of the scan; inline: ${t('scan+both').toFixed(0)} ms CPU (${added('scan+both')})`,
    )
  }
}

await main()
