import { describe, expect, it } from 'vitest'
import { escapeJsonText } from '../../../src/core/common/text.js'
import { normaliseRecord } from '../../../src/core/timeline/normalise.js'
import { keptLine, RAW_OPEN } from '../../../src/core/timeline/process.js'
import type { TimelineEvent } from '../../../src/core/timeline/types.js'

type Rec = Record<string, unknown>

/** JSON text as fir stores it (jsonText): JSON.stringify's, the invisible characters escaped. */
const jsonText = (value: unknown) => escapeJsonText(JSON.stringify(value))

/** The stored line keptLine gives an event read from `text`, as the store writes it. */
function storedLine(
  text: string,
  findings: TimelineEvent['findings'] = [],
): { line: string; event: TimelineEvent } {
  const bytes = Buffer.from(text)
  const record = JSON.parse(text) as Rec
  const event = normaliseRecord(record, 'file', { timeMs: Date.parse('2025-03-01T00:00:00Z') })
  event.findings = findings
  const kept = keptLine(event, 0, undefined, bytes)
  // The record's own bytes, unless they hold a character the line keeps escaped.
  if (jsonText(record) === JSON.stringify(record)) expect(kept.rawBytes).toBe(bytes)
  return { line: kept.line + RAW_OPEN.toString() + kept.rawBytes!.toString() + '}', event }
}

const base = {
  eventVersion: '1.10',
  userIdentity: {
    type: 'AssumedRole',
    arn: 'arn:aws:sts::111122223333:assumed-role/orders-role/orders-api',
    accountId: '111122223333',
    accessKeyId: 'ASIAEXAMPLE',
    sessionContext: { sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/orders-role' } },
  },
  eventTime: '2025-03-01T00:00:00Z',
  eventSource: 'lambda.amazonaws.com',
  eventName: 'UpdateFunctionCode20150331v2',
  awsRegion: 'eu-west-1',
  sourceIPAddress: '203.0.113.7',
  userAgent: 'aws-cli/2.15.0',
  requestParameters: { functionName: 'orders-api' },
  responseElements: null,
  eventID: 'e-1',
  readOnly: false,
  recipientAccountId: '111122223333',
}

describe('keptLine', () => {
  // A record without a backslash has its head written without JSON.stringify (plainHead): the
  // line must be what jsonText (JSON.stringify, escaped) writes, byte for byte, whatever the
  // record holds.
  it('writes the line jsonText writes, for records with and without escapes', () => {
    const records: Rec[] = [
      base,
      // Text JSON writes as it is: other scripts, a character outside the BMP, tabs spelt out.
      { ...base, userAgent: 'café 中文 😀 Ω', requestParameters: { 'clé 😀': ['ä', { 中: null }] } },
      // Keys that are array indexes come first in an object, as JSON.stringify orders them.
      { ...base, requestParameters: { b: 1, 10: 'ten', a: 2, 1: 'one', __proto__x: 3, '': 'empty' } },
      { ...base, requestParameters: JSON.parse('{"__proto__":{"polluted":true},"x":1}') },
      // Numbers as JSON.parse reads them back.
      {
        ...base,
        requestParameters: {
          n: [1e21, -0, 0.1, 1.5e23, -1.5e-7, 5e-324, 1.7976931348623157e308],
        },
      },
      // Empty, nested and wrongly typed fields (a malformed record keeps them as received).
      { ...base, requestParameters: 'text', responseElements: 42, resources: { not: 'a list' } },
      { ...base, requestParameters: [[], {}, [[[{}]]], true, false, null], responseElements: {} },
      { ...base, errorCode: 'AccessDenied', errorMessage: 'User is not authorized', readOnly: 'true' },
      {
        ...base,
        userIdentity: undefined,
        eventTime: 1740787200,
        recipientAccountId: 12345,
        eventID: undefined,
      },
      {
        ...base,
        resources: [
          { ARN: 'arn:aws:lambda:eu-west-1:111122223333:function:orders-api', type: 'AWS::Lambda::Function' },
        ],
      },
      // Text JSON escapes: the record has backslashes, and the head is serialised the usual way.
      { ...base, requestParameters: { policyDocument: '{"Statement":[{"Effect":"Allow"}]}' } },
      { ...base, userAgent: 'line\nbreak\ttab\u0001ctl \\ "quote" \u2028' },
      // Characters the line keeps escaped: DEL in ASCII, C1, bidi and zero-width among other text.
      { ...base, userAgent: 'del \u007f' },
      { ...base, userAgent: '中文 \u009b \u202e \u200b 😀', requestParameters: { '\u2066': '\u{e0041}' } },
    ]
    for (const record of records) {
      const { line, event } = storedLine(JSON.stringify(record))
      expect(line).toBe(jsonText(event))
    }
  })

  it('keeps C1 controls, bidi overrides and zero-width characters out of the line as raw bytes, however the record spells them', () => {
    // Before: the record's bytes went in as read, and the head as JSON.stringify writes it, so
    // U+009B (CSI), U+202E (right-to-left override) and U+200B reached a terminal that ran
    // `cat events.jsonl`. Escaped, the line is the same JSON value.
    const hostile = '\u009b31mC1\u202eevil\u200bzw'
    const rawBytes = ['c29b', 'e280ae', 'e2808b'].map((hex) => Buffer.from(hex, 'hex'))
    const record = {
      ...base,
      userIdentity: { ...base.userIdentity, arn: `arn:aws:sts::1:assumed-role/r/${hostile}` },
      userAgent: hostile,
      requestParameters: { [`key${hostile}`]: [hostile, { description: `café ${hostile}` }] },
    }
    const event = () => normaliseRecord(record, 'file', { timeMs: Date.parse('2025-03-01T00:00:00Z') })
    // Raw (other text: valid UTF-8), spelt as \u escapes (ASCII), each with and without another
    // backslash; and no bytes at all (raw serialised from the parsed record).
    const spellings = [
      JSON.stringify(record),
      jsonText(record),
      JSON.stringify({ ...record, userAgent: `${hostile} "quoted"` }),
      jsonText({ ...record, userAgent: `${hostile} "quoted"` }),
    ]
    const lines: string[] = []
    for (const text of spellings) {
      const e = normaliseRecord(JSON.parse(text), 'file', { timeMs: Date.parse('2025-03-01T00:00:00Z') })
      const kept = keptLine(e, 0, undefined, Buffer.from(text))
      expect(kept.rawBytes).toBeDefined()
      lines.push(`${kept.line}${RAW_OPEN}${kept.rawBytes}}`)
      expect(lines.at(-1)).toBe(jsonText(e))
    }
    lines.push(keptLine(event(), 0).line)
    for (const line of lines) {
      const bytes = Buffer.from(line)
      expect(rawBytes.filter((b) => bytes.includes(b))).toEqual([])
      expect(line).toContain('\\u009b31mC1\\u202eevil\\u200bzw')
    }
    expect(JSON.parse(lines[0]!)).toEqual(event())
    expect(JSON.parse(lines[1]!)).toEqual(event())
    expect(JSON.parse(lines[4]!)).toEqual(event())
    expect(JSON.parse(lines[0]!).raw).toEqual(record)
  })

  it('writes findings as JSON.stringify does, quotes in their titles escaped', () => {
    const findings = [
      { rule: 'r-1', title: 'a "quoted" \\ title', level: 'high' as const, tags: ['attack.t1098'] },
    ]
    const { line, event } = storedLine(JSON.stringify(base), findings)
    expect(line).toBe(jsonText(event))
    expect(JSON.parse(line).findings[0].title).toBe('a "quoted" \\ title')
  })

  it('agrees with jsonText on random records (fixed seed)', () => {
    let seed = 20261130
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    // Characters a record may hold; a quote, a backslash or a control character makes its text
    // escaped (a backslash in its bytes), which takes the other path.
    const chars = ['a', 'Z', '0', ' ', '/', ':', '-', 'é', '中', '😀', '{', '}', '[', ',']
    // And characters the line keeps escaped (escapeJsonText): a separator, a C1 control, DEL.
    chars.push('\u2028', '\u009b', '\u007f')
    const escaped = ['"', '\\', '\n', '\u0007']
    const pick = (list: string[]) => list[Math.floor(rand() * list.length)]!
    const word = () =>
      Array.from({ length: Math.floor(rand() * 8) }, () =>
        rand() < 0.01 ? pick(escaped) : pick(chars),
      ).join('')
    const value = (depth: number): unknown => {
      const r = rand()
      if (depth > 3 || r < 0.3) return word()
      if (r < 0.4) return Math.floor(rand() * 1e6) / (rand() < 0.5 ? 1 : 7)
      if (r < 0.45) return rand() < 0.5
      if (r < 0.5) return null
      if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1))
      const o: Rec = {}
      for (let i = Math.floor(rand() * 4); i > 0; i--)
        o[rand() < 0.2 ? String(Math.floor(rand() * 20)) : word()] = value(depth + 1)
      return o
    }
    let plain = 0
    for (let i = 0; i < 2000; i++) {
      const record = {
        ...base,
        eventID: `e-${i}`,
        userAgent: word(),
        sourceIPAddress: word(),
        userIdentity: { ...base.userIdentity, arn: `arn:aws:sts::1:assumed-role/${word()}/${word()}` },
        requestParameters: value(0),
        responseElements: value(0),
      }
      const text = JSON.stringify(record)
      if (!text.includes('\\')) plain++
      const { line, event } = storedLine(text)
      expect(line).toBe(jsonText(event))
    }
    // Both paths were taken many times.
    expect(plain).toBeGreaterThan(100)
    expect(plain).toBeLessThan(1900)
  })
})
