/**
 * The calls a tabletop scenario may make to seed the local emulator: an explicit allow-list of
 * SDK commands (no dynamic lookup). Used only with emulator-only clients (dummy credentials,
 * loopback guard); the tabletop decides what to call, this file only calls.
 */
import { EmulatorSafetyError } from '../errors.js'
import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'
import { sdk } from './sdk.js'

// biome-ignore lint/suspicious/noExplicitAny: the inputs are scenario data, checked by the SDK's serializers and the emulator
type Input = any
type Send = (aws: AwsClients, input: Input) => Promise<unknown>

/** `service:Operation` → the SDK call. Only these may change the emulator's state. */
const SEED_CALLS: Record<string, Send> = {
  'iam:CreateRole': (aws, i) => aws.iam.send(new (sdk.iam().CreateRoleCommand)(i)),
  'iam:PutRolePolicy': (aws, i) => aws.iam.send(new (sdk.iam().PutRolePolicyCommand)(i)),
  'iam:AttachRolePolicy': (aws, i) => aws.iam.send(new (sdk.iam().AttachRolePolicyCommand)(i)),
  'iam:UpdateAssumeRolePolicy': (aws, i) => aws.iam.send(new (sdk.iam().UpdateAssumeRolePolicyCommand)(i)),
  'iam:TagRole': (aws, i) => aws.iam.send(new (sdk.iam().TagRoleCommand)(i)),
  'iam:CreatePolicy': (aws, i) => aws.iam.send(new (sdk.iam().CreatePolicyCommand)(i)),
  'iam:CreateUser': (aws, i) => aws.iam.send(new (sdk.iam().CreateUserCommand)(i)),
  'iam:PutUserPolicy': (aws, i) => aws.iam.send(new (sdk.iam().PutUserPolicyCommand)(i)),
  'iam:CreateAccessKey': (aws, i) => aws.iam.send(new (sdk.iam().CreateAccessKeyCommand)(i)),
  'lambda:CreateFunction': (aws, i) => aws.lambda.send(new (sdk.lambda().CreateFunctionCommand)(i)),
  'lambda:UpdateFunctionCode': (aws, i) => aws.lambda.send(new (sdk.lambda().UpdateFunctionCodeCommand)(i)),
  'lambda:UpdateFunctionConfiguration': (aws, i) =>
    aws.lambda.send(new (sdk.lambda().UpdateFunctionConfigurationCommand)(i)),
  'lambda:AddPermission': (aws, i) => aws.lambda.send(new (sdk.lambda().AddPermissionCommand)(i)),
  'lambda:CreateFunctionUrlConfig': (aws, i) =>
    aws.lambda.send(new (sdk.lambda().CreateFunctionUrlConfigCommand)(i)),
  'lambda:UpdateFunctionUrlConfig': (aws, i) =>
    aws.lambda.send(new (sdk.lambda().UpdateFunctionUrlConfigCommand)(i)),
  'lambda:PublishLayerVersion': (aws, i) => aws.lambda.send(new (sdk.lambda().PublishLayerVersionCommand)(i)),
  'lambda:AddLayerVersionPermission': (aws, i) =>
    aws.lambda.send(new (sdk.lambda().AddLayerVersionPermissionCommand)(i)),
  'lambda:PublishVersion': (aws, i) => aws.lambda.send(new (sdk.lambda().PublishVersionCommand)(i)),
  'lambda:CreateAlias': (aws, i) => aws.lambda.send(new (sdk.lambda().CreateAliasCommand)(i)),
  'lambda:PutFunctionConcurrency': (aws, i) =>
    aws.lambda.send(new (sdk.lambda().PutFunctionConcurrencyCommand)(i)),
  'lambda:TagResource': (aws, i) => aws.lambda.send(new (sdk.lambda().TagResourceCommand)(i)),
  'secretsmanager:CreateSecret': (aws, i) => aws.secrets.send(new (sdk.secrets().CreateSecretCommand)(i)),
  'secretsmanager:PutSecretValue': (aws, i) => aws.secrets.send(new (sdk.secrets().PutSecretValueCommand)(i)),
  'secretsmanager:RotateSecret': (aws, i) => aws.secrets.send(new (sdk.secrets().RotateSecretCommand)(i)),
  's3:CreateBucket': (aws, i) => aws.s3.send(new (sdk.s3().CreateBucketCommand)(i)),
  's3:PutObject': (aws, i) => aws.s3.send(new (sdk.s3().PutObjectCommand)(i)),
  'cloudtrail:CreateTrail': (aws, i) => aws.cloudtrail.send(new (sdk.cloudtrail().CreateTrailCommand)(i)),
  'cloudtrail:PutEventSelectors': (aws, i) =>
    aws.cloudtrail.send(new (sdk.cloudtrail().PutEventSelectorsCommand)(i)),
  'cloudtrail:StartLogging': (aws, i) => aws.cloudtrail.send(new (sdk.cloudtrail().StartLoggingCommand)(i)),
  'logs:CreateLogGroup': (aws, i) => aws.logs.send(new (sdk.logs().CreateLogGroupCommand)(i)),
  'logs:CreateLogStream': (aws, i) => aws.logs.send(new (sdk.logs().CreateLogStreamCommand)(i)),
  'logs:PutLogEvents': (aws, i) => aws.logs.send(new (sdk.logs().PutLogEventsCommand)(i)),
}

/** The calls a scenario may apply to the emulator. */
export const SEED_CALL_NAMES: readonly string[] = Object.keys(SEED_CALLS)

/**
 * Makes one seeding call against the emulator and returns the response without SDK metadata.
 * Refuses clients that are not emulator-only: seeding must never reach a real account.
 */
export async function seedCall(
  aws: AwsClients,
  call: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  if (!aws.emulatorOnly) {
    throw new EmulatorSafetyError(`unable to seed ${call}: seeding runs only against the local emulator`)
  }
  const send = Object.hasOwn(SEED_CALLS, call) ? SEED_CALLS[call] : undefined
  if (!send) throw new Error(`seed call ${call} is not in the allow-list`)
  try {
    const out = (await send(aws, input)) as Record<string, unknown>
    const { $metadata: _m, ...rest } = out ?? {}
    return rest
  } catch (err) {
    throw toFirError(err, call, `seed the emulator (${call})`)
  }
}
