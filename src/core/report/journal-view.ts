import type { JournalEntry } from '../case/journal.js'
import { counted } from '../common/text.js'
import { secretLabel, secretRef } from '../credentials/role-use.js'
import { FIXED_BY_A_NEW_RUN, findUnfinishedRun } from '../playbook/unfinished-run.js'
import { finishCommand, interruptedNote, STEP_ACTION, supersededNote } from '../steps/interrupted.js'
import { changeKey, isUndoEntry, SAME_CHANGE } from '../steps/undo-records.js'
import { drillOf } from '../tabletop/safety.js'
import {
  asArray,
  asRecord,
  asString,
  changeText,
  compactValue,
  countRows,
  durationDisplay,
  truncate,
  utcDisplay,
} from './format.js'
import type { ActionView, AfterActionSection, GapView, NoteView, ResponseStatus } from './model.js'

/** Human titles of the step ids of STYLE.md "A step" (unknown ids are shown as they are). */
export const STEP_TITLES: Record<string, string> = {
  'containment.event-sources': 'Disable event source mappings',
  'containment.throttle': 'Throttle: reserved concurrency 0',
  'containment.url': 'Function URL auth set to AWS_IAM',
  'containment.permissions': 'Remove public resource-policy statements',
  'containment.sessions': 'Revoke role sessions issued before now (TokenIssueTime deny)',
  'containment.recycle': 'Recycle warm execution environments',
  'credentials.revoke-sessions': 'Revoke role sessions issued before now (TokenIssueTime deny)',
  'credentials.rotate-key': 'Rotate access key',
  'credentials.rotate-secret': 'Rotate secret',
}

/** Journal actions that record facts, not changes; they are shown elsewhere in the report. */
const BOOKKEEPING = new Set(['case.init', 'case.artifact', 'evidence.seal', 'aws.identity', 'case.note'])
const FRAME = /^(playbook|tabletop|timeline|snapshot|report)\./
const CHANGE_OUTCOMES = new Set([
  'started',
  'applied',
  'already-applied',
  'failed',
  'denied',
  'undone',
  'conflict',
  'skipped',
])
const SUCCEEDED = new Set(['applied', 'already-applied', 'undone'])
const CONTAINMENT = /^(containment\.|credentials\.revoke-sessions$)/

/**
 * The measure a step's change is: contain's `sessions` and `fir creds revoke-sessions` put one
 * policy on the role (SAME_CHANGE), so they are one measure, and an undo of either lifts it.
 */
export function measureOf(action: string): string {
  return SAME_CHANGE[action] ?? action
}

/** `<measure>|<target>`: the key of a measure in {@link JournalView.inForce}. */
export function measureKey(action: string, target: string): string {
  return `${measureOf(action)}|${target}`
}

/** A {@link measureKey} split at its first `|` (a role's path may itself hold one). */
export function splitMeasureKey(key: string): { measure: string; target: string } {
  const bar = key.indexOf('|')
  return { measure: key.slice(0, bar), target: key.slice(bar + 1) }
}

/**
 * Measures that stop a way into a function (the throttle stops them all). Recycling and session
 * revocation are about the function's credentials: they are in force, but they never contain a
 * function by themselves.
 */
const FUNCTION_MEASURES = new Set([
  'containment.event-sources',
  'containment.throttle',
  'containment.url',
  'containment.permissions',
])

/** A measure that closes a way into a function, and what it did, in words. */
export interface ClosingMeasure {
  measure: string
  did: string
  /**
   * Set when the change failed or was denied part way and the state it left (its journal entry's
   * `after`) closes the way in: the measure is not in force, what it did is.
   */
  partly?: { outcome: string }
}

/**
 * The measures that close each kind of way in (as snapshots and the timeline name them), the one
 * that closes it directly first (`service-principal`: no measure closes it). A function URL with
 * AuthType NONE answers only callers the resource policy grants public access (AWS: the policy
 * "must grant public access before your function URL can receive requests"), so removing the
 * public statements closes it too, whatever its AuthType. The status, the impact lines and the
 * advice all read this one table.
 */
export const CLOSING_MEASURES: Readonly<Record<string, readonly ClosingMeasure[]>> = {
  'function-url': [
    { measure: 'containment.url', did: 'function URL auth set to AWS_IAM' },
    {
      measure: 'containment.permissions',
      did: 'function URL kept AuthType NONE but no statement grants public access (removed by the case)',
    },
  ],
  'resource-policy': [
    { measure: 'containment.permissions', did: 'public resource-policy statements removed' },
  ],
  'event-source': [{ measure: 'containment.event-sources', did: 'event source mappings disabled' }],
}

/** The first measure in force (`on`) that closes a way in of `kind`, or undefined. */
export function closingMeasure(kind: string, on: (measure: string) => boolean): ClosingMeasure | undefined {
  return CLOSING_MEASURES[kind]?.find((m) => on(m.measure))
}

/** The state a change or an undo left when it failed or was denied part way (its entry's `after`). */
export interface StateLeft {
  after: unknown
  outcome: string
  /** Left by an undo (a restore): the measure stays in force as far as that state says. */
  undo: boolean
}

/** Event source mapping states in which it runs the function, or may (what containment disables). */
export const MAPPING_RUNS: ReadonlySet<string> = new Set(['Enabled', 'Enabling', 'Creating', 'Updating'])

const listOf = (state: unknown, field: string): Record<string, unknown>[] | null => {
  const list = asRecord(state)[field]
  return Array.isArray(list) ? list.map(asRecord) : null
}

/**
 * Whether the state a step left (the `after` of a failed or denied entry: the statements still
 * there, the URL configs, the mappings) closes one way in the snapshot showed. Only a way the
 * snapshot named (a statement's Sid, a URL's address, a mapping's UUID) can be found in it; any
 * other is not known to be closed.
 */
const LEFT_CLOSES: Readonly<Record<string, (after: unknown, item: ExposureItem) => boolean>> = {
  'containment.permissions': (after, item) => {
    const statements = listOf(after, 'statements')
    if (!statements) return false
    const open = statements.filter((s) => s.public === true)
    // A URL with AuthType NONE answers only as far as a public statement grants it.
    if (item.kind === 'function-url') return open.length === 0
    const sid = item.ref?.sid
    if (item.kind !== 'resource-policy' || sid === undefined) return false
    const qualifiers = item.ref?.qualifiers ?? []
    return !open.some(
      (s) =>
        s.sid === sid && (qualifiers.length === 0 || qualifiers.includes(asString(s.qualifier) ?? '$LATEST')),
    )
  },
  'containment.url': (after, item) => {
    const url = item.ref?.url
    if (item.kind !== 'function-url' || !url) return false
    const config = listOf(after, 'configs')?.find((c) => c.url === url)
    return config !== undefined && asString(config.authType) !== null && config.authType !== 'NONE'
  },
  'containment.event-sources': (after, item) => {
    const uuid = item.ref?.uuid
    if (item.kind !== 'event-source' || !uuid) return false
    const mapping = listOf(after, 'mappings')?.find((m) => m.uuid === uuid)
    return mapping !== undefined && !MAPPING_RUNS.has(asString(mapping.state) ?? '')
  },
}

/** `failed`, `was denied`: a failed or denied outcome in a sentence. */
/** `failed`, `was denied`: a step's outcome after its title. */
export const outcomeWords = (outcome: string) => (outcome === 'failed' ? 'failed' : `was ${outcome}`)

/**
 * The measure that closes one way in: a measure in force (`on`), unless its latest change or undo
 * failed or was denied part way (`left`): then as far as the state it left closes that way, in
 * force or not — a contain that removed one public statement of two closed that one; a restore
 * that re-added one of them opened it again.
 */
export function wayCloser(
  item: ExposureItem,
  on: (measure: string) => boolean,
  left: (measure: string) => StateLeft | undefined,
): ClosingMeasure | undefined {
  for (const m of CLOSING_MEASURES[item.kind] ?? []) {
    const l = left(m.measure)
    if (l === undefined) {
      if (on(m.measure)) return m
      continue
    }
    if (!LEFT_CLOSES[m.measure]?.(l.after, item)) continue
    return l.undo
      ? m
      : {
          ...m,
          did: `${m.did} (in part: the step ${outcomeWords(l.outcome)})`,
          partly: { outcome: l.outcome },
        }
  }
  return undefined
}

/** Whether one of `measures` is among those that close a way in of `kind`. */
function closesKind(kind: string, measures: readonly string[]): boolean {
  return CLOSING_MEASURES[kind]?.some((m) => measures.includes(m.measure)) ?? false
}

/** What each closing measure closes, for a function no snapshot in the case describes. */
const JOURNALED_EXPOSURE: Readonly<Record<string, { kind: string; what: string }>> = {
  'containment.url': { kind: 'function-url', what: 'its function URL (no snapshot says how it was set)' },
  'containment.permissions': {
    kind: 'resource-policy',
    what: 'its resource-policy statements (no snapshot says which were public)',
  },
  'containment.event-sources': {
    kind: 'event-source',
    what: 'its event source mappings (no snapshot says which were enabled)',
  },
}

function rank(order: string[], id: string): number {
  const i = order.indexOf(id)
  return i === -1 ? order.length : i
}

export function stepTitle(action: string): string {
  return STEP_TITLES[action] ?? action
}

/** `orders-api` from a function ARN, `orders-api-role` from a role ARN; other text unchanged. */
export function shortTarget(target: string): string {
  if (!target.startsWith('arn:')) return target
  const resource = target.split(':').slice(5).join(':')
  const parts = resource.split(/[:/]/)
  if (/^function[:]/.test(resource)) return parts[1] ?? target
  return parts.at(-1) || target
}

/** `alice@ir-laptop`, or `an unrecorded user` when the journal or case.json does not say. */
export function userAtHost(who: Record<string, unknown>): string {
  const user = asString(who.osUser)
  const host = asString(who.host)
  if (!user && !host) return 'an unrecorded user'
  return `${user ?? 'unknown user'}@${host ?? 'unknown host'}`
}

export function actorDisplay(entry: JournalEntry): string {
  const a = asRecord(entry.actor)
  const who = userAtHost(a)
  const arn = asString(a.arn)
  return arn ? `${arn} (${who})` : who
}

/** A way into a function that its latest snapshot showed. */
export interface ExposureItem {
  /** `function-url`, `resource-policy`, `service-principal` (as the snapshot names them) or `event-source`. */
  kind: string
  /** In words: `function URL open to anyone (AuthType NONE)`. */
  what: string
  /** Reachable from outside the account (a URL with AuthType NONE, a public statement). */
  public: boolean
  /** What names it in a step's state, as far as the snapshot recorded it. */
  ref?: WayRef
}

/**
 * Whether two ways in are one: the same URL address, mapping UUID, or statement Sid in the same
 * qualifiers' policies (as their refs name them); a way its snapshot named no ref for goes by its
 * kind and words. Two URLs with AuthType NONE, or the console's FunctionURLAllowPublicAccess on
 * $LATEST and on an alias, read alike and are two ways in: closing one leaves the other open.
 */
export function sameWay(a: ExposureItem, b: ExposureItem): boolean {
  return a.kind === b.kind && wayIdentity(a) === wayIdentity(b)
}

function wayIdentity(i: ExposureItem): string {
  const r = i.ref
  if (r?.url) return `url ${r.url}`
  if (r?.uuid) return `mapping ${r.uuid}`
  const words = r?.sid !== undefined ? `statement ${r.sid}` : `way ${i.what}`
  return JSON.stringify([words, [...(r?.qualifiers ?? [])].sort()])
}

/** What names a way in within a containment step's state (see LEFT_CLOSES). */
export interface WayRef {
  /** A statement's Sid, and the qualifiers whose policy holds it. */
  sid?: string
  qualifiers?: string[]
  /** A function URL's address. */
  url?: string
  /** An event source mapping's UUID. */
  uuid?: string
}

/** A snapshotted function and the ways into it its latest snapshot (of every qualifier) showed. */
export interface FunctionExposure {
  /** The ARN (containment journals the function by it); empty when the snapshot has none. */
  arn: string
  name: string
  /** Without an ARN: the function's region when it is known (a function only the timeline names). */
  region?: string
  label: string
  items: ExposureItem[]
}

/**
 * A call in the case's timeline (not fir's, not failed) that undid what a containment measure does
 * to its target (timeline-scan.ts finds them): dated after fir applied the measure, it leaves the
 * measure not known to be in force.
 */
export interface TimelineUndo {
  /** The measure's step id: `containment.url`, `containment.throttle`, `containment.sessions`… */
  measure: string
  /** The function's name (or the role's, for sessions) the call changed. */
  name: string
  /** The function's region; empty for a role, or when not known. */
  region: string
  /** The account, empty when not known. */
  account: string
  eventName: string
  eventId: string
  /** UTC ISO. */
  time: string
  actor: string
}

/** A measure fir applied that a later call in the timeline undid. */
export interface MeasureUndone {
  /** The measure's step id. */
  measure: string
  /** Its journaled target (a function or role ARN). */
  target: string
  /** When fir applied it (its journal entry's time). */
  appliedAt: string
  /** The calls that undid it, dated after that. */
  calls: TimelineUndo[]
}

/** Whether the case contains one function, from the measures in force for it. */
export interface FunctionContainment {
  arn: string
  name: string
  /** As {@link FunctionExposure.region}. */
  region?: string
  label: string
  /** The case journaled a containment step for it (recycling and revocation included). */
  journaled: boolean
  /** Step ids of the measures in force for it (the role's session revocation is not one). */
  measures: string[]
  /**
   * Ways in a measure in force closes (the throttle aside: it closes nothing, it stops all), or
   * that a change failed or denied part way closed, each with what closes it.
   */
  closed: (ExposureItem & { by: ClosingMeasure })[]
  /** Ways in no measure in force closes. */
  open: ExposureItem[]
  /** Its measures (its role's revocation included) that calls in the timeline undid since. */
  undone: MeasureUndone[]
  /**
   * Its measures (throttle, event sources, URL, statements) whose latest run failed or AWS denied,
   * and not in force: a throttle denied leaves the function running.
   */
  refused: { measure: string; outcome: string }[]
  /**
   * `orders-api: not throttled, so new invocations still run (Throttle: reserved concurrency 0 was
   * denied)` for a function contained all the same (every way in closed) whose throttle was
   * refused; null otherwise (a function not contained says so in `why`).
   */
  refusedText: string | null
  /**
   * Throttled, or every way in closed by a measure in force and at least one closed: a measure
   * with nothing to close (no URL to set to AWS_IAM) contains nothing.
   */
  contained: boolean
  /**
   * Contained by the throttle alone: the ways in its snapshot shows open that a measure closes (a
   * public URL, a public statement, an enabled event source). Every invoke is refused while the throttle is
   * in force, but they are still open, and run the function again once the throttle is lifted.
   */
  heldByThrottle: ExposureItem[]
  /** `orders-api: not contained — function URL open to anyone (AuthType NONE)`; null when contained. */
  why: string | null
}

export interface JournalView {
  actions: ActionView[]
  byOutcome: ReturnType<typeof countRows>
  actedAs: string[]
  playbooks: string[]
  status: ResponseStatus
  /** Keys `measure|target` ({@link measureKey}) of measures in force. */
  inForce: Set<string>
  /**
   * What closes one way into the function journaled by `targets` (its ARN, its name): a measure in
   * force, or as far as a change that failed part way closed it ({@link wayCloser}).
   */
  closerOf: (targets: readonly string[], item: ExposureItem) => ClosingMeasure | undefined
  /**
   * Containment targets (a function's or a role's ARN) whose latest undo found them deleted since
   * fir changed them (`params.gone`), or that a change found deleted before it was made (a role the
   * case's snapshot recorded: a `skipped` entry with `params.gone`), with no measure in force on
   * them: nothing of the change was left, nor anything to act on.
   */
  gone: Set<string>
  /**
   * Measures fir applied that calls in the timeline undid since (out of {@link inForce}), by key:
   * whether the function is contained is not known then.
   */
  undoneSince: Map<string, MeasureUndone>
  /** Step ids that were applied at least once (and their targets), in force now or not. */
  applied: Map<string, string[]>
  /**
   * The functions the status counts: those the case journaled a containment step for, and the
   * snapshotted ones a snapshot shows reachable from outside the account, closed or not.
   */
  functions: FunctionContainment[]
  /** What this case last did to each access key it rotated out, by key id (none once undone). */
  keyFates: Map<string, KeyFate>
  /**
   * The Secrets Manager secrets this case rotated, as `secretLabel` names them (name, region,
   * account): those a journaled state shows done (see secretRotationsOf).
   */
  secretsRotated: Set<string>
  /** The secrets whose rotation this case requested, not confirmed (AWSCURRENT unchanged). */
  secretsRequested: Set<string>
  gaps: GapView[]
  afterAction: AfterActionSection
}

/**
 * What a rotate-key change did to the key it rotated out: `rotated` (a new key made by this case,
 * the old one deactivated), `deactivated` (no replacement: `--no-replace`), `deleted`
 * (`--delete-old`).
 */
export type KeyFate = 'rotated' | 'deactivated' | 'deleted'

/** The key a `credentials.rotate-key` entry rotated out: its `after.oldKeyId`, else its target's `#<key id>`. */
function rotatedKeyId(entry: JournalEntry): string | undefined {
  return asString(asRecord(entry.after).oldKeyId) ?? entry.target.split('#')[1]
}

/**
 * The fate of each key that `credentials.rotate-key` rotated out, from its latest outcome (target
 * `<user ARN>#<key id>`, the `after` state naming its keys): applied or already-applied gives the
 * key's state after, and so does a failed or denied one that journaled the state it left part way;
 * undone (restore reactivated it) gives none, unless the key was not there to reactivate (it, or
 * its user, was deleted since): `deleted`.
 */
function keyFatesOf(entries: readonly JournalEntry[]): Map<string, KeyFate> {
  const fates = new Map<string, KeyFate>()
  for (const entry of entries) {
    if (entry.action !== 'credentials.rotate-key') continue
    const after = asRecord(entry.after)
    const keyId = rotatedKeyId(entry)
    if (!keyId) continue
    // An undo reactivated the key, or found it deleted since (or its user: nothing reactivated).
    if (entry.outcome === 'undone') {
      if (asArray(after.keys).some((k) => asRecord(k).id === keyId)) fates.delete(keyId)
      else fates.set(keyId, 'deleted')
    }
    // A rotation that failed or was denied part way journals the state it left (a new key made,
    // the old one deactivated, its deletion denied): the key's fate is what that state says.
    const partWay = (entry.outcome === 'failed' || entry.outcome === 'denied') && entry.after != null
    if (entry.outcome !== 'applied' && entry.outcome !== 'already-applied' && !partWay) continue
    const keys = asArray(after.keys).map(asRecord)
    const old = keys.find((k) => k.id === keyId)
    const made = asArray(after.firKeyIds).some((id) => id !== keyId && keys.some((k) => k.id === id))
    if (!old) fates.set(keyId, 'deleted')
    else if (old.status === 'Inactive') fates.set(keyId, made ? 'rotated' : 'deactivated')
    else if (partWay) fates.delete(keyId)
  }
  return fates
}

/**
 * The `credentials.rotate-secret` changes applied (target: the secret's ARN), split by whether the
 * state each journaled shows the rotation done. RotateSecret only starts a rotation: the rotation
 * function makes it, later, or never (one this case throttled cannot run). Done (`rotated`) when
 * AWSCURRENT is on the version requested, or moved off the one it was on before the case's first
 * rotation (its first `started` prior); else `requested`: asked, not confirmed (AWSCURRENT
 * unchanged). An entry with no versions journaled (an older fir's) counts as rotated, as it did.
 */
function secretRotationsOf(
  entries: readonly JournalEntry[],
  actions: readonly ActionView[],
): { rotated: ActionView[]; requested: ActionView[] } {
  const bySeq = new Map(entries.map((e) => [e.seq, e]))
  const before = new Map<string, string | null>()
  for (const e of entries)
    if (e.action === 'credentials.rotate-secret' && e.outcome === 'started' && !before.has(e.target))
      before.set(e.target, asString(asRecord(e.prior).currentVersionId))
  const done = (a: ActionView) => {
    const after = asRecord(bySeq.get(a.journalSeq)?.after)
    if (!('currentVersionId' in after)) return true
    const current = asString(after.currentVersionId)
    const was = before.get(a.target)
    return (
      current !== null &&
      (current === asString(after.requestedVersionId) || (was !== undefined && current !== was))
    )
  }
  const applied = actions.filter(
    (a) =>
      a.action === 'credentials.rotate-secret' &&
      (a.outcome === 'applied' || a.outcome === 'already-applied'),
  )
  const rotatedTargets = new Set(applied.filter(done).map((a) => a.target))
  return {
    rotated: applied.filter((a) => rotatedTargets.has(a.target)),
    requested: applied.filter((a) => !rotatedTargets.has(a.target)),
  }
}

/**
 * The secrets of these rotations, by `secretLabel` (target: the secret's ARN), with each label a
 * read of it may carry: a read whose event lacks its region or account is this secret too (as
 * sameSecret has it).
 */
function secretLabelsOf(rotations: readonly ActionView[]): Set<string> {
  return new Set(
    rotations.flatMap((a) => {
      const r = secretRef(a.target)
      return [r.region, null].flatMap((region) =>
        [r.account, null].map((account) => secretLabel({ name: r.name, region, account })),
      )
    }),
  )
}

/** What the case's credential steps left, for the status (session revocation aside: a containment measure). */
interface CredentialMeasures {
  /** Each access key this case cut off, in words: `Rotate access key: AKIA… of user ci — deactivated, …`. */
  keys: string[]
  /** Each secret this case rotated, as `secretLabel` names it. */
  secrets: string[]
  /** Each secret whose rotation this case requested and no state journaled shows done. */
  requested: string[]
  /** Credential changes whose latest outcome failed, was denied or is in conflict. */
  failed: number
}

const FATE_WORDS: Record<KeyFate, string> = {
  rotated: 'deactivated, and a new key made by this case',
  deactivated: 'deactivated (no new key made)',
  deleted: 'deleted',
}

/**
 * The credential measures of the case: the access keys it cut off, which stay so until a restore
 * named for them reactivates them (in force, as a measure is), the secrets it rotated (done: a
 * rotation cannot be undone), and the changes that failed.
 */
function credentialMeasuresOf(
  entries: readonly JournalEntry[],
  actions: readonly ActionView[],
  fates: ReadonlyMap<string, KeyFate>,
  rotations: ReturnType<typeof secretRotationsOf>,
): CredentialMeasures {
  // The user of each key, as rotate-key names its target: `<user ARN>#<key id>`.
  const users = new Map<string, string>()
  for (const e of entries) {
    if (e.action !== 'credentials.rotate-key') continue
    const user = e.target.split('#')[0] ?? ''
    const keyId = rotatedKeyId(e)
    if (keyId && user) users.set(keyId, shortTarget(user))
  }
  const keys = [...fates].map(
    ([id, fate]) =>
      `${stepTitle('credentials.rotate-key')}: ${id}${users.has(id) ? ` of user ${users.get(id)}` : ''} — ${FATE_WORDS[fate]}`,
  )
  const label = (list: readonly ActionView[]) => [
    ...new Set(list.map((a) => secretLabel(secretRef(a.target)))),
  ]
  const secrets = label(rotations.rotated)
  const requested = label(rotations.requested)
  const latest = new Map<string, string>()
  for (const a of actions)
    if (/^credentials\.rotate-(key|secret)$/.test(a.action) && a.outcome !== 'skipped')
      latest.set(`${a.action}|${a.target}`, a.outcome)
  const failed = [...latest.values()].filter(
    (o) => o === 'failed' || o === 'denied' || o === 'conflict',
  ).length
  return { keys, secrets, requested, failed }
}

/** `2 event source mappings enabled (arn:…:orders-queue, …)` for the way in of each kind. */
function openText(items: ExposureItem[]): string[] {
  const sources = items.filter((i) => i.kind === 'event-source')
  const rest = items.filter((i) => i.kind !== 'event-source').map((i) => i.what)
  return sources.length > 1
    ? [
        ...rest,
        `${sources.length} event source mappings enabled (${sources.map((i) => i.what.replace(/^event source | enabled$/g, '')).join(', ')})`,
      ]
    : [...rest, ...sources.map((i) => i.what)]
}

/**
 * `Throttle: reserved concurrency 0, applied 2026-11-30 09:15:07 UTC, undone by
 * DeleteFunctionConcurrency at 2026-11-30 09:15:23 UTC (arn:…)`.
 */
export function undoneText(u: MeasureUndone): string {
  const role = u.measure === 'containment.sessions' ? ` on role ${shortTarget(u.target)}` : ''
  return `${stepTitle(u.measure)}${role}, applied ${utcDisplay(u.appliedAt)}, undone by ${undoneCalls(u)}`
}

/** `DeleteFunctionConcurrency at 2026-11-30 09:15:23 UTC (arn:…)`: the calls that undid a measure. */
export function undoneCalls(u: MeasureUndone): string {
  return u.calls.map((c) => `${c.eventName} at ${utcDisplay(c.time)} (${c.actor})`).join(', ')
}

/** Whether a call of the timeline changed a journaled target (a function or role ARN, or a name). */
function undoes(call: TimelineUndo, target: string): boolean {
  if (shortTarget(target) !== call.name) return false
  if (!target.startsWith('arn:')) return true
  const [, , , region = '', account = ''] = target.split(':')
  return (
    (!region || !call.region || region === call.region) &&
    (!account || !call.account || account === call.account)
  )
}

/**
 * The ways in, each in words of its own: two that read alike (two URLs with AuthType NONE, one Sid
 * in two qualifiers' policies) are told apart by where they are (`(on live)`).
 */
function toldApart(items: readonly ExposureItem[]): ExposureItem[] {
  return items.map((i) => {
    const alike = items.some((j) => j !== i && j.kind === i.kind && j.what === i.what)
    const where = whereIs(i)
    return alike && where ? { ...i, what: `${i.what} (${where})` } : i
  })
}

/** `on live`, or the URL's address or the mapping's UUID when its qualifiers are not known. */
function whereIs(i: ExposureItem): string | undefined {
  return i.ref?.qualifiers?.length ? `on ${i.ref.qualifiers.join(', ')}` : (i.ref?.url ?? i.ref?.uuid)
}

/**
 * A way in by name only (`statement pub-a`, `function URL https://…`), for what closed it; a Sid
 * another of `ways` has too is named with its qualifiers (`statement pub-a (on live)`).
 */
function wayName(i: ExposureItem, ways: readonly ExposureItem[]): string {
  if (i.ref?.sid !== undefined) {
    const sid = i.ref.sid
    const alike = ways.some((j) => j.kind === i.kind && j.ref?.sid === sid && !sameWay(j, i))
    const where = i.ref.qualifiers?.length ? ` (on ${i.ref.qualifiers.join(', ')})` : ''
    return `statement ${sid}${alike ? where : ''}`
  }
  if (i.ref?.url) return `function URL ${i.ref.url}`
  return i.what.replace(/ enabled$/, '')
}

/**
 * `; Remove public resource-policy statements was denied part way, after it closed statement
 * pub-a`: what changes that failed part way closed, beside the reasons a function is not contained.
 */
function partlyText(
  closed: readonly (ExposureItem & { by: ClosingMeasure })[],
  /** Every way into the function, to tell apart those named alike. */
  ways: readonly ExposureItem[],
): string {
  const byMeasure = new Map<string, { outcome: string; ways: string[] }>()
  for (const c of closed) {
    if (!c.by.partly) continue
    const m = byMeasure.get(c.by.measure) ?? { outcome: c.by.partly.outcome, ways: [] }
    m.ways.push(wayName(c, ways))
    byMeasure.set(c.by.measure, m)
  }
  return [...byMeasure]
    .map(
      ([measure, m]) =>
        `; ${stepTitle(measure)} ${outcomeWords(m.outcome)} part way, after it closed ${m.ways.join(', ')}`,
    )
    .join('')
}

/**
 * Each function the status counts, contained or not: the functions the case journaled a
 * containment step for (by target: the function's ARN) and the snapshotted functions whose
 * snapshot shows them reachable from outside the account.
 */
function containmentOfFunctions(
  state: ReadonlyMap<string, string>,
  inForce: ReadonlySet<string>,
  journaled: readonly string[],
  snapshotted: readonly FunctionExposure[],
  /** The measures undone since fir applied them, of the functions journaled by these targets. */
  undoneOf: (targets: readonly string[]) => MeasureUndone[],
  /**
   * Journaled functions a restore found deleted since (see viewJournal): neither contained nor
   * open, they are not counted, nor is what their snapshot showed.
   */
  deleted: ReadonlySet<string>,
  /** What closes a way into the function journaled by these targets (JournalView.closerOf). */
  closerOf: JournalView['closerOf'],
): FunctionContainment[] {
  const found = new Map<FunctionExposure, string[]>()
  const gone = new Set<FunctionExposure>()
  const unknown: string[] = []
  for (const target of journaled) {
    const f =
      snapshotted.find((x) => x.arn === target) ??
      snapshotted.find(
        (x) =>
          !x.arn &&
          x.name === shortTarget(target) &&
          (!x.region || !target.startsWith('arn:') || target.split(':')[3] === x.region),
      )
    if (deleted.has(target)) {
      if (f) gone.add(f)
    } else if (f) found.set(f, [...(found.get(f) ?? []), target])
    else unknown.push(target)
  }
  const out: FunctionContainment[] = []
  const one = (f: FunctionExposure, targets: string[], isJournaled: boolean, snapshotKnown: boolean) => {
    const on = (measure: string) => targets.some((t) => inForce.has(`${measure}|${t}`))
    const ever = (measure: string) => targets.some((t) => state.has(`${measure}|${t}`))
    // Without a snapshot, what each closing measure journaled for it closed is all that is known.
    const items = snapshotKnown
      ? toldApart(f.items)
      : Object.entries(JOURNALED_EXPOSURE)
          .filter(([m]) => ever(m))
          .map(([, x]) => ({ ...x, public: false }))
    const measures = [...FUNCTION_MEASURES, 'containment.recycle'].filter(on)
    // Each way by itself: two that read alike (two URLs with AuthType NONE) are closed one by one.
    const closers = items.map((i) => closerOf(targets, i))
    const closed = items.flatMap((i, n) => {
      const by = closers[n]
      return by ? [{ ...i, by }] : []
    })
    const open = items.filter((_, n) => !closers[n])
    const throttled = on('containment.throttle')
    const stopping = measures.filter((m) => FUNCTION_MEASURES.has(m))
    // The measures its latest run of them failed or AWS denied, none in force for it since.
    const refused = [...FUNCTION_MEASURES].flatMap((measure) => {
      if (on(measure)) return []
      const outcome = targets
        .map((t) => state.get(`${measure}|${t}`))
        .find((o) => o === 'failed' || o === 'denied')
      return outcome ? [{ measure, outcome }] : []
    })
    const closable = open.filter((i) => CLOSING_MEASURES[i.kind] !== undefined)
    // Measures the timeline shows undone after fir applied them: whoever undid them may have
    // opened it in other ways too, so the function is not known to be contained.
    const undone = isJournaled ? undoneOf(targets) : []
    // A measure with nothing to close (no URL, no public statement) stops nothing: not contained.
    const contained = undone.length === 0 && (throttled || (closed.length > 0 && closable.length === 0))
    // A refused throttle in words: it closes no way in, so nothing else says the function runs (the
    // other measures' ways in are named open, or closed part way).
    const refusedWords = refused
      .filter((r) => r.measure === 'containment.throttle')
      .map(
        (r) =>
          `not throttled, so new invocations still run (${stepTitle(r.measure)} ${outcomeWords(r.outcome)})`,
      )
    // Measures cut off mid-change (`started`, no outcome journaled): they may be in force, so what
    // they close is not known to be open, nor the function known to be contained.
    const unsettled = [...FUNCTION_MEASURES].filter((m) =>
      targets.some((t) => state.get(`${m}|${t}`) === 'started'),
    )
    let why: string | null = null
    if (undone.length > 0) {
      const undoneMeasures = undone.map((u) => u.measure)
      const rest = closable.filter((i) => !closesKind(i.kind, undoneMeasures))
      why = `${f.label}: not known to be contained — ${[...undone.map(undoneText), ...openText(rest)].join('; ')}`
    } else if (!contained && unsettled.length > 0) {
      const known = closable.filter((i) => !closesKind(i.kind, unsettled))
      why = `${f.label}: not known to be contained — ${[
        `${unsettled.map(stepTitle).join(', ')} ${unsettled.length === 1 ? 'was' : 'were'} interrupted (no outcome journaled), so whether ${unsettled.length === 1 ? 'it is' : 'they are'} in force is unknown`,
        ...openText(known),
      ].join('; ')}`
    } else if (!contained) {
      const reasons = closable.length
        ? [...refusedWords, ...openText(closable)]
        : refusedWords.length
          ? refusedWords
          : [
              stopping.length > 0
                ? 'nothing was open to close (its snapshot shows no public URL, public statement or enabled event source: not reachable from outside as far as it shows) and it is not throttled, so invocations are not stopped'
                : [...FUNCTION_MEASURES].some(ever)
                  ? 'the measures that stopped it were undone, failed or never finished'
                  : 'no measure that stops it (throttle, URL auth, public statements, event sources) is in force',
            ]
      // Recycling (the one credential measure aimed at a function) replaces stolen credentials only.
      const recycled = measures.includes('containment.recycle') && stopping.length === 0
      why = `${f.label}: not contained — ${reasons.join('; ')}${
        recycled
          ? ' (only its warm environments were recycled: that replaces stolen credentials, it does not stop the function)'
          : ''
      }${partlyText(closed, items)}`
    }
    out.push({
      arn: f.arn,
      name: f.name,
      ...(f.region ? { region: f.region } : {}),
      label: f.label,
      journaled: isJournaled,
      measures,
      closed,
      open,
      undone,
      refused,
      refusedText: why === null && refusedWords.length ? `${f.label}: ${refusedWords.join('; ')}` : null,
      contained,
      // Without a snapshot a way in is not known to be open (what its measures journaled was closed once).
      heldByThrottle: contained && throttled && snapshotKnown ? closable : [],
      why,
    })
  }
  for (const f of snapshotted) {
    if (gone.has(f) && !found.has(f)) continue
    const targets = found.get(f)
    if (targets) one(f, targets, true, true)
    // A function the case did nothing to counts when it is reachable from outside: a live risk.
    else if (f.items.some((i) => i.public)) one(f, [f.arn || f.name], false, true)
  }
  for (const target of unknown) {
    const name = shortTarget(target)
    one({ arn: target, name, label: name, items: [] }, [target], true, false)
  }
  return out
}

/**
 * `orders-api: throttled, not closed — …`: what a function contained by the throttle alone still
 * leaves open. The throttle refuses every invoke, it closes nothing: lifted, the ways in answer again.
 */
function heldText(f: FunctionContainment): string {
  const ways = openText(f.heldByThrottle)
  const one = ways.length === 1
  return `${f.label}: throttled, not closed — every invoke is refused while its reserved concurrency is 0, but ${one ? 'this way in is still open and reaches' : 'these ways in are still open and reach'} it again once the throttle is lifted: ${ways.join('; ')}.`
}

/** The response status of the case, from the functions it counts and the measures' outcomes. */
function statusOf(
  state: ReadonlyMap<string, string>,
  inForce: ReadonlySet<string>,
  changed: ReadonlySet<string>,
  inForceList: string[],
  functions: readonly FunctionContainment[],
  counts: {
    failed: number
    undone: number
    /** Of `undone`: those whose undo found the function or role deleted since (params.gone). */
    gone: number
    restoreFailed: number
    readFailed: number
    /** The `started` entries of measures cut off mid-change (no outcome journaled). */
    interrupted: JournalEntry[]
    /** The case folder, for the commands that finish them (`--case`). */
    caseDir: string | undefined
    /** Measures calls in the timeline undid after fir applied them. */
    undoneSince: readonly MeasureUndone[]
    /** Journaled functions found deleted since (not counted: nothing to contain nor put back). */
    deleted: readonly string[]
    /**
     * What the credential steps left: the keys cut off are measures in force (listed after the
     * containment ones in `inForceList`); they contain no function, so the code goes without them.
     */
    credentials: CredentialMeasures
  },
): ResponseStatus {
  const { failed, undone, gone, restoreFailed, readFailed, interrupted, caseDir, undoneSince, deleted } =
    counts
  const { keys, secrets, requested, failed: credentialsFailed } = counts.credentials
  const unchangedCount = [...inForce].filter((k) => !changed.has(k)).length
  const one = (n: number) => (n === 1 ? 'one' : String(n))
  // The secrets rotated are done, not in force (a rotation cannot be undone); the credential
  // changes that failed are gaps that leave the functions as contained as they are.
  const credentialParts = [
    ...(secrets.length
      ? [
          `${secrets.length === 1 ? 'secret' : 'secrets'} ${secrets.join(', ')} rotated in this case (a rotation cannot be undone)`,
        ]
      : []),
    // RotateSecret starts a rotation the rotation function makes: asked is not done.
    ...(requested.length
      ? [
          `${requested.length === 1 ? 'secret' : 'secrets'} ${requested.join(', ')}: rotation requested in this case, not confirmed (AWSCURRENT unchanged in the state fir read after the request: check that the rotation function ran; one this case throttled cannot)`,
        ]
      : []),
    ...(credentialsFailed
      ? [
          `${counted(credentialsFailed, 'credential change')} ${credentialsFailed === 1 ? 'failed, was denied or is' : 'failed, were denied or are'} in conflict (see Gaps)`,
        ]
      : []),
  ]
  const credentialTail = credentialParts.map((p) => `; ${p}`).join('')
  // Where no measure is counted in force beside them: the keys cut off counted on their own.
  const credentialSentence = [
    ...(keys.length ? [`${counted(keys.length, 'credential measure')} in force`] : []),
    ...credentialParts,
  ].join('; ')
  const credentialText = credentialSentence
    ? ` ${credentialSentence.charAt(0).toUpperCase()}${credentialSentence.slice(1)}.`
    : ''
  const inForceText = `${counted(inForce.size + keys.length, 'measure')} ${interrupted.length ? 'known to be ' : ''}in force${unchangedCount ? ` (${unchangedCount} needed no change)` : ''}${restoreFailed ? ` (a restore of ${one(restoreFailed)} failed, so ${restoreFailed === 1 ? 'it stays' : 'they stay'}: see Gaps)` : ''}${readFailed ? ` (a later run could not read ${one(readFailed)} and changed nothing, so ${readFailed === 1 ? 'it stays' : 'they stay'}: see Gaps)` : ''}`
  const contained = functions.filter((f) => f.contained)
  const notContained = functions.filter((f) => !f.contained)
  // A function contained all the same (every way in closed) with measures refused says which.
  const whys = [...notContained.map((f) => f.why), ...contained.flatMap((f) => f.refusedText ?? [])]
    .map((w) => `${w}.`)
    .join(' ')
  // Contained by the throttle alone, with ways in still open: said, so the status never reads as
  // closed while the impact and the advice name a public URL.
  const held = contained.filter((f) => f.heldByThrottle.length > 0)
  const heldTexts = held.map(heldText).join(' ')
  const commands = [
    ...new Set(interrupted.map((e) => finishCommand(e, caseDir) ?? 'the command that made it')),
  ]
  const cutOffText = interrupted.length
    ? `; ${interrupted.length} interrupted, ${interrupted.length === 1 ? 'its' : 'their'} outcome unknown (started, no outcome journaled: ${interrupted.length === 1 ? 'it' : 'they'} may be in force; run ${commands.join(', ')} again to finish ${interrupted.length === 1 ? 'it' : 'them'})`
    : ''
  // Those no counted function names (a revocation `fir creds revoke-sessions` put on a role).
  const unnamed = undoneSince.filter((u) => !functions.some((f) => f.undone.includes(u)))
  const undoneSinceText = undoneSince.length
    ? `; ${undoneSince.length} undone after fir applied ${undoneSince.length === 1 ? 'it' : 'them'}, by ${undoneSince.length === 1 ? 'a call' : 'calls'} in the timeline (not fir’s)${unnamed.length ? `: ${unnamed.map(undoneText).join('; ')}` : ''}`
    : ''
  const deletedText = deleted.length
    ? `; function${deleted.length === 1 ? '' : 's'} ${deleted.map(shortTarget).join(', ')} ${deleted.length === 1 ? 'was' : 'were'} deleted since (found gone: nothing left to contain or put back)`
    : ''
  const tail =
    deletedText +
    (failed ? `; ${failed} failed, denied or in conflict` : '') +
    cutOffText +
    undoneSinceText +
    (undone ? `; ${undone} undone` : '')
  if (state.size === 0) {
    return {
      code: 'not-contained',
      label: 'Not contained',
      inForce: inForceList,
      detail: `No containment measure was applied in this case: the function runs as it did.${credentialText}${whys ? ` ${whys}` : ''}`,
    }
  }
  // Restored once every change fir made was undone: a measure that needed no change (already in
  // place, nothing fir changed) has nothing to undo, and the function runs as it did before.
  if (
    unchangedCount === inForce.size &&
    undone > 0 &&
    failed === 0 &&
    interrupted.length === 0 &&
    undoneSince.length === 0
  ) {
    // A measure whose function or role was deleted since was closed with nothing to put back.
    const goneText = gone
      ? `, ${gone} of them on a function or role deleted since: nothing left to put back`
      : ''
    const runsText =
      gone === 0
        ? 'the function runs as it did before containment'
        : gone === undone
          ? 'what they changed no longer exists'
          : 'what was not deleted runs as it did before containment'
    // Not contained goes without saying once restored: only the ways in open again are worth naming.
    const reopened = notContained
      .filter((f) => f.open.length > 0)
      .map((f) => `${f.why}.`)
      .join(' ')
    return {
      code: 'restored',
      label: 'Restored',
      inForce: inForceList,
      // The credential changes are not undone with them (restore reactivates a key only when asked).
      detail: unchangedCount
        ? `Every ${credentialSentence ? 'containment ' : ''}change fir made was undone (${undone}${goneText}); ${counted(unchangedCount, 'measure')} needed no change (already in place before containment, so nothing to undo); ${runsText}.${credentialText}${reopened ? ` ${reopened}` : ''}`
        : `Every containment measure was undone (${undone}${goneText}); ${runsText}.${credentialText}${reopened ? ` ${reopened}` : ''}`,
    }
  }
  if (
    functions.length > 0 &&
    notContained.length === 0 &&
    failed === 0 &&
    interrupted.length === 0 &&
    undoneSince.length === 0
  ) {
    return {
      code: 'contained',
      label: held.length ? 'Contained (throttled)' : 'Contained',
      inForce: inForceList,
      detail: `${inForceText}${credentialsFailed ? '' : ', none failed'}${undone ? `; ${undone} undone` : ''}${deletedText}${credentialTail}.${heldTexts ? ` ${heldTexts}` : ''}`,
    }
  }
  if (contained.length === 0) {
    return {
      code: 'not-contained',
      label: 'Not contained',
      inForce: inForceList,
      detail: `No function is ${interrupted.length || undoneSince.length ? 'known to be ' : ''}contained: ${inForceText}${tail}${credentialTail}.${
        whys
          ? ` ${whys}`
          : ' Recycling and session revocation cut stolen credentials; they do not stop a function.'
      }`,
    }
  }
  return {
    code: 'partially-contained',
    label: 'Partially contained',
    inForce: inForceList,
    detail: `${inForceText}${tail}${credentialTail}.${contained.length && notContained.length ? ` Contained: ${contained.map((f) => f.label).join(', ')}.` : ''}${heldTexts ? ` ${heldTexts}` : ''}${whys ? ` ${whys}` : ''}`,
  }
}

function errorText(entry: JournalEntry): string {
  if (!entry.error) return ''
  return truncate([entry.error.code, entry.error.message].filter(Boolean).join(': '), 300)
}

/** The playbook run whose step is rendering the report (passed by the `report.render` action). */
export interface RenderingRun {
  runId: string
  stepId: string
}

export interface ViewJournalOptions {
  /** Set when a step of a running playbook renders the report: that run is running, not stopped. */
  renderedBy?: RenderingRun
  /**
   * The snapshotted functions and their ways in: a function is contained when it is throttled or
   * when every way in is closed by a measure in force. Without them only the journal is known.
   */
  functions?: FunctionExposure[]
  /**
   * Calls in the case's timeline that undo measures: one dated after fir applied a measure on the
   * same target takes that measure out of those in force.
   */
  undoneBy?: TimelineUndo[]
  /**
   * Calls in the case's timeline that put a measure back as fir applied it (reserved concurrency
   * set to 0 again): one dated after every call that undid the measure leaves it in force.
   */
  reappliedBy?: TimelineUndo[]
  /** The case folder: the commands that finish an interrupted change end with `--case <it>`. */
  caseDir?: string
}

interface RunView {
  playbook: string
  /** Final outcome of the run (`applied`, `failed`), or null while it has no final entry. */
  outcome: string | null
  outcomes: Record<string, unknown> | null
  /** Step ids in playbook order (from the `started` entry). */
  steps: string[]
  /** Latest outcome of each step, from its playbook.step entries, in the order first seen. */
  stepOutcomes: Map<string, string>
  failedStep: string | null
  error: string
  /** The code of the error that stopped the run (see FIXED_BY_A_NEW_RUN), or null. */
  errorCode: string | null
}

/**
 * A run that did not finish: `fir playbook resume` continues only the case's latest run
 * (findUnfinishedRun), so an older one says a later run came after it and resume leaves it.
 */
function resumeText(
  runId: string,
  latest: string | undefined,
  errorCode: string | null,
  drill: string | undefined,
): string {
  if (runId !== latest && latest !== undefined)
    return ` — left unfinished: run ${latest} started after it, and fir playbook resume continues only the latest run (run this playbook again if its work is still needed)`
  // As the run said when it stopped (the runner's afterFailure): a drill's emulator is gone, and a
  // resume keeps the inputs, region and account a bad input needs changed.
  if (drill !== undefined) return ` — run the drill again: fir tabletop run ${drill}`
  if (errorCode !== null && FIXED_BY_A_NEW_RUN.has(errorCode))
    return ' — a resume keeps the inputs, region and account it started with: after fixing the cause, run the playbook again'
  return ' — fir playbook resume continues it'
}

function runText(
  runId: string,
  run: RunView,
  renderedBy: RenderingRun | undefined,
  /** The runId of the case's latest run (the one resume would continue, unless it finished). */
  latest: string | undefined,
  /** The scenario, when the case is a tabletop drill's. */
  drill: string | undefined,
): string {
  const ordered = (pairs: [string, unknown][]) =>
    pairs
      .sort(([a], [b]) => rank(run.steps, a) - rank(run.steps, b))
      .map(([step, o]) => `${step} ${String(o)}`)
      .join(', ')
  if (run.outcome === 'applied' && run.outcomes) {
    // The journal stores keys sorted; the playbook's own step order reads better.
    return `${run.playbook} (run ${runId}, ${run.outcome}): ${ordered(Object.entries(run.outcomes)) || 'no steps'}`
  }
  const so = [...run.stepOutcomes.entries()]
  if (renderedBy && renderedBy.runId === runId && run.outcome === null) {
    const done = ordered(so.filter(([step, o]) => step !== renderedBy.stepId && o !== 'started'))
    const n = run.steps.indexOf(renderedBy.stepId)
    const position =
      n === -1
        ? `its step ${renderedBy.stepId}`
        : `its step ${n + 1} of ${run.steps.length} (${renderedBy.stepId})`
    return `${run.playbook} (run ${runId}): running — this report is ${position}${done ? `; done so far: ${done}` : ''}`
  }
  const done = ordered(so.filter(([, o]) => o !== 'started' && o !== 'failed' && o !== 'denied'))
  const doneText = done ? `; done: ${done}` : '; no step finished'
  if (run.outcome === 'failed' || run.failedStep) {
    const step = run.failedStep ?? '?'
    const how = run.stepOutcomes.get(step) ?? 'failed'
    return `${run.playbook} (run ${runId}): stopped at step ${step} (${how}${run.error ? `: ${run.error}` : ''})${doneText}${resumeText(runId, latest, run.errorCode, drill)}`
  }
  const interrupted = so.filter(([, o]) => o === 'started').map(([step]) => step)
  return `${run.playbook} (run ${runId}): started, not finished${interrupted.length ? ` (step ${interrupted.join(', ')} started, no outcome journaled)` : ''}${doneText}${resumeText(runId, latest, null, drill)}`
}

/** Whether an entry is one of the actions table's changes (a step's, with a change outcome). */
function isChangeEntry(entry: JournalEntry): boolean {
  return !BOOKKEEPING.has(entry.action) && !FRAME.test(entry.action) && CHANGE_OUTCOMES.has(entry.outcome)
}

/**
 * For each `started` entry that a later entry of the same change (changeKey) follows before any
 * outcome of its own — a run interrupted, then the same change run again — the entry that settles
 * it: the change's first outcome since, else its next `started` entry (interrupted too), by seq.
 */
function takenUpBy(entries: readonly JournalEntry[]): Map<number, JournalEntry> {
  const found = new Map<number, JournalEntry>()
  const nextStarted = new Map<string, JournalEntry>()
  const nextOutcome = new Map<string, JournalEntry>()
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!
    if (!isChangeEntry(e)) continue
    const key = changeKey(e)
    if (e.outcome !== 'started') {
      nextOutcome.set(key, e)
      nextStarted.delete(key)
      continue
    }
    // Its own outcome is the next entry of the change when that is not a `started` one.
    const later = nextStarted.get(key)
    if (later) found.set(e.seq, nextOutcome.get(key) ?? later)
    nextStarted.set(key, e)
  }
  return found
}

/**
 * Turns the journal into the actions table (each change paired with its `started` entry, so it
 * shows before → after), the response status, journaled gaps and the tabletop notes.
 */
export function viewJournal(entries: readonly JournalEntry[], options: ViewJournalOptions = {}): JournalView {
  const open = new Map<string, JournalEntry>()
  const rows: Omit<ActionView, 'n'>[] = []
  const actedAs: string[] = []
  const gaps: GapView[] = []
  /** The last failure of each change (by measure), until a later entry makes or undoes it. */
  const failures = new Map<string, GapView>()
  const notes: NoteView[] = []
  const runs = new Map<string, RunView>()
  const runOf = (runId: string, playbook: string): RunView => {
    let run = runs.get(runId)
    if (!run) {
      run = {
        playbook,
        outcome: null,
        outcomes: null,
        steps: [],
        stepOutcomes: new Map(),
        failedStep: null,
        error: '',
        errorCode: null,
      }
      runs.set(runId, run)
    }
    return run
  }
  const takenUp = takenUpBy(entries)
  const toRow = (entry: JournalEntry, started: JournalEntry | undefined): Omit<ActionView, 'n'> => ({
    at: entry.at,
    atDisplay: utcDisplay(entry.at),
    startedAt: started?.at ?? null,
    // Shown only when it differs from the outcome's time (to the second).
    startedAtDisplay:
      started && utcDisplay(started.at) !== utcDisplay(entry.at) ? utcDisplay(started.at) : null,
    action: entry.action,
    title:
      // A `skipped` change is a restore that kept it (another function still needs it); an undo
      // that failed, was denied or was cut off names the change it did not undo.
      entry.outcome === 'undone' ||
      entry.outcome === 'conflict' ||
      (entry.outcome === 'skipped' && asRecord(entry.params).gone !== true) ||
      isUndoEntry(entry)
        ? `Undo: ${stepTitle(entry.action)}`
        : stepTitle(entry.action),
    target: entry.target,
    outcome: entry.outcome,
    succeeded: SUCCEEDED.has(entry.outcome),
    ...changeText(
      started?.prior ?? entry.prior ?? null,
      entry.outcome === 'started' ? null : (entry.after ?? null),
    ),
    unchanged:
      entry.outcome !== 'started' &&
      entry.after !== undefined &&
      JSON.stringify(started?.prior ?? entry.prior ?? null) === JSON.stringify(entry.after),
    actor: actorDisplay(entry),
    // A cut-off `started` entry a later run of the same change took up says so, not to finish it.
    error:
      entry.outcome !== 'started'
        ? errorText(entry)
        : takenUp.has(entry.seq)
          ? supersededNote(takenUp.get(entry.seq)!)
          : interruptedNote(entry, options.caseDir),
    notes: asArray(entry.notes).filter((n): n is string => typeof n === 'string'),
    requestIds: [...(started?.requestIds ?? []), ...(entry.requestIds ?? [])],
    journalSeq: entry.seq,
  })

  for (const entry of entries) {
    const params = asRecord(entry.params)
    for (const g of asArray(params.gaps)) {
      const r = asRecord(g)
      gaps.push({
        origin: `journal #${entry.seq} (${entry.action})`,
        what: asString(r.what) || (typeof g === 'string' ? g : compactValue(g)),
        call: asString(r.call) || 'not recorded',
        reason: asString(r.reason) || 'not recorded',
      })
    }
    if (entry.action === 'aws.identity') {
      const line = `${entry.target} in account ${asString(params.account) ?? '?'}, region ${asString(params.region) ?? '?'}${asString(params.endpoint) ? ` via ${asString(params.endpoint)}` : ''}`
      if (!actedAs.includes(line)) actedAs.push(line)
      continue
    }
    if (entry.action === 'case.note') {
      const kind = asString(params.kind) ?? 'note'
      const seconds = typeof params.answerSeconds === 'number' ? params.answerSeconds : null
      notes.push({
        at: entry.at,
        atDisplay: utcDisplay(entry.at),
        kind,
        kindLabel: kind.charAt(0).toUpperCase() + kind.slice(1),
        text: asString(params.text) ?? compactValue(params.text ?? null),
        question: asString(params.question),
        answerTime:
          seconds !== null && Number.isFinite(seconds) && seconds >= 0 ? durationDisplay(seconds) : null,
        actor: actorDisplay(entry),
      })
      continue
    }
    if (entry.action === 'playbook.run') {
      const run = runOf(asString(params.runId) ?? '?', entry.target)
      if (entry.outcome === 'started') run.steps = asArray(params.steps).map(String)
      else {
        run.outcome = entry.outcome
        if (entry.outcome === 'applied') run.outcomes = asRecord(params.outcomes)
        run.failedStep = asString(params.failedStep)
        run.error = errorText(entry)
        run.errorCode = entry.error?.code ?? null
      }
      continue
    }
    if (entry.action === 'playbook.resume') {
      // A resumed run is running again: an earlier failure no longer describes it.
      const run = runOf(asString(params.runId) ?? '?', entry.target)
      run.outcome = null
      run.failedStep = null
      run.error = ''
      run.errorCode = null
      continue
    }
    if (entry.action === 'playbook.step') {
      const step = asString(params.step)
      if (step) {
        // `target` is `<playbook>#<step>`.
        const run = runOf(asString(params.runId) ?? '?', entry.target.split('#')[0] ?? entry.target)
        run.stepOutcomes.set(step, entry.outcome)
      }
      continue
    }
    // Playbook steps, drills and collection runs are the frame; the changes themselves are the
    // step entries (containment.*, credentials.*) they caused.
    if (!isChangeEntry(entry)) continue
    // By change (changeKey): a cut-off `fir contain --actions sessions` is settled by `fir creds
    // revoke-sessions` on its role as much as by contain run again.
    const key = changeKey(entry)
    if (entry.outcome === 'started') {
      const prev = open.get(key)
      if (prev) rows.push(toRow(prev, undefined))
      open.set(key, entry)
      continue
    }
    const started = open.get(key)
    open.delete(key)
    rows.push(toRow(entry, started))
    // A later run that made (or undid) the same change fills the gap an earlier failure left; the
    // failure stays in the actions table.
    const measure = measureKey(entry.action, entry.target)
    if (entry.outcome === 'failed' || entry.outcome === 'denied' || entry.outcome === 'conflict') {
      failures.set(measure, {
        origin: `journal #${entry.seq}`,
        what: `${stepTitle(entry.action)} on ${entry.target} ${entry.outcome === 'conflict' ? 'was not undone (conflict)' : `was ${entry.outcome}`}`,
        // The AWS calls that failed, as the step journaled them (a journal of an older fir: the step).
        call:
          asArray(entry.error?.calls)
            .filter((c): c is string => typeof c === 'string')
            .join(', ') || entry.action,
        reason:
          errorText(entry) ||
          (entry.outcome === 'conflict'
            ? 'the current state is neither the prior nor fir’s after state'
            : entry.outcome),
      })
    } else if (entry.outcome !== 'skipped') failures.delete(measure)
  }
  gaps.push(...failures.values())
  for (const entry of open.values()) rows.push(toRow(entry, undefined))
  rows.sort((a, b) => a.at.localeCompare(b.at) || a.journalSeq - b.journalSeq)
  const actions: ActionView[] = rows.map((r, i) => ({ n: i + 1, ...r }))

  const state = new Map<string, string>()
  const applied = new Map<string, string[]>()
  // Measures fir actually changed; the others were already in place (e.g. no URL to set to AWS_IAM).
  const changed = new Set<string>()
  // The functions the case journaled a containment step for (containment.sessions, whose target
  // is the role, names its function in its params).
  const journaled = new Set<string>()
  const bySeq = new Map(entries.map((e) => [e.seq, e]))
  // The function a containment step was journaled for (containment.sessions targets the role and
  // names its function in its params).
  const fnOf = (a: { action: string; target: string }, entry: JournalEntry | undefined) =>
    measureOf(a.action) === 'containment.sessions' ? asString(asRecord(entry?.params).functionArn) : a.target
  // Measures in force whose latest restore, or a later run's read, failed or was denied: they stay
  // as they were.
  const keptAfter = new Map<string, 'restore' | 'read'>()
  // The `started` entry of each measure whose latest entry it is (interrupted: outcome unknown).
  const cutOff = new Map<string, JournalEntry>()
  // Measures undone because their function or role was deleted since (the undo entry's params.gone).
  const goneKeys = new Set<string>()
  // Targets a change found deleted before it was made (a `skipped` entry with params.gone).
  const goneBefore = new Set<string>()
  // When each measure got its state (for one in force: when fir applied it), and the measures
  // journaled for each function (its role's revocation included).
  const since = new Map<string, string>()
  // The order (row number) in which each measure got its state, and in which each target was last
  // found deleted (an undo or a skipped change with params.gone).
  const setAt = new Map<string, number>()
  const goneAt = new Map<string, number>()
  const keysOf = new Map<string, Set<string>>()
  // The state the latest change or undo of a measure left when it failed or was denied part way.
  const left = new Map<string, StateLeft>()
  for (const a of actions) {
    if (!STEP_ACTION.test(a.action)) continue
    if (a.outcome === 'applied' || a.outcome === 'already-applied') {
      const list = applied.get(a.action) ?? []
      if (!list.includes(a.target)) list.push(a.target)
      applied.set(a.action, list)
    }
    // The response status is about containing the function: key and secret rotation do not count,
    // nor a step this fir does not have (a newer fir's: the report says it cannot tell of it).
    if (!CONTAINMENT.test(a.action) || !(a.action in STEP_TITLES)) continue
    if (a.outcome === 'skipped') {
      // Not made: its target (a role the case's snapshot recorded) was deleted before it.
      if (asRecord(bySeq.get(a.journalSeq)?.params).gone === true) {
        goneBefore.add(a.target)
        goneAt.set(a.target, a.n)
      }
      continue
    }
    // A restore that failed or was denied left the measure as it was (in force): the failure is a
    // gap, not a lifted measure. (A conflict did not put the prior back either, but someone else
    // changed the measure: it is no longer fir's to call in force.)
    const entry = bySeq.get(a.journalSeq)
    const key = measureKey(a.action, a.target)
    const failedNow = a.outcome === 'failed' || a.outcome === 'denied'
    if (failedNow && entry && isUndoEntry(entry)) {
      if (state.has(key)) {
        keptAfter.set(key, 'restore')
        // What it put back before it stopped is open again.
        if (entry.after != null) left.set(key, { after: entry.after, outcome: a.outcome, undo: true })
      }
      continue
    }
    // A step whose read failed (no `started` entry) changed nothing: a measure in force stays so.
    const was = state.get(key)
    if (
      (a.outcome === 'failed' || a.outcome === 'denied') &&
      a.startedAt === null &&
      (was === 'applied' || was === 'already-applied')
    ) {
      keptAfter.set(key, 'read')
      continue
    }
    // A revocation in force stays in force through a re-run cut off mid-way (a renewal, another
    // function on the role): the deny policy is there, only its cutoff may have moved.
    if (
      a.outcome === 'started' &&
      measureOf(a.action) === 'containment.sessions' &&
      (was === 'applied' || was === 'already-applied')
    ) {
      if (fnOf(a, entry)) journaled.add(fnOf(a, entry)!)
      continue
    }
    keptAfter.delete(key)
    // A change that failed part way journals the state it left: what it closed is closed. A read
    // that failed (no `started`) changed nothing: an earlier run's state stands.
    if (failedNow && entry?.after != null)
      left.set(key, { after: entry.after, outcome: a.outcome, undo: false })
    else if (!failedNow || a.startedAt !== null) left.delete(key)
    state.set(key, a.outcome)
    if (a.outcome === 'undone' && asRecord(entry?.params).gone === true) {
      goneKeys.add(key)
      goneAt.set(a.target, a.n)
    } else goneKeys.delete(key)
    since.set(key, a.at)
    setAt.set(key, a.n)
    if (a.outcome === 'started' && entry) cutOff.set(key, entry)
    else cutOff.delete(key)
    // An already-applied that settled a cut-off `started` of the same change found the state that
    // run left: a prior that differs is a change fir made (its undo puts the prior back).
    if (a.outcome === 'applied' || (a.outcome === 'already-applied' && a.startedAt !== null && !a.unchanged))
      changed.add(key)
    if (a.outcome === 'undone') changed.delete(key)
    const fn = fnOf(a, entry)
    if (fn) {
      journaled.add(fn)
      keysOf.set(fn, (keysOf.get(fn) ?? new Set()).add(key))
    }
  }
  const inForce = new Set<string>()
  let failed = 0
  let undone = 0
  for (const [key, outcome] of state) {
    if (outcome === 'applied' || outcome === 'already-applied') inForce.add(key)
    else if (outcome === 'undone') undone++
    // Interrupted (`started`, no outcome) is neither in force nor failed: counted apart.
    else if (outcome !== 'started') failed++
  }
  // A measure fir had nothing to undo (one that needed no change, or one a restore left) on a
  // function or role found deleted after it was applied went with it: nothing of it is in force.
  const targetOf = (k: string) => splitMeasureKey(k).target
  for (const key of [...inForce])
    if ((goneAt.get(targetOf(key)) ?? -1) > (setAt.get(key) ?? Number.POSITIVE_INFINITY)) inForce.delete(key)
  // A call in the timeline that undid a measure after fir applied it (CloudTrail dates to the
  // second: one of that second may be after it) leaves the measure not known to be in force.
  const undoneSince = new Map<string, MeasureUndone>()
  // Measures undone by a call, then put back by a later one (by hand): in force, the gap named.
  const putBack = new Map<string, { undone: MeasureUndone; by: TimelineUndo }>()
  for (const key of inForce) {
    const { measure, target } = splitMeasureKey(key)
    const appliedAt = since.get(key) ?? ''
    const from = Math.floor(Date.parse(appliedAt) / 1000) * 1000
    const calls = (options.undoneBy ?? []).filter(
      (c) => c.measure === measure && undoes(c, target) && Date.parse(c.time) >= from,
    )
    if (!calls.length) continue
    // Put back after the last call that undid it: as fir left it. (One of the same second may be
    // before it: CloudTrail dates to the second, so it is undone as far as anyone can tell.)
    const last = Math.max(...calls.map((c) => Date.parse(c.time)))
    const by = (options.reappliedBy ?? []).find(
      (c) => c.measure === measure && undoes(c, target) && Date.parse(c.time) >= last + 1000,
    )
    if (by) putBack.set(key, { undone: { measure, target, appliedAt, calls }, by })
    else undoneSince.set(key, { measure, target, appliedAt, calls })
  }
  for (const key of undoneSince.keys()) inForce.delete(key)
  // A restore's state left tells of a measure only while it is in force.
  for (const [key, l] of left) if (l.undo && !inForce.has(key)) left.delete(key)
  const undoneOf = (targets: readonly string[]) => [
    ...new Set(targets.flatMap((t) => [...(keysOf.get(t) ?? [])].flatMap((k) => undoneSince.get(k) ?? []))),
  ]
  // A function a restore found deleted since (its measures undone as `gone`, none applied again
  // since).
  const live = new Set([...inForce].map(targetOf))
  const goneUndone = [...goneKeys].filter((k) => state.get(k) === 'undone')
  const gone = new Set(goneUndone.map(targetOf))
  const deleted = new Set([...gone, ...goneBefore].filter((t) => !live.has(t)))
  const closerOf: JournalView['closerOf'] = (targets, item) =>
    wayCloser(
      item,
      (m) => targets.some((t) => inForce.has(`${m}|${t}`)),
      (m) => targets.map((t) => left.get(`${m}|${t}`)).find((l) => l !== undefined),
    )
  const functions = containmentOfFunctions(
    state,
    inForce,
    [...journaled],
    options.functions ?? [],
    undoneOf,
    deleted,
    closerOf,
  )
  const inForceList = [...inForce].map((k) => {
    const { measure: action, target } = splitMeasureKey(k)
    const back = putBack.get(k)
    const gap = back
      ? ` — undone by ${undoneCalls(back.undone)}, then put back by ${back.by.eventName} at ${utcDisplay(back.by.time)} (${back.by.actor}), not by fir`
      : ''
    return `${stepTitle(action)}: ${shortTarget(target)}${changed.has(k) ? '' : ' — nothing to change (already in place)'}${gap}`
  })
  const kept = (why: 'restore' | 'read') =>
    [...keptAfter].filter(([k, w]) => w === why && inForce.has(k)).length
  const keyFates = keyFatesOf(entries)
  const secretRotations = secretRotationsOf(entries, actions)
  const credentials = credentialMeasuresOf(entries, actions, keyFates, secretRotations)
  const status = statusOf(state, inForce, changed, [...inForceList, ...credentials.keys], functions, {
    failed,
    undone,
    gone: goneUndone.length,
    restoreFailed: kept('restore'),
    readFailed: kept('read'),
    interrupted: [...cutOff.values()],
    caseDir: options.caseDir,
    undoneSince: [...undoneSince.values()],
    deleted: [...deleted].filter((t) => journaled.has(t)),
    credentials,
  })
  const outcomeCounts = new Map<string, number>()
  for (const a of actions) outcomeCounts.set(a.outcome, (outcomeCounts.get(a.outcome) ?? 0) + 1)
  const timed = notes.filter((n) => n.kind === 'answer')
  const seconds = entries
    .filter((e) => e.action === 'case.note' && typeof asRecord(e.params).answerSeconds === 'number')
    .map((e) => asRecord(e.params).answerSeconds as number)
    .filter((s) => Number.isFinite(s) && s >= 0)
  const { run: resumable, finished: latestRun } = findUnfinishedRun(entries)
  const drill = drillOf(entries)
  const latest = (resumable ?? latestRun)?.params.runId
  const playbooks = [...runs.entries()].map(([runId, run]) =>
    runText(runId, run, options.renderedBy, latest === undefined ? undefined : String(latest), drill),
  )
  return {
    actions,
    byOutcome: countRows(outcomeCounts, actions.length),
    actedAs,
    playbooks,
    status,
    inForce,
    closerOf,
    gone: deleted,
    undoneSince,
    applied,
    functions,
    keyFates,
    secretsRotated: secretLabelsOf(secretRotations.rotated),
    secretsRequested: secretLabelsOf(secretRotations.requested),
    gaps,
    afterAction: {
      present: notes.length > 0,
      absentReason:
        notes.length > 0
          ? null
          : entries.some((e) => e.action === 'tabletop.start')
            ? 'No after-action notes were journaled: this drill ran without --interactive, so no injects, answers or decisions were recorded (fir tabletop run <scenario> --interactive records them).'
            : 'No after-action notes were journaled in this case (no case.note entries).',
      notes,
      injects: notes.filter((n) => n.kind === 'inject').length,
      answers: timed.length,
      decisions: notes.filter((n) => n.kind === 'decision').length,
      meanAnswerTime: seconds.length
        ? durationDisplay(seconds.reduce((a, b) => a + b, 0) / seconds.length)
        : null,
    },
  }
}
