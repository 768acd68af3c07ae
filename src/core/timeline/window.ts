import { UsageError } from '../../errors.js'
import type { TimeWindow } from './types.js'

const RELATIVE = /^(\d+)\s*(m|min|h|d|w)$/i
const UNIT_MS: Record<string, number> = {
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

/** Whether a time bound from the command line is an age (`7d`), counted back from the run's time. */
export function isRelativeBound(text: string): boolean {
  return RELATIVE.test(text.trim())
}

/** LookupEvents keeps 90 days of management events. */
export const LOOKUP_EVENTS_RETENTION_MS = 90 * 86_400_000

/**
 * A time bound from the command line: a relative age (`7d`, `12h`, `30m`, `2w`, counted back
 * from `now`) or an ISO 8601 time. A time without a zone is read as UTC (fir never uses the
 * laptop's zone).
 */
export function parseTimeBound(text: string, flag: string, now: number): number {
  const trimmed = text.trim()
  const rel = RELATIVE.exec(trimmed)
  if (rel) {
    const t = now - Number(rel[1]) * (UNIT_MS[rel[2]!.toLowerCase()] ?? 0)
    // An age reaching back past what a date holds (`200000000d`) was taken, every file read, and
    // the run then ended on formatting the window (RangeError, exit 1).
    if (!(t >= -MAX_DATE_MS)) {
      throw new UsageError(
        `unable to read ${flag} ${JSON.stringify(text)}: it reaches back past the earliest time a date holds (${new Date(-MAX_DATE_MS).toISOString()})`,
        { actions: [`pass ${flag} like 7d, 12h, 30m, or 2025-03-01T12:00:00Z (UTC)`] },
      )
    }
    return t
  }
  let iso = trimmed
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso = `${iso}T00:00:00Z`
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso = `${iso.replace(' ', 'T')}Z`
  const t = /^\d{4}-\d{2}-\d{2}/.test(iso) ? Date.parse(iso) : Number.NaN
  // Date.parse reads 2026-02-30 as 2 March: a day the month does not have is a typo, not a time.
  const [y, mo, d] = iso.slice(0, 10).split('-').map(Number) as [number, number, number]
  if (!Number.isNaN(t) && d > daysInMonth(y, mo)) {
    throw new UsageError(
      `unable to read ${flag} ${JSON.stringify(text)}: ${iso.slice(0, 10)} is not a date`,
      {
        actions: [`pass ${flag} with a day the month has, like 2025-03-01T12:00:00Z (UTC)`],
      },
    )
  }
  if (Number.isNaN(t)) {
    throw new UsageError(
      `unable to read ${flag} ${JSON.stringify(text)}: it is neither an age nor an ISO time`,
      {
        actions: [`pass ${flag} like 7d, 12h, 30m, or 2025-03-01T12:00:00Z (UTC)`],
      },
    )
  }
  return t
}

/** The number of days month `month` (1–12) of `year` has (proleptic Gregorian, any year). */
export function daysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month] ?? 31
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** The most milliseconds from the epoch a JavaScript Date holds, either way (±275,760 years). */
export const MAX_DATE_MS = 8.64e15

/**
 * Days from 1970-01-01 to a date (proleptic Gregorian; month 1–12, any year), by arithmetic: not
 * Date.UTC, which reads the years 0–99 as 1900–1999, and which a date past what a Date holds (a
 * chart bar's end) would not fit.
 */
export function daysFromCivil(year: number, month: number, day = 1): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/**
 * The run's window. `since` defaults to 7 days, except when every source is a local file
 * (`openByDefault`): a responder handing fir an export wants all of it unless they say otherwise.
 * `spell` names the bounds in messages (`--since`; a playbook step's is `since`).
 */
export function resolveWindow(
  options: { since?: string; until?: string; openByDefault?: boolean },
  now: number,
  spell: (name: 'since' | 'until') => string = (name) => `--${name}`,
): TimeWindow {
  const since = spell('since')
  const until = spell('until')
  const start =
    options.since !== undefined
      ? parseTimeBound(options.since, since, now)
      : options.openByDefault
        ? null
        : now - 7 * 86_400_000
  const end = options.until !== undefined ? parseTimeBound(options.until, until, now) : null
  if (start !== null && start > now) {
    throw new UsageError(
      `unable to use the window: ${since} ${new Date(start).toISOString()} is in the future (it is now ${new Date(now).toISOString()} UTC)`,
      { actions: [`pass ${since} as an age (7d, 12h) or a past time in UTC`] },
    )
  }
  if (start !== null && end !== null && end < start) {
    throw new UsageError(`unable to use the window: ${until} is before ${since}`, {
      actions: [`pass ${since} earlier than ${until} (both are UTC)`],
    })
  }
  return { start, end }
}

export function inWindow(window: TimeWindow, t: number): boolean {
  return (window.start === null || t >= window.start) && (window.end === null || t <= window.end)
}

/**
 * CloudTrail delivers a file a few minutes after its events (the date in the key is delivery
 * time, "within about 5 minutes", not guaranteed): files delivered from shortly before the window
 * (clock differences) to well after its end can hold events inside it.
 */
export const DELIVERY_MARGIN_BEFORE_MS = 15 * 60_000
export const DELIVERY_MARGIN_AFTER_MS = 60 * 60_000

const KEY_MARK = '_CloudTrail_'

/** The number in `s` from `at` to `at + n` when all of it is ASCII digits, else -1. */
export function digitsAt(s: string, at: number, n: number): number {
  let v = 0
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return v
}

function isRegionChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 // a-z 0-9 -
}

/**
 * The delivery time in a trail file's name (…_CloudTrail_<region>_YYYYMMDDTHHmmZ_…), if it has one:
 * the first place matching /_CloudTrail_[a-z0-9-]+_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_/, read
 * without the regex (a folder of a bucket holds thousands of names).
 */
export function deliveryTimeOf(name: string): number | undefined {
  for (let i = name.indexOf(KEY_MARK); i !== -1; i = name.indexOf(KEY_MARK, i + 1)) {
    let j = i + KEY_MARK.length
    const regionStart = j
    while (j < name.length && isRegionChar(name.charCodeAt(j))) j++
    // The region part has no `_`: only its longest run can be followed by one.
    if (j === regionStart || name.charCodeAt(j) !== 95) continue
    const d = j + 1
    if (d + 15 > name.length) continue
    const year = digitsAt(name, d, 4)
    const month = digitsAt(name, d + 4, 2)
    const day = digitsAt(name, d + 6, 2)
    const hour = digitsAt(name, d + 9, 2)
    const minute = digitsAt(name, d + 11, 2)
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0) continue
    if (name[d + 8] !== 'T' || name[d + 13] !== 'Z' || name[d + 14] !== '_') continue
    return Date.UTC(year, month - 1, day, hour, minute)
  }
  return undefined
}

/** Whether a trail file delivered at `delivered` can hold events inside the window. */
export function deliveryMayHold(window: TimeWindow, delivered: number): boolean {
  if (window.start !== null && delivered < window.start - DELIVERY_MARGIN_BEFORE_MS) return false
  if (window.end !== null && delivered > window.end + DELIVERY_MARGIN_AFTER_MS) return false
  return true
}

/**
 * The calendar date of a day counted from 1970-01-01 (proleptic Gregorian): the inverse of
 * daysFromCivil, by arithmetic for the same reasons.
 */
export function civilFromDays(days: number): [year: number, month: number, day: number] {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day]
}

/** The UTC days (counted from 1970-01-01) whose deliveries can hold events inside the window. */
export interface DeliverySpan {
  first: number
  last: number
}

/** A trail key's date folders hold four-digit years. */
const FIRST_KEY_DAY = daysFromCivil(0, 1, 1)
const LAST_KEY_DAY = daysFromCivil(9999, 12, 31)

/** The UTC days whose deliveries can hold events inside the window (with the delivery margins). */
export function deliverySpan(window: TimeWindow, now: number): DeliverySpan {
  const from = (window.start ?? now - LOOKUP_EVENTS_RETENTION_MS) - DELIVERY_MARGIN_BEFORE_MS
  const to = (window.end ?? now) + DELIVERY_MARGIN_AFTER_MS
  return {
    first: Math.max(FIRST_KEY_DAY, Math.floor(from / 86_400_000)),
    last: Math.min(LAST_KEY_DAY, Math.floor(to / 86_400_000)),
  }
}

/** The years of a span, first to last. */
export function spanYears(span: DeliverySpan): number[] {
  if (span.last < span.first) return []
  const out: number[] = []
  for (let y = civilFromDays(span.first)[0]; y <= civilFromDays(span.last)[0]; y++) out.push(y)
  return out
}

const pad = (n: number, width: number) => String(n).padStart(width, '0')

/**
 * The date folders of a trail's keys (`YYYY/`, `YYYY/MM/`, `YYYY/MM/DD/`, under
 * `…/CloudTrail/<region>/`) that together hold every day of the span and no day outside it: a year
 * or a month the span covers whole is one folder, the days at its edges are folders of their own.
 * A window of years is listed in a few dozen prefixes, and no day of it is left out. `years`, when
 * given, are the year folders the bucket has: the span's other years are not listed.
 */
export function deliveryFolders(span: DeliverySpan, years: number[] = spanYears(span)): string[] {
  const out: string[] = []
  for (const year of [...new Set(years)].sort((a, b) => a - b)) {
    const yearFirst = daysFromCivil(year, 1, 1)
    const yearLast = daysFromCivil(year + 1, 1, 1) - 1
    if (yearLast < span.first || yearFirst > span.last) continue
    if (yearFirst >= span.first && yearLast <= span.last) {
      out.push(`${pad(year, 4)}/`)
      continue
    }
    for (let month = 1; month <= 12; month++) {
      const monthFirst = daysFromCivil(year, month, 1)
      const monthLast = monthFirst + daysInMonth(year, month) - 1
      if (monthLast < span.first || monthFirst > span.last) continue
      if (monthFirst >= span.first && monthLast <= span.last) {
        out.push(`${pad(year, 4)}/${pad(month, 2)}/`)
        continue
      }
      const from = Math.max(monthFirst, span.first)
      const to = Math.min(monthLast, span.last)
      for (let d = from; d <= to; d++)
        out.push(`${pad(year, 4)}/${pad(month, 2)}/${pad(d - monthFirst + 1, 2)}/`)
    }
  }
  return out
}

export function describeWindow(window: TimeWindow): string {
  const f = (t: number | null, open: string) => (t === null ? open : new Date(t).toISOString())
  return `${f(window.start, 'the beginning')} → ${f(window.end, 'open-ended')}`
}
