/**
 * Account-wide hunts over trail files written in delivery order (ReorderBuffer), through the
 * built pipeline with real worker threads (`npm test` builds dist/ first): the output must be
 * byte for byte what the external sort writes, whatever the files' order, duplicates, memory
 * budget or odd bytes.
 */
import { isUtf8 } from 'node:buffer'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import type * as Collect from '../../../src/core/timeline/collect.js'
import { tempDir } from '../../support/cli.js'
import {
  awsIpRangesDocument,
  type CloudTrailRecord,
  generateCorpus,
  packTrailFiles,
  trailKey,
  writeTrailFiles,
} from '../../support/trail-generator.js'
import { timelineContext } from './context.js'

const ROOT = resolve(import.meta.dirname, '../../..')
const { collectTimeline } = (await import(
  pathToFileURL(join(ROOT, 'dist/core/timeline/collect.js')).href
)) as typeof Collect

const target = { functionName: 'orders-api', roleName: 'orders-api-role', region: 'eu-west-1' }
const start = new Date('2025-03-01T00:00:00Z')
const end = new Date('2025-03-01T12:00:00Z')
const since = start.toISOString()
const until = end.toISOString()

afterEach(() => {
  delete process.env.FIR_TIMELINE_SPOOL_MB
})

async function hunt(trail: string, options: Partial<Collect.TimelineOptions> = {}) {
  const { ctx, dir, lines } = await timelineContext()
  const { summary, findings } = await collectTimeline(ctx, {
    sources: [trail],
    since,
    until,
    workers: 2,
    ...options,
  })
  const events = await readFile(join(dir, 'timeline', 'events.jsonl'))
  return { summary, findings, events, lines }
}

async function trailFolder(
  records: CloudTrailRecord[],
  account: string,
  extra: { key: string; text: string }[] = [],
) {
  const { root } = await timelineContext()
  const trail = join(root, 'trail')
  await writeTrailFiles(trail, packTrailFiles(records, { account, maxPerFile: 25 }))
  for (const f of extra) {
    const path = join(trail, f.key)
    await mkdir(path.slice(0, path.lastIndexOf('/')), { recursive: true })
    await writeFile(path, f.key.endsWith('.gz') ? gzipSync(f.text) : f.text)
  }
  return trail
}

const corpus = generateCorpus({ seed: 41, records: 4000, start, end, target, related: 80 })

describe('account-wide hunt written in delivery order', () => {
  it('writes what the external sort writes, byte for byte, without a second pass', async () => {
    // The same event delivered twice (in two files), as happens when trails overlap.
    const copy = corpus.records[100]!
    const trail = await trailFolder(corpus.records, corpus.account, [
      {
        key: trailKey(
          corpus.account,
          'us-east-1',
          new Date(Date.parse(copy.eventTime) + 600_000),
          'DUPLICATE0000000',
        ),
        text: JSON.stringify({ Records: [copy] }),
      },
    ])
    const ordered = await hunt(trail)
    const sorted = await hunt(trail, { externalSort: true })
    expect(ordered.summary.throughput.deliveryOrder).toBe(true)
    expect(ordered.summary.throughput.threads).toBe(2)
    expect(sorted.summary.throughput.deliveryOrder).toBe(false)
    expect(ordered.events.equals(sorted.events)).toBe(true)
    expect(ordered.findings).toEqual(sorted.findings)
    expect(ordered.summary.events).toEqual(sorted.summary.events)
    expect(ordered.summary.events.duplicates).toBe(1)
    // Every record once, in (time, id) order.
    const got = ordered.events
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; time: string })
    const want = [...corpus.records]
      .filter((r) => r.eventTime >= since && r.eventTime < until)
      .map((r) => ({ id: r.eventID, t: Date.parse(r.eventTime) }))
      .sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    expect(got.map((e) => e.id)).toEqual(want.map((w) => w.id))
    expect(ordered.findings.length).toBeGreaterThan(0)
  })

  it('keeps both records that claim one eventID with different content, whichever file comes first, and warns', async () => {
    // A trail file's StopLogging, and a forged GetTrailStatus under its eventID in a file named to sort
    // first, then last: one of the two was dropped, which one depending on the names.
    const id = String(corpus.records[200]!.eventID)
    const real = {
      ...corpus.records[200]!,
      eventName: 'StopLogging',
      eventSource: 'cloudtrail.amazonaws.com',
    }
    const forged = { ...real, eventName: 'GetTrailStatus', readOnly: true }
    const records = corpus.records.map((r, i) => (i === 200 ? real : r))
    const delivered = new Date(Date.parse(String(corpus.records[200]!.eventTime)) + 600_000)
    // Each order through one path: the forged file first in delivery order, last in the external sort.
    for (const [suffix, externalSort] of [
      ['AAAAAAAAAAAAAAAA', false],
      ['zzzzzzzzzzzzzzzz', true],
    ] as const) {
      const trail = await trailFolder(records, corpus.account, [
        {
          key: trailKey(corpus.account, 'us-east-1', delivered, suffix),
          text: JSON.stringify({ Records: [forged] }),
        },
      ])
      for (const run of [await hunt(trail, { externalSort })]) {
        const kept = run.events
          .toString()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { id: string; name: string })
          .filter((e) => e.id === id)
        expect(kept.map((e) => e.name).sort()).toEqual(['GetTrailStatus', 'StopLogging'])
        expect(run.summary.events.conflicting).toEqual({ count: 1, ids: [id] })
        expect(run.summary.events.duplicates).toBe(0)
        expect(run.lines.join('\n')).toMatch(
          /1 record shares a time and eventID with another record but not its content/,
        )
      }
    }
  })

  it('reads the files again in two passes when one holds an event older than what was written', async () => {
    // Delivered at the end of the window, holding an event from five hours before.
    const old = { ...corpus.records[10]!, eventID: 'late-event-1', eventTime: '2025-03-01T06:00:00Z' }
    const trail = await trailFolder(corpus.records, corpus.account, [
      {
        key: trailKey(corpus.account, 'eu-west-1', new Date('2025-03-01T11:05:00Z'), 'LATEDELIVERY0000'),
        text: JSON.stringify({ Records: [old] }),
      },
    ])
    const ordered = await hunt(trail)
    const sorted = await hunt(trail, { externalSort: true })
    expect(ordered.summary.throughput.deliveryOrder).toBe(false)
    expect(ordered.summary.notes.join('\n')).toMatch(/read again in two passes/)
    expect(ordered.lines.join('\n')).toMatch(/reading the files again in two passes/)
    expect(ordered.events.equals(sorted.events)).toBe(true)
    expect(ordered.events.toString()).toContain('"id":"late-event-1"')
  })

  it('stays within a tiny memory budget (the earliest events go out early) and still writes the same', async () => {
    const trail = await trailFolder(corpus.records, corpus.account)
    const sorted = await hunt(trail, { externalSort: true })
    process.env.FIR_TIMELINE_SPOOL_MB = '1'
    const ordered = await hunt(trail)
    expect(ordered.events.equals(sorted.events)).toBe(true)
    expect(ordered.summary.events.stored).toBe(sorted.summary.events.stored)
  })

  it('stores raw as the exact bytes read when they are one line of valid UTF-8, else re-serialised', async () => {
    const base = corpus.records[0]!
    const rec = (id: string, extra: Record<string, unknown> = {}) => ({ ...base, eventID: id, ...extra })
    const at = (m: number) => new Date(Date.parse('2025-03-01T03:00:00Z') + m * 60_000)
    // Escapes a serialiser would write differently: kept as they were.
    const minified = `{"Records":[${JSON.stringify(rec('escaped-1')).replace(/}$/, ',"ua":"a\\/b \\u00e9 ✓"}')}]}`
    const pretty = JSON.stringify({ Records: [rec('pretty-1', { ua: 'line\nbreak' })] }, null, 2)
    // A string with a byte that is not UTF-8 (0xff).
    const badUtf8 = Buffer.concat([
      Buffer.from(`{"Records":[${JSON.stringify(rec('bad-utf8-1')).replace(/}$/, ',"ua":"x')}`),
      Buffer.from([0xff]),
      Buffer.from('y"}]}'),
    ])
    const { root } = await timelineContext()
    const trail = join(root, 'trail')
    const write = async (key: string, body: Buffer | string) => {
      const path = join(trail, key)
      await mkdir(path.slice(0, path.lastIndexOf('/')), { recursive: true })
      await writeFile(path, gzipSync(body))
    }
    await write(trailKey(corpus.account, 'eu-west-1', at(1), 'MINIFIED00000000'), minified)
    await write(trailKey(corpus.account, 'eu-west-1', at(2), 'PRETTY0000000000'), pretty)
    await write(trailKey(corpus.account, 'eu-west-1', at(3), 'BADUTF8000000000'), badUtf8)
    const r = await hunt(trail)
    expect(r.summary.events.stored).toBe(3)
    expect(isUtf8(r.events)).toBe(true)
    const lines = r.events.toString().trim().split('\n')
    expect(lines).toHaveLength(3)
    const byId = new Map(lines.map((l) => [JSON.parse(l).id as string, l]))
    expect(byId.get('escaped-1')).toContain('"ua":"a\\/b \\u00e9 ✓"}}')
    expect(JSON.parse(byId.get('escaped-1')!).raw.ua).toBe('a/b é ✓')
    expect(JSON.parse(byId.get('pretty-1')!).raw.ua).toBe('line\nbreak')
    expect(JSON.parse(byId.get('bad-utf8-1')!).raw.ua).toBe('x\ufffdy')
  })
})

describe('an account-wide hunt and AWS address ranges', () => {
  // The hunt's threads mark records for the merge-time rules; without ranges they skip the rules
  // that need them. A run given ranges must still have them marked in every thread.
  it('flags a function role used from outside AWS only when given the ranges, in every thread', async () => {
    const account = '111122223333'
    const role = `arn:aws:iam::${account}:role/hunt-fn-role`
    const record = (id: string, minute: number, over: Record<string, unknown>) => ({
      eventVersion: '1.10',
      eventTime: `2025-03-01T0${Math.floor(minute / 60)}:${String(minute % 60).padStart(2, '0')}:00Z`,
      awsRegion: 'eu-west-1',
      eventID: id,
      requestID: `req-${id}`,
      recipientAccountId: account,
      readOnly: true,
      ...over,
    })
    const src = await tempDir()
    const files: [string, unknown[]][] = [
      [
        'a.json',
        [
          record('create', 60, {
            eventSource: 'lambda.amazonaws.com',
            eventName: 'CreateFunction20150331',
            userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${account}:user/ci` },
            sourceIPAddress: '3.5.1.2',
            userAgent: 'aws-cli/2.15.0',
            requestParameters: { functionName: 'hunt-fn', role },
          }),
        ],
      ],
      [
        'b.json',
        [
          // The function role's session, with the Lambda runtime's user agent, from an address
          // outside AWS's ranges: only the rule that needs the ranges concerns it.
          record('outside', 120, {
            eventSource: 's3.amazonaws.com',
            eventName: 'ListBuckets',
            userIdentity: {
              type: 'AssumedRole',
              arn: `arn:aws:sts::${account}:assumed-role/hunt-fn-role/hunt-fn`,
              accountId: account,
              sessionContext: { sessionIssuer: { type: 'Role', arn: role } },
            },
            sourceIPAddress: '203.0.113.7',
            userAgent: 'aws-sdk-js/3.600.0 exec-env/AWS_Lambda_nodejs20.x',
          }),
        ],
      ],
    ]
    for (const [name, records] of files)
      await writeFile(join(src, name), JSON.stringify({ Records: records }))
    const ranges = join(await tempDir(), 'ranges.json')
    await writeFile(ranges, JSON.stringify(awsIpRangesDocument()))
    const outsideFindings = async (withRanges: boolean) => {
      const { ctx, dir } = await timelineContext()
      const { summary } = await collectTimeline(ctx, {
        // A folder: read by the threads, not in the main thread as a few small files are.
        sources: [src],
        since: '2025-03-01T00:00:00Z',
        until: '2025-03-01T12:00:00Z',
        workers: 2,
        ...(withRanges ? { awsIpRanges: ranges } : {}),
      })
      expect(summary.throughput.threads).toBe(2)
      const text = await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8')
      const events = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; findings: { title: string }[] })
      return events.find((e) => e.id === 'outside')!.findings.map((f) => f.title)
    }
    expect(await outsideFindings(true)).toEqual([expect.stringMatching(/Outside AWS IP Ranges/i)])
    expect(await outsideFindings(false)).toEqual([])
  })
})
