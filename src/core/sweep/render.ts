import { escapeTerminal, formatTable } from '../common/text.js'
import { notCheckedText } from './recorded.js'
import { type SealedFunction, type SweepResult, sweptAs } from './sweep.js'

/**
 * What `fir sweep` prints: the matches (or why "no match" is, or is not, a clean result), the
 * accounts, the snapshots and where the result is kept. Names and reasons are attacker-reachable:
 * all escaped.
 */
export function renderSweep(r: SweepResult): string {
  const e = (v: unknown) => escapeTerminal(v)
  const denied = r.accounts.filter((a) => a.status === 'denied').length
  if (r.nothingSwept) {
    return [
      `No account swept: ${e(r.nothingSwept)}. No function was checked: this is not a clean result.`,
      ...(r.inactiveAccounts.length > 0
        ? [
            `Not swept (not ACTIVE): ${r.inactiveAccounts.map((a) => `${a.id} ${e(a.name)} ${a.status}`).join(', ')}`,
          ]
        : []),
      '',
      `Result kept in ${r.file} (journaled with its hash).`,
    ].join('\n')
  }
  const lines = [
    `Swept ${r.accounts.length} account(s) × ${r.regions.length} region(s) ${e(
      sweptAs(
        r.accounts.map((a) => a.id),
        r.caller.account,
        r.assumeRole,
      ),
    )}: ${r.functionVersionsSeen} function version(s) read, ${r.matches.length} match(es)${denied ? `, ${denied} account(s) denied` : ''} in ${(r.wallMs / 1000).toFixed(1)} s`,
    '',
  ]
  // Accounts denied or with a region not read, and functions an indicator could not be checked
  // on: no match there is not a clean result.
  const unread = r.accounts.filter(
    (a) => a.status === 'denied' || a.regionsSwept.length + a.regionsSkipped.length < r.regions.length,
  ).length
  const unchecked = notCheckedText(r.notChecked)
  if (r.matches.length === 0) {
    const andUnchecked = unchecked ? ` and ${unchecked}` : ''
    lines.push(
      unread === 0 && !unchecked
        ? 'No function matched.'
        : unread === 0
          ? `No function matched in what was checked, but ${unchecked} (see the gaps): this is not a clean result.`
          : unread === r.accounts.length
            ? `No function matched, but no account was read in full${andUnchecked} (see the gaps): this is not a clean result.`
            : `No function matched in what was read; ${unread} of ${r.accounts.length} account(s) were not read in full${andUnchecked} (see the gaps): this is not a clean result.`,
    )
  } else {
    lines.push(
      formatTable(
        ['account', 'region', 'function', 'version', 'why'],
        r.matches.map((m) => [
          m.account,
          m.region,
          e(m.function),
          e(m.version),
          m.reasons.map((x) => `${x.indicator}: ${e(x.detail)}`).join('; '),
        ]),
      ),
    )
    if (unchecked) lines.push(`${unchecked} (see the gaps): one of them may match too.`)
  }
  lines.push(
    '',
    'Accounts',
    formatTable(
      ['account', 'name', 'status', 'regions', 'versions', 'requests', 'max req/s'],
      r.accounts.map((a) => [
        a.id,
        e(a.name) || '-',
        a.status,
        `${a.regionsSwept.length}/${r.regions.length}${a.regionsSkipped.length ? ` (${a.regionsSkipped.length} not enabled)` : ''}`,
        String(a.functionVersions),
        String(a.requests),
        String(a.maxRequestsPerSecond),
      ]),
    ),
  )
  if (r.inactiveAccounts.length > 0) {
    lines.push(
      `Not swept (not ACTIVE): ${r.inactiveAccounts.map((a) => `${a.id} ${e(a.name)} ${a.status}`).join(', ')}`,
    )
  }
  if (r.snapshots.length > 0) {
    lines.push('', 'Snapshots')
    for (const s of r.snapshots) {
      if (s.error) {
        lines.push(`  ${s.account} ${s.region}: failed (${e(s.error)})`)
        continue
      }
      const where = `evidence/${s.set} (manifest sha256 ${s.manifestSha256})`
      const sealed = s.sealed ?? []
      const count = (state: SealedFunction['state']) => sealed.filter((f) => f.state === state).length
      if (count('captured') === sealed.length) {
        lines.push(`  ${s.account} ${s.region}: ${s.functions.length} function(s) sealed in ${where}`)
        continue
      }
      const parts = [
        [count('captured'), 'sealed'],
        [count('captured-with-gaps'), 'sealed with gaps'],
        [count('not-captured'), 'not captured'],
      ].filter(([n]) => n)
      lines.push(
        `  ${s.account} ${s.region}: of ${s.functions.length} function(s), ${parts.map(([n, what]) => `${n} ${what}`).join(', ')}: ${where}`,
      )
      for (const f of sealed) {
        if (f.state === 'captured') continue
        const state =
          f.state === 'not-captured'
            ? 'not captured (nothing of its configuration is in the set)'
            : 'sealed with gaps'
        lines.push(`    ${e(f.arn.split(':').slice(6).join(':'))}: ${state}: ${e(f.why)}`)
      }
    }
  }
  lines.push('', `Result kept in ${r.file} (journaled with its hash).`)
  return lines.join('\n')
}
