/**
 * Playbook templating: `{{ inputs.x }}` and `{{ steps.<id>.outputs.y }}` inside YAML values.
 *
 * Deliberately tiny and safe: an expression is a dotted path (with `[n]` list indices), a quoted
 * string, a number, `true`/`false`/`null`, any of those negated with `!`, or several joined by
 * `||` (the first truthy one wins). Nothing is executed, no helper or function can be called, and a path is looked up
 * with own-property checks only, so `__proto__`, `constructor` and friends can never be reached.
 */

/** A lookup path: `['steps', 'seal', 'outputs', 'roleName']`, `['inputs', 'keys', 0]`. */
export type Path = (string | number)[]

export type Expr =
  | { kind: 'path'; path: Path; source: string }
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'or'; options: Expr[] }
  | { kind: 'not'; expr: Expr }

/** A part of a template string: literal text or an expression, with its offset in the string. */
export type Part =
  | { kind: 'text'; text: string }
  | { kind: 'expr'; expr: Expr; source: string; offset: number }

export interface Template {
  parts: Part[]
  /** The whole string is exactly one `{{ expr }}`: the value keeps its type (list, number…). */
  single: boolean
}

/** A template syntax error with the offset in the string where it was found. */
export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
  }
}

/** Names that must never be looked up, even as own properties. */
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor'])
const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*/

/** True when a string holds `{{` at all (cheap test before parsing). */
export function hasTemplate(value: string): boolean {
  return value.includes('{{')
}

/** Parses a template string; throws TemplateSyntaxError with the offset of the problem. */
export function parseTemplate(input: string): Template {
  const parts: Part[] = []
  let i = 0
  while (i < input.length) {
    const open = input.indexOf('{{', i)
    const strayClose = input.indexOf('}}', i)
    if (strayClose >= 0 && (open < 0 || strayClose < open)) {
      throw new TemplateSyntaxError("'}}' without a matching '{{'", strayClose)
    }
    if (open < 0) {
      parts.push({ kind: 'text', text: input.slice(i) })
      break
    }
    if (open > i) parts.push({ kind: 'text', text: input.slice(i, open) })
    const close = input.indexOf('}}', open + 2)
    if (close < 0) throw new TemplateSyntaxError("'{{' is never closed with '}}'", open)
    const nested = input.indexOf('{{', open + 2)
    if (nested >= 0 && nested < close) throw new TemplateSyntaxError("'{{' inside '{{ … }}'", nested)
    const source = input.slice(open + 2, close)
    const expr = parseExpr(source, open + 2)
    parts.push({ kind: 'expr', expr, source: source.trim(), offset: open })
    i = close + 2
  }
  const exprs = parts.filter((p) => p.kind === 'expr')
  const single =
    exprs.length === 1 && parts.every((p) => p.kind === 'expr' || (p.kind === 'text' && p.text.trim() === ''))
  return { parts, single }
}

function parseExpr(source: string, base: number): Expr {
  const options: Expr[] = []
  let pos = 0
  const skip = () => {
    while (pos < source.length && /\s/.test(source[pos]!)) pos++
  }
  skip()
  if (pos >= source.length) throw new TemplateSyntaxError("empty expression '{{ }}'", base)
  for (;;) {
    skip()
    options.push(parsePrimary())
    skip()
    if (pos >= source.length) break
    if (source.startsWith('||', pos)) {
      pos += 2
      continue
    }
    throw new TemplateSyntaxError(
      `unexpected ${JSON.stringify(source.slice(pos, pos + 12))} in expression (only paths, quoted strings, numbers, true/false/null and || are allowed)`,
      base + pos,
    )
  }
  return options.length === 1 ? options[0]! : { kind: 'or', options }

  function parsePrimary(): Expr {
    const start = pos
    const ch = source[pos]
    if (ch === undefined) throw new TemplateSyntaxError("expected a value after '||' or '!'", base + pos)
    if (ch === '!') {
      pos++
      skip()
      return { kind: 'not', expr: parsePrimary() }
    }
    if (ch === "'" || ch === '"') {
      const end = source.indexOf(ch, pos + 1)
      if (end < 0) throw new TemplateSyntaxError('unterminated string', base + pos)
      pos = end + 1
      return { kind: 'literal', value: source.slice(start + 1, end) }
    }
    const num = source.slice(pos).match(/^-?\d+(\.\d+)?(?![A-Za-z0-9_])/)
    if (num) {
      pos += num[0].length
      return { kind: 'literal', value: Number(num[0]) }
    }
    const path: Path = []
    const first = source.slice(pos).match(IDENT)
    if (!first) {
      throw new TemplateSyntaxError(
        `unexpected ${JSON.stringify(source.slice(pos, pos + 12))}: expected a path such as inputs.function`,
        base + pos,
      )
    }
    pos += first[0].length
    path.push(first[0])
    for (;;) {
      if (source[pos] === '.') {
        const seg = source.slice(pos + 1).match(IDENT)
        if (!seg) throw new TemplateSyntaxError("expected a name after '.'", base + pos + 1)
        pos += 1 + seg[0].length
        path.push(seg[0])
      } else if (source[pos] === '[') {
        const idx = source.slice(pos).match(/^\[(\d{1,6})\]/)
        if (!idx) throw new TemplateSyntaxError("expected a list index like [0] after '['", base + pos)
        pos += idx[0].length
        path.push(Number(idx[1]))
      } else break
    }
    if (path.length === 1 && typeof path[0] === 'string' && ['true', 'false', 'null'].includes(path[0])) {
      return { kind: 'literal', value: path[0] === 'null' ? null : path[0] === 'true' }
    }
    for (const seg of path) {
      if (typeof seg === 'string' && FORBIDDEN.has(seg)) {
        throw new TemplateSyntaxError(`${JSON.stringify(seg)} may not be used in a path`, base + start)
      }
    }
    return { kind: 'path', path, source: source.slice(start, pos) }
  }
}

/** Every path an expression or template reads. */
export function pathsOf(t: Template | Expr): { path: Path; source: string }[] {
  if ('parts' in t) return t.parts.flatMap((p) => (p.kind === 'expr' ? pathsOf(p.expr) : []))
  if (t.kind === 'path') return [{ path: t.path, source: t.source }]
  if (t.kind === 'or') return t.options.flatMap(pathsOf)
  if (t.kind === 'not') return pathsOf(t.expr)
  return []
}

/** Marker for a value that is not known yet (dry-run: an output of a step that has not run). */
export class Unresolved {
  /** `source` is the reference; `text` the rendered text around it, when it was part of a string. */
  constructor(
    readonly source: string,
    readonly text?: string,
  ) {}
  toString(): string {
    return this.text ?? `‹${this.source}›`
  }
  toJSON(): string {
    return this.toString()
  }
}

/** Looks a path up with own-property checks only; undefined when any segment is missing. */
export function lookup(root: unknown, path: Path): unknown {
  let cur: unknown = root
  for (const seg of path) {
    if (cur instanceof Unresolved) return cur
    if (cur === null || cur === undefined) return undefined
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) return undefined
      cur = cur[seg]
      continue
    }
    if (FORBIDDEN.has(seg) || typeof cur !== 'object' || Array.isArray(cur)) return undefined
    if (!Object.hasOwn(cur, seg)) return undefined
    cur = (cur as Record<string, unknown>)[seg]
  }
  return cur
}

/**
 * Truthiness after templating: empty, false, 0, null and an empty list are false; so are the
 * texts "false", "0", "no", "n" and "off" (any case, white space around), which is how an
 * `--input` or a template joined with text spells them: `--input rotate=no` means skip, and a
 * step that runs when it was meant to be skipped is the worst outcome.
 */
export function truthy(value: unknown): boolean {
  if (value instanceof Unresolved) return true
  if (value === undefined || value === null || value === false || value === 0) return false
  if (typeof value === 'string') return !FALSE_TEXT.has(value.trim().toLowerCase())
  if (Array.isArray(value)) return value.length > 0
  return true
}

const FALSE_TEXT = new Set(['', 'false', '0', 'no', 'n', 'off'])

/** The scope templates read: `inputs` and `steps.<id>.outputs`. */
export interface Scope {
  inputs: Record<string, unknown>
  steps: Record<string, { outputs: Record<string, unknown> }>
}

export function evalExpr(expr: Expr, scope: Scope): unknown {
  if (expr.kind === 'literal') return expr.value
  if (expr.kind === 'path') {
    const v = lookup(scope, expr.path)
    // A step that has not run (dry-run) is an Unresolved marker: name the whole reference.
    return v instanceof Unresolved ? new Unresolved(expr.source) : v
  }
  if (expr.kind === 'not') {
    const h = holds(expr.expr, scope)
    return h instanceof Unresolved ? h : !h
  }
  for (const option of expr.options) {
    const h = holds(option, scope)
    if (h instanceof Unresolved) return h
    if (h) return evalExpr(option, scope)
  }
  return evalExpr(expr.options[expr.options.length - 1]!, scope)
}

/**
 * Whether `expr` is true. A step's output keeps its type: a text output is false only when empty,
 * so a role named "false" or "0" is still a role (an intruder may choose its name). Text from the
 * inputs, and literals, follow {@link truthy}.
 */
function holds(expr: Expr, scope: Scope): boolean | Unresolved {
  if (expr.kind === 'not') {
    const h = holds(expr.expr, scope)
    return h instanceof Unresolved ? h : !h
  }
  if (expr.kind === 'or') {
    for (const option of expr.options) {
      const h = holds(option, scope)
      if (h instanceof Unresolved || h) return h
    }
    return false
  }
  const v = evalExpr(expr, scope)
  if (v instanceof Unresolved) return v
  if (expr.kind === 'path' && expr.path[0] === 'steps' && typeof v === 'string') return v !== ''
  return truthy(v)
}

/** Whether a step's `if` holds: 'unresolved' while it reads outputs not known yet (dry-run). */
export function conditionHolds(condition: boolean | string, scope: Scope): boolean | 'unresolved' {
  if (typeof condition === 'boolean') return condition
  if (!hasTemplate(condition)) return truthy(condition)
  const t = parseTemplate(condition)
  if (t.single) {
    const only = t.parts.find((p) => p.kind === 'expr')
    if (only?.kind === 'expr') {
      const h = holds(only.expr, scope)
      return h instanceof Unresolved ? 'unresolved' : h
    }
  }
  const value = renderTemplate(t, scope)
  return containsUnresolved(value) ? 'unresolved' : truthy(value)
}

function stringify(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (Array.isArray(value)) return value.map(stringify).join(',')
  if (typeof value === 'object' && !(value instanceof Unresolved)) return JSON.stringify(value)
  return String(value)
}

/** Renders a parsed template: a single expression keeps its type, else the parts are joined as text. */
export function renderTemplate(t: Template, scope: Scope): unknown {
  if (t.single) {
    const p = t.parts.find((x) => x.kind === 'expr')!
    return evalExpr((p as Extract<Part, { kind: 'expr' }>).expr, scope)
  }
  let unresolved = false
  const text = t.parts
    .map((p) => {
      if (p.kind === 'text') return p.text
      const v = evalExpr(p.expr, scope)
      if (v instanceof Unresolved) unresolved = true
      return stringify(v)
    })
    .join('')
  return unresolved
    ? new Unresolved(t.parts.map((p) => (p.kind === 'expr' ? p.source : '')).join(' '), text)
    : text
}

/** Renders every string inside a JSON-like value (YAML `with:` blocks). */
export function renderDeep(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string')
    return hasTemplate(value) ? renderTemplate(parseTemplate(value), scope) : value
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, scope))
  if (value && typeof value === 'object' && !(value instanceof Unresolved)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const r = renderDeep(v, scope)
      if (r !== undefined) out[k] = r
    }
    return out
  }
  return value
}

/** True when a rendered value still holds an unresolved reference anywhere. */
export function containsUnresolved(value: unknown): boolean {
  if (value instanceof Unresolved) return true
  if (Array.isArray(value)) return value.some(containsUnresolved)
  if (value && typeof value === 'object') return Object.values(value).some(containsUnresolved)
  return false
}
