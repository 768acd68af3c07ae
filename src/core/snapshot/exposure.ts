/**
 * Public exposure of a Lambda function (DESIGN §3): resource-policy statements for `*` or another
 * account not narrowed by aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID, and function
 * URLs with AuthType NONE. `isPublicStatement` is shared with containment (which removes exactly
 * the statements it calls public) and the sweep.
 */
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
export function isPublicStatement(statement: unknown, account?: string): boolean {
  return classifyStatement(statement, account).exposure === 'public'
}

/** How a resource-policy statement exposes the function, with the reason in words. */
export interface StatementExposure {
  exposure: 'public' | 'unscoped-service' | 'none'
  reason: string
}

/**
 * Classifies one statement. 'public': `*`, a wildcard or unknown principal, or another account,
 * with no pinning condition (what {@link isPublicStatement} returns true for). 'unscoped-service':
 * an AWS service principal (apigateway.amazonaws.com…) with no aws:SourceArn / aws:SourceAccount,
 * so the service acting for any account could invoke it (the confused deputy) — reported, but not
 * "public", so containment leaves it alone. `account` defaults to the account in the Resource ARN.
 */
export function classifyStatement(statement: unknown, account?: string): StatementExposure {
  if (!statement || typeof statement !== 'object') return { exposure: 'none', reason: 'not a statement' }
  const s = statement as Record<string, unknown>
  if (s.Effect !== 'Allow') return { exposure: 'none', reason: 'not an Allow' }
  const own = account ?? ownAccount(s)
  const kinds = principalKinds(s.Principal)
  const isNarrowed = narrowed(s)
  const anyone = kinds.includes('any')
  const unknown = kinds.includes('unknown')
  const others = kinds.filter((k) => /^\d{12}$/.test(k) && k !== own)
  if ((anyone || unknown || others.length > 0) && !isNarrowed) {
    const who = anyone
      ? 'any principal (*)'
      : others.length > 0
        ? `another account (${others.join(', ')})`
        : 'a principal fir cannot place in an account'
    return {
      exposure: 'public',
      reason: `allows ${who}, not narrowed by aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID`,
    }
  }
  if (kinds.includes('service') && !isNarrowed) {
    return {
      exposure: 'unscoped-service',
      reason:
        'allows an AWS service principal without aws:SourceArn or aws:SourceAccount: the service acting for any account could invoke it',
    }
  }
  return { exposure: 'none', reason: isNarrowed ? 'narrowed by a condition' : 'own account only' }
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
export function analyseExposure(inputs: QualifierExposureInput[], account?: string): ExposureEntry[] {
  const byStatement = new Map<string, ExposureEntry>()
  const publicGrants = new Map<string, { url: boolean; invoke: boolean }>()
  for (const input of inputs) {
    const g = { url: false, invoke: false }
    for (const st of policyStatements(input.policy)) {
      const c = classifyStatement(st, account)
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
    const both = Boolean(e.grants?.invokeFunctionUrl && e.grants.invokeFunction)
    e.level = both ? 'critical' : 'high'
    e.summary = both
      ? `function URL ${e.url} has AuthType NONE and the resource policy lets anyone call it (lambda:InvokeFunctionUrl and lambda:InvokeFunction for *)`
      : e.grants?.invokeFunctionUrl
        ? `function URL ${e.url} has AuthType NONE; the policy grants * lambda:InvokeFunctionUrl but not lambda:InvokeFunction (required too since October 2025; older URLs may still answer)`
        : `function URL ${e.url} has AuthType NONE; no public invoke grant was seen in the resource policy (anyone who gets one added can call it)`
  }
  return [...byUrl.values(), ...byStatement.values()]
}
