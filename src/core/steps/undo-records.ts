import type { JournalEntry } from '../case/journal.js'
import { canonicalJson } from '../common/canonical-json.js'
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

/**
 * The target an entry's change is tracked by, for journals written before a step's target named
 * the whole change: `credentials.rotate-key` entries once had the user's ARN alone, so the
 * rotations of a user's two keys shared one undo. Such an entry is read as the change of the key
 * its state names (`<user ARN>#<key id>`, the target rotate-key journals now).
 */
const LEGACY_TARGET: Readonly<Record<string, (e: JournalEntry) => string>> = {
  'credentials.rotate-key': (e) => {
    // A user name cannot hold `#` (its path can): after the last `/`, it is the key's delimiter.
    if (e.target.slice(e.target.lastIndexOf('/') + 1).includes('#')) return e.target
    const state = (e.prior ?? e.after) as { oldKeyId?: unknown } | undefined
    const id = state?.oldKeyId ?? (e.params as { accessKey?: unknown } | null)?.accessKey
    return typeof id === 'string' ? `${e.target}#${id}` : e.target
  },
}

/**
 * The change an entry is of: its step (one for steps that make the same change, SAME_CHANGE) and
 * target (LEGACY_TARGET). Entries with one key are one change: the latest says where it stands.
 */
export function changeKey(e: JournalEntry): string {
  const target = LEGACY_TARGET[e.action]?.(e) ?? e.target
  return `${SAME_CHANGE[e.action] ?? e.action}\u0000${target}`
}

/** An entry a restore wrote (it names the change it undid: `params.undoOf`). */
export function isUndoEntry(e: JournalEntry): boolean {
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
 * intended after. Undo entries carry `params.undoOf`; an `undone` one closes the change whose
 * `started` entry that seq is.
 *
 * A restore that met a `conflict` left someone else's value in place. A change made after that
 * conflict starts from that value, not from fir's: its `started` entry's prior is the truth, and
 * the change before it is superseded (its undo would put back what that person had replaced).
 *
 * So does a change whose `started` entry says `undo.supersedes: <seq>`: someone changed what fir's
 * change #seq had made (its step's comparison found a conflict) before fir changed it again. The
 * state its undo puts back is the entry's `undo.prior` — the state read then, with the parts fir's
 * earlier change still held taken back to that change's prior (see define-step.ts) — and the
 * callers of the change it supersedes stay its callers (a shared role's revocation is still
 * theirs). A later `started` entry without it is fir's own state (a re-run), as above.
 *
 * `heldFor` lists who the change is in force for (its `applied` and `already-applied` entries);
 * a `skipped` undo entry — a restore of one function that kept a change another function still
 * needs — takes that function's params out of it.
 */
export function pendingUndos(entries: readonly JournalEntry[], steps?: ReadonlySet<string>): UndoRecord[] {
  return [...openChanges(entries, steps).values()].sort((a, b) => b.startedSeq - a.startedSeq)
}

/**
 * The change of `action` to `target` not yet undone (see {@link pendingUndos}), either step of a
 * {@link SAME_CHANGE} pair finding the other's; undefined when there is none.
 */
export function pendingUndoOf(
  entries: readonly JournalEntry[],
  action: string,
  target: string,
): UndoRecord | undefined {
  // Only this step's entries (and its SAME_CHANGE twin's) touch its key.
  const measure = SAME_CHANGE[action] ?? action
  const steps = new Set([measure, ...Object.keys(SAME_CHANGE).filter((a) => SAME_CHANGE[a] === measure)])
  return openChanges(entries, steps).get(`${measure}\u0000${target}`)
}

/** What the `undo` of a `started` entry holds (see step.ts). */
interface StartedUndo {
  intendedAfter?: unknown
  supersedes?: unknown
  prior?: unknown
}

function openChanges(entries: readonly JournalEntry[], steps?: ReadonlySet<string>): Map<string, UndoRecord> {
  const open = new Map<string, UndoRecord>()
  /** startedSeq of the open changes a restore found in conflict (someone else's value left). */
  const conflicted = new Set<unknown>()
  for (const e of entries) {
    if (steps && !steps.has(e.action)) continue
    const k = changeKey(e)
    if (isUndoEntry(e)) {
      // An undo names the change it undid by the seq of its `started` entry.
      const undoOf = (e.params as { undoOf?: unknown }).undoOf
      if (e.outcome === 'undone') {
        const done = [...open].find(([, r]) => r.startedSeq === undoOf)
        open.delete(done ? done[0] : k)
      } else if (e.outcome === 'conflict') conflicted.add(undoOf)
      else if (e.outcome === 'skipped') {
        const { undoOf: _seq, kept: _why, ...released } = e.params as Record<string, unknown>
        const kept = [...open.values()].find((r) => r.startedSeq === undoOf)
        if (kept) {
          kept.heldFor = kept.heldFor!.filter((p) => canonicalJson(p) !== canonicalJson(released))
          kept.releasedFor = [...(kept.releasedFor ?? []), released]
        }
      }
      continue
    }
    let current = open.get(k)
    const { undoOf: _ignored, ...params } = (e.params ?? {}) as Record<string, unknown>
    if (e.outcome === 'started' && current && conflicted.has(current.startedSeq)) {
      // Made after a restore left someone else's value: the change before is superseded.
      open.delete(k)
      current = undefined
    }
    if (e.outcome === 'started') {
      const undo = (e.undo ?? {}) as StartedUndo
      // Someone changed what this change had made before fir changed it again: superseded.
      const superseded = current !== undefined && undo.supersedes === current.startedSeq
      if (current && !superseded) {
        current.journaledFor!.push(params)
        // A re-run of fir's own: what it set out to make is fir's too (a killed run may have made it).
        if (undo.intendedAfter !== undefined) current.firStates!.push(undo.intendedAfter)
        continue
      }
      open.set(k, {
        step: e.action,
        target: e.target,
        params,
        prior: undo.supersedes !== undefined && 'prior' in undo ? undo.prior : e.prior,
        after: undo.intendedAfter,
        firStates: undo.intendedAfter !== undefined ? [undo.intendedAfter] : [],
        journaledFor: [...(current?.journaledFor ?? []), params],
        heldFor: [...(current?.heldFor ?? [])],
        ...(current?.releasedFor ? { releasedFor: [...current.releasedFor] } : {}),
        startedSeq: e.seq,
        startedAt: e.at,
      })
      continue
    }
    if (!current) continue
    current.journaledFor!.push(params)
    if (e.outcome === 'applied' || e.outcome === 'already-applied') {
      current.heldFor!.push(params)
      current.releasedFor = current.releasedFor?.filter((p) => canonicalJson(p) !== canonicalJson(params))
    }
    if (
      (e.outcome === 'applied' || e.outcome === 'failed' || e.outcome === 'denied') &&
      e.after !== undefined
    ) {
      current.after = e.after
      current.firStates!.push(e.after)
    }
    if (e.outcome === 'applied' && e.undo && typeof e.undo === 'object') {
      current.data = e.undo as Record<string, unknown>
    }
  }
  return open
}
