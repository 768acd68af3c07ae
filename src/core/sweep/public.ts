import { statementsOf } from '../permissions.js'
import { isPublicStatement } from '../snapshot/exposure.js'
import type { MatchReason } from './indicators.js'

/**
 * Why a function is public: URLs with AuthType NONE, and resource-policy statements the snapshot's
 * exposure rules call public (`*` or another account, not narrowed by a source condition).
 */
export function publicReasons(
  urls: { url: string; authType: string; arn: string }[],
  policyText: string | undefined,
  ownAccount: string,
): MatchReason[] {
  const reasons: MatchReason[] = []
  for (const u of urls) {
    if (u.authType === 'NONE') {
      reasons.push({ indicator: 'public', detail: `function URL ${u.url} has AuthType NONE` })
    }
  }
  for (const s of statementsOf(policyText)) {
    if (isPublicStatement(s, ownAccount)) {
      reasons.push({
        indicator: 'public',
        detail: `resource policy statement ${s.Sid ?? '(no Sid)'} allows ${JSON.stringify(s.Principal)}`,
      })
    }
  }
  return reasons
}
