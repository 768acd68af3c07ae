import type { Hook } from '@oclif/core'

/**
 * oclif's `init` hook: `fir case --json` (a topic, not a command) prints fir's usage error as one
 * JSON document and exits 2; without `--json` oclif shows the topic's help.
 */
const hook: Hook<'init'> = async function ({ config, id, argv }) {
  if (!id || config.findCommand(id) || !config.findTopic(id) || !argv.includes('--json')) return
  // Loaded only here: this hook runs before every command.
  const [{ writeError }, { topicError }] = await Promise.all([
    import('../output.js'),
    import('./unknown-command.js'),
  ])
  writeError(topicError(config, id), true)
  // An init hook cannot stop oclif showing the topic's help but by ending the run.
  this.exit(2)
}

export default hook
