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
