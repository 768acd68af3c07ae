import type { Gap } from '../context.js'

/**
 * The calls that read a role's policies (DESIGN §3): a gap in one leaves the role's risky
 * permissions unknown (the snapshot's and the report's wording both rest on it).
 */
export const ROLE_POLICY_CALLS: ReadonlySet<string> = new Set([
  'iam:ListRolePolicies',
  'iam:GetRolePolicy',
  'iam:ListAttachedRolePolicies',
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
])

/** How serious a finding is (the shared findings format of the brief). */
export type FindingLevel = 'critical' | 'high' | 'medium' | 'low' | 'informational'

/**
 * One finding of a snapshot, as written to `findings.json`. `detail` never holds a secret value:
 * secrets appear only in their redacted form. `evidence` lists paths relative to the set.
 */
export interface Finding {
  id: string
  kind: FindingKind
  level: FindingLevel
  title: string
  /** The function ARN or role ARN the finding is about. */
  target: string
  detail: Record<string, unknown>
  evidence: string[]
}

export type FindingKind =
  | 'secret-in-environment'
  | 'access-key-in-environment'
  | 'risky-permission'
  | 'public-url'
  | 'public-statement'
  | 'unscoped-service-statement'
  | 'code-integrity'
  | 'code-changed'
  | 'hostile-archive'
  | 'quarantine-policy'
  | 'trail-coverage'
  | 'log-group-missing'
  | 'foreign-layer'
  | 'image-missing'

/** A role permission that gives an attacker leverage, with the statement that grants it. */
export interface RiskyPermission {
  /** The risky action (or pattern) granted, e.g. `iam:PassRole`, `iam:*`, `*`. */
  action: string
  /** The statement's Resource (joined when a list). */
  resource: string
  /** Where it comes from: `inline:<name>`, the managed policy ARN, or `boundary:<arn>`. */
  policy: string
  /** The granting statement, verbatim. */
  statement: Record<string, unknown>
  level: FindingLevel
  /** The statement has a Condition (not evaluated: the permission may be narrower than it looks). */
  conditioned: boolean
}

/** Something that lets callers outside the account invoke the function. */
export interface ExposureEntry {
  kind: 'function-url' | 'resource-policy' | 'service-principal'
  /** The qualifiers ($LATEST, versions, aliases) whose policy or URL config shows it. */
  qualifiers: string[]
  level: FindingLevel
  /** One line for people: what is exposed and why. */
  summary: string
  url?: string
  authType?: string
  sid?: string
  principal?: unknown
  actions?: string[]
  /** Resource policy grants a public URL needs (since October 2025: both). */
  grants?: { invokeFunctionUrl: boolean; invokeFunction: boolean }
}

/** A secret-looking environment value: only its redacted form. */
export interface SecretSummary {
  name: string
  redacted: string
  kind: string
  qualifiers: string[]
}

/**
 * Environments Lambda returned an error in place of (`Environment.Error`: it could not decrypt
 * the variables with the function's KMS key): what it said, and the qualifiers it said it for.
 */
export interface EnvironmentError {
  error: string
  qualifiers: string[]
}

/**
 * Qualifiers whose configuration neither GetFunction nor the version list returned (for an alias:
 * nor its version's), and why: what runs there — its layers, environment, role — is unknown.
 */
export interface UnreadConfiguration {
  reason: string
  qualifiers: string[]
}

/**
 * Qualifiers whose resource policy GetPolicy could not read (a gap, not "no policy": denied,
 * throttled, or the version or alias deleted while it was read), and why: what it grants, and so
 * their exposure, is unknown.
 */
export interface UnreadPolicy {
  reason: string
  qualifiers: string[]
}

export interface VersionSummary {
  version: string
  codeSha256?: string
  lastModified?: string
  description?: string
  /**
   * The execution role (ARN) the version runs with: the one it was published with (a version's
   * configuration cannot change), whatever `$LATEST` runs with now. Absent in sets written before
   * it was recorded (read those from the stored responses: function-roles.ts).
   */
  role?: string
  /** What became of the package of the version (see {@link CodeCheck}). */
  code: CodeCheck
  /**
   * `version-list`: GetFunction of the version failed, and its configuration (environment, layers,
   * role) comes from ListVersionsByFunction; its code location does not (the code was not read).
   * Absent when GetFunction answered.
   */
  configuration?: 'version-list'
}

/**
 * What became of a package: `match` — downloaded, and its bytes have the reported CodeSha256;
 * `mismatch` — its bytes differ from the CodeSha256 of the configuration that gave its location (an
 * integrity finding); `changed` — the code changed while fir read it (see {@link CodeChange}): the
 * package of the new code was downloaded whole and has the new CodeSha256, the one first reported
 * was not read whole; `not-downloaded` (a gap says why); `image`.
 */
export type CodeCheck = 'match' | 'mismatch' | 'changed' | 'not-downloaded' | 'image'

/**
 * The code changed while fir read it: the configuration the snapshot describes reported CodeSha256
 * `from`, and the one a location fetched again came with reported `to` (asked at `at`, UTC). A
 * redeploy or an attacker's UpdateFunctionCode during the incident; the package kept is `to`'s.
 */
export interface CodeChange {
  from: string
  to: string
  at?: string
}

export interface AliasSummary {
  name: string
  version?: string
  routing?: Record<string, number>
  description?: string
}

export interface LayerSummary {
  arn: string
  codeSha256?: string
  codeSize?: number
  /** The stored content (relative path), when it could be downloaded and matched. */
  file?: string
  code: CodeCheck
  /** The qualifiers ($LATEST, versions, aliases) whose configuration runs this layer version. */
  qualifiers: string[]
}

/** A function URL config (of `$LATEST` or an alias), with the qualifiers whose config it is. */
export interface UrlSummary {
  url: string
  authType?: string
  qualifiers: string[]
}

/**
 * The container image one or more qualifiers run: its ImageUri, its resolved digest, and whether
 * ECR still holds that digest (`true`: the manifest is stored; `false`: ECR said ImageNotFound, or
 * RepositoryNotFoundException for its repository — an `image-missing` finding; `null`: not read, a
 * gap says why).
 */
export interface ImageSummary {
  imageUri: string
  digest?: string
  qualifiers: string[]
  inEcr: boolean | null
}

/** One provisioned concurrency config (of a version or alias), as ListProvisionedConcurrencyConfigs gave it. */
export interface ProvisionedConcurrencySummary {
  qualifier: string
  requested?: number
  allocated?: number
  available?: number
  status?: string
}

/** An event source mapping of a function: its UUID, source, state, and the qualifier it is attached to. */
export interface EventSourceMappingSummary {
  uuid?: string
  source?: string
  state?: string
  /** The version or alias the mapping invokes; absent when it invokes the function unqualified. */
  qualifier?: string
}

/** One function in `summary.json` (the shared format of the brief, plus a few more facts). */
export interface FunctionSummary {
  name: string
  arn: string
  region: string
  account: string
  /** The qualifier the top-level facts describe ($LATEST unless --qualifier). */
  qualifier: string
  runtime?: string
  packageType?: string
  lastModified?: string
  codeSha256?: string
  /** Whether the downloaded package of `qualifier` has that CodeSha256 (see {@link CodeCheck}). */
  code: CodeCheck
  /** The code of `qualifier` changed while fir read it: `codeSha256` is `from`, `codeFile` is `to`'s. */
  codeChange?: CodeChange
  /** The stored package (relative path in the set) of `qualifier`. */
  codeFile?: string
  imageUri?: string
  imageDigest?: string
  /** Image functions: every distinct image the qualifiers run, `qualifier`'s first. */
  images: ImageSummary[]
  role?: string
  roleName?: string
  description?: string
  versions: VersionSummary[]
  aliases: AliasSummary[]
  /** Layers of every qualifier, each naming its qualifiers: those of `qualifier` first. */
  layers: LayerSummary[]
  /** Qualifiers whose configuration was not read: their layers are unknown (not in `layers`). */
  unreadConfigurations: UnreadConfiguration[]
  /** The URL config of `qualifier` itself, or null when it has none (a version never has one). */
  url: UrlSummary | null
  /** Every function URL config ($LATEST's and each alias's), deduplicated by URL: `qualifier`'s first. */
  urls: UrlSummary[]
  exposure: ExposureEntry[]
  /** Qualifiers whose resource policy was not read: `exposure` may miss what it grants. */
  unreadPolicies: UnreadPolicy[]
  secrets: SecretSummary[]
  accessKeyIds: string[]
  /** Environments Lambda did not return: their secrets and access key ids are unknown. */
  environmentErrors: EnvironmentError[]
  riskyPermissions: RiskyPermission[]
  reservedConcurrency: number | null
  /** Provisioned concurrency configs of the versions and aliases; null when they were not read (a gap). */
  provisionedConcurrency: ProvisionedConcurrencySummary[] | null
  /** The mappings of the function, its versions and its aliases. */
  eventSourceMappings: EventSourceMappingSummary[]
  logGroup: { name: string; events: number; truncated: boolean; present: boolean | null }
  /** Are Invoke calls (Lambda data events) recorded by a logging trail in the function's region? */
  trailCoverage: { lambdaDataEvents: 'recorded' | 'not-recorded' | 'unknown'; trails: string[] }
  quarantined: boolean
  gaps: Gap[]
}

/** `summary.json`. */
export interface SnapshotSummary {
  takenBy: { arn: string; account: string }
  takenAt: string
  region: string
  firVersion: string
  set: string
  functions: FunctionSummary[]
  gaps: Gap[]
}

export interface SnapshotOptions {
  /** Names, partial ARNs or full ARNs (a full ARN sets region and account). */
  functions: string[]
  /** The version or alias the summary describes (everything is collected regardless). */
  qualifier?: string
  /** Also every function in `regions` whose execution role is this (name or ARN). */
  allUsingRole?: string
  /** Regions to search with allUsingRole (default: the client's region). */
  regions?: string[]
  /** `s3://bucket/prefix`: copy the sealed set there under Object Lock. */
  evidenceBucket?: string
  retentionDays?: number
  retentionMode?: 'COMPLIANCE' | 'GOVERNANCE'
  /** Hours of the function's log group to keep (default 24). */
  logHours?: number
  /** At most this many log events per function (default 10 000). */
  logLimit?: number
  /** Lambda control-plane requests per second (default 10, or FIR_LAMBDA_RPS). */
  lambdaRps?: number
  /** Versions walked at once per function (default 8). */
  versionConcurrency?: number
  /** Functions walked at once (default 4). */
  functionConcurrency?: number
}

/** Where a sealed set was copied under Object Lock. */
export interface RemoteCopy {
  bucket: string
  prefix: string
  mode: 'COMPLIANCE' | 'GOVERNANCE'
  retainUntil: string
  objects: { path: string; key: string; versionId?: string; etag?: string }[]
  manifest?: { key: string; versionId?: string }
}

export interface SnapshotResult {
  /** The evidence set's name (`evidence/<set>`). */
  set: string
  /** The set's folder. */
  dir: string
  manifestSha256: string
  files: number
  takenBy: { arn: string; account: string }
  takenAt: string
  functions: FunctionSummary[]
  findings: Finding[]
  gaps: Gap[]
  remote?: RemoteCopy
}
