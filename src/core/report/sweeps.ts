import { counted } from '../common/text.js'
import { parseArn } from '../identity.js'
import {
  matchCountText,
  notCheckedText,
  type RecordedSweep,
  sweptAccountsText,
  unqualifiedArn,
} from '../sweep/recorded.js'
import type { SweepFollowUp } from './advice.js'
import { truncate, utcDisplay } from './format.js'
import type { FunctionContainment } from './journal-view.js'
import type { FunctionFacts, SweepMatchView, SweepView } from './model.js'

/** What the report makes of the case's sweeps: the Scope views, the impact lines, the follow-ups. */
export interface SweepReport {
  views: SweepView[]
  /** A line a sweep that matched: how far the indicators reach, what the case sealed and contains. */
  impact: string[]
  /** A line a sweep that matched nothing or swept nothing: no impact, but what was looked at. */
  unmatched: string[]
  followUps: SweepFollowUp[]
}

interface MatchedFunction {
  arn: string
  account: string
  accountName: string
  region: string
  name: string
  versions: string[]
  why: string[]
  sealedIn: string | null
  /** The set the sweep's snapshot sealed without it (nothing of its configuration), or null. */
  notCapturedIn: string | null
  sealError: string | null
}

/**
 * The sweeps of the case as the report shows them: per sweep its facts and its first `limit`
 * matches, each marked sealed (by the sweep's `--snapshot`, or by a snapshot of the case) and
 * contained (by the case's measures in force); an impact line (the blast radius); and the
 * functions still to review and contain, for the recommendations.
 */
export function reportSweeps(
  sweeps: readonly RecordedSweep[],
  functions: readonly FunctionFacts[],
  containment: readonly FunctionContainment[],
  limit: number,
): SweepReport {
  const snapshotOf = (account: string, region: string, name: string) =>
    functions.find((f) => f.account === account && f.region === region && f.name === name)
  const containedNow = (arn: string, name: string) =>
    containment.some((c) => c.contained && (c.arn ? unqualifiedArn(c.arn) === arn : c.name === name))

  const views: SweepView[] = []
  const impact: string[] = []
  const unmatched: string[] = []
  const followUps: SweepFollowUp[] = []
  for (const s of sweeps) {
    // By function: from the file's matches, else from the functions the journal names.
    const byFunction = new Map<string, MatchedFunction>()
    for (const m of s.matches) {
      const f = byFunction.get(m.functionArn) ?? {
        arn: m.functionArn,
        account: m.account,
        accountName: m.accountName,
        region: m.region,
        name: m.function,
        versions: [],
        why: [],
        sealedIn: null,
        notCapturedIn: null,
        sealError: null,
      }
      f.versions.push(m.version)
      if (!f.why.includes(m.why)) f.why.push(m.why)
      f.sealedIn ??= m.sealedIn
      f.notCapturedIn ??= m.notCaptured?.set ?? null
      f.sealError ??= m.sealError
      byFunction.set(m.functionArn, f)
    }
    if (s.fileProblem) {
      for (const arn of s.matchedFunctions) {
        // arn:<partition>:lambda:<region>:<account>:function:<name>, whatever the name holds.
        const [, , , region = '', account = '', , ...name] = arn.split(':')
        byFunction.set(arn, {
          arn,
          account,
          accountName: '',
          region,
          name: name.join(':') || arn,
          versions: [],
          why: [],
          sealedIn: null,
          notCapturedIn: null,
          sealError: null,
        })
      }
    }
    const fns = [...byFunction.values()]
    // A snapshot of the case holds the function, unless it is the set the sweep sealed without it.
    const snapshotted = (f: MatchedFunction) => {
      const snap = snapshotOf(f.account, f.region, f.name)
      return snap && snap.evidenceSet !== f.notCapturedIn ? snap : undefined
    }
    const isSealed = (f: MatchedFunction) => f.sealedIn !== null || snapshotted(f) !== undefined
    const isContained = (f: MatchedFunction) => containedNow(f.arn, f.name)

    const matches: SweepMatchView[] = s.matches.slice(0, limit).map((m) => {
      const f = byFunction.get(m.functionArn)!
      const snap = snapshotted(f)
      const contained = isContained(f)
      const sealed = m.sealedIn
        ? m.sealGaps
          ? `sealed with gaps in evidence/${m.sealedIn} (${truncate(m.sealGaps, 200)})`
          : `sealed in evidence/${m.sealedIn}`
        : snap
          ? `snapshotted in evidence/${snap.evidenceSet}`
          : m.notCaptured
            ? `not sealed: the sweep's snapshot captured nothing of it in evidence/${m.notCaptured.set} (${truncate(m.notCaptured.why, 200)})`
            : m.sealError
              ? `not sealed: the sweep's snapshot failed (${truncate(m.sealError, 200)})`
              : m.sealInterrupted
                ? 'not sealed: the sweep was stopped before its snapshot sealed it'
                : 'not sealed'
      return {
        account: m.accountName ? `${m.account} (${m.accountName})` : m.account,
        region: m.region,
        function: `${m.function}:${m.version}`,
        arn: m.arn,
        why: truncate(m.why, 500),
        sealed: `${sealed}${contained ? '; contained' : ''}`,
        isSealed: m.sealedIn !== null || snap !== undefined,
        contained,
      }
    })
    const journalFunctions = s.fileProblem ? s.matchedFunctions.slice(0, limit) : []
    const more = s.fileProblem
      ? s.matchedFunctions.length - journalFunctions.length
      : s.matches.length - matches.length
    const sealedFunctions = fns.filter(isSealed).length
    const notCaptured = fns.filter((f) => f.notCapturedIn !== null && !isSealed(f)).length
    const containedFunctions = fns.filter(isContained).length
    const atDisplay = utcDisplay(s.at)
    const unchecked = notCheckedText(s.notChecked)
    views.push({
      file: s.file,
      fileSha256: s.fileSha256,
      fileProblem: s.fileProblem,
      at: s.at,
      atDisplay,
      caller: s.caller,
      indicators: s.indicators,
      accountsText: sweptAccountsText(s),
      accountsDenied: s.accountsDenied,
      accountsPartial: s.accountsPartial,
      regions: s.regions,
      functionVersionsSeen: s.functionVersionsSeen,
      matchCount: s.matchCount,
      matchCountText: matchCountText(s),
      gapCount: s.gapCount,
      notCheckedText: unchecked || null,
      nothingSwept: s.nothingSwept,
      matches,
      matchesShown: matches.length,
      moreText:
        more > 0
          ? `and ${more} more (see ${s.fileProblem ? `the journal's sweep entry #${s.seq}` : s.file})`
          : null,
      journalFunctions,
      sealedFunctions,
      containedFunctions,
    })

    // The blast radius, in the summary: how far the indicators reach, and what is still open.
    const looked = s.indicators.length ? ` (${truncate(s.indicators.join('; '), 200)})` : ''
    const unread = s.accountsUnread.length
    const unreadText = `${
      unread
        ? `; ${counted(unread, 'account')} could not be read in full, so no match there says nothing`
        : ''
    }${unchecked ? `; ${unchecked}, so no match says nothing of them` : ''}`
    if (s.nothingSwept) {
      unmatched.push(`The sweep of ${atDisplay}${looked} swept no account: ${s.nothingSwept}.`)
    } else if (s.matchCount === 0) {
      unmatched.push(
        `The sweep of ${atDisplay}${looked} matched no function in the ${counted(s.accounts, 'account')} it walked${unreadText}.`,
      )
    } else {
      const accounts = [...new Set(fns.map((f) => f.account))]
      impact.push(
        `The sweep of ${atDisplay}${looked} matched ${matchCountText(s)} in ${counted(accounts.length, 'account')}${accounts.length ? ` (${truncate(accounts.join(', '), 120)})` : ''}: of those functions this case sealed ${sealedFunctions}${notCaptured ? ` (the sweep's snapshot captured nothing of ${counted(notCaptured, 'function')})` : ''} and contains ${containedFunctions}${s.sealInterrupted ? ` (the sweep was stopped before its snapshot sealed ${counted(s.sealInterrupted, 'function')})` : ''}${unreadText}${s.fileProblem ? ` (${s.fileProblem})` : ''}.`,
      )
    }

    const open = fns.filter((f) => !isContained(f))
    if (open.length) {
      followUps.push({
        file: s.file,
        matchesIn: s.fileProblem ? `the journal's sweep entry #${s.seq}` : s.file,
        atDisplay,
        indicators: s.indicators,
        account: s.callerAccount,
        partition: (s.caller ? parseArn(s.caller)?.partition : undefined) ?? 'aws',
        assumeRole: s.assumeRole,
        functions: open.map((f) => {
          const snap = snapshotted(f)
          return {
            arn: f.arn,
            account: f.account,
            region: f.region,
            label: f.versions.length ? `${f.name} (${f.versions.join(', ')})` : f.name,
            why: f.why.join('; '),
            sealedIn: f.sealedIn ?? snap?.evidenceSet ?? null,
          }
        }),
      })
    }
  }
  return { views, impact, unmatched, followUps }
}
