import { listVersionRoles, type PublishedVersion } from '../../aws/lambda-containment.js'
import { FirError } from '../../errors.js'
import { firCommand, flag } from '../common/suggest.js'
import { escapeTerminal, firstFew } from '../common/text.js'
import type { FirContext } from '../context.js'
import { LATEST } from '../snapshot/function-roles.js'
import { roleNameOf } from '../snapshot/role.js'
import { type FunctionTarget, regionalAws } from './function-target.js'

/** An execution role the case's sealed snapshots recorded for one qualifier of a function. */
export interface RecordedRole {
  arn: string
  name: string
  /** `$LATEST` (the unqualified function), or a published version's number. */
  qualifier: string
  /** The evidence sets that recorded it for that qualifier, newest first. */
  sets: string[]
}

/** A role the case's snapshots recorded for `$LATEST` that it does not run with now. */
export interface SwappedRole {
  arn: string
  name: string
  /** The evidence sets that recorded it for `$LATEST`, newest first. */
  sets: string[]
}

/**
 * A role published versions of the function run with, or ran with when a snapshot recorded them,
 * other than the one `$LATEST` runs with now. A version keeps the role it was published with
 * (its configuration is immutable), and invoking it uses that role's credentials: its sessions
 * are the function's credentials too, without any swap.
 */
export interface VersionRole {
  arn: string
  name: string
  /** The published versions that run with it now. */
  versions: string[]
  /**
   * Versions the snapshots recorded with it that are no longer there (deleted since; a version of
   * that number with another role is another version, of the function made again).
   */
  gone: string[]
  /** The evidence sets that recorded it for a version, newest first (none: seen live only). */
  sets: string[]
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/**
 * Adds the role one snapshot recorded for `qualifier` to `roles` (one entry a role and qualifier:
 * IAM role names are unique in an account whatever their case), naming the set.
 */
export function addRecordedRole(
  roles: RecordedRole[],
  role: { arn: string; name: string; qualifier: string },
  set: string,
): void {
  const known = roles.find((r) => r.qualifier === role.qualifier && same(r.name, role.name))
  if (!known) roles.push({ ...role, sets: [set] })
  else if (!known.sets.includes(set)) known.sets.push(set)
}

function addSets(into: string[], sets: readonly string[]): void {
  for (const s of sets) if (!into.includes(s)) into.push(s)
}

/**
 * The roles the case's snapshots recorded for `$LATEST` that it does not run with now: its
 * execution role was swapped since (DESIGN §5: UpdateFunctionConfiguration with a role).
 * Credentials stolen from the function before the swap are those roles' sessions, not the live
 * role's. Like with like: a published version's role is no swap (see versionRoles).
 */
export function swappedRoles(target: FunctionTarget, recorded: readonly RecordedRole[]): SwappedRole[] {
  const out: SwappedRole[] = []
  for (const r of recorded) {
    if (r.qualifier !== LATEST || same(r.name, target.roleName)) continue
    const known = out.find((o) => same(o.name, r.name))
    if (known) addSets(known.sets, r.sets)
    else out.push({ arn: r.arn, name: r.name, sets: [...r.sets] })
  }
  return out
}

/**
 * The roles of the function's published versions other than `$LATEST`'s live one: those the
 * versions run with now (`live`, ListVersionsByFunction), and those the snapshots recorded for a
 * version no longer there. A recorded version is compared with that version live: a version's role
 * cannot change, so another role there means the recorded version is gone. Without `live` (the
 * read failed), the versions as the snapshots recorded them.
 */
export function versionRoles(
  target: FunctionTarget,
  recorded: readonly RecordedRole[],
  live: readonly PublishedVersion[] | null,
): VersionRole[] {
  const out: VersionRole[] = []
  const entry = (arn: string, name: string) => {
    let e = out.find((o) => same(o.name, name))
    if (!e) {
      e = { arn, name, versions: [], gone: [], sets: [] }
      out.push(e)
    }
    return e
  }
  for (const v of live ?? []) {
    const name = roleNameOf(v.role)
    if (name && !same(name, target.roleName)) entry(v.role, name).versions.push(v.version)
  }
  for (const r of recorded) {
    if (r.qualifier === LATEST || same(r.name, target.roleName)) continue
    const now = live?.find((v) => v.version === r.qualifier)
    const e = entry(r.arn, r.name)
    if (live === null) {
      if (!e.versions.includes(r.qualifier)) e.versions.push(r.qualifier)
    } else if (!now || !same(roleNameOf(now.role), r.name)) {
      if (!e.gone.includes(r.qualifier)) e.gone.push(r.qualifier)
    }
    addSets(e.sets, r.sets)
  }
  const byNumber = (a: string, b: string) => Number(a) - Number(b)
  for (const e of out) {
    e.versions.sort(byNumber)
    e.gone.sort(byNumber)
  }
  return out
}

/**
 * The function's published versions with their roles, read live; null when the read failed (a gap
 * naming it: the versions are then taken as the snapshots recorded them).
 * IAM: lambda:ListVersionsByFunction.
 */
export async function livePublishedVersions(
  ctx: FirContext,
  target: FunctionTarget,
): Promise<PublishedVersion[] | null> {
  try {
    return await listVersionRoles(regionalAws(ctx, target.region), target.name)
  } catch (err) {
    if (!(err instanceof FirError)) throw err
    ctx.gaps.add({
      what: `execution roles of the published versions of ${target.name} (taken as the case's snapshots recorded them)`,
      call: 'lambda:ListVersionsByFunction',
      reason: err.message,
    })
    return null
  }
}

const setsText = (sets: readonly string[]) => sets.map((s) => `evidence/${escapeTerminal(s)}`).join(', ')
const namesText = (roles: readonly { name: string }[]) =>
  roles.map((r) => escapeTerminal(r.name)).join(' and ')

/**
 * What the warning says of the roles contain is to revoke besides the live one: those deleted
 * since (no sessions left), then either that contain revokes the others' sessions too
 * (`sessions` among the actions) or the `fir creds revoke-sessions` command for each (with the
 * AWS flags this run was given).
 */
function revocationText(
  ctx: FirContext,
  roles: readonly { name: string }[],
  revoking: { sessions: boolean; dryRun: boolean },
  deleted: ReadonlySet<string>,
): string {
  const live = roles.filter((r) => !deleted.has(r.name))
  const gone = roles.filter((r) => deleted.has(r.name))
  const goneText = gone.length
    ? `; ${namesText(gone)} ${gone.length === 1 ? 'was' : 'were'} deleted since: no sessions left to revoke`
    : ''
  if (live.length === 0) return goneText
  if (revoking.sessions)
    return `${goneText}: contain ${revoking.dryRun ? 'would revoke' : 'revokes'} the sessions of ${namesText(live)} too (a row per role)`
  const commands = live.map(
    (r) =>
      `\`${escapeTerminal(firCommand(['creds', 'revoke-sessions', flag('--role', r.name), '--yes'], ctx.aws, { caseDir: ctx.case.dir }))}\``,
  )
  return `${goneText}, and this run revokes no sessions (sessions is not among its actions): revoke them with ${commands.join(' and ')}`
}

/**
 * The warning for a role swap: the live role, each role the snapshots recorded for `$LATEST` with
 * their sets, and what becomes of their sessions (revocationText).
 */
export function roleSwapWarning(
  ctx: FirContext,
  target: FunctionTarget,
  swapped: readonly SwappedRole[],
  revoking: { sessions: boolean; dryRun: boolean },
  /** Names of the recorded roles deleted since: no sessions left to revoke. */
  deleted: ReadonlySet<string> = new Set(),
): string {
  const recorded = swapped.map((r) => `role ${escapeTerminal(r.name)} (${setsText(r.sets)})`).join(' and ')
  const snapshots = swapped.flatMap((r) => r.sets).length > 1 ? "the case's snapshots" : "the case's snapshot"
  const head = `role swap: function ${escapeTerminal(target.name)} runs with role ${escapeTerminal(target.roleName)} now, but ${snapshots} recorded ${recorded}: its execution role was changed since (an attacker's technique; look for UpdateFunctionConfiguration with a role in the timeline). Credentials stolen from the function before the swap are sessions of ${namesText(swapped)}`
  return `${head}${revocationText(ctx, swapped, revoking, deleted)}`
}

/**
 * The warning for published versions that run (or ran) with another role than `$LATEST`'s: no
 * swap, but their roles' sessions are the function's credentials too. Names each version and
 * role, the sets that recorded them, and what becomes of their sessions (revocationText).
 */
export function versionRoleWarning(
  ctx: FirContext,
  target: FunctionTarget,
  roles: readonly VersionRole[],
  revoking: { sessions: boolean; dryRun: boolean },
  deleted: ReadonlySet<string> = new Set(),
): string {
  const recorded = (r: VersionRole) => (r.sets.length ? ` (as ${setsText(r.sets)} recorded)` : '')
  const running = roles.filter((r) => r.versions.length)
  const gone = roles.filter((r) => r.gone.length)
  const parts: string[] = []
  if (running.length) {
    const which = running.map((r) => {
      const many = r.versions.length > 1
      return `its published version${many ? 's' : ''} ${escapeTerminal(firstFew(r.versions))} ${many ? 'run' : 'runs'} with role ${escapeTerminal(r.name)}${recorded(r)}`
    })
    parts.push(
      `${which.join(' and ')}: a version keeps the execution role it was published with (no swap), and invoking it uses that role's credentials, so credentials stolen from the function may be sessions of ${namesText(running)}`,
    )
  }
  if (gone.length) {
    const which = gone.map((r) => {
      const many = r.gone.length > 1
      return `its published version${many ? 's' : ''} ${escapeTerminal(firstFew(r.gone))}, which ran with role ${escapeTerminal(r.name)}${recorded(r)}, ${many ? 'are' : 'is'} no longer there`
    })
    const many = gone.length > 1 || gone[0]!.gone.length > 1
    parts.push(
      `${which.join(' and ')}: credentials stolen from ${many ? 'them' : 'it'} are sessions of ${namesText(gone)}`,
    )
  }
  const head = `published version: function ${escapeTerminal(target.name)} runs with role ${escapeTerminal(target.roleName)}, but ${parts.join('; and ')}`
  return `${head}${revocationText(ctx, roles, revoking, deleted)}`
}
