import { type Command, Help } from '@oclif/core'
import { COMMAND_PERMISSIONS, splitOptional } from './core/permissions.js'

/**
 * fir's help: oclif's, with the IAM actions the command needs (the table README's "IAM
 * permissions" section and `fir doctor` use), so `--help` says as much as the README.
 */
export default class FirHelp extends Help {
  protected override formatCommand(command: Command.Loadable): string {
    const base = super.formatCommand(command)
    const actions = COMMAND_PERMISSIONS[command.id.replaceAll(':', ' ')]
    if (actions === undefined) return base
    const { required, optional } = splitOptional(actions)
    const body =
      actions.length === 0
        ? 'none: it makes no call to your AWS account'
        : [
            `required: ${required.join(', ') || 'none'}`,
            ...(optional.length
              ? [`optional (a gap without it, or only for a flag, source or engine): ${optional.join(', ')}`]
              : []),
            '`fir doctor` checks them against the caller.',
          ].join('\n')
    return `${base}\n\n${this.section('PERMISSIONS', this.wrap(body))}`
  }
}
