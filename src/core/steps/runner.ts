/**
 * The one runner for every change fir makes (contain, restore, creds, playbooks).
 *
 * API (the playbook engine builds on it):
 *
 * ```ts
 * import { runSteps, runUndos } from '../steps/runner.js'
 * import { STEPS, stepById } from '../steps/registry.js'
 *
 * // forward: plan every call (read-only) → confirm → apply each in order
 * const run = await runSteps(ctx, [{ step: throttleStep, params }], { dryRun, what: 'contain f', onPlan })
 * run.plans    // StepResult rows with outcome 'would-apply' | 'already-applied' | 'failed' | 'denied'
 * run.results  // StepResult rows with outcome 'applied' | 'already-applied' | 'failed' | 'denied'
 *              // (equal to plans under dryRun); result.outputs feeds `steps.<id>.outputs.*`
 *
 * // backward: records come from the journal (undo-records.ts pendingUndos), newest first
 * const back = await runUndos(ctx, [{ step, record }], { dryRun, what: 'restore f', onPlan })
 * ```
 *
 * - The caller is identified first (sts:GetCallerIdentity): an AWS that cannot be reached at all, or
 *   credentials that do not work, end the command (exit 2) before any plan.
 * - Plans run first, for every call, and only read. A plan that AWS denies or that fails becomes a
 *   `denied`/`failed` row and a gap; the other calls still run (contain as much as possible).
 *   Unless `dryRun`, that row is journaled as the step's outcome, in its place among the steps
 *   (no `started` entry: nothing was changed), so the case shows the step failed; an undo's
 *   carries `params.undoOf` (the change it did not undo, left in force).
 *   With `failOnPlanError` the plan's FirError is thrown instead (a refusal of a single-step
 *   command such as `creds rotate-key` exits 2 with its message and next steps).
 * - `beforeChanges` runs after confirmation and before the first apply (contain's snapshot).
 * - Confirmation: needed only when some change is pending. `ctx.yes` confirms; else on a terminal
 *   (`ctx.interactive`) `ctx.confirm()` asks; else {@link RefusedError} (exit 5). A "no" on the
 *   terminal is a refusal too. `onPlan` is called with the plan rows before asking.
 * - `dryRun`: plans only; nothing is journaled, nothing is changed.
 * - Before the first step is applied or undone — a change or not (`already-applied`) — the banner
 *   (account, region, caller) is printed and journaled, so every entry names the caller's ARN.
 * - Each step journals its own `started`/outcome entries (see step.ts); re-runs report
 *   `already-applied` without a mutating call, so a crashed run is resumed by running it again.
 * - Non-FirError exceptions are bugs: journaled as `failed` by the step, then rethrown.
 * - An error thrown part way (a bug, or a journal append that fails: a full disk) is rethrown with
 *   next steps naming what the run changed before it and the change under way (stoppedPartWay).
 *
 * Writing a step: `defineStep({id, title, iamActions, undoPolicy, read, intend, isApplied,
 * change, describe, outputs?, compareForUndo?, revert?})` (define-step.ts) gives a {@link Step}
 * `{id, title, mutates, iamActions, undoPolicy, plan, apply, planUndo, undo}` whose journaling,
 * idempotence and crash bookkeeping are shared; add it to `STEPS` in registry.ts.
 *
 * Higher-level entry points built on this runner (what commands and playbook actions call):
 * `containFunction` / `restoreCase` (core/containment), `revokeRoleSessions`, `rotateAccessKey`,
 * `rotateSecret` (core/credentials). All take `{dryRun?, confirmed?, onPlan?}`.
 */
import { FirError, RefusedError, withActions } from '../../errors.js'
import type { Outcome } from '../case/journal.js'
import { shellArg } from '../common/text.js'
import type { FirContext } from '../context.js'
import { announceActing, callerIdentity } from '../identity.js'
import { errorInfo, failureOutcome, gapCall, paramsTarget } from './define-step.js'
import { finishCommand, interruptedChanges } from './interrupted.js'
import type { Plan, RowOutcome, Step, StepCall, StepResult, UndoRecord } from './step.js'
import { isUndoEntry } from './undo-records.js'

export interface RunOptions {
  /** Plans only: nothing is journaled or changed. */
  dryRun?: boolean
  /** What the run does, for the question and the refusal: `contain my-function`. */
  what: string
  /** Called with the plan rows before confirmation is asked (print the plan table here). */
  onPlan?: (rows: StepResult[]) => void
  /** Skip the runner's own confirmation (a caller that already confirmed, e.g. a playbook step). */
  confirmed?: boolean
  /** Runs after confirmation, before the first apply (contain takes its snapshot here). Not under dryRun. */
  beforeChanges?: () => Promise<void>
  /** Throw a plan's FirError instead of reporting a failed row (single-step commands: a refusal exits 2). */
  failOnPlanError?: boolean
  /**
   * The command that undoes this run's changes (contain: `fir restore <function> … --case <dir>`),
   * named in the next steps of a run an error stops part way (see stoppedPartWay).
   */
  undoCommand?: string
}

export interface RunResult {
  dryRun: boolean
  plans: StepResult[]
  results: StepResult[]
}

function planRow(plan: Plan): StepResult {
  return {
    step: plan.step,
    title: plan.title,
    target: plan.target,
    label: plan.label,
    outcome: plan.gone !== undefined ? 'skipped' : plan.alreadyApplied ? 'already-applied' : 'would-apply',
    ...(plan.nothingToChange ? { nothingToChange: plan.nothingToChange } : {}),
    before: plan.before,
    after: plan.after,
    beforeText: plan.beforeText,
    afterText: plan.afterText,
    requestIds: [],
    outputs: {},
    undo: null,
    notes: plan.notes,
  }
}

function failedRow(
  ctx: FirContext,
  step: Step<never, unknown>,
  label: string,
  target: string,
  err: unknown,
): StepResult {
  const outcome = failureOutcome(err)
  const error = errorInfo(err)
  ctx.gaps.add({
    what: `${step.id} on ${label}: could not plan`,
    call: gapCall(step.id, error),
    reason: error.message,
  })
  return {
    step: step.id,
    title: step.title,
    target,
    label,
    outcome,
    before: null,
    after: null,
    beforeText: '?',
    afterText: '?',
    requestIds: [],
    outputs: {},
    undo: null,
    error,
    notes: [],
  }
}

/**
 * Journals a call whose plan failed as the step's outcome (`denied` or `failed`, with the error).
 * No `started` entry: nothing was changed. Without it the case showed no trace of the step, and
 * the report called a function contained, "none failed", while the step had never run.
 */
async function journalPlanFailure(
  ctx: FirContext,
  row: StepResult,
  params: Record<string, unknown>,
): Promise<void> {
  await ctx.case.journal.append({
    action: row.step,
    target: row.target,
    params,
    outcome: row.outcome as Outcome,
    ...(row.error ? { error: row.error } : {}),
  })
}

function labelOf(params: Record<string, unknown>): string {
  return String(params.label ?? params.function ?? params.role ?? params.user ?? params.secretId ?? '?')
}

/**
 * What an undo row names: for a change made to a role (the session revocation) the role, as the
 * plan and the result of the change named it, not the function it was made for; else the label.
 */
function undoLabel(record: { target: string; params: Record<string, unknown> }): string {
  return (
    /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(record.target)?.[1] ?? labelOf(record.params)
  )
}

/**
 * Asks for confirmation of `count` pending changes, or refuses (exit 5). `ctx.yes` confirms
 * without asking.
 */
export async function confirmChanges(ctx: FirContext, what: string, count: number): Promise<void> {
  if (ctx.yes) return
  const question = `fir: ${what}: make ${count} change${count === 1 ? '' : 's'} listed above?`
  if (!ctx.interactive) {
    throw new RefusedError(
      `unable to ${what}: ${count} change${count === 1 ? ' needs' : 's need'} confirmation and stdin is not a terminal`,
    )
  }
  if (!(await ctx.confirm(question))) {
    throw new RefusedError(`unable to ${what}: the responder declined the changes`, {
      actions: ['nothing was changed; run again and answer "y", or pass --yes'],
    })
  }
}

/** Plans, confirms and applies `calls` in order (see the module comment). */
export async function runSteps(ctx: FirContext, calls: StepCall[], options: RunOptions): Promise<RunResult> {
  if (calls.length > 0) await identifyCaller(ctx)
  const plans: StepResult[] = []
  const planned = new Map<StepCall, StepResult>()
  for (const call of calls) {
    let row: StepResult
    try {
      row = planRow(await call.step.plan(ctx, call.params))
      planned.set(call, row)
    } catch (err) {
      if (!(err instanceof FirError) || options.failOnPlanError) throw err
      const label = labelOf(call.params)
      row = failedRow(ctx, call.step as Step<never, unknown>, label, paramsTarget(call.params) || label, err)
    }
    plans.push(row)
  }
  options.onPlan?.(plans)
  if (options.dryRun) return { dryRun: true, plans, results: plans }
  const pending = plans.filter((p) => p.outcome === 'would-apply').length
  if (pending > 0 && !options.confirmed) await confirmChanges(ctx, options.what, pending)
  // Every call is journaled, a change or not (already-applied, a failed plan): the caller first.
  if (calls.length > 0)
    await announceActing(ctx, ctx.aws, actingOn(plans, 'would-apply', 'already-applied', 'failed', 'denied'))
  await options.beforeChanges?.()
  const results: StepResult[] = []
  const fromSeq = nextSeq(ctx)
  try {
    for (const [i, call] of calls.entries()) {
      if (planned.has(call)) results[i] = await call.step.apply(ctx, call.params)
      else {
        results[i] = plans[i]!
        await journalPlanFailure(ctx, plans[i]!, call.params)
      }
    }
  } catch (err) {
    throw withActions(err, stoppedPartWay(ctx, results, fromSeq, false, options))
  }
  return { dryRun: false, plans, results }
}

/** The seq the journal's next entry takes. */
function nextSeq(ctx: FirContext): number {
  return (ctx.case.journal.all().at(-1)?.seq ?? -1) + 1
}

/**
 * What to say of a run an error stopped part way (thrown, not a step's failed row: a full disk
 * as an outcome was journaled, a bug): the changes it made before, in force in AWS now, and the
 * one it was making when it stopped, journaled `started` with no outcome, which may be. Without
 * it the responder read only "no space left on the device" while three changes were in force.
 * `fromSeq`: the journal's first entry of the run's steps; `undo`: a run of undos.
 */
function stoppedPartWay(
  ctx: FirContext,
  results: readonly (StepResult | undefined)[],
  fromSeq: number,
  undo: boolean,
  options: RunOptions,
): string[] {
  const made = new Set<RowOutcome>(undo ? ['undone', 'already-undone'] : ['applied', 'already-applied'])
  const done = results.filter(
    (r): r is StepResult => r !== undefined && (made.has(r.outcome) || r.partlyMade === true),
  )
  const cutOff = interruptedChanges(ctx.case.journal.all()).filter((e) => e.seq >= fromSeq)
  if (done.length === 0 && cutOff.length === 0) return []
  const caseDir = shellArg(ctx.case.dir)
  return [
    ...(done.length
      ? [
          `${undo ? 'undone' : 'in force'} in AWS before the run stopped: ${done.map((r) => `${r.step} on ${r.label} (${r.partlyMade ? `${r.outcome}, partly made` : r.outcome})`).join(', ')}`,
        ]
      : []),
    ...cutOff.map((e) => {
      const finish = finishCommand(e, ctx.case.dir)
      return `${isUndoEntry(e) ? 'the undo of ' : ''}${e.action} on ${e.target} was under way when the run stopped: no outcome is journaled and it may ${isUndoEntry(e) ? 'have been undone' : 'be in force'}${finish ? ` (${finish} finishes it)` : ''}`
    }),
    `fir case show --case ${caseDir} lists the case's changes${options.undoCommand ? `; ${options.undoCommand} undoes them` : ''}`,
  ]
}

/** An undo to run: the step and the record built from the journal. */
export interface UndoCall {
  // biome-ignore lint/suspicious/noExplicitAny: calls mix steps of different states
  step: Step<any, any>
  record: UndoRecord
  /** When set, the row is reported as skipped with this note and nothing is done. */
  skip?: string
  /**
   * With `skip`: the callers (params from the record's `heldFor`) whose share of the kept change
   * this run releases — journaled as `skipped` undo entries, so the change no longer counts as
   * held for them (a restored function no longer keeps its role's revocation in place).
   */
  release?: Record<string, unknown>[]
}

/**
 * Plans (read-only), confirms and runs undos in the order given (callers pass newest first).
 * Conflicting parts are reported and left alone; skipped calls are shown, never run.
 */
export async function runUndos(ctx: FirContext, calls: UndoCall[], options: RunOptions): Promise<RunResult> {
  const journals = (c: UndoCall) => c.skip === undefined || (c.release?.length ?? 0) > 0
  if (calls.some(journals)) await identifyCaller(ctx)
  const plans: StepResult[] = []
  const runnable: UndoCall[] = []
  const planFailed: UndoCall[] = []
  for (const call of calls) {
    const base: StepResult = {
      step: call.step.id,
      title: call.step.title,
      target: call.record.target,
      label: undoLabel(call.record),
      outcome: 'skipped',
      before: null,
      after: call.record.prior,
      beforeText: '?',
      afterText: '?',
      requestIds: [],
      outputs: {},
      undo: call.record,
      notes: [],
    }
    if (call.skip) {
      plans.push({
        ...base,
        after: null,
        beforeText: 'left as it is',
        afterText: 'left as it is',
        notes: [call.skip],
      })
      continue
    }
    try {
      const p = await call.step.planUndo(ctx, call.record)
      plans.push({
        ...base,
        outcome: p.status,
        before: p.current,
        after: p.result,
        beforeText: p.currentText,
        afterText: p.resultText,
        notes: [...p.conflicts.map((c) => `conflict: ${c}`), ...p.notes],
      })
      // One that cannot be undone automatically is left as it is: its plan row is its result.
      if (p.status !== 'skipped') runnable.push(call)
    } catch (err) {
      if (!(err instanceof FirError)) throw err
      plans.push(failedRow(ctx, call.step, base.label, call.record.target, err))
      planFailed.push(call)
    }
  }
  options.onPlan?.(plans)
  if (options.dryRun) return { dryRun: true, plans, results: plans }
  const pending = plans.filter((p) => p.outcome === 'would-undo').length
  if (pending > 0 && !options.confirmed) await confirmChanges(ctx, options.what, pending)
  // Every undo run is journaled (already-undone, conflict, a failed plan too), and so is a release:
  // the caller first.
  if (runnable.length > 0 || planFailed.length > 0 || calls.some((c) => c.skip && journals(c)))
    await announceActing(
      ctx,
      ctx.aws,
      actingOn(plans, 'would-undo', 'already-undone', 'conflict', 'failed', 'denied'),
    )
  const results: StepResult[] = []
  const fromSeq = nextSeq(ctx)
  try {
    for (const [i, row] of plans.entries()) {
      // One plan row per call, in the calls' order.
      const call = calls[i]!
      for (const params of call.skip ? (call.release ?? []) : []) {
        await ctx.case.journal.append({
          action: call.step.id,
          target: call.record.target,
          params: { ...params, undoOf: call.record.startedSeq, kept: call.skip },
          outcome: 'skipped',
        })
      }
      if (planFailed.includes(call))
        await journalPlanFailure(ctx, row, { ...call.record.params, undoOf: call.record.startedSeq })
      results.push(runnable.includes(call) ? await call.step.undo(ctx, call.record) : row)
    }
  } catch (err) {
    throw withActions(err, stoppedPartWay(ctx, results, fromSeq, true, options))
  }
  return { dryRun: false, plans, results }
}

/**
 * The targets (ARNs) of the rows about to change AWS (`changing`); when none will change, of the
 * rows whose outcome is journaled all the same (`journaled`), for the banner's region.
 */
function actingOn(
  rows: readonly StepResult[],
  changing: StepResult['outcome'],
  ...journaled: StepResult['outcome'][]
): string[] {
  const of = (outcomes: StepResult['outcome'][]) =>
    rows.filter((r) => outcomes.includes(r.outcome)).map((r) => r.target)
  const changes = of([changing])
  return changes.length > 0 ? changes : of(journaled)
}

/**
 * Resolves the caller (sts:GetCallerIdentity) before any plan reads AWS. An endpoint that cannot
 * be reached, or credentials that do not work, then stop the command here (AwsAccessError, exit 2,
 * as contain's first read and snapshot's caller lookup do) instead of failing every row as a gap
 * (exit 4: gaps are calls AWS answered with a denial, a throttle or a fault).
 */
async function identifyCaller(ctx: FirContext): Promise<void> {
  await callerIdentity(ctx.aws)
}
