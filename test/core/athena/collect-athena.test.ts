import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AthenaClient, GetQueryExecutionCommand } from '@aws-sdk/client-athena'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { beforeAll, describe, expect, it } from 'vitest'
import { collectFromAthena } from '../../../src/core/athena/collect.js'
import { REPO_ROOT } from '../../support/cli.js'
import { useMoto } from '../../support/emulator.js'
import { motoAthenaResults } from './athena-rows.js'
import { testContext } from './context.js'
import { lex } from './sql-lexer.js'

const moto = useMoto()
const DUMMY = { accessKeyId: 'testing', secretAccessKey: 'testing' }

async function fixtureRecords(): Promise<Record<string, unknown>[]> {
  const doc = JSON.parse(await readFile(join(REPO_ROOT, 'test/fixtures/athena/records.json'), 'utf8'))
  return doc.Records
}

const window = { since: new Date('2026-11-25T00:00:00Z'), until: new Date('2026-11-27T00:00:00Z') }
const terms = { functionNames: ['payments-webhook'], roles: [{ name: 'pay-role', account: '111122223333' }] }

describe('Athena engine against moto (results set through moto-api/static/athena/query-results)', () => {
  beforeAll(async () => {
    const s3 = new S3Client({
      endpoint: moto.endpoint(),
      region: 'us-east-1',
      credentials: DUMMY,
      forcePathStyle: true,
    })
    await s3.send(new CreateBucketCommand({ Bucket: 'athena-results' }))
  })

  it('sends one query filtered on the projected partitions, pages the results and rebuilds the records', async () => {
    const records = await fixtureRecords()
    const res = await fetch(`${moto.endpoint()}/moto-api/static/athena/query-results`, {
      method: 'POST',
      body: JSON.stringify(motoAthenaResults(records)),
    })
    expect(res.status).toBe(201)
    const { ctx, dir } = await testContext(moto.endpoint())
    const out = await collectFromAthena(ctx, {
      table: 'cloudtrail.org_trail',
      outputLocation: 's3://athena-results/fir/',
      ...window,
      accounts: ['111122223333'],
      regions: ['eu-west-1', 'us-east-1'],
      terms,
      pollMs: 10,
    })
    // One query, one StartQueryExecution.
    const ops = ctx.aws.requestLog.map((r) => r.operation)
    expect(ops.filter((o) => o === 'StartQueryExecution')).toHaveLength(1)
    expect(ops).toContain('GetQueryResults')
    // What Athena received: the statement with placeholders, the values as ExecutionParameters.
    const athena = new AthenaClient({ endpoint: moto.endpoint(), region: 'us-east-1', credentials: DUMMY })
    const sent = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: out.query.queryId })))
      .QueryExecution!
    expect(sent.Query).toBe(out.query.sql)
    expect(sent.ExecutionParameters).toEqual(out.query.parameters)
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
    expect(lex(sent.Query!).filter((t) => t.kind === 'param')).toHaveLength(sent.ExecutionParameters!.length)
    expect(sent.ResultConfiguration?.OutputLocation).toMatch(/^s3:\/\/athena-results\/fir\//)

    // Every row came back as the record it was (JSON null fields are absent: Athena cannot tell them apart).
    expect(out.records).toHaveLength(records.length)
    const strip = (r: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(r).filter(([k, v]) => v !== null && k !== 'managementEvent'))
    expect(out.records).toEqual(records.map(strip))
    expect(out.query).toMatchObject({
      engine: 'athena',
      state: 'SUCCEEDED',
      bytesScanned: 0,
      rows: 9,
      pages: 1,
    })

    // Journaled with its id, parameters and bytes scanned.
    const journal = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const entry = journal.find((e) => e.action === 'timeline.query')
    expect(entry.target).toBe('athena:cloudtrail.org_trail')
    expect(entry.outcome).toBe('recorded')
    expect(entry.params.queryId).toBe(out.query.queryId)
    expect(entry.params.bytesScanned).toBe(0)
    expect(entry.params.sql).toBe(out.query.sql)
    expect(entry.params.parameters).toEqual(out.query.parameters)
    expect(entry.requestIds.length).toBeGreaterThanOrEqual(3)
  })

  it('--dry-run builds and shows the query without sending anything', async () => {
    const { ctx } = await testContext(moto.endpoint(), { dryRun: true })
    const out = await collectFromAthena(ctx, {
      table: 'cloudtrail.org_trail',
      ...window,
      accounts: ['111122223333'],
      regions: ['eu-west-1'],
      terms,
    })
    expect(ctx.aws.requestLog).toHaveLength(0)
    expect(out.query.dryRun).toBe(true)
    expect(out.query.rendered).toContain("'payments-webhook'")
    expect(out.records).toEqual([])
  })

  it('refuses a table, output location or workgroup that is not well formed, before any call', async () => {
    const { ctx } = await testContext(moto.endpoint())
    const base = { ...window, accounts: ['111122223333'], regions: ['eu-west-1'] }
    await expect(collectFromAthena(ctx, { ...base, table: 'ct.logs; DROP' })).rejects.toThrow(/DB\.TABLE/)
    await expect(
      collectFromAthena(ctx, { ...base, table: 'ct.logs', outputLocation: "s3://b/x' y" }),
    ).rejects.toThrow(/not an s3:\/\/ URI/)
    await expect(collectFromAthena(ctx, { ...base, table: 'ct.logs', workgroup: 'wg;x' })).rejects.toThrow(
      /workgroup name/,
    )
    expect(ctx.aws.requestLog).toHaveLength(0)
  })
})
