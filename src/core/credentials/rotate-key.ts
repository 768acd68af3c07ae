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
import { NotFoundError, UsageError } from '../../errors.js'
import { safeSegment } from '../case/evidence-store.js'
import type { JournalEntry } from '../case/journal.js'
import { recordedSecretFiles, SECRET_FILE_ACTION, SECRETS_DIR, unplacedSecretFiles } from '../case/secrets.js'
import { ensureDir, exists, writeFileAtomic } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { redactor } from '../common/redact.js'
import { awsCliCommand, firCommand } from '../common/suggest.js'
import { escapeTerminal } from '../common/text.js'
import type { FirContext } from '../context.js'
import { readIamEntity } from '../identity.js'
import { crashHook, defineStep, isDeleted } from '../steps/define-step.js'
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
   * Keys fir made in a run of this case killed before it journaled them: their secret is lost
   * (see {@link lostKeyIds}). Present only when there are some; the change deletes them.
   */
  lostKeyIds?: string[]
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

/** The `started` entries of this user's rotations meant to make a key whose run never journaled an outcome. */
function cutShortRotations(ctx: FirContext, userName: string): JournalEntry[] {
  const entries = ctx.case.journal.all()
  return entries.filter((e, i) => {
    const prior = e.prior as Partial<RotateKeyState> | undefined
    if (e.action !== 'credentials.rotate-key' || e.outcome !== 'started' || prior?.userName !== userName)
      return false
    if ('undoOf' in (e.params ?? {})) return false
    const intended = (e.undo as { intendedAfter?: Partial<RotateKeyState> } | undefined)?.intendedAfter
    if (!intended?.keys?.some((k) => k.id === NEW_KEY)) return false
    // The run's next entry on this change is its outcome; a `started` one (a re-run) or none means
    // the process died in between.
    const next = entries.slice(i + 1).find((x) => x.action === e.action && x.target === e.target)
    return next === undefined || next.outcome === 'started'
  })
}

/**
 * Keys fir made whose secret is lost: AWS returns a key's secret only to the CreateAccessKey call,
 * and a run killed after that call and before journaling the key (its `case.secret-file` record,
 * journaled once the secret is synced to disk: see writeSecretFile) took the secret with it,
 * leaving an active key nobody holds (the temporary it may have left unrecorded is swept). Such a key is one the user has now
 * that a cut-short rotation's journaled prior (ListAccessKeys, just before its create) did not
 * list, that no journal entry names as fir's, and that AWS says was created within
 * {@link LOST_KEY_MARGIN_MS} of that rotation's `started` entry; one such key a rotation at most
 * (it makes one). Never the key asked for by `--access-key`.
 */
function lostKeyIds(
  ctx: FirContext,
  userName: string,
  keys: AccessKeyInfo[],
  ours: string[],
  asked: string | undefined,
): { id: string; startedAt: string }[] {
  const found: { id: string; startedAt: string }[] = []
  for (const e of cutShortRotations(ctx, userName)) {
    const known = new Set((e.prior as RotateKeyState).keys?.map((k) => k.id) ?? [])
    const at = Date.parse(e.at) + (ctx.clock.skewMs ?? 0)
    const made = keys.filter(
      (k) =>
        !known.has(k.id) &&
        !ours.includes(k.id) &&
        k.id !== asked &&
        k.created !== null &&
        Math.abs(Date.parse(k.created) - at) <= LOST_KEY_MARGIN_MS,
    )
    if (made.length === 1 && !found.some((f) => f.id === made[0]!.id))
      found.push({ id: made[0]!.id, startedAt: e.at })
  }
  return found
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
      : s.lostKeyIds?.includes(k.id)
        ? ' (made by fir, secret lost)'
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
  return cutOff && (params.replace === false || madeKey(s) !== undefined) && !s.lostKeyIds?.length
}

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
 * nobody holds the secret of, unrecorded (lostKeyIds: the next rotation deletes it), and its
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
  const text = `${JSON.stringify(body, null, 2)}\n`
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
 * file was deleted. A key a run killed between CreateAccessKey and journaling it left (its secret
 * lost: {@link lostKeyIds}) is not counted as the user's: the change cuts the leaked key off, then
 * deactivates and deletes that key, then makes the new one. Each key rotated out is its own change
 * (target `<user ARN>#<key id>`).
 * IAM: iam:GetUser, iam:ListAccessKeys, iam:CreateAccessKey, iam:UpdateAccessKey, iam:DeleteAccessKey
 * (with deleteOld, or for a lost key).
 * Undo: reactivates the old key — only when `rotate-key` is named in `fir restore --actions`
 * (it makes the leaked key valid again); the new key is kept. A key fir deleted (`deleteOld`)
 * cannot come back: restore lists that rotation as skipped, naming when fir deleted it. A key (or
 * user) deleted since by someone else has nothing to reactivate: named, and undone.
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
  undoPolicy: 'named',
  async read(ctx, params) {
    const user = await readIamEntity(ctx.aws, 'user', params.user, () => getUserInfo(ctx.aws, params.user))
    const keys = await listAccessKeys(ctx.aws, user.name)
    const ours = firKeyIds(ctx, user.name, keys)
    const lost = lostKeyIds(ctx, user.name, keys, ours, params.accessKey)
    const lostIds = lost.map((l) => l.id)
    // A lost key is fir's, not a second key of the user's: neither one to choose between nor one
    // that fills AWS's two.
    const oldKeyId = chooseOldKey(
      params,
      keys,
      [...ours, ...lostIds],
      user.name,
      journaledOldKeys(ctx, user.name),
    )
    const state: RotateKeyState = {
      userName: user.name,
      userArn: user.arn,
      oldKeyId,
      keys,
      firKeyIds: ours,
      ...(lostIds.length ? { lostKeyIds: lostIds } : {}),
    }
    const made = madeKey(state)
    const needsNew = replacementKey(state) === undefined && params.replace !== false
    const usersKeys = keys.filter((k) => !lostIds.includes(k.id))
    if (needsNew && usersKeys.length >= 2 && !rotated(state, params)) {
      const other = usersKeys.filter((k) => k.id !== oldKeyId)
      throw new UsageError(
        `unable to rotate access key ${oldKeyId} of user ${escapeTerminal(user.name)}: the user already has two keys (${keys.map(keyLine).join('; ')}) and AWS allows no third`,
        {
          actions: [
            `to cut the leaked key off now without a new key, journaled and reversible: ${firCommand(['creds', 'rotate-key', '--user', user.name, '--access-key', oldKeyId, '--no-replace'], ctx.aws, { caseDir: ctx.case.dir })}`,
            `to cut the leaked key off now, deactivate it (whatever uses it stops working): ${awsCliCommand(['iam', 'update-access-key', '--user-name', user.name, '--access-key-id', oldKeyId, '--status', 'Inactive'], ctx.aws)}`,
            `delete the other key first if it is unused: ${awsCliCommand(['iam', 'delete-access-key', '--user-name', user.name, '--access-key-id', other[0]?.id ?? 'ID'], ctx.aws)}`,
            `check its last use first: ${awsCliCommand(['iam', 'get-access-key-last-used', '--access-key-id', other[0]?.id ?? 'ID'], ctx.aws)}`,
            'then run this command again',
          ],
        },
      )
    }
    const madeStatus = keys.find((k) => k.id === made)?.status
    return {
      target: rotateKeyTarget(user.arn, oldKeyId),
      label: user.name,
      state,
      // What the rotation is to do, said as intent: the notes stay on a result that failed part
      // way, whose table shows what holds.
      notes: [
        ...lost.map((l) => {
          const k = keys.find((x) => x.id === l.id)!
          return `${l.id} (${k.status}, created ${k.created}) is a key fir made in a run of this case that was killed before it saved the key's secret (that rotation, started ${l.startedAt}, never finished, and the user's keys read just before it did not include ${l.id}): the secret is lost, as AWS shows it only when a key is made, so nothing can use the key. fir cuts the leaked key off first, then deactivates and deletes ${l.id} (it cannot be restored; nothing needs it)`
        }),
        params.replace === false
          ? `no new key is to be made for ${escapeTerminal(user.name)}: whatever uses ${oldKeyId} stops working once it is cut off`
          : made === undefined
            ? `the new secret is to be written once to ${join(ctx.case.dir, SECRETS_DIR, `${safeSegment(user.name)}-<new key id>.json`)} (0600); deploy it, then delete the file`
            : `the new key ${made}${madeStatus === 'Active' ? '' : ` (${madeStatus} now)`} was made by an earlier run of this case: ${await whereSecretIs(ctx, user.name, made)}`,
        oldKeyNote(state, params),
      ],
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
    const { lostKeyIds: lost = [], ...rest } = s
    const keys = s.keys
      .filter((k) => !(params.deleteOld && k.id === s.oldKeyId) && !lost.includes(k.id))
      .map((k) => (k.id === s.oldKeyId ? { ...k, status: 'Inactive' } : k))
    if (!hasNew) keys.push({ id: NEW_KEY, status: 'Active', created: null })
    return { ...rest, keys }
  },
  isApplied: (_ctx, params, s) => rotated(s, params),
  async change(ctx, params, s, _intended, progress) {
    const hasNew = replacementKey(s) !== undefined || params.replace === false
    // The state each call leaves, reported so that a later call's failure loses no new key.
    let left = s
    const deactivate = async (id: string) => {
      await setAccessKeyStatus(ctx.aws, s.userName, id, 'Inactive')
      left = { ...left, keys: left.keys.map((k) => (k.id === id ? { ...k, status: 'Inactive' } : k)) }
      progress(left)
    }
    const isActive = (id: string) => left.keys.some((k) => k.id === id && k.status === 'Active')
    const old = s.keys.find((k) => k.id === s.oldKeyId)
    const lost = s.lostKeyIds ?? []
    if (lost.length) {
      // The leaked key is cut off first, so that a refused delete leaves it cut off all the same;
      // a lost key is deactivated before it is deleted for the same reason. Its deletion frees
      // the place the new key needs (AWS allows two).
      if (isActive(s.oldKeyId)) await deactivate(s.oldKeyId)
      for (const id of lost) {
        if (isActive(id)) await deactivate(id)
        await deleteAccessKey(ctx.aws, s.userName, id)
        const rest = left.lostKeyIds?.filter((x) => x !== id) ?? []
        const { lostKeyIds: _done, ...state } = left
        left = {
          ...state,
          keys: left.keys.filter((k) => k.id !== id),
          ...(rest.length ? { lostKeyIds: rest } : {}),
        }
        progress(left)
      }
    }
    if (!hasNew) {
      const created = await createAccessKey(ctx.aws, s.userName)
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
    if (params.deleteOld && old) {
      await deleteAccessKey(ctx.aws, s.userName, s.oldKeyId)
      progress({ ...left, keys: left.keys.filter((k) => k.id !== s.oldKeyId) })
    }
    const keys = await listAccessKeys(ctx.aws, s.userName)
    const { lostKeyIds: _lost, ...state } = s
    const stillLost = lost.filter((id) => keys.some((k) => k.id === id))
    return {
      ...state,
      keys,
      firKeyIds: firKeys.filter((id) => keys.some((k) => k.id === id)),
      ...(stillLost.length ? { lostKeyIds: stillLost } : {}),
    }
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
    const priorOld = record.prior.keys.find((k) => k.id === record.prior.oldKeyId)
    const now = current.keys.find((k) => k.id === record.prior.oldKeyId)
    if (priorOld?.status !== 'Active' || now?.status === 'Active')
      return { result: current, changes: 0, conflicts: [] }
    if (!now) {
      // Deleted since (by someone else: a key fir deleted is irreversible): nothing to reactivate,
      // and no one can bring it back. Not a conflict: the undo is done.
      return {
        result: current,
        changes: 0,
        conflicts: [],
        madeSince: [
          `access key ${record.prior.oldKeyId} was deleted since fir deactivated it; nothing to reactivate (a deleted key cannot come back)`,
        ],
      }
    }
    return {
      result: {
        ...current,
        keys: current.keys.map((k) => (k.id === now.id ? { ...k, status: 'Active' } : k)),
      },
      changes: 1,
      conflicts: [],
    }
  },
  irreversible(ctx, record) {
    const { oldKeyId, userName, keys } = record.prior
    if (!keys.some((k) => k.id === oldKeyId)) return null
    const deleted = firDeletion(ctx, record)
    if (!deleted) return null
    return `fir deleted access key ${oldKeyId} of user ${userName} (--delete-old; journal #${deleted.seq}, ${deleted.at}), and a deleted key cannot come back; nothing to restore`
  },
  async revert(ctx, record, current) {
    await setAccessKeyStatus(ctx.aws, current.userName, record.prior.oldKeyId, 'Active')
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
   * no other key), with the AWS flags this run was given. Null otherwise.
   */
  rerun: string | null
  /**
   * Keys an earlier run of this case made and was killed before journaling, so their secret is
   * lost (the state's `lostKeyIds`): this run deletes them. `lostKeysLeft` names those still there
   * after it (the delete refused or not reached; all of them under dryRun).
   */
  lostKeyIds: string[]
  lostKeysLeft: string[]
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
  const lostKeyIds = before?.lostKeyIds ?? []
  const after = run.results[0]?.after as RotateKeyState | null | undefined
  const lostKeysLeft = lostKeyIds.filter((id) => run.dryRun || !after || after.keys.some((k) => k.id === id))
  const words = [
    'creds',
    'rotate-key',
    '--user',
    before?.userName ?? options.user,
    ...(before ? ['--access-key', before.oldKeyId] : []),
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
    rerun: partlyMade ? firCommand(words, ctx.aws, { caseDir: ctx.case.dir }) : null,
    lostKeyIds,
    lostKeysLeft,
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
