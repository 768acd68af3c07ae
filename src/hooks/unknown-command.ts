import type { Interfaces } from '@oclif/core'
import { closestName } from '../core/common/did-you-mean.js'
import { UsageError } from '../errors.js'

type Config = Interfaces.Config

/** `case:show` as a user types it: `case show`. */
const spaced = (id: string) => id.replaceAll(':', ' ')

/** The ids of the commands a user can run (hidden ones left out). */
function commandIds(config: Config): string[] {
  return config.commands.filter((c) => !c.hidden).map((c) => c.id)
}

/**
 * What `fir <words>` is when no command has that name: a usage error (exit 2) naming what was
 * typed, the nearest real command (`fir contian fnE` → `fir contain`), and the commands of the
 * topic when the first word is one (`fir case frobnicate` → case init, case show, case verify).
 * oclif hands over the words it could not match joined by `:` (`contian:fnE`): the command may be
 * any leading part of them, so each is tried, the longest first.
 */
export function unknownCommandError(config: Config, id: string): UsageError {
  const ids = commandIds(config)
  const words = id.split(':')
  let nearest: string | undefined
  for (let n = words.length; n >= 1 && nearest === undefined; n--)
    nearest = closestName(words.slice(0, n).join(':'), ids)
  const topic = words.length > 1 ? config.findTopic(words[0]!) : undefined
  const inTopic = topic ? ids.filter((c) => c.startsWith(`${topic.name}:`)).sort() : []
  return new UsageError(`unable to run \`fir ${spaced(id)}\`: fir has no such command`, {
    actions: [
      ...(nearest ? [`did you mean \`fir ${spaced(nearest)}\`?`] : []),
      ...(inTopic.length
        ? [`the ${spaced(topic!.name)} commands: ${inTopic.map((c) => `fir ${spaced(c)}`).join(', ')}`]
        : []),
      'see `fir --help` for every command',
    ],
  })
}

/**
 * What `fir --json` (flags, no command) is: a usage error that asks for the command, not one that
 * calls the first flag a command fir does not have. `words` are the words typed after `fir`.
 */
export function noCommandError(words: readonly string[]): UsageError {
  const typed = words.join(' ')
  return new UsageError(`unable to run \`fir ${typed}\`: no command was given`, {
    actions: [
      `name the command before its flags: \`fir <command> ${typed}\``,
      'see `fir --help` for every command',
    ],
  })
}

/**
 * `fir case` is a group of commands, not a command: with `--json` it is a usage error listing
 * them (oclif would print the topic's help, which is no JSON document, and exit 0).
 */
export function topicError(config: Config, topic: string): UsageError {
  const inTopic = commandIds(config)
    .filter((c) => c.startsWith(`${topic}:`))
    .sort()
  return new UsageError(`unable to run \`fir ${spaced(topic)}\`: it is a group of commands, not a command`, {
    actions: [
      `run one of them: ${inTopic.map((c) => `fir ${spaced(c)}`).join(', ')}`,
      `see \`fir ${spaced(topic)} --help\``,
    ],
  })
}
