import { type AwsClients, FIR_SERVICES, type ProxyDecision } from '../aws/clients.js'
import { gapReason } from '../aws/errors.js'
import {
  groupPolicyDocuments,
  identityPolicyDocuments,
  listGroupsForUser,
  simulatePrincipal,
} from '../aws/iam.js'
import { AccessDeniedError } from '../errors.js'
import { redactUrlPasswords } from './common/redact.js'
import { escapeTerminal, firstFew } from './common/text.js'
import type { Gaps } from './context.js'
import { callerIdentity, parseArn } from './identity.js'
import { appearsAllowed, COMMAND_PERMISSIONS, type PolicyStatement, statementsOf } from './permissions.js'

export type PermissionStatus = 'allowed' | 'denied' | 'not-granted' | 'unknown'

/**
 * Where and how fir's calls go: known before AWS answers anything (the clock skew once a response
 * has come back), and printed even when the identity call fails.
 */
export interface DoctorSetting {
  region: string
  endpoint: string | null
  /** AWS_ENDPOINT_URL_<SERVICE> settings that send one service elsewhere than `endpoint`. */
  serviceEndpoints: Record<string, string>
  /**
   * The proxy fir's calls go through (HTTPS_PROXY), to every host it calls or to some (then
   * `proxiesUnused` names the others); null: straight to every endpoint.
   */
  proxy: string | null
  /**
   * HTTPS_PROXY and HTTP_PROXY when set but not used for the endpoints fir calls (`endpoint`, else
   * AWS's own hosts in the region), or for some of them, and why.
   */
  proxiesUnused: { variable: 'HTTPS_PROXY' | 'HTTP_PROXY'; url: string; reason: string }[]
  emulatorOnly: boolean
  /** Seconds AWS's clock is ahead of this machine's (negative: behind); null before any response. */
  clockSkewSeconds: number | null
}

export interface DoctorReport extends DoctorSetting {
  identity: { arn: string; account: string; userId: string }
  permissionCheck: 'simulate' | 'policies' | 'unavailable'
  /**
   * Policies of the caller that could not be read (a denied read is a gap): what the ones read do
   * not grant is "unknown", never "not-granted".
   */
  unreadPolicies: string[]
  commands: {
    command: string
    ready: PermissionStatus
    actions: { action: string; optional: boolean; status: PermissionStatus }[]
  }[]
}

const UNUSED_BECAUSE: Record<NonNullable<ProxyDecision['bypass']>['reason'], (noProxy?: string) => string> = {
  'emulator-only': () => 'fir is in emulator-only mode and reaches loopback addresses only, directly',
  loopback: () => 'the endpoint is a loopback address, reached directly',
  'no-proxy': (entry) => `NO_PROXY names the endpoint's host (${entry})`,
  'http-endpoint': () => 'the endpoint is http://, and fir sends only https:// requests through HTTPS_PROXY',
}

/** Why hosts named are reached without HTTPS_PROXY (the reasons above say "the endpoint"). */
const HOSTS_UNUSED_BECAUSE: Record<
  Exclude<NonNullable<ProxyDecision['bypass']>['reason'], 'emulator-only'>,
  (noProxy: string | undefined, them: string) => string
> = {
  loopback: () => 'loopback',
  'no-proxy': (entry, them) => `NO_PROXY names ${them}: ${entry}`,
  'http-endpoint': () => 'http://: fir sends only https:// requests through HTTPS_PROXY',
}

/**
 * Why HTTPS_PROXY is not used for the hosts fir calls that it bypasses (`direct`), when some or all
 * of them are: for one endpoint, as before; else by host, grouped by what matched, and whether the
 * others still go through it.
 */
function bypassReason(
  direct: { host: string; decision: ProxyDecision }[],
  oneHost: boolean,
  partly: boolean,
): string {
  const groups = new Map<string, { bypass: NonNullable<ProxyDecision['bypass']>; hosts: string[] }>()
  for (const { host, decision } of direct) {
    const bypass = decision.bypass!
    const key = `${bypass.reason}\u0000${bypass.noProxy ?? ''}`
    const g = groups.get(key) ?? { bypass, hosts: [] }
    if (!g.hosts.includes(host)) g.hosts.push(host)
    groups.set(key, g)
  }
  const parts = [...groups.values()].map(({ bypass, hosts }) => {
    if (oneHost || bypass.reason === 'emulator-only') return UNUSED_BECAUSE[bypass.reason](bypass.noProxy)
    const [is, them] = hosts.length > 1 ? ['are', 'them'] : ['is', 'it']
    return `${firstFew(hosts)} ${is} reached directly (${HOSTS_UNUSED_BECAUSE[bypass.reason](bypass.noProxy, them)})`
  })
  return `${[...new Set(parts)].join('; ')}${partly ? "; fir's calls to other hosts go through it" : ''}`
}

/**
 * Where fir's calls go and how (no call is made: the clock skew is what responses so far showed).
 * The proxy is judged for the host of each service fir calls (the endpoint set, else AWS's own in
 * the region), as fir's clients judge each request.
 */
export function doctorSetting(aws: AwsClients): DoctorSetting {
  const calls = FIR_SERVICES.map((service) => ({
    host: new URL(aws.endpointUrlFor(service)).host,
    decision: aws.proxyDecisionFor(service),
  }))
  const { configured, httpProxy } = aws.proxyDecisionFor()
  const through = calls.filter((c) => c.decision.proxy !== undefined)
  const direct = calls.filter((c) => c.decision.bypass !== undefined)
  // Endpoints and proxies may carry a password (http://user:password@host): shown without it.
  const unused: DoctorSetting['proxiesUnused'] = []
  if (configured && direct.length > 0) {
    unused.push({
      variable: 'HTTPS_PROXY',
      url: redactUrlPasswords(configured),
      reason: bypassReason(direct, new Set(calls.map((c) => c.host)).size === 1, through.length > 0),
    })
  }
  if (httpProxy) {
    unused.push({
      variable: 'HTTP_PROXY',
      url: redactUrlPasswords(httpProxy),
      reason:
        'fir never uses it (https:// requests go through HTTPS_PROXY, http:// ones straight to the endpoint)',
    })
  }
  const skew = aws.clock.skewMs
  return {
    region: aws.region,
    endpoint: aws.endpoint === undefined ? null : redactUrlPasswords(aws.endpoint),
    serviceEndpoints: Object.fromEntries(
      Object.entries(aws.serviceEndpoints).map(([service, url]) => [service, redactUrlPasswords(url)]),
    ),
    proxy: configured && through.length > 0 ? redactUrlPasswords(configured) : null,
    proxiesUnused: unused,
    emulatorOnly: aws.emulatorOnly,
    clockSkewSeconds: skew === undefined ? null : Math.round(skew / 1000),
  }
}

/**
 * Past this skew the SDK counts the clock as skewed (its own threshold, 4 min), and nearly all of
 * the 5 min most AWS services allow a signed request is used up.
 */
const SKEW_WARN_SECONDS = 240

/** The clock line's text: how far AWS's clock is from this machine's, and what that means. */
export function clockText(skewSeconds: number | null): string {
  if (skewSeconds === null) return 'unknown: no response from AWS has come back to measure it by'
  const size = Math.abs(skewSeconds)
  const where =
    skewSeconds === 0
      ? "AWS's clock agrees with this machine's (to the second)"
      : `AWS's clock is ${size} s ${skewSeconds > 0 ? 'ahead of' : 'behind'} this machine's`
  if (size <= SKEW_WARN_SECONDS) return where
  return `${where} (most AWS services refuse a request signed more than 5 min off their clock, S3 after 15 min; the AWS SDK corrects for the skew after a refusal and retries, but sync this machine's clock)`
}

/** The human lines of a setting: region, endpoint, proxy and clock, as doctor prints them. */
export function settingLines(s: DoctorSetting): string[] {
  return [
    `region    ${s.region}`,
    `endpoint  ${s.endpoint === null ? 'AWS default' : escapeTerminal(s.endpoint)}${s.emulatorOnly ? '  (emulator-only: loopback, dummy credentials)' : ''}`,
    ...Object.entries(s.serviceEndpoints).map(
      ([service, url]) => `          ${service}: ${escapeTerminal(url)}`,
    ),
    `proxy     ${s.proxy === null ? 'none (straight to the endpoint)' : `${escapeTerminal(s.proxy)} (HTTPS_PROXY)`}`,
    ...s.proxiesUnused.map(
      (u) => `          ${u.variable} ${escapeTerminal(u.url)} is not used: ${u.reason}`,
    ),
    `clock     ${clockText(s.clockSkewSeconds)}`,
  ]
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
 * A command's `ready` as the table shows it. A command whose actions are all optional is
 * `unknown` when none of them is known to be held and some could not be checked; the table says
 * why, so that it does not read as a required action in doubt.
 */
export function readyText(command: DoctorReport['commands'][number]): string {
  const onlyOptional = command.actions.length > 0 && command.actions.every((a) => a.optional)
  return command.ready === 'unknown' && onlyOptional ? 'unknown (only optional actions)' : command.ready
}

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
 * The statements of the policies a user's groups hold, and what could not be read (each a gap):
 * a user in a group that allows `*` holds every action though its own policies name none.
 */
async function groupStatements(
  aws: AwsClients,
  user: string,
  gaps: Gaps,
): Promise<{ statements: PolicyStatement[]; unread: string[] }> {
  const statements: PolicyStatement[] = []
  const unread: string[] = []
  const record = (what: string, calls: string, err: unknown) => {
    unread.push(what)
    gaps.add({
      what: `permission check (reading ${what})`,
      call: err instanceof AccessDeniedError ? err.iamActions.join(', ') : calls,
      reason: gapReason((err as { cause?: unknown }).cause ?? err),
    })
  }
  let groups: string[]
  try {
    groups = await listGroupsForUser(aws, user)
  } catch (err) {
    record(`the groups of user ${user}`, 'iam:ListGroupsForUser', err)
    return { statements, unread }
  }
  for (const group of groups) {
    try {
      for (const d of await groupPolicyDocuments(aws, group)) statements.push(...statementsOf(d))
    } catch (err) {
      record(
        `the policies of group ${group}`,
        'iam:ListGroupPolicies, iam:GetGroupPolicy, iam:ListAttachedGroupPolicies, iam:GetPolicy, iam:GetPolicyVersion',
        err,
      )
    }
  }
  return { statements, unread }
}

/**
 * Preflight: who fir acts as, where, with what clock skew, and whether the caller appears to hold
 * each command's IAM actions (SimulatePrincipalPolicy, else the caller's own policy documents and,
 * for a user, its groups'). A policy that could not be read makes what the others do not grant
 * "unknown", never "not-granted".
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
  let unreadPolicies: string[] = []
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
      const pr = principalOf(id.arn)!
      let docs: string[] | null | undefined
      try {
        docs = await identityPolicyDocuments(aws, pr.kind, pr.name)
        if (docs === null) throw new Error(`IAM has no ${pr.kind} ${pr.name}`)
      } catch (err) {
        docs = undefined
        gaps.add({ what: 'permission check', call: 'iam:SimulatePrincipalPolicy', reason: gapReason(simErr) })
        gaps.add({
          what: `permission check (reading the caller's ${pr.kind} policies)`,
          call: pr.kind === 'role' ? 'iam:GetRole' : 'iam:ListUserPolicies',
          reason: gapReason((err as { cause?: unknown }).cause ?? err),
        })
      }
      if (docs) {
        const statements = docs.flatMap((d) => statementsOf(d))
        if (pr.kind === 'user') {
          const groups = await groupStatements(aws, pr.name, gaps)
          statements.push(...groups.statements)
          unreadPolicies = groups.unread
        }
        const partial = unreadPolicies.length > 0
        decide = (a) => {
          const status = appearsAllowed(statements, a)
          return status === 'not-granted' && partial ? 'unknown' : status
        }
        method = 'policies'
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
    // A command whose actions are all optional needs none of them to run, but when none is known
    // to be held and some went unchecked, nothing was established: "unknown", not "allowed".
    const onlyOptionalUnchecked =
      required.length === 0 &&
      rows.some((r) => r.status === 'unknown') &&
      !rows.some((r) => r.status === 'allowed')
    const ready: PermissionStatus = onlyOptionalUnchecked
      ? 'unknown'
      : required.some((r) => r.status === 'denied')
        ? 'denied'
        : required.some((r) => r.status === 'not-granted')
          ? 'not-granted'
          : required.some((r) => r.status === 'unknown')
            ? 'unknown'
            : 'allowed'
    return { command, ready, actions: rows }
  })
  return {
    identity: id,
    ...doctorSetting(aws),
    permissionCheck: method,
    unreadPolicies,
    commands,
  }
}
