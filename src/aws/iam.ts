import type { AwsClients } from './clients.js'
import { classifyFailure, toFirError } from './errors.js'
import { sdk } from './sdk.js'

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
      new (sdk.iam().SimulatePrincipalPolicyCommand)({
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

/**
 * The identity-policy documents a role or user holds itself (inline and attached default versions),
 * as text, every page of each list; null when IAM has no role or user of that name (its first call
 * answers NoSuchEntity). A user's groups hold more: {@link listGroupsForUser},
 * {@link groupPolicyDocuments}.
 */
export async function identityPolicyDocuments(
  aws: AwsClients,
  kind: 'role' | 'user',
  name: string,
): Promise<string[] | null> {
  const docs: string[] = []
  const iam = sdk.iam()
  // The first call answers NoSuchEntity for a role or user IAM does not have (a user's is
  // ListUserPolicies: iam:GetUser is not among the permissions fir asks for).
  const first = <T>(iamAction: string, send: () => Promise<T>): Promise<T | null> =>
    send().catch((err) => {
      if (classifyFailure(err) === 'not-found') return null
      throw toFirError(err, iamAction, `read the policies of ${kind} ${name}`)
    })
  const attachedDocuments = async (page: { AttachedPolicies?: { PolicyArn?: string }[] }) => {
    for (const p of page.AttachedPolicies ?? [])
      docs.push(...(await defaultVersionDocument(aws, p.PolicyArn)))
  }
  if (kind === 'role') {
    const role = await first('iam:GetRole', () => aws.iam.send(new iam.GetRoleCommand({ RoleName: name })))
    if (role === null) return null
    await listRolePolicyPages(aws, name, async (page) => {
      for (const p of page.PolicyNames ?? []) {
        const d = await getRolePolicy(aws, name, p)
        if (d.PolicyDocument) docs.push(d.PolicyDocument)
      }
    })
    await listAttachedRolePolicyPages(aws, name, attachedDocuments)
  } else {
    const listInline = (marker: string | undefined) =>
      aws.iam.send(new iam.ListUserPoliciesCommand({ UserName: name, Marker: marker }))
    const firstPage = await first('iam:ListUserPolicies', () => listInline(undefined))
    if (firstPage === null) return null
    await eachPage(
      (marker: string | undefined) =>
        marker === undefined
          ? Promise.resolve(firstPage)
          : iamSend('iam:ListUserPolicies', `list the inline policies of user ${name}`, () =>
              listInline(marker),
            ),
      async (page) => {
        for (const p of page.PolicyNames ?? []) {
          const d = await iamSend('iam:GetUserPolicy', `read inline policy ${p} of user ${name}`, () =>
            aws.iam.send(new iam.GetUserPolicyCommand({ UserName: name, PolicyName: p })),
          )
          if (d.PolicyDocument) docs.push(d.PolicyDocument)
        }
      },
    )
    await eachPage(
      (marker: string | undefined) =>
        iamSend('iam:ListAttachedUserPolicies', `list the managed policies of user ${name}`, () =>
          aws.iam.send(new iam.ListAttachedUserPoliciesCommand({ UserName: name, Marker: marker })),
        ),
      attachedDocuments,
    )
  }
  return docs
}

/** Hands every page of an IAM list call (Marker, IsTruncated) to `onPage`, in order. */
async function eachPage<T extends { IsTruncated?: boolean; Marker?: string }>(
  list: (marker: string | undefined) => Promise<T>,
  onPage: (page: NoInfer<T>) => Promise<void> | void,
): Promise<void> {
  let marker: string | undefined
  do {
    const page = await list(marker)
    await onPage(page)
    marker = page.IsTruncated ? page.Marker : undefined
  } while (marker)
}

/** iam:ListGroupsForUser: the names of the groups a user is in (all pages). */
export async function listGroupsForUser(aws: AwsClients, userName: string): Promise<string[]> {
  const names: string[] = []
  let marker: string | undefined
  do {
    const page = await iamSend('iam:ListGroupsForUser', `list the groups of user ${userName}`, () =>
      aws.iam.send(new (sdk.iam().ListGroupsForUserCommand)({ UserName: userName, Marker: marker })),
    )
    for (const g of page.Groups ?? []) if (g.GroupName) names.push(g.GroupName)
    marker = page.IsTruncated ? page.Marker : undefined
  } while (marker)
  return names
}

/**
 * Every policy document of an IAM group, as text: its inline policies (iam:ListGroupPolicies,
 * iam:GetGroupPolicy) and the default versions of its managed ones (iam:ListAttachedGroupPolicies,
 * iam:GetPolicy, iam:GetPolicyVersion), all pages.
 */
export async function groupPolicyDocuments(aws: AwsClients, groupName: string): Promise<string[]> {
  const iam = sdk.iam()
  const docs: string[] = []
  let marker: string | undefined
  do {
    const page = await iamSend(
      'iam:ListGroupPolicies',
      `list the inline policies of group ${groupName}`,
      () => aws.iam.send(new iam.ListGroupPoliciesCommand({ GroupName: groupName, Marker: marker })),
    )
    for (const p of page.PolicyNames ?? []) {
      const d = await iamSend('iam:GetGroupPolicy', `read inline policy ${p} of group ${groupName}`, () =>
        aws.iam.send(new iam.GetGroupPolicyCommand({ GroupName: groupName, PolicyName: p })),
      )
      if (d.PolicyDocument) docs.push(d.PolicyDocument)
    }
    marker = page.IsTruncated ? page.Marker : undefined
  } while (marker)
  do {
    const page = await iamSend(
      'iam:ListAttachedGroupPolicies',
      `list the managed policies of group ${groupName}`,
      () => aws.iam.send(new iam.ListAttachedGroupPoliciesCommand({ GroupName: groupName, Marker: marker })),
    )
    for (const p of page.AttachedPolicies ?? [])
      docs.push(...(await defaultVersionDocument(aws, p.PolicyArn)))
    marker = page.IsTruncated ? page.Marker : undefined
  } while (marker)
  return docs
}

async function defaultVersionDocument(aws: AwsClients, arn: string | undefined): Promise<string[]> {
  if (!arn) return []
  const pol = await getManagedPolicy(aws, arn)
  const v = pol.Policy?.DefaultVersionId
  if (!v) return []
  const ver = await getPolicyVersion(aws, arn, v)
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
    aws.iam.send(new (sdk.iam().GetRoleCommand)({ RoleName: roleName })),
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
    aws.iam.send(new (sdk.iam().ListRolePoliciesCommand)({ RoleName: roleName, Marker: marker })),
  )
}

/** iam:GetRolePolicy — one inline policy document (URL-encoded by AWS). */
export function getRolePolicy(aws: AwsClients, roleName: string, policyName: string) {
  return iamSend('iam:GetRolePolicy', `read inline policy ${policyName} of role ${roleName}`, () =>
    aws.iam.send(new (sdk.iam().GetRolePolicyCommand)({ RoleName: roleName, PolicyName: policyName })),
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
    aws.iam.send(new (sdk.iam().ListAttachedRolePoliciesCommand)({ RoleName: roleName, Marker: marker })),
  )
}

/** iam:GetPolicy — a managed policy's metadata (default version id). */
export function getManagedPolicy(aws: AwsClients, policyArn: string) {
  return iamSend('iam:GetPolicy', `read managed policy ${policyArn}`, () =>
    aws.iam.send(new (sdk.iam().GetPolicyCommand)({ PolicyArn: policyArn })),
  )
}

/** iam:GetPolicyVersion — one version's document (URL-encoded by AWS, not by moto). */
export function getPolicyVersion(aws: AwsClients, policyArn: string, versionId: string) {
  return iamSend('iam:GetPolicyVersion', `read version ${versionId} of managed policy ${policyArn}`, () =>
    aws.iam.send(new (sdk.iam().GetPolicyVersionCommand)({ PolicyArn: policyArn, VersionId: versionId })),
  )
}

// ---- containment and credentials (fir contain, fir creds) ----

export interface RoleInfo {
  name: string
  arn: string
  path: string
}

export async function getRoleInfo(aws: AwsClients, roleName: string): Promise<RoleInfo> {
  try {
    const out = await aws.iam.send(new (sdk.iam().GetRoleCommand)({ RoleName: roleName }))
    return { name: out.Role?.RoleName ?? roleName, arn: out.Role?.Arn ?? '', path: out.Role?.Path ?? '/' }
  } catch (err) {
    throw toFirError(err, 'iam:GetRole', `read role ${roleName}`)
  }
}

/** An inline role policy's document (decoded text), or null when the role has no policy of that name. */
export async function getRolePolicyDocument(
  aws: AwsClients,
  roleName: string,
  policyName: string,
): Promise<string | null> {
  try {
    const out = await aws.iam.send(
      new (sdk.iam().GetRolePolicyCommand)({ RoleName: roleName, PolicyName: policyName }),
    )
    const doc = out.PolicyDocument ?? null
    // AWS URL-encodes policy documents; moto does not.
    return doc?.startsWith('%') ? decodeURIComponent(doc) : doc
  } catch (err) {
    if (classifyFailure(err) === 'not-found') return null
    throw toFirError(err, 'iam:GetRolePolicy', `read policy ${policyName} of role ${roleName}`)
  }
}

export async function putRolePolicy(
  aws: AwsClients,
  roleName: string,
  policyName: string,
  document: string,
): Promise<void> {
  try {
    await aws.iam.send(
      new (sdk.iam().PutRolePolicyCommand)({
        RoleName: roleName,
        PolicyName: policyName,
        PolicyDocument: document,
      }),
    )
  } catch (err) {
    throw toFirError(err, 'iam:PutRolePolicy', `put policy ${policyName} on role ${roleName}`)
  }
}

/** Deletes an inline role policy; false when it was already gone. */
export async function deleteRolePolicy(
  aws: AwsClients,
  roleName: string,
  policyName: string,
): Promise<boolean> {
  try {
    await aws.iam.send(
      new (sdk.iam().DeleteRolePolicyCommand)({ RoleName: roleName, PolicyName: policyName }),
    )
    return true
  } catch (err) {
    if (classifyFailure(err) === 'not-found') return false
    throw toFirError(err, 'iam:DeleteRolePolicy', `delete policy ${policyName} of role ${roleName}`)
  }
}

export interface UserInfo {
  name: string
  arn: string
}

export async function getUserInfo(aws: AwsClients, userName: string): Promise<UserInfo> {
  try {
    const out = await aws.iam.send(new (sdk.iam().GetUserCommand)({ UserName: userName }))
    return { name: out.User?.UserName ?? userName, arn: out.User?.Arn ?? '' }
  } catch (err) {
    throw toFirError(err, 'iam:GetUser', `read user ${userName}`)
  }
}

export interface AccessKeyInfo {
  id: string
  status: string
  created: string | null
}

export async function listAccessKeys(aws: AwsClients, userName: string): Promise<AccessKeyInfo[]> {
  const keys: AccessKeyInfo[] = []
  let marker: string | undefined
  try {
    do {
      const page = await aws.iam.send(
        new (sdk.iam().ListAccessKeysCommand)({ UserName: userName, Marker: marker }),
      )
      for (const k of page.AccessKeyMetadata ?? []) {
        if (k.AccessKeyId)
          keys.push({
            id: k.AccessKeyId,
            status: k.Status ?? 'unknown',
            created: k.CreateDate?.toISOString() ?? null,
          })
      }
      marker = page.IsTruncated ? page.Marker : undefined
    } while (marker)
  } catch (err) {
    throw toFirError(err, 'iam:ListAccessKeys', `list the access keys of user ${userName}`)
  }
  return keys
}

/** Creates an access key. The secret is returned once: the caller must register it with the redactor. */
export async function createAccessKey(
  aws: AwsClients,
  userName: string,
): Promise<AccessKeyInfo & { secretAccessKey: string }> {
  try {
    const out = await aws.iam.send(new (sdk.iam().CreateAccessKeyCommand)({ UserName: userName }))
    const k = out.AccessKey
    if (!k?.AccessKeyId || !k.SecretAccessKey) throw new Error('CreateAccessKey returned no key')
    return {
      id: k.AccessKeyId,
      status: k.Status ?? 'Active',
      created: k.CreateDate?.toISOString() ?? null,
      secretAccessKey: k.SecretAccessKey,
    }
  } catch (err) {
    throw toFirError(err, 'iam:CreateAccessKey', `create an access key for user ${userName}`)
  }
}

export async function setAccessKeyStatus(
  aws: AwsClients,
  userName: string,
  accessKeyId: string,
  status: 'Active' | 'Inactive',
): Promise<void> {
  try {
    await aws.iam.send(
      new (sdk.iam().UpdateAccessKeyCommand)({
        UserName: userName,
        AccessKeyId: accessKeyId,
        Status: status,
      }),
    )
  } catch (err) {
    throw toFirError(
      err,
      'iam:UpdateAccessKey',
      `set access key ${accessKeyId} of user ${userName} ${status}`,
    )
  }
}

export async function deleteAccessKey(aws: AwsClients, userName: string, accessKeyId: string): Promise<void> {
  try {
    await aws.iam.send(
      new (sdk.iam().DeleteAccessKeyCommand)({ UserName: userName, AccessKeyId: accessKeyId }),
    )
  } catch (err) {
    throw toFirError(err, 'iam:DeleteAccessKey', `delete access key ${accessKeyId} of user ${userName}`)
  }
}

export interface AccessKeyLastUsed {
  userName: string | null
  lastUsedDate: string | null
  serviceName: string | null
  region: string | null
}

export async function getAccessKeyLastUsed(aws: AwsClients, accessKeyId: string): Promise<AccessKeyLastUsed> {
  try {
    const out = await aws.iam.send(new (sdk.iam().GetAccessKeyLastUsedCommand)({ AccessKeyId: accessKeyId }))
    const u = out.AccessKeyLastUsed
    return {
      userName: out.UserName ?? null,
      lastUsedDate: u?.LastUsedDate?.toISOString() ?? null,
      serviceName: u?.ServiceName && u.ServiceName !== 'N/A' ? u.ServiceName : null,
      region: u?.Region && u.Region !== 'N/A' ? u.Region : null,
    }
  } catch (err) {
    throw toFirError(err, 'iam:GetAccessKeyLastUsed', `look up access key ${accessKeyId}`)
  }
}

/** Every IAM user name in the account (all pages). */
export async function listUserNames(aws: AwsClients): Promise<string[]> {
  const names: string[] = []
  let marker: string | undefined
  try {
    do {
      const page = await aws.iam.send(new (sdk.iam().ListUsersCommand)({ Marker: marker }))
      for (const u of page.Users ?? []) if (u.UserName) names.push(u.UserName)
      marker = page.IsTruncated ? page.Marker : undefined
    } while (marker)
  } catch (err) {
    throw toFirError(err, 'iam:ListUsers', 'list the IAM users')
  }
  return names
}
