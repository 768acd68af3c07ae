import {
  CONTAIN_ACTIONS,
  type ContainAction,
  RESTORE_ACTIONS,
  type RestoreAction,
} from '../../containment/actions.js'
import { containFunction } from '../../containment/contain.js'
import { restoreCase } from '../../containment/restore.js'
import { snapshotPort } from '../../containment/snapshot-port.js'
import type { ActionImpl } from '../runner.js'
import { outcomeOf } from './outcome.js'

/**
 * `containment.contain`: the containment steps of DESIGN §4 (all six unless `actions` names some),
 * through the one step runner; the playbook's confirmation stands for the runner's. Takes a
 * snapshot first when the case has none of the function. IAM: the `fir contain` row.
 */
export const containAction: ActionImpl = async (run, params) => {
  const actions = (params.actions as ContainAction[] | undefined) ?? [...CONTAIN_ACTIONS]
  const r = await containFunction(run.ctx, {
    function: String(params.function),
    actions,
    confirmed: true,
    snapshot: snapshotPort,
  })
  const { outcome, summary, partial } = outcomeOf(r.results, `contain ${r.function.name}`)
  return {
    outcome,
    ...(partial ? { partial } : {}),
    summary: r.snapshot.taken ? `${summary} (snapshot ${r.snapshot.set} taken first)` : summary,
    outputs: {
      applied: r.results.filter((x) => x.outcome === 'applied').map((x) => x.step),
      alreadyApplied: r.results.filter((x) => x.outcome === 'already-applied').map((x) => x.step),
      roleName: r.function.roleName,
    },
  }
}

/** `containment.restore`: undoes the case's containment from the journal. IAM: the `fir restore` row. */
export const restoreAction: ActionImpl = async (run, params) => {
  const wanted = params.actions as string[] | undefined
  const r = await restoreCase(run.ctx, {
    ...(params.function ? { function: String(params.function) } : {}),
    ...(wanted
      ? {
          actions: wanted.filter((a): a is RestoreAction =>
            (RESTORE_ACTIONS as readonly string[]).includes(a),
          ),
        }
      : {}),
    confirmed: true,
  })
  const { outcome, summary, partial } = outcomeOf(
    r.results.filter((x) => x.outcome !== 'skipped'),
    `restore ${params.function ?? 'the case'}`,
  )
  return {
    outcome,
    ...(partial ? { partial } : {}),
    summary,
    outputs: {
      restored: r.results.filter((x) => x.outcome === 'undone').map((x) => x.step),
      conflicts: r.results.filter((x) => x.outcome === 'conflict').map((x) => x.step),
    },
  }
}
