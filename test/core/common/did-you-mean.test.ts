import { Config } from '@oclif/core'
import { describe, expect, it } from 'vitest'
import { closestName } from '../../../src/core/common/did-you-mean.js'
import { unknownCommandError } from '../../../src/hooks/unknown-command.js'
import { REPO_ROOT } from '../../support/cli.js'

describe('did you mean', () => {
  const creds = [
    'creds:keys',
    'creds:revoke-sessions',
    'creds:rotate-key',
    'creds:rotate-secret',
    'creds:secrets',
  ]

  it('names the one candidate a word begins, however far in edits; else the nearest, when one is close', () => {
    // Before: undefined for both (9 and 10 edits from revoke-sessions).
    expect(closestName('creds:revoke', creds)).toBe('creds:revoke-sessions')
    expect(closestName('creds:revok', creds)).toBe('creds:revoke-sessions')
    expect(closestName('CREDS:REVOKE', creds)).toBe('creds:revoke-sessions')
    // The start of several: the distance rule decides, as for a typo.
    expect(closestName('creds:rotate', creds)).toBe('creds:rotate-key')
    expect(closestName('creds:r', creds)).toBeUndefined()
    expect(closestName('creds:revkoe-sessions', creds)).toBe('creds:revoke-sessions')
    expect(closestName('creds:frobnicate', creds)).toBeUndefined()
    // A whole name that begins another is itself.
    expect(closestName('rotate', ['rotate', 'rotate-key'])).toBe('rotate')
    // One letter begins too much to mean anything.
    expect(closestName('k', ['keys', 'list'])).toBeUndefined()
  })

  it('suggests `fir creds revoke-sessions` for `fir creds revoke` and `fir creds revok`', async () => {
    const config = await Config.load(REPO_ROOT)
    const actions = (id: string) => unknownCommandError(config, id).actions
    expect(actions('creds:revoke')[0]).toBe('did you mean `fir creds revoke-sessions`?')
    expect(actions('creds:revok')[0]).toBe('did you mean `fir creds revoke-sessions`?')
    expect(actions('creds:rotate')[0]).toBe('did you mean `fir creds rotate-key`?')
    expect(actions('contian:fnE')[0]).toBe('did you mean `fir contain`?')
  })
})
