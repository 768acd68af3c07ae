import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  getAthenaExecution,
  getAthenaResultsPage,
  startAthenaQuery,
  stopAthenaQuery,
} from '../../aws/athena.js'
import type { AwsClients } from '../../aws/clients.js'
import { classifyFailure, type FailureKind, gapReason } from '../../aws/errors.js'
import { cancelLakeQuery, describeLakeQuery, getLakeResultsPage, startLakeQuery } from '../../aws/lake.js'
import { FirError, UsageError } from '../../errors.js'
import type { NewEntry } from '../case/journal.js'
import { atInterruptAwaited } from '../common/interrupt.js'
import { awsCliCommand, type CommandWord } from '../common/suggest.js'
import type { FirContext, Gap } from '../context.js'
import { type CloudTrailRecord, type Row, rowToRecord } from './records.js'
import {
  athenaTable,
  type BuiltQuery,
  buildQuery,
  type Dialect,
  eventDataStoreRef,
  type RelatednessTerms,
} from './sql.js'
import { findQueryWords, stopQueryWords } from './unsettled.js'

export interface CollectOptions {
  since: Date
  until: Date
  /** Accounts and regions to read (the function's, or every one named). */
  accounts: string[]
  regions: string[]
  /** Without terms: every event of the window (an account-wide hunt). */
  terms?: RelatednessTerms
  /** Days read either side of the window in the date partitions (default 1). */
  marginDays?: number
  /** First poll interval (ms); it grows to 2 s. */
  pollMs?: number
  /** Give up after this long (default 30 minutes): the query is stopped on AWS, journaled. */
  timeoutMs?: number
}

export interface AthenaCollectOptions extends CollectOptions {
  /** DB.TABLE of the CloudTrail table (see `fir athena ddl`). */
  table: string
  /** s3://bucket/prefix/ for results (else the workgroup's). */
  outputLocation?: string
  workgroup?: string
}

export interface LakeCollectOptions extends CollectOptions {
  eventDataStore: string
}

/** What was asked and what it cost: shown by --dry-run, journaled with the query id. */
export interface QueryInfo {
  engine: Dialect
  source: string
  sql: string
  parameters: string[]
  rendered: string
  partitions: BuiltQuery['partitions']
  dryRun: boolean
  queryId?: string
  state?: string
  bytesScanned?: number
  /** Approximate price of the scan: $5 per TB (Athena bills at least 10 MB a query). */
  costUsd?: number
  rows: number
  pages: number
  elapsedMs: number
  outputLocation?: string
  workgroup?: string
  /**
   * Athena: the ClientRequestToken its start was sent with (fir's, made per query): it names the
   * query in the journal before Athena gives its id, and a repeat of the start starts no other.
   */
  clientRequestToken?: string
  /** Where the query runs (Lake: the event data store's region when its ARN names one). */
  region: string
  /** The query names ACCOUNT_PLACEHOLDER for the caller's account (--dry-run only). */
  accountPlaceholder?: true
}

export interface CollectResult {
  /** CloudTrail records rebuilt from the rows, original field names. */
  records: CloudTrailRecord[]
  query: QueryInfo
  /** Every results page as received (for the case's raw/ folder). */
  rawPages: unknown[]
  /**
   * Set when a call of the query was denied, throttled out, unimplemented or failed on AWS's side
   * (after retries): the rows of the pages before it are kept, and the command ends with gaps.
   */
  gap?: Gap
}

/** Failures of an engine's calls that are gaps of the run (DESIGN §1), as LookupEvents' are. */
const GAP_KINDS = new Set<FailureKind>(['denied', 'throttled', 'unimplemented', 'service-error'])

/**
 * The gap for a failed engine call (`call`, the IAM action), or undefined when the failure is not
 * one: fir's own errors (a FAILED query, a timeout) and bad input (an unknown data store) stay errors.
 */
function callGap(err: unknown, call: string, what: string, pages: number): Gap | undefined {
  const cause = err instanceof FirError ? err.cause : err
  if (cause === undefined || !GAP_KINDS.has(classifyFailure(cause))) return undefined
  return {
    what: `${what}${pages ? ` after page ${pages} (pages 1-${pages} kept)` : ''}`,
    call,
    reason: gapReason(cause),
  }
}

const S3_URI_RE = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[\x21-\x7e]*)?$/
const DONE_ATHENA = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED'])
const DONE_LAKE = new Set(['FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT'])
const TB = 1e12

export function costOf(bytes: number | undefined, engine: Dialect): number | undefined {
  if (bytes === undefined) return undefined
  const billed = engine === 'athena' ? Math.max(bytes, 10 * 1024 * 1024) : bytes
  return Math.round((billed / TB) * 5 * 1e6) / 1e6
}

function requestIdsSince(ctx: FirContext, from: number): string[] {
  return ctx.aws.requestLog
    .slice(from)
    .map((r) => r.requestId)
    .filter((id): id is string => Boolean(id))
}

async function journalQuery(ctx: FirContext, info: QueryInfo, from: number, error?: FirError): Promise<void> {
  const { rendered: _r, ...params } = info
  await ctx.case.journal.append({
    action: 'timeline.query',
    target: `${info.engine}:${info.source}`,
    params: params as unknown as Record<string, unknown>,
    outcome: error ? 'failed' : 'recorded',
    requestIds: requestIdsSince(ctx, from),
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  })
}

/** What the query's run does while it is on AWS (see {@link watchQuery}). */
interface QueryWatch {
  /**
   * Sends the start call (its intent is journaled already) and journals the id it returns. Once an
   * interruption is stopping the query it never returns: the interruption's cleanup does the rest.
   */
  start(send: () => Promise<string>): Promise<string>
  /** Never returns once an interruption is stopping the query: the run goes no further. */
  halt(): Promise<void>
  /** The query has ended (or fir no longer waits for it): an interruption no longer stops it. */
  done(): void
  /**
   * fir gives up on a query that may still run (its poll timed out or failed): stops it on AWS,
   * journaled as an interruption's stop is, and says what happened (undefined: it never started).
   */
  abandon(reason: string): Promise<string | undefined>
}

/**
 * Called just before the query is sent: journals the intent (timeline.query.start, outcome
 * started: the SQL, parameters, where it runs, Athena's ClientRequestToken), and until `done`
 * stops the query if fir is interrupted (Ctrl-C): it waits for the start call if it is out, then
 * stops the query it started, journaling the stop before the call (timeline.query.stop, started)
 * and its result after (recorded or failed). So a query is never left running on AWS with nothing
 * in the case about it, and one fir could not confirm stopped is left with a started entry that
 * `fir case show` names (unsettledQueries). `start` journals the id the engine gives the query
 * (timeline.query.start, recorded); the end is journaled as before (timeline.query).
 */
async function watchQuery(
  ctx: FirContext,
  aws: AwsClients,
  info: QueryInfo,
  from: number,
  stop: { call: string; run: (aws: AwsClients, id: string) => Promise<void> },
): Promise<QueryWatch> {
  const label = info.engine === 'athena' ? 'Athena' : 'CloudTrail Lake'
  const target = `${info.engine}:${info.source}`
  const about = () => ({
    engine: info.engine,
    source: info.source,
    region: info.region,
    ...(info.queryId ? { queryId: info.queryId } : {}),
    ...(info.clientRequestToken ? { clientRequestToken: info.clientRequestToken } : {}),
  })
  // Named with the region the query runs in, and the profile and endpoint fir was given.
  const cli = (words: CommandWord[]) => `\`${awsCliCommand(words, ctx.aws, { region: info.region })}\``
  const noted = (journaled: boolean) => (journaled ? ' (journaled)' : ' (the journal could not be written)')
  const endWith = (error: FirError) =>
    journalQuery(ctx, info, from, error).then(
      () => true,
      () => false,
    )
  /**
   * Stops the query on AWS, journaling the stop before the call (timeline.query.stop, started: a
   * stop that never returns leaves the query unsettled) and its result after; says what happened.
   */
  const stopQuery = async (id: string, why: { signal?: string; reason?: string }): Promise<string> => {
    const at = ctx.aws.requestLog.length
    const params = {
      ...about(),
      call: stop.call,
      ...(why.signal ? { signal: why.signal } : {}),
      ...(why.reason ? { reason: why.reason } : {}),
    }
    const append = (entry: Omit<NewEntry, 'action' | 'target' | 'params'>) =>
      ctx.case.journal.append({ action: 'timeline.query.stop', target, params, ...entry }).then(
        () => true,
        () => false,
      )
    const intent = append({ outcome: 'started' })
    let failure: FirError | undefined
    try {
      await stop.run(aws, id)
    } catch (err) {
      failure = asFirError(err, `unable to stop ${label} query ${id}`)
    }
    const journaled =
      (await intent) &&
      (await append({
        outcome: failure ? 'failed' : 'recorded',
        requestIds: requestIdsSince(ctx, at),
        ...(failure ? { error: { code: failure.code, message: failure.message } } : {}),
      }))
    return failure
      ? `${failure.message}; it may still be running: stop it with ${cli(stopQueryWords(info.engine, info.source, id))}${noted(journaled)}`
      : `stopped ${label} query ${id}${noted(journaled)}`
  }
  let stopping = false
  let phase: 'before' | 'starting' | 'stopping' = 'before'
  let sent: Promise<string> | undefined
  const untrack = atInterruptAwaited(
    `stopping the ${label} query`,
    async (signal) => {
      stopping = true
      if (!sent) {
        // start() sends nothing from now on.
        const journaled = await endWith(
          new FirError('interrupted', `interrupted before the ${label} query was sent: nothing was started`),
        )
        return `the ${label} query was not sent${noted(journaled)}`
      }
      phase = 'starting'
      let id: string
      try {
        id = await sent
      } catch (err) {
        const fir = asFirError(err, `unable to start the ${label} query`)
        return `the ${label} query did not start: ${fir.message}${noted(await endWith(fir))}`
      }
      info.queryId = id
      phase = 'stopping'
      return stopQuery(id, { signal })
    },
    (limitMs) => {
      const waited = `${limitMs / 1000} s`
      if (phase === 'stopping')
        return `could not confirm that ${label} query ${info.queryId} stopped (no answer after ${waited}): it may still be running; stop it with ${cli(stopQueryWords(info.engine, info.source, info.queryId!))}`
      if (phase === 'starting') {
        const token = info.clientRequestToken ? ` (ClientRequestToken ${info.clientRequestToken})` : ''
        return `could not confirm whether the ${label} query${token} started (no answer after ${waited}): it may be running; find it with ${cli(findQueryWords(info.engine, info.source, info.workgroup))} and stop it`
      }
      return `stopping the ${label} query: not finished after ${waited}`
    },
  )
  try {
    await ctx.case.journal.append({
      action: 'timeline.query.start',
      target,
      params: {
        ...about(),
        sql: info.sql,
        parameters: info.parameters,
        partitions: info.partitions,
        ...(info.workgroup ? { workgroup: info.workgroup } : {}),
        ...(info.outputLocation ? { outputLocation: info.outputLocation } : {}),
      },
      outcome: 'started',
    })
  } catch (err) {
    untrack()
    throw err
  }
  const halt = async () => {
    if (stopping) await new Promise<never>(() => undefined)
  }
  return {
    start: async (send) => {
      await halt()
      sent = send()
      let id: string
      try {
        id = await sent
      } catch (err) {
        await halt()
        throw err
      }
      info.queryId = id
      await ctx.case.journal.append({
        action: 'timeline.query.start',
        target,
        params: about(),
        outcome: 'recorded',
        requestIds: requestIdsSince(ctx, from),
      })
      await halt()
      return id
    },
    halt,
    done: untrack,
    abandon: async (reason) => {
      untrack()
      return info.queryId ? stopQuery(info.queryId, { reason }) : undefined
    },
  }
}

/**
 * The end of a query run that failed (`err`): the query journaled as ended with the error; one
 * that started and was never seen to end (its poll timed out or failed) stopped first, since fir
 * no longer reads it (rather than left running, and billing, on AWS). A failure that is a gap
 * returns the rows read before it; any other is thrown.
 */
async function failedQuery(
  ctx: FirContext,
  err: unknown,
  run: {
    info: QueryInfo
    watch: QueryWatch | undefined
    from: number
    t0: number
    records: CloudTrailRecord[]
    rawPages: unknown[]
    /** The IAM action of the call that failed. */
    call: string
    /** `Athena`, `CloudTrail Lake`. */
    label: string
    /** What the gap did not read. */
    what: string
  },
): Promise<CollectResult> {
  const { info, records, rawPages } = run
  run.watch?.done()
  info.rows = records.length
  info.elapsedMs = Date.now() - run.t0
  let fir =
    err instanceof FirError
      ? err
      : new FirError('query-failed', `unable to run the ${run.label} query: ${(err as Error).message}`, {
          cause: err,
        })
  const stopped = info.state === undefined ? await run.watch?.abandon(fir.message) : undefined
  if (stopped) fir = withStopNote(fir, stopped)
  await journalQuery(ctx, info, run.from, fir)
  const gap = callGap(err, run.call, run.what, info.pages)
  if (gap)
    return {
      records,
      query: info,
      rawPages,
      gap: stopped ? { ...gap, reason: `${gap.reason}; ${stopped}` } : gap,
    }
  throw fir
}

/** The error with what became of the query it left: stopped, or how to stop it. */
function withStopNote(err: FirError, stopped: string): FirError {
  const note = stopped.startsWith('stopped ') ? `fir ${stopped}` : stopped
  return new FirError(err.code, err.message, {
    cause: err.cause,
    exitCode: err.exitCode,
    actions: [note, ...err.actions.filter((a) => a !== 'the query id is in the journal')],
  })
}

function asFirError(err: unknown, what: string): FirError {
  return err instanceof FirError
    ? err
    : new FirError('aws-error', `${what}: ${(err as Error)?.message}`, { cause: err })
}

async function poll<T extends { state: string }>(
  ctx: FirContext,
  label: string,
  done: Set<string>,
  opts: CollectOptions,
  read: () => Promise<T>,
): Promise<T> {
  const started = Date.now()
  let wait = opts.pollMs ?? 500
  for (;;) {
    const s = await read()
    if (done.has(s.state)) return s
    if (Date.now() - started > (opts.timeoutMs ?? 30 * 60_000)) {
      throw new FirError(
        'query-timeout',
        `unable to finish the ${label} query: still ${s.state} after ${Math.round((Date.now() - started) / 1000)} s`,
        {
          actions: [
            'narrow the window (--since/--until) or the regions, then run again',
            'the query id is in the journal',
          ],
        },
      )
    }
    ctx.log.progress(`${label}: ${s.state} (${Math.round((Date.now() - started) / 1000)} s)`)
    await sleep(wait)
    wait = Math.min(2000, Math.round(wait * 1.5))
  }
}

function baseInfo(q: BuiltQuery, source: string, dryRun: boolean, region: string): QueryInfo {
  return {
    engine: q.dialect,
    source,
    region,
    sql: q.sql,
    parameters: q.parameters,
    rendered: q.rendered,
    partitions: q.partitions,
    dryRun,
    rows: 0,
    pages: 0,
    elapsedMs: 0,
    ...(q.accountPlaceholder ? { accountPlaceholder: true as const } : {}),
  }
}

/** A query that names the account placeholder is for showing only: sending it is a bug. */
function assertSendable(q: BuiltQuery): void {
  if (q.accountPlaceholder) throw new Error('bug: a query with the account placeholder was about to be sent')
}

/**
 * Runs the timeline's window and relatedness as one Athena query over the CloudTrail table
 * (filtered on its projected account, region and date partitions), pages the results and rebuilds
 * each row into a CloudTrail record. With ctx.dryRun, builds the query and returns it unsent.
 * Journals the query before it is sent (with its ClientRequestToken), once it has an id, and at
 * its end with its state and bytes scanned; an interruption while it starts or runs stops it (see
 * watchQuery).
 *
 * IAM (ATHENA_ENGINE_ACTIONS): athena:StartQueryExecution, athena:GetQueryExecution,
 * athena:GetQueryResults, athena:StopQueryExecution (on an interruption); and, checked by Athena
 * with the caller's permissions, glue:GetDatabase, glue:GetTable, glue:GetPartitions, s3:GetObject
 * and s3:ListBucket on the trail bucket, s3:PutObject and s3:GetBucketLocation on the output location.
 */
export async function collectFromAthena(ctx: FirContext, opts: AthenaCollectOptions): Promise<CollectResult> {
  const t0 = Date.now()
  const table = athenaTable(opts.table)
  if (opts.outputLocation !== undefined && !S3_URI_RE.test(opts.outputLocation)) {
    throw new UsageError(
      `unable to use --athena-output ${JSON.stringify(opts.outputLocation)}: it is not an s3:// URI`,
      {
        actions: ['pass --athena-output s3://my-athena-results/fir/ (or a --workgroup that sets one)'],
      },
    )
  }
  if (opts.workgroup !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(opts.workgroup)) {
    throw new UsageError(
      `unable to use --workgroup ${JSON.stringify(opts.workgroup)}: it is not a workgroup name`,
      {
        actions: ['pass the workgroup name (letters, digits, . _ -)'],
      },
    )
  }
  const q = buildQuery({ dialect: 'athena', source: opts.table, ...opts })
  const info: QueryInfo = {
    ...baseInfo(q, `${table.database}.${table.table}`, ctx.dryRun, ctx.aws.region),
    ...(opts.outputLocation ? { outputLocation: opts.outputLocation } : {}),
    ...(opts.workgroup ? { workgroup: opts.workgroup } : {}),
  }
  if (ctx.dryRun) return { records: [], query: info, rawPages: [] }
  assertSendable(q)
  info.clientRequestToken = randomUUID()

  const from = ctx.aws.requestLog.length
  const records: CloudTrailRecord[] = []
  const rawPages: unknown[] = []
  let call = 'athena:StartQueryExecution'
  let watch: QueryWatch | undefined
  try {
    watch = await watchQuery(ctx, ctx.aws, info, from, {
      call: 'athena:StopQueryExecution',
      run: stopAthenaQuery,
    })
    const { halt } = watch
    info.queryId = await watch.start(() =>
      startAthenaQuery(ctx.aws, {
        sql: q.sql,
        parameters: q.parameters,
        database: table.database,
        outputLocation: opts.outputLocation,
        workgroup: opts.workgroup,
        clientRequestToken: info.clientRequestToken,
      }),
    )
    ctx.log.info(`fir: Athena query ${info.queryId} started on ${info.source}`)
    call = 'athena:GetQueryExecution'
    const exec = await poll(ctx, 'athena', DONE_ATHENA, opts, async () => {
      await halt()
      const s = await getAthenaExecution(ctx.aws, info.queryId!)
      await halt()
      return s
    })
    watch.done()
    ctx.log.progress('')
    info.state = exec.state
    info.bytesScanned = exec.bytesScanned
    info.costUsd = costOf(exec.bytesScanned, 'athena')
    if (exec.outputLocation) info.outputLocation = exec.outputLocation
    if (exec.state !== 'SUCCEEDED') {
      throw new FirError(
        'query-failed',
        `unable to run the Athena query ${info.queryId}: ${exec.state}${exec.reason ? `: ${exec.reason}` : ''}`,
        {
          actions: [
            'check that the table exists and has the CloudTrail columns (`fir athena ddl` prints it)',
            "check --athena-output / --workgroup and the caller's access to the trail bucket",
          ],
        },
      )
    }
    let token: string | undefined
    let first = true
    call = 'athena:GetQueryResults'
    do {
      const page = await getAthenaResultsPage(ctx.aws, info.queryId, token)
      rawPages.push(page.raw)
      info.pages++
      const names = page.columns.map((c) => c.toLowerCase())
      page.rows.forEach((cells, i) => {
        // Athena's first row of a SELECT's first page repeats the column names.
        if (first && i === 0 && cells.every((v, j) => v !== undefined && v.toLowerCase() === names[j])) return
        const row: Row = {}
        names.forEach((n, j) => {
          row[n] = cells[j]
        })
        records.push(rowToRecord(row, 'athena'))
      })
      first = false
      token = page.nextToken
    } while (token)
    info.rows = records.length
    info.elapsedMs = Date.now() - t0
    await journalQuery(ctx, info, from)
    return { records, query: info, rawPages }
  } catch (err) {
    return failedQuery(ctx, err, {
      info,
      watch,
      from,
      t0,
      records,
      rawPages,
      call,
      label: 'Athena',
      what: `CloudTrail events from Athena table ${info.source}`,
    })
  }
}

/**
 * The same window and relatedness as one CloudTrail Lake query (StartQuery, DescribeQuery,
 * GetQueryResults paged), rows rebuilt into CloudTrail records. No emulator implements Lake: this
 * path is tested against a recorded response only.
 *
 * IAM: cloudtrail:StartQuery, cloudtrail:DescribeQuery, cloudtrail:GetQueryResults,
 * cloudtrail:CancelQuery (on an interruption).
 */
export async function collectFromLake(ctx: FirContext, opts: LakeCollectOptions): Promise<CollectResult> {
  const t0 = Date.now()
  const { id, region } = eventDataStoreRef(opts.eventDataStore)
  // An event data store is queried in its own region: the one its ARN names, else --region.
  const aws = region ? ctx.aws.forRegion(region) : ctx.aws
  const q = buildQuery({ dialect: 'lake', source: id, ...opts })
  const info = baseInfo(q, id, ctx.dryRun, aws.region)
  if (ctx.dryRun) return { records: [], query: info, rawPages: [] }
  assertSendable(q)

  const from = ctx.aws.requestLog.length
  const records: CloudTrailRecord[] = []
  const rawPages: unknown[] = []
  let call = 'cloudtrail:StartQuery'
  let watch: QueryWatch | undefined
  try {
    watch = await watchQuery(ctx, aws, info, from, { call: 'cloudtrail:CancelQuery', run: cancelLakeQuery })
    const { halt } = watch
    info.queryId = await watch.start(() => startLakeQuery(aws, q.sql))
    ctx.log.info(`fir: CloudTrail Lake query ${info.queryId} started on ${id} in ${aws.region}`)
    call = 'cloudtrail:DescribeQuery'
    const state = await poll(ctx, 'lake', DONE_LAKE, opts, async () => {
      await halt()
      const s = await describeLakeQuery(aws, info.queryId!)
      await halt()
      return { ...s, state: s.status }
    })
    watch.done()
    ctx.log.progress('')
    info.state = state.status
    info.bytesScanned = state.bytesScanned
    info.costUsd = costOf(state.bytesScanned, 'lake')
    if (state.status !== 'FINISHED') {
      throw new FirError(
        'query-failed',
        `unable to run the CloudTrail Lake query ${info.queryId}: ${state.status}${state.error ? `: ${state.error}` : ''}`,
        {
          actions: [
            'check the event data store id and that it is enabled',
            'narrow the window if the query timed out',
          ],
        },
      )
    }
    let token: string | undefined
    call = 'cloudtrail:GetQueryResults'
    do {
      const page = await getLakeResultsPage(aws, info.queryId, token)
      rawPages.push(page.raw)
      info.pages++
      for (const cells of page.rows) {
        const row: Row = {}
        for (const cell of cells) for (const [k, v] of Object.entries(cell)) row[k.toLowerCase()] = v
        records.push(rowToRecord(row, 'lake'))
      }
      if (page.bytesScanned !== undefined && info.bytesScanned === undefined) {
        info.bytesScanned = page.bytesScanned
        info.costUsd = costOf(page.bytesScanned, 'lake')
      }
      token = page.nextToken
    } while (token)
    info.rows = records.length
    info.elapsedMs = Date.now() - t0
    await journalQuery(ctx, info, from)
    return { records, query: info, rawPages }
  } catch (err) {
    return failedQuery(ctx, err, {
      info,
      watch,
      from,
      t0,
      records,
      rawPages,
      call,
      label: 'CloudTrail Lake',
      what: `CloudTrail events from CloudTrail Lake event data store ${id}`,
    })
  }
}
