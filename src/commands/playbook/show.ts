import { Args } from '@oclif/core'
import { FirCommand } from '../../base-command.js'
import { loadPlaybook, shippedPlaybooksNote } from '../../core/playbook/load.js'
import { playbookPermissions, renderShow } from '../../core/playbook/render.js'
import type { CommandOutcome } from '../../output.js'

export default class PlaybookShow extends FirCommand {
  static override summary = 'Show a playbook: inputs, steps and the IAM permissions it needs'
  static override description =
    'Validates and prints a playbook (a shipped name or a file): its inputs, each step with its action and values, and the IAM permissions its actions need. Reads nothing from AWS.'
  static override examples = [
    '<%= config.bin %> playbook show lambda-compromise',
    '<%= config.bin %> playbook show ./my-playbook.yaml --json',
  ]
  static override args = {
    playbook: Args.string({ required: true, description: 'name (a shipped one) or file (your own YAML)' }),
  }

  protected override async argumentChoices(): Promise<string[]> {
    return [await shippedPlaybooksNote()]
  }

  protected async execute(): Promise<CommandOutcome> {
    const { args } = await this.parse(PlaybookShow)
    const loaded = await loadPlaybook(args.playbook)
    return {
      result: {
        file: loaded.file,
        sha256: loaded.sha256,
        playbook: loaded.playbook,
        permissions: playbookPermissions(loaded.playbook),
      },
      human: renderShow(loaded.playbook, loaded.file),
    }
  }
}
