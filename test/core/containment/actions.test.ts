import { describe, expect, it } from 'vitest'
import { CONTAIN_ACTIONS, parseActionList } from '../../../src/core/containment/actions.js'
import { UsageError } from '../../../src/errors.js'

describe('--actions', () => {
  it('keeps the canonical order and drops duplicates', () => {
    expect(parseActionList('url, throttle,url', CONTAIN_ACTIONS)).toEqual(['throttle', 'url'])
  })

  it('a misspelt action is refused with the nearest one suggested (it listed only the choices)', () => {
    let err: unknown
    try {
      parseActionList('throtle,url,sesions', CONTAIN_ACTIONS)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toBe(
      'unable to use --actions "throtle,url,sesions": unknown actions throtle, sesions',
    )
    expect((err as UsageError).actions).toEqual([
      'throtle: did you mean throttle?',
      'sesions: did you mean sessions?',
      'choose from event-sources, throttle, url, permissions, sessions, recycle (comma-separated)',
    ])
  })
})
