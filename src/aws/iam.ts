import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam'
import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'

/** iam:SimulatePrincipalPolicy: decision per action ('allowed' | 'explicitDeny' | 'implicitDeny'). */
export async function simulatePrincipal(
  aws: AwsClients,
  principalArn: string,
  actions: string[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  let marker: string | undefined
  do {
    const page = await aws.iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: principalArn,
        ActionNames: actions,
        Marker: marker,
      }),
    )
    for (const r of page.EvaluationResults ?? [])
      if (r.EvalActionName) out[r.EvalActionName] = r.EvalDecision ?? 'unknown'
    marker = page.IsTruncated ? page.Marker : undefined
  } while (marker)
  return out
}

/** Every identity-policy document of a role or user (inline and attached default versions), as text. */
export async function identityPolicyDocuments(
  aws: AwsClients,
  kind: 'role' | 'user',
  name: string,
): Promise<string[]> {
  const docs: string[] = []
  if (kind === 'role') {
    await aws.iam.send(new GetRoleCommand({ RoleName: name }))
    const inline = await aws.iam.send(new ListRolePoliciesCommand({ RoleName: name }))
    for (const p of inline.PolicyNames ?? []) {
      const d = await aws.iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: p }))
      if (d.PolicyDocument) docs.push(d.PolicyDocument)
    }
    const attached = await aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }))
    for (const p of attached.AttachedPolicies ?? [])
      docs.push(...(await defaultVersionDocument(aws, p.PolicyArn)))
  } else {
    const inline = await aws.iam.send(new ListUserPoliciesCommand({ UserName: name }))
    for (const p of inline.PolicyNames ?? []) {
      const d = await aws.iam.send(new GetUserPolicyCommand({ UserName: name, PolicyName: p }))
      if (d.PolicyDocument) docs.push(d.PolicyDocument)
    }
    const attached = await aws.iam.send(new ListAttachedUserPoliciesCommand({ UserName: name }))
    for (const p of attached.AttachedPolicies ?? [])
      docs.push(...(await defaultVersionDocument(aws, p.PolicyArn)))
  }
  return docs
}

async function defaultVersionDocument(aws: AwsClients, arn: string | undefined): Promise<string[]> {
  if (!arn) return []
  const pol = await aws.iam.send(new GetPolicyCommand({ PolicyArn: arn }))
  const v = pol.Policy?.DefaultVersionId
  if (!v) return []
  const ver = await aws.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: v }))
  return ver.PolicyVersion?.Document ? [ver.PolicyVersion.Document] : []
}

// Role evidence for snapshots: each returns the SDK output unchanged (stored verbatim by the
// caller); errors become fir errors with the SDK error as `cause`; list calls hand over every page.

async function iamSend<T>(iamAction: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw toFirError(err, iamAction, what)
  }
}

/** iam:GetRole — trust policy, last used, permissions boundary, tags. */
export function getRole(aws: AwsClients, roleName: string) {
  return iamSend('iam:GetRole', `read role ${roleName}`, () =>
    aws.iam.send(new GetRoleCommand({ RoleName: roleName })),
  )
}

/** iam:ListRolePolicies (inline policy names), page by page. */
export async function listRolePolicyPages(
  aws: AwsClients,
  roleName: string,
  onPage: (page: Awaited<ReturnType<typeof listRolePoliciesPage>>, index: number) => Promise<void> | void,
): Promise<number> {
  let marker: string | undefined
  let index = 0
  do {
    const page = await listRolePoliciesPage(aws, roleName, marker)
    await onPage(page, index++)
    marker = page.IsTruncated ? page.Marker : undefined
  } while (marker)
  return index
}

function listRolePoliciesPage(aws: AwsClients, roleName: string, marker: string | undefined) {
  return iamSend('iam:ListRolePolicies', `list the inline policies of role ${roleName}`, () =>
    aws.iam.send(new ListRolePoliciesCommand({ RoleName: roleName, Marker: marker })),
  )
}

/** iam:GetRolePolicy — one inline policy document (URL-encoded by AWS). */
export function getRolePolicy(aws: AwsClients, roleName: string, policyName: string) {
  return iamSend('iam:GetRolePolicy', `read inline policy ${policyName} of role ${roleName}`, () =>
    aws.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })),
  )
}

/** iam:ListAttachedRolePolicies (managed policies), page by page. */
export async function listAttachedRolePolicyPages(
  aws: AwsClients,
  roleName: string,
  onPage: (page: Awaited<ReturnType<typeof listAttachedPage>>, index: number) => Promise<void> | void,
): Promise<number> {
  let marker: string | undefined
  let index = 0
  do {
    const page = await listAttachedPage(aws, roleName, marker)
    await onPage(page, index++)
    marker = page.IsTruncated ? page.Marker : undefined
  } while (marker)
  return index
}

function listAttachedPage(aws: AwsClients, roleName: string, marker: string | undefined) {
  return iamSend('iam:ListAttachedRolePolicies', `list the managed policies of role ${roleName}`, () =>
    aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, Marker: marker })),
  )
}

/** iam:GetPolicy — a managed policy's metadata (default version id). */
export function getManagedPolicy(aws: AwsClients, policyArn: string) {
  return iamSend('iam:GetPolicy', `read managed policy ${policyArn}`, () =>
    aws.iam.send(new GetPolicyCommand({ PolicyArn: policyArn })),
  )
}

/** iam:GetPolicyVersion — one version's document (URL-encoded by AWS, not by moto). */
export function getPolicyVersion(aws: AwsClients, policyArn: string, versionId: string) {
  return iamSend('iam:GetPolicyVersion', `read version ${versionId} of managed policy ${policyArn}`, () =>
    aws.iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId })),
  )
}
