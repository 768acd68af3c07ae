import { generateKeyPairSync } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { redactValue } from '../../src/core/common/redact.js'
import { type CliResult, outputsUnder, runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { seedFunction, seedRole } from '../support/seed.js'
import { packTrailFiles, writeTrailFiles } from '../support/trail-generator.js'

// DESIGN §1, Secrets: a secret the case holds leaves evidence/ in no form. Stolen values are
// commonly carried out encoded (in a user agent, a resource name, a parameter): before, a secret
// percent-encoded passed every output in clear.

const moto = useMoto()
const ACCOUNT = '123456789012'
const REGION = 'us-east-1'
const FUNCTION = 'billing'

const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs1',
  format: 'pem',
}) as string
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiaWxsaW5nLXN2YyIsImlhdCI6MTc0MDAwMDAwMH0.Qk2nV8s0yS3cR3tS1gNaTuReXyZ_abcdEFGH-ijklMNOP'
const ENV: Record<string, string> = {
  DB_PASSWORD: 'Sup3rS3cretPassw0rdX',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1',
  PASSPHRASE: 'correct horse battery staple9',
  SIGNING_PRIVATE_KEY: PEM,
  SERVICE_TOKEN: JWT,
}

/** Each encoded form of a secret, as CloudTrail carries it back, with the secret it stands for. */
const ENCODED: { name: string; form: string; secret: string }[] = [
  {
    name: 'percent-encoded secret key',
    form: encodeURIComponent(ENV.AWS_SECRET_ACCESS_KEY!),
    secret: ENV.AWS_SECRET_ACCESS_KEY!,
  },
  {
    name: 'percent-encoded secret key, lower-case hex',
    form: encodeURIComponent(ENV.AWS_SECRET_ACCESS_KEY!).replaceAll('%2F', '%2f'),
    secret: ENV.AWS_SECRET_ACCESS_KEY!,
  },
  { name: 'percent-encoded passphrase', form: encodeURIComponent(ENV.PASSPHRASE!), secret: ENV.PASSPHRASE! },
]

const window = ['--since', '2025-03-01T00:00:00Z', '--until', '2025-03-02T00:00:00Z']

/** A CloudTrail record of a call on the function, one encoded form in a user agent and a parameter. */
function record(i: number, form: string): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLEEVE',
      arn: `arn:aws:iam::${ACCOUNT}:user/eve`,
      accountId: ACCOUNT,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      userName: 'eve',
    },
    eventTime: `2025-03-01T10:00:${String(i).padStart(2, '0')}Z`,
    eventSource: 'lambda.amazonaws.com',
    eventName: 'GetFunction20150331v2',
    awsRegion: REGION,
    sourceIPAddress: '203.0.113.9',
    userAgent: `exfil/1.0 ${form}`,
    requestParameters: { functionName: FUNCTION, qualifier: `x-${form}` },
    responseElements: null,
    requestID: `req-${i}`,
    eventID: `encoded-${i}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
  }
}

describe('encoded forms of a secret the case holds, carried back by CloudTrail (built CLI)', () => {
  let cwd: string
  let caseDir: string
  const runs: [string, CliResult][] = []
  const run = async (label: string, args: string[], code = 0) => {
    const r = await runFir(args, { cwd, endpoint: moto.endpoint() })
    expect(r.code, `${label}: ${r.stderr}`).toBe(code)
    runs.push([label, r])
    return r
  }

  beforeAll(async () => {
    cwd = await tempDir()
    // The trail is input, not output: it lives outside the folder the test searches.
    const trail = join(await tempDir(), 'trail')
    const role = await seedRole(moto.endpoint(), { name: `${FUNCTION}-role` })
    await seedFunction(moto.endpoint(), { name: FUNCTION, roleArn: role.arn, env: ENV })
    const records = ENCODED.map((e, i) => record(i + 1, e.form))
    await writeTrailFiles(trail, packTrailFiles(records as never, { account: ACCOUNT }))
    caseDir = join(cwd, 'cases', 'EN')
    await run('case init', ['case', 'init', 'EN'])
    // moto leaves gaps (provisioned concurrency, layers): exit 4.
    await run('snapshot', ['snapshot', FUNCTION, '--case', 'cases/EN'], 4)
    const tl = ['timeline', FUNCTION, '--case', 'cases/EN', '--source', trail, ...window]
    for (const format of ['jsonl', 'csv', 'timesketch']) {
      await run(`timeline ${format}`, [
        ...tl,
        '--format',
        format,
        '--raw',
        '--out',
        join(cwd, `export.${format}`),
      ])
    }
    await run('timeline --json', [...tl, '--json'])
    await run('report', ['report', '--case', 'cases/EN'])
    await run('report md', [
      'report',
      '--case',
      'cases/EN',
      '--format',
      'md',
      '--out',
      join(cwd, 'ticket.md'),
    ])
  })

  it('shows no encoded form of a secret outside evidence/: files, exports, reports, stdout, stderr', async () => {
    const texts = [
      ...(await outputsUnder(cwd)),
      ...runs.flatMap(([label, r]): [string, string][] => [
        [`stdout of ${label}`, r.stdout],
        [`stderr of ${label}`, r.stderr],
      ]),
    ]
    const found = texts.flatMap(([where, text]) =>
      ENCODED.filter((e) => text.includes(e.form)).map((e) => `${e.name} in ${where}`),
    )
    expect(found).toEqual([])
  })

  it('shows each encoded form as the marker of the secret it encodes, where CloudTrail carried it', async () => {
    const events = (await readFile(join(caseDir, 'timeline', 'events.jsonl'), 'utf8')).split('\n')
    const csv = await readFile(join(cwd, 'export.csv'), 'utf8')
    for (const [i, e] of ENCODED.entries()) {
      const line = events.find((l) => l.includes(`"encoded-${i + 1}"`))
      expect(line, e.name).toBeDefined()
      expect(JSON.parse(line!).userAgent, e.name).toBe(`exfil/1.0 ${redactValue(e.secret)}`)
      expect(csv, e.name).toContain(`x-${redactValue(e.secret)}`)
    }
    // The evidence holds the values verbatim: it is what was read.
    const evidence = await readdir(join(caseDir, 'evidence'), { recursive: true })
    const getFunction = evidence.find((p) => p.endsWith('get-function.$LATEST.json'))!
    const stored = await readFile(join(caseDir, 'evidence', getFunction), 'utf8')
    expect(stored).toContain(ENV.DB_PASSWORD)
  })
})
