import { getRoleInfo } from '../../aws/iam.js'
import { arg, firCommand } from '../common/suggest.js'
import type { FirContext } from '../context.js'
import { REVOKE_LIMITS } from '../credentials/revoke-policy.js'
import { isDeleted } from '../steps/define-step.js'
import { CONTAINMENT_STEPS } from '../steps/registry.js'
import { runSteps } from '../steps/runner.js'
import type { StepCall, StepResult } from '../steps/step.js'
import { CONTAIN_ACTIONS, type ContainAction } from './actions.js'
import { type FunctionTarget, functionParams, resolveFunction } from './function-target.js'
import {
  livePublishedVersions,
  type RecordedRole,
  roleSwapWarning,
  type SwappedRole,
  swappedRoles,
  type VersionRole,
  versionRoles,
  versionRoleWarning,
} from './role-swap.js'

/** How contain makes sure the case holds a snapshot of the function before changing it. */
export interface SnapshotPort {
  /** The evidence set already holding the function, or null. */
  existing(ctx: FirContext, target: FunctionTarget): Promise<string | null>
  /**
   * The execution roles the case's sealed snapshots recorded for the function: `$LATEST`'s and
   * each published version's (an alias's is its version's), each with the sets that recorded it,
   * newest first.
   */
  roles(ctx: FirContext, target: FunctionTarget): Promise<RecordedRole[]>
  /** Takes one; returns the evidence set name. */
  take(ctx: FirContext, target: FunctionTarget): Promise<string>
}

export interface ContainOptions {
  function: string
  /** Default: all six, in DESIGN §4's order. */
  actions?: readonly ContainAction[]
  dryRun?: boolean
  /** The caller already confirmed (a playbook step with `confirm`, or its --yes). */
  confirmed?: boolean
  onPlan?: (rows: StepResult[]) => void
  snapshot: SnapshotPort
}

export interface ContainResult {
  function: FunctionTarget
  dryRun: boolean
  actions: ContainAction[]
  snapshot: { set: string | null; taken: boolean; note?: string }
  /**
   * The roles the case's snapshots recorded for `$LATEST` that it no longer runs with (its role
   * was swapped since): with `sessions`, each one's sessions are revoked too.
   */
  swappedRoles: SwappedRole[]
  /**
   * The roles published versions run with (or ran with, as the snapshots recorded them) other than
   * `$LATEST`'s: no swap, but their sessions are the function's credentials too; with `sessions`,
   * each one's are revoked too.
   */
  versionRoles: VersionRole[]
  plans: StepResult[]
  results: StepResult[]
  /**
   * What containment does not do, as far as what it made goes (reported with every result): the
   * in-flight invocations a throttle lets run only when the function is throttled, and that it is
   * not when the throttle was refused.
   */
  limits: string[]
  /**
   * When steps failed or AWS denied them: the contain command that makes only those, with the
   * AWS flags this run was given, to run once the cause is fixed (the permission granted). Null
   * otherwise, and under dryRun.
   */
  rerun: string | null
  /**
   * Said on stderr too: a role swap since the case's snapshot; published versions that run with
   * another role.
   */
  warnings: string[]
}

/** Outcomes of a row whose change is in force (or, under dryRun, would be). */
const IN_FORCE = new Set(['applied', 'already-applied', 'would-apply'])

/**
 * What containment does not do, from what this run made (`rows`: its results, or its plans under
 * dryRun): a throttle's in-flight invocations only when the function is (or would be) throttled,
 * and, when the throttle was refused, that the function is not throttled at all.
 */
export function containLimits(rows: readonly StepResult[]): string[] {
  const throttle = rows.find((r) => r.step === 'containment.throttle')
  const throttled = throttle !== undefined && IN_FORCE.has(throttle.outcome)
  return [
    ...REVOKE_LIMITS,
    ...(throttled
      ? ['invocations already running when the function was throttled may continue for up to 15 minutes']
      : throttle && (throttle.outcome === 'failed' || throttle.outcome === 'denied')
        ? [
            `the function is not throttled (the throttle ${throttle.outcome === 'denied' ? 'was denied' : 'failed'}): new invocations still run`,
          ]
        : []),
    `warm environments of published versions are not recycled by the description stamp (${throttled ? 'throttle stops their invocations' : 'throttling the function stops their invocations'})`,
  ]
}

/**
 * The contain command that makes the steps of `rows` that failed or AWS denied (partly made ones
 * too), with the AWS flags this run was given, or null when none did.
 */
function rerunCommand(ctx: FirContext, target: FunctionTarget, rows: readonly StepResult[]): string | null {
  const failed = CONTAIN_ACTIONS.filter((a) =>
    rows.some((r) => r.step === `containment.${a}` && (r.outcome === 'failed' || r.outcome === 'denied')),
  )
  if (!failed.length) return null
  return firCommand(
    ['contain', arg(target.name), '--actions', failed.join(','), ...(ctx.yes ? ['--yes'] : [])],
    ctx.aws,
    { region: target.region, caseDir: ctx.case.dir },
  )
}

/**
 * Contains a function: resolves it, plans the chosen steps in DESIGN §4's order (event-sources,
 * throttle, url, permissions, sessions, recycle), asks for confirmation, takes a snapshot when
 * the case has none for the function, then applies each step. When the case's snapshots recorded
 * another execution role for `$LATEST` than its live one (a role swap), it warns, naming both;
 * when published versions run with another role than `$LATEST` (or a version the snapshots
 * recorded with one is gone since), it says so, as no swap. Either way the sessions step revokes
 * the sessions of each such role too (one journaled change a role): they are the function's
 * credentials. IAM (besides the steps'): lambda:ListVersionsByFunction, iam:GetRole.
 */
export async function containFunction(ctx: FirContext, options: ContainOptions): Promise<ContainResult> {
  const target = await resolveFunction(ctx, options.function)
  const actions = CONTAIN_ACTIONS.filter((a) => (options.actions ?? CONTAIN_ACTIONS).includes(a))
  const base = functionParams(target)
  const recorded: RecordedRole[] = await options.snapshot.roles(ctx, target)
  const swapped = swappedRoles(target, recorded)
  const versions = versionRoles(target, recorded, await livePublishedVersions(ctx, target))
  const others = [...swapped, ...versions].filter(
    (r, i, all) => all.findIndex((o) => o.name.toLowerCase() === r.name.toLowerCase()) === i,
  )
  const sessions = actions.includes('sessions')
  // A role deleted since has no sessions left: the warning says so rather than offer to revoke
  // them (the sessions row for it is skipped, naming it).
  const deleted = new Set<string>()
  for (const r of others) if (await isDeleted(() => getRoleInfo(ctx.aws, r.name))) deleted.add(r.name)
  const revoking = { sessions, dryRun: options.dryRun === true }
  const warnings = [
    ...(swapped.length ? [roleSwapWarning(ctx, target, swapped, revoking, deleted)] : []),
    ...(versions.length ? [versionRoleWarning(ctx, target, versions, revoking, deleted)] : []),
  ]
  for (const w of warnings) ctx.log.warn(w)
  // Stolen credentials may be the sessions of a role the function ran with before a swap, or of a
  // published version's role: each role's revocation is its own change, journaled for this function.
  const roles = [target.roleName, ...others.map((r) => r.name)]
  const calls: StepCall[] = CONTAINMENT_STEPS.filter((s) =>
    actions.includes(s.id.replace('containment.', '') as ContainAction),
  ).flatMap((step) =>
    step.id === 'containment.sessions'
      ? roles.map((role) => ({ step, params: { ...base, role } }))
      : [{ step, params: base }],
  )
  const existing = await options.snapshot.existing(ctx, target)
  const snapshot: ContainResult['snapshot'] = { set: existing, taken: false }
  if (!existing && options.dryRun)
    snapshot.note = 'the case has no snapshot of this function: contain would take one first'
  const run = await runSteps(ctx, calls, {
    what: `contain ${target.name}`,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.confirmed ? { confirmed: true } : {}),
    ...(options.onPlan ? { onPlan: options.onPlan } : {}),
    undoCommand: firCommand(['restore', arg(target.name)], ctx.aws, {
      region: target.region,
      caseDir: ctx.case.dir,
    }),
    beforeChanges: async () => {
      if (existing) return
      ctx.log.info(`fir: the case has no snapshot of ${target.name}: taking one before any change`)
      snapshot.set = await options.snapshot.take(ctx, target)
      snapshot.taken = true
    },
  })
  return {
    function: target,
    dryRun: run.dryRun,
    actions,
    snapshot,
    swappedRoles: swapped,
    versionRoles: versions,
    plans: run.plans,
    results: run.results,
    limits: containLimits(run.results),
    rerun: run.dryRun ? null : rerunCommand(ctx, target, run.results),
    warnings,
  }
}
