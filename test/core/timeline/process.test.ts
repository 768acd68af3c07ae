import { describe, expect, it } from 'vitest'
import { normaliseRecord } from '../../../src/core/timeline/normalise.js'
import { keptLine, RAW_OPEN } from '../../../src/core/timeline/process.js'
import type { TimelineEvent } from '../../../src/core/timeline/types.js'

type Rec = Record<string, unknown>

/** The stored line keptLine gives an event read from `text`, as the store writes it. */
function storedLine(
  text: string,
  findings: TimelineEvent['findings'] = [],
): { line: string; event: TimelineEvent } {
  const bytes = Buffer.from(text)
  const record = JSON.parse(text) as Rec
  const event = normaliseRecord(record, 'file', { timeMs: Date.parse('2025-03-01T00:00:00Z') })
  event.findings = findings
  const kept = keptLine(event, 0, undefined, bytes, false)
  expect(kept.rawBytes).toBe(bytes)
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
  // line must be what JSON.stringify writes, byte for byte, whatever the record holds.
  it('writes the line JSON.stringify writes, for records with and without escapes', () => {
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
    ]
    for (const record of records) {
      const { line, event } = storedLine(JSON.stringify(record))
      expect(line).toBe(JSON.stringify(event))
    }
  })

  it('writes findings as JSON.stringify does, quotes in their titles escaped', () => {
    const findings = [
      { rule: 'r-1', title: 'a "quoted" \\ title', level: 'high' as const, tags: ['attack.t1098'] },
    ]
    const { line, event } = storedLine(JSON.stringify(base), findings)
    expect(line).toBe(JSON.stringify(event))
    expect(JSON.parse(line).findings[0].title).toBe('a "quoted" \\ title')
  })

  it('agrees with JSON.stringify on random records (fixed seed)', () => {
    let seed = 20261130
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    // Characters a record may hold; a quote, a backslash or a control character makes its text
    // escaped (a backslash in its bytes), which takes the other path.
    const chars = ['a', 'Z', '0', ' ', '/', ':', '-', 'é', '中', '😀', '{', '}', '[', ',', '\u2028']
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
      expect(line).toBe(JSON.stringify(event))
    }
    // Both paths were taken many times.
    expect(plain).toBeGreaterThan(100)
    expect(plain).toBeLessThan(1900)
  })
})
