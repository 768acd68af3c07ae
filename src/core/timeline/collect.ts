import { open, rename, rm } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { type LookupPage, lookupEventsPage } from '../../aws/cloudtrail.js'
import { gapReason } from '../../aws/errors.js'
import { getRoleInfo } from '../../aws/iam.js'
import { EmulatorSafetyError, NotFoundError, UsageError } from '../../errors.js'
import { FIR_REPORT_FILES, refuseManagedOutput } from '../case/case-folder.js'
import { recordArtifact, safeSegment } from '../case/evidence-store.js'
import { readTimelineSummaryHead } from '../case/summary.js'
import { finishInterruptedTimelineMoves } from '../case/timeline-archive.js'
import { ensureDir, exists, writeFileAtomic } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { isRoleName } from '../common/iam-name.js'
import { atInterrupt, trackEmptyFolder, trackTemporary } from '../common/interrupt.js'
import { relativeInside, relativeInsideLanded } from '../common/paths.js'
import { redactor } from '../common/redact.js'
import { arg, commandLine, firCommand, flag } from '../common/suggest.js'
import { compactUtc, counted, escapeTerminal, jsonText, shellArg } from '../common/text.js'
import type { FirContext, Gap } from '../context.js'
import { assertSameAccount, callerIdentity, parseArn } from '../identity.js'
import { correlate } from './correlate.js'
import { checkRuleDirs, loadRulePack, MergeDetector, type RulePack, readAwsIpRanges } from './detections.js'
import { Exporter, type ExportFormat, eventSummary } from './export.js'
import {
  type FilePart,
  type FileResult,
  type FileTask,
  MAX_RECORD_DEPTH,
  nestedDeeperThan,
  type PipelineSetup,
} from './file-task.js'
import { acceptRecord, type DecodedInput, isGzip } from './input.js'
import {
  earlierLookupRuns,
  LOOKUP_RECORD,
  type LookupRunRecord,
  pageFile,
  planReuse,
  type ResumeRecord,
  type Reuse,
  readReusedPage,
  resumeFile,
  type SentWindow,
  topUpFile,
} from './lookup-runs.js'
import { malformedFields } from './normalise.js'
import { defaultPoolSize, FilePool, type PoolHandlers } from './pool.js'
import { buildEvent, factsOf, keptLine, type RelatedFacts, selectRecord } from './process.js'
import { Relatedness, type RelatedReason, type TimelineTarget } from './related.js'
import {
  COMMERCIAL_REGIONS,
  type PageSink,
  type PlannedQuery,
  planFollowUps,
  planQueries,
  type QueryOutcome,
  type QueryResume,
  queryKey,
  RegionPacer,
  runQuery,
} from './sources/api.js'
import { INPUT_NAME, listLocal, probeLocal } from './sources/local.js'
import {
  downloadTasks,
  listingGap,
  parseS3Uri,
  regionPrefixes,
  type S3Stats,
  windowObjects,
} from './sources/s3.js'
import { EventSpool, ReorderBuffer, type SpooledLine, spoolBudgetBytes } from './spool.js'
import {
  AtomicFileWriter,
  archiveEarlierTimeline,
  checkWritable,
  earlierTimelineFiles,
  type OutputWriter,
  openOutputFile,
  recordWrittenArtifact,
  writeRecordedFile,
} from './store.js'
import { describeRefusals } from './summary-text.js'
import { firRequestIds, type ResolvedTarget, resolveTarget } from './target.js'
import {
  BAD_INPUT_REASONS,
  type EventFinding,
  type FindingLevel,
  type Origin,
  type SkipReason,
  type TimelineEvent,
} from './types.js'
import { classifySources, parseRegions } from './values.js'
import { describeWindow, isRelativeBound, LOOKUP_EVENTS_RETENTION_MS, resolveWindow } from './window.js'

type Rec = Record<string, unknown>

export const TIMELINE_DIR = 'timeline'
export const EVENTS_FILE = `${TIMELINE_DIR}/events.jsonl`
export const FINDINGS_FILE = `${TIMELINE_DIR}/findings.json`
export const SUMMARY_FILE = `${TIMELINE_DIR}/summary.json`

/** What `fir timeline` was asked to do. */
export interface TimelineOptions {
  /** Name, partial ARN or full ARN; absent for an account-wide hunt. */
  function?: string
  /** Execution role names or ARNs (when the case has no snapshot of the function). */
  roles?: string[]
  /**
   * --region as given (not a default): a function name is the function in this region, and the
   * case's snapshot of it there gives its role (see resolveTarget).
   */
  region?: string
  since?: string
  until?: string
  /** `api`, `s3://bucket/prefix` or local paths; default `api`. */
  sources?: string[]
  /** `r1,r2` or `all`. */
  regions?: string
  ruleDirs?: string[]
  awsIpRanges?: string
  format?: ExportFormat
  /** Export file; without it an export goes to `exportWriter`. */
  out?: string
  raw?: boolean
  exportWriter?: (chunk: string) => Promise<void> | void
  /** Worker threads (default: one a core; 0 = none). */
  workers?: number
  /**
   * Always sort through the spool (no delivery-order writing): the way a hunt is read again when
   * its trail files are out of order; for tests and measurements.
   */
  externalSort?: boolean
  /**
   * Records already fetched by a query engine (`fir timeline --engine athena|lake`, see
   * src/core/athena/): they go through the same window, relatedness, normaliser and detections,
   * with this origin. Without `sources`, no other source is read.
   */
  engine?: {
    origin: 'athena' | 'lake'
    name: string
    records: Rec[]
    query: Record<string, unknown>
    /** The query's gap (denied, failed after retries…): one of this run's. */
    gap?: Gap
  }
}

/** One flagged event in timeline/findings.json. */
export interface TimelineFindingEntry {
  eventId: string
  time: string
  eventName: string
  rule: string
  title: string
  level: FindingLevel
  tags: string[]
  actor: string | null
  region: string | null
  summary: string
}

export interface SourceSummary {
  name: string
  kind: 'api' | 's3' | 'file' | 'athena' | 'lake'
  files?: number
  events: number
  kept: number
  [extra: string]: unknown
}

export interface ProblemFile {
  file: string
  skipped: Partial<Record<SkipReason, number>>
  refused?: { reason: SkipReason; message: string }
  /** It failed part way: the records before were read and kept, the rest of it was not. */
  cutShort?: { reason: SkipReason; message: string; afterRecords: number }
}

/** One LookupEvents query of the run. */
export interface ApiQuerySummary {
  region: string
  attribute: string | null
  why: string
  pages: number
  events: number
  attempts: number
  throttles: number
  faults: number
  failed: string | null
  /**
   * Pages an earlier run stored of this query and did not finish (killed, or stopped by a gap),
   * reused instead of fetched again (see lookup-runs.ts): how many and their events, the run
   * folders they are in (oldest first), and the top-up — the same query asked again from a little
   * before that run started, when its window had no end. `pages`, `events` and `attempts` above
   * are what this run fetched (the pagination gone on from there, and the top-up). Absent from
   * the summaries of earlier builds, as is notReused.
   */
  reused?: {
    pages: number
    events: number
    from: { folder: string; pages: number }[]
    topUp: { since: string; pages: number; events: number } | null
    /**
     * The earlier run's window started before this run's (see sameQuery): its pagination was gone
     * on only until a page all older than this run's start (null: it was not wider). The rest of
     * that wider query was not asked, as it is outside this window. Absent from earlier builds'.
     */
    stoppedAt?: { start: string; page: number } | null
  } | null
  /** Why the pages an earlier run stored of this query were not reused (then fetched from the start). */
  notReused?: string | null
}

/** timeline/summary.json, and the result of `fir timeline --json`. */
export interface TimelineSummary {
  startedAt: string
  finishedAt: string
  durationMs: number
  window: { since: string | null; until: string | null }
  function: {
    name: string
    arn: string | null
    region: string | null
    account: string | null
    /** The function's roles, each with why it is the function's (see RoleRef.why). */
    roles: { name: string; arn?: string; why?: string }[]
    roleSource: string
    snapshotSet: string | null
  } | null
  sources: SourceSummary[]
  files: {
    total: number
    read: number
    prefiltered: number
    refused: number
    outsideWindow: number
    ignored: number
    bytes: number
    uncompressedBytes: number
  }
  events: {
    read: number
    kept: number
    outsideWindow: number
    unrelated: number
    duplicates: number
    /**
     * Records kept beside another record with the same time and eventID but other content (an
     * altered or forged record; see Copies in spool.ts), and the first few such ids.
     */
    conflicting?: { count: number; ids: string[] }
    /**
     * Events kept though dated later than the moment this run wrote them (fir's clock, corrected
     * by AWS's when an AWS response was seen), and the latest such time: CloudTrail records
     * nothing ahead of time, so a wrong clock where the record was made, or a forged record.
     */
    future?: { count: number; last: string | null }
    /**
     * Events kept though a field has another type than CloudTrail gives it (an eventName object,
     * a userAgent list, requestParameters as text: see malformedFields): the event has it blank,
     * or a number as text, and `raw` as received. The first few ids, and the fields seen so.
     * Absent from earlier builds' summaries.
     */
    malformed?: { count: number; ids: string[]; fields: string[] }
    stored: number
  }
  skipped: Partial<Record<SkipReason, number>>
  problemFiles: ProblemFile[]
  problemFilesOmitted: number
  findings: {
    total: number
    events: number
    byLevel: Record<FindingLevel, number>
    byRule: { rule: string; title: string; level: FindingLevel; count: number }[]
  }
  rules: { loaded: number; refused: { file: string; reason: string }[] }
  api: {
    regions: string[]
    queries: ApiQuerySummary[]
    /** Pages this run fetched. */
    pages: number
    /**
     * Pages of earlier, unfinished runs reused (not fetched again; each query says whose). Absent
     * from the summaries of earlier builds.
     */
    reusedPages?: number
    requestsPerSecond: number | null
  } | null
  outputs: { events: string; findings: string; summary: string; raw: string | null; export: string | null }
  /** Why this run stored nothing (every source failed; the earlier timeline stays in place). */
  notStored?: string
  throughput: {
    eventsPerSecond: number
    uncompressedMBps: number
    /** Threads that read the files: worker threads, with the main thread when it read beside them. */
    threads: number
    /** Trail files were read in delivery order and events written as read (no external sort). */
    deliveryOrder: boolean
  }
  notes: string[]
  gaps: Gap[]
}

const LEVELS: FindingLevel[] = ['critical', 'high', 'medium', 'low', 'informational']
const MAX_PROBLEM_FILES = 200

/** The first `n` bytes of a file, or undefined when it cannot be read (never written). */
async function readHead(path: string, n: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined)
  if (!handle) return undefined
  try {
    const buf = Buffer.alloc(n)
    const { bytesRead } = await handle.read(buf, 0, n, 0)
    return buf.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

/**
 * DESIGN §1: a function of another account than the caller's is refused (exit 2: use --role-arn).
 * Asked when the api source is read, as LookupEvents reads the caller's account alone; a trail
 * bucket (an organization's) or files may hold any account's logs and are read without asking who
 * calls. A caller fir cannot identify is no refusal: what the api source then reads is its own
 * gaps' business, and the note says the account was not checked.
 */
async function refuseOtherAccount(ctx: FirContext, resolved: ResolvedTarget): Promise<string | undefined> {
  const account = resolved.namedAccount
  if (!account) return undefined
  const t = resolved.target
  const arn =
    t.functionArn ?? `arn:aws:lambda:${t.region ?? ctx.aws.region}:${account}:function:${t.functionName}`
  try {
    await assertSameAccount(ctx.aws, arn)
    return undefined
  } catch (err) {
    if (err instanceof UsageError || err instanceof EmulatorSafetyError) throw err
    const reason = gapReason((err as { cause?: unknown }).cause ?? err)
    return `the caller could not be identified (sts:GetCallerIdentity: ${reason}), so whether ${arn} is in the account LookupEvents reads was not checked`
  }
}

/**
 * The roles as the api source looks them up: AssumeRole of a role is found by its ARN
 * (ResourceName), and a role given by name, of a function whose account is unknown, has none.
 * LookupEvents reads the caller's account alone, so the role is taken to be of that account: its
 * ARN, path included, is asked of IAM (iam:GetRole); when IAM cannot say (denied, no such role
 * now) the ARN without a path is used, and a note says what a role with a path needs. Neither is
 * fatal, and the roles relatedness knows are not changed (trail files may hold other accounts).
 */
async function rolesForLookup(
  ctx: FirContext,
  roles: TimelineTarget['roles'],
): Promise<{ roles: TimelineTarget['roles']; notes: string[] }> {
  const unnamed = roles.filter((r) => !r.arn)
  if (unnamed.length === 0) return { roles, notes: [] }
  const names = unnamed.map((r) => r.name).join(', ')
  let account: string
  let partition = 'aws'
  try {
    const id = await callerIdentity(ctx.aws)
    account = id.account
    partition = parseArn(id.arn)?.partition ?? partition
  } catch (err) {
    if (err instanceof EmulatorSafetyError) throw err
    const reason = gapReason((err as { cause?: unknown }).cause ?? err)
    return {
      roles,
      notes: [
        `AssumeRole of ${names} was not looked up: LookupEvents finds it by the role's ARN, and the caller's account is unknown (sts:GetCallerIdentity: ${reason}); pass --role with the role's ARN`,
      ],
    }
  }
  const notes: string[] = []
  const out: TimelineTarget['roles'] = []
  for (const role of roles) {
    if (role.arn) {
      out.push(role)
      continue
    }
    const guess = `arn:${partition}:iam::${account}:role/${role.name}`
    try {
      const info = await getRoleInfo(ctx.aws, role.name)
      out.push({ name: role.name, arn: info.arn || guess })
    } catch (err) {
      if (err instanceof EmulatorSafetyError) throw err
      out.push({ name: role.name, arn: guess })
      const why =
        err instanceof NotFoundError
          ? `account ${account} has no role of that name now`
          : `iam:GetRole: ${gapReason((err as { cause?: unknown }).cause ?? err)}`
      notes.push(
        `AssumeRole of ${role.name} was looked up as ${guess} (${why}): a role with a path (service-role/…) has another ARN; pass --role with its full ARN`,
      )
    }
  }
  return { roles: out, notes }
}

/** Api records kept to judge again after a role swap (LookupEvents gives thousands, not millions). */
const MAX_REJUDGED = 100_000

/**
 * How far past the run's own time an event may be dated before it counts as dated in the future:
 * a clock fir cannot correct against AWS's (a local run has only the laptop's) can be minutes off.
 */
const FUTURE_ALLOWANCE_MS = 5 * 60_000

/**
 * Builds the case's timeline (DESIGN §5): reads every source, keeps the window (and, with a
 * function, the related events), de-duplicates by eventID, sorts by UTC time, runs the detections,
 * and writes timeline/events.jsonl, findings.json and summary.json (plus an export when asked).
 * Bad input is counted and skipped; AWS failures are gaps (exit 4); nothing fetched is lost.
 */
export async function collectTimeline(
  ctx: FirContext,
  options: TimelineOptions,
): Promise<{ summary: TimelineSummary; findings: TimelineFindingEntry[] }> {
  try {
    return await collectOnce(ctx, options, true)
  } catch (err) {
    if (!(err instanceof ReadAgain)) throw err
    ctx.log.warn(`timeline: ${err.message}; reading the files again in two passes`)
    return collectOnce(ctx, options, false, `${err.message}: the files were read again in two passes`)
  }
}

/**
 * An ordered hunt met an event older than one already written (or a batch too large to hold):
 * nothing was kept; the run starts again with the external sort.
 */
class ReadAgain extends Error {}

const LATE_MESSAGE =
  'trail files held events older than events already written (more than an hour before their delivery time, or past the memory budget)'

/**
 * How much older than its file's delivery an event may be and still be written in order without a
 * second pass (an ordered hunt holds the events of this span in memory). CloudTrail delivers most
 * events within minutes of the call.
 */
export const REORDER_ALLOWANCE_MS = 60 * 60_000

async function collectOnce(
  ctx: FirContext,
  options: TimelineOptions,
  orderedAllowed: boolean,
  readAgainNote?: string,
): Promise<{ summary: TimelineSummary; findings: TimelineFindingEntry[] }> {
  // What the run registers to say if it is interrupted (the pages it kept) ends with the run.
  const untrack: (() => void)[] = []
  try {
    return await collectRun(ctx, options, orderedAllowed, untrack, readAgainNote)
  } finally {
    for (const u of untrack) u()
  }
}

async function collectRun(
  ctx: FirContext,
  options: TimelineOptions,
  orderedAllowed: boolean,
  untrack: (() => void)[],
  readAgainNote?: string,
): Promise<{ summary: TimelineSummary; findings: TimelineFindingEntry[] }> {
  const started = Date.now()
  // The gaps of this run: a playbook's context holds its earlier steps' too.
  const firstGap = ctx.gaps.list.length
  const ownGaps = () => ctx.gaps.list.slice(firstGap)
  if (options.engine?.gap) ctx.gaps.add(options.engine.gap)
  // FIR_TIMELINE_TRACE=1: phase times on stderr (for tuning).
  const trace = process.env.FIR_TIMELINE_TRACE
    ? (label: string) => ctx.log.info(`trace ${String(Date.now() - started).padStart(6)} ms  ${label}`)
    : () => undefined
  const caseDir = ctx.case.dir
  // A timeline file fir did not record would be refused when this run replaces the timeline:
  // refused now (exit 3), before anything is read, rather than after.
  await earlierTimelineFiles(caseDir, ctx.case.journal, [EVENTS_FILE, FINDINGS_FILE, SUMMARY_FILE])
  const sources = classifySources(options.sources?.length ? options.sources : options.engine ? [] : ['api'])
  const onlyLocal = !sources.api && sources.s3.length === 0
  const now = ctx.clock.awsNow().getTime()
  const window = resolveWindow({ since: options.since, until: options.until, openByDefault: onlyLocal }, now)
  const notes: string[] = readAgainNote ? [readAgainNote] : []
  // A --rules folder that is missing or holds no rule is bad usage: said before any AWS call or
  // thread starts (an account-wide hunt's threads load the rules themselves).
  await checkRuleDirs(options.ruleDirs ?? [])
  if (options.roles?.length && !options.function) {
    throw new UsageError(
      'unable to use --role without a function: the role is the function’s execution role',
      {
        actions: ['pass the function too: fir timeline my-function --role my-role'],
      },
    )
  }
  const resolved = options.function
    ? await resolveTarget(caseDir, ctx.case.journal.all(), options.function, options.roles ?? [], {
        region: options.region,
      })
    : undefined
  const target: TimelineTarget | null = resolved?.target ?? null
  const unchecked = resolved && sources.api ? await refuseOtherAccount(ctx, resolved) : undefined
  if (unchecked) {
    ctx.log.warn(unchecked)
    notes.push(unchecked)
  }
  trace('target resolved')
  const snapshotRegions = resolved?.snapshotRegions ?? []
  if (resolved && resolved.roleSource === 'none') {
    const account = resolved.namedAccount ? ` (account ${resolved.namedAccount})` : ''
    // Snapshots of the name in other regions than the one named are other functions: say so.
    const where =
      resolved.namedRegion && snapshotRegions.length > 0
        ? ` in ${resolved.namedRegion} in this case (it holds snapshots of that name in ${snapshotRegions.join(', ')}: another region's is another function)`
        : ' in this case'
    // The function as given, in its region, with the AWS flags and the case of this run.
    const snapshot = firCommand(['snapshot', arg(options.function!)], ctx.aws, {
      caseDir: ctx.case.dir,
      ...(resolved.target.region ? { region: resolved.target.region } : {}),
    })
    ctx.log.warn(
      `no snapshot of ${resolved.target.functionName}${account}${where} and no --role: calls made with its execution role cannot be related; run \`${snapshot}\` first or pass --role`,
    )
  } else if (resolved?.snapshotSet && !resolved.namedRegion && snapshotRegions.length > 1) {
    // The latest snapshot of the name was taken; the others are functions of other regions.
    const message = `the case holds snapshots of ${resolved.target.functionName} in ${snapshotRegions.length} regions (${snapshotRegions.join(', ')}): this timeline is of the one in ${resolved.target.region ?? 'the latest snapshot'} (the latest snapshot); pass --region or the function's full ARN to choose another`
    ctx.log.warn(message)
    notes.push(message)
  }
  const probed = await probeLocal(sources.local)
  const regionsGiven = options.regions !== undefined
  const functionRegion = target?.region ?? ctx.aws.region
  const regions = parseRegions(options.regions, [functionRegion, 'us-east-1'])
  const outPath = options.out ? resolve(options.out) : undefined
  if (outPath && options.format) {
    refuseManagedOutput(caseDir, outPath, '<case>/exports/timeline.csv', '--out', FIR_REPORT_FILES)
    await checkWritable(outPath, '--out')
  }
  const firIds = await firRequestIds(caseDir, ctx.case.journal.all())
  trace('sources probed, fir request ids read')
  const needFiles = probed.length > 0 || sources.s3.length > 0
  // A handful of small files is read faster here than by starting threads.
  const small =
    sources.s3.length === 0 && probed.length <= 4 && probed.every((f) => !f.dir && f.size < 4 << 20)
  const timelineDir = join(caseDir, TIMELINE_DIR)
  await ensureDir(timelineDir)
  const threads = small ? 0 : (options.workers ?? defaultPoolSize())
  const budget = spoolBudgetBytes()
  const spool = new EventSpool(timelineDir, Math.floor(budget / (threads + 1)))
  const setup: PipelineSetup = {
    ...(target
      ? {}
      : { spoolDir: await spool.folder(), spoolBytesPerThread: Math.floor(budget / (threads + 1)) }),
    mode: target ? 'related' : 'all',
    window,
    target: target ? structuredClone(target) : null,
    firRequestIds: [...firIds],
    ruleDirs: options.ruleDirs ?? [],
    awsIpRanges: options.awsIpRanges !== undefined,
  }
  // A function's run over local files: the main thread reads too (few events come back to it, and
  // it starts while the other threads do). Fetching from S3 keeps it free for the downloads.
  const poolStarting = needFiles
    ? FilePool.start(setup, threads, { mainLane: target !== null && sources.s3.length === 0 })
    : undefined
  poolStarting?.catch(() => undefined)
  // What a run refused before reading anything leaves nothing behind: threads stopped, spool gone.
  const abandon = async () => {
    await (await poolStarting?.catch(() => undefined))?.close()
    await spool.dispose()
  }
  // With a function, the rule pack loads while the threads start. In an account-wide hunt the
  // threads load their own pack first (the main thread only needs it at the end): no three-way
  // race for two cores at the start.
  const loadPack = () => loadRulePack(setup.ruleDirs, { awsIpRanges: setup.awsIpRanges })
  const packLoading = !target && poolStarting && !small ? poolStarting.then(loadPack, loadPack) : loadPack()
  // The folders are walked while the threads start.
  let local: Awaited<ReturnType<typeof listLocal>> | undefined
  try {
    local = sources.local.length ? await listLocal(sources.local, window) : undefined
  } catch (err) {
    await abandon()
    throw err
  }
  const localFiles = local?.files ?? []
  // Refused unread by the walk (outside the file pipeline), counted as refused all the same:
  // digest files, and what could not be read (a link to nothing, a link loop, a FIFO).
  const unread = [
    ...(local?.digestFiles ?? []).map((file) => ({
      file,
      reason: 'digest-file' as const,
      message: 'a CloudTrail digest file (log file validation), not a log',
    })),
    ...(local?.unreadable ?? []).map((u) => ({
      file: u.path,
      reason: 'unreadable' as const,
      message: u.reason,
    })),
  ]
  if (local?.caseFolders.length) {
    const shown = local.caseFolders.slice(0, 3).map((d) => relative(process.cwd(), d) || '.')
    notes.push(
      `not read: ${local.caseFolders.length === 1 ? 'a fir case folder' : `${local.caseFolders.length} fir case folders`} inside the source (${shown.join(', ')}${local.caseFolders.length > 3 ? ', …' : ''}): fir's own records, not trail logs; name a folder inside one (its timeline/raw/) to read it`,
    )
  }
  if (local && localFiles.length === 0 && local.outsideWindow === 0 && unread.length === 0) {
    ctx.log.warn(
      `no CloudTrail log file (.json, .jsonl, .gz) was found in ${sources.local.join(', ')}: check --source`,
    )
  }
  trace(`folders walked (${localFiles.length} files)`)
  // Sources start before the rules are loaded; what arrives meanwhile waits for them.
  let pack: RulePack | undefined
  const waiting: Parameters<typeof acceptInMain>[] = []
  const packReady = packLoading.then((loaded) => {
    pack = loaded
    for (const r of loaded.refused) ctx.log.warn(`rule ${r.file} refused: ${r.reason}`)
    for (const args of waiting.splice(0)) acceptInMain(...args)
    return loaded
  })
  packReady.catch(() => undefined)
  let awsIpRanges: Awaited<ReturnType<typeof readAwsIpRanges>> | undefined
  try {
    awsIpRanges = options.awsIpRanges ? await readAwsIpRanges(options.awsIpRanges) : undefined
  } catch (err) {
    await abandon()
    throw err
  }
  if (!awsIpRanges)
    notes.push('without --aws-ip-ranges, rules about calls from outside AWS address ranges are inactive')

  const relatedness = target ? new Relatedness(target, firIds) : null
  const facts: RelatedFacts[] = []
  const relatedRecords: Rec[] = []
  const totals = {
    files: 0,
    read: 0,
    prefiltered: 0,
    refused: 0,
    bytes: 0,
    uncompressed: 0,
    events: 0,
    kept: 0,
    outsideWindow: local?.outsideWindow ?? 0,
    unrelatedEvents: 0,
    eventsOutsideWindow: 0,
  }
  const skipped: Partial<Record<SkipReason, number>> = {}
  const bump = (reason: SkipReason, n = 1) => {
    skipped[reason] = (skipped[reason] ?? 0) + n
  }
  const problemFiles: ProblemFile[] = []
  let problemFilesOmitted = 0
  const sourceSummaries: SourceSummary[] = []

  /**
   * A record nested too deep to store (the file pipeline's own check: see MAX_RECORD_DEPTH): bad
   * input, skipped as too-deep and not counted as read, as in the file pipeline.
   */
  const skipTooDeep = (record: Rec, source: SourceSummary) => {
    if (!nestedDeeperThan(record, MAX_RECORD_DEPTH)) return false
    totals.events--
    source.events--
    bump('too-deep')
    return true
  }

  // A role swap seen in what trail files gave (relatedness's `role-swap`: an UpdateFunctionConfiguration
  // of this function naming a role): those files were read with the roles known at the start, so
  // the new role's calls are not in this timeline. The run says so, with the command that adds
  // them (the api source follows a swap by itself). The earliest swap to each role, by role name.
  const swapsInFiles = new Map<string, { t: number; id: string }>()
  const noteRoleSwap = (record: Rec, t: number, id: string) => {
    if (record.errorCode) return
    const request = record.requestParameters
    const role =
      request !== null && typeof request === 'object' ? (request as Record<string, unknown>).role : undefined
    const name = typeof role === 'string' ? (role.split('/').at(-1) ?? '') : ''
    const seen = swapsInFiles.get(name)
    if (name && (!seen || t < seen.t)) swapsInFiles.set(name, { t, id })
  }

  /** A related (or, account-wide, any) record read in the main thread. */
  function acceptInMain(record: Rec, origin: Origin, t: number, id: string, reasons: RelatedReason[]): void {
    if (origin !== 'api' && reasons.includes('role-swap')) noteRoleSwap(record, t, id)
    if (!pack) {
      waiting.push([record, origin, t, id, reasons])
      return
    }
    const { event, detector, malformed } = buildEvent(record, origin, t, id, firIds, pack)
    spool.add(keptLine(event, t, detector, undefined, undefined, malformed))
    if (target) {
      facts.push(factsOf(event, t, reasons))
      relatedRecords.push(record)
    }
  }

  // ---- files: local paths and trail buckets, through the worker pipeline --------------------
  const fileSources = new Map<string, SourceSummary>()
  const sourceOfDisplay = (display: string, origin: 'file' | 's3'): SourceSummary | undefined => {
    if (origin === 'file') return fileSources.get('file')
    for (const [name, s] of fileSources) if (name !== 'file' && display.startsWith(name)) return s
    return undefined
  }
  const onPart = (part: FilePart, origin: Origin) => {
    for (const l of part.lines) spool.add(l)
    for (const r of part.related) acceptInMain(r.record, origin, r.t, r.id, r.reasons)
  }
  let filesDone = 0
  let keptSoFar = 0
  let lastProgress = 0
  const progress = (force = false) => {
    const t = Date.now()
    if (!force && t - lastProgress < 250) return
    lastProgress = t
    const secs = Math.max(0.001, (t - started) / 1000)
    const total = fileTotalKnown ? `/${fileTotal}` : ''
    ctx.log.progress(
      `timeline: ${filesDone}${total} files, ${totals.events} events read, ${Math.round(totals.uncompressed / 1e6 / secs)} MB/s, ${Math.round(totals.events / secs)} events/s, ${keptSoFar} kept`,
    )
  }
  let fileTotal = 0
  let fileTotalKnown = true
  const onResult = (r: FileResult) => {
    filesDone++
    keptSoFar += r.kept
    totals.files++
    totals.bytes += r.bytes
    totals.uncompressed += r.uncompressedBytes
    totals.events += r.records
    totals.eventsOutsideWindow += r.outsideWindow
    totals.unrelatedEvents += r.unrelated
    if (r.prefiltered) totals.prefiltered++
    else if (r.refused) totals.refused++
    else totals.read++
    const src = sourceOfDisplay(r.display, r.origin)
    if (src) {
      src.files = (src.files ?? 0) + 1
      src.events += r.records
      src.kept += r.kept
    }
    const bad = Object.entries(r.skipped).filter(([, n]) => (n ?? 0) > 0)
    for (const [reason, n] of bad) bump(reason as SkipReason, n)
    if (bad.length > 0 || r.refused) {
      if (problemFiles.length < MAX_PROBLEM_FILES)
        problemFiles.push({
          file: r.display,
          skipped: r.skipped,
          ...(r.refused ? { refused: r.refused } : {}),
          ...(r.cutShort ? { cutShort: { ...r.cutShort, afterRecords: r.records } } : {}),
        })
      else problemFilesOmitted++
    }
    onPart(r, r.origin)
    progress()
  }

  let pool: FilePool | undefined
  let reorder: ReorderBuffer | undefined
  let emitting: Promise<void> = Promise.resolve()
  let orderedRun:
    | {
        onArena: NonNullable<PoolHandlers['onArena']>
        onResult: (r: FileResult) => void
        ready: () => Promise<void>
        finish: () => Promise<void>
      }
    | undefined
  const tempDirs: string[] = []
  const s3Stats: S3Stats = {
    listed: 0,
    selected: 0,
    outsideWindow: 0,
    digestFiles: 0,
    listCalls: 0,
    failed: 0,
  }
  const runStamp = compactUtc(new Date(started))
  const rawDir = `${TIMELINE_DIR}/raw/${runStamp}`
  // A pipe is read once: its bytes are kept in the case as read (timeline/raw/<run>/), so the case
  // holds what was analysed. Written under a temporary name, removed if the run is interrupted.
  const pipeCopies = new Map<number, { rel: string; display: string; untrack: () => void }>()
  let untrackRawDir: (() => void) | undefined
  const fileWork = async () => {
    if (!local && sources.s3.length === 0) return
    if (local) {
      fileSources.set('file', {
        name: sources.local.join(', '),
        kind: 'file',
        // Files refused unread (below) are the source's files all the same.
        files: unread.length,
        events: 0,
        kept: 0,
        paths: sources.local,
      })
      for (const u of unread) {
        bump(u.reason)
        if (problemFiles.length < MAX_PROBLEM_FILES)
          problemFiles.push({
            file: u.file,
            skipped: { [u.reason]: 1 },
            refused: { reason: u.reason, message: u.message },
          })
        else problemFilesOmitted++
      }
    }
    for (const uri of sources.s3)
      fileSources.set(uri, { name: uri, kind: 's3', files: 0, events: 0, kept: 0 })
    fileTotal = localFiles.length
    fileTotalKnown = sources.s3.length === 0
    pool = await poolStarting!
    trace(`threads ready (${pool.threads})`)
    // An account-wide hunt over trail files alone is read in delivery order and written as it is
    // read (see ReorderBuffer); anything else goes through the spool's external sort.
    const orderable =
      orderedAllowed &&
      !options.externalSort &&
      !target &&
      !sources.api &&
      sources.s3.length === 0 &&
      !options.engine &&
      pool.threads > 0 &&
      localFiles.length > 0
    const ordered = orderable && localFiles.every((f) => f.delivered !== undefined)
    let files = localFiles
    if (ordered) {
      // Array.prototype.sort is stable: files delivered at the same minute keep the walk's order.
      files = [...localFiles].sort((a, b) => a.delivered! - b.delivered!)
      const at = files.map((f) => f.delivered!)
      const buffer = new ReorderBuffer()
      reorder = buffer
      const done = new Uint8Array(files.length)
      let firstPending = 0
      const watermark = () =>
        firstPending < files.length ? at[firstPending]! - REORDER_ALLOWANCE_MS : Number.POSITIVE_INFINITY
      const release = (holdBytes?: number) => {
        emitting = emitting.then(async () => {
          if (buffer.late) return
          const batch = buffer.release(watermark(), holdBytes)
          if (batch.length > 0) await writeLines(batch)
          // Written (copied into the writer's buffer): the arenas go back to the threads.
          for (const buf of buffer.takeFreed()) pool?.recycle(buf)
        })
        return emitting
      }
      orderedRun = {
        onArena: (arena, overflow) => {
          if (overflow > 0) buffer.late = true
          buffer.add(arena)
        },
        onResult: (r) => {
          done[r.seq] = 1
          while (firstPending < files.length && done[firstPending]) firstPending++
          void release().catch(() => undefined)
        },
        ready: async () => {
          await emitting
          // Held events past the budget: the earliest go out even above the watermark.
          if (buffer.bytes > budget) await release(Math.floor(budget / 2))
          if (buffer.late) throw new ReadAgain(LATE_MESSAGE)
        },
        finish: async () => {
          await release()
          if (buffer.late) throw new ReadAgain(LATE_MESSAGE)
        },
      }
      trace('ordered: files in delivery order, written as read')
    }
    let seq = 0
    const tasks = async function* (): AsyncGenerator<FileTask> {
      for (const f of files) {
        let copyTo: string | undefined
        if (f.pipe) {
          // Named after the path (its own extension left off: the copy's says what was read).
          const name = f.path.replace(/^\/+/, '').replaceAll('/', '-').replace(INPUT_NAME, '')
          const rel = `${rawDir}/piped-${pipeCopies.size + 1}-${safeSegment(name)}`
          if (!untrackRawDir) {
            const abs = join(caseDir, rawDir)
            await ensureDir(abs)
            // Interrupted, the run removes its copies (below): their folder goes too when nothing
            // else is in it (one that holds LookupEvents pages stays).
            untrackRawDir = trackEmptyFolder(abs)
          }
          copyTo = join(caseDir, `${rel}.part`)
          pipeCopies.set(seq, { rel, display: f.path, untrack: trackTemporary(copyTo) })
        }
        yield {
          seq: seq++,
          display: f.path,
          origin: 'file',
          path: f.path,
          size: f.size,
          ...(f.pipe ? { pipe: true, copyTo } : {}),
        }
      }
      for (const uri of sources.s3) {
        const loc = parseS3Uri(uri)
        let prefixes: string[]
        try {
          prefixes = await regionPrefixes(ctx.aws, loc, {
            account: target?.account,
            regions: regionsGiven ? regions : undefined,
          })
        } catch (err) {
          if (err instanceof EmulatorSafetyError) throw err // refused before it was sent: no gap
          ctx.gaps.add(listingGap(uri, err))
          continue
        }
        if (prefixes.length === 0) notes.push(`${uri}: no CloudTrail/<region>/ folders found under AWSLogs/`)
        const objects = windowObjects(ctx.aws, loc.bucket, prefixes, window, now, s3Stats, ctx.gaps)
        const counted = (async function* () {
          for await (const o of objects) {
            fileTotal++
            yield o
          }
        })()
        yield* downloadTasks(ctx.aws, loc.bucket, counted, () => seq++, s3Stats, ctx.gaps, tempDirs)
      }
    }
    const run = orderedRun
    await pool.run(tasks(), {
      onPart: (_seq, part) => onPart(part, part.origin),
      onResult: run
        ? (r) => {
            onResult(r)
            run.onResult(r)
          }
        : onResult,
      ready: run ? () => run.ready() : () => spool.drained(),
      ...(run ? { onArena: run.onArena } : {}),
      ...(target && sources.s3.length === 0 ? { expected: files.length } : {}),
    })
    await run?.finish()
    for (const copy of pipeCopies.values()) {
      const part = join(caseDir, `${copy.rel}.part`)
      const head = await readHead(part, 2)
      if (head === undefined) {
        copy.untrack()
        continue
      }
      const rel = `${copy.rel}${isGzip(head) ? '.json.gz' : '.json'}`
      await rename(part, join(caseDir, rel))
      copy.untrack()
      await recordArtifact(caseDir, ctx.case.journal, rel)
      notes.push(`${copy.display} is read once: the bytes read from it are kept in ${rel}`)
    }
    untrackRawDir?.()
    // Account-wide: the workers kept their events in sorted runs; they join the merge.
    trace('files read')
    if (setup.spoolDir && pool.threads > 0) {
      const { runs, count, arenas } = await pool.finish()
      trace(`worker events in: ${runs.length} runs on disk, ${arenas.length} in memory`)
      spool.count += count
      for (const r of runs) spool.addRunFile(r, 0)
      for (const a of arenas) spool.adoptArena(a, 0)
    }
  }

  // ---- the api source: LookupEvents, regions in parallel --------------------------------------
  const apiQueries: ApiQuerySummary[] = []
  /** Pages fetched, and of them stored (journaled) by this run; pages of earlier runs reused. */
  let apiPages = 0
  let apiStored = 0
  let apiReused = 0
  /** This run wrote timeline/raw/<run>/lookup.json: the journal's timeline.collect entry names it. */
  let lookupRecorded = false
  let apiFirst = Number.POSITIVE_INFINITY
  let apiLast = 0
  const apiSummary: SourceSummary = { name: 'api', kind: 'api', events: 0, kept: 0 }
  const apiWork = async () => {
    if (!sources.api) return
    sourceSummaries.push(apiSummary)
    let start = window.start !== null ? new Date(window.start) : undefined
    // A start counted back from now (an age, the default 7 days, or LookupEvents' 90 days) moves
    // with the run's time: a later run's reuses an earlier one's pages (see sameQuery).
    let startFollowsNow = options.since === undefined || isRelativeBound(options.since)
    const oldest = now - LOOKUP_EVENTS_RETENTION_MS
    if (!start || start.getTime() < oldest) {
      start = new Date(oldest + 60_000)
      startFollowsNow = true
      if (window.start !== null) notes.push('LookupEvents keeps 90 days: the api source starts 90 days ago')
    }
    const end = window.end !== null ? new Date(window.end) : undefined
    const sent: SentWindow = { start: start.getTime(), end: end?.getTime() ?? null, startFollowsNow }
    const earlier = await earlierLookupRuns(caseDir, ctx.case.journal.all(), `${TIMELINE_DIR}/raw`, rawDir)
    for (const problem of earlier.problems) {
      ctx.log.warn(problem)
      notes.push(problem)
    }
    const pacers = new Map<string, RegionPacer>()
    const pacerFor = (region: string) => {
      let p = pacers.get(region)
      if (!p) pacers.set(region, (p = new RegionPacer()))
      return p
    }
    const done = new Set<string>()
    const disabled = new Set<string>()
    // Records the relatedness of the moment ruled out, judged again once a role swap shows another
    // role (a Username=<function> query returns the new role's sessions before the swap is seen).
    const unrelatedApi: Rec[] = []
    /** Counts an api record by what relatedness says of it and keeps it when related. */
    const judgeApi = (record: Rec) => {
      const sel = selectRecord(record, window, relatedness)
      if (sel === 'outside-window') totals.eventsOutsideWindow++
      else if (sel === 'unrelated') {
        totals.unrelatedEvents++
        if (unrelatedApi.length < MAX_REJUDGED) unrelatedApi.push(record)
      } else if (!skipTooDeep(record, apiSummary)) {
        apiSummary.kept++
        acceptInMain(record, 'api', sel.t, sel.id, sel.reasons)
      }
    }
    /** A page's events, counted, related and kept: a page fetched now and one reused alike. */
    const feedPage = (page: LookupPage) => {
      const decoded: DecodedInput = { records: [], skipped: {} }
      for (const e of page.events) acceptRecord(e, decoded)
      for (const [reason, count] of Object.entries(decoded.skipped)) bump(reason as SkipReason, count ?? 0)
      for (const record of decoded.records) {
        apiSummary.events++
        totals.events++
        judgeApi(record)
      }
      progress()
    }
    // Journaled before it takes its name (DESIGN §2): a run killed in between leaves a temporary
    // the next open of the case puts in place, so every page the journal records is there to reuse.
    // Regions run in parallel: the journal orders their appends itself.
    const storePage = (rel: string, page: LookupPage): Promise<void> =>
      writeFileAtomic(join(caseDir, rel), page.raw, {
        beforeRename: async () => {
          await recordWrittenArtifact(ctx.case.journal, rel, {
            sha256: sha256Hex(page.raw),
            bytes: page.raw.byteLength,
          })
          apiStored++
        },
      })
    /** A sink that stores each page fetched under `file`'s name for it, then feeds it. */
    const sinkNaming =
      (file: (q: PlannedQuery, n: number) => string): PageSink =>
      async (q, n, page) => {
        apiPages++
        await storePage(`${rawDir}/${file(q, n)}`, page)
        feedPage(page)
      }
    const sink = sinkNaming(pageFile)
    const topUpSink = sinkNaming(topUpFile)
    const describeQuery = (q: PlannedQuery) =>
      `LookupEvents in ${q.region} (${q.attribute ? escapeTerminal(`${q.attribute.key}=${q.attribute.value}`) : 'every event'})`
    /**
     * Runs a query whose pages 1–k an earlier run stored: the pagination goes on from page k's
     * token (AWS refusing it: from the start), then, when that run's window had no end, the top-up.
     * The reused pages are fed once the token is taken (or the query had ended there), never
     * with a fetch from the start, which returns them again.
     */
    const runReused = async (
      q: PlannedQuery,
      r: Reuse,
      run: (
        window: { start?: Date; end?: Date },
        sink: PageSink,
        from?: QueryResume,
      ) => Promise<QueryOutcome>,
    ): Promise<{
      outcome: QueryOutcome
      reused: ApiQuerySummary['reused']
      notReused: string | null
      topUp?: { outcome: QueryOutcome; since: Date }
    }> => {
      const k = r.pages.length
      let fed = false
      let reusedEvents = 0
      // Recorded before the pages are fed and before this run's first page of the query: which
      // run's pages this run's go on from (a later run follows it; one after a finished run sees
      // the query was finished here).
      const feedReused = async () => {
        if (fed) return
        fed = true
        const record: ResumeRecord = {
          query: { region: q.region, attribute: q.attribute ?? null },
          from: r.from.at(-1)!.folder,
          pages: k,
        }
        await writeRecordedFile(
          caseDir,
          ctx.case.journal,
          `${rawDir}/${resumeFile(q)}`,
          `${jsonText(record, 2)}\n`,
        )
        for (const stored of r.pages) {
          const page = await readReusedPage(caseDir, stored)
          feedPage(page)
          reusedEvents += page.events.length
        }
        apiReused += k
      }
      let outcome: QueryOutcome = { pages: 0, events: 0, attempts: 0, throttles: 0, faults: 0 }
      // A wider window's pagination that a reused page already took past this run's start is not
      // gone on with: the rest is outside this window.
      if (r.nextToken && !r.olderThan?.reached) {
        outcome = await run(
          r.window,
          async (query, n, page) => {
            await feedReused()
            await sink(query, n, page)
          },
          { nextToken: r.nextToken, pages: k, ...(r.olderThan ? { olderThan: r.olderThan.start } : {}) },
        )
        if (outcome.pages === 0 && outcome.failure?.errorName === 'InvalidNextTokenException') {
          const why = `${describeQuery(q)} refused the NextToken of page ${k} stored in ${r.from.at(-1)!.folder}/ (${outcome.failure.errorName}: a token expires): the query was fetched again from the start`
          ctx.log.warn(why)
          notes.push(why)
          const refused = outcome
          outcome = await run({ start, end }, sink)
          outcome.attempts += refused.attempts
          outcome.throttles += refused.throttles
          outcome.faults += refused.faults
          return { outcome, reused: null, notReused: why }
        }
      }
      await feedReused()
      let topUp: { outcome: QueryOutcome; since: Date } | undefined
      if (r.topUpFrom && !outcome.regionDisabled)
        topUp = { outcome: await run({ start: r.topUpFrom, end }, topUpSink), since: r.topUpFrom }
      return {
        outcome,
        reused: {
          pages: k,
          events: reusedEvents,
          from: r.from,
          topUp: topUp
            ? {
                since: topUp.since.toISOString(),
                pages: topUp.outcome.pages,
                events: topUp.outcome.events,
              }
            : null,
          stoppedAt:
            r.olderThan && (r.olderThan.reached || outcome.stoppedOlder)
              ? { start: r.olderThan.start.toISOString(), page: k + outcome.pages }
              : null,
        },
        notReused: null,
        ...(topUp ? { topUp } : {}),
      }
    }
    const runPlan = async (plan: PlannedQuery[]) => {
      const byRegion = new Map<string, PlannedQuery[]>()
      for (const q of plan) {
        if (done.has(queryKey(q)) || disabled.has(q.region)) continue
        done.add(queryKey(q))
        byRegion.set(q.region, [...(byRegion.get(q.region) ?? []), q])
      }
      await Promise.all(
        [...byRegion.entries()].map(async ([region, queries]) => {
          const regional = ctx.aws.forRegion(region)
          const pacer = pacerFor(region)
          for (const q of queries) {
            if (disabled.has(region)) break
            const t0 = performance.now()
            const run = (queryWindow: { start?: Date; end?: Date }, pageSink: PageSink, from?: QueryResume) =>
              runQuery(
                (lq) => lookupEventsPage(regional, lq),
                q,
                queryWindow,
                pacer,
                pageSink,
                ({ failure, retry, of, waitMs }) =>
                  ctx.log.progress(
                    `timeline: LookupEvents in ${region}${q.attribute ? ` (${q.attribute.key}=${q.attribute.value})` : ''}: ${failure.reason}; retry ${retry} of ${of} in ${(waitMs / 1000).toFixed(1)} s`,
                  ),
                from,
              )
            const decision = await planReuse(caseDir, earlier.runs, earlier.artifacts, q, sent)
            let ran: Awaited<ReturnType<typeof runReused>>
            if (decision.kind === 'reuse') ran = await runReused(q, decision.reuse, run)
            else {
              let notReused: string | null = null
              if (decision.kind === 'refused') {
                notReused = `the pages an earlier run stored of ${describeQuery(q)} were not reused: ${decision.reason}; the query was fetched again from the start`
                // A page changed since it was stored is the case's business (fir case verify names
                // it); another window is an ordinary other run.
                if (decision.changed) ctx.log.warn(notReused)
                notes.push(notReused)
              }
              ran = { outcome: await run({ start, end }, sink), reused: null, notReused }
            }
            const { outcome, topUp } = ran
            apiFirst = Math.min(apiFirst, t0)
            apiLast = Math.max(apiLast, performance.now())
            const attribute = q.attribute ? `${q.attribute.key}=${q.attribute.value}` : null
            const reusedPages = ran.reused?.pages ?? 0
            const failure = outcome.failure ?? topUp?.outcome.failure
            apiQueries.push({
              region,
              attribute,
              why: q.why,
              pages: outcome.pages + (topUp?.outcome.pages ?? 0),
              events: outcome.events + (topUp?.outcome.events ?? 0),
              attempts: outcome.attempts + (topUp?.outcome.attempts ?? 0),
              throttles: outcome.throttles + (topUp?.outcome.throttles ?? 0),
              faults: outcome.faults + (topUp?.outcome.faults ?? 0),
              failed: failure ? failure.reason : null,
              reused: ran.reused,
              notReused: ran.notReused,
            })
            if (outcome.regionDisabled) {
              disabled.add(region)
              notes.push(
                `${region}: not enabled for this account (LookupEvents answered ${outcome.failure?.errorName}); skipped`,
              )
            } else if (outcome.failure) {
              const kept = reusedPages + outcome.pages
              ctx.gaps.add({
                what: `CloudTrail events in ${region}${attribute ? ` (${attribute})` : ''} after page ${kept}${kept ? ` (pages 1-${kept} kept${reusedPages ? `, ${reusedPages} of them reused from an earlier run` : ''})` : ''}`,
                call: 'cloudtrail:LookupEvents',
                reason: outcome.failure.reason,
              })
            }
            if (topUp?.outcome.failure) {
              ctx.gaps.add({
                what: `CloudTrail events in ${region}${attribute ? ` (${attribute})` : ''} since ${topUp.since.toISOString()} (asked again beside the pages reused from an earlier run) after page ${topUp.outcome.pages}`,
                call: 'cloudtrail:LookupEvents',
                reason: topUp.outcome.failure.reason,
              })
            }
          }
        }),
      )
    }
    if (target && !target.region) {
      notes.push(
        `the function's region is unknown (no full ARN, no --region, no snapshot of it): its own events were looked up by name in every region asked (${regions.join(', ')}); a function of that name in another region is another function, and its events are kept as this one's: pass --region or the function's full ARN for one region's`,
      )
    }
    let lookupTarget = target
    if (target) {
      const looked = await rolesForLookup(ctx, target.roles)
      for (const n of looked.notes) {
        ctx.log.warn(n)
        notes.push(n)
      }
      lookupTarget = { ...target, roles: looked.roles }
    }
    let plan = planQueries(lookupTarget, regions)
    // What the run asks, recorded before its first page (a later run reuses its pages by it).
    const record: LookupRunRecord = {
      window: {
        start: start.toISOString(),
        end: end?.toISOString() ?? null,
      },
      startFollowsNow,
      queriesStartedAt: ctx.clock.awsNow().toISOString(),
      fir: ctx.firVersion,
    }
    await writeRecordedFile(
      caseDir,
      ctx.case.journal,
      `${rawDir}/${LOOKUP_RECORD}`,
      `${jsonText(record, 2)}\n`,
      { once: true },
    )
    lookupRecorded = true
    const rawShown = relativeInside(process.cwd(), join(caseDir, rawDir)) ?? join(caseDir, rawDir)
    untrack.push(
      atInterrupt(
        () =>
          apiStored === 0
            ? undefined
            : `kept ${counted(apiStored, 'LookupEvents page')} in ${escapeTerminal(rawShown)}/ (journaled)${apiReused ? `, beside the ${apiReused} it reused from earlier runs` : ''}: run the same command again to go on from them rather than fetch them again`,
        () => undefined,
      ),
    )
    for (let phase = 0; phase < 3 && plan.length > 0; phase++) {
      await runPlan(plan)
      if (!target) break
      // Records wait for the rule pack before they count as accepted (acceptInMain): without it,
      // a role swap or a foreign session went unseen when the pack loaded after the first queries.
      await packReady
      const follow = planFollowUps(relatedRecords, target, regions)
      let learned = false
      for (const role of follow.newRoles) {
        if (!target.roles.some((r) => r.name.toLowerCase() === role.name.toLowerCase())) {
          target.roles.push({ ...role, why: 'swapped to in the window' })
          relatedness?.addRole(role)
          learned = true
          notes.push(
            `the function's role was changed to ${role.name} in the window: its sessions and changes are included (from the api source; trail files are read with the roles known at the start)`,
          )
        }
      }
      if (learned) {
        // Judged again: counted once more, as what they are now.
        for (const record of unrelatedApi.splice(0)) {
          totals.unrelatedEvents--
          judgeApi(record)
        }
      }
      plan = follow.queries.filter((q) => !done.has(queryKey(q)))
    }
    if (disabled.size === regions.length && regions.length > 0) {
      ctx.gaps.add({
        what: `CloudTrail events in ${regions.join(', ')}`,
        call: 'cloudtrail:LookupEvents',
        reason: 'credentials: every region refused the credentials (UnrecognizedClientException)',
      })
    }
  }

  // ---- records from a query engine (Athena, CloudTrail Lake) ----------------------------------
  const engineWork = async () => {
    if (!options.engine) return
    const { origin, name, records, query } = options.engine
    const summary: SourceSummary = { name, kind: origin, events: 0, kept: 0, query }
    sourceSummaries.push(summary)
    for (const record of records) {
      summary.events++
      totals.events++
      const sel = selectRecord(record, window, relatedness)
      if (sel === 'outside-window') totals.eventsOutsideWindow++
      else if (sel === 'unrelated') totals.unrelatedEvents++
      else if (!skipTooDeep(record, summary)) {
        summary.kept++
        acceptInMain(record, origin, sel.t, sel.id, sel.reasons)
      }
    }
  }

  // ---- the output: events.jsonl (and an export), written in time order ------------------------
  // Findings that need several events: the detector's (fed in time order, as lines are written)
  // and the timeline's own correlations of a function's events (known once every source is read:
  // the output of a function's timeline opens after the sources; an ordered hunt's while reading).
  const findingEntries: TimelineFindingEntry[] = []
  const byLevel = Object.fromEntries(LEVELS.map((l) => [l, 0])) as Record<FindingLevel, number>
  const byRule = new Map<string, { rule: string; title: string; level: FindingLevel; count: number }>()
  let stored = 0
  let eventsWithFindings = 0
  let output:
    | {
        detector: MergeDetector
        extra: Map<string, EventFinding[]>
        events: AtomicFileWriter
        exporter?: Exporter
        exportFile?: OutputWriter
      }
    | undefined
  const exportWrite = async (text: string) => {
    if (!text) return
    if (output?.exportFile) await output.exportFile.write(text)
    else if (options.exportWriter) await options.exportWriter(text)
  }
  const openOutput = async (): Promise<NonNullable<typeof output>> => {
    const loaded = pack ?? (await packReady)
    const detector = new MergeDetector(loaded, {
      ...(awsIpRanges ? { awsIpRanges } : {}),
      functionRoles: target ? target.roles.map((r) => r.arn ?? r.name) : [],
    })
    const extra = target ? correlate(facts, target) : new Map<string, EventFinding[]>()
    const events = await new AtomicFileWriter(join(caseDir, EVENTS_FILE), 4 << 20, { direct: true }).open()
    const exporter = options.format ? new Exporter(options.format, options.raw ?? false) : undefined
    let exportFile: OutputWriter | undefined
    try {
      if (exporter && outPath) exportFile = await openOutputFile(outPath)
    } catch (err) {
      await events.abort()
      throw err
    }
    output = {
      detector,
      extra,
      events,
      ...(exporter ? { exporter } : {}),
      ...(exportFile ? { exportFile } : {}),
    }
    if (exporter) await exportWrite(exporter.header())
    return output
  }
  /** Removes the outputs' temporaries; `keepEvents`: events.jsonl's holds a file the journal recorded. */
  const abortOutput = async (options: { keepEvents?: boolean } = {}) => {
    if (!options.keepEvents) await output?.events.abort()
    await output?.exportFile?.abort()
    output = undefined
  }
  const scrub = redactor.size > 0
  // A function's timeline (hundreds of events, not an account's millions): the time each eventID
  // was written at, so a record that claims another's eventID at another time — a copy with its
  // time moved — is seen (copies at one time meet in the merge, see Copies).
  const idTimes = target ? new Map<string, number>() : undefined
  const retimed = { count: 0, ids: [] as string[] }
  const future = { count: 0, lastMs: Number.NEGATIVE_INFINITY }
  const malformed = { count: 0, ids: [] as string[], fields: new Set<string>() }
  /** Events whose caller or resources (what AWS wrote, not the caller) hold a secret the case knows. */
  const secretInIdentity = { count: 0, ids: [] as string[] }
  /** Writes events, in order: detector findings added, secrets scrubbed, exported when asked. */
  const writeLines = async (batch: SpooledLine[]) => {
    const { detector, extra, events, exporter } = output ?? (await openOutput())
    // An event read before now cannot have happened after now (read once a batch: a hunt writes
    // millions), give or take the skew of a clock fir could not correct (a laptop's, in a local run).
    const writtenAt = ctx.clock.awsNow().getTime() + FUTURE_ALLOWANCE_MS
    for (const item of batch) {
      if (item.t > writtenAt) {
        future.count++
        if (item.t > future.lastMs) future.lastMs = item.t
      }
      if (idTimes) {
        const earlier = idTimes.get(item.id)
        if (earlier === undefined) idTimes.set(item.id, item.t)
        else if (earlier !== item.t) {
          retimed.count++
          if (retimed.ids.length < 5 && !retimed.ids.includes(item.id)) retimed.ids.push(item.id)
        }
      }
      let line: Buffer | string = item.line
      let event: TimelineEvent | undefined
      if (item.malformed) {
        // Which fields: read again from raw for these events only (the flag came with the line).
        event = JSON.parse(line.toString()) as TimelineEvent
        malformed.count++
        if (malformed.ids.length < 5) malformed.ids.push(item.id)
        for (const f of event.raw ? (malformedFields(event.raw) ?? []) : []) malformed.fields.add(f)
      }
      let added = extra.get(item.id)
      if (detector.wants(item.detectorFlags, item.scopeRoles)) {
        event ??= JSON.parse(line.toString()) as TimelineEvent
        // Evaluated even when fir's own: the detector learns roles and counts bursts in time order.
        const found = event.raw ? detector.evaluate(event.raw) : []
        if (found.length > 0) added = [...(added ?? []), ...found]
      }
      if (item.hasFindings || added) {
        event ??= JSON.parse(line.toString()) as TimelineEvent
        // fir's own calls (request ids in the journal) are not detections: what fir did is in the
        // journal, and a finding on it reads as the attacker's (fir's revoke-sessions policy as a
        // grant to remove). The stateless rules left them out already (buildEvent).
        if (event.fir) added = undefined
        if (added) {
          for (const f of added) if (!event.findings.some((x) => x.rule === f.rule)) event.findings.push(f)
          line = jsonText(event)
        }
        if (event.findings.length > 0) eventsWithFindings++
        for (const f of event.findings) {
          byLevel[f.level] = (byLevel[f.level] ?? 0) + 1
          const r = byRule.get(f.rule) ?? { rule: f.rule, title: f.title, level: f.level, count: 0 }
          r.count++
          byRule.set(f.rule, r)
          findingEntries.push(findingEntry(event, f))
        }
      }
      stored++
      if (scrub) {
        // A line (nearly every one) in which no secret stands in any form comes back as it was and
        // is written without being encoded again; else it is scrubbed value by value (scrubJsonText).
        const text = line.toString()
        const clean = redactor.scrubJsonText(text)
        if (clean !== text) {
          const parsed = event ?? (JSON.parse(text) as TimelineEvent)
          if (identityHoldsSecret(parsed)) {
            secretInIdentity.count++
            if (secretInIdentity.ids.length < 5) secretInIdentity.ids.push(parsed.id)
          }
          line = clean
          event = undefined // an export is made from what is stored
        }
      }
      if (typeof line === 'string') await events.write(`${line}\n`)
      else {
        const full = events.writeLine(line)
        if (full) await full
      }
      if (exporter) {
        event ??= JSON.parse(line.toString()) as TimelineEvent
        await exportWrite(exporter.row(event))
      }
    }
  }

  // Relatedness learns a swapped-in role from the api source (apiWork); the file pipeline uses the
  // roles known at the start, and a swap seen in its events is named (noteRoleSwap).
  let sourcesRead = false
  let poolClosed: Promise<void> = Promise.resolve()
  try {
    trace('sources start')
    await Promise.all([fileWork(), apiWork(), packReady.then(engineWork)])
    trace('sources done')
    sourcesRead = true
  } catch (err) {
    await emitting.catch(() => undefined)
    await abortOutput()
    await spool.dispose()
    throw err
  } finally {
    // A thread takes tens of milliseconds to exit: after a good read the threads stop while the
    // outputs are written (awaited before returning); after a failure, before going on.
    poolClosed = (pool ?? (await poolStarting?.catch(() => undefined)))?.close() ?? Promise.resolve()
    if (sourcesRead) poolClosed.catch(() => undefined)
    else await poolClosed
    for (const d of tempDirs) await rm(d, { recursive: true, force: true })
  }
  for (const [name, s] of fileSources) if (name === 'file' || s.kind === 's3') sourceSummaries.push(s)
  const s3Summary = sourceSummaries.find((s) => s.kind === 's3')
  if (s3Summary)
    Object.assign(s3Summary, {
      listed: s3Stats.listed,
      outsideWindow: s3Stats.outsideWindow,
      digestFiles: s3Stats.digestFiles,
      failed: s3Stats.failed,
    })
  totals.outsideWindow += s3Stats.outsideWindow
  if (s3Stats.digestFiles) bump('digest-file', s3Stats.digestFiles)
  progress(true)
  ctx.log.progress('')

  // ---- write in order ----------------------------------------------------------------------
  try {
    for await (const batch of spool.sortedBatches()) await writeLines(batch)
    const o = output ?? (await openOutput())
    if (o.exporter) await exportWrite(o.exporter.footer(stored))
  } catch (err) {
    await abortOutput()
    await spool.dispose()
    throw err
  }
  trace('merged and written')
  for (const [name, swap] of swapsInFiles) {
    // A role the run knew (from the start, or learnt from the api source) was searched for.
    if (target!.roles.some((r) => r.name.toLowerCase() === name.toLowerCase())) continue
    // The role's name is the intruder's to choose: a command is suggested only for a real IAM name.
    const command = isRoleName(name)
      ? commandLine('fir', [
          'timeline',
          arg(options.function ?? target!.functionName),
          flag('--case', caseDir),
          flag('--role', name),
          ...(options.sources ?? []).flatMap((x) => [flag('--source', x)]),
          ...(options.since ? [flag('--since', options.since)] : []),
          ...(options.until ? [flag('--until', options.until)] : []),
          ...(options.region ? [flag('--region', options.region)] : []),
        ])
      : null
    const message = `the function's role was changed to ${escapeTerminal(name)} at ${new Date(swap.t).toISOString()} (event ${escapeTerminal(swap.id)}): trail files were read with the roles known at the start, so calls made with ${escapeTerminal(name)} are not in this timeline${command ? `; to add them, run the timeline again with that role too: ${command}` : ''}`
    ctx.log.warn(message)
    notes.push(message)
  }
  const { events, exportFile } = output!
  pack ??= await packReady
  // A run that could read nothing because its sources failed (denied, throttled out, unreachable:
  // each a gap), or because every input it was given was refused (a wrong file, /dev/zero, digest
  // files only), stores nothing: an empty timeline would say that nothing matched (report and case
  // show read the latest), and would replace one that holds events. An earlier timeline stays
  // where it is. A source read without error that held nothing (an empty page) is no such run.
  // (A file the pre-filter ruled out was read: a log with nothing related in it.)
  const nothingRead =
    stored === 0 &&
    totals.events === 0 &&
    totals.read === 0 &&
    totals.prefiltered === 0 &&
    apiPages === 0 &&
    apiReused === 0
  // Files refused unread, outside the file pipeline, count all the same.
  const refusedFiles = totals.refused + unread.length
  const whyNothing = !nothingRead
    ? undefined
    : ownGaps().length > 0
      ? {
          what: 'every source failed',
          count: counted(ownGaps().length, 'gap'),
          fix: 'fix the access named in the gaps',
        }
      : refusedFiles > 0 && totals.outsideWindow === 0
        ? {
            what: 'every input was refused',
            count: counted(refusedFiles, 'file'),
            fix: 'name CloudTrail logs (the files are listed with why each was refused)',
          }
        : undefined
  // Every input refused, and no api source: nothing the user named could be read, which is bad
  // input (exit 2, below), not a finished run; the refusals are the error's detail.
  const allRefused = whyNothing !== undefined && ownGaps().length === 0 && !sources.api
  let notStored: string | undefined
  if (whyNothing) {
    await abortOutput()
    await spool.dispose()
    // An empty timeline in its place would say "nothing matched": report and case show would take
    // the run's failure for a finding.
    const earlier = (await exists(join(caseDir, EVENTS_FILE)))
      ? await readTimelineSummaryHead(join(caseDir, SUMMARY_FILE))
      : undefined
    const which = earlier ? `the timeline of ${earlier.startedAt ?? 'the earlier run'}` : undefined
    const stays = which
      ? `${which}${earlier!.events !== null ? ` (${earlier!.events} events)` : ''} stays in place`
      : 'the case still has no timeline'
    if (!allRefused)
      ctx.log.warn(
        `nothing was read: ${whyNothing.what} (${whyNothing.count}), so ${stays} and this run stored nothing; ${whyNothing.fix} and run again`,
      )
    notStored = `${whyNothing.what}; ${which ? `${which} stays in place` : 'the case has no timeline'}`
    notes.push(`not stored: ${notStored}`)
  }
  // The timeline this run replaces is kept, not lost: moved to timeline/history/ first.
  let archived: Awaited<ReturnType<typeof archiveEarlierTimeline>>
  /** events.jsonl is journaled: its temporary holds the recorded file, and the archive is followed. */
  let eventsRecorded = false
  try {
    archived = notStored
      ? undefined
      : await archiveEarlierTimeline(caseDir, ctx.case.journal, [EVENTS_FILE, FINDINGS_FILE, SUMMARY_FILE])
    if (!notStored) {
      // The spool's lines are written out by commit: dispose after. Each timeline file is journaled
      // before it takes its name: a run killed in between leaves its temporary, which the next open
      // of the case puts in place, never a file the journal does not record (which verify would call
      // added, and every later run refuse to replace).
      await events.commit({
        beforeRename: async (written) => {
          await recordWrittenArtifact(ctx.case.journal, EVENTS_FILE, written)
          eventsRecorded = true
        },
      })
      await spool.dispose()
      trace('events.jsonl recorded')
      if (exportFile) {
        await exportFile.commit()
        const rel = relativeInsideLanded(caseDir, outPath!)?.split(sep).join('/')
        if (rel) await recordArtifact(caseDir, ctx.case.journal, rel)
      }
      await writeRecordedFile(
        caseDir,
        ctx.case.journal,
        FINDINGS_FILE,
        `${jsonText(redactor.scrubDeep(findingEntries), 2)}\n`,
      )
    }
  } catch (err) {
    // A run that fails here (a disk that fills up as events.jsonl is flushed: ENOSPC) leaves none
    // of its own temporaries (a hunt's run to gigabytes: they would keep the disk full), and
    // unless its events.jsonl was recorded, puts back the timeline it moved aside, journaled as
    // the next open of the case would (finishInterruptedTimelineMoves). A recorded events.jsonl's
    // temporary is that file: the next open puts it in place, after the earlier timeline's archive.
    await abortOutput({ keepEvents: eventsRecorded })
    await spool.dispose()
    await poolClosed.catch(() => undefined)
    if (!notStored && !eventsRecorded) {
      await finishInterruptedTimelineMoves(caseDir, ctx.case.journal).catch((putBack: unknown) => {
        ctx.log.warn(
          `the earlier timeline was not put back (${(putBack as Error).message}): the next fir command that opens the case puts it back`,
        )
      })
    }
    throw err
  }
  if (archived) {
    notes.push(
      `the earlier timeline${archived.startedAt ? ` (run ${archived.startedAt}${archived.events !== null ? `, ${archived.events} events` : ''})` : ''} was moved to ${archived.folder}/`,
    )
    // A run that kept fewer events than the one it replaces may be a mistake (a wrong --source,
    // a source that failed): the report reads the latest, so say where the earlier one is.
    if (archived.events !== null && stored < archived.events) {
      ctx.log.warn(
        `this timeline holds ${stored} events, the one it replaces ${archived.events}: that one is kept in ${archived.folder}/ (fir report and case show read the latest)`,
      )
    }
  }

  const sameTime = {
    count: spool.conflicts.count + (reorder?.conflicts.count ?? 0),
    ids: [...new Set([...spool.conflicts.ids, ...(reorder?.conflicts.ids ?? [])])].slice(0, 5),
  }
  const conflicting = {
    count: sameTime.count + retimed.count,
    ids: [...new Set([...sameTime.ids, ...retimed.ids])].slice(0, 5),
  }
  /**
   * The first ids of conflicting records, `…` when there are more. An id is the record's: a line
   * break in it is escaped here (a warning keeps its own line breaks, which would print a forged line).
   */
  const idList = (c: { count: number; ids: string[] }) =>
    `${c.ids.map((id) => escapeTerminal(id)).join(', ')}${c.count > c.ids.length ? ', …' : ''}`
  if (retimed.count > 0) {
    ctx.log.warn(
      `${counted(retimed.count, 'record')} ${retimed.count === 1 ? 'claims' : 'claim'} the eventID of another record at another time (${idList(retimed)}): all are kept; CloudTrail gives an event one time, so a copy's time was moved or a record forged — compare them in timeline/events.jsonl`,
    )
  }
  if (sameTime.count > 0) {
    ctx.log.warn(
      `${counted(sameTime.count, 'record')} ${sameTime.count === 1 ? 'shares' : 'share'} a time and eventID with another record but not its content (${idList(sameTime)}): all are kept; a copy of a log was altered or a record forged — compare them in timeline/events.jsonl`,
    )
  }

  if (secretInIdentity.count > 0) {
    const one = secretInIdentity.count === 1
    const message = `${counted(secretInIdentity.count, 'event')} (${idList(secretInIdentity)}) ${one ? 'has' : 'have'} a value this case holds as a secret in ${one ? 'its' : 'their'} caller's identity or resources, which AWS writes: it is redacted there too, so ${one ? 'this caller' : 'these callers'} may be hidden in fir's outputs — a secret-looking environment value equal to a role or session name can be set to hide one; the values are in the trail files and the snapshot's evidence`
    ctx.log.warn(message)
    notes.push(message)
  }

  if (malformed.count > 0) {
    const one = malformed.count === 1
    ctx.log.warn(
      `${counted(malformed.count, 'event')} (${idList(malformed)}) ${one ? 'has' : 'have'} fields of another type than CloudTrail gives them (${[...malformed.fields].map((f) => escapeTerminal(f)).join(', ')}): kept, with those fields blank (a number as text) in the event and as received in ${one ? 'its raw record' : 'their raw records'} — a log another tool rewrote, or a forged record; check ${one ? 'it' : 'them'} in ${EVENTS_FILE}`,
    )
  }

  if (future.count > 0) {
    const one = future.count === 1
    ctx.log.warn(
      `${counted(future.count, 'event')} ${one ? 'is' : 'are'} dated in the future, later than this run read ${one ? 'it' : 'them'} (the latest ${new Date(future.lastMs).toISOString()}): kept, but CloudTrail records nothing ahead of time — a wrong clock where ${one ? 'it was' : 'they were'} logged, or a forged record; check ${one ? 'it' : 'them'} in ${EVENTS_FILE} (--until leaves such events out)`,
    )
  }

  const finished = Date.now()
  const secs = Math.max(0.001, (finished - started) / 1000)
  const summary: TimelineSummary = {
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    window: {
      since: window.start !== null ? new Date(window.start).toISOString() : null,
      until: window.end !== null ? new Date(window.end).toISOString() : null,
    },
    function: resolved
      ? {
          name: resolved.target.functionName,
          arn: resolved.target.functionArn ?? null,
          region: resolved.target.region ?? null,
          account: resolved.target.account ?? null,
          roles: target!.roles,
          roleSource: resolved.roleSource,
          snapshotSet: resolved.snapshotSet ?? null,
        }
      : null,
    sources: sourceSummaries,
    files: {
      total: totals.files + unread.length,
      read: totals.read,
      prefiltered: totals.prefiltered,
      refused: refusedFiles,
      outsideWindow: totals.outsideWindow,
      ignored: local?.ignored ?? 0,
      bytes: totals.bytes,
      uncompressedBytes: totals.uncompressed,
    },
    events: {
      read: totals.events,
      kept: spool.count + (reorder?.count ?? 0),
      outsideWindow: totals.eventsOutsideWindow,
      unrelated: totals.unrelatedEvents,
      duplicates: spool.duplicates + (reorder?.duplicates ?? 0),
      conflicting,
      future: { count: future.count, last: future.count ? new Date(future.lastMs).toISOString() : null },
      malformed: { count: malformed.count, ids: malformed.ids, fields: [...malformed.fields] },
      stored,
    },
    skipped: Object.fromEntries(BAD_INPUT_REASONS.filter((r) => skipped[r]).map((r) => [r, skipped[r]])),
    problemFiles,
    problemFilesOmitted,
    findings: {
      total: findingEntries.length,
      events: eventsWithFindings,
      byLevel,
      byRule: [...byRule.values()].sort(
        (a, b) => LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level) || b.count - a.count,
      ),
    },
    rules: { loaded: pack.all.length, refused: pack.refused },
    api: sources.api
      ? {
          regions,
          queries: apiQueries,
          pages: apiPages,
          reusedPages: apiReused,
          requestsPerSecond:
            apiLast > apiFirst
              ? Math.round(
                  (apiQueries.reduce((s, q) => s + q.attempts, 0) / ((apiLast - apiFirst) / 1000)) * 100,
                ) / 100
              : null,
        }
      : null,
    outputs: {
      events: EVENTS_FILE,
      findings: FINDINGS_FILE,
      summary: SUMMARY_FILE,
      raw: (sources.api && apiStored > 0) || pipeCopies.size > 0 ? rawDir : null,
      export: exportFile ? outPath! : options.format ? '(stdout)' : null,
    },
    throughput: {
      eventsPerSecond: Math.round(totals.events / secs),
      uncompressedMBps: Math.round((totals.uncompressed / 1e6 / secs) * 10) / 10,
      threads: pool?.readers ?? 0,
      deliveryOrder: reorder !== undefined,
    },
    notes,
    // This run's (a playbook's context holds its earlier steps' too: they are theirs to record).
    gaps: ownGaps(),
    ...(notStored ? { notStored } : {}),
  }
  if (!notStored) {
    await writeRecordedFile(
      caseDir,
      ctx.case.journal,
      SUMMARY_FILE,
      `${jsonText(redactor.scrubDeep(summary), 2)}\n`,
    )
  }
  await ctx.case.journal.append({
    action: 'timeline.collect',
    target: target?.functionArn ?? target?.functionName ?? 'account',
    params: {
      window: summary.window,
      sources: options.sources?.length
        ? options.sources
        : options.engine
          ? [`${options.engine.origin}:${options.engine.name}`]
          : ['api'],
      regions: sources.api ? regions : undefined,
      // The run folder whose lookup.json this run wrote: the run finished (its pages are not
      // reused as an interrupted run's: see lookup-runs.ts).
      ...(lookupRecorded ? { rawFolder: rawDir } : {}),
      events: summary.events,
      findings: summary.findings.total,
      describedWindow: describeWindow(window),
      // A run that stored nothing has no summary.json: its gaps (why it read nothing) are here,
      // for the report's Gaps.
      ...(notStored ? { stored: false, ...(ownGaps().length ? { gaps: ownGaps() } : {}) } : {}),
    },
    outcome: 'recorded',
    requestIds: ctx.aws.requestLog.flatMap((r) => (r.requestId ? [r.requestId] : [])),
  })
  await poolClosed
  if (allRefused) throw everyInputRefused(summary, refusedFiles)
  return { summary, findings: findingEntries }
}

/**
 * The error of a run whose every input was refused (exit 2): each file and why in the message (the
 * first few) and in the `--json` document's `result`, and what to name instead.
 */
function everyInputRefused(summary: TimelineSummary, refusedFiles: number): UsageError {
  const err = new UsageError(
    `unable to build the timeline: every input was refused (${counted(refusedFiles, 'file')}): ${describeRefusals(summary)}`,
    {
      actions: [
        'name CloudTrail logs: trail files (.json, .json.gz: {"Records":[…]}), LookupEvents output ({"Events":[…]}), arrays of records or JSON Lines',
        `nothing was stored: ${summary.notStored?.replace(/^[^;]*; /, '') ?? 'the case has no timeline'}`,
      ],
    },
  )
  return Object.assign(err, {
    envelopeExtra: {
      result: {
        files: summary.files,
        skipped: summary.skipped,
        problemFiles: summary.problemFiles,
        problemFilesOmitted: summary.problemFilesOmitted,
        notStored: summary.notStored,
      },
    },
  })
}

/**
 * Whether a secret the case knows stands in what AWS wrote about an event's caller and resources
 * (address, identity, session, issuer, resource ARNs) rather than in what the caller sent.
 */
function identityHoldsSecret(e: TimelineEvent): boolean {
  const a = e.actor ?? ({} as Partial<TimelineEvent['actor']>)
  const fields: unknown[] = [e.sourceIp, a.arn, a.sessionName, a.issuer, a.invokedBy, e.account]
  for (const r of Array.isArray(e.resources) ? e.resources : [])
    if (r && typeof r === 'object') fields.push((r as Record<string, unknown>).ARN)
  return fields.some((f) => typeof f === 'string' && f !== '' && redactor.scrub(f) !== f)
}

function findingEntry(e: TimelineEvent, f: EventFinding): TimelineFindingEntry {
  return {
    eventId: e.id,
    time: e.time,
    eventName: e.name,
    rule: f.rule,
    title: f.title,
    level: f.level,
    tags: f.tags,
    actor: e.actor.arn ?? e.actor.invokedBy ?? null,
    region: e.region,
    summary: eventSummary(e),
  }
}

export type { RulePack }
