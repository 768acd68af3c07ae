import { statementsOf } from '../permissions.js'
import { classifyStatement, type ExposureScope } from '../snapshot/exposure.js'
import type { MatchReason } from './indicators.js'

/**
 * Why a function is public: URLs with AuthType NONE, and resource-policy statements the snapshot's
 * exposure rules call public (`*` or another account, not narrowed to this account or its
 * organisation by a source or organisation condition).
 */
export function publicReasons(
  urls: { url: string; authType: string; arn: string }[],
  policyText: string | undefined,
  scope: ExposureScope & { account: string },
): MatchReason[] {
  const reasons: MatchReason[] = []
  for (const u of urls) {
    if (u.authType === 'NONE') {
      reasons.push({ indicator: 'public', detail: `function URL ${u.url} has AuthType NONE` })
    }
  }
  for (const s of statementsOf(policyText)) {
    const c = classifyStatement(s, scope)
    if (c.exposure === 'public') {
      reasons.push({
        indicator: 'public',
        detail: `resource policy statement ${s.Sid ?? '(no Sid)'} allows ${JSON.stringify(s.Principal)}${c.condition ? `, not narrowed to this account: ${c.condition}` : ''}`,
      })
    }
  }
  return reasons
}
