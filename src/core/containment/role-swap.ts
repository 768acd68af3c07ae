import { firCommand } from '../common/suggest.js'
import { escapeTerminal } from '../common/text.js'
import type { FirContext } from '../context.js'
import type { FunctionTarget } from './function-target.js'

/** An execution role the case's sealed snapshots recorded for a function. */
export interface RecordedRole {
  arn: string
  name: string
  /** The evidence sets that recorded it, newest first. */
  sets: string[]
}

/**
 * Adds the role one snapshot recorded to `roles` (one entry a role: IAM role names are unique in
 * an account whatever their case), naming the set.
 */
export function addRecordedRole(roles: RecordedRole[], arn: string, name: string, set: string): void {
  const known = roles.find((r) => r.name.toLowerCase() === name.toLowerCase())
  if (!known) roles.push({ arn, name, sets: [set] })
  else if (!known.sets.includes(set)) known.sets.push(set)
}

/**
 * The roles the case's snapshots recorded for the function that it does not run with now: its
 * execution role was swapped since (DESIGN §5: UpdateFunctionConfiguration with a role).
 * Credentials stolen from the function before the swap are those roles' sessions, not the live
 * role's.
 */
export function swappedRoles(target: FunctionTarget, recorded: readonly RecordedRole[]): RecordedRole[] {
  return recorded.filter((r) => r.name.toLowerCase() !== target.roleName.toLowerCase())
}

/**
 * The warning for a role swap: the live role, each role the snapshots recorded with their sets,
 * and either that contain revokes their sessions too (`sessions` among the actions) or the
 * `fir creds revoke-sessions` command for each (with the AWS flags this run was given).
 */
export function roleSwapWarning(
  ctx: FirContext,
  target: FunctionTarget,
  swapped: readonly RecordedRole[],
  revoking: { sessions: boolean; dryRun: boolean },
  /** Names of the recorded roles deleted since: no sessions left to revoke. */
  deleted: ReadonlySet<string> = new Set(),
): string {
  const recorded = swapped
    .map(
      (r) =>
        `role ${escapeTerminal(r.name)} (${r.sets.map((s) => `evidence/${escapeTerminal(s)}`).join(', ')})`,
    )
    .join(' and ')
  const names = swapped.map((r) => escapeTerminal(r.name)).join(' and ')
  const snapshots = swapped.flatMap((r) => r.sets).length > 1 ? "the case's snapshots" : "the case's snapshot"
  const head = `role swap: function ${escapeTerminal(target.name)} runs with role ${escapeTerminal(target.roleName)} now, but ${snapshots} recorded ${recorded}: its execution role was changed since (an attacker's technique; look for UpdateFunctionConfiguration with a role in the timeline). Credentials stolen from the function before the swap are sessions of ${names}`
  const live = swapped.filter((r) => !deleted.has(r.name))
  const gone = swapped.filter((r) => deleted.has(r.name))
  const goneText = gone.length
    ? `; ${gone.map((r) => escapeTerminal(r.name)).join(' and ')} ${gone.length === 1 ? 'was' : 'were'} deleted since: no sessions left to revoke`
    : ''
  if (live.length === 0) return `${head}${goneText}`
  if (revoking.sessions)
    return `${head}${goneText}: contain ${revoking.dryRun ? 'would revoke' : 'revokes'} the sessions of ${live.map((r) => escapeTerminal(r.name)).join(' and ')} too (a row per role)`
  const commands = live.map(
    (r) =>
      `\`${escapeTerminal(firCommand(['creds', 'revoke-sessions', '--role', r.name, '--yes'], ctx.aws, { caseDir: ctx.case.dir }))}\``,
  )
  return `${head}${goneText}, and this run revokes no sessions (sessions is not among its actions): revoke them with ${commands.join(' and ')}`
}
