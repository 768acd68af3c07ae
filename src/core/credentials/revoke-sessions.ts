import { type RevokeParams, revokeSessionsStep } from './revoke-policy.js'

/**
 * credentials.revoke-sessions — the same `fir-revoke-<case id>` policy as containment.sessions,
 * for a role named directly (`fir creds revoke-sessions --role NAME`). Refuses service-linked
 * roles. Cannot revoke sessions chained into other roles, nor long-term keys (the result says so).
 * IAM: iam:GetRole, iam:GetRolePolicy, iam:PutRolePolicy, iam:DeleteRolePolicy (undo).
 * Undo: deletes the policy — only when `sessions` is named in `fir restore --actions`.
 */
export const revokeSessionsCredStep = revokeSessionsStep<RevokeParams>({
  id: 'credentials.revoke-sessions',
  title: "Revoke the role's sessions",
  roleOf: (p) => p.role,
})
