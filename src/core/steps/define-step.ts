import {
  AccessDeniedError,
  awsCallsOf,
  FirError,
  IntegrityError,
  messageOf,
  NotFoundError,
} from '../../errors.js'
import { asJournaledState, type JournalEntry, type Outcome } from '../case/journal.js'
import { canonicalJson } from '../common/canonical-json.js'
import { atInterrupt } from '../common/interrupt.js'
import { holdsRedaction, matchesRedacted } from '../common/redact.js'
import { escapeTerminal } from '../common/text.js'
import type { FirContext } from '../context.js'
import { announceActing } from '../identity.js'
import type { Plan, Step, StepError, StepResult, UndoPlan, UndoRecord } from './step.js'
import { pendingUndoOf, pendingUndos } from './undo-records.js'

/** What the target looks like now, as a step's `read` returns it. */
export interface ReadState<S> {
  target: string
  label: string
  state: S
  notes?: string[]
}

/** The outcome of comparing the current state with an undo record, part by part. */
export interface UndoComparison<S> {
  /** The state undo leaves: prior where fir's change is still in place, current where not. */
  result: S
  /** Parts to change back. */
  changes: number
  /** Parts changed by someone else since (neither fir's after state nor the prior): left alone. */
  conflicts: string[]
  /**
   * Parts someone else made since, beside fir's change (a public statement added by hand, a mapping
   * enabled, a function URL opened): kept in `result` as they are and named, but no conflict — the
   * undo still puts back all of fir's change. A later apply that changes them supersedes fir's
   * change as a conflict does, so its undo puts them back too. Also a part of fir's change that
   * someone deleted since (a mapping fir disabled, a URL it closed): there is nothing left to put
   * back, and nothing the responder could set back for a later restore (a deleted mapping or URL
   * does not come back with its id or address), so it is named, not a conflict.
   */
  madeSince?: string[]
}

/**
 * A step described as data plus small functions; {@link defineStep} turns it into a {@link Step}
 * with the journaling, idempotence, crash-safety and undo bookkeeping done once for all steps.
 */
export interface StepSpec<P, S> {
  id: string
  title: string
  /** See Step.iamActions: what `read`, `change` (and `targetGone` with `whenGone`) call. */
  iamActions: string[]
  /** See Step.undoIamActions: what `readForUndo` (else `read`), `targetGone` and `revert` call. */
  undoIamActions: string[]
  undoPolicy: Step['undoPolicy']
  /** Reads the target's current state. Read-only; throws a FirError when it cannot. */
  read(ctx: FirContext, params: P): Promise<ReadState<S>>
  /**
   * Reads the current state of what an undo record names, for planUndo and undo (default: `read`
   * with the record's params). For a step whose `read` decides what to act on from the world as it
   * is now (which key to rotate), so that undo acts on what the journal recorded.
   */
  readForUndo?(ctx: FirContext, record: UndoRecord<S>): Promise<ReadState<S>>
  /**
   * When reading the state to undo answered not-found: whether the target itself (the function,
   * the role, the user) was deleted since, by a read of it alone that AWS answers not-found — never
   * from the failed read's error, which may be another resource's. Returns what it is (`{kind:
   * 'function', name: 'orders-api'}`), or null when it is there or the read failed otherwise
   * (denied, throttled): the undo then fails as the read did. A target deleted since holds nothing
   * of fir's change to put back: the undo is done, named, and journaled `undone`.
   */
  targetGone?(ctx: FirContext, record: GoneQuery<S>): Promise<GoneTarget | null>
  /**
   * For a change whose target may have been deleted before it is made (a role the case's snapshot
   * recorded for a function, which someone deleted since): when reading the state answers
   * not-found and targetGone finds the target itself deleted, why there is nothing to change. The
   * plan and apply are then `skipped` with it as a note, journaled `skipped` with `params.gone`
   * and no state: no failure, no gap. Without it, or when it answers null for these params (a
   * target the responder named, which may be a typo), a not-found read fails the change as any
   * failed read does.
   */
  whenGone?(gone: GoneTarget, params: P): string | null
  /** The state apply will leave, computed once from the current state (journaled before the change). */
  intend(ctx: FirContext, params: P, current: S): S
  /** True when the change is already in place: apply then makes no mutating call. */
  isApplied(ctx: FirContext, params: P, current: S): boolean
  /**
   * Makes the change and returns the state after it (re-read or taken from the responses). A change
   * of several calls reports the state each call leaves through `progress` (a key made before the
   * call that deactivates the old one): should a later call fail and the state not be readable
   * back, the result and the journal still hold what was made.
   */
  change(ctx: FirContext, params: P, current: S, intended: S, progress: (state: S) => void): Promise<S>
  /**
   * What to do about a change AWS refused, as notes on the failed row (the error's message says
   * what failed): the way round a quota, with the commands that take it, say. `left` is the state
   * the change left (read back, else as its calls reported it; undefined when neither is known).
   * None by default.
   */
  failureNotes?(
    ctx: FirContext,
    params: P,
    current: S,
    intended: S,
    err: FirError,
    left: S | undefined,
  ): string[]
  /**
   * For a change a failure left made in part: what keeps running it again from finishing it (a
   * choice only the responder can make first: a key that holds the place the new key needs) and
   * what to do, to follow `running it again does not finish it while `; else null (default: a
   * re-run finishes it). The partly-made note then says that, not that a re-run finishes the
   * change. `left` is the state the change left.
   */
  rerunWaitsFor?(params: P, left: S): string | null
  /**
   * A state less what someone else made in it while the change ran (a key that appeared on the
   * user during a rotation), for judging whether a failed change was made in part: what they did
   * is no part of fir's change, nor something a re-run finishes. Default: the state as it is.
   */
  withoutOthers?(state: S): S
  /**
   * The notes of a change that applied: the plan's notes, said as intent, with what the change
   * did in their place (where a new key's secret went, once it is known). Default: as planned.
   */
  appliedNotes?(ctx: FirContext, params: P, after: S, notes: string[]): string[]
  /** One line for tables: `reserved concurrency: none`. AWS-sourced text is escaped by the renderer. */
  describe(state: S): string
  /**
   * When the state holds nothing this step acts on (no mappings, no URL), a short reason; null
   * otherwise. Lets human output say `nothing to change (<reason>)` rather than `already-applied`.
   */
  nothingToChange?(state: S): string | null
  /**
   * Where the case keeps a prior state's secret value that the journal holds redacted (a
   * description quoting an environment secret: the function's configuration in the snapshot),
   * for the notes that say restore cannot put it back. Default: the case's snapshot (evidence/).
   */
  secretSource?(params: P): string
  /** Values a playbook may reference. Never secrets. */
  outputs?(params: P, state: S): Record<string, unknown>
  /** Compares the current state with the record, part by part (pure). */
  compareForUndo?(current: S, record: UndoRecord<S>): UndoComparison<S>
  /**
   * For a step that can be undone (undoPolicy 'default' or 'named'), why this change of it cannot
   * be, from what fir itself did as the journal holds it (a key fir deleted: nothing brings it
   * back), else null. Restore then lists it as it lists a step whose undoPolicy is 'never':
   * skipped with the reason, on every run, and neither plans nor tries an undo (nor warns of
   * one). What someone else did since is no part of it: that is a conflict (compareForUndo).
   */
  irreversible?(ctx: FirContext, record: UndoRecord<S>): string | null
  /**
   * Restores the parts `comparison` says to change back; returns the state after. A revert of
   * several calls reports the state each call leaves through `progress`, as `change` does: should a
   * later call fail and the state not be readable back, the result and the journal still hold what
   * was put back.
   */
  revert?(
    ctx: FirContext,
    record: UndoRecord<S>,
    current: S,
    comparison: UndoComparison<S>,
    progress: (state: S) => void,
  ): Promise<S>
}

/** A target deleted since (see StepSpec.targetGone): `function orders-api`, `role orders-role`. */
export interface GoneTarget {
  kind: string
  name: string
  /** Its ARN, for the journal's target, when known (a change not made: no read gave it). */
  arn?: string
}

/**
 * Whether `read` (of a function, role or user) answers that its target was deleted: true for a
 * not-found; false when the target is there or the read failed otherwise (denied, throttled: not
 * known to be gone). What is not a FirError is a bug, thrown. For targetGone.
 */
export async function isDeleted(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read()
    return false
  } catch (err) {
    if (err instanceof NotFoundError) return true
    if (err instanceof FirError) return false
    throw err
  }
}

/**
 * What targetGone asks about: an undo record, or the params of a change about to be made (no
 * prior then).
 */
export interface GoneQuery<S> {
  params: Record<string, unknown>
  prior?: S
}

/** What a target deleted since is, in the before → after of an undo's row. */
const GONE = 'deleted'

/** The `started` entries (by seq) whose change this process is making, by journal. */
const running = new WeakMap<object, Set<number>>()

/**
 * Whether a `started` entry is of a change this process is making now (its outcome not journaled
 * yet): a step's read while its change runs (the state read back after a call failed) must not
 * take its own run for one an earlier run left cut off.
 */
export function isRunning(ctx: FirContext, entry: JournalEntry): boolean {
  return running.get(ctx.case.journal)?.has(entry.seq) === true
}

/** Marks a `started` entry as running in this process until the returned function is called. */
function markRunning(ctx: FirContext, entry: JournalEntry): () => void {
  let set = running.get(ctx.case.journal)
  if (!set) running.set(ctx.case.journal, (set = new Set()))
  set.add(entry.seq)
  return () => set.delete(entry.seq)
}

/** Test-only hook: SIGKILL right after a step's AWS change, before its outcome is journaled. */
export const CRASH_HOOK_ENV = 'FIR_TEST_CRASH_AFTER'

/**
 * When FIR_TEST_CRASH_AFTER (comma-separated) names this point and fir runs against the emulator
 * (tests, tabletop), the process kills itself with SIGKILL — the exact moment a real crash would
 * leave a `started` entry without an outcome. Points: `<step id>` (after the step's change, before
 * its outcome is journaled), `<step id>.undo`, `containment.permissions#<n>` (after the n-th
 * statement removed), and `credentials.rotate-key#created` (CreateAccessKey returned, the new key
 * not yet journaled). Test-only: ignored against real AWS.
 */
export function crashHook(ctx: FirContext, stepId: string): void {
  if (!ctx.aws.emulatorOnly) return
  const names = (process.env[CRASH_HOOK_ENV] ?? '').split(',').map((s) => s.trim())
  if (names.includes(stepId)) process.kill(process.pid, 'SIGKILL')
}

/**
 * What an interruption says of a change cut off between its `started` entry and its outcome: AWS
 * may or may not have made it; `fir case show` lists it, and the same command run again settles it
 * (see interrupted.ts).
 */
function cutOffText(step: string, label: string, undo: boolean): string {
  return `${undo ? 'the undo of ' : ''}${step} on ${escapeTerminal(label)} was cut off mid-change: no outcome is journaled and it may have been made (fir case show lists it; the same command run again finishes it)`
}

/** 'denied' for AWS denials, else 'failed'. */
export function failureOutcome(err: unknown): 'denied' | 'failed' {
  return err instanceof AccessDeniedError ? 'denied' : 'failed'
}

/**
 * A step's gap `call` (DESIGN §1): the AWS calls that failed (`lambda:PutFunctionConcurrency`), or
 * the step id (a playbook step's action) when none is known (a bug).
 */
export function gapCall(stepId: string, error: Pick<StepError, 'calls'> | undefined): string {
  return error?.calls?.length ? error.calls.join(', ') : stepId
}

/**
 * The target a step's params name, for a change whose read failed (so AWS never said which ARN it
 * is): the function's ARN for containment, else what the params name; '' when they name none.
 */
export function paramsTarget(params: Record<string, unknown>): string {
  return String(params.target ?? params.functionArn ?? params.function ?? '')
}

/** A failure as a row and the journal keep it: with the AWS calls that failed, when known. */
export function errorInfo(err: unknown): StepError {
  if (!(err instanceof FirError)) return { code: 'bug', message: messageOf(err) }
  const calls = awsCallsOf(err)
  return { code: err.code, message: err.message, ...(calls.length ? { calls } : {}) }
}

function requestIdsSince(ctx: FirContext, mark: number): string[] {
  return ctx.aws.requestLog
    .slice(mark)
    .map((r) => r.requestId)
    .filter((id): id is string => typeof id === 'string' && id.length > 0)
}

/**
 * Builds a {@link Step} from a {@link StepSpec}. Apply: read → already applied? journal
 * `already-applied` → else journal `started` (prior, intended after) → change → journal
 * `applied` (after, request ids), or `failed`/`denied` with the state re-read after the failure.
 * Failures of AWS calls are returned as results (and added to the gaps), never thrown; bugs are
 * journaled and rethrown.
 */
export function defineStep<P extends Record<string, unknown>, S>(spec: StepSpec<P, S>): Step<P, S> {
  const mutates = true

  async function journal(
    ctx: FirContext,
    entry: {
      target: string
      params: Record<string, unknown>
      outcome: Outcome
      prior?: unknown
      after?: unknown
      undo?: unknown
      requestIds?: string[]
      error?: StepError
      notes?: string[]
    },
  ) {
    // prior, after and undo are the step's states: what it read from AWS, intends or made there.
    return ctx.case.journal.append({ action: spec.id, ...entry }, { states: true })
  }

  function baseResult(read: ReadState<S> | undefined, params: P): StepResult<S> {
    return {
      step: spec.id,
      title: spec.title,
      target: read?.target ?? paramsTarget(params),
      label: read?.label ?? String(params.label ?? params.function ?? params.role ?? params.user ?? ''),
      outcome: 'failed',
      before: read ? read.state : null,
      after: null,
      beforeText: read ? spec.describe(read.state) : '?',
      afterText: '?',
      requestIds: [],
      outputs: {},
      undo: null,
      notes: read?.notes ?? [],
    }
  }

  /**
   * Why there is nothing to change, unless fir itself made the change earlier in this case (a
   * change not undone since): then it is already in the contained state, not empty.
   */
  function nothingReason(ctx: FirContext, target: string, state: S): { nothingToChange?: string } {
    const reason = spec.nothingToChange?.(state)
    if (!reason) return {}
    const steps = new Set([spec.id])
    if (pendingUndos(ctx.case.journal.all(), steps).some((r) => r.target === target)) return {}
    return { nothingToChange: reason }
  }

  /**
   * fir's earlier change to the target, not yet undone, when someone else changed what it made
   * since: the step's comparison of the state read now with it finds a conflict, or something made
   * beside it (a public statement added, a mapping enabled, a URL opened by hand, which the change
   * about to be made removes, disables or closes). The change about to be made starts from that
   * person's state, and its undo is to put that back — with the parts the earlier change still
   * holds taken back to its prior (the comparison's result) — not the earlier prior, which would
   * overwrite what they set. Undefined when there is no earlier change
   * or the state is fir's own (the prior, fir's after state, or a run's half-made state).
   */
  function supersededChange(
    ctx: FirContext,
    target: string,
    state: S,
  ): { record: UndoRecord<S>; prior: S; note: string } | undefined {
    if (!spec.compareForUndo) return undefined
    const record = pendingUndoOf(ctx.case.journal.all(), spec.id, target) as UndoRecord<S> | undefined
    if (!record || record.prior === undefined || record.after === undefined) return undefined
    const cmp = compareAsFir(state, record)
    if (cmp.conflicts.length === 0 && (cmp.madeSince ?? []).length === 0) return undefined
    const prior = cmp.result
    const instead =
      spec.describe(prior) === spec.describe(record.prior) ? '' : `, not ${spec.describe(record.prior)}`
    return {
      record,
      prior,
      note: `changed by someone else since this case's change (journal #${record.startedSeq}): ${spec.describe(record.after)} as fir left it, ${spec.describe(state)} now; restore is to put back ${spec.describe(prior)}${instead}`,
    }
  }

  /**
   * The step's comparison for undo, taking a state one of fir's own entries of the change journaled
   * (a killed run's, say: see UndoRecord.firStates) as fir's after state, not as someone else's.
   */
  function compareAsFir(current: S, record: UndoRecord<S>): UndoComparison<S> {
    const cmp = readable(record, () => spec.compareForUndo!(current, record))
    if (cmp.conflicts.length === 0 || !record.firStates?.length) return cmp
    const now = canonicalJson(current)
    const own = record.firStates.find((s) => canonicalJson(s) === now)
    return own === undefined
      ? cmp
      : readable(record, () => spec.compareForUndo!(current, { ...record, after: own }))
  }

  /**
   * A comparison of journaled states that cannot be made (a state of another shape: a journal
   * another fir version wrote) fails this undo alone, naming its entry (exit 3), instead of
   * stopping every other undo of the restore as a bug.
   */
  function readable<T>(record: UndoRecord<S>, compare: () => T): T {
    try {
      return compare()
    } catch (err) {
      if (err instanceof FirError) throw err
      throw new IntegrityError(
        `unable to undo ${spec.id} on ${record.target}: journal entry #${record.startedSeq} holds a state this fir cannot read (${messageOf(err)}); it was written by another fir version, or changed`,
        {
          actions: [
            'the other undos go on; this change is left as it is',
            `put it back by hand from the prior state of journal entry #${record.startedSeq} (fir case show lists the change), or restore with the fir version that made it`,
          ],
        },
      )
    }
  }

  /**
   * The step's comparison for an undo, less one thing no undo may do: write a redaction marker
   * into AWS. The journal keeps secret values redacted, so a prior that quoted one (a description
   * holding an environment secret) comes back from it as `‹redacted …›`; putting that back would
   * replace the function's value with the marker. Such an undo cannot be made automatically: it is
   * left as it is (`byHand` says why and where the value is), not a conflict — nobody changed
   * anything. A state that is the prior as the journal keeps it (someone put the value back by
   * hand: each marker stands for a value of its length and hash) is the prior: nothing to undo.
   */
  function compareUndo(current: S, record: UndoRecord<S>): UndoComparison<S> & { byHand?: string } {
    if (holdsRedaction(record.prior) && matchesRedacted(current, record.prior))
      return { result: current, changes: 0, conflicts: [] }
    const cmp = compareAsFir(current, record)
    if (cmp.changes === 0 || !holdsRedaction(cmp.result) || holdsRedaction(current)) return cmp
    return {
      ...cmp,
      result: current,
      changes: 0,
      byHand: `cannot be undone automatically (the value to put back held a secret, which the journal keeps redacted): put ${spec.describe(cmp.result)} back by hand, the value taken from ${secretSource(record.params as P)}; restore then finds it put back`,
    }
  }

  const secretSource = (params: P) => spec.secretSource?.(params) ?? "the case's snapshot (evidence/)"

  /**
   * Before a change: a note when its undo will not be able to put the prior back because the part
   * it would put back holds a secret value the journal keeps redacted (see compareUndo). Said in
   * the plan, before confirmation, and on the row journaled.
   */
  function secretPriorNote(params: P, prior: S, intended: S): string | null {
    if (!spec.compareForUndo || holdsRedaction(intended)) return null
    const kept = asJournaledState(prior)
    if (!holdsRedaction(kept)) return null
    const cmp = spec.compareForUndo(intended, {
      step: spec.id,
      target: '',
      params,
      prior: kept,
      after: intended,
      startedSeq: 0,
      startedAt: '',
    })
    if (cmp.changes === 0 || !holdsRedaction(cmp.result)) return null
    return `restore cannot put ${spec.describe(kept)} back automatically: it holds a secret value, which the journal keeps redacted; to put it back by hand, take the value from ${secretSource(params)}`
  }

  /**
   * When reading the state to undo failed with a not-found and the step finds its target itself
   * deleted since (targetGone): the note that says so. Null otherwise: the read's failure stands.
   */
  async function goneNote(
    ctx: FirContext,
    record: UndoRecord<S>,
    err: unknown,
  ): Promise<{ label: string; note: string } | null> {
    if (!(err instanceof NotFoundError) || !spec.targetGone) return null
    const gone = await spec.targetGone(ctx, record)
    if (gone === null) return null
    return {
      label: gone.name,
      note: `${gone.kind} ${gone.name} was deleted since fir changed it; nothing to put back`,
    }
  }

  /**
   * Before a change: when reading the state failed with a not-found, the step says a target deleted
   * before the change leaves nothing to change (whenGone), and targetGone finds it deleted: the
   * target and why. Null otherwise: the read's failure stands.
   */
  async function goneBefore(
    ctx: FirContext,
    params: P,
    err: unknown,
  ): Promise<{ target: string; label: string; note: string } | null> {
    if (!(err instanceof NotFoundError) || !spec.targetGone || !spec.whenGone) return null
    const gone = await spec.targetGone(ctx, { params })
    const note = gone === null ? null : spec.whenGone(gone, params)
    if (gone === null || note === null) return null
    return { target: gone.arn ?? gone.name, label: gone.name, note }
  }

  /**
   * What a change or undo that failed part way left: the state read back (`readBack`), else the
   * last state it reported reaching (`progressed`), set on the result with the request ids since
   * `mark`. `read` is undefined when the state could not be read back.
   */
  async function stateLeft(
    ctx: FirContext,
    result: StepResult<S>,
    mark: number,
    readBack: () => Promise<S>,
    progressed: S | undefined,
  ): Promise<{ left: S | undefined; read: S | undefined }> {
    let read: S | undefined
    try {
      read = await readBack()
    } catch {
      read = undefined
    }
    const left = read ?? progressed
    result.requestIds = requestIdsSince(ctx, mark)
    result.after = left ?? null
    result.afterText = left === undefined ? '?' : spec.describe(left)
    return { left, read }
  }

  /** Journals a failed change's or undo's outcome (after stateLeft), with what it left. */
  async function journalFailure(
    ctx: FirContext,
    target: string,
    params: Record<string, unknown>,
    result: StepResult<S>,
    left: S | undefined,
  ): Promise<void> {
    await journal(ctx, {
      target,
      params,
      outcome: result.outcome as Outcome,
      ...(left !== undefined ? { after: left } : {}),
      requestIds: result.requestIds,
      notes: result.notes,
      error: result.error,
    })
  }

  function fail(ctx: FirContext, result: StepResult<S>, err: unknown, what: string): StepResult<S> {
    result.outcome = failureOutcome(err)
    result.error = errorInfo(err)
    ctx.gaps.add({
      what: `${spec.id} on ${result.label || result.target}: ${what}`,
      call: gapCall(spec.id, result.error),
      reason: result.error.message,
    })
    return result
  }

  /**
   * After a failed change: when the state fir left differs from the prior, part (or all) of the
   * change was made — say so, and that running it again finishes it from there (the re-run's read
   * starts from that state; undo keeps the journal's earliest prior), or, when the step says a
   * re-run waits for something (rerunWaitsFor), what it waits for. Null when nothing changed.
   */
  function partlyMadeNote(ctx: FirContext, params: P, prior: S, left: S, readBack: boolean): string | null {
    const own = (state: S) => spec.describe(spec.withoutOthers?.(state) ?? state)
    if (own(left) === own(prior)) return null
    const how = readBack ? '' : ' (as its calls left it: the state could not be read back)'
    if (spec.isApplied(ctx, params, left))
      return `the change was made${how}, but a call of it failed: run it again to confirm it`
    const waits = spec.rerunWaitsFor?.(params, left) ?? null
    return waits === null
      ? `the change was partly made${how}: run it again to finish it (a re-run continues from the state shown)`
      : `the change was partly made${how}: running it again does not finish it while ${waits}`
  }

  const readForUndo = (ctx: FirContext, record: UndoRecord<S>): Promise<ReadState<S>> => {
    assertNamed(record)
    return spec.readForUndo ? spec.readForUndo(ctx, record) : spec.read(ctx, record.params as P)
  }

  /**
   * Refuses an undo whose record names its target only in part: a marker in the params (the
   * function, its ARN, the role), as a fir that did not protect public identifiers journaled them
   * when a secret stood inside one. A lookup by such a name finds nothing, which must never read
   * as "deleted since": the undo fails, saying so, and the change stays in force in the journal.
   */
  function assertNamed(record: UndoRecord<S>): void {
    if (!holdsRedaction(record.params)) return
    throw new IntegrityError(
      `unable to undo ${spec.id} on ${record.target}: journal entry #${record.startedSeq} keeps the name of what it changed redacted (a secret value stood in it), so fir cannot find it, nor tell whether it was deleted since`,
      {
        actions: [
          'the other undos go on; this change is left as it is',
          `put it back by hand from the prior state of journal entry #${record.startedSeq}, the names taken from the case's snapshot (evidence/), which holds them verbatim`,
        ],
      },
    )
  }

  const step: Step<P, S> = {
    id: spec.id,
    title: spec.title,
    mutates,
    iamActions: spec.iamActions,
    undoIamActions: spec.undoIamActions,
    undoPolicy: spec.undoPolicy,

    cannotUndo(ctx, record) {
      if (spec.undoPolicy === 'never' || !spec.compareForUndo || !spec.revert)
        return `${spec.id} cannot be undone`
      const why = spec.irreversible?.(ctx, record) ?? null
      return why === null ? null : `cannot be undone: ${why}`
    },

    secretSource,

    async plan(ctx, params): Promise<Plan<S>> {
      let read: ReadState<S>
      try {
        read = await spec.read(ctx, params)
      } catch (err) {
        const gone = await goneBefore(ctx, params, err)
        if (gone === null) throw err
        return {
          step: spec.id,
          title: spec.title,
          target: gone.target,
          label: gone.label,
          before: null,
          after: null,
          alreadyApplied: false,
          gone: gone.note,
          beforeText: GONE,
          afterText: GONE,
          notes: [gone.note],
        }
      }
      const applied = spec.isApplied(ctx, params, read.state)
      const after = applied ? read.state : spec.intend(ctx, params, read.state)
      const superseded = applied ? undefined : supersededChange(ctx, read.target, read.state)
      const secret = applied ? null : secretPriorNote(params, superseded?.prior ?? read.state, after)
      return {
        step: spec.id,
        title: spec.title,
        target: read.target,
        label: read.label,
        before: read.state,
        after,
        alreadyApplied: applied,
        ...(applied ? nothingReason(ctx, read.target, read.state) : {}),
        beforeText: spec.describe(read.state),
        afterText: spec.describe(after),
        notes: [...(read.notes ?? []), ...(superseded ? [superseded.note] : []), ...(secret ? [secret] : [])],
      }
    },

    async apply(ctx, params): Promise<StepResult<S>> {
      let read: ReadState<S>
      try {
        read = await spec.read(ctx, params)
      } catch (err) {
        if (!(err instanceof FirError)) throw err
        const gone = await goneBefore(ctx, params, err)
        if (gone !== null) {
          // Nothing to change, nor anything failed: journaled so the case (and its report) knows.
          await journal(ctx, {
            target: gone.target,
            params: { ...params, gone: true },
            outcome: 'skipped',
            notes: [gone.note],
          })
          return {
            ...baseResult(undefined, params),
            target: gone.target,
            label: gone.label,
            outcome: 'skipped',
            beforeText: GONE,
            afterText: GONE,
            notes: [gone.note],
          }
        }
        const result = fail(ctx, baseResult(undefined, params), err, 'could not read the current state')
        await journal(ctx, {
          target: result.target,
          params,
          outcome: result.outcome as Outcome,
          error: result.error,
        })
        return result
      }
      const result = baseResult(read, params)
      if (spec.isApplied(ctx, params, read.state)) {
        await journal(ctx, {
          target: read.target,
          params,
          outcome: 'already-applied',
          prior: read.state,
          after: read.state,
          notes: result.notes,
        })
        return {
          ...result,
          outcome: 'already-applied',
          after: read.state,
          afterText: spec.describe(read.state),
          outputs: spec.outputs?.(params, read.state) ?? {},
          ...nothingReason(ctx, read.target, read.state),
        }
      }
      const intended = spec.intend(ctx, params, read.state)
      const superseded = supersededChange(ctx, read.target, read.state)
      if (superseded) result.notes = [...result.notes, superseded.note]
      const secret = secretPriorNote(params, superseded?.prior ?? read.state, intended)
      if (secret) result.notes = [...result.notes, secret]
      await announceActing(ctx)
      const started = await journal(ctx, {
        target: read.target,
        params,
        outcome: 'started',
        prior: read.state,
        undo: {
          intendedAfter: intended,
          ...(superseded ? { supersedes: superseded.record.startedSeq, prior: superseded.prior } : {}),
        },
      })
      // Until its outcome is journaled, an interruption says the change was cut off, and what settles it.
      const cutOff = atInterrupt(cutOffText(spec.id, result.label, false), () => {})
      const done = markRunning(ctx, started)
      try {
        const undo: UndoRecord<S> = {
          step: spec.id,
          target: read.target,
          params,
          prior: superseded ? superseded.prior : read.state,
          after: intended,
          startedSeq: started.seq,
          startedAt: started.at,
        }
        const mark = ctx.aws.requestLog.length
        let after: S
        let progressed: S | undefined
        try {
          after = await spec.change(ctx, params, read.state, intended, (s) => {
            progressed = s
          })
        } catch (err) {
          if (!(err instanceof FirError)) {
            await journal(ctx, {
              target: read.target,
              params,
              outcome: 'failed',
              error: errorInfo(err),
              requestIds: requestIdsSince(ctx, mark),
            })
            throw err
          }
          fail(ctx, result, err, 'the change did not complete')
          const { left, read: now } = await stateLeft(
            ctx,
            result,
            mark,
            async () => (await spec.read(ctx, params)).state,
            progressed,
          )
          result.notes = [
            ...result.notes,
            ...(spec.failureNotes?.(ctx, params, read.state, intended, err, left) ?? []),
          ]
          result.undo = left === undefined ? undo : { ...undo, after: left }
          if (left !== undefined) {
            result.outputs = spec.outputs?.(params, left) ?? {}
            const note = partlyMadeNote(ctx, params, read.state, left, now !== undefined)
            if (note) {
              result.partlyMade = true
              result.notes = [...result.notes, note]
            }
          }
          await journalFailure(ctx, read.target, params, result, left)
          return result
        }
        crashHook(ctx, spec.id)
        const requestIds = requestIdsSince(ctx, mark)
        const notes = spec.appliedNotes?.(ctx, params, after, result.notes) ?? result.notes
        await journal(ctx, {
          target: read.target,
          params,
          outcome: 'applied',
          after,
          requestIds,
          notes,
        })
        return {
          ...result,
          notes,
          outcome: 'applied',
          after,
          afterText: spec.describe(after),
          requestIds,
          outputs: spec.outputs?.(params, after) ?? {},
          undo: { ...undo, after },
        }
      } finally {
        done()
        cutOff()
      }
    },

    async planUndo(ctx, record): Promise<UndoPlan<S>> {
      if (!spec.compareForUndo) throw new Error(`${spec.id} cannot be undone`)
      let current: S
      try {
        current = (await readForUndo(ctx, record)).state
      } catch (err) {
        const gone = await goneNote(ctx, record, err)
        if (gone === null) throw err
        return {
          status: 'already-undone',
          current: null,
          result: null,
          currentText: GONE,
          resultText: GONE,
          conflicts: [],
          notes: [gone.note],
        }
      }
      const cmp = compareUndo(current, record)
      return {
        status: cmp.byHand
          ? 'skipped'
          : cmp.changes > 0
            ? 'would-undo'
            : cmp.conflicts.length > 0
              ? 'conflict'
              : 'already-undone',
        current,
        result: cmp.result,
        currentText: spec.describe(current),
        resultText: spec.describe(cmp.result),
        conflicts: cmp.conflicts,
        notes: [...(cmp.byHand ? [cmp.byHand] : []), ...(cmp.madeSince ?? [])],
      }
    },

    async undo(ctx, record): Promise<StepResult<S>> {
      const params = { ...record.params, undoOf: record.startedSeq }
      const result: StepResult<S> = {
        ...baseResult(undefined, record.params as P),
        target: record.target,
        undo: record,
      }
      const impossible = step.cannotUndo(ctx, record)
      if (impossible !== null || !spec.compareForUndo || !spec.revert)
        return { ...result, outcome: 'skipped', notes: [impossible ?? `${spec.id} cannot be undone`] }
      let read: ReadState<S>
      try {
        read = await readForUndo(ctx, record)
      } catch (err) {
        if (!(err instanceof FirError)) throw err
        const gone = await goneNote(ctx, record, err)
        if (gone !== null) {
          // Nothing of fir's change is left to put back: the change is closed (journaled undone).
          await journal(ctx, {
            target: record.target,
            params: { ...params, noChange: true, gone: true },
            outcome: 'undone',
            notes: [gone.note],
          })
          return {
            ...result,
            label: gone.label,
            outcome: 'already-undone',
            beforeText: GONE,
            afterText: GONE,
            notes: [gone.note],
          }
        }
        fail(ctx, result, err, 'could not read the current state to undo')
        await journal(ctx, {
          target: record.target,
          params,
          outcome: result.outcome as Outcome,
          error: result.error,
        })
        return result
      }
      result.label = read.label
      result.before = read.state
      result.beforeText = spec.describe(read.state)
      const cmp = compareUndo(read.state, record)
      result.notes = [...cmp.conflicts.map((c) => `conflict: ${c}`), ...(cmp.madeSince ?? [])]
      if (cmp.byHand) {
        // Left as it is, as a change no undo can take back is (cannotUndo): nothing to journal.
        return {
          ...result,
          outcome: 'skipped',
          after: read.state,
          afterText: spec.describe(read.state),
          notes: [cmp.byHand, ...result.notes],
        }
      }
      if (cmp.changes === 0) {
        const outcome = cmp.conflicts.length > 0 ? 'conflict' : 'undone'
        await journal(ctx, {
          target: record.target,
          params: { ...params, noChange: true },
          outcome,
          prior: read.state,
          after: read.state,
          notes: result.notes,
        })
        return {
          ...result,
          outcome: outcome === 'undone' ? 'already-undone' : 'conflict',
          after: read.state,
          afterText: spec.describe(read.state),
        }
      }
      await announceActing(ctx)
      const started = await journal(ctx, {
        target: record.target,
        params,
        outcome: 'started',
        prior: read.state,
        undo: { intendedAfter: cmp.result },
      })
      const cutOff = atInterrupt(cutOffText(spec.id, result.label, true), () => {})
      const done = markRunning(ctx, started)
      try {
        const mark = ctx.aws.requestLog.length
        let after: S
        let progressed: S | undefined
        try {
          after = await spec.revert(ctx, record, read.state, cmp, (s) => {
            progressed = s
          })
        } catch (err) {
          if (!(err instanceof FirError)) {
            await journal(ctx, { target: record.target, params, outcome: 'failed', error: errorInfo(err) })
            throw err
          }
          fail(ctx, result, err, 'the undo did not complete')
          const { left } = await stateLeft(
            ctx,
            result,
            mark,
            async () => (await readForUndo(ctx, record)).state,
            progressed,
          )
          await journalFailure(ctx, record.target, params, result, left)
          return result
        }
        crashHook(ctx, `${spec.id}.undo`)
        const requestIds = requestIdsSince(ctx, mark)
        const outcome = cmp.conflicts.length > 0 ? 'conflict' : 'undone'
        await journal(ctx, { target: record.target, params, outcome, after, requestIds, notes: result.notes })
        return { ...result, outcome, after, afterText: spec.describe(after), requestIds }
      } finally {
        done()
        cutOff()
      }
    },
  }
  return step
}
