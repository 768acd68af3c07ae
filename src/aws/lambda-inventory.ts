import type { FunctionConfiguration } from '@aws-sdk/client-lambda'
import type { AwsClients } from './clients.js'
import { classifyFailure, errorName, httpStatus } from './errors.js'
import { environmentError } from './lambda.js'
import { sdk } from './sdk.js'

/** Called before every request (org sweeps pace each account's control-plane calls). */
export type BeforeRequest = () => Promise<void>

interface StackLike {
  add(middleware: unknown, options: Record<string, unknown>): void
}
const paced = new WeakSet<object>()

/**
 * Makes every request of this client set's Lambda (and, with `sts`, STS) client wait for `before`
 * — on the wire, after signing and once per attempt, so SDK retries are paced too. Once per
 * client set.
 */
export function paceRequests(aws: AwsClients, before: BeforeRequest, options: { sts?: boolean } = {}): void {
  if (paced.has(aws)) return
  paced.add(aws)
  const clients = options.sts ? [aws.lambda, aws.sts] : [aws.lambda]
  for (const client of clients as unknown as { middlewareStack: StackLike }[]) {
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
        await before()
        return next(args)
      },
      { step: 'finalizeRequest', priority: 'low', name: 'firAccountPacing' },
    )
  }
}

/** The fields of a function version an org sweep matches indicators against. */
export interface InventoryFunction {
  name: string
  arn: string
  version: string
  role: string
  runtime?: string
  packageType?: string
  codeSha256: string
  lastModified?: string
  layers: string[]
  /** Environment variable values as returned by ListFunctions (secrets: never print them). */
  environment: Record<string, string>
  /** Set when Lambda could not decrypt the environment (a KMS key the caller cannot use). */
  environmentError?: string
}

function toInventory(f: FunctionConfiguration): InventoryFunction {
  const envError = environmentError(f.Environment)
  return {
    name: f.FunctionName ?? '',
    arn: f.FunctionArn ?? '',
    version: f.Version ?? '$LATEST',
    role: f.Role ?? '',
    runtime: f.Runtime,
    packageType: f.PackageType,
    codeSha256: f.CodeSha256 ?? '',
    lastModified: f.LastModified,
    layers: (f.Layers ?? []).map((l) => l.Arn ?? '').filter(Boolean),
    environment: { ...(f.Environment?.Variables ?? {}) },
    ...(envError ? { environmentError: envError } : {}),
  }
}

/**
 * Every function version in the client's account and region (ListFunctions with
 * FunctionVersion=ALL, all pages). `onPage` receives each page as it arrives, so a failure on a
 * later page loses nothing already read; the error is rethrown as the SDK raised it.
 */
export async function listFunctionVersions(
  aws: AwsClients,
  options: { onPage?: (page: InventoryFunction[]) => void } = {},
): Promise<InventoryFunction[]> {
  const out: InventoryFunction[] = []
  let marker: string | undefined
  do {
    const page = await aws.lambda.send(
      new (sdk.lambda().ListFunctionsCommand)({ FunctionVersion: 'ALL', Marker: marker, MaxItems: 50 }),
    )
    const items = (page.Functions ?? []).map(toInventory)
    out.push(...items)
    options.onPage?.(items)
    marker = page.NextMarker
  } while (marker)
  return out
}

/**
 * The resource policy document (JSON text) of the function, or of one of its versions or aliases
 * (`qualifier`: each has a policy of its own), or undefined when it has none.
 */
export async function getFunctionPolicyText(
  aws: AwsClients,
  functionName: string,
  qualifier?: string,
): Promise<string | undefined> {
  try {
    const out = await aws.lambda.send(
      new (sdk.lambda().GetPolicyCommand)({
        FunctionName: functionName,
        ...(qualifier ? { Qualifier: qualifier } : {}),
      }),
    )
    return out.Policy
  } catch (err) {
    if (classifyFailure(err) === 'not-found') return undefined
    throw err
  }
}

/** The function's URL configs (unqualified and per alias): URL, AuthType and qualifier. */
export async function listFunctionUrls(
  aws: AwsClients,
  functionName: string,
): Promise<{ urls: { url: string; authType: string; arn: string }[]; unqualifiedOnly: boolean }> {
  const urls: { url: string; authType: string; arn: string }[] = []
  let marker: string | undefined
  do {
    try {
      const page = await aws.lambda.send(
        new (sdk.lambda().ListFunctionUrlConfigsCommand)({ FunctionName: functionName, Marker: marker }),
      )
      for (const c of page.FunctionUrlConfigs ?? []) {
        urls.push({ url: c.FunctionUrl ?? '', authType: c.AuthType ?? '', arn: c.FunctionArn ?? '' })
      }
      marker = page.NextMarker
    } catch (err) {
      if (errorName(err) === 'ResourceNotFoundException') return { urls, unqualifiedOnly: false }
      // An endpoint without the ListFunctionUrlConfigs route (moto) answers a bare 404 or 501:
      // fall back to the unqualified URL config and say that alias URLs were not read.
      if (classifyFailure(err) === 'unimplemented' || httpStatus(err) === 404) {
        return { urls: await getUnqualifiedUrl(aws, functionName), unqualifiedOnly: true }
      }
      throw err
    }
  } while (marker)
  return { urls, unqualifiedOnly: false }
}

async function getUnqualifiedUrl(
  aws: AwsClients,
  functionName: string,
): Promise<{ url: string; authType: string; arn: string }[]> {
  try {
    const c = await aws.lambda.send(
      new (sdk.lambda().GetFunctionUrlConfigCommand)({ FunctionName: functionName }),
    )
    return [{ url: c.FunctionUrl ?? '', authType: c.AuthType ?? '', arn: c.FunctionArn ?? '' }]
  } catch (err) {
    if (classifyFailure(err) === 'not-found') return []
    throw err
  }
}
