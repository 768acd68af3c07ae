/**
 * Sigma string values: `*` matches any run of characters, `?` exactly one; a backslash escapes
 * `*`, `?` and itself, and is kept literally before any other character (so `C:\Windows` is
 * literal), as pySigma does. Matching is case-insensitive unless the `cased` modifier is used.
 */
import { escapeRegExp } from '../common/text.js'

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

/** Compiles parts into the cheapest test that implements them (equality, prefix, suffix, substring, regex). */
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
  const source = parts.map((p) => (p === ANY ? '.*' : p === ONE ? '.' : escapeRegExp(p))).join('')
  // `s`: a wildcard also matches newlines; `u`: `?` is one character, not one UTF-16 unit.
  const re = new RegExp(`^${source}$`, cased ? 'su' : 'siu')
  return (s) => re.test(s)
}
