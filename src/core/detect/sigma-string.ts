/**
 * Sigma string values: `*` matches any run of characters, `?` exactly one; a backslash escapes
 * `*`, `?` and itself, and is kept literally before any other character (so `C:\Windows` is
 * literal), as pySigma does. Matching is case-insensitive unless the `cased` modifier is used.
 */
export const ANY = Symbol('*')
export const ONE = Symbol('?')
export type SigmaPart = string | typeof ANY | typeof ONE

export function parseSigmaString(raw: string): SigmaPart[] {
  const parts: SigmaPart[] = []
  let text = ''
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!
    if (ch === '\\') {
      const next = raw[i + 1]
      if (next === '*' || next === '?' || next === '\\') {
        text += next
        i++
      } else text += ch
    } else if (ch === '*' || ch === '?') {
      if (text) parts.push(text)
      text = ''
      // Consecutive `*` are one wildcard.
      if (!(ch === '*' && parts[parts.length - 1] === ANY)) parts.push(ch === '*' ? ANY : ONE)
    } else text += ch
  }
  if (text) parts.push(text)
  return parts
}

export function hasWildcards(parts: readonly SigmaPart[]): boolean {
  return parts.some((p) => typeof p !== 'string')
}

/** Adds the wildcards that `contains`, `startswith` and `endswith` mean. */
export function anchorParts(
  parts: readonly SigmaPart[],
  mode: 'contains' | 'startswith' | 'endswith',
): SigmaPart[] {
  const out = [...parts]
  if ((mode === 'contains' || mode === 'endswith') && out[0] !== ANY) out.unshift(ANY)
  if ((mode === 'contains' || mode === 'startswith') && out[out.length - 1] !== ANY) out.push(ANY)
  return out
}

/** Literal text as parts (fieldref values, base64 output): no wildcard interpretation. */
export function literalParts(text: string): SigmaPart[] {
  return text ? [text] : []
}

export type StringTest = (s: string) => boolean

/** Compiles parts into the cheapest test that implements them (equality, prefix, suffix, substring, segments). */
export function compileParts(parts: readonly SigmaPart[], cased: boolean): StringTest {
  const fold = cased ? (s: string) => s : (s: string) => s.toLowerCase()
  const n = parts.length
  if (n === 0) return (s) => s === ''
  if (n === 1 && parts[0] === ANY) return () => true
  if (!hasWildcards(parts)) {
    const t = fold(parts[0] as string)
    return cased ? (s) => s === t : (s) => s.toLowerCase() === t
  }
  const first = parts[0]
  const last = parts[n - 1]
  if (n === 2 && first === ANY && typeof last === 'string') {
    const t = fold(last)
    return (s) => fold(s).endsWith(t)
  }
  if (n === 2 && last === ANY && typeof first === 'string') {
    const t = fold(first)
    return (s) => fold(s).startsWith(t)
  }
  if (n === 3 && first === ANY && last === ANY && typeof parts[1] === 'string') {
    const t = fold(parts[1])
    return (s) => fold(s).includes(t)
  }
  return compileSegments(parts, cased)
}

/** Text and `?` between two `*`: a run of a fixed number of characters. */
type Segment = Array<string | typeof ONE>

/**
 * The general case, in time linear in the value (times the length of the pattern): the pattern is
 * cut at each `*` into segments; the first must match at the start, the last at the end, and each
 * one between at the leftmost place after the one before. Leftmost is always right: a segment is a
 * fixed number of characters, so its leftmost match also ends first and leaves the most room for
 * the rest. (A regular expression `^a.*b.*c$` does the same work by backtracking: quadratic or
 * worse on a long value, and CloudTrail values are the attacker's to write.)
 */
function compileSegments(parts: readonly SigmaPart[], cased: boolean): StringTest {
  const fold = cased ? (s: string) => s : foldCase
  const segments: Segment[] = [[]]
  for (const p of parts) {
    if (p === ANY) segments.push([])
    else segments[segments.length - 1]!.push(p === ONE ? ONE : fold(p))
  }
  const head = segments[0]!
  if (segments.length === 1) {
    return (value) => {
      const s = fold(value)
      return matchAt(head, s, 0) === s.length
    }
  }
  const tail = segments[segments.length - 1]!
  const middle = segments.slice(1, -1)
  return (value) => {
    const s = fold(value)
    let pos = matchAt(head, s, 0)
    for (let i = 0; i < middle.length && pos >= 0; i++) pos = find(middle[i]!, s, pos)
    if (pos < 0) return false
    const start = matchBefore(tail, s, s.length)
    return start >= pos
  }
}

const isHigh = (s: string, i: number) => {
  const c = s.charCodeAt(i)
  return c >= 0xd800 && c <= 0xdbff
}
const isLow = (s: string, i: number) => {
  const c = s.charCodeAt(i)
  return c >= 0xdc00 && c <= 0xdfff
}

/** The UTF-16 length of the character at `i`: `?` is one character, not one UTF-16 unit. */
function charLength(s: string, i: number): number {
  return isHigh(s, i) && isLow(s, i + 1) ? 2 : 1
}

/** Where the segment ends when it begins at `at`, or -1. */
function matchAt(segment: Segment, s: string, at: number): number {
  let pos = at
  for (const item of segment) {
    if (item === ONE) {
      if (pos >= s.length) return -1
      pos += charLength(s, pos)
    } else if (s.startsWith(item, pos)) pos += item.length
    else return -1
  }
  return pos
}

/** Where the segment begins when it ends at `end`, or -1. */
function matchBefore(segment: Segment, s: string, end: number): number {
  let pos = end
  for (let i = segment.length - 1; i >= 0; i--) {
    const item = segment[i]!
    if (item === ONE) {
      if (pos <= 0) return -1
      pos -= pos >= 2 && isLow(s, pos - 1) && isHigh(s, pos - 2) ? 2 : 1
    } else {
      pos -= item.length
      if (pos < 0 || !s.startsWith(item, pos)) return -1
    }
  }
  return pos
}

/** Where the leftmost match of the segment at or after `from` ends, or -1. */
function find(segment: Segment, s: string, from: number): number {
  const lead = segment[0]
  if (lead === undefined) return from
  if (typeof lead === 'string') {
    for (let i = s.indexOf(lead, from); i >= 0; i = s.indexOf(lead, i + 1)) {
      const end = matchAt(segment, s, i)
      if (end >= 0) return end
    }
    return -1
  }
  for (let i = from; i < s.length; i += charLength(s, i)) {
    const end = matchAt(segment, s, i)
    if (end >= 0) return end
  }
  return -1
}

/**
 * Characters `toLowerCase` does not fold as a case-insensitive regular expression does (simple
 * case folding, one character to one): `ς` and `σ` are both `Σ`, `ſ` is `s`, `µ` is `μ`, and `İ`
 * folds to itself rather than to two characters; `Σ` because `toLowerCase` reads it by its place
 * in a word. Checked against the `iu` flags for every code point by a test.
 */
const FOLDS_APART =
  /\u0345|[\u00b5\u0130\u017f\u03a3\u03c2\u03d0\u03d1\u03d5\u03d6\u03f0\u03f1\u03f5\u1c80-\u1c88\u1e9b\u1fbe]/

/**
 * The value as a case-insensitive match reads it: each character folded to one character (so `?`
 * still counts characters), as the `iu` flags of a regular expression fold them.
 */
export function foldCase(s: string): string {
  if (!FOLDS_APART.test(s)) return s.toLowerCase()
  let out = ''
  for (const c of s) out += FOLDS_APART.test(c) ? foldChar(c) : c.toLowerCase()
  return out
}

function foldChar(c: string): string {
  const folded = c.toUpperCase().toLowerCase()
  return folded.length === 1 ? folded : c
}
