import { SealedEvidenceChangedError } from '../case/evidence-store.js'
import { firstFew, joinNames, shellArg } from '../common/text.js'
import { type FunctionRole, functionRoles, snapshottedFunctions } from '../snapshot/function-roles.js'
import { roleNameOf } from '../snapshot/role.js'
import { ROLE_POLICY_CALLS } from '../snapshot/types.js'
import {
  asArray,
  asRecord,
  asString,
  compactValue,
  isoOrNull,
  levelLabel,
  normaliseLevel,
  truncate,
  utcDisplay,
} from './format.js'
import type { RiskyPermission, RoleFacts } from './model.js'
import type { RawEvidenceSet } from './read-case.js'
import { functionRef, isFunction, type RoleSet } from './timeline-scan.js'

// The execution roles the report describes: every role of each function as the case's sealed
// snapshots recorded it (functionRoles: `$LATEST`'s in each snapshot, each published version's and
// so each alias's), what the evidence holds of each role's policies, and the swaps of `$LATEST`'s
// role the snapshots and the timeline show.

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** One key a role: IAM role names are unique in an account whatever their case. */
export function roleKey(role: string, account: string): string {
  const acct = role.startsWith('arn:') ? roleAccountOf(role) : account
  return `${acct}|${roleNameOf(role).toLowerCase()}`
}

/** The account of a role's ARN, or `''` for a bare name (or an ARN that names none). */
export function roleAccountOf(role: string): string {
  return role.startsWith('arn:') ? (role.split(':')[4] ?? '') : ''
}

/**
 * Whether a journaled target — a session revocation's: the role's ARN, or its name — is the role
 * of `account` and `name`, as roleKey keys roles: by name, whatever its case or path, and by
 * account too when both the target and the role carry one (a same-named role of another account
 * is another role, its revocation not this one's).
 */
export function isRoleTarget(target: string, role: { account: string; name: string }): boolean {
  if (target.startsWith('arn:') && !target.includes(':role/')) return false
  const account = roleAccountOf(target)
  return same(roleNameOf(target), role.name) && (!account || !role.account || account === role.account)
}

/** The calls whose responses are a role's policies (or the role itself) in a sealed set. */
const ROLE_READS: ReadonlySet<string> = new Set(['iam:GetRole', ...ROLE_POLICY_CALLS])

/** What the case's sealed evidence holds of one execution role's policies. */
export interface RoleEvidence {
  /** Its ARN when the evidence names one, else its name. */
  arn: string
  name: string
  /** By action, resource, policy and statement: each risky permission once. */
  permissions: Map<string, RiskyPermission>
  /** The policies of the role a snapshot could not read (`inline policy p of role r: denied: …`). */
  policyGaps: Set<string>
  /** A snapshot read its policies: its risky permissions, or that it has none, are known. */
  captured: boolean
  /** A snapshot summary names it as the role of the function (or qualifier) it describes. */
  focus: boolean
}

/** A risky permission as a snapshot summary or a risky-permission finding's detail records it. */
function riskyPermissionOf(r: Record<string, unknown>): RiskyPermission {
  return {
    action: asString(r.action) ?? compactValue(r.action ?? null, 80),
    resource: asString(r.resource) ?? compactValue(r.resource ?? null, 160),
    policy: asString(r.policy) ?? compactValue(r.policy ?? null, 120),
    // A statement reads best as the policy JSON it is.
    statement:
      asString(r.statement) ?? truncate(r.statement === undefined ? '' : JSON.stringify(r.statement), 400),
    level: r.level === undefined ? null : normaliseLevel(r.level),
    levelLabel: r.level === undefined ? null : levelLabel(normaliseLevel(r.level)),
    conditioned: r.conditioned === true,
  }
}

/**
 * What the sealed sets hold of each execution role, by roleKey: the risky permissions of the role
 * each summary entry describes (its `riskyPermissions`) and of every other role the snapshot read
 * (a published version's, one it ran with before a swap: the risky-permission findings, whose
 * target is the role), the policies it could not read (its gaps naming the role; a managed
 * policy's, which any role of the function may attach, for each of them), and whether any set
 * read the role's policies at all (its files come from iam:GetRole, iam:ListRolePolicies, …).
 */
export function rolesInEvidence(sets: readonly RawEvidenceSet[]): Map<string, RoleEvidence> {
  const out = new Map<string, RoleEvidence>()
  const of = (role: string, account: string): RoleEvidence => {
    const key = roleKey(role, account)
    let e = out.get(key)
    if (!e) {
      e = {
        arn: role,
        name: roleNameOf(role),
        permissions: new Map(),
        policyGaps: new Set(),
        captured: false,
        focus: false,
      }
      out.set(key, e)
    } else if (!e.arn.startsWith('arn:') && role.startsWith('arn:')) e.arn = role
    return e
  }
  const add = (e: RoleEvidence, raw: Record<string, unknown>) => {
    const p = riskyPermissionOf(raw)
    e.permissions.set(`${p.action}|${p.resource}|${p.policy}|${p.statement}`, p)
  }
  for (const set of sets) {
    if (!set.summary) continue
    for (const f of asArray(set.manifest?.files)) {
      const source = asRecord(asRecord(f).source)
      const target = asString(source.target)
      if (target?.includes(':role/') && ROLE_READS.has(asString(source.call) ?? ''))
        of(target, '').captured = true
    }
    for (const f of set.findings) {
      const r = asRecord(f)
      const detail = asRecord(r.detail)
      const target = asString(r.target)
      if (r.kind !== 'risky-permission' || !target?.includes(':role/') || !asString(detail.action)) continue
      const e = of(target, '')
      e.captured = true
      add(e, { ...detail, level: r.level })
    }
    for (const entry of asArray(set.summary.functions)) {
      const e = asRecord(entry)
      const account = asString(e.account) ?? asString(asRecord(set.summary.takenBy).account) ?? ''
      const focus = asString(e.role) ?? asString(e.roleName)
      const roles = [
        ...(focus ? [focus] : []),
        ...asArray(e.versions).flatMap((v) => asString(asRecord(v).role) ?? []),
      ]
      if (focus) {
        const role = of(focus, account)
        role.focus = true
        role.captured = true
        for (const p of asArray(e.riskyPermissions)) add(role, asRecord(p))
      }
      // Policies that could not be read: the risky permissions found may not be all of them.
      for (const g of asArray(e.gaps)) {
        const r = asRecord(g)
        const call = asString(r.call) ?? ''
        const what = asString(r.what) ?? ''
        if (!ROLE_POLICY_CALLS.has(call)) continue
        const text = `${truncate(what, 200)}: ${truncate(asString(r.reason) || 'not read', 200)}`
        const named = /(?:^|\s)role (\S+)$/.exec(what)?.[1]
        if (named) of(roles.find((x) => same(roleNameOf(x), named)) ?? named, account).policyGaps.add(text)
        else if (call === 'iam:GetPolicy' || call === 'iam:GetPolicyVersion')
          for (const x of roles) of(x, account).policyGaps.add(text)
      }
    }
  }
  return out
}

/** A function of the case's snapshots with its execution roles. */
export interface SnapshottedRoles {
  name: string
  arn: string
  region: string
  account: string
  roles: FunctionRole[]
  /** The role `$LATEST` ran with in each snapshot that recorded it, oldest first. */
  latest: { role: FunctionRole; set: string; time: string }[]
}

/**
 * Every function of the case's sealed snapshots with its execution roles (functionRoles), read
 * from the sets as sealed (a set not as sealed is left out: the report says so elsewhere). A file
 * a set's roles are read from (its calls.json, a stored GetFunction) changed since it was sealed
 * leaves that function out, named in `problems`.
 */
export async function snapshottedRoles(
  caseDir: string,
  sets: readonly RawEvidenceSet[],
  problems: string[],
): Promise<SnapshottedRoles[]> {
  const sealed = [...sets].reverse().filter((s) => s.notAsSealed === null && s.manifest && s.summary)
  const timeOf = (set: string) => {
    const s = sealed.find((x) => x.name === set)
    return isoOrNull(s?.summary?.takenAt) ?? isoOrNull(s?.manifest?.sealed) ?? ''
  }
  const out: SnapshottedRoles[] = []
  const functions = snapshottedFunctions(
    sealed.map((s) => ({
      name: s.name,
      ...(s.dir ? { dir: s.dir } : {}),
      manifest: s.manifest!,
      summary: s.summary,
    })),
  )
  for (const f of functions) {
    let roles: FunctionRole[]
    try {
      roles = await functionRoles(caseDir, f.snapshots)
    } catch (err) {
      if (!(err instanceof SealedEvidenceChangedError)) throw err
      problems.push(`the execution roles of ${f.name} could not be read from the evidence: ${err.message}`)
      continue
    }
    const sets = [...new Set(f.snapshots.map((s) => s.set))].reverse()
    const newest = f.snapshots[0]?.summary
    out.push({
      name: f.name,
      arn: f.arn ?? '',
      region: f.region ?? '',
      account:
        asString(newest?.arn)?.split(':')[4] ?? asString((newest as { account?: unknown })?.account) ?? '',
      roles,
      latest: sets.flatMap((set) => {
        const role = roles.find((r) => r.latest.includes(set))
        return role ? [{ role, set, time: timeOf(set) }] : []
      }),
    })
  }
  return out
}

/** One record of the role `$LATEST` of a function ran with: a snapshot's, or a call's that set it. */
interface RoleState {
  arn: string
  name: string
  /** roleKey: a role is one by account and name. */
  key: string
  ms: number
  /** A snapshot taken the second a call was made is taken to follow it. */
  order: number
  /** What shows it: `evidence set <set>`, `UpdateFunctionConfiguration at <UTC> by <caller>`. */
  by: string
  /** The call, when it is one. */
  call: RoleSet | null
}

/** The role `$LATEST` ran with from one change to the next, as the case knows it. */
interface RoleRun {
  arn: string
  name: string
  key: string
  /** What shows it, in time order. */
  by: string[]
  /** The record that first shows it: the call that set it, or the snapshot that found it. */
  start: RoleState
}

/** A role of a function's history: its ARN (or name, when that is all the case holds) and name. */
export interface RoleRef {
  arn: string
  name: string
}

/**
 * The last change of the role `$LATEST` of a function runs with that the case shows, as the
 * snapshots and the timeline show it, and whether it can name the role to go back to.
 */
export interface RoleSwap {
  function: string
  /** The function's ARN, when the snapshots recorded one. */
  functionArn: string
  region: string
  account: string
  /**
   * The role in force just before the swap; null when the case does not know it (the timeline
   * shows the call that set the role, and nothing of the role before).
   */
  earlier: RoleRef | null
  /** The role the swap set. */
  to: RoleRef
  /** What shows the swap: `UpdateFunctionConfiguration at <UTC> by <caller>`, or `evidence set <set>`. */
  swapBy: string
  /** The call that made the swap, when the timeline shows it. */
  swapCall: { eventName: string; actor: string; timeDisplay: string } | null
  /** The role it runs with now, as far as the case knows. */
  now: RoleRef
  /** Each role in turn, with what shows it: `orders-api-role (evidence set 2026…)`. */
  history: string[]
  /** The swap was undone since: it runs with `earlier` again (`backBy` shows it). */
  switchedBack: boolean
  /** What shows it set back, when it was. */
  backBy: string | null
  /**
   * Why the case cannot name the role to go back to, or null when it can (`earlier`) or the swap
   * was undone: the role before it is not known, or it came from a change the case cannot tell from
   * another swap or a repair. No command is then given: pasting one must never move a repaired
   * function to a stale role.
   */
  unsure: string | null
  /**
   * What makes the swap stand out: `flagged by <detection>`, `made by <caller>, not by <creator>,
   * who created the function`. Empty when nothing does.
   */
  flags: string[]
}

/** Why one role is a function's (RoleFacts.why), and whether it is `$LATEST`'s now. */
export interface RoleWhy {
  arn: string
  name: string
  why: string[]
  current: boolean
  functions: string[]
  /** Only the timeline shows it (no snapshot recorded it). */
  timelineOnly: boolean
}

const CURRENT = 'current $LATEST role of '
const EARLIER = 'earlier $LATEST role of '

/** RoleFacts.why lines other than that it is a function's `$LATEST` role now. */
export function otherWhys(role: Pick<RoleFacts, 'why'>): string[] {
  return role.why.filter((w) => !w.startsWith(CURRENT))
}

/** `orders-api-role`, or `admin-role (role of version 3 of orders-api)` for a role not `$LATEST`'s now. */
export function roleWithWhy(role: Pick<RoleFacts, 'name' | 'why' | 'current'>): string {
  const other = otherWhys(role)
  return role.current || other.length === 0 ? role.name : `${role.name} (${other.join('; ')})`
}

function byText(by: readonly string[]): string {
  return firstFew(by, 2)
}

const isCreate = (call: RoleSet | null) => call !== null && /^CreateFunction/.test(call.eventName)

/** The account a call names the function in: its ARN's, else the record's. */
function callAccount(call: RoleSet): string {
  return call.functionName.startsWith('arn:') ? (call.functionName.split(':')[4] ?? '') : call.account
}

/**
 * The swap of a function's `$LATEST` role its history (`runs`, oldest first) shows, or null when
 * it shows none. A run begun routinely — the first the case knows, unless a call that changed the
 * role begins it; or one the function's creator (the caller of a CreateFunction of it in the
 * timeline) set — is one to go back to. The last change is the swap, unless it put back the role
 * in force before the change before it, begun routinely: that change was the swap, undone since.
 * The role before the swap is the one to go back to when it was begun routinely; else the case
 * cannot tell the swap from a repair, and names none.
 */
function swapOf(
  f: SnapshottedRoles,
  runs: readonly RoleRun[],
  creators: ReadonlySet<string>,
): Omit<RoleSwap, 'function' | 'functionArn' | 'region' | 'account' | 'history'> | null {
  const n = runs.length - 1
  const now = runs[n]
  if (!now) return null
  const routine = (k: number) => {
    const call = runs[k]!.start.call
    return call ? isCreate(call) || creators.has(call.actor) : k === 0
  }
  const flagsOf = (run: RoleRun) => {
    const call = run.start.call
    if (!call || isCreate(call)) return []
    return [
      ...(call.findings.length ? [`flagged by ${firstFew(call.findings, 2)}`] : []),
      ...(creators.size && !creators.has(call.actor)
        ? [`made by ${call.actor}, not by ${joinNames([...creators])}, who created the function`]
        : []),
    ]
  }
  const ref = (r: RoleRun): RoleRef => ({ arn: r.arn, name: r.name })
  /** The swap `to` made, from `earlier`; `back` set the role back since, when it did. */
  const swapTo = (to: RoleRun, earlier: RoleRef | null, back: RoleRun | null, unsure: string | null) => ({
    earlier,
    to: ref(to),
    swapBy: to.start.by,
    swapCall: to.start.call
      ? {
          eventName: to.start.call.eventName,
          actor: to.start.call.actor,
          timeDisplay: utcDisplay(to.start.call.time),
        }
      : null,
    now: ref(now),
    switchedBack: back !== null,
    backBy: back ? back.start.by : null,
    unsure,
    flags: flagsOf(to),
  })
  if (n === 0) {
    // The timeline shows the call that set the role, and nothing of the role before it.
    if (!now.start.call || isCreate(now.start.call)) return null
    return swapTo(
      now,
      null,
      null,
      `the role ${f.name} ran with before ${now.start.by} is not known from this case`,
    )
  }
  if (n >= 2 && runs[n - 2]!.key === now.key && routine(n - 2))
    return swapTo(runs[n - 1]!, ref(runs[n - 2]!), now, null)
  const before = runs[n - 1]!
  // Not begun routinely: set by a call (the creator's aside), or found by a later snapshot.
  const unsure = routine(n - 1)
    ? null
    : before.start.call
      ? `${before.name} itself was set by ${before.start.by}, a change the case cannot tell from another swap or a repair`
      : `${before.name} itself replaced ${runs[n - 2]!.name} by a change the case does not show (found by ${before.start.by}): it cannot tell that change from another swap or a repair`
  return swapTo(now, ref(before), null, unsure)
}

/**
 * Why each role of the case's functions is there, by roleKey, and the swap of each function's
 * `$LATEST` role: the role each snapshot recorded for `$LATEST` and each call in the timeline that
 * set the function's role (CreateFunction, UpdateFunctionConfiguration; one made in another
 * account than the function's is another function's), in time order, make its history (swapOf).
 * A role is one by account and name: a record naming a same-named role of another account is
 * another role.
 */
export function describeRoles(
  functions: readonly SnapshottedRoles[],
  rolesSet: readonly RoleSet[],
): { roles: Map<string, RoleWhy>; swaps: RoleSwap[] } {
  const roles = new Map<string, RoleWhy>()
  const swaps: RoleSwap[] = []
  const entry = (key: string, arn: string, name: string, fn: string, timelineOnly: boolean) => {
    let e = roles.get(key)
    if (!e) roles.set(key, (e = { arn, name, why: [], current: false, functions: [], timelineOnly }))
    if (!timelineOnly) e.timelineOnly = false
    if (!e.functions.includes(fn)) e.functions.push(fn)
    return e
  }
  for (const f of functions) {
    const calls = rolesSet.filter(
      (r) =>
        isFunction(f, functionRef(r.functionName, r.region)) &&
        (!f.account || !callAccount(r) || callAccount(r) === f.account),
    )
    const states: RoleState[] = [
      ...f.latest.map((l) => ({
        arn: l.role.arn,
        name: l.role.name,
        key: roleKey(l.role.arn, f.account),
        by: `evidence set ${l.set}`,
        ms: Date.parse(l.time),
        order: 1,
        call: null,
      })),
      ...calls.map((r) => ({
        arn: r.role,
        name: roleNameOf(r.role),
        key: roleKey(r.role, f.account),
        by: `${r.eventName} at ${utcDisplay(r.time)} by ${r.actor}`,
        ms: Date.parse(r.time),
        order: 0,
        call: r,
      })),
    ].sort((a, b) => (a.ms || 0) - (b.ms || 0) || a.order - b.order)
    const runs: RoleRun[] = []
    for (const s of states) {
      const last = runs.at(-1)
      if (last && last.key === s.key) last.by.push(s.by)
      else runs.push({ arn: s.arn, name: s.name, key: s.key, by: [s.by], start: s })
    }
    const creators = new Set(calls.filter((c) => isCreate(c)).map((c) => c.actor))
    const swap = swapOf(f, runs, creators)
    const now = runs.at(-1)
    const label = f.name
    const earlierKey = swap?.earlier ? roleKey(swap.earlier.arn, f.account) : null
    const toKey = swap ? roleKey(swap.to.arn, f.account) : null
    /** Why a role of `$LATEST`'s history is there: now, before the swap, set by it, or earlier still. */
    const historyWhy = (key: string): string | null => {
      const at = runs.filter((r) => r.key === key)
      if (!at.length) return null
      const by = byText(at.flatMap((r) => r.by))
      if (key === now?.key) {
        if (!swap) return `${CURRENT}${label}`
        if (swap.switchedBack) return `${CURRENT}${label}, in force again (shown by ${swap.backBy})`
        if (!swap.earlier)
          return `${CURRENT}${label}, set by ${swap.swapBy}${swap.flags.length ? ` (${swap.flags.join('; ')})` : ''}; the role before it is not known from this case`
        return `${CURRENT}${label} since the role swap from ${swap.earlier.name} (shown by ${swap.swapBy})`
      }
      if (swap?.switchedBack && key === toKey)
        return `${EARLIER}${label}, set by the role swap (shown by ${swap.swapBy}) and replaced since (shown by ${swap.backBy}); recorded by ${by}`
      if (swap && !swap.switchedBack && key === earlierKey)
        return `${EARLIER}${label} before the role swap to ${swap.to.name} (shown by ${swap.swapBy}); recorded by ${by}`
      return `${EARLIER}${label}, recorded by ${by}`
    }
    for (const r of f.roles) {
      const key = roleKey(r.arn, f.account)
      const e = entry(key, r.arn, r.name, label, false)
      const why: string[] = []
      const inHistory = historyWhy(key)
      if (inHistory) why.push(inHistory)
      if (key === now?.key) e.current = true
      if (r.versions.length)
        why.push(
          `role of version${r.versions.length > 1 ? 's' : ''} ${firstFew(r.versions)}${r.aliases.length ? ` and alias${r.aliases.length > 1 ? 'es' : ''} ${firstFew(r.aliases)}` : ''} of ${label}`,
        )
      for (const w of why) if (!e.why.includes(w)) e.why.push(w)
    }
    // A role only the timeline shows the function set to.
    for (const run of runs) {
      if (f.roles.some((r) => roleKey(r.arn, f.account) === run.key)) continue
      const e = entry(run.key, run.arn, run.name, label, true)
      if (run.key === now?.key) e.current = true
      const w = historyWhy(run.key)
      if (w && !e.why.includes(w)) e.why.push(w)
    }
    if (swap)
      swaps.push({
        function: f.name,
        functionArn: f.arn,
        region: f.region,
        account: f.account,
        history: runs.map((x) => `${x.name} (${byText(x.by)})`),
        ...swap,
      })
  }
  return { roles, swaps }
}

/**
 * What a swap means, for the report's impact: the roles in turn, with what shows each, the role
 * the code runs with now, and whose sessions credentials stolen from the function are.
 */
export function swapImpact(s: RoleSwap): string {
  const history = s.history.join(', then ')
  const shown = swapShown(s)
  const stolen = 'Credentials stolen from it are sessions of the role it ran with when they were taken'
  if (!s.earlier)
    return `The timeline shows ${swapCallText(s)}; the role it ran with before is not known from this case (an earlier snapshot of the function, or CloudTrail from before this timeline’s window, would tell). Its code runs with the permissions of ${s.now.name} now. ${stolen}: of the role before it, when taken before that call.`
  if (s.switchedBack)
    return `The execution role of ${s.function} was changed and set back since: ${history}. The role swap (${shown}) replaced ${s.earlier.name} with ${s.to.name}, then ${s.now.name} was in force again (shown by ${s.backBy}). ${stolen}: of ${s.to.name}, when taken while it ran with it.`
  if (s.unsure)
    return `The execution role of ${s.function} was changed more than once: ${history}. Its code runs with the permissions of ${s.now.name} now, since the last change (${shown}); the case cannot tell which change to undo (${s.unsure}), so it names no role to go back to. ${stolen}.`
  return `The execution role of ${s.function} was changed: ${history}. Its code runs with the permissions of ${s.now.name} now, set in place of ${s.earlier.name} (${shown}). ${stolen}: of ${s.earlier.name}, when taken before that change${s.history.length > 2 ? ', or of a role it ran with earlier still' : ''}.`
}

/**
 * `<caller> set the execution role of <function> to <role> at <UTC> (<call>; <flags>)`: the call
 * that made a swap, with what makes it stand out.
 */
export function swapCallText(s: RoleSwap): string {
  const flags = s.flags.map((f) => `; ${f}`).join('')
  return s.swapCall
    ? `${s.swapCall.actor} set the execution role of ${s.function} to ${s.to.name} at ${s.swapCall.timeDisplay} (${s.swapCall.eventName}${flags})`
    : `the execution role of ${s.function} set to ${s.to.name} (${swapShown(s)})`
}

/** `shown by <call or evidence set>`, and what makes the swap stand out. */
export function swapShown(s: Pick<RoleSwap, 'swapBy' | 'flags'>): string {
  return [`shown by ${s.swapBy}`, ...s.flags].join('; ')
}

/**
 * The AWS CLI command that points a function back at the role in force before its swap: the
 * role's ARN as the case recorded it (built from the account when only its name is known).
 */
export function pointBackCommand(swap: RoleSwap & { earlier: RoleRef }): string {
  const role = swap.earlier.arn.startsWith('arn:')
    ? swap.earlier.arn
    : swap.account
      ? `arn:aws:iam::${swap.account}:role/${swap.earlier.name}`
      : `<ARN of role ${swap.earlier.name}>`
  return `aws lambda update-function-configuration --function-name ${shellArg(swap.functionArn || swap.function)} --role ${shellArg(role)}${swap.region ? ` --region ${shellArg(swap.region)}` : ''}`
}
