import { actionMatches, asList, type PolicyStatement, statementsOf } from '../permissions.js'
import type { FindingLevel, RiskyPermission } from './types.js'

/**
 * The permissions that turn a stolen Lambda role session into more: each rule is an action (or a
 * wildcard, matched as a literal pattern), whether it only counts on every resource, and how bad it
 * is. Conditions are not evaluated (the finding says when a statement has one).
 */
interface RiskRule {
  action: string
  /** Only when the statement's Resource is `*` (or the service's whole ARN space). */
  anyResource: boolean
  level: FindingLevel
  why: string
}

export const RISK_RULES: RiskRule[] = [
  {
    action: '*',
    anyResource: true,
    level: 'critical',
    why: 'every action on every resource (administrator)',
  },
  { action: 'iam:*', anyResource: true, level: 'critical', why: 'all of IAM: create users, keys and roles' },
  {
    action: 'iam:PassRole',
    anyResource: false,
    level: 'high',
    why: 'hand a role to a new function, instance or task and act as it',
  },
  { action: 'sts:AssumeRole', anyResource: true, level: 'high', why: 'assume any role that trusts this one' },
  {
    action: 'secretsmanager:GetSecretValue',
    anyResource: true,
    level: 'high',
    why: 'read every secret in the account',
  },
  {
    action: 'lambda:UpdateFunctionCode',
    anyResource: true,
    level: 'high',
    why: 'replace the code of any function (persistence, lateral movement)',
  },
  { action: 's3:*', anyResource: true, level: 'high', why: 'read, write and delete every bucket' },
]

const S3_ALL = /^arn:aws[a-z-]*:s3:::\*$/

function wildcardResource(statement: PolicyStatement, action: string): boolean {
  if (statement.NotResource !== undefined) return true
  return asList(statement.Resource).some((r) => r === '*' || (action.startsWith('s3:') && S3_ALL.test(r)))
}

/**
 * Does the statement grant `ruleAction`? A rule action with a wildcard (`iam:*`, `*`) is matched
 * against the statement's patterns as a literal, so `iam:Get*` does not count as `iam:*`; a
 * NotAction statement grants whatever it does not list.
 */
function grantsRule(statement: PolicyStatement, ruleAction: string): boolean {
  if (statement.NotAction !== undefined) {
    // Granted unless an excluded pattern overlaps the rule (NotAction iam:* does not grant `*`).
    return !asList(statement.NotAction).some(
      (p) => actionMatches(p, ruleAction) || actionMatches(ruleAction, p),
    )
  }
  return asList(statement.Action).some((p) => actionMatches(p, ruleAction))
}

/** A policy document and where it came from. */
export interface PolicySource {
  /** `inline:<name>` or the managed policy ARN. */
  policy: string
  /** The document text (URL-encoded or not) or object. */
  document: string | object | undefined
}

/**
 * Every risky permission the role's identity policies grant, one entry per (statement, rule), each
 * with the granting statement verbatim. The most specific rule wins per statement: a statement
 * granting `*` on `*` is reported once as `*`, not also as each action it implies.
 */
export function riskyPermissions(sources: PolicySource[]): RiskyPermission[] {
  const out: RiskyPermission[] = []
  for (const src of sources) {
    const statements = statementsOf(src.document as string | undefined)
    for (const st of statements) {
      if (st.Effect !== 'Allow') continue
      const matched = RISK_RULES.filter(
        (r) => grantsRule(st, r.action) && (!r.anyResource || wildcardResource(st, r.action)),
      )
      if (matched.length === 0) continue
      // `*` implies every other rule and `iam:*` implies iam:PassRole: keep the broadest only.
      const broadest = matched.find((r) => r.action === '*') ?? undefined
      const picked = broadest
        ? [broadest]
        : matched.filter((r) => !(r.action === 'iam:PassRole' && matched.some((m) => m.action === 'iam:*')))
      for (const rule of picked) {
        out.push({
          action: rule.action,
          resource:
            asList(st.NotResource !== undefined ? undefined : st.Resource).join(', ') || 'NotResource',
          policy: src.policy,
          statement: st as unknown as Record<string, unknown>,
          level:
            rule.action === 'iam:PassRole' && wildcardResource(st, rule.action) ? 'critical' : rule.level,
          conditioned: st.Condition !== undefined,
        })
      }
    }
  }
  return out
}

/** Why a rule is risky, for findings. */
export function riskReason(action: string): string {
  return RISK_RULES.find((r) => r.action === action)?.why ?? 'risky permission'
}
