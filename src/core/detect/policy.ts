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
