import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { GetFunctionConfigurationCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda'
import { beforeAll, describe, expect, it } from 'vitest'
import { redactValue } from '../../src/core/common/redact.js'
import { escapeTerminal } from '../../src/core/common/text.js'
import { type CliResult, outputsUnder, runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { seedClients, seedFunction, seedRole } from '../support/seed.js'
import { packTrailFiles, writeTrailFiles } from '../support/trail-generator.js'

// DESIGN §1, Secrets: a secret the case holds leaves evidence/ in no form, whatever CloudTrail
// field carries it back and whichever output shows that field (stored events, exports, findings,
// the report, stdout and stderr).

const moto = useMoto()
const ACCOUNT = '123456789012'
const REGION = 'us-east-1'
const FUNCTION = 'payments'
const ROLE = 'payments-role'

/** The function's environment: every value but LOG_LEVEL is a secret. */
const ENV: Record<string, string> = {
  // A quote, a backslash and markup: JSON text holds it escaped, CSV quotes it, HTML escapes it.
  DB_PASSWORD: 'Tr0ub"ad\\or&<x>=y',
  // Control characters: JSON text and the terminal both show them escaped.
  API_TOKEN: 'tok_\u0007bell\tTab"q9',
  // Beyond ASCII, with a line separator (escaped in JSON text by fir, \uXXXX by other writers).
  APP_PASSWORD: 'pässwörd\u2028Ωmega-ünï',
  // Shorter than six characters: scrubbed where it stands as a whole token.
  SHORT_PASSWORD: 'ab12x',
  // Carried in fields that outputs cut (below).
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  // A JSON value with a password in it: the password is a secret of its own.
  APP_CONFIG: JSON.stringify({ db: { host: 'db.internal', password: 'hunter2"Hunter2XYZ' } }),
  // A password in a URL with no user name, in a connection string, in a query string: each
  // password is a secret of its own too. And a name that says credentials in short.
  REDIS_URL: 'redis://:R3disPassw0rdXYZ@cache.example.com:6379/0',
  DB_CONNECTION: 'Server=db.example.com;Database=app;User Id=sa;Password=AdoNetPa55word!;',
  JDBC_URL: 'jdbc:mysql://db:3306/app?user=root&password=JdbcPa55word',
  SMTP_CREDS: 'mailer:SmtpPa55w0rdQQ',
  LOG_LEVEL: 'info',
}
const SECRETS: [string, string][] = [
  ...Object.entries(ENV).filter(([k]) => k !== 'LOG_LEVEL'),
  ['password in APP_CONFIG', 'hunter2"Hunter2XYZ'],
  ['password in REDIS_URL', 'R3disPassw0rdXYZ'],
  ['password in DB_CONNECTION', 'AdoNetPa55word!'],
  ['password in JDBC_URL', 'JdbcPa55word'],
]

const window = ['--since', '2025-03-01T00:00:00Z', '--until', '2025-03-02T00:00:00Z']

let n = 0
/** A CloudTrail record of a Lambda call on the function, with the fields given. */
function record(extra: Record<string, unknown>): Record<string, unknown> {
  n++
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLEBOB',
      arn: `arn:aws:iam::${ACCOUNT}:user/bob`,
      accountId: ACCOUNT,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      userName: 'bob',
    },
    eventTime: new Date(Date.parse('2025-03-01T10:00:00Z') + n * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionConfiguration20150331v2',
    awsRegion: REGION,
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.15.0',
    requestParameters: { functionName: FUNCTION },
    responseElements: null,
    requestID: `req-${n}`,
    eventID: `leak-${n}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    ...extra,
  }
}

/** CloudTrail records that carry the secrets back, in every kind of field an output shows. */
function leakyRecords(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const [name, value] of SECRETS) {
    out.push(
      record({
        requestParameters: {
          functionName: FUNCTION,
          description: `set ${value}`,
          environment: { variables: { [name]: value } },
        },
        responseElements: { functionName: FUNCTION, environment: { variables: { [name]: value } } },
      }),
      record({
        eventName: 'GetFunction20150331v2',
        readOnly: true,
        userAgent: `curl/8 ${value}`,
        errorCode: 'AccessDenied',
        errorMessage: `denied for ${value}`,
      }),
    )
  }
  // The short password inside a longer word is another value: it stays.
  out.push(
    record({
      eventName: 'GetFunction20150331v2',
      readOnly: true,
      errorCode: 'AccessDenied',
      errorMessage: `SHORT_PASSWORD=${ENV.SHORT_PASSWORD} rejected; ${ENV.SHORT_PASSWORD}yz accepted`,
    }),
  )
  // The JSON value again, another field changed: the whole no longer matches, the password does.
  out.push(
    record({
      requestParameters: {
        functionName: FUNCTION,
        environment: {
          variables: {
            APP_CONFIG: JSON.stringify({ db: { host: 'db2.internal', password: 'hunter2"Hunter2XYZ' } }),
          },
        },
      },
    }),
  )
  // Secrets across the places outputs cut a field: a summary's target (findings.json, the
  // Timesketch message) at 200 characters, the report's user agent at 160 and error at 200.
  out.push(
    record({
      eventName: 'GetFunction20150331v2',
      readOnly: true,
      userAgent: `${'U'.repeat(150)}${ENV.AWS_SECRET_ACCESS_KEY}`,
      errorCode: 'AccessDenied',
      errorMessage: `${'M'.repeat(175)}${ENV.AWS_SECRET_ACCESS_KEY}`,
      requestParameters: { functionName: `${'F'.repeat(190)}${ENV.DB_PASSWORD}` },
    }),
  )
  return out
}

const csvQuoted = (s: string) => s.replace(/"/g, '""')
const jsonEscaped = (s: string) => JSON.stringify(s).slice(1, -1)
const asciiJson = (s: string) =>
  jsonEscaped(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
const htmlEscaped = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** Every form a secret may take in text: raw, JSON-escaped (once, twice, ASCII), CSV-quoted, HTML, terminal. */
function formsOf(secret: string): Record<string, string> {
  return {
    raw: secret,
    json: jsonEscaped(secret),
    jsonTwice: jsonEscaped(jsonEscaped(secret)),
    asciiJson: asciiJson(secret),
    csv: csvQuoted(secret),
    csvJson: csvQuoted(jsonEscaped(secret)),
    html: htmlEscaped(secret),
    terminal: escapeTerminal(secret),
    terminalJson: jsonEscaped(escapeTerminal(secret)),
    // What a cut made before the scrub leaves: the head of the secret (not of a JSON value, whose
    // head is the structure any copy of it shows).
    ...(secret.length >= 12 && !secret.startsWith('{')
      ? { head: secret.slice(0, 8), headJson: jsonEscaped(secret.slice(0, 8)) }
      : {}),
  }
}

/** Where `shown` stands in `text`; for a short secret, only where it is a whole token. */
function indexOfForm(text: string, shown: string, secret: string): number {
  if (secret.length >= 6) return text.indexOf(shown)
  const escaped = shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return text.search(new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'u'))
}

/** `form of NAME in WHERE` for each form of each secret found in the texts. */
function leaks(texts: [string, string][]): string[] {
  const found: string[] = []
  for (const [where, text] of texts) {
    for (const [name, secret] of SECRETS) {
      for (const [form, shown] of Object.entries(formsOf(secret))) {
        const at = indexOfForm(text, shown, secret)
        if (at !== -1)
          found.push(`${form} of ${name} in ${where}: …${text.slice(Math.max(0, at - 30), at + 40)}`)
      }
    }
  }
  return found
}

describe('secrets the case holds, carried back by CloudTrail (built CLI)', () => {
  let cwd: string
  let caseDir: string
  let trail: string
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
    trail = join(await tempDir(), 'trail')
    const role = await seedRole(moto.endpoint(), { name: ROLE })
    await seedFunction(moto.endpoint(), { name: FUNCTION, roleArn: role.arn, env: ENV })
    await writeTrailFiles(trail, packTrailFiles(leakyRecords() as never, { account: ACCOUNT }))
    caseDir = join(cwd, 'cases', 'RD')
    await run('case init', ['case', 'init', 'RD'])
    // moto leaves gaps (provisioned concurrency, layers): exit 4.
    await run('snapshot', ['snapshot', FUNCTION, '--case', 'cases/RD'], 4)
    const tl = ['timeline', FUNCTION, '--case', 'cases/RD', '--source', trail, ...window]
    const out = join(cwd, 'exports')
    for (const format of ['jsonl', 'csv', 'md', 'timesketch']) {
      await run(`timeline ${format}`, [...tl, '--format', format, '--raw', '--out', `${out}.${format}`])
    }
    await run('timeline jsonl to stdout', [...tl, '--format', 'jsonl', '--raw'])
    await run('timeline --json', [...tl, '--json'])
    // An account-wide hunt reads the trail with worker threads and stores every event (those of
    // other functions too); the report below reads its timeline.
    const hunt = ['timeline', '--case', 'cases/RD', '--source', trail, ...window]
    await run('hunt csv', [...hunt, '--format', 'csv'])
    await run('hunt timesketch', [...hunt, '--format', 'timesketch'])
    await run('report', ['report', '--case', 'cases/RD'])
    await run('report md', [
      'report',
      '--case',
      'cases/RD',
      '--format',
      'md',
      '--out',
      join(cwd, 'ticket.md'),
    ])
    await run('case show', ['case', 'show', '--case', 'cases/RD', '--json'])
  })

  it('shows no form of any secret outside evidence/: files, exports, stdout, stderr', async () => {
    const texts = [
      ...(await outputsUnder(cwd)),
      ...runs.flatMap(([label, r]): [string, string][] => [
        [`stdout of ${label}`, r.stdout],
        [`stderr of ${label}`, r.stderr],
      ]),
    ]
    expect(leaks(texts)).toEqual([])
  })

  it('shows each secret as its marker where CloudTrail carried it', async () => {
    const events = await readFile(join(caseDir, 'timeline', 'events.jsonl'), 'utf8')
    const csv = await readFile(join(cwd, 'exports.csv'), 'utf8')
    const md = await readFile(join(cwd, 'ticket.md'), 'utf8')
    for (const [name, value] of Object.entries(ENV).filter(([k]) => k !== 'LOG_LEVEL')) {
      expect(events, name).toContain(`denied for ${redactValue(value)}`)
      expect(csv, name).toContain(`set ${redactValue(value)}`)
      expect(md, name).toContain(redactValue(value))
    }
    // A short secret is redacted as a token, and what merely begins with it stays.
    expect(events).toContain(`SHORT_PASSWORD=${redactValue(ENV.SHORT_PASSWORD!)} rejected; ab12xyz accepted`)
    expect(md).toContain(`SHORT\\_PASSWORD=${redactValue(ENV.SHORT_PASSWORD!)} rejected; ab12xyz accepted`)
    // The changed JSON value shows its other fields, its password redacted.
    expect(events).toContain(jsonEscaped(`"db2.internal","password":"${redactValue('hunter2"Hunter2XYZ')}"`))
    // The evidence holds them verbatim: it is what was read.
    const evidence = await readdir(join(caseDir, 'evidence'), { recursive: true })
    const getFunction = evidence.find((p) => p.endsWith('get-function.$LATEST.json'))!
    const stored = await readFile(join(caseDir, 'evidence', getFunction), 'utf8')
    expect(stored).toContain(jsonEscaped(ENV.DB_PASSWORD!))
  })
})

describe('a password in an endpoint or proxy URL (built CLI)', () => {
  it('is redacted in the journal, the banner, suggestions and doctor, whichever way it was given', async () => {
    const password = 'P4ssw0rd-Zz9'
    const marker = redactValue(password)
    const role = await seedRole(moto.endpoint(), { name: 'victim-role' })
    await seedFunction(moto.endpoint(), { name: 'victim', roleArn: role.arn })
    const cwd = await tempDir()
    const withPassword = moto.endpoint().replace('http://', `http://admin:${password}@`)
    const runs: [string, CliResult][] = []
    const run = async (label: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = await runFir(args, { cwd, env })
      runs.push([label, r])
      return r
    }
    expect((await run('case init', ['case', 'init', 'EP'])).code).toBe(0)
    // The flag's value as its own argument (the form that was journaled in clear), then as key=value.
    const contain = await run('contain', [
      'contain',
      'victim',
      '--case',
      'cases/EP',
      '--actions',
      'throttle',
      '--yes',
      '--endpoint-url',
      withPassword,
    ])
    expect(contain.code, contain.stderr).toBe(4) // the snapshot it takes first has moto's gaps
    const snapshot = await run('snapshot', [
      'snapshot',
      'victim',
      '--case',
      'cases/EP',
      `--endpoint-url=${withPassword}`,
    ])
    expect(snapshot.code, snapshot.stderr).toBe(4)
    const journal = await readFile(join(cwd, 'cases', 'EP', 'journal.jsonl'), 'utf8')
    expect(journal).not.toContain(password)
    const entries = journal
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const identity = entries.find((e) => e.action === 'aws.identity')
    expect(identity.params.endpoint).toBe(moto.endpoint().replace('http://', `http://admin:${marker}@`))
    const commands = entries.map((e) => e.actor.command.join(' '))
    expect(commands).toContain(
      `fir contain victim --case cases/EP --actions throttle --yes --endpoint-url http://admin:${marker}@${moto.endpoint().slice(7)}`,
    )
    expect(contain.stderr).toContain(`via http://admin:${marker}@`)
    expect(contain.stdout).toContain(`Undo with: fir restore victim --endpoint-url 'http://admin:${marker}@`)
    // A proxy with a password, shown by doctor (outside emulator-only mode: the calls still go to
    // the loopback endpoint, which no proxy serves, and doctor says so).
    const doctor = await run('doctor', ['doctor', '--json', '--endpoint-url', withPassword], {
      FIR_EMULATOR_ONLY: undefined,
      HTTPS_PROXY: `http://ir:${password}@127.0.0.1:9`,
    })
    expect(doctor.json.result.proxy, doctor.stdout).toBeNull()
    expect(doctor.json.result.proxiesUnused).toEqual([
      {
        variable: 'HTTPS_PROXY',
        url: `http://ir:${marker}@127.0.0.1:9`,
        reason: 'the endpoint is a loopback address, reached directly',
      },
    ])
    expect(doctor.json.result.endpoint).toBe(moto.endpoint().replace('http://', `http://admin:${marker}@`))

    for (const [label, r] of runs) {
      expect(r.stdout, label).not.toContain(password)
      expect(r.stderr, label).not.toContain(password)
    }
  })
})

describe('a secret of the environment of a function fir acts on (built CLI)', () => {
  it('is redacted in the plan printed before the changes, in a dry run, in --json and in a restore plan, with no snapshot holding it', async () => {
    const secret = 'hunter2-secret-value'
    const marker = redactValue(secret)
    const role = await seedRole(moto.endpoint(), { name: 'plan-role' })
    await seedFunction(moto.endpoint(), {
      name: 'plan-fn',
      roleArn: role.arn,
      env: { DB_PASSWORD: secret },
      description: `pw ${secret}`,
    })
    const cwd = await tempDir()
    const run = (args: string[]) => runFir(args, { cwd, endpoint: moto.endpoint() })
    expect((await run(['case', 'init', 'PL'])).code).toBe(0)
    const contain = ['contain', 'plan-fn', '--case', 'cases/PL', '--actions', 'throttle,recycle']
    // No snapshot yet: a dry run takes none, so only the read of the function can register it.
    const json = await run([...contain, '--dry-run', '--json'])
    expect(json.code, json.stderr).toBe(0)
    const recycle = json.json.result.plans.find((p: { step: string }) => p.step === 'containment.recycle')
    expect(recycle.before.description).toBe(`pw ${marker}`)
    const dry = await run([...contain, '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain(`description: "pw ${marker}"`)
    // The plan goes to stderr before the snapshot contain takes first.
    const applied = await run([...contain, '--yes'])
    expect(applied.code, applied.stderr).toBe(4) // moto's snapshot gaps
    const plan = applied.stderr.slice(applied.stderr.indexOf('Containment plan:'))
    expect(plan).toContain(`description: "pw ${marker}"`)
    // Someone sets a new password, and quotes it in the description, after the snapshot: the
    // restore plan shows the description (a conflict), and only its read can register the value.
    const later = 'hunter3-later-value'
    await seedClients(moto.endpoint()).lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'plan-fn',
        Environment: { Variables: { DB_PASSWORD: later } },
        Description: `pw ${later}`,
      }),
    )
    const restore = await run(['restore', 'plan-fn', '--case', 'cases/PL', '--dry-run', '--json'])
    expect(restore.code, restore.stderr).toBe(0)
    const undo = restore.json.result.plans.find((p: { step: string }) => p.step === 'containment.recycle')
    expect(undo.before.description).toBe(`pw ${redactValue(later)}`)
    for (const [label, r] of Object.entries({ json, dry, applied, restore })) {
      for (const value of [secret, later]) {
        expect(r.stdout, label).not.toContain(value)
        expect(r.stderr, label).not.toContain(value)
      }
    }
    for (const [path, text] of await outputsUnder(join(cwd, 'cases', 'PL')))
      expect(text, path).not.toContain(secret)
  })

  it('restore never writes a redaction marker into AWS: a prior that quoted a secret cannot be undone automatically, left as it is', async () => {
    // Before: the journal's prior description is redacted, and restore set the function's
    // description to "pw ‹redacted len=… sha256:…›", losing the real one.
    const secret = 'hunter4-quoted-value'
    const role = await seedRole(moto.endpoint(), { name: 'quote-role' })
    await seedFunction(moto.endpoint(), {
      name: 'quote-fn',
      roleArn: role.arn,
      env: { DB_PASSWORD: secret },
      description: `pw ${secret}`,
    })
    const cwd = await tempDir()
    const run = (args: string[]) => runFir(args, { cwd, endpoint: moto.endpoint() })
    expect((await run(['case', 'init', 'QD'])).code).toBe(0)
    const contain = await run(['contain', 'quote-fn', '--case', 'cases/QD', '--actions', 'recycle', '--yes'])
    expect(contain.code, contain.stderr).toBe(4) // moto's snapshot gaps
    const stamped = (
      await seedClients(moto.endpoint()).lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: 'quote-fn' }),
      )
    ).Description
    expect(stamped).toMatch(/^fir: recycled by case QD at /)
    const restore = await run(['restore', 'quote-fn', '--case', 'cases/QD', '--yes', '--json'])
    expect(restore.code, restore.stderr).toBe(0)
    const row = restore.json.result.results.find((r: { step: string }) => r.step === 'containment.recycle')
    expect(row.outcome).toBe('skipped')
    expect(row.notes.join(' ')).toMatch(
      /^cannot be undone automatically \(the value to put back held a secret, which the journal keeps redacted\).*evidence\//,
    )
    const now = (
      await seedClients(moto.endpoint()).lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: 'quote-fn' }),
      )
    ).Description
    expect(now).toBe(stamped)
    expect(restore.stdout).not.toContain(secret)
  })
})

describe('a secret at the start of a source file that is not JSON (built CLI)', () => {
  it("is not quoted by the refusal, whose message still says it is not valid JSON and where: V8's parse error quotes the text", async () => {
    // Before: `not valid JSON: Unexpected token 'S', "[Sup3rS3cre"... is not valid JSON` in stderr,
    // the --json error and problemFiles, and stdout when another source was read.
    const secret = 'Sup3rS3cretPassw0rdX'
    const role = await seedRole(moto.endpoint(), { name: 'cut-role' })
    await seedFunction(moto.endpoint(), { name: 'cut-fn', roleArn: role.arn, env: { DB_PASSWORD: secret } })
    const cwd = await tempDir()
    const run = (args: string[]) => runFir(args, { cwd, endpoint: moto.endpoint() })
    expect((await run(['case', 'init', 'CUT'])).code).toBe(0)
    expect((await run(['snapshot', 'cut-fn', '--case', 'cases/CUT'])).code).toBe(4) // moto's gaps
    const bad = join(cwd, 'bad')
    await mkdir(bad)
    // V8 quotes the start of the text, the middle around the problem, and its end.
    await writeFile(join(bad, 'a.json'), `[${secret}]`)
    await writeFile(
      join(bad, 'b.json'),
      `{"Records": [{"eventName": "GetSecretValue", "x": ${secret}, "y": 1}]}`,
    )
    await writeFile(join(bad, 'c.json.gz'), gzipSync(`["a", "b", "c", "d", ${secret}]`))
    await writeFile(join(bad, 'd.jsonl'), `{"password": ${secret}}\n{"password": ${secret}}\n`)
    const good = join(cwd, 'good')
    await writeTrailFiles(
      good,
      packTrailFiles([record({ requestParameters: { functionName: 'cut-fn' } })] as never, {
        account: ACCOUNT,
      }),
    )
    const tl = ['timeline', 'cut-fn', '--case', 'cases/CUT', ...window]
    const refused = await run([...tl, '--source', bad])
    const refusedJson = await run([...tl, '--source', bad, '--json'])
    const some = await run([...tl, '--source', bad, '--source', good])
    const someJson = await run([...tl, '--source', bad, '--source', good, '--json'])
    expect(refused.code, refused.stderr).toBe(2)
    expect(refusedJson.code).toBe(2)
    expect(some.code, some.stderr).toBe(0)
    expect(someJson.code).toBe(0)
    const messages = Object.fromEntries(
      someJson.json.result.problemFiles.map((p: { file: string; refused: { message: string } }) => [
        p.file.slice(bad.length + 1),
        p.refused.message,
      ]),
    )
    expect(messages).toEqual({
      'a.json': 'not valid JSON: expected a value at position 1 (line 1 column 2)',
      'b.json': 'not valid JSON: expected a value at position 50 (line 1 column 51)',
      'c.json.gz': 'not valid JSON: expected a value at position 21 (line 1 column 22)',
      'd.jsonl': 'not valid JSON: expected a value at position 13 (line 1 column 14)',
    })
    expect(refusedJson.json.error.message).toContain(
      `${join(bad, 'a.json')}: invalid-json: not valid JSON: expected a value at position 1 (line 1 column 2)`,
    )
    expect(some.stdout).toContain('not valid JSON: expected a value at position 1 (line 1 column 2)')
    for (const [label, r] of Object.entries({ refused, refusedJson, some, someJson })) {
      for (const part of [secret.slice(0, 8), secret.slice(-8), 'Unexpected token']) {
        expect(r.stdout, label).not.toContain(part)
        expect(r.stderr, label).not.toContain(part)
      }
    }
  })
})
