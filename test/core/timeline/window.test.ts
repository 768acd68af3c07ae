import { describe, expect, it } from 'vitest'
import {
  deliveryDays,
  deliveryMayHold,
  deliveryTimeOf,
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
      deliveryDays(
        { start: Date.parse('2025-03-01T00:05:00Z'), end: Date.parse('2025-03-02T23:30:00Z') },
        now,
      ),
    ).toEqual(['2025/02/28', '2025/03/01', '2025/03/02', '2025/03/03'])
  })
})
