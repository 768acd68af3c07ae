import type {
  GetCodeSigningConfigCommandOutput,
  GetFunctionCodeSigningConfigCommandOutput,
  GetFunctionCommandOutput,
  GetFunctionConcurrencyCommandOutput,
  GetFunctionUrlConfigCommandOutput,
  GetLayerVersionCommandOutput,
  GetPolicyCommandOutput,
  ListAliasesCommandOutput,
  ListEventSourceMappingsCommandOutput,
  ListFunctionEventInvokeConfigsCommandOutput,
  ListFunctionsCommandOutput,
  ListProvisionedConcurrencyConfigsCommandOutput,
  ListVersionsByFunctionCommandOutput,
} from '@aws-sdk/client-lambda'
import type { AwsClients } from './clients.js'
import { RepeatedPageMarkerError, toFirError } from './errors.js'

export type {
  AliasConfiguration,
  EventSourceMappingConfiguration,
  FunctionConfiguration,
  FunctionUrlConfig,
  GetFunctionCommandOutput,
  GetFunctionUrlConfigCommandOutput,
  GetLayerVersionCommandOutput,
  GetPolicyCommandOutput,
  ListAliasesCommandOutput,
  ListEventSourceMappingsCommandOutput,
  ListFunctionsCommandOutput,
  ListVersionsByFunctionCommandOutput,
  ProvisionedConcurrencyConfigListItem,
} from '@aws-sdk/client-lambda'

import { sdk } from './sdk.js'

/**
 * Read-only Lambda adapters. Each returns the SDK output unchanged (callers store it verbatim) and
 * turns SDK exceptions into fir errors with the original kept as `cause`. List calls hand every
 * page to `onPage` as it arrives, so a page already fetched survives an error on the next one.
 */

async function send<T>(iamAction: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw toFirError(err, iamAction, what)
  }
}

/** A page callback: the page as received and its 0-based index. */
export type OnPage<T> = (page: T, index: number) => Promise<void> | void

/** Called before each request of a paginated call (fir's pacing). */
export type Pace = () => Promise<void>

async function paginate<T extends { NextMarker?: string; Marker?: string }>(
  fetch: (marker: string | undefined) => Promise<T>,
  onPage: OnPage<T>,
  pace: Pace | undefined,
  nextOf: (page: T) => string | undefined = (p) => p.NextMarker,
): Promise<number> {
  let marker: string | undefined
  let index = 0
  const seen = new Set<string>()
  do {
    await pace?.()
    const page = await fetch(marker)
    await onPage(page, index++)
    marker = nextOf(page)
    // A marker that repeats would loop forever (an emulator or a proxy bug): stop, and say the
    // list is incomplete rather than let it pass for whole.
    if (marker !== undefined) {
      if (seen.has(marker)) throw new RepeatedPageMarkerError('Lambda', index)
      seen.add(marker)
    }
  } while (marker)
  return index
}

/**
 * What Lambda returned in place of a configuration's environment variables when they could not be
 * decrypted (`Environment.Error`: a KMS key the caller cannot use, or one disabled or deleted), as
 * `code: message`; undefined when it returned the variables. Takes the SDK's shape or the same
 * JSON read back from evidence (anything else is no error).
 */
export function environmentError(environment: unknown): string | undefined {
  const error = (environment as { Error?: unknown } | null | undefined)?.Error
  if (!error || typeof error !== 'object') return undefined
  const { ErrorCode: code, Message: message } = error as { ErrorCode?: unknown; Message?: unknown }
  const text = [code, message].filter((v): v is string => typeof v === 'string' && v !== '').join(': ')
  return text || undefined
}

/** lambda:GetFunction — configuration, code location (presigned, ~10 min), tags, concurrency. */
export function getFunction(
  aws: AwsClients,
  functionName: string,
  qualifier?: string,
): Promise<GetFunctionCommandOutput> {
  return send('lambda:GetFunction', `read function ${functionName}${qualifier ? `:${qualifier}` : ''}`, () =>
    aws.lambda.send(
      new (sdk.lambda().GetFunctionCommand)({
        FunctionName: functionName,
        ...(qualifier && qualifier !== '$LATEST' ? { Qualifier: qualifier } : {}),
      }),
    ),
  )
}

/** lambda:ListVersionsByFunction, every page. */
export function listVersionsByFunction(
  aws: AwsClients,
  functionName: string,
  onPage: OnPage<ListVersionsByFunctionCommandOutput>,
  pace?: Pace,
): Promise<number> {
  return send('lambda:ListVersionsByFunction', `list the versions of ${functionName}`, () =>
    paginate(
      (Marker) =>
        aws.lambda.send(
          new (sdk.lambda().ListVersionsByFunctionCommand)({
            FunctionName: functionName,
            Marker,
            MaxItems: 50,
          }),
        ),
      onPage,
      pace,
    ),
  )
}

/** lambda:ListAliases, every page (routing config included). */
export function listAliases(
  aws: AwsClients,
  functionName: string,
  onPage: OnPage<ListAliasesCommandOutput>,
  pace?: Pace,
): Promise<number> {
  return send('lambda:ListAliases', `list the aliases of ${functionName}`, () =>
    paginate(
      (Marker) =>
        aws.lambda.send(
          new (sdk.lambda().ListAliasesCommand)({ FunctionName: functionName, Marker, MaxItems: 50 }),
        ),
      onPage,
      pace,
    ),
  )
}

/** lambda:ListFunctions in the client's region, every page. */
export function listFunctions(
  aws: AwsClients,
  onPage: OnPage<ListFunctionsCommandOutput>,
  pace?: Pace,
): Promise<number> {
  return send('lambda:ListFunctions', `list the functions in ${aws.region}`, () =>
    paginate(
      (Marker) => aws.lambda.send(new (sdk.lambda().ListFunctionsCommand)({ Marker, MaxItems: 50 })),
      onPage,
      pace,
    ),
  )
}

/** lambda:GetPolicy for one qualifier (NotFoundError when the qualifier has no resource policy). */
export function getPolicy(
  aws: AwsClients,
  functionName: string,
  qualifier?: string,
): Promise<GetPolicyCommandOutput> {
  return send(
    'lambda:GetPolicy',
    `read the resource policy of ${functionName}:${qualifier ?? '$LATEST'}`,
    () =>
      aws.lambda.send(
        new (sdk.lambda().GetPolicyCommand)({
          FunctionName: functionName,
          ...(qualifier && qualifier !== '$LATEST' ? { Qualifier: qualifier } : {}),
        }),
      ),
  )
}

/** lambda:GetFunctionUrlConfig for $LATEST or an alias (NotFoundError when there is none). */
export function getFunctionUrlConfig(
  aws: AwsClients,
  functionName: string,
  qualifier?: string,
): Promise<GetFunctionUrlConfigCommandOutput> {
  return send(
    'lambda:GetFunctionUrlConfig',
    `read the function URL config of ${functionName}:${qualifier ?? '$LATEST'}`,
    () =>
      aws.lambda.send(
        new (sdk.lambda().GetFunctionUrlConfigCommand)({
          FunctionName: functionName,
          ...(qualifier && qualifier !== '$LATEST' ? { Qualifier: qualifier } : {}),
        }),
      ),
  )
}

/**
 * lambda:ListEventSourceMappings of the client's whole region, every page, unfiltered. Filtered by
 * FunctionName, the answer holds the mappings attached to that name or ARN: one attached to an
 * alias or a version (FunctionArn `…:function:f:prod`) is not in the answer for `f`. Callers keep
 * a function's own with `isFunctionOrQualifier` (core/identity.ts) on each FunctionArn.
 */
export function listEventSourceMappings(
  aws: AwsClients,
  onPage: OnPage<ListEventSourceMappingsCommandOutput>,
  pace?: Pace,
): Promise<number> {
  return send('lambda:ListEventSourceMappings', `list the event source mappings in ${aws.region}`, () =>
    paginate(
      (Marker) =>
        aws.lambda.send(new (sdk.lambda().ListEventSourceMappingsCommand)({ Marker, MaxItems: 100 })),
      onPage,
      pace,
    ),
  )
}

/** lambda:GetFunctionConcurrency (reserved concurrency; `{}` when none is set). */
export function getFunctionConcurrency(
  aws: AwsClients,
  functionName: string,
): Promise<GetFunctionConcurrencyCommandOutput> {
  return send('lambda:GetFunctionConcurrency', `read the reserved concurrency of ${functionName}`, () =>
    aws.lambda.send(new (sdk.lambda().GetFunctionConcurrencyCommand)({ FunctionName: functionName })),
  )
}

/** lambda:ListProvisionedConcurrencyConfigs, every page. */
export function listProvisionedConcurrencyConfigs(
  aws: AwsClients,
  functionName: string,
  onPage: OnPage<ListProvisionedConcurrencyConfigsCommandOutput>,
  pace?: Pace,
): Promise<number> {
  return send(
    'lambda:ListProvisionedConcurrencyConfigs',
    `list the provisioned concurrency of ${functionName}`,
    () =>
      paginate(
        (Marker) =>
          aws.lambda.send(
            new (sdk.lambda().ListProvisionedConcurrencyConfigsCommand)({
              FunctionName: functionName,
              Marker,
              MaxItems: 50,
            }),
          ),
        onPage,
        pace,
      ),
  )
}

/** lambda:ListFunctionEventInvokeConfigs, every page (async destinations: where results go). */
export function listFunctionEventInvokeConfigs(
  aws: AwsClients,
  functionName: string,
  onPage: OnPage<ListFunctionEventInvokeConfigsCommandOutput>,
  pace?: Pace,
): Promise<number> {
  return send(
    'lambda:ListFunctionEventInvokeConfigs',
    `list the event invoke configs of ${functionName}`,
    () =>
      paginate(
        (Marker) =>
          aws.lambda.send(
            new (sdk.lambda().ListFunctionEventInvokeConfigsCommand)({
              FunctionName: functionName,
              Marker,
              MaxItems: 50,
            }),
          ),
        onPage,
        pace,
      ),
  )
}

/** lambda:GetFunctionCodeSigningConfig (which code signing config the function uses, if any). */
export function getFunctionCodeSigningConfig(
  aws: AwsClients,
  functionName: string,
): Promise<GetFunctionCodeSigningConfigCommandOutput> {
  return send('lambda:GetFunctionCodeSigningConfig', `read the code signing config of ${functionName}`, () =>
    aws.lambda.send(new (sdk.lambda().GetFunctionCodeSigningConfigCommand)({ FunctionName: functionName })),
  )
}

/** lambda:GetCodeSigningConfig (the allowed publishers and the untrusted-artifact policy). */
export function getCodeSigningConfig(
  aws: AwsClients,
  codeSigningConfigArn: string,
): Promise<GetCodeSigningConfigCommandOutput> {
  return send('lambda:GetCodeSigningConfig', `read code signing config ${codeSigningConfigArn}`, () =>
    aws.lambda.send(
      new (sdk.lambda().GetCodeSigningConfigCommand)({ CodeSigningConfigArn: codeSigningConfigArn }),
    ),
  )
}

/**
 * lambda:GetLayerVersion. `layerName` may be a name (same account) or a layer ARN without the
 * version (another account's layer). The response carries a presigned Content.Location.
 */
export function getLayerVersion(
  aws: AwsClients,
  layerName: string,
  version: number,
): Promise<GetLayerVersionCommandOutput> {
  return send('lambda:GetLayerVersion', `read layer ${layerName}:${version}`, () =>
    aws.lambda.send(
      new (sdk.lambda().GetLayerVersionCommand)({ LayerName: layerName, VersionNumber: version }),
    ),
  )
}
