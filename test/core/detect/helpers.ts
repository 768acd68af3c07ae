import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type CompiledRule, parseRuleText } from '../../../src/core/detect/index.js'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
/** Third-party data beside the project (never copied into it): ../shared/data */
export const sharedData = path.resolve(repoRoot, '../shared/data')
export const fixtures = path.join(repoRoot, 'test/fixtures/detect')

/** Compiles a rule from a detection block written as YAML (indented by the caller or not). */
export function ruleFrom(detection: string, extra = ''): CompiledRule {
  const body = detection
    .replace(/^\n+/, '')
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
  const text = `title: test rule\nlogsource:\n  product: aws\n  service: cloudtrail\n${extra}detection:\n${body}\n`
  return parseRuleText(text, 'inline.yml')
}

/** Whether the detection block matches the record. */
export function hit(detection: string, record: unknown): boolean {
  return ruleFrom(detection).matches(record)
}

/** The refusal reason for a detection block (throws if it compiles). */
export function refusal(detection: string, extra = ''): string {
  try {
    ruleFrom(detection, extra)
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('the rule compiled, a refusal was expected')
}
