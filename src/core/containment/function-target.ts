import type { AwsClients } from '../../aws/clients.js'
import {
  type GetFunctionConfigurationCommandOutput,
  getFunctionConfiguration,
} from '../../aws/lambda-containment.js'
import { UsageError } from '../../errors.js'
import { leakedValueHashes } from '../case/secrets.js'
import { protectFunctionIdentifiers, registerEnvironmentSecrets } from '../common/redact.js'
import { escapeTerminal } from '../common/text.js'
import type { FirContext } from '../context.js'
import { assertSameAccount, parseArn } from '../identity.js'
import { type GoneTarget, isDeleted } from '../steps/define-step.js'

/** The function a containment acts on, as Lambda reports it. */
export interface FunctionTarget {
  name: string
  arn: string
  region: string
  account: string
  roleArn: string
  roleName: string
}

/** Params every containment step is journaled with: enough for undo to find the function again. */
export interface FunctionParams extends Record<string, unknown> {
  function: string
  functionArn: string
  region: string
}

const NAME = /^[A-Za-z0-9_-]{1,140}$/
const PARTIAL = /^(\d{12}):function:([A-Za-z0-9_-]{1,140})(?::(.+))?$/

/** Splits `<function>` (name, partial ARN or full ARN) into name, region and account (DESIGN §1). */
export function parseFunctionRef(input: string): { name: string; region?: string; account?: string } {
  const bad = (why: string) =>
    new UsageError(`unable to use function ${JSON.stringify(escapeTerminal(input))}: ${why}`, {
      actions: [
        'pass a function name (my-function), a partial ARN (123456789012:function:my-function) or a full ARN',
      ],
    })
  let name: string
  let qualifier: string | undefined
  let region: string | undefined
  let account: string | undefined
  if (input.startsWith('arn:')) {
    const arn = parseArn(input)
    const m = arn?.resource.match(/^function:([A-Za-z0-9_-]{1,140})(?::(.+))?$/)
    if (arn?.service !== 'lambda' || !m) throw bad('it is not a Lambda function ARN')
    name = m[1]!
    qualifier = m[2]
    region = arn.region
    account = arn.account
  } else if (PARTIAL.test(input)) {
    const m = input.match(PARTIAL)!
    account = m[1]
    name = m[2]!
    qualifier = m[3]
  } else {
    const [n, q, ...rest] = input.split(':')
    if (rest.length > 0 || !n || !NAME.test(n)) throw bad('it is not a function name or ARN')
    name = n
    qualifier = q
  }
  if (qualifier !== undefined) {
    throw bad(
      'containment acts on the whole function (every version and alias), so it takes the function without a version or alias',
    )
  }
  return { name, ...(region ? { region } : {}), ...(account ? { account } : {}) }
}

/** The context for the function's region (a full ARN picks the region). */
export function contextForRegion(ctx: FirContext, region: string): FirContext {
  return region === ctx.aws.region ? ctx : { ...ctx, aws: ctx.aws.forRegion(region) }
}

/** Regional clients for a journaled region. */
export function regionalAws(ctx: FirContext, region: unknown): AwsClients {
  return typeof region === 'string' && region ? ctx.aws.forRegion(region) : ctx.aws
}

/**
 * The function's configuration (GetFunctionConfiguration), its public identifiers protected and its
 * environment's secret values registered with the redactor first (those the case's sweeps declared leaked among them):
 * containment prints and journals plan rows and prior states (a description quoting a secret)
 * before the snapshot contain takes registers them, and a dry run takes none. Every containment
 * read of a function's configuration goes through here.
 */
export async function readFunctionConfiguration(
  ctx: FirContext,
  aws: AwsClients,
  fn: string,
): Promise<GetFunctionConfigurationCommandOutput> {
  const cfg = await getFunctionConfiguration(aws, fn)
  protectFunctionIdentifiers(cfg)
  registerEnvironmentSecrets(cfg.Environment?.Variables, leakedValueHashes(ctx.case.journal.all()))
  return cfg
}

/**
 * A containment step's targetGone (see StepSpec): the function, when Lambda answers
 * not-found for the function an undo record names (deleted since fir changed it), null when it is
 * there or the read failed otherwise (denied, throttled: not known to be gone).
 * IAM: lambda:GetFunctionConfiguration.
 */
export async function deletedFunction(
  ctx: FirContext,
  record: { params: Record<string, unknown> },
): Promise<GoneTarget | null> {
  const fn = String(record.params.function)
  const aws = regionalAws(ctx, record.params.region)
  return (await isDeleted(() => getFunctionConfiguration(aws, fn))) ? { kind: 'function', name: fn } : null
}

/**
 * Resolves `<function>` against Lambda: refuses another account's ARN (use --role-arn), and
 * returns the function's ARN and execution role.
 */
export async function resolveFunction(ctx: FirContext, input: string): Promise<FunctionTarget> {
  const ref = parseFunctionRef(input)
  const region = ref.region ?? ctx.aws.region
  const aws = ctx.aws.forRegion(region)
  if (input.startsWith('arn:')) await assertSameAccount(aws, input)
  else if (ref.account)
    await assertSameAccount(aws, `arn:aws:lambda:${region}:${ref.account}:function:${ref.name}`)
  const cfg = await readFunctionConfiguration(ctx, aws, ref.name)
  const arn = cfg.FunctionArn ?? ''
  const roleArn = cfg.Role ?? ''
  return {
    name: cfg.FunctionName ?? ref.name,
    arn,
    region,
    account: parseArn(arn)?.account ?? '',
    roleArn,
    roleName: roleArn.split('/').at(-1) ?? '',
  }
}

export function functionParams(target: FunctionTarget): FunctionParams {
  return { function: target.name, functionArn: target.arn, region: target.region }
}
