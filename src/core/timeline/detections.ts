import { readFile } from 'node:fs/promises'
import { UsageError } from '../../errors.js'
import { escapeTerminal } from '../common/text.js'
import {
  type AwsIpRanges,
  type CompiledRule,
  cachedRoleNameOf,
  createDetector,
  type Detector,
  evaluate,
  loadBuiltinRules,
  loadRuleDir,
  type RefusedRule,
  RuleIndex,
  roleNameOf,
  ruleFilesIn,
} from '../detect/index.js'
import type { EventFinding } from './types.js'

type Rec = Record<string, unknown>

/**
 * The rules a timeline run uses, split the way the pipeline runs them: stateless rules on every
 * event where it is read (worker threads included); rules that need a detector (fir's scope,
 * context and burst extensions) once, in the main thread, over the events they can concern, in
 * time order.
 */
export interface RulePack {
  all: CompiledRule[]
  detectorRules: CompiledRule[]
  refused: RefusedRule[]
  /** Rule files loaded (builtin pack, then --rules folders). */
  sources: string[]
  /** Stateless findings for one raw record. */
  statelessFindings(record: Rec): EventFinding[]
  /** What the detector will need to know of this record at merge time (see classifyForDetector). */
  classify(record: Rec): DetectorMarks
}

/** Row marks for the merge-time detector. */
export interface DetectorMarks {
  /** DETECTOR_LEARN | DETECTOR_ANY */
  flags: number
  /** Lower-case role names a function-role-scoped rule's field named, comma-joined ('' if none). */
  scopeRoles: string
}

/** The record teaches the detector a function's execution role. */
export const DETECTOR_LEARN = 2
/** A detector rule without a function-role scope matches the record (context, burst). */
export const DETECTOR_ANY = 4

/**
 * Checks the `--rules` folders before a run reads anything (in the main thread: an account-wide
 * hunt's threads load their own pack, and a failure there was once a bug, exit 1). Lists only;
 * what each rule file holds is judged when the pack loads (a refused rule is named, not fatal).
 */
export async function checkRuleDirs(ruleDirs: string[]): Promise<void> {
  for (const dir of ruleDirs) if ((await ruleFilesIn(dir)).length === 0) throw noRuleFiles(dir)
}

/**
 * A `--rules` folder without one rule file (a wrong folder, rules in a .zip, or named .txt): the
 * run is refused rather than run without the rules the responder asked for — a hunt that "found
 * nothing" with them would read as their rules matching nothing, and a warning on stderr among
 * the progress is easily missed. Nothing has been read yet: the fix costs one re-run.
 */
function noRuleFiles(dir: string): UsageError {
  return new UsageError(`unable to load rules from ${dir}: it holds no Sigma rule file (.yml or .yaml)`, {
    actions: [
      'pass --rules a folder of Sigma rule files (.yml), or one rule file',
      "or leave --rules out to run fir's own pack alone",
    ],
  })
}

/**
 * The builtin pack and the `--rules` folders' rules. `awsIpRanges`: whether the run has AWS's
 * address ranges (`--aws-ip-ranges`); without them the rules that need them never fire at the
 * merge (createDetector leaves them out), so `classify` marks no record for them (it runs on every
 * record of a hunt). Left out, they are marked: a pack that may meet ranges misses nothing.
 */
export async function loadRulePack(
  ruleDirs: string[] = [],
  options: { awsIpRanges?: boolean } = {},
): Promise<RulePack> {
  const all = await loadBuiltinRules()
  const refused: RefusedRule[] = []
  const seen = new Set(all.map((r) => r.id))
  for (const dir of ruleDirs) {
    const loaded = await loadRuleDir(dir)
    if (loaded.rules.length === 0 && loaded.refused.length === 0) throw noRuleFiles(dir)
    for (const rule of loaded.rules) {
      if (seen.has(rule.id)) {
        refused.push({ file: rule.file, reason: `its id ${rule.id} is already used by another loaded rule` })
        continue
      }
      seen.add(rule.id)
      all.push(rule)
    }
    refused.push(...loaded.refused)
  }
  const detectorRules = all.filter((r) => r.needsDetector)
  const withRanges = options.awsIpRanges !== false
  const marker = detectorMarker(detectorRules.filter((r) => withRanges || !r.fir?.context))
  const pack: RulePack = {
    all,
    detectorRules,
    refused,
    sources: ['builtin', ...ruleDirs],
    statelessFindings: (record) => statelessFindings(pack, record),
    classify: marker,
  }
  return pack
}

/**
 * The string values at a dotted field path, as Sigma field names read them: an array met on the
 * way is walked a level (its objects' fields read), and an array at the end gives its strings.
 * Walked in place (no list per step): it runs on every record an account-wide hunt reads.
 */
export function fieldValues(path: string): (record: Rec) => string[] {
  const parts = path.split('.')
  const visit = (node: unknown, i: number, out: string[]): void => {
    if (i === parts.length) {
      if (typeof node === 'string') out.push(node)
      else if (Array.isArray(node)) for (const v of node) if (typeof v === 'string') out.push(v)
      return
    }
    if (node === null || typeof node !== 'object') return
    if (!Array.isArray(node)) {
      visit((node as Rec)[parts[i]!], i + 1, out)
      return
    }
    for (const e of node)
      if (e !== null && typeof e === 'object' && !Array.isArray(e)) visit((e as Rec)[parts[i]!], i + 1, out)
  }
  return (record) => {
    const out: string[] = []
    visit(record, 0, out)
    return out
  }
}

/**
 * What marks a record for the detector, which runs once over the merged, time-ordered timeline:
 * whether it teaches a function's role, whether an unscoped detector rule matches it, and which
 * roles a function-role-scoped rule's field names. Only marked rows are parsed again at the merge,
 * and scoped ones only when a named role is a function's: an account-wide hunt stays fast.
 *
 * It runs on every record a hunt reads, so: a record meets only the rules its eventName allows
 * (RuleIndex); rules scoped by the same field read it once; and marks are shared objects, one for
 * each flags and roles met (most records mark nothing, or the role of one of a few sessions).
 */
function detectorMarker(rules: CompiledRule[]): (record: Rec) => DetectorMarks {
  const scopes = new Map<string, (record: Rec) => string[]>()
  const plans = rules.map((rule) => {
    const path = rule.fir?.scope?.functionRole
    let scope = path === undefined ? undefined : scopes.get(path)
    if (path !== undefined && !scope) scopes.set(path, (scope = fieldValues(path)))
    return { rule, scope }
  })
  const index = new RuleIndex(plans)
  const shared = new Map<string, DetectorMarks>()
  const read: Array<(record: Rec) => string[]> = []
  return (record) => {
    let flags = learnedRole(record) !== undefined ? DETECTOR_LEARN : 0
    let roles = ''
    read.length = 0
    for (const p of index.candidates(record)) {
      if (!p.rule.matches(record)) continue
      if (!p.scope) {
        flags |= DETECTOR_ANY
        continue
      }
      if (read.includes(p.scope)) continue
      read.push(p.scope)
      for (const v of p.scope(record)) {
        const name = cachedRoleNameOf(v)
        if (name && !`,${roles},`.includes(`,${name},`)) roles = roles ? `${roles},${name}` : name
      }
    }
    if (flags === 0 && roles === '') return NO_MARKS
    const key = `${flags}:${roles}`
    let marks = shared.get(key)
    if (!marks) {
      marks = Object.freeze({ flags, scopeRoles: roles })
      if (shared.size < SHARED_MARKS_LIMIT) shared.set(key, marks)
    }
    return marks
  }
}

/** Shared marks kept at most (role names come from records: anyone may write many). */
const SHARED_MARKS_LIMIT = 20_000

/** Most records: nothing for the detector (one shared object, read only). */
const NO_MARKS: DetectorMarks = Object.freeze({ flags: 0, scopeRoles: '' })

const LEARN_FROM = /^(CreateFunction|UpdateFunctionConfiguration)/i

/**
 * The function execution role a record teaches (as the detector learns it: CreateFunction and
 * UpdateFunctionConfiguration with a role, and Lambda's own AssumeRole), lower-cased, if any.
 */
export function learnedRole(record: Rec): string | undefined {
  const name = record.eventName
  if (typeof name !== 'string') return undefined
  if (record.errorCode !== undefined && record.errorCode !== null && record.errorCode !== '') return undefined
  let role: unknown
  const request = record.requestParameters as Rec | undefined
  if (LEARN_FROM.test(name) && record.eventSource === 'lambda.amazonaws.com') {
    role = request?.role ?? (record.responseElements as Rec | undefined)?.role
  } else if (
    name === 'AssumeRole' &&
    (record.userIdentity as Rec | undefined)?.invokedBy === 'lambda.amazonaws.com'
  ) {
    role = request?.roleArn
  }
  return typeof role === 'string' ? roleNameOf(role) : undefined
}

/**
 * The detector of a run, fed at the merge: events in time order, each once. Marked rows are
 * parsed and evaluated; function roles (given, then learnt) decide which scoped rows matter.
 */
export class MergeDetector {
  private readonly detector: Detector | undefined
  private readonly roles = new Set<string>()
  /** wants' answers for the scoped rows met, by their roles; cleared when a role is learnt. */
  private readonly scoped = new Map<string, boolean>()

  constructor(pack: RulePack, options: { awsIpRanges?: AwsIpRanges; functionRoles?: string[] }) {
    for (const r of options.functionRoles ?? []) {
      const name = roleNameOf(r)
      if (name) this.roles.add(name)
    }
    this.detector = pack.detectorRules.length > 0 ? createDetector(pack.detectorRules, options) : undefined
  }

  /** Whether a row with these marks must be evaluated. */
  wants(flags: number, scopeRoles: string): boolean {
    if (!this.detector) return false
    if (flags & (DETECTOR_LEARN | DETECTOR_ANY)) return true
    if (!scopeRoles) return false
    let yes = this.scoped.get(scopeRoles)
    if (yes === undefined) {
      // Looked for in the list rather than split from it: IAM allows a comma in a role name.
      const list = `,${scopeRoles},`
      yes = false
      for (const r of this.roles)
        if (list.includes(`,${r},`)) {
          yes = true
          break
        }
      if (this.scoped.size < SHARED_MARKS_LIMIT) this.scoped.set(scopeRoles, yes)
    }
    return yes
  }

  evaluate(record: Rec): EventFinding[] {
    const learnt = learnedRole(record)
    if (learnt && !this.roles.has(learnt)) {
      this.roles.add(learnt)
      this.scoped.clear()
    }
    return this.detector ? toEventFindings(this.detector.evaluate(record)) : []
  }
}

export function toEventFindings(
  list: { rule: string; title: string; level: string; tags: string[] }[],
): EventFinding[] {
  return list.map((f) => ({
    rule: f.rule,
    title: f.title,
    level: f.level as EventFinding['level'],
    tags: f.tags,
  }))
}

/** Stateless findings for one raw record. */
export function statelessFindings(pack: RulePack, record: Rec): EventFinding[] {
  return toEventFindings(evaluate(pack.all, record))
}

const IP_RANGES_ACTIONS = [
  "download AWS's published ranges (`curl -o ip-ranges.json https://ip-ranges.amazonaws.com/ip-ranges.json`) and pass that file: --aws-ip-ranges ip-ranges.json",
  'or leave --aws-ip-ranges out: only the rules about calls from outside AWS address ranges stay inactive',
]

/** AWS's ip-ranges.json from `path` (`--aws-ip-ranges`); a file that is missing or not that document is a usage error. */
export async function readAwsIpRanges(path: string): Promise<AwsIpRanges> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder, not a file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : (err as Error).message
    throw new UsageError(`unable to read --aws-ip-ranges ${escapeTerminal(path)}: ${why}`, {
      cause: err,
      actions: IP_RANGES_ACTIONS,
    })
  }
  try {
    const doc = JSON.parse(text) as AwsIpRanges
    if (
      !doc ||
      typeof doc !== 'object' ||
      (!Array.isArray(doc.prefixes) && !Array.isArray(doc.ipv6_prefixes))
    ) {
      throw new Error('no "prefixes" array')
    }
    return doc
  } catch (err) {
    throw new UsageError(
      `unable to read --aws-ip-ranges ${escapeTerminal(path)}: it is not AWS's ip-ranges.json (${(err as Error).message})`,
      { cause: err, actions: IP_RANGES_ACTIONS },
    )
  }
}
