import { Flags } from '@oclif/core'
import { caseFlag, FirCommand } from '../../base-command.js'
import { resolveCaseDir } from '../../core/case/case-folder.js'
import { type JournalHead, parseJournalHead, verifyCaseWhenIdle } from '../../core/case/verify.js'
import { counted, shellArg } from '../../core/common/text.js'
import { IntegrityError, UsageError } from '../../errors.js'
import type { CommandOutcome } from '../../output.js'

export default class CaseVerify extends FirCommand {
  static override summary = 'Re-hash the evidence and check the journal chain'
  static override description =
    "Recomputes the SHA-256 of every sealed evidence file and manifest, every report and timeline file fir recorded, and every journal entry and its chain. Names each file or entry that is changed, missing, extra or out of order, and exits 3 if there is any (a file in timeline/, reports/, sweeps/ or secrets/ that no journal entry records is extra — a recorded secret file that was deleted after use is not a problem; a case folder or evidence set replaced by a symbolic link is changed; an evidence set under its final name that the journal never sealed is extra; a journal that does not start with the case.init entry, which records case.json's SHA-256, is a problem; the temporary files of a killed run, and the unfinished set (evidence/.unfinished-<UTC>/) of an interrupted snapshot, are only named: such a set no live fir command is building is named abandoned, with the command that removes it). Prints the journal's head (its last entry's seq and hash): record it outside the case (the report shows it too) and pass it later with --expect-head, which also catches entries cut off the end of the journal or a rewritten chain. While another fir command writes the case (a fir process running on this host holds its lock), problems found are checked again once it has finished (waiting up to 10 s); problems still there are reported (exit 3) with a note naming that command, as possibly its work in progress; the temporary files it is writing are named as its work in progress (leave them), not as a killed run's. A lock no live fir process holds (unreadable, another host's, a dead or non-fir process) is named in a note and never stops the check. Reads only."
  static override examples = [
    '<%= config.bin %> case verify --case cases/INC-2026-0042',
    'FIR_CASE=cases/INC-1 <%= config.bin %> case verify --json',
    '<%= config.bin %> case verify --case cases/INC-2026-0042 --expect-head 52:3f2a9c81d0e4b7a6',
  ]
  static override flags = {
    ...caseFlag,
    'expect-head': Flags.string({
      description:
        'a journal head recorded earlier (seq:hash as verify and the report print it, or the hash; 12+ hex digits): the journal must still hold that entry',
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(CaseVerify)
    const expectHead = flags['expect-head'] === undefined ? undefined : parseJournalHead(flags['expect-head'])
    if (flags['expect-head'] !== undefined && !expectHead) {
      throw new UsageError(
        `unable to read --expect-head ${JSON.stringify(flags['expect-head'])}: it is not seq:hash or a hash (12 to 64 hex digits)`,
        {
          actions: [
            'pass the head as case verify or the report printed it, e.g. --expect-head 52:3f2a9c81d0e4b7a6',
          ],
        },
      )
    }
    // A case that lost its case.json is verified too: the missing record is one of its problems.
    const dir = await resolveCaseDir(flags.case, process.cwd(), { missingRecordOk: true })
    // Another command writing the case is waited for (or named: exit 2), never taken for tampering.
    const result = await verifyCaseWhenIdle(dir, expectHead ? { expectHead } : {})
    const c = result.checked
    const counts = `${counted(c.journalEntries, 'journal entry', 'journal entries')}, ${counted(c.evidenceSets, 'evidence set')} (${counted(c.evidenceFiles, 'file')}), ${counted(c.artifacts, 'recorded file')}`
    if (!result.ok) {
      const err = new IntegrityError(
        `unable to verify case ${dir}: ${result.problems.length} problem(s):\n${result.problems.map((p) => `  ${p.kind}: ${p.message}`).join('\n')}${result.warnings.map((w) => `\n  note: ${w}`).join('')}`,
        {
          actions: result.problems.every((p) => p.kind === 'torn')
            ? [
                `run a fir command that writes to the case (fir report --case ${shellArg(dir)}): it sets the cut-off line aside and journals its hash; then verify again`,
              ]
            : [
                ...(result.beingWrittenBy
                  ? [
                      `run \`fir case verify\` again when ${result.beingWrittenBy} has finished: it was writing the case while verify ran`,
                    ]
                  : []),
                'preserve the case as it is and investigate who changed it; the journal shows every fir action and its actor',
              ],
        },
      )
      Object.assign(err, { envelopeExtra: { result: { dir, ...result } } })
      throw err
    }
    return {
      result: { dir, ...result },
      human: `Case ${dir} verified: ${counts}, all intact.${headLine(result.journalHead, expectHead !== undefined)}${result.warnings.map((w) => `\nnote: ${w}`).join('')}`,
      warnings: result.warnings,
    }
  }
}

function headLine(head: JournalHead | null, checked: boolean): string {
  if (!head) return ''
  return `\njournal head: ${head.seq}:${head.hash}${checked ? ' (it holds the head recorded earlier)' : ' (record it outside the case; --expect-head checks it later)'}`
}
