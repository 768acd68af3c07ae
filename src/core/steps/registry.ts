import type { JournalEntry } from '../case/journal.js'
import { eventSourcesStep } from '../containment/event-sources.js'
import { permissionsStep } from '../containment/permissions.js'
import { recycleStep } from '../containment/recycle.js'
import { sessionsStep } from '../containment/sessions.js'
import { throttleStep } from '../containment/throttle.js'
import { urlStep } from '../containment/url.js'
import { revokeSessionsCredStep } from '../credentials/revoke-sessions.js'
import { rotateKeyStep } from '../credentials/rotate-key.js'
import { rotateSecretStep } from '../credentials/rotate-secret.js'
import type { Step, UndoRecord } from './step.js'
import { pendingUndos } from './undo-records.js'

/** The containment steps, in the order contain runs them (DESIGN §4). */
export const CONTAINMENT_STEPS = [
  eventSourcesStep,
  throttleStep,
  urlStep,
  permissionsStep,
  sessionsStep,
  recycleStep,
] as const

/** Every step fir has, by id (an explicit list: no self-registration). */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds steps of different params and states
export const STEPS: readonly Step<any, any>[] = [
  ...CONTAINMENT_STEPS,
  revokeSessionsCredStep,
  rotateKeyStep,
  rotateSecretStep,
]

// biome-ignore lint/suspicious/noExplicitAny: see STEPS
export function stepById(id: string): Step<any, any> | undefined {
  return STEPS.find((s) => s.id === id)
}

/**
 * The changes a journal holds, not undone, of steps this fir does not have: a newer fir's (a
 * `started` entry that says what it set out to make, DESIGN §2, under an action no step here has).
 * This fir can neither undo them nor say whether they are in force: restore and the report name
 * them rather than pass over them.
 */
export function unknownChanges(entries: readonly JournalEntry[]): UndoRecord[] {
  const bySeq = new Map(entries.map((e) => [e.seq, e]))
  const saysWhatItMakes = (r: UndoRecord) => {
    const undo = bySeq.get(r.startedSeq)?.undo
    return undo !== null && typeof undo === 'object' && 'intendedAfter' in undo
  }
  return pendingUndos(entries).filter((r) => stepById(r.step) === undefined && saysWhatItMakes(r))
}
