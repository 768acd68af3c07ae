import { escapeTerminal, formatTable } from '../common/text.js'
import type { StepResult } from './step.js'

function clip(text: string, max = 90): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
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
      r.outcome,
    ]),
  )
  const notes: string[] = []
  for (const r of rows) {
    for (const n of r.notes) notes.push(`  - ${escapeTerminal(r.step)}: ${escapeTerminal(n)}`)
    if (r.error) notes.push(`  - ${escapeTerminal(r.step)}: ${escapeTerminal(r.error.message)}`)
  }
  return notes.length ? `${table}\n\nNotes:\n${notes.join('\n')}` : table
}

/** Counts of outcomes: `applied 4, already-applied 2`. */
export function outcomeCounts(rows: StepResult[]): string {
  const counts = new Map<string, number>()
  for (const r of rows) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1)
  return [...counts.entries()].map(([k, v]) => `${k} ${v}`).join(', ')
}
