import { rm } from 'node:fs/promises'
import { afterAll, describe, expect, it } from 'vitest'
import {
  Arena,
  Copies,
  EventSpool,
  packKeys,
  ReorderBuffer,
  recordFingerprint,
  unpackKeys,
} from '../../../src/core/timeline/spool.js'
import { tempDir } from '../../support/cli.js'
import { Rng } from '../../support/trail-generator.js'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

/** Whether Copies takes two lines of one eventID for the same record: byte-equal, else the same fingerprint. */
const sameRecord = (a: Buffer, b: Buffer) => a.equals(b) || recordFingerprint(a) === recordFingerprint(b)

describe('EventSpool', () => {
  it('spills sorted runs to disk and merges them in order, dropping copies of one event', async () => {
    const dir = await tempDir()
    dirs.push(dir)
    const spool = new EventSpool(dir, 2000)
    const rng = new Rng(5)
    const want: string[] = []
    for (let i = 0; i < 500; i++) {
      const t = Date.parse('2025-03-01T00:00:00Z') + rng.int(100) * 1000
      const id = `id-${i}\ttab"quote`
      spool.add({
        t,
        id,
        rank: 1,
        line: JSON.stringify({ id, t, n: i }),
        levels: i % 50 === 0 ? ['high'] : [],
        detector: { flags: i % 7 === 0 ? 4 : 0, scopeRoles: i % 9 === 0 ? 'role-a,role-b' : '' },
      })
      want.push(`${t}|${id}`)
      if (i % 10 === 0) {
        // the same event again, from another source
        spool.add({
          t,
          id,
          rank: 4,
          line: JSON.stringify({ id, t, n: i, copy: true }),
          levels: [],
          detector: { flags: 0, scopeRoles: '' },
        })
      }
    }
    await spool.drained()
    expect(spool.spilledRuns).toBeGreaterThan(5)
    const got: {
      t: number
      id: string
      line: string
      hasFindings: boolean
      detectorFlags: number
      scopeRoles: string
    }[] = []
    for await (const e of spool.sorted()) got.push({ ...e, line: e.line.toString() })
    expect(got.length).toBe(500)
    expect(spool.duplicates).toBe(50)
    expect(got.some((g) => JSON.parse(g.line).copy)).toBe(false)
    want.sort((a, b) => {
      const [ta, ia] = a.split('|') as [string, string]
      const [tb, ib] = b.split('|') as [string, string]
      return Number(ta) - Number(tb) || (ia < ib ? -1 : ia > ib ? 1 : 0)
    })
    expect(got.map((g) => `${g.t}|${g.id}`)).toEqual(want)
    expect(got.filter((g) => g.hasFindings).length).toBe(10)
    expect(got.filter((g) => g.detectorFlags === 4).length).toBe(72)
    expect(got.filter((g) => g.scopeRoles === 'role-a,role-b').length).toBe(56)
    await spool.dispose()
  })
})

describe('EventSpool with large lines', () => {
  it('reads rows back across the 1 MiB chunks of a run file', async () => {
    const dir = await tempDir()
    dirs.push(dir)
    const spool = new EventSpool(dir, 3 << 20)
    const rng = new Rng(8)
    const lines = new Map<string, string>()
    for (let i = 0; i < 90; i++) {
      const id = `big-${i}`
      const line = JSON.stringify({ id, pad: 'é✓x'.repeat(10_000 + rng.int(30_000)) })
      lines.set(id, line)
      spool.add({
        t: 1_700_000_000_000 + rng.int(50) * 1000,
        id,
        rank: 0,
        line,
        levels: [],
        detector: { flags: 0, scopeRoles: '' },
      })
    }
    await spool.drained()
    expect(spool.spilledRuns).toBeGreaterThan(2)
    let n = 0
    let lastT = 0
    for await (const e of spool.sorted()) {
      expect(e.line.toString()).toBe(lines.get(e.id))
      expect(e.t).toBeGreaterThanOrEqual(lastT)
      lastT = e.t
      n++
    }
    expect(n).toBe(90)
    await spool.dispose()
  })
})

describe('packed arena keys', () => {
  it('come back as they went, whatever the ids and role names hold', () => {
    const keys = [
      { t: 1740787200000, id: 'a1', rank: 0, flags: 0, scope: '', start: 0, len: 10 },
      { t: 1740787200000, id: '', rank: 4, flags: 5, scope: 'role-a,role-b', start: 10, len: 2_000_000 },
      { t: -1, id: 'é\n"ü,x', rank: 1, flags: 4, scope: 'ro\nle', start: 2_000_010, len: 1 },
      { t: 8.64e15, id: 'nid-0123', rank: 2, flags: 1, scope: '', start: 2_000_011, len: 7 },
    ]
    const packed = structuredClone(packKeys(keys))
    expect(unpackKeys(packed)).toEqual(keys)
    expect(unpackKeys(packKeys([]))).toEqual([])
  })
})

describe('an arena', () => {
  it('holds each line byte for byte as UTF-8, its raw bytes after it, growing when text runs past its end', () => {
    const arena = new Arena(64)
    const lines = [
      '{"a":"中‮😀Ā"', // each non-ASCII character has an ASCII low byte
      `{"b":"${'中'.repeat(40)}"`, // 40 characters, 120 bytes: past the end of the buffer
      `{"c":"${'x'.repeat(55)}"`, // ends 1 to 3 bytes before the end of the buffer: measured
      '{"d":"é"',
    ]
    const raw = Buffer.from('{"eventName":"ÿ中"}')
    for (const [i, line] of lines.entries()) {
      arena.push({
        t: i,
        id: `e${i}`,
        rank: 0,
        line,
        ...(i % 2 === 1 ? { rawBytes: raw } : {}),
        levels: [],
        detector: { flags: 0, scopeRoles: '' },
      })
    }
    const stored = arena.sortedKeys().map((k) => arena.line(k).toString('utf8'))
    expect(stored).toEqual(lines.map((l, i) => (i % 2 === 1 ? `${l},"raw":${raw.toString()}}` : l)))
    for (const s of stored) expect(() => JSON.parse(s.endsWith('}') ? s : `${s}}`)).not.toThrow()
  })
})

describe('the reorder buffer of an ordered hunt', () => {
  const arenaOf = (rows: { t: number; id: string; rank?: number; body?: string; flags?: number }[]) => {
    const arena = new Arena(256)
    for (const r of rows) {
      arena.push({
        t: r.t,
        id: r.id,
        rank: r.rank ?? 0,
        line: `{"id":"${r.id}","b":"${r.body ?? ''}"}`,
        levels: r.flags ? ['high'] : [],
        detector: { flags: 0, scopeRoles: r.flags ? 'role-a' : '' },
      })
    }
    return structuredClone(arena.transfer())
  }

  it('merges arenas by time, then id, then source rank, drops a copy and keeps each line with its marks', () => {
    const buffer = new ReorderBuffer()
    buffer.add(
      arenaOf([
        { t: 5, id: 'b' },
        { t: 5, id: 'c', rank: 4 },
        { t: 9, id: 'z' },
      ]),
    )
    buffer.add(
      arenaOf([
        { t: 5, id: 'a', flags: 1 },
        { t: 5, id: 'c', rank: 0 },
        { t: 7, id: 'y' },
      ]),
    )
    buffer.add(
      arenaOf([
        { t: 1, id: 'q' },
        { t: 5, id: 'b' },
      ]),
    )
    const first = buffer.release(6)
    // The copy of c from the api (rank 4) sorts after the trail file's (rank 0) and is dropped.
    expect(first.map((l) => `${l.t}:${l.id}:${l.rank}`)).toEqual(['1:q:0', '5:a:0', '5:b:0', '5:c:0'])
    expect(first[1]).toMatchObject({ hasFindings: true, scopeRoles: 'role-a' })
    expect(first[2]).toMatchObject({ hasFindings: false, scopeRoles: '' })
    expect(first.map((l) => JSON.parse(`${l.line.toString()}`).id)).toEqual(['q', 'a', 'b', 'c'])
    expect(buffer.duplicates).toBe(2) // the second 5:b and 5:c, byte for byte the first
    expect(buffer.late).toBe(false)
    const rest = buffer.release(Number.POSITIVE_INFINITY)
    expect(rest.map((l) => `${l.t}:${l.id}`)).toEqual(['7:y', '9:z'])
    // An event earlier than one already released arrives: the caller must read again.
    buffer.add(arenaOf([{ t: 8, id: 'late' }]))
    expect(buffer.late).toBe(true)
  })
})

describe('two stored lines of one eventID', () => {
  const record = {
    eventVersion: '1.10',
    userIdentity: {
      type: 'AssumedRole',
      arn: 'arn:aws:sts::111122223333:assumed-role/victim-role/victim',
      sessionContext: { attributes: { mfaAuthenticated: 'false' } },
    },
    eventTime: '2025-03-01T00:00:00Z',
    eventSource: 's3.amazonaws.com',
    eventName: 'ListBuckets',
    sourceIPAddress: '203.0.113.9',
    userAgent: 'aws-sdk-js/3 exec-env/AWS_Lambda_nodejs20.x',
    additionalEventData: { MFAUsed: 'No' },
    eventID: 'e1',
  }
  const line = (raw: unknown, origin = 'file') =>
    Buffer.from(JSON.stringify({ id: 'e1', origin, findings: [], raw }))

  it('are one record when raw holds the same fields, in any order and from any source', () => {
    const reordered = Object.fromEntries(Object.entries(record).reverse())
    expect(sameRecord(line(record), line(reordered, 'api'))).toBe(true)
  })

  it('are one record when their eventTime names the same instant, however it is spelt', () => {
    for (const eventTime of [
      '2025-03-01T00:00:00.000Z',
      '2025-03-01T00:00:00+00:00',
      1740787200,
      1740787200000,
    ])
      expect(sameRecord(line(record), line({ ...record, eventTime })), String(eventTime)).toBe(true)
    expect(sameRecord(line(record), line({ ...record, eventTime: '2025-03-01T00:00:00.001Z' }))).toBe(false)
    // Another field still counts, whatever the time's spelling.
    const millis = { ...record, eventTime: '2025-03-01T00:00:00.000Z' }
    expect(sameRecord(line(record), line({ ...millis, sourceIPAddress: '198.51.100.1' }))).toBe(false)
  })

  it('are two records when any field of raw differs: the copy named first no longer decides what is flagged', () => {
    expect(sameRecord(line(record), line({ ...record, userAgent: 'curl/8.0' }))).toBe(false)
    expect(sameRecord(line(record), line({ ...record, additionalEventData: { MFAUsed: 'YES' } }))).toBe(false)
    const other = structuredClone(record)
    other.userIdentity.sessionContext.attributes.mfaAuthenticated = 'true'
    expect(sameRecord(line(record), line(other))).toBe(false)
    expect(sameRecord(line(record), line({ ...record, recipientAccountId: '999988887777' }))).toBe(false)
  })

  it('are grouped: each distinct record of one time and eventID is kept once, in any order', () => {
    // Before: a record was compared with the line before it only; real, altered, real kept three.
    const reordered = Object.fromEntries(Object.entries(record).reverse())
    const lines = {
      real: line(record),
      altered: line({ ...record, userAgent: 'curl/8.0' }),
      copy: line(reordered, 'api'),
      again: line(record),
    }
    const orders: (keyof typeof lines)[][] = [
      ['real', 'altered', 'copy', 'again'],
      ['altered', 'real', 'again', 'copy'],
      ['copy', 'again', 'altered', 'real'],
      ['real', 'copy', 'altered', 'again'],
    ]
    for (const order of orders) {
      const copies = new Copies()
      const kept: string[] = []
      for (const name of order) {
        // Each line in a buffer of its own that is overwritten once handed out (and detached).
        const buf = Buffer.from(lines[name])
        if (copies.keep({ t: 1, id: 'e1', line: buf })) kept.push(name)
        copies.detach()
        buf.fill(0x20)
      }
      expect(kept.length, order.join(' ')).toBe(2)
      expect(kept.includes('altered'), order.join(' ')).toBe(true)
      expect(copies.duplicates, order.join(' ')).toBe(2)
      expect(copies.conflicts, order.join(' ')).toEqual({ count: 1, ids: ['e1'] })
      // The next event starts a group of its own.
      expect(copies.keep({ t: 2, id: 'e1', line: lines.real })).toBe(true)
      expect(copies.keep({ t: 2, id: 'e2', line: lines.real })).toBe(true)
      expect(copies.conflicts.count).toBe(1)
    }
  })
})
