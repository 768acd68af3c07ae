import type { AwsClients } from '../aws/clients.js'
import { classifyFailure, gapReason } from '../aws/errors.js'
import { describeOrganization } from '../aws/organizations.js'
import { type CallerIdentity, getCallerIdentity } from '../aws/sts.js'
import { NotFoundError, UsageError } from '../errors.js'
import { setActorArn } from './case/journal.js'
import { redactUrlPasswords } from './common/redact.js'
import { awsCliCommand } from './common/suggest.js'
import { escapeTerminal } from './common/text.js'
import type { FirContext } from './context.js'

const identities = new WeakMap<AwsClients, Promise<CallerIdentity>>()

/** The caller (GetCallerIdentity), asked once per client set; the ARN is stamped on journal entries. */
export function callerIdentity(aws: AwsClients): Promise<CallerIdentity> {
  let p = identities.get(aws)
  if (!p) {
    p = getCallerIdentity(aws).then((id) => {
      setActorArn(id.arn)
      return id
    })
    p.catch(() => identities.delete(aws))
    identities.set(aws, p)
  }
  return p
}

/**
 * What fir knows of the organisation of the caller's account (the account it acts in): a member
 * of organisation `id`, in no organisation, or unknown (DescribeOrganization failed: `reason`).
 * An aws:PrincipalOrgID condition narrows a resource policy only to an organisation known to be
 * the account's own.
 */
export type AccountOrganisation =
  | { state: 'member'; id: string }
  | { state: 'none' }
  | { state: 'unknown'; reason: string }

/** Reads DescribeOrganization's answer, or its failure, as {@link AccountOrganisation}. */
export function organisationFrom(
  answer: { Organization?: { Id?: string } } | { failure: unknown },
): AccountOrganisation {
  if ('failure' in answer) {
    // Adapters wrap SDK errors in fir's, keeping the SDK's as `cause`.
    const cause = (answer.failure as { cause?: unknown })?.cause ?? answer.failure
    if (classifyFailure(cause) === 'not-found') return { state: 'none' }
    return { state: 'unknown', reason: gapReason(cause) }
  }
  const id = answer.Organization?.Id
  return id ? { state: 'member', id } : { state: 'unknown', reason: 'the answer named no organisation id' }
}

const organisations = new WeakMap<AwsClients, Promise<AccountOrganisation>>()

/**
 * The organisation of the caller's account (`account`, for the gap's wording), asked once per
 * client set. A failed call is a gap (the command exits 4) and the answer 'unknown', never a guess.
 * IAM: organizations:DescribeOrganization (any member account may call it).
 */
export function accountOrganisation(
  ctx: FirContext,
  aws: AwsClients,
  account: string,
): Promise<AccountOrganisation> {
  let p = organisations.get(aws)
  if (!p) {
    p = (async () => {
      let org: AccountOrganisation
      try {
        org = organisationFrom(await describeOrganization(aws))
      } catch (failure) {
        org = organisationFrom({ failure })
      }
      if (org.state === 'unknown') {
        ctx.gaps.add({
          what: `organisation of account ${account} (to check aws:PrincipalOrgID conditions)`,
          call: 'organizations:DescribeOrganization',
          reason: org.reason,
        })
      }
      return org
    })()
    organisations.set(aws, p)
  }
  return p
}

const announced = new WeakSet<AwsClients>()

/**
 * Prints (stderr) and journals who fir acts as, in which account and region, before the first
 * change a command makes (DESIGN §1). Once per client set.
 */
export async function announceActing(
  ctx: FirContext,
  aws: AwsClients = ctx.aws,
  targets: readonly string[] = [],
): Promise<CallerIdentity> {
  const id = await callerIdentity(aws)
  if (announced.has(aws)) return id
  announced.add(aws)
  // The regions of the resources about to change (a function named by its ARN is changed in its
  // own region, whatever the default): the banner named the default region instead.
  const targetRegions = [...new Set(targets.map((t) => parseArn(t)?.region ?? '').filter(Boolean))]
  const region = targetRegions.length > 0 ? targetRegions.join(', ') : aws.region
  // An endpoint may carry a password (http://user:password@host): shown and journaled without it.
  const endpoint = aws.endpoint === undefined ? undefined : redactUrlPasswords(aws.endpoint)
  const services = Object.fromEntries(
    Object.entries(aws.serviceEndpoints).map(([service, url]) => [service, redactUrlPasswords(url)]),
  )
  const where = [
    ...(endpoint ? [` via ${endpoint}`] : []),
    ...Object.entries(services).map(([service, url]) => `, ${service} via ${url}`),
  ].join('')
  ctx.log.info(
    `fir: acting as ${id.arn} in account ${id.account}, ${targetRegions.length > 1 ? 'regions' : 'region'} ${region}${where}`,
  )
  await ctx.case.journal.append({
    action: 'aws.identity',
    target: id.arn,
    params: {
      account: id.account,
      region: targetRegions[0] ?? aws.region,
      ...(targetRegions.length > 1 ? { regions: targetRegions } : {}),
      endpoint: endpoint ?? null,
      ...(Object.keys(services).length > 0 ? { serviceEndpoints: services } : {}),
      userId: id.userId,
    },
    outcome: 'recorded',
  })
  return id
}

/** Parsed parts of an ARN, or undefined when the string is not an ARN. */
export function parseArn(
  arn: string,
): { partition: string; service: string; region: string; account: string; resource: string } | undefined {
  const m = arn.match(/^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|):(.+)$/)
  if (!m) return undefined
  return { partition: m[1]!, service: m[2]!, region: m[3]!, account: m[4]!, resource: m[5]! }
}

/** A Lambda function's ARN without its version or alias (`arn:aws:lambda:<region>:<account>:function:<name>`). */
export function unqualifiedFunctionArn(arn: string): string {
  return arn.split(':').slice(0, 7).join(':')
}

/**
 * Whether `arn` (a mapping's FunctionArn, say) is the function `functionArn` names or one of its
 * versions or aliases: the same region, account and name, with or without a qualifier. The
 * partition is not compared: the region decides it.
 */
export function isFunctionOrQualifier(arn: string, functionArn: string): boolean {
  const own = unqualifiedFunctionArn(functionArn).split(':')
  const other = unqualifiedFunctionArn(arn).split(':')
  return (
    own.length === 7 &&
    other[0] === 'arn' &&
    other[5] === 'function' &&
    other.slice(2).join(':') === own.slice(2).join(':')
  )
}

/** Refuses to act on an ARN of another account than the caller's (DESIGN §1). */
export async function assertSameAccount(aws: AwsClients, arn: string): Promise<void> {
  const parsed = parseArn(arn)
  if (!parsed?.account || parsed.account === 'aws') return
  const id = await callerIdentity(aws)
  if (id.account && parsed.account !== id.account) {
    throw new UsageError(
      `unable to act on ${arn}: it is in account ${parsed.account}, but the caller ${id.arn} is in account ${id.account}`,
      {
        actions: [
          `pass --role-arn arn:aws:iam::${parsed.account}:role/<responder role> to act in that account`,
        ],
      },
    )
  }
}

/**
 * Reads an IAM user or role with `read`; when IAM has none of that name, says so: the account fir
 * acts in (the caller's, or --role-arn's) has no such user or role. IAM is global, so the region
 * plays no part (the general not-found advice to check --region does not fit).
 */
export async function readIamEntity<T>(
  aws: AwsClients,
  kind: 'user' | 'role',
  name: string,
  read: () => Promise<T>,
): Promise<T> {
  try {
    return await read()
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err
    throw await noSuchIamEntity(aws, kind, name, err)
  }
}

/** The error for an IAM user or role the account does not have, naming the account. */
export async function noSuchIamEntity(
  aws: AwsClients,
  kind: 'user' | 'role',
  name: string,
  cause?: unknown,
): Promise<NotFoundError> {
  const account = await callerIdentity(aws).then(
    (id) => id.account,
    () => undefined,
  )
  const list =
    kind === 'user'
      ? awsCliCommand(['iam', 'list-users', '--query', 'Users[].UserName'], aws)
      : awsCliCommand(['iam', 'list-roles', '--query', 'Roles[].RoleName'], aws)
  const shown = escapeTerminal(name)
  return new NotFoundError(
    `unable to read ${kind} ${shown}: ${account ? `account ${account}` : 'the account fir acts in'} has no IAM ${kind} named ${shown} (IAM is global: the region plays no part)`,
    {
      cause,
      actions: [
        `check the name; the account's ${kind}s: ${list}`,
        `a ${kind} of another account: pass --profile, or --role-arn with a role in that account`,
      ],
    },
  )
}
