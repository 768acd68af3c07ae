import { scrubAndCut } from '../common/redact.js'
import { counted } from '../common/text.js'

/**
 * `unknown: <reason> (<call>)` for a fact whose read failed, from the gaps that concern it (the
 * first one named, the others counted). A failed read leaves the same empty value as "nothing
 * there" (a denied GetFunctionConcurrency is `null`, like an unreserved function), so only the
 * gaps tell the two apart; the snapshot's terminal summary and the report word it alike. Plain
 * text: the caller escapes it for where it goes. Null when no gap concerns the fact.
 */
export function unknownFromGaps(hits: readonly { call: string; reason: string }[]): string | null {
  const why = whyFromGaps(hits)
  return why === null ? null : `unknown: ${why}`
}

/**
 * Whether a gap is the failed GetFunction of `qualifier` (`configuration and code location
 * (<qualifier>) of <name>`): then nothing of the function's configuration at that qualifier is
 * known, and the set holds none of it.
 */
export function isConfigurationGap(g: { call: string; what: string }, qualifier: string): boolean {
  return (
    g.call === 'lambda:GetFunction' && /^configuration\b/.test(g.what) && g.what.includes(`(${qualifier})`)
  )
}

/** `<reason> (<call>)`: why a read failed, from the gaps that concern it (unknownFromGaps without `unknown: `). */
export function whyFromGaps(hits: readonly { call: string; reason: string }[]): string | null {
  // The gaps are in the order their calls failed, which concurrent reads make vary from run to
  // run: the one named is the first by call and reason, so the same failures read the same.
  const g = hits.length < 2 ? hits[0] : [...hits].sort(byCallThenReason)[0]
  if (!g) return null
  const reason = scrubAndCut(g.reason, 200) || 'the call failed'
  // `denied: … not authorized to perform: lambda:ListAliases` already names the call.
  const call = g.call && !reason.includes(g.call) ? ` (${g.call})` : ''
  const more = hits.length > 1 ? `; and ${counted(hits.length - 1, 'more gap')}` : ''
  return `${reason}${call}${more}`
}

function byCallThenReason(a: { call: string; reason: string }, b: { call: string; reason: string }): number {
  return a.call < b.call ? -1 : a.call > b.call ? 1 : a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0
}
