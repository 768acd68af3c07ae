import type { AwsClients } from '../aws/clients.js'
import { gapReason } from '../aws/errors.js'
import { identityPolicyDocuments, simulatePrincipal } from '../aws/iam.js'
import { redactUrlPasswords } from './common/redact.js'
import type { Gaps } from './context.js'
import { callerIdentity, parseArn } from './identity.js'
import { appearsAllowed, COMMAND_PERMISSIONS, statementsOf } from './permissions.js'

export type PermissionStatus = 'allowed' | 'denied' | 'not-granted' | 'unknown'

export interface DoctorReport {
  identity: { arn: string; account: string; userId: string }
  region: string
  endpoint: string | null
  /** AWS_ENDPOINT_URL_<SERVICE> settings that send one service elsewhere than `endpoint`. */
  serviceEndpoints: Record<string, string>
  proxy: string | null
  emulatorOnly: boolean
  clockSkewSeconds: number | null
  permissionCheck: 'simulate' | 'policies' | 'unavailable'
  commands: {
    command: string
    ready: PermissionStatus
    actions: { action: string; optional: boolean; status: PermissionStatus }[]
  }[]
}

/** The IAM principal whose policies apply to a caller ARN (an assumed role's role, a user). */
function principalOf(arn: string): { kind: 'role' | 'user'; name: string } | undefined {
  const p = parseArn(arn)
  if (!p) return undefined
  const assumed = p.resource.match(/^assumed-role\/([^/]+)\//)
  if (assumed) return { kind: 'role', name: assumed[1]! }
  const user = p.resource.match(/^user\/(?:.*\/)?([^/]+)$/)
  if (user) return { kind: 'user', name: user[1]! }
  const role = p.resource.match(/^role\/(?:.*\/)?([^/]+)$/)
  if (role) return { kind: 'role', name: role[1]! }
  return undefined
}

const SHOWN_PER_GROUP = 4

/**
 * One short line of what a command lacks, grouped by status, required before optional:
 * `not granted: lambda:GetPolicy; unknown (optional): logs:FilterLogEvents, … +3 more`, or how
 * many actions went unchecked when the caller's permissions could not be read. Every action is in
 * the --json result; the line names at most four per group.
 */
export function missingSummary(actions: DoctorReport['commands'][number]['actions'], checked = true): string {
  if (!checked) {
    // What is known without the check (the identity call that just answered) is not "not checked".
    const unknown = actions.filter((a) => a.status === 'unknown')
    const required = unknown.filter((a) => !a.optional).length
    const optional = unknown.length - required
    if (unknown.length === 0) return '-'
    return `not checked: ${[required > 0 ? `${required} required` : '', optional > 0 ? `${optional} optional` : ''].filter(Boolean).join(', ')}`
  }
  const groups = new Map<string, string[]>()
  for (const optional of [false, true]) {
    for (const status of ['denied', 'not-granted', 'unknown'] as const) {
      const names = actions.filter((a) => a.optional === optional && a.status === status).map((a) => a.action)
      if (names.length > 0) groups.set(`${status.replace('-', ' ')}${optional ? ' (optional)' : ''}`, names)
    }
  }
  if (groups.size === 0) return '-'
  return [...groups]
    .map(([label, names]) => {
      const shown = names.slice(0, SHOWN_PER_GROUP).join(', ')
      const more = names.length - SHOWN_PER_GROUP
      return `${label}: ${shown}${more > 0 ? `, … +${more} more` : ''}`
    })
    .join('; ')
}

function policySourceArn(arn: string, account: string): string | undefined {
  const pr = principalOf(arn)
  if (!pr) return undefined
  return `arn:aws:iam::${account}:${pr.kind}/${pr.name}`
}

/**
 * Preflight: who fir acts as, where, with what clock skew, and whether the caller appears to hold
 * each command's IAM actions (SimulatePrincipalPolicy, else the caller's own policy documents).
 */
export async function runDoctor(aws: AwsClients, gaps: Gaps): Promise<DoctorReport> {
  const id = await callerIdentity(aws)
  const allActions = [
    ...new Set(
      Object.values(COMMAND_PERMISSIONS)
        .flat()
        .map((a) => a.replace(/\?$/, '')),
    ),
  ]
  let decide: (action: string) => PermissionStatus = () => 'unknown'
  let method: DoctorReport['permissionCheck'] = 'unavailable'
  const source = policySourceArn(id.arn, id.account)
  if (id.arn.endsWith(':root')) {
    decide = () => 'allowed'
    method = 'policies'
  } else if (source) {
    try {
      const decisions = await simulatePrincipal(aws, source, allActions)
      decide = (a) =>
        decisions[a] === 'allowed'
          ? 'allowed'
          : decisions[a] === 'explicitDeny'
            ? 'denied'
            : decisions[a]
              ? 'not-granted'
              : 'unknown'
      method = 'simulate'
    } catch (simErr) {
      try {
        const pr = principalOf(id.arn)!
        const docs = await identityPolicyDocuments(aws, pr.kind, pr.name)
        if (docs === null) throw new Error(`IAM has no ${pr.kind} ${pr.name}`)
        const statements = docs.flatMap((d) => statementsOf(d))
        decide = (a) => appearsAllowed(statements, a)
        method = 'policies'
      } catch (err) {
        gaps.add({ what: 'permission check', call: 'iam:SimulatePrincipalPolicy', reason: gapReason(simErr) })
        gaps.add({
          what: `permission check (reading the caller's ${principalOf(id.arn)!.kind} policies)`,
          call: principalOf(id.arn)!.kind === 'role' ? 'iam:GetRole' : 'iam:ListUserPolicies',
          reason: gapReason((err as { cause?: unknown }).cause ?? err),
        })
      }
    }
  } else {
    gaps.add({
      what: 'permission check',
      call: 'iam:SimulatePrincipalPolicy',
      reason: `cannot map caller ${id.arn} to an IAM principal`,
    })
  }
  // GetCallerIdentity answered above, and AWS needs no permission for it (an explicit deny does
  // not stop it): allowed, whatever the simulation says or whether it could run at all.
  const statusOf = (action: string): PermissionStatus =>
    action === 'sts:GetCallerIdentity' ? 'allowed' : decide(action)
  const commands = Object.entries(COMMAND_PERMISSIONS).map(([command, actions]) => {
    const rows = actions.map((a) => {
      const optional = a.endsWith('?')
      const action = a.replace(/\?$/, '')
      return { action, optional, status: statusOf(action) }
    })
    const required = rows.filter((r) => !r.optional)
    const ready: PermissionStatus = required.some((r) => r.status === 'denied')
      ? 'denied'
      : required.some((r) => r.status === 'not-granted')
        ? 'not-granted'
        : required.some((r) => r.status === 'unknown')
          ? 'unknown'
          : 'allowed'
    return { command, ready, actions: rows }
  })
  const skew = aws.clock.skewMs
  const proxy = aws.emulatorOnly ? undefined : (process.env.HTTPS_PROXY ?? process.env.https_proxy)
  return {
    identity: id,
    region: aws.region,
    // Endpoints and the proxy may carry a password (http://user:password@host): shown without it.
    endpoint: aws.endpoint === undefined ? null : redactUrlPasswords(aws.endpoint),
    serviceEndpoints: Object.fromEntries(
      Object.entries(aws.serviceEndpoints).map(([service, url]) => [service, redactUrlPasswords(url)]),
    ),
    proxy: proxy === undefined ? null : redactUrlPasswords(proxy),
    emulatorOnly: aws.emulatorOnly,
    clockSkewSeconds: skew === undefined ? null : Math.round(skew / 1000),
    permissionCheck: method,
    commands,
  }
}
