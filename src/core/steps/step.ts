/**
 * The step model (STYLE.md "A step"): every change fir makes to AWS — containment, credentials,
 * and the playbook actions built on them — is a {@link Step}, run by the one runner in
 * `runner.ts`. This file holds only the types; `define-step.ts` builds steps from a small
 * read / intend / change / revert description, and `registry.ts` lists every step.
 *
 * Journal contract (DESIGN §2, BRIEF "Shared data formats"), per change:
 * - `{action: <step id>, target: <ARN>, outcome: 'started', prior: <state before>,
 *    undo: {intendedAfter: <state fir is about to make>}}` — written BEFORE the change;
 * - then `{outcome: 'applied' | 'failed' | 'denied', after: <state after>, requestIds}`;
 * - or, when nothing needed changing, a single `{outcome: 'already-applied', prior, after}`;
 * - or, when the state could not be read (so nothing was changed), a single `{outcome: 'failed' |
 *   'denied', error}` with no `started` entry (the runner writes it for a plan that failed).
 * - An undo writes `{outcome: 'started', params: {..., undoOf: <seq of the started entry>}}` and then
 *   `{outcome: 'undone' | 'conflict' | 'failed' | 'denied', params: {..., undoOf}}`; an undo that
 *   could not read the state writes the `failed`/`denied` entry alone (the change stays in force).
 *   One that finds nothing to do writes a single `undone` entry with `params.noChange`; when its
 *   target was deleted since (the function or role itself, AWS says not-found), with
 *   `params.gone` too and no states: nothing of the change is left to put back.
 * - A change whose target was deleted before it was made (a role the case's snapshot recorded, see
 *   StepSpec.whenGone) writes a single `{outcome: 'skipped', params: {..., gone: true}, notes}`:
 *   nothing was changed, nor failed.
 * - A restore that keeps a change one caller no longer needs but another does (a shared role's
 *   revocation) writes `{outcome: 'skipped', params: {<that caller's params>, undoOf, kept}}`.
 *
 * The truth about the prior state is the EARLIEST `started` entry of a (step, target) pair not
 * closed by an `undone` entry: a run killed between its change and its outcome, then re-run,
 * journals a second `started` whose prior is fir's own half-made state, and must not be trusted.
 * Unless someone else changed what fir had made before fir changed it again (the step's
 * `compareForUndo` finds a conflict, or something made since, in the state read): that `started` entry then says
 * `undo: {intendedAfter, supersedes: <seq of the earlier change's started entry>, prior: <the
 * state its undo puts back>}`, and the change it supersedes is no longer the one to undo (its
 * prior would overwrite what that person set).
 */
import type { FirContext } from '../context.js'

/** A journal outcome of a change, plus the states a plan can be in. */
export type RowOutcome =
  | 'would-apply'
  | 'applied'
  | 'already-applied'
  | 'failed'
  | 'denied'
  | 'would-undo'
  | 'undone'
  | 'already-undone'
  | 'conflict'
  | 'skipped'

/** What a step's plan found, read-only: one target, its state now, the state fir would leave. */
export interface Plan<S = unknown> {
  step: string
  title: string
  /** The ARN the change is made to (journal `target`). */
  target: string
  /** A short name for tables (function or role name). */
  label: string
  before: S | null
  /** The state apply would leave (intended). */
  after: S | null
  alreadyApplied: boolean
  /**
   * Set when the target itself was deleted before the change was made (see StepSpec.whenGone):
   * why there is nothing to change. The row is `skipped` with it as a note; `before` and `after`
   * are null.
   */
  gone?: string
  /**
   * Set when `alreadyApplied` only because there was nothing to act on (no mappings, no URL, no
   * public statement): the reason, for human text. The journal and --json outcome stay `already-applied`.
   */
  nothingToChange?: string
  /** Human summaries of `before` and `after` (AWS-sourced text not yet escaped). */
  beforeText: string
  afterText: string
  /** Things the responder should know before confirming (e.g. a role shared by other functions). */
  notes: string[]
}

/** What the runner needs to undo a change: built from the journal only. */
export interface UndoRecord<S = unknown> {
  step: string
  target: string
  /** The params the change was made with (as journaled; region and names included). */
  params: Record<string, unknown>
  /**
   * The state before fir's first change to this target (earliest `started` entry), or the
   * `undo.prior` of a `started` entry that superseded it (someone changed the target since).
   */
  prior: S
  /** fir's after state: the last outcome's `after`, else the intended after of the `started` entry. */
  after: S
  /**
   * Every state fir's own entries of this change journaled (each `started` entry's intended after,
   * each outcome's after): a run killed after its change and before its outcome left one of them,
   * not `after` (a renewed revocation's later cutoff). The comparison for undo takes any of them as
   * fir's own, never as someone else's change.
   */
  firStates?: S[]
  /** Step-specific data the apply journaled under `undo`. */
  data?: Record<string, unknown>
  /**
   * The params of every entry of this step and target since it was last undone, the first
   * included (from the journal): one change can serve several callers — contain of two functions
   * on one execution role revokes the role's sessions once, the second run journaling it for its
   * own function.
   */
  journaledFor?: Record<string, unknown>[]
  /**
   * The callers the change is in force for: the params of its `applied` and `already-applied`
   * entries since it was last undone, less those a restore released (a `skipped` undo entry with
   * the same params: restoring one function kept a role's revocation that another function still
   * needs, so it no longer holds it for the one restored).
   */
  heldFor?: Record<string, unknown>[]
  /**
   * The callers a restore released from the change (its `skipped` undo entries) and that have not
   * taken it again since: a function whose own revocation was restored no longer keeps it for
   * others, whatever else of it is still contained.
   */
  releasedFor?: Record<string, unknown>[]
  startedSeq: number
  startedAt: string
}

/** Why a step failed: fir's error code and message, and the AWS calls it names (awsCallsOf). */
export interface StepError {
  code: string
  message: string
  calls?: string[]
}

/** The result of one apply or undo, as shown in the result table and returned by `--json`. */
export interface StepResult<S = unknown> {
  step: string
  title: string
  target: string
  label: string
  outcome: RowOutcome
  before: S | null
  after: S | null
  beforeText: string
  afterText: string
  requestIds: string[]
  /** Values later steps (playbooks) may reference, e.g. `{roleName}`. Never secrets. */
  outputs: Record<string, unknown>
  /** Present when the change was made (or started): what undo needs. */
  undo: UndoRecord<S> | null
  /** `calls`: the AWS calls (IAM actions) that failed or were denied, when known. */
  error?: StepError
  notes: string[]
  /**
   * Set on a `failed` or `denied` apply when part of the change was made before the failure (the
   * state fir left, `after`, differs from `before`): a note says so, and that running the step
   * again finishes it, or what a re-run waits for when it cannot (a key holding the place the new
   * key needs). `outputs` then name what was made (a new key), as they do for `applied`.
   */
  partlyMade?: true
  /**
   * Outcome `already-applied` (or a plan's) because there was nothing to act on: why (e.g. `no
   * function URL`). Human text says `nothing to change (<why>)`; the outcome itself is unchanged.
   */
  nothingToChange?: string
}

/**
 * What a read-only undo plan found. `skipped`: the undo cannot be made automatically (the state to
 * put back held a secret the journal keeps redacted; the notes say where the value is), and the
 * undo is not run. `current` and `result` are null when the target was deleted since (the notes
 * say so): `already-undone`, nothing to put back.
 */
export interface UndoPlan<S = unknown> {
  status: 'would-undo' | 'already-undone' | 'conflict' | 'skipped'
  current: S | null
  /** What undo would leave: the prior, except for conflicting parts (left as they are). */
  result: S | null
  currentText: string
  resultText: string
  conflicts: string[]
  /** What the undo leaves as it is without a conflict (something added since beside fir's change). */
  notes: string[]
}

/**
 * One change fir can make. `plan` only reads. `apply` reads the state again, journals `started`
 * with it, changes, and journals the outcome; a second apply reports `already-applied` and makes
 * no mutating call. `undo` uses only the {@link UndoRecord}; where the current state is neither
 * fir's after state nor the prior it reports `conflict` and leaves that part alone.
 */
export interface Step<P = Record<string, unknown>, S = unknown> {
  /** `domain.verb`, e.g. `containment.throttle` (the journal `action`). */
  id: string
  title: string
  mutates: boolean
  /** IAM actions the step's plan and apply need (the `fir contain` and `fir creds` rows hold them). */
  iamActions: string[]
  /** IAM actions its planUndo and undo need (the `fir restore` row holds them); none when it cannot be undone. */
  undoIamActions: string[]
  /** 'never': cannot be undone; 'named': restore undoes it only when asked by name; 'default'. */
  undoPolicy: 'default' | 'named' | 'never'
  /**
   * Why restore cannot undo this change, else null: always for undoPolicy 'never'; for another
   * step, when the record shows fir did what nothing can take back (a key it deleted). Restore
   * lists such a change as skipped with this note and tries nothing.
   */
  cannotUndo(ctx: FirContext, record: UndoRecord<S>): string | null
  /**
   * Where a secret value of the state this step journals before its change is, for putting it back
   * by hand (the journal keeps it redacted): in the case's snapshot, `evidence/` (DESIGN §1).
   */
  secretSource(params: P): string
  plan(ctx: FirContext, params: P): Promise<Plan<S>>
  apply(ctx: FirContext, params: P): Promise<StepResult<S>>
  planUndo(ctx: FirContext, record: UndoRecord<S>): Promise<UndoPlan<S>>
  undo(ctx: FirContext, record: UndoRecord<S>): Promise<StepResult<S>>
}

/** A step with its params: what the runner is given. */
export interface StepCall<P = Record<string, unknown>> {
  // biome-ignore lint/suspicious/noExplicitAny: a list of calls mixes steps of different states
  step: Step<P, any>
  params: P
}
