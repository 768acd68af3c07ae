import { statementsOf } from '../permissions.js'
import { classifyStatement, type ExposureScope } from '../snapshot/exposure.js'
import type { MatchReason } from './indicators.js'

/** A resource policy of the function (`qualifier` undefined) or of one of its versions or aliases. */
export interface QualifiedPolicy {
  qualifier?: string
  text: string | undefined
}

/**
 * Why a function is public: URLs with AuthType NONE, and resource-policy statements the snapshot's
 * exposure rules call public (`*` or another account, not narrowed to this account or its
 * organisation by a source or organisation condition). Each version and alias has a policy of its
 * own (a public statement there opens that qualifier's ARN); a statement met in several is named
 * once, where it was first met (the function's own policy comes first).
 */
export function publicReasons(
  urls: { url: string; authType: string; arn: string }[],
  policies: string | undefined | QualifiedPolicy[],
  scope: ExposureScope & { account: string },
): MatchReason[] {
  const reasons: MatchReason[] = []
  for (const u of urls) {
    if (u.authType === 'NONE') {
      reasons.push({ indicator: 'public', detail: `function URL ${u.url} has AuthType NONE` })
    }
  }
  const list: QualifiedPolicy[] = Array.isArray(policies) ? policies : [{ text: policies }]
  const seen = new Set<string>()
  for (const p of list) {
    for (const s of statementsOf(p.text)) {
      const key = JSON.stringify(s)
      if (seen.has(key)) continue
      seen.add(key)
      const c = classifyStatement(s, scope)
      if (c.exposure !== 'public') continue
      const where =
        p.qualifier === undefined
          ? ''
          : ` (${/^\d+$/.test(p.qualifier) ? 'version' : 'alias'} ${p.qualifier})`
      reasons.push({
        indicator: 'public',
        detail: `resource policy statement ${s.Sid ?? '(no Sid)'}${where} allows ${JSON.stringify(s.Principal)}${c.condition ? `, not narrowed to this account: ${c.condition}` : ''}`,
      })
    }
  }
  return reasons
}
