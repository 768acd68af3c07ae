import { caseFlag, FirCommand } from '../../base-command.js'
import { resolveCaseDir } from '../../core/case/case-folder.js'
import { verifyCase } from '../../core/case/verify.js'
import { counted, shellArg } from '../../core/common/text.js'
import { IntegrityError } from '../../errors.js'
import type { CommandOutcome } from '../../output.js'

export default class CaseVerify extends FirCommand {
  static override summary = 'Re-hash the evidence and check the journal chain'
  static override description =
    'Recomputes the SHA-256 of every sealed evidence file and manifest, every report and timeline file fir recorded, and every journal entry and its chain. Names each file or entry that is changed, missing, extra or out of order, and exits 3 if there is any. Reads only.'
  static override examples = [
    '<%= config.bin %> case verify --case cases/INC-2026-0042',
    'FIR_CASE=cases/INC-1 <%= config.bin %> case verify --json',
  ]
  static override flags = { ...caseFlag }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(CaseVerify)
    // A case that lost its case.json is verified too: the missing record is one of its problems.
    const dir = await resolveCaseDir(flags.case, process.cwd(), { missingRecordOk: true })
    const result = await verifyCase(dir)
    const c = result.checked
    const counts = `${counted(c.journalEntries, 'journal entry', 'journal entries')}, ${counted(c.evidenceSets, 'evidence set')} (${counted(c.evidenceFiles, 'file')}), ${counted(c.artifacts, 'recorded file')}`
    if (!result.ok) {
      const err = new IntegrityError(
        `unable to verify case ${dir}: ${result.problems.length} problem(s):\n${result.problems.map((p) => `  ${p.kind}: ${p.message}`).join('\n')}`,
        {
          actions: result.problems.every((p) => p.kind === 'torn')
            ? [
                `run a fir command that writes to the case (fir report --case ${shellArg(dir)}): it sets the cut-off line aside and journals its hash; then verify again`,
              ]
            : [
                'preserve the case as it is and investigate who changed it; the journal shows every fir action and its actor',
              ],
        },
      )
      Object.assign(err, { envelopeExtra: { result: { dir, ...result } } })
      throw err
    }
    return {
      result: { dir, ...result },
      human: `Case ${dir} verified: ${counts}, all intact.${result.warnings.map((w) => `\nnote: ${w}`).join('')}`,
      warnings: result.warnings,
    }
  }
}
