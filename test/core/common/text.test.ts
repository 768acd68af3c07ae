import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import {
  counted,
  escapeJsonText,
  holdsInvisibleUtf8,
  joinNames,
  shellArg,
} from '../../../src/core/common/text.js'

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

describe('escapeJsonText and holdsInvisibleUtf8', () => {
  it('agree on every character of the BMP and of the planes that hold invisible ones, DEL among them', () => {
    // holdsInvisibleUtf8 tells the timeline which records' bytes to escape (the rest go into
    // events.jsonl as read): it must find every character escapeJsonText escapes, in any company.
    const ranges: [number, number][] = [
      [0, 0xd7ff],
      [0xe000, 0xffff],
      [0x1d100, 0x1d1ff],
      [0x1f600, 0x1f64f],
      [0xe0000, 0xe0fff],
    ]
    let escaped = 0
    for (const [from, to] of ranges) {
      for (let c = from; c <= to; c++) {
        const ch = String.fromCodePoint(c)
        const text = JSON.stringify({ [`k中${ch}`]: `a é ${ch} 😀` })
        const out = escapeJsonText(text)
        const holds = out !== text
        if (holds) escaped++
        expect(holdsInvisibleUtf8(Buffer.from(text)), c.toString(16)).toBe(holds)
        expect(JSON.parse(out), c.toString(16)).toEqual(JSON.parse(text))
      }
    }
    expect(escapeJsonText('"a\u007fb"')).toBe('"a\\u007fb"')
    expect(escapeJsonText('"\u009b31m\u202e\u200b"')).toBe('"\\u009b31m\\u202e\\u200b"')
    // C1, DEL, the format and default-ignorable characters: thousands (the tag characters alone).
    expect(escaped).toBeGreaterThan(4000)
  })
})
