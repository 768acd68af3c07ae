import { wildcardMatches } from './common/text.js'

/**
 * The IAM actions each fir command needs. README's "IAM permissions" section is checked against
 * this table by test/core/permissions.test.ts, and `fir doctor` checks the caller against it.
 * Optional actions are marked with `?`: without them fir records a gap and carries on.
 */
/** What `playbook run` and `playbook resume` may need: every action a playbook can use. */
const PLAYBOOK_RUN_ACTIONS = [
  'cloudtrail:DescribeTrails?',
  'cloudtrail:GetEventSelectors?',
  'cloudtrail:GetTrailStatus?',
  'cloudtrail:LookupEvents?',
  'ecr:BatchGetImage?',
  'iam:CreateAccessKey',
  'iam:DeleteAccessKey?',
  'iam:DeleteRolePolicy?',
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
  'lambda:AddPermission',
  'lambda:DeleteFunctionConcurrency',
  'lambda:GetCodeSigningConfig?',
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
  'lambda:ListFunctions',
  'lambda:ListProvisionedConcurrencyConfigs?',
  'lambda:ListVersionsByFunction',
  'lambda:PutFunctionConcurrency',
  'lambda:RemovePermission',
  'lambda:UpdateEventSourceMapping',
  'lambda:UpdateFunctionConfiguration',
  'lambda:UpdateFunctionUrlConfig',
  'logs:FilterLogEvents?',
  'organizations:DescribeOrganization?',
  's3:GetBucketObjectLockConfiguration?',
  's3:GetObject?',
  's3:ListBucket?',
  's3:PutObject?',
  'secretsmanager:DescribeSecret',
  'secretsmanager:ListSecrets?',
  'secretsmanager:RotateSecret',
  'sts:GetAccessKeyInfo?',
  'sts:GetCallerIdentity',
]

export const COMMAND_PERMISSIONS: Record<string, string[]> = {
  doctor: ['sts:GetCallerIdentity', 'iam:SimulatePrincipalPolicy?', 'iam:GetRole?', 'iam:GetUser?'],
  'case init': [],
  'case show': [],
  'case verify': [],
  // timeline: the api source needs LookupEvents; trail buckets need list and read; local files need nothing.
  // --engine athena adds the Athena and Glue reads (and s3:PutObject on --athena-output); --engine lake the Lake calls.
  timeline: [
    'cloudtrail:LookupEvents?',
    's3:ListBucket?',
    's3:GetObject?',
    'athena:StartQueryExecution?',
    'athena:GetQueryExecution?',
    'athena:GetQueryResults?',
    'glue:GetTable?',
    's3:PutObject?',
    'cloudtrail:StartQuery?',
    'cloudtrail:DescribeQuery?',
    'cloudtrail:GetQueryResults?',
  ],
  // snapshot reads only; a denied optional action is a gap (exit 4), everything else is collected.
  snapshot: [
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
    'lambda:ListFunctions?',
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
    's3:GetBucketObjectLockConfiguration?',
    's3:PutObject?',
  ],
  // report reads only the case folder: no AWS call.
  report: [],
  // sweep: ListAccounts for --org; the rest in each account through the assumed role.
  sweep: [
    'sts:GetCallerIdentity',
    'organizations:ListAccounts?',
    'sts:AssumeRole',
    'organizations:DescribeOrganization?',
    'lambda:ListFunctions',
    'lambda:GetPolicy?',
    'lambda:ListFunctionUrlConfigs?',
  ],
  'athena ddl': [],
  // contain: plus the snapshot row when the case has no snapshot of the function yet.
  contain: [
    'sts:GetCallerIdentity',
    'lambda:GetFunctionConfiguration',
    'lambda:ListEventSourceMappings',
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
  ],
  // restore: the role and key actions only when `sessions` / `rotate-key` are named.
  restore: [
    'sts:GetCallerIdentity',
    'lambda:GetFunctionConfiguration',
    'lambda:ListEventSourceMappings',
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
  // playbook run/resume: every action a playbook may use (src/core/playbook/render.ts
  // ACTION_PERMISSIONS; a test keeps this row equal to it). `fir playbook show <name>` lists
  // what one playbook needs.
  'playbook run': PLAYBOOK_RUN_ACTIONS,
  'playbook resume': PLAYBOOK_RUN_ACTIONS,
  'tabletop list': [],
  'tabletop run': [],
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
