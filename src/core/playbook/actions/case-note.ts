import { appendNote, NOTE_ACTION, type NoteKind } from '../notes.js'
import type { ActionImpl } from '../runner.js'

/**
 * `case.note`: journals a free-text entry (a decision, an inject, an answer). Changes nothing in
 * AWS and needs no IAM permission. Idempotent within a run: a resumed run does not write the same
 * step's note twice.
 */
export const caseNoteAction: ActionImpl = async (run, params) => {
  const journal = run.ctx.case.journal
  const existing = journal
    .all()
    .find((e) => e.action === NOTE_ACTION && e.params.runId === run.runId && e.params.step === run.stepId)
  if (existing)
    return {
      outcome: 'already-applied',
      outputs: {},
      summary: `note already journaled (seq ${existing.seq})`,
    }
  const entry = await appendNote(journal, run.ctx.case.meta.id, {
    text: String(params.text),
    kind: (params.kind as NoteKind | undefined) ?? 'note',
    ...(params.question !== undefined ? { question: String(params.question) } : {}),
    runId: run.runId,
    step: run.stepId,
  })
  return { outcome: 'applied', outputs: {}, summary: `note journaled (seq ${entry.seq})` }
}
