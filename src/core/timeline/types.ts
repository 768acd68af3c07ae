/** Where an event came from (DESIGN §5). */
export type Origin = 'api' | 's3' | 'file' | 'athena' | 'lake'

export type FindingLevel = 'critical' | 'high' | 'medium' | 'low' | 'informational'

/** A detection on one event: a Sigma rule's, or one of the timeline's own relatedness checks. */
export interface EventFinding {
  rule: string
  title: string
  level: FindingLevel
  tags: string[]
}

/** Who made the call, from `userIdentity` (DESIGN §5). */
export interface EventActor {
  /** IAMUser, AssumedRole, AWSService, Root, FederatedUser, AWSAccount, IdentityCenterUser… */
  type: string | null
  arn: string | null
  /** The role session name of an assumed-role caller (Lambda names it after the function). */
  sessionName: string | null
  accessKeyId: string | null
  /** The AWS service that made the call on the caller's behalf (e.g. lambda.amazonaws.com). */
  invokedBy: string | null
  /** The role or user that issued the session (`sessionContext.sessionIssuer.arn`). */
  issuer: string | null
}

/**
 * One CloudTrail event, normalised (DESIGN §5). Every string in it is attacker-controlled:
 * escape before printing or rendering.
 */
export interface TimelineEvent {
  /** eventID; for the rare record without one, `nid-` and a hash of the record. */
  id: string
  /** eventTime as UTC ISO 8601 with milliseconds. */
  time: string
  /** eventName without Lambda's version suffix: UpdateFunctionCode. */
  name: string
  /** eventName as recorded: UpdateFunctionCode20150331v2. */
  rawName: string
  source: string
  region: string | null
  account: string | null
  actor: EventActor
  sourceIp: string | null
  userAgent: string | null
  readOnly: boolean | null
  error: { code: string; message: string | null } | null
  resources: unknown[]
  requestParameters: unknown
  responseElements: unknown
  origin: Origin
  /** True for calls fir itself made (matched by the request ids fir journaled). */
  fir: boolean
  findings: EventFinding[]
  /** The record exactly as received (exports leave it out unless --raw). */
  raw?: Record<string, unknown>
}

/**
 * Why an input, or a record in it, was not put on the timeline. Bad input is counted, never
 * fatal; `outside-window`, `unrelated` and `duplicate` are normal and counted apart.
 */
export type SkipReason =
  | 'invalid-json'
  | 'corrupt-gzip'
  | 'unreadable'
  | 'digest-file'
  | 'insights-record'
  | 'no-event-time'
  | 'not-cloudtrail'
  | 'too-large'
  /** A record nested deeper than MAX_RECORD_DEPTH (file-task.ts): storing it would overflow the stack. */
  | 'too-deep'

export const BAD_INPUT_REASONS: readonly SkipReason[] = [
  'invalid-json',
  'corrupt-gzip',
  'unreadable',
  'digest-file',
  'insights-record',
  'no-event-time',
  'not-cloudtrail',
  'too-large',
  'too-deep',
]

/** The time window of a run; null ends are open. */
export interface TimeWindow {
  start: number | null
  end: number | null
}
