import { wildcardMatches } from './common/text.js'

/**
 * Joins lists of IAM actions (`?` = optional), first occurrence first: an action required in one
 * list and optional in another is required.
 */
export function mergeActions(...lists: readonly (readonly string[])[]): string[] {
  const out = new Map<string, boolean>()
  for (const a of lists.flat()) {
    const name = a.replace(/\?$/, '')
    out.set(name, (out.get(name) ?? true) && a.endsWith('?'))
  }
  return [...out].map(([a, optional]) => (optional ? `${a}?` : a))
}

/** The same actions, every one optional: what a flag adds (a gap, or unused, without it). */
export function asOptional(list: readonly string[]): string[] {
  return list.map((a) => (a.endsWith('?') ? a : `${a}?`))
}

/**
 * What a snapshot of one function reads (src/core/snapshot): `fir snapshot <function>`, contain's
 * snapshot-first, the playbook action `snapshot.function` and `fir sweep --snapshot`.
 */
export const SNAPSHOT_FUNCTION_ACTIONS: readonly string[] = [
  'sts:GetCallerIdentity',
  'lambda:GetFunction',
  'lambda:ListVersionsByFunction',
  'lambda:ListAliases',
  'lambda:GetPolicy',
  'lambda:GetFunctionUrlConfig',
  'lambda:ListEventSourceMappings',
  'lambda:GetFunctionConcurrency',
  'lambda:ListProvisionedConcurrencyConfigs?',
  'lambda:ListFunctionEventInvokeConfigs?',
  'lambda:GetFunctionCodeSigningConfig?',
  'lambda:GetCodeSigningConfig?',
  'lambda:GetLayerVersion',
  'iam:GetRole',
  'iam:ListRolePolicies',
  'iam:GetRolePolicy',
  'iam:ListAttachedRolePolicies',
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
  'logs:FilterLogEvents?',
  'organizations:DescribeOrganization?',
  'cloudtrail:DescribeTrails?',
  'cloudtrail:GetEventSelectors?',
  'cloudtrail:GetTrailStatus?',
  'ecr:BatchGetImage?',
  // An environment encrypted with a customer managed key comes back decrypted only to a caller
  // allowed kms:Decrypt on the key; else Lambda returns Environment.Error (a gap).
  'kms:Decrypt?',
]

/**
 * `fir snapshot --evidence-bucket` (src/core/snapshot/remote.ts): the Object Lock check, then each
 * PutObject with ObjectLockMode and ObjectLockRetainUntilDate, which S3 allows only with
 * s3:PutObjectRetention as well.
 */
export const EVIDENCE_BUCKET_ACTIONS: readonly string[] = [
  's3:GetBucketObjectLockConfiguration',
  's3:PutObject',
  's3:PutObjectRetention',
]

/**
 * The timeline's own sources: `api` (LookupEvents; GetRole for the ARN of a role given by name, to
 * look up AssumeRole of it) and trail buckets (`s3://…`); files need nothing.
 */
export const TIMELINE_SOURCE_ACTIONS: readonly string[] = [
  'cloudtrail:LookupEvents?',
  'iam:GetRole?',
  's3:ListBucket?',
  's3:GetObject?',
]

/**
 * `fir timeline --engine athena`: fir calls only Athena, but Athena reads the Glue table and the
 * trail bucket and writes the results to --athena-output with the caller's permissions.
 */
export const ATHENA_ENGINE_ACTIONS: readonly string[] = [
  'athena:StartQueryExecution',
  'athena:GetQueryExecution',
  'athena:GetQueryResults',
  // Stops the query when fir is interrupted (Ctrl-C) while it runs.
  'athena:StopQueryExecution',
  'glue:GetDatabase',
  'glue:GetTable',
  'glue:GetPartitions',
  's3:GetObject',
  's3:ListBucket',
  's3:GetBucketLocation',
  's3:PutObject',
]

/** `fir timeline --engine lake`. */
export const LAKE_ENGINE_ACTIONS: readonly string[] = [
  'cloudtrail:StartQuery',
  'cloudtrail:DescribeQuery',
  'cloudtrail:GetQueryResults',
  // Cancels the query when fir is interrupted (Ctrl-C) while it runs.
  'cloudtrail:CancelQuery',
]

/**
 * What `playbook run` and `playbook resume` need for the shipped playbooks: the union of what
 * their steps need (src/core/playbook/render.ts playbookPermissions; a test keeps the two equal).
 * A playbook of one's own may need more — `containment.restore` needs the `restore` row,
 * `snapshot.all-using-role` lambda:ListFunctions — and `fir playbook show <file>` lists it.
 */
const PLAYBOOK_RUN_ACTIONS = [
  'cloudtrail:DescribeTrails?',
  'cloudtrail:GetEventSelectors?',
  'cloudtrail:GetTrailStatus?',
  'cloudtrail:LookupEvents?',
  'ecr:BatchGetImage?',
  'iam:CreateAccessKey',
  'iam:DeleteAccessKey?',
  'iam:GetAccessKeyLastUsed',
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
  'iam:GetRole',
  'iam:GetRolePolicy',
  'iam:GetUser',
  'iam:ListAccessKeys',
  'iam:ListAttachedRolePolicies',
  'iam:ListRolePolicies',
  'iam:PutRolePolicy',
  'iam:UpdateAccessKey',
  'kms:Decrypt?',
  'lambda:GetCodeSigningConfig?',
  'lambda:GetEventSourceMapping',
  'lambda:GetFunction',
  'lambda:GetFunctionCodeSigningConfig?',
  'lambda:GetFunctionConcurrency',
  'lambda:GetFunctionConfiguration',
  'lambda:GetFunctionUrlConfig',
  'lambda:GetLayerVersion',
  'lambda:GetPolicy',
  'lambda:ListAliases',
  'lambda:ListEventSourceMappings',
  'lambda:ListFunctionEventInvokeConfigs?',
  'lambda:ListProvisionedConcurrencyConfigs?',
  'lambda:ListVersionsByFunction',
  'lambda:PutFunctionConcurrency',
  'lambda:RemovePermission',
  'lambda:UpdateEventSourceMapping',
  'lambda:UpdateFunctionConfiguration',
  'lambda:UpdateFunctionUrlConfig',
  'logs:FilterLogEvents?',
  'organizations:DescribeOrganization?',
  's3:GetObject?',
  's3:ListBucket?',
  'secretsmanager:DescribeSecret',
  'secretsmanager:ListSecrets?',
  'secretsmanager:RotateSecret',
  'sts:GetAccessKeyInfo?',
  'sts:GetCallerIdentity',
]

/**
 * contain's own steps (src/core/containment), before the snapshot it takes first: each step's
 * iamActions (test/core/permissions.test.ts checks this row holds them).
 */
const CONTAIN_STEP_ACTIONS = [
  'sts:GetCallerIdentity',
  'lambda:GetFunctionConfiguration',
  'lambda:ListEventSourceMappings',
  'lambda:GetEventSourceMapping',
  'lambda:UpdateEventSourceMapping',
  'lambda:GetFunctionConcurrency',
  'lambda:PutFunctionConcurrency',
  'lambda:ListAliases',
  'lambda:ListVersionsByFunction',
  'lambda:GetFunctionUrlConfig',
  'lambda:UpdateFunctionUrlConfig',
  'lambda:GetPolicy',
  'lambda:RemovePermission',
  'organizations:DescribeOrganization?',
  'lambda:UpdateFunctionConfiguration',
  'iam:GetRole',
  'iam:GetRolePolicy',
  'iam:PutRolePolicy',
]

/**
 * The IAM actions each fir command needs. README's "IAM permissions" section is generated from
 * this table (`npm run docs:permissions`; test/core/permissions.test.ts checks it), and `fir
 * doctor` checks the caller against it. Optional actions are marked with `?`: without them fir
 * records a gap and carries on, or they serve only a flag or source the command may not be given.
 */
export const COMMAND_PERMISSIONS: Record<string, string[]> = {
  // doctor: SimulatePrincipalPolicy; when that is refused, the caller's own policies are read
  // (a role's, or a user's and its groups'; src/aws/iam.ts). Either way a gap without them.
  doctor: [
    'sts:GetCallerIdentity',
    'iam:SimulatePrincipalPolicy?',
    'iam:GetRole?',
    'iam:ListRolePolicies?',
    'iam:GetRolePolicy?',
    'iam:ListAttachedRolePolicies?',
    'iam:ListUserPolicies?',
    'iam:GetUserPolicy?',
    'iam:ListAttachedUserPolicies?',
    'iam:ListGroupsForUser?',
    'iam:ListGroupPolicies?',
    'iam:GetGroupPolicy?',
    'iam:ListAttachedGroupPolicies?',
    'iam:GetPolicy?',
    'iam:GetPolicyVersion?',
  ],
  'case init': [],
  'case show': [],
  'case verify': [],
  // timeline: the api source needs LookupEvents; trail buckets need list and read; local files need
  // nothing. --engine athena and --engine lake need their own (Athena's Glue and S3 reads included).
  timeline: mergeActions(
    TIMELINE_SOURCE_ACTIONS,
    asOptional(ATHENA_ENGINE_ACTIONS),
    asOptional(LAKE_ENGINE_ACTIONS),
  ),
  // snapshot reads only; a denied optional action is a gap (exit 4), everything else is collected.
  // --all-using-role lists the functions; --evidence-bucket copies the set under Object Lock.
  snapshot: mergeActions(
    SNAPSHOT_FUNCTION_ACTIONS,
    ['lambda:ListFunctions?'],
    asOptional(EVIDENCE_BUCKET_ACTIONS),
  ),
  // report reads only the case folder: no AWS call.
  report: [],
  // sweep: ListAccounts for --org; the rest in each account through the assumed role, and with
  // --snapshot the snapshot reads there too (a failed snapshot is a gap).
  sweep: mergeActions(
    [
      'sts:GetCallerIdentity',
      'organizations:ListAccounts?',
      'sts:AssumeRole',
      'organizations:DescribeOrganization?',
      'lambda:ListFunctions',
      'lambda:GetPolicy?',
      'lambda:ListAliases?',
      'lambda:ListFunctionUrlConfigs?',
    ],
    asOptional(SNAPSHOT_FUNCTION_ACTIONS),
  ),
  'athena ddl': [],
  // contain takes a snapshot of the function first when the case has none (DESIGN §4).
  contain: mergeActions(CONTAIN_STEP_ACTIONS, SNAPSHOT_FUNCTION_ACTIONS),
  // restore: each step's undoIamActions (test/core/permissions.test.ts checks them); the role and
  // key actions only when `sessions` / `rotate-key` are named.
  restore: [
    'sts:GetCallerIdentity',
    'lambda:GetFunctionConfiguration',
    'lambda:ListEventSourceMappings',
    'lambda:GetEventSourceMapping',
    'lambda:UpdateEventSourceMapping',
    'lambda:GetFunctionConcurrency',
    'lambda:PutFunctionConcurrency',
    'lambda:DeleteFunctionConcurrency',
    'lambda:ListAliases',
    'lambda:ListVersionsByFunction',
    'lambda:GetFunctionUrlConfig',
    'lambda:UpdateFunctionUrlConfig',
    'lambda:GetPolicy',
    'lambda:AddPermission',
    'organizations:DescribeOrganization?',
    'lambda:UpdateFunctionConfiguration',
    'iam:GetRole?',
    'iam:GetRolePolicy?',
    // Putting back the document a policy of that name held before fir's revocation.
    'iam:PutRolePolicy?',
    'iam:DeleteRolePolicy?',
    'iam:GetUser?',
    'iam:ListAccessKeys?',
    'iam:UpdateAccessKey?',
  ],
  'creds revoke-sessions': ['sts:GetCallerIdentity', 'iam:GetRole', 'iam:GetRolePolicy', 'iam:PutRolePolicy'],
  'creds rotate-key': [
    'sts:GetCallerIdentity',
    'iam:GetUser',
    'iam:ListAccessKeys',
    'iam:CreateAccessKey',
    'iam:UpdateAccessKey',
    'iam:DeleteAccessKey?',
  ],
  'creds rotate-secret': [
    'sts:GetCallerIdentity',
    'secretsmanager:DescribeSecret',
    'secretsmanager:RotateSecret',
  ],
  // creds keys / secrets read only; each denied lookup is a gap.
  'creds keys': [
    'sts:GetAccessKeyInfo?',
    'iam:GetAccessKeyLastUsed?',
    'iam:ListUsers?',
    'iam:ListAccessKeys?',
  ],
  'creds secrets': [
    'iam:GetRole?',
    'iam:ListRolePolicies?',
    'iam:GetRolePolicy?',
    'iam:ListAttachedRolePolicies?',
    'iam:GetPolicy?',
    'iam:GetPolicyVersion?',
    'secretsmanager:ListSecrets?',
  ],
  // playbook list/show/validate read only playbook files; tabletop runs against the local
  // emulator with dummy credentials and needs no AWS permission at all.
  'playbook list': [],
  'playbook show': [],
  'playbook validate': [],
  // playbook run/resume: what the shipped playbooks need (see PLAYBOOK_RUN_ACTIONS). `fir
  // playbook show <name|file>` lists what one playbook needs.
  'playbook run': PLAYBOOK_RUN_ACTIONS,
  'playbook resume': PLAYBOOK_RUN_ACTIONS,
  'tabletop list': [],
  'tabletop run': [],
}

/** A list of actions (`?` = optional) as the two lists README and `--help` show. */
export function splitOptional(actions: readonly string[]): { required: string[]; optional: string[] } {
  return {
    required: actions.filter((a) => !a.endsWith('?')),
    optional: actions.filter((a) => a.endsWith('?')).map((a) => a.slice(0, -1)),
  }
}

export function requiredActions(command: string): string[] {
  return (COMMAND_PERMISSIONS[command] ?? []).map((a) => a.replace(/\?$/, ''))
}

/** Does an IAM action pattern (with * and ?) match an action, case-insensitively? */
export function actionMatches(pattern: string, action: string): boolean {
  return wildcardMatches(pattern, action, { ignoreCase: true })
}

export interface PolicyStatement {
  Sid?: string
  Effect?: string
  Action?: string | string[]
  NotAction?: string | string[]
  Resource?: string | string[]
  NotResource?: string | string[]
  Principal?: unknown
  Condition?: Record<string, unknown>
}

export interface PolicyDocument {
  Version?: string
  Statement?: PolicyStatement | PolicyStatement[]
}

export function statementsOf(doc: PolicyDocument | string | undefined): PolicyStatement[] {
  if (!doc) return []
  let d: PolicyDocument
  try {
    // GetPolicyVersion/GetRolePolicy documents arrive URL-encoded from AWS (not from moto).
    d =
      typeof doc === 'string'
        ? (JSON.parse(doc.startsWith('%') ? decodeURIComponent(doc) : doc) as PolicyDocument)
        : doc
  } catch {
    return []
  }
  const s = d.Statement
  return Array.isArray(s) ? s : s ? [s] : []
}

export function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

/**
 * Whether identity policies appear to allow an action on some resource: an explicit Deny on `*`
 * wins, then any Allow. Conditions and resource scoping are not evaluated (hence "appears").
 */
export function appearsAllowed(
  statements: PolicyStatement[],
  action: string,
): 'allowed' | 'denied' | 'not-granted' {
  const matches = (s: PolicyStatement) =>
    s.NotAction !== undefined
      ? !asList(s.NotAction).some((p) => actionMatches(p, action))
      : asList(s.Action).some((p) => actionMatches(p, action))
  if (
    statements.some(
      (s) => s.Effect === 'Deny' && matches(s) && asList(s.Resource).includes('*') && !s.Condition,
    )
  ) {
    return 'denied'
  }
  return statements.some((s) => s.Effect === 'Allow' && matches(s)) ? 'allowed' : 'not-granted'
}
