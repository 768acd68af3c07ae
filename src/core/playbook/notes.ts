import type { Journal, JournalEntry } from '../case/journal.js'
import { redactSecretsInText } from '../common/redact.js'

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

/**
 * Journals a note (`action: case.note`, outcome `recorded`). Its text and question are free text a
 * responder wrote (a drill's answer, a playbook's note): a secret inside them (`DB_PASSWORD=…`, a
 * secret access key) is registered with the redactor and journaled redacted, as in a free-text
 * input, so neither the journal nor a report of the case ever holds it in clear.
 */
export function appendNote(journal: Journal, target: string, note: CaseNote): Promise<JournalEntry> {
  const params: Record<string, unknown> = { text: redactSecretsInText(note.text), kind: note.kind }
  if (note.question !== undefined) params.question = redactSecretsInText(note.question)
  if (note.answerSeconds !== undefined) params.answerSeconds = note.answerSeconds
  if (note.runId !== undefined) params.runId = note.runId
  if (note.step !== undefined) params.step = note.step
  return journal.append({ action: NOTE_ACTION, target, params, outcome: 'recorded' })
}
