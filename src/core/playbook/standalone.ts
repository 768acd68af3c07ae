import { arg, type CommandWord, flag } from '../common/suggest.js'

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/** `one` and each of `many` (a step takes `secret` or `secrets`, `role` or `roles`…), once each. */
function each(values: Record<string, unknown>, one: string, many: string): string[] {
  const list = Array.isArray(values[many]) ? (values[many] as unknown[]) : []
  return [...new Set([text(values[one]), ...list.map(text)].filter((v): v is string => v !== undefined))]
}

/**
 * The fir commands (their words, after `fir` and before the AWS flags and `--case`) that do a
 * playbook step's work on their own, from the values the step ran with (its journaled `with`):
 * one per secret, role or key where the command takes one. Empty for an action no command does
 * alone (`case.note`) or values that name nothing to act on.
 */
export function standaloneCommands(action: string, values: Record<string, unknown>): CommandWord[][] {
  const fn = text(values.function)
  const actions = Array.isArray(values.actions) ? [flag('--actions', values.actions.join(','))] : []
  switch (action) {
    case 'snapshot.function':
      return fn
        ? [
            [
              'snapshot',
              arg(fn),
              ...(text(values.qualifier) ? [flag('--qualifier', text(values.qualifier)!)] : []),
            ],
          ]
        : []
    case 'snapshot.all-using-role':
      return text(values.role) ? [['snapshot', flag('--all-using-role', text(values.role)!)]] : []
    case 'containment.contain':
      return fn ? [['contain', arg(fn), ...actions]] : []
    case 'containment.restore':
      return [['restore', ...(fn ? [arg(fn)] : []), ...actions]]
    case 'credentials.revoke-sessions':
      return each(values, 'role', 'roles').map((role) => ['creds', 'revoke-sessions', flag('--role', role)])
    case 'credentials.rotate-key': {
      // `fir creds rotate-key` needs the user: a key's user the step looked up is not journaled.
      const user = text(values.user) ?? { placeholder: 'user' }
      const options = [
        ...(values.deleteOld === true ? ['--delete-old'] : []),
        ...(values.replace === false ? ['--no-replace'] : []),
      ]
      const keys = each(values, 'accessKey', 'accessKeys')
      if (keys.length === 0)
        return text(values.user) ? [['creds', 'rotate-key', flag('--user', user), ...options]] : []
      return keys.map((key) => [
        'creds',
        'rotate-key',
        flag('--user', user),
        flag('--access-key', key),
        ...options,
      ])
    }
    case 'credentials.rotate-secret':
      return each(values, 'secret', 'secrets').map((secret) => ['creds', 'rotate-secret', arg(secret)])
    case 'timeline.collect':
      return [
        [
          'timeline',
          ...(fn ? [arg(fn)] : []),
          ...(['since', 'until', 'regions'] as const).flatMap((k) =>
            text(values[k]) ? [flag(`--${k}`, text(values[k])!)] : [],
          ),
          ...each(values, 'source', 'sources').flatMap((source) => [flag('--source', source)]),
        ],
      ]
    case 'report.render':
      return [
        [
          'report',
          ...(values.format === 'md' || values.format === 'html' ? [flag('--format', values.format)] : []),
        ],
      ]
    default:
      return []
  }
}
