import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { isRoleName } from '../common/iam-name.js'
import {
  accessKeyCreated,
  keyUsedFromStolenAddress,
  longTermKeyOf,
  roleOfActor,
  secretIdsAsked,
  secretLabel,
  secretRef,
} from '../credentials/role-use.js'
import { deniesEverything } from '../detect/policy.js'
import { MAX_CATEGORIES } from './chart.js'
import {
  asArray,
  asRecord,
  asString,
  compactValue,
  isoOrNull,
  levelLabel,
  levelRank,
  normaliseLevel,
  serviceShortName,
  truncate,
  utcDisplay,
} from './format.js'
import { CLOSING_MEASURES, shortTarget, type TimelineUndo } from './journal-view.js'
import type { FindingView, KeyEvent, Level } from './model.js'

/** What one pass over timeline/events.jsonl yields (plus the findings file, when there is one). */
export interface TimelineScan {
  /** The SHA-256 (lowercase hex) and size of the events file as this pass read it; null without one. */
  eventsRead: { sha256: string; bytes: number } | null
  totalEvents: number
  unreadableLines: number
  firstMs: number | null
  lastMs: number | null
  eventsWithFindings: number
  writeEvents: number
  errorEvents: number
  firEvents: number
  byCategory: Map<string, number>
  byOrigin: Map<string, number>
  byRegion: Map<string, number>
  /** Events per account they were recorded in (recipientAccountId, else the caller's). */
  byAccount: Map<string, number>
  byActor: Map<string, number>
  bySourceIp: Map<string, number>
  keyEvents: KeyEvent[]
  keyEventsTotal: number
  /** Per-event arrays for the chart. */
  times: number[]
  categoryOf: number[]
  categories: string[]
  findingPoints: { ms: number; level: Level }[]
  /** Timeline findings grouped by rule. */
  findingGroups: FindingView[]
  /** The earliest finding (by event time). */
  firstFinding: { time: string; title: string } | null
  /** Roles assumed (without error) with an execution role's credentials (`role ARN (n×)`): chained sessions. */
  chainedAssumeRoles: string[]
  /** Roles an execution role's credentials tried to assume and failed or were denied (`role ARN (n×)`). */
  chainedAssumeRolesRefused: string[]
  /**
   * Secrets read (without error) with an execution role's credentials, as `secretLabel` names them
   * (name, region, account): same-named secrets of two regions are two.
   */
  secretsRead: string[]
  /** Access keys created (without error) with an execution role's credentials: `AKIA… for user U`. */
  keysCreated: string[]
  /**
   * Long-term keys of other identities used from an address where an execution role's credentials
   * were used outside Lambda (see keyUsedFromStolenAddress), with the addresses.
   */
  keysFromStolenAddress: { accessKeyId: string; userName: string | null; sourceIps: string[] }[]
  /**
   * Long-term keys (IAM users') that signed calls a detection flagged high or critical, fir's own
   * calls aside (they have no findings), and not the keysFromStolenAddress: with the addresses and
   * the findings' titles.
   */
  keysOfFlaggedCalls: FlaggedKey[]
  /** What each watched key (a long-term key found in a function's environment) signed, in order. */
  watchedKeyUse: WatchedKeyUse[]
  /** The public access flagged events opened, per function and kind (latest event of each). */
  accessOpened: AccessOpened[]
  /**
   * Calls that set a function's execution role (CreateFunction, UpdateFunctionConfiguration with a
   * role), in time order: of each function, a call that sets the role the one before it set is
   * left out. fir's own calls and failed ones are not among them.
   */
  rolesSet: RoleSet[]
  /**
   * Calls that undo what a containment measure did to a function or role (the latest of each
   * measure and target): public access opened again, the throttle lifted, a mapping enabled, the
   * case's revocation policy deleted. fir's own calls and failed ones are not among them.
   */
  measuresUndone: TimelineUndo[]
  /**
   * Calls that put back what a containment measure does, as fir applied it (the latest of each
   * measure and target): reserved concurrency set to 0 again. One dated after the calls that undid
   * the measure leaves it in force. fir's own calls and failed ones are not among them.
   */
  measuresReapplied: TimelineUndo[]
  /**
   * EventIDs that more than one record of the timeline claims (the timeline keeps one of identical
   * copies, so these differ: one was altered or forged), with how many records each, in the order
   * first met; empty unless the scan was asked to look for them.
   */
  conflictingIds: { id: string; records: number }[]
}

/** A long-term access key that signed calls a detection flagged high or critical. */
export interface FlaggedKey {
  accessKeyId: string
  userName: string | null
  sourceIps: string[]
  /** The findings' titles, each once. */
  findings: string[]
}

/**
 * Public access a flagged event opened to one function: AddPermission (a statement a detection
 * flagged: to everyone or another account) or a function URL created or changed to AuthType NONE.
 */
export interface AccessOpened {
  /** The way in, as a snapshot names it: `resource-policy` or `function-url`. */
  kind: 'resource-policy' | 'function-url'
  /** `functionName` as the caller sent it: a name, an ARN or a partial ARN, maybe qualified. */
  functionName: string
  region: string
  eventName: string
  eventId: string
  time: string
}

/** A call that set a function's execution role (see TimelineScan.rolesSet). */
export interface RoleSet {
  /** `functionName` as the caller sent it: a name, an ARN or a partial ARN. */
  functionName: string
  region: string
  /** The account the record says the call was made in, or '' when it names none. */
  account: string
  /** The role ARN the call set. */
  role: string
  eventName: string
  eventId: string
  time: string
  actor: string
  /** The titles of the detections that flagged the call, each once (empty when none did). */
  findings: string[]
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/

/** Role changes kept at most: a role a deployment sets on every update is one change, not many. */
const ROLES_SET_KEPT = 1000

/** The function name and region a Lambda `functionName` parameter names (name, ARN, partial ARN). */
export function functionRef(ref: string, region: string): { name: string; region: string } {
  const parts = ref.split(':')
  if (ref.startsWith('arn:')) return { name: parts[6] ?? ref, region: parts[3] || region }
  if (parts[1] === 'function') return { name: parts[2] ?? ref, region }
  return { name: parts[0] ?? ref, region }
}

/**
 * Whether a function of the case (by ARN; without one, by name and the region when it is known)
 * is the one a reference names: a function of the same name in another region is another.
 */
export function isFunction(
  f: { arn: string; name: string; region?: string },
  ref: { name: string; region: string },
): boolean {
  if (!f.arn) return f.name === ref.name && (!f.region || f.region === ref.region)
  return shortTarget(f.arn) === ref.name && f.arn.split(':')[3] === ref.region
}

/**
 * The public access a Lambda event opened, when a detection flagged it for that (the finding the
 * advice reads as opened access: a policy opened, a URL without auth), or null.
 */
function accessOpenedBy(
  event: Record<string, unknown>,
  findings: readonly { rule: string; title: string }[],
): AccessOpened['kind'] | null {
  if (event.error || !/lambda\.amazonaws\.com$/.test(asString(event.source) ?? '')) return null
  const name = asString(event.name) ?? asString(event.rawName) ?? ''
  const flagged = (re: RegExp) => findings.some((f) => re.test(`${f.title} ${f.rule}`))
  if (/^AddPermission/.test(name) && flagged(/AddPermission|Function Policy Opened/i))
    return 'resource-policy'
  if (/^(Create|Update)FunctionUrlConfig/.test(name) && flagged(/Function URL|FunctionUrl/i)) {
    const auth = asString(asRecord(event.requestParameters).authType)
    return auth?.toUpperCase() === 'NONE' ? 'function-url' : null
  }
  return null
}

/**
 * The function and role a Lambda call set its execution role to (CreateFunction, or
 * UpdateFunctionConfiguration with a role: a role swap when it differs from the role before), or
 * null. The caller leaves out fir's own calls and failed ones.
 */
function roleSetBy(event: Record<string, unknown>): { functionName: string; role: string } | null {
  if (!/lambda\.amazonaws\.com$/.test(asString(event.source) ?? '')) return null
  const name = asString(event.name) ?? asString(event.rawName) ?? ''
  if (!/^(CreateFunction|UpdateFunctionConfiguration)(\d\w*)?$/.test(name)) return null
  const req = asRecord(event.requestParameters)
  const functionName = asString(req.functionName)
  const role = asString(req.role)
  // A role ARN as IAM makes them: a record from a trail file is text anyone could have written.
  return functionName && role && ROLE_ARN.test(role) ? { functionName, role } : null
}

/**
 * The execution roles an event names, as role ARNs: the role whose session made the call
 * (`assumed-role/<role>/…`), and a role the call set or named (`role`, `roleArn`, `roleName` of
 * its request, a name in the account the record was made in).
 */
function rolesNamedBy(event: Record<string, unknown>, actor: Record<string, unknown>): string[] {
  const out: string[] = []
  const session = asString(actor.arn)
  const own = roleOfActor(session)
  if (own) out.push(`arn:aws:iam::${session!.split(':')[4]}:role/${own.role}`)
  const req = asRecord(event.requestParameters)
  for (const v of [req.role, req.roleArn]) {
    const arn = asString(v)
    if (arn && ROLE_ARN.test(arn)) out.push(arn)
  }
  const name = asString(req.roleName)
  const account = asString(event.account)
  if (name && account && isRoleName(name)) out.push(`arn:aws:iam::${account}:role/${name}`)
  return out
}

/** Roles kept at most per finding group (FindingView.roles). */
const GROUP_ROLES_KEPT = 20

/**
 * The containment measure a call undoes, or null: the public access {@link accessOpenedBy} reads
 * (the url or permissions measure), reserved concurrency deleted or set above 0 (throttle), an
 * event source mapping enabled or created enabled (event-sources), and the case's revocation
 * policy deleted from a role or put over (sessions). The caller leaves out fir's own calls and failed ones.
 */
function measureUndoneBy(
  event: Record<string, unknown>,
  findings: readonly { rule: string; title: string }[],
  revokePolicy: string | null,
): { measure: string; target: string } | null {
  const name = asString(event.name) ?? asString(event.rawName) ?? ''
  const source = asString(event.source) ?? ''
  const req = asRecord(event.requestParameters)
  if (/^iam\.amazonaws\.com$/.test(source)) {
    const role = asString(req.roleName)
    if (!role || !revokePolicy || req.policyName !== revokePolicy) return null
    // Deleted, or replaced by a document of someone else's (fir's own calls are left out above)
    // that denies less: one that still denies everything (a teammate's deny-all) undoes nothing.
    if (/^DeleteRolePolicy$/.test(name)) return { measure: 'containment.sessions', target: role }
    return /^PutRolePolicy$/.test(name) && !deniesEverything(req.policyDocument)
      ? { measure: 'containment.sessions', target: role }
      : null
  }
  if (!/lambda\.amazonaws\.com$/.test(source)) return null
  const fn = asString(req.functionName)
  const opened = accessOpenedBy(event, findings)
  // Public access opened again undoes the measure that closes it directly (the URL's auth, the
  // statements): a URL set to NONE while the statements stay removed opens nothing by itself.
  if (opened && fn) return { measure: CLOSING_MEASURES[opened]![0]!.measure, target: fn }
  const reserved = req.reservedConcurrentExecutions
  if (
    fn &&
    (/^DeleteFunctionConcurrency/.test(name) ||
      (/^PutFunctionConcurrency/.test(name) && reserved !== undefined && Number(reserved) !== 0))
  )
    return { measure: 'containment.throttle', target: fn }
  // UpdateEventSourceMapping may name the mapping alone (its UUID): the function is in the response.
  const mappingFn = fn ?? asString(asRecord(event.responseElements).functionArn)
  const enabled = req.enabled === true || req.enabled === 'true'
  if (
    mappingFn &&
    ((/^UpdateEventSourceMapping/.test(name) && enabled) ||
      (/^CreateEventSourceMapping/.test(name) && req.enabled !== false && req.enabled !== 'false'))
  )
    return { measure: 'containment.event-sources', target: mappingFn }
  return null
}

/**
 * The containment measure a call puts back as fir applied it, or null: reserved concurrency set
 * to 0 again (throttle), say by whoever had lifted it. The caller leaves out fir's own calls and
 * failed ones.
 */
function measureReappliedBy(event: Record<string, unknown>): { measure: string; target: string } | null {
  if (!/lambda\.amazonaws\.com$/.test(asString(event.source) ?? '')) return null
  const name = asString(event.name) ?? asString(event.rawName) ?? ''
  const req = asRecord(event.requestParameters)
  const fn = asString(req.functionName)
  const reserved = req.reservedConcurrentExecutions
  return fn && /^PutFunctionConcurrency/.test(name) && (reserved === 0 || reserved === '0')
    ? { measure: 'containment.throttle', target: fn }
    : null
}

/**
 * Keeps `found` (the measure and target a call undid or put back) in `calls` when it is the latest
 * call of that measure and target: by measure, region (none for a role), account and name.
 */
function noteMeasureCall(
  calls: Map<string, TimelineUndo>,
  found: { measure: string; target: string } | null,
  call: { event: Record<string, unknown>; region: string; ms: number; actor: string },
): void {
  if (!found) return
  const { event, ms } = call
  const ref = functionRef(found.target, call.region)
  // A function ARN names its account; otherwise the account the call was made in.
  const account =
    (found.target.startsWith('arn:') ? found.target.split(':')[4] : '') || asString(event.account) || ''
  const where = found.measure === 'containment.sessions' ? '' : ref.region
  const key = `${found.measure}|${where}|${account}|${ref.name}`
  const seen = calls.get(key)
  if (!seen || Date.parse(seen.time) <= ms)
    calls.set(key, {
      measure: found.measure,
      name: found.measure === 'containment.sessions' ? found.target : ref.name,
      region: where,
      account,
      eventName: asString(event.name) ?? asString(event.rawName) ?? '',
      eventId: asString(event.id) ?? '',
      time: new Date(ms).toISOString(),
      actor: truncate(call.actor, 200),
    })
}

/** The calls one watched access key signed in the timeline. */
export interface WatchedKeyUse {
  accessKeyId: string
  calls: number
  /** Of them, failed or denied. */
  failed: number
  first: string | null
  last: string | null
  /** Source addresses, most calls first: `address (n)`. */
  sourceIps: string[]
  /** Names of the write calls it made that succeeded, in order of first use. */
  changes: string[]
  /** The IAM user the key belongs to, from the caller of a call it signed; null when none says. */
  userName: string | null
}

/**
 * The lines of a file, split on bytes (several times cheaper than node:readline on a 100 MB
 * timeline); a line is decoded only once it is whole, so UTF-8 sequences are never cut.
 */
async function* lineBatches(path: string, onRead?: (piece: Buffer) => void): AsyncGenerator<string[]> {
  let rest: Buffer | null = null
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) {
    onRead?.(piece as Buffer)
    const chunk: Buffer = rest ? Buffer.concat([rest, piece as Buffer]) : (piece as Buffer)
    const lines: string[] = []
    let start = 0
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      lines.push(chunk.toString('utf8', start, nl))
      start = nl + 1
    }
    rest = start < chunk.length ? chunk.subarray(start) : null
    yield lines
  }
  if (rest) yield [rest.toString('utf8')]
}

const IP_LIKE = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]+)$/i
/** Events kept aside per source IP, and how many IPs, in case a finding shares the address. */
const PER_IP = 50
const MAX_IPS = 5000

const NO_FINDINGS: ReturnType<typeof rawFindingsOf> = []

/** Every key of a normalised event (DESIGN §5) that fir writes before `raw`. */
const HEAD_KEYS = [
  'id',
  'time',
  'name',
  'rawName',
  'source',
  'region',
  'actor',
  'sourceIp',
  'userAgent',
  'readOnly',
  'error',
  'requestParameters',
  'origin',
  'fir',
  'findings',
]

/**
 * Parses one events.jsonl line. `raw` (the CloudTrail record, about half of each line) is last in
 * what fir writes, so the line is first parsed without it and `raw` kept as text. That is only
 * trusted when the cut is at the top level (a `,"raw":` inside a string is impossible in JSON; one
 * nested deeper leaves the head unbalanced, so it does not parse) and the head holds every key of
 * a normalised event; anything else is parsed whole.
 */
function parseEvent(line: string): { event: Record<string, unknown>; rawText: string | null } {
  const text = line.trimEnd()
  const cut = text.lastIndexOf(',"raw":')
  if (cut > 0 && text.endsWith('}')) {
    try {
      const head = JSON.parse(`${text.slice(0, cut)}}`) as unknown
      if (head && typeof head === 'object' && !Array.isArray(head) && HEAD_KEYS.every((k) => k in head)) {
        return { event: head as Record<string, unknown>, rawText: text.slice(cut + 7, -1) }
      }
    } catch {
      // Not a top-level `raw`: parse the whole line below.
    }
  }
  return { event: asRecord(JSON.parse(text)), rawText: null }
}

interface Candidate {
  rank: number
  ms: number
  view: KeyEvent
}

function actorText(actor: Record<string, unknown>): string {
  for (const key of ['arn', 'invokedBy', 'sessionName', 'type']) {
    const v = asString(actor[key])
    if (v) return v
  }
  return 'unknown'
}

function rawFindingsOf(
  event: Record<string, unknown>,
): { rule: string; title: string; level: Level; tags: string[] }[] {
  return asArray(event.findings).map((f) => {
    const r = asRecord(f)
    return {
      rule: asString(r.rule) ?? asString(r.id) ?? 'unknown-rule',
      title: asString(r.title) ?? asString(r.rule) ?? 'untitled finding',
      level: normaliseLevel(r.level),
      tags: asArray(r.tags).map((t) => String(t)),
    }
  })
}

/** The key of a finding group: its rule and level. */
const groupKey = (f: { rule: string; level: Level }) => `${f.rule}\u0000${f.level}`

interface Group {
  rule: string
  title: string
  level: Level
  tags: Set<string>
  count: number
  /** Of `count`, the events that failed or were denied (attempts). */
  failed: number
  firstMs: number
  lastMs: number
  firstIso: string | null
  lastIso: string | null
  actors: Set<string>
  eventIds: string[]
  summary: string
  /** Findings of this rule on another record of an eventID already counted: not counted again. */
  otherVersions: number
}

function addToGroups(
  groups: Map<string, Group>,
  f: { rule: string; title: string; level: Level; tags: string[] },
  time: string | null,
  actor: string,
  eventId: string,
  summary: string,
  failed: boolean,
): void {
  const key = groupKey(f)
  const ms = time ? Date.parse(time) : Number.NaN
  let g = groups.get(key)
  if (!g) {
    g = {
      rule: f.rule,
      title: f.title,
      level: f.level,
      tags: new Set(),
      count: 0,
      failed: 0,
      firstMs: Number.POSITIVE_INFINITY,
      lastMs: Number.NEGATIVE_INFINITY,
      firstIso: null,
      lastIso: null,
      actors: new Set(),
      eventIds: [],
      summary,
      otherVersions: 0,
    }
    groups.set(key, g)
  }
  g.count++
  if (failed) g.failed++
  for (const t of f.tags) g.tags.add(t)
  if (!Number.isNaN(ms)) {
    if (ms < g.firstMs) {
      g.firstMs = ms
      g.firstIso = new Date(ms).toISOString()
      if (summary) g.summary = summary
    }
    if (ms > g.lastMs) {
      g.lastMs = ms
      g.lastIso = new Date(ms).toISOString()
    }
  }
  if (actor && g.actors.size < 4) g.actors.add(actor)
  if (eventId && g.eventIds.length < 5) g.eventIds.push(eventId)
}

/**
 * Whether a finding of `rule` at `level` on event `eventId` is the first met (`seen` holds those
 * met so far; undefined: no eventID is claimed twice, every finding counts). A record claiming the
 * eventID of one already counted is another version of that event, not another event: the group
 * notes it (`otherVersions`) instead of counting it again.
 */
function firstVersion(
  seen: Set<string> | undefined,
  groups: Map<string, Group>,
  f: { rule: string; level: Level },
  eventId: string,
): boolean {
  if (!seen || !eventId) return true
  const key = `${f.rule}\u0000${f.level}\u0000${eventId}`
  if (!seen.has(key)) {
    seen.add(key)
    return true
  }
  const g = groups.get(groupKey(f))
  if (g) g.otherVersions++
  return false
}

/** ` (also 1 other version of its eventID, altered or forged: counted once)`, or empty. */
function otherVersionsText(n: number): string {
  return n === 0
    ? ''
    : ` (also ${n} other version${n === 1 ? '' : 's'} of ${n === 1 ? 'an eventID' : 'eventIDs'} already counted, with other content: a copy altered or a record forged; counted once)`
}

/** ` (failed or denied: an attempt)`: what a finding's detail says of its calls that were refused. */
function failedText(failed: number, count: number): string {
  if (failed === 0) return ''
  if (failed < count)
    return ` (${failed} of ${count} failed or ${failed === 1 ? 'was' : 'were'} denied: attempts)`
  return count === 1 ? ' (failed or denied: an attempt)' : ` (all ${count} failed or were denied: attempts)`
}

function groupsToViews(
  groups: Map<string, Group>,
  /** The roles the flagged events of each group named (by groupKey). */
  rolesOf: ReadonlyMap<string, ReadonlySet<string>>,
): FindingView[] {
  return [...groups.values()]
    .sort((a, b) => levelRank(a.level) - levelRank(b.level) || b.count - a.count || a.firstMs - b.firstMs)
    .map((g) => ({
      source: 'timeline' as const,
      level: g.level,
      title: g.title,
      kind: g.rule,
      target: g.actors.size ? [...g.actors].join(', ') + (g.actors.size >= 4 ? ', …' : '') : 'not recorded',
      detail: `${g.summary || 'no detail recorded'}${failedText(g.failed, g.count)}${otherVersionsText(g.otherVersions)}`,
      count: g.count,
      failed: g.failed,
      first: g.firstIso,
      firstDisplay: g.firstIso ? utcDisplay(g.firstIso) : null,
      // A single moment is shown once: `last` only when it differs from `first`.
      last: g.lastIso !== g.firstIso ? g.lastIso : null,
      lastDisplay: g.lastIso && g.lastIso !== g.firstIso ? utcDisplay(g.lastIso) : null,
      observedDisplay: 'time not recorded',
      references: g.eventIds,
      tags: [...g.tags].sort(),
      roles: [...(rolesOf.get(groupKey(g)) ?? [])],
    }))
}

/**
 * Reads timeline/events.jsonl line by line (it can hold millions of events): counts everything,
 * keeps the per-event minimum for the chart, and keeps the best `keyEventLimit` key events —
 * events with findings (most severe first), then changes — shown in time order.
 */
export async function scanTimeline(
  eventsPath: string | null,
  findingsFile: unknown[] | null,
  keyEventLimit: number,
  executionRoles: string[] = [],
  /** Long-term keys found in a function's environment: what they signed is reported. */
  watchedKeys: string[] = [],
  /** The case's revocation policy (`fir-revoke-<case id>`): a call deleting it undoes sessions. */
  revokePolicy: string | null = null,
  /**
   * The timeline holds records that claim one eventID with other content (its summary's
   * `events.conflicting`): every eventID is then counted, to find and mark each version, and a
   * finding is counted once per eventID. Only then: an account's timeline holds millions.
   */
  findConflicts = false,
): Promise<TimelineScan> {
  const scan: TimelineScan = {
    eventsRead: null,
    totalEvents: 0,
    unreadableLines: 0,
    firstMs: null,
    lastMs: null,
    eventsWithFindings: 0,
    writeEvents: 0,
    errorEvents: 0,
    firEvents: 0,
    byCategory: new Map(),
    byOrigin: new Map(),
    byRegion: new Map(),
    byAccount: new Map(),
    byActor: new Map(),
    bySourceIp: new Map(),
    keyEvents: [],
    keyEventsTotal: 0,
    times: [],
    categoryOf: [],
    categories: [],
    findingPoints: [],
    findingGroups: [],
    firstFinding: null,
    chainedAssumeRoles: [],
    chainedAssumeRolesRefused: [],
    secretsRead: [],
    keysCreated: [],
    keysFromStolenAddress: [],
    keysOfFlaggedCalls: [],
    watchedKeyUse: [],
    accessOpened: [],
    rolesSet: [],
    measuresUndone: [],
    measuresReapplied: [],
    conflictingIds: [],
  }
  const recordsOf = findConflicts ? new Map<string, number>() : undefined
  // `rule|level|eventID` of the findings counted (see firstVersion).
  const findingsCounted = findConflicts ? new Set<string>() : undefined
  const accessOpened = new Map<string, AccessOpened>()
  // The execution roles the flagged events of each finding group name (FindingView.roles).
  const groupRoles = new Map<string, Set<string>>()
  // The role each function was last set to, by region and functionName.
  const roleNow = new Map<string, string>()
  const measuresUndone = new Map<string, TimelineUndo>()
  const measuresReapplied = new Map<string, TimelineUndo>()
  const watched = new Map(
    watchedKeys.map((k) => [
      k,
      {
        calls: 0,
        failed: 0,
        firstMs: Number.POSITIVE_INFINITY,
        lastMs: 0,
        ips: new Map<string, number>(),
        changes: new Set<string>(),
        userName: null as string | null,
      },
    ]),
  )
  const chained = new Map<string, number>()
  const chainedRefused = new Map<string, number>()
  const secretsRead = new Set<string>()
  const keysCreated = new Set<string>()
  const keysFromStolenAddress = new Map<string, { userName: string | null; sourceIps: Set<string> }>()
  const flaggedKeys = new Map<
    string,
    { userName: string | null; sourceIps: Set<string>; findings: Set<string> }
  >()
  const executionRole = new Set(executionRoles.map((r) => r.toLowerCase()))
  const roleSessionPrefixes = executionRoles.map((r) => `:assumed-role/${r}/`)
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1)
  const serviceIndex = new Map<string, number>()
  const services: string[] = []
  const rawCategory: number[] = []
  let candidates: Candidate[] = []
  const eventGroups = new Map<string, Group>()
  const eventFindingPoints: { ms: number; level: Level }[] = []
  const findingIps = new Set<string>()
  const firEventIds = new Set<string>()
  // Flagged events that failed or were denied: the findings file's entries name their event.
  const failedFlagged = new Set<string>()
  const byIp = new Map<string, Candidate[]>()
  // Candidates worse than the worst kept after a prune can never make the cut.
  let threshold = Number.POSITIVE_INFINITY
  const prune = () => {
    candidates.sort((a, b) => a.rank - b.rank || a.ms - b.ms)
    candidates = candidates.slice(0, keyEventLimit)
    if (candidates.length >= keyEventLimit) threshold = candidates.at(-1)!.rank
  }

  // Hashed as read, so that what the report shows is checked against what the journal recorded
  // without a second pass over a file of gigabytes.
  const eventsHash = createHash('sha256')
  let eventsBytes = 0
  const onRead = (piece: Buffer) => {
    eventsHash.update(piece)
    eventsBytes += piece.length
  }
  for await (const batch of eventsPath ? lineBatches(eventsPath, onRead) : []) {
    for (const line of batch) {
      if (line.trim() === '') continue
      let event: Record<string, unknown>
      let rawText: string | null
      try {
        ;({ event, rawText } = parseEvent(line))
      } catch {
        scan.unreadableLines++
        continue
      }
      const ms = Date.parse(asString(event.time) ?? '')
      if (Number.isNaN(ms)) {
        scan.unreadableLines++
        continue
      }
      scan.totalEvents++
      if (scan.firstMs === null || ms < scan.firstMs) scan.firstMs = ms
      if (scan.lastMs === null || ms > scan.lastMs) scan.lastMs = ms
      const service = serviceShortName(asString(event.source) ?? 'unknown')
      let si = serviceIndex.get(service)
      if (si === undefined) {
        si = services.length
        services.push(service)
        serviceIndex.set(service, si)
      }
      scan.times.push(ms)
      rawCategory.push(si)
      inc(scan.byCategory, service)
      inc(scan.byOrigin, asString(event.origin) ?? 'unknown')
      const region = asString(event.region) ?? 'unknown'
      inc(scan.byRegion, region)
      const account = asString(event.account)
      if (account) inc(scan.byAccount, account)
      const actor = asRecord(event.actor)
      const actorName = actorText(actor)
      inc(scan.byActor, actorName)
      const sourceIp = asString(event.sourceIp) ?? ''
      if (sourceIp) inc(scan.bySourceIp, sourceIp)
      const readOnly = event.readOnly === true || event.readOnly === 'true'
      const isWrite = event.readOnly === false || event.readOnly === 'false'
      if (isWrite) scan.writeEvents++
      const err = asRecord(event.error)
      const errorText = event.error
        ? truncate(
            [asString(err.code), asString(err.message)].filter(Boolean).join(': ') ||
              compactValue(event.error),
            200,
          )
        : ''
      if (errorText) scan.errorEvents++
      const fir = event.fir === true
      if (fir) {
        scan.firEvents++
        if (event.id !== undefined) firEventIds.add(String(event.id))
      }
      if (executionRole.size > 0 && !event.error) {
        const role = roleOfActor(actor.arn)?.role
        if (role && executionRole.has(role.toLowerCase())) {
          for (const id of secretIdsAsked(event) ?? []) secretsRead.add(secretLabel(secretRef(id, event)))
          const key = accessKeyCreated(event)
          if (key) keysCreated.add(`${key.accessKeyId}${key.userName ? ` for user ${key.userName}` : ''}`)
        }
      }
      if (roleSessionPrefixes.length && /^AssumeRole/.test(asString(event.name) ?? '')) {
        const arn = asString(actor.arn) ?? ''
        if (roleSessionPrefixes.some((p) => arn.includes(p))) {
          const assumed = asString(asRecord(event.requestParameters).roleArn) ?? 'unknown role'
          // A refused AssumeRole issued no session: an attempt, nothing to revoke.
          inc(event.error ? chainedRefused : chained, assumed)
        }
      }
      // fir's own calls are not detections (a timeline stored before fir left them out may carry
      // findings on them): neither listed, nor the first detection, nor the advice's evidence.
      const findings =
        !fir && Array.isArray(event.findings) && event.findings.length ? rawFindingsOf(event) : NO_FINDINGS
      if (findings.length) {
        const opened = accessOpenedBy(event, findings)
        const functionName = asString(asRecord(event.requestParameters).functionName)
        if (opened && functionName) {
          const key = `${opened}|${region}|${functionName}`
          const seen = accessOpened.get(key)
          if (!seen || Date.parse(seen.time) <= ms)
            accessOpened.set(key, {
              kind: opened,
              functionName,
              region,
              eventName: asString(event.name) ?? '',
              eventId: asString(event.id) ?? '',
              time: new Date(ms).toISOString(),
            })
        }
        const severe = findings.filter((f) => f.level === 'critical' || f.level === 'high')
        const signer = severe.length ? longTermKeyOf(event) : null
        if (signer) {
          const seen = flaggedKeys.get(signer.accessKeyId) ?? {
            userName: signer.userName,
            sourceIps: new Set<string>(),
            findings: new Set<string>(),
          }
          if (signer.sourceIp) seen.sourceIps.add(signer.sourceIp)
          for (const f of severe) seen.findings.add(f.title)
          flaggedKeys.set(signer.accessKeyId, seen)
        }
        const used = keyUsedFromStolenAddress(event)
        if (used) {
          const seen = keysFromStolenAddress.get(used.accessKeyId) ?? {
            userName: used.userName,
            sourceIps: new Set<string>(),
          }
          if (used.sourceIp) seen.sourceIps.add(used.sourceIp)
          keysFromStolenAddress.set(used.accessKeyId, seen)
        }
      }
      const roleSet = fir || event.error ? null : roleSetBy(event)
      if (roleSet) {
        const key = `${account ?? ''}|${region}|${roleSet.functionName}`
        const eventName = asString(event.name) ?? asString(event.rawName) ?? ''
        // A CreateFunction is kept whatever role it sets: who created the function is known by it.
        if (
          (/^CreateFunction/.test(eventName) ||
            roleNow.get(key)?.toLowerCase() !== roleSet.role.toLowerCase()) &&
          scan.rolesSet.length < ROLES_SET_KEPT
        )
          scan.rolesSet.push({
            ...roleSet,
            region,
            account: account ?? '',
            eventName,
            eventId: asString(event.id) ?? '',
            time: new Date(ms).toISOString(),
            actor: truncate(actorName, 200),
            findings: [...new Set(findings.map((f) => f.title))],
          })
        roleNow.set(key, roleSet.role)
      }
      // What fir did, and what failed or was denied, undoes nothing and puts nothing back.
      if (!fir && !event.error) {
        const call = { event, region, ms, actor: actorName }
        noteMeasureCall(measuresUndone, measureUndoneBy(event, findings, revokePolicy), call)
        noteMeasureCall(measuresReapplied, measureReappliedBy(event), call)
      }
      const id = asString(event.id) ?? ''
      if (recordsOf && id) recordsOf.set(id, (recordsOf.get(id) ?? 0) + 1)
      const name = asString(event.name) ?? asString(event.rawName) ?? 'unknown'
      // Formatted only for the few events that are shown (most of 100,000 are only counted).
      let isoTime: string | undefined
      const time = () => (isoTime ??= new Date(ms).toISOString())
      if (findings.length) {
        scan.eventsWithFindings++
        if (errorText && id) failedFlagged.add(id)
        const named = rolesNamedBy(event, actor)
        for (const f of findings) {
          if (named.length) {
            const seen = groupRoles.get(groupKey(f)) ?? new Set<string>()
            for (const r of named) if (seen.size < GROUP_ROLES_KEPT) seen.add(r)
            groupRoles.set(groupKey(f), seen)
          }
          eventFindingPoints.push({ ms, level: f.level })
          if (!findingsFile && firstVersion(findingsCounted, eventGroups, f, id))
            addToGroups(eventGroups, f, time(), actorName, id, `${name} by ${actorName}`, !!errorText)
        }
      }
      const top = findings.reduce<Level | null>(
        (best, f) => (best === null || levelRank(f.level) < levelRank(best) ? f.level : best),
        null,
      )
      const byService = actor.type === 'AWSService' || (!asString(actor.arn) && !!asString(actor.invokedBy))
      // Whether it is a data event is in `raw`, parsed only for the few events that need it.
      const dataEvent = () => {
        let raw = asRecord(event.raw)
        if (rawText !== null) {
          try {
            raw = asRecord(JSON.parse(rawText))
          } catch {
            raw = {}
          }
        }
        return raw.eventCategory === 'Data' || raw.managementEvent === false
      }
      const keyUse = watched.size ? watched.get(asString(actor.accessKeyId) ?? '') : undefined
      if (keyUse) {
        keyUse.calls++
        if (errorText) keyUse.failed++
        else if (isWrite) keyUse.changes.add(name)
        keyUse.firstMs = Math.min(keyUse.firstMs, ms)
        keyUse.lastMs = Math.max(keyUse.lastMs, ms)
        const ip = sourceIp || 'not recorded'
        keyUse.ips.set(ip, (keyUse.ips.get(ip) ?? 0) + 1)
        keyUse.userName ??= longTermKeyOf(event)?.userName ?? null
      }
      // Rank (lower is shown first): findings by level (0–4); fir's own changes (5); changes by
      // a person or workload, not an AWS service (6); their failed or denied calls (7). Those
      // signed with a key found in a function's environment say so; the key's reads are not
      // listed (a CI key's routine reads are many: the impact sums them up by address).
      const withKey = keyUse ? ' signed with a key found in the environment' : ''
      let rank: number | null = null
      let reason = ''
      if (top !== null) [rank, reason] = [levelRank(top), 'finding']
      else if (fir && isWrite) [rank, reason] = [5, 'change by fir']
      else if (isWrite && !byService && !dataEvent()) [rank, reason] = [6, `change${withKey}`]
      else if (errorText && !byService) [rank, reason] = [7, `failed or denied${withKey}`]
      if (top !== null && IP_LIKE.test(sourceIp)) findingIps.add(sourceIp)
      const view = (): KeyEvent => ({
        id,
        time: time(),
        timeDisplay: utcDisplay(time()),
        name,
        category: service,
        region,
        actor: truncate(actorName, 200),
        sourceIp: sourceIp || 'not recorded',
        userAgent: truncate(asString(event.userAgent) ?? '', 160),
        error: errorText,
        readOnly,
        fir,
        level: top,
        levelLabel: top ? levelLabel(top) : null,
        findingsText: [...new Set(findings.map((f) => f.title))].join('; '),
        request: compactValue(event.requestParameters ?? null, 220),
        reason,
        conflict: null,
      })
      if (rank !== null) {
        scan.keyEventsTotal++
        if (rank <= threshold) {
          candidates.push({ rank, ms, view: view() })
          if (candidates.length >= keyEventLimit * 4) prune()
        }
      } else if (!byService && !fir && IP_LIKE.test(sourceIp)) {
        // Kept aside: shown if a finding comes from the same address (the attacker's other calls).
        const list = byIp.get(sourceIp) ?? []
        if (list.length < PER_IP && (list.length > 0 || byIp.size < MAX_IPS)) {
          const v = view()
          v.reason = 'same source IP as a finding'
          list.push({ rank: 8, ms, view: v })
          byIp.set(sourceIp, list)
        }
      }
    }
  }
  for (const ip of findingIps) {
    const list = byIp.get(ip) ?? []
    scan.keyEventsTotal += list.length
    candidates.push(...list)
  }
  prune()
  // By time, not by ISO text: -000001-… and +275760-… sort by their sign there.
  scan.keyEvents = candidates.sort((a, b) => a.ms - b.ms).map((c) => c.view)
  for (const [id, records] of recordsOf ?? []) if (records > 1) scan.conflictingIds.push({ id, records })
  for (const v of scan.keyEvents) {
    const records = recordsOf?.get(v.id) ?? 0
    if (records > 1)
      v.conflict = `${records} records in the timeline claim this eventID with different content: a copy was altered or a record forged`
  }

  scan.eventsRead = eventsPath ? { sha256: eventsHash.digest('hex'), bytes: eventsBytes } : null
  // The chart shows the most frequent categories; the rest are drawn together as "other".
  const top = [...scan.byCategory.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, services.length > MAX_CATEGORIES + 1 ? MAX_CATEGORIES : MAX_CATEGORIES + 1)
    .map(([name]) => name)
  const remap = services.map((s) => {
    const i = top.indexOf(s)
    return i === -1 ? top.length : i
  })
  scan.categories = services.length > top.length ? [...top, 'other'] : top
  scan.categoryOf = rawCategory.map((c) => remap[c]!)

  if (findingsFile) {
    const groups = new Map<string, Group>()
    for (const raw of findingsFile) {
      const f = asRecord(raw)
      const eventId = asString(f.eventId)
      if (eventId && firEventIds.has(eventId)) continue
      const level = normaliseLevel(f.level)
      const time = isoOrNull(f.time)
      const eventName = asString(f.eventName) ?? ''
      const actor = asString(f.actor) ?? ''
      if (time) scan.findingPoints.push({ ms: Date.parse(time), level })
      const rule = asString(f.rule) ?? 'unknown-rule'
      if (!firstVersion(findingsCounted, groups, { rule, level }, eventId ?? '')) continue
      addToGroups(
        groups,
        {
          rule,
          title: asString(f.title) ?? asString(f.rule) ?? 'untitled finding',
          level,
          tags: asArray(f.tags).map((t) => String(t)),
        },
        time,
        actor,
        asString(f.eventId) ?? '',
        asString(f.summary) ?? (eventName ? `${eventName}${actor ? ` by ${actor}` : ''}` : ''),
        !!eventId && failedFlagged.has(eventId),
      )
    }
    scan.findingGroups = groupsToViews(groups, groupRoles)
  } else {
    scan.findingPoints = eventFindingPoints
    scan.findingGroups = groupsToViews(eventGroups, groupRoles)
  }
  let first: { ms: number; time: string; title: string } | null = null
  for (const g of scan.findingGroups) {
    if (g.first && (first === null || Date.parse(g.first) < first.ms)) {
      first = { ms: Date.parse(g.first), time: g.first, title: g.title }
    }
  }
  scan.firstFinding = first ? { time: first.time, title: first.title } : null
  scan.secretsRead = [...secretsRead].sort()
  scan.keysCreated = [...keysCreated].sort()
  scan.watchedKeyUse = [...watched.entries()].map(([accessKeyId, k]) => ({
    accessKeyId,
    calls: k.calls,
    failed: k.failed,
    first: k.calls ? new Date(k.firstMs).toISOString() : null,
    last: k.calls ? new Date(k.lastMs).toISOString() : null,
    sourceIps: [...k.ips.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([ip, n]) => `${ip} (${n})`),
    changes: [...k.changes],
    userName: k.userName,
  }))
  scan.accessOpened = [...accessOpened.values()].sort((a, b) => a.time.localeCompare(b.time))
  scan.rolesSet.sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
  scan.measuresUndone = [...measuresUndone.values()].sort((a, b) => a.time.localeCompare(b.time))
  scan.measuresReapplied = [...measuresReapplied.values()].sort((a, b) => a.time.localeCompare(b.time))
  scan.keysFromStolenAddress = [...keysFromStolenAddress.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([accessKeyId, k]) => ({ accessKeyId, userName: k.userName, sourceIps: [...k.sourceIps].sort() }))
  scan.keysOfFlaggedCalls = [...flaggedKeys.entries()]
    // A key used from the stolen credentials' address is named there (keysFromStolenAddress).
    .filter(([id]) => !keysFromStolenAddress.has(id))
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([accessKeyId, k]) => ({
      accessKeyId,
      userName: k.userName,
      sourceIps: [...k.sourceIps].sort(),
      findings: [...k.findings].sort(),
    }))
  const timesEach = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([arn, n]) => `${arn} (${n}×)`)
  scan.chainedAssumeRoles = timesEach(chained)
  scan.chainedAssumeRolesRefused = timesEach(chainedRefused)
  return scan
}
