/**
 * fir's detection engine (DESIGN §5): Sigma rules matched against raw CloudTrail records, with
 * their original field names. The timeline calls this API; nothing here talks to AWS.
 *
 * - `loadRuleDir(dir)`: every rule under a folder, compiled once; unusable rules come back in
 *   `refused` with the reason (aggregations, `near`, `timeframe`, correlations, `|expand`
 *   placeholders, schema errors, other log sources).
 * - `loadBuiltinRules()`: fir's own pack in the repo's `rules/` folder.
 * - `evaluate(rules, record)`: stateless rules only.
 * - `createDetector(rules, options)`: stateless rules plus fir's extensions (function-role scope,
 *   AWS ip-ranges context, bursts over a window).
 */
export type { CompiledRule } from './compile.js'
export { compileRuleDocument } from './compile.js'
export type { Detector, DetectorOptions, Finding } from './detector.js'
export { cachedRoleNameOf, createDetector, evaluate, RuleIndex, roleNameOf } from './detector.js'
export type { AwsIpRanges } from './ip.js'
export type { LoadedRules, RefusedRule } from './load.js'
export { builtinRulesDir, loadBuiltinRules, loadRuleDir, parseRuleText, ruleFilesIn } from './load.js'
export { RuleRefusal } from './refusal.js'
export type { FirExtension, SigmaLevel } from './schema.js'
