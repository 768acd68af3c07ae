import { scrubAndCut } from '../common/redact.js'
import { escapeTerminal, formatTable } from '../common/text.js'
import type { StepResult } from './step.js'

function clip(text: string, max = 90): string {
  return scrubAndCut(text, max)
}

/**
 * The plan or result table: action, target, before → after, outcome. Every cell is escaped (labels
 * and states carry AWS-sourced text: names, descriptions, statement ids), and the notes follow.
 */
export function stepTable(rows: StepResult[]): string {
  if (rows.length === 0) return '  (nothing to do)'
  const table = formatTable(
    ['action', 'target', 'before → after', 'outcome'],
    rows.map((r) => [
      escapeTerminal(r.step),
      escapeTerminal(clip(r.label, 48)),
      `${escapeTerminal(clip(r.beforeText))} → ${escapeTerminal(clip(r.afterText))}`,
      outcomeText(r),
    ]),
  )
  const notes: string[] = []
  for (const r of rows) {
    for (const n of r.notes) notes.push(`  - ${escapeTerminal(r.step)}: ${escapeTerminal(n)}`)
    if (r.error) notes.push(`  - ${escapeTerminal(r.step)}: ${escapeTerminal(r.error.message)}`)
  }
  return notes.length ? `${table}\n\nNotes:\n${notes.join('\n')}` : table
}

/**
 * A row's outcome for people: `already-applied` when the target was already in the intended state,
 * `nothing to change (<why>)` when there was nothing to act on (the journal says already-applied for both).
 */
export function outcomeText(r: StepResult): string {
  return r.nothingToChange && r.outcome === 'already-applied'
    ? `nothing to change (${escapeTerminal(r.nothingToChange)})`
    : r.outcome
}

/** Counts of outcomes: `applied 4, already-applied 1, nothing to change 2`. */
export function outcomeCounts(rows: StepResult[]): string {
  const counts = new Map<string, number>()
  for (const r of rows) {
    const k = r.nothingToChange && r.outcome === 'already-applied' ? 'nothing to change' : r.outcome
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  return [...counts.entries()].map(([k, v]) => `${k} ${v}`).join(', ')
}
