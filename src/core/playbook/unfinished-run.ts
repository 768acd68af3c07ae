import type { JournalEntry } from '../case/journal.js'

/**
 * Codes of the errors whose fix may be in what the run was given: its inputs, region or account.
 * A resume keeps those, so after such a failure the playbook is run again, not resumed.
 */
export const FIXED_BY_A_NEW_RUN: ReadonlySet<string> = new Set(['usage', 'not-found', 'playbook-invalid'])

/** The journal action of a playbook run: `started`, then `applied` or `failed`. */
export const RUN_ACTION = 'playbook.run'

/**
 * The run `fir playbook resume` continues: the case's latest `playbook.run`, when it has no final
 * `applied`. An older unfinished run is not picked up behind a later one (a run that failed on a
 * mistyped function, then run again right): `superseded` names it instead. The report reads it
 * too, to say which unfinished run resume continues.
 */
export function findUnfinishedRun(entries: readonly JournalEntry[]): {
  run?: JournalEntry
  superseded?: JournalEntry
  /** The latest run, when it finished. */
  finished?: JournalEntry
} {
  const finished = new Set(
    entries
      .filter((e) => e.action === RUN_ACTION && e.outcome === 'applied')
      .map((e) => String(e.params.runId)),
  )
  const started = entries.filter((e) => e.action === RUN_ACTION && e.outcome === 'started')
  const latest = started.at(-1)
  if (!latest) return {}
  if (!finished.has(String(latest.params.runId))) return { run: latest }
  const superseded = started.findLast((e) => !finished.has(String(e.params.runId)))
  return superseded ? { superseded, finished: latest } : { finished: latest }
}
