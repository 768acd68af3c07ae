import { caseFlag, FirCommand } from '../../base-command.js'
import { resolveCaseDir } from '../../core/case/case-folder.js'
import { summariseCase } from '../../core/case/summary.js'
import { escapeTerminal, formatTable } from '../../core/common/text.js'
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
    const s = await summariseCase(await resolveCaseDir(flags.case))
    const lines = [
      `Case ${escapeTerminal(s.meta.id)}: ${escapeTerminal(s.meta.title)}`,
      `  folder   ${s.dir}`,
      `  created  ${s.meta.created} by ${escapeTerminal(s.meta.createdBy.osUser)}@${escapeTerminal(s.meta.createdBy.host)}`,
      `  journal  ${s.journal.entries} entries, ${s.journal.changes.length} change outcomes`,
      '',
      `Evidence sets (${s.evidence.length})`,
      s.evidence.length
        ? formatTable(
            ['set', 'files', 'bytes', 'sealed'],
            s.evidence.map((e) => [e.set, String(e.files), String(e.bytes), e.sealed]),
          )
        : '  none yet: fir snapshot <function>',
      '',
      `Actions (${s.journal.changes.length})`,
      s.journal.changes.length
        ? formatTable(
            ['at (UTC)', 'action', 'target', 'outcome'],
            s.journal.changes.map((c) => [c.at, c.action, escapeTerminal(c.target), c.outcome]),
          )
        : '  none',
      '',
      s.timeline
        ? `Timeline: ${s.timeline.events} events; findings ${
            Object.entries(s.timeline.findings)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ') || 'none'
          }`
        : 'Timeline: none yet (fir timeline)',
      ...earlierTimelineLines(s.earlierTimelines),
      `Reports: ${s.reports.length ? s.reports.join(', ') : 'none yet (fir report)'}`,
    ]
    return { result: s, human: lines.join('\n') }
  }
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
