import type { Hook } from '@oclif/core'
import { writeError } from '../output.js'
import { unknownCommandError } from './unknown-command.js'

/**
 * oclif's `command_not_found` hook: an unknown command is fir's usage error (exit 2, the error
 * envelope with `--json`) with the nearest real command, not oclif's `command a:b not found`.
 */
const hook: Hook<'command_not_found'> = async function ({ config, id, argv }) {
  writeError(unknownCommandError(config, id), (argv ?? []).includes('--json'))
}

export default hook
