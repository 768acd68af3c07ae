import { Flags } from '@oclif/core'
import { caseFlag, FirCommand } from '../base-command.js'
import { bytesDisplay } from '../core/report/format.js'
import { type ReportFormat, writeReports } from '../core/report/render.js'
import type { CommandOutcome } from '../output.js'

export default class Report extends FirCommand {
  static override summary = 'Write the incident report of a case: Markdown and one self-contained HTML file'
  static override description =
    "Builds the report from what the case holds (case.json, evidence sets and their findings, manifests, the timeline, the journal and the drill's notes) and writes reports/report.html and reports/report.md into the case, recording each file's SHA-256 in the journal so `fir case verify` checks it. The HTML has no script and no external reference (Content-Security-Policy default-src 'none') and prints on A4 and Letter. Every value from CloudTrail or the function is escaped and secrets are redacted. Reads only the case: no AWS call."
  static override examples = [
    '<%= config.bin %> report --case cases/INC-2026-0042',
    '<%= config.bin %> report --case cases/INC-2026-0042 --format md --out ticket.md',
    '<%= config.bin %> report --case cases/INC-2026-0042 --template ./acme-postmortem.md.hbs',
    '<%= config.bin %> report --json',
  ]
  static override flags = {
    ...caseFlag,
    format: Flags.string({
      description: 'write only this format (default: both html and md)',
      options: ['md', 'html'],
    }),
    template: Flags.string({
      description:
        "your organisation's Handlebars template (*.md.hbs or *.html.hbs), rendered with the same view model; written to reports/<name>.<format>",
    }),
    out: Flags.string({
      description:
        'write one report to this file instead of <case>/reports/ (recorded in the journal when inside the case; never over a file fir keeps there, such as the journal or evidence)',
    }),
    'key-events': Flags.integer({
      description: 'key timeline events shown inline (the full timeline stays in timeline/events.jsonl)',
      default: 200,
      min: 1,
      max: 5000,
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(Report)
    const handle = await this.openCase(flags.case)
    const { model, files } = await writeReports(handle, {
      formats: flags.format ? [flags.format as ReportFormat] : undefined,
      templatePath: flags.template,
      out: flags.out,
      firVersion: this.config.version,
      keyEventLimit: flags['key-events'],
    })
    const s = model.summary
    const lines = [
      `Report of case ${model.case.id}: ${s.status.label.toLowerCase()}, ${s.totalFindings} finding${s.totalFindings === 1 ? '' : 's'} (${
        s.counts
          .filter((c) => c.count > 0)
          .map((c) => `${c.count} ${c.level}`)
          .join(', ') || 'none'
      })`,
      ...files.map(
        (f) =>
          `  ${f.path}  (${f.format}, ${bytesDisplay(f.bytes)}${f.caseRelative ? ', recorded in the journal' : ', outside the case: not recorded'})`,
      ),
    ]
    if (model.readProblems.length)
      lines.push(
        '',
        `Problems reading the case (${model.readProblems.length}), shown in the report:`,
        ...model.readProblems.map((p) => `  - ${p}`),
      )
    if (model.evidence.integrity && !model.evidence.integrity.ok) {
      this.log_.warn(
        `the case does not verify: ${model.evidence.integrity.text} (the report says so; run fir case verify)`,
      )
    }
    return {
      result: {
        case: model.case.id,
        files: files.map((f) => ({
          format: f.format,
          path: f.path,
          caseRelative: f.caseRelative,
          bytes: f.bytes,
          sha256: f.sha256,
          template: f.template,
        })),
        status: s.status.code,
        findings: Object.fromEntries(s.counts.map((c) => [c.level, c.count])),
        timelineEvents: model.timeline.totalEvents,
        integrityOk: model.evidence.integrity?.ok ?? null,
      },
      human: lines.join('\n'),
    }
  }
}
