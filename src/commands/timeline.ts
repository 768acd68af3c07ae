import { once } from 'node:events'
import { Args, Flags } from '@oclif/core'
import { awsFlags, caseFlag, FirCommand } from '../base-command.js'
import {
  checkEngineFlags,
  ENGINES,
  engineQueryLine,
  engineTimeline,
  renderEngineQuery,
} from '../core/athena/timeline.js'
import {
  collectTimeline,
  EXPORT_FORMATS,
  type ExportFormat,
  parseExportFormat,
  renderTimelineSummary,
} from '../core/timeline/index.js'
import { ExitCode, UsageError } from '../errors.js'
import { type CommandOutcome, renderGaps } from '../output.js'

export default class Timeline extends FirCommand {
  static override summary =
    'CloudTrail timeline: LookupEvents, trail buckets and files, merged, related to a function and flagged'
  static override description =
    `Reads CloudTrail events from the api (LookupEvents, paced under 2 requests/s per region, regions in parallel), trail buckets (s3://bucket/prefix, listing pruned by account, region and day) and local files or folders (trail files .json/.json.gz, LookupEvents output, arrays of records, JSON Lines), in any mix. Events are de-duplicated by eventID, sorted in UTC, limited to the window and, with a function, to the events related to it: its name or ARN in the call (a function is regional: when its region is known, from a full ARN, --region as given or the case's snapshot, the same name in another region is another function), calls with its execution role's sessions, AssumeRole of the role, changes to the role and its policies, role swaps, and fir's own calls. Every event is run through the Sigma rule pack; a function's timeline also gets fir's own checks across events: sessions an AssumeRole not made by Lambda issued, sessions not named after the function, and calls by another identity (a leaked user key, say) from an address where the role's credentials were used outside Lambda.

Writes timeline/events.jsonl (normalised events with the raw record), timeline/findings.json and timeline/summary.json in the case, and LookupEvents pages as received in timeline/raw/<run>/ (with lookup.json: the window the run asked for). A LookupEvents run that was interrupted (or stopped by a gap) is not fetched again: the same command run again reuses the pages it stored, checked against the journal's hashes, goes on from the last page's NextToken, and, without --until, asks again from shortly before that run for what happened since. A re-run moves the timeline it replaces to timeline/history/<its start>/ (kept and journaled, never lost); a run that could read nothing because every source failed, or every input was refused, stores nothing, not even an empty timeline (an earlier timeline stays in place; without one the case still has none). Records that claim one eventID but differ (in any field, or, in a function's timeline, in time) are all kept and warned about. A folder source skips any fir case folder inside it. --out may not name a file fir keeps in the case. Bad input is skipped with a reason and counted; a run whose every input was refused (and no api source) read nothing it was given and exits 2, naming each file and why. AWS calls that fail after retries are gaps (exit 4).

The execution role comes from the case's latest snapshot of the function (of the account and region its ARN or an explicit --region names: a snapshot of the same name in another account or region is another function's; a bare name without --region takes the latest snapshot of that name, and the run says so when the case holds it in several regions), or from --role. With the api source, a function ARN of another account than the caller's is refused (exit 2): pass --role-arn with a role in that account. --since defaults to 7 days, except when every source is a local file (then the whole file is read).`
  static override examples = [
    '<%= config.bin %> timeline orders-api --case cases/INC-42 --since 7d',
    '<%= config.bin %> timeline orders-api --source api --source s3://org-trail-bucket/prefix --regions all --since 2025-03-01T00:00:00Z',
    '<%= config.bin %> timeline orders-api --source ./exported-trail/ --role orders-api-role --format csv --out orders-api.csv',
    '<%= config.bin %> timeline --source s3://trail-bucket --since 24h --format timesketch --out hunt.jsonl   # account-wide hunt',
    'aws s3 cp s3://exports/trail.json.gz - | <%= config.bin %> timeline orders-api --source - --role orders-api-role   # a pipe is read once, streamed',
    '<%= config.bin %> timeline orders-api --rules ./my-rules --aws-ip-ranges ip-ranges.json --json',
    '<%= config.bin %> timeline orders-api --engine athena --athena-table cloudtrail.org_trail --athena-output s3://athena-results/fir/ --since 90d --dry-run',
    '<%= config.bin %> timeline orders-api --engine lake --event-data-store EXAMPLEf852-4e8f-8bd1-bcf6cEXAMPLE --since 30d',
  ]
  static override args = {
    function: Args.string({
      description: 'name, partial ARN or full ARN (omit for an account-wide hunt)',
      required: false,
    }),
  }
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    since: Flags.string({
      description: 'start of the window: an age (7d, 12h, 30m) or an ISO time (UTC); default 7d',
    }),
    until: Flags.string({ description: 'end of the window: an age or an ISO time (UTC); default now' }),
    source: Flags.string({
      description:
        'api, s3://bucket/prefix, or a file, folder or pipe (<(zcat …), - or /dev/stdin); repeat to merge several (default api)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    regions: Flags.string({
      description:
        "regions for the api source: r1,r2 or all (every commercial region); default the function's region and us-east-1",
    }),
    role: Flags.string({
      description:
        "the function's execution role (name or ARN), when the case has no snapshot of it; repeatable",
      multiple: true,
      multipleNonGreedy: true,
    }),
    rules: Flags.string({
      description: 'a folder of extra Sigma rules (.yml); repeatable',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'aws-ip-ranges': Flags.string({
      description:
        "AWS's ip-ranges.json (download https://ip-ranges.amazonaws.com/ip-ranges.json), for rules about calls from outside AWS address ranges",
    }),
    format: Flags.string({ description: 'export format', options: [...EXPORT_FORMATS] }),
    out: Flags.string({ description: 'write the export to this file (default: stdout)' }),
    raw: Flags.boolean({ description: 'include the raw CloudTrail record in the export' }),
    // Org scale (DESIGN §9): the same window and relatedness as one SQL query (src/core/athena/).
    engine: Flags.string({
      description: 'local (read the sources), athena (the CloudTrail table) or lake (CloudTrail Lake)',
      options: [...ENGINES],
      default: 'local',
      helpGroup: 'ENGINE',
    }),
    'athena-table': Flags.string({
      description: 'DB.TABLE of the CloudTrail table (fir athena ddl)',
      helpGroup: 'ENGINE',
    }),
    'athena-output': Flags.string({ description: 's3://… for Athena query results', helpGroup: 'ENGINE' }),
    workgroup: Flags.string({ description: 'Athena workgroup', helpGroup: 'ENGINE' }),
    'event-data-store': Flags.string({
      description: 'CloudTrail Lake event data store id or ARN',
      helpGroup: 'ENGINE',
    }),
    'dry-run': Flags.boolean({
      description: 'with --engine athena|lake: show the SQL, send nothing',
      helpGroup: 'ENGINE',
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { args, flags } = await this.parse(Timeline)
    const format: ExportFormat | undefined = flags.format ? parseExportFormat(flags.format) : undefined
    if (flags.out && !format) {
      throw new UsageError('unable to write --out without --format: choose what to export', {
        actions: [`pass --format ${EXPORT_FORMATS.join('|')}`],
      })
    }
    if (format && !flags.out && this.jsonMode) {
      throw new UsageError('unable to print an export and the --json document both on stdout', {
        actions: ['pass --out FILE for the export, or leave out --json'],
      })
    }
    const engine = flags.engine as (typeof ENGINES)[number]
    const engineFlags = {
      athenaTable: flags['athena-table'],
      athenaOutput: flags['athena-output'],
      workgroup: flags.workgroup,
      eventDataStore: flags['event-data-store'],
      dryRun: flags['dry-run'],
    }
    checkEngineFlags(engine, { ...engineFlags, sources: flags.source })
    // Files on disk need no AWS access: do not insist on a region for them.
    const localOnly =
      (flags.source ?? []).length > 0 && flags.source!.every((s) => s !== 'api' && !s.startsWith('s3://'))
    const aws =
      localOnly && !flags.region && !process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION
        ? { ...flags, region: 'us-east-1' }
        : flags
    const ctx = await this.makeContext({ caseFlag: flags.case, aws })
    const toStdout = format !== undefined && !flags.out
    // The export's reader may close stdout early (`| head`): the export stops there, the run goes
    // on, and the timeline is still stored whole in the case.
    let readerGone = false
    const onStdoutError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') readerGone = true
    }
    if (toStdout) {
      process.stdout.on('error', onStdoutError)
      this.onCleanup(async () => {
        process.stdout.off('error', onStdoutError)
      })
    }
    const options = {
      function: args.function,
      roles: flags.role,
      // As given, not the default: a name is the function in --region (its snapshot there).
      region: flags.region,
      since: flags.since,
      until: flags.until,
      sources: flags.source,
      regions: flags.regions,
      ruleDirs: flags.rules,
      awsIpRanges: flags['aws-ip-ranges'],
      format,
      out: flags.out,
      raw: flags.raw,
      ...(toStdout
        ? {
            exportWriter: async (chunk: string) => {
              if (readerGone) return
              try {
                if (!process.stdout.write(chunk)) await once(process.stdout, 'drain')
              } catch (err) {
                if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err
                readerGone = true
              }
            },
          }
        : {}),
    }
    let queryLine = ''
    let collected: Awaited<ReturnType<typeof collectTimeline>>
    if (engine === 'local') collected = await collectTimeline(ctx, options)
    else {
      const r = await engineTimeline(ctx, { ...options, engine, ...engineFlags })
      if (r.dryRun) return { result: { engine, query: r.query }, human: renderEngineQuery(r.query) }
      collected = r
      queryLine = `\n${engineQueryLine(r.query)}`
    }
    const { summary, findings } = collected
    const human = renderTimelineSummary(summary, findings) + queryLine
    if (toStdout) {
      // stdout holds the export: the summary and any gaps go to stderr, and the exit code still says 4.
      for (const line of (human + renderGaps(ctx.gaps.list)).split('\n')) ctx.log.info(line)
      if (readerGone)
        ctx.log.warn(
          'the export stopped where its reader closed stdout (e.g. `| head`); the whole timeline is in the case (timeline/events.jsonl)',
        )
      return {
        result: summary,
        human: '',
        gaps: [],
        ...(ctx.gaps.list.length > 0 ? { status: ExitCode.gaps } : {}),
      }
    }
    return { result: summary, human, gaps: ctx.gaps.list }
  }
}
