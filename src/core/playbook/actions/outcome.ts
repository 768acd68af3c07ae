import { AccessDeniedError, FirError } from '../../../errors.js'
import { stepById } from '../../steps/registry.js'
import { outcomeCounts } from '../../steps/render.js'
import type { StepResult } from '../../steps/step.js'
import type { ActionOutcome } from '../runner.js'

/**
 * One playbook outcome from the rows of the step runner (an apply's or an undo's): `conflict` when
 * an undo found a resource changed by someone since fir did and left it alone (the run goes on, as
 * `fir restore` exits 0 with a warning, but the step did not put everything back), else `applied`
 * when any change was made (or undone), `already-applied` when every change was already made (or
 * undone), `skipped` when there was nothing to do. When no row succeeded and some failed, the step
 * fails (denied when AWS refused every one). The summary names each row by its own outcome; when
 * some rows failed and others did not, `partial` counts them as `fir contain` does (`applied 1,
 * failed 1`): the outcome alone would read as if every change were made.
 */
export function outcomeOf(
  rows: StepResult[],
  what: string,
): Pick<ActionOutcome, 'outcome' | 'summary' | 'partial'> {
  const changed = rows.filter((r) => r.outcome === 'applied' || r.outcome === 'undone')
  const ok = rows.filter(
    (r) => changed.includes(r) || r.outcome === 'already-applied' || r.outcome === 'already-undone',
  )
  const bad = rows.filter((r) => r.outcome === 'failed' || r.outcome === 'denied')
  const conflicts = rows.filter((r) => r.outcome === 'conflict')
  if (rows.length === 0) return { outcome: 'skipped', summary: `${what}: nothing to do` }
  if (ok.length === 0 && bad.length > 0) {
    const message = `unable to ${what}: ${[...bad, ...conflicts].map((r) => `${r.step} on ${r.label}: ${r.error?.message ?? r.outcome}`).join('; ')}`
    if (bad.every((r) => r.outcome === 'denied')) {
      // The IAM actions AWS denied, as each row's error names them (its step's, where it names
      // none): the next step grants those, never a step id such as credentials.revoke-sessions.
      const denied = bad.flatMap((r) =>
        r.error?.calls?.length ? r.error.calls : (stepById(r.step)?.iamActions ?? []),
      )
      throw new AccessDeniedError(message, [...new Set(denied)])
    }
    throw new FirError(bad[0]?.error?.code ?? 'step-failed', message)
  }
  const parts = rows.map((r) => `${r.step.split('.').at(-1)} ${r.outcome}`)
  const outcome = conflicts.length > 0 ? 'conflict' : changed.length > 0 ? 'applied' : 'already-applied'
  return {
    outcome,
    summary: `${what}: ${parts.join(', ')}`,
    ...(bad.length > 0 ? { partial: outcomeCounts(rows) } : {}),
  }
}
