import type { FirContext } from '../context.js'
import { assertSameAccount } from '../identity.js'
import { runSteps } from '../steps/runner.js'
import type { StepResult } from '../steps/step.js'
import { REVOKE_LIMITS, type RevokeParams, revokeSessionsStep } from './revoke-policy.js'

/**
 * credentials.revoke-sessions — the same `fir-revoke-<case id>` policy as containment.sessions,
 * for a role named directly (`fir creds revoke-sessions --role NAME`). Refuses service-linked
 * roles. Cannot revoke sessions chained into other roles, nor long-term keys (the result says so).
 * IAM: iam:GetRole, iam:GetRolePolicy, iam:PutRolePolicy, iam:DeleteRolePolicy (undo).
 * Undo: deletes the policy — only when `sessions` is named in `fir restore --actions`. A role
 * deleted since took the policy with it: named, and undone. A role taken from the case's
 * snapshots (`recorded`, a playbook's `roles`) deleted before the change is skipped, named.
 */
export const revokeSessionsCredStep = revokeSessionsStep<RevokeParams>({
  id: 'credentials.revoke-sessions',
  title: "Revoke the role's sessions",
  roleOf: (p) => p.role,
  renewOf: (p) => p.renew === true,
  roleMayBeGone: (p) => p.recorded === true,
})

/**
 * The name of a role given by name or by ARN (which names the role after its path:
 * arn:aws:iam::123456789012:role/path/name).
 */
export function roleNameGiven(role: string): string {
  return role.startsWith('arn:') ? (role.split('/').at(-1) ?? role) : role
}

export interface RevokeRoleResult {
  role: string
  dryRun: boolean
  plans: StepResult[]
  results: StepResult[]
  /** What revocation cannot do. */
  limits: string[]
}

/** `fir creds revoke-sessions`: the revocation step for one role, through the runner. */
export async function revokeRoleSessions(
  ctx: FirContext,
  options: {
    role: string
    /** Move an existing revocation's cutoff to now (see RevokeParams.renew). */
    renew?: boolean
    /** The role comes from the case's snapshots, not typed: one deleted since is skipped (RevokeParams.recorded). */
    recorded?: boolean
    dryRun?: boolean
    confirmed?: boolean
    onPlan?: (rows: StepResult[]) => void
  },
): Promise<RevokeRoleResult> {
  const role = roleNameGiven(options.role)
  if (options.role.startsWith('arn:')) await assertSameAccount(ctx.aws, options.role)
  const params: RevokeParams = {
    role,
    ...(options.renew ? { renew: true } : {}),
    ...(options.recorded ? { recorded: true } : {}),
  }
  const run = await runSteps(ctx, [{ step: revokeSessionsCredStep, params }], {
    what: `revoke the sessions of role ${role}`,
    failOnPlanError: true,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.confirmed ? { confirmed: true } : {}),
    ...(options.onPlan ? { onPlan: options.onPlan } : {}),
  })
  return { role, dryRun: run.dryRun, plans: run.plans, results: run.results, limits: REVOKE_LIMITS }
}
