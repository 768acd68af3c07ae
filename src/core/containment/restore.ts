import type { FirContext } from '../context.js'
import { stepById } from '../steps/registry.js'
import { runUndos, type UndoCall } from '../steps/runner.js'
import type { StepResult, UndoRecord } from '../steps/step.js'
import { pendingUndos } from '../steps/undo-records.js'
import { DEFAULT_RESTORE_ACTIONS, RESTORE_ACTIONS, type RestoreAction, stepIdsFor } from './actions.js'
import { parseFunctionRef } from './function-target.js'

export interface RestoreOptions {
  /** Only changes made to this function (name, partial or full ARN); default every change in the case. */
  function?: string
  /** Named actions; default {@link DEFAULT_RESTORE_ACTIONS}. Naming `sessions` / `rotate-key` opts in. */
  actions?: readonly RestoreAction[]
  dryRun?: boolean
  confirmed?: boolean
  onPlan?: (rows: StepResult[]) => void
}

export interface RestoreResult {
  dryRun: boolean
  actions: RestoreAction[]
  plans: StepResult[]
  results: StepResult[]
  warnings: string[]
}

const WARN_SESSIONS =
  'removing the session revocation makes stolen tokens issued before the cutoff valid again (until they expire)'
const WARN_KEY = 'reactivating a rotated access key makes the leaked key valid again'

function matchesFunction(record: UndoRecord, fn: string | undefined): boolean {
  if (fn === undefined) return true
  const p = record.params
  if (typeof p.function !== 'string') return false
  if (fn.startsWith('arn:')) return p.functionArn === fn
  const ref = parseFunctionRef(fn)
  return p.function === ref.name && (!ref.account || String(p.functionArn).includes(`:${ref.account}:`))
}

/**
 * Undoes the case's changes, newest first, from the journal alone. By default event-sources,
 * throttle, url, permissions and recycle; the session revocation and rotated keys only when named
 * (with a warning). Where the current state was changed by someone else since, the conflict is
 * reported and that part is left alone.
 */
export async function restoreCase(ctx: FirContext, options: RestoreOptions): Promise<RestoreResult> {
  const named = options.actions !== undefined
  const actions = [...(options.actions ?? DEFAULT_RESTORE_ACTIONS)]
  const wanted = new Set(actions.flatMap(stepIdsFor))
  const known = new Set(RESTORE_ACTIONS.flatMap(stepIdsFor).concat(['credentials.rotate-secret']))
  const records = pendingUndos(ctx.case.journal.all(), known).filter((r) =>
    matchesFunction(r, options.function),
  )
  const calls: UndoCall[] = []
  for (const record of records) {
    const step = stepById(record.step)
    if (!step) continue
    if (step.undoPolicy === 'never') {
      calls.push({ step, record, skip: `${step.id} cannot be undone` })
    } else if (!wanted.has(step.id)) {
      const name = step.id === 'credentials.rotate-key' ? 'rotate-key' : step.id.split('.')[1]
      const how =
        step.undoPolicy === 'named'
          ? `kept: restore undoes it only when named (--actions ${name === 'revoke-sessions' ? 'sessions' : name})`
          : `not selected by --actions`
      if (step.undoPolicy === 'named' || named) calls.push({ step, record, skip: how })
    } else {
      calls.push({ step, record })
    }
  }
  const warnings: string[] = []
  if (actions.includes('sessions') && records.some((r) => r.step.endsWith('sessions')))
    warnings.push(WARN_SESSIONS)
  if (actions.includes('rotate-key') && records.some((r) => r.step === 'credentials.rotate-key'))
    warnings.push(WARN_KEY)
  for (const w of warnings) ctx.log.warn(w)
  const what = options.function ? `restore ${options.function}` : 'restore the case'
  const run = await runUndos(ctx, calls, {
    what,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.confirmed ? { confirmed: true } : {}),
    ...(options.onPlan ? { onPlan: options.onPlan } : {}),
  })
  return { dryRun: run.dryRun, actions, plans: run.plans, results: run.results, warnings }
}
