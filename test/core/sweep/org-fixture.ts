import { crc32 } from 'node:zlib'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda'
import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'

const DUMMY = { accessKeyId: 'testing', secretAccessKey: 'testing' }
export const MANAGEMENT_ACCOUNT = '123456789012'

/** A one-file zip (stored, no compression): enough for moto's CreateFunction. */
export function tinyZip(name = 'index.py', body = 'def handler(e, c):\n    return 1\n'): Uint8Array {
  const data = Buffer.from(body)
  const fname = Buffer.from(name)
  const crc = crc32(data)
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(20, 4)
  local.writeUInt32LE(crc, 14)
  local.writeUInt32LE(data.length, 18)
  local.writeUInt32LE(data.length, 22)
  local.writeUInt16LE(fname.length, 26)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0)
  central.writeUInt16LE(20, 4)
  central.writeUInt16LE(20, 6)
  central.writeUInt32LE(crc, 16)
  central.writeUInt32LE(data.length, 20)
  central.writeUInt32LE(data.length, 24)
  central.writeUInt16LE(fname.length, 28)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(46 + fname.length, 12)
  end.writeUInt32LE(30 + fname.length + data.length, 16)
  return Buffer.concat([local, fname, data, central, fname, end])
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/**
 * The account an access key id belongs to. AWS encodes it in the key id (characters 5–13, base32)
 * and moto follows the same layout, so the fault proxy can pick one account's requests.
 */
export function accountOfAccessKey(keyId: string): string | undefined {
  if (!/^(ASIA|AKIA)[A-Z2-7]{16}$/.test(keyId)) return undefined
  let n = 0n
  for (const ch of keyId.slice(4, 12)) n = (n << 5n) | BigInt(ALPHABET.indexOf(ch))
  const half = n - 549755813888n
  const odd = ALPHABET.indexOf(keyId[12]!) >= 16 ? 1n : 0n
  return (half * 2n + odd).toString().padStart(12, '0')
}

export interface Clients {
  lambda: LambdaClient
  iam: IAMClient
}

/** SDK clients acting in `account` (moto: AssumeRole into it; the management account uses dummy keys). */
export async function clientsIn(endpoint: string, account: string, region: string): Promise<Clients> {
  let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = DUMMY
  if (account !== MANAGEMENT_ACCOUNT) {
    const sts = new STSClient({ endpoint, region, credentials: DUMMY })
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
        RoleSessionName: 'seed',
      }),
    )
    credentials = {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: out.Credentials!.SessionToken,
    }
  }
  return {
    lambda: new LambdaClient({ endpoint, region, credentials }),
    iam: new IAMClient({ endpoint, region, credentials }),
  }
}

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
})

export async function ensureRole(iam: IAMClient, name: string, account: string): Promise<string> {
  try {
    await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }))
  } catch (err) {
    if (!/EntityAlreadyExists/.test((err as { name?: string }).name ?? '')) throw err
  }
  return `arn:aws:iam::${account}:role/${name}`
}

export async function createFunction(
  c: Clients,
  name: string,
  roleArn: string,
  options: {
    env?: Record<string, string>
    layers?: string[]
    /** A zip, or where one was put in S3 (seed.ts uploadCode: one moto serves at Code.Location). */
    code?: Uint8Array | { S3Bucket: string; S3Key: string }
    description?: string
  } = {},
): Promise<string> {
  const code = options.code ?? tinyZip()
  const out = await c.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'python3.12',
      Handler: 'index.handler',
      Role: roleArn,
      Code: code instanceof Uint8Array ? { ZipFile: code } : code,
      ...(options.env ? { Environment: { Variables: options.env } } : {}),
      ...(options.layers ? { Layers: options.layers } : {}),
      ...(options.description ? { Description: options.description } : {}),
    }),
  )
  return out.FunctionArn!
}

export async function makePublic(c: Clients, name: string): Promise<void> {
  await c.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: name, AuthType: 'NONE' }))
  await c.lambda.send(
    new AddPermissionCommand({
      FunctionName: name,
      StatementId: 'public-url',
      Action: 'lambda:InvokeFunctionUrl',
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    }),
  )
}

/** An organisation with `members` new member accounts (plus `closed` closed ones). */
export async function createOrganisation(
  endpoint: string,
  members: number,
  closed = 0,
): Promise<{ members: string[]; closed: string[] }> {
  const org = new OrganizationsClient({ endpoint, region: 'us-east-1', credentials: DUMMY })
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }))
  const ids: string[] = []
  for (let i = 0; i < members + closed; i++) {
    const out = await org.send(
      new CreateAccountCommand({ AccountName: `member-${i}`, Email: `member-${i}@example.com` }),
    )
    ids.push(out.CreateAccountStatus!.AccountId!)
  }
  const closedIds = ids.slice(members)
  for (const id of closedIds) await org.send(new CloseAccountCommand({ AccountId: id }))
  return { members: ids.slice(0, members), closed: closedIds }
}
