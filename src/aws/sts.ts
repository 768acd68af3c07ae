import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'
import { sdk } from './sdk.js'

export interface CallerIdentity {
  account: string
  arn: string
  userId: string
}

export async function getCallerIdentity(aws: AwsClients): Promise<CallerIdentity> {
  try {
    const out = await aws.sts.send(new (sdk.sts().GetCallerIdentityCommand)({}))
    return { account: out.Account ?? '', arn: out.Arn ?? '', userId: out.UserId ?? '' }
  } catch (err) {
    throw toFirError(err, 'sts:GetCallerIdentity', 'identify the AWS caller')
  }
}

/** The account that owns an access key id (sts:GetAccessKeyInfo), whichever account asks. */
export async function getAccessKeyAccount(aws: AwsClients, accessKeyId: string): Promise<string | null> {
  try {
    const out = await aws.sts.send(new (sdk.sts().GetAccessKeyInfoCommand)({ AccessKeyId: accessKeyId }))
    return out.Account ?? null
  } catch (err) {
    throw toFirError(err, 'sts:GetAccessKeyInfo', `find the account of access key ${accessKeyId}`)
  }
}
