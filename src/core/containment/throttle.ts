import {
  deleteReservedConcurrency,
  getReservedConcurrency,
  putReservedConcurrency,
} from '../../aws/lambda-containment.js'
import { defineStep } from '../steps/define-step.js'
import { deletedFunction, type FunctionParams, regionalAws } from './function-target.js'

export interface ThrottleState {
  /** Reserved concurrency, or null when none is set (the function uses the account's pool). */
  reserved: number | null
}

const describe = (s: ThrottleState) =>
  s.reserved === null ? 'reserved concurrency: none' : `reserved concurrency: ${s.reserved}`

/**
 * containment.throttle — PutFunctionConcurrency 0: no new invocations of any version or alias
 * (invocations already running may continue for up to 15 minutes).
 * IAM: lambda:GetFunctionConcurrency, lambda:PutFunctionConcurrency, lambda:DeleteFunctionConcurrency (undo),
 * lambda:GetFunctionConfiguration (undo, when the function may have been deleted).
 * Undo: restores the prior reserved concurrency, or deletes the setting when there was none. A
 * function deleted since has nothing to put back: named, and undone.
 */
export const throttleStep = defineStep<FunctionParams, ThrottleState>({
  id: 'containment.throttle',
  title: 'Throttle to zero concurrency',
  iamActions: ['lambda:GetFunctionConcurrency', 'lambda:PutFunctionConcurrency'],
  undoIamActions: [
    'lambda:GetFunctionConcurrency',
    'lambda:PutFunctionConcurrency',
    'lambda:DeleteFunctionConcurrency',
    'lambda:GetFunctionConfiguration',
  ],
  undoPolicy: 'default',
  async read(ctx, params) {
    const reserved = await getReservedConcurrency(regionalAws(ctx, params.region), params.function)
    return { target: params.functionArn, label: params.function, state: { reserved } }
  },
  targetGone: deletedFunction,
  intend: () => ({ reserved: 0 }),
  isApplied: (_ctx, _params, s) => s.reserved === 0,
  async change(ctx, params) {
    await putReservedConcurrency(regionalAws(ctx, params.region), params.function, 0)
    return { reserved: 0 }
  },
  describe,
  compareForUndo(current, record) {
    if (current.reserved === record.prior.reserved) return { result: current, changes: 0, conflicts: [] }
    if (current.reserved === record.after.reserved) return { result: record.prior, changes: 1, conflicts: [] }
    return {
      result: current,
      changes: 0,
      conflicts: [
        `reserved concurrency is now ${current.reserved ?? 'none'} (fir set ${record.after.reserved}, it was ${record.prior.reserved ?? 'none'}); left as it is`,
      ],
    }
  },
  async revert(ctx, record) {
    const aws = regionalAws(ctx, record.params.region)
    const fn = String(record.params.function)
    if (record.prior.reserved === null) await deleteReservedConcurrency(aws, fn)
    else await putReservedConcurrency(aws, fn, record.prior.reserved)
    return { reserved: record.prior.reserved }
  },
})
