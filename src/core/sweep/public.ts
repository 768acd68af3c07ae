import { type PolicyStatement, statementsOf } from '../permissions.js'
import type { MatchReason } from './indicators.js'

const NARROWING_KEYS = ['aws:sourceaccount', 'aws:sourcearn', 'aws:principalorgid', 'aws:sourceorgid']

function principals(p: unknown): string[] {
  if (p === '*') return ['*']
  if (!p || typeof p !== 'object') return []
  const out: string[] = []
  for (const v of Object.values(p as Record<string, unknown>)) {
    if (typeof v === 'string') out.push(v)
    else if (Array.isArray(v)) out.push(...v.filter((x): x is string => typeof x === 'string'))
  }
  return out
}

function accountOf(principal: string): string | undefined {
  if (/^\d{12}$/.test(principal)) return principal
  return principal.match(/^arn:aws[a-z-]*:iam::(\d{12}):/)?.[1]
}

function narrowed(s: PolicyStatement): boolean {
  for (const block of Object.values(s.Condition ?? {})) {
    if (!block || typeof block !== 'object') continue
    for (const key of Object.keys(block as Record<string, unknown>)) {
      if (NARROWING_KEYS.includes(key.toLowerCase())) return true
    }
  }
  return false
}

/**
 * A resource-policy statement that lets anyone (`*`) or another account invoke, not narrowed by
 * aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID (DESIGN §3).
 */
export function isOpenStatement(s: PolicyStatement, ownAccount: string): boolean {
  if (s.Effect !== 'Allow') return false
  const ps = principals(s.Principal)
  const open = ps.some((p) => p === '*' || (accountOf(p) !== undefined && accountOf(p) !== ownAccount))
  return open && !narrowed(s)
}

/** Why a function is public: URLs with AuthType NONE and open policy statements. */
export function publicReasons(
  urls: { url: string; authType: string; arn: string }[],
  policyText: string | undefined,
  ownAccount: string,
  isPublic: (s: PolicyStatement, ownAccount: string) => boolean = isOpenStatement,
): MatchReason[] {
  const reasons: MatchReason[] = []
  for (const u of urls) {
    if (u.authType === 'NONE') {
      reasons.push({ indicator: 'public', detail: `function URL ${u.url} has AuthType NONE` })
    }
  }
  for (const s of statementsOf(policyText)) {
    if (isPublic(s, ownAccount)) {
      reasons.push({
        indicator: 'public',
        detail: `resource policy statement ${s.Sid ?? '(no Sid)'} allows ${JSON.stringify(s.Principal)}`,
      })
    }
  }
  return reasons
}
