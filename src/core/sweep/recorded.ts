import { lstat, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { JournalEntry } from '../case/journal.js'
import { sha256Hex } from '../common/hash.js'
import { parseJson } from '../common/json-syntax.js'
import { counted } from '../common/text.js'
import { parseArn } from '../identity.js'
import { asArray, asRecord, asString } from '../report/format.js'
import type { IndicatorKind } from './indicators.js'

/** The journal action of a finished sweep (runSweep): its parameters and its result file's hash. */
export const SWEEP_ACTION = 'sweep'
/**
 * The journal action of one seal of a sweep's `--snapshot` (recordSweepSeal), journaled after the
 * sweep's own entry: the set sealed for an account and region, or why it failed.
 */
export const SWEEP_SEAL_ACTION = 'sweep.seal'
/** The journal action of a sweep as it starts (runSweep): its parameters, the indicators among them. */
export const SWEEP_START_ACTION = 'sweep.start'

/**
 * The folder, in the evidence set a sweep seals of the values `--env-value-sha256` matched
 * (sealLeakedValues), of its one file per account and region.
 */
export const LEAKED_VALUES_DIR = 'sweep-leaked-values'

/**
 * The functions a sweep could not check for one indicator: `--public` where a call it needs failed
 * (lambda:GetPolicy, lambda:ListAliases, lambda:ListFunctionUrlConfigs), `--env-value-sha256` where
 * Lambda could not decrypt an environment (kms:Decrypt). No match says nothing of them.
 */
export interface NotChecked {
  indicator: IndicatorKind
  functions: number
  /** The calls that failed, sorted. */
  calls: string[]
}

const numberOr = (v: unknown, fallback: number) =>
  typeof v === 'number' && Number.isFinite(v) ? v : fallback

const INDICATOR_ORDER: IndicatorKind[] = [
  'role-name',
  'layer-arn',
  'code-sha256',
  'env-value-sha256',
  'public',
]

/** Sums lists of {@link NotChecked} by indicator (in the flags' order), the calls merged. */
export function mergeNotChecked(lists: readonly (readonly NotChecked[])[]): NotChecked[] {
  const by = new Map<IndicatorKind, { functions: number; calls: Set<string> }>()
  for (const n of lists.flat()) {
    const hit = by.get(n.indicator) ?? { functions: 0, calls: new Set<string>() }
    hit.functions += n.functions
    for (const c of n.calls) hit.calls.add(c)
    by.set(n.indicator, hit)
  }
  return INDICATOR_ORDER.filter((k) => by.has(k)).map((indicator) => ({
    indicator,
    functions: by.get(indicator)!.functions,
    calls: [...by.get(indicator)!.calls].sort(),
  }))
}

/**
 * `3 functions could not be checked for --public (lambda:GetPolicy), 1 for --env-value-sha256
 * (kms:Decrypt)`, or '' when every function was checked for every indicator.
 */
export function notCheckedText(list: readonly NotChecked[]): string {
  return list
    .map((n, i) => {
      const count = i === 0 ? `${counted(n.functions, 'function')} could not be checked` : String(n.functions)
      return `${count} for --${n.indicator} (${n.calls.join(', ')})`
    })
    .join(', ')
}

/** A recorded list of {@link NotChecked} (the sweep's file or its journal entry), read defensively. */
function readNotChecked(value: unknown): NotChecked[] {
  return asArray(value).flatMap((raw) => {
    const n = asRecord(raw)
    const indicator = INDICATOR_ORDER.find((k) => k === n.indicator)
    const functions = numberOr(n.functions, 0)
    if (!indicator || functions <= 0) return []
    return [{ indicator, functions, calls: asArray(n.calls).map((c) => asString(c) ?? '?') }]
  })
}

/** One function version a recorded sweep matched, with whether the sweep sealed it. */
export interface RecordedSweepMatch {
  account: string
  accountName: string
  region: string
  function: string
  version: string
  /** The version's ARN (`…:function:f:3`, `…:function:f:$LATEST`). */
  arn: string
  /** The function's ARN without a version: what `fir snapshot` and `fir contain` take. */
  functionArn: string
  /** Every reason, `indicator: detail`, joined with `; ` (attacker-controlled parts as recorded). */
  why: string
  /**
   * The evidence set the sweep's `--snapshot` sealed it in, or null (also when that set holds
   * nothing of it: `notCaptured`).
   */
  sealedIn: string | null
  /** Why the set it was sealed in holds only part of it (`<reason> (<call>)` of a failed read), or null. */
  sealGaps: string | null
  /** The set the sweep's snapshot sealed without it (its configuration could not be read) and why, or null. */
  notCaptured: { set: string; why: string } | null
  /** Why the sweep's snapshot of its account and region failed, or null. */
  sealError: string | null
  /**
   * The sweep was to seal it (`--snapshot`) and was stopped first: no outcome of its seal is
   * journaled (the sweep was interrupted while sealing).
   */
  sealInterrupted: boolean
}

/**
 * A sweep the case journaled, with its result file read only when it is the file fir wrote (its
 * SHA-256 matches the journal's): otherwise `fileProblem` says why, and only the journal's facts
 * (counts, denied accounts, matched functions) are known.
 */
export interface RecordedSweep {
  /** The journal entry's seq and time (when the sweep finished). */
  seq: number
  journaledAt: string
  /** When the sweep started (the file's `startedAt`), else when it was journaled. */
  at: string
  /** `sweeps/<UTC>.json`. */
  file: string
  /** The file's SHA-256 as journaled, or null when the journal does not record it. */
  fileSha256: string | null
  /** Why the file was not used (`… was changed after fir wrote it …`), or null when it was. */
  fileProblem: string | null
  /** Who ran the sweep (the journal entry's actor), and that principal's account. */
  caller: string | null
  callerAccount: string | null
  /** The role assumed in the other accounts. */
  assumeRole: string
  /** What it looked for, as text; a leaked value only by the first 8 hex of its SHA-256. */
  indicators: string[]
  /** Accounts walked; `id (name)` of those swept in full, read in part, or not at all. */
  accounts: number
  accountsSwept: string[]
  accountsPartial: string[]
  accountsDenied: string[]
  /**
   * The accounts denied or with a region not read (`id (name)`): no match there says nothing. An
   * account read in part only because some functions could not be checked is not among them.
   */
  accountsUnread: string[]
  /** The functions it could not check for an indicator ([] when it checked every one, or recorded none). */
  notChecked: NotChecked[]
  /** Accounts not swept because they are not ACTIVE (`id name STATUS`). */
  accountsInactive: string[]
  /** Why nothing was swept (no account listed, or none ACTIVE), or null. */
  nothingSwept: string | null
  regions: string[]
  functionVersionsSeen: number
  matchCount: number
  gapCount: number
  /** The matched functions (ARNs without a version), from the journal. */
  matchedFunctions: string[]
  /** Every match, from the file ([] when the file was not used). */
  matches: RecordedSweepMatch[]
  /**
   * The functions its `--snapshot` was to seal and never did: the sweep was stopped while sealing
   * (each match of them is `sealInterrupted`); 0 when every planned seal has an outcome.
   */
  sealInterrupted: number
}

/** A sweep's file name as the sweep writes it: a plain file in sweeps/. */
const SWEEP_FILE = /^sweeps\/[A-Za-z0-9][A-Za-z0-9._-]*\.json$/

/** The function's ARN from a version's (`…:function:f:3` → `…:function:f`). */
export function unqualifiedArn(arn: string): string {
  return arn.replace(/:(\$LATEST|\d+)$/, '')
}

/** The indicators as text: `role name R`, `environment value sha256:ab12cd34…`, `public`. */
export function indicatorTexts(value: unknown): string[] {
  const ind = asRecord(value)
  const list = (k: string) => asArray(ind[k]).map((v) => asString(v) ?? '')
  return [
    ...list('roleNames').map((r) => `role name ${r}`),
    ...list('layerArns').map((l) => `layer ${l}`),
    ...list('codeSha256').map((h) => `code SHA-256 ${h}`),
    // The SHA-256 of a leaked value, cut as fir shows a redacted secret's (DESIGN §1).
    ...list('envValueSha256').map((h) => `environment value sha256:${h.slice(0, 8)}…`),
    ...(ind.public === true ? ['public (function URL or resource policy open to anyone)'] : []),
  ]
}

/** Reads the sweep file if it is the one fir wrote; the parsed JSON, or why not. */
async function readSweepFile(
  dir: string,
  file: string,
  sha256: string | null,
): Promise<{ doc: Record<string, unknown> } | { problem: string }> {
  if (!SWEEP_FILE.test(file))
    return { problem: `the sweep's file ${JSON.stringify(file)} in the journal is not a file of sweeps/` }
  if (!sha256) return { problem: `${file} is not used: the journal does not record its SHA-256` }
  const path = join(dir, file)
  const st = await lstat(path).catch(() => undefined)
  if (!st) return { problem: `${file} is missing: the sweep's matches are not shown; run fir case verify` }
  if (!st.isFile())
    return {
      problem: `${file} is no longer the file fir wrote (not a regular file): its matches are not shown; run fir case verify`,
    }
  const bytes = await readFile(path)
  if (sha256Hex(bytes) !== sha256)
    return {
      problem: `${file} was changed after fir wrote it (its SHA-256 is journaled): its matches are not shown; run fir case verify`,
    }
  try {
    return { doc: asRecord(parseJson(bytes.toString('utf8'))) }
  } catch (err) {
    return { problem: `${file} could not be read: ${(err as Error).message}` }
  }
}

function accountText(a: Record<string, unknown>): string {
  const id = asString(a.id) ?? '?'
  const name = asString(a.name)
  return name ? `${id} (${name})` : id
}

/**
 * The sweeps journaled in a case, oldest first, each with its result file when that is unchanged.
 * Reads only; the journal is the one the caller read (and checked).
 */
export async function readRecordedSweeps(
  dir: string,
  journal: readonly JournalEntry[],
): Promise<RecordedSweep[]> {
  const out: RecordedSweep[] = []
  // A sweep's seals are journaled after it, one entry each (recordSweepSeal).
  const seals = new Map<string, JournalEntry[]>()
  for (const e of journal) {
    const file = e.action === SWEEP_SEAL_ACTION ? asString(asRecord(e.params).file) : undefined
    if (file) seals.set(file, [...(seals.get(file) ?? []), e])
  }
  for (const e of journal) {
    if (e.action !== SWEEP_ACTION) continue
    const p = asRecord(e.params)
    const file = asString(p.file) ?? ''
    const sha = asString(p.fileSha256)
    const read = await readSweepFile(dir, file, sha && /^[0-9a-f]{64}$/.test(sha) ? sha : null)
    const doc = 'doc' in read ? read.doc : null
    const caller = asString(asRecord(doc?.caller).arn) ?? e.actor?.arn ?? null
    const accounts = asArray(doc?.accounts).map(asRecord)
    const byStatus = (status: string) => accounts.filter((a) => a.status === status).map(accountText)
    const journalDenied = asArray(p.accountsDenied).map((a) => asString(a) ?? '?')
    const regionCount = asArray(p.regions ?? doc?.regions).length
    const regionsRead = (a: Record<string, unknown>) =>
      asArray(a.regionsSwept).length + asArray(a.regionsSkipped).length
    const unread = accounts
      .filter((a) => a.status === 'denied' || (a.status === 'partial' && regionsRead(a) < regionCount))
      .map(accountText)
    // Sealed groups: one evidence set (or one failure) per account and region, in the file (a sweep
    // of an earlier fir, which wrote it after sealing) or journaled after it, each as it was made.
    const fileSeals = (seals.get(file) ?? []).filter((s) => s.seq > e.seq).map((s) => asRecord(s.params))
    const snapshots = [...asArray(doc?.snapshots).map(asRecord), ...fileSeals]
    const sealGaps = fileSeals.reduce((n, s) => n + numberOr(s.gapCount, 0), 0)
    // What --snapshot was to seal: a function there with no outcome was never sealed.
    const planned = new Set(
      asArray(doc?.sealPlan).flatMap((raw) => {
        const g = asRecord(raw)
        return asArray(g.functions).map((f) => `${asString(g.account)}/${asString(g.region)}/${asString(f)}`)
      }),
    )
    const unsealed = new Set<string>()
    const matches: RecordedSweepMatch[] = asArray(doc?.matches).map((raw) => {
      const m = asRecord(raw)
      const arn = asString(m.arn) ?? ''
      const functionArn = unqualifiedArn(arn)
      const account = asString(m.account) ?? ''
      const region = asString(m.region) ?? ''
      const group = snapshots.find(
        (s) =>
          s.account === account && s.region === region && asArray(s.functions).some((f) => f === functionArn),
      )
      const set = group && !group.error ? (asString(group.set) ?? null) : null
      // What the set holds of the function (sweeps before fir recorded it: taken as sealed).
      const sealed = asArray(group?.sealed)
        .map(asRecord)
        .find((f) => f.arn === functionArn)
      const state = asString(sealed?.state)
      const sealInterrupted = !group && planned.has(`${account}/${region}/${functionArn}`)
      if (sealInterrupted) unsealed.add(functionArn)
      return {
        account,
        accountName: asString(m.accountName) ?? '',
        region,
        function: asString(m.function) ?? (functionArn.split(':').at(6) || '?'),
        version: asString(m.version) ?? '?',
        arn,
        functionArn,
        why:
          asArray(m.reasons)
            .map((r) => {
              const x = asRecord(r)
              return `${asString(x.indicator) ?? '?'}: ${asString(x.detail) ?? ''}`
            })
            .join('; ') || 'not recorded',
        sealedIn: group && !group.error && state !== 'not-captured' ? set : null,
        sealGaps: state === 'captured-with-gaps' ? (asString(sealed?.why) ?? 'a read failed') : null,
        notCaptured:
          state === 'not-captured' && set
            ? { set, why: asString(sealed?.why) ?? 'its configuration could not be read' }
            : null,
        sealError: group?.error ? (asString(group.error) ?? 'failed') : null,
        sealInterrupted,
      }
    })
    const startedAt = asString(doc?.startedAt)
    out.push({
      seq: e.seq,
      journaledAt: e.at,
      at: startedAt && !Number.isNaN(Date.parse(startedAt)) ? startedAt : e.at,
      file,
      fileSha256: sha,
      fileProblem: 'problem' in read ? read.problem : null,
      caller,
      callerAccount:
        asString(asRecord(doc?.caller).account) ?? (caller ? (parseArn(caller)?.account ?? null) : null),
      assumeRole: asString(p.assumeRole) ?? asString(doc?.assumeRole) ?? '',
      indicators: indicatorTexts(p.indicators ?? doc?.indicators),
      accounts: numberOr(p.accounts, accounts.length),
      accountsSwept: byStatus('swept'),
      accountsPartial: byStatus('partial'),
      accountsDenied: doc ? byStatus('denied') : journalDenied,
      accountsUnread: doc ? unread : journalDenied,
      notChecked: readNotChecked(doc?.notChecked ?? p.notChecked),
      accountsInactive: asArray(doc?.inactiveAccounts).map((x) => {
        const a = asRecord(x)
        return [asString(a.id) ?? '?', asString(a.name), asString(a.status)].filter(Boolean).join(' ')
      }),
      nothingSwept: asString(doc?.nothingSwept),
      regions: asArray(p.regions ?? doc?.regions).map((r) => asString(r) ?? '?'),
      functionVersionsSeen: numberOr(p.functionVersionsSeen, numberOr(doc?.functionVersionsSeen, 0)),
      matchCount: numberOr(p.matchCount, matches.length),
      gapCount: numberOr(p.gapCount, 0) + sealGaps,
      matchedFunctions: asArray(p.matchedFunctions).map((f) => asString(f) ?? '?'),
      matches,
      sealInterrupted: unsealed.size,
    })
  }
  return out
}

/**
 * The accounts of a sweep in words: `3 accounts: 2 swept, 1 denied (222233334444)`, with those
 * read in part; without the file, only the denied ones are known.
 */
export function sweptAccountsText(s: RecordedSweep): string {
  const parts: string[] = []
  if (!s.fileProblem) parts.push(`${s.accountsSwept.length} swept`)
  if (s.accountsPartial.length)
    parts.push(`${s.accountsPartial.length} read in part (${s.accountsPartial.join(', ')})`)
  if (s.accountsDenied.length)
    parts.push(`${s.accountsDenied.length} denied (${s.accountsDenied.join(', ')})`)
  else if (s.fileProblem) parts.push('none denied')
  const inactive = s.accountsInactive.length
    ? `; not swept (not ACTIVE): ${s.accountsInactive.join(', ')}`
    : ''
  return `${counted(s.accounts, 'account')}: ${parts.join(', ')}${inactive}`
}

/** What a sweep matched, in words: `121 function versions (40 functions)`. */
export function matchCountText(s: RecordedSweep): string {
  const fns = s.matchedFunctions.length || new Set(s.matches.map((m) => m.functionArn)).size
  return `${counted(s.matchCount, 'function version')} (${counted(fns, 'function')})`
}
