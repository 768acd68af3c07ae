import type { AwsClients } from '../../aws/clients.js'
import { classifyFailure } from '../../aws/errors.js'
import {
  type FunctionConfiguration,
  type GetFunctionCommandOutput,
  getFunction,
  type ListFunctionsCommandOutput,
  listFunctions,
} from '../../aws/lambda.js'
import { NotFoundError, UsageError } from '../../errors.js'
import { isRoleName } from '../common/iam-name.js'
import { awsCliCommand, flag } from '../common/suggest.js'
import { escapeTerminal } from '../common/text.js'
import { assertSameAccount, parseArn } from '../identity.js'
import type { RegionPacers } from './pacing.js'
import { roleNameOf } from './role.js'

/** A function named on the command line, parsed. */
export interface FunctionRef {
  name: string
  region?: string
  account?: string
  qualifier?: string
  /** What the user typed. */
  input: string
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/
const QUALIFIER = /^(\$LATEST|[0-9]{1,10}|[A-Za-z0-9_-]{1,128})$/

/**
 * Parses a function name, `name:qualifier`, a partial ARN (`123456789012:function:name`) or a full
 * ARN (`arn:aws:lambda:region:account:function:name[:qualifier]`; it sets region and account).
 */
export function parseFunctionRef(input: string): FunctionRef {
  const bad = () =>
    new UsageError(
      `unable to read function ${JSON.stringify(escapeTerminal(input))}: it is not a function name or ARN`,
      {
        actions: [
          'pass a name (my-function), a partial ARN (123456789012:function:my-function) or a full ARN',
        ],
      },
    )
  if (input.startsWith('arn:')) {
    const arn = parseArn(input)
    const m = arn?.resource.match(/^function:([^:]+)(?::([^:]+))?$/)
    if (arn?.service !== 'lambda' || !m || !NAME.test(m[1]!) || !arn.region) throw bad()
    if (m[2] !== undefined && !QUALIFIER.test(m[2])) throw bad()
    return {
      name: m[1]!,
      region: arn.region,
      account: arn.account,
      ...(m[2] ? { qualifier: m[2] } : {}),
      input,
    }
  }
  const partial = input.match(/^(\d{12}):function:([^:]+)(?::([^:]+))?$/)
  if (partial) {
    if (!NAME.test(partial[2]!) || (partial[3] !== undefined && !QUALIFIER.test(partial[3]))) throw bad()
    return {
      name: partial[2]!,
      account: partial[1]!,
      ...(partial[3] ? { qualifier: partial[3] } : {}),
      input,
    }
  }
  const [name, qualifier, extra] = input.split(':')
  if (
    extra !== undefined ||
    !name ||
    !NAME.test(name) ||
    (qualifier !== undefined && !QUALIFIER.test(qualifier))
  )
    throw bad()
  return { name, ...(qualifier ? { qualifier } : {}), input }
}

/** A resolved target before the evidence set exists: what was fetched is kept to be stored. */
export interface ResolvedTarget {
  name: string
  region: string
  account: string
  qualifier?: string
  /** The GetFunction made to check the function exists (named functions only). */
  check?: { qualifier: string; at: number; value?: GetFunctionCommandOutput; error?: unknown }
}

/** ListFunctions pages (or the failure) of one region, kept until the set exists. */
export interface Discovery {
  region: string
  pages: ListFunctionsCommandOutput[]
  error?: unknown
}

/**
 * The role `--all-using-role` names: a role name or an ARN (true when an ARN), refused otherwise
 * before any call.
 */
export function checkRoleChoice(wanted: string): boolean {
  const byArn = wanted.startsWith('arn:')
  if (!byArn && !isRoleName(wanted)) {
    throw new UsageError(
      `unable to use role ${JSON.stringify(escapeTerminal(wanted))}: it is not a role name or ARN`,
      {
        actions: [
          'pass --all-using-role with a role name (my-role) or ARN (arn:aws:iam::123456789012:role/my-role)',
        ],
      },
    )
  }
  return byArn
}

/**
 * Resolves the functions to snapshot: each named function (a full ARN sets region and account, and
 * another account is refused), checked with GetFunction — a function that does not exist is a usage
 * error (exit 2) before anything is written; with `allUsingRole`, every function in `regions` whose
 * execution role is that role (ListFunctions).
 */
export async function resolveTargets(
  aws: AwsClients,
  pacers: RegionPacers,
  opts: { functions: string[]; qualifier?: string; allUsingRole?: string; regions?: string[] },
  callerAccount: string,
): Promise<{ targets: ResolvedTarget[]; discovery: Discovery[]; notes: string[] }> {
  const parsed = opts.functions.map(parseFunctionRef)
  refuseTwoQualifiers(parsed, opts.qualifier)
  for (const ref of parsed) {
    if (ref.account && ref.account !== callerAccount) {
      await assertSameAccount(
        aws,
        `arn:aws:lambda:${ref.region ?? aws.region}:${ref.account}:function:${ref.name}`,
      )
    }
  }
  const { refs, notes } = sameFunctionOnce(parsed, aws.region, callerAccount, opts.qualifier)
  const targets: ResolvedTarget[] = []
  const missing: { text: string; region: string }[] = []
  /** Functions that exist without the version or alias asked for. */
  const noQualifier: { input: string; name: string; region: string; qualifier: string; named: boolean }[] = []
  await Promise.all(
    refs.map(async (ref) => {
      const region = ref.region ?? aws.region
      const qualifier = ref.qualifier ?? opts.qualifier
      const checkQualifier = qualifier ?? '$LATEST'
      const t: ResolvedTarget = {
        name: ref.name,
        region,
        account: callerAccount,
        ...(qualifier ? { qualifier } : {}),
      }
      await pacers.for(region).take()
      try {
        const value = await getFunction(aws.forRegion(region), ref.name, checkQualifier)
        t.check = { qualifier: checkQualifier, at: Date.now(), value }
      } catch (err) {
        if (classifyFailure((err as { cause?: unknown }).cause ?? err) === 'not-found') {
          // Lambda answers the same for a missing function and a missing version or alias of one
          // that exists: ask for $LATEST to tell them apart.
          if (qualifier && qualifier !== '$LATEST' && (await functionExists(aws, pacers, region, ref.name))) {
            noQualifier.push({ input: ref.input, name: ref.name, region, qualifier, named: !ref.qualifier })
            return
          }
          missing.push({
            text: `${escapeTerminal(ref.input)}${qualifier && !ref.qualifier ? ` (qualifier ${qualifier})` : ''} in ${region}`,
            region,
          })
          return
        }
        t.check = { qualifier: checkQualifier, at: Date.now(), error: err }
      }
      targets.push(t)
    }),
  )
  if (missing.length > 0 || noQualifier.length > 0) {
    const missingRegions = new Set(missing.map((m) => m.region)).size
    const qualifiers = noQualifier.map(
      (q) =>
        `${escapeTerminal(q.input)}${q.named ? ` (qualifier ${escapeTerminal(q.qualifier)})` : ''} in ${q.region}: the function exists, but has no version or alias ${escapeTerminal(q.qualifier)}`,
    )
    throw new NotFoundError(
      `unable to snapshot ${[...(missing.length > 0 ? [`${missing.map((m) => m.text).join(', ')}: no such function`] : []), ...qualifiers].join('; ')}`,
      {
        actions: [
          ...(missing.length > 0
            ? [
                'check the name and --region (a full ARN sets the region)',
                // In the region each was looked for in, through the same profile and endpoint.
                ...[...new Set(missing.map((m) => m.region))].map(
                  (region) =>
                    `list the functions${missingRegions > 1 ? ` of ${region}` : ''}: ${awsCliCommand(['lambda', 'list-functions', '--query', 'Functions[].FunctionName'], aws, { region })}`,
                ),
              ]
            : []),
          ...noQualifier.flatMap((q) => [
            `see the versions of ${q.name}: ${awsCliCommand(['lambda', 'list-versions-by-function', flag('--function-name', q.name), '--query', 'Versions[].Version'], aws, { region: q.region })}`,
            `and its aliases: ${awsCliCommand(['lambda', 'list-aliases', flag('--function-name', q.name), '--query', 'Aliases[].Name'], aws, { region: q.region })}`,
          ]),
          ...(noQualifier.length > 0
            ? [
                'or leave the qualifier out: every version and alias is collected anyway, and the summary describes $LATEST',
              ]
            : []),
        ],
      },
    )
  }

  const discovery: Discovery[] = []
  if (opts.allUsingRole) {
    const wanted = opts.allUsingRole
    const byArn = checkRoleChoice(wanted)
    // IAM role names are unique whatever their letter case (an ARN spells the role's own case):
    // `Shared-Role` is the role `shared-role`, not no role.
    const lower = wanted.toLowerCase()
    const matches = (fn: FunctionConfiguration) =>
      Boolean(fn.Role) &&
      (byArn ? fn.Role!.toLowerCase() === lower : roleNameOf(fn.Role!).toLowerCase() === lower)
    const regions = opts.regions?.length ? opts.regions : [aws.region]
    await Promise.all(
      regions.map(async (region) => {
        const d: Discovery = { region, pages: [] }
        discovery.push(d)
        try {
          await listFunctions(
            aws.forRegion(region),
            (page) => {
              d.pages.push(page)
            },
            () => pacers.for(region).take(),
          )
        } catch (err) {
          d.error = err
        }
        for (const fn of d.pages.flatMap((p) => p.Functions ?? [])) {
          if (!fn.FunctionName || !matches(fn)) continue
          if (targets.some((t) => t.name === fn.FunctionName && t.region === region)) continue
          targets.push({
            name: fn.FunctionName,
            region,
            account: parseArn(fn.FunctionArn ?? '')?.account || callerAccount,
            ...(opts.qualifier ? { qualifier: opts.qualifier } : {}),
          })
        }
      }),
    )
    discovery.sort((a, b) => a.region.localeCompare(b.region))
  }
  // One function for several qualifiers: in qualifier order, not the order GetFunction answered.
  targets.sort(
    (a, b) =>
      a.region.localeCompare(b.region) ||
      a.name.localeCompare(b.name) ||
      (a.qualifier ?? '$LATEST').localeCompare(b.qualifier ?? '$LATEST'),
  )
  return { targets, discovery, notes }
}

/**
 * A function named with a qualifier (`f:prod`, an ARN ending `:prod`) and a different --qualifier
 * is refused (a usage error): which one the summary should describe cannot be guessed.
 */
function refuseTwoQualifiers(refs: readonly FunctionRef[], qualifier: string | undefined): void {
  if (qualifier === undefined) return
  const both = refs.filter((r) => r.qualifier !== undefined && r.qualifier !== qualifier)
  if (both.length === 0) return
  const q = escapeTerminal(qualifier)
  const named = both.map((r) => escapeTerminal(r.input)).join(' ')
  throw new UsageError(
    `unable to snapshot ${both.map((r) => escapeTerminal(r.input)).join(', ')} with --qualifier ${q}: ${both.map((r) => `${escapeTerminal(r.input)} names qualifier ${escapeTerminal(r.qualifier)}`).join(', ')}, and --qualifier names ${q} (the summary describes one)`,
    {
      actions: [
        `to summarise the qualifier in the function, leave --qualifier out: ${named}`,
        `to summarise ${q}, name the function without a qualifier: ${both.map((r) => escapeTerminal(unqualified(r))).join(' ')} --qualifier ${q}`,
        'either way every version and alias is collected',
      ],
    },
  )
}

/** What the user typed, without its qualifier (`f:prod` → `f`). */
function unqualified(ref: FunctionRef): string {
  return ref.qualifier !== undefined && ref.input.endsWith(`:${ref.qualifier}`)
    ? ref.input.slice(0, -(ref.qualifier.length + 1))
    : ref.name
}

/**
 * Functions named more than once — `f f`, `f arn:…:function:f`, `f 123456789012:function:f`,
 * `f f:$LATEST` — are one target: same name, region, account and qualifier (none is `$LATEST`, as
 * the summary then describes $LATEST). Each such repetition is said in a note.
 */
function sameFunctionOnce(
  refs: FunctionRef[],
  defaultRegion: string,
  callerAccount: string,
  qualifier: string | undefined,
): { refs: FunctionRef[]; notes: string[] } {
  const seen = new Map<string, FunctionRef[]>()
  for (const ref of refs) {
    const region = ref.region ?? defaultRegion
    const key = [
      ref.name,
      region,
      ref.account ?? callerAccount,
      ref.qualifier ?? qualifier ?? '$LATEST',
    ].join(' ')
    seen.set(key, [...(seen.get(key) ?? []), ref])
  }
  const notes: string[] = []
  for (const same of seen.values()) {
    if (same.length < 2) continue
    const first = same[0]!
    notes.push(
      `${[...new Set(same.map((r) => escapeTerminal(r.input)))].join(', ')} name the same function (${first.name}, qualifier ${escapeTerminal(first.qualifier ?? qualifier ?? '$LATEST')}, in ${first.region ?? defaultRegion}): it is snapshotted once`,
    )
  }
  return { refs: [...seen.values()].map((same) => same[0]!), notes }
}

/** Does the function exist ($LATEST)? undefined when Lambda would not say (denied, failing). */
async function functionExists(
  aws: AwsClients,
  pacers: RegionPacers,
  region: string,
  name: string,
): Promise<boolean | undefined> {
  await pacers.for(region).take()
  try {
    await getFunction(aws.forRegion(region), name, '$LATEST')
    return true
  } catch (err) {
    return classifyFailure((err as { cause?: unknown }).cause ?? err) === 'not-found' ? false : undefined
  }
}
