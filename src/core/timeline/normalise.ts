import { memoized } from '../common/memo.js'
import type { EventActor, Origin, TimelineEvent } from './types.js'
import { daysFromCivil, daysInMonth, digitsAt, MAX_DATE_MS } from './window.js'

type Rec = Record<string, unknown>

// Lambda (UpdateFunctionCode20150331v2, AddPermission20150331) and CloudFront
// (UpdateDistribution2020_05_31) version their API names; the suffix is not part of the action.
const VERSION_SUFFIX = /^([A-Za-z][A-Za-z0-9]*?)(?:\d{8}|\d{4}_\d{2}_\d{2})(?:v\d+)?$/

/** The event name without an API version suffix (DESIGN §10): UpdateFunctionCode20150331v2 → UpdateFunctionCode. */
export const baseEventName = memoized((rawName: string): string => {
  const m = VERSION_SUFFIX.exec(rawName)
  return m?.[1] ? m[1] : rawName
}, 4096)

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null
}

function obj(v: unknown): Rec | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : null
}

/**
 * Milliseconds since the epoch of a record's eventTime, or NaN when it has none that parses. A
 * number is seconds below 1e11, else milliseconds; one no date can hold (1e20) is NaN, as an
 * impossible date in text is (it ended the run: formatting it threw).
 */
export function eventTimeMs(record: Rec): number {
  const t = record.eventTime
  if (typeof t === 'string') return parseTime(t)
  if (typeof t === 'number') {
    const ms = t < 1e11 ? t * 1000 : t
    return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : Number.NaN
  }
  return Number.NaN
}

/**
 * Milliseconds since the epoch of an ISO 8601 time, or NaN. CloudTrail writes
 * `2025-03-01T12:34:56Z`; that shape is read here by hand (Date.parse costs as much as the rest
 * of normalising a record, and a hunt reads every record); other ISO shapes (a fraction, an
 * offset) go to Date.parse. A day the month does not have (2025-04-31, 2025-02-29) is NaN, not
 * the next month's day Date.parse makes of it, as --since refuses it; so is text that does not
 * start with an ISO date (Date.parse's other formats roll days over too, and read some in the
 * computer's time zone).
 */
export function parseTime(s: string): number {
  return cloudTrailTime(s) ?? otherIsoTime(s)
}

// The date Date.parse's ISO format starts with: YYYY-MM-DD or ±YYYYYY-MM-DD.
const ISO_DATE = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})/

// A date and time without a zone: Date.parse reads it in the computer's time zone.
const NO_ZONE = /^([+-]\d{6}|\d{4})-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/

function otherIsoTime(s: string): number {
  const m = ISO_DATE.exec(s)
  if (!m) return Number.NaN
  // fir reads every time in UTC, as CloudTrail writes them: never in the laptop's zone.
  const t = Date.parse(NO_ZONE.test(s) ? `${s}Z` : s)
  // Date.parse has checked the month is 1-12 and the day 1-31.
  if (Number.isNaN(t) || Number(m[3]) <= daysInMonth(Number(m[1]), Number(m[2]))) return t
  return Number.NaN
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ` of a day that exists, as milliseconds since the epoch; undefined for
 * any other text (a leap second, 31 April, a fraction, an offset: otherIsoTime decides those).
 */
function cloudTrailTime(s: string): number | undefined {
  // Asked twice of each record's text (its time, then the text normalised: isoTime).
  if (s === lastTimeText) return lastTimeMs
  const ms = readCloudTrailTime(s)
  lastTimeText = s
  lastTimeMs = ms
  return ms
}

let lastTimeText = ''
let lastTimeMs: number | undefined

function readCloudTrailTime(s: string): number | undefined {
  if (s.length !== 20 || s.charCodeAt(19) !== 0x5a /* Z */ || s.charCodeAt(10) !== 0x54 /* T */)
    return undefined
  if (
    s.charCodeAt(4) !== 0x2d ||
    s.charCodeAt(7) !== 0x2d ||
    s.charCodeAt(13) !== 0x3a ||
    s.charCodeAt(16) !== 0x3a
  )
    return undefined
  const y = digitsAt(s, 0, 4)
  const mo = digitsAt(s, 5, 2)
  const d = digitsAt(s, 8, 2)
  const h = digitsAt(s, 11, 2)
  const mi = digitsAt(s, 14, 2)
  const se = digitsAt(s, 17, 2)
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
    return undefined
  if (d > daysInMonth(y, mo)) return undefined
  return daysFromCivil(y, mo, d) * 86_400_000 + ((h * 60 + mi) * 60 + se) * 1000
}

/** The ISO text of an event's time: CloudTrail's own text with milliseconds when that is the time. */
function isoTime(raw: unknown, timeMs: number): string {
  if (typeof raw === 'string' && cloudTrailTime(raw) === timeMs) return `${raw.slice(0, 19)}.000Z`
  return new Date(timeMs).toISOString()
}

/**
 * The event's id: eventID, else (older documentation samples have none) a stable hash of the
 * record, so the same record read twice is still one event.
 */
export function eventIdOf(record: Rec, text?: string): string {
  const id = record.eventID
  if (typeof id === 'string' && id.length > 0) return id
  // node:crypto is loaded on first use: worker threads import this module, and most records have an id.
  return `nid-${process
    .getBuiltinModule('node:crypto')
    .createHash('sha256')
    .update(text ?? JSON.stringify(record))
    .digest('hex')
    .slice(0, 32)}`
}

/** The session name of an assumed-role or federated caller. */
export function sessionNameOf(identity: Rec | null): string | null {
  if (!identity) return null
  const arn = str(identity.arn)
  const type = str(identity.type)
  if (arn && type === 'AssumedRole') {
    // arn:aws:sts::<account>:assumed-role/<role>/<session>: the part after the second slash.
    const last = arn.lastIndexOf('/')
    return last > arn.indexOf('/') ? arn.slice(last + 1) : null
  }
  if (type === 'AssumedRole') {
    const principal = str(identity.principalId)
    const i = principal?.indexOf(':') ?? -1
    if (principal && i >= 0) return principal.slice(i + 1)
  }
  if (arn && type === 'FederatedUser') return arn.slice(arn.lastIndexOf('/') + 1)
  return null
}

export function actorOf(record: Rec): EventActor {
  const identity = obj(record.userIdentity)
  const issuer = obj(obj(identity?.sessionContext)?.sessionIssuer)
  return {
    type: str(identity?.type),
    arn: str(identity?.arn),
    sessionName: sessionNameOf(identity),
    accessKeyId: str(identity?.accessKeyId) || null,
    invokedBy: str(identity?.invokedBy),
    issuer: str(issuer?.arn),
  }
}

function readOnlyOf(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v
  if (v === 'true') return true
  if (v === 'false') return false
  return null
}

const wrongText = (v: unknown) => v !== undefined && v !== null && typeof v !== 'string'
const wrongObject = (v: unknown) =>
  v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))

/**
 * The fields of a record that normaliseRecord reads and that have another type than CloudTrail
 * gives them (an eventName `{"x":1}` or `12345`, a userAgent list, requestParameters as text),
 * or undefined when none has. It runs for every event of a hunt: each field is looked at once by
 * name, and the list is made only when one is wrong. The event then has them blank, or a number
 * as text; `raw` keeps them as received.
 */
export function malformedFields(record: Rec): string[] | undefined {
  let w: string[] | undefined
  // The fields normaliseRecord reads as text (CloudTrail writes each as a string).
  if (wrongText(record.eventID)) (w ??= []).push('eventID')
  if (wrongText(record.eventName)) (w ??= []).push('eventName')
  if (wrongText(record.eventSource)) (w ??= []).push('eventSource')
  if (wrongText(record.awsRegion)) (w ??= []).push('awsRegion')
  if (wrongText(record.recipientAccountId)) (w ??= []).push('recipientAccountId')
  if (wrongText(record.sourceIPAddress)) (w ??= []).push('sourceIPAddress')
  if (wrongText(record.userAgent)) (w ??= []).push('userAgent')
  if (wrongText(record.errorCode)) (w ??= []).push('errorCode')
  if (wrongText(record.errorMessage)) (w ??= []).push('errorMessage')
  // The fields it keeps as they are, which CloudTrail writes as objects (or null).
  const id = record.userIdentity
  if (wrongObject(id)) (w ??= []).push('userIdentity')
  if (wrongObject(record.requestParameters)) (w ??= []).push('requestParameters')
  if (wrongObject(record.responseElements)) (w ??= []).push('responseElements')
  const res = record.resources
  if (res !== undefined && res !== null && !Array.isArray(res)) (w ??= []).push('resources')
  const ro = record.readOnly
  if (ro !== undefined && ro !== null && readOnlyOf(ro) === null) (w ??= []).push('readOnly')
  // The fields actorOf reads from userIdentity as text.
  const identity = obj(id)
  if (identity) {
    if (wrongText(identity.type)) (w ??= []).push('userIdentity.type')
    if (wrongText(identity.arn)) (w ??= []).push('userIdentity.arn')
    if (wrongText(identity.principalId)) (w ??= []).push('userIdentity.principalId')
    if (wrongText(identity.accountId)) (w ??= []).push('userIdentity.accountId')
    if (wrongText(identity.accessKeyId)) (w ??= []).push('userIdentity.accessKeyId')
    if (wrongText(identity.invokedBy)) (w ??= []).push('userIdentity.invokedBy')
  }
  return w
}

/**
 * The normalised event of DESIGN §5 for one raw CloudTrail record. The caller has checked that
 * the record has an eventTime that parses (`timeMs`). Findings start empty; `raw` is the record.
 */
export function normaliseRecord(
  record: Rec,
  origin: Origin,
  options: { timeMs?: number; id?: string; fir?: boolean } = {},
): TimelineEvent {
  const timeMs = options.timeMs ?? eventTimeMs(record)
  const rawName = str(record.eventName) ?? ''
  const errorCode = str(record.errorCode)
  const identity = obj(record.userIdentity)
  return {
    id: options.id ?? eventIdOf(record),
    time: isoTime(record.eventTime, timeMs),
    name: baseEventName(rawName),
    rawName,
    source: str(record.eventSource) ?? '',
    region: str(record.awsRegion),
    account: str(record.recipientAccountId) ?? str(identity?.accountId),
    actor: actorOf(record),
    sourceIp: str(record.sourceIPAddress),
    userAgent: str(record.userAgent),
    readOnly: readOnlyOf(record.readOnly),
    error: errorCode ? { code: errorCode, message: str(record.errorMessage) } : null,
    resources: Array.isArray(record.resources) ? record.resources : [],
    requestParameters: record.requestParameters ?? null,
    responseElements: record.responseElements ?? null,
    origin,
    fir: options.fir ?? false,
    findings: [],
    raw: record,
  }
}

/** The event without `raw` (exports unless --raw). */
export function withoutRaw(event: TimelineEvent): TimelineEvent {
  const { raw: _raw, ...rest } = event
  return rest
}
