/**
 * The report's view model: everything a template may show, computed in TypeScript from the case
 * folder by `buildReportModel`. Templates (ours and an organisation's own `--template`) only render
 * these values; sorting, counting, grouping, chart geometry and recommendations all happen here.
 *
 * Every string in the model has already been redacted (registered secrets scrubbed) and made
 * visible (control characters and ANSI escapes shown as `\e`, `\x07`…). Strings are NOT escaped for
 * any output format: the HTML template relies on Handlebars' escaping, the Markdown template on the
 * `md` helper. Absent facts are `null` or empty lists, never placeholder text; each section carries
 * `present` and, when it is empty, `absentReason` — an honest sentence saying why. A fact shown in
 * a table cell has such a sentence too (`FunctionFacts.absent`, `SummarySection.firstDetectionAbsent`…):
 * `none`, `none published ($LATEST only)`, or `unknown: <reason>` when fir could not read it, so no
 * cell is left blank and "could not read" never reads as "none".
 *
 * Times are UTC ISO 8601 strings (`2026-03-14T09:12:03.000Z`); `…Display` fields hold the same time
 * as `2026-03-14 09:12:03 UTC`.
 */

/** The five finding levels, most severe first. */
export const LEVELS = ['critical', 'high', 'medium', 'low', 'informational'] as const
export type Level = (typeof LEVELS)[number]

/** The version of this model's shape; a template may check it. */
export const REPORT_SCHEMA = 'fir.report/1'

export interface ReportModel {
  /** `fir.report/1`. */
  schema: string
  /** When the report was built (UTC) and by which fir. */
  generatedAt: string
  generatedAtDisplay: string
  firVersion: string
  case: CaseFacts
  summary: SummarySection
  scope: ScopeSection
  roles: RolesSection
  findings: FindingsSection
  timeline: TimelineSection
  actions: ActionsSection
  evidence: EvidenceSection
  gaps: GapsSection
  limits: LimitsSection
  recommendations: RecommendationsSection
  afterAction: AfterActionSection
  /** Problems met while reading the case (a corrupt file, an unreadable manifest): shown in the report. */
  readProblems: string[]
}

/** case.json. */
export interface CaseFacts {
  id: string
  title: string
  created: string
  createdDisplay: string
  /** `user@host` that ran `fir case init`. */
  createdBy: string
  /** The case folder's name (not its full local path). */
  folder: string
}

/** A count for one severity level, with its display label. */
export interface LevelCount {
  level: Level
  /** `Critical`, `High`… */
  label: string
  count: number
}

/** What happened, when it was seen, what it touched, and where the response stands. */
export interface SummarySection {
  /** One sentence: what the incident is about. */
  headline: string
  /** The functions in scope, by name. */
  functions: string[]
  /** When the case was opened (case.json `created`). */
  caseOpened: string
  caseOpenedDisplay: string
  /** The earliest event that a detection flagged (timeline findings), or null. */
  firstDetection: string | null
  firstDetectionDisplay: string | null
  /** The title of that earliest detection. */
  firstDetectionTitle: string | null
  /** Why there is no first detection (`none: no timeline was collected`…), or null when there is one. */
  firstDetectionAbsent: string | null
  /** The first and last event of the collected timeline, or null without a timeline. */
  firstActivity: string | null
  firstActivityDisplay: string | null
  lastActivity: string | null
  lastActivityDisplay: string | null
  /** Why there is no first and last activity (no timeline, or no event in it), or null. */
  activityAbsent: string | null
  /** Impact statements, each computed from the evidence or timeline (counts, exposures, secrets). */
  impact: string[]
  /** Findings per level (all five levels, zero counts included). */
  counts: LevelCount[]
  totalFindings: number
  status: ResponseStatus
}

/**
 * Where the response stands, function by function (journal-view.ts `statusOf`): a function is
 * contained when its throttle is in force or every way in its snapshot showed is closed by a
 * measure in force. `contained` (every function counted is, nothing failed), `partially-contained`
 * (some are, some are not, or a step failed, was denied or is in conflict), `restored` (every
 * measure was undone), `not-contained` (none is, or nothing ran), `unknown` (it rests on sealed
 * evidence that is missing or changed: the journal's view follows in `detail`).
 */
export interface ResponseStatus {
  code: 'contained' | 'partially-contained' | 'restored' | 'not-contained' | 'unknown'
  label: string
  /**
   * The measures in force, e.g. `Throttle: reserved concurrency 0: orders-api`, then the access
   * keys the case cut off (`Rotate access key: AKIA… of user ci — deactivated, …`).
   */
  inForce: string[]
  /** Why: the measures' count and outcomes, and each function not contained with its reason. */
  detail: string
}

/** Accounts, regions, functions and the time window the case covers. */
export interface ScopeSection {
  accounts: string[]
  regions: string[]
  functions: FunctionFacts[]
  /** The timeline's collection window (from timeline/summary.json), or null. */
  window: {
    since: string | null
    sinceDisplay: string | null
    until: string | null
    untilDisplay: string | null
    /**
     * When the timeline ran (timeline/summary.json `startedAt`…`finishedAt`): the end of an
     * open-ended window. Null when not recorded.
     */
    ranAt: string | null
    ranAtDisplay: string | null
    /**
     * The window in words: `2026-03-07 09:00:00 UTC → 2026-03-14 09:00:00 UTC`, or for an open-ended
     * one `2026-03-07 09:00:00 UTC → now (2026-03-14 09:00:02 UTC, when the timeline ran)`.
     */
    text: string
  } | null
  /** Where events came from (`api: 180 events kept`, `s3://…`, paths), as recorded by the timeline run. */
  timelineSources: string[]
  /** Timelines a re-run replaced, kept in the case: `timeline/history/<start> (N events)`. */
  earlierTimelines: string[]
  /** The org sweeps of the case (`fir sweep`), oldest first: how far the indicators reach. */
  sweeps: SweepView[]
  present: boolean
  absentReason: string | null
}

/**
 * One org sweep of the case (journal `sweep`, file `sweeps/<UTC>.json`): what it looked for,
 * where, and the function versions it matched. The file is read only when its SHA-256 is the one
 * the journal recorded; otherwise `fileProblem` says so and only the journal's facts are shown
 * (`journalFunctions` instead of `matches`).
 */
export interface SweepView {
  /** `sweeps/<UTC>.json` in the case folder. */
  file: string
  /** Its SHA-256 as journaled, or null when the journal does not record it. */
  fileSha256: string | null
  /** Why the file was not used (`… was changed after fir wrote it …`), or null. */
  fileProblem: string | null
  /** When it started (UTC) and who ran it. */
  at: string
  atDisplay: string
  caller: string | null
  /** What it looked for: `role name R`, `environment value sha256:ab12cd34…` (never a value). */
  indicators: string[]
  /** `4 accounts: 2 swept, 1 read in part (…), 1 denied (…)`. */
  accountsText: string
  /** `id (name)` of the accounts it could not read at all, or read only in part. */
  accountsDenied: string[]
  accountsPartial: string[]
  regions: string[]
  functionVersionsSeen: number
  matchCount: number
  /** `121 function versions (40 functions)`. */
  matchCountText: string
  gapCount: number
  /**
   * `3 functions could not be checked for --public (lambda:GetPolicy)`: the functions it could not
   * check for an indicator (no match says nothing of them), or null when it checked every one.
   */
  notCheckedText: string | null
  /** Why no account was swept (none listed, or none ACTIVE), or null. */
  nothingSwept: string | null
  /** The matches shown, in account, region, function and version order (at most the report's limit). */
  matches: SweepMatchView[]
  matchesShown: number
  /** `and 21 more (see sweeps/….json)`, or null when every match (or journal function) is shown. */
  moreText: string | null
  /** Without a usable file: the matched functions the journal records (at most the report's limit). */
  journalFunctions: string[]
  /** Of the functions it matched: how many this case sealed (by the sweep or a snapshot), and contained. */
  sealedFunctions: number
  containedFunctions: number
}

/** One function version a sweep matched. */
export interface SweepMatchView {
  /** `111122223333 (prod-payments)`. */
  account: string
  region: string
  /** `name:version`. */
  function: string
  arn: string
  /** Each indicator it matched, with why: `role-name: runs with role arn:…`. */
  why: string
  /**
   * `sealed in evidence/<set>` or `sealed with gaps in evidence/<set> (…)` (by the sweep),
   * `snapshotted in evidence/<set>` (a snapshot of the case), `not sealed`, `not sealed: the
   * sweep's snapshot captured nothing of it in evidence/<set> (…)` or `not sealed: the sweep's
   * snapshot failed (…)`; `; contained` when the case contains the function.
   */
  sealed: string
  isSealed: boolean
  contained: boolean
}

/**
 * One function and qualifier as its latest snapshot saw it (evidence summary.json): a function
 * snapshotted at two qualifiers (`fir snapshot fn fn:live`) is two of them.
 */
export interface FunctionFacts {
  name: string
  /** The qualifier these facts describe (`$LATEST` unless the snapshot named another). */
  qualifier: string
  /**
   * The name to show: `name`, or `name:qualifier` when the qualifier is not `$LATEST` or the
   * report holds the function at more than one qualifier.
   */
  label: string
  arn: string
  region: string
  account: string
  /** The function's description (attacker-settable). */
  description: string | null
  runtime: string | null
  packageType: string | null
  imageUri: string | null
  /** LastModified as Lambda reports it. */
  lastModified: string | null
  /** The same time as `2026-03-12 10:00:00 UTC` (the reported text when it is not a time). */
  lastModifiedDisplay: string | null
  /** CodeSha256 as Lambda reports it (base64). */
  codeSha256: string | null
  /** The same hash in hex, as in the evidence manifest (matches the sealed code package). */
  codeSha256Hex: string | null
  /** Whether the downloaded package matched CodeSha256, in words (`MISMATCH: …` when not). */
  codeCheck: string | null
  /**
   * The code changed while the snapshot read it: CodeSha256 `from` (the one above) became `to`,
   * as GetFunction said at `at` (UTC); the package kept is `to`'s.
   */
  codeChange: { from: string; to: string; at: string | null } | null
  roleArn: string | null
  roleName: string | null
  versions: string[]
  aliases: string[]
  layers: string[]
  /** Layers published by another account than the function's (their ARNs). */
  foreignLayers: string[]
  /** The URL config of `qualifier` itself: `https://… (AuthType NONE; live)`. */
  url: string | null
  /** Every URL config ($LATEST's and each alias's), `qualifier`'s first, each with its AuthType and qualifiers. */
  urls: string[]
  exposure: string[]
  /**
   * When `exposure` lists something but the snapshot could not read every qualifier's resource
   * policy or URL config: what was not read and why (`unknown on live, 3: resource policy not read
   * (not-found: …)`), so the list never reads as all there is. Null otherwise (an empty list says
   * it in `absent.exposure`).
   */
  exposureUnknown: string | null
  /** Secret-looking environment values, redacted: `DB_PASSWORD = ‹redacted len=… sha256:…› (secret-by-name)`. */
  secrets: string[]
  accessKeyIds: string[]
  /**
   * Access key ids an earlier snapshot of the case found in this function's environment (at this
   * qualifier) and this one did not, each with the newest set that found it: still leaked, as a key
   * works until it is rotated or deactivated wherever it is stored.
   */
  earlierAccessKeyIds: { accessKeyId: string; set: string }[]
  /** Reserved concurrency at snapshot time (`none (unreserved)`, `0`…), or null when not recorded. */
  reservedConcurrency: string | null
  /** Provisioned concurrency configs: `10 on live (READY; 10 allocated)`. */
  provisionedConcurrency: string[]
  /** `arn:aws:sqs:… (Enabled)`. */
  eventSourceMappings: string[]
  /** `/aws/lambda/x: 120 event(s) collected`, or `…: MISSING (deleted, or never created)`. */
  logGroup: string | null
  logGroupMissing: boolean
  /** Whether a trail records Invoke calls, in words. */
  trailCoverage: string | null
  dataEventsRecorded: boolean | null
  /** AWS attached its compromised-key quarantine policy to the role. */
  quarantined: boolean
  /** The evidence set the facts come from, and when the snapshot was taken. */
  evidenceSet: string
  takenAt: string | null
  takenBy: string | null
  /**
   * What is true of each fact that has no value, so no cell is left blank: `none published ($LATEST
   * only)`, `none found in the environment (3 variables)`, or `unknown: <reason> (<call>)` when the
   * snapshot could not read it (a gap). Null for a fact that has a value.
   */
  absent: FunctionFactsAbsent
}

/** For each fact of {@link FunctionFacts}: the text shown when it is null or an empty list. */
export interface FunctionFactsAbsent {
  description: string | null
  runtime: string | null
  lastModified: string | null
  codeSha256: string | null
  roleArn: string | null
  versions: string | null
  aliases: string | null
  layers: string | null
  url: string | null
  exposure: string | null
  secrets: string | null
  accessKeyIds: string | null
  reservedConcurrency: string | null
  provisionedConcurrency: string | null
  eventSourceMappings: string | null
  logGroup: string | null
  trailCoverage: string | null
}

/** Execution roles and the risky permissions they grant. */
export interface RolesSection {
  roles: RoleFacts[]
  present: boolean
  absentReason: string | null
}

export interface RoleFacts {
  arn: string
  name: string
  /**
   * Functions in scope whose role it is: that run with it (`$LATEST`, a published version, an
   * alias) or ran with it before a role swap, as their snapshots (or the timeline) recorded.
   */
  functions: string[]
  /**
   * Why it is a function's role, one line each: `current $LATEST role of f`, `earlier $LATEST
   * role of f before a role swap, shown by evidence set …`, `role of versions 1, 2 and alias live
   * of f`, `role the timeline was collected for …`. Empty for a role known only from an older
   * summary.
   */
  why: string[]
  /** A function in scope runs with it at `$LATEST` now, as far as the case knows. */
  current: boolean
  riskyPermissions: RiskyPermission[]
  /**
   * Policies of the role the snapshot could not read (`inline policy p of role r: denied: …`): the
   * risky permissions above may be incomplete. Empty when every policy was read.
   */
  policyGaps: string[]
  /**
   * Why its risky permissions are not known, when no snapshot of the case read its policies (`not
   * captured in the evidence: …`): none listed is then no sign it has none. Null when a snapshot
   * read them (the list is what they grant, or policyGaps says what could not be read).
   */
  permissionsUnknown: string | null
  /** Whether revocation of sessions older than a cutoff is in force (journal). */
  sessionsRevoked: boolean
}

export interface RiskyPermission {
  action: string
  resource: string
  /** The policy and statement that grant it. */
  policy: string
  statement: string
  level: Level | null
  levelLabel: string | null
  /** The statement has a Condition, not evaluated: the permission may be narrower than it looks. */
  conditioned: boolean
}

/** Findings of the snapshot(s) and of the timeline, grouped by level, most severe first. */
export interface FindingsSection {
  total: number
  /** Only the levels that have findings. */
  groups: FindingGroup[]
  present: boolean
  absentReason: string | null
}

export interface FindingGroup {
  level: Level
  label: string
  count: number
  /** `1 finding`, `12 findings`. */
  countText: string
  items: FindingView[]
}

/**
 * One finding. Snapshot findings are shown one by one; timeline findings are grouped by rule
 * (`count` events, `first`…`last`), so ten thousand hits of one rule are one line.
 */
export interface FindingView {
  source: 'snapshot' | 'timeline'
  level: Level
  title: string
  /** Snapshot: the finding kind; timeline: the rule id. */
  kind: string
  /** The function or role ARN (snapshot) or the actors (timeline). */
  target: string
  /** A compact description (detail fields, or the first event's summary). */
  detail: string
  count: number
  /**
   * Of `count`, the occurrences whose call failed or was denied (timeline): attempts, which changed
   * nothing. Always 0 for a snapshot finding.
   */
  failed: number
  first: string | null
  firstDisplay: string | null
  /** The last occurrence, or null when it is the same as `first` (or unknown). */
  last: string | null
  lastDisplay: string | null
  /**
   * When it was seen, for a finding without an event time: `snapshot 2026-03-14 09:12:03 UTC` (a
   * snapshot finding is a state the snapshot observed), or `time not recorded`.
   */
  observedDisplay: string
  /** Evidence files (snapshot) or event ids (timeline, first few). */
  references: string[]
  tags: string[]
  /**
   * The execution roles the finding is about, as role ARNs (the first few): those its events name
   * (timeline: the role whose session made a call, a role a call set or named) or the role it
   * targets (snapshot). Empty when it names none.
   */
  roles: string[]
}

/** The collected CloudTrail timeline: counts over everything, the key events inline, and a chart. */
export interface TimelineSection {
  present: boolean
  absentReason: string | null
  /** Where the full timeline is: `timeline/events.jsonl`. */
  eventsFile: string
  /** The file's SHA-256 as recorded in the journal (case.artifact), when recorded. */
  eventsFileSha256: string | null
  /** Notes the timeline run left (timeline/summary.json `notes`). */
  notes: string[]
  /**
   * Records that claim the eventID of another record with other content (an altered copy of a log
   * or a forged record: the only sign of tampering the timeline holds), or null when there are none:
   * what it means in words, the eventIDs (the first few), and how many records.
   */
  conflicting: ConflictingRecords | null
  /**
   * The recorded timeline files (events.jsonl, findings.json, summary.json) that are no longer
   * what fir recorded (`case.artifact`), in words, with what the report made of each: events.jsonl
   * read and shown as it is now, the others left unread. Null when every one is as recorded.
   */
  changed: string | null
  totalEvents: number
  /** Lines of events.jsonl that could not be read as events. */
  unreadableLines: number
  first: string | null
  firstDisplay: string | null
  last: string | null
  lastDisplay: string | null
  eventsWithFindings: number
  /** Calls that are not read-only (CloudTrail readOnly false), data events and AWS services included. */
  writeEvents: number
  errorEvents: number
  /** Events made by fir itself (recognised by request id). */
  firEvents: number
  /** Counts by category (the AWS service short name), most first. */
  byCategory: CountRow[]
  /** Counts by origin (api, s3, file…). */
  byOrigin: CountRow[]
  byRegion: CountRow[]
  /** The ten most active callers and source IPs. */
  topActors: CountRow[]
  topSourceIps: CountRow[]
  /**
   * Events with findings, fir's changes, changes made by people or workloads (not AWS services,
   * not data events), their failed or denied calls, and other calls from a source IP that a
   * finding came from; the most significant `keyEventLimit`, shown in time order.
   */
  keyEvents: KeyEvent[]
  keyEventsTotal: number
  keyEventsShown: number
  keyEventsTruncated: boolean
  keyEventLimit: number
  chart: ChartModel | null
}

/** Records of the timeline that claim one eventID with other content (see TimelineSection). */
export interface ConflictingRecords {
  /** Records kept beside another record of their eventID (timeline/summary.json `events.conflicting.count`). */
  count: number
  /** The eventIDs, the first few (each an attacker-reachable value). */
  ids: string[]
  /** `2 records claim the eventID of another record but not its content (dup-1, dup-3): …`. */
  text: string
}

export interface CountRow {
  name: string
  count: number
  /** Share of the total, e.g. `42.1%`. */
  share: string
}

/** One event of the key timeline. */
export interface KeyEvent {
  id: string
  time: string
  timeDisplay: string
  name: string
  category: string
  region: string
  actor: string
  sourceIp: string
  userAgent: string
  /** `AccessDenied: …` or empty. */
  error: string
  readOnly: boolean
  fir: boolean
  /** The highest level of its findings, or null. */
  level: Level | null
  levelLabel: string | null
  /** The titles of its findings: `Secret read from outside AWS; …` (the level is `levelLabel`). */
  findingsText: string
  /** Request parameters, compact and truncated. */
  request: string
  /** Why it is a key event: `finding`, `change`, `change by fir`, `failed or denied`, `same source IP as a finding`. */
  reason: string
  /**
   * Set when other records of the timeline claim its eventID with other content (`2 records in the
   * timeline claim this eventID …`): one version was altered or forged. Null otherwise.
   */
  conflict: string | null
}

/**
 * Geometry of the SVG timeline chart, in SVG user units (viewBox `0 0 width height`). The HTML
 * template only places these shapes; every coordinate, colour and label is computed here.
 */
export interface ChartModel {
  width: number
  height: number
  viewBox: string
  /** One-sentence text alternative for the chart. */
  description: string
  plot: { x: number; y: number; width: number; height: number; bottom: number; right: number }
  /** Stacked bars: one per time bucket with at least one event. */
  bars: ChartBar[]
  yTicks: { y: number; label: string; x: number }[]
  xTicks: { x: number; label: string; y: number; anchor: 'start' | 'middle' | 'end' }[]
  /** The band above the bars where finding markers sit, one row per level. */
  findingRows: { level: Level; label: string; y: number; labelX: number }[]
  findingMarkers: ChartMarker[]
  actionMarkers: ChartActionMarker[]
  legendCategories: { name: string; color: string; count: number }[]
  legendLevels: { label: string; color: string; count: number }[]
  bucketLabel: string
  axisLabelY: number
}

export interface ChartBar {
  x: number
  width: number
  /** Tooltip (SVG title): `2026-03-14 10:00–10:30 UTC: 120 events (lambda 80, iam 40)`. */
  title: string
  segments: { y: number; height: number; color: string; category: string }[]
}

export interface ChartMarker {
  cx: number
  cy: number
  r: number
  color: string
  level: Level
  title: string
}

/** A containment action (or several close in time) drawn as a vertical line with its number(s). */
export interface ChartActionMarker {
  x: number
  y1: number
  y2: number
  /** The action number(s) shown at the top, matching the actions table: `3` or `1–6`. */
  label: string
  labelX: number
  labelY: number
  /** Width of the label's background box. */
  labelWidth: number
  color: string
  title: string
}

/** What fir changed, from the journal: each change with before → after. */
export interface ActionsSection {
  present: boolean
  absentReason: string | null
  items: ActionView[]
  /** Counts by outcome, e.g. applied 5, denied 1. */
  byOutcome: CountRow[]
  /** Who fir acted as (aws.identity entries): `arn in account A, region R`. */
  actedAs: string[]
  /**
   * Playbook runs: `lambda-compromise (run …, applied): seal applied, hold applied, revoke skipped`;
   * a run that stopped says where and, when it is the case's latest run, that `fir playbook resume`
   * continues it (an older one, that resume leaves it: a later run came after it); the run that is
   * rendering this report says `running — this report is its step 5 of 5 (report)`.
   */
  playbooks: string[]
}

export interface ActionView {
  /** Numbered in time order; the chart's action markers use the same numbers. */
  n: number
  /** When the outcome was journaled (or when it started, for a change with no outcome). */
  at: string
  atDisplay: string
  startedAt: string | null
  /** The start time, only when it differs from `atDisplay` (to the second); else null. */
  startedAtDisplay: string | null
  /** Step id, e.g. `containment.throttle`. */
  action: string
  /** Human title, e.g. `Throttle (reserved concurrency 0)`. */
  title: string
  target: string
  outcome: string
  /** True for applied / already-applied / undone. */
  succeeded: boolean
  /** The prior state, compact; only the fields that changed when some did not. */
  before: string
  after: string
  /** The state after is the state before (e.g. already-applied): show it once. */
  unchanged: boolean
  /** `arn (osUser@host)`. */
  actor: string
  error: string
  /** What the step said beside its outcome (journaled `notes`: a mapping deleted since…). */
  notes: string[]
  requestIds: string[]
  journalSeq: number
}

/** Sealed evidence sets with their manifests, and the case files recorded by hash. */
export interface EvidenceSection {
  present: boolean
  absentReason: string | null
  sets: EvidenceSetView[]
  totalFiles: number
  totalBytes: number
  totalBytesDisplay: string
  /** Timeline files, reports and other files recorded with case.artifact (latest hash of each). */
  artifacts: ManifestRow[]
  manifestFileLimit: number
  /** `case verify` run while the report was built, or null when it was not run. */
  integrity: IntegrityView | null
}

/** The result of re-hashing the case (the same check as `fir case verify`) at report time. */
export interface IntegrityView {
  ok: boolean
  /** e.g. `Verified at 2026-03-14 10:02:11 UTC: 41 journal entries, 2 evidence sets, 118 files, 3 artifacts — all match.` */
  text: string
  problems: string[]
}

export interface EvidenceSetView {
  name: string
  sealed: string | null
  sealedDisplay: string | null
  /** The manifest's SHA-256 as journaled when the set was sealed. */
  manifestSha256: string | null
  /** Who took it and what it covers (summary.json). */
  takenBy: string | null
  functions: string[]
  fileCount: number
  totalBytes: number
  totalBytesDisplay: string
  files: ManifestRow[]
  filesShown: number
  filesTruncated: boolean
  /** Path of the full manifest inside the case. */
  manifestPath: string
}

export interface ManifestRow {
  path: string
  sha256: string
  bytes: number
  bytesDisplay: string
  /** The API call it came from (service:Operation), or the journal action for artifacts. */
  source: string
}

/** What could not be collected or done. */
export interface GapsSection {
  present: boolean
  items: GapView[]
}

export interface GapView {
  /** Where the gap was recorded: `snapshot orders-api`, `timeline`, `journal #12`. */
  origin: string
  what: string
  call: string
  reason: string
}

/** Limits of what was done: what containment does not cover, and what the data cannot show. */
export interface LimitsSection {
  items: LimitView[]
}

export interface LimitView {
  title: string
  detail: string
}

/** Next steps, each drawn from findings or actions in this case. */
export interface RecommendationsSection {
  present: boolean
  items: RecommendationView[]
}

export interface RecommendationView {
  /** 1 = now, 2 = soon, 3 = later. */
  priority: 1 | 2 | 3
  priorityLabel: string
  title: string
  detail: string
  /** What in the case led to it, e.g. finding titles. */
  because: string[]
  /** The fir command that does it, when there is one (placeholders in <angle brackets>). */
  command: string | null
}

/** Tabletop after-action notes (journal `case.note` entries). */
export interface AfterActionSection {
  present: boolean
  absentReason: string | null
  notes: NoteView[]
  injects: number
  answers: number
  decisions: number
  /** Mean answer time, e.g. `2 min 05 s`, or null when no answer was timed. */
  meanAnswerTime: string | null
}

export interface NoteView {
  at: string
  atDisplay: string
  /** `inject`, `answer`, `decision` or `note`. */
  kind: string
  kindLabel: string
  text: string
  question: string | null
  /** e.g. `1 min 40 s`, or null. */
  answerTime: string | null
  actor: string
}
