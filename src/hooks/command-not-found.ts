import { type Hook, loadHelpClass } from '@oclif/core'
import { writeError } from '../output.js'
import { noCommandError, unknownCommandError } from './unknown-command.js'

/**
 * oclif's `command_not_found` hook: an unknown command is fir's usage error (exit 2, the error
 * envelope with `--json`) with the nearest real command, not oclif's `command a:b not found`.
 * `fir help [command…]` (there is no help command: `--help` is) shows that help, as people type it.
 * Flags with no command (`fir --json`) are a usage error asking for one.
 */
const hook: Hook<'command_not_found'> = async ({ config, id, argv }) => {
  const words = id.split(':')
  // oclif takes the first word for the command even when it is a flag (`fir --json`).
  const typed = [id, ...(argv ?? [])]
  const json = typed.includes('--json')
  if (id.startsWith('-')) {
    writeError(noCommandError(typed), json)
    return
  }
  if (words[0] === 'help') {
    const rest = words.slice(1)
    const name = rest.join(':')
    if (rest.length > 0 && !config.findCommand(name) && !config.findTopic(name)) {
      writeError(unknownCommandError(config, name), json)
      return
    }
    const Help = await loadHelpClass(config)
    await new Help(config).showHelp(rest)
    return
  }
  writeError(unknownCommandError(config, id), json)
}

export default hook
