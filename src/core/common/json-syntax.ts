/**
 * What is wrong with text that JSON.parse refused, said without quoting any of it. V8's own message
 * quotes up to 21 characters of the text around the problem (`Unexpected token 'S', "[Sup3rS3cre"...
 * is not valid JSON`), and the text may be an attacker's (a trail file, an object in S3, a page AWS
 * returned) or hold a secret, which the redactor, matching whole values, does not find in a piece.
 * Here the kind of problem is fir's own words and where it is a position (0-based, in characters)
 * with its line and column (1-based), found by scanning the text again (only once it was refused).
 */
export function jsonSyntaxProblem(text: string): string {
  const found = firstJsonError(text)
  // JSON.parse refused what this scanner accepts: say no more than that.
  if (!found) return 'not valid JSON'
  return `not valid JSON: ${found.problem} at ${positionText(text, found.at)}`
}

/**
 * JSON.parse for text fir did not write from its own values (anything read from AWS or CloudTrail,
 * or derived from it): its SyntaxError says what is wrong and where (jsonSyntaxProblem), never V8's
 * message, which quotes the text.
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    if (err instanceof SyntaxError) throw new SyntaxError(jsonSyntaxProblem(text))
    throw err
  }
}

/** `position 7 (line 2 column 3)`. */
function positionText(text: string, at: number): string {
  let line = 1
  let lineStart = 0
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < at; nl = text.indexOf('\n', nl + 1)) {
    line++
    lineStart = nl + 1
  }
  return `position ${at} (line ${line} column ${at - lineStart + 1})`
}

interface JsonError {
  at: number
  problem: string
}

const LITERALS = ['true', 'false', 'null']
const SIMPLE_ESCAPES = '"\\/bfnrt'

const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)

/**
 * The first place `text` departs from JSON's grammar (RFC 8259, as JSON.parse reads it), or
 * undefined when it is JSON. Iterative: a document nested any depth is scanned without recursion.
 */
export function firstJsonError(text: string): JsonError | undefined {
  const n = text.length
  let i = 0
  // The open containers, innermost last: '{' or '['.
  const open: string[] = []
  const skipSpace = () => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; )
      c = text.charCodeAt(++i)
  }
  const cutShort = (): JsonError => ({
    at: n,
    problem:
      open.length === 0 && i === n && text.trim() === ''
        ? 'the text is empty'
        : 'the text ends before the JSON does (cut short?)',
  })

  const scanString = (): JsonError | undefined => {
    i++ // the opening quote
    for (;;) {
      if (i >= n) return { at: n, problem: 'the text ends inside a string (cut short?)' }
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        i++
        return undefined
      }
      if (c < 0x20) return { at: i, problem: 'a control character in a string (it must be escaped)' }
      if (c !== 0x5c) {
        i++
        continue
      }
      i++ // the backslash
      if (i >= n) return { at: n, problem: 'the text ends inside a string (cut short?)' }
      const e = text[i]!
      if (e === 'u') {
        for (let k = 1; k <= 4; k++) {
          if (i + k >= n) return { at: n, problem: 'the text ends inside a string (cut short?)' }
          if (!isHex(text.charCodeAt(i + k))) return { at: i + k, problem: 'a bad \\u escape in a string' }
        }
        i += 5
      } else if (SIMPLE_ESCAPES.includes(e)) i++
      else return { at: i, problem: 'a bad escape in a string' }
    }
  }

  const scanDigits = (after: string): JsonError | undefined => {
    if (i >= n) return cutShort()
    if (!isDigit(text.charCodeAt(i))) return { at: i, problem: `a number with no digit after its ${after}` }
    while (isDigit(text.charCodeAt(i))) i++
    return undefined
  }

  const scanNumber = (): JsonError | undefined => {
    if (text[i] === '-') i++
    if (text[i] === '0') i++
    else {
      const e = scanDigits("'-'")
      if (e) return e
    }
    if (text[i] === '.') {
      i++
      const e = scanDigits("'.'")
      if (e) return e
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++
      if (text[i] === '+' || text[i] === '-') i++
      const e = scanDigits('exponent mark')
      if (e) return e
    }
    return undefined
  }

  /** A property name and its colon (after '{' or a ','). */
  const scanName = (): JsonError | undefined => {
    skipSpace()
    if (i >= n) return cutShort()
    if (text[i] !== '"') return { at: i, problem: 'expected a double-quoted property name' }
    const e = scanString()
    if (e) return e
    skipSpace()
    if (i >= n) return cutShort()
    if (text[i] !== ':') return { at: i, problem: "expected ':' after a property name" }
    i++
    return undefined
  }

  for (;;) {
    // A value is expected at i.
    skipSpace()
    if (i >= n) return cutShort()
    const c = text[i]!
    if (c === '{' || c === '[') {
      i++
      skipSpace()
      if (i >= n) return cutShort()
      if (text[i] === (c === '{' ? '}' : ']')) i++
      else {
        open.push(c)
        const e = c === '{' ? scanName() : undefined
        if (e) return e
        continue
      }
    } else if (c === '"') {
      const e = scanString()
      if (e) return e
    } else if (c === '-' || isDigit(text.charCodeAt(i))) {
      const e = scanNumber()
      if (e) return e
    } else {
      const word = LITERALS.find((w) => w[0] === c)
      if (!word) return { at: i, problem: 'expected a value' }
      for (let k = 1; k < word.length; k++) {
        if (i + k >= n) return cutShort()
        if (text[i + k] !== word[k]) return { at: i + k, problem: `expected the literal ${word}` }
      }
      i += word.length
    }
    // A value is complete: close what it completes, up to the next value.
    for (;;) {
      skipSpace()
      const inside = open.at(-1)
      if (inside === undefined) return i < n ? { at: i, problem: 'more after the JSON value' } : undefined
      if (i >= n) return cutShort()
      const d = text[i]
      if (d === ',') {
        i++
        const e = inside === '{' ? scanName() : undefined
        if (e) return e
        break
      }
      if (d !== (inside === '{' ? '}' : ']')) {
        return {
          at: i,
          problem:
            inside === '{'
              ? "expected ',' or '}' after a property value"
              : "expected ',' or ']' after an array element",
        }
      }
      i++
      open.pop()
    }
  }
}
