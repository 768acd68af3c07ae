import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type YAML from 'yaml'
import { ExitCode, FirError, messageOf, NotFoundError, UsageError } from '../../errors.js'
import { isWithin, kindOf } from '../common/paths.js'
import { type CompiledRule, compileRuleDocument } from './compile.js'
import { RuleRefusal, refuse } from './refusal.js'

/** A rule file fir could not use, and why. */
export interface RefusedRule {
  file: string
  reason: string
}

export interface LoadedRules {
  rules: CompiledRule[]
  refused: RefusedRule[]
}

const MAX_RULE_BYTES = 1024 * 1024
const MAX_DEPTH = 16

// PyYAML (and so pySigma) reads YAML 1.1: unquoted yes/no/on/off are booleans, `y` and `n` are not;
// dates stay strings here so `date: 2024-07-30` validates as the schema's string.
const BOOL_11 = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE|[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF)$/
const TRUE_11 = /^(?:[Tt]rue|TRUE|[Yy]es|YES|[Oo]n|ON)$/
const YAML_OPTIONS = {
  version: '1.1' as const,
  uniqueKeys: true,
  customTags: (tags: YAML.Tags) => [
    ...tags.filter((t) => {
      const tag = (t as { tag?: string }).tag
      return tag !== 'tag:yaml.org,2002:timestamp' && tag !== 'tag:yaml.org,2002:bool'
    }),
    {
      identify: (v: unknown) => typeof v === 'boolean',
      default: true,
      tag: 'tag:yaml.org,2002:bool',
      test: BOOL_11,
      resolve: (s: string) => TRUE_11.test(s),
    },
  ],
}

/** Parses one rule file's text; throws RuleRefusal when it is not one usable rule. */
export function parseRuleText(text: string, file: string): CompiledRule {
  // A text the build parsed was also checked against the schemas there (scripts/rule-cache.js).
  const built = parsedAtBuild().get(sha256(text))
  return built !== undefined
    ? compileRuleDocument(built, file, { validated: true })
    : compileRuleDocument(parseRuleYaml(text), file)
}

/**
 * The value of one rule file's YAML (PyYAML's YAML 1.1 reading); throws RuleRefusal when it is
 * not one valid YAML document, or one the parser gives up on (too many aliases, an alias to no
 * anchor, nesting too deep): one file's YAML never ends the run.
 */
export function parseRuleYaml(text: string): unknown {
  let docs: ReturnType<typeof YAML.parseAllDocuments>
  try {
    docs = yaml().parseAllDocuments(text, YAML_OPTIONS)
  } catch (err) {
    refuse(`it could not be read as YAML: ${firstLine(err)}`)
  }
  const list = Array.isArray(docs) ? docs : [docs]
  if (list.length === 0) refuse('the file is empty')
  if (list.length > 1) {
    refuse(`the file holds ${list.length} YAML documents (a rule collection), which fir does not support`)
  }
  const doc = list[0]!
  const error = doc.errors[0]
  if (error) refuse(`it is not valid YAML: ${firstLine(error)}`)
  try {
    // The YAML library throws, rather than reporting an error, on what it finds only while
    // building the value: more aliases than maxAliasCount (a billion-laughs file), an alias to no
    // anchor.
    return doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    refuse(`it could not be read as YAML: ${firstLine(err)}`)
  }
}

/** The first line of an error's message (the YAML library adds a code excerpt after it). */
function firstLine(err: unknown): string {
  return messageOf(err).split('\n')[0]!
}

let yamlModule: typeof YAML | undefined

/** The YAML parser, loaded on first use: fir's own rules are parsed at build time. */
function yaml(): typeof YAML {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YAML
  return yamlModule
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Where the build writes the builtin rules' parsed YAML (scripts/rule-cache.js). */
export const BUILD_CACHE_FILE = 'builtin-rules.json'

let buildCache: Map<string, unknown> | undefined

/**
 * The builtin rules' YAML as the build parsed it, by the SHA-256 of each file's text: parsing
 * YAML cost a fir process (and each worker thread of a hunt) a fifth of a second. A rule file
 * whose text is not in it (edited since the build, or another folder) is parsed here; no cache
 * (running from the sources) means every file is.
 */
function parsedAtBuild(): Map<string, unknown> {
  if (!buildCache) {
    buildCache = new Map()
    try {
      const doc = JSON.parse(readFileSync(new URL(`./${BUILD_CACHE_FILE}`, import.meta.url), 'utf8'))
      for (const [hash, value] of Object.entries(doc as Record<string, unknown>)) buildCache.set(hash, value)
    } catch {
      // Not built: every rule is parsed from its YAML.
    }
  }
  return buildCache
}

/**
 * Loads every `.yml`/`.yaml` rule under `dir` (recursively; a single file works too). Rules that
 * cannot be used are returned in `refused` with the reason; a missing folder is an error.
 */
export async function loadRuleDir(dir: string): Promise<LoadedRules> {
  const files = await ruleFilesIn(dir)
  const rules: CompiledRule[] = []
  const refused: RefusedRule[] = []
  const seen = new Map<string, string>()
  for (const file of files) {
    try {
      const size = (await stat(file)).size
      if (size > MAX_RULE_BYTES) refuse(`the file is larger than ${MAX_RULE_BYTES} bytes`)
      const rule = parseRuleText(await readFile(file, 'utf8'), file)
      const earlier = seen.get(rule.id)
      if (earlier) refuse(`its id ${rule.id} is already used by ${earlier}`)
      seen.set(rule.id, file)
      rules.push(rule)
    } catch (err) {
      if (err instanceof RuleRefusal) refused.push({ file, reason: err.message })
      else if ((err as NodeJS.ErrnoException).code) {
        refused.push({ file, reason: `it could not be read: ${(err as Error).message}` })
      } else throw err
    }
  }
  return { rules, refused }
}

const RULES_ACTION = 'pass --rules a folder of Sigma rule files (.yml)'

/**
 * The rule files `dir` names: the `.yml`/`.yaml` files under a folder (recursively, in name
 * order), or the file itself. Only lists (cheap): a run checks its `--rules` folders with it
 * before its threads load them. A missing path is a NotFoundError, a folder that cannot be listed
 * a UsageError (exit 2, with the next step), not a Node error.
 */
export async function ruleFilesIn(dir: string): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>
  try {
    info = await stat(dir)
  } catch (err) {
    throw new NotFoundError(`unable to load rules from ${dir}: no such file or folder`, {
      cause: err,
      actions: [RULES_ACTION],
    })
  }
  if (!info.isDirectory()) {
    if (info.isFile()) return [dir]
    // A FIFO would block the read (with the case lock held) until someone wrote to it.
    throw new UsageError(
      `unable to load rules from ${dir}: it is ${kindOf(info)}, not a rule file (not opened)`,
      {
        actions: [RULES_ACTION],
      },
    )
  }
  try {
    return await listRuleFiles(dir, [await realpath(dir)])
  } catch (err) {
    throw new UsageError(`unable to load rules from ${dir}: ${messageOf(err)}`, {
      cause: err,
      actions: [RULES_ACTION],
    })
  }
}

const RULE_NAME = /\.ya?ml$/i

/**
 * The rule files under `dir`, in name order. Links are followed (stat): a link to a folder is
 * walked unless it leads into a folder walked already or one that holds it (a loop), by real path
 * (`walked`); a link to nothing named .yml is listed (the load refuses it, saying why). A pipe,
 * socket or device named .yml (or a link to one) is never opened — a FIFO would block the read —
 * and fails the listing, naming it.
 */
async function listRuleFiles(dir: string, walked: string[], depth = 0): Promise<string[]> {
  if (depth > MAX_DEPTH) return []
  const entries = await readdir(dir, { withFileTypes: true })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const out: string[] = []
  const special = (full: string, what: string) => {
    if (RULE_NAME.test(full)) throw new Error(`${full} is ${what}, not a rule file (not opened)`)
  }
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue
    const full = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...(await listRuleFiles(full, walked, depth + 1)))
    else if (e.isFile()) {
      if (RULE_NAME.test(e.name)) out.push(full)
    } else if (e.isSymbolicLink()) {
      const info = await stat(full).catch(() => undefined)
      if (info === undefined || info.isFile()) {
        if (RULE_NAME.test(e.name)) out.push(full)
      } else if (info.isDirectory()) {
        const real = await realpath(full)
        if (walked.some((w) => isWithin(real, w) || isWithin(w, real))) continue
        walked.push(real)
        out.push(...(await listRuleFiles(full, walked, depth + 1)))
      } else special(full, `a symbolic link to ${kindOf(info)}`)
    } else special(full, kindOf(e))
  }
  return out
}

/** The repo's rules/ folder: three levels above this module in src/core/detect and in dist/core/detect. */
export function builtinRulesDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../rules')
}

// fir's own pack ships with fir and does not change while it runs: read once a process (a
// process that builds several timelines, or tests, would otherwise parse the YAML every time).
let builtin: Promise<CompiledRule[]> | undefined

/**
 * fir's own rule pack. A builtin rule that does not load is a bug in fir, so it throws rather
 * than hiding the rule. The rules are read once a process; each call gets its own array.
 */
export async function loadBuiltinRules(): Promise<CompiledRule[]> {
  builtin ??= readBuiltinRules()
  try {
    return [...(await builtin)]
  } catch (err) {
    builtin = undefined
    throw err
  }
}

async function readBuiltinRules(): Promise<CompiledRule[]> {
  const dir = builtinRulesDir()
  const { rules, refused } = await loadRuleDir(dir)
  if (refused.length > 0) {
    throw new FirError(
      'rule-pack',
      `unable to load fir's rule pack: ${refused.map((r) => `${path.relative(dir, r.file)}: ${r.reason}`).join('; ')}`,
      {
        exitCode: ExitCode.bug,
        actions: ['reinstall fir; the rules/ folder beside it was changed or damaged'],
      },
    )
  }
  return rules
}
