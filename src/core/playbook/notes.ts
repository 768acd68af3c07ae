import type { Journal, JournalEntry } from '../case/journal.js'

/** The kinds of free-text entries a case holds; the report's after-action section shows them. */
export type NoteKind = 'note' | 'decision' | 'inject' | 'answer'

/** `case.note` params (the report reads these names). */
export interface CaseNote {
  text: string
  kind: NoteKind
  /** The question an answer or decision replies to. */
  question?: string
  /** How long the responders took to answer (tabletop --interactive). */
  answerSeconds?: number
  /** The playbook run and step that wrote it, when a playbook did. */
  runId?: string
  step?: string
}

export const NOTE_ACTION = 'case.note'

/** Journals a note (`action: case.note`, outcome `recorded`). */
export function appendNote(journal: Journal, target: string, note: CaseNote): Promise<JournalEntry> {
  const params: Record<string, unknown> = { text: note.text, kind: note.kind }
  if (note.question !== undefined) params.question = note.question
  if (note.answerSeconds !== undefined) params.answerSeconds = note.answerSeconds
  if (note.runId !== undefined) params.runId = note.runId
  if (note.step !== undefined) params.step = note.step
  return journal.append({ action: NOTE_ACTION, target, params, outcome: 'recorded' })
}
