import { isAscii, isUtf8 } from 'node:buffer'
import { escapeJsonText, holdsInvisibleUtf8, jsonText } from '../common/text.js'
import type { DetectorMarks, RulePack } from './detections.js'
import { eventIdOf, eventTimeMs, malformedFields, normaliseRecord } from './normalise.js'
import type { Relatedness, RelatedReason } from './related.js'
import type { FindingLevel, Origin, TimelineEvent, TimeWindow } from './types.js'
import { inWindow } from './window.js'

type Rec = Record<string, unknown>

/** Sort preference between copies of one event: trail files first (they hold data events too). */
export const ORIGIN_RANK: Record<Origin, number> = { file: 0, s3: 1, athena: 2, lake: 3, api: 4 }

export type Selection = { t: number; id: string; reasons: RelatedReason[] } | 'outside-window' | 'unrelated'

/** Window and relatedness for one record (its eventTime has been checked to parse). */
export function selectRecord(record: Rec, window: TimeWindow, relatedness: Relatedness | null): Selection {
  const t = eventTimeMs(record)
  if (!inWindow(window, t)) return 'outside-window'
  let reasons: RelatedReason[] = []
  if (relatedness) {
    reasons = relatedness.reasons(record)
    if (reasons.length === 0) return 'unrelated'
  }
  return { t, id: eventIdOf(record), reasons }
}

/**
 * One event ready for the store: its sort key, the JSONL line (with raw), whether rules fired,
 * and the marks the merge-time detector reads (see classifyForDetector).
 */
export interface KeptLine {
  t: number
  id: string
  rank: number
  /** The line; with `rawBytes`, all of it but `,"raw":<rawBytes>}` (see keptLine). */
  line: string
  /**
   * The record's bytes exactly as read (a view of its file's buffer: copy before that file's
   * buffer is reused); a record that holds a character escapeJsonText escapes, raw, as the same
   * JSON text with it escaped (a buffer of its own).
   */
  rawBytes?: Buffer
  levels: FindingLevel[]
  detector: DetectorMarks
  /** A field of the record has another type than CloudTrail gives it (see malformedFields). */
  malformed?: boolean
}

/** A kept line's size in bytes as far as it is known cheaply: exact for ASCII, a lower bound else. */
export function keptLineSize(item: KeptLine): number {
  return item.line.length + (item.rawBytes ? item.rawBytes.length + RAW_OPEN.length + 1 : 0)
}

/** Facts about a related event that the timeline's own checks correlate across events. */
export interface RelatedFacts {
  t: number
  id: string
  reasons: RelatedReason[]
  name: string
  actorType: string | null
  sessionName: string | null
  accessKeyId: string | null
  invokedBy: string | null
  sourceIp: string | null
  userAgent: string | null
  /** The access key an AssumeRole issued. */
  issuedKey: string | null
  error: boolean
}

export function factsOf(event: TimelineEvent, t: number, reasons: RelatedReason[]): RelatedFacts {
  const response = event.responseElements as Rec | null
  const creds =
    response && typeof response === 'object' ? (response.credentials as Rec | undefined) : undefined
  return {
    t,
    id: event.id,
    reasons,
    name: event.name,
    actorType: event.actor.type,
    sessionName: event.actor.sessionName,
    accessKeyId: event.actor.accessKeyId,
    invokedBy: event.actor.invokedBy,
    sourceIp: event.sourceIp,
    userAgent: event.userAgent,
    issuedKey: creds && typeof creds.accessKeyId === 'string' ? creds.accessKeyId : null,
    error: event.error !== null,
  }
}

/**
 * Turns a selected raw record into the stored line: normalised, tagged as fir's own when its
 * request id is one fir journaled, and run through the stateless rules unless it is fir's own
 * (fir's calls are not detections: see the merge in collect.ts).
 */
export function buildEvent(
  record: Rec,
  origin: Origin,
  t: number,
  id: string,
  firRequestIds: ReadonlySet<string>,
  pack: RulePack | null,
): { event: TimelineEvent; detector: DetectorMarks; malformed: boolean } {
  const requestID = record.requestID
  const fir = typeof requestID === 'string' && firRequestIds.has(requestID)
  const event = normaliseRecord(record, origin, { timeMs: t, id, fir })
  if (pack && !fir) event.findings = pack.statelessFindings(record)
  return {
    event,
    detector: pack ? pack.classify(record) : NO_MARKS,
    malformed: malformedFields(record) !== undefined,
  }
}

const NO_MARKS: DetectorMarks = { flags: 0, scopeRoles: '' }

export const RAW_OPEN = Buffer.from(',"raw":')

/**
 * What is known of a record's bytes before keptLine looks at them: that they are one line of
 * ASCII without DEL, or of valid UTF-8 (decodeTrailRecords checks a whole file at once, see
 * oneLineText), or nothing.
 */
export type RawBytesKnown = 'ascii' | 'utf8' | undefined

/**
 * The stored line of an event, as jsonText writes it (the characters escapeJsonText escapes are
 * `\uXXXX` escapes: a responder reads events.jsonl with cat and grep). `rawBytes`, the record's
 * bytes exactly as read from its file, go into the line as they are (no second serialisation of
 * the largest part of the event) when they are one line of valid UTF-8 (`known`: the caller
 * already knows they are); otherwise `raw` is serialised from the parsed record. `malformed`: see
 * KeptLine.
 */
export function keptLine(
  event: TimelineEvent,
  t: number,
  detector: DetectorMarks = NO_MARKS,
  rawBytes?: Buffer,
  known: RawBytesKnown = undefined,
  malformed = false,
): KeptLine {
  // Built as one literal: spreading a shared base into each line cost about 3 µs an event (a
  // second of a hunt's half million, measured), more than serialising the line.
  const rank = ORIGIN_RANK[event.origin]
  const levels = event.findings.map((f) => f.level)
  const text = rawBytes ? (known ?? oneLineText(rawBytes)) : undefined
  if (rawBytes && text) {
    // A string of the event holds a character escapeJsonText escapes only when the record's bytes
    // hold it, raw or spelt as a \u escape. Plain ASCII without a \u escape, as nearly every
    // record is, takes no further look (escaping every line cost about as much as writing it), and
    // only a record that holds one raw is decoded.
    let raw = rawBytes
    let escapeHead = false
    // A file that is not all ASCII is known as UTF-8: most of its records still are ASCII.
    if (text === 'utf8' && !isPlainAscii(rawBytes) && holdsInvisibleUtf8(rawBytes)) {
      raw = Buffer.from(escapeJsonText(rawBytes.toString('utf8')))
      escapeHead = true
    }
    // raw is the event's last field: the head ends where its `}` is. raw is left out by setting
    // it aside for the call (a copy of the event without it was one more object an event).
    let head: string
    if (rawBytes.indexOf(BACKSLASH) === -1) head = plainHead(event)
    else {
      escapeHead ||= rawBytes.indexOf(UNICODE_ESCAPE) !== -1
      const record = event.raw
      event.raw = undefined
      head = JSON.stringify(event).slice(0, -1)
      event.raw = record
    }
    if (escapeHead) head = escapeJsonText(head)
    return { t, id: event.id, rank, line: head, rawBytes: raw, levels, detector, malformed }
  }
  return {
    t,
    id: event.id,
    rank,
    line: jsonText(event),
    rawBytes: undefined,
    levels,
    detector,
    malformed,
  }
}

/**
 * Whether bytes are one line of ASCII without DEL (`ascii`: no character escapeJsonText escapes
 * can be in them but as a \u escape), else of valid UTF-8 (undefined: neither).
 */
export function oneLineText(bytes: Buffer): RawBytesKnown {
  if (bytes.indexOf(0x0a) !== -1 || bytes.indexOf(0x0d) !== -1) return undefined
  return isPlainAscii(bytes) ? 'ascii' : isUtf8(bytes) ? 'utf8' : undefined
}

/** ASCII without DEL (0x7f, which escapeJsonText escapes). */
function isPlainAscii(bytes: Buffer): boolean {
  return isAscii(bytes) && bytes.indexOf(0x7f) === -1
}

const BACKSLASH = 0x5c
const UNICODE_ESCAPE = Buffer.from('\\u')

/**
 * `JSON.stringify(event)` without `raw` and its closing brace, for an event read from record bytes
 * without a backslash: every string in it, keys too, is then one JSON writes as it is (a quote, a
 * backslash or a control character in a string is written escaped, and valid UTF-8 holds no lone
 * surrogate), and the event's own strings are such strings, parts of them cut at ASCII characters,
 * or fir's. So nothing is scanned for escapes: JSON.stringify spent about a third of its time on
 * it, a second of a hunt's threads (measured). The fields are written in normaliseRecord's order;
 * a test holds the two equal byte for byte.
 */
function plainHead(e: TimelineEvent): string {
  const a = e.actor
  return (
    `{"id":"${e.id}","time":"${e.time}","name":"${e.name}","rawName":"${e.rawName}","source":"${e.source}"` +
    `,"region":${text(e.region)},"account":${text(e.account)}` +
    `,"actor":{"type":${text(a.type)},"arn":${text(a.arn)},"sessionName":${text(a.sessionName)}` +
    `,"accessKeyId":${text(a.accessKeyId)},"invokedBy":${text(a.invokedBy)},"issuer":${text(a.issuer)}}` +
    `,"sourceIp":${text(e.sourceIp)},"userAgent":${text(e.userAgent)},"readOnly":${e.readOnly}` +
    `,"error":${plainJson(e.error)},"resources":${plainJson(e.resources)}` +
    `,"requestParameters":${plainJson(e.requestParameters)},"responseElements":${plainJson(e.responseElements)}` +
    `,"origin":"${e.origin}","fir":${e.fir},"findings":${e.findings.length === 0 ? '[]' : JSON.stringify(e.findings)}`
  )
}

const text = (v: string | null): string => (v === null ? 'null' : `"${v}"`)

/**
 * JSON.stringify of a value JSON.parse made from text without a backslash (see plainHead): plain
 * objects, arrays, strings, finite numbers, booleans and null, nested no deeper than a kept record.
 */
function plainJson(v: unknown): string {
  if (v === null) return 'null'
  switch (typeof v) {
    case 'string':
      return `"${v}"`
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null'
    case 'boolean':
      return v ? 'true' : 'false'
    case 'object': {
      if (Array.isArray(v)) {
        let out = '['
        for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + plainJson(v[i] ?? null)
        return `${out}]`
      }
      let out = '{'
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue
        const x = (v as Rec)[k]
        if (x === undefined) continue
        out += `${out.length === 1 ? '"' : ',"'}${k}":${plainJson(x)}`
      }
      return `${out}}`
    }
  }
  return 'null'
}
