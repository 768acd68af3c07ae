/** The journal action of a finished sweep (runSweep): its parameters and its result file's hash. */
export const SWEEP_ACTION = 'sweep'

/** The function's ARN from a version's (`…:function:f:3` → `…:function:f`). */
export function unqualifiedArn(arn: string): string {
  return arn.replace(/:(\$LATEST|\d+)$/, '')
}
