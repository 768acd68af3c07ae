import { describe, expect, it } from 'vitest'
import { firstJsonError, jsonSyntaxProblem, parseJson } from '../../../src/core/common/json-syntax.js'

const SECRET = 'Sup3rS3cretPassw0rdX'

/** What JSON.parse says of `text` (V8's message, which quotes it). */
function v8Message(text: string): string {
  try {
    JSON.parse(text)
  } catch (err) {
    return (err as Error).message
  }
  throw new Error(`JSON.parse accepted ${text}`)
}

describe('jsonSyntaxProblem', () => {
  it("says what is wrong and where without quoting the text, where V8's message quotes it", () => {
    // The secret at the start, in the middle and at the end of the text: V8 quotes each.
    const texts = [
      `[${SECRET}]`,
      `{"a": 1, "b": ${SECRET}, "c": 3, "d": 4}`,
      `["a", "b", "c", "d", ${SECRET.slice(0, 9)}]`,
    ]
    for (const text of texts) expect(v8Message(text)).toContain(SECRET.slice(0, 8))
    expect(texts.map(jsonSyntaxProblem)).toEqual([
      'not valid JSON: expected a value at position 1 (line 1 column 2)',
      'not valid JSON: expected a value at position 14 (line 1 column 15)',
      'not valid JSON: expected a value at position 21 (line 1 column 22)',
    ])
    for (const text of texts) expect(jsonSyntaxProblem(text)).not.toContain('Sup')
  })

  it('names the kind of problem, the line and the column', () => {
    const cases: [string, string][] = [
      [
        '{"a": 1,\n  "b": 2\n  x',
        "expected ',' or '}' after a property value at position 20 (line 3 column 3)",
      ],
      ['[1, 2', 'the text ends before the JSON does (cut short?) at position 5 (line 1 column 6)'],
      [
        '{"Records": [{"eventName": "Get',
        'the text ends inside a string (cut short?) at position 31 (line 1 column 32)',
      ],
      ['[1 2]', "expected ',' or ']' after an array element at position 3 (line 1 column 4)"],
      ['{a: 1}', 'expected a double-quoted property name at position 1 (line 1 column 2)'],
      ['{"a" 1}', "expected ':' after a property name at position 5 (line 1 column 6)"],
      ['["a\tb"]', 'a control character in a string (it must be escaped) at position 3 (line 1 column 4)'],
      ['["a\\qb"]', 'a bad escape in a string at position 4 (line 1 column 5)'],
      ['["\\u12G4"]', 'a bad \\u escape in a string at position 6 (line 1 column 7)'],
      ['[-x]', "a number with no digit after its '-' at position 2 (line 1 column 3)"],
      ['[1.]', "a number with no digit after its '.' at position 3 (line 1 column 4)"],
      ['[1e+]', 'a number with no digit after its exponent mark at position 4 (line 1 column 5)'],
      ['[trux]', 'expected the literal true at position 4 (line 1 column 5)'],
      ['[1,]', 'expected a value at position 3 (line 1 column 4)'],
      ['{"a":1}\n{"b":2}\n', 'more after the JSON value at position 8 (line 2 column 1)'],
      ['  ', 'the text is empty at position 2 (line 1 column 3)'],
    ]
    for (const [text, problem] of cases) {
      expect(() => JSON.parse(text), text).toThrow(SyntaxError)
      expect(jsonSyntaxProblem(text), text).toBe(`not valid JSON: ${problem}`)
    }
  })

  it('finds a problem in every text JSON.parse refuses, and none in a text it takes', () => {
    // Random texts made of JSON's own pieces, so that many are JSON and many are nearly JSON.
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '"a"',
      '\\',
      '\\u00e9',
      '1',
      '-',
      '.',
      'e',
      '0',
      'true',
      'nul',
      ' ',
      '\n',
      'x',
      '\u0001',
      '\u2028',
    ]
    let seed = 42
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    let valid = 0
    for (let t = 0; t < 20000; t++) {
      let text = ''
      const len = 1 + Math.floor(random() * 12)
      for (let k = 0; k < len; k++) text += pieces[Math.floor(random() * pieces.length)]
      let parses = true
      try {
        JSON.parse(text)
      } catch {
        parses = false
      }
      if (parses) valid++
      expect(firstJsonError(text) === undefined, JSON.stringify(text)).toBe(parses)
    }
    expect(valid).toBeGreaterThan(100)
    // Nested deeper than any recursion would go.
    expect(firstJsonError(`${'['.repeat(200_000)}${']'.repeat(200_000)}`)).toBeUndefined()
    expect(firstJsonError(`${'['.repeat(200_000)}x`)?.at).toBe(200_000)
  })
})

describe('parseJson', () => {
  it('parses JSON, and throws a SyntaxError that quotes nothing of a text that is not', () => {
    expect(parseJson('{"a":[1,true,null]}')).toEqual({ a: [1, true, null] })
    expect(() => parseJson(`{"DB_PASSWORD": ${SECRET}}`)).toThrow(
      new SyntaxError('not valid JSON: expected a value at position 16 (line 1 column 17)'),
    )
  })
})
