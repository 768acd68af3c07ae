import { spawnSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it, vi } from 'vitest'
import { summariseCase } from '../../../src/core/case/summary.js'
import { verifyCase } from '../../../src/core/case/verify.js'
import { buildReportModel } from '../../../src/core/report/build.js'
import { collectTimeline } from '../../../src/core/timeline/collect.js'
import { AtomicFileWriter } from '../../../src/core/timeline/store.js'
import type { TimelineEvent } from '../../../src/core/timeline/types.js'
import { UsageError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'
import {
  awsIpRangesDocument,
  generateCorpus,
  packTrailFiles,
  writeTrailFiles,
} from '../../support/trail-generator.js'
import { timelineContext } from './context.js'

const target = { functionName: 'orders-api', roleName: 'orders-api-role', region: 'eu-west-1' }
const start = new Date('2025-03-01T00:00:00Z')
const end = new Date('2025-03-01T12:00:00Z')

async function readEvents(dir: string): Promise<TimelineEvent[]> {
  const text = await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8')
  return text.trim()
    ? text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : []
}

/** Orders-api's timeline, then an account-wide hunt, of `src` (1 March 2025, 00:00–12:00), each in a case of its own. */
async function functionAndHunt(src: string) {
  const runs = []
  for (const fn of ['orders-api', undefined]) {
    const { ctx, dir } = await timelineContext()
    const { summary } = await collectTimeline(ctx, {
      ...(fn ? { function: fn, roles: ['orders-api-role'] } : {}),
      sources: [src],
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-01T12:00:00Z',
    })
    runs.push({ fn, dir, summary })
  }
  return runs
}

/** A function's run and a hunt over `src` (no window), each refused as bad input (exit 2). */
async function refusedRuns(src: string) {
  const runs = []
  for (const fn of ['orders-api', undefined]) {
    const { ctx } = await timelineContext()
    const err = await collectTimeline(ctx, {
      ...(fn ? { function: fn, roles: ['orders-api-role'] } : {}),
      sources: [src],
    }).catch((e) => e)
    expect(err, String(fn)).toBeInstanceOf(UsageError)
    // The run's summary travels in the error, for --json.
    runs.push({ fn, summary: err.envelopeExtra.result })
  }
  return runs
}

describe('timeline from files (in-process pipeline)', () => {
  it('relates, de-duplicates, sorts and flags a function-scoped timeline from a trail layout plus a LookupEvents export', async () => {
    const firId = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9'
    const corpus = generateCorpus({
      seed: 11,
      records: 4000,
      start,
      end,
      target,
      related: 150,
      firRequestIds: [firId],
    })
    const src = await tempDir()
    await writeTrailFiles(src, packTrailFiles(corpus.records, { account: corpus.account, maxPerFile: 40 }))
    // The same related events again, as LookupEvents output: duplicates to merge.
    const some = corpus.records.filter((r) => corpus.related.has(r.eventID)).slice(0, 30)
    await writeFile(
      join(src, 'lookup.json'),
      JSON.stringify({
        Events: some.map((r) => ({ EventId: r.eventID, CloudTrailEvent: JSON.stringify(r) })),
      }),
    )
    await writeFile(join(src, 'ip-ranges.json.txt'), JSON.stringify(awsIpRangesDocument()))
    const { ctx, dir } = await timelineContext()
    // fir's own call, journaled with its request id by an earlier command of the case.
    await ctx.case.journal.append({
      action: 'snapshot.function',
      target: 'orders-api',
      params: {},
      outcome: 'recorded',
      requestIds: [firId],
    })
    const { summary, findings } = await collectTimeline(ctx, {
      function: `arn:aws:lambda:eu-west-1:${corpus.account}:function:orders-api`,
      roles: ['orders-api-role'],
      sources: [src],
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-01T12:00:00Z',
      awsIpRanges: join(src, 'ip-ranges.json.txt'),
    })
    const events = await readEvents(dir)
    expect(new Set(events.map((e) => e.id))).toEqual(new Set(corpus.related.keys()))
    expect(events.length).toBe(corpus.related.size)
    expect(summary.events.duplicates).toBe(30)
    const times = events.map((e) => e.time)
    expect([...times].sort()).toEqual(times)
    expect(events.every((e) => e.raw && e.origin === 'file')).toBe(true)
    expect(events.filter((e) => e.fir).map((e) => e.raw?.requestID)).toEqual([firId])
    // The story is flagged: code overwritten, public permission, role swap, AssumeRole not by Lambda,
    // policy changes, credentials from outside AWS, a session linked to a foreign AssumeRole.
    const rules = new Set(findings.map((f) => f.rule))
    const titles = findings.map((f) => f.title).join('\n')
    expect(titles).toMatch(/Code Overwritten/i)
    expect(titles).toMatch(/Assumed By Someone Other Than Lambda/i)
    expect(titles).toMatch(/Outside AWS IP Ranges/i)
    expect(rules.has('fir-timeline-session-from-foreign-assume-role')).toBe(true)
    for (const id of corpus.suspicious) {
      const e = events.find((x) => x.id === id)!
      expect(e.findings.length, `${e.name} ${e.actor.arn} ${e.sourceIp}`).toBeGreaterThan(0)
    }
    const stored = JSON.parse(await readFile(join(dir, 'timeline', 'findings.json'), 'utf8'))
    expect(stored.length).toBe(findings.length)
    expect(stored[0]).toHaveProperty('summary')
    expect((await verifyCase(dir)).ok).toBe(true)
  })

  it('skips bad input with a reason, counted per file, and never crashes', async () => {
    const src = await tempDir()
    const good = {
      eventVersion: '1.08',
      eventTime: '2025-03-01T01:00:00Z',
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      eventID: 'good-1',
    }
    await mkdir(join(src, 'AWSLogs', '111122223333', 'CloudTrail-Digest', 'us-east-1'), { recursive: true })
    await writeFile(
      join(
        src,
        'AWSLogs',
        '111122223333',
        'CloudTrail-Digest',
        'us-east-1',
        '111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20250301T010000Z.json.gz',
      ),
      gzipSync('{}'),
    )
    await writeFile(
      join(src, 'corrupt.json.gz'),
      gzipSync(JSON.stringify({ Records: [good] })).subarray(0, 30),
    )
    await writeFile(join(src, 'truncated.json'), JSON.stringify({ Records: [good] }).slice(0, 40))
    // Named .gz: bytes that are neither gzip nor JSON, and a plain log saved under that name.
    await writeFile(join(src, 'not-gzip.json.gz'), 'garbage')
    await writeFile(
      join(src, 'plain.json.gz'),
      JSON.stringify({ Records: [{ ...good, eventID: 'plain-1' }] }),
    )
    await writeFile(join(src, 'not-cloudtrail.json'), JSON.stringify({ name: 'x', dependencies: {} }))
    await writeFile(
      join(src, 'mixed.json'),
      JSON.stringify({
        Records: [
          good,
          { ...good, eventID: 'insight', eventType: 'AwsCloudTrailInsight', insightDetails: {} },
          { ...good, eventID: 'no-time', eventTime: undefined },
        ],
      }),
    )
    await writeFile(join(src, 'README.md'), '# not read')
    const { ctx, dir } = await timelineContext()
    const { summary } = await collectTimeline(ctx, { sources: [src] })
    expect((await readEvents(dir)).map((e) => e.id)).toEqual(['good-1', 'plain-1'])
    expect(summary.skipped).toEqual({
      'invalid-json': 1,
      'corrupt-gzip': 2,
      'digest-file': 1,
      'insights-record': 1,
      'no-event-time': 1,
      'not-cloudtrail': 1,
    })
    expect(summary.files.ignored).toBe(1)
    // The local source counts every file the run looked at, the digest file it refused unread too.
    expect(summary.sources.find((s) => s.kind === 'file')?.files).toBe(summary.files.total)
    const byFile = Object.fromEntries(summary.problemFiles.map((p) => [p.file.split('/').at(-1), p]))
    expect(byFile['corrupt.json.gz']?.refused?.reason).toBe('corrupt-gzip')
    expect(byFile['truncated.json']?.refused?.reason).toBe('invalid-json')
    expect(byFile['not-gzip.json.gz']?.refused).toEqual({
      reason: 'corrupt-gzip',
      message: expect.stringMatching(/^named \.gz but its bytes are not gzip data \(nor JSON: /),
    })
    expect(byFile['mixed.json']?.skipped).toEqual({ 'insights-record': 1, 'no-event-time': 1 })
    expect(summary.gaps).toEqual([])
  })

  it('keeps the timeline a re-run replaces (timeline/history/), journaled, and never reads a case folder met in a source', async () => {
    const corpus = generateCorpus({ seed: 13, records: 600, start, end, target, related: 30 })
    const src = await tempDir()
    await writeTrailFiles(
      join(src, 'bucket'),
      packTrailFiles(corpus.records, { account: corpus.account, maxPerFile: 40 }),
    )
    const { ctx, dir, root, lines } = await timelineContext()
    const first = await collectTimeline(ctx, { sources: [join(src, 'bucket')] })
    const firstEvents = await readFile(join(dir, 'timeline', 'events.jsonl'))
    expect(first.summary.events.stored).toBe(corpus.records.length)

    // A mistaken second run: a folder with no trail logs, only a fir case folder (this one).
    const second = await collectTimeline(ctx, { sources: [root] })
    expect(second.summary.events.stored).toBe(0)
    expect(lines).toContain(
      `warning: no CloudTrail log file (.json, .jsonl, .gz) was found in ${root}: check --source`,
    )
    expect(lines.filter((l) => l.startsWith('warning: this timeline holds'))).toEqual([
      `warning: this timeline holds 0 events, the one it replaces ${corpus.records.length}: that one is kept in timeline/history/${first.summary.startedAt.replace(/[-:]/g, '')}/ (fir report and case show read the latest)`,
    ])
    expect(second.summary.notes.join('\n')).toMatch(
      /not read: a fir case folder inside the source \(.*case\)/,
    )
    const stamp = first.summary.startedAt.replace(/[-:]/g, '')
    const history = join(dir, 'timeline', 'history', stamp)
    expect(second.summary.notes).toContain(
      `the earlier timeline (run ${first.summary.startedAt}, ${corpus.records.length} events) was moved to timeline/history/${stamp}/`,
    )
    expect((await readFile(join(history, 'events.jsonl'))).equals(firstEvents)).toBe(true)
    expect(JSON.parse(await readFile(join(history, 'summary.json'), 'utf8')).startedAt).toBe(
      first.summary.startedAt,
    )
    const verified = await verifyCase(dir)
    expect(verified.problems).toEqual([])
    expect(verified.checked.artifacts).toBe(6)
    const report = await buildReportModel(dir, { firVersion: 'test' })
    expect(report.scope.earlierTimelines).toEqual([
      `timeline/history/${stamp} (${corpus.records.length} events)`,
    ])
    const shown = await summariseCase(dir)
    expect(shown.timeline?.events).toBe(0)
    expect(shown.earlierTimelines).toEqual([
      { folder: `timeline/history/${stamp}`, events: corpus.records.length },
    ])

    // The moved copy is checked like any recorded file.
    await writeFile(join(history, 'findings.json'), '[]\n')
    expect((await verifyCase(dir)).problems.map((p) => p.message)).toEqual([
      `timeline/history/${stamp}/findings.json was changed after fir wrote it`,
    ])
  })

  it('a re-run that fails with a full disk as it flushes events.jsonl leaves no temporary or spool and puts the earlier timeline back', async () => {
    const corpus = generateCorpus({ seed: 19, records: 200, start, end, target, related: 10 })
    const src = await tempDir()
    await writeTrailFiles(
      join(src, 'bucket'),
      packTrailFiles(corpus.records, { account: corpus.account, maxPerFile: 40 }),
    )
    const { ctx, dir } = await timelineContext()
    const first = await collectTimeline(ctx, { sources: [join(src, 'bucket')] })
    const stored = await readFile(join(dir, 'timeline', 'events.jsonl'))
    // The disk fills up as events.jsonl's last bytes are flushed and synced: its temporary (and the
    // hunt's spool) are on disk, the earlier timeline already moved aside.
    const commit = AtomicFileWriter.prototype.commit
    const full = vi.spyOn(AtomicFileWriter.prototype, 'commit').mockImplementation(async function (
      this: AtomicFileWriter,
      ...args
    ) {
      if (!this.path.endsWith('events.jsonl')) return commit.apply(this, args)
      await this.write('')
      throw Object.assign(new Error('ENOSPC: no space left on device, fsync'), {
        code: 'ENOSPC',
        syscall: 'fsync',
      })
    })
    try {
      const err = await collectTimeline(ctx, { sources: [join(src, 'bucket')] }).catch((e) => e)
      expect(err.code).toBe('ENOSPC')
    } finally {
      full.mockRestore()
    }
    // Before, the run left timeline/.<hex>.tmp and .spool-*/, and the earlier timeline in history/.
    expect((await readdir(join(dir, 'timeline'))).sort()).toEqual([
      'events.jsonl',
      'findings.json',
      'history',
      'summary.json',
    ])
    expect(await readdir(join(dir, 'timeline', 'history'))).toEqual([])
    expect(await readFile(join(dir, 'timeline', 'events.jsonl'))).toEqual(stored)
    const shown = await summariseCase(dir)
    expect(shown.timelineInterrupted).toBeNull()
    expect(shown.timeline?.events).toBe(first.summary.events.stored)
    expect((await verifyCase(dir)).problems).toEqual([])
    // The next run replaces it as usual.
    const again = await collectTimeline(ctx, { sources: [join(src, 'bucket')] })
    expect(again.summary.events.stored).toBe(first.summary.events.stored)
    expect((await verifyCase(dir)).problems).toEqual([])
  })

  it('does not replace a timeline that holds events with a run whose every input was refused', async () => {
    const corpus = generateCorpus({ seed: 17, records: 200, start, end, target, related: 10 })
    const src = await tempDir()
    await writeTrailFiles(
      join(src, 'bucket'),
      packTrailFiles(corpus.records, { account: corpus.account, maxPerFile: 40 }),
    )
    const { ctx, dir, lines } = await timelineContext()
    const first = await collectTimeline(ctx, { sources: [join(src, 'bucket')] })
    expect(first.summary.events.stored).toBe(corpus.records.length)
    const stored = await readFile(join(dir, 'timeline', 'events.jsonl'))
    // A mistaken second run: a file that is not a log (zeros, as from /dev/zero) and a digest file.
    const junk = join(src, 'zeros.json')
    await writeFile(junk, Buffer.alloc(4096))
    const digest = join(src, 'digest', '111122223333_CloudTrail-Digest_eu-west-1_x_20250301T0000Z.json.gz')
    await mkdir(join(src, 'digest'), { recursive: true })
    await writeFile(digest, gzipSync('{"digestStartTime":"2025-03-01T00:00:00Z"}'))
    // Nothing the run was given could be read: bad input (exit 2), the refusals its detail.
    const refused = await collectTimeline(ctx, { sources: [junk, join(src, 'digest')] }).catch((e) => e)
    expect(refused).toBeInstanceOf(UsageError)
    expect(refused.message).toBe(
      `unable to build the timeline: every input was refused (2 files): ${digest}: digest-file: a CloudTrail digest file (log file validation), not a log; ${junk}: invalid-json: not valid JSON: it does not start with { or [`,
    )
    expect(refused.actions[1]).toBe(
      `nothing was stored: the timeline of ${first.summary.startedAt} stays in place`,
    )
    expect(refused.envelopeExtra.result.files.refused).toBe(2)
    expect(refused.envelopeExtra.result.notStored).toMatch(
      /^every input was refused; the timeline of .+ stays in place$/,
    )
    expect(lines.join('\n')).not.toContain('nothing was read')
    expect(await readFile(join(dir, 'timeline', 'events.jsonl'))).toEqual(stored)
    expect(await readdir(join(dir, 'timeline'))).not.toContain('history')
    expect((await verifyCase(dir)).problems).toEqual([])
  })

  it('keeps every character of a record that is not ASCII, in its raw record and its normalised fields', async () => {
    // Each of these characters' low byte is ASCII (中 U+4E2D → "-", U+202E → ".", 😀's surrogates
    // → "=" and NUL, Ā U+0100 → NUL). Lines were written a byte a character and checked for ASCII
    // afterwards, so a line whose only other characters were these passed the check as wrong bytes.
    const texts = ['中', '\u202e', '😀', 'Ā']
    const record = (i: number) => ({
      eventVersion: '1.08',
      userIdentity: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::111122223333:assumed-role/orders-api-role/session-${texts[i]}`,
      },
      eventTime: `2025-03-01T01:00:0${i}Z`,
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionConfiguration20150331v2',
      awsRegion: 'eu-west-1',
      sourceIPAddress: '203.0.113.9',
      userAgent: `agent ${texts[i]}`,
      requestParameters: { functionName: 'orders-api', description: texts[i] },
      responseElements: null,
      eventID: `u-${i}`,
      recipientAccountId: '111122223333',
    })
    const records = [0, 1, 2, 3].map(record)
    const src = await tempDir()
    // As CloudTrail writes it (the hunt keeps the record's own bytes), and pretty-printed (raw is
    // serialised again from the parsed record).
    await writeFile(join(src, 'trail.json.gz'), gzipSync(JSON.stringify({ Records: records.slice(0, 2) })))
    await writeFile(join(src, 'export.json'), JSON.stringify({ Records: records.slice(2) }, null, 2))
    for (const { fn, dir, summary } of await functionAndHunt(src)) {
      expect(summary.events.kept, String(fn)).toBe(4)
      const events = await readEvents(dir)
      expect(
        events.map((e) => e.raw),
        String(fn),
      ).toEqual(records)
      expect(events.map((e) => e.userAgent)).toEqual(records.map((r) => r.userAgent))
      expect(events.map((e) => e.actor.sessionName)).toEqual(texts.map((t) => `session-${t}`))
      expect(events.map((e) => e.requestParameters)).toEqual(records.map((r) => r.requestParameters))
    }
  })

  it('writes C1 controls, bidi overrides and zero-width characters of records as \\u escapes in events.jsonl, findings.json and summary.json', async () => {
    // Before: events.jsonl held the record's bytes as read and findings.json and summary.json
    // what JSON.stringify writes, so U+009B (CSI), U+202E and U+200B from CloudTrail fields (and
    // a file's name) reached the terminal of a responder running cat or grep on them.
    const hostile = '\u009b31mC1\u202eevil\u200bzw'
    const rawBytes = ['c29b', 'e280ae', 'e2808b'] // U+009B, U+202E, U+200B as UTF-8
    const record = (i: number) => ({
      eventVersion: '1.08',
      userIdentity: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::111122223333:assumed-role/orders-api-role/session-${hostile}`,
      },
      eventTime: `2025-03-01T01:00:0${i}Z`,
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      awsRegion: 'eu-west-1',
      sourceIPAddress: '203.0.113.9',
      userAgent: `agent ${hostile}`,
      requestParameters: { functionName: 'orders-api', [`note${hostile}`]: hostile },
      responseElements: null,
      eventID: `h-${i}`,
      recipientAccountId: '111122223333',
    })
    const records = [0, 1, 2].map(record)
    const src = await tempDir()
    // Each way a record is read: its bytes kept (the characters raw, and spelt as \u escapes) and
    // serialised again from the parsed record (pretty-printed); and a file refused, named with them.
    await writeFile(join(src, 'trail.json.gz'), gzipSync(JSON.stringify({ Records: [records[0]] })))
    await writeFile(
      join(src, 'escaped.json'),
      JSON.stringify({ Records: [records[1]] }).replace(
        /[\u009b\u202e\u200b]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      ),
    )
    await writeFile(join(src, 'pretty.json'), JSON.stringify({ Records: [records[2]] }, null, 2))
    await writeFile(join(src, `bad${hostile}.json`), 'not json')
    for (const { fn, dir, summary } of await functionAndHunt(src)) {
      expect(summary.events.kept, String(fn)).toBe(3)
      for (const file of ['events.jsonl', 'findings.json', 'summary.json']) {
        const bytes = await readFile(join(dir, 'timeline', file))
        expect(
          rawBytes.filter((hex) => bytes.includes(Buffer.from(hex, 'hex'))),
          `${file} (${fn})`,
        ).toEqual([])
        expect(bytes.toString(), `${file} (${fn})`).toContain('\\u009b31mC1\\u202eevil\\u200bzw')
      }
      const events = await readEvents(dir)
      expect(events.map((e) => e.raw)).toEqual(records)
      expect(events.map((e) => e.userAgent)).toEqual(records.map((r) => r.userAgent))
      expect(events.map((e) => e.requestParameters)).toEqual(records.map((r) => r.requestParameters))
      const findings = JSON.parse(await readFile(join(dir, 'timeline', 'findings.json'), 'utf8'))
      expect(findings.length).toBeGreaterThan(0)
      expect(findings[0].actor).toBe(records[0]!.userIdentity.arn)
      const stored = JSON.parse(await readFile(join(dir, 'timeline', 'summary.json'), 'utf8'))
      expect(JSON.stringify(stored.problemFiles)).toContain(`bad${hostile}.json`)
      const verified = await verifyCase(dir)
      expect(verified.problems, String(fn)).toEqual([])
    }
  })

  it('keeps what relatedness keeps though the pre-filter reads bytes: a role name in another case, a name spelt with an escape', async () => {
    const session = (id: string, role: string) =>
      `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/${role}/attacker","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/${role}","userName":"${role}"}}},"eventTime":"2025-03-01T02:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.50","userAgent":"aws-cli/2","requestID":"req-${id}","eventID":"${id}","recipientAccountId":"111122223333"}`
    const src = await tempDir()
    // A trail file of a region without IAM events, holding only the upper-case spelling.
    await writeFile(
      join(src, '111122223333_CloudTrail_eu-west-1_20250301T0205Z_abcdefghijklmnop.json'),
      `{"Records":[${session('upper-case', 'ORDERS-API-ROLE')}]}`,
    )
    await writeFile(
      join(src, 'escaped.json'),
      `{"Records":[{"eventVersion":"1.08","eventTime":"2025-03-01T03:00:00Z","eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionCode20150331v2","awsRegion":"eu-west-1","requestParameters":{"functionName":"orders\\u002dapi"},"eventID":"escaped-function","recipientAccountId":"111122223333"},${session('escaped-role', 'orders\\u002dapi\\u002drole')}]}`,
    )
    const { ctx, dir } = await timelineContext()
    const { summary } = await collectTimeline(ctx, {
      function: 'orders-api',
      roles: ['orders-api-role'],
      sources: [src],
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-01T12:00:00Z',
    })
    expect((await readEvents(dir)).map((e) => e.id).sort()).toEqual([
      'escaped-function',
      'escaped-role',
      'upper-case',
    ])
    expect(summary.files.prefiltered).toBe(0)
  })

  it('names a role swap seen in trail files, whose new role the files were not read for, with the command that adds its calls', async () => {
    // Before: the swap event was kept, the new role's calls were 'unrelated', and nothing said so
    // (the api source follows a swap; trail files are read with the roles known at the start).
    const record = (id: string, time: string, body: string) =>
      `{"eventVersion":"1.08","eventTime":"${time}","awsRegion":"eu-west-1","eventID":"${id}","recipientAccountId":"111122223333",${body}}`
    const src = await tempDir()
    await writeFile(
      join(src, 'swap.json'),
      `{"Records":[${[
        record(
          'swap-1',
          '2025-03-01T02:00:00Z',
          '"eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionConfiguration20150331v2","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/x"},"requestParameters":{"functionName":"orders-api","role":"arn:aws:iam::111122223333:role/evil-role"}',
        ),
        // Another function's role changed with this function's role credentials: related (the
        // role's session), but no swap of this function's role.
        record(
          'other-fn-1',
          '2025-03-01T02:30:00Z',
          '"eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionConfiguration20150331v2","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/orders-api-role/orders-api"},"requestParameters":{"functionName":"billing","role":"arn:aws:iam::111122223333:role/billing-role"}',
        ),
        record(
          'evil-1',
          '2025-03-01T03:00:00Z',
          '"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/evil-role/orders-api"}',
        ),
      ].join(',')}]}`,
    )
    const { ctx, dir } = await timelineContext()
    const { summary } = await collectTimeline(ctx, {
      function: 'orders-api',
      roles: ['orders-api-role'],
      sources: [src],
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-01T12:00:00Z',
    })
    expect((await readEvents(dir)).map((e) => e.id)).toEqual(['swap-1', 'other-fn-1'])
    expect(summary.notes.filter((n) => n.startsWith("the function's role was changed"))).toHaveLength(1)
    const note = summary.notes.find((n) => n.startsWith("the function's role was changed to evil-role"))
    expect(note).toBe(
      `the function's role was changed to evil-role at 2025-03-01T02:00:00.000Z (event swap-1): trail files were read with the roles known at the start, so calls made with evil-role are not in this timeline; to add them, run the timeline again with that role too: fir timeline orders-api --case ${ctx.case.dir} --role evil-role --source ${src} --since 2025-03-01T00:00:00Z --until 2025-03-01T12:00:00Z`,
    )
  })

  it('skips a record whose eventTime is a day the month does not have, rather than moving it to the next month', async () => {
    const record = (id: string, eventTime: string) => ({
      eventVersion: '1.08',
      eventTime,
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      eventID: id,
      requestParameters: { functionName: 'orders-api' },
    })
    const src = await tempDir()
    await writeFile(
      join(src, 'days.json'),
      JSON.stringify({
        Records: [
          record('31-april', '2025-04-31T10:00:00Z'),
          record('30-february', '2025-02-30T10:00:00.000Z'),
          // 2025 is not a leap year: Date.parse made this 1 March, inside the window.
          record('29-february', '2025-02-29T12:00:00Z'),
          record('1-march', '2025-03-01T01:00:00Z'),
        ],
      }),
    )
    const runs = []
    for (const fn of ['orders-api', undefined]) {
      const { ctx, dir } = await timelineContext()
      const { summary } = await collectTimeline(ctx, {
        ...(fn ? { function: fn } : {}),
        sources: [src],
        since: '2025-02-01T00:00:00Z',
        until: '2025-06-01T00:00:00Z',
      })
      runs.push({ fn, dir, summary })
    }
    for (const { fn, dir, summary } of runs) {
      expect(summary.skipped, String(fn)).toEqual({ 'no-event-time': 3 })
      expect((await readEvents(dir)).map((e) => e.id)).toEqual(['1-march'])
    }
  })

  it('skips a record nested deeper than can be stored, and keeps the rest (it used to end the run)', async () => {
    const { MAX_RECORD_DEPTH, nestedDeeperThan } = await import('../../../src/core/timeline/file-task.js')
    const nest = (depth: number) => {
      let v: unknown = 1
      for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v }
      return v
    }
    expect(nestedDeeperThan(nest(MAX_RECORD_DEPTH), MAX_RECORD_DEPTH)).toBe(false)
    expect(nestedDeeperThan(nest(MAX_RECORD_DEPTH + 1), MAX_RECORD_DEPTH)).toBe(true)
    const record = (id: string, requestParameters: unknown) => ({
      eventVersion: '1.08',
      eventTime: '2025-03-01T01:00:00Z',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      eventID: id,
      resources: [{ ARN: 'arn:aws:lambda:eu-west-1:111122223333:function:orders-api' }],
      requestParameters,
    })
    const src = await tempDir()
    // JSON.parse reads it; serialising it overflowed the stack (RangeError, exit 1).
    const deep = `{"functionName":"orders-api","x":${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}}`
    await writeFile(
      join(src, 'deep.json'),
      `{"Records":[${JSON.stringify(record('deep', null)).replace('"requestParameters":null', `"requestParameters":${deep}`)},${JSON.stringify(record('ok', { functionName: 'orders-api', x: nest(MAX_RECORD_DEPTH - 2) }))}]}`,
    )
    for (const { fn, dir, summary } of await functionAndHunt(src)) {
      expect(summary.skipped, String(fn)).toEqual({ 'too-deep': 1 })
      expect((await readEvents(dir)).map((e) => e.id)).toEqual(['ok'])
    }
  })

  it('adds up its counts: every record read is in exactly one bucket, and the files partition their total', async () => {
    // Before: a record nested too deep was counted as read and then only under skipped, so
    // "17 read, 16 in the timeline (0 duplicates merged, 0 outside the window, 0 unrelated)"; and
    // the files outside the window by delivery time were listed as a part of a total they are not in.
    const src = await tempDir()
    const rec = (id: string, time: string, over: Record<string, unknown> = {}) => ({
      eventVersion: '1.08',
      eventTime: time,
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      awsRegion: 'eu-west-1',
      requestParameters: { functionName: 'orders-api' },
      eventID: id,
      ...over,
    })
    const deep = `{"functionName":"orders-api","x":${'{"a":'.repeat(300)}1${'}'.repeat(300)}}`
    const trailName = (stamp: string) => `111122223333_CloudTrail_eu-west-1_${stamp}Z_AAAAAAAAAAAAAAAA.json`
    const records = [
      rec('r1', '2025-03-01T11:50:00Z'),
      rec('u1', '2025-03-01T11:51:00Z', {
        eventSource: 's3.amazonaws.com',
        eventName: 'GetObject',
        requestParameters: { bucketName: 'b' },
      }),
      rec('o1', '2025-03-01T12:30:00Z'),
      { ...rec('no-time', '2025-03-01T11:52:00Z'), eventTime: undefined },
    ]
    await writeFile(
      join(src, trailName('20250301T1155')),
      `{"Records":[${records.map((r) => JSON.stringify(r)).join(',')},${JSON.stringify(rec('deep', '2025-03-01T11:53:00Z', { requestParameters: null })).replace('"requestParameters":null', `"requestParameters":${deep}`)}]}`,
    )
    await writeFile(join(src, 'copy.json'), JSON.stringify({ Records: [rec('r1', '2025-03-01T11:50:00Z')] }))
    await writeFile(join(src, 'other.json'), JSON.stringify({ Records: [records[1]] }))
    await writeFile(
      join(src, trailName('20250302T0000')),
      JSON.stringify({ Records: [rec('late', '2025-03-02T00:00:00Z')] }),
    )
    await writeFile(join(src, 'broken.json'), '{"Records":[')
    await writeFile(join(src, 'README.md'), '# not read')
    const { renderTimelineSummary } = await import('../../../src/core/timeline/summary-text.js')
    for (const { fn, summary } of await functionAndHunt(src)) {
      const e = summary.events
      expect(e.read, String(fn)).toBe(e.stored + e.duplicates + e.outsideWindow + e.unrelated)
      expect(e.kept, String(fn)).toBe(e.stored + e.duplicates)
      expect(summary.files.total, String(fn)).toBe(
        summary.files.read + summary.files.prefiltered + summary.files.refused,
      )
      expect(summary.skipped, String(fn)).toEqual({ 'too-deep': 1, 'no-event-time': 1, 'invalid-json': 1 })
      expect(summary.files.outsideWindow, String(fn)).toBe(1)
      expect(summary.files.ignored, String(fn)).toBe(1)
      const text = renderTimelineSummary(summary, [])
      if (fn) {
        // other.json holds nothing related: ruled out unread; u1 in the trail file is read, unrelated.
        expect(e).toMatchObject({ read: 4, stored: 1, duplicates: 1, outsideWindow: 1, unrelated: 1 })
        expect(summary.files).toMatchObject({ total: 4, read: 2, prefiltered: 1, refused: 1 })
        expect(text).toContain(
          'events    4 read: 1 in the timeline, 1 duplicates merged, 1 outside the window, 1 unrelated',
        )
        expect(text).toMatch(
          /^files {5}4 \(2 parsed, 1 ruled out by the pre-filter, 1 refused\), .* uncompressed; not read: 1 outside the window by delivery time, 1 not \.json\/\.jsonl\/\.gz$/m,
        )
      } else {
        expect(e).toMatchObject({ read: 5, stored: 2, duplicates: 2, outsideWindow: 1, unrelated: 0 })
        expect(summary.files).toMatchObject({ total: 4, read: 3, prefiltered: 0, refused: 1 })
      }
    }
  })

  it("keeps another account's events that reuse the function's and role's names out of the function's timeline and the hunt's findings", async () => {
    // An organisation trail: prod (111122223333) and dev (999988887777) use the same names.
    const record = (id: string, account: string, minute: number, over: Record<string, unknown>) => ({
      eventVersion: '1.08',
      userIdentity: {
        type: 'IAMUser',
        arn: `arn:aws:iam::${account}:user/alice`,
        accountId: account,
        accessKeyId: 'AKIAALICE',
      },
      eventTime: `2025-03-01T01:${String(minute).padStart(2, '0')}:00Z`,
      awsRegion: 'us-east-1',
      sourceIPAddress: '198.51.100.7',
      userAgent: 'aws-cli/2',
      requestID: `req-${id}`,
      eventID: id,
      readOnly: false,
      recipientAccountId: account,
      ...over,
    })
    const session = (account: string) => ({
      type: 'AssumedRole',
      arn: `arn:aws:sts::${account}:assumed-role/orders-api-role/orders-api`,
      accountId: account,
      accessKeyId: `ASIA${account}`,
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${account}:role/orders-api-role` },
      },
    })
    const lambdaAssume = record('assume', '111122223333', 0, {
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      userIdentity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' },
      sourceIPAddress: 'lambda.amazonaws.com',
      userAgent: 'lambda.amazonaws.com',
      requestParameters: {
        roleArn: 'arn:aws:iam::111122223333:role/orders-api-role',
        roleSessionName: 'orders-api',
      },
    })
    const dev = [
      record('dev-put', '999988887777', 1, {
        eventSource: 'iam.amazonaws.com',
        eventName: 'PutRolePolicy',
        requestParameters: { roleName: 'orders-api-role', policyName: 'p', policyDocument: '{}' },
      }),
      record('dev-session', '999988887777', 2, {
        eventSource: 's3.amazonaws.com',
        eventName: 'GetObject',
        userIdentity: session('999988887777'),
        sourceIPAddress: '203.0.113.88',
        requestParameters: { bucketName: 'b' },
      }),
      record('dev-swap', '999988887777', 3, {
        eventSource: 'lambda.amazonaws.com',
        eventName: 'UpdateFunctionConfiguration20150331v2',
        requestParameters: { functionName: 'orders-api', role: 'arn:aws:iam::999988887777:role/evil' },
      }),
    ]
    const prodSession = record('prod-session', '111122223333', 4, {
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      userIdentity: session('111122223333'),
      sourceIPAddress: '203.0.113.88',
      requestParameters: { bucketName: 'b' },
    })
    const src = await tempDir()
    await writeFile(join(src, 'org.json'), JSON.stringify({ Records: [lambdaAssume, ...dev, prodSession] }))
    const window = { sources: [src], since: '2025-03-01T00:00:00Z', until: '2025-03-01T12:00:00Z' }

    const fn = await timelineContext()
    await collectTimeline(fn.ctx, {
      ...window,
      function: 'arn:aws:lambda:us-east-1:111122223333:function:orders-api',
      roles: ['arn:aws:iam::111122223333:role/orders-api-role'],
    })
    const fnEvents = await readEvents(fn.dir)
    expect(fnEvents.map((e) => e.id)).toEqual(['assume', 'prod-session'])
    expect(fnEvents[1]!.findings.map((f) => f.title)).toContain(
      'Function Role Credentials Used Outside Lambda',
    )

    // The hunt learns the role from Lambda's AssumeRole in prod: dev's session of its namesake is not it.
    const hunt = await timelineContext()
    await collectTimeline(hunt.ctx, window)
    const flagged = (await readEvents(hunt.dir))
      .filter((e) => e.findings.some((f) => f.title === 'Function Role Credentials Used Outside Lambda'))
      .map((e) => e.id)
    expect(flagged).toEqual(['prod-session'])
  })

  it("gives fir's own calls no findings: not in events, findings.json, the counts or the report's first detection", async () => {
    const ACCOUNT = '111122223333'
    const ROLE = `arn:aws:iam::${ACCOUNT}:role/orders-api-role`
    const responder = { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/responder`, accountId: ACCOUNT }
    const record = (id: string, minute: number, over: Record<string, unknown>) => ({
      eventVersion: '1.08',
      userIdentity: responder,
      eventTime: `2025-03-01T01:${String(minute).padStart(2, '0')}:00Z`,
      awsRegion: 'us-east-1',
      sourceIPAddress: '192.0.2.10',
      userAgent: 'aws-sdk-js/3',
      requestID: `req-${id}`,
      eventID: id,
      readOnly: false,
      recipientAccountId: ACCOUNT,
      ...over,
    })
    const swap = (id: string, minute: number, role: string, identity = responder) =>
      record(id, minute, {
        eventSource: 'lambda.amazonaws.com',
        eventName: 'UpdateFunctionConfiguration20150331v2',
        userIdentity: identity,
        requestParameters: { functionName: 'orders-api', role },
      })
    const assume = (id: string, minute: number, identity = responder) =>
      record(id, minute, {
        eventSource: 'sts.amazonaws.com',
        eventName: 'AssumeRole',
        userIdentity: identity,
        requestParameters: { roleArn: ROLE, roleSessionName: 'check' },
      })
    const alice = { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT }
    const records = [
      // fir's own (request ids journaled): a restore of the role (a stateless rule would fire), an
      // AssumeRole of the function's role (a detector rule would), then a call signed by that
      // session (a detector rule and a correlation would).
      swap('fir-restore', 0, ROLE),
      assume('fir-assume', 1),
      record('fir-session', 2, {
        eventSource: 's3.amazonaws.com',
        eventName: 'ListBuckets',
        readOnly: true,
        userIdentity: {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${ACCOUNT}:assumed-role/orders-api-role/check`,
          accountId: ACCOUNT,
          accessKeyId: 'ASIAFIRCHECK',
          sessionContext: { sessionIssuer: { type: 'Role', arn: ROLE } },
        },
      }),
      // The attacker's, later, from the same address (an office's NAT, say): fir's use of the
      // role's credentials there is no evidence against another identity.
      swap('swap', 10, `arn:aws:iam::${ACCOUNT}:role/evil`, alice),
      assume('assume', 11, alice),
    ]
    const src = await tempDir()
    await writeFile(join(src, 'trail.json'), JSON.stringify({ Records: records }))
    const { ctx, dir } = await timelineContext()
    await ctx.case.journal.append({
      action: 'containment.restore',
      target: 'orders-api',
      params: {},
      outcome: 'applied',
      requestIds: ['req-fir-restore', 'req-fir-assume', 'req-fir-session'],
    })
    const { summary, findings } = await collectTimeline(ctx, {
      function: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:orders-api`,
      roles: [ROLE],
      sources: [src],
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-01T12:00:00Z',
    })
    const events = await readEvents(dir)
    expect(events.map((e) => [e.id, e.fir, e.findings.length > 0])).toEqual([
      ['fir-restore', true, false],
      ['fir-assume', true, false],
      ['fir-session', true, false],
      ['swap', false, true],
      ['assume', false, true],
    ])
    expect(new Set(findings.map((f) => f.eventId))).toEqual(new Set(['swap', 'assume']))
    expect(findings.map((f) => f.rule)).not.toContain('fir-timeline-call-from-stolen-credentials-address')
    const stored = JSON.parse(await readFile(join(dir, 'timeline', 'findings.json'), 'utf8'))
    expect(stored).toEqual(findings)
    expect(summary.findings.total).toBe(findings.length)
    expect(summary.findings.events).toBe(2)
    expect(summary.findings.byRule.reduce((n, r) => n + r.count, 0)).toBe(findings.length)

    const report = await buildReportModel(dir, { firVersion: 'test' })
    expect(report.summary.firstDetection).toBe('2025-03-01T01:10:00.000Z')
    expect(report.summary.firstDetectionTitle).toBe('Lambda Function Layers Or Execution Role Changed')
  })

  it('streams a large input record by record (same result as reading it whole)', async () => {
    const corpus = generateCorpus({ seed: 12, records: 3000, start, end, target, related: 60 })
    const src = await tempDir()
    const big = join(src, 'export.jsonl.gz')
    await writeFile(big, gzipSync(corpus.records.map((r) => JSON.stringify(r)).join('\n')))
    const whole = join(src, 'whole.json')
    await writeFile(whole, JSON.stringify({ Records: corpus.records }))
    const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
    const setup = {
      mode: 'related' as const,
      window: { start: null, end: null },
      target: { functionName: 'orders-api', account: corpus.account, roles: [{ name: 'orders-api-role' }] },
      firRequestIds: [],
      ruleDirs: [],
    }
    const p = new FileProcessor(setup, null)
    const parts: string[] = []
    const streamed = await p.processStream(
      { seq: 0, display: big, origin: 'file', path: big },
      (part) => {
        parts.push(...part.related.map((r) => r.id))
      },
      10,
    )
    const wholeResult = p.processWhole({ seq: 1, display: whole, origin: 'file', path: whole })
    expect(streamed.kept).toBe(corpus.related.size)
    expect(new Set(parts)).toEqual(new Set(wholeResult.related.map((r) => r.id)))
    expect(new Set(parts)).toEqual(new Set(corpus.related.keys()))
    const streamedJson = await p.processStream(
      { seq: 2, display: whole, origin: 'file', path: whole },
      () => undefined,
    )
    expect(streamedJson.kept).toBe(corpus.related.size)
  })
})

describe('a record that claims the eventID of another at another time', () => {
  it('is kept beside it, counted as conflicting, and warned about (a function run)', async () => {
    const { ctx, lines } = await timelineContext()
    const dir = await tempDir()
    const record = {
      eventVersion: '1.10',
      eventTime: '2025-03-01T10:00:00Z',
      eventName: 'UpdateFunctionCode20150331v2',
      eventSource: 'lambda.amazonaws.com',
      awsRegion: 'us-east-1',
      requestParameters: { functionName: 'orders-api' },
      eventID: 'd1d1d1d1-0000-4000-8000-000000000001',
    }
    await writeFile(join(dir, 'a.json'), JSON.stringify({ Records: [record] }))
    await writeFile(
      join(dir, 'c.json'),
      JSON.stringify({ Records: [{ ...record, eventTime: '2025-03-01T11:00:00Z' }] }),
    )
    const run = await collectTimeline(ctx, { function: 'orders-api', sources: [dir] })
    expect(run.summary.events.stored).toBe(2)
    expect(run.summary.events.duplicates).toBe(0)
    expect(run.summary.events.conflicting).toEqual({ count: 1, ids: [record.eventID] })
    expect(lines.join('\n')).toMatch(
      /1 record claims the eventID of another record at another time \(d1d1d1d1-/,
    )
  })
})

/** One UpdateFunctionCode of orders-api by user dev, as a trail file records it. */
function updateCodeRecord(eventID: string, eventTime: string) {
  return {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/dev', accountId: '111122223333' },
    eventTime,
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionCode20150331v2',
    awsRegion: 'eu-west-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2',
    requestParameters: { functionName: 'orders-api' },
    eventID,
    recipientAccountId: '111122223333',
  }
}

describe('the same record from two sources, and an altered copy of it', () => {
  it('is kept once beside the altered copy, whatever the order of --source', async () => {
    // Before: the merge compared a record with the line before it only, so the order a1, b, a2
    // kept 3 events (a2 was compared with b) and a1, a2, b kept 2.
    const dir = await tempDir()
    const a = updateCodeRecord('d01', '2026-11-29T10:00:00Z')
    const files = {
      a1: join(dir, 'a1.json'),
      b: join(dir, 'b.json'),
      // the same record, its fields in another order: a copy, though not byte for byte
      a2: join(dir, 'a2.jsonl'),
    }
    await writeFile(files.a1, JSON.stringify({ Records: [a] }))
    await writeFile(files.b, JSON.stringify({ Records: [{ ...a, userAgent: 'forged' }] }))
    await writeFile(files.a2, JSON.stringify(Object.fromEntries(Object.entries(a).reverse())))
    for (const order of [
      ['a1', 'b', 'a2'],
      ['a1', 'a2', 'b'],
      ['b', 'a1', 'a2'],
      ['a2', 'b', 'a1'],
    ] as const) {
      const { ctx } = await timelineContext()
      const run = await collectTimeline(ctx, {
        function: 'orders-api',
        roles: ['orders-api-role'],
        sources: order.map((k) => files[k]),
      })
      expect(run.summary.events.stored, order.join(' ')).toBe(2)
      expect(run.summary.events.duplicates, order.join(' ')).toBe(1)
      expect(run.summary.events.conflicting, order.join(' ')).toEqual({ count: 1, ids: ['d01'] })
    }
  })
})

describe('the same record with its eventTime spelt two ways', () => {
  it('is one record, not a conflict, in a function run and a hunt; a copy that differs in another field still is one', async () => {
    // A trail file writes `…10:00:00Z`; another export of the same record `…10:00:00.000Z`.
    // Before: the two were fingerprinted apart, both stored, and warned about as an altered copy.
    const dir = await tempDir()
    const a = updateCodeRecord('d02', '2025-03-01T10:00:00Z')
    const millis = { ...a, eventTime: '2025-03-01T10:00:00.000Z' }
    const files = {
      trail: join(dir, 'trail.json'),
      export: join(dir, 'export.jsonl'),
      altered: join(dir, 'altered.jsonl'),
    }
    await writeFile(files.trail, JSON.stringify({ Records: [a] }))
    await writeFile(files.export, `${JSON.stringify(millis)}\n`)
    await writeFile(files.altered, `${JSON.stringify({ ...millis, sourceIPAddress: '203.0.113.66' })}\n`)
    for (const fn of ['orders-api', undefined]) {
      const same = await timelineContext()
      const run = await collectTimeline(same.ctx, {
        ...(fn ? { function: fn, roles: ['orders-api-role'] } : {}),
        sources: [files.trail, files.export],
      })
      expect(run.summary.events.stored, String(fn)).toBe(1)
      expect(run.summary.events.duplicates, String(fn)).toBe(1)
      expect(run.summary.events.conflicting, String(fn)).toEqual({ count: 0, ids: [] })
      expect(same.lines.join('\n'), String(fn)).not.toMatch(/eventID with another record/)
      // The record as the source named first spelt it.
      expect((await readEvents(same.dir)).map((e) => e.raw?.eventTime)).toEqual(['2025-03-01T10:00:00Z'])
      const report = await buildReportModel(same.dir, { firVersion: 'test' })
      expect(report.timeline.conflicting, String(fn)).toBeNull()

      const altered = await timelineContext()
      const both = await collectTimeline(altered.ctx, {
        ...(fn ? { function: fn, roles: ['orders-api-role'] } : {}),
        sources: [files.trail, files.export, files.altered],
      })
      expect(both.summary.events.stored, String(fn)).toBe(2)
      expect(both.summary.events.duplicates, String(fn)).toBe(1)
      expect(both.summary.events.conflicting, String(fn)).toEqual({ count: 1, ids: ['d02'] })
      expect(altered.lines.join('\n'), String(fn)).toMatch(
        /1 record shares a time and eventID with another record but not its content \(d02\)/,
      )
      const alteredReport = await buildReportModel(altered.dir, { firVersion: 'test' })
      expect(alteredReport.timeline.conflicting, String(fn)).toMatchObject({ count: 1, ids: ['d02'] })
    }
  })
})

/** A plain CloudTrail record in the window of every test here. */
const ok = (id: string) => ({
  eventVersion: '1.10',
  eventTime: '2025-03-01T00:00:00Z',
  eventName: 'GetObject',
  eventSource: 's3.amazonaws.com',
  eventID: id,
})

/** The file pipeline of an account-wide hunt (every record kept), without rules. */
async function huntProcessor() {
  const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
  return new FileProcessor(
    { mode: 'all', window: { start: null, end: null }, target: null, firRequestIds: [], ruleDirs: [] },
    null,
  )
}

describe('elements of a records array that are not records', () => {
  it('are counted as not-cloudtrail, read whole or streamed (a pipe passed them over uncounted)', async () => {
    const dir = await tempDir()
    const path = join(dir, 'odd.json')
    await writeFile(path, JSON.stringify({ Records: [ok('a'), 5, 'str', null, [1], ok('b')] }))
    const p = await huntProcessor()
    const lines: string[] = []
    const streamed = await p.processStream({ seq: 0, display: path, origin: 'file', path }, (part) => {
      lines.push(...part.lines.map((l) => l.id))
    })
    const whole = p.processWhole({ seq: 1, display: path, origin: 'file', path })
    expect(lines).toEqual(['a', 'b'])
    expect(streamed.skipped).toEqual({ 'not-cloudtrail': 4 })
    expect(whole.skipped).toEqual({ 'not-cloudtrail': 4 })
  })
})

describe('a record whose eventTime is a number no date can hold', () => {
  it('is skipped as having no event time, read whole or streamed, and the records after it are kept', async () => {
    const dir = await tempDir()
    const records = [
      ok('a'),
      { ...ok('bad'), eventTime: 1e20 },
      ok('b'),
      { ...ok('neg'), eventTime: -8640000000001 },
      ok('c'),
    ]
    const jsonl = join(dir, 'mixed.jsonl')
    await writeFile(jsonl, records.map((r) => JSON.stringify(r)).join('\n'))
    const whole = join(dir, 'mixed.json')
    await writeFile(whole, JSON.stringify({ Records: records }))
    const p = await huntProcessor()
    const lines: string[] = []
    const streamed = await p.processStream(
      { seq: 0, display: jsonl, origin: 'file', path: jsonl },
      (part) => {
        lines.push(...part.lines.map((l) => l.id))
      },
    )
    expect(streamed.cutShort).toBeUndefined()
    expect(streamed.skipped).toEqual({ 'no-event-time': 2 })
    expect(lines).toEqual(['a', 'b', 'c'])
    for (const path of [jsonl, whole]) {
      const r = p.processWhole({ seq: 1, display: path, origin: 'file', path })
      expect(r.refused).toBeUndefined()
      expect(r.skipped).toEqual({ 'no-event-time': 2 })
      expect(r.lines.map((l) => l.id)).toEqual(['a', 'b', 'c'])
    }
  })
})

describe('inputs read as a stream', () => {
  const setup = {
    mode: 'related' as const,
    window: { start: null, end: null },
    target: { functionName: 'orders-api', roles: [{ name: 'orders-api-role' }] },
    firRequestIds: [],
    ruleDirs: [],
  }

  /** A named pipe that `content` is written into once a reader opens it. */
  async function fifo(dir: string, name: string, content: Buffer): Promise<string> {
    const path = join(dir, name)
    const made = spawnSync('mkfifo', [path])
    expect(made.status).toBe(0)
    const out = createWriteStream(path)
    out.end(content)
    return path
  }

  it('reads a pipe once, gzip or not, in parts (memory stays bounded), as it reads the same bytes from a file', async () => {
    const corpus = generateCorpus({ seed: 13, records: 3000, start, end, target, related: 60 })
    const text = Buffer.from(JSON.stringify({ Records: corpus.records }))
    const dir = await tempDir()
    const whole = join(dir, 'whole.json')
    await writeFile(whole, text)
    const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
    const p = new FileProcessor(setup, null)
    const expected = new Set(
      p.processWhole({ seq: 0, display: whole, origin: 'file', path: whole }).related.map((r) => r.id),
    )
    expect(expected.size).toBe(corpus.related.size)
    for (const [name, bytes] of [
      ['plain', text],
      ['gzip', gzipSync(text)],
    ] as const) {
      const path = await fifo(dir, name, bytes)
      const ids: string[] = []
      let parts = 0
      const r = await p.process(
        { seq: 1, display: path, origin: 'file', path, size: -1, pipe: true },
        (part) => {
          parts++
          ids.push(...part.related.map((x) => x.id))
        },
      )
      ids.push(...r.related.map((x) => x.id))
      expect(r.refused, name).toBeUndefined()
      expect(r.bytes, name).toBe(bytes.length)
      expect(r.uncompressedBytes, name).toBe(text.length)
      expect(new Set(ids), name).toEqual(expected)
      expect(ids, name).toHaveLength(expected.size)
      // Streamed: related records left in parts as they were found, not in one result at the end.
      expect(parts, name).toBeGreaterThan(0)
    }
  })

  it('skips a UTF-8 byte order mark in every path: whole, streamed, piped, JSON Lines, gzip or not', async () => {
    // Before: a small file with a BOM was read, the same bytes piped or over 48 MiB (streamed) were
    // refused ("it does not start with { or ["), and a pretty-printed one was refused even whole.
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    const dir = await tempDir()
    const p = await huntProcessor()
    const inputs: [string, Buffer][] = [
      ['one-line.json', Buffer.from(JSON.stringify({ Records: [ok('a'), ok('b')] }))],
      ['pretty.json', Buffer.from(JSON.stringify({ Records: [ok('a'), ok('b')] }, null, 2))],
      ['lines.jsonl', Buffer.from(`${JSON.stringify(ok('a'))}\n${JSON.stringify(ok('b'))}\n`)],
      // Files that each begin with a BOM, concatenated (`cat a.jsonl b.jsonl`): one at the start of
      // a later line too. Before: b was skipped as invalid JSON (streamed as JSON Lines), or its
      // BOM counted as invalid JSON (piped, or streamed under another name).
      ['cat.jsonl', Buffer.from(`${JSON.stringify(ok('a'))}\r\n\ufeff${JSON.stringify(ok('b'))}\r\n`)],
      ['cat-lines.json', Buffer.from(`${JSON.stringify(ok('a'))}\n\ufeff${JSON.stringify(ok('b'))}\n`)],
      [
        'cat-trail.json',
        Buffer.from(
          `${JSON.stringify({ Records: [ok('a')] })}\n\ufeff${JSON.stringify({ Records: [ok('b')] })}\n`,
        ),
      ],
    ]
    for (const [name, text] of inputs) {
      for (const [label, bytes] of [
        [name, Buffer.concat([bom, text])],
        [`${name}.gz`, gzipSync(Buffer.concat([bom, text]))],
      ] as const) {
        const path = join(dir, label)
        await writeFile(path, bytes)
        const whole = p.processWhole({ seq: 0, display: path, origin: 'file', path })
        expect(whole.refused, `${label} whole`).toBeUndefined()
        expect(whole.skipped, `${label} whole`).toEqual({})
        expect(
          whole.lines.map((l) => l.id),
          `${label} whole`,
        ).toEqual(['a', 'b'])
        const ids: string[] = []
        const streamed = await p.processStream({ seq: 1, display: path, origin: 'file', path }, (part) => {
          ids.push(...part.lines.map((l) => l.id))
        })
        expect(streamed.refused, `${label} streamed`).toBeUndefined()
        expect(streamed.skipped, `${label} streamed`).toEqual({})
        expect(ids, `${label} streamed`).toEqual(['a', 'b'])
        const pipe = await fifo(dir, `pipe-${label}`, bytes)
        const piped: string[] = []
        const r = await p.process(
          { seq: 2, display: pipe, origin: 'file', path: pipe, size: -1, pipe: true },
          (part) => {
            piped.push(...part.lines.map((l) => l.id))
          },
        )
        piped.push(...r.lines.map((l) => l.id))
        expect(r.refused, `${label} piped`).toBeUndefined()
        expect(r.skipped, `${label} piped`).toEqual({})
        expect(piped, `${label} piped`).toEqual(['a', 'b'])
      }
    }
    // Anywhere else in a line a BOM is not JSON, read whole or streamed: at its end, or after white space.
    for (const [name, text] of [
      ['end.jsonl', `${JSON.stringify(ok('a'))}\ufeff\n${JSON.stringify(ok('b'))}\n`],
      ['spaced.jsonl', `${JSON.stringify(ok('a'))}\n \ufeff${JSON.stringify(ok('b'))}\n`],
      ['spaced.json', `${JSON.stringify(ok('a'))}\n \ufeff${JSON.stringify(ok('b'))}\n`],
    ] as const) {
      const path = join(dir, name)
      await writeFile(path, text)
      const task = { seq: 0, display: path, origin: 'file' as const, path }
      for (const r of [p.processWhole(task), await p.processStream(task, () => undefined)])
        expect(r.skipped, name).toEqual({ 'invalid-json': 1 })
    }
  })

  it('takes a named pipe as a source (`--source <(zcat …)`, a FIFO): the whole timeline, read once', async () => {
    const corpus = generateCorpus({ seed: 15, records: 1500, start, end, target, related: 40 })
    const { ctx, dir } = await timelineContext()
    const src = await tempDir()
    const bytes = gzipSync(JSON.stringify({ Records: corpus.records }))
    const path = await fifo(src, 'trail.json.gz', bytes)
    const { summary } = await collectTimeline(ctx, {
      function: 'orders-api',
      roles: ['orders-api-role'],
      sources: [path],
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-01T12:00:00Z',
    })
    expect(summary.files.refused).toBe(0)
    expect(new Set((await readEvents(dir)).map((e) => e.id))).toEqual(new Set(corpus.related.keys()))
    // It cannot be read again: the case keeps the bytes read from it, journaled, as they came.
    const rel = `timeline/raw/${summary.startedAt.replace(/[-:]/g, '')}/piped-1-${path.slice(1, -'.json.gz'.length).replaceAll('/', '-')}.json.gz`
    expect(summary.outputs.raw).toBe(rel.slice(0, rel.lastIndexOf('/')))
    expect(summary.notes).toContain(`${path} is read once: the bytes read from it are kept in ${rel}`)
    expect(Buffer.compare(await readFile(join(dir, rel)), bytes)).toBe(0)
    // Readable by its owner only, as every file in a case (it was 0644 under umask 022).
    expect((await stat(join(dir, rel))).mode & 0o777).toBe(0o600)
    const recorded = ctx.case.journal
      .all()
      .filter((e) => e.action === 'case.artifact')
      .map((e) => e.params.path)
    expect(recorded).toContain(rel)
    expect((await verifyCase(dir)).problems).toEqual([])
  })

  it('names why a streamed input stopped part way, and how many of its records were read before', async () => {
    const corpus = generateCorpus({ seed: 16, records: 1500, start, end, target, related: 40 })
    const { ctx } = await timelineContext()
    const src = await tempDir()
    const gz = gzipSync(JSON.stringify({ Records: corpus.records }))
    // Cut off in transfer: the first half of the gzip stream only.
    const path = await fifo(src, 'cut.json.gz', gz.subarray(0, gz.length >> 1))
    const { summary } = await collectTimeline(ctx, { sources: [path] })
    expect(summary.events.read).toBeGreaterThan(0)
    expect(summary.events.read).toBeLessThan(corpus.records.length)
    expect(summary.problemFiles).toEqual([
      {
        file: path,
        skipped: { 'corrupt-gzip': 1 },
        cutShort: {
          reason: 'corrupt-gzip',
          message: 'unexpected end of file',
          afterRecords: summary.events.read,
        },
      },
    ])
    const { renderTimelineSummary } = await import('../../../src/core/timeline/summary-text.js')
    expect(renderTimelineSummary(summary, [])).toContain(
      `cut.json.gz: corrupt-gzip: stopped after ${summary.events.read} records, the rest not read: unexpected end of file`,
    )
  })

  it('ends on a pipe of one byte, or none, with the reason the whole-file reader gives', async () => {
    const dir = await tempDir()
    const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
    const p = new FileProcessor(setup, null)
    for (const [name, bytes, message] of [
      ['empty', '', 'the file is empty'],
      ['spaces', '  \n', 'the file is empty'],
      ['one-byte', 'x', 'not valid JSON: it does not start with { or ['],
      ['half-magic', '\u001f', 'not valid JSON: it does not start with { or ['],
    ] as const) {
      const path = await fifo(dir, name, Buffer.from(bytes, 'latin1'))
      const r = await p.process(
        { seq: 0, display: path, origin: 'file', path, size: -1, pipe: true },
        () => undefined,
      )
      expect(r.refused, name).toEqual({ reason: 'invalid-json', message })
    }
  })

  it('stops reading an endless input that is not JSON (/dev/zero, /dev/urandom, junk after a document)', async () => {
    const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
    const p = new FileProcessor(setup, null)
    // Before: both devices were read until Ctrl-C.
    for (const path of ['/dev/zero', '/dev/urandom']) {
      const r = await p.process(
        { seq: 0, display: path, origin: 'file', path, size: -1, pipe: true },
        () => undefined,
      )
      // Random bytes start with `{` or `[` one time in 128 (then they are refused further on, as
      // unbalanced or not JSON, once more junk than any document holds was read): refused early
      // either way, which is what this test is about.
      if (path === '/dev/zero')
        expect(r.refused, path).toEqual({
          reason: 'invalid-json',
          message: 'not valid JSON: it does not start with { or [',
        })
      else expect(r.refused, path).toBeDefined()
      expect(r.bytes, path).toBeLessThan(4 << 20)
    }
    // A document, then more junk than any document may hold: the document's records are kept.
    const { RecordSplitter, SplitError } = await import('../../../src/core/timeline/split.js')
    for (const junk of ['x', '"']) {
      const slices: string[] = []
      const splitter = new RecordSplitter((slice) => slices.push(slice.toString()), 1024)
      splitter.feed(Buffer.from('{"Records":[{"eventID":"a"}]}\n'))
      const feedJunk = () => {
        for (let i = 0; i < 20; i++) splitter.feed(Buffer.alloc(200, junk))
      }
      expect(feedJunk, junk).toThrow(SplitError)
      expect(feedJunk, junk).toThrow('more than 1024 bytes that are not JSON')
      expect(slices).toEqual(['{"eventID":"a"}'])
    }
  }, 20_000)

  it('reads a small gzip file that inflates past what is read whole as a stream, and stops a gzip bomb', async () => {
    const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
    const { gunzipDeferred, InflateTooLarge, WHOLE_INFLATE_MAX } = await import(
      '../../../src/core/timeline/input.js'
    )
    const record = (id: string) =>
      JSON.stringify({
        eventVersion: '1.08',
        eventTime: '2025-03-01T01:00:00Z',
        eventSource: 'lambda.amazonaws.com',
        eventName: 'UpdateFunctionCode20150331v2',
        eventID: id,
        requestParameters: { functionName: 'orders-api' },
      })
    const dir = await tempDir()
    // 130 MiB of white space between two records, 130 kB gzipped: read whole, it was inflated into
    // memory (3 MB that made 3 GB ended a run out of memory).
    const padded = gzipSync(
      Buffer.concat([
        Buffer.from(`{"Records":[${record('a')},`),
        Buffer.alloc(130 * 1024 * 1024, ' '),
        Buffer.from(`${record('b')}]}`),
      ]),
    )
    expect(padded.length).toBeLessThan(1024 * 1024)
    expect(() => gunzipDeferred(padded)).toThrow(InflateTooLarge)
    await writeFile(join(dir, 'padded.json.gz'), padded)
    const p = new FileProcessor(setup, null)
    const task = { seq: 0, display: join(dir, 'padded.json.gz'), origin: 'file' as const }
    expect(p.processWhole({ ...task, path: task.display }).refused).toEqual({
      reason: 'too-large',
      message: `it inflates to more than ${WHOLE_INFLATE_MAX} bytes`,
    })
    // process() streams it (from the bytes it read, as from bytes downloaded): both records.
    const ids: string[] = []
    const r1 = await p.process({ ...task, path: task.display }, (part) =>
      ids.push(...part.related.map((x) => x.id)),
    )
    expect(r1.refused).toBeUndefined()
    expect(r1.records).toBe(2)
    expect(ids).toEqual(['a', 'b'])
    // More than 200 times its size and 256 MiB: a bomb, cut short after the records before it.
    const bomb = gzipSync(
      Buffer.concat([Buffer.from(`{"Records":[${record('c')},`), Buffer.alloc(260 * 1024 * 1024, ' ')]),
    )
    const r = await p.process({ ...task, data: bomb }, () => undefined)
    expect(r.records).toBe(1)
    expect(r.cutShort?.reason).toBe('too-large')
    expect(r.cutShort?.message).toMatch(
      /^it inflates to more than 200 times its size .*: a gzip bomb, not a log$/,
    )
  }, 60_000)

  it('counts every record of JSON Lines of trail files, read whole or streamed, and keeps the same ones', async () => {
    const record = (i: number, mine: boolean) => ({
      eventVersion: '1.08',
      eventTime: '2025-03-01T01:00:00Z',
      eventSource: mine ? 'lambda.amazonaws.com' : 's3.amazonaws.com',
      eventName: mine ? 'UpdateFunctionCode20150331v2' : 'GetObject',
      eventID: `e-${i}`,
      awsRegion: 'eu-west-1',
      requestParameters: mine ? { functionName: 'orders-api' } : { bucketName: 'b' },
    })
    // Trail files concatenated one a line (`zcat */*.json.gz > export.json`): 10 of 5 records, one
    // of them related, so most slices are ruled out unparsed.
    const docs = Array.from({ length: 10 }, (_, d) =>
      JSON.stringify({ Records: Array.from({ length: 5 }, (_, i) => record(d * 5 + i, d * 5 + i === 17)) }),
    )
    const dir = await tempDir()
    const file = join(dir, 'trail-export.json')
    await writeFile(file, `${docs.join('\n')}\n`)
    const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
    const p = new FileProcessor(setup, null)
    const whole = p.processWhole({ seq: 0, display: file, origin: 'file', path: file })
    const streamedIds: string[] = []
    const streamed = await p.processStream({ seq: 1, display: file, origin: 'file', path: file }, (part) =>
      streamedIds.push(...part.related.map((r) => r.id)),
    )
    // Before: each slice spanning two documents was ruled out unparsed and counted as one record.
    expect(whole.records).toBe(50)
    expect(streamed.records).toBe(50)
    expect(whole.related.map((r) => r.id)).toEqual(['e-17'])
    expect(streamedIds).toEqual(['e-17'])
  })

  it("refuses a file that is not JSON in a function's run, as a hunt does, rather than ruling it out unread", async () => {
    const dir = await tempDir()
    // Junk where a log should be (named .gz, not gzip), and a plain-text note: nothing in either
    // names the function, so the pre-filter took both as read and unrelated.
    await writeFile(join(dir, 'a.json.gz'), 'this is not json at all')
    await writeFile(join(dir, 'notes.json'), '\ufeff  encrypted with the ransom key\n')
    // Every input refused: each run is refused as bad input (exit 2), its summary in the error.
    for (const { fn, summary } of await refusedRuns(dir)) {
      expect(summary.files.prefiltered, String(fn)).toBe(0)
      expect(summary.files.refused, String(fn)).toBe(2)
      expect(summary.skipped, String(fn)).toEqual({ 'corrupt-gzip': 1, 'invalid-json': 1 })
    }
  })

  it("refuses JSON that holds no CloudTrail record in a function's run, as a hunt does, and still rules trail files out unparsed", async () => {
    const dir = await tempDir()
    // Not a log, and nothing in it names the function: the pre-filter ruled it out unparsed (read
    // and unrelated), so a run over it alone replaced a function's timeline with an empty one.
    await writeFile(join(dir, 'x.json'), '{"foo":1}\n')
    // A trail file with nothing of the function in it: still ruled out unparsed.
    await writeFile(join(dir, 'unrelated.json.gz'), gzipSync(JSON.stringify({ Records: [ok('a'), ok('b')] })))
    for (const { fn, summary } of await functionAndHunt(dir)) {
      expect(summary.files.prefiltered, String(fn)).toBe(fn ? 1 : 0)
      expect(summary.files.refused, String(fn)).toBe(1)
      expect(
        summary.problemFiles.map((f) => [f.file, f.refused?.reason]),
        String(fn),
      ).toEqual([[join(dir, 'x.json'), 'not-cloudtrail']])
    }
    // Streamed (a pipe, a large file), such a document is not a record read and unrelated either.
    const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
    const p = new FileProcessor(setup, null)
    const path = join(dir, 'x.json')
    const streamed = await p.processStream({ seq: 0, display: path, origin: 'file', path }, () => undefined)
    expect(streamed.records).toBe(0)
    expect(streamed.skipped).toEqual({ 'not-cloudtrail': 1 })
    // Refused as the whole-file reader refuses it (it was passed over as an empty log).
    expect(streamed.refused?.reason).toBe('not-cloudtrail')
  })

  it('refuses an array, a Records array or JSON Lines that holds no CloudTrail record, in every run and read whole or streamed', async () => {
    const dir = await tempDir()
    // Another tool's findings: each was "parsed" as an empty log and the run stored an empty timeline.
    await writeFile(join(dir, 'guardduty.json'), '[{"findingId":"gd-1","severity":8}]\n')
    await writeFile(join(dir, 'other.jsonl'), '{"a":1}\n[1,2,3]\n')
    // The same in a trail file's wrapper: it was still read as an empty log (exit 0), and in a
    // function's run its items were counted as records read and unrelated.
    await writeFile(join(dir, 'junk-trail.json'), '{"Records":[{"x":1}]}')
    for (const { fn, summary } of await refusedRuns(dir)) {
      expect(summary.files.refused, String(fn)).toBe(3)
      expect(summary.skipped, String(fn)).toEqual({ 'not-cloudtrail': 3 })
      expect(summary.files.read, String(fn)).toBe(0)
      expect(summary.notStored, String(fn)).toMatch(/^every input was refused/)
    }
    const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
    const hunt = await huntProcessor()
    for (const name of ['guardduty.json', 'other.jsonl', 'junk-trail.json']) {
      const path = join(dir, name)
      for (const p of [hunt, new FileProcessor(setup, null)]) {
        const task = { seq: 0, display: path, origin: 'file' as const, path }
        for (const r of [p.processWhole(task), await p.processStream(task, () => undefined)]) {
          expect(r.refused?.reason, `${name} ${p.setup.mode}`).toBe('not-cloudtrail')
          expect(r.skipped, name).toEqual({ 'not-cloudtrail': 1 })
          expect(r.records, name).toBe(0)
        }
      }
    }
    // An empty array and an empty trail file (an empty delivery) are logs, read whole or streamed;
    // a trail file of a record and junk keeps the record and counts the junk.
    const related = {
      ...ok('mine'),
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      requestParameters: { functionName: 'orders-api' },
    }
    await writeFile(join(dir, 'empty.json'), '[]')
    await writeFile(join(dir, 'empty-trail.json'), '{"Records":[]}')
    await writeFile(join(dir, 'some-junk.json'), JSON.stringify({ Records: [{ x: 1 }, related, ok('b')] }))
    for (const name of ['empty.json', 'empty-trail.json', 'some-junk.json']) {
      const path = join(dir, name)
      for (const p of [hunt, new FileProcessor(setup, null)]) {
        const task = { seq: 0, display: path, origin: 'file' as const, path }
        for (const r of [p.processWhole(task), await p.processStream(task, () => undefined)]) {
          expect(r.refused, `${name} ${p.setup.mode}`).toBeUndefined()
          if (name !== 'some-junk.json') continue
          expect(r.skipped, `${name} ${p.setup.mode}`).toEqual({ 'not-cloudtrail': 1 })
          expect(r.records, `${name} ${p.setup.mode}`).toBe(2)
        }
      }
    }
  })

  it('refuses a Records array of no CloudTrail record among good files as it refuses such an array, and reads the rest', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'good.json'), JSON.stringify({ Records: [ok('a')] }))
    await writeFile(join(dir, 'junk-array.json'), '[{"x":1}]')
    await writeFile(join(dir, 'junk-trail.json.gz'), gzipSync('{"Records":[{"x":1}]}'))
    for (const fn of ['orders-api', undefined]) {
      const { ctx } = await timelineContext()
      const { summary } = await collectTimeline(ctx, {
        ...(fn ? { function: fn, roles: ['orders-api-role'] } : {}),
        sources: [dir],
      })
      // Before: the trail file was read (read 2 in a hunt, refused 1), its item skipped.
      expect(summary.files, String(fn)).toMatchObject({ total: 3, refused: 2 })
      expect(summary.skipped, String(fn)).toEqual({ 'not-cloudtrail': 2 })
      expect(
        summary.problemFiles.map((p) => [
          p.file.slice(dir.length + 1),
          p.refused?.reason,
          p.refused?.message,
        ]),
        String(fn),
      ).toEqual([
        [
          'junk-array.json',
          'not-cloudtrail',
          'the JSON array holds no CloudTrail record: 1 item, not a record (no eventName, eventSource or other record field)',
        ],
        [
          'junk-trail.json.gz',
          'not-cloudtrail',
          'the Records array holds no CloudTrail record: 1 item, not a record (no eventName, eventSource or other record field)',
        ],
      ])
    }
  })

  it('counts what a folder walk could not read (a link to nothing, a link loop, a FIFO) as refused, each named', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'good.json'), JSON.stringify({ Records: [ok('a')] }))
    await symlink('/nonexistent', join(dir, 'dangling.json'))
    await symlink('loop.json', join(dir, 'loop.json'))
    expect(spawnSync('mkfifo', [join(dir, 'fifo.json')]).status).toBe(0)
    // Before: total 1, read 1, refused 0, and not a word of the other three.
    const { ctx } = await timelineContext()
    const { summary } = await collectTimeline(ctx, { sources: [dir] })
    expect(summary.files).toMatchObject({ total: 4, read: 1, refused: 3 })
    expect(summary.sources.find((s) => s.kind === 'file')?.files).toBe(4)
    expect(summary.skipped).toEqual({ unreadable: 3 })
    expect(summary.problemFiles.map((p) => [p.file.slice(dir.length + 1), p.refused?.reason])).toEqual([
      ['dangling.json', 'unreadable'],
      ['fifo.json', 'unreadable'],
      ['loop.json', 'unreadable'],
    ])
    expect(summary.problemFiles[2]?.refused?.message).toBe('a symbolic link loop (ELOOP)')
    // Nothing else: every input refused, nothing stored (exit 2).
    await rm(join(dir, 'good.json'))
    const again = await timelineContext()
    const err = await collectTimeline(again.ctx, { sources: [dir] }).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect(err.message).toMatch(/^unable to build the timeline: every input was refused \(3 files\)/)
  })

  it('counts text between the documents of a streamed input as invalid, as the whole-file reader does', async () => {
    const corpus = generateCorpus({ seed: 14, records: 200, start, end, target, related: 10 })
    const dir = await tempDir()
    const file = join(dir, 'export.json')
    const docs = [corpus.records.slice(0, 100), corpus.records.slice(100)].map((r) =>
      JSON.stringify({ Records: r }),
    )
    await writeFile(file, `${docs[0]}\n-- cut here --\n${docs[1]}\nnot json\n`)
    const { FileProcessor } = await import('../../../src/core/timeline/file-task.js')
    const p = new FileProcessor(setup, null)
    const streamed = await p.processStream(
      { seq: 0, display: file, origin: 'file', path: file },
      () => undefined,
    )
    const whole = p.processWhole({ seq: 1, display: file, origin: 'file', path: file })
    expect(streamed.skipped).toEqual({ 'invalid-json': 2 })
    expect(whole.skipped).toEqual({ 'invalid-json': 2 })
    expect(streamed.records).toBe(corpus.records.length)
    expect(streamed.refused).toBeUndefined()
  })
})

describe('a function-scoped timeline and regions', () => {
  const acct = '111122223333'
  const record = (id: string, awsRegion: string, extra: Record<string, unknown>) => ({
    eventVersion: '1.08',
    eventID: id,
    eventTime: '2025-03-01T10:00:00Z',
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionCode20150331v2',
    awsRegion,
    recipientAccountId: acct,
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${acct}:user/mallory` },
    ...extra,
  })
  const records = [
    // The same-named function of eu-west-1, by ARN and by name.
    record('other-arn', 'eu-west-1', {
      requestParameters: { functionName: `arn:aws:lambda:eu-west-1:${acct}:function:victim` },
    }),
    record('other-name', 'eu-west-1', { requestParameters: { functionName: 'victim' } }),
    // The function itself, and its role's session used in another region.
    record('own-name', 'us-east-1', { requestParameters: { functionName: 'victim' } }),
    record('session', 'eu-west-1', {
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      userIdentity: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::${acct}:assumed-role/victim-role/victim`,
        sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${acct}:role/victim-role` } },
      },
      requestParameters: null,
    }),
  ]
  const run = async (fn: string) => {
    const src = join(await tempDir(), 'r.json')
    await writeFile(src, JSON.stringify(records))
    const { ctx, dir } = await timelineContext()
    const { summary } = await collectTimeline(ctx, {
      function: fn,
      roles: ['victim-role'],
      sources: [src],
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-02T00:00:00Z',
      workers: 0,
    })
    return { summary, ids: (await readEvents(dir)).map((e) => e.id).sort() }
  }

  it("keeps a same-named function of another region out, and the role's sessions in any region", async () => {
    const { summary, ids } = await run(`arn:aws:lambda:us-east-1:${acct}:function:victim`)
    expect(ids).toEqual(['own-name', 'session'])
    expect(summary.events).toMatchObject({ read: 4, unrelated: 2 })
    expect(summary.function).toMatchObject({ region: 'us-east-1' })
  })

  it("does not take the client's region for the function's when neither an ARN nor a snapshot tells it", async () => {
    // The client's region is us-east-1; victim may be eu-west-1's: nothing is ruled out by region.
    const { summary, ids } = await run('victim')
    expect(ids).toEqual(['other-arn', 'other-name', 'own-name', 'session'])
    expect(summary.function).toMatchObject({ region: null })
  })
})
