import { AccessDeniedError, FirError } from '../../../errors.js'
import type { StepResult } from '../../steps/step.js'
import type { ActionOutcome } from '../runner.js'

/**
 * One playbook outcome from the rows of the step runner: `applied` when any change was made,
 * `already-applied` when every change was already made, `skipped` when there was nothing to do.
 * When no row succeeded and some failed, the step fails (denied when AWS refused every one).
 */
export function outcomeOf(rows: StepResult[], what: string): Pick<ActionOutcome, 'outcome' | 'summary'> {
  const ok = rows.filter((r) => r.outcome === 'applied' || r.outcome === 'already-applied')
  const bad = rows.filter((r) => r.outcome === 'failed' || r.outcome === 'denied')
  if (rows.length === 0) return { outcome: 'skipped', summary: `${what}: nothing to do` }
  if (ok.length === 0 && bad.length > 0) {
    const message = `unable to ${what}: ${bad.map((r) => `${r.step} on ${r.label}: ${r.error?.message ?? r.outcome}`).join('; ')}`
    if (bad.every((r) => r.outcome === 'denied')) {
      throw new AccessDeniedError(message, [...new Set(bad.map((r) => r.step))])
    }
    throw new FirError(bad[0]?.error?.code ?? 'step-failed', message)
  }
  const applied = rows.some((r) => r.outcome === 'applied')
  const parts = rows.map((r) => `${r.step.split('.').at(-1)} ${r.outcome}`)
  return { outcome: applied ? 'applied' : 'already-applied', summary: `${what}: ${parts.join(', ')}` }
}
