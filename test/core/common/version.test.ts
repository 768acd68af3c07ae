import { describe, expect, it } from 'vitest'
import { compareVersions, newestAbove, newestVersion } from '../../../src/core/common/version.js'

describe('fir versions', () => {
  it('are ordered as semver orders them, a pre-release before its release', () => {
    expect(compareVersions('0.10.0', '0.9.9')).toBe(1)
    expect(compareVersions('1.0.0-rc.1', '1.0.0')).toBe(-1)
    expect(compareVersions('v1.2.3+build', '1.2.3')).toBe(0)
    expect(compareVersions('1.2', '1.2.0')).toBeNull()
  })

  it('the newest, and the newest above the running one, pass over what does not parse', () => {
    expect(newestVersion(['0.2.0', 'junk\u001b[31m', '0.10.0', '0.9.0'])).toBe('0.10.0')
    expect(newestVersion(['junk'])).toBeNull()
    expect(newestAbove(['0.1.0', '0.2.0-rc.1', 'x'], '0.1.0')).toBe('0.2.0-rc.1')
    expect(newestAbove(['0.1.0', '0.0.9'], '0.1.0')).toBeNull()
    expect(newestAbove(['9.0.0'], 'not a version')).toBeNull()
  })
})
