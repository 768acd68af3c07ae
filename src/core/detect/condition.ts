import { escapeRegExp } from '../common/text.js'
import { refuse } from './refusal.js'

/**
 * The Sigma condition language: search identifiers joined by `and`, `or`, `not` and parentheses,
 * and `1 of <pattern>` / `all of <pattern>` / `1 of them` / `all of them` (`*` wildcards in the
 * pattern; `them` leaves out identifiers that start with `_`). Precedence: not > and > or.
 * Aggregations (`| count() …`) and `near` need state across events and are refused.
 */
export type ConditionNode =
  | { kind: 'id'; name: string }
  | { kind: 'and' | 'or'; items: ConditionNode[] }
  | { kind: 'not'; item: ConditionNode }
  | { kind: 'of'; quantifier: 'one' | 'all'; pattern: string | null }

type Token = { t: '(' } | { t: ')' } | { t: 'word'; v: string }

function tokenize(text: string): Token[] {
  if (/\|\s*near\b/i.test(text) || /(^|\s)near\s/i.test(text)) {
    refuse(`the condition '${text}' uses 'near', which needs a correlation engine fir does not have`)
  }
  if (text.includes('|')) {
    refuse(
      `the condition '${text}' uses an aggregation ('| count()' …), which needs a correlation engine fir does not have`,
    )
  }
  const tokens: Token[] = []
  const re = /\s*(?:(\()|(\))|([A-Za-z0-9_*.-]+))/y
  let pos = 0
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break
    re.lastIndex = pos
    const m = re.exec(text)
    if (!m) refuse(`the condition '${text}' has an unexpected character at position ${pos + 1}`)
    pos = re.lastIndex
    if (m[1]) tokens.push({ t: '(' })
    else if (m[2]) tokens.push({ t: ')' })
    else tokens.push({ t: 'word', v: m[3]! })
  }
  return tokens
}

/** Parentheses and `not`s nested deeper than this are refused (the parser and matcher recurse). */
const MAX_NESTING = 64

export function parseCondition(text: string): ConditionNode {
  const tokens = tokenize(text)
  let i = 0
  const peekWord = (): string | undefined => {
    const tok = tokens[i]
    return tok?.t === 'word' ? tok.v.toLowerCase() : undefined
  }
  const fail = (what: string): never => refuse(`the condition '${text}' ${what}`)
  let depth = 0
  const nest = <T>(parse: () => T): T => {
    if (++depth > MAX_NESTING) fail(`nests parentheses or 'not' more than ${MAX_NESTING} levels deep`)
    const node = parse()
    depth--
    return node
  }

  const parseOr = (): ConditionNode => {
    const items = [parseAnd()]
    while (peekWord() === 'or') {
      i++
      items.push(parseAnd())
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items }
  }
  const parseAnd = (): ConditionNode => {
    const items = [parseNot()]
    while (peekWord() === 'and') {
      i++
      items.push(parseNot())
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items }
  }
  const parseNot = (): ConditionNode => {
    if (peekWord() === 'not') {
      i++
      return { kind: 'not', item: nest(parseNot) }
    }
    return parsePrimary()
  }
  const parsePrimary = (): ConditionNode => {
    const tok = tokens[i]
    if (!tok) return fail('ends early')
    if (tok.t === '(') {
      i++
      const inner = nest(parseOr)
      if (tokens[i]?.t !== ')') fail('has an unclosed parenthesis')
      i++
      return inner
    }
    if (tok.t === ')') return fail('has an unexpected closing parenthesis')
    const word = tok.v.toLowerCase()
    if (word === 'near') fail("uses 'near', which needs a correlation engine fir does not have")
    if (['and', 'or', 'of', 'them'].includes(word))
      fail(`has '${tok.v}' where a search identifier was expected`)
    const next = tokens[i + 1]
    if (next?.t === 'word' && next.v.toLowerCase() === 'of') {
      let quantifier: 'one' | 'all'
      if (word === '1' || word === 'any') quantifier = 'one'
      else if (word === 'all') quantifier = 'all'
      else return fail(`uses '${tok.v} of'; only '1 of' and 'all of' are defined`)
      const target = tokens[i + 2]
      if (target?.t !== 'word') return fail(`needs a search identifier pattern or 'them' after '${tok.v} of'`)
      i += 3
      return { kind: 'of', quantifier, pattern: target.v.toLowerCase() === 'them' ? null : target.v }
    }
    i++
    return { kind: 'id', name: tok.v }
  }

  if (tokens.length === 0) fail('is empty')
  const node = parseOr()
  if (i < tokens.length) fail(`has unexpected text after position ${i}: '${describe(tokens[i]!)}'`)
  return node
}

function describe(tok: Token): string {
  return tok.t === 'word' ? tok.v : tok.t
}

/** Search identifiers matched by a `1 of` / `all of` pattern (`them`: all but those starting with `_`). */
export function expandPattern(pattern: string | null, names: readonly string[]): string[] {
  if (pattern === null) return names.filter((n) => !n.startsWith('_'))
  if (!pattern.includes('*')) return names.filter((n) => n === pattern)
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`)
  return names.filter((n) => re.test(n))
}
