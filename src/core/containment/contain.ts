import type { FirContext } from '../context.js'
import { REVOKE_LIMITS } from '../credentials/revoke-policy.js'
import { CONTAINMENT_STEPS } from '../steps/registry.js'
import { runSteps } from '../steps/runner.js'
import type { StepCall, StepResult } from '../steps/step.js'
import { CONTAIN_ACTIONS, type ContainAction } from './actions.js'
import { type FunctionTarget, functionParams, resolveFunction } from './function-target.js'

/** How contain makes sure the case holds a snapshot of the function before changing it. */
export interface SnapshotPort {
  /** The evidence set already holding the function, or null. */
  existing(ctx: FirContext, target: FunctionTarget): Promise<string | null>
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
  plans: StepResult[]
  results: StepResult[]
  /** What containment does not do (reported with every result). */
  limits: string[]
}

export const CONTAIN_LIMITS = [
  ...REVOKE_LIMITS,
  'invocations already running when the function was throttled may continue for up to 15 minutes',
  'warm environments of published versions are not recycled by the description stamp (throttle stops their invocations)',
]

/**
 * Contains a function: resolves it, plans the chosen steps in DESIGN §4's order (event-sources,
 * throttle, url, permissions, sessions, recycle), asks for confirmation, takes a snapshot when
 * the case has none for the function, then applies each step. Re-running finishes a crashed run
 * and reports `already-applied` for what is done.
 */
export async function containFunction(ctx: FirContext, options: ContainOptions): Promise<ContainResult> {
  const target = await resolveFunction(ctx, options.function)
  const actions = CONTAIN_ACTIONS.filter((a) => (options.actions ?? CONTAIN_ACTIONS).includes(a))
  const base = functionParams(target)
  const calls: StepCall[] = CONTAINMENT_STEPS.filter((s) =>
    actions.includes(s.id.replace('containment.', '') as ContainAction),
  ).map((step) => ({
    step,
    params: step.id === 'containment.sessions' ? { ...base, role: target.roleName } : base,
  }))
  const existing = await options.snapshot.existing(ctx, target)
  const snapshot: ContainResult['snapshot'] = { set: existing, taken: false }
  if (!existing && options.dryRun)
    snapshot.note = 'the case has no snapshot of this function: contain would take one first'
  const run = await runSteps(ctx, calls, {
    what: `contain ${target.name}`,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.confirmed ? { confirmed: true } : {}),
    ...(options.onPlan ? { onPlan: options.onPlan } : {}),
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
    plans: run.plans,
    results: run.results,
    limits: CONTAIN_LIMITS,
  }
}
