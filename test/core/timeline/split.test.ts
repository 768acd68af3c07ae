import { describe, expect, it } from 'vitest'
import { RecordSplitter, SplitError, splitTrailFile } from '../../../src/core/timeline/split.js'
import { Rng } from '../../support/trail-generator.js'

function split(text: string, chunkSizes: () => number): { kind: string; value: unknown }[] {
  const out: { kind: string; value: unknown }[] = []
  const s = new RecordSplitter((slice, kind) => out.push({ kind, value: JSON.parse(slice.toString()) }))
  const buf = Buffer.from(text)
  for (let i = 0; i < buf.length; ) {
    const n = Math.max(1, chunkSizes())
    s.feed(buf.subarray(i, i + n))
    i += n
  }
  s.end()
  return out
}

const records = [
  { eventID: 'a', tricky: 'braces } { ] [ in a string', esc: 'quote \\" and backslash \\\\' },
  { eventID: 'b', nested: { list: [{ x: 1 }, { y: [2, 3] }] }, uni: 'é ✓ \u2028' },
  { eventID: 'c' },
]

describe('RecordSplitter', () => {
  const rng = new Rng(3)
  for (const [label, size] of [
    ['one byte at a time', () => 1],
    ['random chunks', () => 1 + rng.int(40)],
    ['whole', () => 1 << 20],
  ] as const) {
    it(`splits Records, Events, arrays and JSON Lines (${label})`, () => {
      expect(split(JSON.stringify({ Records: records }), size).map((r) => r.value)).toEqual(records)
      expect(
        split(JSON.stringify({ NextToken: 'x', Events: records }, null, 2), size).map((r) => r.value),
      ).toEqual(records)
      expect(split(JSON.stringify(records), size).map((r) => r.value)).toEqual(records)
      const jsonl = records.map((r) => JSON.stringify(r)).join('\n')
      const docs = split(jsonl, size)
      expect(docs.map((d) => d.kind)).toEqual(['document', 'document', 'document'])
      expect(docs.map((d) => d.value)).toEqual(records)
    })
  }

  it('counts the elements of a records array that are not objects, whatever their shape or chunking', () => {
    const text = JSON.stringify({
      Records: [{ a: 1 }, 5, 'str, with ] and {', null, [1, [2]], { b: [3] }, true],
    })
    for (const size of [1, 3, 7, 1000]) {
      const got: unknown[] = []
      const s = new RecordSplitter((slice) => got.push(JSON.parse(slice.toString())))
      const buf = Buffer.from(text)
      for (let i = 0; i < buf.length; i += size) s.feed(buf.subarray(i, i + size))
      s.end()
      expect(got, `chunks of ${size}`).toEqual([{ a: 1 }, { b: [3] }])
      expect(s.notRecords, `chunks of ${size}`).toBe(5)
    }
    const array = new RecordSplitter(() => undefined)
    array.feed(Buffer.from('[ {"a":1} , "x" , {"b":2}, 0 ]'))
    expect(array.notRecords).toBe(2)
  })

  it('keeps records before a truncation and then says it is truncated', () => {
    const text = JSON.stringify({ Records: records }).slice(0, -6) // inside the last record
    const got: unknown[] = []
    const s = new RecordSplitter((slice) => got.push(JSON.parse(slice.toString())))
    s.feed(Buffer.from(text))
    expect(() => s.end()).toThrow(SplitError)
    expect(got.length).toBe(2)
  })

  it('skips a UTF-8 byte order mark at the start, even one cut between chunks, and nowhere else', () => {
    // Before: a piped or large file that began with a BOM was refused ("it does not start with {").
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    const text = Buffer.concat([bom, Buffer.from(JSON.stringify({ Records: records }, null, 2))])
    for (const size of [1, 2, 3, 4, 1000]) {
      const got: unknown[] = []
      const s = new RecordSplitter((slice) => got.push(JSON.parse(slice.toString())))
      for (let i = 0; i < text.length; i += size) s.feed(text.subarray(i, i + size))
      s.end()
      expect(got, `chunks of ${size}`).toEqual(records)
    }
    for (const bad of [Buffer.from([0xef, 0xbb, 0x7b, 0x7d]), Buffer.from([0xef, 0xbb])]) {
      const s = new RecordSplitter(() => undefined)
      expect(() => {
        for (const b of bad) s.feed(Buffer.from([b]))
        s.end()
      }).toThrow('not valid JSON: it does not start with { or [')
    }
    const twice = new RecordSplitter(() => undefined)
    expect(() => twice.feed(Buffer.concat([bom, bom, Buffer.from('{}')]))).toThrow(/does not start with/)
  })

  it('skips a BOM at the start of a later line between documents (JSON Lines files concatenated), and nowhere else', () => {
    // Before: `cat a.jsonl b.jsonl`, each begun with a BOM, counted b's BOM as a stretch of junk.
    const bom = '\ufeff'
    const [a, b, c] = records.map((r) => JSON.stringify(r))
    const read = (text: string | Buffer) => {
      const out: { values: unknown[]; junk: number }[] = []
      const buf = Buffer.from(text)
      for (const size of [1, 2, 3, 4, 1000]) {
        const values: unknown[] = []
        const s = new RecordSplitter((slice) => values.push(JSON.parse(slice.toString())))
        for (let i = 0; i < buf.length; i += size) s.feed(buf.subarray(i, i + size))
        s.end()
        out.push({ values, junk: s.junk })
      }
      // The same whatever the chunks (a BOM cut between them too).
      for (const o of out) expect(o).toEqual(out[0])
      return out[0]!
    }
    expect(read(`${bom}${a}\n${bom}${b}\r\n${bom}${c}\n`)).toEqual({ values: records, junk: 0 })
    expect(read(`${a}\n\n${bom}${JSON.stringify({ Records: [records[1]] })}`)).toEqual({
      values: [records[0], records[1]],
      junk: 0,
    })
    // Elsewhere a BOM is not JSON: at the end of a line, after white space, twice, or cut short.
    for (const text of [
      `${a}${bom}\n${b}`,
      `${a}\n ${bom}${b}`,
      `${a}\n${bom}${bom}${b}`,
      Buffer.concat([Buffer.from(`${a}\n`), Buffer.from([0xef, 0xbb]), Buffer.from(b!)]),
    ]) {
      expect(read(text).junk, String(text)).toBe(1)
    }
    const cut = new RecordSplitter(() => undefined)
    cut.feed(Buffer.concat([Buffer.from(`${a}\n`), Buffer.from([0xef, 0xbb])]))
    cut.end()
    expect(cut.junk).toBe(1)
  })

  it('refuses a single document larger than its limit', () => {
    const s = new RecordSplitter(() => undefined, 1000)
    expect(() => s.feed(Buffer.from(`{"a":"${'x'.repeat(5000)}"`))).toThrow(/larger than/)
  })
})

describe('splitTrailFile (a trail file cut into its records without a tokenizer)', () => {
  const rec = (id: string, extra: Record<string, unknown> = {}) => ({
    eventVersion: '1.10',
    eventID: id,
    eventTime: '2025-03-01T00:00:00Z',
    ...extra,
  })
  const cut = (text: string) => splitTrailFile(Buffer.from(text))?.map((b) => b.toString())

  it('gives each record of a minified trail file as its exact bytes', () => {
    const records = [rec('a'), rec('b', { s: 'é ✓ \\/ \u2028' }), rec('c')]
    const text = JSON.stringify({ Records: records })
    expect(cut(text)).toEqual(records.map((r) => JSON.stringify(r)))
    expect(cut(`${text}\n`)).toEqual(records.map((r) => JSON.stringify(r)))
    expect(cut('{"Records":[]}')).toEqual([])
  })

  it('never cuts inside a string; a cut inside a nested object leaves a slice that does not parse', () => {
    // In JSON a quote inside a string is escaped, so the separator cannot occur there.
    const inString = rec('a', { note: '},{"eventVersion":"x"' })
    expect(cut(JSON.stringify({ Records: [inString, rec('z')] }))!.map((s) => JSON.parse(s))).toEqual([
      inString,
      rec('z'),
    ])
    const nested = rec('b', { requestParameters: { items: [{ a: 1 }, { eventVersion: '2' }] } })
    const slices = cut(JSON.stringify({ Records: [nested, rec('z')] }))!
    expect(slices.length).toBe(3)
    expect(slices.some((s) => !parses(s))).toBe(true)
  })

  it('refuses any other shape (the caller then decodes the whole text)', () => {
    expect(cut(JSON.stringify({ Records: [rec('a')] }, null, 2))).toBeUndefined()
    expect(cut(JSON.stringify({ Events: [rec('a')] }))).toBeUndefined()
    expect(cut(JSON.stringify([rec('a')]))).toBeUndefined()
    expect(cut(`${JSON.stringify({ Records: [rec('a')] })}x`)).toBeUndefined()
    expect(cut('{"Records":[1,2]}')).toBeUndefined()
    expect(cut('')).toBeUndefined()
  })
})

function parses(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
