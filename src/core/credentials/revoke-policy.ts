import type { AwsClients } from '../../aws/clients.js'
import { deleteRolePolicy, getRoleInfo, getRolePolicyDocument, putRolePolicy } from '../../aws/iam.js'
import { UsageError } from '../../errors.js'
import { canonicalJson } from '../common/canonical-json.js'
import { awsCliCommand, firCommand, flag } from '../common/suggest.js'
import { escapeTerminal } from '../common/text.js'
import type { FirContext } from '../context.js'
import { callerIdentity, readIamEntity } from '../identity.js'
import { defineStep, isDeleted, type ReadState, type StepSpec } from '../steps/define-step.js'
import type { Step, UndoRecord } from '../steps/step.js'
import { pendingUndoOf } from '../steps/undo-records.js'

/** The inline policy fir puts on a role to revoke its sessions: `fir-revoke-<case id>`. */
export function revokePolicyName(caseId: string): string {
  return `fir-revoke-${caseId}`
}

/** `2026-11-28T20:15:03Z`: UTC, whole seconds, whatever the local time zone (TZ never matters). */
export function formatCutoff(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * The revocation document (the same shape as the console's "Revoke active sessions"): deny every
 * action to every session of the role whose token was issued before `cutoff`. New sessions
 * (Lambda's next execution environments) are unaffected.
 */
export function revokeDocument(cutoff: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'FirRevokeOlderSessions',
        Effect: 'Deny',
        Action: ['*'],
        Resource: ['*'],
        Condition: { DateLessThan: { 'aws:TokenIssueTime': cutoff } },
      },
    ],
  }
}

/** The cutoff of a revocation document, or null when the document is not one. */
export function cutoffOf(doc: unknown): string | null {
  const st = (doc as { Statement?: unknown })?.Statement
  const list = Array.isArray(st) ? st : st ? [st] : []
  for (const s of list as Record<string, unknown>[]) {
    const asList = (v: unknown) => (Array.isArray(v) ? v : [v])
    if (s.Effect !== 'Deny' || !asList(s.Action).includes('*') || !asList(s.Resource).includes('*')) continue
    const cond = (s.Condition as Record<string, Record<string, unknown>> | undefined)?.DateLessThan
    const entry = Object.entries(cond ?? {}).find(([k]) => k.toLowerCase() === 'aws:tokenissuetime')
    const value = Array.isArray(entry?.[1]) ? entry?.[1][0] : entry?.[1]
    if (typeof value === 'string') return value
  }
  return null
}

export interface RevokeState {
  roleName: string
  roleArn: string
  policyName: string
  /** The parsed document of the policy with that name, or null when the role has none. */
  document: Record<string, unknown> | null
}

/**
 * What a responder reads when a revocation was already on the role (`already-applied`): its
 * cutoff stays, and how to move it to now (with the AWS flags this run was given). `what` names
 * it as the command says it.
 */
export function keptCutoffHint(what: string, role: string, aws: AwsClients, caseDir: string): string {
  // With the AWS flags as given: pasted in a cross-account response, it must act in that account.
  const command = firCommand(['creds', 'revoke-sessions', flag('--role', role), '--renew', '--yes'], aws, {
    caseDir,
  })
  return `${what} stays where an earlier run set it: sessions issued since then are not denied. To deny them too: ${escapeTerminal(command)}\n`
}

/** What revocation cannot do, said in every result (DESIGN §4). */
export const REVOKE_LIMITS = [
  'sessions the attacker chained into other roles (AssumeRole with these credentials) are not revoked: check the timeline for AssumeRole by this role',
  'long-term access keys are not affected: rotate them with `fir creds rotate-key`',
  'AWS applies the policy within minutes; a code backdoor still gets fresh credentials in new environments (throttle the function)',
]

export interface RevokeParams extends Record<string, unknown> {
  role: string
  /**
   * Move the cutoff of a revocation already on the role to now (`--renew`): sessions issued since
   * it (the attacker got new credentials after the first revocation) are denied too.
   */
  renew?: boolean
  /**
   * The role was taken from the case's snapshots (a playbook's `roles`, from a snapshot's
   * roleNames), not typed by the responder: one deleted since has no sessions left to revoke, and
   * is skipped, named, rather than refused as a typo would be.
   */
  recorded?: boolean
}

async function readRevokeState(ctx: FirContext, role: string): Promise<ReadState<RevokeState>> {
  const info = await readIamEntity(ctx.aws, 'role', role, () => getRoleInfo(ctx.aws, role))
  if (info.path.startsWith('/aws-service-role/')) {
    throw new UsageError(
      `unable to revoke the sessions of role ${escapeTerminal(role)}: it is a service-linked role (path ${escapeTerminal(info.path)}), which only its AWS service may change`,
      {
        actions: [
          'contain the resources that use it instead (e.g. `fir contain <function>`)',
          'or ask the owning service (see the role description) to stop using it',
        ],
      },
    )
  }
  const policyName = revokePolicyName(ctx.case.meta.id)
  const text = await getRolePolicyDocument(ctx.aws, info.name, policyName)
  let document: Record<string, unknown> | null = null
  if (text !== null) {
    try {
      document = JSON.parse(text) as Record<string, unknown>
    } catch {
      document = { unparseable: text }
    }
  }
  return {
    target: info.arn,
    label: info.name,
    state: { roleName: info.name, roleArn: info.arn, policyName, document },
    notes: [
      `every session of role ${info.name} issued before the cutoff is to be denied — including other functions and services that use this role (they get new sessions)`,
    ],
  }
}

function describe(s: RevokeState): string {
  if (s.document === null) return `no ${s.policyName} policy`
  const cutoff = cutoffOf(s.document)
  return cutoff
    ? `${s.policyName}: deny sessions issued before ${cutoff}`
    : `${s.policyName}: not a revocation`
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b)

/** This case's revocation of the role not yet undone: either step's (one change, see SAME_CHANGE). */
const pendingRevocation = (ctx: FirContext, stepId: string, s: RevokeState) =>
  pendingUndoOf(ctx.case.journal.all(), stepId, s.roleArn) as UndoRecord<RevokeState> | undefined

const priorDocument = (record: UndoRecord<RevokeState>) => record.prior?.document ?? null

/**
 * Whether the document on the role now is one fir put there in that change (one of the states its
 * entries journaled, see UndoRecord.firStates) — not the document that was there before it, nor one
 * someone put since.
 */
function holdsFirDocument(record: UndoRecord<RevokeState>, s: RevokeState): boolean {
  const prior = priorDocument(record)
  return (record.firStates ?? [record.after]).some(
    (f) => f?.document != null && !same(f.document, prior) && same(f.document, s.document),
  )
}

/**
 * This case's revocation of the role, when the policy on it now is the one fir put there. A policy
 * of the same name that this case's journal does not record as fir's own (an earlier incident
 * under the same case id, a case made again in another folder, someone who can change the role) is
 * not this case's revocation, whatever its cutoff.
 */
function ownRevocation(ctx: FirContext, stepId: string, s: RevokeState): UndoRecord<RevokeState> | undefined {
  if (s.document === null) return undefined
  const record = pendingRevocation(ctx, stepId, s)
  return record && holdsFirDocument(record, s) ? record : undefined
}

/**
 * Why the policy of that name on the role is not this case's revocation, when the journal does not
 * explain it otherwise: this case has no revocation of the role not undone, or the document there
 * is the one this case's revocation found (put back since). Null when there is no such policy, when
 * it is fir's own, or when someone changed fir's since (define-step's superseded note says so).
 */
function notOwnNote(ctx: FirContext, stepId: string, s: RevokeState): string | null {
  if (s.document === null) return null
  const record = pendingRevocation(ctx, stepId, s)
  if (record && (holdsFirDocument(record, s) || !same(s.document, priorDocument(record)))) return null
  const cutoff = cutoffOf(s.document)
  const now = ctx.clock.awsNow().getTime()
  const what = !cutoff
    ? 'it is not a revocation'
    : Date.parse(cutoff) > now
      ? `its cutoff is ${cutoff}, still to come: it denies every session of the role, new ones too (a function on the role cannot run with AWS credentials); fir's, with a cutoff of now, lets sessions issued from now on work again`
      : `its cutoff is ${cutoff}: every session issued since then still works`
  const whose = record
    ? `is the one that was there before this case's revocation (journal #${record.startedSeq}), put back since`
    : 'was already on the role, not put there by this case (its journal records no revocation of the role): an earlier incident under the same case id, or someone who can change the role, left it'
  return `policy ${s.policyName} ${whose}; ${what}. fir puts its own with a cutoff of now; \`fir restore --actions sessions\` puts that document back as it was`
}

/**
 * The ARN of a role that AWS no longer has (no read can give it): in the caller's account and
 * partition, at the root path. Nothing when the caller is not known.
 */
async function roleArnOf(ctx: FirContext, role: string): Promise<{ arn?: string }> {
  try {
    const { arn, account } = await callerIdentity(ctx.aws)
    return { arn: `arn:${arn.split(':')[1] ?? 'aws'}:iam::${account}:role/${role}` }
  } catch {
    return {}
  }
}

/**
 * Builds a session-revocation step with the role taken from the params by `roleOf`: the same
 * change for `containment.sessions` (the function's execution role) and
 * `credentials.revoke-sessions` (a role by name).
 */
export function revokeSessionsStep<P extends Record<string, unknown>>(options: {
  id: string
  title: string
  roleOf: (params: P) => string
  /**
   * Whose containment the revocation is for (the function). A revocation already on the role
   * counts as applied only when it is this case's own (see ownRevocation) and was journaled for the
   * same key, or for the whole role (`fir creds revoke-sessions`); containing another function that
   * shares the role moves the cutoff to now, so that function's sessions issued since the first
   * revocation are cut too. Without it (`fir creds revoke-sessions`), any revocation of this case's
   * own on the role counts.
   */
  forKey?: (params: P) => string
  /** Whether these params ask for the cutoff to move to now even when a revocation is there. */
  renewOf?: (params: P) => boolean
  /**
   * The role comes from AWS or the case's snapshots, never typed by the responder (contain: the
   * function's execution role, a role it ran with before a swap, a published version's): one
   * deleted since has no sessions left to revoke, which the row says (skipped), not a failure.
   * Without it a role not found is refused (`fir creds revoke-sessions --role` with a typo). A
   * function: whether it is so for these params.
   */
  roleMayBeGone?: boolean | ((params: P) => boolean)
}): Step<P, RevokeState> {
  /**
   * Whether the revocation on the role is this case's own (see ownRevocation) and serves the
   * params: for contain, its change was journaled for that function, or for the whole role by
   * `fir creds revoke-sessions` (params without a function).
   */
  const servesParams = (ctx: FirContext, params: P, s: RevokeState) => {
    const own = ownRevocation(ctx, options.id, s)
    if (!own) return false
    if (!options.forKey) return true
    const key = options.forKey(params)
    return own.journaledFor?.some((p) => p.function === undefined || p.function === key) === true
  }
  const spec: StepSpec<P, RevokeState> = {
    id: options.id,
    title: options.title,
    iamActions: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:PutRolePolicy'],
    // PutRolePolicy too: an undo puts back the document a policy of that name held before.
    undoIamActions: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
    undoPolicy: 'named',
    async read(ctx, params) {
      const read = await readRevokeState(ctx, options.roleOf(params))
      const note = notOwnNote(ctx, options.id, read.state)
      return note ? { ...read, notes: [...(read.notes ?? []), note] } : read
    },
    // A role deleted since took the policy with it (IAM deletes no role that still has one).
    async targetGone(ctx, record) {
      const role = options.roleOf(record.params as P)
      if (!(await isDeleted(() => getRoleInfo(ctx.aws, role)))) return null
      return { kind: 'role', name: role, ...(await roleArnOf(ctx, role)) }
    },
    ...(options.roleMayBeGone
      ? {
          whenGone: (gone: { name: string }, params: P) =>
            options.roleMayBeGone === true ||
            (typeof options.roleMayBeGone === 'function' && options.roleMayBeGone(params))
              ? `role ${gone.name} was deleted since: it has no sessions left to revoke (a deleted role grants its sessions nothing)`
              : null,
        }
      : {}),
    // Now from AWS's clock (corrected by the Date headers of the reads just made), never the laptop's.
    intend: (ctx, _params, s) => ({ ...s, document: revokeDocument(formatCutoff(ctx.clock.awsNow())) }),
    // A policy of that name that is not a revocation (edited by someone), or not fir's, is replaced.
    isApplied: (ctx, params, s) =>
      cutoffOf(s.document) !== null && !options.renewOf?.(params) && servesParams(ctx, params, s),
    async change(ctx, _params, s, intended) {
      await putRolePolicy(ctx.aws, s.roleName, s.policyName, JSON.stringify(intended.document))
      return intended
    },
    failureNotes(ctx, _params, s, intended, err) {
      if (err.code !== 'limit-exceeded') return []
      // arn:<partition>:iam::<account>:role/<path/>name
      const [, partition, , , account] = s.roleArn.split(':')
      const policyArn = `arn:${partition}:iam::${account}:policy/${s.policyName}`
      const create = awsCliCommand(
        [
          'iam',
          'create-policy',
          flag('--policy-name', s.policyName),
          '--policy-document',
          JSON.stringify(intended.document),
        ],
        ctx.aws,
      )
      const attach = awsCliCommand(
        ['iam', 'attach-role-policy', flag('--role-name', s.roleName), flag('--policy-arn', policyArn)],
        ctx.aws,
      )
      return [
        `role ${s.roleName} has no room for the revocation (IAM allows 10,240 characters for all of a role's inline policies together): make room by deleting or shortening an inline policy it does not need (${awsCliCommand(['iam', 'list-role-policies', flag('--role-name', s.roleName)], ctx.aws)} lists them), then run this command again`,
        `or revoke the sessions now with a managed policy holding the same document (fir does not journal it: fir restore will not remove it, so detach and delete it by hand when the incident is over): ${create} then ${attach}`,
      ]
    },
    describe,
    outputs: (_params, s) => ({
      roleName: s.roleName,
      roleArn: s.roleArn,
      policyName: s.policyName,
      cutoff: cutoffOf(s.document),
      limits: REVOKE_LIMITS,
    }),
    compareForUndo(current, record) {
      if (same(current.document, record.prior.document)) return { result: current, changes: 0, conflicts: [] }
      if (same(current.document, record.after.document))
        return { result: { ...current, document: record.prior.document }, changes: 1, conflicts: [] }
      return {
        result: current,
        changes: 0,
        conflicts: [
          `policy ${current.policyName} was changed by someone else since fir put it; left as it is`,
        ],
      }
    },
    async revert(ctx, record, current) {
      if (record.prior.document === null)
        await deleteRolePolicy(ctx.aws, current.roleName, current.policyName)
      else
        await putRolePolicy(
          ctx.aws,
          current.roleName,
          current.policyName,
          JSON.stringify(record.prior.document),
        )
      return { ...current, document: record.prior.document }
    },
  }
  return defineStep(spec)
}
