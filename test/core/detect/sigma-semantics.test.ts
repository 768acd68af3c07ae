import { describe, expect, it, vi } from 'vitest'
import { escapeRegExp } from '../../../src/core/common/text.js'
import { regexRisk } from '../../../src/core/detect/regex-shape.js'
import {
  ANY,
  anchorParts,
  compileParts,
  foldCase,
  ONE,
  parseSigmaString,
} from '../../../src/core/detect/sigma-string.js'
import { trimSearchEdges } from '../../../src/core/detect/values.js'
import { hit, refusal, ruleFrom } from './helpers.js'

/** The regular expressions `run` executes (`test`, `exec`, and what calls them: `match`, `replace`…). */
function regexesRun(run: () => void): RegExp[] {
  const seen = new Map<string, RegExp>()
  const { test, exec } = RegExp.prototype
  const note = (re: RegExp) => seen.set(`/${re.source}/${re.flags}`, re)
  const spies = [
    vi.spyOn(RegExp.prototype, 'test').mockImplementation(function (this: RegExp, s: string) {
      note(this)
      return test.call(this, s)
    }),
    vi.spyOn(RegExp.prototype, 'exec').mockImplementation(function (this: RegExp, s: string) {
      note(this)
      return exec.call(this, s)
    }),
  ]
  try {
    run()
  } finally {
    for (const spy of spies) spy.mockRestore()
  }
  return [...seen.values()]
}

describe('Sigma values', () => {
  it('matches strings case-insensitively: \'NO\' matches "No" and "no"', () => {
    const det = `
sel:
  requestParameters.answer: 'NO'
condition: sel`
    expect(hit(det, { requestParameters: { answer: 'No' } })).toBe(true)
    expect(hit(det, { requestParameters: { answer: 'no' } })).toBe(true)
    expect(hit(det, { requestParameters: { answer: 'NOPE' } })).toBe(false)
    expect(hit(det, { requestParameters: { answer: false } })).toBe(false)
  })

  it('reads YAML as pySigma does (1.1): unquoted NO is the boolean false, not the text "No"', () => {
    const det = `
sel:
  requestParameters.answer: NO
condition: sel`
    expect(hit(det, { requestParameters: { answer: false } })).toBe(true)
    expect(hit(det, { requestParameters: { answer: 'false' } })).toBe(true)
    expect(hit(det, { requestParameters: { answer: 'No' } })).toBe(false)
    // `n` and `y` stay strings (PyYAML does not treat them as booleans)
    expect(hit(`\nsel:\n  a: n\ncondition: sel`, { a: 'N' })).toBe(true)
  })

  it("coerces between strings and booleans: 'false' matches false and false matches 'false'", () => {
    const quoted = `
sel:
  requestParameters.enable: 'false'
condition: sel`
    expect(hit(quoted, { requestParameters: { enable: false } })).toBe(true)
    expect(hit(quoted, { requestParameters: { enable: 'FALSE' } })).toBe(true)
    expect(hit(quoted, { requestParameters: { enable: true } })).toBe(false)
    const bare = `
sel:
  requestParameters.enable: false
condition: sel`
    expect(hit(bare, { requestParameters: { enable: false } })).toBe(true)
    expect(hit(bare, { requestParameters: { enable: 'False' } })).toBe(true)
    expect(hit(bare, { requestParameters: { enable: 0 } })).toBe(false)
    expect(hit(bare, { requestParameters: {} })).toBe(false)
  })

  it('coerces between strings and numbers', () => {
    const num = `
sel:
  requestParameters.maxResults: 50
condition: sel`
    expect(hit(num, { requestParameters: { maxResults: 50 } })).toBe(true)
    expect(hit(num, { requestParameters: { maxResults: '50' } })).toBe(true)
    expect(hit(num, { requestParameters: { maxResults: '50.0' } })).toBe(true)
    expect(hit(num, { requestParameters: { maxResults: 500 } })).toBe(false)
    const text = `
sel:
  requestParameters.maxResults: '50'
condition: sel`
    expect(hit(text, { requestParameters: { maxResults: 50 } })).toBe(true)
    expect(hit(`\nsel:\n  a|contains: 12\ncondition: sel`, { a: 'x123' })).toBe(true)
    expect(hit(`\nsel:\n  a|startswith: 4\ncondition: sel`, { a: 4096 })).toBe(true)
  })

  it('treats a value list as OR, and |all as AND', () => {
    const any = `
sel:
  eventName:
    - StopLogging
    - DeleteTrail
condition: sel`
    expect(hit(any, { eventName: 'DeleteTrail' })).toBe(true)
    expect(hit(any, { eventName: 'UpdateTrail' })).toBe(false)
    const all = `
sel:
  userAgent|contains|all:
    - aws-cli
    - linux
condition: sel`
    expect(hit(all, { userAgent: 'aws-cli/2.15 Python/3.11 Linux/6.5' })).toBe(true)
    expect(hit(all, { userAgent: 'aws-cli/2.15 Darwin/23' })).toBe(false)
  })

  it('searches arrays element-wise, also through arrays on the way to a nested field', () => {
    const det = `
sel:
  requestParameters.layers|contains: ':layer:evil'
condition: sel`
    expect(
      hit(det, {
        requestParameters: { layers: ['arn:aws:lambda:x:1:layer:ok:1', 'arn:aws:lambda:x:1:layer:evil:2'] },
      }),
    ).toBe(true)
    expect(hit(det, { requestParameters: { layers: ['arn:aws:lambda:x:1:layer:ok:1'] } })).toBe(false)
    expect(hit(det, { requestParameters: { layers: [] } })).toBe(false)
    const nested = `
sel:
  requestParameters.eventSelectors.readWriteType: ReadOnly
condition: sel`
    expect(
      hit(nested, {
        requestParameters: { eventSelectors: [{ readWriteType: 'All' }, { readWriteType: 'ReadOnly' }] },
      }),
    ).toBe(true)
    expect(hit(nested, { requestParameters: { eventSelectors: [{ readWriteType: 'All' }] } })).toBe(false)
    // |all spreads over elements: each value may match a different element
    const all = `
sel:
  tags|all:
    - a
    - b
condition: sel`
    expect(hit(all, { tags: ['b', 'c', 'a'] })).toBe(true)
    expect(hit(all, { tags: ['a', 'c'] })).toBe(false)
  })

  it('reads nested fields, and a literal dotted key as well', () => {
    const det = `
sel:
  userIdentity.sessionContext.sessionIssuer.userName: orders-role
condition: sel`
    expect(
      hit(det, { userIdentity: { sessionContext: { sessionIssuer: { userName: 'orders-role' } } } }),
    ).toBe(true)
    expect(hit(det, { 'userIdentity.sessionContext': { 'sessionIssuer.userName': 'orders-role' } })).toBe(
      true,
    )
    expect(hit(det, { userIdentity: { sessionContext: null } })).toBe(false)
    expect(hit(det, { userIdentity: 'orders-role' })).toBe(false)
  })

  it('treats null as absent: null matches a missing field and a JSON null, not an empty string', () => {
    const det = `
sel:
  eventName: DeleteBucket
status_null:
  errorCode: null
status_success:
  errorCode: Success
condition: sel and 1 of status_*`
    expect(hit(det, { eventName: 'DeleteBucket' })).toBe(true)
    expect(hit(det, { eventName: 'DeleteBucket', errorCode: null })).toBe(true)
    expect(hit(det, { eventName: 'DeleteBucket', errorCode: 'Success' })).toBe(true)
    expect(hit(det, { eventName: 'DeleteBucket', errorCode: 'AccessDenied' })).toBe(false)
    expect(hit(det, { eventName: 'DeleteBucket', errorCode: '' })).toBe(false)
    const empty = `
sel:
  errorCode: ''
condition: sel`
    expect(hit(empty, { errorCode: '' })).toBe(true)
    expect(hit(empty, {})).toBe(false)
  })

  it('|exists: true needs a present, non-null value; false needs it absent or null', () => {
    const yes = `
sel:
  requestParameters.role|exists: true
condition: sel`
    expect(hit(yes, { requestParameters: { role: 'arn' } })).toBe(true)
    expect(hit(yes, { requestParameters: { role: '' } })).toBe(true)
    expect(hit(yes, { requestParameters: { role: null } })).toBe(false)
    expect(hit(yes, { requestParameters: {} })).toBe(false)
    const no = `
sel:
  requestParameters.role|exists: false
condition: sel`
    expect(hit(no, { requestParameters: {} })).toBe(true)
    expect(hit(no, { requestParameters: { role: 'x' } })).toBe(false)
  })

  it('applies a field test to a whole object as its JSON text', () => {
    const det = `
sel:
  responseElements|contains: Failure
condition: sel`
    expect(hit(det, { responseElements: { status: 'Failure' } })).toBe(true)
    expect(hit(det, { responseElements: { status: 'ok' } })).toBe(false)
  })
})

describe('wildcards and escapes', () => {
  it('* matches any run, ? one character, both anywhere in the value', () => {
    const det = `
sel:
  userAgent: 'aws-cli/2.?? *linux*'
condition: sel`
    expect(hit(det, { userAgent: 'aws-cli/2.15 Python/3.11 Linux/6.5' })).toBe(true)
    expect(hit(det, { userAgent: 'aws-cli/2.1 Python/3.11 Linux/6.5' })).toBe(false)
    expect(hit(`\nsel:\n  a: '*'\ncondition: sel`, { a: '' })).toBe(true)
    expect(hit(`\nsel:\n  a: '*'\ncondition: sel`, {})).toBe(false)
    expect(hit(`\nsel:\n  a: 'x*y'\ncondition: sel`, { a: 'x\ny' })).toBe(true)
  })

  it('a backslash escapes *, ? and itself, and is literal before anything else', () => {
    const star = String.raw`
sel:
  a: 'price\*2'
condition: sel`
    expect(hit(star, { a: 'price*2' })).toBe(true)
    expect(hit(star, { a: 'price..2' })).toBe(false)
    const q = String.raw`
sel:
  a|endswith: 'why\?'
condition: sel`
    expect(hit(q, { a: 'but why?' })).toBe(true)
    expect(hit(q, { a: 'but whyX' })).toBe(false)
    const path = String.raw`
sel:
  a: 'C:\Windows\*'
condition: sel`
    expect(hit(path, { a: 'C:\\Windows*' })).toBe(true)
    expect(hit(path, { a: 'C:\\Windows\\system32' })).toBe(false)
    const slashStar = String.raw`
sel:
  a: 'dir\\*'
condition: sel`
    expect(hit(slashStar, { a: 'dir\\anything' })).toBe(true)
  })

  it('regex metacharacters in values are literal', () => {
    expect(hit(`\nsel:\n  a|contains: '(a+)[b]'\ncondition: sel`, { a: 'x(a+)[b]y' })).toBe(true)
    expect(hit(`\nsel:\n  a|contains: '(a+)[b]'\ncondition: sel`, { a: 'aab' })).toBe(false)
  })

  it('matches wildcards inside a value without a backtracking regular expression, in time linear in the value', () => {
    // Before: `foo*bar*baz` became /^foo.*bar.*baz$/, which reads the value again for every place
    // each `.*` can end: quadratic or worse on a field the attacker writes (up to 256 KB).
    const rules = [
      `\nsel:\n  a: 'foo*bar*baz'\ncondition: sel`,
      `\nsel:\n  a|contains: 'ab*ab*ac'\ncondition: sel`,
      `\nsel:\n  a|startswith: 'ab*ab?c'\ncondition: sel`,
      `\nsel:\n  a|endswith|cased: 'ab*ab*c'\ncondition: sel`,
      `\nsel:\n  a|contains|windash: ' -ab*ab -c'\ncondition: sel`,
      `\nkeywords:\n  - 'ab*ab*ac'\ncondition: keywords`,
      // SigmaHQ's aws_iam_s3browser_templated_s3_bucket_policy_creation.
      `\nsel:\n  a|contains|all:\n    - '"arn:aws:s3:::<YOUR-BUCKET-NAME>/*"'\ncondition: sel`,
    ].map((det) => ruleFrom(det))
    const values = [
      `foo${'bar'.repeat(100)}`,
      `ab${'ab'.repeat(150)}`,
      ` -ab${' -ab'.repeat(100)}`,
      `"${'arn:aws:s3:::<YOUR-BUCKET-NAME>/'.repeat(20)}`,
    ]
    const run = regexesRun(() => {
      rules.forEach((rule, i) => {
        for (const a of values) expect(rule.matches({ a }), `rule ${i}`).toBe(false)
      })
    })
    const backtracking = run.filter((re) => regexRisk(re.source, re.flags) !== undefined)
    expect(backtracking.map(String)).toEqual([])
    // And they still match what they should, on a long value too.
    const long = 'x'.repeat(100_000)
    expect(rules[0]!.matches({ a: `FOO${long}BAR${long}baz` })).toBe(true)
    expect(rules[1]!.matches({ a: `${long}ab${long}AB${long}ac${long}` })).toBe(true)
    expect(rules[6]!.matches({ a: `{"Resource":"arn:aws:s3:::<YOUR-BUCKET-NAME>/*"}` })).toBe(true)
  })

  it('wildcards inside a value: overlapping text, * at the ends, ?, escapes, empty segments, unicode, |cased', () => {
    const match = (
      pattern: string,
      value: string,
      mode?: 'contains' | 'startswith' | 'endswith',
      cased = false,
    ) => {
      const parts = parseSigmaString(pattern)
      return compileParts(mode ? anchorParts(parts, mode) : parts, cased)(value)
    }
    // The text before a * and the text after it may not share characters.
    expect(match('aba*aba', 'ababa')).toBe(false)
    expect(match('aba*aba', 'abaaba')).toBe(true)
    expect(match('ab*ba', 'aba')).toBe(false)
    expect(match('ab*ba', 'abba')).toBe(true)
    expect(match('aa*aa', 'aaa', 'contains')).toBe(false)
    expect(match('aa*aa', 'xaaaay', 'contains')).toBe(true)
    // The leftmost place of a segment is the one to take, even when a later one looks better.
    expect(match('a*ab*b', 'aabab')).toBe(true)
    expect(match('x*aab*y', 'xaaabaaby')).toBe(true)
    expect(match('*a*b', 'b')).toBe(false)
    expect(match('*a*b', 'ab')).toBe(true)
    expect(match('a*b*', 'a')).toBe(false)
    expect(match('*a*b*', 'xxbxxaxx')).toBe(false)
    expect(match('a*b', 'a\nb')).toBe(true)
    // ?: exactly one character, a newline or one outside the BMP (two UTF-16 units) too.
    expect(match('a?c', 'ac')).toBe(false)
    expect(match('a?c', 'abbc')).toBe(false)
    expect(match('a?c*', 'a\ncd')).toBe(true)
    expect(match('a?c*x', 'a😀cx')).toBe(true)
    expect(match('a??c*x', 'a😀cx')).toBe(false)
    expect(match('*x?', 'ab😀x😀')).toBe(true)
    expect(match('?*?', 'x')).toBe(false)
    expect(match('?*?', 'xy')).toBe(true)
    expect(match('*?', '')).toBe(false)
    expect(match('*??*a', '😀a')).toBe(false)
    expect(match('*??*a', '😀😀a')).toBe(true)
    expect(match('?a*?b', 'xaYb', 'contains')).toBe(true)
    // Escapes: \* and \? are the characters, \\ one backslash, a backslash before anything else itself.
    expect(match('a\\*b*c', 'a*bxc')).toBe(true)
    expect(match('a\\*b*c', 'axbxc')).toBe(false)
    expect(match('a\\?b*c', 'a?bc')).toBe(true)
    expect(match('a\\?b*c', 'axbc')).toBe(false)
    expect(match('a\\\\*b*c', 'a\\xbyc')).toBe(true)
    expect(match('C:\\Windows\\\\*\\cmd*', 'c:\\windows\\system32\\CMD.exe')).toBe(true)
    expect(match('C:\\Windows\\*\\cmd*', 'c:\\windows\\system32\\CMD.exe')).toBe(false)
    // Empty segments: consecutive * are one.
    expect(match('a**b*c', 'abc')).toBe(true)
    expect(match('**', '')).toBe(true)
    // Case-insensitive as a regular expression with the i and u flags is: ς, σ and Σ are one letter,
    // ſ is s, the Kelvin sign is k; İ is itself, and ? still counts it as one character.
    expect(match('*ΟΔΟΣ*X', 'οδος-x')).toBe(true)
    expect(match('*οδος*x', 'ΟΔΟΣ-X')).toBe(true)
    expect(match('ſ*k', 'S-\u212a')).toBe(true)
    expect(match('a?b*c', 'aİbxc')).toBe(true)
    expect(match('a?b*c', 'AİBxC')).toBe(true)
    expect(match('STRASSE*x', 'straße-x')).toBe(false)
    // |cased
    expect(match('Foo*Bar*Baz', 'FooxBarxBaz', undefined, true)).toBe(true)
    expect(match('Foo*Bar*Baz', 'fooxbarxbaz', undefined, true)).toBe(false)
    expect(match('Ab?c*D', 'xAbXcYD', 'contains', true)).toBe(true)
    expect(match('Ab?c*D', 'xabXcYD', 'contains', true)).toBe(false)
  })

  it('wildcards inside a value match as the regular expression they used to compile to', () => {
    let seed = 7
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const patternChars = ['a', 'b', 'A', '*', '*', '?', '\\', '\\*', '😀', '\n']
    const valueChars = ['a', 'b', 'B', '*', '?', '\\', '😀', '\n']
    for (let i = 0; i < 10_000; i++) {
      const pattern = Array.from({ length: 1 + rand(8) }, () => patternChars[rand(patternChars.length)]).join(
        '',
      )
      const value = Array.from({ length: rand(10) }, () => valueChars[rand(valueChars.length)]).join('')
      const cased = rand(2) === 0
      const mode = [undefined, 'contains', 'startswith', 'endswith'][rand(4)] as 'contains' | undefined
      const parts = mode ? anchorParts(parseSigmaString(pattern), mode) : parseSigmaString(pattern)
      const source = parts.map((p) => (p === ANY ? '.*' : p === ONE ? '.' : escapeRegExp(p))).join('')
      const expected = new RegExp(`^${source}$`, cased ? 'su' : 'siu').test(value)
      expect(
        compileParts(parts, cased)(value),
        `${JSON.stringify(pattern)} ${mode} cased=${cased} ${JSON.stringify(value)}`,
      ).toBe(expected)
    }
  })

  it('folds case as the i and u flags of a regular expression do, for every character', () => {
    const problems: string[] = []
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp < 0xe000) continue
      const c = String.fromCodePoint(cp)
      const folded = foldCase(c)
      if ([...folded].length !== 1)
        problems.push(`${cp.toString(16)} folds to ${[...folded].length} characters`)
      if (c.toUpperCase() === c && c.toLowerCase() === c && folded === c) continue
      const same = new RegExp(`^${escapeRegExp(folded)}$`, 'iu')
      if (!same.test(c)) problems.push(`${cp.toString(16)} folds to ${folded}, another letter`)
      for (const other of [c.toUpperCase(), c.toLowerCase()]) {
        if ([...other].length === 1 && same.test(other) && foldCase(other) !== folded)
          problems.push(`${cp.toString(16)} and ${other} are one letter but fold apart`)
      }
    }
    expect(problems).toEqual([])
    // Σ is σ wherever it stands (toLowerCase writes ς at the end of a word).
    expect(foldCase('ΟΔΟΣ ΟΔΟΣ')).toBe('οδοσ οδοσ')
  })
})

describe('modifiers', () => {
  it('contains, startswith, endswith', () => {
    expect(hit(`\nsel:\n  a|contains: MID\ncondition: sel`, { a: 'xmidy' })).toBe(true)
    expect(hit(`\nsel:\n  a|startswith: Update\ncondition: sel`, { a: 'UpdateFunctionCode20150331v2' })).toBe(
      true,
    )
    expect(hit(`\nsel:\n  a|startswith: Update\ncondition: sel`, { a: 'xUpdate' })).toBe(false)
    expect(hit(`\nsel:\n  a|endswith: v2\ncondition: sel`, { a: 'AddPermission20150331V2' })).toBe(true)
  })

  it('cased makes matching case-sensitive', () => {
    expect(hit(`\nsel:\n  a|cased: Admin\ncondition: sel`, { a: 'admin' })).toBe(false)
    expect(hit(`\nsel:\n  a|contains|cased: Admin\ncondition: sel`, { a: 'xAdminx' })).toBe(true)
  })

  it('re is a case-sensitive search unless |i; |m and |s and inline (?i) work', () => {
    expect(
      hit(`\nsel:\n  a|re: 'assumed-role/aws:.+'\ncondition: sel`, {
        a: 'arn:aws:sts::1:assumed-role/aws:x/y',
      }),
    ).toBe(true)
    expect(hit(`\nsel:\n  a|re: 'ADMIN'\ncondition: sel`, { a: 'admin' })).toBe(false)
    expect(hit(`\nsel:\n  a|re|i: 'ADMIN'\ncondition: sel`, { a: 'admin' })).toBe(true)
    expect(hit(`\nsel:\n  a|re: '(?i)ADMIN'\ncondition: sel`, { a: 'admin' })).toBe(true)
    expect(hit(`\nsel:\n  a|re|m: '^two$'\ncondition: sel`, { a: 'one\ntwo' })).toBe(true)
    expect(hit(`\nsel:\n  a|re: '^two$'\ncondition: sel`, { a: 'one\ntwo' })).toBe(false)
    expect(hit(`\nsel:\n  a|re|s: 'one.two'\ncondition: sel`, { a: 'one\ntwo' })).toBe(true)
    expect(hit(`\nsel:\n  a|re: 'one.two'\ncondition: sel`, { a: 'one\ntwo' })).toBe(false)
    expect(hit(`\nsel:\n  a|re: '^\\d+$'\ncondition: sel`, { a: 123 })).toBe(true)
  })

  it('re reads PCRE’s subject anchors \\A, \\z and \\Z as PCRE does, not as the letters A and Z', () => {
    const re = (pattern: string, mods = '') => `\nsel:\n  a|re${mods}: '${pattern}'\ncondition: sel`
    // \A: the start of the value (JavaScript read it as the letter A).
    expect(hit(re('\\Aadmin'), { a: 'admin-x' })).toBe(true)
    expect(hit(re('\\Aadmin'), { a: 'Aadmin' })).toBe(false)
    expect(hit(re('\\Aadmin'), { a: 'x-admin' })).toBe(false)
    // \z: the very end; \Z: the end or before a final newline.
    expect(hit(re('admin\\z'), { a: 'x-admin' })).toBe(true)
    expect(hit(re('admin\\z'), { a: 'x-adminz' })).toBe(false)
    expect(hit(re('admin\\z'), { a: 'x-admin\n' })).toBe(false)
    expect(hit(re('admin\\Z'), { a: 'x-admin\n' })).toBe(true)
    expect(hit(re('admin\\Z'), { a: 'x-adminZ' })).toBe(false)
    expect(hit(re('admin\\Z'), { a: 'x-admin\n\n' })).toBe(false)
    // With |m, ^ and $ match at each line; \A and \z still only at the ends of the value.
    expect(hit(re('\\Atwo', '|m'), { a: 'one\ntwo' })).toBe(false)
    expect(hit(re('^two', '|m'), { a: 'one\ntwo' })).toBe(true)
    expect(hit(re('one\\z', '|m'), { a: 'one\ntwo' })).toBe(false)
    expect(hit(re('two\\z', '|m'), { a: 'one\ntwo' })).toBe(true)
    expect(hit(re('one\\Z', '|m'), { a: 'one\ntwo' })).toBe(false)
    expect(hit(re('(?m)two\\Z'), { a: 'one\ntwo\n' })).toBe(true)
    // An escaped backslash before A is a backslash and an A.
    expect(hit(re('x\\\\Ay'), { a: 'x\\Ay' })).toBe(true)
  })

  it('refuses a PCRE escape JavaScript would read as a letter, with the reason', () => {
    const re = (pattern: string) => `\nsel:\n  a|re: '${pattern}'\ncondition: sel`
    expect(refusal(re('\\Gadmin'))).toMatch(/'a\|re' uses the regular-expression escape \\G.*letter G/)
    for (const pattern of ['\\Qa.b\\E', 'a\\Kb', '\\h+', '\\R', '\\p{L}', '\\x{41}', 'a\\e'])
      expect(refusal(re(pattern)), pattern).toMatch(/regular-expression escape/)
    expect(refusal(re('[\\A-Z]'))).toMatch(/inside a character class/)
    // What JavaScript reads as PCRE does is kept.
    for (const pattern of ['\\d\\w\\s\\b\\.\\t', '\\x41', '\\u0041', '\\cA', '(?<n>a)\\k<n>', '[\\b]'])
      expect(() => ruleFrom(re(pattern)), pattern).not.toThrow()
  })

  it('re drops leading and trailing .* / .+ without changing what a search finds', () => {
    expect(trimSearchEdges('.+:assumed-role/aws:.+')).toBe('.:assumed-role/aws:.')
    expect(trimSearchEdges('.*admin.*?')).toBe('admin')
    expect(trimSearchEdges('a\\.*')).toBe('a\\.*')
    expect(trimSearchEdges('a\\\\.*')).toBe('a\\\\')
    expect(trimSearchEdges('^.*x$')).toBe('^.*x$')
    const patterns = [
      '.+:role/.+',
      '.*a|b.+',
      '.+?x.*?',
      '.*',
      '.+',
      'x\\..+',
      '.+(?<=ab)c',
      '.*^b',
      '.+\\.*',
    ]
    const inputs = ['', 'x', ':role/', 'a:role/b', 'ab\nc', 'abc', '\nx', 'x.y', 'b', 'q\\', 'a\nb\n']
    for (const p of patterns) {
      for (const flags of ['', 's', 'm', 'i']) {
        const a = new RegExp(p, flags)
        const b = new RegExp(trimSearchEdges(p), flags)
        for (const input of inputs)
          expect(b.test(input), `${p} /${flags} on ${JSON.stringify(input)}`).toBe(a.test(input))
      }
    }
  })

  it('cidr matches IPv4 and IPv6 addresses in range, and nothing else', () => {
    const det = `
sel:
  sourceIPAddress|cidr:
    - 10.0.0.0/8
    - 2001:db8::/32
condition: sel`
    expect(hit(det, { sourceIPAddress: '10.20.30.40' })).toBe(true)
    expect(hit(det, { sourceIPAddress: '11.0.0.1' })).toBe(false)
    expect(hit(det, { sourceIPAddress: '2001:db8:1::5' })).toBe(true)
    expect(hit(det, { sourceIPAddress: '2001:db9::5' })).toBe(false)
    expect(hit(det, { sourceIPAddress: '::ffff:10.1.1.1' })).toBe(true)
    expect(hit(det, { sourceIPAddress: 'AWS Internal' })).toBe(false)
  })

  it('gt, gte, lt, lte compare numbers and numeric strings', () => {
    expect(hit(`\nsel:\n  n|gt: 10\ncondition: sel`, { n: 11 })).toBe(true)
    expect(hit(`\nsel:\n  n|gt: 10\ncondition: sel`, { n: 10 })).toBe(false)
    expect(hit(`\nsel:\n  n|gte: 10\ncondition: sel`, { n: '10' })).toBe(true)
    expect(hit(`\nsel:\n  n|lt: 10\ncondition: sel`, { n: 9.5 })).toBe(true)
    expect(hit(`\nsel:\n  n|lte: 10\ncondition: sel`, { n: 'ten' })).toBe(false)
    expect(hit(`\nsel:\n  n|lte: 10\ncondition: sel`, { n: [20, 3] })).toBe(true)
  })

  it('fieldref compares with another field of the same record (case-insensitively)', () => {
    const det = `
sel:
  eventName: CreateAccessKey
filter:
  requestParameters.userName|fieldref: userIdentity.userName
condition: sel and not filter`
    const rec = (caller: string | undefined, target: string) => ({
      eventName: 'CreateAccessKey',
      userIdentity: caller === undefined ? { type: 'AssumedRole' } : { userName: caller },
      requestParameters: { userName: target },
    })
    expect(hit(det, rec('mallory', 'deploy-bot'))).toBe(true)
    expect(hit(det, rec('alice', 'alice'))).toBe(false)
    expect(hit(det, rec('Alice', 'alice'))).toBe(false)
    // the referenced field is absent: not equal, so the filter does not apply
    expect(hit(det, rec(undefined, 'alice'))).toBe(true)
    const endsWith = `
sel:
  userIdentity.arn|fieldref|endswith: requestParameters.userName
condition: sel`
    expect(
      hit(endsWith, {
        userIdentity: { arn: 'arn:aws:iam::1:user/alice' },
        requestParameters: { userName: 'alice' },
      }),
    ).toBe(true)
    expect(
      hit(endsWith, {
        userIdentity: { arn: 'arn:aws:iam::1:user/bob' },
        requestParameters: { userName: 'alice' },
      }),
    ).toBe(false)
  })

  it('base64 and base64offset find encoded text', () => {
    const plain = `
sel:
  a|base64: 'curl http'
condition: sel`
    expect(hit(plain, { a: Buffer.from('curl http').toString('base64') })).toBe(true)
    const offset = `
sel:
  a|base64offset|contains: 'curl http'
condition: sel`
    for (const prefix of ['', 'x', 'xy', 'sh -c "']) {
      const encoded = Buffer.from(`${prefix}curl http://203.0.113.7/x`).toString('base64')
      expect(hit(offset, { a: `data ${encoded} end` }), `prefix '${prefix}'`).toBe(true)
    }
    expect(hit(offset, { a: Buffer.from('wget http://x').toString('base64') })).toBe(false)
    const wide = `
sel:
  a|wide|base64offset|contains: 'ping'
condition: sel`
    expect(hit(wide, { a: Buffer.from('x ping y', 'utf16le').toString('base64') })).toBe(true)
  })

  it('windash accepts -, /, and the unicode dashes at the start of a switch', () => {
    const det = `
sel:
  a|windash|contains: ' -enc '
condition: sel`
    expect(hit(det, { a: 'powershell /enc abc' })).toBe(true)
    expect(hit(det, { a: 'powershell \u2013enc abc' })).toBe(true)
    expect(hit(det, { a: 'powershell +enc abc' })).toBe(false)
  })
})

describe('conditions', () => {
  const rec = {
    eventName: 'PutRolePolicy',
    eventSource: 'iam.amazonaws.com',
    userIdentity: { type: 'IAMUser' },
  }

  it('1 of selection* and all of selection* expand the wildcard over identifiers', () => {
    const one = `
selection_a:
  eventName: PutRolePolicy
selection_b:
  eventName: AttachRolePolicy
other:
  eventSource: nope
condition: 1 of selection*`
    expect(hit(one, rec)).toBe(true)
    const all = one.replace('1 of selection*', 'all of selection*')
    expect(hit(all, rec)).toBe(false)
    expect(hit(all.replace('AttachRolePolicy', 'Put*'), rec)).toBe(true)
  })

  it('1 of them and all of them cover every identifier except those starting with _', () => {
    const det = `
a:
  eventName: PutRolePolicy
b:
  eventSource: iam.amazonaws.com
_helper:
  eventName: nothing
condition: all of them`
    expect(hit(det, rec)).toBe(true)
    expect(hit(det.replace('all of them', '1 of them'), { eventName: 'x' })).toBe(false)
    expect(hit(det.replace('all of them', '1 of them'), { eventSource: 'iam.amazonaws.com' })).toBe(true)
  })

  it('nested not, parentheses and precedence (not > and > or)', () => {
    const sel = `
a:
  eventName: PutRolePolicy
b:
  eventSource: iam.amazonaws.com
c:
  userIdentity.type: Root
`
    expect(hit(`${sel}condition: a and not (b and not c)`, rec)).toBe(false)
    expect(hit(`${sel}condition: a and not (b and c)`, rec)).toBe(true)
    expect(hit(`${sel}condition: not not a`, rec)).toBe(true)
    expect(hit(`${sel}condition: not a or b`, rec)).toBe(true)
    // or binds loosest: c or (a and b)
    expect(hit(`${sel}condition: c or a and b`, rec)).toBe(true)
    expect(hit(`${sel}condition: (c or a) and not b`, rec)).toBe(false)
    expect(hit(`${sel}condition: not (c or not (a and b))`, rec)).toBe(true)
    // a missing field makes its selection false, so `not` of it is true
    expect(hit(`${sel}condition: not c`, { eventName: 'x' })).toBe(true)
  })

  it('a list of maps is OR; a map is AND', () => {
    const det = `
sel:
  - eventName: StopLogging
  - eventName: DeleteTrail
    eventSource: cloudtrail.amazonaws.com
condition: sel`
    expect(hit(det, { eventName: 'StopLogging' })).toBe(true)
    expect(hit(det, { eventName: 'DeleteTrail' })).toBe(false)
    expect(hit(det, { eventName: 'DeleteTrail', eventSource: 'cloudtrail.amazonaws.com' })).toBe(true)
  })

  it('keyword lists search every value of the record', () => {
    const det = `
keywords:
  - TruffleHog
  - 'kali*linux'
condition: keywords`
    expect(hit(det, { userAgent: 'trufflehog v3' })).toBe(true)
    expect(hit(det, { a: { b: ['x', 'Kali GNU/Linux'] } })).toBe(true)
    expect(hit(det, { userAgent: 'aws-cli' })).toBe(false)
  })
})

describe('refusals', () => {
  it('refuses aggregations, near and timeframe with the reason', () => {
    expect(refusal('sel:\n  eventName: x\ncondition: sel | count() by userIdentity.arn > 5')).toMatch(
      /aggregation/,
    )
    expect(refusal('a:\n  eventName: x\nb:\n  eventName: y\ncondition: a | near b')).toMatch(/near/)
    expect(refusal('sel:\n  eventName: x\ntimeframe: 5m\ncondition: sel')).toMatch(/timeframe/)
  })

  it('refuses |expand placeholders, unknown and time-part modifiers, and bad values', () => {
    expect(refusal("sel:\n  src_ip|expand: '%admin_ips%'\ncondition: sel")).toMatch(/expand.*pipeline/)
    expect(refusal('sel:\n  a|sparkle: x\ncondition: sel')).toMatch(/unknown modifier \|sparkle/)
    expect(refusal('sel:\n  eventTime|hour: 3\ncondition: sel')).toMatch(/time-part/)
    expect(refusal("sel:\n  a|re: '(unclosed'\ncondition: sel")).toMatch(/invalid regular expression/)
    expect(refusal("sel:\n  a|cidr: '10.0.0.0/40'\ncondition: sel")).toMatch(/CIDR/)
    expect(refusal('sel:\n  a|gt: many\ncondition: sel')).toMatch(/number/)
    expect(refusal('sel:\n  a|exists: maybe\ncondition: sel')).toMatch(/true or false/)
    expect(refusal('sel:\n  a|contains: null\ncondition: sel')).toMatch(/null/)
    expect(refusal("sel:\n  a|base64: 'x*'\ncondition: sel")).toMatch(/wildcards/)
  })

  it('refuses conditions that name unknown identifiers or patterns that match none', () => {
    expect(refusal('sel:\n  a: 1\ncondition: sel and other')).toMatch(/'other'/)
    expect(refusal('sel:\n  a: 1\ncondition: 1 of filter_*')).toMatch(/matches no search identifier/)
    expect(refusal('sel:\n  a: 1\ncondition: (sel')).toMatch(/unclosed/)
    expect(refusal('sel:\n  a: 1\ncondition: sel sel')).toMatch(/unexpected/)
    expect(refusal('sel:\n  a: 1\ncondition: 2 of sel')).toMatch(/only '1 of' and 'all of'/)
  })

  it('refuses rules that break the Sigma schema, naming the field', () => {
    expect(refusal('sel:\n  a: 1\ncondition: sel', 'level: severe\n')).toMatch(/schema: level/)
    expect(refusal('sel:\n  a: 1\ncondition: sel', 'id: not-a-uuid\n')).toMatch(/schema: id/)
    expect(refusal('sel:\n  a: 1\ncondition: sel', 'tags: [Attack.T1078]\n')).toMatch(/schema: tags\.0/)
    expect(refusal('sel: just-a-string\ncondition: sel')).toMatch(/schema: detection\.sel/)
    expect(refusal('sel:\n  a: 1')).toMatch(/schema: detection\.condition/)
  })

  it('refuses an invalid fir extension block', () => {
    expect(
      refusal('sel:\n  a: 1\ncondition: sel', 'fir:\n  burst: { groupBy: x, window: soon, threshold: 5 }\n'),
    ).toMatch(/fir.*burst\.window/)
    expect(refusal('sel:\n  a: 1\ncondition: sel', 'fir:\n  magic: true\n')).toMatch(/fir/)
  })
})

describe('compiled rule metadata', () => {
  it('keeps id, level, tags and the eventName it requires', () => {
    const rule = ruleFrom(
      'sel:\n  eventName|startswith: UpdateFunctionCode\n  eventSource: lambda.amazonaws.com\ncondition: sel',
      'id: 5b7c0a52-1e44-4f2a-9c41-2a9f0b6b8c11\nlevel: high\ntags: [attack.persistence]\n',
    )
    expect(rule).toMatchObject({
      id: '5b7c0a52-1e44-4f2a-9c41-2a9f0b6b8c11',
      level: 'high',
      tags: ['attack.persistence'],
      eventNames: { exact: [], prefixes: ['updatefunctioncode'] },
    })
    expect(ruleFrom('sel:\n  eventName: x\ncondition: not sel').eventNames).toBeUndefined()
    expect(ruleFrom('a:\n  eventName: X\nb:\n  eventName: Y\ncondition: a or b').eventNames).toEqual({
      exact: ['x', 'y'],
      prefixes: [],
    })
  })
})
