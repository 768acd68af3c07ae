import { counted } from '../../common/text.js'
import { type ReportFormat, writeReports } from '../../report/render.js'
import type { ActionImpl } from '../runner.js'

/** `report.render`: writes reports/report.html and report.md from the case. Reads no AWS. */
export const reportAction: ActionImpl = async (run, params) => {
  const format = (params.format as string | undefined) ?? 'both'
  const formats: ReportFormat[] = format === 'both' ? ['html', 'md'] : [format as ReportFormat]
  const { model, files } = await writeReports(run.ctx.case, {
    formats,
    firVersion: run.ctx.firVersion,
    // The report is a step of this run: it says the run is running, not that it stopped.
    renderedBy: { runId: run.runId, stepId: run.stepId },
  })
  const paths = files.map((f) => f.caseRelative ?? f.path)
  // The report's rows group a timeline rule's hits into one row (with a count): the number of
  // findings is the report's own total, the one its summary prints, never the number of rows.
  const rows = model.findings.groups.flatMap((g) => g.items)
  const total = model.summary.totalFindings
  return {
    outcome: 'applied',
    summary: `report written (${files.map((f) => f.format).join(', ')}): ${counted(total, 'finding')}`,
    outputs: {
      path: paths.find((p) => p.endsWith('.html')) ?? paths[0],
      paths,
      findings: total,
      findingTitles: [...new Set(rows.map((f) => f.title))],
      findingKinds: [...new Set(rows.map((f) => f.kind))],
    },
  }
}
