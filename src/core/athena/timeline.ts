import { join } from 'node:path'
import { UsageError } from '../../errors.js'
import { recordArtifact, safeSegment } from '../case/evidence-store.js'
import { writeFileAtomic } from '../common/fs-safe.js'
import { compactUtc, jsonText } from '../common/text.js'
import type { FirContext } from '../context.js'
import { callerIdentity } from '../identity.js'
import { parseRegions } from '../sweep/regions.js'
import {
  collectTimeline,
  firRequestIds,
  resolveTarget,
  resolveWindow,
  TIMELINE_DIR,
  type TimelineFindingEntry,
  type TimelineOptions,
  type TimelineSummary,
} from '../timeline/index.js'
import { type CollectResult, collectFromAthena, collectFromLake, type QueryInfo } from './collect.js'
import { ACCOUNT_PLACEHOLDER, type RelatednessTerms } from './sql.js'

export const ENGINES = ['local', 'athena', 'lake'] as const
export type Engine = (typeof ENGINES)[number]

export interface EngineOptions {
  engine: 'athena' | 'lake'
  athenaTable?: string
  athenaOutput?: string
  workgroup?: string
  eventDataStore?: string
  /** Build and show the query; send nothing, write nothing. */
  dryRun?: boolean
}

export type EngineTimelineResult =
  | { dryRun: true; query: QueryInfo }
  | { dryRun: false; query: QueryInfo; summary: TimelineSummary; findings: TimelineFindingEntry[] }

/** Checks the engine flags before anything is read or sent. */
export function checkEngineFlags(
  engine: Engine,
  flags: Omit<EngineOptions, 'engine'> & { sources?: string[] },
): void {
  const athenaOnly = flags.athenaTable ?? flags.athenaOutput ?? flags.workgroup
  if (engine === 'local') {
    if (athenaOnly !== undefined || flags.eventDataStore !== undefined) {
      throw new UsageError('unable to use --athena-* or --event-data-store without --engine athena|lake', {
        actions: ['pass --engine athena (with --athena-table) or --engine lake (with --event-data-store)'],
      })
    }
    if (flags.dryRun) {
      throw new UsageError('unable to use --dry-run with the local engine: it shows an engine query', {
        actions: ['pass --engine athena|lake with --dry-run to see the SQL fir would send'],
      })
    }
    return
  }
  if (flags.sources?.length) {
    throw new UsageError(`unable to mix --source with --engine ${engine}: the engine is the source`, {
      actions: [`leave out --source, or leave out --engine ${engine}`],
    })
  }
  if (engine === 'athena' && !flags.athenaTable) {
    throw new UsageError('unable to query Athena without --athena-table DB.TABLE', {
      actions: ['pass --athena-table (create the table with `fir athena ddl`)'],
    })
  }
  if (engine === 'athena' && flags.eventDataStore) {
    throw new UsageError('unable to use --event-data-store with --engine athena', {
      actions: ['pass --engine lake for a CloudTrail Lake event data store'],
    })
  }
  if (engine === 'lake' && !flags.eventDataStore) {
    throw new UsageError('unable to query CloudTrail Lake without --event-data-store ID', {
      actions: ['pass the event data store id or ARN (aws cloudtrail list-event-data-stores)'],
    })
  }
  if (engine === 'lake' && athenaOnly !== undefined) {
    throw new UsageError('unable to use --athena-* or --workgroup with --engine lake', {
      actions: ['leave them out, or pass --engine athena'],
    })
  }
}

/**
 * `fir timeline --engine athena|lake`: the timeline's window and relatedness as one SQL query
 * (src/core/athena/sql.ts), its rows rebuilt into CloudTrail records, then the timeline's own
 * pipeline (window, exact relatedness, normaliser, detections, case files) with origin
 * athena|lake. Result pages are kept in timeline/raw/ and the query is journaled with its id
 * and bytes scanned.
 */
export async function engineTimeline(
  ctx: FirContext,
  options: Omit<TimelineOptions, 'engine'> & EngineOptions,
): Promise<EngineTimelineResult> {
  const now = ctx.clock.awsNow().getTime()
  const window = resolveWindow({ since: options.since, until: options.until }, now)
  const since = new Date(window.start ?? now - 7 * 86_400_000)
  const until = new Date(window.end ?? now)
  const resolved = options.function
    ? await resolveTarget(ctx.case.dir, ctx.case.journal.all(), options.function, options.roles ?? [], {
        region: options.region,
      })
    : undefined
  const target = resolved?.target
  // The journal's actor is who ran the (billed) query (DESIGN §2): the caller is resolved before
  // the query's first entry, also when the function's ARN names the account. A dry run sends
  // nothing, not even GetCallerIdentity, and journals nothing.
  const caller = options.dryRun ? undefined : await callerIdentity(ctx.aws)
  // The function's account (its ARN, or the case's snapshot of it), else the caller's; a dry run
  // shows the caller's account as a placeholder.
  const account = target?.account ?? caller?.account ?? ACCOUNT_PLACEHOLDER
  const regions = options.regions
    ? parseRegions(options.regions, ctx.aws.region).regions
    : [...new Set([target?.region ?? ctx.aws.region, 'us-east-1'])]
  let terms: RelatednessTerms | undefined
  if (target) {
    const ids = await firRequestIds(ctx.case.dir, ctx.case.journal.all())
    terms = {
      functionNames: [target.functionName],
      roles: target.roles.map((r) => ({ name: r.name, account: r.arn?.split(':')[4] || account })),
      policyArns: target.policyArns ?? [],
      requestIds: [...ids],
    }
  }
  const common = {
    since,
    until,
    accounts: [account],
    regions,
    ...(terms ? { terms } : {}),
  }
  const qctx: FirContext = { ...ctx, dryRun: options.dryRun ?? false }
  let out: CollectResult
  if (options.engine === 'athena') {
    out = await collectFromAthena(qctx, {
      ...common,
      table: options.athenaTable ?? '',
      ...(options.athenaOutput ? { outputLocation: options.athenaOutput } : {}),
      ...(options.workgroup ? { workgroup: options.workgroup } : {}),
    })
  } else {
    out = await collectFromLake(qctx, { ...common, eventDataStore: options.eventDataStore ?? '' })
  }
  if (options.dryRun) return { dryRun: true, query: out.query }

  // Keep the result pages as received (the rows age out of the Athena output location too).
  const rawDir = `${TIMELINE_DIR}/raw/${compactUtc(new Date())}-${options.engine}`
  for (const [i, page] of out.rawPages.entries()) {
    const rel = `${rawDir}/${safeSegment(`${out.query.queryId ?? 'query'}-${String(i + 1).padStart(4, '0')}`)}.json`
    await writeFileAtomic(join(ctx.case.dir, rel), `${jsonText(page)}\n`)
    await recordArtifact(ctx.case.dir, ctx.case.journal, rel)
  }
  const { rendered: _r, ...query } = out.query
  const {
    engine,
    athenaTable: _t,
    athenaOutput: _o,
    workgroup: _w,
    eventDataStore: _e,
    dryRun: _d,
    ...rest
  } = options
  const { summary, findings } = await collectTimeline(ctx, {
    ...rest,
    sources: [],
    since: since.toISOString(),
    until: until.toISOString(),
    engine: {
      origin: engine,
      name: `${engine}:${out.query.source}`,
      records: out.records,
      query: { ...query, rawPages: out.rawPages.length ? rawDir : null },
      // The query's gap is the timeline run's: it counts towards "every source failed".
      ...(out.gap ? { gap: out.gap } : {}),
    },
  })
  return { dryRun: false, query: out.query, summary, findings }
}

function bytesText(n: number | undefined): string {
  if (n === undefined) return 'unknown bytes'
  if (n < 1024 * 1024) return `${n} bytes`
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}

/** One line for the timeline summary: the engine query's id, state and cost. */
export function engineQueryLine(q: QueryInfo): string {
  const cost = q.costUsd !== undefined ? ` (about $${q.costUsd.toFixed(4)} at $5/TB)` : ''
  const id = q.queryId ? `${q.queryId} ${q.state ?? ''}` : 'not started'
  return `query     ${q.engine} ${id}: ${bytesText(q.bytesScanned)} scanned${cost}, ${q.rows} rows in ${q.pages} page(s)`
}

/** What --dry-run prints: where the query would run and the SQL with its values inline. */
export function renderEngineQuery(q: QueryInfo): string {
  const where =
    q.engine === 'athena'
      ? `Athena table ${q.source}${q.workgroup ? `, workgroup ${q.workgroup}` : ''}${q.outputLocation ? `, results to ${q.outputLocation}` : ''}`
      : `CloudTrail Lake event data store ${q.source} in ${q.region}`
  const lines = [
    `Would run one query on ${where} (dry run: nothing sent).`,
    q.engine === 'athena'
      ? `Partitions: account ${q.partitions.accounts.join(', ')}; region ${q.partitions.regions.join(', ')}; date ${q.partitions.from} to ${q.partitions.to}`
      : `Window: eventTime ${q.partitions.from} to ${q.partitions.to}; accounts ${q.partitions.accounts.join(', ')}; regions ${q.partitions.regions.join(', ')}`,
    ...(q.accountPlaceholder
      ? [
          `Account: ${ACCOUNT_PLACEHOLDER} stands for the caller's account: a dry run asks AWS nothing, not even who the caller is (name the function by its full ARN, or snapshot it into the case, to see its account here).`,
        ]
      : []),
    '',
    q.rendered,
  ]
  if (q.engine === 'athena') {
    lines.push(
      '',
      `Sent as the statement above with ? placeholders and ${q.parameters.length} ExecutionParameters (values never spliced into the SQL).`,
    )
  }
  return lines.join('\n')
}
