import { updateFunctionDescription } from '../../aws/lambda-containment.js'
import type { FirContext } from '../context.js'
import { defineStep } from '../steps/define-step.js'
import {
  deletedFunction,
  type FunctionParams,
  readFunctionConfiguration,
  regionalAws,
} from './function-target.js'

export interface RecycleState {
  description: string
}

/** `2026-11-28T20:15:03Z`: UTC, whole seconds, whatever the local time zone. */
export function utcSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function recycleStampPrefix(caseId: string): string {
  return `fir: recycled by case ${caseId}`
}

function stamp(ctx: FirContext): string {
  return `${recycleStampPrefix(ctx.case.meta.id)} at ${utcSeconds(ctx.clock.awsNow())}`
}

/**
 * Whether a description is this case's stamp. The id is matched whole (it ends where ` at `
 * begins; case ids hold no space): case INC-2 is not stamped by INC-20's recycle.
 */
export function isRecycleStamp(description: string, caseId: string): boolean {
  return description.startsWith(`${recycleStampPrefix(caseId)} at `)
}

const quote = (s: string) => (s === '' ? 'description: (empty)' : `description: ${JSON.stringify(s)}`)

/**
 * containment.recycle — a harmless configuration update (a description stamp
 * `fir: recycled by case <id> at <UTC>`) so Lambda replaces warm execution environments of
 * $LATEST, which still hold credentials issued before the session revocation. Published versions
 * are immutable: their warm environments are not recycled (throttle stops their invocations).
 * IAM: lambda:GetFunctionConfiguration, lambda:UpdateFunctionConfiguration.
 * Undo: restores the prior description. One that quoted a secret value of the environment is
 * journaled redacted: restore cannot put it back (the plan says so before the change), and says
 * where the value is; once it is put back by hand, restore finds it so. A function deleted since
 * has nothing to put back: named, and undone.
 */
export const recycleStep = defineStep<FunctionParams, RecycleState>({
  id: 'containment.recycle',
  title: 'Recycle warm environments',
  iamActions: ['lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionConfiguration'],
  undoIamActions: ['lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionConfiguration'],
  undoPolicy: 'default',
  async read(ctx, params) {
    const cfg = await readFunctionConfiguration(ctx, regionalAws(ctx, params.region), params.function)
    return {
      target: params.functionArn,
      label: params.function,
      state: { description: cfg.Description ?? '' },
    }
  },
  targetGone: deletedFunction,
  secretSource: (params) =>
    `the Configuration.Description of function ${params.function} in the case's sealed snapshot of it (evidence/<set>/functions/${params.function}/get-function.$LATEST.json)`,
  intend: (ctx) => ({ description: stamp(ctx) }),
  isApplied: (ctx, _params, s) => isRecycleStamp(s.description, ctx.case.meta.id),
  async change(ctx, params, _current, intended) {
    const out = await updateFunctionDescription(
      regionalAws(ctx, params.region),
      params.function,
      intended.description,
    )
    return { description: out.Description ?? intended.description }
  },
  describe: (s) => quote(s.description),
  compareForUndo(current, record) {
    if (current.description === record.prior.description)
      return { result: current, changes: 0, conflicts: [] }
    if (current.description === record.after.description)
      return { result: record.prior, changes: 1, conflicts: [] }
    return {
      result: current,
      changes: 0,
      conflicts: ['the description was changed by someone else since fir stamped it; left as it is'],
    }
  },
  async revert(ctx, record) {
    const out = await updateFunctionDescription(
      regionalAws(ctx, record.params.region),
      String(record.params.function),
      record.prior.description,
    )
    return { description: out.Description ?? record.prior.description }
  },
})
