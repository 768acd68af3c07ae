import { spawnSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { gzipSync } from 'node:zlib'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { beforeAll, describe, expect, it } from 'vitest'
import { BIN, initCase, runFir, tempDir, testEnv } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { startLookupEvents } from '../support/lookup-events-server.js'
import { ACCOUNT, buildSampleCase, REGION } from '../support/sample-case.js'
import { generateCorpus, packTrailFiles, writeTrailFiles } from '../support/trail-generator.js'

const moto = useMoto()
const target = { functionName: 'orders-api', roleName: 'orders-api-role', region: 'eu-west-1' }
const start = new Date('2025-03-01T00:00:00Z')
const end = new Date('2025-03-02T00:00:00Z')
const corpus = generateCorpus({ seed: 31, records: 6000, start, end, target, related: 120 })
// A hostile record: terminal escapes and formula starts in attacker-controlled fields.
corpus.records.push({
  ...corpus.records.find((r) => r.eventName === 'UpdateFunctionCode20150331v2')!,
  eventID: 'hostile-1',
  userAgent: '\u001b[2J\u001b[31mPWNED=cmd|calc',
  userIdentity: {
    type: 'IAMUser',
    arn: `arn:aws:iam::${corpus.account}:user/\u001b]0;evil\u0007x`,
    userName: 'x',
  },
})
corpus.related.set('hostile-1', 'resource')
const files = packTrailFiles(corpus.records, { account: corpus.account, maxPerFile: 30 })
let cwd = ''
let trail = ''
const window = ['--since', '2025-03-01T00:00:00Z', '--until', '2025-03-02T00:00:00Z']
/** `fir timeline orders-api` in the test's case, from `source`, with the function's role named. */
const ordersApi = (source: string) => [
  'timeline',
  'orders-api',
  '--case',
  'cases/TL',
  '--source',
  source,
  '--role',
  'orders-api-role',
]

beforeAll(async () => {
  cwd = await tempDir()
  trail = join(cwd, 'trail')
  await writeTrailFiles(trail, files)
  await initCase('TL', { cwd })
})

const ids = async (file: string) =>
  new Set(
    (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id),
  )

describe('fir timeline (built CLI)', () => {
  it('builds a function-scoped timeline from a trail folder with worker threads; human output is escaped', async () => {
    const r = await runFir([...ordersApi(trail), ...window], {
      cwd,
      endpoint: moto.endpoint(),
      env: { FIR_PROGRESS: 'lines' },
    })
    expect(r.code, r.stderr).toBe(0)
    // progress on stderr: files done / total, events/s
    expect(r.stderr).toMatch(
      new RegExp(
        `timeline: ${files.length}/${files.length} files, \\d+ events read, \\d+ MB/s, \\d+ events/s`,
      ),
    )
    expect(r.stdout).toContain('Timeline of orders-api')
    expect(r.stdout).toMatch(/findings\s+\d+ \(.*high/)
    expect(r.stdout).not.toContain('\u001b')
    expect(r.stdout).not.toContain('\u0007')
    expect(r.stdout).toContain('user/\\e]0;evil\\x07x')
    const got = await ids(join(cwd, 'cases/TL/timeline/events.jsonl'))
    expect(got).toEqual(new Set(corpus.related.keys()))
    const json = await runFir([...ordersApi(trail), ...window, '--json'], { cwd, endpoint: moto.endpoint() })
    expect(json.code).toBe(0)
    expect(json.json.status).toBe(0)
    const s = json.json.result
    expect(s.throughput.threads).toBeGreaterThanOrEqual(1)
    expect(s.files.total).toBe(files.length)
    expect(s.files.prefiltered).toBeGreaterThan(files.length / 2)
    expect(s.events.stored).toBe(corpus.related.size)
    expect(s.function).toMatchObject({ name: 'orders-api', roleSource: 'flag' })
    // re-runs replace the files atomically and the case still verifies
    expect(
      (await runFir(['case', 'verify', '--case', 'cases/TL'], { cwd, endpoint: moto.endpoint() })).code,
    ).toBe(0)
  })

  it('runs an account-wide hunt through the workers with the rule pack', async () => {
    const r = await runFir(['timeline', '--case', 'cases/TL', '--source', trail, ...window, '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.result.events.stored).toBe(corpus.records.length)
    expect(r.json.result.findings.total).toBeGreaterThan(0)
    expect(r.json.result.function).toBeNull()
  })

  it('exports to a file (csv) or streams to stdout (timesketch) with the summary on stderr', async () => {
    const base = [...ordersApi(trail), ...window]
    // The export goes to the responder's own folder, whose mode stays as it was.
    await chmod(cwd, 0o755)
    const csv = await runFir([...base, '--format', 'csv', '--out', join(cwd, 'out.csv')], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(csv.code).toBe(0)
    expect((await stat(cwd)).mode & 0o777).toBe(0o755)
    const text = await readFile(join(cwd, 'out.csv'), 'utf8')
    expect(text.split('\r\n')[0]).toMatch(/^"time","id","name"/)
    expect(text.split('\r\n').length - 2).toBe(corpus.related.size)
    expect(text).not.toMatch(/(^|,)"[=+@-]/m)
    const ts = await runFir([...base, '--format', 'timesketch'], { cwd, endpoint: moto.endpoint() })
    expect(ts.code).toBe(0)
    const lines = ts.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.length).toBe(corpus.related.size)
    expect(lines[0]).toHaveProperty('message')
    expect(lines[0]).toHaveProperty('datetime')
    expect(lines[0].timestamp_desc).toBe('Event Time')
    expect(ts.stderr).toContain('Timeline of orders-api')
  })

  it('reads a trail bucket (moto S3), listing only the window’s days and files', async () => {
    // A smaller bucket: two days, two regions, hourly files (uploading is the slow part).
    const corpus = generateCorpus({
      seed: 33,
      records: 1500,
      start,
      end: new Date('2025-03-03T00:00:00Z'),
      target,
      related: 60,
      regions: ['eu-west-1', 'us-east-1'],
    })
    const files = packTrailFiles(corpus.records, {
      account: corpus.account,
      windowMs: 3_600_000,
      maxPerFile: 100,
      orgId: 'o-abcdefghij',
    })
    const s3 = new S3Client({
      endpoint: moto.endpoint(),
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    })
    await s3.send(new CreateBucketCommand({ Bucket: 'org-trail' }))
    await Promise.all(
      files.map((f) =>
        s3.send(new PutObjectCommand({ Bucket: 'org-trail', Key: `logs/${f.key}`, Body: f.body })),
      ),
    )
    const r = await runFir(
      [
        ...ordersApi('s3://org-trail/logs'),
        '--since',
        '2025-03-01T06:00:00Z',
        '--until',
        '2025-03-01T12:00:00Z',
        '--json',
      ],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(r.code, r.stderr).toBe(0)
    const s = r.json.result
    const src = s.sources.find((x: { kind: string }) => x.kind === 's3')
    expect(src.outsideWindow).toBeGreaterThan(0)
    // only the first day was listed (and the files of its hours fetched)
    expect(src.listed).toBeLessThan(files.length * 0.6)
    expect(src.files).toBeLessThan(files.length / 3)
    const want = corpus.records
      .filter((x) => corpus.related.has(x.eventID))
      .filter((x) => x.eventTime >= '2025-03-01T06:00:00Z' && x.eventTime <= '2025-03-01T12:00:00Z')
      .map((x) => x.eventID)
    expect(await ids(join(cwd, 'cases/TL/timeline/events.jsonl'))).toEqual(new Set(want))
    expect(s.events.stored).toBe(want.length)
    expect(
      JSON.parse(
        await readFile(join(cwd, 'cases/TL/timeline/events.jsonl'), 'utf8').then((t) => t.split('\n')[0]!),
      ).origin,
    ).toBe('s3')
  })

  /** A function-scoped timeline from the api source alone (the LookupEvents stand-in), eu-west-1. */
  const apiRun = ordersApi('api')
  apiRun.push('--region', 'eu-west-1', '--since', '2d')
  /** Records of the last day (LookupEvents serves 90 days back from now), some related to the target. */
  const lastDayCorpus = (seed: number, records: number, related: number, regions: string[]) =>
    generateCorpus({
      seed,
      records,
      start: new Date(Date.now() - 86_400_000),
      end: new Date(Date.now() - 60_000),
      target,
      related,
      regions,
    })

  it('exits 4 with the gaps when a LookupEvents region is denied, and keeps what it got', async () => {
    const recent = lastDayCorpus(32, 300, 40, ['eu-west-1', 'us-east-1'])
    const server = await startLookupEvents(recent.records, {
      rate: 50,
      burst: 50,
      deniedRegions: ['us-east-1'],
    })
    try {
      const r = await runFir([...apiRun, '--json'], {
        cwd,
        endpoint: moto.endpoint(),
        env: { AWS_ENDPOINT_URL_CLOUDTRAIL: server.endpoint, FIR_LOOKUP_RATE: '40' },
      })
      expect(r.code, r.stderr).toBe(4)
      expect(r.json.status).toBe(4)
      expect(r.json.gaps.length).toBeGreaterThan(0)
      expect(r.json.gaps[0]).toMatchObject({ call: 'cloudtrail:LookupEvents' })
      expect(r.json.result.events.stored).toBeGreaterThan(0)
      expect(r.json.result.outputs.raw).toMatch(/^timeline\/raw\//)
    } finally {
      await server.stop()
    }
  })

  it('shows each LookupEvents retry as progress, so a wait on a failing endpoint is never silent', async () => {
    const recent = lastDayCorpus(33, 120, 20, ['eu-west-1'])
    const server = await startLookupEvents(recent.records, {
      rate: 50,
      burst: 50,
      faults: { serverErrorRate: 0.5, seed: 7 },
    })
    try {
      const r = await runFir(apiRun, {
        cwd,
        endpoint: moto.endpoint(),
        env: { AWS_ENDPOINT_URL_CLOUDTRAIL: server.endpoint, FIR_LOOKUP_RATE: '40', FIR_PROGRESS: 'lines' },
      })
      expect([0, 4], r.stderr).toContain(r.code)
      expect(r.stderr).toMatch(
        /^timeline: LookupEvents in eu-west-1 \(\w+=[^)]+\): service-error: .+; retry 1 of 8 in \d+\.\d s$/m,
      )
    } finally {
      await server.stop()
    }
  })

  it('stores the whole timeline when the export reader closes stdout early (| head)', async () => {
    const args = ['timeline', '--case', 'cases/TL', '--source', trail, '--format', 'jsonl', ...window]
    const r = await runFir(args, {
      cwd,
      endpoint: moto.endpoint(),
      // The reader takes the first chunk and goes away, as `| head -1` does.
      onSpawn: (child) => child.stdout!.once('data', () => child.stdout!.destroy()),
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('warning: the export stopped where its reader closed stdout')
    expect(r.stderr).not.toContain('unexpected error')
    const stored = (await readFile(join(cwd, 'cases/TL/timeline/events.jsonl'), 'utf8')).trim().split('\n')
    expect(stored.length).toBe(corpus.records.length)
  })

  it('reads a gzip trail piped on stdin (--source -, that is /dev/stdin), stdin being a socket as Node.js hands it', async () => {
    const related = corpus.records.filter((r) => corpus.related.has(r.eventID))
    const r = await runFir(
      [...ordersApi('-'), ...window, '--json'],
      // runFir gives stdin as a socket pair: it cannot be opened by name (ENXIO), and a file read of
      // it fails with EAGAIN when the writer is slower than fir (it did, about one run in three).
      { cwd, endpoint: moto.endpoint(), input: gzipSync(JSON.stringify({ Records: corpus.records })) },
    )
    expect(r.code, r.stdout).toBe(0)
    expect(r.json.result.files.refused, JSON.stringify(r.json.result.problemFiles)).toBe(0)
    expect(r.json.result.events.stored).toBe(related.length)
    expect(r.json.result.sources.map((s: { name: string }) => s.name)).toEqual(['/dev/stdin'])
  })

  it('interrupted while reading a pipe, removes the copy it was making and the run folder it made for it', async () => {
    const fifo = join(cwd, 'slow.fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    // A writer that sends part of a trail and keeps the pipe open (a slow `zcat` upstream).
    const writer = createWriteStream(fifo)
    writer.write(JSON.stringify({ Records: corpus.records.slice(0, 50) }).slice(0, 4000))
    const raw = join(cwd, 'cases/TL/timeline/raw')
    const before = new Set(await readdir(raw).catch(() => [] as string[]))
    let child: import('node:child_process').ChildProcess | undefined
    const running = runFir(['timeline', '--case', 'cases/TL', '--source', fifo, ...window], {
      cwd,
      endpoint: moto.endpoint(),
      onSpawn: (c) => {
        child = c
      },
    })
    const copying = async () => {
      for (const run of await readdir(raw).catch(() => [] as string[])) {
        if (before.has(run)) continue
        if ((await readdir(join(raw, run))).some((f) => f.endsWith('.part'))) return run
      }
      return undefined
    }
    let run: string | undefined
    for (let i = 0; i < 200 && !(run = await copying()); i++) await sleep(50)
    expect(run).toBeDefined()
    child!.kill('SIGINT')
    const r = await running
    writer.destroy()
    expect(r.signal).toBe('SIGINT')
    expect(r.stderr).toContain(`removed cases/TL/timeline/raw/${run}/piped-1-`)
    // Before: an empty timeline/raw/<run>/ was left behind.
    expect(r.stderr).toContain(`removed cases/TL/timeline/raw/${run}/;`)
    expect(new Set(await readdir(raw))).toEqual(before)
  })

  it('refuses --source - when stdin is a terminal, instead of waiting for keystrokes', async () => {
    // A pseudo-terminal on stdin, stdout and stderr (python3's pty, as moto needs python3 anyway).
    const r = spawnSync(
      'python3',
      [
        '-c',
        'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))',
        process.execPath,
        BIN,
        'timeline',
        '--case',
        'cases/TL',
        '--source',
        '-',
      ],
      {
        cwd,
        encoding: 'utf8',
        timeout: 30_000,
        input: '',
        env: testEnv(moto.endpoint()),
      },
    )
    expect(r.signal).toBeNull()
    expect(r.status).toBe(2)
    expect(r.stdout).toContain('is this terminal, not a pipe')
    expect(r.stdout).toContain('zcat trail.json.gz | fir timeline … --source -')
  })

  it('redacts a secret the case holds wherever a timeline run shows or writes it (exports, store, stdout)', async () => {
    // A case whose snapshot holds an environment secret, then CloudTrail records that carry it.
    const sample = await buildSampleCase({
      parent: cwd,
      id: 'TL-SECRET',
      timeline: false,
      contain: false,
      notes: false,
    })
    const record = {
      ...corpus.records.find((r) => r.eventName === 'UpdateFunctionCode20150331v2')!,
      eventID: 'leaky-1',
      // The sample case's account and region: its snapshot tells the function's, which relatedness
      // compares (a bare name in another region's record is that region's function).
      recipientAccountId: ACCOUNT,
      awsRegion: REGION,
      userAgent: `curl ${sample.secretValue}`,
      requestParameters: { functionName: 'orders-api', description: `pw ${sample.secretValue}` },
    }
    const file = join(cwd, 'leaky.json')
    await writeFile(file, JSON.stringify({ Records: [record] }))
    const caseArgs = ['--case', `cases/${sample.id}`, '--source', file, ...window]
    const runs = [
      await runFir(
        [
          'timeline',
          'orders-api',
          '--role',
          'orders-api-role',
          ...caseArgs,
          '--format',
          'csv',
          '--out',
          join(cwd, 'leaky.csv'),
        ],
        { cwd, endpoint: moto.endpoint() },
      ),
      await runFir(['timeline', ...caseArgs, '--format', 'jsonl', '--raw'], {
        cwd,
        endpoint: moto.endpoint(),
      }),
      await runFir(['timeline', ...caseArgs, '--json'], { cwd, endpoint: moto.endpoint() }),
    ]
    for (const r of runs) expect(r.code, r.stderr).toBe(0)
    const written = [
      await readFile(join(cwd, 'leaky.csv'), 'utf8'),
      await readFile(join(sample.dir, 'timeline', 'events.jsonl'), 'utf8'),
      ...runs.flatMap((r) => [r.stdout, r.stderr]),
    ]
    for (const text of written) expect(text).not.toContain(sample.secretValue)
    expect(written[0]).toContain(sample.secretRedacted)
    expect(runs[1]!.stdout).toContain(sample.secretRedacted)
  })

  it("a secret chosen to look like JSON or like a caller's address cannot break or empty the stored timeline", async () => {
    // An intruder who can set the function's environment picks what the case takes for secrets.
    // Before: every stored line became invalid JSON (`","region":` matched the line's own syntax;
    // the report then read no event), and DB_PASSWORD=<their address> took it out of every
    // sourceIPAddress.
    const sample = await buildSampleCase({
      parent: cwd,
      id: 'TL-POISON',
      timeline: false,
      contain: false,
      notes: false,
      extraEnvironment: {
        APP_SECRET: '","region":',
        DB_PASS: '198.51.100.99',
        API_TOKEN: 'victim-role',
      },
    })
    const base = corpus.records.find((r) => r.eventName === 'UpdateFunctionCode20150331v2')!
    const records = [
      {
        ...base,
        eventID: 'poison-1',
        recipientAccountId: ACCOUNT,
        awsRegion: REGION,
        sourceIPAddress: '198.51.100.99',
        userIdentity: {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${ACCOUNT}:assumed-role/victim-role/orders-api`,
          accountId: ACCOUNT,
        },
        requestParameters: { functionName: 'orders-api', description: 'a","region":b' },
      },
      { ...base, eventID: 'poison-2', recipientAccountId: ACCOUNT, awsRegion: REGION },
    ]
    const file = join(cwd, 'poison.json')
    await writeFile(file, JSON.stringify({ Records: records }))
    const out = join(cwd, 'poison.jsonl')
    const r = await runFir(
      [
        'timeline',
        '--case',
        `cases/${sample.id}`,
        '--source',
        file,
        ...window,
        '--format',
        'jsonl',
        '--out',
        out,
      ],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(r.code, r.stderr).toBe(0)
    for (const text of [
      await readFile(join(sample.dir, 'timeline', 'events.jsonl'), 'utf8'),
      await readFile(out, 'utf8'),
    ]) {
      const events = text
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              id: string
              region: string
              sourceIp: string
              requestParameters: { description?: string }
            },
        )
      expect(events.map((e) => e.id).sort()).toEqual(['poison-1', 'poison-2'])
      const poisoned = events.find((e) => e.id === 'poison-1')!
      expect(poisoned.region).toBe(REGION)
      expect(poisoned.sourceIp).toBe('198.51.100.99')
      expect(poisoned.requestParameters.description).toMatch(/^a‹redacted len=11 sha256:[0-9a-f]{8}›b$/)
      expect(text).not.toContain('victim-role')
    }
    // The role name is redacted in the caller's ARN too, and the responder is told why it may hide a caller.
    expect(r.stderr).toMatch(
      /1 event \(poison-1\) has a value this case holds as a secret in its caller's identity or resources/,
    )
    const report = await runFir(['report', '--case', `cases/${sample.id}`], { cwd })
    expect(report.code, report.stderr).toBe(0)
    const md = await readFile(join(sample.dir, 'reports', 'report.md'), 'utf8')
    expect(md).not.toMatch(/not events and were skipped/)
    expect(md).toContain('198.51.100.99')
  })

  it('a line break in a conflicting eventID is escaped in the warning, never printed as a line of its own', async () => {
    const base = corpus.records.find((r) => r.eventName === 'UpdateFunctionCode20150331v2')!
    const id = 'id\u001b[2J\nwarning: FAKE all clear\u202e'
    const records = [
      { ...base, eventID: id },
      { ...base, eventID: id, eventName: 'GetFunction' },
    ]
    const file = join(cwd, 'conflicting-ids.json')
    await writeFile(file, JSON.stringify({ Records: records }))
    const r = await runFir(['timeline', '--case', 'cases/TL', '--source', file, ...window], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(
      /shares a time and eventID with another record but not its content \(id\\e\[2J\\nwarning: FAKE/,
    )
    expect(r.stderr.split('\n').some((l) => l.startsWith('warning: FAKE'))).toBe(false)
    expect(r.stderr).not.toContain('\u001b')
  })

  it("another account's ARN never borrows this account's snapshot and role, and is refused where the caller is known", async () => {
    // The case holds a snapshot of orders-api in ACCOUNT, with its role orders-api-role.
    const sample = await buildSampleCase({
      parent: cwd,
      id: 'TL-ACCOUNT',
      timeline: false,
      contain: false,
      notes: false,
    })
    const roleCall = {
      eventVersion: '1.08',
      eventID: 'role-call-1',
      eventTime: '2025-03-01T10:00:00Z',
      eventSource: 'secretsmanager.amazonaws.com',
      eventName: 'GetSecretValue',
      awsRegion: REGION,
      recipientAccountId: ACCOUNT,
      sourceIPAddress: '203.0.113.9',
      userIdentity: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/orders-api-role/i-session`,
        accountId: ACCOUNT,
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            arn: `arn:aws:iam::${ACCOUNT}:role/orders-api-role`,
            userName: 'orders-api-role',
          },
        },
      },
      requestParameters: { secretId: 'db' },
    }
    const file = join(cwd, 'role-call.json')
    await writeFile(file, JSON.stringify({ Records: [roleCall] }))
    const other = `arn:aws:lambda:${REGION}:999999999999:function:orders-api`
    const run = (source: string, fn = other) =>
      runFir(['timeline', fn, '--case', `cases/${sample.id}`, '--source', source, ...window, '--json'], {
        cwd,
        endpoint: moto.endpoint(),
      })
    // The snapshot's own function: its role's call is kept.
    const own = await run(file, 'orders-api')
    expect(own.json.result.function).toMatchObject({ account: ACCOUNT, roleSource: 'snapshot' })
    expect(own.json.result.events.stored).toBe(1)
    // Files only: no AWS call, so the caller is unknown; the snapshot is not this function's.
    const r = await run(file)
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.result.function).toMatchObject({
      arn: other,
      account: '999999999999',
      roles: [],
      roleSource: 'none',
      snapshotSet: null,
    })
    expect(r.json.result.events.stored).toBe(0)
    expect(r.json.warnings.join('\n')).toContain(
      'no snapshot of orders-api (account 999999999999) in this case and no --role',
    )
    // The api source: the caller (moto's account) is known, and it is not the ARN's.
    const api = await run('api')
    expect(api.code, api.stderr).toBe(2)
    expect(api.json.error.message).toBe(
      `unable to act on ${other}: it is in account 999999999999, but the caller arn:aws:sts::${ACCOUNT}:user/moto is in account ${ACCOUNT}`,
    )
    expect(api.json.error.actions[0]).toContain('--role-arn arn:aws:iam::999999999999:role/')
  })

  it('exits 2 when every input was refused (nothing the run was given could be read), naming each and why', async () => {
    await initCase('TL-REFUSED', { cwd })
    const run = (sources: string[], input?: string) =>
      runFir(
        [
          'timeline',
          'orders-api',
          '--case',
          'cases/TL-REFUSED',
          '--role',
          'orders-api-role',
          ...sources.flatMap((s) => ['--source', s]),
          '--json',
        ],
        { cwd, endpoint: moto.endpoint(), ...(input !== undefined ? { input } : {}) },
      )
    const piped = await run(['-'], 'not json\n')
    expect(piped.code, piped.stderr).toBe(2)
    expect(piped.json.status).toBe(2)
    expect(piped.json.error.message).toBe(
      'unable to build the timeline: every input was refused (1 file): /dev/stdin: invalid-json: not valid JSON: it does not start with { or [',
    )
    expect(piped.json.error.actions).toEqual([
      'name CloudTrail logs: trail files (.json, .json.gz: {"Records":[…]}), LookupEvents output ({"Events":[…]}), arrays of records or JSON Lines',
      'nothing was stored: the case has no timeline',
    ])
    expect(piped.json.result.problemFiles).toEqual([
      {
        file: '/dev/stdin',
        skipped: { 'invalid-json': 1 },
        refused: { reason: 'invalid-json', message: 'not valid JSON: it does not start with { or [' },
      },
    ])
    const empty = await runFir(
      [
        'timeline',
        'orders-api',
        '--case',
        'cases/TL-REFUSED',
        '--role',
        'orders-api-role',
        '--source',
        '/dev/null',
      ],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(empty.code).toBe(2)
    expect(empty.stdout).toBe('')
    expect(empty.stderr).toContain(
      'error: unable to build the timeline: every input was refused (1 file): /dev/null: invalid-json: the file is empty\n',
    )
    expect(await readdir(join(cwd, 'cases/TL-REFUSED/timeline')).catch(() => [])).not.toContain(
      'events.jsonl',
    )
    // A run where some input was read is unchanged: a log with nothing of the function in it (ruled
    // out by the pre-filter) beside the empty file.
    const other = join(cwd, 'other-function.json')
    await writeFile(
      other,
      JSON.stringify({
        Records: [
          {
            eventVersion: '1.08',
            eventID: 'other-1',
            eventTime: '2025-03-01T10:00:00Z',
            eventSource: 's3.amazonaws.com',
            eventName: 'GetObject',
            awsRegion: REGION,
            recipientAccountId: ACCOUNT,
          },
        ],
      }),
    )
    const mixed = await run([other, '/dev/null'])
    expect(mixed.code, mixed.stderr).toBe(0)
    expect(mixed.json.result.files).toMatchObject({ prefiltered: 1, refused: 1 })
    expect(mixed.json.result.notStored).toBeUndefined()
  })

  it('reads local files in emulator-only mode with no endpoint set (no AWS call), and refuses what would call AWS', async () => {
    // No endpoint option: no AWS_ENDPOINT_URL, FIR_EMULATOR_ONLY=1 as in every test.
    const file = join(cwd, 'one-call.json')
    await writeFile(
      file,
      JSON.stringify({
        Records: [
          {
            eventVersion: '1.08',
            eventID: 'one-call-1',
            eventTime: '2025-03-01T10:00:00Z',
            eventSource: 'lambda.amazonaws.com',
            eventName: 'UpdateFunctionCode20150331v2',
            awsRegion: 'eu-west-1',
            recipientAccountId: corpus.account,
            requestParameters: { functionName: 'orders-api' },
          },
        ],
      }),
    )
    const local = await runFir([...ordersApi(file), ...window, '--json'], { cwd })
    expect(local.code, local.stderr).toBe(0)
    expect(local.json.result.events.stored).toBe(1)
    expect(local.json.result.api).toBeNull()
    // The api source would call AWS: refused as bad usage (exit 2) at its first call, not a gap.
    const api = await runFir([...ordersApi('api'), '--since', '1h', '--json'], { cwd })
    expect(api.code, api.stderr).toBe(2)
    expect(api.json.error).toMatchObject({
      code: 'emulator-safety',
      message:
        // The first call: the caller's account, for the ARN of the role given by name.
        'unable to send a sts request to sts.us-east-1.amazonaws.com: fir is in emulator-only mode and no emulator endpoint is set',
    })
  })

  it('refuses bad usage with exit 2', async () => {
    const cases: string[][] = [
      ['timeline', '--case', 'cases/TL', '--source', join(cwd, 'nope')],
      ['timeline', '--case', 'cases/TL', '--source', trail, '--out', 'x.csv'],
      ['timeline', 'not a function!', '--case', 'cases/TL', '--source', trail, '--since', 'last week'],
    ]
    for (const args of cases) {
      const r = await runFir([...args, '--json'], { cwd, endpoint: moto.endpoint() })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.json.error.message).toMatch(/^unable to /)
    }
    // An export that cannot be written is refused before anything is read, naming --out.
    const unwritable: [string, string][] = [
      [cwd, `unable to write --out ${cwd}: it is a folder`],
      [
        '/proc/fir-export.csv',
        'unable to write --out /proc/fir-export.csv: unable to create a file in /proc (ENOENT)',
      ],
      // A file fir keeps in the case: the export would have replaced the stored timeline.
      [
        join(cwd, 'cases/TL/timeline/events.jsonl'),
        `unable to write --out ${join(cwd, 'cases/TL/timeline/events.jsonl')}: fir keeps its own timeline/events.jsonl there`,
      ],
      [
        join(cwd, 'cases/TL/journal.jsonl'),
        `unable to write --out ${join(cwd, 'cases/TL/journal.jsonl')}: fir keeps its own journal.jsonl there`,
      ],
      // The case's report: before, a CSV export replaced it and was recorded in its place.
      [
        join(cwd, 'cases/TL/reports/report.md'),
        `unable to write --out ${join(cwd, 'cases/TL/reports/report.md')}: fir keeps its own reports/report.md there`,
      ],
    ]
    const events = join(cwd, 'cases/TL/timeline/events.jsonl')
    // (as the earlier tests left it, or absent when this test runs alone)
    const mtime = () =>
      stat(events).then(
        (s) => s.mtimeMs,
        () => null,
      )
    const written = await mtime()
    for (const [out, message] of unwritable) {
      const args = ['timeline', '--case', 'cases/TL', '--source', trail, '--format', 'csv', '--out', out]
      const r = await runFir([...args, '--json', ...window], { cwd, endpoint: moto.endpoint() })
      expect(r.code, out).toBe(2)
      expect(r.json.error.message).toBe(message)
    }
    expect(await mtime()).toBe(written) // the case's timeline was not touched
    // A hunt refused for a bad --aws-ip-ranges file left its spool folder in the case, which the
    // next run reported as left by an interrupted run.
    await writeFile(join(cwd, 'bad-ranges.json'), '{bad')
    const hunt = ['timeline', '--case', 'cases/TL', '--source', trail, ...window]
    const r = await runFir([...hunt, '--aws-ip-ranges', join(cwd, 'bad-ranges.json'), '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code).toBe(2)
    expect(r.json.error.message).toMatch(/^unable to read --aws-ip-ranges/)
    expect((await readdir(join(cwd, 'cases/TL/timeline'))).filter((f) => f.startsWith('.spool'))).toEqual([])
    // A hunt's threads load the rules: a missing --rules folder there was a bug (exit 1, a stack
    // trace), and a folder without a rule file ran silently without the rules asked for. An age
    // past what a date holds read every file, then ended on RangeError (exit 1).
    const noRules = join(cwd, 'rules-without-yml')
    await mkdir(noRules, { recursive: true })
    await writeFile(join(noRules, 'README.md'), '# rules go here\n')
    const refusals: [string[], string, RegExp][] = [
      [
        ['--rules', join(cwd, 'no-such-rules')],
        'not-found',
        /^unable to load rules from .*no-such-rules: no such file or folder$/,
      ],
      [['--rules', noRules], 'usage', /: it holds no Sigma rule file \(\.yml or \.yaml\)$/],
      [
        ['--since', '200000000d', '--until', '2025-03-02T00:00:00Z'],
        'usage',
        /^unable to read --since "200000000d": it reaches back past/,
      ],
    ]
    for (const [extra, code, message] of refusals) {
      const hunted = await runFir(['timeline', '--case', 'cases/TL', '--source', trail, ...extra, '--json'], {
        cwd,
        endpoint: moto.endpoint(),
        env: { FIR_TIMELINE_WORKERS: '2' },
      })
      expect(hunted.code, extra.join(' ')).toBe(2)
      expect(hunted.json.error.code, extra.join(' ')).toBe(code)
      expect(hunted.json.error.message, extra.join(' ')).toMatch(message)
      expect(hunted.json.error.actions[0], extra.join(' ')).toMatch(/^pass --/)
    }
  })

  it('a missing --aws-ip-ranges file is a usage error naming the flag, the file and where to get it, not a Node error', async () => {
    const hunt = ['timeline', '--case', 'cases/TL', '--source', trail, ...window]
    const r = await runFir([...hunt, '--aws-ip-ranges', 'nope.json', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code).toBe(2)
    expect(r.json.error.message).toBe('unable to read --aws-ip-ranges nope.json: no such file')
    expect(r.json.error.actions[0]).toContain('https://ip-ranges.amazonaws.com/ip-ranges.json')
    const folder = await runFir([...hunt, '--aws-ip-ranges', cwd], { cwd, endpoint: moto.endpoint() })
    expect(folder.code).toBe(2)
    expect(folder.stderr).toContain(
      `error: unable to read --aws-ip-ranges ${cwd}: it is a folder, not a file\n`,
    )
    expect(r.stdout + folder.stderr).not.toMatch(/ENOENT|EISDIR|illegal operation/)
  })
})
