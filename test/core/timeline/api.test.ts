import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { summariseCase } from '../../../src/core/case/summary.js'
import { verifyCase } from '../../../src/core/case/verify.js'
import { Gaps } from '../../../src/core/context.js'
import { buildReportModel } from '../../../src/core/report/build.js'
import { collectTimeline } from '../../../src/core/timeline/collect.js'
import { planQueries, RegionPacer } from '../../../src/core/timeline/sources/api.js'
import type { TimelineEvent } from '../../../src/core/timeline/types.js'
import { useMoto } from '../../support/emulator.js'
import { type LookupEventsServer, startLookupEvents } from '../../support/lookup-events-server.js'
import { seedRole, TEST_ACCOUNT } from '../../support/seed.js'
import { generateCorpus } from '../../support/trail-generator.js'
import { timelineContext } from './context.js'

const now = Date.now()
const start = new Date(now - 2 * 86_400_000)
const end = new Date(now - 3_600_000)
const target = { functionName: 'orders-api', roleName: 'orders-api-role', region: 'eu-west-1' }
const corpus = generateCorpus({
  seed: 21,
  records: 1500,
  start,
  end,
  target,
  related: 160,
  regions: ['eu-west-1', 'us-east-1'],
})
const caseVariant = corpus.records.find((r) => r.requestParameters?.roleName === 'ORDERS-API-ROLE')!
  .eventID as string
const servers: LookupEventsServer[] = []
const moto = useMoto()
const savedRate = process.env.FIR_LOOKUP_RATE

beforeAll(() => {
  // Fast tests: the stand-in allows 40 requests/s here and fir paces at 35/s (the 2/s run is
  // lookup-throughput.test.ts).
  process.env.FIR_LOOKUP_RATE = '35'
})
afterEach(async () => {
  delete process.env.AWS_ENDPOINT_URL_CLOUDTRAIL
  for (const s of servers.splice(0)) await s.stop()
})
afterAll(() => {
  if (savedRate === undefined) delete process.env.FIR_LOOKUP_RATE
  else process.env.FIR_LOOKUP_RATE = savedRate
})

async function standIn(options: Parameters<typeof startLookupEvents>[1] = {}) {
  const s = await startLookupEvents(corpus.records, { rate: 40, burst: 40, ...options })
  servers.push(s)
  process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = s.endpoint
  return s
}

function client(endpoint: string, region: string) {
  return new CloudTrailClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  })
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p
  } catch (err) {
    return {
      name: (err as Error).name,
      status: (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
    }
  }
  throw new Error('expected a failure')
}

describe('the LookupEvents stand-in follows AWS rules over the real SDK', () => {
  it('one attribute, MaxResults ≤ 50, newest first, tokens tied to their query, region from the signature', async () => {
    const s = await standIn()
    const eu = client(s.endpoint, 'eu-west-1')
    const two = [
      { AttributeKey: 'Username' as const, AttributeValue: 'orders-api' },
      { AttributeKey: 'EventName' as const, AttributeValue: 'Invoke' },
    ]
    expect(await errorOf(eu.send(new LookupEventsCommand({ LookupAttributes: two })))).toEqual({
      name: 'InvalidLookupAttributesException',
      status: 400,
    })
    expect((await errorOf(eu.send(new LookupEventsCommand({ MaxResults: 51 })))).name).toBe(
      'InvalidMaxResultsException',
    )
    const first = await eu.send(new LookupEventsCommand({}))
    expect(first.Events?.length).toBe(50)
    const times = first.Events!.map((e) => e.EventTime!.getTime())
    expect([...times].sort((a, b) => b - a)).toEqual(times)
    expect(first.Events!.every((e) => JSON.parse(e.CloudTrailEvent!).awsRegion === 'eu-west-1')).toBe(true)
    const other = { LookupAttributes: [{ AttributeKey: 'EventName' as const, AttributeValue: 'Invoke' }] }
    expect(
      (await errorOf(eu.send(new LookupEventsCommand({ ...other, NextToken: first.NextToken })))).name,
    ).toBe('InvalidNextTokenException')
    const second = await eu.send(new LookupEventsCommand({ NextToken: first.NextToken }))
    expect(second.Events![0]!.EventTime!.getTime()).toBeLessThanOrEqual(times.at(-1)!)
    const us = await client(s.endpoint, 'us-east-1').send(new LookupEventsCommand({ MaxResults: 5 }))
    expect(us.Events!.every((e) => JSON.parse(e.CloudTrailEvent!).awsRegion === 'us-east-1')).toBe(true)
    const byUser = await eu.send(new LookupEventsCommand({ LookupAttributes: [two[0]!] }))
    expect(byUser.Events!.every((e) => e.Username === 'orders-api')).toBe(true)
  })

  it('throttles past 2 requests/s per region with HTTP 400 ThrottlingException', async () => {
    const s = await startLookupEvents(corpus.records)
    servers.push(s)
    const c = client(s.endpoint, 'eu-west-1')
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => c.send(new LookupEventsCommand({ MaxResults: 1 }))),
    )
    const throttled = results.filter(
      (r) => r.status === 'rejected' && (r.reason as Error).name === 'ThrottlingException',
    )
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(2)
    expect(throttled.length).toBe(4)
    expect(s.regionStats('eu-west-1').throttled).toBe(4)
    // another region has its own budget
    await client(s.endpoint, 'us-east-1').send(new LookupEventsCommand({ MaxResults: 1 }))
  })
})

describe('fir timeline --source api', () => {
  it('plans only the queries relatedness needs', () => {
    const plan = planQueries(
      {
        functionName: 'orders-api',
        region: 'eu-west-1',
        roles: [{ name: 'orders-api-role', arn: 'arn:aws:iam::111122223333:role/orders-api-role' }],
      },
      ['eu-west-1', 'us-east-1'],
    )
    expect(plan.map((q) => `${q.region} ${q.attribute?.key}=${q.attribute?.value}`)).toEqual([
      'eu-west-1 ResourceName=orders-api',
      'eu-west-1 Username=orders-api',
      'us-east-1 Username=orders-api',
      'eu-west-1 ResourceName=arn:aws:iam::111122223333:role/orders-api-role',
      'us-east-1 ResourceName=arn:aws:iam::111122223333:role/orders-api-role',
      'us-east-1 ResourceName=orders-api-role',
    ])
    expect(planQueries(null, ['eu-west-1'])).toEqual([{ region: 'eu-west-1', why: expect.any(String) }])
  })

  it("looks the function's name up in every region asked when its region is unknown", () => {
    // Before: only in the client's region (AWS_REGION), whatever --regions said; with --regions
    // naming other regions, not at all.
    const own = (regions: string[]) =>
      planQueries({ functionName: 'orders-api', roles: [] }, regions)
        .filter((q) => q.attribute?.key === 'ResourceName')
        .map((q) => q.region)
    expect(own(['eu-west-1', 'us-east-1'])).toEqual(['eu-west-1', 'us-east-1'])
    expect(own(['eu-west-1'])).toEqual(['eu-west-1'])
  })

  it('paces under its rate, gives back the slot of a failed request, slows down on throttles', async () => {
    let t = 0
    const pacer = new RegionPacer(2, () => t)
    const sleeps: number[] = []
    const orig = globalThis.setTimeout
    globalThis.setTimeout = ((fn: () => void, ms: number) => {
      sleeps.push(ms)
      t += ms
      return orig(fn, 0)
    }) as typeof setTimeout
    try {
      await pacer.take()
      await pacer.take()
      expect(sleeps).toEqual([500])
      pacer.refund()
      await pacer.take()
      expect(sleeps).toEqual([500])
      pacer.throttled()
      expect(pacer.currentRate).toBeCloseTo(1.6)
      await pacer.take()
      expect(sleeps[1]).toBeCloseTo(625)
    } finally {
      globalThis.setTimeout = orig
    }
  })

  it('collects the related events of both regions, follows a foreign session, keeps every raw page', async () => {
    const s = await standIn()
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const { summary } = await collectTimeline(ctx, {
      function: `arn:aws:lambda:eu-west-1:${corpus.account}:function:orders-api`,
      roles: ['orders-api-role'],
      sources: ['api'],
      since: '3d',
    })
    // The ARN names an account; no STS answers here (the stand-in serves LookupEvents only): the
    // account is not checked, and the run says so rather than failing or counting a gap.
    expect(summary.gaps).toEqual([])
    expect(summary.notes).toContain(
      `the caller could not be identified (sts:GetCallerIdentity: network: Error: connect ECONNREFUSED 127.0.0.1:9), so whether arn:aws:lambda:eu-west-1:${corpus.account}:function:orders-api is in the account LookupEvents reads was not checked`,
    )
    const events = (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TimelineEvent)
    const ids = new Set(events.map((e) => e.id))
    // Everything related is found (the stand-in serves what it is given, data events included),
    // except an IAM call that spells the role name in other letters' case: LookupEvents matches
    // ResourceName exactly (trail files are searched without case; see docs).
    const missing = [...corpus.related.keys()].filter((id) => !ids.has(id))
    expect(missing).toEqual([caseVariant])
    expect(events.every((e) => e.origin === 'api')).toBe(true)
    // The attacker's session ("maintenance") was found through its access key, in any region.
    const foreign = summary.api!.queries.filter((q) => q.attribute?.startsWith('AccessKeyId='))
    expect(foreign.length).toBe(2)
    // Every page, beside the record of what the run asked (lookup.json: see lookup-runs.ts).
    const raw = (await readdir(join(dir, summary.outputs.raw!))).filter((f) => f !== 'lookup.json')
    expect(raw.length).toBe(summary.api!.pages)
    expect(raw.length).toBe([...s.stats.values()].reduce((n, st) => n + st.ok, 0))
    const page = JSON.parse(await readFile(join(dir, summary.outputs.raw!, raw[0]!), 'utf8'))
    expect(page.Events[0]).toHaveProperty('CloudTrailEvent')
    expect(typeof page.Events[0].EventTime).toBe('number')
    const verified = await verifyCase(dir)
    expect(verified.problems).toEqual([])
  })

  it('counts a record nested too deep to store as skipped, not read: the summary adds up', async () => {
    // Before: counted as read and as skipped, so read was one more than its parts.
    const time = new Date(now - 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    const record = (id: string, requestParameters: unknown) => ({
      eventVersion: '1.08',
      eventTime: time,
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      awsRegion: 'eu-west-1',
      eventID: id,
      requestParameters,
    })
    let deep: unknown = 1
    for (let i = 0; i < 300; i++) deep = { a: deep }
    const s = await startLookupEvents(
      [record('ok', { functionName: 'orders-api' }), record('deep', { functionName: 'orders-api', x: deep })],
      { rate: 40, burst: 40 },
    )
    servers.push(s)
    process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = s.endpoint
    const { ctx } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const { summary } = await collectTimeline(ctx, {
      function: 'orders-api',
      roles: ['orders-api-role'],
      sources: ['api'],
      since: '3d',
      regions: 'eu-west-1',
    })
    const e = summary.events
    expect(summary.skipped).toEqual({ 'too-deep': 1 })
    expect(e).toMatchObject({ read: 1, stored: 1 })
    expect(e.read).toBe(e.stored + e.duplicates + e.outsideWindow + e.unrelated)
    expect(summary.sources[0]).toMatchObject({ kind: 'api', events: 1, kept: 1 })
  })

  it('after a role swap, keeps the new role\u2019s sessions the first queries had returned as unrelated', async () => {
    const acct = corpus.account
    const t = (min: number) =>
      new Date(now - 10 * 3_600_000 + min * 60_000).toISOString().replace(/\.\d+Z$/, 'Z')
    const swap = {
      eventVersion: '1.08',
      eventID: 'swap-1',
      eventTime: t(0),
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionConfiguration20150331v2',
      awsRegion: 'eu-west-1',
      recipientAccountId: acct,
      sourceIPAddress: '203.0.113.9',
      userIdentity: {
        type: 'IAMUser',
        arn: `arn:aws:iam::${acct}:user/mallory`,
        userName: 'mallory',
        accountId: acct,
      },
      requestParameters: { functionName: 'orders-api', role: `arn:aws:iam::${acct}:role/evil-role` },
      responseElements: { functionName: 'orders-api', role: `arn:aws:iam::${acct}:role/evil-role` },
    }
    // The swapped-in role's session, named after the function as Lambda names it: the first
    // Username=orders-api query returns it before the swap is known.
    const used = {
      eventVersion: '1.08',
      eventID: 'evil-session-1',
      eventTime: t(30),
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      awsRegion: 'eu-west-1',
      recipientAccountId: acct,
      sourceIPAddress: '203.0.113.9',
      userIdentity: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::${acct}:assumed-role/evil-role/orders-api`,
        accountId: acct,
        accessKeyId: 'ASIAEVILEVILEVIL0001',
        sessionContext: {
          sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${acct}:role/evil-role`, userName: 'evil-role' },
        },
      },
    }
    const s = await startLookupEvents([swap, used], { rate: 40, burst: 40 })
    servers.push(s)
    process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = s.endpoint
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const { summary } = await collectTimeline(ctx, {
      function: `arn:aws:lambda:eu-west-1:${acct}:function:orders-api`,
      roles: ['orders-api-role'],
      sources: ['api'],
      regions: 'eu-west-1',
      since: '3d',
    })
    const ids = (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as TimelineEvent).id)
    expect(ids).toEqual(['swap-1', 'evil-session-1'])
    expect(summary.notes.join('\n')).toContain("the function's role was changed to evil-role")
  })

  it("with a role given by name and no account known, looks AssumeRole of it up by the caller account's ARN; with no region known, the function's name in every region (moto for STS and IAM)", async () => {
    const acct = TEST_ACCOUNT
    const roleArn = (await seedRole(moto.endpoint(), { name: 'orders-api-role', path: '/service-role/' })).arn
    expect(roleArn).toBe(`arn:aws:iam::${acct}:role/service-role/orders-api-role`)
    const t = (min: number) =>
      new Date(now - 10 * 3_600_000 + min * 60_000).toISOString().replace(/\.\d+Z$/, 'Z')
    const dev = { type: 'IAMUser', arn: `arn:aws:iam::${acct}:user/dev`, accountId: acct, userName: 'dev' }
    const record = (
      id: string,
      min: number,
      name: string,
      source: string,
      region: string,
      extra: object,
    ) => ({
      eventVersion: '1.08',
      eventID: id,
      eventTime: t(min),
      eventSource: source,
      eventName: name,
      awsRegion: region,
      recipientAccountId: acct,
      sourceIPAddress: '203.0.113.9',
      userIdentity: dev,
      ...extra,
    })
    const records = [
      // The function's own event, in its region (eu-west-1), not the client's (us-east-1).
      record('f01', 0, 'UpdateFunctionCode20150331v2', 'lambda.amazonaws.com', 'eu-west-1', {
        requestParameters: { functionName: 'orders-api' },
      }),
      // Someone else assumes the role, then uses the session (not named after the function).
      record('f02', 2, 'AssumeRole', 'sts.amazonaws.com', 'us-east-1', {
        requestParameters: { roleArn, roleSessionName: 'x' },
        responseElements: { credentials: { accessKeyId: 'ASIAEVIL0002' } },
      }),
      record('f03', 3, 'ListSecrets', 'secretsmanager.amazonaws.com', 'us-east-1', {
        userIdentity: {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${acct}:assumed-role/orders-api-role/x`,
          accountId: acct,
          accessKeyId: 'ASIAEVIL0002',
          sessionContext: { sessionIssuer: { type: 'Role', arn: roleArn, userName: 'orders-api-role' } },
        },
      }),
    ]
    const s = await startLookupEvents(records, { rate: 40, burst: 40 })
    servers.push(s)
    process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = s.endpoint
    const { ctx, dir } = await timelineContext(moto.endpoint(), 'us-east-1')
    const { summary } = await collectTimeline(ctx, {
      function: 'orders-api',
      roles: ['orders-api-role', 'gone-role'],
      sources: ['api'],
      regions: 'eu-west-1,us-east-1',
      since: '3d',
    })
    const ids = (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as TimelineEvent).id)
    // Before: only us-east-1 ResourceName=orders-api, and no AssumeRole query: none of the three.
    expect(ids).toEqual(['f01', 'f02', 'f03'])
    const queries = summary.api!.queries.map((q) => `${q.region} ${q.attribute}`)
    expect(queries).toEqual(
      expect.arrayContaining([
        'eu-west-1 ResourceName=orders-api',
        'us-east-1 ResourceName=orders-api',
        `us-east-1 ResourceName=${roleArn}`,
        `us-east-1 ResourceName=arn:aws:iam::${acct}:role/gone-role`,
      ]),
    )
    const notes = summary.notes.join('\n')
    expect(notes).toContain("the function's region is unknown")
    expect(notes).toContain(
      `AssumeRole of gone-role was looked up as arn:aws:iam::${acct}:role/gone-role (account ${acct} has no role of that name now)`,
    )
    expect(notes).not.toContain('AssumeRole of orders-api-role')
  })

  it('loses no page to 5xx and dropped connections (retried with the same token)', async () => {
    const s = await standIn({ faults: { serverErrorRate: 0.25, dropRate: 0.15, seed: 9 } })
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const { summary } = await collectTimeline(ctx, {
      function: 'orders-api',
      roles: [`arn:aws:iam::${corpus.account}:role/orders-api-role`],
      sources: ['api'],
      since: '3d',
    })
    expect(summary.gaps).toEqual([])
    const stats = [...s.stats.values()]
    expect(stats.reduce((n, st) => n + st.serverErrors + st.dropped, 0)).toBeGreaterThan(5)
    for (const st of stats)
      for (const pages of st.pagesByQuery.values()) expect(pages).toEqual(pages.map((_, i) => i))
    const ids = new Set(
      (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    )
    expect([...corpus.related.keys()].filter((id) => !ids.has(id))).toEqual([caseVariant])
  })

  it('does not replace a timeline that holds events with a run whose every source failed', async () => {
    await standIn()
    const { ctx, dir, lines } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const options = {
      function: 'orders-api',
      roles: ['orders-api-role'],
      sources: ['api'],
      since: '3d',
      regions: 'eu-west-1,us-east-1',
    }
    const first = await collectTimeline(ctx, options)
    expect(first.summary.events.stored).toBeGreaterThan(0)
    const stored = await readFile(join(dir, 'timeline', 'events.jsonl'))
    const storedSummary = await readFile(join(dir, 'timeline', 'summary.json'), 'utf8')
    // The credentials expired, or the role lost cloudtrail:LookupEvents: every region is denied.
    for (const s of servers.splice(0)) await s.stop()
    await standIn({ deniedRegions: ['eu-west-1', 'us-east-1'] })
    // A later command: its own clients (they read the stand-in's new address) and gaps.
    const later = {
      ...ctx,
      aws: await AwsClients.create({
        endpoint: 'http://127.0.0.1:9',
        emulatorOnly: true,
        region: 'eu-west-1',
      }),
      gaps: new Gaps(),
    }
    const second = await collectTimeline(later, options)
    expect(second.summary.gaps.length).toBeGreaterThan(0)
    expect(second.summary.events.read).toBe(0)
    expect(second.summary.notStored).toMatch(/^every source failed; the timeline of .+ stays in place$/)
    expect(await readFile(join(dir, 'timeline', 'events.jsonl'))).toEqual(stored)
    expect(await readFile(join(dir, 'timeline', 'summary.json'), 'utf8')).toBe(storedSummary)
    expect(await readdir(join(dir, 'timeline'))).not.toContain('history')
    expect(lines.join('\n')).toMatch(
      /nothing was read: every source failed \(\d+ gaps?\), so the timeline of .+ \(\d+ events\) stays in place/,
    )
    expect((await verifyCase(dir)).ok).toBe(true)
  })

  it('stores nothing when a first run could read nothing (every source failed): the case has no timeline, as case show and the report say', async () => {
    await standIn({ deniedRegions: ['eu-west-1', 'us-east-1'] })
    const { ctx, dir, lines } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const { summary } = await collectTimeline(ctx, {
      function: 'orders-api',
      roles: ['orders-api-role'],
      sources: ['api'],
      since: '3d',
      regions: 'eu-west-1,us-east-1',
    })
    expect(summary.gaps.length).toBeGreaterThan(0)
    expect(summary.notStored).toBe('every source failed; the case has no timeline')
    expect(lines.join('\n')).toMatch(
      /nothing was read: every source failed \(\d+ gaps\), so the case still has no timeline and this run stored nothing; fix the access named in the gaps and run again/,
    )
    // Before: an empty events.jsonl, which case show and the report read as "no event matched".
    expect((await readdir(join(dir, 'timeline'))).filter((f) => !f.startsWith('raw'))).toEqual([])
    expect((await summariseCase(dir)).timeline).toBeNull()
    const report = await buildReportModel(dir, { firVersion: 'test' })
    expect(report.timeline.present).toBe(false)
    expect(report.summary.activityAbsent).toBe('unknown: no timeline was collected')
    // Why it read nothing is in the report's Gaps (before: a run that stored nothing left none).
    expect(report.gaps.items.filter((g) => g.call === 'cloudtrail:LookupEvents').length).toBe(
      summary.gaps.length,
    )
    // The window and sources of a run that stored nothing are not the report's.
    expect(report.scope.window).toBeNull()
    expect(report.scope.timelineSources).toEqual([])
    const journaled = ctx.case.journal.all().filter((e) => e.action === 'timeline.collect')
    expect(journaled.map((e) => e.params.stored)).toEqual([false])
    expect((await verifyCase(dir)).ok).toBe(true)

    // A region that answered, with nothing for the function, was read: that timeline is stored.
    const later = {
      ...ctx,
      aws: await AwsClients.create({
        endpoint: 'http://127.0.0.1:9',
        emulatorOnly: true,
        region: 'eu-west-1',
      }),
      gaps: new Gaps(),
    }
    for (const s of servers.splice(0)) await s.stop()
    await standIn({ deniedRegions: ['us-east-1'] })
    const partly = await collectTimeline(later, {
      function: 'nobody-calls-me',
      roles: ['nobody-role'],
      sources: ['api'],
      since: '3d',
      regions: 'eu-west-1,us-east-1',
    })
    expect(partly.summary.gaps.length).toBeGreaterThan(0)
    expect(partly.summary.api?.pages).toBeGreaterThan(0)
    expect(partly.summary.notStored).toBeUndefined()
    expect((await summariseCase(dir)).timeline).toEqual({
      events: 0,
      findings: {},
      problems: [],
      conflicting: null,
    })
  })

  it('records a denied region as a gap, keeps the other region, and notes a region that is not enabled', async () => {
    await standIn({ deniedRegions: ['us-east-1'], disabledRegions: ['ap-south-2'] })
    const { ctx, dir } = await timelineContext('http://127.0.0.1:9', 'eu-west-1')
    const { summary } = await collectTimeline(ctx, {
      function: 'orders-api',
      roles: ['orders-api-role'],
      sources: ['api'],
      since: '3d',
      regions: 'eu-west-1,us-east-1,ap-south-2',
    })
    expect(summary.gaps.length).toBeGreaterThan(0)
    expect(
      summary.gaps.every(
        (g) =>
          g.call === 'cloudtrail:LookupEvents' &&
          g.what.includes('us-east-1') &&
          g.reason.startsWith('denied'),
      ),
    ).toBe(true)
    expect(summary.notes.some((n) => n.startsWith('ap-south-2: not enabled'))).toBe(true)
    const events = (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TimelineEvent)
    expect(events.some((e) => e.region === 'eu-west-1')).toBe(true)
  })
})
