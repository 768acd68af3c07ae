import { revokeSessionsStep } from '../credentials/revoke-policy.js'
import type { FunctionParams } from './function-target.js'

export interface SessionsParams extends FunctionParams {
  role: string
}

/**
 * containment.sessions — puts the inline policy `fir-revoke-<case id>` on the function's execution
 * role: Deny * on * when aws:TokenIssueTime is before now (UTC, from AWS's clock). Credentials
 * stolen from the function stop working within minutes; sessions chained into other roles and
 * long-term keys are not affected. Containing a second function that shares the role moves the
 * cutoff to now (a re-run for the same function is already-applied, and so is any function after
 * `fir creds revoke-sessions` revoked the role in the case: one change, see SAME_CHANGE).
 * IAM: iam:GetRole, iam:GetRolePolicy, iam:PutRolePolicy, iam:DeleteRolePolicy (undo).
 * Undo: deletes the policy — only when `sessions` is named in `fir restore --actions`. A role
 * deleted since took the policy with it: named, and undone. A role deleted before the change (one
 * the case's snapshot recorded before a role swap, or a published version's) has no sessions left
 * to revoke: skipped, named.
 */
export const sessionsStep = revokeSessionsStep<SessionsParams>({
  id: 'containment.sessions',
  title: "Revoke the role's sessions",
  roleOf: (p) => p.role,
  forKey: (p) => p.function,
  roleMayBeGone: true,
})
