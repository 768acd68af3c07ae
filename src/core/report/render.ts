import { readFileSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { basename, isAbsolute, join, resolve, sep } from 'node:path'
import Handlebars from 'handlebars'
import { UsageError } from '../../errors.js'
import { refuseManagedOutput } from '../case/case-folder.js'
import { recordArtifact } from '../case/evidence-store.js'
import type { Journal } from '../case/journal.js'
import { writeOutputFile } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { relativeInsideLanded } from '../common/paths.js'
import { type BuildReportOptions, buildReportModel, sanitiseModel } from './build.js'
import { escapeMarkdown } from './escape.js'
import { type HtmlPiece, type HtmlProblem, htmlProblems, reportHtmlProblems } from './html-safety.js'
import type { ReportModel } from './model.js'
import {
  checkFieldLookups,
  describeMissingField,
  missingFieldOf,
  type TemplatePath,
  templatePaths,
} from './template-fields.js'

export type ReportFormat = 'md' | 'html'
export const REPORT_FORMATS: readonly ReportFormat[] = ['html', 'md']

/** The templates shipped with fir (`templates/` at the package root, beside `dist/` and `src/`). */
export const TEMPLATES_DIR = resolve(import.meta.dirname, '..', '..', '..', 'templates')
export const REPORTS_DIR = 'reports'
const MAX_TEMPLATE_BYTES = 1024 * 1024

export function builtinTemplatePath(format: ReportFormat): string {
  return join(TEMPLATES_DIR, `report.${format}.hbs`)
}

/**
 * Handlebars runtime options for every report template: no prototype properties or methods are
 * reachable from a template (so `{{constructor}}`, `{{__proto__}}` and friends resolve to nothing).
 */
export const RUNTIME_OPTIONS: Handlebars.RuntimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
  allowedProtoProperties: {},
  allowedProtoMethods: {},
}

// Inside a code span Markdown is literal; only a backtick (ends it), a pipe (ends a table cell),
// a backslash and line breaks are unsafe there.
const CODE_SAFE = /^[^`|\\\u0000-\u001f\u007f]+$/

/** Handlebars' built-in block helpers a template may use. */
const BUILTIN_HELPERS = ['each', 'if', 'unless', 'with'] as const
/** Built-ins a template may not call: `log` writes to stdout (breaking --json), `lookup` reads any field. */
const REMOVED_BUILTINS = ['log', 'lookup'] as const
/** Handlebars' hooks for a missing helper: callable by name unless declared unknown. */
const HOOKS = ['helperMissing', 'blockHelperMissing'] as const

/** The helpers a template of each format may call; nothing else is callable (knownHelpersOnly). */
function helpersFor(format: ReportFormat): Record<string, Handlebars.HelperDelegate> {
  if (format === 'html')
    return {
      /**
       * The class of a fact's absent text: `unknown` when the snapshot could not read it (it says
       * "unknown: <reason>"), shown apart from a plain "none", which is a finding of its own.
       */
      absentClass: (value: unknown) =>
        typeof value === 'string' && /\bunknown:/.test(value) ? 'unknown' : 'muted',
    }
  return {
    /** Markdown-escapes any value (see escapeMarkdown); the only way a Markdown template prints text. */
    md: (value: unknown) => new Handlebars.SafeString(escapeMarkdown(value)),
    /** A code span for identifiers and hashes; anything with other characters is escaped text instead. */
    mdcode: (value: unknown) => {
      const s = value === null || value === undefined ? '' : String(value)
      return new Handlebars.SafeString(CODE_SAFE.test(s) && s.trim() === s ? `\`${s}\`` : escapeMarkdown(s))
    },
    /**
     * A command to paste, outside a table: a code span whatever it holds, so the report's Markdown
     * source and its rendering both read as the command (escaped text would paste its backslashes
     * and entities). See markdownCommand.
     */
    mdcommand: (value: unknown) =>
      new Handlebars.SafeString(markdownCommand(value === null || value === undefined ? '' : String(value))),
  }
}

/**
 * `command` as a Markdown code span, where every character is literal: fenced with one backtick
 * more than the longest run of backticks it holds, and padded with a space each side when it
 * starts or ends with a backtick (or with a space at both ends, which a code span strips). A code
 * span joins lines, so a command with a line break (or nothing) is escaped text instead.
 */
export function markdownCommand(command: string): string {
  if (command.trim() === '' || /[\r\n]/.test(command)) return escapeMarkdown(command)
  const fence = '`'.repeat(Math.max(0, ...(command.match(/`+/g) ?? []).map((r) => r.length)) + 1)
  const pad = /^`|`$/.test(command) || (command.startsWith(' ') && command.endsWith(' ')) ? ' ' : ''
  return `${fence}${pad}${command}${pad}${fence}`
}

interface AstNode {
  type?: string
  escaped?: boolean
  loc?: { start: { line: number; column: number } }
  [key: string]: unknown
}

/** Refuses template constructs that could print unescaped values or pull in other templates. */
function checkTemplateAst(node: unknown, name: string, problems: string[]): void {
  if (!node || typeof node !== 'object') return
  if (Array.isArray(node)) {
    for (const n of node) checkTemplateAst(n, name, problems)
    return
  }
  const n = node as AstNode
  const where = n.loc ? `${name}:${n.loc.start.line}:${n.loc.start.column + 1}` : name
  if (n.type === 'MustacheStatement' && n.escaped === false) {
    problems.push(`${where}: unescaped output ({{{…}}} or {{&…}}) is not allowed; use {{…}}`)
  }
  if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') {
    problems.push(`${where}: partials ({{> …}}) are not allowed; put everything in one template`)
  }
  if (n.type === 'DecoratorBlock' || n.type === 'Decorator') {
    problems.push(`${where}: decorators ({{* …}}) are not allowed`)
  }
  for (const [key, value] of Object.entries(n)) {
    if (key !== 'loc' && value && typeof value === 'object') checkTemplateAst(value, name, problems)
  }
}

/**
 * A Markdown template's `{{value}}` printed Handlebars' HTML escape, which leaves `**`, `[…](…)`,
 * `|` and `@team` live in a ticket. Every mustache that prints a value other than through a
 * helper (`{{md …}}`, `{{mdcode …}}`) is made `{{md value}}`, so all Markdown output is escaped
 * the one way (fir's own template prints its counts so).
 */
function markdownEscapeValues(node: unknown, helpers: ReadonlySet<string>): void {
  if (!node || typeof node !== 'object') return
  if (Array.isArray(node)) {
    for (const n of node) markdownEscapeValues(n, helpers)
    return
  }
  const n = node as AstNode
  if (n.type === 'MustacheStatement') {
    const path = n.path as AstNode & { original?: unknown }
    const params = (n.params as unknown[] | undefined) ?? []
    const isHelper = path.type === 'PathExpression' && helpers.has(String(path.original))
    if (!isHelper && params.length === 0 && !n.hash) {
      // As Handlebars reads `{{"a b"}}`: a literal in a mustache's place is the name of a field.
      const value = path.parts
        ? path
        : {
            type: 'PathExpression',
            data: false,
            depth: 0,
            parts: [`${path.original}`],
            original: `${path.original}`,
            loc: path.loc,
          }
      n.params = [value]
      n.path = { type: 'PathExpression', data: false, depth: 0, parts: ['md'], original: 'md', loc: path.loc }
    }
    return
  }
  for (const [key, value] of Object.entries(n)) {
    if (key !== 'loc' && value && typeof value === 'object') markdownEscapeValues(value, helpers)
  }
}

/**
 * An HTML template in document order for html-safety.ts: its static text, and a placeholder where
 * each `{{…}}` prints (a block's body and its `{{else}}` one after the other).
 */
function htmlPieces(node: unknown, out: HtmlPiece[] = []): HtmlPiece[] {
  if (!node || typeof node !== 'object') return out
  const n = node as AstNode
  const at = { line: n.loc?.start.line ?? 1, column: (n.loc?.start.column ?? 0) + 1 }
  if (n.type === 'Program') for (const s of (n.body as unknown[]) ?? []) htmlPieces(s, out)
  else if (n.type === 'ContentStatement')
    out.push({ kind: 'text', text: String(n.original ?? n.value), ...at })
  else if (n.type === 'MustacheStatement') out.push({ kind: 'value', ...at })
  else if (n.type === 'BlockStatement') {
    htmlPieces(n.program, out)
    htmlPieces(n.inverse, out)
  }
  return out
}

const HTML_ACTIONS = [
  "start from fir's own template (templates/report.html.hbs in fir's package): its head, the Content-Security-Policy included, is what a report needs",
  'print values with {{…}} in text and in quoted attributes (not in URLs, event handlers or styles); link only inside the report (href="#…")',
  'see README, "fir report", for the safety rules',
]

const problemText = (name: string, p: HtmlProblem) => `${name}:${p.line}:${p.column}: ${p.problem}`

/** A compiled report template: `render(model)` returns the report text. */
export interface CompiledReportTemplate {
  name: string
  format: ReportFormat
  render(model: ReportModel): string
}

/**
 * Handlebars' parse error in one line a template's author can act on: where, what is missing, and
 * the text around it (Handlebars names grammar tokens and draws a caret on three lines).
 */
export function templateSyntaxError(message: string): string {
  const lines = message.split('\n')
  const parse = /^Parse error on line (\d+):/.exec(lines[0] ?? '')
  if (parse) {
    const caret = (lines[2] ?? '').indexOf('^')
    const near = caret >= 0 ? (lines[1] ?? '').slice(Math.max(0, caret - 24), caret + 8) : ''
    const got = /got '([^']+)'\s*$/.exec(message)?.[1]
    const expecting = /Expecting (.+), got/.exec(message)?.[1] ?? ''
    const what =
      got === 'EOF'
        ? expecting.includes("'CLOSE'")
          ? 'the template ends inside {{…}}: a }} is missing'
          : expecting.includes('OPEN_ENDBLOCK')
            ? 'a {{#…}} block is never closed: its {{/…}} is missing'
            : 'the template ends too early'
        : got === 'INVALID'
          ? 'a character Handlebars does not accept inside {{…}}'
          : `unexpected ${got ? got.toLowerCase().replace(/_/g, ' ') : 'text'}`
    return `line ${parse[1]}: ${what}${near ? `, near ${JSON.stringify(near)}` : ''}`
  }
  const block = /^(\S+) doesn't match (\S+) - (\d+):(\d+)/.exec(message)
  if (block) return `line ${block[3]}: {{#${block[1]}}} is closed by {{/${block[2]}}}`
  return (lines[0] ?? message).trim()
}

/** A Handlebars environment with only the format's helpers (see compileReportTemplate). */
function templateEnv(format: ReportFormat): {
  env: typeof Handlebars
  helpers: Record<string, Handlebars.HelperDelegate>
} {
  const env = Handlebars.create()
  checkFieldLookups(env)
  for (const helper of REMOVED_BUILTINS) env.unregisterHelper(helper)
  const helpers = helpersFor(format)
  for (const [helper, fn] of Object.entries(helpers)) env.registerHelper(helper, fn)
  return { env, helpers }
}

/**
 * A template's AST once every check of compileReportTemplate passed, what Handlebars compiles it
 * with, and the paths it reads (for naming a missing field).
 */
function checkedTemplate(
  env: typeof Handlebars,
  helpers: Record<string, Handlebars.HelperDelegate>,
  source: string,
  format: ReportFormat,
  name: string,
): { ast: hbs.AST.Program; options: CompileOptions; paths: Map<string, TemplatePath> } {
  let ast: hbs.AST.Program
  try {
    ast = env.parse(source)
  } catch (err) {
    throw new UsageError(`unable to read template ${name}: ${templateSyntaxError((err as Error).message)}`, {
      actions: [
        'fix the Handlebars syntax at the line named above',
        'see README, "fir report", for the view model',
      ],
      cause: err,
    })
  }
  const problems: string[] = []
  checkTemplateAst(ast, name, problems)
  const htmlFound = format === 'html' ? htmlProblems(htmlPieces(ast)) : []
  problems.push(...htmlFound.map((p) => problemText(name, p)))
  if (problems.length) {
    throw new UsageError(`unable to use template ${name}: ${problems.join('; ')}`, {
      actions: htmlFound.length
        ? HTML_ACTIONS
        : [
            'print values with {{…}}: it escapes (for HTML in HTML templates, for Markdown in Markdown ones, as {{md …}} does)',
            'see README, "fir report", for the helpers and the view model',
          ],
    })
  }
  if (format === 'md') markdownEscapeValues(ast, new Set(Object.keys(helpers)))
  // Handlebars counts its built-ins as known unless told otherwise: the removed ones are not.
  const knownHelpers = {
    ...Object.fromEntries([...REMOVED_BUILTINS, ...HOOKS].map((h) => [h, false])),
    ...Object.fromEntries(Object.keys(helpers).map((h) => [h, true])),
  }
  // assumeObjects, not strict: every part of a path goes through the checked lookup.
  const options = { assumeObjects: true, knownHelpers, knownHelpersOnly: true, noEscape: false }
  return { ast, options, paths: templatePaths(ast) }
}

type CompileOptions = Parameters<typeof Handlebars.precompile>[1]

/** An unknown helper's error from Handlebars' compiler, as fir says it (undefined: another error). */
function unknownHelperError(
  err: unknown,
  format: ReportFormat,
  name: string,
  helpers: Record<string, Handlebars.HelperDelegate>,
): UsageError | undefined {
  const msg = (err as Error).message.split('\n')[0] ?? ''
  const unknown = /unknown helper (\S+)/.exec(msg)
  if (!unknown) return undefined
  const e = err as { lineNumber?: number; column?: number }
  const where = e.lineNumber ? `${name}:${e.lineNumber}:${(e.column ?? 0) + 1}` : name
  return new UsageError(`unable to use template ${name}: ${where}: unknown helper ${unknown[1]}`, {
    actions: [
      `the ${format} helpers are: ${Object.keys(helpers).join(', ')}; and the blocks ${BUILTIN_HELPERS.map((h) => `{{#${h}}}`).join(', ')}`,
      'see README, "fir report", for the helpers and the view model',
    ],
    cause: err,
  })
}

/** Where the build writes fir's own templates compiled (scripts/template-cache.js). */
export const TEMPLATE_CACHE_FILE = 'report-templates.json'

/** A template as the build compiled it: Handlebars' precompiled spec (JavaScript) and its paths. */
export interface PrecompiledTemplate {
  spec: string
  paths: [string, TemplatePath][]
}

/** The key of a template in TEMPLATE_CACHE_FILE: Handlebars' version, the format, the text's SHA-256. */
export function templateCacheKey(source: string, format: ReportFormat): string {
  return `${Handlebars.VERSION}|${format}|${sha256Hex(source)}`
}

let builtTemplates: Map<string, PrecompiledTemplate> | undefined

/**
 * fir's own templates as the build checked and compiled them (compiling one cost a report a
 * quarter of a second, each time). A template whose text is not in it (an organisation's own, one
 * edited since the build) is checked and compiled here; no cache (running from the sources) means
 * every template is.
 */
function compiledAtBuild(source: string, format: ReportFormat): PrecompiledTemplate | undefined {
  if (!builtTemplates) {
    builtTemplates = new Map()
    try {
      const doc = JSON.parse(readFileSync(new URL(`./${TEMPLATE_CACHE_FILE}`, import.meta.url), 'utf8'))
      for (const [key, value] of Object.entries(doc as Record<string, PrecompiledTemplate>))
        builtTemplates.set(key, value)
    } catch {
      // Not built: every template is compiled.
    }
  }
  return builtTemplates.get(templateCacheKey(source, format))
}

/**
 * Checks a template as compileReportTemplate does and compiles it to Handlebars' precompiled form,
 * for the build (scripts/template-cache.js); throws what compileReportTemplate would.
 */
export function precompileReportTemplate(
  source: string,
  format: ReportFormat,
  name: string,
): PrecompiledTemplate {
  const { env, helpers } = templateEnv(format)
  const { ast, options, paths } = checkedTemplate(env, helpers, source, format, name)
  let spec: string
  try {
    spec = env.precompile(ast, options) as string
  } catch (err) {
    throw unknownHelperError(err, format, name, helpers) ?? err
  }
  return { spec, paths: [...paths] }
}

/**
 * Compiles a report template in its own Handlebars environment: every field it reads is checked (a
 * misspelt field is an error naming the path and its line:column, in `{{…}}`, in a helper's
 * arguments and in a block's; see template-fields.ts), escaping for every `{{…}}` (HTML in an HTML
 * template; Markdown in a Markdown one, as `{{md …}}`), only the format's helpers, no
 * triple-stash, partials or decorators, and prototype access forbidden at run time. An HTML
 * template must also keep the report self-contained (html-safety.ts): checked on its static parts
 * here, and on each rendered report before it is returned. fir's own templates were checked and
 * compiled so by the build: their compiled form is used.
 */
export function compileReportTemplate(
  source: string,
  format: ReportFormat,
  name: string,
): CompiledReportTemplate {
  const { env, helpers } = templateEnv(format)
  const built = compiledAtBuild(source, format)
  let template: Handlebars.TemplateDelegate
  let paths: Map<string, TemplatePath>
  if (built) {
    template = env.template(new Function(`return ${built.spec}`)())
    paths = new Map(built.paths)
  } else {
    const checked = checkedTemplate(env, helpers, source, format, name)
    paths = checked.paths
    template = env.compile(checked.ast, checked.options)
    try {
      // Compile now so unknown helpers are reported before any case is read.
      template({} as never, { ...RUNTIME_OPTIONS, helpers: {} })
    } catch (err) {
      const unknown = unknownHelperError(err, format, name, helpers)
      if (unknown) throw unknown
      // Field lookups fail on the empty trial model; real rendering reports real errors.
    }
  }
  return {
    name,
    format,
    render(model: ReportModel): string {
      // Plain data only (no getters or functions), secrets scrubbed and control characters visible.
      const data = sanitiseModel(JSON.parse(JSON.stringify(model)) as ReportModel)
      let text: string
      try {
        text = template(data, RUNTIME_OPTIONS)
      } catch (err) {
        const missing = missingFieldOf(err)
        if (missing) {
          const { problem, actions } = describeMissingField(missing, paths, name)
          throw new UsageError(`unable to render template ${name}: ${problem}`, { actions, cause: err })
        }
        throw new UsageError(`unable to render template ${name}: ${(err as Error).message.split('\n')[0]}`, {
          actions: ['check the field names against the view model in README, "fir report"'],
          cause: err,
        })
      }
      // The check that decides, on what would be written, parsed as a browser parses it: the head
      // as rendered (a CSP under an {{#if}} that was false is not there), and anything the static
      // check could not see.
      const found = format === 'html' ? reportHtmlProblems(text) : []
      if (found.length) {
        throw new UsageError(
          `unable to render template ${name}: the report it rendered breaks the HTML safety rules: ${found.map((p) => `line ${p.line}:${p.column}: ${p.problem}`).join('; ')}`,
          { actions: HTML_ACTIONS },
        )
      }
      return text
    },
  }
}

/** The format a template file is for, from its name (`*.md.hbs`, `*.html.hbs`, `*.md`, `*.html`). */
export function formatFromName(path: string): ReportFormat | undefined {
  const name = basename(path)
    .toLowerCase()
    .replace(/\.(hbs|handlebars)$/, '')
  if (/\.(md|markdown)$/.test(name)) return 'md'
  if (/\.html?$/.test(name)) return 'html'
  return undefined
}

/** Reads and compiles a template file (an organisation's own, or one of fir's). */
export async function loadReportTemplate(
  path: string,
  format?: ReportFormat,
): Promise<CompiledReportTemplate> {
  const chosen = format ?? formatFromName(path)
  if (!chosen) {
    throw new UsageError(`unable to use template ${path}: its format is not known from its name`, {
      actions: ['name it *.md.hbs or *.html.hbs, or pass --format md|html'],
    })
  }
  let size: number
  try {
    const s = await stat(path)
    if (!s.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' })
    size = s.size
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'there is no such file'
        : code === 'EISDIR'
          ? 'it is a folder, not a file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : (err as Error).message
    throw new UsageError(`unable to read --template ${path}: ${why}`, {
      actions: [
        ...(code === 'ENOENT' && !isAbsolute(path)
          ? [`check the path: it is read from the folder fir runs in (${process.cwd()})`]
          : []),
        'pass --template the path of a Handlebars file (*.md.hbs or *.html.hbs)',
      ],
      cause: err,
    })
  }
  if (size > MAX_TEMPLATE_BYTES) {
    throw new UsageError(`unable to use template ${path}: it is ${size} bytes, over the 1 MB limit`, {
      actions: ['a report template is text; keep images and data out of it'],
    })
  }
  return compileReportTemplate(await readFile(path, 'utf8'), chosen, basename(path))
}

/** Renders a view model with fir's template for the format, or with `templatePath`. */
export async function renderReport(
  model: ReportModel,
  options: { format: ReportFormat; templatePath?: string },
): Promise<string> {
  const template = await loadReportTemplate(
    options.templatePath ?? builtinTemplatePath(options.format),
    options.format,
  )
  return template.render(model)
}

export interface WriteReportsOptions extends BuildReportOptions {
  /** Formats to write (default both); ignored when a template or `out` fixes the format. */
  formats?: ReportFormat[]
  /** An organisation's own template (one format). */
  templatePath?: string
  /** Write one file here instead of reports/report.<format>. */
  out?: string
  /** Base folder for a relative `out` (default: the current directory). */
  cwd?: string
}

export interface WrittenReport {
  format: ReportFormat
  /** Absolute path of the file. */
  path: string
  /** Path inside the case, when the file is in it (and so recorded in the journal). */
  caseRelative: string | null
  bytes: number
  sha256: string | null
  template: string
}

/**
 * Builds the view model, renders every requested format and writes the files (atomically) into
 * `<case>/reports/` (or `out`). Each file inside the case is recorded with its SHA-256 in the
 * journal (case.artifact), so `fir case verify` checks it. The caller holds the case lock.
 */
export async function writeReports(
  handle: { dir: string; journal: Journal },
  options: WriteReportsOptions = {},
): Promise<{ model: ReportModel; files: WrittenReport[] }> {
  let formats: ReportFormat[] = options.formats?.length ? [...new Set(options.formats)] : [...REPORT_FORMATS]
  const templateFormat = options.templatePath ? formatFromName(options.templatePath) : undefined
  const outFormat = options.out ? formatFromName(options.out) : undefined
  if (templateFormat && options.formats?.length === 1 && options.formats[0] !== templateFormat) {
    throw new UsageError(
      `unable to use template ${basename(options.templatePath!)}: its name says ${templateFormat}, but --format is ${options.formats[0]}`,
      { actions: ['drop --format, or rename the template to *.<format>.hbs'] },
    )
  }
  if (options.templatePath || options.out) {
    const fixed = options.formats?.length === 1 ? options.formats[0] : (templateFormat ?? outFormat)
    if (!fixed) {
      throw new UsageError(
        `unable to choose the report format: ${options.templatePath ? `template ${basename(options.templatePath)}` : `--out ${options.out}`} does not name one`,
        { actions: ['pass --format md or --format html'] },
      )
    }
    formats = [fixed]
  }
  const templates = await Promise.all(
    formats.map((format) => loadReportTemplate(options.templatePath ?? builtinTemplatePath(format), format)),
  )
  const model = await buildReportModel(handle.dir, options)
  const files: WrittenReport[] = []
  for (const template of templates) {
    const text = template.render(model)
    let path: string
    if (options.out) {
      path = resolve(options.cwd ?? process.cwd(), options.out)
      refuseManagedOutput(handle.dir, path, `<case>/reports/ticket.${template.format}`)
    } else if (options.templatePath) {
      const stem = basename(options.templatePath)
        .replace(/\.(hbs|handlebars)$/i, '')
        .replace(/\.(md|markdown|html?)$/i, '')
      path = join(handle.dir, REPORTS_DIR, `${stem || 'report'}.${template.format}`)
    } else path = join(handle.dir, REPORTS_DIR, `report.${template.format}`)
    try {
      if ((await stat(path).catch(() => null))?.isDirectory()) throw new Error('it is a folder')
      await writeOutputFile(path, text)
    } catch (err) {
      throw new UsageError(`unable to write the report to ${path}: ${(err as Error).message}`, {
        actions: ['pass --out a file path in a folder you can write to'],
        cause: err,
      })
    }
    const rel = relativeInsideLanded(handle.dir, path)?.split(sep).join('/')
    let sha256: string | null = null
    if (rel) sha256 = (await recordArtifact(handle.dir, handle.journal, rel)).sha256
    files.push({
      format: template.format,
      path,
      caseRelative: rel ?? null,
      bytes: Buffer.byteLength(text),
      sha256,
      template: options.templatePath
        ? resolve(options.cwd ?? process.cwd(), options.templatePath)
        : template.name,
    })
  }
  return { model, files }
}
