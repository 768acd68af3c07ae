/**
 * Public exposure of a Lambda function (DESIGN §3): resource-policy statements for `*` or another
 * account not narrowed to the function's own account or organisation by aws:SourceAccount,
 * aws:SourceArn or aws:PrincipalOrgID, and function URLs with AuthType NONE. `isPublicStatement` is
 * shared with containment (which removes exactly the statements it calls public) and the sweep.
 */
import type { AccountOrganisation } from '../identity.js'
import { actionMatches } from '../permissions.js'
import type { ExposureEntry, FindingLevel } from './types.js'

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

/** The AWS service principals a statement names (for the reason text). */
function servicesOf(principal: unknown): string[] {
  const out: string[] = []
  if (typeof principal === 'string' && /\.amazonaws\.com(\.cn)?$/.test(principal)) out.push(principal)
  else if (principal && typeof principal === 'object') {
    for (const [kind, value] of Object.entries(principal as Record<string, unknown>)) {
      for (const v of asList(value)) if (kind === 'Service' && typeof v === 'string') out.push(v)
    }
  }
  return out
}

/**
 * Whose function a statement belongs to: what its source and organisation conditions are
 * compared with. A condition narrows the statement only when it pins the caller to this account
 * or this account's organisation; a fixed value naming anyone else is a grant to them.
 */
export interface ExposureScope {
  /** The function's account; default the account in the statement's Resource ARN. */
  account?: string
  /**
   * The organisation of that account; default unknown, in which case an aws:PrincipalOrgID
   * condition is never taken for the account's own organisation.
   */
  organisation?: AccountOrganisation
}

/**
 * How far one narrowing condition pins the caller, weakest last: to this account (or its
 * organisation); to an organisation fir could not confirm is this account's; to a resource ARN
 * that names no account (an S3 bucket); to another account or organisation. The rank orders the
 * values of one key (ORed); across keys (ANDed) `elsewhere` wins outright (see `narrowing`).
 */
type Pin = { to: 'own' } | { to: 'unconfirmed' | 'no-account' | 'elsewhere'; clause: string }

const PIN_RANK: Record<Pin['to'], number> = { own: 0, unconfirmed: 1, 'no-account': 2, elsewhere: 3 }

const isWild = (v: string) => v.includes('*') || v.includes('?')

/** What one value of a narrowing key pins; undefined when it pins nothing (empty, wildcard). */
function pinOfValue(key: string, v: unknown, own: string | undefined, scope: ExposureScope): Pin | undefined {
  if (typeof v !== 'string' || v === '' || v === '*') return undefined
  const unknownOwn = (what: string): Pin => ({
    to: 'unconfirmed',
    clause: `fir does not know the function's account to compare ${what} with`,
  })
  if (key === 'aws:sourcearn') {
    const account = v.split(':')[4]
    if (account === undefined) return undefined
    if (account === '') {
      return {
        to: 'no-account',
        clause: `aws:SourceArn ${v} names no account (S3 bucket ARNs carry none), so the same name in any account matches; AWS advises adding aws:SourceAccount`,
      }
    }
    if (isWild(account)) return undefined
    if (!own) return unknownOwn(`aws:SourceArn ${v}`)
    return account === own
      ? { to: 'own' }
      : {
          to: 'elsewhere',
          clause: `aws:SourceArn ${v} belongs to another account (${account}), not this one (${own})`,
        }
  }
  if (isWild(v)) return undefined
  if (key === 'aws:sourceaccount') {
    if (!own) return unknownOwn(`aws:SourceAccount ${v}`)
    return v === own
      ? { to: 'own' }
      : { to: 'elsewhere', clause: `aws:SourceAccount ${v} is another account, not this one (${own})` }
  }
  const org = scope.organisation ?? { state: 'unknown', reason: 'not asked' }
  if (org.state === 'member') {
    return v === org.id
      ? { to: 'own' }
      : {
          to: 'elsewhere',
          clause: `aws:PrincipalOrgID ${v} is not this account's organisation (${org.id})`,
        }
  }
  if (org.state === 'none') {
    return {
      to: 'elsewhere',
      clause: `aws:PrincipalOrgID ${v} names an organisation, and this account is in none`,
    }
  }
  return {
    to: 'unconfirmed',
    clause: `fir could not confirm that aws:PrincipalOrgID ${v} is this account's organisation (organizations:DescribeOrganization: ${org.reason}), so it is treated as open to that organisation; confirm with \`aws organizations describe-organization\``,
  }
}

/**
 * What a statement's conditions pin it to, or undefined when nothing pins it. The values of one
 * key are ORed, so its weakest value decides for that key. Keys are ANDed: a key pinned to another
 * account or organisation decides whatever the other keys say (a bucket ARN beside
 * aws:SourceAccount of another account is that account's bucket: a grant to it); otherwise the
 * strongest key decides.
 */
function narrowing(statement: Record<string, unknown>, scope: ExposureScope): Pin | undefined {
  const cond = statement.Condition
  if (!cond || typeof cond !== 'object') return undefined
  const own = scope.account ?? ownAccount(statement)
  let best: Pin | undefined
  for (const [op, block] of Object.entries(cond as Record<string, unknown>)) {
    if (!NARROWING_OPERATORS.has(op.toLowerCase()) || !block || typeof block !== 'object') continue
    for (const [k, v] of Object.entries(block as Record<string, unknown>)) {
      const key = k.toLowerCase()
      if (!NARROWING_KEYS.has(key)) continue
      const values = asList(v)
      if (values.length === 0) continue
      let weakest: Pin | undefined
      for (const value of values) {
        const pin = pinOfValue(key, value, own, scope)
        if (!pin) {
          weakest = undefined
          break
        }
        if (!weakest || PIN_RANK[pin.to] > PIN_RANK[weakest.to]) weakest = pin
      }
      if (weakest?.to === 'elsewhere') return weakest
      if (weakest && (!best || PIN_RANK[weakest.to] < PIN_RANK[best.to])) best = weakest
    }
  }
  return best
}

/** True when a statement has an aws:PrincipalOrgID condition (fir then needs the account's organisation). */
export function usesOrganisationCondition(statement: unknown): boolean {
  const cond = (statement as Record<string, unknown> | null)?.Condition
  if (!cond || typeof cond !== 'object') return false
  return Object.values(cond as Record<string, unknown>).some(
    (block) =>
      Boolean(block) &&
      typeof block === 'object' &&
      Object.keys(block as Record<string, unknown>).some((k) => k.toLowerCase() === 'aws:principalorgid'),
  )
}

/**
 * True when a resource-policy statement lets anyone, or another account, invoke or change the
 * function: an Allow whose principal is `*` (or `{AWS: "*"}`), an account other than the
 * function's own, or an AWS service acting for another account, unless an aws:SourceAccount /
 * aws:SourceArn / aws:PrincipalOrgID condition pins it to this account or its organisation.
 * Unscoped service principals (apigateway.amazonaws.com with no condition) are not public by
 * this rule.
 */
export function isPublicStatement(statement: unknown, scope: ExposureScope = {}): boolean {
  return classifyStatement(statement, scope).exposure === 'public'
}

/** How a resource-policy statement exposes the function, with the reason in words. */
export interface StatementExposure {
  exposure: 'public' | 'unscoped-service' | 'none'
  reason: string
  /** Why a source or organisation condition does not narrow it to this account, when one is there. */
  condition?: string
}

/**
 * Classifies one statement. 'public' (what {@link isPublicStatement} returns true for): `*`, a
 * wildcard or unknown principal, or another account, not pinned to this account or its
 * organisation; or any principal pinned to another account or organisation (a fixed
 * aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID naming someone else is a grant to them,
 * not a narrowing), or to an organisation fir could not confirm is this account's (said so in the
 * reason). 'unscoped-service': an AWS service principal with no condition naming an account, so
 * the service acting for any account could invoke it (the confused deputy) — reported, but not
 * "public", so containment leaves it alone.
 */
export function classifyStatement(statement: unknown, scope: ExposureScope = {}): StatementExposure {
  if (!statement || typeof statement !== 'object') return { exposure: 'none', reason: 'not a statement' }
  const s = statement as Record<string, unknown>
  if (s.Effect !== 'Allow') return { exposure: 'none', reason: 'not an Allow' }
  const own = scope.account ?? ownAccount(s)
  const kinds = principalKinds(s.Principal)
  const pin = narrowing(s, scope)
  if (pin?.to === 'own') return { exposure: 'none', reason: 'narrowed to this account by a condition' }
  const anyone = kinds.includes('any')
  const unknown = kinds.includes('unknown')
  const others = kinds.filter((k) => /^\d{12}$/.test(k) && k !== own)
  // A pinning condition that does not pin the caller to this account: why, in the reason.
  const pinnedElsewhere = (
    exposure: StatementExposure['exposure'],
    who: string,
    p: Exclude<Pin, { to: 'own' }>,
  ): StatementExposure => ({
    exposure,
    reason: `allows ${who}, not narrowed to this account: ${p.clause}`,
    condition: p.clause,
  })
  if (anyone || unknown || others.length > 0) {
    const who = anyone
      ? 'any principal (*)'
      : others.length > 0
        ? `another account (${others.join(', ')})`
        : 'a principal fir cannot place in an account'
    if (pin) return pinnedElsewhere('public', who, pin)
    return {
      exposure: 'public',
      reason: `allows ${who}, not narrowed by aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID`,
    }
  }
  if (kinds.includes('service')) {
    const who = `an AWS service principal (${servicesOf(s.Principal).join(', ') || 'service'})`
    // Pinned to another account or organisation: a grant to them. A bucket ARN names no account:
    // the confused deputy, as with no condition.
    if (pin) return pinnedElsewhere(pin.to === 'no-account' ? 'unscoped-service' : 'public', who, pin)
    return {
      exposure: 'unscoped-service',
      reason: `allows ${who} without aws:SourceArn or aws:SourceAccount: the service acting for any account could invoke it`,
    }
  }
  return { exposure: 'none', reason: 'own account only' }
}

/** The statements of a resource policy (GetPolicy's `Policy` text); [] when unparseable. */
export function policyStatements(policyText: string | undefined): Record<string, unknown>[] {
  if (!policyText) return []
  try {
    const doc = JSON.parse(policyText) as { Statement?: unknown }
    const list = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : []
    return list.filter((x): x is Record<string, unknown> => Boolean(x) && typeof x === 'object')
  } catch {
    return []
  }
}

function actionsOf(statement: Record<string, unknown>): string[] {
  return asList(statement.Action).filter((a): a is string => typeof a === 'string')
}

function grants(statement: Record<string, unknown>, action: string): boolean {
  if (statement.NotAction !== undefined) {
    return !asList(statement.NotAction).some((p) => typeof p === 'string' && actionMatches(p, action))
  }
  return actionsOf(statement).some((p) => actionMatches(p, action))
}

function anyonePrincipal(statement: Record<string, unknown>): boolean {
  return principalKinds(statement.Principal).includes('any')
}

/** One qualifier's resource policy text and URL config, as collected. */
export interface QualifierExposureInput {
  qualifier: string
  policy?: string
  url?: { FunctionUrl?: string; AuthType?: string }
}

/**
 * The exposure of a function from every qualifier's resource policy and URL config. Statements and
 * URLs that appear under several qualifiers (moto returns one shared policy and URL for all) are
 * reported once, with every qualifier listed. A URL with AuthType NONE is reachable by anyone when
 * the policy grants `*` both lambda:InvokeFunctionUrl and lambda:InvokeFunction (required together
 * since October 2025; URLs made earlier may still work with the first alone).
 */
export function analyseExposure(
  inputs: QualifierExposureInput[],
  scope: ExposureScope = {},
): ExposureEntry[] {
  const byStatement = new Map<string, ExposureEntry>()
  const publicGrants = new Map<string, { url: boolean; invoke: boolean }>()
  for (const input of inputs) {
    const g = { url: false, invoke: false }
    for (const st of policyStatements(input.policy)) {
      const c = classifyStatement(st, scope)
      if (c.exposure === 'none') continue
      if (c.exposure === 'public' && anyonePrincipal(st)) {
        g.url ||= grants(st, 'lambda:InvokeFunctionUrl')
        g.invoke ||= grants(st, 'lambda:InvokeFunction')
      }
      const key = JSON.stringify(st)
      const hit = byStatement.get(key)
      if (hit) {
        if (!hit.qualifiers.includes(input.qualifier)) hit.qualifiers.push(input.qualifier)
        continue
      }
      const actions = actionsOf(st)
      const level: FindingLevel =
        c.exposure === 'unscoped-service'
          ? 'medium'
          : anyonePrincipal(st) &&
              (grants(st, 'lambda:InvokeFunction') || grants(st, 'lambda:UpdateFunctionCode'))
            ? 'critical'
            : 'high'
      byStatement.set(key, {
        kind: c.exposure === 'public' ? 'resource-policy' : 'service-principal',
        qualifiers: [input.qualifier],
        level,
        summary: `statement ${typeof st.Sid === 'string' ? st.Sid : '(no Sid)'} ${c.reason} (${actions.join(', ') || 'NotAction'})`,
        ...(typeof st.Sid === 'string' ? { sid: st.Sid } : {}),
        principal: st.Principal,
        actions,
      })
    }
    publicGrants.set(input.qualifier, g)
  }
  const byUrl = new Map<string, ExposureEntry>()
  for (const input of inputs) {
    const url = input.url
    if (!url?.FunctionUrl || url.AuthType !== 'NONE') continue
    const g = publicGrants.get(input.qualifier) ?? { url: false, invoke: false }
    const hit = byUrl.get(url.FunctionUrl)
    if (hit) {
      if (!hit.qualifiers.includes(input.qualifier)) hit.qualifiers.push(input.qualifier)
      if (hit.grants) {
        hit.grants.invokeFunctionUrl ||= g.url
        hit.grants.invokeFunction ||= g.invoke
      }
      continue
    }
    byUrl.set(url.FunctionUrl, {
      kind: 'function-url',
      qualifiers: [input.qualifier],
      level: 'high',
      summary: '',
      url: url.FunctionUrl,
      authType: url.AuthType,
      grants: { invokeFunctionUrl: g.url, invokeFunction: g.invoke },
    })
  }
  for (const e of byUrl.values()) {
    const short = noneUrlShortOf(e.grants ?? {})
    e.level = short === null ? 'critical' : 'high'
    e.summary =
      short === null
        ? `function URL ${e.url} has AuthType NONE and the resource policy lets anyone call it (lambda:InvokeFunctionUrl and lambda:InvokeFunction for *)`
        : `function URL ${e.url} has AuthType NONE; ${short}`
  }
  return [...byUrl.values(), ...byStatement.values()]
}

/**
 * What a function URL with AuthType NONE lacks to answer anyone, from the public grants (`*`) of
 * its resource policy: null when it lacks nothing. AWS answers such a URL only as far as the
 * policy grants public access: lambda:InvokeFunctionUrl always, and lambda:InvokeFunction too
 * since October 2025 (URLs made before then may answer without it for a while). The snapshot's
 * exposure summary and the report say it in these words.
 */
export function noneUrlShortOf(grants: {
  invokeFunctionUrl?: unknown
  invokeFunction?: unknown
}): string | null {
  if (grants.invokeFunctionUrl && grants.invokeFunction) return null
  if (grants.invokeFunctionUrl)
    return 'the policy grants * lambda:InvokeFunctionUrl but not lambda:InvokeFunction (required too since October 2025; a URL made before then may still answer anyone)'
  if (grants.invokeFunction)
    return 'the policy grants * lambda:InvokeFunction but not lambda:InvokeFunctionUrl, which every such URL needs (before and since October 2025): the URL answers no one until that is granted too'
  return 'no statement seen grants * lambda:InvokeFunctionUrl or lambda:InvokeFunction (whoever grants both opens it)'
}
