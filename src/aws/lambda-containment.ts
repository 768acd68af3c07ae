/**
 * Lambda calls used by containment: reads of the parts contain changes (concurrency, URL configs,
 * resource policies, event source mappings, description) and the changes themselves. Errors
 * become FirErrors naming the IAM action (NotFoundError for missing things, where callers treat
 * "absent" as a state rather than a failure, the functions below return null instead).
 */
import type {
  AddPermissionCommandInput,
  EventSourceMappingConfiguration,
  FunctionConfiguration,
  GetFunctionConfigurationCommandOutput,
} from '@aws-sdk/client-lambda'
import type { AwsClients } from './clients.js'
import { classifyFailure, toFirError } from './errors.js'
import { sdk } from './sdk.js'

export type {
  AddPermissionCommandInput,
  EventSourceMappingConfiguration,
  GetFunctionConfigurationCommandOutput,
}

function absent(err: unknown): boolean {
  return classifyFailure(err) === 'not-found'
}

export async function getFunctionConfiguration(
  aws: AwsClients,
  fn: string,
  qualifier?: string,
): Promise<GetFunctionConfigurationCommandOutput> {
  try {
    return await aws.lambda.send(
      new (sdk.lambda().GetFunctionConfigurationCommand)({
        FunctionName: fn,
        ...(qualifier ? { Qualifier: qualifier } : {}),
      }),
    )
  } catch (err) {
    throw toFirError(err, 'lambda:GetFunctionConfiguration', `read the configuration of function ${fn}`)
  }
}

/** Alias names of a function (all pages). */
export async function listAliasNames(aws: AwsClients, fn: string): Promise<string[]> {
  const names: string[] = []
  let marker: string | undefined
  try {
    do {
      const page = await aws.lambda.send(
        new (sdk.lambda().ListAliasesCommand)({ FunctionName: fn, Marker: marker }),
      )
      for (const a of page.Aliases ?? []) if (a.Name) names.push(a.Name)
      marker = page.NextMarker
    } while (marker)
  } catch (err) {
    throw toFirError(err, 'lambda:ListAliases', `list the aliases of function ${fn}`)
  }
  return names
}

/** Every version's configuration, $LATEST included (all pages). */
export async function listVersions(aws: AwsClients, fn: string): Promise<FunctionConfiguration[]> {
  const versions: FunctionConfiguration[] = []
  let marker: string | undefined
  try {
    do {
      const page = await aws.lambda.send(
        new (sdk.lambda().ListVersionsByFunctionCommand)({ FunctionName: fn, Marker: marker }),
      )
      versions.push(...(page.Versions ?? []))
      marker = page.NextMarker
    } while (marker)
  } catch (err) {
    throw toFirError(err, 'lambda:ListVersionsByFunction', `list the versions of function ${fn}`)
  }
  return versions
}

/** A published version of a function and its execution role, as ListVersionsByFunction lists it. */
export interface PublishedVersion {
  version: string
  /** The role's ARN ('' when Lambda names none). */
  role: string
}

/** Published versions of a function with their execution roles ($LATEST excluded; all pages). */
export async function listVersionRoles(aws: AwsClients, fn: string): Promise<PublishedVersion[]> {
  return (await listVersions(aws, fn)).flatMap((v) =>
    v.Version && v.Version !== '$LATEST' ? [{ version: v.Version, role: v.Role ?? '' }] : [],
  )
}

/** Published version numbers of a function ($LATEST excluded; all pages). */
export async function listVersionNumbers(aws: AwsClients, fn: string): Promise<string[]> {
  return (await listVersionRoles(aws, fn)).map((v) => v.version)
}

/** Reserved concurrency, or null when none is set. */
export async function getReservedConcurrency(aws: AwsClients, fn: string): Promise<number | null> {
  try {
    const out = await aws.lambda.send(new (sdk.lambda().GetFunctionConcurrencyCommand)({ FunctionName: fn }))
    return out.ReservedConcurrentExecutions ?? null
  } catch (err) {
    throw toFirError(err, 'lambda:GetFunctionConcurrency', `read the reserved concurrency of function ${fn}`)
  }
}

export async function putReservedConcurrency(aws: AwsClients, fn: string, value: number): Promise<void> {
  try {
    await aws.lambda.send(
      new (sdk.lambda().PutFunctionConcurrencyCommand)({
        FunctionName: fn,
        ReservedConcurrentExecutions: value,
      }),
    )
  } catch (err) {
    throw toFirError(err, 'lambda:PutFunctionConcurrency', `set the reserved concurrency of function ${fn}`)
  }
}

export async function deleteReservedConcurrency(aws: AwsClients, fn: string): Promise<void> {
  try {
    await aws.lambda.send(new (sdk.lambda().DeleteFunctionConcurrencyCommand)({ FunctionName: fn }))
  } catch (err) {
    throw toFirError(
      err,
      'lambda:DeleteFunctionConcurrency',
      `remove the reserved concurrency of function ${fn}`,
    )
  }
}

export interface UrlConfig {
  /** null for the unqualified function ($LATEST), else the alias name. */
  qualifier: string | null
  url: string
  authType: string
}

/** The function URL config of the function or an alias, or null when it has none. */
export async function getFunctionUrlConfig(
  aws: AwsClients,
  fn: string,
  qualifier: string | null,
): Promise<UrlConfig | null> {
  try {
    const out = await aws.lambda.send(
      new (sdk.lambda().GetFunctionUrlConfigCommand)({
        FunctionName: fn,
        ...(qualifier ? { Qualifier: qualifier } : {}),
      }),
    )
    return { qualifier, url: out.FunctionUrl ?? '', authType: out.AuthType ?? '' }
  } catch (err) {
    if (absent(err)) return null
    throw toFirError(err, 'lambda:GetFunctionUrlConfig', `read the function URL config of ${fn}`)
  }
}

export async function updateFunctionUrlAuthType(
  aws: AwsClients,
  fn: string,
  qualifier: string | null,
  authType: 'NONE' | 'AWS_IAM',
): Promise<UrlConfig> {
  try {
    const out = await aws.lambda.send(
      new (sdk.lambda().UpdateFunctionUrlConfigCommand)({
        FunctionName: fn,
        ...(qualifier ? { Qualifier: qualifier } : {}),
        AuthType: authType,
      }),
    )
    return { qualifier, url: out.FunctionUrl ?? '', authType: out.AuthType ?? authType }
  } catch (err) {
    throw toFirError(err, 'lambda:UpdateFunctionUrlConfig', `change the function URL auth type of ${fn}`)
  }
}

/** The resource policy of the function or a qualifier, as text, or null when it has none. */
export async function getPolicyText(
  aws: AwsClients,
  fn: string,
  qualifier: string | null,
): Promise<string | null> {
  try {
    const out = await aws.lambda.send(
      new (sdk.lambda().GetPolicyCommand)({
        FunctionName: fn,
        ...(qualifier ? { Qualifier: qualifier } : {}),
      }),
    )
    return out.Policy ?? null
  } catch (err) {
    if (absent(err)) return null
    throw toFirError(err, 'lambda:GetPolicy', `read the resource policy of function ${fn}`)
  }
}

/** Removes a statement; false when it was already gone. */
export async function removePermission(
  aws: AwsClients,
  fn: string,
  qualifier: string | null,
  statementId: string,
): Promise<boolean> {
  try {
    await aws.lambda.send(
      new (sdk.lambda().RemovePermissionCommand)({
        FunctionName: fn,
        StatementId: statementId,
        ...(qualifier ? { Qualifier: qualifier } : {}),
      }),
    )
    return true
  } catch (err) {
    if (absent(err)) return false
    throw toFirError(err, 'lambda:RemovePermission', `remove statement ${statementId} from function ${fn}`)
  }
}

export async function addPermission(aws: AwsClients, input: AddPermissionCommandInput): Promise<void> {
  try {
    await aws.lambda.send(new (sdk.lambda().AddPermissionCommand)(input))
  } catch (err) {
    throw toFirError(
      err,
      'lambda:AddPermission',
      `add statement ${input.StatementId} back to function ${input.FunctionName}`,
    )
  }
}

/** One mapping, or null when it no longer exists. */
export async function getEventSourceMapping(
  aws: AwsClients,
  uuid: string,
): Promise<EventSourceMappingConfiguration | null> {
  try {
    return await aws.lambda.send(new (sdk.lambda().GetEventSourceMappingCommand)({ UUID: uuid }))
  } catch (err) {
    if (absent(err)) return null
    throw toFirError(err, 'lambda:GetEventSourceMapping', `read event source mapping ${uuid}`)
  }
}

export async function setEventSourceMappingEnabled(
  aws: AwsClients,
  uuid: string,
  enabled: boolean,
): Promise<EventSourceMappingConfiguration> {
  try {
    return await aws.lambda.send(
      new (sdk.lambda().UpdateEventSourceMappingCommand)({ UUID: uuid, Enabled: enabled }),
    )
  } catch (err) {
    throw toFirError(
      err,
      'lambda:UpdateEventSourceMapping',
      `${enabled ? 'enable' : 'disable'} event source mapping ${uuid}`,
    )
  }
}

/**
 * Sets the function's description. Lambda rejects a configuration update while another is in
 * progress (ResourceConflictException), so it waits for LastUpdateStatus to settle first.
 */
export async function updateFunctionDescription(
  aws: AwsClients,
  fn: string,
  description: string,
  waitMs = 60_000,
): Promise<GetFunctionConfigurationCommandOutput> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const cfg = await getFunctionConfiguration(aws, fn)
    if (cfg.LastUpdateStatus !== 'InProgress' || Date.now() > deadline) break
    await new Promise((r) => setTimeout(r, 1000))
  }
  try {
    return await aws.lambda.send(
      new (sdk.lambda().UpdateFunctionConfigurationCommand)({ FunctionName: fn, Description: description }),
    )
  } catch (err) {
    throw toFirError(err, 'lambda:UpdateFunctionConfiguration', `update the description of function ${fn}`)
  }
}
