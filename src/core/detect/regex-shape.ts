/**
 * The shape of a rule's regular expression, read for what makes JavaScript's backtracking engine
 * take more than linear time in the length of the value searched (an attacker writes most of a
 * CloudTrail record, up to 256 KB). A structural reading, not a proof: it flags the known shapes
 * and may flag a safe expression that has one of them.
 *
 * - `nested`: an unbounded repetition inside another, where nothing marks where the inner one ends
 *   (`(a+)+`, `(\w+\s?)*`): exponential time on a crafted value of a few dozen characters.
 * - `ambiguous`: a repeated alternation whose options can begin the same way (`(a|ab)*`):
 *   exponential too.
 * - `overlapping-runs`: an unbounded run whose end is not marked, with another run after it over
 *   the same characters (`.*a.*b`): the second is read again for every place the first can end,
 *   quadratic (or worse) in one attempt.
 * - `rescan`: an unbounded run that can read on past a place where a match can begin (`"Action"` then
 *   `[^\]]*`, on `"Action":[` repeated): the search tries again from each such place and reads the
 *   same text again — quadratic over the value.
 */

type CharSet = (c: string) => boolean

type Node =
  | { kind: 'char'; set: CharSet; literal?: string }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'group'; body: Node }
  | { kind: 'look'; body: Node; negative: boolean; behind: boolean }
  | { kind: 'repeat'; body: Node; min: number; max: number }
  | { kind: 'assert'; start: boolean }
  | { kind: 'backref' }

export type RegexRisk = 'nested' | 'ambiguous' | 'overlapping-runs' | 'rescan'

const ANY: CharSet = () => true
const LINE_END = new Set(['\n', '\r', '\u2028', '\u2029'])
const SPACE = /[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/
const DIGIT: CharSet = (c) => c >= '0' && c <= '9'
const WORD: CharSet = (c) => /[A-Za-z0-9_]/.test(c)
const WHITE: CharSet = (c) => SPACE.test(c)
const not =
  (s: CharSet): CharSet =>
  (c) =>
    !s(c)
const CLASS_ESCAPES: Record<string, CharSet> = {
  d: DIGIT,
  D: not(DIGIT),
  w: WORD,
  W: not(WORD),
  s: WHITE,
  S: not(WHITE),
}
const CONTROL: Record<string, string> = { n: '\n', r: '\r', t: '\t', f: '\f', v: '\v', '0': '\0' }

/** Characters the sets are compared on: Latin ranges, Unicode spaces, a few others. */
const ALPHABET: string[] = [
  ...Array.from({ length: 0x250 }, (_, i) => String.fromCharCode(i)),
  ...[
    0x1680, 0x2000, 0x2005, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff, 0x4e2d, 0xff21, 0x212a,
  ].map((c) => String.fromCharCode(c)),
]

const members = new WeakMap<CharSet, boolean[]>()

function overlap(a: CharSet, b: CharSet): boolean {
  const of = (s: CharSet) => {
    const known = members.get(s)
    if (known) return known
    const m = ALPHABET.map((c) => s(c))
    members.set(s, m)
    return m
  }
  const x = of(a)
  const y = of(b)
  return x.some((v, i) => v && y[i])
}

function union(sets: CharSet[]): CharSet {
  return (c) => sets.some((s) => s(c))
}

/** Reads a JavaScript regular expression (no `u` flag), or throws on what it does not know. */
function parse(source: string, flags: string): Node {
  const fold = flags.includes('i')
  const dotAll = flags.includes('s')
  let pos = 0
  const caseless =
    (s: CharSet): CharSet =>
    (c) =>
      s(c) || s(c.toLowerCase()) || s(c.toUpperCase())
  const literal = (ch: string): Node => {
    const set: CharSet = fold ? (c) => c.toUpperCase() === ch.toUpperCase() : (c) => c === ch
    return { kind: 'char', set, literal: ch }
  }
  const past = (ch: string) => {
    const at = source.indexOf(ch, pos)
    if (at < 0) throw new Error(`no ${ch}`)
    return at + 1
  }
  const hex = (n: number) => {
    const digits = source.slice(pos, pos + n)
    if (digits.length !== n || !/^[0-9A-Fa-f]+$/.test(digits)) return undefined
    pos += n
    return String.fromCharCode(Number.parseInt(digits, 16))
  }
  /** An escape after the backslash: a set, a character, or (outside a class) another node. */
  const escaped = (inClass: boolean): Node | CharSet | string => {
    const c = source[pos++]
    if (c === undefined) throw new Error('trailing backslash')
    if (c in CLASS_ESCAPES) return CLASS_ESCAPES[c]!
    if (c in CONTROL && !(c === '0' && /[0-9]/.test(source[pos] ?? ''))) return CONTROL[c]!
    if (c === 'b') return inClass ? '\b' : { kind: 'assert', start: false }
    if (c === 'B' && !inClass) return { kind: 'assert', start: false }
    if (/[1-9]/.test(c) && !inClass) {
      while (/[0-9]/.test(source[pos] ?? '')) pos++
      return { kind: 'backref' }
    }
    if (c === 'k' && !inClass && source[pos] === '<') {
      pos = past('>')
      return { kind: 'backref' }
    }
    if (c === 'x') return hex(2) ?? 'x'
    if (c === 'u') return hex(4) ?? 'u'
    if (c === 'c' && /[A-Za-z]/.test(source[pos] ?? ''))
      return String.fromCharCode(source.charCodeAt(pos++) % 32)
    if (/[0-9]/.test(c)) throw new Error('octal escape')
    return c
  }
  const charClass = (): Node => {
    const negated = source[pos] === '^'
    if (negated) pos++
    const sets: CharSet[] = []
    while (source[pos] !== ']') {
      if (pos >= source.length) throw new Error('unclosed class')
      const one = (): CharSet | string => {
        const c = source[pos++]!
        return c === '\\' ? (escaped(true) as CharSet | string) : c
      }
      const from = one()
      if (typeof from === 'string' && source[pos] === '-' && source[pos + 1] !== ']') {
        pos++
        const to = one()
        if (typeof to !== 'string') {
          sets.push((c) => c === from || c === '-', to)
          continue
        }
        sets.push((c) => c >= from && c <= to)
      } else sets.push(typeof from === 'string' ? (c) => c === from : from)
    }
    pos++
    const set = fold ? caseless(union(sets)) : union(sets)
    return { kind: 'char', set: negated ? not(set) : set }
  }
  const atom = (): Node => {
    const c = source[pos++]!
    if (c === '(') {
      let look: { negative: boolean; behind: boolean } | undefined
      if (source.startsWith('?:', pos)) pos += 2
      else if (source.startsWith('?=', pos) || source.startsWith('?!', pos)) {
        look = { negative: source[pos + 1] === '!', behind: false }
        pos += 2
      } else if (source.startsWith('?<=', pos) || source.startsWith('?<!', pos)) {
        look = { negative: source[pos + 2] === '!', behind: true }
        pos += 3
      } else if (source.startsWith('?<', pos)) pos = past('>')
      else if (source[pos] === '?') throw new Error('unknown group')
      const body = alternation()
      if (source[pos++] !== ')') throw new Error('unclosed group')
      return look ? { kind: 'look', body, ...look } : { kind: 'group', body }
    }
    if (c === '[') return charClass()
    if (c === '.') return { kind: 'char', set: dotAll ? ANY : (x) => !LINE_END.has(x) }
    if (c === '^') return { kind: 'assert', start: true }
    if (c === '$') return { kind: 'assert', start: false }
    if (c === '\\') {
      const e = escaped(false)
      if (typeof e === 'string') return literal(e)
      if (typeof e === 'function') return { kind: 'char', set: e }
      return e
    }
    return literal(c)
  }
  const quantifier = (): { min: number; max: number } | undefined => {
    const c = source[pos]
    if (c === '*' || c === '+' || c === '?') {
      pos++
      return { min: c === '+' ? 1 : 0, max: c === '?' ? 1 : Number.POSITIVE_INFINITY }
    }
    const braces = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(source.slice(pos)) : null
    if (!braces) return undefined
    pos += braces[0].length
    const min = Number(braces[1])
    return {
      min,
      max: braces[2] === undefined ? min : braces[3] ? Number(braces[3]) : Number.POSITIVE_INFINITY,
    }
  }
  const sequence = (): Node => {
    const items: Node[] = []
    while (pos < source.length && source[pos] !== '|' && source[pos] !== ')') {
      let node = atom()
      const q = quantifier()
      if (q) {
        if (source[pos] === '?') pos++
        node = { kind: 'repeat', body: node, ...q }
      }
      items.push(node)
    }
    return items.length === 1 ? items[0]! : { kind: 'seq', items }
  }
  const alternation = (): Node => {
    const options = [sequence()]
    while (source[pos] === '|') {
      pos++
      options.push(sequence())
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options }
  }
  const root = alternation()
  if (pos !== source.length) throw new Error('unbalanced parenthesis')
  return root
}

const items = (n: Node): Node[] => (n.kind === 'seq' ? n.items : [n])
const unbounded = (n: Node): n is Extract<Node, { kind: 'repeat' }> =>
  n.kind === 'repeat' && n.max === Number.POSITIVE_INFINITY

/** Every character set the node can consume (lookarounds consume none). */
function chars(n: Node): CharSet {
  switch (n.kind) {
    case 'char':
      return n.set
    case 'seq':
      return union(n.items.map(chars))
    case 'alt':
      return union(n.options.map(chars))
    case 'group':
    case 'repeat':
      return chars(n.body)
    case 'backref':
      return ANY
    default:
      return () => false
  }
}

const MAX_LEADS = 256

/**
 * How a match of the node can begin: sequences of up to `k` character sets. A sequence shorter
 * than `k` means the match can end there, and anything may follow.
 */
function leads(n: Node, k: number): CharSet[][] {
  // Too many ways to begin: one set of first characters (or "may be empty") stands for them all.
  const cap = (list: CharSet[][]): CharSet[][] => {
    if (list.length <= MAX_LEADS) return list
    return list.some((s) => s.length === 0) ? [[]] : [[union(list.map((s) => s[0]!))]]
  }
  const then = (heads: CharSet[][], next: Node): CharSet[][] => {
    const out: CharSet[][] = []
    const tails = leads(next, k)
    for (const h of heads) {
      if (h.length >= k) out.push(h)
      else for (const t of tails) out.push([...h, ...t].slice(0, k))
    }
    return cap(out)
  }
  switch (n.kind) {
    case 'char':
      return [[n.set]]
    case 'seq':
      return n.items.reduce<CharSet[][]>((heads, item) => then(heads, item), [[]])
    case 'alt':
      return cap(n.options.flatMap((o) => leads(o, k)))
    case 'group':
      return leads(n.body, k)
    case 'repeat': {
      let heads: CharSet[][] = [[]]
      const out: CharSet[][] = []
      for (let i = 0; i <= Math.min(n.max, k); i++) {
        if (i >= n.min) out.push(...heads)
        heads = then(heads, n.body)
      }
      if (n.max > k) out.push(...heads)
      return cap(out)
    }
    case 'backref':
      return [[], [ANY]]
    default:
      return [[]]
  }
}

/** Can the two begin with the same text (one sequence a prefix of the other, set by set)? */
function compatible(a: CharSet[][], b: CharSet[][]): boolean {
  return a.some((x) => b.some((y) => x.every((s, i) => i >= y.length || overlap(s, y[i]!))))
}

interface Walk {
  node: Node
  /** The items after the node in its sequence, then those after that sequence, outwards. */
  rest: Node[]
  /** The unbounded repetitions the node is inside (lookarounds excluded). */
  within: Node[]
}

function walk(root: Node): Walk[] {
  const out: Walk[] = []
  const visit = (node: Node, rest: Node[], within: Node[]) => {
    out.push({ node, rest, within })
    switch (node.kind) {
      case 'seq':
        for (const [i, item] of node.items.entries())
          visit(item, [...node.items.slice(i + 1), ...rest], within)
        break
      case 'alt':
        for (const o of node.options) visit(o, rest, within)
        break
      case 'group':
        visit(node.body, rest, within)
        break
      case 'repeat':
        // The next iteration, or what follows the repetition.
        visit(
          node.body,
          unbounded(node) ? [node, ...rest] : rest,
          unbounded(node) ? [...within, node] : within,
        )
        break
      case 'look':
        visit(node.body, [], [])
        break
    }
  }
  visit(root, [], [])
  return out
}

const K = 4

function seq(list: Node[]): Node {
  return { kind: 'seq', items: list }
}

/** Exponential shapes: `nested` and `ambiguous`. */
function exponential(walks: Walk[]): RegexRisk | undefined {
  for (const w of walks) {
    if (w.within.length === 0) continue
    const outer = w.within[w.within.length - 1]!
    if (unbounded(w.node) && w.node !== outer) {
      // Inside another repetition, an inner one must end where its own text cannot go on.
      const next = w.rest.slice(0, w.rest.indexOf(outer) + 1)
      if (compatible(leads(w.node.body, K), leads(seq(next), K))) return 'nested'
    }
    if (w.node.kind === 'alt') {
      const options = w.node.options.map((o) => leads(o, K))
      for (let i = 0; i < options.length; i++)
        for (let j = i + 1; j < options.length; j++)
          if (compatible(options[i]!, options[j]!)) return 'ambiguous'
    }
  }
  return undefined
}

function overlappingRuns(walks: Walk[]): boolean {
  for (const w of walks) {
    if (!unbounded(w.node)) continue
    const body = w.node.body
    // Where the run can stop is marked when what follows cannot begin like another iteration.
    if (!compatible(leads(body, K), leads(seq(w.rest), K))) continue
    const later = walk(seq(w.rest.filter((n) => n !== w.node)))
    if (later.some((l) => unbounded(l.node) && overlap(chars(body), chars(l.node.body)))) return true
  }
  return false
}

/**
 * Positions in `text` (null: any character) that the node can reach from `from`. With `saturate`,
 * a match may go on past the end of the text (whose characters are then unknown).
 */
function reach(n: Node, from: Set<number>, text: (string | null)[], saturate: boolean): Set<number> {
  const end = text.length
  switch (n.kind) {
    case 'char': {
      const out = new Set<number>()
      for (const p of from) {
        if (p === end) {
          if (saturate) out.add(end)
        } else if (text[p] === null || n.set(text[p]!)) out.add(p + 1)
      }
      return out
    }
    case 'seq':
      return n.items.reduce((at, item) => reach(item, at, text, saturate), from)
    case 'alt': {
      const out = new Set<number>()
      for (const o of n.options) for (const p of reach(o, from, text, saturate)) out.add(p)
      return out
    }
    case 'group':
      return reach(n.body, from, text, saturate)
    case 'repeat': {
      let at = from
      for (let i = 0; i < Math.min(n.min, end + 1); i++) at = reach(n.body, at, text, saturate)
      const all = new Set(at)
      let frontier = at
      for (let i = n.min; i < n.max && frontier.size > 0; i++) {
        const next = [...reach(n.body, frontier, text, saturate)].filter((p) => !all.has(p))
        for (const p of next) all.add(p)
        frontier = new Set(next)
      }
      return all
    }
    case 'look': {
      if (n.behind) return from
      const out = new Set<number>()
      for (const p of from) {
        const sure = text.slice(p).every((c) => c !== null) && plain(n.body)
        const found = reach(n.body, new Set([p]), text, !(n.negative && sure)).size > 0
        // A negative lookahead drops the path only when its text surely is there.
        if (n.negative ? !(sure && found) : found) out.add(p)
      }
      return out
    }
    case 'backref': {
      const out = new Set<number>()
      const first = Math.min(...from)
      for (let p = first; p <= end; p++) out.add(p)
      return out
    }
    default:
      return from
  }
}

/** No lookaround, assertion or back-reference: reach() is exact. */
function plain(n: Node): boolean {
  switch (n.kind) {
    case 'char':
      return true
    case 'seq':
      return n.items.every(plain)
    case 'alt':
      return n.options.every(plain)
    case 'group':
    case 'repeat':
      return plain(n.body)
    default:
      return false
  }
}

function maxLength(n: Node): number {
  switch (n.kind) {
    case 'char':
      return 1
    case 'seq':
      return n.items.reduce((s, i) => s + maxLength(i), 0)
    case 'alt':
      return Math.max(...n.options.map(maxLength))
    case 'group':
      return maxLength(n.body)
    case 'repeat':
      return n.max === 0 ? 0 : n.max * maxLength(n.body)
    case 'backref':
      return Number.POSITIVE_INFINITY
    default:
      return 0
  }
}

function rescans(root: Node, walks: Walk[], flags: string): boolean {
  const top = items(root)
  const first = top[0]
  if (first?.kind === 'assert' && first.start && !flags.includes('m')) return false
  const prefix: string[] = []
  for (const n of top) {
    if (n.kind !== 'char' || n.literal === undefined) break
    prefix.push(n.literal)
  }
  for (const w of walks) {
    if (!unbounded(w.node)) continue
    const body = w.node.body
    if (prefix.length === 0) {
      if (compatible(leads(body, K), leads(root, K))) return true
      continue
    }
    // An iteration that begins at, or runs across, the first character of a place where a match
    // begins (with `before` characters of its own ahead of it).
    const longest = Math.min(maxLength(body), 16)
    for (let before = 0; before < Math.max(longest, 1); before++) {
      const text = [...Array<null>(before).fill(null), ...prefix]
      if ([...reach(body, new Set([0]), text, true)].some((p) => p > before)) return true
    }
  }
  return false
}

/**
 * The risky shape of the regular expression `source` (as JavaScript reads it, with `flags`), the
 * exponential ones first; undefined when it has none, or when it cannot be read here.
 */
export function regexRisk(source: string, flags: string): RegexRisk | undefined {
  let root: Node
  try {
    root = parse(source, flags)
  } catch {
    return undefined
  }
  const walks = walk(root)
  return (
    exponential(walks) ??
    (overlappingRuns(walks) ? 'overlapping-runs' : rescans(root, walks, flags) ? 'rescan' : undefined)
  )
}

/** Only the shapes that take exponential time (`nested`, `ambiguous`): those a rule is refused for. */
export function exponentialRisk(source: string, flags: string): RegexRisk | undefined {
  try {
    return exponential(walk(parse(source, flags)))
  } catch {
    return undefined
  }
}
