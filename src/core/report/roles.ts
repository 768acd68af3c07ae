import { SealedEvidenceChangedError } from '../case/evidence-store.js'
import { firstFew, shellArg } from '../common/text.js'
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
  const acct = role.startsWith('arn:') ? (role.split(':')[4] ?? '') : account
  return `${acct}|${roleNameOf(role).toLowerCase()}`
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

/** The role `$LATEST` of a function ran with at one time the case knows of, and what shows it. */
interface RoleAt {
  arn: string
  name: string
  /** What shows it: `evidence set <set>`, `UpdateFunctionConfiguration at <UTC> by <caller>`. */
  by: string[]
}

/** A change of the role `$LATEST` of a function runs with, as the snapshots and the timeline show it. */
export interface RoleSwap {
  function: string
  /** The function's ARN, when the snapshots recorded one. */
  functionArn: string
  region: string
  account: string
  /** The first role the case knows `$LATEST` ran with. */
  earlier: { arn: string; name: string }
  /** The role it runs with now, as far as the case knows. */
  now: { arn: string; name: string }
  /** Each role in turn, with what shows it: `orders-api-role (evidence set 2026…)`. */
  history: string[]
  /** It runs with its earlier role again. */
  switchedBack: boolean
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

/**
 * Why each role of the case's functions is there, by roleKey, and the swaps of `$LATEST`'s role:
 * the role each snapshot recorded for `$LATEST` and each call in the timeline that set the
 * function's role (CreateFunction, UpdateFunctionConfiguration), in time order. The role of the
 * last is `$LATEST`'s now; a change between two is a swap, and the first role the case knows is
 * the earlier one to go back to (the case cannot tell the attacker's change from a responder's
 * undoing it: the history says each, with what shows it).
 */
export function describeRoles(
  functions: readonly SnapshottedRoles[],
  rolesSet: readonly RoleSet[],
): { roles: Map<string, RoleWhy>; swaps: RoleSwap[] } {
  const roles = new Map<string, RoleWhy>()
  const swaps: RoleSwap[] = []
  const entry = (arn: string, name: string, account: string, fn: string, timelineOnly: boolean) => {
    const key = roleKey(arn, account)
    let e = roles.get(key)
    if (!e) roles.set(key, (e = { arn, name, why: [], current: false, functions: [], timelineOnly }))
    if (!timelineOnly) e.timelineOnly = false
    if (!e.functions.includes(fn)) e.functions.push(fn)
    return e
  }
  for (const f of functions) {
    const states: (RoleAt & { ms: number; order: number })[] = [
      ...f.latest.map((l) => ({
        arn: l.role.arn,
        name: l.role.name,
        by: [`evidence set ${l.set}`],
        ms: Date.parse(l.time),
        order: 1,
      })),
      ...rolesSet
        .filter((r) => isFunction(f, functionRef(r.functionName, r.region)))
        .map((r) => ({
          arn: r.role,
          name: roleNameOf(r.role),
          by: [`${r.eventName} at ${utcDisplay(r.time)} by ${r.actor}`],
          ms: Date.parse(r.time),
          order: 0,
        })),
    ]
      // A snapshot taken the second a call was made is taken to follow it.
      .sort((a, b) => (a.ms || 0) - (b.ms || 0) || a.order - b.order)
    const runs: RoleAt[] = []
    for (const s of states) {
      const last = runs.at(-1)
      if (last && same(last.name, s.name)) last.by.push(...s.by)
      else runs.push({ arn: s.arn, name: s.name, by: [...s.by] })
    }
    const now = runs.at(-1)
    const swapped = runs.length > 1
    const label = f.name
    for (const r of f.roles) {
      const e = entry(r.arn, r.name, f.account, label, false)
      const why: string[] = []
      const at = runs.filter((x) => same(x.name, r.name))
      if (now && same(now.name, r.name)) {
        why.push(`${CURRENT}${label}`)
        e.current = true
      } else if (at.length || r.latest.length)
        why.push(
          swapped
            ? `earlier $LATEST role of ${label} before a role swap, shown by ${byText(at.flatMap((x) => x.by))}`
            : `$LATEST role of ${label} (evidence set ${r.latest[0]})`,
        )
      if (r.versions.length)
        why.push(
          `role of version${r.versions.length > 1 ? 's' : ''} ${firstFew(r.versions)}${r.aliases.length ? ` and alias${r.aliases.length > 1 ? 'es' : ''} ${firstFew(r.aliases)}` : ''} of ${label}`,
        )
      for (const w of why) if (!e.why.includes(w)) e.why.push(w)
    }
    // A role only the timeline shows the function set to.
    for (const run of runs) {
      if (f.roles.some((r) => same(r.name, run.name))) continue
      const e = entry(run.arn, run.name, f.account, label, true)
      const isNow = run === now
      if (isNow) e.current = true
      const w = `${isNow ? CURRENT : 'earlier $LATEST role of '}${label}, set by ${byText(run.by)} (timeline)`
      if (!e.why.includes(w)) e.why.push(w)
    }
    if (swapped && now) {
      const first = runs[0]!
      swaps.push({
        function: f.name,
        functionArn: f.arn,
        region: f.region,
        account: f.account,
        earlier: { arn: first.arn, name: first.name },
        now: { arn: now.arn, name: now.name },
        history: runs.map((x) => `${x.name} (${byText(x.by)})`),
        switchedBack: same(first.name, now.name),
      })
    }
  }
  return { roles, swaps }
}

/**
 * The AWS CLI command that points a function back at its earlier role: the role's ARN as the
 * case recorded it (built from the account when only its name is known).
 */
export function pointBackCommand(swap: RoleSwap): string {
  const role = swap.earlier.arn.startsWith('arn:')
    ? swap.earlier.arn
    : swap.account
      ? `arn:aws:iam::${swap.account}:role/${swap.earlier.name}`
      : `<ARN of role ${swap.earlier.name}>`
  return `aws lambda update-function-configuration --function-name ${shellArg(swap.functionArn || swap.function)} --role ${shellArg(role)}${swap.region ? ` --region ${shellArg(swap.region)}` : ''}`
}
