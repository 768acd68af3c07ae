import { compileFieldPath, type FieldResolver, someLeaf } from './fields.js'
import { parseCidr, parseIp } from './ip.js'
import { refuse } from './refusal.js'
import { exponentialRisk, type RegexRisk } from './regex-shape.js'
import {
  ANY,
  anchorParts,
  compileParts,
  hasWildcards,
  literalParts,
  parseSigmaString,
  type SigmaPart,
  type StringTest,
} from './sigma-string.js'

/** A compiled test of one record. */
export type RecordTest = (record: unknown) => boolean

/** What a selection requires of `eventName`, used to skip rules quickly (lower-cased). */
export interface NameConstraint {
  exact: string[]
  prefixes: string[]
}

type Scalar = string | number | boolean
/** Tests one scalar value of the record (the record is passed for `fieldref`). */
type ScalarTest = (v: Scalar, record: unknown) => boolean

const MATCH_MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  're',
  'cidr',
  'exists',
  'gt',
  'gte',
  'lt',
  'lte',
])
const RE_FLAGS: Record<string, string> = {
  i: 'i',
  ignorecase: 'i',
  m: 'm',
  multiline: 'm',
  s: 's',
  dotall: 's',
}
const ENCODINGS = new Set(['wide', 'utf16le', 'utf16be', 'utf16'])
const TIME_PARTS = new Set(['minute', 'hour', 'day', 'week', 'month', 'year'])
const NUMERIC = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/

interface Modifiers {
  match?: string
  fieldref: boolean
  all: boolean
  cased: boolean
  reFlags: string
  windash: boolean
  encoding?: string
  base64?: 'base64' | 'base64offset'
}

function parseModifiers(key: string, mods: string[]): Modifiers {
  const m: Modifiers = { fieldref: false, all: false, cased: false, reFlags: '', windash: false }
  for (const raw of mods) {
    const mod = raw.trim().toLowerCase()
    if (mod === 'expand') {
      refuse(
        `'${key}' uses the |expand modifier: its %placeholder% values must be filled in by a processing pipeline, which fir does not have`,
      )
    }
    if (TIME_PARTS.has(mod))
      refuse(`'${key}' uses the time-part modifier |${mod}, which fir does not support`)
    if (MATCH_MODIFIERS.has(mod)) {
      if (m.match && m.match !== mod) refuse(`'${key}' combines the modifiers |${m.match} and |${mod}`)
      m.match = mod
    } else if (mod === 'fieldref') m.fieldref = true
    else if (mod === 'all') m.all = true
    else if (mod === 'cased') m.cased = true
    else if (mod === 'windash') m.windash = true
    else if (mod in RE_FLAGS) m.reFlags += RE_FLAGS[mod]
    else if (ENCODINGS.has(mod)) m.encoding = mod
    else if (mod === 'base64' || mod === 'base64offset') m.base64 = mod
    else refuse(`'${key}' uses the unknown modifier |${raw}`)
  }
  if (m.reFlags && m.match !== 're') refuse(`'${key}' uses a regular-expression flag without |re`)
  if (m.encoding && !m.base64) refuse(`'${key}' uses |${m.encoding} without |base64 or |base64offset`)
  if (m.fieldref && m.match && !['contains', 'startswith', 'endswith'].includes(m.match)) {
    refuse(`'${key}' combines |fieldref with |${m.match}`)
  }
  if ((m.base64 || m.windash) && m.match && !['contains', 'startswith', 'endswith'].includes(m.match)) {
    refuse(`'${key}' combines a value transformation with |${m.match}`)
  }
  return m
}

/** Splits `field|mod1|mod2` into the field name and its modifiers. */
export function splitKey(key: string): { field: string; modifiers: string[] } {
  const [field = '', ...modifiers] = key.split('|')
  return { field: field.trim(), modifiers }
}

/**
 * Compiles one `field|modifiers: value(s)` item of a selection into a record test.
 * An empty field name (`'|re': …`) searches every value of the record, like a keyword.
 */
export function compileFieldItem(
  key: string,
  rawValue: unknown,
): { test: RecordTest; name?: NameConstraint } {
  const { field, modifiers } = splitKey(key)
  const mods = parseModifiers(key, modifiers)
  const values = Array.isArray(rawValue) ? rawValue : [rawValue]
  for (const v of values) {
    if (v !== null && typeof v === 'object')
      refuse(`'${key}' has a value that is a map or a list inside a list`)
  }
  if (mods.match === 'exists') return { test: compileExists(key, field, values) }

  const tests: Array<(v: unknown, record: unknown) => boolean> = []
  for (const v of values) tests.push(compileValue(key, v as Scalar | null | undefined, mods))
  const combined = combine(tests, mods.all, key)

  if (field === '') {
    return { test: (record) => someLeaf(record, (leaf) => combined(leaf, record)) }
  }
  const resolve = compileFieldPath(field)
  return {
    test: (record) => combined(resolve(record), record),
    name: field === 'eventName' ? nameConstraint(values, mods) : undefined,
  }
}

function combine(
  tests: Array<(v: unknown, record: unknown) => boolean>,
  all: boolean,
  key: string,
): (v: unknown, record: unknown) => boolean {
  if (tests.length === 0) return () => false
  if (tests.length === 1) return tests[0]!
  if (all) {
    if (tests.length > 1 && tests.some((t) => (t as { isNull?: boolean }).isNull)) {
      refuse(`'${key}' uses |all with a null value`)
    }
    return (v, r) => tests.every((t) => t(v, r))
  }
  return (v, r) => tests.some((t) => t(v, r))
}

function compileExists(key: string, field: string, values: unknown[]): RecordTest {
  if (values.length !== 1) refuse(`'${key}' needs exactly one value, true or false`)
  let want = values[0]
  if (typeof want === 'string' && /^(true|false)$/i.test(want)) want = want.toLowerCase() === 'true'
  if (typeof want !== 'boolean') refuse(`'${key}' needs the value true or false`)
  if (field === '') refuse(`'${key}' needs a field name`)
  const resolve = compileFieldPath(field)
  // Null counts as absent (DESIGN §5): `errorCode: null` and a missing errorCode are the same.
  return (record) => {
    const v = resolve(record)
    return (v !== undefined && v !== null) === want
  }
}

/** Applies a scalar test to a record value: absent and null never match; arrays match element-wise. */
function elementWise(test: ScalarTest): (v: unknown, record: unknown) => boolean {
  const apply = (v: unknown, record: unknown, depth: number): boolean => {
    if (v === undefined || v === null) return false
    if (typeof v === 'object') {
      if (Array.isArray(v)) {
        if (depth > 16) return false
        for (const e of v) if (apply(e, record, depth + 1)) return true
        return false
      }
      // A whole object is compared as its JSON text (e.g. `responseElements|contains: Failure`).
      return test(JSON.stringify(v), record)
    }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return test(v, record)
    return false
  }
  return (v, record) => apply(v, record, 0)
}

function compileValue(key: string, value: Scalar | null | undefined, mods: Modifiers) {
  if (value === null || value === undefined) {
    if (mods.match || mods.fieldref || mods.base64 || mods.windash)
      refuse(`'${key}' applies modifiers to null`)
    const isNull = (v: unknown) => v === undefined || v === null
    return Object.assign(isNull, { isNull: true })
  }
  if (mods.fieldref) return compileFieldref(key, value, mods)
  switch (mods.match) {
    case 're':
      return elementWise(compileRegex(key, value, mods.reFlags))
    case 'cidr':
      return elementWise(compileCidr(key, value))
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return elementWise(compileCompare(key, value, mods.match))
  }
  if (mods.base64 || mods.windash) return elementWise(compileTransformed(key, value, mods))
  const stringMode = mods.match as 'contains' | 'startswith' | 'endswith' | undefined
  if (typeof value === 'boolean' && !stringMode) return elementWise(booleanTest(value))
  if (typeof value === 'number' && !stringMode) return elementWise(numberTest(value, mods.cased))
  const parts = parseSigmaString(String(value))
  return elementWise(stringTest(stringMode ? anchorParts(parts, stringMode) : parts, mods.cased))
}

function toText(v: Scalar): string {
  return typeof v === 'string' ? v : String(v)
}

function stringTest(parts: SigmaPart[], cased: boolean): ScalarTest {
  const test = compileParts(parts, cased)
  // A plain numeric string also equals the same number written differently ('5.0' and 5).
  const plain = !hasWildcards(parts) && parts.length === 1 ? (parts[0] as string) : undefined
  const asNumber = plain !== undefined && NUMERIC.test(plain) ? Number(plain) : undefined
  return (v) => test(toText(v)) || (asNumber !== undefined && typeof v === 'number' && v === asNumber)
}

function booleanTest(want: boolean): ScalarTest {
  const text = String(want)
  return (v) => (typeof v === 'boolean' ? v === want : typeof v === 'string' && v.toLowerCase() === text)
}

function numberTest(want: number, cased: boolean): ScalarTest {
  const text = compileParts(literalParts(String(want)), cased)
  return (v) => {
    if (typeof v === 'number') return v === want
    if (typeof v === 'string') return NUMERIC.test(v) ? Number(v) === want : text(v)
    return false
  }
}

function compileRegex(key: string, value: Scalar, flags: string): ScalarTest {
  const { source, flags: jsFlags } = sigmaRegex(key, value, flags)
  let re: RegExp
  try {
    re = new RegExp(source, jsFlags)
  } catch (err) {
    refuse(`'${key}' has an invalid regular expression: ${(err as Error).message}`)
  }
  // JavaScript's engine backtracks: these shapes can stall the run for hours on one crafted value
  // (CloudTrail fields are the attacker's to write). The quadratic shapes are too common in Sigma
  // rules to refuse; fir's own rules are held free of them by a test (regex-shape.ts).
  const risk = exponentialRisk(source, jsFlags)
  if (risk) refuse(`'${key}' has a regular expression that can take exponential time: ${EXPONENTIAL[risk]}`)
  return (v) => re.test(toText(v))
}

/** A Sigma `|re` value (PCRE) as the JavaScript source and flags fir searches with. */
export function sigmaRegex(key: string, value: Scalar, flags: string): { source: string; flags: string } {
  if (typeof value !== 'string') refuse(`'${key}' needs a string regular expression`)
  let source = value
  // PCRE-style leading inline flags, (?i) (?s) (?m) and combinations, become JS flags.
  const inline = /^\(\?([ims]+)\)/.exec(source)
  let all = flags
  if (inline) {
    all += inline[1]
    source = source.slice(inline[0].length)
  }
  source = trimSearchEdges(translateEscapes(key, source.replace(/\(\?P</g, '(?<'), all.includes('m')))
  return { source, flags: [...new Set(all)].join('') }
}

const EXPONENTIAL: Partial<Record<RegexRisk, string>> = {
  nested:
    'an unbounded repetition inside another, with nothing marking where the inner one ends (like (a+)+ or (\\w+\\s?)*); make the repeated part end on a character it cannot contain',
  ambiguous:
    'a repeated alternation whose options can begin alike (like (a|ab)*); make the options start differently',
}

/** Letters JavaScript reads after a backslash as an escape (outside the \x, \u, \c, \k forms). */
const JS_ESCAPE_LETTERS = new Set('dDwWsSbBtnvfr')

/**
 * Sigma regular expressions are PCRE; JavaScript (without the `u` flag) reads a backslash before
 * a letter it does not know as that letter: `\A` would match an `A`. PCRE's subject anchors become
 * their JavaScript equivalents — `\A` (start) `^`, `\z` (end) `$`, `\Z` (end, or before a final
 * newline) `(?=\n?$)`, or lookarounds when `m` makes `^` and `$` match at each line — and any
 * other such escape (`\G`, `\Q…\E`, `\K`, `\h`, `\R`, `\p{…}`, `\x{…}`…) is refused with the reason.
 */
export function translateEscapes(key: string, source: string, multiline: boolean): string {
  let out = ''
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    if (c !== '\\') {
      if (c === '[' && !inClass) inClass = true
      else if (c === ']' && inClass) inClass = false
      out += c
      continue
    }
    const next = source[i + 1]
    i++
    if (next === undefined) return out + c
    const sequence = `\\${next}`
    const anchor = ANCHORS[next]
    if (anchor && !inClass) {
      out += multiline ? anchor.multiline : anchor.plain
      continue
    }
    const known =
      !/[A-Za-z]/.test(next) ||
      JS_ESCAPE_LETTERS.has(next) ||
      (next === 'x' && /^[0-9A-Fa-f]{2}/.test(source.slice(i + 1, i + 3))) ||
      (next === 'u' && /^[0-9A-Fa-f]{4}/.test(source.slice(i + 1, i + 5))) ||
      (next === 'c' && /^[A-Za-z]/.test(source.slice(i + 1, i + 2))) ||
      (next === 'k' && source[i + 1] === '<')
    if (!known) {
      refuse(
        anchor
          ? `'${key}' uses ${sequence} inside a character class, where it is no anchor and JavaScript would read it as the letter ${next}`
          : `'${key}' uses the regular-expression escape ${sequence}, which fir cannot translate (JavaScript would read it as the letter ${next})`,
      )
    }
    out += sequence
  }
  return out
}

const ANCHORS: Record<string, { plain: string; multiline: string }> = {
  A: { plain: '^', multiline: '(?<![\\s\\S])' },
  z: { plain: '$', multiline: '(?![\\s\\S])' },
  Z: { plain: '(?=\\n?$)', multiline: '(?=\\n?(?![\\s\\S]))' },
}

/**
 * `re` is an unanchored search, so a leading or trailing `.*` adds nothing and `.+` means just one
 * character; dropping them avoids quadratic backtracking on every record (SigmaHQ's
 * `.+:assumed-role/aws:.+` costs more than all other rules together otherwise).
 */
export function trimSearchEdges(source: string): string {
  let s = source
  const lead = /^\.([*+])\??/.exec(s)
  if (lead && !/^[*+?{]/.test(s.slice(lead[0].length)))
    s = (lead[1] === '+' ? '.' : '') + s.slice(lead[0].length)
  const trail = /\.([*+])\??$/.exec(s)
  if (trail) {
    let slashes = 0
    for (let i = trail.index - 1; i >= 0 && s[i] === '\\'; i--) slashes++
    if (slashes % 2 === 0) s = s.slice(0, trail.index) + (trail[1] === '+' ? '.' : '')
  }
  return s
}

function compileCidr(key: string, value: Scalar): ScalarTest {
  const range = typeof value === 'string' ? parseCidr(value.trim()) : undefined
  if (!range) refuse(`'${key}' has an invalid CIDR range '${String(value)}'`)
  return (v) => {
    if (typeof v !== 'string') return false
    const ip = parseIp(v)
    return ip !== undefined && ip.v === range.v && ip.n >= range.start && ip.n <= range.end
  }
}

function compileCompare(key: string, value: Scalar, op: string): ScalarTest {
  const want =
    typeof value === 'number' ? value : typeof value === 'string' && NUMERIC.test(value) ? Number(value) : NaN
  if (!Number.isFinite(want)) refuse(`'${key}' needs a number`)
  const cmp =
    op === 'gt'
      ? (n: number) => n > want
      : op === 'gte'
        ? (n: number) => n >= want
        : op === 'lt'
          ? (n: number) => n < want
          : (n: number) => n <= want
  return (v) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && NUMERIC.test(v) ? Number(v) : NaN
    return Number.isFinite(n) && cmp(n)
  }
}

function compileFieldref(key: string, value: Scalar, mods: Modifiers) {
  if (typeof value !== 'string' || value.trim() === '') refuse(`'${key}' needs the name of another field`)
  const other: FieldResolver = compileFieldPath(value.trim())
  const mode = mods.match as 'contains' | 'startswith' | 'endswith' | undefined
  const fold = mods.cased ? (s: string) => s : (s: string) => s.toLowerCase()
  const pair = (a: Scalar, b: Scalar): boolean => {
    const x = fold(toText(a))
    const y = fold(toText(b))
    if (!mode) return x === y
    return mode === 'contains' ? x.includes(y) : mode === 'startswith' ? x.startsWith(y) : x.endsWith(y)
  }
  // The referenced field may be an array too: any pair matches.
  return elementWise((v, record) => {
    const ref = other(record)
    const refs = Array.isArray(ref) ? ref : [ref]
    for (const r of refs) {
      if (typeof r === 'string' || typeof r === 'number' || typeof r === 'boolean') {
        if (pair(v, r)) return true
      }
    }
    return false
  })
}

const DASHES = ['-', '/', '\u2013', '\u2014', '\u2015']

/** `windash`: every `-` or `/` that starts a switch may be written with any of the dash characters. */
function windashVariants(text: string): string[] {
  const positions: number[] = []
  const re = /\B[-/]\b/g
  for (let m = re.exec(text); m; m = re.exec(text)) positions.push(m.index)
  if (positions.length === 0) return [text]
  const used = positions.slice(0, 4)
  let variants = [text]
  for (const pos of used) {
    const next: string[] = []
    for (const v of variants) for (const d of DASHES) next.push(v.slice(0, pos) + d + v.slice(pos + 1))
    variants = next
  }
  return variants
}

function encode(text: string, encoding: string | undefined): Buffer {
  if (!encoding) return Buffer.from(text, 'utf8')
  const le = Buffer.from(text, 'utf16le')
  if (encoding === 'utf16be') return le.swap16()
  if (encoding === 'utf16') return Buffer.concat([Buffer.from([0xff, 0xfe]), le])
  return le
}

/** `base64offset`: the three encodings of the value at byte offsets 0, 1 and 2, trimmed to the stable part. */
function base64Offsets(bytes: Buffer): string[] {
  const starts = [0, 2, 3]
  const ends = [0, -3, -2]
  const out: string[] = []
  for (let i = 0; i < 3; i++) {
    const b64 = Buffer.concat([Buffer.alloc(i, 0x20), bytes]).toString('base64')
    const end = ends[(bytes.length + i) % 3]!
    out.push(b64.slice(starts[i], end === 0 ? undefined : end))
  }
  return out
}

function compileTransformed(key: string, value: Scalar, mods: Modifiers): ScalarTest {
  const raw = toText(value)
  let texts = mods.windash ? windashVariants(raw) : [raw]
  let cased = mods.cased
  let literal = false
  if (mods.base64) {
    const parsed = texts.map(parseSigmaString)
    if (parsed.some(hasWildcards)) refuse(`'${key}' base64-encodes a value with wildcards`)
    const plain = parsed.map((p) => (p[0] as string | undefined) ?? '')
    texts = plain.flatMap((t) => {
      const bytes = encode(t, mods.encoding)
      return mods.base64 === 'base64offset' ? base64Offsets(bytes) : [bytes.toString('base64')]
    })
    // Base64 text is case-sensitive, and its characters are never wildcards.
    cased = true
    literal = true
  }
  const mode = mods.match as 'contains' | 'startswith' | 'endswith' | undefined
  const tests: StringTest[] = texts.map((t) => {
    const parts = literal ? literalParts(t) : parseSigmaString(t)
    return compileParts(mode ? anchorParts(parts, mode) : parts, cased)
  })
  return (v) => {
    const s = toText(v)
    for (const t of tests) if (t(s)) return true
    return false
  }
}

function nameConstraint(values: unknown[], mods: Modifiers): NameConstraint | undefined {
  if (mods.all || mods.fieldref || mods.cased || mods.base64 || mods.windash || mods.reFlags) return undefined
  if (mods.match && mods.match !== 'startswith') return undefined
  const exact: string[] = []
  const prefixes: string[] = []
  for (const v of values) {
    if (typeof v !== 'string') return undefined
    const parts = parseSigmaString(v)
    const trailingAny = parts.length === 2 && typeof parts[0] === 'string' && parts[1] === ANY
    if (mods.match === 'startswith' || trailingAny) {
      const head = parts[0]
      if (typeof head !== 'string' || parts.slice(1).some((p) => p !== ANY)) return undefined
      prefixes.push(head.toLowerCase())
    } else if (!hasWildcards(parts) && parts.length === 1) exact.push((parts[0] as string).toLowerCase())
    else return undefined
  }
  return { exact, prefixes }
}
