import type { RelatedFacts } from './process.js'
import type { TimelineTarget } from './related.js'
import type { EventFinding } from './types.js'

/**
 * The timeline's own checks, across events of a function-scoped timeline (the Sigma pack sees one
 * record at a time; these need several):
 * - a call made with role credentials that an AssumeRole not made by Lambda issued (linked by the
 *   access key in the AssumeRole response);
 * - a call made with a session of the execution role whose name is not the function's (Lambda
 *   names the session after the function; another name means someone else assumed the role);
 * - a call made by another identity (an IAM user's key, another role) from an address where the
 *   execution role's credentials were used outside Lambda: whoever stole the role's credentials
 *   holds that identity too (a leaked deploy key that changed the code, say), and revoking the
 *   role's sessions leaves it working.
 * fir's own calls take no part.
 */
export const CORRELATION_RULES = {
  sessionFromForeignAssumeRole: {
    rule: 'fir-timeline-session-from-foreign-assume-role',
    title: 'Execution-role session issued by an AssumeRole not made by Lambda',
    level: 'high',
    tags: ['attack.privilege_escalation', 'attack.t1078.004'],
  },
  sessionNotNamedAfterFunction: {
    rule: 'fir-timeline-session-not-named-after-function',
    title: 'Execution-role session not named after the function (not issued by Lambda)',
    level: 'medium',
    tags: ['attack.defense_evasion', 'attack.t1078.004'],
  },
  callFromStolenCredentialsAddress: {
    rule: 'fir-timeline-call-from-stolen-credentials-address',
    title: 'Another identity used from an address that used the execution role outside Lambda',
    level: 'high',
    tags: ['attack.initial_access', 'attack.t1078', 'attack.t1078.004'],
  },
} as const satisfies Record<string, EventFinding>

/**
 * A call with the execution role's credentials from somewhere other than Lambda: the test of the
 * rule "Function Role Credentials Used Outside Lambda" (rules/lambda_role_session_outside_lambda.yml)
 * on the facts kept for correlation. Lambda's runtime SDKs add exec-env/AWS_Lambda_ to the user
 * agent; the Lambda service and services acting for the session are left out.
 */
function roleUsedOutsideLambda(f: RelatedFacts): boolean {
  if (!f.reasons.includes('role-credentials') || f.invokedBy) return false
  const ip = f.sourceIp
  if (!ip || ip === 'AWS Internal' || ip.endsWith('.amazonaws.com')) return false
  const agent = f.userAgent ?? ''
  return (
    !agent.includes('exec-env/AWS_Lambda_') &&
    !agent.includes('awslambda-worker') &&
    agent !== 'lambda.amazonaws.com'
  )
}

function copy(f: EventFinding): EventFinding {
  return { rule: f.rule, title: f.title, level: f.level, tags: [...f.tags] }
}

export function correlate(all: RelatedFacts[], target: TimelineTarget): Map<string, EventFinding[]> {
  // fir's own calls (their request ids are in the journal) are neither flagged nor evidence: the
  // responder's address, where fir used a role's credentials, is not where they were stolen.
  const facts = all.filter((f) => !f.reasons.includes('fir'))
  const out = new Map<string, EventFinding[]>()
  const add = (id: string, f: EventFinding) => {
    const list = out.get(id) ?? []
    if (!list.some((x) => x.rule === f.rule)) list.push(copy(f))
    out.set(id, list)
  }
  const foreignKeys = new Set<string>()
  for (const f of facts) {
    if (
      f.reasons.includes('assume-role') &&
      !f.error &&
      f.invokedBy !== 'lambda.amazonaws.com' &&
      f.issuedKey
    ) {
      foreignKeys.add(f.issuedKey)
    }
  }
  for (const f of facts) {
    if (!f.reasons.includes('role-credentials') || f.invokedBy) continue
    if (f.accessKeyId && foreignKeys.has(f.accessKeyId))
      add(f.id, CORRELATION_RULES.sessionFromForeignAssumeRole)
    else if (f.sessionName && f.sessionName !== target.functionName)
      add(f.id, CORRELATION_RULES.sessionNotNamedAfterFunction)
  }
  const stolenUseAddresses = new Set<string>()
  for (const f of facts) if (roleUsedOutsideLambda(f)) stolenUseAddresses.add(f.sourceIp!)
  if (stolenUseAddresses.size === 0) return out
  for (const f of facts) {
    if (
      f.sourceIp &&
      stolenUseAddresses.has(f.sourceIp) &&
      !f.reasons.includes('role-credentials') &&
      !f.invokedBy &&
      f.actorType !== 'AWSService'
    )
      add(f.id, CORRELATION_RULES.callFromStolenCredentialsAddress)
  }
  return out
}
