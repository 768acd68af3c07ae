import { crc32, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  decodeBytes,
  decodeText,
  gunzipDeferred,
  gunzipStrict,
  InflateScratch,
  InflateTooLarge,
  InputRefused,
  inflatesOnReusedStream,
  RawInflater,
} from '../../../src/core/timeline/input.js'

const rec = (id: string, extra: Record<string, unknown> = {}) => ({
  eventVersion: '1.08',
  eventTime: '2025-03-01T10:00:00Z',
  eventSource: 'iam.amazonaws.com',
  eventName: 'GetRole',
  eventID: id,
  ...extra,
})

function refusal(fn: () => unknown): { reason: string; message: string } {
  try {
    fn()
  } catch (err) {
    if (err instanceof InputRefused) return { reason: err.reason, message: err.message }
    throw err
  }
  throw new Error('not refused')
}

describe('decodeText', () => {
  it('reads trail files, LookupEvents output, arrays, single records and JSON Lines', () => {
    expect(decodeText(JSON.stringify({ Records: [rec('a'), rec('b')] }))).toMatchObject({
      format: 'trail',
      records: [{ eventID: 'a' }, { eventID: 'b' }],
    })
    const lookup = { Events: [{ EventId: 'c', CloudTrailEvent: JSON.stringify(rec('c')) }] }
    expect(decodeText(JSON.stringify(lookup))).toMatchObject({
      format: 'lookup-events',
      records: [{ eventID: 'c' }],
    })
    expect(decodeText(JSON.stringify([rec('d')]))).toMatchObject({
      format: 'array',
      records: [{ eventID: 'd' }],
    })
    expect(decodeText(JSON.stringify(rec('e'), null, 2))).toMatchObject({
      format: 'record',
      records: [{ eventID: 'e' }],
    })
    const jsonl = `${JSON.stringify(rec('f'))}\n${JSON.stringify(rec('g'))}\n{broken\n\n${JSON.stringify({ Records: [rec('h')] })}\n`
    const d = decodeText(jsonl)
    expect(d.format).toBe('jsonl')
    expect(d.records.map((r) => r.eventID)).toEqual(['f', 'g', 'h'])
    expect(d.skipped).toEqual({ 'invalid-json': 1 })
  })

  it('counts what is not a usable record, by reason', () => {
    const d = decodeText(
      JSON.stringify({
        Records: [
          rec('ok'),
          rec('insight', { eventType: 'AwsCloudTrailInsight', insightDetails: {} }),
          { eventVersion: '1.08', eventName: 'X', eventSource: 'x' },
          rec('badtime', { eventTime: 'yesterday' }),
          'a string',
          { hello: 'world' },
        ],
      }),
    )
    expect(d.records.map((r) => r.eventID)).toEqual(['ok'])
    expect(d.skipped).toEqual({ 'insights-record': 1, 'no-event-time': 2, 'not-cloudtrail': 2 })
    // A number is seconds or milliseconds; one no date can hold is no time (formatting it threw:
    // the run ended with exit 1).
    const numbers = decodeText(
      JSON.stringify({
        Records: [
          rec('s', { eventTime: 1740787200 }),
          rec('ms', { eventTime: 1740787200000 }),
          rec('e20', { eventTime: 1e20 }),
          rec('e16', { eventTime: 1e16 }),
          rec('big', { eventTime: 8.64e15 + 1 }),
          rec('neg', { eventTime: -8640000000001 }),
        ],
      }),
    )
    expect(numbers.records.map((r) => r.eventID)).toEqual(['s', 'ms'])
    expect(numbers.skipped).toEqual({ 'no-event-time': 4 })
    const bad = decodeText(
      JSON.stringify({
        Events: [
          { CloudTrailEvent: '{nope' },
          { CloudTrailEvent: '[1]' },
          { CloudTrailEvent: JSON.stringify(rec('ok')) },
        ],
      }),
    )
    expect(bad.records.map((r) => r.eventID)).toEqual(['ok'])
    expect(bad.skipped).toEqual({ 'invalid-json': 1, 'not-cloudtrail': 1 })
  })

  it('refuses whole inputs cleanly: not JSON, truncated, digest files, other JSON', () => {
    expect(refusal(() => decodeText('Sample output:\n{"a":1}')).reason).toBe('invalid-json')
    expect(refusal(() => decodeText('')).message).toMatch(/empty/)
    expect(refusal(() => decodeText('{"Records":[{"eventTime":"2025'))).toMatchObject({
      reason: 'invalid-json',
    })
    expect(refusal(() => decodeText('[{"eventTime":')).reason).toBe('invalid-json')
    expect(
      refusal(() =>
        decodeText(JSON.stringify({ awsAccountId: '1', digestStartTime: 'x', digestS3Object: 'y' })),
      ).reason,
    ).toBe('digest-file')
    expect(refusal(() => decodeText(JSON.stringify({ name: 'package.json', version: '1' }))).reason).toBe(
      'not-cloudtrail',
    )
    expect(refusal(() => decodeText('42')).reason).toBe('invalid-json')
  })
})

describe('decodeText: an array, a Records or Events array, or JSON Lines with no CloudTrail record', () => {
  it('is refused as not CloudTrail, as one object of it is, not read as an empty log', () => {
    // Before: "parsed", 0 events, and a run over it alone replaced the timeline with an empty one.
    expect(refusal(() => decodeText('[{"findingId":"gd-1","severity":8}]\n'))).toEqual({
      reason: 'not-cloudtrail',
      message:
        'the JSON array holds no CloudTrail record: 1 item, not a record (no eventName, eventSource or other record field)',
    })
    expect(refusal(() => decodeText('{"a":1}\n[1,2,3]\n{broken\n'))).toEqual({
      reason: 'not-cloudtrail',
      message:
        'the JSON Lines file holds no CloudTrail record: 3 lines, none a record (no eventName, eventSource or other record field)',
    })
    expect(refusal(() => decodeText('[null, 5, {"CloudTrailEvent":"[1]"}]')).reason).toBe('not-cloudtrail')
    // The trail file's wrapper does not make its items records. Before: an empty log (exit 0),
    // while the same items in a bare array were refused.
    expect(refusal(() => decodeText('{"Records":[{"x":1}]}'))).toEqual({
      reason: 'not-cloudtrail',
      message:
        'the Records array holds no CloudTrail record: 1 item, not a record (no eventName, eventSource or other record field)',
    })
    expect(refusal(() => decodeText('{"Events":[{"x":1},{"y":2}]}')).message).toMatch(
      /^the Events array holds no CloudTrail record: 2 items, none a record/,
    )
    // JSON Lines of such trail files: their items are counted, not their lines.
    expect(refusal(() => decodeText('{"Records":[{"a":1},{"b":2}]}\n{"a":1}\n')).message).toMatch(
      /^the JSON Lines file holds no CloudTrail record: 3 items, none a record/,
    )
  })

  it('is an empty log when empty, or when CloudTrail wrote what it holds; records in junk are kept', () => {
    expect(decodeText('[]')).toEqual({ records: [], skipped: {}, format: 'array' })
    // An empty delivery is a trail file.
    expect(decodeText('{"Records":[]}')).toEqual({ records: [], skipped: {}, format: 'trail' })
    expect(decodeText('{"Events":[]}')).toEqual({ records: [], skipped: {}, format: 'lookup-events' })
    expect(decodeText('{"Records":[]}\n{"Records":[]}\n')).toEqual({
      records: [],
      skipped: {},
      format: 'jsonl',
    })
    // Items that are not records among records are counted, and the records kept.
    const trail = decodeText(JSON.stringify({ Records: [{ a: 1 }, rec('r'), 5] }))
    expect(trail.records.map((r) => r.eventID)).toEqual(['r'])
    expect(trail.skipped).toEqual({ 'not-cloudtrail': 2 })
    const trailLines = decodeText(
      `{"Records":[{"a":1}]}\n${JSON.stringify({ Records: [rec('s')] })}\n{"a":1}\n`,
    )
    expect(trailLines.records.map((r) => r.eventID)).toEqual(['s'])
    expect(trailLines.skipped).toEqual({ 'not-cloudtrail': 2 })
    const insight = rec('i', { eventType: 'AwsCloudTrailInsight', insightDetails: {} })
    expect(decodeText(JSON.stringify([insight, { a: 1 }])).skipped).toEqual({
      'insights-record': 1,
      'not-cloudtrail': 1,
    })
    expect(decodeText(JSON.stringify([rec('t', { eventTime: 'soon' }), 1])).skipped).toEqual({
      'no-event-time': 1,
      'not-cloudtrail': 1,
    })
    const mixed = decodeText(JSON.stringify([{ findingId: 'gd-1' }, rec('a'), 7]))
    expect(mixed.records.map((r) => r.eventID)).toEqual(['a'])
    expect(mixed.skipped).toEqual({ 'not-cloudtrail': 2 })
    const lines = decodeText(`{"a":1}\n${JSON.stringify(rec('b'))}\n`)
    expect(lines.records.map((r) => r.eventID)).toEqual(['b'])
    expect(lines.skipped).toEqual({ 'not-cloudtrail': 1 })
  })
})

describe('gunzipStrict and decodeBytes', () => {
  const body = JSON.stringify({ Records: [rec('a')] })
  const gz = gzipSync(body)

  it('gunzips like zlib and decodes', () => {
    expect(gunzipStrict(gz).toString()).toBe(body)
    expect(decodeBytes(gz)).toMatchObject({ records: [{ eventID: 'a' }], uncompressedBytes: body.length })
    // several members (concatenated gzip files)
    expect(gunzipStrict(Buffer.concat([gzipSync('ab'), gzipSync('cd')])).toString()).toBe('abcd')
  })

  it('refuses corrupt gzip: truncated, damaged, bad checksum, not gzip at all', () => {
    const flipped = Buffer.from(gz)
    flipped[gz.length - 6] = (flipped[gz.length - 6] ?? 0) ^ 0xff // the stored length
    const crc = Buffer.from(gz)
    crc[gz.length - 8] = (crc[gz.length - 8] ?? 0) ^ 0xff // the stored CRC-32
    for (const bad of [
      gz.subarray(0, gz.length - 4),
      gz.subarray(0, 20),
      flipped,
      crc,
      Buffer.from([0x1f, 0x8b, 1, 2, 3]),
    ]) {
      const d = decodeBytes(bad)
      expect(d.refused?.reason).toBe('corrupt-gzip')
      expect(d.records).toEqual([])
    }
  })
})

describe('gunzipDeferred (one zlib stream for the thread, output fresh or into a scratch buffer)', () => {
  it('gives what zlib gives, input after input, into fresh buffers or one reused scratch', () => {
    const bodies = ['', 'x', JSON.stringify({ Records: [rec('a'), rec('b')] }), 'ab'.repeat(1_500_000)]
    const scratch = new InflateScratch()
    for (let round = 0; round < 2; round++) {
      for (const body of bodies) {
        const gz = gzipSync(body)
        const fresh = gunzipDeferred(gz)
        expect(fresh.data.toString()).toBe(body)
        expect(fresh.expectedCrc).toBe(crc32(body))
        const reused = gunzipDeferred(new Uint8Array(gz), scratch)
        expect(reused.data.toString()).toBe(body)
        expect(reused.expectedCrc).toBe(crc32(body))
      }
    }
    // Fresh output is the caller's to keep; scratch output is overwritten by the next input.
    const kept = gunzipDeferred(gzipSync('first')).data
    gunzipDeferred(gzipSync('second'))
    expect(kept.toString()).toBe('first')
    const viewed = gunzipDeferred(gzipSync('first'), scratch).data
    gunzipDeferred(gzipSync('later'), scratch)
    expect(viewed.toString()).toBe('later')
  })

  it('takes the reused-stream path on this Node, and the inflateRawSync path gives the same', () => {
    // The fast path drives zlib's internal handle: a Node that changes it falls back silently, so
    // this says when that happens (a hunt reads thousands of files through it).
    expect(inflatesOnReusedStream()).toBe(true)
    const fast = new RawInflater()
    const slow = new RawInflater(false)
    expect([fast.reusing, slow.reusing]).toEqual([true, false])
    const body = JSON.stringify({ Records: Array.from({ length: 300 }, (_, i) => rec(`id-${i}`)) })
    const deflate = (text: string) => gzipSync(text).subarray(10) // the raw stream and its trailer
    const damaged = Buffer.from(deflate(body))
    damaged[0] = 0x07 // final block of the reserved type 3
    const inputs: [Buffer, number][] = [
      [deflate(body), body.length], // trailer after the stream: `used` stops before it
      [deflate(body), 10], // announced too short: the output grows
      [deflate('ab'.repeat(1_500_000)), 3_000_000],
      [deflate(''), 0],
      [damaged, body.length],
      [deflate(body).subarray(0, 30), body.length], // truncated
    ]
    const run = (inflater: RawInflater, input: Buffer, hint: number) => {
      try {
        const { data, used } = inflater.inflate(input, hint)
        return { text: data.toString(), used }
      } catch (err) {
        return { error: (err as Error).message }
      }
    }
    for (let round = 0; round < 2; round++)
      for (const [input, hint] of inputs) expect(run(fast, input, hint)).toEqual(run(slow, input, hint))
    expect(run(fast, damaged, 1)).toEqual({ error: 'invalid block type' })
    // Both stop at the most they may produce (a gzip bomb is read as a stream instead), to the byte,
    // whatever the trailer announced and wherever they write.
    const ab = deflate('ab'.repeat(1_500_000))
    for (const inflater of [fast, slow]) {
      for (const into of [undefined, new InflateScratch()]) {
        expect(() => inflater.inflate(ab, 3_000_000, into, 2_999_999)).toThrow(InflateTooLarge)
        expect(() => inflater.inflate(ab, 10, into, 1000)).toThrow(InflateTooLarge)
        expect(inflater.inflate(ab, 10, into, 3_000_000).data.length).toBe(3_000_000)
        expect(run(inflater, deflate(body), body.length)).toEqual(run(slow, deflate(body), body.length))
      }
    }
  })

  it('refuses a damaged stream, a truncated one and a trailer that lies, then reads the next input', () => {
    const body = JSON.stringify({ Records: Array.from({ length: 300 }, (_, i) => rec(`id-${i}`)) })
    const gz = gzipSync(body)
    const badBlock = Buffer.from(gz)
    badBlock[10] = 0x07 // final block of the reserved type 3
    const shorter = Buffer.from(gz)
    shorter.writeUInt32LE(10, gz.length - 4) // announces 10 bytes: the output outgrows its first buffer
    const longer = Buffer.from(gz)
    longer.writeUInt32LE(0xfffffff0, gz.length - 4)
    const cases: [Buffer, RegExp][] = [
      [badBlock, /damaged: invalid block type/],
      [gz.subarray(0, 20), /damaged: unexpected end of file/],
      [gz.subarray(0, gz.length - 4), /truncated \(no trailer\)|length/],
      [shorter, /length check failed/],
      [longer, /length check failed/],
    ]
    const scratch = new InflateScratch()
    for (const [bad, message] of cases) {
      for (const into of [undefined, scratch]) {
        const r = refusal(() => gunzipDeferred(bad, into))
        expect(r.reason).toBe('corrupt-gzip')
        expect(r.message).toMatch(message)
        expect(gunzipDeferred(gz, into).data.toString()).toBe(body)
      }
    }
  })
})
