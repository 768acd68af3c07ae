import { UsageError } from '../../errors.js'
import { memoized } from '../common/memo.js'
import { parseTime } from '../timeline/normalise.js'
import { accountOfArn } from '../timeline/related.js'
import type { CompiledRule } from './compile.js'
import { compileFieldPath, type FieldResolver } from './fields.js'
import { type AwsIpRanges, awsRangeSet, type IpRangeSet, parseIp } from './ip.js'
import type { SigmaLevel } from './schema.js'

/** A rule that fired on a record. */
export interface Finding {
  /** The rule's id. */
  rule: string
  title: string
  level: SigmaLevel
  tags: string[]
  /** Extra facts from fir's extensions (a burst's count and window, the IP outside AWS). */
  detail?: Record<string, unknown>
}

export interface DetectorOptions {
  /** A parsed copy of AWS's ip-ranges.json (`--aws-ip-ranges`); enables `fir.context` rules. */
  awsIpRanges?: AwsIpRanges
  /**
   * Execution roles of functions already known (ARNs or names), e.g. from a snapshot. The detector
   * also learns them from CreateFunction / UpdateFunctionConfiguration records and from Lambda's
   * own AssumeRole records as the stream goes by. A role known by ARN is its account's only.
   */
  functionRoles?: string[]
}

export interface Detector {
  /** Findings for one raw CloudTrail record (stateless rules, and stateful ones as they complete). */
  evaluate(record: unknown): Finding[]
  /** End of the stream: returns findings still held back (none today: bursts are reported on the
   * record that completes them) and clears the detector's state. */
  flush(): Finding[]
}

const MEMO_LIMIT = 20_000

/**
 * Rules grouped by the eventName they require, so a record is only tested against rules that can
 * match it. The candidate list for each distinct eventName is computed once.
 */
export class RuleIndex<T extends { rule: CompiledRule }> {
  private readonly memo = new Map<string, T[]>()
  private readonly exact: Array<Set<string> | undefined>

  constructor(private readonly items: readonly T[]) {
    this.exact = items.map(({ rule }) => (rule.eventNames ? new Set(rule.eventNames.exact) : undefined))
  }

  candidates(record: unknown): readonly T[] {
    const name =
      record !== null && typeof record === 'object'
        ? (record as Record<string, unknown>).eventName
        : undefined
    if (typeof name === 'string') return this.memo.get(name) ?? this.forName(name)
    // A non-string eventName (malformed input) is tested against every rule.
    return name === undefined || name === null ? this.forName('') : this.items
  }

  private forName(name: string): T[] {
    const key = name.toLowerCase()
    const list = this.items.filter(({ rule }, i) => {
      const c = rule.eventNames
      if (!c) return true
      return this.exact[i]!.has(key) || c.prefixes.some((p) => key.startsWith(p))
    })
    if (this.memo.size < MEMO_LIMIT) this.memo.set(name, list)
    return list
  }
}

function findingOf(rule: CompiledRule, detail?: Record<string, unknown>): Finding {
  const f: Finding = { rule: rule.id, title: rule.title, level: rule.level, tags: rule.tags }
  if (detail) f.detail = detail
  return f
}

const statelessIndexes = new WeakMap<readonly CompiledRule[], RuleIndex<{ rule: CompiledRule }>>()

/**
 * Runs the rules on one raw CloudTrail record. Rules that need a detector (fir's scope, context
 * and burst extensions) are skipped here; use createDetector for them. The array is indexed on
 * first use and the index kept for it: pass a new array rather than changing one in place.
 */
export function evaluate(rules: readonly CompiledRule[], record: unknown): Finding[] {
  let index = statelessIndexes.get(rules)
  if (!index) {
    index = new RuleIndex(rules.filter((r) => !r.needsDetector).map((rule) => ({ rule })))
    statelessIndexes.set(rules, index)
  }
  const out: Finding[] = []
  for (const { rule } of index.candidates(record)) if (rule.matches(record)) out.push(findingOf(rule))
  return out
}

/** The role name from an IAM role ARN (`…:role/path/name`), an assumed-role ARN, or a bare name. */
export function roleNameOf(value: string): string | undefined {
  const assumed = /:assumed-role\/([^/]+)\//.exec(value)
  if (assumed) return assumed[1]!.toLowerCase()
  const role = /:role\/(?:.*\/)?([^/]+)$/.exec(value)
  if (role) return role[1]!.toLowerCase()
  if (value.startsWith('arn:')) return undefined
  return value.includes('/') ? value.slice(value.lastIndexOf('/') + 1).toLowerCase() : value.toLowerCase()
}

/** roleNameOf, remembered: the same few session and role ARNs come back on most records. */
export const cachedRoleNameOf = memoized(roleNameOf, MEMO_LIMIT)

/** A role as the scope compares it: lower-case name, and `account:name` when the value has an account. */
interface RoleKey {
  name: string
  qualified?: string
}

function roleKeyOf(value: string): RoleKey | undefined {
  const name = roleNameOf(value)
  if (name === undefined) return undefined
  const account = value.startsWith('arn:') ? accountOfArn(value) : undefined
  return account ? { name, qualified: `${account}:${name}` } : { name }
}

const cachedRoleKeyOf = memoized(roleKeyOf, MEMO_LIMIT)

/**
 * The function execution roles a detector knows. A role known by ARN is that account's only: an
 * organisation trail holds dev, stage and prod accounts whose roles share names. A role known by
 * name alone (no account) matches that name in any account, and a value without an account (a
 * bare name) matches a known role of that name in any account.
 */
class FunctionRoles {
  private readonly anyAccount = new Set<string>()
  private readonly inAccount = new Set<string>()
  private readonly names = new Set<string>()

  add(value: string): void {
    const key = roleKeyOf(value)
    if (!key) return
    this.names.add(key.name)
    if (key.qualified) this.inAccount.add(key.qualified)
    else this.anyAccount.add(key.name)
  }

  has(value: string): boolean {
    const key = cachedRoleKeyOf(value)
    if (!key) return false
    if (!key.qualified) return this.names.has(key.name)
    return this.inAccount.has(key.qualified) || this.anyAccount.has(key.name)
  }
}

interface RulePlan {
  scope?: FieldResolver
  context?: FieldResolver
  burst?: {
    groupBy: Array<{ field: string; resolve: FieldResolver }>
    distinct?: FieldResolver
    windowMs: number
    threshold: number
    window: string
    groups: Map<string, BurstGroup>
  }
}

const get = (field: string) => compileFieldPath(field)
const eventNameOf = get('eventName')
const eventSourceOf = get('eventSource')
const errorCodeOf = get('errorCode')
const requestRoleOf = get('requestParameters.role')
const responseRoleOf = get('responseElements.role')
const roleArnOf = get('requestParameters.roleArn')
const invokedByOf = get('userIdentity.invokedBy')
const eventTimeOf = get('eventTime')
const LEARN_FROM_LAMBDA = /^(CreateFunction|UpdateFunctionConfiguration)/i

/**
 * A detector for a stream of records: everything `evaluate` does, plus fir's extensions — rules
 * scoped to function execution roles, the AWS ip-ranges context, and bursts over a time window.
 * Records may arrive in any order; bursts are found either way (sorted input is the fast path).
 */
export function createDetector(rules: readonly CompiledRule[], options: DetectorOptions = {}): Detector {
  let ranges: IpRangeSet | undefined
  if (options.awsIpRanges !== undefined) {
    try {
      ranges = awsRangeSet(options.awsIpRanges)
    } catch (err) {
      throw new UsageError(`unable to read the AWS IP ranges: ${(err as Error).message}`, {
        cause: err,
        actions: [
          'download https://ip-ranges.amazonaws.com/ip-ranges.json and pass that file to --aws-ip-ranges',
        ],
      })
    }
  }
  const functionRoles = new FunctionRoles()
  for (const r of options.functionRoles ?? []) functionRoles.add(r)
  // Rules whose context is missing are left out entirely rather than firing without it.
  const active = rules.filter((r) => !(r.fir?.context && !ranges))
  const entries: Array<{ rule: CompiledRule; plan?: RulePlan }> = []
  for (const rule of active) {
    if (!rule.needsDetector || !rule.fir) {
      entries.push({ rule })
      continue
    }
    const plan: RulePlan = {}
    if (rule.fir.scope) plan.scope = get(rule.fir.scope.functionRole)
    if (rule.fir.context) plan.context = get(rule.fir.context.outsideAwsIpRanges)
    if (rule.fir.burst) {
      const b = rule.fir.burst
      const fields = Array.isArray(b.groupBy) ? b.groupBy : [b.groupBy]
      plan.burst = {
        groupBy: fields.map((field) => ({ field, resolve: get(field) })),
        distinct: b.distinct ? get(b.distinct) : undefined,
        windowMs: rule.burstWindowMs!,
        threshold: b.threshold,
        window: b.window,
        groups: new Map(),
      }
    }
    entries.push({ rule, plan })
  }
  const index = new RuleIndex(entries)

  const learn = (record: unknown) => {
    const name = eventNameOf(record)
    if (typeof name !== 'string') return
    const first = name.charCodeAt(0) | 0x20
    // Cheap first-letter check: this runs on every record.
    if (first !== 0x63 && first !== 0x75 && first !== 0x61) return
    let role: unknown
    if (LEARN_FROM_LAMBDA.test(name) && eventSourceOf(record) === 'lambda.amazonaws.com') {
      role = requestRoleOf(record) ?? responseRoleOf(record)
    } else if (name === 'AssumeRole' && invokedByOf(record) === 'lambda.amazonaws.com') {
      role = roleArnOf(record)
    } else return
    const err = errorCodeOf(record)
    if (err !== undefined && err !== null && err !== '') return
    if (typeof role === 'string') functionRoles.add(role)
  }

  const isFunctionRole = (value: unknown): boolean => {
    if (typeof value === 'string') return functionRoles.has(value)
    return Array.isArray(value) && value.some((v) => isFunctionRole(v))
  }

  return {
    evaluate(record) {
      learn(record)
      const out: Finding[] = []
      for (const { rule, plan } of index.candidates(record)) {
        if (!rule.matches(record)) continue
        if (!plan) {
          out.push(findingOf(rule))
          continue
        }
        if (plan.scope && !isFunctionRole(plan.scope(record))) continue
        let detail: Record<string, unknown> | undefined
        if (plan.context) {
          const value = plan.context(record)
          const ip = typeof value === 'string' ? parseIp(value.trim()) : undefined
          if (!ip || ranges!.has(ip)) continue
          detail = { outsideAwsIpRanges: value }
        }
        if (plan.burst) {
          const burst = trackBurst(plan.burst, record)
          if (!burst) continue
          detail = { ...detail, ...burst }
        }
        out.push(findingOf(rule, detail))
      }
      return out
    },
    flush() {
      for (const { plan } of entries) plan?.burst?.groups.clear()
      return []
    },
  }
}

interface BurstGroup {
  times: number[]
  values: string[]
  /** Start of the current window (sorted fast path). */
  lo: number
  counts: Map<string, number>
  serial: number
  reportedStart: number
  reportedEnd: number
}

function trackBurst(b: NonNullable<RulePlan['burst']>, record: unknown): Record<string, unknown> | undefined {
  const time = eventTimeOf(record)
  // As the timeline reads it: UTC, and no day a month does not have.
  const t = typeof time === 'string' ? parseTime(time) : Number.NaN
  if (!Number.isFinite(t)) return undefined
  const keyParts = b.groupBy.map((g) => g.resolve(record))
  if (keyParts.every((k) => k === undefined || k === null)) return undefined
  const key = JSON.stringify(keyParts)
  let g = b.groups.get(key)
  if (!g) {
    g = {
      times: [],
      values: [],
      lo: 0,
      counts: new Map(),
      serial: 0,
      reportedStart: Number.NaN,
      reportedEnd: Number.NaN,
    }
    b.groups.set(key, g)
  }
  const distinct = b.distinct ? b.distinct(record) : undefined
  const value =
    b.distinct && distinct !== undefined && distinct !== null ? JSON.stringify(distinct) : `#${g.serial++}`
  const W = b.windowMs
  const inc = (v: string) => g.counts.set(v, (g.counts.get(v) ?? 0) + 1)
  const last = g.times[g.times.length - 1]

  let count: number
  let first: number
  let end: number
  if (last === undefined || t >= last) {
    g.times.push(t)
    g.values.push(value)
    inc(value)
    while (g.times[g.lo]! < t - W) {
      const v = g.values[g.lo]!
      const n = g.counts.get(v)! - 1
      if (n === 0) g.counts.delete(v)
      else g.counts.set(v, n)
      g.lo++
    }
    if (g.lo > 4096 && g.lo > g.times.length / 2) {
      g.times = g.times.slice(g.lo)
      g.values = g.values.slice(g.lo)
      g.lo = 0
    }
    count = g.counts.size
    first = g.times[g.lo]!
    end = t
  } else {
    // Out of order: insert in place, keep the sliding window right, and look at both windows
    // that contain t.
    let at = g.times.length
    while (at > 0 && g.times[at - 1]! > t) at--
    g.times.splice(at, 0, t)
    g.values.splice(at, 0, value)
    if (t >= last - W) inc(value)
    else g.lo++
    const before = countIn(g, t - W, t)
    const after = countIn(g, t, t + W)
    ;[count, first, end] =
      before.count >= after.count ? [before.count, before.first, t] : [after.count, t, after.last]
  }

  // One finding per burst: events within a window of a reported burst extend it silently.
  if (g.reportedStart - W <= t && t <= g.reportedEnd + W) {
    g.reportedStart = Math.min(g.reportedStart, t)
    g.reportedEnd = Math.max(g.reportedEnd, t)
    return undefined
  }
  if (count < b.threshold) return undefined
  g.reportedStart = first
  g.reportedEnd = end
  const groupBy: Record<string, unknown> = {}
  b.groupBy.forEach((f, i) => {
    groupBy[f.field] = keyParts[i]
  })
  return {
    count,
    distinct: Boolean(b.distinct),
    window: b.window,
    first: new Date(first).toISOString(),
    last: new Date(end).toISOString(),
    groupBy,
  }
}

function countIn(g: BurstGroup, from: number, to: number): { count: number; first: number; last: number } {
  const seen = new Set<string>()
  let first = Number.POSITIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  for (let i = 0; i < g.times.length; i++) {
    const t = g.times[i]!
    if (t < from || t > to) continue
    seen.add(g.values[i]!)
    if (t < first) first = t
    if (t > last) last = t
  }
  return { count: seen.size, first, last }
}
