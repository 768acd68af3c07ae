import {
  getManagedPolicy,
  getPolicyVersion,
  getRole,
  getRolePolicy,
  listAttachedRolePolicyPages,
  listRolePolicyPages,
} from '../../aws/iam.js'
import { safeSegment } from '../case/evidence-store.js'
import type { Gap } from '../context.js'
import { parseArn } from '../identity.js'
import { type PolicySource, riskReason, riskyPermissions } from './risky.js'
import type { SnapshotRun } from './run.js'
import type { RiskyPermission } from './types.js'

/** What the snapshot learnt about an execution role. */
export interface RoleFacts {
  arn: string
  name: string
  risky: RiskyPermission[]
  /** The AWS quarantine policy attached to the role, if any. */
  quarantinePolicy?: string
  boundaryArn?: string
  attachedPolicies: string[]
  inlinePolicies: string[]
  files: string[]
  gaps: Gap[]
}

const QUARANTINE = /^arn:aws[a-z-]*:iam::aws:policy\/AWSCompromisedKeyQuarantine(V\d+)?$/

/** Whether a managed policy ARN is AWS's compromised-key quarantine policy (V1, V2, V3…). */
export function isQuarantinePolicy(policyArn: string): boolean {
  return QUARANTINE.test(policyArn)
}

/** The role name of a role ARN (the last path segment). */
export function roleNameOf(roleArn: string): string {
  return roleArn.split('/').at(-1) ?? roleArn
}

interface ManagedPolicyFacts {
  arn: string
  document?: string
  files: string[]
}

function policyDir(arn: string): string {
  const parsed = parseArn(arn)
  const owner = parsed?.account || 'unknown'
  return `iam/policies/${safeSegment(owner)}/${safeSegment(arn.split('/').at(-1) ?? arn)}`
}

/** GetPolicy + GetPolicyVersion (the default version's document), once per policy per run. */
function collectManagedPolicy(run: SnapshotRun, arn: string, sink: Gap[]): Promise<ManagedPolicyFacts> {
  return run.cache<ManagedPolicyFacts>('managed-policies').get(arn, async () => {
    const aws = run.ctx.aws
    const dir = policyDir(arn)
    const files: string[] = []
    const pol = await run.rec.one(
      {
        call: 'iam:GetPolicy',
        target: arn,
        what: `managed policy ${arn}`,
        file: `${dir}/get-policy.json`,
        sink,
      },
      () => getManagedPolicy(aws, arn),
    )
    if (pol.status !== 'stored') return { arn, files }
    files.push(pol.file)
    const version = pol.value.Policy?.DefaultVersionId
    if (!version) return { arn, files }
    const ver = await run.rec.one(
      {
        call: 'iam:GetPolicyVersion',
        target: arn,
        what: `default version ${version} of managed policy ${arn}`,
        file: `${dir}/get-policy-version.${safeSegment(version)}.json`,
        sink,
      },
      () => getPolicyVersion(aws, arn, version),
    )
    if (ver.status !== 'stored') return { arn, files }
    files.push(ver.file)
    return { arn, document: ver.value.PolicyVersion?.Document, files }
  })
}

/**
 * The execution role as evidence: GetRole (trust policy, last used, boundary, tags), every inline
 * policy with its document, every attached managed policy with its default version's document, the
 * permissions boundary, and whether AWS attached its compromised-key quarantine policy. Findings:
 * risky permissions with the granting statement; the quarantine marker. Once per role per run.
 */
export function collectRole(run: SnapshotRun, roleArn: string): Promise<RoleFacts> {
  return run.cache<RoleFacts>('roles').get(roleArn, () => collect(run, roleArn))
}

async function collect(run: SnapshotRun, roleArn: string): Promise<RoleFacts> {
  const aws = run.ctx.aws
  const name = roleNameOf(roleArn)
  const dir = `iam/roles/${safeSegment(name)}`
  const gaps: Gap[] = []
  const files: string[] = []
  const facts: RoleFacts = {
    arn: roleArn,
    name,
    risky: [],
    attachedPolicies: [],
    inlinePolicies: [],
    files,
    gaps,
  }
  // GetRole and both policy lists at once; then every document at once.
  const [role, inline, attached] = await Promise.all([
    run.rec.one(
      {
        call: 'iam:GetRole',
        target: roleArn,
        what: `role ${name}`,
        file: `${dir}/get-role.json`,
        sink: gaps,
      },
      () => getRole(aws, name),
    ),
    run.rec.pages<{ PolicyNames?: string[] }>(
      {
        call: 'iam:ListRolePolicies',
        target: roleArn,
        what: `inline policies of role ${name}`,
        file: `${dir}/list-role-policies`,
        sink: gaps,
      },
      (onPage) => listRolePolicyPages(aws, name, onPage),
    ),
    run.rec.pages<{ AttachedPolicies?: { PolicyArn?: string }[] }>(
      {
        call: 'iam:ListAttachedRolePolicies',
        target: roleArn,
        what: `managed policies of role ${name}`,
        file: `${dir}/list-attached-role-policies`,
        sink: gaps,
      },
      (onPage) => listAttachedRolePolicyPages(aws, name, onPage),
    ),
  ])
  if (role.status === 'stored') files.push(role.file)
  files.push(...inline.files, ...attached.files)
  facts.inlinePolicies = inline.pages.flatMap((p) => p.PolicyNames ?? [])
  facts.attachedPolicies = attached.pages
    .flatMap((p) => p.AttachedPolicies ?? [])
    .flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : []))
  const boundary =
    role.status === 'stored' ? role.value.Role?.PermissionsBoundary?.PermissionsBoundaryArn : undefined
  const [inlineDocs, managed, boundaryFacts] = await Promise.all([
    Promise.all(
      facts.inlinePolicies.map(async (policyName) => ({
        policyName,
        doc: await run.rec.one(
          {
            call: 'iam:GetRolePolicy',
            target: roleArn,
            what: `inline policy ${policyName} of role ${name}`,
            file: `${dir}/get-role-policy.${safeSegment(policyName)}.json`,
            sink: gaps,
          },
          () => getRolePolicy(aws, name, policyName),
        ),
      })),
    ),
    Promise.all(facts.attachedPolicies.map((arn) => collectManagedPolicy(run, arn, gaps))),
    boundary ? collectManagedPolicy(run, boundary, gaps) : undefined,
  ])
  const sources: PolicySource[] = []
  for (const { policyName, doc } of inlineDocs) {
    if (doc.status !== 'stored') continue
    files.push(doc.file)
    sources.push({ policy: `inline:${policyName}`, document: doc.value.PolicyDocument })
  }
  for (const m of managed) {
    if (isQuarantinePolicy(m.arn)) facts.quarantinePolicy = m.arn
    files.push(...m.files)
    sources.push({ policy: m.arn, document: m.document })
  }
  if (boundary) {
    facts.boundaryArn = boundary
    files.push(...(boundaryFacts?.files ?? []))
  }

  facts.risky = riskyPermissions(sources)
  for (const r of facts.risky) {
    const sid = typeof r.statement.Sid === 'string' ? ` (statement ${r.statement.Sid})` : ''
    run.addFinding({
      kind: 'risky-permission',
      level: r.level,
      title: `Role ${name} grants ${r.action} on ${r.resource}${sid}: ${riskReason(r.action)}`,
      target: roleArn,
      key: `${r.policy}\u0000${r.action}\u0000${JSON.stringify(r.statement)}`,
      detail: {
        action: r.action,
        resource: r.resource,
        policy: r.policy,
        statement: r.statement,
        conditioned: r.conditioned,
        ...(facts.boundaryArn ? { permissionsBoundary: facts.boundaryArn } : {}),
      },
      evidence: files,
    })
  }
  if (facts.quarantinePolicy) {
    run.addFinding({
      kind: 'quarantine-policy',
      level: 'critical',
      title: `AWS attached ${facts.quarantinePolicy.split('/').at(-1)} to role ${name}: AWS found credentials of this role exposed`,
      target: roleArn,
      key: facts.quarantinePolicy,
      detail: { policy: facts.quarantinePolicy },
      evidence: files,
    })
  }
  return facts
}
