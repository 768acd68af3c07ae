/**
 * A stand-in for CloudTrail LookupEvents (moto has none), for tests and the benchmark. It speaks
 * the real wire protocol — HTTP POST, JSON 1.1, X-Amz-Target
 * com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents (or its short form
 * CloudTrail_20131101.LookupEvents, which the JavaScript SDK sends) — and follows AWS's rules:
 * one lookup attribute at most (InvalidLookupAttributesException otherwise), events newest first,
 * MaxResults 1..50 (default 50), a NextToken that only continues the query it came from
 * (InvalidNextTokenException otherwise), StartTime/EndTime, and 2 requests per second per region
 * (the region read from the SigV4 credential scope) with HTTP 400 ThrottlingException beyond.
 *
 * Faults can be injected (seeded): HTTP 5xx and dropped connections at given rates. Injected faults
 * happen in front of the rate limiter (as a load balancer's would), so they do not use up the
 * region's requests. Regions can be denied (AccessDeniedException) or not enabled
 * (UnrecognizedClientException, what an opt-in region answers).
 *
 * Which events match ResourceName/ResourceType mirrors how CloudTrail fills an event's resource
 * list: the record's `resources` (ARNs), and the resource a call names in its request
 * (functionName, roleName, roleArn, policyArn, userName, bucketName, secretId).
 */
import { createHmac, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Rng } from './trail-generator.js'

// biome-ignore lint/suspicious/noExplicitAny: generated and served records are free-form JSON
type Rec = Record<string, any>

const TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents'
// The AWS SDK for JavaScript v3 sends the short form of the same target.
const TARGETS = new Set([TARGET, 'CloudTrail_20131101.LookupEvents'])
const ATTRIBUTE_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
] as const

export interface LookupEventsServerOptions {
  /** Requests per second per region (default 2) and burst (default 2). */
  rate?: number
  burst?: number
  faults?: { serverErrorRate?: number; dropRate?: number; seed?: number }
  /** Regions where the caller is denied (AccessDeniedException). */
  deniedRegions?: string[]
  /** Regions that are not enabled in the account (UnrecognizedClientException). */
  disabledRegions?: string[]
  /**
   * Ends every query after this many pages with a server error (a "stuck" region; tests of gaps);
   * see also LookupEventsServer.failAfter.
   */
  failAfterPages?: number
}

export interface RegionStats {
  requests: number
  ok: number
  throttled: number
  serverErrors: number
  dropped: number
  errors: number
  firstAt?: number
  lastAt?: number
  /** Pages served per query fingerprint, to check that no page was fetched twice or skipped. */
  pagesByQuery: Map<string, number[]>
}

interface IndexedEvent {
  record: Rec
  t: number
  id: string
  username: string | null
  resources: { type: string; name: string }[]
  json: string
}

function usernameOf(r: Rec): string | null {
  const u = r.userIdentity ?? {}
  switch (u.type) {
    case 'IAMUser':
      return u.userName ?? null
    case 'AssumedRole': {
      const arn: string = u.arn ?? ''
      return arn.split('/').at(-1) ?? null
    }
    case 'Root':
      return 'root'
    case 'FederatedUser':
      return (u.arn ?? '').split('/').at(-1) ?? null
    case 'AWSService':
      return null
    default:
      return u.userName ?? null
  }
}

function resourcesOf(r: Rec): { type: string; name: string }[] {
  const out: { type: string; name: string }[] = []
  for (const res of Array.isArray(r.resources) ? r.resources : []) {
    if (res && typeof res.ARN === 'string') out.push({ type: String(res.type ?? ''), name: res.ARN })
  }
  const p = r.requestParameters
  if (p && typeof p === 'object') {
    const add = (type: string, v: unknown) => {
      if (typeof v === 'string' && v.length > 0 && !out.some((o) => o.name === v)) out.push({ type, name: v })
    }
    if (typeof p.functionName === 'string') {
      add('AWS::Lambda::Function', p.functionName)
      const m = /:function:([^:]+)/.exec(p.functionName)
      if (m) add('AWS::Lambda::Function', m[1])
    }
    add('AWS::IAM::Role', p.roleName)
    add('AWS::IAM::Role', p.roleArn)
    add('AWS::IAM::Policy', p.policyArn)
    add('AWS::IAM::User', p.userName)
    add('AWS::S3::Bucket', p.bucketName)
    add('AWS::SecretsManager::Secret', p.secretId)
  }
  return out
}

class TokenBucket {
  private tokens: number
  private last = performance.now()
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst
  }
  take(): boolean {
    const now = performance.now()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate)
    this.last = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return true
    }
    return false
  }
}

export class LookupEventsServer {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  private readonly byRegion = new Map<string, IndexedEvent[]>()
  private readonly buckets = new Map<string, TokenBucket>()
  readonly stats = new Map<string, RegionStats>()
  private secret = randomUUID()
  private readonly rng: Rng
  private failAfterPages: number | undefined
  endpoint = ''

  constructor(private readonly options: LookupEventsServerOptions = {}) {
    this.rng = new Rng(options.faults?.seed ?? 42)
    this.failAfterPages = options.failAfterPages
  }

  /**
   * From now on, ends every query with a server error once this many of its pages (counted since
   * the start, per query as sent) were served; undefined: never.
   */
  failAfter(pages: number | undefined): void {
    this.failAfterPages = pages
  }

  /**
   * Makes every NextToken given so far invalid, as AWS's expire: each is then refused with
   * InvalidNextTokenException.
   */
  expireTokens(): void {
    this.secret = randomUUID()
  }

  /** Loads records; each goes to its awsRegion (or the region given). */
  addRecords(records: Rec[], region?: string): void {
    for (const record of records) {
      const r = region ?? record.awsRegion
      let list = this.byRegion.get(r)
      if (!list) this.byRegion.set(r, (list = []))
      list.push({
        record,
        t: Date.parse(record.eventTime),
        id: record.eventID,
        username: usernameOf(record),
        resources: resourcesOf(record),
        json: JSON.stringify(record),
      })
    }
    for (const list of this.byRegion.values()) {
      list.sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    }
  }

  regionStats(region: string): RegionStats {
    let s = this.stats.get(region)
    if (!s) {
      s = {
        requests: 0,
        ok: 0,
        throttled: 0,
        serverErrors: 0,
        dropped: 0,
        errors: 0,
        pagesByQuery: new Map(),
      }
      this.stats.set(region, s)
    }
    return s
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res))
    this.server.keepAliveTimeout = 60_000
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    const { port } = this.server.address() as AddressInfo
    this.endpoint = `http://127.0.0.1:${port}`
    return this.endpoint
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  private send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
      'content-length': Buffer.byteLength(text),
      date: new Date().toUTCString(),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    })
    res.end(text)
  }

  private error(res: ServerResponse, status: number, type: string, message: string): void {
    this.send(res, status, { __type: type, message }, type)
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const auth = String(req.headers.authorization ?? '')
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth)
      const region = scope?.[1] ?? 'us-east-1'
      const stats = this.regionStats(region)
      stats.requests++
      stats.firstAt ??= performance.now()
      stats.lastAt = performance.now()
      if (req.method !== 'POST' || !TARGETS.has(String(req.headers['x-amz-target']))) {
        stats.errors++
        this.error(res, 400, 'UnknownOperationException', `the stand-in serves ${TARGET} only`)
        return
      }
      if (!scope) {
        stats.errors++
        this.error(res, 400, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
        return
      }
      const faults = this.options.faults
      if (faults?.dropRate && this.rng.next() < faults.dropRate) {
        stats.dropped++
        req.socket.destroy()
        return
      }
      if (faults?.serverErrorRate && this.rng.next() < faults.serverErrorRate) {
        stats.serverErrors++
        if (this.rng.chance(0.5)) this.error(res, 500, 'InternalFailure', 'We encountered an internal error.')
        else this.error(res, 503, 'ServiceUnavailable', 'Service is unavailable.')
        return
      }
      if (this.options.disabledRegions?.includes(region)) {
        stats.errors++
        // 403, as AWS answers it (its Common Errors page): the code, not the status, says it.
        this.error(
          res,
          403,
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
        )
        return
      }
      let bucket = this.buckets.get(region)
      if (!bucket) {
        bucket = new TokenBucket(this.options.rate ?? 2, this.options.burst ?? 2)
        this.buckets.set(region, bucket)
      }
      if (!bucket.take()) {
        stats.throttled++
        this.error(res, 400, 'ThrottlingException', 'Rate exceeded')
        return
      }
      if (this.options.deniedRegions?.includes(region)) {
        stats.errors++
        this.error(
          res,
          400,
          'AccessDeniedException',
          `User: arn:aws:iam::111122223333:user/tester is not authorized to perform: cloudtrail:LookupEvents`,
        )
        return
      }
      let body: Rec
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
      } catch {
        stats.errors++
        this.error(res, 400, 'SerializationException', 'the body is not JSON')
        return
      }
      this.lookup(region, body, res, stats)
    })
  }

  private lookup(region: string, body: Rec, res: ServerResponse, stats: RegionStats): void {
    const attrs = body.LookupAttributes
    if (attrs !== undefined && (!Array.isArray(attrs) || attrs.length !== 1)) {
      stats.errors++
      this.error(res, 400, 'InvalidLookupAttributesException', 'You can only specify one lookup attribute.')
      return
    }
    const attr = attrs?.[0] as { AttributeKey?: string; AttributeValue?: string } | undefined
    if (
      attr &&
      (!ATTRIBUTE_KEYS.includes(attr.AttributeKey as never) ||
        typeof attr.AttributeValue !== 'string' ||
        attr.AttributeValue === '')
    ) {
      stats.errors++
      this.error(
        res,
        400,
        'InvalidLookupAttributesException',
        'The lookup attribute key or value is not valid.',
      )
      return
    }
    const max = body.MaxResults ?? 50
    if (!Number.isInteger(max) || max < 1 || max > 50) {
      stats.errors++
      this.error(res, 400, 'InvalidMaxResultsException', 'MaxResults must be between 1 and 50.')
      return
    }
    const start = body.StartTime !== undefined ? Number(body.StartTime) * 1000 : Number.NEGATIVE_INFINITY
    const end = body.EndTime !== undefined ? Number(body.EndTime) * 1000 : Number.POSITIVE_INFINITY
    if (start > end) {
      stats.errors++
      this.error(res, 400, 'InvalidTimeRangeException', 'StartTime must be before EndTime.')
      return
    }
    const fingerprint = JSON.stringify([
      region,
      attr?.AttributeKey ?? null,
      attr?.AttributeValue ?? null,
      body.StartTime ?? null,
      body.EndTime ?? null,
    ])
    let offset = 0
    if (body.NextToken !== undefined) {
      const parsed = this.readToken(String(body.NextToken))
      if (!parsed || parsed.q !== fingerprint) {
        stats.errors++
        this.error(res, 400, 'InvalidNextTokenException', 'Invalid NextToken.')
        return
      }
      offset = parsed.o
    }
    const pages = stats.pagesByQuery.get(fingerprint) ?? []
    if (this.failAfterPages !== undefined && pages.length >= this.failAfterPages) {
      stats.serverErrors++
      this.error(res, 500, 'InternalFailure', 'We encountered an internal error.')
      return
    }
    const matching = (this.byRegion.get(region) ?? []).filter(
      (e) => e.t >= start && e.t <= end && matches(e, attr),
    )
    const page = matching.slice(offset, offset + max)
    const next = offset + max < matching.length ? this.makeToken(fingerprint, offset + max) : undefined
    pages.push(offset / max)
    stats.pagesByQuery.set(fingerprint, pages)
    stats.ok++
    this.send(res, 200, {
      Events: page.map((e) => ({
        EventId: e.id,
        EventName: e.record.eventName,
        ReadOnly: String(e.record.readOnly ?? 'false'),
        ...(e.record.userIdentity?.accessKeyId ? { AccessKeyId: e.record.userIdentity.accessKeyId } : {}),
        EventTime: e.t / 1000,
        EventSource: e.record.eventSource,
        ...(e.username ? { Username: e.username } : {}),
        Resources: e.resources.map((r) => ({ ResourceType: r.type, ResourceName: r.name })),
        CloudTrailEvent: e.json,
      })),
      ...(next ? { NextToken: next } : {}),
    })
  }

  private makeToken(q: string, o: number): string {
    const payload = Buffer.from(JSON.stringify({ q, o })).toString('base64url')
    const mac = createHmac('sha256', this.secret).update(payload).digest('base64url').slice(0, 22)
    return `${payload}.${mac}`
  }

  private readToken(token: string): { q: string; o: number } | undefined {
    const [payload, mac] = token.split('.')
    if (!payload || !mac) return undefined
    if (createHmac('sha256', this.secret).update(payload).digest('base64url').slice(0, 22) !== mac)
      return undefined
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      return undefined
    }
  }
}

function matches(
  e: IndexedEvent,
  attr: { AttributeKey?: string; AttributeValue?: string } | undefined,
): boolean {
  if (!attr) return true
  const v = attr.AttributeValue
  const r = e.record
  switch (attr.AttributeKey) {
    case 'EventId':
      return e.id === v
    case 'EventName':
      return r.eventName === v
    case 'ReadOnly':
      return String(r.readOnly) === v
    case 'Username':
      return e.username === v
    case 'ResourceType':
      return e.resources.some((x) => x.type === v)
    case 'ResourceName':
      return e.resources.some((x) => x.name === v)
    case 'EventSource':
      return r.eventSource === v
    case 'AccessKeyId':
      return r.userIdentity?.accessKeyId === v
    default:
      return false
  }
}

/** Starts a stand-in loaded with records (grouped by their awsRegion). */
export async function startLookupEvents(
  records: Rec[],
  options: LookupEventsServerOptions = {},
): Promise<LookupEventsServer> {
  const server = new LookupEventsServer(options)
  server.addRecords(records)
  await server.start()
  return server
}
