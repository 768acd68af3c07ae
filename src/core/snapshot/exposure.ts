/**
 * Public exposure of a Lambda resource-policy statement (DESIGN §3): an Allow for `*` or for
 * another account, not narrowed by aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID.
 * (Written by the containment work; the snapshot work owns this file and may extend it.)
 */

const NARROWING_KEYS = new Set(['aws:sourceaccount', 'aws:sourcearn', 'aws:principalorgid'])
// Operators that only pass when the key is present and matches: `…IfExists` and negated
// operators let a request without the key through, so they narrow nothing.
const NARROWING_OPERATORS = new Set(['stringequals', 'stringlike', 'arnequals', 'arnlike'])

function asList(v: unknown): unknown[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]
}

/** The account a statement's Resource (the function ARN) belongs to. */
function ownAccount(statement: Record<string, unknown>): string | undefined {
  for (const r of asList(statement.Resource)) {
    const m = typeof r === 'string' ? r.match(/^arn:aws[a-z-]*:lambda:[^:]*:(\d{12}):/) : null
    if (m) return m[1]
  }
  return undefined
}

/** 'any' for `*`, the account id for an account or IAM principal, 'service' for AWS services. */
function principalKinds(principal: unknown): string[] {
  const out: string[] = []
  const classify = (p: unknown) => {
    if (typeof p !== 'string') return
    if (p === '*') out.push('any')
    else if (/^\d{12}$/.test(p)) out.push(p)
    else {
      const m = p.match(/^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}|\*):/)
      if (m) out.push(m[1] === '*' ? 'any' : m[1]!)
      else if (/\.amazonaws\.com(\.cn)?$/.test(p)) out.push('service')
      else out.push('unknown')
    }
  }
  if (typeof principal === 'string') classify(principal)
  else if (principal && typeof principal === 'object') {
    for (const [kind, value] of Object.entries(principal as Record<string, unknown>)) {
      for (const v of asList(value)) {
        if (kind === 'Service') out.push('service')
        else classify(v)
      }
    }
  }
  return out
}

/** A condition value that pins something: not empty, not a bare wildcard, no wildcard account. */
function pins(key: string, value: unknown): boolean {
  return asList(value).every((v) => {
    if (typeof v !== 'string' || v === '' || v === '*') return false
    if (key === 'aws:sourcearn') {
      const account = v.split(':')[4]
      return account !== undefined && account !== '' && !account.includes('*') && !account.includes('?')
    }
    return !v.includes('*') && !v.includes('?')
  })
}

function narrowed(statement: Record<string, unknown>): boolean {
  const cond = statement.Condition
  if (!cond || typeof cond !== 'object') return false
  for (const [op, block] of Object.entries(cond as Record<string, unknown>)) {
    if (!NARROWING_OPERATORS.has(op.toLowerCase()) || !block || typeof block !== 'object') continue
    for (const [k, v] of Object.entries(block as Record<string, unknown>)) {
      const key = k.toLowerCase()
      if (NARROWING_KEYS.has(key) && pins(key, v)) return true
    }
  }
  return false
}

/**
 * True when a resource-policy statement lets anyone, or another account, invoke or change the
 * function: an Allow whose principal is `*` (or `{AWS: "*"}`) or an account other than the
 * function's own, with no aws:SourceAccount / aws:SourceArn / aws:PrincipalOrgID condition that
 * pins it. Service principals (apigateway.amazonaws.com) are not public by this rule.
 */
export function isPublicStatement(statement: unknown): boolean {
  if (!statement || typeof statement !== 'object') return false
  const s = statement as Record<string, unknown>
  if (s.Effect !== 'Allow') return false
  const own = ownAccount(s)
  const kinds = principalKinds(s.Principal)
  const open = kinds.some((k) => k === 'any' || k === 'unknown' || (/^\d{12}$/.test(k) && k !== own))
  return open && !narrowed(s)
}
