/**
 * The `api` source: CloudTrail LookupEvents (DESIGN §5). 2 requests/s per account per region, 50
 * events a page, one lookup attribute per call, 90 days, management events only.
 *
 * - Pacing: one token bucket per region just under the limit (1.95/s by default); regions run in
 *   parallel. A throttle slows that region down (×0.8) and it creeps back up as pages succeed.
 * - Resumable pagination: a failed page is retried with the same NextToken (5xx and dropped
 *   connections after a short backoff, throttles at the next token); every page fetched is handed
 *   over (and stored as received) before the next is asked for, so a failure never loses one.
 *   A page that still fails after its retries ends that query with a gap (exit 4). Across runs,
 *   a later run goes on from the pages an interrupted one stored (see ../lookup-runs.ts).
 * - Queries: only the attributes relatedness needs, none redundant (see planQueries).
 */
import type { LookupAttributeKey, LookupPage, LookupQuery } from '../../../aws/cloudtrail.js'
import { LookupEventsFailure } from '../../../aws/cloudtrail.js'
import type { TimelineTarget } from '../related.js'

/** Commercial regions (aws partition) for `--regions all`, opt-in regions included. */
export const COMMERCIAL_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'eu-north-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'mx-central-1',
  'sa-east-1',
] as const

/** One LookupEvents query: a region and at most one attribute. */
export interface PlannedQuery {
  region: string
  attribute?: { key: LookupAttributeKey; value: string }
  /** Why fir asks (shown in the summary). */
  why: string
}

export function queryKey(q: PlannedQuery): string {
  return `${q.region}|${q.attribute?.key ?? ''}|${q.attribute?.value ?? ''}`
}

/**
 * The queries relatedness needs, and no more:
 * - ResourceName = function name, in the function's region: the function's management events
 *   (Lambda's API is regional; the function exists in one region). When its region is unknown,
 *   in every region asked: the events may be in any of them (relatedness then keeps the name in
 *   every region too, and the run says so).
 * - Username = function name, in every region: calls made with the credentials Lambda issues to
 *   the function (Lambda names the role session after the function; LookupEvents' Username of an
 *   assumed-role call is its session name), wherever stolen credentials were used.
 * - ResourceName = role ARN, in every region: AssumeRole of the role (STS records it in the region
 *   of the endpoint called), by Lambda or by anyone else.
 * - ResourceName = role name, in us-east-1 only: IAM changes to the role and its policies (IAM is
 *   global and recorded in us-east-1).
 * Follow-ups (planFollowUps) add AccessKeyId queries for sessions of the role that Lambda did not
 * issue, and the same role queries for a role the function was swapped to.
 * Without a function: one query per region with no attribute (every management event).
 */
export function planQueries(target: TimelineTarget | null, regions: string[]): PlannedQuery[] {
  if (!target) return regions.map((region) => ({ region, why: 'every management event (account-wide hunt)' }))
  const out: PlannedQuery[] = []
  for (const region of target.region ? regions.filter((r) => r === target.region) : regions) {
    out.push({
      region,
      attribute: { key: 'ResourceName', value: target.functionName },
      why: target.region
        ? "the function's own events"
        : "the function's own events (its region unknown: a function of that name in any region)",
    })
  }
  for (const region of regions) {
    out.push({
      region,
      attribute: { key: 'Username', value: target.functionName },
      why: 'calls with the role session Lambda issues to the function',
    })
  }
  out.push(...roleQueries(target.roles, regions))
  return dedupe(out)
}

function roleQueries(roles: TimelineTarget['roles'], regions: string[]): PlannedQuery[] {
  const out: PlannedQuery[] = []
  for (const role of roles) {
    if (role.arn) {
      for (const region of regions) {
        out.push({
          region,
          attribute: { key: 'ResourceName', value: role.arn },
          why: `AssumeRole of ${role.name}`,
        })
      }
    }
    if (regions.includes('us-east-1')) {
      out.push({
        region: 'us-east-1',
        attribute: { key: 'ResourceName', value: role.name },
        why: `IAM changes to ${role.name} and its policies`,
      })
    }
  }
  return out
}

function dedupe(list: PlannedQuery[]): PlannedQuery[] {
  const seen = new Set<string>()
  return list.filter((q) => {
    if (seen.has(queryKey(q))) return false
    seen.add(queryKey(q))
    return true
  })
}

/**
 * Queries that earlier results call for: sessions of the role issued by someone other than Lambda
 * (their access key, from the AssumeRole response), in every region; and a role the function was
 * swapped to.
 */
export function planFollowUps(
  records: Record<string, unknown>[],
  target: TimelineTarget,
  regions: string[],
): { queries: PlannedQuery[]; newRoles: TimelineTarget['roles'] } {
  const out: PlannedQuery[] = []
  const newRoles: TimelineTarget['roles'] = []
  const known = new Set(target.roles.map((r) => r.name.toLowerCase()))
  for (const r of records) {
    const name = String(r.eventName ?? '')
    const identity = (r.userIdentity ?? {}) as Record<string, unknown>
    const request = (r.requestParameters ?? {}) as Record<string, unknown>
    if (name.startsWith('AssumeRole') && identity.invokedBy !== 'lambda.amazonaws.com') {
      const creds = ((r.responseElements ?? {}) as Record<string, unknown>).credentials as
        | Record<string, unknown>
        | undefined
      const key = creds?.accessKeyId
      const roleArn = request.roleArn
      const roleName = typeof roleArn === 'string' ? roleArn.split('/').at(-1)?.toLowerCase() : undefined
      if (typeof key === 'string' && roleName && known.has(roleName)) {
        for (const region of regions) {
          out.push({
            region,
            attribute: { key: 'AccessKeyId', value: key },
            why: `a session of the role not issued to Lambda (${key})`,
          })
        }
      }
    }
    if (name.startsWith('UpdateFunctionConfiguration') && typeof request.role === 'string') {
      const arn = request.role
      const roleName = arn.split('/').at(-1)
      if (roleName && !known.has(roleName.toLowerCase())) {
        known.add(roleName.toLowerCase())
        newRoles.push({ name: roleName, arn })
      }
    }
  }
  out.push(...roleQueries(newRoles, regions))
  return { queries: dedupe(out), newRoles }
}

/** Paces one region's requests: a token bucket just under the limit, slowed by throttles. */
export class RegionPacer {
  private rate: number
  private next = 0

  constructor(
    private readonly baseRate = Number(process.env.FIR_LOOKUP_RATE ?? 1.95),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.rate = baseRate
  }

  get currentRate(): number {
    return this.rate
  }

  /** Waits for this region's next request slot. */
  async take(): Promise<void> {
    const now = this.now()
    const at = Math.max(now, this.next)
    this.next = at + 1000 / this.rate
    if (at > now) await sleep(at - now)
  }

  /** A request that failed before AWS counted it (5xx, dropped connection) gives its slot back. */
  refund(): void {
    this.next = Math.max(this.now(), this.next - 1000 / this.rate)
  }

  throttled(): void {
    this.rate = Math.max(0.25, this.rate * 0.8)
    this.next = Math.max(this.next, this.now() + 1000 / this.rate)
  }

  succeeded(): void {
    if (this.rate < this.baseRate) this.rate = Math.min(this.baseRate, this.rate + 0.02)
  }
}

/** A wait through the global setTimeout (the pacing test observes its waits there). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export interface QueryOutcome {
  pages: number
  events: number
  attempts: number
  throttles: number
  faults: number
  /** Set when the query stopped early; pages before it are kept. */
  failure?: LookupEventsFailure
  /** The region is not enabled for the account (an opt-in region). */
  regionDisabled?: boolean
  /** The pagination stopped at `from.olderThan` (a page all older), with a NextToken left. */
  stoppedOlder?: boolean
}

/**
 * Every event of the page is older than `ms` (an empty page is not: it says nothing of what
 * follows). LookupEvents returns events newest first, so every later page of the query is too.
 */
export function pageOlderThan(page: Pick<LookupPage, 'events'>, ms: number): boolean {
  return (
    page.events.length > 0 &&
    page.events.every((e) => {
      const t = e.EventTime instanceof Date ? e.EventTime.getTime() : Number(e.EventTime) * 1000
      return t < ms
    })
  )
}

/** Where runQuery goes on from: the NextToken after page `pages` of an earlier run (see runQuery). */
export interface QueryResume {
  nextToken: string
  pages: number
  olderThan?: Date
}

export type PageSink = (query: PlannedQuery, pageNumber: number, page: LookupPage) => Promise<void>

/** Told of each failed request that will be tried again (for progress: a wait is never silent). */
export type RetryNotice = (notice: {
  query: PlannedQuery
  failure: LookupEventsFailure
  retry: number
  of: number
  waitMs: number
}) => void

const MAX_FAULT_RETRIES = Number(process.env.FIR_LOOKUP_FAULT_RETRIES ?? 8)
const MAX_THROTTLE_RETRIES = 20

/**
 * Runs one query to its last page, handing every page to `sink` (which stores it) before asking
 * for the next. Never throws for AWS failures: they end the query and come back in the outcome.
 * `from`: the pagination goes on after page `pages` of an earlier run, from its NextToken (sent
 * with the window that run sent: AWS takes a token only with the query it came from); the pages
 * fetched are numbered on from there, and counted in the outcome. `from.olderThan`: that window
 * started before this run's, so the pagination stops after a page whose events are all older than
 * it (what follows is outside this run's window), leaving its NextToken for a run of that window.
 */
export async function runQuery(
  fetchPage: (q: LookupQuery) => Promise<LookupPage>,
  query: PlannedQuery,
  window: { start?: Date; end?: Date },
  pacer: RegionPacer,
  sink: PageSink,
  onRetry: RetryNotice = () => undefined,
  from?: QueryResume,
): Promise<QueryOutcome> {
  const outcome: QueryOutcome = { pages: 0, events: 0, attempts: 0, throttles: 0, faults: 0 }
  let token: string | undefined = from?.nextToken
  do {
    let faults = 0
    let throttles = 0
    let page: LookupPage | undefined
    while (!page) {
      await pacer.take()
      outcome.attempts++
      try {
        page = await fetchPage({
          attribute: query.attribute,
          start: window.start,
          end: window.end,
          nextToken: token,
        })
        pacer.succeeded()
      } catch (err) {
        if (!(err instanceof LookupEventsFailure)) throw err
        if (err.kind === 'throttled') {
          outcome.throttles++
          pacer.throttled()
          if (++throttles > MAX_THROTTLE_RETRIES) return { ...outcome, failure: err }
          onRetry({
            query,
            failure: err,
            retry: throttles,
            of: MAX_THROTTLE_RETRIES,
            waitMs: 1000 / pacer.currentRate,
          })
          continue
        }
        if (err.kind === 'service-error' || err.kind === 'network') {
          outcome.faults++
          pacer.refund()
          if (++faults > MAX_FAULT_RETRIES) return { ...outcome, failure: err }
          const waitMs = Math.min(5000, 50 * 2 ** (faults - 1)) * (0.5 + Math.random() / 2)
          onRetry({ query, failure: err, retry: faults, of: MAX_FAULT_RETRIES, waitMs })
          await sleep(waitMs)
          continue
        }
        if (err.kind === 'credentials' && err.errorName === 'UnrecognizedClientException') {
          return { ...outcome, failure: err, regionDisabled: true }
        }
        return { ...outcome, failure: err }
      }
    }
    outcome.pages++
    outcome.events += page.events.length
    await sink(query, (from?.pages ?? 0) + outcome.pages, page)
    token = page.nextToken
    if (token && from?.olderThan && pageOlderThan(page, from.olderThan.getTime()))
      return { ...outcome, stoppedOlder: true }
  } while (token)
  return outcome
}
