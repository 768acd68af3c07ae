import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { counted, joinNames, shellArg } from '../../../src/core/common/text.js'

describe('counted', () => {
  it('puts the noun in the number the count needs', () => {
    expect(counted(1, 'evidence set')).toBe('1 evidence set')
    expect(counted(0, 'evidence set')).toBe('0 evidence sets')
    expect(counted(3, 'journal entry', 'journal entries')).toBe('3 journal entries')
    expect(counted(1, 'journal entry', 'journal entries')).toBe('1 journal entry')
  })
})

describe('joinNames', () => {
  it('joins names with commas and a last "and", without an Oxford comma', () => {
    expect(joinNames([])).toBe('')
    expect(joinNames(['a'])).toBe('a')
    expect(joinNames(['a', 'b'])).toBe('a and b')
    expect(joinNames(['a', 'b', 'c'])).toBe('a, b and c')
  })
})

describe('shellArg', () => {
  it('gives one shell word that the shell reads back as the value', () => {
    const values = [
      '/tmp/my cases é/cases/INC-42',
      "it's",
      'a"b',
      '$(touch /tmp/pwned) `id` $HOME',
      'tab\there',
      'line\nbreak',
      '*.json',
      '',
    ]
    for (const v of values) {
      const back = execFileSync('bash', ['-c', `printf %s ${shellArg(v)}`], { encoding: 'utf8' })
      expect(back, v).toBe(v)
    }
    // Plain paths stay as they are.
    expect(shellArg('/work/cases/INC-42')).toBe('/work/cases/INC-42')
    expect(shellArg('arn:aws:secretsmanager:us-east-1:1:secret:db-AbC')).toBe(
      'arn:aws:secretsmanager:us-east-1:1:secret:db-AbC',
    )
  })
})
