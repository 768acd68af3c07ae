import { UsageError } from '../../errors.js'
import { closestName } from '../common/did-you-mean.js'
import { escapeTerminal } from '../common/text.js'

/** `--actions` names for contain, in DESIGN §4's order. */
export const CONTAIN_ACTIONS = [
  'event-sources',
  'throttle',
  'url',
  'permissions',
  'sessions',
  'recycle',
] as const
export type ContainAction = (typeof CONTAIN_ACTIONS)[number]

/** `--actions` names restore accepts: the contain actions, plus `rotate-key` (reactivate a rotated key). */
export const RESTORE_ACTIONS = [...CONTAIN_ACTIONS, 'rotate-key'] as const
export type RestoreAction = (typeof RESTORE_ACTIONS)[number]

/** What restore undoes when --actions is not given: never the revocation, never a key (DESIGN §4). */
export const DEFAULT_RESTORE_ACTIONS: RestoreAction[] = [
  'event-sources',
  'throttle',
  'url',
  'permissions',
  'recycle',
]

/** The step ids an action name stands for. */
export function stepIdsFor(action: RestoreAction): string[] {
  if (action === 'sessions') return ['containment.sessions', 'credentials.revoke-sessions']
  if (action === 'rotate-key') return ['credentials.rotate-key']
  return [`containment.${action}`]
}

/** Parses a comma-separated `--actions` list (kept in canonical order, duplicates dropped). */
export function parseActionList<T extends string>(
  value: string | string[] | undefined,
  allowed: readonly T[],
  flag = '--actions',
): T[] | undefined {
  if (value === undefined) return undefined
  const items = (Array.isArray(value) ? value : value.split(','))
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)
  const bad = items.filter((v) => !(allowed as readonly string[]).includes(v))
  if (bad.length > 0 || items.length === 0) {
    throw new UsageError(
      `unable to use ${flag} ${JSON.stringify(escapeTerminal(Array.isArray(value) ? value.join(',') : value))}: ${
        bad.length
          ? `unknown action${bad.length > 1 ? 's' : ''} ${bad.map((b) => escapeTerminal(b)).join(', ')}`
          : 'the list is empty'
      }`,
      {
        actions: [
          ...bad.flatMap((b) => {
            const near = closestName(b, allowed)
            return near ? [`${escapeTerminal(b)}: did you mean ${near}?`] : []
          }),
          `choose from ${allowed.join(', ')} (comma-separated)`,
        ],
      },
    )
  }
  return allowed.filter((a) => items.includes(a))
}
