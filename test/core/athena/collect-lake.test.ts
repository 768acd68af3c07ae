import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { collectFromAthena, collectFromLake } from '../../../src/core/athena/collect.js'
import { buildQuery } from '../../../src/core/athena/sql.js'
import { unsettledQueryLines } from '../../../src/core/athena/unsettled.js'
import { summariseCase } from '../../../src/core/case/summary.js'
import { settleInterruptCleanups } from '../../../src/core/common/interrupt.js'
import type { FirError } from '../../../src/errors.js'
import { REPO_ROOT } from '../../support/cli.js'
import { athenaCells, dialectColumns } from './athena-rows.js'
import { testContext } from './context.js'
import { ReplayServer } from './replay-server.js'

type Rec = Record<string, unknown>

const window = { since: new Date('2026-11-25T00:00:00Z'), until: new Date('2026-11-27T00:00:00Z') }
const terms = { functionNames: ['payments-webhook'], roles: [{ name: 'pay-role', account: '111122223333' }] }
const EDS = 'arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE'

// biome-ignore lint/suspicious/noExplicitAny: fixture documents are read as plain JSON
async function json(rel: string): Promise<any> {
  return JSON.parse(await readFile(join(REPO_ROOT, rel), 'utf8'))
}

let server: ReplayServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

describe('CloudTrail Lake engine (no emulator implements Lake: a recorded response, replayed over HTTP)', () => {
  it('sends the Lake query, polls until FINISHED, pages the results and rebuilds the records', async () => {
    const rec = await json('test/fixtures/athena/lake-query-responses.json')
    let describes = 0
    server = await new ReplayServer({
      StartQuery: () => ({ body: rec.StartQuery }),
      DescribeQuery: () => ({ body: rec.DescribeQuery[Math.min(describes++, rec.DescribeQuery.length - 1)] }),
      GetQueryResults: (b) => ({ body: b.NextToken ? rec.GetQueryResults[1] : rec.GetQueryResults[0] }),
    }).start()
    const { ctx, dir } = await testContext(server.endpoint)
    const out = await collectFromLake(ctx, {
      eventDataStore: EDS,
      ...window,
      accounts: ['111122223333'],
      regions: ['eu-west-1', 'us-east-1'],
      terms,
      pollMs: 5,
    })
    const ops = server.requests.map((r) => r.operation)
    expect(ops).toEqual([
      'StartQuery',
      'DescribeQuery',
      'DescribeQuery',
      'GetQueryResults',
      'GetQueryResults',
    ])
    const sent = server.requests[0]!.body.QueryStatement as string
    expect(sent).toBe(
      buildQuery({
        dialect: 'lake',
        source: EDS,
        ...window,
        accounts: ['111122223333'],
        regions: ['eu-west-1', 'us-east-1'],
        terms,
      }).sql,
    )
    expect(sent).toContain('FROM EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE')
    expect(server.requests[4]!.body.NextToken).toBe('EXAMPLE-page-2-token')
    expect(out.query).toMatchObject({
      engine: 'lake',
      state: 'FINISHED',
      bytesScanned: 1337882624,
      rows: 8,
      pages: 2,
    })
    expect(out.query.costUsd).toBeCloseTo(0.0067, 4)

    const originals: Rec[] = (await json('test/fixtures/athena/records.json')).Records.filter(
      (r: Rec) => r.eventName !== 'ListBuckets',
    )
    expect(out.records.map((r) => r.eventID)).toEqual(originals.map((r) => r.eventID))
    const byId = new Map(out.records.map((r) => [r.eventID, r]))
    for (const o of originals) {
      const r = byId.get(o.eventID)!
      expect(r.eventTime).toBe(o.eventTime)
      expect(r.userIdentity).toEqual(o.userIdentity)
      expect(r.readOnly).toBe(o.readOnly)
      expect(r.managementEvent).toBe(true)
      expect(r.resources).toEqual(o.resources)
    }
    // Lake keeps nested request values as text in a map<string,string>; fir unwraps them, so a
    // value that was JSON text in the record (a policy document) comes back as an object. Known loss.
    const put = byId.get('11111111-0000-4000-8000-000000000007') as { requestParameters: Rec }
    expect(put.requestParameters.roleName).toBe('pay-role')
    expect(typeof put.requestParameters.policyDocument).toBe('object')
    const assume = byId.get('11111111-0000-4000-8000-000000000002') as {
      responseElements: { credentials: Rec }
    }
    expect(assume.responseElements.credentials.accessKeyId).toBe('ASIAEXAMPLELAMBDA001')

    const journal = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const entry = journal.find((e) => e.action === 'timeline.query')
    expect(entry.target).toBe('lake:EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE')
    expect(entry.params.queryId).toBe(rec.StartQuery.QueryId)
    expect(entry.params.bytesScanned).toBe(1337882624)
    expect(entry.requestIds).toContain('replay-1')
  })

  it("queries an event data store given by ARN in the ARN's region, whatever --region says", async () => {
    server = await new ReplayServer({
      StartQuery: () => ({ body: { QueryId: 'q-eu-1' } }),
      DescribeQuery: () => ({ body: { QueryId: 'q-eu-1', QueryStatus: 'FINISHED' } }),
      GetQueryResults: () => ({ body: { QueryStatus: 'FINISHED', QueryResultRows: [] } }),
    }).start()
    const { ctx } = await testContext(server.endpoint, { region: 'us-east-1' })
    const out = await collectFromLake(ctx, {
      eventDataStore: 'arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/abc-def',
      ...window,
      accounts: ['111122223333'],
      regions: ['us-east-1'],
      pollMs: 5,
    })
    expect(server.requests.map((r) => [r.operation, r.region])).toEqual([
      ['StartQuery', 'eu-west-1'],
      ['DescribeQuery', 'eu-west-1'],
      ['GetQueryResults', 'eu-west-1'],
    ])
    expect(out.query).toMatchObject({ source: 'abc-def', region: 'eu-west-1', state: 'FINISHED' })
  })

  it('an interruption while the Lake query runs cancels it (CancelQuery) and journals its start and its stop', async () => {
    let cancel: { status?: number; body: unknown } = { body: {} }
    server = await new ReplayServer({
      StartQuery: () => ({ body: { QueryId: 'q-running-1' } }),
      DescribeQuery: () => ({ body: { QueryId: 'q-running-1', QueryStatus: 'RUNNING' } }),
      CancelQuery: () => cancel,
    }).start()
    for (const outcome of ['cancelled', 'denied'] as const) {
      if (outcome === 'denied') {
        cancel = { status: 400, body: { __type: 'AccessDeniedException', message: 'not authorized' } }
      }
      const { ctx } = await testContext(server.endpoint)
      server.requests.length = 0
      // Never awaited: the run stops where it is once the query is being cancelled.
      void collectFromLake(ctx, {
        eventDataStore: EDS,
        ...window,
        accounts: ['111122223333'],
        regions: ['us-east-1'],
        pollMs: 5,
      })
      const starts = () => ctx.case.journal.all().filter((e) => e.action === 'timeline.query.start')
      for (let i = 0; i < 200 && starts().length < 2; i++) await sleep(10)
      // Journaled before it was sent (the statement), then as soon as Lake gave it its id.
      expect(starts(), 'the running query is in the journal').toMatchObject([
        {
          target: 'lake:EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE',
          outcome: 'started',
          params: { region: 'us-east-1', sql: server.requests[0]!.body.QueryStatement },
        },
        { outcome: 'recorded', params: { queryId: 'q-running-1', region: 'us-east-1' } },
      ])
      const done = await settleInterruptCleanups('SIGINT')
      expect(server.requests.filter((r) => r.operation === 'CancelQuery').map((r) => r.body)).toEqual([
        { QueryId: 'q-running-1' },
      ])
      // Journaled before the call, and its result after.
      const stops = ctx.case.journal.all().filter((e) => e.action === 'timeline.query.stop')
      expect(stops.map((e) => e.outcome)).toEqual([
        'started',
        outcome === 'cancelled' ? 'recorded' : 'failed',
      ])
      for (const stop of stops) {
        expect(stop.params).toMatchObject({
          queryId: 'q-running-1',
          call: 'cloudtrail:CancelQuery',
          signal: 'SIGINT',
        })
      }
      if (outcome === 'cancelled') {
        expect(done[0]).toBe('stopped CloudTrail Lake query q-running-1 (journaled)')
      } else {
        expect(done[0]).toMatch(
          /^unable to cancel CloudTrail Lake query q-running-1: AWS denied cloudtrail:CancelQuery .*; it may still be running: stop it with `aws cloudtrail cancel-query --event-data-store EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE --query-id q-running-1 --region us-east-1 --endpoint-url http:\/\/127\.0\.0\.1:\d+` \(journaled\)$/,
        )
      }
      // The run went no further: no more polling once the query was being cancelled.
      const polls = server.requests.filter((r) => r.operation === 'DescribeQuery').length
      await sleep(50)
      expect(server.requests.filter((r) => r.operation === 'DescribeQuery')).toHaveLength(polls)
    }
  })

  it('Ctrl-C while StartQueryExecution is out: the intent is journaled with its token first, and the query it starts is stopped', async () => {
    let answer: (() => void) | undefined
    server = await new ReplayServer({
      StartQueryExecution: () =>
        new Promise((resolve) => {
          answer = () => resolve({ body: { QueryExecutionId: 'q-late-1' } })
        }),
      StopQueryExecution: () => ({ body: {} }),
    }).start()
    const { ctx, dir } = await testContext(server.endpoint)
    void collectFromAthena(ctx, {
      table: 'cloudtrail.logs',
      outputLocation: 's3://athena-results/fir/',
      ...window,
      accounts: ['111122223333'],
      regions: ['us-east-1'],
      pollMs: 5,
    })
    for (let i = 0; i < 200 && !answer; i++) await sleep(10)
    const sent = server.requests[0]!.body
    const intent = ctx.case.journal.all().find((e) => e.action === 'timeline.query.start')
    expect(intent, 'the query is journaled before it is sent').toMatchObject({
      outcome: 'started',
      params: { sql: sent.QueryString, clientRequestToken: sent.ClientRequestToken },
    })
    expect(sent.ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/)
    const settling = settleInterruptCleanups('SIGINT', 2000)
    await sleep(30)
    answer!() // the start returns while the interruption waits for it
    const done = await settling
    expect(done[0]).toBe('stopped Athena query q-late-1 (journaled)')
    expect(server.requests.map((r) => r.operation)).toEqual(['StartQueryExecution', 'StopQueryExecution'])
    expect(server.requests[1]!.body).toEqual({ QueryExecutionId: 'q-late-1' })
    const entries = ctx.case.journal.all().filter((e) => e.action.startsWith('timeline.query'))
    expect(entries.map((e) => [e.action, e.outcome, e.params.queryId])).toEqual([
      ['timeline.query.start', 'started', undefined],
      ['timeline.query.start', 'recorded', 'q-late-1'],
      ['timeline.query.stop', 'started', 'q-late-1'],
      ['timeline.query.stop', 'recorded', 'q-late-1'],
    ])
    expect((await summariseCase(dir)).queriesMaybeRunning).toEqual([])
  })

  it('a stop or a start AWS does not answer in time is not called done: the case names the query that may still run, and how to stop it', async () => {
    server = await new ReplayServer({
      StartQueryExecution: () => ({ body: { QueryExecutionId: 'q-stuck-1' } }),
      GetQueryExecution: () => ({
        body: { QueryExecution: { QueryExecutionId: 'q-stuck-1', Status: { State: 'RUNNING' } } },
      }),
      StopQueryExecution: () => new Promise(() => undefined), // never answered
      StartQuery: () => new Promise(() => undefined), // never answered
    }).start()
    const athena = await testContext(server.endpoint)
    void collectFromAthena(athena.ctx, {
      table: 'cloudtrail.logs',
      outputLocation: 's3://athena-results/fir/',
      ...window,
      accounts: ['111122223333'],
      regions: ['us-east-1'],
      pollMs: 5,
    })
    const polled = () => server!.requests.some((r) => r.operation === 'GetQueryExecution')
    for (let i = 0; i < 200 && !polled(); i++) await sleep(10)
    const [said] = await settleInterruptCleanups('SIGINT', 200)
    expect(said).toMatch(
      /^could not confirm that Athena query q-stuck-1 stopped \(no answer after 0\.2 s\): it may still be running; stop it with `aws athena stop-query-execution --query-execution-id q-stuck-1 --region us-east-1 --endpoint-url http:\/\/127\.0\.0\.1:\d+`$/,
    )
    // The stop was journaled before the call: the case knows it was never confirmed.
    const stops = athena.ctx.case.journal.all().filter((e) => e.action === 'timeline.query.stop')
    expect(stops.map((e) => [e.outcome, e.params.queryId])).toEqual([['started', 'q-stuck-1']])
    const [stuck, ...others] = (await summariseCase(athena.dir)).queriesMaybeRunning
    expect(others).toEqual([])
    expect(stuck).toMatchObject({
      engine: 'athena',
      source: 'cloudtrail.logs',
      queryId: 'q-stuck-1',
      command: 'aws athena stop-query-execution --query-execution-id q-stuck-1 --region us-east-1',
    })
    expect(unsettledQueryLines([stuck!])).toEqual([
      `  Athena query q-stuck-1 on cloudtrail.logs (${stuck!.at}) may still be running: fir journaled no end and no confirmed stop; stop it with aws athena stop-query-execution --query-execution-id q-stuck-1 --region us-east-1`,
    ])

    // Lake: its StartQuery never returns, so fir never learns the id (and Lake takes no token).
    const lake = await testContext(server.endpoint)
    void collectFromLake(lake.ctx, {
      eventDataStore: EDS,
      ...window,
      accounts: ['111122223333'],
      regions: ['us-east-1'],
      pollMs: 5,
    })
    const asked = () => server!.requests.some((r) => r.operation === 'StartQuery')
    for (let i = 0; i < 200 && !asked(); i++) await sleep(10)
    const [unsure] = await settleInterruptCleanups('SIGINT', 200)
    expect(unsure).toMatch(
      /^could not confirm whether the CloudTrail Lake query started \(no answer after 0\.2 s\): it may be running; find it with `aws cloudtrail list-queries --event-data-store EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE --query-status RUNNING --region us-east-1 --endpoint-url [^`]+` and stop it$/,
    )
    expect((await summariseCase(lake.dir)).queriesMaybeRunning).toMatchObject([
      {
        engine: 'lake',
        source: 'EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE',
        command:
          'aws cloudtrail list-queries --event-data-store EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE --query-status RUNNING --region us-east-1',
      },
    ])
  })

  it('a query fir gives up on (its poll timed out) is stopped on AWS, journaled; one it cannot stop is named as maybe running', async () => {
    // Before: fir journaled the query as ended and left it running (and billing) on AWS; case
    // show said nothing of it.
    let stop: { status?: number; body: unknown } = { body: {} }
    server = await new ReplayServer({
      StartQueryExecution: () => ({ body: { QueryExecutionId: 'q-slow-1' } }),
      GetQueryExecution: () => ({
        body: { QueryExecution: { QueryExecutionId: 'q-slow-1', Status: { State: 'RUNNING' } } },
      }),
      StopQueryExecution: () => stop,
    }).start()
    const run = async () => {
      const { ctx, dir } = await testContext(server!.endpoint)
      server!.requests.length = 0
      const err = await collectFromAthena(ctx, {
        table: 'cloudtrail.logs',
        outputLocation: 's3://athena-results/fir/',
        ...window,
        accounts: ['111122223333'],
        regions: ['us-east-1'],
        pollMs: 5,
        timeoutMs: 30,
      }).then(
        () => undefined,
        (e: FirError) => e,
      )
      const entries = ctx.case.journal.all().filter((e) => e.action.startsWith('timeline.query'))
      return { err, entries, maybeRunning: (await summariseCase(dir)).queriesMaybeRunning }
    }
    const stopped = await run()
    expect(stopped.err?.code).toBe('query-timeout')
    expect(stopped.err?.actions[0]).toBe('fir stopped Athena query q-slow-1 (journaled)')
    expect(server.requests.filter((r) => r.operation === 'StopQueryExecution').map((r) => r.body)).toEqual([
      { QueryExecutionId: 'q-slow-1' },
    ])
    expect(stopped.entries.map((e) => [e.action, e.outcome])).toEqual([
      ['timeline.query.start', 'started'],
      ['timeline.query.start', 'recorded'],
      ['timeline.query.stop', 'started'],
      ['timeline.query.stop', 'recorded'],
      ['timeline.query', 'failed'],
    ])
    expect(stopped.entries[2]!.params).toMatchObject({
      queryId: 'q-slow-1',
      reason: expect.stringMatching(/still RUNNING/),
    })
    expect(stopped.maybeRunning).toEqual([])

    stop = { status: 400, body: { __type: 'AccessDeniedException', message: 'not authorized' } }
    const denied = await run()
    expect(denied.err?.actions[0]).toMatch(
      /^unable to stop Athena query q-slow-1: AWS denied athena:StopQueryExecution .*; it may still be running: stop it with `aws athena stop-query-execution --query-execution-id q-slow-1 --region us-east-1 --endpoint-url [^`]+` \(journaled\)$/,
    )
    expect(denied.maybeRunning).toMatchObject([{ engine: 'athena', queryId: 'q-slow-1' }])
  })

  it('a failed Lake query is an error naming its id, and is journaled as failed', async () => {
    server = await new ReplayServer({
      StartQuery: () => ({ body: { QueryId: 'q-failed-1' } }),
      DescribeQuery: () => ({
        body: {
          QueryId: 'q-failed-1',
          QueryStatus: 'FAILED',
          ErrorMessage: 'Column tlsdetails cannot be resolved',
        },
      }),
    }).start()
    const { ctx, dir } = await testContext(server.endpoint)
    await expect(
      collectFromLake(ctx, {
        eventDataStore: EDS,
        ...window,
        accounts: ['111122223333'],
        regions: ['us-east-1'],
        pollMs: 5,
      }),
    ).rejects.toThrow(/q-failed-1: FAILED: Column tlsdetails cannot be resolved/)
    const journal = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const entry = journal.find((e) => e.action === 'timeline.query')
    expect(entry.outcome).toBe('failed')
    expect(entry.params.queryId).toBe('q-failed-1')
  })
})

describe('an engine endpoint that does not speak the API (an HTML page, not an AWS answer)', () => {
  const NOT_FOUND_PAGE = '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n'

  it('a Lake StartQuery answered by a 404 page is a gap named as a missing API, journaled as failed', async () => {
    server = await new ReplayServer({ StartQuery: () => ({ status: 404, html: NOT_FOUND_PAGE }) }).start()
    const { ctx, dir } = await testContext(server.endpoint)
    const out = await collectFromLake(ctx, {
      eventDataStore: EDS,
      ...window,
      accounts: ['111122223333'],
      regions: ['us-east-1'],
      pollMs: 5,
    })
    expect(out.records).toEqual([])
    expect(out.gap).toEqual({
      what: 'CloudTrail events from CloudTrail Lake event data store EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE',
      call: 'cloudtrail:StartQuery',
      reason: 'unimplemented: the endpoint does not implement this API (HTTP 404 with a non-AWS body)',
    })
    const journal = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const entry = journal.find((e) => e.action === 'timeline.query')
    expect(entry.outcome).toBe('failed')
    expect(entry.error.message).toBe(
      'unable to start the CloudTrail Lake query: the endpoint does not implement this API (HTTP 404 with a non-AWS body)',
    )
    expect(JSON.stringify(entry)).not.toMatch(/SyntaxError|Deserialization|\$response/)
  })

  it('an Athena results page answered by a 500 page after retries is a gap; the rows of the pages before it are kept', async () => {
    const records: Rec[] = (await json('test/fixtures/athena/records.json')).Records
    const names = dialectColumns('athena')
    const meta = { ColumnInfo: names.map((n) => ({ Name: n, Type: 'varchar' })) }
    const header = { Data: names.map((n) => ({ VarCharValue: n })) }
    const row = (r: Rec) => ({
      Data: athenaCells(r).map((v) => (v === undefined ? {} : { VarCharValue: v })),
    })
    server = await new ReplayServer({
      StartQueryExecution: () => ({ body: { QueryExecutionId: 'q-html-1' } }),
      GetQueryExecution: () => ({
        body: { QueryExecution: { QueryExecutionId: 'q-html-1', Status: { State: 'SUCCEEDED' } } },
      }),
      GetQueryResults: (b) =>
        b.NextToken
          ? { status: 500, html: '<!doctype html><title>500 Internal Server Error</title>' }
          : {
              body: {
                ResultSet: { ResultSetMetadata: meta, Rows: [header, row(records[0]!)] },
                NextToken: 'page-2',
              },
            },
    }).start()
    const { ctx } = await testContext(server.endpoint)
    const out = await collectFromAthena(ctx, {
      table: 'cloudtrail.logs',
      outputLocation: 's3://athena-results/fir/',
      ...window,
      accounts: ['111122223333'],
      regions: ['us-east-1'],
      pollMs: 5,
    })
    expect(out.records.map((r) => r.eventID)).toEqual([records[0]!.eventID])
    expect(out.gap).toEqual({
      what: 'CloudTrail events from Athena table cloudtrail.logs after page 1 (pages 1-1 kept)',
      call: 'athena:GetQueryResults',
      reason: 'service-error: the endpoint answered HTTP 500 with a body that is not an AWS response',
    })
  })
})

describe('Athena engine paging (a recorded multi-page response, replayed over HTTP)', () => {
  it('skips the header row on the first page only and follows NextToken to the end', async () => {
    const records: Rec[] = (await json('test/fixtures/athena/records.json')).Records
    const names = dialectColumns('athena')
    const row = (r: Rec) => ({
      Data: athenaCells(r).map((v) => (v === undefined ? {} : { VarCharValue: v })),
    })
    const meta = { ColumnInfo: names.map((n) => ({ Name: n, Type: 'varchar' })) }
    const pages = [
      {
        ResultSet: {
          Rows: [{ Data: names.map((n) => ({ VarCharValue: n })) }, ...records.slice(0, 4).map(row)],
          ResultSetMetadata: meta,
        },
        NextToken: 't2',
      },
      { ResultSet: { Rows: records.slice(4, 8).map(row), ResultSetMetadata: meta }, NextToken: 't3' },
      { ResultSet: { Rows: records.slice(8).map(row), ResultSetMetadata: meta } },
    ]
    let polls = 0
    server = await new ReplayServer({
      StartQueryExecution: () => ({ body: { QueryExecutionId: 'qe-1' } }),
      GetQueryExecution: () => ({
        body: {
          QueryExecution: {
            QueryExecutionId: 'qe-1',
            Status: { State: polls++ < 2 ? 'RUNNING' : 'SUCCEEDED' },
            Statistics: { DataScannedInBytes: 73400320 },
            ResultConfiguration: { OutputLocation: 's3://athena-results/fir/qe-1.csv' },
          },
        },
      }),
      GetQueryResults: (b) => ({
        body: b.NextToken === 't3' ? pages[2] : b.NextToken === 't2' ? pages[1] : pages[0],
      }),
    }).start()
    const { ctx } = await testContext(server.endpoint)
    const out = await collectFromAthena(ctx, {
      table: 'cloudtrail.org_trail',
      workgroup: 'primary',
      ...window,
      accounts: ['111122223333'],
      regions: ['us-east-1'],
      pollMs: 5,
    })
    expect(out.records.map((r) => r.eventID)).toEqual(records.map((r) => r.eventID))
    expect(out.query).toMatchObject({ pages: 3, rows: 9, bytesScanned: 73400320, workgroup: 'primary' })
    expect(out.query.costUsd).toBeCloseTo(0.000367, 6)
    expect(server.requests.filter((r) => r.operation === 'GetQueryExecution')).toHaveLength(3)
    const start = server.requests[0]!.body
    expect(start.WorkGroup).toBe('primary')
    expect(start.QueryExecutionContext).toEqual({ Database: 'cloudtrail' })
    expect(start.ExecutionParameters).toEqual(out.query.parameters)
  })
})
