import { readFile } from 'node:fs/promises'
import { UsageError } from '../../errors.js'
import {
  type AwsIpRanges,
  type CompiledRule,
  createDetector,
  evaluate,
  loadBuiltinRules,
  loadRuleDir,
  type RefusedRule,
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
  /** Whether the detector must see this record (see isDetectorCandidate). */
  isCandidate(record: Rec): boolean
}

export async function loadRulePack(ruleDirs: string[] = []): Promise<RulePack> {
  const all = await loadBuiltinRules()
  const refused: RefusedRule[] = []
  const seen = new Set(all.map((r) => r.id))
  for (const dir of ruleDirs) {
    const loaded = await loadRuleDir(dir)
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
  const pack: RulePack = {
    all,
    detectorRules: all.filter((r) => r.needsDetector),
    refused,
    sources: ['builtin', ...ruleDirs],
    statelessFindings: (record) => statelessFindings(pack, record),
    isCandidate: (record) => isDetectorCandidate(pack, record),
  }
  return pack
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

const LEARN_NAME = /^(CreateFunction|UpdateFunctionConfiguration)/

/**
 * Whether the detector must see this record: a detector rule's Sigma detection matches it, or it
 * teaches the detector a function's execution role (CreateFunction, UpdateFunctionConfiguration,
 * Lambda's own AssumeRole).
 */
export function isDetectorCandidate(pack: RulePack, record: Rec): boolean {
  if (pack.detectorRules.length === 0) return false
  const name = record.eventName
  if (typeof name === 'string') {
    if (LEARN_NAME.test(name) && record.eventSource === 'lambda.amazonaws.com') return true
    if (name === 'AssumeRole') {
      const identity = record.userIdentity as Rec | undefined
      if (identity && identity.invokedBy === 'lambda.amazonaws.com') return true
    }
  }
  for (const rule of pack.detectorRules) if (rule.matches(record)) return true
  return false
}

export async function readAwsIpRanges(path: string): Promise<AwsIpRanges> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new UsageError(`unable to read --aws-ip-ranges ${path}: ${(err as Error).message}`, {
      cause: err,
      actions: ['download https://ip-ranges.amazonaws.com/ip-ranges.json and pass its path'],
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
      `unable to read --aws-ip-ranges ${path}: it is not AWS's ip-ranges.json (${(err as Error).message})`,
      {
        cause: err,
        actions: ['download https://ip-ranges.amazonaws.com/ip-ranges.json and pass its path'],
      },
    )
  }
}

/**
 * Runs the detector rules over candidate records (deduplicated by id, in time order) and returns
 * the findings per event id.
 */
export function runDetector(
  pack: RulePack,
  candidates: { t: number; id: string; record: Rec }[],
  options: { awsIpRanges?: AwsIpRanges; functionRoles?: string[] },
): Map<string, EventFinding[]> {
  const out = new Map<string, EventFinding[]>()
  if (pack.detectorRules.length === 0 || candidates.length === 0) return out
  const detector = createDetector(pack.detectorRules, options)
  const seen = new Set<string>()
  const sorted = candidates.filter((c) => {
    if (seen.has(c.id)) return false
    seen.add(c.id)
    return true
  })
  sorted.sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (const c of sorted) {
    const found = detector.evaluate(c.record)
    if (found.length > 0) out.set(c.id, toEventFindings(found))
  }
  // Findings held back to the end of the stream name the event they belong to.
  for (const f of detector.flush() as (Parameters<typeof toEventFindings>[0][number] & {
    eventId?: string
  })[]) {
    if (!f.eventId) continue
    out.set(f.eventId, [...(out.get(f.eventId) ?? []), ...toEventFindings([f])])
  }
  return out
}
