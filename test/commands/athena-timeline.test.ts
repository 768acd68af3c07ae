import type { ChildProcess } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { AthenaClient, GetQueryExecutionCommand, ListQueryExecutionsCommand } from '@aws-sdk/client-athena'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { beforeAll, describe, expect, it } from 'vitest'
import { motoAthenaResults } from '../core/athena/athena-rows.js'
import { lex } from '../core/athena/sql-lexer.js'
import { initCase, REPO_ROOT, runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { FaultProxy } from '../support/fault-proxy.js'

const moto = useMoto()
const DUMMY = { accessKeyId: 'testing', secretAccessKey: 'testing' }
const FN = 'arn:aws:lambda:eu-west-1:111122223333:function:payments-webhook'
const ROLE = 'arn:aws:iam::111122223333:role/service/pay-role'
const WINDOW = ['--since', '2026-11-25T00:00:00Z', '--until', '2026-11-27T00:00:00Z']

type Rec = Record<string, unknown>

async function newCase(id: string): Promise<string> {
  return initCase(id, { dir: join(await tempDir(), id) })
}

async function lines(path: string): Promise<Rec[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

function athena(): AthenaClient {
  return new AthenaClient({ endpoint: moto.endpoint(), region: 'us-east-1', credentials: DUMMY })
}

let records: Rec[] = []

describe('fir timeline --engine athena|lake (built CLI; Athena results set through moto)', () => {
  beforeAll(async () => {
    records = JSON.parse(await readFile(join(REPO_ROOT, 'test/fixtures/athena/records.json'), 'utf8')).Records
    const s3 = new S3Client({
      endpoint: moto.endpoint(),
      region: 'us-east-1',
      credentials: DUMMY,
      forcePathStyle: true,
    })
    await s3.send(new CreateBucketCommand({ Bucket: 'athena-results' }))
  })

  it('normalises and flags the Athena rows exactly as the local engine does the same records', async () => {
    // The local engine, reading the records from a trail-shaped file.
    const localCase = await newCase('local-1')
    const file = join(await tempDir(), 'trail.json')
    await writeFile(file, JSON.stringify({ Records: records }))
    const local = await runFir(
      ['timeline', FN, '--role', ROLE, '--source', file, ...WINDOW, '--case', localCase, '--json'],
      {
        endpoint: moto.endpoint(),
      },
    )
    expect(local.stderr).not.toMatch(/\n\s+at /)
    expect(local.code).toBe(0)

    // The Athena engine: moto answers the query with the same records as Athena rows.
    const res = await fetch(`${moto.endpoint()}/moto-api/static/athena/query-results`, {
      method: 'POST',
      body: JSON.stringify(motoAthenaResults(records)),
    })
    expect(res.status).toBe(201)
    const athenaCase = await newCase('athena-1')
    // Queries this moto server ran for other tests (in any order) are not this run's.
    const before = new Set((await athena().send(new ListQueryExecutionsCommand({}))).QueryExecutionIds ?? [])
    const r = await runFir(
      [
        'timeline',
        FN,
        '--role',
        ROLE,
        '--engine',
        'athena',
        '--athena-table',
        'cloudtrail.org_trail',
        '--athena-output',
        's3://athena-results/fir/',
        ...WINDOW,
        '--case',
        athenaCase,
        '--json',
      ],
      { endpoint: moto.endpoint() },
    )
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.json?.error).toBeUndefined()
    expect(r.code).toBe(0)
    expect(r.json.result.sources).toHaveLength(1)
    expect(r.json.result.sources[0]).toMatchObject({
      kind: 'athena',
      name: 'athena:cloudtrail.org_trail',
      events: 9,
      kept: 7,
    })

    // One query, filtered on the projected partitions, values bound as parameters.
    const ids = ((await athena().send(new ListQueryExecutionsCommand({}))).QueryExecutionIds ?? []).filter(
      (id) => !before.has(id),
    )
    expect(ids).toHaveLength(1)
    const sent = (await athena().send(new GetQueryExecutionCommand({ QueryExecutionId: ids[0] })))
      .QueryExecution!
    expect(sent.Query).toMatch(
      /WHERE account IN \(\?\)\s+AND region IN \(\?, \?\)\s+AND "timestamp" BETWEEN \? AND \?/,
    )
    expect(sent.ExecutionParameters!.slice(0, 5)).toEqual([
      "'111122223333'",
      "'eu-west-1'",
      "'us-east-1'",
      "'2026/11/24'",
      "'2026/11/28'",
    ])
    expect(sent.ExecutionParameters).toContain("'payments-webhook'")
    expect(sent.Query).not.toContain('payments-webhook')
    expect(lex(sent.Query!).filter((t) => t.kind === 'param')).toHaveLength(sent.ExecutionParameters!.length)

    // Same events, same order, same normalised fields and findings; only origin and raw differ.
    const a = await lines(join(localCase, 'timeline/events.jsonl'))
    const b = await lines(join(athenaCase, 'timeline/events.jsonl'))
    expect(b.map((e) => e.id)).toEqual(a.map((e) => e.id))
    expect(a.map((e) => e.origin)).toEqual(a.map(() => 'file'))
    expect(b.map((e) => e.origin)).toEqual(b.map(() => 'athena'))
    const strip = ({ origin: _o, raw: _r, ...rest }: Rec) => rest
    expect(b.map(strip)).toEqual(a.map(strip))
    const flagged = a.filter((e) => (e.findings as unknown[]).length > 0)
    expect(flagged.length).toBeGreaterThanOrEqual(3)
    const fa = JSON.parse(await readFile(join(localCase, 'timeline/findings.json'), 'utf8'))
    const fb = JSON.parse(await readFile(join(athenaCase, 'timeline/findings.json'), 'utf8'))
    expect(fb).toEqual(fa)

    // Journaled with the query id and bytes scanned; raw result pages kept and recorded.
    const journal = await lines(join(athenaCase, 'journal.jsonl'))
    const q = journal.find((e) => e.action === 'timeline.query') as { params: Rec; target: string }
    expect(q.target).toBe('athena:cloudtrail.org_trail')
    expect(q.params.queryId).toBe(ids[0])
    expect(q.params.bytesScanned).toBe(0)
    expect(q.params.sql).toBe(sent.Query)
    // Who ran the billed query (DESIGN §2), though the function's ARN named the account and no
    // other call needed the caller. Before: actor.arn null on every timeline.query* entry.
    const queryEntries = journal.filter((e) => String(e.action).startsWith('timeline.query'))
    expect(queryEntries.length).toBeGreaterThanOrEqual(2)
    for (const e of queryEntries)
      expect((e.actor as Rec).arn, String(e.action)).toEqual(
        expect.stringMatching(/^arn:aws:(sts|iam)::123456789012:/),
      )
    expect(
      journal.some(
        (e) => e.action === 'case.artifact' && String((e.params as Rec).path).includes('-athena/'),
      ),
    ).toBe(true)
    const verify = await runFir(['case', 'verify', '--case', athenaCase, '--json'])
    expect(verify.code).toBe(0)

    const human = await runFir(
      [
        'timeline',
        FN,
        '--role',
        ROLE,
        '--engine',
        'athena',
        '--athena-table',
        'cloudtrail.org_trail',
        '--athena-output',
        's3://athena-results/fir/',
        ...WINDOW,
        '--case',
        athenaCase,
      ],
      { endpoint: moto.endpoint() },
    )
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/query\s+athena \S+ SUCCEEDED: 0 bytes scanned/)
  })

  it('--dry-run shows the SQL and sends no query', async () => {
    const dir = await newCase('dry-1')
    const before = (await athena().send(new ListQueryExecutionsCommand({}))).QueryExecutionIds?.length ?? 0
    const r = await runFir(
      [
        'timeline',
        FN,
        '--role',
        ROLE,
        '--engine',
        'athena',
        '--athena-table',
        'cloudtrail.org_trail',
        ...WINDOW,
        '--case',
        dir,
        '--dry-run',
      ],
      { endpoint: moto.endpoint() },
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('dry run: nothing sent')
    expect(r.stdout).toContain('FROM "cloudtrail"."org_trail"')
    expect(r.stdout).toContain("strpos(requestparameters, 'payments-webhook') > 0")
    expect(r.stdout).toContain(
      "strpos(lower(useridentity.arn), ':sts::111122223333:assumed-role/pay-role/') > 0",
    )
    const after = (await athena().send(new ListQueryExecutionsCommand({}))).QueryExecutionIds?.length ?? 0
    expect(after).toBe(before)

    const lake = await runFir(
      [
        'timeline',
        FN,
        '--role',
        ROLE,
        '--engine',
        'lake',
        '--event-data-store',
        'EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE',
        ...WINDOW,
        '--case',
        dir,
        '--dry-run',
        '--json',
      ],
      { endpoint: moto.endpoint() },
    )
    expect(lake.code).toBe(0)
    expect(lake.json.result.query.sql).toContain('FROM EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE')
    expect(lake.json.result.query.parameters).toEqual([])
  })

  it('Ctrl-C while the Athena query runs stops it on AWS and journals its start and its stop', async () => {
    const dir = await newCase('athena-interrupted')
    // The query never finishes on its own: GetQueryExecution says RUNNING until it is stopped.
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [
        {
          match: 'GetQueryExecution',
          body: (text) => text.replace(/"State":\s*"SUCCEEDED"/, '"State": "RUNNING"'),
        },
      ],
    }).start()
    try {
      let child: ChildProcess | undefined
      const running = runFir(
        [
          'timeline',
          FN,
          '--role',
          ROLE,
          '--engine',
          'athena',
          '--athena-table',
          'cloudtrail.org_trail',
          '--athena-output',
          's3://athena-results/fir/',
          ...WINDOW,
          '--case',
          dir,
        ],
        { endpoint: proxy.endpoint, onSpawn: (c) => (child = c) },
      )
      const polled = () => proxy.records.filter((r) => r.operation === 'GetQueryExecution').length
      for (let i = 0; i < 300 && polled() < 2; i++) await sleep(50)
      expect(polled()).toBeGreaterThanOrEqual(2)
      const journal = await lines(join(dir, 'journal.jsonl'))
      const [intent, start] = journal.filter((e) => e.action === 'timeline.query.start') as {
        outcome: string
        params: Rec
      }[]
      expect(start, 'the running query is in the journal').toBeDefined()
      // Journaled before it was sent (what was asked), then as soon as Athena gave it its id.
      expect(intent!.outcome).toBe('started')
      expect(intent!.params).toMatchObject({ engine: 'athena', source: 'cloudtrail.org_trail' })
      expect(intent!.params.sql).toMatch(/WHERE account IN \(\?\)/)
      expect(intent!.params.parameters).toContain("'payments-webhook'")
      expect(intent!.params.outputLocation).toBe('s3://athena-results/fir/')
      expect(start!.outcome).toBe('recorded')
      expect(start!.params.clientRequestToken).toBe(intent!.params.clientRequestToken)
      const id = start!.params.queryId as string

      child!.kill('SIGINT')
      const r = await running
      expect(r.signal).toBe('SIGINT')
      expect(r.stderr).toMatch(
        new RegExp(
          `interrupted \\(SIGINT\\): stopped Athena query ${id} \\(journaled\\); released the case lock\\n$`,
        ),
      )
      expect(proxy.records.filter((x) => x.operation === 'StopQueryExecution')).toHaveLength(1)
      const state = (await athena().send(new GetQueryExecutionCommand({ QueryExecutionId: id })))
        .QueryExecution!.Status!.State
      expect(state).toBe('CANCELLED')
      const after = await lines(join(dir, 'journal.jsonl'))
      const stops = after.filter((e) => e.action === 'timeline.query.stop')
      expect(stops.map((e) => e.outcome)).toEqual(['started', 'recorded'])
      const stop = stops[1] as Rec & { params: Rec }
      expect(stop).toMatchObject({
        target: 'athena:cloudtrail.org_trail',
        outcome: 'recorded',
        params: { queryId: id, call: 'athena:StopQueryExecution', signal: 'SIGINT' },
      })
      const verify = await runFir(['case', 'verify', '--case', dir, '--json'])
      expect(verify.code).toBe(0)
    } finally {
      await proxy.stop()
    }
  })

  it('refuses engine flags that do not fit together', async () => {
    const dir = await newCase('flags-1')
    for (const [args, msg] of [
      [['--engine', 'athena'], /--athena-table/],
      [['--engine', 'lake'], /--event-data-store/],
      [['--engine', 'lake', '--event-data-store', 'eds-1234', '--athena-table', 'a.b'], /--engine lake/],
      [['--engine', 'athena', '--athena-table', 'a.b', '--source', 'api'], /--source/],
      [['--athena-table', 'a.b'], /without --engine/],
      [['--engine', 'athena', '--athena-table', "a.b'; DROP"], /DB\.TABLE/],
    ] as const) {
      const r = await runFir(['timeline', FN, '--role', ROLE, ...args, '--case', dir, '--json'], {
        endpoint: moto.endpoint(),
      })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.json.error.message).toMatch(msg)
    }
  })
  it('an endpoint without CloudTrail Lake (moto) is a gap named by its HTTP answer (exit 4), never a parser error', async () => {
    const dir = await newCase('lake-missing-1')
    const args = [
      'timeline',
      FN,
      '--role',
      ROLE,
      '--engine',
      'lake',
      '--event-data-store',
      'EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE',
      ...WINDOW,
      '--case',
      dir,
    ]
    const r = await runFir([...args, '--json'], { endpoint: moto.endpoint() })
    expect(r.code, r.stdout + r.stderr).toBe(4)
    expect(r.json.status).toBe(4)
    // moto answers an action it lacks with its HTML 500 page.
    expect(r.json.gaps).toEqual([
      {
        what: 'CloudTrail events from CloudTrail Lake event data store EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE',
        call: 'cloudtrail:StartQuery',
        reason: 'service-error: the endpoint answered HTTP 500 with a body that is not an AWS response',
      },
    ])
    const human = await runFir(args, { endpoint: moto.endpoint() })
    expect(human.code).toBe(4)
    expect(human.stdout).toMatch(/^query +lake not started: /m)
    // (The parser's advice, and toFirError's for an answer that is not AWS's: "run again; if it
    // persists". The run's own "nothing was read … run again" warning is no parser error.)
    expect(human.stdout + human.stderr).not.toMatch(
      /SyntaxError|Deserialization|\$response|run again; if it persists/,
    )
    expect(human.stderr).toContain(
      'nothing was read: every source failed (1 gap), so the case still has no timeline and this run stored nothing',
    )
  })
})
