import { describe, expect, it } from 'vitest'
import {
  civilFromDays,
  daysFromCivil,
  deliveryFolders,
  deliveryMayHold,
  deliverySpan,
  deliveryTimeOf,
  describeWindow,
  parseTimeBound,
  resolveWindow,
} from '../../../src/core/timeline/window.js'
import { UsageError } from '../../../src/errors.js'

const now = Date.parse('2025-03-10T12:00:00Z')

describe('window', () => {
  it('reads ages and ISO times (a time without zone is UTC)', () => {
    expect(parseTimeBound('7d', '--since', now)).toBe(now - 7 * 86_400_000)
    expect(parseTimeBound('12h', '--since', now)).toBe(now - 12 * 3_600_000)
    expect(parseTimeBound('30m', '--since', now)).toBe(now - 30 * 60_000)
    expect(parseTimeBound('2025-03-01', '--since', now)).toBe(Date.parse('2025-03-01T00:00:00Z'))
    expect(parseTimeBound('2025-03-01T10:00', '--since', now)).toBe(Date.parse('2025-03-01T10:00:00Z'))
    expect(parseTimeBound('2025-03-01T10:00:00+02:00', '--since', now)).toBe(
      Date.parse('2025-03-01T08:00:00Z'),
    )
    expect(() => parseTimeBound('last tuesday', '--since', now)).toThrow(UsageError)
    expect(() => resolveWindow({ since: '1d', until: '2d' }, now)).toThrow(/before/)
  })

  it('refuses a day the month does not have, and a window that starts in the future', () => {
    // Before: 2025-02-30 was read as 2 March, and a window from 3000 ran and kept nothing.
    for (const day of ['2025-02-29', '2025-02-30T00:00:00Z', '2024-04-31T10:00', '2025-06-31T00:00:00+02:00'])
      expect(() => parseTimeBound(day, '--since', now), day).toThrow(`${day.slice(0, 10)} is not a date`)
    expect(parseTimeBound('2024-02-29', '--since', now)).toBe(Date.parse('2024-02-29T00:00:00Z'))
    expect(parseTimeBound('2025-01-31T24:00:00Z', '--until', now)).toBe(Date.parse('2025-02-01T00:00:00Z'))
    expect(() => resolveWindow({ since: '3000-01-01' }, now)).toThrow(
      'unable to use the window: --since 3000-01-01T00:00:00.000Z is in the future (it is now 2025-03-10T12:00:00.000Z UTC)',
    )
    expect(resolveWindow({ since: '2025-03-10T12:00:00Z' }, now).start).toBe(now)
    // An --until in the future is the same as none: the window runs to now.
    expect(resolveWindow({ since: '1d', until: '3000-01-01' }, now).end).toBe(
      Date.parse('3000-01-01T00:00:00Z'),
    )
  })

  it('refuses an age that reaches back past what a date holds, before anything is read', () => {
    // Before: --since 200000000d was taken, every file read, and the run ended on formatting the
    // window (RangeError: Invalid time value, exit 1).
    for (const [since, until] of [
      ['200000000d', undefined],
      [`${'9'.repeat(30)}w`, undefined],
      ['2025-03-01', '200000000d'],
    ])
      expect(() => resolveWindow({ since, until }, now), `${since} ${until}`).toThrow(
        /reaches back past the earliest time a date holds/,
      )
    expect(() => parseTimeBound('200000000d', '--until', now)).toThrow(UsageError)
    // An age near the earliest time a date holds is a window like any other.
    const oldest = resolveWindow({ since: '100000000d', until: '0000-01-01' }, now)
    expect(describeWindow(oldest)).toBe('-271766-06-28T12:00:00.000Z → 0000-01-01T00:00:00.000Z')
    expect(describeWindow(resolveWindow({ since: '0000-01-01', until: '9999-12-31' }, now))).toBe(
      '0000-01-01T00:00:00.000Z → 9999-12-31T00:00:00.000Z',
    )
  })

  it('defaults to 7 days, and to everything for local files only', () => {
    expect(resolveWindow({}, now)).toEqual({ start: now - 7 * 86_400_000, end: null })
    expect(resolveWindow({ openByDefault: true }, now)).toEqual({ start: null, end: null })
  })

  it('prunes trail files by the delivery time in their name, with a margin', () => {
    const name = '111122223333_CloudTrail_eu-west-1_20250301T1005Z_abcdefghijklmnop.json.gz'
    expect(deliveryTimeOf(name)).toBe(Date.parse('2025-03-01T10:05:00Z'))
    expect(deliveryTimeOf('events.json')).toBeUndefined()
    const w = { start: Date.parse('2025-03-01T11:00:00Z'), end: Date.parse('2025-03-01T12:00:00Z') }
    expect(deliveryMayHold(w, Date.parse('2025-03-01T10:50:00Z'))).toBe(true) // clock margin
    expect(deliveryMayHold(w, Date.parse('2025-03-01T10:30:00Z'))).toBe(false)
    expect(deliveryMayHold(w, Date.parse('2025-03-01T12:55:00Z'))).toBe(true) // late delivery
    expect(deliveryMayHold(w, Date.parse('2025-03-01T13:30:00Z'))).toBe(false)
    expect(
      deliveryFolders(
        deliverySpan(
          { start: Date.parse('2025-03-01T00:05:00Z'), end: Date.parse('2025-03-02T23:30:00Z') },
          now,
        ),
      ),
    ).toEqual(['2025/02/28/', '2025/03/01/', '2025/03/02/', '2025/03/03/'])
  })

  it('lists every day of a long window, the most recent too, in whole years and months where it can', () => {
    // Before: the days were listed from the start and cut at 3,700, so a window from 2016 never
    // listed 2026 (a trail file of 2026-11-29 was not read, and the run said nothing).
    const at = Date.parse('2026-11-29T12:00:00Z')
    const folders = deliveryFolders(
      deliverySpan({ start: Date.parse('2016-01-01T00:00:00Z'), end: null }, at),
    )
    expect(folders).toEqual([
      '2015/12/31/',
      ...Array.from({ length: 10 }, (_, i) => `${2016 + i}/`),
      ...Array.from({ length: 10 }, (_, i) => `2026/${String(i + 1).padStart(2, '0')}/`),
      ...Array.from({ length: 29 }, (_, i) => `2026/11/${String(i + 1).padStart(2, '0')}/`),
    ])
    expect(folders.some((f) => '2026/11/29/'.startsWith(f))).toBe(true)
    // Every day of the span is under exactly one folder, and no day outside it.
    const span = deliverySpan(
      { start: Date.parse('2019-02-27T00:10:00Z'), end: Date.parse('2024-03-01T00:00:00Z') },
      at,
    )
    const list = deliveryFolders(span)
    for (let d = span.first - 400; d <= span.last + 400; d++) {
      const [y, m, day] = civilFromDays(d)
      const key = `${y}/${String(m).padStart(2, '0')}/${String(day).padStart(2, '0')}/`
      expect(list.filter((f) => key.startsWith(f)).length, key).toBe(
        d >= span.first && d <= span.last ? 1 : 0,
      )
    }
    // Only the year folders the bucket has, when given.
    expect(
      deliveryFolders(
        deliverySpan({ start: Date.parse('2016-06-01T00:00:00Z'), end: null }, at),
        [2026, 1999, 2018],
      ),
    ).toEqual([
      '2018/',
      ...Array.from({ length: 10 }, (_, i) => `2026/${String(i + 1).padStart(2, '0')}/`),
      ...Array.from({ length: 29 }, (_, i) => `2026/11/${String(i + 1).padStart(2, '0')}/`),
    ])
    for (const d of [-800_000, -1, 0, 59, 60, 10_957, 20_000, 2_000_000])
      expect(daysFromCivil(...civilFromDays(d))).toBe(d)
  })
})

describe('deliveryTimeOf', () => {
  // The definition it implements without a regex (a bucket folder holds thousands of names).
  const KEY_STAMP = /_CloudTrail_[a-z0-9-]+_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_/
  const byRegex = (name: string) => {
    const m = KEY_STAMP.exec(name)
    return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!) : undefined
  }

  it('reads the delivery time of a trail file name, and nothing from other names', () => {
    expect(deliveryTimeOf('111122223333_CloudTrail_eu-west-1_20250301T0014Z_V9KRmF9vTu1jbKY2.json.gz')).toBe(
      Date.parse('2025-03-01T00:14:00Z'),
    )
    expect(deliveryTimeOf('x_CloudTrail_a_20250301T0014Z_')).toBe(Date.parse('2025-03-01T00:14:00Z'))
    for (const name of [
      '',
      'notes.json.gz',
      'x_CloudTrail__20250301T0014Z_',
      'x_CloudTrail_EU-WEST-1_20250301T0014Z_',
      'x_CloudTrail_e_u_20250301T0014Z_',
      'x_CloudTrail_eu-west-1_20250301T0014Z',
      'x_CloudTrail_eu-west-1_20250301t0014Z_',
      'x_CloudTrail_eu-west-1_20250301T001Z_',
      'x_CloudTrail_eu-west-1_2025030１T0014Z_',
    ])
      expect(deliveryTimeOf(name), name).toBeUndefined()
    // a later stamp when the first does not parse; numbers out of range roll over as in Date.UTC
    expect(deliveryTimeOf('_CloudTrail_eu_2025030xT0014Z_ _CloudTrail_eu_20250301T0014Z_')).toBe(
      Date.parse('2025-03-01T00:14:00Z'),
    )
    expect(deliveryTimeOf('_CloudTrail_x_20251399T9999Z_')).toBe(Date.UTC(2025, 12, 99, 99, 99))
  })

  it('agrees with the regex it replaces on names mutated around the stamp', () => {
    const seeds = [
      '111122223333_CloudTrail_eu-west-1_20250301T0014Z_V9KRmF9vTu1jbKY2.json.gz',
      '_CloudTrail_x_CloudTrail_us-east-1_20251399T9999Z_',
      'a_CloudTrail_eu_2025030xT0014Z_ _CloudTrail_eu_20250301T0014Z_',
    ]
    const alphabet = '_CloudTraiZ019-ex/'
    for (let k = 0; k < 20_000; k++) {
      let name = seeds[k % seeds.length]!
      for (let m = 0; m < k % 5; m++) {
        const at = (k * 7919 + m * 104_729) % (name.length + 1)
        const c = alphabet[(k * 31 + m) % alphabet.length]!
        const op = (k + m) % 3
        name =
          op === 0
            ? name.slice(0, at) + c + name.slice(at + 1)
            : op === 1
              ? name.slice(0, at) + c + name.slice(at)
              : name.slice(0, at) + name.slice(at + 1)
      }
      expect(deliveryTimeOf(name), name).toBe(byRegex(name))
    }
  })
})
