import { Args, Flags } from '@oclif/core'
import { awsFlags, caseFlag, changeFlags, FirCommand } from '../../base-command.js'
import { resolveCaseDir } from '../../core/case/case-folder.js'
import { builtinActions } from '../../core/playbook/actions/index.js'
import { loadPlaybook, shippedPlaybooksNote } from '../../core/playbook/load.js'
import { renderPlan, renderRun } from '../../core/playbook/render.js'
import { parseInputFlags, planPlaybook, runPlaybook } from '../../core/playbook/runner.js'
import type { CommandOutcome } from '../../output.js'

export default class PlaybookRun extends FirCommand {
  static override summary = 'Run a playbook against a case'
  static override description =
    'Validates the playbook first, and the values its inputs give each step (exit 2 on any problem, before any AWS call), then runs its steps in order, journaling each one. Every step with `confirm` (and the first step that changes AWS) needs --yes, or a "y" on a terminal, each asked on its own; otherwise the run stops with exit 5 and can be continued with `fir playbook resume`. --dry-run prints the whole plan and changes nothing.'
  static override examples = [
    '<%= config.bin %> playbook run lambda-compromise --case cases/INC-42 --input function=payments-webhook --dry-run',
    '<%= config.bin %> playbook run lambda-compromise --case cases/INC-42 --input function=payments-webhook --input since=3d --yes',
    '<%= config.bin %> playbook run ./my-playbook.yaml --case cases/INC-42 --input function=arn:aws:lambda:eu-west-1:123456789012:function:api',
  ]
  static override args = {
    playbook: Args.string({ required: true, description: 'name (a shipped one) or file (your own YAML)' }),
  }
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    ...changeFlags,
    input: Flags.string({
      char: 'i',
      multiple: true,
      multipleNonGreedy: true,
      description: 'an input as key=value (repeat for several)',
    }),
  }

  protected override async argumentChoices(): Promise<string[]> {
    return [await shippedPlaybooksNote()]
  }

  protected async execute(): Promise<CommandOutcome> {
    const { args, flags } = await this.parse(PlaybookRun)
    const loaded = await loadPlaybook(args.playbook)
    const inputs = parseInputFlags(flags.input)
    const registry = builtinActions()
    if (flags['dry-run']) {
      await resolveCaseDir(flags.case)
      const plan = await planPlaybook(loaded, inputs, registry)
      return {
        result: { dryRun: true, playbook: loaded.playbook.name, file: loaded.file, plan },
        human: renderPlan(loaded.playbook.name, plan),
      }
    }
    const ctx = await this.makeContext({ caseFlag: flags.case, aws: flags, yes: flags.yes })
    const result = await runPlaybook(ctx, loaded, inputs, { registry })
    return {
      result: { ...result, case: ctx.case.dir },
      human: renderRun(result, ctx.case.dir),
      gaps: ctx.gaps.list,
    }
  }
}
