import {
  type AddPermissionCommandInput,
  addPermission,
  getPolicyText,
  listAliasNames,
  listVersionNumbers,
  removePermission,
} from '../../aws/lambda-containment.js'
import { canonicalJson } from '../common/canonical-json.js'
import { deepMapStrings, redactor } from '../common/redact.js'
import { accountOrganisation, parseArn } from '../identity.js'
import { isPublicStatement, policyStatements, usesOrganisationCondition } from '../snapshot/exposure.js'
import { crashHook, defineStep } from '../steps/define-step.js'
import { changeEach, notAllChanged } from './each.js'
import { deletedFunction, type FunctionParams, regionalAws } from './function-target.js'

/** One statement of a function's (or a qualifier's) resource policy, kept verbatim. */
export interface PolicyStatementRef {
  /** null for the unqualified function, else the version or alias. */
  qualifier: string | null
  sid: string
  statement: Record<string, unknown>
  public: boolean
}

export interface PermissionsState {
  statements: PolicyStatementRef[]
}

const where = (q: string | null) => (q === null ? '$LATEST' : q)

/** The qualifier a statement applies to, from its Resource (`…:function:name[:qualifier]`). */
export function qualifierOfResource(resource: unknown, fallback: string | null): string | null {
  const r = Array.isArray(resource) ? resource[0] : resource
  if (typeof r !== 'string') return fallback
  const m = r.match(/:function:[^:]+(?::([^:]+))?$/)
  return m ? (m[1] ?? null) : fallback
}

function describe(s: PermissionsState): string {
  const pub = s.statements.filter((x) => x.public)
  if (s.statements.length === 0) return 'no resource policy'
  if (pub.length === 0) return `${s.statements.length} statement(s), none public`
  return `${pub.length} public of ${s.statements.length}: ${pub.map((x) => `${where(x.qualifier)}/${x.sid}`).join(', ')}`
}

function conditionValue(
  statement: Record<string, unknown>,
  operator: string,
  key: string,
): string | undefined {
  const cond = statement.Condition as Record<string, Record<string, unknown>> | undefined
  if (!cond) return undefined
  for (const [op, block] of Object.entries(cond)) {
    if (op.toLowerCase() !== operator.toLowerCase() || !block) continue
    for (const [k, v] of Object.entries(block)) {
      if (k.toLowerCase() !== key.toLowerCase()) continue
      const value = Array.isArray(v) ? v[0] : v
      if (value !== undefined) return String(value)
    }
  }
  return undefined
}

const KNOWN_CONDITIONS = new Set([
  'arnlike:aws:sourcearn',
  'arnequals:aws:sourcearn',
  'stringequals:aws:sourceaccount',
  'stringequals:aws:principalorgid',
  'stringequals:lambda:eventsourcetoken',
  'stringequals:lambda:functionurlauthtype',
  'bool:lambda:invokedviafunctionurl',
])

/** AddPermission's principal for a statement's Principal (an account root ARN becomes the account id). */
function principalOf(principal: unknown): string | undefined {
  if (typeof principal === 'string') return principal
  const p = principal as Record<string, unknown> | undefined
  const v = p?.AWS ?? p?.Service ?? p?.CanonicalUser
  const first = Array.isArray(v) ? v[0] : v
  if (typeof first !== 'string') return undefined
  return first.match(/^arn:aws[a-z-]*:iam::(\d{12}):root$/)?.[1] ?? first
}

/**
 * The AddPermission request that re-creates a statement verbatim, and what of the statement it
 * cannot express (empty for every statement AddPermission made).
 */
export function addPermissionFor(
  functionName: string,
  ref: PolicyStatementRef,
): { input: AddPermissionCommandInput; lost: string[] } {
  const s = ref.statement
  const lost: string[] = []
  const action = Array.isArray(s.Action) ? s.Action : [s.Action]
  if (action.length !== 1) lost.push(`actions beyond ${String(action[0])}`)
  const principal = principalOf(s.Principal)
  if (!principal) lost.push('principal')
  // AddPermission takes one principal and one value a condition: a statement edited to hold more
  // would come back narrower than it was.
  const principals = s.Principal && typeof s.Principal === 'object' ? Object.values(s.Principal) : []
  if (principals.flat().length > 1) lost.push(`principals beyond ${principal}`)
  for (const [op, block] of Object.entries((s.Condition as Record<string, Record<string, unknown>>) ?? {})) {
    for (const [k, v] of Object.entries(block ?? {})) {
      if (!KNOWN_CONDITIONS.has(`${op}:${k}`.toLowerCase())) lost.push(`condition ${op} ${k}`)
      else if (Array.isArray(v) && v.length > 1)
        lost.push(`condition ${op} ${k} values beyond ${String(v[0])}`)
    }
  }
  // moto reports FunctionUrlAuthType / InvokedViaFunctionUrl as top-level statement fields.
  const urlAuth =
    conditionValue(s, 'StringEquals', 'lambda:FunctionUrlAuthType') ??
    (typeof s.FunctionUrlAuthType === 'string' ? s.FunctionUrlAuthType : undefined)
  const viaUrl =
    conditionValue(s, 'Bool', 'lambda:InvokedViaFunctionUrl') ??
    (s.InvokedViaFunctionUrl === undefined ? undefined : String(s.InvokedViaFunctionUrl))
  const sourceArn =
    conditionValue(s, 'ArnLike', 'AWS:SourceArn') ?? conditionValue(s, 'ArnEquals', 'AWS:SourceArn')
  const sourceAccount = conditionValue(s, 'StringEquals', 'AWS:SourceAccount')
  const orgId = conditionValue(s, 'StringEquals', 'aws:PrincipalOrgID')
  const token = conditionValue(s, 'StringEquals', 'lambda:EventSourceToken')
  const input: AddPermissionCommandInput = {
    FunctionName: functionName,
    StatementId: ref.sid,
    Action: String(action[0]),
    Principal: principal ?? '*',
    ...(ref.qualifier !== null ? { Qualifier: ref.qualifier } : {}),
    ...(sourceArn ? { SourceArn: sourceArn } : {}),
    ...(sourceAccount ? { SourceAccount: sourceAccount } : {}),
    ...(orgId ? { PrincipalOrgID: orgId } : {}),
    ...(token ? { EventSourceToken: token } : {}),
    ...(urlAuth === 'NONE' || urlAuth === 'AWS_IAM' ? { FunctionUrlAuthType: urlAuth } : {}),
    ...(viaUrl === 'true' ? { InvokedViaFunctionUrl: true } : {}),
  }
  return { input, lost }
}

const key = (r: { qualifier: string | null; sid: string }) => `${r.qualifier ?? ''}\u0000${r.sid}`
const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b)

/**
 * containment.permissions — removes public statements (principal `*` or another account, not
 * narrowed to the function's own account or organisation by aws:SourceAccount, aws:SourceArn or
 * aws:PrincipalOrgID, and any principal pinned to another account or organisation; DESIGN §3) from
 * the resource policy of the function, every published version and every alias. Statements scoped
 * to this account (an API Gateway with its SourceArn, say) are kept. A statement narrowed to an
 * organisation fir cannot confirm is the account's own is removed too (the notes say so). Each
 * removed statement is journaled verbatim. A statement AWS refuses to remove does not stop the
 * others: every other one is removed, then the step reports `denied` (or `failed`) naming it, a gap.
 * IAM: lambda:ListVersionsByFunction, lambda:ListAliases, lambda:GetPolicy, lambda:RemovePermission,
 * organizations:DescribeOrganization (only for aws:PrincipalOrgID conditions), lambda:AddPermission
 * (undo), lambda:GetFunctionConfiguration (undo, when the function may have been deleted).
 * Undo: re-adds each removed statement with the same Sid, principal, action and conditions; one
 * AWS refuses to re-add does not stop the others (the undo is then `denied` or `failed`, naming it).
 * A public statement added since (by hand) is left as it is and named; a contain run again removes
 * it, and restore then re-adds it with those the first contain removed. A function deleted since
 * has nothing to put back: named, and undone.
 */
export const permissionsStep = defineStep<FunctionParams, PermissionsState>({
  id: 'containment.permissions',
  title: 'Remove public resource-policy statements',
  iamActions: [
    'lambda:ListVersionsByFunction',
    'lambda:ListAliases',
    'lambda:GetPolicy',
    'lambda:RemovePermission',
    'organizations:DescribeOrganization',
  ],
  undoIamActions: [
    'lambda:ListVersionsByFunction',
    'lambda:ListAliases',
    'lambda:GetPolicy',
    'lambda:AddPermission',
    'organizations:DescribeOrganization',
    'lambda:GetFunctionConfiguration',
  ],
  undoPolicy: 'default',
  async read(ctx, params) {
    const aws = regionalAws(ctx, params.region)
    const qualifiers: (string | null)[] = [
      null,
      ...(await listVersionNumbers(aws, params.function)),
      ...(await listAliasNames(aws, params.function)).sort(),
    ]
    for (const q of qualifiers) redactor.protect(q ?? '')
    const found = new Map<string, PolicyStatementRef>()
    const notes: string[] = []
    const texts: [string | null, string][] = []
    for (const q of qualifiers) {
      const text = await getPolicyText(aws, params.function, q)
      if (text) texts.push([q, text])
    }
    const account = parseArn(params.functionArn)?.account
    // An aws:PrincipalOrgID narrows a statement only to the account's own organisation: ask which.
    const organisation = texts.some(([, t]) => policyStatements(t).some(usesOrganisationCondition))
      ? await accountOrganisation(ctx, aws, account ?? 'of the function')
      : undefined
    const scope = { ...(account ? { account } : {}), ...(organisation ? { organisation } : {}) }
    for (const [q, text] of texts) {
      let doc: { Statement?: unknown }
      try {
        doc = JSON.parse(text) as { Statement?: unknown }
      } catch {
        notes.push(`the resource policy of ${where(q)} is not JSON; fir left it alone`)
        continue
      }
      const list = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : []
      for (const st of list as Record<string, unknown>[]) {
        // Who may call the function: account ids, ARNs, service principals, action names, the
        // statement's id. Re-added verbatim by undo, so a secret inside one must not cut it.
        deepMapStrings(st, (s) => {
          redactor.protect(s)
          return s
        })
        // Each qualifier has its own policy; its statements name it in Resource. (moto returns one
        // shared policy for every qualifier, so the Resource, not the query, decides.)
        const ref: PolicyStatementRef = {
          qualifier: qualifierOfResource(st.Resource, q),
          sid: String(st.Sid ?? ''),
          statement: st,
          public: isPublicStatement(st, scope),
        }
        if (!found.has(key(ref))) found.set(key(ref), ref)
      }
    }
    const statements = [...found.values()]
    if (
      organisation?.state === 'unknown' &&
      statements.some((x) => x.public && usesOrganisationCondition(x.statement))
    ) {
      notes.push(
        `fir could not confirm the account's organisation (${organisation.reason}): statements narrowed by aws:PrincipalOrgID are treated as public and are to be removed; restore re-adds them`,
      )
    }
    for (const s of statements.filter((x) => x.public)) {
      const { lost } = addPermissionFor(params.function, s)
      if (lost.length) notes.push(`${where(s.qualifier)}/${s.sid}: undo cannot re-create ${lost.join(', ')}`)
    }
    return { target: params.functionArn, label: params.function, state: { statements }, notes }
  },
  targetGone: deletedFunction,
  intend: (_ctx, _params, s) => ({ statements: s.statements.filter((x) => !x.public) }),
  isApplied: (_ctx, _params, s) => !s.statements.some((x) => x.public),
  nothingToChange: (s) =>
    s.statements.length === 0
      ? 'no resource policy'
      : s.statements.some((x) => x.public)
        ? null
        : 'no public statements',
  async change(ctx, params, current) {
    const aws = regionalAws(ctx, params.region)
    let removed = 0
    // One statement AWS refuses to remove must not leave the others open: try each, then report.
    const { refused } = await changeEach(
      current.statements.filter((s) => s.public),
      (s) => `${where(s.qualifier)}/${s.sid}`,
      async (s) => {
        await removePermission(aws, params.function, s.qualifier, s.sid)
        // Test-only: die half way (after the first removal) to prove restore uses the earliest prior.
        crashHook(ctx, `containment.permissions#${++removed}`)
      },
    )
    if (refused.length > 0) {
      throw notAllChanged(
        { verb: 'remove', things: `public statements from function ${params.function}`, made: 'removed' },
        refused,
        removed,
      )
    }
    return { statements: current.statements.filter((x) => !x.public) }
  },
  describe,
  compareForUndo(current, record) {
    const now = new Map(current.statements.map((s) => [key(s), s]))
    const removed = record.prior.statements.filter(
      (p) => p.public && !record.after.statements.some((a) => key(a) === key(p)),
    )
    const conflicts: string[] = []
    let changes = 0
    const result = [...current.statements]
    for (const p of removed) {
      const c = now.get(key(p))
      if (!c) {
        changes++
        result.push(p)
      } else if (!same(c.statement, p.statement)) {
        conflicts.push(
          `${where(p.qualifier)}/${p.sid} was replaced by a different statement since; left as it is`,
        )
      }
    }
    // A public statement neither fir's prior nor its after state holds was added since (by hand):
    // the undo leaves it as it is, and a contain run again removes it, superseding this change so
    // that restore re-adds it with the others.
    const known = new Set([...record.prior.statements, ...record.after.statements].map(key))
    const madeSince = current.statements
      .filter((c) => c.public && !known.has(key(c)))
      .map(
        (c) => `${where(c.qualifier)}/${c.sid} is a public statement added since fir's change; left as it is`,
      )
    return { result: { statements: result }, changes, conflicts, madeSince }
  },
  async revert(ctx, record, current, comparison, progress) {
    const aws = regionalAws(ctx, record.params.region)
    const fn = String(record.params.function)
    const now = new Set(current.statements.map(key))
    const result = [...current.statements]
    // What compareForUndo planned to re-add (the plan shown): the statements it has that AWS has not.
    const missing = comparison.result.statements.filter((p) => !now.has(key(p)))
    // One statement AWS refuses to re-add does not stop the others: try each, then report. Each
    // one re-added is reported, so what was put back is known even if the policy cannot be read.
    const { refused } = await changeEach(
      missing,
      (p) => `${where(p.qualifier)}/${p.sid}`,
      async (p) => {
        await addPermission(aws, addPermissionFor(fn, p).input)
        result.push(p)
        progress({ statements: [...result] })
      },
    )
    if (refused.length > 0) {
      throw notAllChanged(
        { verb: 're-add', things: `public statements to function ${fn}`, made: 're-added' },
        refused,
        missing.length - refused.length,
      )
    }
    return { statements: result }
  },
})
