import type Handlebars from 'handlebars'

/**
 * Checked field lookups for report templates. Handlebars' `strict` mode checks only the last part
 * of a bare `{{a.b}}`; a helper's arguments (`{{md case.titel}}`) and a block's (`{{#each
 * findings.grups}}`, `{{#if summary.nope}}`) it reads loosely, so a misspelt field printed nothing
 * and a section of the report went silently empty. Here every part of every path is checked, and a
 * missing one throws with the path's line, column and which part is missing.
 */

/** What the compiled template throws when a path reads a field its value does not have. */
export interface MissingField {
  /** The part of the path that is missing. */
  name: string
  /** What it was read from: `object`, `list`, `null`, `undefined`, `string`, `number`, `boolean`. */
  parent: string
  /** The path's start (line 1-based, column 0-based) and which looked-up part failed (0-based). */
  at: { line: number; column: number; segment: number }
}

// The lookup the compiled template calls for each part of a path. A value that is there (null
// included) is read as Handlebars reads it (container.lookupProperty keeps prototype properties
// unreadable); a text or number is boxed so that `case.title.length` still reads.
const CHECKED_LOOKUP = `(function (parent, name, at) {
  if (parent !== null && parent !== undefined && name in Object(parent)) return container.lookupProperty(parent, name);
  var error = new Error('missing field ' + name);
  error.missingField = { name: name, parent: parent === null ? 'null' : Array.isArray(parent) ? 'list' : typeof parent, at: at };
  throw error;
})`

/** The part of Handlebars' JavaScriptCompiler this module overrides (nameLookup is its public API). */
interface JavaScriptCompiler {
  source: { currentLocation?: { start: { line: number; column: number } } }
  aliasable(code: string): unknown
  nameLookup(parent: unknown, name: string, type: string): unknown
  matchExistingProgram(child: unknown): unknown
}
type JavaScriptCompilerClass = new () => JavaScriptCompiler

/**
 * Makes `env` compile every lookup of a template's fields (`context` and `@data`) as a checked
 * one. Compile with `assumeObjects: true` so that every part of a path, the last included, goes
 * through `nameLookup` (Handlebars' `strict` would check the last part of a bare `{{…}}` itself,
 * with its `[object Object]` message).
 */
export function checkFieldLookups(env: typeof Handlebars): void {
  const holder = env as unknown as { JavaScriptCompiler: JavaScriptCompilerClass }
  const Base = holder.JavaScriptCompiler
  class CheckedLookups extends Base {
    /** Child programs (block bodies) are compiled by `new this.compiler()`. */
    compiler = CheckedLookups
    /** Parts of each path looked up so far, by the path's start, to name the part that fails. */
    private parts = new Map<string, number>()

    override nameLookup(parent: unknown, name: string, type: string): unknown {
      if (type !== 'context' && type !== 'data') return super.nameLookup(parent, name, type)
      const start = this.source.currentLocation?.start ?? { line: 0, column: 0 }
      const key = `${start.line}:${start.column}`
      const segment = this.parts.get(key) ?? 0
      this.parts.set(key, segment + 1)
      const at = JSON.stringify({ line: start.line, column: start.column, segment })
      return [this.aliasable(CHECKED_LOOKUP), '(', parent, ', ', JSON.stringify(name), ', ', at, ')']
    }

    // Handlebars compiles two identical block bodies once, and the second would then report the
    // first one's line: compile each body on its own (their locations differ).
    override matchExistingProgram(): unknown {
      return undefined
    }
  }
  holder.JavaScriptCompiler = CheckedLookups
}

/** The `missingField` a rendering error carries, when it is one. */
export function missingFieldOf(err: unknown): MissingField | undefined {
  const missing = (err as { missingField?: MissingField } | null)?.missingField
  return missing && typeof missing.name === 'string' && missing.at ? missing : undefined
}

/** A path a template reads, as written, and what its first part is read from. */
export interface TemplatePath {
  original: string
  parts: string[]
  depth: number
  data: boolean
  /** Its first part names a block parameter (`{{#each x as |item|}}`), which is not looked up. */
  blockParam: boolean
  /** What its first part is read from: the view model, or the value of an enclosing block. */
  contexts: string[]
}

interface AstNode {
  type?: string
  loc?: { start: { line: number; column: number } }
  [key: string]: unknown
}

/** Blocks that keep the context: everything else (`#each`, `#with`, a section) reads from its value. */
const SAME_CONTEXT = new Set(['if', 'unless'])

/** Every path of a parsed template, by its start (`line:column`, column 0-based). */
export function templatePaths(ast: unknown): Map<string, TemplatePath> {
  const paths = new Map<string, TemplatePath>()
  const visit = (node: unknown, contexts: string[], blockParams: string[]): void => {
    if (!node || typeof node !== 'object') return
    const n = node as AstNode
    if (n.type === 'PathExpression') {
      const parts = (n.parts as string[]) ?? []
      const depth = (n.depth as number) ?? 0
      if (n.loc)
        paths.set(`${n.loc.start.line}:${n.loc.start.column}`, {
          original: String(n.original),
          parts,
          depth,
          data: n.data === true,
          blockParam: depth === 0 && !n.data && parts.length > 0 && blockParams.includes(parts[0]!),
          contexts,
        })
      return
    }
    if (n.type === 'Program') {
      for (const s of (n.body as unknown[]) ?? []) visit(s, contexts, blockParams)
      return
    }
    if (n.type === 'Hash') {
      for (const pair of (n.pairs as AstNode[]) ?? []) visit(pair.value, contexts, blockParams)
      return
    }
    // Mustaches, sub-expressions and blocks: the path, arguments and hash read the current context.
    visit(n.path, contexts, blockParams)
    for (const p of (n.params as unknown[]) ?? []) visit(p, contexts, blockParams)
    visit(n.hash, contexts, blockParams)
    if (n.type !== 'BlockStatement') return
    const helper = String((n.path as AstNode | undefined)?.original ?? '')
    const program = n.program as AstNode | undefined
    const inner = [...blockParams, ...((program?.blockParams as string[] | undefined) ?? [])]
    if (SAME_CONTEXT.has(helper)) visit(program, contexts, inner)
    else {
      const first = (n.params as AstNode[] | undefined)?.[0]
      const arg = first?.type === 'PathExpression' ? ` ${String(first.original)}` : ''
      const line = n.loc ? ` (line ${n.loc.start.line})` : ''
      const label = helper === 'each' ? `an item of {{#each${arg}}}${line}` : `{{#${helper}${arg}}}${line}`
      visit(program, [...contexts, label], inner)
    }
    visit(n.inverse, contexts, blockParams)
  }
  visit(ast, ['the view model'], [])
  return paths
}

const DATA_FIELDS = '@index, @key, @first and @last are set inside {{#each}}, @root everywhere'

/**
 * A missing field in words: `<file>:<line>:<column>: <path as written>: <what is missing>`, and
 * what to do about it.
 */
export function describeMissingField(
  missing: MissingField,
  paths: Map<string, TemplatePath>,
  templateName: string,
): { problem: string; actions: string[] } {
  const { line, column, segment } = missing.at
  const where = `${templateName}:${line}:${column + 1}`
  const listed =
    'check the spelling, and the block it is read in, against the view model: README, "fir report" (docs/readme/report.md, "The view model") lists every field'
  const path = paths.get(`${line}:${column}`)
  if (!path) return { problem: `${where}: no field ${missing.name} here`, actions: [listed] }
  const index = segment + (path.blockParam ? 1 : 0)
  const actions = [listed]
  let why: string
  if (index === 0) {
    const context = path.contexts[path.contexts.length - 1 - path.depth]
    if (path.data) why = `@${missing.name} is not defined here (${DATA_FIELDS})`
    else if (!context) why = `${'../'.repeat(path.depth)} goes above the view model`
    else {
      why = lacks(context, missing.parent, missing.name)
      if (path.contexts.length > 1)
        actions.push(
          'inside {{#each}} and {{#with}} a field is read from the item; reach an outer field with ../name or @root.name',
        )
    }
  } else {
    const prefix = `${path.data ? '@' : '../'.repeat(path.depth)}${path.parts.slice(0, index).join('.')}`
    why = lacks(prefix, missing.parent, missing.name)
    if (missing.parent === 'null')
      actions.push(`a null field is absent in this case: read into it inside {{#if ${prefix}}}…{{/if}}`)
    if (missing.parent === 'list') actions.push(`read a list's items with {{#each ${prefix}}}…{{/each}}`)
  }
  return { problem: `${where}: ${path.original}: ${why}`, actions }
}

function lacks(subject: string, parent: string, name: string): string {
  switch (parent) {
    case 'object':
    case 'function':
      return `${subject} has no field ${name}`
    case 'null':
      return `${subject} is null in this case (absent), so it has no field ${name}`
    case 'undefined':
      return `${subject} is not a field of the view model`
    case 'list':
      return `${subject} is a list, which has no field ${name}`
    case 'string':
      return `${subject} is a text, which has no field ${name}`
    default:
      return `${subject} is a ${parent}, which has no field ${name}`
  }
}
