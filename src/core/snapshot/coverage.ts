import { filterLogEvents } from '../../aws/logs.js'
import {
  type AdvancedEventSelector,
  describeTrails,
  type EventSelector,
  getEventSelectors,
  getTrailStatus,
  type Trail,
} from '../../aws/trails.js'
import { safeSegment } from '../case/evidence-store.js'
import type { Gap } from '../context.js'
import type { SnapshotRun } from './run.js'

/** A trail as seen from a region: where it lives, whether it logs, its selectors. */
export interface TrailFacts {
  arn: string
  name: string
  homeRegion: string
  multiRegion: boolean
  /** undefined when GetTrailStatus failed. */
  logging?: boolean
  /** undefined when GetEventSelectors failed. */
  selectors?: { basic: EventSelector[]; advanced: AdvancedEventSelector[] }
  files: string[]
}

/** Trail coverage of one region (DescribeTrails with shadow trails, then each trail's details). */
export interface RegionCoverage {
  region: string
  /** false when DescribeTrails failed: coverage is unknown. */
  known: boolean
  trails: TrailFacts[]
  files: string[]
}

/**
 * Which trails cover a region and how (DescribeTrails + GetEventSelectors + GetTrailStatus), once
 * per region per run; each trail's details once per trail. Multi-region trails are read in their
 * home region. Findings: no logging trail in the region, a trail that is stopped.
 */
export function regionCoverage(run: SnapshotRun, region: string): Promise<RegionCoverage> {
  return run.cache<RegionCoverage>('regions').get(region, () => collectRegion(run, region))
}

async function collectRegion(run: SnapshotRun, region: string): Promise<RegionCoverage> {
  const aws = run.clients(region)
  const files: string[] = []
  const res = await run.rec.one(
    {
      call: 'cloudtrail:DescribeTrails',
      target: region,
      what: `trails of ${region}`,
      file: `cloudtrail/${safeSegment(region)}/describe-trails.json`,
      region,
    },
    () => describeTrails(aws),
  )
  if (res.status !== 'stored') return { region, known: false, trails: [], files }
  files.push(res.file)
  const trails = await Promise.all(
    (res.value.trailList ?? []).filter((t) => t.TrailARN).map((t) => trailFacts(run, t, region)),
  )
  const coverage: RegionCoverage = { region, known: true, trails, files }
  const evidence = [...files, ...trails.flatMap((t) => t.files)]
  const logging = trails.filter((t) => t.logging !== false)
  for (const t of trails.filter((x) => x.logging === false)) {
    run.addFinding({
      kind: 'trail-coverage',
      level: 'high',
      title: `Trail ${t.name} is not logging (stopped): API activity in ${region} is not being recorded to it`,
      target: t.arn,
      key: `stopped\u0000${region}`,
      detail: { region, trail: t.arn, homeRegion: t.homeRegion },
      evidence,
    })
  }
  if (logging.length === 0) {
    run.addFinding({
      kind: 'trail-coverage',
      level: 'medium',
      title: `No CloudTrail trail is logging in ${region}: only the 90-day event history (management events, no Invoke) is available`,
      target: region,
      key: `no-trail\u0000${region}`,
      detail: { region, trails: trails.map((t) => t.arn) },
      evidence,
    })
  }
  return coverage
}

function trailFacts(run: SnapshotRun, trail: Trail, seenFrom: string): Promise<TrailFacts> {
  const arn = trail.TrailARN!
  return run.cache<TrailFacts>('trails').get(arn, async () => {
    const home = trail.HomeRegion ?? seenFrom
    const aws = run.clients(home)
    const dir = `cloudtrail/trails/${safeSegment(home)}/${safeSegment(trail.Name ?? arn)}`
    const facts: TrailFacts = {
      arn,
      name: trail.Name ?? arn,
      homeRegion: home,
      multiRegion: trail.IsMultiRegionTrail === true,
      files: [],
    }
    const sel = await run.rec.one(
      {
        call: 'cloudtrail:GetEventSelectors',
        target: arn,
        what: `event selectors of trail ${facts.name}`,
        file: `${dir}/get-event-selectors.json`,
        region: home,
      },
      () => getEventSelectors(aws, arn),
    )
    if (sel.status === 'stored') {
      facts.files.push(sel.file)
      facts.selectors = {
        basic: sel.value.EventSelectors ?? [],
        advanced: sel.value.AdvancedEventSelectors ?? [],
      }
    }
    const status = await run.rec.one(
      {
        call: 'cloudtrail:GetTrailStatus',
        target: arn,
        what: `status of trail ${facts.name}`,
        file: `${dir}/get-trail-status.json`,
        region: home,
      },
      () => getTrailStatus(aws, arn),
    )
    if (status.status === 'stored') {
      facts.files.push(status.file)
      facts.logging = status.value.IsLogging === true
    }
    return facts
  })
}

function lambdaArnMatches(values: string[] | undefined, functionArn: string): boolean {
  return (values ?? []).some((v) => {
    if (v === 'arn:aws:lambda' || v === 'arn:aws-cn:lambda' || v === 'arn:aws-us-gov:lambda') return true
    // Values are function ARNs, with or without a qualifier, or prefixes of them.
    return (
      functionArn === v ||
      functionArn.startsWith(v.endsWith(':') ? v : `${v}:`) ||
      v.startsWith(`${functionArn}:`)
    )
  })
}

function basicRecords(selectors: EventSelector[], functionArn: string): boolean {
  return selectors.some(
    (s) =>
      s.ReadWriteType !== 'ReadOnly' &&
      (s.DataResources ?? []).some(
        (d) => d.Type === 'AWS::Lambda::Function' && lambdaArnMatches(d.Values, functionArn),
      ),
  )
}

/** True, false, or undefined when fir cannot decide. */
type Verdict = boolean | undefined

function all(verdicts: Verdict[]): Verdict {
  if (verdicts.includes(false)) return false
  return verdicts.includes(undefined) ? undefined : true
}

function any(verdicts: Verdict[]): Verdict {
  if (verdicts.includes(true)) return true
  return verdicts.includes(undefined) ? undefined : false
}

type FieldSelector = NonNullable<AdvancedEventSelector['FieldSelectors']>[number]
type Operator = 'Equals' | 'StartsWith' | 'EndsWith' | 'NotEquals' | 'NotStartsWith' | 'NotEndsWith'

const INCLUDE: Operator[] = ['Equals', 'StartsWith', 'EndsWith']
const EXCLUDE: Operator[] = ['NotEquals', 'NotStartsWith', 'NotEndsWith']
/** How a value of each operator matches the field; a match of a Not… operator excludes the event. */
const TESTS: Record<Operator, (value: string, operand: string) => boolean> = {
  Equals: (v, o) => v === o,
  StartsWith: (v, o) => v.startsWith(o),
  EndsWith: (v, o) => v.endsWith(o),
  NotEquals: (v, o) => v === o,
  NotStartsWith: (v, o) => v.startsWith(o),
  NotEndsWith: (v, o) => v.endsWith(o),
}

/**
 * The fields of the function's Invoke data event that are the same for every call. The caller
 * (userIdentity.arn, sessionCredentialFromConsole), the outcome (errorCode) and any other field
 * differ from call to call: a condition on them decides nothing.
 */
function invokeRecord(functionArn: string): Map<string, string> {
  return new Map([
    ['eventCategory', 'Data'],
    ['resources.type', 'AWS::Lambda::Function'],
    ['resources.ARN', functionArn],
    ['eventName', 'Invoke'],
    ['eventSource', 'lambda.amazonaws.com'],
    ['eventType', 'AwsApiCall'],
    ['readOnly', 'false'],
  ])
}

/**
 * Does one field selector let the Invoke through? An event is excluded when it matches any value
 * of a Not… operator, and must match a value of the including operators when there are some. AWS
 * does not say whether two including operators on one field (Equals and StartsWith) must both
 * match or either: when the two readings differ, the answer is unknown.
 */
function fieldLetsThrough(f: FieldSelector, record: Map<string, string>, functionArn: string): Verdict {
  const value = f.Field === undefined ? undefined : record.get(f.Field)
  if (value === undefined) return undefined
  const used = [...INCLUDE, ...EXCLUDE].filter((op) => (f[op] ?? []).length > 0)
  if (used.length === 0) return undefined
  // A call can name a version or an alias (function:name:prod); whether the record's resource ARN
  // then carries it is not documented, so a value naming a qualified ARN of this function decides
  // nothing for every call.
  if (f.Field === 'resources.ARN' && used.some((op) => f[op]!.some((o) => o.startsWith(`${functionArn}:`))))
    return undefined
  const hit = (op: Operator) => f[op]!.some((o) => TESTS[op](value, o))
  if (used.some((op) => EXCLUDE.includes(op) && hit(op))) return false
  const including = used.filter((op) => INCLUDE.includes(op))
  if (including.length === 0) return true
  const some = including.some(hit)
  return some === including.every(hit) ? some : undefined
}

/**
 * Whether advanced event selectors record the function's Invoke: a selector records it when every
 * field selector lets it through (each operator of each field evaluated as CloudTrail does), the
 * trail when any selector does. Undefined when that depends on who calls, how, or on a field or
 * operator fir does not know: "recorded" is said only when it holds for every Invoke.
 */
function advancedRecords(selectors: AdvancedEventSelector[], functionArn: string): Verdict {
  const record = invokeRecord(functionArn)
  return any(
    selectors.map((s) => {
      const fields = s.FieldSelectors ?? []
      // Both are required of a data event selector; without them it selects management events.
      if (
        !fields.some((f) => f.Field === 'eventCategory') ||
        !fields.some((f) => f.Field === 'resources.type')
      )
        return false
      return all(fields.map((f) => fieldLetsThrough(f, record, functionArn)))
    }),
  )
}

/** Whether some logging trail in the function's region records its Invoke calls (data events). */
export function invokeCoverage(
  coverage: RegionCoverage,
  functionArn: string,
): { lambdaDataEvents: 'recorded' | 'not-recorded' | 'unknown'; trails: string[] } {
  if (!coverage.known) return { lambdaDataEvents: 'unknown', trails: [] }
  const verdicts = coverage.trails
    .filter((t) => t.logging === true && t.selectors)
    .map((t) => ({
      arn: t.arn,
      records:
        basicRecords(t.selectors!.basic, functionArn) || advancedRecords(t.selectors!.advanced, functionArn),
    }))
  const recording = verdicts.filter((v) => v.records === true)
  if (recording.length > 0) return { lambdaDataEvents: 'recorded', trails: recording.map((t) => t.arn) }
  const undetermined =
    coverage.trails.some((t) => t.logging === undefined || t.selectors === undefined) ||
    verdicts.some((v) => v.records === undefined)
  return { lambdaDataEvents: undetermined ? 'unknown' : 'not-recorded', trails: [] }
}

/** The function's recent log events (the log group attackers delete), bounded in time and count. */
export async function collectLogs(
  run: SnapshotRun,
  target: { arn: string; name: string; region: string; dir: string },
  logGroupName: string,
  sink: Gap[],
): Promise<{ name: string; events: number; truncated: boolean; present: boolean | null; files: string[] }> {
  const aws = run.clients(target.region)
  const end = run.now
  const start = new Date(end.getTime() - run.settings.logHours * 3600_000)
  let events = 0
  let truncated = false
  const res = await run.rec.pages<{ events?: unknown[] }>(
    {
      call: 'logs:FilterLogEvents',
      target: logGroupName,
      what: `log events of ${logGroupName} (last ${run.settings.logHours} h)`,
      file: `${target.dir}/logs/filter-log-events`,
      region: target.region,
      absentOk: true,
      sink,
    },
    async (onPage) => {
      const r = await filterLogEvents(
        aws,
        { logGroupName, startTime: start, endTime: end, maxEvents: run.settings.logLimit },
        onPage,
        () => run.logsPacers.for(target.region).take(),
      )
      events = r.events
      truncated = r.truncated
    },
  )
  const present = res.status === 'absent' ? false : res.status === 'stored' ? true : null
  if (present === false) {
    run.addFinding({
      kind: 'log-group-missing',
      level: 'low',
      title: `Log group ${logGroupName} of ${target.name} does not exist (never invoked, or deleted)`,
      target: target.arn,
      key: logGroupName,
      detail: { logGroup: logGroupName },
      evidence: [],
    })
  }
  return { name: logGroupName, events, truncated, present, files: res.files }
}
