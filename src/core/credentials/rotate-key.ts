import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type AccessKeyInfo,
  createAccessKey,
  deleteAccessKey,
  getUserInfo,
  listAccessKeys,
  setAccessKeyStatus,
} from '../../aws/iam.js'
import { FirError, NotFoundError, UsageError } from '../../errors.js'
import { safeSegment } from '../case/evidence-store.js'
import type { JournalEntry } from '../case/journal.js'
import { recordedSecretFiles, SECRET_FILE_ACTION, SECRETS_DIR, unplacedSecretFiles } from '../case/secrets.js'
import { ensureDir, exists, writeFileAtomic } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { redactor } from '../common/redact.js'
import { awsCliCommand, firCommand, flag } from '../common/suggest.js'
import { escapeTerminal, jsonText } from '../common/text.js'
import type { FirContext } from '../context.js'
import { readIamEntity } from '../identity.js'
import { crashHook, defineStep, isDeleted, isRunning } from '../steps/define-step.js'
import { runSteps } from '../steps/runner.js'
import type { StepResult, UndoRecord } from '../steps/step.js'
import { changeKey, isUndoEntry } from '../steps/undo-records.js'

export interface RotateKeyParams extends Record<string, unknown> {
  user: string
  /** The leaked key; optional when the user has exactly one key not made by this case. */
  accessKey?: string
  deleteOld?: boolean
  /**
   * false: make no new key, only deactivate (or delete) the old one — for a key nothing
   * legitimate uses, such as one an intruder created for a user (default true).
   */
  replace?: boolean
}

export interface RotateKeyState {
  userName: string
  userArn: string
  /** The key being rotated out. */
  oldKeyId: string
  keys: AccessKeyInfo[]
  /** Keys whose secret this case holds in secrets/ (made by fir). */
  firKeyIds: string[]
  /**
   * Keys that may be the one a run of this case made and was killed before it journaled it (its
   * secret then lost: see {@link maybeLostKeys}), or may be someone else's: fir cannot tell. Present
   * only when there are some; the change deactivates them, never deletes them.
   */
  maybeLostKeyIds?: string[]
  /**
   * Keys besides the old one that the change deactivated (maybe-lost keys that were active): undo
   * reactivates them. Only in the states the change journals (its intent, what it left).
   */
  deactivatedKeyIds?: string[]
  /**
   * Keys that appeared on the user while this process was rotating its key and that no journal
   * entry names as fir's (the state read back after a call failed): someone else's, unless a
   * CreateAccessKey of fir's went unanswered. Never counted as fir's change.
   */
  appearedKeyIds?: string[]
}

/** The id `intend` gives the key the change is to make. */
const NEW_KEY = 'new'

/** `<case>/secrets/<user>-<key id>.json`: where a rotated key's secret is written, once, 0600. */
export function secretFilePath(caseDir: string, userName: string, keyId: string): string {
  return join(caseDir, secretFileRel(userName, keyId))
}

/**
 * The journal target of a rotation: the user's ARN and the key rotated out, so that rotations of
 * a user's two keys are two changes, each with its own prior state and undo.
 */
export function rotateKeyTarget(userArn: string, keyId: string): string {
  return `${userArn}#${keyId}`
}

/**
 * The keys this case made for the user, as its journal recorded them (`firKeyIds` of every
 * rotate-key state journaled for the user). The secret file is deleted once the key is deployed,
 * as fir says to do: the journal, not that file, is what says a key is fir's.
 */
function journaledFirKeys(ctx: FirContext, userName: string): Set<string> {
  const found = new Set<string>()
  for (const e of ctx.case.journal.all()) {
    if (e.action !== 'credentials.rotate-key') continue
    for (const s of [e.prior, e.after] as (Partial<RotateKeyState> | undefined)[]) {
      if (s?.userName === userName) for (const id of s.firKeyIds ?? []) found.add(id)
    }
  }
  return found
}

function secretFileRel(userName: string, keyId: string): string {
  return `${SECRETS_DIR}/${safeSegment(userName)}-${safeSegment(keyId)}.json`
}

/**
 * Keys this case made for the user: journaled in a rotation's state, or named by a secret file the
 * journal recorded (`case.secret-file` is journaled once the secret is on disk, before the
 * rotation's outcome: a run killed in between left that record). Not the files in
 * secrets/: one put there by hand, named after a key the intruder made, would pass that key off as
 * fir's replacement and leave it active.
 */
function firKeyIds(ctx: FirContext, userName: string, keys: AccessKeyInfo[]): string[] {
  const journaled = journaledFirKeys(ctx, userName)
  const recorded = recordedSecretFiles(ctx.case.journal.all())
  return keys
    .filter((k) => journaled.has(k.id) || recorded.has(secretFileRel(userName, k.id)))
    .map((k) => k.id)
}

/**
 * How far a key's CreateDate may lie from the `started` entry of a rotation that was cut short and
 * still be the key that run made. The entry's `at` is the local clock of the run that wrote it:
 * it is put on AWS's clock with the offset this run sees in AWS's Date headers (the same machine,
 * as a rule), and the margin covers the rest — a case resumed on another machine, drift since,
 * CreateDate and Date headers kept to the second, the create call's retries. The margin is not
 * the proof: that is AWS's own list of the user's keys, journaled as the prior just before the
 * create, which did not hold the key.
 */
const LOST_KEY_MARGIN_MS = 5 * 60_000

/** AWS's limit of access keys per user, active or not. */
const KEYS_PER_USER = 2

/** This user's rotations (not undos) that journaled their `started` entry: `e.prior` is the state read before. */
function isRotationStart(e: JournalEntry, userName: string): boolean {
  const prior = e.prior as Partial<RotateKeyState> | undefined
  return (
    e.action === 'credentials.rotate-key' &&
    e.outcome === 'started' &&
    prior?.userName === userName &&
    !('undoOf' in (e.params ?? {}))
  )
}

/**
 * The `started` entries of this user's rotations meant to make a key whose run never journaled an
 * outcome: a run killed, never the one this process is making (its read back after a failed call).
 */
function cutShortRotations(ctx: FirContext, userName: string): JournalEntry[] {
  const entries = ctx.case.journal.all()
  return entries.filter((e, i) => {
    if (!isRotationStart(e, userName) || isRunning(ctx, e)) return false
    const intended = (e.undo as { intendedAfter?: Partial<RotateKeyState> } | undefined)?.intendedAfter
    if (!intended?.keys?.some((k) => k.id === NEW_KEY)) return false
    // The run's next entry on this change is its outcome; a `started` one (a re-run) or none means
    // the process died in between.
    const next = entries.slice(i + 1).find((x) => x.action === e.action && x.target === e.target)
    return next === undefined || next.outcome === 'started'
  })
}

/**
 * Keys fir deactivated as maybe-lost that are active now: someone reactivated them since (or a
 * restore did), saying they are theirs; they are the user's keys, no longer maybe fir's.
 */
function reactivatedSinceFir(ctx: FirContext, userName: string, keys: AccessKeyInfo[]): Set<string> {
  const deactivated = new Set<string>()
  for (const e of ctx.case.journal.all()) {
    if (e.action !== 'credentials.rotate-key' || e.outcome === 'started') continue
    const after = e.after as Partial<RotateKeyState> | undefined
    if (after?.userName === userName) for (const id of after.deactivatedKeyIds ?? []) deactivated.add(id)
  }
  return new Set(keys.filter((k) => deactivated.has(k.id) && k.status === 'Active').map((k) => k.id))
}

/** A key that may be a killed run's lost key (see {@link maybeLostKeys}), and why it may be. */
interface MaybeLostKey {
  id: string
  /** The killed run's `started` entry: when (its local clock) it set out to make its key. */
  startedAt: string
  /** CreateDate less that start moved onto AWS's clock, in ms (negative: before it). */
  offsetMs: number
}

/**
 * Keys that may be one fir made and lost the secret of: AWS returns a key's secret only to the
 * CreateAccessKey call, and a run killed after that call and before journaling the key (its
 * `case.secret-file` record, journaled once the secret is synced to disk: see writeSecretFile) took
 * the secret with it, leaving an active key nobody holds (the temporary it may have left unrecorded
 * is swept). Such a key is one the user has now that a cut-short rotation's journaled prior
 * (ListAccessKeys, just before its create) did not list, that no journal entry names as fir's,
 * and that AWS says was created within {@link LOST_KEY_MARGIN_MS} of that rotation's `started`
 * entry; one such key a rotation at most (it makes one). Never the key asked for by
 * `--access-key`, nor one fir deactivated as such and someone reactivated since. The window is a
 * guess, not a proof: someone else may have made a key in it (a colleague, an intruder), so such a
 * key is only ever deactivated, never deleted.
 */
function maybeLostKeys(
  ctx: FirContext,
  userName: string,
  keys: AccessKeyInfo[],
  ours: string[],
  asked: string | undefined,
): MaybeLostKey[] {
  const found: MaybeLostKey[] = []
  const reactivated = reactivatedSinceFir(ctx, userName, keys)
  for (const e of cutShortRotations(ctx, userName)) {
    const known = new Set((e.prior as RotateKeyState).keys?.map((k) => k.id) ?? [])
    const at = Date.parse(e.at) + (ctx.clock.skewMs ?? 0)
    const made = keys.filter(
      (k) =>
        !known.has(k.id) &&
        !ours.includes(k.id) &&
        k.id !== asked &&
        !reactivated.has(k.id) &&
        k.created !== null &&
        Math.abs(Date.parse(k.created) - at) <= LOST_KEY_MARGIN_MS,
    )
    if (made.length === 1 && !found.some((f) => f.id === made[0]!.id))
      found.push({ id: made[0]!.id, startedAt: e.at, offsetMs: Date.parse(made[0]!.created!) - at })
  }
  return found
}

/**
 * What the rotation this process is making has met so far, from the keys read now and those its
 * `started` entry journaled as read before its change (its prior): the keys that appeared on the
 * user since, not `known` (fir's, or maybe a killed run's), and the maybe-lost keys it found active
 * that are inactive now (its change deactivated them: undo is to reactivate them). Only while a
 * change runs: the state read back after one of its calls failed.
 */
function runningRotation(
  ctx: FirContext,
  userName: string,
  keys: AccessKeyInfo[],
  known: string[],
): { appeared: string[]; deactivated: string[] } {
  const appeared = new Set<string>()
  const deactivated = new Set<string>()
  for (const e of ctx.case.journal.all()) {
    if (!isRotationStart(e, userName) || !isRunning(ctx, e)) continue
    const prior = e.prior as RotateKeyState
    const before = new Set(prior.keys?.map((k) => k.id) ?? [])
    for (const k of keys) if (!before.has(k.id) && !known.includes(k.id)) appeared.add(k.id)
    for (const id of maybeLostActive(prior))
      if (keys.some((k) => k.id === id && k.status === 'Inactive')) deactivated.add(id)
  }
  return { appeared: [...appeared], deactivated: [...deactivated] }
}

const keyLine = (k: AccessKeyInfo) => `${k.id} (${k.status}, created ${k.created ?? 'unknown'})`

/**
 * The keys this case set out to rotate for the user, last one last, from the journal (they may be
 * deleted by now): a key counts only when the prior state journaled before the change shows the
 * user had it, so an id that never was the user's (a typo) is never taken for one fir rotated.
 */
function journaledOldKeys(ctx: FirContext, userName: string): string[] {
  const found: string[] = []
  for (const e of ctx.case.journal.all()) {
    const prior = e.prior as Partial<RotateKeyState> | undefined
    if (e.action !== 'credentials.rotate-key' || prior?.userName !== userName || !prior.oldKeyId) continue
    if (prior.keys?.some((k) => k.id === prior.oldKeyId)) found.push(prior.oldKeyId)
  }
  return found
}

function chooseOldKey(
  params: RotateKeyParams,
  keys: AccessKeyInfo[],
  ours: string[],
  user: string,
  journaled: string[],
): string {
  const theirs = keys.filter((k) => !ours.includes(k.id))
  if (params.accessKey) {
    // A key the user no longer has is this case's to report on only when this case rotated
    // exactly that key of this user (a re-run after --delete-old); any other id is a mistake.
    if (keys.some((k) => k.id === params.accessKey) || journaled.includes(params.accessKey))
      return params.accessKey
    const key = escapeTerminal(params.accessKey)
    throw new NotFoundError(
      `unable to rotate access key ${key} of user ${escapeTerminal(user)}: user ${escapeTerminal(user)} has no access key ${key}; ${keys.length ? `its keys are ${keys.map(keyLine).join(', ')}` : 'it has no access keys'}`,
      {
        actions: ['check --access-key (fir creds keys --case DIR lists keys found in functions) and --user'],
      },
    )
  }
  if (theirs.length === 1) return theirs[0]!.id
  const last = journaled.at(-1)
  if (theirs.length === 0 && last && ours.length > 0) return last
  if (theirs.length === 0) {
    throw new UsageError(
      `unable to rotate the access key of user ${escapeTerminal(user)}: the user has no access key`,
      {
        actions: ['nothing to rotate; check --user'],
      },
    )
  }
  throw new UsageError(
    `unable to choose which access key of user ${escapeTerminal(user)} to rotate: it has two (${theirs.map(keyLine).join('; ')})`,
    { actions: ['pass --access-key with the leaked key id'] },
  )
}

function describe(s: RotateKeyState): string {
  const old = s.keys.find((k) => k.id === s.oldKeyId)
  const others = s.keys.filter((k) => k.id !== s.oldKeyId)
  const parts = [`${s.oldKeyId} ${old ? old.status : 'deleted'}`]
  for (const k of others) {
    const whose = s.firKeyIds.includes(k.id)
      ? ' (new, by fir)'
      : s.maybeLostKeyIds?.includes(k.id)
        ? " (maybe a killed run's lost key)"
        : s.appearedKeyIds?.includes(k.id)
          ? ' (appeared during the rotation)'
          : ''
    parts.push(`${k.id === NEW_KEY ? 'a new key' : k.id} ${k.status}${whose}`)
  }
  return parts.join('; ')
}

/** An active key this case made to replace the old one (never the old key itself). */
function replacementKey(s: RotateKeyState): string | undefined {
  return s.firKeyIds.find(
    (id) => id !== s.oldKeyId && s.keys.some((k) => k.id === id && k.status === 'Active'),
  )
}

/** A key this case made besides the old one: the active one, else one deactivated since. */
function madeKey(s: RotateKeyState): string | undefined {
  return replacementKey(s) ?? s.firKeyIds.find((id) => id !== s.oldKeyId && s.keys.some((k) => k.id === id))
}

/**
 * The old key can no longer sign and, unless no replacement is wanted, a new key made by this
 * case exists (active, or deactivated since by a change of its own: the rotation itself is done).
 */
function rotated(s: RotateKeyState, params: RotateKeyParams): boolean {
  const old = s.keys.find((k) => k.id === s.oldKeyId)
  const cutOff = params.deleteOld ? !old : !old || old.status === 'Inactive'
  return cutOff && (params.replace === false || madeKey(s) !== undefined) && maybeLostActive(s).length === 0
}

/**
 * The maybe-lost keys that hold the place the new key needs in state `s`: a new key is wanted and
 * none of this case's replaces the old key yet, and the keys the change leaves (the old one less
 * with deleteOld; a maybe-lost key is deactivated, never deleted) fill AWS's two places. No run
 * makes the new key then until the responder frees a place (noRoomNote).
 */
function newKeyBlockers(s: RotateKeyState, params: RotateKeyParams): string[] {
  if (params.replace === false || madeKey(s) !== undefined) return []
  const kept = s.keys.filter((k) => !(params.deleteOld && k.id === s.oldKeyId))
  if (kept.length < KEYS_PER_USER) return []
  return (s.maybeLostKeyIds ?? []).filter((id) => kept.some((k) => k.id === id))
}

/** The maybe-lost keys still active. */
function maybeLostActive(s: RotateKeyState): string[] {
  return (s.maybeLostKeyIds ?? []).filter((id) => s.keys.some((k) => k.id === id && k.status === 'Active'))
}

/** The state without the keys that appeared during the rotation: what fir's change is about. */
function withoutAppeared(s: RotateKeyState): RotateKeyState {
  const { appearedKeyIds: appeared = [], ...rest } = s
  return { ...rest, keys: s.keys.filter((k) => !appeared.includes(k.id)) }
}

/** The states fir's change left (any run of it): the record's after, then its other runs'. */
function firStatesOf(record: UndoRecord<RotateKeyState>): (RotateKeyState | undefined)[] {
  return [record.after, ...(record.firStates ?? [])]
}

/** The keys undo is to reactivate besides the old one: those fir's change deactivated (any run of it). */
function deactivatedByFir(record: UndoRecord<RotateKeyState>): string[] {
  return [...new Set(firStatesOf(record).flatMap((st) => st?.deactivatedKeyIds ?? []))]
}

/**
 * CreateAccessKey failures every attempt of which AWS answered with a refusal (4xx): fir's call
 * made no key. A failure not in it whose attempts went unanswered (a dropped connection, a 5xx)
 * may have made one, whose secret the lost answer took.
 */
const refusedCreates = new WeakSet<object>()
/** Every CreateAccessKey failure of a change (refused or not). */
const failedCreates = new WeakSet<object>()

/** What becomes of the leaked key: to be cut off, or already (a re-run, or someone did it). */
function oldKeyNote(s: RotateKeyState, params: RotateKeyParams): string {
  const old = s.keys.find((k) => k.id === s.oldKeyId)
  if (params.deleteOld)
    return old
      ? `the old key ${s.oldKeyId} is to be deleted: this cannot be undone`
      : `the old key ${s.oldKeyId} is deleted already`
  if (!old) return `the old key ${s.oldKeyId} is deleted already (fir would only have deactivated it)`
  return old.status === 'Inactive'
    ? `the old key ${s.oldKeyId} is inactive already`
    : `the old key ${s.oldKeyId} is to be deactivated, not deleted (pass --delete-old to delete it)`
}

/** `N s after`/`N s before`/`within a second of when`: how far a time lies from another, in words. */
function offsetWords(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000)
  return s === 0 ? 'within a second of when' : `${s} s ${ms < 0 ? 'before' : 'after'}`
}

/**
 * What the plan says of a key that may be a killed run's lost key: why it may be, that it may as
 * well be someone else's, and what fir does with it (deactivates it: reversible; never deletes it).
 */
function maybeLostNote(ctx: FirContext, userName: string, k: AccessKeyInfo, l: MaybeLostKey): string {
  const restore = firCommand(['restore', '--actions', 'rotate-key'], ctx.aws, { caseDir: ctx.case.dir })
  return `${k.id} (${k.status}, created ${k.created}) may be the key a run of this case made and was killed before it saved the key's secret: that rotation started ${l.startedAt} and never finished, the user's keys read just before it did not include ${k.id}, and ${k.id} was created ${offsetWords(l.offsetMs)} it started. If it is, its secret is lost and nothing can use it; but someone else (a colleague, an intruder) may have made it in that time, and fir cannot tell which. fir cuts the leaked key off first, then ${k.status === 'Active' ? `deactivates ${k.id} (reversible: ${restore} reactivates it)` : `leaves ${k.id} inactive, as it is`}; it does not delete it: check its last use (${awsCliCommand(['iam', 'get-access-key-last-used', flag('--access-key-id', k.id)], ctx.aws)}: a lost key has never been used) and who made it (CloudTrail's CreateAccessKey on user ${escapeTerminal(userName)})`
}

/**
 * What the plan says when a maybe-lost key holds the place the new key needs: the rotation stops
 * once the leaked key is cut off, and the choice is the responder's.
 */
function noRoomNote(ctx: FirContext, userName: string, id: string): string {
  return `no new key can be made while ${id} holds the user's second place (AWS allows two keys, active or not): the rotation stops once the leaked key is cut off. If ${id} is that lost key (never used, and nobody made it), delete it (${awsCliCommand(['iam', 'delete-access-key', flag('--user-name', userName), flag('--access-key-id', id)], ctx.aws)}) and run this command again to make the new key (or run it with --delete-old, which deletes the leaked key instead and frees its place); if it is someone's, reactivate it (${awsCliCommand(['iam', 'update-access-key', flag('--user-name', userName), flag('--access-key-id', id), '--status', 'Active'], ctx.aws)}): fir then counts it as the user's`
}

/** The plan's note on where a new key's secret is to go (its id is not known before it is made). */
function newSecretIntent(ctx: FirContext, userName: string): string {
  return `the new secret is to be written once to ${join(ctx.case.dir, SECRETS_DIR, `${safeSegment(userName)}-<new key id>.json`)} (0600); deploy it, then delete the file`
}

/**
 * Where the secret of a key an earlier run made is: its file, or the temporary a run interrupted
 * before the rename left (a dry run does not place it), or nowhere any more.
 */
async function whereSecretIs(ctx: FirContext, userName: string, keyId: string): Promise<string> {
  const path = secretFilePath(ctx.case.dir, userName, keyId)
  if (await exists(path)) return `its secret is in ${path} (0600)`
  const rel = secretFileRel(userName, keyId)
  const unplaced = (await unplacedSecretFiles(ctx.case.dir, ctx.case.journal.all())).find(
    (f) => f.path === rel,
  )
  if (unplaced)
    return `its secret is in ${join(ctx.case.dir, unplaced.temporary)} (0600; a run was interrupted before renaming it: the next fir command that writes to the case renames it to ${path})`
  return `its secret file ${path} is not in the case (deleted since, as fir says to once the key is deployed)`
}

/**
 * The entry that shows fir deleted the old key of a rotation not undone: the first outcome of the
 * change since its `started` entry whose state (read back from AWS, or reported once the
 * DeleteAccessKey call returned) no longer holds the key, once a run of it set out to delete the
 * key (`--delete-old`). Undefined when fir never did: only deactivated it, or a run with
 * `--delete-old` was killed before its delete, or someone else deleted the key (a conflict).
 */
function firDeletion(ctx: FirContext, record: UndoRecord<RotateKeyState>): JournalEntry | undefined {
  const entries = ctx.case.journal.all()
  const first = entries.find((e) => e.seq === record.startedSeq)
  if (!first) return undefined
  const change = changeKey(first)
  let setOut = false
  for (const e of entries) {
    if (e.seq < record.startedSeq || e.action !== rotateKeyStep.id || isUndoEntry(e)) continue
    if (changeKey(e) !== change) continue
    if (e.outcome === 'started') setOut ||= (e.params as RotateKeyParams).deleteOld === true
    const after = e.after as RotateKeyState | undefined
    if (
      setOut &&
      e.outcome !== 'started' &&
      after?.keys &&
      !after.keys.some((k) => k.id === record.prior.oldKeyId)
    )
      return e
  }
  return undefined
}

/**
 * Writes the new key's secret to its 0600 file, journaling the file (path, SHA-256) once its
 * temporary holds the secret whole and synced, before the rename (writeFileAtomic's
 * `beforeRename`). The record is what makes the new key fir's: a run killed before it leaves a key
 * nobody holds the secret of, unrecorded (maybeLostKeys: the next rotation deactivates it), and its
 * temporary is swept; one killed after it leaves the secret on disk, under its name or in the
 * recorded temporary, which the next open of the case renames (completeInterruptedWrites).
 * A recorded file that is missing was therefore deleted since, never not written.
 */
async function writeSecretFile(
  ctx: FirContext,
  userName: string,
  key: AccessKeyInfo & { secretAccessKey: string },
): Promise<string> {
  const rel = secretFileRel(userName, key.id)
  const body = {
    AccessKey: {
      UserName: userName,
      AccessKeyId: key.id,
      Status: key.status,
      SecretAccessKey: key.secretAccessKey,
      CreateDate: key.created,
    },
    writtenBy: `fir (case ${ctx.case.meta.id})`,
  }
  const text = `${jsonText(body, 2)}\n`
  const path = join(ctx.case.dir, rel)
  await ensureDir(join(ctx.case.dir, SECRETS_DIR))
  await writeFileAtomic(path, text, {
    once: true,
    beforeRename: async () => {
      await ctx.case.journal.append({
        action: SECRET_FILE_ACTION,
        target: rel,
        params: {
          path: rel,
          sha256: sha256Hex(text),
          bytes: Buffer.byteLength(text),
          user: userName,
          accessKeyId: key.id,
        },
        outcome: 'recorded',
      })
    },
  })
  return path
}

/**
 * credentials.rotate-key — rotates a long-term access key: creates a new key, writes its secret
 * once to `<case>/secrets/<user>-<key id>.json` (0600; never to the journal, logs or reports),
 * then deactivates the old key, and deletes it only with `deleteOld`. With `replace: false` no new
 * key is made: the old one is only deactivated (or deleted). Refuses when the user
 * already has two keys (AWS's limit) and names them. The keys fir made are known from the journal
 * (and, for a run killed before journaling its new key, by the journal's record of its secret
 * file): a re-run finishes the deactivation or reports `already-applied`, also after the secret
 * file was deleted. A key that may be the one a run killed between CreateAccessKey and journaling
 * it left (its secret lost: {@link maybeLostKeys}) is not counted as the user's, but is said to be
 * only maybe fir's (someone else may have made it then): the change cuts the leaked key off, then
 * deactivates that key (never deletes it), then makes the new key when AWS has room for it (with
 * `deleteOld`), else fails naming the choice. A key that appeared on the user while the change ran
 * (someone else's, unless fir's CreateAccessKey went unanswered) is named on a failure, never taken
 * for fir's. Each key rotated out is its own change (target `<user ARN>#<key id>`).
 * IAM: iam:GetUser, iam:ListAccessKeys, iam:CreateAccessKey, iam:UpdateAccessKey, iam:DeleteAccessKey
 * (with deleteOld).
 * Undo: reactivates the old key, and a maybe-lost key the change deactivated — only when
 * `rotate-key` is named in `fir restore --actions` (it makes the leaked key valid again); the new
 * key is kept. A key fir deleted (`deleteOld`) cannot come back: restore lists that rotation as
 * skipped, naming when fir deleted it (or names it, when it still reactivates a maybe-lost key). A
 * key (or user) deleted since by someone else has nothing to reactivate: named, and undone.
 * Undo works from the journaled record alone (the old key id and its prior status), whatever the
 * user's keys or the case's secret files are now.
 */
export const rotateKeyStep = defineStep<RotateKeyParams, RotateKeyState>({
  id: 'credentials.rotate-key',
  title: 'Rotate an access key',
  iamActions: [
    'iam:GetUser',
    'iam:ListAccessKeys',
    'iam:CreateAccessKey',
    'iam:UpdateAccessKey',
    'iam:DeleteAccessKey',
  ],
  undoIamActions: ['iam:GetUser', 'iam:ListAccessKeys', 'iam:UpdateAccessKey'],
  undoPolicy: 'named',
  async read(ctx, params) {
    const user = await readIamEntity(ctx.aws, 'user', params.user, () => getUserInfo(ctx.aws, params.user))
    const keys = await listAccessKeys(ctx.aws, user.name)
    const ours = firKeyIds(ctx, user.name, keys)
    const lost = maybeLostKeys(ctx, user.name, keys, ours, params.accessKey)
    const lostIds = lost.map((l) => l.id)
    const { appeared, deactivated } = runningRotation(ctx, user.name, keys, [...ours, ...lostIds])
    // A maybe-lost key is not counted as a second key of the user's (neither one to choose between
    // nor one that keeps fir from acting), nor is one that appeared while this rotation ran.
    const oldKeyId = chooseOldKey(
      params,
      keys,
      [...ours, ...lostIds, ...appeared],
      user.name,
      journaledOldKeys(ctx, user.name),
    )
    const state: RotateKeyState = {
      userName: user.name,
      userArn: user.arn,
      oldKeyId,
      keys,
      firKeyIds: ours,
      ...(lostIds.length ? { maybeLostKeyIds: lostIds } : {}),
      ...(appeared.length ? { appearedKeyIds: appeared } : {}),
      ...(deactivated.length ? { deactivatedKeyIds: deactivated } : {}),
    }
    const made = madeKey(state)
    const needsNew = replacementKey(state) === undefined && params.replace !== false
    const usersKeys = keys.filter((k) => !lostIds.includes(k.id) && !appeared.includes(k.id))
    if (needsNew && usersKeys.length >= KEYS_PER_USER && !rotated(state, params)) {
      const other = usersKeys.filter((k) => k.id !== oldKeyId)
      // A leaked key already inactive is cut off: the advice is to make room, not to deactivate it.
      const inactive = keys.find((k) => k.id === oldKeyId)?.status === 'Inactive'
      throw new UsageError(
        `unable to rotate access key ${oldKeyId} of user ${escapeTerminal(user.name)}: the user already has two keys (${keys.map(keyLine).join('; ')}) and AWS allows no third`,
        {
          actions: [
            ...(inactive
              ? [
                  `${oldKeyId} is inactive already (nothing can sign with it): to make room for the new key, delete it, journaled (it cannot be undone): ${firCommand(['creds', 'rotate-key', flag('--user', user.name), flag('--access-key', oldKeyId), '--no-replace', '--delete-old'], ctx.aws, { caseDir: ctx.case.dir })}`,
                ]
              : [
                  `to cut the leaked key off now without a new key, journaled and reversible: ${firCommand(['creds', 'rotate-key', flag('--user', user.name), flag('--access-key', oldKeyId), '--no-replace'], ctx.aws, { caseDir: ctx.case.dir })}`,
                  `to cut the leaked key off now, deactivate it (whatever uses it stops working): ${awsCliCommand(['iam', 'update-access-key', flag('--user-name', user.name), flag('--access-key-id', oldKeyId), '--status', 'Inactive'], ctx.aws)}`,
                ]),
            `${inactive ? 'or delete the other key' : 'delete the other key first'} if it is unused: ${awsCliCommand(['iam', 'delete-access-key', flag('--user-name', user.name), flag('--access-key-id', other[0]?.id ?? 'ID')], ctx.aws)}`,
            `check its last use first: ${awsCliCommand(['iam', 'get-access-key-last-used', flag('--access-key-id', other[0]?.id ?? 'ID')], ctx.aws)}`,
            'then run this command again',
          ],
        },
      )
    }
    const madeStatus = keys.find((k) => k.id === made)?.status
    const blocking = newKeyBlockers(state, params)
    return {
      target: rotateKeyTarget(user.arn, oldKeyId),
      label: user.name,
      state,
      // What the rotation is to do, said as intent: the notes stay on a result that failed part
      // way, whose table shows what holds.
      notes: [
        ...lost.map((l) => maybeLostNote(ctx, user.name, keys.find((x) => x.id === l.id)!, l)),
        ...blocking.map((id) => noRoomNote(ctx, user.name, id)),
        blocking.length
          ? []
          : params.replace === false
            ? `no new key is to be made for ${escapeTerminal(user.name)}: whatever uses ${oldKeyId} stops working once it is cut off`
            : made === undefined
              ? newSecretIntent(ctx, user.name)
              : `the new key ${made}${madeStatus === 'Active' ? '' : ` (${madeStatus} now)`} was made by an earlier run of this case: ${await whereSecretIs(ctx, user.name, made)}`,
        oldKeyNote(state, params),
      ].flat(),
    }
  },
  // Undo acts on the key the record names: the apply-time choice of key (and its refusal of a
  // user with two keys, which a rotation always leaves) plays no part.
  async readForUndo(ctx, record) {
    const { userName, userArn, oldKeyId } = record.prior
    const keys = await listAccessKeys(ctx.aws, userName)
    const fir = journaledFirKeys(ctx, userName)
    return {
      target: record.target,
      label: userName,
      state: {
        userName,
        userArn,
        oldKeyId,
        keys,
        firKeyIds: keys.filter((k) => fir.has(k.id)).map((k) => k.id),
      },
    }
  },
  // A user deleted since took its keys with it: nothing to reactivate.
  async targetGone(ctx, record) {
    const user = record.prior?.userName ?? String(record.params.user)
    return (await isDeleted(() => getUserInfo(ctx.aws, user))) ? { kind: 'user', name: user } : null
  },
  intend(_ctx, params, s) {
    const hasNew = replacementKey(s) !== undefined || params.replace === false
    const lost = s.maybeLostKeyIds ?? []
    const deactivated = maybeLostActive(s)
    const keys = s.keys
      .filter((k) => !(params.deleteOld && k.id === s.oldKeyId))
      .map((k) => (k.id === s.oldKeyId || lost.includes(k.id) ? { ...k, status: 'Inactive' } : k))
    if (!hasNew && keys.length < KEYS_PER_USER) keys.push({ id: NEW_KEY, status: 'Active', created: null })
    return { ...s, keys, ...(deactivated.length ? { deactivatedKeyIds: deactivated } : {}) }
  },
  isApplied: (_ctx, params, s) => rotated(s, params),
  async change(ctx, params, s, _intended, progress) {
    const hasNew = replacementKey(s) !== undefined || params.replace === false
    // The state each call leaves, reported so that a later call's failure loses no new key.
    let left = s
    const deactivated: string[] = []
    const deactivate = async (id: string) => {
      await setAccessKeyStatus(ctx.aws, s.userName, id, 'Inactive')
      if (id !== s.oldKeyId) deactivated.push(id)
      left = {
        ...left,
        keys: left.keys.map((k) => (k.id === id ? { ...k, status: 'Inactive' } : k)),
        ...(deactivated.length ? { deactivatedKeyIds: [...deactivated] } : {}),
      }
      progress(left)
    }
    const isActive = (id: string) => left.keys.some((k) => k.id === id && k.status === 'Active')
    const has = (id: string) => left.keys.some((k) => k.id === id)
    const deleteOld = async () => {
      await deleteAccessKey(ctx.aws, s.userName, s.oldKeyId)
      left = { ...left, keys: left.keys.filter((k) => k.id !== s.oldKeyId) }
      progress(left)
    }
    const lost = s.maybeLostKeyIds ?? []
    if (lost.length) {
      // The leaked key is cut off first, whatever becomes of the rest. A maybe-lost key is only
      // deactivated (someone else may hold it): it keeps its place, so the new key needs the
      // leaked key's, which only --delete-old frees.
      if (isActive(s.oldKeyId)) await deactivate(s.oldKeyId)
      for (const id of lost) if (isActive(id)) await deactivate(id)
      if (!hasNew && params.deleteOld && has(s.oldKeyId)) await deleteOld()
      if (!hasNew && left.keys.length >= KEYS_PER_USER) {
        throw new FirError(
          'limit-exceeded',
          `unable to make the new access key for user ${s.userName}: AWS allows two keys per user and ${lost.join(', ')} holds the second place; fir cut the leaked key off and deactivated ${lost.join(', ')}, which it does not delete, as it cannot tell whether the key is its own lost key or someone else's`,
          {
            actions: [
              'delete that key once you know it is the lost one (never used, made by nobody else), then run this command again',
            ],
          },
        )
      }
    }
    if (!hasNew) {
      const mark = ctx.aws.requestLog.length
      let created: Awaited<ReturnType<typeof createAccessKey>>
      try {
        created = await createAccessKey(ctx.aws, s.userName)
      } catch (err) {
        if (err instanceof Error) {
          failedCreates.add(err)
          const attempts = ctx.aws.requestLog.slice(mark).filter((r) => r.operation === 'CreateAccessKey')
          // An attempt AWS answered with a refusal made no key; one it never answered (a dropped
          // connection) or answered with a 5xx may have.
          if (attempts.every((r) => r.status !== undefined && r.status >= 400 && r.status < 500))
            refusedCreates.add(err)
        }
        throw err
      }
      // Before anything else can print, log or journal it.
      redactor.register(created.secretAccessKey)
      // Test-only: the moment a kill loses the secret (the journal does not yet name the key).
      crashHook(ctx, `${rotateKeyStep.id}#created`)
      const { secretAccessKey: _secret, ...made } = created
      left = { ...left, keys: [...left.keys, made], firKeyIds: [...left.firKeyIds, made.id] }
      // The key's id is journaled (with its file) first thing: a run killed later knows it.
      await writeSecretFile(ctx, s.userName, created)
      progress(left)
    }
    const firKeys = left.firKeyIds
    if (isActive(s.oldKeyId)) await deactivate(s.oldKeyId)
    if (params.deleteOld && has(s.oldKeyId)) await deleteOld()
    const keys = await listAccessKeys(ctx.aws, s.userName)
    const { maybeLostKeyIds: _lost, ...state } = s
    const stillThere = lost.filter((id) => keys.some((k) => k.id === id))
    return {
      ...state,
      keys,
      firKeyIds: firKeys.filter((id) => keys.some((k) => k.id === id)),
      ...(stillThere.length ? { maybeLostKeyIds: stillThere } : {}),
      ...(deactivated.length ? { deactivatedKeyIds: deactivated } : {}),
    }
  },
  // A key that appeared on the user while fir's change ran is named, and whose it is: someone
  // else's, unless fir's CreateAccessKey went unanswered (then it may be the key that call made).
  failureNotes(ctx, _params, s, _intended, err, left) {
    const appeared = left?.appearedKeyIds ?? []
    return appeared.map((id) => {
      const k = left!.keys.find((x) => x.id === id)
      const key = `access key ${id}${k ? ` (${k.status}, created ${k.created ?? 'unknown'})` : ''}`
      const check = `check its use (${awsCliCommand(['iam', 'get-access-key-last-used', flag('--access-key-id', id)], ctx.aws)}) and who made it (CloudTrail's CreateAccessKey on user ${escapeTerminal(s.userName)}); to cut it off, journaled and reversible: ${firCommand(['creds', 'rotate-key', flag('--user', s.userName), flag('--access-key', id), '--no-replace'], ctx.aws, { caseDir: ctx.case.dir })}`
      if (failedCreates.has(err) && !refusedCreates.has(err))
        return `${key} appeared on user ${escapeTerminal(s.userName)} while fir was rotating its key; fir's CreateAccessKey got no answer, so it may be the key that call made (its secret lost with the answer) or a key someone else made, and fir cannot tell which: ${check}`
      const why = failedCreates.has(err)
        ? 'AWS refused every CreateAccessKey fir sent'
        : 'fir journals every key it makes, and did not journal this one'
      return `${key} appeared on user ${escapeTerminal(s.userName)} while fir was rotating its key, and fir did not make it (${why}): someone else made it, and it may be an intruder's way back in: ${check}`
    })
  },
  // A re-run stops where this run did while a maybe-lost key holds the new key's place.
  rerunWaitsFor(params, left) {
    const ids = newKeyBlockers(left, params)
    if (!ids.length) return null
    const keys = ids.join(', ')
    return `${keys} ${ids.length > 1 ? 'hold' : 'holds'} the user's second place (AWS allows two keys): delete ${keys} first if it is the lost key, or run it with --delete-old, which deletes the leaked key instead and frees its place`
  },
  withoutOthers: withoutAppeared,
  // The plan could only say where the new key's secret is to go; once made, the note says where it went.
  appliedNotes(ctx, _params, after, notes) {
    const newKey = replacementKey(after)
    if (newKey === undefined) return notes
    const intent = newSecretIntent(ctx, after.userName)
    const done = `new key ${newKey}: its secret was written once to ${secretFilePath(ctx.case.dir, after.userName, newKey)} (0600); deploy it, then delete the file`
    return notes.map((n) => (n === intent ? done : n))
  },
  describe,
  outputs(_params, s) {
    const newKey = replacementKey(s)
    return {
      userName: s.userName,
      oldAccessKeyId: s.oldKeyId,
      oldStatus: s.keys.find((k) => k.id === s.oldKeyId)?.status ?? 'deleted',
      newAccessKeyId: newKey ?? null,
      secretFile: newKey ? secretFileRel(s.userName, newKey) : null,
    }
  },
  compareForUndo(current, record) {
    const oldKeyId = record.prior.oldKeyId
    const toActivate: string[] = []
    const madeSince: string[] = []
    // A deleted key cannot come back; one fir deleted (--delete-old) is its own change's doing.
    const gone = (id: string, byFir: boolean) =>
      madeSince.push(
        byFir
          ? `access key ${id} was deleted by fir (--delete-old); nothing to reactivate (a deleted key cannot come back)`
          : `access key ${id} was deleted since fir deactivated it; nothing to reactivate (a deleted key cannot come back)`,
      )
    const priorOld = record.prior.keys.find((k) => k.id === oldKeyId)
    const now = current.keys.find((k) => k.id === oldKeyId)
    if (priorOld?.status === 'Active' && now?.status !== 'Active') {
      if (now) toActivate.push(oldKeyId)
      else
        gone(
          oldKeyId,
          firStatesOf(record).some((st) => st && !st.keys.some((k) => k.id === oldKeyId)),
        )
    }
    for (const id of deactivatedByFir(record)) {
      const key = current.keys.find((k) => k.id === id)
      if (!key) gone(id, false)
      else if (key.status !== 'Active') toActivate.push(id)
    }
    return {
      result: {
        ...current,
        keys: current.keys.map((k) => (toActivate.includes(k.id) ? { ...k, status: 'Active' } : k)),
      },
      changes: toActivate.length,
      conflicts: [],
      ...(madeSince.length ? { madeSince } : {}),
    }
  },
  irreversible(ctx, record) {
    const { oldKeyId, userName, keys } = record.prior
    if (!keys.some((k) => k.id === oldKeyId)) return null
    // Keys it deactivated besides are still the undo's to reactivate.
    if (deactivatedByFir(record).length) return null
    const deleted = firDeletion(ctx, record)
    if (!deleted) return null
    return `fir deleted access key ${oldKeyId} of user ${userName} (--delete-old; journal #${deleted.seq}, ${deleted.at}), and a deleted key cannot come back; nothing to restore`
  },
  async revert(ctx, record, current, comparison, progress) {
    let left = current
    for (const k of comparison.result.keys) {
      if (k.status !== 'Active' || current.keys.find((x) => x.id === k.id)?.status === 'Active') continue
      await setAccessKeyStatus(ctx.aws, current.userName, k.id, 'Active')
      left = { ...left, keys: left.keys.map((x) => (x.id === k.id ? { ...x, status: 'Active' } : x)) }
      progress(left)
    }
    const keys = await listAccessKeys(ctx.aws, current.userName)
    return { ...current, keys }
  },
})

export interface RotateKeyResult {
  user: string
  /** The IAM user's name as AWS has it (`user` as given when it could not be read). */
  userName: string
  dryRun: boolean
  plans: StepResult[]
  results: StepResult[]
  /**
   * Case-relative path of the 0600 file with the new secret (null under dryRun, on failure, and
   * once the file was deleted, as it should be when the key is deployed).
   */
  secretFile: string | null
  newAccessKeyId: string | null
  /**
   * Whether this run made the new key and wrote its secret file; false when an earlier run of the
   * case did (a re-run: already-applied, or finishing a rotation a crash cut short).
   */
  newKeyMadeNow: boolean
  /**
   * The rotation failed after part of it was made (a new key made, the old one still active): the
   * result still names the new key and its secret file, and `rerun` finishes the rotation.
   */
  partlyMade: boolean
  /**
   * When `partlyMade`: the command that finishes the rotation (it deactivates the old key and makes
   * no other key), with the AWS flags this run was given; when `newKeyBlockedBy` names a key, the
   * command that makes the new key once that key's place is free. Null otherwise.
   */
  rerun: string | null
  /**
   * Keys that may be one an earlier run of this case made and was killed before journaling (its
   * secret then lost), or may be someone else's (the state's `maybeLostKeyIds`): this run
   * deactivates them and never deletes them. `maybeLostKeysActive` names those still active after
   * it (the deactivation refused or not reached; those active now under dryRun).
   */
  maybeLostKeyIds: string[]
  maybeLostKeysActive: string[]
  /**
   * The maybe-lost keys that hold the place the new key needs (AWS allows two keys): the rotation
   * cut the leaked key off and stopped before making the new key, for the responder to choose
   * (see the notes). Empty otherwise.
   */
  newKeyBlockedBy: string[]
}

/** `fir creds rotate-key`: the rotation step for one user's key, through the runner. */
export async function rotateAccessKey(
  ctx: FirContext,
  options: RotateKeyParams & { dryRun?: boolean; confirmed?: boolean; onPlan?: (rows: StepResult[]) => void },
): Promise<RotateKeyResult> {
  const params: RotateKeyParams = {
    user: options.user,
    ...(options.accessKey ? { accessKey: options.accessKey } : {}),
    deleteOld: options.deleteOld === true,
    ...(options.replace === false ? { replace: false } : {}),
  }
  const run = await runSteps(ctx, [{ step: rotateKeyStep, params }], {
    what: `rotate the access key of user ${options.user}`,
    failOnPlanError: true,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.confirmed ? { confirmed: true } : {}),
    ...(options.onPlan ? { onPlan: options.onPlan } : {}),
  })
  const outputs = run.results[0]?.outputs ?? {}
  const newAccessKeyId = typeof outputs.newAccessKeyId === 'string' ? outputs.newAccessKeyId : null
  const before = run.results[0]?.before as RotateKeyState | null | undefined
  const secretFile = typeof outputs.secretFile === 'string' ? outputs.secretFile : null
  const partlyMade = run.results[0]?.partlyMade === true
  const maybeLostKeyIds = before?.maybeLostKeyIds ?? []
  const after = run.results[0]?.after as RotateKeyState | null | undefined
  const maybeLostKeysActive = !before
    ? []
    : maybeLostActive(run.dryRun || !after ? before : { ...after, maybeLostKeyIds })
  // A failed run that made no new key is blocked when what it left gives the new key no place
  // (the state unknown: when the change said so).
  const row = run.results[0]
  const failed = row?.outcome === 'failed' || row?.outcome === 'denied'
  const newKeyBlockedBy =
    !failed || newAccessKeyId !== null
      ? []
      : after
        ? newKeyBlockers(after, params)
        : row?.error?.code === 'limit-exceeded'
          ? maybeLostKeyIds
          : []
  const words = [
    'creds',
    'rotate-key',
    flag('--user', before?.userName ?? options.user),
    ...(before ? [flag('--access-key', before.oldKeyId)] : []),
    ...(params.deleteOld ? ['--delete-old'] : []),
    ...(params.replace === false ? ['--no-replace'] : []),
    ...(ctx.yes ? ['--yes'] : []),
  ]
  return {
    user: options.user,
    userName: before?.userName ?? options.user,
    dryRun: run.dryRun,
    plans: run.plans,
    results: run.results,
    secretFile: secretFile && (await exists(join(ctx.case.dir, secretFile))) ? secretFile : null,
    newAccessKeyId,
    newKeyMadeNow: newAccessKeyId !== null && !(before?.firKeyIds ?? []).includes(newAccessKeyId),
    partlyMade,
    rerun:
      partlyMade || newKeyBlockedBy.length ? firCommand(words, ctx.aws, { caseDir: ctx.case.dir }) : null,
    maybeLostKeyIds,
    maybeLostKeysActive,
    newKeyBlockedBy,
  }
}

/** Reads the new secret back from its 0600 file (for --show-secret only), registering it first. */
export async function readRotatedSecret(caseDir: string, relPath: string): Promise<string> {
  const body = JSON.parse(await readFile(join(caseDir, relPath), 'utf8')) as {
    AccessKey?: { SecretAccessKey?: string }
  }
  const secret = body.AccessKey?.SecretAccessKey ?? ''
  redactor.register(secret)
  return secret
}
