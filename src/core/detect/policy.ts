/**
 * What an IAM policy document allows, for fir's `policy` rule extension (schema.ts): a Sigma
 * regular expression cannot tell an `Allow` statement from a `Deny` one, so a rule that means "a
 * grant of every action" asks fir to read the document.
 *
 * - `all-actions`: a statement with `"Effect": "Allow"` whose `Action` is `"*"` or lists it.
 * - `some-actions`: `Allow` statements, none of them with `Action` `"*"`.
 * - `nothing`: no `Allow` statement (a policy that only denies, such as a revoke-sessions policy).
 */
export type PolicyGrant = 'all-actions' | 'some-actions' | 'nothing'

/**
 * What the policy document `value` allows, or undefined when it is not one fir can read. The
 * document may be JSON text (CloudTrail's `requestParameters.policyDocument`), that text
 * URL-encoded (as IAM returns documents), or an object (a CloudTrail Lake record, whose nested
 * values fir unwraps). A document without a `Statement` is not read.
 */
export function policyGrant(value: unknown): PolicyGrant | undefined {
  const doc = typeof value === 'string' ? parseDocument(value) : value
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined
  const statements = member(doc, 'statement')
  if (statements === undefined || statements === null) return undefined
  const list = Array.isArray(statements) ? statements : [statements]
  let allows = false
  for (const s of list) {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) return undefined
    const effect = member(s, 'effect')
    if (typeof effect !== 'string' || effect.trim().toLowerCase() !== 'allow') continue
    allows = true
    const action = member(s, 'action')
    if (action === '*' || (Array.isArray(action) && action.includes('*'))) return 'all-actions'
  }
  return allows ? 'some-actions' : 'nothing'
}

/**
 * Whether the policy document `value` (read as policyGrant reads one) denies every action on every
 * resource with no condition, so that no session of a role holding it works at all (a deny-all put
 * over a revoke-sessions policy keeps the revocation whole).
 */
export function deniesEverything(value: unknown): boolean {
  const doc = typeof value === 'string' ? parseDocument(value) : value
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return false
  const statements = member(doc, 'statement')
  const list = Array.isArray(statements) ? statements : [statements]
  const all = (v: unknown) => v === '*' || (Array.isArray(v) && v.includes('*'))
  return list.some((s) => {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) return false
    const effect = member(s, 'effect')
    return (
      typeof effect === 'string' &&
      effect.trim().toLowerCase() === 'deny' &&
      all(member(s, 'action')) &&
      all(member(s, 'resource')) &&
      member(s, 'condition') === undefined
    )
  })
}

function parseDocument(text: string): unknown {
  let json = text.trim()
  if (/^%7B/i.test(json)) {
    try {
      json = decodeURIComponent(json.replace(/\+/g, ' '))
    } catch {
      return undefined
    }
  }
  try {
    return JSON.parse(json)
  } catch {
    return undefined
  }
}

/** A policy element by its lower-case name, in any case (the rules' `|re|i` reads them so too). */
function member(node: object, name: string): unknown {
  const record = node as Record<string, unknown>
  for (const key of Object.keys(record)) if (key.toLowerCase() === name) return record[key]
  return undefined
}
