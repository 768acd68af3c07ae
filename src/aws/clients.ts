import { stat } from 'node:fs/promises'
import { isIP } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import type { AthenaClient } from '@aws-sdk/client-athena'
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail'
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs'
import type { ECRClient } from '@aws-sdk/client-ecr'
import type { IAMClient } from '@aws-sdk/client-iam'
import type { LambdaClient } from '@aws-sdk/client-lambda'
import type { OrganizationsClient } from '@aws-sdk/client-organizations'
import type { S3Client } from '@aws-sdk/client-s3'
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import type { STSClient } from '@aws-sdk/client-sts'
import type { NodeHttpHandler } from '@smithy/node-http-handler'
import { Clock } from '../core/common/clock.js'
import { redactUrlPasswords } from '../core/common/redact.js'
import { AwsAccessError, EmulatorSafetyError, UsageError } from '../errors.js'
import { classifyFailure, toFirError } from './errors.js'
import { noProxyEntries, noProxyMatch } from './no-proxy.js'
import { sdk } from './sdk.js'

/** Fixed credentials used against the emulator: never the user's own. */
export const DUMMY_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' }

export interface AwsOptions {
  region?: string
  profile?: string
  endpoint?: string
  roleArn?: string
  caseId?: string
  /** Tabletop and tests: dummy credentials, and no request may leave loopback. */
  emulatorOnly?: boolean
  /**
   * The case is a tabletop drill (this scenario): emulator-only whatever the environment says, so
   * a later command on the drill's case (a resume after Ctrl-C, a contain) never acts with the
   * responder's credentials on the AWS they reach; without a loopback endpoint every call is
   * refused, naming the drill.
   */
  drill?: string
  maxAttempts?: number
  clock?: Clock
  /**
   * Where the credential chain's warnings go, one line each (the command's warnings, which --json
   * carries); a `warning:` line on stderr when not given.
   */
  warn?: (message: string) => void
}

/** One AWS call fir made, for the journal (request ids tag fir's own CloudTrail events). */
export interface RequestRecord {
  service: string
  operation: string
  region: string
  requestId?: string
  status?: number
  at: string
}

/** The AWS flags as the command was given them, before defaults and the environment fill in. */
export interface GivenAwsFlags {
  region?: string
  profile?: string
  endpoint?: string
  roleArn?: string
}

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }
type CredentialProvider = () => Promise<Credentials>

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1'
  return false
}

/** True when fir must stay on loopback with dummy credentials (tests set FIR_EMULATOR_ONLY=1). */
export function emulatorOnlyFromEnv(): boolean {
  return process.env.FIR_EMULATOR_ONLY === '1' || process.env.FIR_EMULATOR_ONLY === 'true'
}

function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname)
  } catch {
    return false
  }
}

/** Throws before anything is sent when a URL is not loopback while in emulator-only mode. */
export function assertLoopback(url: string | URL, emulatorOnly: boolean): void {
  if (!emulatorOnly) return
  const u = typeof url === 'string' ? new URL(url) : url
  if (!isLoopbackHost(u.hostname)) {
    throw new EmulatorSafetyError(
      `unable to send a request to ${u.hostname}: fir is running against the local emulator (tabletop or tests) and only loopback addresses are allowed`,
    )
  }
}

/** The SDK's service ids as its AWS_ENDPOINT_URL_<ID> variables spell them, by fir's client name. */
const SERVICE_ENV_NAMES: Record<string, string> = {
  lambda: 'LAMBDA',
  iam: 'IAM',
  sts: 'STS',
  s3: 'S3',
  secretsmanager: 'SECRETS_MANAGER',
  logs: 'CLOUDWATCH_LOGS',
  cloudtrail: 'CLOUDTRAIL',
  organizations: 'ORGANIZATIONS',
  athena: 'ATHENA',
  ecr: 'ECR',
}

/** The endpoint the SDK reads from the environment for a service id (or the global one). */
function configuredEndpoint(serviceEnvName: string | undefined): string | undefined {
  const env = process.env
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() === 'true') return undefined
  return (
    (serviceEnvName ? env[`AWS_ENDPOINT_URL_${serviceEnvName}`] : undefined) ||
    env.AWS_ENDPOINT_URL ||
    undefined
  )
}

/** One endpoint setting fir's clients use, and where it was set (`--endpoint-url`, a variable). */
interface EndpointSetting {
  source: string
  url: string
}

/**
 * The endpoint settings fir's clients use: `endpoint` (the flag, or AWS_ENDPOINT_URL in
 * emulator-only mode) overrides the environment's, as it does in the SDK; else AWS_ENDPOINT_URL
 * and the AWS_ENDPOINT_URL_<SERVICE> of each client (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS).
 * The paced LookupEvents client reads AWS_ENDPOINT_URL_CLOUDTRAIL whatever else is set.
 */
function endpointSettings(endpoint: string | undefined, source: string): EndpointSetting[] {
  const env = process.env
  const out: EndpointSetting[] = []
  if (endpoint) out.push({ source, url: endpoint })
  else if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() !== 'true') {
    for (const name of [
      'AWS_ENDPOINT_URL',
      ...Object.values(SERVICE_ENV_NAMES).map((n) => `AWS_ENDPOINT_URL_${n}`),
    ]) {
      const url = env[name]
      if (url) out.push({ source: name, url })
    }
  }
  const cloudtrail = env.AWS_ENDPOINT_URL_CLOUDTRAIL
  if (cloudtrail && !out.some((s) => s.source === 'AWS_ENDPOINT_URL_CLOUDTRAIL'))
    out.push({ source: 'AWS_ENDPOINT_URL_CLOUDTRAIL', url: cloudtrail })
  return out
}

/** A host, with a port or a path or neither, typed without its scheme (`127.0.0.1:5194`). */
const SCHEMELESS_RE = /^(\[[0-9a-f:.]+\]|[a-z0-9][a-z0-9.-]*)(:\d{1,5})?(\/[^\s/]\S*)?\/?$/i

/**
 * An endpoint setting as a URL, or a usage error saying what is wrong with it. Only http:// and
 * https:// URLs are endpoints: `localhost:5194` parses as a URL whose scheme is `localhost:`, and
 * the SDK would send it to an address made of the port.
 */
function endpointUrl({ source, url }: EndpointSetting): URL {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {}
  if (parsed && (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname)
    return parsed
  const shown = JSON.stringify(redactUrlPasswords(url))
  if (!url.includes('://') && SCHEMELESS_RE.test(url)) {
    const host = /^\[([^\]]+)\]/.exec(url)?.[1] ?? url.split(/[:/]/)[0]!
    const fixed = `${isLoopbackHost(host) ? 'http' : 'https'}://${url}`
    throw new UsageError(`unable to use endpoint ${shown}: ${source} has no scheme`, {
      actions: [
        `add ${fixed.slice(0, fixed.indexOf('//') + 2)}: ${source === '--endpoint-url' ? `--endpoint-url ${fixed}` : `${source}=${fixed}`}`,
      ],
    })
  }
  const reason = parsed?.hostname
    ? `${source} is not an http:// or https:// URL (its scheme is ${parsed.protocol})`
    : `${source} is not a URL`
  throw new UsageError(`unable to use endpoint ${shown}: ${reason}`, {
    actions: [
      `set ${source} to an http:// or https:// URL, like https://lambda.eu-west-1.amazonaws.com or http://127.0.0.1:5000`,
    ],
  })
}

/** Why fir's requests to an endpoint do not go through the HTTPS_PROXY that is set. */
export type ProxyBypass = 'emulator-only' | 'loopback' | 'no-proxy' | 'http-endpoint'

/** How fir's requests reach one endpoint: through a proxy, or straight to it, and why. */
export interface ProxyDecision {
  /** The proxy the requests go through; undefined: straight to the endpoint. */
  proxy: string | undefined
  /** https_proxy (else HTTPS_PROXY) as set, whether it is used or not. */
  configured: string | undefined
  /** Why a configured HTTPS_PROXY is not used for this endpoint (the NO_PROXY entry that matched). */
  bypass?: { reason: ProxyBypass; noProxy?: string }
  /** http_proxy (else HTTP_PROXY) when set: fir never uses it. */
  httpProxy: string | undefined
}

/**
 * Whether fir's requests to `endpoint` go through HTTPS_PROXY. Not in emulator-only mode, not to a
 * loopback endpoint, not to a host a NO_PROXY entry names (see noProxyMatch), and not to an
 * http:// endpoint: the proxy is given to HTTPS requests only, and HTTP_PROXY is never used.
 * The variables are read as curl reads them, lowercase first (https_proxy, then HTTPS_PROXY), as
 * NO_PROXY is (noProxyEntries). Unlike curl, fir sends an http:// request to no proxy at all: curl
 * would use http_proxy (never HTTP_PROXY, which a CGI request can set: httpoxy).
 * `endpoint` is the URL the requests go to: a custom endpoint, or AWS's own host for the call
 * (undefined when not known: the proxy, when set). The one decision the AWS clients (for each
 * request), the code download and `fir doctor` use.
 */
export function proxyDecision(endpoint: string | undefined, emulatorOnly = false): ProxyDecision {
  const env = process.env
  const configured = env.https_proxy || env.HTTPS_PROXY || undefined
  const httpProxy = env.http_proxy || env.HTTP_PROXY || undefined
  const decided = (bypass?: ProxyDecision['bypass']): ProxyDecision => ({
    proxy: configured && !bypass ? configured : undefined,
    configured,
    ...(configured && bypass ? { bypass } : {}),
    httpProxy,
  })
  if (emulatorOnly) return decided({ reason: 'emulator-only' })
  if (!configured || !endpoint) return decided()
  const url = new URL(endpoint)
  if (isLoopbackHost(url.hostname)) return decided({ reason: 'loopback' })
  const match = noProxyMatch(url, noProxyEntries())
  if (match !== undefined) return decided({ reason: 'no-proxy', noProxy: match })
  if (url.protocol === 'http:') return decided({ reason: 'http-endpoint' })
  return decided()
}

/**
 * AWS's own endpoint of a service fir calls, in `region`, as the SDK builds it (standard
 * endpoints: no FIPS or dual-stack): `https://lambda.eu-west-1.amazonaws.com`; IAM's and (in the
 * aws partition) Organizations' are global, S3's is the regional one its buckets' hosts are under.
 * For what fir says of a host it has not called yet (doctor); the calls themselves are judged by
 * the host the SDK chose (ProxyRoutingHandler).
 */
export function awsEndpoint(service: string, region: string): string {
  const china = region.startsWith('cn-')
  const gov = region.startsWith('us-gov-')
  if (service === 'iam')
    return china
      ? 'https://iam.cn-north-1.amazonaws.com.cn'
      : gov
        ? 'https://iam.us-gov.amazonaws.com'
        : 'https://iam.amazonaws.com'
  if (service === 'organizations' && !china && !gov) return 'https://organizations.us-east-1.amazonaws.com'
  return `https://${service}.${region}.${china ? 'amazonaws.com.cn' : 'amazonaws.com'}`
}

/** The services fir makes clients for (their endpoint prefixes). */
export const FIR_SERVICES = Object.keys(SERVICE_ENV_NAMES)

type HandlerRequest = Parameters<NodeHttpHandler['handle']>[0]
type HandlerOptions = Parameters<NodeHttpHandler['handle']>[1]

/**
 * The SDK's request handler while HTTPS_PROXY is set: each request goes through the proxy or
 * straight to its host as {@link proxyDecision} says for that host, decided per request as curl
 * and the AWS CLI decide: the SDK picks the host per call (IAM's global endpoint, an S3 bucket's
 * own host), so no decision made once for a client would hold for every call it makes.
 */
export class ProxyRoutingHandler {
  readonly metadata: NodeHttpHandler['metadata']

  constructor(
    private readonly proxied: NodeHttpHandler,
    private readonly direct: NodeHttpHandler,
  ) {
    this.metadata = proxied.metadata
  }

  handle(request: HandlerRequest, options?: HandlerOptions) {
    const host = isIP(request.hostname) === 6 ? `[${request.hostname}]` : request.hostname
    const url = `${request.protocol}//${host}${request.port ? `:${request.port}` : ''}`
    return (proxyDecision(url).proxy ? this.proxied : this.direct).handle(request, options)
  }

  updateHttpClientConfig(...args: Parameters<NodeHttpHandler['updateHttpClientConfig']>): void {
    this.proxied.updateHttpClientConfig(...args)
    this.direct.updateHttpClientConfig(...args)
  }

  httpHandlerConfigs() {
    return this.proxied.httpHandlerConfigs()
  }

  destroy(): void {
    this.proxied.destroy()
    this.direct.destroy()
  }
}

function givenFlags(options: AwsOptions): GivenAwsFlags {
  const { region, profile, endpoint, roleArn } = options
  return {
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(roleArn ? { roleArn } : {}),
  }
}

export function sessionNameFor(caseId: string | undefined): string {
  let user = 'user'
  try {
    user = userInfo().username
  } catch {}
  return `fir-${caseId ?? 'nocase'}-${user}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64)
}

interface ClientConfig {
  region: string
  endpoint?: string
  credentials: CredentialProvider | Credentials
  maxAttempts: number
  requestHandler?: NodeHttpHandler | ProxyRoutingHandler
}

type AdaptiveRetryStrategy = InstanceType<ReturnType<typeof sdk.retry>['AdaptiveRetryStrategy']>
type RetryToken = Awaited<ReturnType<AdaptiveRetryStrategy['acquireInitialRetryToken']>>
// The SDK types the token its strategy hands out as the base type and takes back the standard one
// (which it is): the same object.
type StandardToken = Parameters<AdaptiveRetryStrategy['refreshRetryTokenForRetry']>[0]
type RetryErrorInfo = Parameters<AdaptiveRetryStrategy['refreshRetryTokenForRetry']>[1]

/**
 * The SDK's adaptive retries, less a quota: the SDK counts LimitExceededException as throttling,
 * so an IAM quota (a role's inline policies at their size limit) was retried for some 17 seconds
 * and slowed the client's later calls, then failed all the same. Waiting does not clear a quota:
 * it fails at once, and toFirError says which limit it is.
 */
class FirRetryStrategy {
  readonly mode = 'adaptive'
  private readonly inner: AdaptiveRetryStrategy

  constructor(maxAttempts: number) {
    this.inner = new (sdk.retry().AdaptiveRetryStrategy)(maxAttempts)
  }

  acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    return this.inner.acquireInitialRetryToken(scope)
  }

  refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    // A refusal ends the retries: the SDK then throws the call's own error.
    if (classifyFailure(info.error) === 'quota') return Promise.reject(info.error)
    return this.inner.refreshRetryTokenForRetry(token as StandardToken, info)
  }

  recordSuccess(token: RetryToken): void {
    this.inner.recordSuccess(token as StandardToken)
  }
}

/**
 * Every AWS client fir uses, built once per command from one set of options: the default
 * credential chain (env, shared profiles, SSO) or dummy credentials against the emulator, an
 * optional role to assume first, custom endpoints, HTTPS_PROXY, adaptive retries, a loopback guard
 * and a log of every request id. Clients are made on first use.
 */
export class AwsClients {
  readonly requestLog: RequestRecord[]
  readonly clock: Clock
  private readonly cache = new Map<string, unknown>()
  private readonly children = new Map<string, AwsClients>()

  private constructor(
    readonly region: string,
    readonly options: AwsOptions,
    private readonly credentials: CredentialProvider | Credentials,
    shared?: { requestLog: RequestRecord[]; clock: Clock },
    given?: GivenAwsFlags,
  ) {
    this.requestLog = shared?.requestLog ?? []
    this.clock = shared?.clock ?? options.clock ?? new Clock()
    this.given = given ?? givenFlags(options)
  }

  /**
   * The AWS flags the command was given (--region, --profile, --endpoint-url, --role-arn), to be
   * repeated in the commands fir suggests (core/common/suggest.ts).
   */
  readonly given: GivenAwsFlags

  get emulatorOnly(): boolean {
    return this.options.emulatorOnly === true
  }

  /** The drill scenario when the case is a tabletop drill's (see AwsOptions.drill). */
  get drill(): string | undefined {
    return this.options.drill
  }

  /**
   * The endpoint fir's calls go to when it is not AWS's own: `--endpoint-url`, else
   * AWS_ENDPOINT_URL (what the banner and the journal name).
   */
  get endpoint(): string | undefined {
    return this.options.endpoint ?? configuredEndpoint(undefined)
  }

  /**
   * Where one service's calls go when it is not AWS's own: `--endpoint-url`, else what the SDK
   * itself takes from the environment, AWS_ENDPOINT_URL_<SERVICE> then AWS_ENDPOINT_URL (unless
   * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true). A code location is read through this S3
   * endpoint, and the S3 client goes path-style, whichever of them set it.
   */
  endpointFor(service: string): string | undefined {
    return this.options.endpoint ?? configuredEndpoint(SERVICE_ENV_NAMES[service] ?? service.toUpperCase())
  }

  /** AWS_ENDPOINT_URL_<SERVICE> settings that send one service elsewhere than {@link endpoint}. */
  get serviceEndpoints(): Record<string, string> {
    if (this.options.endpoint) return {}
    const out: Record<string, string> = {}
    for (const [service, name] of Object.entries(SERVICE_ENV_NAMES)) {
      const url = configuredEndpoint(name)
      if (url && url !== this.endpoint) out[service] = url
    }
    return out
  }

  static async create(options: AwsOptions): Promise<AwsClients> {
    const given = givenFlags(options)
    const emulatorOnly = options.drill !== undefined || (options.emulatorOnly ?? emulatorOnlyFromEnv())
    const opts: AwsOptions = { ...options, emulatorOnly }
    if (emulatorOnly) {
      let endpoint = opts.endpoint ?? process.env.AWS_ENDPOINT_URL
      // A drill's case: an endpoint that is not loopback is dropped (the guard then refuses each
      // call, naming the drill).
      if (opts.drill !== undefined && endpoint && !isLoopbackUrl(endpoint)) endpoint = undefined
      opts.endpoint = endpoint
    }
    // Every endpoint in use is checked before any client is made, wherever it was set: a value
    // that is no http(s) URL is bad usage, and in emulator-only mode one off loopback is refused.
    const source = options.endpoint ? '--endpoint-url' : 'AWS_ENDPOINT_URL'
    for (const setting of endpointSettings(opts.endpoint, source)) {
      const url = endpointUrl(setting)
      if (emulatorOnly && opts.drill === undefined && !isLoopbackHost(url.hostname)) {
        throw new EmulatorSafetyError(
          `unable to send a request to ${url.hostname} (${setting.source}): fir is running against the local emulator (tabletop or tests) and only loopback addresses are allowed`,
          { actions: [`point ${setting.source} at a loopback emulator such as http://127.0.0.1:5000`] },
        )
      }
    }
    // Emulator-only without an endpoint: the clients are made all the same, and the guard refuses
    // each call (they would go to AWS's own addresses), saying no emulator endpoint is set. A
    // command that makes no AWS call (a timeline over local files) still runs.
    if (emulatorOnly && !opts.endpoint)
      return new AwsClients(await resolveRegion(opts), opts, DUMMY_CREDENTIALS, undefined, given)
    if (!emulatorOnly) await assertProfileConfigured(opts.profile)
    const region = await resolveRegion(opts)
    const base: CredentialProvider | Credentials = emulatorOnly
      ? DUMMY_CREDENTIALS
      : sdk.credentials().fromNodeProviderChain({
          ...(opts.profile ? { profile: opts.profile } : {}),
          logger: chainLogger(opts),
        })
    const clients = new AwsClients(region, opts, base, undefined, given)
    if (!opts.roleArn) return clients
    return new AwsClients(
      region,
      opts,
      clients.assumeRoleProvider(opts.roleArn),
      { requestLog: clients.requestLog, clock: clients.clock },
      given,
    )
  }

  /** A credentials provider that assumes `roleArn` through this client set's STS, refreshed before expiry. */
  assumeRoleProvider(roleArn: string): CredentialProvider {
    let cached: Credentials | undefined
    return async () => {
      if (cached?.expiration && cached.expiration.getTime() - Date.now() > 5 * 60_000) return cached
      try {
        const { AssumeRoleCommand } = sdk.sts()
        const out = await this.sts.send(
          new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionNameFor(this.options.caseId) }),
        )
        const c = out.Credentials
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials')
        cached = {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
          expiration: c.Expiration,
        }
        return cached
      } catch (err) {
        throw toFirError(err, 'sts:AssumeRole', `assume role ${roleArn}`)
      }
    }
  }

  /** The same identity in another region (shares the request log and clock). */
  forRegion(region: string): AwsClients {
    if (region === this.region) return this
    let child = this.children.get(region)
    if (!child) {
      child = new AwsClients(
        region,
        this.options,
        this.credentials,
        { requestLog: this.requestLog, clock: this.clock },
        this.given,
      )
      this.children.set(region, child)
    }
    return child
  }

  /** Another account's role, assumed through this identity (org sweeps). */
  forRole(roleArn: string, region = this.region): AwsClients {
    const key = `role:${roleArn}:${region}`
    let child = this.children.get(key)
    if (!child) {
      child = new AwsClients(
        region,
        { ...this.options, roleArn },
        this.assumeRoleProvider(roleArn),
        { requestLog: this.requestLog, clock: this.clock },
        this.given,
      )
      this.children.set(key, child)
    }
    return child
  }

  /**
   * How the requests of one service's client reach its endpoint ({@link endpointUrlFor}): through
   * HTTPS_PROXY or straight (see {@link proxyDecision}).
   */
  proxyDecisionFor(service?: string): ProxyDecision {
    return proxyDecision(this.endpointUrlFor(service), this.emulatorOnly)
  }

  /**
   * The URL one service's calls go to: the endpoint set for it ({@link endpointFor}), else AWS's
   * own ({@link awsEndpoint}); none named: {@link endpoint}, else AWS's Lambda endpoint.
   */
  endpointUrlFor(service?: string): string {
    const set = service === undefined ? this.endpoint : this.endpointFor(service)
    return set ?? awsEndpoint(service ?? 'lambda', this.region)
  }

  private config(service: string): ClientConfig {
    const endpoint = this.options.endpoint
    const http = (proxy?: string) =>
      new (sdk.http().NodeHttpHandler)({
        ...(proxy ? { httpsAgent: new (sdk.proxyAgent().HttpsProxyAgent)(proxy) } : {}),
        connectionTimeout: 10_000,
        requestTimeout: service === 's3' ? 300_000 : 60_000,
      })
    // Set and usable at all (not emulator-only): which requests it carries is decided per request.
    const proxy = proxyDecision(undefined, this.emulatorOnly).proxy
    return {
      region: this.region,
      ...(endpoint ? { endpoint } : {}),
      credentials: this.credentials,
      maxAttempts: this.options.maxAttempts ?? Number(process.env.FIR_MAX_ATTEMPTS ?? 6),
      requestHandler: proxy ? new ProxyRoutingHandler(http(proxy), http()) : http(),
    }
  }

  private make<T extends { middlewareStack: MiddlewareStackLike }>(
    service: string,
    Ctor: new (config: ClientConfig & Record<string, unknown>) => T,
    extra: Record<string, unknown> = {},
    cacheKey = service,
  ): T {
    const hit = this.cache.get(cacheKey)
    if (hit) return hit as T
    const config = { ...this.config(service), ...extra }
    const client = new Ctor({ ...config, retryStrategy: new FirRetryStrategy(config.maxAttempts) })
    installMiddleware(client.middlewareStack, service, this)
    this.cache.set(cacheKey, client)
    return client
  }

  get lambda(): LambdaClient {
    return this.make('lambda', sdk.lambda().LambdaClient)
  }
  get iam(): IAMClient {
    // IAM is global; its endpoint lives in us-east-1 for the aws partition.
    return this.make('iam', sdk.iam().IAMClient)
  }
  get sts(): STSClient {
    return this.make('sts', sdk.sts().STSClient)
  }
  get s3(): S3Client {
    return this.make('s3', sdk.s3().S3Client, this.endpointFor('s3') ? { forcePathStyle: true } : {})
  }
  get secrets(): SecretsManagerClient {
    return this.make('secretsmanager', sdk.secrets().SecretsManagerClient)
  }
  get logs(): CloudWatchLogsClient {
    return this.make('logs', sdk.logs().CloudWatchLogsClient)
  }
  get cloudtrail(): CloudTrailClient {
    return this.make('cloudtrail', sdk.cloudtrail().CloudTrailClient)
  }
  /**
   * CloudTrail with the SDK's retries off, for LookupEvents: the timeline paces itself under the
   * 2 requests/s per region limit and retries each page itself. AWS_ENDPOINT_URL_CLOUDTRAIL is
   * honoured here (a LookupEvents stand-in beside another emulator).
   */
  get cloudtrailPaced(): CloudTrailClient {
    const endpoint = process.env.AWS_ENDPOINT_URL_CLOUDTRAIL
    if (endpoint) assertLoopback(endpoint, this.emulatorOnly)
    return this.make(
      'cloudtrail',
      sdk.cloudtrail().CloudTrailClient,
      { maxAttempts: 1, ...(endpoint ? { endpoint } : {}) },
      'cloudtrail-paced',
    )
  }
  get organizations(): OrganizationsClient {
    return this.make('organizations', sdk.organizations().OrganizationsClient)
  }
  get athena(): AthenaClient {
    return this.make('athena', sdk.athena().AthenaClient)
  }
  get ecr(): ECRClient {
    return this.make('ecr', sdk.ecr().ECRClient)
  }
}

// The smithy middleware types are deep generics; this is the slice fir uses.
interface MiddlewareStackLike {
  add(middleware: unknown, options: Record<string, unknown>): void
}

function installMiddleware(stack: MiddlewareStackLike, service: string, owner: AwsClients): void {
  stack.add(
    (next: (args: unknown) => Promise<unknown>) =>
      async (args: { request?: { hostname?: string; protocol?: string } }) => {
        const hostname = args.request?.hostname
        if (owner.emulatorOnly && hostname !== undefined && !isLoopbackHost(hostname)) {
          const drill = owner.drill
          if (drill !== undefined) {
            throw new EmulatorSafetyError(
              `unable to send a ${service} request to ${hostname}: this case is a tabletop drill (scenario ${drill}), and a drill never reaches AWS; its emulator stopped with the drill's run`,
              {
                actions: [
                  `run the drill again: fir tabletop run ${drill}`,
                  'for a real incident, open a case of its own: fir case init <id>',
                ],
              },
            )
          }
          throw new EmulatorSafetyError(
            owner.options.endpoint === undefined
              ? `unable to send a ${service} request to ${hostname}: fir is in emulator-only mode and no emulator endpoint is set`
              : `unable to send a ${service} request to ${hostname}: fir is running against the local emulator and only loopback addresses are allowed`,
          )
        }
        return next(args)
      },
    { step: 'finalizeRequest', priority: 'low', name: 'firLoopbackGuard' },
  )
  stack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        const record: RequestRecord = {
          service,
          operation: (context.commandName ?? 'Unknown').replace(/Command$/, ''),
          region: owner.region,
          at: new Date().toISOString(),
        }
        owner.requestLog.push(record)
        try {
          const result = (await next(args)) as {
            response?: { statusCode?: number; headers?: Record<string, string> }
          }
          const headers = result.response?.headers ?? {}
          record.status = result.response?.statusCode
          record.requestId =
            headers['x-amzn-requestid'] ?? headers['x-amz-request-id'] ?? headers['x-amzn-request-id']
          if (headers.date) owner.clock.observeServerDate(headers.date)
          return result
        } catch (err) {
          const meta = (err as { $metadata?: { requestId?: string; httpStatusCode?: number } }).$metadata
          record.requestId = meta?.requestId
          record.status = meta?.httpStatusCode
          const date = (err as { $response?: { headers?: Record<string, string> } }).$response?.headers?.date
          if (date) owner.clock.observeServerDate(date)
          throw err
        }
      },
    { step: 'deserialize', priority: 'low', name: 'firRequestLog' },
  )
}

/**
 * The credential chain's logger. Its warnings become fir's, on one line: without a logger the SDK
 * prints a profile set beside AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY as nine lines to the
 * console (it goes on with the profile). Its debug lines are dropped.
 */
function chainLogger(opts: AwsOptions) {
  const warn = opts.warn ?? ((message: string) => process.stderr.write(`warning: ${message}\n`))
  const say = (...parts: unknown[]) => {
    const text = parts.map(String).join(' ')
    if (/Multiple credential sources detected/i.test(text)) {
      const profile = opts.profile
        ? `profile ${opts.profile} (--profile)`
        : `profile ${process.env.AWS_PROFILE} (AWS_PROFILE)`
      warn(
        `AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set too: fir uses ${profile} and ignores them (unset them to silence this)`,
      )
    } else {
      warn(`AWS SDK: ${text.replace(/\s+/g, ' ').trim()}`)
    }
  }
  const quiet = () => undefined
  return { trace: quiet, debug: quiet, info: quiet, warn: say, error: say }
}

/**
 * Refuses a named profile (--profile, else AWS_PROFILE) that neither shared file defines, before
 * the SDK reports it as missing credentials or as no region. The files are read by the SDK's own
 * loader, from where the SDK reads them (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE).
 */
async function assertProfileConfigured(flag: string | undefined): Promise<void> {
  const profile = flag || process.env.AWS_PROFILE || undefined
  if (!profile) return
  const config = sdk.config()
  const home = config.getHomeDir()
  const resolve = (path: string) => (path.startsWith('~/') ? join(home, path.slice(2)) : path)
  const configPath = resolve(process.env.AWS_CONFIG_FILE || join(home, '.aws', 'config'))
  const credentialsPath = resolve(
    process.env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials'),
  )
  const { configFile, credentialsFile } = await config.loadSharedConfigFiles({
    configFilepath: configPath,
    filepath: credentialsPath,
    ignoreCache: true,
  })
  // The config file's other sections come back as `sso-session.<name>` and `services.<name>`.
  const names = [
    ...new Set([
      ...Object.keys(configFile).filter((k) => !/^(sso-session|services)\./.test(k)),
      ...Object.keys(credentialsFile),
    ]),
  ].sort()
  if (names.includes(profile)) return
  const found = async (path: string) =>
    (await stat(path)
      .then((s) => s.isFile())
      .catch(() => false))
      ? path
      : `${path} (no such file)`
  const where = `${await found(configPath)} or ${await found(credentialsPath)}`
  const source = flag ? '' : ' (from AWS_PROFILE)'
  throw new AwsAccessError(
    'unknown-profile',
    `unable to use profile ${profile}${source}: it is not in ${where}`,
    {
      actions: [
        names.length > 0
          ? `the profiles there: ${names.join(', ')}; pass --profile with one of them${flag ? '' : ', or set AWS_PROFILE to one'}`
          : `no profile is configured there: create it with \`aws configure --profile ${profile}\` (or \`aws configure sso --profile ${profile}\`)`,
        ...(flag ? [] : ['or unset AWS_PROFILE to use the default credentials (environment, instance role)']),
        'if the profiles live in other files, point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at them',
      ],
    },
  )
}

const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/

async function resolveRegion(opts: AwsOptions): Promise<string> {
  let region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION
  if (!region && !opts.emulatorOnly) {
    try {
      const probe = new (sdk.sts().STSClient)(opts.profile ? { profile: opts.profile } : {})
      region = await probe.config.region()
      probe.destroy()
    } catch {
      region = undefined
    }
  }
  if (!region) {
    if (opts.emulatorOnly) return 'us-east-1'
    throw new UsageError('unable to choose an AWS region: none is set', {
      actions: ['pass --region, set AWS_REGION, or set a region in the profile (aws configure)'],
    })
  }
  if (!REGION_RE.test(region)) {
    throw new UsageError(`unable to use region ${JSON.stringify(region)}: it is not an AWS region name`, {
      actions: ['pass --region like us-east-1 or eu-west-1'],
    })
  }
  return region
}
