import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { exponentialRisk, regexRisk } from '../../../src/core/detect/regex-shape.js'
import { sigmaRegex, splitKey } from '../../../src/core/detect/values.js'
import { refusal, repoRoot, ruleFrom } from './helpers.js'

const FLAGS: Record<string, string> = { i: 'i', ignorecase: 'i', m: 'm', multiline: 'm', s: 's', dotall: 's' }

/** Every `|re` value of a rule's detection, as fir compiles it: [key, JavaScript source, flags]. */
function regexes(detection: unknown): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = []
  const visit = (node: unknown) => {
    if (Array.isArray(node)) for (const n of node) visit(n)
    else if (node && typeof node === 'object')
      for (const [key, value] of Object.entries(node)) {
        const { modifiers } = splitKey(key)
        if (!modifiers.includes('re')) {
          visit(value)
          continue
        }
        const flags = modifiers.map((m) => FLAGS[m] ?? '').join('')
        for (const v of Array.isArray(value) ? value : [value]) {
          const js = sigmaRegex(key, v, flags)
          out.push([key, js.source, js.flags])
        }
      }
  }
  visit(detection)
  return out
}

describe('regexRisk: shapes that take a backtracking engine more than linear time', () => {
  it.each<[string, string, ReturnType<typeof regexRisk>]>([
    // exponential
    ['(a+)+$', '', 'nested'],
    ['(\\w+\\s?)*$', '', 'nested'],
    ['(x*)*y', '', 'nested'],
    ['(a|ab)*c', '', 'ambiguous'],
    ['(a|a)*', '', 'ambiguous'],
    ['(.|\\n)*x', 's', 'ambiguous'],
    // quadratic in one attempt
    ['a.*b.*c', '', 'overlapping-runs'],
    ['a*[ab]*c', '', 'overlapping-runs'],
    // quadratic over the value: a run reads past where the next attempt begins
    ['"Action"\\s*:\\s*(\\[[^\\]]*)?"\\*"', 'i', 'rescan'],
    ['%22Action%22(%20|%0A)*%3A(%5B((?!%5D).)*)?%22(\\*|%2A)%22', 'i', 'rescan'],
    ['foo.*bar', '', 'rescan'],
    ['\\s*foo', '', 'rescan'],
    ['^\\s*foo', 'm', 'rescan'],
    // linear
    ['"Action"\\s*:\\s*(\\[((?!"Action")[^\\]])*)?"\\*"', 'i', undefined],
    ['%22Action%22(%20|%0A)*%3A(%5B((?!%5D|%22Action%22).)*)?%22(\\*|%2A)%22', 'i', undefined],
    ['^\\s*foo', '', undefined],
    ['x(?:a|b)*y', '', undefined],
    ['.:assumed-role/aws:.', '', undefined],
    ['^(\\d{12}|arn:aws[a-z-]*:iam::\\d{12}:(root|user/.+|role/.+))$', '', undefined],
    ['ADMIN', 'i', undefined],
    ['(?<n>a)\\k<n>', '', undefined],
    // what this reading does not know is no verdict
    ['a\\k<b', '', undefined],
    ['[\\1]', '', undefined],
  ])('%s (%s): %s', (source, flags, risk) => {
    expect(regexRisk(source, flags)).toBe(risk)
  })

  it('calls only nested and ambiguous repetitions exponential', () => {
    expect(exponentialRisk('(a+)+$', '')).toBe('nested')
    expect(exponentialRisk('(a|ab)*c', '')).toBe('ambiguous')
    // The inner repetition ends on a character it cannot contain: linear.
    expect(exponentialRisk('(\\d+\\.)+x', '')).toBeUndefined()
    expect(exponentialRisk('(%20|%0A|%0D)*', 'i')).toBeUndefined()
    expect(exponentialRisk('foo.*bar', '')).toBeUndefined()
    expect(exponentialRisk('(unclosed', '')).toBeUndefined()
  })
})

describe('|re in rules', () => {
  const re = (pattern: string) => `\nsel:\n  a|re: '${pattern}'\ncondition: sel`

  it('refuses a regular expression that can take exponential time, with the reason', () => {
    expect(refusal(re('(a+)+$'))).toMatch(
      /'a\|re' has a regular expression that can take exponential time: an unbounded repetition inside another/,
    )
    expect(refusal(re('^(\\w+\\s?)*$'))).toMatch(/exponential time/)
    expect(refusal(re('(a|ab)*c'))).toMatch(/exponential time: a repeated alternation/)
    // Quadratic shapes are common in Sigma rules and stay usable.
    for (const pattern of ['foo.*bar', '.+:assumed-role/aws:.+', '(\\d+\\.)+\\d+', 'a.*b.*c'])
      expect(() => ruleFrom(re(pattern)), pattern).not.toThrow()
  })

  it("fir's own rules have no shape that takes more than linear time on a 256 KB field", () => {
    // A structural check, not a timing: a |re of fir's rules runs on fields the attacker writes.
    const dir = path.join(repoRoot, 'rules')
    const found: Array<[string, string, string]> = []
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yml'))) {
      const rule = YAML.parse(readFileSync(path.join(dir, file), 'utf8'))
      for (const [key, source, flags] of regexes(rule.detection)) {
        found.push([file, key, source])
        expect({ file, key, source, risk: regexRisk(source, flags) }).toEqual({
          file,
          key,
          source,
          risk: undefined,
        })
      }
    }
    expect(found.map(([file]) => file)).toContain('iam_admin_policy_granted.yml')
  })
})
