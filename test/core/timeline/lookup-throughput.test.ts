/**
 * The done-when of the api source: against the LookupEvents stand-in at AWS's real limit
 * (2 requests/s per region), 5,000 related events across 2 regions arrive complete, at ≥ 95% of
 * the ceiling, with no lost page — with 5% of requests answered by a 5xx and 5% dropped.
 * It takes about half a minute (both regions in parallel); it is the only slow api test.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { collectTimeline } from '../../../src/core/timeline/collect.js'
import { type LookupEventsServer, startLookupEvents } from '../../support/lookup-events-server.js'
import { Rng } from '../../support/trail-generator.js'
import { timelineContext } from './context.js'

const account = '111122223333'
const role = 'orders-api-role'

/** `n` calls made with the function's Lambda-issued session, in `region`, over the last day. */
function sessionEvents(n: number, region: string, seed: number): Record<string, unknown>[] {
  const rng = new Rng(seed)
  const now = Date.now()
  return Array.from({ length: n }, (_, i) => ({
    eventVersion: '1.10',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLEROLEID:orders-api',
      arn: `arn:aws:sts::${account}:assumed-role/${role}/orders-api`,
      accountId: account,
      accessKeyId: 'ASIAEXAMPLEKEY000001',
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${account}:role/${role}`, userName: role },
      },
    },
    eventTime: new Date(now - 86_400_000 + i * 17_000 + rng.int(1000))
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'dynamodb.amazonaws.com',
    eventName: rng.pick(['DescribeTable', 'ListTables', 'DescribeTimeToLive']),
    awsRegion: region,
    sourceIPAddress: '3.80.1.2',
    userAgent: 'aws-sdk-js/3 exec-env/AWS_Lambda_nodejs20.x',
    requestParameters: { tableName: `orders-${rng.int(5)}` },
    responseElements: null,
    requestID: rng.uuid(),
    eventID: rng.uuid(),
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  }))
}

let server: LookupEventsServer | undefined
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_CLOUDTRAIL
  await server?.stop()
})

describe('LookupEvents at the real limit', () => {
  it('5,000 related events across 2 regions arrive complete at ≥ 95% of 2 requests/s, with 5% 5xx and 5% dropped connections', async () => {
    const records = [...sessionEvents(2500, 'eu-west-1', 1), ...sessionEvents(2500, 'us-east-1', 2)]
    server = await startLookupEvents(records, { faults: { serverErrorRate: 0.05, dropRate: 0.05, seed: 5 } })
    process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = server.endpoint
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const { summary } = await collectTimeline(ctx, {
      function: `arn:aws:lambda:eu-west-1:${account}:function:orders-api`,
      roles: [role],
      sources: ['api'],
      since: '2d',
    })
    expect(summary.gaps).toEqual([])
    const ids = new Set(
      (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    )
    expect(ids.size).toBe(5000)
    for (const r of records) expect(ids.has(r.eventID as string)).toBe(true)
    for (const region of ['eu-west-1', 'us-east-1']) {
      const st = server.regionStats(region)
      // no page fetched twice, none skipped
      for (const pages of st.pagesByQuery.values()) expect(pages).toEqual(pages.map((_, i) => i))
      expect(st.serverErrors + st.dropped).toBeGreaterThan(0)
      expect(st.throttled).toBe(0)
      const seconds = (st.lastAt! - st.firstAt!) / 1000
      const ceiling = st.ok / (seconds * 2)
      console.log(
        `${region}: ${st.ok} pages in ${seconds.toFixed(1)} s (${st.serverErrors} 5xx, ${st.dropped} dropped, ${st.throttled} throttled) = ${(ceiling * 100).toFixed(1)}% of 2 requests/s`,
      )
      expect(st.ok).toBeGreaterThanOrEqual(50)
      expect(ceiling).toBeGreaterThanOrEqual(0.95)
    }
  }, 180_000)
})
