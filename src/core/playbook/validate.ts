import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type Scalar,
  type YAMLError,
} from 'yaml'
import type { z } from 'zod'
import { PlaybookError } from '../../errors.js'
import { Suggester } from '../common/did-you-mean.js'
import { escapeTerminal } from '../common/text.js'
import { ACTION_SPECS, type ActionSpec } from './action-specs.js'
import { fitsInputType, InputSchema, type Playbook, PlaybookSchema } from './schema.js'
import { hasTemplate, type Path, parseTemplate, pathsOf, TemplateSyntaxError } from './template.js'

/** One problem found in a playbook (or scenario) file, with where it is. */
export interface Problem {
  file: string
  line: number
  col: number
  message: string
}

type Key = string | number

/**
 * A parsed YAML file that can say where any value came from (line and column, 1-based), so every
 * validation problem names its place in the file.
 */
export class SourceMap {
  readonly lineCounter = new LineCounter()
  readonly doc: Document.Parsed
  /**
   * The values a YAML tag made other than plain data (`!!binary`, `!!timestamp`, `!!set`,
   * `!!omap`), by path (pathKey) → what they are; NOT_PLAIN stands for each in the data read.
   */
  readonly notPlain = new Map<string, { path: Key[]; what: string }>()
  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, {
      keepSourceTokens: true,
      lineCounter: this.lineCounter,
      uniqueKeys: true,
    })
  }

  /** Line and column of an offset in the text. */
  pos(offset: number): { line: number; col: number } {
    const p = this.lineCounter.linePos(offset)
    return { line: p.line, col: p.col }
  }

  /** The node at a path, or the deepest node on the way to it when a key is missing. */
  nodeAt(path: Key[], which: 'value' | 'key' = 'value'): { node: Node | Pair | undefined; found: boolean } {
    let cur: unknown = this.doc.contents
    let last: Node | Pair | undefined = (cur as Node) ?? undefined
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!
      if (isMap(cur)) {
        const pair = cur.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg))
        if (!pair) return { node: last, found: false }
        const atEnd = i === path.length - 1
        if (atEnd && which === 'key') return { node: pair.key as Node, found: true }
        last = (pair.value as Node | null) ?? (pair.key as Node)
        cur = pair.value
      } else if (isSeq(cur) && typeof seg === 'number') {
        const item = cur.items[seg]
        if (item === undefined) return { node: last, found: false }
        last = item as Node
        cur = item
      } else {
        return { node: last, found: false }
      }
    }
    return { node: last, found: true }
  }

  /**
   * A problem located at a path (`which: 'key'` points at the key rather than its value).
   * `offsetInValue`: a place inside a string value (a template's), pointed at in the file.
   */
  at(path: Key[], message: string, which: 'value' | 'key' = 'value', offsetInValue?: number): Problem {
    const { node } = this.nodeAt(path, which)
    let offset = rangeStart(node) ?? 0
    if (offsetInValue !== undefined && node && isScalar(node)) {
      const quoted = (node as Scalar).type === 'QUOTE_DOUBLE' || (node as Scalar).type === 'QUOTE_SINGLE'
      offset = this.offsetInSource(node as Scalar, offsetInValue) ?? offset + offsetInValue + (quoted ? 1 : 0)
    }
    return { file: this.file, ...this.pos(offset), message }
  }

  /**
   * Where a place in a scalar's parsed value is in the file. The value is not its source: a block
   * scalar (`|`, `>-`) starts with its header and loses each line's indentation, a quoted one its
   * escapes (`\t`, `\u00e9`), a multi-line one its line breaks. Template places are found from the
   * template's own delimiters: the n-th `{{` (or `}}`) of the value is the n-th of the node's
   * source, and the place lies as far after it (an expression is written as it reads). Undefined
   * when the source does not hold that delimiter (spelt with escapes).
   */
  private offsetInSource(node: Scalar, at: number): number | undefined {
    const range = node.range
    if (typeof node.value !== 'string' || !range) return undefined
    const value = node.value
    let anchor: { token: string; index: number; nth: number } | undefined
    for (const token of ['{{', '}}']) {
      let nth = 0
      for (let i = value.indexOf(token); i >= 0 && i <= at; i = value.indexOf(token, i + token.length)) {
        nth++
        if (!anchor || i > anchor.index) anchor = { token, index: i, nth }
      }
    }
    if (!anchor) return undefined
    const raw = this.text.slice(range[0], range[1])
    let found = -1
    for (let n = 0; n < anchor.nth; n++) {
      found = raw.indexOf(anchor.token, found < 0 ? 0 : found + anchor.token.length)
      if (found < 0) return undefined
    }
    return range[0] + found + (at - anchor.index)
  }
}

/**
 * Stands, in the data readYaml gives, for a value a YAML tag made other than plain data: binary
 * data (`!!binary`, a Buffer), a date (`!!timestamp`), a set or an ordered map. As such a value,
 * an object, every field a schema expects of a map would be missing and every key it holds (each
 * byte of a Buffer) an unknown field, with a method (`Buffer#with`) taken for a field given; as a
 * symbol, it is one value of the wrong type, reported once at its place (zodProblems,
 * notPlainProblems).
 */
export const NOT_PLAIN: unique symbol = Symbol('not plain YAML data')

/** SourceMap.notPlain's key for a path. */
function pathKey(path: readonly Key[]): string {
  return JSON.stringify(path)
}

/** What a value that is not plain data is, as a message says it. */
function notPlainWhat(value: object): string {
  if (value instanceof Uint8Array) return 'binary data (!!binary)'
  if (value instanceof Date) return 'a date (!!timestamp)'
  if (value instanceof Set) return 'a set (!!set)'
  if (value instanceof Map) return 'an ordered map (!!omap)'
  return `a ${escapeTerminal(value.constructor?.name ?? 'tagged')} value`
}

/**
 * The data read with each value that is not plain (strings, numbers, booleans, null, lists and
 * maps) replaced by NOT_PLAIN, recorded in `src.notPlain` with its path.
 */
function plainData(src: SourceMap, value: unknown, path: Key[]): unknown {
  if (value === null || typeof value !== 'object') return value
  const proto = Object.getPrototypeOf(value)
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
    src.notPlain.set(pathKey(path), { path, what: notPlainWhat(value) })
    return NOT_PLAIN
  }
  for (const key of Object.keys(value)) {
    const k: Key = Array.isArray(value) ? Number(key) : key
    const child = (value as Record<string, unknown>)[key]
    const plain = plainData(src, child, [...path, k])
    // defineProperty: a key named __proto__ is a field here, not the prototype.
    if (plain !== child) Object.defineProperty(value, key, { value: plain, enumerable: true, writable: true })
  }
  return value
}

/**
 * One problem for each value that is not plain data no other problem is at (a schema that takes
 * any value there, such as a scenario call's parameters): fir reads plain data only.
 */
export function notPlainProblems(src: SourceMap, problems: readonly Problem[]): Problem[] {
  const out: Problem[] = []
  for (const { path, what } of src.notPlain.values()) {
    const p = src.at(
      path,
      `${pathText(path)} is ${what}, which fir does not read: a playbook or scenario holds only strings, numbers, true/false, null, lists and maps (remove the tag)`,
    )
    if (!problems.some((q) => q.line === p.line && q.col === p.col)) out.push(p)
  }
  return out
}

/** The largest playbook or scenario file fir reads (the shipped ones are under 16 KiB). */
export const MAX_YAML_BYTES = 1024 * 1024
/** How many values all the aliases of one file may stand for, together. */
export const MAX_ALIAS_VALUES = 100_000
/** How deep lists and maps may nest in a playbook or scenario (the shipped ones: under 10). */
export const MAX_YAML_DEPTH = 64

const STACK_OVERFLOW = /Maximum call stack size exceeded/
const TOO_DEEP = `lists and maps are nested more than ${MAX_YAML_DEPTH} levels deep here, more than fir reads in a playbook or scenario (the shipped ones nest under 10)`

/** A playbook or scenario file read as YAML: its data, or the problems that keep it from having any. */
export interface YamlRead {
  source: SourceMap
  /** The file as plain data; absent when it is not valid YAML or its aliases are refused. */
  data?: unknown
  problems: Problem[]
}

/**
 * Reads a playbook or scenario file's YAML: its size, its syntax, and its aliases (`*name`), which
 * may neither contain themselves (a cycle no value can hold) nor stand for more than
 * MAX_ALIAS_VALUES values (nested aliases expand exponentially: an alias bomb). Every problem
 * has its place in the file; nothing throws.
 */
export function readYaml(file: string, text: string): YamlRead {
  if (Buffer.byteLength(text, 'utf8') > MAX_YAML_BYTES) {
    return {
      source: new SourceMap(file, ''),
      problems: [
        {
          file,
          line: 1,
          col: 1,
          message: `the file is larger than 1 MiB (${MAX_YAML_BYTES} bytes), the most fir reads as a playbook or scenario: split it, or shorten it`,
        },
      ],
    }
  }
  const source = new SourceMap(file, text)
  // A parser that ran out of stack (a file nested thousands deep) reports the tokens it could not
  // place after that too: the overflow is the one problem.
  const overflow = source.doc.errors.filter((err) => STACK_OVERFLOW.test(err.message)).slice(0, 1)
  const problems: Problem[] = (overflow.length > 0 ? overflow : source.doc.errors).map((err) => {
    const p = err.linePos?.[0]
    return { file, line: p?.line ?? 1, col: p?.col ?? 1, message: yamlErrorMessage(err, text) }
  })
  // Before any walk of the tree: each is recursive, and would overflow as the parser did.
  if (problems.length === 0) {
    const deep = nestingProblem(source)
    if (deep) problems.push(deep)
  }
  if (problems.length === 0) problems.push(...aliasProblems(source))
  if (problems.length > 0) return { source, problems }
  try {
    // The aliases were counted above: their expansion is bounded, so yaml's own count is not needed.
    const data = plainData(source, source.doc.toJS({ maxAliasCount: -1 }) as unknown, [])
    return { source, data, problems }
  } catch (err) {
    return { source, problems: [{ file, line: 1, col: 1, message: `YAML: ${(err as Error).message}` }] }
  }
}

/**
 * A YAML syntax error as a problem's message: the library's first line without its `at line L,
 * column C:` (the problem has its place already), and a stack overflow (a file nested thousands
 * deep) said as what it is.
 */
function yamlErrorMessage(err: YAMLError, text: string): string {
  const first = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
  if (STACK_OVERFLOW.test(first)) return `${TOO_DEEP}: flatten them`
  if (err.code === 'DUPLICATE_KEY') {
    // The error's place is the repeated key's first character: the key is the text up to its `:`.
    const written = /^[^\n]*?(?=\s*:(?:\s|$)|$)/m.exec(text.slice(err.pos[0]))?.[0] ?? ''
    const key = written.replace(/^(["'])(.*)\1$/, '$2')
    return `the key ${q(key)} is given twice in the same map (YAML map keys are unique): keep one, or rename the other`
  }
  return `YAML: ${first}`
}

/**
 * The first list or map nested deeper than MAX_YAML_DEPTH, counting what aliases stand for (an
 * alias of a deep value, inside a deep value, nests as deep as both). Walked without recursion: a
 * recursive walk is what such a file overflows.
 */
function nestingProblem(src: SourceMap): Problem | undefined {
  const at = (node: unknown, message: string): Problem => ({
    file: src.file,
    ...src.pos(rangeStart(node as Node) ?? 0),
    message,
  })
  const anchors = new Map<string, unknown>()
  /** Levels of each finished list or map, itself included. */
  const heights = new Map<unknown, number>()
  const open: { node: unknown; children: unknown[]; next: number; height: number }[] = []
  /** The levels a leaf stands for (an alias: its value's), or undefined when it opened a list or map. */
  const enter = (node: unknown): number | undefined => {
    const anchor = (node as { anchor?: string } | null)?.anchor
    if (anchor) anchors.set(anchor, node)
    // An alias of a value still open contains itself: aliasProblems says so.
    if (isAlias(node)) return heights.get(anchors.get(node.source)) ?? 0
    if (!isMap(node) && !isSeq(node)) return 0
    const children = (node.items as unknown[]).flatMap((i) => (isPair(i) ? [i.key, i.value] : [i]))
    open.push({ node, children, next: 0, height: 0 })
    return undefined
  }
  const root = src.doc.contents
  if (enter(root) !== undefined) return undefined
  while (open.length > 0) {
    const top = open.at(-1)!
    if (top.next < top.children.length) {
      const child = top.children[top.next++]
      const levels = enter(child)
      if (levels === undefined) {
        if (open.length > MAX_YAML_DEPTH) return at(child, `${TOO_DEEP}: flatten them`)
        continue
      }
      if (open.length + levels > MAX_YAML_DEPTH) {
        const name = escapeTerminal((child as { source: string }).source)
        return at(
          child,
          `${TOO_DEEP}, with what alias *${name} stands for: write the value out flatter, or use fewer aliases`,
        )
      }
      top.height = Math.max(top.height, levels)
    } else {
      open.pop()
      heights.set(top.node, top.height + 1)
      const parent = open.at(-1)
      if (parent) parent.height = Math.max(parent.height, top.height + 1)
    }
  }
  return undefined
}

/** Aliases that contain themselves, and the first alias past MAX_ALIAS_VALUES expanded values. */
function aliasProblems(src: SourceMap): Problem[] {
  const problems: Problem[] = []
  const at = (node: Node, message: string): Problem => ({
    file: src.file,
    ...src.pos(rangeStart(node) ?? 0),
    message,
  })
  // In document order, as YAML resolves them: an alias names the last anchor before it.
  const anchors = new Map<string, Node>()
  const sizes = new Map<unknown, number>()
  const open = new Set<unknown>()
  let expanded = 0
  let tooMany = false
  const walk = (node: unknown): number => {
    if (tooMany || node === null || node === undefined) return 0
    if (isAlias(node)) {
      const target = anchors.get(node.source)
      if (!target) return 1
      if (open.has(target)) {
        problems.push(
          at(
            node,
            `alias *${escapeTerminal(node.source)} is inside the value it names (&${escapeTerminal(node.source)}): a value cannot contain itself; write the value out`,
          ),
        )
        return 1
      }
      const size = sizes.get(target) ?? 1
      expanded += size
      if (expanded > MAX_ALIAS_VALUES) {
        tooMany = true
        problems.push(
          at(
            node,
            `the aliases up to *${escapeTerminal(node.source)} stand for more than ${MAX_ALIAS_VALUES} values (aliases of aliases multiply: an alias bomb?); write the values out, or use fewer aliases`,
          ),
        )
      }
      return size
    }
    const anchor = (node as { anchor?: string }).anchor
    if (anchor) anchors.set(anchor, node as Node)
    let size = 1
    open.add(node)
    if (isPair(node)) size = walk(node.key) + walk(node.value)
    else if (isMap(node) || isSeq(node)) for (const item of node.items) size += walk(item)
    open.delete(node)
    if (anchor) sizes.set(node, size)
    return size
  }
  walk(src.doc.contents)
  return problems
}

function rangeStart(node: Node | Pair | undefined): number | undefined {
  if (!node) return undefined
  if (isPair(node)) return rangeStart(node.key as Node)
  return (node as { range?: [number, number, number] }).range?.[0]
}

/** Names for a message: all of them when few, else the first ones and how many more. */
export function nameList(names: readonly string[], max = 20): string {
  if (names.length === 0) return 'none'
  if (names.length <= max) return names.join(', ')
  return `${names.slice(0, max).join(', ')} … and ${names.length - max} more`
}

function pathText(path: Key[]): string {
  let out = ''
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg
  return out || 'the document'
}

function q(value: unknown): string {
  return JSON.stringify(escapeTerminal(String(value)))
}

function valueAt(data: unknown, path: Key[]): unknown {
  let cur = data
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return undefined
    cur = (cur as Record<string, unknown>)[seg as string]
  }
  return cur
}

/** Turns zod issues into located problems with plain messages. */
export function zodProblems(
  src: SourceMap,
  data: unknown,
  issues: z.core.$ZodIssue[],
  prefix: Key[] = [],
): Problem[] {
  const out: Problem[] = []
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as Key[])]
    const where = pathText(path)
    const notPlain = src.notPlain.get(pathKey(path))
    if (notPlain && valueAt(data, issue.path as Key[]) === NOT_PLAIN) {
      out.push(src.at(path, `${where} must be ${expectedOf(issue)}, not ${notPlain.what}`))
      continue
    }
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys)
          out.push(src.at([...path, key], `unknown field ${q(key)} in ${where}`, 'key'))
        break
      case 'invalid_type':
        out.push(
          valueAt(data, issue.path as Key[]) === undefined
            ? src.at(path, `${where} is missing`)
            : src.at(path, `${where} must be ${article(issue.expected)}`),
        )
        break
      case 'invalid_value':
        out.push(
          src.at(
            path,
            `${where} is ${q(valueAt(data, issue.path as Key[]))}, which is not one of ${issue.values.map((v) => String(v)).join(', ')}`,
          ),
        )
        break
      case 'invalid_union':
        // A union's own error says what to write (schema.ts); zod's default says nothing.
        out.push(
          src.at(
            path,
            issue.message === 'Invalid input'
              ? `${where} must be ${expectedOf(issue)}`
              : `${where} is ${shown(valueAt(data, issue.path as Key[]))}: ${issue.message}`,
          ),
        )
        break
      case 'custom':
        // A value the action's own command refuses (action-specs readBy): its message says why.
        out.push(src.at(path, `${where}: ${issue.message}`))
        break
      case 'invalid_key':
        out.push(src.at(path, `${where}: the name ${issue.issues.map((i) => i.message).join('; ')}`, 'key'))
        break
      default:
        out.push(src.at(path, `${where} ${issue.message}`))
    }
  }
  return out
}

/** A value as a message shows it: a scalar as written, a list or a map by what it is. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  if (value !== null && typeof value === 'object') return 'a map'
  if (typeof value === 'number' && !Number.isFinite(value))
    return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf' // as YAML spells them
  return typeof value === 'string' ? q(value) : escapeTerminal(String(value))
}

/** What an issue says its value must be, for a value that is not plain data. */
function expectedOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return article(issue.expected)
  if (issue.code === 'invalid_value') return `one of ${issue.values.map((v) => String(v)).join(', ')}`
  if (issue.code === 'invalid_union') {
    const types = issue.errors.flatMap((branch) =>
      branch.flatMap((i) => (i.code === 'invalid_type' && i.path.length === 0 ? [article(i.expected)] : [])),
    )
    if (types.length > 0) return [...new Set(types)].join(' or ')
  }
  return 'plain data (a string, a number, true/false, a list or a map)'
}

function article(expected: string): string {
  if (expected === 'array') return 'a list'
  if (expected === 'object' || expected === 'record') return 'a map of key: value'
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`
}

/** Every string inside a value, with its path (for template checks). */
function stringsIn(value: unknown, path: Key[]): { value: string; path: Key[] }[] {
  if (typeof value === 'string') return [{ value, path }]
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, [...path, i]))
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => stringsIn(v, [...path, k]))
  return []
}

function containsTemplate(value: unknown): boolean {
  return stringsIn(value, []).some((s) => hasTemplate(s.value))
}

export interface ValidationResult {
  playbook?: Playbook
  problems: Problem[]
  source: SourceMap
  /** The file as plain data, valid or not (absent when it is not readable YAML). */
  data?: unknown
}

/**
 * Validates playbook text without running anything: YAML syntax, the schema, action ids, `with`
 * parameters and their static types, template syntax, and references (inputs that exist, steps
 * that run earlier, outputs the step's action produces). Reports every problem it finds.
 */
export function validatePlaybookText(
  text: string,
  file: string,
  specs: readonly ActionSpec[] = ACTION_SPECS,
): ValidationResult {
  const read = readYaml(file, text)
  const src = read.source
  const problems = read.problems
  if (problems.length > 0) return { problems, source: src }
  const data = read.data
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push({
      file,
      line: 1,
      col: 1,
      message: 'a playbook is a YAML map with name, description, inputs and steps',
    })
    return { problems, source: src, data }
  }
  const parsed = PlaybookSchema.safeParse(data)
  if (!parsed.success) problems.push(...zodProblems(src, data, parsed.error.issues))

  // Semantic checks run on whatever is there, so one run reports everything.
  const doc = data as Record<string, unknown>
  const inputNames =
    doc.inputs && typeof doc.inputs === 'object' && !Array.isArray(doc.inputs)
      ? Object.keys(doc.inputs as object)
      : []
  const inputs = new Set(inputNames)
  const suggester = new Suggester()
  const steps = Array.isArray(doc.steps) ? (doc.steps as unknown[]) : []
  const stepIndex = new Map<string, number>()
  steps.forEach((s, i) => {
    const id = (s as { id?: unknown })?.id
    if (typeof id !== 'string') return
    if (stepIndex.has(id)) {
      problems.push(
        src.at(['steps', i, 'id'], `step id ${q(id)} is used twice (first at steps[${stepIndex.get(id)}])`),
      )
    } else stepIndex.set(id, i)
  })
  const actionOf = (i: number): ActionSpec | undefined => {
    const a = (steps[i] as { action?: unknown })?.action
    return typeof a === 'string' ? specs.find((s) => s.id === a) : undefined
  }

  const checkTemplates = (value: unknown, path: Key[], here: number) => {
    for (const s of stringsIn(value, path)) {
      if (!hasTemplate(s.value) && !s.value.includes('}}')) continue
      let template: ReturnType<typeof parseTemplate>
      try {
        template = parseTemplate(s.value)
      } catch (err) {
        if (err instanceof TemplateSyntaxError) {
          problems.push(
            src.at(s.path, `bad template in ${pathText(s.path)}: ${err.message}`, 'value', err.offset),
          )
          continue
        }
        throw err
      }
      for (const part of template.parts) {
        if (part.kind !== 'expr') continue
        for (const ref of pathsOf(part.expr)) {
          const message = checkReference(ref.path, here)
          if (!message) continue
          // In its own `{{ … }}`: the same text may stand earlier, outside a template or in another.
          const offset = s.value.indexOf(ref.source, part.offset)
          problems.push(src.at(s.path, message, 'value', offset >= 0 ? offset : undefined))
        }
      }
    }
  }

  const checkReference = (path: Path, here: number): string | undefined => {
    const text = path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.')
    const [root, name, third, output] = path
    if (root === 'inputs') {
      if (typeof name !== 'string') return `reference ${q(text)} must name an input: inputs.<name>`
      if (!inputs.has(name))
        return `reference to unknown input ${q(name)}${suggester.suggest(name, inputNames)}; declared inputs: ${nameList(inputNames.map((n) => escapeTerminal(n)))}`
      return undefined
    }
    if (root === 'steps') {
      if (typeof name !== 'string' || third !== 'outputs' || typeof output !== 'string')
        return `reference ${q(text)} must have the form steps.<earlier step id>.outputs.<name>`
      const at = stepIndex.get(name)
      if (at === undefined)
        return `reference to unknown step ${q(name)}${suggester.suggest(name, stepIndex.keys())}`
      if (at === here) return `step ${q(name)} refers to its own outputs; only earlier steps' outputs exist`
      if (at > here)
        return `reference to step ${q(name)}, which runs later (steps[${at}]); only earlier steps' outputs exist`
      const spec = actionOf(at)
      if (spec && !Object.hasOwn(spec.outputs, output)) {
        const names = Object.keys(spec.outputs)
        return `step ${q(name)} (${spec.id}) has no output ${q(output)}${suggester.suggest(output, names)}; its outputs: ${names.join(', ') || 'none'}`
      }
      return undefined
    }
    return `reference ${q(text)} is not allowed: values may reference inputs.<name> and steps.<earlier id>.outputs.<name> only`
  }

  const inputsDoc = (doc.inputs ?? {}) as Record<string, unknown>
  if (inputsDoc && typeof inputsDoc === 'object') {
    for (const [name, spec] of Object.entries(inputsDoc)) {
      const s = spec as { default?: unknown; type?: unknown } | null
      if (!s || typeof s !== 'object') continue
      if (typeof s.default === 'string' && hasTemplate(s.default))
        problems.push(src.at(['inputs', name, 'default'], `input defaults may not use templates`))
      // The runner converts a default as it converts --input text: one that cannot be read as its
      // type would fail every run that does not pass the input.
      // A default of no shape a default has (a map, .nan) is the schema's problem: said once.
      else if (
        s.default !== undefined &&
        s.default !== '' &&
        (s.type === 'number' || s.type === 'boolean') &&
        InputSchema.shape.default.safeParse(s.default).success &&
        !fitsInputType(s.default, s.type)
      )
        problems.push(
          src.at(
            ['inputs', name, 'default'],
            `the default of input ${q(name)} is ${q(s.default)}, which is not a ${s.type}${s.type === 'boolean' ? ' (true, false, yes, no, 1 or 0)' : ''}`,
          ),
        )
    }
  }

  steps.forEach((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return
    const step = raw as Record<string, unknown>
    const action = step.action
    let spec: ActionSpec | undefined
    if (typeof action === 'string') {
      spec = specs.find((s) => s.id === action)
      if (!spec)
        problems.push(
          src.at(
            ['steps', i, 'action'],
            `unknown action ${q(action)}${suggester.suggest(
              action,
              specs.map((s) => s.id),
            )}; actions: ${specs.map((s) => s.id).join(', ')}`,
          ),
        )
    }
    const withBlock = step.with
    if (
      spec &&
      (withBlock === undefined || (withBlock && typeof withBlock === 'object' && !Array.isArray(withBlock)))
    ) {
      const given = (withBlock ?? {}) as Record<string, unknown>
      const where = withBlock === undefined ? ['steps', i, 'action'] : ['steps', i, 'with']
      for (const [param, value] of Object.entries(given)) {
        // Own parameters only: a name like toString or __proto__ is not one.
        const p = Object.hasOwn(spec.params, param) ? spec.params[param] : undefined
        if (!p) {
          problems.push(
            src.at(
              ['steps', i, 'with', param],
              `${spec.id} has no parameter ${q(param)}${suggester.suggest(param, Object.keys(spec.params))}; its parameters: ${Object.keys(spec.params).join(', ')}`,
              'key',
            ),
          )
          continue
        }
        if (!containsTemplate(value)) {
          const r = p.schema.safeParse(value)
          if (!r.success)
            problems.push(...zodProblems(src, value, r.error.issues, ['steps', i, 'with', param]))
        }
      }
      for (const [param, p] of Object.entries(spec.params)) {
        if (p.required && !Object.hasOwn(given, param))
          problems.push(src.at(where, `${spec.id} needs parameter ${q(param)} (${p.description})`))
      }
      if (spec.oneOf && !spec.oneOf.some((k) => Object.hasOwn(given, k)))
        problems.push(src.at(where, `${spec.id} needs one of the parameters ${spec.oneOf.join(', ')}`))
    }
    checkTemplates(withBlock, ['steps', i, 'with'], i)
    if (typeof step.if === 'string') {
      if (hasTemplate(step.if) || step.if.includes('}}')) checkTemplates(step.if, ['steps', i, 'if'], i)
      else problems.push(src.at(['steps', i, 'if'], ifProblem(step.id, i, step.if)))
    }
    if (typeof step.confirm === 'string') checkTemplates(step.confirm, ['steps', i, 'confirm'], i)
    if (typeof step.title === 'string') checkTemplates(step.title, ['steps', i, 'title'], i)
  })

  problems.push(...notPlainProblems(src, problems))
  const unique = sortedProblems(problems)
  return {
    playbook: unique.length === 0 && parsed.success ? parsed.data : undefined,
    problems: unique,
    source: src,
    data,
  }
}

/** YAML 1.1's words for true and false, which YAML 1.2 (the yaml library fir reads with) takes as text. */
const YAML11_TRUE = /^(y|yes|on)$/i
const YAML11_FALSE = /^(n|no|off)$/i

/**
 * The problem with an `if:` that is text without a template (`if: no`, `if: off`, `if: "false"`):
 * the author may have meant to skip the step, and any text but "", "false" and "0" would run it, so
 * it is refused rather than read either way (a step that runs when it was meant to be skipped is
 * the worst outcome). Says what to write.
 */
function ifProblem(id: unknown, index: number, value: string): string {
  const step = typeof id === 'string' ? `step ${q(id)}` : `steps[${index}]`
  const word = value.trim()
  const meantTrue = YAML11_TRUE.test(word) || /^(true|1)$/i.test(word)
  const meantFalse = YAML11_FALSE.test(word) || /^(false|0)$/i.test(word)
  const why =
    YAML11_TRUE.test(word) || YAML11_FALSE.test(word)
      ? `: YAML 1.2, which fir reads, takes ${escapeTerminal(word)} as text, not as ${meantTrue ? 'true' : 'false'}`
      : meantTrue || meantFalse
        ? ': in quotes it is text, not a boolean'
        : ''
  const write = meantFalse
    ? 'write if: false (no quotes) to skip the step'
    : meantTrue
      ? 'write if: true (no quotes) to run the step, or remove the if'
      : 'write if: false (no quotes) to skip the step or if: true to run it'
  return `${step}: if is the text ${q(value)}, not true or false${why}, so whether the step runs would be a guess; ${write}, or a template such as if: "{{ inputs.<name> }}"`
}

/** Problems in file order (line, then column), each once: two checks may find the same one. */
export function sortedProblems(problems: readonly Problem[]): Problem[] {
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.col - b.col)
  return sorted.filter(
    (p, i) =>
      i === 0 ||
      p.line !== sorted[i - 1]!.line ||
      p.col !== sorted[i - 1]!.col ||
      p.message !== sorted[i - 1]!.message,
  )
}

/** How many problems an error message lists; `--json` (`result.problems`) has every one. */
export const MAX_LISTED_PROBLEMS = 100

/** The error for a file with problems: each problem on its own line, file:line:col first. */
export function problemsError(what: string, file: string, problems: Problem[], how: string): PlaybookError {
  const lines = problems
    .slice(0, MAX_LISTED_PROBLEMS)
    .map((p) => `  ${p.file}:${p.line}:${p.col}: ${p.message}`)
  if (problems.length > MAX_LISTED_PROBLEMS)
    lines.push(`  … and ${problems.length - MAX_LISTED_PROBLEMS} more (--json lists every one)`)
  const err = new PlaybookError(
    `unable to load ${what} ${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${lines.join('\n')}`,
    problems,
    { actions: [how] },
  )
  ;(err as PlaybookError & { envelopeExtra?: unknown }).envelopeExtra = { result: { problems } }
  return err
}
