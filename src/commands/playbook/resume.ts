import { Flags } from '@oclif/core'
import { awsFlags, caseFlag, FirCommand } from '../../base-command.js'
import { builtinActions } from '../../core/playbook/actions/index.js'
import { renderRun } from '../../core/playbook/render.js'
import { parseInputFlags, resumePlaybook } from '../../core/playbook/runner.js'
import type { CommandOutcome } from '../../output.js'

export default class PlaybookResume extends FirCommand {
  static override summary = "Continue a case's unfinished playbook run"
  static override description =
    'Continues the latest playbook run in the case when it did not finish (crash, refusal, failed step) from the first step not finished (an older unfinished run behind a later one is named, not picked up), with the same playbook text and inputs (from the journal). Finished steps are not run again; the interrupted step is re-run and a change it already made is journaled already-applied. Each step with `confirm` still to come needs --yes or a "y" on a terminal; a step confirmed in an earlier attempt and run again is not asked again. A run is resumed only in the account and region it acted in: another --region, or credentials for another account, is refused (exit 2).'
  static override examples = [
    '<%= config.bin %> playbook resume --case cases/INC-42 --yes',
    '<%= config.bin %> playbook resume --case cases/INC-42 --input token=…  # an input that was secret',
  ]
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    yes: Flags.boolean({
      char: 'y',
      description: 'confirm changes without asking (required when stdin is not a terminal)',
    }),
    input: Flags.string({
      char: 'i',
      multiple: true,
      multipleNonGreedy: true,
      description:
        'give again, as key=value, an input the journal does not keep (a secret, recorded as ‹redacted…›): the same value. One the journal keeps in clear may be repeated as recorded; a different value, or an input the run did not start with, is refused (run the playbook again for other inputs)',
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(PlaybookResume)
    const overrides = parseInputFlags(flags.input)
    const ctx = await this.makeContext({ caseFlag: flags.case, aws: flags, yes: flags.yes })
    const result = await resumePlaybook(ctx, overrides, { registry: builtinActions() })
    return {
      result: { ...result, case: ctx.case.dir },
      human: renderRun(result, ctx.case.dir),
      gaps: ctx.gaps.list,
    }
  }
}
