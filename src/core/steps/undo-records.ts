import type { JournalEntry } from '../case/journal.js'
import type { UndoRecord } from './step.js'

/**
 * Steps that make one change under two ids: contain's `sessions` and `fir creds revoke-sessions`
 * put the same `fir-revoke-<case id>` policy on a role. Their entries on one target pair as one
 * change — one prior (the earliest `started` of either), one undo — whichever command made it,
 * and the other command's later entries join its `journaledFor`.
 */
export const SAME_CHANGE: Readonly<Record<string, string>> = {
  'credentials.revoke-sessions': 'containment.sessions',
}

function key(e: JournalEntry): string {
  return `${SAME_CHANGE[e.action] ?? e.action}\u0000${e.target}`
}

function isUndoEntry(e: JournalEntry): boolean {
  return e.params !== null && typeof e.params === 'object' && 'undoOf' in e.params
}

/**
 * The changes in a journal that are not yet undone, newest first, one per (step, target) — steps
 * of {@link SAME_CHANGE} counting as one step; the record names the step of its first entry.
 *
 * For each pair, the EARLIEST `started` entry after the last `undone` one is the truth about the
 * prior state: a run killed after its change but before its outcome is followed, on re-run, by a
 * second `started` whose "prior" is fir's own half-made state. fir's after state is the last
 * outcome's `after` (applied, failed or denied with a re-read state), else the `started` entry's
 * intended after. Undo entries carry `params.undoOf`; an `undone` one closes the pair.
 */
export function pendingUndos(entries: readonly JournalEntry[], steps?: ReadonlySet<string>): UndoRecord[] {
  const open = new Map<string, UndoRecord>()
  for (const e of entries) {
    if (steps && !steps.has(e.action)) continue
    const k = key(e)
    if (isUndoEntry(e)) {
      if (e.outcome === 'undone') open.delete(k)
      continue
    }
    const current = open.get(k)
    const { undoOf: _ignored, ...params } = (e.params ?? {}) as Record<string, unknown>
    if (e.outcome === 'started') {
      if (current) {
        current.journaledFor!.push(params)
        continue
      }
      const intended = (e.undo as { intendedAfter?: unknown } | undefined)?.intendedAfter
      open.set(k, {
        step: e.action,
        target: e.target,
        params,
        prior: e.prior,
        after: intended,
        journaledFor: [params],
        startedSeq: e.seq,
        startedAt: e.at,
      })
      continue
    }
    if (!current) continue
    current.journaledFor!.push(params)
    if (
      (e.outcome === 'applied' || e.outcome === 'failed' || e.outcome === 'denied') &&
      e.after !== undefined
    ) {
      current.after = e.after
    }
    if (e.outcome === 'applied' && e.undo && typeof e.undo === 'object') {
      current.data = e.undo as Record<string, unknown>
    }
  }
  return [...open.values()].sort((a, b) => b.startedSeq - a.startedSeq)
}
