import type { EventActor, Origin, TimelineEvent } from './types.js'

type Rec = Record<string, unknown>

// Lambda (UpdateFunctionCode20150331v2, AddPermission20150331) and CloudFront
// (UpdateDistribution2020_05_31) version their API names; the suffix is not part of the action.
const VERSION_SUFFIX = /^([A-Za-z][A-Za-z0-9]*?)(?:\d{8}|\d{4}_\d{2}_\d{2})(?:v\d+)?$/

/** The event name without an API version suffix (DESIGN §10): UpdateFunctionCode20150331v2 → UpdateFunctionCode. */
export function baseEventName(rawName: string): string {
  const m = VERSION_SUFFIX.exec(rawName)
  return m?.[1] ? m[1] : rawName
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null
}

function obj(v: unknown): Rec | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : null
}

/** Milliseconds since the epoch of a record's eventTime, or NaN when it has none that parses. */
export function eventTimeMs(record: Rec): number {
  const t = record.eventTime
  if (typeof t === 'string') return Date.parse(t)
  if (typeof t === 'number') return t < 1e11 ? t * 1000 : t
  return Number.NaN
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
    const parts = arn.split('/')
    return parts.length >= 3 ? (parts.at(-1) ?? null) : null
  }
  if (type === 'AssumedRole') {
    const principal = str(identity.principalId)
    const i = principal?.indexOf(':') ?? -1
    if (principal && i >= 0) return principal.slice(i + 1)
  }
  if (arn && type === 'FederatedUser') return arn.split('/').at(-1) ?? null
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
    time: new Date(timeMs).toISOString(),
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
