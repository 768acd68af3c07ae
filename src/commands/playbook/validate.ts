import { Args } from '@oclif/core'
import { FirCommand } from '../../base-command.js'
import { counted } from '../../core/common/text.js'
import { loadPlaybook } from '../../core/playbook/load.js'
import type { CommandOutcome } from '../../output.js'

export default class PlaybookValidate extends FirCommand {
  static override summary = 'Check a playbook file without running it'
  static override description =
    'Checks YAML syntax, the schema, action ids, step parameters and their types, input defaults against their type, template syntax, and references (declared inputs, earlier steps, outputs those steps produce). Refuses files over 1 MiB, alias cycles and alias bombs. Every problem is listed with file:line:col (the message lists the first 100, --json all of them); any problem exits 2. Reads nothing from AWS.'
  static override examples = [
    '<%= config.bin %> playbook validate ./playbooks/lambda-compromise.yaml',
    '<%= config.bin %> playbook validate my-playbook.yaml --json',
  ]
  static override args = {
    file: Args.string({
      required: true,
      description: 'to check: a playbook YAML file, or a shipped playbook name',
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { args } = await this.parse(PlaybookValidate)
    const loaded = await loadPlaybook(args.file)
    const { playbook } = loaded
    return {
      result: { file: loaded.file, name: playbook.name, steps: playbook.steps.length, problems: [] },
      human: `${loaded.file}: playbook ${playbook.name} is valid (${counted(playbook.steps.length, 'step')}, ${counted(Object.keys(playbook.inputs ?? {}).length, 'input')})`,
    }
  }
}
