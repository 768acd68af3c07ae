import type { AwsClients } from '../../aws/clients.js'
import { deleteRolePolicy, getRoleInfo, getRolePolicyDocument, putRolePolicy } from '../../aws/iam.js'
import { UsageError } from '../../errors.js'
import { canonicalJson } from '../common/canonical-json.js'
import { firCommand } from '../common/suggest.js'
import { escapeTerminal, shellArg } from '../common/text.js'
import type { FirContext } from '../context.js'
import { readIamEntity } from '../identity.js'
import { defineStep, type ReadState, type StepSpec } from '../steps/define-step.js'
import type { Step } from '../steps/step.js'
import { pendingUndos } from '../steps/undo-records.js'

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

/** The two steps that put the revocation policy (one change, see SAME_CHANGE in undo-records.ts). */
const REVOKE_STEP_IDS: ReadonlySet<string> = new Set(['containment.sessions', 'credentials.revoke-sessions'])

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
  const command = firCommand(['creds', 'revoke-sessions', '--role', role, '--renew', '--yes'], aws, {
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
   * counts as applied only when this case journaled it for the same key, or for the whole role
   * (`fir creds revoke-sessions`); containing another function that shares the role moves the
   * cutoff to now, so that function's sessions issued since the first revocation are cut too.
   */
  forKey?: (params: P) => string
  /** Whether these params ask for the cutoff to move to now even when a revocation is there. */
  renewOf?: (params: P) => boolean
}): Step<P, RevokeState> {
  /**
   * Whether the revocation on the role is this case's and serves `key`: the pending change of
   * either revocation step (they pair as one, see SAME_CHANGE) was journaled for that function,
   * or for the whole role by `fir creds revoke-sessions` (params without a function).
   */
  const servesKey = (ctx: FirContext, roleArn: string, key: string) =>
    pendingUndos(ctx.case.journal.all(), REVOKE_STEP_IDS)
      .find((r) => r.target === roleArn)
      ?.journaledFor?.some((p) => p.function === undefined || p.function === key) === true
  const spec: StepSpec<P, RevokeState> = {
    id: options.id,
    title: options.title,
    iamActions: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
    undoPolicy: 'named',
    read: (ctx, params) => readRevokeState(ctx, options.roleOf(params)),
    // Now from AWS's clock (corrected by the Date headers of the reads just made), never the laptop's.
    intend: (ctx, _params, s) => ({ ...s, document: revokeDocument(formatCutoff(ctx.clock.awsNow())) }),
    // A policy of that name that is not a revocation (edited by someone) is put back.
    isApplied: (ctx, params, s) =>
      s.document !== null &&
      cutoffOf(s.document) !== null &&
      !options.renewOf?.(params) &&
      (!options.forKey || servesKey(ctx, s.roleArn, options.forKey(params))),
    async change(ctx, _params, s, intended) {
      await putRolePolicy(ctx.aws, s.roleName, s.policyName, JSON.stringify(intended.document))
      return intended
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
