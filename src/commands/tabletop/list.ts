import { FirCommand } from '../../base-command.js'
import { escapeTerminal, formatTable } from '../../core/common/text.js'
import { listScenarios } from '../../core/tabletop/scenario.js'
import type { CommandOutcome } from '../../output.js'

export default class TabletopList extends FirCommand {
  static override summary = 'List the tabletop scenarios'
  static override description =
    'Lists the drills fir ships (scenarios/*.yaml): what each one plants and which playbook the team runs against it. Run one with `fir tabletop run <scenario>`.'
  static override examples = ['<%= config.bin %> tabletop list', '<%= config.bin %> tabletop list --json']

  protected async execute(): Promise<CommandOutcome> {
    await this.parse(TabletopList)
    const list = await listScenarios()
    const rows = list.map((s) => [
      s.name,
      s.playbook,
      s.problems.length ? `INVALID (${s.problems.length})` : 'ok',
      escapeTerminal(s.title),
    ])
    return {
      result: { scenarios: list.map((s) => ({ ...s, valid: s.problems.length === 0 })) },
      human: `${formatTable(['scenario', 'playbook', 'valid', 'what happened'], rows)}\n\nRun one with: fir tabletop run <scenario>  (add --interactive for injects and questions)`,
    }
  }
}
