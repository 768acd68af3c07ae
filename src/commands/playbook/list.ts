import { FirCommand } from '../../base-command.js'
import { listPlaybooks } from '../../core/playbook/load.js'
import { renderList } from '../../core/playbook/render.js'
import type { CommandOutcome } from '../../output.js'

export default class PlaybookList extends FirCommand {
  static override summary = 'List the shipped playbooks'
  static override description =
    'Lists the playbooks fir ships (playbooks/*.yaml) with their step count and whether they validate. Reads nothing from AWS.'
  static override examples = ['<%= config.bin %> playbook list', '<%= config.bin %> playbook list --json']

  protected async execute(): Promise<CommandOutcome> {
    await this.parse(PlaybookList)
    const list = await listPlaybooks()
    return {
      result: { playbooks: list.map((p) => ({ ...p, valid: p.problems.length === 0 })) },
      human: renderList(list),
    }
  }
}
