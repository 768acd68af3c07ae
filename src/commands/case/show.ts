import { caseFlag, FirCommand } from '../../base-command.js'
import { unsettledQueryLines } from '../../core/athena/unsettled.js'
import { resolveCaseDir } from '../../core/case/case-folder.js'
import { DamagedJournalError, readCheckedJournal } from '../../core/case/journal.js'
import { registerSecretsOfCase } from '../../core/case/secrets.js'
import {
  type CaseSweep,
  type SetFindings,
  SHOWN_SWEEP_MATCHES,
  summariseCase,
} from '../../core/case/summary.js'
import { describeUnsealedSet, type UnsealedSet } from '../../core/case/unsealed-sets.js'
import { counted, escapeTerminal, formatTable } from '../../core/common/text.js'
import { matchCountText, notCheckedText, sweptAccountsText } from '../../core/sweep/recorded.js'
import type { CommandOutcome } from '../../output.js'

export default class CaseShow extends FirCommand {
  static override summary = 'Summarise a case: evidence, actions, timeline, findings'
  static override examples = [
    '<%= config.bin %> case show --case cases/INC-2026-0042',
    '<%= config.bin %> case show --json',
  ]
  static override flags = { ...caseFlag }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(CaseShow)
    const dir = await resolveCaseDir(flags.case)
    const s = await summariseCase(dir).catch(async (err: unknown) => {
      // Refused still, but saying what the journal's whole lines show is in force.
      throw err instanceof DamagedJournalError ? await this.refuseDamagedJournal(err) : err
    })
    // Findings' titles were written redacted; the case's secrets are registered all the same, as
    // every command that opens a case does, so nothing the case holds as a secret is printed.
    const { entries } = await readCheckedJournal(dir)
    for (const ignored of await registerSecretsOfCase(dir, entries)) this.log_.warn(ignored)
    this.warnIfNewerFir(s.meta, entries)
    const cutOff = s.journal.changes.filter((c) => c.note).length
    const lines = [
      `Case ${escapeTerminal(s.meta.id)}: ${escapeTerminal(s.meta.title)}`,
      `  folder   ${s.dir}`,
      `  created  ${s.meta.created} by ${escapeTerminal(s.meta.createdBy.osUser)}@${escapeTerminal(s.meta.createdBy.host)}`,
      `  journal  ${s.journal.entries} entries, ${s.journal.changes.length - cutOff} change outcomes${cutOff ? `, ${counted(cutOff, 'change')} with none (interrupted)` : ''}`,
      '',
      `Evidence sets (${s.evidence.length})`,
      s.evidence.length
        ? formatTable(
            ['set', 'files', 'bytes', 'sealed'],
            s.evidence.map((e) => [e.set, String(e.files), String(e.bytes), e.sealed]),
          )
        : '  none yet: fir snapshot <function>',
      ...unsealedSetLines(s.unsealedSets),
      ...setFindingLines(s.findings),
      '',
      `Actions (${s.journal.changes.length})`,
      s.journal.changes.length
        ? formatTable(
            ['at (UTC)', 'action', 'target', 'outcome'],
            s.journal.changes.map((c) => [
              c.at,
              c.action,
              escapeTerminal(c.target),
              c.note ? `${c.outcome}, no outcome` : c.outcome,
            ]),
          )
        : '  none',
      // A change cut off mid-step: its outcome is unknown, so say so and what settles it.
      ...s.journal.changes
        .filter((c) => c.note)
        .map((c) => `  ${c.action} on ${escapeTerminal(c.target)}: ${escapeTerminal(c.note)}`),
      '',
      s.timeline
        ? `Timeline: ${s.timeline.events === null ? 'events unknown (events.jsonl is missing)' : `${s.timeline.events} events`}; findings ${
            s.timeline.findings === null
              ? 'unknown (findings.json is not as recorded)'
              : Object.entries(s.timeline.findings)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' ') || 'none'
          }${conflictingText(s.timeline.conflicting)}`
        : 'Timeline: none yet (fir timeline)',
      ...(s.timeline?.problems.length
        ? [
            `  not as recorded: ${s.timeline.problems.join('; ')}: ${
              s.timeline.problems.some((p) => p.endsWith('was changed after fir recorded it'))
                ? 'run fir case verify, and preserve the case as it is (a changed file may be tampering; fir timeline refuses to replace it)'
                : 'run fir case verify, then fir timeline again to collect it whole'
            }`,
          ]
        : []),
      ...earlierTimelineLines(s.earlierTimelines),
      ...(s.timelineInterrupted
        ? [
            `  a timeline re-run was interrupted while replacing the timeline: it had moved (or journaled moving) ${s.timelineInterrupted.files.join(', ')} to ${s.timelineInterrupted.folder}/; the next fir command that writes to the case puts them back`,
          ]
        : []),
      ...sweepLines(s.sweeps),
      ...unsettledQueryLines(s.queriesMaybeRunning),
      `Reports: ${s.reports.length ? s.reports.join(', ') : 'none yet (fir report)'}`,
    ]
    return { result: s, human: lines.join('\n') }
  }
}

/**
 * The sets snapshots began and never sealed: not evidence, each said to be a live command's (leave
 * it) or abandoned, with the command that removes it.
 */
function unsealedSetLines(sets: UnsealedSet[]): string[] {
  if (sets.length === 0) return []
  const abandoned = sets.filter((u) => u.state === 'abandoned').length
  return [
    `  not sealed (${sets.length}${abandoned ? `, ${abandoned} abandoned` : ''}): never evidence`,
    ...sets.map((u) => `    ${escapeTerminal(describeUnsealedSet(u))}`),
  ]
}

/** Each snapshot set's findings: counts by level, then the titles, most severe first. */
function setFindingLines(sets: SetFindings[]): string[] {
  return sets.flatMap((f) => {
    const shown = f.items.slice(0, SHOWN_FINDINGS)
    return [
      '',
      `Findings of evidence set ${f.set} (${f.total}${f.total ? `: ${f.byLevel.map((l) => `${escapeTerminal(l.level)} ${l.count}`).join(', ')}` : ''})`,
      ...shown.map((i) => `  ${escapeTerminal(i.level).padEnd(13)} ${escapeTerminal(i.title)}`),
      ...(f.items.length > shown.length
        ? [`  … ${f.items.length - shown.length} more in evidence/${f.set}/findings.json`]
        : []),
    ]
  })
}

const SHOWN_FINDINGS = 30

/**
 * `; 2 records claim the eventID of another record but not its content (dup-1, dup-3): a copy of
 * a log was altered or a record forged`, or empty. The ids are the records' own: escaped.
 */
function conflictingText(c: { count: number; ids: string[] } | null): string {
  if (!c) return ''
  const ids = `${c.ids.map((id) => escapeTerminal(id)).join(', ')}${c.count > c.ids.length ? ', …' : ''}`
  return `; ${counted(c.count, 'record')} ${c.count === 1 ? 'claims' : 'claim'} the eventID of another record but not its content (${ids}): a copy of a log was altered or a record forged — compare them in timeline/events.jsonl`
}

/** The newest kept timelines, one a line (a case re-run many times keeps many), then how many more. */
function earlierTimelineLines(kept: { folder: string; events: number | null }[]): string[] {
  if (kept.length === 0) return []
  const shown = kept.slice(-SHOWN_EARLIER).reverse()
  return [
    `  earlier timelines kept (${kept.length}, newest first):`,
    ...shown.map((t) => `    ${t.folder} (${t.events === null ? 'events unknown' : `${t.events} events`})`),
    ...(kept.length > shown.length ? [`    … ${kept.length - shown.length} more in timeline/history/`] : []),
  ]
}

const SHOWN_EARLIER = 5

/**
 * Each org sweep of the case: when, what it looked for, the accounts and regions it read, its
 * counts, then its first matches (account, region, function:version, why, where sealed) and how
 * many more its file holds. Names, reasons and indicators are attacker-reachable: all escaped.
 */
function sweepLines(sweeps: CaseSweep[]): string[] {
  if (sweeps.length === 0) return []
  const e = (v: unknown) => escapeTerminal(v)
  return [
    '',
    `Sweeps (${sweeps.length})`,
    ...sweeps.flatMap((w) => {
      const head = [
        `  ${e(w.file)}  ${e(w.at)}${w.caller ? ` by ${e(w.caller)}` : ''}`,
        `    indicators  ${w.indicators.map(e).join('; ') || 'not recorded'}`,
        `    accounts    ${e(sweptAccountsText(w))}`,
        `    regions     ${w.regions.length ? `${w.regions.length}: ${w.regions.map(e).join(', ')}` : 'none'}`,
        `    read        ${counted(w.functionVersionsSeen, 'function version')}; matched ${e(matchCountText(w))}; ${counted(w.gapCount, 'gap')}`,
        ...(w.notChecked.length
          ? [`    not checked ${e(notCheckedText(w.notChecked))}: no match says nothing of them`]
          : []),
        ...(w.nothingSwept ? [`    nothing swept: ${e(w.nothingSwept)}`] : []),
        ...(w.sealInterrupted
          ? [
              `    not sealed  ${counted(w.sealInterrupted, 'function')}: the sweep was stopped while its --snapshot sealed the matches (marked interrupted); seal them with fir snapshot`,
            ]
          : []),
      ]
      if (w.fileProblem) {
        const shown = w.matchedFunctions.slice(0, SHOWN_SWEEP_MATCHES)
        return [
          ...head,
          `    ${e(w.fileProblem)}`,
          ...(shown.length
            ? [
                '    matched functions (from the journal):',
                ...shown.map((f) => `      ${e(f)}`),
                ...(w.matchedFunctions.length > shown.length
                  ? [`      … and ${w.matchedFunctions.length - shown.length} more`]
                  : []),
              ]
            : []),
        ]
      }
      if (w.matches.length === 0) return head
      const table = formatTable(
        ['account', 'region', 'function', 'sealed by sweep', 'why'],
        w.matches.map((m) => [
          m.accountName ? `${e(m.account)} (${e(m.accountName)})` : e(m.account),
          e(m.region),
          `${e(m.function)}:${e(m.version)}`,
          m.sealedIn
            ? `evidence/${e(m.sealedIn)}${m.sealGaps ? ' (with gaps)' : ''}`
            : m.notCaptured
              ? 'not captured'
              : m.sealError
                ? 'failed'
                : m.sealInterrupted
                  ? 'interrupted'
                  : 'no',
          e(m.why),
        ]),
      )
      return [
        ...head,
        ...table.split('\n').map((l) => `    ${l}`),
        ...(w.moreMatches > 0 ? [`    … and ${w.moreMatches} more (see ${e(w.file)})`] : []),
      ]
    }),
  ]
}
