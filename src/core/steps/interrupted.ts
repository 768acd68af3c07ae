/**
 * Changes a run started and journaled no outcome for: the process was killed (or the machine
 * lost) between a step's `started` entry and its outcome, so whether AWS made the change is
 * unknown. Running the same command again settles it: the step reads the state, finds the change
 * made (`already-applied`, `already-undone`) or makes it, and journals the outcome.
 */
import type { JournalEntry } from '../case/journal.js'
import { arg, type CommandWord, commandLine, type FlagWord, flag } from '../common/suggest.js'
import { changeKey, isUndoEntry } from './undo-records.js'

/** Journal actions of steps (STYLE.md "A step"): the changes fir makes to AWS. */
export const STEP_ACTION = /^(containment|credentials)\./

/**
 * The `started` entries of step changes that no outcome followed, oldest first: for each change
 * (changeKey: contain's `sessions` and `fir creds revoke-sessions` on one role are one), its
 * latest entry when that is a `started` one. A re-run that journaled an outcome of the same change
 * settled an earlier cut-off one (it read the state the crash left).
 */
export function interruptedChanges(entries: readonly JournalEntry[]): JournalEntry[] {
  const latest = new Map<string, JournalEntry>()
  for (const e of entries) {
    if (!STEP_ACTION.test(e.action) || e.outcome === 'recorded') continue
    latest.set(changeKey(e), e)
  }
  return [...latest.values()].filter((e) => e.outcome === 'started').sort((a, b) => a.seq - b.seq)
}

/** The `--actions` name restore gives each step it can undo. */
const RESTORE_ACTION: Readonly<Record<string, string>> = {
  'credentials.revoke-sessions': 'sessions',
  'credentials.rotate-key': 'rotate-key',
}

/** The AWS flags of base-command's awsFlags, which a finishing command must repeat. */
const AWS_FLAGS = new Set(['--region', '--profile', '--role-arn', '--endpoint-url'])

/**
 * The AWS flags the cut-off run was given, from its journaled command line (already redacted): run
 * without them, the finishing command would act in the default profile's account and region, or
 * against AWS instead of the emulator, and settle nothing.
 */
function awsFlagsOf(entry: JournalEntry): FlagWord[] {
  const argv = entry.actor?.command ?? []
  const out: FlagWord[] = []
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg : arg.slice(0, eq)
    if (!AWS_FLAGS.has(name)) continue
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value !== undefined && value !== '') out.push(flag(name, value))
  }
  return out
}

/**
 * The command that finishes an interrupted change, run again (its arguments from the entry's
 * params, the AWS flags from its command line, and `--case <caseDir>` when given, quoted for a
 * shell): pasted where several cases are under ./cases, it acts on this one. Null for a step fir
 * has no command for.
 */
export function finishCommand(entry: JournalEntry, caseDir?: string): string | null {
  const words = finishWords(entry)
  if (!words) return null
  return commandLine('fir', [
    ...words,
    ...awsFlagsOf(entry),
    ...(caseDir !== undefined ? [flag('--case', caseDir)] : []),
  ])
}

/** The words of the command (after `fir`, before the AWS flags and the case), or null. */
function finishWords(entry: JournalEntry): CommandWord[] | null {
  const p = entry.params ?? {}
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null)
  const containment = entry.action.startsWith('containment.')
  const fn = containment ? (text(p.functionArn) ?? text(p.function)) : null
  if (isUndoEntry(entry)) {
    const action = containment ? entry.action.slice('containment.'.length) : RESTORE_ACTION[entry.action]
    return action ? ['restore', ...(fn ? [arg(fn)] : []), '--actions', action] : null
  }
  if (containment)
    return fn ? ['contain', arg(fn), '--actions', entry.action.slice('containment.'.length)] : null
  const role = text(p.role)
  if (entry.action === 'credentials.revoke-sessions' && role)
    // A renewal cut off may have left the old cutoff: without --renew the re-run keeps it.
    return ['creds', 'revoke-sessions', flag('--role', role), ...(p.renew === true ? ['--renew'] : [])]
  const user = text(p.user)
  const accessKey = text(p.accessKey)
  if (entry.action === 'credentials.rotate-key' && user)
    return [
      'creds',
      'rotate-key',
      flag('--user', user),
      ...(accessKey ? [flag('--access-key', accessKey)] : []),
      ...(p.deleteOld === true ? ['--delete-old'] : []),
      ...(p.replace === false ? ['--no-replace'] : []),
    ]
  const secretId = text(p.secretId)
  if (entry.action === 'credentials.rotate-secret' && secretId)
    return ['creds', 'rotate-secret', arg(secretId)]
  return null
}

/**
 * What to say of an interrupted change: its outcome is unknown, it may be in force, and the
 * command that settles it (with `--case <caseDir>` when given).
 */
export function interruptedNote(entry: JournalEntry, caseDir?: string): string {
  const command = finishCommand(entry, caseDir)
  const what = isUndoEntry(entry) ? 'the undo may have been made' : 'the change may be in force'
  return `no outcome was journaled (the run was interrupted): ${what}; ${
    command ? `run ${command} again to finish it` : 'run the command that made it again to finish it'
  }`
}

/**
 * What to say of an interrupted change that a later entry of the same change took up (a re-run
 * read the state it left): it is no longer the one to finish. `later` is that change's first
 * outcome since, else its next `started` entry (a re-run interrupted too, whose own row says what
 * settles it).
 */
export function supersededNote(later: JournalEntry): string {
  const what = `a later run of the same change (journal #${later.seq}, ${later.outcome})`
  return SETTLED.has(later.outcome)
    ? `no outcome was journaled (the run was interrupted); settled by ${what}: nothing is left to finish of it`
    : `no outcome was journaled (the run was interrupted); taken up by ${what}: see that entry`
}

/** Outcomes that leave nothing of a change to finish (made, found made, undone, or not needed). */
const SETTLED = new Set(['applied', 'already-applied', 'undone', 'skipped'])
