/**
 * A role swap after stolen role credentials, as the responder finds it: function orders-api with
 * published versions 1 and 2 and alias live → 2, all published with role orders-role; sessions of
 * orders-role stolen and used from outside AWS (GetSecretValue of prod/orders-db, a PutRolePolicy
 * backdoor on orders-role, CreateUser and CreateAccessKey svc-backup), then
 * UpdateFunctionConfiguration setting $LATEST's role to legacy-admin-role. {@link seedRoleSwap}
 * leaves moto in that state; {@link roleSwapRecords} are the CloudTrail records of the intrusion
 * (what the trail holds of the orders-role session, and the swap).
 */
import { CreateAccessKeyCommand, CreateUserCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda'
import {
  CreateSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { emulatorClient } from './emulator.js'
import { publishVersion, seedAlias, seedClients, seedFunction, seedRole, TEST_ACCOUNT } from './seed.js'

export interface RoleSwapSeed {
  functionArn: string
  /** The role versions 1 and 2 (and alias live) run with, whose sessions were stolen. */
  ordersRole: { name: string; arn: string }
  /** The role the attacker swapped $LATEST to. */
  adminRole: { name: string; arn: string }
  secretArn: string
  /** The access key the stolen session created for svc-backup. */
  backdoorKeyId: string
}

/** The address the stolen orders-role sessions were used from (outside AWS). */
export const ATTACKER_IP = '198.51.100.7'

export async function seedRoleSwap(endpoint: string): Promise<RoleSwapSeed> {
  const c = seedClients(endpoint)
  const orders = await seedRole(endpoint, {
    name: 'orders-role',
    inline: {
      'orders-app': {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' },
          { Effect: 'Allow', Action: ['iam:CreateUser', 'iam:CreateAccessKey'], Resource: '*' },
        ],
      },
    },
  })
  const admin = await seedRole(endpoint, { name: 'legacy-admin-role' })
  const sm = emulatorClient(SecretsManagerClient, endpoint)
  const secret = await sm.send(
    new CreateSecretCommand({ Name: 'prod/orders-db', SecretString: '{"password":"drill-orders-db"}' }),
  )
  await sm.send(
    new RotateSecretCommand({
      SecretId: 'prod/orders-db',
      RotationRules: { AutomaticallyAfterDays: 30 },
      RotateImmediately: false,
    }),
  )
  const fn = await seedFunction(endpoint, { name: 'orders-api', roleArn: orders.arn })
  await publishVersion(endpoint, 'orders-api', { description: 'release 1' })
  await publishVersion(endpoint, 'orders-api', { description: 'release 2' })
  await seedAlias(endpoint, 'orders-api', 'live', '2')
  // What the stolen sessions did: a backdoor on the role, a user with a key of the attacker's.
  await c.iam.send(
    new PutRolePolicyCommand({
      RoleName: 'orders-role',
      PolicyName: 'backup-access',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      }),
    }),
  )
  await c.iam.send(new CreateUserCommand({ UserName: 'svc-backup' }))
  const key = await c.iam.send(new CreateAccessKeyCommand({ UserName: 'svc-backup' }))
  // The swap.
  await c.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'orders-api', Role: admin.arn }))
  return {
    functionArn: fn.arn,
    ordersRole: { name: 'orders-role', arn: orders.arn },
    adminRole: { name: 'legacy-admin-role', arn: admin.arn },
    secretArn: secret.ARN!,
    backdoorKeyId: key.AccessKey!.AccessKeyId!,
  }
}

/**
 * The CloudTrail records of the intrusion, a minute apart from `start`: the orders-role session
 * (named after the function, as Lambda names it) used from {@link ATTACKER_IP} with the AWS CLI,
 * then the swap; and one call of another role's session, unrelated to the function.
 */
export function roleSwapRecords(seed: RoleSwapSeed, start: Date): Record<string, unknown>[] {
  const session = {
    type: 'AssumedRole',
    principalId: 'AROAORDERSROLE00001:orders-api',
    arn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/orders-role/orders-api`,
    accountId: TEST_ACCOUNT,
    accessKeyId: 'ASIAORDERSSTOLEN0001',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROAORDERSROLE00001',
        arn: seed.ordersRole.arn,
        accountId: TEST_ACCOUNT,
        userName: 'orders-role',
      },
      attributes: { creationDate: start.toISOString(), mfaAuthenticated: 'false' },
    },
  }
  const other = {
    ...session,
    principalId: 'AROAREPORTSROLE0001:reports',
    arn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/reports-role/reports`,
    accessKeyId: 'ASIAREPORTSROLE00001',
    sessionContext: {
      ...session.sessionContext,
      sessionIssuer: {
        ...session.sessionContext.sessionIssuer,
        arn: `arn:aws:iam::${TEST_ACCOUNT}:role/reports-role`,
        userName: 'reports-role',
      },
    },
  }
  const at = (minute: number) =>
    new Date(start.getTime() + minute * 60_000).toISOString().replace('.000Z', 'Z')
  const record = (
    minute: number,
    source: string,
    name: string,
    requestParameters: Record<string, unknown>,
    responseElements: Record<string, unknown> | null = null,
    identity: Record<string, unknown> = session,
  ) => ({
    eventVersion: '1.09',
    userIdentity: identity,
    eventTime: at(minute),
    eventSource: `${source}.amazonaws.com`,
    eventName: name,
    awsRegion: 'us-east-1',
    sourceIPAddress: ATTACKER_IP,
    userAgent: 'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22',
    requestParameters,
    responseElements,
    requestID: `req-${minute}`,
    eventID: `00000000-0000-4000-8000-${String(minute).padStart(12, '0')}`,
    readOnly: name.startsWith('Get'),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: TEST_ACCOUNT,
  })
  return [
    record(1, 'secretsmanager', 'GetSecretValue', { secretId: seed.secretArn }),
    record(2, 'iam', 'PutRolePolicy', {
      roleName: 'orders-role',
      policyName: 'backup-access',
      policyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    }),
    record(3, 'iam', 'CreateUser', { userName: 'svc-backup' }, { user: { userName: 'svc-backup' } }),
    record(
      4,
      'iam',
      'CreateAccessKey',
      { userName: 'svc-backup' },
      { accessKey: { userName: 'svc-backup', accessKeyId: seed.backdoorKeyId, status: 'Active' } },
    ),
    record(
      5,
      'lambda',
      'UpdateFunctionConfiguration20150331v2',
      { functionName: 'orders-api', role: seed.adminRole.arn },
      { functionName: 'orders-api', functionArn: seed.functionArn, role: seed.adminRole.arn },
    ),
    record(6, 's3', 'ListBuckets', {}, null, other),
  ]
}
