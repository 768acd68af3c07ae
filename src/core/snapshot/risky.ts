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
  /**
   * The level when the grant covers every resource (for a `with` rule: when the other action's
   * grant does, since that is what bounds the escalation). Default: `level`.
   */
  levelOnAnyResource?: FindingLevel
  /** Only risky when some statement of the role's policies also grants this action. */
  with?: string
  why: string
}

/** An IAM action that escalates privileges on whatever resource it names: high, critical on `*`. */
const escalation = (action: string, why: string): RiskRule => ({
  action,
  anyResource: false,
  level: 'high',
  levelOnAnyResource: 'critical',
  why,
})

export const RISK_RULES: RiskRule[] = [
  {
    action: '*',
    anyResource: true,
    level: 'critical',
    why: 'every action on every resource (administrator)',
  },
  { action: 'iam:*', anyResource: true, level: 'critical', why: 'all of IAM: create users, keys and roles' },
  escalation('iam:PassRole', 'hand a role to a new function, instance or task and act as it'),
  escalation(
    'iam:CreateAccessKey',
    "create access keys for an IAM user: long-term credentials that outlive the role's sessions",
  ),
  escalation('iam:CreateLoginProfile', 'give an IAM user a console password and sign in as that user'),
  escalation('iam:UpdateLoginProfile', "reset an IAM user's console password and sign in as that user"),
  escalation('iam:PutUserPolicy', 'write an inline policy that grants an IAM user anything'),
  escalation('iam:PutGroupPolicy', 'write an inline policy that grants a group (and its users) anything'),
  escalation('iam:PutRolePolicy', 'write an inline policy that grants a role, this one included, anything'),
  escalation('iam:AttachUserPolicy', 'attach any managed policy (AdministratorAccess) to an IAM user'),
  escalation('iam:AttachGroupPolicy', 'attach any managed policy (AdministratorAccess) to a group'),
  escalation(
    'iam:AttachRolePolicy',
    'attach any managed policy (AdministratorAccess) to a role, this one included',
  ),
  escalation(
    'iam:CreatePolicyVersion',
    'rewrite a customer managed policy as a new default version that grants anything',
  ),
  {
    action: 'iam:SetDefaultPolicyVersion',
    anyResource: false,
    level: 'medium',
    levelOnAnyResource: 'high',
    why: 'make an older, possibly broader, version of a managed policy the one in force',
  },
  escalation(
    'iam:UpdateAssumeRolePolicy',
    "rewrite a role's trust policy so that anyone, another account included, can assume it (a backdoor)",
  ),
  {
    action: 'lambda:CreateFunction',
    anyResource: false,
    with: 'iam:PassRole',
    level: 'high',
    levelOnAnyResource: 'critical',
    why: 'with iam:PassRole: create a function that runs as a role it can pass, and act as that role',
  },
  {
    action: 'lambda:UpdateFunctionConfiguration',
    anyResource: false,
    with: 'iam:PassRole',
    level: 'high',
    levelOnAnyResource: 'critical',
    why: 'with iam:PassRole: switch a function to a role it can pass, and act as that role',
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
 * with the granting statement verbatim. The broadest rule wins per statement: a statement granting
 * `*` on `*` is reported once as `*`, and `iam:*` on `*` once as `iam:*`, not also as each action
 * they imply. A `with` rule counts when any statement of any of the policies grants the other action.
 */
export function riskyPermissions(sources: PolicySource[]): RiskyPermission[] {
  const allows = sources.flatMap((src) =>
    statementsOf(src.document as string | undefined)
      .filter((st) => st.Effect === 'Allow')
      .map((st) => ({ src, st })),
  )
  /** How widely the policies grant an action: on every resource, on some, or not at all. */
  const grantWidth = (action: string): 'any' | 'some' | 'none' => {
    const granting = allows.filter(({ st }) => grantsRule(st, action))
    if (granting.some(({ st }) => wildcardResource(st, action))) return 'any'
    return granting.length > 0 ? 'some' : 'none'
  }
  const out: RiskyPermission[] = []
  for (const { src, st } of allows) {
    const matched = RISK_RULES.filter(
      (r) =>
        grantsRule(st, r.action) &&
        (!r.anyResource || wildcardResource(st, r.action)) &&
        (!r.with || grantWidth(r.with) !== 'none'),
    )
    // A rule another matched rule's pattern covers (`*` covers all, `iam:*` the IAM ones) is implied.
    const picked = matched.filter(
      (r) => !matched.some((m) => m.action !== r.action && actionMatches(m.action, r.action)),
    )
    for (const rule of picked) {
      const wide = rule.with ? grantWidth(rule.with) === 'any' : wildcardResource(st, rule.action)
      out.push({
        action: rule.action,
        resource: asList(st.NotResource !== undefined ? undefined : st.Resource).join(', ') || 'NotResource',
        policy: src.policy,
        statement: st as unknown as Record<string, unknown>,
        level: wide ? (rule.levelOnAnyResource ?? rule.level) : rule.level,
        conditioned: st.Condition !== undefined,
      })
    }
  }
  return out
}

/** Why a rule is risky, for findings. */
export function riskReason(action: string): string {
  return RISK_RULES.find((r) => r.action === action)?.why ?? 'risky permission'
}
