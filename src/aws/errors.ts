import { scrubAndCut } from '../core/common/redact.js'
import { AccessDeniedError, AwsAccessError, ExitCode, FirError, NotFoundError } from '../errors.js'

interface AwsLikeError {
  name?: string
  code?: string
  Code?: string
  message?: string
  $metadata?: { httpStatusCode?: number; requestId?: string }
  $fault?: string
}

export type FailureKind =
  | 'denied'
  | 'throttled'
  | 'quota'
  | 'unimplemented'
  | 'not-found'
  | 'service-error'
  | 'network'
  | 'credentials'
  | 'other'

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
  'UnauthorizedAccess',
  'Forbidden',
])
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ProvisionedThroughputExceededException',
])
/**
 * A quota is reached (IAM's LimitExceeded, HTTP 409: a role's inline policies at their size limit,
 * too many managed policies attached): waiting does not clear it. The SDK counts
 * LimitExceededException as throttling and retries it; fir does not (clients.ts).
 */
const QUOTA = new Set(['LimitExceeded', 'LimitExceededException', 'ServiceQuotaExceededException'])
const NOT_FOUND = new Set([
  'ResourceNotFoundException',
  'NoSuchEntity',
  'NoSuchEntityException',
  'NotFound',
  'NoSuchKey',
  'NoSuchBucket',
  'TrailNotFoundException',
  // ECR: the repository an image was in does not exist (deleted).
  'RepositoryNotFoundException',
  'AWSOrganizationsNotInUseException',
])
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired'])
const BAD_CREDS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
])
const SKEW = new Set(['RequestTimeTooSkewed', 'InvalidSignatureException'])

/**
 * AWS does not know the credentials at all (UnrecognizedClientException, InvalidClientTokenId):
 * what a region the account has not enabled (an opt-in region) answers with credentials that work
 * in its other regions. An expired token or a network failure is not this.
 */
export function isUnrecognizedCredentials(err: unknown): boolean {
  const cause = (err as { cause?: unknown })?.cause ?? err
  const name = errorName(cause)
  return name === 'UnrecognizedClientException' || name === 'InvalidClientTokenId'
}

export function errorName(err: unknown): string {
  const e = err as AwsLikeError
  return e?.name ?? e?.code ?? e?.Code ?? 'Error'
}

export function httpStatus(err: unknown): number | undefined {
  return (err as AwsLikeError)?.$metadata?.httpStatusCode
}

/** The credentials are missing, expired, unknown to AWS or sign requests AWS refuses. */
function isCredentialsFailure(name: string): boolean {
  return name === 'CredentialsProviderError' || EXPIRED.has(name) || BAD_CREDS.has(name) || SKEW.has(name)
}

/** What kind of failure an SDK error is, for gaps and retries. */
export function classifyFailure(err: unknown): FailureKind {
  const name = errorName(err)
  const status = httpStatus(err)
  const message = (err as AwsLikeError)?.message ?? ''
  const sysCode = (err as NodeJS.ErrnoException)?.code
  if (DENIED.has(name)) return 'denied'
  // Before the status: AWS answers expired, unknown or badly signed credentials with HTTP 403 too
  // (its Common Errors: ExpiredTokenException, UnrecognizedClientException, IncompleteSignature…),
  // and no permission grant fixes those.
  if (isCredentialsFailure(name)) return 'credentials'
  if (status === 403) return 'denied'
  if (THROTTLED.has(name) || status === 429) return 'throttled'
  if (QUOTA.has(name)) return 'quota'
  // An endpoint without the route (an emulator lacking the API) answers 404 with an HTML page the
  // SDK cannot parse: that is a missing API, not a missing resource.
  if (status === 404 && unparsedBody(err)) {
    return 'unimplemented'
  }
  if (NOT_FOUND.has(name) || (status === 404 && !/not (yet )?implemented/i.test(message))) return 'not-found'
  if (
    name === 'NotImplemented' ||
    name === 'NotImplementedError' ||
    status === 501 ||
    /not (yet )?implemented/i.test(message)
  ) {
    return 'unimplemented'
  }
  if (status !== undefined && status >= 500) return 'service-error'
  if (
    ['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(sysCode ?? '') ||
    name === 'TimeoutError' ||
    /socket hang up|ECONNRESET|ECONNREFUSED|ENOTFOUND/.test(message)
  ) {
    return 'network'
  }
  return 'other'
}

/**
 * A not-found that says the Lambda function itself, or the version or alias asked for, does not
 * exist (deleted, say): Lambda's `Function not found: <arn>`. GetPolicy of a function without a
 * policy and GetFunctionUrlConfig of one without a URL answer the same ResourceNotFoundException
 * with another message (`The resource you requested does not exist.`): that one is about the thing
 * asked for, and is a fact; this one means nothing about it was read.
 */
export function isFunctionNotFound(err: unknown): boolean {
  const cause = (err as { cause?: unknown })?.cause ?? err
  return (
    classifyFailure(cause) === 'not-found' &&
    /^Function not found\b/i.test((cause as AwsLikeError)?.message ?? '')
  )
}

/** True when the SDK could not read the answer as AWS's (an HTML error page, say). */
function unparsedBody(err: unknown): boolean {
  return (
    errorName(err) === 'SyntaxError' || /Deserialization error/i.test((err as AwsLikeError)?.message ?? '')
  )
}

/**
 * What an answer the SDK could not parse was, named by its HTTP status (undefined for an answer it
 * parsed): gaps and errors say this, never the parser's message and its advice to inspect `$response`.
 */
function unparsedAnswer(err: unknown): string | undefined {
  if (!unparsedBody(err)) return undefined
  const status = httpStatus(err) ?? '?'
  return classifyFailure(err) === 'unimplemented'
    ? `the endpoint does not implement this API (HTTP ${status} with a non-AWS body)`
    : `the endpoint answered HTTP ${status} with a body that is not an AWS response`
}

/**
 * A one-line reason for a gap record: `denied: AccessDeniedException: …`. An answer the SDK could
 * not parse is named by its HTTP status, not by the parser's message and its advice to inspect
 * `$response`.
 */
export function gapReason(err: unknown): string {
  const e = err as AwsLikeError
  const kind = classifyFailure(err)
  const unparsed = unparsedAnswer(err)
  if (unparsed) return `${kind}: ${unparsed}`
  const message = (e?.message ?? '').replace(/\s*\n\s*/g, ' ').trim()
  return scrubAndCut(`${kind}: ${errorName(err)}${message ? `: ${message}` : ''}`, 500, '')
}

/**
 * What a quota an IAM action ran into is, and what to do about it, by the action (AWS names only
 * the error): the limit, said in its own words, then the ways out.
 */
const QUOTA_ADVICE: Readonly<Record<string, { limit: string; actions: string[] }>> = {
  'iam:PutRolePolicy': {
    limit:
      "the role is at IAM's inline policy size limit: all of a role's inline policies together may hold 10,240 characters (whitespace not counted), and this one does not fit",
    actions: [
      'make room: delete or shorten an inline policy of the role that is not needed (aws iam list-role-policies lists them), then run this command again',
      'or put the same document in a managed policy and attach that to the role (aws iam create-policy, then aws iam attach-role-policy)',
    ],
  },
}

/**
 * A service handed back a page marker (Lambda's NextMarker, CloudWatch Logs' nextToken) it had
 * already given: following it would loop forever, and stopping leaves the list incomplete. Thrown
 * after the pages already received were handed on, so the caller keeps them and records the rest
 * as missing (a gap naming the list call).
 */
export class RepeatedPageMarkerError extends FirError {
  constructor(service: string, pages: number) {
    super(
      'repeated-page-marker',
      `${service} returned a page marker it had already returned, after ${pages} page${pages === 1 ? '' : 's'}: the list stops there and may be incomplete`,
      { exitCode: ExitCode.gaps },
    )
  }
}

/**
 * Turns an SDK error into fir's error with next steps. `iamAction` is the permission the call
 * needs (e.g. `lambda:GetFunction`), named when AWS denies it, and the error's `call` whatever the
 * failure (a gap names it).
 */
export function toFirError(err: unknown, iamAction: string, what: string): FirError {
  if (err instanceof FirError) return err
  const name = errorName(err)
  const e = err as AwsLikeError
  const msg = e?.message ?? String(err)
  const kind = classifyFailure(err)
  const unparsed = unparsedAnswer(err)
  const detail = unparsed ?? `${name}: ${msg}`
  if (kind === 'denied') {
    return new AccessDeniedError(`unable to ${what}: AWS denied ${iamAction} (${detail})`, [iamAction], {
      cause: err,
      call: iamAction,
    })
  }
  if (kind === 'not-found')
    return new NotFoundError(`unable to ${what}: ${msg}`, {
      cause: err,
      call: iamAction,
      actions: ['check the name, the region (--region) and the account'],
    })
  if (kind === 'quota') {
    const advice = QUOTA_ADVICE[iamAction]
    return new FirError(
      'limit-exceeded',
      `unable to ${what}: ${advice?.limit ?? `an AWS quota is reached (${iamAction})`}; waiting will not clear it (${detail})`,
      {
        cause: err,
        call: iamAction,
        actions: advice?.actions ?? [
          'remove what fills the quota, or raise it (Service Quotas), then run this command again',
        ],
      },
    )
  }
  if (kind === 'unimplemented') {
    return new FirError(
      'unimplemented',
      `unable to ${what}: ${unparsed ?? `the endpoint does not implement ${iamAction} (${detail})`}`,
      {
        cause: err,
        call: iamAction,
        actions: [
          `check --endpoint-url / AWS_ENDPOINT_URL, HTTPS_PROXY and --region: the endpoint that answered does not serve ${iamAction}`,
        ],
      },
    )
  }
  if (unparsed) {
    return new FirError('aws-error', `unable to ${what}: ${unparsed}`, {
      cause: err,
      call: iamAction,
      actions: [
        'run again; if it persists, check --endpoint-url / AWS_ENDPOINT_URL and HTTPS_PROXY (something other than AWS answered), then run `fir doctor`',
      ],
    })
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials|credential/i.test(name)) {
    return new AwsAccessError('no-credentials', `unable to ${what}: no AWS credentials were found (${msg})`, {
      cause: err,
      call: iamAction,
      actions: [
        'set AWS_PROFILE or pass --profile with a configured profile (aws configure / aws configure sso)',
        'or run `aws sso login --profile <profile>` if the profile uses IAM Identity Center',
        'or export AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)',
      ],
    })
  }
  // Before the expired check: a "Signature expired: … is now earlier than …" (Lambda's
  // InvalidSignatureException, STS's SignatureDoesNotMatch) is the clock's fault, not the credentials'.
  if (
    (SKEW.has(name) && /skew|time|expired/i.test(msg)) ||
    /Signature (expired|not yet current)/i.test(msg)
  ) {
    return new AwsAccessError(
      'clock-skew',
      `unable to ${what}: this machine's clock is too far from AWS's (${msg})`,
      {
        cause: err,
        call: iamAction,
        actions: ['synchronise the system clock (e.g. `timedatectl set-ntp true`), then run again'],
      },
    )
  }
  if (EXPIRED.has(name) || /expired/i.test(msg)) {
    return new AwsAccessError(
      'expired-credentials',
      `unable to ${what}: the AWS credentials have expired (${name})`,
      {
        cause: err,
        call: iamAction,
        actions: [
          'refresh them: `aws sso login --profile <profile>`, or obtain a new session token',
          'then run this command again',
        ],
      },
    )
  }
  if (BAD_CREDS.has(name) || SKEW.has(name)) {
    return new AwsAccessError(
      'invalid-credentials',
      `unable to ${what}: AWS rejected the credentials (${name}: ${msg})`,
      {
        cause: err,
        call: iamAction,
        actions: [
          'check AWS_PROFILE / --profile and the access key in use (`fir doctor` shows which identity is used)',
        ],
      },
    )
  }
  if (kind === 'network') {
    return new AwsAccessError(
      'unreachable',
      `unable to ${what}: the AWS endpoint could not be reached (${msg})`,
      {
        cause: err,
        call: iamAction,
        actions: [
          'check --region (an unknown region has no endpoint) and --endpoint-url',
          'check network access and HTTPS_PROXY',
        ],
      },
    )
  }
  if (/Region is missing/i.test(msg)) {
    return new AwsAccessError('no-region', `unable to ${what}: no AWS region is set`, {
      cause: err,
      call: iamAction,
      actions: ['pass --region, set AWS_REGION, or set a region in the profile'],
    })
  }
  return new FirError('aws-error', `unable to ${what}: ${name}: ${msg}`, {
    cause: err,
    call: iamAction,
    actions: ['run again; if it persists, run `fir doctor` and check the AWS service health'],
  })
}
