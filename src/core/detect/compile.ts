import path from 'node:path'
import { type ConditionNode, expandPattern, parseCondition } from './condition.js'
import { compileFieldPath, someLeaf } from './fields.js'
import { policyGrant } from './policy.js'
import { refuse } from './refusal.js'
import {
  describeIssues,
  type FirExtension,
  parseDuration,
  ruleSchemas,
  type SigmaLevel,
  type SigmaRuleDocument,
} from './schema.js'
import { anchorParts, compileParts, parseSigmaString } from './sigma-string.js'
import { compileFieldItem, type NameConstraint, type RecordTest } from './values.js'

/** A Sigma rule ready to run: metadata plus its precompiled matcher. */
export interface CompiledRule {
  /** The rule's `id` (a UUID), else its `name`, else the file name. */
  id: string
  title: string
  /** Sigma level; `medium` when the rule gives none. */
  level: SigmaLevel
  tags: string[]
  status?: string
  description?: string
  author?: string
  references: string[]
  falsepositives: string[]
  /** The file the rule came from. */
  file: string
  /** fir's extension block (see schema.ts): scope, context and burst. */
  fir?: FirExtension
  /** Burst window in milliseconds when `fir.burst` is set. */
  burstWindowMs?: number
  /** The rule's `fir-examples` block as written (run by the tests). */
  examples?: unknown
  /**
   * The Sigma detection on a raw CloudTrail record, with fir's stateless `policy` check when the
   * rule has one (scope, context and burst need a detector).
   */
  matches: RecordTest
  /** What the detection requires of eventName (lower-cased), used to skip rules; absent = any. */
  eventNames?: NameConstraint
  /** True when the rule needs a detector (createDetector): fir scope, context or burst. */
  needsDetector: boolean
}

/**
 * Compiles a parsed rule document; throws RuleRefusal with the reason it cannot be used.
 * `validated`: the document is one the build already checked against the schemas (fir's own
 * rules, by the SHA-256 of their text): it is not checked again (nor zod loaded for it).
 */
export function compileRuleDocument(
  doc: unknown,
  file: string,
  options: { validated?: boolean } = {},
): CompiledRule {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) refuse('the file is not a YAML map')
  const raw = doc as Record<string, unknown>
  if (raw.type === 'correlation' || 'correlation' in raw) {
    refuse('it is a correlation rule (events counted or joined over time), which fir does not evaluate')
  }
  if ('filter' in raw && !('detection' in raw))
    refuse('it is a Sigma filter (a meta rule), not a detection rule')
  if ('action' in raw)
    refuse(`it uses 'action: ${String(raw.action)}' (rule collections), which fir does not support`)
  const det = raw.detection
  if (det && typeof det === 'object' && !Array.isArray(det)) {
    const d = det as Record<string, unknown>
    if ('timeframe' in d) {
      refuse(
        `it uses 'timeframe: ${String(d.timeframe)}' (a condition over several events in time), which needs a correlation engine fir does not have`,
      )
    }
    if (Array.isArray(d.condition)) refuse('its condition is a list; write one condition string (Sigma v2)')
    if (typeof d.condition === 'string') parseCondition(d.condition)
  }

  let rule: SigmaRuleDocument
  if (options.validated) rule = raw as SigmaRuleDocument
  else {
    const parsed = ruleSchemas().sigmaRule.safeParse(raw)
    if (!parsed.success) refuse(`it does not follow the Sigma rule schema: ${describeIssues(parsed.error)}`)
    rule = parsed.data
  }

  const product = rule.logsource.product?.toLowerCase()
  const service = rule.logsource.service?.toLowerCase()
  if (product !== 'aws' || (service !== undefined && service !== 'cloudtrail')) {
    const described = Object.entries(rule.logsource)
      .map(([k, v]) => `${k} '${String(v)}'`)
      .join(', ')
    refuse(`its logsource is ${described || 'empty'}; fir matches AWS CloudTrail records only`)
  }

  const { condition, ...searches } = rule.detection
  const selections = new Map<string, Selection>()
  for (const [name, body] of Object.entries(searches)) selections.set(name, compileSelection(name, body))
  const tree = parseCondition(condition)
  const names = [...selections.keys()]
  const detection = compileNode(tree, selections, names, condition)
  const eventNames = constraintOf(tree, selections, names)

  let fir: FirExtension | undefined
  let burstWindowMs: number | undefined
  if (raw.fir !== undefined) {
    if (options.validated) fir = raw.fir as FirExtension
    else {
      const ext = ruleSchemas().firExtension.safeParse(raw.fir)
      if (!ext.success) refuse(`its 'fir' extension block is invalid: ${describeIssues(ext.error)}`)
      fir = ext.data
    }
    if (fir.burst) burstWindowMs = parseDuration(fir.burst.window)
  }
  const matches = fir?.policy ? withPolicyCheck(detection, fir.policy) : detection

  const id = rule.id ?? rule.name ?? path.basename(file).replace(/\.ya?ml$/i, '')
  return {
    id,
    title: rule.title,
    level: rule.level ?? 'medium',
    tags: rule.tags ?? [],
    status: rule.status,
    description: rule.description,
    author: rule.author,
    references: rule.references ?? [],
    falsepositives: rule.falsepositives ?? [],
    file,
    fir,
    burstWindowMs,
    examples: raw['fir-examples'],
    matches,
    eventNames,
    needsDetector: Boolean(fir && (fir.scope || fir.context || fir.burst)),
  }
}

/**
 * The detection, narrowed by what the policy document in `policy.document` allows (policy.ts); a
 * record whose field holds no document fir can read is left to the detection alone.
 */
function withPolicyCheck(detection: RecordTest, policy: NonNullable<FirExtension['policy']>): RecordTest {
  const document = compileFieldPath(policy.document)
  const events = new Set(policy.events ?? [])
  const eventName = compileFieldPath('eventName')
  return (record) => {
    // In the events named, a document fir reads decides alone (widening the detection too: its
    // text match misses a document spelt with JSON escapes).
    if (events.size > 0 && events.has(String(eventName(record)))) {
      const grant = policyGrant(document(record))
      return grant === undefined ? detection(record) : grant === policy.allows
    }
    if (!detection(record)) return false
    const grant = policyGrant(document(record))
    return grant === undefined || grant === policy.allows
  }
}

interface Selection {
  test: RecordTest
  name?: NameConstraint
}

function compileSelection(name: string, body: unknown): Selection {
  if (Array.isArray(body)) {
    if (body.length === 0) refuse(`the search identifier '${name}' is an empty list`)
    const items = body.map((item) => {
      if (item !== null && typeof item === 'object') return compileMap(name, item as Record<string, unknown>)
      return { test: compileKeyword(name, item), name: undefined }
    })
    const tests = items.map((i) => i.test)
    const constraints = items.map((i) => i.name)
    return {
      test: tests.length === 1 ? tests[0]! : (r) => tests.some((t) => t(r)),
      name: constraints.every((c) => c !== undefined) ? union(constraints as NameConstraint[]) : undefined,
    }
  }
  return compileMap(name, body as Record<string, unknown>)
}

function compileMap(name: string, map: Record<string, unknown>): Selection {
  const entries = Object.entries(map)
  if (entries.length === 0) refuse(`the search identifier '${name}' is an empty map`)
  const tests: RecordTest[] = []
  let constraint: NameConstraint | undefined
  for (const [key, value] of entries) {
    const item = compileFieldItem(key, value)
    tests.push(item.test)
    constraint ??= item.name
  }
  const test: RecordTest =
    tests.length === 1
      ? tests[0]!
      : (r) => {
          for (const t of tests) if (!t(r)) return false
          return true
        }
  return { test, name: constraint }
}

/** An unnamed value (keyword): found anywhere in the record, as a case-insensitive substring. */
function compileKeyword(name: string, value: unknown): RecordTest {
  if (typeof value !== 'string' && typeof value !== 'number') {
    refuse(`the search identifier '${name}' has a keyword that is not a string or number`)
  }
  const test = compileParts(anchorParts(parseSigmaString(String(value)), 'contains'), false)
  return (record) => someLeaf(record, (leaf) => test(typeof leaf === 'string' ? leaf : String(leaf)))
}

function resolveOf(node: ConditionNode & { kind: 'of' }, names: string[], condition: string): string[] {
  const matched = expandPattern(node.pattern, names)
  if (matched.length === 0) {
    refuse(
      `the condition '${condition}' refers to '${node.pattern ?? 'them'}', which matches no search identifier`,
    )
  }
  return matched
}

function compileNode(
  node: ConditionNode,
  selections: Map<string, Selection>,
  names: string[],
  condition: string,
): RecordTest {
  switch (node.kind) {
    case 'id': {
      const sel = selections.get(node.name)
      if (!sel)
        refuse(
          `the condition '${condition}' names '${node.name}', which is not a search identifier of the rule`,
        )
      return sel.test
    }
    case 'not': {
      const inner = compileNode(node.item, selections, names, condition)
      return (r) => !inner(r)
    }
    case 'and':
    case 'or': {
      const tests = node.items.map((n) => compileNode(n, selections, names, condition))
      return joinTests(tests, node.kind)
    }
    case 'of': {
      const tests = resolveOf(node, names, condition).map((n) => selections.get(n)!.test)
      return joinTests(tests, node.quantifier === 'all' ? 'and' : 'or')
    }
  }
}

function joinTests(tests: RecordTest[], kind: 'and' | 'or'): RecordTest {
  if (tests.length === 1) return tests[0]!
  if (kind === 'and') {
    return (r) => {
      for (const t of tests) if (!t(r)) return false
      return true
    }
  }
  return (r) => {
    for (const t of tests) if (t(r)) return true
    return false
  }
}

function union(list: NameConstraint[]): NameConstraint {
  return { exact: list.flatMap((c) => c.exact), prefixes: list.flatMap((c) => c.prefixes) }
}

/** What any matching record must have as eventName, when the condition makes that certain. */
function constraintOf(
  node: ConditionNode,
  selections: Map<string, Selection>,
  names: string[],
): NameConstraint | undefined {
  const all = (items: Array<NameConstraint | undefined>) =>
    items.every((c) => c !== undefined) ? union(items as NameConstraint[]) : undefined
  const any = (items: Array<NameConstraint | undefined>) => {
    const known = items.filter((c): c is NameConstraint => c !== undefined)
    if (known.length === 0) return undefined
    // Any one required constraint is enough; prefer the narrowest.
    return known.sort((a, b) => a.exact.length + a.prefixes.length - (b.exact.length + b.prefixes.length))[0]
  }
  switch (node.kind) {
    case 'id':
      return selections.get(node.name)?.name
    case 'not':
      return undefined
    case 'and':
      return any(node.items.map((n) => constraintOf(n, selections, names)))
    case 'or':
      return all(node.items.map((n) => constraintOf(n, selections, names)))
    case 'of': {
      const items = expandPattern(node.pattern, names).map((n) => selections.get(n)?.name)
      return node.quantifier === 'all' ? any(items) : all(items)
    }
  }
}
