import { classifyFailure, gapReason } from '../../aws/errors.js'
import { getAccessKeyLastUsed, listAccessKeys, listUserNames } from '../../aws/iam.js'
import { getAccessKeyAccount } from '../../aws/sts.js'
import { AccessDeniedError, FirError, NotFoundError, UsageError } from '../../errors.js'
import { readSealedJson, readSealedManifest, sealedSets } from '../case/evidence-store.js'
import type { JournalEntry } from '../case/journal.js'
import { awsFlagWords, commandWords, firCommand, flag } from '../common/suggest.js'
import { shellArg } from '../common/text.js'
import type { FirContext } from '../context.js'
import { callerIdentity } from '../identity.js'
import { type KeySighting, keySightings } from './key-sightings.js'

/** The part of a snapshot's summary.json this module reads (DESIGN §3, BRIEF shared formats). */
export interface SummaryFunction {
  name: string
  arn: string
  region?: string
  role?: string
  roleName?: string
  /** The qualifier the entry describes ($LATEST unless --qualifier; older summaries omit it). */
  qualifier?: string
  accessKeyIds?: string[]
}

export interface SnapshotSummaryFile {
  set: string
  takenAt?: string
  functions: SummaryFunction[]
}

/**
 * The summary.json of every evidence set the journal seals, oldest seal first. Sets without one
 * are skipped; a folder no seal names is no set. A set gone, or a manifest or summary.json
 * changed since it was sealed, is refused (readSealedManifest, readSealedFile: exit 3).
 */
export async function readSnapshotSummaries(
  caseDir: string,
  journal: readonly JournalEntry[],
): Promise<SnapshotSummaryFile[]> {
  const out: SnapshotSummaryFile[] = []
  for (const set of sealedSets(journal)) {
    const { manifest, dir } = await readSealedManifest(caseDir, set)
    const s = (await readSealedJson(caseDir, set.name, manifest, 'summary.json', dir)) as
      | { takenAt?: string; functions?: SummaryFunction[] }
      | undefined
    if (s && Array.isArray(s.functions))
      out.push({ set: set.name, ...(s.takenAt ? { takenAt: s.takenAt } : {}), functions: s.functions })
  }
  return out
}

export interface LeakedKey {
  accessKeyId: string
  /**
   * Functions whose environment held it in any sealed snapshot of the case, each with the newest
   * snapshot that found it there and, when the function's newest snapshot did not, that one.
   */
  foundIn: KeySighting[]
  /** The account that owns the key (sts:GetAccessKeyInfo), or null when that was not allowed. */
  account: string | null
  owner: string | null
  /** How the owner was found: GetAccessKeyLastUsed, or by listing users' keys. */
  ownerFrom: 'iam:GetAccessKeyLastUsed' | 'iam:ListAccessKeys' | null
  status: string | null
  lastUsed: { date: string | null; service: string | null; region: string | null } | null
  /** The command that rotates it, when the owner is known and the key still works. */
  proposal: string | null
  note?: string
}

const LIST_USERS_LIMIT = 500

/**
 * Long-term access keys found in the case's function environments (snapshot summaries'
 * `accessKeyIds`, of every sealed snapshot: a key a later snapshot no longer finds is still
 * leaked): for each, the account that owns it (sts:GetAccessKeyInfo: a key of another
 * account is only pointed there), the owning user (GetAccessKeyLastUsed; else, where allowed, ListUsers
 * and ListAccessKeys), its status and last use, and the `fir creds rotate-key` command to run.
 * Reads only. A denied lookup is a gap; the key is still listed.
 */
export async function findLeakedKeys(ctx: FirContext): Promise<LeakedKey[]> {
  const summaries = await readSnapshotSummaries(ctx.case.dir, ctx.case.journal.all())
  const byKey = new Map<string, LeakedKey>()
  for (const [id, foundIn] of keySightings(summaries)) {
    if (!id.startsWith('AKIA')) continue // ASIA… keys are temporary: revoke the session instead
    byKey.set(id, {
      accessKeyId: id,
      foundIn,
      account: null,
      owner: null,
      ownerFrom: null,
      status: null,
      lastUsed: null,
      proposal: null,
    })
  }
  let userIndex: Map<string, string> | null | undefined
  const keyOwnerByListing = async (id: string): Promise<string | null> => {
    if (userIndex === undefined) {
      userIndex = null
      try {
        const users = await listUserNames(ctx.aws)
        const index = new Map<string, string>()
        for (const u of users.slice(0, LIST_USERS_LIMIT)) {
          for (const key of await listAccessKeys(ctx.aws, u)) index.set(key.id, u)
        }
        if (users.length > LIST_USERS_LIMIT)
          ctx.gaps.add({
            what: `owners of keys among ${users.length} users (only the first ${LIST_USERS_LIMIT} were searched)`,
            call: 'iam:ListAccessKeys',
            reason: 'too many users to list every key',
          })
        userIndex = index
      } catch (err) {
        if (!(err instanceof FirError)) throw err
        ctx.gaps.add({
          what: 'owners of access keys by listing users',
          call: 'iam:ListUsers',
          reason: err.message,
        })
      }
    }
    return userIndex?.get(id) ?? null
  }
  const here = byKey.size > 0 ? (await callerIdentity(ctx.aws)).account : ''
  for (const k of byKey.values()) {
    k.account = await keyAccount(ctx, k.accessKeyId, true)
    if (k.account && k.account !== here) {
      // IAM in this account knows nothing of another account's key: say where to rotate it.
      k.note = otherAccountNote(k.accessKeyId, k.account, here, ctx)
      continue
    }
    try {
      const used = await getAccessKeyLastUsed(ctx.aws, k.accessKeyId)
      k.lastUsed = { date: used.lastUsedDate, service: used.serviceName, region: used.region }
      if (used.userName) {
        k.owner = used.userName
        k.ownerFrom = 'iam:GetAccessKeyLastUsed'
      }
    } catch (err) {
      if (!(err instanceof FirError)) throw err
      const cause = (err as { cause?: unknown }).cause
      if (err instanceof AccessDeniedError || classifyFailure(cause) === 'denied')
        ctx.gaps.add({
          what: `last use of access key ${k.accessKeyId}`,
          call: 'iam:GetAccessKeyLastUsed',
          reason: gapReason(cause ?? err),
        })
      else if (err instanceof NotFoundError)
        k.note = `IAM in account ${here} does not know this key: it was deleted, or it is not a real key (nothing to rotate here)`
      else k.note = `GetAccessKeyLastUsed: ${err.message}`
    }
    if (!k.owner) {
      const owner = await keyOwnerByListing(k.accessKeyId)
      if (owner) {
        k.owner = owner
        k.ownerFrom = 'iam:ListAccessKeys'
      }
    }
    if (k.owner) {
      try {
        k.status =
          (await listAccessKeys(ctx.aws, k.owner)).find((x) => x.id === k.accessKeyId)?.status ?? 'deleted'
      } catch (err) {
        if (!(err instanceof FirError)) throw err
        ctx.gaps.add({
          what: `status of access key ${k.accessKeyId}`,
          call: 'iam:ListAccessKeys',
          reason: err.message,
        })
      }
      if (k.status !== 'Inactive' && k.status !== 'deleted')
        k.proposal = firCommand(
          ['creds', 'rotate-key', flag('--user', k.owner), flag('--access-key', k.accessKeyId)],
          ctx.aws,
          {
            caseDir: ctx.case.dir,
          },
        )
    } else {
      k.note ??=
        'owner not found in this account: the key may belong to another account (ask its owner to rotate it)'
    }
  }
  return [...byKey.values()].sort((a, b) => a.accessKeyId.localeCompare(b.accessKeyId))
}

/**
 * The IAM user that owns a key, for rotating it. A key IAM cannot place is an error that says
 * where it belongs (sts:GetAccessKeyInfo, when allowed) and what to do.
 */
export async function keyOwnerForRotation(ctx: FirContext, accessKeyId: string): Promise<string> {
  // The account first: IAM lookups of another account's key are no guide to a user here.
  const here = (await callerIdentity(ctx.aws)).account
  const account = await keyAccount(ctx, accessKeyId, false)
  if (account && account !== here) {
    throw new UsageError(
      `unable to rotate access key ${accessKeyId} here: it ${otherAccountNote(accessKeyId, account, here, ctx)}`,
    )
  }
  let unknownToIam = false
  try {
    const owner = (await getAccessKeyLastUsed(ctx.aws, accessKeyId)).userName
    if (owner) return owner
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err
    unknownToIam = true
  }
  throw new UsageError(
    `unable to rotate access key ${accessKeyId}: ${unknownToIam ? `IAM in account ${here} does not know it (deleted already, or not a real key)` : 'IAM does not say which user owns it'}`,
    {
      actions: [
        'pass `user:` in the step, or rotate it with `fir creds rotate-key --user NAME --access-key ID`',
        'see `fir creds keys` for every key in the case, its account and owner',
      ],
    },
  )
}

/**
 * The account that owns a key (sts:GetAccessKeyInfo), or null when AWS would not say; with
 * `gap`, a refusal is recorded as a gap of the run.
 */
async function keyAccount(ctx: FirContext, accessKeyId: string, gap: boolean): Promise<string | null> {
  try {
    return await getAccessKeyAccount(ctx.aws, accessKeyId)
  } catch (err) {
    if (!(err instanceof FirError)) throw err
    if (gap)
      ctx.gaps.add({
        what: `account of access key ${accessKeyId}`,
        call: 'sts:GetAccessKeyInfo',
        reason: gapReason((err as { cause?: unknown }).cause ?? err),
      })
    return null
  }
}

/** What to do about a key another account owns. */
export function otherAccountNote(
  accessKeyId: string,
  account: string,
  here: string,
  ctx: FirContext,
): string {
  // The placeholders stay unquoted: they are to be replaced, not pasted.
  const flags = commandWords(awsFlagWords(ctx.aws, { roleArn: null }))
  return `belongs to account ${account}, not this one (${here}): rotate it there, e.g. \`fir creds rotate-key --user <its user> --access-key ${accessKeyId} --role-arn arn:aws:iam::${account}:role/<responder role>${flags ? ` ${flags}` : ''} ${commandWords([flag('--case', ctx.case.dir)])}\``
}
