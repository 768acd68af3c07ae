import { randomUUID } from 'node:crypto'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'

export type FaultKind =
  | 'access-denied'
  | 'throttle'
  | 'server-error'
  | 'drop'
  | 'not-implemented'
  | 'expired-token'
  | 'region-not-enabled'
  | 'clock-skew'
  | 'limit-exceeded'
  | 'not-found'
  | 'request-expired'
  | 'truncate'

export interface RequestInfo {
  method: string
  path: string
  /** The query string's parameters (Lambda's Qualifier, say). */
  query?: URLSearchParams
  service: string
  region: string
  accessKeyId: string
  operation: string
  protocol: 'json' | 'query' | 'rest-json' | 'rest-xml'
}

export interface FaultRule {
  /** An operation name (GetPolicy), a regex on the operation, or a predicate. */
  match: string | RegExp | ((req: RequestInfo) => boolean)
  fault: FaultKind
  /** Probability 0..1 that a matching request is faulted (default 1). */
  rate?: number
  /** Fault at most this many matching requests (default: unlimited). */
  count?: number
  /**
   * `truncate`: the share (0..1, default 0.5) of the emulator's answer body sent before the
   * connection is cut (its headers, Content-Length too, go out unchanged).
   */
  keep?: number
}

/**
 * Rewrites the emulator's answer to matching requests: what AWS would return where moto cannot
 * (moto refuses to attach another account's layer, for one). Answers are read whole, so the body
 * must not be compressed (moto's are not).
 */
export interface RewriteRule {
  match: string | RegExp | ((req: RequestInfo) => boolean)
  body: (text: string) => string
  /**
   * Answer with this status (and a JSON content type, without moto's error type) instead of
   * moto's: a route moto lacks (ListProvisionedConcurrencyConfigs), answered as AWS would.
   */
  status?: number
}

/**
 * Holds matching requests until `run` has finished, then forwards them: another caller's call that
 * lands while fir's is in flight (someone creating a key during fir's CreateAccessKey, say).
 */
export interface HoldRule {
  match: string | RegExp | ((req: RequestInfo) => boolean)
  run: (req: RequestInfo) => Promise<void>
  /** Hold at most this many matching requests (default: unlimited). */
  count?: number
}

export interface ProxyRecord extends RequestInfo {
  faulted?: FaultKind
  status?: number
}

// Lambda's REST routes, for naming operations in rules and records.
const LAMBDA_ROUTES: [string, RegExp, string][] = [
  ['GET', /^\/2015-03-31\/functions\/[^/]+\/policy$/, 'GetPolicy'],
  ['POST', /^\/2015-03-31\/functions\/[^/]+\/policy$/, 'AddPermission'],
  ['DELETE', /^\/2015-03-31\/functions\/[^/]+\/policy\/[^/]+$/, 'RemovePermission'],
  ['GET', /^\/2015-03-31\/functions\/[^/]+\/versions$/, 'ListVersionsByFunction'],
  ['POST', /^\/2015-03-31\/functions\/[^/]+\/versions$/, 'PublishVersion'],
  ['GET', /^\/2015-03-31\/functions\/[^/]+\/aliases$/, 'ListAliases'],
  ['GET', /^\/2015-03-31\/functions\/[^/]+\/aliases\/[^/]+$/, 'GetAlias'],
  ['GET', /^\/2015-03-31\/functions\/[^/]+\/configuration$/, 'GetFunctionConfiguration'],
  ['PUT', /^\/2015-03-31\/functions\/[^/]+\/configuration$/, 'UpdateFunctionConfiguration'],
  ['PUT', /^\/2015-03-31\/functions\/[^/]+\/code$/, 'UpdateFunctionCode'],
  ['GET', /^\/2015-03-31\/functions\/[^/]+$/, 'GetFunction'],
  ['DELETE', /^\/2015-03-31\/functions\/[^/]+$/, 'DeleteFunction'],
  ['GET', /^\/2015-03-31\/functions\/?$/, 'ListFunctions'],
  ['POST', /^\/2015-03-31\/functions\/?$/, 'CreateFunction'],
  ['GET', /^\/2015-03-31\/event-source-mappings\/?$/, 'ListEventSourceMappings'],
  ['GET', /^\/2015-03-31\/event-source-mappings\/[^/]+$/, 'GetEventSourceMapping'],
  ['PUT', /^\/2015-03-31\/event-source-mappings\/[^/]+$/, 'UpdateEventSourceMapping'],
  ['GET', /^\/2015-03-31\/tags\/.+$/, 'ListTags'],
  ['GET', /^\/2019-09-30\/functions\/[^/]+\/concurrency$/, 'GetFunctionConcurrency'],
  ['PUT', /^\/2017-10-31\/functions\/[^/]+\/concurrency$/, 'PutFunctionConcurrency'],
  ['DELETE', /^\/2017-10-31\/functions\/[^/]+\/concurrency$/, 'DeleteFunctionConcurrency'],
  ['GET', /^\/2019-09-30\/functions\/[^/]+\/provisioned-concurrency$/, 'ListProvisionedConcurrencyConfigs'],
  ['GET', /^\/2021-10-31\/functions\/[^/]+\/url$/, 'GetFunctionUrlConfig'],
  ['PUT', /^\/2021-10-31\/functions\/[^/]+\/url$/, 'UpdateFunctionUrlConfig'],
  ['GET', /^\/2021-10-31\/functions\/[^/]+\/urls$/, 'ListFunctionUrlConfigs'],
  ['GET', /^\/2019-09-25\/functions\/[^/]+\/event-invoke-config\/list$/, 'ListFunctionEventInvokeConfigs'],
  ['GET', /^\/2020-06-30\/functions\/[^/]+\/code-signing-config$/, 'GetFunctionCodeSigningConfig'],
  ['GET', /^\/2018-10-31\/layers\/[^/]+\/versions\/[^/]+$/, 'GetLayerVersion'],
]

function describe(req: IncomingMessage, body: Buffer): RequestInfo {
  const method = req.method ?? 'GET'
  const url = new URL(req.url ?? '/', 'http://x')
  const auth = String(req.headers.authorization ?? '')
  const scope = auth.match(/Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/)
  const accessKeyId = scope?.[1] ?? ''
  const region = scope?.[2] ?? ''
  const service = scope?.[3] ?? ''
  const target = req.headers['x-amz-target']
  if (typeof target === 'string') {
    return {
      method,
      path: url.pathname,
      service,
      region,
      accessKeyId,
      operation: target.split('.').at(-1) ?? target,
      protocol: 'json',
    }
  }
  const form = new URLSearchParams(body.toString('utf8'))
  const action = url.searchParams.get('Action') ?? form.get('Action')
  if (action)
    return { method, path: url.pathname, service, region, accessKeyId, operation: action, protocol: 'query' }
  if (service === 's3') {
    return {
      method,
      path: url.pathname,
      service,
      region,
      accessKeyId,
      operation: `${method} s3`,
      protocol: 'rest-xml',
    }
  }
  const path = decodeURIComponent(url.pathname)
  const route = LAMBDA_ROUTES.find(([m, re]) => m === method && re.test(url.pathname))
  return {
    method,
    path,
    query: url.searchParams,
    service,
    region,
    accessKeyId,
    operation: route?.[2] ?? `${method} ${path}`,
    protocol: 'rest-json',
  }
}

function faultResponse(
  info: RequestInfo,
  kind: Exclude<FaultKind, 'drop' | 'truncate'>,
  res: ServerResponse,
): number {
  const requestId = randomUUID()
  const table = {
    'access-denied': {
      status: 403,
      json: 'AccessDeniedException',
      query: 'AccessDenied',
      msg: `User is not authorized to perform: ${info.service}:${info.operation}`,
    },
    throttle: {
      status: info.protocol === 'rest-json' ? 429 : 400,
      json: info.protocol === 'rest-json' ? 'TooManyRequestsException' : 'ThrottlingException',
      query: 'Throttling',
      msg: 'Rate exceeded',
    },
    'server-error': {
      status: 500,
      json: info.protocol === 'rest-json' ? 'ServiceException' : 'InternalFailure',
      query: 'ServiceUnavailable',
      msg: 'We encountered an internal error. Please try again.',
    },
    // AWS answers expired and unknown credentials with 403, as it does a denied call (its Common
    // Errors page): only the code tells them apart.
    'expired-token': {
      status: 403,
      json: 'ExpiredTokenException',
      query: 'ExpiredToken',
      msg: 'The security token included in the request is expired',
    },
    // What a region the account has not enabled (an opt-in region) answers: AWS does not know the
    // credentials there (Lambda: 403 UnrecognizedClientException; STS: InvalidClientTokenId).
    'region-not-enabled': {
      status: 403,
      json: 'UnrecognizedClientException',
      query: 'InvalidClientTokenId',
      msg: 'The security token included in the request is invalid.',
    },
    // A request signed by a clock more than 5 minutes off (STS names it SignatureDoesNotMatch).
    'clock-skew': {
      status: 403,
      json: 'InvalidSignatureException',
      query: 'SignatureDoesNotMatch',
      msg: 'Signature expired: 20240101T000000Z is now earlier than 20240101T001000Z (20240101T001500Z - 5 min.)',
    },
    // A quota (IAM: a role's inline policies at their size limit), which waiting does not clear.
    'limit-exceeded': {
      status: 409,
      json: 'LimitExceededException',
      query: 'LimitExceeded',
      msg: 'Maximum policy size of 10240 bytes exceeded for role',
    },
    // What AWS answers for a resource it does not have (Lambda: a function; IAM: a role or user).
    'not-found': {
      status: 404,
      json: 'ResourceNotFoundException',
      query: 'NoSuchEntity',
      msg: 'The resource you requested does not exist.',
    },
    // What S3 answers a presigned URL past its expiry (a code location lives 10 minutes).
    'request-expired': {
      status: 403,
      json: 'AccessDeniedException',
      query: 'AccessDenied',
      msg: 'Request has expired',
    },
    'not-implemented': {
      status: 501,
      json: 'NotImplemented',
      query: 'NotImplemented',
      msg: 'The requested feature is not implemented',
    },
  }[kind]
  res.setHeader('x-amzn-requestid', requestId)
  if (info.protocol === 'query' || info.protocol === 'rest-xml') {
    res.writeHead(table.status, { 'content-type': 'text/xml' })
    const code = table.query
    res.end(
      info.protocol === 'rest-xml'
        ? `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${table.msg}</Message><RequestId>${requestId}</RequestId></Error>`
        : `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${table.msg}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    )
  } else {
    res.writeHead(table.status, { 'content-type': 'application/json', 'x-amzn-errortype': table.json })
    res.end(JSON.stringify({ __type: table.json, message: table.msg, Message: table.msg }))
  }
  return table.status
}

/**
 * A reverse proxy in front of moto (or the LookupEvents stand-in) that injects AWS-shaped faults:
 * AccessDenied, throttling, 5xx, not-implemented, dropped connections and answers cut part way
 * (`truncate`: a download broken mid-transfer), for chosen operations or
 * at a chosen rate, and holds a request while something else happens (HoldRule). Point the SDK's
 * endpoint at `proxy.endpoint`. Every request is recorded.
 */
function matches(m: FaultRule['match'], info: RequestInfo): boolean {
  return typeof m === 'string' ? info.operation === m : m instanceof RegExp ? m.test(info.operation) : m(info)
}

export class FaultProxy {
  readonly records: ProxyRecord[] = []
  rules: FaultRule[] = []
  rewrites: RewriteRule[] = []
  holds: HoldRule[] = []
  private server: Server | undefined
  private counts = new Map<FaultRule, number>()
  private random: () => number

  constructor(
    private readonly upstream: string,
    options: { rules?: FaultRule[]; rewrites?: RewriteRule[]; holds?: HoldRule[]; seed?: number } = {},
  ) {
    this.rules = options.rules ?? []
    this.rewrites = options.rewrites ?? []
    this.holds = options.holds ?? []
    let s = options.seed ?? 42
    this.random = () => {
      s = (s * 1103515245 + 12345) & 0x7fffffff
      return s / 0x7fffffff
    }
  }

  get endpoint(): string {
    const addr = this.server?.address() as AddressInfo | undefined
    if (!addr) throw new Error('proxy not started')
    return `http://127.0.0.1:${addr.port}`
  }

  /** Operations forwarded (not faulted), in order. */
  forwarded(): string[] {
    return this.records.filter((r) => !r.faulted).map((r) => r.operation)
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res))
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    return this
  }

  async stop(): Promise<void> {
    if (!this.server) return
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server!.close(() => resolve()))
  }

  private pick(info: RequestInfo): FaultRule | undefined {
    for (const rule of this.rules) {
      if (!matches(rule.match, info)) continue
      const used = this.counts.get(rule) ?? 0
      if (rule.count !== undefined && used >= rule.count) continue
      if (rule.rate !== undefined && this.random() >= rule.rate) continue
      this.counts.set(rule, used + 1)
      return rule
    }
    return undefined
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const body = Buffer.concat(chunks)
      const info = describe(req, body)
      const hold = this.holds.find((h) => matches(h.match, info) && (h.count === undefined || h.count > 0))
      if (hold) {
        if (hold.count !== undefined) hold.count--
        await hold.run(info)
      }
      const record: ProxyRecord = { ...info }
      this.records.push(record)
      const rule = this.pick(info)
      if (rule) {
        record.faulted = rule.fault
        if (rule.fault === 'drop') {
          req.socket.destroy()
          return
        }
        if (rule.fault !== 'truncate') {
          record.status = faultResponse(info, rule.fault, res)
          return
        }
      }
      const target = new URL(req.url ?? '/', this.upstream)
      const upstreamReq = httpRequest(
        target,
        { method: req.method, headers: { ...req.headers, host: target.host } },
        (up) => {
          record.status = up.statusCode
          if (rule?.fault === 'truncate') {
            const parts: Buffer[] = []
            up.on('data', (c: Buffer) => parts.push(c))
            up.on('end', () => {
              const whole = Buffer.concat(parts)
              res.writeHead(up.statusCode ?? 502, up.headers)
              // Cut once the bytes are with the kernel: a loaded machine must not cut them shorter.
              res.write(whole.subarray(0, Math.floor(whole.length * (rule.keep ?? 0.5))), () =>
                setTimeout(() => res.socket?.destroy(), 100),
              )
            })
            return
          }
          const rewrite = this.rewrites.find((r) => matches(r.match, info))
          if (!rewrite) {
            res.writeHead(up.statusCode ?? 502, up.headers)
            up.pipe(res)
            return
          }
          const parts: Buffer[] = []
          up.on('data', (c: Buffer) => parts.push(c))
          up.on('end', () => {
            const text = Buffer.from(rewrite.body(Buffer.concat(parts).toString('utf8')), 'utf8')
            const headers: Record<string, string | string[] | undefined> = {
              ...up.headers,
              'content-length': String(text.length),
            }
            if (rewrite.status !== undefined) {
              delete headers['x-amzn-errortype']
              headers['content-type'] = 'application/json'
            }
            res.writeHead(rewrite.status ?? up.statusCode ?? 502, headers)
            res.end(text)
          })
        },
      )
      upstreamReq.on('error', () => res.destroy())
      upstreamReq.end(body)
    })
  }
}
